//! [`Numeric`] <-> `numeric`: PostgreSQL's exact decimal, with any precision
//! and scale, `NaN` and (PostgreSQL 14+) `±Infinity`.
//!
//! Conversions to and from Rust numbers live in `convert.rs`; the binary
//! format in `wire.rs`; `rust_decimal` and `bigdecimal` behind their features.

use std::fmt;
use std::str::FromStr;

use super::ValueError;

mod convert;
mod wire;
#[cfg(feature = "bigdecimal")]
mod with_bigdecimal;
#[cfg(feature = "rust_decimal")]
mod with_rust_decimal;

/// The base of a digit group.
const NBASE: u16 = 10_000;
/// Decimal digits per digit group.
const DEC_DIGITS: i64 = 4;
/// The largest display scale PostgreSQL stores (14 bits): digits after the point.
const MAX_SCALE: u16 = 0x3FFF;
/// The largest weight (power of 10000 of the first group): 131072 digits before the point.
const MAX_WEIGHT: i64 = i16::MAX as i64;

/// An exact decimal number as PostgreSQL's `numeric` holds it.
///
/// It keeps every digit and the *display scale* (the number of digits after
/// the decimal point PostgreSQL prints, trailing zeros included), so
/// `1.50` stays `1.50`. It also holds `NaN`, `Infinity` and `-Infinity`.
/// The range is PostgreSQL's: up to 131072 digits before the decimal point
/// and 16383 after.
///
/// - `Display` prints exactly what PostgreSQL's `numeric::text` prints;
///   `FromStr` reads that, plus an optional `+` and an exponent (`1.5e-3`),
///   as PostgreSQL's input does (no surrounding spaces).
/// - Equality is on the representation: `1.5 != 1.50` (they print
///   differently), and `NaN == NaN`. Compare converted values for numeric equality.
/// - Conversions to Rust integers fail on a fractional part, on values out of
///   range, and on `NaN`/`±Infinity`. From integers they always succeed.
/// - From `f64`/`f32`: the shortest decimal that reads back as the same float
///   (`0.1_f64` is `0.1`); `NaN` and `±inf` map across, `-0.0` becomes `0`.
///   To `f64`/`f32`: rounded to the nearest float, as PostgreSQL's cast does;
///   an error only when the result would be infinite, or zero for a nonzero value.
/// - `rust_decimal::Decimal` and `bigdecimal::BigDecimal` (features of the same
///   names) convert with range errors, never panics.
///
/// ```
/// use quarry_driver::types::Numeric;
///
/// let price: Numeric = "19.90".parse().unwrap();
/// assert_eq!(price.to_string(), "19.90");
/// assert_eq!(price.scale(), 2);
/// assert!(i64::try_from(&price).is_err()); // has a fractional part
/// assert_eq!(i64::try_from(&Numeric::from(42_i64)), Ok(42));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Numeric(Repr);

#[derive(Clone, PartialEq, Eq, Hash)]
enum Repr {
    NaN,
    Infinity,
    NegInfinity,
    Finite(Finite),
}

/// A finite value, normalized: no leading or trailing zero groups; zero has no
/// groups, weight 0 and is not negative; no nonzero digit lies beyond `scale`.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Finite {
    negative: bool,
    /// The power of 10000 of `digits[0]`.
    weight: i16,
    /// The display scale (0..=MAX_SCALE).
    scale: u16,
    /// Base-10000 digit groups, most significant first, each below NBASE.
    digits: Vec<u16>,
}

impl Finite {
    /// The digit group at power `10000^power` (0 outside the stored groups).
    fn group_at(&self, power: i64) -> u16 {
        usize::try_from(i64::from(self.weight) - power)
            .ok()
            .and_then(|i| self.digits.get(i))
            .copied()
            .unwrap_or(0)
    }

    /// The power of 10000 of the last stored group.
    fn low_power(&self) -> i64 {
        i64::from(self.weight) + 1 - len_i64(&self.digits)
    }
}

fn len_i64<T>(v: &[T]) -> i64 {
    // A Vec never holds more than isize::MAX elements.
    i64::try_from(v.len()).unwrap_or(i64::MAX)
}

impl Numeric {
    /// `NaN`.
    pub const NAN: Numeric = Numeric(Repr::NaN);
    /// `Infinity` (PostgreSQL 14 and later).
    pub const INFINITY: Numeric = Numeric(Repr::Infinity);
    /// `-Infinity` (PostgreSQL 14 and later).
    pub const NEG_INFINITY: Numeric = Numeric(Repr::NegInfinity);
    /// `0`, with scale 0.
    pub const ZERO: Numeric = Numeric(Repr::Finite(Finite {
        negative: false,
        weight: 0,
        scale: 0,
        digits: Vec::new(),
    }));

    /// Whether this is `NaN`.
    pub fn is_nan(&self) -> bool {
        matches!(self.0, Repr::NaN)
    }

    /// Whether this is `Infinity` or `-Infinity`.
    pub fn is_infinite(&self) -> bool {
        matches!(self.0, Repr::Infinity | Repr::NegInfinity)
    }

    /// Whether this is neither `NaN` nor infinite.
    pub fn is_finite(&self) -> bool {
        matches!(self.0, Repr::Finite(_))
    }

    /// Whether this is zero (at any scale).
    pub fn is_zero(&self) -> bool {
        matches!(&self.0, Repr::Finite(f) if f.digits.is_empty())
    }

    /// Whether this is below zero (`-Infinity` included; zero and `NaN` are not).
    pub fn is_sign_negative(&self) -> bool {
        match &self.0 {
            Repr::NegInfinity => true,
            Repr::Finite(f) => f.negative,
            Repr::NaN | Repr::Infinity => false,
        }
    }

    /// The display scale: how many digits PostgreSQL prints after the decimal point (0 for `NaN` and infinities).
    pub fn scale(&self) -> u16 {
        match &self.0 {
            Repr::Finite(f) => f.scale,
            _ => 0,
        }
    }

    fn finite(&self) -> Option<&Finite> {
        match &self.0 {
            Repr::Finite(f) => Some(f),
            _ => None,
        }
    }

    fn zero(scale: u16) -> Numeric {
        Numeric(Repr::Finite(Finite {
            negative: false,
            weight: 0,
            scale,
            digits: Vec::new(),
        }))
    }

    /// The number `digits × 10^exponent` with display scale `scale`.
    ///
    /// `digits` are ASCII decimal digits (leading and trailing zeros allowed).
    /// Fails when the scale or the magnitude is outside PostgreSQL's range, or
    /// when a nonzero digit lies beyond `scale`.
    fn from_decimal(
        negative: bool,
        digits: &[u8],
        exponent: i64,
        scale: i64,
    ) -> Result<Numeric, ValueError> {
        let scale = u16::try_from(scale)
            .ok()
            .filter(|s| *s <= MAX_SCALE)
            .ok_or_else(|| {
                ValueError::new(format!(
                    "numeric scale {scale} is out of range: PostgreSQL keeps 0 to {MAX_SCALE} \
                     digits after the decimal point"
                ))
            })?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(ValueError::new("numeric digits must be ASCII 0-9"));
        }
        let Some(first) = digits.iter().position(|&d| d != b'0') else {
            return Ok(Numeric::zero(scale));
        };
        let last = digits.iter().rposition(|&d| d != b'0').unwrap_or(first);
        let significant = digits.get(first..=last).unwrap_or_default();
        let overflow = || {
            ValueError::new(
                "numeric value is out of range: PostgreSQL keeps at most 131072 digits before \
                 the decimal point",
            )
        };
        let trailing = i64::try_from(digits.len() - 1 - last).map_err(|_| overflow())?;
        let low = exponent.checked_add(trailing).ok_or_else(overflow)?;
        let top = low
            .checked_add(len_i64(significant) - 1)
            .ok_or_else(overflow)?;
        if top > MAX_WEIGHT * DEC_DIGITS + (DEC_DIGITS - 1) {
            return Err(overflow());
        }
        if low < -i64::from(scale) {
            return Err(ValueError::new(format!(
                "numeric has digits beyond its display scale of {scale}"
            )));
        }
        let weight = i16::try_from(top.div_euclid(DEC_DIGITS)).map_err(|_| overflow())?;
        // Pad so the digits start and end on group boundaries, then pack by fours.
        let lead_pad = usize::try_from(DEC_DIGITS - 1 - top.rem_euclid(DEC_DIGITS)).unwrap_or(0);
        let trail_pad = usize::try_from(low.rem_euclid(DEC_DIGITS)).unwrap_or(0);
        let padded = std::iter::repeat_n(0u16, lead_pad)
            .chain(significant.iter().map(|d| u16::from(d - b'0')))
            .chain(std::iter::repeat_n(0u16, trail_pad));
        let mut groups = Vec::with_capacity((significant.len() + lead_pad + trail_pad) / 4);
        let mut acc = 0u16;
        for (i, d) in padded.enumerate() {
            acc = acc * 10 + d;
            if i % 4 == 3 {
                groups.push(acc);
                acc = 0;
            }
        }
        Ok(Numeric(Repr::Finite(Finite {
            negative,
            weight,
            scale,
            digits: groups,
        })))
    }

    /// A finite value from base-10000 groups (most significant first, each below
    /// 10000), normalizing leading and trailing zero groups and checking the range.
    fn from_groups(
        negative: bool,
        weight: i64,
        scale: u16,
        mut digits: Vec<u16>,
    ) -> Result<Numeric, ValueError> {
        if scale > MAX_SCALE {
            return Err(ValueError::new(format!(
                "numeric scale {scale} is out of range (0 to {MAX_SCALE})"
            )));
        }
        if let Some(bad) = digits.iter().find(|d| **d >= NBASE) {
            return Err(ValueError::new(format!(
                "numeric digit group {bad} is out of range (0 to 9999)"
            )));
        }
        let leading = digits.iter().take_while(|d| **d == 0).count();
        digits.drain(..leading);
        while digits.last() == Some(&0) {
            digits.pop();
        }
        let Some(&last) = digits.last() else {
            return Ok(Numeric::zero(scale));
        };
        let weight = weight
            .checked_sub(i64::try_from(leading).unwrap_or(i64::MAX))
            .filter(|w| *w <= MAX_WEIGHT)
            .ok_or_else(|| ValueError::new("numeric value is out of range (weight too large)"))?;
        let trailing_decimal_zeros = [10, 100, 1000]
            .iter()
            .take_while(|p| last % **p == 0)
            .count();
        let low_power = weight + 1 - len_i64(&digits);
        let lowest_digit =
            low_power * DEC_DIGITS + i64::try_from(trailing_decimal_zeros).unwrap_or(0);
        if lowest_digit < -i64::from(scale) {
            return Err(ValueError::new(format!(
                "numeric has digits beyond its display scale of {scale}"
            )));
        }
        let weight = i16::try_from(weight)
            .map_err(|_| ValueError::new("numeric value is out of range (weight too small)"))?;
        Ok(Numeric(Repr::Finite(Finite {
            negative,
            weight,
            scale,
            digits,
        })))
    }
}

impl Default for Numeric {
    fn default() -> Numeric {
        Numeric::ZERO
    }
}

impl fmt::Display for Numeric {
    /// PostgreSQL's text form: `-12.3400`, `0.0001`, `NaN`, `Infinity`, `-Infinity`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = match &self.0 {
            Repr::NaN => return f.write_str("NaN"),
            Repr::Infinity => return f.write_str("Infinity"),
            Repr::NegInfinity => return f.write_str("-Infinity"),
            Repr::Finite(n) => n,
        };
        if n.negative {
            f.write_str("-")?;
        }
        if n.weight < 0 {
            f.write_str("0")?;
        } else {
            write!(f, "{}", n.group_at(i64::from(n.weight)))?;
            for power in (0..i64::from(n.weight)).rev() {
                write!(f, "{:04}", n.group_at(power))?;
            }
        }
        if n.scale > 0 {
            f.write_str(".")?;
            let mut remaining = usize::from(n.scale);
            let mut power = -1;
            while remaining > 0 {
                let group = n.group_at(power);
                if remaining >= 4 {
                    write!(f, "{group:04}")?;
                    remaining -= 4;
                } else {
                    // The last, partial group: its leading `remaining` digits.
                    let divisor = 10u16.pow(4 - u32::try_from(remaining).unwrap_or(4));
                    write!(f, "{:0width$}", group / divisor, width = remaining)?;
                    remaining = 0;
                }
                power -= 1;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Numeric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Numeric({self})")
    }
}

impl FromStr for Numeric {
    type Err = ValueError;

    /// Parses `[+-]digits[.digits][e[+-]digits]`, `NaN`, `Infinity`, `inf`
    /// (the last three in any case, infinities with an optional sign).
    /// The display scale is the number of digits after the point, less the
    /// exponent (at least 0), as in PostgreSQL: `1.50e1` is `15.0`.
    fn from_str(s: &str) -> Result<Numeric, ValueError> {
        let invalid = || ValueError::new("text is not a numeric value");
        let (negative, body) = match s.as_bytes().first() {
            Some(b'-') => (true, s.get(1..).unwrap_or_default()),
            Some(b'+') => (false, s.get(1..).unwrap_or_default()),
            _ => (false, s),
        };
        if body.eq_ignore_ascii_case("infinity") || body.eq_ignore_ascii_case("inf") {
            return Ok(if negative {
                Numeric::NEG_INFINITY
            } else {
                Numeric::INFINITY
            });
        }
        if s.eq_ignore_ascii_case("nan") {
            return Ok(Numeric::NAN);
        }
        let (mantissa, exponent) = match body.find(['e', 'E']) {
            Some(at) => (
                body.get(..at).unwrap_or_default(),
                Some(body.get(at + 1..).unwrap_or_default()),
            ),
            None => (body, None),
        };
        let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if (int_part.is_empty() && frac_part.is_empty())
            || !all_digits(int_part)
            || !all_digits(frac_part)
        {
            return Err(invalid());
        }
        let exponent = match exponent {
            None => 0,
            Some(e) => parse_exponent(e).ok_or_else(invalid)?,
        };
        let frac_len = len_i64(frac_part.as_bytes());
        let mut digits = Vec::with_capacity(int_part.len() + frac_part.len());
        digits.extend_from_slice(int_part.as_bytes());
        digits.extend_from_slice(frac_part.as_bytes());
        // `exponent` is bounded by parse_exponent, so neither of these overflows.
        let scale = (frac_len - exponent).max(0);
        Numeric::from_decimal(negative, &digits, exponent - frac_len, scale)
    }
}

/// An exponent `[+-]digits`, bounded so that later arithmetic cannot overflow
/// (anything beyond ±10^15 is out of numeric's range anyway).
fn parse_exponent(e: &str) -> Option<i64> {
    let (negative, digits) = match e.as_bytes().first() {
        Some(b'-') => (true, e.get(1..)?),
        Some(b'+') => (false, e.get(1..)?),
        _ => (false, e),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let trimmed = digits.trim_start_matches('0');
    if trimmed.len() > 15 {
        return None;
    }
    let value: i64 = if trimmed.is_empty() {
        0
    } else {
        trimmed.parse().ok()?
    };
    Some(if negative { -value } else { value })
}

/// Text forms of `numeric` exactly as PostgreSQL 15 prints them (`::text`), for
/// round-trip tests against a server. See also [`numeric_extreme_cases`].
#[cfg(test)]
pub(crate) const NUMERIC_CASES: &[&str] = &[
    "0",
    "0.0",
    "0.00",
    "1",
    "-1",
    "1.5",
    "-0.5",
    "0.1",
    "0.0001",
    "0.00001",
    "0.000010",
    "0.00005",
    "10000.0001",
    "9999",
    "10000",
    "9999.9999",
    "1234.5678",
    "-12.3400",
    "15.0",
    "1500",
    "0.0000000001",
    "0.000000000000000000000000000001",
    "100000000000000000000",
    "123456789.123456789",
    "12345678901234567890.12345678901234567890",
    "99999999999999999999999999999.9999",
    "79228162514264337593543950335",
    "-79228162514264337593543950335",
    "0.12345678901234567890123456789",
    "18446744073709551615",
    "-170141183460469231731687303715884105728",
    "NaN",
    "Infinity",
    "-Infinity",
];

/// The extremes of numeric's range, as PostgreSQL prints them: 10^131071,
/// 10^-16383, and the largest value (131072 nines, a point, 16383 nines).
#[cfg(test)]
pub(crate) fn numeric_extreme_cases() -> Vec<String> {
    let nines = |n| "9".repeat(n);
    vec![
        format!("1{}", "0".repeat(131_071)),
        format!("-1{}", "0".repeat(131_071)),
        format!("0.{}1", "0".repeat(16_382)),
        format!("{}.{}", nines(131_072), nines(16_383)),
        format!("-{}.{}", nines(131_072), nines(16_383)),
    ]
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn n(s: &str) -> Numeric {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn display_matches_postgres() {
        for case in NUMERIC_CASES {
            assert_eq!(n(case).to_string(), *case);
        }
        for case in numeric_extreme_cases() {
            assert_eq!(n(&case).to_string(), case);
        }
    }

    // PostgreSQL 15 `'<input>'::numeric::text`.
    #[test]
    fn input_forms() {
        for (input, text) in [
            ("-0", "0"),
            ("-0.00", "0.00"),
            ("+1.5", "1.5"),
            ("1.5e3", "1500"),
            ("1.50e1", "15.0"),
            ("1.0e-5", "0.000010"),
            ("1e-10", "0.0000000001"),
            ("1e20", "100000000000000000000"),
            (".5", "0.5"),
            ("5.", "5"),
            ("007.50", "7.50"),
            ("1E+2", "100"),
            ("0e-5", "0.00000"),
            ("nan", "NaN"),
            ("-inf", "-Infinity"),
            ("+INFINITY", "Infinity"),
        ] {
            assert_eq!(n(input).to_string(), text, "{input}");
        }
        assert!(
            n("-0").finite().is_some_and(|f| !f.negative),
            "no negative zero"
        );
    }

    #[test]
    fn rejects_bad_text() {
        for bad in [
            "",
            "-",
            "+",
            ".",
            "e5",
            "1e",
            "1e+",
            "1.2.3",
            " 1",
            "1 ",
            "1_000",
            "0x10",
            "--1",
            "-NaN",
            "1e1000000000000000000000",
            "١",
        ] {
            assert!(bad.parse::<Numeric>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn range_limits() {
        // PostgreSQL 15: '1e131071' is the largest power of ten, '1e131072' overflows;
        // '1e-16383' is the smallest, '1e-16384' overflows.
        assert!("1e131071".parse::<Numeric>().is_ok());
        assert!("1e131072".parse::<Numeric>().is_err());
        assert!("99999e131068".parse::<Numeric>().is_err());
        assert!("1e-16383".parse::<Numeric>().is_ok());
        assert!("1e-16384".parse::<Numeric>().is_err());
        assert!(
            "0e-16384".parse::<Numeric>().is_err(),
            "scale too large even for zero"
        );
    }

    #[test]
    fn predicates() {
        assert!(Numeric::NAN.is_nan() && !Numeric::NAN.is_finite());
        assert!(Numeric::INFINITY.is_infinite() && !Numeric::INFINITY.is_sign_negative());
        assert!(Numeric::NEG_INFINITY.is_sign_negative());
        assert!(n("0.00").is_zero() && n("0.00").scale() == 2);
        assert!(n("-0.5").is_sign_negative());
        assert_eq!(Numeric::default(), Numeric::ZERO);
        assert_eq!(format!("{:?}", n("1.50")), "Numeric(1.50)");
        assert_ne!(n("1.5"), n("1.50"));
        assert_eq!(n("1.50"), n("150e-2"));
    }

    #[test]
    fn from_groups_validates() {
        assert!(Numeric::from_groups(false, 0, 0, vec![10_000]).is_err());
        assert!(Numeric::from_groups(false, 0, MAX_SCALE + 1, vec![]).is_err());
        // 0.5 needs scale 1.
        assert!(Numeric::from_groups(false, -1, 0, vec![5000]).is_err());
        assert_eq!(
            Numeric::from_groups(false, -1, 1, vec![5000])
                .unwrap()
                .to_string(),
            "0.5"
        );
        // Leading and trailing zero groups are normalized away.
        let x = Numeric::from_groups(true, 2, 0, vec![0, 1, 0, 0]).unwrap();
        assert_eq!(x.to_string(), "-10000");
        assert_eq!(x, n("-10000"));
        assert!(Numeric::from_groups(false, MAX_WEIGHT + 1, 0, vec![0, 1]).is_ok());
        assert!(Numeric::from_groups(false, MAX_WEIGHT + 1, 0, vec![1]).is_err());
        assert_eq!(
            Numeric::from_groups(true, 7, 3, vec![0, 0])
                .unwrap()
                .to_string(),
            "0.000"
        );
    }

    /// A decimal string with up to 60 integer and 30 fraction digits.
    fn decimal_text() -> impl Strategy<Value = String> {
        ("-?", "[0-9]{1,60}", proptest::option::of("[0-9]{0,30}")).prop_map(|(sign, int, frac)| {
            match frac {
                Some(frac) => format!("{sign}{int}.{frac}"),
                None => format!("{sign}{int}"),
            }
        })
    }

    /// What PostgreSQL prints for a plain decimal input: no leading zeros, no negative zero.
    fn canonical(s: &str) -> String {
        let (negative, body) = s.strip_prefix('-').map_or((false, s), |b| (true, b));
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        let int = int.trim_start_matches('0');
        let int = if int.is_empty() { "0" } else { int };
        let is_zero = int == "0" && frac.bytes().all(|b| b == b'0');
        let sign = if negative && !is_zero { "-" } else { "" };
        if frac.is_empty() {
            format!("{sign}{int}")
        } else {
            format!("{sign}{int}.{frac}")
        }
    }

    proptest! {
        #[test]
        fn text_round_trip(s in decimal_text()) {
            let parsed = n(&s);
            prop_assert_eq!(parsed.to_string(), canonical(&s));
        }

        #[test]
        fn exponent_form_agrees(int in "[1-9][0-9]{0,20}", exp in -40i64..40) {
            // digits × 10^exp written two ways must give the same value and scale.
            let sci = n(&format!("{int}e{exp}"));
            let plain = if exp >= 0 {
                format!("{int}{}", "0".repeat(usize::try_from(exp).unwrap()))
            } else {
                let shift = usize::try_from(-exp).unwrap();
                let padded = format!("{}{int}", "0".repeat(shift));
                let (a, b) = padded.split_at(padded.len() - shift);
                format!("{a}.{b}")
            };
            prop_assert_eq!(sci.to_string(), canonical(&plain));
        }

        #[test]
        fn garbage_text_never_panics(s in "[-+0-9.eEnaNifty ]{0,24}") {
            let _ = s.parse::<Numeric>();
        }
    }
}
