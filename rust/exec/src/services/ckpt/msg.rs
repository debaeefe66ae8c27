//! The checkpoint service's sync items (see the engine's `SYNC_ITEM`,
//! which carries the ring). Every decoder is bounded; an item that does
//! not decode is counted and dropped by the engine.
//!
//! ```text
//! CKPT     u8 1, CkptHeader, u32 n, n x Opener
//! SECTION  u8 2, u32 creator, u64 cid, bytes id, i64 expiration,
//!          i64 last_update, u64 total, u64 offset, bytes chunk
//! CkptHeader  u32 creator, u64 cid, bytes name, bool unlinked, Attrs,
//!             i64 retention, bool idle, [i64 idle_since], u64 next_generated,
//!             bool active, [u32 active node]
//! Opener      u32 node, u64 open, u32 flags, u64 conn
//! ```

use ais_ipc::ckpt::{self as wire, Attrs};
use ais_ipc::{DecodeError, Reader, Writer};

use super::store::{CkptId, OpenKey, Opener, Store};

pub const CKPT: u8 = 1;
pub const SECTION: u8 = 2;

/// Largest chunk of section data in one sync item.
pub const SYNC_CHUNK: usize = 512 * 1024;
/// Most openers one checkpoint may list in sync.
pub const MAX_OPENERS: usize = 1 << 20;

/// Everything of one checkpoint except its sections' data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncCkpt {
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
    pub ckpt: CkptId,
    pub id: Vec<u8>,
    pub expiration: i64,
    pub last_update: i64,
    pub total: u64,
    pub offset: u64,
    pub chunk: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Ckpt(SyncCkpt),
    Section(SyncSection),
}

fn opt_i64(w: &mut Writer, v: Option<i64>) {
    w.bool(v.is_some());
    if let Some(v) = v {
        w.i64(v);
    }
}

impl Item {
    pub fn encode(&self, w: &mut Writer) {
        match self {
            Item::Ckpt(c) => {
                w.u8(CKPT).u32(c.id.0).u64(c.id.1).bytes(&c.name).bool(c.unlinked);
                c.created.encode(w);
                w.i64(c.retention);
                opt_i64(w, c.idle_since);
                w.u64(c.next_generated).bool(c.active_replica.is_some());
                if let Some(n) = c.active_replica {
                    w.u32(n);
                }
                w.u32(c.openers.len() as u32);
                for ((node, open), o) in &c.openers {
                    w.u32(*node).u64(*open).u32(o.flags).u64(o.conn);
                }
            }
            Item::Section(s) => {
                w.u8(SECTION)
                    .u32(s.ckpt.0)
                    .u64(s.ckpt.1)
                    .bytes(&s.id)
                    .i64(s.expiration)
                    .i64(s.last_update)
                    .u64(s.total)
                    .u64(s.offset)
                    .bytes(&s.chunk);
            }
        }
    }

    pub fn decode(buf: &[u8]) -> Result<Item, DecodeError> {
        let mut r = Reader::new(buf);
        let item = match r.u8("ckpt sync item")? {
            CKPT => {
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
                Item::Ckpt(SyncCkpt {
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
            SECTION => Item::Section(SyncSection {
                ckpt: (r.u32("creator")?, r.u64("cid")?),
                id: r.bytes(wire::MAX_SECTION_ID, "section id")?.to_vec(),
                expiration: r.i64("expiration")?,
                last_update: r.i64("last_update")?,
                total: r.u64("total")?,
                offset: r.u64("offset")?,
                chunk: r.bytes(SYNC_CHUNK, "chunk")?.to_vec(),
            }),
            other => return Err(DecodeError::BadValue { what: "ckpt sync item", value: other.into() }),
        };
        r.finish()?;
        Ok(item)
    }
}

/// Walks a store, frozen during sync, producing its sync items one at a
/// time (a checkpoint's header, then each of its sections in chunks of at
/// most [`SYNC_CHUNK`], ...), so a sender never holds a second copy of its
/// data.
#[derive(Debug)]
pub struct SendCursor {
    ckpts: std::collections::VecDeque<CkptId>,
    stage: Stage,
}

#[derive(Debug)]
enum Stage {
    Header(CkptId),
    Section { ckpt: CkptId, id: Vec<u8>, offset: usize },
    Done,
}

impl SendCursor {
    pub fn new(store: &Store) -> SendCursor {
        let mut c = SendCursor { ckpts: store.ckpts.keys().copied().collect(), stage: Stage::Done };
        c.stage = c.next_checkpoint();
        c
    }

    fn next_checkpoint(&mut self) -> Stage {
        match self.ckpts.pop_front() {
            Some(id) => Stage::Header(id),
            None => Stage::Done,
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

    /// The next item, or None when everything is out. Checkpoints or
    /// sections that vanished meanwhile are skipped.
    pub fn next(&mut self, store: &Store) -> Option<Item> {
        loop {
            match std::mem::replace(&mut self.stage, Stage::Done) {
                Stage::Done => return None,
                Stage::Header(id) => {
                    let Some(c) = store.ckpts.get(&id) else {
                        self.stage = self.next_checkpoint();
                        continue;
                    };
                    let openers = store.openers.iter().filter(|(_, o)| o.ckpt == id).map(|(k, o)| (*k, *o)).collect();
                    let m = Item::Ckpt(SyncCkpt {
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
                    let m = Item::Section(SyncSection {
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
    fn items_round_trip_and_reject_truncation() {
        let attrs = Attrs {
            creation_flags: 1,
            checkpoint_size: 10,
            retention: 1,
            max_sections: 2,
            max_section_size: 5,
            max_section_id_size: 4,
        };
        let items = vec![
            Item::Ckpt(SyncCkpt {
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
            Item::Section(SyncSection {
                ckpt: (1, 2),
                id: b"s".to_vec(),
                expiration: 1,
                last_update: 2,
                total: 3,
                offset: 0,
                chunk: b"abc".to_vec(),
            }),
        ];
        for m in items {
            let mut w = Writer::new();
            m.encode(&mut w);
            let b = w.into_vec();
            assert_eq!(Item::decode(&b).as_ref(), Ok(&m));
            for cut in 0..b.len() {
                assert!(Item::decode(&b[..cut]).is_err());
            }
        }
        assert!(Item::decode(&[77]).is_err());
    }
}
