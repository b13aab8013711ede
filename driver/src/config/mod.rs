//! Connection options: URIs, keyword strings, environment, `.pgpass`, service files.

/// Options for opening a connection.
#[derive(Clone, Default)]
pub struct ConnectOptions {}
