//! A bounded reader over server bytes.
//!
//! Every read checks that the bytes are there; nothing indexes the input
//! directly. A message decoder ends with [`Reader::finish`], which rejects
//! trailing bytes, so a message whose declared length disagrees with its
//! content is an error rather than silently accepted.

use crate::failure::{Error, Result};

/// Reads big-endian integers and strings from a byte slice, failing on short input.
#[derive(Clone, Debug)]
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    /// Which message is being read, for error messages.
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`, which hold (part of) a `what` message.
    #[inline]
    pub(crate) fn new(bytes: &'a [u8], what: &'static str) -> Reader<'a> {
        Reader { bytes, what }
    }

    #[cold]
    #[inline(never)]
    fn short(&self, wanted: usize) -> Error {
        Error::protocol(format!(
            "{} message is truncated: expected {wanted} more bytes, {} left",
            self.what,
            self.bytes.len()
        ))
    }

    /// Bytes not yet read.
    #[inline]
    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len()
    }

    /// The next `n` bytes.
    #[inline]
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.bytes.len() {
            return Err(self.short(n));
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    #[inline]
    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let bytes = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// One byte.
    #[inline]
    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    /// A big-endian `i16`.
    #[inline]
    pub(crate) fn i16(&mut self) -> Result<i16> {
        Ok(i16::from_be_bytes(self.array()?))
    }

    /// A big-endian `i32`.
    #[inline]
    pub(crate) fn i32(&mut self) -> Result<i32> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    /// A big-endian `u32`.
    #[inline]
    pub(crate) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// A big-endian `u64` (an LSN).
    pub(crate) fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// A big-endian `i64` (a timestamp in microseconds since 2000-01-01).
    pub(crate) fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    /// A count field (`i16` on the wire) that must not be negative.
    #[inline]
    pub(crate) fn count16(&mut self, of: &str) -> Result<usize> {
        let n = self.i16()?;
        match usize::try_from(n) {
            Ok(n) => Ok(n),
            Err(_) => Err(self.negative(&format!("{of} count"), i32::from(n))),
        }
    }

    #[cold]
    #[inline(never)]
    fn negative(&self, what: &str, n: i32) -> Error {
        Error::protocol(format!("{} message has a negative {what} ({n})", self.what))
    }

    /// A length-prefixed value: `i32` length then bytes; `-1` is NULL (`None`).
    #[inline]
    pub(crate) fn value(&mut self) -> Result<Option<&'a [u8]>> {
        let len = self.i32()?;
        if len == -1 {
            return Ok(None);
        }
        match usize::try_from(len) {
            Ok(len) => self.take(len).map(Some),
            Err(_) => Err(self.negative("value length", len)),
        }
    }

    /// A NUL-terminated byte string (without the NUL).
    pub(crate) fn cstr_bytes(&mut self) -> Result<&'a [u8]> {
        let Some(end) = memchr(self.bytes) else {
            return Err(Error::protocol(format!(
                "{} message has a string without its terminating NUL",
                self.what
            )));
        };
        let (s, rest) = self.bytes.split_at(end);
        // `rest` starts with the NUL: skip it.
        self.bytes = rest.get(1..).unwrap_or_default();
        Ok(s)
    }

    /// A NUL-terminated UTF-8 string (the session's client_encoding is always UTF8).
    pub(crate) fn cstr(&mut self) -> Result<&'a str> {
        let bytes = self.cstr_bytes()?;
        std::str::from_utf8(bytes).map_err(|_| {
            Error::protocol(format!(
                "{} message has a string that is not UTF-8",
                self.what
            ))
        })
    }

    /// Every byte not yet read.
    #[inline]
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.bytes)
    }

    /// Ends the read: any byte left over is an error.
    #[inline]
    pub(crate) fn finish(self) -> Result<()> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(self.trailing())
        }
    }

    #[cold]
    #[inline(never)]
    fn trailing(&self) -> Error {
        Error::protocol(format!(
            "{} message has {} unexpected trailing bytes",
            self.what,
            self.bytes.len()
        ))
    }
}

fn memchr(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_in_order_and_rejects_trailing_bytes() {
        let mut r = Reader::new(b"\x00\x01\xff\xff\xff\xffab\0z", "test");
        assert_eq!(r.i16().unwrap(), 1);
        assert_eq!(r.i32().unwrap(), -1);
        assert_eq!(r.cstr().unwrap(), "ab");
        assert_eq!(r.remaining(), 1);
        let err = r.finish().unwrap_err();
        assert!(
            err.to_string().contains("1 unexpected trailing bytes"),
            "{err}"
        );
    }

    #[test]
    fn short_input_is_an_error() {
        let mut r = Reader::new(b"\x00\x00\x01", "test");
        let err = r.i32().unwrap_err();
        assert!(
            err.to_string().contains("expected 4 more bytes, 3 left"),
            "{err}"
        );
    }

    #[test]
    fn values_and_nulls() {
        let mut r = Reader::new(b"\xff\xff\xff\xff\x00\x00\x00\x02hi", "test");
        assert_eq!(r.value().unwrap(), None);
        assert_eq!(r.value().unwrap(), Some(&b"hi"[..]));
        r.finish().unwrap();
    }

    #[test]
    fn negative_lengths_other_than_null_are_errors() {
        let mut r = Reader::new(b"\xff\xff\xff\xfe", "test");
        assert!(r.value().is_err());
        let mut r = Reader::new(b"\x80\x00", "test");
        assert!(r.count16("field").is_err());
    }

    #[test]
    fn value_longer_than_input_is_an_error_not_an_allocation() {
        let mut r = Reader::new(b"\x7f\xff\xff\xffab", "test");
        assert!(r.value().is_err());
    }

    #[test]
    fn unterminated_string_is_an_error() {
        let mut r = Reader::new(b"abc", "test");
        assert!(r.cstr().is_err());
    }
}
