//! The checkpoint service's ordered messages (executive to executive),
//! after the 4-byte service prefix. Every decoder is bounded; a message
//! that does not decode is counted and dropped by the service.
//!
//! ```text
//! REQUEST       u8 1, u32 origin, u64 conn, u64 seq, u64 new_id, i64 ts,
//!               u32 request id, bytes request body (ais_ipc::ckpt)
//! TICK          u8 2, i64 ts                      (lets cluster time pass)
//! SYNC_CKPT     u8 10, RingTag, CkptHeader, u32 n, n x Opener
//! SYNC_SECTION  u8 11, RingTag, u32 creator, u64 cid, bytes id, i64 expiration,
//!               i64 last_update, u64 total, u64 offset, bytes chunk
//! SYNC_END      u8 12, RingTag, i64 time
//! SYNC_HELLO    u8 13, RingTag, bool synced, [RingTag last synced ring]
//! RingTag       u32 rep, u64 seq
//! CkptHeader    u32 creator, u64 cid, bytes name, bool unlinked, Attrs,
//!               i64 retention, bool idle, [i64 idle_since], u64 next_generated,
//!               bool active, [u32 active node]
//! Opener        u32 node, u64 open, u32 flags, u64 conn
//! ```

use ais_ipc::ckpt::{self as wire, Attrs};
use ais_ipc::{DecodeError, Reader, Writer};

use super::store::{CkptId, OpenKey, Opener, Store};
use crate::ordering::RingId;

pub const REQUEST: u8 = 1;
pub const TICK: u8 = 2;
pub const SYNC_CKPT: u8 = 10;
pub const SYNC_SECTION: u8 = 11;
pub const SYNC_END: u8 = 12;
pub const SYNC_HELLO: u8 = 13;

/// Largest chunk of section data in one sync message.
pub const SYNC_CHUNK: usize = 512 * 1024;
/// Most openers one checkpoint may list in sync.
pub const MAX_OPENERS: usize = 1 << 20;

/// A client request as ordered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderedRequest {
    pub origin: u32,
    pub conn: u64,
    pub seq: u64,
    pub new_id: u64,
    pub ts: i64,
    pub req_id: u32,
    pub body: Vec<u8>,
}

/// Everything of one checkpoint except its sections' data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncCkpt {
    pub ring: RingId,
    pub id: CkptId,
    pub name: Vec<u8>,
    pub unlinked: bool,
    pub created: Attrs,
    pub retention: i64,
    pub idle_since: Option<i64>,
    pub next_generated: u64,
    pub active_replica: Option<u32>,
    pub openers: Vec<(OpenKey, Opener)>,
}

/// A piece of one section's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncSection {
    pub ring: RingId,
    pub ckpt: CkptId,
    pub id: Vec<u8>,
    pub expiration: i64,
    pub last_update: i64,
    pub total: u64,
    pub offset: u64,
    pub chunk: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    Request(OrderedRequest),
    Tick {
        ts: i64,
    },
    SyncCkpt(SyncCkpt),
    SyncSection(SyncSection),
    SyncEnd {
        ring: RingId,
        time: i64,
    },
    /// A member's last synced ring (None: it never synced), which decides
    /// the sync groups.
    SyncHello {
        ring: RingId,
        last: Option<RingId>,
    },
}

fn ring(w: &mut Writer, r: RingId) {
    w.u32(r.rep).u64(r.seq);
}

fn get_ring(r: &mut Reader<'_>) -> Result<RingId, DecodeError> {
    Ok(RingId { rep: r.u32("ring rep")?, seq: r.u64("ring seq")? })
}

fn opt_i64(w: &mut Writer, v: Option<i64>) {
    w.bool(v.is_some());
    if let Some(v) = v {
        w.i64(v);
    }
}

impl Msg {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        match self {
            Msg::Request(q) => {
                w.u8(REQUEST).u32(q.origin).u64(q.conn).u64(q.seq).u64(q.new_id).i64(q.ts).u32(q.req_id).bytes(&q.body);
            }
            Msg::Tick { ts } => {
                w.u8(TICK).i64(*ts);
            }
            Msg::SyncCkpt(c) => {
                w.u8(SYNC_CKPT);
                ring(&mut w, c.ring);
                w.u32(c.id.0).u64(c.id.1).bytes(&c.name).bool(c.unlinked);
                c.created.encode(&mut w);
                w.i64(c.retention);
                opt_i64(&mut w, c.idle_since);
                w.u64(c.next_generated).bool(c.active_replica.is_some());
                if let Some(n) = c.active_replica {
                    w.u32(n);
                }
                w.u32(c.openers.len() as u32);
                for ((node, open), o) in &c.openers {
                    w.u32(*node).u64(*open).u32(o.flags).u64(o.conn);
                }
            }
            Msg::SyncSection(s) => {
                w.u8(SYNC_SECTION);
                ring(&mut w, s.ring);
                w.u32(s.ckpt.0)
                    .u64(s.ckpt.1)
                    .bytes(&s.id)
                    .i64(s.expiration)
                    .i64(s.last_update)
                    .u64(s.total)
                    .u64(s.offset)
                    .bytes(&s.chunk);
            }
            Msg::SyncEnd { ring: r, time } => {
                w.u8(SYNC_END);
                ring(&mut w, *r);
                w.i64(*time);
            }
            Msg::SyncHello { ring: r, last } => {
                w.u8(SYNC_HELLO);
                ring(&mut w, *r);
                w.bool(last.is_some());
                if let Some(l) = last {
                    ring(&mut w, *l);
                }
            }
        }
        w.into_vec()
    }

    pub fn decode(buf: &[u8]) -> Result<Msg, DecodeError> {
        let mut r = Reader::new(buf);
        let msg = match r.u8("kind")? {
            REQUEST => Msg::Request(OrderedRequest {
                origin: r.u32("origin")?,
                conn: r.u64("conn")?,
                seq: r.u64("seq")?,
                new_id: r.u64("new_id")?,
                ts: r.i64("ts")?,
                req_id: r.u32("req_id")?,
                body: r.bytes(ais_ipc::MAX_MESSAGE_SIZE, "body")?.to_vec(),
            }),
            TICK => Msg::Tick { ts: r.i64("ts")? },
            SYNC_CKPT => {
                let ring = get_ring(&mut r)?;
                let id = (r.u32("creator")?, r.u64("cid")?);
                let name = r.bytes(wire::MAX_NAME, "name")?.to_vec();
                let unlinked = r.bool("unlinked")?;
                let created = Attrs::decode(&mut r)?;
                let retention = r.i64("retention")?;
                let idle_since = if r.bool("idle")? { Some(r.i64("idle_since")?) } else { None };
                let next_generated = r.u64("next_generated")?;
                let active_replica = if r.bool("active")? { Some(r.u32("active node")?) } else { None };
                let n = r.count(MAX_OPENERS, 24, "openers")?;
                let mut openers = Vec::with_capacity(n);
                for _ in 0..n {
                    let key = (r.u32("opener node")?, r.u64("open")?);
                    let flags = r.u32("flags")?;
                    let conn = r.u64("conn")?;
                    openers.push((key, Opener { ckpt: id, flags, conn }));
                }
                Msg::SyncCkpt(SyncCkpt {
                    ring,
                    id,
                    name,
                    unlinked,
                    created,
                    retention,
                    idle_since,
                    next_generated,
                    active_replica,
                    openers,
                })
            }
            SYNC_SECTION => Msg::SyncSection(SyncSection {
                ring: get_ring(&mut r)?,
                ckpt: (r.u32("creator")?, r.u64("cid")?),
                id: r.bytes(wire::MAX_SECTION_ID, "section id")?.to_vec(),
                expiration: r.i64("expiration")?,
                last_update: r.i64("last_update")?,
                total: r.u64("total")?,
                offset: r.u64("offset")?,
                chunk: r.bytes(SYNC_CHUNK, "chunk")?.to_vec(),
            }),
            SYNC_END => Msg::SyncEnd { ring: get_ring(&mut r)?, time: r.i64("time")? },
            SYNC_HELLO => {
                let ring = get_ring(&mut r)?;
                let last = if r.bool("synced")? { Some(get_ring(&mut r)?) } else { None };
                Msg::SyncHello { ring, last }
            }
            other => return Err(DecodeError::BadValue { what: "ckpt message kind", value: other.into() }),
        };
        r.finish()?;
        Ok(msg)
    }
}

/// Walks a store, frozen during sync, producing its sync messages one at a
/// time (a checkpoint's header, then each of its sections in chunks of at
/// most [`SYNC_CHUNK`], ..., then `SYNC_END`), so a sender never holds a
/// second copy of its data.
#[derive(Debug)]
pub struct SendCursor {
    ring: RingId,
    ckpts: std::collections::VecDeque<CkptId>,
    stage: Stage,
}

#[derive(Debug)]
enum Stage {
    Header(CkptId),
    Section { ckpt: CkptId, id: Vec<u8>, offset: usize },
    End,
    Done,
}

impl SendCursor {
    pub fn new(ring: RingId, store: &Store) -> SendCursor {
        let mut c = SendCursor { ring, ckpts: store.ckpts.keys().copied().collect(), stage: Stage::End };
        c.stage = c.next_checkpoint();
        c
    }

    fn next_checkpoint(&mut self) -> Stage {
        match self.ckpts.pop_front() {
            Some(id) => Stage::Header(id),
            None => Stage::End,
        }
    }

    /// The stage after section `after` of `ckpt` (its next section, or the
    /// next checkpoint).
    fn after_section(&mut self, store: &Store, ckpt: CkptId, after: Option<&[u8]>) -> Stage {
        let next = store.ckpts.get(&ckpt).and_then(|c| match after {
            None => c.sections.keys().next().cloned(),
            Some(a) => c
                .sections
                .range::<[u8], _>((std::ops::Bound::Excluded(a), std::ops::Bound::Unbounded))
                .next()
                .map(|(k, _)| k.clone()),
        });
        match next {
            Some(id) => Stage::Section { ckpt, id, offset: 0 },
            None => self.next_checkpoint(),
        }
    }

    /// The next message, or None when everything (and `SYNC_END`) is out.
    /// Checkpoints or sections that vanished meanwhile are skipped.
    pub fn next(&mut self, store: &Store) -> Option<Msg> {
        loop {
            match std::mem::replace(&mut self.stage, Stage::Done) {
                Stage::Done => return None,
                Stage::End => return Some(Msg::SyncEnd { ring: self.ring, time: store.time }),
                Stage::Header(id) => {
                    let Some(c) = store.ckpts.get(&id) else {
                        self.stage = self.next_checkpoint();
                        continue;
                    };
                    let openers = store.openers.iter().filter(|(_, o)| o.ckpt == id).map(|(k, o)| (*k, *o)).collect();
                    let m = Msg::SyncCkpt(SyncCkpt {
                        ring: self.ring,
                        id,
                        name: c.name.clone(),
                        unlinked: c.unlinked,
                        created: c.created,
                        retention: c.retention,
                        idle_since: c.idle_since,
                        next_generated: c.next_generated,
                        active_replica: c.active_replica,
                        openers,
                    });
                    self.stage = self.after_section(store, id, None);
                    return Some(m);
                }
                Stage::Section { ckpt, id, offset } => {
                    let Some(s) = store.ckpts.get(&ckpt).and_then(|c| c.sections.get(&id)) else {
                        self.stage = self.after_section(store, ckpt, Some(&id));
                        continue;
                    };
                    let start = offset.min(s.data.len());
                    let end = (start + SYNC_CHUNK).min(s.data.len());
                    let m = Msg::SyncSection(SyncSection {
                        ring: self.ring,
                        ckpt,
                        id: id.clone(),
                        expiration: s.expiration,
                        last_update: s.last_update,
                        total: s.data.len() as u64,
                        offset: start as u64,
                        chunk: s.data[start..end].to_vec(),
                    });
                    self.stage = if end < s.data.len() {
                        Stage::Section { ckpt, id, offset: end }
                    } else {
                        self.after_section(store, ckpt, Some(&id))
                    };
                    return Some(m);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_reject_truncation() {
        let ring = RingId { rep: 1, seq: 8 };
        let attrs = Attrs {
            creation_flags: 1,
            checkpoint_size: 10,
            retention: 1,
            max_sections: 2,
            max_section_size: 5,
            max_section_id_size: 4,
        };
        let msgs = vec![
            Msg::Request(OrderedRequest {
                origin: 1,
                conn: 2,
                seq: 3,
                new_id: 4,
                ts: 5,
                req_id: 6,
                body: b"xy".to_vec(),
            }),
            Msg::Tick { ts: 9 },
            Msg::SyncCkpt(SyncCkpt {
                ring,
                id: (1, 2),
                name: b"c".to_vec(),
                unlinked: false,
                created: attrs,
                retention: 1,
                idle_since: Some(3),
                next_generated: 4,
                active_replica: Some(2),
                openers: vec![((1, 5), Opener { ckpt: (1, 2), flags: 3, conn: 9 })],
            }),
            Msg::SyncSection(SyncSection {
                ring,
                ckpt: (1, 2),
                id: b"s".to_vec(),
                expiration: 1,
                last_update: 2,
                total: 3,
                offset: 0,
                chunk: b"abc".to_vec(),
            }),
            Msg::SyncEnd { ring, time: 44 },
            Msg::SyncHello { ring, last: Some(RingId { rep: 2, seq: 4 }) },
            Msg::SyncHello { ring, last: None },
        ];
        for m in msgs {
            let b = m.encode();
            assert_eq!(Msg::decode(&b).as_ref(), Ok(&m));
            for cut in 0..b.len() {
                assert!(Msg::decode(&b[..cut]).is_err());
            }
        }
        assert!(Msg::decode(&[77]).is_err());
    }
}
