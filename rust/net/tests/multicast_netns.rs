//! Multicast transport, IPv4 and IPv6, on the loopback interface of a
//! network namespace this test creates (`aisnet-test-<pid>`), so the host's
//! network configuration is never touched and no packet leaves the
//! namespace. The outer test creates the namespace, configures its `lo`
//! (multicast flag, 224.0.0.0/4 route) for IPv4 and a veth pair carrying
//! three ULA addresses for IPv6 (Linux does not loop IPv6 multicast on
//! `lo`; on a real interface IPV6_MULTICAST_LOOP does it), re-runs
//! this test binary inside it for the `inner_*` tests, and deletes the
//! namespace on every exit path (Drop guard).
//!
//! Needs root and iproute2. Without them it prints SKIPPED and passes,
//! unless AIS_REQUIRE_NETNS=1 is set (then it fails; CI sets it).

mod common;
use ais_net::{ConfigError, Dest, NetConfig, NetError, NetEvent, OpenError, Security, Transport, TransportKind};
use common::*;
use std::net::{IpAddr, SocketAddr};
use std::process::Command;
use std::time::Duration;

const INNER: &str = "AIS_NET_INSIDE_NETNS";
const T: Duration = Duration::from_secs(2);
const QUIET: Duration = Duration::from_millis(150);

struct Netns(String);

impl Netns {
    fn create() -> Result<Netns, String> {
        let name = format!("aisnet-test-{}", std::process::id());
        let out = Command::new("ip").args(["netns", "add", &name]).output().map_err(|e| format!("ip: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        Ok(Netns(name))
    }

    fn sh(&self, script: &str) -> Result<(), String> {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.0, "sh", "-ec", script])
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() { Ok(()) } else { Err(format!("{script}: {}", String::from_utf8_lossy(&out.stderr))) }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

const SETUP: &str = "
ip link set lo multicast on
ip link set lo up
ip route add 224.0.0.0/4 dev lo
ip link add aisv0 type veth peer name aisv1
ip link set aisv0 multicast on
ip link set aisv1 multicast on
ip link set aisv0 up
ip link set aisv1 up
ip -6 addr add fd00:a15::1/64 dev aisv0 nodad
ip -6 addr add fd00:a15::2/64 dev aisv0 nodad
ip -6 addr add fd00:a15::3/64 dev aisv0 nodad
";

#[test]
fn multicast_in_network_namespace() {
    if std::env::var_os(INNER).is_some() {
        return;
    }
    let required = std::env::var("AIS_REQUIRE_NETNS").is_ok_and(|v| v == "1");
    let ns = match Netns::create() {
        Ok(ns) => ns,
        Err(e) if !required => {
            eprintln!("SKIPPED multicast_in_network_namespace: cannot create a network namespace: {e}");
            return;
        }
        Err(e) => panic!("cannot create a network namespace: {e}"),
    };
    ns.sh(SETUP).expect("namespace setup");
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("ip")
        .args(["netns", "exec", &ns.0, "timeout", "120"])
        .arg(&exe)
        .args(["inner_", "--include-ignored", "--nocapture", "--test-threads=1"])
        .env(INNER, "1")
        .output()
        .expect("run inner tests");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("--- inside {} ---\n{stdout}\n{stderr}", ns.0);
    assert!(out.status.success(), "inner multicast tests failed");
    assert!(stdout.contains("5 passed"), "inner tests did not all run");
}

fn inside() -> bool {
    std::env::var_os(INNER).is_some()
}

fn mcast(bind: &str, group: &str, port: u16, nodeid: Option<u32>, security: Security) -> NetConfig {
    let mut c =
        NetConfig::new(TransportKind::Multicast { mcastaddr: group.parse().unwrap() }, bind.parse().unwrap(), security);
    c.mcastport = port;
    c.nodeid = nodeid;
    c
}

/// Three nodes multicast and unicast to each other; each multicast arrives
/// exactly once at every node, the sender included.
fn exercise(nodes: &mut [Transport]) {
    for s in 0..nodes.len() {
        let msg = format!("multicast from {s}");
        send(&mut nodes[s], Dest::Multicast, msg.as_bytes());
        let from = nodes[s].node_id();
        let from_addr = nodes[s].local_addr();
        for (r, t) in nodes.iter_mut().enumerate() {
            let got = drain(t, QUIET);
            assert_eq!(got.len(), 1, "node {r} got {got:?} for {msg}");
            assert_eq!((got[0].from, got[0].addr, got[0].data.as_slice()), (from, from_addr, msg.as_bytes()));
        }
    }
    // the token goes unicast, by node id, to the learned address
    let to = nodes[1].node_id();
    send(&mut nodes[0], Dest::Node(to), b"token");
    assert_eq!(recv_wait(&mut nodes[1], T).unwrap().data, b"token");
    assert!(drain(&mut nodes[2], QUIET).is_empty());
    assert!(drain(&mut nodes[0], QUIET).is_empty());
    for t in nodes.iter() {
        eprintln!("{} {:?}", t.local_addr(), t.stats());
        assert_eq!(t.stats().invalid_digest + t.stats().bad_frame, 0);
    }
}

#[test]
#[ignore = "runs inside the namespace created by multicast_in_network_namespace"]
fn inner_multicast_ipv4() {
    if !inside() {
        return;
    }
    let g = "239.192.21.1";
    let mut nodes: Vec<Transport> = ["127.0.0.0", "127.0.0.2", "127.0.0.3"]
        .iter()
        .map(|b| Transport::new(&mcast(b, g, 5405, None, sealed(&KEY_A))).unwrap())
        .collect();
    // bindnetaddr as a network picks lo's address; node id derived from it
    assert_eq!(nodes[0].local_addr(), "127.0.0.1:5405".parse::<SocketAddr>().unwrap());
    assert_eq!(nodes[0].node_id(), 16777343);
    assert_eq!(nodes[0].interface_name(), "lo");
    exercise(&mut nodes);

    // a node with another key hears the ring but opens nothing, and the
    // ring logs it; a plain node is refused by format
    let mut intruder = Transport::new(&mcast("127.0.0.4", g, 5405, None, sealed(&KEY_B))).unwrap();
    let mut plain = Transport::new(&mcast("127.0.0.5", g, 5405, None, Security::Off)).unwrap();
    send(&mut intruder, Dest::Multicast, b"let me in");
    send(&mut plain, Dest::Multicast, b"me too");
    send(&mut nodes[0], Dest::Multicast, b"members only");
    for t in nodes.iter_mut() {
        let got = drain(t, QUIET);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].data, b"members only");
        let ev: Vec<NetEvent> = std::iter::from_fn(|| t.poll_event()).collect();
        assert!(ev.iter().any(|e| matches!(e, NetEvent::InvalidDigest { from, .. } if from.ip() == "127.0.0.4".parse::<IpAddr>().unwrap())), "{ev:?}");
        assert!(
            ev.iter().any(|e| matches!(e, NetEvent::BadFrame { error: OpenError::ModeMismatch { .. }, .. })),
            "{ev:?}"
        );
    }
    let own: Vec<_> = drain(&mut intruder, QUIET).into_iter().map(|p| p.data).collect();
    assert_eq!(own, vec![b"let me in".to_vec()], "intruder opens only its own packet");
    assert!(intruder.stats().invalid_digest >= 1);

    // loop off: the sender does not hear itself, the others do
    let mut quiet_cfg = mcast("127.0.0.6", g, 5405, None, sealed(&KEY_A));
    quiet_cfg.multicast_loop = false;
    let mut quiet = Transport::new(&quiet_cfg).unwrap();
    send(&mut quiet, Dest::Multicast, b"no echo");
    assert!(drain(&mut quiet, QUIET).is_empty());
    assert_eq!(quiet.stats().own_dropped, 1, "on lo the kernel loops it anyway; the transport filters it");
    for t in nodes.iter_mut() {
        assert_eq!(recv_wait(t, T).map(|p| p.data), Some(b"no echo".to_vec()));
    }

    // A unicast (a token) sent after multicasts (data) is read after them,
    // even when both are already queued: otherwise the receiver would ask
    // for retransmission of data it simply has not read yet.
    let to = nodes[0].node_id();
    for i in 0..10u8 {
        send(&mut nodes[1], Dest::Multicast, &[b'm', i]);
    }
    send(&mut nodes[1], Dest::Node(to), b"token");
    std::thread::sleep(Duration::from_millis(100));
    let got: Vec<Vec<u8>> = drain(&mut nodes[0], QUIET).into_iter().map(|p| p.data).collect();
    assert_eq!(got.len(), 11, "{got:?}");
    assert_eq!(got.last().map(Vec::as_slice), Some(&b"token"[..]), "{got:?}");
}

#[test]
#[ignore = "runs inside the namespace created by multicast_in_network_namespace"]
fn inner_multicast_ipv6() {
    if !inside() {
        return;
    }
    let g = "ff15::a15:1";
    // node id is required for IPv6
    match Transport::new(&mcast("fd00:a15::1", g, 5407, None, sealed(&KEY_A))) {
        Err(NetError::Config(ConfigError::NodeIdRequiredForIpv6)) => {}
        other => panic!("expected NodeIdRequiredForIpv6, got {other:?}"),
    }
    let mut nodes: Vec<Transport> = ["fd00:a15::1", "fd00:a15::2", "fd00:a15::3"]
        .iter()
        .zip(1u32..)
        .map(|(b, id)| Transport::new(&mcast(b, g, 5407, Some(id), sealed(&KEY_A))).unwrap())
        .collect();
    assert_eq!(nodes[0].local_addr().ip(), "fd00:a15::1".parse::<IpAddr>().unwrap());
    assert_eq!(nodes[0].interface_name(), "aisv0");
    assert_eq!(nodes[0].max_payload(), 1500 - 48 - ais_net::crypto::OVERHEAD);
    exercise(&mut nodes);
}

#[test]
#[ignore = "runs inside the namespace created by multicast_in_network_namespace"]
fn inner_multicast_plain_ipv4() {
    if !inside() {
        return;
    }
    let mut nodes: Vec<Transport> = ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
        .iter()
        .map(|b| Transport::new(&mcast(b, "239.192.21.2", 5409, None, Security::Off)).unwrap())
        .collect();
    exercise(&mut nodes);
}

#[test]
#[ignore = "runs inside the namespace created by multicast_in_network_namespace"]
fn inner_udpu_ipv6() {
    if !inside() {
        return;
    }
    let members = ["fd00:a15::1", "fd00:a15::2", "fd00:a15::3"];
    let mut nodes: Vec<Transport> = members
        .iter()
        .zip(10u32..)
        .map(|(b, id)| {
            let mut c = udpu(b, &members, 5411, sealed(&KEY_A));
            c.nodeid = Some(id);
            Transport::new(&c).unwrap()
        })
        .collect();
    exercise(&mut nodes);
}

/// One batch from node 0 (more than 64 frames and 64 KiB, a short frame
/// ending a GSO group, the token last) reaches every node of the group as
/// the same datagrams in the same order, sealed, on IPv4 `lo` and on the
/// IPv6 veth; then the same with the `sendmmsg` fallback.
fn batch_to_the_group(nodes: &mut [Transport]) {
    let max = nodes[0].max_payload();
    let token_to = nodes[1].node_id();
    // learn node 1's address
    send(&mut nodes[1], Dest::Multicast, b"hi");
    for t in nodes.iter_mut() {
        assert_eq!(drain(t, QUIET).len(), 1);
    }
    for gso in [true, false] {
        nodes[0].set_gso(gso);
        let mut batch: Vec<(Dest, Vec<u8>)> = (0..100u32)
            .map(|i| {
                let len = match i {
                    0..70 => max,
                    70 => 100,
                    _ => 4 + (i as usize * 53) % (max - 4),
                };
                let mut p = vec![i as u8; len];
                p[..4].copy_from_slice(&i.to_le_bytes());
                (Dest::Multicast, p)
            })
            .collect();
        batch.push((Dest::Node(token_to), b"token".to_vec()));
        let before = nodes[0].stats().gso_sends;
        nodes[0].send_batch(batch.iter().map(|(d, p)| (*d, p.as_slice()))).unwrap();
        assert_eq!(nodes[0].stats().gso_sends > before, gso, "{:?}", nodes[0].stats());
        for t in nodes.iter_mut() {
            let me = t.node_id();
            let got: Vec<Vec<u8>> = drain(t, QUIET).into_iter().map(|p| p.data).collect();
            let want: Vec<Vec<u8>> = batch
                .iter()
                .filter(|(d, _)| *d == Dest::Multicast || *d == Dest::Node(me))
                .map(|(_, p)| p.clone())
                .collect();
            assert_eq!(got.len(), want.len(), "node {me} gso {gso}");
            assert!(got == want, "node {me} gso {gso}: order or content differs");
            let s = t.stats();
            assert_eq!(s.invalid_digest + s.bad_frame + s.replayed, 0, "{s:?}");
        }
    }
    assert_eq!(nodes[0].stats().gso_fallbacks, 0);
}

#[test]
#[ignore = "runs inside the namespace created by multicast_in_network_namespace"]
fn inner_multicast_batch() {
    if !inside() {
        return;
    }
    let big = |mut c: NetConfig| {
        c.buffer_bytes = 4 << 20;
        c
    };
    let mut v4: Vec<Transport> = ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
        .iter()
        .map(|b| Transport::new(&big(mcast(b, "239.192.21.3", 5413, None, sealed(&KEY_A)))).unwrap())
        .collect();
    batch_to_the_group(&mut v4);
    let mut v6: Vec<Transport> = ["fd00:a15::1", "fd00:a15::2", "fd00:a15::3"]
        .iter()
        .zip(1u32..)
        .map(|(b, id)| Transport::new(&big(mcast(b, "ff15::a15:2", 5415, Some(id), sealed(&KEY_A)))).unwrap())
        .collect();
    batch_to_the_group(&mut v6);
}
