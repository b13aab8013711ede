//! [`Cube`] <-> `cube` (the `cube` extension, version 1.5 or later for the binary format:
//! PostgreSQL 15's contrib has it).
//!
//! Binary format (`cube_send`): an i32 header (the dimension count in the low 31 bits,
//! the top bit set for a point), then each coordinate as a float8: the lower-left corner,
//! and for a box the upper-right one. Text: `(1, 2)` for a point, `(1, 2),(3, 4)` for a
//! box. The server prints a box whose corners are equal as a point.

use std::fmt;
use std::str::FromStr;

use super::bounded::Reader;
use super::{
    Decode, DecodeError, Encode, EncodeBuf, EncodeError, Format, IsNull, Type, TypeRef, ValueRef,
};

const POINT_BIT: u32 = 0x8000_0000;
/// `CUBE_MAX_DIM` in contrib/cube.
const MAX_DIM: usize = 100;

/// A point or box in up to 100 dimensions (the `cube` extension's type).
///
/// ```
/// use quarry_driver::types::Cube;
/// let b: Cube = "(1, 2),(3, 4)".parse().unwrap();
/// assert_eq!(b, Cube::Box { lower: vec![1.0, 2.0], upper: vec![3.0, 4.0] });
/// assert_eq!(Cube::Point(vec![1.5]).to_string(), "(1.5)");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Cube {
    /// A point: one corner.
    Point(Vec<f64>),
    /// A box between two corners of the same dimension.
    Box {
        /// One corner (as written: not necessarily the smallest coordinates).
        lower: Vec<f64>,
        /// The opposite corner.
        upper: Vec<f64>,
    },
}

impl Cube {
    fn dim(&self) -> usize {
        match self {
            Cube::Point(p) => p.len(),
            Cube::Box { lower, .. } => lower.len(),
        }
    }
}

fn write_coords(f: &mut fmt::Formatter<'_>, coords: &[f64]) -> fmt::Result {
    f.write_str("(")?;
    for (i, c) in coords.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        super::geo::write_float8(f, *c)?;
    }
    f.write_str(")")
}

impl fmt::Display for Cube {
    /// As `cube_out` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cube::Point(p) => write_coords(f, p),
            Cube::Box { lower, upper } => {
                write_coords(f, lower)?;
                f.write_str(",")?;
                write_coords(f, upper)
            }
        }
    }
}

fn parse_coords(s: &str) -> Option<Vec<f64>> {
    let inner = s.trim().strip_prefix('(')?.strip_suffix(')')?;
    if inner.trim().is_empty() {
        return Some(Vec::new());
    }
    inner
        .split(',')
        .map(|c| c.trim().parse::<f64>().ok())
        .collect()
}

impl FromStr for Cube {
    type Err = DecodeError;
    /// Reads what `cube_out` prints: `(x, ...)` or `(x, ...),(y, ...)`.
    fn from_str(s: &str) -> Result<Cube, DecodeError> {
        let bad = || DecodeError::new(format!("invalid cube value {s:?}"));
        let cube = match s.split_once("),") {
            None => Cube::Point(parse_coords(s).ok_or_else(bad)?),
            Some((lower, upper)) => Cube::Box {
                lower: parse_coords(&format!("{lower})")).ok_or_else(bad)?,
                upper: parse_coords(upper).ok_or_else(bad)?,
            },
        };
        if let Cube::Box { lower, upper } = &cube
            && lower.len() != upper.len()
        {
            return Err(bad());
        }
        Ok(cube)
    }
}

impl Type for Cube {
    fn type_ref() -> TypeRef {
        TypeRef::Named("cube")
    }
}

impl Encode for Cube {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        let dim = self.dim();
        if dim > MAX_DIM {
            return Err(EncodeError::new(format!(
                "a cube has at most {MAX_DIM} dimensions, not {dim}"
            )));
        }
        // At most 100: fits.
        let dim32 = u32::try_from(dim).unwrap_or(u32::MAX);
        match self {
            Cube::Point(p) => {
                buf.extend_from_slice(&(dim32 | POINT_BIT).to_be_bytes());
                p.iter()
                    .for_each(|c| buf.extend_from_slice(&c.to_be_bytes()));
            }
            Cube::Box { lower, upper } => {
                if upper.len() != dim {
                    return Err(EncodeError::new(format!(
                        "a cube's corners must have the same dimensions, not {dim} and {}",
                        upper.len()
                    )));
                }
                buf.extend_from_slice(&dim32.to_be_bytes());
                for c in lower.iter().chain(upper) {
                    buf.extend_from_slice(&c.to_be_bytes());
                }
            }
        }
        Ok(IsNull::No)
    }
    fn param_type(&self) -> TypeRef {
        Self::type_ref()
    }
    fn size_hint(&self) -> usize {
        4 + 16 * self.dim()
    }
}

impl<'r> Decode<'r> for Cube {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        let bytes = value.non_null::<Self>()?;
        match value.format() {
            Format::Binary => {
                let mut r = Reader::new(bytes, "cube");
                let header = r.u32()?;
                let dim = usize::try_from(header & !POINT_BIT).unwrap_or(usize::MAX);
                if dim > MAX_DIM {
                    return Err(DecodeError::new(format!(
                        "invalid cube value: {dim} dimensions (at most {MAX_DIM})"
                    )));
                }
                let corner = |r: &mut Reader<'_>| -> Result<Vec<f64>, DecodeError> {
                    (0..dim).map(|_| r.f64()).collect()
                };
                let lower = corner(&mut r)?;
                let cube = if header & POINT_BIT != 0 {
                    Cube::Point(lower)
                } else {
                    let upper = corner(&mut r)?;
                    Cube::Box { lower, upper }
                };
                r.finish()?;
                Ok(cube)
            }
            Format::Text => std::str::from_utf8(bytes)
                .map_err(|_| DecodeError::new("invalid cube value: not UTF-8"))?
                .parse(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Oid;
    use crate::types::read::testing::{bin, encode, text};

    #[test]
    fn points_and_boxes_both_ways() {
        let oid = Oid(20_000);
        for (cube, shown) in [
            (Cube::Point(vec![1.0, -2.5]), "(1, -2.5)"),
            (Cube::Point(vec![]), "()"),
            (
                Cube::Box {
                    lower: vec![1.0, 2.0],
                    upper: vec![3.0, f64::INFINITY],
                },
                "(1, 2),(3, Infinity)",
            ),
        ] {
            assert_eq!(cube.to_string(), shown);
            assert_eq!(text::<Cube>(oid, shown), Ok(cube.clone()));
            assert_eq!(bin::<Cube>(oid, &encode(&cube)), Ok(cube));
        }
        // 101 dimensions claimed: refused before reading.
        assert!(bin::<Cube>(oid, &[0x80, 0, 0, 101]).is_err());
        assert!(bin::<Cube>(oid, &[0x80, 0, 0, 1, 0]).is_err());
        assert!(text::<Cube>(oid, "(1),(2, 3)").is_err());
        let big = Cube::Point(vec![0.0; 101]);
        assert!(big.encode(&mut EncodeBuf::new()).is_err());
    }
}
