//! `--temp-server`: a throwaway PostgreSQL with the project's schema.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use quarry_driver::TempServer;

/// Starts a server with nothing in it.
pub(crate) fn start_empty() -> Result<TempServer> {
    TempServer::start().context(
        "cannot start a temporary PostgreSQL server (is PostgreSQL installed? set \
         QUARRY_PG_BINDIR to its bin directory)",
    )
}

/// Starts a server, applies the migrations of each `--migrations` folder with the
/// driver's `Migrator` (the runner production uses), then the schema files in order.
pub(crate) fn start(migrations: &[PathBuf], schema: &[PathBuf]) -> Result<TempServer> {
    let files = schema_files(schema)?;
    let migrators = migrations
        .iter()
        .map(|dir| {
            quarry_driver::migrate::Migrator::new(dir)
                .map(|m| {
                    m.on_progress(|a| {
                        eprintln!("applied {} ({} ms)", a.file, a.elapsed.as_millis())
                    })
                })
                .map_err(|e| anyhow::anyhow!("{}", e.display_chain()))
        })
        .collect::<Result<Vec<_>>>()?;
    eprintln!("starting a temporary PostgreSQL server...");
    let server = start_empty()?;
    if !migrators.is_empty() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        runtime
            .block_on(async {
                let mut conn = quarry_driver::Connection::connect(&server.url()).await?;
                for m in &migrators {
                    m.run(&mut conn).await?;
                }
                conn.close().await
            })
            .map_err(|e| anyhow::anyhow!("{}", e.display_chain()))?;
    }
    for file in &files {
        let sql = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        server
            .run_sql(&sql)
            .with_context(|| format!("applying {} failed", file.display()))?;
        eprintln!("applied {}", file.display());
    }
    Ok(server)
}

/// The `.sql` files named by `--schema`: files as given, directories' `*.sql` in name order.
pub(crate) fn schema_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("cannot read {}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "sql"))
                .collect();
            files.sort();
            if files.is_empty() {
                bail!("{} has no .sql files", path.display());
            }
            out.extend(files);
        } else if path.is_file() {
            out.push(path.clone());
        } else {
            bail!("--schema {}: no such file or directory", display(path));
        }
    }
    Ok(out)
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_are_applied_in_name_order() {
        let dir = std::env::temp_dir().join(format!("pgprepare-schema-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for name in ["002_b.sql", "001_a.sql", "notes.txt"] {
            std::fs::write(dir.join(name), "").unwrap();
        }
        let files = schema_files(std::slice::from_ref(&dir)).unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap())
            .collect();
        assert_eq!(names, vec!["001_a.sql", "002_b.sql"]);
        assert!(schema_files(&[dir.join("nope.sql")]).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn migrations_are_applied_by_the_migrator_then_schema_files() {
        let dir = std::env::temp_dir().join(format!("pgprepare-migrations-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("1_t.sql"), "CREATE TABLE t (x int);").unwrap();
        std::fs::write(
            dir.join("2_i.sql"),
            "-- no-transaction\nCREATE INDEX CONCURRENTLY t_x ON t (x);",
        )
        .unwrap();
        let extra = dir.join("extra.sql.txt");
        std::fs::write(&extra, "CREATE VIEW v AS SELECT x FROM t;").unwrap();
        let server = start(std::slice::from_ref(&dir), std::slice::from_ref(&extra)).unwrap();
        let out = server
            .run_sql(
                "SELECT string_agg(version::text, ',' ORDER BY version) FROM _quarry_migrations; \
                 SELECT count(*) FROM pg_indexes WHERE indexname = 't_x'; \
                 SELECT count(*) FROM v",
            )
            .unwrap();
        let lines: Vec<&str> = out
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(lines, ["1,2", "1", "0"], "{out}");
        std::fs::write(dir.join("3_bad.sql"), "CREATE TABLE u (x nosuchtype);").unwrap();
        let e = format!("{:#}", start(std::slice::from_ref(&dir), &[]).unwrap_err());
        assert!(e.contains("3_bad.sql") && e.contains("nosuchtype"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
