//! The replicated CPG state: which processes are members of which group.
//!
//! Owns: the group table and every change to it. Pure data: each method
//! applies one ordered event and returns what changed, per group, so the
//! service can tell local members. Every node applies the same events in
//! the same order and so holds the same table; iteration orders are
//! sorted (group name, then member), so what each node reports is the same
//! too.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use ais_ipc::cpg::reason;

use crate::ordering::NodeId;

pub type Name = Vec<u8>;

/// A member: the node it lives on and its connection id there (a process
/// may join one group from several handles; each is a member).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MemberKey {
    pub node: NodeId,
    pub conn: u64,
}

/// One member as reported in a change: who, its pid, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moved {
    pub key: MemberKey,
    pub pid: u32,
    pub reason: u32,
}

/// What happened to one group in one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupChange {
    pub name: Name,
    /// Members after the change, sorted, with their pids.
    pub members: Vec<(MemberKey, u32)>,
    pub left: Vec<Moved>,
    pub joined: Vec<Moved>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Groups {
    groups: BTreeMap<Name, BTreeMap<MemberKey, u32>>,
    /// Reverse index: the groups of each member.
    of_member: HashMap<MemberKey, BTreeSet<Name>>,
}

impl Groups {
    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    pub fn group_len(&self, name: &[u8]) -> usize {
        self.groups.get(name).map_or(0, BTreeMap::len)
    }

    pub fn contains(&self, name: &[u8], key: MemberKey) -> bool {
        self.groups.get(name).is_some_and(|g| g.contains_key(&key))
    }

    /// Members of `name`, sorted (empty if no such group).
    pub fn members(&self, name: &[u8]) -> Vec<(MemberKey, u32)> {
        self.groups.get(name).map(|g| g.iter().map(|(k, p)| (*k, *p)).collect()).unwrap_or_default()
    }

    /// Every group with its members, sorted.
    pub fn all(&self) -> Vec<(Name, Vec<(MemberKey, u32)>)> {
        self.groups.iter().map(|(n, g)| (n.clone(), g.iter().map(|(k, p)| (*k, *p)).collect())).collect()
    }

    /// The groups `key` is a member of, sorted.
    pub fn groups_of(&self, key: MemberKey) -> Vec<Name> {
        self.groups_of_iter(key).cloned().collect()
    }

    /// The groups `key` is a member of, sorted, borrowed (this runs for
    /// every delivered message: no copies).
    pub fn groups_of_iter(&self, key: MemberKey) -> impl Iterator<Item = &Name> + '_ {
        self.of_member.get(&key).into_iter().flatten()
    }

    /// Connection ids of the members of `name` living on `node`, in order.
    pub fn node_members_of(&self, name: &[u8], node: NodeId) -> impl Iterator<Item = u64> + '_ {
        let range = MemberKey { node, conn: 0 }..=MemberKey { node, conn: u64::MAX };
        self.groups.get(name).into_iter().flat_map(move |g| g.range(range.clone()).map(|(k, _)| k.conn))
    }

    /// Every membership of processes on `node`: `(group, conn, pid)`, sorted.
    pub fn node_members(&self, node: NodeId) -> Vec<(Name, u64, u32)> {
        let mut out = Vec::new();
        for (name, members) in &self.groups {
            for (key, pid) in members.range(MemberKey { node, conn: 0 }..=MemberKey { node, conn: u64::MAX }) {
                out.push((name.clone(), key.conn, *pid));
            }
        }
        out
    }

    fn change(&self, name: &[u8], left: Vec<Moved>, joined: Vec<Moved>) -> GroupChange {
        GroupChange { name: name.to_vec(), members: self.members(name), left, joined }
    }

    fn insert(&mut self, name: &[u8], key: MemberKey, pid: u32) {
        self.groups.entry(name.to_vec()).or_default().insert(key, pid);
        self.of_member.entry(key).or_default().insert(name.to_vec());
    }

    /// Removes `key` from `name`; its pid if it was there.
    fn remove(&mut self, name: &[u8], key: MemberKey) -> Option<u32> {
        let group = self.groups.get_mut(name)?;
        let pid = group.remove(&key)?;
        if group.is_empty() {
            self.groups.remove(name);
        }
        if let Some(set) = self.of_member.get_mut(&key) {
            set.remove(name);
            if set.is_empty() {
                self.of_member.remove(&key);
            }
        }
        Some(pid)
    }

    /// `key` (process `pid`) joins `name`; `None` if it already was a member.
    pub fn join(&mut self, name: &[u8], key: MemberKey, pid: u32) -> Option<GroupChange> {
        if self.contains(name, key) {
            return None;
        }
        self.insert(name, key, pid);
        Some(self.change(name, Vec::new(), vec![Moved { key, pid, reason: reason::JOIN }]))
    }

    /// `key` leaves `name` for `why`; `None` if it was not a member.
    pub fn leave(&mut self, name: &[u8], key: MemberKey, why: u32) -> Option<GroupChange> {
        let pid = self.remove(name, key)?;
        Some(self.change(name, vec![Moved { key, pid, reason: why }], Vec::new()))
    }

    /// `key` leaves every group (its process ended).
    pub fn remove_member(&mut self, key: MemberKey, why: u32) -> Vec<GroupChange> {
        self.groups_of(key).iter().filter_map(|name| self.leave(name, key, why)).collect()
    }

    /// Members on nodes for which `alive` is false leave with `NODEDOWN`.
    pub fn remove_nodes(&mut self, alive: impl Fn(NodeId) -> bool) -> Vec<GroupChange> {
        let mut changes = Vec::new();
        let names: Vec<Name> = self.groups.keys().cloned().collect();
        for name in names {
            let gone: Vec<MemberKey> = self.groups[&name].keys().filter(|k| !alive(k.node)).copied().collect();
            if gone.is_empty() {
                continue;
            }
            let left = gone
                .into_iter()
                .filter_map(|key| Some(Moved { key, pid: self.remove(&name, key)?, reason: reason::NODEDOWN }))
                .collect();
            changes.push(self.change(&name, left, Vec::new()));
        }
        changes
    }

    /// `node`'s own account of its members replaces what we knew of them:
    /// those missing leave with `NODEDOWN`, new ones join with `NODEUP`.
    pub fn replace_node(&mut self, node: NodeId, entries: &[(Name, u64, u32)]) -> Vec<GroupChange> {
        let mut per_group: BTreeMap<Name, (Vec<Moved>, Vec<Moved>)> = BTreeMap::new();
        let wanted: BTreeSet<(Name, u64)> = entries.iter().map(|(n, c, _)| (n.clone(), *c)).collect();
        for (name, conn, pid) in self.node_members(node) {
            if !wanted.contains(&(name.clone(), conn)) {
                let key = MemberKey { node, conn };
                self.remove(&name, key);
                per_group.entry(name).or_default().0.push(Moved { key, pid, reason: reason::NODEDOWN });
            }
        }
        for (name, conn, pid) in entries {
            let key = MemberKey { node, conn: *conn };
            if !self.contains(name, key) {
                self.insert(name, key, *pid);
                per_group.entry(name.clone()).or_default().1.push(Moved { key, pid: *pid, reason: reason::NODEUP });
            }
        }
        per_group.into_iter().map(|(name, (left, joined))| self.change(&name, left, joined)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(node: NodeId, conn: u64) -> MemberKey {
        MemberKey { node, conn }
    }

    #[test]
    fn join_leave_and_index() {
        let mut g = Groups::default();
        let c = g.join(b"a", k(1, 1), 100).unwrap();
        assert_eq!(c.members, vec![(k(1, 1), 100)]);
        assert_eq!(c.joined[0].reason, reason::JOIN);
        assert!(g.join(b"a", k(1, 1), 100).is_none());
        g.join(b"b", k(1, 1), 100).unwrap();
        g.join(b"a", k(2, 5), 200).unwrap();
        assert_eq!(g.groups_of(k(1, 1)), vec![b"a".to_vec(), b"b".to_vec()]);
        assert!(g.groups_of_iter(k(1, 1)).eq(g.groups_of(k(1, 1)).iter()));
        assert_eq!(g.groups_of_iter(k(9, 9)).count(), 0);
        g.join(b"a", k(2, 3), 201).unwrap();
        g.join(b"a", k(3, 1), 300).unwrap();
        assert_eq!(g.node_members_of(b"a", 2).collect::<Vec<_>>(), vec![3, 5]);
        assert_eq!(g.node_members_of(b"a", 1).collect::<Vec<_>>(), vec![1]);
        assert_eq!(g.node_members_of(b"zz", 1).count(), 0);
        g.leave(b"a", k(2, 3), reason::LEAVE).unwrap();
        g.leave(b"a", k(3, 1), reason::LEAVE).unwrap();
        let c = g.leave(b"a", k(1, 1), reason::LEAVE).unwrap();
        assert_eq!((c.members, c.left[0].pid), (vec![(k(2, 5), 200)], 100));
        assert!(g.leave(b"a", k(1, 1), reason::LEAVE).is_none());
        let changes = g.remove_member(k(1, 1), reason::PROCDOWN);
        assert_eq!(changes.len(), 1);
        assert_eq!(g.group_count(), 1, "empty groups disappear");
        assert!(g.groups_of(k(1, 1)).is_empty());
    }

    #[test]
    fn nodes_removed_and_replaced() {
        let mut g = Groups::default();
        g.join(b"a", k(1, 1), 10);
        g.join(b"a", k(2, 1), 20);
        g.join(b"b", k(2, 2), 21);
        let changes = g.remove_nodes(|n| n == 1);
        assert_eq!(changes.len(), 2);
        assert!(changes.iter().all(|c| c.left.iter().all(|m| m.reason == reason::NODEDOWN)));
        assert_eq!(g.node_members(2), vec![]);
        let changes = g.replace_node(2, &[(b"a".to_vec(), 1, 20), (b"c".to_vec(), 3, 22)]);
        assert_eq!(changes.len(), 2);
        assert!(changes.iter().all(|c| c.joined.iter().all(|m| m.reason == reason::NODEUP)));
        assert_eq!(g.node_members(2), vec![(b"a".to_vec(), 1, 20), (b"c".to_vec(), 3, 22)]);
        // Replacing with the same list changes nothing.
        assert!(g.replace_node(2, &g.node_members(2)).is_empty());
        let changes = g.replace_node(2, &[]);
        assert_eq!(changes.len(), 2);
        assert_eq!(g.group_count(), 1);
    }
}
