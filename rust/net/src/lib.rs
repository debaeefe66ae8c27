//! `ais-net`: the wire under Totem — UDP transports and packet crypto.
//!
//! Owns: turning Totem's `(destination, bytes)` into sealed or checksummed
//! datagrams on UDP sockets and back into `(sender node id, bytes)`.
//!
//! Must not: know Totem's message formats, keep a clock or threads of its
//! own, or block. The executive drives it from its single event loop:
//! poll the transport's fd, call [`Transport::recv`] until `None`, hand each
//! [`Packet`] to Totem, send Totem's output with [`Transport::send_batch`]
//! (all of it in one call, so runs of frames leave with UDP GSO), and log
//! what [`Transport::poll_event`] yields.
//!
//! Modules: [`crypto`] (frame format, keys, nonces, replay window),
//! [`crc32c`] (the plain-mode checksum), [`transport`] (sockets),
//! [`config`] (what the executive passes in and the rules that resolve
//! it), [`ratelimit`] (log limiter), and the private `batch` (a flush's
//! sealed frames and how they are cut into GSO sends). `unsafe` code is in the private `sys`
//! module (libc calls) and in one call of [`crc32c`] (the SSE4.2 routine,
//! after run-time detection); every other module denies it.
//!
//! One [`Transport`] is one ring; [`rrp::RedundantTransport`] carries one
//! Totem ring over two of them (`rrp_mode: active | passive`). Both are a
//! [`RingTransport`], the one interface the executive drives.
#![deny(unsafe_code)]

mod batch;
pub mod config;
pub mod crc32c;
pub mod crypto;
pub mod ratelimit;
pub mod ring_transport;
pub mod rrp;
#[allow(unsafe_code)]
mod sys;
pub mod transport;

pub use batch::Outgoing;
pub use config::{ConfigError, NetConfig, Security, TransportKind};
pub use crypto::{KeyClass, Mode, NodeId, OpenError, PacketCodec};
pub use ring_transport::RingTransport;
pub use sys::IfAddr;
pub use transport::{Dest, NetError, NetEvent, Packet, SendError, Stats, Transport};

/// Every IPv4/IPv6 address of every local interface (`getifaddrs`).
pub fn local_interfaces() -> std::io::Result<Vec<IfAddr>> {
    sys::interfaces()
}
