//! Operation on an installed ring: multicasts, the token, flow control, delivery.

use std::collections::BTreeSet;

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
        self.process_token(t, true);
    }

    pub(super) fn process_token(&mut self, mut t: Token, may_hold: bool) {
        self.token_seq_seen = t.token_seq;
        self.tm_token_loss = Some(self.loss_deadline());
        self.tm_retrans = None;
        self.last_sent_token = None;
        let members = match (self.state, &self.new) {
            (State::Recovery, Some(n)) => n.members.clone(),
            (State::Operational, _) => self.members.clone(),
            _ => return,
        };
        let Some(idx) = members.iter().position(|m| *m == self.me) else { return };
        let is_rep = idx == 0;
        if is_rep {
            self.stats.token_rotations += 1;
            let min_ack = t.acks.iter().copied().min().unwrap_or(0);
            if self.state == State::Recovery && t.rotation_seq > 0 && t.flags & TF_PENDING == 0 && min_ack == t.seq {
                t.flags |= TF_INSTALL;
            }
            t.flags &= !TF_PENDING;
            t.rotation_seq = t.rotation_seq.saturating_add(1);
        }
        if t.flags & TF_INSTALL != 0 && self.state == State::Recovery {
            self.install();
        }
        let operational = self.state == State::Operational;
        let ring = t.ring;
        // The token must fit one frame: its fixed part, the acks, then
        // 8 bytes per retransmission request. (With 256 requests a token
        // outgrew a 1431-byte frame, could not be sent, and the ring
        // reformed after a token loss whenever a node missed that many.)
        let room = (self.frame_size - wire::TOKEN_FIXED_LEN) / 8;
        let max_rtr = MAX_RTR_WIRE.min(256).min(room.saturating_sub(t.acks.len()));

        // Answer retransmission requests.
        let mut sent: u32 = 0;
        t.fcc = t.fcc.saturating_sub(self.my_last_fcc);
        let mut still_missing = Vec::new();
        for &s in &t.rtr {
            let m = {
                let buf = if operational { &self.rx } else { self.new.as_ref().map(|n| &n.rx).unwrap_or(&self.rx) };
                buf.msgs.get(&s).cloned()
            };
            match m {
                Some(m) => {
                    self.send_mcast(ring, s, &m);
                    self.stats.mcast_retransmitted += 1;
                    sent += 1;
                }
                None => still_missing.push(s),
            }
        }
        t.rtr = still_missing;
        t.rtr.truncate(max_rtr);

        // Ask for what we miss.
        let (aru, have) = {
            let buf = if operational { &self.rx } else { self.new.as_ref().map(|n| &n.rx).unwrap_or(&self.rx) };
            let upto = t.seq.min(buf.aru + self.backlog);
            let have: Vec<u64> = (buf.aru + 1..=upto).filter(|s| !buf.msgs.contains_key(s)).take(max_rtr).collect();
            (buf.aru, have)
        };
        for s in have {
            if t.rtr.len() >= max_rtr {
                break;
            }
            if !t.rtr.contains(&s) {
                t.rtr.push(s);
            }
        }
        if aru < t.seq && aru == self.last_aru_at_visit {
            self.miss_visits += 1;
        } else {
            self.miss_visits = 0;
        }
        self.last_aru_at_visit = aru;
        if self.miss_visits >= self.cfg.fail_to_recv_const {
            let p: BTreeSet<u32> = members.iter().copied().collect();
            self.enter_gather(p);
            return;
        }

        // New messages, within flow control.
        let min_ack = t.acks.iter().copied().min().unwrap_or(0);
        let outstanding = t.seq.saturating_sub(min_ack);
        let quota = (self.cfg.max_messages() as u64)
            .min((self.cfg.window_size() as u64).saturating_sub(t.fcc as u64))
            .min(self.backlog.saturating_sub(outstanding));
        let mut new_sent = self.send_ahead(&mut t, quota);
        while new_sent < quota {
            let stored = if operational {
                match self.sendq.next_packet(self.mcast_capacity) {
                    Some((chunks, safe)) => Stored::own(self.me, chunks, safe),
                    None => break,
                }
            } else {
                let old_ring = self.ring;
                let Some(n) = &mut self.new else { break };
                match n.recovery.pop_front() {
                    Some((old_seq, m)) => Stored {
                        sender: self.me,
                        flags: 0,
                        encap: Some(Encap { old_ring, old_seq, orig_sender: m.sender, orig_flags: m.flags }),
                        chunks: m.chunks,
                    },
                    None => break,
                }
            };
            let Some(s) = t.seq.checked_add(1) else { break };
            t.seq = s;
            self.send_mcast(ring, s, &stored);
            if operational {
                self.rx.insert(s, stored);
            } else if let Some(n) = &mut self.new {
                n.rx.insert(s, stored);
            }
            self.stats.mcast_sent += 1;
            new_sent += 1;
        }
        sent += new_sent as u32;
        if !operational && self.new.as_ref().is_some_and(|n| !n.recovery.is_empty()) {
            t.flags |= TF_PENDING;
        }
        t.fcc = t.fcc.saturating_add(sent);
        self.my_last_fcc = sent;

        // Record our aru; deliver.
        let my_aru = if operational { self.rx.aru } else { self.new.as_ref().map(|n| n.rx.aru).unwrap_or(0) };
        t.acks[idx] = my_aru;
        let min_ack = t.acks.iter().copied().min().unwrap_or(0);
        if operational {
            self.safe_point = self.safe_point.max(min_ack.min(self.rx.aru));
            self.deliver();
            self.rx.gc(self.safe_point);
        } else {
            self.process_recovered();
        }

        self.ring_looked_idle = operational && t.seq == self.seq_at_last_visit && t.rtr.is_empty();
        self.frames_last_rotation = t.seq.saturating_sub(self.seq_at_last_visit);
        self.seq_at_last_visit = t.seq;

        // Idle ring: the representative holds the token a while.
        let mut hold = false;
        if is_rep && operational {
            let idle = t.seq == self.last_rotation_seq && t.rtr.is_empty() && min_ack == t.seq && self.sendq.is_empty();
            if idle {
                self.idle_rotations = self.idle_rotations.saturating_add(1);
            } else {
                self.idle_rotations = 0;
            }
            self.last_rotation_seq = t.seq;
            hold = may_hold && idle && self.idle_rotations >= self.cfg.seqno_unchanged_const;
        }
        t.token_seq = t.token_seq.saturating_add(1);
        if hold {
            self.token_seq_seen = t.token_seq.saturating_sub(1);
            self.held = Some(t);
            self.tm_hold = Some(self.now.plus_ms(self.cfg.hold()));
            return;
        }
        let next = members[(idx + 1) % members.len()];
        let bytes = if next == self.me { Vec::new() } else { wire::encode(self.me, &Packet::Token(t.clone())) };
        let seq = t.seq;
        self.send_token_like(next, Local::Token(t), bytes, seq);
        if self.frames_last_rotation == new_sent {
            // Only our own messages moved the ring this rotation.
            self.build_ahead(ring, seq, quota);
        }
    }

    /// At a token visit: sends the frames built ahead (at most `quota`) if
    /// the token came back on the ring and with the sequence number they
    /// were built for, and forgets the others (their messages are still
    /// queued). Returns how many were sent.
    fn send_ahead(&mut self, t: &mut Token, quota: u64) -> u64 {
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
    fn build_ahead(&mut self, ring: RingId, seq: u64, limit: u64) {
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
