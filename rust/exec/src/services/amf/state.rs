//! The replicated AMF state: which node joined as which AMF node, the
//! presence and registration of every component, the HA state of every
//! service unit, the CSI assignments waiting for `saAmfResponse`. Every
//! change is made by an ordered event ([`State::apply_event`]), so every
//! node holds the same state and knows who is ACTIVE.
//!
//! Owns: the assignment rules of the 2N, N+M and no-redundancy models
//! ([`State::assign`]), the callbacks awaiting an answer and their
//! timeouts, termination, and the recovery (restart, failover,
//! escalation). Must not: run commands or talk to clients: what is to be
//! done on some node is returned as [`Effect`]s, which the node concerned
//! carries out (`super::Amf`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use ais_ipc::amf::{self as wire, Callback, CsiDescriptor};
use ais_ipc::{DecodeError, Reader, Writer, error};

use super::clc::Kind;
use super::conf::{self, Model};
use crate::ordering::NodeId;
use crate::service::ConnId;

/// Where a component is in its life cycle (`SaAmfPresenceStateT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    Uninstantiated = 1,
    Instantiating = 2,
    Instantiated = 3,
    /// Terminate callback or command runs; instantiation follows.
    Terminating = 4,
    /// Cleanup runs; instantiation follows.
    Restarting = 5,
    InstantiationFailed = 6,
}

impl Presence {
    fn from_u8(v: u8) -> Option<Presence> {
        Some(match v {
            1 => Presence::Uninstantiated,
            2 => Presence::Instantiating,
            3 => Presence::Instantiated,
            4 => Presence::Terminating,
            5 => Presence::Restarting,
            6 => Presence::InstantiationFailed,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompState {
    pub presence: Presence,
    /// The library connection that registered it.
    pub reg: Option<(NodeId, ConnId)>,
    /// Counts instantiations: a CLC result of an older one is stale.
    pub round: u32,
    /// Failed instantiation attempts in a row.
    pub attempts: u32,
    /// Cluster time by which an instantiated command's component must
    /// register.
    pub register_by: Option<i64>,
    /// Cluster times of recent restarts (escalation).
    pub restarts: Vec<i64>,
}

/// Indices of a component in the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompRef {
    pub sg: usize,
    pub su: usize,
    pub comp: usize,
    /// Index of its SU in [`State::units`].
    pub unit: usize,
}

/// What a node is to do, decided by an ordered event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Run the instantiate command of component `comp` (on its host).
    Instantiate { node: NodeId, comp: usize, round: u32 },
    /// Run the cleanup command, then report it (on its host).
    Cleanup { node: NodeId, comp: usize, round: u32 },
    /// Run the terminate command, then report it (on its host).
    Terminate { node: NodeId, comp: usize, round: u32 },
    /// A callback to a component's connection.
    Tell { node: NodeId, conn: ConnId, callback: Callback },
    /// Log line (every node).
    Note(String),
}

/// An ordered event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Node `node` says it is AMF node `name`, with this config digest.
    Join {
        name: Vec<u8>,
        digest: u64,
    },
    Register {
        comp: Vec<u8>,
    },
    Unregister {
        comp: Vec<u8>,
    },
    Response {
        invocation: u64,
        error: u32,
    },
    ErrorReport {
        comp: Vec<u8>,
        recovery: u32,
    },
    /// A CLC command of instantiation `round` of `comp` ended.
    ClcDone {
        comp: u32,
        round: u32,
        kind: Kind,
        ok: bool,
    },
    /// Its host found an error of `comp` (a healthcheck, a monitored
    /// process).
    Detected {
        comp: u32,
        recovery: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub model: Arc<Model>,
    pub digest: u64,
    pub time: i64,
    next_invocation: u64,
    /// Totem node -> AMF node index.
    pub joined: BTreeMap<NodeId, usize>,
    pub comps: Vec<CompState>,
    pub refs: Vec<CompRef>,
    /// (sg, su) of each unit.
    pub units: Vec<(usize, usize)>,
    /// The assignments: (unit, SI) -> HA state (`wire::HA_*`).
    pub assigned: BTreeMap<(usize, usize), u32>,
    /// Callbacks waiting for the component's response, by invocation.
    pub pending: BTreeMap<u64, Pending>,
    /// SI -> the unit that held its ACTIVE assignment until it failed
    /// (named to the component that takes over).
    pub prev_active: BTreeMap<usize, usize>,
    /// Cluster times of each unit's recent SU restarts (escalation).
    pub su_restarts: Vec<Vec<i64>>,
    /// SIs whose ACTIVE was quiesced before it left (a switchover): the
    /// taker-over is told `SA_AMF_CSI_QUIESCED`.
    pub switched: BTreeSet<usize>,
}

/// A callback waiting for its `saAmfResponse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    pub comp: usize,
    pub op: conf::Callback,
    /// Cluster time by which the answer is due ([`UNTIMED`] until the
    /// first ordered event after the membership change that made it).
    pub due: i64,
}

/// The due time of a callback made at a membership change, whose timer
/// starts at the next ordered event ([`State::start_timers`]).
pub const UNTIMED: i64 = i64::MAX;

fn op_code(op: conf::Callback) -> u8 {
    match op {
        conf::Callback::CsiSet => 0,
        conf::Callback::CsiRemove => 1,
        conf::Callback::Terminate => 2,
    }
}

fn op_from(v: u8) -> Option<conf::Callback> {
    Some(match v {
        0 => conf::Callback::CsiSet,
        1 => conf::Callback::CsiRemove,
        2 => conf::Callback::Terminate,
        _ => return None,
    })
}

fn ns(ms: u64) -> i64 {
    (ms as i64).saturating_mul(1_000_000)
}

impl State {
    pub fn new(model: Arc<Model>, digest: u64) -> State {
        let mut refs = Vec::new();
        let mut units = Vec::new();
        for (g, sg) in model.sgs.iter().enumerate() {
            for (u, su) in sg.sus.iter().enumerate() {
                let unit = units.len();
                units.push((g, u));
                for c in 0..su.comps.len() {
                    refs.push(CompRef { sg: g, su: u, comp: c, unit });
                }
            }
        }
        let fresh = CompState {
            presence: Presence::Uninstantiated,
            reg: None,
            round: 0,
            attempts: 0,
            register_by: None,
            restarts: Vec::new(),
        };
        State {
            comps: vec![fresh; refs.len()],
            assigned: BTreeMap::new(),
            prev_active: BTreeMap::new(),
            su_restarts: vec![Vec::new(); units.len()],
            switched: BTreeSet::new(),
            refs,
            units,
            model,
            digest,
            time: 0,
            next_invocation: 1,
            joined: BTreeMap::new(),
            pending: BTreeMap::new(),
        }
    }

    pub fn comp_conf(&self, i: usize) -> &super::conf::Comp {
        let r = self.refs[i];
        &self.model.sgs[r.sg].sus[r.su].comps[r.comp]
    }

    pub fn find_comp(&self, dn: &[u8]) -> Option<usize> {
        (0..self.refs.len()).find(|&i| self.comp_conf(i).dn == dn)
    }

    /// The AMF node index hosting unit `u`.
    fn unit_node(&self, u: usize) -> Option<usize> {
        let (g, s) = self.units[u];
        let name = &self.model.sgs[g].sus[s].node;
        self.model.nodes.iter().position(|n| n == name)
    }

    /// The Totem node that joined as the host of unit `u`.
    pub fn unit_host(&self, u: usize) -> Option<NodeId> {
        let amf_node = self.unit_node(u)?;
        self.joined.iter().find(|(_, n)| **n == amf_node).map(|(id, _)| *id)
    }

    fn unit_comps(&self, u: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.refs.len()).filter(move |&i| self.refs[i].unit == u)
    }

    /// Every component of unit `u` is registered, on a joined node.
    fn in_service(&self, u: usize) -> bool {
        self.unit_host(u).is_some() && self.unit_comps(u).all(|c| self.comps[c].presence == Presence::Instantiated)
    }

    /// (SI, index) of the CSI named `csi`.
    fn find_csi(&self, csi: &[u8]) -> Option<(usize, usize)> {
        self.model.sis.iter().enumerate().find_map(|(si, s)| s.csis.iter().position(|x| x.dn == csi).map(|c| (si, c)))
    }

    /// The HA state of `comp` for the CSI named `csi`, if it carries it.
    pub fn ha_state(&self, comp: usize, csi: &[u8]) -> Option<u32> {
        let (si, c) = self.find_csi(csi)?;
        if !self.csis_of(comp).contains(&(si, c)) {
            return None;
        }
        self.assigned.get(&(self.refs[comp].unit, si)).copied()
    }

    /// The protection group of the CSI named `csi`: (component, HA
    /// state, rank) of each assigned carrier; None for an unknown CSI.
    pub fn protection_group(&self, csi: &[u8]) -> Option<Vec<(Vec<u8>, u32, u32)>> {
        let (si, c) = self.find_csi(csi)?;
        let mut members = Vec::new();
        for (&(u, s), &ha) in &self.assigned {
            let Some(comp) = self.carrier(u, si, c).filter(|_| s == si) else { continue };
            let rank = if ha == wire::HA_STANDBY { 1 } else { 0 };
            members.push((self.comp_conf(comp).dn.clone(), ha, rank));
        }
        Some(members)
    }

    /// The CSIs (si, csi) that component `comp` carries when its SU is
    /// assigned: those of its SG's SIs whose CS type it supports (the
    /// first such component of the SU).
    fn csis_of(&self, comp: usize) -> Vec<(usize, usize)> {
        let r = self.refs[comp];
        let su = &self.model.sgs[r.sg].sus[r.su];
        let mut out = Vec::new();
        for (si_i, si) in self.model.sis.iter().enumerate().filter(|(_, s)| s.sg == r.sg) {
            for (c_i, csi) in si.csis.iter().enumerate() {
                let carrier = su.comps.iter().position(|c| c.cs_types.contains(&csi.cs_type)).unwrap_or(0);
                if carrier == r.comp {
                    out.push((si_i, c_i));
                }
            }
        }
        out
    }

    /// The component of unit `u` that carries CSI (si, csi).
    fn carrier(&self, u: usize, si: usize, csi: usize) -> Option<usize> {
        self.unit_comps(u).find(|&c| self.csis_of(c).contains(&(si, csi)))
    }

    /// The unit holding SI `si` in HA state `ha`.
    fn holder(&self, si: usize, ha: u32) -> Option<usize> {
        self.assigned.iter().find(|&(&(_, s), &h)| s == si && h == ha).map(|(&(u, _), _)| u)
    }

    /// How many SIs unit `u` holds in HA state `ha`.
    fn count(&self, u: usize, ha: u32) -> usize {
        self.assigned.iter().filter(|&(&(x, _), &h)| x == u && h == ha).count()
    }

    /// The SIs unit `u` holds, with their HA state.
    fn sis_of(&self, u: usize) -> Vec<(usize, u32)> {
        self.assigned.iter().filter(|&(&(x, _), _)| x == u).map(|(&(_, si), &ha)| (si, ha)).collect()
    }

    /// Applies event `ev` of connection `conn` of `node`: the requester's
    /// error code and what is to be done.
    pub fn apply_event(&mut self, node: NodeId, conn: ConnId, ev: Event, out: &mut Vec<Effect>) -> u32 {
        match ev {
            Event::Join { name, digest } => self.join(node, &name, digest, out),
            Event::Register { comp } => {
                let Some(c) = self.find_comp(&comp) else { return error::NOT_EXIST };
                let u = self.refs[c].unit;
                if self.unit_host(u) != Some(node) {
                    return error::NOT_EXIST;
                }
                if self.comps[c].reg.is_some() || self.comps[c].presence == Presence::Terminating {
                    return error::EXIST;
                }
                let st = &mut self.comps[c];
                st.reg = Some((node, conn));
                st.presence = Presence::Instantiated;
                st.register_by = None;
                st.attempts = 0;
                // A restarted component of an assigned SU gets its CSIs back.
                for (si, ha) in self.sis_of(u) {
                    let peer = if ha == wire::HA_STANDBY { self.holder(si, wire::HA_ACTIVE) } else { None };
                    self.set_comp_csis(c, si, ha, wire::CSI_ADD_ONE, wire::TRANSITION_NEW_ASSIGN, peer, out);
                }
                self.assign(out);
                error::OK
            }
            Event::Unregister { comp } => {
                let Some(c) = self.find_comp(&comp) else { return error::NOT_EXIST };
                if self.comps[c].reg != Some((node, conn)) {
                    return error::NOT_EXIST;
                }
                self.comps[c].reg = None;
                if self.comps[c].presence == Presence::Terminating {
                    // Leaving as it was asked to: the terminate answer follows.
                    return error::OK;
                }
                self.comps[c].presence = Presence::Uninstantiated;
                self.unassign(self.refs[c].unit, out);
                error::OK
            }
            Event::Response { invocation, error: result } => {
                let Some(p) = self.pending.remove(&invocation) else { return error::NOT_EXIST };
                let c = p.comp;
                match p.op {
                    conf::Callback::Terminate if result == error::OK => self.terminated(c, out),
                    conf::Callback::Terminate => {
                        out.push(Effect::Note(format!("component {} refused to terminate", self.dn(c))));
                        self.terminate_failed(c, out);
                    }
                    _ if result != error::OK => {
                        let recovery = self.comp_conf(c).recovery;
                        out.push(Effect::Note(format!("component {} refused its CSI assignment", self.dn(c))));
                        self.failure(c, recovery, out);
                    }
                    conf::Callback::CsiSet => self.finish_quiesces(out),
                    conf::Callback::CsiRemove => {}
                }
                error::OK
            }
            Event::ErrorReport { comp, recovery } => {
                let Some(c) = self.find_comp(&comp) else { return error::NOT_EXIST };
                if self.comps[c].presence != Presence::Instantiated {
                    return error::NOT_EXIST;
                }
                out.push(Effect::Note(format!("error reported on {}", self.dn(c))));
                self.failure(c, recovery, out);
                error::OK
            }
            Event::ClcDone { comp, round, kind, ok } => {
                let c = comp as usize;
                if c >= self.comps.len() || self.comps[c].round != round {
                    return error::OK; // stale
                }
                self.clc_done(c, kind, ok, out);
                error::OK
            }
            Event::Detected { comp, recovery } => {
                let c = comp as usize;
                if c < self.comps.len() && self.comps[c].presence == Presence::Instantiated {
                    out.push(Effect::Note(format!("error detected on {} (healthcheck or process)", self.dn(c))));
                    self.failure(c, recovery, out);
                }
                error::OK
            }
        }
    }

    fn dn(&self, c: usize) -> String {
        String::from_utf8_lossy(&self.comp_conf(c).dn).into_owned()
    }

    fn join(&mut self, node: NodeId, name: &[u8], digest: u64, out: &mut Vec<Effect>) -> u32 {
        let shown = String::from_utf8_lossy(name);
        let Some(i) = self.model.nodes.iter().position(|n| n.as_bytes() == name) else {
            return error::NOT_EXIST;
        };
        if digest != self.digest {
            out.push(Effect::Note(format!("node {node} ({shown}) has a different AMF configuration: not joined")));
            return error::INVALID_PARAM;
        }
        if let Some((other, _)) = self.joined.iter().find(|(id, n)| **n == i && **id != node) {
            out.push(Effect::Note(format!("node {node} claims AMF node {shown}, already node {other}")));
            return error::EXIST;
        }
        if self.joined.insert(node, i) == Some(i) {
            return error::OK;
        }
        out.push(Effect::Note(format!("node {node} joined as AMF node {shown}")));
        // Cleanup first: a component left over from an executive that
        // died (or from the losing side of a partition) must not run
        // twice.
        for u in 0..self.units.len() {
            if self.unit_node(u) == Some(i) {
                for c in self.unit_comps(u).collect::<Vec<_>>() {
                    if matches!(self.comps[c].presence, Presence::Uninstantiated | Presence::InstantiationFailed) {
                        self.comps[c].attempts = 0;
                        self.restart(c, out);
                    }
                }
            }
        }
        error::OK
    }

    /// Runs the instantiate command (the host reports the outcome).
    fn instantiate(&mut self, c: usize, host: NodeId, out: &mut Vec<Effect>) {
        let timeout = ns(self.comp_conf(c).clc_timeout(Kind::Instantiate).max(1));
        let st = &mut self.comps[c];
        st.round = st.round.wrapping_add(1);
        st.presence = Presence::Instantiating;
        // The command's own time, and as long again to register.
        st.register_by = Some(self.time.saturating_add(timeout.saturating_mul(2)));
        out.push(Effect::Instantiate { node: host, comp: c, round: st.round });
    }

    fn clc_done(&mut self, c: usize, kind: Kind, ok: bool, out: &mut Vec<Effect>) {
        let u = self.refs[c].unit;
        let Some(host) = self.unit_host(u) else { return };
        match (self.comps[c].presence, kind) {
            (Presence::Restarting, Kind::Cleanup) => {
                if !ok {
                    out.push(Effect::Note(format!("cleanup of {} failed", self.dn(c))));
                }
                self.instantiate(c, host, out);
            }
            (Presence::Instantiating, Kind::Instantiate) if !ok => self.instantiation_failed(c, host, out),
            (Presence::Terminating, Kind::Terminate) if ok => self.instantiate(c, host, out),
            (Presence::Terminating, Kind::Terminate) => {
                out.push(Effect::Note(format!("terminate command of {} failed: cleanup", self.dn(c))));
                self.restart(c, out);
            }
            _ => {}
        }
    }

    fn instantiation_failed(&mut self, c: usize, host: NodeId, out: &mut Vec<Effect>) {
        let st = &mut self.comps[c];
        st.attempts += 1;
        st.register_by = None;
        let max = self.comp_conf(c).max_instantiate;
        if self.comps[c].attempts < max {
            out.push(Effect::Note(format!("instantiation of {} failed, retrying", self.dn(c))));
            self.comps[c].presence = Presence::Restarting;
            let round = self.comps[c].round;
            out.push(Effect::Cleanup { node: host, comp: c, round });
        } else {
            out.push(Effect::Note(format!("instantiation of {} failed {max} times: given up", self.dn(c))));
            self.comps[c].presence = Presence::InstantiationFailed;
            self.unassign(self.refs[c].unit, out);
        }
    }

    /// An error of component `c`; `recovery` as recommended
    /// (`NO_RECOMMENDATION`: the configured one), escalated per the SG:
    /// more than `saAmfSGCompRestartMax` component restarts within
    /// `saAmfSGCompRestartProb` make an SU restart, more than
    /// `saAmfSGSuRestartMax` SU restarts within `saAmfSGSuRestartProb` an
    /// SU failover.
    fn failure(&mut self, c: usize, recovery: u32, out: &mut Vec<Effect>) {
        let r = self.refs[c];
        let u = r.unit;
        let sg = &self.model.sgs[r.sg];
        let recovery = if recovery == wire::NO_RECOMMENDATION { self.comp_conf(c).recovery } else { recovery };
        self.pending.retain(|_, p| p.comp != c);
        if recovery == wire::COMPONENT_RESTART {
            let since = self.time.saturating_sub(ns(sg.comp_restart_prob_ms));
            let st = &mut self.comps[c];
            st.restarts.retain(|t| *t > since);
            if (st.restarts.len() as u32) < sg.comp_restart_max {
                st.restarts.push(self.time);
                out.push(Effect::Note(format!("restarting {}", self.dn(c))));
                self.restart(c, out);
                return;
            }
            let since = self.time.saturating_sub(ns(sg.su_restart_prob_ms));
            let times = &mut self.su_restarts[u];
            times.retain(|t| *t > since);
            if (times.len() as u32) < sg.su_restart_max {
                times.push(self.time);
                out.push(Effect::Note(format!("{} restarted too often: restarting its SU", self.dn(c))));
                // The SU keeps its assignments: its components get their
                // CSIs back as they register again.
                self.stop_unit(u, c, out);
                return;
            }
            out.push(Effect::Note(format!("the SU of {} restarted too often: failover", self.dn(c))));
        }
        // Failover of the whole SU; the node-level recoveries act on the
        // other SUs of its node too: failed over (node failover,
        // failfast: the node cannot be rebooted from here) or switched
        // over (their ACTIVE assignments quiesced, then taken over).
        out.push(Effect::Note(format!("failing over the SU of {}", self.dn(c))));
        self.su_restarts[u].clear();
        self.stop_unit(u, c, out);
        self.unassign(u, out);
        let Some(host) = self.unit_host(u) else { return };
        let others: Vec<usize> = (0..self.units.len()).filter(|&v| v != u && self.unit_host(v) == Some(host)).collect();
        match recovery {
            wire::NODE_FAILOVER | wire::NODE_FAILFAST => {
                for v in others {
                    self.stop_unit(v, usize::MAX, out);
                    self.unassign(v, out);
                }
            }
            wire::NODE_SWITCHOVER => {
                for v in others {
                    self.switch_over(v, out);
                }
            }
            _ => {}
        }
    }

    /// Unit `u` gives up its ACTIVE assignments in order: each is set
    /// QUIESCED; once its components answered, the STANDBY takes it over
    /// ([`State::finish_quiesces`]).
    fn switch_over(&mut self, u: usize, out: &mut Vec<Effect>) {
        let actives: Vec<usize> =
            self.sis_of(u).into_iter().filter(|&(_, ha)| ha == wire::HA_ACTIVE).map(|(si, _)| si).collect();
        for si in actives {
            out.push(Effect::Note(format!("switching over SI {}", self.model.sis[si].name)));
            self.assigned.insert((u, si), wire::HA_QUIESCED);
            self.set_csis(u, si, wire::HA_QUIESCED, wire::CSI_TARGET_ONE, 0, None, out);
        }
        self.finish_quiesces(out);
    }

    /// Quiesced assignments whose components all answered are removed;
    /// their SIs are taken over.
    fn finish_quiesces(&mut self, out: &mut Vec<Effect>) {
        let waiting = |s: &State, u: usize| {
            s.pending.values().any(|p| p.op == conf::Callback::CsiSet && s.refs[p.comp].unit == u)
        };
        let done: Vec<(usize, usize)> = self
            .assigned
            .iter()
            .filter(|&(&(u, _), &ha)| ha == wire::HA_QUIESCED && !waiting(self, u))
            .map(|(&k, _)| k)
            .collect();
        if done.is_empty() {
            return;
        }
        for (u, si) in done {
            self.remove_assignment(u, si, out);
            self.prev_active.insert(si, u);
            self.switched.insert(si);
        }
        self.assign(out);
    }

    /// Every component of unit `u` is stopped, then instantiated again:
    /// the failed one (`failed`) and those not running cleaned up, the
    /// others terminated.
    fn stop_unit(&mut self, u: usize, failed: usize, out: &mut Vec<Effect>) {
        for comp in self.unit_comps(u).collect::<Vec<_>>() {
            self.comps[comp].restarts.clear();
            if comp != failed && self.comps[comp].presence == Presence::Instantiated {
                self.terminate(comp, out);
            } else {
                self.restart(comp, out);
            }
        }
    }

    /// Cleanup, then instantiation, of component `c`.
    fn restart(&mut self, c: usize, out: &mut Vec<Effect>) {
        let Some(host) = self.unit_host(self.refs[c].unit) else { return };
        self.pending.retain(|_, p| p.comp != c);
        let st = &mut self.comps[c];
        st.reg = None;
        st.register_by = None;
        st.round = st.round.wrapping_add(1);
        st.presence = Presence::Restarting;
        out.push(Effect::Cleanup { node: host, comp: c, round: st.round });
    }

    /// Orderly termination of a healthy component, then instantiation:
    /// the terminate callback for a registered (SA-aware) component; the
    /// terminate command if there is none or it fails; cleanup if that
    /// fails or none is configured.
    fn terminate(&mut self, c: usize, out: &mut Vec<Effect>) {
        if self.unit_host(self.refs[c].unit).is_none() {
            return;
        }
        self.pending.retain(|_, p| p.comp != c);
        let st = &mut self.comps[c];
        st.round = st.round.wrapping_add(1);
        st.presence = Presence::Terminating;
        st.register_by = None;
        match st.reg {
            Some((node, conn)) => {
                let invocation = self.expect(c, conf::Callback::Terminate);
                let comp = self.comp_conf(c).dn.clone();
                out.push(Effect::Tell { node, conn, callback: Callback::Terminate { invocation, comp } });
            }
            None => self.terminate_command(c, out),
        }
    }

    /// The terminate callback was refused or not answered in time.
    fn terminate_failed(&mut self, c: usize, out: &mut Vec<Effect>) {
        self.comps[c].reg = None;
        self.terminate_command(c, out);
    }

    fn terminate_command(&mut self, c: usize, out: &mut Vec<Effect>) {
        let Some(host) = self.unit_host(self.refs[c].unit) else { return };
        if self.comp_conf(c).terminate.is_some() {
            out.push(Effect::Terminate { node: host, comp: c, round: self.comps[c].round });
        } else {
            self.restart(c, out);
        }
    }

    /// Component `c` answered its terminate callback: it is gone (it
    /// exits on its own) and is instantiated again.
    fn terminated(&mut self, c: usize, out: &mut Vec<Effect>) {
        out.push(Effect::Note(format!("component {} terminated", self.dn(c))));
        self.comps[c].reg = None;
        if let Some(host) = self.unit_host(self.refs[c].unit) {
            self.instantiate(c, host, out);
        }
    }

    /// A callback to `c` that must be answered: its invocation, due per
    /// the component's callback timeout.
    fn expect(&mut self, c: usize, op: conf::Callback) -> u64 {
        let invocation = self.next_invocation;
        self.next_invocation += 1;
        let due = self.time.saturating_add(ns(self.comp_conf(c).callback_timeout(op)));
        self.pending.insert(invocation, Pending { comp: c, op, due });
        invocation
    }

    /// Unit `u` loses its assignments (no callback: its components are
    /// being cleaned up or terminated); the others take over.
    fn unassign(&mut self, u: usize, out: &mut Vec<Effect>) {
        self.drop_assignments(u);
        let refs = &self.refs;
        self.pending.retain(|_, p| refs[p.comp].unit != u || p.op == conf::Callback::Terminate);
        self.assign(out);
    }

    fn drop_assignments(&mut self, u: usize) {
        for (si, ha) in self.sis_of(u) {
            if matches!(ha, wire::HA_ACTIVE | wire::HA_QUIESCED) {
                self.prev_active.insert(si, u);
            }
            self.assigned.remove(&(u, si));
        }
    }

    /// The assignment rules, for every SG (see [`State::assign_sg`]).
    pub fn assign(&mut self, out: &mut Vec<Effect>) {
        for g in 0..self.model.sgs.len() {
            self.assign_sg(g, out);
        }
    }

    /// The rules of 2N, N+M and no-redundancy, as one: every SI has one
    /// ACTIVE assignment and (2N, N+M) one STANDBY, on different SUs;
    /// an SU carries only ACTIVE or only STANDBY assignments, at most
    /// the SG's SIs per SU; at most the preferred number of SUs are
    /// active and standby ([`conf::Sg::limits`]). SIs are served in rank
    /// order, SUs chosen in rank order (the least loaded first). An SI
    /// that lost its ACTIVE is taken over by its STANDBY.
    fn assign_sg(&mut self, g: usize, out: &mut Vec<Effect>) {
        let lim = self.model.sgs[g].limits();
        let rank = |r: u32| if r == 0 { u32::MAX } else { r };
        let mut sis: Vec<usize> = (0..self.model.sis.len()).filter(|&i| self.model.sis[i].sg == g).collect();
        sis.sort_by_key(|&i| (rank(self.model.sis[i].rank), i));
        let mut units: Vec<usize> = (0..self.units.len()).filter(|&u| self.units[u].0 == g).collect();
        units.sort_by_key(|&u| (rank(self.model.sgs[g].sus[self.units[u].1].rank), u));
        let (active, standby) = (wire::HA_ACTIVE, wire::HA_STANDBY);
        // Takeover by the STANDBY.
        let quiesced = wire::HA_QUIESCED;
        for &si in &sis {
            if self.holder(si, active).is_some() || self.holder(si, quiesced).is_some() {
                continue;
            }
            let Some(s) = self.holder(si, standby) else { continue };
            if !self.in_service(s) || self.count(s, active) >= lim.active_per_su {
                continue;
            }
            self.assigned.insert((s, si), active);
            let prev = self.prev_active.remove(&si);
            let transition =
                if self.switched.remove(&si) { wire::TRANSITION_QUIESCED } else { wire::TRANSITION_NOT_QUIESCED };
            self.set_csis(s, si, active, wire::CSI_TARGET_ONE, transition, prev, out);
        }
        // An SU that took over drops its other STANDBY assignments.
        for &u in &units {
            if self.count(u, active) > 0 {
                for (si, _) in self.sis_of(u).into_iter().filter(|&(_, ha)| ha == standby) {
                    self.remove_assignment(u, si, out);
                }
            }
        }
        for &si in &sis {
            if self.holder(si, active).is_some() || self.holder(si, quiesced).is_some() {
                continue;
            }
            let active_sus = units.iter().filter(|&&u| self.count(u, active) > 0).count();
            let pick = units
                .iter()
                .copied()
                .filter(|&u| self.in_service(u) && self.count(u, standby) == 0)
                .filter(|&u| {
                    let n = self.count(u, active);
                    n < lim.active_per_su && (n > 0 || active_sus < lim.active_sus)
                })
                .min_by_key(|&u| self.count(u, active));
            let Some(u) = pick else { continue };
            self.assigned.insert((u, si), active);
            self.prev_active.remove(&si);
            self.switched.remove(&si);
            self.set_csis(u, si, active, wire::CSI_ADD_ONE, wire::TRANSITION_NEW_ASSIGN, None, out);
        }
        for &si in &sis {
            let Some(a) = self.holder(si, active) else { continue };
            if self.holder(si, standby).is_some() {
                continue;
            }
            let standby_sus = units.iter().filter(|&&u| self.count(u, standby) > 0).count();
            let active_node = self.unit_host(a);
            let pick = units
                .iter()
                .copied()
                .filter(|&u| u != a && self.in_service(u) && self.count(u, active) == 0)
                .filter(|&u| {
                    let n = self.count(u, standby);
                    n < lim.standby_per_su && (n > 0 || standby_sus < lim.standby_sus)
                })
                .min_by_key(|&u| (self.unit_host(u) == active_node, self.count(u, standby)));
            let Some(u) = pick else { continue };
            self.assigned.insert((u, si), standby);
            self.set_csis(u, si, standby, wire::CSI_ADD_ONE, 0, Some(a), out);
        }
    }

    /// Removes the assignment of SI `si` from unit `u`, telling its
    /// components (`saAmfCSIRemoveCallback`).
    fn remove_assignment(&mut self, u: usize, si: usize, out: &mut Vec<Effect>) {
        self.assigned.remove(&(u, si));
        for c in self.unit_comps(u).collect::<Vec<_>>() {
            let Some((node, conn)) = self.comps[c].reg else { continue };
            for (_, csi) in self.csis_of(c).into_iter().filter(|&(s, _)| s == si) {
                let invocation = self.expect(c, conf::Callback::CsiRemove);
                let callback = Callback::CsiRemove {
                    invocation,
                    comp: self.comp_conf(c).dn.clone(),
                    csi: self.model.sis[si].csis[csi].dn.clone(),
                    flags: wire::CSI_TARGET_ONE,
                };
                out.push(Effect::Tell { node, conn, callback });
            }
        }
    }

    /// Tells the components of unit `u` their HA state for SI `si`;
    /// `peer` is the unit whose components are named as the active ones
    /// (for a STANDBY: the ACTIVE; for a takeover: the failed one).
    #[allow(clippy::too_many_arguments)]
    fn set_csis(
        &mut self,
        u: usize,
        si: usize,
        ha: u32,
        flags: u32,
        transition: u32,
        peer: Option<usize>,
        out: &mut Vec<Effect>,
    ) {
        for c in self.unit_comps(u).collect::<Vec<_>>() {
            self.set_comp_csis(c, si, ha, flags, transition, peer, out);
        }
    }

    /// [`State::set_csis`] for component `c` (if registered).
    #[allow(clippy::too_many_arguments)]
    fn set_comp_csis(
        &mut self,
        c: usize,
        si: usize,
        ha: u32,
        flags: u32,
        transition: u32,
        peer: Option<usize>,
        out: &mut Vec<Effect>,
    ) {
        let Some((node, conn)) = self.comps[c].reg else { return };
        for (_, csi) in self.csis_of(c).into_iter().filter(|&(s, _)| s == si) {
            let csi_conf = &self.model.sis[si].csis[csi];
            let active_comp =
                peer.and_then(|p| self.carrier(p, si, csi)).map(|o| self.comp_conf(o).dn.clone()).unwrap_or_default();
            let descriptor = CsiDescriptor {
                flags,
                csi: csi_conf.dn.clone(),
                transition: if ha == wire::HA_ACTIVE { transition } else { 0 },
                active_comp,
                standby_rank: if ha == wire::HA_STANDBY { 1 } else { 0 },
                attrs: csi_conf.attrs.iter().map(|(k, v)| (k.clone().into_bytes(), v.clone().into_bytes())).collect(),
            };
            let invocation = self.expect(c, conf::Callback::CsiSet);
            let comp = self.comp_conf(c).dn.clone();
            out.push(Effect::Tell { node, conn, callback: Callback::CsiSet { invocation, comp, ha, csi: descriptor } });
        }
    }

    /// Connection `conn` of `node` closed: a component it registered
    /// failed (unless it unregistered first, or was terminating).
    pub fn closed(&mut self, node: NodeId, conn: ConnId, out: &mut Vec<Effect>) {
        let Some(c) = self.comps.iter().position(|s| s.reg == Some((node, conn))) else { return };
        if self.comps[c].presence == Presence::Terminating {
            // It left without answering the terminate callback: make sure.
            out.push(Effect::Note(format!("component {} exited while terminating", self.dn(c))));
            self.restart(c, out);
            return;
        }
        out.push(Effect::Note(format!("component {} is gone (its connection closed)", self.dn(c))));
        let recovery = self.comp_conf(c).recovery;
        self.failure(c, recovery, out);
    }

    /// Nodes not in `members` are gone: their units fail over.
    pub fn left(&mut self, members: &[NodeId], out: &mut Vec<Effect>) {
        let gone: Vec<NodeId> = self.joined.keys().copied().filter(|n| !members.contains(n)).collect();
        if gone.is_empty() {
            return;
        }
        let units: Vec<usize> =
            (0..self.units.len()).filter(|&u| self.unit_host(u).is_some_and(|h| gone.contains(&h))).collect();
        for n in &gone {
            self.joined.remove(n);
            out.push(Effect::Note(format!("node {n} left: its service units fail over")));
        }
        for &u in &units {
            for c in self.unit_comps(u).collect::<Vec<_>>() {
                let st = &mut self.comps[c];
                st.reg = None;
                st.register_by = None;
                st.presence = Presence::Uninstantiated;
                st.restarts.clear();
            }
            let refs = &self.refs;
            self.pending.retain(|_, p| refs[p.comp].unit != u);
            self.drop_assignments(u);
        }
        self.assign(out);
    }

    /// The membership is `members` again, at the end of a sync whose
    /// merged cluster time is `time`: cluster time moves on, the units of
    /// the nodes gone fail over, SIs without an assignment get one. No
    /// time here is now (the last event may be older than a callback
    /// timeout), so the callbacks made here are [`UNTIMED`].
    pub fn merged(&mut self, members: &[NodeId], time: i64, out: &mut Vec<Effect>) {
        let first = self.next_invocation;
        if time > self.time {
            self.advance(time, out);
        }
        self.left(members, out);
        self.assign(out);
        for p in self.pending.range_mut(first..).map(|(_, p)| p) {
            p.due = UNTIMED;
        }
    }

    /// The timers of the [`UNTIMED`] callbacks start at cluster time
    /// `time` (of the first ordered event after their membership change).
    pub fn start_timers(&mut self, time: i64) {
        for i in 0..self.comps.len() {
            let r = self.refs[i];
            let conf = &self.model.sgs[r.sg].sus[r.su].comps[r.comp];
            for p in self.pending.values_mut().filter(|p| p.comp == i && p.due == UNTIMED) {
                p.due = time.saturating_add(ns(conf.callback_timeout(p.op)));
            }
        }
    }

    /// The earliest cluster time at which [`State::advance`] changes
    /// something; now (the state's time) while a callback is [`UNTIMED`],
    /// so that an ordered tick starts its timer.
    pub fn next_deadline(&self) -> Option<i64> {
        let registers = self.comps.iter().filter_map(|c| c.register_by);
        let dues = self.pending.values().map(|p| if p.due == UNTIMED { self.time } else { p.due });
        registers.chain(dues).min()
    }

    /// Cluster time moves to `time`: components that did not register in
    /// time failed to instantiate; callbacks not answered in time are
    /// errors of their component.
    pub fn advance(&mut self, time: i64, out: &mut Vec<Effect>) {
        self.time = time;
        for c in 0..self.comps.len() {
            if self.comps[c].register_by.is_some_and(|t| t <= time) {
                let Some(host) = self.unit_host(self.refs[c].unit) else {
                    self.comps[c].register_by = None;
                    continue;
                };
                self.instantiation_failed(c, host, out);
            }
        }
        let late: Vec<u64> = self.pending.iter().filter(|(_, p)| p.due <= time).map(|(i, _)| *i).collect();
        for invocation in late {
            // An earlier recovery in this loop may have dropped it.
            let Some(p) = self.pending.remove(&invocation) else { continue };
            let what = match p.op {
                conf::Callback::CsiSet => "CSI set",
                conf::Callback::CsiRemove => "CSI remove",
                conf::Callback::Terminate => "terminate",
            };
            let ms = self.comp_conf(p.comp).callback_timeout(p.op);
            out.push(Effect::Note(format!("{} did not answer its {what} callback within {ms} ms", self.dn(p.comp))));
            match p.op {
                conf::Callback::Terminate => self.terminate_failed(p.comp, out),
                _ if self.comps[p.comp].presence == Presence::Instantiated => {
                    self.failure(p.comp, wire::NO_RECOMMENDATION, out)
                }
                _ => {}
            }
        }
    }

    // --- sync: the dynamic part as one item ---

    pub fn encode_dynamic(&self, w: &mut Writer) {
        w.u64(self.next_invocation).u32(self.joined.len() as u32);
        for (n, i) in &self.joined {
            w.u32(*n).u32(*i as u32);
        }
        w.u32(self.comps.len() as u32);
        for c in &self.comps {
            w.u8(c.presence as u8).bool(c.reg.is_some());
            let (n, conn) = c.reg.unwrap_or((0, ConnId(0)));
            w.u32(n).u64(conn.0).u32(c.round).u32(c.attempts).bool(c.register_by.is_some());
            w.i64(c.register_by.unwrap_or(0)).u32(c.restarts.len() as u32);
            for t in &c.restarts {
                w.i64(*t);
            }
        }
        w.u32(self.assigned.len() as u32);
        for (&(u, si), &ha) in &self.assigned {
            w.u32(u as u32).u32(si as u32).u32(ha);
        }
        w.u32(self.pending.len() as u32);
        for (inv, p) in &self.pending {
            w.u64(*inv).u32(p.comp as u32).u8(op_code(p.op)).i64(p.due);
        }
        w.u32(self.prev_active.len() as u32);
        for (&si, &u) in &self.prev_active {
            w.u32(si as u32).u32(u as u32);
        }
        for times in &self.su_restarts {
            w.u32(times.len() as u32);
            for t in times {
                w.i64(*t);
            }
        }
        w.u32(self.switched.len() as u32);
        for si in &self.switched {
            w.u32(*si as u32);
        }
    }

    /// This state with the dynamic part read from `item` (same model).
    pub fn decode_dynamic(&self, item: &[u8]) -> Result<State, DecodeError> {
        let mut s = self.clone();
        let mut r = Reader::new(item);
        let bad = |what: &'static str, v: u64| DecodeError::BadValue { what, value: v };
        s.next_invocation = r.u64("invocation")?;
        s.joined.clear();
        for _ in 0..r.count(self.model.nodes.len(), 8, "joined")? {
            let (n, i) = (r.u32("node")?, r.u32("amf node")? as usize);
            if i >= self.model.nodes.len() {
                return Err(bad("amf node", i as u64));
            }
            s.joined.insert(n, i);
        }
        let n = r.count(self.comps.len(), 30, "components")?;
        if n != self.comps.len() {
            return Err(bad("component count", n as u64));
        }
        for c in s.comps.iter_mut() {
            let p = r.u8("presence")?;
            c.presence = Presence::from_u8(p).ok_or(bad("presence", p.into()))?;
            let has = r.bool("registered")?;
            let (node, conn) = (r.u32("node")?, ConnId(r.u64("conn")?));
            c.reg = has.then_some((node, conn));
            c.round = r.u32("round")?;
            c.attempts = r.u32("attempts")?;
            let due = r.bool("deadline")?;
            let t = r.i64("deadline")?;
            c.register_by = due.then_some(t);
            let k = r.count(1024, 8, "restarts")?;
            c.restarts = (0..k).map(|_| r.i64("restart")).collect::<Result<_, _>>()?;
        }
        let (units, sis) = (self.units.len(), self.model.sis.len());
        s.assigned.clear();
        for _ in 0..r.count(units.saturating_mul(sis), 12, "assignments")? {
            let (u, si, ha) = (r.u32("unit")? as usize, r.u32("si")? as usize, r.u32("ha")?);
            if u >= units || si >= sis || self.model.sis[si].sg != self.units[u].0 {
                return Err(bad("assignment", u as u64));
            }
            if !matches!(ha, wire::HA_ACTIVE | wire::HA_STANDBY | wire::HA_QUIESCED) {
                return Err(bad("ha", ha.into()));
            }
            s.assigned.insert((u, si), ha);
        }
        s.pending.clear();
        for _ in 0..r.count(1 << 16, 21, "pending")? {
            let (inv, c) = (r.u64("invocation")?, r.u32("component")? as usize);
            let op = r.u8("callback")?;
            let due = r.i64("due")?;
            if c >= s.comps.len() {
                return Err(bad("component", c as u64));
            }
            let op = op_from(op).ok_or(bad("callback", op.into()))?;
            s.pending.insert(inv, Pending { comp: c, op, due });
        }
        s.prev_active.clear();
        for _ in 0..r.count(sis, 8, "previous actives")? {
            let (si, u) = (r.u32("si")? as usize, r.u32("unit")? as usize);
            if si >= sis || u >= units {
                return Err(bad("previous active", si as u64));
            }
            s.prev_active.insert(si, u);
        }
        for times in s.su_restarts.iter_mut() {
            let k = r.count(1024, 8, "su restarts")?;
            *times = (0..k).map(|_| r.i64("su restart")).collect::<Result<_, _>>()?;
        }
        s.switched.clear();
        for _ in 0..r.count(sis, 4, "switched")? {
            let si = r.u32("si")? as usize;
            if si >= sis {
                return Err(bad("switched si", si as u64));
            }
            s.switched.insert(si);
        }
        r.finish()?;
        Ok(s)
    }
}
