//! Statistics across runs (seeds of one scenario): mean with a 95% confidence interval.

use crate::aggregate::Summary;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Two-sided 97.5% quantiles of Student's t for 1..=30 degrees of freedom.
const T975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
    2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/// Student's t quantile for a two-sided 95% interval with `df` degrees of freedom.
pub fn t975(df: usize) -> f64 {
    match df {
        0 => f64::INFINITY,
        1..=30 => T975[df - 1],
        // Beyond the table, t approaches the normal quantile; this series is within 1e-3 of it.
        _ => 1.959_964 + 2.372 / df as f64 + 2.8 / (df * df) as f64,
    }
}

/// Mean of a metric over runs with the half width of its 95% confidence interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MeanCi {
    /// Runs.
    pub n: usize,
    /// Sample mean.
    pub mean: f64,
    /// Half width of the 95% interval (Student's t); 0 for a single run.
    pub half_width: f64,
}

impl MeanCi {
    /// Lower end of the interval.
    pub fn low(&self) -> f64 {
        self.mean - self.half_width
    }
    /// Upper end of the interval.
    pub fn high(&self) -> f64 {
        self.mean + self.half_width
    }
}

/// Mean and 95% confidence interval (Student's t) of `values`; non-finite values are ignored.
pub fn mean_ci95(values: &[f64]) -> MeanCi {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    let n = v.len();
    if n == 0 {
        return MeanCi {
            n: 0,
            mean: f64::NAN,
            half_width: f64::NAN,
        };
    }
    let mean = v.iter().sum::<f64>() / n as f64;
    if n == 1 {
        // One run gives no spread estimate; say so with a zero width rather than infinity.
        return MeanCi {
            n,
            mean,
            half_width: 0.0,
        };
    }
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    MeanCi {
        n,
        mean,
        half_width: t975(n - 1) * (var / n as f64).sqrt(),
    }
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
        if let Some(h) = o.hops {
            out.insert(format!("{kind}.hops.p50"), h.p50);
            out.insert(format!("{kind}.hops.p90"), h.p90);
        }
    }
    for (k, v) in &s.metrics {
        out.insert(k.clone(), *v);
    }
    out
}

/// Mean and 95% CI of every headline figure over `summaries` (e.g. the seeds of `--seeds 1..20`).
pub fn across_runs(summaries: &[Summary]) -> BTreeMap<String, MeanCi> {
    let mut values: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for s in summaries {
        for (k, v) in headline_figures(s) {
            values.entry(k).or_default().push(v);
        }
    }
    values.into_iter().map(|(k, v)| (k, mean_ci95(&v))).collect()
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
        assert!((ci.half_width - want).abs() < 1e-9, "{} vs {want}", ci.half_width);
        assert!(ci.low() < 5.0 && ci.high() > 5.0);
    }

    #[test]
    fn degenerate_inputs() {
        assert_eq!(
            mean_ci95(&[3.0]),
            MeanCi {
                n: 1,
                mean: 3.0,
                half_width: 0.0
            }
        );
        assert!(mean_ci95(&[]).mean.is_nan());
        assert_eq!(mean_ci95(&[1.0, f64::NAN, 1.0]).half_width, 0.0);
        // The large-df approximation joins the table smoothly and tends to 1.96.
        assert!((t975(31) - 2.040).abs() < 2e-3);
        assert!((t975(1000) - 1.962).abs() < 1e-3);
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
        assert_eq!(m["resolve.latency_ms.p99"].half_width, 0.0);
    }

    #[test]
    fn direction_of_figures() {
        assert_eq!(higher_is_better("resolve.success_ratio"), Some(true));
        assert_eq!(higher_is_better("resolve.latency_ms.p99"), Some(false));
        assert_eq!(higher_is_better("pnrp.messages_per_resolve"), Some(false));
        assert_eq!(higher_is_better("peers_max"), None);
    }
}
