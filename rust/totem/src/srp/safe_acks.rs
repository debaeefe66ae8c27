//! Safe acks: members tell the sender of a Safe message straight away
//! that they hold it, so the sender may deliver it (and answer its
//! client) before the token has gone round to say so.
//!
//! A Safe message may be delivered once every member of the ring holds
//! it and everything before it. The token learns that in one rotation
//! after the message is sent, a hop per member, and a sender's client
//! that waits for the answer adds its own round trip to every rotation
//! (the next request can only go out at the next visit). A member that
//! receives a Safe message answers its sender, once per batch of
//! packets, with its aru (everything up to it held): the sender knows
//! the message is safe one hop after the last member received it, while
//! the token still travels, and the client's next call is usually there
//! when the token comes back.
//!
//! An ack is a lower bound of what that member holds (its aru only
//! grows on a ring), so the sender's safe point is the least of the
//! members' acks and its own aru, never more than the token would show
//! later: safety and order are the token's, only known earlier. Acks are
//! kept for the installed ring only and taken only while operational;
//! lost or never sent (a node without safe acks), the token still
//! decides, one rotation later.

use super::*;

/// Larger rings do without: every member answers each Safe burst of a
/// sender, n - 1 packets to it, while the gain (a rotation's last hops)
/// matters where clients wait on small rings.
const SAFE_ACKS_MAX_MEMBERS: usize = 16;

#[derive(Debug, Default)]
pub(super) struct SafeAcks {
    /// Each member's last ack on the installed ring.
    from: BTreeMap<u32, u64>,
    /// Members whose Safe messages arrived since we last acked.
    due: BTreeSet<u32>,
}

impl SafeAcks {
    /// A ring was installed: the last one's acks say nothing of it.
    pub(super) fn new_ring(&mut self) {
        self.from.clear();
    }
}

impl Totem {
    /// A Safe message of `sender` arrived on the installed ring: ack it
    /// once the packets at hand are handled.
    pub(super) fn safe_ack_due(&mut self, sender: u32) {
        if !self.cfg.safe_acks || self.members.len() > SAFE_ACKS_MAX_MEMBERS {
            return;
        }
        self.safe_acks.due.insert(sender);
        if self.tm_safe_ack.is_none() {
            self.tm_safe_ack = Some(self.now);
        }
    }

    /// Sends our aru to every member whose Safe messages arrived.
    pub(super) fn send_safe_acks(&mut self) {
        let due = std::mem::take(&mut self.safe_acks.due);
        if self.state != State::Operational {
            return;
        }
        let ack = Packet::SafeAck(wire::SafeAck { ring: self.ring, aru: self.rx.aru });
        for sender in due {
            if sender != self.me && self.members.contains(&sender) {
                self.send_frames(Dest::Node(sender), wire::encode(self.me, &ack));
                self.stats.safe_acks_sent += 1;
            }
        }
    }

    /// A member's ack: delivers what every member now holds.
    pub(super) fn on_safe_ack(&mut self, sender: u32, ack: wire::SafeAck) {
        let current = self.state == State::Operational && ack.ring == self.ring;
        if !current || !self.members.contains(&sender) || ack.aru > self.rx.aru + self.backlog {
            self.stats.packets_ignored += 1;
            return;
        }
        self.stats.safe_acks_received += 1;
        let acks = &mut self.safe_acks;
        let held = acks.from.entry(sender).or_default();
        *held = (*held).max(ack.aru);
        let everyone = self
            .members
            .iter()
            .filter(|m| **m != self.me)
            .map(|m| acks.from.get(m).copied().unwrap_or(0))
            .min()
            .unwrap_or(0)
            .min(self.rx.aru);
        if everyone > self.safe_point {
            self.safe_point = everyone;
            self.stats.safe_by_acks += 1;
            let own_before = self.own_delivered;
            self.deliver();
            self.own_delivered_on_acks |= self.own_delivered > own_before;
        }
    }
}
