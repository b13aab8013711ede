//! Property tests: no input panics the parsers, and encoded values come back intact.

use proptest::prelude::*;

use crate::conninfo::parse::parse;
use crate::conninfo::pgpass::PassFile;
use crate::conninfo::service::parse_section;
use crate::conninfo::{ConnectOptions, PasswordSource};

/// Percent-encodes every byte, the bluntest valid encoding.
fn encode_all(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// Quotes a value for a keyword/value string.
fn quote(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        if c == '\'' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

fn password_of(opts: &ConnectOptions) -> Option<String> {
    match opts.get_password() {
        Some(PasswordSource::Value(p)) => Some(p.expose().to_owned()),
        _ => None,
    }
}

proptest! {
    #[test]
    fn parsers_never_panic(s in any::<String>()) {
        let _ = parse(&s);
        let _ = parse(&format!("postgres://{s}"));
        let _ = PassFile::parse(s.as_bytes()).password_for("h", 5432, "d", "u");
        let _ = parse_section(&format!("[s]\n{s}"), "s", std::path::Path::new("f"));
    }

    #[test]
    fn uri_like_inputs_never_panic(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("@"), Just(":"), Just("/"), Just("?"), Just("&"), Just("="), Just(","),
                Just("["), Just("]"), Just("%"), Just("%2"), Just("%41"), Just("host"),
                Just("5432"), Just("password"), Just("sslmode"), Just("::1"),
            ],
            0..16,
        )
    ) {
        let _ = parse(&format!("postgresql://{}", parts.concat()));
    }

    #[test]
    fn encoded_uri_passwords_round_trip(password in "[^\u{0}]{1,40}") {
        let uri = format!("postgres://u:{}@h/db", encode_all(&password));
        let opts = ConnectOptions::parse_with_env(&uri, |_| None).unwrap();
        prop_assert_eq!(password_of(&opts), Some(password.clone()));
        let query = format!("postgres://h/db?password={}", encode_all(&password));
        let opts = ConnectOptions::parse_with_env(&query, |_| None).unwrap();
        prop_assert_eq!(password_of(&opts), Some(password));
    }

    #[test]
    fn quoted_keyword_values_round_trip(value in "[^\u{0}]{0,40}") {
        let opts = ConnectOptions::parse_with_env(
            &format!("host=h password={} application_name={}", quote(&value), quote(&value)),
            |_| None,
        )
        .unwrap();
        let expected = (!value.is_empty()).then(|| value.clone());
        prop_assert_eq!(password_of(&opts), expected.clone());
        prop_assert_eq!(opts.get_application_name().map(str::to_owned), expected);
    }

    #[test]
    fn passwords_in_bad_uris_are_not_echoed(password in "[A-Za-z0-9]{12}") {
        for uri in [
            format!("postgres://u:{password}@h:x/db"),
            format!("postgres://u:{password}%zz@h/db"),
            format!("postgres://u:{password}@h/db?bogus=1"),
        ] {
            let err = ConnectOptions::parse_with_env(&uri, |_| None).unwrap_err();
            prop_assert!(!err.to_string().contains(&password), "{}", err);
        }
    }
}
