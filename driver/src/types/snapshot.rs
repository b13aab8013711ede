//! [`Snapshot`] <-> `pg_snapshot` (PostgreSQL 13+), and <- `txid_snapshot` (read only: the
//! server has no cast from `pg_snapshot` to it): which transactions a snapshot sees, as
//! `pg_current_snapshot()` returns it.
//!
//! Binary format (`pg_snapshot_send`): i32 count of in-progress IDs, i64 `xmin`, i64
//! `xmax`, then each in-progress ID as i64. Text: `xmin:xmax:xip,xip,...`. The server
//! accepts a snapshot only with `0 < xmin <= xmax` and the in-progress IDs ascending in
//! `[xmin, xmax)`; sending another is an encode error rather than a value the server
//! refuses or (for repeated IDs) silently changes.

use std::fmt;
use std::str::FromStr;

use super::bounded::{Reader, wire_len};
use super::{
    Decode, DecodeError, Encode, EncodeBuf, EncodeError, Format, IsNull, Oid, Type, TypeInfo,
    TypeRef, ValueRef, Xid8,
};

/// A transaction snapshot (`pg_snapshot`, `txid_snapshot`).
///
/// ```
/// use quarry_driver::types::{Snapshot, Xid8};
/// let s: Snapshot = "10:20:12,15".parse().unwrap();
/// assert_eq!(s.xip, [Xid8(12), Xid8(15)]);
/// assert_eq!(s.to_string(), "10:20:12,15");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Snapshot {
    /// The oldest transaction still running: every older one is visible or rolled back.
    pub xmin: Xid8,
    /// The first transaction not yet assigned: it and every later one are invisible.
    pub xmax: Xid8,
    /// The transactions in `[xmin, xmax)` running when the snapshot was taken, ascending.
    pub xip: Vec<Xid8>,
}

impl Snapshot {
    /// Fails unless the server would take this snapshot as it is.
    fn check(&self) -> Result<(), String> {
        if self.xmin.0 == 0 || self.xmax < self.xmin {
            return Err(format!(
                "snapshot {self} is invalid: xmin must be above 0 and at most xmax"
            ));
        }
        let mut last = None;
        for &x in &self.xip {
            if x < self.xmin || x >= self.xmax || last.is_some_and(|l| x <= l) {
                return Err(format!(
                    "snapshot {self} is invalid: the in-progress transactions must be \
                     ascending, without repeats, in [xmin, xmax)"
                ));
            }
            last = Some(x);
        }
        Ok(())
    }
}

impl fmt::Display for Snapshot {
    /// `xmin:xmax:xip,...`, as `pg_snapshot_out` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:", self.xmin, self.xmax)?;
        for (i, x) in self.xip.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{x}")?;
        }
        Ok(())
    }
}

impl FromStr for Snapshot {
    type Err = DecodeError;
    fn from_str(s: &str) -> Result<Snapshot, DecodeError> {
        let bad = || {
            DecodeError::new(format!(
                "invalid pg_snapshot {s:?}: expected xmin:xmax:xip,..."
            ))
        };
        let mut parts = s.splitn(3, ':');
        let (Some(xmin), Some(xmax), Some(xip)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        let xid = |t: &str| t.parse::<Xid8>().map_err(|_| bad());
        let xip = if xip.is_empty() {
            Vec::new()
        } else {
            xip.split(',').map(xid).collect::<Result<_, _>>()?
        };
        Ok(Snapshot {
            xmin: xid(xmin)?,
            xmax: xid(xmax)?,
            xip,
        })
    }
}

impl Type for Snapshot {
    fn type_ref() -> TypeRef {
        TypeRef::Oid(Oid::PG_SNAPSHOT)
    }
    /// `pg_snapshot` or `txid_snapshot`.
    fn compatible(ty: &TypeInfo) -> bool {
        ty.oid() == Oid::PG_SNAPSHOT || ty.oid() == Oid::TXID_SNAPSHOT
    }
}

impl Encode for Snapshot {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        self.check().map_err(EncodeError::new)?;
        buf.extend_from_slice(
            &wire_len(self.xip.len(), "a snapshot's transaction list")?.to_be_bytes(),
        );
        for x in [self.xmin, self.xmax].iter().chain(&self.xip) {
            buf.extend_from_slice(&x.0.to_be_bytes());
        }
        Ok(IsNull::No)
    }
    fn param_type(&self) -> TypeRef {
        Self::type_ref()
    }
    fn size_hint(&self) -> usize {
        self.xip.len().saturating_mul(8).saturating_add(20)
    }
}

impl<'r> Decode<'r> for Snapshot {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        let bytes = value.non_null::<Self>()?;
        match value.format() {
            Format::Binary => {
                let mut r = Reader::new(bytes, "pg_snapshot");
                let count = r.count("transactions", 8)?;
                let xmin = Xid8(r.u64()?);
                let xmax = Xid8(r.u64()?);
                let mut xip = Vec::with_capacity(count);
                for _ in 0..count {
                    xip.push(Xid8(r.u64()?));
                }
                r.finish()?;
                Ok(Snapshot { xmin, xmax, xip })
            }
            Format::Text => std::str::from_utf8(bytes)
                .map_err(|_| DecodeError::new("invalid pg_snapshot value: not UTF-8"))?
                .parse(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::read::testing::{bin, encode, hex, text};

    #[test]
    fn golden_bytes_and_text() {
        let s: Snapshot = "10:20:12,15".parse().unwrap();
        let bytes = encode(&s);
        assert_eq!(
            bytes,
            hex(concat!(
                "\\x00000002",
                "000000000000000a0000000000000014",
                "000000000000000c000000000000000f"
            ))
        );
        assert_eq!(bin::<Snapshot>(Oid::PG_SNAPSHOT, &bytes), Ok(s.clone()));
        assert_eq!(text::<Snapshot>(Oid::TXID_SNAPSHOT, "10:20:12,15"), Ok(s));
        assert_eq!(
            text::<Snapshot>(Oid::PG_SNAPSHOT, "5:5:"),
            Ok(Snapshot {
                xmin: Xid8(5),
                xmax: Xid8(5),
                xip: vec![]
            })
        );
        // A count the bytes cannot hold fails before allocating.
        assert!(
            bin::<Snapshot>(
                Oid::PG_SNAPSHOT,
                &hex("\\x7fffffff00000000000000010000000000000002")
            )
            .is_err()
        );
        for bad in ["", "1:2", "a:2:", "1:2:x"] {
            assert!(text::<Snapshot>(Oid::PG_SNAPSHOT, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn invalid_snapshots_are_not_sent() {
        for bad in [
            "0:5:",
            "6:5:",
            "10:20:9",
            "10:20:20",
            "10:20:15,12",
            "10:20:12,12",
        ] {
            let s: Snapshot = bad.parse().unwrap();
            assert!(s.encode(&mut EncodeBuf::new()).is_err(), "{bad}");
        }
    }
}
