//! Passwords never appear in `Debug`, `Display` or error text.

use super::env_of;
use crate::conninfo::ConnectOptions;

const SENTINEL: &str = "Zq8Sentinel";
/// The two halves of a password cut by an unencoded delimiter.
const HALF_A: &str = "Zq8Sent";
const HALF_B: &str = "Kw4Rmx";

fn assert_clean(text: &str, context: &str) {
    for secret in [SENTINEL, HALF_A, HALF_B] {
        assert!(
            !text.contains(secret),
            "{context}: {text:?} contains {secret:?}"
        );
    }
}

#[test]
fn debug_and_display_redact_passwords() {
    let opts = ConnectOptions::parse_with_env(
        &format!("postgres://u:{SENTINEL}@h/db?sslpassword={SENTINEL}"),
        env_of(&[]),
    )
    .unwrap();
    let debug = format!("{opts:?}");
    let display = opts.to_string();
    assert_clean(&debug, "Debug");
    assert_clean(&display, "Display");
    assert!(
        debug.contains("password: Some(Value(\"<redacted>\"))"),
        "{debug}"
    );
    assert!(
        debug.contains("ssl_password: Some(\"<redacted>\")"),
        "{debug}"
    );
    assert_eq!(
        display,
        "postgres://u:<redacted>@h/db?sslpassword=<redacted>"
    );

    let built = ConnectOptions::new()
        .password(SENTINEL)
        .ssl_password(SENTINEL);
    assert_clean(&format!("{built:?}"), "builder Debug");
    assert_clean(&built.to_string(), "builder Display");
    assert_clean(&format!("{:#?}", built), "pretty Debug");
}

#[test]
fn password_from_environment_is_redacted() {
    let opts =
        ConnectOptions::parse_with_env("host=h", env_of(&[("PGPASSWORD", SENTINEL)])).unwrap();
    assert_clean(&format!("{opts:?}"), "Debug");
    assert_clean(&opts.to_string(), "Display");
}

#[test]
fn parse_errors_never_contain_the_password() {
    let cases = [
        // Bad percent-encoding in the password.
        format!("postgres://u:{SENTINEL}%zz@h/db"),
        format!("postgres://u:{SENTINEL}%00@h/db"),
        format!("postgres://u:{SENTINEL}%FF@h/db"),
        format!("postgres://h/db?password={SENTINEL}%zz"),
        format!("postgres://h/db?sslpassword={SENTINEL}%1"),
        // Unencoded delimiters cut the password; the pieces land in the port or path.
        format!("postgres://u:{HALF_A}/{HALF_B}@h/db"),
        format!("postgres://u:{HALF_A}?{HALF_B}@h/db"),
        format!("postgres://u:{HALF_A}#{HALF_B}@h:x/db"),
        // Other errors in a URI that holds a password.
        format!("postgres://u:{SENTINEL}@[::1"),
        format!("postgres://u:{SENTINEL}@[::1]z"),
        format!("postgres://u:{SENTINEL}@h:99999/db"),
        format!("postgres://u:{SENTINEL}@h/db?bogus=1"),
        format!("postgres://u:{SENTINEL}@h/db?sslmode=sometimes"),
        format!("postgres://u:{SENTINEL}@h/db?x"),
        format!("postgres://h/db?{SENTINEL}"),
        format!("postgres://h/db?{SENTINEL}=1=2"),
        format!("postgres://h/db?{SENTINEL}%zz=1"),
        // A password with an unencoded '&': its second half becomes a parameter.
        format!("postgres://h/db?password={HALF_A}&{HALF_B}=x"),
        format!("postgres://h/db?password={HALF_A}&{HALF_B}"),
        format!("postgres://h/db?password={HALF_A}&{HALF_B}%zz=x"),
        format!("postgress://u:{SENTINEL}@h/db"),
        // Keyword strings: a password with an unquoted space, a stray password.
        format!("host=h password={HALF_A} {HALF_B}"),
        format!("host=h password={HALF_A} {HALF_B}=x"),
        format!("password='{SENTINEL}"),
        SENTINEL.to_owned(),
        format!("{SENTINEL} host=h"),
        format!("user=u\0 password={SENTINEL}"),
    ];
    for input in &cases {
        let err = ConnectOptions::parse_with_env(input, env_of(&[]))
            .expect_err(&format!("should not parse: {input}"));
        assert_clean(&err.to_string(), input);
        assert_clean(&format!("{err:?}"), input);
    }
}

#[test]
fn validation_errors_never_contain_the_password() {
    let err = ConnectOptions::new()
        .password(format!("{SENTINEL}\0"))
        .validate()
        .unwrap_err();
    assert_clean(&err.to_string(), "NUL in password");
    let err = ConnectOptions::parse_with_env(
        "host=h",
        env_of(&[("PGPASSWORD", &format!("{SENTINEL}\0"))]),
    )
    .unwrap_err();
    assert_clean(&err.to_string(), "NUL in PGPASSWORD");
}
