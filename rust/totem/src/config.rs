//! The `totem {}` configuration keys, their defaults and cross-key rules.
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `token` | 1000 ms | token loss timeout: a node that has not seen the token this long starts a new membership round (gather) |
//! | `token_retransmits_before_loss_const` | 4 | how many token retransmissions fit in `token`; sets the default of `token_retransmit` |
//! | `token_retransmit` | token / (token_retransmits_before_loss_const + 0.2) = 238 ms | a node that passed the token and saw no sign of the next node receiving it sends it again after this long |
//! | `hold` | token_retransmit * 0.8 - 10 = 180 ms | how long the representative holds the token when the ring is idle (saves CPU and network) |
//! | `join` | 50 ms | interval between join messages during gather |
//! | `send_join` | 0 ms | delay before the first join after entering gather (spreads join storms on large clusters); 0 = send at once |
//! | `consensus` | 1.2 * token = 1200 ms | how long gather waits for agreement before declaring silent nodes failed; must be >= 1.2 * token |
//! | `merge` | 200 ms | interval at which the representative multicasts a merge-detect message so that separate rings that can hear each other merge |
//! | `downcheck` | 1000 ms | interval at which a transport checks whether a downed interface is back (used by the transport, not by the protocol) |
//! | `fail_to_recv_const` | 2500 | token visits in a row in which this node misses messages that others have, before it leaves the ring by starting a gather |
//! | `seqno_unchanged_const` | 30 | idle token rotations (no new message) before the representative starts holding the token for `hold` |
//! | `heartbeat_failures_allowed` | 0 | 0 = off; otherwise the token loss timeout becomes min(token, heartbeat_failures_allowed * token_retransmit + max_network_delay) |
//! | `max_network_delay` | 50 ms | assumed worst network delay, used with `heartbeat_failures_allowed` |
//! | `window_size` | 300 (classic: 50) | most messages (new + retransmitted) sent in one token rotation, all nodes together |
//! | `max_messages` | window_size / 3, rounded up = 100 (classic: 17) | most messages one node sends per token visit |
//! | `netmtu` | 1500 | network MTU; the transport derives the frame size (max packet payload) from it |
//!
//! Flow control defaults are larger than the classic 50/17: one sender's
//! throughput is at most `max_messages` frames per token rotation, and
//! with 3 nodes on 2 cores 100 KB messages went from 90-120 MB/s (17) to
//! 142-197 MB/s (100) in interleaved runs. The classic limit on the window came from kernel
//! receive buffers (`256000 / netmtu`); the transport asks for 8 MiB, and
//! when it gets less [`TotemConfig::fit_to_receive_buffer`] shrinks a
//! window the file did not set.
//!
//! The frame size is not a `totem {}` key: the transport passes it to
//! `Totem::new` after subtracting its own headers (and crypto overhead).

/// Timing and flow-control parameters. Times are milliseconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TotemConfig {
    pub token: u32,
    pub token_retransmits_before_loss_const: u32,
    token_retransmit: Option<u32>,
    hold: Option<u32>,
    pub join: u32,
    pub send_join: u32,
    consensus: Option<u32>,
    pub merge: u32,
    pub downcheck: u32,
    pub fail_to_recv_const: u32,
    pub seqno_unchanged_const: u32,
    pub heartbeat_failures_allowed: u32,
    pub max_network_delay: u32,
    window_size: Option<u32>,
    max_messages: Option<u32>,
    pub netmtu: u32,
    /// With the key exchange, the ring moves to its next key this long
    /// (ms) after the last change (0: never by time).
    pub rekey_interval: u32,
    /// ... or after this many message frames under one key (0: never by count).
    pub rekey_packets: u64,
    /// How long (us) a node keeps the token after delivering its own
    /// messages when it has nothing more to send (0: never); see
    /// `Totem`'s token visit. Not a `totem {}` key.
    pub linger_us: u32,
    /// Members ack Safe messages straight to their sender
    /// (`srp/safe_acks.rs`); off, the sender learns safety from the token.
    pub safe_acks: bool,
}

impl Default for TotemConfig {
    fn default() -> Self {
        TotemConfig {
            token: 1000,
            token_retransmits_before_loss_const: 4,
            token_retransmit: None,
            hold: None,
            join: 50,
            send_join: 0,
            consensus: None,
            merge: 200,
            downcheck: 1000,
            fail_to_recv_const: 2500,
            seqno_unchanged_const: 30,
            heartbeat_failures_allowed: 0,
            max_network_delay: 50,
            window_size: None,
            max_messages: None,
            netmtu: 1500,
            rekey_interval: DEFAULT_REKEY_INTERVAL,
            rekey_packets: DEFAULT_REKEY_PACKETS,
            linger_us: DEFAULT_LINGER_US,
            safe_acks: true,
        }
    }
}

/// [`TotemConfig::linger_us`] by default.
pub const DEFAULT_LINGER_US: u32 = 200;

/// [`TotemConfig::rekey_interval`] by default: ten minutes.
pub const DEFAULT_REKEY_INTERVAL: u32 = 600_000;
/// [`TotemConfig::rekey_packets`] by default: 2^24 frames.
pub const DEFAULT_REKEY_PACKETS: u64 = 1 << 24;
/// Largest `rekey_packets` (2^48: far below any counter's end).
pub const MAX_REKEY_PACKETS: u64 = 1 << 48;

/// `window_size` when the file does not set it.
pub const DEFAULT_WINDOW_SIZE: u32 = 300;
/// The classic default window, the floor when receive buffers are small.
pub const CLASSIC_WINDOW_SIZE: u32 = 50;
/// Receive buffer reserved per frame of the window: a datagram of up to
/// 1500 bytes costs the kernel about 2-4 KiB of buffer (its `truesize`).
pub const RECV_BUFFER_PER_FRAME: usize = 4096;

/// Largest accepted value for any time key (one day), to keep arithmetic far from overflow.
const MAX_MS: u32 = 86_400_000;
/// Largest accepted window; receive buffers are sized from it.
pub const MAX_WINDOW_SIZE: u32 = 1000;

impl TotemConfig {
    /// Every key `set` accepts.
    pub const KEYS: &'static [&'static str] = &[
        "token",
        "token_retransmit",
        "hold",
        "token_retransmits_before_loss_const",
        "join",
        "send_join",
        "consensus",
        "merge",
        "downcheck",
        "fail_to_recv_const",
        "seqno_unchanged_const",
        "heartbeat_failures_allowed",
        "max_network_delay",
        "window_size",
        "max_messages",
        "netmtu",
        "rekey_interval",
        "rekey_packets",
    ];

    /// Sets one key from its text value. The error says why the value is refused.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let positive = || -> Result<u32, String> {
            let v: u32 = value.trim().parse().map_err(|_| format!("{key}: '{value}' must be a positive integer"))?;
            if v == 0 {
                return Err(format!("{key}: '{value}' must be a positive integer"));
            }
            Ok(v)
        };
        let non_negative = || -> Result<u32, String> {
            value.trim().parse().map_err(|_| format!("{key}: '{value}' must be a non-negative integer"))
        };
        let time = |v: u32| -> Result<u32, String> {
            if v > MAX_MS { Err(format!("{key}: {v} ms is too large (at most {MAX_MS})")) } else { Ok(v) }
        };
        match key {
            "token" => self.token = time(positive()?)?,
            "token_retransmit" => self.token_retransmit = Some(time(positive()?)?),
            "hold" => self.hold = Some(time(non_negative()?)?),
            "token_retransmits_before_loss_const" => {
                let v = positive()?;
                if v > 100 {
                    return Err(format!("{key}: {v} is too large (at most 100)"));
                }
                self.token_retransmits_before_loss_const = v
            }
            "join" => self.join = time(positive()?)?,
            "send_join" => self.send_join = time(non_negative()?)?,
            "consensus" => self.consensus = Some(time(positive()?)?),
            "merge" => self.merge = time(positive()?)?,
            "downcheck" => self.downcheck = time(positive()?)?,
            "fail_to_recv_const" => self.fail_to_recv_const = positive()?,
            "seqno_unchanged_const" => self.seqno_unchanged_const = positive()?,
            "heartbeat_failures_allowed" => self.heartbeat_failures_allowed = non_negative()?,
            "max_network_delay" => self.max_network_delay = time(positive()?)?,
            "window_size" => {
                let v = positive()?;
                if v > MAX_WINDOW_SIZE {
                    return Err(format!("{key}: {v} is too large (at most {MAX_WINDOW_SIZE})"));
                }
                self.window_size = Some(v)
            }
            "max_messages" => {
                let v = positive()?;
                if v > MAX_WINDOW_SIZE {
                    return Err(format!("{key}: {v} is too large (at most {MAX_WINDOW_SIZE})"));
                }
                self.max_messages = Some(v)
            }
            "netmtu" => {
                let v = positive()?;
                if !(576..=65535).contains(&v) {
                    return Err(format!("{key}: {v} must be between 576 and 65535"));
                }
                self.netmtu = v
            }
            "rekey_interval" => self.rekey_interval = time(non_negative()?)?,
            "rekey_packets" => {
                let v: u64 =
                    value.trim().parse().map_err(|_| format!("{key}: '{value}' must be a non-negative integer"))?;
                if v > MAX_REKEY_PACKETS {
                    return Err(format!("{key}: {v} is too large (at most {MAX_REKEY_PACKETS})"));
                }
                self.rekey_packets = v
            }
            _ => return Err(format!("unknown totem key '{key}'")),
        }
        Ok(())
    }

    /// `window_size`, explicit or [`DEFAULT_WINDOW_SIZE`].
    pub fn window_size(&self) -> u32 {
        self.window_size.unwrap_or(DEFAULT_WINDOW_SIZE)
    }

    /// `max_messages`, explicit or a third of `window_size` (rounded up:
    /// 100 by default, 17 for the classic window of 50), so that a file
    /// that sets only a small `window_size` stays valid.
    pub fn max_messages(&self) -> u32 {
        self.max_messages.unwrap_or_else(|| self.window_size().div_ceil(3))
    }

    /// Shrinks a default `window_size` (never one the file set) so that a
    /// rotation's frames fit in `recv_buffer` bytes of socket receive
    /// buffer (at least [`CLASSIC_WINDOW_SIZE`]): a window the buffer
    /// cannot hold loses frames whenever a node falls behind, and every
    /// loss costs a retransmission. Returns the new window when it changed.
    pub fn fit_to_receive_buffer(&mut self, recv_buffer: usize) -> Option<u32> {
        if self.window_size.is_some() {
            return None;
        }
        let fits = u32::try_from(recv_buffer / RECV_BUFFER_PER_FRAME).unwrap_or(u32::MAX);
        let window = fits.clamp(CLASSIC_WINDOW_SIZE, DEFAULT_WINDOW_SIZE);
        if window == self.window_size() {
            return None;
        }
        self.window_size = Some(window);
        if self.max_messages.is_some_and(|m| m > window) {
            self.max_messages = Some(window);
        }
        Some(window)
    }

    /// `token_retransmit`, explicit or derived from `token`.
    pub fn token_retransmit(&self) -> u32 {
        self.token_retransmit.unwrap_or_else(|| {
            let v = (self.token as u64 * 10) / (self.token_retransmits_before_loss_const as u64 * 10 + 2);
            v.max(1) as u32
        })
    }

    /// `hold`, explicit or derived from `token_retransmit`.
    pub fn hold(&self) -> u32 {
        self.hold.unwrap_or_else(|| (self.token_retransmit() as u64 * 8 / 10).saturating_sub(10) as u32)
    }

    /// `consensus`, explicit or 1.2 * `token`.
    pub fn consensus(&self) -> u32 {
        self.consensus.unwrap_or_else(|| (self.token as u64 * 12 / 10) as u32)
    }

    /// How long gather waits for a first join from each node before failing it as
    /// silent: long enough for a live node's first three joins (one after `send_join`,
    /// then one every `join`) plus half a join interval for delivery, at most half
    /// the consensus timeout. 125 ms with the defaults. Not a `totem {}` key.
    pub fn silent_fail(&self) -> u32 {
        let v = self.send_join as u64 + self.join as u64 * 5 / 2;
        v.min(self.consensus() as u64 / 2).max(1) as u32
    }

    /// The timeout after which a missing token starts a membership round.
    pub fn token_loss_timeout(&self) -> u32 {
        if self.heartbeat_failures_allowed == 0 {
            self.token
        } else {
            let hb =
                self.heartbeat_failures_allowed as u64 * self.token_retransmit() as u64 + self.max_network_delay as u64;
            (hb.min(self.token as u64)).max(1) as u32
        }
    }

    /// Cross-key rules. An error names the keys involved.
    pub fn validate(&self) -> Result<(), String> {
        let token = self.token as u64;
        if (self.consensus() as u64) * 10 < token * 12 {
            return Err(format!(
                "consensus ({} ms) must be at least 1.2 * token ({} ms)",
                self.consensus(),
                self.token
            ));
        }
        if self.token_retransmit() >= self.token {
            return Err(format!(
                "token_retransmit ({} ms) must be less than token ({} ms)",
                self.token_retransmit(),
                self.token
            ));
        }
        if self.hold() >= self.token_retransmit() {
            return Err(format!(
                "hold ({} ms) must be less than token_retransmit ({} ms)",
                self.hold(),
                self.token_retransmit()
            ));
        }
        if self.join >= self.consensus() {
            return Err(format!("join ({} ms) must be less than consensus ({} ms)", self.join, self.consensus()));
        }
        if self.send_join >= self.consensus() {
            return Err(format!(
                "send_join ({} ms) must be less than consensus ({} ms)",
                self.send_join,
                self.consensus()
            ));
        }
        if self.max_messages() > self.window_size() {
            return Err(format!(
                "max_messages ({}) must not exceed window_size ({})",
                self.max_messages(),
                self.window_size()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_classic_values_but_the_window() {
        let c = TotemConfig::default();
        assert_eq!(c.token, 1000);
        assert_eq!(c.token_retransmit(), 238);
        assert_eq!(c.hold(), 180);
        assert_eq!(c.consensus(), 1200);
        assert_eq!(c.join, 50);
        assert_eq!((c.window_size(), c.max_messages()), (300, 100));
        assert_eq!((c.rekey_interval, c.rekey_packets), (600_000, 1 << 24));
        assert!(c.validate().is_ok());
    }

    #[test]
    fn rekeying_can_be_tuned_or_turned_off() {
        let mut c = TotemConfig::default();
        c.set("rekey_interval", "0").unwrap();
        c.set("rekey_packets", "0").unwrap();
        assert_eq!((c.rekey_interval, c.rekey_packets), (0, 0));
        c.set("rekey_packets", "281474976710656").unwrap();
        assert!(c.set("rekey_packets", "281474976710657").unwrap_err().contains("too large"));
        assert!(c.set("rekey_interval", "86400001").unwrap_err().contains("too large"));
        assert!(c.set("rekey_packets", "-1").unwrap_err().contains("integer"));
        assert!(c.validate().is_ok());
    }

    #[test]
    fn max_messages_follows_a_window_set_alone() {
        let mut c = TotemConfig::default();
        c.set("window_size", "50").unwrap();
        assert_eq!(c.max_messages(), 17);
        assert!(c.validate().is_ok());
        c.set("window_size", "2").unwrap();
        assert_eq!(c.max_messages(), 1);
        c.set("max_messages", "2").unwrap();
        assert_eq!((c.window_size(), c.max_messages()), (2, 2));
    }

    #[test]
    fn a_small_receive_buffer_shrinks_only_a_default_window() {
        let mut c = TotemConfig::default();
        assert_eq!(c.fit_to_receive_buffer(8 << 20), None, "8 MiB holds the default window");
        assert_eq!(c.window_size(), 300);
        // Linux's unprivileged default: 212992 bytes, reported doubled.
        assert_eq!(c.fit_to_receive_buffer(425_984), Some(104));
        assert_eq!((c.window_size(), c.max_messages()), (104, 35));
        assert!(c.validate().is_ok());

        let mut c = TotemConfig::default();
        assert_eq!(c.fit_to_receive_buffer(4096), Some(CLASSIC_WINDOW_SIZE), "never below the classic window");
        assert_eq!(c.max_messages(), 17);

        let mut c = TotemConfig::default();
        c.set("max_messages", "200").unwrap();
        assert_eq!(c.fit_to_receive_buffer(100 * 4096), Some(100));
        assert_eq!(c.max_messages(), 100, "an explicit max_messages is cut to the window");
        assert!(c.validate().is_ok());

        let mut c = TotemConfig::default();
        c.set("window_size", "250").unwrap();
        assert_eq!(c.fit_to_receive_buffer(4096), None, "the file's window is kept");
        assert_eq!(c.window_size(), 250);
    }

    #[test]
    fn silent_fail_covers_three_joins_and_stays_below_consensus() {
        let mut c = TotemConfig::default();
        assert_eq!(c.silent_fail(), 125);
        c.set("send_join", "40").unwrap();
        assert_eq!(c.silent_fail(), 165);
        c.set("join", "1000").unwrap();
        assert_eq!(c.silent_fail(), c.consensus() / 2);
    }

    #[test]
    fn derived_values_follow_token() {
        let mut c = TotemConfig::default();
        c.set("token", "5000").unwrap();
        assert_eq!(c.consensus(), 6000);
        assert_eq!(c.token_retransmit(), 1190);
        assert!(c.validate().is_ok());
    }

    #[test]
    fn every_key_is_settable_and_bad_values_say_why() {
        for k in TotemConfig::KEYS {
            let mut c = TotemConfig::default();
            let v = if *k == "netmtu" { "1400" } else { "7" };
            c.set(k, v).unwrap_or_else(|e| panic!("{k}: {e}"));
            let e = c.set(k, "abc").unwrap_err();
            assert!(e.contains("integer"), "{e}");
        }
        let mut c = TotemConfig::default();
        assert!(c.set("token", "0").unwrap_err().contains("positive"));
        assert!(c.set("nope", "1").unwrap_err().contains("unknown"));
        assert!(c.set("window_size", "100000").is_err());
        assert!(c.set("netmtu", "100").is_err());
    }

    #[test]
    fn cross_key_rules() {
        let mut c = TotemConfig::default();
        c.set("consensus", "1100").unwrap();
        assert!(c.validate().unwrap_err().contains("consensus"));
        let mut c = TotemConfig::default();
        c.set("max_messages", "301").unwrap();
        assert!(c.validate().unwrap_err().contains("max_messages"));
        c.set("window_size", "301").unwrap();
        assert!(c.validate().is_ok());
        let mut c = TotemConfig::default();
        c.set("token_retransmit", "2000").unwrap();
        assert!(c.validate().is_err());
    }
}
