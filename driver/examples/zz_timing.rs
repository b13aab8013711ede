use std::time::Instant;
fn main() {
    for _ in 0..4 {
        let t = Instant::now();
        let s = quarry_driver::TempServer::start().unwrap();
        let started = t.elapsed();
        let t = Instant::now();
        drop(s);
        println!("{} start {started:?} drop {:?}", std::env::var("QUARRY_PG_BINDIR").unwrap_or_default(), t.elapsed());
    }
}
