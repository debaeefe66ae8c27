//! udpu transport between several transports on 127.0.0.x (loopback only).

mod common;
use ais_net::config::nodeid_from_ipv4;
use ais_net::crypto::OVERHEAD;
use ais_net::{Dest, NetEvent, OpenError, Security, SendError, Transport};
use common::*;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(2);
const QUIET: Duration = Duration::from_millis(150);
const MEMBERS: [&str; 3] = ["127.0.0.1", "127.0.0.2", "127.0.0.3"];

fn three(security: Security) -> Vec<Transport> {
    cluster(|port| MEMBERS.iter().map(|b| udpu(b, &MEMBERS, port, security.clone())).collect()).1
}

fn id(a: &str) -> u32 {
    nodeid_from_ipv4(a.parse().unwrap())
}

#[test]
fn three_nodes_multicast_and_unicast_sealed_and_plain() {
    for security in [sealed(&KEY_A), Security::Off] {
        let mut n = three(security);
        assert_eq!(n[0].node_id(), 16777343);
        assert_eq!(n[1].node_id(), id("127.0.0.2"));

        // "multicast" reaches every member, the sender included (loop on)
        send(&mut n[0], Dest::Multicast, b"hello ring");
        for t in n.iter_mut() {
            let p = recv_wait(t, T).expect("multicast not received");
            assert_eq!((p.from, p.data.as_slice()), (id("127.0.0.1"), &b"hello ring"[..]));
            assert_eq!(
                p.addr,
                "127.0.0.1:0".parse::<SocketAddr>().map(|a| SocketAddr::new(a.ip(), t.local_addr().port())).unwrap()
            );
            assert!(drain(t, QUIET).is_empty(), "duplicate delivery");
        }

        // node 2 learned node 1's address; unicast (the token) goes back
        assert_eq!(n[1].node_addr(id("127.0.0.1")), Some(n[0].local_addr()));
        send(&mut n[1], Dest::Node(id("127.0.0.1")), b"token");
        let p = recv_wait(&mut n[0], T).unwrap();
        assert_eq!((p.from, p.data.as_slice()), (id("127.0.0.2"), &b"token"[..]));
        assert!(drain(&mut n[2], QUIET).is_empty(), "unicast leaked to node 3");

        // unknown node id
        assert!(matches!(n[2].send_to(Dest::Node(42), b"x"), Err(SendError::UnknownNode(42))));
        // to itself by node id
        let me = n[2].node_id();
        send(&mut n[2], Dest::Node(me), b"me");
        assert_eq!(recv_wait(&mut n[2], T).unwrap().data, b"me");
        for t in &n {
            assert_eq!(t.stats().invalid_digest + t.stats().bad_frame + t.stats().replayed, 0, "{:?}", t.stats());
        }
    }
}

#[test]
fn mtu_respected() {
    let mut n = three(sealed(&KEY_A));
    let max = n[0].max_payload();
    assert_eq!(max, 1500 - 28 - OVERHEAD);
    let big = vec![0x42; max + 1];
    assert!(
        matches!(n[0].send_to(Dest::Multicast, &big), Err(SendError::TooLarge { len, max: m }) if len == max + 1 && m == max)
    );
    let exact = vec![0x24; max];
    send(&mut n[0], Dest::Multicast, &exact);
    assert_eq!(recv_wait(&mut n[1], T).unwrap().data, exact);
}

#[test]
fn wrong_key_never_opens_and_is_logged_once_per_second() {
    let members = ["127.0.0.1", "127.0.0.2", "127.0.0.4"];
    let (_, mut n) = cluster(|port| {
        vec![
            udpu("127.0.0.1", &members, port, sealed(&KEY_A)),
            udpu("127.0.0.2", &members, port, sealed(&KEY_A)),
            udpu("127.0.0.4", &members, port, sealed(&KEY_B)),
        ]
    });
    for i in 0..10u8 {
        send(&mut n[2], Dest::Multicast, &[i; 100]);
    }
    // the intruder hears itself (same key), the others nothing
    assert_eq!(drain(&mut n[2], QUIET).len(), 10);
    let t0 = Instant::now();
    for t in n[..2].iter_mut() {
        let deadline = Instant::now() + T;
        while t.stats().invalid_digest < 10 && Instant::now() < deadline {
            assert!(t.recv(t0).is_none(), "a packet sealed with another key opened");
            let _ = t.wait_readable(Duration::from_millis(20));
        }
        assert_eq!(t.stats().invalid_digest, 10);
        let ev: Vec<NetEvent> = std::iter::from_fn(|| t.poll_event()).collect();
        let from: SocketAddr = SocketAddr::new("127.0.0.4".parse().unwrap(), t.local_addr().port());
        assert_eq!(ev, vec![NetEvent::InvalidDigest { from, suppressed: 0 }]);
        assert!(ev[0].to_string().starts_with("Invalid digest from 127.0.0.4:"));
        assert_eq!(t.node_addr(id("127.0.0.4")), None, "unauthenticated sender learned");
    }
    // a second later the next failure is logged again, with the count
    send(&mut n[2], Dest::Multicast, b"again");
    assert_eq!(recv_wait(&mut n[2], T).unwrap().data, b"again");
    let later = t0 + Duration::from_millis(1000);
    let deadline = Instant::now() + T;
    while n[0].stats().invalid_digest < 11 && Instant::now() < deadline {
        assert!(n[0].recv(later).is_none());
        let _ = n[0].wait_readable(Duration::from_millis(20));
    }
    match n[0].poll_event() {
        Some(NetEvent::InvalidDigest { suppressed: 9, .. }) => {}
        e => panic!("expected a second Invalid digest with 9 suppressed, got {e:?}"),
    }
    // and the good nodes still talk
    send(&mut n[0], Dest::Multicast, b"ok");
    assert_eq!(recv_wait(&mut n[1], T).unwrap().data, b"ok");
    assert!(drain(&mut n[2], QUIET).is_empty());
    assert_eq!(n[2].stats().invalid_digest, 1);
}

#[test]
fn secauth_on_and_off_never_interoperate() {
    let members = ["127.0.0.1", "127.0.0.5"];
    let (_, mut n) = cluster(|port| {
        vec![udpu("127.0.0.1", &members, port, sealed(&KEY_A)), udpu("127.0.0.5", &members, port, Security::Off)]
    });
    send(&mut n[0], Dest::Multicast, b"sealed");
    send(&mut n[1], Dest::Multicast, b"plain");
    // each hears only itself
    assert_eq!(drain(&mut n[0], QUIET).iter().map(|p| p.data.clone()).collect::<Vec<_>>(), vec![b"sealed".to_vec()]);
    assert_eq!(drain(&mut n[1], QUIET).iter().map(|p| p.data.clone()).collect::<Vec<_>>(), vec![b"plain".to_vec()]);
    for t in n.iter_mut() {
        assert_eq!(t.stats().bad_frame, 1);
        assert!(matches!(t.poll_event(), Some(NetEvent::BadFrame { error: OpenError::ModeMismatch { .. }, .. })));
    }
}

#[test]
fn non_members_and_garbage_are_dropped() {
    let (port, mut n) = cluster(|port| vec![udpu("127.0.0.1", &MEMBERS, port, sealed(&KEY_A))]);
    let stranger = UdpSocket::bind("127.0.0.9:0").unwrap();
    stranger.send_to(b"garbage from outside", ("127.0.0.1", port)).unwrap();
    // a member address (right port) with garbage
    let member = UdpSocket::bind(("127.0.0.3", port)).unwrap();
    member.send_to(b"garbage", ("127.0.0.1", port)).unwrap();
    member.send_to(&[0u8; 10], ("127.0.0.1", port)).unwrap();
    assert!(drain(&mut n[0], QUIET).is_empty());
    let s = n[0].stats();
    assert_eq!((s.unknown_source, s.bad_frame, s.received), (1, 2, 0), "{s:?}");
}

#[test]
fn loop_off_does_not_hear_itself() {
    let (_, mut n) = cluster(|port| {
        MEMBERS[..2]
            .iter()
            .map(|b| {
                let mut c = udpu(b, &MEMBERS[..2], port, sealed(&KEY_A));
                c.multicast_loop = false;
                c
            })
            .collect()
    });
    send(&mut n[0], Dest::Multicast, b"out");
    assert_eq!(recv_wait(&mut n[1], T).unwrap().data, b"out");
    assert!(drain(&mut n[0], QUIET).is_empty());
}

#[test]
fn fd_is_readable_exactly_when_data_is_queued() {
    let mut n = three(sealed(&KEY_A));
    assert!(n[1].as_raw_fd() >= 0);
    assert!(!n[1].wait_readable(Duration::from_millis(50)).unwrap());
    send(&mut n[0], Dest::Multicast, b"ping");
    assert!(n[1].wait_readable(T).unwrap());
    assert!(n[1].recv(Instant::now()).is_some());
    assert!(n[1].recv(Instant::now()).is_none());
    assert!(!n[1].wait_readable(Duration::from_millis(50)).unwrap());
}

#[test]
fn restarted_sender_is_accepted_and_replays_are_not() {
    let members = &MEMBERS[..];
    let (port, mut n) = cluster(|port| members[..2].iter().map(|b| udpu(b, members, port, sealed(&KEY_A))).collect());
    send(&mut n[0], Dest::Multicast, b"first life");
    assert_eq!(recv_wait(&mut n[1], T).unwrap().data, b"first life");
    // restart node 1: same address and node id, new boot id, counter at 0
    drop(n.remove(0));
    let mut again = Transport::new(&udpu("127.0.0.1", members, port, sealed(&KEY_A))).unwrap();
    send(&mut again, Dest::Multicast, b"second life");
    assert_eq!(recv_wait(&mut n[0], T).unwrap().data, b"second life");
    // capture a sealed datagram on the unused member address 127.0.0.3: a
    // token for node 99
    let spy = UdpSocket::bind(("127.0.0.3", port)).unwrap();
    again.set_node_addr(99, spy.local_addr().unwrap());
    send(&mut again, Dest::Node(99), b"token for 99");
    let mut buf = [0u8; 2048];
    spy.set_read_timeout(Some(T)).unwrap();
    let (len, _) = spy.recv_from(&mut buf).unwrap();
    let dst = n[0].local_addr();
    // handed to node 2, it is refused: it names its receiver
    spy.send_to(&buf[..len], dst).unwrap();
    // a frame for node 2 that node 2 never saw, played twice: the first
    // copy opens, the second is rejected by the replay window
    let mut frame = Vec::new();
    again.seal_frame(Dest::Node(n[0].node_id()), b"recorded", &mut frame).unwrap();
    spy.send_to(&frame, dst).unwrap();
    spy.send_to(&frame, dst).unwrap();
    let got = drain(&mut n[0], QUIET);
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].from, got[0].data.as_slice()), (id("127.0.0.1"), &b"recorded"[..]));
    assert_eq!((n[0].stats().replayed, n[0].stats().not_for_us), (1, 1));
    // counted for the source they came from
    let by_spy: Vec<_> = n[0].rejections().filter(|(a, _)| *a == spy.local_addr().unwrap()).collect();
    assert_eq!(by_spy.len(), 1);
    assert_eq!((by_spy[0].1.replayed, by_spy[0].1.not_for_us, by_spy[0].1.total()), (1, 1, 2));
    assert!(matches!(n[0].poll_event(), Some(NetEvent::BadFrame { error: OpenError::NotForUs { dest: 99 }, .. })));
    // the authenticated packet came from a new address: reported
    assert_eq!(
        n[0].poll_event(),
        Some(NetEvent::AddressChanged {
            node: id("127.0.0.1"),
            old: again.local_addr(),
            new: spy.local_addr().unwrap()
        })
    );
    // the next real packet moves the mapping back
    send(&mut again, Dest::Multicast, b"real");
    assert_eq!(recv_wait(&mut n[0], T).unwrap().data, b"real");
    assert_eq!(n[0].node_addr(id("127.0.0.1")), Some(again.local_addr()));
}

#[test]
fn burst_does_not_drop_locally() {
    let members = &MEMBERS[..2];
    let (_, mut n) = cluster(|port| members.iter().map(|b| udpu(b, members, port, sealed(&KEY_A))).collect());
    let (snd, rcv) = n[1].buffer_sizes();
    eprintln!("socket buffers: SO_SNDBUF {snd} SO_RCVBUF {rcv}");
    let to = n[1].node_id();
    // learn the address first
    send(&mut n[1], Dest::Multicast, b"hi");
    assert!(recv_wait(&mut n[0], T).is_some());
    assert_eq!(recv_wait(&mut n[1], T).unwrap().data, b"hi", "own multicast");
    assert_eq!(n[0].node_addr(to), Some(n[1].local_addr()));
    const COUNT: u32 = 3000;
    let payload = vec![0x77u8; 1000];
    for i in 0..COUNT {
        let mut p = payload.clone();
        p[..4].copy_from_slice(&i.to_be_bytes());
        n[0].send_to(Dest::Node(to), &p).unwrap();
    }
    let got = drain(&mut n[1], QUIET);
    if rcv >= 4 << 20 {
        assert_eq!(got.len() as u32, COUNT, "dropped with SO_RCVBUF {rcv}");
        for (i, p) in got.iter().enumerate() {
            assert_eq!(&p.data[..4], &(i as u32).to_be_bytes(), "reordered on loopback");
        }
    } else {
        eprintln!("SO_RCVBUF only {rcv} (unprivileged): received {}/{COUNT}", got.len());
    }
}

#[test]
fn duplicate_node_id_is_refused() {
    let members = &MEMBERS[..];
    let (_, mut n) = cluster(|port| {
        members
            .iter()
            .map(|b| {
                let mut c = udpu(b, members, port, sealed(&KEY_A));
                c.nodeid = Some(if *b == "127.0.0.2" { 2 } else { 1 });
                c
            })
            .collect()
    });
    // 127.0.0.3 misconfigured with node id 1, like 127.0.0.1
    send(&mut n[2], Dest::Multicast, b"i am 1 too");
    assert!(drain(&mut n[0], QUIET).is_empty());
    assert_eq!(n[0].stats().foreign_self, 1);
    assert!(matches!(n[0].poll_event(), Some(NetEvent::DuplicateNodeId { from, .. }) if from == n[2].local_addr()));
    assert_eq!(n[0].node_addr(1), Some(n[0].local_addr()), "own mapping kept");
    // node 2 cannot tell them apart by id: it follows the last sender
    assert_eq!(recv_wait(&mut n[1], T).unwrap().from, 1);
}

/// Session keys through the transport: payloads the classifier puts in a
/// session are sealed with its key, open only where it is installed (a
/// node without it drops them quietly as an unknown key), are never sent
/// under the authkey when the key is missing, and stop opening once the
/// key is retired.
#[test]
fn session_frames_open_only_where_the_key_is() {
    use ais_net::crypto::KeyClass;
    fn classify(p: &[u8]) -> KeyClass {
        if p.first() == Some(&b'R') { KeyClass::Session(7) } else { KeyClass::Auth }
    }
    let mut n = three(sealed(&KEY_A));
    for t in n.iter_mut() {
        t.set_key_classifier(classify);
    }
    // no key yet: not sent at all
    assert!(matches!(
        n[0].send_to(Dest::Multicast, b"R1"),
        Err(SendError::Seal(ais_net::crypto::SealError::NoSessionKey(7)))
    ));
    assert_eq!(n[0].stats().no_session_key, 1);
    for t in n.iter_mut().take(2) {
        t.set_session_keys(&[(7, &[0x5E; 32])]).unwrap();
    }
    send(&mut n[0], Dest::Multicast, b"R2");
    let p = recv_wait(&mut n[1], T).unwrap();
    assert_eq!((p.data.as_slice(), p.key), (&b"R2"[..], KeyClass::Session(7)));
    assert!(drain(&mut n[2], QUIET).is_empty());
    assert_eq!((n[2].stats().unknown_key, n[2].stats().invalid_digest), (1, 0));
    assert_eq!(n[2].poll_event(), None, "an unknown key is not logged");
    // authkey traffic still reaches everyone
    send(&mut n[0], Dest::Multicast, b"J");
    assert_eq!(recv_wait(&mut n[2], T).unwrap().key, KeyClass::Auth);
    // retired on node 2: the ring's frames stop opening there
    n[1].set_session_keys(&[]).unwrap();
    drain(&mut n[1], QUIET);
    send(&mut n[0], Dest::Multicast, b"R3");
    assert!(drain(&mut n[1], QUIET).is_empty());
    assert_eq!(n[1].stats().unknown_key, 1);
}
