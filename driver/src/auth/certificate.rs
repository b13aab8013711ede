//! `tls-server-end-point` channel binding data (RFC 5929 §4.1): a hash of
//! the server's end-entity certificate, with the hash function its signature
//! uses (MD5 and SHA-1 are replaced by SHA-256).
//!
//! We read just enough DER to find `signatureAlgorithm`, through a bounded
//! reader that fails on short input and never indexes the bytes.

use sha2::Digest;

use crate::failure::{Error, Result};

/// The channel binding data for `SCRAM-SHA-256-PLUS`: the hash of the
/// server's end-entity certificate (`certificate_der`, as the TLS layer
/// received it) named by RFC 5929.
///
/// Signature algorithms recognised: RSA PKCS #1 v1.5, ECDSA and DSA with
/// SHA-1, SHA-224, SHA-256, SHA-384 or SHA-512 (and MD5 for RSA), RSA-PSS
/// with the hash taken from its parameters. Anything else is an error, never
/// a guess or empty data: Ed25519 and Ed448 have no separate hash function,
/// so channel binding is not defined for them.
pub(crate) fn tls_server_end_point(certificate_der: &[u8]) -> Result<Vec<u8>> {
    let algorithm = signature_algorithm(certificate_der).map_err(|what| {
        Error::auth(format!(
            "channel binding: cannot read the server certificate: {what}"
        ))
    })?;
    let hash = binding_hash(&algorithm)?;
    Ok(hash.digest(certificate_der))
}

const SEQUENCE: u8 = 0x30;
const OID: u8 = 0x06;
const BIT_STRING: u8 = 0x03;
const NULL: u8 = 0x05;
/// `[0]` constructed, context-specific: RSASSA-PSS-params `hashAlgorithm`.
const EXPLICIT_0: u8 = 0xA0;

// Signature algorithm OIDs, as DER content bytes.
const MD5_WITH_RSA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x04];
const SHA1_WITH_RSA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x05];
const RSASSA_PSS: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0A];
const SHA256_WITH_RSA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0B];
const SHA384_WITH_RSA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0C];
const SHA512_WITH_RSA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0D];
const SHA224_WITH_RSA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0E];
const ECDSA_WITH_SHA1: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x01];
const ECDSA_WITH_SHA224: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x01];
const ECDSA_WITH_SHA256: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02];
const ECDSA_WITH_SHA384: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x03];
const ECDSA_WITH_SHA512: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x04];
const DSA_WITH_SHA1: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x38, 0x04, 0x03];
const DSA_WITH_SHA224: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x01];
const DSA_WITH_SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x02];
const ED25519: &[u8] = &[0x2B, 0x65, 0x70];
const ED448: &[u8] = &[0x2B, 0x65, 0x71];

// Hash algorithm OIDs (inside RSASSA-PSS parameters).
const SHA1: &[u8] = &[0x2B, 0x0E, 0x03, 0x02, 0x1A];
const SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
const SHA384: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02];
const SHA512: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03];
const SHA224: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04];

/// The hash functions `tls-server-end-point` can end up with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hash {
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Hash::Sha224 => sha2::Sha224::digest(data).to_vec(),
            Hash::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Hash::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Hash::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }

    /// RFC 5929 §4.1: MD5 and SHA-1 are replaced by SHA-256; others stay.
    fn from_hash_oid(oid: &[u8]) -> Option<Hash> {
        match oid {
            SHA1 | SHA256 => Some(Hash::Sha256),
            SHA224 => Some(Hash::Sha224),
            SHA384 => Some(Hash::Sha384),
            SHA512 => Some(Hash::Sha512),
            _ => None,
        }
    }
}

/// An `AlgorithmIdentifier`: the OID and its parameters, if any.
struct Algorithm<'a> {
    oid: &'a [u8],
    parameters: Option<(u8, &'a [u8])>,
}

fn binding_hash(algorithm: &Algorithm<'_>) -> Result<Hash> {
    let hash = match algorithm.oid {
        MD5_WITH_RSA | SHA1_WITH_RSA | ECDSA_WITH_SHA1 | DSA_WITH_SHA1 => Hash::Sha256,
        SHA256_WITH_RSA | ECDSA_WITH_SHA256 | DSA_WITH_SHA256 => Hash::Sha256,
        SHA224_WITH_RSA | ECDSA_WITH_SHA224 | DSA_WITH_SHA224 => Hash::Sha224,
        SHA384_WITH_RSA | ECDSA_WITH_SHA384 => Hash::Sha384,
        SHA512_WITH_RSA | ECDSA_WITH_SHA512 => Hash::Sha512,
        RSASSA_PSS => pss_hash(algorithm.parameters)?,
        ED25519 | ED448 => {
            let name = if algorithm.oid == ED25519 {
                "Ed25519"
            } else {
                "Ed448"
            };
            return Err(Error::auth(format!(
                "channel binding is not possible: the server certificate is signed with \
                 {name}, which has no separate hash function, so tls-server-end-point is not \
                 defined for it (RFC 5929); use a certificate signed with RSA or ECDSA, or set \
                 channel_binding=disable"
            )));
        }
        other => {
            return Err(Error::auth(format!(
                "channel binding is not possible: the server certificate's signature \
                 algorithm {} is not one Quarry can derive a tls-server-end-point hash for",
                dotted(other)
            )));
        }
    };
    Ok(hash)
}

/// The hash of an RSASSA-PSS signature (RFC 4055 §3.1): `hashAlgorithm [0]`
/// in the parameters, SHA-1 by default.
fn pss_hash(parameters: Option<(u8, &[u8])>) -> Result<Hash> {
    let undetermined = |why: &str| {
        Error::auth(format!(
            "channel binding is not possible: the server certificate is signed with RSA-PSS \
             and {why}"
        ))
    };
    let params = match parameters {
        Some((SEQUENCE, params)) => params,
        _ => {
            return Err(undetermined(
                "its parameters do not name the hash algorithm",
            ));
        }
    };
    let mut fields = Der(params);
    if fields.is_empty() {
        // Every field has its default: hashAlgorithm is SHA-1, replaced by SHA-256.
        return Ok(Hash::Sha256);
    }
    let (tag, content) = fields
        .read()
        .map_err(|what| undetermined(&format!("its parameters cannot be read: {what}")))?;
    if tag != EXPLICIT_0 {
        // hashAlgorithm absent: SHA-1 by default.
        return Ok(Hash::Sha256);
    }
    let mut explicit = Der(content);
    let inner = explicit
        .expect(SEQUENCE, "hashAlgorithm is not an AlgorithmIdentifier")
        .and_then(|inner| {
            if explicit.is_empty() {
                Ok(inner)
            } else {
                Err("unexpected data after hashAlgorithm")
            }
        })
        .and_then(algorithm)
        .map_err(|what| undetermined(&format!("its parameters cannot be read: {what}")))?;
    match inner.parameters {
        None | Some((NULL, [])) => {}
        Some(_) => return Err(undetermined("its hash algorithm has unexpected parameters")),
    }
    Hash::from_hash_oid(inner.oid).ok_or_else(|| {
        undetermined(&format!(
            "its hash algorithm {} is not one Quarry implements",
            dotted(inner.oid)
        ))
    })
}

/// `Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }`.
fn signature_algorithm(der: &[u8]) -> std::result::Result<Algorithm<'_>, &'static str> {
    let mut top = Der(der);
    let certificate = top.expect(SEQUENCE, "it is not a DER SEQUENCE")?;
    if !top.is_empty() {
        return Err("unexpected data after the certificate");
    }
    let mut fields = Der(certificate);
    fields.expect(SEQUENCE, "tbsCertificate is missing")?;
    let signature_algorithm = fields.expect(SEQUENCE, "signatureAlgorithm is missing")?;
    fields.expect(BIT_STRING, "signatureValue is missing")?;
    if !fields.is_empty() {
        return Err("unexpected data after signatureValue");
    }
    algorithm(signature_algorithm)
}

/// `AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL }`,
/// given the SEQUENCE's content.
fn algorithm(content: &[u8]) -> std::result::Result<Algorithm<'_>, &'static str> {
    let mut fields = Der(content);
    let oid = fields.expect(OID, "the algorithm OID is missing")?;
    let parameters = if fields.is_empty() {
        None
    } else {
        Some(fields.read()?)
    };
    if !fields.is_empty() {
        return Err("unexpected data after the algorithm parameters");
    }
    Ok(Algorithm { oid, parameters })
}

/// A bounded DER reader over the bytes not read yet.
struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// One TLV: its tag and content.
    fn read(&mut self) -> std::result::Result<(u8, &'a [u8]), &'static str> {
        let (&tag, rest) = self.0.split_first().ok_or("truncated (tag)")?;
        if tag & 0x1F == 0x1F {
            return Err("multi-byte tags do not occur in certificates");
        }
        let (&first, mut rest) = rest.split_first().ok_or("truncated (length)")?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7F);
            if count == 0 {
                return Err("indefinite length is not DER");
            }
            if count > 4 {
                return Err("a length over 4 GiB");
            }
            let (bytes, after) = rest.split_at_checked(count).ok_or("truncated (length)")?;
            rest = after;
            let mut len: u32 = 0;
            for &b in bytes {
                len = (len << 8) | u32::from(b);
            }
            usize::try_from(len).map_err(|_| "a length that does not fit in memory")?
        };
        let (content, after) = rest.split_at_checked(len).ok_or("truncated (content)")?;
        self.0 = after;
        Ok((tag, content))
    }

    /// One TLV that must have `tag`; `missing` says what was expected.
    fn expect(
        &mut self,
        tag: u8,
        missing: &'static str,
    ) -> std::result::Result<&'a [u8], &'static str> {
        match self.read() {
            Ok((found, content)) if found == tag => Ok(content),
            Ok(_) => Err(missing),
            Err(what) => Err(what),
        }
    }
}

/// An OID in dotted form, for error messages (`1.3.101.112`).
fn dotted(oid: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut value: u64 = 0;
    for &b in oid.iter().take(64) {
        value = match value.checked_mul(128) {
            Some(v) => v | u64::from(b & 0x7F),
            None => return "(an OID too long to show)".to_owned(),
        };
        if b & 0x80 == 0 {
            arcs.push(value);
            value = 0;
        }
    }
    let Some((&first, rest)) = arcs.split_first() else {
        return "(an empty or malformed OID)".to_owned();
    };
    let (a, b) = match first {
        0..40 => (0, first),
        40..80 => (1, first - 40),
        _ => (2, first - 80),
    };
    let mut out = format!("{a}.{b}");
    for arc in rest {
        out.push('.');
        out.push_str(&arc.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use proptest::prelude::*;

    const RSA_SHA256: &[u8] = include_bytes!("testdata/rsa_sha256.der");
    const RSA_SHA1: &[u8] = include_bytes!("testdata/rsa_sha1.der");
    const ECDSA_SHA384: &[u8] = include_bytes!("testdata/ecdsa_sha384.der");
    const RSA_PSS_SHA512: &[u8] = include_bytes!("testdata/rsa_pss_sha512.der");
    const ED25519_CERT: &[u8] = include_bytes!("testdata/ed25519.der");

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// A DER TLV, with the long length form when needed.
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match content.len() {
            len @ 0..0x80 => out.push(u8::try_from(len).unwrap()),
            len @ 0x80..0x100 => out.extend([0x81, u8::try_from(len).unwrap()]),
            len => out.extend([
                0x82,
                u8::try_from(len >> 8).unwrap(),
                u8::try_from(len & 0xFF).unwrap(),
            ]),
        }
        out.extend_from_slice(content);
        out
    }

    /// A certificate-shaped DER value with the given signatureAlgorithm content.
    fn cert_with_algorithm(algorithm_content: &[u8]) -> Vec<u8> {
        let mut fields = tlv(SEQUENCE, &tlv(0x02, &[1]));
        fields.extend(tlv(SEQUENCE, algorithm_content));
        fields.extend(tlv(BIT_STRING, &[0, 0xAB]));
        tlv(SEQUENCE, &fields)
    }

    fn pss_with(params: Option<Vec<u8>>) -> Vec<u8> {
        let mut algorithm = tlv(OID, RSASSA_PSS);
        if let Some(params) = params {
            algorithm.extend(params);
        }
        cert_with_algorithm(&algorithm)
    }

    fn hash_algorithm(oid: &[u8]) -> Vec<u8> {
        let mut content = tlv(OID, oid);
        content.extend(tlv(NULL, &[]));
        tlv(EXPLICIT_0, &tlv(SEQUENCE, &content))
    }

    fn auth_error(result: Result<Vec<u8>>) -> String {
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Authentication, "{err}");
        err.message().to_owned()
    }

    // Expected values: `openssl dgst -<hash> -r FILE` (see testdata/README.md).

    #[test]
    fn rsa_sha256_uses_sha256() {
        assert_eq!(
            hex(&tls_server_end_point(RSA_SHA256).unwrap()),
            "be47d25b9e72fb035fbec6427b9531e335df26558b7aa1508d762adabdfb430f"
        );
    }

    #[test]
    fn rsa_sha1_is_mapped_to_sha256() {
        assert_eq!(
            hex(&tls_server_end_point(RSA_SHA1).unwrap()),
            "89bceb2e000d878832feb3e4a54ea4d90a4528b00980244e7afbae59f62a5902"
        );
    }

    #[test]
    fn ecdsa_sha384_uses_sha384() {
        assert_eq!(
            hex(&tls_server_end_point(ECDSA_SHA384).unwrap()),
            "af031e72570cd07de7fe560ebe2d93bb92276afedd39a611816f9d94d8cc2c49\
             e2a02bc1f419a2c0a700f3759aaf7904"
        );
    }

    #[test]
    fn rsa_pss_takes_the_hash_from_its_parameters() {
        assert_eq!(
            hex(&tls_server_end_point(RSA_PSS_SHA512).unwrap()),
            "8aab8a91a9d293841457a901b1dc210e6a4462249a96007c8cbf76d05a617b7e\
             46e5c8e3a0256f26c0bbb6ee0ab29ab0f17fedb3b67c7aaa0dc2bd46cd5d2813"
        );
    }

    #[test]
    fn ed25519_cannot_bind_and_says_so() {
        let msg = auth_error(tls_server_end_point(ED25519_CERT));
        assert!(
            msg.contains("Ed25519") && msg.contains("not possible"),
            "{msg}"
        );
    }

    #[test]
    fn ed448_cannot_bind() {
        let cert = cert_with_algorithm(&tlv(OID, ED448));
        assert!(auth_error(tls_server_end_point(&cert)).contains("Ed448"));
    }

    #[test]
    fn rsa_pss_without_parameters_is_an_error_not_a_guess() {
        let msg = auth_error(tls_server_end_point(&pss_with(None)));
        assert!(msg.contains("RSA-PSS"), "{msg}");
        let msg = auth_error(tls_server_end_point(&pss_with(Some(tlv(NULL, &[])))));
        assert!(msg.contains("RSA-PSS"), "{msg}");
    }

    #[test]
    fn rsa_pss_with_an_unknown_hash_is_an_error() {
        // id-sha3-256, 2.16.840.1.101.3.4.2.8
        let sha3 = [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x08];
        let params = tlv(SEQUENCE, &hash_algorithm(&sha3));
        let msg = auth_error(tls_server_end_point(&pss_with(Some(params))));
        assert!(msg.contains("2.16.840.1.101.3.4.2.8"), "{msg}");
    }

    #[test]
    fn rsa_pss_defaults_to_sha1_which_maps_to_sha256() {
        let cert = pss_with(Some(tlv(SEQUENCE, &[])));
        let got = tls_server_end_point(&cert).unwrap();
        assert_eq!(got, sha2::Sha256::digest(&cert).to_vec());
        // Only the salt length given: hashAlgorithm still defaults to SHA-1.
        let cert = pss_with(Some(tlv(SEQUENCE, &tlv(0xA2, &tlv(0x02, &[20])))));
        assert_eq!(
            tls_server_end_point(&cert).unwrap(),
            sha2::Sha256::digest(&cert).to_vec()
        );
    }

    #[test]
    fn rsa_pss_with_sha384_in_synthetic_parameters() {
        let cert = pss_with(Some(tlv(SEQUENCE, &hash_algorithm(SHA384))));
        assert_eq!(
            tls_server_end_point(&cert).unwrap(),
            sha2::Sha384::digest(&cert).to_vec()
        );
    }

    #[test]
    fn unknown_algorithm_is_named_in_the_error() {
        // ML-DSA-65, 2.16.840.1.101.3.4.3.18
        let cert = cert_with_algorithm(&tlv(
            OID,
            &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x12],
        ));
        let msg = auth_error(tls_server_end_point(&cert));
        assert!(msg.contains("2.16.840.1.101.3.4.3.18"), "{msg}");
    }

    #[test]
    fn every_truncation_of_a_real_certificate_is_an_error() {
        for len in 0..RSA_SHA256.len() {
            let msg = auth_error(tls_server_end_point(&RSA_SHA256[..len]));
            assert!(
                msg.contains("cannot read the server certificate"),
                "{len}: {msg}"
            );
        }
    }

    #[test]
    fn trailing_data_and_indefinite_lengths_are_rejected() {
        let mut extra = RSA_SHA256.to_vec();
        extra.push(0);
        assert!(auth_error(tls_server_end_point(&extra)).contains("after the certificate"));

        let indefinite = [0x30, 0x80, 0x00, 0x00];
        assert!(auth_error(tls_server_end_point(&indefinite)).contains("indefinite"));

        let huge = [0x30, 0x85, 1, 0, 0, 0, 0];
        assert!(auth_error(tls_server_end_point(&huge)).contains("4 GiB"));
    }

    #[test]
    fn oids_are_shown_dotted() {
        assert_eq!(dotted(ED25519), "1.3.101.112");
        assert_eq!(dotted(SHA256_WITH_RSA), "1.2.840.113549.1.1.11");
        assert_eq!(dotted(SHA512), "2.16.840.1.101.3.4.2.3");
        assert_eq!(dotted(&[]), "(an empty or malformed OID)");
        assert_eq!(dotted(&[0xFF; 20]), "(an OID too long to show)");
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = tls_server_end_point(&bytes);
        }

        #[test]
        fn corrupted_certificates_never_panic(index in 0..RSA_PSS_SHA512.len(), byte in any::<u8>()) {
            let mut cert = RSA_PSS_SHA512.to_vec();
            cert[index] = byte;
            let _ = tls_server_end_point(&cert);
        }
    }
}
