//! A bounded reader over a value's bytes, for the decoders of structured types.
//!
//! Every read checks that the bytes are there and fails with a [`DecodeError`]
//! naming the type otherwise; nothing here indexes or allocates from a count
//! the server sent. [`Reader::finish`] rejects trailing bytes.

use super::DecodeError;

/// Reads big-endian wire fields from one value.
#[derive(Clone, Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    /// The PostgreSQL type being read, for error messages (`"int4[]"`, `"hstore"`).
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], what: &'static str) -> Reader<'a> {
        Reader { buf, what }
    }

    /// An error that names the type: `"invalid <what> value: <message>"`.
    pub(crate) fn error(&self, message: impl std::fmt::Display) -> DecodeError {
        DecodeError::new(format!("invalid {} value: {message}", self.what))
    }

    /// The next `n` bytes.
    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        match self.buf.split_at_checked(n) {
            Some((head, tail)) => {
                self.buf = tail;
                Ok(head)
            }
            None => Err(self.error(format_args!(
                "needs {n} more bytes but only {} remain",
                self.buf.len()
            ))),
        }
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let bytes = self.bytes(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(u8::from_be_bytes(self.array()?))
    }

    pub(crate) fn i16(&mut self) -> Result<i16, DecodeError> {
        Ok(i16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn i32(&mut self) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    pub(crate) fn f64(&mut self) -> Result<f64, DecodeError> {
        Ok(f64::from_be_bytes(self.array()?))
    }

    /// A count that must be non-negative, where each counted item takes at
    /// least `min_item_size` bytes: a count the remaining bytes cannot hold is
    /// an error here, before anyone allocates for it.
    pub(crate) fn count(
        &mut self,
        what: &'static str,
        min_item_size: usize,
    ) -> Result<usize, DecodeError> {
        let raw = self.i32()?;
        let count = usize::try_from(raw)
            .map_err(|_| self.error(format_args!("negative {what} count {raw}")))?;
        self.check_fits(count, what, min_item_size)?;
        Ok(count)
    }

    /// Fails unless `count` items of at least `min_item_size` bytes fit in what remains.
    pub(crate) fn check_fits(
        &self,
        count: usize,
        what: &'static str,
        min_item_size: usize,
    ) -> Result<(), DecodeError> {
        let needed = count.checked_mul(min_item_size);
        if needed.is_none_or(|needed| needed > self.buf.len()) {
            return Err(self.error(format_args!(
                "claims {count} {what}, more than the {} remaining bytes can hold",
                self.buf.len()
            )));
        }
        Ok(())
    }

    /// A length-prefixed value: i32 length then that many bytes; -1 is NULL.
    pub(crate) fn value(&mut self) -> Result<Option<&'a [u8]>, DecodeError> {
        let len = self.i32()?;
        if len == -1 {
            return Ok(None);
        }
        let len =
            usize::try_from(len).map_err(|_| self.error(format_args!("negative length {len}")))?;
        self.bytes(len).map(Some)
    }

    /// A NUL-terminated string (the terminator is consumed, not returned).
    pub(crate) fn cstr(&mut self) -> Result<&'a [u8], DecodeError> {
        let Some(end) = self.buf.iter().position(|&b| b == 0) else {
            return Err(self.error("a string is missing its NUL terminator"));
        };
        let s = self.bytes(end)?;
        self.bytes(1)?;
        Ok(s)
    }

    /// Succeeds when every byte was read.
    pub(crate) fn finish(self) -> Result<(), DecodeError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(self.error(format_args!(
                "{} unexpected bytes after the end",
                self.buf.len()
            )))
        }
    }
}

/// Converts a length to the i32 the wire wants, or says which limit was passed.
pub(crate) fn wire_len(len: usize, what: &str) -> Result<i32, super::EncodeError> {
    i32::try_from(len).map_err(|_| {
        super::EncodeError::new(format!(
            "{what} is too long for PostgreSQL ({len} > {})",
            i32::MAX
        ))
    })
}

/// Writes a length-prefixed value: reserves the 4-byte length, encodes, then
/// fills the length in (or -1 for NULL). Returns whether the value was NULL.
pub(crate) fn put_value<T: super::Encode + ?Sized>(
    buf: &mut super::EncodeBuf,
    value: &T,
) -> Result<super::IsNull, super::EncodeError> {
    let at = buf.len();
    buf.extend_from_slice(&[0; 4]);
    let start = buf.len();
    let is_null = value.encode(buf)?;
    let len = match is_null {
        super::IsNull::Yes => {
            // A NULL writes nothing; drop anything a misbehaving impl wrote.
            buf.truncate(start);
            -1
        }
        super::IsNull::No => wire_len(buf.len() - start, "a value")?,
    };
    buf[at..start].copy_from_slice(&len.to_be_bytes());
    Ok(is_null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_reads_fail_without_consuming_past_the_end() {
        let mut r = Reader::new(&[0, 0, 0], "int4[]");
        let err = r.i32().unwrap_err();
        assert_eq!(
            err.message(),
            "invalid int4[] value: needs 4 more bytes but only 3 remain"
        );
    }

    #[test]
    fn counts_are_bounded_by_the_bytes_present() {
        // 2^31-1 elements claimed, 8 bytes present.
        let mut r = Reader::new(&[0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0], "hstore");
        let err = r.count("pairs", 8).unwrap_err();
        assert!(err.message().contains("claims 2147483647 pairs"), "{err}");
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff], "hstore");
        assert!(
            r.count("pairs", 8)
                .unwrap_err()
                .message()
                .contains("negative")
        );
    }

    #[test]
    fn values_and_strings() {
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 7, b'a', 0, 9], "x");
        assert_eq!(r.value().unwrap(), None);
        assert_eq!(r.value().unwrap(), Some(&[7u8][..]));
        assert_eq!(r.cstr().unwrap(), b"a");
        assert!(r.clone().finish().is_err());
        assert_eq!(r.u8().unwrap(), 9);
        r.finish().unwrap();
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xfe], "x");
        assert!(
            r.value()
                .unwrap_err()
                .message()
                .contains("negative length -2")
        );
        let mut r = Reader::new(b"abc", "x");
        assert!(r.cstr().is_err());
    }
}
