//! Scheduling of the maintenance timer (MS-PNRP §3.1.6.2/§3.2.6.2): the 15-s period, and the elision of ticks
//! that provably have nothing to do.
//!
//! (peerlab choice) `maintenance_idle_ticks_max`: in a settled cloud most ticks do nothing (the liveness
//! probe is due once a minute, balancing once per five minutes, a split test on one tick in
//! ~N for the whole cloud), yet each tick is a timer event on every node: 4.8 M events per hour at
//! 20,000 peers. With elision, a tick computes when its next piece of work falls due and sleeps to
//! that tick of the same 15-s grid (at most `maintenance_idle_ticks_max` periods ahead), so every
//! action still happens on a tick the literal timer would have run. Split tests (MS-PNRP §3.2.6.2.1) draw the
//! gap to their next tick from the geometric distribution of the per-tick coin `min(1, Ksplit/N)`
//! instead of tossing it on every tick: the same rate, one draw. Inputs that make every tick useful
//! again (the cache empties or shrinks to the small-cache size, a registration waits for its walk)
//! pull the timer back to the next grid tick.

use super::node::PnrpNode;
use crate::{Duration, Instant};
use rand::Rng;

impl PnrpNode {
    /// The maintenance period in force: 10 s while the cache is small, else 15 s (MS-PNRP §3.1.6.2/§3.2.6.2,
    /// Windows behaviour, MS-PNRP §6).
    pub(super) fn maintenance_period_now(&self) -> Duration {
        if self.cache.len() <= self.cfg.small_cache_maintenance_entries {
            self.cfg.maintenance_period_small_cache
        } else {
            self.cfg.maintenance_period
        }
    }

    /// True when every tick may have work regardless of the clocks below (no elision).
    fn every_tick_useful(&self) -> bool {
        self.cfg.maintenance_idle_ticks_max == 0
            || self.cache.len() <= self.cfg.small_cache_maintenance_entries
            || self.cfg.cache_max_age.is_some()
            || self.announces_deferred
    }

    /// Schedules the tick after the one that ran at `now`.
    pub(super) fn schedule_next_tick(&mut self, now: Instant) {
        let period = self.maintenance_period_now();
        self.last_tick = now;
        if self.every_tick_useful() {
            self.maintenance_at = Some(now + period);
            return;
        }
        let due = self.next_work_due(now);
        let wait = due.saturating_since(now).as_micros();
        let p = period.as_micros().max(1);
        let ticks = wait
            .div_ceil(p)
            .clamp(1, self.cfg.maintenance_idle_ticks_max as u64);
        self.maintenance_at = Some(now + Duration::from_micros(p * ticks));
    }

    /// The earliest instant at which some periodic maintenance work falls due.
    fn next_work_due(&self, now: Instant) -> Instant {
        let mut due = Instant::from_micros(u64::MAX);
        let mut at = |t: Instant| due = due.min(t);
        if self.cfg.leaf_set_liveness_probes > 0 && !self.regs.is_empty() {
            // The next probe is due when the first member's quiet period runs out, but not before
            // the probe interval has passed.
            let quiet = self.cfg.leaf_set_liveness_quiet;
            let earliest = self
                .last_liveness_probe
                .map_or(now, |t| t + self.cfg.leaf_set_liveness_interval);
            let mut first_stale: Option<Instant> = None;
            for m in self.regs.values().flat_map(|r| r.leaf.all()) {
                let stale = self.cache.heard(&m.id).map_or(now, |t| t + quiet);
                first_stale = Some(first_stale.map_or(stale, |s| s.min(stale)));
                // Only max(first stale, earliest) matters: once a member is stale by `earliest`
                // the rest cannot change it (each lookup is a cold cache walk, on every tick).
                if stale <= earliest {
                    break;
                }
            }
            if let Some(stale) = first_stale {
                at(stale.max(earliest));
            }
        }
        if self.cfg.cache_balancing {
            at(self.balancing_next_check.unwrap_or(now));
        }
        for r in self.regs.values() {
            if let Some(t) = r.join_check_at {
                at(t);
            }
        }
        if let Some(period) = self.cfg.reannounce_period {
            for r in self.regs.values() {
                at(r.last_announce + period);
            }
        }
        if self.cfg.split_detection && !self.regs.is_empty() {
            at(self.split_due.unwrap_or(now));
        }
        due
    }

    /// Called after every input: a change that makes every tick useful pulls an elided tick back
    /// to the next instant of the grid.
    pub(super) fn unelide_if_needed(&mut self, now: Instant) {
        let Some(at) = self.maintenance_at else { return };
        let period = self.maintenance_period_now();
        let next_grid = self.last_tick + period;
        if at <= next_grid || !self.every_tick_useful() {
            return;
        }
        let p = period.as_micros().max(1);
        let behind = now.saturating_since(self.last_tick).as_micros();
        let k = behind.div_ceil(p).max(1);
        self.maintenance_at = Some((self.last_tick + Duration::from_micros(p * k)).min(at));
    }

    /// MS-PNRP §3.2.6.2.1, peerlab choice: whether a split test runs on this tick. Literal mode tosses the
    /// coin `min(1, Ksplit / N)` now; elided mode runs the test when its drawn tick has come and draws
    /// the next one (geometric, same mean rate).
    pub(super) fn split_test_due(&mut self, now: Instant, estimate: f64) -> bool {
        let p = (self.cfg.split_k / estimate).min(1.0);
        if self.cfg.maintenance_idle_ticks_max == 0 {
            return self.rng.gen::<f64>() < p;
        }
        // Thinning keeps the rate exact while the estimate moves: a test drawn at rate p_draw runs
        // with probability p / p_draw; a rate that has more than doubled is redrawn at once.
        let mut due = self.split_due.is_some_and(|t| t <= now);
        if due && p < self.split_p {
            due = self.rng.gen::<f64>() < p / self.split_p;
        }
        if self.split_due.is_none_or(|t| t <= now) || p > 2.0 * self.split_p {
            let period = self.cfg.maintenance_period.as_micros();
            let ticks = geometric_ticks(&mut self.rng, p);
            self.split_due = Some(now + Duration::from_micros(period.saturating_mul(ticks)));
            self.split_p = p;
        }
        due
    }
}

/// Ticks until the first success of a per-tick coin with probability `p` (≥ 1; huge when p ≈ 0).
fn geometric_ticks(rng: &mut impl Rng, p: f64) -> u64 {
    if p >= 1.0 {
        return 1;
    }
    if p <= 0.0 {
        return u64::MAX / 4;
    }
    // Inversion: P(T > k) = (1 − p)^k.
    let u: f64 = 1.0 - rng.gen::<f64>(); // in (0, 1]
    let t = (u.ln() / (1.0 - p).ln()).ceil();
    if t.is_finite() {
        (t as u64).clamp(1, u64::MAX / 4)
    } else {
        u64::MAX / 4
    }
}

#[cfg(test)]
mod tests {
    use super::geometric_ticks;
    use crate::NodeRng;
    use rand::SeedableRng;

    #[test]
    fn geometric_ticks_has_the_coin_rate() {
        let mut rng = NodeRng::seed_from_u64(7);
        for p in [0.5, 0.1, 0.01] {
            let n = 20_000;
            let mean = (0..n).map(|_| geometric_ticks(&mut rng, p) as f64).sum::<f64>() / n as f64;
            let expect = 1.0 / p;
            assert!(
                (mean - expect).abs() < 0.05 * expect,
                "p={p}: mean {mean}, expected {expect}"
            );
        }
    }

    #[test]
    fn geometric_ticks_bounds() {
        let mut rng = NodeRng::seed_from_u64(1);
        assert_eq!(geometric_ticks(&mut rng, 1.0), 1);
        assert_eq!(geometric_ticks(&mut rng, 2.0), 1);
        assert!(geometric_ticks(&mut rng, 0.0) > 1 << 60);
        assert!((0..1000).all(|_| geometric_ticks(&mut rng, 0.3) >= 1));
    }
}
