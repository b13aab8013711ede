//! Authentication exchanges as state machines fed with bytes (no IO).
//!
//! The connection layer owns the socket. It decodes each backend
//! `Authentication*` message, hands its payload to the pieces here and sends
//! what they return. Nothing in this module reads the clock, the network or
//! the environment; the one outside input is the OS random number generator
//! for the SCRAM nonce.
//!
//! # Which backend message triggers which step
//!
//! After the `StartupMessage` the server answers with one authentication
//! request (PostgreSQL docs, "Message Flow / Start-up",
//! <https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-START-UP>):
//!
//! ```text
//!  frontend                                    backend
//!  StartupMessage(user, database, ...) ─────▶
//!                                       ◀───── AuthenticationOk
//!      no credentials asked: AuthMethod::None
//!                                       ◀───── AuthenticationCleartextPassword
//!      AuthMethod::Cleartext, answer PasswordMessage(cleartext_password(pw))
//!                                       ◀───── AuthenticationMD5Password(salt)
//!      AuthMethod::Md5, answer PasswordMessage(md5_password(user, pw, salt))
//!                                       ◀───── AuthenticationSASL(mechanisms)
//!      select_mechanism(...) -> ScramBinding, then the SCRAM exchange below
//!                                       ◀───── AuthenticationGSS / SSPI / KerberosV5 / SCMCredential
//!      AuthMethod::Gss / Sspi: Error (Unsupported); the others are protocol errors
//! ```
//!
//! Before answering any request, and again when `AuthenticationOk` arrives
//! without any request (`AuthMethod::None`), the connection calls
//! [`RequireAuth::check`], [`ChannelBinding::check`] and
//! [`AuthMethod::ensure_supported`]; a refusal happens before any secret is
//! sent.
//!
//! # The SCRAM exchange
//!
//! PostgreSQL docs, "SASL Authentication"
//! (<https://www.postgresql.org/docs/current/sasl-authentication.html>), with
//! RFC 5802 and RFC 7677 for the SCRAM messages themselves:
//!
//! ```text
//!  frontend                                    backend
//!                                       ◀───── AuthenticationSASL("SCRAM-SHA-256-PLUS", "SCRAM-SHA-256")
//!  binding = select_mechanism(list, channel_binding, transport)?
//!  (scram, first) = ScramClient::new(password, binding, limits)?
//!  SASLInitialResponse(scram.mechanism().name(), first) ───▶
//!                                       ◀───── AuthenticationSASLContinue(server-first-message)
//!  fin = scram.server_first(payload)?        (nonce, salt and iteration checks, then PBKDF2)
//!  SASLResponse(fin) ───────────────────▶
//!                                       ◀───── AuthenticationSASLFinal(server-final-message)
//!  scram.server_final(payload)?              (the server proves it knew the password too)
//!                                       ◀───── AuthenticationOk
//!  accept only if scram.is_finished()
//!                                       ◀───── ErrorResponse at any step: wrong password, etc.
//! ```
//!
//! An `AuthenticationOk` while `scram.is_finished()` is false means the
//! server skipped proving that it knows the password: the connection must
//! treat it as an authentication error, not as success.

mod certificate;
mod channel_binding;
mod md5;
mod require_auth;
mod saslprep;
mod scram;

use std::fmt;

use crate::failure::{Error, Result};

pub use channel_binding::ChannelBinding;
#[cfg(feature = "__internals")]
pub(crate) use channel_binding::ScramBinding;
pub(crate) use channel_binding::{Transport, select_mechanism};
pub(crate) use md5::{cleartext_password, md5_password};
pub(crate) use require_auth::RequireAuth;
pub(crate) use scram::{ScramClient, ScramLimits};

/// How the server authenticated (or wants to authenticate) the client.
///
/// A connection reports the method that succeeded; [`RequireAuth`] and
/// [`ChannelBinding`] are asked about each method the server requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub(crate) enum AuthMethod {
    /// The server asked for no credentials (`trust`, `peer`, `cert`, ... in
    /// `pg_hba.conf`). libpq's `require_auth` calls it `none`.
    None,
    /// The password was sent in clear text (`password` in `pg_hba.conf`).
    Cleartext,
    /// The MD5 challenge-response (`md5`).
    Md5,
    /// SCRAM-SHA-256 without channel binding.
    ScramSha256,
    /// SCRAM-SHA-256-PLUS: SCRAM bound to the TLS channel (`tls-server-end-point`).
    ScramSha256Plus,
    /// GSSAPI (Kerberos). The server may ask for it; Quarry does not implement it,
    /// so a connection never reports it.
    Gss,
    /// SSPI (Windows). The server may ask for it; Quarry does not implement it,
    /// so a connection never reports it.
    Sspi,
}

impl AuthMethod {
    /// Fails with an [`Unsupported`](crate::ErrorKind::Unsupported) error for
    /// the methods Quarry does not implement (GSSAPI and SSPI).
    pub(crate) fn ensure_supported(self) -> Result<()> {
        match self {
            AuthMethod::Gss | AuthMethod::Sspi => Err(Error::unsupported(format!(
                "the server asked for {self} authentication, which Quarry does not implement; \
                 configure pg_hba.conf to use scram-sha-256 for this client"
            ))),
            _ => Ok(()),
        }
    }

    /// Words for error messages: what the server asked for.
    fn request(self) -> &'static str {
        match self {
            AuthMethod::None => "no authentication",
            AuthMethod::Cleartext => "a cleartext password",
            AuthMethod::Md5 => "an MD5 password",
            AuthMethod::ScramSha256 => "SCRAM-SHA-256 without channel binding",
            AuthMethod::ScramSha256Plus => "SCRAM-SHA-256-PLUS",
            AuthMethod::Gss => "GSSAPI",
            AuthMethod::Sspi => "SSPI",
        }
    }
}

impl fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AuthMethod::None => "none",
            AuthMethod::Cleartext => "cleartext password",
            AuthMethod::Md5 => "MD5",
            AuthMethod::ScramSha256 => "SCRAM-SHA-256",
            AuthMethod::ScramSha256Plus => "SCRAM-SHA-256-PLUS",
            AuthMethod::Gss => "GSSAPI",
            AuthMethod::Sspi => "SSPI",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn gss_and_sspi_are_unsupported_and_the_rest_supported() {
        for method in [AuthMethod::Gss, AuthMethod::Sspi] {
            let err = method.ensure_supported().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unsupported);
            assert!(err.message().contains(&method.to_string()), "{err}");
        }
        for method in [
            AuthMethod::None,
            AuthMethod::Cleartext,
            AuthMethod::Md5,
            AuthMethod::ScramSha256,
            AuthMethod::ScramSha256Plus,
        ] {
            method.ensure_supported().unwrap();
        }
    }
}
