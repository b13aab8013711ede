//! Connection strings: `postgres://` URIs and `keyword=value` strings, read as libpq
//! reads them, into `(keyword, value)` pairs in the order written (later pairs win).
//!
//! Error messages never contain a password: values of secret keywords are never
//! echoed, and text that may be a stray piece of a password is not shown either.

use super::keyword::{Keyword, parse_port};
use crate::Error;

/// Parses a URI or a keyword/value string.
pub(crate) fn parse(s: &str) -> Result<Vec<(Keyword, String)>, Error> {
    for prefix in ["postgresql://", "postgres://"] {
        if let Some(rest) = s.strip_prefix(prefix) {
            return parse_uri(rest, prefix.len());
        }
    }
    // A URI with a scheme we do not know: say so instead of libpq's
    // `missing "=" after "postgre://"`, and do not echo the rest (it may hold a password).
    if let Some(colon) = s.find("://") {
        let scheme = &s[..colon];
        if !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            return Err(Error::config(format!(
                "unsupported URI scheme \"{scheme}\": use postgres:// or postgresql://"
            )));
        }
    }
    parse_keyword_value(s)
}

// ---------------------------------------------------------------------------------------
// URIs

/// Parses what follows `postgres://`. `offset` is the prefix length, for error positions.
fn parse_uri(rest: &str, offset: usize) -> Result<Vec<(Keyword, String)>, Error> {
    let mut pairs = Vec::new();

    // The authority (user info and hosts) ends at the first '/' or '?'. libpq looks for
    // '@' up to the first '/' only; stopping at '?' as well keeps an '@' inside a query
    // value from being taken as the end of a user name.
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];

    // The last '@' ends the user info, so an unencoded '@' in a password still works.
    let (hosts, hosts_offset) = match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            let (user, password) = match userinfo.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (userinfo, None),
            };
            let user = decode(user, "user name")?;
            if !user.is_empty() {
                pairs.push((Keyword::User, user));
            }
            if let Some(password) = password {
                let password = decode_secret(password, "password")?;
                if !password.is_empty() {
                    pairs.push((Keyword::Password, password));
                }
            }
            (&authority[at + 1..], offset + at + 1)
        }
        None => (authority, offset),
    };
    let (host_list, port_list) = parse_host_list(hosts, hosts_offset)?;
    if !host_list.is_empty() {
        pairs.push((Keyword::Host, decode(&host_list, "host")?));
    }
    if !port_list.is_empty() {
        let ports = decode(&port_list, "port")?;
        // A port that is not a number here is most often a password with an unencoded
        // '/', '?' or '#' cut in two; do not echo it.
        if ports
            .split(',')
            .any(|p| !p.is_empty() && parse_port(p).is_err())
        {
            return Err(Error::config(
                "invalid port number in URI (value not shown; if the password contains \
                 '/', '?', '#' or '@', percent-encode them)",
            ));
        }
        pairs.push((Keyword::Port, ports));
    }

    let mut tail = &rest[authority_end..];
    if let Some(path) = tail.strip_prefix('/') {
        let end = path.find('?').unwrap_or(path.len());
        let dbname = decode(&path[..end], "database name")?;
        // An empty path leaves dbname unset, so PGDATABASE still applies.
        if !dbname.is_empty() {
            pairs.push((Keyword::DbName, dbname));
        }
        tail = &path[end..];
    }
    if let Some(query) = tail.strip_prefix('?') {
        parse_query(query, &mut pairs)?;
    }
    Ok(pairs)
}

/// Splits `h1:p1,[::1]:p2,h3` into libpq's comma lists `h1,::1,h3` and `p1,p2,`.
/// Both are still percent-encoded. As in libpq the port list keeps its commas even
/// when no port is given (`h1,h2` gives ports `,`), so several hosts without ports
/// use 5432 rather than `PGPORT`.
fn parse_host_list(s: &str, offset: usize) -> Result<(String, String), Error> {
    let mut hosts = String::new();
    let mut ports = String::new();
    let mut pos = 0;
    loop {
        let entry = &s[pos..];
        let (host, after) = if let Some(v6) = entry.strip_prefix('[') {
            let close = v6.find(']').ok_or_else(|| {
                Error::config(
                    "end of string reached when looking for matching \"]\" in IPv6 host address in URI",
                )
            })?;
            if close == 0 {
                return Err(Error::config("IPv6 host address may not be empty in URI"));
            }
            let after = &v6[close + 1..];
            if let Some(c) = after.chars().next().filter(|c| *c != ':' && *c != ',') {
                return Err(Error::config(format!(
                    "unexpected character \"{c}\" at position {} in URI (expected \":\" or \"/\")",
                    offset + pos + close + 3
                )));
            }
            (&v6[..close], after)
        } else {
            let end = entry.find([':', ',']).unwrap_or(entry.len());
            (&entry[..end], &entry[end..])
        };
        hosts.push_str(host);
        let after = match after.strip_prefix(':') {
            Some(port_and_more) => {
                let end = port_and_more.find(',').unwrap_or(port_and_more.len());
                ports.push_str(&port_and_more[..end]);
                &port_and_more[end..]
            }
            None => after,
        };
        match after.strip_prefix(',') {
            Some(next) => {
                hosts.push(',');
                ports.push(',');
                pos = s.len() - next.len();
            }
            None => break,
        }
    }
    Ok((hosts, ports))
}

fn parse_query(query: &str, pairs: &mut Vec<(Keyword, String)>) -> Result<(), Error> {
    if query.is_empty() {
        return Ok(());
    }
    let params: Vec<&str> = query.split('&').collect();
    let last = params.len() - 1;
    for (i, param) in params.into_iter().enumerate() {
        // libpq accepts one trailing '&'.
        if param.is_empty() && i == last {
            break;
        }
        // A password with an unencoded '&' leaves its second half here: after a secret,
        // an error must not show the parameter.
        let after_secret = pairs.last().is_some_and(|(k, _)| k.is_secret());
        match parse_param(param) {
            Ok(pair) => pairs.push(pair),
            Err(_) if after_secret => {
                return Err(Error::config(
                    "invalid URI query parameter after a password (not shown: it may be part \
                     of the password; percent-encode '&' and '=' in passwords)",
                ));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn parse_param(param: &str) -> Result<(Keyword, String), Error> {
    let mut parts = param.splitn(3, '=');
    let raw_key = parts.next().unwrap_or_default();
    let key = percent_decode(raw_key).map_err(|_| {
        Error::config("invalid percent-encoding in a URI query parameter name (not shown)")
    })?;
    let Some(raw_value) = parts.next() else {
        return Err(Error::config(format!(
            "missing key/value separator \"=\" in URI query parameter: \"{}\"",
            shown_key(&key)
        )));
    };
    if parts.next().is_some() {
        return Err(Error::config(format!(
            "extra key/value separator \"=\" in URI query parameter: \"{}\"",
            shown_key(&key)
        )));
    }
    // JDBC compatibility, as in libpq.
    if key == "ssl" && raw_value == "true" {
        return Ok((Keyword::SslMode, "require".to_owned()));
    }
    let keyword = Keyword::from_name(&key)?;
    let value = if keyword.is_secret() {
        decode_secret(raw_value, keyword.name())?
    } else {
        decode(raw_value, keyword.name())?
    };
    Ok((keyword, value))
}

/// A query key for an error message: a known keyword name, else not shown (a lone
/// `?secret` may be a misplaced password).
fn shown_key(key: &str) -> &str {
    if Keyword::from_name(key).is_ok() {
        key
    } else {
        "(not shown)"
    }
}

/// Percent-decodes a URI component as libpq does: `%` must be followed by two hex
/// digits, `%00` is forbidden, and `+` is not a space.
fn decode(s: &str, what: &str) -> Result<String, Error> {
    percent_decode(s).map_err(|e| match e {
        DecodeError::BadEscape => Error::config(format!("invalid percent-encoded token: \"{s}\"")),
        DecodeError::Nul => Error::config(format!(
            "forbidden value %00 in percent-encoded value: \"{s}\""
        )),
        DecodeError::NotUtf8 => Error::config(format!("the decoded {what} is not valid UTF-8")),
    })
}

/// Like [`decode`] but the error never contains the text.
fn decode_secret(s: &str, what: &str) -> Result<String, Error> {
    percent_decode(s).map_err(|e| {
        let why = match e {
            DecodeError::BadEscape => "an invalid percent-encoded token",
            DecodeError::Nul => "the forbidden value %00",
            DecodeError::NotUtf8 => "bytes that are not valid UTF-8 after decoding",
        };
        Error::config(format!(
            "the {what} in the URI contains {why} (value not shown)"
        ))
    })
}

enum DecodeError {
    BadEscape,
    Nul,
    NotUtf8,
}

fn percent_decode(s: &str) -> Result<String, DecodeError> {
    if !s.contains('%') {
        return Ok(s.to_owned());
    }
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b != b'%' {
            out.push(b);
            continue;
        }
        let hi = bytes.next().and_then(hex).ok_or(DecodeError::BadEscape)?;
        let lo = bytes.next().and_then(hex).ok_or(DecodeError::BadEscape)?;
        let byte = (hi << 4) | lo;
        if byte == 0 {
            return Err(DecodeError::Nul);
        }
        out.push(byte);
    }
    String::from_utf8(out).map_err(|_| DecodeError::NotUtf8)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// keyword=value strings

/// Parses `host=a port=5432 dbname='my db' password='it\'s'` as libpq's
/// `conninfo_parse` does: whitespace around `=` is allowed, values may be single-quoted,
/// and a backslash takes the next character literally (quoted or not).
fn parse_keyword_value(s: &str) -> Result<Vec<(Keyword, String)>, Error> {
    let mut pairs: Vec<(Keyword, String)> = Vec::new();
    let mut chars = s.char_indices().peekable();
    loop {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let Some(&(start, _)) = chars.peek() else {
            break;
        };
        // An unquoted value that held a space leaves its second half here; if the value
        // was a password, none of what follows may be echoed.
        let after_secret = pairs.last().is_some_and(|(k, _)| k.is_secret());

        let mut end = s.len();
        while let Some(&(i, c)) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                end = i;
                break;
            }
            chars.next();
        }
        let name = &s[start..end];
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        if chars.next_if(|(_, c)| *c == '=').is_none() {
            let shown = Keyword::from_name(name).is_ok() && !after_secret;
            return Err(Error::config(if shown {
                format!("missing \"=\" after \"{name}\" in connection info string")
            } else {
                format!(
                    "missing \"=\" after the word at byte {start} in connection info string \
                     (word not shown: it may be part of a value; quote values that contain \
                     spaces with single quotes)"
                )
            }));
        }
        let keyword = match Keyword::from_name(name) {
            Ok(k) => k,
            Err(e) if !after_secret => return Err(e),
            Err(_) => {
                return Err(Error::config(format!(
                    "invalid connection option at byte {start} (not shown: it follows a password \
                     and may be part of it; quote values that contain spaces with single quotes)"
                )));
            }
        };
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}

        let mut value = String::new();
        if chars.next_if(|(_, c)| *c == '\'').is_some() {
            loop {
                match chars.next() {
                    None => {
                        return Err(Error::config(
                            "unterminated quoted string in connection info string",
                        ));
                    }
                    Some((_, '\\')) => {
                        if let Some((_, c)) = chars.next() {
                            value.push(c);
                        }
                    }
                    Some((_, '\'')) => break,
                    Some((_, c)) => value.push(c),
                }
            }
        } else {
            while let Some((_, c)) = chars.next_if(|(_, c)| !c.is_whitespace()) {
                if c == '\\' {
                    if let Some((_, next)) = chars.next() {
                        value.push(next);
                    }
                } else {
                    value.push(c);
                }
            }
        }
        pairs.push((keyword, value));
    }
    Ok(pairs)
}
