//! The compare page: several runs, or several sets of seeds, against the first as baseline.
//!
//! A difference is called better or worse only when it is significant across seeds: each side
//! needs two runs or more, and Welch's 95% interval of the difference of means must exclude zero.
//! With one run on a side the delta is shown but not judged ("n=1, not tested"). Host figures
//! (wall time, events/s, memory) describe the machine, not the protocol, and are tabled apart.

use crate::error::ReportError;
use crate::figures::{all_figures, RunView};
use crate::html::{escape, Page, Table};
use crate::interval::{holm, mean_var, t975, t_two_sided_p};
use crate::render::{figures_section, load_run, LoadedRun};
use crate::stats::{figure_values_of, headline_figures, higher_is_better, is_host_figure};
use crate::table::fmt_num;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One side of a comparison: a run directory, or a directory of seed runs.
struct Side {
    label: String,
    dir: PathBuf,
    runs: Vec<LoadedRun>,
}

/// Whether `dir` is a run directory itself.
fn is_run_dir(dir: &Path) -> bool {
    dir.join("records.jsonl").is_file()
}

/// Loads `dir` as one run, or, when it holds no records itself, every run directory directly
/// inside it (the `<seed>/` directories `--seeds` writes), in name order.
fn load_side(dir: &Path) -> Result<Side, ReportError> {
    let dirs = if is_run_dir(dir) {
        vec![dir.to_path_buf()]
    } else {
        let entries = std::fs::read_dir(dir).map_err(|e| ReportError::io(dir, e))?;
        let mut dirs: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| is_run_dir(p))
            .collect();
        // Seed directories are numbers: order 2 before 10.
        dirs.sort_by_key(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            (name.parse::<u64>().unwrap_or(u64::MAX), name)
        });
        dirs
    };
    if dirs.is_empty() {
        return Err(ReportError::Empty(format!(
            "{} holds no records.jsonl, nor run directories that do",
            dir.display()
        )));
    }
    let runs = dirs.iter().map(|d| load_run(d)).collect::<Result<Vec<_>, _>>()?;
    let first = &runs[0].view.summary;
    let label = if runs.len() == 1 {
        runs[0].view.label.clone()
    } else {
        let seeds: Vec<String> = runs.iter().map(|r| r.view.summary.seed.to_string()).collect();
        format!("{} seeds {} (n={})", first.scenario, seeds.join(","), runs.len())
    };
    Ok(Side {
        label,
        dir: dir.to_path_buf(),
        runs,
    })
}

/// Renders `out_dir/compare.html` comparing `dirs` (the first is the baseline). Each entry is a
/// run directory or a directory of seed runs; the plots overlay the first run of each.
pub fn render_compare(dirs: &[PathBuf], out_dir: &Path) -> Result<PathBuf, ReportError> {
    if dirs.is_empty() {
        return Err(ReportError::Empty(
            "compare needs at least one run directory".into(),
        ));
    }
    let mut sides = dirs.iter().map(|d| load_side(d)).collect::<Result<Vec<_>, _>>()?;
    // Labels must tell sides apart; fall back to directory paths when they repeat.
    let labels: BTreeSet<&String> = sides.iter().map(|s| &s.label).collect();
    if labels.len() < sides.len() {
        for s in &mut sides {
            s.label = s.dir.display().to_string();
        }
    }
    let summaries: Vec<Vec<_>> = sides
        .iter()
        .map(|s| s.runs.iter().map(|r| r.view.summary.clone()).collect())
        .collect();
    // Every figure of any side, so a counter one side never reports is 0 there, not missing.
    let all: BTreeSet<String> = summaries
        .iter()
        .flatten()
        .flat_map(|s| headline_figures(s).into_keys())
        .collect();
    let values: Vec<BTreeMap<String, Vec<f64>>> =
        summaries.iter().map(|s| figure_values_of(s, &all)).collect();
    let labels: Vec<String> = sides.iter().map(|s| s.label.clone()).collect();
    let mut p = Page::new();
    p.text("h1", "peerlab · run comparison");
    let mut t = Table::new(&["side", "runs", "seeds", "directory"], 1);
    for s in &sides {
        let seeds: Vec<String> = s.runs.iter().map(|r| r.view.summary.seed.to_string()).collect();
        t.rows.push(vec![
            format!("<b>{}</b>", escape(&s.label)),
            s.runs.len().to_string(),
            escape(&seeds.join(", ")),
            format!("<code>{}</code>", escape(&s.dir.display().to_string())),
        ]);
    }
    p.table(&t);
    p.heading("deltas", "Protocol figures");
    p.raw(&format!(
        "<p class=\"note\">Against the baseline <b>{}</b>. Each cell is the mean over the side's \
         runs (a counter a run does not report counts as 0). Δ is the difference of means with \
         Welch's 95% interval. It is called better or worse only when Welch's t-test finds it \
         significant at 5% after Holm's correction over all the figures of the column (so the \
         chance that any unchanged figure is flagged stays under 5%); that needs two runs or \
         more on both sides. With one run on a side the difference is shown but not tested.</p>",
        escape(&labels[0])
    ));
    p.table(&delta_table(&labels, &values, false));
    p.heading("host", "Host figures (this machine, not the protocol)");
    p.raw(
        "<p class=\"note\">Wall time, events per second and memory depend on the machine and its \
         load; they are shown, never judged.</p>",
    );
    p.table(&delta_table(&labels, &values, true));
    let views: Vec<RunView> = sides
        .into_iter()
        .map(|s| {
            let mut view = s.runs.into_iter().next().expect("a side has a run").view;
            view.label = s.label;
            view
        })
        .collect();
    figures_section(&mut p, &all_figures(&views)?);
    std::fs::create_dir_all(out_dir).map_err(|e| ReportError::io(out_dir, e))?;
    let path = out_dir.join("compare.html");
    std::fs::write(&path, p.finish("peerlab · run comparison")).map_err(|e| ReportError::io(&path, e))?;
    Ok(path)
}

/// Welch's test of `b − a`: the difference of means, its 95% interval and the two-sided p-value,
/// when both sides have two values or more.
pub(crate) struct Welch {
    /// Difference of means, `mean(b) − mean(a)`.
    pub(crate) diff: f64,
    /// 95% interval of the difference.
    pub(crate) lo: f64,
    /// Upper end of the interval.
    pub(crate) hi: f64,
    /// Two-sided p-value of "no difference".
    pub(crate) p: f64,
}

/// Welch's unequal-variance t-test of `b` against `a`.
pub(crate) fn welch(a: &[f64], b: &[f64]) -> Option<Welch> {
    if a.len() < 2 || b.len() < 2 {
        return None;
    }
    let ((ma, va), (mb, vb)) = (mean_var(a), mean_var(b));
    let (sa, sb) = (va / a.len() as f64, vb / b.len() as f64);
    let diff = mb - ma;
    let se2 = sa + sb;
    if se2 == 0.0 {
        // No spread on either side: the runs are deterministic in this figure.
        let p = if diff == 0.0 { 1.0 } else { 0.0 };
        return Some(Welch {
            diff,
            lo: diff,
            hi: diff,
            p,
        });
    }
    // Welch–Satterthwaite degrees of freedom; the interval rounds them down (wider, safer).
    let df = se2 * se2 / (sa * sa / (a.len() - 1) as f64 + sb * sb / (b.len() - 1) as f64);
    let half = t975((df.floor() as usize).max(1)) * se2.sqrt();
    Some(Welch {
        diff,
        lo: diff - half,
        hi: diff + half,
        p: t_two_sided_p(diff / se2.sqrt(), df),
    })
}

/// The verdict on `b` against `a` for the figure `name`, given its Holm-adjusted p-value
/// (`None` when untested): (CSS class, words).
pub(crate) fn verdict(
    name: &str,
    a: &[f64],
    b: &[f64],
    adjusted_p: Option<f64>,
) -> (&'static str, &'static str) {
    let same = |v: &[f64]| v.windows(2).all(|w| w[0] == w[1]);
    if !a.is_empty() && same(a) && same(b) && b.first() == a.first() {
        return ("same", "same");
    }
    let (Some(w), Some(p)) = (welch(a, b), adjusted_p) else {
        return ("neutral", "n=1, not tested");
    };
    if p >= 0.05 {
        return ("same", "no significant difference");
    }
    match higher_is_better(name) {
        Some(up) if up == (w.diff > 0.0) => ("better", "better"),
        Some(_) => ("worse", "worse"),
        None => ("neutral", "changed"),
    }
}

/// Holm-adjusted p-values of every figure tested between `a` and `b` (the family: one column).
fn adjusted_p_values<'a>(
    names: &[&'a String],
    a: &BTreeMap<String, Vec<f64>>,
    b: &BTreeMap<String, Vec<f64>>,
) -> BTreeMap<&'a String, f64> {
    let tested: Vec<(&String, f64)> = names
        .iter()
        .filter_map(|n| Some((*n, welch(a.get(*n)?, b.get(*n)?)?.p)))
        .collect();
    let p: Vec<f64> = tested.iter().map(|t| t.1).collect();
    tested.iter().map(|t| t.0).zip(holm(&p)).collect()
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Rows: the protocol figures (or, with `host`, the host figures); columns: the baseline, then
/// each other side with its Δ and verdict.
fn delta_table(labels: &[String], values: &[BTreeMap<String, Vec<f64>>], host: bool) -> Table {
    let names: BTreeSet<&String> = values
        .iter()
        .flat_map(|f| f.keys())
        .filter(|n| is_host_figure(n) == host)
        .collect();
    let mut header = vec!["figure".to_string(), labels[0].clone()];
    for l in &labels[1..] {
        header.push(l.clone());
        header.push("Δ [95% interval]".into());
        if !host {
            header.push("verdict".into());
        }
    }
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut t = Table::new(&header, 1);
    for (i, h) in header.iter().enumerate() {
        t.numeric[i] = i > 0 && *h != "verdict";
    }
    let cell = |v: Option<&Vec<f64>>| v.filter(|v| !v.is_empty()).map(|v| mean(v));
    let names: Vec<&String> = names.into_iter().collect();
    let adjusted: Vec<BTreeMap<&String, f64>> = values[1..]
        .iter()
        .map(|f| adjusted_p_values(&names, &values[0], f))
        .collect();
    for name in names {
        let base = values[0].get(name);
        let mut row = vec![escape(name), cell(base).map_or("–".into(), fmt_num)];
        for (f, adjusted) in values[1..].iter().zip(&adjusted) {
            let other = f.get(name);
            row.push(cell(other).map_or("–".into(), fmt_num));
            match (base.filter(|v| !v.is_empty()), other.filter(|v| !v.is_empty())) {
                (Some(a), Some(b)) => {
                    let d = mean(b) - mean(a);
                    let interval = match welch(a, b) {
                        Some(w) if !host => format!(" [{}, {}]", fmt_num(w.lo), fmt_num(w.hi)),
                        _ => String::new(),
                    };
                    row.push(format!("{}{interval}", fmt_delta(d)));
                    if !host {
                        let (class, word) = verdict(name, a, b, adjusted.get(name).copied());
                        row.push(format!("<span class=\"{class}\">{word}</span>"));
                    }
                }
                _ => {
                    row.push("–".into());
                    if !host {
                        row.push("<span class=\"neutral\">n/a</span>".into());
                    }
                }
            }
        }
        t.rows.push(row);
    }
    t
}

fn fmt_delta(d: f64) -> String {
    if d > 0.0 {
        format!("+{}", fmt_num(d))
    } else {
        fmt_num(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_need_seeds_on_both_sides_and_a_significant_difference() {
        // One run per side: shown, not judged.
        assert_eq!(
            verdict("resolve.latency_ms.p99", &[100.0], &[120.0], None).1,
            "n=1, not tested"
        );
        assert_eq!(
            verdict("resolve.latency_ms.p99", &[100.0], &[100.0], None).1,
            "same"
        );
        // Seed noise: SOLICIT counts scattered the same way on both sides.
        let a = [1000.0, 1012.0, 995.0, 1003.0, 990.0];
        let b = [1001.0, 1009.0, 998.0, 1006.0, 993.0];
        let p = |x: &[f64], y: &[f64]| welch(x, y).map(|w| w.p);
        assert_eq!(
            verdict("pnrp.messages_per_resolve", &a, &b, p(&a, &b)).1,
            "no significant difference"
        );
        // A real shift is called, in the figure's direction.
        let slow = [1100.0, 1112.0, 1095.0, 1103.0, 1090.0];
        let ps = p(&a, &slow);
        assert_eq!(verdict("resolve.latency_ms.p99", &a, &slow, ps).1, "worse");
        assert_eq!(verdict("resolve.success_ratio", &a, &slow, ps).1, "better");
        assert_eq!(verdict("peers_max", &a, &slow, ps).1, "changed");
        let w = welch(&a, &slow).unwrap();
        assert!(w.lo < w.diff && w.diff < w.hi && w.lo > 0.0 && w.p < 1e-4);
        // Holm: significant alone, not among many figures.
        assert_eq!(
            verdict("x_ms", &a, &slow, Some(0.2)).1,
            "no significant difference"
        );
    }
}
