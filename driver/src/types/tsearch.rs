//! Full-text search types as their text: [`TsVector`] (`tsvector`) and
//! [`TsQuery`] (`tsquery`). The text is exactly what PostgreSQL's `::text`
//! shows, whichever format the value arrived in.
//!
//! `tsvector` binary format (`tsvectorsend`, `src/backend/utils/adt/tsvector.c`):
//! lexeme count i32; per lexeme its text NUL-terminated, a position count
//! u16, and the positions as u16 (low 14 bits the position, high 2 bits the
//! weight: 3 = A, 2 = B, 1 = C, 0 = D).
//!
//! `tsquery` binary format (`tsquerysend`, `tsquery.c`): item count i32, then
//! the items in prefix order, each operator followed by its right operand and
//! then its left: an operand is type 1, weight bitmask u8 (8 = A, 4 = B,
//! 2 = C, 1 = D), prefix flag u8, text NUL-terminated; an operator is type
//! 2, operator u8 (1 `!`, 2 `&`, 3 `|`, 4 `<->`), and for `<->` a distance i16.
//!
//! Encoding parses the text the way `tsvectorin`/`tsqueryin` do (without a
//! text search configuration: lexemes are taken as written) and sends the
//! binary form; the server's `::text` of the result is the normalized text.
//! Decoding never recurses, so a deeply nested query cannot overflow the stack.

use std::collections::BTreeMap;
use std::fmt;
use std::fmt::Write as _;

use super::bounded::{Reader, wire_len};
use super::{
    Decode, DecodeError, Encode, EncodeBuf, EncodeError, Format, IsNull, Oid, Type, TypeRef,
    ValueRef,
};

/// Longest lexeme or operand, in bytes (`MAXSTRLEN`).
const MAX_LEXEME: usize = (1 << 11) - 1;
/// Largest total of lexeme bytes in a `tsvector` (`MAXSTRPOS`).
const MAX_TOTAL: usize = (1 << 20) - 1;
/// Most positions kept per lexeme (`MAXNUMPOS`).
const MAX_POSITIONS: usize = 256;
/// Largest position (`MAXENTRYPOS - 1`); larger ones are clamped, as `tsvectorin` does.
const MAX_POSITION: u16 = (1 << 14) - 1;
/// Largest `<N>` phrase distance (`MAXENTRYPOS`).
const MAX_DISTANCE: i16 = 1 << 14;

/// A `tsvector` in PostgreSQL's text form: `'a':1A 'cat' 'fat':2,4`.
///
/// Reading gives the server's `::text` rendering. Sending parses the text
/// (quoted or bare lexemes, `:positions` with weights A-D) and normalizes it
/// as `tsvectorin` does: lexemes sorted and merged, positions sorted and
/// de-duplicated. No stemming happens: use `to_tsvector` in SQL for that.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct TsVector(pub String);

/// A `tsquery` in PostgreSQL's text form: `'fat' & ( 'rat' | !'cat' ) <-> 'dog':*A`.
///
/// Reading gives the server's `::text` rendering. Sending parses the text
/// (operands quoted or bare, with `:*` prefix and `ABCD` weight marks;
/// `!`, `<->`, `<N>`, `&`, `|` from tightest to loosest; parentheses) as
/// `tsqueryin` does. No stemming happens: use `to_tsquery` in SQL for that.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct TsQuery(pub String);

macro_rules! text_newtype {
    ($name:ident) => {
        impl $name {
            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                $name(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.to_owned())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_newtype!(TsVector);
text_newtype!(TsQuery);

fn utf8(bytes: &[u8], what: &str) -> Result<String, DecodeError> {
    String::from_utf8(bytes.to_vec())
        .map_err(|_| DecodeError::new(format!("invalid {what} value: text is not UTF-8")))
}

/// Writes `'text'` with `'` and `\` doubled, as `tsvectorout`/`tsqueryout` do.
fn write_quoted(out: &mut String, text: &str) {
    out.push('\'');
    for c in text.chars() {
        if c == '\'' || c == '\\' {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
}

// --- tsvector: binary -> text ----------------------------------------------------------

fn render_tsvector(bytes: &[u8]) -> Result<String, DecodeError> {
    let mut r = Reader::new(bytes, "tsvector");
    // Each lexeme takes at least its NUL and position count.
    let count = r.count("lexemes", 3)?;
    let mut out = String::new();
    for i in 0..count {
        if i > 0 {
            out.push(' ');
        }
        let lexeme = utf8(r.cstr()?, "tsvector")?;
        write_quoted(&mut out, &lexeme);
        let npos = usize::from(r.u16()?);
        r.check_fits(npos, "positions", 2)?;
        for j in 0..npos {
            out.push(if j == 0 { ':' } else { ',' });
            let pos = r.u16()?;
            // Writing to a String cannot fail.
            let _ = write!(out, "{}", pos & MAX_POSITION);
            match pos >> 14 {
                3 => out.push('A'),
                2 => out.push('B'),
                1 => out.push('C'),
                _ => {}
            }
        }
    }
    r.finish()?;
    Ok(out)
}

// --- tsvector: text -> binary ----------------------------------------------------------

fn is_space(b: u8) -> bool {
    b.is_ascii_whitespace()
}

/// A cursor over query or vector text, with the errors both parsers share.
struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str, what: &'static str) -> Scanner<'a> {
        Scanner {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            what,
        }
    }

    fn error(&self, detail: &str) -> EncodeError {
        let shown: String = self.text.chars().take(64).collect();
        EncodeError::new(format!(
            "syntax error in {} {shown:?} at byte {}: {detail}",
            self.what, self.pos
        ))
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(is_space) {
            self.pos += 1;
        }
    }

    /// A quoted (`'...'`, `''` a quote, `\` escapes) or bare word (up to
    /// whitespace or a byte in `stops`; `\` escapes).
    fn word(&mut self, stops: &[u8]) -> Result<String, EncodeError> {
        let mut out = Vec::new();
        if self.peek() == Some(b'\'') {
            self.pos += 1;
            loop {
                match self.peek() {
                    None => return Err(self.error("unterminated quoted string")),
                    Some(b'\'') if self.bytes.get(self.pos + 1) == Some(&b'\'') => {
                        out.push(b'\'');
                        self.pos += 2;
                    }
                    Some(b'\'') => {
                        self.pos += 1;
                        break;
                    }
                    Some(b'\\') => {
                        let next = self.bytes.get(self.pos + 1).copied();
                        out.push(next.ok_or_else(|| self.error("unexpected end after \"\\\""))?);
                        self.pos += 2;
                    }
                    Some(b) => {
                        out.push(b);
                        self.pos += 1;
                    }
                }
            }
        } else {
            while let Some(b) = self.peek() {
                if is_space(b) || stops.contains(&b) {
                    break;
                }
                if b == b'\\' {
                    let next = self.bytes.get(self.pos + 1).copied();
                    out.push(next.ok_or_else(|| self.error("unexpected end after \"\\\""))?);
                    self.pos += 2;
                } else {
                    out.push(b);
                    self.pos += 1;
                }
            }
        }
        if out.is_empty() {
            return Err(self.error("empty word"));
        }
        if out.len() > MAX_LEXEME {
            return Err(self.error(&format!(
                "word is too long ({} bytes, at most {MAX_LEXEME})",
                out.len()
            )));
        }
        // Only ASCII bytes were dropped from valid UTF-8, so this holds.
        String::from_utf8(out).map_err(|_| self.error("invalid UTF-8"))
    }

    fn number(&mut self) -> Result<u32, EncodeError> {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        self.text
            .get(start..self.pos)
            .and_then(|s| s.parse::<u32>().ok())
            .ok_or_else(|| self.error("expected a number"))
    }
}

/// Parses tsvector text into lexeme -> positions (weight in the high bits),
/// normalized as `tsvectorin` does.
fn parse_tsvector(text: &str) -> Result<BTreeMap<String, Vec<u16>>, EncodeError> {
    let mut s = Scanner::new(text, "tsvector");
    let mut lexemes: BTreeMap<String, Vec<u16>> = BTreeMap::new();
    loop {
        s.skip_space();
        if s.peek().is_none() {
            break;
        }
        let word = s.word(b":")?;
        let positions = lexemes.entry(word).or_default();
        if s.peek() == Some(b':') {
            s.pos += 1;
            loop {
                let pos = s.number()?;
                if pos == 0 {
                    return Err(s.error("positions start at 1"));
                }
                let pos = u16::try_from(pos).unwrap_or(u16::MAX).min(MAX_POSITION);
                let weight: u16 = match s.peek().map(|b| b.to_ascii_uppercase()) {
                    Some(b'A') => 3,
                    Some(b'B') => 2,
                    Some(b'C') => 1,
                    Some(b'D') => 0,
                    _ => 4,
                };
                // 4: no weight letter (weight D, nothing to consume).
                if weight < 4 {
                    s.pos += 1;
                }
                positions.push(pos | ((weight & 3) << 14));
                if s.peek() != Some(b',') {
                    break;
                }
                s.pos += 1;
            }
            if s.peek().is_some_and(|b| !is_space(b)) {
                return Err(s.error("unexpected character after positions"));
            }
        }
    }
    let total: usize = lexemes.keys().map(String::len).sum();
    if total > MAX_TOTAL {
        return Err(EncodeError::new(format!(
            "tsvector is too long ({total} bytes of lexemes, at most {MAX_TOTAL})"
        )));
    }
    for positions in lexemes.values_mut() {
        // Sort by position; a position given twice keeps its highest weight.
        positions.sort_by_key(|p| (p & MAX_POSITION, std::cmp::Reverse(p >> 14)));
        positions.dedup_by_key(|p| *p & MAX_POSITION);
        positions.truncate(MAX_POSITIONS);
    }
    Ok(lexemes)
}

fn encode_tsvector(text: &str, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
    if text.contains('\0') {
        return Err(EncodeError::new("tsvector text contains a NUL character"));
    }
    let lexemes = parse_tsvector(text)?;
    buf.extend_from_slice(&wire_len(lexemes.len(), "a tsvector")?.to_be_bytes());
    for (lexeme, positions) in &lexemes {
        buf.extend_from_slice(lexeme.as_bytes());
        buf.push(0);
        // At most MAX_POSITIONS (256) after truncation.
        let npos = u16::try_from(positions.len()).unwrap_or(u16::MAX);
        buf.extend_from_slice(&npos.to_be_bytes());
        for p in positions {
            buf.extend_from_slice(&p.to_be_bytes());
        }
    }
    Ok(IsNull::No)
}

// --- tsquery: the tree -----------------------------------------------------------------

const QI_VAL: u8 = 1;
const QI_OPR: u8 = 2;
const OP_NOT: u8 = 1;
const OP_AND: u8 = 2;
const OP_OR: u8 = 3;
const OP_PHRASE: u8 = 4;

/// A query node; children are indexes into the node list.
#[derive(Clone, Debug, PartialEq)]
enum Node {
    Operand {
        text: String,
        weight: u8,
        prefix: bool,
    },
    Not(usize),
    Binary {
        op: u8,
        distance: i16,
        left: usize,
        right: usize,
    },
}

/// `tsearch_op_priority`: `!` 4, `<->` 3, `&` 2, `|` 1.
fn priority(op: u8) -> i32 {
    match op {
        OP_NOT => 4,
        OP_PHRASE => 3,
        OP_AND => 2,
        _ => 1,
    }
}

/// Reads the binary items and builds the tree without recursion.
/// Returns the nodes and the root (None for the empty query).
fn read_tsquery(bytes: &[u8]) -> Result<(Vec<Node>, Option<usize>), DecodeError> {
    let mut r = Reader::new(bytes, "tsquery");
    // The smallest item (`!`) takes 2 bytes.
    let count = r.count("items", 2)?;
    // Items in the order sent: operator, right subtree, left subtree.
    let mut items = Vec::with_capacity(count);
    for _ in 0..count {
        let item = match r.u8()? {
            QI_VAL => {
                let weight = r.u8()?;
                let prefix = r.u8()? != 0;
                let text = utf8(r.cstr()?, "tsquery")?;
                if weight > 0xf {
                    return Err(r.error(format_args!("invalid weight bitmap {weight}")));
                }
                Node::Operand {
                    text,
                    weight,
                    prefix,
                }
            }
            QI_OPR => {
                let op = r.u8()?;
                match op {
                    OP_NOT => Node::Not(0),
                    OP_AND | OP_OR => Node::Binary {
                        op,
                        distance: 0,
                        left: 0,
                        right: 0,
                    },
                    OP_PHRASE => Node::Binary {
                        op,
                        distance: r.i16()?,
                        left: 0,
                        right: 0,
                    },
                    other => return Err(r.error(format_args!("unknown operator {other}"))),
                }
            }
            other => return Err(r.error(format_args!("unknown item type {other}"))),
        };
        items.push(item);
    }
    r.finish()?;
    // Reversed, the items are postfix with the left operand first.
    let malformed =
        || DecodeError::new("invalid tsquery value: operators and operands do not match");
    let mut stack: Vec<usize> = Vec::new();
    for i in (0..items.len()).rev() {
        match &mut items[i] {
            Node::Operand { .. } => {}
            Node::Not(child) => *child = stack.pop().ok_or_else(malformed)?,
            Node::Binary { left, right, .. } => {
                *right = stack.pop().ok_or_else(malformed)?;
                *left = stack.pop().ok_or_else(malformed)?;
            }
        }
        stack.push(i);
    }
    match stack.as_slice() {
        [] => Ok((items, None)),
        [root] => {
            let root = *root;
            Ok((items, Some(root)))
        }
        _ => Err(malformed()),
    }
}

/// Renders the tree as `tsqueryout`'s `infix` does, with an explicit stack.
fn render_tsquery(nodes: &[Node], root: Option<usize>) -> String {
    enum Task<'a> {
        Visit {
            node: usize,
            parent: i32,
            right_phrase: bool,
        },
        Text(&'a str),
        Distance(i16),
    }
    let mut out = String::new();
    let Some(root) = root else {
        return out;
    };
    let mut tasks = vec![Task::Visit {
        node: root,
        parent: -1,
        right_phrase: false,
    }];
    while let Some(task) = tasks.pop() {
        let (node, parent, right_phrase) = match task {
            Task::Text(t) => {
                out.push_str(t);
                continue;
            }
            Task::Distance(d) => {
                if d == 1 {
                    out.push_str(" <-> ");
                } else {
                    // Writing to a String cannot fail.
                    let _ = write!(out, " <{d}> ");
                }
                continue;
            }
            Task::Visit {
                node,
                parent,
                right_phrase,
            } => (node, parent, right_phrase),
        };
        // Children were linked by read_tsquery, so every index is in range.
        let Some(n) = nodes.get(node) else { continue };
        match n {
            Node::Operand {
                text,
                weight,
                prefix,
            } => {
                write_quoted(&mut out, text);
                if *weight != 0 || *prefix {
                    out.push(':');
                    if *prefix {
                        out.push('*');
                    }
                    for (bit, letter) in [(8, 'A'), (4, 'B'), (2, 'C'), (1, 'D')] {
                        if weight & bit != 0 {
                            out.push(letter);
                        }
                    }
                }
            }
            Node::Not(child) => {
                let p = priority(OP_NOT);
                let paren = p < parent;
                if paren {
                    out.push_str("( ");
                    tasks.push(Task::Text(" )"));
                }
                out.push('!');
                tasks.push(Task::Visit {
                    node: *child,
                    parent: p,
                    right_phrase: false,
                });
            }
            Node::Binary {
                op,
                distance,
                left,
                right,
            } => {
                let p = priority(*op);
                let paren = p < parent || (*op == OP_PHRASE && right_phrase);
                if paren {
                    out.push_str("( ");
                    tasks.push(Task::Text(" )"));
                }
                // Pushed in reverse: left, operator, right.
                tasks.push(Task::Visit {
                    node: *right,
                    parent: p,
                    right_phrase: *op == OP_PHRASE,
                });
                tasks.push(match *op {
                    OP_AND => Task::Text(" & "),
                    OP_OR => Task::Text(" | "),
                    _ => Task::Distance(*distance),
                });
                tasks.push(Task::Visit {
                    node: *left,
                    parent: p,
                    right_phrase: false,
                });
            }
        }
    }
    out
}

// --- tsquery: text -> binary -----------------------------------------------------------

/// Parses tsquery text with a shunting-yard (no recursion); returns the tree.
fn parse_tsquery(text: &str) -> Result<(Vec<Node>, Option<usize>), EncodeError> {
    enum Op {
        Paren,
        Not,
        Bin(u8, i16),
    }
    let mut s = Scanner::new(text, "tsquery");
    let mut nodes: Vec<Node> = Vec::new();
    let mut operands: Vec<usize> = Vec::new();
    let mut ops: Vec<Op> = Vec::new();
    let mut total = 0usize;

    // Moves the top operator into the tree.
    fn apply(op: Op, nodes: &mut Vec<Node>, operands: &mut Vec<usize>) -> Option<()> {
        let node = match op {
            Op::Paren => return None,
            Op::Not => Node::Not(operands.pop()?),
            Op::Bin(op, distance) => {
                let right = operands.pop()?;
                let left = operands.pop()?;
                Node::Binary {
                    op,
                    distance,
                    left,
                    right,
                }
            }
        };
        nodes.push(node);
        operands.push(nodes.len() - 1);
        Some(())
    }

    let mut expect_operand = true;
    loop {
        s.skip_space();
        let Some(b) = s.peek() else { break };
        if expect_operand {
            match b {
                b'!' => {
                    s.pos += 1;
                    ops.push(Op::Not);
                }
                b'(' => {
                    s.pos += 1;
                    ops.push(Op::Paren);
                }
                b'&' | b'|' | b')' | b'<' | b':' => return Err(s.error("expected an operand")),
                _ => {
                    let text = s.word(b"!&|()<:")?;
                    total = total.saturating_add(text.len());
                    let (mut weight, mut prefix) = (0u8, false);
                    if s.peek() == Some(b':') {
                        s.pos += 1;
                        while let Some(c) = s.peek() {
                            match c.to_ascii_uppercase() {
                                b'*' => prefix = true,
                                b'A' => weight |= 8,
                                b'B' => weight |= 4,
                                b'C' => weight |= 2,
                                b'D' => weight |= 1,
                                _ => break,
                            }
                            s.pos += 1;
                        }
                    }
                    nodes.push(Node::Operand {
                        text,
                        weight,
                        prefix,
                    });
                    operands.push(nodes.len() - 1);
                    expect_operand = false;
                }
            }
            continue;
        }
        let (op, distance) = match b {
            b')' => {
                s.pos += 1;
                loop {
                    match ops.pop() {
                        Some(Op::Paren) => break,
                        Some(op) => apply(op, &mut nodes, &mut operands)
                            .ok_or_else(|| s.error("malformed expression"))?,
                        None => return Err(s.error("unbalanced parenthesis")),
                    }
                }
                continue;
            }
            b'&' => {
                s.pos += 1;
                (OP_AND, 0)
            }
            b'|' => {
                s.pos += 1;
                (OP_OR, 0)
            }
            b'<' => {
                s.pos += 1;
                let distance = if s.peek() == Some(b'-') {
                    s.pos += 1;
                    1
                } else {
                    let n = s.number()?;
                    i16::try_from(n)
                        .ok()
                        .filter(|d| *d <= MAX_DISTANCE)
                        .ok_or_else(|| s.error("phrase distance must be between 0 and 16384"))?
                };
                if s.peek() != Some(b'>') {
                    return Err(s.error("expected \">\""));
                }
                s.pos += 1;
                (OP_PHRASE, distance)
            }
            _ => return Err(s.error("expected an operator")),
        };
        // Pop operators that bind at least as tightly (all binary operators are left-associative).
        while let Some(top) = ops.last() {
            let top_priority = match top {
                Op::Paren => break,
                Op::Not => priority(OP_NOT),
                Op::Bin(o, _) => priority(*o),
            };
            if top_priority < priority(op) {
                break;
            }
            let top = ops.pop().ok_or_else(|| s.error("malformed expression"))?;
            apply(top, &mut nodes, &mut operands).ok_or_else(|| s.error("malformed expression"))?;
        }
        ops.push(Op::Bin(op, distance));
        expect_operand = true;
    }
    if nodes.is_empty() && ops.is_empty() {
        return Ok((nodes, None));
    }
    if expect_operand {
        return Err(s.error("unexpected end of query"));
    }
    while let Some(op) = ops.pop() {
        apply(op, &mut nodes, &mut operands).ok_or_else(|| s.error("unbalanced parenthesis"))?;
    }
    if total > MAX_TOTAL {
        return Err(EncodeError::new("tsquery is too large"));
    }
    match operands.as_slice() {
        [root] => {
            let root = *root;
            Ok((nodes, Some(root)))
        }
        _ => Err(s.error("malformed expression")),
    }
}

fn encode_tsquery(text: &str, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
    if text.contains('\0') {
        return Err(EncodeError::new("tsquery text contains a NUL character"));
    }
    let (nodes, root) = parse_tsquery(text)?;
    if root.is_none() {
        // tsqueryrecv rejects zero items ("malformed tsquery: operand not found"),
        // although tsquerysend sends them: checked against PostgreSQL 15.
        return Err(EncodeError::new(
            "PostgreSQL cannot receive an empty tsquery in binary; send NULL or a query \
             with at least one operand",
        ));
    }
    buf.extend_from_slice(&wire_len(nodes.len(), "a tsquery")?.to_be_bytes());
    // Prefix order, right operand before left, without recursion.
    let mut stack: Vec<usize> = root.into_iter().collect();
    while let Some(i) = stack.pop() {
        let Some(node) = nodes.get(i) else { continue };
        match node {
            Node::Operand {
                text,
                weight,
                prefix,
            } => {
                buf.extend_from_slice(&[QI_VAL, *weight, u8::from(*prefix)]);
                buf.extend_from_slice(text.as_bytes());
                buf.push(0);
            }
            Node::Not(child) => {
                buf.extend_from_slice(&[QI_OPR, OP_NOT]);
                stack.push(*child);
            }
            Node::Binary {
                op,
                distance,
                left,
                right,
            } => {
                buf.extend_from_slice(&[QI_OPR, *op]);
                if *op == OP_PHRASE {
                    buf.extend_from_slice(&distance.to_be_bytes());
                }
                stack.push(*left);
                stack.push(*right);
            }
        }
    }
    Ok(IsNull::No)
}

// --- Trait impls -----------------------------------------------------------------------

impl Type for TsVector {
    fn type_ref() -> TypeRef {
        TypeRef::Oid(Oid::TSVECTOR)
    }
}

impl Encode for TsVector {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        encode_tsvector(&self.0, buf)
    }
    fn param_type(&self) -> TypeRef {
        Self::type_ref()
    }
    fn size_hint(&self) -> usize {
        self.0.len().saturating_add(4)
    }
}

impl<'r> Decode<'r> for TsVector {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        let bytes = value.non_null::<Self>()?;
        match value.format() {
            Format::Binary => render_tsvector(bytes).map(TsVector),
            Format::Text => utf8(bytes, "tsvector").map(TsVector),
        }
    }
}

impl Type for TsQuery {
    fn type_ref() -> TypeRef {
        TypeRef::Oid(Oid::TSQUERY)
    }
}

impl Encode for TsQuery {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        encode_tsquery(&self.0, buf)
    }
    fn param_type(&self) -> TypeRef {
        Self::type_ref()
    }
    fn size_hint(&self) -> usize {
        self.0.len().saturating_add(4)
    }
}

impl<'r> Decode<'r> for TsQuery {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        let bytes = value.non_null::<Self>()?;
        match value.format() {
            Format::Binary => {
                let (nodes, root) = read_tsquery(bytes)?;
                Ok(TsQuery(render_tsquery(&nodes, root)))
            }
            Format::Text => utf8(bytes, "tsquery").map(TsQuery),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;

    use super::super::container_golden::TSEARCH;
    use super::super::test_elements::{decode, encode, hex};
    use super::*;

    fn vector_rows() -> impl Iterator<Item = super::super::container_golden::Golden> {
        TSEARCH
            .iter()
            .copied()
            .filter(|g| g.name.starts_with("tsvector"))
    }

    fn query_rows() -> impl Iterator<Item = super::super::container_golden::Golden> {
        TSEARCH
            .iter()
            .copied()
            .filter(|g| g.name.starts_with("tsquery"))
    }

    #[test]
    fn binary_renders_exactly_as_the_server_text() {
        for g in vector_rows() {
            let v: TsVector = decode(Oid::TSVECTOR, Format::Binary, &g.bytes()).unwrap();
            assert_eq!(v.as_str(), g.text, "{}", g.name);
            let t: TsVector = decode(Oid::TSVECTOR, Format::Text, g.text.as_bytes()).unwrap();
            assert_eq!(t.as_str(), g.text, "{}", g.name);
        }
        for g in query_rows() {
            let q: TsQuery = decode(Oid::TSQUERY, Format::Binary, &g.bytes()).unwrap();
            assert_eq!(q.as_str(), g.text, "{}", g.name);
        }
    }

    #[test]
    fn encoding_the_server_text_gives_the_server_bytes() {
        // The server's text of a value parses back to the same binary form, except
        // where its rendering drops grouping that does not change the meaning
        // (`'a' & ( 'b' & 'c' )` prints as `'a' & 'b' & 'c'`, which parses left-first).
        for g in vector_rows() {
            assert_eq!(encode(&TsVector::from(g.text)), g.bytes(), "{}", g.name);
        }
        for g in query_rows().filter(|g| !matches!(g.name, "tsquery_and_right" | "tsquery_empty")) {
            assert_eq!(encode(&TsQuery::from(g.text)), g.bytes(), "{}", g.name);
        }
        // And the inputs as typed in SQL (between the $$ quotes) normalize like the server.
        for g in TSEARCH
            .iter()
            .filter(|g| g.sql.starts_with("$$") && g.name != "tsquery_empty")
        {
            let input = g.sql.trim_start_matches("$$").split("$$").next().unwrap();
            let bytes = if g.name.starts_with("tsvector") {
                encode(&TsVector::from(input))
            } else {
                encode(&TsQuery::from(input))
            };
            assert_eq!(bytes, g.bytes(), "{} from {input:?}", g.name);
        }
    }

    #[test]
    fn bad_text_is_an_encode_error() {
        for bad in ["'a", "a:0", "a:x", "a:1x", "a\\"] {
            assert!(
                TsVector::from(bad).encode(&mut EncodeBuf::new()).is_err(),
                "{bad}"
            );
        }
        for bad in [
            "a &",
            "& a",
            "a b",
            "(a",
            "a)",
            "!",
            "a <-",
            "a <16385> b",
            "a <x> b",
            "''",
            "a & ()",
        ] {
            assert!(
                TsQuery::from(bad).encode(&mut EncodeBuf::new()).is_err(),
                "{bad}"
            );
        }
        let long = "x".repeat(MAX_LEXEME + 1);
        assert!(
            TsVector::from(long.as_str())
                .encode(&mut EncodeBuf::new())
                .is_err()
        );
        for empty in ["", "  "] {
            let err = TsQuery::from(empty)
                .encode(&mut EncodeBuf::new())
                .unwrap_err();
            assert!(
                err.message().contains("cannot receive an empty tsquery"),
                "{err}"
            );
        }
    }

    /// Binary values that must be decode errors.
    pub(crate) const TSEARCH_HOSTILE: &[(&str, Oid, &str)] = &[
        (
            "tsvector claiming 2^31-1 lexemes",
            Oid::TSVECTOR,
            "7fffffff 6100 0000",
        ),
        ("tsvector lexeme without NUL", Oid::TSVECTOR, "00000001 61"),
        (
            "tsvector claiming 65535 positions",
            Oid::TSVECTOR,
            "00000001 6100 ffff 0001",
        ),
        ("tsvector trailing bytes", Oid::TSVECTOR, "00000000 00"),
        (
            "tsquery claiming 2^31-1 items",
            Oid::TSQUERY,
            "7fffffff 0201",
        ),
        (
            "tsquery operator without operands",
            Oid::TSQUERY,
            "00000001 0202",
        ),
        (
            "tsquery two roots",
            Oid::TSQUERY,
            "00000002 0100006100 0100006200",
        ),
        ("tsquery unknown item", Oid::TSQUERY, "00000001 03"),
        (
            "tsquery unknown operator",
            Oid::TSQUERY,
            "00000003 0205 0100006100 0100006200",
        ),
        (
            "tsquery weight bitmap 16",
            Oid::TSQUERY,
            "00000001 0110006100",
        ),
        (
            "tsquery truncated phrase distance",
            Oid::TSQUERY,
            "00000003 020400",
        ),
    ];

    #[test]
    fn hostile_values_fail_cleanly() {
        for &(what, oid, h) in TSEARCH_HOSTILE {
            let failed = if oid == Oid::TSVECTOR {
                decode::<TsVector>(oid, Format::Binary, &hex(h)).is_err()
            } else {
                decode::<TsQuery>(oid, Format::Binary, &hex(h)).is_err()
            };
            assert!(failed, "{what}");
        }
    }

    #[test]
    fn deep_queries_do_not_overflow_the_stack() {
        // 200k nested NOTs: decoding and rendering must not recurse.
        let depth = 200_000usize;
        let mut bytes = i32::try_from(depth + 1).unwrap().to_be_bytes().to_vec();
        for _ in 0..depth {
            bytes.extend_from_slice(&[QI_OPR, OP_NOT]);
        }
        bytes.extend_from_slice(&[QI_VAL, 0, 0, b'a', 0]);
        let q: TsQuery = decode(Oid::TSQUERY, Format::Binary, &bytes).unwrap();
        assert_eq!(q.as_str().len(), depth + 3);
        // And parsing deeply nested text is iterative too.
        let text = format!("{}a{}", "(".repeat(depth), ")".repeat(depth));
        assert_eq!(
            encode(&TsQuery::from(text.as_str())),
            hex("00000001 0100006100")
        );
    }

    fn lexeme() -> impl Strategy<Value = String> {
        "[a-z'\\: é]{1,6}"
    }

    fn query() -> impl Strategy<Value = String> {
        let leaf = (lexeme(), any::<bool>(), 0u8..16).prop_map(|(l, prefix, w)| {
            let mut s = String::new();
            write_quoted(&mut s, &l);
            if prefix || w != 0 {
                s.push(':');
                if prefix {
                    s.push('*');
                }
                for (bit, c) in [(8, 'A'), (4, 'B'), (2, 'C'), (1, 'D')] {
                    if w & bit != 0 {
                        s.push(c);
                    }
                }
            }
            s
        });
        leaf.prop_recursive(4, 16, 2, |inner| {
            prop_oneof![
                inner.clone().prop_map(|q| format!("!( {q} )")),
                (
                    inner.clone(),
                    inner.clone(),
                    prop_oneof![Just(" & "), Just(" | "), Just(" <-> "), Just(" <3> ")]
                )
                    .prop_map(|(a, b, op)| format!("( {a} ){op}( {b} )")),
            ]
        })
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode::<TsVector>(Oid::TSVECTOR, Format::Binary, &bytes);
            let _ = decode::<TsQuery>(Oid::TSQUERY, Format::Binary, &bytes);
        }

        #[test]
        fn random_text_never_panics(s in "[a-z'\\:!&|()<>*0-9 -]{0,30}") {
            let _ = TsVector::from(s.as_str()).encode(&mut EncodeBuf::new());
            let _ = TsQuery::from(s.as_str()).encode(&mut EncodeBuf::new());
        }

        #[test]
        fn vector_round_trip(entries in proptest::collection::vec((lexeme(), proptest::collection::vec((1u16..20, 0u16..4), 0..4)), 0..5)) {
            let mut text = String::new();
            for (lex, positions) in &entries {
                write_quoted(&mut text, lex);
                for (i, (p, w)) in positions.iter().enumerate() {
                    text.push(if i == 0 { ':' } else { ',' });
                    text.push_str(&p.to_string());
                    text.push_str(["D", "C", "B", "A"][usize::from(*w)]);
                }
                text.push(' ');
            }
            // Text -> binary -> text is normalized; doing it again changes nothing.
            let once: TsVector = decode(Oid::TSVECTOR, Format::Binary, &encode(&TsVector::from(text.as_str()))).unwrap();
            let twice: TsVector = decode(Oid::TSVECTOR, Format::Binary, &encode(&once)).unwrap();
            prop_assert_eq!(once, twice);
        }

        #[test]
        fn query_round_trip(q in query()) {
            let once: TsQuery = decode(Oid::TSQUERY, Format::Binary, &encode(&TsQuery::from(q.as_str()))).unwrap();
            let twice: TsQuery = decode(Oid::TSQUERY, Format::Binary, &encode(&once)).unwrap();
            prop_assert_eq!(&once, &twice);
            // The rendering keeps the tree: re-parsing gives the same bytes unless
            // associativity of & or | was flattened.
            let (a, _) = parse_tsquery(&q).unwrap();
            let (b, _) = parse_tsquery(once.as_str()).unwrap();
            prop_assert_eq!(a.len(), b.len());
        }
    }
}
