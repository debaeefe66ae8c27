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
        let status = self.ordering.status();
        out.extend([
            Stat::gauge("cluster.node_id", status.local_node.into()),
            Stat::gauge("cluster.members", status.members.len() as u64),
            Stat::gauge("cluster.ring_seq", status.ring_id.seq),
            Stat::counter("cluster.config_changes", c.config_changes),
            Stat::gauge("cluster.last_config_change", c.last_config_change),
        ]);
        self.ordering.stats(&mut out);
        crate::stats::ipc(&self.server.stats, self.server.connection_count(), &mut out);
        for s in self.services.iter().flatten() {
            let mut own = Vec::new();
            s.stats(&mut own);
            crate::stats::service(s.name(), c, s.id(), own, &mut out);
        }
        out
    }

    /// Hands snapshots to the metrics endpoint's thread (`shared`).
    pub fn serve_metrics(&mut self, shared: std::sync::Arc<crate::metrics_http::Shared>) {
        self.metrics = Some(shared);
    }

    /// A scrape waits: hand it a snapshot (never waits for the thread).
    pub(super) fn publish_metrics(&self, now: Now) {
        if let Some(m) = &self.metrics
            && m.take_wanted()
        {
            m.publish(self.snapshot(now));
        }
    }
}
