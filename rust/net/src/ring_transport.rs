//! What carries one Totem ring, as one interface: a single [`Transport`],
//! or a [`RedundantTransport`] of two (`rrp_mode`). The executive drives
//! either the same way through [`RingTransport`], so it holds one
//! `Box<dyn RingTransport>` and no per-kind code.
//!
//! Owns only the mapping onto the two types' own methods (which already
//! share one API); the behaviour is theirs.

#![forbid(unsafe_code)]

use std::os::fd::{AsRawFd, RawFd};
use std::time::Instant;

use crate::batch::Outgoing;
use crate::crypto::{KeyClass, KeyError, NodeId};
use crate::rrp::{RedundantTransport, RrpEvent, STATUS_OK};
use crate::transport::{Packet, SendError, Transport};

/// Totem's packets, in the order Totem produced them (see [`Outgoing`]).
pub type OutgoingIter<'a> = dyn Iterator<Item = Outgoing<Vec<u8>>> + 'a;

/// One Totem ring's transport, whatever carries it. Driving contract: poll
/// [`fds`](Self::fds) for readability and call [`recv`](Self::recv) until
/// `None`; send everything Totem produced with one
/// [`send_outgoing`](Self::send_outgoing); call
/// [`handle_timeout`](Self::handle_timeout) once
/// [`poll_timeout`](Self::poll_timeout) has passed; log what
/// [`poll_event`](Self::poll_event) yields.
pub trait RingTransport {
    /// Ring 0's transport: this node's id and main address.
    fn ring0(&self) -> &Transport;

    /// The transport of ring `r` (addresses, counters); ring 0 always
    /// exists.
    fn ring(&self, r: usize) -> Option<&Transport>;

    /// Largest Totem payload every ring can carry.
    fn max_payload(&self) -> usize;

    /// The fds to poll for readability (fixed after creation).
    fn fds(&self) -> Vec<RawFd>;

    /// Seals and sends `items` in order, batched; the first error after
    /// every packet was tried.
    fn send_outgoing(&mut self, items: &mut OutgoingIter<'_>) -> Result<(), SendError>;

    /// The next packet received (bounded work per call).
    fn recv(&mut self, now: Instant) -> Option<Packet>;

    /// The next packet already read (a coalesced UDP GRO buffer) that the
    /// fds no longer show; never reads a socket.
    fn recv_buffered(&mut self, now: Instant) -> Option<Packet>;

    /// The next diagnostic to log. A single ring's events come as
    /// [`RrpEvent::Net`] of ring 0.
    fn poll_event(&mut self) -> Option<RrpEvent>;

    /// How every ring tells which key a received frame needs (see
    /// [`Transport::set_key_classifier`]).
    fn set_key_classifier(&mut self, classify: fn(&[u8]) -> KeyClass);

    /// The ring session keys every ring seals and opens with (see
    /// [`Transport::set_session_keys`]).
    fn set_session_keys(&mut self, keys: &[(u64, &[u8; 32])]) -> Result<(), KeyError>;

    /// `(ring number, status text)` per ring.
    fn status(&self) -> Vec<(u32, String)> {
        (0..self.rings().len()).map(|r| (r as u32, STATUS_OK.to_string())).collect()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next run.
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    /// Runs time-driven work (redundant ring fault detection).
    fn handle_timeout(&mut self, _now: Instant) {}

    /// Re-enables this node's FAULTY rings; returns how many were.
    fn reenable(&mut self) -> usize {
        0
    }

    /// This node's id (ring 0's).
    fn node_id(&self) -> NodeId {
        self.ring0().node_id()
    }

    /// Every ring's transport, ring 0 first.
    fn rings(&self) -> Vec<&Transport> {
        (0..).map_while(|r| self.ring(r)).collect()
    }
}

impl RingTransport for Transport {
    fn ring0(&self) -> &Transport {
        self
    }

    fn ring(&self, r: usize) -> Option<&Transport> {
        (r == 0).then_some(self)
    }

    fn max_payload(&self) -> usize {
        Transport::max_payload(self)
    }

    fn fds(&self) -> Vec<RawFd> {
        vec![self.as_raw_fd()]
    }

    fn send_outgoing(&mut self, items: &mut OutgoingIter<'_>) -> Result<(), SendError> {
        Transport::send_outgoing(self, items)
    }

    fn recv(&mut self, now: Instant) -> Option<Packet> {
        Transport::recv(self, now)
    }

    fn recv_buffered(&mut self, now: Instant) -> Option<Packet> {
        Transport::recv_buffered(self, now)
    }

    fn poll_event(&mut self) -> Option<RrpEvent> {
        Transport::poll_event(self).map(|event| RrpEvent::Net { ring: 0, event })
    }

    fn set_key_classifier(&mut self, classify: fn(&[u8]) -> KeyClass) {
        Transport::set_key_classifier(self, classify)
    }

    fn set_session_keys(&mut self, keys: &[(u64, &[u8; 32])]) -> Result<(), KeyError> {
        Transport::set_session_keys(self, keys)
    }
}

impl RingTransport for RedundantTransport {
    fn ring0(&self) -> &Transport {
        RedundantTransport::ring0(self)
    }

    fn ring(&self, r: usize) -> Option<&Transport> {
        RedundantTransport::ring(self, r)
    }

    fn max_payload(&self) -> usize {
        RedundantTransport::max_payload(self)
    }

    fn fds(&self) -> Vec<RawFd> {
        RedundantTransport::fds(self)
    }

    fn send_outgoing(&mut self, items: &mut OutgoingIter<'_>) -> Result<(), SendError> {
        RedundantTransport::send_outgoing(self, items)
    }

    fn recv(&mut self, now: Instant) -> Option<Packet> {
        RedundantTransport::recv(self, now)
    }

    fn recv_buffered(&mut self, now: Instant) -> Option<Packet> {
        RedundantTransport::recv_buffered(self, now)
    }

    fn poll_event(&mut self) -> Option<RrpEvent> {
        RedundantTransport::poll_event(self)
    }

    fn set_key_classifier(&mut self, classify: fn(&[u8]) -> KeyClass) {
        RedundantTransport::set_key_classifier(self, classify)
    }

    fn set_session_keys(&mut self, keys: &[(u64, &[u8; 32])]) -> Result<(), KeyError> {
        RedundantTransport::set_session_keys(self, keys)
    }

    fn status(&self) -> Vec<(u32, String)> {
        RedundantTransport::status(self)
    }

    fn poll_timeout(&self) -> Option<Instant> {
        RedundantTransport::poll_timeout(self)
    }

    fn handle_timeout(&mut self, now: Instant) {
        RedundantTransport::handle_timeout(self, now)
    }

    fn reenable(&mut self) -> usize {
        RedundantTransport::reenable(self)
    }
}
