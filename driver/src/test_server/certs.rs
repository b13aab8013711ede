//! Test certificates: a CA, a server certificate it signs, a client certificate for the
//! `cert` role, and a second CA that signs nothing (for "untrusted CA" tests).
//!
//! Keys are ECDSA P-256 (rcgen's default, generated with ring), which both OpenSSL (the
//! server) and rustls accept. Generating the whole set takes about a millisecond, so each
//! [`TempServer`](super::TempServer) gets its own.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
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
}

impl TlsMaterial {
    /// A fresh set; with `expired`, the server certificate was valid in 2000 only.
    pub(super) fn generate(expired: bool) -> Result<TlsMaterial> {
        generate(expired).map_err(|e| {
            Error::tls("could not generate the test certificates for TempServer").with_source(e)
        })
    }
}

fn generate(expired: bool) -> std::result::Result<TlsMaterial, rcgen::Error> {
    let (ca_cert, ca) = certificate_authority("Quarry TempServer test CA")?;
    let (untrusted_ca_cert, _) = certificate_authority("Quarry TempServer untrusted CA")?;

    let server_key = KeyPair::generate()?;
    let mut server = CertificateParams::new(vec!["localhost".to_owned()])?;
    server.distinguished_name = name("localhost");
    server
        .subject_alt_names
        .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    server
        .subject_alt_names
        .push(SanType::IpAddress(IpAddr::V6(Ipv6Addr::LOCALHOST)));
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server.use_authority_key_identifier_extension = true;
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
    })
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
