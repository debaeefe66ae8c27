//! How many client sockets each user and each process may hold, so that
//! no one client can take every connection: a limit per uid, a limit per
//! process, and a reserve only root may use. Root is limited only by the
//! total ([`super::MAX_SOCKETS`]).
//!
//! Owns the counts; the server asks before it accepts a socket and tells
//! when one goes. Limits are configured in connections (`aisexec {
//! max_connections_per_uid, max_connections_per_process,
//! root_reserved_connections }`); a connection is two sockets, and a
//! socket still in its handshake counts too.

use std::collections::HashMap;

use crate::config::Aisexec;
use crate::sys::PeerCred;

/// Sockets per connection (request and dispatch).
const SOCKETS_PER_CONN: usize = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    pub total: usize,
    pub per_uid: usize,
    pub per_process: usize,
    pub root_reserve: usize,
}

impl ConnLimits {
    /// The limits `aisexec {}` sets, in sockets, under a total of
    /// `total_sockets`.
    pub fn from_config(a: &Aisexec, total_sockets: usize) -> ConnLimits {
        ConnLimits {
            total: total_sockets,
            per_uid: a.max_connections_per_uid as usize * SOCKETS_PER_CONN,
            per_process: a.max_connections_per_process as usize * SOCKETS_PER_CONN,
            root_reserve: (a.root_reserved_connections as usize * SOCKETS_PER_CONN).min(total_sockets),
        }
    }
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits::from_config(&Aisexec::default(), super::MAX_SOCKETS)
    }
}

/// Which limit refused a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Total,
    RootReserve,
    Uid,
    Process,
}

impl Refusal {
    pub fn describe(self, limits: &ConnLimits) -> String {
        let conns = |n: usize| n / SOCKETS_PER_CONN;
        match self {
            Refusal::Total => format!("{} sockets open", limits.total),
            Refusal::RootReserve => {
                format!("only the {} connections reserved for root are left", conns(limits.root_reserve))
            }
            Refusal::Uid => format!("its user holds {} connections (max_connections_per_uid)", conns(limits.per_uid)),
            Refusal::Process => {
                format!("it holds {} connections (max_connections_per_process)", conns(limits.per_process))
            }
        }
    }
}

/// Sockets held, in all, per uid and per process.
#[derive(Debug, Default)]
pub struct Usage {
    total: usize,
    by_uid: HashMap<u32, usize>,
    by_pid: HashMap<i32, usize>,
}

impl Usage {
    /// Whether one more socket from `cred` fits.
    pub fn admit(&self, limits: &ConnLimits, cred: &PeerCred) -> Result<(), Refusal> {
        if self.total >= limits.total {
            return Err(Refusal::Total);
        }
        if cred.uid == 0 {
            return Ok(());
        }
        if self.total >= limits.total - limits.root_reserve {
            return Err(Refusal::RootReserve);
        }
        if self.by_uid.get(&cred.uid).copied().unwrap_or(0) >= limits.per_uid {
            return Err(Refusal::Uid);
        }
        if self.by_pid.get(&cred.pid).copied().unwrap_or(0) >= limits.per_process {
            return Err(Refusal::Process);
        }
        Ok(())
    }

    pub fn add(&mut self, cred: &PeerCred) {
        self.total += 1;
        *self.by_uid.entry(cred.uid).or_default() += 1;
        *self.by_pid.entry(cred.pid).or_default() += 1;
    }

    pub fn remove(&mut self, cred: &PeerCred) {
        self.total = self.total.saturating_sub(1);
        decrement(&mut self.by_uid, cred.uid);
        decrement(&mut self.by_pid, cred.pid);
    }
}

/// Lowers a count, forgetting keys that reach zero (so the maps hold only
/// current users and processes).
fn decrement<K: std::hash::Hash + Eq>(map: &mut HashMap<K, usize>, k: K) {
    if let Some(n) = map.get_mut(&k) {
        *n -= 1;
        if *n == 0 {
            map.remove(&k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cred(pid: i32, uid: u32) -> PeerCred {
        PeerCred { pid, uid, gid: uid }
    }

    #[test]
    fn per_process_per_uid_and_the_root_reserve() {
        let limits = ConnLimits { total: 20, per_uid: 8, per_process: 5, root_reserve: 6 };
        let mut u = Usage::default();
        let fill = |u: &mut Usage, c: PeerCred| {
            let mut n = 0;
            while u.admit(&limits, &c).is_ok() {
                u.add(&c);
                n += 1;
            }
            (n, u.admit(&limits, &c).unwrap_err())
        };
        assert_eq!(fill(&mut u, cred(10, 1000)), (5, Refusal::Process));
        assert_eq!(fill(&mut u, cred(11, 1000)), (3, Refusal::Uid));
        assert_eq!(fill(&mut u, cred(12, 1001)), (5, Refusal::Process));
        // 13 held, 14 for non-root: one more for another user.
        assert_eq!(fill(&mut u, cred(13, 1002)), (1, Refusal::RootReserve));
        // Root takes the reserve, then meets the total.
        assert_eq!(fill(&mut u, cred(14, 0)), (6, Refusal::Total));
        // A socket that goes frees its process's, user's and total count.
        u.remove(&cred(10, 1000));
        assert_eq!(u.admit(&limits, &cred(15, 1003)), Err(Refusal::RootReserve));
        assert_eq!(u.admit(&limits, &cred(16, 0)), Ok(()));
        for _ in 0..4 {
            u.remove(&cred(10, 1000));
        }
        assert!(!u.by_pid.contains_key(&10));
        assert_eq!(u.by_uid[&1000], 3);
        for _ in 0..6 {
            u.remove(&cred(14, 0));
        }
        assert_eq!(u.admit(&limits, &cred(10, 1000)), Ok(()));
    }
}
