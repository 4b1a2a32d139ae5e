//! The report's plots, built from one run or overlaid from several (compare).
//!
//! Each builder returns a [`Figure`]: a titled SVG, or a note saying why there is nothing to draw
//! (a run without leaf-set checks, an operation kind without hops), so no empty chart is shown.

use crate::aggregate::Summary;
use crate::error::ReportError;
use crate::plot::{bar_chart, line_chart, Band, Bars, Line, LineChart};
use crate::series::{rates, success_ratios, sum_series, RunData};
use hdrhistogram::Histogram;

/// Message types drawn individually; the rest are summed into `other`.
const TOP_TYPES: usize = 8;
/// Quantile steps of a drawn CDF.
const CDF_STEPS: u32 = 400;

/// One run as the page shows it.
pub struct RunView {
    /// Legend label (`scenario seed 7`, or the directory name when that is ambiguous).
    pub label: String,
    /// Everything streamed from `records.jsonl`.
    pub data: RunData,
    /// `summary.json` (or one recomputed from the records).
    pub summary: Summary,
    /// The `--set key=value` overrides the run was made with (a sweep's parameter among them),
    /// in command-line order.
    pub params: Vec<(String, String)>,
}

/// A plot on the page.
pub struct Figure {
    /// Title (also the SVG caption).
    pub title: String,
    /// The SVG, or `None` when there is no data.
    pub svg: Option<String>,
    /// A sentence under the plot (what it shows, or why it is empty).
    pub note: String,
}

impl Figure {
    pub(crate) fn new(title: &str, svg: Option<String>, note: &str) -> Self {
        Figure {
            title: title.to_string(),
            svg,
            note: note.to_string(),
        }
    }
}

pub(crate) fn line_figure(chart: LineChart, note: &str, empty: &str) -> Result<Figure, ReportError> {
    if chart.has_data() {
        let svg = line_chart(&chart)?;
        Ok(Figure::new(&chart.title, Some(svg), note))
    } else {
        Ok(Figure::new(&chart.title, None, empty))
    }
}

/// Names a line of `run` for `what`: just `what` for one run, the run label when overlaying.
pub(crate) fn name(runs: &[RunView], run: &RunView, what: &str) -> String {
    match (runs.len(), what.is_empty()) {
        (1, _) => what.to_string(),
        (_, true) => run.label.clone(),
        _ => format!("{} · {what}", run.label),
    }
}

/// Names the only line of `run`: `what` for one run, the run label alone when overlaying.
fn one_per_run(runs: &[RunView], run: &RunView, what: &str) -> String {
    if runs.len() == 1 {
        what.to_string()
    } else {
        run.label.clone()
    }
}

/// `(t, cumulative)` with a zero origin prepended, so the first interval starts at t = 0.
pub fn with_origin(t: &[f64], c: &[f64]) -> (Vec<f64>, Vec<f64>) {
    if t.first().is_some_and(|&t0| t0 > 0.0) {
        (
            std::iter::once(0.0).chain(t.iter().copied()).collect(),
            std::iter::once(0.0).chain(c.iter().copied()).collect(),
        )
    } else {
        (t.to_vec(), c.to_vec())
    }
}

/// Shaded phases of every run (deduplicated, since compared runs usually share a scenario).
pub(crate) fn bands(runs: &[RunView]) -> Vec<Band> {
    let mut out: Vec<Band> = Vec::new();
    for r in runs {
        for p in &r.data.phases {
            let b = Band {
                kind: p.kind.clone(),
                start: p.start_us as f64 / 1e6,
                end: p.end_us as f64 / 1e6,
            };
            if !out
                .iter()
                .any(|o| o.kind == b.kind && o.start == b.start && o.end == b.end)
            {
                out.push(b);
            }
        }
    }
    out
}

/// Time of the last sample at which anything happened in `run`: an operation completed, a message
/// was sent, or a phase (fault, churn, attack) ended; the run's end when there are no samples.
pub(crate) fn activity_end_s(run: &RunView) -> f64 {
    let s = &run.data.series;
    let cumulative = s
        .messages
        .values()
        .chain(s.bytes.values())
        .chain(s.ops_ok.values())
        .chain(s.ops_failed.values());
    let mut last = 0usize;
    for c in cumulative {
        if let Some(i) = (1..c.len()).rev().find(|i| c[*i] != c[*i - 1]) {
            last = last.max(i);
        }
    }
    let phases = run
        .data
        .phases
        .iter()
        .map(|p| p.end_us as f64 / 1e6)
        .fold(0.0f64, f64::max);
    match s.t_s.get(last) {
        Some(t) if s.t_s.len() > 1 => t.max(phases).min(run.data.end_s()),
        _ => run.data.end_s(),
    }
}

/// `0` to where the runs' activity ends (with a 5% margin), so a fetch that finishes in 20
/// minutes is not drawn on a 5-hour axis; the whole run when activity lasts to near its end.
fn time_range(runs: &[RunView]) -> Option<(f64, f64)> {
    let end = runs.iter().map(|r| r.data.end_s()).fold(0.0f64, f64::max);
    let active = runs.iter().map(activity_end_s).fold(0.0f64, f64::max);
    let shown = if active > 0.0 && active < 0.8 * end {
        (active * 1.05).min(end)
    } else {
        end
    };
    (shown > 0.0).then_some((0.0, shown))
}

/// CDF points `(value * scale, fraction)` of `hist`, sampled at [`CDF_STEPS`] quantiles plus the tail.
pub fn cdf_points(hist: &Histogram<u64>, scale: f64) -> Vec<(f64, f64)> {
    if hist.is_empty() {
        return Vec::new();
    }
    let tail = [0.995, 0.999, 0.9999];
    let mut qs: Vec<f64> = (0..=CDF_STEPS)
        .map(|i| f64::from(i) / f64::from(CDF_STEPS))
        .collect();
    qs.extend(tail);
    qs.sort_by(f64::total_cmp);
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(qs.len());
    for q in qs {
        let v = hist.value_at_quantile(q) as f64 * scale;
        // One point per distinct value keeps the SVG small; keep the highest fraction reaching it.
        match out.last_mut() {
            Some(last) if last.0 == v => last.1 = q,
            _ => out.push((v, q)),
        }
    }
    out
}

/// The unit to show latencies of at most `max_ms` in: (name, milliseconds per unit).
fn latency_unit(max_ms: f64) -> (&'static str, f64) {
    if max_ms >= 2.0 * 3_600_000.0 {
        ("h", 3_600_000.0)
    } else if max_ms >= 2.0 * 60_000.0 {
        ("min", 60_000.0)
    } else if max_ms >= 10_000.0 {
        ("s", 1_000.0)
    } else {
        ("ms", 1.0)
    }
}

/// Operation latency CDF, one line per kind (one run) or per run and kind (compare), in the unit
/// that suits the longest latency (hours for the WAN-only distribution baseline).
pub fn latency_cdf(runs: &[RunView]) -> Result<Figure, ReportError> {
    let mut kinds = Vec::new();
    let (mut lo, mut hi) = (f64::INFINITY, 0.0f64);
    for r in runs {
        for (kind, agg) in &r.data.agg.ops {
            if agg.latency_us.is_empty() {
                continue;
            }
            lo = lo.min(agg.latency_us.value_at_quantile(0.01).max(1) as f64 * 1e-3);
            hi = hi.max(agg.latency_us.max() as f64 * 1e-3);
            kinds.push((name(runs, r, kind), &agg.latency_us));
        }
    }
    let (unit, ms_per_unit) = latency_unit(hi);
    let lines = kinds
        .into_iter()
        .map(|(name, hist)| Line {
            name,
            points: cdf_points(hist, 1e-3 / ms_per_unit),
        })
        .collect();
    // A long tail (timeouts) squeezes a linear axis: switch to log when it spans two decades.
    let x_log = hi > 100.0 * lo;
    let chart = LineChart {
        title: "Operation latency CDF".into(),
        x_desc: if x_log {
            format!("latency ({unit}, log scale)")
        } else {
            format!("latency ({unit})")
        },
        y_desc: "fraction of successful operations".into(),
        lines,
        y_range: Some((0.0, 1.02)),
        x_log,
        ..LineChart::default()
    };
    line_figure(
        chart,
        "Successful operations with the target online.",
        "No successful operation recorded.",
    )
}

/// Hops histogram: the fraction of successful operations per hop count.
pub fn hops_histogram(runs: &[RunView]) -> Result<Figure, ReportError> {
    let mut bars = Vec::new();
    for r in runs {
        for (kind, agg) in &r.data.agg.ops {
            let total = agg.hops.len();
            if total == 0 {
                continue;
            }
            let values = agg
                .hops
                .iter_recorded()
                .map(|v| {
                    (
                        v.value_iterated_to() as i64,
                        v.count_at_value() as f64 / total as f64,
                    )
                })
                .collect();
            bars.push(Bars {
                name: name(runs, r, kind),
                values,
            });
        }
    }
    let title = "Hops per successful operation";
    if bars.is_empty() {
        return Ok(Figure::new(title, None, "No operation reported hops."));
    }
    let svg = bar_chart(title, "hops", "fraction of operations", &bars)?;
    Ok(Figure::new(
        title,
        Some(svg),
        "Useful hops of successful operations with the target online.",
    ))
}

/// Success ratio per sample interval, with phases shaded.
pub fn success_over_time(runs: &[RunView]) -> Result<Figure, ReportError> {
    let mut lines = Vec::new();
    for r in runs {
        let s = &r.data.series;
        let mut push = |label: &str, ok: &[f64], failed: &[f64]| {
            let (t, ok) = with_origin(&s.t_s, ok);
            let (_, failed) = with_origin(&s.t_s, failed);
            let points = success_ratios(&t, &ok, &failed);
            lines.push(Line {
                name: name(runs, r, label),
                points,
            });
        };
        let kinds: Vec<&String> = s.ops_ok.keys().chain(s.ops_failed.keys()).collect();
        let mut kinds: Vec<&String> = kinds
            .into_iter()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        // With several runs, one line per run (all kinds) keeps the plot readable.
        if runs.len() > 1 && kinds.len() > 1 {
            kinds.clear();
        }
        if kinds.is_empty() {
            let ok = sum_series(s.ops_ok.values(), s.t_s.len());
            let failed = sum_series(s.ops_failed.values(), s.t_s.len());
            push(if runs.len() > 1 { "" } else { "all" }, &ok, &failed);
        } else {
            let zeros = vec![0.0; s.t_s.len()];
            for k in kinds {
                let ok = s.ops_ok.get(k).unwrap_or(&zeros);
                let failed = s.ops_failed.get(k).unwrap_or(&zeros);
                push(if runs.len() > 1 { "" } else { k }, ok, failed);
            }
        }
    }
    let chart = LineChart {
        title: "Success ratio over time".into(),
        x_desc: "simulated time (s)".into(),
        y_desc: "success ratio per interval".into(),
        lines,
        bands: bands(runs),
        x_range: time_range(runs),
        y_range: Some((0.0, 1.05)),
        ..LineChart::default()
    };
    line_figure(
        chart,
        "Succeeded / (succeeded + failed) per sample interval, targets online; shaded: fault, churn and attack periods.",
        "No operation completed during sampling.",
    )
}

/// Live peers over time.
pub fn live_peers(runs: &[RunView]) -> Result<Figure, ReportError> {
    let lines = runs
        .iter()
        .map(|r| {
            let s = &r.data.series;
            Line {
                name: one_per_run(runs, r, "live peers"),
                points: s.t_s.iter().copied().zip(s.live_peers.iter().copied()).collect(),
            }
        })
        .collect();
    let chart = LineChart {
        title: "Live peers".into(),
        x_desc: "simulated time (s)".into(),
        y_desc: "peers alive".into(),
        lines,
        bands: bands(runs),
        x_range: time_range(runs),
        ..LineChart::default()
    };
    line_figure(chart, "Peers alive at each sample.", "No sample recorded.")
}

/// Per-second traffic by message type (one run) or in total (compare).
/// Byte counters of links, not message types: distribution runs sample the WAN links and the
/// origin's access link beside the message types.
const LINKS: [(&str, &str); 2] = [("wan", "WAN links"), ("server", "origin access link")];

/// A message type or link key as a legend reads it: PNRP types keep their specification names,
/// distribution keys are spelt out.
pub fn type_label(key: &str) -> String {
    let words = match key {
        "pccrr" => "peer block retrieval (MS-PCCRR)",
        "origin" => "origin HTTP range requests",
        "probe" => "discovery probes (MS-PCCRD Probe)",
        "probe_match" => "discovery replies (MS-PCCRD ProbeMatch)",
        "hosted_cache" => "hosted cache offers (MS-PCHC)",
        _ => match LINKS.iter().find(|l| l.0 == key) {
            Some((_, words)) => words,
            None => return key.to_string(),
        },
    };
    words.to_string()
}

/// A chart of `lines` over simulated time, with the runs' phase bands and time range.
fn over_time(runs: &[RunView], title: String, y_desc: &str, lines: Vec<Line>) -> LineChart {
    LineChart {
        title,
        x_desc: "simulated time (s)".into(),
        y_desc: y_desc.into(),
        lines,
        bands: bands(runs),
        x_range: time_range(runs),
        ..LineChart::default()
    }
}

/// Bytes per second on the WAN links and the origin's access link (distribution runs).
pub fn link_traffic(runs: &[RunView]) -> Result<Figure, ReportError> {
    let mut lines = Vec::new();
    for r in runs {
        let s = &r.data.series;
        for (key, _) in LINKS {
            if let Some(c) = s.bytes.get(key) {
                let (t, c) = with_origin(&s.t_s, c);
                lines.push(Line {
                    name: one_per_run(runs, r, &type_label(key)),
                    points: rates(&t, &c),
                });
            }
        }
    }
    line_figure(
        over_time(runs, "Bytes per second on links".into(), "bytes/s", lines),
        "Both directions of every WAN link, and what left the origin.",
        "No link traffic sampled (PNRP runs count messages by type only).",
    )
}

/// Messages or bytes per second by message type (links excluded, see [`link_traffic`]); each type
/// keeps its colour across both plots (types in name order).
pub fn traffic(runs: &[RunView], bytes: bool) -> Result<Figure, ReportError> {
    let (title, unit) = if bytes {
        ("Bytes per second by message type", "bytes/s")
    } else {
        ("Messages per second by message type", "messages/s")
    };
    let mut lines = Vec::new();
    for r in runs {
        let s = &r.data.series;
        let all = if bytes { &s.bytes } else { &s.messages };
        let map: std::collections::BTreeMap<&String, &Vec<f64>> = all
            .iter()
            .filter(|(k, _)| !LINKS.iter().any(|l| l.0 == k.as_str()))
            .collect();
        let rate = |c: &[f64]| {
            let (t, c) = with_origin(&s.t_s, c);
            rates(&t, &c)
        };
        if runs.len() > 1 {
            lines.push(Line {
                name: one_per_run(runs, r, "total"),
                points: rate(&sum_series(map.values().copied(), s.t_s.len())),
            });
            continue;
        }
        let mut by_total: Vec<(&String, &Vec<f64>)> = map.into_iter().collect();
        by_total.sort_by(|a, b| {
            b.1.last()
                .unwrap_or(&0.0)
                .total_cmp(a.1.last().unwrap_or(&0.0))
                .then(a.0.cmp(b.0))
        });
        let rest = by_total.split_off(by_total.len().min(TOP_TYPES));
        // Name order, so a type has the same colour on the messages and the bytes plot.
        by_total.sort_by(|a, b| a.0.cmp(b.0));
        for (ty, c) in by_total {
            lines.push(Line {
                name: type_label(ty),
                points: rate(c),
            });
        }
        if !rest.is_empty() {
            let other = sum_series(rest.iter().map(|(_, c)| *c), s.t_s.len());
            lines.push(Line {
                name: format!("other ({} types)", rest.len()),
                points: rate(&other),
            });
        }
    }
    let title = if runs.len() > 1 {
        title.replace(" by message type", " (all types)")
    } else {
        title.to_string()
    };
    line_figure(
        over_time(runs, title, unit, lines),
        "Rates over each sample interval, from cumulative counts.",
        "No message counted.",
    )
}

/// Mean cache entries per level: time average and last sample (one run) or averages (compare).
pub fn cache_levels(runs: &[RunView]) -> Result<Figure, ReportError> {
    let title = "Cache occupancy by level";
    let to_bars = |v: &[f64]| {
        v.iter()
            .enumerate()
            .map(|(i, x)| (i as i64, *x))
            .collect::<Vec<_>>()
    };
    let mut bars = Vec::new();
    for r in runs {
        if r.data.cache_samples == 0 || r.data.cache_sum.is_empty() {
            continue;
        }
        bars.push(Bars {
            name: one_per_run(runs, r, "time average"),
            values: to_bars(&r.data.cache_mean()),
        });
        if runs.len() == 1 {
            bars.push(Bars {
                name: "last sample".into(),
                values: to_bars(&r.data.cache_last),
            });
        }
    }
    if bars.is_empty() {
        return Ok(Figure::new(title, None, "No cache occupancy sampled."));
    }
    let svg = bar_chart(title, "cache level", "mean entries per live peer", &bars)?;
    Ok(Figure::new(
        title,
        Some(svg),
        "Mean entries per cache level over live peers.",
    ))
}

/// Fraction of publishers whose leaf sets match the oracle, over time.
pub fn leafset_correctness(runs: &[RunView]) -> Result<Figure, ReportError> {
    let lines = runs
        .iter()
        .map(|r| {
            let s = &r.data.series;
            Line {
                name: one_per_run(runs, r, "correct leaf sets"),
                points: s
                    .t_s
                    .iter()
                    .copied()
                    .zip(s.leafset_correct.iter().copied())
                    .collect(),
            }
        })
        .collect();
    let chart = LineChart {
        title: "Leaf-set correctness".into(),
        x_desc: "simulated time (s)".into(),
        y_desc: "fraction of publishers correct".into(),
        lines,
        bands: bands(runs),
        x_range: time_range(runs),
        y_range: Some((0.0, 1.05)),
        ..LineChart::default()
    };
    line_figure(
        chart,
        "Publishers whose leaf sets equal the oracle's true neighbours.",
        "No sample recorded.",
    )
}

/// Whether any run is a Peer Distribution run (its operations are fetches).
fn has_fetches(runs: &[RunView]) -> bool {
    runs.iter().any(|r| r.data.series.ops_ok.contains_key("fetch"))
}

/// The completion curve of distribution runs: fetches completed so far, over time.
pub fn completion_curve(runs: &[RunView]) -> Result<Figure, ReportError> {
    let lines = runs
        .iter()
        .filter_map(|r| {
            let s = &r.data.series;
            let ok = s.ops_ok.get("fetch")?;
            let (t, ok) = with_origin(&s.t_s, ok);
            Some(Line {
                name: one_per_run(runs, r, "fetches completed"),
                points: t.into_iter().zip(ok).collect(),
            })
        })
        .collect();
    let chart = LineChart {
        title: "Completion curve".into(),
        x_desc: "simulated time (s)".into(),
        y_desc: "fetches completed so far".into(),
        lines,
        bands: bands(runs),
        x_range: time_range(runs),
        ..LineChart::default()
    };
    line_figure(
        chart,
        "Clients whose fetch has completed, at each sample (Peer Distribution runs).",
        "No fetch completed during sampling.",
    )
}

/// Every figure of the report, in page order (distribution runs: no PNRP cache, leaf-set or
/// per-peer load plots, a completion curve instead).
pub fn all_figures(runs: &[RunView]) -> Result<Vec<Figure>, ReportError> {
    if crate::graph_figures::has_graph(runs) {
        let mut v = crate::graph_figures::graph_figures(runs)?;
        v.extend([live_peers(runs)?, traffic(runs, false)?, traffic(runs, true)?]);
        return Ok(v);
    }
    let mut v = vec![
        latency_cdf(runs)?,
        hops_histogram(runs)?,
        success_over_time(runs)?,
        live_peers(runs)?,
        traffic(runs, false)?,
        traffic(runs, true)?,
    ];
    if has_fetches(runs) {
        v.push(link_traffic(runs)?);
        v.push(completion_curve(runs)?);
    } else {
        v.push(cache_levels(runs)?);
        v.push(leafset_correctness(runs)?);
        v.push(crate::load::load_cdf(runs, false)?);
        v.push(crate::load::load_cdf(runs, true)?);
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{End, Record, Sample};

    /// A run of `samples` one-minute samples whose traffic stops after `active` of them.
    fn run(samples: u64, active: u64) -> RunView {
        let mut data = RunData::new();
        for i in 1..=samples {
            let mut s = Sample {
                t_us: i * 60_000_000,
                live_peers: 10,
                ..Sample::default()
            };
            s.messages.insert("pccrr".into(), i.min(active) * 100);
            s.bytes.insert("pccrr".into(), i.min(active) * 100_000);
            s.bytes.insert("probe".into(), i.min(active) * 1_000);
            s.bytes.insert("wan".into(), i.min(active) * 5_000);
            data.push(&Record::Sample(s));
        }
        data.push(&Record::End(End {
            t_us: samples * 60_000_000,
            events: 1,
            fingerprint: String::new(),
        }));
        data.finish();
        RunView {
            label: "r".into(),
            data,
            summary: Summary::default(),
            params: Vec::new(),
        }
    }

    #[test]
    fn time_axes_end_where_the_activity_ends() {
        // Five hours simulated, traffic over after 20 minutes: the axis ends at 21 minutes.
        let quiet = run(300, 20);
        assert_eq!(activity_end_s(&quiet), 1200.0);
        assert_eq!(time_range(&[quiet]), Some((0.0, 1260.0)));
        // Busy to the end: the whole run.
        assert_eq!(time_range(&[run(300, 300)]), Some((0.0, 18_000.0)));
    }

    #[test]
    fn message_types_and_links_on_separate_plots_in_words() {
        let r = [run(10, 10)];
        let types = traffic(&r, true).unwrap().svg.unwrap();
        assert!(
            types.contains("peer block retrieval (MS-PCCRR)"),
            "legend in words"
        );
        assert!(!types.contains(">\npccrr\n<") && !types.contains("WAN links"));
        let links = link_traffic(&r).unwrap().svg.unwrap();
        assert!(links.contains("WAN links") && !links.contains("MS-PCCRR"));
    }
}
