//! Quickstart: connect, create a table, insert, query, update.
//!
//! Uses `DATABASE_URL` when it is set; otherwise starts a throwaway PostgreSQL
//! (`quarry::TempServer`) from the binaries installed on this machine.
//!
//! ```sh
//! cargo run --example quickstart
//! ```

use quarry::{Connection, FromRecord, TempServer};

/// A row of `users`, read by column name.
#[derive(FromRecord)]
struct User {
    id: i64,
    name: String,
    email: Option<String>,
}

#[tokio::main]
async fn main() -> quarry::Result<()> {
    // Keep the server alive for as long as we use it; it is removed when dropped.
    let (url, _server) = match std::env::var("DATABASE_URL") {
        Ok(url) => (url, None),
        Err(_) => {
            let server = TempServer::start()?;
            (server.url(), Some(server))
        }
    };

    let mut conn = Connection::connect(&url).await?;
    println!("connected to PostgreSQL {}", conn.server_version());

    conn.batch_execute(
        "CREATE TEMP TABLE users (
             id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
             name  text NOT NULL,
             email text
         )",
    )
    .await?;

    for (name, email) in [("Ada", Some("ada@example.com")), ("Brendan", None)] {
        quarry::query("INSERT INTO users (name, email) VALUES ($1, $2)")
            .bind(name)
            .bind(email)
            .execute(&mut conn)
            .await?;
    }

    let updated = quarry::query("UPDATE users SET email = $1 WHERE name = $2")
        .bind("brendan@example.com")
        .bind("Brendan")
        .execute(&mut conn)
        .await?;
    println!("updated {updated} row(s)");

    let users: Vec<User> = quarry::query_as("SELECT id, name, email FROM users ORDER BY id")
        .fetch_all(&mut conn)
        .await?;
    for user in &users {
        let email = user.email.as_deref().unwrap_or("-");
        println!("{:>3}  {:<10} {email}", user.id, user.name);
    }

    let count: i64 = quarry::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&mut conn)
        .await?;
    println!("{count} users");

    conn.close().await?;
    Ok(())
}
