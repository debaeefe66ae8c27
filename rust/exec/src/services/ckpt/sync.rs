//! Checkpoint sync: how the nodes of a new ring end with identical stores.
//!
//! The engine runs the round (see `services::replicated`): the sender of
//! each group of nodes with identical stores sends its store as items
//! ([`super::msg::Item`]), walking it with a cursor, so it holds no second
//! copy; every node stages what the senders of the *other* groups sent
//! ([`Staged`]; its own group's store is the one it has), and at
//! `sync_activate` replaces its store with the merge of its own and the
//! staged stores; so only a node that receives checkpoints it did not have
//! holds them twice, until activation:
//!
//! - groups are taken in ascending order of their sender's node id;
//! - a checkpoint whose name is not yet taken is added as its group had it;
//! - **conflict rule**: if a lower sender's group already has a checkpoint
//!   of that name, the lower sender's content wins; the other group's
//!   opens of its copy are moved to the winning checkpoint (so their
//!   handles stay valid) and its copy is dropped;
//! - unlinked checkpoints (no name) are kept by id;
//! - opens of nodes that are not in the new ring are dropped, and the
//!   cluster time is the largest any group reported.

use std::collections::BTreeMap;

use super::msg::{SyncCkpt, SyncSection};
use super::store::{Checkpoint, Section, Store};
use crate::ordering::NodeId;
use crate::services::replicated::Rejected::{self, Refused};

/// What one sender has sent so far.
#[derive(Debug, Default)]
pub struct Staged {
    pub store: Store,
}

impl Staged {
    pub fn add_ckpt(&mut self, m: SyncCkpt) -> Result<(), Rejected> {
        if self.store.ckpts.contains_key(&m.id) {
            return Err(Refused("checkpoint sent twice"));
        }
        if super::store::validate_attrs(&m.created) != ais_ipc::error::OK {
            return Err(Refused("bad attributes"));
        }
        // A sender cannot make us stage more than a store may hold: as
        // many checkpoints, declaring as much in all (their data is
        // bounded by what they declare).
        if self.store.ckpts.len() >= super::store::MAX_CHECKPOINTS {
            return Err(Refused("too many checkpoints"));
        }
        if self.store.total_declared.saturating_add(m.created.checkpoint_size) > super::store::MAX_TOTAL_DECLARED {
            return Err(Refused("checkpoints declaring more than a store may hold"));
        }
        let c = Checkpoint {
            name: m.name.clone(),
            unlinked: m.unlinked,
            created: m.created,
            retention: m.retention,
            sections: BTreeMap::new(),
            used: 0,
            idle_since: m.idle_since,
            next_generated: m.next_generated,
            active_replica: m.active_replica,
        };
        if !m.unlinked {
            self.store.by_name.insert(m.name, m.id);
        }
        self.store.total_declared += m.created.checkpoint_size;
        self.store.ckpts.insert(m.id, c);
        for (k, o) in m.openers {
            self.store.openers.insert(k, o);
        }
        Ok(())
    }

    pub fn add_section(&mut self, m: SyncSection) -> Result<(), Rejected> {
        let c = self.store.ckpts.get_mut(&m.ckpt).ok_or(Refused("section of an unknown checkpoint"))?;
        if m.total > c.created.max_section_size || m.id.len() as u64 > c.created.max_section_id_size {
            return Err(Refused("section over the checkpoint's limits"));
        }
        if !c.sections.contains_key(&m.id) {
            if m.offset != 0 || c.sections.len() as u64 >= u64::from(c.created.max_sections) {
                return Err(Refused("unexpected section"));
            }
            c.sections.insert(
                m.id.clone(),
                Section { data: Vec::new(), expiration: m.expiration, last_update: m.last_update },
            );
        }
        let used = c.used.saturating_add(m.chunk.len() as u64);
        if !super::store::fits(self.store.total_declared, c, used) {
            return Err(Refused("checkpoints holding more than a store may hold"));
        }
        let s = c.sections.get_mut(&m.id).ok_or(Refused("section"))?;
        // `offset` comes from the network: checked before any arithmetic.
        if m.offset != s.data.len() as u64 {
            return Err(Refused("section chunk out of place"));
        }
        let end = m.offset.saturating_add(m.chunk.len() as u64);
        if end > m.total {
            return Err(Refused("section chunk out of place"));
        }
        s.data.extend_from_slice(&m.chunk);
        super::store::set_used(&mut self.store.total_declared, c, used);
        Ok(())
    }
}

/// Merges the staged stores per the rule in the module doc; cluster time
/// becomes `time`.
pub fn merge(staged: BTreeMap<NodeId, Staged>, members: &[NodeId], time: i64) -> Store {
    let mut out = Store { time, ..Store::default() };
    for (_sender, group) in staged {
        let g = group.store;
        // Where each of this group's checkpoints ended up.
        let mut placed = BTreeMap::new();
        for (id, c) in g.ckpts {
            let winner = if c.unlinked {
                if out.ckpts.contains_key(&id) {
                    // The same checkpoint, unlinked in both groups.
                    placed.insert(id, id);
                    continue;
                }
                id
            } else if let Some(existing) = out.by_name.get(&c.name) {
                placed.insert(id, *existing);
                continue;
            } else {
                out.by_name.insert(c.name.clone(), id);
                id
            };
            out.total_declared += c.reserved();
            out.ckpts.insert(winner, c);
            placed.insert(id, winner);
        }
        for (key, mut o) in g.openers {
            if let Some(target) = placed.get(&o.ckpt) {
                o.ckpt = *target;
                out.openers.entry(key).or_insert(o);
            }
        }
    }
    for o in out.openers.values() {
        if let Some(c) = out.ckpts.get_mut(&o.ckpt) {
            c.idle_since = None;
        }
    }
    // Checkpoints every opener of which was on a node that is gone.
    let idle: Vec<_> =
        out.ckpts.iter().filter(|(id, _)| !out.openers.values().any(|o| o.ckpt == **id)).map(|(id, _)| *id).collect();
    for id in idle {
        if let Some(c) = out.ckpts.get_mut(&id) {
            c.idle_since.get_or_insert(time);
        }
    }
    out.remove_nodes(members);
    out.advance(time);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::ckpt::msg::SyncSection;
    use crate::services::ckpt::store::{MAX_CHECKPOINT_SIZE, MAX_TOTAL_DECLARED};
    use ais_ipc::ckpt::Attrs;

    fn ckpt() -> SyncCkpt {
        let created = Attrs {
            creation_flags: 1,
            checkpoint_size: 10,
            retention: 1,
            max_sections: 2,
            max_section_size: 5,
            max_section_id_size: 4,
        };
        SyncCkpt {
            id: (1, 2),
            name: b"c".to_vec(),
            unlinked: false,
            created,
            retention: 1,
            idle_since: None,
            next_generated: 0,
            active_replica: None,
            openers: Vec::new(),
        }
    }

    #[test]
    fn hostile_section_offset_is_rejected_not_overflowed() {
        let mut st = Staged::default();
        st.add_ckpt(ckpt()).unwrap();
        let sec = |offset: u64, chunk: &[u8]| SyncSection {
            ckpt: (1, 2),
            id: b"s".to_vec(),
            expiration: 1,
            last_update: 2,
            total: 5,
            offset,
            chunk: chunk.to_vec(),
        };
        st.add_section(sec(0, b"ab")).unwrap();
        // Before the fix `offset + len` overflowed (a panic in debug builds).
        assert!(st.add_section(sec(u64::MAX, b"cd")).is_err());
        assert!(st.add_section(sec(u64::MAX - 1, b"cd")).is_err());
        st.add_section(sec(2, b"cd")).unwrap();
        // Past the declared total.
        assert!(st.add_section(sec(4, b"ef")).is_err());
    }

    fn declaring(n: u64, size: u64) -> SyncCkpt {
        SyncCkpt {
            id: (1, n),
            name: format!("c{n}").into_bytes(),
            unlinked: false,
            created: Attrs {
                creation_flags: ais_ipc::ckpt::WR_ALL_REPLICAS,
                checkpoint_size: size,
                retention: 1,
                max_sections: 1,
                max_section_size: size,
                max_section_id_size: 4,
            },
            retention: 1,
            idle_since: None,
            next_generated: 0,
            active_replica: None,
            openers: Vec::new(),
        }
    }

    #[test]
    fn a_sender_cannot_declare_more_than_a_store_may_hold() {
        let mut staged = Staged::default();
        let fit = MAX_TOTAL_DECLARED / MAX_CHECKPOINT_SIZE;
        for n in 0..fit {
            staged.add_ckpt(declaring(n, MAX_CHECKPOINT_SIZE)).unwrap();
        }
        assert_eq!(staged.store.total_declared, MAX_TOTAL_DECLARED);
        assert_eq!(
            staged.add_ckpt(declaring(fit, 1)),
            Err(Refused("checkpoints declaring more than a store may hold"))
        );
        assert_eq!(staged.store.ckpts.len() as u64, fit);
        // Declaring nothing still fits.
        staged.add_ckpt(declaring(fit + 1, 0)).unwrap_or_else(|e| panic!("{e:?}"));
    }
}
