fn main() {
    let _ = quarry::query!("SELECT id, FROM users");
}
