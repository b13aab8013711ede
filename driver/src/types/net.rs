//! Network address types: `inet` and `cidr` as [`std::net::IpAddr`] (a host
//! address) or [`IpNetwork`] (address and prefix length), `macaddr` as
//! [`MacAddr`], `macaddr8` as [`MacAddr8`].
//!
//! `inet`/`cidr` binary format (`inet_send`): family byte (2 = IPv4, 3 =
//! IPv6: PostgreSQL's own `PGSQL_AF_INET`/`PGSQL_AF_INET6`, not the OS's
//! `AF_INET6`), prefix length byte, is-cidr byte, address length byte (4 or
//! 16), then the address bytes. `macaddr`/`macaddr8`: the 6 or 8 bytes.
//!
//! Text format is what `inet_out`/`cidr_out` print: `192.168.0.1`,
//! `10.1.2.3/8`, `10.0.0.0/8` (a `cidr` always shows its prefix), `::1`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use super::bounded::Reader;
use super::value::InvalidValue;
use super::{
    Decode, DecodeError, Encode, EncodeBuf, EncodeError, Format, IsNull, Oid, Type, TypeInfo,
    TypeRef, ValueRef,
};

/// PostgreSQL's family code for IPv4 (`PGSQL_AF_INET`, `AF_INET + 0`).
const PGSQL_AF_INET: u8 = 2;
/// PostgreSQL's family code for IPv6 (`PGSQL_AF_INET6`, `AF_INET + 1`).
const PGSQL_AF_INET6: u8 = 3;

fn max_prefix(addr: &IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

fn inet_or_cidr(ty: &TypeInfo) -> bool {
    ty.oid() == Oid::INET || ty.oid() == Oid::CIDR
}

/// Writes the `inet_recv`/`cidr_recv` binary form.
fn put_inet(buf: &mut Vec<u8>, addr: &IpAddr, prefix: u8, is_cidr: bool) {
    match addr {
        IpAddr::V4(a) => {
            buf.extend_from_slice(&[PGSQL_AF_INET, prefix, u8::from(is_cidr), 4]);
            buf.extend_from_slice(&a.octets());
        }
        IpAddr::V6(a) => {
            buf.extend_from_slice(&[PGSQL_AF_INET6, prefix, u8::from(is_cidr), 16]);
            buf.extend_from_slice(&a.octets());
        }
    }
}

/// An `inet`/`cidr` value as read: address, prefix length, whether it is a `cidr`.
fn read_inet(value: &ValueRef<'_>) -> Result<(IpAddr, u8, bool), DecodeError> {
    let bytes = value.non_null::<IpNetwork>()?;
    match value.format() {
        Format::Binary => {
            let mut r = Reader::new(bytes, "inet");
            let family = r.u8()?;
            let bits = r.u8()?;
            let is_cidr = r.u8()? != 0;
            let len = r.u8()?;
            let addr = match (family, len) {
                (PGSQL_AF_INET, 4) => {
                    let b: [u8; 4] = r
                        .bytes(4)?
                        .try_into()
                        .map_err(|_| r.error("short address"))?;
                    IpAddr::V4(Ipv4Addr::from(b))
                }
                (PGSQL_AF_INET6, 16) => {
                    let b: [u8; 16] = r
                        .bytes(16)?
                        .try_into()
                        .map_err(|_| r.error("short address"))?;
                    IpAddr::V6(Ipv6Addr::from(b))
                }
                (PGSQL_AF_INET | PGSQL_AF_INET6, _) => {
                    return Err(r.error(format_args!(
                        "address length {len} does not match its family"
                    )));
                }
                _ => return Err(r.error(format_args!("unknown address family {family}"))),
            };
            if bits > max_prefix(&addr) {
                return Err(r.error(format_args!("prefix length {bits} is too long for {addr}")));
            }
            r.finish()?;
            Ok((addr, bits, is_cidr))
        }
        Format::Text => {
            let text = std::str::from_utf8(bytes)
                .map_err(|_| DecodeError::new("invalid inet value: not UTF-8"))?;
            let net = parse_network(text)?;
            Ok((net.addr, net.prefix, value.type_info().oid() == Oid::CIDR))
        }
    }
}

// --- IpAddr ----------------------------------------------------------------------------

impl Type for IpAddr {
    fn type_ref() -> TypeRef {
        TypeRef::Oid(Oid::INET)
    }
    /// `inet` or `cidr`.
    fn compatible(ty: &TypeInfo) -> bool {
        inet_or_cidr(ty)
    }
}

impl Encode for IpAddr {
    /// Sends the address as an `inet` host address (full prefix length).
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        put_inet(buf, self, max_prefix(self), false);
        Ok(IsNull::No)
    }
    fn param_type(&self) -> TypeRef {
        Self::type_ref()
    }
    fn size_hint(&self) -> usize {
        20
    }
}

impl<'r> Decode<'r> for IpAddr {
    /// Reads a host address; a value with a shorter netmask (`10.0.0.0/8`)
    /// is an error, since dropping the mask would lose information.
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        value.non_null::<Self>()?;
        let (addr, prefix, is_cidr) = read_inet(&value)?;
        if prefix != max_prefix(&addr) {
            let ty = if is_cidr { "cidr" } else { "inet" };
            return Err(DecodeError::new(format!(
                "{ty} value {addr}/{prefix} has a netmask shorter than the full address; \
                 read it into quarry::types::IpNetwork"
            )));
        }
        Ok(addr)
    }
}

// --- IpNetwork -------------------------------------------------------------------------

/// An IP address with a prefix length: an `inet` (host address in a network,
/// `10.1.2.3/8`) or a `cidr` (a network, `10.0.0.0/8`, no bits set right of the mask).
///
/// ```
/// use std::net::{IpAddr, Ipv4Addr};
/// use quarry_driver::types::IpNetwork;
/// let host = IpNetwork::new(IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)), 8).unwrap();
/// assert_eq!(host.to_string(), "10.1.2.3/8");
/// assert_eq!(host.network(), IpAddr::V4(Ipv4Addr::new(10, 0, 0, 0)));
/// assert!(IpNetwork::cidr(host.addr(), 8).is_err()); // host bits set
/// ```
///
/// It remembers which of the two it is ([`IpNetwork::is_cidr`]) and is sent
/// as that type; values read from a `cidr` column are `cidr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IpNetwork {
    addr: IpAddr,
    prefix: u8,
    cidr: bool,
}

impl IpNetwork {
    /// An `inet` value: `addr` with a netmask of `prefix` bits (at most 32 for
    /// IPv4, 128 for IPv6).
    pub fn new(addr: IpAddr, prefix: u8) -> Result<IpNetwork, InvalidValue> {
        if prefix > max_prefix(&addr) {
            return Err(InvalidValue::new(format!(
                "prefix length {prefix} is too long for {addr} (at most {})",
                max_prefix(&addr)
            )));
        }
        Ok(IpNetwork {
            addr,
            prefix,
            cidr: false,
        })
    }

    /// A `cidr` value: like [`IpNetwork::new`], and no bits of `addr` may be
    /// set right of the netmask (`10.0.0.0/8`, not `10.1.0.0/8`).
    pub fn cidr(addr: IpAddr, prefix: u8) -> Result<IpNetwork, InvalidValue> {
        let net = IpNetwork::new(addr, prefix)?;
        if net.network() != addr {
            return Err(InvalidValue::new(format!(
                "invalid cidr value {addr}/{prefix}: bits are set right of the netmask \
                 (the network is {}/{prefix})",
                net.network()
            )));
        }
        Ok(IpNetwork { cidr: true, ..net })
    }

    /// The address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length (netmask bits).
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether this is a `cidr` (sent as `cidr`) rather than an `inet`.
    pub fn is_cidr(&self) -> bool {
        self.cidr
    }

    /// The network address: the address with the bits right of the netmask cleared.
    pub fn network(&self) -> IpAddr {
        match self.addr {
            IpAddr::V4(a) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask))
            }
            IpAddr::V6(a) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask))
            }
        }
    }
}

impl From<IpAddr> for IpNetwork {
    /// A host address: an `inet` with the full prefix length.
    fn from(addr: IpAddr) -> Self {
        IpNetwork {
            addr,
            prefix: max_prefix(&addr),
            cidr: false,
        }
    }
}

fn parse_network(s: &str) -> Result<IpNetwork, DecodeError> {
    let bad = |why: &str| DecodeError::new(format!("invalid inet value {s:?}: {why}"));
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let addr: IpAddr = addr.parse().map_err(|_| bad("not an IP address"))?;
    let prefix = match prefix {
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
            p.parse::<u8>().map_err(|_| bad("bad prefix length"))?
        }
        Some(_) => return Err(bad("bad prefix length")),
        None => max_prefix(&addr),
    };
    IpNetwork::new(addr, prefix).map_err(|e| bad(e.message()))
}

impl FromStr for IpNetwork {
    type Err = DecodeError;
    /// Parses `addr` or `addr/prefix` as an `inet`.
    fn from_str(s: &str) -> Result<IpNetwork, DecodeError> {
        parse_network(s)
    }
}

/// Writes an IPv6 address as PostgreSQL does (`inet_net_ntop`): the longest
/// run of two or more zero groups as `::` (the first such run on a tie), and
/// the last 32 bits as dotted IPv4 when the first 96 bits are zero (and the
/// address is not `::` or `::1`-like) or are `::ffff:`.
fn write_ipv6(f: &mut fmt::Formatter<'_>, a: &Ipv6Addr) -> fmt::Result {
    let words = a.segments();
    let (mut best_start, mut best_len) = (None::<usize>, 0usize);
    let mut i = 0;
    while i < 8 {
        if words[i] == 0 {
            let start = i;
            while i < 8 && words[i] == 0 {
                i += 1;
            }
            if i - start > best_len {
                best_start = Some(start);
                best_len = i - start;
            }
        } else {
            i += 1;
        }
    }
    if best_len < 2 {
        best_start = None;
    }
    let embedded_v4 =
        best_start == Some(0) && (best_len == 6 || (best_len == 5 && words[5] == 0xffff));
    let mut i = 0;
    while i < 8 {
        if best_start == Some(i) {
            f.write_str(":")?;
            if i == 0 {
                f.write_str(":")?;
            }
            i += best_len;
            continue;
        }
        if embedded_v4 && i == 6 {
            let o = a.octets();
            return write!(f, "{}.{}.{}.{}", o[12], o[13], o[14], o[15]);
        }
        write!(f, "{:x}", words[i])?;
        if i < 7 {
            f.write_str(":")?;
        }
        i += 1;
    }
    Ok(())
}

fn write_addr(f: &mut fmt::Formatter<'_>, addr: &IpAddr) -> fmt::Result {
    match addr {
        IpAddr::V4(a) => write!(f, "{a}"),
        IpAddr::V6(a) => write_ipv6(f, a),
    }
}

/// The PostgreSQL text form: `inet_out` for an `inet` (no `/prefix` when it
/// is the full length), `cidr_out` for a `cidr` (always `/prefix`).
impl fmt::Display for IpNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_addr(f, &self.addr)?;
        if self.cidr || self.prefix != max_prefix(&self.addr) {
            write!(f, "/{}", self.prefix)?;
        }
        Ok(())
    }
}

impl Type for IpNetwork {
    fn type_ref() -> TypeRef {
        TypeRef::Oid(Oid::INET)
    }
    /// `inet` or `cidr`.
    fn compatible(ty: &TypeInfo) -> bool {
        inet_or_cidr(ty)
    }
}

impl Encode for IpNetwork {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        // The constructors uphold these; check again so a bad value never reaches the server.
        if self.prefix > max_prefix(&self.addr) || (self.cidr && self.network() != self.addr) {
            return Err(EncodeError::new(format!("invalid network value {self}")));
        }
        put_inet(buf, &self.addr, self.prefix, self.cidr);
        Ok(IsNull::No)
    }
    fn param_type(&self) -> TypeRef {
        TypeRef::Oid(if self.cidr { Oid::CIDR } else { Oid::INET })
    }
    fn size_hint(&self) -> usize {
        20
    }
}

impl<'r> Decode<'r> for IpNetwork {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        let (addr, prefix, cidr) = read_inet(&value)?;
        // A cidr from the server never has host bits set; do not fail on one that does.
        Ok(IpNetwork { addr, prefix, cidr })
    }
}

/// Sends an `inet`-typed value as `cidr`, refusing host bits: an address, an
/// [`IpNetwork`], or the `ipnetwork`/`ipnet` crates' networks (features), also inside
/// `Option` or behind a reference.
///
/// Those types are sent as `inet`, and bound to a `cidr` parameter PostgreSQL's `inet`
/// to `cidr` cast clears the bits right of the netmask without an error (`10.1.2.3/8`
/// becomes `10.0.0.0/8`). `query!` wraps an argument in `AsCidr` when the parameter is
/// `cidr`, so there the value is sent as `cidr` and a host bit is an encode error, as
/// for [`IpNetwork::cidr`]; wrap it yourself to get the same with [`query`](fn@crate::query).
/// A value of any other type is sent unchanged.
///
/// ```
/// use std::net::{IpAddr, Ipv4Addr};
/// use quarry_driver::types::{AsCidr, IpNetwork};
/// # use quarry_driver::types::{Encode, EncodeBuf};
/// let host = IpNetwork::new(IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)), 8).unwrap();
/// let err = AsCidr(&host).encode(&mut EncodeBuf::new()).unwrap_err();
/// assert!(err.to_string().contains("right of the netmask"));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct AsCidr<'a, T: ?Sized>(pub &'a T);

/// Whether `ty` is sent as an `inet` (or already a `cidr`).
fn is_network_type(ty: TypeRef) -> bool {
    matches!(ty, TypeRef::Oid(Oid::INET | Oid::CIDR))
}

/// Checks an encoded `inet` value for host bits and marks it a `cidr`.
fn inet_bytes_to_cidr(bytes: &mut [u8]) -> Result<(), EncodeError> {
    let (addr, prefix, flag) = match bytes {
        [PGSQL_AF_INET, prefix, flag, 4, a @ ..] => <[u8; 4]>::try_from(&*a)
            .ok()
            .map(|b| (IpAddr::V4(Ipv4Addr::from(b)), *prefix, flag)),
        [PGSQL_AF_INET6, prefix, flag, 16, a @ ..] => <[u8; 16]>::try_from(&*a)
            .ok()
            .map(|b| (IpAddr::V6(Ipv6Addr::from(b)), *prefix, flag)),
        _ => None,
    }
    .ok_or_else(|| EncodeError::new("the value to send as cidr is not an inet value"))?;
    let cidr = IpNetwork::cidr(addr, prefix).map_err(|e| {
        EncodeError::new(format!(
            "the parameter is cidr: {e}; send the network ({}) or make the parameter inet",
            IpNetwork::new(addr, prefix).map_or(addr, |n| n.network())
        ))
    })?;
    *flag = u8::from(cidr.is_cidr());
    Ok(())
}

impl<T: Encode + ?Sized> Encode for AsCidr<'_, T> {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        let at = buf.len();
        let is_null = self.0.encode(buf)?;
        if is_null == IsNull::No && is_network_type(self.0.param_type()) {
            inet_bytes_to_cidr(&mut buf[at..])?;
        }
        Ok(is_null)
    }
    fn param_type(&self) -> TypeRef {
        match self.0.param_type() {
            t if is_network_type(t) => TypeRef::Oid(Oid::CIDR),
            other => other,
        }
    }
    fn size_hint(&self) -> usize {
        self.0.size_hint()
    }
}

// --- MAC addresses ---------------------------------------------------------------------

macro_rules! mac_type {
    ($name:ident, $n:literal, $oid:expr, $pg:literal, $doc:literal) => {
        #[doc = $doc]
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub [u8; $n]);

        /// Lowercase hex pairs separated by `:`, as PostgreSQL prints them.
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                for (i, b) in self.0.iter().enumerate() {
                    if i > 0 {
                        f.write_str(":")?;
                    }
                    write!(f, "{b:02x}")?;
                }
                Ok(())
            }
        }

        impl FromStr for $name {
            type Err = DecodeError;
            /// Parses hex pairs separated by `:` or `-` (either case), or without separators.
            fn from_str(s: &str) -> Result<$name, DecodeError> {
                let bad = || DecodeError::new(format!("invalid {} value {s:?}", $pg));
                let hex: Vec<u8> = s.bytes().filter(|&b| b != b':' && b != b'-').collect();
                let separated = hex.len() != s.len();
                if hex.len() != 2 * $n
                    || !hex.iter().all(u8::is_ascii_hexdigit)
                    || (separated && s.len() != 3 * $n - 1)
                    || (separated && s.bytes().skip(2).step_by(3).any(|b| b != b':' && b != b'-'))
                {
                    return Err(bad());
                }
                let mut out = [0u8; $n];
                for (o, pair) in out.iter_mut().zip(hex.chunks(2)) {
                    let pair = std::str::from_utf8(pair).map_err(|_| bad())?;
                    *o = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
                }
                Ok($name(out))
            }
        }

        impl Type for $name {
            fn type_ref() -> TypeRef {
                TypeRef::Oid($oid)
            }
        }

        impl Encode for $name {
            fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
                buf.extend_from_slice(&self.0);
                Ok(IsNull::No)
            }
            fn param_type(&self) -> TypeRef {
                Self::type_ref()
            }
            fn size_hint(&self) -> usize {
                $n
            }
        }

        impl<'r> Decode<'r> for $name {
            fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
                let bytes = value.non_null::<Self>()?;
                match value.format() {
                    Format::Binary => bytes.try_into().map($name).map_err(|_| {
                        DecodeError::new(format!(
                            "invalid {} value: expected {} bytes, got {}",
                            $pg,
                            $n,
                            bytes.len()
                        ))
                    }),
                    Format::Text => std::str::from_utf8(bytes)
                        .map_err(|_| {
                            DecodeError::new(concat!("invalid ", $pg, " value: not UTF-8"))
                        })?
                        .parse(),
                }
            }
        }
    };
}

mac_type!(
    MacAddr,
    6,
    Oid::MACADDR,
    "macaddr",
    "A 6-byte MAC address (`macaddr`)."
);
mac_type!(
    MacAddr8,
    8,
    Oid::MACADDR8,
    "macaddr8",
    "An 8-byte EUI-64 MAC address (`macaddr8`)."
);

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;

    use super::super::Array;
    use super::super::container_golden::{ARRAYS, NET, golden};
    use super::super::test_elements::{decode, encode, hex};
    use super::*;

    fn v4(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn as_cidr_refuses_host_bits_and_marks_networks() {
        let sent = |v: &dyn Fn(&mut EncodeBuf) -> Result<IsNull, EncodeError>| {
            let mut buf = EncodeBuf::new();
            v(&mut buf).map(|n| (n, buf.as_bytes().to_vec()))
        };
        let host = IpNetwork::new(v4("10.1.2.3"), 8).unwrap();
        let err = sent(&|b| AsCidr(&host).encode(b)).unwrap_err();
        assert!(
            err.to_string().contains("10.1.2.3/8") && err.to_string().contains("10.0.0.0"),
            "{err}"
        );
        let net = IpNetwork::new(v4("10.0.0.0"), 8).unwrap();
        assert_eq!(
            sent(&|b| AsCidr(&net).encode(b)).unwrap(),
            (IsNull::No, vec![2, 8, 1, 4, 10, 0, 0, 0])
        );
        assert_eq!(AsCidr(&net).param_type(), TypeRef::Oid(Oid::CIDR));
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert!(sent(&|b| AsCidr(&IpNetwork::new(v6, 64).unwrap()).encode(b)).is_err());
        assert!(
            sent(&|b| AsCidr(&v6).encode(b)).is_ok(),
            "/128 has no host bits"
        );
        let null: Option<IpNetwork> = None;
        assert_eq!(sent(&|b| AsCidr(&null).encode(b)).unwrap().0, IsNull::Yes);
        assert_eq!(AsCidr(&null).param_type(), TypeRef::Oid(Oid::CIDR));
        // Not a network type: sent unchanged.
        assert_eq!(AsCidr(&5i32).param_type(), TypeRef::Oid(Oid::INT4));
        assert_eq!(
            sent(&|b| AsCidr(&5i32).encode(b)).unwrap().1,
            vec![0, 0, 0, 5]
        );
    }

    /// (golden row, address, prefix, is cidr)
    const NETWORKS: &[(&str, &str, u8, bool)] = &[
        ("inet_v4_host", "192.168.0.1", 32, false),
        ("inet_v4_broadcast", "255.255.255.255", 32, false),
        ("inet_v4_prefix", "10.1.2.3", 8, false),
        ("cidr_v4", "10.0.0.0", 8, true),
        ("cidr_v4_full", "10.1.2.3", 32, true),
        ("cidr_v4_zero", "0.0.0.0", 0, true),
        ("inet_v6_loopback", "::1", 128, false),
        ("inet_v6_unspecified", "::", 128, false),
        ("inet_v6_prefix", "2001:db8::1", 64, false),
        ("inet_v6_longest_zero_run", "1:0:0:2:0:0:0:3", 128, false),
        ("inet_v6_v4_compatible", "::1.2.3.4", 128, false),
        ("inet_v6_v4_mapped", "::ffff:1.2.3.4", 128, false),
        ("inet_v6_two", "::2", 128, false),
        ("inet_v6_mapped_zero", "::ffff:0:0", 128, false),
        ("inet_v6_six_zero_words", "::0.1.0.0", 128, false),
        ("inet_v6_five_zero_words", "::1:0:0", 128, false),
        ("inet_v6_first_run_wins", "1:0:0:1:0:0:1:1", 128, false),
        ("cidr_v6", "2001:db8::", 32, true),
        ("cidr_v6_zero", "::", 0, true),
        (
            "cidr_v6_full",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            128,
            true,
        ),
    ];

    #[test]
    fn networks_match_the_server() {
        for &(name, addr, prefix, cidr) in NETWORKS {
            let g = golden(NET, name);
            let oid = if cidr { Oid::CIDR } else { Oid::INET };
            let want = if cidr {
                IpNetwork::cidr(v4(addr), prefix).unwrap()
            } else {
                IpNetwork::new(v4(addr), prefix).unwrap()
            };
            assert_eq!(encode(&want), g.bytes(), "{name}: encode");
            assert_eq!(want.to_string(), g.text, "{name}: display");
            assert_eq!(
                decode::<IpNetwork>(oid, Format::Binary, &g.bytes()).unwrap(),
                want,
                "{name}"
            );
            assert_eq!(
                decode::<IpNetwork>(oid, Format::Text, g.text.as_bytes()).unwrap(),
                want,
                "{name}"
            );
            // Host addresses read as IpAddr; shorter netmasks do not.
            let as_addr = decode::<IpAddr>(oid, Format::Binary, &g.bytes());
            let as_text = decode::<IpAddr>(oid, Format::Text, g.text.as_bytes());
            if prefix == max_prefix(&v4(addr)) {
                assert_eq!(as_addr.unwrap(), v4(addr), "{name}");
                assert_eq!(as_text.unwrap(), v4(addr), "{name}");
                if !cidr {
                    assert_eq!(encode(&v4(addr)), g.bytes(), "{name}: IpAddr encode");
                }
            } else {
                let err = as_addr.unwrap_err();
                assert!(
                    err.message()
                        .contains("read it into quarry::types::IpNetwork"),
                    "{err}"
                );
                assert!(as_text.is_err());
            }
        }
        let err = decode::<IpAddr>(
            Oid::INET,
            Format::Binary,
            &golden(NET, "inet_v4_prefix").bytes(),
        )
        .unwrap_err();
        assert_eq!(
            err.message(),
            "inet value 10.1.2.3/8 has a netmask shorter than the full address; \
             read it into quarry::types::IpNetwork"
        );
    }

    #[test]
    fn construction_rules() {
        assert!(IpNetwork::new(v4("10.0.0.1"), 33).is_err());
        assert!(IpNetwork::new(v4("::1"), 129).is_err());
        assert!(IpNetwork::new(v4("::1"), 128).is_ok());
        let err = IpNetwork::cidr(v4("10.1.0.0"), 8).unwrap_err();
        assert_eq!(
            err.message(),
            "invalid cidr value 10.1.0.0/8: bits are set right of the netmask (the network is 10.0.0.0/8)"
        );
        assert!(IpNetwork::cidr(v4("2001:db8::1"), 64).is_err());
        assert!(IpNetwork::cidr(v4("2001:db8::"), 32).is_ok());
        assert_eq!(
            IpNetwork::cidr(v4("0.0.0.0"), 0).unwrap().param_type(),
            TypeRef::Oid(Oid::CIDR)
        );
        assert_eq!(IpNetwork::from(v4("::1")).to_string(), "::1");
        assert_eq!("10.1.2.3/8".parse::<IpNetwork>().unwrap().prefix(), 8);
        for bad in [
            "10.1.2.3/33",
            "10.1.2.3/",
            "10.1.2.3/+8",
            "x",
            "::1/129",
            "1.2.3.4/8/8",
        ] {
            assert!(bad.parse::<IpNetwork>().is_err(), "{bad}");
        }
        // A hand-built cidr with host bits set is refused at encode time.
        let forged = IpNetwork {
            addr: v4("10.1.0.0"),
            prefix: 8,
            cidr: true,
        };
        assert!(forged.encode(&mut EncodeBuf::new()).is_err());
        assert!(IpAddr::compatible(&TypeInfo::from_oid(Oid::CIDR)));
        assert!(!IpAddr::compatible(&TypeInfo::from_oid(Oid::TEXT)));
    }

    #[test]
    fn macs_match_the_server() {
        let g = golden(NET, "macaddr");
        let m = MacAddr([0x08, 0x00, 0x2b, 0x01, 0x02, 0x03]);
        assert_eq!(encode(&m), g.bytes());
        assert_eq!(m.to_string(), g.text);
        assert_eq!(
            decode::<MacAddr>(Oid::MACADDR, Format::Binary, &g.bytes()).unwrap(),
            m
        );
        assert_eq!(
            decode::<MacAddr>(Oid::MACADDR, Format::Text, g.text.as_bytes()).unwrap(),
            m
        );
        assert_eq!("08-00-2B-01-02-03".parse::<MacAddr>().unwrap(), m);
        assert_eq!("08002b010203".parse::<MacAddr>().unwrap(), m);
        for bad in [
            "08:00:2b:01:02",
            "08:00:2b:01:02:03:04",
            "0800:2b:01:02:03",
            "08:00:2b:01:02:0g",
            "08:00:2b:01:02:+3",
        ] {
            assert!(bad.parse::<MacAddr>().is_err(), "{bad}");
        }
        let g = golden(NET, "macaddr8");
        let m = MacAddr8([0x08, 0x00, 0x2b, 0x01, 0x02, 0x03, 0x04, 0x05]);
        assert_eq!(encode(&m), g.bytes());
        assert_eq!(m.to_string(), g.text);
        assert_eq!(
            decode::<MacAddr8>(Oid::MACADDR8, Format::Binary, &g.bytes()).unwrap(),
            m
        );
        assert_eq!(
            decode::<MacAddr8>(Oid::MACADDR8, Format::Text, g.text.as_bytes()).unwrap(),
            m
        );
        assert!(decode::<MacAddr8>(Oid::MACADDR8, Format::Binary, &[0; 6]).is_err());
    }

    #[test]
    fn inet_arrays() {
        let g = golden(ARRAYS, "inet");
        let want = vec![v4("192.168.0.1"), v4("::1")];
        assert_eq!(encode(&want), g.bytes());
        assert_eq!(
            decode::<Vec<IpAddr>>(Oid::INET_ARRAY, Format::Binary, &g.bytes()).unwrap(),
            want
        );
        assert_eq!(
            decode::<Vec<IpAddr>>(Oid::INET_ARRAY, Format::Text, g.text.as_bytes()).unwrap(),
            want
        );
        let g = golden(ARRAYS, "inet_2d_null");
        let want = Array::from_vec(
            vec![2, 2],
            vec![1, 1],
            vec![
                Some(v4("10.0.0.1")),
                None,
                Some(v4("::1")),
                Some(v4("1.2.3.4")),
            ],
        )
        .unwrap();
        assert_eq!(encode(&want), g.bytes());
        assert_eq!(
            decode::<Array<Option<IpAddr>>>(Oid::INET_ARRAY, Format::Binary, &g.bytes()).unwrap(),
            want
        );
        assert_eq!(
            decode::<Array<Option<IpAddr>>>(Oid::INET_ARRAY, Format::Text, g.text.as_bytes())
                .unwrap(),
            want
        );
    }

    /// Binary `inet` values that must be decode errors.
    pub(crate) const INET_HOSTILE: &[(&str, &str)] = &[
        ("empty", ""),
        ("unknown family", "0a 20 00 04 c0a80001"),
        (
            "OS AF_INET6 code",
            "0a 80 00 10 00000000000000000000000000000001",
        ),
        (
            "IPv4 with 16 bytes",
            "02 20 00 10 00000000000000000000000000000001",
        ),
        ("prefix 33", "02 21 00 04 c0a80001"),
        ("prefix 129", "03 81 00 10 00000000000000000000000000000001"),
        ("truncated address", "02 20 00 04 c0a800"),
        ("trailing byte", "02 20 00 04 c0a80001 00"),
    ];

    #[test]
    fn hostile_inets_fail_cleanly() {
        for &(what, h) in INET_HOSTILE {
            assert!(
                decode::<IpNetwork>(Oid::INET, Format::Binary, &hex(h)).is_err(),
                "{what}"
            );
            assert!(
                decode::<IpAddr>(Oid::INET, Format::Binary, &hex(h)).is_err(),
                "{what}"
            );
        }
    }

    fn network() -> impl Strategy<Value = IpNetwork> {
        prop_oneof![
            (any::<[u8; 4]>(), 0u8..=32)
                .prop_map(|(a, p)| IpNetwork::new(IpAddr::from(a), p).unwrap()),
            (any::<[u8; 16]>(), 0u8..=128)
                .prop_map(|(a, p)| IpNetwork::new(IpAddr::from(a), p).unwrap()),
            (any::<[u8; 16]>(), 0u8..=128).prop_map(|(a, p)| {
                let n = IpNetwork::new(IpAddr::from(a), p).unwrap();
                IpNetwork::cidr(n.network(), p).unwrap()
            }),
            // Mostly-zero IPv6 addresses exercise the `::` and embedded-IPv4 forms.
            (any::<[u16; 8]>(), any::<u8>(), 0u8..=128).prop_map(|(w, zeros, p)| {
                let w: Vec<u16> = w
                    .iter()
                    .enumerate()
                    .map(|(i, &x)| if zeros & (1 << i) != 0 { 0 } else { x })
                    .collect();
                let a = Ipv6Addr::new(w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]);
                IpNetwork::new(IpAddr::V6(a), p).unwrap()
            }),
        ]
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..24)) {
            let _ = decode::<IpNetwork>(Oid::INET, Format::Binary, &bytes);
            let _ = decode::<IpAddr>(Oid::CIDR, Format::Binary, &bytes);
            let _ = decode::<IpNetwork>(Oid::INET, Format::Text, &bytes);
            let _ = decode::<MacAddr>(Oid::MACADDR, Format::Text, &bytes);
            let _ = decode::<MacAddr8>(Oid::MACADDR8, Format::Binary, &bytes);
        }

        #[test]
        fn round_trips(n in network(), m in any::<[u8; 6]>(), m8 in any::<[u8; 8]>()) {
            let oid = if n.is_cidr() { Oid::CIDR } else { Oid::INET };
            prop_assert_eq!(decode::<IpNetwork>(oid, Format::Binary, &encode(&n)).unwrap(), n);
            prop_assert_eq!(decode::<IpNetwork>(oid, Format::Text, n.to_string().as_bytes()).unwrap(), n);
            prop_assert_eq!(MacAddr(m).to_string().parse::<MacAddr>().unwrap(), MacAddr(m));
            prop_assert_eq!(MacAddr8(m8).to_string().parse::<MacAddr8>().unwrap(), MacAddr8(m8));
        }
    }
}
