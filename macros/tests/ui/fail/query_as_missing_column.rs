// `query_as!` checks that the query returns every column a derived record's
// fields read (after `rename`): a typo or a missing column fails the build, and
// the error points at the field (sqlx: E0063 missing field).
#[derive(quarry::FromRecord)]
pub struct User {
    pub id: i64,
    #[quarry(rename = "nmae")]
    pub name: String,
}

#[derive(quarry::FromRecord)]
pub struct Contact {
    pub id: i64,
    pub email: Option<String>,
}

fn main() {
    let _ = quarry::query_as!(User, "SELECT id, name FROM users");
    let _ = quarry::query_as!(Contact, "SELECT id FROM users");
}
