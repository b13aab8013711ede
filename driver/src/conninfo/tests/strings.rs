//! Connection strings as libpq reads them, before the environment is applied.
//!
//! The first table is libpq's own `t/001_uri.pl`: the expected text is what
//! `libpq_uri_regress` prints (non-default options in libpq's order, then `(local)`
//! or `(inet)`). Error rows give a part of our message; ours never repeat the URI,
//! because it may contain a password.

use std::collections::BTreeMap;

use crate::conninfo::keyword::{KEYWORDS, Keyword};
use crate::conninfo::parse::parse;

/// Renders parsed pairs like `libpq_uri_regress` does.
fn render(s: &str) -> Result<String, String> {
    let pairs = parse(s).map_err(|e| e.to_string())?;
    let mut map = BTreeMap::new();
    for (k, v) in pairs {
        map.insert(k, v);
    }
    // libpq's PQconninfoOptions order for the keywords the table uses, then ours.
    let mut order = vec![
        Keyword::User,
        Keyword::Password,
        Keyword::DbName,
        Keyword::Host,
        Keyword::HostAddr,
        Keyword::Port,
    ];
    let rest: Vec<Keyword> = KEYWORDS
        .iter()
        .map(|(k, _, _)| *k)
        .filter(|k| !order.contains(k))
        .collect();
    order.extend(rest);
    let mut parts: Vec<String> = order
        .iter()
        .filter_map(|k| map.get(k).map(|v| format!("{}='{}'", k.name(), v)))
        .collect();
    let local = !map.contains_key(&Keyword::HostAddr)
        && map.get(&Keyword::Host).is_none_or(|h| h.starts_with('/'));
    parts.push(if local { "(local)" } else { "(inet)" }.to_owned());
    Ok(parts.join(" "))
}

fn check(cases: &[(&str, Result<&str, &str>)]) {
    for (input, expected) in cases {
        let got = render(input);
        match (expected, &got) {
            (Ok(want), Ok(got)) => assert_eq!(got, want, "input {input:?}"),
            (Err(want), Err(got)) => {
                assert!(
                    got.contains(want),
                    "input {input:?}: error {got:?} lacks {want:?}"
                );
            }
            _ => panic!("input {input:?}: expected {expected:?}, got {got:?}"),
        }
    }
}

#[test]
fn libpq_001_uri_table() {
    check(&[
        (
            "postgresql://uri-user:secret@host:12345/db",
            Ok("user='uri-user' password='secret' dbname='db' host='host' port='12345' (inet)"),
        ),
        (
            "postgresql://uri-user@host:12345/db",
            Ok("user='uri-user' dbname='db' host='host' port='12345' (inet)"),
        ),
        (
            "postgresql://uri-user@host/db",
            Ok("user='uri-user' dbname='db' host='host' (inet)"),
        ),
        (
            "postgresql://host:12345/db",
            Ok("dbname='db' host='host' port='12345' (inet)"),
        ),
        ("postgresql://host/db", Ok("dbname='db' host='host' (inet)")),
        (
            "postgresql://uri-user@host:12345/",
            Ok("user='uri-user' host='host' port='12345' (inet)"),
        ),
        (
            "postgresql://uri-user@host/",
            Ok("user='uri-user' host='host' (inet)"),
        ),
        ("postgresql://uri-user@", Ok("user='uri-user' (local)")),
        (
            "postgresql://host:12345/",
            Ok("host='host' port='12345' (inet)"),
        ),
        (
            "postgresql://host:12345",
            Ok("host='host' port='12345' (inet)"),
        ),
        ("postgresql://host/", Ok("host='host' (inet)")),
        ("postgresql://host", Ok("host='host' (inet)")),
        ("postgresql://", Ok("(local)")),
        (
            "postgresql://?hostaddr=127.0.0.1",
            Ok("hostaddr='127.0.0.1' (inet)"),
        ),
        (
            "postgresql://example.com?hostaddr=63.1.2.4",
            Ok("host='example.com' hostaddr='63.1.2.4' (inet)"),
        ),
        ("postgresql://%68ost/", Ok("host='host' (inet)")),
        (
            "postgresql://host/db?user=uri-user",
            Ok("user='uri-user' dbname='db' host='host' (inet)"),
        ),
        (
            "postgresql://host/db?user=uri-user&port=12345",
            Ok("user='uri-user' dbname='db' host='host' port='12345' (inet)"),
        ),
        (
            "postgresql://host/db?u%73er=someotheruser&port=12345",
            Ok("user='someotheruser' dbname='db' host='host' port='12345' (inet)"),
        ),
        (
            "postgresql://host/db?u%7aer=someotheruser&port=12345",
            Err("invalid connection option \"uzer\""),
        ),
        (
            "postgresql://host:12345?user=uri-user",
            Ok("user='uri-user' host='host' port='12345' (inet)"),
        ),
        (
            "postgresql://host?user=uri-user",
            Ok("user='uri-user' host='host' (inet)"),
        ),
        ("postgresql://host?", Ok("host='host' (inet)")),
        (
            "postgresql://[::1]:12345/db",
            Ok("dbname='db' host='::1' port='12345' (inet)"),
        ),
        ("postgresql://[::1]/db", Ok("dbname='db' host='::1' (inet)")),
        (
            "postgresql://[2001:db8::1234]/",
            Ok("host='2001:db8::1234' (inet)"),
        ),
        (
            "postgresql://[200z:db8::1234]/",
            Ok("host='200z:db8::1234' (inet)"),
        ),
        ("postgresql://[::1]", Ok("host='::1' (inet)")),
        ("postgres://", Ok("(local)")),
        ("postgres:///", Ok("(local)")),
        ("postgres:///db", Ok("dbname='db' (local)")),
        (
            "postgres://uri-user@/db",
            Ok("user='uri-user' dbname='db' (local)"),
        ),
        (
            "postgres://?host=/path/to/socket/dir",
            Ok("host='/path/to/socket/dir' (local)"),
        ),
        (
            "postgresql://host?uzer=",
            Err("invalid connection option \"uzer\""),
        ),
        // libpq: missing "=" after "postgre://" in connection info string.
        ("postgre://", Err("unsupported URI scheme \"postgre\"")),
        (
            "postgres://[::1",
            Err(
                "end of string reached when looking for matching \"]\" in IPv6 host address in URI",
            ),
        ),
        (
            "postgres://[]",
            Err("IPv6 host address may not be empty in URI"),
        ),
        (
            "postgres://[::1]z",
            Err("unexpected character \"z\" at position 17 in URI (expected \":\" or \"/\")"),
        ),
        (
            "postgresql://host?zzz",
            Err("missing key/value separator \"=\" in URI query parameter"),
        ),
        (
            "postgresql://host?value1&value2",
            Err("missing key/value separator \"=\" in URI query parameter"),
        ),
        (
            "postgresql://host?key=key=value",
            Err("extra key/value separator \"=\" in URI query parameter"),
        ),
        (
            "postgres://host?dbname=%XXfoo",
            Err("invalid percent-encoded token: \"%XXfoo\""),
        ),
        (
            "postgresql://a%00b",
            Err("forbidden value %00 in percent-encoded value: \"a%00b\""),
        ),
        (
            "postgresql://%zz",
            Err("invalid percent-encoded token: \"%zz\""),
        ),
        (
            "postgresql://%1",
            Err("invalid percent-encoded token: \"%1\""),
        ),
        (
            "postgresql://%",
            Err("invalid percent-encoded token: \"%\""),
        ),
        ("postgres://@host", Ok("host='host' (inet)")),
        ("postgres://host:/", Ok("host='host' (inet)")),
        ("postgres://:12345/", Ok("port='12345' (local)")),
        (
            "postgres://otheruser@?host=/no/such/directory",
            Ok("user='otheruser' host='/no/such/directory' (local)"),
        ),
        (
            "postgres://otheruser@/?host=/no/such/directory",
            Ok("user='otheruser' host='/no/such/directory' (local)"),
        ),
        (
            "postgres://otheruser@:12345?host=/no/such/socket/path",
            Ok("user='otheruser' host='/no/such/socket/path' port='12345' (local)"),
        ),
        (
            "postgres://otheruser@:12345/db?host=/path/to/socket",
            Ok("user='otheruser' dbname='db' host='/path/to/socket' port='12345' (local)"),
        ),
        (
            "postgres://:12345/db?host=/path/to/socket",
            Ok("dbname='db' host='/path/to/socket' port='12345' (local)"),
        ),
        (
            "postgres://:12345?host=/path/to/socket",
            Ok("host='/path/to/socket' port='12345' (local)"),
        ),
        (
            "postgres://%2Fvar%2Flib%2Fpostgresql/dbname",
            Ok("dbname='dbname' host='/var/lib/postgresql' (local)"),
        ),
    ]);
}

#[test]
fn uri_extras() {
    check(&[
        // Several hosts, each with an optional port; libpq keeps the commas in both lists.
        (
            "postgresql://h1:5432,h2:5433/db",
            Ok("dbname='db' host='h1,h2' port='5432,5433' (inet)"),
        ),
        (
            "postgresql://h1,h2:5433",
            Ok("host='h1,h2' port=',5433' (inet)"),
        ),
        ("postgresql://h1,h2", Ok("host='h1,h2' port=',' (inet)")),
        (
            "postgresql://[::1]:5432,[fe80::1%25eth0]/",
            Ok("host='::1,fe80::1%eth0' port='5432,' (inet)"),
        ),
        (
            "postgresql://%2Ftmp,db.example:6000/x",
            Ok("dbname='x' host='/tmp,db.example' port=',6000' (local)"),
        ),
        // Percent-decoding everywhere, '+' stays '+'.
        (
            "postgres://u%40corp:p%40ss%2Fw+rd@host/my%20db",
            Ok("user='u@corp' password='p@ss/w+rd' dbname='my db' host='host' (inet)"),
        ),
        // The last '@' ends the user info, so an unencoded '@' in the password works.
        (
            "postgres://u:p@ss@host",
            Ok("user='u' password='p@ss' host='host' (inet)"),
        ),
        (
            "postgres://u:pa:ss@host",
            Ok("user='u' password='pa:ss' host='host' (inet)"),
        ),
        // An '@' in the query is not user info.
        (
            "postgres://host/db?application_name=me@corp",
            Ok("dbname='db' host='host' application_name='me@corp' (inet)"),
        ),
        // Empty password and user are not set.
        ("postgres://:@host", Ok("host='host' (inet)")),
        // Query parameters override the URI's parts; the last one wins.
        (
            "postgres://a@host/db?user=b&dbname=c&dbname=d",
            Ok("user='b' dbname='d' host='host' (inet)"),
        ),
        // JDBC's ssl=true.
        (
            "postgresql://host?ssl=true",
            Ok("host='host' sslmode='require' (inet)"),
        ),
        (
            "postgresql://host?ssl=false",
            Err("invalid connection option \"ssl\""),
        ),
        (
            "postgresql://host?sslmode=verify-full&sslrootcert=system",
            Ok("host='host' sslmode='verify-full' sslrootcert='system' (inet)"),
        ),
        (
            "postgresql://h?options=-c%20search_path%3Dfoo",
            Ok("host='h' options='-c search_path=foo' (inet)"),
        ),
        (
            "postgresql://h?a=1&",
            Err("invalid connection option \"a\""),
        ),
        ("postgresql://h?dbname=x&", Ok("dbname='x' host='h' (inet)")),
        (
            "postgresql://h?&dbname=x",
            Err("missing key/value separator"),
        ),
        (
            "postgresql://h?statement_cache_capacity=0",
            Ok("host='h' statement_cache_capacity='0' (inet)"),
        ),
        // Refused libpq keywords and typos.
        (
            "postgresql://h?sslcrl=/crl.pem&sslcrldir=/crl",
            Ok("host='h' sslcrl='/crl.pem' sslcrldir='/crl' (inet)"),
        ),
        ("postgresql://h?sslcertmode=require", Err("sslcertmode")),
        (
            "postgresql://h?sslmdoe=require",
            Err("did you mean \"sslmode\""),
        ),
        ("postgresql://h?database=x", Err("did you mean \"dbname\"")),
        // Ports must be numbers.
        ("postgresql://h:0", Err("invalid port number in URI")),
        ("postgresql://h:65536", Err("invalid port number in URI")),
        ("postgresql://h:54x", Err("invalid port number in URI")),
        ("postgresql://h1:1,h2:x", Err("invalid port number in URI")),
        // Decoded text must be UTF-8.
        ("postgres://host/%FF", Err("not valid UTF-8")),
        (
            "postgres://host/caf%C3%A9",
            Ok("dbname='café' host='host' (inet)"),
        ),
        (
            "postgres://[::1]x",
            Err("unexpected character \"x\" at position 17"),
        ),
        (
            "postgres://u@[::1]x",
            Err("unexpected character \"x\" at position 19"),
        ),
        ("ftp://host", Err("unsupported URI scheme \"ftp\"")),
    ]);
}

#[test]
fn keyword_value_strings() {
    check(&[
        ("", Ok("(local)")),
        ("   ", Ok("(local)")),
        (
            "host=a port=5432 dbname='my db' password='it\\'s'",
            Ok("password='it's' dbname='my db' host='a' port='5432' (inet)"),
        ),
        (
            "host = a   port= 5433\tuser =u",
            Ok("user='u' host='a' port='5433' (inet)"),
        ),
        // A backslash takes the next character literally, quoted or not.
        (
            r"password=a\ b\\c dbname='x\y'",
            Ok(r"password='a b\c' dbname='xy' (local)"),
        ),
        ("dbname=''", Ok("dbname='' (local)")),
        ("host=a host=b", Ok("host='b' (inet)")),
        ("host=h1,h2 port=1,2", Ok("host='h1,h2' port='1,2' (inet)")),
        (
            "host=/var/run/postgresql",
            Ok("host='/var/run/postgresql' (local)"),
        ),
        // As in libpq, whitespace after '=' is skipped, so the next word is the value.
        ("host= port=1", Ok("host='port=1' (inet)")),
        // Values are not percent-decoded.
        ("dbname=a%20b", Ok("dbname='a%20b' (local)")),
        (
            "dbname='unterminated",
            Err("unterminated quoted string in connection info string"),
        ),
        (
            "host",
            Err("missing \"=\" after \"host\" in connection info string"),
        ),
        ("host a", Err("missing \"=\" after \"host\"")),
        ("host=a sslmdoe=require", Err("did you mean \"sslmode\"")),
        ("host=a krbsrvname=postgres", Err("GSSAPI")),
        ("=x", Err("invalid connection option \"\"")),
    ]);
}

#[test]
fn unknown_keyword_error_lists_valid_keywords() {
    let err = parse("host=a bogus=1").unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::Config);
    let msg = err.to_string();
    for name in [
        "host",
        "sslmode",
        "channel_binding",
        "statement_cache_capacity",
    ] {
        assert!(msg.contains(name), "{msg}");
    }
}
