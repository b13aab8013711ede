//! The bodies of the fuzz targets, shared by `cargo fuzz` (`fuzz_targets/*.rs`) and by
//! the stable property tests in `tests/faults.rs`, which include this file.
//!
//! Each target feeds arbitrary bytes to a decoder through the driver's public API (the
//! wire-protocol decoders through its hidden `internals` module, feature `__internals`) and
//! checks more than "no panic" where a property is cheap to state: a value that
//! decodes encodes back to the same bytes (or to bytes that decode to the same value),
//! a DataRow's ranges agree with its values, printed options parse back to the same
//! printout.

#![allow(dead_code, unreachable_pub)]

use quarry_driver::ConnectOptions;
use quarry_driver::internals::{DataRow, Header, Limits, Message};
use std::collections::HashMap;
use std::net::IpAddr;

use quarry_driver::types::{
    Array, BitString, Circle, Date, Decode, Encode, EncodeBuf, Format, Int2Vector, Interval,
    IpNetwork, IsNull, Line, LineSegment, Lquery, Ltree, Ltxtquery, MacAddr, MacAddr8, Money,
    MultiRange, Numeric, Oid, OidVector, Path, PgLsn, PgValue, Point, Polygon, Range, Rect, Time,
    TimeTz, Timestamp, TimestampTz, TsQuery, TsVector, TypeInfo, ValueRef, Xml,
};

// --- Protocol -------------------------------------------------------------------------

/// A stream of backend messages: frame with `Header::parse`, decode with
/// `Message::parse`, and walk every borrowed view.
pub fn backend_message(data: &[u8]) {
    // The first byte picks the limit, so both the small and the default limits are hit,
    // and the phase (the startup caps before authentication).
    let Some((&first, mut rest)) = data.split_first() else {
        return;
    };
    let limit = if first % 2 == 0 {
        1 << 12
    } else {
        Limits::DEFAULT_MAX_MESSAGE_LEN
    };
    let limits = Limits {
        max_message_len: limit,
        authenticating: first & 2 != 0,
    };
    while let Ok(Some(h)) = Header::parse(rest, &limits) {
        assert!(h.body_len <= limit.max(Limits::SMALL_MESSAGE_MAX));
        let Some(body) = rest.get(Header::LEN..h.frame_len()) else {
            return;
        };
        if let Ok(message) = Message::parse(h.tag, body) {
            walk(message);
        }
        rest = &rest[h.frame_len()..];
    }
}

fn walk(message: Message<'_>) {
    match message {
        Message::ErrorResponse(fields) | Message::NoticeResponse(fields) => {
            let n = fields.iter().count();
            if let Ok(db) = fields.to_db_error() {
                // Display may quote the fields; it must not panic on any of them.
                let _ = (db.to_string(), format!("{db:?}"), n);
            }
        }
        Message::RowDescription(d) => {
            assert_eq!(
                d.fields().count(),
                d.len(),
                "RowDescription fields vs count"
            );
        }
        Message::DataRow(row) => check_data_row(row.body()),
        Message::ParameterDescription(p) => {
            let _ = p.types().count();
        }
        Message::Authentication(a) => {
            let _ = format!("{a:?}");
        }
        _ => {}
    }
}

/// A DataRow body on its own (the connection's `Row::new` reads the same layout).
pub fn data_row(data: &[u8]) {
    if let Ok(Message::DataRow(row)) = Message::parse(b'D', data) {
        check_data_row(row.body());
    } else {
        // Malformed bodies are refused by both readers.
        let mut ranges = Vec::new();
        assert!(DataRow::ranges(data, &mut ranges).is_err());
    }
}

fn check_data_row(body: &[u8]) {
    let Ok(Message::DataRow(row)) = Message::parse(b'D', body) else {
        panic!("a body Message::parse accepted once is accepted again");
    };
    let mut ranges = Vec::new();
    DataRow::ranges(body, &mut ranges).expect("ranges of a valid DataRow");
    let values: Vec<Option<&[u8]>> = row.values().collect();
    assert_eq!(values.len(), row.len());
    assert_eq!(ranges.len(), row.len());
    for (range, value) in ranges.iter().zip(&values) {
        match (range, value) {
            (None, None) => {}
            (Some(r), Some(v)) => assert_eq!(&body[r.clone()], *v),
            _ => panic!("ranges and values disagree on NULL"),
        }
    }
}

// --- Replication ------------------------------------------------------------------------

/// The content of one CopyData of a replication stream: XLogData or a keepalive. The data
/// of an XLogData is a pgoutput message, decoded as the stream would (in and out of a
/// stream block).
pub fn replication_message(data: &[u8]) {
    use quarry_driver::internals::replication::ReplicationMessage;
    match ReplicationMessage::parse(data) {
        Ok(ReplicationMessage::XLogData { data: inner, .. }) => {
            assert!(data.ends_with(inner) && data.len() == inner.len() + 25);
            check_pgoutput(inner, false);
            check_pgoutput(inner, true);
        }
        Ok(ReplicationMessage::PrimaryKeepalive { .. }) => assert_eq!(data.len(), 18),
        Err(_) => {}
    }
}

/// One pgoutput message; the first byte says whether a stream block is open.
pub fn pgoutput(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    check_pgoutput(rest, first % 2 == 1);
}

fn check_pgoutput(data: &[u8], in_stream: bool) {
    use quarry_driver::internals::replication::{LogicalMessage, OldTuple, TupleData, TupleValue};
    let Ok(message) = LogicalMessage::parse(data, in_stream) else {
        return;
    };
    // Every value range lies inside the message.
    let check = |t: &TupleData| {
        for v in &t.values {
            if let TupleValue::Text(r) | TupleValue::Binary(r) = v {
                assert!(r.start <= r.end && r.end <= data.len());
            }
        }
    };
    let old = |o: &OldTuple| match o {
        OldTuple::Key(t) | OldTuple::Row(t) => check(t),
    };
    match &message {
        LogicalMessage::Insert { new, .. } => check(new),
        LogicalMessage::Update { old: o, new, .. } => {
            o.iter().for_each(old);
            check(new);
        }
        LogicalMessage::Delete { old: o, .. } => old(o),
        LogicalMessage::Message { content, .. } => assert!(content.len() < data.len()),
        _ => {}
    }
    // A message accepted once is accepted again, the same.
    assert_eq!(
        LogicalMessage::parse(data, in_stream).ok().as_ref(),
        Some(&message)
    );
}

// --- Certificates ----------------------------------------------------------------------

/// A server certificate read as the TLS verifiers read it (the DER walk that webpki does
/// not do for us), checked against a host picked by the first byte.
pub fn certificate(data: &[u8]) {
    let Some((&pick, der)) = data.split_first() else {
        return;
    };
    let host = [
        "localhost",
        "127.0.0.1",
        "db.example.org",
        "::1",
        "a.b.example.org",
    ][usize::from(pick) % 5];
    if let Some((version, _)) =
        quarry_driver::internals::certificate_version_and_host_match(der, host)
    {
        assert!((1..=3).contains(&version), "version {version}");
    }
}

// --- Authentication ------------------------------------------------------------------

/// The client nonce of the `scram` target (RFC 7677's), so that inputs can extend it.
pub const SCRAM_NONCE: &str = "rOprNGfwEbeRWgbNEkqO";
/// The password of the `scram` target.
pub const SCRAM_PASSWORD: &str = "pencil";

/// A SCRAM-SHA-256 exchange against a hostile server: `data` is a limit byte, then
/// server-first-message, `\n`, server-final-message, `\n`, and a NUL-separated
/// `AuthenticationSASL` mechanism list. The iteration count is accepted only within the
/// limits (refused before any PBKDF2 work, so a huge count costs nothing), the reply
/// extends the server's nonce, the exchange finishes only on the right signature, a
/// failed exchange stays failed, and no error shows the password.
pub fn scram(data: &[u8]) {
    use quarry_driver::config::ChannelBinding;
    use quarry_driver::internals::scram::{Exchange, select_mechanism};

    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    // Small maxima keep an execution cheap; 4,096 lets the RFC 7677 seed through.
    let (min, max) = [(1, 1), (1, 16), (2, 4096), (4096, 4096)][usize::from(pick % 4)];
    let mut parts = rest.splitn(3, |&b| b == b'\n');
    let first = parts.next().unwrap_or_default();
    let last = parts.next();
    let mechanisms = parts.next();
    let password = SCRAM_PASSWORD.as_bytes();
    let shows_password = |e: &quarry_driver::Error| {
        let text = format!("{e} {e:?}");
        !data.windows(password.len()).any(|w| w == password) && text.contains(SCRAM_PASSWORD)
    };

    let (mut exchange, client_first) =
        Exchange::start(password, SCRAM_NONCE, min, max, None).expect("valid limits");
    assert_eq!(client_first, format!("n,,n=,r={SCRAM_NONCE}").as_bytes());
    assert!(!format!("{exchange:?}").contains(SCRAM_PASSWORD));
    match exchange.server_first(first) {
        Ok(reply) => {
            let count = scram_attribute(first, b'i').expect("accepted without i=");
            let count: u64 = std::str::from_utf8(count).unwrap().parse().unwrap();
            assert!(
                (u64::from(min)..=u64::from(max)).contains(&count),
                "{count} iterations accepted outside {min}..={max}"
            );
            let nonce = scram_attribute(first, b'r').expect("accepted without r=");
            assert!(nonce.starts_with(SCRAM_NONCE.as_bytes()) && nonce.len() > SCRAM_NONCE.len());
            let mut expected = b"c=biws,r=".to_vec();
            expected.extend_from_slice(nonce);
            expected.extend_from_slice(b",p=");
            assert!(reply.starts_with(&expected), "{reply:?}");
            assert_eq!(
                reply.len(),
                expected.len() + 44,
                "proof of 32 bytes in base64"
            );
            if let Some(last) = last {
                match exchange.server_final(last) {
                    Ok(()) => assert!(exchange.is_finished()),
                    Err(e) => {
                        assert!(!exchange.is_finished());
                        assert!(!shows_password(&e), "{e}");
                        assert!(exchange.server_final(last).is_err(), "a failed exchange");
                    }
                }
                assert!(exchange.server_first(first).is_err(), "second server-first");
            }
        }
        Err(e) => {
            assert!(!shows_password(&e), "{e}");
            assert!(!exchange.is_finished());
            assert!(exchange.server_first(first).is_err(), "a failed exchange");
            if let Some(last) = last {
                assert!(exchange.server_final(last).is_err(), "a failed exchange");
            }
        }
    }

    let Some(list) = mechanisms else {
        return;
    };
    let offered: Vec<&[u8]> = list.split(|&b| b == 0).collect();
    let plus = offered.contains(&&b"SCRAM-SHA-256-PLUS"[..]);
    let plain = offered.contains(&&b"SCRAM-SHA-256"[..]);
    for policy in [
        ChannelBinding::Disable,
        ChannelBinding::Prefer,
        ChannelBinding::Require,
    ] {
        for tls in [false, true] {
            let Ok(name) = select_mechanism(&offered, policy, tls, None) else {
                continue;
            };
            // Without a certificate there is nothing to bind to, so never PLUS here.
            assert_eq!(name, "SCRAM-SHA-256", "{policy:?} tls {tls}");
            assert!(plain, "{name} picked from {offered:?}");
            assert!(!plus || tls, "PLUS offered without TLS must be refused");
            assert_ne!(policy, ChannelBinding::Require);
        }
    }
}

/// The value of attribute `name=` in a SCRAM message's comma-separated list.
fn scram_attribute(message: &[u8], name: u8) -> Option<&[u8]> {
    message
        .split(|&b| b == b',')
        .find_map(|part| part.strip_prefix(&[name, b'='][..]))
}

/// The password file: a host, port, database and user picked by the first byte, looked up
/// in the rest. A found password comes from a line of the file, and a lookup is
/// deterministic; a file never panics the parser, whatever its bytes.
pub fn pgpass(data: &[u8]) {
    let Some((&pick, file)) = data.split_first() else {
        return;
    };
    let hosts = ["localhost", "db.example.org", "/tmp", "*", "h:1", ""];
    let users = ["postgres", "app", "*", "u\\:x", ""];
    let dbs = ["postgres", "app", "*", ""];
    let ports = [5432, 5433, 1, 65535];
    let host = hosts[usize::from(pick) % hosts.len()];
    let user = users[usize::from(pick / 8) % users.len()];
    let db = dbs[usize::from(pick / 64) % dbs.len()];
    let port = ports[usize::from(pick / 16) % ports.len()];
    let found = quarry_driver::internals::pgpass_password(file, host, port, db, user);
    if let Some(password) = &found {
        assert!(!password.is_empty(), "an empty password means none");
        // Every character of the password is in the file (escapes only remove).
        let text = String::from_utf8_lossy(file);
        assert!(
            password.chars().all(|c| text.contains(c)),
            "{password:?} not from the file"
        );
    }
    assert_eq!(
        found,
        quarry_driver::internals::pgpass_password(file, host, port, db, user)
    );
    // Comments and a line that is not UTF-8 before the file change nothing.
    let mut commented = b"# a comment: *:*:*:*:no\n\xff:*:*:*:no\n".to_vec();
    commented.extend_from_slice(file);
    assert_eq!(
        found,
        quarry_driver::internals::pgpass_password(&commented, host, port, db, user)
    );
}

/// The service file: section `[name]` (name picked by the first byte) of the rest. An
/// error never shows a value of the section (they may hold a password); what parses has
/// only known keywords, none of them `service` or `servicefile`, with trimmed values.
pub fn service_file(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let name = ["mydb", "", "a]b", "s"][usize::from(pick) % 4];
    match quarry_driver::internals::service_section(text, name) {
        Ok(Some(values)) => {
            for (keyword, value) in values {
                assert!(!matches!(keyword, "service" | "servicefile"));
                assert_eq!(value, value.trim());
            }
        }
        Ok(None) => {}
        Err(e) => {
            let message = format!("{e} {e:?}");
            assert!(message.contains("pg_service.conf"), "{message}");
            // A value made of letters no fixed message has, and found in no keyword (a
            // keyword is named in an error).
            let keys: String = text
                .lines()
                .map(|l| l.split_once('=').map_or(l, |(k, _)| k))
                .collect();
            for line in text.lines() {
                if let Some((_, value)) = line.split_once('=') {
                    let value = value.trim();
                    if value.len() >= 12
                        && value.chars().all(|c| "QXZJqxzj".contains(c))
                        && !keys.contains(value)
                    {
                        assert!(!message.contains(value), "{message}");
                    }
                }
            }
        }
    }
}

// --- Connection strings ------------------------------------------------------------------

/// `ConnectOptions::parse` on arbitrary text, without the process environment. What
/// parses prints (redacted) as a URI that parses again to the same printout.
pub fn connect_options(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(opts) = ConnectOptions::parse_with_env(text, |_| None) else {
        return;
    };
    let shown = opts.to_string();
    let _ = format!("{opts:?}");
    let _ = opts.endpoints();
    let _ = opts.startup_params();
    if let Ok(again) = ConnectOptions::parse_with_env(&shown, |_| None) {
        assert_eq!(again.to_string(), shown, "from {text:?}");
    }
}

// --- Value decoders (one target per family in driver/src/types/) ------------------------

/// Decodes `data` as `T` from a column of each of `oids`, in both formats.
fn decode_each<T>(data: &[u8], oids: &[Oid]) -> Vec<(Oid, Format, T)>
where
    T: for<'r> Decode<'r>,
{
    let ok = decode_nullable_each::<T>(data, oids);
    for &oid in oids {
        // NULL is an error for a non-Option type, never a panic.
        let ty = TypeInfo::from_oid(oid);
        assert!(T::decode(ValueRef::new(None, Format::Binary, &ty)).is_err());
    }
    ok
}

/// [`decode_each`] for types that hold NULL themselves (`PgValue`).
fn decode_nullable_each<T>(data: &[u8], oids: &[Oid]) -> Vec<(Oid, Format, T)>
where
    T: for<'r> Decode<'r>,
{
    let mut ok = Vec::new();
    for &oid in oids {
        let ty = TypeInfo::from_oid(oid);
        for format in [Format::Binary, Format::Text] {
            if let Ok(v) = T::decode(ValueRef::new(Some(data), format, &ty)) {
                ok.push((oid, format, v));
            }
        }
        let _ = T::decode(ValueRef::new(None, Format::Binary, &ty));
    }
    ok
}

fn encoded<T: Encode>(value: &T) -> Option<Vec<u8>> {
    let mut buf = EncodeBuf::new();
    match value.encode(&mut buf) {
        Ok(IsNull::No) => Some(buf.as_bytes().to_vec()),
        Ok(IsNull::Yes) | Err(_) => None,
    }
}

/// For every binary decode of `T`: encoding gives back `data` exactly.
fn binary_round_trip<T>(data: &[u8], oids: &[Oid])
where
    T: for<'r> Decode<'r> + Encode + std::fmt::Debug,
{
    for (oid, format, v) in decode_each::<T>(data, oids) {
        if format == Format::Binary {
            let back = encoded(&v).unwrap_or_else(|| panic!("{v:?} decoded but did not encode"));
            assert_eq!(back, data, "{oid:?} {v:?}");
        }
    }
}

pub fn decode_bool(data: &[u8]) {
    binary_round_trip::<bool>(data, &[Oid::BOOL]);
    for (_, format, v) in decode_each::<bool>(data, &[Oid::BOOL]) {
        if format == Format::Text {
            assert!(
                matches!((data, v), (b"t", true) | (b"f", false)),
                "{data:?} {v}"
            );
        }
    }
}

pub fn decode_int(data: &[u8]) {
    let ints = [Oid::INT2, Oid::INT4, Oid::INT8, Oid::OID];
    binary_round_trip::<i16>(data, &ints);
    binary_round_trip::<i32>(data, &ints);
    binary_round_trip::<i64>(data, &ints);
    binary_round_trip::<Oid>(data, &ints);
    let _ = decode_each::<i8>(data, &[Oid::CHAR, Oid::INT2]);
    // Text form: what decodes is the decimal text of the value.
    for (_, format, v) in decode_each::<i64>(data, &ints) {
        if format == Format::Text {
            assert_eq!(v.to_string().parse::<i64>().ok(), Some(v));
        }
    }
}

pub fn decode_float(data: &[u8]) {
    for (oid, format, v) in decode_each::<f64>(data, &[Oid::FLOAT8, Oid::FLOAT4]) {
        if format == Format::Binary {
            assert_eq!(encoded(&v).unwrap(), data, "{oid:?} {v:?}");
        }
    }
    for (oid, format, v) in decode_each::<f32>(data, &[Oid::FLOAT4, Oid::FLOAT8]) {
        if format == Format::Binary {
            assert_eq!(encoded(&v).unwrap(), data, "{oid:?} {v:?}");
        }
    }
}

pub fn decode_text(data: &[u8]) {
    let texts = [
        Oid::TEXT,
        Oid::VARCHAR,
        Oid::BPCHAR,
        Oid::NAME,
        Oid::UNKNOWN,
    ];
    for (_, _, v) in decode_each::<String>(data, &texts) {
        assert_eq!(v.as_bytes(), data);
        // Text without NUL encodes back as it was; with NUL, encoding is refused.
        match encoded(&v) {
            Some(back) => assert_eq!(back, data),
            None => assert!(data.contains(&0)),
        }
    }
    // The borrowing decoder reads the same bytes without copying.
    let types: Vec<TypeInfo> = texts.iter().map(|&oid| TypeInfo::from_oid(oid)).collect();
    for ty in &types {
        for format in [Format::Binary, Format::Text] {
            let borrowed = <&str>::decode(ValueRef::new(Some(data), format, ty));
            assert_eq!(
                borrowed.ok().map(str::as_bytes),
                std::str::from_utf8(data).ok().map(str::as_bytes)
            );
        }
    }
    let _ = decode_each::<char>(data, &[Oid::CHAR, Oid::BPCHAR, Oid::TEXT]);
}

pub fn decode_bytea(data: &[u8]) {
    for (_, format, v) in decode_each::<Vec<u8>>(data, &[Oid::BYTEA]) {
        if format == Format::Binary {
            assert_eq!(v, data);
        } else {
            // Text is hex (`\x...`) or escape format; it decodes to at most its length.
            assert!(v.len() <= data.len());
        }
    }
    let _ = decode_each::<[u8; 16]>(data, &[Oid::BYTEA]);
    let _ = decode_each::<Box<[u8]>>(data, &[Oid::BYTEA]);
}

pub fn decode_uuid(data: &[u8]) {
    binary_round_trip::<uuid::Uuid>(data, &[Oid::UUID]);
    for (_, format, v) in decode_each::<uuid::Uuid>(data, &[Oid::UUID]) {
        if format == Format::Text {
            assert_eq!(v.to_string().len(), 36);
        }
    }
}

pub fn decode_json(data: &[u8]) {
    let oids = [Oid::JSON, Oid::JSONB];
    for (oid, format, v) in decode_each::<serde_json::Value>(data, &oids) {
        // Encoded (jsonb format) and decoded again: the same value. `\u0000` is valid
        // in `json` but not in `jsonb`, and the encoder refuses it.
        let Some(back) = encoded(&v) else {
            assert!(v.to_string().contains("\\u0000"), "{v} did not encode");
            continue;
        };
        let ty = TypeInfo::from_oid(Oid::JSONB);
        let again = serde_json::Value::decode(ValueRef::new(Some(&back), Format::Binary, &ty))
            .unwrap_or_else(|e| panic!("{oid:?} {format:?} {v}: {e}"));
        // Exactly: the workspace enables serde_json's `float_roundtrip`, without which
        // `4444444444444447774777777` read as 4.444444444444448e24 and came back as
        // 4.4444444444444476e24 (seed `decode_json/float_roundtrip`).
        assert_eq!(again, v, "{oid:?} {format:?}: {v} came back as {again}");
    }
    let _ = decode_each::<quarry_driver::types::Json<Vec<i64>>>(data, &oids);
    let _ = decode_each::<Box<serde_json::value::RawValue>>(data, &oids);
}

pub fn decode_money(data: &[u8]) {
    binary_round_trip::<Money>(data, &[Oid::MONEY]);
    for (_, format, v) in decode_each::<Money>(data, &[Oid::MONEY]) {
        if format == Format::Text {
            let _ = v.to_string();
        }
    }
}

pub fn decode_numeric(data: &[u8]) {
    for (oid, format, v) in decode_each::<Numeric>(data, &[Oid::NUMERIC]) {
        // Binary: encode and decode again to the same value (the input may be a
        // non-canonical form of it). Text: print and parse again.
        let back = encoded(&v).expect("a decoded numeric encodes");
        let ty = TypeInfo::from_oid(Oid::NUMERIC);
        let again = Numeric::decode(ValueRef::new(Some(&back), Format::Binary, &ty))
            .unwrap_or_else(|e| panic!("{oid:?} {format:?} {v}: {e}"));
        assert_eq!(again, v, "{format:?}");
        let printed: Numeric = v.to_string().parse().expect("printed numeric parses");
        assert_eq!(printed, v);
    }
}

/// For every binary decode of `T`: the value encodes, and the encoding decodes to an
/// equal value (the input may be a non-canonical form of it, so the bytes may differ).
fn value_round_trip<T>(data: &[u8], oids: &[Oid])
where
    T: for<'r> Decode<'r> + Encode + PartialEq + std::fmt::Debug,
{
    for (oid, format, v) in decode_each::<T>(data, oids) {
        if format != Format::Binary {
            continue;
        }
        let Some(back) = encoded(&v) else {
            // Some values decode but cannot be sent (the server refuses them too,
            // e.g. an empty oidvector); refusing is fine, panicking is not.
            continue;
        };
        let ty = TypeInfo::from_oid(oid);
        let again = T::decode(ValueRef::new(Some(&back), Format::Binary, &ty))
            .unwrap_or_else(|e| panic!("{oid:?} {v:?} encoded to bytes that do not decode: {e}"));
        assert_eq!(again, v, "{oid:?}");
    }
}

pub fn decode_datetime(data: &[u8]) {
    value_round_trip::<Date>(data, &[Oid::DATE]);
    value_round_trip::<Time>(data, &[Oid::TIME]);
    value_round_trip::<TimeTz>(data, &[Oid::TIMETZ]);
    value_round_trip::<Timestamp>(data, &[Oid::TIMESTAMP]);
    value_round_trip::<TimestampTz>(data, &[Oid::TIMESTAMPTZ]);
    value_round_trip::<Interval>(data, &[Oid::INTERVAL]);
    // Text: what parses prints and parses again to the same value.
    for (_, format, v) in decode_each::<Timestamp>(data, &[Oid::TIMESTAMP]) {
        if format == Format::Text {
            assert_eq!(v.to_string().parse::<Timestamp>().ok(), Some(v));
        }
    }
    for (_, format, v) in decode_each::<Interval>(data, &[Oid::INTERVAL]) {
        if format == Format::Text {
            assert_eq!(v.to_string().parse::<Interval>().ok(), Some(v));
        }
    }
}

pub fn decode_array(data: &[u8]) {
    let arrays = [
        Oid::INT4_ARRAY,
        Oid::INT8_ARRAY,
        Oid::TEXT_ARRAY,
        Oid::INT2VECTOR,
        Oid::OIDVECTOR,
    ];
    value_round_trip::<Vec<i32>>(data, &arrays);
    value_round_trip::<Vec<Option<i64>>>(data, &arrays);
    value_round_trip::<Vec<String>>(data, &arrays);
    value_round_trip::<Array<Option<i32>>>(data, &arrays);
    value_round_trip::<Array<String>>(data, &arrays);
    let _ = decode_each::<Vec<Vec<u8>>>(data, &[Oid::BYTEA_ARRAY]);
    let _ = decode_each::<OidVector>(data, &[Oid::OIDVECTOR]);
    let _ = decode_each::<Int2Vector>(data, &[Oid::INT2VECTOR]);
}

pub fn decode_range(data: &[u8]) {
    value_round_trip::<Range<i32>>(data, &[Oid::INT4RANGE]);
    value_round_trip::<Range<i64>>(data, &[Oid::INT8RANGE]);
    value_round_trip::<Range<Numeric>>(data, &[Oid::NUMRANGE]);
    value_round_trip::<Range<Date>>(data, &[Oid::DATERANGE]);
    value_round_trip::<Range<TimestampTz>>(data, &[Oid::TSTZRANGE]);
    value_round_trip::<MultiRange<i32>>(data, &[Oid::INT4MULTIRANGE]);
    value_round_trip::<MultiRange<i64>>(data, &[Oid::INT8MULTIRANGE]);
}

pub fn decode_record(data: &[u8]) {
    let _ = decode_each::<(i32,)>(data, &[Oid::RECORD]);
    let _ = decode_each::<(i64, String)>(data, &[Oid::RECORD]);
    let _ = decode_each::<(Option<i32>, Option<String>, Option<bool>)>(data, &[Oid::RECORD]);
    for (_, _, v) in decode_nullable_each::<PgValue>(data, &[Oid::RECORD, Oid(16_385)]) {
        let _ = format!("{v:?}");
    }
}

pub fn decode_net(data: &[u8]) {
    let nets = [Oid::INET, Oid::CIDR];
    value_round_trip::<IpNetwork>(data, &nets);
    value_round_trip::<IpAddr>(data, &nets);
    value_round_trip::<MacAddr>(data, &[Oid::MACADDR]);
    value_round_trip::<MacAddr8>(data, &[Oid::MACADDR8]);
    for (_, format, v) in decode_each::<IpNetwork>(data, &nets) {
        if format == Format::Text {
            let _ = v.to_string();
        }
    }
}

pub fn decode_geo(data: &[u8]) {
    let _ = decode_each::<Point>(data, &[Oid::POINT]);
    let _ = decode_each::<Line>(data, &[Oid::LINE]);
    let _ = decode_each::<LineSegment>(data, &[Oid::LSEG]);
    let _ = decode_each::<Rect>(data, &[Oid::BOX]);
    let _ = decode_each::<Path>(data, &[Oid::PATH]);
    let _ = decode_each::<Polygon>(data, &[Oid::POLYGON]);
    let _ = decode_each::<Circle>(data, &[Oid::CIRCLE]);
    for (_, _, v) in decode_each::<Path>(data, &[Oid::PATH]) {
        let _ = encoded(&v);
        let _ = v.to_string();
    }
}

pub fn decode_bits(data: &[u8]) {
    value_round_trip::<BitString>(data, &[Oid::BIT, Oid::VARBIT]);
    for (_, _, v) in decode_each::<BitString>(data, &[Oid::BIT, Oid::VARBIT]) {
        assert_eq!(v.to_string().parse::<BitString>().ok(), Some(v));
    }
}

pub fn decode_tsearch(data: &[u8]) {
    for (_, _, v) in decode_each::<TsVector>(data, &[Oid::TSVECTOR]) {
        let _ = encoded(&v);
    }
    for (_, _, v) in decode_each::<TsQuery>(data, &[Oid::TSQUERY]) {
        let _ = encoded(&v);
    }
}

pub fn decode_misc(data: &[u8]) {
    // Extension types have per-database OIDs: any user-defined OID stands in.
    let user = [Oid(16_385)];
    value_round_trip::<HashMap<String, Option<String>>>(data, &user);
    let _ = decode_each::<Ltree>(data, &user);
    let _ = decode_each::<Lquery>(data, &user);
    let _ = decode_each::<Ltxtquery>(data, &user);
    value_round_trip::<Xml>(data, &[Oid::XML]);
    value_round_trip::<PgLsn>(data, &[Oid::PG_LSN]);
    let _ = decode_nullable_each::<PgValue>(data, &[Oid::UNKNOWN, Oid(16_385)]);
}
