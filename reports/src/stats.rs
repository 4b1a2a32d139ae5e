//! Statistics across runs (seeds of one scenario): mean with a 95% confidence interval.

use crate::aggregate::Summary;
use crate::interval::{bootstrap, student, wilson};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use crate::interval::t975;

/// Mean of a figure over runs with its 95% confidence interval `[lo, hi]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MeanCi {
    /// Runs that measured the figure.
    pub n: usize,
    /// Sample mean.
    pub mean: f64,
    /// Lower end of the 95% interval; equal to `mean` when `n < 2` (no spread to estimate).
    pub lo: f64,
    /// Upper end of the 95% interval; equal to `mean` when `n < 2`.
    pub hi: f64,
}

impl MeanCi {
    /// Lower end of the interval.
    pub fn low(&self) -> f64 {
        self.lo
    }
    /// Upper end of the interval.
    pub fn high(&self) -> f64 {
        self.hi
    }
    /// Whether there is an interval at all (two runs or more).
    pub fn has_interval(&self) -> bool {
        self.n >= 2 && self.lo.is_finite() && self.hi.is_finite()
    }
    /// The mean alone, `n` runs, no interval.
    fn point(n: usize, mean: f64) -> Self {
        MeanCi {
            n,
            mean,
            lo: mean,
            hi: mean,
        }
    }
}

/// Finite values of `values`, or the empty-input answer.
fn finite(values: &[f64]) -> Result<Vec<f64>, MeanCi> {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    match v.len() {
        0 => Err(MeanCi::point(0, f64::NAN)),
        1 => Err(MeanCi::point(1, v[0])),
        _ => Ok(v),
    }
}

/// Mean and 95% confidence interval (Student's t) of `values`; non-finite values are ignored.
pub fn mean_ci95(values: &[f64]) -> MeanCi {
    let v = match finite(values) {
        Ok(v) => v,
        Err(ci) => return ci,
    };
    let (lo, hi) = student(&v);
    MeanCi {
        n: v.len(),
        mean: v.iter().sum::<f64>() / v.len() as f64,
        lo,
        hi,
    }
}

/// Mean and 95% interval of the figure `name` over runs, kept inside the figure's range: a
/// percentile bootstrap (seeded by the name, so deterministic) when no value is negative, Student's
/// t otherwise; for a success ratio, `pooled = (successes, trials)` over all runs widens the
/// interval to cover Wilson's, so 100% in every run still shows the uncertainty of its count.
pub fn figure_ci(name: &str, values: &[f64], pooled: Option<(u64, u64)>) -> MeanCi {
    let v = match finite(values) {
        Ok(v) => v,
        Err(ci) => return ci,
    };
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let (mut lo, mut hi) = if v.iter().all(|x| *x >= 0.0) {
        bootstrap(&v, name)
    } else {
        student(&v)
    };
    if let Some((ok, trials)) = pooled.filter(|p| p.1 > 0) {
        let (wl, wh) = wilson(ok, trials);
        lo = lo.min(wl);
        hi = hi.max(wh);
    }
    MeanCi {
        n: v.len(),
        mean,
        lo: lo.min(mean),
        hi: hi.max(mean),
    }
}

/// Figures that are measured only when something happened (a partition, a heal, an operation of
/// that kind); a run without them did not measure them, so it is left out of their mean. Every
/// other figure absent from a run is a counter the simulator omits at zero, and counts as 0.
fn measured_only_when_present(name: &str) -> bool {
    const CONDITIONAL: [&str; 4] = [
        "pnrp.leafset_correct_mean",
        "pnrp.resolve_success_during_partition",
        "pnrp.split_detect_after_heal_s",
        "pnrp.recovery_after_heal_s",
    ];
    CONDITIONAL.contains(&name)
        || name.ends_with(".success_ratio")
        || name.contains(".latency_ms.")
        || name.contains(".hops.")
}

/// Headline figures of a summary as flat dotted names (`resolve.success_ratio`,
/// `resolve.latency_ms.p99`, `events_per_sec`, `pnrp.messages_per_resolve`, ...).
pub fn headline_figures(s: &Summary) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    out.insert("violations".to_string(), s.violations as f64);
    out.insert("events_per_sec".to_string(), s.events_per_sec);
    out.insert("wall_s".to_string(), s.wall_s);
    out.insert("peak_rss_bytes".to_string(), s.peak_rss_bytes as f64);
    out.insert("peers_max".to_string(), s.peers_max as f64);
    for (kind, o) in &s.operations {
        out.insert(format!("{kind}.success_ratio"), o.success_ratio);
        out.insert(format!("{kind}.failed"), o.failed as f64);
        for (p, v) in [
            ("p50", o.latency_ms.p50),
            ("p90", o.latency_ms.p90),
            ("p99", o.latency_ms.p99),
        ] {
            out.insert(format!("{kind}.latency_ms.{p}"), v);
        }
        out.insert(format!("{kind}.latency_ms.mean"), o.latency_ms.mean);
        if let Some(h) = o.hops {
            out.insert(format!("{kind}.hops.mean"), h.mean);
            out.insert(format!("{kind}.hops.p50"), h.p50);
            out.insert(format!("{kind}.hops.p90"), h.p90);
        }
    }
    for (k, v) in &s.metrics {
        out.insert(k.clone(), *v);
    }
    out
}

/// Every headline figure's values over `summaries`, one per run that has it. A counter absent
/// from a run's summary (the simulator omits zero counters) counts as 0 there; a figure measured
/// only when something happened (see `measured_only_when_present`) is left out instead.
pub fn figure_values(summaries: &[Summary]) -> BTreeMap<String, Vec<f64>> {
    figure_values_of(summaries, &std::collections::BTreeSet::new())
}

/// [`figure_values`] with `also` named too: a sweep passes every figure any of its runs has, so
/// a counter no run at one value reports is 0 there rather than missing.
pub(crate) fn figure_values_of(
    summaries: &[Summary],
    also: &std::collections::BTreeSet<String>,
) -> BTreeMap<String, Vec<f64>> {
    let per_run: Vec<BTreeMap<String, f64>> = summaries.iter().map(headline_figures).collect();
    let mut names: std::collections::BTreeSet<&String> = per_run.iter().flat_map(|f| f.keys()).collect();
    names.extend(also.iter());
    names
        .into_iter()
        .map(|name| {
            let values = per_run
                .iter()
                .filter_map(|f| match f.get(name) {
                    Some(v) => Some(*v),
                    None if measured_only_when_present(name) => None,
                    None => Some(0.0),
                })
                .collect();
            (name.clone(), values)
        })
        .collect()
}

/// Mean and 95% interval of every headline figure over `summaries` (e.g. the seeds of
/// `--seeds 1..20`), from [`figure_values`] (so `n` counts runs with a zero counter too); see
/// [`figure_ci`] for the intervals.
pub fn across_runs(summaries: &[Summary]) -> BTreeMap<String, MeanCi> {
    across_runs_of(summaries, &std::collections::BTreeSet::new())
}

/// [`across_runs`] over the figures of `summaries` and those named in `also`.
pub(crate) fn across_runs_of(
    summaries: &[Summary],
    also: &std::collections::BTreeSet<String>,
) -> BTreeMap<String, MeanCi> {
    figure_values_of(summaries, also)
        .into_iter()
        .filter(|(_, values)| !values.is_empty())
        .map(|(name, values)| {
            let pooled = name.strip_suffix(".success_ratio").map(|kind| {
                summaries
                    .iter()
                    .filter_map(|s| s.operations.get(kind))
                    .fold((0, 0), |(ok, all), o| {
                        (ok + o.succeeded, all + o.succeeded + o.failed)
                    })
            });
            let ci = figure_ci(&name, &values, pooled);
            (name, ci)
        })
        .collect()
}

/// Figures about the machine that ran the simulation, not the protocol: reported apart and never
/// called better or worse between runs.
pub fn is_host_figure(name: &str) -> bool {
    matches!(
        name,
        "wall_s" | "setup_s" | "sim_wall_s" | "events_per_sec" | "peak_rss_bytes"
    )
}

/// Whether a larger value of the figure `name` is better (`Some(true)`), worse (`Some(false)`), or
/// neither is known (`None`), judged from its name.
pub fn higher_is_better(name: &str) -> Option<bool> {
    let n = name.to_ascii_lowercase();
    let good = [
        "success",
        "correct",
        "events_per_sec",
        "throughput",
        "availability",
        "hit_ratio",
    ];
    let bad = [
        "latency",
        "failed",
        "violation",
        "wall_s",
        "rss",
        "bytes",
        "messages",
        "hops",
        "stale",
        "timeout",
        "_ms",
        "overhead",
    ];
    if good.iter().any(|g| n.contains(g)) {
        Some(true)
    } else if bad.iter().any(|b| n.contains(b)) {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::{OpSummary, Percentiles};

    #[test]
    fn ci_matches_a_hand_computation() {
        // mean 5, sample sd sqrt(10/4*...): values 2,4,4,4,5,5,7,9 → mean 5, s^2 = 32/7.
        let v = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let ci = mean_ci95(&v);
        assert_eq!(ci.n, 8);
        assert!((ci.mean - 5.0).abs() < 1e-12);
        let want = 2.365 * (32.0f64 / 7.0 / 8.0).sqrt();
        assert!((ci.hi - 5.0 - want).abs() < 1e-9, "{} vs {want}", ci.hi - 5.0);
        assert!(ci.low() < 5.0 && ci.high() > 5.0);
    }

    #[test]
    fn degenerate_inputs() {
        let one = mean_ci95(&[3.0]);
        assert_eq!((one.n, one.mean, one.lo, one.hi), (1, 3.0, 3.0, 3.0));
        assert!(!one.has_interval());
        assert!(mean_ci95(&[]).mean.is_nan());
        let same = mean_ci95(&[1.0, f64::NAN, 1.0]);
        assert_eq!((same.n, same.lo, same.hi), (2, 1.0, 1.0));
    }

    #[test]
    fn across_runs_flattens_operations_and_metrics() {
        let mk = |ratio: f64| {
            let mut s = Summary::default();
            s.operations.insert(
                "resolve".into(),
                OpSummary {
                    success_ratio: ratio,
                    latency_ms: Percentiles {
                        p50: 1.0,
                        p90: 2.0,
                        p99: 3.0,
                        max: 4.0,
                        ..Percentiles::default()
                    },
                    ..OpSummary::default()
                },
            );
            s.metrics.insert("pnrp.messages_per_resolve".into(), ratio * 10.0);
            s
        };
        let m = across_runs(&[mk(0.9), mk(1.0)]);
        assert!((m["resolve.success_ratio"].mean - 0.95).abs() < 1e-12);
        assert_eq!(m["resolve.success_ratio"].n, 2);
        assert!((m["pnrp.messages_per_resolve"].mean - 9.5).abs() < 1e-12);
        assert_eq!(m["resolve.latency_ms.p99"].lo, 3.0);
    }

    #[test]
    fn a_counter_missing_from_one_seed_counts_as_zero() {
        // Eight seeds; the simulator omits a zero counter, so only seed 1 has it.
        let runs: Vec<Summary> = (0..8)
            .map(|seed| {
                let mut s = Summary::default();
                if seed == 0 {
                    s.metrics.insert("pnrp.engine.drops.bad_signature".into(), 8.0);
                }
                s.metrics.insert("pnrp.split_detections".into(), 1.0);
                if seed < 3 {
                    s.metrics.insert("pnrp.recovery_after_heal_s".into(), 30.0);
                }
                s
            })
            .collect();
        let m = across_runs(&runs);
        let drops = m["pnrp.engine.drops.bad_signature"];
        assert_eq!((drops.n, drops.mean), (8, 1.0));
        assert!(drops.lo >= 0.0 && drops.lo < 1.0 && drops.hi > 1.0, "{drops:?}");
        // A figure only measured after a heal is averaged over the runs that measured it.
        assert_eq!(m["pnrp.recovery_after_heal_s"].n, 3);
    }

    #[test]
    fn ratio_intervals_stay_in_range() {
        let runs: Vec<Summary> = [1.0, 1.0, 0.5]
            .iter()
            .map(|r| {
                let mut s = Summary::default();
                let ok = (r * 10.0) as u64;
                s.operations.insert(
                    "resolve".into(),
                    OpSummary {
                        succeeded: ok,
                        failed: 10 - ok,
                        success_ratio: *r,
                        ..OpSummary::default()
                    },
                );
                s
            })
            .collect();
        let ci = across_runs(&runs)["resolve.success_ratio"];
        assert!(
            ci.lo >= 0.0 && ci.hi <= 1.0 && ci.lo < ci.mean && ci.mean < ci.hi,
            "{ci:?}"
        );
        // All seeds at 100%: the interval still reflects 30 trials (Wilson), not a zero width.
        let all: Vec<Summary> = (0..3).map(|_| runs[0].clone()).collect();
        let ci = across_runs(&all)["resolve.success_ratio"];
        assert!(ci.hi == 1.0 && ci.lo < 0.9, "{ci:?}");
    }

    #[test]
    fn direction_of_figures() {
        assert_eq!(higher_is_better("resolve.success_ratio"), Some(true));
        assert_eq!(higher_is_better("resolve.latency_ms.p99"), Some(false));
        assert_eq!(higher_is_better("pnrp.messages_per_resolve"), Some(false));
        assert_eq!(higher_is_better("peers_max"), None);
    }
}
