// A folder that is not there is a compile error naming it, not a panic at run time.
fn main() {
    let _ = quarry::migrate!("no/such/dir");
    // The only option is `crate = "path"`.
    let _ = quarry::migrate!("migrations", krate = "quarry");
}
