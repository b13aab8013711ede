//! `cargo pgprepare`: writes and checks the offline query cache in `.pgprepare/`, and
//! (`cargo pgprepare migrate ...`) creates, applies and reverts migrations.
//!
//! The macros do the describing; this tool only runs `cargo check` with the
//! environment that makes them write what they described into a scratch
//! directory, then brings `.pgprepare/` in line with it (or, with `--check`,
//! reports every difference).

mod args;
mod cache;
mod migrate;
mod prepare;
mod server;

use std::process::ExitCode;

fn main() -> ExitCode {
    // `cargo pgprepare ...` runs `cargo-pgprepare pgprepare ...`.
    let mut argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.first().map(String::as_str) == Some("pgprepare") {
        argv.remove(0);
    }
    if argv.first().map(String::as_str) == Some("migrate") {
        return migrate::main(&argv[1..]);
    }
    let options = match args::parse(&argv) {
        Ok(args::Parsed::Help) => {
            print!("{}", args::HELP);
            return ExitCode::SUCCESS;
        }
        Ok(args::Parsed::Run(options)) => options,
        Err(e) => {
            eprintln!("error: {e}\n\nRun `cargo pgprepare --help` for the options.");
            return ExitCode::from(2);
        }
    };
    match prepare::run(&options) {
        Ok(prepare::Outcome::Clean) => ExitCode::SUCCESS,
        Ok(prepare::Outcome::Differs) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
