//! The message service's replicated state: queues with their messages and
//! blocked gets, queue groups, and the senders of `saMsgMessageSendReceive`
//! waiting for a reply. Every change here happens at the same point of the
//! order on every node (see the module doc of `services::msg`).
//!
//! Must not: read a clock, answer anyone itself (it returns who is to be
//! answered with what, see [`Answers`]), or keep node-local state.

use std::collections::{BTreeMap, VecDeque};

use ais_ipc::error;
use ais_ipc::msg::{self as wire, AREAS, Attrs, Got, Message, Status};

use crate::ordering::NodeId;
use crate::services::replicated::ReqRef;

/// Most messages one queue holds (each area's byte capacity is the
/// creator's; this bounds the count, zero-size messages included).
pub const MAX_QUEUE_MESSAGES: usize = 1 << 20;

/// A queue's id: its creator node and that node's id for the create.
pub type QueueId = (NodeId, u64);

/// Who has a queue open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opener {
    pub node: NodeId,
    pub conn: u64,
    /// The open's id (a queue handle names it on the wire).
    pub open: u64,
    pub flags: u32,
}

/// A message in a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub msg: Message,
    pub send_time: i64,
    /// The sendReceive waiting for a reply to it (0: none).
    pub sender_id: u64,
}

/// A blocked get (or a waiting sendReceive): its request, connection and
/// the most data it can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waiter {
    pub req: ReqRef,
    pub conn: u64,
    pub room: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    pub id: QueueId,
    pub name: Vec<u8>,
    pub attrs: Attrs,
    pub areas: [VecDeque<Stored>; AREAS],
    pub used: [u64; AREAS],
    pub opener: Option<Opener>,
    /// Cluster time of the last close (0 while open or never closed).
    pub close_time: i64,
    pub waiters: VecDeque<Waiter>,
}

impl Queue {
    pub fn new(id: QueueId, name: Vec<u8>, attrs: Attrs) -> Queue {
        Queue {
            id,
            name,
            attrs,
            areas: Default::default(),
            used: [0; AREAS],
            opener: None,
            close_time: 0,
            waiters: VecDeque::new(),
        }
    }

    pub fn count(&self) -> usize {
        self.areas.iter().map(VecDeque::len).sum()
    }

    /// Free bytes in area `p`.
    pub fn room(&self, p: usize) -> u64 {
        self.attrs.size[p].saturating_sub(self.used[p])
    }

    fn push(&mut self, s: Stored) -> Result<(), u32> {
        let p = usize::from(s.msg.priority);
        let len = s.msg.data.len() as u64;
        if len > self.room(p) || self.count() >= MAX_QUEUE_MESSAGES {
            return Err(error::QUEUE_FULL);
        }
        self.used[p] += len;
        self.areas[p].push_back(s);
        Ok(())
    }

    /// The next message (highest priority first, FIFO within one).
    fn front(&self) -> Option<&Stored> {
        self.areas.iter().find_map(|a| a.front())
    }

    fn pop(&mut self) -> Option<Stored> {
        let p = self.areas.iter().position(|a| !a.is_empty())?;
        let s = self.areas[p].pop_front()?;
        self.used[p] -= s.msg.data.len() as u64;
        Some(s)
    }

    fn clear(&mut self) {
        self.areas = Default::default();
        self.used = [0; AREAS];
    }

    /// What a get with `room` takes: the next message, `NoSpace`, or None
    /// when the queue is empty.
    fn take(&mut self, room: u64) -> Option<Got> {
        let len = self.front()?.msg.data.len() as u64;
        if len > room {
            return Some(Got::NoSpace(len));
        }
        let s = self.pop()?;
        Some(Got::Message { msg: s.msg, send_time: s.send_time, sender_id: s.sender_id })
    }

    pub fn status(&self) -> Status {
        let mut usage = [(0, 0); AREAS];
        for (p, u) in usage.iter_mut().enumerate() {
            *u = (self.used[p], self.areas[p].len() as u32);
        }
        let close_time = if self.opener.is_some() { 0 } else { self.close_time };
        Status { attrs: self.attrs, close_time, usage }
    }
}

/// A queue group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Group {
    pub policy: u32,
    /// Queue names, in insertion order.
    pub members: Vec<Vec<u8>>,
    /// Where round robin goes on from.
    pub next: u64,
}

/// A sendReceive waiting for its reply.
pub type Replier = Waiter;

/// Who is to be answered with what (the caller hands them to the engine).
pub type Answers = Vec<(ReqRef, u32, Vec<u8>)>;

/// What a change tells the open's owner: a message arrived in a queue
/// opened with `SA_MSG_QUEUE_RECEIVE_CALLBACK` (node, conn, open).
pub type Received = Vec<(NodeId, u64, u64)>;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Queues {
    pub time: i64,
    /// Live queues by name.
    pub queues: BTreeMap<Vec<u8>, Queue>,
    /// Unlinked queues still open (gone at their close).
    pub unlinked: Vec<Queue>,
    pub groups: BTreeMap<Vec<u8>, Group>,
    /// Waiting sendReceives by sender id.
    pub repliers: BTreeMap<u64, Replier>,
    pub next_sender_id: u64,
}

/// Effects of a change besides its answer.
#[derive(Debug, Default)]
pub struct Effects {
    pub answers: Answers,
    pub received: Received,
}

pub fn valid_policy(policy: u32) -> bool {
    (wire::ROUND_ROBIN..=wire::BROADCAST).contains(&policy)
}

impl Queues {
    fn by_open(&mut self, node: NodeId, open: u64) -> Option<&mut Queue> {
        let mine = |q: &&mut Queue| q.opener.is_some_and(|o| o.node == node && o.open == open);
        self.queues.values_mut().find(mine).or_else(|| self.unlinked.iter_mut().find(mine))
    }

    /// `saMsgQueueOpen` by `opener` (its `open` is the new open id).
    pub fn open(&mut self, id: QueueId, name: &[u8], attrs: Option<&Attrs>, opener: Opener) -> Result<u64, u32> {
        let check = wire::validate_open(name, attrs, opener.flags);
        if check != error::OK {
            return Err(check);
        }
        let q = match self.queues.get_mut(name) {
            Some(q) => {
                if q.opener.is_some() {
                    return Err(error::BUSY);
                }
                if attrs.is_some_and(|a| *a != q.attrs) {
                    return Err(error::EXIST);
                }
                q
            }
            None => {
                let Some(a) = attrs else { return Err(error::NOT_EXIST) };
                self.queues.entry(name.to_vec()).or_insert_with(|| Queue::new(id, name.to_vec(), *a))
            }
        };
        if opener.flags & wire::OPEN_EMPTY != 0 {
            q.clear();
        }
        q.opener = Some(opener);
        q.close_time = 0;
        Ok(opener.open)
    }

    /// Closes queue `q` (its opener is gone): blocked gets of a still
    /// waiting client get `BAD_HANDLE`; an unlinked queue, or a
    /// non-persistent one without retention, is gone.
    fn close_queue(time: i64, q: &mut Queue, answers: &mut Answers) -> bool {
        q.opener = None;
        q.close_time = time;
        for w in q.waiters.drain(..) {
            answers.push((w.req, error::BAD_HANDLE, Vec::new()));
        }
        q.attrs.creation_flags & wire::PERSISTENT == 0 && q.attrs.retention == 0
    }

    /// `saMsgQueueClose` of open `open` of `node`.
    pub fn close(&mut self, node: NodeId, open: u64, fx: &mut Effects) -> Result<(), u32> {
        let time = self.time;
        if let Some(i) = self.unlinked.iter().position(|q| q.opener.is_some_and(|o| o.node == node && o.open == open)) {
            let mut q = self.unlinked.remove(i);
            Self::close_queue(time, &mut q, &mut fx.answers);
            return Ok(());
        }
        let name = self
            .queues
            .iter()
            .find(|(_, q)| q.opener.is_some_and(|o| o.node == node && o.open == open))
            .map(|(n, _)| n.clone())
            .ok_or(error::BAD_HANDLE)?;
        let gone = self.queues.get_mut(&name).is_some_and(|q| Self::close_queue(time, q, &mut fx.answers));
        if gone {
            self.queues.remove(&name);
        }
        Ok(())
    }

    /// Closes every open whose owner `gone` says is gone; drops their
    /// blocked gets and waiting sendReceives (nobody to answer).
    pub fn drop_owners(&mut self, gone: impl Fn(NodeId, u64) -> bool, fx: &mut Effects) {
        let time = self.time;
        for q in self.queues.values_mut().chain(self.unlinked.iter_mut()) {
            q.waiters.retain(|w| !gone(w.req.node, w.conn));
        }
        self.repliers.retain(|_, w| !gone(w.req.node, w.conn));
        let held = |q: &Queue| q.opener.is_some_and(|o| gone(o.node, o.conn));
        let mut dead = Vec::new();
        for (name, q) in self.queues.iter_mut() {
            if held(q) && Self::close_queue(time, q, &mut fx.answers) {
                dead.push(name.clone());
            }
        }
        for name in dead {
            self.queues.remove(&name);
        }
        self.unlinked.retain(|q| !held(q));
    }

    pub fn status(&self, name: &[u8]) -> Result<Status, u32> {
        self.queues.get(name).map(Queue::status).ok_or(error::NOT_EXIST)
    }

    /// `saMsgQueueUnlink`: an open queue lives on until its close.
    pub fn unlink(&mut self, name: &[u8]) -> Result<(), u32> {
        let q = self.queues.remove(name).ok_or(error::NOT_EXIST)?;
        if q.opener.is_some() {
            self.unlinked.push(q);
        }
        Ok(())
    }

    pub fn group_create(&mut self, group: &[u8], policy: u32) -> Result<(), u32> {
        if !valid_policy(policy) || group.is_empty() {
            return Err(error::INVALID_PARAM);
        }
        if self.groups.contains_key(group) {
            return Err(error::EXIST);
        }
        self.groups.insert(group.to_vec(), Group { policy, ..Group::default() });
        Ok(())
    }

    pub fn group_insert(&mut self, group: &[u8], queue: &[u8]) -> Result<(), u32> {
        if !self.queues.contains_key(queue) {
            return Err(error::NOT_EXIST);
        }
        let g = self.groups.get_mut(group).ok_or(error::NOT_EXIST)?;
        if g.members.iter().any(|m| m == queue) {
            return Err(error::EXIST);
        }
        if g.members.len() >= wire::MAX_MEMBERS {
            return Err(error::NO_RESOURCES);
        }
        g.members.push(queue.to_vec());
        Ok(())
    }

    pub fn group_remove(&mut self, group: &[u8], queue: &[u8]) -> Result<(), u32> {
        let g = self.groups.get_mut(group).ok_or(error::NOT_EXIST)?;
        let i = g.members.iter().position(|m| m == queue).ok_or(error::NOT_EXIST)?;
        g.members.remove(i);
        Ok(())
    }

    pub fn group_delete(&mut self, group: &[u8]) -> Result<(), u32> {
        self.groups.remove(group).map(drop).ok_or(error::NOT_EXIST)
    }

    /// The members of `group` a message of priority `p` from `from` goes
    /// to, by the group's policy (open member queues only).
    fn pick(&mut self, group: &[u8], p: usize, from: NodeId) -> Result<Vec<Vec<u8>>, u32> {
        let queues = &self.queues;
        let g = self.groups.get_mut(group).ok_or(error::NOT_EXIST)?;
        let open = |m: &Vec<u8>| queues.get(m).and_then(|q| q.opener);
        let eligible: Vec<usize> = (0..g.members.len()).filter(|&i| open(&g.members[i]).is_some()).collect();
        let local: Vec<usize> =
            eligible.iter().copied().filter(|&i| open(&g.members[i]).is_some_and(|o| o.node == from)).collect();
        let prefer_local = if local.is_empty() { &eligible } else { &local };
        let chosen: Vec<usize> = match g.policy {
            wire::BROADCAST => eligible.clone(),
            wire::ROUND_ROBIN | wire::LOCAL_ROUND_ROBIN => {
                let among = if g.policy == wire::ROUND_ROBIN { &eligible } else { prefer_local };
                let n = g.members.len() as u64;
                let next = among.iter().copied().min_by_key(|&i| (i as u64 + n - g.next % n.max(1)) % n.max(1));
                if let Some(i) = next {
                    g.next = i as u64 + 1;
                }
                next.into_iter().collect()
            }
            _ => {
                // LOCAL_BEST_QUEUE: the most room, the first of equals.
                let room = |i: &usize| queues.get(&g.members[*i]).map_or(0, |q| q.room(p));
                let mut best: Option<usize> = None;
                for &i in prefer_local {
                    if best.is_none_or(|b| room(&i) > room(&b)) {
                        best = Some(i);
                    }
                }
                best.into_iter().collect()
            }
        };
        if chosen.is_empty() {
            return Err(error::QUEUE_NOT_AVAILABLE);
        }
        Ok(chosen.into_iter().map(|i| g.members[i].clone()).collect())
    }

    /// Puts a message into queue `name`, or hands it to a blocked get.
    fn deliver(&mut self, name: &[u8], s: Stored, fx: &mut Effects) -> Result<(), u32> {
        let q = self.queues.get_mut(name).ok_or(error::NOT_EXIST)?;
        q.push(s)?;
        while let Some(w) = q.waiters.front().copied() {
            let Some(got) = q.take(w.room) else { break };
            q.waiters.pop_front();
            fx.answers.push((w.req, error::OK, got.encode()));
        }
        if q.count() > 0
            && let Some(o) = q.opener
            && o.flags & wire::OPEN_RECEIVE_CALLBACK != 0
        {
            fx.received.push((o.node, o.conn, o.open));
        }
        Ok(())
    }

    /// Sends `msg` to queue or group `to` from `from` at cluster time
    /// `ts` (`sender_id` of a sendReceive, else 0).
    pub fn send(
        &mut self,
        to: &[u8],
        from: NodeId,
        msg: Message,
        ts: i64,
        sender_id: u64,
        fx: &mut Effects,
    ) -> Result<(), u32> {
        let s = Stored { msg, send_time: ts, sender_id };
        if self.queues.contains_key(to) {
            return self.deliver(to, s, fx);
        }
        let p = usize::from(s.msg.priority);
        let targets = self.pick(to, p, from)?;
        let mut result = Err(error::QUEUE_NOT_AVAILABLE);
        for (i, t) in targets.iter().enumerate() {
            let r = self.deliver(t, s.clone(), fx);
            if i == 0 || r.is_ok() {
                result = result.or(r);
            }
        }
        result
    }

    /// `saMsgMessageGet`: the next message of open `open` of `node`, or
    /// None (to wait).
    pub fn get(&mut self, node: NodeId, open: u64, room: u64) -> Result<Option<Got>, u32> {
        Ok(self.by_open(node, open).ok_or(error::BAD_HANDLE)?.take(room))
    }

    pub fn wait(&mut self, node: NodeId, open: u64, w: Waiter) {
        if let Some(q) = self.by_open(node, open) {
            q.waiters.push_back(w);
        }
    }

    /// `saMsgMessageCancel`: every blocked get of the open is interrupted.
    pub fn cancel(&mut self, node: NodeId, open: u64, fx: &mut Effects) -> Result<(), u32> {
        let q = self.by_open(node, open).ok_or(error::BAD_HANDLE)?;
        for w in q.waiters.drain(..) {
            fx.answers.push((w.req, error::INTERRUPT, Vec::new()));
        }
        Ok(())
    }

    /// A new sender id for a sendReceive.
    pub fn new_sender_id(&mut self) -> u64 {
        self.next_sender_id += 1;
        self.next_sender_id
    }

    /// `saMsgMessageReply` to `sender_id`: the waiting sender's answer.
    pub fn reply(&mut self, sender_id: u64, msg: Message, ts: i64, fx: &mut Effects) -> Result<(), u32> {
        let w = self.repliers.get(&sender_id).copied().ok_or(error::NOT_EXIST)?;
        let len = msg.data.len() as u64;
        if len > w.room {
            return Err(error::NO_SPACE);
        }
        self.repliers.remove(&sender_id);
        fx.answers.push((w.req, error::OK, Got::Message { msg, send_time: ts, sender_id: 0 }.encode()));
        Ok(())
    }

    /// The deadline of request `req` passed: whether it still waited
    /// (then it waits no more).
    pub fn expire(&mut self, req: ReqRef) -> bool {
        for q in self.queues.values_mut().chain(self.unlinked.iter_mut()) {
            if let Some(i) = q.waiters.iter().position(|w| w.req == req) {
                q.waiters.remove(i);
                return true;
            }
        }
        let id = self.repliers.iter().find(|(_, w)| w.req == req).map(|(id, _)| *id);
        id.and_then(|id| self.repliers.remove(&id)).is_some()
    }

    /// Members of `group` for tracking, every entry with `change`.
    pub fn members(&self, group: &[u8], change: u32) -> Option<wire::Members> {
        let g = self.groups.get(group)?;
        Some(wire::Members {
            policy: g.policy,
            members: g.members.len() as u32,
            items: g.members.iter().map(|m| (m.clone(), change)).collect(),
        })
    }

    /// When a closed non-persistent queue expires.
    fn expiry(q: &Queue) -> Option<i64> {
        let temporary = q.opener.is_none() && q.attrs.creation_flags & wire::PERSISTENT == 0;
        temporary.then(|| q.close_time.saturating_add(q.attrs.retention))
    }

    pub fn advance(&mut self, time: i64) {
        self.time = time;
        self.queues.retain(|_, q| Self::expiry(q).is_none_or(|t| t > time));
    }

    pub fn next_deadline(&self) -> Option<i64> {
        self.queues.values().filter_map(Self::expiry).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(size: u64) -> Attrs {
        Attrs { creation_flags: 0, size: [size; AREAS], retention: 1000 }
    }

    fn opener(open: u64) -> Opener {
        Opener { node: 1, conn: 5, open, flags: wire::OPEN_CREATE }
    }

    fn m(priority: u8, data: &[u8]) -> Message {
        Message { priority, data: data.to_vec(), ..Message::default() }
    }

    fn got_data(g: Option<Got>) -> Vec<u8> {
        match g {
            Some(Got::Message { msg, .. }) => msg.data,
            other => panic!("no message: {other:?}"),
        }
    }

    #[test]
    fn priority_first_fifo_within_and_full_areas_refuse() {
        let mut s = Queues::default();
        let mut fx = Effects::default();
        s.open((1, 1), b"q", Some(&attrs(4)), opener(7)).unwrap();
        s.send(b"q", 2, m(3, b"low"), 0, 0, &mut fx).unwrap();
        s.send(b"q", 2, m(0, b"hi1"), 0, 0, &mut fx).unwrap();
        s.send(b"q", 2, m(0, b"h2"), 0, 0, &mut fx).unwrap_err();
        s.send(b"q", 2, m(0, b"h"), 0, 0, &mut fx).unwrap();
        assert_eq!(s.send(b"q", 2, m(1, b"toolong"), 0, 0, &mut fx), Err(error::QUEUE_FULL));
        assert_eq!(s.send(b"nope", 2, m(1, b""), 0, 0, &mut fx), Err(error::NOT_EXIST));
        assert_eq!(s.get(1, 7, 1), Ok(Some(Got::NoSpace(3))));
        assert_eq!(got_data(s.get(1, 7, 100).unwrap()), b"hi1");
        assert_eq!(got_data(s.get(1, 7, 100).unwrap()), b"h");
        assert_eq!(got_data(s.get(1, 7, 100).unwrap()), b"low");
        assert_eq!(s.get(1, 7, 100), Ok(None));
        assert_eq!(s.get(1, 8, 100), Err(error::BAD_HANDLE));
    }

    #[test]
    fn opens_busy_exist_not_exist_and_retention() {
        let mut s = Queues::default();
        let mut fx = Effects::default();
        assert_eq!(s.open((1, 1), b"q", None, Opener { flags: 0, ..opener(1) }), Err(error::NOT_EXIST));
        s.open((1, 1), b"q", Some(&attrs(9)), opener(1)).unwrap();
        assert_eq!(s.open((1, 2), b"q", Some(&attrs(9)), opener(2)), Err(error::BUSY));
        s.send(b"q", 1, m(0, b"x"), 0, 0, &mut fx).unwrap();
        s.time = 50;
        s.close(1, 1, &mut fx).unwrap();
        assert_eq!(s.close(1, 1, &mut fx), Err(error::BAD_HANDLE));
        assert_eq!(s.status(b"q").unwrap().close_time, 50);
        assert_eq!(s.open((1, 3), b"q", Some(&attrs(8)), opener(3)), Err(error::EXIST));
        assert_eq!(s.next_deadline(), Some(1050));
        s.advance(1049);
        s.open((1, 3), b"q", None, Opener { flags: 0, ..opener(3) }).unwrap();
        assert_eq!(s.status(b"q").unwrap().usage[0], (1, 1), "reopened within retention keeps its messages");
        s.close(1, 3, &mut fx).unwrap();
        s.advance(3000);
        assert_eq!(s.status(b"q"), Err(error::NOT_EXIST));
    }

    #[test]
    fn groups_pick_by_policy() {
        let mut s = Queues::default();
        let mut fx = Effects::default();
        for (i, name) in [b"a", b"b", b"c"].iter().enumerate() {
            let node = i as u32 + 1;
            s.open((node, 1), *name, Some(&attrs(100)), Opener { node, ..opener(i as u64) }).unwrap();
        }
        s.group_create(b"rr", wire::ROUND_ROBIN).unwrap();
        assert_eq!(s.group_create(b"rr", wire::ROUND_ROBIN), Err(error::EXIST));
        assert_eq!(s.group_create(b"x", 9), Err(error::INVALID_PARAM));
        s.group_create(b"lrr", wire::LOCAL_ROUND_ROBIN).unwrap();
        s.group_create(b"best", wire::LOCAL_BEST_QUEUE).unwrap();
        s.group_create(b"all", wire::BROADCAST).unwrap();
        assert_eq!(s.send(b"rr", 1, m(0, b""), 0, 0, &mut fx), Err(error::QUEUE_NOT_AVAILABLE));
        for g in [&b"rr"[..], b"lrr", b"best", b"all"] {
            for q in [b"a", b"b", b"c"] {
                s.group_insert(g, q).unwrap();
            }
        }
        assert_eq!(s.group_insert(b"rr", b"a"), Err(error::EXIST));
        assert_eq!(s.group_insert(b"rr", b"zz"), Err(error::NOT_EXIST));
        let counts = |s: &Queues| [b"a", b"b", b"c"].map(|q| s.queues[&q[..]].count());
        for _ in 0..6 {
            s.send(b"rr", 1, m(0, b"r"), 0, 0, &mut fx).unwrap();
        }
        assert_eq!(counts(&s), [2, 2, 2]);
        for _ in 0..3 {
            s.send(b"lrr", 2, m(0, b"l"), 0, 0, &mut fx).unwrap();
        }
        assert_eq!(counts(&s), [2, 5, 2], "local round robin stays on the sender's node");
        s.send(b"all", 9, m(0, b"b"), 0, 0, &mut fx).unwrap();
        assert_eq!(counts(&s), [3, 6, 3]);
        // Best: node 9 has none; the most room anywhere is a's or c's (a first).
        s.send(b"best", 9, m(0, b"1234567890"), 0, 0, &mut fx).unwrap();
        assert_eq!(counts(&s), [4, 6, 3]);
        s.send(b"best", 9, m(0, b"x"), 0, 0, &mut fx).unwrap();
        assert_eq!(counts(&s), [4, 6, 4]);
        s.group_remove(b"rr", b"a").unwrap();
        assert_eq!(s.group_remove(b"rr", b"a"), Err(error::NOT_EXIST));
        s.group_delete(b"rr").unwrap();
        assert_eq!(s.group_delete(b"rr"), Err(error::NOT_EXIST));
    }
}
