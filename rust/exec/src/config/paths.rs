//! Where the configuration files are: defaults under `/etc/ais`, each
//! overridable by an environment variable under its corosync name or the
//! name openais 0.80 read (the corosync one wins when both are set).

use std::path::{Path, PathBuf};

use super::ConfigError;

pub const DEFAULT_MAIN: &str = "/etc/ais/corosync.conf";
/// Read when [`DEFAULT_MAIN`] does not exist: where openais 0.80 kept it.
pub const CLASSIC_MAIN: &str = "/etc/ais/openais.conf";
pub const DEFAULT_AMF: &str = "/etc/ais/amf.conf";
pub const DEFAULT_AUTHKEY: &str = "/etc/ais/authkey";

/// Checked in this order for the main config file.
pub const MAIN_ENV: [&str; 2] = ["COROSYNC_MAIN_CONFIG_FILE", "OPENAIS_MAIN_CONFIG_FILE"];
pub const AMF_ENV: [&str; 2] = ["COROSYNC_AMF_CONFIG_FILE", "OPENAIS_AMF_CONFIG_FILE"];
pub const AUTHKEY_ENV: [&str; 2] = ["COROSYNC_TOTEM_AUTHKEY_FILE", "OPENAIS_TOTEM_AUTHKEY_FILE"];
/// Where openais 0.80 kept its ring id across restarts (it defaulted to
/// `/var/lib/openais`); when set, the ring sequence file goes there
/// instead of the run directory. The run directory itself (socket, pid
/// file) is `COROSYNC_RUN_DIR`, which the client libraries read too.
pub const RING_STATE_ENV: &str = "OPENAIS_RUN_DIR";
/// The classic executives' choice of configuration parser module.
pub const PARSER_ENV: [&str; 2] = ["COROSYNC_DEFAULT_CONFIG_IFACE", "OPENAIS_DEFAULT_CONFIG_IFACE"];
/// Parser modules whose file format this executive reads (a value is a
/// `:`-separated list of them): openais 0.80's, corosync 1.x's, and
/// openais 1.x's pair.
pub const PARSERS: [&str; 4] = ["aisparser", "corosync_parser", "openaisparser", "openaisserviceenable"];

/// Where the main configuration file comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MainSource {
    /// Named by the environment variable `var`: it must exist.
    Env { var: &'static str, path: PathBuf },
    /// The default places in order: the first that exists is read; with
    /// none, there is no configuration (a single node on loopback).
    Defaults(Vec<PathBuf>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigPaths {
    pub main: MainSource,
    /// Recorded only: the AMF service reads it.
    pub amf: PathBuf,
    /// The authkey, unless `totem { keyfile }` names another.
    pub authkey: PathBuf,
    /// Directory of the ring sequence file; `None`: the run directory.
    pub ring_state_dir: Option<PathBuf>,
}

impl ConfigPaths {
    /// The paths the process environment selects.
    pub fn from_env() -> Result<ConfigPaths, ConfigError> {
        Self::from_vars(|name| std::env::var_os(name).map(PathBuf::from))
    }

    /// The paths `var` (an environment lookup) selects. Empty values count
    /// as unset.
    pub fn from_vars(var: impl Fn(&str) -> Option<PathBuf>) -> Result<ConfigPaths, ConfigError> {
        let get = |name: &str| var(name).filter(|v| !v.as_os_str().is_empty());
        let first = |names: &[&'static str]| names.iter().find_map(|n| get(n).map(|p| (*n, p)));
        for name in PARSER_ENV {
            if let Some(value) = get(name) {
                check_parser(name, &value)?;
            }
        }
        let main = match first(&MAIN_ENV) {
            Some((var, path)) => MainSource::Env { var, path },
            None => MainSource::Defaults(vec![PathBuf::from(DEFAULT_MAIN), PathBuf::from(CLASSIC_MAIN)]),
        };
        // Absolute, so a daemon's chdir("/") does not move it.
        let ring_state_dir = get(RING_STATE_ENV).map(|p| std::path::absolute(&p).unwrap_or(p));
        Ok(ConfigPaths {
            main,
            amf: first(&AMF_ENV).map_or_else(|| PathBuf::from(DEFAULT_AMF), |(_, p)| p),
            authkey: first(&AUTHKEY_ENV).map_or_else(|| PathBuf::from(DEFAULT_AUTHKEY), |(_, p)| p),
            ring_state_dir,
        })
    }

    /// Every main file this would read, in order (for messages).
    pub fn main_candidates(&self) -> Vec<&Path> {
        match &self.main {
            MainSource::Env { path, .. } => vec![path.as_path()],
            MainSource::Defaults(list) => list.iter().map(PathBuf::as_path).collect(),
        }
    }
}

/// A parser choice must name a format this executive reads: another one
/// (cman's `xmlconfig`, say) means the configuration lives elsewhere, and
/// reading corosync.conf instead would start a different cluster.
fn check_parser(var: &str, value: &Path) -> Result<(), ConfigError> {
    let text = value.to_string_lossy();
    match text.split(':').find(|p| !PARSERS.contains(p)) {
        None => Ok(()),
        Some(other) => Err(ConfigError::new(
            "environment",
            0,
            var,
            format!(
                "configuration parser '{other}' is not available: this executive reads only corosync.conf / \
                 openais.conf files ({})",
                PARSERS.join(", ")
            ),
        )),
    }
}
