//! `send_batch` between udpu transports on 127.0.0.x (loopback only): a
//! batch of frames of mixed sizes, longer than one GSO send (more than 64
//! frames, more than 64 KiB), with tokens in between, arrives at every node
//! as the same datagrams in the same order, with GSO or the `sendmmsg`
//! fallback, with or without GRO on the receivers, sealed or plain.

mod common;
use ais_net::config::nodeid_from_ipv4;
use ais_net::{Dest, Packet, Security, SendError, Transport};
use common::*;
use std::time::Duration;

const QUIET: Duration = Duration::from_millis(200);
const MEMBERS: [&str; 3] = ["127.0.0.1", "127.0.0.2", "127.0.0.3"];

fn id(a: &str) -> u32 {
    nodeid_from_ipv4(a.parse().unwrap())
}

fn three(security: Security) -> Vec<Transport> {
    cluster(|port| {
        MEMBERS
            .iter()
            .map(|b| {
                let mut c = udpu(b, &MEMBERS, port, security.clone());
                // Room for a whole batch in the receive queue.
                c.buffer_bytes = 4 << 20;
                c
            })
            .collect()
    })
    .1
}

/// Frame `i` of the batch: its index, then a fill byte, `len` bytes long.
fn payload(i: usize, len: usize) -> Vec<u8> {
    let mut v = vec![i as u8 ^ 0x5a; len.max(4)];
    v[..4].copy_from_slice(&(i as u32).to_le_bytes());
    v
}

/// What Totem might hand over in one flush, and more: a run of 70 full
/// frames (more than 64 segments and 64 KiB), a short frame ending a
/// group, a 4-byte frame, a token to node 2 in the middle, frames of every
/// size, a token to node 3, and full frames after it.
fn batch(max: usize) -> Vec<(Dest, Vec<u8>)> {
    let mut v = Vec::new();
    for i in 0..70 {
        v.push((Dest::Multicast, payload(i, max)));
    }
    v.push((Dest::Multicast, payload(70, 300)));
    for i in 71..75 {
        v.push((Dest::Multicast, payload(i, max)));
    }
    v.push((Dest::Multicast, payload(75, 4)));
    v.push((Dest::Node(id("127.0.0.2")), payload(76, 60)));
    for i in 77..147 {
        v.push((Dest::Multicast, payload(i, 4 + (i * 97) % (max - 3))));
    }
    v.push((Dest::Node(id("127.0.0.3")), payload(147, 60)));
    v.push((Dest::Multicast, payload(148, max)));
    v.push((Dest::Multicast, payload(149, max)));
    v
}

/// What node `me` must receive of `sent`, in order.
fn expected(sent: &[(Dest, Vec<u8>)], me: u32) -> Vec<Vec<u8>> {
    sent.iter().filter(|(d, _)| *d == Dest::Multicast || *d == Dest::Node(me)).map(|(_, p)| p.clone()).collect()
}

/// Node 1 sends the batch; every node (itself too: loop is on) receives
/// exactly its part, in order, each datagram opened on its own.
fn run(security: Security, gso: bool, gro: bool) -> Vec<Transport> {
    let mut n = three(security);
    // Learn addresses: the tokens go to nodes 2 and 3 by node id.
    for t in &mut n[1..] {
        send(t, Dest::Multicast, b"hello");
    }
    for t in n.iter_mut() {
        assert_eq!(drain(t, QUIET).len(), 2);
        t.set_gro(gro).unwrap();
    }
    n[0].set_gso(gso);
    let sent = batch(n[0].max_payload());
    assert!(sent.iter().map(|(_, p)| p.len()).sum::<usize>() > 2 * 65536);
    n[0].send_batch(sent.iter().map(|(d, p)| (*d, p.as_slice()))).unwrap();
    for t in n.iter_mut() {
        let me = t.node_id();
        let got: Vec<Packet> = drain(t, QUIET);
        let want = expected(&sent, me);
        assert_eq!(got.len(), want.len(), "node {me}: count");
        for (k, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g.from, id("127.0.0.1"));
            assert!(g.data == *w, "node {me}: packet {k} differs");
        }
        let s = t.stats();
        assert_eq!(s.invalid_digest + s.bad_frame + s.replayed + s.recv_errors, 0, "{s:?}");
        if gro && gso {
            assert!(s.gro_buffers > 0, "node {me}: no coalesced buffer: {s:?}");
        }
        if !gro {
            assert_eq!(s.gro_buffers, 0, "{s:?}");
        }
    }
    let multicasts = sent.iter().filter(|(d, _)| *d == Dest::Multicast).count() as u64;
    let s = n[0].stats();
    assert_eq!(s.sent, 3 * multicasts + 2, "{s:?}");
    assert_eq!(s.send_errors, 0);
    if gso {
        // 70 full frames alone need two sends per member.
        assert!(s.gso_sends >= 6, "{s:?}");
        assert!(n[0].gso_enabled());
    } else {
        assert_eq!(s.gso_sends, 0, "{s:?}");
    }
    assert_eq!(s.gso_fallbacks, 0, "{s:?}");
    n
}

#[test]
fn batch_with_gso_and_gro_sealed() {
    run(sealed(&KEY_A), true, true);
}

#[test]
fn batch_with_gso_and_gro_plain() {
    run(Security::Off, true, true);
}

#[test]
fn batch_without_gso_gives_the_same_datagrams() {
    run(sealed(&KEY_A), false, true);
    run(Security::Off, false, false);
}

#[test]
fn batch_with_gso_to_receivers_without_gro() {
    run(sealed(&KEY_A), true, false);
}

#[test]
fn a_bad_packet_in_a_batch_costs_only_itself() {
    let mut n = three(sealed(&KEY_A));
    let max = n[0].max_payload();
    let node2 = id("127.0.0.2");
    // node 2's address is not known yet: that token fails, the rest goes
    let r = n[0].send_batch([
        (Dest::Multicast, payload(0, 10)),
        (Dest::Node(node2), payload(1, 10)),
        (Dest::Multicast, vec![0; max + 1]),
        (Dest::Multicast, payload(3, 10)),
    ]);
    // (the oversized frame is found when sealing, before any send)
    assert!(matches!(r, Err(SendError::TooLarge { .. })), "{r:?}");
    assert_eq!(n[0].stats().sent, 2 * 3, "two frames to three members");
    let got: Vec<Vec<u8>> = drain(&mut n[1], QUIET).into_iter().map(|p| p.data).collect();
    assert_eq!(got, vec![payload(0, 10), payload(3, 10)]);
    // an empty batch sends nothing
    n[0].send_batch(std::iter::empty::<(Dest, Vec<u8>)>()).unwrap();
    assert!(drain(&mut n[1], QUIET).is_empty());
}
