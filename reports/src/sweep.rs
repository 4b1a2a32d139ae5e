//! Pages over many runs: `--seeds` (mean and 95% confidence interval of every headline figure) and
//! `--sweep key=v1,v2,…` (the same per parameter value, plus "figure vs parameter" plots).

use crate::aggregate::Summary;
use crate::error::ReportError;
use crate::html::{badge, escape, Page, Table};
use crate::plot::{metric_vs_param_chart, ParamPoint};
use crate::stats::{across_runs, MeanCi};
use crate::table::fmt_num;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Most "figure vs parameter" plots on a sweep page (the table holds every figure).
const MAX_SWEEP_PLOTS: usize = 16;

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
    let per_point: Vec<BTreeMap<String, MeanCi>> = points.iter().map(|p| across_runs(&p.summaries)).collect();
    let names: BTreeSet<&String> = per_point.iter().flat_map(|m| m.keys()).collect();
    names
        .into_iter()
        .map(|n| (n.clone(), per_point.iter().map(|m| m.get(n).copied()).collect()))
        .collect()
}

/// `mean ± half width`, or the mean alone for a single run.
fn fmt_ci(ci: &MeanCi) -> String {
    if ci.n > 1 {
        format!("{} ± {}", fmt_num(ci.mean), fmt_num(ci.half_width))
    } else {
        fmt_num(ci.mean)
    }
}

/// Figures worth a plot: success ratios and latency percentiles per kind, and protocol metrics.
fn plotted(name: &str, protocol_metrics: &BTreeSet<String>) -> bool {
    name.ends_with(".success_ratio")
        || name.ends_with(".latency_ms.p50")
        || name.ends_with(".latency_ms.p99")
        || protocol_metrics.contains(name)
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
                let _ = writeln!(
                    out,
                    "{label},{x},{name},{},{},{},{}",
                    ci.n,
                    ci.mean,
                    ci.low(),
                    ci.high()
                );
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
        "<p class=\"desc\">{runs} runs. Each cell: mean ± half width of the 95% confidence interval \
         (Student's t) over the seeds at that value.</p>"
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
    page.raw("<footer>Data beside this page: <a href=\"sweep.csv\">sweep.csv</a></footer>");
    std::fs::create_dir_all(out_dir).map_err(|e| ReportError::io(out_dir, e))?;
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
    let numeric = points.iter().all(|p| p.x.is_some_and(f64::is_finite));
    let labels: Vec<String> = points.iter().map(|p| p.label.clone()).collect();
    let categories = (!numeric).then_some(labels.as_slice());
    let metrics: BTreeSet<String> = points
        .iter()
        .flat_map(|p| p.summaries.iter().flat_map(|s| s.metrics.keys().cloned()))
        .collect();
    page.heading("plots", &format!("Figures vs {param}"));
    page.raw("<div class=\"grid\">");
    for (name, cells) in table
        .iter()
        .filter(|(n, _)| plotted(n, &metrics))
        .take(MAX_SWEEP_PLOTS)
    {
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
            param,
            name,
            &[(name.clone(), series)],
            categories,
        )?;
        page.raw(&format!("<figure>{svg}</figure>"));
    }
    page.raw("</div>");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::{CheckResult, OpSummary};

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
        assert!(html.contains("0.720 ± "), "mean ± CI cell");
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
