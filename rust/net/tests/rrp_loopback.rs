//! Redundant ring over two udpu transports per node on loopback: ring 0 and
//! ring 1 use different ports on 127.0.0.x. Active mode delivers each
//! packet once though both copies arrive; passive mode alternates data
//! between rings and sends the token on both; a ring whose copies never
//! arrive becomes FAULTY at the receiver, is no longer sent on, and comes
//! back with `reenable`; frames from a node without RRP are rejected.

mod common;
use ais_net::rrp::{RedundantTransport, RrpEvent, RrpMode, RrpParams, STATUS_FAULTY, STATUS_OK};
use ais_net::{Dest, Packet, Security, Transport};
use common::*;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(2);

/// `bind`'s pair of transports; ring 1 members are `ring1_members`.
fn node(
    bind: &str,
    ring0_members: &[&str],
    ring1_members: &[&str],
    ports: (u16, u16),
    mode: RrpMode,
) -> RedundantTransport {
    node_sec(bind, ring0_members, ring1_members, ports, mode, Security::Off)
}

fn node_sec(
    bind: &str,
    ring0_members: &[&str],
    ring1_members: &[&str],
    ports: (u16, u16),
    mode: RrpMode,
    security: Security,
) -> RedundantTransport {
    let mut c0 = udpu(bind, ring0_members, ports.0, security.clone());
    let mut c1 = udpu(bind, ring1_members, ports.1, security);
    // As the executive: our own packets do not come back.
    c0.multicast_loop = false;
    c1.multicast_loop = false;
    let ifs = ais_net::local_interfaces().unwrap();
    RedundantTransport::with_interfaces(&c0, &c1, RrpParams::new(mode), &ifs, rand_boot()).unwrap()
}

fn rand_boot() -> u64 {
    ais_net::crypto::random_boot_id().unwrap()
}

fn pair(mode: RrpMode, ring1_of_a: &[&str]) -> (RedundantTransport, RedundantTransport) {
    pair_sec(mode, ring1_of_a, Security::Off)
}

fn pair_sec(mode: RrpMode, ring1_of_a: &[&str], security: Security) -> (RedundantTransport, RedundantTransport) {
    const M: [&str; 2] = ["127.0.0.1", "127.0.0.2"];
    for _ in 0..20 {
        let (p0, p1) = (free_port(), free_port());
        if p0 == p1 {
            continue;
        }
        let a = std::panic::catch_unwind(|| node_sec("127.0.0.1", &M, ring1_of_a, (p0, p1), mode, security.clone()));
        let b = std::panic::catch_unwind(|| node_sec("127.0.0.2", &M, &M, (p0, p1), mode, security.clone()));
        if let (Ok(a), Ok(b)) = (a, b) {
            return (a, b);
        }
    }
    panic!("no free ports");
}

/// Receives on `t` (running its timers) until quiet for `quiet`.
fn pump(t: &mut RedundantTransport, quiet: Duration) -> Vec<Packet> {
    let mut got = Vec::new();
    let mut last = Instant::now();
    while last.elapsed() < quiet {
        let now = Instant::now();
        if t.poll_timeout().is_some_and(|d| d <= now) {
            t.handle_timeout(now);
        }
        match t.recv(now) {
            Some(p) => {
                got.push(p);
                last = Instant::now();
            }
            None => std::thread::sleep(Duration::from_millis(1)),
        }
    }
    got
}

fn received(t: &RedundantTransport, ring: usize) -> u64 {
    t.ring(ring).unwrap().stats().received
}

#[test]
fn active_sends_on_both_rings_and_delivers_once() {
    active_once(Security::Off);
}

#[test]
fn active_sealed_frames_open_on_both_rings() {
    // One frame sealed with ring 0's codec opens on ring 1 too (same key,
    // node id and boot id); each ring's replay window accepts its copy.
    active_once(sealed(&KEY_A));
}

fn active_once(security: Security) {
    let (mut a, mut b) = pair_sec(RrpMode::Active, &["127.0.0.1", "127.0.0.2"], security);
    assert_eq!(b.ring(1).unwrap().node_id(), b.node_id(), "ring 1 takes ring 0's node id");
    for i in 0..20u8 {
        a.send_to(Dest::Multicast, &[i; 100]).unwrap();
    }
    let got = pump(&mut b, Duration::from_millis(200));
    let data: Vec<Vec<u8>> = got.iter().map(|p| p.data.clone()).collect();
    assert_eq!(data, (0..20u8).map(|i| vec![i; 100]).collect::<Vec<_>>(), "each packet once, RRP byte removed");
    assert!(got.iter().all(|p| p.from == a.node_id()));
    assert_eq!((received(&b, 0), received(&b, 1)), (20, 20), "both copies arrived");
    // The token learned addresses on both rings and goes back on both.
    a.send_to(Dest::Multicast, b"x").unwrap();
    pump(&mut b, Duration::from_millis(50));
    b.send_to(Dest::Node(a.node_id()), b"token").unwrap();
    let got = pump(&mut a, Duration::from_millis(200));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].data, b"token");
    assert_eq!((received(&a, 0), received(&a, 1)), (1, 1));
    assert_eq!(b.status(), vec![(0, STATUS_OK.to_string()), (1, STATUS_OK.to_string())]);
    assert_eq!(b.max_payload(), b.ring(0).unwrap().max_payload() - 1);
}

#[test]
fn passive_alternates_data_and_duplicates_the_token() {
    let (mut a, mut b) = pair(RrpMode::Passive, &["127.0.0.1", "127.0.0.2"]);
    for i in 0..10u8 {
        a.send_to(Dest::Multicast, &[i]).unwrap();
    }
    let mut got: Vec<u8> = pump(&mut b, Duration::from_millis(200)).iter().map(|p| p.data[0]).collect();
    got.sort();
    assert_eq!(got, (0..10u8).collect::<Vec<_>>());
    assert_eq!((received(&b, 0), received(&b, 1)), (5, 5), "data round-robin");
    b.send_to(Dest::Node(a.node_id()), b"token").unwrap();
    let got = pump(&mut a, Duration::from_millis(200));
    assert_eq!(got.len(), 1, "token delivered once");
    assert_eq!((received(&a, 0), received(&a, 1)), (1, 1), "token on both rings");
}

#[test]
fn a_ring_that_loses_every_copy_becomes_faulty_and_is_reenabled() {
    // A's ring 1 sends to a member nobody listens on: B never gets A's
    // ring 1 copies.
    let (mut a, mut b) = pair(RrpMode::Active, &["127.0.0.1", "127.0.0.9"]);
    let start = Instant::now();
    let mut faulty_after = None;
    while start.elapsed() < T {
        a.send_to(Dest::Multicast, b"token-ish").unwrap();
        pump(&mut b, Duration::from_millis(10));
        if b.status()[1].1 == STATUS_FAULTY {
            faulty_after = Some(start.elapsed());
            break;
        }
    }
    let after = faulty_after.expect("ring 1 never became FAULTY");
    let p = RrpParams::new(RrpMode::Active);
    assert!(after >= p.token_expired_timeout * p.problem_count_threshold, "{after:?}");
    assert_eq!(b.status()[0].1, STATUS_OK);
    let mut events = Vec::new();
    while let Some(e) = b.poll_event() {
        events.push(e);
    }
    let faulty: Vec<&RrpEvent> = events.iter().filter(|e| matches!(e, RrpEvent::Faulty { ring: 1, .. })).collect();
    assert_eq!(faulty.len(), 1, "{events:?}");
    assert_eq!(faulty[0].to_string(), "Marking ringid 1 interface 127.0.0.2 FAULTY");
    // A FAULTY ring is no longer sent on.
    let before = b.ring(1).unwrap().stats().sent;
    b.send_to(Dest::Multicast, b"after").unwrap();
    assert_eq!(b.ring(1).unwrap().stats().sent, before);
    assert!(b.ring(0).unwrap().stats().sent > 0);
    // Ring 0 is never marked as well, whatever happens.
    for _ in 0..30 {
        a.send_to(Dest::Multicast, b"more").unwrap();
        pump(&mut b, Duration::from_millis(10));
    }
    assert_eq!(b.status()[0].1, STATUS_OK);
    assert_eq!(b.reenable(), 1);
    assert_eq!(b.status()[1].1, STATUS_OK);
    assert!(matches!(b.poll_event(), Some(RrpEvent::Reenabled { ring: 1, .. })));
    assert_eq!(b.reenable(), 0);
    let before = b.ring(1).unwrap().stats().sent;
    b.send_to(Dest::Multicast, b"again").unwrap();
    assert_eq!(b.ring(1).unwrap().stats().sent, before + 1, "ring 1 used again (to the other member)");
}

#[test]
fn frames_without_the_rrp_byte_are_rejected() {
    const M: [&str; 2] = ["127.0.0.2", "127.0.0.3"];
    let (p0, p1) = (free_port(), free_port());
    let mut b = node("127.0.0.2", &M, &M, (p0, p1), RrpMode::Active);
    // A node without RRP on ring 0's network.
    let mut c = udpu("127.0.0.3", &M, p0, Security::Off);
    c.multicast_loop = false;
    let mut plain = Transport::new(&c).unwrap();
    plain.send_to(Dest::Multicast, &[0x42, 1, 2]).unwrap();
    plain.send_to(Dest::Multicast, &[]).unwrap();
    assert!(pump(&mut b, Duration::from_millis(100)).is_empty());
    assert_eq!(b.bad_rrp_bytes(), 2);
    assert!(matches!(b.poll_event(), Some(RrpEvent::BadRrpByte { ring: 0, .. })));
}

/// A batch (more than one GSO send per ring) arrives once per packet:
/// active mode in order, passive mode with the data split over the rings
/// and the token on both; sealed once, opened on either ring.
#[test]
fn batches_go_on_the_rings_like_single_sends() {
    for (mode, security) in
        [(RrpMode::Active, sealed(&KEY_A)), (RrpMode::Active, Security::Off), (RrpMode::Passive, sealed(&KEY_A))]
    {
        let (mut a, mut b) = pair_sec(mode, &["127.0.0.1", "127.0.0.2"], security);
        // b's address must be known on both rings for the token: b speaks
        // first (twice: passive data alternates rings)
        b.send_to(Dest::Multicast, b"hi").unwrap();
        b.send_to(Dest::Multicast, b"hi").unwrap();
        assert_eq!(pump(&mut a, Duration::from_millis(100)).len(), 2);
        let max = a.max_payload();
        let mut batch: Vec<(Dest, Vec<u8>)> =
            (0..100u8).map(|i| (Dest::Multicast, vec![i; if i % 33 == 32 { 10 } else { max }])).collect();
        batch.push((Dest::Node(b.node_id()), b"token".to_vec()));
        a.send_batch(batch.iter().map(|(d, p)| (*d, p.as_slice()))).unwrap();
        let mut got: Vec<Vec<u8>> = pump(&mut b, Duration::from_millis(300)).into_iter().map(|p| p.data).collect();
        let mut want: Vec<Vec<u8>> = batch.iter().map(|(_, p)| p.clone()).collect();
        if mode == RrpMode::Passive {
            got.sort();
            want.sort();
            assert_eq!((received(&b, 0), received(&b, 1)), (51, 51), "data split, token on both");
        } else {
            assert_eq!((received(&b, 0), received(&b, 1)), (101, 101), "all on both rings");
        }
        assert_eq!(got.len(), want.len(), "{mode:?}");
        assert!(got == want, "{mode:?}: order or content differs");
        assert!(a.ring(0).unwrap().stats().gso_sends > 0);
        assert!(a.ring(1).unwrap().stats().gso_sends > 0);
    }
}

#[test]
fn kept_frames_go_on_the_rings_only_when_sent() {
    use ais_net::Outgoing;
    for (mode, security) in [(RrpMode::Active, sealed(&KEY_A)), (RrpMode::Passive, sealed(&KEY_A))] {
        let (mut a, mut b) = pair_sec(mode, &["127.0.0.1", "127.0.0.2"], security);
        b.send_to(Dest::Multicast, b"hi").unwrap();
        b.send_to(Dest::Multicast, b"hi").unwrap();
        assert_eq!(pump(&mut a, Duration::from_millis(100)).len(), 2);
        let token = Dest::Node(b.node_id());
        let kept: Vec<Vec<u8>> = (0..10u8).map(|i| vec![i; 500]).collect();
        let first = kept.iter().map(|p| Outgoing::Keep(Dest::Multicast, p.as_slice()));
        a.send_outgoing(first.chain([Outgoing::Send(token, &b"token 1"[..])])).unwrap();
        let got: Vec<Vec<u8>> = pump(&mut b, Duration::from_millis(200)).into_iter().map(|p| p.data).collect();
        assert_eq!(got, vec![b"token 1".to_vec()], "{mode:?}: kept frames stay until sent");
        let visit = [
            Outgoing::Send(Dest::Multicast, &b"retransmit"[..]),
            Outgoing::SendKept(7),
            Outgoing::Send(token, &b"token 2"[..]),
        ];
        a.send_outgoing(visit).unwrap();
        let mut got: Vec<Vec<u8>> = pump(&mut b, Duration::from_millis(300)).into_iter().map(|p| p.data).collect();
        let mut want: Vec<Vec<u8>> = vec![b"retransmit".to_vec()];
        want.extend(kept[..7].iter().cloned());
        want.push(b"token 2".to_vec());
        if mode == RrpMode::Passive {
            // Data alternates rings, so only the set is fixed.
            got.sort();
            want.sort();
        }
        assert_eq!(got, want, "{mode:?}: the first 7 kept frames, once, between what came before and after");
    }
}
