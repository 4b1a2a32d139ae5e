//! Time series and run details collected from a stream of records, in bounded memory.
//!
//! Samples are kept at a stride that doubles whenever [`MAX_POINTS`] would be exceeded; since
//! message, byte and operation counts are stored cumulatively, a thinned series still gives exact
//! rates and ratios over its (longer) intervals.

use crate::aggregate::Aggregator;
use crate::record::{End, Meta, Phase, Record, Sample, Violation};
use std::collections::BTreeMap;

/// Most points kept per time series; beyond it the series is thinned by half.
pub const MAX_POINTS: usize = 2048;
/// Most violations listed in a report; the summary still counts all of them.
pub const MAX_LISTED_VIOLATIONS: usize = 200;
/// Most phases kept for shading (faults and churn waves are few; attackers could be many).
pub const MAX_PHASES: usize = 256;

/// Sampled series, all of one length (one entry per kept sample).
#[derive(Clone, Debug, Default)]
pub struct Series {
    /// Sample times, seconds.
    pub t_s: Vec<f64>,
    /// Live peers.
    pub live_peers: Vec<f64>,
    /// Fraction of publishers with correct leaf sets.
    pub leafset_correct: Vec<f64>,
    /// Messages sent so far, by type.
    pub messages: BTreeMap<String, Vec<f64>>,
    /// Bytes sent so far, by type.
    pub bytes: BTreeMap<String, Vec<f64>>,
    /// Operations succeeded so far (targets online), by kind.
    pub ops_ok: BTreeMap<String, Vec<f64>>,
    /// Operations failed so far (targets online), by kind.
    pub ops_failed: BTreeMap<String, Vec<f64>>,
}

impl Series {
    fn len(&self) -> usize {
        self.t_s.len()
    }

    /// Drops every odd-indexed point of every series (the first point survives).
    fn thin(&mut self) {
        fn half(v: &mut Vec<f64>) {
            let mut i = 0;
            v.retain(|_| {
                i += 1;
                i % 2 == 1
            });
        }
        half(&mut self.t_s);
        half(&mut self.live_peers);
        half(&mut self.leafset_correct);
        for map in [
            &mut self.messages,
            &mut self.bytes,
            &mut self.ops_ok,
            &mut self.ops_failed,
        ] {
            map.values_mut().for_each(half);
        }
    }

    /// Appends one point; cumulative maps missing a key repeat its previous value.
    fn push(&mut self, s: &Sample, ok: &BTreeMap<String, f64>, failed: &BTreeMap<String, f64>) {
        let n = self.len();
        self.t_s.push(s.t_us as f64 / 1e6);
        self.live_peers.push(s.live_peers as f64);
        self.leafset_correct.push(s.leafset_correct);
        let msgs = s.messages.iter().map(|(k, v)| (k, *v as f64));
        push_cumulative(&mut self.messages, n, msgs);
        push_cumulative(&mut self.bytes, n, s.bytes.iter().map(|(k, v)| (k, *v as f64)));
        push_cumulative(&mut self.ops_ok, n, ok.iter().map(|(k, v)| (k, *v)));
        push_cumulative(&mut self.ops_failed, n, failed.iter().map(|(k, v)| (k, *v)));
    }
}

/// Pushes point `n` of every series in `map`, creating new keys with zeros before `n`.
fn push_cumulative<'a>(
    map: &mut BTreeMap<String, Vec<f64>>,
    n: usize,
    values: impl Iterator<Item = (&'a String, f64)>,
) {
    for (key, value) in values {
        let v = map.entry(key.clone()).or_insert_with(|| vec![0.0; n]);
        v.push(value);
    }
    for v in map.values_mut() {
        if v.len() == n {
            let last = v.last().copied().unwrap_or(0.0);
            v.push(last);
        }
    }
}

/// Everything a report shows, gathered in one pass over the records.
#[derive(Clone, Debug, Default)]
pub struct RunData {
    /// Summary aggregates (histograms and counters).
    pub agg: Aggregator,
    /// The `meta` record, if present.
    pub meta: Option<Meta>,
    /// The `end` record, if present.
    pub end: Option<End>,
    /// Shaded periods, at most [`MAX_PHASES`].
    pub phases: Vec<Phase>,
    /// The first [`MAX_LISTED_VIOLATIONS`] violations.
    pub violations: Vec<Violation>,
    /// Sampled time series.
    pub series: Series,
    /// Sum over samples of mean cache entries per level (for the time average).
    pub cache_sum: Vec<f64>,
    /// Samples that contributed to `cache_sum`.
    pub cache_samples: u64,
    /// Cache entries per level in the last sample.
    pub cache_last: Vec<f64>,
    /// Peer Graphing samples and deliveries (empty for other protocols).
    pub graph: crate::graph_figures::GraphData,
    stride: u64,
    seen: u64,
    ok_total: BTreeMap<String, f64>,
    failed_total: BTreeMap<String, f64>,
    pending: Option<Sample>,
}

impl RunData {
    /// An empty collector.
    pub fn new() -> Self {
        RunData {
            stride: 1,
            ..Self::default()
        }
    }

    /// Folds one record in.
    pub fn push(&mut self, record: &Record) {
        self.agg.push(record);
        match record {
            Record::Meta(m) => self.meta = Some(m.clone()),
            Record::End(e) => self.end = Some(e.clone()),
            Record::Phase(p) if self.phases.len() < MAX_PHASES => self.phases.push(p.clone()),
            Record::Violation(v) if self.violations.len() < MAX_LISTED_VIOLATIONS => {
                self.violations.push(v.clone())
            }
            Record::Sample(s) => self.push_sample(s),
            Record::GraphSample(g) => self.graph.samples.push(g.clone()),
            Record::GraphDelivery(d) => self.graph.push_delivery(d),
            _ => {}
        }
    }

    fn push_sample(&mut self, s: &Sample) {
        for (k, v) in &s.ops_ok {
            *self.ok_total.entry(k.clone()).or_insert(0.0) += *v as f64;
        }
        for (k, v) in &s.ops_failed {
            *self.failed_total.entry(k.clone()).or_insert(0.0) += *v as f64;
        }
        if self.cache_sum.len() < s.cache_levels.len() {
            self.cache_sum.resize(s.cache_levels.len(), 0.0);
        }
        for (sum, v) in self.cache_sum.iter_mut().zip(&s.cache_levels) {
            *sum += v;
        }
        self.cache_samples += 1;
        self.cache_last.clone_from(&s.cache_levels);
        // The stride is a power of two, so a mask selects every stride-th sample.
        let take = self.seen & (self.stride.max(1) - 1) == 0;
        self.seen += 1;
        if take {
            if self.series.len() >= MAX_POINTS {
                self.series.thin();
                self.stride = self.stride.max(1) * 2;
            }
            self.series.push(s, &self.ok_total, &self.failed_total);
            self.pending = None;
        } else {
            // Keep the latest skipped sample so the series always ends at the last one.
            self.pending = Some(s.clone());
        }
    }

    /// Closes the stream: appends the last sample if thinning skipped it.
    pub fn finish(&mut self) {
        if let Some(s) = self.pending.take() {
            self.series.push(&s, &self.ok_total, &self.failed_total);
        }
    }

    /// Time average of mean cache entries per level.
    pub fn cache_mean(&self) -> Vec<f64> {
        let n = self.cache_samples.max(1) as f64;
        self.cache_sum.iter().map(|s| s / n).collect()
    }

    /// Simulated end of the run in seconds: the end record, else meta's duration, else the last sample.
    pub fn end_s(&self) -> f64 {
        if let Some(e) = &self.end {
            return e.t_us as f64 / 1e6;
        }
        if let Some(m) = &self.meta {
            return m.duration_us as f64 / 1e6;
        }
        self.series.t_s.last().copied().unwrap_or(0.0)
    }
}

/// Per-interval rate of a cumulative series: `(t_i, (c_i - c_{i-1}) / (t_i - t_{i-1}))`.
pub fn rates(t_s: &[f64], cumulative: &[f64]) -> Vec<(f64, f64)> {
    t_s.windows(2)
        .zip(cumulative.windows(2))
        .filter(|(t, _)| t[1] > t[0])
        .map(|(t, c)| (t[1], (c[1] - c[0]).max(0.0) / (t[1] - t[0])))
        .collect()
}

/// Per-interval success ratio from cumulative ok/failed counts; intervals with no operation are
/// `NaN` (a gap in the plot, not a drop to zero).
pub fn success_ratios(t_s: &[f64], ok: &[f64], failed: &[f64]) -> Vec<(f64, f64)> {
    (1..t_s.len().min(ok.len()).min(failed.len()))
        .map(|i| {
            let dok = ok[i] - ok[i - 1];
            let dfail = failed[i] - failed[i - 1];
            let n = dok + dfail;
            (t_s[i], if n > 0.0 { dok / n } else { f64::NAN })
        })
        .collect()
}

/// Element-wise sum of equally long series.
pub fn sum_series<'a>(series: impl Iterator<Item = &'a Vec<f64>>, len: usize) -> Vec<f64> {
    let mut out = vec![0.0; len];
    for s in series {
        for (o, v) in out.iter_mut().zip(s) {
            *o += v;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(i: u64) -> Record {
        let mut s = Sample {
            t_us: i * 1_000_000,
            live_peers: 10 + i,
            ..Sample::default()
        };
        s.messages.insert("ping".into(), i * 10);
        if i >= 3 {
            s.messages.insert("late".into(), (i - 3) * 2);
        }
        s.ops_ok.insert("resolve".into(), 3);
        s.ops_failed.insert("resolve".into(), 1);
        s.cache_levels = vec![i as f64, 1.0];
        Record::Sample(s)
    }

    #[test]
    fn late_keys_are_backfilled_and_rates_are_per_second() {
        let mut d = RunData::new();
        (0..6).for_each(|i| d.push(&sample(i)));
        d.finish();
        let s = &d.series;
        assert_eq!(s.t_s.len(), 6);
        assert_eq!(s.messages["late"], vec![0.0, 0.0, 0.0, 0.0, 2.0, 4.0]);
        assert!(rates(&s.t_s, &s.messages["ping"]).iter().all(|&(_, r)| r == 10.0));
        let ratios = success_ratios(&s.t_s, &s.ops_ok["resolve"], &s.ops_failed["resolve"]);
        assert_eq!(ratios.len(), 5);
        assert!(ratios.iter().all(|&(_, r)| r == 0.75));
        assert_eq!(d.cache_last, vec![5.0, 1.0]);
        assert_eq!(d.cache_mean(), vec![2.5, 1.0]);
    }

    #[test]
    fn thinning_bounds_points_and_keeps_totals_exact() {
        let mut d = RunData::new();
        let n = (MAX_POINTS as u64) * 5 + 3;
        (0..n).for_each(|i| d.push(&sample(i)));
        d.finish();
        let s = &d.series;
        assert!(s.t_s.len() <= MAX_POINTS + 1, "{} points", s.t_s.len());
        assert!(s.t_s.len() > MAX_POINTS / 4);
        assert_eq!(*s.t_s.last().unwrap(), (n - 1) as f64, "the last sample is kept");
        assert_eq!(*s.ops_ok["resolve"].last().unwrap(), 3.0 * n as f64);
        for v in s.messages.values().chain(s.ops_failed.values()) {
            assert_eq!(v.len(), s.t_s.len());
        }
        // Rates stay exact over the longer intervals.
        assert!(rates(&s.t_s, &s.messages["ping"])
            .iter()
            .all(|&(_, r)| (r - 10.0).abs() < 1e-9));
    }

    #[test]
    fn intervals_without_operations_are_gaps() {
        let r = success_ratios(&[0.0, 1.0, 2.0], &[0.0, 0.0, 1.0], &[0.0, 0.0, 1.0]);
        assert!(r[0].1.is_nan());
        assert_eq!(r[1].1, 0.5);
    }
}
