//! Offload paths that need the transport's sockets (loopback only): the
//! kernel refusing GSO, and a GRO buffer holding bad datagrams.

use super::*;
use crate::config::TransportKind;
use std::net::UdpSocket;

const KEY: [u8; 32] = [0x3c; 32];

fn udpu(bind: &str, members: &[&str], port: u16) -> NetConfig {
    let mut c = NetConfig::new(
        TransportKind::Udpu { members: members.iter().map(|m| m.parse().unwrap()).collect() },
        bind.parse().unwrap(),
        Security::On { authkey: KEY.to_vec() },
    );
    c.mcastport = port;
    c.multicast_loop = false;
    c
}

/// Transports for `binds` on one free port (retried on a clash).
fn on_free_port(binds: &[&str], members: &[&str]) -> (u16, Vec<Transport>) {
    for _ in 0..20 {
        let port = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let t: Result<Vec<_>, _> = binds.iter().map(|b| Transport::new(&udpu(b, members, port))).collect();
        if let Ok(t) = t {
            return (port, t);
        }
    }
    panic!("no free port");
}

fn drain(t: &mut Transport) -> Vec<Packet> {
    let mut v = Vec::new();
    while t.wait_readable(Duration::from_millis(200)).unwrap_or(false) || t.has_buffered() {
        while let Some(p) = t.recv(Instant::now()) {
            v.push(p);
        }
    }
    v
}

#[test]
fn a_kernel_that_refuses_gso_gets_sendmmsg_from_then_on() {
    let members = ["127.0.0.1", "127.0.0.2"];
    let (_, mut n) = on_free_port(&members, &members);
    // UDP GSO needs checksums: with SO_NO_CHECK the kernel says EINVAL.
    sys::setsockopt_int(n[0].sockets[0].as_raw_fd(), libc::SOL_SOCKET, libc::SO_NO_CHECK, 1).unwrap();
    let max = n[0].max_payload();
    let batch: Vec<(Dest, Vec<u8>)> =
        (0..20u8).map(|i| (Dest::Multicast, vec![i; if i == 19 { 7 } else { max }])).collect();
    for round in 0..2 {
        n[0].send_batch(batch.iter().map(|(d, p)| (*d, p))).unwrap();
        let got: Vec<Vec<u8>> = drain(&mut n[1]).into_iter().map(|p| p.data).collect();
        let want: Vec<Vec<u8>> = batch.iter().map(|(_, p)| p.clone()).collect();
        assert!(got == want, "round {round}: {} of {} frames", got.len(), want.len());
        let s = n[0].stats();
        assert_eq!((s.gso_fallbacks, s.gso_sends), (1, 0), "{s:?}");
        assert_eq!(s.sent, 20 * (round + 1));
        assert!(!n[0].gso_enabled());
    }
}

#[test]
fn every_datagram_of_a_gro_buffer_is_opened_on_its_own() {
    let (port, mut n) = on_free_port(&["127.0.0.1"], &["127.0.0.1", "127.0.0.9"]);
    let rx = &mut n[0];
    assert!(rx.gro_enabled());
    let peer = UdpSocket::bind(("127.0.0.9", port)).unwrap();
    let mut codec = PacketCodec::sealed(&KEY, 9, 77).unwrap();
    let payloads: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; if i == 4 { 100 } else { 500 }]).collect();
    let mut frames: Vec<Vec<u8>> = payloads.iter().map(|p| codec.seal(p).unwrap()).collect();
    let last = frames[1].len() - 1;
    frames[1][last - 20] ^= 1; // tampered: Invalid digest
    frames[2] = vec![0xff; frames[2].len()]; // not a frame at all
    let parts: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
    let seg = frames[0].len() as u16;
    let to = SockAddr::from(rx.local_addr());
    let fd = peer.as_raw_fd();
    sys::udp::send_segments(fd, &to, &parts, Some(seg)).unwrap();
    peer.send_to(&codec.seal(b"after").unwrap(), rx.local_addr()).unwrap();
    assert!(rx.wait_readable(Duration::from_secs(2)).unwrap());
    std::thread::sleep(Duration::from_millis(50));

    let now = Instant::now();
    assert_eq!(rx.recv(now).map(|p| p.data), Some(payloads[0].clone()));
    assert!(rx.has_buffered());
    // the rest of the buffer, and not the datagram queued behind it
    assert_eq!(rx.recv_buffered(now).map(|p| p.data), Some(payloads[3].clone()));
    assert_eq!(rx.recv_buffered(now).map(|p| p.data), Some(payloads[4].clone()));
    assert_eq!(rx.recv_buffered(now).map(|p| p.data), None);
    assert!(!rx.has_buffered());
    assert_eq!(rx.recv(now).map(|p| p.data), Some(b"after".to_vec()));
    assert!(rx.recv(now).is_none());
    let s = rx.stats();
    assert_eq!((s.received, s.invalid_digest, s.bad_frame, s.gro_buffers), (4, 1, 1, 1), "{s:?}");
}

#[test]
fn without_gro_the_same_burst_arrives_datagram_by_datagram() {
    let (port, mut n) = on_free_port(&["127.0.0.1"], &["127.0.0.1", "127.0.0.9"]);
    let rx = &mut n[0];
    rx.set_gro(false).unwrap();
    let peer = UdpSocket::bind(("127.0.0.9", port)).unwrap();
    let mut codec = PacketCodec::sealed(&KEY, 9, 78).unwrap();
    let frames: Vec<Vec<u8>> = (0..64u8).map(|i| codec.seal(&[i; 300]).unwrap()).collect();
    let parts: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
    let to = SockAddr::from(rx.local_addr());
    sys::udp::send_segments(peer.as_raw_fd(), &to, &parts, Some(frames[0].len() as u16)).unwrap();
    let got: Vec<u8> = drain(rx).iter().map(|p| p.data[0]).collect();
    assert_eq!(got, (0..64u8).collect::<Vec<_>>());
    assert_eq!(rx.stats().gro_buffers, 0);
    // too many parts for one send is refused before the kernel
    let more: Vec<&[u8]> = vec![&frames[0][..]; 65];
    assert!(sys::udp::send_segments(peer.as_raw_fd(), &to, &more, Some(10)).is_err());
}
