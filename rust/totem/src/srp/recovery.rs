//! Recovery: old-ring retransmission on the new ring, then installing it with
//! the transitional and regular configurations.

use super::*;

impl Totem {
    // ---- recovery ----

    pub(super) fn enter_recovery(&mut self) {
        self.state = State::Recovery;
        // The new ring's key before its first packet.
        let ring = self.new.as_ref().map(|n| n.id);
        if let Some(keys) = ring.and_then(|r| self.kx.as_mut().and_then(|k| k.enter_recovery(r))) {
            self.events.push_back(Event::RingKeys(keys));
        }
        self.tm_token_loss = Some(self.loss_deadline());
        self.token_seq_seen = 0;
        self.my_last_fcc = 0;
        let my_ring = self.ring;
        let skip = self.skip_recovery_retransmit;
        let me = self.me;
        let Some(n) = &mut self.new else { return };
        let group: Vec<usize> = (0..n.members.len()).filter(|i| n.entries[*i].old_ring == my_ring).collect();
        let min_aru = group.iter().map(|i| n.entries[*i].aru).min().unwrap_or(0);
        n.old_high = group.iter().map(|i| n.entries[*i].high_seq).max().unwrap_or(0);
        n.deliver_in_old = group.iter().map(|i| n.entries[*i].high_delivered).max().unwrap_or(0);
        if skip || min_aru >= n.old_high {
            return;
        }
        // Retransmit what someone of our group may lack: a message goes out from the
        // first member whose aru covers it, or from every holder if nobody's does.
        for (&s, m) in self.rx.msgs.range(min_aru + 1..=n.old_high) {
            let covering = group.iter().find(|i| n.entries[**i].aru >= s);
            let mine = match covering {
                Some(i) => n.members[*i] == me,
                None => true,
            };
            if mine {
                n.recovery.push_back((s, m.clone()));
            }
        }
    }

    /// Moves recovered old-ring messages (new-ring messages in order) into the old ring's buffer.
    pub(super) fn process_recovered(&mut self) {
        let my_ring = self.ring;
        let Some(n) = &mut self.new else { return };
        while n.rx.delivered < n.rx.aru {
            let s = n.rx.delivered + 1;
            let Some(m) = n.rx.msgs.get(&s) else { break };
            let Some(e) = &m.encap else { break };
            if e.old_ring == my_ring && e.old_seq <= n.old_high && e.old_seq > self.rx.delivered {
                let old = Stored { sender: e.orig_sender, flags: e.orig_flags, encap: None, chunks: m.chunks.clone() };
                let seq = e.old_seq;
                self.rx.insert(seq, old);
            }
            n.rx.delivered = s;
        }
    }

    pub(super) fn install(&mut self) {
        self.process_recovered();
        let Some(n) = self.new.take() else { return };
        let trans: Vec<u32> =
            n.members.iter().zip(&n.entries).filter(|(_, e)| e.old_ring == self.ring).map(|(m, _)| *m).collect();
        if self.installed_once {
            // What someone of our group delivered in the old configuration, everyone of it delivers there.
            // (Iterates over held messages only: the bound comes from the network.)
            let upto = n.deliver_in_old.min(n.old_high);
            if self.rx.delivered < upto {
                let early: Vec<Stored> =
                    self.rx.msgs.range(self.rx.delivered + 1..=upto).map(|(_, m)| m.clone()).collect();
                for m in &early {
                    self.deliver_stored(m);
                }
                self.rx.delivered = upto;
            }
            let left: Vec<u32> = self.members.iter().filter(|m| !trans.contains(m)).copied().collect();
            self.events.push_back(Event::ConfigChange(crate::ConfigChange {
                kind: ConfigKind::Transitional,
                ring_id: n.id,
                members: trans.clone(),
                left,
                joined: Vec::new(),
            }));
            // The rest, in order, skipping what nobody of our group has.
            let from = self.rx.delivered + 1;
            let rest: Vec<Stored> = if from <= n.old_high {
                self.rx.msgs.range(from..=n.old_high).map(|(_, m)| m.clone()).collect()
            } else {
                Vec::new()
            };
            for m in &rest {
                self.deliver_stored(m);
            }
        }
        self.stats.fragments_dropped += self.reasm.clear() as u64;
        let joined: Vec<u32> = if self.installed_once {
            n.members.iter().filter(|m| !trans.contains(m)).copied().collect()
        } else {
            n.members.clone()
        };
        self.events.push_back(Event::ConfigChange(crate::ConfigChange {
            kind: ConfigKind::Regular,
            ring_id: n.id,
            members: n.members.clone(),
            left: Vec::new(),
            joined,
        }));
        self.installed_once = true;
        self.stats.rings_installed += 1;
        if let Some(k) = &mut self.kx {
            self.events.push_back(Event::RingKeys(k.install(n.id)));
        }
        self.rekey_switched_in = None;
        self.key_epoch_began = (self.now, n.rx.high);
        self.ring = n.id;
        self.members = n.members;
        self.rx = n.rx;
        self.state = State::Operational;
        self.safe_point = 0;
        self.safe_acks.new_ring();
        self.idle_rotations = 0;
        self.last_rotation_seq = 0;
        self.miss_visits = 0;
        self.last_aru_at_visit = 0;
        self.tm_merge = if self.members[0] == self.me { Some(self.now.plus_ms(self.cfg.merge)) } else { None };
    }

    pub(super) fn deliver_stored(&mut self, m: &Stored) {
        deliver_chunks(&mut self.reasm, &mut self.events, &mut self.stats, m);
    }

    /// Delivers what total order (and, for safe messages, the acks) allows.
    pub(super) fn deliver(&mut self) {
        while self.rx.delivered < self.rx.aru {
            let s = self.rx.delivered + 1;
            let Some(m) = self.rx.msgs.get(&s) else { break };
            if m.flags & MF_SAFE != 0 && s > self.safe_point {
                break;
            }
            if m.sender == self.me {
                self.own_delivered += 1;
            }
            // Fields borrowed apart: the stored message stays in `rx` for
            // retransmission, so it is read in place, not cloned.
            deliver_chunks(&mut self.reasm, &mut self.events, &mut self.stats, m);
            self.rx.delivered = s;
        }
    }
}

/// Feeds a stored message's chunks to reassembly and queues every message
/// they complete.
fn deliver_chunks(reasm: &mut Reassembly, events: &mut VecDeque<Event>, stats: &mut Stats, m: &Stored) {
    if m.encap.is_some() {
        return;
    }
    let sender = m.sender;
    let mut dropped = 0;
    let _ = wire::for_each_chunk(&m.chunks, |c| match reasm.push(sender, &c) {
        Assembled::Message(msg) => {
            stats.messages_delivered += 1;
            events.push_back(Event::Deliver { sender, msg });
        }
        Assembled::Dropped => dropped += 1,
        Assembled::Nothing => {}
    });
    stats.fragments_dropped += dropped;
}
