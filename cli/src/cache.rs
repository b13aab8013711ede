//! The cache directory: reading it, comparing it with a fresh description, and
//! bringing it in line.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::Value;

/// File name -> content, for the `query-*.json` files of a directory.
pub(crate) type Files = BTreeMap<String, String>;

pub(crate) fn read_dir(dir: &Path) -> Result<Files> {
    let mut files = Files::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(files),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.display())),
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("query-") && name.ends_with(".json") {
            let text = std::fs::read_to_string(entry.path())
                .with_context(|| format!("cannot read {}", entry.path().display()))?;
            files.insert(name, text);
        }
    }
    Ok(files)
}

/// Where each described query is in the source, for messages: file name of the
/// description -> `path:line`, from the `query-<hash>.where` files the macros
/// write beside their descriptions in the scratch directory.
pub(crate) fn read_locations(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".where")
            && stem.starts_with("query-")
            && let Ok(text) = std::fs::read_to_string(entry.path())
        {
            // One line per call site; show the first (sorted, so stable).
            let mut sites: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
            sites.sort_unstable();
            sites.dedup();
            let shown = match sites.as_slice() {
                [] => continue,
                [one] => (*one).to_owned(),
                [first, rest @ ..] => format!("{first} (and {} more)", rest.len()),
            };
            out.insert(format!("{stem}.json"), shown);
        }
    }
    out
}

/// The first line of a description's SQL, for messages.
pub(crate) fn first_line(text: &str) -> String {
    let sql = serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v.get("query").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_default();
    let line = sql
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    if line.chars().count() > 72 {
        let cut: String = line.chars().take(70).collect();
        format!("{cut}...")
    } else {
        line.to_owned()
    }
}

/// What changed between the cached description `old` and the fresh `new`: one
/// line per parameter or column that differs.
pub(crate) fn changes(old: &str, new: &str) -> Vec<String> {
    let (Ok(mut old), Ok(mut new)) = (
        serde_json::from_str::<Value>(old),
        serde_json::from_str::<Value>(new),
    ) else {
        return vec!["the file is not valid JSON".into()];
    };
    normalize(&mut old);
    normalize(&mut new);
    let list = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let type_name = |v: &Value| {
        v.get("type")
            .or(Some(v))
            .and_then(|t| t.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned()
    };
    let mut out = Vec::new();
    let (old_params, new_params) = (list(&old, "params"), list(&new, "params"));
    for i in 0..old_params.len().max(new_params.len()) {
        match (old_params.get(i), new_params.get(i)) {
            (Some(a), Some(b)) if a != b => out.push(format!(
                "parameter ${}: `{}` -> `{}`",
                i + 1,
                type_name(a),
                type_name(b)
            )),
            (Some(a), None) => {
                out.push(format!("parameter ${} (`{}`) is gone", i + 1, type_name(a)))
            }
            (None, Some(b)) => out.push(format!("new parameter ${} (`{}`)", i + 1, type_name(b))),
            _ => {}
        }
    }
    let (old_cols, new_cols) = (list(&old, "columns"), list(&new, "columns"));
    let flag = |v: &Value, k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(false);
    let null_word = |nullable: bool| if nullable { "nullable" } else { "not null" };
    let elem_word = |not_null: bool| {
        if not_null {
            "elements not null"
        } else {
            "elements nullable"
        }
    };
    for i in 0..old_cols.len().max(new_cols.len()) {
        let name = |v: &Value| {
            v.get("name")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned()
        };
        match (old_cols.get(i), new_cols.get(i)) {
            (Some(a), Some(b)) if a != b => {
                let mut what = Vec::new();
                if name(a) != name(b) {
                    what.push(format!("renamed from `{}`", name(a)));
                }
                if type_name(a) != type_name(b) {
                    what.push(format!("`{}` -> `{}`", type_name(a), type_name(b)));
                }
                if flag(a, "nullable") != flag(b, "nullable") {
                    what.push(format!(
                        "{} -> {}",
                        null_word(flag(a, "nullable")),
                        null_word(flag(b, "nullable"))
                    ));
                }
                if flag(a, "elements_not_null") != flag(b, "elements_not_null") {
                    what.push(format!(
                        "{} -> {}",
                        elem_word(flag(a, "elements_not_null")),
                        elem_word(flag(b, "elements_not_null"))
                    ));
                }
                if what.is_empty() {
                    what.push("its origin or type details changed".into());
                }
                out.push(format!(
                    "column {} `{}`: {}",
                    i + 1,
                    name(b),
                    what.join(", ")
                ));
            }
            (Some(a), None) => out.push(format!("column {} `{}` is gone", i + 1, name(a))),
            (None, Some(b)) => out.push(format!(
                "new column {} `{}` (`{}`)",
                i + 1,
                name(b),
                type_name(b)
            )),
            _ => {}
        }
    }
    if out.is_empty() {
        out.push("the format or the query text changed".into());
    }
    out
}

/// What differs between the fresh descriptions and the cache.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Diff {
    /// Described, not in the cache.
    pub(crate) missing: Vec<String>,
    /// In both, with different content.
    pub(crate) stale: Vec<String>,
    /// In the cache, no longer described.
    pub(crate) extra: Vec<String>,
    /// In both, the same.
    pub(crate) unchanged: usize,
}

impl Diff {
    pub(crate) fn is_clean(&self) -> bool {
        self.missing.is_empty() && self.stale.is_empty() && self.extra.is_empty()
    }
}

pub(crate) fn compare(fresh: &Files, cached: &Files) -> Diff {
    let mut diff = Diff::default();
    for (name, text) in fresh {
        match cached.get(name) {
            None => diff.missing.push(name.clone()),
            Some(old) if !same(text, old) => diff.stale.push(name.clone()),
            Some(_) => diff.unchanged += 1,
        }
    }
    diff.extra = cached
        .keys()
        .filter(|k| !fresh.contains_key(*k))
        .cloned()
        .collect();
    diff
}

/// Whether two descriptions say the same, ignoring the OIDs of user objects
/// (tables and user types get different OIDs in every database).
pub(crate) fn same(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<Value>(a),
        serde_json::from_str::<Value>(b),
    ) {
        (Ok(mut a), Ok(mut b)) => {
            normalize(&mut a);
            normalize(&mut b);
            a == b
        }
        _ => a == b,
    }
}

fn normalize(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                let user_oid = matches!(k.as_str(), "oid" | "table_oid")
                    && v.as_u64().is_some_and(|o| o >= 16384);
                if user_oid {
                    *v = Value::from(0);
                } else {
                    normalize(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize),
        _ => {}
    }
}

/// Makes `dir` hold exactly `fresh` (keeping files that only differ in user OIDs).
pub(crate) fn apply(dir: &Path, fresh: &Files, diff: &Diff) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for name in diff.missing.iter().chain(&diff.stale) {
        let path = dir.join(name);
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, &fresh[name])
            .and_then(|()| std::fs::rename(&tmp, &path))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    for name in &diff.extra {
        let path = dir.join(name);
        std::fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(items: &[(&str, &str)]) -> Files {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn changes_say_what_changed() {
        let old = r#"{"format":1,"query":"SELECT id, email\nFROM users WHERE id = $1",
            "params":[{"oid":23,"name":"int4"}],
            "columns":[{"name":"id","type":{"oid":20,"name":"int8"},"nullable":false},
                       {"name":"email","type":{"oid":25,"name":"text"},"nullable":true}]}"#;
        let new = r#"{"format":1,"query":"SELECT id, email\nFROM users WHERE id = $1",
            "params":[{"oid":20,"name":"int8"}],
            "columns":[{"name":"id","type":{"oid":20,"name":"int8"},"nullable":false},
                       {"name":"email","type":{"oid":1043,"name":"varchar"},"nullable":false}]}"#;
        assert_eq!(
            changes(old, new),
            vec![
                "parameter $1: `int4` -> `int8`".to_owned(),
                "column 2 `email`: `text` -> `varchar`, nullable -> not null".to_owned(),
            ]
        );
        assert_eq!(first_line(new), "SELECT id, email");
    }

    #[test]
    fn missing_stale_extra() {
        let fresh = files(&[
            ("query-a.json", r#"{"format":1,"query":"a"}"#),
            ("query-b.json", r#"{"format":1,"query":"b2"}"#),
            ("query-c.json", r#"{"format":1,"query":"c"}"#),
        ]);
        let cached = files(&[
            ("query-b.json", r#"{"format":1,"query":"b"}"#),
            (
                "query-c.json",
                "{\n  \"format\": 1,\n  \"query\": \"c\"\n}\n",
            ),
            ("query-d.json", r#"{"format":1,"query":"d"}"#),
        ]);
        let d = compare(&fresh, &cached);
        assert_eq!(d.missing, vec!["query-a.json"]);
        assert_eq!(d.stale, vec!["query-b.json"]);
        assert_eq!(d.extra, vec!["query-d.json"]);
        assert_eq!(d.unchanged, 1);
        assert!(!d.is_clean());
    }

    #[test]
    fn user_oids_do_not_count() {
        let a = r#"{"columns":[{"type":{"oid":16390,"name":"public.mood"},"origin":{"table_oid":16400}}]}"#;
        let b = r#"{"columns":[{"type":{"oid":17001,"name":"public.mood"},"origin":{"table_oid":17010}}]}"#;
        assert!(same(a, b));
        let c = r#"{"columns":[{"type":{"oid":23,"name":"int4"}}]}"#;
        let d = r#"{"columns":[{"type":{"oid":20,"name":"int8"}}]}"#;
        assert!(!same(c, d));
    }

    #[test]
    fn apply_writes_and_removes() {
        let dir = std::env::temp_dir().join(format!("pgprepare-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("query-old.json"), "{}").unwrap();
        let fresh = files(&[("query-new.json", r#"{"format":1}"#)]);
        let cached = read_dir(&dir).unwrap();
        let diff = compare(&fresh, &cached);
        apply(&dir, &fresh, &diff).unwrap();
        assert_eq!(read_dir(&dir).unwrap(), fresh);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
