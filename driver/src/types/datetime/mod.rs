//! Dates and times with PostgreSQL's full range: [`Date`], [`Time`],
//! [`TimeTz`], [`Timestamp`], [`TimestampTz`] and [`Interval`].
//!
//! These types hold every value the server can send, `infinity` and
//! `-infinity` included, from 4714-11-24 BC to 5874897-12-31 (dates) and
//! 294276-12-31 23:59:59.999999 (timestamps), at microsecond precision.
//! Conversions to `chrono` (feature `chrono`), `time` (feature `time`) and
//! `jiff` (feature `jiff`) types are `TryFrom`: a value the target cannot hold (`infinity`, a year
//! beyond its range, `24:00:00`) is an error, never a panic, a wrap or a clamp.
//! Conversions from those crates round sub-microsecond precision to the
//! nearest microsecond (ties to even), as PostgreSQL rounds a literal.
//!
//! Binary formats (all big-endian): `date` is `i32` days since 2000-01-01
//! (`i32::MIN`/`MAX` are `-infinity`/`infinity`); `time` is `i64`
//! microseconds since midnight; `timetz` adds an `i32` zone offset in
//! seconds *west* of UTC; `timestamp` and `timestamptz` are `i64`
//! microseconds since 2000-01-01 00:00 (UTC for `timestamptz`; `i64::MIN`/`MAX`
//! are the infinities); `interval` is `i64` microseconds, `i32` days, `i32` months.
//!
//! Text formats are read as PostgreSQL prints them with `DateStyle = ISO, MDY`,
//! which the connection sets at startup: `2024-05-06 07:08:09.5`,
//! `0044-03-15 BC`, `12:00:00+05:30`; intervals in the `postgres`
//! (`1 year 2 mons -3 days +04:05:06.789`), `postgres_verbose` and `iso_8601`
//! IntervalStyles (the connection cannot set it: PgBouncer refuses it at startup). A `timestamptz` in text is printed in
//! the session's `TimeZone`; its offset is applied, giving the same instant as
//! the binary format. `Display` writes the same forms (a `TimestampTz` in UTC,
//! `+00`), and `FromStr` reads them.

mod calendar;
mod date;
mod interval;
mod parse;
mod time_of_day;
mod timestamp;
#[cfg(feature = "chrono")]
mod with_chrono;
#[cfg(feature = "jiff")]
mod with_jiff;
mod with_std;
#[cfg(feature = "time")]
mod with_time;

pub use date::Date;
pub use interval::Interval;
pub use time_of_day::{Time, TimeTz};
pub use timestamp::{Timestamp, TimestampTz};

#[cfg(test)]
pub(crate) use date::DATE_CASES;
#[cfg(test)]
pub(crate) use interval::INTERVAL_CASES;
#[cfg(test)]
pub(crate) use time_of_day::{TIME_CASES, TIMETZ_CASES};
#[cfg(test)]
pub(crate) use timestamp::{TIMESTAMP_CASES, TIMESTAMPTZ_CASES};
