//! Periodic samples of the whole world, the oracle comparisons behind them (leaf-set correctness,
//! cache occupancy) and the safety checks that run at each sample (cache bounds, no self entry).

use super::ops::overdue;
use super::{OpKind, PCore, PnrpProtocol};
use peerlab_engine::Instant;
use peerlab_reports::{Record, Sample};
use std::collections::BTreeMap;

/// Most peers whose caches and leaf sets one sample compares with the oracle.
const SAMPLE_PEERS: usize = 2_000;
/// How many peers ahead a sample prefetches (enough to cover one peer's oracle comparison).
const SAMPLE_PREFETCH_AHEAD: usize = 4;

/// Counters the world keeps between samples and for the headline metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Per-kind successes since the last sample (targets alive when asked).
    interval_ok: BTreeMap<&'static str, u64>,
    /// Per-kind failures since the last sample (targets alive when asked).
    interval_failed: BTreeMap<&'static str, u64>,
    /// Resolve completions: (start time, success) for targets alive when asked, for liveness checks.
    pub resolves: Vec<(Instant, bool)>,
    /// Times when some node reported a split.
    pub split_detected: Vec<Instant>,
    /// Secured names resolved to endpoints their key did not sign.
    pub forged_accepted: u64,
    /// Last leaf-set correctness figure.
    pub leafset_correct: f64,
    /// Publishers (registered names, and names whose registration is overdue) at the last
    /// sample: the denominator of `leafset_correct`, which is 1 (vacuous) when it is 0.
    pub leafset_publishers: u64,
    /// Sum and count of leaf-set correctness samples (for the mean).
    pub leafset_sum: (f64, u64),
    /// Mean cache entries per node at the last sample.
    pub cache_mean: f64,
    /// Mean cache occupancy per level at the last sample.
    pub cache_levels: Vec<f64>,
    /// (succeeded, failed) per operation kind over the whole run (targets alive when asked).
    pub ops_total: BTreeMap<&'static str, (u64, u64)>,
    /// Where the next sample's window of peers starts.
    pub sample_cursor: usize,
    /// Engine counters of engines that have gone offline.
    pub engine: BTreeMap<String, f64>,
}

impl Metrics {
    /// Notes a completed operation.
    pub fn op_done(&mut self, kind: OpKind, started: Instant, ok: bool, target_online: bool) {
        if !target_online {
            return;
        }
        let bucket = if ok {
            &mut self.interval_ok
        } else {
            &mut self.interval_failed
        };
        *bucket.entry(kind.name()).or_default() += 1;
        let total = self.ops_total.entry(kind.name()).or_default();
        if ok {
            total.0 += 1;
        } else {
            total.1 += 1;
        }
        if kind == OpKind::Resolve {
            self.resolves.push((started, ok));
        }
    }
}

impl PnrpProtocol {
    /// Takes one sample now and records it.
    pub(super) fn sample_now(&mut self, core: &mut PCore) {
        let mut levels: Vec<f64> = Vec::new();
        let mut cache_total = 0usize;
        let mut online = 0usize;
        let mut publishers = 0u64;
        let mut correct = 0u64;
        // Oracle comparisons cost O(cache) per peer: a sample looks at a rotating window of at most
        // SAMPLE_PEERS peers, so large runs still cover every peer over a few samples while a
        // sample stays cheap; runs up to SAMPLE_PEERS peers are checked exactly every time.
        let n = core.peers().len();
        let window = n.min(SAMPLE_PEERS);
        let start = self.metrics.sample_cursor % n.max(1);
        self.metrics.sample_cursor = (start + window) % n.max(1);
        for k in 0..window {
            let i = (start + k) % n;
            // Each peer's engine is a cold miss; warm the one a few iterations ahead.
            if k + SAMPLE_PREFETCH_AHEAD < window {
                core.prefetch_peer((i + SAMPLE_PREFETCH_AHEAD) % n);
            }
            let p = &core.peers()[i];
            let Some(node) = p.node() else { continue };
            online += 1;
            // Cache bounds and self entries are checked after every input (invariants.rs).
            for (l, s) in node.cache_level_sizes_iter().enumerate() {
                if levels.len() <= l {
                    levels.resize(l + 1, 0.0);
                }
                levels[l] += s as f64;
            }
            cache_total += node.cache_len();
            if let (None, Some(group)) = (p.data.attacker, p.group()) {
                let cloud = core.plan.groups[group].cloud;
                // A name its owner should be publishing but whose registration is past its
                // deadline counts as a publisher without a correct leaf set: otherwise a cloud
                // where almost no one manages to register would read 100% correct. Ones still
                // within their deadline are left out, like registrations still running below.
                publishers += p
                    .data
                    .ops
                    .values()
                    .filter(|op| op.kind == OpKind::Register && overdue(core, op))
                    .count() as u64;
                for id in node.registered_ids() {
                    if self.oracle.owner_of_id(&id).is_none() {
                        continue; // registration still running
                    }
                    publishers += 1;
                    if let Some((below, above)) = node.leaf_members(id) {
                        if self.oracle.is_true_leaf_set(
                            cloud,
                            id,
                            below.iter().map(|r| r.id),
                            above.iter().map(|r| r.id),
                        ) {
                            correct += 1;
                        }
                    }
                }
            }
        }
        if online > 0 {
            for l in &mut levels {
                *l /= online as f64;
            }
        }
        let leafset_correct = if publishers == 0 {
            1.0
        } else {
            correct as f64 / publishers as f64
        };
        self.metrics.leafset_correct = leafset_correct;
        self.metrics.leafset_publishers = publishers;
        self.check_convergence(core, leafset_correct);
        // Only attackers can plant forged leaf-set entries; honest runs skip the scan.
        if !core.plan.attackers.is_empty() {
            self.check_forged_leaf_entries(core);
        }
        self.metrics.leafset_sum.0 += leafset_correct;
        self.metrics.leafset_sum.1 += 1;
        self.metrics.cache_mean = if online == 0 {
            0.0
        } else {
            cache_total as f64 / online as f64
        };
        self.metrics.cache_levels = levels.clone();
        let names = core.kind_names();
        let traffic = core.traffic();
        let sample = Sample {
            t_us: core.now().as_micros(),
            live_peers: core.live().total(),
            events: core.events(),
            messages: names
                .iter()
                .zip(&traffic.messages)
                .map(|(n, v)| (n.to_string(), *v))
                .collect(),
            bytes: names
                .iter()
                .zip(&traffic.bytes)
                .map(|(n, v)| (n.to_string(), *v))
                .collect(),
            cache_levels: levels,
            leafset_correct,
            ops_ok: std::mem::take(&mut self.metrics.interval_ok)
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            ops_failed: std::mem::take(&mut self.metrics.interval_failed)
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        };
        core.record(Record::Sample(sample));
    }
}
