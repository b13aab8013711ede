//! `ipnetwork::IpNetwork` <-> `inet` (reads `cidr` too), through [`IpNetwork`].
//!
//! Sent as `inet`, which holds an address with any netmask. Read from a `cidr` column it
//! is the network (no host bits: PostgreSQL refuses them in a `cidr`). Bound to a `cidr`
//! parameter as `inet`, PostgreSQL's `inet` to `cidr` cast clears host bits without an
//! error; `query!` therefore sends an argument for a `cidr` parameter through
//! [`AsCidr`](crate::types::AsCidr), which sends it as `cidr` and refuses host bits (an
//! encode error). With `query`, wrap it in `AsCidr` yourself. A statement prepared without
//! types has a `cidr` parameter, and the server refuses host bits there (22P03).

use super::via_own_type;
use crate::types::{IpNetwork, ValueError};

impl TryFrom<&ipnetwork::IpNetwork> for IpNetwork {
    type Error = ValueError;
    fn try_from(net: &ipnetwork::IpNetwork) -> Result<IpNetwork, ValueError> {
        IpNetwork::new(net.ip(), net.prefix()).map_err(|e| ValueError::new(e.message().to_owned()))
    }
}

impl TryFrom<IpNetwork> for ipnetwork::IpNetwork {
    type Error = ValueError;
    fn try_from(net: IpNetwork) -> Result<ipnetwork::IpNetwork, ValueError> {
        ipnetwork::IpNetwork::new(net.addr(), net.prefix())
            .map_err(|e| ValueError::new(format!("{net} is not an ipnetwork::IpNetwork: {e}")))
    }
}

via_own_type!(ipnetwork::IpNetwork, IpNetwork);

#[cfg(test)]
mod tests {
    use crate::types::Encode;
    use crate::types::Oid;
    use crate::types::read::testing::{bin, encode, text};

    #[test]
    fn both_ways_through_inet_and_cidr() {
        let host: ipnetwork::IpNetwork = "10.1.2.3/8".parse().unwrap();
        assert_eq!(
            bin::<ipnetwork::IpNetwork>(Oid::INET, &encode(&host)),
            Ok(host)
        );
        assert_eq!(host.param_type(), crate::types::TypeRef::Oid(Oid::INET));
        assert_eq!(
            text::<ipnetwork::IpNetwork>(Oid::CIDR, "2001:db8::/32"),
            Ok("2001:db8::/32".parse().unwrap())
        );
        assert_eq!(
            text::<ipnetwork::IpNetwork>(Oid::INET, "::1"),
            Ok("::1/128".parse().unwrap())
        );
    }
}
