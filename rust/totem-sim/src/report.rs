//! Figures for the issue note, measured in the simulator with the default timeouts
//! (network delay 0.1-1.5 ms per packet, frame size 1024 bytes).

use totem::{ConfigKind, TotemConfig};

use crate::check::Rec;
use crate::sim::{Fault, Scenario, Sim};

fn stats(v: &mut [u64]) -> String {
    v.sort_unstable();
    if v.is_empty() {
        return "n/a".into();
    }
    let sum: u64 = v.iter().sum();
    format!("min {} / mean {} / max {} ms", v[0], sum / v.len() as u64, v[v.len() - 1])
}

const SEEDS: u64 = 20;

/// Messages per token rotation on an 8-node ring at three loads.
fn per_rotation(out: &mut String) {
    *out += "Messages per token rotation (8 nodes, no faults, 17.8 s simulated):\n";
    for gap in [100u64, 10, 2, 1] {
        let sc = Scenario { nodes: 8, gap_ms: gap, ..Default::default() };
        let sim = Sim::new(1, &sc, TotemConfig::default());
        let (_, fig) = sim.run();
        let rot = fig.rotations.max(1);
        *out += &format!(
            "  each node multicasts every {gap:>3} ms on average: {:6} rotations, {:.2} packets and {:.2} application messages per rotation\n",
            fig.rotations,
            fig.mcast_sent as f64 / rot as f64,
            fig.delivered_at_rep as f64 / rot as f64,
        );
    }
}

/// Time for 8 nodes started together to form one ring.
fn formation(out: &mut String) {
    let mut v = Vec::new();
    for seed in 0..SEEDS {
        let sc = Scenario { nodes: 8, ..Default::default() };
        let mut sim = Sim::new(seed, &sc, TotemConfig::default());
        sim.workload = false;
        let (trace, _) = sim.run();
        // First time every node had installed an 8-member regular configuration.
        let t = trace
            .incs
            .iter()
            .map(|i| {
                i.log
                    .iter()
                    .find_map(|(t, r)| match r {
                        Rec::Config { kind: ConfigKind::Regular, members, .. } if members.len() == 8 => Some(*t),
                        _ => None,
                    })
                    .unwrap_or(u64::MAX)
            })
            .max()
            .unwrap_or(u64::MAX);
        v.push(t / 1000);
    }
    *out += &format!("Time to form a ring of 8 nodes started together ({SEEDS} seeds): {}\n", stats(&mut v));
}

/// Time from the crash of one of 8 nodes until the 7 survivors installed their new ring.
fn crash_recovery(out: &mut String) {
    let mut v = Vec::new();
    let crash_ms = 1000u64;
    for seed in 0..SEEDS {
        let sc = Scenario { nodes: 8, ..Default::default() };
        let mut sim = Sim::new(seed, &sc, TotemConfig::default());
        let victim = 1 + (seed % 8) as u32;
        sim.set_faults(vec![(crash_ms + seed * 37, Fault::Crash(victim))]);
        let (trace, _) = sim.run();
        let at = (crash_ms + seed * 37) * 1000;
        let t = trace
            .incs
            .iter()
            .filter(|i| i.node != victim && i.inc == 1)
            .map(|i| {
                i.log
                    .iter()
                    .find_map(|(t, r)| match r {
                        Rec::Config { kind: ConfigKind::Regular, members, .. }
                            if *t >= at && members.len() == 7 && !members.contains(&victim) =>
                        {
                            Some(*t)
                        }
                        _ => None,
                    })
                    .unwrap_or(u64::MAX)
            })
            .max()
            .unwrap_or(u64::MAX);
        v.push(t.saturating_sub(at) / 1000);
    }
    *out += &format!(
        "Time from the crash of one of 8 nodes to the 7 survivors' new regular configuration ({SEEDS} seeds, workload running): {}\n",
        stats(&mut v)
    );
}

/// Time from the restart of a crashed node until all 8 nodes installed one ring again.
fn restart_rejoin(out: &mut String) {
    let mut v = Vec::new();
    for seed in 0..SEEDS {
        let sc = Scenario { nodes: 8, ..Default::default() };
        let mut sim = Sim::new(seed, &sc, TotemConfig::default());
        let victim = 1 + (seed % 8) as u32;
        let restart_ms = 4000 + seed * 37;
        sim.set_faults(vec![(1000 + seed * 37, Fault::Crash(victim)), (restart_ms, Fault::Restart(victim))]);
        let (trace, _) = sim.run();
        let at = restart_ms * 1000;
        let t = trace
            .incs
            .iter()
            .filter(|i| i.node != victim || i.inc > 1)
            .map(|i| {
                i.log
                    .iter()
                    .find_map(|(t, r)| match r {
                        Rec::Config { kind: ConfigKind::Regular, members, .. } if *t >= at && members.len() == 8 => {
                            Some(*t)
                        }
                        _ => None,
                    })
                    .unwrap_or(u64::MAX)
            })
            .max()
            .unwrap_or(u64::MAX);
        v.push(t.saturating_sub(at) / 1000);
    }
    *out += &format!(
        "Time from the restart of a crashed node to one ring of all 8 ({SEEDS} seeds, workload running): {}\n",
        stats(&mut v)
    );
}

pub fn report() -> String {
    let cfg = TotemConfig::default();
    let mut out = format!(
        "Totem simulator figures, default timeouts (token {} ms, token_retransmit {} ms, hold {} ms, join {} ms, consensus {} ms, merge {} ms, window_size {}, max_messages {})\n",
        cfg.token,
        cfg.token_retransmit(),
        cfg.hold(),
        cfg.join,
        cfg.consensus(),
        cfg.merge,
        cfg.window_size(),
        cfg.max_messages()
    );
    per_rotation(&mut out);
    formation(&mut out);
    crash_recovery(&mut out);
    restart_rejoin(&mut out);
    out
}
