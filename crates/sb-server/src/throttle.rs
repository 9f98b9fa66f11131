//! "At most once per interval" for side effects that would otherwise happen on every request:
//! recording a token's last use (a database write) and auditing repeated views of the same
//! personal data by the same caller (one audit entry per caller, record and interval says who
//! looked, without an entry per page refresh).
//!
//! Per process: with several replicas a key can fire once per replica per interval, which is
//! fine for both uses.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys remembered before the expired ones are swept out.
const SWEEP_AT_KEYS: usize = 10_000;

#[derive(Debug)]
pub struct Throttle<K> {
    interval: Duration,
    last: Mutex<HashMap<K, Instant>>,
}

impl<K: Eq + Hash> Throttle<K> {
    pub fn new(interval: Duration) -> Throttle<K> {
        Throttle { interval, last: Mutex::new(HashMap::new()) }
    }

    /// True when `key` has not fired within the interval (and marks it fired now).
    pub fn fire(&self, key: K) -> bool {
        self.fire_at(key, Instant::now())
    }

    fn fire_at(&self, key: K, now: Instant) -> bool {
        // The map holds no invariant a panic could break half-way.
        let mut last = self.last.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if last.len() >= SWEEP_AT_KEYS {
            let interval = self.interval;
            last.retain(|_, fired| now.duration_since(*fired) < interval);
        }
        match last.get(&key) {
            Some(fired) if now.duration_since(*fired) < self.interval => false,
            _ => {
                last.insert(key, now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_once_per_key_and_interval() {
        let throttle = Throttle::new(Duration::from_secs(60));
        let start = Instant::now();
        let cases = [(1, 0, true), (1, 10, false), (2, 10, true), (1, 59, false), (1, 60, true), (1, 61, false), (2, 75, true)];
        for (key, seconds, expected) in cases {
            assert_eq!(throttle.fire_at(key, start + Duration::from_secs(seconds)), expected, "key {key} at {seconds} s");
        }
    }

    #[test]
    fn expired_keys_are_swept_when_the_map_is_full() {
        let throttle = Throttle::new(Duration::from_secs(1));
        let start = Instant::now();
        for key in 0..SWEEP_AT_KEYS {
            assert!(throttle.fire_at(key, start));
        }
        assert!(throttle.fire_at(usize::MAX, start + Duration::from_secs(2)));
        assert_eq!(throttle.last.lock().unwrap().len(), 1, "the expired keys were dropped");
    }
}
