// `query_as!` checks that the query returns every column a derived record's
// fields read (after `rename`): a typo or a missing column fails the build, and
// the error names the struct, the field, the column and the query's columns
// (sqlx: E0063 missing field).
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

// `rename_all` makes the field read `userName`; the query says `name`.
#[derive(quarry::FromRecord)]
#[quarry(rename_all = "camelCase")]
pub struct Profile {
    pub id: i64,
    pub user_name: String,
}

fn main() {
    let _ = quarry::query_as!(User, "SELECT id, name FROM users");
    let _ = quarry::query_as!(Contact, "SELECT id FROM users");
    let _ = quarry::query_as!(Profile, "SELECT id, name FROM users");
}
