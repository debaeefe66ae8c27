//! Translation of the `totem {}` section of the configuration into what
//! the ring needs: Totem's parameters (`TotemConfig`), each ring's
//! transport (`NetConfig`) and the redundant ring parameters.
//!
//! Owns: which keys go where, and errors naming file, line and key. Must
//! not: open sockets or start anything (`totem_ring` does, after the
//! executive has detached).

use ais_net::rrp::{RrpMode, RrpParams};
use ais_net::{NetConfig, Security, TransportKind};
use totem::TotemConfig;

use crate::config::{self, Config, ConfigError};

/// The Totem parameters of `totem {}`: every key Totem knows, with the
/// file and line of the key on error.
pub fn totem_config(file: &str, totem: &config::Totem) -> Result<TotemConfig, ConfigError> {
    let mut cfg = TotemConfig::default();
    for raw in totem.raw.iter().filter(|r| TotemConfig::KEYS.contains(&r.key.as_str())) {
        cfg.set(&raw.key, &raw.value).map_err(|why| ConfigError::new(file, raw.line, &raw.key, why))?;
    }
    cfg.validate().map_err(|why| ConfigError::new(file, 0, "totem", why))?;
    Ok(cfg)
}

/// The transport of ring 0 from `totem { interface {} }`, `secauth` and the
/// authkey.
pub fn net_config(file: &str, config: &Config, authkey: Option<&[u8]>) -> Result<NetConfig, ConfigError> {
    ring_net_config(file, config, authkey, 0)
}

/// The redundant ring parameters (`rrp_*` keys, classic defaults), when
/// `rrp_mode` is active or passive.
pub fn rrp_params(file: &str, totem: &config::Totem) -> Result<Option<RrpParams>, ConfigError> {
    let mode = match totem.rrp_mode {
        config::RrpMode::None => return Ok(None),
        config::RrpMode::Active => RrpMode::Active,
        config::RrpMode::Passive => RrpMode::Passive,
    };
    let mut p = RrpParams::new(mode);
    for raw in &totem.raw {
        // The schema checked these are positive numbers in range.
        let n = |r: &config::RawKey| {
            r.value.parse::<u64>().map_err(|_| ConfigError::new(file, r.line, &r.key, "expected a number".into()))
        };
        match raw.key.as_str() {
            "rrp_problem_count_timeout" => p.problem_count_timeout = std::time::Duration::from_millis(n(raw)?),
            "rrp_token_expired_timeout" => p.token_expired_timeout = std::time::Duration::from_millis(n(raw)?),
            "rrp_problem_count_threshold" => {
                p.problem_count_threshold = u32::try_from(n(raw)?)
                    .map_err(|_| ConfigError::new(file, raw.line, &raw.key, "too large".into()))?
            }
            _ => {}
        }
    }
    Ok(Some(p))
}

/// The transport of ring `ring` (its `interface` section).
pub fn ring_net_config(
    file: &str,
    config: &Config,
    authkey: Option<&[u8]>,
    ring: u32,
) -> Result<NetConfig, ConfigError> {
    let totem = &config.totem;
    let Some(iface) = totem.interfaces.iter().find(|i| i.ringnumber == ring) else {
        return Err(ConfigError::new(file, 0, "interface", format!("no interface with ringnumber {ring}")));
    };
    let transport = match totem.transport {
        config::Transport::Udp => {
            let Some(mcastaddr) = iface.mcastaddr else {
                return Err(ConfigError::new(file, iface.line, "mcastaddr", "required with transport: udp".into()));
            };
            TransportKind::Multicast { mcastaddr }
        }
        config::Transport::Udpu => TransportKind::Udpu { members: iface.members.clone() },
    };
    let security = match authkey {
        Some(key) => Security::On { authkey: key.to_vec() },
        None => Security::Off,
    };
    let mut net = NetConfig::new(transport, iface.bindnetaddr, security);
    net.mcastport = iface.mcastport;
    net.nodeid = totem.nodeid;
    net.clear_node_high_bit = totem.clear_node_high_bit;
    net.ttl = iface.ttl;
    net.netmtu = totem.netmtu;
    // Totem delivers its own messages itself; our packets must not come back.
    net.multicast_loop = false;
    net.validate().map_err(|e| ConfigError::new(file, iface.line, "interface", e.to_string()))?;
    Ok(net)
}

/// What `TotemRing::start` needs, checked before the executive detaches.
pub struct RingConfig {
    pub totem: TotemConfig,
    pub net: NetConfig,
    /// Ring 1 and the mode, with two interfaces.
    pub redundant: Option<(NetConfig, RrpParams)>,
}

/// The ring configuration of a loaded config file; `None` when it has no
/// `interface` (a single-node cluster on loopback).
pub fn ring_config(loaded: &config::Loaded) -> Result<Option<RingConfig>, ConfigError> {
    let config = &loaded.config;
    if config.totem.interfaces.is_empty() {
        return Ok(None);
    }
    let file = config.source.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
    let authkey = if loaded.secauth { loaded.authkey.as_deref() } else { None };
    let redundant = match rrp_params(&file, &config.totem)? {
        Some(p) => Some((ring_net_config(&file, config, authkey, 1)?, p)),
        None => None,
    };
    Ok(Some(RingConfig {
        totem: totem_config(&file, &config.totem)?,
        net: net_config(&file, config, authkey)?,
        redundant,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_interfaces_give_a_redundant_ring_with_the_rrp_keys() {
        let text = "totem {\n version: 2\n transport: udpu\n rrp_mode: passive\n rrp_problem_count_threshold: 3\n \
                    rrp_token_expired_timeout: 100\n interface {\n  ringnumber: 0\n  bindnetaddr: 127.0.0.1\n  \
                    member {\n   memberaddr: 127.0.0.1\n  }\n }\n interface {\n  ringnumber: 1\n  \
                    bindnetaddr: 127.0.0.1\n  mcastport: 5407\n  member {\n   memberaddr: 127.0.0.2\n  }\n }\n}\n";
        let c = config::parse_str("c.conf", text).unwrap();
        let p = rrp_params("c.conf", &c.totem).unwrap().unwrap();
        assert_eq!(p.mode, RrpMode::Passive);
        assert_eq!(p.problem_count_threshold, 3);
        assert_eq!(p.token_expired_timeout, std::time::Duration::from_millis(100));
        assert_eq!(p.problem_count_timeout, std::time::Duration::from_millis(2000), "classic default");
        let r1 = ring_net_config("c.conf", &c, None, 1).unwrap();
        assert_eq!(r1.mcastport, 5407);
        assert_eq!(r1.transport, TransportKind::Udpu { members: vec!["127.0.0.2".parse().unwrap()] });
        assert_eq!(net_config("c.conf", &c, None).unwrap().mcastport, 5405);
        let one = config::parse_str(
            "c.conf",
            "totem {\n version: 2\n interface {\n  ringnumber: 0\n  bindnetaddr: 127.0.0.1\n  mcastaddr: 239.1.1.1\n }\n}\n",
        )
        .unwrap();
        assert_eq!(rrp_params("c.conf", &one.totem).unwrap(), None);
        assert!(ring_net_config("c.conf", &one, None, 1).unwrap_err().to_string().contains("ringnumber 1"));
    }

    #[test]
    fn totem_keys_reach_totem_with_their_line() {
        let text = "totem {\n version: 2\n token: 3000\n window_size: abc\n}\n";
        // The config parser itself rejects the bad number first.
        assert!(config::parse_str("c.conf", text).is_err());
        let c = config::parse_str("c.conf", "totem {\n version: 2\n token: 3000\n consensus: 3600\n}\n").unwrap();
        let t = totem_config("c.conf", &c.totem).unwrap();
        assert_eq!(t.token, 3000);
        assert_eq!((t.rekey_interval, t.rekey_packets), (600_000, 1 << 24), "rekeying on by default");
    }

    #[test]
    fn rekey_keys_reach_totem_and_zero_turns_them_off() {
        let text = "totem {\n version: 2\n rekey_interval: 0\n rekey_packets: 1000\n}\n";
        let c = config::parse_str("c.conf", text).unwrap();
        let t = totem_config("c.conf", &c.totem).unwrap();
        assert_eq!((t.rekey_interval, t.rekey_packets), (0, 1000));
        for bad in ["rekey_interval: 86400001", "rekey_packets: 281474976710657", "rekey_packets: many"] {
            let text = format!("totem {{\n version: 2\n {bad}\n}}\n");
            let e = config::parse_str("c.conf", &text).unwrap_err().to_string();
            assert!(e.contains("rekey_"), "{bad}: {e}");
        }
    }
}
