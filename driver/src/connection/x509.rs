//! The few fields of an X.509 certificate that TLS needs outside webpki: the version,
//! the public key, the subject's common name and the subjectAltName entries.
//!
//! webpki refuses X.509 v1 certificates outright (`UnsupportedCertVersion`), but OpenSSL
//! (the server, and libpq) accepts them, and `openssl x509 -req` without `-extfile` makes
//! them. Where nothing is verified (`sslmode=require`), the handshake only needs the key
//! from the certificate; this module finds it with a small, bounded DER walk (RFC 5280
//! section 4.1) that reads only what it is asked for and fails on truncated input.

use std::net::IpAddr;

/// What was read from a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Certificate<'a> {
    /// 1, 2 or 3 (the DER field holds the version minus one).
    pub(crate) version: u8,
    /// The whole tbsCertificate element: what the issuer signed.
    pub(crate) tbs: &'a [u8],
    /// The outer signatureAlgorithm, without its SEQUENCE header.
    pub(crate) signature_algorithm: &'a [u8],
    /// The issuer's signature (the BIT STRING's bits).
    pub(crate) signature: &'a [u8],
    /// The issuer Name, without its SEQUENCE header (as webpki keeps trust anchors').
    pub(crate) issuer: &'a [u8],
    /// The validity period, in seconds since 1970.
    pub(crate) not_before: i64,
    pub(crate) not_after: i64,
    /// The whole SubjectPublicKeyInfo element (tag and length included).
    pub(crate) spki: &'a [u8],
    /// The AlgorithmIdentifier inside the SubjectPublicKeyInfo, without its SEQUENCE
    /// header (the form webpki's `public_key_alg_id` uses).
    pub(crate) key_algorithm: &'a [u8],
    /// The subject public key (the BIT STRING's bits).
    pub(crate) public_key: &'a [u8],
    /// The value of the subject's first commonName attribute.
    pub(crate) common_name: Option<&'a [u8]>,
    /// subjectAltName entries of type dNSName and iPAddress, in order.
    pub(crate) alt_names: Vec<AltName<'a>>,
}

/// A subjectAltName entry that host name checks look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AltName<'a> {
    Dns(&'a [u8]),
    Ip(&'a [u8]),
}

/// Why a certificate could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed(pub(crate) &'static str);

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed certificate: {}", self.0)
    }
}

impl std::error::Error for Malformed {}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
const BOOLEAN: u8 = 0x01;
const VERSION: u8 = 0xa0;
const EXTENSIONS: u8 = 0xa3;
const DNS_NAME: u8 = 0x82;
const IP_ADDRESS: u8 = 0x87;
/// 2.5.4.3
const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
/// 2.5.29.17
const OID_SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];

/// A cursor over DER bytes that never reads past its end.
struct Der<'a> {
    rest: &'a [u8],
}

impl<'a> Der<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Der { rest: bytes }
    }

    fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// The next element: its tag, its contents and the whole element.
    fn any(&mut self) -> Result<(u8, &'a [u8], &'a [u8]), Malformed> {
        let bytes = self.rest;
        let (&tag, after_tag) = bytes.split_first().ok_or(Malformed("truncated"))?;
        let (&first, mut after_len) = after_tag.split_first().ok_or(Malformed("truncated"))?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 || after_len.len() < count {
                return Err(Malformed("bad length"));
            }
            let (len_bytes, tail) = after_len.split_at(count);
            after_len = tail;
            len_bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
        };
        if after_len.len() < len {
            return Err(Malformed("truncated"));
        }
        let (contents, rest) = after_len.split_at(len);
        let whole = &bytes[..bytes.len() - rest.len()];
        self.rest = rest;
        Ok((tag, contents, whole))
    }

    /// The next element, which must have this tag: its contents and the whole element.
    fn expect(&mut self, tag: u8, what: &'static str) -> Result<(&'a [u8], &'a [u8]), Malformed> {
        match self.any()? {
            (t, contents, whole) if t == tag => Ok((contents, whole)),
            _ => Err(Malformed(what)),
        }
    }
}

/// Reads a DER certificate.
pub(crate) fn parse(der: &[u8]) -> Result<Certificate<'_>, Malformed> {
    let mut outer = Der::new(der);
    let (cert, _) = outer.expect(SEQUENCE, "not a SEQUENCE")?;
    let mut cert = Der::new(cert);
    let (tbs_contents, tbs_whole) = cert.expect(SEQUENCE, "no tbsCertificate")?;
    let (signature_algorithm, _) = cert.expect(SEQUENCE, "signature algorithm")?;
    let (signature, _) = cert.expect(BIT_STRING, "signature")?;
    let signature = match signature.split_first() {
        Some((0, bits)) => bits,
        _ => return Err(Malformed("signature")),
    };
    let mut tbs = Der::new(tbs_contents);
    let version = if tbs.peek_tag() == Some(VERSION) {
        let (explicit, _) = tbs.expect(VERSION, "version")?;
        let (v, _) = Der::new(explicit).expect(INTEGER, "version")?;
        match v {
            [0] => 1,
            [1] => 2,
            [2] => 3,
            _ => return Err(Malformed("unknown version")),
        }
    } else {
        1
    };
    tbs.expect(INTEGER, "serial number")?;
    tbs.expect(SEQUENCE, "signature algorithm")?;
    let (issuer, _) = tbs.expect(SEQUENCE, "issuer")?;
    let (validity, _) = tbs.expect(SEQUENCE, "validity")?;
    let mut validity = Der::new(validity);
    let not_before = time(&mut validity)?;
    let not_after = time(&mut validity)?;
    let (subject, _) = tbs.expect(SEQUENCE, "subject")?;
    let (spki_contents, spki) = tbs.expect(SEQUENCE, "subjectPublicKeyInfo")?;
    let (key_algorithm, public_key) = public_key_parts(spki_contents)?;
    let mut alt_names = Vec::new();
    while !tbs.is_empty() {
        let (tag, contents, _) = tbs.any()?;
        if tag == EXTENSIONS {
            alt_names = subject_alt_names(contents)?;
        }
    }
    Ok(Certificate {
        version,
        tbs: tbs_whole,
        signature_algorithm,
        signature,
        issuer,
        not_before,
        not_after,
        spki,
        key_algorithm,
        public_key,
        common_name: common_name(subject)?,
        alt_names,
    })
}

/// The algorithm (without its SEQUENCE header) and the key bits of a
/// SubjectPublicKeyInfo given without its SEQUENCE header (as trust anchors keep it).
pub(crate) fn public_key_parts(spki_contents: &[u8]) -> Result<(&[u8], &[u8]), Malformed> {
    let mut key = Der::new(spki_contents);
    let (algorithm, _) = key.expect(SEQUENCE, "key algorithm")?;
    let (bits, _) = key.expect(BIT_STRING, "public key")?;
    match bits.split_first() {
        Some((0, public_key)) if key.is_empty() => Ok((algorithm, public_key)),
        _ => Err(Malformed("public key")),
    }
}

/// A UTCTime (`YYMMDDHHMMSSZ`, years 1950-2049) or GeneralizedTime
/// (`YYYYMMDDHHMMSSZ`), in seconds since 1970.
fn time(der: &mut Der<'_>) -> Result<i64, Malformed> {
    let (tag, text, _) = der.any()?;
    let digits = |s: &[u8]| -> Result<i64, Malformed> {
        s.iter().try_fold(0i64, |acc, &b| match b {
            b'0'..=b'9' => Ok(acc * 10 + i64::from(b - b'0')),
            _ => Err(Malformed("time")),
        })
    };
    let (year, rest) = match (tag, text.len()) {
        (0x17, 13) => {
            let yy = digits(&text[..2])?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, &text[2..])
        }
        (0x18, 15) => (digits(&text[..4])?, &text[4..]),
        _ => return Err(Malformed("time")),
    };
    if rest[10] != b'Z' {
        return Err(Malformed("time"));
    }
    let field = |i: usize| digits(&rest[i..i + 2]);
    let (month, day) = (field(0)?, field(2)?);
    let (hour, minute, second) = (field(4)?, field(6)?, field(8)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err(Malformed("time"));
    }
    // Days from 1970-01-01 to the date (Howard Hinnant's days_from_civil).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok(days * 86_400 + hour * 3600 + minute * 60 + second)
}

/// The first commonName in a Name (a SEQUENCE of SETs of attribute SEQUENCEs).
fn common_name(name: &[u8]) -> Result<Option<&[u8]>, Malformed> {
    let mut rdns = Der::new(name);
    while !rdns.is_empty() {
        let (set, _) = rdns.expect(SET, "name")?;
        let mut attributes = Der::new(set);
        while !attributes.is_empty() {
            let (attribute, _) = attributes.expect(SEQUENCE, "name attribute")?;
            let mut attribute = Der::new(attribute);
            let (oid, _) = attribute.expect(OID, "name attribute type")?;
            let (_, value, _) = attribute.any()?;
            if oid == OID_COMMON_NAME {
                return Ok(Some(value));
            }
        }
    }
    Ok(None)
}

/// The dNSName and iPAddress entries of the subjectAltName extension, if there is one.
fn subject_alt_names(explicit: &[u8]) -> Result<Vec<AltName<'_>>, Malformed> {
    let (extensions, _) = Der::new(explicit).expect(SEQUENCE, "extensions")?;
    let mut extensions = Der::new(extensions);
    let mut names = Vec::new();
    while !extensions.is_empty() {
        let (extension, _) = extensions.expect(SEQUENCE, "extension")?;
        let mut extension = Der::new(extension);
        let (oid, _) = extension.expect(OID, "extension id")?;
        if extension.peek_tag() == Some(BOOLEAN) {
            extension.any()?;
        }
        let (value, _) = extension.expect(OCTET_STRING, "extension value")?;
        if oid != OID_SUBJECT_ALT_NAME {
            continue;
        }
        let (general_names, _) = Der::new(value).expect(SEQUENCE, "subjectAltName")?;
        let mut general_names = Der::new(general_names);
        while !general_names.is_empty() {
            match general_names.any()? {
                (DNS_NAME, name, _) => names.push(AltName::Dns(name)),
                (IP_ADDRESS, ip, _) => names.push(AltName::Ip(ip)),
                _ => {}
            }
        }
    }
    Ok(names)
}

/// Whether `cert` is valid for `host`, by libpq's rules
/// (`pq_verify_peer_name_matches_certificate`): a subjectAltName of the host's kind
/// (IP address or DNS name) decides; only when the certificate has none of that kind is
/// the subject's common name compared as a DNS name. DNS names compare without regard to
/// case, and a leading `*.` matches exactly one label.
pub(crate) fn matches_host(cert: &Certificate<'_>, host: &str) -> bool {
    let ip: Option<IpAddr> = host.parse().ok();
    let mut check_cn = true;
    for name in &cert.alt_names {
        let (same_kind, matched) = match (name, ip) {
            (AltName::Dns(n), ip) => (ip.is_none(), dns_name_matches(n, host)),
            (AltName::Ip(bytes), Some(ip)) => (true, ip_matches(bytes, ip)),
            (AltName::Ip(_), None) => (false, false),
        };
        if same_kind {
            check_cn = false;
        }
        if matched {
            return true;
        }
    }
    check_cn
        && cert
            .common_name
            .is_some_and(|cn| dns_name_matches(cn, host))
}

fn ip_matches(bytes: &[u8], ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => bytes == v4.octets(),
        IpAddr::V6(v6) => bytes == v6.octets(),
    }
}

fn dns_name_matches(name: &[u8], host: &str) -> bool {
    // A name with an embedded NUL is an attack on C string handling; libpq refuses it.
    if name.contains(&0) {
        return false;
    }
    let Ok(name) = std::str::from_utf8(name) else {
        return false;
    };
    if name.eq_ignore_ascii_case(host) {
        return true;
    }
    // `*.example.com` matches `db.example.com`, not `example.com` nor `a.b.example.com`.
    match name.strip_prefix('*') {
        Some(suffix) if suffix.len() >= 2 && suffix.starts_with('.') => {
            host.len() > suffix.len()
                && host.is_char_boundary(host.len() - suffix.len())
                && host[host.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
                && !host[..host.len() - suffix.len()].contains('.')
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A DER element: tag, short or long length, contents.
    fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
        let [high, low] = u16::try_from(contents.len()).unwrap().to_be_bytes();
        let mut out = vec![tag];
        match (high, low) {
            (0, 0..=0x7f) => out.push(low),
            (0, _) => out.extend([0x81, low]),
            _ => out.extend([0x82, high, low]),
        }
        out.extend_from_slice(contents);
        out
    }

    fn cn(name: &str) -> Vec<u8> {
        let attr = [tlv(OID, OID_COMMON_NAME), tlv(0x0c, name.as_bytes())].concat();
        tlv(SEQUENCE, &tlv(SET, &tlv(SEQUENCE, &attr)))
    }

    fn cert(version: Option<u8>, subject_cn: &str, sans: &[AltName<'_>]) -> Vec<u8> {
        let alg = tlv(
            SEQUENCE,
            &tlv(OID, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]),
        );
        let key_alg = tlv(
            SEQUENCE,
            &tlv(OID, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]),
        );
        let spki = tlv(
            SEQUENCE,
            &[key_alg, tlv(BIT_STRING, &[0, 4, 1, 2, 3])].concat(),
        );
        let mut tbs = Vec::new();
        if let Some(v) = version {
            tbs.extend(tlv(VERSION, &tlv(INTEGER, &[v])));
        }
        tbs.extend(tlv(INTEGER, &[1]));
        tbs.extend(&alg);
        tbs.extend(cn("issuer"));
        tbs.extend(tlv(
            SEQUENCE,
            &[tlv(0x17, b"700101000000Z"), tlv(0x18, b"20491231235959Z")].concat(),
        ));
        tbs.extend(cn(subject_cn));
        tbs.extend(&spki);
        if !sans.is_empty() {
            let names: Vec<u8> = sans
                .iter()
                .flat_map(|n| match n {
                    AltName::Dns(d) => tlv(DNS_NAME, d),
                    AltName::Ip(i) => tlv(IP_ADDRESS, i),
                })
                .collect();
            let ext = [
                tlv(OID, OID_SUBJECT_ALT_NAME),
                tlv(OCTET_STRING, &tlv(SEQUENCE, &names)),
            ]
            .concat();
            tbs.extend(tlv(EXTENSIONS, &tlv(SEQUENCE, &tlv(SEQUENCE, &ext))));
        }
        let body = [tlv(SEQUENCE, &tbs), alg, tlv(BIT_STRING, &[0, 9])].concat();
        tlv(SEQUENCE, &body)
    }

    #[test]
    fn reads_version_key_and_names() {
        let v1 = cert(None, "db.example.com", &[]);
        let c = parse(&v1).unwrap();
        assert_eq!(c.version, 1);
        assert_eq!(c.public_key, &[4, 1, 2, 3]);
        assert_eq!(c.common_name, Some(&b"db.example.com"[..]));
        assert!(c.alt_names.is_empty());
        assert_eq!(c.spki[0], SEQUENCE);
        assert_eq!(c.not_before, 0);
        assert_eq!(c.not_after, 2_524_607_999);
        assert_eq!(c.signature, &[9]);
        assert_eq!(c.tbs[0], SEQUENCE);

        let v3 = cert(
            Some(2),
            "x",
            &[AltName::Dns(b"a"), AltName::Ip(&[127, 0, 0, 1])],
        );
        let c = parse(&v3).unwrap();
        assert_eq!(c.version, 3);
        assert_eq!(
            c.alt_names,
            [AltName::Dns(b"a"), AltName::Ip(&[127, 0, 0, 1])]
        );
    }

    #[test]
    fn truncated_or_hostile_input_is_an_error_not_a_panic() {
        let good = cert(Some(2), "x", &[AltName::Dns(b"a")]);
        for len in 0..good.len() {
            assert!(parse(&good[..len]).is_err(), "prefix of {len} bytes");
        }
        assert!(parse(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(parse(&[0x30, 0x80]).is_err());
    }

    #[test]
    fn host_names_follow_libpq() {
        let cn_only = cert(Some(2), "localhost", &[]);
        let c = parse(&cn_only).unwrap();
        assert!(matches_host(&c, "localhost"));
        assert!(matches_host(&c, "LOCALHOST"));
        assert!(!matches_host(&c, "127.0.0.1"));

        // A DNS SAN hides the CN from DNS host names, not from IP addresses.
        let dns_san = cert(Some(2), "127.0.0.1", &[AltName::Dns(b"db")]);
        let c = parse(&dns_san).unwrap();
        assert!(matches_host(&c, "db"));
        assert!(matches_host(&c, "127.0.0.1"));
        let dns_san = cert(Some(2), "other", &[AltName::Dns(b"db")]);
        assert!(!matches_host(&parse(&dns_san).unwrap(), "other"));

        // An IP SAN hides the CN from IP addresses.
        let ip_san = cert(Some(2), "127.0.0.1", &[AltName::Ip(&[10, 0, 0, 1])]);
        let c = parse(&ip_san).unwrap();
        assert!(!matches_host(&c, "127.0.0.1"));
        assert!(matches_host(&c, "10.0.0.1"));

        let wild = cert(Some(2), "*.example.com", &[]);
        let c = parse(&wild).unwrap();
        assert!(matches_host(&c, "db.example.com"));
        assert!(!matches_host(&c, "a.db.example.com"));
        assert!(!matches_host(&c, "example.com"));

        let nul = cert(Some(2), "localhost\0.evil", &[]);
        assert!(!matches_host(&parse(&nul).unwrap(), "localhost"));
    }
}
