//! Entry points for the fuzz targets (`fuzz/`, also run on stable by `tests/faults.rs`)
//! and the Criterion benches (`benches/`), behind the feature `__internals`. Not an API:
//! no semver promise, hidden from the docs. The `protocol` module stays private; only
//! the decoders and encoders those harnesses drive are re-exported here, and
//! [`RowShape`] exposes the crate-private `Row::new` so that a bench can time it alone.

use std::sync::Arc;

use bytes::Bytes;

use crate::failure::Result;
use crate::row::{Column, Columns, Row};
use crate::types::{Format, Oid, TypeInfo};

pub use crate::protocol::backend::{DataRow, Header, Limits, Message, tag};

/// Reads a server certificate as the TLS verifiers do: its X.509 version and whether it
/// is valid for `host` by libpq's rules; `None` when it cannot be read.
pub fn certificate_version_and_host_match(der: &[u8], host: &str) -> Option<(u8, bool)> {
    crate::connection::certificate_version_and_host_match(der, host)
}

/// The replication sub-protocol inside CopyData and pgoutput's messages (the fuzz
/// targets `replication_message` and `pgoutput`).
pub mod replication {
    pub use crate::protocol::pgoutput::{
        LogicalMessage, OldTuple, RelationColumn, TupleData, TupleValue,
    };
    pub use crate::protocol::replication::{
        HotStandbyFeedback, ReplicationMessage, StandbyStatus, hot_standby_feedback,
        standby_status_update,
    };
}

/// The frontend encoders the benches time (Bind and Execute).
pub mod frontend {
    pub use crate::protocol::frontend::{Formats, bind, bind_value, execute};
}

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
