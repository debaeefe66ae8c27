//! The CPG service's ordered messages (executive to executive, through the
//! ordering layer), with bounded decoding: a message from the ring that
//! does not decode is dropped and counted, never a panic.
//!
//! ```text
//! u8 kind, then:
//! JOIN      u64 seq, u64 conn, u32 pid, name
//! LEAVE     u64 seq, u64 conn, u32 pid, name
//! MCAST     u64 conn, u32 pid, data
//! PROCDOWN  u64 seq, u64 conn
//! ANNOUNCE  u32 n <= MAX_ANNOUNCE, n x (name, u64 conn, u32 pid)
//! ```
//! `seq` numbers the sender's membership operations (see `PendingOp`).

use ais_ipc::cpg::{MAX_DATA, NAME_MAX};
use ais_ipc::{DecodeError, Reader, Writer};

use crate::service::Encode;

/// Most memberships one node may hold, so one announcement is bounded.
pub const MAX_ANNOUNCE: usize = 16 * 1024;

const JOIN: u8 = 1;
const LEAVE: u8 = 2;
const MCAST: u8 = 3;
const PROCDOWN: u8 = 4;
const ANNOUNCE: u8 = 5;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterMsg<'a> {
    Join {
        seq: u64,
        conn: u64,
        pid: u32,
        name: &'a [u8],
    },
    Leave {
        seq: u64,
        conn: u64,
        pid: u32,
        name: &'a [u8],
    },
    Mcast {
        conn: u64,
        pid: u32,
        data: &'a [u8],
    },
    ProcDown {
        seq: u64,
        conn: u64,
    },
    /// The sender's own memberships: `(group, conn, pid)`.
    Announce {
        members: Vec<(&'a [u8], u64, u32)>,
    },
}

impl Encode for ClusterMsg<'_> {
    fn encode_into(&self, w: &mut Writer) {
        match self {
            ClusterMsg::Join { seq, conn, pid, name } => {
                w.u8(JOIN).u64(*seq).u64(*conn).u32(*pid).bytes(name);
            }
            ClusterMsg::Leave { seq, conn, pid, name } => {
                w.u8(LEAVE).u64(*seq).u64(*conn).u32(*pid).bytes(name);
            }
            ClusterMsg::Mcast { conn, pid, data } => {
                w.u8(MCAST).u64(*conn).u32(*pid).bytes(data);
            }
            ClusterMsg::ProcDown { seq, conn } => {
                w.u8(PROCDOWN).u64(*seq).u64(*conn);
            }
            ClusterMsg::Announce { members } => {
                let members = &members[..members.len().min(MAX_ANNOUNCE)];
                w.u8(ANNOUNCE).u32(members.len() as u32);
                for (name, conn, pid) in members {
                    w.bytes(name).u64(*conn).u32(*pid);
                }
            }
        }
    }
}

impl<'a> ClusterMsg<'a> {
    pub fn decode(payload: &'a [u8]) -> Result<ClusterMsg<'a>, DecodeError> {
        let mut r = Reader::new(payload);
        let msg = match r.u8("kind")? {
            JOIN => ClusterMsg::Join {
                seq: r.u64("seq")?,
                conn: r.u64("conn")?,
                pid: r.u32("pid")?,
                name: r.bytes(NAME_MAX, "group name")?,
            },
            LEAVE => ClusterMsg::Leave {
                seq: r.u64("seq")?,
                conn: r.u64("conn")?,
                pid: r.u32("pid")?,
                name: r.bytes(NAME_MAX, "group name")?,
            },
            MCAST => {
                ClusterMsg::Mcast { conn: r.u64("conn")?, pid: r.u32("pid")?, data: r.bytes(MAX_DATA, "message")? }
            }
            PROCDOWN => ClusterMsg::ProcDown { seq: r.u64("seq")?, conn: r.u64("conn")? },
            ANNOUNCE => {
                // Smallest entry: empty name (4) + conn (8) + pid (4).
                let n = r.count(MAX_ANNOUNCE, 16, "announce count")?;
                let mut members = Vec::with_capacity(n);
                for _ in 0..n {
                    members.push((r.bytes(NAME_MAX, "group name")?, r.u64("conn")?, r.u32("pid")?));
                }
                ClusterMsg::Announce { members }
            }
            other => return Err(DecodeError::BadValue { what: "cpg message kind", value: other.into() }),
        };
        r.finish()?;
        Ok(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_every_truncation_fails() {
        let msgs = [
            ClusterMsg::Join { seq: 1, conn: 2, pid: 3, name: b"g" },
            ClusterMsg::Leave { seq: 4, conn: 5, pid: 6, name: b"" },
            ClusterMsg::Mcast { conn: 7, pid: 8, data: b"data" },
            ClusterMsg::ProcDown { seq: 9, conn: 10 },
            ClusterMsg::Announce { members: vec![(b"a", 1, 2), (b"bb", 3, 4)] },
        ];
        for m in msgs {
            let bytes = m.encode();
            assert_eq!(ClusterMsg::decode(&bytes), Ok(m.clone()));
            for cut in 0..bytes.len() {
                assert!(ClusterMsg::decode(&bytes[..cut]).is_err());
            }
        }
        assert!(ClusterMsg::decode(&[99]).is_err());
        let mut w = Writer::new();
        w.u8(ANNOUNCE).u32(u32::MAX);
        assert!(ClusterMsg::decode(w.as_slice()).is_err());
    }
}
