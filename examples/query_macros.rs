//! Compile-time checked queries: `query!`, `query_scalar!`, `query_as!`.
//!
//! The queries are checked against `examples/schema.sql` when this compiles:
//! online with `DATABASE_URL`, or offline from `.pgprepare/` (what CI does).
//! Running it starts a throwaway server with that schema.
//!
//! ```text
//! cargo run --example query_macros
//! ```

use quarry::{Connection, TempServer};

#[tokio::main(flavor = "current_thread")]
async fn main() -> quarry::Result<()> {
    let server = TempServer::start()?;
    server.run_sql(include_str!("schema.sql"))?;
    let mut conn = Connection::connect(&server.url()).await?;

    let user = quarry::query!(
        "INSERT INTO users (name, email) VALUES ($1, $2) RETURNING id, name, email",
        "Ada",
        None::<&str>
    )
    .fetch_one(&mut conn)
    .await?;
    // `id` and `name` are NOT NULL: plain types. `email` may be NULL: `Option`.
    let (id, name, email): (i64, String, Option<String>) = (user.id, user.name, user.email);
    println!("inserted {id} {name} {email:?}");

    quarry::query!(
        "INSERT INTO orders (user_id, total) VALUES (:user, :total)",
        user = id,
        total = 42
    )
    .execute(&mut conn)
    .await?;

    // A LEFT JOIN makes the order side nullable; count(*) is never NULL.
    for row in quarry::query!(
        "SELECT u.name, o.total, count(*) OVER () AS n \
         FROM users u LEFT JOIN orders o ON o.user_id = u.id"
    )
    .fetch_all(&mut conn)
    .await?
    {
        let total: Option<i32> = row.total;
        let n: i64 = row.n;
        println!("{}: {total:?} ({n} rows)", row.name);
    }

    let users: i64 = quarry::query_scalar!("SELECT count(*) FROM users")
        .fetch_one(&mut conn)
        .await?;
    let pairs: Vec<(i64, String)> = quarry::query_as!((i64, String), "SELECT id, name FROM users")
        .fetch_all(&mut conn)
        .await?;
    println!("{users} users: {pairs:?}");
    Ok(())
}
