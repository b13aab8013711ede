// `#[derive(FromRecord)]` tells `query_as!` which type each field reads, so a
// column that may be NULL cannot go into a non-Option field (sqlx ignores this).
#[derive(quarry::FromRecord)]
pub struct User {
    pub id: i64,
    pub email: String, // the column may be NULL
}

fn main() {
    let _ = quarry::query_as!(User, "SELECT id, email FROM users");
}
