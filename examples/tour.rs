//! The README's tour, runnable: `cargo run --example tour`.
//!
//! The same program as in README.md, except that it starts a throwaway PostgreSQL
//! (`TempServer`) and creates the tables of `examples/schema.sql` instead of using a
//! fixed URL. Keep the two in step.

use quarry::{CopyRow, FromRecord, Listener, ListenerEvent, Pool};

#[derive(FromRecord)]
struct User {
    id: i64,
    name: String,
    email: Option<String>,
} // email may be NULL

#[derive(CopyRow)]
struct NewUser {
    name: String,
    email: Option<String>,
}

#[tokio::main]
async fn main() -> quarry::Result<()> {
    // The README has a URL here; the example brings its own server and the tables.
    let server = quarry::TempServer::start()?;
    let url = &server.url();
    let pool = Pool::connect(url).await?;
    pool.acquire()
        .await?
        .batch_execute(include_str!("schema.sql"))
        .await?;

    // Checked when this compiles: names, argument types, NULLs. `row.id` is an i64.
    let row = quarry::query!(
        "INSERT INTO users (name, email) VALUES ($1, $2) RETURNING id",
        "Ada",
        Some("ada@example.com")
    )
    .fetch_one(&pool)
    .await?;
    let users: Vec<User> = quarry::query_as!(
        User,
        "SELECT id, name, email FROM users WHERE id = $1",
        row.id
    )
    .fetch_all(&pool)
    .await?;

    // A transaction on a pooled connection; dropped without commit(), it rolls back.
    let mut tx = pool.begin().await?;
    quarry::query!("UPDATE users SET name = $1 WHERE id = $2", "Ada L.", row.id)
        .execute(&mut tx)
        .await?;
    tx.commit().await?;

    // Binary COPY; the row type is checked against the columns before any data goes out.
    let mut conn = pool.acquire().await?;
    let rows = [NewUser {
        name: "Grace".into(),
        email: None,
    }];
    let copied = conn
        .copy_rows_to_table("users", &["name", "email"], rows)
        .await?;

    // LISTEN on a connection of its own. After a lost connection it reconnects,
    // listens again and says so: notifications sent in between are gone.
    let mut listener = Listener::connect(url).await?;
    listener.listen("jobs").await?;
    quarry::notify(&pool, "jobs", "42").await?;
    match listener.recv_event().await? {
        ListenerEvent::Notification(n) => println!("{}: {}", n.channel(), n.payload()),
        ListenerEvent::Reconnected { .. } => println!("missed notifications: re-read the state"),
    }
    for user in &users {
        println!("{} {} {:?}", user.id, user.name, user.email);
    }
    println!("{copied} copied");
    Ok(())
}
