//! The extended virtual synchrony checks, run on the record of one simulation.
//!
//! Two kinds, kept apart (as TigerBeetle's VOPR does): [`safety`] holds in
//! every run whatever the faults, [`liveness`] only once faults have stopped
//! long enough for progress (the run's settle phase). [`check`] runs both.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use totem::{ConfigKind, RingId};

/// (sender node, sender incarnation, sender's counter)
pub type MsgId = (u32, u32, u64);

#[derive(Clone, Debug)]
pub enum Rec {
    Deliver(MsgId, bool),
    Config { kind: ConfigKind, ring: RingId, members: Vec<u32> },
}

/// One life of a node, from start to crash (or to the end of the run).
#[derive(Clone, Debug)]
pub struct Incarnation {
    pub node: u32,
    pub inc: u32,
    /// (time in us, what happened)
    pub log: Vec<(u64, Rec)>,
    pub crashed: bool,
    /// (counter, time in us, safe) of every message `submit` accepted.
    pub submitted: Vec<(u64, u64, bool)>,
}

pub struct Trace {
    pub incs: Vec<Incarnation>,
    /// When faults stopped (us).
    pub settle_start: u64,
    /// When one ring of all live nodes was first seen (us).
    pub formed_at: Option<u64>,
    pub liveness_bound: u64,
    pub end: u64,
    /// Problems found while running (corrupt deliveries).
    pub extra: Vec<String>,
}

struct Seg {
    kind: ConfigKind,
    ring: RingId,
    members: Vec<u32>,
    time: u64,
}

/// An incarnation's log split into configurations.
struct View {
    segs: Vec<Seg>,
    /// (message, safe, index of the configuration it was delivered in; None before any)
    deliveries: Vec<(MsgId, bool, Option<usize>)>,
}

fn view(inc: &Incarnation) -> View {
    let mut v = View { segs: Vec::new(), deliveries: Vec::new() };
    for (time, r) in &inc.log {
        match r {
            Rec::Config { kind, ring, members } => {
                v.segs.push(Seg { kind: *kind, ring: *ring, members: members.clone(), time: *time })
            }
            Rec::Deliver(id, safe) => {
                let seg = if v.segs.is_empty() { None } else { Some(v.segs.len() - 1) };
                v.deliveries.push((*id, *safe, seg));
            }
        }
    }
    v
}

fn name(i: &Incarnation) -> String {
    format!("node {}#{}", i.node, i.inc)
}

/// Every violation found (empty when the run is correct): problems seen
/// while running, then the safety checks, then the liveness checks.
pub fn check(t: &Trace) -> Vec<String> {
    let r = Run::new(t);
    let mut out: Vec<String> = t.extra.iter().take(3).cloned().collect();
    safety_of(&r, &mut out);
    liveness_of(&r, &mut out);
    out
}

/// The properties that hold in every run, whatever the faults: no
/// duplicates, total order, no gaps, configuration agreement and the
/// transitional rule, virtual synchrony, safe delivery.
pub fn safety(t: &Trace) -> Vec<String> {
    let mut out = Vec::new();
    safety_of(&Run::new(t), &mut out);
    out
}

/// The properties that need the faults to stop long enough (the run's
/// settle phase): self-delivery, one ring of all live nodes within the
/// bound and no change after it, every later message delivered by all,
/// something delivered at all.
pub fn liveness(t: &Trace) -> Vec<String> {
    let mut out = Vec::new();
    liveness_of(&Run::new(t), &mut out);
    out
}

fn safety_of(r: &Run<'_>, out: &mut Vec<String>) {
    no_duplicates(r, out);
    total_order(r, out);
    no_gaps(r, out);
    configurations_agree(r, out);
    virtual_synchrony(r, out);
    safe_delivery(r, out);
}

fn liveness_of(r: &Run<'_>, out: &mut Vec<String>) {
    self_delivery(r, out);
    final_ring(r, out);
    something_delivered(r, out);
}

/// What the checks share, computed once per trace.
struct Run<'a> {
    t: &'a Trace,
    /// Each incarnation's log split into configurations.
    views: Vec<View>,
    /// Per incarnation: the position of each delivered message in its order.
    pos: Vec<HashMap<MsgId, usize>>,
    /// The incarnation that installed a regular configuration, by (ring, node).
    reg_inc: HashMap<(RingId, u32), usize>,
}

impl Run<'_> {
    fn new(t: &Trace) -> Run<'_> {
        let views: Vec<View> = t.incs.iter().map(view).collect();
        let pos = views.iter().map(|v| v.deliveries.iter().enumerate().map(|(k, d)| (d.0, k)).collect()).collect();
        let mut reg_inc = HashMap::new();
        for (i, v) in views.iter().enumerate() {
            for s in v.segs.iter().filter(|s| s.kind == ConfigKind::Regular) {
                reg_inc.insert((s.ring, t.incs[i].node), i);
            }
        }
        Run { t, views, pos, reg_inc }
    }
}

/// No incarnation delivers a message twice.
fn no_duplicates(r: &Run<'_>, out: &mut Vec<String>) {
    let (t, views) = (r.t, &r.views);
    for (i, v) in views.iter().enumerate() {
        let mut seen = HashSet::new();
        for (id, _, _) in &v.deliveries {
            if !seen.insert(*id) {
                out.push(format!("duplicate: {} delivered {:?} twice", name(&t.incs[i]), id));
                break;
            }
        }
    }
}

/// Messages two nodes both deliver are in the same relative order.
fn total_order(r: &Run<'_>, out: &mut Vec<String>) {
    let (t, views, pos) = (r.t, &r.views, &r.pos);
    'pairs: for (a, va) in views.iter().enumerate() {
        for (b, pos_b) in pos.iter().enumerate().skip(a + 1) {
            let mut last: Option<(usize, MsgId)> = None;
            for (id, _, _) in &va.deliveries {
                if let Some(&pb) = pos_b.get(id) {
                    if let Some((lp, lid)) = last
                        && pb < lp
                    {
                        out.push(format!(
                            "total order: {} delivered {:?} before {:?}, {} the other way",
                            name(&t.incs[a]),
                            lid,
                            id,
                            name(&t.incs[b])
                        ));
                        break 'pairs;
                    }
                    last = Some((pb, *id));
                }
            }
        }
    }
}

/// A sender's messages in order, skipping some only across a configuration
/// without that sender.
fn no_gaps(r: &Run<'_>, out: &mut Vec<String>) {
    let (t, views) = (r.t, &r.views);
    for (i, v) in views.iter().enumerate() {
        let mut last: HashMap<(u32, u32), (u64, Option<usize>)> = HashMap::new();
        for (id, _, seg) in &v.deliveries {
            let stream = (id.0, id.1);
            if let Some(&(lc, lseg)) = last.get(&stream) {
                if id.2 <= lc {
                    out.push(format!("fifo: {} delivered {:?} after counter {lc}", name(&t.incs[i]), id));
                } else if id.2 > lc + 1 {
                    let from = lseg.unwrap_or(0);
                    let to = seg.map(|s| s + 1).unwrap_or(0);
                    let excluded = (from..to).any(|s| !v.segs[s].members.contains(&id.0));
                    if !excluded {
                        out.push(format!(
                            "gap: {} delivered {:?} after counter {lc} with {} in every configuration between",
                            name(&t.incs[i]),
                            id,
                            id.0
                        ));
                    }
                }
            }
            last.insert(stream, (id.2, *seg));
        }
    }
}

/// Configuration agreement and the transitional configuration rule.
fn configurations_agree(r: &Run<'_>, out: &mut Vec<String>) {
    let (t, views, reg_inc) = (r.t, &r.views, &r.reg_inc);
    let mut regular: BTreeMap<RingId, Vec<u32>> = BTreeMap::new();
    let mut trans_of: BTreeMap<(RingId, u32), Vec<u32>> = BTreeMap::new();
    for (i, v) in views.iter().enumerate() {
        let me = t.incs[i].node;
        for (k, s) in v.segs.iter().enumerate() {
            match s.kind {
                ConfigKind::Regular => {
                    if let Some(m) = regular.get(&s.ring) {
                        if *m != s.members {
                            out.push(format!(
                                "config agreement: ring {:?} has members {:?} at {} but {:?} elsewhere",
                                s.ring,
                                s.members,
                                name(&t.incs[i]),
                                m
                            ));
                        }
                    } else {
                        regular.insert(s.ring, s.members.clone());
                    }
                    if k > 0 {
                        let p = &v.segs[k - 1];
                        if p.kind != ConfigKind::Transitional || p.ring != s.ring {
                            out.push(format!(
                                "transitional rule: {} installed regular {:?} without its transitional configuration",
                                name(&t.incs[i]),
                                s.ring
                            ));
                        }
                    }
                }
                ConfigKind::Transitional => {
                    trans_of.insert((s.ring, me), s.members.clone());
                    let next = v.segs.get(k + 1);
                    let prev = if k > 0 { v.segs.get(k - 1) } else { None };
                    let ok_next = next.is_some_and(|n| n.kind == ConfigKind::Regular && n.ring == s.ring);
                    let ok_prev = prev.is_some_and(|p| p.kind == ConfigKind::Regular);
                    let subset_new = next.is_some_and(|n| s.members.iter().all(|m| n.members.contains(m)));
                    let subset_old = prev.is_some_and(|p| s.members.iter().all(|m| p.members.contains(m)));
                    if !ok_next || !ok_prev || !subset_new || !subset_old || !s.members.contains(&me) {
                        out.push(format!(
                            "transitional rule: {} transitional {:?} {:?} does not sit between its old and new regular configurations",
                            name(&t.incs[i]),
                            s.ring,
                            s.members
                        ));
                    }
                }
            }
        }
    }
    for ((ring, me), members) in &trans_of {
        for q in members {
            if q == me {
                continue;
            }
            match trans_of.get(&(*ring, *q)) {
                Some(other) if other != members => out.push(format!(
                    "config agreement: node {me} and node {q} disagree on the transitional configuration of {ring:?}: {members:?} vs {other:?}"
                )),
                None if reg_inc.contains_key(&(*ring, *q)) => out.push(format!(
                    "config agreement: node {q} installed {ring:?} without the transitional configuration node {me} has"
                )),
                _ => {}
            }
        }
    }
}

/// Nodes that move together from one configuration to the next delivered
/// the same messages in the old regular and in the transitional one.
fn virtual_synchrony(r: &Run<'_>, out: &mut Vec<String>) {
    let (t, views) = (r.t, &r.views);
    type Key = (RingId, RingId, Vec<u32>);
    /// (incarnation, delivered in the old regular configuration, delivered in the transitional one)
    type Sets = (usize, BTreeSet<MsgId>, BTreeSet<MsgId>);
    let mut groups: BTreeMap<Key, Vec<Sets>> = BTreeMap::new();
    for (i, v) in views.iter().enumerate() {
        for (k, s) in v.segs.iter().enumerate() {
            if s.kind != ConfigKind::Transitional || k == 0 {
                continue;
            }
            let in_old: BTreeSet<MsgId> = v.deliveries.iter().filter(|d| d.2 == Some(k - 1)).map(|d| d.0).collect();
            let in_trans: BTreeSet<MsgId> = v.deliveries.iter().filter(|d| d.2 == Some(k)).map(|d| d.0).collect();
            groups.entry((v.segs[k - 1].ring, s.ring, s.members.clone())).or_default().push((i, in_old, in_trans));
        }
    }
    for ((old, new, _), g) in &groups {
        for w in g.windows(2) {
            if w[0].1 != w[1].1 || w[0].2 != w[1].2 {
                let which = if w[0].1 != w[1].1 { "old regular" } else { "transitional" };
                out.push(format!(
                    "virtual synchrony: {} and {} moved from {:?} to {:?} but delivered different sets in the {which} configuration",
                    name(&t.incs[w[0].0]),
                    name(&t.incs[w[1].0]),
                    old,
                    new
                ));
            }
        }
    }
}

/// Whether no ring of all live nodes formed within the liveness bound (a
/// liveness failure, reported as such): the run may then end with nodes
/// mid-change or behind.
fn unsettled(t: &Trace) -> bool {
    t.formed_at.is_none_or(|f| f > t.settle_start + t.liveness_bound)
}

/// Whether incarnation `i` ended an unsettled run still in regular
/// configuration `ring` (it never installed another one): it may be
/// mid-change at the end (gathering, in commit or recovery) or not have
/// seen the token that makes a message safe yet, so what it still
/// delivers in `ring` or its transitional configuration cannot be judged.
/// (A settled run goes on for a while after its final ring formed.)
fn ended_in(t: &Trace, i: usize, ring: RingId) -> bool {
    let last = t.incs[i].log.iter().rev().find_map(|(_, r)| match r {
        Rec::Config { kind: ConfigKind::Regular, ring, .. } => Some(*ring),
        _ => None,
    });
    unsettled(t) && last == Some(ring)
}

/// A safe message delivered in a regular configuration is delivered by
/// every member of it that does not crash (and, in an unsettled run,
/// moved on from that configuration: [`ended_in`]).
fn safe_delivery(r: &Run<'_>, out: &mut Vec<String>) {
    let (t, views, pos, reg_inc) = (r.t, &r.views, &r.pos, &r.reg_inc);
    let mut safe_reported = false;
    for (i, v) in views.iter().enumerate() {
        for (id, safe, seg) in &v.deliveries {
            let Some(k) = seg else { continue };
            let s = &v.segs[*k];
            if !*safe || s.kind != ConfigKind::Regular || safe_reported {
                continue;
            }
            for q in &s.members {
                if let Some(&qi) = reg_inc.get(&(s.ring, *q))
                    && !t.incs[qi].crashed
                    && !pos[qi].contains_key(id)
                    && !ended_in(t, qi, s.ring)
                {
                    out.push(format!(
                        "safe delivery: {} delivered safe {:?} in {:?} but member {} never did",
                        name(&t.incs[i]),
                        id,
                        s.ring,
                        name(&t.incs[qi])
                    ));
                    safe_reported = true;
                }
            }
        }
    }
}

/// A node that does not crash delivers all its own messages.
fn self_delivery(r: &Run<'_>, out: &mut Vec<String>) {
    let (t, pos) = (r.t, &r.pos);
    for (i, inc) in t.incs.iter().enumerate() {
        // In an unsettled run a node may still hold its last messages, to
        // deliver once a ring forms or the token comes round.
        if inc.crashed || unsettled(t) {
            continue;
        }
        let missing = inc.submitted.iter().filter(|(c, _, _)| !pos[i].contains_key(&(inc.node, inc.inc, *c))).count();
        if missing > 0 {
            out.push(format!("self-delivery: {} did not deliver {missing} of its own messages", name(inc)));
        }
    }
}

/// After faults stop, one ring of all live nodes forms within the bound,
/// does not change again, and every message multicast after it formed is
/// delivered by all.
fn final_ring(r: &Run<'_>, out: &mut Vec<String>) {
    let (t, views, pos) = (r.t, &r.views, &r.pos);
    match t.formed_at {
        None => out.push(format!(
            "liveness: no ring of all live nodes within {} ms after faults stopped",
            t.liveness_bound / 1000
        )),
        Some(f) => {
            if f > t.settle_start + t.liveness_bound {
                out.push(format!(
                    "liveness: ring of all live nodes formed {} ms after faults stopped (bound {} ms)",
                    (f - t.settle_start) / 1000,
                    t.liveness_bound / 1000
                ));
            }
            for (i, v) in views.iter().enumerate() {
                if let Some(s) = v.segs.iter().find(|s| s.time > f) {
                    out.push(format!(
                        "liveness: {} changed configuration to {:?} after the final ring formed",
                        name(&t.incs[i]),
                        s.ring
                    ));
                    break;
                }
            }
            let live: Vec<usize> = (0..t.incs.len()).filter(|i| !t.incs[*i].crashed).collect();
            'msgs: for &s in &live {
                let inc = &t.incs[s];
                for (c, time, _) in &inc.submitted {
                    if *time < f {
                        continue;
                    }
                    let id = (inc.node, inc.inc, *c);
                    for &q in &live {
                        if !pos[q].contains_key(&id) {
                            out.push(format!(
                                "liveness: {} never delivered {:?}, multicast after the final ring formed",
                                name(&t.incs[q]),
                                id
                            ));
                            break 'msgs;
                        }
                    }
                }
            }
        }
    }
}

/// A run whose clients submitted messages delivered some.
fn something_delivered(r: &Run<'_>, out: &mut Vec<String>) {
    let (t, views) = (r.t, &r.views);
    let total: usize = views.iter().map(|v| v.deliveries.len()).sum();
    let submitted: usize = t.incs.iter().map(|i| i.submitted.len()).sum();
    if submitted > 0 && total == 0 {
        out.push("nothing was delivered".into());
    }
}
