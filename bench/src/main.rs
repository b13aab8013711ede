//! `quarry-bench`: Quarry against tokio-postgres and sqlx, side by side, on one server.
//!
//! ```text
//! cargo run -p quarry-bench --release -- all            # every workload, 5 rounds
//! cargo run -p quarry-bench --release -- all --runs 7 --runtime multi
//! cargo run -p quarry-bench --release -- w1 w4           # some workloads only
//! cargo run -p quarry-bench --release -- connect         # connection setup time
//! cargo run -p quarry-bench --release -- replication     # logical replication decode
//! cargo run -p quarry-bench --release -- help
//! ```
//!
//! The parent process starts a `TempServer` (or uses `BENCH_DATABASE_URL`), loads the
//! data, then for each round runs every (workload, driver) pair as a child process
//! (`quarry-bench worker ...`), rotating the order of the drivers from round to round.
//! A child connects, warms up, times the work and prints one JSON line. One process per
//! measurement keeps one driver's allocations, caches and threads out of the next one's
//! numbers, and gives each its own peak RSS.

mod chart;
mod cli;
mod connect;
mod fixtures;
mod instructions;
mod orchestrate;
mod peers;
mod reference;
mod replication;
mod report;
mod server;
mod stats;
mod w8;
mod worker;
mod workload;

use std::process::ExitCode;

/// The error type of the harness: anything, with a message a person can act on.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match cli::parse(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("quarry-bench: {e}\n\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
    };
    let result = match command {
        cli::Command::Help => {
            println!("{}", cli::USAGE);
            Ok(())
        }
        cli::Command::Worker(w) => worker::main(&w),
        cli::Command::Connect { runs } => connect::main(runs),
        cli::Command::Replication { runs, rows } => replication::main(runs, rows),
        cli::Command::Run(options) => orchestrate::main(&options),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("quarry-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
