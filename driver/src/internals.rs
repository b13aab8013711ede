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

/// The SCRAM-SHA-256 client (the fuzz target `scram`): the exchange with a chosen nonce,
/// and the choice of mechanism from an `AuthenticationSASL` list.
pub mod scram {
    use crate::auth::{ScramBinding, ScramClient, ScramLimits, Transport};
    use crate::config::ChannelBinding;
    use crate::failure::Result;

    /// One client side of an exchange, as the connection drives it.
    #[derive(Debug)]
    pub struct Exchange(ScramClient);

    impl Exchange {
        /// Starts an exchange with nonce `nonce` (the connection draws it from the
        /// operating system), accepting `min_iterations..=max_iterations`, with GS2 flag
        /// `n` (`plus` false) or bound to `server_certificate` (`plus` true). Returns the
        /// client-first-message.
        pub fn start(
            password: &[u8],
            nonce: &str,
            min_iterations: u32,
            max_iterations: u32,
            server_certificate: Option<&[u8]>,
        ) -> Result<(Exchange, Vec<u8>)> {
            let limits = ScramLimits::new(min_iterations, max_iterations)?;
            let binding = match server_certificate {
                Some(der) => ScramBinding::tls_server_end_point(der)?,
                None => ScramBinding::none(),
            };
            let (client, first) =
                ScramClient::with_user_and_nonce(password, binding, limits, "", nonce);
            Ok((Exchange(client), first))
        }

        /// Takes server-first-message; returns client-final-message.
        pub fn server_first(&mut self, message: &[u8]) -> Result<Vec<u8>> {
            self.0.server_first(message)
        }

        /// Takes server-final-message and checks the server's signature.
        pub fn server_final(&mut self, message: &[u8]) -> Result<()> {
            self.0.server_final(message)
        }

        /// Whether the server's signature was verified.
        pub fn is_finished(&self) -> bool {
            self.0.is_finished()
        }
    }

    /// The mechanism name the client picks from `offered` under `policy`, over TLS
    /// with `server_certificate` when `tls`.
    pub fn select_mechanism(
        offered: &[&[u8]],
        policy: ChannelBinding,
        tls: bool,
        server_certificate: Option<&[u8]>,
    ) -> Result<&'static str> {
        let transport = if tls {
            Transport::Tls { server_certificate }
        } else {
            Transport::Plain
        };
        crate::auth::select_mechanism(offered, policy, transport).map(|b| b.mechanism().name())
    }
}

/// The password file's parser (the fuzz target `pgpass`): the password of the first entry
/// matching host, port, database and user.
pub fn pgpass_password(
    file: &[u8],
    host: &str,
    port: u16,
    dbname: &str,
    user: &str,
) -> Option<String> {
    crate::conninfo::pgpass_password(file, host, port, dbname, user)
}

/// The service file's parser (the fuzz target `service_file`): the keyword names and
/// values of section `[name]` of `text`, `None` without such a section.
pub fn service_section(text: &str, name: &str) -> Result<Option<Vec<(&'static str, String)>>> {
    crate::conninfo::service_section(text, name)
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
