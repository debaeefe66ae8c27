//! Who may connect: root, the `aisexec { user group }` account, and the
//! `uidgid {}` entries; and how many connections each may hold.

use super::limits::ConnLimits;
use crate::config::Config;
use crate::sys::PeerCred;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessPolicy {
    uids: Vec<u32>,
    gids: Vec<u32>,
    pub limits: ConnLimits,
}

impl AccessPolicy {
    /// Builds the policy; returns it with warnings for names that do not
    /// resolve (then only root and `uidgid` entries are trusted).
    pub fn from_config(c: &Config) -> (AccessPolicy, Vec<String>) {
        let mut p =
            AccessPolicy { limits: ConnLimits::from_config(&c.aisexec, super::MAX_SOCKETS), ..Default::default() };
        let mut warnings = Vec::new();
        match crate::accounts::uid_of(&c.aisexec.user) {
            Some(uid) => p.uids.push(uid),
            None => warnings.push(format!("user '{}' does not exist; not trusted", c.aisexec.user)),
        }
        match crate::accounts::gid_of(&c.aisexec.group) {
            Some(gid) => p.gids.push(gid),
            None => warnings.push(format!("group '{}' does not exist; not trusted", c.aisexec.group)),
        }
        for e in &c.uidgid {
            p.uids.extend(e.uid);
            p.gids.extend(e.gid);
        }
        (p, warnings)
    }

    pub fn allows(&self, cred: &PeerCred) -> bool {
        cred.uid == 0 || self.uids.contains(&cred.uid) || self.gids.contains(&cred.gid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Aisexec, UidGid};

    #[test]
    fn root_configured_account_and_uidgid_only() {
        let mut c = Config {
            aisexec: Aisexec {
                user: "no-such-user-xyz".into(),
                group: "no-such-group-xyz".into(),
                ..Aisexec::default()
            },
            ..Config::default()
        };
        c.uidgid.push(UidGid { uid: Some(1234), gid: None });
        c.uidgid.push(UidGid { uid: None, gid: Some(777) });
        let (p, warnings) = AccessPolicy::from_config(&c);
        assert_eq!(warnings.len(), 2);
        let cred = |uid, gid| PeerCred { pid: 1, uid, gid };
        assert!(p.allows(&cred(0, 5)));
        assert!(p.allows(&cred(1234, 5)));
        assert!(p.allows(&cred(9, 777)));
        assert!(!p.allows(&cred(65534, 65534)));
    }
}
