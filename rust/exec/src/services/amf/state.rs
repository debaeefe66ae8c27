//! The replicated AMF state: which node joined as which AMF node, the
//! presence and registration of every component, the HA state of every
//! service unit, the CSI assignments waiting for `saAmfResponse`. Every
//! change is made by an ordered event ([`State::apply_event`]), so every
//! node holds the same state and knows who is ACTIVE.
//!
//! Owns: the 2N assignment rules and the recovery (restart, failover,
//! escalation). Must not: run commands or talk to clients: what is to be
//! done on some node is returned as [`Effect`]s, which the node concerned
//! carries out (`super::Amf`).

use std::collections::BTreeMap;
use std::sync::Arc;

use ais_ipc::amf::{self as wire, Callback, CsiDescriptor};
use ais_ipc::{DecodeError, Reader, Writer, error};

use super::conf::Model;
use crate::ordering::NodeId;
use crate::service::ConnId;

/// Where a component is in its life cycle (`SaAmfPresenceStateT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    Uninstantiated = 1,
    Instantiating = 2,
    Instantiated = 3,
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
            5 => Presence::Restarting,
            6 => Presence::InstantiationFailed,
            _ => return None,
        })
    }
}

/// Instantiation attempts before the component is given up.
pub const MAX_INSTANTIATE: u32 = 3;

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
        cleanup: bool,
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
    /// HA state of each unit (`wire::HA_*`), None when unassigned.
    pub ha: Vec<Option<u32>>,
    /// CSI assignments waiting for the component's response: invocation
    /// -> component.
    pub pending: BTreeMap<u64, usize>,
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
            ha: vec![None; units.len()],
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

    fn in_service(&self, u: usize) -> bool {
        self.unit_comps(u).all(|c| self.comps[c].presence == Presence::Instantiated)
    }

    /// The HA state of `comp` for the CSI named `csi`, if it carries it.
    pub fn ha_state(&self, comp: usize, csi: &[u8]) -> Option<u32> {
        let r = self.refs[comp];
        let ha = self.ha[r.unit]?;
        let carries = self.csis_of(comp).iter().any(|&(si, c)| self.model.sis[si].csis[c].dn == csi);
        carries.then_some(ha)
    }

    /// The protection group of the CSI named `csi`: (component, HA
    /// state, rank) of each assigned carrier; None for an unknown CSI.
    pub fn protection_group(&self, csi: &[u8]) -> Option<Vec<(Vec<u8>, u32, u32)>> {
        let (si, c) = self
            .model
            .sis
            .iter()
            .enumerate()
            .find_map(|(si, s)| s.csis.iter().position(|x| x.dn == csi).map(|c| (si, c)))?;
        let mut members = Vec::new();
        for u in 0..self.units.len() {
            let (Some(ha), Some(comp)) = (self.ha[u], self.carrier(u, si, c)) else { continue };
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

    fn other_unit(&self, u: usize) -> Option<usize> {
        let sg = self.units[u].0;
        (0..self.units.len()).find(|&o| o != u && self.units[o].0 == sg)
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
                if self.comps[c].reg.is_some() {
                    return error::EXIST;
                }
                let st = &mut self.comps[c];
                st.reg = Some((node, conn));
                st.presence = Presence::Instantiated;
                st.register_by = None;
                st.attempts = 0;
                // A restarted component of an assigned SU gets its CSIs back.
                if let Some(ha) = self.ha[u] {
                    self.set_csis(c, ha, wire::CSI_ADD_ONE, wire::TRANSITION_NEW_ASSIGN, out);
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
                self.comps[c].presence = Presence::Uninstantiated;
                self.unassign(self.refs[c].unit, out);
                error::OK
            }
            Event::Response { invocation, error: result } => {
                let Some(c) = self.pending.remove(&invocation) else { return error::NOT_EXIST };
                if result != error::OK {
                    let recovery = self.comp_conf(c).recovery;
                    out.push(Effect::Note(format!("component {} refused its CSI assignment", self.dn(c))));
                    self.failure(c, recovery, out);
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
            Event::ClcDone { comp, round, cleanup, ok } => {
                let c = comp as usize;
                if c >= self.comps.len() || self.comps[c].round != round {
                    return error::OK; // stale
                }
                self.clc_done(c, cleanup, ok, out);
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
        let timeout = ns(self.comp_conf(c).clc_timeout_ms.max(1));
        let st = &mut self.comps[c];
        st.round = st.round.wrapping_add(1);
        st.presence = Presence::Instantiating;
        // The command's own time, and as long again to register.
        st.register_by = Some(self.time.saturating_add(timeout.saturating_mul(2)));
        out.push(Effect::Instantiate { node: host, comp: c, round: st.round });
    }

    fn clc_done(&mut self, c: usize, cleanup: bool, ok: bool, out: &mut Vec<Effect>) {
        let u = self.refs[c].unit;
        let Some(host) = self.unit_host(u) else { return };
        match (self.comps[c].presence, cleanup) {
            (Presence::Restarting, true) => {
                if !ok {
                    out.push(Effect::Note(format!("cleanup of {} failed", self.dn(c))));
                }
                self.instantiate(c, host, out);
            }
            (Presence::Instantiating, false) if !ok => self.instantiation_failed(c, host, out),
            _ => {}
        }
    }

    fn instantiation_failed(&mut self, c: usize, host: NodeId, out: &mut Vec<Effect>) {
        let st = &mut self.comps[c];
        st.attempts += 1;
        st.register_by = None;
        if st.attempts < MAX_INSTANTIATE {
            out.push(Effect::Note(format!("instantiation of {} failed, retrying", self.dn(c))));
            self.comps[c].presence = Presence::Restarting;
            let round = self.comps[c].round;
            out.push(Effect::Cleanup { node: host, comp: c, round });
        } else {
            out.push(Effect::Note(format!("instantiation of {} failed {MAX_INSTANTIATE} times: given up", self.dn(c))));
            self.comps[c].presence = Presence::InstantiationFailed;
            self.unassign(self.refs[c].unit, out);
        }
    }

    /// An error of component `c`; `recovery` as recommended
    /// (`NO_RECOMMENDATION`: the configured one), escalated per the SG.
    fn failure(&mut self, c: usize, recovery: u32, out: &mut Vec<Effect>) {
        let r = self.refs[c];
        let sg = &self.model.sgs[r.sg];
        let mut recovery = if recovery == wire::NO_RECOMMENDATION { self.comp_conf(c).recovery } else { recovery };
        self.pending.retain(|_, p| *p != c);
        if recovery == wire::COMPONENT_RESTART {
            let since = self.time.saturating_sub(ns(sg.comp_restart_prob_ms));
            let st = &mut self.comps[c];
            st.restarts.retain(|t| *t > since);
            if st.restarts.len() as u32 >= sg.comp_restart_max {
                out.push(Effect::Note(format!("{} restarted too often: failover", self.dn(c))));
                recovery = wire::COMPONENT_FAILOVER;
            } else {
                st.restarts.push(self.time);
            }
        }
        if recovery == wire::COMPONENT_RESTART {
            out.push(Effect::Note(format!("restarting {}", self.dn(c))));
            self.restart(c, out);
            return;
        }
        // Failover of the whole SU (node-level recoveries act on this SU
        // only: other SUs of the node are left alone).
        let u = r.unit;
        out.push(Effect::Note(format!("failing over the SU of {}", self.dn(c))));
        for comp in self.unit_comps(u).collect::<Vec<_>>() {
            self.comps[comp].restarts.clear();
            self.restart(comp, out);
        }
        self.unassign(u, out);
    }

    /// Cleanup, then instantiation, of component `c`.
    fn restart(&mut self, c: usize, out: &mut Vec<Effect>) {
        let Some(host) = self.unit_host(self.refs[c].unit) else { return };
        let st = &mut self.comps[c];
        st.reg = None;
        st.register_by = None;
        st.round = st.round.wrapping_add(1);
        st.presence = Presence::Restarting;
        out.push(Effect::Cleanup { node: host, comp: c, round: st.round });
    }

    /// Unit `u` loses its assignment; the other takes over.
    fn unassign(&mut self, u: usize, out: &mut Vec<Effect>) {
        if self.ha[u].take().is_some() {
            self.pending.retain(|_, c| self.refs[*c].unit != u);
        }
        self.assign(out);
    }

    /// The 2N rules: every SG has one ACTIVE SU (the STANDBY one is
    /// promoted when the ACTIVE one is gone) and, when another SU is in
    /// service, one STANDBY.
    pub fn assign(&mut self, out: &mut Vec<Effect>) {
        for u in 0..self.units.len() {
            let other = self.other_unit(u);
            let other_ha = other.and_then(|o| self.ha[o]);
            match (self.ha[u], other_ha) {
                (Some(wire::HA_STANDBY), None) if self.in_service(u) => {
                    self.ha[u] = Some(wire::HA_ACTIVE);
                    for c in self.unit_comps(u).collect::<Vec<_>>() {
                        self.set_csis(c, wire::HA_ACTIVE, wire::CSI_TARGET_ONE, wire::TRANSITION_NOT_QUIESCED, out);
                    }
                }
                (None, None) if self.in_service(u) && self.unit_host(u).is_some() => {
                    self.ha[u] = Some(wire::HA_ACTIVE);
                    for c in self.unit_comps(u).collect::<Vec<_>>() {
                        self.set_csis(c, wire::HA_ACTIVE, wire::CSI_ADD_ONE, wire::TRANSITION_NEW_ASSIGN, out);
                    }
                }
                _ => {}
            }
        }
        for u in 0..self.units.len() {
            let other_ha = self.other_unit(u).and_then(|o| self.ha[o]);
            if self.ha[u].is_none() && other_ha == Some(wire::HA_ACTIVE) && self.in_service(u) {
                self.ha[u] = Some(wire::HA_STANDBY);
                for c in self.unit_comps(u).collect::<Vec<_>>() {
                    self.set_csis(c, wire::HA_STANDBY, wire::CSI_ADD_ONE, 0, out);
                }
            }
        }
    }

    /// Tells component `c` its HA state for each CSI it carries.
    fn set_csis(&mut self, c: usize, ha: u32, flags: u32, transition: u32, out: &mut Vec<Effect>) {
        let Some((node, conn)) = self.comps[c].reg else { return };
        let u = self.refs[c].unit;
        for (si, csi) in self.csis_of(c) {
            let conf = &self.model.sis[si].csis[csi];
            // The other unit's carrier of this CSI: the active one for a
            // standby, the previous active one for an active.
            let active_comp = self
                .other_unit(u)
                .and_then(|o| self.carrier(o, si, csi))
                .map(|o| self.comp_conf(o).dn.clone())
                .unwrap_or_default();
            let descriptor = CsiDescriptor {
                flags,
                csi: conf.dn.clone(),
                transition,
                active_comp,
                standby_rank: if ha == wire::HA_STANDBY { 1 } else { 0 },
                attrs: conf.attrs.iter().map(|(k, v)| (k.clone().into_bytes(), v.clone().into_bytes())).collect(),
            };
            let invocation = self.next_invocation;
            self.next_invocation += 1;
            self.pending.insert(invocation, c);
            let comp = self.comp_conf(c).dn.clone();
            out.push(Effect::Tell { node, conn, callback: Callback::CsiSet { invocation, comp, ha, csi: descriptor } });
        }
    }

    /// Connection `conn` of `node` closed: a component it registered
    /// failed (unless it unregistered first).
    pub fn closed(&mut self, node: NodeId, conn: ConnId, out: &mut Vec<Effect>) {
        if let Some(c) = self.comps.iter().position(|s| s.reg == Some((node, conn))) {
            out.push(Effect::Note(format!("component {} is gone (its connection closed)", self.dn(c))));
            let recovery = self.comp_conf(c).recovery;
            self.failure(c, recovery, out);
        }
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
            self.pending.retain(|_, c| self.refs[*c].unit != u);
            self.ha[u] = None;
        }
        self.assign(out);
    }

    pub fn next_deadline(&self) -> Option<i64> {
        self.comps.iter().filter_map(|c| c.register_by).min()
    }

    /// Cluster time moves to `time`: components that did not register in
    /// time failed to instantiate.
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
        for h in &self.ha {
            w.u32(h.unwrap_or(0));
        }
        w.u32(self.pending.len() as u32);
        for (inv, c) in &self.pending {
            w.u64(*inv).u32(*c as u32);
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
        for h in s.ha.iter_mut() {
            let v = r.u32("ha")?;
            *h = match v {
                0 => None,
                wire::HA_ACTIVE | wire::HA_STANDBY => Some(v),
                _ => return Err(bad("ha", v.into())),
            };
        }
        s.pending.clear();
        for _ in 0..r.count(1 << 16, 12, "pending")? {
            let (inv, c) = (r.u64("invocation")?, r.u32("component")? as usize);
            if c >= s.comps.len() {
                return Err(bad("component", c as u64));
            }
            s.pending.insert(inv, c);
        }
        r.finish()?;
        Ok(s)
    }
}
