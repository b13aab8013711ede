//! Messages from the server.
//!
//! Reading is two steps, both on bytes the caller already has:
//! 1. [`Header::parse`] reads the 5-byte header (type byte and length) and
//!    applies the length rules below before a single body byte is buffered;
//! 2. [`Message::parse`] decodes a complete body, borrowing from it.
//!
//! Length rules (libpq's, `fe-protocol3.c`): a length below 4 is fatal;
//! message types that are always small (everything but `T D d V E N A`) are
//! refused above 30,000 bytes; nothing may exceed [`Limits::max_message_len`]
//! (1 GiB by default, the server's own `PQ_LARGE_MESSAGE_LIMIT`). Before
//! authentication has succeeded ([`Limits::authenticating`]) libpq's stricter startup
//! rules (`fe-connect.c`) apply: an authentication request may claim at most 2,000
//! bytes and every other message 30,000, so whoever answers a startup packet, a
//! server or anyone in the middle of a plaintext connection, cannot make the client
//! reserve more than that. The connection's read buffer grows only as bytes arrive
//! (`connection/stream.rs`), so even an accepted claim costs nothing until it is sent.

use super::reader::Reader;
use crate::failure::{Error, Result};
use crate::types::Oid;

/// Message type bytes sent by the server.
pub mod tag {
    /// `R`: Authentication*.
    pub const AUTHENTICATION: u8 = b'R';
    /// `K`: BackendKeyData.
    pub const BACKEND_KEY_DATA: u8 = b'K';
    /// `2`: BindComplete.
    pub const BIND_COMPLETE: u8 = b'2';
    /// `3`: CloseComplete.
    pub const CLOSE_COMPLETE: u8 = b'3';
    /// `C`: CommandComplete.
    pub const COMMAND_COMPLETE: u8 = b'C';
    /// `d`: CopyData.
    pub const COPY_DATA: u8 = b'd';
    /// `c`: CopyDone.
    pub const COPY_DONE: u8 = b'c';
    /// `G`: CopyInResponse.
    pub const COPY_IN_RESPONSE: u8 = b'G';
    /// `H`: CopyOutResponse.
    pub const COPY_OUT_RESPONSE: u8 = b'H';
    /// `W`: CopyBothResponse.
    pub const COPY_BOTH_RESPONSE: u8 = b'W';
    /// `D`: DataRow.
    pub const DATA_ROW: u8 = b'D';
    /// `I`: EmptyQueryResponse.
    pub const EMPTY_QUERY_RESPONSE: u8 = b'I';
    /// `E`: ErrorResponse.
    pub const ERROR_RESPONSE: u8 = b'E';
    /// `V`: FunctionCallResponse.
    pub const FUNCTION_CALL_RESPONSE: u8 = b'V';
    /// `v`: NegotiateProtocolVersion.
    pub const NEGOTIATE_PROTOCOL_VERSION: u8 = b'v';
    /// `n`: NoData.
    pub const NO_DATA: u8 = b'n';
    /// `N`: NoticeResponse.
    pub const NOTICE_RESPONSE: u8 = b'N';
    /// `A`: NotificationResponse.
    pub const NOTIFICATION_RESPONSE: u8 = b'A';
    /// `t`: ParameterDescription.
    pub const PARAMETER_DESCRIPTION: u8 = b't';
    /// `S`: ParameterStatus.
    pub const PARAMETER_STATUS: u8 = b'S';
    /// `1`: ParseComplete.
    pub const PARSE_COMPLETE: u8 = b'1';
    /// `s`: PortalSuspended.
    pub const PORTAL_SUSPENDED: u8 = b's';
    /// `Z`: ReadyForQuery.
    pub const READY_FOR_QUERY: u8 = b'Z';
    /// `T`: RowDescription.
    pub const ROW_DESCRIPTION: u8 = b'T';
}

/// Size limits applied to message headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The largest message accepted for types that may be long (`T D d V E N A`).
    pub max_message_len: usize,
    /// Whether authentication is still under way: every message is then held to the
    /// startup caps ([`Limits::STARTUP_AUTH_MAX`], [`Limits::SMALL_MESSAGE_MAX`]).
    pub authenticating: bool,
}

impl Limits {
    /// Before authentication, an authentication request (`R`) is refused above this many
    /// bytes, its length word included (libpq's rule).
    pub const STARTUP_AUTH_MAX: usize = 2_000;
    /// Types that are always small are refused above this many bytes (libpq's rule).
    pub const SMALL_MESSAGE_MAX: usize = 30_000;
    /// The default for [`Limits::max_message_len`]: the server's own limit, 1 GiB.
    pub const DEFAULT_MAX_MESSAGE_LEN: usize = 0x3fff_ffff;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_len: Limits::DEFAULT_MAX_MESSAGE_LEN,
            authenticating: false,
        }
    }
}

/// A message header: type byte and body length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// The message type byte.
    pub tag: u8,
    /// Body length in bytes (the wire length minus its own 4 bytes).
    pub body_len: usize,
}

impl Header {
    /// Bytes in a header.
    pub const LEN: usize = 5;

    /// Reads a header from the start of `buf`, or `None` if fewer than 5 bytes are there.
    pub fn parse(buf: &[u8], limits: &Limits) -> Result<Option<Header>> {
        let Some(head) = buf.get(..Self::LEN) else {
            return Ok(None);
        };
        let mut r = Reader::new(head, "message header");
        let tag = r.u8()?;
        let len = r.i32()?;
        let body_len = len
            .checked_sub(4)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| {
                Error::protocol(format!(
                    "message of type {} has length {len}; a length is at least 4. \
                     The server is not speaking the PostgreSQL protocol (or the stream is out of sync)",
                    show_tag(tag)
                ))
            })?;
        let max = if limits.authenticating {
            // libpq's startup rules: an authentication request is small, anything else
            // (an error, a notice) "can be a little larger, but not huge".
            if tag == b'R' {
                Limits::STARTUP_AUTH_MAX - 4
            } else {
                Limits::SMALL_MESSAGE_MAX
            }
        } else if may_be_long(tag) {
            limits.max_message_len
        } else {
            Limits::SMALL_MESSAGE_MAX
        };
        if body_len > max {
            let when = if limits.authenticating {
                " before authentication"
            } else {
                ""
            };
            return Err(Error::protocol(format!(
                "message of type {} claims {body_len} bytes; at most {max} are accepted for \
                 this type{when}. The server is not speaking the PostgreSQL protocol (or \
                 something between us and it is tampering with the connection)",
                show_tag(tag)
            )));
        }
        Ok(Some(Header { tag, body_len }))
    }

    /// Header plus body length.
    pub fn frame_len(&self) -> usize {
        Self::LEN + self.body_len
    }
}

/// libpq's `VALID_LONG_MESSAGE_TYPE`: the types whose bodies may be large.
fn may_be_long(tag: u8) -> bool {
    matches!(tag, b'T' | b'D' | b'd' | b'V' | b'E' | b'N' | b'A')
}

/// A message type byte for error messages: `'Z'` or `0x07`.
pub(crate) fn show_tag(tag: u8) -> String {
    if tag.is_ascii_graphic() {
        format!("'{}'", char::from(tag))
    } else {
        format!("0x{tag:02x}")
    }
}

/// The transaction status in ReadyForQuery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransactionStatus {
    /// `I`: not in a transaction block.
    Idle,
    /// `T`: in a transaction block.
    InTransaction,
    /// `E`: in a failed transaction block; queries are refused until it ends.
    InFailedTransaction,
}

/// A request for authentication, or its outcome (`R` messages).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Authentication<'a> {
    /// Authentication succeeded.
    Ok,
    /// Kerberos V5 (unsupported by every modern server).
    KerberosV5,
    /// Send the password in clear text.
    CleartextPassword,
    /// Send an MD5 hash salted with these bytes.
    Md5Password {
        /// The 4-byte salt.
        salt: [u8; 4],
    },
    /// GSSAPI.
    Gss,
    /// More GSSAPI or SSPI data.
    GssContinue {
        /// Mechanism data.
        data: &'a [u8],
    },
    /// SSPI.
    Sspi,
    /// Start SASL with one of these mechanisms.
    Sasl {
        /// The mechanisms the server offers, in its order of preference.
        mechanisms: Vec<&'a str>,
    },
    /// A SASL challenge.
    SaslContinue {
        /// Mechanism data.
        data: &'a [u8],
    },
    /// The SASL outcome (for SCRAM: the server signature).
    SaslFinal {
        /// Mechanism data.
        data: &'a [u8],
    },
}

/// One column of a RowDescription.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldDescription<'a> {
    /// The column name.
    pub name: &'a str,
    /// The table the column comes from, or 0.
    pub table_oid: Oid,
    /// The column's attribute number in that table, or 0.
    pub column_id: i16,
    /// The column's type.
    pub type_oid: Oid,
    /// `pg_type.typlen`.
    pub type_size: i16,
    /// The type modifier (`atttypmod`).
    pub type_modifier: i32,
    /// The format code (0 text, 1 binary; 0 in a statement description).
    pub format: i16,
}

/// A decoded server message, borrowing from its body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message<'a> {
    /// `R`.
    Authentication(Authentication<'a>),
    /// `K`: the key to cancel this session's queries.
    BackendKeyData {
        /// The backend's process ID.
        process_id: i32,
        /// The secret key: 4 bytes in protocol 3.0, up to 256 in 3.2.
        secret_key: &'a [u8],
    },
    /// `2`.
    BindComplete,
    /// `3`.
    CloseComplete,
    /// `C`: a command finished; the tag says what it did (`INSERT 0 5`).
    CommandComplete {
        /// The command tag.
        tag: &'a str,
    },
    /// `d`.
    CopyData {
        /// The data.
        data: &'a [u8],
    },
    /// `c`.
    CopyDone,
    /// `G`: the server is ready for COPY data.
    CopyInResponse(CopyResponse),
    /// `H`: the server will send COPY data.
    CopyOutResponse(CopyResponse),
    /// `W`: COPY in both directions (replication).
    CopyBothResponse(CopyResponse),
    /// `D`: one row; the body is kept raw, decoded by the row layer.
    DataRow(DataRow<'a>),
    /// `I`: the query string was empty.
    EmptyQueryResponse,
    /// `E`.
    ErrorResponse(ErrorFields<'a>),
    /// `V`.
    FunctionCallResponse {
        /// The result, or `None` for NULL.
        value: Option<&'a [u8]>,
    },
    /// `v`: the server supports an older minor version, or not all protocol options.
    NegotiateProtocolVersion {
        /// The newest minor protocol version the server supports.
        newest_minor: i32,
        /// Protocol options (`_pq_.*`) the server did not recognise.
        unrecognized: Vec<&'a str>,
    },
    /// `n`: the statement returns no rows.
    NoData,
    /// `N`.
    NoticeResponse(ErrorFields<'a>),
    /// `A`: a NOTIFY.
    NotificationResponse {
        /// The notifying backend's process ID.
        process_id: i32,
        /// The channel.
        channel: &'a str,
        /// The payload.
        payload: &'a str,
    },
    /// `t`: parameter types of a statement.
    ParameterDescription(ParameterDescription<'a>),
    /// `S`: a run-time parameter's value.
    ParameterStatus {
        /// The parameter name.
        name: &'a str,
        /// Its value.
        value: &'a str,
    },
    /// `1`.
    ParseComplete,
    /// `s`: the row limit of an Execute was reached.
    PortalSuspended,
    /// `Z`: the server is ready for a new query cycle.
    ReadyForQuery(TransactionStatus),
    /// `T`: the columns of a result.
    RowDescription(RowDescription<'a>),
}

/// The format of a COPY and its columns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyResponse {
    /// 0 text (or CSV), 1 binary.
    pub format: i8,
    /// The format of each column.
    pub column_formats: Vec<i16>,
}

/// The raw fields of an ErrorResponse or NoticeResponse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorFields<'a> {
    body: &'a [u8],
}

impl<'a> ErrorFields<'a> {
    /// `(field type, value)` pairs. Already validated by [`Message::parse`].
    pub fn iter(&self) -> impl Iterator<Item = (u8, &'a str)> + 'a {
        let mut r = Reader::new(self.body, "ErrorResponse");
        std::iter::from_fn(move || {
            let ty = r.u8().ok().filter(|&t| t != 0)?;
            let value = r.cstr().ok()?;
            Some((ty, value))
        })
    }

    /// Builds the typed report.
    pub fn to_db_error(self) -> Result<crate::failure::DbError> {
        crate::failure::DbError::from_fields(self.iter()).map_err(Error::protocol)
    }
}

/// A DataRow body: a field count then length-prefixed values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataRow<'a> {
    body: &'a [u8],
}

#[cfg_attr(not(feature = "__internals"), allow(dead_code))] // reached only through `internals`
impl<'a> DataRow<'a> {
    /// The raw body (field count included).
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        // Validated in Message::parse: the first two bytes are a non-negative count.
        Reader::new(self.body, "DataRow")
            .count16("field")
            .unwrap_or(0)
    }

    /// Whether the row has no fields.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values in order; `None` is NULL.
    pub fn values(&self) -> impl Iterator<Item = Option<&'a [u8]>> + 'a {
        let mut r = Reader::new(self.body, "DataRow");
        let mut left = r.count16("field").unwrap_or(0);
        std::iter::from_fn(move || {
            left = left.checked_sub(1)?;
            r.value().ok()
        })
    }

    /// Computes where each value lies in [`DataRow::body`]: `None` for NULL, else `start..end`.
    ///
    /// Clears `out` first. Errors if the row is malformed.
    pub fn ranges(body: &[u8], out: &mut Vec<Option<std::ops::Range<usize>>>) -> Result<()> {
        out.clear();
        let mut r = Reader::new(body, "DataRow");
        let n = r.count16("field")?;
        out.reserve(n.min(body.len() / 4));
        for _ in 0..n {
            let start = body.len() - r.remaining() + 4;
            let value = r.value()?;
            out.push(value.map(|v| start..start + v.len()));
        }
        r.finish()
    }
}

/// A ParameterDescription body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParameterDescription<'a> {
    oids: &'a [u8],
}

impl<'a> ParameterDescription<'a> {
    /// The parameter types, in order.
    pub fn types(&self) -> impl ExactSizeIterator<Item = Oid> + 'a {
        self.oids.chunks_exact(4).map(|c| {
            let mut b = [0u8; 4];
            b.copy_from_slice(c);
            Oid(u32::from_be_bytes(b))
        })
    }
}

/// A RowDescription body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowDescription<'a> {
    body: &'a [u8],
}

impl<'a> RowDescription<'a> {
    /// The number of columns.
    #[cfg_attr(not(feature = "__internals"), allow(dead_code))] // reached only through `internals`
    pub fn len(&self) -> usize {
        Reader::new(self.body, "RowDescription")
            .count16("field")
            .unwrap_or(0)
    }

    /// Whether there are no columns.
    #[cfg_attr(not(feature = "__internals"), allow(dead_code))] // reached only through `internals`
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The columns, in order. Already validated by [`Message::parse`].
    pub fn fields(&self) -> impl Iterator<Item = FieldDescription<'a>> + 'a {
        let mut r = Reader::new(self.body, "RowDescription");
        let mut left = r.count16("field").unwrap_or(0);
        std::iter::from_fn(move || {
            left = left.checked_sub(1)?;
            read_field(&mut r).ok()
        })
    }
}

fn read_field<'a>(r: &mut Reader<'a>) -> Result<FieldDescription<'a>> {
    Ok(FieldDescription {
        name: r.cstr()?,
        table_oid: Oid(r.u32()?),
        column_id: r.i16()?,
        type_oid: Oid(r.u32()?),
        type_size: r.i16()?,
        type_modifier: r.i32()?,
        format: r.i16()?,
    })
}

impl<'a> Message<'a> {
    /// Decodes the body of a message of type `tag`. Trailing bytes are an error.
    pub fn parse(tag: u8, body: &'a [u8]) -> Result<Message<'a>> {
        use tag::*;
        let what = name(tag);
        let mut r = Reader::new(body, what);
        let message = match tag {
            AUTHENTICATION => Message::Authentication(parse_auth(&mut r)?),
            BACKEND_KEY_DATA => {
                let process_id = r.i32()?;
                let secret_key = r.rest();
                // 3.0 keys are 4 bytes; 3.2 allows up to 256.
                if !(4..=256).contains(&secret_key.len()) {
                    return Err(Error::protocol(format!(
                        "BackendKeyData has a {}-byte secret key; expected 4 to 256 bytes",
                        secret_key.len()
                    )));
                }
                Message::BackendKeyData {
                    process_id,
                    secret_key,
                }
            }
            BIND_COMPLETE => Message::BindComplete,
            CLOSE_COMPLETE => Message::CloseComplete,
            COMMAND_COMPLETE => Message::CommandComplete { tag: r.cstr()? },
            COPY_DATA => Message::CopyData { data: r.rest() },
            COPY_DONE => Message::CopyDone,
            COPY_IN_RESPONSE => Message::CopyInResponse(parse_copy_response(&mut r)?),
            COPY_OUT_RESPONSE => Message::CopyOutResponse(parse_copy_response(&mut r)?),
            COPY_BOTH_RESPONSE => Message::CopyBothResponse(parse_copy_response(&mut r)?),
            DATA_ROW => {
                let n = r.count16("field")?;
                for _ in 0..n {
                    r.value()?;
                }
                Message::DataRow(DataRow { body })
            }
            EMPTY_QUERY_RESPONSE => Message::EmptyQueryResponse,
            ERROR_RESPONSE => Message::ErrorResponse(parse_error_fields(&mut r)?),
            NOTICE_RESPONSE => Message::NoticeResponse(parse_error_fields(&mut r)?),
            FUNCTION_CALL_RESPONSE => Message::FunctionCallResponse { value: r.value()? },
            NEGOTIATE_PROTOCOL_VERSION => {
                let newest_minor = r.i32()?;
                let n = r.i32()?;
                let n = usize::try_from(n).map_err(|_| {
                    Error::protocol(format!(
                        "NegotiateProtocolVersion has a negative option count ({n})"
                    ))
                })?;
                let mut unrecognized = Vec::with_capacity(n.min(r.remaining()));
                for _ in 0..n {
                    unrecognized.push(r.cstr()?);
                }
                Message::NegotiateProtocolVersion {
                    newest_minor,
                    unrecognized,
                }
            }
            NO_DATA => Message::NoData,
            NOTIFICATION_RESPONSE => Message::NotificationResponse {
                process_id: r.i32()?,
                channel: r.cstr()?,
                payload: r.cstr()?,
            },
            PARAMETER_DESCRIPTION => {
                let n = r.count16("parameter")?;
                let oids = r.take(n.saturating_mul(4))?;
                Message::ParameterDescription(ParameterDescription { oids })
            }
            PARAMETER_STATUS => Message::ParameterStatus {
                name: r.cstr()?,
                value: r.cstr()?,
            },
            PARSE_COMPLETE => Message::ParseComplete,
            PORTAL_SUSPENDED => Message::PortalSuspended,
            READY_FOR_QUERY => Message::ReadyForQuery(match r.u8()? {
                b'I' => TransactionStatus::Idle,
                b'T' => TransactionStatus::InTransaction,
                b'E' => TransactionStatus::InFailedTransaction,
                other => {
                    return Err(Error::protocol(format!(
                        "ReadyForQuery has transaction status {}; expected 'I', 'T' or 'E'",
                        show_tag(other)
                    )));
                }
            }),
            ROW_DESCRIPTION => {
                let n = r.count16("field")?;
                for _ in 0..n {
                    read_field(&mut r)?;
                }
                Message::RowDescription(RowDescription { body })
            }
            other => {
                return Err(Error::protocol(format!(
                    "unknown message type {} from the server",
                    show_tag(other)
                )));
            }
        };
        r.finish()?;
        Ok(message)
    }
}

/// The name of a message type, for error messages.
pub(crate) fn name(tag: u8) -> &'static str {
    match tag {
        tag::AUTHENTICATION => "Authentication",
        tag::BACKEND_KEY_DATA => "BackendKeyData",
        tag::BIND_COMPLETE => "BindComplete",
        tag::CLOSE_COMPLETE => "CloseComplete",
        tag::COMMAND_COMPLETE => "CommandComplete",
        tag::COPY_DATA => "CopyData",
        tag::COPY_DONE => "CopyDone",
        tag::COPY_IN_RESPONSE => "CopyInResponse",
        tag::COPY_OUT_RESPONSE => "CopyOutResponse",
        tag::COPY_BOTH_RESPONSE => "CopyBothResponse",
        tag::DATA_ROW => "DataRow",
        tag::EMPTY_QUERY_RESPONSE => "EmptyQueryResponse",
        tag::ERROR_RESPONSE => "ErrorResponse",
        tag::FUNCTION_CALL_RESPONSE => "FunctionCallResponse",
        tag::NEGOTIATE_PROTOCOL_VERSION => "NegotiateProtocolVersion",
        tag::NO_DATA => "NoData",
        tag::NOTICE_RESPONSE => "NoticeResponse",
        tag::NOTIFICATION_RESPONSE => "NotificationResponse",
        tag::PARAMETER_DESCRIPTION => "ParameterDescription",
        tag::PARAMETER_STATUS => "ParameterStatus",
        tag::PARSE_COMPLETE => "ParseComplete",
        tag::PORTAL_SUSPENDED => "PortalSuspended",
        tag::READY_FOR_QUERY => "ReadyForQuery",
        tag::ROW_DESCRIPTION => "RowDescription",
        _ => "unknown",
    }
}

fn parse_auth<'a>(r: &mut Reader<'a>) -> Result<Authentication<'a>> {
    Ok(match r.i32()? {
        0 => Authentication::Ok,
        2 => Authentication::KerberosV5,
        3 => Authentication::CleartextPassword,
        5 => {
            let mut salt = [0u8; 4];
            salt.copy_from_slice(r.take(4)?);
            Authentication::Md5Password { salt }
        }
        7 => Authentication::Gss,
        8 => Authentication::GssContinue { data: r.rest() },
        9 => Authentication::Sspi,
        10 => {
            let mut mechanisms = Vec::new();
            loop {
                let m = r.cstr()?;
                if m.is_empty() {
                    break;
                }
                mechanisms.push(m);
            }
            Authentication::Sasl { mechanisms }
        }
        11 => Authentication::SaslContinue { data: r.rest() },
        12 => Authentication::SaslFinal { data: r.rest() },
        other => {
            return Err(Error::protocol(format!(
                "unknown authentication request code {other} from the server"
            )));
        }
    })
}

fn parse_copy_response(r: &mut Reader<'_>) -> Result<CopyResponse> {
    let format = r.u8()?;
    let format = match format {
        0 => 0,
        1 => 1,
        other => {
            return Err(Error::protocol(format!(
                "COPY response has format {other}; expected 0 (text) or 1 (binary)"
            )));
        }
    };
    let n = r.count16("column")?;
    let mut column_formats = Vec::with_capacity(n.min(r.remaining() / 2));
    for _ in 0..n {
        column_formats.push(r.i16()?);
    }
    Ok(CopyResponse {
        format,
        column_formats,
    })
}

fn parse_error_fields<'a>(r: &mut Reader<'a>) -> Result<ErrorFields<'a>> {
    let body = r.rest();
    let mut fields = Reader::new(body, "ErrorResponse");
    loop {
        if fields.u8()? == 0 {
            break;
        }
        fields.cstr()?;
    }
    fields.finish()?;
    Ok(ErrorFields { body })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![tag];
        v.extend_from_slice(&(i32::try_from(body.len()).unwrap() + 4).to_be_bytes());
        v.extend_from_slice(body);
        v
    }

    fn parse(bytes: &[u8]) -> Result<Message<'_>> {
        let header = Header::parse(bytes, &Limits::default())?.expect("complete header");
        let body = &bytes[Header::LEN..header.frame_len()];
        Message::parse(header.tag, body)
    }

    #[test]
    fn header_needs_five_bytes() {
        assert_eq!(Header::parse(b"Z\0\0\0", &Limits::default()).unwrap(), None);
        let h = Header::parse(b"Z\0\0\0\x05I", &Limits::default())
            .unwrap()
            .unwrap();
        assert_eq!(
            h,
            Header {
                tag: b'Z',
                body_len: 1
            }
        );
        assert_eq!(h.frame_len(), 6);
    }

    #[test]
    fn header_length_below_four_is_an_error() {
        for len in [0i32, 3, -1, i32::MIN] {
            let mut b = vec![b'R'];
            b.extend_from_slice(&len.to_be_bytes());
            let err = Header::parse(&b, &Limits::default()).unwrap_err();
            assert!(err.to_string().contains("at least 4"), "{err}");
        }
    }

    #[test]
    fn small_types_are_capped_at_30000_bytes() {
        let mut b = vec![b'R'];
        b.extend_from_slice(&i32::MAX.to_be_bytes());
        let err = Header::parse(&b, &Limits::default()).unwrap_err();
        assert!(err.to_string().contains("at most 30000"), "{err}");

        let mut ok = vec![b'Z'];
        ok.extend_from_slice(&30_004i32.to_be_bytes());
        assert!(Header::parse(&ok, &Limits::default()).is_ok());
        let mut over = vec![b'Z'];
        over.extend_from_slice(&30_005i32.to_be_bytes());
        assert!(Header::parse(&over, &Limits::default()).is_err());
    }

    #[test]
    fn before_authentication_every_claim_is_small() {
        let startup = Limits {
            authenticating: true,
            ..Limits::default()
        };
        let header = |tag: u8, len: i32| {
            let mut b = vec![tag];
            b.extend_from_slice(&len.to_be_bytes());
            b
        };
        // An ErrorResponse claiming 1 GiB in answer to the startup packet (issue 17).
        assert!(Header::parse(&header(b'E', (1 << 30) - 64), &startup).is_err());
        assert!(Header::parse(&header(b'E', (1 << 30) - 64), &Limits::default()).is_ok());
        assert!(Header::parse(&header(b'E', 30_004), &startup).is_ok());
        assert!(Header::parse(&header(b'E', 30_005), &startup).is_err());
        assert!(Header::parse(&header(b'N', 30_005), &startup).is_err());
        assert!(Header::parse(&header(b'R', 2_000), &startup).is_ok());
        assert!(Header::parse(&header(b'R', 2_001), &startup).is_err());
        assert!(Header::parse(&header(b'R', 2_001), &Limits::default()).is_ok());
    }

    #[test]
    fn long_types_are_capped_by_the_limit() {
        let limits = Limits {
            max_message_len: 1000,
            authenticating: false,
        };
        let mut b = vec![b'D'];
        b.extend_from_slice(&1004i32.to_be_bytes());
        assert!(Header::parse(&b, &limits).is_ok());
        let mut b = vec![b'D'];
        b.extend_from_slice(&1005i32.to_be_bytes());
        assert!(Header::parse(&b, &limits).is_err());
        let mut b = vec![b'D'];
        b.extend_from_slice(&i32::MAX.to_be_bytes());
        assert!(Header::parse(&b, &Limits::default()).is_err());
    }

    #[test]
    fn authentication_requests() {
        assert_eq!(
            parse(&frame(b'R', &0i32.to_be_bytes())).unwrap(),
            Message::Authentication(Authentication::Ok)
        );
        assert_eq!(
            parse(b"R\0\0\0\x0c\0\0\0\x05abcd").unwrap(),
            Message::Authentication(Authentication::Md5Password { salt: *b"abcd" })
        );
        assert_eq!(
            parse(&frame(
                b'R',
                b"\0\0\0\x0aSCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0"
            ))
            .unwrap(),
            Message::Authentication(Authentication::Sasl {
                mechanisms: vec!["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"]
            })
        );
        assert_eq!(
            parse(&frame(b'R', b"\0\0\0\x0br=abc")).unwrap(),
            Message::Authentication(Authentication::SaslContinue { data: b"r=abc" })
        );
        assert!(parse(&frame(b'R', b"\0\0\0\x63")).is_err());
        // MD5 with a short salt.
        assert!(parse(&frame(b'R', b"\0\0\0\x05ab")).is_err());
        // SASL list without its final empty string.
        assert!(parse(&frame(b'R', b"\0\0\0\x0aSCRAM-SHA-256\0")).is_err());
    }

    #[test]
    fn backend_key_data_of_both_protocol_versions() {
        assert_eq!(
            parse(b"K\0\0\0\x0c\0\0\x30\x39\x01\x02\x03\x04").unwrap(),
            Message::BackendKeyData {
                process_id: 12345,
                secret_key: &[1, 2, 3, 4]
            }
        );
        let mut long = 7i32.to_be_bytes().to_vec();
        long.extend_from_slice(&[9u8; 32]);
        assert!(matches!(
            parse(&frame(b'K', &long)).unwrap(),
            Message::BackendKeyData { process_id: 7, secret_key } if secret_key.len() == 32
        ));
        assert!(parse(&frame(b'K', b"\0\0\0\x07ab")).is_err());
    }

    #[test]
    fn ready_for_query() {
        assert_eq!(
            parse(b"Z\0\0\0\x05I").unwrap(),
            Message::ReadyForQuery(TransactionStatus::Idle)
        );
        assert_eq!(
            parse(b"Z\0\0\0\x05T").unwrap(),
            Message::ReadyForQuery(TransactionStatus::InTransaction)
        );
        assert_eq!(
            parse(b"Z\0\0\0\x05E").unwrap(),
            Message::ReadyForQuery(TransactionStatus::InFailedTransaction)
        );
        assert!(parse(b"Z\0\0\0\x05X").is_err());
        // Trailing bytes.
        assert!(parse(b"Z\0\0\0\x06II").is_err());
    }

    #[test]
    fn data_row() {
        let bytes = frame(b'D', b"\0\x03\0\0\0\x02hi\xff\xff\xff\xff\0\0\0\0");
        let Message::DataRow(row) = parse(&bytes).unwrap() else {
            panic!("not a DataRow")
        };
        assert_eq!(row.len(), 3);
        let values: Vec<_> = row.values().collect();
        assert_eq!(values, vec![Some(&b"hi"[..]), None, Some(&b""[..])]);
        let mut ranges = Vec::new();
        DataRow::ranges(row.body(), &mut ranges).unwrap();
        assert_eq!(ranges, vec![Some(6..8), None, Some(16..16)]);
    }

    #[test]
    fn data_row_with_fewer_values_than_its_count_is_an_error() {
        // RUSTSEC-2026-0178: a row shorter than it claims must not panic anyone later.
        assert!(parse(&frame(b'D', b"\0\x02\0\0\0\x01a")).is_err());
        assert!(parse(&frame(b'D', b"\0\x01\0\0\0\x05a")).is_err());
        assert!(parse(&frame(b'D', b"\0\x01\xff\xff\xff\xfe")).is_err());
        assert!(parse(&frame(b'D', b"\xff\xff")).is_err());
        let mut ranges = Vec::new();
        assert!(DataRow::ranges(b"\0\x02\0\0\0\x01a", &mut ranges).is_err());
    }

    #[test]
    fn row_description() {
        let mut body = 2i16.to_be_bytes().to_vec();
        for (name, table, col, ty) in [("id", 16400u32, 1i16, 20u32), ("?column?", 0, 0, 25)] {
            body.extend_from_slice(name.as_bytes());
            body.push(0);
            body.extend_from_slice(&table.to_be_bytes());
            body.extend_from_slice(&col.to_be_bytes());
            body.extend_from_slice(&ty.to_be_bytes());
            body.extend_from_slice(&8i16.to_be_bytes());
            body.extend_from_slice(&(-1i32).to_be_bytes());
            body.extend_from_slice(&1i16.to_be_bytes());
        }
        let bytes = frame(b'T', &body);
        let Message::RowDescription(desc) = parse(&bytes).unwrap() else {
            panic!("not a RowDescription")
        };
        let fields: Vec<_> = desc.fields().collect();
        assert_eq!(fields.len(), 2);
        assert_eq!(fields[0].name, "id");
        assert_eq!(fields[0].table_oid, Oid(16400));
        assert_eq!(fields[0].column_id, 1);
        assert_eq!(fields[0].type_oid, Oid(20));
        assert_eq!(fields[1].name, "?column?");
        assert_eq!(fields[1].format, 1);
        // Truncated.
        let short = frame(b'T', &body[..body.len() - 1]);
        assert!(parse(&short).is_err());
    }

    #[test]
    fn error_response_fields() {
        let bytes = frame(
            b'E',
            b"SERROR\0VERROR\0C42P01\0Mrelation \"x\" does not exist\0P15\0\0",
        );
        let Message::ErrorResponse(fields) = parse(&bytes).unwrap() else {
            panic!("not an ErrorResponse")
        };
        let db = fields.to_db_error().unwrap();
        assert_eq!(db.code().code(), "42P01");
        assert_eq!(db.message(), "relation \"x\" does not exist");
        // Missing final terminator.
        assert!(parse(&frame(b'E', b"SERROR\0")).is_err());
        // Unterminated value.
        assert!(parse(&frame(b'E', b"SERROR")).is_err());
    }

    #[test]
    fn notification_and_parameter_status() {
        assert_eq!(
            parse(&frame(b'A', b"\0\0\0\x2achan\0hello\0")).unwrap(),
            Message::NotificationResponse {
                process_id: 42,
                channel: "chan",
                payload: "hello"
            }
        );
        assert_eq!(
            parse(&frame(b'S', b"TimeZone\0UTC\0")).unwrap(),
            Message::ParameterStatus {
                name: "TimeZone",
                value: "UTC"
            }
        );
    }

    #[test]
    fn parameter_description() {
        let bytes = frame(b't', b"\0\x02\0\0\0\x17\0\0\0\x19");
        let Message::ParameterDescription(p) = parse(&bytes).unwrap() else {
            panic!("not a ParameterDescription")
        };
        assert_eq!(p.types().collect::<Vec<_>>(), vec![Oid::INT4, Oid::TEXT]);
        assert!(parse(&frame(b't', b"\0\x02\0\0\0\x17")).is_err());
        assert!(parse(&frame(b't', b"\x80\0")).is_err());
    }

    #[test]
    fn copy_responses() {
        assert_eq!(
            parse(&frame(b'G', b"\x01\0\x02\0\x01\0\x01")).unwrap(),
            Message::CopyInResponse(CopyResponse {
                format: 1,
                column_formats: vec![1, 1]
            })
        );
        assert!(parse(&frame(b'H', b"\x02\0\0")).is_err());
        assert_eq!(
            parse(&frame(b'd', b"abc")).unwrap(),
            Message::CopyData { data: b"abc" }
        );
    }

    #[test]
    fn negotiate_protocol_version() {
        assert_eq!(
            parse(&frame(b'v', b"\0\0\0\0\0\0\0\x01_pq_.foo\0")).unwrap(),
            Message::NegotiateProtocolVersion {
                newest_minor: 0,
                unrecognized: vec!["_pq_.foo"]
            }
        );
        assert!(parse(&frame(b'v', b"\0\0\0\0\x7f\xff\xff\xff")).is_err());
    }

    #[test]
    fn empty_bodied_messages() {
        for (tag, msg) in [
            (b'1', Message::ParseComplete),
            (b'2', Message::BindComplete),
            (b'3', Message::CloseComplete),
            (b'c', Message::CopyDone),
            (b'I', Message::EmptyQueryResponse),
            (b'n', Message::NoData),
            (b's', Message::PortalSuspended),
        ] {
            assert_eq!(parse(&frame(tag, b"")).unwrap(), msg);
            assert!(parse(&frame(tag, b"x")).is_err(), "{msg:?}");
        }
    }

    #[test]
    fn unknown_type_is_an_error() {
        let err = parse(&frame(b'!', b"")).unwrap_err();
        assert!(
            err.to_string().contains("unknown message type '!'"),
            "{err}"
        );
    }

    #[test]
    fn command_complete_and_function_call_response() {
        assert_eq!(
            parse(&frame(b'C', b"INSERT 0 5\0")).unwrap(),
            Message::CommandComplete { tag: "INSERT 0 5" }
        );
        assert_eq!(
            parse(&frame(b'V', b"\xff\xff\xff\xff")).unwrap(),
            Message::FunctionCallResponse { value: None }
        );
    }

    proptest::proptest! {
        #[test]
        fn random_bytes_never_panic(tag in proptest::prelude::any::<u8>(), body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            if let Ok(msg) = Message::parse(tag, &body) {
                // Exercise the lazy accessors too.
                match msg {
                    Message::DataRow(row) => { let _ = row.values().count(); let mut v = Vec::new(); let _ = DataRow::ranges(row.body(), &mut v); }
                    Message::RowDescription(d) => { let _ = d.fields().count(); }
                    Message::ErrorResponse(f) | Message::NoticeResponse(f) => { let _ = f.to_db_error(); }
                    Message::ParameterDescription(p) => { let _ = p.types().count(); }
                    _ => {}
                }
            }
        }

        #[test]
        fn random_headers_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..8)) {
            let _ = Header::parse(&bytes, &Limits::default());
        }
    }
}
