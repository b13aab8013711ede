fn main() {
    let _ = quarry::query!(
        "SELECT id, name "
            + "FROM users WHERE nmae = $1",
        "x"
    );
}
