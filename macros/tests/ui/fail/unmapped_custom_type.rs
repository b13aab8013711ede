fn main() {
    // `address` is a composite type with no entry in quarry.toml.
    let _ = quarry::query!("SELECT id, home FROM users");
}
