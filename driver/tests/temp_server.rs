#![cfg(all(feature = "temp-server", unix))]
use quarry_driver::TempServer;
use std::time::Instant;

#[test]
fn smoke() {
    let t = Instant::now();
    let s = TempServer::builder().replication(true).start().unwrap();
    eprintln!("first start {:?}", t.elapsed());
    eprintln!("{:?} {}", s, s.run_sql("select version()").unwrap());
    let t = Instant::now();
    let sb = s.start_standby();
    eprintln!("standby {:?} {:?}", t.elapsed(), sb);
    if let Ok(sb) = sb {
        eprintln!("{}", sb.run_sql("select pg_is_in_recovery()").unwrap());
    }
}
