//! The message service (AIS MSG B.01.01) as `libSaMsg` uses it, on the
//! replicated-state engine ([`crate::services::replicated`]).
//!
//! Every queue, its messages, its blocked gets, every group and every
//! sendReceive waiting for its reply live on every node ([`queues`]). A
//! request that changes them is ordered and applied by every node at the
//! same point of the order; the node it came from answers its client. A
//! send is ordered `Safe`, so when `saMsgMessageSend` returns the message
//! is in the queue on every member and survives the crash of any node: a
//! process elsewhere reopens the queue and finds it. A get is ordered
//! (`Agreed`: only its place in the order matters); if the queue is empty
//! it waits in the replicated state (`Reply::Later`) and the send that
//! fills the queue answers it; its timeout is a time limit of the engine
//! (`Cx::order_within`), whose withdrawal is ordered too, so a get never
//! both times out and takes a message. Likewise a sendReceive waits for
//! the reply that names its sender id.
//!
//! Answered from the local replica: status, and stopping a track.
//! Tracking subscriptions are node-local (only this node sends their
//! callbacks); they are taken when the track request is applied here, so
//! every change ordered after it is reported.
//!
//! Opens belong to a connection: when it closes, or its node leaves, its
//! queues are closed (retention starts) and its waits dropped.

pub mod queues;
pub mod sync;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::Duration;

use ais_ipc::msg::{self as wire, Request};
use ais_ipc::{Writer, error, service};

use crate::ordering::{Guarantee, NodeId};
use crate::service::{ConnId, RequestError};
use crate::services::replicated::{Answer, Cx, Engine, Ordered, Rejected, Replicated, Reply, ReqRef};
use queues::{Effects, Opener, Queues, Waiter};

/// The message service as the executive runs it.
pub type MsgService = Engine<Msg>;

/// The message service's state: the replicated queues, and this node's
/// tracking subscriptions.
#[derive(Debug, Default)]
pub struct Msg {
    state: Queues,
    /// (connection, group) -> track flags, of this node's clients.
    tracks: BTreeMap<(ConnId, Vec<u8>), u8>,
}

impl Msg {
    /// The replicated state (tests, status).
    pub fn state(&self) -> &Queues {
        &self.state
    }

    /// Hands the effects of a change to the engine.
    fn effects(cx: &mut Cx<'_, '_>, fx: Effects) {
        for (to, err, payload) in fx.answers {
            cx.answer(to, err, &payload);
        }
        for (node, conn, open) in fx.received {
            cx.tell(node, ConnId(conn), wire::RECEIVED_CALLBACK, wire::encode_received_callback(open));
        }
    }

    /// Tells this node's trackers of `group` about `change` to `queue`
    /// (after an insert or remove), or that the group is `deleted`
    /// (before it goes; their tracking ends).
    fn track_change(&mut self, cx: &mut Cx<'_, '_>, group: &[u8], queue: &[u8], change: u32, deleted: bool) {
        let Some(all) = self.state.members(group, if deleted { wire::REMOVED } else { wire::NO_CHANGE }) else {
            return;
        };
        let me = cx.local_node();
        for ((conn, g), flags) in &self.tracks {
            if g != group {
                continue;
            }
            let mut members = all.clone();
            if !deleted {
                members.items.retain(|(n, _)| flags & wire::TRACK_CHANGES_ONLY == 0 && n != queue);
                members.items.push((queue.to_vec(), change));
            }
            let cb = wire::TrackCallback { group: group.to_vec(), error: error::OK, members };
            cx.tell(me, *conn, wire::TRACK_CALLBACK, cb.encode());
        }
        if deleted {
            self.tracks.retain(|(_, g), _| g != group);
        }
    }

    /// A track request applied here.
    fn track(&mut self, cx: &mut Cx<'_, '_>, at: &Ordered, group: Vec<u8>, flags: u8, in_reply: bool) -> Reply {
        let Some(members) = self.state.members(&group, wire::NO_CHANGE) else { return Reply::err(error::NOT_EXIST) };
        if !at.mine {
            return Reply::None;
        }
        if flags & (wire::TRACK_CHANGES | wire::TRACK_CHANGES_ONLY) != 0 {
            self.tracks.insert((at.conn, group.clone()), flags);
        }
        if flags & wire::TRACK_CURRENT == 0 {
            return Reply::ok(wire::encode_track_reply(None));
        }
        if in_reply {
            return Reply::ok(wire::encode_track_reply(Some(&members)));
        }
        let cb = wire::TrackCallback { group, error: error::OK, members };
        cx.tell(at.node, at.conn, wire::TRACK_CALLBACK, cb.encode());
        Reply::ok(wire::encode_track_reply(None))
    }
}

/// The time limit of a request that may wait (get, sendReceive): its
/// timeout, unless there is none (`SA_TIME_END`) or no wait (0).
fn limit(timeout: i64) -> Option<Duration> {
    match timeout {
        t if t <= 0 || t == wire::TIME_END => None,
        t => Some(Duration::from_nanos(t as u64)),
    }
}

/// The answer to a send in `mode` (an async send without ack was answered
/// when ordered).
fn send_reply(mode: u32, r: Result<(), u32>) -> Reply {
    if mode == wire::MODE_ASYNC { Reply::None } else { r.into() }
}

impl Replicated for Msg {
    const ID: u32 = service::MSG;
    const NAME: &'static str = "msg";
    type Request = Request;
    type Cursor = sync::Cursor;
    type Staged = sync::Staged;

    fn decode(msg_id: u32, body: &[u8]) -> Result<Request, RequestError> {
        Request::decode(msg_id, body).map_err(|e| match e {
            ais_ipc::DecodeError::BadValue { what: "msg request id", .. } => RequestError::UnknownId(msg_id),
            e => RequestError::Malformed(e),
        })
    }

    fn answered_during_sync(req: &Request) -> bool {
        matches!(req, Request::StatusGet { .. } | Request::TrackStop { .. })
    }

    fn request(&mut self, cx: &mut Cx<'_, '_>, conn: ConnId, msg_id: u32, req: Request, body: &[u8]) {
        let (guarantee, answer) = match &req {
            Request::StatusGet { name } => {
                let (err, payload) = match self.state.status(name) {
                    Ok(s) => (error::OK, s.encode()),
                    Err(e) => (e, Vec::new()),
                };
                return cx.ctx.reply(conn, msg_id, err, &payload);
            }
            Request::TrackStop { group } => {
                let err = match self.tracks.remove(&(conn, group.clone())) {
                    Some(_) => error::OK,
                    None => error::NOT_EXIST,
                };
                return cx.ctx.reply(conn, msg_id, err, &[]);
            }
            Request::Open { name, attrs, flags, is_async, token } => {
                let check = wire::validate_open(name, attrs.as_ref(), *flags);
                if check != error::OK {
                    return cx.ctx.reply(conn, msg_id, check, &[]);
                }
                (Guarantee::Safe, if *is_async { Answer::Callback(*token) } else { Answer::Reply })
            }
            Request::GroupCreate { policy, .. } if !queues::valid_policy(*policy) => {
                return cx.ctx.reply(conn, msg_id, error::INVALID_PARAM, &[]);
            }
            Request::GroupTrack { flags, .. } if !wire::track_flags_valid(*flags) => {
                return cx.ctx.reply(conn, msg_id, error::BAD_FLAGS, &[]);
            }
            Request::Get { timeout, .. } => {
                cx.order_within(conn, msg_id, body, Guarantee::Agreed, Answer::Reply, limit(*timeout));
                return;
            }
            Request::SendReceive { timeout, .. } => {
                cx.order_within(conn, msg_id, body, Guarantee::Safe, Answer::Reply, limit(*timeout));
                return;
            }
            Request::GroupTrack { .. } | Request::Cancel { .. } => (Guarantee::Agreed, Answer::Reply),
            Request::Send { mode, token, .. } | Request::Reply { mode, token, .. } => match *mode {
                wire::MODE_ACK => (Guarantee::Safe, Answer::Callback(*token)),
                wire::MODE_ASYNC => (Guarantee::Safe, Answer::Caller),
                _ => (Guarantee::Safe, Answer::Reply),
            },
            _ => (Guarantee::Safe, Answer::Reply),
        };
        if cx.order(conn, msg_id, body, guarantee, answer) && answer == Answer::Caller {
            cx.ctx.reply(conn, msg_id, error::OK, &[]);
        }
    }

    fn apply(&mut self, cx: &mut Cx<'_, '_>, at: &Ordered, req: Request) -> Reply {
        let mut fx = Effects::default();
        let reply = match req {
            Request::Open { name, attrs, flags, .. } => {
                let opener = Opener { node: at.node, conn: at.conn.0, open: at.new_id, flags };
                match self.state.open((at.node, at.new_id), &name, attrs.as_ref(), opener) {
                    Ok(open) => Reply::ok(open.to_le_bytes().to_vec()),
                    Err(e) => Reply::err(e),
                }
            }
            Request::Close { open } => self.state.close(at.node, open, &mut fx).into(),
            Request::Unlink { name } => self.state.unlink(&name).into(),
            Request::GroupCreate { group, policy } => self.state.group_create(&group, policy).into(),
            Request::GroupInsert { group, queue } => {
                let r = self.state.group_insert(&group, &queue);
                if r.is_ok() {
                    self.track_change(cx, &group, &queue, wire::ADDED, false);
                }
                r.into()
            }
            Request::GroupRemove { group, queue } => {
                let r = self.state.group_remove(&group, &queue);
                if r.is_ok() {
                    self.track_change(cx, &group, &queue, wire::REMOVED, false);
                }
                r.into()
            }
            Request::GroupDelete { group } => {
                if self.state.groups.contains_key(&group) {
                    self.track_change(cx, &group, &[], wire::REMOVED, true);
                }
                self.state.group_delete(&group).into()
            }
            Request::GroupTrack { group, flags, current_in_reply } => {
                self.track(cx, at, group, flags, current_in_reply)
            }
            Request::Send { to, msg, mode, .. } => {
                send_reply(mode, self.state.send(&to, at.node, msg, at.ts, 0, &mut fx))
            }
            Request::Get { open, timeout, room } => match self.state.get(at.node, open, room) {
                Err(e) => Reply::err(e),
                Ok(Some(got)) => Reply::ok(got.encode()),
                Ok(None) if timeout <= 0 => Reply::err(error::TIMEOUT),
                Ok(None) => {
                    self.state.wait(at.node, open, Waiter { req: at.reference(), conn: at.conn.0, room });
                    Reply::Later
                }
            },
            Request::Cancel { open } => self.state.cancel(at.node, open, &mut fx).into(),
            Request::SendReceive { to, msg, room, .. } => {
                let id = self.state.new_sender_id();
                match self.state.send(&to, at.node, msg, at.ts, id, &mut fx) {
                    Err(e) => Reply::err(e),
                    Ok(()) => {
                        self.state.repliers.insert(id, Waiter { req: at.reference(), conn: at.conn.0, room });
                        Reply::Later
                    }
                }
            }
            Request::Reply { sender_id, msg, mode, .. } => {
                send_reply(mode, self.state.reply(sender_id, msg, at.ts, &mut fx))
            }
            Request::StatusGet { .. } | Request::TrackStop { .. } => {
                cx.malformed(at.node, &"a local request ordered");
                Reply::None
            }
        };
        Self::effects(cx, fx);
        reply
    }

    fn withdraw(&mut self, cx: &mut Cx<'_, '_>, req: ReqRef) {
        if self.state.expire(req) {
            cx.answer(req, error::TIMEOUT, &[]);
        }
    }

    fn closed(&mut self, cx: &mut Cx<'_, '_>, node: NodeId, conn: ConnId) {
        let mut fx = Effects::default();
        self.state.drop_owners(|n, c| n == node && c == conn.0, &mut fx);
        Self::effects(cx, fx);
    }

    fn left(&mut self, cx: &mut Cx<'_, '_>, members: &[NodeId]) {
        let mut fx = Effects::default();
        self.state.drop_owners(|n, _| !members.contains(&n), &mut fx);
        Self::effects(cx, fx);
    }

    fn conn_gone(&mut self, conn: ConnId) {
        self.tracks.retain(|(c, _), _| *c != conn);
    }

    fn cluster_time(&self) -> i64 {
        self.state.time
    }

    fn advance(&mut self, time: i64) {
        self.state.advance(time);
    }

    fn next_deadline(&self) -> Option<i64> {
        self.state.next_deadline()
    }

    fn callback(msg_id: u32, token: u64, error: u32, payload: &[u8]) -> (u32, Vec<u8>) {
        if msg_id == wire::OPEN {
            let open = match payload.get(..8) {
                Some(b) if error == error::OK => u64::from_le_bytes(b.try_into().unwrap_or([0; 8])),
                _ => 0,
            };
            return (wire::OPEN_CALLBACK, wire::encode_open_callback(token, error, open));
        }
        (wire::DELIVERED_CALLBACK, wire::encode_delivered_callback(token, error))
    }

    fn sync_start(&self) -> sync::Cursor {
        sync::items(&self.state).into_iter()
    }

    fn sync_next(&self, cursor: &mut sync::Cursor, w: &mut Writer) -> bool {
        cursor.next().map(|item| w.raw(&item)).is_some()
    }

    fn sync_stage(staged: &mut sync::Staged, item: &[u8]) -> Result<(), Rejected> {
        staged.add(item)
    }

    fn sync_forget(&mut self, _cx: &mut Cx<'_, '_>) {
        self.state = Queues::default();
    }

    fn sync_merge(
        &mut self,
        _cx: &mut Cx<'_, '_>,
        own: NodeId,
        staged: BTreeMap<NodeId, sync::Staged>,
        members: &[NodeId],
        time: i64,
    ) {
        let mut states: BTreeMap<NodeId, Queues> = staged.into_iter().map(|(n, s)| (n, s.state)).collect();
        states.insert(own, std::mem::take(&mut self.state));
        self.state = sync::merge(states, members, time);
    }
}
