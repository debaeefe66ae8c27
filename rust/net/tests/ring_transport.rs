//! A single transport and a redundant pair, both driven as
//! `dyn RingTransport` (as the executive drives them) on loopback: packets
//! go out through `send_outgoing` and come back through `recv`, each kind
//! reports its rings and their status, and a single transport's
//! diagnostics come out as ring 0's.

mod common;
use ais_net::rrp::{RedundantTransport, RrpEvent, RrpMode, RrpParams, STATUS_OK};
use ais_net::{Dest, NetEvent, OpenError, Outgoing, Packet, RingTransport, Security};
use common::*;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(2);

/// Receives on `t` until a packet arrives or `T` passes.
fn recv_one(t: &mut dyn RingTransport) -> Option<Packet> {
    let deadline = Instant::now() + T;
    while Instant::now() < deadline {
        if let Some(p) = t.recv(Instant::now()) {
            return Some(p);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    None
}

fn send(t: &mut dyn RingTransport, bytes: &[u8]) {
    let mut items = std::iter::once(Outgoing::Send(Dest::Multicast, bytes.to_vec()));
    t.send_outgoing(&mut items).unwrap();
}

#[test]
fn a_single_transport_is_ring_0_alone() {
    let members = ["127.0.0.1", "127.0.0.5"];
    let (_, n) = cluster(|port| {
        vec![udpu("127.0.0.1", &members, port, sealed(&KEY_A)), udpu("127.0.0.5", &members, port, Security::Off)]
    });
    let mut n: Vec<Box<dyn RingTransport>> = n.into_iter().map(|t| Box::new(t) as Box<dyn RingTransport>).collect();
    let a = n[0].as_ref();
    assert_eq!(a.node_id(), a.ring0().node_id());
    assert!(std::ptr::eq(a.ring(0).unwrap(), a.ring0()));
    assert!(a.ring(1).is_none());
    assert_eq!(a.rings().len(), 1);
    assert_eq!(a.status(), vec![(0, STATUS_OK.to_string())]);
    assert_eq!(a.fds().len(), 1);
    assert_eq!(a.poll_timeout(), None);
    assert_eq!(n[0].reenable(), 0);
    // Secauth on against off: each hears only itself, and the other's
    // frame is a diagnostic of ring 0.
    send(n[0].as_mut(), b"sealed");
    send(n[1].as_mut(), b"plain");
    for (t, own) in n.iter_mut().zip([&b"sealed"[..], b"plain"]) {
        assert_eq!(recv_one(t.as_mut()).map(|p| p.data), Some(own.to_vec()));
        let deadline = Instant::now() + T;
        while t.ring0().stats().bad_frame == 0 && Instant::now() < deadline {
            assert!(t.recv(Instant::now()).is_none());
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(
            matches!(
                t.poll_event(),
                Some(RrpEvent::Net {
                    ring: 0,
                    event: NetEvent::BadFrame { error: OpenError::ModeMismatch { .. }, .. }
                })
            ),
            "the other mode's frame is reported"
        );
    }
}

#[test]
fn a_redundant_pair_is_two_rings_delivering_once() {
    const M: [&str; 2] = ["127.0.0.1", "127.0.0.2"];
    let node = |bind: &str, ports: (u16, u16)| {
        let mut c0 = udpu(bind, &M, ports.0, Security::Off);
        let mut c1 = udpu(bind, &M, ports.1, Security::Off);
        c0.multicast_loop = false;
        c1.multicast_loop = false;
        let ifs = ais_net::local_interfaces().unwrap();
        let boot = ais_net::crypto::random_boot_id().unwrap();
        RedundantTransport::with_interfaces(&c0, &c1, RrpParams::new(RrpMode::Active), &ifs, boot)
    };
    let (a, b) = (0..20)
        .find_map(|_| {
            let ports = (free_port(), free_port());
            (ports.0 != ports.1).then(|| node("127.0.0.1", ports).ok().zip(node("127.0.0.2", ports).ok()))?
        })
        .expect("free ports");
    let (mut a, mut b): (Box<dyn RingTransport>, Box<dyn RingTransport>) = (Box::new(a), Box::new(b));
    assert_eq!(a.rings().len(), 2);
    assert_eq!(a.status(), vec![(0, STATUS_OK.to_string()), (1, STATUS_OK.to_string())]);
    assert_eq!(a.fds().len(), 2);
    assert_eq!(a.node_id(), a.ring(1).unwrap().node_id(), "both rings carry one node id");
    send(a.as_mut(), b"twice on the wire");
    let p = recv_one(b.as_mut()).expect("delivered");
    assert_eq!((p.from, p.data.as_slice()), (a.node_id(), &b"twice on the wire"[..]));
    // The copy from the other ring arrives too, and is dropped.
    let deadline = Instant::now() + T;
    while (0..2).any(|r| b.ring(r).unwrap().stats().received == 0) && Instant::now() < deadline {
        assert!(b.recv(Instant::now()).is_none(), "a second copy was delivered");
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!((0..2).all(|r| b.ring(r).unwrap().stats().received == 1));
    assert!(b.recv(Instant::now()).is_none());
}
