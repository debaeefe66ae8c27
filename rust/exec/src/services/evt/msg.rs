//! The event service's ordered messages (executive to executive), after
//! the 4-byte service prefix. Every decoder is bounded; a message that
//! does not decode is counted and dropped by the service.
//!
//! ```text
//! REQUEST       u8 1, u64 conn, u64 seq, u64 new_id, i64 ts, u32 request id,
//!               bytes request body (ais_ipc::evt; PUBLISH with id and time set)
//! TICK          u8 2, i64 ts                      (lets cluster time pass)
//! SYNC_CHANNEL  u8 10, Ring, u32 node, u64 id, bytes name, bool unlinked
//! SYNC_OPEN     u8 11, Ring, u32 node, u64 open, u32 chan node, u64 chan id, u8 flags
//! SYNC_EVENT    u8 12, Ring, u32 chan node, u64 chan id, i64 expiry, Event
//! SYNC_END      u8 13, Ring, i64 time, u32 n, n x (u32 node, u32 counter)
//! Ring          u32 rep, u64 seq
//! ```
//! The node of a request is the message's sender.

use std::sync::Arc;

use ais_ipc::evt::{Event, MAX_NAME};
use ais_ipc::{DecodeError, Reader, Writer};

use super::replica::{Channel, MAX_OPENS, OpenRec, Replica, Retained};
use crate::ordering::RingId;

pub const REQUEST: u8 = 1;
pub const TICK: u8 = 2;
pub const SYNC_CHANNEL: u8 = 10;
pub const SYNC_OPEN: u8 = 11;
pub const SYNC_EVENT: u8 = 12;
pub const SYNC_END: u8 = 13;

/// Most nodes one SYNC_END lists.
pub const MAX_NODES: usize = 1 << 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderedRequest {
    pub conn: u64,
    pub seq: u64,
    pub new_id: u64,
    pub ts: i64,
    pub req_id: u32,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    Request(OrderedRequest),
    Tick { ts: i64 },
    SyncChannel { ring: RingId, id: (u32, u64), name: Vec<u8>, unlinked: bool },
    SyncOpen { ring: RingId, id: (u32, u64), chan: (u32, u64), flags: u8 },
    SyncEvent { ring: RingId, chan: (u32, u64), expiry: i64, event: Event },
    SyncEnd { ring: RingId, time: i64, counters: Vec<(u32, u32)> },
}

fn ring(w: &mut Writer, r: RingId) {
    w.u32(r.rep).u64(r.seq);
}

fn read_ring(r: &mut Reader<'_>) -> Result<RingId, DecodeError> {
    Ok(RingId { rep: r.u32("ring rep")?, seq: r.u64("ring seq")? })
}

impl Msg {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        match self {
            Msg::Request(q) => {
                w.u8(REQUEST).u64(q.conn).u64(q.seq).u64(q.new_id).i64(q.ts).u32(q.req_id).bytes(&q.body);
            }
            Msg::Tick { ts } => {
                w.u8(TICK).i64(*ts);
            }
            Msg::SyncChannel { ring: g, id, name, unlinked } => {
                w.u8(SYNC_CHANNEL);
                ring(&mut w, *g);
                w.u32(id.0).u64(id.1).bytes(name).bool(*unlinked);
            }
            Msg::SyncOpen { ring: g, id, chan, flags } => {
                w.u8(SYNC_OPEN);
                ring(&mut w, *g);
                w.u32(id.0).u64(id.1).u32(chan.0).u64(chan.1).u8(*flags);
            }
            Msg::SyncEvent { ring: g, chan, expiry, event } => {
                w.u8(SYNC_EVENT);
                ring(&mut w, *g);
                w.u32(chan.0).u64(chan.1).i64(*expiry);
                event.encode(&mut w);
            }
            Msg::SyncEnd { ring: g, time, counters } => {
                w.u8(SYNC_END);
                ring(&mut w, *g);
                w.i64(*time).u32(counters.len() as u32);
                for (n, c) in counters {
                    w.u32(*n).u32(*c);
                }
            }
        }
        w.into_vec()
    }

    pub fn decode(buf: &[u8]) -> Result<Msg, DecodeError> {
        let mut r = Reader::new(buf);
        let m = match r.u8("evt message kind")? {
            REQUEST => Msg::Request(OrderedRequest {
                conn: r.u64("conn")?,
                seq: r.u64("seq")?,
                new_id: r.u64("new id")?,
                ts: r.i64("ts")?,
                req_id: r.u32("request id")?,
                body: r.bytes(ais_ipc::MAX_MESSAGE_SIZE, "request body")?.to_vec(),
            }),
            TICK => Msg::Tick { ts: r.i64("ts")? },
            SYNC_CHANNEL => Msg::SyncChannel {
                ring: read_ring(&mut r)?,
                id: (r.u32("node")?, r.u64("channel")?),
                name: r.bytes(MAX_NAME, "channel name")?.to_vec(),
                unlinked: r.bool("unlinked")?,
            },
            SYNC_OPEN => Msg::SyncOpen {
                ring: read_ring(&mut r)?,
                id: (r.u32("node")?, r.u64("open")?),
                chan: (r.u32("channel node")?, r.u64("channel")?),
                flags: r.u8("flags")?,
            },
            SYNC_EVENT => Msg::SyncEvent {
                ring: read_ring(&mut r)?,
                chan: (r.u32("channel node")?, r.u64("channel")?),
                expiry: r.i64("expiry")?,
                event: Event::decode(&mut r)?,
            },
            SYNC_END => {
                let g = read_ring(&mut r)?;
                let time = r.i64("time")?;
                let n = r.count(MAX_NODES, 8, "counter count")?;
                let mut counters = Vec::with_capacity(n);
                for _ in 0..n {
                    counters.push((r.u32("node")?, r.u32("counter")?));
                }
                Msg::SyncEnd { ring: g, time, counters }
            }
            other => return Err(DecodeError::BadValue { what: "evt message kind", value: u64::from(other) }),
        };
        r.finish()?;
        Ok(m)
    }

    /// The ring of a sync message.
    pub fn sync_ring(&self) -> Option<RingId> {
        match self {
            Msg::SyncChannel { ring, .. }
            | Msg::SyncOpen { ring, .. }
            | Msg::SyncEvent { ring, .. }
            | Msg::SyncEnd { ring, .. } => Some(*ring),
            _ => None,
        }
    }

    /// Adds a sync message's content to `staged` (a union: repeats and
    /// the order of senders do not matter).
    pub fn stage(self, staged: &mut Replica) {
        match self {
            // The tables are bounded as in normal operation (a sync sender
            // could be anyone with secauth off); over the limit a message is
            // skipped, in delivery order, so the same on every node.
            Msg::SyncChannel { id, .. } if staged.channels.len() >= MAX_OPENS && !staged.channels.contains_key(&id) => {
            }
            Msg::SyncOpen { id, .. } if staged.opens.len() >= MAX_OPENS && !staged.opens.contains_key(&id) => {}
            Msg::SyncEvent { .. } if staged.retained_full() => {}
            Msg::SyncChannel { id, name, unlinked, .. } => {
                let mut other = Replica::default();
                other.channels.insert(id, Channel { name, unlinked });
                staged.union(other);
            }
            Msg::SyncOpen { id, chan, flags, .. } => {
                staged.opens.insert(id, OpenRec { chan, flags });
            }
            Msg::SyncEvent { chan, expiry, event, .. } => {
                let mut other = Replica::default();
                other.retained.insert(event.id, Retained { chan, expiry, event: Arc::new(event) });
                staged.union(other);
            }
            Msg::SyncEnd { time, counters, .. } => {
                let mut other = Replica::default();
                other.time = time;
                other.counters = counters.into_iter().collect();
                staged.union(other);
            }
            _ => {}
        }
    }
}

/// Everything of `r` as sync messages for `ring`, channels first.
pub fn snapshot(r: &Replica, g: RingId) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (id, c) in &r.channels {
        out.push(Msg::SyncChannel { ring: g, id: *id, name: c.name.clone(), unlinked: c.unlinked }.encode());
    }
    for (id, o) in &r.opens {
        out.push(Msg::SyncOpen { ring: g, id: *id, chan: o.chan, flags: o.flags }.encode());
    }
    for rt in r.retained.values() {
        out.push(Msg::SyncEvent { ring: g, chan: rt.chan, expiry: rt.expiry, event: (*rt.event).clone() }.encode());
    }
    let counters = r.counters.iter().map(|(n, c)| (*n, *c)).collect();
    out.push(Msg::SyncEnd { ring: g, time: r.time, counters }.encode());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staging_is_bounded_like_the_replica() {
        let ring = RingId { rep: 1, seq: 2 };
        let mut staged = Replica::default();
        for i in 0..MAX_OPENS as u64 {
            staged.opens.insert((9, i), OpenRec { chan: (9, 0), flags: 0 });
        }
        // Before: every SyncOpen was added, however many a sender sent.
        Msg::SyncOpen { ring, id: (1, 1), chan: (1, 1), flags: 0 }.stage(&mut staged);
        assert!(!staged.opens.contains_key(&(1, 1)));
        assert_eq!(staged.opens.len(), MAX_OPENS);
        // A repeat of one already staged still applies.
        Msg::SyncOpen { ring, id: (9, 3), chan: (1, 1), flags: 2 }.stage(&mut staged);
        assert_eq!(staged.opens[&(9, 3)].flags, 2);
    }

    #[test]
    fn messages_round_trip_and_reject_bad_input() {
        let g = RingId { rep: 1, seq: 4 };
        let all = vec![
            Msg::Request(OrderedRequest { conn: 1, seq: 2, new_id: 3, ts: 4, req_id: 5, body: vec![1, 2] }),
            Msg::Tick { ts: 9 },
            Msg::SyncChannel { ring: g, id: (1, 2), name: b"c".to_vec(), unlinked: true },
            Msg::SyncOpen { ring: g, id: (1, 2), chan: (3, 4), flags: 5 },
            Msg::SyncEvent { ring: g, chan: (3, 4), expiry: 6, event: Event { id: 2000, ..Event::default() } },
            Msg::SyncEnd { ring: g, time: 7, counters: vec![(1, 1001)] },
        ];
        for m in all {
            let b = m.encode();
            assert_eq!(Msg::decode(&b).unwrap(), m);
            assert!(Msg::decode(&b[..b.len() - 1]).is_err());
            let mut long = b.clone();
            long.push(1);
            assert!(Msg::decode(&long).is_err());
        }
        assert!(Msg::decode(&[77]).is_err());
        assert!(Msg::decode(&[]).is_err());
    }
}
