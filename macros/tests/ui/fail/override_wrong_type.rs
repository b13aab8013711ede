// `AS "name: T"` is checked when both types are known: `i32` cannot read an
// `int8` column, so the build fails instead of every row at run time.
fn main() {
    let _ = quarry::query!(r#"SELECT id AS "id: i32", name AS "name: String" FROM users"#);
}
