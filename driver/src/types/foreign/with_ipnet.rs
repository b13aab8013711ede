//! `ipnet::IpNet` <-> `inet` (reads `cidr` too), through [`IpNetwork`].
//!
//! Sent as `inet`, which holds an address with any netmask, as an `IpNet` does. Read from
//! a `cidr` column it is the network (no host bits: PostgreSQL refuses them in a `cidr`).
//! Bound to a `cidr` parameter as `inet`, PostgreSQL's `inet` to `cidr` cast clears host
//! bits without an error; `query!` therefore sends an argument for a `cidr` parameter
//! through [`AsCidr`](crate::types::AsCidr), which sends it as `cidr` and refuses host
//! bits (an encode error). With `query`, wrap it in `AsCidr` yourself (or call
//! `IpNet::trunc` first to mean the network). A statement prepared without types has a
//! `cidr` parameter, and the server refuses host bits there (22P03).

use super::via_own_type;
use crate::types::{IpNetwork, ValueError};

impl TryFrom<&ipnet::IpNet> for IpNetwork {
    type Error = ValueError;
    fn try_from(net: &ipnet::IpNet) -> Result<IpNetwork, ValueError> {
        IpNetwork::new(net.addr(), net.prefix_len())
            .map_err(|e| ValueError::new(e.message().to_owned()))
    }
}

impl TryFrom<IpNetwork> for ipnet::IpNet {
    type Error = ValueError;
    fn try_from(net: IpNetwork) -> Result<ipnet::IpNet, ValueError> {
        ipnet::IpNet::new(net.addr(), net.prefix())
            .map_err(|e| ValueError::new(format!("{net} is not an ipnet::IpNet: {e}")))
    }
}

via_own_type!(ipnet::IpNet, IpNetwork);

#[cfg(test)]
mod tests {
    use crate::types::Encode;
    use crate::types::Oid;
    use crate::types::read::testing::{bin, encode, text};

    #[test]
    fn both_ways_through_inet_and_cidr() {
        let host: ipnet::IpNet = "10.1.2.3/8".parse().unwrap();
        assert_eq!(bin::<ipnet::IpNet>(Oid::INET, &encode(&host)), Ok(host));
        assert_eq!(host.param_type(), crate::types::TypeRef::Oid(Oid::INET));
        assert_eq!(
            text::<ipnet::IpNet>(Oid::CIDR, "2001:db8::/32"),
            Ok("2001:db8::/32".parse().unwrap())
        );
        assert_eq!(
            text::<ipnet::IpNet>(Oid::INET, "10.0.0.1"),
            Ok("10.0.0.1/32".parse().unwrap())
        );
    }
}
