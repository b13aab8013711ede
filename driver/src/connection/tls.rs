//! TLS with rustls: building the client configuration for an `sslmode`, and the
//! handshake (after SSLRequest, or direct with ALPN `postgresql`).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{
    CertificateDer, CertificateRevocationListDer, PrivateKeyDer, ServerName, UnixTime,
};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::x509;
use crate::conninfo::TlsVersion;
use crate::failure::{Error, Result};

/// Where trusted root certificates come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Roots {
    /// None configured: the server's certificate is not verified.
    None,
    /// A PEM file of root certificates.
    File(PathBuf),
    /// The operating system's trusted roots (`sslrootcert=system`).
    System,
}

/// How much of the server certificate to check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verify {
    /// Nothing (`sslmode=require` without a root certificate).
    Nothing,
    /// The chain to a trusted root, not the host name (`verify-ca`).
    Chain,
    /// Chain and host name (`verify-full`).
    Full,
}

/// What is needed to start TLS with one server.
#[derive(Clone)]
pub(crate) struct TlsParams {
    pub(crate) config: Arc<ClientConfig>,
    pub(crate) server_name: ServerName<'static>,
}

impl fmt::Debug for TlsParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsParams")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

/// Inputs for [`client_config`].
#[derive(Clone, Debug)]
pub(crate) struct TlsSettings {
    pub(crate) verify: Verify,
    pub(crate) roots: Roots,
    pub(crate) client_cert: Option<(PathBuf, PathBuf)>,
    /// `ssl_min_protocol_version` (TLS 1.2 by default, as in libpq).
    pub(crate) min_version: TlsVersion,
    /// `ssl_max_protocol_version` (none: the newest).
    pub(crate) max_version: Option<TlsVersion>,
    /// `sslsni`: send the host name in the handshake (host names only, never addresses).
    pub(crate) sni: bool,
    /// Where certificate revocation lists come from (used when the chain is verified).
    pub(crate) crls: Crls,
}

/// Where certificate revocation lists come from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Crls {
    /// `sslcrl`: a PEM file of CRLs; it must be readable and hold at least one.
    pub(crate) file: Option<PathBuf>,
    /// `sslcrldir`: a directory whose files holding PEM CRLs are all used; it must hold
    /// at least one.
    pub(crate) dir: Option<PathBuf>,
    /// libpq's default `~/.postgresql/root.crl`, used when it exists and neither of the
    /// others is set.
    pub(crate) default_file: Option<PathBuf>,
}

impl Crls {
    /// The CRLs to check against, or none when none are configured. A configured source
    /// that yields nothing is an error: the revocation check it asks for would not happen.
    fn load(&self) -> Result<Vec<CertificateRevocationListDer<'static>>> {
        let mut crls = Vec::new();
        if let Some(path) = &self.file {
            let found = read_crls(path, "sslcrl")?;
            if found.is_empty() {
                return Err(Error::tls(format!(
                    "sslcrl file {} holds no PEM certificate revocation list",
                    path.display()
                )));
            }
            crls.extend(found);
        }
        if let Some(dir) = &self.dir {
            let entries = std::fs::read_dir(dir)
                .map_err(|e| Error::tls(format!("cannot read sslcrldir {}: {e}", dir.display())))?;
            let mut paths = Vec::new();
            for entry in entries {
                let entry = entry.map_err(|e| {
                    Error::tls(format!("cannot read sslcrldir {}: {e}", dir.display()))
                })?;
                if entry
                    .file_type()
                    .is_ok_and(|t| t.is_file() || t.is_symlink())
                {
                    paths.push(entry.path());
                }
            }
            paths.sort();
            let before = crls.len();
            for path in paths {
                crls.extend(read_crls(&path, "sslcrldir")?);
            }
            if crls.len() == before {
                return Err(Error::tls(format!(
                    "sslcrldir {} holds no PEM certificate revocation list, so the revocation \
                     check it asks for cannot happen",
                    dir.display()
                )));
            }
        }
        if self.file.is_none()
            && self.dir.is_none()
            && let Some(path) = &self.default_file
        {
            crls.extend(read_crls(path, "default CRL (~/.postgresql/root.crl)")?);
        }
        Ok(crls)
    }
}

/// The PEM CRLs in `path` (none if it holds other PEM sections only).
fn read_crls(path: &Path, what: &str) -> Result<Vec<CertificateRevocationListDer<'static>>> {
    let iter = CertificateRevocationListDer::pem_file_iter(path)
        .map_err(|e| Error::tls(format!("cannot read {what} file {}: {e}", path.display())))?;
    iter.collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::tls(format!("cannot parse {what} file {}: {e}", path.display())))
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn load_roots(roots: &Roots) -> Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    match roots {
        Roots::None => {}
        Roots::File(path) => {
            let certs = read_certs(path, "sslrootcert")?;
            let (added, _) = store.add_parsable_certificates(certs);
            if added == 0 {
                return Err(Error::tls(format!(
                    "sslrootcert {} holds no usable certificate",
                    path.display()
                )));
            }
        }
        Roots::System => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = store.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(Error::tls(
                    "sslrootcert=system, but no trusted root certificates were found on this system",
                ));
            }
        }
    }
    Ok(store)
}

fn read_certs(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>> {
    let iter = CertificateDer::pem_file_iter(path)
        .map_err(|e| Error::tls(format!("cannot read {what} file {}: {e}", path.display())))?;
    let certs = iter
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::tls(format!("cannot parse {what} file {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(Error::tls(format!(
            "{what} file {} holds no PEM certificate",
            path.display()
        )));
    }
    Ok(certs)
}

/// Builds the rustls configuration for `settings`.
pub(crate) fn client_config(settings: &TlsSettings) -> Result<ClientConfig> {
    let provider = provider();
    let versions: Vec<&'static rustls::SupportedProtocolVersion> = [
        (TlsVersion::Tls1_2, &rustls::version::TLS12),
        (TlsVersion::Tls1_3, &rustls::version::TLS13),
    ]
    .into_iter()
    .filter(|(v, _)| *v >= settings.min_version && settings.max_version.is_none_or(|max| *v <= max))
    .map(|(_, v)| v)
    .collect();
    if versions.is_empty() {
        return Err(Error::config(format!(
            "ssl_min_protocol_version ({}) is above ssl_max_protocol_version ({}): no TLS \
             version is left",
            settings.min_version.as_str(),
            settings.max_version.map_or("none", TlsVersion::as_str)
        )));
    }
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| Error::tls(format!("TLS setup failed: {e}")))?;
    let verifier: Arc<dyn ServerCertVerifier> = match settings.verify {
        Verify::Nothing => Arc::new(NoVerification(provider.clone())),
        Verify::Chain | Verify::Full => {
            let roots = load_roots(&settings.roots)?;
            if roots.is_empty() {
                return Err(Error::tls(
                    "certificate verification needs trusted roots: set sslrootcert to a CA file \
                     (or `system`), or use sslmode=require",
                ));
            }
            let roots = Arc::new(roots);
            let crls = settings.crls.load()?;
            let checks_revocation = !crls.is_empty();
            let mut webpki =
                WebPkiServerVerifier::builder_with_provider(roots.clone(), provider.clone());
            if checks_revocation {
                // As OpenSSL with libpq's CRL_CHECK | CRL_CHECK_ALL: every certificate of
                // the chain needs its issuer's CRL, and an expired CRL is no proof.
                webpki = webpki.with_crls(crls).enforce_revocation_expiration();
            }
            let webpki = webpki
                .build()
                .map_err(|e| Error::tls(format!("TLS setup failed: {e}")))?;
            Arc::new(Verified {
                webpki,
                roots,
                provider: provider.clone(),
                check_host: settings.verify == Verify::Full,
                checks_revocation,
            })
        }
    };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match &settings.client_cert {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            builder.with_client_cert_resolver(client_identity(&provider, cert, key)?)
        }
    };
    // PostgreSQL 17 requires this ALPN for direct TLS; older servers ignore it.
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    config.enable_sni = settings.sni;
    Ok(config)
}

/// The name to verify and send as SNI: an IP address or a DNS name.
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>> {
    ServerName::try_from(host.to_owned())
        .map_err(|_| Error::tls(format!("\"{host}\" is not a valid TLS server name")))
}

/// Runs the TLS handshake over `tcp`.
pub(crate) async fn handshake(
    tcp: TcpStream,
    params: &TlsParams,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>> {
    TlsConnector::from(params.config.clone())
        .connect(params.server_name.clone(), tcp)
        .await
        .map_err(|e| handshake_error(&e))
}

/// The DER bytes of the server's end-entity certificate (for channel binding).
pub(crate) fn peer_certificate(
    stream: &tokio_rustls::client::TlsStream<TcpStream>,
) -> Option<Vec<u8>> {
    let (_, conn) = stream.get_ref();
    conn.peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.as_ref().to_vec())
}

/// The one-line recipe for a certificate rustls accepts, for error messages.
const V3_RECIPE: &str = "openssl x509 -req -in server.csr -CA root.crt -CAkey root.key \
     -CAcreateserial -days 365 -out server.crt -extfile <(printf \
     'basicConstraints=CA:FALSE\\nsubjectAltName=DNS:your.host.name')";

/// A certificate problem found by our own checks, carried through rustls to
/// [`describe`], which shows its text as it is.
#[derive(Debug)]
struct Refusal(String);

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refusal {}

fn refusal(message: String) -> rustls::Error {
    rustls::Error::InvalidCertificate(rustls::CertificateError::Other(rustls::OtherError(
        Arc::new(Refusal(message)),
    )))
}

fn parse_server_certificate(
    der: &[u8],
) -> std::result::Result<x509::Certificate<'_>, rustls::Error> {
    x509::parse(der).map_err(|e| refusal(format!("the server sent a {e}")))
}

/// Checks a handshake signature with the key from the certificate, whatever the
/// certificate's version: nothing else in the certificate is looked at.
fn verify_signature_with_key(
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
    algorithms: &WebPkiSupportedAlgorithms,
    tls13: bool,
) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
    use rustls::PeerMisbehaved::SignedHandshakeWithUnadvertisedSigScheme as Unadvertised;
    let parsed = parse_server_certificate(cert.as_ref())?;
    if tls13 {
        let spki = rustls::pki_types::SubjectPublicKeyInfoDer::from(parsed.spki);
        return rustls::crypto::verify_tls13_signature_with_raw_key(
            message, &spki, dss, algorithms,
        );
    }
    // TLS 1.2 leaves the curve to the key: take the algorithm made for this key.
    let alg = algorithms
        .mapping
        .iter()
        .find(|(scheme, _)| *scheme == dss.scheme)
        .map(|(_, algs)| *algs)
        .ok_or(rustls::Error::from(Unadvertised))?
        .iter()
        .find(|alg| alg.public_key_alg_id().as_ref() == parsed.key_algorithm)
        .ok_or_else(|| {
            refusal(format!(
                "the server signed with {:?}, which does not fit its certificate's key",
                dss.scheme
            ))
        })?;
    alg.verify_signature(parsed.public_key, message, dss.signature())
        .map(|()| HandshakeSignatureValid::assertion())
        .map_err(|_| rustls::Error::InvalidCertificate(rustls::CertificateError::BadSignature))
}

/// `sslmode=require` (and `prefer`, `allow`) without roots: encrypt, but accept any
/// certificate (libpq's meaning). Handshake signatures are still checked, so the peer
/// must hold the key of the certificate it presents.
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        verify_signature_with_key(message, cert, dss, algorithms, false)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        verify_signature_with_key(message, cert, dss, algorithms, true)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca` and `verify-full`: the chain must verify (webpki); for `verify-full` the
/// host name must match by libpq's rules, which fall back to the common name when the
/// certificate has no subjectAltName of the host's kind (webpki never does).
#[derive(Debug)]
struct Verified {
    webpki: Arc<WebPkiServerVerifier>,
    /// For X.509 v1 certificates, which webpki refuses: checked here against the roots.
    roots: Arc<RootCertStore>,
    provider: Arc<rustls::crypto::CryptoProvider>,
    check_host: bool,
    /// Whether CRLs were given (webpki checks them; v1 certificates cannot be checked).
    checks_revocation: bool,
}

impl ServerCertVerifier for Verified {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        use rustls::CertificateError;
        let parsed = parse_server_certificate(end_entity.as_ref())?;
        if parsed.version == 3 {
            match self
                .webpki
                .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
            {
                // The chain is good (webpki checks the name last); the name is ours to check.
                Ok(_)
                | Err(rustls::Error::InvalidCertificate(
                    CertificateError::NotValidForName
                    | CertificateError::NotValidForNameContext { .. },
                )) => {}
                Err(e) => return Err(e),
            }
        } else if self.checks_revocation {
            return Err(refusal(
                "the server certificate is X.509 v1, whose revocation Quarry cannot check \
                 against sslcrl/sslcrldir; use a v3 certificate or no CRL"
                    .to_owned(),
            ));
        } else {
            self.verify_v1(&parsed, now)?;
        }
        if self.check_host {
            let host = match server_name {
                ServerName::DnsName(name) => name.as_ref().to_owned(),
                ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
                other => format!("{other:?}"),
            };
            if !x509::matches_host(&parsed, &host) {
                return Err(refusal(format!(
                    "the server certificate is not valid for host name \"{host}\" ({})",
                    names_in(&parsed)
                )));
            }
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_signature_with_key(message, cert, dss, algorithms, false)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_signature_with_key(message, cert, dss, algorithms, true)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

impl Verified {
    /// What OpenSSL (and so libpq) accepts of an X.509 v1 server certificate, which
    /// webpki refuses: signed directly by a root in `sslrootcert` (or being that root),
    /// and within its validity period. A v1 certificate has no extensions, so there is
    /// no key usage or CA flag to check; the host name is checked by the caller.
    fn verify_v1(
        &self,
        cert: &x509::Certificate<'_>,
        now: UnixTime,
    ) -> std::result::Result<(), rustls::Error> {
        use rustls::CertificateError;
        let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        if now < cert.not_before {
            return Err(CertificateError::NotValidYet.into());
        }
        if now > cert.not_after {
            return Err(CertificateError::Expired.into());
        }
        let mut issuer_found = false;
        for anchor in self.roots.roots.iter() {
            if anchor.subject.as_ref() != cert.issuer {
                continue;
            }
            issuer_found = true;
            let Ok((key_algorithm, public_key)) =
                x509::public_key_parts(anchor.subject_public_key_info.as_ref())
            else {
                continue;
            };
            let verified = self
                .provider
                .signature_verification_algorithms
                .all
                .iter()
                .filter(|alg| {
                    alg.signature_alg_id().as_ref() == cert.signature_algorithm
                        && alg.public_key_alg_id().as_ref() == key_algorithm
                })
                .any(|alg| {
                    alg.verify_signature(public_key, cert.tbs, cert.signature)
                        .is_ok()
                });
            if verified {
                return Ok(());
            }
        }
        if issuer_found {
            return Err(CertificateError::BadSignature.into());
        }
        Err(refusal(format!(
            "the server certificate is X.509 v{} and not signed directly by a root in \
             sslrootcert (certificate verify failed); only v3 certificates can be verified \
             through an intermediate CA here. Reissue it as v3 (`{V3_RECIPE}`)",
            cert.version
        )))
    }
}

/// The names a certificate holds, for an error message.
fn names_in(cert: &x509::Certificate<'_>) -> String {
    let mut names: Vec<String> = cert
        .alt_names
        .iter()
        .map(|n| match n {
            x509::AltName::Dns(d) => format!("DNS:{}", String::from_utf8_lossy(d)),
            x509::AltName::Ip(ip) => match <[u8; 4]>::try_from(*ip) {
                Ok(v4) => format!("IP:{}", std::net::Ipv4Addr::from(v4)),
                Err(_) => match <[u8; 16]>::try_from(*ip) {
                    Ok(v6) => format!("IP:{}", std::net::Ipv6Addr::from(v6)),
                    Err(_) => "IP:?".to_owned(),
                },
            },
        })
        .collect();
    if let Some(cn) = cert.common_name {
        names.push(format!("CN={}", String::from_utf8_lossy(cn)));
    }
    if names.is_empty() {
        "it names no host".to_owned()
    } else {
        format!("it names {}", names.join(", "))
    }
}

/// The client certificate and key, checked to belong together without webpki (which
/// refuses X.509 v1 certificates that PostgreSQL accepts).
fn client_identity(
    provider: &rustls::crypto::CryptoProvider,
    cert_path: &Path,
    key_path: &Path,
) -> Result<Arc<rustls::sign::SingleCertAndKey>> {
    let certs = read_certs(cert_path, "sslcert")?;
    let key_der = PrivateKeyDer::from_pem_file(key_path).map_err(|e| {
        Error::tls(format!(
            "cannot read the private key in sslkey file {}: {e} \
             (encrypted keys are not supported; decrypt it with `openssl pkey`)",
            key_path.display()
        ))
    })?;
    let key = provider
        .key_provider
        .load_private_key(key_der)
        .map_err(|e| {
            Error::tls(format!(
                "the private key in sslkey file {} cannot be used: {e}",
                key_path.display()
            ))
        })?;
    let parsed = x509::parse(certs[0].as_ref()).map_err(|e| {
        Error::tls(format!(
            "the client certificate in sslcert file {} cannot be read: {e}",
            cert_path.display()
        ))
    })?;
    if let Some(spki) = key.public_key()
        && spki.as_ref() != parsed.spki
    {
        return Err(Error::tls(format!(
            "the private key in sslkey file {} does not belong to the client certificate in \
             sslcert file {}",
            key_path.display(),
            cert_path.display()
        )));
    }
    Ok(Arc::new(rustls::sign::SingleCertAndKey::from(
        rustls::sign::CertifiedKey::new(certs, key),
    )))
}

/// A handshake failure as one message (no source: rustls's errors repeat themselves
/// when shown with their causes).
fn handshake_error(e: &std::io::Error) -> Error {
    let inner = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    let what = match inner {
        Some(tls) => describe(tls),
        None if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            "the server closed the connection during the TLS handshake".to_owned()
        }
        None => e.to_string(),
    };
    Error::tls(format!("TLS handshake failed: {what}"))
}

/// Plain words for what rustls found wrong.
fn describe(e: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(cert) => match cert {
            C::Other(other) => match other.0.downcast_ref::<Refusal>() {
                Some(refusal) => refusal.0.clone(),
                None => format!("the server certificate is invalid: {}", other.0),
            },
            C::UnknownIssuer => "the server certificate is not signed by a root in sslrootcert \
                 (certificate verify failed)"
                .to_owned(),
            C::BadSignature => "a signature of the server or of its certificate chain does not \
                 verify"
                .to_owned(),
            C::Expired | C::ExpiredContext { .. } => {
                "the server certificate has expired".to_owned()
            }
            C::NotValidYet | C::NotValidYetContext { .. } => {
                "the server certificate is not valid yet".to_owned()
            }
            C::Revoked => "a certificate of the server's chain has been revoked (sslcrl, \
                 sslcrldir)"
                .to_owned(),
            C::UnknownRevocationStatus => "no certificate revocation list in sslcrl/sslcrldir \
                 covers a certificate of the server's chain (its issuer's CRL is needed)"
                .to_owned(),
            C::ExpiredRevocationList | C::ExpiredRevocationListContext { .. } => {
                "a certificate revocation list in sslcrl/sslcrldir has expired (its next \
                 update is past)"
                    .to_owned()
            }
            other => format!("the server certificate was refused: {other:?}"),
        },
        rustls::Error::AlertReceived(alert) => format!(
            "the server refused the TLS session ({alert:?} alert); if it asked for a client \
             certificate, check sslcert and sslkey"
        ),
        other => other.to_string(),
    }
}

#[cfg(all(test, feature = "temp-server"))]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::test_server::v1_server_certificate;

    fn der(pem: &str) -> CertificateDer<'static> {
        CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
    }

    fn verifier(root_pem: &str, check_host: bool) -> Verified {
        let provider = provider();
        let mut roots = RootCertStore::empty();
        roots.add(der(root_pem)).unwrap();
        let roots = Arc::new(roots);
        let webpki = WebPkiServerVerifier::builder_with_provider(roots.clone(), provider.clone())
            .build()
            .unwrap();
        Verified {
            webpki,
            roots,
            provider,
            check_host,
            checks_revocation: false,
        }
    }

    /// 2030-01-01, inside the test certificates' validity.
    fn in_2030() -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(1_893_456_000))
    }

    #[test]
    fn v1_certificates_are_checked_like_openssl_does() {
        let (ca, cert) = v1_server_certificate("250101000000Z", "350101000000Z").unwrap();
        let cert = der(&cert);
        let localhost = ServerName::try_from("localhost").unwrap();
        let address = ServerName::try_from("127.0.0.1").unwrap();
        let check = |v: &Verified, name: &ServerName<'_>, now| {
            v.verify_server_cert(&cert, &[], name, &[], now)
        };
        let full = verifier(&ca, true);
        check(&full, &localhost, in_2030()).unwrap();
        let err = check(&full, &address, in_2030()).unwrap_err();
        assert!(describe(&err).contains("not valid for host name"), "{err}");
        // verify-ca does not look at the name.
        check(&verifier(&ca, false), &address, in_2030()).unwrap();

        let before = UnixTime::since_unix_epoch(Duration::from_secs(1_700_000_000));
        let err = check(&full, &localhost, before).unwrap_err();
        assert!(describe(&err).contains("not valid yet"), "{err}");
        let after = UnixTime::since_unix_epoch(Duration::from_secs(2_100_000_000));
        let err = check(&full, &localhost, after).unwrap_err();
        assert!(describe(&err).contains("expired"), "{err}");

        // Another CA of the same name did not sign it.
        let (other_ca, _) = v1_server_certificate("250101000000Z", "350101000000Z").unwrap();
        let err = check(&verifier(&other_ca, true), &localhost, in_2030()).unwrap_err();
        assert!(describe(&err).contains("signature"), "{err}");

        // A flipped bit in the signed part.
        let mut tampered = cert.as_ref().to_vec();
        let at = tampered.len() / 2;
        tampered[at] ^= 1;
        let tampered = CertificateDer::from(tampered);
        let result = full.verify_server_cert(&tampered, &[], &localhost, &[], in_2030());
        assert!(result.is_err(), "a tampered certificate was accepted");
    }
}
