//! Messages to the server, encoded into a caller's buffer.
//!
//! Each function writes one whole message or nothing: the type byte and
//! length are written in one place, [`frame`], which checks that the length
//! fits the wire's `i32` and the server's 1 GiB limit. On any error the buffer
//! is truncated back to where the message began, so an oversized value can
//! never become a wrapped length prefix followed by attacker-chosen bytes that
//! the server would read as further messages (RUSTSEC-2024-0363).

use crate::failure::{Error, Result};
use crate::types::Oid;

/// The largest message the server accepts (`PQ_LARGE_MESSAGE_LIMIT`), length field included.
pub(crate) const MAX_MESSAGE_LEN: usize = 0x3fff_fffe;

/// The most parameters one statement may have (the count is an unsigned 16-bit field).
pub(crate) const MAX_PARAMETERS: usize = u16::MAX as usize;

/// Writes `tag` (if any), a length placeholder and the body, then fills in the length.
///
/// The one place where a length prefix is written.
pub(crate) fn frame(
    buf: &mut Vec<u8>,
    tag: Option<u8>,
    body: impl FnOnce(&mut Vec<u8>) -> Result<()>,
) -> Result<()> {
    frame_limited(buf, tag, MAX_MESSAGE_LEN, body)
}

fn frame_limited(
    buf: &mut Vec<u8>,
    tag: Option<u8>,
    max_len: usize,
    body: impl FnOnce(&mut Vec<u8>) -> Result<()>,
) -> Result<()> {
    let start = buf.len();
    if let Some(tag) = tag {
        buf.push(tag);
    }
    let len_at = buf.len();
    buf.extend_from_slice(&[0; 4]);
    if let Err(e) = body(buf) {
        buf.truncate(start);
        return Err(e);
    }
    let len = buf.len() - len_at;
    let wire_len = match i32::try_from(len) {
        Ok(n) if len <= max_len => n,
        _ => {
            buf.truncate(start);
            return Err(Error::encode(format!(
                "message of {len} bytes is larger than the {max_len} bytes PostgreSQL accepts"
            )));
        }
    };
    buf[len_at..len_at + 4].copy_from_slice(&wire_len.to_be_bytes());
    Ok(())
}

/// Writes a NUL-terminated string; a NUL inside it is an error naming `what`.
fn cstr(buf: &mut Vec<u8>, s: &[u8], what: &str) -> Result<()> {
    if s.contains(&0) {
        return Err(Error::encode(format!(
            "{what} contains a NUL byte, which PostgreSQL cannot accept here"
        )));
    }
    buf.extend_from_slice(s);
    buf.push(0);
    Ok(())
}

fn count16(n: usize, what: &str) -> Result<[u8; 2]> {
    u16::try_from(n).map(u16::to_be_bytes).map_err(|_| {
        Error::encode(format!(
            "{n} {what} in one message; PostgreSQL accepts at most {MAX_PARAMETERS}"
        ))
    })
}

/// StartupMessage: protocol version and `(name, value)` parameters (`user` is required).
pub(crate) fn startup<'a>(
    buf: &mut Vec<u8>,
    version: i32,
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<()> {
    frame(buf, None, |buf| {
        buf.extend_from_slice(&version.to_be_bytes());
        for (name, value) in params {
            cstr(buf, name.as_bytes(), "a startup parameter name")?;
            cstr(buf, value.as_bytes(), "a startup parameter value")?;
        }
        buf.push(0);
        Ok(())
    })
}

/// SSLRequest: ask the server to switch to TLS.
pub(crate) fn ssl_request(buf: &mut Vec<u8>) {
    buf.extend_from_slice(&8i32.to_be_bytes());
    buf.extend_from_slice(&80_877_103i32.to_be_bytes());
}

/// CancelRequest: sent on a new connection to cancel the query running in `process_id`.
pub(crate) fn cancel_request(buf: &mut Vec<u8>, process_id: i32, secret_key: &[u8]) -> Result<()> {
    frame(buf, None, |buf| {
        buf.extend_from_slice(&80_877_102i32.to_be_bytes());
        buf.extend_from_slice(&process_id.to_be_bytes());
        buf.extend_from_slice(secret_key);
        Ok(())
    })
}

/// PasswordMessage with a cleartext password or an MD5 hash (NUL-terminated).
pub(crate) fn password(buf: &mut Vec<u8>, password: &[u8]) -> Result<()> {
    frame(buf, Some(b'p'), |buf| cstr(buf, password, "the password"))
}

/// SASLInitialResponse: the chosen mechanism and the client's first message.
pub(crate) fn sasl_initial_response(buf: &mut Vec<u8>, mechanism: &str, data: &[u8]) -> Result<()> {
    frame(buf, Some(b'p'), |buf| {
        cstr(buf, mechanism.as_bytes(), "the SASL mechanism")?;
        let len = i32::try_from(data.len())
            .map_err(|_| Error::encode("SASL initial response is too large"))?;
        buf.extend_from_slice(&len.to_be_bytes());
        buf.extend_from_slice(data);
        Ok(())
    })
}

/// SASLResponse (and GSSResponse): mechanism data.
pub(crate) fn sasl_response(buf: &mut Vec<u8>, data: &[u8]) -> Result<()> {
    frame(buf, Some(b'p'), |buf| {
        buf.extend_from_slice(data);
        Ok(())
    })
}

/// Query: one or more SQL statements for the simple protocol.
pub(crate) fn query(buf: &mut Vec<u8>, sql: &str) -> Result<()> {
    frame(buf, Some(b'Q'), |buf| {
        cstr(buf, sql.as_bytes(), "the query")
    })
}

/// Parse: prepare `sql` as statement `name` ("" = unnamed) with these parameter types (0 = infer).
pub(crate) fn parse(buf: &mut Vec<u8>, name: &str, sql: &str, param_types: &[Oid]) -> Result<()> {
    frame(buf, Some(b'P'), |buf| {
        cstr(buf, name.as_bytes(), "the statement name")?;
        cstr(buf, sql.as_bytes(), "the query")?;
        buf.extend_from_slice(&count16(param_types.len(), "parameter types")?);
        for oid in param_types {
            buf.extend_from_slice(&oid.0.to_be_bytes());
        }
        Ok(())
    })
}

/// The format codes of a Bind: one code for all, or one per value.
#[derive(Clone, Copy, Debug)]
pub enum Formats<'a> {
    /// Every value in this format (sent as a single code; binary is 1, text 0).
    All(i16),
    /// One code per value.
    Each(&'a [i16]),
}

impl Formats<'_> {
    fn write(self, buf: &mut Vec<u8>) -> Result<()> {
        match self {
            Formats::All(code) => {
                buf.extend_from_slice(&1u16.to_be_bytes());
                buf.extend_from_slice(&code.to_be_bytes());
            }
            Formats::Each(codes) => {
                buf.extend_from_slice(&count16(codes.len(), "format codes")?);
                for code in codes {
                    buf.extend_from_slice(&code.to_be_bytes());
                }
            }
        }
        Ok(())
    }
}

/// Appends one Bind parameter value (`None` = NULL) in its wire form: `i32` length then bytes.
///
/// For building the `values` argument of [`bind`].
#[cfg_attr(not(feature = "__internals"), allow(dead_code))] // reached only through `internals`
pub fn bind_value(buf: &mut Vec<u8>, value: Option<&[u8]>) -> Result<()> {
    match value {
        None => buf.extend_from_slice(&(-1i32).to_be_bytes()),
        Some(v) => {
            let len = i32::try_from(v.len()).map_err(|_| {
                Error::encode(format!(
                    "a parameter value of {} bytes is larger than PostgreSQL accepts",
                    v.len()
                ))
            })?;
            buf.extend_from_slice(&len.to_be_bytes());
            buf.extend_from_slice(v);
        }
    }
    Ok(())
}

/// Bind: make portal `portal` from statement `statement` with `count` parameter values
/// already in wire form in `values` (see [`bind_value`]), asking for results in `result_formats`.
pub fn bind(
    buf: &mut Vec<u8>,
    portal: &str,
    statement: &str,
    param_formats: Formats<'_>,
    count: usize,
    values: &[u8],
    result_formats: Formats<'_>,
) -> Result<()> {
    frame(buf, Some(b'B'), |buf| {
        cstr(buf, portal.as_bytes(), "the portal name")?;
        cstr(buf, statement.as_bytes(), "the statement name")?;
        param_formats.write(buf)?;
        buf.extend_from_slice(&count16(count, "parameters")?);
        buf.extend_from_slice(values);
        result_formats.write(buf)
    })
}

/// Which kind of object a Describe or Close names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// A prepared statement (`S`).
    Statement,
    /// A portal (`P`).
    Portal,
}

impl Target {
    fn code(self) -> u8 {
        match self {
            Target::Statement => b'S',
            Target::Portal => b'P',
        }
    }
}

/// Describe: ask for the parameter and row description of a statement or portal.
pub(crate) fn describe(buf: &mut Vec<u8>, target: Target, name: &str) -> Result<()> {
    frame(buf, Some(b'D'), |buf| {
        buf.push(target.code());
        cstr(buf, name.as_bytes(), "the statement or portal name")
    })
}

/// Execute: run a portal, returning at most `max_rows` rows (0 = all).
pub fn execute(buf: &mut Vec<u8>, portal: &str, max_rows: u32) -> Result<()> {
    let max_rows = i32::try_from(max_rows)
        .map_err(|_| Error::encode(format!("row limit {max_rows} does not fit the protocol")))?;
    frame(buf, Some(b'E'), |buf| {
        cstr(buf, portal.as_bytes(), "the portal name")?;
        buf.extend_from_slice(&max_rows.to_be_bytes());
        Ok(())
    })
}

/// Close: release a statement or portal.
pub(crate) fn close(buf: &mut Vec<u8>, target: Target, name: &str) -> Result<()> {
    frame(buf, Some(b'C'), |buf| {
        buf.push(target.code());
        cstr(buf, name.as_bytes(), "the statement or portal name")
    })
}

/// Sync: end an extended-protocol cycle; the server answers with ReadyForQuery.
pub(crate) fn sync(buf: &mut Vec<u8>) {
    buf.extend_from_slice(&[b'S', 0, 0, 0, 4]);
}

/// Terminate: end the session.
pub(crate) fn terminate(buf: &mut Vec<u8>) {
    buf.extend_from_slice(&[b'X', 0, 0, 0, 4]);
}

/// CopyData.
pub(crate) fn copy_data(buf: &mut Vec<u8>, data: &[u8]) -> Result<()> {
    frame(buf, Some(b'd'), |buf| {
        buf.extend_from_slice(data);
        Ok(())
    })
}

/// CopyDone: the client has sent all COPY data.
pub(crate) fn copy_done(buf: &mut Vec<u8>) {
    buf.extend_from_slice(&[b'c', 0, 0, 0, 4]);
}

/// CopyFail: abort COPY FROM STDIN with a message the server reports back.
pub(crate) fn copy_fail(buf: &mut Vec<u8>, message: &str) -> Result<()> {
    frame(buf, Some(b'f'), |buf| {
        cstr(buf, message.as_bytes(), "the COPY failure message")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(f: impl FnOnce(&mut Vec<u8>) -> Result<()>) -> Vec<u8> {
        let mut buf = Vec::new();
        f(&mut buf).unwrap();
        buf
    }

    #[test]
    fn startup_message_golden_bytes() {
        // Protocol 3.0.
        let got = one(|b| startup(b, 196_608, [("user", "u"), ("database", "d")]));
        let mut want = Vec::new();
        want.extend_from_slice(&27i32.to_be_bytes());
        want.extend_from_slice(&[0, 3, 0, 0]);
        want.extend_from_slice(b"user\0u\0database\0d\0\0");
        assert_eq!(got, want);
    }

    #[test]
    fn special_requests_golden_bytes() {
        let mut b = Vec::new();
        ssl_request(&mut b);
        assert_eq!(b, [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
        let got = one(|b| cancel_request(b, 7, &[1, 2, 3, 4]));
        assert_eq!(
            got,
            [0, 0, 0, 16, 0x04, 0xd2, 0x16, 0x2e, 0, 0, 0, 7, 1, 2, 3, 4]
        );
    }

    #[test]
    fn query_and_parse_golden_bytes() {
        assert_eq!(one(|b| query(b, "SELECT 1")), b"Q\0\0\0\x0dSELECT 1\0");
        assert_eq!(
            one(|b| parse(b, "s1", "SELECT $1", &[Oid::INT4])),
            b"P\0\0\0\x17s1\0SELECT $1\0\0\x01\0\0\0\x17"
        );
    }

    #[test]
    fn bind_golden_bytes() {
        let mut values = Vec::new();
        bind_value(&mut values, Some(&[0, 0, 0, 42])).unwrap();
        bind_value(&mut values, None).unwrap();
        let got = one(|b| bind(b, "", "s1", Formats::All(1), 2, &values, Formats::All(1)));
        let mut want = b"B\0\0\0\x1e\0s1\0\0\x01\0\x01\0\x02".to_vec();
        want.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 42, 0xff, 0xff, 0xff, 0xff]);
        want.extend_from_slice(&[0, 1, 0, 1]);
        assert_eq!(got, want);
        let got = one(|b| {
            bind(
                b,
                "p",
                "",
                Formats::Each(&[]),
                0,
                &[],
                Formats::Each(&[0, 1]),
            )
        });
        assert_eq!(got, b"B\0\0\0\x11p\0\0\0\0\0\0\0\x02\0\0\0\x01");
    }

    #[test]
    fn describe_execute_close_sync_golden_bytes() {
        assert_eq!(
            one(|b| describe(b, Target::Statement, "s")),
            b"D\0\0\0\x07Ss\0"
        );
        assert_eq!(one(|b| describe(b, Target::Portal, "")), b"D\0\0\0\x06P\0");
        assert_eq!(one(|b| execute(b, "", 0)), b"E\0\0\0\x09\0\0\0\0\0");
        assert_eq!(
            one(|b| close(b, Target::Statement, "s")),
            b"C\0\0\0\x07Ss\0"
        );
        let mut b = Vec::new();
        sync(&mut b);
        terminate(&mut b);
        copy_done(&mut b);
        assert_eq!(b, b"S\0\0\0\x04X\0\0\0\x04c\0\0\0\x04");
    }

    #[test]
    fn auth_messages_golden_bytes() {
        assert_eq!(one(|b| password(b, b"pw")), b"p\0\0\0\x07pw\0");
        assert_eq!(
            one(|b| sasl_initial_response(b, "SCRAM-SHA-256", b"n,,n=,r=x")),
            b"p\0\0\0\x1fSCRAM-SHA-256\0\0\0\0\x09n,,n=,r=x"
        );
        assert_eq!(one(|b| sasl_response(b, b"c=biws")), b"p\0\0\0\x0ac=biws");
    }

    #[test]
    fn copy_messages_golden_bytes() {
        assert_eq!(one(|b| copy_data(b, b"1\t2\n")), b"d\0\0\0\x081\t2\n");
        assert_eq!(one(|b| copy_fail(b, "stop")), b"f\0\0\0\x09stop\0");
    }

    #[test]
    fn nul_bytes_in_strings_are_errors_and_leave_the_buffer_unchanged() {
        let mut b = b"keep".to_vec();
        let err = query(&mut b, "SELECT '\0'").unwrap_err();
        assert!(err.to_string().contains("NUL"), "{err}");
        assert_eq!(b, b"keep");
        assert!(parse(&mut b, "a\0b", "SELECT 1", &[]).is_err());
        assert!(startup(&mut b, 196_608, [("user", "a\0")]).is_err());
        assert!(password(&mut b, b"p\0w").is_err());
        assert_eq!(b, b"keep");
    }

    #[test]
    fn too_many_parameters_is_an_error() {
        let oids = vec![Oid::INT4; MAX_PARAMETERS + 1];
        let mut b = Vec::new();
        let err = parse(&mut b, "", "SELECT 1", &oids).unwrap_err();
        assert!(err.to_string().contains("at most 65535"), "{err}");
        assert!(b.is_empty());
        assert!(parse(&mut b, "", "SELECT 1", &oids[..MAX_PARAMETERS]).is_ok());
    }

    #[test]
    fn oversized_message_is_refused_before_any_byte_is_kept() {
        let mut b = b"keep".to_vec();
        let err = frame_limited(&mut b, Some(b'd'), 16, |buf| {
            buf.extend_from_slice(&[7; 13]);
            Ok(())
        })
        .unwrap_err();
        assert!(
            err.to_string().contains("larger than the 16 bytes"),
            "{err}"
        );
        assert_eq!(b, b"keep");
        // Exactly at the limit is fine: 4 length bytes + 12 body bytes.
        frame_limited(&mut b, Some(b'd'), 16, |buf| {
            buf.extend_from_slice(&[7; 12]);
            Ok(())
        })
        .unwrap();
        assert_eq!(b.len(), 4 + 1 + 16);
    }

    #[test]
    fn body_errors_leave_the_buffer_unchanged() {
        let mut b = b"keep".to_vec();
        let err = frame(&mut b, Some(b'd'), |buf| {
            buf.extend_from_slice(b"partial");
            Err(Error::encode("value too large"))
        })
        .unwrap_err();
        assert!(err.to_string().contains("too large"));
        assert_eq!(b, b"keep");
    }
}
