//! `bit_vec::BitVec` <-> `varbit` (reads `bit(n)` too), through [`BitString`].

use super::via_own_type;
use crate::types::{BitString, ValueError};

impl TryFrom<&bit_vec::BitVec> for BitString {
    type Error = ValueError;
    fn try_from(bits: &bit_vec::BitVec) -> Result<BitString, ValueError> {
        Ok(BitString::from_bits(bits.iter()))
    }
}

impl TryFrom<BitString> for bit_vec::BitVec {
    type Error = ValueError;
    fn try_from(bits: BitString) -> Result<bit_vec::BitVec, ValueError> {
        Ok(bits.iter().collect())
    }
}

via_own_type!(bit_vec::BitVec, BitString);

#[cfg(test)]
mod tests {
    use bit_vec::BitVec;

    use crate::types::Oid;
    use crate::types::read::testing::{bin, encode, text};

    #[test]
    fn both_ways() {
        for s in ["", "1", "0", "101100111", "0000000011111111"] {
            let bits: BitVec = s.bytes().map(|b| b == b'1').collect();
            assert_eq!(
                bin::<BitVec>(Oid::VARBIT, &encode(&bits)),
                Ok(bits.clone()),
                "{s}"
            );
            assert_eq!(text::<BitVec>(Oid::BIT, s), Ok(bits), "{s}");
        }
    }
}
