//! libpq's `channel_binding` option and the choice of SASL mechanism.
//!
//! The rules follow libpq (`pg_SASL_init` in `fe-auth.c`), with one addition:
//! binding data that cannot be computed is an error, never an empty value
//! (pgjdbc CVE-2026-54291 was a silent downgrade to plain SCRAM).

use std::fmt;
use std::str::FromStr;

use super::AuthMethod;
use super::certificate::tls_server_end_point;
use crate::failure::{Error, Result};

/// libpq's `channel_binding` connection option: whether SCRAM must be bound
/// to the TLS channel, so that a man in the middle holding another
/// certificate cannot relay the exchange.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ChannelBinding {
    /// Never use channel binding.
    Disable,
    /// Use channel binding when the server offers it over TLS (libpq's default).
    #[default]
    Prefer,
    /// Fail unless the server authenticates with SCRAM-SHA-256-PLUS.
    Require,
}

impl ChannelBinding {
    /// Whether the server may authenticate this client with `method`.
    ///
    /// Call it when the server asks for a method and when `AuthenticationOk`
    /// arrives without any request ([`AuthMethod::None`]). With `require`,
    /// anything but SCRAM-SHA-256-PLUS fails, like libpq's
    /// `check_expected_areq`.
    pub(crate) fn check(self, method: AuthMethod) -> Result<()> {
        if self != ChannelBinding::Require || method == AuthMethod::ScramSha256Plus {
            return Ok(());
        }
        let what = match method {
            AuthMethod::None => {
                "channel binding is required (channel_binding=require), but the server \
                 authenticated the client without channel binding"
                    .to_owned()
            }
            other => format!(
                "channel binding is required (channel_binding=require), but the server asked \
                 for {}",
                other.request()
            ),
        };
        Err(Error::auth(what))
    }
}

impl FromStr for ChannelBinding {
    type Err = Error;

    /// Parses libpq's spelling: `disable`, `prefer` or `require`.
    fn from_str(value: &str) -> Result<Self> {
        match value {
            "disable" => Ok(ChannelBinding::Disable),
            "prefer" => Ok(ChannelBinding::Prefer),
            "require" => Ok(ChannelBinding::Require),
            other => Err(Error::config(format!(
                "invalid channel_binding value: \"{other}\" (expected one of: disable, prefer, require)"
            ))),
        }
    }
}

impl ChannelBinding {
    /// libpq's spelling of the value.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelBinding::Disable => "disable",
            ChannelBinding::Prefer => "prefer",
            ChannelBinding::Require => "require",
        }
    }
}

impl fmt::Display for ChannelBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A SASL mechanism Quarry implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Mechanism {
    /// `SCRAM-SHA-256`.
    ScramSha256,
    /// `SCRAM-SHA-256-PLUS`: SCRAM with `tls-server-end-point` channel binding.
    ScramSha256Plus,
}

impl Mechanism {
    /// The name sent in `SASLInitialResponse`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha256Plus => "SCRAM-SHA-256-PLUS",
        }
    }
}

impl From<Mechanism> for AuthMethod {
    fn from(mechanism: Mechanism) -> Self {
        match mechanism {
            Mechanism::ScramSha256 => AuthMethod::ScramSha256,
            Mechanism::ScramSha256Plus => AuthMethod::ScramSha256Plus,
        }
    }
}

/// What the connection under the SCRAM exchange is.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Transport<'a> {
    /// No TLS.
    Plain,
    /// TLS is in use.
    Tls {
        /// The server's end-entity certificate (DER), when the TLS layer has one.
        server_certificate: Option<&'a [u8]>,
    },
}

/// The channel binding a SCRAM exchange uses: its GS2 header and binding data.
///
/// Built by [`select_mechanism`], or directly with the constructors. There is
/// no way to build a `SCRAM-SHA-256-PLUS` exchange with empty binding data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ScramBinding(Binding);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Binding {
    /// GS2 flag `n`: the client does not use channel binding.
    None,
    /// GS2 flag `y`: the client could bind, but the server did not offer PLUS.
    NotOffered,
    /// GS2 flag `p=tls-server-end-point`, with the certificate hash.
    TlsServerEndPoint(Vec<u8>),
}

impl ScramBinding {
    /// GS2 flag `n`: the client does not use channel binding (no TLS, or
    /// `channel_binding=disable`). Mechanism `SCRAM-SHA-256`.
    pub(crate) fn none() -> Self {
        ScramBinding(Binding::None)
    }

    /// GS2 flag `y`: the client supports channel binding but the server did
    /// not offer SCRAM-SHA-256-PLUS. A server that did offer it rejects this,
    /// which catches a man in the middle removing PLUS from the list.
    /// Mechanism `SCRAM-SHA-256`.
    pub(crate) fn not_offered() -> Self {
        ScramBinding(Binding::NotOffered)
    }

    /// GS2 flag `p=tls-server-end-point`, bound to the hash of the server's
    /// end-entity certificate (see [`tls_server_end_point`]). Mechanism
    /// `SCRAM-SHA-256-PLUS`.
    pub(crate) fn tls_server_end_point(server_certificate_der: &[u8]) -> Result<Self> {
        let hash = tls_server_end_point(server_certificate_der)?;
        Ok(ScramBinding(Binding::TlsServerEndPoint(hash)))
    }

    /// The SASL mechanism this binding belongs to.
    pub(crate) fn mechanism(&self) -> Mechanism {
        match self.0 {
            Binding::None | Binding::NotOffered => Mechanism::ScramSha256,
            Binding::TlsServerEndPoint(_) => Mechanism::ScramSha256Plus,
        }
    }

    /// The GS2 header that starts client-first-message.
    pub(super) fn gs2_header(&self) -> &'static str {
        match self.0 {
            Binding::None => "n,,",
            Binding::NotOffered => "y,,",
            Binding::TlsServerEndPoint(_) => "p=tls-server-end-point,,",
        }
    }

    /// The channel binding data appended to the GS2 header in `c=`.
    pub(super) fn data(&self) -> &[u8] {
        match &self.0 {
            Binding::None | Binding::NotOffered => &[],
            Binding::TlsServerEndPoint(hash) => hash,
        }
    }
}

/// Chooses the SCRAM mechanism and channel binding from the server's
/// `AuthenticationSASL` list.
///
/// `offered` is the list of mechanism names; names Quarry does not know are
/// skipped. The rules, after libpq:
///
/// - the server offering `SCRAM-SHA-256-PLUS` over a connection without TLS
///   is an error whatever `policy` says (a proxy may have stripped TLS);
/// - `disable` uses `SCRAM-SHA-256` with GS2 flag `n`;
/// - `prefer` and `require` use `SCRAM-SHA-256-PLUS` when it is offered over
///   TLS, and fail if the certificate's hash cannot be computed;
/// - `prefer` falls back to `SCRAM-SHA-256` (flag `y` over TLS, `n` without);
/// - `require` fails without TLS or when PLUS is not offered.
pub(crate) fn select_mechanism<I, S>(
    offered: I,
    policy: ChannelBinding,
    transport: Transport<'_>,
) -> Result<ScramBinding>
where
    I: IntoIterator<Item = S>,
    S: AsRef<[u8]>,
{
    let mut plain = false;
    let mut plus = false;
    for name in offered {
        match name.as_ref() {
            b"SCRAM-SHA-256" => plain = true,
            b"SCRAM-SHA-256-PLUS" => plus = true,
            _ => {}
        }
    }

    let server_certificate = match transport {
        Transport::Plain if plus => {
            return Err(Error::auth(
                "the server offered SCRAM-SHA-256-PLUS over a connection without TLS; \
                 something between client and server may have removed TLS",
            ));
        }
        Transport::Plain if policy == ChannelBinding::Require => {
            return Err(Error::auth(
                "channel binding is required (channel_binding=require), but the connection \
                 does not use TLS; set sslmode=require or stronger",
            ));
        }
        Transport::Plain => None,
        Transport::Tls { server_certificate } => Some(server_certificate),
    };

    match (policy, server_certificate) {
        (ChannelBinding::Disable, _) if plain => Ok(ScramBinding::none()),
        (ChannelBinding::Disable, _) if plus => Err(Error::auth(
            "the server accepts only SCRAM-SHA-256-PLUS, but channel binding is disabled \
             (channel_binding=disable)",
        )),
        (_, Some(certificate)) if plus => match certificate {
            Some(der) => ScramBinding::tls_server_end_point(der),
            None => Err(Error::auth(
                "the server offered SCRAM-SHA-256-PLUS, but the TLS connection has no server \
                 certificate to bind to",
            )),
        },
        (ChannelBinding::Require, _) => Err(Error::auth(
            "channel binding is required (channel_binding=require), but the server did not \
             offer SCRAM-SHA-256-PLUS",
        )),
        (_, Some(_)) if plain => Ok(ScramBinding::not_offered()),
        (_, None) if plain => Ok(ScramBinding::none()),
        _ => Err(Error::auth(
            "none of the server's SASL mechanisms is supported (Quarry implements \
             SCRAM-SHA-256 and SCRAM-SHA-256-PLUS)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    const CERT_RSA_SHA256: &[u8] = include_bytes!("testdata/rsa_sha256.der");
    const CERT_ED25519: &[u8] = include_bytes!("testdata/ed25519.der");

    const BOTH: [&str; 2] = ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"];
    const PLAIN: [&str; 1] = ["SCRAM-SHA-256"];
    const PLUS: [&str; 1] = ["SCRAM-SHA-256-PLUS"];

    fn tls(cert: &[u8]) -> Transport<'_> {
        Transport::Tls {
            server_certificate: Some(cert),
        }
    }

    fn auth_error(result: Result<ScramBinding>) -> String {
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Authentication, "{err}");
        err.message().to_owned()
    }

    #[test]
    fn prefer_uses_plus_when_offered_over_tls() {
        let b = select_mechanism(BOTH, ChannelBinding::Prefer, tls(CERT_RSA_SHA256)).unwrap();
        assert_eq!(b.mechanism(), Mechanism::ScramSha256Plus);
        assert_eq!(b.gs2_header(), "p=tls-server-end-point,,");
        assert_eq!(b.data(), tls_server_end_point(CERT_RSA_SHA256).unwrap());
        assert_eq!(b.data().len(), 32);
    }

    #[test]
    fn prefer_without_plus_over_tls_says_y() {
        let b = select_mechanism(PLAIN, ChannelBinding::Prefer, tls(CERT_RSA_SHA256)).unwrap();
        assert_eq!(b, ScramBinding::not_offered());
        assert_eq!(b.gs2_header(), "y,,");
        assert_eq!(b.mechanism(), Mechanism::ScramSha256);
    }

    #[test]
    fn prefer_without_tls_says_n() {
        let b = select_mechanism(PLAIN, ChannelBinding::Prefer, Transport::Plain).unwrap();
        assert_eq!(b, ScramBinding::none());
        assert_eq!(b.gs2_header(), "n,,");
    }

    #[test]
    fn disable_says_n_even_when_plus_is_offered() {
        let b = select_mechanism(BOTH, ChannelBinding::Disable, tls(CERT_RSA_SHA256)).unwrap();
        assert_eq!(b, ScramBinding::none());
        let msg = auth_error(select_mechanism(
            PLUS,
            ChannelBinding::Disable,
            tls(CERT_RSA_SHA256),
        ));
        assert!(msg.contains("channel_binding=disable"), "{msg}");
    }

    #[test]
    fn require_uses_plus() {
        let b = select_mechanism(PLUS, ChannelBinding::Require, tls(CERT_RSA_SHA256)).unwrap();
        assert_eq!(b.mechanism(), Mechanism::ScramSha256Plus);
    }

    #[test]
    fn require_when_only_plain_scram_is_offered_fails() {
        let msg = auth_error(select_mechanism(
            PLAIN,
            ChannelBinding::Require,
            tls(CERT_RSA_SHA256),
        ));
        assert!(msg.contains("did not offer SCRAM-SHA-256-PLUS"), "{msg}");
    }

    #[test]
    fn require_without_tls_fails() {
        let msg = auth_error(select_mechanism(
            PLAIN,
            ChannelBinding::Require,
            Transport::Plain,
        ));
        assert!(msg.contains("does not use TLS"), "{msg}");
    }

    #[test]
    fn plus_offered_without_tls_fails_whatever_the_policy() {
        for policy in [
            ChannelBinding::Disable,
            ChannelBinding::Prefer,
            ChannelBinding::Require,
        ] {
            let msg = auth_error(select_mechanism(BOTH, policy, Transport::Plain));
            assert!(msg.contains("without TLS"), "{policy}: {msg}");
        }
    }

    #[test]
    fn plus_with_an_unbindable_certificate_fails_instead_of_downgrading() {
        for policy in [ChannelBinding::Prefer, ChannelBinding::Require] {
            let msg = auth_error(select_mechanism(BOTH, policy, tls(CERT_ED25519)));
            assert!(msg.contains("Ed25519"), "{msg}");
        }
    }

    #[test]
    fn plus_over_tls_without_a_certificate_fails() {
        let transport = Transport::Tls {
            server_certificate: None,
        };
        let msg = auth_error(select_mechanism(BOTH, ChannelBinding::Prefer, transport));
        assert!(msg.contains("no server certificate"), "{msg}");
    }

    #[test]
    fn unknown_mechanisms_are_skipped_and_none_left_is_an_error() {
        let b = select_mechanism(
            ["OAUTHBEARER", "SCRAM-SHA-256"],
            ChannelBinding::Prefer,
            Transport::Plain,
        )
        .unwrap();
        assert_eq!(b, ScramBinding::none());
        let msg = auth_error(select_mechanism(
            ["OAUTHBEARER"],
            ChannelBinding::Prefer,
            Transport::Plain,
        ));
        assert!(
            msg.contains("none of the server's SASL mechanisms"),
            "{msg}"
        );
        let none: [&[u8]; 0] = [];
        auth_error(select_mechanism(
            none,
            ChannelBinding::Prefer,
            Transport::Plain,
        ));
    }

    #[test]
    fn require_rejects_every_completion_but_plus() {
        let require = ChannelBinding::Require;
        require.check(AuthMethod::ScramSha256Plus).unwrap();
        for method in [
            AuthMethod::None,
            AuthMethod::Cleartext,
            AuthMethod::Md5,
            AuthMethod::ScramSha256,
        ] {
            let err = require.check(method).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Authentication);
            assert!(err.message().contains("channel_binding=require"), "{err}");
        }
        for policy in [ChannelBinding::Disable, ChannelBinding::Prefer] {
            policy.check(AuthMethod::None).unwrap();
            policy.check(AuthMethod::Cleartext).unwrap();
        }
    }

    #[test]
    fn parses_libpq_spellings() {
        for policy in [
            ChannelBinding::Disable,
            ChannelBinding::Prefer,
            ChannelBinding::Require,
        ] {
            assert_eq!(
                policy.to_string().parse::<ChannelBinding>().unwrap(),
                policy
            );
        }
        assert_eq!(ChannelBinding::default(), ChannelBinding::Prefer);
        let err = "Require".parse::<ChannelBinding>().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(
            err.message()
                .contains("expected one of: disable, prefer, require"),
            "{err}"
        );
    }
}
