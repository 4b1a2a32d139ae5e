//! End-to-end: synthetic run directories rendered to HTML and CSV, checked for well-formedness,
//! self-containment and non-empty plots.

use peerlab_reports::*;
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// A fresh directory under the target dir (tests must not depend on the wall clock or a tmp crate).
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Deterministic pseudo-random numbers (an LCG is enough for fixture data).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    /// True with probability 1/n.
    fn one_in(&mut self, n: u64) -> bool {
        self.next() % n < 1
    }
}

/// Writes a run directory: `samples` samples 2 s apart, `ops_per_sample` operations each.
fn write_run(dir: &Path, seed: u64, samples: u64, ops_per_sample: u64, slow: u64) -> Summary {
    let mut rng = Lcg(seed);
    let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join("records.jsonl")).unwrap());
    let mut agg = Aggregator::new();
    let mut emit = |r: Record, agg: &mut Aggregator| {
        agg.push(&r);
        serde_json::to_writer(&mut out, &r).unwrap();
        out.write_all(b"\n").unwrap();
    };
    let duration_us = samples * 2_000_000;
    emit(
        Record::Meta(Meta {
            schema: RECORD_SCHEMA_VERSION,
            scenario: "churny <cloud>".into(),
            seed,
            duration_us,
            version: "0.1.0".into(),
            warmup_us: 0,
        }),
        &mut agg,
    );
    emit(
        Record::Phase(Phase {
            kind: "churn".into(),
            label: "ramp".into(),
            start_us: 0,
            end_us: duration_us / 5,
        }),
        &mut agg,
    );
    emit(
        Record::Phase(Phase {
            kind: "fault".into(),
            label: "partition 40%/60%".into(),
            start_us: duration_us / 2,
            end_us: duration_us * 3 / 5,
        }),
        &mut agg,
    );
    let types = ["resolve_request", "resolve_response", "flood", "lookup", "ack"];
    let mut msgs: BTreeMap<String, u64> = BTreeMap::new();
    let mut bytes: BTreeMap<String, u64> = BTreeMap::new();
    for i in 1..=samples {
        let t_us = i * 2_000_000;
        let in_fault = t_us >= duration_us / 2 && t_us < duration_us * 3 / 5;
        let (mut ok, mut failed) = (BTreeMap::new(), BTreeMap::new());
        for _ in 0..ops_per_sample {
            let kind = if rng.one_in(10) { "register" } else { "resolve" };
            let online = !rng.one_in(20);
            let fail = online && (rng.one_in(50) || (in_fault && rng.one_in(3)));
            let outcome = if fail {
                ["timeout", "not_found"][(rng.next() % 2) as usize]
            } else {
                "ok"
            };
            let latency_us = 20_000 + rng.next() % 150_000 + slow;
            let hops = (kind == "resolve").then(|| 1 + (rng.next() % 6) as u32);
            if online {
                *(if fail { &mut failed } else { &mut ok })
                    .entry(kind.to_string())
                    .or_insert(0) += 1;
            }
            emit(
                Record::Op(OpRecord {
                    target: None,
                    t_us: t_us - 1_000_000,
                    kind: kind.into(),
                    node: (rng.next() % 1000) as u32,
                    outcome: outcome.into(),
                    target_online: online,
                    latency_us,
                    hops,
                    messages: 4,
                }),
                &mut agg,
            );
        }
        for (k, ty) in types.iter().enumerate() {
            let n = (k as u64 + 1) * 40 + rng.next() % 20;
            *msgs.entry(ty.to_string()).or_insert(0) += n;
            *bytes.entry(ty.to_string()).or_insert(0) += n * (100 + 50 * k as u64);
        }
        let live = if in_fault { 800 } else { 1000 - (i % 7) * 10 };
        emit(
            Record::Sample(Sample {
                t_us,
                live_peers: live,
                events: i * 1000,
                messages: msgs.clone(),
                bytes: bytes.clone(),
                cache_levels: vec![4.0, 9.5, 7.0 + (i % 3) as f64, 3.0],
                leafset_correct: if in_fault { 0.7 } else { 0.99 },
                ops_ok: ok,
                ops_failed: failed,
            }),
            &mut agg,
        );
        if i == samples / 2 + 1 {
            emit(
                Record::Violation(Violation {
                    seed,
                    t_us,
                    event_index: i * 1000 + 7,
                    node: 42,
                    invariant: "stale_endpoint".into(),
                    detail: "resolved <dead> peer 0x1f".into(),
                }),
                &mut agg,
            );
        }
    }
    for node in 0..50u32 {
        let sent = 200 + rng.next() % 400;
        emit(
            Record::PeerLoad(PeerLoad {
                node,
                sessions: 1 + (node % 3),
                messages_sent: sent,
                bytes_sent: sent * 150,
                messages_received: sent + rng.next() % 50,
                bytes_received: sent * 140,
            }),
            &mut agg,
        );
    }
    emit(
        Record::End(End {
            t_us: duration_us,
            events: samples * 1000,
            fingerprint: format!("{seed:016x}"),
        }),
        &mut agg,
    );
    out.flush().unwrap();
    drop(out);
    let mut metrics = BTreeMap::new();
    metrics.insert("pnrp.messages_per_resolve".to_string(), 6.5 + (seed % 5) as f64);
    let run = RunInfo {
        scenario: "churny <cloud>".into(),
        seed,
        fingerprint: format!("{seed:016x}"),
        sim_duration_s: duration_us as f64 / 1e6,
        wall_s: 1.5,
        setup_s: 0.5,
        events: samples * 1000,
        peak_rss_bytes: 64 << 20,
        peers_max: 1000,
        metrics,
    };
    let mut summary = agg.summary(&run);
    summary.checks.push(CheckResult {
        name: "max_failed_ratio".into(),
        passed: true,
        detail: "1.9% <= 2%".into(),
    });
    summary.checks.push(CheckResult {
        name: "no_violations".into(),
        passed: false,
        detail: "1 violation".into(),
    });
    std::fs::write(
        dir.join("summary.json"),
        serde_json::to_string_pretty(&summary).unwrap(),
    )
    .unwrap();
    let config = serde_json::json!({
        "name": "churny <cloud>",
        "description": "1,000 peers resolve each other through a partition & heal.",
        "source_path": "scenarios/pnrp/churny-cloud.toml",
        "seed": seed,
        "network": {"latency": {"model": "internet", "median_us": 70000}},
        "replay": format!("peerlab run scenarios/pnrp/churny-cloud.toml --seed {seed} --set 'network.loss=1%' --set peers.0.count=40"),
    });
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_string_pretty(&config).unwrap(),
    )
    .unwrap();
    summary
}

const VOID: [&str; 6] = ["meta", "br", "hr", "img", "input", "link"];

/// Checks that every opened tag is closed in order; returns the tag names seen.
fn assert_balanced(html: &str) -> Vec<String> {
    let mut stack: Vec<String> = Vec::new();
    let mut seen = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        rest = &rest[start..];
        if rest.starts_with("<!--") {
            rest = &rest[rest.find("-->").expect("unterminated comment") + 3..];
            continue;
        }
        let end = rest.find('>').expect("unterminated tag");
        let tag = &rest[1..end];
        rest = &rest[end + 1..];
        if tag.starts_with('!') || tag.starts_with('?') {
            continue;
        }
        assert!(!tag.contains('<'), "a '<' inside a tag: {tag}");
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack.pop().unwrap_or_else(|| panic!("</{name}> closes nothing"));
            assert_eq!(open, name.trim(), "mismatched close");
            continue;
        }
        let name: String = tag
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '/')
            .collect();
        assert!(!name.is_empty(), "empty tag <{tag}>");
        seen.push(name.clone());
        if tag.ends_with('/') || VOID.contains(&name.as_str()) {
            continue;
        }
        stack.push(name);
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    seen
}

/// No external request: every src/href is relative, except the SVG namespace declaration.
fn assert_self_contained(html: &str) {
    let stripped = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    for bad in ["http://", "https://", "src=\"//", "href=\"//", "@import", "url("] {
        assert!(!stripped.contains(bad), "external reference {bad}");
    }
    assert!(!html.contains("<script"), "no script needed");
}

/// The SVG documents of a page.
fn svgs(html: &str) -> Vec<&str> {
    html.match_indices("<svg")
        .map(|(i, _)| &html[i..i + html[i..].find("</svg>").unwrap()])
        .collect()
}

#[test]
fn run_report_is_well_formed_self_contained_and_every_plot_has_data() {
    let dir = scratch("run_report");
    let summary = write_run(&dir, 7, 150, 40, 0);
    let html_path = render_run(&dir).unwrap();
    assert_eq!(html_path, dir.join("report.html"));
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert_balanced(&html);
    assert_self_contained(&html);
    assert!(!html.contains("Not drawn, no data"), "a plot had no data");
    let plots = svgs(&html);
    assert_eq!(plots.len(), 10, "ten plots");
    for title in [
        "Operation latency CDF",
        "Hops per successful operation",
        "Success ratio over time",
        "Live peers",
        "Messages per second by message type",
        "Bytes per second by message type",
        "Cache occupancy by level",
        "Leaf-set correctness",
        "Messages per peer over the run (CDF across peers)",
        "Bytes per peer over the run (CDF across peers)",
    ] {
        let svg = plots
            .iter()
            .find(|s| s.contains(title))
            .unwrap_or_else(|| panic!("no plot {title}"));
        // Data is drawn as polylines (lines) or filled rectangles beyond the background (bars).
        let lines = svg.matches("<polyline").count();
        let bars = svg.matches("<rect").count();
        assert!(lines >= 1 || bars >= 3, "{title}: no series drawn");
    }
    // Header facts, escaping, checks, violations with replay, config.
    assert!(html.contains("<h1>churny &lt;cloud&gt; · seed 7</h1>"));
    assert!(html.contains(&summary.fingerprint));
    assert!(html.contains("peerlab run scenarios/pnrp/churny-cloud.toml --seed 7"));
    assert!(html.contains("resolved &lt;dead&gt; peer 0x1f"));
    assert!(html.contains("badge fail") && html.contains("badge pass"));
    assert!(
        html.contains("&quot;median_us&quot;: 70000"),
        "pretty, escaped config"
    );
    assert!(html.contains("partition 40%/60%"), "phases listed");
    // CSV beside the page.
    let ts = std::fs::read_to_string(dir.join("timeseries.csv")).unwrap();
    let header = ts.lines().next().unwrap();
    assert!(header.starts_with(
        "seed,network.loss,peers.0.count,t_s,live_peers,leafset_correct,ok.register,failed.register"
    ));
    assert!(ts.lines().nth(1).unwrap().starts_with("7,1%,40,"));
    assert!(header.contains("messages_per_s.flood") && header.contains("bytes_per_s.ack"));
    assert_eq!(ts.lines().count(), 151);
    let ops = std::fs::read_to_string(dir.join("ops.csv")).unwrap();
    assert_eq!(ops.lines().count(), 3, "{ops}");
    assert!(
        std::fs::read_to_string(dir.join("latency_cdf.csv"))
            .unwrap()
            .lines()
            .count()
            > 50
    );
    let hops = std::fs::read_to_string(dir.join("hops.csv")).unwrap();
    assert_eq!(hops.lines().count(), 7, "six hop values of resolve\n{hops}");
    // Every per-run CSV starts with the seed and the run's parameters.
    let load = std::fs::read_to_string(dir.join("peer_load.csv")).unwrap();
    assert_eq!(load.lines().count(), 51, "a row per peer\n{load}");
    for name in [
        "ops.csv",
        "latency_cdf.csv",
        "hops.csv",
        "metrics.csv",
        "peer_load.csv",
    ] {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        assert!(text.starts_with("seed,network.loss,peers.0.count,"), "{name}");
    }
    // metrics.csv is tidy: a row per figure, value in the last column.
    let m = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    assert_eq!(
        m.lines().next(),
        Some("seed,network.loss,peers.0.count,metric,value")
    );
    assert!(
        m.lines().any(|l| l.starts_with("7,1%,40,resolve.success_ratio,")),
        "{m}"
    );
    assert!(
        m.lines().any(|l| l.starts_with("7,1%,40,resolve.started,")),
        "{m}"
    );
    assert!(
        m.lines()
            .any(|l| l.starts_with("7,1%,40,load.messages_sent_per_peer.p99,")),
        "{m}"
    );
}

#[test]
fn timeseries_csv_counts_match_the_summary() {
    let dir = scratch("csv_counts");
    let summary = write_run(&dir, 3, 40, 25, 0);
    render_run(&dir).unwrap();
    let ts = std::fs::read_to_string(dir.join("timeseries.csv")).unwrap();
    let mut lines = ts.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "ok.resolve").unwrap();
    let fcol = header.iter().position(|h| *h == "failed.resolve").unwrap();
    let (mut ok, mut failed) = (0.0, 0.0);
    for l in lines {
        let cells: Vec<&str> = l.split(',').collect();
        ok += cells[col].parse::<f64>().unwrap();
        failed += cells[fcol].parse::<f64>().unwrap();
    }
    let r = &summary.operations["resolve"];
    assert_eq!(ok, r.succeeded as f64);
    assert_eq!(failed, r.failed as f64);
}

#[test]
fn summary_is_recomputed_when_missing() {
    let dir = scratch("no_summary");
    let written = write_run(&dir, 11, 20, 10, 0);
    std::fs::remove_file(dir.join("summary.json")).unwrap();
    std::fs::remove_file(dir.join("config.json")).unwrap();
    let html = std::fs::read_to_string(render_run(&dir).unwrap()).unwrap();
    assert_balanced(&html);
    assert!(
        html.contains(&written.fingerprint),
        "fingerprint from the end record"
    );
    assert!(html.contains("config.json was not found"));
    assert!(
        html.contains("peerlab run &#39;churny &lt;cloud&gt;&#39; --seed 11"),
        "falls back to the name"
    );
}

#[test]
fn bad_record_line_names_file_and_line() {
    let dir = scratch("bad_line");
    write_run(&dir, 5, 5, 2, 0);
    let path = dir.join("records.jsonl");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("{\"type\":\"sample\",\"t_us\":-1}\n");
    let line = text.lines().count() as u64;
    std::fs::write(&path, text).unwrap();
    match render_run(&dir) {
        Err(ReportError::BadRecord { line: l, .. }) => assert_eq!(l, line),
        other => panic!("expected BadRecord, got {other:?}"),
    }
    assert!(read_records(&path)
        .unwrap_err()
        .to_string()
        .contains(&format!("records.jsonl:{line}:")));
}

#[test]
fn compare_overlays_runs_and_marks_deltas() {
    let a = scratch("cmp_a");
    let b = scratch("cmp_b");
    let out = scratch("cmp_out");
    write_run(&a, 1, 60, 30, 0);
    write_run(&b, 2, 60, 30, 80_000);
    let html_path = render_compare(&[a.clone(), b.clone()], &out).unwrap();
    let html = std::fs::read_to_string(html_path).unwrap();
    assert_balanced(&html);
    assert_self_contained(&html);
    assert!(!html.contains("Not drawn, no data"));
    assert_eq!(svgs(&html).len(), 10);
    // Both runs are in the legends of the overlaid plots.
    let cdf = svgs(&html)
        .into_iter()
        .find(|s| s.contains("latency CDF"))
        .unwrap();
    assert!(cdf.contains("churny &lt;cloud&gt; seed 1") && cdf.contains("churny &lt;cloud&gt; seed 2"));
    // One run a side: run b is 80 ms slower, shown but not judged.
    assert!(row(&html, "resolve.latency_ms.p50").contains("n=1, not tested"));
    assert!(row(&html, "violations").contains("same"));
    assert!(!html.contains(">worse<") && !html.contains(">better<"));
    // Host figures sit in their own table, without verdicts.
    let host = &html[html.find("Host figures").unwrap()..];
    assert!(host.contains("<td>wall_s</td>") && !row(host, "wall_s").contains("verdict"));
    assert!(render_compare(&[], &out).is_err());
    // Same scenario and seed twice: labels fall back to directory names.
    let same = scratch("cmp_same");
    let html = std::fs::read_to_string(render_compare(&[a.clone(), a.clone()], &same).unwrap()).unwrap();
    assert!(html.contains(&a.display().to_string()));
}

/// Lines of `csv` that start with `prefix`.
fn tidy_row_count(csv: &str, prefix: &str) -> usize {
    csv.lines().filter(|l| l.starts_with(prefix)).count()
}

/// The row of figure `name` in `html`.
fn row<'a>(html: &'a str, name: &str) -> &'a str {
    let i = html
        .find(&format!("<td>{name}</td>"))
        .unwrap_or_else(|| panic!("no row {name}"));
    &html[i..i + html[i..].find("</tr>").unwrap()]
}

/// Writes seeds `seeds` of a run with `slow` µs of extra latency under `dir/<seed>/`.
fn write_seeds(dir: &Path, seeds: std::ops::Range<u64>, slow: u64) {
    for seed in seeds {
        let d = dir.join(seed.to_string());
        std::fs::create_dir_all(&d).unwrap();
        write_run(&d, seed, 30, 30, slow);
    }
}

#[test]
fn compare_does_not_flag_seed_noise_but_calls_a_real_shift() {
    // Two sets of five seeds from the same distribution.
    let (a, b, c) = (scratch("cmpset_a"), scratch("cmpset_b"), scratch("cmpset_c"));
    write_seeds(&a, 1..6, 0);
    write_seeds(&b, 11..16, 0);
    write_seeds(&c, 21..26, 80_000);
    let html =
        std::fs::read_to_string(render_compare(&[a.clone(), b], &scratch("cmpset_out")).unwrap()).unwrap();
    assert!(html.contains("(n=5)"), "sides are seed sets");
    let protocol = &html[..html.find("Host figures").unwrap()];
    assert!(
        !protocol.contains(">worse<") && !protocol.contains(">better<"),
        "noise called a difference"
    );
    assert!(row(protocol, "resolve.latency_ms.p50").contains("no significant difference"));
    // 80 ms slower on every seed: worse, with an interval of the difference above 0.
    let html = std::fs::read_to_string(render_compare(&[a, c], &scratch("cmpset_out2")).unwrap()).unwrap();
    let p50 = row(&html, "resolve.latency_ms.p50");
    assert!(p50.contains("worse") && p50.contains("+79.8"), "{p50}");
}

#[test]
fn metric_vs_parameter_plot_from_seed_summaries() {
    // Three parameter values, four seeds each: the sweep pieces the CLI composes.
    let mut points = Vec::new();
    for (x, base) in [(10.0, 0.80), (30.0, 0.92), (60.0, 0.97)] {
        let values: Vec<f64> = (0..4).map(|s| base + 0.01 * f64::from(s)).collect();
        points.push(ParamPoint {
            x,
            y: mean_ci95(&values),
        });
    }
    assert!(points.iter().all(|p| p.y.hi > p.y.mean && p.y.n == 4));
    let svg = metric_vs_param_chart(
        "resolve success vs session length",
        "mean session (min)",
        "success ratio",
        &[("resolve".into(), points)],
        ParamAxis::Linear,
    )
    .unwrap();
    assert_balanced(&svg);
    assert!(svg.contains("mean session (min)") && svg.contains("95% CI"));
}

#[test]
fn sweep_page_from_run_summaries() {
    // Three values of a latency parameter, three seeds each, as `--sweep` would produce.
    let mut points = Vec::new();
    for (label, slow_us) in [("0ms", 0u64), ("40ms", 40_000), ("120ms", 120_000)] {
        let mut summaries = Vec::new();
        for seed in 1..=3 {
            let dir = scratch(&format!("sweep_{label}_{seed}"));
            summaries.push(write_run(&dir, seed, 20, 30, slow_us));
        }
        points.push(SweepPoint {
            label: label.into(),
            x: Some(slow_us as f64 / 1000.0),
            summaries,
        });
    }
    let out = scratch("sweep_out");
    let html = std::fs::read_to_string(render_sweep("extra_latency_ms", &points, &out).unwrap()).unwrap();
    assert_balanced(&html);
    assert_self_contained(&html);
    let plots = svgs(&html);
    assert!(plots.len() >= 5, "{} plots", plots.len());
    // The tidy table of the whole set: a row per (run, figure), seed and parameter on each.
    let runs = std::fs::read_to_string(out.join("runs.csv")).unwrap();
    let mut lines = runs.lines();
    assert_eq!(
        lines.next(),
        Some("seed,extra_latency_ms,extra_latency_ms_value,metric,value")
    );
    assert!(runs.contains("\n2,40ms,40,resolve.success_ratio,"), "{runs}");
    let figures = tidy_row_count(&runs, "3,120ms,120,");
    assert!(figures > 10, "one row per figure of run 3 at 120ms: {figures}");
    let p50 = plots
        .iter()
        .find(|s| s.contains("resolve.latency_ms.p50 vs extra_latency_ms"))
        .unwrap();
    assert_eq!(
        p50.matches("<circle").count(),
        3,
        "one marker per parameter value"
    );
}

/// Scale check (run by hand: `cargo test -p peerlab-reports --release -- --ignored --nocapture`):
/// 10^6 operations and 3,600 samples, as a long 10^5-peer run writes.
#[test]
#[ignore]
// Wall time is printed for the closing note, never asserted .
#[allow(clippy::disallowed_methods)]
fn large_run_renders() {
    let dir = scratch("large");
    write_run(&dir, 9, 3600, 280, 0);
    let size = std::fs::metadata(dir.join("records.jsonl")).unwrap().len();
    let start = std::time::Instant::now();
    let html = render_run(&dir).unwrap();
    let html_size = std::fs::metadata(&html).unwrap().len();
    println!(
        "records.jsonl {size} bytes rendered in {:?} → report.html {html_size} bytes",
        start.elapsed()
    );
}
