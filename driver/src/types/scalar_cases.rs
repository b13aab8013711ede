//! Boundary values of the scalar types, exactly as PostgreSQL 15 prints them
//! (`::text` with the connection's session settings, `TimeZone = UTC` and
//! `lc_monetary = C`), gathered for a round-trip test against a real server:
//! for each case, parse it, bind the value (binary), `SELECT $1::<type>::text`,
//! and expect the case back; then decode the server's binary result and
//! expect the same value.
//!
//! | table | PostgreSQL type | Rust type |
//! |---|---|---|
//! | [`NUMERIC_CASES`], [`numeric_extreme_cases`] | `numeric` | `Numeric` |
//! | [`FLOAT4_CASES`] / [`FLOAT8_CASES`] | `float4` / `float8` | `f32` / `f64` |
//! | [`MONEY_CASES`] | `money` | `Money` |
//! | [`TEXT_CASES`] | `text` | `String` |
//! | [`DATE_CASES`] | `date` | `Date` |
//! | [`TIME_CASES`] / [`TIMETZ_CASES`] | `time` / `timetz` | `Time` / `TimeTz` |
//! | [`TIMESTAMP_CASES`] / [`TIMESTAMPTZ_CASES`] | `timestamp` / `timestamptz` | `Timestamp` / `TimestampTz` |
//! | [`INTERVAL_CASES`] | `interval` | `Interval` |

use std::fmt::{Debug, Display};

pub(crate) use super::datetime::{
    DATE_CASES, INTERVAL_CASES, TIME_CASES, TIMESTAMP_CASES, TIMESTAMPTZ_CASES, TIMETZ_CASES,
};
pub(crate) use super::float::{FLOAT4_CASES, FLOAT8_CASES};
pub(crate) use super::money::MONEY_CASES;
pub(crate) use super::numeric::{NUMERIC_CASES, numeric_extreme_cases};
use super::read::testing::{bin, encode, text};
pub(crate) use super::text::TEXT_CASES;
use super::{
    Date, Decode, Encode, Interval, Money, Numeric, Oid, Time, TimeTz, Timestamp, TimestampTz,
};

/// Each case reads (text format), prints back identically, and survives binary encode/decode.
fn check<T>(oid: Oid, cases: &[&str])
where
    T: for<'r> Decode<'r> + Encode + Display + PartialEq + Debug,
{
    for case in cases {
        let value: T = text(oid, case).unwrap_or_else(|e| panic!("{oid} {case:?}: {e}"));
        assert_eq!(value.to_string(), *case, "{oid} prints back");
        assert_eq!(
            bin::<T>(oid, &encode(&value)).as_ref(),
            Ok(&value),
            "{oid} binary"
        );
    }
}

#[test]
fn every_case_reads_prints_and_round_trips() {
    check::<Numeric>(Oid::NUMERIC, NUMERIC_CASES);
    let extremes = numeric_extreme_cases();
    check::<Numeric>(
        Oid::NUMERIC,
        &extremes.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    check::<Money>(Oid::MONEY, MONEY_CASES);
    check::<String>(Oid::TEXT, TEXT_CASES);
    check::<Date>(Oid::DATE, DATE_CASES);
    check::<Time>(Oid::TIME, TIME_CASES);
    check::<TimeTz>(Oid::TIMETZ, TIMETZ_CASES);
    check::<Timestamp>(Oid::TIMESTAMP, TIMESTAMP_CASES);
    check::<TimestampTz>(Oid::TIMESTAMPTZ, TIMESTAMPTZ_CASES);
    check::<Interval>(Oid::INTERVAL, INTERVAL_CASES);
    // Rust prints floats differently from PostgreSQL; compare bits.
    for case in FLOAT8_CASES {
        let value: f64 = text(Oid::FLOAT8, case).unwrap();
        assert_eq!(
            bin::<f64>(Oid::FLOAT8, &encode(&value)).map(f64::to_bits),
            Ok(value.to_bits())
        );
    }
    for case in FLOAT4_CASES {
        let value: f32 = text(Oid::FLOAT4, case).unwrap();
        assert_eq!(
            bin::<f32>(Oid::FLOAT4, &encode(&value)).map(f32::to_bits),
            Ok(value.to_bits())
        );
    }
}
