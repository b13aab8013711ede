//! The client side of SCRAM-SHA-256 and SCRAM-SHA-256-PLUS (RFC 5802,
//! RFC 7677) as PostgreSQL speaks it.
//!
//! PostgreSQL differences from the RFC: the user name in client-first-message
//! is empty (the server takes it from the startup message), and the password
//! goes through PostgreSQL's lenient SASLprep ([`saslprep`]).
//!
//! Every check on the server's messages happens before the PBKDF2 work, so a
//! hostile server cannot make the client burn CPU: the iteration count is
//! bounded by [`ScramLimits`] (RUSTSEC-2026-0179, CVE-2026-42198).

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use super::channel_binding::{Mechanism, ScramBinding};
use super::saslprep::saslprep;
use crate::failure::{Error, Result};

type HmacSha256 = Hmac<Sha256>;

/// Random bytes in the client nonce (as libpq: 18, so 24 base64 characters).
const NONCE_BYTES: usize = 18;

/// Output size of SHA-256, so of every key and signature in the exchange.
const KEY_LEN: usize = 32;

/// Bounds on the PBKDF2 iteration count a server may ask for.
///
/// The maximum protects the client from a hostile server asking for billions
/// of iterations; the minimum lets a client refuse a server whose stored
/// secret is cheap to brute-force if an exchange is intercepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ScramLimits {
    min_iterations: u32,
    max_iterations: u32,
}

impl ScramLimits {
    /// The default maximum: 100,000 iterations (PostgreSQL's default is 4,096;
    /// postgres-protocol 0.6.12 and pgjdbc 42.7.11 use the same cap).
    pub(crate) const DEFAULT_MAX_ITERATIONS: u32 = 100_000;

    /// Limits accepting iteration counts in `min_iterations..=max_iterations`.
    ///
    /// Fails when `min_iterations` is 0 or above `max_iterations`.
    pub(crate) fn new(min_iterations: u32, max_iterations: u32) -> Result<Self> {
        if min_iterations == 0 {
            return Err(Error::config(
                "the minimum SCRAM iteration count must be at least 1",
            ));
        }
        if min_iterations > max_iterations {
            return Err(Error::config(format!(
                "the minimum SCRAM iteration count ({min_iterations}) is above the maximum \
                 ({max_iterations})"
            )));
        }
        Ok(ScramLimits {
            min_iterations,
            max_iterations,
        })
    }
}

impl Default for ScramLimits {
    /// 1 to [`DEFAULT_MAX_ITERATIONS`](Self::DEFAULT_MAX_ITERATIONS):
    /// PostgreSQL 16+ lets `scram_iterations` go as low as 1.
    fn default() -> Self {
        ScramLimits {
            min_iterations: 1,
            max_iterations: Self::DEFAULT_MAX_ITERATIONS,
        }
    }
}

/// The client side of one SCRAM exchange.
///
/// [`new`](Self::new) returns the client-first-message;
/// [`server_first`](Self::server_first) takes the payload of
/// `AuthenticationSASLContinue` and returns the client-final-message;
/// [`server_final`](Self::server_final) takes the payload of
/// `AuthenticationSASLFinal` and checks the server's signature. A message out
/// of order or any failed check is an error, after which the exchange is
/// dead: every further call fails.
///
/// `Debug` shows only the mechanism and the phase, never the password, the
/// keys or the nonces.
pub(crate) struct ScramClient {
    mechanism: Mechanism,
    state: State,
}

/// The phases, named for what they expect next.
enum State {
    ExpectServerFirst(ExpectServerFirst),
    ExpectServerFinal(ExpectServerFinal),
    Finished,
    Failed,
}

struct ExpectServerFirst {
    /// The password after SASLprep.
    password: Secret<Vec<u8>>,
    client_nonce: String,
    client_first_bare: String,
    binding: ScramBinding,
    limits: ScramLimits,
}

struct ExpectServerFinal {
    server_signature: [u8; KEY_LEN],
}

impl ScramClient {
    /// Starts an exchange. Returns the client and the client-first-message to
    /// send in `SASLInitialResponse` under the name `client.mechanism().name()`.
    ///
    /// `password` is the password as bytes; it is prepared with PostgreSQL's
    /// SASLprep rules here. The nonce comes from the operating system's
    /// random number generator.
    pub(crate) fn new(
        password: impl AsRef<[u8]>,
        binding: ScramBinding,
        limits: ScramLimits,
    ) -> Result<(Self, Vec<u8>)> {
        let mut raw = [0u8; NONCE_BYTES];
        getrandom::getrandom(&mut raw).map_err(|e| {
            Error::io(
                "could not read random bytes from the operating system for the SCRAM nonce",
                e.into(),
            )
        })?;
        let nonce = BASE64.encode(raw);
        Ok(Self::start(password.as_ref(), binding, limits, "", nonce))
    }

    /// [`new`](Self::new) with a chosen user name and nonce, for test vectors and the
    /// fuzz target `scram` (through `internals`).
    #[cfg(any(test, feature = "__internals"))]
    pub(crate) fn with_user_and_nonce(
        password: &[u8],
        binding: ScramBinding,
        limits: ScramLimits,
        user: &str,
        nonce: &str,
    ) -> (Self, Vec<u8>) {
        Self::start(password, binding, limits, user, nonce.to_owned())
    }

    fn start(
        password: &[u8],
        binding: ScramBinding,
        limits: ScramLimits,
        user: &str,
        client_nonce: String,
    ) -> (Self, Vec<u8>) {
        let client_first_bare = format!("n={user},r={client_nonce}");
        let mut message = binding.gs2_header().as_bytes().to_vec();
        message.extend_from_slice(client_first_bare.as_bytes());
        let client = ScramClient {
            mechanism: binding.mechanism(),
            state: State::ExpectServerFirst(ExpectServerFirst {
                password: Secret(saslprep(password).into_owned()),
                client_nonce,
                client_first_bare,
                binding,
                limits,
            }),
        };
        (client, message)
    }

    /// The SASL mechanism of this exchange.
    pub(crate) fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// Takes the server-first-message (the `AuthenticationSASLContinue`
    /// payload) and returns the client-final-message to send in `SASLResponse`.
    pub(crate) fn server_first(&mut self, message: &[u8]) -> Result<Vec<u8>> {
        match std::mem::replace(&mut self.state, State::Failed) {
            State::ExpectServerFirst(phase) => {
                let (next, reply) = phase.server_first(message)?;
                self.state = State::ExpectServerFinal(next);
                Ok(reply)
            }
            State::ExpectServerFinal(_) => Err(Error::auth(
                "the server sent a second SCRAM server-first-message",
            )),
            State::Finished => Err(Error::auth(
                "the server sent a SCRAM server-first-message after the exchange finished",
            )),
            State::Failed => Err(failed()),
        }
    }

    /// Takes the server-final-message (the `AuthenticationSASLFinal`
    /// payload) and checks that the server proved it knows the password.
    pub(crate) fn server_final(&mut self, message: &[u8]) -> Result<()> {
        match std::mem::replace(&mut self.state, State::Failed) {
            State::ExpectServerFinal(phase) => {
                phase.server_final(message)?;
                self.state = State::Finished;
                Ok(())
            }
            State::ExpectServerFirst(_) => Err(Error::auth(
                "the server sent its SCRAM server-final-message before the client sent \
                 client-final-message",
            )),
            State::Finished => Err(Error::auth(
                "the server sent a second SCRAM server-final-message",
            )),
            State::Failed => Err(failed()),
        }
    }

    /// Whether the server's signature has been verified. `AuthenticationOk`
    /// before this is true must be rejected.
    pub(crate) fn is_finished(&self) -> bool {
        matches!(self.state, State::Finished)
    }
}

impl fmt::Debug for ScramClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let phase = match self.state {
            State::ExpectServerFirst(_) => "ExpectServerFirst",
            State::ExpectServerFinal(_) => "ExpectServerFinal",
            State::Finished => "Finished",
            State::Failed => "Failed",
        };
        f.debug_struct("ScramClient")
            .field("mechanism", &self.mechanism)
            .field("state", &phase)
            .finish()
    }
}

fn failed() -> Error {
    Error::auth("the SCRAM exchange already failed")
}

impl ExpectServerFirst {
    fn server_first(self, message: &[u8]) -> Result<(ExpectServerFinal, Vec<u8>)> {
        let server_first = ServerFirst::parse(message).map_err(server_first_error)?;

        let client_nonce = self.client_nonce.as_bytes();
        let extends_ours = server_first
            .nonce
            .split_at_checked(client_nonce.len())
            .is_some_and(|(prefix, own)| ct_eq(prefix, client_nonce) && !own.is_empty());
        if !extends_ours {
            return Err(server_first_error(
                "the server nonce does not extend the client nonce (a replayed or forged \
                 exchange)"
                    .into(),
            ));
        }
        let iterations = self.check_iterations(server_first.iterations)?;
        let salt = BASE64
            .decode(server_first.salt)
            .map_err(|_| server_first_error("the salt is not valid base64".into()))?;
        if salt.is_empty() {
            return Err(server_first_error("the salt is empty".into()));
        }

        // Only now the expensive part.
        let salted_password = Secret(hi(&self.password.0, &salt, iterations));
        let client_key = Secret(hmac(&salted_password.0, b"Client Key"));
        let stored_key: [u8; KEY_LEN] = Sha256::digest(client_key.0).into();
        let server_key = Secret(hmac(&salted_password.0, b"Server Key"));

        let mut cbind_input = self.binding.gs2_header().as_bytes().to_vec();
        cbind_input.extend_from_slice(self.binding.data());
        let mut reply = b"c=".to_vec();
        reply.extend_from_slice(BASE64.encode(&cbind_input).as_bytes());
        reply.extend_from_slice(b",r=");
        reply.extend_from_slice(server_first.nonce);

        let mut auth_message =
            Vec::with_capacity(self.client_first_bare.len() + message.len() + reply.len() + 2);
        auth_message.extend_from_slice(self.client_first_bare.as_bytes());
        auth_message.push(b',');
        auth_message.extend_from_slice(message);
        auth_message.push(b',');
        auth_message.extend_from_slice(&reply);

        let client_signature = hmac(&stored_key, &auth_message);
        let mut proof = client_key.0;
        for (p, s) in proof.iter_mut().zip(client_signature) {
            *p ^= s;
        }
        reply.extend_from_slice(b",p=");
        reply.extend_from_slice(BASE64.encode(proof).as_bytes());

        let server_signature = hmac(&server_key.0, &auth_message);
        Ok((ExpectServerFinal { server_signature }, reply))
    }

    /// The iteration count, within [`ScramLimits`], checked before any work.
    fn check_iterations(&self, digits: &[u8]) -> Result<u32> {
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return Err(server_first_error(
                "the iteration count is not a positive decimal number".into(),
            ));
        }
        if digits.len() > 1 && digits.first() == Some(&b'0') {
            return Err(server_first_error(
                "the iteration count has leading zeros".into(),
            ));
        }
        let count = digits.iter().fold(0u64, |n, &d| {
            n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
        });
        if count == 0 {
            return Err(server_first_error(
                "the iteration count is 0; it must be at least 1".into(),
            ));
        }
        let limits = self.limits;
        if count > u64::from(limits.max_iterations) {
            return Err(Error::auth(format!(
                "the server asked for {count} SCRAM iterations, more than the limit of {}; \
                 refused before computing anything (raise ScramLimits' maximum only for a \
                 server you trust that really stores such a secret)",
                limits.max_iterations
            )));
        }
        if count < u64::from(limits.min_iterations) {
            return Err(Error::auth(format!(
                "the server asked for {count} SCRAM iterations, fewer than the configured \
                 minimum of {}; a secret stored with so few is cheap to brute-force",
                limits.min_iterations
            )));
        }
        u32::try_from(count)
            .map_err(|_| server_first_error("the iteration count does not fit in 32 bits".into()))
    }
}

impl ExpectServerFinal {
    fn server_final(self, message: &[u8]) -> Result<()> {
        if let Some(error) = message.strip_prefix(b"e=") {
            let value = error.split(|&b| b == b',').next().unwrap_or_default();
            return Err(Error::auth(format!(
                "the server rejected the SCRAM exchange: {}",
                printable(value)
            )));
        }
        let Some(verifier) = message.strip_prefix(b"v=") else {
            return Err(server_final_error(
                "expected the server signature (v=) or an error (e=)",
            ));
        };
        if verifier.contains(&b',') {
            return Err(server_final_error(
                "unexpected data after the server signature",
            ));
        }
        let signature = BASE64
            .decode(verifier)
            .map_err(|_| server_final_error("the server signature is not valid base64"))?;
        if signature.len() != KEY_LEN {
            return Err(Error::auth(format!(
                "SCRAM server-final-message: the server signature is {} bytes long, expected \
                 {KEY_LEN}",
                signature.len()
            )));
        }
        if !ct_eq(&signature, &self.server_signature) {
            return Err(Error::auth(
                "the server's SCRAM signature is wrong: the server does not know the password \
                 (possible man-in-the-middle)",
            ));
        }
        Ok(())
    }
}

/// server-first-message = [reserved-mext ","] nonce "," salt "," iteration-count ["," extensions]
///
/// Strict like libpq: `m=` is refused, and so is anything after the
/// iteration count.
struct ServerFirst<'a> {
    nonce: &'a [u8],
    salt: &'a [u8],
    iterations: &'a [u8],
}

impl<'a> ServerFirst<'a> {
    fn parse(message: &'a [u8]) -> std::result::Result<Self, String> {
        if message.starts_with(b"m=") {
            return Err(
                "the server requires a SCRAM extension (m=) that Quarry does not know".into(),
            );
        }
        let mut attributes = message.split(|&b| b == b',');
        let nonce = attribute(attributes.next(), b'r', "the nonce")?;
        let salt = attribute(attributes.next(), b's', "the salt")?;
        let iterations = attribute(attributes.next(), b'i', "the iteration count")?;
        if attributes.next().is_some() {
            return Err("unexpected data after the iteration count".into());
        }
        if !nonce.iter().all(|&b| (0x21..=0x7E).contains(&b)) {
            return Err("the nonce contains a byte that is not printable ASCII".into());
        }
        Ok(ServerFirst {
            nonce,
            salt,
            iterations,
        })
    }
}

/// The value of attribute `name=` in `part`.
fn attribute<'a>(
    part: Option<&'a [u8]>,
    name: u8,
    what: &str,
) -> std::result::Result<&'a [u8], String> {
    let Some(part) = part else {
        return Err(format!("{what} ({}=) is missing", char::from(name)));
    };
    match part {
        [found, b'=', value @ ..] if *found == name => {
            if value.is_empty() {
                Err(format!("{what} ({}=) is empty", char::from(name)))
            } else {
                Ok(value)
            }
        }
        [found, b'=', ..] if found.is_ascii_alphabetic() => Err(format!(
            "expected {what} ({}=) but found attribute {}=",
            char::from(name),
            char::from(*found)
        )),
        _ => Err(format!(
            "expected {what} ({}=) but found a malformed attribute",
            char::from(name)
        )),
    }
}

fn server_first_error(what: String) -> Error {
    Error::auth(format!("SCRAM server-first-message: {what}"))
}

fn server_final_error(what: &str) -> Error {
    Error::auth(format!("SCRAM server-final-message: {what}"))
}

/// Server text for an error message: no control characters, bounded length.
fn printable(bytes: &[u8]) -> String {
    let text: String = String::from_utf8_lossy(bytes)
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    if text.is_empty() {
        "(no reason given)".to_owned()
    } else {
        text
    }
}

/// `Hi(password, salt, i)` of RFC 5802: PBKDF2-HMAC-SHA-256 with one block.
fn hi(password: &[u8], salt: &[u8], iterations: u32) -> [u8; KEY_LEN] {
    let prf = HmacSha256::new_from_slice(password).expect("HMAC accepts keys of any length");
    let mut mac = prf.clone();
    mac.update(salt);
    mac.update(&1u32.to_be_bytes());
    let mut u: [u8; KEY_LEN] = mac.finalize().into_bytes().into();
    let mut result = u;
    for _ in 1..iterations {
        let mut mac = prf.clone();
        mac.update(&u);
        u = mac.finalize().into_bytes().into();
        for (r, x) in result.iter_mut().zip(u) {
            *r ^= x;
        }
    }
    result
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; KEY_LEN] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Compares without an early exit, so timing does not tell how much matched.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Key material that is overwritten when dropped (best effort: without
/// `unsafe`, copies the compiler made may survive).
struct Secret<T: AsMut<[u8]>>(T);

impl<T: AsMut<[u8]>> Drop for Secret<T> {
    fn drop(&mut self) {
        let bytes = self.0.as_mut();
        bytes.fill(0);
        std::hint::black_box(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use proptest::prelude::*;

    const CERT_RSA_SHA256: &[u8] = include_bytes!("testdata/rsa_sha256.der");

    /// A client that sent `client-first` with `nonce`, PostgreSQL style (no user name).
    fn client(password: &str, binding: ScramBinding, nonce: &str) -> ScramClient {
        let (client, first) = ScramClient::with_user_and_nonce(
            password.as_bytes(),
            binding.clone(),
            ScramLimits::default(),
            "",
            nonce,
        );
        let expected = format!("{}n=,r={nonce}", binding.gs2_header());
        assert_eq!(String::from_utf8(first).unwrap(), expected);
        client
    }

    fn auth_error<T: fmt::Debug>(result: Result<T>) -> String {
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Authentication, "{err}");
        err.message().to_owned()
    }

    // RFC 7677 §3.
    const RFC_NONCE: &str = "rOprNGfwEbeRWgbNEkqO";
    const RFC_SERVER_FIRST: &str =
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";

    #[test]
    fn rfc7677_test_vector() {
        let (mut client, first) = ScramClient::with_user_and_nonce(
            b"pencil",
            ScramBinding::none(),
            ScramLimits::default(),
            "user",
            RFC_NONCE,
        );
        assert_eq!(first, b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let last = client.server_first(RFC_SERVER_FIRST.as_bytes()).unwrap();
        assert_eq!(
            String::from_utf8(last).unwrap(),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
             p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        assert!(!client.is_finished());
        client
            .server_final(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap();
        assert!(client.is_finished());
    }

    /// A transcript recorded from a real PostgreSQL server (empty user name),
    /// also checked with python3 hashlib/hmac.
    #[test]
    fn postgres_recorded_exchange() {
        let mut client = client("foobar", ScramBinding::none(), "9IZ2O01zb9IgiIZ1WJ/zgpJB");
        let last = client
            .server_first(
                b"r=9IZ2O01zb9IgiIZ1WJ/zgpJBjx/oIRLs02gGSHcw1KEty3eY,s=fs3IXBy7U7+IvVjZ,i=4096",
            )
            .unwrap();
        assert_eq!(
            String::from_utf8(last).unwrap(),
            "c=biws,r=9IZ2O01zb9IgiIZ1WJ/zgpJBjx/oIRLs02gGSHcw1KEty3eY,\
             p=AmNKosjJzS31NTlQYNs5BTeQjdHdk7lOflDo5re2an8="
        );
        client
            .server_final(b"v=U+ppxD5XUKtradnv8e2MkeupiA8FU87Sg8CXzXHDAzw=")
            .unwrap();
        assert!(client.is_finished());
    }

    // The vectors below were computed independently with python3's hashlib
    // (pbkdf2_hmac) and hmac over the same inputs.
    const NONCE: &str = "zb4P5kq/pTmyS8q4JBR4R4Xx";
    const SERVER_FIRST: &[u8] =
        b"r=zb4P5kq/pTmyS8q4JBR4R4XxPq1XOpoxbnf1dztGyLhZvhGA,s=QKcK4Jw9Yq3tQ2+mmWXl9Q==,i=4096";

    #[test]
    fn plus_binds_the_certificate_hash() {
        let binding = ScramBinding::tls_server_end_point(CERT_RSA_SHA256).unwrap();
        let mut client = client("pencil", binding, NONCE);
        assert_eq!(client.mechanism(), Mechanism::ScramSha256Plus);
        let last = client.server_first(SERVER_FIRST).unwrap();
        // c= is base64("p=tls-server-end-point,," + sha256(certificate)).
        assert_eq!(
            String::from_utf8(last).unwrap(),
            "c=cD10bHMtc2VydmVyLWVuZC1wb2ludCwsvkfSW55y+wNfvsZCe5Ux4zXfJlWLeqFQjXYq2r37Qw8=,\
             r=zb4P5kq/pTmyS8q4JBR4R4XxPq1XOpoxbnf1dztGyLhZvhGA,\
             p=EuqeXB7WQp7ozxKiBSpyK+fPCQ340X4hEwqtxgYq+Qs="
        );
        client
            .server_final(b"v=AQgJ3YmdU3R+vkEXiFNF6LmEPlnVFPtuOvALAVGriAw=")
            .unwrap();
    }

    #[test]
    fn y_flag_when_the_server_did_not_offer_plus() {
        let mut client = client("pencil", ScramBinding::not_offered(), NONCE);
        let last = client.server_first(SERVER_FIRST).unwrap();
        assert_eq!(
            String::from_utf8(last).unwrap(),
            "c=eSws,r=zb4P5kq/pTmyS8q4JBR4R4XxPq1XOpoxbnf1dztGyLhZvhGA,\
             p=EwpxNJ7+31LbXO4bKFzDo+j9sYZAoIIncOwDtyQHZ44="
        );
        client
            .server_final(b"v=jat+rgM/QsB5uskjn8RThkUb6eUTDUjVA0Ku21uQ3JA=")
            .unwrap();
    }

    #[test]
    fn password_goes_through_saslprep() {
        // "I\u{2168}" is "IIX" after NFKC; the python vector uses "IIX".
        let mut client = client("I\u{2168}", ScramBinding::none(), NONCE);
        let last = client.server_first(SERVER_FIRST).unwrap();
        assert!(
            last.ends_with(b",p=WhXKoFgd4+m/KTEI1d7K0Zx9lKTkkjcJMceFm48zN0w="),
            "{}",
            String::from_utf8_lossy(&last)
        );
        client
            .server_final(b"v=/EbN+xnguHYxqO1KLx9KgtgfSJOI6JUkH2378iBfXoM=")
            .unwrap();
    }

    /// `pg_authid.rolpassword` as PostgreSQL 15 stored it after
    /// `SET password_encryption = 'scram-sha-256'; CREATE ROLE .. PASSWORD E'..'`
    /// (run in `postgres --single` on a UTF8 cluster): the server's SASLprep
    /// and key derivation, which ours must reproduce byte for byte.
    #[test]
    fn postgres_stored_secrets_are_reproduced() {
        let secrets: [(&str, &str); 11] = [
            (
                "I\u{2168}",
                "NMt6r9Hd0Ca+Vx4JNZnM4w==$Lv74nvd1ZZa4PjTGV+I+w5bs8RW86UIMxYA4Tg2llws=:x1jKR3bZ48zAFDtRMjwYhof8jUCgSGIYCU4SfSic/Os=",
            ),
            // Bidi checked on the input: refused, raw bytes used.
            (
                "\u{05D0}\u{2135}",
                "DhTsNYaznEoQDBdG0IKNbA==$Lbgb2lLYjD7Xxd3wq6LJ1Qzmud24keJrTuVlNAfgEQQ=:u0WnOOSI3kEiqVFa6Dc66bWiP2zTyXZCecCJ3HiSIP0=",
            ),
            (
                "\u{2135}",
                "5w7qp7J4IohUEqLUaTm1iA==$79WTAc93sdykyN7mdpE8t1o/E1WW4/1gbgDDBj9/Atk=:Ug7Zk/BXp0APqCLhXzez6Cvv8AEGjMDN8NrABKUeag8=",
            ),
            (
                "a\u{200B}b\u{00E9}",
                "ABSpSztDewbQMELr3S+7QQ==$QXD8o6zQAZHSX4+8hQ6CgC0e/Bm63pJZMAr/BEoaMFg=:TzF6p361Vp95HR+ybZfWR5jWLcAW3GFeONvOZzRt4D4=",
            ),
            (
                "\u{0007}caf\u{00E9}",
                "z7NhKitSdeYbC0eUrIigEQ==$guL2SikyffJ3k52X5cnhtQqPvmzUqL7PDi/zIvW4AtY=:DvXtertf1rGmbk2jDT+L/gK3InPoGT0zrjEtqhO5vrw=",
            ),
            (
                "a\u{0221}",
                "12sS30gx4XetlgCrF9keeA==$uEnosf3QwJV97gkSEKNLsIGJedLrOCl0rptWXJhs2q4=:HWHXuXNqL0G0VOvjmwrHvkdtKG61k8+ObCDgIE9CyMw=",
            ),
            (
                "\u{00AD}",
                "jRHRd3eKE+n9tVa+8K4oIw==$kh6NBaWRq7qy4Jv5SfJ2G8Cr/j9Mx151hbSmUU8ttSo=:1fCoTKYfPjtkqBKsl840fpw+7gHc1AFzkQxJbf2nzH8=",
            ),
            (
                "pass\u{00AD}word\u{00E9}",
                "m5JOKQfwFwHxex7lDxcYkQ==$0c7lfMHvaKCISWiuZg+opQ1cmURNW7kuM3CEqOa2m2g=:5tJ2ZHkhenmuOaw1h64yfAilbGu0muYitA09Nfl88ec=",
            ),
            (
                "\u{05D0}a\u{05D0}",
                "nbYWmsvhQnjqyozjAEco2A==$Vtaaz15eFTLuioLfuPoZgMdpMy2v0kdiTCC7DhwIz4c=:DiW7xpAmYANSIBvqGMJJoAOzm2uNwNOMhdKGwecrvIc=",
            ),
            (
                "\u{FB01}e\u{0301}",
                "Vb2ti9KItF7ylXM9m2lTzw==$VZLsR/l1/EZsEzvo59QCfYasH1Mv2aY8VlRPk0qyR0w=:VNzcu9j8lbf7/gKTLtSaU5AGw9UxSdjR9JogUD2rgbs=",
            ),
            (
                "pencil",
                "tlofRs/J7hQBSwoFHu+lwg==$oPg1xqPSxcYfrUn1PVdEbLJjamHXXx7ROr746fq4phc=:aXKM/dNlhW5aMfoGTUB+P2xy/z1u/x/+GgTYwLrfFsU=",
            ),
        ];
        for (password, secret) in secrets {
            let (salt, keys) = secret.split_once('$').unwrap();
            let (stored_key, server_key) = keys.split_once(':').unwrap();
            let salted = hi(
                &saslprep(password.as_bytes()),
                &BASE64.decode(salt).unwrap(),
                4096,
            );
            let client_key = hmac(&salted, b"Client Key");
            assert_eq!(
                BASE64.encode(Sha256::digest(client_key)),
                stored_key,
                "StoredKey for {password:?}"
            );
            assert_eq!(
                BASE64.encode(hmac(&salted, b"Server Key")),
                server_key,
                "ServerKey for {password:?}"
            );
        }
    }

    #[test]
    fn nonce_from_the_os_is_fresh_and_printable() {
        let (_, a) = ScramClient::new("pw", ScramBinding::none(), ScramLimits::default()).unwrap();
        let (_, b) = ScramClient::new("pw", ScramBinding::none(), ScramLimits::default()).unwrap();
        assert_ne!(a, b);
        let nonce = a.strip_prefix(b"n,,n=,r=").unwrap();
        assert_eq!(nonce.len(), 24);
        assert_eq!(BASE64.decode(nonce).unwrap().len(), NONCE_BYTES);
        assert!(!nonce.contains(&b','));
    }

    fn first_error(server_first: &str) -> String {
        let mut client = client("pencil", ScramBinding::none(), NONCE);
        let msg = auth_error(client.server_first(server_first.as_bytes()));
        // The exchange is dead afterwards.
        let again = auth_error(client.server_first(SERVER_FIRST));
        assert!(again.contains("already failed"), "{again}");
        msg
    }

    #[test]
    fn nonce_that_does_not_extend_ours_is_rejected() {
        let msg = first_error("r=zb4P5kq/pTmyS8q4JBR4R4XyPq1X,s=QKcK4Jw9Yq3tQ2+mmWXl9Q==,i=4096");
        assert!(msg.contains("does not extend the client nonce"), "{msg}");
        // Exactly our nonce: the server added nothing of its own.
        let msg = first_error("r=zb4P5kq/pTmyS8q4JBR4R4Xx,s=QKcK4Jw9Yq3tQ2+mmWXl9Q==,i=4096");
        assert!(msg.contains("does not extend the client nonce"), "{msg}");
        // Shorter than ours.
        let msg = first_error("r=zb4P5,s=QKcK4Jw9Yq3tQ2+mmWXl9Q==,i=4096");
        assert!(msg.contains("does not extend the client nonce"), "{msg}");
    }

    #[test]
    fn nonce_with_unprintable_bytes_is_rejected() {
        let mut client = client("pencil", ScramBinding::none(), NONCE);
        let msg =
            auth_error(client.server_first(
                b"r=zb4P5kq/pTmyS8q4JBR4R4Xx\x01\xFF,s=QKcK4Jw9Yq3tQ2+mmWXl9Q==,i=4096",
            ));
        assert!(msg.contains("not printable ASCII"), "{msg}");
    }

    #[test]
    fn bad_base64_salt_is_rejected() {
        let msg = first_error("r=zb4P5kq/pTmyS8q4JBR4R4XxPq1X,s=QKcK4Jw9Yq3t!2+mmWXl9Q==,i=4096");
        assert!(msg.contains("salt is not valid base64"), "{msg}");
        let msg = first_error("r=zb4P5kq/pTmyS8q4JBR4R4XxPq1X,s=QKcK4Jw9Yq3tQ2+mmWXl9Q,i=4096");
        assert!(msg.contains("salt is not valid base64"), "{msg}");
    }

    #[test]
    fn iteration_count_zero_negative_and_malformed_are_rejected() {
        let base = "r=zb4P5kq/pTmyS8q4JBR4R4XxPq1X,s=QKcK4Jw9Yq3tQ2+mmWXl9Q==,i=";
        let msg = first_error(&format!("{base}0"));
        assert!(msg.contains("must be at least 1"), "{msg}");
        for bad in ["-1", "+4096", "4096x", " 4096", "0x10", "1e5"] {
            let msg = first_error(&format!("{base}{bad}"));
            assert!(
                msg.contains("not a positive decimal number"),
                "{bad}: {msg}"
            );
        }
        let msg = first_error(&format!("{base}04096"));
        assert!(msg.contains("leading zeros"), "{msg}");
        let msg = first_error(base);
        assert!(msg.contains("is empty"), "{msg}");
    }

    #[test]
    fn iteration_count_over_the_cap_is_rejected_before_any_work() {
        let base = "r=zb4P5kq/pTmyS8q4JBR4R4XxPq1X,s=QKcK4Jw9Yq3tQ2+mmWXl9Q==,i=";
        // If the cap were not checked first, 2^31-1 or 10^30 iterations would
        // take hours; finishing at all shows nothing was computed.
        for count in [
            "100001",
            "2147483647",
            "4294967296",
            "1000000000000000000000000000000",
        ] {
            let msg = first_error(&format!("{base}{count}"));
            assert!(
                msg.contains("more than the limit of 100000"),
                "{count}: {msg}"
            );
        }
        // A configured cap: above it refused, at it accepted.
        let limits = ScramLimits::new(1, 4).unwrap();
        let start = || {
            ScramClient::with_user_and_nonce(b"pencil", ScramBinding::none(), limits, "", NONCE).0
        };
        let msg = auth_error(start().server_first(format!("{base}5").as_bytes()));
        assert!(msg.contains("more than the limit of 4"), "{msg}");
        start().server_first(format!("{base}4").as_bytes()).unwrap();
    }

    #[test]
    fn iteration_floor_is_configurable() {
        let limits = ScramLimits::new(4096, 100_000).unwrap();
        let (mut client, _) =
            ScramClient::with_user_and_nonce(b"pencil", ScramBinding::none(), limits, "", NONCE);
        let msg = auth_error(
            client
                .server_first(b"r=zb4P5kq/pTmyS8q4JBR4R4XxPq1X,s=QKcK4Jw9Yq3tQ2+mmWXl9Q==,i=4095"),
        );
        assert!(
            msg.contains("fewer than the configured minimum of 4096"),
            "{msg}"
        );
        let (mut client, _) =
            ScramClient::with_user_and_nonce(b"pencil", ScramBinding::none(), limits, "", NONCE);
        client.server_first(SERVER_FIRST).unwrap();
    }

    #[test]
    fn limits_are_validated() {
        assert_eq!(ScramLimits::default().min_iterations, 1);
        assert_eq!(ScramLimits::default().max_iterations, 100_000);
        assert_eq!(
            ScramLimits::new(0, 10).unwrap_err().kind(),
            ErrorKind::Config
        );
        assert_eq!(
            ScramLimits::new(11, 10).unwrap_err().kind(),
            ErrorKind::Config
        );
        let limits = ScramLimits::new(10, 10).unwrap();
        assert_eq!((limits.min_iterations, limits.max_iterations), (10, 10));
    }

    #[test]
    fn missing_and_misordered_attributes_are_rejected() {
        let cases = [
            (
                "",
                "expected the nonce (r=) but found a malformed attribute",
            ),
            ("r=zb4P5kq/pTmyS8q4JBR4R4XxPq1X", "the salt (s=) is missing"),
            (
                "r=zb4P5kq/pTmyS8q4JBR4R4XxPq1X,s=QKcK4Jw9Yq3tQ2+mmWXl9Q==",
                "the iteration count (i=) is missing",
            ),
            (
                "s=QKcK4Jw9Yq3tQ2+mmWXl9Q==,r=zb4P5kq/pTmyS8q4JBR4R4XxPq1X,i=4096",
                "found attribute s=",
            ),
            (
                "r=zb4P5kq/pTmyS8q4JBR4R4XxPq1X,i=4096,s=QKcK4Jw9Yq3tQ2+mmWXl9Q==",
                "found attribute i=",
            ),
            (
                "r=,s=QKcK4Jw9Yq3tQ2+mmWXl9Q==,i=4096",
                "the nonce (r=) is empty",
            ),
            (
                "r=zb4P5kq/pTmyS8q4JBR4R4XxPq1X,s=,i=4096",
                "the salt (s=) is empty",
            ),
            (
                "r=zb4P5kq/pTmyS8q4JBR4R4XxPq1X,,i=4096",
                "malformed attribute",
            ),
            (
                "m=ext,r=zb4P5kq/pTmyS8q4JBR4R4XxPq1X,s=QKcK4Jw9Yq3tQ2+mmWXl9Q==,i=4096",
                "(m=)",
            ),
        ];
        for (message, expected) in cases {
            let msg = first_error(message);
            assert!(msg.contains(expected), "{message:?}: {msg}");
        }
    }

    #[test]
    fn trailing_garbage_after_server_first_is_rejected() {
        let full = std::str::from_utf8(SERVER_FIRST).unwrap();
        for extra in [",", ",x=1", ",e=oops"] {
            let msg = first_error(&format!("{full}{extra}"));
            assert!(
                msg.contains("unexpected data after the iteration count"),
                "{msg}"
            );
        }
    }

    /// A client that has sent client-final for SERVER_FIRST.
    fn client_awaiting_final() -> ScramClient {
        let mut client = client("pencil", ScramBinding::not_offered(), NONCE);
        client.server_first(SERVER_FIRST).unwrap();
        client
    }

    const GOOD_FINAL: &[u8] = b"v=jat+rgM/QsB5uskjn8RThkUb6eUTDUjVA0Ku21uQ3JA=";

    fn final_error(message: &[u8]) -> String {
        let mut client = client_awaiting_final();
        let msg = auth_error(client.server_final(message));
        assert!(!client.is_finished());
        // The right signature no longer helps.
        assert!(auth_error(client.server_final(GOOD_FINAL)).contains("already failed"));
        msg
    }

    #[test]
    fn wrong_server_signature_is_rejected() {
        // The signature of the 'n' exchange: right length, wrong value.
        let msg = final_error(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
        assert!(msg.contains("signature is wrong"), "{msg}");
    }

    #[test]
    fn wrong_server_signature_length_is_rejected() {
        let msg = final_error(b"v=jat+rgM/QsB5uskjn8RThkUb6eUTDUjVA0Ku21uQ3A==");
        assert!(msg.contains("31 bytes long, expected 32"), "{msg}");
        let msg = final_error(b"v=jat+rgM/QsB5uskjn8RThkUb6eUTDUjVA0Ku21uQ3JAA");
        assert!(msg.contains("33 bytes long"), "{msg}");
        let msg = final_error(b"v=");
        assert!(msg.contains("0 bytes long"), "{msg}");
    }

    #[test]
    fn malformed_server_final_is_rejected() {
        let msg = final_error(b"v=jat+rgM/QsB5uskjn8RThkUb6eUTDUjVA0Ku21uQ3JA=,x=1");
        assert!(
            msg.contains("unexpected data after the server signature"),
            "{msg}"
        );
        let msg = final_error(b"");
        assert!(msg.contains("expected the server signature"), "{msg}");
        let msg = final_error(b"r=jat+rgM/QsB5uskjn8RThkUb6eUTDUjVA0Ku21uQ3JA=");
        assert!(msg.contains("expected the server signature"), "{msg}");
        let msg = final_error(b"v=!!!!");
        assert!(msg.contains("not valid base64"), "{msg}");
    }

    #[test]
    fn server_error_attribute_carries_the_servers_reason() {
        let msg = final_error(b"e=invalid-proof");
        assert!(
            msg.contains("server rejected the SCRAM exchange: invalid-proof"),
            "{msg}"
        );
        let msg = final_error(b"e=channel-bindings-dont-match,x=1");
        assert!(msg.ends_with("channel-bindings-dont-match"), "{msg}");
        let msg = final_error(b"e=\x1b[31mred\x07");
        assert!(msg.ends_with("[31mred"), "{msg}");
        let msg = final_error(b"e=");
        assert!(msg.contains("(no reason given)"), "{msg}");
    }

    #[test]
    fn server_final_before_client_final_is_rejected() {
        let mut client = client("pencil", ScramBinding::none(), NONCE);
        let msg = auth_error(client.server_final(GOOD_FINAL));
        assert!(
            msg.contains("before the client sent client-final-message"),
            "{msg}"
        );
        assert!(!client.is_finished());
        assert!(auth_error(client.server_first(SERVER_FIRST)).contains("already failed"));
    }

    #[test]
    fn messages_after_the_end_are_rejected() {
        let mut client = client_awaiting_final();
        assert!(auth_error(client.server_first(SERVER_FIRST)).contains("second"));

        let mut client = client_awaiting_final();
        client.server_final(GOOD_FINAL).unwrap();
        assert!(auth_error(client.server_final(GOOD_FINAL)).contains("second"));
        // Any error ends the exchange, this one too.
        assert!(!client.is_finished());

        let mut client = client_awaiting_final();
        client.server_final(GOOD_FINAL).unwrap();
        assert!(
            auth_error(client.server_first(SERVER_FIRST)).contains("after the exchange finished")
        );
    }

    #[test]
    fn debug_shows_no_secrets() {
        let mut client = client("hunter2-secret", ScramBinding::none(), NONCE);
        let shown = format!("{client:?}");
        assert_eq!(
            shown,
            "ScramClient { mechanism: ScramSha256, state: \"ExpectServerFirst\" }"
        );
        client.server_first(SERVER_FIRST).unwrap();
        let shown = format!("{client:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains(NONCE),
            "{shown}"
        );
        assert!(shown.contains("ExpectServerFinal"), "{shown}");
    }

    #[test]
    fn ct_eq_compares_contents_and_lengths() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
        assert!(ct_eq(b"", b""));
    }

    /// A server-first-message whose fields are random but shaped right, with
    /// a cheap iteration cap so the rare accepted one stays fast.
    fn shaped_server_first() -> impl Strategy<Value = Vec<u8>> {
        let field = || proptest::collection::vec(any::<u8>(), 0..40);
        (field(), field(), field(), field(), any::<bool>()).prop_map(
            |(own, salt, iterations, tail, extend)| {
                let mut m = b"r=".to_vec();
                if extend {
                    m.extend_from_slice(NONCE.as_bytes());
                }
                m.extend(own);
                m.extend_from_slice(b",s=");
                m.extend(salt);
                m.extend_from_slice(b",i=");
                m.extend(iterations);
                m.extend(tail);
                m
            },
        )
    }

    fn cheap_client() -> ScramClient {
        let limits = ScramLimits::new(1, 64).unwrap();
        ScramClient::with_user_and_nonce(b"pencil", ScramBinding::none(), limits, "", NONCE).0
    }

    proptest! {
        #[test]
        fn random_server_first_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let mut client = cheap_client();
            let _ = client.server_first(&bytes);
        }

        #[test]
        fn shaped_server_first_never_panics(message in shaped_server_first()) {
            let mut client = cheap_client();
            let _ = client.server_first(&message);
        }

        #[test]
        fn random_server_final_never_panics_nor_passes(
            bytes in proptest::collection::vec(any::<u8>(), 0..256),
        ) {
            let mut client = cheap_client();
            client
                .server_first(b"r=zb4P5kq/pTmyS8q4JBR4R4XxPq1X,s=QKcK4Jw9Yq3tQ2+mmWXl9Q==,i=2")
                .unwrap();
            prop_assert!(client.server_final(&bytes).is_err());
            prop_assert!(!client.is_finished());
        }

        #[test]
        fn random_server_final_before_server_first_never_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..256),
        ) {
            let mut client = cheap_client();
            prop_assert!(client.server_final(&bytes).is_err());
        }
    }
}
