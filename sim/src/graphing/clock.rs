//! Skewed member clocks (MS-PPGRH §1.3.6: each node keeps its own UTC clock and adjusts a peer-time
//! offset from its neighbors'). A member's local clock is the run's epoch moved by a uniform draw in
//! `[−skew, +skew]` from its own named stream, so adding a member shifts no other member's clock.

use peerlab_engine::graphing::{LocalClock, PeerTime, DEFAULT_EPOCH};
use peerlab_engine::{derive_seed, Duration, NodeRng};
use rand::{Rng, SeedableRng};

/// 100 ns ticks per microsecond (FILETIME units).
const TICKS_PER_US: i64 = 10;

/// Member `peer`'s local clock in run `run_seed` with `[graphing] clock_skew = skew`; the same
/// in every session of the member (its machine's clock does not change when it rejoins).
pub fn local_clock(run_seed: u64, peer: u32, skew: Duration) -> LocalClock {
    if skew == Duration::ZERO {
        return LocalClock::default();
    }
    let mut rng = NodeRng::from_seed(derive_seed(run_seed, "graphing-clock", peer as u64));
    let span = skew.as_micros() as i64;
    let offset_us = rng.gen_range(-span..=span);
    LocalClock {
        epoch: PeerTime(DEFAULT_EPOCH.0.saturating_add_signed(offset_us * TICKS_PER_US)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skews_stay_within_the_bound_and_differ_by_member() {
        assert_eq!(local_clock(1, 5, Duration::ZERO), LocalClock::default());
        let skew = Duration::from_secs(120);
        let clocks: Vec<_> = (0..50).map(|p| local_clock(7, p, skew)).collect();
        for c in &clocks {
            assert!(c.epoch.ticks_minus(DEFAULT_EPOCH).unsigned_abs() <= 120 * 10_000_000);
        }
        assert!(clocks.windows(2).any(|w| w[0] != w[1]));
        assert_eq!(local_clock(7, 3, skew), clocks[3]);
        assert_ne!(local_clock(8, 3, skew), clocks[3]);
    }
}
