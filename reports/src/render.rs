//! The report pages: `report.html` for one run, and the compare page for several.

use crate::aggregate::{RunInfo, Summary};
use crate::error::ReportError;
use crate::figures::{all_figures, Figure, RunView};
use crate::html::{badge, escape, Page, Table};
use crate::read::RecordReader;
use crate::series::{RunData, MAX_LISTED_VIOLATIONS};
use crate::table::{fmt_bytes, fmt_duration_ms, fmt_metric, fmt_pct, group_digits};
use crate::RECORD_SCHEMA_VERSION;
use std::path::{Path, PathBuf};

/// A run directory read from disk.
pub(crate) struct LoadedRun {
    pub(crate) view: RunView,
    config: Option<serde_json::Value>,
}

fn read_json(path: &Path) -> Result<Option<serde_json::Value>, ReportError> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|source| ReportError::BadJson {
                path: path.to_path_buf(),
                source,
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ReportError::io(path, e)),
    }
}

/// Streams `records.jsonl` and reads `summary.json` and `config.json` of `dir`.
///
/// `records.jsonl` is required; a missing `summary.json` is recomputed from the records (without
/// wall time or memory), a missing `config.json` is reported as such on the page.
pub(crate) fn load_run(dir: &Path) -> Result<LoadedRun, ReportError> {
    let mut data = RunData::new();
    for record in RecordReader::open(&dir.join("records.jsonl"))? {
        data.push(&record?);
    }
    data.finish();
    let summary_path = dir.join("summary.json");
    let summary = match read_json(&summary_path)? {
        Some(v) => serde_json::from_value::<Summary>(v).map_err(|source| ReportError::BadJson {
            path: summary_path,
            source,
        })?,
        None => {
            let info = RunInfo {
                scenario: data.meta.as_ref().map(|m| m.scenario.clone()).unwrap_or_default(),
                seed: data.meta.as_ref().map_or(0, |m| m.seed),
                fingerprint: data
                    .end
                    .as_ref()
                    .map(|e| e.fingerprint.clone())
                    .unwrap_or_default(),
                sim_duration_s: data.end_s(),
                events: data.end.as_ref().map_or(0, |e| e.events),
                peers_max: data.agg.live_peers_max(),
                ..RunInfo::default()
            };
            data.agg.summary(&info)
        }
    };
    let config = read_json(&dir.join("config.json"))?;
    let label = format!("{} seed {}", summary.scenario, summary.seed);
    Ok(LoadedRun {
        view: RunView {
            label,
            data,
            summary,
            params: config.as_ref().map(set_params).unwrap_or_default(),
        },
        config,
    })
}

/// The `--set key=value` pairs of config.json's replay command, in order.
pub(crate) fn set_params(config: &serde_json::Value) -> Vec<(String, String)> {
    let replay = config.get("replay").and_then(|r| r.as_str()).unwrap_or("");
    let words = shell_words(replay);
    words
        .windows(2)
        .filter(|w| w[0] == "--set")
        .filter_map(|w| {
            let (k, v) = w[1].split_once('=')?;
            Some((k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

/// Splits a command line as a POSIX shell does for the quoting [`shell_word`] produces: single
/// quotes (with `'\''` for a quote inside), double quotes and backslashes.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                word.extend(chars.by_ref().take_while(|c| *c != '\''));
            }
            '"' => {
                in_word = true;
                while let Some(d) = chars.next() {
                    match d {
                        '"' => break,
                        '\\' => word.extend(chars.next()),
                        d => word.push(d),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.extend(chars.next());
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// The command that reproduces a run: config.json's `replay` when the simulator wrote one (it knows
/// the `--set` overrides), else `peerlab run <source_path or scenario> --seed <seed>`.
fn replay_command(config: Option<&serde_json::Value>, summary: &Summary) -> String {
    let key = |k: &str| {
        config
            .and_then(|c| c.get(k))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    if let Some(cmd) = key("replay").filter(|c| !c.trim().is_empty()) {
        return cmd;
    }
    let file = key("source_path").unwrap_or_else(|| summary.scenario.clone());
    format!(
        "peerlab run {} --seed {}",
        crate::output::shell_quote(&file),
        summary.seed
    )
}

/// `replay` for a violation seen under `seed` (the run's seed in practice; substituted if not).
fn violation_replay(replay: &str, run_seed: u64, seed: u64) -> String {
    if seed == run_seed {
        return replay.to_string();
    }
    replay.replace(&format!("--seed {run_seed}"), &format!("--seed {seed}"))
}

/// Quotes a path for a POSIX shell when it holds anything but safe characters.
fn write_file(path: &Path, text: &str) -> Result<(), ReportError> {
    crate::output::write_file(path, text).map_err(|e| ReportError::io(path, e))
}

/// Renders `run_dir/report.html` and its CSVs from `config.json`, `records.jsonl` and
/// `summary.json`; returns the HTML path. Memory stays bounded: records are streamed.
pub fn render_run(run_dir: &Path) -> Result<PathBuf, ReportError> {
    let run = load_run(run_dir)?;
    let figures = all_figures(std::slice::from_ref(&run.view))?;
    crate::csv::write_all(&run.view, run_dir)?;
    let html = run_page(&run, &figures);
    let path = run_dir.join("report.html");
    write_file(&path, &html)?;
    Ok(path)
}

fn run_page(run: &LoadedRun, figures: &[Figure]) -> String {
    let s = &run.view.summary;
    let data = &run.view.data;
    let config = run.config.as_ref();
    let mut p = Page::new();
    p.text("h1", &format!("{} · seed {}", s.scenario, s.seed));
    if let Some(desc) = config.and_then(|c| c.get("description")).and_then(|d| d.as_str()) {
        p.raw(&format!("<p class=\"desc\">{}</p>", escape(desc)));
    }
    let peerlab_version = data
        .meta
        .as_ref()
        .map_or("unknown".to_string(), |m| m.version.clone());
    p.facts(&[
        ("fingerprint", s.fingerprint.clone()),
        ("simulated", fmt_duration_ms(s.sim_duration_s * 1e3)),
        ("wall time", format!("{:.2} s", s.wall_s)),
        (
            "events",
            format!(
                "{} ({} /s)",
                group_digits(s.events),
                group_digits(s.events_per_sec.round() as u64)
            ),
        ),
        ("peers max", group_digits(s.peers_max)),
        ("peak memory", fmt_bytes(s.peak_rss_bytes)),
        ("violations", group_digits(s.violations)),
        (
            "versions",
            format!(
                "peerlab {peerlab_version} · reports {} · records v{}",
                env!("CARGO_PKG_VERSION"),
                data.meta.as_ref().map_or(RECORD_SCHEMA_VERSION, |m| m.schema)
            ),
        ),
    ]);
    let replay = replay_command(config, s);
    p.raw(&format!(
        "<p>Reproduce: <code class=\"cmd\">{}</code></p>",
        escape(&replay)
    ));
    checks_section(&mut p, s);
    operations_section(&mut p, s);
    metrics_section(&mut p, s);
    violations_section(&mut p, run, &replay);
    figures_section(&mut p, figures);
    phases_section(&mut p, data);
    p.heading("config", "Configuration (expanded)");
    match config {
        Some(c) => {
            let pretty = serde_json::to_string_pretty(c).unwrap_or_else(|_| c.to_string());
            p.raw(&format!("<pre class=\"config\">{}</pre>", escape(&pretty)));
        }
        None => {
            p.raw("<p class=\"note\">config.json was not found in the run directory.</p>");
        }
    }
    let peer_load = if data.agg.load.peers().is_empty() {
        ""
    } else {
        " · <a href=\"peer_load.csv\">peer_load.csv</a> (a row per peer)"
    };
    p.raw(&format!(
        "<footer>CSV beside this page: <a href=\"timeseries.csv\">timeseries.csv</a> · \
         <a href=\"latency_cdf.csv\">latency_cdf.csv</a> · <a href=\"hops.csv\">hops.csv</a> · \
         <a href=\"ops.csv\">ops.csv</a>{peer_load} · <a href=\"metrics.csv\">metrics.csv</a> \
         (tidy: a row per figure); each led by the run's seed and <code>--set</code> parameters\
         </footer>",
    ));
    p.finish(&format!("peerlab · {} · seed {}", s.scenario, s.seed))
}

fn checks_section(p: &mut Page, s: &Summary) {
    p.heading("checks", "Checks");
    if s.checks.is_empty() {
        p.raw("<p class=\"note\">The scenario declares no checks.</p>");
        return;
    }
    let mut t = Table::new(&["result", "check", "detail"], 3);
    for c in &s.checks {
        t.rows.push(vec![
            badge(c.passed).to_string(),
            escape(&c.name),
            escape(&c.detail),
        ]);
    }
    p.table(&t);
}

fn operations_section(p: &mut Page, s: &Summary) {
    p.heading("operations", "Operations");
    if s.operations.is_empty() {
        p.raw("<p class=\"note\">No operation completed.</p>");
        return;
    }
    let header = [
        "operation",
        "started",
        "succeeded",
        "failed",
        "success",
        "offline target (ok / failed)",
        "asker left",
        "unfinished",
        "p50",
        "p90",
        "p99",
        "max",
        "hops mean · p50 / p90 / p99 / max",
    ];
    let mut t = Table::new(&header, 1);
    for (kind, o) in &s.operations {
        let hops = o.hops.map_or("–".to_string(), |h| {
            let ci = o
                .hops_mean_ci95
                .map_or(String::new(), |[lo, hi]| format!(" [{lo:.2}–{hi:.2}]"));
            format!(
                "{:.2}{ci} · {} / {} / {} / {}",
                h.mean, h.p50, h.p90, h.p99, h.max
            )
        });
        t.rows.push(vec![
            format!("<b>{}</b>", escape(kind)),
            group_digits(o.started),
            group_digits(o.succeeded),
            group_digits(o.failed),
            fmt_pct(o.success_ratio),
            format!(
                "{} ({} / {})",
                group_digits(o.target_offline),
                group_digits(o.target_offline_ok),
                group_digits(o.target_offline_failed)
            ),
            group_digits(o.source_left),
            group_digits(o.unfinished),
            fmt_duration_ms(o.latency_ms.p50),
            fmt_duration_ms(o.latency_ms.p90),
            fmt_duration_ms(o.latency_ms.p99),
            fmt_duration_ms(o.latency_ms.max),
            hops,
        ]);
    }
    p.table(&t);
    p.raw(
        "<p class=\"note\">Success ratio, latency and hops count operations whose target was online; \
         operations on an offline target, those whose asker left before they completed and those \
         still open when the run ended are counted apart. The <code>max_failed_ratio</code> checks \
         also leave out resolves started while a partition was in force or within \
         <code>liveness_within</code> of its heal (the <code>liveness_after_heal</code> checks judge \
         those), so a run with partitions can pass its check with a lower success here.</p>",
    );
    failures_table(p, s);
}

/// Failure causes of operations with the target online, with their share of the kind's failures.
fn failures_table(p: &mut Page, s: &Summary) {
    let mut t = Table::new(&["operation", "failure cause", "count", "share of failures"], 2);
    for (kind, o) in &s.operations {
        for (cause, n) in &o.failures {
            let share = *n as f64 / o.failed.max(1) as f64;
            t.rows.push(vec![
                escape(kind),
                escape(cause),
                group_digits(*n),
                fmt_pct(share),
            ]);
        }
    }
    if !t.rows.is_empty() {
        p.table(&t);
    }
}

fn metrics_section(p: &mut Page, s: &Summary) {
    if s.metrics.is_empty() {
        return;
    }
    p.heading("metrics", "Protocol metrics");
    let mut t = Table::new(&["metric", "value"], 1);
    for (k, v) in &s.metrics {
        t.rows.push(vec![escape(k), escape(&fmt_metric(k, *v))]);
    }
    p.table(&t);
}

fn violations_section(p: &mut Page, run: &LoadedRun, replay: &str) {
    let s = &run.view.summary;
    let listed = &run.view.data.violations;
    p.heading(
        "violations",
        &format!(
            "Violations ({})",
            group_digits(s.violations.max(listed.len() as u64))
        ),
    );
    if listed.is_empty() {
        p.raw(&format!("<p>{} No invariant was violated.</p>", badge(true)));
        return;
    }
    let mut t = Table::new(&["time (s)", "event", "node", "invariant", "detail", "replay"], 0);
    t.numeric = vec![true, true, true, false, false, false];
    for v in listed {
        let cmd = violation_replay(replay, s.seed, v.seed);
        t.rows.push(vec![
            format!("{:.3}", v.t_us as f64 / 1e6),
            group_digits(v.event_index),
            v.node.to_string(),
            format!("<b>{}</b>", escape(&v.invariant)),
            escape(&v.detail),
            format!("<code>{}</code>", escape(&cmd)),
        ]);
    }
    p.table(&t);
    if s.violations > listed.len() as u64 {
        p.raw(&format!(
            "<p class=\"note\">Showing the first {MAX_LISTED_VIOLATIONS} of {} violations.</p>",
            group_digits(s.violations)
        ));
    }
}

pub(crate) fn figures_section(p: &mut Page, figures: &[Figure]) {
    p.heading("plots", "Plots");
    p.raw("<div class=\"grid\">");
    for f in figures {
        if let Some(svg) = &f.svg {
            p.raw(&format!(
                "<figure>{svg}<figcaption>{}</figcaption></figure>",
                escape(&f.note)
            ));
        }
    }
    p.raw("</div>");
    // No empty panels: plots without data are named in one line.
    let empty: Vec<String> = figures
        .iter()
        .filter(|f| f.svg.is_none())
        .map(|f| format!("{} ({})", escape(&f.title), escape(&f.note)))
        .collect();
    if !empty.is_empty() {
        p.raw(&format!(
            "<p class=\"note\">Not drawn, no data: {}.</p>",
            empty.join("; ")
        ));
    }
}

fn phases_section(p: &mut Page, data: &RunData) {
    if data.phases.is_empty() {
        return;
    }
    p.heading("phases", "Phases");
    let mut t = Table::new(&["kind", "label", "start (s)", "end (s)"], 2);
    for ph in &data.phases {
        t.rows.push(vec![
            escape(&ph.kind),
            escape(&ph.label),
            format!("{:.1}", ph.start_us as f64 / 1e6),
            format!("{:.1}", ph.end_us as f64 / 1e6),
        ]);
    }
    p.table(&t);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_params_come_from_the_replay_command() {
        let c = serde_json::json!({"replay": "cargo run --release -- run a.toml --seed 4 \
            --set 'network.loss=1%' --set \"peers.0.count=500\" --set 'x=it'\\''s'"});
        assert_eq!(
            set_params(&c),
            vec![
                ("network.loss".to_string(), "1%".to_string()),
                ("peers.0.count".to_string(), "500".to_string()),
                ("x".to_string(), "it's".to_string()),
            ]
        );
        assert!(set_params(&serde_json::json!({})).is_empty());
    }

    #[test]
    fn replay_uses_source_path_and_quotes_it() {
        let s = Summary {
            scenario: "quick".into(),
            seed: 9,
            ..Summary::default()
        };
        assert_eq!(replay_command(None, &s), "peerlab run quick --seed 9");
        let c = serde_json::json!({"source_path": "scenarios/pnrp/quick start.toml"});
        assert_eq!(
            replay_command(Some(&c), &s),
            "peerlab run 'scenarios/pnrp/quick start.toml' --seed 9"
        );
        let c = serde_json::json!({"source_path": "scenarios/quickstart.toml"});
        assert_eq!(
            replay_command(Some(&c), &s),
            "peerlab run scenarios/quickstart.toml --seed 9"
        );
        let cmd = "cargo run --release -- run a.toml --seed 9 --set 'loss=1%'";
        let c = serde_json::json!({"source_path": "a.toml", "replay": cmd});
        assert_eq!(replay_command(Some(&c), &s), cmd);
        assert_eq!(violation_replay(cmd, 9, 9), cmd);
        assert_eq!(
            violation_replay(cmd, 9, 4),
            "cargo run --release -- run a.toml --seed 4 --set 'loss=1%'"
        );
    }
}
