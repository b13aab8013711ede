//! Proleptic Gregorian calendar arithmetic, in days since 2000-01-01
//! (PostgreSQL's epoch), with astronomical year numbering (year 0 is 1 BC).
//!
//! All arithmetic is on `i64` with inputs bounded far below overflow by the
//! callers (years within ±6 million, days within ±2^31).

/// Microseconds per second, minute, hour and day.
pub(super) const USECS_PER_SEC: i64 = 1_000_000;
pub(super) const USECS_PER_MINUTE: i64 = 60 * USECS_PER_SEC;
pub(super) const USECS_PER_HOUR: i64 = 60 * USECS_PER_MINUTE;
pub(super) const USECS_PER_DAY: i64 = 24 * USECS_PER_HOUR;

/// 1970-01-01 (the Unix epoch) in days since 2000-01-01.
pub(super) const UNIX_EPOCH_DAYS: i64 = -10_957;

/// Days from 0000-03-01 to 1970-01-01 in the shifted calendar used below.
const DAYS_0000_03_01_TO_UNIX: i64 = 719_468;
const DAYS_PER_ERA: i64 = 146_097;

pub(super) fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

pub(super) fn days_in_month(year: i64, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 2000-01-01 of a valid date (month 1..=12, day within the month).
///
/// The year is counted from March so that the leap day comes last; eras are
/// the 400-year cycles of 146097 days.
pub(super) fn days_from_ymd(year: i64, month: u8, day: u8) -> i64 {
    let (month, day) = (i64::from(month), i64::from(day));
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days_since_unix_epoch = era * DAYS_PER_ERA + day_of_era - DAYS_0000_03_01_TO_UNIX;
    days_since_unix_epoch + UNIX_EPOCH_DAYS
}

/// The (year, month, day) of a day counted from 2000-01-01.
pub(super) fn ymd_from_days(days: i64) -> (i64, u8, u8) {
    let z = days - UNIX_EPOCH_DAYS + DAYS_0000_03_01_TO_UNIX;
    let era = z.div_euclid(DAYS_PER_ERA);
    let day_of_era = z - era * DAYS_PER_ERA;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // month is 1..=12 and day 1..=31 by construction.
    (year, small(month), small(day))
}

fn small(v: i64) -> u8 {
    u8::try_from(v).unwrap_or(0)
}

/// Rounds nanoseconds to the nearest microsecond, ties to even, as PostgreSQL
/// rounds fractional seconds in its text input.
pub(super) fn nanos_to_micros(nanos: i128) -> i128 {
    let (q, r) = (nanos.div_euclid(1000), nanos.rem_euclid(1000));
    if r > 500 || (r == 500 && q % 2 != 0) {
        q + 1
    } else {
        q
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    // Day numbers from PostgreSQL 15's date_send.
    #[test]
    fn known_days() {
        assert_eq!(days_from_ymd(2000, 1, 1), 0);
        assert_eq!(days_from_ymd(1999, 12, 31), -1);
        assert_eq!(days_from_ymd(1970, 1, 1), -10_957);
        assert_eq!(days_from_ymd(2024, 2, 29), 0x2279);
        assert_eq!(days_from_ymd(10_000, 1, 1), 0x002c_95d4);
        assert_eq!(days_from_ymd(1, 1, 1), -730_119);
        assert_eq!(days_from_ymd(0, 12, 31), -730_120, "1 BC");
        assert_eq!(days_from_ymd(-4713, 11, 24), -2_451_545, "4714-11-24 BC");
        assert_eq!(days_from_ymd(5_874_897, 12, 31), 2_145_031_948);
        assert_eq!(ymd_from_days(-2_451_545), (-4713, 11, 24));
        assert_eq!(ymd_from_days(2_145_031_948), (5_874_897, 12, 31));
        assert_eq!(ymd_from_days(0), (2000, 1, 1));
        assert_eq!(ymd_from_days(-730_120), (0, 12, 31));
    }

    #[test]
    fn month_lengths() {
        assert_eq!(days_in_month(2000, 2), 29);
        assert_eq!(days_in_month(1900, 2), 28);
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(0, 2), 29, "1 BC is a leap year");
        assert_eq!(days_in_month(-4, 2), 29);
        assert_eq!(days_in_month(-100, 2), 28);
        assert_eq!(days_in_month(2023, 4), 30);
        assert_eq!(days_in_month(2023, 13), 0);
    }

    #[test]
    fn rounding() {
        assert_eq!(nanos_to_micros(1_499), 1);
        assert_eq!(nanos_to_micros(1_500), 2);
        assert_eq!(nanos_to_micros(2_500), 2);
        assert_eq!(nanos_to_micros(2_501), 3);
        assert_eq!(nanos_to_micros(-1_500), -2);
        assert_eq!(nanos_to_micros(-2_500), -2);
        assert_eq!(nanos_to_micros(-499), 0);
    }

    proptest! {
        #[test]
        fn days_round_trip(days in -2_451_545i64..=2_145_031_948) {
            let (y, m, d) = ymd_from_days(days);
            prop_assert!((1..=12).contains(&m));
            prop_assert!(d >= 1 && d <= days_in_month(y, m));
            prop_assert_eq!(days_from_ymd(y, m, d), days);
        }
    }
}
