//! The lock service (AIS LCK B.01.01) as `libSaLck` uses it, on the
//! replicated-state engine ([`crate::services::replicated`]).
//!
//! Replicated on every node ([`table`]): resources, their granted locks
//! and queued requests in arrival order, and the resource opens that own
//! them. Open, close, lock, unlock and purge are ordered (`Agreed`: a
//! lock's place in the order is all that matters; what a departed node
//! held is released at the configuration change anyway), applied by
//! every node on delivery and answered by the node they came from. A
//! queued lock request is answered by the later unlock, close, purge,
//! timeout or departure that lets it through (`Reply::Later`).
//!
//! A blocking unlock of a lock this node's replica shows granted is
//! answered `OK` as soon as it is ordered: nothing ordered after it can
//! make it fail, and every request ordered later sees the lock free (a
//! lock/unlock pair then costs one ordered round trip, not two).
//!
//! A blocking lock with a timeout is ordered with that limit
//! ([`Cx::order_within`]): if it is still queued when the limit passes on
//! its node, its withdrawal is ordered and it is dropped everywhere and
//! answered `TIMEOUT`, never granted later.
//!
//! Release: a closed connection (ordered by the engine after its last
//! request) closes its opens; a departed node's opens close at the
//! configuration change; see [`table`] for what a close releases (not the
//! `ORPHAN` locks) and the other rules.
//!
//! Sync (the engine runs the round): a sender of each group sends its
//! table as items; every node merges them the same way ([`Table::merge`]).

pub mod table;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use ais_ipc::lck::{self as wire, Callback, Request};
use ais_ipc::{Writer, error, service};

use crate::ordering::{Guarantee, NodeId};
use crate::service::{ConnId, RequestError};
use crate::services::replicated::{Answer, Cx, Engine, Ordered, Rejected, Replicated, Reply};
pub use table::Table;
use table::{Effect, LockOutcome, Staged};

/// The lock service as the executive runs it.
pub type LckService = Engine<Lck>;

/// The lock service's state: the replicated table and cluster time.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Lck {
    time: i64,
    table: Table,
}

impl Lck {
    /// The replicated table (tests, status).
    pub fn table(&self) -> &Table {
        &self.table
    }

    fn is_local_open(&self, cx: &Cx<'_, '_>, open: u64) -> bool {
        self.table.opens.contains_key(&(cx.local_node(), open))
    }
}

/// Tells the clients what a change means for them.
fn emit(cx: &mut Cx<'_, '_>, effects: Vec<Effect>) {
    for e in effects {
        match e {
            Effect::Answer { req, error, status } => cx.answer(req, error, &status.to_le_bytes()),
            Effect::Waiter { node, conn, signal, lock, held, requested } => {
                let cb = Callback::Waiter { signal, lock, held, requested };
                cx.tell(node, conn, wire::WAITER_CALLBACK, cb.encode());
            }
        }
    }
}

/// A lock call's time limit: none for 0 and `SA_TIME_END` (as the
/// library's other calls, see `deadline_after` in `ais-capi`).
fn limit(timeout: i64) -> Option<Duration> {
    (timeout > 0 && timeout != i64::MAX).then(|| Duration::from_nanos(timeout as u64))
}

impl Replicated for Lck {
    const ID: u32 = service::LCK;
    const NAME: &'static str = "lck";
    type Request = Request;
    type Cursor = VecDeque<Vec<u8>>;
    type Staged = Staged;

    fn decode(msg_id: u32, body: &[u8]) -> Result<Request, RequestError> {
        Request::decode(msg_id, body).map_err(|e| match e {
            ais_ipc::DecodeError::BadValue { what: "lck request id", .. } => RequestError::UnknownId(msg_id),
            e => RequestError::Malformed(e),
        })
    }

    /// Opening a resource, locking and purging orphans change the table;
    /// unlock and close release (the quorate side releases what a gone
    /// node held anyway).
    fn needs_quorum(req: &Request) -> bool {
        !matches!(req, Request::Unlock { .. } | Request::Close { .. })
    }

    fn sync_forget(&mut self, _cx: &mut Cx<'_, '_>) {
        self.table = Table::default();
    }

    fn request(&mut self, cx: &mut Cx<'_, '_>, conn: ConnId, msg_id: u32, req: Request, body: &[u8]) {
        let mut within = None;
        let answer = match &req {
            Request::Open { name, .. } if name.is_empty() => {
                return cx.ctx.reply(conn, msg_id, error::INVALID_PARAM, &[]);
            }
            Request::Open { flags, .. } if flags & !wire::RESOURCE_CREATE != 0 => {
                return cx.ctx.reply(conn, msg_id, error::BAD_FLAGS, &[]);
            }
            Request::Open { is_async: true, token, .. } => Answer::Callback(*token),
            Request::Open { .. } => Answer::Reply,
            Request::Close { open } | Request::Purge { open } | Request::Unlock { open, .. }
                if !self.is_local_open(cx, *open) =>
            {
                return cx.ctx.reply(conn, msg_id, error::BAD_HANDLE, &[]);
            }
            Request::Lock(l) if !self.is_local_open(cx, l.open) => {
                return cx.ctx.reply(conn, msg_id, error::BAD_HANDLE, &[]);
            }
            Request::Lock(l) if l.is_async => Answer::Callback(l.token),
            Request::Lock(l) => {
                within = limit(l.timeout);
                Answer::Reply
            }
            Request::Unlock { is_async: true, token, .. } => Answer::Callback(*token),
            Request::Unlock { open, lock, .. } if self.table.holds((cx.local_node(), *open), *lock) => {
                // Granted here, so it is granted when the unlock applies
                // (only this node's own requests could change that, and
                // they are ordered before it): OK once ordered.
                if cx.order(conn, msg_id, body, Guarantee::Agreed, Answer::Caller) {
                    cx.ctx.reply(conn, msg_id, error::OK, &[]);
                }
                return;
            }
            Request::Close { .. } | Request::Purge { .. } | Request::Unlock { .. } => Answer::Reply,
        };
        cx.order_within(conn, msg_id, body, Guarantee::Agreed, answer, within);
    }

    fn apply(&mut self, cx: &mut Cx<'_, '_>, at: &Ordered, req: Request) -> Reply {
        let mut out = Vec::new();
        let reply = match req {
            Request::Open { name, flags, .. } => {
                let key = (at.node, at.new_id);
                match self.table.open(key, at.conn, &name, flags & wire::RESOURCE_CREATE != 0) {
                    error::OK => Reply::ok(at.new_id.to_le_bytes().to_vec()),
                    e => Reply::err(e),
                }
            }
            Request::Close { open } => Reply::err(self.table.close((at.node, open), &mut out)),
            Request::Lock(l) => match self.table.lock((at.node, l.open), at.conn, &l, at.reference(), &mut out) {
                LockOutcome::Now(error, status) => Reply::Now { error, payload: status.to_le_bytes().to_vec() },
                LockOutcome::Queued => Reply::Later,
            },
            Request::Unlock { open, lock, .. } => Reply::err(self.table.unlock((at.node, open), lock, &mut out)),
            Request::Purge { open } => Reply::err(self.table.purge((at.node, open), &mut out)),
        };
        emit(cx, out);
        reply
    }

    fn withdraw(&mut self, cx: &mut Cx<'_, '_>, req: crate::services::replicated::ReqRef) {
        let mut out = Vec::new();
        self.table.withdraw(req, &mut out);
        emit(cx, out);
    }

    fn closed(&mut self, cx: &mut Cx<'_, '_>, node: NodeId, conn: ConnId) {
        let mut out = Vec::new();
        self.table.closed(node, conn, &mut out);
        emit(cx, out);
    }

    fn left(&mut self, cx: &mut Cx<'_, '_>, members: &[NodeId]) {
        let mut out = Vec::new();
        self.table.left(members, &mut out);
        emit(cx, out);
    }

    fn cluster_time(&self) -> i64 {
        self.time
    }

    fn advance(&mut self, time: i64) {
        self.time = time;
    }

    fn next_deadline(&self) -> Option<i64> {
        None
    }

    fn callback(msg_id: u32, token: u64, error: u32, payload: &[u8]) -> (u32, Vec<u8>) {
        let u64_of = |p: &[u8]| p.get(..8).and_then(|b| b.try_into().ok()).map_or(0, u64::from_le_bytes);
        let u32_of = |p: &[u8]| p.get(..4).and_then(|b| b.try_into().ok()).map_or(0, u32::from_le_bytes);
        let cb = match msg_id {
            wire::OPEN => Callback::Open { token, error, open: u64_of(payload) },
            wire::LOCK => Callback::Grant { token, error, status: u32_of(payload) },
            _ => Callback::Unlock { token, error },
        };
        (cb.id(), cb.encode())
    }

    fn sync_start(&self) -> VecDeque<Vec<u8>> {
        table::sync_items(&self.table)
    }

    fn sync_next(&self, cursor: &mut VecDeque<Vec<u8>>, w: &mut Writer) -> bool {
        let Some(item) = cursor.pop_front() else { return false };
        w.raw(&item);
        true
    }

    fn sync_stage(staged: &mut Staged, item: &[u8]) -> Result<(), Rejected> {
        table::stage(staged, item)
    }

    fn sync_merge(
        &mut self,
        cx: &mut Cx<'_, '_>,
        own: NodeId,
        staged: BTreeMap<NodeId, Staged>,
        members: &[NodeId],
        time: i64,
    ) {
        let mut groups: BTreeMap<NodeId, Table> = staged.into_iter().map(|(n, s)| (n, Table::from(s))).collect();
        groups.insert(own, std::mem::take(&mut self.table));
        let mut out = Vec::new();
        self.table = Table::merge(groups.into_values().collect(), members, &mut out);
        emit(cx, out);
        self.time = self.time.max(time);
    }
}
