//! The binary COPY format and the row traits: how one row is encoded and decoded.
//!
//! The format (PostgreSQL docs, "COPY", "Binary Format"): a header
//! `PGCOPY\n\xff\r\n\0`, an `i32` flags field and an `i32` header-extension length;
//! then each tuple as an `i16` field count followed by, per field, an `i32` length
//! (-1 for NULL) and the value in its binary send/recv form; then the trailer `i16` -1.

use std::ops::Range;

use crate::failure::{Error, ErrorKind, Result};
use crate::types::{
    Decode, Encode, EncodeBuf, EncodeError, Format, IsNull, Oid, Type, TypeInfo, TypeRef, ValueRef,
    short_type_name,
};

pub(super) const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";
/// Signature, flags (0) and header-extension length (0).
pub(super) const HEADER_LEN: usize = 19;

// --- Row traits ----------------------------------------------------------------------

/// A row that can be written by binary COPY: a tuple of up to 16 encodable values, or
/// a struct with `#[derive(quarry::CopyRow)]` (its fields, in order, are the columns).
///
/// Implementing it by hand is short: the column count, each column's type, which column
/// types each field accepts, and the fields in column order.
///
/// ```
/// use quarry_driver::CopyRow;
/// use quarry_driver::copy::RowEncoder;
/// use quarry_driver::types::{EncodeError, Type, TypeInfo, TypeRef};
///
/// struct Point { id: i64, label: String }
///
/// impl CopyRow for Point {
///     const COLUMNS: usize = 2;
///     fn column_types() -> Vec<TypeRef> {
///         vec![i64::type_ref(), String::type_ref()]
///     }
///     fn compatible(column: usize, ty: &TypeInfo) -> bool {
///         match column {
///             0 => i64::compatible(ty),
///             1 => String::compatible(ty),
///             _ => false,
///         }
///     }
///     fn encode_row(&self, row: &mut RowEncoder<'_>) -> Result<(), EncodeError> {
///         row.field(&self.id)?;
///         row.field(&self.label)
///     }
/// }
/// ```
pub trait CopyRow {
    /// The number of columns (fields written per row).
    const COLUMNS: usize;

    /// The PostgreSQL type of each column, in order (user types are resolved by name
    /// before the COPY starts).
    fn column_types() -> Vec<TypeRef>;

    /// Whether column `column` of the target, of type `ty`, can take this row's field.
    fn compatible(column: usize, ty: &TypeInfo) -> bool;

    /// Writes the fields in column order, each with [`RowEncoder::field`].
    fn encode_row(&self, row: &mut RowEncoder<'_>) -> Result<(), EncodeError>;
}

impl<T: CopyRow + ?Sized> CopyRow for &T {
    const COLUMNS: usize = T::COLUMNS;
    fn column_types() -> Vec<TypeRef> {
        T::column_types()
    }
    fn compatible(column: usize, ty: &TypeInfo) -> bool {
        T::compatible(column, ty)
    }
    fn encode_row(&self, row: &mut RowEncoder<'_>) -> Result<(), EncodeError> {
        (**self).encode_row(row)
    }
}

/// A row that can be read from binary COPY: a tuple of up to 16 decodable values, or a
/// struct with `#[derive(quarry::CopyRow)]`.
///
/// `decode_row` reads the fields in column order with [`RowDecoder::field`]:
/// `Ok(Point { id: row.field()?, label: row.field()? })`.
pub trait FromCopyRow: Sized {
    /// The number of columns.
    const COLUMNS: usize;

    /// Builds the value from the row's fields.
    fn decode_row(row: &mut RowDecoder<'_>) -> Result<Self>;
}

/// Writes the fields of one row (see [`CopyRow::encode_row`]).
pub struct RowEncoder<'a> {
    pub(super) buf: &'a mut EncodeBuf,
    pub(super) fields: usize,
}

impl std::fmt::Debug for RowEncoder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never show values.
        f.debug_struct("RowEncoder")
            .field("fields", &self.fields)
            .finish()
    }
}

impl RowEncoder<'_> {
    /// Writes the next field.
    pub fn field<T: Encode + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0; 4]);
        let len = match value.encode(self.buf)? {
            IsNull::Yes => {
                self.buf.truncate(at + 4);
                -1
            }
            IsNull::No => i32::try_from(self.buf.len() - at - 4).map_err(|_| {
                EncodeError::new("a value is larger than the 1 GiB PostgreSQL accepts")
            })?,
        };
        self.buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
        self.fields += 1;
        Ok(())
    }
}

/// Reads the fields of one row (see [`FromCopyRow::decode_row`]).
pub struct RowDecoder<'a> {
    pub(super) data: &'a [u8],
    pub(super) ranges: &'a [Option<Range<usize>>],
    /// The columns' types when known (described); otherwise each field is read as the
    /// type the Rust value expects.
    pub(super) types: Option<&'a [TypeInfo]>,
    pub(super) next: usize,
}

impl std::fmt::Debug for RowDecoder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowDecoder")
            .field("fields", &self.ranges.len())
            .field("next", &self.next)
            .finish()
    }
}

impl RowDecoder<'_> {
    /// The number of fields in the row.
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// Whether the row has no fields.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Reads the next field as `T`.
    pub fn field<T: for<'r> Decode<'r> + Type>(&mut self) -> Result<T> {
        let i = self.next;
        let range = self.ranges.get(i).ok_or_else(|| {
            Error::decode(format!(
                "the COPY row has {} fields; field {} was asked for",
                self.ranges.len(),
                i + 1
            ))
        })?;
        self.next += 1;
        let bytes = match range {
            None => None,
            Some(r) => Some(self.data.get(r.clone()).ok_or_else(|| {
                Error::decode("a COPY field lies outside its row (internal bounds check)")
            })?),
        };
        let fallback;
        let ty = match self.types.and_then(|t| t.get(i)) {
            Some(ty) => {
                if !T::compatible(ty) {
                    return Err(Error::decode(format!(
                        "COPY column {} is {ty}; cannot decode into {}",
                        i + 1,
                        short_type_name::<T>()
                    )));
                }
                ty
            }
            None => {
                fallback = TypeInfo::from_oid(T::type_ref().oid().unwrap_or(Oid::UNSPECIFIED));
                &fallback
            }
        };
        T::decode(ValueRef::new(bytes, Format::Binary, ty))
            .map_err(|e| Error::decode(format!("COPY column {}: {e}", i + 1)))
    }
}

macro_rules! tuple_copy_row {
    ($count:literal; $($T:ident $i:tt),+) => {
        impl<$($T: Encode + Type),+> CopyRow for ($($T,)+) {
            const COLUMNS: usize = $count;
            fn column_types() -> Vec<TypeRef> {
                vec![$($T::type_ref()),+]
            }
            fn compatible(column: usize, ty: &TypeInfo) -> bool {
                match column {
                    $($i => $T::compatible(ty),)+
                    _ => false,
                }
            }
            fn encode_row(&self, row: &mut RowEncoder<'_>) -> Result<(), EncodeError> {
                $(row.field(&self.$i)?;)+
                Ok(())
            }
        }

        impl<$($T: for<'r> Decode<'r> + Type),+> FromCopyRow for ($($T,)+) {
            const COLUMNS: usize = $count;
            fn decode_row(row: &mut RowDecoder<'_>) -> Result<Self> {
                Ok(($(row.field::<$T>()?,)+))
            }
        }
    };
}

tuple_copy_row!(1; A 0);
tuple_copy_row!(2; A 0, B 1);
tuple_copy_row!(3; A 0, B 1, C 2);
tuple_copy_row!(4; A 0, B 1, C 2, D 3);
tuple_copy_row!(5; A 0, B 1, C 2, D 3, E 4);
tuple_copy_row!(6; A 0, B 1, C 2, D 3, E 4, F 5);
tuple_copy_row!(7; A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_copy_row!(8; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tuple_copy_row!(9; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
tuple_copy_row!(10; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
tuple_copy_row!(11; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
tuple_copy_row!(12; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);
tuple_copy_row!(13; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12);
tuple_copy_row!(14; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13);
tuple_copy_row!(15; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14);
tuple_copy_row!(16; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14, P 15);

/// What the front of the data holds.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Scan {
    /// A whole tuple of this many bytes; `ranges` has its fields.
    Row(usize),
    /// The trailer (2 bytes).
    Trailer,
    /// Not enough bytes yet.
    Incomplete,
}

/// Looks at one tuple at the front of `data` without decoding it.
pub(super) fn scan_tuple(
    data: &[u8],
    columns: usize,
    ranges: &mut Vec<Option<Range<usize>>>,
) -> Result<Scan> {
    let Some(&[a, b]) = data.get(..2) else {
        return Ok(Scan::Incomplete);
    };
    let count = i16::from_be_bytes([a, b]);
    if count == -1 {
        return Ok(Scan::Trailer);
    }
    let count = usize::try_from(count)
        .map_err(|_| Error::decode(format!("COPY tuple has a field count of {count}")))?;
    if count != columns {
        return Err(Error::decode(format!(
            "COPY tuple has {count} fields; the row type has {columns}"
        )));
    }
    ranges.clear();
    let mut pos = 2usize;
    for _ in 0..count {
        let Some(&[a, b, c, d]) = data.get(pos..pos + 4) else {
            return Ok(Scan::Incomplete);
        };
        pos += 4;
        let len = i32::from_be_bytes([a, b, c, d]);
        if len == -1 {
            ranges.push(None);
            continue;
        }
        let len = usize::try_from(len)
            .map_err(|_| Error::decode(format!("COPY field has a length of {len}")))?;
        let end = pos
            .checked_add(len)
            .ok_or_else(|| Error::decode("COPY field length overflows"))?;
        if end > data.len() {
            return Ok(Scan::Incomplete);
        }
        ranges.push(Some(pos..end));
        pos = end;
    }
    Ok(Scan::Row(pos))
}

/// Checks the binary COPY header at the front of `data`; returns its length, or `None`
/// if more bytes are needed.
pub(super) fn scan_header(data: &[u8]) -> Result<Option<usize>> {
    let Some(head) = data.get(..HEADER_LEN) else {
        return Ok(None);
    };
    if &head[..11] != SIGNATURE {
        return Err(Error::decode(
            "the COPY data does not start with the binary COPY signature",
        ));
    }
    let flags = u32::from_be_bytes([head[11], head[12], head[13], head[14]]);
    if flags & (1 << 16) != 0 {
        return Err(Error::new(
            ErrorKind::Unsupported,
            "binary COPY with OIDs is not supported",
        ));
    }
    if flags & 0xffff_0000 & !(1 << 16) != 0 {
        return Err(Error::decode(format!(
            "binary COPY header has unknown critical flags {flags:#x}"
        )));
    }
    let ext = u32::from_be_bytes([head[15], head[16], head[17], head[18]]);
    let total = usize::try_from(ext)
        .ok()
        .and_then(|e| e.checked_add(HEADER_LEN))
        .ok_or_else(|| Error::decode("binary COPY header extension too long"))?;
    if data.len() < total {
        return Ok(None);
    }
    Ok(Some(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode<T: CopyRow>(row: &T) -> Vec<u8> {
        let mut buf = EncodeBuf::new();
        let mut e = RowEncoder {
            buf: &mut buf,
            fields: 0,
        };
        row.encode_row(&mut e).unwrap();
        assert_eq!(e.fields, T::COLUMNS);
        buf.as_bytes().to_vec()
    }

    #[test]
    fn fields_are_length_prefixed() {
        let bytes = encode(&(7i32, None::<String>, "ab"));
        assert_eq!(
            bytes,
            [
                0, 0, 0, 4, 0, 0, 0, 7, // 7
                0xff, 0xff, 0xff, 0xff, // NULL
                0, 0, 0, 2, b'a', b'b',
            ]
        );
    }

    #[test]
    fn tuples_scan_and_decode() {
        let mut data = vec![0, 3];
        data.extend(encode(&(7i32, None::<String>, "ab")));
        let mut ranges = Vec::new();
        let n = match scan_tuple(&data, 3, &mut ranges).unwrap() {
            Scan::Row(n) => n,
            other => panic!("{other:?}"),
        };
        assert_eq!(n, data.len());
        let mut d = RowDecoder {
            data: &data,
            ranges: &ranges,
            types: None,
            next: 0,
        };
        let row = <(i32, Option<String>, String)>::decode_row(&mut d).unwrap();
        assert_eq!(row, (7, None, "ab".to_owned()));
        // Every prefix is incomplete, never an error or a panic.
        for cut in 0..data.len() {
            assert_eq!(
                scan_tuple(&data[..cut], 3, &mut ranges).unwrap(),
                Scan::Incomplete
            );
        }
        assert_eq!(
            scan_tuple(&[0xff, 0xff], 3, &mut ranges).unwrap(),
            Scan::Trailer
        );
    }

    #[test]
    fn bad_tuples_are_errors() {
        let mut ranges = Vec::new();
        assert!(scan_tuple(&[0, 2], 3, &mut ranges).is_err());
        assert!(scan_tuple(&[0x80, 0], 3, &mut ranges).is_err());
        assert!(scan_tuple(&[0, 1, 0xff, 0xff, 0xff, 0xfe], 1, &mut ranges).is_err());
        // A wrong-size value is a decode error, not a panic.
        let data = [0, 1, 0, 0, 0, 3, 1, 2, 3];
        assert_eq!(scan_tuple(&data, 1, &mut ranges).unwrap(), Scan::Row(9));
        let mut d = RowDecoder {
            data: &data,
            ranges: &ranges,
            types: None,
            next: 0,
        };
        assert!(<(i64,)>::decode_row(&mut d).is_err());
    }

    #[test]
    fn headers() {
        let mut h = SIGNATURE.to_vec();
        h.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 2, 9, 9]);
        assert_eq!(scan_header(&h).unwrap(), Some(21));
        assert_eq!(scan_header(&h[..20]).unwrap(), None);
        h[0] = b'X';
        assert!(scan_header(&h).is_err());
    }

    proptest::proptest! {
        #[test]
        fn scanning_never_panics(data: Vec<u8>, columns in 0usize..4) {
            let mut ranges = Vec::new();
            let _ = scan_tuple(&data, columns, &mut ranges);
            let _ = scan_header(&data);
        }
    }
}
