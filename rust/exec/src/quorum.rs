//! Quorum, votequorum style: whether this node's partition may change
//! replicated state.
//!
//! Owns the arithmetic and the one piece of local memory (`wait_for_all`);
//! it does no I/O and reads no clock. The main loop feeds it every
//! configuration change and hands the answer to the services
//! ([`crate::service::Service::quorum`]).
//!
//! The rule. Every node has votes (1 unless the configuration says
//! otherwise for its address); a partition holds the votes of its
//! members. Expected votes are the larger of `expected_votes` (or, when
//! it is not written, the votes of the configured member list) and the
//! votes present, so a partition can never hold a majority of less than
//! itself. A partition is *quorate* when it holds more than half of the
//! expected votes; with `two_node` and two expected votes, one vote is
//! enough (the usual special case: both halves of a split two-node
//! cluster stay quorate, fencing is left to the user). This depends only
//! on the configuration and the members of the change, so every node of a
//! partition computes the same answer at the same point of the order.
//!
//! `wait_for_all` (on by default with `two_node`) adds one local
//! condition: until this node has once been in a configuration holding
//! all expected votes, it accepts no change from its own clients. It
//! does not enter the shared answer (a node that just started cannot know
//! what the others saw), so it never makes replicas disagree.

use std::collections::BTreeMap;

use crate::config;
use crate::ordering::NodeId;

/// The quorum rules in force (from `quorum {}` and the member list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// `expected_votes` as written, or the member list's total votes.
    pub expected_votes: u32,
    pub two_node: bool,
    pub wait_for_all: bool,
    /// Votes of nodes that do not have 1.
    pub votes: BTreeMap<NodeId, u32>,
}

impl Rules {
    /// The rules of a configuration: None without a `quorum` section that
    /// names a provider (behave as before: every partition carries on).
    /// `members` are the configured nodes with their votes, where a node
    /// list exists.
    pub fn from_config(q: Option<&config::Quorum>, members: &[(NodeId, u32)]) -> Result<Option<Rules>, String> {
        let Some(q) = q else { return Ok(None) };
        match q.provider.as_deref() {
            None => return Ok(None),
            Some("corosync_votequorum") => {}
            Some(other) => return Err(format!("quorum provider {other} is not known (corosync_votequorum is)")),
        }
        let listed: u32 = members.iter().map(|(_, v)| *v).fold(0, u32::saturating_add);
        let expected = match q.expected_votes {
            Some(e) => e,
            None if listed > 0 => listed,
            None => return Err("quorum needs expected_votes (or a member list to count)".into()),
        };
        if q.two_node && expected != 2 {
            return Err(format!("two_node needs 2 expected votes, not {expected}"));
        }
        let votes = members.iter().filter(|(_, v)| *v != 1).copied().collect();
        Ok(Some(Rules {
            expected_votes: expected,
            two_node: q.two_node,
            wait_for_all: q.wait_for_all.unwrap_or(q.two_node),
            votes,
        }))
    }

    pub fn votes_of(&self, node: NodeId) -> u32 {
        self.votes.get(&node).copied().unwrap_or(1)
    }

    /// The votes of `nodes`.
    pub fn votes(&self, nodes: impl IntoIterator<Item = NodeId>) -> u32 {
        nodes.into_iter().map(|m| self.votes_of(m)).fold(0, u32::saturating_add)
    }
}

/// What the services and the status see after a configuration change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// Quorum is configured (otherwise every partition is taken as
    /// quorate, as before).
    pub enabled: bool,
    /// The partition may change replicated state: the same on every node
    /// of the partition.
    pub quorate: bool,
    /// `wait_for_all` and this node has not yet seen all expected votes
    /// at once: its own clients' changes are refused.
    pub waiting_for_all: bool,
    pub expected_votes: u32,
    pub total_votes: u32,
    /// Votes needed.
    pub quorum: u32,
}

impl Default for Status {
    fn default() -> Status {
        Status::DISABLED
    }
}

impl Status {
    /// Without quorum: every partition carries on.
    pub const DISABLED: Status =
        Status { enabled: false, quorate: true, waiting_for_all: false, expected_votes: 0, total_votes: 0, quorum: 0 };

    /// This node accepts changes from its own clients.
    pub fn accepting(&self) -> bool {
        self.quorate && !self.waiting_for_all
    }

    /// Every expected vote is present.
    pub fn all_present(&self) -> bool {
        self.total_votes >= self.expected_votes
    }

    /// One line for the log and the status tool.
    pub fn describe(&self) -> String {
        if !self.enabled {
            return "not configured (every partition accepts changes)".into();
        }
        let state = match (self.quorate, self.waiting_for_all) {
            (true, false) => "quorate",
            (true, true) => "quorate by votes, waiting for all nodes (wait_for_all)",
            (false, _) => "not quorate",
        };
        format!(
            "{state}: {} of {} expected votes present, {} needed",
            self.total_votes, self.expected_votes, self.quorum
        )
    }
}

/// The quorum of this node across configuration changes.
#[derive(Debug, Clone)]
pub struct Tracker {
    rules: Option<Rules>,
    /// Once all expected votes were present together (`wait_for_all`).
    seen_all: bool,
    status: Status,
}

impl Tracker {
    pub fn new(rules: Option<Rules>) -> Tracker {
        let mut t = Tracker { rules, seen_all: false, status: Status::DISABLED };
        t.status = t.compute(&[]);
        t
    }

    pub fn status(&self) -> Status {
        self.status
    }

    pub fn rules(&self) -> Option<&Rules> {
        self.rules.as_ref()
    }

    /// The status after a configuration of `members`; whether it changed.
    pub fn change(&mut self, members: &[NodeId]) -> bool {
        let next = self.compute(members);
        let changed = next != self.status;
        self.status = next;
        changed
    }

    fn compute(&mut self, members: &[NodeId]) -> Status {
        let Some(r) = &self.rules else { return Status::DISABLED };
        let total = r.votes(members.iter().copied());
        let expected = r.expected_votes.max(total);
        let quorum = if r.two_node && expected == 2 { 1 } else { expected / 2 + 1 };
        if total >= expected {
            self.seen_all = true;
        }
        Status {
            enabled: true,
            quorate: total >= quorum,
            waiting_for_all: r.wait_for_all && !self.seen_all,
            expected_votes: expected,
            total_votes: total,
            quorum,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(expected: Option<u32>, two_node: bool, wfa: Option<bool>) -> config::Quorum {
        config::Quorum {
            provider: Some("corosync_votequorum".into()),
            expected_votes: expected,
            two_node,
            wait_for_all: wfa,
            ..config::Quorum::default()
        }
    }

    fn tracker(q: &config::Quorum, members: &[(NodeId, u32)]) -> Tracker {
        Tracker::new(Rules::from_config(Some(q), members).unwrap())
    }

    #[test]
    fn a_majority_of_expected_votes_is_quorate() {
        let mut t = tracker(&section(Some(3), false, None), &[]);
        assert!(!t.status().quorate, "nobody yet");
        t.change(&[1, 2, 3]);
        assert_eq!((t.status().quorate, t.status().total_votes, t.status().quorum), (true, 3, 2));
        t.change(&[3]);
        assert!(!t.status().quorate && !t.status().accepting());
        assert!(t.change(&[1, 2]));
        assert!(t.status().accepting());
        assert!(!t.change(&[2, 1]), "the same partition is no change");
        t.change(&[1, 2, 3, 4]);
        assert_eq!(t.status().expected_votes, 4, "expected votes grow with the votes present");
        t.change(&[1, 2]);
        assert_eq!(t.status().expected_votes, 3, "no memory of more: every node of a partition must agree");
    }

    #[test]
    fn listed_votes_count_and_give_the_default_expected_votes() {
        let q = section(None, false, None);
        let mut t = tracker(&q, &[(1, 3), (2, 1), (3, 1)]);
        t.change(&[1]);
        assert_eq!((t.status().quorate, t.status().expected_votes, t.status().quorum), (true, 5, 3));
        t.change(&[2, 3]);
        assert!(!t.status().quorate, "two votes of five");
        assert!(Rules::from_config(Some(&q), &[]).is_err(), "nothing to count expected votes from");
    }

    #[test]
    fn two_node_is_quorate_alone_after_both_were_seen() {
        let mut t = tracker(&section(Some(2), true, None), &[]);
        t.change(&[1]);
        assert!(t.status().quorate && t.status().waiting_for_all, "wait_for_all is on with two_node");
        assert!(!t.status().accepting());
        t.change(&[1, 2]);
        t.change(&[1]);
        assert!(t.status().accepting(), "one vote is enough once both were seen");
        assert!(Rules::from_config(Some(&section(Some(3), true, None)), &[]).is_err());
    }

    #[test]
    fn wait_for_all_holds_a_fresh_partition_until_everyone_was_seen() {
        let mut t = tracker(&section(Some(3), false, Some(true)), &[]);
        t.change(&[1, 2]);
        assert!(t.status().quorate && !t.status().accepting());
        t.change(&[1, 2, 3]);
        t.change(&[1, 2]);
        assert!(t.status().accepting());
    }

    #[test]
    fn no_section_or_no_provider_means_no_quorum() {
        assert_eq!(Rules::from_config(None, &[]), Ok(None));
        let none = config::Quorum { expected_votes: Some(3), ..config::Quorum::default() };
        assert_eq!(Rules::from_config(Some(&none), &[]), Ok(None));
        let mut t = Tracker::new(None);
        t.change(&[3]);
        assert!(t.status().accepting() && !t.status().enabled);
        let other = config::Quorum { provider: Some("corosync_quorum_ykd".into()), ..config::Quorum::default() };
        assert!(Rules::from_config(Some(&other), &[]).is_err());
    }
}
