//! How many client sockets each user and each process may hold, so that
//! no one client can take every connection: a limit per uid, a limit per
//! process, and a reserve only root may use. Root is limited only by the
//! total ([`super::MAX_SOCKETS`]). And how much output all clients
//! together may leave unread ([`Backlog`]).
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
    /// Bytes of output all clients together may leave unread.
    pub unread_budget: usize,
}

/// The default budget of unread output: an eighth of this machine's
/// memory, at least 64 MiB and at most 4 GiB (without it, 8192 slow
/// connections could make the executive hold 32 GiB).
pub fn default_unread_budget(physical_memory: Option<u64>) -> usize {
    const MIB: u64 = 1 << 20;
    let eighth = physical_memory.map_or(256 * MIB, |m| m / 8);
    eighth.clamp(64 * MIB, 4096 * MIB) as usize
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
            unread_budget: match a.callback_budget_mb {
                Some(mb) => (mb as usize) << 20,
                None => default_unread_budget(crate::sys::physical_memory()),
            },
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

/// Output queued and not yet taken by its reader, per socket (only
/// sockets with some), and the total: the global budget of
/// [`ConnLimits::unread_budget`] is checked against it.
#[derive(Debug, Default)]
pub struct Backlog {
    by_key: HashMap<u64, usize>,
    total: usize,
}

impl Backlog {
    /// Socket `key` now has `bytes` unread.
    pub fn note(&mut self, key: u64, bytes: usize) {
        let old = if bytes == 0 { self.by_key.remove(&key) } else { self.by_key.insert(key, bytes) };
        self.total = self.total - old.unwrap_or(0) + bytes;
    }

    pub fn total(&self) -> usize {
        self.total
    }

    /// The sockets to drop, largest backlog first, until the rest fit in
    /// `budget`.
    pub fn over_budget(&self, budget: usize) -> Vec<u64> {
        let mut by_size: Vec<(usize, u64)> = self.by_key.iter().map(|(&k, &b)| (b, k)).collect();
        by_size.sort_unstable_by(|a, b| b.cmp(a));
        let mut total = self.total;
        by_size
            .into_iter()
            .take_while(|&(bytes, _)| {
                let drop = total > budget;
                total -= bytes;
                drop
            })
            .map(|(_, k)| k)
            .collect()
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
        let limits = ConnLimits { total: 20, per_uid: 8, per_process: 5, root_reserve: 6, unread_budget: 0 };
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

    #[test]
    fn the_largest_backlogs_go_first_until_the_rest_fit() {
        let mut b = Backlog::default();
        for (key, bytes) in [(1, 300), (2, 900), (3, 100), (4, 500)] {
            b.note(key, bytes);
        }
        assert_eq!(b.total(), 1800);
        assert_eq!(b.over_budget(2000), Vec::<u64>::new());
        assert_eq!(b.over_budget(1000), vec![2]);
        assert_eq!(b.over_budget(400), vec![2, 4]);
        assert_eq!(b.over_budget(399), vec![2, 4, 1]);
        assert_eq!(b.over_budget(0), vec![2, 4, 1, 3]);
        b.note(2, 0);
        b.note(4, 50);
        assert_eq!(b.total(), 450);
        assert_eq!(b.over_budget(400), vec![1]);
    }

    #[test]
    fn the_default_budget_follows_the_machine() {
        const MIB: u64 = 1 << 20;
        assert_eq!(default_unread_budget(Some(24 * 1024 * MIB)), 3072 * MIB as usize);
        assert_eq!(default_unread_budget(Some(256 * MIB)), 64 * MIB as usize);
        assert_eq!(default_unread_budget(Some(1 << 40)), 4096 * MIB as usize);
        assert_eq!(default_unread_budget(None), 256 * MIB as usize);
    }
}
