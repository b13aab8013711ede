//! libpq's `require_auth` option: which authentication methods the client
//! accepts from the server.

use std::fmt;
use std::str::FromStr;

use super::AuthMethod;
use crate::failure::{Error, Result};

/// libpq's `require_auth` connection option (PostgreSQL 16+).
///
/// A comma-separated list of `password`, `md5`, `gss`, `sspi`,
/// `scram-sha-256`, `oauth` and `none`. Either every element is positive
/// (only these methods are accepted) or every element is negated with `!`
/// (all methods but these). `none` is about a server that asks for no
/// credentials at all: allowed when listed positively or when the list is
/// negative without `!none`. The empty string (the default) accepts
/// everything.
///
/// Parsing follows libpq exactly: names are case-sensitive, spaces are not
/// trimmed, an element may not repeat.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct RequireAuth {
    /// Bit set of [`Method`]s the server may use.
    allowed: u8,
    /// Whether the server must ask for credentials (`none` is not allowed).
    auth_required: bool,
}

/// The names `require_auth` knows, as bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    Password,
    Md5,
    Gss,
    Sspi,
    Scram,
    OAuth,
}

impl Method {
    const ALL: [Method; 6] = [
        Method::Password,
        Method::Md5,
        Method::Gss,
        Method::Sspi,
        Method::Scram,
        Method::OAuth,
    ];

    fn bit(self) -> u8 {
        match self {
            Method::Password => 1,
            Method::Md5 => 1 << 1,
            Method::Gss => 1 << 2,
            Method::Sspi => 1 << 3,
            Method::Scram => 1 << 4,
            Method::OAuth => 1 << 5,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Method::Password => "password",
            Method::Md5 => "md5",
            Method::Gss => "gss",
            Method::Sspi => "sspi",
            Method::Scram => "scram-sha-256",
            Method::OAuth => "oauth",
        }
    }

    fn of(method: AuthMethod) -> Option<Method> {
        match method {
            AuthMethod::None => None,
            AuthMethod::Cleartext => Some(Method::Password),
            AuthMethod::Md5 => Some(Method::Md5),
            AuthMethod::ScramSha256 | AuthMethod::ScramSha256Plus => Some(Method::Scram),
            AuthMethod::Gss => Some(Method::Gss),
            AuthMethod::Sspi => Some(Method::Sspi),
        }
    }
}

const EVERY_METHOD: u8 = (1 << 6) - 1;

impl RequireAuth {
    /// Parses libpq's `require_auth` string; the empty string accepts everything.
    pub(crate) fn parse(value: &str) -> Result<Self> {
        if value.is_empty() {
            return Ok(RequireAuth::default());
        }
        let mut require = RequireAuth {
            allowed: 0,
            auth_required: true,
        };
        let mut negated = false;
        for (index, element) in value.split(',').enumerate() {
            let name = match element.strip_prefix('!') {
                Some(name) => {
                    if index == 0 {
                        negated = true;
                        require = RequireAuth {
                            allowed: EVERY_METHOD,
                            auth_required: false,
                        };
                    } else if !negated {
                        return Err(Error::config(format!(
                            "negative require_auth method {element:?} cannot be mixed with \
                             non-negative methods"
                        )));
                    }
                    name
                }
                None if negated => {
                    return Err(Error::config(format!(
                        "require_auth method {element:?} cannot be mixed with negative methods"
                    )));
                }
                None => element,
            };

            if name == "none" {
                // As in libpq, repeating `none` is not an error.
                require.auth_required = negated;
                continue;
            }
            let Some(method) = Method::ALL.into_iter().find(|m| m.name() == name) else {
                return Err(Error::config(format!(
                    "invalid require_auth method {name:?}: expected password, md5, gss, sspi, \
                     scram-sha-256, oauth or none, optionally negated with !"
                )));
            };
            let bit = method.bit();
            let repeated = if negated {
                require.allowed & bit == 0
            } else {
                require.allowed & bit != 0
            };
            if repeated {
                return Err(Error::config(format!(
                    "require_auth method {name:?} is specified more than once"
                )));
            }
            if negated {
                require.allowed &= !bit;
            } else {
                require.allowed |= bit;
            }
        }
        Ok(require)
    }

    /// Whether the server may authenticate the client with `method`
    /// ([`AuthMethod::None`]: without asking for credentials).
    pub(crate) fn allows(&self, method: AuthMethod) -> bool {
        match Method::of(method) {
            None => !self.auth_required,
            Some(m) => self.allowed & m.bit() != 0,
        }
    }

    /// [`check_as_written`](Self::check_as_written) with the canonical spelling.
    #[cfg(test)]
    pub(crate) fn check(&self, method: AuthMethod) -> Result<()> {
        self.check_as_written(method, self)
    }

    /// [`allows`](Self::allows) as an authentication error that names what the server
    /// asked for, quoting `require_auth` as the user wrote it (`!md5`, not the list it
    /// expands to). Call it before answering any request, and when `AuthenticationOk`
    /// arrives without one.
    pub(crate) fn check_as_written(
        &self,
        method: AuthMethod,
        written: &dyn fmt::Display,
    ) -> Result<()> {
        if self.allows(method) {
            return Ok(());
        }
        let message = match method {
            AuthMethod::None => format!(
                "require_auth={written} does not allow connecting without authentication, but the \
                 server did not ask for credentials"
            ),
            other => format!(
                "require_auth={written} does not allow {other} authentication, but the server asked \
                 for {}",
                other.request()
            ),
        };
        Err(Error::auth(message))
    }
}

impl Default for RequireAuth {
    /// Every method is accepted, including none (libpq's default).
    fn default() -> Self {
        RequireAuth {
            allowed: EVERY_METHOD,
            auth_required: false,
        }
    }
}

impl FromStr for RequireAuth {
    type Err = Error;

    fn from_str(value: &str) -> Result<Self> {
        RequireAuth::parse(value)
    }
}

impl fmt::Display for RequireAuth {
    /// A canonical libpq string with the same meaning (positive list).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == RequireAuth::default() {
            return Ok(());
        }
        let mut names: Vec<&str> = Method::ALL
            .into_iter()
            .filter(|m| self.allowed & m.bit() != 0)
            .map(Method::name)
            .collect();
        if !self.auth_required {
            names.push("none");
        }
        if names.is_empty() {
            // Nothing is accepted; libpq has no positive spelling for that.
            return f.write_str("!password,!md5,!gss,!sspi,!scram-sha-256,!oauth,!none");
        }
        f.write_str(&names.join(","))
    }
}

impl fmt::Debug for RequireAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RequireAuth({:?})", self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    const ALL: [AuthMethod; 7] = [
        AuthMethod::None,
        AuthMethod::Cleartext,
        AuthMethod::Md5,
        AuthMethod::ScramSha256,
        AuthMethod::ScramSha256Plus,
        AuthMethod::Gss,
        AuthMethod::Sspi,
    ];

    fn allowed(value: &str) -> Vec<AuthMethod> {
        let require = RequireAuth::parse(value).unwrap();
        ALL.into_iter().filter(|&m| require.allows(m)).collect()
    }

    fn config_error(value: &str) -> String {
        let err = RequireAuth::parse(value).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{err}");
        err.message().to_owned()
    }

    #[test]
    fn empty_allows_everything() {
        assert_eq!(allowed(""), ALL);
        assert_eq!(RequireAuth::default(), RequireAuth::parse("").unwrap());
    }

    #[test]
    fn positive_list_allows_only_what_it_names() {
        assert_eq!(
            allowed("scram-sha-256"),
            [AuthMethod::ScramSha256, AuthMethod::ScramSha256Plus]
        );
        assert_eq!(
            allowed("password,md5"),
            [AuthMethod::Cleartext, AuthMethod::Md5]
        );
        assert_eq!(allowed("gss,sspi"), [AuthMethod::Gss, AuthMethod::Sspi]);
        assert_eq!(allowed("oauth"), []);
    }

    #[test]
    fn none_lets_the_server_skip_authentication() {
        assert_eq!(allowed("none"), [AuthMethod::None]);
        assert_eq!(
            allowed("scram-sha-256,none"),
            [
                AuthMethod::None,
                AuthMethod::ScramSha256,
                AuthMethod::ScramSha256Plus
            ]
        );
    }

    #[test]
    fn negative_list_allows_everything_else() {
        assert_eq!(
            allowed("!password,!md5"),
            [
                AuthMethod::None,
                AuthMethod::ScramSha256,
                AuthMethod::ScramSha256Plus,
                AuthMethod::Gss,
                AuthMethod::Sspi
            ]
        );
        assert_eq!(
            allowed("!none"),
            [
                AuthMethod::Cleartext,
                AuthMethod::Md5,
                AuthMethod::ScramSha256,
                AuthMethod::ScramSha256Plus,
                AuthMethod::Gss,
                AuthMethod::Sspi
            ]
        );
    }

    #[test]
    fn mixing_positive_and_negative_is_an_error() {
        let msg = config_error("password,!md5");
        assert!(
            msg.contains("negative require_auth method \"!md5\""),
            "{msg}"
        );
        let msg = config_error("!password,md5");
        assert!(
            msg.contains("cannot be mixed with negative methods"),
            "{msg}"
        );
    }

    #[test]
    fn unknown_and_repeated_methods_are_errors() {
        assert!(config_error("scram").contains("invalid require_auth method \"scram\""));
        // libpq neither trims spaces nor folds case.
        assert!(config_error("password, md5").contains("\" md5\""));
        assert!(config_error("MD5").contains("\"MD5\""));
        assert!(config_error("md5,,password").contains("\"\""));
        assert!(config_error("md5,md5").contains("more than once"));
        assert!(config_error("!md5,!md5").contains("more than once"));
        // libpq does not complain about a repeated `none`.
        assert_eq!(allowed("none,none"), [AuthMethod::None]);
    }

    #[test]
    fn check_names_the_request() {
        let require = RequireAuth::parse("scram-sha-256").unwrap();
        require.check(AuthMethod::ScramSha256Plus).unwrap();
        let err = require.check(AuthMethod::Cleartext).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Authentication);
        assert!(err.message().contains("a cleartext password"), "{err}");
        let err = require.check(AuthMethod::None).unwrap_err();
        assert!(
            err.message().contains("did not ask for credentials"),
            "{err}"
        );
    }

    #[test]
    fn display_round_trips() {
        for value in [
            "",
            "md5",
            "!md5,!none",
            "scram-sha-256,none",
            "!password",
            "!none",
        ] {
            let require = RequireAuth::parse(value).unwrap();
            let shown = require.to_string();
            assert_eq!(
                RequireAuth::parse(&shown).unwrap(),
                require,
                "{value} -> {shown}"
            );
        }
        let nothing =
            RequireAuth::parse("!password,!md5,!gss,!sspi,!scram-sha-256,!oauth,!none").unwrap();
        assert_eq!(allowed(&nothing.to_string()), []);
    }
}
