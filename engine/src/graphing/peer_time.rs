//! Peer time: the graph-wide clock every record time is written in (MS-PPGRH §1.3.6,
//! §3.1.5.2.2). FILETIME units, 100 ns ticks since 1601-01-01 UTC.
//!
//! A node's local UTC clock is the engine's `Instant` (microseconds since the run's epoch) plus a
//! per-node epoch (where the run's zero falls in FILETIME, skewed per node in the simulator, read
//! from the OS clock by the live driver); peer time is local UTC minus the node's peer-time delta.

use crate::{Duration, Instant};

/// A point in peer time (or local UTC), in 100 ns ticks since 1601-01-01 UTC.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerTime(pub u64);

/// 100 ns ticks per microsecond.
const TICKS_PER_US: u64 = 10;

/// FILETIME of 2026-01-01T00:00:00Z: the default epoch of a node's local clock.
pub const DEFAULT_EPOCH: PeerTime = PeerTime(134_116_992_000_000_000);

impl PeerTime {
    /// `d` later (saturating).
    pub fn plus(self, d: Duration) -> PeerTime {
        PeerTime(self.0.saturating_add(d.as_micros().saturating_mul(TICKS_PER_US)))
    }
    /// `d` earlier (saturating at zero).
    pub fn minus(self, d: Duration) -> PeerTime {
        PeerTime(self.0.saturating_sub(d.as_micros().saturating_mul(TICKS_PER_US)))
    }
    /// The span from `earlier` to `self` (zero when `earlier` is later).
    pub fn since(self, earlier: PeerTime) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0) / TICKS_PER_US)
    }
    /// Signed difference `self − other` in ticks.
    pub fn ticks_minus(self, other: PeerTime) -> i64 {
        (self.0 as i128 - other.0 as i128).clamp(i64::MIN as i128, i64::MAX as i128) as i64
    }
}

/// A node's local UTC clock: where the engine's instant zero falls in FILETIME.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalClock {
    /// Local UTC at `Instant` zero.
    pub epoch: PeerTime,
}

impl Default for LocalClock {
    fn default() -> Self {
        LocalClock { epoch: DEFAULT_EPOCH }
    }
}

impl LocalClock {
    /// Local UTC at `now`.
    pub fn utc(&self, now: Instant) -> PeerTime {
        PeerTime(
            self.epoch
                .0
                .saturating_add(now.as_micros().saturating_mul(TICKS_PER_US)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_is_in_filetime_ticks() {
        let t = PeerTime(1_000_000_000);
        assert_eq!(t.plus(Duration::from_secs(1)).0, 1_010_000_000);
        assert_eq!(t.plus(Duration::from_secs(1)).since(t), Duration::from_secs(1));
        assert_eq!(t.since(t.plus(Duration::from_secs(1))), Duration::ZERO);
        assert_eq!(t.ticks_minus(t.plus(Duration::from_secs(1))), -10_000_000);
        let clock = LocalClock::default();
        assert_eq!(clock.utc(Instant::ZERO), DEFAULT_EPOCH);
    }
}
