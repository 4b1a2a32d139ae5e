//! Pages over many runs: `--seeds` (mean and 95% confidence interval of every headline figure) and
//! `--sweep key=v1,v2,…` (the same per parameter value, plus "figure vs parameter" plots).

use crate::aggregate::Summary;
use crate::csv::{field, num, tidy_figures};
use crate::error::ReportError;
use crate::html::{badge, escape, Page, Table};
use crate::plot::{metric_vs_param_chart, ParamAxis, ParamPoint};
use crate::stats::{across_runs_of, headline_figures, MeanCi};
use crate::table::fmt_num;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Most "figure vs parameter" plots on a sweep page (the table and sweep.csv hold every figure).
const MAX_SWEEP_PLOTS: usize = 24;

/// Per-operation figures drawn first, in this order (suffixes of `<kind>.…`).
const PER_OPERATION: [&str; 5] = [
    ".success_ratio",
    ".latency_ms.p50",
    ".latency_ms.p99",
    ".hops.mean",
    ".hops.p50",
];

/// Protocol figures drawn right after the per-operation ones, in this order.
const HEADLINE_METRICS: [&str; 8] = [
    "distribution.wan_offload_ratio",
    "distribution.completion_p50_s",
    "distribution.completion_p90_s",
    "distribution.peer_hit_ratio",
    "pnrp.leafset_correct",
    "pnrp.messages_per_peer_per_s",
    "pnrp.bytes_per_peer_per_s",
    "pnrp.lookups_per_resolve",
];

/// One parameter value of a sweep and the summaries of its runs (one per seed).
#[derive(Clone, Debug, Default)]
pub struct SweepPoint {
    /// The value as written on the command line (`30m`, `exponential`).
    pub label: String,
    /// The value as a number for the x axis (`30m` → 30 or 1800, the caller's unit); `None` if the
    /// parameter is not numeric, then points are spaced evenly in the given order.
    pub x: Option<f64>,
    /// Summaries of the runs at this value.
    pub summaries: Vec<Summary>,
}

/// Mean and 95% CI of every headline figure at every point: `figure → per point`.
fn figure_table(points: &[SweepPoint]) -> BTreeMap<String, Vec<Option<MeanCi>>> {
    // Every figure any run has, so a counter absent from every run at one value is 0 there.
    let all: BTreeSet<String> = points
        .iter()
        .flat_map(|p| p.summaries.iter().flat_map(|s| headline_figures(s).into_keys()))
        .collect();
    let per_point: Vec<BTreeMap<String, MeanCi>> = points
        .iter()
        .map(|p| across_runs_of(&p.summaries, &all))
        .collect();
    let names: BTreeSet<&String> = per_point.iter().flat_map(|m| m.keys()).collect();
    names
        .into_iter()
        .map(|n| (n.clone(), per_point.iter().map(|m| m.get(n).copied()).collect()))
        .collect()
}

/// `mean [low – high] n=N`, or `mean n=1` without an interval for a single run.
pub(crate) fn fmt_ci(ci: &MeanCi) -> String {
    if ci.has_interval() {
        format!(
            "{} [{} – {}] <small>n={}</small>",
            fmt_num(ci.mean),
            fmt_num(ci.lo),
            fmt_num(ci.hi),
            ci.n
        )
    } else {
        format!("{} <small>n={}</small>", fmt_num(ci.mean), ci.n)
    }
}

/// Where a figure goes among the sweep plots (lower first), or `None` if it gets no plot: per
/// operation success, latency and hops first, then the headline protocol figures, then the other
/// protocol metrics.
fn plot_rank(name: &str, protocol_metrics: &BTreeSet<String>) -> Option<usize> {
    if let Some(i) = PER_OPERATION.iter().position(|suffix| name.ends_with(suffix)) {
        return Some(i);
    }
    if let Some(i) = HEADLINE_METRICS.iter().position(|m| *m == name) {
        return Some(PER_OPERATION.len() + i);
    }
    protocol_metrics
        .contains(name)
        .then_some(PER_OPERATION.len() + HEADLINE_METRICS.len())
}

/// Whether a figure's mean is the same at every point (nothing to see on a plot).
fn flat(cells: &[Option<MeanCi>]) -> bool {
    let means: Vec<f64> = cells.iter().flatten().map(|c| c.mean).collect();
    means.windows(2).all(|w| w[0] == w[1])
}

/// The x axis for the sweep's values and its description: a log axis for positive numbers that
/// span two decades or more (peer counts), `(%)` for percentages, `(s)` for durations.
fn x_axis<'a>(param: &str, points: &[SweepPoint], labels: &'a [String]) -> (ParamAxis<'a>, String) {
    let xs: Option<Vec<f64>> = points.iter().map(|p| p.x.filter(|x| x.is_finite())).collect();
    let Some(xs) = xs else {
        return (ParamAxis::Categories(labels), param.to_string());
    };
    let percent = labels.iter().all(|l| l.trim_end().ends_with('%'));
    // The simulator turns durations into seconds; a number with a unit letter is a duration.
    let duration = !percent
        && labels
            .iter()
            .any(|l| l.trim_end().ends_with(|c: char| c.is_ascii_alphabetic()));
    let desc = match (percent, duration) {
        (true, _) => format!("{param} (%)"),
        (_, true) => format!("{param} (s)"),
        _ => param.to_string(),
    };
    let (lo, hi) = xs
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(a, b), x| (a.min(*x), b.max(*x)));
    let axis = if lo > 0.0 && hi / lo >= 100.0 && !percent {
        ParamAxis::Log
    } else {
        ParamAxis::Linear
    };
    (axis, desc)
}

/// `sweep.csv`: `param,x,figure,n,mean,ci_low,ci_high`.
fn sweep_csv(points: &[SweepPoint], table: &BTreeMap<String, Vec<Option<MeanCi>>>) -> String {
    let mut out = String::from("param,x,figure,n,mean,ci_low,ci_high\n");
    for (name, cells) in table {
        for (p, ci) in points.iter().zip(cells) {
            if let Some(ci) = ci {
                let x = p.x.map_or(String::new(), |x| x.to_string());
                let label = if p.label.contains([',', '"']) {
                    format!("\"{}\"", p.label.replace('"', "\"\""))
                } else {
                    p.label.clone()
                };
                let (lo, hi) = if ci.has_interval() {
                    (ci.lo.to_string(), ci.hi.to_string())
                } else {
                    (String::new(), String::new())
                };
                let _ = writeln!(out, "{label},{x},{name},{},{},{lo},{hi}", ci.n, ci.mean);
            }
        }
    }
    out
}

/// `runs.csv`: the tidy table of the whole set, a row per (run, figure):
/// `seed,[<param>,<param>_value,]metric,value` (the parameter as written and as a number).
fn runs_csv(param: &str, points: &[SweepPoint]) -> String {
    let sweep = param != "seed";
    let mut out = String::from("seed,");
    if sweep {
        out.push_str(&format!("{},{}_value,", field(param), field(param)));
    }
    out.push_str("metric,value\n");
    for p in points {
        let x = p.x.map_or(String::new(), num);
        for s in &p.summaries {
            let lead = if sweep {
                format!("{},{},{x},", s.seed, field(&p.label))
            } else {
                format!("{},", s.seed)
            };
            for (k, v) in tidy_figures(s) {
                let _ = writeln!(out, "{lead}{},{}", field(&k), num(v));
            }
        }
    }
    out
}

/// Renders `out_dir/sweep.html` and `out_dir/sweep.csv` for runs grouped by the value of `param`.
///
/// With one point it is the `--seeds` page: every headline figure as mean ± 95% CI over the seeds.
/// With several, each plotted figure also gets a "figure vs `param`" chart.
pub fn render_sweep(param: &str, points: &[SweepPoint], out_dir: &Path) -> Result<PathBuf, ReportError> {
    if points.iter().all(|p| p.summaries.is_empty()) {
        return Err(ReportError::Empty("a sweep needs at least one run".into()));
    }
    let table = figure_table(points);
    let scenario = points
        .iter()
        .flat_map(|p| p.summaries.first())
        .map(|s| s.scenario.clone())
        .next();
    let scenario = scenario.unwrap_or_default();
    let sweep = points.len() > 1;
    let title = if sweep {
        format!("{scenario} · sweep over {param}")
    } else {
        format!("{scenario} · seeds")
    };
    let mut page = Page::new();
    page.text("h1", &title);
    let runs: usize = points.iter().map(|p| p.summaries.len()).sum();
    page.raw(&format!(
        "<p class=\"desc\">{runs} runs. Each cell: mean over the seeds at that value, its 95% \
         confidence interval in brackets and n, the runs averaged (no interval for one run). A \
         counter a run does not report counts as 0 there. Intervals stay inside the figure's range: \
         a seeded percentile bootstrap for figures that cannot be negative, widened to Wilson's \
         interval over the pooled operations for success ratios; Student's t otherwise.</p>"
    ));
    // Checks: how many runs passed all of theirs, per point.
    let mut header: Vec<String> = vec!["figure".into()];
    header.extend(points.iter().map(|p| {
        if sweep {
            format!("{param} = {}", p.label)
        } else {
            p.label.clone()
        }
    }));
    let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut t = Table::new(&header_refs, 1);
    let mut checks_row = vec!["runs passing all checks".to_string()];
    for p in points {
        let passed = p
            .summaries
            .iter()
            .filter(|s| s.checks.iter().all(|c| c.passed))
            .count();
        let all = passed == p.summaries.len();
        checks_row.push(format!("{} {passed}/{}", badge(all), p.summaries.len()));
    }
    t.rows.push(checks_row);
    for (name, cells) in &table {
        let mut row = vec![escape(name)];
        row.extend(cells.iter().map(|c| c.as_ref().map_or("–".into(), fmt_ci)));
        t.rows.push(row);
    }
    page.heading("figures", "Headline figures");
    page.table(&t);
    if sweep {
        plots(&mut page, param, points, &table)?;
    }
    page.raw(
        "<footer>Data beside this page: <a href=\"sweep.csv\">sweep.csv</a> (mean and interval \
         per value and figure) · <a href=\"runs.csv\">runs.csv</a> (tidy: a row per run and \
         figure, with its seed and parameter)</footer>",
    );
    std::fs::create_dir_all(out_dir).map_err(|e| ReportError::io(out_dir, e))?;
    let runs_path = out_dir.join("runs.csv");
    std::fs::write(&runs_path, runs_csv(param, points)).map_err(|e| ReportError::io(runs_path, e))?;
    let csv_path = out_dir.join("sweep.csv");
    crate::output::write_file(&csv_path, sweep_csv(points, &table))
        .map_err(|e| ReportError::io(csv_path, e))?;
    let path = out_dir.join("sweep.html");
    crate::output::write_file(&path, page.finish(&title)).map_err(|e| ReportError::io(&path, e))?;
    Ok(path)
}

fn plots(
    page: &mut Page,
    param: &str,
    points: &[SweepPoint],
    table: &BTreeMap<String, Vec<Option<MeanCi>>>,
) -> Result<(), ReportError> {
    let labels: Vec<String> = points.iter().map(|p| p.label.clone()).collect();
    let (axis, x_desc) = x_axis(param, points, &labels);
    let numeric = !matches!(axis, ParamAxis::Categories(_));
    let metrics: BTreeSet<String> = points
        .iter()
        .flat_map(|p| p.summaries.iter().flat_map(|s| s.metrics.keys().cloned()))
        .collect();
    let mut candidates: Vec<(usize, &String, &Vec<Option<MeanCi>>)> = table
        .iter()
        .filter_map(|(n, cells)| plot_rank(n, &metrics).map(|r| (r, n, cells)))
        .collect();
    // Stable: within a rank, names stay in alphabetical order.
    candidates.sort_by_key(|c| c.0);
    // Headline figures are drawn even when flat ("100% at every N" is a finding); other metrics
    // only when they vary.
    let other = PER_OPERATION.len() + HEADLINE_METRICS.len();
    let dull = |c: &(usize, &String, &Vec<Option<MeanCi>>)| c.0 >= other && flat(c.2);
    let flat_count = candidates.iter().filter(|c| dull(c)).count();
    let varying: Vec<_> = candidates.into_iter().filter(|c| !dull(c)).collect();
    page.heading("plots", &format!("Figures vs {param}"));
    let left_out = varying.len().saturating_sub(MAX_SWEEP_PLOTS);
    page.raw(&format!(
        "<p class=\"note\">Success, latency and hops per operation first, then the headline \
         protocol figures. {flat_count} other figures that are the same at every value are not drawn{}; \
         the table above and sweep.csv hold every figure.</p>",
        if left_out > 0 {
            format!(", nor {left_out} further ones")
        } else {
            String::new()
        }
    ));
    page.raw("<div class=\"grid\">");
    for (_, name, cells) in varying.into_iter().take(MAX_SWEEP_PLOTS) {
        let series: Vec<ParamPoint> = points
            .iter()
            .zip(cells)
            .enumerate()
            .filter_map(|(i, (p, ci))| {
                let x = if numeric {
                    p.x.unwrap_or(i as f64)
                } else {
                    i as f64
                };
                ci.map(|y| ParamPoint { x, y })
            })
            .collect();
        let svg = metric_vs_param_chart(
            &format!("{name} vs {param}"),
            &x_desc,
            name,
            &[(name.clone(), series)],
            axis,
        )?;
        page.raw(&format!("<figure>{svg}</figure>"));
    }
    page.raw("</div>");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::{CheckResult, OpSummary, Percentiles};

    fn summary(ratio: f64, passed: bool) -> Summary {
        let mut s = Summary {
            scenario: "churn".into(),
            ..Summary::default()
        };
        s.operations.insert(
            "resolve".into(),
            OpSummary {
                success_ratio: ratio,
                ..OpSummary::default()
            },
        );
        s.metrics.insert("pnrp.messages_per_resolve".into(), 10.0 * ratio);
        s.checks.push(CheckResult {
            name: "c".into(),
            passed,
            detail: String::new(),
        });
        s
    }

    fn point(label: &str, x: Option<f64>, ratios: &[f64]) -> SweepPoint {
        SweepPoint {
            label: label.into(),
            x,
            summaries: ratios.iter().map(|r| summary(*r, *r > 0.8)).collect(),
        }
    }

    #[test]
    fn sweep_page_has_table_plots_and_csv() {
        let dir = std::env::temp_dir().join(format!("peerlab-sweep-test-{}", std::process::id()));
        let points = [
            point("10m", Some(10.0), &[0.70, 0.74, 0.72]),
            point("30m", Some(30.0), &[0.90, 0.92, 0.91]),
            point("1h", Some(60.0), &[0.97, 0.95, 0.96]),
        ];
        let html = std::fs::read_to_string(render_sweep("session.mean", &points, &dir).unwrap()).unwrap();
        assert!(html.contains("sweep over session.mean"));
        assert!(html.contains("session.mean = 30m"));
        assert!(html.contains("0.720 ["), "mean [CI] cell");
        assert!(html.contains("n=3"), "n per cell");
        assert!(
            html.contains("badge fail\">FAIL</span> 0/3"),
            "runs passing checks at 10m"
        );
        assert!(html.contains("resolve.success_ratio vs session.mean"));
        assert!(html.contains("pnrp.messages_per_resolve vs session.mean"));
        let csv = std::fs::read_to_string(dir.join("sweep.csv")).unwrap();
        assert!(
            csv.lines()
                .any(|l| l.starts_with("30m,30,resolve.success_ratio,3,0.91")),
            "{csv}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn peer_count_sweep_plots_success_latency_and_hops_first_on_a_log_axis() {
        // Forty protocol metrics sorting before "resolve.*" used to take every plot slot.
        let run = |peers: f64, seed: u32| {
            let mut s = summary(0.9 + f64::from(seed) * 0.01, true);
            let o = s.operations.get_mut("resolve").unwrap();
            o.latency_ms = Percentiles {
                p50: 100.0 * peers.log10(),
                p99: 300.0 * peers.log10(),
                ..Percentiles::default()
            };
            o.hops = Some(Percentiles {
                mean: peers.log10() + f64::from(seed) * 0.1,
                p50: peers.log10().round(),
                ..Percentiles::default()
            });
            for i in 0..40 {
                s.metrics.insert(format!("a.metric_{i:02}"), peers * f64::from(i));
            }
            s
        };
        let points: Vec<SweepPoint> = [100.0, 1000.0, 10_000.0]
            .iter()
            .map(|n| SweepPoint {
                label: format!("{n}"),
                x: Some(*n),
                summaries: (0..3).map(|seed| run(*n, seed)).collect(),
            })
            .collect();
        let dir = std::env::temp_dir().join(format!("peerlab-sweep-order-{}", std::process::id()));
        let html = std::fs::read_to_string(render_sweep("peers.0.count", &points, &dir).unwrap()).unwrap();
        let at = |what: &str| html.find(&format!("{what} vs peers.0.count")).expect(what);
        let (success, p50, hops) = (
            at("resolve.success_ratio"),
            at("resolve.latency_ms.p50"),
            at("resolve.hops.mean"),
        );
        assert!(success < p50 && p50 < hops && hops < at("a.metric_01"));
        // Log axis: the ticks are the powers of ten, not evenly spaced thousands.
        assert!(html.contains("\n1000\n</text>"), "log ticks at powers of ten");
        assert!(!html.contains("316.228"), "no ticks between powers of ten");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_counter_no_run_at_a_value_reports_is_zero_there() {
        let mut points = vec![
            point("1%", Some(1.0), &[0.9, 0.9]),
            point("5%", Some(5.0), &[0.8, 0.8]),
        ];
        for s in &mut points[1].summaries {
            s.metrics.insert("pnrp.engine.timeouts.FLOOD".into(), 4.0);
        }
        let table = figure_table(&points);
        let cells = &table["pnrp.engine.timeouts.FLOOD"];
        assert_eq!(cells[0].map(|c| (c.n, c.mean)), Some((2, 0.0)));
        assert_eq!(cells[1].map(|c| (c.n, c.mean)), Some((2, 4.0)));
    }

    #[test]
    fn seeds_page_and_categorical_sweep() {
        let dir = std::env::temp_dir().join(format!("peerlab-seeds-test-{}", std::process::id()));
        let html = std::fs::read_to_string(
            render_sweep("seed", &[point("seeds 1..3", None, &[0.9, 0.95, 1.0])], &dir).unwrap(),
        )
        .unwrap();
        assert!(
            html.contains("churn · seeds") && !html.contains("<svg"),
            "no plot for one point"
        );
        let points = [
            point("exponential", None, &[0.9, 0.8]),
            point("weibull", None, &[0.7, 0.75]),
        ];
        let html = std::fs::read_to_string(render_sweep("session.model", &points, &dir).unwrap()).unwrap();
        assert!(html.contains("\nweibull\n</text>"), "categorical axis labels");
        assert!(render_sweep("x", &[], &dir).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
