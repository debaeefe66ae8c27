//! Helpers shared by the loopback tests. Traffic goes only to 127.0.0.0/8,
//! ::1, or addresses inside a network namespace the test created.
#![allow(dead_code)]

use ais_net::{Dest, NetConfig, Packet, Security, Transport, TransportKind};
use std::net::{IpAddr, UdpSocket};
use std::time::{Duration, Instant};

pub const KEY_A: [u8; 128] = [0x5A; 128];
pub const KEY_B: [u8; 128] = [0xA5; 128];

pub fn sealed(key: &[u8]) -> Security {
    Security::On { authkey: key.to_vec() }
}

/// Waits up to `timeout` for the next packet that opens.
pub fn recv_wait(t: &mut Transport, timeout: Duration) -> Option<Packet> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(p) = t.recv(Instant::now()) {
            return Some(p);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        let _ = t.wait_readable(left.min(Duration::from_millis(50)));
    }
}

/// Receives until quiet for `quiet`, returning everything that opened.
pub fn drain(t: &mut Transport, quiet: Duration) -> Vec<Packet> {
    let mut v = Vec::new();
    while let Some(p) = recv_wait(t, quiet) {
        v.push(p);
    }
    v
}

/// A UDP port currently free on 127.0.0.1 (best effort; callers retry).
pub fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn udpu(bind: &str, members: &[&str], port: u16, security: Security) -> NetConfig {
    let mut c = NetConfig::new(
        TransportKind::Udpu { members: members.iter().map(|m| m.parse::<IpAddr>().unwrap()).collect() },
        bind.parse().unwrap(),
        security,
    );
    c.mcastport = port;
    c
}

/// Builds a set of transports on one fresh port, retrying on a port clash.
pub fn cluster(cfgs: impl Fn(u16) -> Vec<NetConfig>) -> (u16, Vec<Transport>) {
    let mut last = None;
    for _ in 0..20 {
        let port = free_port();
        match cfgs(port).iter().map(Transport::new).collect::<Result<Vec<_>, _>>() {
            Ok(v) => return (port, v),
            Err(e) => last = Some(e),
        }
    }
    panic!("could not build cluster: {:?}", last);
}

pub fn send(t: &mut Transport, d: Dest, b: &[u8]) {
    t.send_to(d, b).unwrap_or_else(|e| panic!("send from {}: {e}", t.local_addr()));
}
