//! Generates Quarry's catalogue files from PostgreSQL's own data.
//!
//! | input (checked in)            | output                          |
//! |-------------------------------|---------------------------------|
//! | `codegen/data/errcodes.txt`   | `driver/src/failure/sqlstate.rs`  |
//! | `codegen/data/pg_type.tsv`    | `driver/src/types/oid.rs`       |
//!
//! Both generators are pure functions from the input text to the output text,
//! so `tests/drift.rs` can regenerate in memory and compare with the files in
//! the driver. The output is already in `rustfmt` form (no formatter is run),
//! which keeps the result independent of the installed toolchain.
//!
//! `cargo run -p quarry-codegen` rewrites the driver files. See
//! `codegen/README.md` for where the data comes from and how to refresh it.

use std::fmt;
use std::path::{Path, PathBuf};

mod errcodes;
mod pg_type;

/// The PostgreSQL release the files in `codegen/data/` were taken from.
/// Update it together with the data (see `codegen/README.md`).
pub const POSTGRES_VERSION: &str = "18";

/// Renders `driver/src/failure/sqlstate.rs` from the text of PostgreSQL's `errcodes.txt`.
///
/// # Errors
/// When the input is not in `errcodes.txt` form, or when two codes would get
/// the same variant name; the error names the line.
pub fn sqlstate_rs(errcodes: &str) -> Result<String, Error> {
    let table = errcodes::parse(errcodes)?;
    errcodes::render(&table)
}

/// Renders `driver/src/types/oid.rs` from `pg_type.tsv` (made by `codegen/data/pg_type.sql`).
///
/// # Errors
/// When the input is not in the expected form, a link (array, element,
/// range) points outside the table, or two types would get the same
/// constant name; the error names the line.
pub fn oid_rs(pg_type_tsv: &str) -> Result<String, Error> {
    let table = pg_type::parse(pg_type_tsv)?;
    pg_type::render(&table)
}

/// One generated file: where its input lives, where it goes, and how it is made.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    /// The input, relative to the workspace root.
    pub input: &'static str,
    /// The generated file, relative to the workspace root.
    pub output: &'static str,
    /// The generator.
    pub generate: fn(&str) -> Result<String, Error>,
}

/// Every file this crate generates.
pub const TARGETS: &[Target] = &[
    Target {
        input: "codegen/data/errcodes.txt",
        output: "driver/src/failure/sqlstate.rs",
        generate: sqlstate_rs,
    },
    Target {
        input: "codegen/data/pg_type.tsv",
        output: "driver/src/types/oid.rs",
        generate: oid_rs,
    },
];

impl Target {
    /// Reads the input under `root` and returns the generated text.
    ///
    /// # Errors
    /// When the input cannot be read or does not parse.
    pub fn render(&self, root: &Path) -> Result<String, Error> {
        let path = root.join(self.input);
        let text = std::fs::read_to_string(&path).map_err(|e| Error {
            file: self.input,
            line: None,
            message: format!("cannot read {}: {e}", path.display()),
        })?;
        (self.generate)(&text).map_err(|e| Error {
            file: self.input,
            ..e
        })
    }
}

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// Input that the generator cannot turn into code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The input file, when known.
    pub file: &'static str,
    /// The 1-based line of the input, when the problem is on one line.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl Error {
    fn at(line: usize, message: impl Into<String>) -> Error {
        Error {
            file: "",
            line: Some(line),
            message: message.into(),
        }
    }

    fn whole(message: impl Into<String>) -> Error {
        Error {
            file: "",
            line: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = if self.file.is_empty() {
            "input"
        } else {
            self.file
        };
        match self.line {
            Some(line) => write!(f, "{file}:{line}: {}", self.message),
            None => write!(f, "{file}: {}", self.message),
        }
    }
}

impl std::error::Error for Error {}

/// Appends one line to a `String` (writing to a `String` cannot fail).
macro_rules! emit {
    ($out:expr) => {
        $out.push('\n')
    };
    ($out:expr, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        writeln!($out, $($arg)*).expect("fmt::Write for String never fails");
    }};
}
pub(crate) use emit;

/// Appends a match arm laid out the way `rustfmt` lays it out: on one line
/// when it fits in 100 columns, else with the body in a block on its own line.
pub(crate) fn emit_arm(out: &mut String, indent: usize, pattern: &str, body: &str) {
    let pad = " ".repeat(indent);
    if indent + pattern.len() + " => ".len() + body.len() + ",".len() <= 100 {
        emit!(out, "{pad}{pattern} => {body},");
    } else {
        emit!(out, "{pad}{pattern} => {{");
        emit!(out, "{pad}    {body}");
        emit!(out, "{pad}}}");
    }
}

/// `unique_violation` -> `UniqueViolation`. Runs of one-letter words form one
/// acronym word, the way Rust names acronyms: `s_r_e_modifying` -> `SreModifying`.
pub(crate) fn camel_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut acronym = String::new();
    for word in snake.split('_').filter(|w| !w.is_empty()) {
        if word.len() == 1 {
            acronym.push_str(word);
            continue;
        }
        push_word(&mut out, &acronym);
        acronym.clear();
        push_word(&mut out, word);
    }
    push_word(&mut out, &acronym);
    out
}

fn push_word(out: &mut String, word: &str) {
    let mut chars = word.chars();
    if let Some(first) = chars.next() {
        out.push(first.to_ascii_uppercase());
        out.extend(chars.map(|c| c.to_ascii_lowercase()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_words_and_acronyms() {
        assert_eq!(camel_case("unique_violation"), "UniqueViolation");
        assert_eq!(camel_case("S_R_E_MODIFYING_SQL"), "SreModifyingSql");
        assert_eq!(camel_case("E_R_I_E_NULL_VALUE"), "ErieNullValue");
        assert_eq!(camel_case("io_error"), "IoError");
        assert_eq!(camel_case("WARNING_X"), "WarningX");
    }

    #[test]
    fn long_match_arms_move_into_a_block() {
        // rustfmt keeps an arm of exactly 100 columns on one line and breaks one of 101.
        let (fits, too_long) = ("B".repeat(88), "C".repeat(89));
        let mut out = String::new();
        emit_arm(&mut out, 4, &fits, "\"b\"");
        emit_arm(&mut out, 4, &too_long, "\"c\"");
        let expected =
            format!("    {fits} => \"b\",\n    {too_long} => {{\n        \"c\"\n    }}\n");
        assert_eq!(out.lines().next().map(str::len), Some(100));
        assert_eq!(out, expected);
    }

    #[test]
    fn error_names_file_and_line() {
        let err = Error {
            file: "codegen/data/errcodes.txt",
            ..Error::at(12, "bad")
        };
        assert_eq!(err.to_string(), "codegen/data/errcodes.txt:12: bad");
        assert_eq!(Error::whole("empty").to_string(), "input: empty");
    }
}
