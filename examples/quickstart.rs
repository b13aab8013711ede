//! Quickstart: a connection pool, checked queries, insert / select / update.
//!
//! ```sh
//! cargo run --example quickstart
//! ```
//!
//! Uses `DATABASE_URL` when it is set; otherwise it starts a throwaway PostgreSQL
//! (`quarry::TempServer`) from the binaries installed on this machine, and removes
//! it at the end.
//!
//! The SQL in `query!` and `query_as!` is checked when this file compiles: the
//! server (or, with no `DATABASE_URL`, the offline description in `.pgprepare/`)
//! says what each parameter and column is, and the code gets those types.
//! A typo in a column name, or an `i32` where the column is `bigint`, is a
//! compile error. The tables are in `examples/schema.sql`.
//!
//! With `DATABASE_URL` set, the macros check against that database, so it needs
//! the tables before the first build (`psql "$DATABASE_URL" -f examples/schema.sql`);
//! or build from `.pgprepare/` anyway with `PGPREPARE_OFFLINE=true`.

use quarry::{FromRecord, Pool, TempServer};

/// A row of `users`. `query_as!` fills it by column name, and checks at compile
/// time that each column fits its field: `email` may be NULL, so it must be an
/// `Option`.
#[derive(Debug, FromRecord)]
struct User {
    id: i64,
    name: String,
    email: Option<String>,
}

#[tokio::main]
async fn main() -> quarry::Result<()> {
    // Keep the server alive for as long as we use it: it is removed when dropped.
    let (url, _server) = match std::env::var("DATABASE_URL") {
        Ok(url) => (url, None),
        Err(_) => {
            let server = TempServer::start()?;
            (server.url(), Some(server))
        }
    };

    // A pool is a cheap handle: clone it into every task. Each query borrows a
    // connection for as long as it runs.
    let pool = Pool::connect(&url).await?;
    // The examples' tables (idempotent: safe to run again).
    pool.acquire()
        .await?
        .batch_execute(include_str!("schema.sql"))
        .await?;

    // INSERT ... RETURNING: `row.id` is an i64, because `users.id` is a NOT NULL bigint.
    let mut ids = Vec::new();
    for (name, email) in [("Ada", Some("ada@example.com")), ("Brendan", None)] {
        let row = quarry::query!(
            "INSERT INTO users (name, email) VALUES ($1, $2) RETURNING id",
            name,
            email
        )
        .fetch_one(&pool)
        .await?;
        println!("inserted {name} as user {}", row.id);
        ids.push(row.id);
    }

    // UPDATE: `execute` returns the number of rows changed. Named parameters
    // (`:email`) are rewritten to `$1`, `$2` when the code compiles.
    let updated = quarry::query!(
        "UPDATE users SET email = :email WHERE id = :id AND email IS NULL",
        email = "brendan@example.com",
        id = ids[1]
    )
    .execute(&pool)
    .await?;
    println!("updated {updated} row(s)");

    // SELECT into a struct. `= ANY($1)` takes an array: a `&[i64]` or `Vec<i64>`.
    let users: Vec<User> = quarry::query_as!(
        User,
        "SELECT id, name, email FROM users WHERE id = ANY($1) ORDER BY id",
        &ids
    )
    .fetch_all(&pool)
    .await?;
    for user in &users {
        let email = user.email.as_deref().unwrap_or("-");
        println!("{:>3}  {:<10} {email}", user.id, user.name);
    }

    // One value: `count(*)` is never NULL, so this is an i64, not an Option.
    let total: i64 = quarry::query_scalar!("SELECT count(*) FROM users")
        .fetch_one(&pool)
        .await?;
    println!("{total} users in the table");

    // The example checks what it read, so that CI notices when it breaks.
    assert_eq!(users.len(), 2);
    assert_eq!(users[1].email.as_deref(), Some("brendan@example.com"));

    pool.close().await;
    Ok(())
}
