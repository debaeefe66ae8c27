//! Where the configuration files are: defaults under `/etc/ais`, each
//! overridable by an environment variable.

use std::path::PathBuf;

pub const DEFAULT_MAIN: &str = "/etc/ais/corosync.conf";
pub const DEFAULT_AMF: &str = "/etc/ais/amf.conf";
pub const DEFAULT_AUTHKEY: &str = "/etc/ais/authkey";

/// Checked in this order for the main config file.
pub const MAIN_ENV: [&str; 2] = ["COROSYNC_MAIN_CONFIG_FILE", "OPENAIS_MAIN_CONFIG_FILE"];
pub const AMF_ENV: &str = "COROSYNC_AMF_CONFIG_FILE";
pub const AUTHKEY_ENV: &str = "COROSYNC_TOTEM_AUTHKEY_FILE";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigPaths {
    pub main: PathBuf,
    /// The main file was named by the environment, so it must exist.
    pub main_from_env: bool,
    /// Recorded only: the AMF service reads it.
    pub amf: PathBuf,
    pub authkey: PathBuf,
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from)
}

impl ConfigPaths {
    pub fn from_env() -> ConfigPaths {
        let main = MAIN_ENV.iter().find_map(|n| env_path(n));
        ConfigPaths {
            main_from_env: main.is_some(),
            main: main.unwrap_or_else(|| PathBuf::from(DEFAULT_MAIN)),
            amf: env_path(AMF_ENV).unwrap_or_else(|| PathBuf::from(DEFAULT_AMF)),
            authkey: env_path(AUTHKEY_ENV).unwrap_or_else(|| PathBuf::from(DEFAULT_AUTHKEY)),
        }
    }
}
