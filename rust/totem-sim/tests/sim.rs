//! The simulator passes correct runs, and its checker catches broken ones.

use totem::{ConfigKind, RingId};
use totem_sim::check::{Incarnation, Rec, Trace, check, liveness, safety};
use totem_sim::sim::{Scenario, make_payload, parse_payload, summarize};
use totem_sim::{run_many, run_seed};

fn lossy_crashes(broken: bool) -> Scenario {
    Scenario { nodes: 4, loss: 0.05, crashes: true, broken_recovery: broken, ..Default::default() }
}

#[test]
fn skipping_recovery_retransmission_is_caught() {
    let seeds = 27..37u64;
    let jobs: Vec<_> = seeds.clone().map(|s| (s, lossy_crashes(true))).collect();
    let broken = run_many(&jobs, 2);
    let caught = broken.iter().filter(|r| !r.2.is_empty()).count();
    assert!(caught > 0, "no seed caught the broken recovery rule");
    let jobs: Vec<_> = seeds.map(|s| (s, lossy_crashes(false))).collect();
    for (seed, _, v) in run_many(&jobs, 2) {
        assert!(v.is_empty(), "seed {seed}: {v:?}");
    }
}

#[test]
fn same_seed_same_run() {
    let sc = Scenario { nodes: 3, loss: 0.05, dup: 0.05, partitions: true, crashes: true, ..Default::default() };
    assert_eq!(summarize(5, &sc), summarize(5, &sc));
    assert_ne!(summarize(5, &sc), summarize(6, &sc));
}

#[test]
fn a_few_seeds_of_every_fault_kind_pass() {
    let mut jobs = Vec::new();
    for (k, sc) in [
        Scenario { nodes: 1, crashes: true, ..Default::default() },
        Scenario { nodes: 2, loss: 0.1, dup: 0.1, ..Default::default() },
        Scenario { nodes: 3, partitions: true, ..Default::default() },
        Scenario { nodes: 5, partitions: true, crashes: true, loss: 0.02, ..Default::default() },
        Scenario { nodes: 3, gap_ms: 3, loss: 0.02, crashes: true, ..Default::default() },
    ]
    .into_iter()
    .enumerate()
    {
        for s in 0..2u64 {
            jobs.push((100 * k as u64 + s, sc.clone()));
        }
    }
    for (seed, sc, v) in run_many(&jobs, 2) {
        assert!(v.is_empty(), "seed {seed} [{}]: {v:?}", sc.label());
    }
}

#[test]
fn single_node_run_delivers_everything() {
    assert!(run_seed(1, &Scenario { nodes: 1, ..Default::default() }).is_empty());
}

#[test]
fn payload_is_verified() {
    let p = make_payload((3, 1, 9), true, 300);
    assert_eq!(parse_payload(&p), Some(((3, 1, 9), true)));
    let mut q = p.clone();
    q[200] ^= 1;
    assert_eq!(parse_payload(&q), None);
    assert_eq!(parse_payload(&p[..250]), None);
}

// ---- the checker on hand-made traces ----

fn ring(seq: u64) -> RingId {
    RingId { rep: 1, seq }
}

fn reg(seq: u64, members: &[u32]) -> (u64, Rec) {
    (seq, Rec::Config { kind: ConfigKind::Regular, ring: ring(seq), members: members.to_vec() })
}

fn trans(seq: u64, members: &[u32]) -> (u64, Rec) {
    (seq, Rec::Config { kind: ConfigKind::Transitional, ring: ring(seq), members: members.to_vec() })
}

fn d(node: u32, c: u64) -> (u64, Rec) {
    (0, Rec::Deliver((node, 1, c), false))
}

fn inc(node: u32, log: Vec<(u64, Rec)>) -> Incarnation {
    Incarnation { node, inc: 1, log, crashed: false, submitted: Vec::new() }
}

fn trace(incs: Vec<Incarnation>) -> Trace {
    Trace { incs, settle_start: 0, formed_at: Some(100), liveness_bound: 1000, end: 1000, extra: Vec::new() }
}

fn violations(incs: Vec<Incarnation>) -> Vec<String> {
    check(&trace(incs))
}

#[test]
fn checker_accepts_a_correct_trace() {
    let a = inc(1, vec![reg(4, &[1, 2]), d(1, 0), d(2, 0)]);
    let b = inc(2, vec![reg(4, &[1, 2]), d(1, 0), d(2, 0)]);
    assert_eq!(violations(vec![a, b]), Vec::<String>::new());
}

#[test]
fn checker_catches_order_duplicates_and_gaps() {
    let a = inc(1, vec![reg(4, &[1, 2]), d(1, 0), d(2, 0)]);
    let b = inc(2, vec![reg(4, &[1, 2]), d(2, 0), d(1, 0)]);
    assert!(violations(vec![a, b]).iter().any(|v| v.starts_with("total order")));
    let a = inc(1, vec![reg(4, &[1]), d(1, 0), d(1, 0)]);
    assert!(violations(vec![a]).iter().any(|v| v.starts_with("duplicate")));
    let a = inc(1, vec![reg(4, &[1, 2]), d(2, 0), d(2, 2)]);
    assert!(violations(vec![a]).iter().any(|v| v.starts_with("gap")));
    // A gap across a configuration without the sender is fine.
    let a = inc(1, vec![reg(4, &[1, 2]), d(2, 0), trans(8, &[1]), reg(8, &[1, 2]), d(2, 2)]);
    assert!(violations(vec![a]).iter().all(|v| !v.starts_with("gap")));
}

#[test]
fn checker_catches_configuration_disagreement_and_virtual_synchrony() {
    let a = inc(1, vec![reg(4, &[1, 2])]);
    let b = inc(2, vec![reg(4, &[1, 2, 3])]);
    assert!(violations(vec![a, b]).iter().any(|v| v.starts_with("config agreement")));
    // Both move 4 -> 8 together but delivered different sets in 4.
    let a = inc(1, vec![reg(4, &[1, 2, 3]), d(3, 0), trans(8, &[1, 2]), reg(8, &[1, 2])]);
    let b = inc(2, vec![reg(4, &[1, 2, 3]), trans(8, &[1, 2]), d(3, 0), reg(8, &[1, 2])]);
    assert!(violations(vec![a, b]).iter().any(|v| v.starts_with("virtual synchrony")));
    // Regular configuration without its transitional one.
    let a = inc(1, vec![reg(4, &[1]), reg(8, &[1])]);
    assert!(violations(vec![a]).iter().any(|v| v.starts_with("transitional rule")));
}

#[test]
fn checker_catches_lost_self_delivery_and_liveness() {
    let mut a = inc(1, vec![reg(4, &[1])]);
    a.submitted.push((0, 200, false));
    let v = violations(vec![a.clone()]);
    assert!(v.iter().any(|v| v.starts_with("self-delivery")));
    assert!(v.iter().any(|v| v.starts_with("liveness")));
    // Progress is liveness: the safety checks alone find nothing wrong.
    let t = trace(vec![a]);
    assert_eq!(safety(&t), Vec::<String>::new());
    assert_eq!(liveness(&t), check(&t));
    let mut t = trace(vec![inc(1, vec![reg(4, &[1])])]);
    t.formed_at = None;
    assert!(check(&t).iter().any(|v| v.starts_with("liveness")));
}

#[test]
fn a_safe_message_missing_at_a_member_is_judged_once_the_member_moved_on() {
    let safe = |node, c| (0, Rec::Deliver((node, 1, c), true));
    // Node 1 delivered 2's message safe in ring 4; node 2 never did.
    let a = inc(1, vec![reg(4, &[1, 2]), safe(2, 0), trans(8, &[1]), reg(8, &[1])]);
    let b_moved_on = inc(2, vec![reg(4, &[1, 2]), trans(8, &[2]), reg(8, &[2])]);
    let b_still_in_4 = inc(2, vec![reg(4, &[1, 2])]);
    let missed = |t: &Trace| safety(t).iter().any(|v| v.starts_with("safe delivery"));
    // Node 2 installed ring 8 without it: lost, whether or not a final ring formed.
    assert!(missed(&trace(vec![a.clone(), b_moved_on.clone()])));
    let mut t = trace(vec![a.clone(), b_moved_on]);
    t.formed_at = None;
    assert!(missed(&t));
    // Node 2 still in ring 4 at the end: with a final ring formed it had
    // every chance; without one (liveness failed, reported) it may be
    // mid-change, and the transitional configuration may still bring it.
    assert!(missed(&trace(vec![a.clone(), b_still_in_4.clone()])));
    let mut t = trace(vec![a.clone(), b_still_in_4.clone()]);
    t.formed_at = None;
    assert!(!missed(&t), "{:?}", safety(&t));
    assert!(check(&t).iter().any(|v| v.starts_with("liveness")));
    // The same where the final ring formed after the liveness bound.
    let mut t = trace(vec![a, b_still_in_4]);
    t.formed_at = Some(t.settle_start + t.liveness_bound + 1);
    assert!(!missed(&t), "{:?}", safety(&t));
    assert!(check(&t).iter().any(|v| v.starts_with("liveness")));
}

#[test]
fn order_and_agreement_are_safety() {
    let a = inc(1, vec![reg(4, &[1, 2]), d(1, 0), d(2, 0)]);
    let b = inc(2, vec![reg(4, &[1, 2, 3]), d(2, 0), d(1, 0)]);
    let t = trace(vec![a, b]);
    let v = safety(&t);
    assert!(v.iter().any(|v| v.starts_with("total order")), "{v:?}");
    assert!(v.iter().any(|v| v.starts_with("config agreement")), "{v:?}");
    assert_eq!(liveness(&t), Vec::<String>::new());
}

#[test]
fn non_default_timeouts_and_limits_work() {
    let mut cfg = totem::TotemConfig::default();
    for (k, v) in [
        ("token", "300"),
        ("consensus", "400"),
        ("join", "30"),
        ("send_join", "10"),
        ("merge", "100"),
        ("window_size", "20"),
        ("max_messages", "5"),
        ("seqno_unchanged_const", "3"),
        ("heartbeat_failures_allowed", "3"),
    ] {
        cfg.set(k, v).unwrap();
    }
    cfg.validate().unwrap();
    for seed in 0..4 {
        let sc = Scenario { nodes: 4, loss: 0.03, partitions: true, crashes: true, gap_ms: 20, ..Default::default() };
        let sim = totem_sim::sim::Sim::new(seed, &sc, cfg.clone());
        let (trace, _) = sim.run();
        let v = check(&trace);
        assert!(v.is_empty(), "seed {seed}: {v:?}");
    }
}

/// Issue 25, item 8: rings that rekey every 40 ms (or every 30 frames)
/// through loss, duplicates, partitions and crashes keep every safety and
/// liveness property, and no packet reaches a member without its key
/// outside membership changes.
#[test]
fn frequent_rekeys_keep_every_property() {
    for (k, v) in [("rekey_interval", "40"), ("rekey_packets", "30")] {
        let mut cfg = totem::TotemConfig::default();
        cfg.set("rekey_interval", "0").unwrap();
        cfg.set(k, v).unwrap();
        for seed in 0..3 {
            let sc =
                Scenario { nodes: 4, loss: 0.03, dup: 0.02, partitions: true, crashes: true, ..Default::default() };
            let (trace, fig) = totem_sim::sim::Sim::new(300 + seed, &sc, cfg.clone()).run();
            let v = check(&trace);
            assert!(v.is_empty(), "{k} seed {seed}: {v:?}");
            assert!(fig.rekeys >= 8, "{k} seed {seed}: only {} rekeys", fig.rekeys);
        }
    }
}
