//! The generated driver API, checked against the checked-in data.
//!
//! The data is read here with a few lines of independent parsing, so a
//! mistake in the generator's parser is not repeated by the check.

use std::collections::{HashMap, HashSet};

use quarry_driver::SqlState;
use quarry_driver::types::{BUILTIN_TYPES, Oid};

const ERRCODES: &str = include_str!("../data/errcodes.txt");
const PG_TYPE: &str = include_str!("../data/pg_type.tsv");

struct ErrCode<'a> {
    code: &'a str,
    condition: &'a str,
    class_name: &'a str,
}

/// The lines of errcodes.txt that carry a condition name, and the alias lines' codes.
fn errcodes() -> (Vec<ErrCode<'static>>, Vec<&'static str>) {
    let mut named = Vec::new();
    let mut aliases = Vec::new();
    let mut class_names = HashMap::new();
    for line in ERRCODES.lines() {
        if let Some(section) = line.strip_prefix("Section: Class ") {
            let (class, name) = section.split_once(" - ").unwrap();
            class_names.insert(class, name);
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        match line.split_whitespace().collect::<Vec<_>>()[..] {
            [code, _, _, condition] => named.push(ErrCode {
                code,
                condition,
                class_name: class_names[&code[..2]],
            }),
            [code, _, _] => aliases.push(code),
            _ => panic!("unexpected line in errcodes.txt: {line}"),
        }
    }
    (named, aliases)
}

#[test]
fn every_code_in_errcodes_txt_has_its_own_variant() {
    let (named, aliases) = errcodes();
    assert!(named.len() > 250, "only {} codes parsed", named.len());
    let mut variants = HashSet::new();
    for e in &named {
        let state = SqlState::from_code(e.code);
        assert!(!matches!(state, SqlState::Other(_)), "{} is Other", e.code);
        assert_eq!(state.code(), e.code);
        assert_eq!(state.to_string(), e.code);
        assert_eq!(state.condition_name(), Some(e.condition), "{}", e.code);
        assert_eq!(state.class(), &e.code[..2]);
        assert_eq!(state.class_name(), Some(e.class_name), "{}", e.code);
        assert!(variants.insert(state), "{} shares a variant", e.code);
    }
    // Alias lines name codes that already have a variant.
    for code in aliases {
        assert!(
            named.iter().any(|e| e.code == code),
            "alias {code} has no named line"
        );
    }
}

#[test]
fn the_names_the_driver_relies_on_have_the_right_codes() {
    for (state, code, condition) in [
        (SqlState::UniqueViolation, "23505", "unique_violation"),
        (
            SqlState::ForeignKeyViolation,
            "23503",
            "foreign_key_violation",
        ),
        (SqlState::NotNullViolation, "23502", "not_null_violation"),
        (SqlState::CheckViolation, "23514", "check_violation"),
        (
            SqlState::SerializationFailure,
            "40001",
            "serialization_failure",
        ),
        (SqlState::DeadlockDetected, "40P01", "deadlock_detected"),
        (SqlState::QueryCanceled, "57014", "query_canceled"),
        (
            SqlState::StringDataRightTruncation,
            "22001",
            "string_data_right_truncation",
        ),
        (
            SqlState::WarningStringDataRightTruncation,
            "01004",
            "string_data_right_truncation",
        ),
    ] {
        assert_eq!(state.code(), code);
        assert_eq!(state.condition_name(), Some(condition));
        assert_eq!(SqlState::from_code(code), state);
    }
}

#[test]
fn unknown_and_malformed_codes_are_other_and_never_panic() {
    let unknown = SqlState::from_code("23999");
    assert_eq!(unknown, SqlState::Other("23999".into()));
    assert_eq!(unknown.code(), "23999");
    assert_eq!(unknown.condition_name(), None);
    assert_eq!(unknown.class_name(), Some("Integrity Constraint Violation"));
    assert!(unknown.is_integrity_constraint_violation());

    let foreign = SqlState::from_code("ZZ001");
    assert_eq!(foreign.class(), "ZZ");
    assert_eq!(foreign.class_name(), None);

    for bad in [
        "",
        "2",
        "2350",
        "235055",
        "é",
        "2é000",
        "\u{0}\u{0}\u{0}\u{0}\u{0}",
    ] {
        let state = SqlState::from_code(bad);
        assert_eq!(state, SqlState::Other(bad.into()));
        assert_eq!(state.code(), bad);
        assert!(bad.starts_with(state.class()));
        assert_eq!(state.condition_name(), None);
        assert!(!state.is_success());
    }
}

#[test]
fn class_predicates_match_their_class_only() {
    type Predicate = fn(&SqlState) -> bool;
    let predicates: [(Predicate, &str); 11] = [
        (SqlState::is_success, "00000"),
        (SqlState::is_warning, "01000"),
        (SqlState::is_no_data, "02000"),
        (SqlState::is_connection_exception, "08006"),
        (SqlState::is_data_exception, "22012"),
        (SqlState::is_integrity_constraint_violation, "23505"),
        (SqlState::is_invalid_transaction_state, "25P02"),
        (SqlState::is_transaction_rollback, "40P01"),
        (SqlState::is_syntax_error_or_access_rule_violation, "42601"),
        (SqlState::is_insufficient_resources, "53100"),
        (SqlState::is_operator_intervention, "57014"),
    ];
    for (i, (predicate, code)) in predicates.iter().enumerate() {
        for (j, (_, other)) in predicates.iter().enumerate() {
            assert_eq!(
                predicate(&SqlState::from_code(other)),
                i == j,
                "predicate #{i} on {other} (its own code is {code})"
            );
        }
    }
}

struct Row<'a> {
    oid: u32,
    typname: &'a str,
    typarray: u32,
    typelem: u32,
    category: &'a str,
    typlen: i16,
    rngsubtype: u32,
    rngmultitypid: u32,
}

fn pg_type() -> Vec<Row<'static>> {
    let mut lines = PG_TYPE.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (oid, typname, typarray, typelem, category, typlen, rngsubtype, rngmultitypid) = (
        col("oid"),
        col("typname"),
        col("typarray"),
        col("typelem"),
        col("typcategory"),
        col("typlen"),
        col("rngsubtype"),
        col("rngmultitypid"),
    );
    lines
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            Row {
                oid: f[oid].parse().unwrap(),
                typname: f[typname],
                typarray: f[typarray].parse().unwrap(),
                typelem: f[typelem].parse().unwrap(),
                category: f[category],
                typlen: f[typlen].parse().unwrap(),
                rngsubtype: f[rngsubtype].parse().unwrap(),
                rngmultitypid: f[rngmultitypid].parse().unwrap(),
            }
        })
        .collect()
}

fn nonzero(oid: u32) -> Option<Oid> {
    (oid != 0).then_some(Oid(oid))
}

#[test]
fn every_row_of_pg_type_tsv_is_a_builtin_type() {
    let rows = pg_type();
    assert!(rows.len() > 150, "only {} types parsed", rows.len());
    assert_eq!(BUILTIN_TYPES.len(), rows.len());
    for row in &rows {
        let oid = Oid(row.oid);
        let t = oid
            .builtin()
            .unwrap_or_else(|| panic!("{} missing", row.typname));
        assert_eq!(t.oid, oid);
        assert_eq!(t.name, row.typname);
        assert_eq!(t.category.to_string(), row.category);
        assert_eq!(t.len, row.typlen);
        assert_eq!(oid.builtin_name(), Some(row.typname));
        assert_eq!(Oid::from_builtin_name(row.typname), Some(oid));
        assert_eq!(oid.array_type(), nonzero(row.typarray), "{}", row.typname);
        assert_eq!(oid.range_subtype(), nonzero(row.rngsubtype));
        assert_eq!(oid.multirange_of_range(), nonzero(row.rngmultitypid));
        if let Some(multirange) = oid.multirange_of_range() {
            assert_eq!(multirange.range_of_multirange(), Some(oid));
        }
        // `_x` types are arrays of their typelem, and the element points back.
        if row.typname.starts_with('_') {
            assert!(oid.is_array(), "{}", row.typname);
            assert_eq!(oid.element_type(), nonzero(row.typelem));
            assert_eq!(Oid(row.typelem).array_type(), Some(oid));
        }
    }
}

#[test]
fn arrays_are_true_arrays_only() {
    // `name` and `point` have a typelem (they can be subscripted) but are not arrays.
    for oid in [Oid::NAME, Oid::POINT, Oid::BOX, Oid::INT4] {
        assert!(!oid.is_array(), "{oid}");
        assert_eq!(oid.element_type(), None);
    }
    // int2vector and oidvector are arrays on the wire.
    assert_eq!(Oid::INT2VECTOR.element_type(), Some(Oid::INT2));
    assert_eq!(Oid::OIDVECTOR.element_type(), Some(Oid::OID));
    // ... but int2's array type is int2[], not int2vector.
    assert_eq!(Oid::INT2.array_type(), Some(Oid::INT2_ARRAY));
}

#[test]
fn constants_other_code_already_uses_keep_their_meaning() {
    for (oid, value, name) in [
        (Oid::UNSPECIFIED, 0, None),
        (Oid::BOOL, 16, Some("bool")),
        (Oid::BYTEA, 17, Some("bytea")),
        (Oid::CHAR, 18, Some("char")),
        (Oid::INT8, 20, Some("int8")),
        (Oid::INT2, 21, Some("int2")),
        (Oid::INT4, 23, Some("int4")),
        (Oid::TEXT, 25, Some("text")),
        (Oid::OID, 26, Some("oid")),
        (Oid::FLOAT4, 700, Some("float4")),
        (Oid::FLOAT8, 701, Some("float8")),
        (Oid::CHAR_ARRAY, 1002, Some("_char")),
        (Oid::INT4_ARRAY, 1007, Some("_int4")),
        (Oid::TEXT_ARRAY, 1009, Some("_text")),
        (Oid::VARCHAR, 1043, Some("varchar")),
        (Oid::PG_LSN, 3220, Some("pg_lsn")),
        (Oid::INT4RANGE, 3904, Some("int4range")),
    ] {
        assert_eq!(oid, Oid(value));
        assert_eq!(oid.builtin_name(), name);
    }
    assert_eq!(Oid::INT4.array_type(), Some(Oid::INT4_ARRAY));
    assert_eq!(Oid::TEXT.array_type(), Some(Oid::TEXT_ARRAY));
    assert_eq!(Oid::INT4_ARRAY.element_type(), Some(Oid::INT4));
    assert_eq!(Oid::TEXT_ARRAY.element_type(), Some(Oid::TEXT));
    assert_eq!(Oid::INT4.builtin().map(|t| t.sql_name), Some("integer"));
    assert_eq!(Oid::INT4RANGE.range_subtype(), Some(Oid::INT4));
    assert_eq!(
        Oid::INT4RANGE.multirange_of_range(),
        Some(Oid::INT4MULTIRANGE)
    );
    // Unknown OIDs (user types) are not built-in.
    assert_eq!(Oid(16384).builtin(), None);
    assert_eq!(Oid(u32::MAX).array_type(), None);
    assert_eq!(Oid::from_builtin_name("integer"), None);
}

#[test]
fn lookups_work_in_const_context() {
    const ARRAY: Option<Oid> = Oid::INT8.array_type();
    const NAME: Option<&str> = Oid::JSONB.builtin_name();
    assert_eq!(ARRAY, Some(Oid::INT8_ARRAY));
    assert_eq!(NAME, Some("jsonb"));
}

#[test]
fn builtin_types_is_sorted_so_the_search_finds_every_row() {
    assert!(BUILTIN_TYPES.windows(2).all(|w| w[0].oid < w[1].oid));
    for t in BUILTIN_TYPES {
        assert_eq!(t.oid.builtin(), Some(t));
    }
    // Between, below and above the rows.
    for gap in [1, 15, 10_000] {
        assert_eq!(Oid(gap).builtin(), None);
    }
}
