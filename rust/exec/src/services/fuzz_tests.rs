//! Seeded fuzzing of every service's untrusted inputs: library requests
//! with random ids and bodies, and deliveries of random, mutated and
//! replayed-but-corrupted messages from members and strangers (with secauth
//! off anyone on the network can send). Nothing may panic; a run is
//! deterministic (fixed seeds, or `AIS_TEST_SEED`), so a failure replays
//! exactly; `AIS_FUZZ_ITERS` makes the runs longer.

use std::time::Duration;

use ais_ipc::service;
use ais_testrng::Rng;

use crate::config::Config;
use crate::ordering::{NodeId, RingId};
use crate::service::{ConnId, ConnInfo, Service, SyncStep, split_routed};
use crate::services::clm::LocalIdentity;
use crate::services::testkit::{SimNode, begin_sync, run_ordered};

/// Words that are mostly small (plausible lengths, counts, kinds, flags),
/// sometimes extreme, cut at a random byte.
fn biased_body(rng: &mut Rng) -> Vec<u8> {
    let words = rng.below(20) as usize;
    let mut out = Vec::new();
    for _ in 0..words {
        let w: u32 = match rng.below(8) {
            0 => rng.next_u64() as u32,
            1 => u32::MAX - rng.below(3) as u32,
            _ => rng.below(5) as u32,
        };
        out.extend_from_slice(&w.to_le_bytes());
    }
    let cut = rng.below(out.len() as u64 + 1) as usize;
    out.truncate(cut);
    out
}

fn mutate(rng: &mut Rng, body: &[u8]) -> Vec<u8> {
    let mut out = body.to_vec();
    for _ in 0..=rng.below(3) {
        let len = out.len() as u64;
        match rng.below(5) {
            0 if len > 0 => {
                let i = rng.below(len) as usize;
                out[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                // An extreme field: up to 8 bytes of 0xff (u64::MAX, -1).
                let i = rng.below(len) as usize;
                let n = (1 + rng.below(8) as usize).min(out.len() - i);
                out[i..i + n].fill(0xff);
            }
            2 => {
                let i = rng.below(len + 1) as usize;
                out.insert(i, rng.below(3) as u8);
            }
            3 if len > 0 => {
                out.truncate(rng.below(len) as usize);
            }
            _ if len > 0 => {
                let i = rng.below(len) as usize;
                out.remove(i);
            }
            _ => {}
        }
    }
    out
}

/// Delivers what the nodes `members` submitted, in node order, to each of
/// them (until nothing more is submitted); corrupts about one message in
/// `1 << corrupt_shift` on the way. The payloads go to `seen`.
fn deliver_submitted<S: Service>(
    nodes: &mut [SimNode<S>],
    members: &[usize],
    rng: &mut Rng,
    corrupt_shift: u32,
    seen: &mut Vec<Vec<u8>>,
) {
    for _ in 0..1000 {
        let mut batch: Vec<(NodeId, Vec<u8>)> = Vec::new();
        for &i in members {
            let id = nodes[i].id();
            batch.extend(std::mem::take(&mut nodes[i].net.submitted).into_iter().map(|m| (id, m)));
        }
        if batch.is_empty() {
            return;
        }
        for (sender, m) in batch {
            let Some((_, payload)) = split_routed(&m) else { continue };
            let payload = if rng.below(1 << corrupt_shift) == 0 { mutate(rng, payload) } else { payload.to_vec() };
            if seen.len() < 128 {
                seen.push(payload.clone());
            } else {
                let slot = rng.below(128) as usize;
                seen[slot] = payload.clone();
            }
            for &i in members {
                nodes[i].with(|s, c| s.deliver(c, sender, &payload));
            }
        }
    }
}

/// Brings the nodes `members` through a regular configuration of their
/// own and a full sync, as the executive does (sync messages sometimes
/// corrupted when `corrupt_shift` is set).
fn sync_group<S: Service>(
    nodes: &mut [SimNode<S>],
    members: &[usize],
    seq: u64,
    rng: &mut Rng,
    corrupt_shift: Option<u32>,
    seen: &mut Vec<Vec<u8>>,
) {
    // Submissions from before the change are lost with the old ring.
    for &i in members {
        nodes[i].net.submitted.clear();
    }
    begin_sync(nodes, members, RingId { rep: nodes[members[0]].id(), seq });
    for _ in 0..1000 {
        let mut more = false;
        for &i in members {
            more |= nodes[i].with(|s, c| s.sync_process(c)) == SyncStep::MoreToSend;
        }
        match corrupt_shift {
            Some(shift) => deliver_submitted(nodes, members, rng, shift, seen),
            None => run_ordered(nodes, members),
        }
        if !more {
            break;
        }
    }
    for &i in members {
        nodes[i].with(|s, c| s.sync_activate(c));
    }
}

/// Runs `steps` random steps against three nodes of the service `make`
/// builds. Returns how many library requests were accepted (decoded), so
/// the caller can check the generator gets past the decoders.
fn fuzz_service<S: Service>(
    make: impl Fn(NodeId) -> S,
    seed: u64,
    steps: usize,
    ids: u32,
    seeds: &[(u32, Vec<u8>)],
) -> usize {
    let mut rng = Rng::new(seed);
    let mut nodes: Vec<SimNode<S>> = (1..=3).map(|n| SimNode::new(n, make(n))).collect();
    let mut seen: Vec<Vec<u8>> = Vec::new();
    // Which partition each node is in (0 or 1); messages stay inside one.
    let mut part = [0usize; 3];
    sync_group(&mut nodes, &[0, 1, 2], 1, &mut rng, None, &mut seen);
    let open = |n: &mut SimNode<S>, conn: u64| {
        n.with(|s, c| {
            let info = ConnInfo { id: ConnId(conn), service: s.id(), pid: 1, uid: 0, gid: 0 };
            s.conn_opened(c, &info);
        })
    };
    for n in nodes.iter_mut() {
        for conn in 1..=3 {
            open(n, conn);
        }
    }
    // Requests known to decode, to change a little; `seeds` start it off.
    let mut good: Vec<(u32, Vec<u8>)> = seeds.to_vec();
    let mut accepted = 0usize;
    let mut ring_seq = 1;
    for _ in 0..steps {
        let i = rng.below(3) as usize;
        match rng.below(16) {
            0..=6 => {
                let conn = 1 + rng.below(3);
                // Mostly a request that decoded before, changed a little:
                // that reaches the handlers behind the decoders.
                let (id, body) = if !good.is_empty() && rng.below(3) != 0 {
                    let pick = rng.below(good.len() as u64) as usize;
                    let (id, body) = &good[pick];
                    let body = if rng.below(2) == 0 { mutate(&mut rng, body) } else { body.clone() };
                    (*id, body)
                } else {
                    (rng.below(u64::from(ids)) as u32, biased_body(&mut rng))
                };
                if nodes[i].with(|s, c| s.lib_request(c, ConnId(conn), id, &body)).is_ok() {
                    accepted += 1;
                    if good.len() < 256 {
                        good.push((id, body));
                    }
                }
            }
            7..=9 => {
                // Deliver what was submitted, some of it corrupted on the way.
                for p in 0..2 {
                    let members: Vec<usize> = (0..3).filter(|&k| part[k] == p).collect();
                    deliver_submitted(&mut nodes, &members, &mut rng, 2, &mut seen);
                }
            }
            10..=11 => {
                // Garbage, or an old message replayed corrupted, from a
                // member or from a node that is not in the ring.
                let sender = if rng.below(2) == 0 { 1 + rng.below(3) as NodeId } else { 1000 + rng.below(5) as NodeId };
                let payload = if !seen.is_empty() && rng.below(2) == 0 {
                    let pick = rng.below(seen.len() as u64) as usize;
                    mutate(&mut rng, &seen[pick])
                } else {
                    let mut b = biased_body(&mut rng);
                    // Services usually start with a kind byte.
                    b.insert(0, rng.below(12) as u8);
                    b
                };
                for n in nodes.iter_mut() {
                    n.with(|s, c| s.deliver(c, sender, &payload));
                }
            }
            12 => {
                let conn = 1 + rng.below(3);
                nodes[i].with(|s, c| s.conn_closed(c, ConnId(conn)));
                open(&mut nodes[i], conn);
            }
            13 => {
                nodes[i].advance(Duration::from_secs(rng.below(100_000)));
                nodes[i].with(|s, c| s.handle_timeout(c));
            }
            14 => {
                // A new ring: all together, or one node split off (so a
                // later merge makes the partitions sync their state).
                part = [0; 3];
                if rng.below(2) == 0 {
                    part[rng.below(3) as usize] = 1;
                }
                for p in 0..2 {
                    let members: Vec<usize> = (0..3).filter(|&k| part[k] == p).collect();
                    if !members.is_empty() {
                        ring_seq += 1;
                        sync_group(&mut nodes, &members, ring_seq, &mut rng, Some(3), &mut seen);
                    }
                }
            }
            _ => {
                for n in nodes.iter_mut() {
                    n.out.clear();
                }
            }
        }
    }
    accepted
}

/// Steps of one run (`AIS_FUZZ_ITERS` overrides).
const STEPS: usize = 4000;

/// How a registered service is fuzzed: request ids tried (`0..ids`),
/// requests to start from, seeds, steps per seed, and the least number of
/// requests that must decode over all seeds (so the generator is known to
/// get past the decoders).
struct Plan {
    ids: u32,
    start: Vec<(u32, Vec<u8>)>,
    seeds: u64,
    steps: usize,
    min_decoded: usize,
}

fn plan(id: u32) -> Plan {
    let default = Plan { ids: 16, start: Vec::new(), seeds: 3, steps: STEPS, min_decoded: 300 };
    match id {
        service::CKPT => Plan { ids: 32, start: ckpt_seeds(), ..default },
        service::EVT => Plan { ids: 32, ..default },
        service::LCK => Plan { ids: 32, start: lck_seeds(), ..default },
        // Two requests, both without a body: a short run covers them.
        service::CFG => Plan { ids: 8, seeds: 2, steps: 300, min_decoded: 0, ..default },
        _ => default,
    }
}

/// Service `id` from the registry, as node `node` would run it.
fn registered(id: u32, node: NodeId) -> Box<dyn Service> {
    let host = LocalIdentity { name: format!("host{node}").into_bytes(), boot_timestamp: 7 };
    let amf = super::amf::tests::for_fuzzing(&host.name);
    super::all(&Config::default(), &host, Some(amf)).into_iter().find(|s| s.id() == id).expect("a registered service")
}

/// Checkpoint creations, so there is state for sync to carry (and corrupt).
fn ckpt_seeds() -> Vec<(u32, Vec<u8>)> {
    use ais_ipc::ckpt::{self as wire, Attrs, Request};
    let attrs = Attrs {
        creation_flags: 1,
        checkpoint_size: 100,
        retention: 1_000_000,
        max_sections: 4,
        max_section_size: 50,
        max_section_id_size: 8,
    };
    (0..4u8)
        .map(|i| {
            let flags = wire::OPEN_CREATE | wire::OPEN_READ | wire::OPEN_WRITE;
            let r = Request::Open { token: 0, is_async: false, name: vec![b'c', i], attrs: Some(attrs), flags };
            (r.id(), r.encode())
        })
        .collect()
}

/// Resource opens, so that locks have something to name.
fn lck_seeds() -> Vec<(u32, Vec<u8>)> {
    use ais_ipc::lck::{RESOURCE_CREATE, Request};
    (0..3u8)
        .map(|i| {
            let r = Request::Open { token: 0, is_async: false, name: vec![b'r', i], flags: RESOURCE_CREATE };
            (r.id(), r.encode())
        })
        .collect()
}

/// Every service the executive runs ([`super::all`]), each in a thread of
/// its own (named after it, so a failure says which).
#[test]
fn every_registered_service_survives_random_requests_and_deliveries() {
    let ids: Vec<(u32, &str)> = registered_services();
    assert!(ids.len() >= 6, "{ids:?}");
    std::thread::scope(|scope| {
        for &(id, name) in &ids {
            std::thread::Builder::new()
                .name(name.to_string())
                .spawn_scoped(scope, move || {
                    let p = plan(id);
                    // Seeds 1..=p.seeds and p.steps, unless the environment
                    // says otherwise (the bar scales with the work done).
                    let seeds = ais_testrng::seeds(&(1..=p.seeds).collect::<Vec<_>>());
                    let steps = ais_testrng::iters(p.steps);
                    let decoded: usize = seeds
                        .iter()
                        .map(|&seed| {
                            let _seed = ais_testrng::SeedGuard(seed);
                            fuzz_service(|n| registered(id, n), seed, steps, p.ids, &p.start)
                        })
                        .sum();
                    let want = p.min_decoded * seeds.len() * steps / (p.seeds as usize * p.steps);
                    eprintln!("{name}: {decoded} requests decoded");
                    assert!(decoded >= want, "{name}: only {decoded} requests decoded, {want} wanted");
                })
                .expect("a thread");
        }
    });
}

/// (id, name) of every registered service.
fn registered_services() -> Vec<(u32, &'static str)> {
    let host = LocalIdentity { name: b"h".to_vec(), boot_timestamp: 7 };
    let amf = super::amf::tests::for_fuzzing(&host.name);
    super::all(&Config::default(), &host, Some(amf)).iter().map(|s| (s.id(), s.name())).collect()
}
