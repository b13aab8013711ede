//! Test certificates: a CA, a server certificate it signs, a client certificate for the
//! `cert` role, and a second CA that signs nothing (for "untrusted CA" tests).
//!
//! Keys are ECDSA P-256 (rcgen's default, generated with ring), which both OpenSSL (the
//! server) and rustls accept. Generating the whole set takes about a millisecond, so each
//! [`TempServer`](super::TempServer) gets its own.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, RevocationReason,
    RevokedCertParams, SanType, SerialNumber,
};

use crate::failure::{Error, Result};

use super::roles;

/// PEM texts of the certificates and keys a test cluster uses.
pub(super) struct TlsMaterial {
    /// The CA that signed the server and client certificates.
    pub(super) ca_cert: String,
    /// A CA that signed nothing here.
    pub(super) untrusted_ca_cert: String,
    /// The server certificate (SANs `localhost`, `127.0.0.1`, `::1`).
    pub(super) server_cert: String,
    /// The server's private key (PKCS#8).
    pub(super) server_key: String,
    /// The client certificate, CN = [`roles::CERT`]'s name.
    pub(super) client_cert: String,
    /// The client's private key (PKCS#8).
    pub(super) client_key: String,
    /// Certificate revocation lists the CA signed (PEM).
    pub(super) crls: Crls,
}

/// CRLs of the test CA, for revocation tests.
pub(super) struct Crls {
    /// Revokes the server certificate; current (2020-2100).
    pub(super) revoking_server: String,
    /// Revokes nothing; current.
    pub(super) empty: String,
    /// Revokes nothing, but its next update was due in 2001.
    pub(super) expired: String,
}

/// The server certificate's serial number (the revoking CRL lists it).
const SERVER_SERIAL: u64 = 0x5e7e_0001;

fn crls(
    ca: &Issuer<'static, KeyPair>,
    server_serial: u64,
) -> std::result::Result<Crls, rcgen::Error> {
    let crl = |revoked: Vec<u64>, from: (i32, u8), to: (i32, u8)| {
        CertificateRevocationListParams {
            this_update: rcgen::date_time_ymd(from.0, from.1, 1),
            next_update: rcgen::date_time_ymd(to.0, to.1, 1),
            crl_number: SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .into_iter()
                .map(|serial| RevokedCertParams {
                    serial_number: SerialNumber::from(serial),
                    revocation_time: rcgen::date_time_ymd(2020, 1, 1),
                    reason_code: Some(RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        }
        .signed_by(ca)?
        .pem()
    };
    Ok(Crls {
        revoking_server: crl(vec![server_serial], (2020, 1), (2100, 1))?,
        empty: crl(Vec::new(), (2020, 1), (2100, 1))?,
        expired: crl(Vec::new(), (2000, 1), (2001, 1))?,
    })
}

/// Which kind of server and client certificates a [`TempServer`](super::TempServer)
/// makes (the CAs are always X.509 v3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertificateStyle {
    /// X.509 v3; the server certificate names `localhost`, `127.0.0.1` and `::1` in
    /// subjectAltName.
    #[default]
    V3,
    /// X.509 v3 without subjectAltName: the server certificate names its host only in the
    /// subject's common name (`CN=localhost`), as certificates made before RFC 2818
    /// became the rule do.
    V3CommonNameOnly,
    /// X.509 v1, as `openssl x509 -req` makes without `-extfile` (the recipe in
    /// PostgreSQL's documentation on some systems): no extensions at all, the server named
    /// by `CN=localhost`, the client by its role name.
    V1,
}

impl TlsMaterial {
    /// A fresh set of `style`; with `expired`, the server certificate was valid in 2000
    /// only.
    pub(super) fn generate(style: CertificateStyle, expired: bool) -> Result<TlsMaterial> {
        generate(style, expired).map_err(|e| {
            Error::tls("could not generate the test certificates for TempServer").with_source(e)
        })
    }
}

fn generate(
    style: CertificateStyle,
    expired: bool,
) -> std::result::Result<TlsMaterial, rcgen::Error> {
    let (ca_cert, ca) = certificate_authority(CA_NAME)?;
    let (untrusted_ca_cert, _) = certificate_authority("Quarry TempServer untrusted CA")?;
    if style == CertificateStyle::V1 {
        let server_key = KeyPair::generate()?;
        let client_key = KeyPair::generate()?;
        return Ok(TlsMaterial {
            ca_cert,
            untrusted_ca_cert,
            server_cert: v1::certificate(
                2,
                "localhost",
                &server_key,
                ca.key(),
                if expired {
                    ("000101000000Z", "010101000000Z")
                } else {
                    v1::VALIDITY
                },
            )?,
            server_key: server_key.serialize_pem(),
            client_cert: v1::certificate(3, roles::CERT.name, &client_key, ca.key(), v1::VALIDITY)?,
            client_key: client_key.serialize_pem(),
            crls: crls(&ca, 2)?,
        });
    }

    let server_key = KeyPair::generate()?;
    let mut server = CertificateParams::new(vec!["localhost".to_owned()])?;
    server.distinguished_name = name("localhost");
    server
        .subject_alt_names
        .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    server
        .subject_alt_names
        .push(SanType::IpAddress(IpAddr::V6(Ipv6Addr::LOCALHOST)));
    if style == CertificateStyle::V3CommonNameOnly {
        server.subject_alt_names.clear();
    }
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server.use_authority_key_identifier_extension = true;
    server.serial_number = Some(SerialNumber::from(SERVER_SERIAL));
    if expired {
        server.not_before = rcgen::date_time_ymd(2000, 1, 1);
        server.not_after = rcgen::date_time_ymd(2001, 1, 1);
    }
    let server_cert = server.signed_by(&server_key, &ca)?;

    let client_key = KeyPair::generate()?;
    let mut client = CertificateParams::new(Vec::new())?;
    client.distinguished_name = name(roles::CERT.name);
    client.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    client.use_authority_key_identifier_extension = true;
    let client_cert = client.signed_by(&client_key, &ca)?;

    Ok(TlsMaterial {
        ca_cert,
        untrusted_ca_cert,
        server_cert: server_cert.pem(),
        server_key: server_key.serialize_pem(),
        client_cert: client_cert.pem(),
        client_key: client_key.serialize_pem(),
        crls: crls(&ca, SERVER_SERIAL)?,
    })
}

const CA_NAME: &str = "Quarry TempServer test CA";

/// For the TLS verifier's unit tests: the test CA (PEM) and an X.509 v1 certificate it
/// signed for `CN=localhost` (PEM), valid between two UTCTimes (`YYMMDDHHMMSSZ`).
#[cfg(test)]
pub(crate) fn v1_server_certificate(
    not_before: &str,
    not_after: &str,
) -> std::result::Result<(String, String), rcgen::Error> {
    let (ca_cert, ca) = certificate_authority(CA_NAME)?;
    let key = KeyPair::generate()?;
    let cert = v1::certificate(2, "localhost", &key, ca.key(), (not_before, not_after))?;
    Ok((ca_cert, cert))
}

/// A self-signed CA: its PEM certificate and an issuer to sign with.
fn certificate_authority(
    common_name: &str,
) -> std::result::Result<(String, Issuer<'static, KeyPair>), rcgen::Error> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::new())?;
    params.distinguished_name = name(common_name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let cert = params.self_signed(&key)?;
    Ok((cert.pem(), Issuer::new(params, key)))
}

fn name(common_name: &str) -> rcgen::DistinguishedName {
    let mut name = rcgen::DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    name
}

/// X.509 v1 certificates, written by hand: rcgen makes only v3.
mod v1 {
    use base64::Engine;
    use rcgen::{KeyPair, PublicKeyData, SigningKey};

    /// 1.2.840.10045.4.3.2, ecdsa-with-SHA256 (rcgen's default keys are P-256).
    const ECDSA_WITH_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];

    /// A DER element; `u16::MAX` bytes is far more than a test certificate needs.
    fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
        let len = u16::try_from(contents.len()).expect("a test certificate is small");
        let [high, low] = len.to_be_bytes();
        let mut out = vec![tag];
        match (high, low) {
            (0, 0..=0x7f) => out.push(low),
            (0, _) => out.extend([0x81, low]),
            _ => out.extend([0x82, high, low]),
        }
        out.extend_from_slice(contents);
        out
    }

    /// `CN=common_name`, as rcgen writes it (a UTF8String).
    fn name(common_name: &str) -> Vec<u8> {
        let attribute = [
            tlv(0x06, &[0x55, 0x04, 0x03]),
            tlv(0x0c, common_name.as_bytes()),
        ]
        .concat();
        tlv(0x30, &tlv(0x31, &tlv(0x30, &attribute)))
    }

    /// Not before 2020, not after 2049 (UTCTime).
    pub(super) const VALIDITY: (&str, &str) = ("200101000000Z", "491231235959Z");

    /// A v1 certificate (no version field, no extensions) for `key`, signed by the test CA,
    /// valid between the two UTCTimes of `validity`.
    pub(super) fn certificate(
        serial: u8,
        common_name: &str,
        key: &KeyPair,
        ca_key: &KeyPair,
        validity: (&str, &str),
    ) -> Result<String, rcgen::Error> {
        let algorithm = tlv(0x30, &tlv(0x06, ECDSA_WITH_SHA256));
        let validity = [
            tlv(0x17, validity.0.as_bytes()),
            tlv(0x17, validity.1.as_bytes()),
        ]
        .concat();
        let tbs = tlv(
            0x30,
            &[
                tlv(0x02, &[serial]),
                algorithm.clone(),
                name(super::CA_NAME),
                tlv(0x30, &validity),
                name(common_name),
                key.subject_public_key_info(),
            ]
            .concat(),
        );
        let signature = ca_key.sign(&tbs)?;
        let mut bits = vec![0];
        bits.extend(signature);
        let der = tlv(0x30, &[tbs, algorithm, tlv(0x03, &bits)].concat());
        let body = base64::engine::general_purpose::STANDARD.encode(der);
        let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
        for line in body.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
        Ok(pem)
    }
}
