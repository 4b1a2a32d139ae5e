//! CSV files written beside `report.html`, for people who plot elsewhere.

use crate::aggregate::Summary;
use crate::error::ReportError;
use crate::figures::{cdf_points, with_origin, RunView};
use crate::series::{rates, success_ratios};
use crate::stats::headline_figures;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// Quotes a CSV field when it needs it (RFC 4180).
pub(crate) fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub(crate) fn num(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        String::new()
    }
}

fn write(dir: &Path, name: &str, text: &str) -> Result<(), ReportError> {
    let path = dir.join(name);
    crate::output::write_file(&path, text).map_err(|e| ReportError::io(path, e))
}

/// The leading columns of every per-run CSV: the run's seed and each `--set` parameter (a sweep's
/// among them), so files from many runs can be concatenated and grouped in pandas, R or polars.
fn run_columns(run: &RunView) -> (String, String) {
    let mut header = vec!["seed".to_string()];
    let mut row = vec![run.summary.seed.to_string()];
    for (k, v) in &run.params {
        header.push(field(k));
        row.push(field(v));
    }
    (header.join(","), row.join(","))
}

/// Prefixes every line of `csv` (header included) with the run's seed and parameters.
fn with_run_columns(run: &RunView, csv: &str) -> String {
    let (head, row) = run_columns(run);
    let mut out = String::with_capacity(csv.len() + csv.lines().count() * (row.len() + 1));
    for (i, line) in csv.lines().enumerate() {
        out.push_str(if i == 0 { &head } else { &row });
        out.push(',');
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Every figure of a summary as `(name, value)`: the headline figures plus each operation kind's
/// counts and percentiles.
pub(crate) fn tidy_figures(s: &Summary) -> BTreeMap<String, f64> {
    let mut out = headline_figures(s);
    out.insert("sim_duration_s".into(), s.sim_duration_s);
    out.insert("events".into(), s.events as f64);
    for (kind, o) in &s.operations {
        for (k, v) in [
            ("started", o.started),
            ("succeeded", o.succeeded),
            ("target_offline", o.target_offline),
            ("target_offline_ok", o.target_offline_ok),
            ("target_offline_failed", o.target_offline_failed),
            ("source_left", o.source_left),
            ("unfinished", o.unfinished),
        ] {
            out.insert(format!("{kind}.{k}"), v as f64);
        }
        out.insert(format!("{kind}.latency_ms.max"), o.latency_ms.max);
        if let Some(h) = o.hops {
            out.insert(format!("{kind}.hops.p99"), h.p99);
            out.insert(format!("{kind}.hops.max"), h.max);
        }
    }
    out
}

/// `metrics.csv`: the tidy table of one run, a row per figure: `seed,<params…>,metric,value`.
pub fn metrics(run: &RunView) -> String {
    let mut out = String::from("metric,value\n");
    for (k, v) in tidy_figures(&run.summary) {
        let _ = writeln!(out, "{},{}", field(&k), num(v));
    }
    with_run_columns(run, &out)
}

/// `timeseries.csv`: one row per kept sample; per-interval operation counts and ratios, per-second
/// message and byte rates by type.
pub fn timeseries(run: &RunView) -> String {
    let s = &run.data.series;
    let mut header = vec!["t_s".to_string(), "live_peers".into(), "leafset_correct".into()];
    let mut columns: Vec<Vec<f64>> = Vec::new();
    let interval = |c: &[f64]| -> Vec<f64> {
        let (_, c) = with_origin(&s.t_s, c);
        let skip = c.len() - s.t_s.len();
        (skip..c.len())
            .map(|i| if i == 0 { c[0] } else { c[i] - c[i - 1] })
            .collect()
    };
    let per_second = |c: &[f64]| -> Vec<f64> {
        let (t, c) = with_origin(&s.t_s, c);
        let r = rates(&t, &c);
        // `rates` has one value per interval; pad the front when there was no origin interval.
        let mut v = vec![f64::NAN; s.t_s.len().saturating_sub(r.len())];
        v.extend(r.into_iter().map(|p| p.1));
        v
    };
    let zeros = vec![0.0; s.t_s.len()];
    let kinds: std::collections::BTreeSet<&String> = s.ops_ok.keys().chain(s.ops_failed.keys()).collect();
    for k in kinds {
        let ok = s.ops_ok.get(k).unwrap_or(&zeros);
        let failed = s.ops_failed.get(k).unwrap_or(&zeros);
        header.push(format!("ok.{k}"));
        columns.push(interval(ok));
        header.push(format!("failed.{k}"));
        columns.push(interval(failed));
        let (t, ok0) = with_origin(&s.t_s, ok);
        let (_, failed0) = with_origin(&s.t_s, failed);
        let mut ratio = vec![f64::NAN; s.t_s.len() + 1 - t.len()];
        ratio.extend(success_ratios(&t, &ok0, &failed0).into_iter().map(|p| p.1));
        header.push(format!("success_ratio.{k}"));
        columns.push(ratio);
    }
    for (ty, c) in &s.messages {
        header.push(format!("messages_per_s.{ty}"));
        columns.push(per_second(c));
    }
    for (ty, c) in &s.bytes {
        header.push(format!("bytes_per_s.{ty}"));
        columns.push(per_second(c));
    }
    let mut out = header.iter().map(|h| field(h)).collect::<Vec<_>>().join(",");
    out.push('\n');
    for i in 0..s.t_s.len() {
        let mut row = vec![num(s.t_s[i]), num(s.live_peers[i]), num(s.leafset_correct[i])];
        row.extend(columns.iter().map(|c| num(c.get(i).copied().unwrap_or(f64::NAN))));
        let _ = writeln!(out, "{}", row.join(","));
    }
    out
}

/// `latency_cdf.csv`: `kind,latency_ms,fraction`.
pub fn latency_cdf(run: &RunView) -> String {
    let mut out = String::from("kind,latency_ms,fraction\n");
    for (kind, agg) in &run.data.agg.ops {
        for (v, q) in cdf_points(&agg.latency_us, 1e-3) {
            let _ = writeln!(out, "{},{},{}", field(kind), num(v), num(q));
        }
    }
    out
}

/// `hops.csv`: `kind,hops,count,fraction`.
pub fn hops(run: &RunView) -> String {
    let mut out = String::from("kind,hops,count,fraction\n");
    for (kind, agg) in &run.data.agg.ops {
        let total = agg.hops.len().max(1) as f64;
        for v in agg.hops.iter_recorded() {
            let n = v.count_at_value();
            let _ = writeln!(
                out,
                "{},{},{},{}",
                field(kind),
                v.value_iterated_to(),
                n,
                num(n as f64 / total)
            );
        }
    }
    out
}

/// `ops.csv`: one row per operation kind with counts and percentiles.
pub fn ops(run: &RunView) -> String {
    let mut out = String::from(
        "kind,started,succeeded,failed,success_ratio,target_offline,target_offline_ok,target_offline_failed,\
         source_left,unfinished,latency_ms_p50,latency_ms_p90,latency_ms_p99,latency_ms_max,hops_p50,hops_p90,hops_p99,hops_max\n",
    );
    for (kind, o) in &run.summary.operations {
        let l = o.latency_ms;
        let h = o
            .hops
            .map(|h| [num(h.p50), num(h.p90), num(h.p99), num(h.max)])
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            field(kind),
            o.started,
            o.succeeded,
            o.failed,
            num(o.success_ratio),
            o.target_offline,
            o.target_offline_ok,
            o.target_offline_failed,
            o.source_left,
            o.unfinished,
            num(l.p50),
            num(l.p90),
            num(l.p99),
            num(l.max),
            h.join(",")
        );
    }
    out
}

/// Writes the CSV files of `run` into `dir`, each led by the run's seed and parameters.
pub fn write_all(run: &RunView, dir: &Path) -> Result<(), ReportError> {
    write(dir, "timeseries.csv", &with_run_columns(run, &timeseries(run)))?;
    write(dir, "latency_cdf.csv", &with_run_columns(run, &latency_cdf(run)))?;
    write(dir, "hops.csv", &with_run_columns(run, &hops(run)))?;
    write(dir, "ops.csv", &with_run_columns(run, &ops(run)))?;
    let load = &run.data.agg.load;
    if !load.peers().is_empty() {
        write(dir, "peer_load.csv", &with_run_columns(run, &load.csv()))?;
    }
    write(dir, "metrics.csv", &metrics(run))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_fields_that_need_it() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(num(f64::NAN), "");
    }
}
