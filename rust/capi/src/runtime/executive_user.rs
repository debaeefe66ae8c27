//! Which account the executive is configured to run as, so that a library
//! talks only to an executive running as root or as that account (issue
//! 25, item 2): anyone else could have put a socket where we look, to read
//! what we send and answer what it likes.
//!
//! Owns: finding the executive's main configuration file as the executive
//! does (`COROSYNC_MAIN_CONFIG_FILE`, `OPENAIS_MAIN_CONFIG_FILE`, then
//! `/etc/ais/corosync.conf`, `/etc/ais/openais.conf`; the variables are
//! ignored in a setuid or setgid program, as `secure_getenv` would),
//! reading `aisexec { user }` from it (openais 0.80's "user the executive
//! runs as"; `ais` when the file or the key is missing, the executive's
//! default), and the trust rule.
//!
//! Must not: fail a connection because the file is unreadable or odd (the
//! default account applies), read more than [`MAX_CONFIG_BYTES`], or
//! panic on any file content.

#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::io::Read;
use std::path::PathBuf;

/// Checked in this order for the main configuration file (as the executive).
pub const MAIN_ENV: [&str; 2] = ["COROSYNC_MAIN_CONFIG_FILE", "OPENAIS_MAIN_CONFIG_FILE"];
/// The default places, the first that exists is read (as the executive).
pub const MAIN_DEFAULTS: [&str; 2] = ["/etc/ais/corosync.conf", "/etc/ais/openais.conf"];
/// The executive's account when the configuration names none.
pub const DEFAULT_USER: &str = "ais";
/// Most bytes of the configuration file read.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Whether an executive running as `peer` may be talked to by a program
/// whose effective uid is `own`: root, the configured account, or the
/// program's own user (a process of that user can do to the program
/// whatever a fake executive could).
pub fn trusted(peer: u32, own: u32, configured: Option<u32>) -> bool {
    peer == 0 || peer == own || configured == Some(peer)
}

/// An environment lookup.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<OsString>;

/// The main configuration file's candidates, given an environment lookup
/// (`None` in a setuid or setgid program: defaults only).
pub fn config_candidates(var: Option<EnvLookup>) -> Vec<PathBuf> {
    let named = var.and_then(|get| MAIN_ENV.iter().find_map(|n| get(n).filter(|v| !v.is_empty())));
    match named {
        Some(path) => vec![PathBuf::from(path)],
        None => MAIN_DEFAULTS.iter().map(PathBuf::from).collect(),
    }
}

/// The value of `user` in the top-level `aisexec` section of a
/// configuration text, if any (the last one written wins).
pub fn aisexec_user(text: &str) -> Option<String> {
    let mut sections: Vec<String> = Vec::new();
    let mut found = None;
    for raw in text.lines() {
        let line = raw.split('#').next().unwrap_or("");
        // Braces may share a line with names and keys: `aisexec { user: x }`.
        let spaced = line.replace('{', "\n{\n").replace('}', "\n}\n");
        let mut name = String::new();
        for part in spaced.lines().map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "{" => sections.push(std::mem::take(&mut name)),
                "}" => {
                    sections.pop();
                }
                _ => match part.split_once(':') {
                    Some((k, v)) if k.trim() == "user" && sections.len() == 1 && sections[0] == "aisexec" => {
                        found = Some(v.trim().to_string());
                    }
                    Some(_) => {}
                    None => name = part.to_string(),
                },
            }
        }
    }
    found.filter(|u| !u.is_empty())
}

/// The uid of account `name`, if it exists.
pub fn uid_of(name: &str) -> Option<u32> {
    super::sys::uid_of(name)
}

/// The uid of the account this program's executive is configured to run
/// as, if that account exists.
pub fn configured_uid(secure: bool) -> Option<u32> {
    let env = |n: &str| std::env::var_os(n);
    let candidates = config_candidates(if secure { None } else { Some(&env) });
    let text = candidates.iter().find_map(|p| {
        let mut s = String::new();
        std::fs::File::open(p).ok()?.take(MAX_CONFIG_BYTES).read_to_string(&mut s).ok()?;
        Some(s)
    });
    let user = text.as_deref().and_then(aisexec_user).unwrap_or_else(|| DEFAULT_USER.to_string());
    uid_of(&user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_aisexec_user_is_read_from_its_section_only() {
        let conf = "totem {\n  version: 2\n  interface {\n    user: nope\n  }\n}\n# aisexec { user: commented }\n\
                    aisexec {\n  user: hacluster   # runs as\n  group: haclient\n}\nlogging { user: nope2 }\n";
        assert_eq!(aisexec_user(conf).as_deref(), Some("hacluster"));
        assert_eq!(aisexec_user("aisexec{user:bob}").as_deref(), Some("bob"));
        assert_eq!(aisexec_user("aisexec {\n group: x\n}\n"), None);
        assert_eq!(aisexec_user("other {\n aisexec {\n  user: deep\n }\n}\n"), None, "nested: not the section");
        assert_eq!(aisexec_user("aisexec {\n user:\n}\n"), None, "empty value");
        // garbage does not panic
        assert_eq!(aisexec_user("}}}{{{ user: x ::: \u{0} aisexec"), None);
    }

    #[test]
    fn a_setuid_program_ignores_the_config_variables() {
        let env = |n: &str| (n == "OPENAIS_MAIN_CONFIG_FILE").then(|| OsString::from("/tmp/x.conf"));
        assert_eq!(config_candidates(Some(&env)), vec![PathBuf::from("/tmp/x.conf")]);
        let both = |n: &str| Some(OsString::from(format!("/tmp/{n}")));
        assert_eq!(config_candidates(Some(&both)), vec![PathBuf::from("/tmp/COROSYNC_MAIN_CONFIG_FILE")]);
        let defaults: Vec<PathBuf> = MAIN_DEFAULTS.iter().map(PathBuf::from).collect();
        assert_eq!(config_candidates(None), defaults, "setuid: the defaults whatever the variables say");
        let empty = |_: &str| Some(OsString::new());
        assert_eq!(config_candidates(Some(&empty)), defaults);
    }

    #[test]
    fn trust_is_root_the_configured_account_or_ourselves() {
        assert!(trusted(0, 1000, None));
        assert!(trusted(1000, 1000, None));
        assert!(trusted(107, 1000, Some(107)));
        assert!(!trusted(107, 1000, None));
        assert!(!trusted(107, 1000, Some(108)));
    }

    #[test]
    fn accounts_resolve() {
        assert_eq!(uid_of("root"), Some(0));
        assert_eq!(uid_of("no-such-account-here-x"), None);
        assert_eq!(uid_of("nul\0inside"), None);
    }
}
