//! CFG requests about the executive itself, answered by the main loop
//! before any service sees them: `STATS` (`ais-cfgtool -S`, the snapshot)
//! and `SHUTDOWN` (`ais-cfgtool -H`, a stop as by SIGTERM). Only clients
//! the access check let in (root and the configured users and groups) get
//! this far.

use ais_ipc::cfg::{SHUTDOWN, STATS, encode_error, encode_stats};
use ais_ipc::error;

use super::Executive;
use crate::service::{ConnId, Now};

impl Executive {
    /// Answers `id` if it is one of ours; false lets the CFG service have it.
    pub(super) fn answer_admin(&mut self, conn: ConnId, id: u32, body: &[u8], pid: i32, now: Now) -> bool {
        let answer = match id {
            _ if !matches!(id, STATS | SHUTDOWN) => return false,
            _ if !body.is_empty() => {
                self.server.stats.malformed += 1;
                encode_error(error::INVALID_PARAM)
            }
            STATS => encode_stats(&self.snapshot(now)),
            _ => {
                crate::log_notice!(Main, "shutdown requested by pid {pid} (ais-cfgtool -H)");
                self.shutdown_asked = true;
                encode_error(error::OK)
            }
        };
        self.server.send_reply(&self.epoll, conn, id, &answer);
        true
    }
}
