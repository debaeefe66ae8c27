//! The live statistics snapshot of the whole executive (names in
//! `crate::stats`), assembled on the main loop thread when asked: by an
//! `ais-cfgtool -S` request (see `admin`) or for the metrics endpoint.

use ais_ipc::cfg::Stat;

use super::Executive;
use crate::service::Now;

impl Executive {
    /// Every statistic, in a fixed order.
    pub fn snapshot(&self, now: Now) -> Vec<Stat> {
        let mut out = Vec::with_capacity(128);
        let c = &self.counters;
        let wall = u64::try_from(now.wall / 1_000_000_000).unwrap_or(0);
        out.push(Stat::gauge("exec.uptime_seconds", wall.saturating_sub(c.started)));
        out.push(Stat::counter("exec.unroutable", self.unroutable));
        let g = &self.poll_windows;
        out.extend([
            Stat::counter("exec.poll_windows_hit", g.hits),
            Stat::counter("exec.poll_windows_missed", g.misses),
            Stat::counter("exec.poll_windows_slept", g.slept),
            Stat::counter("exec.poll_pauses", self.gate.pauses),
        ]);
        let status = self.ordering.status();
        out.extend([
            Stat::gauge("cluster.node_id", status.local_node.into()),
            Stat::gauge("cluster.members", status.members.len() as u64),
            Stat::gauge("cluster.ring_seq", status.ring_id.seq),
            Stat::counter("cluster.config_changes", c.config_changes),
            Stat::gauge("cluster.last_config_change", c.last_config_change),
        ]);
        self.ordering.stats(&mut out);
        let queues = self.server.queues();
        crate::stats::ipc(&self.server.stats, &queues, &mut out);
        for s in self.services.iter().flatten() {
            let mut own = Vec::new();
            s.stats(&mut own);
            crate::stats::service(s.name(), c, s.id(), own, &mut out);
            crate::stats::service_queues(s.name(), s.id(), &queues, &mut out);
        }
        // Last: the only list that grows with the load.
        crate::stats::ipc_connections(&queues, &mut out);
        out
    }

    /// Hands snapshots to the metrics endpoint's thread (`shared`),
    /// woken by its wake fd.
    pub fn serve_metrics(&mut self, shared: std::sync::Arc<crate::metrics_http::Shared>) -> std::io::Result<()> {
        self.epoll.add(shared.wake_fd(), super::METRICS_KEY, crate::sys::IN)?;
        self.metrics = Some(shared);
        Ok(())
    }

    /// A scrape waits: hand it a snapshot (never waits for the thread).
    pub(super) fn publish_metrics(&self, now: Now) {
        if let Some(m) = &self.metrics
            && m.take_wanted()
        {
            m.publish(self.snapshot(now));
        }
    }

    /// The metrics thread woke the loop.
    pub(super) fn metrics_woke(&self, now: Now) {
        if let Some(m) = &self.metrics {
            crate::sys::drain_wakes(m.wake_fd());
        }
        self.publish_metrics(now);
    }
}
