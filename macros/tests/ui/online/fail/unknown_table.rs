fn main() {
    let _ = quarry::query!("SELECT id FROM userz WHERE id = :id", id = 1i64);
}
