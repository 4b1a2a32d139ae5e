//! Live aggregation of run records into `summary.json` figures, in bounded memory.
//!
//! The simulator feeds every record to an [`Aggregator`] as the run goes (and `peerlab report`
//! feeds it again from `records.jsonl`); it keeps one HDR histogram per operation kind for latency
//! and one for hops, plus counters, so memory does not grow with the number of operations.

use crate::load::PeerLoads;
use crate::record::{OpRecord, Record};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Significant decimal digits kept by the histograms (relative error 0.1%).
const SIGFIG: u8 = 3;

/// An empty histogram that grows to hold any value it is given, so no figure saturates: a fixed
/// upper bound once clamped hours-long distribution fetches to one hour. Memory still grows only
/// with the logarithm of the largest value.
fn growing_histogram() -> Histogram<u64> {
    let mut h = Histogram::new(SIGFIG).expect("constant precision is valid");
    h.auto(true);
    h
}

/// Run-level figures the records do not hold (wall time, memory), supplied by the simulator.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunInfo {
    /// Scenario name.
    pub scenario: String,
    /// Run seed.
    pub seed: u64,
    /// Fingerprint of every processed event, hex.
    pub fingerprint: String,
    /// Simulated duration, seconds.
    pub sim_duration_s: f64,
    /// Wall-clock duration, seconds (set-up included).
    pub wall_s: f64,
    /// Of `wall_s`, the set-up before the first event (keys, world), seconds.
    pub setup_s: f64,
    /// Events processed.
    pub events: u64,
    /// Peak resident memory, bytes.
    pub peak_rss_bytes: u64,
    /// Most peers alive at once.
    pub peers_max: u64,
    /// Protocol headline figures with dotted names (`pnrp.messages_per_resolve`).
    pub metrics: BTreeMap<String, f64>,
}

/// Outcome of an operation whose asker went offline before it completed.
pub const SOURCE_LEFT: &str = "source_left";
/// Outcome of an operation still open (within its deadline) when the run ended.
pub const UNFINISHED: &str = "unfinished";

/// Four percentiles of a distribution; all zero when nothing was recorded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Maximum.
    pub max: f64,
    /// Arithmetic mean (exact to the histogram's 0.1% precision).
    #[serde(default)]
    pub mean: f64,
}

/// Figures of one operation kind in `summary.json` (`operations.<kind>`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OpSummary {
    /// Operations started: succeeded, failed, asked of an offline target, abandoned because the
    /// asker left (`source_left`) or still open when the run ended (`unfinished`).
    pub started: u64,
    /// Succeeded with the target online.
    pub succeeded: u64,
    /// Failed with the target online.
    pub failed: u64,
    /// `succeeded / (succeeded + failed)`; 1 when no operation counted (nothing failed).
    pub success_ratio: f64,
    /// Operations whose target was offline when asked; not in `succeeded`/`failed`.
    pub target_offline: u64,
    /// Of `target_offline`, those answered correctly: "not found" (or the owner's own endpoint when
    /// it had come back and registered again by the answer).
    #[serde(default)]
    pub target_offline_ok: u64,
    /// Of `target_offline`, those answered wrongly: a stale endpoint (the owner is gone), a
    /// timeout, ...
    #[serde(default)]
    pub target_offline_failed: u64,
    /// Operations whose asker went offline (leave or crash) before they completed; not in
    /// `succeeded`/`failed` nor in `target_offline`.
    #[serde(default)]
    pub source_left: u64,
    /// Operations still open, within their deadline, when the run ended; not in
    /// `succeeded`/`failed`.
    #[serde(default)]
    pub unfinished: u64,
    /// Operations completed within `[output] warmup`: in `started` only, in no other figure.
    #[serde(default)]
    pub warmup: u64,
    /// Failures with the target online, by cause (`timeout`, `not_found`, ...).
    #[serde(default)]
    pub failures: BTreeMap<String, u64>,
    /// Latency of successful operations (target online), milliseconds.
    pub latency_ms: Percentiles,
    /// Hops of successful operations that report hops; absent for kinds without hops.
    #[serde(default)]
    pub hops: Option<Percentiles>,
    /// 95% confidence interval `[low, high]` of `hops.mean` (normal approximation over the
    /// operations, `mean ± 1.96 · sd / √n`); absent without hops or with one operation.
    #[serde(default)]
    pub hops_mean_ci95: Option<[f64; 2]>,
}

/// One `[checks]` verdict, filled by the simulator.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// Check name, e.g. `max_failed_ratio`.
    pub name: String,
    /// Whether the run passed it.
    pub passed: bool,
    /// What was measured against what was allowed.
    pub detail: String,
}

/// Version of the `summary.json` layout (docs/metrics.md); bump it when a key changes meaning or
/// goes away. Version 1 had no `schema_version` key; 2 added it and `violations_by_invariant`.
pub const SUMMARY_SCHEMA_VERSION: u32 = 2;

fn summary_v1() -> u32 {
    1
}

/// The contents of `summary.json`; every key is defined in docs/metrics.md.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Layout version, [`SUMMARY_SCHEMA_VERSION`] when written now (1 for files without it).
    #[serde(default = "summary_v1")]
    pub schema_version: u32,
    /// Scenario name.
    pub scenario: String,
    /// Run seed.
    pub seed: u64,
    /// Fingerprint, hex.
    pub fingerprint: String,
    /// Simulated duration, seconds.
    pub sim_duration_s: f64,
    /// Wall-clock duration, seconds (set-up included).
    pub wall_s: f64,
    /// Of `wall_s`, the set-up before the first event (key generation or loading, building the
    /// world), seconds.
    #[serde(default)]
    pub setup_s: f64,
    /// Events processed.
    pub events: u64,
    /// `events / (wall_s − setup_s)`: simulation speed, set-up left out.
    pub events_per_sec: f64,
    /// Peak resident memory, bytes.
    pub peak_rss_bytes: u64,
    /// Most peers alive at once.
    pub peers_max: u64,
    /// Invariant violations recorded.
    pub violations: u64,
    /// Violations by invariant name.
    #[serde(default)]
    pub violations_by_invariant: BTreeMap<String, u64>,
    /// Per operation kind.
    pub operations: BTreeMap<String, OpSummary>,
    /// Protocol headline figures, dotted names.
    #[serde(default)]
    pub metrics: BTreeMap<String, f64>,
    /// `[checks]` verdicts.
    #[serde(default)]
    pub checks: Vec<CheckResult>,
}

/// Counters and histograms of one operation kind.
#[derive(Clone, Debug)]
pub(crate) struct OpAgg {
    pub(crate) started: u64,
    pub(crate) succeeded: u64,
    pub(crate) failed: u64,
    pub(crate) offline_ok: u64,
    pub(crate) offline_failed: u64,
    pub(crate) source_left: u64,
    pub(crate) unfinished: u64,
    pub(crate) warmup: u64,
    pub(crate) failures: BTreeMap<String, u64>,
    /// Latency of successes, microseconds.
    pub(crate) latency_us: Histogram<u64>,
    /// Hops of successes that report them.
    pub(crate) hops: Histogram<u64>,
}

impl OpAgg {
    fn new() -> Self {
        OpAgg {
            started: 0,
            succeeded: 0,
            failed: 0,
            offline_ok: 0,
            offline_failed: 0,
            source_left: 0,
            unfinished: 0,
            warmup: 0,
            failures: BTreeMap::new(),
            latency_us: growing_histogram(),
            hops: growing_histogram(),
        }
    }

    fn push(&mut self, op: &OpRecord, warmup_us: u64) {
        self.started += 1;
        // The warm-up is left out of every figure (the network is still forming).
        if op.t_us < warmup_us {
            self.warmup += 1;
            return;
        }
        let ok = op.outcome == "ok";
        // Neither says anything about the protocol: the asker went away, or the run ended first.
        // Checked before `target_online`: older records mark `source_left` ones offline too.
        if op.outcome == SOURCE_LEFT {
            self.source_left += 1;
            return;
        }
        if op.outcome == UNFINISHED {
            self.unfinished += 1;
            return;
        }
        if !op.target_online {
            // Ops on an offline target are judged on answering "not found": counted apart.
            if ok {
                self.offline_ok += 1;
            } else {
                self.offline_failed += 1;
            }
            return;
        }
        if !ok {
            self.failed += 1;
            *self.failures.entry(op.outcome.clone()).or_insert(0) += 1;
            return;
        }
        self.succeeded += 1;
        record(&mut self.latency_us, op.latency_us);
        if let Some(hops) = op.hops {
            record(&mut self.hops, u64::from(hops));
        }
    }

    fn summary(&self) -> OpSummary {
        let counted = self.succeeded + self.failed;
        OpSummary {
            started: self.started,
            succeeded: self.succeeded,
            failed: self.failed,
            success_ratio: if counted == 0 {
                1.0
            } else {
                self.succeeded as f64 / counted as f64
            },
            target_offline: self.offline_ok + self.offline_failed,
            target_offline_ok: self.offline_ok,
            target_offline_failed: self.offline_failed,
            source_left: self.source_left,
            unfinished: self.unfinished,
            warmup: self.warmup,
            failures: self.failures.clone(),
            latency_ms: percentiles(&self.latency_us, 1e-3),
            hops: (!self.hops.is_empty()).then(|| percentiles(&self.hops, 1.0)),
            hops_mean_ci95: mean_ci95(&self.hops),
        }
    }
}

/// Records `value`, growing `hist` as needed; only a value beyond the histogram's largest possible
/// range (over 2^62 µs, i.e. input garbage) is clamped, so a hostile record cannot panic.
fn record(hist: &mut Histogram<u64>, value: u64) {
    if hist.record(value).is_err() {
        hist.saturating_record(value);
    }
}

/// The 95% interval of the mean of `hist` (normal approximation: with hundreds of operations the
/// mean of a bounded count is close to normal), clipped at 0; `None` below two values.
fn mean_ci95(hist: &Histogram<u64>) -> Option<[f64; 2]> {
    let n = hist.len();
    if n < 2 {
        return None;
    }
    let half = 1.959_964 * hist.stdev() * (n as f64 / (n - 1) as f64).sqrt() / (n as f64).sqrt();
    Some([(hist.mean() - half).max(0.0), hist.mean() + half])
}

/// Percentiles of `hist`, each value multiplied by `scale`.
fn percentiles(hist: &Histogram<u64>, scale: f64) -> Percentiles {
    if hist.is_empty() {
        return Percentiles::default();
    }
    let at = |q: f64| hist.value_at_quantile(q) as f64 * scale;
    Percentiles {
        p50: at(0.5),
        p90: at(0.9),
        p99: at(0.99),
        max: hist.max() as f64 * scale,
        mean: hist.mean() * scale,
    }
}

/// Folds run records into summary figures in bounded memory.
#[derive(Clone, Debug, Default)]
pub struct Aggregator {
    pub(crate) ops: BTreeMap<String, OpAgg>,
    violations: u64,
    violations_by_invariant: BTreeMap<String, u64>,
    live_peers_max: u64,
    /// `[output] warmup` from the meta record, microseconds.
    warmup_us: u64,
    /// Every peer's traffic over the run (the `load.*` figures).
    pub(crate) load: PeerLoads,
}

impl Aggregator {
    /// An empty aggregator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds one record in; fed live during the run and again when re-reading `records.jsonl`.
    pub fn push(&mut self, record: &Record) {
        match record {
            Record::Op(op) => match self.ops.get_mut(&op.kind) {
                Some(agg) => agg.push(op, self.warmup_us),
                None => {
                    let mut agg = OpAgg::new();
                    agg.push(op, self.warmup_us);
                    self.ops.insert(op.kind.clone(), agg);
                }
            },
            Record::Meta(m) => self.warmup_us = m.warmup_us,
            Record::Violation(v) => {
                self.violations += 1;
                *self
                    .violations_by_invariant
                    .entry(v.invariant.clone())
                    .or_default() += 1;
            }
            Record::Sample(s) => self.live_peers_max = self.live_peers_max.max(s.live_peers),
            Record::PeerLoad(l) => self.load.push(l),
            Record::Phase(_) | Record::End(_) | Record::GraphSample(_) | Record::GraphDelivery(_) => {}
        }
    }

    /// Violations seen so far.
    pub fn violations(&self) -> u64 {
        self.violations
    }

    /// Most live peers in any sample so far (a fallback when the simulator did not track it).
    pub fn live_peers_max(&self) -> u64 {
        self.live_peers_max
    }

    /// The `summary.json` contents: these aggregates plus the run figures in `run` (its metrics
    /// with the `load.*` figures of the peer load records added); `checks` is left empty for the
    /// caller to fill.
    pub fn summary(&self, run: &RunInfo) -> Summary {
        let mut metrics = run.metrics.clone();
        metrics.extend(self.load.metrics());
        Summary {
            schema_version: SUMMARY_SCHEMA_VERSION,
            scenario: run.scenario.clone(),
            seed: run.seed,
            fingerprint: run.fingerprint.clone(),
            sim_duration_s: run.sim_duration_s,
            wall_s: run.wall_s,
            setup_s: run.setup_s,
            events: run.events,
            events_per_sec: if run.wall_s - run.setup_s > 0.0 {
                run.events as f64 / (run.wall_s - run.setup_s)
            } else {
                0.0
            },
            peak_rss_bytes: run.peak_rss_bytes,
            peers_max: run.peers_max,
            violations: self.violations,
            violations_by_invariant: self.violations_by_invariant.clone(),
            operations: self.ops.iter().map(|(k, a)| (k.clone(), a.summary())).collect(),
            metrics,
            checks: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Sample, Violation};

    fn op(kind: &str, outcome: &str, online: bool, latency_us: u64, hops: Option<u32>) -> Record {
        Record::Op(OpRecord {
            target: None,
            t_us: 0,
            kind: kind.into(),
            node: 1,
            outcome: outcome.into(),
            target_online: online,
            latency_us,
            hops,
            messages: 3,
        })
    }

    /// Nearest-rank percentile of sorted `v` (what HDR approximates within its precision).
    fn nearest_rank(v: &[u64], q: f64) -> u64 {
        let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
        v[rank - 1]
    }

    fn close(got: f64, want: f64) -> bool {
        (got - want).abs() <= want.abs() * 2e-3 + 1e-9
    }

    #[test]
    fn percentiles_match_brute_force() {
        // A deterministic, skewed spread of latencies (LCG; no RNG needed for a fixed table).
        let mut x: u64 = 12345;
        let mut lat = Vec::new();
        let mut agg = Aggregator::new();
        for i in 0..20_000u64 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let l = 1_000 + (x >> 33) % 50_000 + if i % 97 == 0 { 2_000_000 } else { 0 };
            lat.push(l);
            agg.push(&op("resolve", "ok", true, l, Some((l % 7) as u32)));
        }
        lat.sort_unstable();
        let s = agg.summary(&RunInfo::default());
        let r = &s.operations["resolve"];
        for (got, q) in [
            (r.latency_ms.p50, 0.5),
            (r.latency_ms.p90, 0.9),
            (r.latency_ms.p99, 0.99),
        ] {
            let want = nearest_rank(&lat, q) as f64 / 1000.0;
            assert!(close(got, want), "q{q}: hdr {got} vs exact {want}");
        }
        assert!(close(r.latency_ms.max, *lat.last().unwrap() as f64 / 1000.0));
        let mut hops: Vec<u64> = lat.iter().map(|l| l % 7).collect();
        hops.sort_unstable();
        let h = r.hops.unwrap();
        assert_eq!(h.p50, nearest_rank(&hops, 0.5) as f64);
        assert_eq!(h.p99, nearest_rank(&hops, 0.99) as f64);
        assert_eq!(h.max, 6.0);
        // Mean hops with its interval, against the exact mean and standard error.
        let n = hops.len() as f64;
        let mean = hops.iter().sum::<u64>() as f64 / n;
        let sd = (hops.iter().map(|h| (*h as f64 - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        assert!(close(h.mean, mean), "{} vs {mean}", h.mean);
        let [lo, hi] = r.hops_mean_ci95.unwrap();
        assert!(close(hi - lo, 2.0 * 1.959_964 * sd / n.sqrt()), "{lo} {hi}");
        assert!(lo < mean && mean < hi);
    }

    #[test]
    fn latencies_over_an_hour_do_not_saturate() {
        // A WAN-only distribution baseline: fetches of four to five hours.
        let mut agg = Aggregator::new();
        let hour_us = 3_600_000_000u64;
        for i in 0..100u64 {
            agg.push(&op("fetch", "ok", true, 4 * hour_us + i * 36_000_000, None));
        }
        agg.push(&op("resolve", "ok", true, 1, Some(70_000)));
        let s = agg.summary(&RunInfo::default());
        let l = s.operations["fetch"].latency_ms;
        let ms = |us: u64| us as f64 / 1000.0;
        assert!(close(l.p50, ms(4 * hour_us + 49 * 36_000_000)), "p50 {}", l.p50);
        assert!(close(l.max, ms(4 * hour_us + 99 * 36_000_000)), "max {}", l.max);
        assert!(l.p50 < l.p99 && l.p99 <= l.max, "{l:?}");
        assert!(close(s.operations["resolve"].hops.unwrap().max, 70_000.0));
        // Garbage beyond any histogram's range is clamped, never a panic.
        agg.push(&op("fetch", "ok", true, u64::MAX, None));
    }

    #[test]
    fn the_warmup_is_left_out_of_every_figure() {
        let mut agg = Aggregator::new();
        agg.push(&Record::Meta(crate::record::Meta {
            schema: 1,
            scenario: "s".into(),
            seed: 1,
            duration_us: 600_000_000,
            version: "x".into(),
            warmup_us: 120_000_000,
        }));
        let at = |t_us: u64, outcome: &str, latency_us: u64| {
            let mut r = op("resolve", outcome, true, latency_us, Some(9));
            if let Record::Op(o) = &mut r {
                o.t_us = t_us;
            }
            r
        };
        agg.push(&at(60_000_000, "timeout", 5_000_000));
        agg.push(&at(119_999_999, "ok", 4_000_000));
        agg.push(&at(120_000_000, "ok", 20_000));
        agg.push(&at(300_000_000, "ok", 30_000));
        let r = &agg.summary(&RunInfo::default()).operations["resolve"];
        assert_eq!((r.started, r.warmup, r.succeeded, r.failed), (4, 2, 2, 0));
        assert_eq!(r.success_ratio, 1.0);
        assert!(close(r.latency_ms.max, 30.0), "warm-up latencies left out");
    }

    #[test]
    fn offline_targets_are_counted_apart() {
        let mut agg = Aggregator::new();
        agg.push(&op("resolve", "ok", true, 10_000, Some(2)));
        agg.push(&op("resolve", "timeout", true, 900_000, None));
        agg.push(&op("resolve", "not_found", true, 5_000, None));
        agg.push(&op("resolve", "not_found", false, 7_000, None));
        agg.push(&op("resolve", "ok", false, 7_000, Some(9)));
        agg.push(&op("register", "ok", true, 3_000, None));
        let s = agg.summary(&RunInfo::default());
        let r = &s.operations["resolve"];
        assert_eq!((r.started, r.succeeded, r.failed), (5, 1, 2));
        assert_eq!(
            (r.target_offline, r.target_offline_ok, r.target_offline_failed),
            (2, 1, 1)
        );
        assert!((r.success_ratio - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(r.failures.get("timeout"), Some(&1));
        assert_eq!(r.failures.get("not_found"), Some(&1));
        // Only the online success shapes latency and hops.
        assert!(close(r.latency_ms.max, 10.0));
        assert_eq!(r.hops.unwrap().max, 2.0);
        assert_eq!(s.operations["register"].hops, None);
    }

    #[test]
    fn source_left_and_unfinished_are_counted_apart_from_offline_targets() {
        let mut agg = Aggregator::new();
        agg.push(&op("resolve", "ok", true, 10_000, Some(2)));
        agg.push(&op("resolve", "timeout", true, 900_000, None));
        agg.push(&op("resolve", SOURCE_LEFT, true, 5_000, None));
        // Records written before source_left had its own column marked the target offline.
        agg.push(&op("resolve", SOURCE_LEFT, false, 5_000, None));
        agg.push(&op("resolve", UNFINISHED, true, 7_000, None));
        agg.push(&op("resolve", "not_found", false, 7_000, None));
        let r = &agg.summary(&RunInfo::default()).operations["resolve"];
        assert_eq!((r.started, r.succeeded, r.failed), (6, 1, 1));
        assert_eq!((r.source_left, r.unfinished, r.target_offline), (2, 1, 1));
        assert_eq!(r.success_ratio, 0.5);
        assert!(!r.failures.contains_key(SOURCE_LEFT));
    }

    #[test]
    fn summary_carries_run_info_and_counts_violations() {
        let mut agg = Aggregator::new();
        agg.push(&Record::Violation(Violation {
            seed: 3,
            t_us: 1,
            event_index: 2,
            node: 4,
            invariant: "x".into(),
            detail: "y".into(),
        }));
        agg.push(&Record::Sample(Sample {
            live_peers: 40,
            ..Sample::default()
        }));
        let run = RunInfo {
            scenario: "s".into(),
            seed: 3,
            fingerprint: "00ff".into(),
            wall_s: 2.0,
            events: 1000,
            ..RunInfo::default()
        };
        let s = agg.summary(&run);
        assert_eq!(s.violations, 1);
        assert_eq!(s.violations_by_invariant.get("x"), Some(&1));
        assert_eq!(s.schema_version, SUMMARY_SCHEMA_VERSION);
        assert_eq!(s.events_per_sec, 500.0);
        // Set-up time is not simulation time.
        let s = agg.summary(&RunInfo {
            setup_s: 1.5,
            ..run.clone()
        });
        assert_eq!((s.setup_s, s.events_per_sec), (1.5, 2000.0));
        assert_eq!(agg.live_peers_max(), 40);
        let json = serde_json::to_value(&s).unwrap();
        for key in [
            "scenario",
            "seed",
            "fingerprint",
            "sim_duration_s",
            "wall_s",
            "events",
            "events_per_sec",
            "peak_rss_bytes",
            "peers_max",
            "violations",
            "operations",
            "metrics",
            "checks",
        ] {
            assert!(json.get(key).is_some(), "summary.json lacks {key}");
        }
        let back: Summary = serde_json::from_value(json).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn no_ops_means_vacuous_success_and_zero_percentiles() {
        let mut agg = Aggregator::new();
        agg.push(&op("resolve", "timeout", false, 1, None));
        let r = &agg.summary(&RunInfo::default()).operations["resolve"];
        assert_eq!(r.success_ratio, 1.0);
        assert_eq!(r.latency_ms, Percentiles::default());
    }
}
