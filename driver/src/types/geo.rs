//! Geometric types, all built on `float8` coordinates: [`Point`], [`Line`],
//! [`LineSegment`] (`lseg`), [`Rect`] (`box`), [`Path`], [`Polygon`], [`Circle`].
//!
//! Binary formats (`point_send` etc.): coordinates as big-endian `float8`;
//! `path` is a closed flag byte, an i32 point count and the points;
//! `polygon` an i32 point count and the points; `box` the upper-right then
//! the lower-left corner; `line` the coefficients A, B, C of `Ax + By + C = 0`;
//! `circle` the center then the radius.
//!
//! `Display` writes what PostgreSQL's output functions write (numbers as
//! `float8out` does: shortest exact form, `1e+300`, `-0`, `NaN`, `Infinity`).

use std::fmt;

use super::bounded::Reader;
use super::{
    Decode, DecodeError, Encode, EncodeBuf, EncodeError, Format, IsNull, Oid, Type, TypeRef,
    ValueRef,
};

// --- float8 text, as float8out writes it -----------------------------------------------

/// Writes `v` as PostgreSQL's `float8out` does with the default
/// `extra_float_digits = 1`: the shortest text that reads back exactly, in
/// fixed notation when the decimal exponent is in -4..15, else as `1e+300`.
pub(crate) fn write_float8(f: &mut impl fmt::Write, v: f64) -> fmt::Result {
    if v.is_nan() {
        return f.write_str("NaN");
    }
    if v.is_infinite() {
        return f.write_str(if v > 0.0 { "Infinity" } else { "-Infinity" });
    }
    if v == 0.0 {
        return f.write_str(if v.is_sign_negative() { "-0" } else { "0" });
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "-1.2345e-7".
    let sci = format!("{v:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if negative {
        f.write_str("-")?;
    }
    if !(-4..15).contains(&exp) {
        let (first, rest) = digits.split_at(digits.len().min(1));
        f.write_str(first)?;
        if !rest.is_empty() {
            write!(f, ".{rest}")?;
        }
        let sign = if exp < 0 { '-' } else { '+' };
        return write!(f, "e{sign}{:02}", exp.unsigned_abs());
    }
    if exp < 0 {
        f.write_str("0.")?;
        for _ in 0..(exp.unsigned_abs() - 1) {
            f.write_str("0")?;
        }
        return f.write_str(&digits);
    }
    // 0 <= exp < 15: at least exp + 1 integer digits.
    let int_len = usize::try_from(exp).unwrap_or(0) + 1;
    if digits.len() <= int_len {
        f.write_str(&digits)?;
        for _ in digits.len()..int_len {
            f.write_str("0")?;
        }
        Ok(())
    } else {
        let (int, frac) = digits.split_at(int_len);
        write!(f, "{int}.{frac}")
    }
}

/// `write_float8` into a `String`.
fn float8_text(v: f64) -> String {
    let mut s = String::new();
    // Writing to a String cannot fail.
    let _ = write_float8(&mut s, v);
    s
}

// --- Text parsing ----------------------------------------------------------------------

/// A cursor over a geometric literal as the output functions write it.
struct Parser<'a> {
    text: &'a str,
    pos: usize,
    what: &'static str,
}

impl<'a> Parser<'a> {
    fn new(bytes: &'a [u8], what: &'static str) -> Result<Parser<'a>, DecodeError> {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| DecodeError::new(format!("invalid {what} value: not UTF-8")))?;
        Ok(Parser { text, pos: 0, what })
    }

    fn error(&self) -> DecodeError {
        let shown: String = self.text.chars().take(64).collect();
        DecodeError::new(format!(
            "invalid input syntax for type {}: {shown:?}",
            self.what
        ))
    }

    fn skip_space(&mut self) {
        while self
            .text
            .as_bytes()
            .get(self.pos)
            .is_some_and(u8::is_ascii_whitespace)
        {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.text.as_bytes().get(self.pos).copied()
    }

    fn expect(&mut self, c: u8) -> Result<(), DecodeError> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error())
        }
    }

    fn number(&mut self) -> Result<f64, DecodeError> {
        self.skip_space();
        let start = self.pos;
        while self.text.as_bytes().get(self.pos).is_some_and(|&b| {
            !matches!(b, b',' | b')' | b']' | b'}' | b'>') && !b.is_ascii_whitespace()
        }) {
            self.pos += 1;
        }
        let s = self.text.get(start..self.pos).ok_or_else(|| self.error())?;
        // float8in spellings Rust does not accept verbatim are not produced by
        // float8out; Rust accepts NaN, Infinity, -Infinity, 1e+300.
        s.parse::<f64>().map_err(|_| self.error())
    }

    fn point(&mut self) -> Result<Point, DecodeError> {
        self.expect(b'(')?;
        let x = self.number()?;
        self.expect(b',')?;
        let y = self.number()?;
        self.expect(b')')?;
        Ok(Point { x, y })
    }

    /// Points separated by commas until `close` (consumed).
    fn points(&mut self, close: u8) -> Result<Vec<Point>, DecodeError> {
        let mut points = vec![self.point()?];
        loop {
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    points.push(self.point()?);
                }
                Some(c) if c == close => {
                    self.pos += 1;
                    return Ok(points);
                }
                _ => return Err(self.error()),
            }
        }
    }

    fn end(mut self) -> Result<(), DecodeError> {
        if self.peek().is_none() {
            Ok(())
        } else {
            Err(self.error())
        }
    }
}

// --- The types -------------------------------------------------------------------------

/// A point (`point`): `(x,y)`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Point {
    /// The x coordinate.
    pub x: f64,
    /// The y coordinate.
    pub y: f64,
}

impl Point {
    /// The point `(x,y)`.
    pub fn new(x: f64, y: f64) -> Point {
        Point { x, y }
    }
}

/// An infinite line (`line`): `Ax + By + C = 0`, written `{A,B,C}`. A and B are not both zero.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Line {
    /// Coefficient A.
    pub a: f64,
    /// Coefficient B.
    pub b: f64,
    /// Coefficient C.
    pub c: f64,
}

/// A line segment (`lseg`): `[(x1,y1),(x2,y2)]`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LineSegment {
    /// The first end point.
    pub start: Point,
    /// The second end point.
    pub end: Point,
}

/// A rectangular box (`box`): `(x1,y1),(x2,y2)`, upper-right corner first.
///
/// Called `Rect` so that it does not shadow `std::boxed::Box`. PostgreSQL
/// stores the upper-right and lower-left corners whatever corners it is
/// given; [`Rect::new`] does the same.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Rect {
    /// The upper-right corner (largest x and y).
    pub high: Point,
    /// The lower-left corner (smallest x and y).
    pub low: Point,
}

impl Rect {
    /// The box with opposite corners `a` and `b`, stored as upper-right and lower-left.
    pub fn new(a: Point, b: Point) -> Rect {
        Rect {
            high: Point::new(a.x.max(b.x), a.y.max(b.y)),
            low: Point::new(a.x.min(b.x), a.y.min(b.y)),
        }
    }
}

/// A path (`path`): open `[(x1,y1),...]` or closed `((x1,y1),...)`; at least one point.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Path {
    /// The points in order.
    pub points: Vec<Point>,
    /// Whether the last point connects back to the first.
    pub closed: bool,
}

/// A polygon (`polygon`): `((x1,y1),...)`; at least one point.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Polygon {
    /// The vertices in order.
    pub points: Vec<Point>,
}

/// A circle (`circle`): `<(x,y),r>`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Circle {
    /// The center.
    pub center: Point,
    /// The radius (not negative).
    pub radius: f64,
}

// --- Display ---------------------------------------------------------------------------

impl fmt::Display for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({},{})", float8_text(self.x), float8_text(self.y))
    }
}

fn write_points(f: &mut fmt::Formatter<'_>, points: &[Point]) -> fmt::Result {
    for (i, p) in points.iter().enumerate() {
        if i > 0 {
            f.write_str(",")?;
        }
        write!(f, "{p}")?;
    }
    Ok(())
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{{{},{},{}}}",
            float8_text(self.a),
            float8_text(self.b),
            float8_text(self.c)
        )
    }
}

impl fmt::Display for LineSegment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{},{}]", self.start, self.end)
    }
}

impl fmt::Display for Rect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{}", self.high, self.low)
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (open, close) = if self.closed { ("(", ")") } else { ("[", "]") };
        f.write_str(open)?;
        write_points(f, &self.points)?;
        f.write_str(close)
    }
}

impl fmt::Display for Polygon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(")?;
        write_points(f, &self.points)?;
        f.write_str(")")
    }
}

impl fmt::Display for Circle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{},{}>", self.center, float8_text(self.radius))
    }
}

// --- Codecs ----------------------------------------------------------------------------

fn put_f64(buf: &mut Vec<u8>, v: f64) {
    buf.extend_from_slice(&v.to_be_bytes());
}

fn put_point(buf: &mut Vec<u8>, p: &Point) {
    put_f64(buf, p.x);
    put_f64(buf, p.y);
}

fn read_point(r: &mut Reader<'_>) -> Result<Point, DecodeError> {
    Ok(Point {
        x: r.f64()?,
        y: r.f64()?,
    })
}

fn read_points(r: &mut Reader<'_>) -> Result<Vec<Point>, DecodeError> {
    let n = r.count("points", 16)?;
    let mut points = Vec::with_capacity(n);
    for _ in 0..n {
        points.push(read_point(r)?);
    }
    Ok(points)
}

fn point_count(points: &[Point], what: &str) -> Result<i32, EncodeError> {
    if points.is_empty() {
        return Err(EncodeError::new(format!(
            "a {what} needs at least one point"
        )));
    }
    super::bounded::wire_len(points.len(), what)
}

/// Shared Type/Encode/Decode plumbing: `$encode` writes the binary form,
/// `$binary` reads it from a `Reader`, `$text` reads it from a `Parser`.
macro_rules! geo_codec {
    ($ty:ident, $oid:expr, $pg:literal, hint($hthis:ident) $hint:block,
     encode($this:ident, $buf:ident) $encode:block,
     binary($r:ident) $binary:block,
     text($p:ident) $text:block) => {
        impl Type for $ty {
            fn type_ref() -> TypeRef {
                TypeRef::Oid($oid)
            }
        }

        impl Encode for $ty {
            fn encode(&self, $buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
                let $this = self;
                $encode
                Ok(IsNull::No)
            }
            fn param_type(&self) -> TypeRef {
                Self::type_ref()
            }
            fn size_hint(&self) -> usize {
                let $hthis = self;
                $hint
            }
        }

        impl<'r> Decode<'r> for $ty {
            fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
                let bytes = value.non_null::<Self>()?;
                match value.format() {
                    Format::Binary => {
                        let mut reader = Reader::new(bytes, $pg);
                        let $r = &mut reader;
                        let v = $binary;
                        reader.finish()?;
                        Ok(v)
                    }
                    Format::Text => {
                        let mut parser = Parser::new(bytes, $pg)?;
                        let $p = &mut parser;
                        let v = $text;
                        parser.end()?;
                        Ok(v)
                    }
                }
            }
        }
    };
}

geo_codec!(Point, Oid::POINT, "point", hint(_this) { 16 },
    encode(this, buf) { put_point(buf, this); },
    binary(r) { read_point(r)? },
    text(p) { p.point()? });

geo_codec!(Line, Oid::LINE, "line", hint(_this) { 24 },
encode(this, buf) {
    if this.a == 0.0 && this.b == 0.0 {
        return Err(EncodeError::new(
            "invalid line {A,B,C}: A and B cannot both be zero",
        ));
    }
    put_f64(buf, this.a);
    put_f64(buf, this.b);
    put_f64(buf, this.c);
},
binary(r) { Line { a: r.f64()?, b: r.f64()?, c: r.f64()? } },
text(p) {
    p.expect(b'{')?;
    let a = p.number()?;
    p.expect(b',')?;
    let b = p.number()?;
    p.expect(b',')?;
    let c = p.number()?;
    p.expect(b'}')?;
    Line { a, b, c }
});

geo_codec!(LineSegment, Oid::LSEG, "lseg", hint(_this) { 32 },
encode(this, buf) { put_point(buf, &this.start); put_point(buf, &this.end); },
binary(r) { LineSegment { start: read_point(r)?, end: read_point(r)? } },
text(p) {
    p.expect(b'[')?;
    let start = p.point()?;
    p.expect(b',')?;
    let end = p.point()?;
    p.expect(b']')?;
    LineSegment { start, end }
});

geo_codec!(Rect, Oid::BOX, "box", hint(_this) { 32 },
encode(this, buf) { put_point(buf, &this.high); put_point(buf, &this.low); },
binary(r) { Rect { high: read_point(r)?, low: read_point(r)? } },
text(p) {
    let high = p.point()?;
    p.expect(b',')?;
    let low = p.point()?;
    Rect { high, low }
});

geo_codec!(Path, Oid::PATH, "path", hint(this) { this.points.len().saturating_mul(16).saturating_add(5) },
encode(this, buf) {
    let n = point_count(&this.points, "path")?;
    buf.push(u8::from(this.closed));
    buf.extend_from_slice(&n.to_be_bytes());
    for pt in &this.points {
        put_point(buf, pt);
    }
},
binary(r) {
    let closed = r.u8()? != 0;
    Path { points: read_points(r)?, closed }
},
text(p) {
    let closed = match p.peek() {
        Some(b'[') => false,
        Some(b'(') => true,
        _ => return Err(p.error()),
    };
    p.pos += 1;
    let points = p.points(if closed { b')' } else { b']' })?;
    Path { points, closed }
});

geo_codec!(Polygon, Oid::POLYGON, "polygon", hint(this) { this.points.len().saturating_mul(16).saturating_add(4) },
encode(this, buf) {
    let n = point_count(&this.points, "polygon")?;
    buf.extend_from_slice(&n.to_be_bytes());
    for pt in &this.points {
        put_point(buf, pt);
    }
},
binary(r) { Polygon { points: read_points(r)? } },
text(p) {
    p.expect(b'(')?;
    Polygon { points: p.points(b')')? }
});

geo_codec!(Circle, Oid::CIRCLE, "circle", hint(_this) { 24 },
encode(this, buf) {
    if this.radius < 0.0 {
        return Err(EncodeError::new(format!(
            "invalid circle: radius {} is negative",
            this.radius
        )));
    }
    put_point(buf, &this.center);
    put_f64(buf, this.radius);
},
binary(r) { Circle { center: read_point(r)?, radius: r.f64()? } },
text(p) {
    p.expect(b'<')?;
    let center = p.point()?;
    p.expect(b',')?;
    let radius = p.number()?;
    p.expect(b'>')?;
    Circle { center, radius }
});

#[cfg(test)]
pub(crate) mod tests {
    use std::net::IpAddr;

    use proptest::prelude::*;

    use super::super::container_golden::{ARRAYS, GEO, RECORDS, golden};
    use super::super::test_elements::{decode, encode};
    use super::super::{Array, Oid};
    use super::*;

    fn check<T>(oid: Oid, name: &str, want: &T)
    where
        T: for<'a> Decode<'a> + Encode + fmt::Debug + fmt::Display + PartialEq,
    {
        let g = golden(GEO, name);
        assert_eq!(encode(want), g.bytes(), "{name}: encode");
        assert_eq!(want.to_string(), g.text, "{name}: display");
        let bin: T =
            decode(oid, Format::Binary, &g.bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(bin.to_string(), want.to_string(), "{name}: binary");
        let txt: T =
            decode(oid, Format::Text, g.text.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(txt.to_string(), want.to_string(), "{name}: text");
    }

    fn pt(x: f64, y: f64) -> Point {
        Point::new(x, y)
    }

    #[test]
    fn geometry_matches_the_server() {
        check(Oid::POINT, "point", &pt(1.0, 2.0));
        check(
            Oid::POINT,
            "point_special",
            &pt(f64::NAN, f64::NEG_INFINITY),
        );
        check(Oid::POINT, "point_formatting", &pt(1e300, -0.0));
        check(Oid::POINT, "point_small", &pt(0.1, 1.5e-7));
        check(
            Oid::POINT,
            "point_fixed_limit",
            &pt(123456789012345.0, 1e15),
        );
        check(
            Oid::LSEG,
            "lseg",
            &LineSegment {
                start: pt(1.0, 2.0),
                end: pt(3.0, 4.0),
            },
        );
        check(
            Oid::LINE,
            "line",
            &Line {
                a: 1.0,
                b: -1.0,
                c: 0.0,
            },
        );
        check(
            Oid::BOX,
            "box",
            &Rect {
                high: pt(3.0, 4.0),
                low: pt(1.0, 2.0),
            },
        );
        check(
            Oid::BOX,
            "box_normalized",
            &Rect::new(pt(1.0, 2.0), pt(3.0, 4.0)),
        );
        check(
            Oid::PATH,
            "path_open",
            &Path {
                points: vec![pt(1.0, 2.0), pt(3.0, 4.0), pt(5.0, 6.0)],
                closed: false,
            },
        );
        check(
            Oid::PATH,
            "path_closed",
            &Path {
                points: vec![pt(1.0, 2.0), pt(3.0, 4.0)],
                closed: true,
            },
        );
        check(
            Oid::POLYGON,
            "polygon",
            &Polygon {
                points: vec![pt(0.0, 0.0), pt(1.0, 1.0), pt(1.0, 0.0)],
            },
        );
        check(
            Oid::CIRCLE,
            "circle",
            &Circle {
                center: pt(1.0, 2.0),
                radius: 3.0,
            },
        );
    }

    #[test]
    fn float8_text_matches_float8out() {
        // From the server: SELECT x::float8::text.
        for (v, want) in [
            (1e15, "1e+15"),
            (123456789012345.0, "123456789012345"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1e-310, "1e-310"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (100.0, "100"),
            (1.5, "1.5"),
            (1e14, "100000000000000"),
            (12345678901234567.0, "1.2345678901234568e+16"),
        ] {
            assert_eq!(float8_text(v), want, "{v:e}");
        }
    }

    #[test]
    fn arrays_and_records_of_geometry() {
        let g = golden(ARRAYS, "point");
        let want = vec![pt(1.0, 2.0), pt(3.5, -4.0)];
        assert_eq!(encode(&want), g.bytes());
        assert_eq!(
            decode::<Vec<Point>>(Oid::POINT_ARRAY, Format::Binary, &g.bytes()).unwrap(),
            want
        );
        assert_eq!(
            decode::<Vec<Point>>(Oid::POINT_ARRAY, Format::Text, g.text.as_bytes()).unwrap(),
            want
        );
        let a = Array::from_elements(want).unwrap();
        assert_eq!(a.to_string(), g.text);
        // box[] uses ';' between elements.
        let g = golden(ARRAYS, "box");
        let want = vec![
            Rect::new(pt(1.0, 2.0), pt(3.0, 4.0)),
            Rect::new(pt(5.0, 6.0), pt(7.0, 8.0)),
        ];
        assert_eq!(
            decode::<Vec<Rect>>(Oid::BOX_ARRAY, Format::Text, g.text.as_bytes()).unwrap(),
            want
        );
        assert_eq!(Array::from_elements(want).unwrap().to_string(), g.text);
        let g = golden(RECORDS, "inet_point");
        let want: (IpAddr, Point) = ("192.168.0.1".parse().unwrap(), pt(1.0, 2.0));
        assert_eq!(
            decode::<(IpAddr, Point)>(Oid::RECORD, Format::Binary, &g.bytes()).unwrap(),
            want
        );
        assert_eq!(
            decode::<(IpAddr, Point)>(Oid::RECORD, Format::Text, g.text.as_bytes()).unwrap(),
            want
        );
    }

    #[test]
    fn values_the_server_rejects_are_encode_errors() {
        let mut buf = EncodeBuf::new();
        assert!(
            Line {
                a: 0.0,
                b: 0.0,
                c: 1.0
            }
            .encode(&mut buf)
            .is_err()
        );
        assert!(Path::default().encode(&mut buf).is_err());
        assert!(Polygon::default().encode(&mut buf).is_err());
        assert!(
            Circle {
                center: pt(0.0, 0.0),
                radius: -1.0
            }
            .encode(&mut buf)
            .is_err()
        );
    }

    /// Binary geometric values that must be decode errors.
    pub(crate) const GEO_HOSTILE: &[(&str, Oid, &str)] = &[
        ("short point", Oid::POINT, "3ff0000000000000 40000000000000"),
        (
            "point with trailing byte",
            Oid::POINT,
            "3ff0000000000000 4000000000000000 00",
        ),
        (
            "path claiming 2^31-1 points",
            Oid::PATH,
            "00 7fffffff 3ff0000000000000",
        ),
        ("path with negative count", Oid::PATH, "01 ffffffff"),
        ("polygon claiming 2^31-1 points", Oid::POLYGON, "7fffffff"),
        (
            "polygon with a missing point",
            Oid::POLYGON,
            "00000002 3ff0000000000000 4000000000000000",
        ),
        (
            "short circle",
            Oid::CIRCLE,
            "3ff0000000000000 4000000000000000",
        ),
    ];

    #[test]
    fn hostile_geometry_fails_cleanly() {
        for &(what, oid, h) in GEO_HOSTILE {
            let bytes = super::super::test_elements::hex(h);
            let failed = match oid {
                Oid::POINT => decode::<Point>(oid, Format::Binary, &bytes).is_err(),
                Oid::PATH => decode::<Path>(oid, Format::Binary, &bytes).is_err(),
                Oid::POLYGON => decode::<Polygon>(oid, Format::Binary, &bytes).is_err(),
                _ => decode::<Circle>(oid, Format::Binary, &bytes).is_err(),
            };
            assert!(failed, "{what}");
        }
        for bad in [
            "(1,2", "1,2)", "(1,2) x", "(1;2)", "(a,b)", "((1,2)", "[(1,2)", "<(1,2),3", "{1,2}",
        ] {
            assert!(
                decode::<Point>(Oid::POINT, Format::Text, bad.as_bytes()).is_err(),
                "{bad}"
            );
            assert!(
                decode::<Path>(Oid::PATH, Format::Text, bad.as_bytes()).is_err(),
                "{bad}"
            );
            assert!(
                decode::<Circle>(Oid::CIRCLE, Format::Text, bad.as_bytes()).is_err(),
                "{bad}"
            );
            assert!(
                decode::<Line>(Oid::LINE, Format::Text, bad.as_bytes()).is_err(),
                "{bad}"
            );
        }
    }

    fn float() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<f64>(),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(-0.0),
            (-1000i32..1000).prop_map(f64::from),
            (-1000i32..1000, 1u32..1_000_000).prop_map(|(a, b)| f64::from(a) / f64::from(b)),
        ]
    }

    fn same(a: f64, b: f64) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..48)) {
            let _ = decode::<Point>(Oid::POINT, Format::Binary, &bytes);
            let _ = decode::<Path>(Oid::PATH, Format::Binary, &bytes);
            let _ = decode::<Polygon>(Oid::POLYGON, Format::Binary, &bytes);
            let _ = decode::<Circle>(Oid::CIRCLE, Format::Binary, &bytes);
            let _ = decode::<Path>(Oid::PATH, Format::Text, &bytes);
            let _ = decode::<Rect>(Oid::BOX, Format::Text, &bytes);
        }

        #[test]
        fn float_text_reads_back_exactly(v in float()) {
            let text = float8_text(v);
            let back: f64 = text.parse().unwrap();
            prop_assert!(same(back, v), "{} -> {} -> {}", v, text, back);
        }

        #[test]
        fn round_trips(points in proptest::collection::vec((float(), float()), 1..6), closed in any::<bool>(), r in 0.0f64..1e9) {
            let points: Vec<Point> = points.into_iter().map(|(x, y)| pt(x, y)).collect();
            let path = Path { points: points.clone(), closed };
            for format in [Format::Binary, Format::Text] {
                let bytes = if format == Format::Binary { encode(&path) } else { path.to_string().into_bytes() };
                let back: Path = decode(Oid::PATH, format, &bytes).unwrap();
                prop_assert_eq!(back.closed, closed);
                prop_assert!(back.points.iter().zip(&points).all(|(a, b)| same(a.x, b.x) && same(a.y, b.y)));
            }
            let circle = Circle { center: points[0], radius: r };
            let back: Circle = decode(Oid::CIRCLE, Format::Text, circle.to_string().as_bytes()).unwrap();
            prop_assert!(same(back.radius, r));
        }
    }
}
