// No file in tests/.pgprepare describes this query.
fn main() {
    let _ = quarry::query!("SELECT 'this query was never prepared' AS never");
}
