// Described against the TempServer (DATABASE_URL is set for this run).

#[allow(dead_code)]
async fn run(conn: &mut quarry::Connection, id: i64) -> quarry::Result<()> {
    let row = quarry::query!("SELECT id, name, email FROM users WHERE id = $1", id)
        .fetch_one(&mut *conn)
        .await?;
    let _: (i64, String, Option<String>) = (row.id, row.name, row.email);
    Ok(())
}

fn main() {}
