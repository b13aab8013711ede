//! `bit(n)` and `bit varying` as [`BitString`].
//!
//! Binary format (`bit_send`/`varbit_send`): the length in bits (i32), then
//! the bits packed into bytes, most significant bit first; the unused low
//! bits of the last byte (padding) are zero. Text: `0`/`1` digits (`101`).

use std::fmt;
use std::str::FromStr;

use super::bounded::{Reader, wire_len};
use super::value::InvalidValue;
use super::{
    Decode, DecodeError, Encode, EncodeBuf, EncodeError, Format, IsNull, Oid, Type, TypeInfo,
    TypeRef, ValueRef,
};

/// A string of bits (`bit`, `varbit`): a length in bits and the packed bytes.
///
/// The padding bits after the last bit are always zero, so equal bit strings
/// compare equal.
///
/// ```
/// use quarry_driver::types::BitString;
/// let b: BitString = "101".parse().unwrap();
/// assert_eq!((b.len(), b.as_bytes()), (3, &[0b1010_0000][..]));
/// assert_eq!(b.to_string(), "101");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct BitString {
    len: usize,
    bytes: Vec<u8>,
}

/// The mask of the bits of the last byte that belong to a `len`-bit string.
fn last_byte_mask(len: usize) -> u8 {
    match len % 8 {
        0 => 0xff,
        used => 0xffu8 << (8 - used),
    }
}

impl BitString {
    /// The empty bit string.
    pub fn new() -> BitString {
        BitString::default()
    }

    /// `len` bits packed in `bytes` (most significant bit first). `bytes` must
    /// hold exactly `ceil(len / 8)` bytes; padding bits in the last byte are cleared.
    pub fn from_bytes(bytes: impl Into<Vec<u8>>, len: usize) -> Result<BitString, InvalidValue> {
        let mut bytes = bytes.into();
        let needed = len.div_ceil(8);
        if bytes.len() != needed {
            return Err(InvalidValue::new(format!(
                "{len} bits need {needed} bytes, got {}",
                bytes.len()
            )));
        }
        if let Some(last) = bytes.last_mut() {
            *last &= last_byte_mask(len);
        }
        Ok(BitString { len, bytes })
    }

    /// The bits of an iterator, in order.
    pub fn from_bits(bits: impl IntoIterator<Item = bool>) -> BitString {
        let mut b = BitString::new();
        for bit in bits {
            b.push(bit);
        }
        b
    }

    /// Appends a bit.
    pub fn push(&mut self, bit: bool) {
        if self.len.is_multiple_of(8) {
            self.bytes.push(0);
        }
        if bit && let Some(last) = self.bytes.last_mut() {
            *last |= 0x80 >> (self.len % 8);
        }
        self.len += 1;
    }

    /// The number of bits.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no bits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bit `i` (0 is the first, leftmost bit), or `None` past the end.
    pub fn get(&self, i: usize) -> Option<bool> {
        if i >= self.len {
            return None;
        }
        self.bytes.get(i / 8).map(|b| b & (0x80 >> (i % 8)) != 0)
    }

    /// The bits in order.
    pub fn iter(&self) -> impl Iterator<Item = bool> + '_ {
        (0..self.len).map(|i| self.get(i).unwrap_or(false))
    }

    /// The packed bytes (padding bits zero).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl fmt::Display for BitString {
    /// `0`/`1` digits, as PostgreSQL prints bit strings.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for bit in self.iter() {
            f.write_str(if bit { "1" } else { "0" })?;
        }
        Ok(())
    }
}

impl FromStr for BitString {
    type Err = DecodeError;
    /// Parses `0`/`1` digits.
    fn from_str(s: &str) -> Result<BitString, DecodeError> {
        let mut b = BitString::new();
        for c in s.chars() {
            match c {
                '0' => b.push(false),
                '1' => b.push(true),
                _ => {
                    return Err(DecodeError::new(format!(
                        "invalid bit string: {c:?} is not a binary digit"
                    )));
                }
            }
        }
        Ok(b)
    }
}

impl FromIterator<bool> for BitString {
    fn from_iter<I: IntoIterator<Item = bool>>(iter: I) -> Self {
        BitString::from_bits(iter)
    }
}

impl Type for BitString {
    fn type_ref() -> TypeRef {
        TypeRef::Oid(Oid::VARBIT)
    }
    /// `bit` or `varbit`.
    fn compatible(ty: &TypeInfo) -> bool {
        ty.oid() == Oid::BIT || ty.oid() == Oid::VARBIT
    }
}

impl Encode for BitString {
    /// Sends a `varbit`; PostgreSQL casts it to `bit(n)` on assignment when the lengths match.
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        buf.extend_from_slice(&wire_len(self.len, "a bit string")?.to_be_bytes());
        buf.extend_from_slice(&self.bytes);
        Ok(IsNull::No)
    }
    fn param_type(&self) -> TypeRef {
        Self::type_ref()
    }
    fn size_hint(&self) -> usize {
        self.bytes.len().saturating_add(4)
    }
}

impl<'r> Decode<'r> for BitString {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        let bytes = value.non_null::<Self>()?;
        match value.format() {
            Format::Binary => {
                let mut r = Reader::new(bytes, "bit string");
                let len = r.i32()?;
                let len = usize::try_from(len)
                    .map_err(|_| r.error(format_args!("negative length {len}")))?;
                let packed = r.bytes(len.div_ceil(8))?;
                r.finish()?;
                BitString::from_bytes(packed, len).map_err(|e| DecodeError::new(e.to_string()))
            }
            Format::Text => std::str::from_utf8(bytes)
                .map_err(|_| DecodeError::new("invalid bit string: not UTF-8"))?
                .parse(),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;

    use super::super::container_golden::{BITS, golden};
    use super::super::test_elements::{decode, encode, hex};
    use super::*;

    #[test]
    fn matches_the_server() {
        for (name, oid, bits) in [
            ("bit3", Oid::BIT, "101"),
            ("bit8", Oid::BIT, "11110000"),
            ("bit12", Oid::BIT, "101010101010"),
            ("varbit10", Oid::VARBIT, "1010101010"),
            ("varbit_empty", Oid::VARBIT, ""),
        ] {
            let g = golden(BITS, name);
            let want: BitString = bits.parse().unwrap();
            assert_eq!(encode(&want), g.bytes(), "{name}");
            assert_eq!(want.to_string(), g.text, "{name}");
            assert_eq!(
                decode::<BitString>(oid, Format::Binary, &g.bytes()).unwrap(),
                want,
                "{name}"
            );
            assert_eq!(
                decode::<BitString>(oid, Format::Text, g.text.as_bytes()).unwrap(),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn padding_is_cleared_and_lengths_checked() {
        // 3 bits with junk in the padding: read as the same value as B'101'.
        let b: BitString = decode(Oid::BIT, Format::Binary, &hex("00000003 bf")).unwrap();
        assert_eq!(b, "101".parse().unwrap());
        assert_eq!(
            BitString::from_bytes(vec![0xff], 1).unwrap().as_bytes(),
            &[0x80]
        );
        assert!(BitString::from_bytes(vec![0xff, 0], 8).is_err());
        for (what, h) in BIT_HOSTILE {
            assert!(
                decode::<BitString>(Oid::VARBIT, Format::Binary, &hex(h)).is_err(),
                "{what}"
            );
        }
        assert!(decode::<BitString>(Oid::VARBIT, Format::Text, b"102").is_err());
        let b = BitString::from_bits([true, false, true, true, false, false, false, false, true]);
        assert_eq!(
            (b.get(8), b.get(9), b.to_string().as_str()),
            (Some(true), None, "101100001")
        );
    }

    /// Binary bit strings that must be decode errors.
    pub(crate) const BIT_HOSTILE: &[(&str, &str)] = &[
        ("negative length", "ffffffff"),
        ("2^31-1 bits, one byte", "7fffffff 00"),
        ("missing byte", "00000009 ff"),
        ("extra byte", "00000008 ff 00"),
        ("short header", "000000"),
    ];

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..16)) {
            let _ = decode::<BitString>(Oid::BIT, Format::Binary, &bytes);
            let _ = decode::<BitString>(Oid::BIT, Format::Text, &bytes);
        }

        #[test]
        fn round_trip(bits in proptest::collection::vec(any::<bool>(), 0..40)) {
            let b = BitString::from_bits(bits.clone());
            prop_assert_eq!(b.iter().collect::<Vec<_>>(), bits);
            prop_assert_eq!(decode::<BitString>(Oid::VARBIT, Format::Binary, &encode(&b)).unwrap(), b.clone());
            prop_assert_eq!(b.to_string().parse::<BitString>().unwrap(), b);
        }
    }
}
