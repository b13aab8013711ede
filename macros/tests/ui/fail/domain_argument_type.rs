// A domain mapped to `String` in quarry.toml (`email_text`) takes what `text`
// takes (`&str`, `String`: see ui/pass/query.rs); an integer is refused in the
// user's words: the domain's name, not an internal marker type.
fn main() {
    let _ = quarry::query!("SELECT $1::email_text AS email", 42i64);
}
