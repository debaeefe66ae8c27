//! The CLM service: which nodes are in the cluster, as `libSaClm` reports
//! it (node table, view number, tracking, node get).
//!
//! Replicated state (identical on every member): the last *complete* view
//! (number and member table). It changes only here:
//! 1. A regular configuration change starts a pending view of its members;
//!    each node then submits, in order, a [`NodeInfo`] about itself (name,
//!    address, boot time, its last view number and initial view), because
//!    the ordering layer only gives node ids (a joining node's address and
//!    name are known only to itself). If the send queue is full, the
//!    announcement is retried from `sync_process`, so the sync barrier
//!    waits for it.
//! 2. When the info of every member of the pending view has been delivered
//!    (same messages, same order on every node), the view completes: its
//!    number is one more than the highest last view any member reported
//!    (so a node that joins adopts the cluster's numbering); members of
//!    that highest view keep their initial view, every other node (new,
//!    or coming from a partition with its own lower numbering) gets this
//!    one; and tracking clients get their callbacks. A newer configuration change before that discards the
//!    pending view; infos of an older ring are ignored.
//!
//! Node addresses are reported in text form (dotted decimal or IPv6 text)
//! with the family `SA_CLM_AF_INET`/`SA_CLM_AF_INET6`. Nodes that left are
//! reported once, in the view that removes them (`SA_CLM_NODE_LEFT`,
//! member false); node get on them is `NOT_EXIST`. A new ring with the
//! same members (and boot times) gets a new view number but no callback.
//! A node that restarted (new boot time) is reported `JOINED`; one whose
//! address or name changed, `RECONFIGURED`.
//!
//! Per connection: its track mode (`CHANGES` or `CHANGES_ONLY`), dropped
//! when the connection closes. Until the first view completes, requests
//! are answered `TRY_AGAIN`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ais_ipc::clm::{self as wire, Node, NodeInfo, TrackCallback, TrackReply, TrackStart, View};
use ais_ipc::{error, service};

use crate::ordering::{ConfigChange, ConfigKind, Guarantee, NodeId, RingId};
use crate::service::{ConnId, Ctx, RequestError, Service, SyncStep};

/// What this node says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalIdentity {
    pub name: Vec<u8>,
    /// Nanoseconds since the epoch when this executive started.
    pub boot_timestamp: i64,
}

impl LocalIdentity {
    /// The host name, and `boot_timestamp` (the wall clock at startup).
    pub fn of_this_host(boot_timestamp: i64) -> LocalIdentity {
        // The kernel's node name (what gethostname() returns), without
        // unsafe code; clipped to SA_MAX_NAME_LENGTH.
        let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim_end().as_bytes().to_vec())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| b"localhost".to_vec());
        let name = name[..name.len().min(wire::MAX_NAME)].to_vec();
        LocalIdentity { name, boot_timestamp }
    }
}

/// A view being assembled from the members' announcements.
#[derive(Debug)]
struct Pending {
    ring: RingId,
    members: Vec<NodeId>,
    infos: BTreeMap<NodeId, NodeInfo>,
}

#[derive(Debug)]
pub struct ClmService {
    identity: LocalIdentity,
    /// Number of the last complete view; 0 before the first.
    view_number: u64,
    /// The last complete view's members.
    members: BTreeMap<NodeId, Node>,
    pending: Option<Pending>,
    /// The ring whose announcement could not be queued yet (full send
    /// queue); retried by `sync_process`.
    announce_due: Option<RingId>,
    /// Connections tracking changes, with their mode flag.
    tracks: BTreeMap<ConnId, u8>,
    /// Ordered messages that did not decode (counted, dropped).
    pub malformed: u64,
}

impl ClmService {
    pub fn new(identity: LocalIdentity) -> ClmService {
        ClmService {
            identity,
            view_number: 0,
            members: BTreeMap::new(),
            pending: None,
            announce_due: None,
            tracks: BTreeMap::new(),
            malformed: 0,
        }
    }

    /// The last complete view: number and member ids.
    pub fn view(&self) -> (u64, Vec<NodeId>) {
        (self.view_number, self.members.keys().copied().collect())
    }

    /// The member table of the last complete view.
    pub fn members(&self) -> impl Iterator<Item = &Node> {
        self.members.values()
    }

    fn current_view(&self) -> View {
        View {
            view_number: self.view_number,
            items: self.members.values().map(|n| (n.clone(), wire::NODE_NO_CHANGE)).collect(),
        }
    }

    /// This node's address as the ordering layer reports it.
    fn local_address(ctx: &Ctx<'_>) -> (u32, Vec<u8>) {
        let status = ctx.cluster_status();
        let text =
            status.members.iter().find(|m| m.node == status.local_node).map(|m| m.address.clone()).unwrap_or_default();
        let family = match text.parse::<IpAddr>() {
            Ok(IpAddr::V6(_)) => wire::AF_INET6,
            _ => wire::AF_INET,
        };
        (family, text.into_bytes())
    }

    /// Queues this node's announcement for the ring in `announce_due`;
    /// false if the send queue is full (tried again by `sync_process`).
    fn announce(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let Some(ring) = self.announce_due else { return true };
        let (family, address) = Self::local_address(ctx);
        let initial_view = self.members.get(&ctx.local_node()).map_or(0, |n| n.initial_view);
        let info = NodeInfo {
            ring_rep: ring.rep,
            ring_seq: ring.seq,
            last_view: self.view_number,
            initial_view,
            family,
            address,
            name: self.identity.name.clone(),
            boot_timestamp: self.identity.boot_timestamp,
        };
        if ctx.submit(&info.encode(), Guarantee::Agreed).is_err() {
            crate::log_warn!(Serv, "clm: send queue full: announcing this node later");
            return false;
        }
        self.announce_due = None;
        true
    }

    fn complete_if_ready(&mut self, ctx: &mut Ctx<'_>) {
        let Some(p) = &self.pending else { return };
        if !p.members.iter().all(|m| p.infos.contains_key(m)) {
            return;
        }
        let Some(p) = self.pending.take() else { return };
        let newest = p.infos.values().map(|i| i.last_view).max().unwrap_or(0);
        // `last_view` comes from the network: a hostile u64::MAX must not overflow.
        let view_number = newest.saturating_add(1);
        let new: BTreeMap<NodeId, Node> = p
            .infos
            .into_iter()
            .map(|(id, i)| {
                let node = Node {
                    node_id: id,
                    family: i.family,
                    address: i.address,
                    name: i.name,
                    member: true,
                    boot_timestamp: i.boot_timestamp,
                    // Only members of the view this one continues keep
                    // their initial view: a node coming from another
                    // partition's numbering (e.g. it restarted and was
                    // alone first) joins the cluster now.
                    initial_view: if i.initial_view != 0 && i.last_view == newest {
                        i.initial_view
                    } else {
                        view_number
                    },
                };
                (id, node)
            })
            .collect();
        let mut changes: Vec<(Node, u32)> = Vec::new();
        let mut all: Vec<(Node, u32)> = Vec::new();
        for (id, node) in &new {
            let change = match self.members.get(id) {
                None => wire::NODE_JOINED,
                Some(old) if old.boot_timestamp != node.boot_timestamp => wire::NODE_JOINED,
                Some(old) if old.address != node.address || old.name != node.name || old.family != node.family => {
                    wire::NODE_RECONFIGURED
                }
                Some(_) => wire::NODE_NO_CHANGE,
            };
            if change != wire::NODE_NO_CHANGE {
                changes.push((node.clone(), change));
            }
            all.push((node.clone(), change));
        }
        for (id, old) in &self.members {
            if !new.contains_key(id) {
                let gone = Node { member: false, ..old.clone() };
                changes.push((gone.clone(), wire::NODE_LEFT));
                all.push((gone, wire::NODE_LEFT));
            }
        }
        crate::log_notice!(
            Serv,
            "clm: view {view_number}: members {:?} ({} changed)",
            new.keys().collect::<Vec<_>>(),
            changes.len()
        );
        self.view_number = view_number;
        self.members = new;
        if changes.is_empty() {
            return;
        }
        let number_of_members = self.members.len() as u32;
        let for_changes =
            TrackCallback { error: error::OK, number_of_members, view: View { view_number, items: all } }.encode();
        let for_changes_only =
            TrackCallback { error: error::OK, number_of_members, view: View { view_number, items: changes } }.encode();
        for (&conn, &mode) in &self.tracks {
            let body = if mode == wire::TRACK_CHANGES_ONLY { &for_changes_only } else { &for_changes };
            ctx.dispatch(conn, wire::TRACK_CALLBACK, body.clone());
        }
    }

    fn track_start(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, req: TrackStart) {
        if !wire::track_flags_valid(req.flags) {
            ctx.reply(conn, wire::TRACK_START, error::BAD_FLAGS, &[]);
            return;
        }
        if self.view_number == 0 {
            ctx.reply(conn, wire::TRACK_START, error::TRY_AGAIN, &[]);
            return;
        }
        let current = req.flags & wire::TRACK_CURRENT != 0;
        if current && req.current_in_reply && self.members.len() > req.capacity as usize {
            // Nothing else happens: the caller retries with a bigger buffer.
            let needed = TrackReply::NoSpace(self.members.len() as u32);
            ctx.reply(conn, wire::TRACK_START, error::OK, &needed.encode());
            return;
        }
        let mode = req.flags & (wire::TRACK_CHANGES | wire::TRACK_CHANGES_ONLY);
        if mode != 0 {
            self.tracks.insert(conn, mode);
        }
        if !current {
            ctx.reply(conn, wire::TRACK_START, error::OK, &TrackReply::Nothing.encode());
            return;
        }
        let view = self.current_view();
        if req.current_in_reply {
            ctx.reply(conn, wire::TRACK_START, error::OK, &TrackReply::View(view).encode());
        } else {
            ctx.reply(conn, wire::TRACK_START, error::OK, &TrackReply::Nothing.encode());
            let cb = TrackCallback { error: error::OK, number_of_members: view.items.len() as u32, view };
            ctx.dispatch(conn, wire::TRACK_CALLBACK, cb.encode());
        }
    }

    fn lookup(&self, ctx: &Ctx<'_>, node_id: u32) -> Result<&Node, u32> {
        if self.view_number == 0 {
            return Err(error::TRY_AGAIN);
        }
        let id = if node_id == wire::LOCAL_NODE_ID { ctx.local_node() } else { node_id };
        self.members.get(&id).ok_or(error::NOT_EXIST)
    }
}

impl Service for ClmService {
    fn id(&self) -> u32 {
        service::CLM
    }

    fn name(&self) -> &'static str {
        "clm"
    }

    fn lib_request(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, msg_id: u32, body: &[u8]) -> Result<(), RequestError> {
        match msg_id {
            wire::TRACK_START => {
                let req = TrackStart::decode(body).map_err(RequestError::Malformed)?;
                self.track_start(ctx, conn, req);
            }
            wire::TRACK_STOP => {
                if !body.is_empty() {
                    return Err(RequestError::Malformed(ais_ipc::DecodeError::Trailing { extra: body.len() }));
                }
                let status = if self.tracks.remove(&conn).is_some() { error::OK } else { error::NOT_EXIST };
                ctx.reply(conn, msg_id, status, &[]);
            }
            wire::NODE_GET => {
                let id = wire::decode_node_get(body).map_err(RequestError::Malformed)?;
                match self.lookup(ctx, id) {
                    Ok(node) => {
                        let payload = wire::encode_node(node);
                        ctx.reply(conn, msg_id, error::OK, &payload);
                    }
                    Err(e) => ctx.reply(conn, msg_id, e, &[]),
                }
            }
            wire::NODE_GET_ASYNC => {
                let (invocation, id) = wire::decode_node_get_async(body).map_err(RequestError::Malformed)?;
                match self.lookup(ctx, id) {
                    Err(error::TRY_AGAIN) => ctx.reply(conn, msg_id, error::TRY_AGAIN, &[]),
                    result => {
                        let cb = wire::NodeGetCallback { invocation, result: result.cloned() };
                        ctx.reply(conn, msg_id, error::OK, &[]);
                        ctx.dispatch(conn, wire::NODE_GET_CALLBACK, cb.encode());
                    }
                }
            }
            other => return Err(RequestError::UnknownId(other)),
        }
        Ok(())
    }

    fn deliver(&mut self, ctx: &mut Ctx<'_>, sender: NodeId, payload: &[u8]) {
        let info = match NodeInfo::decode(payload) {
            Ok(i) => i,
            Err(e) => {
                self.malformed += 1;
                crate::log_limited!(Warning, Serv, "clm: dropped a malformed message from node {sender}: {e}");
                return;
            }
        };
        let Some(p) = &mut self.pending else { return };
        let ring = RingId { rep: info.ring_rep, seq: info.ring_seq };
        if ring != p.ring || !p.members.contains(&sender) {
            return;
        }
        p.infos.insert(sender, info);
        self.complete_if_ready(ctx);
    }

    fn config_change(&mut self, ctx: &mut Ctx<'_>, change: &ConfigChange) {
        if change.kind != ConfigKind::Regular {
            return;
        }
        self.pending = Some(Pending { ring: change.ring_id, members: change.members.clone(), infos: BTreeMap::new() });
        self.announce_due = change.members.contains(&ctx.local_node()).then_some(change.ring_id);
        self.announce(ctx);
    }

    fn sync_process(&mut self, ctx: &mut Ctx<'_>) -> SyncStep {
        if self.announce(ctx) { SyncStep::Done } else { SyncStep::MoreToSend }
    }

    fn conn_closed(&mut self, _ctx: &mut Ctx<'_>, conn: ConnId) {
        self.tracks.remove(&conn);
    }
}

#[cfg(test)]
mod tests;
