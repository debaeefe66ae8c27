//! The event service's sync items (see the engine's `SYNC_ITEM`, which
//! carries the ring). Every decoder is bounded; an item that does not
//! decode is counted and dropped by the engine.
//!
//! ```text
//! CHANNEL   u8 1, u32 node, u64 id, bytes name, bool unlinked
//! OPEN      u8 2, u32 node, u64 open, u32 chan node, u64 chan id, u8 flags, u64 conn
//! EVENT     u8 3, u32 chan node, u64 chan id, i64 expiry, Event
//! COUNTERS  u8 4, u32 n, n x (u32 node, u32 counter)
//! ```

use std::ops::Bound;
use std::sync::Arc;

use ais_ipc::evt::{Event, MAX_NAME};
use ais_ipc::{DecodeError, Reader, Writer};

use super::replica::{ChanId, Channel, OpenId, OpenRec, Replica, Retained};

pub const CHANNEL: u8 = 1;
pub const OPEN: u8 = 2;
pub const EVENT: u8 = 3;
pub const COUNTERS: u8 = 4;

/// Most nodes one COUNTERS item lists.
pub const MAX_NODES: usize = 1 << 16;

/// Where a sync sender is in its replica: after which key of which table.
/// Walks by key, so it holds no copy and skips what vanished meanwhile.
#[derive(Debug)]
pub enum Cursor {
    Channels(Option<ChanId>),
    Opens(Option<OpenId>),
    Events(Option<u64>),
    Counters,
    Done,
}

impl Default for Cursor {
    fn default() -> Self {
        Cursor::Channels(None)
    }
}

/// The first entry of `map` after `key` (from the start for None).
fn after<K: Ord + Copy, V>(map: &std::collections::BTreeMap<K, V>, key: Option<K>) -> Option<(K, &V)> {
    let from = key.map_or(Bound::Unbounded, Bound::Excluded);
    map.range((from, Bound::Unbounded)).next().map(|(k, v)| (*k, v))
}

impl Cursor {
    /// Writes the next item of `r` into `w`; false once all are out.
    pub fn next(&mut self, r: &Replica, w: &mut Writer) -> bool {
        loop {
            *self = match *self {
                Cursor::Channels(key) => match after(&r.channels, key) {
                    Some((id, c)) => {
                        w.u8(CHANNEL).u32(id.0).u64(id.1).bytes(&c.name).bool(c.unlinked);
                        *self = Cursor::Channels(Some(id));
                        return true;
                    }
                    None => Cursor::Opens(None),
                },
                Cursor::Opens(key) => match after(&r.opens, key) {
                    Some((id, o)) => {
                        w.u8(OPEN).u32(id.0).u64(id.1).u32(o.chan.0).u64(o.chan.1).u8(o.flags).u64(o.conn);
                        *self = Cursor::Opens(Some(id));
                        return true;
                    }
                    None => Cursor::Events(None),
                },
                Cursor::Events(key) => match after(&r.retained, key) {
                    Some((id, rt)) => {
                        w.u8(EVENT).u32(rt.chan.0).u64(rt.chan.1).i64(rt.expiry);
                        rt.event.encode(w);
                        *self = Cursor::Events(Some(id));
                        return true;
                    }
                    None => Cursor::Counters,
                },
                Cursor::Counters => {
                    w.u8(COUNTERS).u32(r.counters.len() as u32);
                    for (n, c) in &r.counters {
                        w.u32(*n).u32(*c);
                    }
                    *self = Cursor::Done;
                    return true;
                }
                Cursor::Done => return false,
            };
        }
    }
}

/// One sync item as a replica of just that item (to be merged with
/// [`Replica::union`], which keeps the tables bounded).
pub fn decode_item(buf: &[u8]) -> Result<Replica, DecodeError> {
    let mut r = Reader::new(buf);
    let mut one = Replica::default();
    match r.u8("evt sync item")? {
        CHANNEL => {
            let id = (r.u32("node")?, r.u64("channel")?);
            let name = r.bytes(MAX_NAME, "channel name")?.to_vec();
            one.channels.insert(id, Channel { name, unlinked: r.bool("unlinked")? });
        }
        OPEN => {
            let id = (r.u32("node")?, r.u64("open")?);
            let chan = (r.u32("channel node")?, r.u64("channel")?);
            one.opens.insert(id, OpenRec { chan, flags: r.u8("flags")?, conn: r.u64("conn")? });
        }
        EVENT => {
            let chan = (r.u32("channel node")?, r.u64("channel")?);
            let expiry = r.i64("expiry")?;
            let event = Event::decode(&mut r)?;
            one.retained.insert(event.id, Retained { chan, expiry, event: Arc::new(event) });
        }
        COUNTERS => {
            let n = r.count(MAX_NODES, 8, "counter count")?;
            for _ in 0..n {
                one.counters.insert(r.u32("node")?, r.u32("counter")?);
            }
        }
        other => return Err(DecodeError::BadValue { what: "evt sync item", value: u64::from(other) }),
    }
    r.finish()?;
    Ok(one)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::evt::replica::MAX_OPENS;
    use ais_ipc::evt::CREATE;

    /// Every item of `r`, as the cursor writes them.
    fn items(r: &Replica) -> Vec<Vec<u8>> {
        let mut c = Cursor::default();
        let mut out = Vec::new();
        loop {
            let mut w = Writer::new();
            if !c.next(r, &mut w) {
                return out;
            }
            out.push(w.into_vec());
        }
    }

    #[test]
    fn a_replica_goes_through_its_items_whole_and_bad_items_are_refused() {
        let mut r = Replica::default();
        r.open((1, 1), b"a", CREATE, 7).unwrap();
        r.open((2, 5), b"b", CREATE, 8).unwrap();
        r.unlink(b"b").unwrap();
        r.publish(
            (1, 1),
            &Arc::new(Event { id: (1 << 32) | 2000, publish_time: 10, retention: 99, ..Event::default() }),
        );
        let all = items(&r);
        assert_eq!(all.len(), 2 + 2 + 1 + 1, "channels, opens, the event, counters");
        let mut copy = Replica::default();
        for item in &all {
            copy.union(decode_item(item).unwrap());
            for cut in 0..item.len() {
                assert!(decode_item(&item[..cut]).is_err());
            }
            let mut long = item.clone();
            long.push(0);
            assert!(decode_item(&long).is_err());
        }
        copy.time = r.time;
        copy.normalize();
        assert_eq!(copy, r);
        assert!(decode_item(&[77]).is_err());
        assert!(decode_item(&[]).is_err());
    }

    #[test]
    fn staging_is_bounded_like_the_replica() {
        let mut staged = Replica::default();
        for i in 0..MAX_OPENS as u64 {
            staged.opens.insert((9, i), OpenRec { chan: (9, 0), flags: 0, conn: 1 });
        }
        let open = |id, flags| {
            let mut one = Replica::default();
            one.opens.insert(id, OpenRec { chan: (1, 1), flags, conn: 1 });
            one
        };
        // Before: every open was added, however many a sender sent.
        staged.union(open((1, 1), 0));
        assert!(!staged.opens.contains_key(&(1, 1)));
        assert_eq!(staged.opens.len(), MAX_OPENS);
        // A repeat of one already staged still applies.
        staged.union(open((9, 3), 2));
        assert_eq!(staged.opens[&(9, 3)].flags, 2);
    }
}
