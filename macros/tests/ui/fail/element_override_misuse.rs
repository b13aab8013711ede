// `[!]` / `[?]` in a column alias are about the elements of an array column:
// on a column that is not an array, or beside a type (which already says
// `Vec<T>` or `Vec<Option<T>>`), they are an error, not silently ignored.
fn main() {
    let _ = quarry::query!(r#"SELECT name AS "name[!]" FROM users"#);
    let _ = quarry::query!(r#"SELECT ARRAY[name] AS "names[!]: Vec<String>" FROM users"#);
}
