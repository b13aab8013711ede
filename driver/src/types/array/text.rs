//! The text form of arrays: the literal parser (as `array_in` reads) and
//! writer (as `array_out` writes).

use std::borrow::Cow;
use std::fmt;

use super::super::{DecodeError, Oid, Type, TypeRef};
use super::{Array, MAX_DIMS, check_shape};

/// An array literal split into its shape and (unescaped) element texts.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct TextArray<'a> {
    pub(crate) dims: Vec<usize>,
    pub(crate) lower_bounds: Vec<i32>,
    /// Element texts in row-major order; `None` is NULL.
    pub(crate) elements: Vec<Option<Cow<'a, str>>>,
}

pub(super) fn is_array_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn malformed(text: &str, detail: impl fmt::Display) -> DecodeError {
    const SHOWN: usize = 64;
    let shown = if text.len() > SHOWN {
        let mut end = SHOWN;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...", &text[..end])
    } else {
        text.to_owned()
    };
    DecodeError::new(format!("malformed array literal {shown:?}: {detail}"))
}

/// Parses `[lo:hi][lo:hi]=` (the part before `=`); returns (sizes, lower bounds, rest).
fn parse_dim_prefix(text: &str) -> Result<(Vec<usize>, Vec<i32>, &str), DecodeError> {
    let mut dims = Vec::new();
    let mut lbs = Vec::new();
    let mut rest = text.trim_start_matches(|c: char| u8::try_from(c).is_ok_and(is_array_space));
    while let Some(after) = rest.strip_prefix('[') {
        if dims.len() == MAX_DIMS {
            return Err(malformed(
                text,
                format_args!("more than {MAX_DIMS} dimensions"),
            ));
        }
        let close = after
            .find(']')
            .ok_or_else(|| malformed(text, "missing \"]\" in array dimensions"))?;
        let spec = &after[..close];
        let parse = |s: &str| -> Result<i32, DecodeError> {
            s.trim()
                .parse::<i32>()
                .map_err(|_| malformed(text, format_args!("bad array bound {s:?}")))
        };
        let (lo, hi) = match spec.split_once(':') {
            Some((lo, hi)) => (parse(lo)?, parse(hi)?),
            None => (1, parse(spec)?),
        };
        let size = i64::from(hi) - i64::from(lo) + 1;
        let size = usize::try_from(size).map_err(|_| {
            malformed(
                text,
                format_args!("upper bound {hi} is below lower bound {lo}"),
            )
        })?;
        dims.push(size);
        lbs.push(lo);
        rest = after[close + 1..]
            .trim_start_matches(|c: char| u8::try_from(c).is_ok_and(is_array_space));
    }
    if !dims.is_empty() {
        rest = rest
            .strip_prefix('=')
            .ok_or_else(|| malformed(text, "missing \"=\" after array dimensions"))?;
    }
    Ok((dims, lbs, rest))
}

/// Parses an array literal as `array_out` writes it (and as `array_in` reads it):
/// nested braces, `delim`-separated elements, `"quoted"` elements with `\`
/// escapes, unquoted `NULL`, and an optional `[lo:hi]=` dimension prefix.
pub(crate) fn parse_text_array(text: &str, delim: u8) -> Result<TextArray<'_>, DecodeError> {
    #[derive(PartialEq, Eq, Clone, Copy)]
    enum Expect {
        /// Just after `{`: an item or `}`.
        ItemOrClose,
        /// After a delimiter: an item.
        Item,
        /// After an item: a delimiter or `}`.
        DelimOrClose,
    }

    let (prefix_dims, prefix_lbs, body) = parse_dim_prefix(text)?;
    let bytes = body.as_bytes();
    let mut pos = 0usize;
    let skip_space = |pos: &mut usize| {
        while bytes.get(*pos).is_some_and(|&b| is_array_space(b)) {
            *pos += 1;
        }
    };
    skip_space(&mut pos);
    if bytes.get(pos) != Some(&b'{') {
        return Err(malformed(text, "array value must start with \"{\""));
    }
    pos += 1;

    // counts[d] = items so far in the open sub-array at depth d (1-based).
    let mut counts = [0usize; MAX_DIMS + 1];
    let mut sizes: [Option<usize>; MAX_DIMS] = [None; MAX_DIMS];
    let mut depth = 1usize;
    // The depth at which elements (not sub-arrays) appear.
    let mut elem_depth: Option<usize> = None;
    let mut expect = Expect::ItemOrClose;
    let mut elements: Vec<Option<Cow<'_, str>>> = Vec::new();

    while depth > 0 {
        skip_space(&mut pos);
        let Some(&b) = bytes.get(pos) else {
            return Err(malformed(text, "unexpected end of input"));
        };
        match b {
            b'{' => {
                if expect == Expect::DelimOrClose {
                    return Err(malformed(text, "unexpected \"{\""));
                }
                if elem_depth.is_some_and(|d| depth >= d) {
                    return Err(malformed(
                        text,
                        "multidimensional arrays must have sub-arrays with matching dimensions",
                    ));
                }
                if depth == MAX_DIMS {
                    return Err(malformed(
                        text,
                        format_args!("more than {MAX_DIMS} dimensions"),
                    ));
                }
                depth += 1;
                counts[depth] = 0;
                expect = Expect::ItemOrClose;
                pos += 1;
            }
            b'}' => {
                if expect == Expect::Item {
                    return Err(malformed(text, "unexpected \"}\" after a delimiter"));
                }
                let n = counts[depth];
                if n == 0 && !(depth == 1 && elem_depth.is_none()) {
                    return Err(malformed(text, "unexpected \"}\": empty sub-array"));
                }
                if n > 0 {
                    match sizes[depth - 1] {
                        Some(size) if size != n => {
                            return Err(malformed(
                                text,
                                "multidimensional arrays must have sub-arrays with matching \
                                 dimensions",
                            ));
                        }
                        _ => sizes[depth - 1] = Some(n),
                    }
                }
                depth -= 1;
                if depth > 0 {
                    counts[depth] += 1;
                }
                expect = Expect::DelimOrClose;
                pos += 1;
            }
            b if b == delim => {
                if expect != Expect::DelimOrClose {
                    return Err(malformed(
                        text,
                        format_args!("unexpected {:?}", char::from(delim)),
                    ));
                }
                expect = Expect::Item;
                pos += 1;
            }
            _ => {
                if expect == Expect::DelimOrClose {
                    return Err(malformed(text, "expected a delimiter or \"}\""));
                }
                match elem_depth {
                    None => elem_depth = Some(depth),
                    Some(d) if d != depth => {
                        return Err(malformed(
                            text,
                            "multidimensional arrays must have sub-arrays with matching \
                             dimensions",
                        ));
                    }
                    Some(_) => {}
                }
                let (elem, next) = parse_element(text, body, pos, delim)?;
                elements.push(elem);
                pos = next;
                counts[depth] += 1;
                expect = Expect::DelimOrClose;
            }
        }
    }
    skip_space(&mut pos);
    if pos != bytes.len() {
        return Err(malformed(text, "junk after closing right brace"));
    }

    let ndim = elem_depth.unwrap_or(0);
    let dims: Vec<usize> = sizes[..ndim].iter().map(|s| s.unwrap_or(0)).collect();
    let lower_bounds = if prefix_dims.is_empty() {
        vec![1; ndim]
    } else {
        if prefix_dims != dims {
            return Err(malformed(
                text,
                "specified array dimensions do not match array contents",
            ));
        }
        prefix_lbs
    };
    check_shape(&dims, &lower_bounds).map_err(|m| malformed(text, m))?;
    Ok(TextArray {
        dims,
        lower_bounds,
        elements,
    })
}

/// Parses one element starting at `pos`; returns it and the position after it.
fn parse_element<'a>(
    text: &str,
    body: &'a str,
    mut pos: usize,
    delim: u8,
) -> Result<(Option<Cow<'a, str>>, usize), DecodeError> {
    let bytes = body.as_bytes();
    if bytes.get(pos) == Some(&b'"') {
        pos += 1;
        let start = pos;
        let mut owned: Option<String> = None;
        let mut run_start = start;
        loop {
            match bytes.get(pos) {
                None => return Err(malformed(text, "unterminated quoted string")),
                Some(b'"') => {
                    let value = match owned {
                        Some(mut s) => {
                            s.push_str(&body[run_start..pos]);
                            Cow::Owned(s)
                        }
                        None => Cow::Borrowed(&body[start..pos]),
                    };
                    return Ok((Some(value), pos + 1));
                }
                Some(b'\\') => {
                    let s = owned.get_or_insert_with(String::new);
                    s.push_str(&body[run_start..pos]);
                    pos += 1;
                    if pos >= bytes.len() {
                        return Err(malformed(text, "unexpected end of input after \"\\\""));
                    }
                    // The escaped character may be multi-byte: copy it whole.
                    run_start = pos;
                    pos += utf8_len(bytes[pos]);
                }
                Some(_) => pos += 1,
            }
        }
    }
    // Unquoted: up to the delimiter or `}`; `\` escapes; trailing space trimmed.
    let start = pos;
    let mut owned: Option<String> = None;
    let mut run_start = start;
    // End of the value so far, excluding trailing unescaped whitespace.
    let mut end = start;
    let mut escaped_any = false;
    loop {
        match bytes.get(pos) {
            None => return Err(malformed(text, "unexpected end of input")),
            Some(&b) if b == delim || b == b'}' => break,
            Some(b'{') | Some(b'"') => {
                return Err(malformed(text, "unexpected character in unquoted element"));
            }
            Some(b'\\') => {
                escaped_any = true;
                let s = owned.get_or_insert_with(String::new);
                s.push_str(&body[run_start..pos]);
                pos += 1;
                if pos >= bytes.len() {
                    return Err(malformed(text, "unexpected end of input after \"\\\""));
                }
                run_start = pos;
                pos += utf8_len(bytes[pos]);
                s.push_str(&body[run_start..pos]);
                run_start = pos;
                end = s.len();
            }
            Some(&b) => {
                pos += 1;
                if !is_array_space(b) {
                    match &owned {
                        // Position in the owned string once the current run is appended.
                        Some(s) => end = s.len() + (pos - run_start),
                        None => end = pos,
                    }
                }
            }
        }
    }
    let value: Cow<'a, str> = match owned {
        Some(mut s) => {
            s.push_str(&body[run_start..pos]);
            s.truncate(end);
            Cow::Owned(s)
        }
        None => Cow::Borrowed(&body[start..end]),
    };
    if value.is_empty() && !escaped_any {
        return Err(malformed(text, "empty unquoted element"));
    }
    if !escaped_any && value.eq_ignore_ascii_case("NULL") {
        return Ok((None, pos));
    }
    Ok((Some(value), pos))
}

/// Length of the UTF-8 sequence starting with `b` (1 for continuation bytes,
/// which a `&str` never starts a character with).
fn utf8_len(b: u8) -> usize {
    match b {
        0xf0..=0xff => 4,
        0xe0..=0xef => 3,
        0xc0..=0xdf => 2,
        _ => 1,
    }
}

/// The delimiter `array_out` uses between elements of type `elem` (`;` for box).
pub(super) fn delimiter(elem: Oid) -> u8 {
    if elem == Oid::BOX { b';' } else { b',' }
}

impl<T: fmt::Display + Type> Array<T> {
    /// Writes the array in PostgreSQL's text form.
    pub(super) fn write_text(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.elements.is_empty() {
            return f.write_str("{}");
        }
        if self.lower_bounds.iter().any(|&lb| lb != 1) {
            for (&len, &lb) in self.dims.iter().zip(&self.lower_bounds) {
                // check_shape guarantees the upper bound fits in an i32.
                let hi = i64::from(lb) + i64::try_from(len).unwrap_or(0) - 1;
                write!(f, "[{lb}:{hi}]")?;
            }
            f.write_str("=")?;
        }
        let delim = match T::type_ref() {
            TypeRef::Oid(oid) => char::from(delimiter(oid)),
            _ => ',',
        };
        let ndim = self.dims.len();
        for _ in 0..ndim {
            f.write_str("{")?;
        }
        for (i, elem) in self.elements.iter().enumerate() {
            if i > 0 {
                // Every dimension whose sub-array ends here closes and reopens.
                let mut stride = 1usize;
                let mut wraps = 0;
                for &len in self.dims.iter().rev().take(ndim.saturating_sub(1)) {
                    stride = stride.saturating_mul(len);
                    if i % stride != 0 {
                        break;
                    }
                    wraps += 1;
                }
                for _ in 0..wraps {
                    f.write_str("}")?;
                }
                write!(f, "{delim}")?;
                for _ in 0..wraps {
                    f.write_str("{")?;
                }
            }
            write_array_element(f, &elem.to_string(), delim)?;
        }
        for _ in 0..ndim {
            f.write_str("}")?;
        }
        Ok(())
    }
}

/// Writes one element as `array_out` does: quoted when it is empty, `NULL`
/// (any case), or contains the delimiter, a brace, quote, backslash or whitespace.
fn write_array_element(f: &mut fmt::Formatter<'_>, s: &str, delim: char) -> fmt::Result {
    let needs_quotes = s.is_empty()
        || s.eq_ignore_ascii_case("NULL")
        || s.chars().any(|c| {
            c == delim
                || matches!(c, '{' | '}' | '"' | '\\')
                || (u8::try_from(c).is_ok_and(is_array_space))
        });
    if !needs_quotes {
        return f.write_str(s);
    }
    f.write_str("\"")?;
    for c in s.chars() {
        if c == '"' || c == '\\' {
            f.write_str("\\")?;
        }
        write!(f, "{c}")?;
    }
    f.write_str("\"")
}

/// The PostgreSQL text form (`{{1,2},{3,4}}`, `[0:1]={7,8}`), built from each
/// element's `Display`. It matches `array_out` when the elements' `Display`
/// matches their PostgreSQL output.
#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Array literals and what `array_in` makes of them (checked against PostgreSQL 15.18:
    /// `SELECT $q$<literal>$q$::text[]`); `None` means the server rejects the literal.
    pub(crate) const TEXT_LITERALS: &[(&str, Option<&[Option<&str>]>)] = &[
        ("{}", Some(&[])),
        ("  { 1 , 2 }  ", Some(&[Some("1"), Some("2")])),
        (
            "{ \"a\" , b  c , d\\,e, NULL, \"NULL\", null}",
            Some(&[
                Some("a"),
                Some("b  c"),
                Some("d,e"),
                None,
                Some("NULL"),
                None,
            ]),
        ),
        ("{a\\ ,\\ b}", Some(&[Some("a "), Some(" b")])),
        ("{\"\"}", Some(&[Some("")])),
        ("{\\N\\U\\L\\L}", Some(&[Some("NULL")])),
        ("{é\\é}", Some(&[Some("éé")])),
        ("[2:3]={x,y}", Some(&[Some("x"), Some("y")])),
        ("[2]={x,y}", Some(&[Some("x"), Some("y")])),
        ("{\"a\\\"b\\\\c\"}", Some(&[Some("a\"b\\c")])),
        ("{{},{}}", None),
        ("{a,,b}", None),
        ("{a,}", None),
        ("{,a}", None),
        ("{{a},b}", None),
        ("{a,{b}}", None),
        ("{{a,b},{c}}", None),
        ("{a} x", None),
        ("{\"a}", None),
        ("{a", None),
        ("a", None),
        ("{a\"b}", None),
        ("[1:2]={a}", None),
        ("[2:1]={}", None),
        ("{{{{{{{a}}}}}}}", None),
    ];

    #[test]
    fn text_literals_parse_like_array_in() {
        for &(literal, want) in TEXT_LITERALS {
            let got = parse_text_array(literal, b',');
            match want {
                Some(want) => {
                    let got = got.unwrap_or_else(|e| panic!("{literal}: {e}"));
                    let got: Vec<Option<&str>> =
                        got.elements.iter().map(|e| e.as_deref()).collect();
                    assert_eq!(got, want, "{literal}");
                }
                None => assert!(got.is_err(), "{literal} should be rejected: {got:?}"),
            }
        }
        let two = parse_text_array("[2:3]={x,y}", b',').unwrap();
        assert_eq!((two.dims, two.lower_bounds), (vec![2], vec![2]));
        let six = parse_text_array("{{{{{{a}}}}}}", b',').unwrap();
        assert_eq!(six.dims, vec![1; 6]);
    }

    proptest! {
        #[test]
        fn random_literals_never_panic(s in "[{}\",\\\\ a-cN1\\[\\]:=é-]{0,40}") {
            let _ = parse_text_array(&s, b',');
        }

    }
}
