//! Membership: gather (join messages, consensus) and the commit token.

use std::collections::{BTreeSet, VecDeque};

use super::*;

/// How late the nodes of this cluster answer a gather: the silent-fail rule
/// waits that long (plus a join interval) before it takes silence for death.
///
/// A round (gather start or consensus timeout) expects an answer from every
/// other node of its proc set. The first join from such a node that names
/// us (a node that restarted names only itself) tells how long after the
/// round began it answered, also when it comes after we failed it and formed
/// a ring without it. The latest such delay is kept, and shrinks by a quarter
/// each round, so a cluster whose nodes answer at once goes back to the
/// configured `silent_fail`.
#[derive(Default)]
pub(super) struct Lateness {
    /// Latest answer seen, after its round began.
    late_us: u64,
    round_start: Micros,
    /// Nodes of the last round not heard from yet.
    waiting: BTreeSet<u32>,
}

impl Lateness {
    pub(super) fn new_round(&mut self, now: Micros, expect: impl Iterator<Item = u32>) {
        self.late_us -= self.late_us / 4;
        self.round_start = now;
        self.waiting = expect.collect();
    }

    pub(super) fn answered(&mut self, sender: u32, now: Micros, limit_us: u64) {
        if self.waiting.remove(&sender) {
            let late = now.0.saturating_sub(self.round_start.0);
            if late <= limit_us {
                self.late_us = self.late_us.max(late);
            }
        }
    }
}

impl Totem {
    /// How long gather waits for a first join from a node before failing
    /// it as silent: `silent_fail`, or the latest answer seen here plus a
    /// join interval if later, at most consensus / 2 (see CONFIG.md).
    pub fn silent_wait_ms(&self) -> u32 {
        let late_ms = self.lateness.late_us.div_ceil(1000);
        let late = u32::try_from(late_ms).unwrap_or(u32::MAX).saturating_add(self.cfg.join);
        self.cfg.silent_fail().max(late.min(self.cfg.consensus() / 2))
    }

    fn start_round(&mut self) {
        let me = self.me;
        let expect = self.gather.proc_set.iter().copied().filter(|n| *n != me);
        self.lateness.new_round(self.now, expect);
        self.tm_consensus = Some(self.now.plus_ms(self.cfg.consensus()));
        self.tm_silent = Some(self.now.plus_ms(self.silent_wait_ms()));
    }

    // ---- gather ----

    pub(super) fn enter_gather(&mut self, proc_init: BTreeSet<u32>) {
        // Frames built for the old ring are of no use (and free memory now).
        self.abandon_ahead();
        if self.state == State::Operational {
            // Fragments of a half-sent message are discarded by everyone at the change; resend it whole.
            self.sendq.restart_partial();
        }
        self.stats.gathers += 1;
        if let Some(keys) = self.kx.as_mut().and_then(|k| k.new_round()) {
            self.events.push_back(Event::RingKeys(keys));
        }
        self.state = State::Gather;
        self.new = None;
        self.local.clear();
        self.reset_timers();
        let mut proc_set = proc_init;
        proc_set.insert(self.me);
        while proc_set.len() > self.max_members {
            // Keep ourselves; drop the highest others.
            let Some(&last) = proc_set.iter().rev().find(|&&n| n != self.me) else { break };
            proc_set.remove(&last);
        }
        self.gather = Gather { proc_set, ..Gather::default() };
        self.start_round();
        if self.cfg.send_join > 0 {
            self.tm_join = Some(self.now.plus_ms(self.cfg.send_join));
        } else {
            self.send_join();
            self.tm_join = Some(self.now.plus_ms(self.cfg.join));
        }
        self.check_consensus();
    }

    /// Largest proc or fail set a join carries (it travels in parts if need be).
    pub(super) fn max_set(&self) -> usize {
        MAX_MEMBERS_WIRE
    }

    pub(super) fn send_join(&mut self) {
        if self.state != State::Gather {
            return;
        }
        let j = Join {
            proc_set: self.gather.proc_set.iter().copied().collect(),
            fail_set: self.gather.fail_set.iter().copied().collect(),
            ring_seq: self.ring_seq_max,
            ephemeral: self.kx.as_ref().map_or([0; 32], |k| k.ephemeral()),
        };
        self.stats.joins_sent += 1;
        self.multicast(self.me, &Packet::Join(j));
    }

    pub(super) fn on_join(&mut self, sender: u32, j: Join) {
        if j.proc_set.contains(&self.me) {
            let limit = u64::from(self.cfg.consensus()) * 1000;
            self.lateness.answered(sender, self.now, limit);
        }
        match self.state {
            State::Operational => {
                if self.members.contains(&sender) && j.ring_seq < self.ring.seq {
                    // Left over from the gather that formed this ring.
                    self.stats.packets_ignored += 1;
                    return;
                }
                if j.fail_set.contains(&self.me) {
                    // Its ring forms without us; merge detection joins the two rings later.
                    // (Reacting would let two nodes bounce each other between gathers forever.)
                    self.stats.packets_ignored += 1;
                    return;
                }
                let mut p: BTreeSet<u32> = self.members.iter().copied().collect();
                p.insert(sender);
                self.enter_gather(p);
            }
            State::Commit | State::Recovery => {
                let Some(n) = &self.new else { return };
                if !n.members.contains(&sender) {
                    // Merged later, through merge detection.
                    self.stats.packets_ignored += 1;
                    return;
                }
                let stale = j.ring_seq < n.id.seq
                    && j.proc_set.iter().all(|x| n.agreed_proc.contains(x))
                    && j.fail_set.iter().all(|x| n.agreed_fail.contains(x));
                if stale {
                    self.stats.packets_ignored += 1;
                    return;
                }
                let mut p: BTreeSet<u32> = n.members.iter().copied().collect();
                p.extend(self.members.iter().copied());
                self.enter_gather(p);
            }
            State::Gather => {}
        }
        // Alive, even if it disagrees or fails us: only silence fails a node early.
        self.gather.heard.insert(sender);
        if let Some(k) = &mut self.kx {
            k.heard(sender, j.ephemeral);
        }
        self.ring_seq_max = self.ring_seq_max.max(j.ring_seq);
        let max_set = self.max_set();
        let g = &mut self.gather;
        if g.fail_set.contains(&sender) {
            self.stats.packets_ignored += 1;
            return;
        }
        if j.fail_set.contains(&self.me) {
            // It considers us failed and forms its ring without us; we stop waiting for it
            // at our consensus timeout, and merge detection joins the rings later. Failing
            // it right here would spread "failed" sets around and split everyone into singletons.
            self.stats.packets_ignored += 1;
            return;
        }
        let mut proc_set = g.proc_set.clone();
        proc_set.extend(j.proc_set.iter().copied());
        let mut fail_set = g.fail_set.clone();
        fail_set.extend(j.fail_set.iter().copied());
        // Both sets travel in our join, which the wire bounds.
        if proc_set.difference(&fail_set).count() > self.max_members
            || proc_set.len() > max_set
            || fail_set.len() > max_set
        {
            self.stats.packets_ignored += 1;
            return;
        }
        let changed = proc_set != g.proc_set || fail_set != g.fail_set;
        g.proc_set = proc_set;
        g.fail_set = fail_set;
        if changed {
            g.agreed.clear();
        }
        let same = j.proc_set.iter().copied().collect::<BTreeSet<_>>() == g.proc_set
            && j.fail_set.iter().copied().collect::<BTreeSet<_>>() == g.fail_set;
        if same {
            g.agreed.insert(sender);
        }
        if changed {
            self.join_soon();
        }
        self.check_consensus();
    }

    /// Our sets changed: multicast them once the packets at hand are
    /// handled (the timer is due at once), not per packet. A node that
    /// fell behind in a join storm (64 nodes starting together: each set
    /// grows node by node) then answers a whole batch with one join
    /// instead of one per join received, which is what kept large rings
    /// on a busy machine from ever settling.
    fn join_soon(&mut self) {
        if self.tm_join.is_none_or(|t| t > self.now) {
            self.tm_join = Some(self.now);
        }
    }

    pub(super) fn on_merge(&mut self, sender: u32, ring: RingId) {
        match self.state {
            State::Operational => {
                let foreign = !self.members.contains(&sender) || ring.seq > self.ring.seq;
                if ring != self.ring && foreign {
                    let mut p: BTreeSet<u32> = self.members.iter().copied().collect();
                    p.insert(sender);
                    self.enter_gather(p);
                } else {
                    self.stats.packets_ignored += 1;
                }
            }
            State::Gather => {
                let g = &mut self.gather;
                g.heard.insert(sender);
                if !g.proc_set.contains(&sender)
                    && !g.fail_set.contains(&sender)
                    && g.proc_set.difference(&g.fail_set).count() < self.max_members
                    && g.proc_set.len() < MAX_MEMBERS_WIRE
                {
                    g.proc_set.insert(sender);
                    g.agreed.clear();
                    self.join_soon();
                }
            }
            _ => self.stats.packets_ignored += 1,
        }
    }

    pub(super) fn consensus_timeout(&mut self) {
        let g = &mut self.gather;
        let missing: Vec<u32> = g.live().into_iter().filter(|n| *n != self.me && !g.agreed.contains(n)).collect();
        self.stats.failed_consensus += missing.len() as u64;
        g.fail_set.extend(missing);
        // Require fresh joins next round, so a representative that died after consensus is noticed
        // (it stays silent, so it is failed after `silent_fail`, not after another consensus timeout).
        g.agreed.clear();
        g.heard.clear();
        self.start_round();
        self.send_join();
        self.check_consensus();
    }

    /// Fails the nodes of the proc set that sent nothing at all since this round began.
    ///
    /// Every live node that is gathering multicasts a join at once and then every `join`
    /// ms, and an operational node that receives a join starts gathering, so a node that
    /// stayed silent for several join intervals, and longer than live nodes here answer
    /// ([`Totem::silent_wait_ms`]), is dead or cut off. Waiting the whole
    /// consensus timeout for it is what made failure detection slow. A live node failed
    /// by mistake (all its joins lost or delayed) forms its own ring and merge detection
    /// brings it back; safety does not depend on this choice, only on consensus.
    pub(super) fn fail_silent(&mut self) {
        if self.state != State::Gather {
            return;
        }
        // Nodes that answered late in this very round raised the wait: a
        // slow machine now, so give the silent ones as long.
        let due = self.lateness.round_start.plus_ms(self.silent_wait_ms());
        if due > self.now {
            self.tm_silent = Some(due);
            return;
        }
        let g = &mut self.gather;
        let silent: Vec<u32> =
            g.live().into_iter().filter(|n| *n != self.me && !g.heard.contains(n) && !g.agreed.contains(n)).collect();
        if silent.is_empty() {
            return;
        }
        self.stats.failed_silent += silent.len() as u64;
        g.fail_set.extend(silent);
        g.agreed.clear();
        self.send_join();
        self.check_consensus();
    }

    pub(super) fn check_consensus(&mut self) {
        if self.state != State::Gather {
            return;
        }
        let live = self.gather.live();
        if !live.iter().all(|n| *n == self.me || self.gather.agreed.contains(n)) {
            return;
        }
        if live.first() != Some(&self.me) {
            return; // wait for the representative's commit token
        }
        let seq = self.ring_seq_max.saturating_add(4);
        let id = RingId { rep: self.me, seq };
        let kx = match &mut self.kx {
            // No usable ephemeral key heard from the next member: no commit
            // (the consensus timeout starts another round).
            Some(k) => match k.start(id, live.get(1).copied()) {
                Some(kx) => kx,
                None => return,
            },
            None => CommitKx::default(),
        };
        self.ring_seq_max = seq;
        self.events.push_back(Event::PersistRingSeq(seq));
        let entries = vec![CommitEntry::default(); live.len()];
        let c = Commit { ring: id, hop: 0, kx, members: live, entries };
        self.accept_commit(c);
    }

    // ---- commit ----

    pub(super) fn my_entry(&self) -> CommitEntry {
        CommitEntry {
            filled: true,
            old_ring: self.ring,
            aru: self.rx.aru,
            high_delivered: self.rx.delivered,
            high_seq: self.rx.high,
        }
    }

    /// First visit of a commit token: record our entry, enter Commit, pass it on.
    pub(super) fn accept_commit(&mut self, mut c: Commit) {
        let Some(idx) = c.members.iter().position(|m| *m == self.me) else { return };
        if c.ring.rep != self.me
            && let Some(k) = &mut self.kx
        {
            // The ring secret, wrapped again for the next member; a commit
            // that does not carry it for our ephemeral key is stale or replayed.
            let next = c.members[(idx + 1) % c.members.len()];
            match k.accept(c.ring, &c.kx, next) {
                Some(kx) => c.kx = kx,
                None => {
                    self.stats.packets_ignored += 1;
                    return;
                }
            }
        }
        if c.ring.seq > self.ring_seq_max || c.ring.rep == self.me {
            self.ring_seq_max = self.ring_seq_max.max(c.ring.seq);
            if c.ring.rep != self.me {
                self.events.push_back(Event::PersistRingSeq(c.ring.seq));
            }
        }
        c.entries[idx] = self.my_entry();
        self.reset_timers();
        self.state = State::Commit;
        self.new = Some(NewRing {
            id: c.ring,
            members: c.members.clone(),
            entries: c.entries.clone(),
            agreed_proc: self.gather.proc_set.clone(),
            agreed_fail: self.gather.fail_set.clone(),
            commit_hop: c.hop,
            rx: RxBuf::default(),
            recovery: VecDeque::new(),
            token_started: false,
            deliver_in_old: 0,
            old_high: 0,
        });
        self.tm_token_loss = Some(self.loss_deadline());
        self.forward_commit(c, idx);
    }

    pub(super) fn forward_commit(&mut self, mut c: Commit, idx: usize) {
        c.hop = c.hop.saturating_add(1);
        let next = c.members[(idx + 1) % c.members.len()];
        let bytes = if next == self.me { Vec::new() } else { wire::encode(self.me, &Packet::Commit(c.clone())) };
        let hop = c.hop;
        self.send_token_like(next, Local::Commit(c), bytes, hop);
    }

    pub(super) fn on_commit(&mut self, c: Commit) {
        let Some(idx) = c.members.iter().position(|m| *m == self.me) else {
            self.stats.packets_ignored += 1;
            return;
        };
        match self.state {
            State::Gather => {
                let live = self.gather.live();
                if c.members == live && !c.entries[idx].filled && c.ring.seq > self.ring.seq {
                    self.accept_commit(c);
                } else {
                    self.stats.packets_ignored += 1;
                }
            }
            State::Commit => {
                let Some(n) = &self.new else { return };
                if n.id != c.ring || c.hop <= n.commit_hop || !c.entries.iter().all(|e| e.filled) {
                    self.stats.packets_ignored += 1;
                    return;
                }
                if idx == 0
                    && let Some(k) = &self.kx
                    && !k.confirm(c.ring, &c.kx, c.members.len() == 1)
                {
                    // The secret did not come round intact: no recovery on
                    // keys the members do not share (token loss starts over).
                    self.stats.packets_ignored += 1;
                    return;
                }
                if let Some(n) = &mut self.new {
                    n.entries = c.entries.clone();
                    n.commit_hop = c.hop;
                }
                self.tm_retrans = None;
                self.last_sent_token = None;
                self.enter_recovery();
                self.forward_commit(c, idx);
            }
            State::Recovery => {
                let Some(n) = &mut self.new else { return };
                if n.id != c.ring || c.hop <= n.commit_hop || idx != 0 || n.token_started {
                    self.stats.packets_ignored += 1;
                    return;
                }
                // Second rotation done: every member is in recovery. Start the ring's token.
                n.token_started = true;
                n.commit_hop = c.hop;
                let t = Token {
                    ring: n.id,
                    token_seq: 1,
                    seq: 0,
                    rotation_seq: 0,
                    fcc: 0,
                    flags: 0,
                    acks: vec![0; n.members.len()],
                    rtr: Vec::new(),
                    kx: None,
                };
                self.token_seq_seen = 0;
                self.process_token(t, Arrival::Passed);
            }
            State::Operational => self.stats.packets_ignored += 1,
        }
    }
}
