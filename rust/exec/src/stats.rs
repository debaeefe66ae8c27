//! Live statistics: the one namespace `ais-cfgtool -S` and the metrics
//! endpoint show (`totem.ring0.retransmitted`, `ipc.accepted`,
//! `service.ckpt.checkpoints` ...).
//!
//! Owns: the names, and turning each layer's counters into [`Stat`]s. The
//! main loop assembles a snapshot from them (`mainloop::snapshot`) when
//! asked; nothing here runs per message except [`LoopCounters`]'s
//! increments. The names are stable: scripts and dashboards use them, and
//! `aisexec(8)` lists them.

use ais_ipc::cfg::Stat;
use ais_ipc::service as svc;

/// Counters only the main loop sees: requests and ordered messages per
/// service, configuration changes.
#[derive(Debug, Clone)]
pub struct LoopCounters {
    pub requests: [u64; svc::COUNT as usize],
    pub delivered: [u64; svc::COUNT as usize],
    pub config_changes: u64,
    /// Wall clock of the last regular configuration, seconds since the
    /// Unix epoch (0: none yet).
    pub last_config_change: u64,
    /// Wall clock at start, seconds since the Unix epoch.
    pub started: u64,
}

impl LoopCounters {
    pub fn new(wall_nanos: i64) -> LoopCounters {
        LoopCounters {
            requests: [0; svc::COUNT as usize],
            delivered: [0; svc::COUNT as usize],
            config_changes: 0,
            last_config_change: 0,
            started: seconds(wall_nanos),
        }
    }

    pub fn request(&mut self, service: u32) {
        if let Some(n) = self.requests.get_mut(service as usize) {
            *n += 1;
        }
    }

    pub fn delivered(&mut self, service: u32) {
        if let Some(n) = self.delivered.get_mut(service as usize) {
            *n += 1;
        }
    }

    pub fn config_change(&mut self, wall_nanos: i64) {
        self.config_changes += 1;
        self.last_config_change = seconds(wall_nanos);
    }
}

fn seconds(wall_nanos: i64) -> u64 {
    u64::try_from(wall_nanos / 1_000_000_000).unwrap_or(0)
}

/// Totem's protocol counters, as `totem.ring0.*`.
pub fn totem(s: &totem::Stats, out: &mut Vec<Stat>) {
    let c = |name: &str, v: u64| Stat::counter(format!("totem.ring0.{name}"), v);
    out.extend([
        c("sent", s.mcast_sent),
        c("received", s.mcast_received),
        c("retransmitted", s.mcast_retransmitted),
        c("tokens_sent", s.tokens_sent),
        c("tokens_received", s.tokens_received),
        c("token_retransmits", s.token_retransmits),
        c("token_rotations", s.token_rotations),
        c("token_losses", s.token_losses),
        c("rings_installed", s.rings_installed),
        c("rekeys", s.rekeys),
        c("rekeys_failed", s.rekeys_failed),
        c("gathers", s.gathers),
        c("joins_sent", s.joins_sent),
        c("messages_submitted", s.messages_submitted),
        c("messages_delivered", s.messages_delivered),
        c("fragments_dropped", s.fragments_dropped),
        c("packets_received", s.packets_received),
        c("packets_ignored", s.packets_ignored),
        c("malformed", s.malformed()),
    ]);
    for (class, n) in s.malformed_by_class() {
        out.push(c(&format!("malformed.{class}"), n));
    }
}

/// One network interface of the ring (`totem.interfaceN.*`): its state
/// (`faulty` 0 or 1) and the transport's datagram counters.
pub fn interface(number: usize, faulty: bool, s: &ais_net::Stats, out: &mut Vec<Stat>) {
    let name = |what: &str| format!("totem.interface{number}.{what}");
    out.push(Stat::gauge(name("faulty"), faulty.into()));
    out.extend([
        Stat::counter(name("datagrams_sent"), s.sent),
        Stat::counter(name("datagrams_received"), s.received),
        Stat::counter(name("send_errors"), s.send_errors),
        Stat::counter(name("recv_errors"), s.recv_errors),
        Stat::counter(name("bad_digests"), s.invalid_digest),
        Stat::counter(name("bad_frames"), s.bad_frame),
        Stat::counter(name("replayed"), s.replayed),
        Stat::counter(name("unknown_key"), s.unknown_key),
        Stat::counter(name("unknown_source"), s.unknown_source),
    ]);
}

/// The IPC server's counters (`ipc.*`).
pub fn ipc(s: &crate::ipc_server::Stats, connections: usize, out: &mut Vec<Stat>) {
    out.extend([
        Stat::gauge("ipc.connections", connections as u64),
        Stat::counter("ipc.accepted", s.accepted),
        Stat::counter("ipc.refused", s.refused),
        Stat::counter("ipc.malformed", s.malformed),
        Stat::counter("ipc.handshake_timeouts", s.handshake_timeouts),
        Stat::counter("ipc.held", s.held),
        Stat::counter("ipc.dropped", s.slow_dropped),
    ]);
}

/// A service's loop counters and its own statistics, as
/// `service.<name>.*`.
pub fn service(name: &str, counters: &LoopCounters, id: u32, own: Vec<Stat>, out: &mut Vec<Stat>) {
    let i = id as usize;
    out.push(Stat::counter(format!("service.{name}.requests"), counters.requests.get(i).copied().unwrap_or(0)));
    out.push(Stat::counter(format!("service.{name}.ordered"), counters.delivered.get(i).copied().unwrap_or(0)));
    for s in own {
        out.push(Stat { name: format!("service.{name}.{}", s.name), ..s });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_in_one_namespace() {
        let mut out = Vec::new();
        let t = totem::Stats { mcast_retransmitted: 5, malformed_short: 2, ..Default::default() };
        totem(&t, &mut out);
        interface(0, false, &ais_net::Stats::default(), &mut out);
        interface(1, true, &ais_net::Stats::default(), &mut out);
        ipc(&Default::default(), 3, &mut out);
        let mut lc = LoopCounters::new(1_700_000_000_000_000_000);
        lc.request(svc::CKPT);
        lc.request(u32::MAX); // out of range: ignored, not a panic
        service("ckpt", &lc, svc::CKPT, vec![Stat::gauge("checkpoints", 4)], &mut out);
        let mut names: Vec<&str> = out.iter().map(|s| s.name.as_str()).collect();
        let get = |n: &str| out.iter().find(|s| s.name == n).map(|s| s.value);
        assert_eq!(get("totem.ring0.retransmitted"), Some(5));
        assert_eq!(get("totem.ring0.malformed"), Some(2));
        assert_eq!(get("totem.ring0.malformed.short"), Some(2));
        assert_eq!(get("totem.interface1.faulty"), Some(1));
        assert_eq!(get("ipc.connections"), Some(3));
        assert_eq!(get("service.ckpt.requests"), Some(1));
        assert_eq!(get("service.ckpt.checkpoints"), Some(4));
        assert_eq!(lc.started, 1_700_000_000);
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "duplicate names");
        let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.';
        assert!(names.iter().all(|n| n.chars().all(allowed)), "{names:?}");
    }
}
