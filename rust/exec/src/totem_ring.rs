//! The ordering seam over a real network: the sans-IO Totem protocol
//! (`rust/totem`) driven on the UDP transport of `rust/net`.
//!
//! Owns: the clock conversion (Totem counts microseconds from this ring's
//! creation), handing Totem's packets to the transport and its events to
//! the main loop, and the membership log lines. The `totem {}` section is
//! translated by [`crate::totem_config`], the ring sequence kept by
//! [`crate::ring_seq`].
//!
//! The wire is an `ais_net::RingTransport`: one `Transport`, or with two
//! `interface` sections (`rrp_mode: active | passive`) an
//! `ais_net::rrp::RedundantTransport` (see its module doc for the modes and
//! the fault detection); a ring marked FAULTY is logged, shown by
//! `ais-cfgtool -s`, and re-enabled by [`Ordering::reenable_rings`].
//!
//! Order of work after every input: Totem's events first (a ring sequence
//! to persist must be on disk before any packet of that ring goes out, a
//! ring's session key must be in the transport before its packets), then
//! its transmits.
//!
//! With `secauth: on` Totem runs its key exchange (seeded from the kernel
//! CSPRNG) and the transport seals each ring's tokens and messages with
//! that ring's key, the membership packets with the authkey
//! ([`session_keys`]; the protocol is in `rust/net/CRYPTO.md`).

use std::collections::VecDeque;
use std::os::fd::RawFd;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ais_net::rrp::{RedundantTransport, RrpEvent};
use ais_net::{NetEvent, Outgoing, RingTransport, Transport};
use totem::{Micros, Totem, TotemConfig};

use crate::ordering::{
    ClusterEvent, ClusterStatus, ConfigChange, ConfigKind, Guarantee, MemberInfo, NodeId, Ordering, QueueFull, RingId,
};
use crate::ring_seq::{RING_SEQ_FILE, read_ring_seq, write_ring_seq};
use crate::session_keys;
use crate::totem_config::RingConfig;

/// Totem on one UDP ring (or a redundant pair).
pub struct TotemRing {
    totem: Totem,
    net: Box<dyn RingTransport>,
    epoch: Instant,
    events: VecDeque<ClusterEvent>,
    seq_file: PathBuf,
    ring_id: RingId,
    members: Vec<NodeId>,
    /// Totem runs the key exchange (`secauth: on`).
    keyed: bool,
    /// What the operator is told about retransmits, token losses, faults.
    watch: crate::ring_watch::RingWatch,
}

impl TotemRing {
    /// Opens the transport (one ring, or a redundant pair when configured)
    /// and starts Totem. `run_dir` holds the ring sequence file.
    pub fn start_ring(ring: RingConfig, run_dir: &Path) -> Result<TotemRing, String> {
        let Some((net1, params)) = &ring.redundant else {
            let net = Transport::new(&ring.net).map_err(|e| format!("cannot open the network transport: {e}"))?;
            return Self::start_on(ring.totem, Box::new(net), run_dir);
        };
        let rrp = RedundantTransport::new(&ring.net, net1, *params)
            .map_err(|e| format!("cannot open the redundant ring transports: {e}"))?;
        if let Some(t) = rrp.ring(1) {
            crate::log_notice!(
                Totem,
                "redundant ring {:?}: ring 1 on {} ({}); problem count timeout {} ms, threshold {}, token expired timeout {} ms",
                params.mode,
                t.local_addr(),
                t.interface_name(),
                params.problem_count_timeout.as_millis(),
                params.problem_count_threshold,
                params.token_expired_timeout.as_millis()
            );
        }
        Self::start_on(ring.totem, Box::new(rrp), run_dir)
    }

    fn start_on(
        mut totem_cfg: TotemConfig,
        mut net: Box<dyn RingTransport>,
        run_dir: &Path,
    ) -> Result<TotemRing, String> {
        // The smallest receive buffer (SO_RCVBUF) any ring's socket got.
        let recv_buffer = net.rings().iter().map(|t| t.buffer_sizes().1).min().unwrap_or(0);
        if let Some(window) = totem_cfg.fit_to_receive_buffer(recv_buffer) {
            crate::log_notice!(
                Totem,
                "receive buffer {recv_buffer} bytes: window_size {} (max_messages {}) instead of the default {}; set window_size to override",
                window,
                totem_cfg.max_messages(),
                totem::config::DEFAULT_WINDOW_SIZE
            );
        }
        let seq_file = run_dir.join(RING_SEQ_FILE);
        let persisted = read_ring_seq(&seq_file)?;
        let epoch = Instant::now();
        let keyed = net.ring0().mode() == ais_net::Mode::Sealed;
        let seed = match keyed {
            true => Some(ais_net::crypto::random_key_seed().map_err(|e| format!("cannot seed the key exchange: {e}"))?),
            false => None,
        };
        if keyed {
            net.set_key_classifier(session_keys::classify);
        }
        let mut totem = Totem::new_keyed(net.node_id(), totem_cfg, net.max_payload(), persisted, Micros(0), seed)
            .map_err(|e| format!("cannot start totem: {e}"))?;
        // Seal the frames of our next token visit while the token is away
        // (see `Totem::set_pack_ahead`).
        totem.set_pack_ahead(true);
        crate::log_notice!(
            Totem,
            "node {} on {} ({}), frame {} bytes, window_size {}, max_messages {}",
            net.node_id(),
            net.ring0().local_addr(),
            net.ring0().interface_name(),
            net.max_payload(),
            totem.config().window_size(),
            totem.config().max_messages()
        );
        let mut ring = TotemRing {
            totem,
            net,
            epoch,
            events: VecDeque::new(),
            seq_file,
            ring_id: RingId { rep: 0, seq: 0 },
            members: Vec::new(),
            keyed,
            watch: Default::default(),
        };
        ring.flush();
        Ok(ring)
    }

    fn micros(&self, now: Instant) -> Micros {
        Micros(now.saturating_duration_since(self.epoch).as_micros().min(u64::MAX as u128) as u64)
    }

    /// Node `node`'s address on each ring, comma separated ("unknown"
    /// where none is known yet).
    fn address_of(&self, node: NodeId) -> String {
        let on = |t: &Transport| {
            if node == t.node_id() {
                t.local_addr().ip().to_string()
            } else {
                t.node_addr(node).map_or_else(|| "unknown".into(), |a| a.ip().to_string())
            }
        };
        self.net.rings().into_iter().map(on).collect::<Vec<_>>().join(",")
    }

    /// Moves Totem's events to our queue and its packets to the wire.
    fn flush(&mut self) {
        self.take_events();
        self.send_packets();
    }

    /// Moves Totem's events to our queue (persisting a ring sequence and
    /// installing ring keys before any packet goes out).
    fn take_events(&mut self) {
        while let Some(ev) = self.totem.poll_event() {
            match ev {
                totem::Event::PersistRingSeq(seq) => {
                    if let Err(e) = write_ring_seq(&self.seq_file, seq) {
                        // Not fatal: a restart would then rely on the others
                        // having moved on to higher sequences.
                        crate::log_error!(Totem, "cannot persist ring sequence in {}: {e}", self.seq_file.display());
                    }
                }
                totem::Event::Deliver { sender, msg } => {
                    self.events.push_back(ClusterEvent::Deliver { sender, payload: msg });
                }
                totem::Event::RingKeys(keys) => {
                    if let Err(e) = session_keys::install(&keys, |k| self.net.set_session_keys(k)) {
                        crate::log_error!(Totem, "cannot install the ring keys: {e}");
                    }
                }
                totem::Event::ConfigChange(change) => {
                    self.log_change(&change);
                    if change.kind == ConfigKind::Regular {
                        self.ring_id = change.ring_id;
                        self.members = change.members.clone();
                    }
                    self.events.push_back(ClusterEvent::ConfigChange(change));
                }
            }
        }
        self.watch.check(self.totem.stats());
    }

    /// Sends Totem's packets.
    fn send_packets(&mut self) {
        // Everything Totem produced goes to the wire in one batch, in order.
        let totem = &mut self.totem;
        let mut packets = std::iter::from_fn(|| totem.poll_transmit()).map(|tx| match tx {
            totem::Transmit::Send { dest, bytes } => Outgoing::Send(to_net(dest), bytes),
            totem::Transmit::Keep { bytes } => Outgoing::Keep(ais_net::Dest::Multicast, bytes),
            totem::Transmit::SendKept { count } => Outgoing::SendKept(count),
        });
        // A lost packet is Totem's business (it retransmits), but one no
        // ring could send (all networks down, or a packet too large: a bug)
        // is worth a line.
        if let Err(e) = self.net.send_outgoing(&mut packets) {
            crate::log_limited!(Warning, Totem, "send failed: {e}");
        }
        while let Some(ev) = self.net.poll_event() {
            match ev {
                RrpEvent::Net { event, .. } => log_net_event(event),
                RrpEvent::Faulty { ring, .. } => {
                    self.watch.fault(ring);
                    crate::log_error!(Totem, "{ev}")
                }
                RrpEvent::Reenabled { .. } => crate::log_notice!(Totem, "{ev}"),
                RrpEvent::BadRrpByte { .. } => crate::log_limited!(Warning, Totem, "{ev}"),
            }
        }
    }
}

fn log_net_event(ev: NetEvent) {
    match ev {
        NetEvent::InvalidDigest { from, suppressed } => {
            crate::log_warn!(Totem, "Invalid digest from {from} ({suppressed} more not reported)")
        }
        NetEvent::BadFrame { from, error, suppressed } => {
            crate::log_warn!(Totem, "bad frame from {from}: {error} ({suppressed} more not reported)")
        }
        NetEvent::DuplicateNodeId { from, suppressed } => {
            crate::log_error!(Totem, "node at {from} uses our node id ({suppressed} more not reported)")
        }
        NetEvent::AddressChanged { node, old, new } => {
            crate::log_limited!(Notice, Totem, "node {node} moved from {old} to {new}")
        }
    }
}

impl TotemRing {
    /// Submits through `submit` (one of Totem's submit functions). What
    /// that made due goes to the wire at [`Ordering::flush_transmit`]: a
    /// message submitted with the token here is delivered at once, and
    /// the answer it makes reaches its client before the packets.
    fn submit_with(
        &mut self,
        submit: fn(&mut Totem, Vec<u8>, Guarantee) -> Result<(), totem::SubmitError>,
        payload: Vec<u8>,
        guarantee: Guarantee,
    ) -> Result<(), QueueFull> {
        // TooLarge cannot be told apart by callers today; both mean "not now".
        let r = submit(&mut self.totem, payload, guarantee).map_err(|_| QueueFull);
        self.take_events();
        r
    }

    /// The classic membership lines: the ring, then who joined and left.
    fn log_change(&self, c: &ConfigChange) {
        let kind = match c.kind {
            ConfigKind::Transitional => "transitional",
            ConfigKind::Regular => "regular",
        };
        let list: Vec<String> = c.members.iter().map(|n| format!("{n}/{}", self.address_of(*n))).collect();
        crate::log_notice!(
            Totem,
            "{kind} configuration: ring {}.{} members {}: {}",
            c.ring_id.rep,
            c.ring_id.seq,
            c.members.len(),
            list.join(" ")
        );
        for n in &c.left {
            crate::log_notice!(Totem, "processor left: node {n} {}", self.address_of(*n));
        }
        for n in &c.joined {
            crate::log_notice!(Totem, "processor joined: node {n} {}", self.address_of(*n));
        }
    }
}

fn to_net(d: totem::Dest) -> ais_net::Dest {
    match d {
        totem::Dest::Multicast => ais_net::Dest::Multicast,
        totem::Dest::Node(n) => ais_net::Dest::Node(n),
    }
}

impl Drop for TotemRing {
    fn drop(&mut self) {
        session_keys::log_rejections(self.net.ring0());
        let s = self.totem.stats();
        let classes: Vec<String> = s.malformed_by_class().iter().map(|(name, n)| format!("{name} {n}")).collect();
        crate::log_info!(
            Totem,
            "multicast frames sent {} (retransmitted {}, built ahead {}, of which sent as built {}), received {}; token rotations {}, lingers {}, losses {}; rings installed {}; malformed packets {} ({})",
            s.mcast_sent,
            s.mcast_retransmitted,
            s.mcast_packed_ahead,
            s.mcast_sent_ahead,
            s.mcast_received,
            s.token_rotations,
            s.token_lingers,
            s.token_losses,
            s.rings_installed,
            s.malformed(),
            classes.join(", ")
        );
    }
}

/// Totem's malformed packet counts for `ais-cfgtool -k`: the total, then
/// each class.
fn malformed_counters(s: &totem::Stats) -> Vec<(String, u64)> {
    let classes = s.malformed_by_class().into_iter().map(|(name, n)| (format!("totem_malformed_{name}"), n));
    std::iter::once(("totem_malformed".to_string(), s.malformed())).chain(classes).collect()
}

impl Ordering for TotemRing {
    fn local_node(&self) -> NodeId {
        self.net.node_id()
    }

    fn submit(&mut self, payload: Vec<u8>, guarantee: Guarantee) -> Result<(), QueueFull> {
        self.submit_with(Totem::submit_owned, payload, guarantee)
    }

    fn submit_past_limit(&mut self, payload: Vec<u8>, guarantee: Guarantee) -> Result<(), QueueFull> {
        self.submit_with(Totem::submit_past_limit, payload, guarantee)
    }

    fn submit_answered(&mut self, payload: Vec<u8>, guarantee: Guarantee) -> Result<(), QueueFull> {
        self.submit_with(Totem::submit_answered, payload, guarantee)
    }

    fn flush_transmit(&mut self) {
        self.send_packets();
    }

    fn has_room(&self) -> bool {
        self.totem.has_room()
    }

    fn poll_event(&mut self) -> Option<ClusterEvent> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let totem = self.totem.poll_timeout().map(|t| self.epoch + std::time::Duration::from_micros(t.0));
        totem.into_iter().chain(self.net.poll_timeout()).min()
    }

    fn handle_timeout(&mut self, now: Instant) {
        if self.net.poll_timeout().is_some_and(|t| t <= now) {
            self.net.handle_timeout(now);
        }
        let t = self.micros(now);
        if self.totem.poll_timeout().is_some_and(|d| d <= t) {
            self.totem.handle_timeout(t);
        }
        self.flush();
    }

    fn fds(&self) -> Vec<RawFd> {
        self.net.fds()
    }

    fn handle_readable(&mut self, _fd: RawFd, now: Instant) {
        let t = self.micros(now);
        // Bounded per call so a flood cannot starve the IPC clients.
        let mut stopped_early = true;
        for _ in 0..1024 {
            let Some(p) = self.net.recv(now) else {
                stopped_early = false;
                break;
            };
            if self.keyed && !session_keys::opened_with_its_key(&p) {
                continue;
            }
            self.totem.handle_packet(p.from, &p.data, t);
        }
        // The rest of a coalesced buffer already read: the fd does not show
        // it, so it is taken now (at most one buffer per ring).
        if stopped_early {
            while let Some(p) = self.net.recv_buffered(now) {
                if self.keyed && !session_keys::opened_with_its_key(&p) {
                    continue;
                }
                self.totem.handle_packet(p.from, &p.data, t);
            }
        }
        self.flush();
    }

    fn status(&self) -> ClusterStatus {
        ClusterStatus {
            local_node: self.net.node_id(),
            ring_id: self.ring_id,
            rings: self.net.status(),
            members: self.members.iter().map(|n| MemberInfo { node: *n, address: self.address_of(*n) }).collect(),
            counters: malformed_counters(self.totem.stats()),
        }
    }

    fn stats(&self, out: &mut Vec<ais_ipc::cfg::Stat>) {
        crate::stats::totem(self.totem.stats(), out);
        crate::stats::totem_queues(&self.totem.queue_depths(), out);
        let status = self.net.status();
        for (i, t) in self.net.rings().into_iter().enumerate() {
            let faulty = status.get(i).is_some_and(|(_, s)| s != ais_net::rrp::STATUS_OK);
            crate::stats::interface(i, faulty, t.stats(), out);
            let faults = self.watch.faults.get(i).copied().unwrap_or(0);
            out.push(ais_ipc::cfg::Stat::counter(format!("totem.interface{i}.faults"), faults));
        }
    }

    fn busy(&self) -> bool {
        self.totem.ring_busy()
    }

    fn saturated(&self) -> bool {
        self.totem.ring_saturated()
    }

    fn reenable_rings(&mut self) -> usize {
        let n = self.net.reenable();
        self.flush();
        n
    }
}
