//! Flood delivery, measured against the oracle: for every record version a workload publishes,
//! which live, synchronized members should receive it (its targets, fixed at publication) and
//! when each first held that version or a later one (MS-PPGRH §3.1.7.10: a member stores a record
//! once, when it is new to it).
//!
//! Definitions (docs/graphing.md "Metrics"): a record's *delivery ratio* is the share of its
//! targets that held it by the end of the run, targets that went offline without it left out; its
//! *time to q* is the delay from publication until ⌈q·targets⌉ targets held it.

use peerlab_engine::graphing::Guid;
use peerlab_engine::Instant;
use std::collections::BTreeMap;

/// A tracked record version.
#[derive(Clone, Debug)]
struct Tracked {
    id: Guid,
    version: u32,
    published: Instant,
    /// Bit per peer index: a target that has not received it yet.
    waiting: Vec<u64>,
    targets: u32,
    /// Delay from publication to each target's first delivery, microseconds, in arrival order
    /// (so sorted: deliveries arrive in time order).
    delays_us: Vec<u64>,
}

/// How one tracked record version came out (a `graph_delivery` record line).
#[derive(Clone, Debug, PartialEq)]
pub struct RecordOutcome {
    /// Record id.
    pub id: Guid,
    /// Version.
    pub version: u32,
    /// Publication time.
    pub published: Instant,
    /// Targets still counted (those that went offline without it left out).
    pub targets: u32,
    /// Targets that received it.
    pub delivered: u32,
    /// Delay to ⌈q·targets⌉ deliveries for q = 50%, 90%, 100%; `None` when not reached.
    pub reach_us: [Option<u64>; 3],
}

/// The fractions of targets [`RecordOutcome::reach_us`] reports.
pub const REACH_LEVELS: [f64; 3] = [0.5, 0.9, 1.0];

/// Every tracked record version of a run.
#[derive(Debug, Default)]
pub struct DeliveryTracker {
    tracked: Vec<Tracked>,
    /// Record id → indices into `tracked`, oldest version first.
    by_id: BTreeMap<Guid, Vec<usize>>,
}

fn bit(peer: u32) -> (usize, u64) {
    ((peer / 64) as usize, 1u64 << (peer % 64))
}

impl DeliveryTracker {
    /// Starts tracking version `version` of `id`, published at `at` by `publisher` (which holds
    /// it already) towards `targets` (peer indices, the publisher excluded).
    pub fn published(&mut self, id: Guid, version: u32, at: Instant, targets: impl IntoIterator<Item = u32>) {
        let mut waiting: Vec<u64> = Vec::new();
        let mut count = 0u32;
        for t in targets {
            let (w, b) = bit(t);
            if waiting.len() <= w {
                waiting.resize(w + 1, 0);
            }
            if waiting[w] & b == 0 {
                waiting[w] |= b;
                count += 1;
            }
        }
        self.by_id.entry(id).or_default().push(self.tracked.len());
        self.tracked.push(Tracked {
            id,
            version,
            published: at,
            waiting,
            targets: count,
            delays_us: Vec::new(),
        });
    }

    /// `peer` now holds `version` of `id` (it stored it at `at`): every tracked version up to it
    /// counts as delivered to `peer`, once.
    pub fn delivered(&mut self, peer: u32, id: &Guid, version: u32, at: Instant) {
        let Some(indices) = self.by_id.get(id) else { return };
        let (w, b) = bit(peer);
        for &i in indices {
            let t = &mut self.tracked[i];
            if t.version > version {
                break;
            }
            if let Some(word) = t.waiting.get_mut(w) {
                if *word & b != 0 {
                    *word &= !b;
                    t.delays_us.push(at.saturating_since(t.published).as_micros());
                }
            }
        }
    }

    /// Records tracked so far.
    pub fn len(&self) -> usize {
        self.tracked.len()
    }

    /// True when nothing was published.
    pub fn is_empty(&self) -> bool {
        self.tracked.is_empty()
    }

    /// How every tracked version came out; `online(peer)` says whether a peer is online at the
    /// end (a target offline without the record is left out of its denominator).
    pub fn outcomes(&self, online: impl Fn(u32) -> bool) -> Vec<RecordOutcome> {
        self.tracked
            .iter()
            .map(|t| {
                let gone = t
                    .waiting
                    .iter()
                    .enumerate()
                    .flat_map(|(w, &word)| {
                        (0..64)
                            .filter(move |b| word & (1 << b) != 0)
                            .map(move |b| (w * 64 + b) as u32)
                    })
                    .filter(|&p| !online(p))
                    .count() as u32;
                let targets = t.targets - gone;
                let delivered = t.delays_us.len() as u32;
                let reach_us = REACH_LEVELS.map(|q| {
                    let need = ((q * targets as f64).ceil() as usize).max(1);
                    match targets {
                        0 => Some(0),
                        _ => t.delays_us.get(need - 1).copied(),
                    }
                });
                RecordOutcome {
                    id: t.id,
                    version: t.version,
                    published: t.published,
                    targets,
                    delivered,
                    reach_us,
                }
            })
            .collect()
    }
}

/// The nearest-rank `q`-quantile of `sorted` (ascending); `None` when empty.
pub fn quantile(sorted: &[u64], q: f64) -> Option<u64> {
    let n = sorted.len();
    (n > 0).then(|| sorted[((q * n as f64).ceil() as usize).clamp(1, n) - 1])
}

/// Headline figures over `outcomes` (names and units in docs/graphing.md), into `m`.
pub fn delivery_metrics(outcomes: &[RecordOutcome], m: &mut BTreeMap<String, f64>) {
    let (targets, delivered) = outcomes.iter().fold((0u64, 0u64), |(t, d), o| {
        (t + o.targets as u64, d + o.delivered as u64)
    });
    m.insert("graphing.records_tracked".into(), outcomes.len() as f64);
    if targets > 0 {
        m.insert(
            "graphing.delivery_ratio".into(),
            delivered as f64 / targets as f64,
        );
    }
    for (i, level) in ["50", "90", "100"].iter().enumerate() {
        let mut reached: Vec<u64> = outcomes.iter().filter_map(|o| o.reach_us[i]).collect();
        reached.sort_unstable();
        m.insert(
            format!("graphing.reach_{level}.unreached"),
            (outcomes.len() - reached.len()) as f64,
        );
        for (name, q) in [("p50", 0.5), ("p99", 0.99)] {
            if let Some(v) = quantile(&reached, q) {
                m.insert(format!("graphing.reach_{level}.{name}_ms"), v as f64 / 1e3);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use peerlab_engine::Duration;

    fn g(n: u8) -> Guid {
        Guid([n; 16])
    }

    fn at(ms: u64) -> Instant {
        Instant::ZERO + Duration::from_millis(ms)
    }

    #[test]
    fn deliveries_count_once_and_later_versions_deliver_earlier_ones() {
        let mut t = DeliveryTracker::default();
        t.published(g(1), 1, at(0), [1, 2, 3, 4]);
        t.published(g(1), 2, at(100), [1, 2, 3, 4]);
        t.delivered(1, &g(1), 1, at(10));
        t.delivered(1, &g(1), 1, at(20)); // a duplicate: not counted again
        t.delivered(2, &g(1), 2, at(150)); // skips version 1: both count
        t.delivered(9, &g(1), 2, at(150)); // not a target
        t.delivered(3, &g(2), 1, at(150)); // another record
        let o = t.outcomes(|_| true);
        assert_eq!((o[0].targets, o[0].delivered), (4, 2));
        assert_eq!(o[0].reach_us, [Some(150_000), None, None]);
        assert_eq!((o[1].targets, o[1].delivered), (4, 1));
        assert_eq!(o[1].reach_us, [None, None, None]);
    }

    #[test]
    fn targets_offline_without_the_record_leave_the_denominator() {
        let mut t = DeliveryTracker::default();
        t.published(g(1), 1, at(0), [1, 2, 70, 130]);
        for (p, ms) in [(1, 5), (2, 7), (70, 9)] {
            t.delivered(p, &g(1), 1, at(ms));
        }
        let all = t.outcomes(|_| true);
        assert_eq!(all[0].reach_us, [Some(7_000), None, None]);
        let o = t.outcomes(|p| p != 130);
        assert_eq!((o[0].targets, o[0].delivered), (3, 3));
        assert_eq!(o[0].reach_us, [Some(7_000), Some(9_000), Some(9_000)]);
        let mut m = BTreeMap::new();
        delivery_metrics(&o, &mut m);
        assert_eq!(m["graphing.delivery_ratio"], 1.0);
        assert_eq!(m["graphing.reach_100.p50_ms"], 9.0);
        assert_eq!(m["graphing.reach_100.unreached"], 0.0);
        let mut m = BTreeMap::new();
        delivery_metrics(&all, &mut m);
        assert_eq!(m["graphing.delivery_ratio"], 0.75);
        assert_eq!(m["graphing.reach_100.unreached"], 1.0);
        assert!(!m.contains_key("graphing.reach_100.p50_ms"));
    }

    #[test]
    fn nearest_rank_quantiles() {
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(quantile(&[1, 2, 3, 4], 0.5), Some(2));
        assert_eq!(quantile(&[1, 2, 3, 4], 0.99), Some(4));
        assert_eq!(quantile(&[7], 0.0), Some(7));
    }
}
