//! Operation on an installed ring: multicasts, accepting the token (its
//! visit is in `visit.rs`), frames built ahead.

use super::*;

impl Totem {
    // ---- operational ----

    pub(super) fn on_mcast(&mut self, sender: u32, m: Mcast) {
        self.stats.mcast_received += 1;
        let stored = Stored { sender, flags: m.flags & MF_SAFE, encap: m.encap, chunks: m.chunks };
        match self.state {
            State::Operational | State::Gather if m.ring == self.ring && self.members.contains(&sender) => {
                if m.seq > self.rx.aru + self.backlog || !self.rx.insert(m.seq, stored) {
                    self.stats.packets_ignored += 1;
                    return;
                }
                if self.state == State::Operational {
                    if m.flags & MF_SAFE != 0 {
                        self.safe_ack_due(sender);
                    }
                    self.deliver();
                    if let Some((next, _, seq)) = &self.last_sent_token
                        && *next == sender
                        && m.seq > *seq
                    {
                        self.tm_retrans = None;
                    }
                }
            }
            State::Recovery => {
                let Some(n) = &mut self.new else { return };
                if m.ring != n.id || !n.members.contains(&sender) {
                    self.stats.packets_ignored += 1;
                    return;
                }
                if m.seq > n.rx.aru + self.backlog || !n.rx.insert(m.seq, stored) {
                    self.stats.packets_ignored += 1;
                    return;
                }
                self.process_recovered();
            }
            _ => self.stats.packets_ignored += 1,
        }
    }

    pub(super) fn on_token(&mut self, t: Token) {
        let (ring, n_members) = match (self.state, &self.new) {
            (State::Operational, _) => (self.ring, self.members.len()),
            (State::Recovery, Some(n)) => (n.id, n.members.len()),
            _ => {
                self.stats.packets_ignored += 1;
                return;
            }
        };
        if t.ring != ring || t.token_seq <= self.token_seq_seen || t.acks.len() != n_members {
            self.stats.packets_ignored += 1;
            return;
        }
        self.stats.tokens_received += 1;
        self.process_token(t, Arrival::Passed);
    }

    /// At a token visit: sends the frames built ahead (at most `quota`) if
    /// the token came back on the ring and with the sequence number they
    /// were built for, and forgets the others (their messages are still
    /// queued). Returns how many were sent.
    pub(super) fn send_ahead(&mut self, t: &mut Token, quota: u64) -> u64 {
        let Some(ahead) = self.ahead.take() else { return 0 };
        let usable = self.state == State::Operational && (ahead.ring, ahead.seq) == (t.ring, t.seq);
        let count = if usable { ahead.frames.len().min(quota as usize) } else { 0 };
        self.out.push_back(Transmit::SendKept { count });
        let mut after = None;
        for (stored, at) in ahead.frames.into_iter().take(count) {
            // No overflow: `build_ahead` numbered these frames.
            t.seq += 1;
            self.rx.insert(t.seq, stored);
            after = Some(at);
            self.stats.mcast_sent += 1;
            self.stats.mcast_sent_ahead += 1;
        }
        if let Some(at) = after {
            self.sendq.advance_to(at);
        }
        count as u64
    }

    /// Right after passing the token on with sequence number `seq`: builds
    /// up to `limit` full frames of our next visit, numbered as if the
    /// token comes back unchanged, and hands them out to be sealed (see
    /// [`Totem::set_pack_ahead`]).
    pub(super) fn build_ahead(&mut self, ring: RingId, seq: u64, limit: u64) {
        if !self.pack_ahead || self.state != State::Operational || self.members.len() < 2 || self.ahead.is_some() {
            return;
        }
        let mut at = self.sendq.front();
        let mut frames = Vec::new();
        let mut last = seq;
        while (frames.len() as u64) < limit {
            let Some(s) = last.checked_add(1) else { break };
            let Some((chunks, safe)) = self.sendq.peek_full_packet(&mut at, self.mcast_capacity) else { break };
            last = s;
            let stored = Stored::own(self.me, chunks, safe);
            self.out.push_back(Transmit::Keep { bytes: stored.encode(ring, s) });
            frames.push((stored, at));
            self.stats.mcast_packed_ahead += 1;
        }
        if !frames.is_empty() {
            self.ahead = Some(Ahead { ring, seq, frames });
        }
    }

    /// Forgets the frames built ahead (their messages are still queued)
    /// and tells the caller to drop their sealed copies.
    pub(super) fn abandon_ahead(&mut self) {
        if self.ahead.take().is_some() {
            self.out.push_back(Transmit::SendKept { count: 0 });
        }
    }

    pub(super) fn send_mcast(&mut self, ring: RingId, seq: u64, m: &Stored) {
        if self.state == State::Operational && self.members.len() == 1 {
            // A ring of one: nobody needs the frame (a node that joins
            // later never gets this ring's messages), and sending it cost
            // a syscall per token rotation, one per message when idle.
            return;
        }
        self.out.push_back(Transmit::Send { dest: Dest::Multicast, bytes: m.encode(ring, seq) });
    }
}
