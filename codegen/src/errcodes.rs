//! `errcodes.txt` -> `driver/src/failure/sqlstate.rs`.
//!
//! The file's format (documented at its top): `Section: Class XX - description`
//! lines open a class; code lines are `sqlstate  E/W/S  ERRCODE_MACRO  [condition_name]`;
//! blank lines and `#` lines are comments. A code can appear twice when
//! PostgreSQL defines an alias macro for it; the alias line has no condition
//! name and may be listed under another class.

use std::collections::HashMap;

use crate::{Error, POSTGRES_VERSION, camel_case, emit, emit_arm};

/// The class predicates on `SqlState`: method name and class.
const PREDICATES: &[(&str, &str)] = &[
    ("is_success", "00"),
    ("is_warning", "01"),
    ("is_no_data", "02"),
    ("is_connection_exception", "08"),
    ("is_data_exception", "22"),
    ("is_integrity_constraint_violation", "23"),
    ("is_invalid_transaction_state", "25"),
    ("is_transaction_rollback", "40"),
    ("is_syntax_error_or_access_rule_violation", "42"),
    ("is_insufficient_resources", "53"),
    ("is_operator_intervention", "57"),
];

#[derive(Debug)]
pub(crate) struct Table {
    classes: Vec<Class>,
    codes: Vec<Code>,
}

#[derive(Debug)]
struct Class {
    class: String,
    name: String,
}

#[derive(Debug)]
struct Code {
    code: String,
    line: usize,
    macro_name: String,
    condition: Option<String>,
    /// Filled in after parsing, once shared condition names are known.
    variant: String,
    /// The other codes with the same condition name, when this variant had to
    /// be named after its macro instead.
    shares_name_with: Vec<String>,
}

pub(crate) fn parse(text: &str) -> Result<Table, Error> {
    let mut classes: Vec<Class> = Vec::new();
    let mut codes: Vec<Code> = Vec::new();
    let mut index_of: HashMap<String, usize> = HashMap::new();

    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix("Section:") {
            let class = parse_section(rest.trim()).map_err(|m| Error::at(line, m))?;
            if classes.iter().any(|c| c.class == class.class) {
                return Err(Error::at(
                    line,
                    format!("class {} has a second Section line", class.class),
                ));
            }
            classes.push(class);
            continue;
        }

        let fields: Vec<&str> = trimmed.split_whitespace().collect();
        let (code, severity, macro_name, condition) = match fields[..] {
            [code, severity, macro_name] => (code, severity, macro_name, None),
            [code, severity, macro_name, condition] => {
                (code, severity, macro_name, Some(condition))
            }
            _ => {
                return Err(Error::at(
                    line,
                    format!(
                        "expected `sqlstate E/W/S ERRCODE_NAME [condition_name]`, found {} fields",
                        fields.len()
                    ),
                ));
            }
        };
        if !is_sqlstate(code) {
            return Err(Error::at(
                line,
                format!("`{code}` is not a SQLSTATE (five digits or capital letters)"),
            ));
        }
        if !matches!(severity, "E" | "W" | "S") {
            return Err(Error::at(
                line,
                format!("`{severity}` is not E, W or S (error, warning, success)"),
            ));
        }
        let macro_ok = macro_name.strip_prefix("ERRCODE_").is_some_and(|rest| {
            !rest.is_empty()
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        });
        if !macro_ok {
            return Err(Error::at(
                line,
                format!("`{macro_name}` is not an ERRCODE_ macro name"),
            ));
        }
        if let Some(condition) = condition {
            let ok = condition.starts_with(|c: char| c.is_ascii_lowercase())
                && condition
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !ok {
                return Err(Error::at(
                    line,
                    format!("`{condition}` is not a lowercase condition name"),
                ));
            }
        }
        let Some(section) = classes.last() else {
            return Err(Error::at(
                line,
                format!("code {code} comes before the first `Section:` line"),
            ));
        };
        // Alias lines (no condition name) may sit elsewhere: PostgreSQL lists
        // `34000 ERRCODE_UNDEFINED_CURSOR` among the class 42 "undefined" codes.
        if condition.is_some() && !code.starts_with(section.class.as_str()) {
            return Err(Error::at(
                line,
                format!("code {code} is listed under Class {}", section.class),
            ));
        }

        let entry = Code {
            code: code.to_owned(),
            line,
            macro_name: macro_name.to_owned(),
            condition: condition.map(str::to_owned),
            variant: String::new(),
            shares_name_with: Vec::new(),
        };
        match index_of.get(code) {
            None => {
                index_of.insert(code.to_owned(), codes.len());
                codes.push(entry);
            }
            // An alias macro for a code already listed: the line with the condition name wins.
            Some(&existing) => match (&codes[existing].condition, &entry.condition) {
                (Some(_), None) => {}
                (None, Some(_)) => codes[existing] = entry,
                (Some(_), Some(_)) | (None, None) => {
                    return Err(Error::at(
                        line,
                        format!(
                            "code {code} is listed again (first on line {}); only one line may carry \
                             the condition name",
                            codes[existing].line
                        ),
                    ));
                }
            },
        }
    }

    if codes.is_empty() {
        return Err(Error::whole("no error codes found"));
    }
    name_variants(&mut codes)?;
    for (method, class) in PREDICATES {
        if !classes.iter().any(|c| c.class == *class) {
            return Err(Error::whole(format!(
                "SqlState::{method} needs class {class}, which the input does not define"
            )));
        }
    }
    Ok(Table { classes, codes })
}

/// `Class 23 - Integrity Constraint Violation`
fn parse_section(rest: &str) -> Result<Class, String> {
    let expected =
        || format!("expected `Section: Class XX - description`, found `Section: {rest}`");
    let body = rest.strip_prefix("Class ").ok_or_else(expected)?;
    let (class, name) = body.split_once(" - ").ok_or_else(expected)?;
    let class_ok = class.len() == 2
        && class
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
    if !class_ok || name.trim().is_empty() {
        return Err(expected());
    }
    Ok(Class {
        class: class.to_owned(),
        name: name.trim().to_owned(),
    })
}

fn is_sqlstate(code: &str) -> bool {
    code.len() == 5
        && code
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
}

/// Variant names: the condition name in CamelCase. When several codes share a
/// condition name, the code whose macro is `ERRCODE_<NAME>` keeps it and the
/// others are named after their macro (`ERRCODE_WARNING_STRING_DATA_RIGHT_TRUNCATION`
/// -> `WarningStringDataRightTruncation`).
fn name_variants(codes: &mut [Code]) -> Result<(), Error> {
    let mut by_condition: HashMap<String, Vec<String>> = HashMap::new();
    for code in codes.iter() {
        if let Some(condition) = &code.condition {
            by_condition
                .entry(condition.clone())
                .or_default()
                .push(code.code.clone());
        }
    }
    let mut taken: HashMap<String, usize> = HashMap::new();
    for code in codes.iter_mut() {
        let macro_words = code.macro_name.trim_start_matches("ERRCODE_");
        code.variant = match &code.condition {
            Some(condition) => {
                let sharing = &by_condition[condition];
                let own_macro = macro_words.eq_ignore_ascii_case(condition);
                if sharing.len() == 1 || own_macro {
                    camel_case(condition)
                } else {
                    code.shares_name_with = sharing
                        .iter()
                        .filter(|c| **c != code.code)
                        .cloned()
                        .collect();
                    camel_case(macro_words)
                }
            }
            None => camel_case(macro_words),
        };
        if code.variant == "Other" {
            return Err(Error::at(
                code.line,
                format!(
                    "code {} would be named `Other`, which is the variant for unknown codes",
                    code.code
                ),
            ));
        }
        if let Some(first) = taken.insert(code.variant.clone(), code.line) {
            return Err(Error::at(
                code.line,
                format!(
                    "code {} would be named `{}`, like the code on line {first}",
                    code.code, code.variant
                ),
            ));
        }
    }
    Ok(())
}

pub(crate) fn render(table: &Table) -> Result<String, Error> {
    let mut out = String::with_capacity(64 * 1024);
    let variant_of = |code: &str| {
        table
            .codes
            .iter()
            .find(|c| c.code == code)
            .map(|c| c.variant.as_str())
            .ok_or_else(|| Error::whole(format!("code {code} vanished while rendering")))
    };

    emit!(
        out,
        "// @generated by quarry-codegen from codegen/data/errcodes.txt; DO NOT EDIT."
    );
    emit!(out);
    emit!(
        out,
        "//! SQLSTATE codes: the table in PostgreSQL {POSTGRES_VERSION}'s `errcodes.txt`."
    );
    emit!(out, "//!");
    emit!(
        out,
        "//! Generated: change `codegen/` and run `cargo run -p quarry-codegen`."
    );
    emit!(out);
    emit!(out, "use std::fmt;");
    emit!(out);

    // The enum.
    emit!(
        out,
        "/// A SQLSTATE: the five-character code of an error or notice from the server."
    );
    emit!(out, "///");
    emit!(
        out,
        "/// There is one variant for each code PostgreSQL {POSTGRES_VERSION} defines, named after its"
    );
    emit!(
        out,
        "/// condition name (the name PL/pgSQL and the PostgreSQL manual use): `unique_violation`"
    );
    emit!(
        out,
        "/// is [`SqlState::UniqueViolation`]. A code not in the table (from a newer server or an"
    );
    emit!(
        out,
        "/// extension) is [`SqlState::Other`]. Make values with [`SqlState::from_code`], which"
    );
    emit!(
        out,
        "/// never returns `Other` for a known code, and use the `is_*` class predicates when the"
    );
    emit!(out, "/// exact code does not matter.");
    let shared: Vec<&Code> = table
        .codes
        .iter()
        .filter(|c| {
            c.condition.is_some()
                && table
                    .codes
                    .iter()
                    .any(|o| o.code != c.code && o.condition == c.condition)
        })
        .collect();
    if !shared.is_empty() {
        emit!(out, "///");
        emit!(
            out,
            "/// PostgreSQL gives some condition names to two codes. The code whose `ERRCODE_` macro"
        );
        emit!(
            out,
            "/// matches the condition name keeps it; the other is named after its macro:"
        );
        emit!(out, "///");
        emit!(out, "/// | code | condition name | variant |");
        emit!(out, "/// |------|----------------|---------|");
        let mut rows: Vec<&Code> = shared;
        rows.sort_by(|a, b| (&a.condition, &a.code).cmp(&(&b.condition, &b.code)));
        for c in rows {
            let condition = c.condition.as_deref().unwrap_or_default();
            emit!(
                out,
                "/// | `{}` | `{condition}` | [`SqlState::{}`] |",
                c.code,
                c.variant
            );
        }
    }
    emit!(out, "#[derive(Clone, Debug, PartialEq, Eq, Hash)]");
    emit!(out, "#[non_exhaustive]");
    emit!(out, "pub enum SqlState {{");
    for c in &table.codes {
        match &c.condition {
            Some(condition) => emit!(out, "    /// `{}` `{condition}`", c.code),
            None => emit!(
                out,
                "    /// `{}` (no condition name; `{}` in PostgreSQL's source)",
                c.code,
                c.macro_name
            ),
        }
        if !c.shares_name_with.is_empty() {
            let others: Vec<String> = c
                .shares_name_with
                .iter()
                .map(|o| variant_of(o).map(|v| format!("`{o}` ([`SqlState::{v}`])")))
                .collect::<Result<_, _>>()?;
            let class = &c.code[..2];
            let class_name = table
                .classes
                .iter()
                .find(|k| k.class == class)
                .map_or("", |k| k.name.as_str());
            emit!(out, "    ///");
            emit!(
                out,
                "    /// Named after `{}` (class `{class}`, {class_name}): {} has the same condition name.",
                c.macro_name,
                others.join(", ")
            );
        }
        emit!(out, "    {},", c.variant);
    }
    emit!(
        out,
        "    /// A code not in the table above, kept as the server sent it."
    );
    emit!(out, "    Other(Box<str>),");
    emit!(out, "}}");
    emit!(out);

    emit!(out, "impl SqlState {{");

    emit!(
        out,
        "    /// The value for `code`: its variant when the code is in the table, else [`SqlState::Other`]."
    );
    emit!(out, "    pub fn from_code(code: &str) -> SqlState {{");
    emit!(
        out,
        "        let Ok(bytes) = <[u8; 5]>::try_from(code.as_bytes()) else {{"
    );
    emit!(out, "            return SqlState::Other(code.into());");
    emit!(out, "        }};");
    emit!(out, "        match &bytes {{");
    for c in &table.codes {
        emit_arm(
            &mut out,
            12,
            &format!("b\"{}\"", c.code),
            &format!("SqlState::{}", c.variant),
        );
    }
    emit!(out, "            _ => SqlState::Other(code.into()),");
    emit!(out, "        }}");
    emit!(out, "    }}");
    emit!(out);

    emit!(
        out,
        "    /// The five-character code, as the server sends it."
    );
    emit!(out, "    pub fn code(&self) -> &str {{");
    emit!(out, "        match self {{");
    for c in &table.codes {
        emit_arm(
            &mut out,
            12,
            &format!("SqlState::{}", c.variant),
            &format!("\"{}\"", c.code),
        );
    }
    emit!(out, "            SqlState::Other(code) => code,");
    emit!(out, "        }}");
    emit!(out, "    }}");
    emit!(out);

    emit!(
        out,
        "    /// The class: the first two characters of the code (`\"23\"` for `23505`)."
    );
    emit!(
        out,
        "    /// For a malformed code shorter than that, the whole code."
    );
    emit!(out, "    pub fn class(&self) -> &str {{");
    emit!(out, "        let code = self.code();");
    emit!(out, "        code.get(..2).unwrap_or(code)");
    emit!(out, "    }}");
    emit!(out);

    emit!(
        out,
        "    /// The name `errcodes.txt` gives the code's class: `Some(\"Integrity Constraint Violation\")`"
    );
    emit!(
        out,
        "    /// for class `23`. Known for every code in a known class, even one not in the table."
    );
    emit!(
        out,
        "    pub fn class_name(&self) -> Option<&'static str> {{"
    );
    emit!(out, "        Some(match self.class() {{");
    for class in &table.classes {
        emit_arm(
            &mut out,
            12,
            &format!("\"{}\"", class.class),
            &format!("{:?}", class.name),
        );
    }
    emit!(out, "            _ => return None,");
    emit!(out, "        }})");
    emit!(out, "    }}");
    emit!(out);

    emit!(
        out,
        "    /// The condition name (`\"unique_violation\"`), as PL/pgSQL and the PostgreSQL manual"
    );
    emit!(out, "    /// spell it. `None` for [`SqlState::Other`].");
    emit!(
        out,
        "    pub fn condition_name(&self) -> Option<&'static str> {{"
    );
    emit!(out, "        Some(match self {{");
    for c in &table.codes {
        match &c.condition {
            Some(condition) => emit_arm(
                &mut out,
                12,
                &format!("SqlState::{}", c.variant),
                &format!("\"{condition}\""),
            ),
            None => emit!(out, "            SqlState::{} => return None,", c.variant),
        }
    }
    emit!(out, "            SqlState::Other(_) => return None,");
    emit!(out, "        }})");
    emit!(out, "    }}");

    for (method, class) in PREDICATES {
        let name = table
            .classes
            .iter()
            .find(|c| c.class == *class)
            .map(|c| c.name.as_str())
            .ok_or_else(|| Error::whole(format!("class {class} vanished while rendering")))?;
        emit!(out);
        emit!(
            out,
            "    /// Whether the code is in class `{class}`, {name}."
        );
        emit!(out, "    pub fn {method}(&self) -> bool {{");
        emit!(out, "        self.class() == \"{class}\"");
        emit!(out, "    }}");
    }
    emit!(out, "}}");
    emit!(out);

    emit!(out, "impl fmt::Display for SqlState {{");
    emit!(
        out,
        "    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {{"
    );
    emit!(out, "        f.write_str(self.code())");
    emit!(out, "    }}");
    emit!(out, "}}");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SNIPPET: &str = "\
# comment line
Section: Class 01 - Warning

01000    W    ERRCODE_WARNING                                                warning
01004    W    ERRCODE_WARNING_STRING_DATA_RIGHT_TRUNCATION                   string_data_right_truncation

Section: Class 22 - Data Exception
22001    E    ERRCODE_STRING_DATA_RIGHT_TRUNCATION                           string_data_right_truncation
2202E    E    ERRCODE_ARRAY_SUBSCRIPT_ERROR                                  array_subscript_error
2202E    E    ERRCODE_ARRAY_ELEMENT_ERROR

Section: Class 23 - Integrity Constraint Violation
23505    E    ERRCODE_UNIQUE_VIOLATION                                       unique_violation
";

    /// The snippet plus the classes the predicates need.
    fn snippet_with_all_classes() -> String {
        let mut text = SNIPPET.to_owned();
        for (_, class) in PREDICATES {
            if !SNIPPET.contains(&format!("Class {class} ")) {
                text.push_str(&format!(
                    "\nSection: Class {class} - Class {class}\n{class}000    E    ERRCODE_C{class}    c{}\n",
                    class.to_ascii_lowercase()
                ));
            }
        }
        text
    }

    #[test]
    fn snippet_renders_variants_lookups_and_class_names() {
        let rs = crate::sqlstate_rs(&snippet_with_all_classes()).unwrap();
        assert!(rs.starts_with(
            "// @generated by quarry-codegen from codegen/data/errcodes.txt; DO NOT EDIT.\n"
        ));
        for fragment in [
            "    /// `23505` `unique_violation`\n    UniqueViolation,\n",
            "            b\"23505\" => SqlState::UniqueViolation,\n",
            "            SqlState::UniqueViolation => \"23505\",\n",
            "            SqlState::UniqueViolation => \"unique_violation\",\n",
            "            \"23\" => \"Integrity Constraint Violation\",\n",
            // The shared name: 22001 keeps it, 01004 is named after its macro.
            "    /// `22001` `string_data_right_truncation`\n    StringDataRightTruncation,\n",
            "    /// Named after `ERRCODE_WARNING_STRING_DATA_RIGHT_TRUNCATION` (class `01`, Warning): `22001` \
             ([`SqlState::StringDataRightTruncation`]) has the same condition name.\n    \
             WarningStringDataRightTruncation,\n",
            // The alias line for 2202E adds no second variant.
            "            b\"2202E\" => SqlState::ArraySubscriptError,\n",
            "    /// Whether the code is in class `23`, Integrity Constraint Violation.\n    \
             pub fn is_integrity_constraint_violation(&self) -> bool {\n        \
             self.class() == \"23\"\n",
        ] {
            assert!(rs.contains(fragment), "missing:\n{fragment}\nin:\n{rs}");
        }
        assert_eq!(rs.matches("b\"2202E\"").count(), 1);
        assert!(!rs.contains("ArrayElementError"));
    }

    #[test]
    fn malformed_lines_name_the_line() {
        let err =
            parse("Section: Class 23 - X\n23505 E ERRCODE_UNIQUE_VIOLATION a b\n").unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("found 5 fields"), "{err}");

        let err = parse("Section: Class 23 - X\n2350 E ERRCODE_X x\n").unwrap_err();
        assert!(err.message.contains("not a SQLSTATE"), "{err}");

        let err = parse("Section: Class 23 - X\n23505 Q ERRCODE_X x\n").unwrap_err();
        assert!(err.message.contains("not E, W or S"), "{err}");

        let err = parse("Section: Class 23 - X\n22001 E ERRCODE_X x\n").unwrap_err();
        assert!(err.message.contains("listed under Class 23"), "{err}");

        let err = parse("23505 E ERRCODE_X x\n").unwrap_err();
        assert!(err.message.contains("before the first `Section:`"), "{err}");

        let err = parse("Section: Klasse 23\n").unwrap_err();
        assert!(err.message.contains("expected `Section: Class XX"), "{err}");

        let err = parse("# nothing\n").unwrap_err();
        assert_eq!(err.to_string(), "input: no error codes found");
    }

    #[test]
    fn a_code_with_two_condition_names_is_refused() {
        let err =
            parse("Section: Class 23 - X\n23505 E ERRCODE_A a\n23505 E ERRCODE_B b\n").unwrap_err();
        assert_eq!(err.line, Some(3));
        assert!(err.message.contains("first on line 2"), "{err}");
    }

    #[test]
    fn colliding_variant_names_are_refused() {
        // Two condition names that CamelCase to the same identifier.
        let text = format!(
            "{}\nSection: Class 99 - X\n99001 E ERRCODE_X_Y x_y\n99002 E ERRCODE_XY xy\n",
            snippet_with_all_classes()
        );
        let err = parse(&text).unwrap_err();
        assert!(err.message.contains("99002 would be named `Xy`"), "{err}");
    }

    #[test]
    fn missing_predicate_class_is_refused() {
        let err = parse(SNIPPET).unwrap_err();
        assert!(err.message.contains("needs class"), "{err}");
    }
}
