//! Entry points for the Criterion benches in `driver/benches/` (feature
//! `bench-internals`, enabled only by the driver's own dev-dependency). Not an API:
//! they expose crate-private steps of the row path so that a bench can time them alone.

use std::sync::Arc;

use bytes::Bytes;

use crate::error::Result;
use crate::row::{Column, Columns, Row};
use crate::types::{Format, Oid, TypeInfo};

/// The columns of a result, as a statement's description would give them.
#[derive(Clone, Debug)]
pub struct RowShape {
    columns: Arc<Columns>,
}

impl RowShape {
    /// Binary-format columns named `c0`, `c1`, ... of the given built-in types.
    pub fn new(types: &[Oid]) -> RowShape {
        let list = types
            .iter()
            .enumerate()
            .map(|(i, oid)| {
                Column::new(
                    &format!("c{i}"),
                    TypeInfo::from_oid(*oid),
                    Oid(0),
                    0,
                    -1,
                    Format::Binary,
                )
            })
            .collect();
        RowShape {
            columns: Arc::new(Columns::new(list)),
        }
    }

    /// A row from a DataRow body (what the connection does for every DataRow).
    pub fn row(&self, body: Bytes) -> Result<Row> {
        Row::new(self.columns.clone(), body)
    }
}
