//! Property tests against the server for the integer, float, numeric,
//! date/time and array codecs (`support::server_property`: batches of random
//! values, one pipeline per batch, binary and text, value and server text).

use proptest::prelude::*;
use quarry::types::{Array, Date, Interval, Numeric, Time, TimeTz, Timestamp, TimestampTz};

use crate::support::{connect, runtime, server_major_now, server_property};

fn display<T: ToString>(v: &T) -> Option<String> {
    Some(v.to_string())
}

#[test]
fn integers() {
    server_property("int2", "int2", any::<i16>(), display, PartialEq::eq);
    server_property("int4", "int4", any::<i32>(), display, PartialEq::eq);
    server_property("int8", "int8", any::<i64>(), display, PartialEq::eq);
    server_property("oid", "oid", any::<u32>(), display, PartialEq::eq);
}

/// Every float class (NaN, ±infinity, subnormals, ±0), compared by bits: the
/// binary value, and the server's shortest-exact text read back by our parser.
#[test]
fn floats() {
    fn same64(a: &f64, b: &f64) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }
    fn same32(a: &f32, b: &f32) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }
    server_property("float8", "float8", any::<f64>(), |_| None, same64);
    server_property("float4", "float4", any::<f32>(), |_| None, same32);
}

/// Decimal strings, optionally with an exponent: our parser and the server's
/// must agree on the value and the display scale, and our `Display` must be
/// what the server prints.
#[test]
fn numeric() {
    let plain = "-?[0-9]{1,40}(\\.[0-9]{1,40})?";
    let exponent = "-?[0-9]{1,20}(\\.[0-9]{1,20})?e[-+]?[0-9]{1,2}";
    let strategy = prop_oneof![
        proptest::string::string_regex(plain).unwrap(),
        proptest::string::string_regex(exponent).unwrap(),
    ]
    .prop_map(|s| s.parse::<Numeric>().unwrap_or_else(|e| panic!("{s}: {e}")));
    server_property("numeric", "numeric", strategy, display, PartialEq::eq);
    let from_ints = any::<i128>().prop_map(Numeric::from);
    server_property(
        "numeric from i128",
        "numeric",
        from_ints,
        display,
        PartialEq::eq,
    );
}

#[test]
fn date_and_time() {
    let dates = (Date::MIN.days_since_2000()..=Date::MAX.days_since_2000())
        .prop_map(|d| Date::from_days_since_2000(d).unwrap());
    server_property("date", "date", dates, display, PartialEq::eq);
    let times = (0..=86_400_000_000i64).prop_map(|m| Time::from_micros_since_midnight(m).unwrap());
    server_property("time", "time", times, display, PartialEq::eq);
    let timetzs = (0..=86_400_000_000i64, -57_599..=57_599i32).prop_map(|(m, off)| {
        TimeTz::new(Time::from_micros_since_midnight(m).unwrap(), off).unwrap()
    });
    server_property("timetz", "timetz", timetzs, display, PartialEq::eq);
    let micros = Timestamp::MIN.micros_since_2000()..=Timestamp::MAX.micros_since_2000();
    let timestamps = micros
        .clone()
        .prop_map(|m| Timestamp::from_micros_since_2000(m).unwrap());
    server_property("timestamp", "timestamp", timestamps, display, PartialEq::eq);
    let timestamptzs = micros.prop_map(|m| TimestampTz::from_micros_since_2000(m).unwrap());
    server_property(
        "timestamptz",
        "timestamptz",
        timestamptzs,
        display,
        PartialEq::eq,
    );
    // PostgreSQL 13 stores any interval but prints only those under 2^31 hours (22008
    // "interval out of range"; 14 widened the hours field): there the time part stays in
    // range, after checking that the server indeed refuses one beyond it.
    let major = server_major_now();
    let max_micros = if major < 14 {
        let refused = runtime().block_on(async {
            quarry::query_scalar::<String>("SELECT $1::interval::text")
                .bind(Interval::new(0, 0, i64::MAX - 1))
                .fetch_one(&mut connect().await)
                .await
        });
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| e.to_string().contains("22008")),
            "PostgreSQL {major} was expected to refuse to print a 2^31-hour interval: {refused:?}"
        );
        i64::from(i32::MAX) * 3_600_000_000
    } else {
        i64::MAX
    };
    let intervals = prop_oneof![
        (any::<i32>(), any::<i32>(), -max_micros..=max_micros),
        (
            -1200..1200i32,
            -400..400i32,
            -1_000_000_000_000..1_000_000_000_000i64
        ),
    ]
    .prop_filter("±infinity are not PostgreSQL 15 values", |&(m, d, u)| {
        let v = Interval::new(m, d, u);
        v != Interval::INFINITY && v != Interval::NEG_INFINITY
    })
    .prop_map(|(m, d, u)| Interval::new(m, d, u));
    server_property("interval", "interval", intervals, display, PartialEq::eq);
}

/// How `array_out` prints an array: the test's own oracle, independent of
/// the driver's writer. `[lb:ub]` decorations unless every lower bound is 1;
/// elements quoted when empty, `NULL` in any case, or containing `"`, `\\`,
/// `{`, `}`, `,` or white space, with `"` and `\\` escaped.
fn array_out<T>(a: &Array<Option<T>>, show: impl Fn(&T) -> String) -> String {
    fn quoted(s: &str) -> String {
        let needs = s.is_empty()
            || s.eq_ignore_ascii_case("NULL")
            || s.chars().any(|c| {
                matches!(
                    c,
                    '"' | '\\' | '{' | '}' | ',' | ' ' | '\t' | '\n' | '\r' | '\u{b}' | '\u{c}'
                )
            });
        if !needs {
            return s.to_owned();
        }
        let mut out = String::from("\"");
        for c in s.chars() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
        out
    }
    if a.is_empty() {
        return "{}".to_owned();
    }
    let mut out = String::new();
    if a.lower_bounds().iter().any(|&lb| lb != 1) {
        for (&len, &lb) in a.dims().iter().zip(a.lower_bounds()) {
            let upper = i64::from(lb) + i64::try_from(len).unwrap() - 1;
            out.push_str(&format!("[{lb}:{upper}]"));
        }
        out.push('=');
    }
    let dims = a.dims();
    for (i, e) in a.elements().iter().enumerate() {
        // Open a brace for every dimension whose index is at its start, close likewise.
        let mut stride = 1;
        let mut opens = 0;
        for &len in dims.iter().rev() {
            stride *= len;
            if i % stride == 0 {
                opens += 1;
            }
        }
        if i > 0 {
            out.push(',');
        }
        out.push_str(&"{".repeat(opens));
        out.push_str(
            &e.as_ref()
                .map_or_else(|| "NULL".to_owned(), |v| quoted(&show(v))),
        );
        let mut stride = 1;
        let mut closes = 0;
        for &len in dims.iter().rev() {
            stride *= len;
            if (i + 1) % stride == 0 {
                closes += 1;
            }
        }
        out.push_str(&"}".repeat(closes));
    }
    out
}

/// Arrays of any shape (up to 6 dimensions, any lower bounds, NULLs), and
/// arrays of text that the array syntax must quote: the server's text must be
/// `array_out`'s, and, for arrays without NULLs, our `Display` too.
#[test]
fn arrays() {
    let shapes =
        proptest::collection::vec((1usize..4, -1000i32..1000), 0..=6).prop_flat_map(|dims| {
            let count = if dims.is_empty() {
                0
            } else {
                dims.iter().map(|d| d.0).product()
            };
            proptest::collection::vec(proptest::option::of(any::<i32>()), count).prop_map(
                move |elements| {
                    let (lens, lower): (Vec<usize>, Vec<i32>) = dims.iter().copied().unzip();
                    Array::from_vec(lens, lower, elements).unwrap()
                },
            )
        });
    server_property(
        "int4[]",
        "int4[]",
        shapes,
        |a| Some(array_out(a, i32::to_string)),
        PartialEq::eq,
    );
    let texts = proptest::collection::vec(proptest::option::of("[^\u{0}]{0,12}"), 0..8)
        .prop_map(|v| Array::from_elements(v).unwrap());
    server_property(
        "text[]",
        "text[]",
        texts,
        |a| Some(array_out(a, String::clone)),
        PartialEq::eq,
    );
    let strings =
        (proptest::collection::vec("[^\u{0}]{0,12}", 1..8), -5i32..5).prop_map(|(v, lb)| {
            let len = v.len();
            Array::from_vec(vec![len], vec![lb], v).unwrap()
        });
    server_property("text[] Display", "text[]", strings, display, PartialEq::eq);
    let vecs = proptest::collection::vec(any::<i64>(), 0..20);
    server_property("Vec<i64>", "int8[]", vecs, |_| None, PartialEq::eq);
}
