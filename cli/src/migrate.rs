//! `cargo pgprepare migrate add|run|revert|info`: the driver's `Migrator` on the command
//! line, against `--database-url`/`$DATABASE_URL` or a throwaway `--temp-server`.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use quarry_driver::Connection;
use quarry_driver::migrate::{Applied, MigrationStatus, Migrator};

pub(crate) const HELP: &str = "\
cargo pgprepare migrate: create, apply, revert and list migrations

USAGE:
    cargo pgprepare migrate add <DESCRIPTION> [-r]
    cargo pgprepare migrate run     [--dry-run] [--ignore-missing] [DB]
    cargo pgprepare migrate revert  [--target-version <N>] [--dry-run] [DB]
    cargo pgprepare migrate info    [DB]

Migrations are the files of --source (default: migrations/), named
<version>_<description>.sql, or .up.sql + .down.sql for a reversible one (the
layout sqlx uses). Each is applied once, in version order, in a transaction of
its own unless its first line is `-- quarry:no-transaction`; see the guide of
quarry::migrate.

OPTIONS:
    --source <DIR>          The migrations folder (default: migrations).
    -r, --reversible        add: create an .up.sql/.down.sql pair.
    --dry-run               run, revert: print what would run; change nothing.
    --ignore-missing        run: go on when the database has migrations no file has.
    --target-version <N>    revert: revert every migration above version N
                            (0: all); default: the latest one only.
    -h, --help              This text.

DB (run, revert, info):
    --database-url <URL>    The database (default: $DATABASE_URL).
    --temp-server           Try the migrations on a throwaway PostgreSQL instead:
                            run applies them all; revert applies them all and then
                            reverts; info lists them. The server is gone after.

EXIT STATUS:
    0  done
    2  an error (the message names the migration file and the line)
";

#[derive(Debug, Default)]
struct Options {
    command: String,
    description: Vec<String>,
    source: Option<PathBuf>,
    reversible: bool,
    dry_run: bool,
    ignore_missing: bool,
    target: Option<i64>,
    database_url: Option<String>,
    temp_server: bool,
}

fn parse(argv: &[String]) -> Result<Option<Options>> {
    let mut o = Options::default();
    let mut it = argv.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_owned())),
            _ => (arg.as_str(), None),
        };
        let mut value = |name: &str| -> Result<String> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => it
                    .next()
                    .cloned()
                    .with_context(|| format!("{name} needs a value")),
            }
        };
        match flag {
            "-h" | "--help" => return Ok(None),
            "--source" => o.source = Some(PathBuf::from(value("--source")?)),
            "-r" | "--reversible" => o.reversible = true,
            "--dry-run" => o.dry_run = true,
            "--ignore-missing" => o.ignore_missing = true,
            "--target-version" => {
                let v = value("--target-version")?;
                o.target = Some(
                    v.parse()
                        .with_context(|| format!("--target-version {v}: not a version number"))?,
                );
            }
            "--database-url" => o.database_url = Some(value("--database-url")?),
            "--temp-server" => o.temp_server = true,
            other if other.starts_with('-') => bail!("unknown option `{other}`"),
            word if o.command.is_empty() => o.command = word.to_owned(),
            word => o.description.push(word.to_owned()),
        }
    }
    match o.command.as_str() {
        "add" if o.description.is_empty() => bail!("migrate add needs a description"),
        "add" => {}
        "run" | "revert" | "info" if !o.description.is_empty() => {
            bail!("unexpected argument `{}`", o.description[0])
        }
        "run" | "revert" | "info" => {}
        "" => bail!("migrate needs a command: add, run, revert or info"),
        other => bail!("unknown migrate command `{other}` (add, run, revert or info)"),
    }
    if o.temp_server && o.database_url.is_some() {
        bail!("give either --temp-server or --database-url, not both");
    }
    Ok(Some(o))
}

/// Runs `cargo pgprepare migrate ...`; the exit status.
pub(crate) fn main(argv: &[String]) -> std::process::ExitCode {
    let result = parse(argv).and_then(|o| match o {
        None => {
            print!("{HELP}");
            Ok(())
        }
        Some(o) => run(&o),
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

fn run(o: &Options) -> Result<()> {
    let source = o
        .source
        .clone()
        .unwrap_or_else(|| PathBuf::from("migrations"));
    if o.command == "add" {
        return add(&source, &o.description.join("_"), o.reversible);
    }
    let migrator = Migrator::new(&source)
        .map_err(|e| anyhow::anyhow!("{}", e.display_chain()))?
        .dry_run(o.dry_run)
        .ignore_missing(o.ignore_missing)
        .on_progress(print_progress);
    let server = if o.temp_server {
        eprintln!("starting a temporary PostgreSQL server...");
        Some(crate::server::start_empty()?)
    } else {
        None
    };
    let url = match (&server, &o.database_url) {
        (Some(s), _) => s.url(),
        (None, Some(url)) => url.clone(),
        (None, None) => match std::env::var("DATABASE_URL") {
            Ok(url) if !url.is_empty() => url,
            _ => bail!(
                "no database to migrate: set DATABASE_URL, pass --database-url, or try the \
                 migrations on a throwaway server with --temp-server"
            ),
        },
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(async {
        let mut conn = Connection::connect(&url).await?;
        match o.command.as_str() {
            "run" => {
                let applied = migrator.run(&mut conn).await?;
                if applied.is_empty() {
                    println!("nothing to apply: the database is up to date");
                }
            }
            "revert" => {
                if server.is_some() {
                    migrator.clone().dry_run(false).run(&mut conn).await?;
                }
                let reverted = match o.target {
                    Some(v) => migrator.revert_to(&mut conn, v).await?,
                    None => migrator.revert(&mut conn).await?.into_iter().collect(),
                };
                if reverted.is_empty() {
                    println!("nothing to revert");
                }
            }
            _ => print_info(&migrator.info(&mut conn).await?),
        }
        conn.close().await
    });
    drop(server);
    result.map_err(|e| anyhow::anyhow!("{}", e.display_chain()))
}

fn print_progress(a: &Applied) {
    let verb = match (a.dry_run, a.file.ends_with(".down.sql")) {
        (true, false) => "would apply",
        (true, true) => "would revert",
        (false, false) => "applied",
        (false, true) => "reverted",
    };
    if a.dry_run {
        println!("{verb} {}", a.file);
    } else {
        println!("{verb} {} ({} ms)", a.file, a.elapsed.as_millis());
    }
}

fn print_info(infos: &[quarry_driver::migrate::MigrationInfo]) {
    if infos.is_empty() {
        println!("no migrations");
    }
    for i in infos {
        let file = i.file.as_deref().unwrap_or("(no file)");
        match &i.status {
            MigrationStatus::Applied { installed_on } => {
                println!("applied  {file}  ({installed_on})");
            }
            MigrationStatus::Pending => println!("pending  {file}"),
            MigrationStatus::Changed { applied, file: now } => println!(
                "CHANGED  {file}  (applied with checksum {}, the file's is now {})",
                hex(applied),
                hex(now)
            ),
            MigrationStatus::Missing => {
                println!(
                    "missing  {} {}  (applied, but no file has it)",
                    i.version, i.description
                );
            }
            MigrationStatus::Failed => println!(
                "FAILED   {file}  (sqlx recorded it as failed: repair the database by hand, \
                 then delete its row from _sqlx_migrations)"
            ),
            _ => println!("{file}: {:?}", i.status),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Creates the next migration's file(s): a UTC timestamp version (`20240102150405`), or
/// the next number when the folder numbers its migrations (`0001`, `0002`, ...).
fn add(source: &Path, description: &str, reversible: bool) -> Result<()> {
    let description: String = description
        .chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    std::fs::create_dir_all(source)
        .with_context(|| format!("cannot create {}", source.display()))?;
    let existing = Migrator::new(source).map_err(|e| anyhow::anyhow!("{}", e.display_chain()))?;
    let last = existing.migrations().last();
    let version = match last {
        Some(m) if m.version() < 10_000_000_000 => {
            let width = m.file().split('_').next().map_or(4, str::len);
            format!("{:0width$}", m.version() + 1)
        }
        _ => timestamp(),
    };
    let names: Vec<String> = if reversible {
        vec![
            format!("{version}_{description}.up.sql"),
            format!("{version}_{description}.down.sql"),
        ]
    } else {
        vec![format!("{version}_{description}.sql")]
    };
    for name in &names {
        let path = source.join(name);
        let text = if name.ends_with(".down.sql") {
            "-- Revert the .up.sql of this migration here.\n"
        } else {
            "-- Add the migration's SQL here.\n"
        };
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()))
            .with_context(|| format!("cannot create {}", path.display()))?;
        println!("created {}", path.display());
    }
    Ok(())
}

/// The current UTC time as `YYYYMMDDhhmmss`.
fn timestamp() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Howard Hinnant's days-to-civil: days since 1970-01-01 -> (year, month, day).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(args: &[&str]) -> Result<Options> {
        let argv: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        parse(&argv).map(|o| o.expect("not help"))
    }

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(timestamp().len(), 14);
    }

    #[test]
    fn options() {
        let o = parsed(&["revert", "--target-version=3", "--temp-server"]).unwrap();
        assert_eq!(
            (o.command.as_str(), o.target, o.temp_server),
            ("revert", Some(3), true)
        );
        let o = parsed(&["add", "create", "users", "-r"]).unwrap();
        assert_eq!(o.description, ["create", "users"]);
        assert!(o.reversible);
        for (args, err) in [
            (&["bogus"][..], "unknown migrate command"),
            (&[][..], "needs a command"),
            (&["add"][..], "needs a description"),
            (
                &["run", "--temp-server", "--database-url", "x"][..],
                "not both",
            ),
            (&["revert", "--target-version", "x"][..], "not a version"),
        ] {
            let e = format!("{:#}", parsed(args).unwrap_err());
            assert!(e.contains(err), "{args:?}: {e}");
        }
    }
}
