//! Transaction and tuple identifiers: `xid` as [`Xid`], `xid8` as [`Xid8`], `tid` as
//! [`Tid`].
//!
//! Binary formats: `xid` a 32-bit and `xid8` a 64-bit unsigned integer, big-endian; `tid`
//! a 32-bit block number then a 16-bit line pointer. Text: decimal, and `(block,offset)`.

use std::fmt;
use std::str::FromStr;

use super::{
    Decode, DecodeError, Encode, EncodeBuf, EncodeError, Format, IsNull, Oid, Type, TypeRef,
    ValueRef,
};

/// A 32-bit transaction ID (`xid`), such as `xmin` or `pg_current_xact_id()::xid`.
/// It wraps around, so only equality is meaningful across long spans.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Xid(pub u32);

/// A 64-bit transaction ID that does not wrap (`xid8`), such as `pg_current_xact_id()`
/// (PostgreSQL 13+).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Xid8(pub u64);

/// A tuple's physical location (`tid`, the type of `ctid`): block number and line pointer.
///
/// ```
/// use quarry_driver::types::Tid;
/// let tid: Tid = "(3,7)".parse().unwrap();
/// assert_eq!(tid, Tid { block: 3, offset: 7 });
/// assert_eq!(tid.to_string(), "(3,7)");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tid {
    /// The block (page) number.
    pub block: u32,
    /// The line pointer within the block (1-based for real tuples).
    pub offset: u16,
}

impl fmt::Display for Xid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for Xid8 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for Tid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({},{})", self.block, self.offset)
    }
}

fn invalid(ty: &str, s: &str, expected: &str) -> DecodeError {
    DecodeError::new(format!("invalid {ty} {s:?}: expected {expected}"))
}

impl FromStr for Xid {
    type Err = DecodeError;
    fn from_str(s: &str) -> Result<Xid, DecodeError> {
        s.parse()
            .map(Xid)
            .map_err(|_| invalid("xid", s, "an unsigned 32-bit number"))
    }
}

impl FromStr for Xid8 {
    type Err = DecodeError;
    fn from_str(s: &str) -> Result<Xid8, DecodeError> {
        s.parse()
            .map(Xid8)
            .map_err(|_| invalid("xid8", s, "an unsigned 64-bit number"))
    }
}

impl FromStr for Tid {
    type Err = DecodeError;
    /// Parses `(block,offset)`, as `tidout` prints it.
    fn from_str(s: &str) -> Result<Tid, DecodeError> {
        let bad = || invalid("tid", s, "(block,offset)");
        let inner = s
            .strip_prefix('(')
            .and_then(|r| r.strip_suffix(')'))
            .ok_or_else(bad)?;
        let (block, offset) = inner.split_once(',').ok_or_else(bad)?;
        Ok(Tid {
            block: block.trim().parse().map_err(|_| bad())?,
            offset: offset.trim().parse().map_err(|_| bad())?,
        })
    }
}

/// The value's bytes as exactly `N` bytes (binary) or its text parsed (text).
fn decode_fixed<'r, T: FromStr<Err = DecodeError>, const N: usize>(
    value: &ValueRef<'r>,
    ty: &str,
    from: impl FnOnce([u8; N]) -> T,
) -> Result<T, DecodeError> {
    let bytes = value.non_null::<T>()?;
    match value.format() {
        Format::Binary => {
            let arr: [u8; N] = bytes.try_into().map_err(|_| {
                DecodeError::new(format!(
                    "invalid {ty} value: expected {N} bytes, got {}",
                    bytes.len()
                ))
            })?;
            Ok(from(arr))
        }
        Format::Text => std::str::from_utf8(bytes)
            .map_err(|_| DecodeError::new(format!("invalid {ty} value: not UTF-8")))?
            .parse(),
    }
}

macro_rules! fixed_type {
    ($rust:ty, $oid:expr, $len:literal, |$v:ident| $bytes:expr, |$a:ident| $from:expr, $name:literal) => {
        impl Type for $rust {
            fn type_ref() -> TypeRef {
                TypeRef::Oid($oid)
            }
        }

        impl Encode for $rust {
            fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
                let $v = self;
                buf.extend_from_slice(&$bytes);
                Ok(IsNull::No)
            }
            fn param_type(&self) -> TypeRef {
                Self::type_ref()
            }
            fn size_hint(&self) -> usize {
                $len
            }
        }

        impl<'r> Decode<'r> for $rust {
            fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
                decode_fixed::<Self, $len>(&value, $name, |$a| $from)
            }
        }
    };
}

fixed_type!(
    Xid,
    Oid::XID,
    4,
    |v| v.0.to_be_bytes(),
    |a| Xid(u32::from_be_bytes(a)),
    "xid"
);
fixed_type!(
    Xid8,
    Oid::XID8,
    8,
    |v| v.0.to_be_bytes(),
    |a| Xid8(u64::from_be_bytes(a)),
    "xid8"
);
fixed_type!(
    Tid,
    Oid::TID,
    6,
    |v| {
        let [b0, b1, b2, b3] = v.block.to_be_bytes();
        let [o0, o1] = v.offset.to_be_bytes();
        [b0, b1, b2, b3, o0, o1]
    },
    |a| {
        let [b0, b1, b2, b3, o0, o1] = a;
        Tid {
            block: u32::from_be_bytes([b0, b1, b2, b3]),
            offset: u16::from_be_bytes([o0, o1]),
        }
    },
    "tid"
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::read::testing::{bin, encode, text};

    #[test]
    fn codecs() {
        assert_eq!(encode(&Xid(0x0102_0304)), [1, 2, 3, 4]);
        assert_eq!(bin::<Xid>(Oid::XID, &[0, 0, 1, 0]), Ok(Xid(256)));
        assert_eq!(text::<Xid>(Oid::XID, "4294967295"), Ok(Xid(u32::MAX)));
        assert_eq!(encode(&Xid8(1)), [0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(
            text::<Xid8>(Oid::XID8, "18446744073709551615"),
            Ok(Xid8(u64::MAX))
        );
        let tid = Tid {
            block: 0x0102_0304,
            offset: 0x0506,
        };
        assert_eq!(encode(&tid), [1, 2, 3, 4, 5, 6]);
        assert_eq!(bin::<Tid>(Oid::TID, &[1, 2, 3, 4, 5, 6]), Ok(tid));
        assert_eq!(
            text::<Tid>(Oid::TID, "(0,1)"),
            Ok(Tid {
                block: 0,
                offset: 1
            })
        );
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(bin::<Xid>(Oid::XID, &[1, 2, 3]).is_err());
        assert!(bin::<Tid>(Oid::TID, &[1, 2, 3, 4, 5]).is_err());
        for bad in ["", "(1)", "1,2", "(1,2", "(a,b)", "(1,70000)", "(-1,1)"] {
            assert!(bad.parse::<Tid>().is_err(), "{bad}");
        }
        assert!("-1".parse::<Xid>().is_err());
        assert!("4294967296".parse::<Xid>().is_err());
    }
}
