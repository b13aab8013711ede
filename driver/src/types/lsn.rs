//! `pg_lsn`: a position in the write-ahead log, as [`PgLsn`].
//!
//! Binary format: the 64-bit position, big-endian. Text: two hexadecimal
//! halves, `16/B374D848` (upper and lower 32 bits).

use std::fmt;
use std::str::FromStr;

use super::{
    Decode, DecodeError, Encode, EncodeBuf, EncodeError, Format, IsNull, Oid, Type, TypeRef,
    ValueRef,
};

/// A write-ahead log position (`pg_lsn`), such as `pg_current_wal_lsn()` returns.
///
/// Named after the PostgreSQL type. Displays and parses as `X/Y`:
///
/// ```
/// use quarry_driver::types::PgLsn;
/// let lsn: PgLsn = "16/B374D848".parse().unwrap();
/// assert_eq!(lsn, PgLsn(0x16_B374_D848));
/// assert_eq!(lsn.to_string(), "16/B374D848");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PgLsn(pub u64);

impl fmt::Display for PgLsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xffff_ffff)
    }
}

impl FromStr for PgLsn {
    type Err = DecodeError;

    /// Parses `X/Y` as `pg_lsn_in` does: 1 to 8 hex digits on each side, either case.
    fn from_str(s: &str) -> Result<PgLsn, DecodeError> {
        let bad = || DecodeError::new(format!("invalid pg_lsn {s:?}: expected X/Y in hexadecimal"));
        let (hi, lo) = s.split_once('/').ok_or_else(bad)?;
        let half = |part: &str| -> Result<u64, DecodeError> {
            if part.is_empty() || part.len() > 8 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad());
            }
            u64::from_str_radix(part, 16).map_err(|_| bad())
        };
        Ok(PgLsn((half(hi)? << 32) | half(lo)?))
    }
}

impl From<u64> for PgLsn {
    fn from(v: u64) -> Self {
        PgLsn(v)
    }
}

impl From<PgLsn> for u64 {
    fn from(v: PgLsn) -> Self {
        v.0
    }
}

impl Type for PgLsn {
    fn type_ref() -> TypeRef {
        TypeRef::Oid(Oid::PG_LSN)
    }
}

impl Encode for PgLsn {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        buf.extend_from_slice(&self.0.to_be_bytes());
        Ok(IsNull::No)
    }
    fn param_type(&self) -> TypeRef {
        Self::type_ref()
    }
    fn size_hint(&self) -> usize {
        8
    }
}

impl<'r> Decode<'r> for PgLsn {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        let bytes = value.non_null::<Self>()?;
        match value.format() {
            Format::Binary => {
                let arr: [u8; 8] = bytes.try_into().map_err(|_| {
                    DecodeError::new(format!(
                        "invalid pg_lsn value: expected 8 bytes, got {}",
                        bytes.len()
                    ))
                })?;
                Ok(PgLsn(u64::from_be_bytes(arr)))
            }
            Format::Text => std::str::from_utf8(bytes)
                .map_err(|_| DecodeError::new("invalid pg_lsn value: not UTF-8"))?
                .parse(),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;

    use super::super::container_golden::{ARRAYS, LSN, golden};
    use super::super::test_elements::{decode, encode};
    use super::*;

    #[test]
    fn matches_the_server() {
        for (name, want) in [
            ("lsn", PgLsn(0x16_B374_D848)),
            ("lsn_zero", PgLsn(0)),
            ("lsn_max", PgLsn(u64::MAX)),
        ] {
            let g = golden(LSN, name);
            assert_eq!(encode(&want), g.bytes(), "{name}");
            assert_eq!(want.to_string(), g.text, "{name}");
            assert_eq!(
                decode::<PgLsn>(Oid::PG_LSN, Format::Binary, &g.bytes()).unwrap(),
                want
            );
            assert_eq!(
                decode::<PgLsn>(Oid::PG_LSN, Format::Text, g.text.as_bytes()).unwrap(),
                want
            );
        }
        let g = golden(ARRAYS, "pg_lsn");
        let want = vec![PgLsn(1), PgLsn(0x16_B374_D848)];
        assert_eq!(encode(&want), g.bytes());
        assert_eq!(
            decode::<Vec<PgLsn>>(Oid::PG_LSN_ARRAY, Format::Binary, &g.bytes()).unwrap(),
            want
        );
        assert_eq!(
            decode::<Vec<PgLsn>>(Oid::PG_LSN_ARRAY, Format::Text, g.text.as_bytes()).unwrap(),
            want
        );
    }

    #[test]
    fn parsing() {
        assert_eq!("a/b".parse::<PgLsn>().unwrap(), PgLsn(0xa_0000_000b));
        for bad in [
            "",
            "/",
            "1/",
            "/1",
            "123456789/0",
            "0/123456789",
            "g/0",
            "0/0/0",
            " 0/0",
            "+1/0",
        ] {
            assert!(bad.parse::<PgLsn>().is_err(), "{bad:?}");
        }
        assert!(decode::<PgLsn>(Oid::PG_LSN, Format::Binary, &[0; 7]).is_err());
    }

    proptest! {
        #[test]
        fn round_trip(v in any::<u64>()) {
            let lsn = PgLsn(v);
            prop_assert_eq!(lsn.to_string().parse::<PgLsn>().unwrap(), lsn);
            prop_assert_eq!(decode::<PgLsn>(Oid::PG_LSN, Format::Binary, &encode(&lsn)).unwrap(), lsn);
        }

        #[test]
        fn random_text_never_panics(s in "\\PC{0,20}") {
            let _ = s.parse::<PgLsn>();
        }
    }
}
