//! The maintenance timer's work (MS-PNRP §3.1.6.2/§3.2.6.2; its schedule is in ticks.rs): rediscovery,
//! optional cache TTL, re-announcements, cache balancing, and cloud-split detection with its size estimate
//! and analysis (MS-PNRP §3.2.6.2.1).

use super::api::Event;
use super::id::{Distance, PnrpId};
use super::leafset::Side;
use super::message::{ReasonCode, ResolveCriteria, RouteEntry};
use super::node::PnrpNode;
use super::resolve::{ResolveKind, ResolveSpec};
use crate::Instant;
use rand::Rng;

impl PnrpNode {
    /// MS-PNRP §3.1.6.2/§3.2.6.2: one maintenance tick; reschedules itself (10 s while the cache is small,
    /// else 15 s).
    pub(super) fn maintenance_tick(&mut self, now: Instant) {
        if self.left {
            self.maintenance_at = None;
            return;
        }
        if !self.opened {
            // MS-PNRP §3.1.4.2: discovery runs once when the cloud opens.
            self.opened = true;
            self.discover(now);
        } else if self.cache.is_empty() {
            // Resolver part: we know no other cloud member; publisher part: re-sync.
            self.discover(now);
        }
        self.announce_deferred(now);
        if let Some(age) = self.cfg.cache_max_age {
            let cutoff = Instant::from_micros(now.as_micros().saturating_sub(age.as_micros()));
            for id in self.cache.older_than(cutoff) {
                self.drop_entry(now, id, "age");
            }
        }
        if let Some(period) = self.cfg.reannounce_period {
            let due: Vec<PnrpId> = self
                .regs
                .values()
                .filter(|r| now.saturating_since(r.last_announce) >= period)
                .map(|r| r.id)
                .collect();
            for id in due {
                self.announce(now, id, None, None);
            }
        }
        self.probe_leaf_liveness(now);
        if self.cfg.cache_balancing && self.maintenance_resolve.is_none() && !self.cache.is_empty() {
            let due = self
                .last_balancing
                .is_none_or(|t| now.saturating_since(t) >= self.cfg.balancing_interval);
            let checked = self.balancing_next_check.is_none_or(|t| t <= now);
            if due && checked {
                self.balancing_round += 1;
                if self.cfg.leaf_set_probes && self.balancing_round.is_multiple_of(2) && !self.regs.is_empty()
                {
                    self.probe_leaf_set(now);
                } else {
                    self.balance_cache(now);
                }
                // Elided ticks (ticks.rs): a round that found nothing to do is retried a minute later.
                if self.cfg.maintenance_idle_ticks_max > 0 {
                    self.balancing_next_check = Some(if self.last_balancing == Some(now) {
                        now + self.cfg.balancing_interval
                    } else {
                        now + crate::Duration::from_micros(self.cfg.maintenance_period.as_micros() * 4)
                    });
                }
            }
        }
        let joined: Vec<PnrpId> = self
            .regs
            .values_mut()
            .filter(|r| r.join_check_at.is_some_and(|t| t <= now))
            .map(|r| {
                r.join_check_at = None;
                r.id
            })
            .collect();
        for id in joined {
            self.split_test(now, id, false);
        }
        if self.cfg.split_detection && !self.regs.is_empty() {
            if let Some(est) = self.estimated_cloud_size() {
                if self.split_test_due(now, est) {
                    let k = self.rng.gen_range(0..self.regs.len());
                    // (peerlab choice) split_test_settle: an ID whose (re-)announcement is younger than
                    // this is not tested — its neighbourhood is still learning it, so any
                    // unknown closer node would look like a split.
                    let settle = self.cfg.split_test_settle;
                    let local = self
                        .regs
                        .values()
                        .nth(k)
                        .filter(|r| now.saturating_since(r.last_announce) >= settle)
                        .map(|r| r.id);
                    if let Some(local) = local {
                        self.split_test(now, local, false);
                    }
                }
            }
        }
        self.schedule_next_tick(now);
    }

    /// MS-PNRP §3.2.1.1, Microsoft's conceptual docs (peerlab choice) `leaf_set_liveness_probes`: once per
    /// `leaf_set_liveness_interval`, INQUIRE the next few leaf-set members in turn that nothing confirmed
    /// alive within `leaf_set_liveness_quiet` (an admission answer or a FLOOD ACK without N refreshes a
    /// member), so that crashed members (no revoke ever comes) and IDs their node no longer holds (it
    /// re-registered under a new ID) leave the leaf set.
    fn probe_leaf_liveness(&mut self, now: Instant) {
        let k = self.cfg.leaf_set_liveness_probes;
        if k == 0 || self.regs.is_empty() {
            return;
        }
        let interval = self.cfg.leaf_set_liveness_interval;
        if self
            .last_liveness_probe
            .is_some_and(|t| now.saturating_since(t) < interval)
        {
            return;
        }
        self.last_liveness_probe = Some(now);
        let quiet = self.cfg.leaf_set_liveness_quiet;
        let total: usize = self.regs.values().map(|r| r.leaf.len()).sum();
        let mut sent = 0;
        for _ in 0..total {
            if sent == k {
                break;
            }
            let i = self.leaf_probe_cursor % total;
            self.leaf_probe_cursor = self.leaf_probe_cursor.wrapping_add(1);
            // Only the probed member is cloned (this runs on every node every tick).
            let Some(m) = self.regs.values().flat_map(|r| r.leaf.all()).nth(i) else {
                continue;
            };
            let heard = self.cache.heard(&m.id);
            if heard.is_some_and(|t| now.saturating_since(t) < quiet) {
                continue;
            }
            let m = m.clone();
            self.probe_entry(now, m);
            sent += 1;
        }
    }

    /// MS-PNRP §3.1.6.2/§3.2.6.2, Windows behaviour, MS-PNRP §6: find the largest gap in one random level and
    /// side; if it exceeds `balancing_gap_factor` × the level's mean spacing, resolve its middle with
    /// UPPER_BITS.
    fn balance_cache(&mut self, now: Instant) {
        let sizes = self.cache.level_sizes();
        // The deepest populated level is sparse by nature (the cloud ends there): balance above it.
        let levels = sizes.len().saturating_sub(1).max(1);
        let level = self.rng.gen_range(0..levels);
        let above = self.rng.gen::<bool>();
        let centre = self.cache.centre();
        let outer = self.level_bound(level);
        let inner = self.level_bound(level + 1);
        let (from, to) = if above {
            (centre.wrapping_add(inner), centre.wrapping_add(outer))
        } else {
            (centre.wrapping_add(neg(outer)), centre.wrapping_add(neg(inner)))
        };
        let mut points = vec![from];
        points.extend(self.cache.arc(from, to));
        points.push(to);
        let (mut gap_start, mut gap) = (from, Distance::ZERO);
        for w in points.windows(2) {
            let g = w[1].wrapping_sub(w[0]);
            if g > gap {
                (gap_start, gap) = (w[0], g);
            }
        }
        let width = to.wrapping_sub(from);
        let per_side = (self.cache.capacity() / 2).max(1) as u64;
        let allowed = div_small(width, per_side).to_f64() * self.cfg.balancing_gap_factor as f64;
        if gap.to_f64() <= allowed {
            return;
        }
        let target = gap_start.wrapping_add(gap.shifted_right(1));
        self.last_balancing = Some(now);
        self.start_maintenance_resolve(now, target, gap);
    }

    /// MS-PNRP §3.1.6.2/§3.2.6.2, peerlab choice leaf-set probe: resolve the middle of one gap between
    /// consecutive members (the registered ID included) of our leaf sets, taking the gaps in turn. The walk
    /// admits every hop it meets (MS-PNRP §3.1.4.4.2), so a neighbour hiding in the gap enters the leaf set
    /// (CPA-checked).
    fn probe_leaf_set(&mut self, now: Instant) {
        let mut gaps: Vec<(PnrpId, Distance)> = Vec::new();
        for reg in self.regs.values() {
            for side in [Side::Above, Side::Below] {
                let mut prev = reg.id;
                for m in reg.leaf.members(side) {
                    let (a, b) = if side == Side::Above {
                        (prev, m.id)
                    } else {
                        (m.id, prev)
                    };
                    gaps.push((a, b.wrapping_sub(a)));
                    prev = m.id;
                }
            }
        }
        if gaps.is_empty() {
            return;
        }
        let (start, gap) = gaps[(self.balancing_round / 2) as usize % gaps.len()];
        self.last_balancing = Some(now);
        if gap.bits() > 2 {
            self.start_maintenance_resolve(now, start.wrapping_add(gap.shifted_right(1)), gap);
        }
    }

    /// Starts a CACHE_MAINTENANCE resolve of `target` with UPPER_BITS precision fitting inside `gap`.
    fn start_maintenance_resolve(&mut self, now: Instant, target: PnrpId, gap: Distance) {
        // A prefix block of 2^(256−p) ≤ gap/2 around the middle lies inside the gap.
        let precision = (258u32.saturating_sub(gap.bits())).clamp(1, 256) as u16;
        let spec = ResolveSpec {
            kind: ResolveKind::Maintenance,
            target,
            criteria: ResolveCriteria::UpperBits,
            precision,
            reason: ReasonCode::CacheMaintenance,
            pick_local: false,
            initial_best: None,
            initial_next: None,
            timeout: self.cfg.internal_resolve_timeout,
        };
        if let Ok(key) = self.start_resolve(now, spec) {
            self.stats.maintenance_resolves += 1;
            if self.ort.contains_key(&key) {
                self.maintenance_resolve = Some(key);
            }
        }
    }

    /// Distance bound of `level`: 2^255 for level 0, else ⌊(2^256 − 1) / 10^level⌋.
    fn level_bound(&self, level: usize) -> Distance {
        if level == 0 {
            return Distance { hi: 1 << 127, lo: 0 };
        }
        let mut d = Distance {
            hi: u128::MAX,
            lo: u128::MAX,
        };
        for _ in 0..level {
            d = div_small(d, 10);
        }
        d
    }

    /// MS-PNRP §3.2.6.2.1: the estimated number of nodes in the cloud from the gaps around our registered
    /// IDs.
    pub fn estimated_cloud_size(&self) -> Option<f64> {
        if self.regs.is_empty() {
            return None;
        }
        let two_pow_257 = 2f64.powi(128) * 2f64.powi(128) * 2.0;
        // Summed in place (this runs on every tick): the same additions in the same order.
        let mut count = 0usize;
        let sum = self
            .regs
            .values()
            .filter_map(|r| r.leaf.nearest_pair())
            .map(|(a, b)| b.wrapping_sub(a).to_f64())
            .filter(|gap| *gap > 0.0)
            .map(|gap| two_pow_257 / gap)
            .filter(|e| *e < self.cfg.split_estimate_max)
            .inspect(|_| count += 1)
            .sum::<f64>();
        if count == 0 {
            return None;
        }
        let ids = sum / count as f64;
        Some(ids / self.regs.len() as f64)
    }

    /// MS-PNRP §3.2.6.2.1 test: resolve (local ID)+1 starting at a seed (InitialNextHop with PNRP ID 0).
    pub(super) fn split_test(&mut self, now: Instant, local: PnrpId, followup: bool) {
        let seeds = self.other_seeds();
        if seeds.is_empty() {
            return;
        }
        let seed = seeds[self.discovery.split_seed_index % seeds.len()];
        self.discovery.split_seed_index = self.discovery.split_seed_index.wrapping_add(1);
        let known = self.cache.closest(local.wrapping_add_u64(1)).map(|r| r.id);
        let spec = ResolveSpec {
            kind: ResolveKind::Split {
                local,
                followup,
                known,
            },
            target: local.wrapping_add_u64(1),
            criteria: ResolveCriteria::Exact,
            precision: 0,
            reason: ReasonCode::SplitDetection,
            pick_local: false,
            initial_best: None,
            initial_next: Some(RouteEntry::single(PnrpId::ZERO, seed)),
            timeout: self.cfg.internal_resolve_timeout,
        };
        if self.start_resolve(now, spec).is_ok() {
            self.stats.split_tests_run += 1;
        }
    }

    /// MS-PNRP §3.2.6.2.1 analysis of the final INQUIRE's route entry `best` for the test of `local`.
    ///
    /// "Our cache" means the cache as it was when the test started (`known` = its entry closest to
    /// the target, `started` = the start time): the walk itself admits every hop it meets (MS-PNRP
    /// §3.1.4.4.2; step 11 in `resolve`'s numbering), which would otherwise turn every split into case 1 by
    /// the time the answer arrives.
    pub(super) fn split_analysis(
        &mut self,
        now: Instant,
        local: PnrpId,
        best: RouteEntry,
        followup: bool,
        known: Option<PnrpId>,
        started: Instant,
    ) {
        let target = local.wrapping_add_u64(1);
        let knows_closer = known.is_some_and(|k| k != best.id && target.closer(k, best.id));
        // `since`, not `added`: the walk's own admissions and FLOOD ACKs refresh `added`.
        let cached_before = self.cache.get(&best.id).is_some_and(|e| e.since < started);
        let (split, smaller) = if cached_before || known == Some(best.id) || self.is_local_id(&best.id) {
            // Cases 1 and 2.
            (knows_closer, false)
        } else {
            // Case 3 (the specification is ambiguous; our reading): smaller part when the walk found
            // something closer than we know.
            (true, !knows_closer)
        };
        if !split {
            return;
        }
        self.stats.splits_detected += 1;
        self.events.push_back(Event::SplitDetected {
            smaller_side: smaller,
        });
        if self.cfg.split_repair_reregister {
            // Repair by walking (no special message): announce every ID through the other part.
            let ids: Vec<PnrpId> = self.regs.keys().copied().collect();
            for id in ids {
                self.announce(now, id, None, Some(best.clone()));
            }
        }
        if smaller && !followup {
            let others: Vec<PnrpId> = self.regs.keys().copied().filter(|id| *id != local).collect();
            for id in others {
                self.split_test(now, id, true);
            }
        }
    }
}

/// `2^256 − d` (the counter-clockwise offset of the same length).
fn neg(d: Distance) -> Distance {
    PnrpId::ZERO.wrapping_sub(PnrpId::ZERO.wrapping_add(d))
}

/// `⌊d / k⌋` for a small divisor.
fn div_small(d: Distance, k: u64) -> Distance {
    let k = k.max(1) as u128;
    let (q_hi, r_hi) = (d.hi / k, d.hi % k);
    let mid = (r_hi << 64) | (d.lo >> 64);
    let (q_mid, r_mid) = (mid / k, mid % k);
    let low = (r_mid << 64) | (d.lo & u64::MAX as u128);
    Distance {
        hi: q_hi,
        lo: (q_mid << 64) | (low / k),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_division_and_negation_are_exact() {
        let d = Distance { hi: 100, lo: 7 };
        let q = div_small(d, 10);
        assert_eq!(q.hi, 10);
        let back = PnrpId::ZERO.wrapping_add(q);
        assert_eq!(back.hi, 10);
        assert_eq!(
            neg(Distance { hi: 0, lo: 1 }),
            Distance {
                hi: u128::MAX,
                lo: u128::MAX
            }
        );
        assert_eq!(
            div_small(Distance { hi: 0, lo: 100 }, 7),
            Distance { hi: 0, lo: 14 }
        );
    }
}
