//! One token visit, in the order its steps must run: take the token, the
//! representative's rotation duties, retransmissions asked of us, what we
//! miss, new messages within flow control, our aru and delivery, then pass
//! the token on (or hold it).

use std::collections::BTreeSet;

use super::*;

/// How the token came to this visit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Arrival {
    /// Passed by the previous member (or by ourselves on a ring of one,
    /// or the first token of a new ring).
    Passed,
    /// Released from our hold by a message submitted here: the
    /// representative may hold it again on an idle ring.
    Released,
    /// Released by the hold timer or a wake: it goes on.
    Expired,
}

/// What every step of a visit needs to know about the ring it is on.
pub(super) struct Visit {
    /// The ring the token belongs to (the old one until recovery installs).
    ring: RingId,
    members: Vec<u32>,
    /// Our position in `members`; 0 is the representative.
    idx: usize,
    /// On the installed ring (not recovering).
    operational: bool,
    /// Most retransmission requests the token may carry.
    max_rtr: usize,
}

impl Totem {
    /// Handles the token at this node.
    pub(super) fn process_token(&mut self, mut t: Token, arrival: Arrival) {
        let Some(v) = self.begin_visit(&mut t, arrival) else { return };
        let mut sent = self.answer_retransmissions(&v, &mut t);
        if !self.request_missing(&v, &mut t) {
            return;
        }
        let quota = self.quota(&t);
        let new_sent = self.send_new(&v, &mut t, quota);
        sent += new_sent as u32;
        if !v.operational && self.new.as_ref().is_some_and(|n| !n.recovery.is_empty()) {
            t.flags |= TF_PENDING;
        }
        // Our share of this rotation's flow control (our previous share
        // was taken off in `answer_retransmissions`).
        t.fcc = t.fcc.saturating_add(sent);
        self.my_last_fcc = sent;
        let own_before = self.own_delivered;
        self.record_and_deliver(&v, &mut t);
        self.note_activity(&v, &t);
        // In this visit, or since the last one on members' safe acks.
        let on_acks = std::mem::take(&mut self.own_delivered_on_acks);
        let own_delivered = self.own_delivered > own_before || on_acks;
        self.pass_on(v, t, arrival, own_delivered, new_sent, quota);
    }

    /// Takes the token: timers, the representative's rotation duties
    /// (once per rotation: not again when it resumes a token it held),
    /// installing a recovered ring. `None` if this node has no place on
    /// the token's ring.
    fn begin_visit(&mut self, t: &mut Token, arrival: Arrival) -> Option<Visit> {
        self.token_seq_seen = t.token_seq;
        self.tm_token_loss = Some(self.loss_deadline());
        self.tm_retrans = None;
        self.last_sent_token = None;
        let members = match (self.state, &self.new) {
            (State::Recovery, Some(n)) => n.members.clone(),
            (State::Operational, _) => self.members.clone(),
            _ => return None,
        };
        let idx = members.iter().position(|m| *m == self.me)?;
        let rotation_start = idx == 0 && arrival == Arrival::Passed;
        if rotation_start {
            self.stats.token_rotations += 1;
            let min_ack = t.acks.iter().copied().min().unwrap_or(0);
            // A recovery rotation that left nothing pending and everyone
            // holding everything: install.
            if self.state == State::Recovery && t.rotation_seq > 0 && t.flags & TF_PENDING == 0 && min_ack == t.seq {
                t.flags |= TF_INSTALL;
            }
            t.flags &= !TF_PENDING;
            t.rotation_seq = t.rotation_seq.saturating_add(1);
        }
        if t.flags & TF_INSTALL != 0 && self.state == State::Recovery {
            self.install();
        }
        if self.state == State::Operational && !self.rekey_at_visit(t, idx, arrival == Arrival::Passed) {
            return None;
        }
        // The token must fit one frame: its fixed part, the acks, then
        // 8 bytes per retransmission request, and during a rekey the
        // secret's part. (With 256 requests a token outgrew a 1431-byte
        // frame, could not be sent, and the ring reformed after a token
        // loss whenever a node missed that many.)
        let kx_len = if t.kx.is_some() { wire::COMMIT_KX_LEN } else { 0 };
        let room = (self.frame_size - wire::TOKEN_FIXED_LEN - kx_len) / 8;
        let max_rtr = MAX_RTR_WIRE.min(256).min(room.saturating_sub(t.acks.len()));
        Some(Visit { ring: t.ring, members, idx, operational: self.state == State::Operational, max_rtr })
    }

    /// The receive buffer of the token's ring.
    fn visit_rx(&self, v: &Visit) -> &RxBuf {
        if v.operational { &self.rx } else { self.new.as_ref().map(|n| &n.rx).unwrap_or(&self.rx) }
    }

    /// Retransmits what the token asks for and we hold; the requests we
    /// cannot answer stay. Returns how many frames went out.
    fn answer_retransmissions(&mut self, v: &Visit, t: &mut Token) -> u32 {
        let mut sent = 0;
        t.fcc = t.fcc.saturating_sub(self.my_last_fcc);
        let mut still_missing = Vec::new();
        self.stats.rtr_seen += t.rtr.len() as u64;
        for &s in &t.rtr {
            match self.visit_rx(v).msgs.get(&s).cloned() {
                Some(m) => {
                    self.send_mcast(v.ring, s, &m);
                    self.stats.mcast_retransmitted += 1;
                    sent += 1;
                }
                None => still_missing.push(s),
            }
        }
        t.rtr = still_missing;
        t.rtr.truncate(v.max_rtr);
        sent
    }

    /// Adds what we miss to the token's requests. False if we missed the
    /// same messages for `fail_to_recv_const` visits: then this node left
    /// for gather and the visit ends here.
    fn request_missing(&mut self, v: &Visit, t: &mut Token) -> bool {
        let (aru, missing) = {
            let buf = self.visit_rx(v);
            let upto = t.seq.min(buf.aru + self.backlog);
            let missing: Vec<u64> =
                (buf.aru + 1..=upto).filter(|s| !buf.msgs.contains_key(s)).take(v.max_rtr).collect();
            (buf.aru, missing)
        };
        for s in missing {
            if t.rtr.len() >= v.max_rtr {
                break;
            }
            if !t.rtr.contains(&s) {
                t.rtr.push(s);
                self.stats.rtr_requested += 1;
            }
        }
        if aru < t.seq && aru == self.last_aru_at_visit {
            self.miss_visits += 1;
        } else {
            self.miss_visits = 0;
        }
        self.last_aru_at_visit = aru;
        if self.miss_visits >= self.cfg.fail_to_recv_const {
            let p: BTreeSet<u32> = v.members.iter().copied().collect();
            self.enter_gather(p);
            return false;
        }
        true
    }

    /// How many new frames flow control lets us send in this visit.
    fn quota(&self, t: &Token) -> u64 {
        let min_ack = t.acks.iter().copied().min().unwrap_or(0);
        let outstanding = t.seq.saturating_sub(min_ack);
        (self.cfg.max_messages() as u64)
            .min((self.cfg.window_size() as u64).saturating_sub(t.fcc as u64))
            .min(self.backlog.saturating_sub(outstanding))
    }

    /// Sends up to `quota` new frames: those built ahead if still valid,
    /// then our queued messages (operational) or the old ring's messages
    /// we retransmit (recovery). Returns how many.
    fn send_new(&mut self, v: &Visit, t: &mut Token, quota: u64) -> u64 {
        let mut new_sent = self.send_ahead(t, quota);
        while new_sent < quota {
            let stored = if v.operational {
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
            self.send_mcast(v.ring, s, &stored);
            if v.operational {
                self.rx.insert(s, stored);
            } else if let Some(n) = &mut self.new {
                n.rx.insert(s, stored);
            }
            self.stats.mcast_sent += 1;
            new_sent += 1;
        }
        new_sent
    }

    /// Records our aru in the token, then delivers what that allows
    /// (operational) or moves recovered messages along (recovery).
    fn record_and_deliver(&mut self, v: &Visit, t: &mut Token) {
        t.acks[v.idx] = self.visit_rx(v).aru;
        if v.operational {
            let min_ack = t.acks.iter().copied().min().unwrap_or(0);
            self.safe_point = self.safe_point.max(min_ack.min(self.rx.aru));
            self.deliver();
            self.rx.gc(self.safe_point);
        } else {
            self.process_recovered();
        }
    }

    /// What the ring carried since our last visit (the executive polls
    /// longer while it is busy).
    fn note_activity(&mut self, v: &Visit, t: &Token) {
        self.ring_looked_idle = v.operational && t.seq == self.seq_at_last_visit && t.rtr.is_empty();
        self.frames_last_rotation = t.seq.saturating_sub(self.seq_at_last_visit);
        self.seq_at_last_visit = t.seq;
    }

    /// Passes the token to the next member, or keeps it a while: on an idle
    /// ring the representative holds it for `hold`; a node may linger
    /// with it for its local client ([`Totem::linger`]). Then builds the
    /// frames of our next visit ahead if only our own messages moved the
    /// ring.
    fn pass_on(&mut self, v: Visit, mut t: Token, arrival: Arrival, own_delivered: bool, new_sent: u64, quota: u64) {
        let mut hold = None;
        if v.idx == 0 && v.operational {
            let min_ack = t.acks.iter().copied().min().unwrap_or(0);
            let idle = t.seq == self.last_rotation_seq && t.rtr.is_empty() && min_ack == t.seq && self.sendq.is_empty();
            if idle {
                self.idle_rotations = self.idle_rotations.saturating_add(1);
            } else {
                self.idle_rotations = 0;
            }
            self.last_rotation_seq = t.seq;
            // A ring of one holds at once: nobody else can have messages,
            // and each idle rotation is a pass of the token to ourselves.
            let long_idle = self.idle_rotations >= self.cfg.seqno_unchanged_const || v.members.len() == 1;
            if arrival != Arrival::Expired && idle && long_idle {
                hold = Some(self.now.plus_ms(self.cfg.hold()));
            }
        }
        self.lingering = false;
        if hold.is_none() {
            hold = self.linger(&v, arrival, own_delivered);
            self.lingering = hold.is_some();
        }
        t.token_seq = t.token_seq.saturating_add(1);
        if let Some(until) = hold {
            self.token_seq_seen = t.token_seq.saturating_sub(1);
            self.held = Some(t);
            self.tm_hold = Some(until);
            return;
        }
        self.linger_until = None;
        let next = v.members[(v.idx + 1) % v.members.len()];
        let bytes = if next == self.me { Vec::new() } else { wire::encode(self.me, &Packet::Token(t.clone())) };
        let seq = t.seq;
        self.send_token_like(next, Local::Token(t), bytes, seq);
        if self.frames_last_rotation == new_sent {
            // Only our own messages moved the ring this rotation.
            self.build_ahead(v.ring, seq, quota);
        }
    }

    /// Until when to keep the token for the local client, if at all. A
    /// visit that delivered our own messages answered local clients, which
    /// usually call again within `linger_us`; a message submitted
    /// meanwhile releases the token at once and goes out in this visit,
    /// instead of a rotation later. Only while nothing of ours waits for
    /// the token to go round (a Safe message sent in this visit needs the
    /// others' acks) and we have nothing more to send; released, the token
    /// may be kept again for the rest of the `linger_us` after its arrival
    /// (a client whose calls are answered at once, such as ordered reads,
    /// makes several per visit).
    fn linger(&mut self, v: &Visit, arrival: Arrival, own_delivered: bool) -> Option<Micros> {
        let quiet = v.operational
            && v.members.len() > 1
            && self.cfg.linger_us > 0
            && own_delivered
            && self.sendq.is_empty()
            && !self.own_in_flight();
        if !quiet {
            return None;
        }
        let until = match arrival {
            Arrival::Passed => {
                let until = Micros(self.now.0.saturating_add(u64::from(self.cfg.linger_us)));
                self.linger_until = Some(until);
                until
            }
            Arrival::Released => self.linger_until.filter(|t| self.now < *t)?,
            Arrival::Expired => return None,
        };
        self.stats.token_lingers += 1;
        Some(until)
    }

    /// Whether a message we sent is not delivered yet.
    fn own_in_flight(&self) -> bool {
        self.rx.msgs.range(self.rx.delivered + 1..).any(|(_, m)| m.sender == self.me)
    }
}
