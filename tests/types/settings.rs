//! Text-format decoding under server settings users (or their DBAs) choose:
//! a database whose defaults are `TimeZone` with odd offsets (seconds in
//! historical offsets), `bytea_output = escape`, `IntervalStyle = iso_8601`,
//! `DateStyle = 'SQL, DMY'` and `extra_float_digits = 0`. The connection
//! overrides the settings the decoders depend on; the rest the decoders read.
//! Every value decoded from the simple protocol (text) must equal the same
//! value decoded from the extended protocol (binary).

use std::sync::OnceLock;

use quarry::types::{Date, Interval, Timestamp, TimestampTz};
use quarry::{Connection, Row};

use crate::support::{server, simple_row};

/// A connection to a database with unusual defaults (created once).
async fn styled_connection() -> Connection {
    static CREATED: OnceLock<()> = OnceLock::new();
    CREATED.get_or_init(|| {
        server()
            .run_sql(
                "CREATE DATABASE typetests_styles; \
                 ALTER DATABASE typetests_styles SET TimeZone = 'America/St_Johns'; \
                 ALTER DATABASE typetests_styles SET bytea_output = 'escape'; \
                 ALTER DATABASE typetests_styles SET IntervalStyle = 'iso_8601'; \
                 ALTER DATABASE typetests_styles SET DateStyle = 'SQL, DMY'; \
                 ALTER DATABASE typetests_styles SET extra_float_digits = 0;",
            )
            .unwrap_or_else(|e| panic!("creating typetests_styles: {e}"));
    });
    let url = server().url().replace("/postgres?", "/typetests_styles?");
    Connection::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("connecting to typetests_styles: {e}"))
}

/// Column `i` decoded from both rows must be equal (and decode at all).
fn agree<T>(binary: &Row, text: &Row, i: usize, failures: &mut Vec<String>)
where
    T: for<'r> quarry::types::Decode<'r> + quarry::types::Type + PartialEq + std::fmt::Debug,
{
    let raw = text
        .try_get_raw(i)
        .ok()
        .and_then(|v| v.bytes())
        .map(String::from_utf8_lossy);
    match (binary.try_get::<T, _>(i), text.try_get::<T, _>(i)) {
        (Ok(b), Ok(t)) if b == t => {}
        (b, t) => failures.push(format!(
            "column {i} (text {raw:?}): binary {b:?}, text {t:?}"
        )),
    }
}

#[tokio::test]
async fn text_decoding_under_unusual_database_defaults() {
    let mut conn = styled_connection().await;
    let sql = "SELECT '1900-01-01 00:00:00+00'::timestamptz, \
                      '2024-05-06 07:08:09.123456+00'::timestamptz, \
                      '0044-03-15 12:00:00+00 BC'::timestamptz, \
                      'infinity'::timestamptz, \
                      '2024-05-06 07:08:09.5'::timestamp, \
                      '2024-02-29'::date, \
                      '\\x00ff5c27'::bytea, \
                      0.1::float8, \
                      1e-300::float8, \
                      '1 year 2 mons -3 days 04:05:06.789'::interval, \
                      '-1 days +01:00:00'::interval";
    let binary = quarry::query(sql).fetch_one(&mut conn).await.unwrap();
    let text = simple_row(&mut conn, sql).await.unwrap();
    let mut failures = Vec::new();
    for i in 0..4 {
        agree::<TimestampTz>(&binary, &text, i, &mut failures);
    }
    agree::<Timestamp>(&binary, &text, 4, &mut failures);
    agree::<Date>(&binary, &text, 5, &mut failures);
    agree::<Vec<u8>>(&binary, &text, 6, &mut failures);
    agree::<f64>(&binary, &text, 7, &mut failures);
    agree::<f64>(&binary, &text, 8, &mut failures);
    agree::<Interval>(&binary, &text, 9, &mut failures);
    agree::<Interval>(&binary, &text, 10, &mut failures);
    assert!(
        failures.is_empty(),
        "{} failures:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}
