//! Batched UDP calls: `sendmsg` with a `UDP_SEGMENT` control message (GSO:
//! the kernel cuts one buffer into equal datagrams after routing, so the
//! per-datagram path below the socket runs once per batch), `sendmmsg`
//! (the fallback when a kernel refuses GSO), and `recvmsg` reading the
//! `UDP_GRO` control message (the segment size of a coalesced buffer).
//!
//! Must not: allocate (every array here is on the stack and bounded by
//! [`MAX_SEGMENTS`]) or expose raw pointers.

use socket2::SockAddr;
use std::io;
use std::mem::{size_of, zeroed};
use std::net::SocketAddr;
use std::os::fd::RawFd;

/// `UDP_SEGMENT` from `linux/udp.h` (not in the `libc` crate for glibc).
pub const UDP_SEGMENT: libc::c_int = 103;
/// `UDP_GRO` from `linux/udp.h`.
pub const UDP_GRO: libc::c_int = 104;
/// The kernel's `UDP_MAX_SEGMENTS`: most datagrams one GSO send may carry.
pub const MAX_SEGMENTS: usize = 64;

/// A control buffer aligned for `cmsghdr`, large enough for one `int`.
#[repr(C, align(8))]
struct CmsgBuf([u8; 64]);

/// Asks the kernel to hand coalesced datagrams of one flow to `recvmsg` as
/// one buffer with a `UDP_GRO` control message (`on`), or never (`!on`).
pub fn set_gro(fd: RawFd, on: bool) -> io::Result<()> {
    super::setsockopt_int(fd, libc::SOL_UDP, UDP_GRO, libc::c_int::from(on))
}

fn retry_eintr(mut call: impl FnMut() -> isize) -> io::Result<usize> {
    loop {
        let n = call();
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// One `sendmsg` of the concatenation of `parts` to `dest`. With
/// `segment`, the kernel sends it as datagrams of `segment` bytes each
/// (the last one may be shorter); without, as one datagram. At most
/// [`MAX_SEGMENTS`] parts.
pub fn send_segments(fd: RawFd, dest: &SockAddr, parts: &[&[u8]], segment: Option<u16>) -> io::Result<usize> {
    if parts.len() > MAX_SEGMENTS {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    // SAFETY: iovec is plain old data; zero is a valid (empty) value.
    let mut iov: [libc::iovec; MAX_SEGMENTS] = unsafe { zeroed() };
    for (v, p) in iov.iter_mut().zip(parts) {
        // The kernel only reads through iov_base (sendmsg).
        v.iov_base = p.as_ptr() as *mut libc::c_void;
        v.iov_len = p.len();
    }
    let mut cbuf = CmsgBuf([0; 64]);
    // SAFETY: msghdr is plain old data; zero is "no name, no data".
    let mut msg: libc::msghdr = unsafe { zeroed() };
    msg.msg_name = dest.as_ptr() as *mut libc::c_void;
    msg.msg_namelen = dest.len();
    msg.msg_iov = iov.as_mut_ptr();
    msg.msg_iovlen = parts.len() as _;
    if let Some(seg) = segment {
        // SAFETY: CMSG_* only compute sizes and offsets inside `cbuf`,
        // which is aligned and larger than CMSG_SPACE(2); the write stays
        // within the first header's data area.
        unsafe {
            msg.msg_control = cbuf.0.as_mut_ptr().cast();
            msg.msg_controllen = libc::CMSG_SPACE(size_of::<u16>() as u32) as _;
            let c = libc::CMSG_FIRSTHDR(&msg);
            (*c).cmsg_level = libc::SOL_UDP;
            (*c).cmsg_type = UDP_SEGMENT;
            (*c).cmsg_len = libc::CMSG_LEN(size_of::<u16>() as u32) as _;
            std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<u16>(), seg);
        }
    }
    // SAFETY: `msg` points to live iovecs, address and control buffer for
    // the duration of the call.
    retry_eintr(|| unsafe { libc::sendmsg(fd, &msg, 0) })
}

/// What [`send_each`] did.
#[derive(Debug, Default)]
pub struct SendEach {
    /// Datagrams the kernel took.
    pub sent: usize,
    /// Datagrams it refused.
    pub failed: usize,
    /// The first refusal.
    pub first_error: Option<io::Error>,
}

/// Sends every frame as its own datagram to `dest` with as few `sendmmsg`
/// calls as possible; a frame the kernel refuses is skipped and counted.
pub fn send_each(fd: RawFd, dest: &SockAddr, frames: &[&[u8]]) -> SendEach {
    let mut out = SendEach::default();
    let mut rest = frames;
    while !rest.is_empty() {
        let n = rest.len().min(MAX_SEGMENTS);
        // SAFETY: plain old data; zero is a valid empty value.
        let mut iov: [libc::iovec; MAX_SEGMENTS] = unsafe { zeroed() };
        // SAFETY: as above.
        let mut msgs: [libc::mmsghdr; MAX_SEGMENTS] = unsafe { zeroed() };
        for i in 0..n {
            iov[i].iov_base = rest[i].as_ptr() as *mut libc::c_void;
            iov[i].iov_len = rest[i].len();
        }
        for (i, m) in msgs.iter_mut().take(n).enumerate() {
            m.msg_hdr.msg_name = dest.as_ptr() as *mut libc::c_void;
            m.msg_hdr.msg_namelen = dest.len();
            m.msg_hdr.msg_iov = &mut iov[i];
            m.msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: `msgs[..n]` point to live iovecs and the address.
        match retry_eintr(|| unsafe { libc::sendmmsg(fd, msgs.as_mut_ptr(), n as u32, 0) as isize }) {
            Ok(k) if k > 0 => {
                out.sent += k;
                rest = &rest[k.min(n)..];
            }
            // The first datagram of this call failed: drop it, go on.
            Ok(_) => {
                out.failed += 1;
                out.first_error.get_or_insert(io::Error::from(io::ErrorKind::WriteZero));
                rest = &rest[1..];
            }
            Err(e) => {
                out.failed += 1;
                out.first_error.get_or_insert(e);
                rest = &rest[1..];
            }
        }
    }
    out
}

/// One datagram (or GRO-coalesced run of datagrams) read by [`recv_segments`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// Bytes written to the buffer.
    pub len: usize,
    /// Source address (`None` for a family we do not speak).
    pub src: Option<SocketAddr>,
    /// With a `UDP_GRO` control message: the size of every datagram in
    /// the buffer but the last, which may be shorter.
    pub segment: Option<usize>,
    /// The kernel had more than `buf` holds (`MSG_TRUNC`).
    pub truncated: bool,
}

/// One `recvmsg` into `buf`, with the `UDP_GRO` segment size if any.
pub fn recv_segments(fd: RawFd, buf: &mut [u8]) -> io::Result<Received> {
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    let mut cbuf = CmsgBuf([0; 64]);
    // SAFETY: `try_init` hands us zeroed address storage and its length;
    // recvmsg writes at most that many bytes of address, `buf.len()` bytes
    // of data and `cbuf.0.len()` bytes of control data, all live here.
    let ((n, flags, segment), src) = unsafe {
        SockAddr::try_init(|storage, len| {
            let mut msg: libc::msghdr = zeroed();
            msg.msg_name = storage.cast();
            msg.msg_namelen = *len;
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = cbuf.0.as_mut_ptr().cast();
            msg.msg_controllen = cbuf.0.len() as _;
            let n = retry_eintr(|| libc::recvmsg(fd, &mut msg, 0))?;
            *len = msg.msg_namelen;
            let mut segment = None;
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                if (*c).cmsg_level == libc::SOL_UDP && (*c).cmsg_type == UDP_GRO {
                    // The kernel writes an int; read what it says it wrote.
                    let data = libc::CMSG_DATA(c);
                    let v = if (*c).cmsg_len as usize >= libc::CMSG_LEN(size_of::<libc::c_int>() as u32) as usize {
                        std::ptr::read_unaligned(data.cast::<libc::c_int>()) as i64
                    } else {
                        i64::from(std::ptr::read_unaligned(data.cast::<u16>()))
                    };
                    segment = usize::try_from(v).ok().filter(|s| *s > 0);
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
            Ok((n, msg.msg_flags, segment))
        })?
    };
    Ok(Received { len: n.min(buf.len()), src: src.as_socket(), segment, truncated: flags & libc::MSG_TRUNC != 0 })
}
