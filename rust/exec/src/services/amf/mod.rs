//! AMF, the availability management service (`libSaAmf`), on the
//! replicated-state engine.
//!
//! The replicated part ([`state`]) decides: which node is which AMF node
//! (its host name), when a component is instantiated or cleaned up, which
//! service unit is ACTIVE and which STANDBY, and the recovery of a failed
//! component. This node's own part ([`Amf`] here) carries out what the
//! state decides for the components it hosts: it runs their CLC commands
//! ([`clc`], off the main loop), sends their callbacks, runs their
//! healthchecks, and orders what it observes (a command's outcome, a
//! missed healthcheck) as internal events, so every node applies it at the
//! same point of the order.
//!
//! A failed component is found at once when its library connection
//! closes (the engine orders the close): no timer is involved in a
//! failover after `kill -9` of a component.
//!
//! A node that leaves is failed over at the end of the sync that follows
//! the configuration change ([`State::merged`]), not at the change: the
//! takeover's callbacks then reach components whose answers are taken at
//! once, and their timers start at the next ordered event (the last one
//! may be older than a callback timeout).
//!
//! Partitions: when groups merge, the state of the group with the most
//! joined AMF nodes wins (ties: the lowest sender); the others' nodes join
//! again, which cleans up and re-instantiates their components.

pub mod clc;
pub mod conf;
pub mod state;
#[cfg(test)]
pub(crate) mod tests;

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ais_ipc::amf::{self as wire, Callback, Request};
use ais_ipc::{DecodeError, Reader, Writer, error};

use super::replicated::{Answer, Cx, INTERNAL, Ordered, Rejected, Replicated, Reply};
use crate::ordering::{Guarantee, NodeId};
use crate::service::{ConnId, Now, RequestError};
use conf::Model;
use state::{Effect, Event, State};

/// Ids of the executive's own events (never from a library).
const JOIN: u32 = 100;
const CLC_DONE: u32 = 101;
const DETECTED: u32 = 102;

/// Healthcheck invocations carry this bit: answered on this node, not
/// ordered (CSI invocations never reach it).
const HC_INVOCATION: u64 = 1 << 62;
/// Readiness invocations (A.01.01 clients) carry this bit: answered on
/// this node, not ordered.
const READINESS_INVOCATION: u64 = 1 << 61;
/// While CLC commands run, how often their outcomes are collected.
const CLC_POLL: Duration = Duration::from_millis(10);
/// How long an unanswered join waits before it is ordered again.
const JOIN_RETRY: Duration = Duration::from_secs(1);
/// How often processes under `saAmfPmStart` are looked at.
const PM_POLL: Duration = Duration::from_millis(50);

/// A process monitored for a component of this node (`saAmfPmStart`).
#[derive(Debug, Clone)]
struct Monitored {
    conn: ConnId,
    comp: usize,
    pid: u64,
    recovery: u32,
}

/// Whether process `pid` has ended (gone, or a zombie). Its exit status
/// is not visible: it is not the executive's child.
fn process_ended(pid: u64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => {
            let state = stat.rsplit_once(')').and_then(|(_, rest)| rest.trim_start().chars().next());
            matches!(state, Some('Z' | 'X') | None)
        }
    }
}

/// A protection group tracked by a local connection, and what it was
/// last told.
#[derive(Debug, Clone)]
struct Tracker {
    changes_only: bool,
    last: Vec<(Vec<u8>, u32, u32)>,
}

/// What changed from `old` to `new` (members by component): every
/// member of `new` (with `PG_NO_CHANGE` if unchanged) and the removed
/// ones, or only what changed.
fn pg_changes(old: &[(Vec<u8>, u32, u32)], new: &[(Vec<u8>, u32, u32)], only: bool) -> Vec<wire::Member> {
    let mut out = Vec::new();
    for (comp, ha, rank) in new {
        let change = match old.iter().find(|o| &o.0 == comp) {
            None => wire::PG_ADDED,
            Some(o) if o.1 != *ha || o.2 != *rank => wire::PG_STATE_CHANGE,
            Some(_) => wire::PG_NO_CHANGE,
        };
        if !(only && change == wire::PG_NO_CHANGE) {
            out.push(wire::Member { comp: comp.clone(), ha: *ha, rank: *rank, change });
        }
    }
    for (comp, ha, rank) in old {
        if !new.iter().any(|n| &n.0 == comp) {
            out.push(wire::Member { comp: comp.clone(), ha: *ha, rank: *rank, change: wire::PG_REMOVED });
        }
    }
    out
}

/// A decoded request: from a library, or this service's own event.
#[derive(Debug, Clone)]
pub enum Req {
    Lib(Request),
    Own(Event),
}

fn encode_event(ev: &Event) -> (u32, Vec<u8>) {
    let mut w = Writer::new();
    let id = match ev {
        Event::Join { name, digest } => {
            w.bytes(name).u64(*digest);
            JOIN
        }
        Event::ClcDone { comp, round, kind, ok } => {
            w.u32(*comp).u32(*round).u8(*kind as u8).bool(*ok);
            CLC_DONE
        }
        Event::Detected { comp, recovery } => {
            w.u32(*comp).u32(*recovery);
            DETECTED
        }
        other => unreachable!("not an own event: {other:?}"),
    };
    (id, w.into_vec())
}

fn decode_event(id: u32, body: &[u8]) -> Result<Event, DecodeError> {
    let mut r = Reader::new(body);
    let ev = match id {
        JOIN => Event::Join { name: r.bytes(wire::MAX_NAME, "node name")?.to_vec(), digest: r.u64("digest")? },
        CLC_DONE => {
            let (comp, round, kind) = (r.u32("comp")?, r.u32("round")?, r.u8("clc kind")?);
            let kind =
                clc::Kind::from_u8(kind).ok_or(DecodeError::BadValue { what: "clc kind", value: kind.into() })?;
            Event::ClcDone { comp, round, kind, ok: r.bool("ok")? }
        }
        DETECTED => Event::Detected { comp: r.u32("comp")?, recovery: r.u32("recovery")? },
        other => return Err(DecodeError::BadValue { what: "amf request id", value: other.into() }),
    };
    r.finish()?;
    Ok(ev)
}

/// A healthcheck a component started on this node.
#[derive(Debug, Clone)]
struct Healthcheck {
    conn: ConnId,
    amf_invoked: bool,
    recovery: u32,
    period: Duration,
    max_duration: Duration,
    /// When something is due: the next callback, or the deadline of the
    /// awaited answer or confirmation.
    due: Instant,
    /// The invocation of a callback not answered yet.
    awaiting: Option<u64>,
}

/// FNV-1a of the configuration text: nodes with different files refuse
/// each other.
pub fn digest(text: &[u8]) -> u64 {
    text.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// The AMF service as configured: none unless `amf { mode: enabled }`;
/// an error (the executive does not start) if the AMF file is refused.
pub fn from_config(enabled: bool, path: &std::path::Path, host: &[u8]) -> Result<Option<Amf>, String> {
    if !enabled {
        return Ok(None);
    }
    let text = std::fs::read(path).map_err(|e| format!("AMF configuration {}: {e}", path.display()))?;
    let model = Model::parse(&String::from_utf8_lossy(&text)).map_err(|e| format!("{}:{e}", path.display()))?;
    Ok(Some(Amf::new(Arc::new(model), digest(&text), host, ais_ipc::run_dir())))
}

/// The AMF service of one node.
pub struct Amf {
    pub st: State,
    /// This node's AMF node (by host name), if it is one.
    me: Option<usize>,
    /// When this node first ran its local part (the startup timeout counts
    /// from there).
    started: Option<Instant>,
    join_sent: Option<Instant>,
    runner: clc::Runner,
    /// Effects decided where no `Cx` was at hand (`advance`).
    deferred: Vec<Effect>,
    /// Own events waiting to be ordered.
    to_order: VecDeque<Event>,
    /// (component, key) -> healthcheck, on this node.
    hcs: BTreeMap<(usize, Vec<u8>), Healthcheck>,
    next_hc: u64,
    /// This node's id, once the local part ran.
    local_node: Option<NodeId>,
    /// When the local part last ran.
    last_local: Option<Instant>,
    monitored: Vec<Monitored>,
    /// A newer (quorate) state replaces this node's at the next merge
    /// ([`Replicated::sync_forget`]).
    forget_own: bool,
    /// (connection, CSI) -> its protection group tracking.
    trackers: BTreeMap<(ConnId, Vec<u8>), Tracker>,
    /// Local connections that registered (or are registering) an A.01.01
    /// component, and whether it was told it is IN_SERVICE.
    a_comps: BTreeMap<ConnId, bool>,
    /// Readiness callbacks not answered yet: invocation -> connection.
    readiness_pending: BTreeMap<u64, ConnId>,
}

impl Amf {
    /// The service for `model` (digest of its file), on the host named
    /// `host`; CLC commands get `run_dir` as `COROSYNC_RUN_DIR`.
    pub fn new(model: Arc<Model>, digest: u64, host: &[u8], run_dir: PathBuf) -> Amf {
        let me = model.nodes.iter().position(|n| n.as_bytes() == host);
        if me.is_none() {
            crate::log_notice!(Serv, "AMF: this node ({}) is not an AMF node", String::from_utf8_lossy(host));
        }
        Amf {
            st: State::new(model, digest),
            me,
            started: None,
            join_sent: None,
            runner: clc::Runner::new(run_dir),
            deferred: Vec::new(),
            to_order: VecDeque::new(),
            hcs: BTreeMap::new(),
            next_hc: 1,
            local_node: None,
            last_local: None,
            monitored: Vec::new(),
            forget_own: false,
            trackers: BTreeMap::new(),
            a_comps: BTreeMap::new(),
            readiness_pending: BTreeMap::new(),
        }
    }

    fn joined_here(&self, me: NodeId) -> bool {
        self.me.is_some() && self.st.joined.get(&me) == self.me.as_ref()
    }

    /// Carries out what the state decided, for this node's part.
    fn run(&mut self, cx: &mut Cx<'_, '_>, effects: Vec<Effect>) {
        let me = cx.local_node();
        for e in std::mem::take(&mut self.deferred).into_iter().chain(effects) {
            match e {
                Effect::Note(line) => crate::log_notice!(Serv, "AMF: {line}"),
                Effect::Instantiate { node, comp, round } if node == me => {
                    self.clc(comp, round, clc::Kind::Instantiate)
                }
                Effect::Cleanup { node, comp, round } if node == me => {
                    self.forget_comp(comp);
                    self.clc(comp, round, clc::Kind::Cleanup)
                }
                Effect::Terminate { node, comp, round } if node == me => {
                    self.forget_comp(comp);
                    self.clc(comp, round, clc::Kind::Terminate)
                }
                Effect::Tell { node, conn, callback } => {
                    // No healthcheck or monitoring of a component asked to leave.
                    if let Callback::Terminate { comp, .. } = &callback
                        && node == me
                        && let Some(c) = self.st.find_comp(comp)
                    {
                        self.forget_comp(c);
                    }
                    if node == me {
                        self.tell_readiness_first(cx, conn, &callback);
                    }
                    cx.tell(node, conn, callback.id(), callback.encode())
                }
                Effect::Instantiate { .. } | Effect::Cleanup { .. } | Effect::Terminate { .. } => {}
            }
        }
        self.tell_trackers(cx);
    }

    /// An A.01.01 component is told it is IN_SERVICE (its readiness
    /// callback) before its first CSI.
    fn tell_readiness_first(&mut self, cx: &mut Cx<'_, '_>, conn: ConnId, callback: &Callback) {
        let Callback::CsiSet { comp, .. } = callback else { return };
        let Some(told) = self.a_comps.get_mut(&conn) else { return };
        if *told {
            return;
        }
        *told = true;
        let invocation = READINESS_INVOCATION | self.next_hc;
        self.next_hc += 1;
        self.readiness_pending.insert(invocation, conn);
        let cb = Callback::Readiness { invocation, comp: comp.clone(), state: wire::READINESS_IN_SERVICE };
        cx.tell(cx.local_node(), conn, cb.id(), cb.encode());
    }

    /// An A.01.01 component registered on this node: AMF invokes the
    /// healthcheck of its first configured key (A.01.01 has no
    /// healthcheck start), with the configured recovery.
    fn a_registered(&mut self, now: Instant, conn: ConnId, comp: &[u8]) {
        let Some(c) = self.st.find_comp(comp) else { return };
        let Some(key) = self.st.comp_conf(c).hc_keys.first() else { return };
        let hc = Healthcheck {
            conn,
            amf_invoked: true,
            recovery: wire::NO_RECOMMENDATION,
            period: Duration::from_millis(key.period_ms),
            max_duration: Duration::from_millis(key.max_duration_ms),
            due: now + Duration::from_millis(key.period_ms),
            awaiting: None,
        };
        self.hcs.insert((c, key.key.clone()), hc);
    }

    /// `COMP_INFO`: readiness (IN_SERVICE once registered) and
    /// capability model of a configured component.
    fn comp_info(&self, comp: &[u8]) -> Option<Vec<u8>> {
        let c = self.st.find_comp(comp)?;
        let st = &self.st.comps[c];
        let in_service = st.reg.is_some() && st.presence == state::Presence::Instantiated;
        let readiness = if in_service { wire::READINESS_IN_SERVICE } else { wire::READINESS_OUT_OF_SERVICE };
        let mut w = Writer::new();
        w.u32(readiness).u32(self.st.comp_conf(c).capability);
        Some(w.into_vec())
    }

    /// Tells the local trackers whose protection group changed.
    fn tell_trackers(&mut self, cx: &mut Cx<'_, '_>) {
        let me = cx.local_node();
        for ((conn, csi), t) in self.trackers.iter_mut() {
            let now = self.st.protection_group(csi).unwrap_or_default();
            if now == t.last {
                continue;
            }
            let notification = pg_changes(&t.last, &now, t.changes_only);
            let cb = Callback::PgChanged { csi: csi.clone(), members: now.len() as u32, notification };
            cx.tell(me, *conn, cb.id(), cb.encode());
            t.last = now;
        }
    }

    /// `saAmfProtectionGroupTrack`: the reply (the current members when
    /// asked), and the tracker started for changes.
    fn pg_track(&mut self, conn: ConnId, csi: Vec<u8>, flags: u8) -> Result<Vec<u8>, u32> {
        let known = wire::TRACK_CURRENT | wire::TRACK_CHANGES | wire::TRACK_CHANGES_ONLY;
        if flags & !known != 0
            || flags == 0
            || flags & (wire::TRACK_CHANGES | wire::TRACK_CHANGES_ONLY)
                == (wire::TRACK_CHANGES | wire::TRACK_CHANGES_ONLY)
        {
            return Err(error::BAD_FLAGS);
        }
        let members = self.st.protection_group(&csi).ok_or(error::NOT_EXIST)?;
        let mut w = Writer::new();
        let current = if flags & wire::TRACK_CURRENT != 0 { pg_changes(&[], &members, false) } else { Vec::new() };
        let current: Vec<wire::Member> =
            current.into_iter().map(|m| wire::Member { change: wire::PG_NO_CHANGE, ..m }).collect();
        wire::write_members(&mut w, &current);
        if flags & (wire::TRACK_CHANGES | wire::TRACK_CHANGES_ONLY) != 0 {
            let changes_only = flags & wire::TRACK_CHANGES_ONLY != 0;
            self.trackers.insert((conn, csi), Tracker { changes_only, last: members });
        }
        Ok(w.into_vec())
    }

    /// `saAmfPmStart` of local connection `conn`.
    fn pm_start(&mut self, conn: ConnId, me: NodeId, comp: &[u8], pid: u64, errors: u32, recovery: u32) -> u32 {
        let Some(c) = self.st.find_comp(comp) else { return error::NOT_EXIST };
        if self.st.comps[c].reg != Some((me, conn)) {
            return error::NOT_EXIST;
        }
        if errors == 0
            || errors & !wire::PM_ERRORS != 0
            || !(wire::NO_RECOMMENDATION..=wire::APPLICATION_RESTART).contains(&recovery)
        {
            return error::INVALID_PARAM;
        }
        if pid == 0 || pid > u64::from(u32::MAX) || process_ended(pid) {
            return error::NOT_EXIST;
        }
        if self.monitored.iter().any(|m| m.comp == c && m.pid == pid) {
            return error::EXIST;
        }
        self.monitored.push(Monitored { conn, comp: c, pid, recovery });
        error::OK
    }

    /// `saAmfPmStop`: stops monitoring `pid` (any qualifier: only the
    /// process itself is ever monitored).
    fn pm_stop(&mut self, conn: ConnId, comp: &[u8], pid: i64) -> u32 {
        let Some(c) = self.st.find_comp(comp) else { return error::NOT_EXIST };
        let before = self.monitored.len();
        self.monitored.retain(|m| !(m.conn == conn && m.comp == c && m.pid as i64 == pid));
        if self.monitored.len() == before { error::NOT_EXIST } else { error::OK }
    }

    /// This node stops watching component `comp` (it is cleaned up or
    /// terminated).
    fn forget_comp(&mut self, comp: usize) {
        self.hcs.retain(|(c, _), _| *c != comp);
        self.monitored.retain(|m| m.comp != comp);
    }

    fn clc(&mut self, comp: usize, round: u32, kind: clc::Kind) {
        let conf = self.st.comp_conf(comp);
        let command = match kind {
            clc::Kind::Instantiate => &conf.instantiate,
            clc::Kind::Terminate => &conf.terminate,
            clc::Kind::Cleanup => &conf.cleanup,
        };
        let Some(command) = command else {
            // No cleanup command: nothing to run (the state asks for a
            // terminate command only when there is one).
            let ok = kind == clc::Kind::Cleanup;
            self.to_order.push_back(Event::ClcDone { comp: comp as u32, round, kind, ok });
            return;
        };
        let mut env = vec![("SA_AMF_COMPONENT_NAME".to_string(), String::from_utf8_lossy(&conf.dn).into_owned())];
        env.extend(conf.env.iter().cloned());
        let job = clc::Job {
            comp: comp as u32,
            round,
            kind,
            path: command.path.clone(),
            argv: command.argv.clone(),
            env,
            timeout: Duration::from_millis(conf.clc_timeout(kind).max(1)),
        };
        self.runner.start(job);
    }

    fn apply_event(&mut self, cx: &mut Cx<'_, '_>, node: NodeId, conn: ConnId, ev: Event) -> u32 {
        let mut out = Vec::new();
        let code = self.st.apply_event(node, conn, ev, &mut out);
        self.run(cx, out);
        code
    }

    /// A healthcheck request of local connection `conn`.
    fn healthcheck(&mut self, cx: &mut Cx<'_, '_>, conn: ConnId, req: Request) -> u32 {
        let now = cx.now().mono;
        let me = cx.local_node();
        let (comp, key) = match &req {
            Request::HcStart { comp, key, .. }
            | Request::HcConfirm { comp, key, .. }
            | Request::HcStop { comp, key } => (comp.clone(), key.clone()),
            _ => return error::LIBRARY,
        };
        let Some(c) = self.st.find_comp(&comp) else { return error::NOT_EXIST };
        if self.st.comps[c].reg != Some((me, conn)) {
            return error::NOT_EXIST;
        }
        let id = (c, key.clone());
        match req {
            Request::HcStart { invocation_type, recovery, .. } => {
                let Some(conf) = self.st.comp_conf(c).hc_keys.iter().find(|k| k.key == key) else {
                    return error::NOT_EXIST;
                };
                if !matches!(invocation_type, wire::HC_AMF_INVOKED | wire::HC_COMPONENT_INVOKED)
                    || !(wire::NO_RECOMMENDATION..=wire::APPLICATION_RESTART).contains(&recovery)
                {
                    return error::INVALID_PARAM;
                }
                if self.hcs.contains_key(&id) {
                    return error::EXIST;
                }
                let period = Duration::from_millis(conf.period_ms);
                let amf_invoked = invocation_type == wire::HC_AMF_INVOKED;
                let hc = Healthcheck {
                    conn,
                    amf_invoked,
                    recovery,
                    period,
                    max_duration: Duration::from_millis(conf.max_duration_ms),
                    due: if amf_invoked { now } else { now + period },
                    awaiting: None,
                };
                self.hcs.insert(id, hc);
                error::OK
            }
            Request::HcConfirm { result, .. } => {
                let Some(hc) = self.hcs.get_mut(&id) else { return error::NOT_EXIST };
                if hc.amf_invoked {
                    return error::NOT_EXIST;
                }
                if result == error::OK {
                    hc.due = now + hc.period;
                } else {
                    let recovery = hc.recovery;
                    self.hcs.remove(&id);
                    self.to_order.push_back(Event::Detected { comp: c as u32, recovery });
                }
                error::OK
            }
            Request::HcStop { .. } => match self.hcs.remove(&id) {
                Some(_) => error::OK,
                None => error::NOT_EXIST,
            },
            _ => error::LIBRARY,
        }
    }

    /// `saAmfResponse` to a healthcheck callback of this node.
    fn healthcheck_answered(&mut self, now: Instant, conn: ConnId, invocation: u64, result: u32) -> u32 {
        let Some((id, hc)) = self.hcs.iter_mut().find(|(_, h)| h.conn == conn && h.awaiting == Some(invocation)) else {
            return error::NOT_EXIST;
        };
        if result == error::OK {
            hc.awaiting = None;
            hc.due = now + hc.period;
        } else {
            let (c, recovery) = (id.0, hc.recovery);
            let id = id.clone();
            self.hcs.remove(&id);
            self.to_order.push_back(Event::Detected { comp: c as u32, recovery });
        }
        error::OK
    }

    /// Healthchecks that are due: callbacks to send, misses to report.
    fn run_healthchecks(&mut self, cx: &mut Cx<'_, '_>) {
        let now = cx.now().mono;
        let me = cx.local_node();
        let mut failed = Vec::new();
        for ((c, key), hc) in self.hcs.iter_mut() {
            if hc.due > now {
                continue;
            }
            if !hc.amf_invoked || hc.awaiting.is_some() {
                failed.push(((*c, key.clone()), hc.recovery));
                continue;
            }
            let invocation = HC_INVOCATION | self.next_hc;
            self.next_hc += 1;
            hc.awaiting = Some(invocation);
            hc.due = now + hc.max_duration;
            let comp = self.st.comp_conf(*c).dn.clone();
            let cb = Callback::Healthcheck { invocation, comp, key: key.clone() };
            cx.tell(me, hc.conn, cb.id(), cb.encode());
        }
        for (id, recovery) in failed {
            self.hcs.remove(&id);
            self.to_order.push_back(Event::Detected { comp: id.0 as u32, recovery });
        }
    }
}

impl Amf {
    /// `REGISTER_A` ordered: the registration of `REGISTER`, then (on the
    /// component's node) the A.01.01 client's own part.
    fn apply_register_a(&mut self, cx: &mut Cx<'_, '_>, at: &Ordered, comp: Vec<u8>) -> Reply {
        let code = self.apply_event(cx, at.node, at.conn, Event::Register { comp: comp.clone() });
        if at.mine {
            if code == error::OK {
                self.a_registered(cx.now().mono, at.conn, &comp);
            } else if self.st.comps.iter().all(|c| c.reg != Some((at.node, at.conn))) {
                self.a_comps.remove(&at.conn);
            }
        }
        Reply::err(code)
    }
}

impl Replicated for Amf {
    const ID: u32 = ais_ipc::service::AMF;
    const NAME: &'static str = "AMF";
    type Request = Req;
    /// Whether the one sync item is sent.
    type Cursor = bool;
    /// The one sync item of a sender, decoded at the merge.
    type Staged = Option<Vec<u8>>;

    fn decode(msg_id: u32, body: &[u8]) -> Result<Req, RequestError> {
        match Request::decode(msg_id, body) {
            Ok(Some(r)) => return Ok(Req::Lib(r)),
            Ok(None) => {}
            Err(e) => return Err(RequestError::Malformed(e)),
        }
        match decode_event(msg_id, body) {
            Ok(ev) => Ok(Req::Own(ev)),
            Err(DecodeError::BadValue { what: "amf request id", .. }) => Err(RequestError::UnknownId(msg_id)),
            Err(e) => Err(RequestError::Malformed(e)),
        }
    }

    /// The healthcheck requests and the answers to healthcheck callbacks
    /// are this node's alone (nothing ordered): taken during sync too, so
    /// that a healthcheck falling in a sync is not missed.
    fn answered_during_sync(req: &Req) -> bool {
        match req {
            // Healthcheck and A.01.01 readiness answers are this node's
            // alone: nothing replicated waits for them.
            Req::Lib(Request::Response { invocation, .. }) => invocation & (HC_INVOCATION | READINESS_INVOCATION) != 0,
            Req::Lib(Request::HcStart { .. } | Request::HcConfirm { .. } | Request::HcStop { .. }) => true,
            _ => false,
        }
    }

    fn request(&mut self, cx: &mut Cx<'_, '_>, conn: ConnId, msg_id: u32, req: Req, body: &[u8]) {
        let Req::Lib(req) = req else {
            // The executive's own ids are not a library's to send.
            return cx.ctx.reply(conn, msg_id, error::INVALID_PARAM, &[]);
        };
        let answer = |cx: &mut Cx<'_, '_>, code: u32| cx.ctx.reply(conn, msg_id, code, &[]);
        match req {
            Request::HaStateGet { comp, csi } => {
                let ha = self.st.find_comp(&comp).and_then(|c| self.st.ha_state(c, &csi));
                match ha {
                    Some(ha) => cx.ctx.reply(conn, msg_id, error::OK, &ha.to_le_bytes()),
                    None => answer(cx, error::NOT_EXIST),
                }
            }
            Request::Response { invocation, .. } if invocation & READINESS_INVOCATION != 0 => {
                let ours = self.readiness_pending.get(&invocation) == Some(&conn);
                if ours {
                    self.readiness_pending.remove(&invocation);
                }
                answer(cx, if ours { error::OK } else { error::NOT_EXIST });
            }
            Request::CompInfo { comp } => match self.comp_info(&comp) {
                Some(body) => cx.ctx.reply(conn, msg_id, error::OK, &body),
                None => answer(cx, error::NOT_EXIST),
            },
            Request::Response { invocation, error: result } if invocation & HC_INVOCATION != 0 => {
                let code = self.healthcheck_answered(cx.now().mono, conn, invocation, result);
                answer(cx, code);
            }
            r @ (Request::HcStart { .. } | Request::HcConfirm { .. } | Request::HcStop { .. }) => {
                let code = self.healthcheck(cx, conn, r);
                answer(cx, code);
            }
            Request::ErrorClear { comp } => {
                let registered = self.st.find_comp(&comp).is_some_and(|c| self.st.comps[c].reg.is_some());
                answer(cx, if registered { error::OK } else { error::NOT_EXIST });
            }
            // This AMF never asks for QUIESCING: no invocation is one.
            Request::QuiescingDone { .. } => answer(cx, error::INVALID_PARAM),
            Request::PmStart { comp, pid, errors, recovery, .. } => {
                let code = self.pm_start(conn, cx.local_node(), &comp, pid, errors, recovery);
                answer(cx, code);
            }
            Request::PmStop { comp, pid, .. } => {
                let code = self.pm_stop(conn, &comp, pid);
                answer(cx, code);
            }
            Request::PgTrack { csi, flags, by_callback } => match self.pg_track(conn, csi.clone(), flags) {
                Ok(body) if by_callback && flags & wire::TRACK_CURRENT != 0 => {
                    answer(cx, error::OK);
                    let members = self.st.protection_group(&csi).unwrap_or_default();
                    let notification = pg_changes(&[], &members, false)
                        .into_iter()
                        .map(|m| wire::Member { change: wire::PG_NO_CHANGE, ..m })
                        .collect();
                    let cb = Callback::PgChanged { csi, members: members.len() as u32, notification };
                    let _ = body;
                    cx.ctx.dispatch(conn, cb.id(), cb.encode());
                }
                Ok(body) => cx.ctx.reply(conn, msg_id, error::OK, &body),
                Err(code) => answer(cx, code),
            },
            Request::PgTrackStop { csi } => {
                let code = if self.trackers.remove(&(conn, csi)).is_some() { error::OK } else { error::NOT_EXIST };
                answer(cx, code);
            }
            Request::Register { .. }
            | Request::RegisterA { .. }
            | Request::Unregister { .. }
            | Request::ErrorReport { .. }
                if !self.joined_here(cx.local_node()) =>
            {
                answer(cx, error::NOT_EXIST)
            }
            Request::RegisterA { .. } => {
                self.a_comps.entry(conn).or_insert(false);
                cx.order(conn, msg_id, body, Guarantee::Agreed, Answer::Reply);
            }
            Request::Register { .. }
            | Request::Unregister { .. }
            | Request::Response { .. }
            | Request::ErrorReport { .. } => {
                cx.order(conn, msg_id, body, Guarantee::Agreed, Answer::Reply);
            }
        }
    }

    fn apply(&mut self, cx: &mut Cx<'_, '_>, at: &Ordered, req: Req) -> Reply {
        let ev = match req {
            Req::Own(ev) => ev,
            Req::Lib(Request::Register { comp }) => Event::Register { comp },
            Req::Lib(Request::RegisterA { comp }) => {
                return self.apply_register_a(cx, at, comp);
            }
            Req::Lib(Request::Unregister { comp }) => Event::Unregister { comp },
            Req::Lib(Request::Response { invocation, error }) => Event::Response { invocation, error },
            Req::Lib(Request::ErrorReport { comp, recovery, .. }) => Event::ErrorReport { comp, recovery },
            Req::Lib(_) => {
                cx.malformed(at.node, &"a local request ordered");
                return Reply::None;
            }
        };
        let own = at.conn == INTERNAL;
        if own && at.mine && matches!(ev, Event::Join { .. }) {
            self.join_sent = None;
        }
        let a_unregister = at.mine && matches!(ev, Event::Unregister { .. }) && self.a_comps.contains_key(&at.conn);
        let code = self.apply_event(cx, at.node, at.conn, ev);
        if a_unregister && code == error::OK {
            // The healthcheck AMF started for it ends with it.
            self.hcs.retain(|_, h| h.conn != at.conn);
            self.a_comps.insert(at.conn, false);
        }
        if own { Reply::None } else { Reply::err(code) }
    }

    fn closed(&mut self, cx: &mut Cx<'_, '_>, node: NodeId, conn: ConnId) {
        if node == cx.local_node() {
            self.a_comps.remove(&conn);
        }
        let mut out = Vec::new();
        self.st.closed(node, conn, &mut out);
        self.run(cx, out);
    }

    /// Nothing yet: the failover of the nodes gone waits for the end of
    /// the sync that follows every configuration change
    /// ([`Replicated::sync_merge`]), where every node makes it at the same
    /// point. Its callbacks then reach components whose answers and reads
    /// are taken (during sync they get `TRY_AGAIN`), and their timers start
    /// after it.
    fn left(&mut self, _cx: &mut Cx<'_, '_>, _members: &[NodeId]) {}

    fn conn_gone(&mut self, conn: ConnId) {
        self.hcs.retain(|_, h| h.conn != conn);
        self.monitored.retain(|m| m.conn != conn);
        self.trackers.retain(|(c, _), _| *c != conn);
        self.a_comps.remove(&conn);
        self.readiness_pending.retain(|_, c| *c != conn);
    }

    fn local_deadline(&self, now: Now) -> Option<Instant> {
        let Some(started) = self.started else { return Some(now.mono) };
        let mut due: Option<Instant> = None;
        let mut at = |t: Instant| due = Some(due.map_or(t, |d| d.min(t)));
        if !self.deferred.is_empty() || !self.to_order.is_empty() {
            at(now.mono);
        }
        if self.runner.running() > 0 {
            at(self.last_local.map_or(now.mono, |t| t + CLC_POLL));
        }
        if self.local_node.is_some_and(|me| !self.joined_here(me)) {
            let startup = started + Duration::from_millis(self.st.model.startup_timeout_ms);
            at(self.join_sent.map_or(startup, |t| t + JOIN_RETRY).max(startup));
        }
        if let Some(t) = self.hcs.values().map(|h| h.due).min() {
            at(t);
        }
        if !self.monitored.is_empty() {
            at(self.last_local.map_or(now.mono, |t| t + PM_POLL));
        }
        due
    }

    fn local(&mut self, cx: &mut Cx<'_, '_>) {
        let now = cx.now().mono;
        let me = cx.local_node();
        self.local_node = Some(me);
        self.last_local = Some(now);
        let started = *self.started.get_or_insert(now);
        for d in self.runner.collect() {
            self.to_order.push_back(Event::ClcDone { comp: d.comp, round: d.round, kind: d.kind, ok: d.ok });
        }
        self.run_healthchecks(cx);
        let ended: Vec<Monitored> = self.monitored.iter().filter(|m| process_ended(m.pid)).cloned().collect();
        for m in ended {
            crate::log_notice!(
                Serv,
                "AMF: monitored process {} of {} ended",
                m.pid,
                String::from_utf8_lossy(&self.st.comp_conf(m.comp).dn)
            );
            self.monitored.retain(|x| x.pid != m.pid || x.comp != m.comp);
            self.to_order.push_back(Event::Detected { comp: m.comp as u32, recovery: m.recovery });
        }
        if let Some(i) = self.me
            && !self.joined_here(me)
            && now >= started + Duration::from_millis(self.st.model.startup_timeout_ms)
            && self.join_sent.is_none_or(|t| now >= t + JOIN_RETRY)
            && !self.to_order.iter().any(|e| matches!(e, Event::Join { .. }))
        {
            let name = self.st.model.nodes[i].clone().into_bytes();
            self.to_order.push_back(Event::Join { name, digest: self.st.digest });
            self.join_sent = Some(now);
        }
        let deferred = std::mem::take(&mut self.deferred);
        self.run(cx, deferred);
        while let Some(ev) = self.to_order.front() {
            let (id, body) = encode_event(ev);
            if !cx.order(INTERNAL, id, &body, Guarantee::Agreed, Answer::Caller) {
                break; // the queue is full: next time
            }
            self.to_order.pop_front();
        }
    }

    fn cluster_time(&self) -> i64 {
        self.st.time
    }

    fn advance(&mut self, time: i64) {
        let mut out = Vec::new();
        // The time of an ordered event: the callbacks of the last merge
        // are timed from here.
        self.st.start_timers(time);
        self.st.advance(time, &mut out);
        self.deferred.extend(out);
    }

    fn next_deadline(&self) -> Option<i64> {
        self.st.next_deadline()
    }

    fn callback(_msg_id: u32, _token: u64, _error: u32, _payload: &[u8]) -> (u32, Vec<u8>) {
        // No AMF request is answered by callback.
        (0, Vec::new())
    }

    fn sync_start(&self) -> bool {
        false
    }

    fn sync_next(&self, sent: &mut bool, w: &mut Writer) -> bool {
        if *sent {
            return false;
        }
        *sent = true;
        self.st.encode_dynamic(w);
        true
    }

    fn sync_stage(staged: &mut Option<Vec<u8>>, item: &[u8]) -> Result<(), Rejected> {
        if staged.is_some() {
            return Err(Rejected::Refused("a second AMF state from one sender"));
        }
        *staged = Some(item.to_vec());
        Ok(())
    }

    fn sync_forget(&mut self, _cx: &mut Cx<'_, '_>) {
        self.forget_own = true;
    }

    fn sync_merge(
        &mut self,
        cx: &mut Cx<'_, '_>,
        own: NodeId,
        staged: BTreeMap<NodeId, Option<Vec<u8>>>,
        members: &[NodeId],
        time: i64,
    ) {
        let live = |s: &State| s.joined.keys().filter(|n| members.contains(n)).count();
        let mut best = (live(&self.st), std::cmp::Reverse(own));
        if std::mem::take(&mut self.forget_own) {
            // Any staged state wins over this node's.
            best = (0, std::cmp::Reverse(NodeId::MAX));
        }
        for (sender, item) in staged {
            let Some(item) = item else { continue };
            match self.st.decode_dynamic(&item) {
                Ok(s) => {
                    let rank = (live(&s), std::cmp::Reverse(sender));
                    if rank > best {
                        best = rank;
                        self.st = s;
                    }
                }
                Err(e) => cx.malformed(sender, &format_args!("AMF state refused: {e}")),
            }
        }
        self.join_sent = None;
        let mut out = Vec::new();
        self.st.merged(members, time, &mut out);
        self.run(cx, out);
    }
}
