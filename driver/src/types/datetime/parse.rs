//! Readers for PostgreSQL's date/time text output with `DateStyle = ISO` (what the
//! connection sets at startup).
//!
//! Each reader takes what it recognises off the front of a [`Cursor`] and
//! returns `None` for anything else; the callers turn that into an error.

use super::calendar::{USECS_PER_HOUR, USECS_PER_MINUTE, USECS_PER_SEC};

/// The unread rest of a text value.
pub(super) struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    pub(super) fn new(s: &'a str) -> Cursor<'a> {
        Cursor { rest: s.as_bytes() }
    }

    /// Takes `literal` if the text continues with it.
    pub(super) fn eat(&mut self, literal: &str) -> bool {
        match self.rest.strip_prefix(literal.as_bytes()) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// Takes `min..=max` ASCII digits (`max` at most 18) and their value and count.
    pub(super) fn digits(&mut self, min: usize, max: usize) -> Option<(i64, usize)> {
        let count = self
            .rest
            .iter()
            .take(max.min(18))
            .take_while(|b| b.is_ascii_digit())
            .count();
        if count < min {
            return None;
        }
        let (digits, rest) = self.rest.split_at_checked(count)?;
        // A following digit means the number is longer than allowed.
        if rest.first().is_some_and(u8::is_ascii_digit) {
            return None;
        }
        self.rest = rest;
        let value = digits
            .iter()
            .fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0'));
        Some((value, count))
    }

    /// Takes exactly `n` digits.
    pub(super) fn fixed(&mut self, n: usize) -> Option<i64> {
        self.digits(n, n).map(|(v, _)| v)
    }
}

/// An optional `+` or `-`; whether it was `-`.
pub(super) fn sign(c: &mut Cursor<'_>) -> bool {
    c.eat("-") || {
        c.eat("+");
        false
    }
}

/// `YYYY-MM-DD` (four or more year digits as printed, before any `BC`).
pub(super) fn date_part(c: &mut Cursor<'_>) -> Option<(i64, u8, u8)> {
    let (year, _) = c.digits(4, 9)?;
    c.eat("-").then_some(())?;
    let month = u8::try_from(c.fixed(2)?).ok()?;
    c.eat("-").then_some(())?;
    let day = u8::try_from(c.fixed(2)?).ok()?;
    Some((year, month, day))
}

/// The astronomical year of a printed year: `N BC` is `1 - N`; there is no year 0.
pub(super) fn astronomical_year(printed: i64, bc: bool) -> Option<i64> {
    match (printed, bc) {
        (0, _) => None,
        (y, true) => Some(1 - y),
        (y, false) => Some(y),
    }
}

/// `HH:MM:SS[.ffffff]`, as microseconds since midnight (`24:00:00` allowed).
pub(super) fn time_part(c: &mut Cursor<'_>) -> Option<i64> {
    let hour = c.fixed(2)?;
    c.eat(":").then_some(())?;
    let minute = c.fixed(2)?;
    c.eat(":").then_some(())?;
    let second = c.fixed(2)?;
    let micros = fraction(c)?;
    let valid = (hour < 24 && minute < 60 && second < 60)
        || (hour == 24 && minute == 0 && second == 0 && micros == 0);
    valid.then_some(
        hour * USECS_PER_HOUR + minute * USECS_PER_MINUTE + second * USECS_PER_SEC + micros,
    )
}

/// An optional `.f` with one to six digits, as microseconds.
pub(super) fn fraction(c: &mut Cursor<'_>) -> Option<i64> {
    if !c.eat(".") {
        return Some(0);
    }
    let (value, count) = c.digits(1, 6)?;
    let scale = 10i64.pow(u32::try_from(6 - count).ok()?);
    Some(value * scale)
}

/// A UTC offset `+HH[:MM[:SS]]` or `-HH[:MM[:SS]]`, as seconds east of UTC.
pub(super) fn offset_part(c: &mut Cursor<'_>) -> Option<i32> {
    let negative = if c.eat("+") {
        false
    } else if c.eat("-") {
        true
    } else {
        return None;
    };
    let hours = c.fixed(2)?;
    let minutes = if c.eat(":") { c.fixed(2)? } else { 0 };
    let seconds = if c.eat(":") { c.fixed(2)? } else { 0 };
    if minutes >= 60 || seconds >= 60 {
        return None;
    }
    let total = i32::try_from(hours * 3600 + minutes * 60 + seconds).ok()?;
    Some(if negative { -total } else { total })
}

/// A trailing ` BC`.
pub(super) fn bc_suffix(c: &mut Cursor<'_>) -> bool {
    c.eat(" BC")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_bounded() {
        let mut c = Cursor::new("12345x");
        assert_eq!(
            c.digits(1, 4),
            None,
            "five digits where at most four are allowed"
        );
        let mut c = Cursor::new("0042-");
        assert_eq!(c.digits(4, 9), Some((42, 4)));
        assert!(c.eat("-") && c.is_empty());
        let mut c = Cursor::new("9999999999999999999999");
        assert_eq!(c.digits(1, 30), None);
    }

    #[test]
    fn times_and_offsets() {
        assert_eq!(
            time_part(&mut Cursor::new("24:00:00")),
            Some(86_400_000_000)
        );
        assert_eq!(time_part(&mut Cursor::new("24:00:00.000001")), None);
        assert_eq!(time_part(&mut Cursor::new("23:60:00")), None);
        assert_eq!(
            time_part(&mut Cursor::new("01:02:03.1")),
            Some(3_723_100_000)
        );
        assert_eq!(time_part(&mut Cursor::new("01:02:03.")), None);
        assert_eq!(time_part(&mut Cursor::new("01:02:03.1234567")), None);
        assert_eq!(offset_part(&mut Cursor::new("+05:30")), Some(19_800));
        assert_eq!(offset_part(&mut Cursor::new("-04:56:02")), Some(-17_762));
        assert_eq!(offset_part(&mut Cursor::new("+00")), Some(0));
        assert_eq!(offset_part(&mut Cursor::new("+01:02:03")), Some(3723));
        assert_eq!(offset_part(&mut Cursor::new("05")), None);
        assert_eq!(offset_part(&mut Cursor::new("+5")), None);
        assert_eq!(offset_part(&mut Cursor::new("+05:60")), None);
    }
}
