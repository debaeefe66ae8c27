//! The engine's ordered messages (executive to executive), after the
//! 4-byte service prefix; the same for every replicated service. Every
//! decoder is bounded; a message that does not decode is counted and
//! dropped by the engine.
//!
//! ```text
//! REQUEST     u8 1, u64 conn, u64 seq, u64 new_id, i64 ts, u32 request id,
//!             bytes request body (the service's library request)
//! TICK        u8 2, i64 ts                     (lets cluster time pass)
//! CLOSED      u8 3, u64 conn, i64 ts           (the connection is gone)
//! WITHDRAW    u8 4, u64 seq, i64 ts            (request seq's time ran out)
//! SYNC_HELLO  u8 10, Ring, bool synced, [Ring last synced ring]
//! SYNC_ITEM   u8 11, Ring, the service's sync item (the rest)
//! SYNC_END    u8 12, Ring, i64 cluster time
//! Ring        u32 rep, u64 seq
//! ```
//! The node of a request (and of a close) is the message's sender; `conn`
//! is the connection on that node, `seq` that node's key for the pending
//! reply, `new_id` that node's id for what the request creates, `ts` its
//! wall clock when it ordered the request.

use ais_ipc::{DecodeError, Reader, Writer};

use crate::ordering::RingId;
use crate::service::Encode;

pub const REQUEST: u8 = 1;
pub const TICK: u8 = 2;
pub const CLOSED: u8 = 3;
pub const WITHDRAW: u8 = 4;
pub const SYNC_HELLO: u8 = 10;
pub const SYNC_ITEM: u8 = 11;
pub const SYNC_END: u8 = 12;

/// A library request as ordered.
/// How new a node's replicated state is, with quorum configured: the
/// last quorate ring it synced, and how many changes it applied since.
/// Ordered by that ring's sequence number (a later quorate ring always
/// has a larger one: it shares a node with the one before), then by the
/// count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stamp {
    pub ring: Option<RingId>,
    pub applied: u64,
}

impl Stamp {
    fn key(&self) -> (Option<(u64, u32)>, u64) {
        (self.ring.map(|r| (r.seq, r.rep)), self.applied)
    }
}

impl Ord for Stamp {
    fn cmp(&self, other: &Stamp) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

impl PartialOrd for Stamp {
    fn partial_cmp(&self, other: &Stamp) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    pub conn: u64,
    pub seq: u64,
    pub new_id: u64,
    pub ts: i64,
    pub msg_id: u32,
    pub body: &'a [u8],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Msg<'a> {
    Request(Request<'a>),
    Tick {
        ts: i64,
    },
    Closed {
        conn: u64,
        ts: i64,
    },
    /// The sender's request `seq` is to be withdrawn (its local deadline
    /// passed before it was answered).
    Withdraw {
        seq: u64,
        ts: i64,
    },
    /// A member's last synced ring (None: it never synced) and stamp,
    /// which decide the sync groups.
    Hello {
        ring: RingId,
        last: Option<RingId>,
        /// How new the sender's state is; None without quorum.
        stamp: Option<Stamp>,
    },
    Item {
        ring: RingId,
        item: &'a [u8],
    },
    End {
        ring: RingId,
        time: i64,
    },
}

fn ring(w: &mut Writer, r: RingId) {
    w.u32(r.rep).u64(r.seq);
}

fn read_ring(r: &mut Reader<'_>) -> Result<RingId, DecodeError> {
    Ok(RingId { rep: r.u32("ring rep")?, seq: r.u64("ring seq")? })
}

/// A `SYNC_ITEM` header for `ring`: the service writes its item after it.
pub fn item_writer(r: RingId) -> Writer {
    let mut w = Writer::new();
    item_header(&mut w, r);
    w
}

fn item_header(w: &mut Writer, r: RingId) {
    w.u8(SYNC_ITEM);
    ring(w, r);
}

/// Written straight into the buffer that is ordered ([`Encode`]): a
/// request's body is copied once, from the client's request.
impl Encode for Msg<'_> {
    fn encode_into(&self, w: &mut Writer) {
        match self {
            Msg::Request(q) => {
                w.u8(REQUEST).u64(q.conn).u64(q.seq).u64(q.new_id).i64(q.ts).u32(q.msg_id).bytes(q.body);
            }
            Msg::Tick { ts } => {
                w.u8(TICK).i64(*ts);
            }
            Msg::Closed { conn, ts } => {
                w.u8(CLOSED).u64(*conn).i64(*ts);
            }
            Msg::Withdraw { seq, ts } => {
                w.u8(WITHDRAW).u64(*seq).i64(*ts);
            }
            Msg::Hello { ring: g, last, stamp } => {
                w.u8(SYNC_HELLO);
                ring(w, *g);
                w.bool(last.is_some());
                if let Some(l) = last {
                    ring(w, *l);
                }
                w.bool(stamp.is_some());
                if let Some(s) = stamp {
                    w.bool(s.ring.is_some());
                    if let Some(r) = s.ring {
                        ring(w, r);
                    }
                    w.u64(s.applied);
                }
            }
            Msg::Item { ring: g, item } => {
                item_header(w, *g);
                w.raw(item);
            }
            Msg::End { ring: g, time } => {
                w.u8(SYNC_END);
                ring(w, *g);
                w.i64(*time);
            }
        }
    }
}

impl<'a> Msg<'a> {
    pub fn decode(buf: &'a [u8]) -> Result<Msg<'a>, DecodeError> {
        let mut r = Reader::new(buf);
        let m = match r.u8("message kind")? {
            REQUEST => Msg::Request(Request {
                conn: r.u64("conn")?,
                seq: r.u64("seq")?,
                new_id: r.u64("new id")?,
                ts: r.i64("ts")?,
                msg_id: r.u32("request id")?,
                body: r.bytes(ais_ipc::MAX_MESSAGE_SIZE, "request body")?,
            }),
            TICK => Msg::Tick { ts: r.i64("ts")? },
            CLOSED => Msg::Closed { conn: r.u64("conn")?, ts: r.i64("ts")? },
            WITHDRAW => Msg::Withdraw { seq: r.u64("seq")?, ts: r.i64("ts")? },
            SYNC_HELLO => {
                let g = read_ring(&mut r)?;
                let last = if r.bool("synced")? { Some(read_ring(&mut r)?) } else { None };
                let stamp = if r.bool("stamped")? {
                    let ring = if r.bool("quorate ring")? { Some(read_ring(&mut r)?) } else { None };
                    Some(Stamp { ring, applied: r.u64("applied")? })
                } else {
                    None
                };
                Msg::Hello { ring: g, last, stamp }
            }
            SYNC_ITEM => {
                let g = read_ring(&mut r)?;
                Msg::Item { ring: g, item: r.take(r.remaining(), "sync item")? }
            }
            SYNC_END => Msg::End { ring: read_ring(&mut r)?, time: r.i64("time")? },
            other => return Err(DecodeError::BadValue { what: "message kind", value: u64::from(other) }),
        };
        r.finish()?;
        Ok(m)
    }

    /// The ring of a sync message; None for the others.
    pub fn sync_ring(&self) -> Option<RingId> {
        match self {
            Msg::Hello { ring, .. } | Msg::Item { ring, .. } | Msg::End { ring, .. } => Some(*ring),
            Msg::Request(_) | Msg::Tick { .. } | Msg::Closed { .. } | Msg::Withdraw { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_reject_bad_input() {
        let g = RingId { rep: 1, seq: 4 };
        let all = [
            Msg::Request(Request { conn: 1, seq: 2, new_id: 3, ts: 4, msg_id: 5, body: &[1, 2] }),
            Msg::Tick { ts: 9 },
            Msg::Closed { conn: 7, ts: -1 },
            Msg::Withdraw { seq: 3, ts: 5 },
            Msg::Hello {
                ring: g,
                last: Some(RingId { rep: 2, seq: 8 }),
                stamp: Some(Stamp { ring: Some(RingId { rep: 1, seq: 4 }), applied: 7 }),
            },
            Msg::Hello { ring: g, last: None, stamp: Some(Stamp::default()) },
            Msg::Hello { ring: g, last: None, stamp: None },
            Msg::Item { ring: g, item: &[3, 4, 5] },
            Msg::End { ring: g, time: 44 },
        ];
        for m in all {
            let b = m.encode();
            assert_eq!(Msg::decode(&b), Ok(m));
            // An item is the rest of the message: a cut past its header is
            // another item.
            let whole = if let Msg::Item { .. } = m { 13 } else { b.len() };
            for cut in 0..whole {
                assert!(Msg::decode(&b[..cut]).is_err(), "{m:?} cut at {cut}");
            }
            if whole == b.len() {
                let mut long = b.clone();
                long.push(1);
                assert!(Msg::decode(&long).is_err());
            }
        }
        assert!(Msg::decode(&[77]).is_err());
        assert!(Msg::decode(&[]).is_err());
        let mut w = item_writer(g);
        w.u8(9);
        assert_eq!(Msg::decode(w.as_slice()), Ok(Msg::Item { ring: g, item: &[9] }));
    }
}
