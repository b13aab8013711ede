//! pgoutput, the logical decoding output plugin built into PostgreSQL: its messages as
//! they arrive in the data of an XLogData.
//!
//! Layouts follow the "Logical Replication Message Formats" section of the PostgreSQL
//! protocol chapter (and `src/backend/replication/logical/proto.c`). Protocol version 2
//! adds the xid of a streamed transaction to the data messages sent between Stream
//! Start and Stream Stop, which is why [`LogicalMessage::parse`] is told whether a
//! stream block is open; version 4 (`streaming = parallel`) adds the abort LSN and time
//! to Stream Abort. Tuple values are not decoded here: their positions are recorded,
//! relative to the start of the message, for the layer that knows the column types.

use std::ops::Range;

use smallvec::SmallVec;

use super::reader::Reader;
use crate::failure::{Error, Result};
use crate::types::Oid;

/// One column value of a tuple, as the message carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TupleValue {
    /// `n`: NULL.
    Null,
    /// `u`: an unchanged TOASTed value, which the server did not send. Not NULL: the
    /// column has a value, the message just does not carry it.
    Unchanged,
    /// `t`: text format; the bytes at this range of the message.
    Text(Range<usize>),
    /// `b`: binary format; the bytes at this range of the message.
    Binary(Range<usize>),
}

/// The column values of one tuple (TupleData).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TupleData {
    /// The values in column order.
    pub values: SmallVec<[TupleValue; 8]>,
}

/// Which old values an Update or Delete carries, as the table's replica identity gives
/// them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OldTuple {
    /// `K`: the replica identity key's columns (the others are NULL).
    Key(TupleData),
    /// `O`: the whole old row (`REPLICA IDENTITY FULL`).
    Row(TupleData),
}

/// One column of a Relation message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelationColumn<'a> {
    /// Flags: 1 if the column is part of the replica identity key.
    pub flags: u8,
    /// The column's name.
    pub name: &'a str,
    /// Its type.
    pub type_oid: Oid,
    /// Its type modifier.
    pub type_modifier: i32,
}

/// A decoded pgoutput message, borrowing its strings from the message bytes.
// Parsed, converted and dropped at once, one at a time: boxing the tuples would cost an
// allocation per row for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogicalMessage<'a> {
    /// `B`.
    Begin {
        /// The LSN of the commit record.
        final_lsn: u64,
        /// Commit time (microseconds since 2000-01-01).
        commit_time: i64,
        /// The transaction id.
        xid: u32,
    },
    /// `C`.
    Commit {
        /// Flags (unused, 0).
        flags: u8,
        /// The LSN of the commit record.
        commit_lsn: u64,
        /// The end of the transaction in the WAL.
        end_lsn: u64,
        /// Commit time.
        commit_time: i64,
    },
    /// `O`: the transaction came from another node.
    Origin {
        /// The LSN of the commit on the origin server.
        commit_lsn: u64,
        /// The origin's name.
        name: &'a str,
    },
    /// `R`: describes a table before its first change in a session (and after DDL).
    Relation {
        /// The xid, inside a stream block.
        xid: Option<u32>,
        /// The table's OID.
        id: Oid,
        /// Its schema (`""` for `pg_catalog`).
        namespace: &'a str,
        /// Its name.
        name: &'a str,
        /// `pg_class.relreplident`: `d` default, `n` nothing, `f` full, `i` index.
        replica_identity: u8,
        /// The columns.
        columns: Vec<RelationColumn<'a>>,
    },
    /// `Y`: a user type used by a following Relation.
    Type {
        /// The xid, inside a stream block.
        xid: Option<u32>,
        /// The type's OID.
        id: Oid,
        /// Its schema (`""` for `pg_catalog`).
        namespace: &'a str,
        /// Its name.
        name: &'a str,
    },
    /// `I`.
    Insert {
        /// The xid, inside a stream block.
        xid: Option<u32>,
        /// The table.
        relation: Oid,
        /// The new row.
        new: TupleData,
    },
    /// `U`.
    Update {
        /// The xid, inside a stream block.
        xid: Option<u32>,
        /// The table.
        relation: Oid,
        /// The old key or row, when the replica identity makes the server send it.
        old: Option<OldTuple>,
        /// The new row.
        new: TupleData,
    },
    /// `D`.
    Delete {
        /// The xid, inside a stream block.
        xid: Option<u32>,
        /// The table.
        relation: Oid,
        /// The old key or row.
        old: OldTuple,
    },
    /// `T`.
    Truncate {
        /// The xid, inside a stream block.
        xid: Option<u32>,
        /// Bit 1: CASCADE; bit 2: RESTART IDENTITY.
        options: u8,
        /// The tables truncated.
        relations: Vec<Oid>,
    },
    /// `M`: `pg_logical_emit_message`.
    Message {
        /// The xid, inside a stream block.
        xid: Option<u32>,
        /// Whether the message is part of its transaction.
        transactional: bool,
        /// Its LSN.
        lsn: u64,
        /// Its prefix.
        prefix: &'a str,
        /// Its content.
        content: &'a [u8],
    },
    /// `S`: the start of a block of a streamed (in-progress) transaction.
    StreamStart {
        /// The transaction.
        xid: u32,
        /// Whether this is its first block.
        first_segment: bool,
    },
    /// `E`: the end of a stream block.
    StreamStop,
    /// `c`: a streamed transaction committed.
    StreamCommit {
        /// The transaction.
        xid: u32,
        /// Flags (unused, 0).
        flags: u8,
        /// The LSN of the commit record.
        commit_lsn: u64,
        /// The end of the transaction in the WAL.
        end_lsn: u64,
        /// Commit time.
        commit_time: i64,
    },
    /// `A`: a streamed transaction (or one of its subtransactions) aborted.
    StreamAbort {
        /// The top-level transaction.
        xid: u32,
        /// The aborted (sub)transaction; equal to `xid` when the whole transaction aborted.
        subxid: u32,
        /// The abort's LSN and time (protocol 4 with `streaming = parallel` only).
        abort: Option<(u64, i64)>,
    },
}

impl<'a> LogicalMessage<'a> {
    /// Decodes one pgoutput message. `in_stream`: whether a Stream Start was seen without
    /// its Stream Stop (then data messages carry an xid). Trailing bytes are an error.
    pub fn parse(data: &'a [u8], in_stream: bool) -> Result<LogicalMessage<'a>> {
        let mut r = Reader::new(data, "pgoutput");
        let tag = r.u8()?;
        let what = name(tag).ok_or_else(|| {
            Error::protocol(format!(
                "unknown pgoutput message {}; this driver reads protocol versions 1 to 4 \
                 without two-phase commit",
                super::backend::show_tag(tag)
            ))
        })?;
        let mut r = Reader::new(r.rest(), what);
        let message = match tag {
            b'B' => LogicalMessage::Begin {
                final_lsn: r.u64()?,
                commit_time: r.i64()?,
                xid: r.u32()?,
            },
            b'C' => LogicalMessage::Commit {
                flags: r.u8()?,
                commit_lsn: r.u64()?,
                end_lsn: r.u64()?,
                commit_time: r.i64()?,
            },
            b'O' => LogicalMessage::Origin {
                commit_lsn: r.u64()?,
                name: r.cstr()?,
            },
            b'R' => {
                let xid = stream_xid(&mut r, in_stream)?;
                let id = Oid(r.u32()?);
                let namespace = r.cstr()?;
                let name = r.cstr()?;
                let replica_identity = r.u8()?;
                let n = r.count16("column")?;
                // Each column takes at least 10 bytes: never reserve more than the input holds.
                let mut columns = Vec::with_capacity(n.min(r.remaining() / 10));
                for _ in 0..n {
                    columns.push(RelationColumn {
                        flags: r.u8()?,
                        name: r.cstr()?,
                        type_oid: Oid(r.u32()?),
                        type_modifier: r.i32()?,
                    });
                }
                LogicalMessage::Relation {
                    xid,
                    id,
                    namespace,
                    name,
                    replica_identity,
                    columns,
                }
            }
            b'Y' => LogicalMessage::Type {
                xid: stream_xid(&mut r, in_stream)?,
                id: Oid(r.u32()?),
                namespace: r.cstr()?,
                name: r.cstr()?,
            },
            b'I' => {
                let xid = stream_xid(&mut r, in_stream)?;
                let relation = Oid(r.u32()?);
                expect_kind(&mut r, b'N', "the new tuple ('N')")?;
                LogicalMessage::Insert {
                    xid,
                    relation,
                    new: tuple(&mut r, data.len())?,
                }
            }
            b'U' => {
                let xid = stream_xid(&mut r, in_stream)?;
                let relation = Oid(r.u32()?);
                let old = match r.u8()? {
                    b'K' => Some(OldTuple::Key(tuple(&mut r, data.len())?)),
                    b'O' => Some(OldTuple::Row(tuple(&mut r, data.len())?)),
                    b'N' => None,
                    other => return Err(bad_kind(what, other, "'K', 'O' or 'N'")),
                };
                if old.is_some() {
                    expect_kind(&mut r, b'N', "the new tuple ('N')")?;
                }
                LogicalMessage::Update {
                    xid,
                    relation,
                    old,
                    new: tuple(&mut r, data.len())?,
                }
            }
            b'D' => {
                let xid = stream_xid(&mut r, in_stream)?;
                let relation = Oid(r.u32()?);
                let old = match r.u8()? {
                    b'K' => OldTuple::Key(tuple(&mut r, data.len())?),
                    b'O' => OldTuple::Row(tuple(&mut r, data.len())?),
                    other => return Err(bad_kind(what, other, "'K' or 'O'")),
                };
                LogicalMessage::Delete { xid, relation, old }
            }
            b'T' => {
                let xid = stream_xid(&mut r, in_stream)?;
                let n = r.i32()?;
                let n = usize::try_from(n).map_err(|_| {
                    Error::protocol(format!("{what} message has a negative table count ({n})"))
                })?;
                let options = r.u8()?;
                let mut relations = Vec::with_capacity(n.min(r.remaining() / 4));
                for _ in 0..n {
                    relations.push(Oid(r.u32()?));
                }
                LogicalMessage::Truncate {
                    xid,
                    options,
                    relations,
                }
            }
            b'M' => {
                let xid = stream_xid(&mut r, in_stream)?;
                let transactional = match r.u8()? {
                    0 => false,
                    1 => true,
                    other => {
                        return Err(Error::protocol(format!(
                            "{what} message has flags {other}; expected 0 or 1"
                        )));
                    }
                };
                let lsn = r.u64()?;
                let prefix = r.cstr()?;
                let len = r.i32()?;
                let len = usize::try_from(len).map_err(|_| {
                    Error::protocol(format!("{what} message has a negative length ({len})"))
                })?;
                LogicalMessage::Message {
                    xid,
                    transactional,
                    lsn,
                    prefix,
                    content: r.take(len)?,
                }
            }
            b'S' => LogicalMessage::StreamStart {
                xid: r.u32()?,
                first_segment: match r.u8()? {
                    0 => false,
                    1 => true,
                    other => {
                        return Err(Error::protocol(format!(
                            "{what} message has first-segment flag {other}; expected 0 or 1"
                        )));
                    }
                },
            },
            b'E' => LogicalMessage::StreamStop,
            b'c' => LogicalMessage::StreamCommit {
                xid: r.u32()?,
                flags: r.u8()?,
                commit_lsn: r.u64()?,
                end_lsn: r.u64()?,
                commit_time: r.i64()?,
            },
            b'A' => {
                let xid = r.u32()?;
                let subxid = r.u32()?;
                // Protocol 4 with parallel streaming adds the abort LSN and time; either
                // form is complete, anything else is truncated or has trailing bytes.
                let abort = if r.remaining() == 0 {
                    None
                } else {
                    Some((r.u64()?, r.i64()?))
                };
                LogicalMessage::StreamAbort { xid, subxid, abort }
            }
            _ => unreachable_tag(tag)?,
        };
        r.finish()?;
        Ok(message)
    }
}

/// The message name of a pgoutput tag this decoder reads, for errors.
fn name(tag: u8) -> Option<&'static str> {
    Some(match tag {
        b'B' => "pgoutput Begin",
        b'C' => "pgoutput Commit",
        b'O' => "pgoutput Origin",
        b'R' => "pgoutput Relation",
        b'Y' => "pgoutput Type",
        b'I' => "pgoutput Insert",
        b'U' => "pgoutput Update",
        b'D' => "pgoutput Delete",
        b'T' => "pgoutput Truncate",
        b'M' => "pgoutput Message",
        b'S' => "pgoutput Stream Start",
        b'E' => "pgoutput Stream Stop",
        b'c' => "pgoutput Stream Commit",
        b'A' => "pgoutput Stream Abort",
        _ => return None,
    })
}

/// A tag `name` knows but `parse` does not match: an error rather than a panic, though
/// the two lists are kept together.
fn unreachable_tag(tag: u8) -> Result<LogicalMessage<'static>> {
    Err(Error::protocol(format!(
        "pgoutput message {} is not decoded",
        super::backend::show_tag(tag)
    )))
}

fn stream_xid(r: &mut Reader<'_>, in_stream: bool) -> Result<Option<u32>> {
    Ok(if in_stream { Some(r.u32()?) } else { None })
}

fn bad_kind(what: &str, got: u8, expected: &str) -> Error {
    Error::protocol(format!(
        "{what} message has tuple kind {}; expected {expected}",
        super::backend::show_tag(got)
    ))
}

fn expect_kind(r: &mut Reader<'_>, want: u8, what: &str) -> Result<()> {
    let got = r.u8()?;
    if got == want {
        Ok(())
    } else {
        Err(Error::protocol(format!(
            "pgoutput message has {} where {what} was due",
            super::backend::show_tag(got)
        )))
    }
}

/// Reads a TupleData; `total` is the whole message's length (the reader holds its tail),
/// so value ranges are relative to the message's start.
fn tuple(r: &mut Reader<'_>, total: usize) -> Result<TupleData> {
    let n = r.count16("column")?;
    let mut values = SmallVec::with_capacity(n.min(r.remaining()));
    for _ in 0..n {
        let value = match r.u8()? {
            b'n' => TupleValue::Null,
            b'u' => TupleValue::Unchanged,
            kind @ (b't' | b'b') => {
                let len = r.i32()?;
                let len = usize::try_from(len).map_err(|_| {
                    Error::protocol(format!(
                        "pgoutput tuple has a negative value length ({len})"
                    ))
                })?;
                let start = total - r.remaining();
                r.take(len)?;
                let range = start..start + len;
                if kind == b't' {
                    TupleValue::Text(range)
                } else {
                    TupleValue::Binary(range)
                }
            }
            other => {
                return Err(Error::protocol(format!(
                    "pgoutput tuple has value kind {}; expected 'n', 'u', 't' or 'b'",
                    super::backend::show_tag(other)
                )));
            }
        };
        values.push(value);
    }
    Ok(TupleData { values })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny builder for hand-made messages.
    #[derive(Default)]
    struct B(Vec<u8>);
    impl B {
        fn tag(t: u8) -> B {
            B(vec![t])
        }
        fn u8(mut self, v: u8) -> B {
            self.0.push(v);
            self
        }
        fn u16(mut self, v: u16) -> B {
            self.0.extend_from_slice(&v.to_be_bytes());
            self
        }
        fn u32(mut self, v: u32) -> B {
            self.0.extend_from_slice(&v.to_be_bytes());
            self
        }
        fn u64(mut self, v: u64) -> B {
            self.0.extend_from_slice(&v.to_be_bytes());
            self
        }
        fn s(mut self, v: &str) -> B {
            self.0.extend_from_slice(v.as_bytes());
            self.0.push(0);
            self
        }
        fn text(self, v: &str) -> B {
            let b = self.u8(b't').u32(u32::try_from(v.len()).unwrap());
            B([b.0, v.as_bytes().to_vec()].concat())
        }
    }

    fn every_truncation_fails(bytes: &[u8], in_stream: bool) {
        for n in 0..bytes.len() {
            assert!(
                LogicalMessage::parse(&bytes[..n], in_stream).is_err(),
                "a {n}-byte prefix of {bytes:?} was accepted"
            );
        }
        let mut long = bytes.to_vec();
        long.push(0);
        assert!(
            LogicalMessage::parse(&long, in_stream).is_err(),
            "trailing byte accepted"
        );
    }

    #[test]
    fn begin_commit_origin() {
        let b = B::tag(b'B').u64(0x100).u64(7).u32(42).0;
        assert_eq!(
            LogicalMessage::parse(&b, false).unwrap(),
            LogicalMessage::Begin {
                final_lsn: 0x100,
                commit_time: 7,
                xid: 42
            }
        );
        every_truncation_fails(&b, false);
        let c = B::tag(b'C').u8(0).u64(0x100).u64(0x128).u64(7).0;
        assert_eq!(
            LogicalMessage::parse(&c, false).unwrap(),
            LogicalMessage::Commit {
                flags: 0,
                commit_lsn: 0x100,
                end_lsn: 0x128,
                commit_time: 7
            }
        );
        every_truncation_fails(&c, false);
        let o = B::tag(b'O').u64(9).s("node_a").0;
        assert_eq!(
            LogicalMessage::parse(&o, false).unwrap(),
            LogicalMessage::Origin {
                commit_lsn: 9,
                name: "node_a"
            }
        );
        every_truncation_fails(&o, false);
    }

    #[test]
    fn relation_and_type_with_and_without_stream_xid() {
        let body = |b: B| {
            b.u32(16384)
                .s("public")
                .s("t")
                .u8(b'd')
                .u16(2)
                .u8(1)
                .s("id")
                .u32(23)
                .u32(u32::MAX)
                .u8(0)
                .s("v")
                .u32(25)
                .u32(u32::MAX)
        };
        let r = body(B::tag(b'R')).0;
        let m = LogicalMessage::parse(&r, false).unwrap();
        let LogicalMessage::Relation {
            xid: None,
            id,
            namespace: "public",
            name: "t",
            replica_identity: b'd',
            columns,
        } = m
        else {
            panic!("{m:?}")
        };
        assert_eq!(id, Oid(16384));
        assert_eq!(columns.len(), 2);
        assert_eq!(
            columns[0],
            RelationColumn {
                flags: 1,
                name: "id",
                type_oid: Oid(23),
                type_modifier: -1
            }
        );
        every_truncation_fails(&r, false);
        let streamed = body(B::tag(b'R').u32(77)).0;
        assert!(matches!(
            LogicalMessage::parse(&streamed, true).unwrap(),
            LogicalMessage::Relation { xid: Some(77), .. }
        ));
        every_truncation_fails(&streamed, true);

        let y = B::tag(b'Y').u32(16400).s("public").s("mood").0;
        assert_eq!(
            LogicalMessage::parse(&y, false).unwrap(),
            LogicalMessage::Type {
                xid: None,
                id: Oid(16400),
                namespace: "public",
                name: "mood"
            }
        );
        every_truncation_fails(&y, false);
    }

    #[test]
    fn tuples_keep_null_unchanged_text_and_binary_apart() {
        let m = B::tag(b'I')
            .u32(16384)
            .u8(b'N')
            .u16(4)
            .u8(b'n')
            .u8(b'u')
            .text("hi")
            .u8(b'b')
            .u32(4)
            .u32(5)
            .0;
        let LogicalMessage::Insert { new, .. } = LogicalMessage::parse(&m, false).unwrap() else {
            panic!()
        };
        assert_eq!(new.values[0], TupleValue::Null);
        assert_eq!(new.values[1], TupleValue::Unchanged);
        let TupleValue::Text(r) = new.values[2].clone() else {
            panic!()
        };
        assert_eq!(&m[r], b"hi");
        let TupleValue::Binary(r) = new.values[3].clone() else {
            panic!()
        };
        assert_eq!(&m[r], &[0, 0, 0, 5]);
        every_truncation_fails(&m, false);
    }

    #[test]
    fn update_with_old_key_old_row_or_none_and_delete() {
        let tup = |b: B| b.u16(1).text("1");
        for (kind, want_key) in [(b'K', Some(true)), (b'O', Some(false)), (b'N', None)] {
            let mut b = B::tag(b'U').u32(5).u8(kind);
            if kind != b'N' {
                b = tup(b).u8(b'N');
            }
            let m = tup(b).0;
            let LogicalMessage::Update { old, new, .. } = LogicalMessage::parse(&m, false).unwrap()
            else {
                panic!()
            };
            assert_eq!(new.values.len(), 1);
            assert_eq!(
                old.map(|o| matches!(o, OldTuple::Key(_))),
                want_key,
                "{}",
                char::from(kind)
            );
            every_truncation_fails(&m, false);
        }
        // An old tuple must be followed by the new one.
        let m = tup(tup(B::tag(b'U').u32(5).u8(b'K')).u8(b'X')).0;
        assert!(LogicalMessage::parse(&m, false).is_err());
        let d = tup(B::tag(b'D').u32(5).u8(b'O')).0;
        assert!(matches!(
            LogicalMessage::parse(&d, false).unwrap(),
            LogicalMessage::Delete {
                old: OldTuple::Row(_),
                ..
            }
        ));
        every_truncation_fails(&d, false);
        let bad = tup(B::tag(b'D').u32(5).u8(b'N')).0;
        assert!(LogicalMessage::parse(&bad, false).is_err());
    }

    #[test]
    fn truncate_message_and_stream_messages() {
        let t = B::tag(b'T').u32(2).u8(3).u32(10).u32(11).0;
        assert_eq!(
            LogicalMessage::parse(&t, false).unwrap(),
            LogicalMessage::Truncate {
                xid: None,
                options: 3,
                relations: vec![Oid(10), Oid(11)]
            }
        );
        every_truncation_fails(&t, false);
        let m = B::tag(b'M').u32(9).u8(1).u64(0x50).s("app").u32(3).0;
        let m = [m, b"abc".to_vec()].concat();
        assert_eq!(
            LogicalMessage::parse(&m, true).unwrap(),
            LogicalMessage::Message {
                xid: Some(9),
                transactional: true,
                lsn: 0x50,
                prefix: "app",
                content: b"abc"
            }
        );
        every_truncation_fails(&m, true);
        let s = B::tag(b'S').u32(9).u8(1).0;
        assert_eq!(
            LogicalMessage::parse(&s, false).unwrap(),
            LogicalMessage::StreamStart {
                xid: 9,
                first_segment: true
            }
        );
        every_truncation_fails(&s, false);
        assert_eq!(
            LogicalMessage::parse(b"E", true).unwrap(),
            LogicalMessage::StreamStop
        );
        let c = B::tag(b'c').u32(9).u8(0).u64(1).u64(2).u64(3).0;
        assert!(matches!(
            LogicalMessage::parse(&c, false).unwrap(),
            LogicalMessage::StreamCommit {
                xid: 9,
                end_lsn: 2,
                ..
            }
        ));
        every_truncation_fails(&c, false);
        let a = B::tag(b'A').u32(9).u32(10).0;
        assert_eq!(
            LogicalMessage::parse(&a, false).unwrap(),
            LogicalMessage::StreamAbort {
                xid: 9,
                subxid: 10,
                abort: None
            }
        );
        let a4 = B::tag(b'A').u32(9).u32(9).u64(0x77).u64(5).0;
        assert_eq!(
            LogicalMessage::parse(&a4, false).unwrap(),
            LogicalMessage::StreamAbort {
                xid: 9,
                subxid: 9,
                abort: Some((0x77, 5))
            }
        );
        // Between the two forms: neither.
        for n in a.len() + 1..a4.len() {
            assert!(LogicalMessage::parse(&a4[..n], false).is_err(), "{n}");
        }
    }

    #[test]
    fn hostile_counts_and_kinds_are_errors_not_allocations() {
        // 32767 columns claimed, none there.
        let r = B::tag(b'R').u32(1).s("s").s("t").u8(b'd').u16(0x7fff).0;
        assert!(LogicalMessage::parse(&r, false).is_err());
        let t = B::tag(b'T').u32(0x7fff_ffff).u8(0).0;
        assert!(LogicalMessage::parse(&t, false).is_err());
        let neg = B::tag(b'T').u32(u32::MAX).u8(0).0;
        assert!(LogicalMessage::parse(&neg, false).is_err());
        let i = B::tag(b'I').u32(1).u8(b'N').u16(1).u8(b't').u32(u32::MAX).0;
        assert!(LogicalMessage::parse(&i, false).is_err());
        let i = B::tag(b'I').u32(1).u8(b'N').u16(1).u8(b'x').0;
        assert!(LogicalMessage::parse(&i, false).is_err());
        for tag in [b'P', b'K', b'b', b'r', b'p', 0, 0xff] {
            let err = LogicalMessage::parse(&[tag, 0, 0, 0, 0], false).unwrap_err();
            assert!(
                err.to_string().contains("unknown pgoutput message"),
                "{err}"
            );
        }
        assert!(LogicalMessage::parse(b"", false).is_err());
    }
}
