#[quarry::test]
fn not_async() {}

#[quarry::test(fixture("users.sql"))]
async fn unknown_option() {}

#[quarry::test(worker_threads = 2)]
async fn threads_without_multi_thread() {}

#[quarry::test(migrations = "no/such/dir")]
async fn missing_migrations() {}

#[quarry::test]
async fn unsupported_argument(_x: String) {}

fn main() {}
