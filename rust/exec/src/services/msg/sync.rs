//! The message service's sync items (inside the engine's `SYNC_ITEM`),
//! and the merge of partitions. Every decoder is bounded; an item that
//! does not decode is counted and dropped by the engine.
//!
//! ```text
//! QUEUE    u8 1, u32 creator, u64 qid, bytes name, bool unlinked, Attrs,
//!          i64 close_time, bool open, [u32 node, u64 conn, u64 open, u32 flags],
//!          u32 n, n x Waiter
//! MESSAGE  u8 2, u32 creator, u64 qid, Message, i64 send_time, u64 sender_id
//! GROUP    u8 3, bytes name, u32 policy, u64 next, u32 n, n x bytes queue
//! REPLIER  u8 4, u64 sender_id, Waiter
//! COUNTER  u8 5, u64 next_sender_id
//! Waiter   u32 node, u64 seq, u64 conn, u64 room
//! ```
//! A queue's messages follow it, oldest first within each priority.

use std::collections::BTreeMap;

use ais_ipc::msg::{self as wire, Attrs, Message};
use ais_ipc::{DecodeError, Reader, Writer};

use super::queues::{Group, MAX_QUEUE_MESSAGES, Opener, Queue, QueueId, Queues, Stored, Waiter};
use crate::ordering::NodeId;
use crate::services::replicated::{Rejected, ReqRef};

const QUEUE: u8 = 1;
const MESSAGE: u8 = 2;
const GROUP: u8 = 3;
const REPLIER: u8 = 4;
const COUNTER: u8 = 5;

/// Most waiters listed for one queue.
const MAX_WAITERS: usize = 1 << 16;

fn waiter(w: &mut Writer, x: &Waiter) {
    w.u32(x.req.node).u64(x.req.seq).u64(x.conn).u64(x.room);
}

fn read_waiter(r: &mut Reader<'_>) -> Result<Waiter, DecodeError> {
    let req = ReqRef { node: r.u32("waiter node")?, seq: r.u64("waiter seq")? };
    Ok(Waiter { req, conn: r.u64("waiter conn")?, room: r.u64("waiter room")? })
}

fn queue_item(q: &Queue, unlinked: bool) -> Vec<u8> {
    let mut w = Writer::new();
    w.u8(QUEUE).u32(q.id.0).u64(q.id.1).bytes(&q.name).bool(unlinked);
    q.attrs.encode(&mut w);
    w.i64(q.close_time).bool(q.opener.is_some());
    if let Some(o) = q.opener {
        w.u32(o.node).u64(o.conn).u64(o.open).u32(o.flags);
    }
    w.u32(q.waiters.len() as u32);
    for x in &q.waiters {
        waiter(&mut w, x);
    }
    w.into_vec()
}

/// Every item of `s`, in sending order. (A copy of the state: simple, and
/// the state does not change during the round anyway.)
pub fn items(s: &Queues) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let live = s.queues.values().map(|q| (q, false));
    for (q, unlinked) in live.chain(s.unlinked.iter().map(|q| (q, true))) {
        out.push(queue_item(q, unlinked));
        for st in q.areas.iter().flatten() {
            let mut w = Writer::new();
            w.u8(MESSAGE).u32(q.id.0).u64(q.id.1);
            st.msg.encode(&mut w);
            w.i64(st.send_time).u64(st.sender_id);
            out.push(w.into_vec());
        }
    }
    for (name, g) in &s.groups {
        let mut w = Writer::new();
        w.u8(GROUP).bytes(name).u32(g.policy).u64(g.next).u32(g.members.len() as u32);
        for m in &g.members {
            w.bytes(m);
        }
        out.push(w.into_vec());
    }
    for (id, x) in &s.repliers {
        let mut w = Writer::new();
        w.u8(REPLIER).u64(*id);
        waiter(&mut w, x);
        out.push(w.into_vec());
    }
    let mut w = Writer::new();
    w.u8(COUNTER).u64(s.next_sender_id);
    out.push(w.into_vec());
    out
}

/// Where a sync sender is: the items still to send, next first.
pub type Cursor = std::vec::IntoIter<Vec<u8>>;

/// What one sender sent so far.
#[derive(Debug, Default)]
pub struct Staged {
    pub state: Queues,
    /// Unlinked queues by id, then live ones (by id -> name).
    live: BTreeMap<QueueId, Vec<u8>>,
}

impl Staged {
    fn queue_mut(&mut self, id: QueueId) -> Option<&mut Queue> {
        match self.live.get(&id) {
            Some(name) => self.state.queues.get_mut(name),
            None => self.state.unlinked.iter_mut().find(|q| q.id == id),
        }
    }

    pub fn add(&mut self, item: &[u8]) -> Result<(), Rejected> {
        let mut r = Reader::new(item);
        match r.u8("msg sync item")? {
            QUEUE => {
                let id = (r.u32("creator")?, r.u64("qid")?);
                let name = r.bytes(wire::MAX_NAME, "name")?.to_vec();
                let unlinked = r.bool("unlinked")?;
                let attrs = Attrs::decode(&mut r)?;
                let mut q = Queue::new(id, name.clone(), attrs);
                q.close_time = r.i64("close time")?;
                if r.bool("open")? {
                    let node = r.u32("node")?;
                    q.opener =
                        Some(Opener { node, conn: r.u64("conn")?, open: r.u64("open")?, flags: r.u32("flags")? });
                }
                let n = r.count(MAX_WAITERS, 28, "waiters")?;
                for _ in 0..n {
                    q.waiters.push_back(read_waiter(&mut r)?);
                }
                r.finish()?;
                if self.queue_mut(id).is_some() || (!unlinked && self.state.queues.contains_key(&name)) {
                    return Err(Rejected::Refused("queue sent twice"));
                }
                if unlinked {
                    self.state.unlinked.push(q);
                } else {
                    self.live.insert(id, name.clone());
                    self.state.queues.insert(name, q);
                }
            }
            MESSAGE => {
                let id = (r.u32("creator")?, r.u64("qid")?);
                let msg = Message::decode(&mut r)?;
                let s = Stored { msg, send_time: r.i64("send time")?, sender_id: r.u64("sender id")? };
                r.finish()?;
                let q = self.queue_mut(id).ok_or(Rejected::Refused("message of an unknown queue"))?;
                let p = usize::from(s.msg.priority);
                if q.count() >= MAX_QUEUE_MESSAGES {
                    return Err(Rejected::Refused("too many messages"));
                }
                q.used[p] += s.msg.data.len() as u64;
                q.areas[p].push_back(s);
            }
            GROUP => {
                let name = r.bytes(wire::MAX_NAME, "group")?.to_vec();
                let policy = r.u32("policy")?;
                let next = r.u64("next")?;
                let n = r.count(wire::MAX_MEMBERS, 4, "members")?;
                let mut members = Vec::with_capacity(n);
                for _ in 0..n {
                    members.push(r.bytes(wire::MAX_NAME, "member")?.to_vec());
                }
                r.finish()?;
                self.state.groups.insert(name, Group { policy, members, next });
            }
            REPLIER => {
                let id = r.u64("sender id")?;
                let w = read_waiter(&mut r)?;
                r.finish()?;
                self.state.repliers.insert(id, w);
            }
            COUNTER => {
                self.state.next_sender_id = r.u64("next sender id")?;
                r.finish()?;
            }
            other => return Err(DecodeError::BadValue { what: "msg sync item", value: other.into() }.into()),
        }
        Ok(())
    }
}

/// The merge of the groups' states (by sender, ascending): the first
/// group's entry wins where names meet; what nodes not in `members` held
/// is released.
pub fn merge(states: BTreeMap<NodeId, Queues>, members: &[NodeId], time: i64) -> Queues {
    let mut out = Queues { time, ..Queues::default() };
    for (_, s) in states {
        for (name, q) in s.queues {
            out.queues.entry(name).or_insert(q);
        }
        for q in s.unlinked {
            if !out.unlinked.iter().any(|u| u.id == q.id) {
                out.unlinked.push(q);
            }
        }
        for (name, g) in s.groups {
            out.groups.entry(name).or_insert(g);
        }
        for (id, w) in s.repliers {
            out.repliers.entry(id).or_insert(w);
        }
        out.next_sender_id = out.next_sender_id.max(s.next_sender_id);
    }
    let mut fx = super::queues::Effects::default();
    out.drop_owners(|node, _| !members.contains(&node), &mut fx);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_rebuild_the_state_and_bad_items_are_refused() {
        let mut s = Queues::default();
        let mut fx = super::super::queues::Effects::default();
        let attrs = Attrs { creation_flags: wire::PERSISTENT, size: [50; 4], retention: 0 };
        let opener = Opener { node: 1, conn: 2, open: 3, flags: wire::OPEN_CREATE };
        s.open((1, 9), b"q", Some(&attrs), opener).unwrap();
        s.open((1, 10), b"u", Some(&attrs), Opener { open: 4, ..opener }).unwrap();
        s.unlink(b"u").unwrap();
        s.wait(1, 4, Waiter { req: ReqRef { node: 1, seq: 5 }, conn: 8, room: 10 });
        for (p, d) in [(2u8, &b"a"[..]), (0, b"bb"), (2, b"c")] {
            let msg = Message { priority: p, data: d.to_vec(), ..Message::default() };
            s.send(b"q", 1, msg, 7, 0, &mut fx).unwrap();
        }
        s.group_create(b"g", wire::BROADCAST).unwrap();
        s.group_insert(b"g", b"q").unwrap();
        let id = s.new_sender_id();
        s.repliers.insert(id, Waiter { req: ReqRef { node: 2, seq: 1 }, conn: 1, room: 5 });
        let mut staged = Staged::default();
        for item in items(&s) {
            staged.add(&item).unwrap();
        }
        assert_eq!(staged.state, s);
        assert!(staged.add(&items(&s)[0]).is_err(), "a queue twice");
        assert!(staged.add(&[MESSAGE, 0, 0]).is_err());
        assert!(staged.add(&[99]).is_err());
        let merged = merge(BTreeMap::from([(1, staged.state)]), &[2], 0);
        assert!(merged.queues[&b"q"[..]].opener.is_none(), "node 1 left: its open is closed");
        assert!(merged.unlinked.is_empty());
        assert_eq!(merged.queues[&b"q"[..]].count(), 3, "persistent: the messages stay");
    }
}
