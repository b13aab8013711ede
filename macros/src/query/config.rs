//! `quarry.toml`: the crate's settings for the query macros.
//!
//! ```toml
//! [types]
//! # PostgreSQL type (schema-qualified, or bare for any schema) = Rust type
//! "public.mood" = "crate::Mood"
//! "address" = "crate::Address"
//!
//! [macros]
//! date-time = "time"     # "chrono", "time" or "quarry"
//! numeric = "bigdecimal" # "rust_decimal", "bigdecimal" or "quarry"
//! ```
//!
//! The file lives next to the crate's `Cargo.toml`. Only this small subset of
//! TOML is read (sections, `key = "string"`, comments); anything else is an
//! error that names the line, rather than something silently ignored.

use std::path::Path;

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

    /// Reads `quarry.toml` in `dir`, if there is one.
    pub(crate) fn load(dir: &Path) -> Result<Config, String> {
        let path = dir.join(FILE_NAME);
        let mut config = match std::fs::read_to_string(&path) {
            Ok(text) => parse(&text).map_err(|e| format!("{}: {e}", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Config::default(),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        config.features = Config::enabled_features();
        Ok(config)
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

    /// chrono, then time, then Quarry's own types, unless configured.
    pub(crate) fn date_time(&self) -> DateTime {
        self.date_time.unwrap_or(if self.has_feature("chrono") {
            DateTime::Chrono
        } else if self.has_feature("time") {
            DateTime::Time
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
                ("date-time", "quarry") => config.date_time = Some(DateTime::Quarry),
                ("numeric", "rust_decimal") => config.numeric = Some(NumericCrate::RustDecimal),
                ("numeric", "bigdecimal") => config.numeric = Some(NumericCrate::BigDecimal),
                ("numeric", "quarry") => config.numeric = Some(NumericCrate::Quarry),
                ("date-time", v) => {
                    return Err(format!(
                        "line {n}: date-time = \"{v}\": expected \"chrono\", \"time\" or \"quarry\""
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
