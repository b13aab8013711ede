//! The streaming replication sub-protocol, carried inside CopyData once
//! `START_REPLICATION` has put the session in CopyBoth mode.
//!
//! From the server: XLogData (`w`, a piece of WAL or, for a logical slot, one output
//! plugin message) and the primary keepalive (`k`). To the server: the standby status
//! update (`r`) and hot standby feedback (`h`). Layouts follow the "Streaming
//! Replication Protocol" section of the PostgreSQL protocol chapter. Times are
//! microseconds since 2000-01-01 (PostgreSQL's epoch); positions are LSNs.

use super::frontend::frame;
use super::reader::Reader;
use crate::failure::{Error, Result};

/// `w`: XLogData.
const XLOG_DATA: u8 = b'w';
/// `k`: primary keepalive.
const PRIMARY_KEEPALIVE: u8 = b'k';
/// `r`: standby status update.
const STANDBY_STATUS_UPDATE: u8 = b'r';
/// `h`: hot standby feedback.
const HOT_STANDBY_FEEDBACK: u8 = b'h';

/// A message from the server inside a CopyData of a replication stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplicationMessage<'a> {
    /// `w`: WAL data (physical) or one output plugin message (logical).
    XLogData {
        /// Where this data starts in the WAL.
        wal_start: u64,
        /// The end of WAL on the server.
        wal_end: u64,
        /// The server's clock when it sent this.
        server_time: i64,
        /// The data.
        data: &'a [u8],
    },
    /// `k`: the server is alive, and says how far its WAL goes.
    PrimaryKeepalive {
        /// The end of WAL on the server.
        wal_end: u64,
        /// The server's clock when it sent this.
        server_time: i64,
        /// Whether the server asks for a status update at once (else it may time us out).
        reply_requested: bool,
    },
}

impl<'a> ReplicationMessage<'a> {
    /// Decodes the content of one CopyData. Unknown kinds and trailing bytes are errors.
    pub fn parse(data: &'a [u8]) -> Result<ReplicationMessage<'a>> {
        let mut r = Reader::new(data, "replication CopyData");
        match r.u8()? {
            XLOG_DATA => {
                let mut r = Reader::new(r.rest(), "XLogData");
                Ok(ReplicationMessage::XLogData {
                    wal_start: r.u64()?,
                    wal_end: r.u64()?,
                    server_time: r.i64()?,
                    data: r.rest(),
                })
            }
            PRIMARY_KEEPALIVE => {
                let mut r = Reader::new(r.rest(), "primary keepalive");
                let wal_end = r.u64()?;
                let server_time = r.i64()?;
                let reply_requested = match r.u8()? {
                    0 => false,
                    1 => true,
                    other => {
                        return Err(Error::protocol(format!(
                            "primary keepalive has reply flag {other}; expected 0 or 1"
                        )));
                    }
                };
                r.finish()?;
                Ok(ReplicationMessage::PrimaryKeepalive {
                    wal_end,
                    server_time,
                    reply_requested,
                })
            }
            other => Err(Error::protocol(format!(
                "unknown replication message {} in CopyData; expected XLogData ('w') or a \
                 primary keepalive ('k')",
                super::backend::show_tag(other)
            ))),
        }
    }
}

/// Positions a standby status update reports (each the LSN of the byte after the last
/// one written, flushed, applied).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StandbyStatus {
    /// Received and written.
    pub write: u64,
    /// Made durable: the server may discard WAL (and, for a logical slot, confirm) up to here.
    pub flush: u64,
    /// Applied.
    pub apply: u64,
    /// The client's clock, microseconds since 2000-01-01.
    pub client_time: i64,
    /// Asks the server to answer at once with a keepalive.
    pub reply_requested: bool,
}

/// Appends a CopyData holding a standby status update (`r`).
pub fn standby_status_update(buf: &mut Vec<u8>, status: &StandbyStatus) -> Result<()> {
    frame(buf, Some(b'd'), |buf| {
        buf.push(STANDBY_STATUS_UPDATE);
        buf.extend_from_slice(&status.write.to_be_bytes());
        buf.extend_from_slice(&status.flush.to_be_bytes());
        buf.extend_from_slice(&status.apply.to_be_bytes());
        buf.extend_from_slice(&status.client_time.to_be_bytes());
        buf.push(u8::from(status.reply_requested));
        Ok(())
    })
}

/// What hot standby feedback reports (physical replication only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HotStandbyFeedback {
    /// The client's clock, microseconds since 2000-01-01.
    pub client_time: i64,
    /// The standby's oldest running transaction (0: none).
    pub xmin: u32,
    /// Its epoch.
    pub xmin_epoch: u32,
    /// The oldest catalog_xmin of the standby's replication slots (0: none).
    pub catalog_xmin: u32,
    /// Its epoch.
    pub catalog_xmin_epoch: u32,
}

/// Appends a CopyData holding hot standby feedback (`h`).
#[cfg_attr(not(feature = "__internals"), allow(dead_code))] // physical tooling; see docs
pub fn hot_standby_feedback(buf: &mut Vec<u8>, f: &HotStandbyFeedback) -> Result<()> {
    frame(buf, Some(b'd'), |buf| {
        buf.push(HOT_STANDBY_FEEDBACK);
        buf.extend_from_slice(&f.client_time.to_be_bytes());
        buf.extend_from_slice(&f.xmin.to_be_bytes());
        buf.extend_from_slice(&f.xmin_epoch.to_be_bytes());
        buf.extend_from_slice(&f.catalog_xmin.to_be_bytes());
        buf.extend_from_slice(&f.catalog_xmin_epoch.to_be_bytes());
        Ok(())
    })
}

/// The client's clock as the replication protocol counts it: microseconds since
/// 2000-01-01 UTC (0 if the system clock is before that).
pub(crate) fn now_micros() -> i64 {
    /// Seconds from 1970-01-01 to 2000-01-01.
    const PG_EPOCH_UNIX_SECS: u64 = 946_684_800;
    let since_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let since_pg = since_unix.saturating_sub(std::time::Duration::from_secs(PG_EPOCH_UNIX_SECS));
    i64::try_from(since_pg.as_micros()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xlog(start: u64, end: u64, time: i64, data: &[u8]) -> Vec<u8> {
        let mut b = vec![b'w'];
        b.extend_from_slice(&start.to_be_bytes());
        b.extend_from_slice(&end.to_be_bytes());
        b.extend_from_slice(&time.to_be_bytes());
        b.extend_from_slice(data);
        b
    }

    #[test]
    fn xlog_data() {
        let bytes = xlog(0x16_0000_0010, 0x16_0000_0020, 42, b"Bxyz");
        assert_eq!(
            ReplicationMessage::parse(&bytes).unwrap(),
            ReplicationMessage::XLogData {
                wal_start: 0x16_0000_0010,
                wal_end: 0x16_0000_0020,
                server_time: 42,
                data: b"Bxyz",
            }
        );
        // An XLogData with no data is legal (an empty WAL piece).
        let bytes = xlog(1, 2, 3, b"");
        assert!(matches!(
            ReplicationMessage::parse(&bytes).unwrap(),
            ReplicationMessage::XLogData { data: b"", .. }
        ));
    }

    #[test]
    fn keepalive() {
        let mut b = vec![b'k'];
        b.extend_from_slice(&7u64.to_be_bytes());
        b.extend_from_slice(&(-1i64).to_be_bytes());
        b.push(1);
        assert_eq!(
            ReplicationMessage::parse(&b).unwrap(),
            ReplicationMessage::PrimaryKeepalive {
                wal_end: 7,
                server_time: -1,
                reply_requested: true
            }
        );
        // A bad flag, a trailing byte and every truncation are errors, never panics.
        let mut bad = b.clone();
        *bad.last_mut().unwrap() = 2;
        assert!(ReplicationMessage::parse(&bad).is_err());
        let mut long = b.clone();
        long.push(0);
        assert!(ReplicationMessage::parse(&long).is_err());
        for n in 0..b.len() {
            assert!(ReplicationMessage::parse(&b[..n]).is_err(), "{n}");
        }
    }

    #[test]
    fn truncated_xlog_data_and_unknown_kinds_are_errors() {
        let b = xlog(1, 2, 3, b"");
        for n in 0..b.len() {
            assert!(ReplicationMessage::parse(&b[..n]).is_err(), "{n}");
        }
        let err = ReplicationMessage::parse(b"z").unwrap_err();
        assert!(
            err.to_string().contains("unknown replication message 'z'"),
            "{err}"
        );
    }

    #[test]
    fn standby_status_update_golden_bytes() {
        let mut buf = Vec::new();
        standby_status_update(
            &mut buf,
            &StandbyStatus {
                write: 0x0102,
                flush: 0x0101,
                apply: 0x0100,
                client_time: 5,
                reply_requested: true,
            },
        )
        .unwrap();
        let mut want = vec![b'd', 0, 0, 0, 38, b'r'];
        for v in [0x0102u64, 0x0101, 0x0100] {
            want.extend_from_slice(&v.to_be_bytes());
        }
        want.extend_from_slice(&5i64.to_be_bytes());
        want.push(1);
        assert_eq!(buf, want);
    }

    #[test]
    fn hot_standby_feedback_golden_bytes() {
        let mut buf = Vec::new();
        hot_standby_feedback(
            &mut buf,
            &HotStandbyFeedback {
                client_time: 1,
                xmin: 2,
                xmin_epoch: 3,
                catalog_xmin: 4,
                catalog_xmin_epoch: 5,
            },
        )
        .unwrap();
        assert_eq!(&buf[..6], &[b'd', 0, 0, 0, 29, b'h']);
        assert_eq!(buf.len(), 1 + 4 + 1 + 8 + 16);
    }

    #[test]
    fn the_clock_is_after_2000() {
        // 2020-01-01 is 631,152,000 s after PostgreSQL's epoch.
        assert!(now_micros() > 631_152_000_000_000);
    }
}
