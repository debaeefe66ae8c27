//! The replicated lock table: resources, their granted locks and queued
//! requests, and the resource opens that own them. Every change is a
//! method called at the same point of the order on every node; what the
//! clients are to hear comes back as [`Effect`]s (answered by the node
//! that ordered the request, told by the node of the holder).
//!
//! Rules (B.01.01, and where it leaves room, ours, documented):
//! - Requests are served in order: one is granted at once only if nothing
//!   queues before it and it is compatible with every granted lock (PR
//!   with PR; EX with nothing), so a stream of PR requests cannot starve
//!   a queued EX. A release grants queued requests from the head while
//!   they are compatible.
//! - A queued request tells every holder of a conflicting granted lock
//!   (waiter callback) once, when it queues.
//! - `NO_QUEUE`: not grantable now → `NOT_QUEUED`. `ORPHAN` and in
//!   conflict with an orphan lock → `ORPHANED`. An EX request on an open
//!   that already holds EX on the resource → `DUPLICATE_EX`. None of
//!   these keeps anything.
//! - An open's close (also its connection's, or its node's departure)
//!   releases its granted locks, except `ORPHAN` ones (they stay as orphan
//!   locks until purged), and cancels its queued requests.
//! - Unlock of a queued request cancels it (its requester hears
//!   `SA_AIS_ERR_INTERRUPT`).
//! - A resource exists while it is open or has locks.

use std::collections::{BTreeMap, VecDeque};

use ais_ipc::lck::{self as wire, LockRequest};
use ais_ipc::{DecodeError, Reader, Writer, error};

use crate::ordering::NodeId;
use crate::service::ConnId;
use crate::services::replicated::{Rejected, ReqRef};

/// Most items one sync sender may send (opens and locks).
pub const MAX_SYNC_ITEMS: usize = 4 << 20;

/// An open: its node and that node's id for it.
pub type OpenKey = (NodeId, u64);

/// One resource open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open {
    /// The connection that opened it (callbacks go there).
    pub conn: ConnId,
    pub name: Vec<u8>,
}

/// A granted lock or a queued request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    pub open: OpenKey,
    /// The library's id of it.
    pub lock: u64,
    /// The connection that asked (a blocking lock has its own).
    pub requester: ConnId,
    pub mode: u32,
    pub flags: u32,
    pub signal: u64,
    /// The request, to answer when granted.
    pub req: ReqRef,
    /// Its open is gone and it was taken with `ORPHAN`.
    pub orphan: bool,
}

impl Lock {
    fn conflicts(&self, mode: u32) -> bool {
        self.mode == wire::EX_MODE || mode == wire::EX_MODE
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resource {
    pub granted: Vec<Lock>,
    pub queue: VecDeque<Lock>,
}

impl Resource {
    fn grantable(&self, mode: u32) -> bool {
        self.queue.is_empty() && !self.granted.iter().any(|g| g.conflicts(mode))
    }

    /// Grants from the head of the queue while compatible.
    fn grant_queued(&mut self, out: &mut Vec<Effect>) {
        while let Some(head) = self.queue.front() {
            if self.granted.iter().any(|g| g.conflicts(head.mode)) {
                break;
            }
            let lock = self.queue.pop_front().expect("a head");
            out.push(Effect::Answer { req: lock.req, error: error::OK, status: wire::GRANTED });
            self.granted.push(lock);
        }
    }
}

/// What clients are to hear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// The answer to a lock request (by its node).
    Answer { req: ReqRef, error: u32, status: u32 },
    /// A waiter callback to the connection of a holder's open.
    Waiter { node: NodeId, conn: ConnId, signal: u64, lock: u64, held: u32, requested: u32 },
}

/// The replicated state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    pub resources: BTreeMap<Vec<u8>, Resource>,
    pub opens: BTreeMap<OpenKey, Open>,
}

/// What a lock request gets at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockOutcome {
    /// Answered now: error, and the status if OK.
    Now(u32, u32),
    /// Queued: answered when granted.
    Queued,
}

impl Table {
    /// An open of `name` by `key`; `NOT_EXIST` if it does not exist and
    /// `create` is not set.
    pub fn open(&mut self, key: OpenKey, conn: ConnId, name: &[u8], create: bool) -> u32 {
        if !create && !self.resources.contains_key(name) {
            return error::NOT_EXIST;
        }
        if self.opens.contains_key(&key) {
            return error::EXIST;
        }
        self.resources.entry(name.to_vec()).or_default();
        self.opens.insert(key, Open { conn, name: name.to_vec() });
        error::OK
    }

    /// Closes an open: see the module doc.
    pub fn close(&mut self, key: OpenKey, out: &mut Vec<Effect>) -> u32 {
        let Some(open) = self.opens.remove(&key) else { return error::BAD_HANDLE };
        if let Some(res) = self.resources.get_mut(&open.name) {
            for q in res.queue.iter().filter(|l| l.open == key) {
                out.push(Effect::Answer { req: q.req, error: error::BAD_HANDLE, status: 0 });
            }
            res.queue.retain(|l| l.open != key);
            res.granted.retain_mut(|l| {
                if l.open != key {
                    return true;
                }
                l.orphan = l.flags & wire::LOCK_ORPHAN != 0;
                l.orphan
            });
            res.grant_queued(out);
        }
        self.collect(&open.name);
        error::OK
    }

    /// Drops the resource `name` if nobody uses it.
    fn collect(&mut self, name: &[u8]) {
        let unused = self.resources.get(name).is_some_and(|r| r.granted.is_empty() && r.queue.is_empty())
            && !self.opens.values().any(|o| o.name == name);
        if unused {
            self.resources.remove(name);
        }
    }

    /// A lock request of open `key` (on node `key.0`, asked by `requester`).
    pub fn lock(
        &mut self,
        key: OpenKey,
        requester: ConnId,
        r: &LockRequest,
        req: ReqRef,
        out: &mut Vec<Effect>,
    ) -> LockOutcome {
        let Some(open) = self.opens.get(&key) else { return LockOutcome::Now(error::BAD_HANDLE, 0) };
        let res = self.resources.entry(open.name.clone()).or_default();
        let known = |l: &Lock| l.open == key && l.lock == r.lock;
        if res.granted.iter().any(known) || res.queue.iter().any(known) {
            return LockOutcome::Now(error::EXIST, 0);
        }
        let lock = Lock {
            open: key,
            lock: r.lock,
            requester,
            mode: r.mode,
            flags: r.flags,
            signal: r.signal,
            req,
            orphan: false,
        };
        if r.mode == wire::EX_MODE && res.granted.iter().any(|g| g.open == key && g.mode == wire::EX_MODE) {
            return LockOutcome::Now(error::OK, wire::DUPLICATE_EX);
        }
        if res.grantable(r.mode) {
            res.granted.push(lock);
            return LockOutcome::Now(error::OK, wire::GRANTED);
        }
        if r.flags & wire::LOCK_ORPHAN != 0 && res.granted.iter().any(|g| g.orphan && g.conflicts(r.mode)) {
            return LockOutcome::Now(error::OK, wire::ORPHANED);
        }
        if r.flags & wire::LOCK_NO_QUEUE != 0 {
            return LockOutcome::Now(error::OK, wire::NOT_QUEUED);
        }
        for g in res.granted.iter().filter(|g| !g.orphan && g.conflicts(r.mode)) {
            let Some(holder) = self.opens.get(&g.open) else { continue };
            out.push(Effect::Waiter {
                node: g.open.0,
                conn: holder.conn,
                signal: g.signal,
                lock: g.lock,
                held: g.mode,
                requested: r.mode,
            });
        }
        res.queue.push_back(lock);
        LockOutcome::Queued
    }

    /// Unlock (or cancel) lock `lock` of open `key`.
    pub fn unlock(&mut self, key: OpenKey, lock: u64, out: &mut Vec<Effect>) -> u32 {
        let Some(open) = self.opens.get(&key) else { return error::BAD_HANDLE };
        let name = open.name.clone();
        let Some(res) = self.resources.get_mut(&name) else { return error::NOT_EXIST };
        let known = |l: &Lock| l.open == key && l.lock == lock;
        if let Some(i) = res.granted.iter().position(known) {
            res.granted.remove(i);
        } else if let Some(i) = res.queue.iter().position(known) {
            let q = res.queue.remove(i).expect("present");
            out.push(Effect::Answer { req: q.req, error: error::INTERRUPT, status: 0 });
        } else {
            return error::NOT_EXIST;
        }
        res.grant_queued(out);
        error::OK
    }

    /// Removes the orphan locks of the resource of open `key`.
    pub fn purge(&mut self, key: OpenKey, out: &mut Vec<Effect>) -> u32 {
        let Some(open) = self.opens.get(&key) else { return error::BAD_HANDLE };
        if let Some(res) = self.resources.get_mut(&open.name) {
            res.granted.retain(|l| !l.orphan);
            res.grant_queued(out);
        }
        error::OK
    }

    /// The queued request `req` ran out of time: dropped, answered `TIMEOUT`.
    pub fn withdraw(&mut self, req: ReqRef, out: &mut Vec<Effect>) {
        for (name, res) in self.resources.iter_mut() {
            if let Some(i) = res.queue.iter().position(|l| l.req == req) {
                res.queue.remove(i);
                out.push(Effect::Answer { req, error: error::TIMEOUT, status: 0 });
                res.grant_queued(out);
                let name = name.clone();
                self.collect(&name);
                return;
            }
        }
    }

    /// Connection `conn` of `node` is gone: its opens close, its queued
    /// requests are cancelled.
    pub fn closed(&mut self, node: NodeId, conn: ConnId, out: &mut Vec<Effect>) {
        let gone: Vec<OpenKey> =
            self.opens.iter().filter(|(k, o)| k.0 == node && o.conn == conn).map(|(k, _)| *k).collect();
        for key in gone {
            self.close(key, out);
        }
        self.cancel_requests(|l| l.open.0 == node && l.requester == conn, out);
    }

    /// Nodes not in `members` are gone: their opens close, their queued
    /// requests are dropped.
    pub fn left(&mut self, members: &[NodeId], out: &mut Vec<Effect>) {
        let gone: Vec<OpenKey> = self.opens.keys().filter(|k| !members.contains(&k.0)).copied().collect();
        for key in gone {
            self.close(key, out);
        }
        self.cancel_requests(|l| !members.contains(&l.open.0), out);
    }

    fn cancel_requests(&mut self, gone: impl Fn(&Lock) -> bool, out: &mut Vec<Effect>) {
        let mut emptied = Vec::new();
        for (name, res) in self.resources.iter_mut() {
            let before = res.queue.len();
            res.queue.retain(|l| !gone(l));
            if res.queue.len() != before {
                res.grant_queued(out);
                emptied.push(name.clone());
            }
        }
        for name in emptied {
            self.collect(&name);
        }
    }

    /// Whether open `key` holds lock `lock` (granted).
    pub fn holds(&self, key: OpenKey, lock: u64) -> bool {
        let Some(open) = self.opens.get(&key) else { return false };
        self.resources.get(&open.name).is_some_and(|r| r.granted.iter().any(|l| l.open == key && l.lock == lock))
    }

    /// Orphan locks of `name` (status, tests).
    pub fn orphans(&self, name: &[u8]) -> usize {
        self.resources.get(name).map_or(0, |r| r.granted.iter().filter(|l| l.orphan).count())
    }
}

// ---------------------------------------------------------------------------
// Sync: the table as items, one per open and one per lock (granted locks
// of a resource first, then its queue, in order).

const ITEM_OPEN: u8 = 1;
const ITEM_GRANTED: u8 = 2;
const ITEM_QUEUED: u8 = 3;

/// The items of a table, in the order they are sent.
pub fn sync_items(t: &Table) -> VecDeque<Vec<u8>> {
    let mut items = VecDeque::new();
    for (key, open) in &t.opens {
        let mut w = Writer::new();
        w.u8(ITEM_OPEN).u32(key.0).u64(key.1).u64(open.conn.0).bytes(&open.name);
        items.push_back(w.into_vec());
    }
    for (name, res) in &t.resources {
        let tagged = res.granted.iter().map(|l| (ITEM_GRANTED, l)).chain(res.queue.iter().map(|l| (ITEM_QUEUED, l)));
        for (kind, l) in tagged {
            let mut w = Writer::new();
            w.u8(kind).bytes(name).u32(l.open.0).u64(l.open.1).u64(l.lock).u64(l.requester.0);
            w.u32(l.mode).u32(l.flags).u64(l.signal).u32(l.req.node).u64(l.req.seq).bool(l.orphan);
            items.push_back(w.into_vec());
        }
    }
    items
}

/// What one sync sender sent so far.
#[derive(Debug, Default)]
pub struct Staged {
    table: Table,
    items: usize,
}

/// Adds one item to `staged`.
pub fn stage(staged: &mut Staged, item: &[u8]) -> Result<(), Rejected> {
    staged.items += 1;
    if staged.items > MAX_SYNC_ITEMS {
        return Err(Rejected::Refused("too many sync items"));
    }
    let mut r = Reader::new(item);
    match r.u8("item kind")? {
        ITEM_OPEN => {
            let key = (r.u32("node")?, r.u64("open")?);
            let conn = ConnId(r.u64("conn")?);
            let name = r.bytes(wire::MAX_NAME, "name")?.to_vec();
            r.finish()?;
            staged.table.resources.entry(name.clone()).or_default();
            if staged.table.opens.insert(key, Open { conn, name }).is_some() {
                return Err(Rejected::Refused("an open sent twice"));
            }
        }
        kind @ (ITEM_GRANTED | ITEM_QUEUED) => {
            let name = r.bytes(wire::MAX_NAME, "name")?.to_vec();
            let lock = Lock {
                open: (r.u32("node")?, r.u64("open")?),
                lock: r.u64("lock")?,
                requester: ConnId(r.u64("requester")?),
                mode: r.u32("mode")?,
                flags: r.u32("flags")?,
                signal: r.u64("signal")?,
                req: ReqRef { node: r.u32("req node")?, seq: r.u64("req seq")? },
                orphan: r.bool("orphan")?,
            };
            r.finish()?;
            if lock.mode != wire::PR_MODE && lock.mode != wire::EX_MODE {
                return Err(DecodeError::BadValue { what: "lock mode", value: u64::from(lock.mode) }.into());
            }
            let res = staged.table.resources.entry(name).or_default();
            if kind == ITEM_GRANTED {
                res.granted.push(lock);
            } else {
                res.queue.push_back(lock);
            }
        }
        other => return Err(DecodeError::BadValue { what: "sync item kind", value: u64::from(other) }.into()),
    }
    Ok(())
}

impl Table {
    /// Merges the other groups' tables into this one (`own` is this
    /// node's group's table, `others` in ascending order of their
    /// sender): opens are united (their keys name their node); for a
    /// resource that several groups have, the first group's granted locks
    /// stay, the others' granted locks conflicting with them are dropped
    /// (compatible ones are kept), and every queue is appended in group
    /// order. Then what nodes not in `members` held goes.
    pub fn merge(groups: Vec<Table>, members: &[NodeId], out: &mut Vec<Effect>) -> Table {
        let mut t = Table::default();
        for g in groups {
            for (k, o) in g.opens {
                t.opens.entry(k).or_insert(o);
            }
            for (name, res) in g.resources {
                let mine = t.resources.entry(name).or_default();
                for l in res.granted {
                    if !mine.granted.iter().any(|m| m.conflicts(l.mode)) {
                        mine.granted.push(l);
                    }
                }
                mine.queue.extend(res.queue);
            }
        }
        t.left(members, out);
        for res in t.resources.values_mut() {
            res.grant_queued(out);
        }
        let names: Vec<Vec<u8>> = t.resources.keys().cloned().collect();
        for name in names {
            t.collect(&name);
        }
        t
    }
}

impl From<Staged> for Table {
    fn from(s: Staged) -> Table {
        s.table
    }
}
