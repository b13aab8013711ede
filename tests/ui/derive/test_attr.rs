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

#[quarry::test(fixtures())]
async fn no_fixtures() {}

#[quarry::test(migrations = "a", migrations = "b")]
async fn two_migrations() {}

#[quarry::test(flavor = "fast")]
async fn unknown_flavor() {}

#[quarry::test(flavor = "multi_thread", worker_threads = 0)]
async fn no_threads() {}

#[quarry::test]
async fn generic<T>() {}

struct S;
impl S {
    #[quarry::test]
    async fn method(&self) {}
}

#[quarry::test(fixtures(""))]
async fn empty_fixture() {}

fn main() {}
