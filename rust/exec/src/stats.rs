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

use crate::ipc_server::ConnQueues;

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
        c("retransmit_requests_sent", s.rtr_requested),
        c("retransmit_requests_received", s.rtr_seen),
        c("tokens_sent", s.tokens_sent),
        c("tokens_received", s.tokens_received),
        c("token_retransmits", s.token_retransmits),
        c("token_rotations", s.token_rotations),
        c("token_losses", s.token_losses),
        c("safe_acks_sent", s.safe_acks_sent),
        c("safe_acks_received", s.safe_acks_received),
        c("safe_by_acks", s.safe_by_acks),
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

/// What waits in the ring's queues now (`totem.ring0.*` gauges): messages
/// to send, frames received and not delivered, frames missing, events
/// not yet taken by the services.
pub fn totem_queues(q: &totem::QueueDepths, out: &mut Vec<Stat>) {
    let g = |name: &str, v: u64| Stat::gauge(format!("totem.ring0.{name}"), v);
    out.extend([
        g("send_queue", q.send_messages as u64),
        g("send_queue_bytes", q.send_bytes as u64),
        g("undelivered", q.undelivered_frames as u64),
        g("missing", q.missing_frames),
        g("events_queued", q.events as u64),
    ]);
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

/// Most connections listed one by one (`ipc.connN.*`), those with the
/// most unread first: the snapshot must stay within `cfg::MAX_STATS`.
pub const MAX_LISTED_CONNECTIONS: usize = 32;

/// The IPC server's counters and what waits for its clients in all
/// (`ipc.*`).
pub fn ipc(s: &crate::ipc_server::Stats, queues: &[ConnQueues], out: &mut Vec<Stat>) {
    let sum = |f: fn(&ConnQueues) -> u64| queues.iter().map(f).sum::<u64>();
    out.extend([
        Stat::gauge("ipc.connections", queues.len() as u64),
        Stat::gauge("ipc.responses_queued", sum(|q| q.responses as u64)),
        Stat::gauge("ipc.callbacks_queued", sum(|q| q.callbacks as u64)),
        Stat::gauge("ipc.unread_bytes", sum(|q| q.unread_bytes)),
        Stat::counter("ipc.accepted", s.accepted),
        Stat::counter("ipc.refused", s.refused),
        Stat::counter("ipc.malformed", s.malformed),
        Stat::counter("ipc.handshake_timeouts", s.handshake_timeouts),
        Stat::counter("ipc.held", s.held),
        Stat::counter("ipc.dropped", s.slow_dropped),
    ]);
}

/// Per connection (`ipc.connN.*`, N its id): its service and process,
/// the responses and callbacks queued in the executive, the bytes its
/// client has not read. At most [`MAX_LISTED_CONNECTIONS`], those with
/// the most unread first, listed by id.
pub fn ipc_connections(queues: &[ConnQueues], out: &mut Vec<Stat>) {
    let mut listed: Vec<&ConnQueues> = queues.iter().collect();
    listed.sort_by_key(|q| std::cmp::Reverse((q.unread_bytes, q.responses + q.callbacks)));
    listed.truncate(MAX_LISTED_CONNECTIONS);
    listed.sort_by_key(|q| q.info.id.0);
    for q in listed {
        let g = |what: &str, v: u64| Stat::gauge(format!("ipc.conn{}.{what}", q.info.id.0), v);
        out.extend([
            g("service", q.info.service.into()),
            g("pid", u64::try_from(q.info.pid).unwrap_or(0)),
            g("responses_queued", q.responses as u64),
            g("callbacks_queued", q.callbacks as u64),
            g("unread_bytes", q.unread_bytes),
        ]);
    }
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

/// What waits for a service's clients (`service.<name>.*` gauges): the
/// sums of `ipc.connN.*` over its connections.
pub fn service_queues(name: &str, id: u32, queues: &[ConnQueues], out: &mut Vec<Stat>) {
    let mine = || queues.iter().filter(|q| q.info.service == id);
    out.extend([
        Stat::gauge(format!("service.{name}.responses_queued"), mine().map(|q| q.responses as u64).sum()),
        Stat::gauge(format!("service.{name}.callbacks_queued"), mine().map(|q| q.callbacks as u64).sum()),
        Stat::gauge(format!("service.{name}.unread_bytes"), mine().map(|q| q.unread_bytes).sum()),
    ]);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `text` has `word` not followed by more of a name.
    fn has_word(text: &str, word: &str) -> bool {
        text.match_indices(word)
            .any(|(i, _)| !text[i + word.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_'))
    }

    #[test]
    fn the_man_page_names_every_ring_and_ipc_statistic() {
        let man = include_str!("../../../man/aisexec.8");
        let section = &man[man.find(".SH STATISTICS").unwrap()..man.find(".SH SYSTEMD").unwrap()];
        let mut out = Vec::new();
        totem(&totem::Stats::default(), &mut out);
        totem_queues(&totem::QueueDepths::default(), &mut out);
        interface(0, false, &ais_net::Stats::default(), &mut out);
        let one = ConnQueues {
            info: crate::service::ConnInfo { id: crate::service::ConnId(1), service: 0, pid: 1, uid: 0, gid: 0 },
            responses: 0,
            callbacks: 0,
            unread_bytes: 0,
        };
        ipc(&Default::default(), &[one], &mut out);
        ipc_connections(&[one], &mut out);
        for s in &out {
            // The man page writes the first of a group in full, the rest
            // as ".last_part"; malformed classes as ".malformed. CLASS".
            let last = s.name.rsplit('.').next().unwrap();
            let known = has_word(section, &format!(".{last}"))
                || has_word(section, &s.name)
                || s.name.starts_with("totem.ring0.malformed.");
            assert!(known, "{} is not in aisexec(8) STATISTICS", s.name);
        }
    }

    #[test]
    fn connections_with_the_most_unread_are_listed_first() {
        let queues: Vec<ConnQueues> = (1..=MAX_LISTED_CONNECTIONS as u64 + 8)
            .map(|id| ConnQueues {
                info: crate::service::ConnInfo { id: crate::service::ConnId(id), service: 0, pid: 1, uid: 0, gid: 0 },
                responses: 0,
                callbacks: 0,
                // Connection 3 and the last ones have the most.
                unread_bytes: if id == 3 { 1 << 20 } else { id },
            })
            .collect();
        let mut out = Vec::new();
        ipc_connections(&queues, &mut out);
        let ids: Vec<u64> =
            out.iter().filter_map(|s| s.name.strip_suffix(".pid")?.strip_prefix("ipc.conn")?.parse().ok()).collect();
        let mut want: Vec<u64> = vec![3];
        want.extend(40 - MAX_LISTED_CONNECTIONS as u64 + 2..=40);
        assert_eq!(ids, want);
    }

    #[test]
    fn names_are_unique_and_in_one_namespace() {
        let mut out = Vec::new();
        let t = totem::Stats { mcast_retransmitted: 5, malformed_short: 2, ..Default::default() };
        totem(&t, &mut out);
        interface(0, false, &ais_net::Stats::default(), &mut out);
        interface(1, true, &ais_net::Stats::default(), &mut out);
        let conn = |id: u64, callbacks: usize, unread_bytes: u64| ConnQueues {
            info: crate::service::ConnInfo {
                id: crate::service::ConnId(id),
                service: svc::EVT,
                pid: 40,
                uid: 0,
                gid: 0,
            },
            responses: 1,
            callbacks,
            unread_bytes,
        };
        let queues = vec![conn(7, 2, 100), conn(9, 5, 300), conn(12, 0, 0)];
        ipc(&Default::default(), &queues, &mut out);
        ipc_connections(&queues, &mut out);
        totem_queues(&totem::QueueDepths { send_messages: 6, ..Default::default() }, &mut out);
        let mut lc = LoopCounters::new(1_700_000_000_000_000_000);
        lc.request(svc::CKPT);
        lc.request(u32::MAX); // out of range: ignored, not a panic
        service("ckpt", &lc, svc::CKPT, vec![Stat::gauge("checkpoints", 4)], &mut out);
        service_queues("evt", svc::EVT, &queues, &mut out);
        service_queues("ckpt", svc::CKPT, &queues, &mut out);
        let mut names: Vec<&str> = out.iter().map(|s| s.name.as_str()).collect();
        let get = |n: &str| out.iter().find(|s| s.name == n).map(|s| s.value);
        assert_eq!(get("totem.ring0.retransmitted"), Some(5));
        assert_eq!(get("totem.ring0.malformed"), Some(2));
        assert_eq!(get("totem.ring0.malformed.short"), Some(2));
        assert_eq!(get("totem.interface1.faulty"), Some(1));
        assert_eq!(get("ipc.connections"), Some(3));
        assert_eq!(get("ipc.callbacks_queued"), Some(7));
        assert_eq!(get("ipc.responses_queued"), Some(3));
        assert_eq!(get("ipc.unread_bytes"), Some(400));
        assert_eq!(get("ipc.conn9.callbacks_queued"), Some(5));
        assert_eq!(get("ipc.conn7.unread_bytes"), Some(100));
        assert_eq!(get("ipc.conn12.pid"), Some(40));
        assert_eq!(get("ipc.conn12.service"), Some(svc::EVT.into()));
        assert_eq!(get("totem.ring0.send_queue"), Some(6));
        assert_eq!(get("service.evt.callbacks_queued"), Some(7));
        assert_eq!(get("service.evt.unread_bytes"), Some(400));
        assert_eq!(get("service.ckpt.callbacks_queued"), Some(0));
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
