//! A per-key "at most once per interval" limiter for log lines such as
//! `Invalid digest`.
//!
//! Owns: the last time each key (a source address) was allowed and how many
//! events were suppressed since. Time is passed in, never read here, so the
//! behaviour is testable and deterministic.
//!
//! Must not: log anything itself, or grow without bound (a flood of spoofed
//! source addresses is capped at `capacity` keys; beyond that events are
//! suppressed and counted globally).
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
struct Slot {
    last: Instant,
    suppressed: u64,
}

/// Allows one event per key per `interval`.
#[derive(Debug)]
pub struct RateLimiter<K> {
    interval: Duration,
    capacity: usize,
    slots: HashMap<K, Slot>,
    overflow_suppressed: u64,
}

impl<K: Eq + Hash + Clone> RateLimiter<K> {
    /// `capacity` bounds the number of keys remembered (at least 1).
    pub fn new(interval: Duration, capacity: usize) -> Self {
        RateLimiter { interval, capacity: capacity.max(1), slots: HashMap::new(), overflow_suppressed: 0 }
    }

    /// Records one event for `key` at `now`. Returns `Some(n)` when the
    /// caller should log it now, `n` being the number of events of this key
    /// suppressed since the last one allowed; `None` when it must stay quiet.
    pub fn check(&mut self, key: &K, now: Instant) -> Option<u64> {
        if let Some(slot) = self.slots.get_mut(key) {
            if now.saturating_duration_since(slot.last) >= self.interval {
                let n = slot.suppressed;
                *slot = Slot { last: now, suppressed: 0 };
                return Some(n);
            }
            slot.suppressed += 1;
            return None;
        }
        if self.slots.len() >= self.capacity {
            let interval = self.interval;
            self.slots.retain(|_, s| now.saturating_duration_since(s.last) < interval);
            if self.slots.len() >= self.capacity {
                self.overflow_suppressed += 1;
                return None;
            }
        }
        self.slots.insert(key.clone(), Slot { last: now, suppressed: 0 });
        Some(0)
    }

    /// Events dropped because the key table was full of recent keys.
    pub fn overflow_suppressed(&self) -> u64 {
        self.overflow_suppressed
    }

    /// Keys currently remembered.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True when no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_per_second_per_key() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(Duration::from_secs(1), 16);
        assert_eq!(rl.check(&"a", t0), Some(0));
        assert_eq!(rl.check(&"a", t0 + Duration::from_millis(10)), None);
        assert_eq!(rl.check(&"a", t0 + Duration::from_millis(999)), None);
        // another key is independent
        assert_eq!(rl.check(&"b", t0 + Duration::from_millis(500)), Some(0));
        // after the interval: allowed, reports the two suppressed
        assert_eq!(rl.check(&"a", t0 + Duration::from_millis(1000)), Some(2));
        assert_eq!(rl.check(&"a", t0 + Duration::from_millis(1500)), None);
        assert_eq!(rl.check(&"a", t0 + Duration::from_millis(2000)), Some(1));
    }

    #[test]
    fn time_going_backwards_does_not_panic_or_allow() {
        let t0 = Instant::now() + Duration::from_secs(10);
        let mut rl = RateLimiter::new(Duration::from_secs(1), 4);
        assert_eq!(rl.check(&1, t0), Some(0));
        assert_eq!(rl.check(&1, t0 - Duration::from_secs(5)), None);
    }

    #[test]
    fn bounded_under_spoofed_flood() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(Duration::from_secs(1), 8);
        for k in 0..8u32 {
            assert_eq!(rl.check(&k, t0), Some(0));
        }
        // table full of fresh keys: new keys are suppressed, counted
        for k in 8..100u32 {
            assert_eq!(rl.check(&k, t0 + Duration::from_millis(1)), None);
        }
        assert_eq!(rl.len(), 8);
        assert_eq!(rl.overflow_suppressed(), 92);
        // once old keys expire they are pruned and new keys get through
        assert_eq!(rl.check(&1000, t0 + Duration::from_secs(2)), Some(0));
        assert!(rl.len() <= 8);
    }
}
