// What the macros refuse about the query's shape and the macro's input, each in
// words that say what to change.
fn main() {
    // Two columns with one name: a record cannot have two fields of one name.
    let _ = quarry::query!("SELECT id, id FROM users");
    // A column PostgreSQL names `?column?` needs an alias to be a field.
    let _ = quarry::query!("SELECT 1");
    // query_scalar! reads one column.
    let _ = quarry::query_scalar!("SELECT id, name FROM users");
    // A named argument's name is a plain identifier.
    let _ = quarry::query!("SELECT id FROM users WHERE id = :id", a.id = 1i64);
    // query_file! paths are relative to the crate.
    let _ = quarry::query_file!("/etc/queries/all_users.sql");
}
