//! Command-line options.

use std::path::PathBuf;

pub(crate) const HELP: &str = "\
cargo pgprepare: write or check Quarry's offline query cache (.pgprepare/)

Queries checked by quarry::query! and friends are described against a database
when the code compiles. `cargo pgprepare` saves those descriptions in
.pgprepare/ so that the crate builds with no database (CI, other machines):
commit the directory. Run it again whenever queries or the schema change;
`--check` in CI fails when someone forgot.

USAGE:
    cargo pgprepare [OPTIONS] [-- <cargo check arguments>]
    cargo pgprepare migrate add|run|revert|info ...   (see `migrate --help`)

OPTIONS:
    --check                 Write nothing; exit 1 and list every file that is
                            missing, stale or no longer used.
    --workspace             Prepare every crate of the workspace; the cache goes
                            to the workspace root (default: the current crate's
                            directory).
    --database-url <URL>    The database to describe against (default:
                            $DATABASE_URL).
    --temp-server           Start a throwaway PostgreSQL (from the installed
                            binaries), apply the --migrations and --schema
                            files, prepare against it, and stop it: no
                            database to install or run.
    --migrations <DIR>      With --temp-server: apply this migrations folder
                            with the Migrator production runs (version order,
                            a transaction each; see `migrate --help`), before
                            any --schema file. Repeatable.
    --schema <PATH>         With --temp-server: a .sql file, or a directory whose
                            *.sql files are applied in name order. Repeatable.
    -h, --help              This text.

Arguments after `--` go to `cargo check` (default: --all-targets, so that
queries in tests, examples and benches are included; add --all-features for
queries behind features).

EXAMPLES:
    cargo pgprepare                                   # against $DATABASE_URL
    cargo pgprepare --check --temp-server --migrations migrations/   # in CI
    cargo pgprepare --workspace -- --all-targets --all-features

EXIT STATUS:
    0  the cache is written (or, with --check, up to date)
    1  --check found differences (listed on stderr)
    2  an error: no database, cargo check failed, bad options
";

/// What to do.
#[derive(Debug, Default)]
pub(crate) struct Options {
    pub(crate) check: bool,
    pub(crate) workspace: bool,
    pub(crate) database_url: Option<String>,
    pub(crate) temp_server: bool,
    pub(crate) schema: Vec<PathBuf>,
    pub(crate) migrations: Vec<PathBuf>,
    pub(crate) cargo_args: Vec<String>,
}

pub(crate) enum Parsed {
    Help,
    Run(Options),
}

pub(crate) fn parse(argv: &[String]) -> Result<Parsed, String> {
    let mut o = Options::default();
    let mut it = argv.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_owned())),
            _ => (arg.as_str(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => it
                    .next()
                    .cloned()
                    .ok_or_else(|| format!("{name} needs a value")),
            }
        };
        match flag {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--check" => o.check = true,
            "--workspace" => o.workspace = true,
            "--temp-server" => o.temp_server = true,
            "--database-url" => o.database_url = Some(value("--database-url")?),
            "--schema" => o.schema.push(PathBuf::from(value("--schema")?)),
            "--migrations" => o.migrations.push(PathBuf::from(value("--migrations")?)),
            "--" => {
                o.cargo_args = it.cloned().collect();
                break;
            }
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    if (!o.schema.is_empty() || !o.migrations.is_empty()) && !o.temp_server {
        return Err(
            "--schema and --migrations are for --temp-server (the schema of a \
                    database you give is already there; migrate it with `cargo pgprepare \
                    migrate run`)"
                .into(),
        );
    }
    if o.temp_server && o.schema.is_empty() && o.migrations.is_empty() {
        return Err(
            "--temp-server needs --migrations <dir> or --schema <file-or-dir> to create the \
             tables"
                .into(),
        );
    }
    if o.temp_server && o.database_url.is_some() {
        return Err("give either --temp-server or --database-url, not both".into());
    }
    Ok(Parsed::Run(o))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Options, String> {
        let argv: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        match parse(&argv)? {
            Parsed::Run(o) => Ok(o),
            Parsed::Help => Err("help".into()),
        }
    }

    #[test]
    fn options() {
        let o = run(&[
            "--check",
            "--temp-server",
            "--schema",
            "a.sql",
            "--schema=dir",
            "--",
            "-p",
            "x",
        ])
        .unwrap();
        assert!(o.check && o.temp_server && !o.workspace);
        assert_eq!(o.schema, vec![PathBuf::from("a.sql"), PathBuf::from("dir")]);
        assert_eq!(o.cargo_args, vec!["-p", "x"]);
        let o = run(&["--database-url", "postgres://x"]).unwrap();
        assert_eq!(o.database_url.as_deref(), Some("postgres://x"));
    }

    #[test]
    fn mistakes_are_explained() {
        assert!(run(&["--bogus"]).unwrap_err().contains("unknown option"));
        assert!(
            run(&["--schema", "a.sql"])
                .unwrap_err()
                .contains("--temp-server")
        );
        assert!(run(&["--temp-server"]).unwrap_err().contains("--schema"));
        assert!(
            run(&["--database-url"])
                .unwrap_err()
                .contains("needs a value")
        );
        assert_eq!(run(&["--help"]).unwrap_err(), "help");
    }
}
