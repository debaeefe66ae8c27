//! The only module of `ais-net` allowed to use `unsafe`: thin, checked
//! wrappers around the few libc calls that neither `std` nor `socket2` offer.
//!
//! Owns: interface enumeration (`getifaddrs`), kernel randomness
//! (`getrandom`), forced socket buffer sizes (`SO_*BUFFORCE`), integer
//! `setsockopt`, an epoll instance used only as a readiness aggregate, and
//! (in [`udp`]) segmentation offload and batched sends.
//!
//! Must not: hold protocol state, allocate per packet, or expose a raw
//! pointer. Every function returns owned, safe values or an `io::Error`.

use std::ffi::CStr;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

pub mod udp;

/// One address of one local interface, as reported by `getifaddrs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfAddr {
    /// Interface name (`lo`, `eth0`).
    pub name: String,
    /// Interface index (`if_nametoindex`), used for IPv6 multicast/scope ids.
    pub index: u32,
    /// The address.
    pub addr: IpAddr,
    /// Its netmask (same family).
    pub netmask: IpAddr,
    /// `IFF_UP`.
    pub up: bool,
    /// `IFF_LOOPBACK`.
    pub loopback: bool,
    /// `IFF_MULTICAST`.
    pub multicast: bool,
}

fn sockaddr_to_ip(sa: *const libc::sockaddr) -> Option<IpAddr> {
    if sa.is_null() {
        return None;
    }
    // SAFETY: `sa` is non-null and points to a sockaddr filled by getifaddrs;
    // we read `sa_family` first and only then reinterpret it as the
    // matching, larger structure, as getifaddrs guarantees its size.
    unsafe {
        match i32::from((*sa).sa_family) {
            libc::AF_INET => {
                let sin = &*(sa as *const libc::sockaddr_in);
                Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr))))
            }
            libc::AF_INET6 => {
                let sin6 = &*(sa as *const libc::sockaddr_in6);
                Some(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)))
            }
            _ => None,
        }
    }
}

/// Every IPv4/IPv6 address of every local interface, in kernel order.
pub fn interfaces() -> io::Result<Vec<IfAddr>> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs writes a list head into `head`; freed below.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut out = Vec::new();
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list returned by getifaddrs, valid
        // until freeifaddrs; we copy everything we keep.
        let ifa = unsafe { &*cur };
        cur = ifa.ifa_next;
        let (Some(addr), Some(netmask)) = (sockaddr_to_ip(ifa.ifa_addr), sockaddr_to_ip(ifa.ifa_netmask)) else {
            continue;
        };
        if addr.is_ipv4() != netmask.is_ipv4() || ifa.ifa_name.is_null() {
            continue;
        }
        // SAFETY: ifa_name is a NUL-terminated string owned by the list.
        let cname = unsafe { CStr::from_ptr(ifa.ifa_name) };
        // SAFETY: if_nametoindex only reads the NUL-terminated name.
        let index = unsafe { libc::if_nametoindex(cname.as_ptr()) };
        let flags = ifa.ifa_flags as libc::c_int;
        out.push(IfAddr {
            name: cname.to_string_lossy().into_owned(),
            index,
            addr,
            netmask,
            up: flags & libc::IFF_UP != 0,
            loopback: flags & libc::IFF_LOOPBACK != 0,
            multicast: flags & libc::IFF_MULTICAST != 0,
        });
    }
    // SAFETY: `head` came from getifaddrs and is freed exactly once.
    unsafe { libc::freeifaddrs(head) };
    Ok(out)
}

/// Fills `buf` from the kernel CSPRNG (`getrandom(2)`, blocking only until
/// the pool is initialised at boot).
pub fn random_bytes(buf: &mut [u8]) -> io::Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        let rest = &mut buf[filled..];
        // SAFETY: writes at most `rest.len()` bytes into `rest`.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        filled += n as usize;
    }
    Ok(())
}

/// `setsockopt(fd, level, name, &value, sizeof(int))`.
pub fn setsockopt_int(fd: RawFd, level: libc::c_int, name: libc::c_int, value: libc::c_int) -> io::Result<()> {
    // SAFETY: passes a pointer to a live c_int and its exact size.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

/// `IP_MULTICAST_IF` with an `ip_mreqn` naming the interface by index and
/// the source address: works also for a local address that is not listed
/// on the interface (127.0.0.2 on `lo`), unlike the plain address form.
pub fn set_multicast_if_v4_index(fd: RawFd, ifindex: u32, source: Ipv4Addr) -> io::Result<()> {
    let mreqn = libc::ip_mreqn {
        imr_multiaddr: libc::in_addr { s_addr: 0 },
        imr_address: libc::in_addr { s_addr: u32::from(source).to_be() },
        imr_ifindex: ifindex as libc::c_int,
    };
    // SAFETY: passes a pointer to a live ip_mreqn and its exact size.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_IP,
            libc::IP_MULTICAST_IF,
            (&mreqn as *const libc::ip_mreqn).cast(),
            std::mem::size_of::<libc::ip_mreqn>() as libc::socklen_t,
        )
    };
    if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

/// `SO_SNDBUFFORCE` / `SO_RCVBUFFORCE`: exceed `net.core.*mem_max`; needs
/// `CAP_NET_ADMIN`, fails with `EPERM` otherwise.
pub fn force_buffers(fd: RawFd, bytes: usize) -> io::Result<()> {
    let v = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, v)?;
    setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, v)
}

/// An epoll instance holding the transport's sockets, level-triggered for
/// input. Its fd is readable (for poll/select/epoll of the caller) exactly
/// when one of the sockets has a datagram queued.
#[derive(Debug)]
pub struct Epoll(OwnedFd);

impl Epoll {
    pub fn new() -> io::Result<Epoll> {
        // SAFETY: plain syscall; on success we own the returned fd.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a fresh descriptor nobody else owns.
        Ok(Epoll(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    pub fn add(&self, fd: RawFd, token: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event { events: libc::EPOLLIN as u32, u64: token };
        // SAFETY: `ev` is a valid epoll_event for the duration of the call.
        let rc = unsafe { libc::epoll_ctl(self.0.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) };
        if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
    }
}

impl std::os::fd::AsFd for Epoll {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl AsRawFd for Epoll {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

/// Waits until `fd` is readable or `timeout_ms` passes; true if readable.
/// Used by tests and simple drivers; the executive polls the fd itself.
pub fn wait_readable(fd: RawFd, timeout_ms: i32) -> io::Result<bool> {
    let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    loop {
        // SAFETY: one valid pollfd.
        let rc = unsafe { libc::poll(&mut p, 1, timeout_ms) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        return Ok(rc > 0 && p.revents & libc::POLLIN != 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_listed() {
        let ifs = interfaces().unwrap();
        assert!(ifs.iter().any(|i| i.loopback && i.addr == IpAddr::V4(Ipv4Addr::LOCALHOST)), "{ifs:?}");
    }

    #[test]
    fn random_is_random() {
        let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
        random_bytes(&mut a).unwrap();
        random_bytes(&mut b).unwrap();
        assert_ne!(a, b);
    }
}
