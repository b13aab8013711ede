//! `mac_address::MacAddress` <-> `macaddr`, through [`MacAddr`]. (The crate has no
//! 8-byte address: `macaddr8` reads into [`MacAddr8`](crate::types::MacAddr8).)

use super::via_own_type;
use crate::types::{MacAddr, ValueError};

impl TryFrom<&mac_address::MacAddress> for MacAddr {
    type Error = ValueError;
    fn try_from(mac: &mac_address::MacAddress) -> Result<MacAddr, ValueError> {
        Ok(MacAddr(mac.bytes()))
    }
}

impl TryFrom<MacAddr> for mac_address::MacAddress {
    type Error = ValueError;
    fn try_from(mac: MacAddr) -> Result<mac_address::MacAddress, ValueError> {
        Ok(mac_address::MacAddress::new(mac.0))
    }
}

via_own_type!(mac_address::MacAddress, MacAddr);

#[cfg(test)]
mod tests {
    use mac_address::MacAddress;

    use crate::types::Oid;
    use crate::types::read::testing::{bin, encode, text};

    #[test]
    fn both_ways() {
        let mac = MacAddress::new([0x08, 0x00, 0x2b, 0x01, 0x02, 0x03]);
        assert_eq!(bin::<MacAddress>(Oid::MACADDR, &encode(&mac)), Ok(mac));
        assert_eq!(
            text::<MacAddress>(Oid::MACADDR, "08:00:2b:01:02:03"),
            Ok(mac)
        );
        assert!(text::<MacAddress>(Oid::MACADDR8, "08:00:2b:01:02:03:04:05").is_err());
    }
}
