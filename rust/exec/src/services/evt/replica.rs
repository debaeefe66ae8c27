//! The event service's replicated state: channels, the opens that keep
//! them alive, retained events, each node's event-id counter and cluster
//! time. Every change is a function of the ordered message applied, so
//! every node's replica stays identical (the tests compare them).
//!
//! Subscriptions are not here: they are local to the node whose client
//! made them (events are matched on each node against its own
//! subscribers).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use ais_ipc::error;
use ais_ipc::evt::{CREATE, Event};

use crate::ordering::NodeId;

/// A channel instance: the open that created it. Unique cluster-wide, so
/// a channel unlinked and created again under the same name is another.
pub type ChanId = (NodeId, u64);
/// One open: the node that made it and that node's id for it.
pub type OpenId = (NodeId, u64);

/// Most retained events, and bytes of them, kept cluster-wide; later ones
/// are delivered but not retained (the same decision on every node).
pub const MAX_RETAINED: usize = 100_000;
pub const MAX_RETAINED_BYTES: usize = 256 << 20;
/// Most opens kept cluster-wide. Opens arrive from the network (with
/// secauth off anyone can send one), so the table must not grow without
/// end; the limit applies in delivery order, the same on every node.
pub const MAX_OPENS: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub name: Vec<u8>,
    pub unlinked: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenRec {
    pub chan: ChanId,
    pub flags: u8,
    /// The connection on the opening node (its close closes the open).
    pub conn: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retained {
    pub chan: ChanId,
    /// Cluster time (ns) at which it is dropped.
    pub expiry: i64,
    pub event: Arc<Event>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Replica {
    pub channels: BTreeMap<ChanId, Channel>,
    /// The live (not unlinked) channel of each name.
    pub live: BTreeMap<Vec<u8>, ChanId>,
    pub opens: BTreeMap<OpenId, OpenRec>,
    /// Retained events by id. Change only through the methods below, which
    /// keep `by_expiry` and `retained_bytes` in step (or call `reindex`).
    pub retained: BTreeMap<u64, Retained>,
    by_expiry: BTreeSet<(i64, u64)>,
    retained_bytes: usize,
    /// Per node: the lowest event counter it has not used yet.
    pub counters: BTreeMap<NodeId, u32>,
    /// Cluster time: the latest timestamp applied (ns since the epoch).
    pub time: i64,
}

/// What one retained event counts against [`MAX_RETAINED_BYTES`].
fn event_bytes(e: &Event) -> usize {
    e.data.len() + e.publisher.len() + e.patterns.iter().map(|p| p.len() + 8).sum::<usize>() + 64
}

/// When an event published at `at` with `retention` expires.
pub fn expiry(at: i64, retention: i64) -> i64 {
    at.saturating_add(retention.max(0))
}

impl Replica {
    fn insert_retained(&mut self, r: Retained) {
        if let Some(old) = self.retained.remove(&r.event.id) {
            self.by_expiry.remove(&(old.expiry, old.event.id));
            self.retained_bytes -= event_bytes(&old.event);
        }
        self.by_expiry.insert((r.expiry, r.event.id));
        self.retained_bytes += event_bytes(&r.event);
        self.retained.insert(r.event.id, r);
    }

    fn remove_retained(&mut self, id: u64) -> Option<Retained> {
        let r = self.retained.remove(&id)?;
        self.by_expiry.remove(&(r.expiry, id));
        self.retained_bytes -= event_bytes(&r.event);
        Some(r)
    }

    /// Rebuilds the expiry index and byte count after bulk changes.
    fn reindex(&mut self) {
        self.by_expiry = self.retained.values().map(|r| (r.expiry, r.event.id)).collect();
        self.retained_bytes = self.retained.values().map(|r| event_bytes(&r.event)).sum();
    }

    /// Opens channel `name` for `open` of connection `conn`, creating it
    /// with `CREATE`.
    pub fn open(&mut self, open: OpenId, name: &[u8], flags: u8, conn: u64) -> Result<ChanId, u32> {
        // An id already in use (only a broken or hostile sender reuses
        // one) would orphan the open it replaced and its channel.
        if self.opens.contains_key(&open) {
            return Err(error::EXIST);
        }
        if self.opens.len() >= MAX_OPENS {
            return Err(error::NO_RESOURCES);
        }
        let chan = match self.live.get(name) {
            Some(c) => *c,
            None if flags & CREATE != 0 => {
                if self.channels.contains_key(&open) {
                    return Err(error::EXIST);
                }
                self.channels.insert(open, Channel { name: name.to_vec(), unlinked: false });
                self.live.insert(name.to_vec(), open);
                open
            }
            None => return Err(error::NOT_EXIST),
        };
        self.opens.insert(open, OpenRec { chan, flags, conn });
        Ok(chan)
    }

    pub fn close(&mut self, open: OpenId) -> Result<(), u32> {
        let rec = self.opens.remove(&open).ok_or(error::BAD_HANDLE)?;
        self.collect(rec.chan);
        Ok(())
    }

    /// Unlinks the live channel `name`: new opens no longer find it; it
    /// lives until its last open closes.
    pub fn unlink(&mut self, name: &[u8]) -> Result<(), u32> {
        let chan = self.live.remove(name).ok_or(error::NOT_EXIST)?;
        if let Some(c) = self.channels.get_mut(&chan) {
            c.unlinked = true;
        }
        self.collect(chan);
        Ok(())
    }

    /// Deletes `chan` (and its retained events) if unlinked and unopened.
    fn collect(&mut self, chan: ChanId) {
        let unlinked = self.channels.get(&chan).is_some_and(|c| c.unlinked);
        if unlinked && !self.opens.values().any(|o| o.chan == chan) {
            self.channels.remove(&chan);
            self.retained.retain(|_, r| r.chan != chan);
            self.reindex();
        }
    }

    /// A published event delivered: notes the publisher's counter, keeps
    /// the event if retained. Returns the channel, or None if the open is
    /// gone (the event is dropped everywhere).
    pub fn publish(&mut self, open: OpenId, event: &Arc<Event>) -> Option<ChanId> {
        self.advance(event.publish_time);
        let counter = (event.id & 0xffff_ffff) as u32;
        let next = self.counters.entry(open.0).or_insert(0);
        *next = (*next).max(counter.saturating_add(1));
        let chan = self.opens.get(&open)?.chan;
        let exp = expiry(event.publish_time, event.retention);
        if event.retention > 0
            && exp > self.time
            && self.retained.len() < MAX_RETAINED
            && self.retained_bytes + event_bytes(event) <= MAX_RETAINED_BYTES
        {
            self.insert_retained(Retained { chan, expiry: exp, event: Arc::clone(event) });
        }
        Some(chan)
    }

    /// `saEvtEventRetentionTimeClear` through `open`.
    pub fn clear(&mut self, open: OpenId, id: u64) -> Result<(), u32> {
        let chan = self.opens.get(&open).ok_or(error::BAD_HANDLE)?.chan;
        match self.retained.get(&id) {
            Some(r) if r.chan == chan => {
                self.remove_retained(id);
                Ok(())
            }
            _ => Err(error::NOT_EXIST),
        }
    }

    /// Moves cluster time to `ts` (never back) and drops what expired.
    pub fn advance(&mut self, ts: i64) {
        if ts > self.time {
            self.time = ts;
            while let Some(&(expiry, id)) = self.by_expiry.first() {
                if expiry > ts {
                    break;
                }
                self.remove_retained(id);
            }
        }
    }

    /// The earliest expiry of a retained event.
    pub fn next_deadline(&self) -> Option<i64> {
        self.by_expiry.first().map(|(e, _)| *e)
    }

    /// Nodes not in `members` left: their opens are gone.
    pub fn remove_nodes(&mut self, members: &[NodeId]) {
        self.remove_opens(|(n, _), _| !members.contains(n));
    }

    /// Connection `conn` of `node` is gone: its opens are.
    pub fn close_conn(&mut self, node: NodeId, conn: u64) {
        self.remove_opens(|(n, _), o| *n == node && o.conn == conn);
    }

    fn remove_opens(&mut self, gone: impl Fn(&OpenId, &OpenRec) -> bool) {
        let gone: Vec<OpenId> = self.opens.iter().filter(|(id, o)| gone(id, o)).map(|(id, _)| *id).collect();
        let mut chans = BTreeSet::new();
        for o in gone {
            if let Some(rec) = self.opens.remove(&o) {
                chans.insert(rec.chan);
            }
        }
        for c in chans {
            self.collect(c);
        }
    }

    /// Retained events of `chan` not expired at `now`, in publish order.
    pub fn retained_of(&self, chan: ChanId, now: i64) -> Vec<Arc<Event>> {
        let mut v: Vec<&Retained> = self.retained.values().filter(|r| r.chan == chan && r.expiry > now).collect();
        v.sort_by_key(|r| (r.event.publish_time, r.event.id));
        v.into_iter().map(|r| Arc::clone(&r.event)).collect()
    }

    /// Whether the retained-event limits are reached.
    pub fn retained_full(&self) -> bool {
        self.retained.len() >= MAX_RETAINED || self.retained_bytes >= MAX_RETAINED_BYTES
    }

    /// Merges `other` (another node's state, sent in sync) into this one.
    /// Commutative within the limits: the tables stay bounded as in normal
    /// operation (a sync sender could be anyone with secauth off), and what
    /// is over a limit is skipped in key order, the same on every node.
    pub fn union(&mut self, other: Replica) {
        for (id, c) in other.channels {
            if self.channels.len() >= MAX_OPENS && !self.channels.contains_key(&id) {
                continue;
            }
            let e = self.channels.entry(id).or_insert_with(|| c.clone());
            e.unlinked |= c.unlinked;
        }
        for (id, o) in other.opens {
            if self.opens.len() < MAX_OPENS || self.opens.contains_key(&id) {
                self.opens.insert(id, o);
            }
        }
        for (id, r) in other.retained {
            if !self.retained.contains_key(&id) && !self.retained_full() {
                self.insert_retained(r);
            }
        }
        for (n, c) in other.counters {
            let e = self.counters.entry(n).or_insert(0);
            *e = (*e).max(c);
        }
        self.time = self.time.max(other.time);
    }

    /// After unions: one live channel per name (the lowest id; opens and
    /// retained events of the others move to it), the live map rebuilt,
    /// expired and orphaned state dropped.
    pub fn normalize(&mut self) {
        let mut winner: BTreeMap<Vec<u8>, ChanId> = BTreeMap::new();
        let mut moved: BTreeMap<ChanId, ChanId> = BTreeMap::new();
        for (id, c) in &self.channels {
            if c.unlinked {
                continue;
            }
            match winner.get(&c.name) {
                Some(w) => {
                    moved.insert(*id, *w);
                }
                None => {
                    winner.insert(c.name.clone(), *id);
                }
            }
        }
        for (from, to) in &moved {
            self.channels.remove(from);
            for o in self.opens.values_mut().filter(|o| o.chan == *from) {
                o.chan = *to;
            }
            for r in self.retained.values_mut().filter(|r| r.chan == *from) {
                r.chan = *to;
            }
        }
        self.live = winner;
        self.opens.retain(|_, o| self.channels.contains_key(&o.chan));
        let chans: Vec<ChanId> = self.channels.keys().copied().collect();
        for c in chans {
            self.collect(c);
        }
        let now = self.time;
        self.retained.retain(|_, r| r.expiry > now && self.channels.contains_key(&r.chan));
        self.reindex();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ais_ipc::evt::{PUBLISHER, SUBSCRIBER};

    fn ev(id: u64, t: i64, retention: i64) -> Arc<Event> {
        Arc::new(Event { id, publish_time: t, retention, ..Event::default() })
    }

    #[test]
    fn open_create_unlink_and_last_close() {
        let mut r = Replica::default();
        assert_eq!(r.open((1, 1), b"a", PUBLISHER, 1), Err(error::NOT_EXIST));
        let c = r.open((1, 1), b"a", CREATE | PUBLISHER, 1).unwrap();
        assert_eq!(r.open((2, 1), b"a", SUBSCRIBER, 1), Ok(c));
        r.publish((1, 1), &ev((1 << 32) | 5, 10, 100));
        assert_eq!(r.counters[&1], 6);
        r.unlink(b"a").unwrap();
        assert_eq!(r.unlink(b"a"), Err(error::NOT_EXIST));
        assert_eq!(r.open((3, 1), b"a", 0, 1), Err(error::NOT_EXIST), "unlinked: not found by name");
        let c2 = r.open((3, 1), b"a", CREATE, 1).unwrap();
        assert_ne!(c, c2, "a new channel under the old name");
        r.close((1, 1)).unwrap();
        assert!(r.channels.contains_key(&c), "still open by node 2");
        assert_eq!(r.retained.len(), 1);
        r.close((2, 1)).unwrap();
        assert!(!r.channels.contains_key(&c), "last close deletes it");
        assert!(r.retained.is_empty());
        assert!(r.channels.contains_key(&c2), "never unlinked: stays without opens");
        r.close((3, 1)).unwrap();
        assert!(r.channels.contains_key(&c2));
    }

    #[test]
    fn reused_open_ids_and_too_many_opens_are_refused() {
        let mut r = Replica::default();
        let c = r.open((1, 1), b"a", CREATE, 1).unwrap();
        // Before: the second open replaced the first, and channel "a"
        // (now unreferenced) was never collected.
        assert_eq!(r.open((1, 1), b"b", CREATE, 1), Err(error::EXIST));
        assert_eq!(r.opens[&(1, 1)].chan, c);
        r.unlink(b"a").unwrap();
        r.close((1, 1)).unwrap();
        assert!(r.channels.is_empty());
        // The table is bounded (the same decision on every node).
        for i in 0..MAX_OPENS as u64 {
            r.opens.insert((9, i), OpenRec { chan: (9, 0), flags: 0, conn: 1 });
        }
        assert_eq!(r.open((2, 1), b"x", CREATE, 1), Err(error::NO_RESOURCES));
        assert!(!r.live.contains_key(b"x".as_slice()));
    }

    #[test]
    fn retention_expires_with_cluster_time_and_clear_needs_the_channel() {
        let mut r = Replica::default();
        r.open((1, 1), b"a", CREATE, 1).unwrap();
        r.open((1, 2), b"b", CREATE, 1).unwrap();
        r.publish((1, 1), &ev(2000, 100, 50));
        r.publish((1, 1), &ev(2001, 110, 0));
        assert_eq!(r.retained.keys().copied().collect::<Vec<_>>(), vec![2000]);
        assert_eq!(r.next_deadline(), Some(150));
        assert_eq!(r.clear((1, 2), 2000), Err(error::NOT_EXIST), "other channel");
        r.advance(149);
        assert_eq!(r.retained.len(), 1);
        r.advance(150);
        assert!(r.retained.is_empty());
        r.publish((1, 1), &ev(2002, 200, 50));
        r.clear((1, 1), 2002).unwrap();
        assert_eq!(r.clear((1, 1), 2002), Err(error::NOT_EXIST));
    }

    #[test]
    fn union_is_order_independent_and_merges_same_named_channels() {
        let mut a = Replica::default();
        a.open((1, 5), b"x", CREATE, 1).unwrap();
        a.publish((1, 5), &ev(3000, 10, 1000));
        let mut b = Replica::default();
        b.open((2, 3), b"x", CREATE, 1).unwrap();
        b.publish((2, 3), &ev(4000, 20, 1000));
        let mut ab = Replica::default();
        ab.union(a.clone());
        ab.union(b.clone());
        ab.normalize();
        let mut ba = Replica::default();
        ba.union(b);
        ba.union(a);
        ba.normalize();
        assert_eq!(ab, ba);
        assert_eq!(ab.channels.len(), 1);
        let chan = ab.live[&b"x"[..]];
        assert_eq!(chan, (1, 5));
        assert!(ab.opens.values().all(|o| o.chan == chan));
        assert_eq!(ab.retained_of(chan, 0).iter().map(|e| e.id).collect::<Vec<_>>(), vec![3000, 4000]);
    }

    #[test]
    fn expiry_index_and_byte_count_stay_consistent() {
        let mut r = Replica::default();
        r.open((1, 1), b"a", CREATE, 1).unwrap();
        for id in 0..100u64 {
            let e = Event {
                id: 2000 + id,
                publish_time: 1,
                retention: 1000 + id as i64,
                data: vec![0; 1024],
                ..Event::default()
            };
            r.publish((1, 1), &Arc::new(e));
        }
        let sum = |r: &Replica| r.retained.values().map(|x| event_bytes(&x.event)).sum::<usize>();
        assert_eq!(r.retained_bytes, sum(&r));
        r.clear((1, 1), 2000).unwrap();
        assert_eq!(r.retained_bytes, sum(&r));
        assert_eq!(r.next_deadline(), Some(1 + 1001));
        let mut copy = Replica::default();
        copy.union(r.clone());
        copy.normalize();
        assert_eq!(copy, r, "reindexing gives the same index");
        r.advance(1 + 1050);
        assert_eq!(r.retained.len(), 49);
        assert_eq!(r.retained_bytes, sum(&r));
        r.advance(5000);
        assert!(r.retained.is_empty() && r.next_deadline().is_none() && r.retained_bytes == 0);
    }

    #[test]
    fn a_closed_connection_loses_its_opens_only() {
        let mut r = Replica::default();
        let c = r.open((1, 1), b"a", CREATE, 7).unwrap();
        r.open((1, 2), b"a", 0, 8).unwrap();
        r.open((2, 3), b"a", 0, 7).unwrap();
        r.unlink(b"a").unwrap();
        r.close_conn(1, 7);
        assert_eq!(r.opens.keys().copied().collect::<Vec<_>>(), vec![(1, 2), (2, 3)]);
        r.close_conn(1, 8);
        r.close_conn(2, 7);
        assert!(r.opens.is_empty());
        assert!(!r.channels.contains_key(&c), "the last close of an unlinked channel deletes it");
    }

    #[test]
    fn departed_nodes_lose_their_opens() {
        let mut r = Replica::default();
        r.open((1, 1), b"a", CREATE, 1).unwrap();
        r.unlink(b"a").unwrap();
        r.open((2, 1), b"b", CREATE, 1).unwrap();
        r.remove_nodes(&[2]);
        assert!(r.channels.len() == 1 && r.opens.len() == 1);
    }
}
