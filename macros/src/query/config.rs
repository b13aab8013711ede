//! `quarry.toml`: the crate's settings for the query macros.
//!
//! ```toml
//! [types]
//! # PostgreSQL type (schema-qualified, or bare for any schema) = Rust type
//! "public.mood" = "crate::Mood"
//! "address" = "crate::Address"
//!
//! [macros]
//! date-time = "time"     # "chrono", "time", "jiff" or "quarry"
//! numeric = "bigdecimal" # "rust_decimal", "bigdecimal" or "quarry"
//! ```
//!
//! The file lives next to the crate's `Cargo.toml`. Only this small subset of
//! TOML is read (sections, `key = "string"`, comments); anything else is an
//! error that names the line, rather than something silently ignored.

use std::path::{Path, PathBuf};

/// The crate's settings.
#[derive(Clone, Debug, Default)]
pub(crate) struct Config {
    /// Rust types for user types, in file order: (PostgreSQL name, Rust path).
    pub(crate) types: Vec<(String, String)>,
    /// `[macros] date-time`.
    pub(crate) date_time: Option<DateTime>,
    /// `[macros] numeric`.
    pub(crate) numeric: Option<NumericCrate>,
    /// The type features of `quarry` that are on.
    pub(crate) features: Vec<&'static str>,
}

/// Which crate's types date/time columns get.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DateTime {
    Chrono,
    Time,
    Jiff,
    Quarry,
}

/// Which crate's type `numeric` columns get.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NumericCrate {
    RustDecimal,
    BigDecimal,
    Quarry,
}

/// The file name.
pub(crate) const FILE_NAME: &str = "quarry.toml";

impl Config {
    /// The features this build of the macros was compiled with.
    pub(crate) fn enabled_features() -> Vec<&'static str> {
        let mut f = Vec::new();
        if cfg!(feature = "uuid") {
            f.push("uuid");
        }
        if cfg!(feature = "json") {
            f.push("json");
        }
        if cfg!(feature = "chrono") {
            f.push("chrono");
        }
        if cfg!(feature = "time") {
            f.push("time");
        }
        if cfg!(feature = "jiff") {
            f.push("jiff");
        }
        if cfg!(feature = "rust_decimal") {
            f.push("rust_decimal");
        }
        if cfg!(feature = "bigdecimal") {
            f.push("bigdecimal");
        }
        if cfg!(feature = "ipnetwork") {
            f.push("ipnetwork");
        }
        if cfg!(feature = "ipnet") {
            f.push("ipnet");
        }
        if cfg!(feature = "mac_address") {
            f.push("mac_address");
        }
        if cfg!(feature = "bit-vec") {
            f.push("bit-vec");
        }
        if cfg!(feature = "geo-types") {
            f.push("geo-types");
        }
        f
    }

    /// Reads `quarry.toml` in `dir`, if there is one, for the target being compiled:
    /// `crate::` in a `[types]` path names the package's library, so outside the
    /// library (integration tests, examples, benches, binaries, doctests) it is
    /// written `::library_name::`. Returns the file's path too when it exists, for
    /// the caller to track (an edit must re-expand the macro).
    pub(crate) fn load(dir: &Path) -> Result<(Config, Option<PathBuf>), String> {
        let path = dir.join(FILE_NAME);
        let (mut config, found) = match std::fs::read_to_string(&path) {
            Ok(text) => (
                parse(&text).map_err(|e| format!("{}: {e}", path.display()))?,
                Some(path),
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Config::default(), None),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        if let Some(library) = Target::from_env(dir).library_outside() {
            for (_, rust) in &mut config.types {
                *rust = rewrite_crate(rust, &library);
            }
        }
        config.features = Config::enabled_features();
        Ok((config, found))
    }

    pub(crate) fn has_feature(&self, name: &str) -> bool {
        self.features.contains(&name)
    }

    /// The Rust type configured for a user type: the qualified name first, then
    /// the bare name.
    pub(crate) fn type_for(&self, qualified: &str) -> Option<&str> {
        let bare = qualified.rsplit('.').next().unwrap_or(qualified);
        self.types
            .iter()
            .find(|(k, _)| k == qualified)
            .or_else(|| self.types.iter().find(|(k, _)| k == bare))
            .map(|(_, v)| v.as_str())
    }

    /// chrono, then time, then jiff, then Quarry's own types, unless configured.
    pub(crate) fn date_time(&self) -> DateTime {
        self.date_time.unwrap_or(if self.has_feature("chrono") {
            DateTime::Chrono
        } else if self.has_feature("time") {
            DateTime::Time
        } else if self.has_feature("jiff") {
            DateTime::Jiff
        } else {
            DateTime::Quarry
        })
    }

    /// rust_decimal, then bigdecimal, then Quarry's `Numeric`, unless configured.
    pub(crate) fn numeric(&self) -> NumericCrate {
        self.numeric.unwrap_or(if self.has_feature("rust_decimal") {
            NumericCrate::RustDecimal
        } else if self.has_feature("bigdecimal") {
            NumericCrate::BigDecimal
        } else {
            NumericCrate::Quarry
        })
    }
}

/// Parses the subset of TOML that `quarry.toml` uses.
pub(crate) fn parse(text: &str) -> Result<Config, String> {
    let mut config = Config::default();
    let mut section = String::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = strip_comment(raw).trim();
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let name = rest
                .strip_suffix(']')
                .ok_or_else(|| format!("line {n}: a section header must end with `]`"))?;
            section = name.trim().to_owned();
            if !matches!(section.as_str(), "types" | "macros") {
                return Err(format!(
                    "line {n}: unknown section `[{section}]` (expected `[types]` or `[macros]`)"
                ));
            }
            continue;
        }
        let (key, value) = split_key_value(line).map_err(|e| format!("line {n}: {e}"))?;
        match section.as_str() {
            "types" => {
                if syn::parse_str::<syn::Type>(&value).is_err() {
                    return Err(format!("line {n}: `{value}` is not a Rust type"));
                }
                config.types.push((key, value));
            }
            "macros" => match (key.as_str(), value.as_str()) {
                ("date-time", "chrono") => config.date_time = Some(DateTime::Chrono),
                ("date-time", "time") => config.date_time = Some(DateTime::Time),
                ("date-time", "jiff") => config.date_time = Some(DateTime::Jiff),
                ("date-time", "quarry") => config.date_time = Some(DateTime::Quarry),
                ("numeric", "rust_decimal") => config.numeric = Some(NumericCrate::RustDecimal),
                ("numeric", "bigdecimal") => config.numeric = Some(NumericCrate::BigDecimal),
                ("numeric", "quarry") => config.numeric = Some(NumericCrate::Quarry),
                ("date-time", v) => {
                    return Err(format!(
                        "line {n}: date-time = \"{v}\": expected \"chrono\", \"time\", \"jiff\" or \"quarry\""
                    ));
                }
                ("numeric", v) => {
                    return Err(format!(
                        "line {n}: numeric = \"{v}\": expected \"rust_decimal\", \"bigdecimal\" or \"quarry\""
                    ));
                }
                (k, _) => {
                    return Err(format!(
                        "line {n}: unknown key `{k}` in [macros] (expected date-time, numeric)"
                    ));
                }
            },
            _ => {
                return Err(format!(
                    "line {n}: a key outside a section ([types] or [macros])"
                ));
            }
        }
    }
    Ok(config)
}

/// The target of the package being compiled, as cargo describes it to rustc (and so to
/// the macros) through the environment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Target {
    /// `CARGO_CRATE_NAME`: the crate being compiled.
    pub(crate) crate_name: String,
    /// Cargo sets `CARGO_BIN_NAME` for binaries and examples, `CARGO_TARGET_TMPDIR` for
    /// integration tests and benches, rustdoc `UNSTABLE_RUSTDOC_TEST_PATH` for doctests:
    /// any of them means this is not the library.
    pub(crate) not_library: bool,
    /// The package's library crate name, if it has a library.
    pub(crate) library: Option<String>,
}

impl Target {
    fn from_env(manifest_dir: &Path) -> Target {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let manifest = std::fs::read_to_string(manifest_dir.join("Cargo.toml")).unwrap_or_default();
        let package = var("CARGO_PKG_NAME").unwrap_or_default();
        Target {
            crate_name: var("CARGO_CRATE_NAME").unwrap_or_default(),
            not_library: var("CARGO_BIN_NAME").is_some()
                || var("CARGO_TARGET_TMPDIR").is_some()
                || var("UNSTABLE_RUSTDOC_TEST_PATH").is_some(),
            library: library_name(
                &manifest,
                &package,
                manifest_dir.join("src").join("lib.rs").is_file(),
            ),
        }
    }

    /// The library's name when the crate being compiled is another target of the
    /// package (where `crate::` would name that target, not the library).
    pub(crate) fn library_outside(&self) -> Option<String> {
        let library = self.library.as_ref()?;
        (self.not_library || &self.crate_name != library).then(|| library.clone())
    }
}

/// The package's library crate name: `[lib] name`, else the package name with `-` as
/// `_`; `None` when the package has no library (no `[lib]` and no `src/lib.rs`). Reads
/// only the `[lib]` table of `Cargo.toml`, line by line.
pub(crate) fn library_name(manifest: &str, package: &str, has_lib_rs: bool) -> Option<String> {
    let mut in_lib = false;
    let mut lib_table = false;
    let mut name = None;
    for raw in manifest.lines() {
        let line = strip_comment(raw).trim();
        if line.starts_with('[') {
            in_lib = line.trim_start_matches('[').trim_end_matches(']').trim() == "lib";
            lib_table |= in_lib;
            continue;
        }
        if in_lib
            && let Ok((key, value)) = split_key_value(line)
            && key == "name"
        {
            name = Some(value);
        }
    }
    if !lib_table && !has_lib_rs {
        return None;
    }
    Some(name.unwrap_or_else(|| package.replace('-', "_")))
}

/// `rust` with each path that starts at `crate::` started at `::library::` instead.
pub(crate) fn rewrite_crate(rust: &str, library: &str) -> String {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = String::with_capacity(rust.len() + library.len());
    let mut rest = rust;
    while let Some(at) = rest.find("crate") {
        let (before, after) = rest.split_at(at);
        let after_word = &after["crate".len()..];
        let starts_word = !before.ends_with(|c: char| ident(c) || c == ':');
        let is_root = starts_word && after_word.trim_start().starts_with("::");
        out.push_str(before);
        if is_root {
            out.push_str("::");
            out.push_str(library);
        } else {
            out.push_str("crate");
        }
        rest = after_word;
    }
    out.push_str(rest);
    out
}

/// The line without a `#` comment (a `#` inside quotes is kept).
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' && q == '"' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' => return &line[..i],
            None => {}
        }
    }
    line
}

fn split_key_value(line: &str) -> Result<(String, String), String> {
    let (key, rest) = if line.starts_with('"') || line.starts_with('\'') {
        let (k, rest) = string(line)?;
        let rest = rest.trim_start();
        let rest = rest.strip_prefix('=').ok_or("expected `=` after the key")?;
        (k, rest)
    } else {
        let (k, rest) = line.split_once('=').ok_or("expected `key = \"value\"`")?;
        let k = k.trim();
        if k.is_empty()
            || !k
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(format!("`{k}` is not a bare key; quote it: \"{k}\""));
        }
        (k.to_owned(), rest)
    };
    let (value, after) = string(rest.trim())?;
    if !after.trim().is_empty() {
        return Err(format!("unexpected `{}` after the value", after.trim()));
    }
    Ok((key, value))
}

/// A basic (`"..."`) or literal (`'...'`) string at the start of `s`; returns it and the rest.
fn string(s: &str) -> Result<(String, &str), String> {
    let mut chars = s.char_indices();
    let quote = match chars.next() {
        Some((_, q @ ('"' | '\''))) => q,
        _ => return Err("expected a quoted string".into()),
    };
    let mut out = String::new();
    let mut escaped = false;
    for (i, c) in chars {
        if escaped {
            match c {
                '"' | '\\' => out.push(c),
                'n' => out.push('\n'),
                't' => out.push('\t'),
                _ => return Err(format!("unsupported escape `\\{c}`")),
            }
            escaped = false;
        } else if c == '\\' && quote == '"' {
            escaped = true;
        } else if c == quote {
            return Ok((out, &s[i + c.len_utf8()..]));
        } else {
            out.push(c);
        }
    }
    Err("unterminated string".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_types_and_choices() {
        let c = parse(
            "# comment\n[types]\n\"public.mood\" = \"crate::Mood\" # trailing\n\
             address = 'crate::db::Address'\n\n[macros]\ndate-time = \"time\"\nnumeric = \"quarry\"\n",
        )
        .unwrap();
        assert_eq!(c.type_for("public.mood"), Some("crate::Mood"));
        assert_eq!(c.type_for("other.address"), Some("crate::db::Address"));
        assert_eq!(c.type_for("public.nothing"), None);
        assert_eq!(c.date_time, Some(DateTime::Time));
        assert_eq!(c.numeric, Some(NumericCrate::Quarry));
        let jiff = parse("[macros]\ndate-time = \"jiff\"\n").unwrap();
        assert_eq!(jiff.date_time, Some(DateTime::Jiff));
    }

    #[test]
    fn crate_paths_name_the_library_outside_it() {
        assert_eq!(
            rewrite_crate("crate::OrderStatus", "my_app"),
            "::my_app::OrderStatus"
        );
        assert_eq!(
            rewrite_crate("Vec<crate::a::B>", "my_app"),
            "Vec<::my_app::a::B>"
        );
        assert_eq!(
            rewrite_crate("my_crate::X", "my_app"),
            "my_crate::X",
            "only a path's first segment"
        );
        assert_eq!(rewrite_crate("crates::X", "my_app"), "crates::X");

        let lib = |crate_name: &str, not_library: bool| Target {
            crate_name: crate_name.into(),
            not_library,
            library: Some("my_app".into()),
        };
        assert_eq!(lib("my_app", false).library_outside(), None, "the library");
        assert_eq!(
            lib("it", false).library_outside().as_deref(),
            Some("my_app")
        );
        assert_eq!(
            lib("my_app", true).library_outside().as_deref(),
            Some("my_app"),
            "a binary named like the package"
        );
        let no_lib = Target {
            crate_name: "tool".into(),
            not_library: true,
            library: None,
        };
        assert_eq!(
            no_lib.library_outside(),
            None,
            "a package without a library"
        );

        assert_eq!(
            library_name("[package]\nname = \"my-app\"\n", "my-app", true).as_deref(),
            Some("my_app")
        );
        assert_eq!(
            library_name("[package]\nname = \"my-app\"\n", "my-app", false),
            None
        );
        assert_eq!(
            library_name(
                "[package]\nname = \"my-app\"\n[lib]\nname = \"core_lib\" # x\npath = \"lib.rs\"\n[dependencies]\nname = \"no\"\n",
                "my-app",
                false
            )
            .as_deref(),
            Some("core_lib")
        );
    }

    #[test]
    fn errors_name_the_line() {
        assert!(
            parse("[tipes]")
                .unwrap_err()
                .starts_with("line 1: unknown section")
        );
        assert!(
            parse("[types]\nmood = \"not a type!\"")
                .unwrap_err()
                .starts_with("line 2")
        );
        assert!(
            parse("[macros]\ndate-time = \"joda\"")
                .unwrap_err()
                .contains("joda")
        );
        assert!(
            parse("x = \"y\"")
                .unwrap_err()
                .contains("outside a section")
        );
        assert!(
            parse("[types]\n\"a\" = \"crate::A\" extra")
                .unwrap_err()
                .contains("extra")
        );
        assert!(parse("[types]\n\"a = \"b\"").is_err());
    }
}
