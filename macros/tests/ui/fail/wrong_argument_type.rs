fn main() {
    let _ = quarry::query!("SELECT id FROM users WHERE id = $1 AND name = $2", 1i64, 42i32);
}
