//! Transport configuration as the executive hands it over, and the pure
//! rules that turn it into concrete addresses (`bindnetaddr` resolution,
//! node id derivation, payload size).
//!
//! Owns: [`NetConfig`], its validation, [`resolve_bind`], [`nodeid_from_ipv4`],
//! [`max_payload_for`].
//!
//! Must not: parse the config file (that is `aisexec`'s job: it maps the
//! `totem { interface { ... } }` keys onto these fields), open sockets, or
//! read interfaces itself — [`resolve_bind`] takes the interface list as an
//! argument so it is testable.
#![forbid(unsafe_code)]

use crate::crypto::{NodeId, OVERHEAD};
use crate::sys::IfAddr;
use std::fmt;
use std::net::IpAddr;

/// Default `netmtu` (classic).
pub const DEFAULT_NETMTU: u32 = 1500;
/// Default `mcastport` (classic).
pub const DEFAULT_MCASTPORT: u16 = 5405;
/// Default socket buffer size requested for send and receive.
pub const DEFAULT_BUFFER_BYTES: usize = 8 * 1024 * 1024;

/// `transport:` key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportKind {
    /// `transport: udp` (default): IP multicast to `mcastaddr:mcastport`.
    Multicast {
        /// `mcastaddr`, an IPv4 or IPv6 multicast group.
        mcastaddr: IpAddr,
    },
    /// `transport: udpu`: "multicast" is a unicast to every `memberaddr`.
    /// The list may (and usually does) include this node's own address.
    Udpu {
        /// `member { memberaddr }` entries.
        members: Vec<IpAddr>,
    },
}

/// `secauth:` and the authkey.
#[derive(Clone, PartialEq, Eq)]
pub enum Security {
    /// `secauth: off`.
    Off,
    /// `secauth: on` with the content of the authkey file.
    On {
        /// Authkey file content (ais-keygen: 128 random bytes).
        authkey: Vec<u8>,
    },
}

impl fmt::Debug for Security {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Security::Off => f.write_str("Off"),
            Security::On { authkey } => write!(f, "On {{ authkey: <{} bytes> }}", authkey.len()),
        }
    }
}

/// Everything one ring's transport needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetConfig {
    /// Multicast or member list.
    pub transport: TransportKind,
    /// `bindnetaddr`: a network address (the node binds its own interface
    /// address inside that network) or a host address (bound as is). See
    /// [`resolve_bind`].
    pub bindnetaddr: IpAddr,
    /// `mcastport`: every node listens for unicast (and, with multicast,
    /// for the group) on this port.
    pub mcastport: u16,
    /// `nodeid`: required for IPv6; derived from the IPv4 address otherwise.
    pub nodeid: Option<NodeId>,
    /// `clear_node_high_bit`: a node id derived from the address has its top
    /// bit cleared, so it reads as a positive signed 32-bit number.
    pub clear_node_high_bit: bool,
    /// `netmtu`: largest IP datagram to send.
    pub netmtu: u32,
    /// Deliver our own multicast back to us (IP_MULTICAST_LOOP; with udpu,
    /// also send to our own member address). When off, our own packets are
    /// also filtered on receipt (by node id and boot id), since on `lo` the
    /// kernel delivers them anyway. Totem's self-delivery relies on it
    /// unless Totem loops its own messages back itself.
    pub multicast_loop: bool,
    /// Multicast TTL / hop limit (1: stay on the local link).
    pub ttl: u32,
    /// Requested SO_SNDBUF/SO_RCVBUF (forced when privileged).
    pub buffer_bytes: usize,
    /// Packet security.
    pub security: Security,
}

impl NetConfig {
    /// A config with the classic defaults for the given transport.
    pub fn new(transport: TransportKind, bindnetaddr: IpAddr, security: Security) -> Self {
        NetConfig {
            transport,
            bindnetaddr,
            mcastport: DEFAULT_MCASTPORT,
            nodeid: None,
            clear_node_high_bit: false,
            netmtu: DEFAULT_NETMTU,
            multicast_loop: true,
            ttl: 1,
            buffer_bytes: DEFAULT_BUFFER_BYTES,
            security,
        }
    }

    /// Checks the combination of fields (not the interfaces).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let v6 = self.bindnetaddr.is_ipv6();
        match &self.transport {
            TransportKind::Multicast { mcastaddr } => {
                if !mcastaddr.is_multicast() {
                    return Err(ConfigError::NotMulticast(*mcastaddr));
                }
                if mcastaddr.is_ipv6() != v6 {
                    return Err(ConfigError::FamilyMismatch(*mcastaddr));
                }
            }
            TransportKind::Udpu { members } => {
                if members.is_empty() {
                    return Err(ConfigError::NoMembers);
                }
                if let Some(m) = members.iter().find(|m| m.is_ipv6() != v6) {
                    return Err(ConfigError::FamilyMismatch(*m));
                }
                if let Some(m) = members.iter().find(|m| m.is_multicast() || m.is_unspecified()) {
                    return Err(ConfigError::BadMember(*m));
                }
            }
        }
        if self.mcastport < 2 {
            return Err(ConfigError::BadPort(self.mcastport));
        }
        if self.nodeid == Some(0) {
            return Err(ConfigError::ZeroNodeId);
        }
        if v6 && self.nodeid.is_none() {
            return Err(ConfigError::NodeIdRequiredForIpv6);
        }
        let ip_udp = if v6 { 48 } else { 28 };
        if (self.netmtu as usize) < ip_udp + OVERHEAD + 64 {
            return Err(ConfigError::MtuTooSmall(self.netmtu));
        }
        if self.ttl == 0 || self.ttl > 255 {
            return Err(ConfigError::BadTtl(self.ttl));
        }
        if let Security::On { authkey } = &self.security
            && authkey.len() < crate::crypto::MIN_AUTHKEY_LEN
        {
            return Err(ConfigError::AuthkeyTooShort(authkey.len()));
        }
        Ok(())
    }

    /// This node's id when bound to `addr`: `nodeid` if set, else derived
    /// from the IPv4 address (see [`nodeid_from_ipv4`] and
    /// [`clear_node_high_bit`](Self::clear_node_high_bit)).
    pub fn node_id_for(&self, addr: IpAddr) -> Result<NodeId, ConfigError> {
        match (self.nodeid, addr) {
            (Some(n), _) => Ok(n),
            (None, IpAddr::V4(a)) => {
                let id = nodeid_from_ipv4(a);
                let id = if self.clear_node_high_bit { id & 0x7FFF_FFFF } else { id };
                if id == 0 { Err(ConfigError::ZeroNodeId) } else { Ok(id) }
            }
            (None, IpAddr::V6(_)) => Err(ConfigError::NodeIdRequiredForIpv6),
        }
    }
}

/// A configuration the transport cannot use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    NotMulticast(IpAddr),
    FamilyMismatch(IpAddr),
    NoMembers,
    BadMember(IpAddr),
    BadPort(u16),
    ZeroNodeId,
    NodeIdRequiredForIpv6,
    MtuTooSmall(u32),
    BadTtl(u32),
    AuthkeyTooShort(usize),
    /// No local interface address matches `bindnetaddr`.
    NoInterface(IpAddr),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::NotMulticast(a) => write!(f, "mcastaddr {a} is not a multicast address"),
            ConfigError::FamilyMismatch(a) => {
                write!(f, "{a} is not of the same address family as bindnetaddr")
            }
            ConfigError::NoMembers => f.write_str("transport udpu needs at least one member { memberaddr }"),
            ConfigError::BadMember(a) => write!(f, "memberaddr {a} is not a unicast address"),
            ConfigError::BadPort(p) => write!(f, "mcastport {p} is invalid"),
            ConfigError::ZeroNodeId => f.write_str("nodeid 0 is reserved"),
            ConfigError::NodeIdRequiredForIpv6 => f.write_str("nodeid is required with an IPv6 bindnetaddr"),
            ConfigError::MtuTooSmall(m) => write!(f, "netmtu {m} is too small"),
            ConfigError::BadTtl(t) => write!(f, "ttl {t} is out of range 1..=255"),
            ConfigError::AuthkeyTooShort(n) => {
                write!(f, "authkey is {n} bytes, at least 16 required")
            }
            ConfigError::NoInterface(a) => {
                write!(f, "no local interface address matches bindnetaddr {a}")
            }
        }
    }
}
impl std::error::Error for ConfigError {}

/// The local address chosen for `bindnetaddr`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundInterface {
    /// Address to bind the unicast socket to and to send from.
    pub addr: IpAddr,
    /// Interface name.
    pub name: String,
    /// Interface index (multicast membership, IPv6 scope id).
    pub index: u32,
}

fn masked(a: IpAddr, m: IpAddr) -> Option<IpAddr> {
    match (a, m) {
        (IpAddr::V4(a), IpAddr::V4(m)) => Some(IpAddr::V4((u32::from(a) & u32::from(m)).into())),
        (IpAddr::V6(a), IpAddr::V6(m)) => Some(IpAddr::V6((u128::from(a) & u128::from(m)).into())),
        _ => None,
    }
}

/// Picks the local address for `bindnetaddr` among `ifs` (in kernel order):
///
/// 1. an interface address equal to `bindnetaddr` (a host address);
/// 2. otherwise the first interface (up) whose network, `addr & netmask`,
///    equals `bindnetaddr & netmask`:
///    - if `bindnetaddr` *is* that network address (host bits zero), the
///      interface's own address is used (the classic "network" form);
///    - if it has host bits set, `bindnetaddr` itself is used (a local
///      address not listed on its own, such as 127.0.0.2 on `lo`, which
///      is how several executives share one machine).
pub fn resolve_bind(bindnetaddr: IpAddr, ifs: &[IfAddr]) -> Result<BoundInterface, ConfigError> {
    if let Some(i) = ifs.iter().find(|i| i.addr == bindnetaddr) {
        return Ok(BoundInterface { addr: i.addr, name: i.name.clone(), index: i.index });
    }
    for i in ifs.iter().filter(|i| i.up) {
        let (Some(net), Some(want)) = (masked(i.addr, i.netmask), masked(bindnetaddr, i.netmask)) else {
            continue;
        };
        if net != want {
            continue;
        }
        let addr = if want == bindnetaddr { i.addr } else { bindnetaddr };
        return Ok(BoundInterface { addr, name: i.name.clone(), index: i.index });
    }
    Err(ConfigError::NoInterface(bindnetaddr))
}

/// The node id derived from an IPv4 address, as the classic executive did:
/// the 4 address bytes in network order read as a little-endian integer
/// (the in-memory `s_addr` on the x86 hosts the classic ran on), e.g.
/// 127.0.0.1 -> 16777343 (0x0100007F). Fixed to little-endian here so the
/// value does not depend on the host.
pub fn nodeid_from_ipv4(addr: std::net::Ipv4Addr) -> NodeId {
    u32::from_le_bytes(addr.octets())
}

/// Largest Totem payload that fits one datagram of `netmtu` bytes after the
/// IP and UDP headers and the frame overhead.
pub fn max_payload_for(netmtu: u32, ipv6: bool) -> usize {
    let ip_udp = if ipv6 { 40 + 8 } else { 20 + 8 };
    (netmtu as usize).saturating_sub(ip_udp + OVERHEAD)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn ifa(name: &str, index: u32, addr: &str, mask: &str) -> IfAddr {
        IfAddr {
            name: name.into(),
            index,
            addr: addr.parse().unwrap(),
            netmask: mask.parse().unwrap(),
            up: true,
            loopback: name == "lo",
            multicast: true,
        }
    }

    fn ifs() -> Vec<IfAddr> {
        vec![
            ifa("lo", 1, "127.0.0.1", "255.0.0.0"),
            ifa("eth0", 2, "192.168.7.23", "255.255.255.0"),
            ifa("eth1", 3, "10.1.2.3", "255.255.0.0"),
            ifa("lo", 1, "::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
            ifa("eth0", 2, "fd00:1::23", "ffff:ffff:ffff:ffff::"),
        ]
    }

    #[test]
    fn bindnetaddr_network_picks_interface_address() {
        let b = resolve_bind("192.168.7.0".parse().unwrap(), &ifs()).unwrap();
        assert_eq!(b, BoundInterface { addr: "192.168.7.23".parse().unwrap(), name: "eth0".into(), index: 2 });
        let b = resolve_bind("10.1.0.0".parse().unwrap(), &ifs()).unwrap();
        assert_eq!(b.addr, "10.1.2.3".parse::<IpAddr>().unwrap());
        let b = resolve_bind("127.0.0.0".parse().unwrap(), &ifs()).unwrap();
        assert_eq!(b.addr, IpAddr::V4(Ipv4Addr::LOCALHOST));
        let b = resolve_bind("fd00:1::".parse().unwrap(), &ifs()).unwrap();
        assert_eq!(b.addr, "fd00:1::23".parse::<IpAddr>().unwrap());
        assert_eq!(b.index, 2);
    }

    #[test]
    fn bindnetaddr_host_address() {
        let b = resolve_bind("192.168.7.23".parse().unwrap(), &ifs()).unwrap();
        assert_eq!(b.name, "eth0");
        // 127.0.0.2 is local through lo's /8 without being listed
        let b = resolve_bind("127.0.0.2".parse().unwrap(), &ifs()).unwrap();
        assert_eq!(b, BoundInterface { addr: "127.0.0.2".parse().unwrap(), name: "lo".into(), index: 1 });
        let b = resolve_bind(IpAddr::V6(Ipv6Addr::LOCALHOST), &ifs()).unwrap();
        assert_eq!(b.name, "lo");
    }

    #[test]
    fn bindnetaddr_no_match() {
        assert_eq!(
            resolve_bind("172.16.0.0".parse().unwrap(), &ifs()),
            Err(ConfigError::NoInterface("172.16.0.0".parse().unwrap()))
        );
        let mut down = ifs();
        down[1].up = false;
        assert!(resolve_bind("192.168.7.0".parse().unwrap(), &down).is_err());
    }

    #[test]
    fn nodeid_like_classic() {
        assert_eq!(nodeid_from_ipv4(Ipv4Addr::new(127, 0, 0, 1)), 16777343);
        assert_eq!(nodeid_from_ipv4(Ipv4Addr::new(192, 168, 1, 10)), 0x0A01_A8C0);
    }

    #[test]
    fn node_id_given_or_derived_with_or_without_the_high_bit() {
        let mc = TransportKind::Multicast { mcastaddr: "239.192.1.1".parse().unwrap() };
        let mut c = NetConfig::new(mc, "10.0.0.0".parse().unwrap(), Security::Off);
        let high: IpAddr = "10.1.1.200".parse().unwrap();
        assert_eq!(c.node_id_for(high), Ok(0xC801_010A));
        c.clear_node_high_bit = true;
        assert_eq!(c.node_id_for(high), Ok(0x4801_010A));
        // Below the high bit nothing changes.
        assert_eq!(c.node_id_for("192.168.1.10".parse().unwrap()), Ok(0x0A01_A8C0));
        assert_eq!(c.node_id_for("0.0.0.128".parse().unwrap()), Err(ConfigError::ZeroNodeId));
        assert_eq!(c.node_id_for("::1".parse().unwrap()), Err(ConfigError::NodeIdRequiredForIpv6));
        c.nodeid = Some(0x9000_0000);
        assert_eq!(c.node_id_for(high), Ok(0x9000_0000), "a given id is used as given");
    }

    #[test]
    fn payload_sizes() {
        assert_eq!(max_payload_for(1500, false), 1500 - 28 - 48);
        assert_eq!(max_payload_for(1500, true), 1500 - 48 - 48);
        assert_eq!(max_payload_for(10, false), 0);
    }

    #[test]
    fn validation() {
        let key = Security::On { authkey: vec![7; 128] };
        let mc = TransportKind::Multicast { mcastaddr: "239.192.1.1".parse().unwrap() };
        let ok = NetConfig::new(mc.clone(), "127.0.0.0".parse().unwrap(), key.clone());
        assert_eq!(ok.validate(), Ok(()));
        let mut c = ok.clone();
        c.transport = TransportKind::Multicast { mcastaddr: "10.0.0.1".parse().unwrap() };
        assert!(matches!(c.validate(), Err(ConfigError::NotMulticast(_))));
        let mut c = ok.clone();
        c.transport = TransportKind::Multicast { mcastaddr: "ff15::1".parse().unwrap() };
        assert!(matches!(c.validate(), Err(ConfigError::FamilyMismatch(_))));
        let mut c = ok.clone();
        c.bindnetaddr = "::1".parse().unwrap();
        c.transport = TransportKind::Multicast { mcastaddr: "ff15::1".parse().unwrap() };
        assert_eq!(c.validate(), Err(ConfigError::NodeIdRequiredForIpv6));
        c.nodeid = Some(3);
        assert_eq!(c.validate(), Ok(()));
        let mut c = ok.clone();
        c.transport = TransportKind::Udpu { members: vec![] };
        assert_eq!(c.validate(), Err(ConfigError::NoMembers));
        let mut c = ok.clone();
        c.security = Security::On { authkey: vec![1; 3] };
        assert_eq!(c.validate(), Err(ConfigError::AuthkeyTooShort(3)));
        let mut c = ok.clone();
        c.netmtu = 100;
        assert!(matches!(c.validate(), Err(ConfigError::MtuTooSmall(100))));
        let mut c = ok;
        c.nodeid = Some(0);
        assert_eq!(c.validate(), Err(ConfigError::ZeroNodeId));
        assert!(format!("{:?}", key).contains("128 bytes") && !format!("{:?}", key).contains('7'));
    }
}
