//! The offline cache: what a query was described as, in
//! `.pgprepare/query-<sha256 of the SQL>.json`.
//!
//! The file is a contract between the macros, `cargo pgprepare` and the
//! repository: a format version, the exact query text, and everything the
//! macros need to expand without a server. Writers never leave a half-written
//! file (temp file + rename), because parallel rustc processes may describe the
//! same query at once.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The version of the file format; bumped on any incompatible change.
pub(crate) const FORMAT: u32 = 1;

/// The directory name of the cache.
pub(crate) const DIR_NAME: &str = ".pgprepare";

/// What a query was described as.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct QueryData {
    /// [`FORMAT`].
    pub(crate) format: u32,
    /// The SQL text, exactly as sent to the server.
    pub(crate) query: String,
    /// The types of `$1`, `$2`, ...
    pub(crate) params: Vec<TypeDesc>,
    /// The result columns, in order.
    pub(crate) columns: Vec<ColumnDesc>,
}

/// A PostgreSQL type as the macros need to know it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct TypeDesc {
    /// The OID (user types have different OIDs in different databases).
    pub(crate) oid: u32,
    /// `typname` for a built-in type (`int4`); `schema.typname` for any other.
    pub(crate) name: String,
    /// What sort of type it is.
    #[serde(default, skip_serializing_if = "TypeKind::is_builtin")]
    pub(crate) kind: TypeKind,
    /// For a domain: its base type. For an array: its element type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) of: Option<Box<TypeDesc>>,
}

/// The sort of a type (`pg_type.typtype`, arrays apart).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum TypeKind {
    /// A built-in type: the name says everything.
    #[default]
    Builtin,
    /// A base type from an extension (`citext`, `hstore`, ...).
    Base,
    /// `CREATE TYPE ... AS ENUM`.
    Enum,
    /// `CREATE TYPE ... AS (...)` or a table's row type.
    Composite,
    /// `CREATE DOMAIN`; `of` is the base type.
    Domain,
    /// A range or multirange type.
    Range,
    /// An array of a non-built-in type; `of` is the element type.
    Array,
    /// A pseudo-type.
    Pseudo,
}

impl TypeKind {
    fn is_builtin(&self) -> bool {
        *self == TypeKind::Builtin
    }

    /// How the kind is named in messages ("an enum").
    pub(crate) fn describe(self) -> &'static str {
        match self {
            TypeKind::Builtin => "a built-in type",
            TypeKind::Base => "an extension type",
            TypeKind::Enum => "an enum",
            TypeKind::Composite => "a composite type",
            TypeKind::Domain => "a domain",
            TypeKind::Range => "a range type",
            TypeKind::Array => "an array type",
            TypeKind::Pseudo => "a pseudo-type",
        }
    }
}

/// One result column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct ColumnDesc {
    /// The name the server gave it (with any `!`, `?` or `: Type` override).
    pub(crate) name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub(crate) ty: TypeDesc,
    /// Whether it may be NULL (`false` only when that is certain).
    pub(crate) nullable: bool,
    /// For an array: whether no element is NULL (`true` only when that is
    /// certain; absent means an element may be NULL).
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) elements_not_null: bool,
    /// The table column it comes from, when it is a plain table column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) origin: Option<Origin>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The table column a result column comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Origin {
    /// `schema.table`.
    pub(crate) table: String,
    /// The column's name.
    pub(crate) column: String,
    /// The table's OID in the database that was described.
    pub(crate) table_oid: u32,
    /// The column's attribute number.
    pub(crate) column_id: i16,
}

/// The file name for a query: `query-<hex sha256>.json`.
pub(crate) fn file_name(sql: &str) -> String {
    let digest = Sha256::digest(sql.as_bytes());
    let mut name = String::with_capacity(6 + 64 + 5);
    name.push_str("query-");
    for b in digest.iter() {
        // Writing to a String cannot fail.
        let _ = write!(name, "{b:02x}");
    }
    name.push_str(".json");
    name
}

/// Where the cache directory for a crate may be: `PGPREPARE_OFFLINE_DIR` alone
/// when it is set; else the crate's directory, then its ancestors up to and
/// including the workspace root (the first with a `[workspace]` manifest).
pub(crate) fn search_dirs(offline_dir: Option<&str>, manifest_dir: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = offline_dir.filter(|d| !d.is_empty()) {
        dirs.push(PathBuf::from(dir));
        return dirs;
    }
    for dir in manifest_dir.ancestors() {
        dirs.push(dir.join(DIR_NAME));
        if is_workspace_root(dir) {
            break;
        }
    }
    dirs
}

fn is_workspace_root(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("Cargo.toml"))
        .is_ok_and(|manifest| manifest.lines().any(|l| l.trim() == "[workspace]"))
}

/// Why a cached description could not be used.
#[derive(Debug)]
pub(crate) enum LoadError {
    /// No file for this query in any of the directories.
    Missing,
    /// A file exists but cannot be used.
    Invalid(PathBuf, String),
}

/// Finds and reads the description of `sql`; returns it with the file's path.
pub(crate) fn load(sql: &str, dirs: &[PathBuf]) -> Result<(QueryData, PathBuf), LoadError> {
    let name = file_name(sql);
    for dir in dirs {
        let path = dir.join(&name);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(LoadError::Invalid(path, e.to_string())),
        };
        let data = parse(&text).map_err(|e| LoadError::Invalid(path.clone(), e))?;
        if data.query != sql {
            return Err(LoadError::Invalid(
                path,
                "it describes a different query text (a hash collision or an edited file)".into(),
            ));
        }
        return Ok((data, path));
    }
    Err(LoadError::Missing)
}

/// Parses a cache file, checking its format version first.
pub(crate) fn parse(text: &str) -> Result<QueryData, String> {
    #[derive(Deserialize)]
    struct Version {
        format: u32,
    }
    let version: Version =
        serde_json::from_str(text).map_err(|e| format!("not a query description: {e}"))?;
    if version.format != FORMAT {
        return Err(format!(
            "it has format {} but this version of Quarry reads format {FORMAT}",
            version.format
        ));
    }
    serde_json::from_str(text).map_err(|e| format!("not a query description: {e}"))
}

/// The file's content: pretty JSON with a final newline, so diffs review well.
pub(crate) fn to_json(data: &QueryData) -> String {
    let mut text = serde_json::to_string_pretty(data).unwrap_or_default();
    text.push('\n');
    text
}

/// Writes the description of a query into `dir` atomically.
///
/// Parallel rustc processes may write the same file: each writes its own
/// temporary file and renames it over the target, so readers see one whole
/// file or the other, both correct.
pub(crate) fn write(dir: &Path, data: &QueryData) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let name = file_name(&data.query);
    let path = dir.join(&name);
    let text = to_json(data);
    if std::fs::read_to_string(&path).is_ok_and(|old| old == text) {
        return Ok(path);
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp = dir.join(format!(".{name}.{}.{nanos}.tmp", std::process::id()));
    std::fs::write(&tmp, text)?;
    if let Err(e) = std::fs::rename(&tmp, &path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(path)
}

/// Appends `site` (`path:line` of a call) to `query-<hash>.where` beside the
/// description of `query` in a `PGPREPARE_WRITE` directory.
pub(crate) fn record_site(dir: &Path, query: &str, site: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let name = file_name(query);
    let stem = name.strip_suffix(".json").unwrap_or(&name);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("{stem}.where")))?;
    file.write_all(format!("{site}\n").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> QueryData {
        QueryData {
            format: FORMAT,
            query: "SELECT id FROM users WHERE id = $1".into(),
            params: vec![TypeDesc {
                oid: 20,
                name: "int8".into(),
                kind: TypeKind::Builtin,
                of: None,
            }],
            columns: vec![ColumnDesc {
                name: "id".into(),
                elements_not_null: false,
                ty: TypeDesc {
                    oid: 20,
                    name: "int8".into(),
                    kind: TypeKind::Builtin,
                    of: None,
                },
                nullable: false,
                origin: Some(Origin {
                    table: "public.users".into(),
                    column: "id".into(),
                    table_oid: 16390,
                    column_id: 1,
                }),
            }],
        }
    }

    #[test]
    fn file_name_is_the_sha256_of_the_text() {
        // sha256("SELECT 1"), computed independently with `printf 'SELECT 1' | sha256sum`.
        assert_eq!(
            file_name("SELECT 1"),
            "query-e004ebd5b5532a4b85984a62f8ad48a81aa3460c1ca07701f386135d72cdecf5.json"
        );
    }

    #[test]
    fn round_trip_and_atomic_write() {
        let dir = std::env::temp_dir().join(format!("pgprepare-test-{}", std::process::id()));
        let data = sample();
        let path = write(&dir, &data).unwrap();
        let (back, found) = load(&data.query, std::slice::from_ref(&dir)).unwrap();
        assert_eq!(back, data);
        assert_eq!(found, path);
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, vec![file_name(&data.query)]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn wrong_format_and_wrong_text_are_refused() {
        let mut text = to_json(&sample());
        text = text.replace("\"format\": 1", "\"format\": 99");
        let err = parse(&text).unwrap_err();
        assert!(err.contains("format 99"), "{err}");

        let dir = std::env::temp_dir().join(format!("pgprepare-test2-{}", std::process::id()));
        let data = sample();
        std::fs::create_dir_all(&dir).unwrap();
        // A file under the name of another query.
        std::fs::write(dir.join(file_name("SELECT 2")), to_json(&data)).unwrap();
        match load("SELECT 2", std::slice::from_ref(&dir)) {
            Err(LoadError::Invalid(_, why)) => assert!(why.contains("different query"), "{why}"),
            other => panic!("expected Invalid, got {other:?}"),
        }
        assert!(matches!(
            load("SELECT 3", std::slice::from_ref(&dir)),
            Err(LoadError::Missing)
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn search_order_is_env_alone_or_crate_then_ancestors() {
        let dirs = search_dirs(Some("/x/cache"), Path::new("/nonexistent/ws/crate"));
        assert_eq!(dirs, vec![PathBuf::from("/x/cache")]);
        let dirs = search_dirs(None, Path::new("/nonexistent/ws/crate"));
        assert_eq!(dirs[0], Path::new("/nonexistent/ws/crate/.pgprepare"));
        assert_eq!(dirs[1], Path::new("/nonexistent/ws/.pgprepare"));
    }
}
