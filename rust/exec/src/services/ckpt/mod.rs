//! The checkpoint service (AIS CKPT B.01.01) as `libSaCkpt` uses it, on
//! the replicated-state engine ([`crate::services::replicated`]).
//!
//! Every checkpoint is replicated on every node ([`store`]). A request
//! that changes or reads replicated state is ordered (`Safe` for a change:
//! delivered only once every member has it, so it survives the crash of
//! this node), applied by every node on delivery and answered by the node
//! it came from. So when `saCkptCheckpointWrite` returns, the write is
//! applied here and received by every member. Reads are ordered too (a
//! barrier, `Agreed`): the answer reflects every write acknowledged
//! anywhere before the read was issued; only the asking node computes it.
//! Status and section iteration are answered at once from the local
//! replica.
//!
//! Time-driven deletion (retention, section expiration) happens against
//! cluster time (see [`store`]), so at the same point of the order on every
//! node. A read of an expired section is `NOT_EXIST` even before a tick
//! has moved cluster time past its expiration.
//!
//! Opens belong to a connection: when it closes, or its node leaves the
//! ring, every node drops its opens (the engine orders the close).
//!
//! Sync: see [`sync`].

#[cfg(test)]
mod history_tests;
pub mod msg;
pub mod store;
pub mod sync;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use ais_ipc::ckpt::{self as wire, Request};
use ais_ipc::{Writer, error, service};

use crate::ordering::{Guarantee, NodeId};
use crate::service::{ConnId, RequestError};
use crate::services::replicated::{Answer, Cx, Engine, Ordered, Rejected, Replicated, Reply};
use msg::{Item, SendCursor};
use store::{Origin, Outcome, Store};
use sync::Staged;

/// The checkpoint service as the executive runs it.
pub type CkptService = Engine<Ckpt>;

/// The checkpoint service's state: the replicated store.
#[derive(Debug, Default)]
pub struct Ckpt {
    store: Store,
}

impl Ckpt {
    /// The replicated store (tests, status).
    pub fn store(&self) -> &Store {
        &self.store
    }
}

impl From<Outcome> for Reply {
    fn from(o: Outcome) -> Reply {
        Reply::Now { error: o.error, payload: o.payload }
    }
}

/// A change must survive this node's crash once acknowledged: `Safe`. A
/// read or synchronize only needs its place in the order (after every
/// write acknowledged before it was sent): `Agreed`.
fn guarantee(msg_id: u32) -> Guarantee {
    if matches!(msg_id, wire::READ | wire::SYNCHRONIZE) { Guarantee::Agreed } else { Guarantee::Safe }
}

impl Replicated for Ckpt {
    const ID: u32 = service::CKPT;
    const NAME: &'static str = "ckpt";
    type Request = Request;
    type Cursor = SendCursor;
    type Staged = Staged;

    fn stats(&self, out: &mut Vec<ais_ipc::cfg::Stat>) {
        use ais_ipc::cfg::Stat;
        out.push(Stat::gauge("checkpoints", self.store.ckpts.len() as u64));
        out.push(Stat::gauge("openers", self.store.openers.len() as u64));
    }

    fn decode(msg_id: u32, body: &[u8]) -> Result<Request, RequestError> {
        Request::decode(msg_id, body).map_err(|e| match e {
            ais_ipc::DecodeError::BadValue { what: "ckpt request id", .. } => RequestError::UnknownId(msg_id),
            e => RequestError::Malformed(e),
        })
    }

    /// Reads, status and synchronize change nothing; a close releases.
    fn needs_quorum(req: &Request) -> bool {
        !matches!(
            req,
            Request::Read { .. }
                | Request::StatusGet { .. }
                | Request::IterNext { .. }
                | Request::Synchronize { .. }
                | Request::Close { .. }
        )
    }

    fn sync_forget(&mut self, _cx: &mut Cx<'_, '_>) {
        self.store = Store::default();
    }

    fn request(&mut self, cx: &mut Cx<'_, '_>, conn: ConnId, msg_id: u32, req: Request, body: &[u8]) {
        let local = cx.local_node();
        let answer = match &req {
            Request::Open { name, attrs, flags, is_async, token } => {
                let mut check = store::validate_open(*flags, attrs.as_ref());
                if name.is_empty() && check == error::OK {
                    check = error::INVALID_PARAM;
                }
                if check != error::OK {
                    return cx.ctx.reply(conn, msg_id, check, &[]);
                }
                if *is_async { Answer::Callback(*token) } else { Answer::Reply }
            }
            Request::StatusGet { open } => {
                let o = self.store.status((local, *open), conn.0).unwrap_or_else(Outcome::err);
                return cx.ctx.reply(conn, msg_id, o.error, &o.payload);
            }
            Request::IterNext { open, chosen, expiration, after } => {
                let now = cx.now().wall;
                let o = self
                    .store
                    .iter_next((local, *open), conn.0, *chosen, *expiration, after.as_deref(), now)
                    .unwrap_or_else(Outcome::err);
                return cx.ctx.reply(conn, msg_id, o.error, &o.payload);
            }
            Request::Synchronize { is_async: true, token, .. } => Answer::Callback(*token),
            _ => Answer::Reply,
        };
        cx.order(conn, msg_id, body, guarantee(msg_id), answer);
    }

    fn apply(&mut self, _cx: &mut Cx<'_, '_>, at: &Ordered, req: Request) -> Reply {
        if let Request::Read { open, elements } = &req {
            // Reads change nothing: only the asking node computes the answer.
            if !at.mine {
                return Reply::None;
            }
            return self.store.read((at.node, *open), at.conn.0, elements).into();
        }
        let origin = Origin { node: at.node, conn: at.conn.0, new_id: at.new_id };
        self.store.apply(origin, at.ts, &req).into()
    }

    fn closed(&mut self, _cx: &mut Cx<'_, '_>, node: NodeId, conn: ConnId) {
        self.store.close_conn(node, conn.0);
    }

    fn left(&mut self, _cx: &mut Cx<'_, '_>, members: &[NodeId]) {
        self.store.remove_nodes(members);
    }

    fn cluster_time(&self) -> i64 {
        self.store.time
    }

    fn advance(&mut self, time: i64) {
        self.store.advance(time);
    }

    fn next_deadline(&self) -> Option<i64> {
        self.store.next_deadline()
    }

    fn callback(msg_id: u32, token: u64, error: u32, payload: &[u8]) -> (u32, Vec<u8>) {
        let mut w = Writer::new();
        w.u64(token).u32(error);
        if msg_id != wire::OPEN {
            return (wire::SYNC_CALLBACK, w.into_vec());
        }
        let open = match payload.get(..8) {
            Some(b) if error == error::OK => u64::from_le_bytes(b.try_into().unwrap_or([0; 8])),
            _ => 0,
        };
        w.u64(open);
        (wire::OPEN_CALLBACK, w.into_vec())
    }

    fn sync_start(&self) -> SendCursor {
        SendCursor::new(&self.store)
    }

    fn sync_next(&self, cursor: &mut SendCursor, w: &mut Writer) -> bool {
        cursor.next(&self.store).map(|item| item.encode(w)).is_some()
    }

    fn sync_stage(staged: &mut Staged, item: &[u8]) -> Result<(), Rejected> {
        match Item::decode(item)? {
            Item::Ckpt(c) => staged.add_ckpt(c),
            Item::Section(s) => staged.add_section(s),
        }
    }

    fn sync_merge(
        &mut self,
        _cx: &mut Cx<'_, '_>,
        own: NodeId,
        mut staged: BTreeMap<NodeId, Staged>,
        members: &[NodeId],
        time: i64,
    ) {
        staged.insert(own, Staged { store: std::mem::take(&mut self.store) });
        self.store = sync::merge(staged, members, time);
    }
}
