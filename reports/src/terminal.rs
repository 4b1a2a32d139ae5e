//! The end-of-run terminal table (`Summary::to_table`), at most [`WIDTH`] columns wide: run
//! figures, violations by invariant, one line per operation kind, how success is counted (and what
//! the checks leave out), protocol metrics in their units, check verdicts.

use crate::aggregate::{OpSummary, Summary};
use crate::table::{fmt_bytes, fmt_duration_ms, fmt_metric, fmt_pct, group_digits};
use std::fmt::Write as _;

/// Widest line the table prints (a common terminal width).
pub const WIDTH: usize = 100;
/// Prefix of the per-peer load figures, tabulated apart.
const LOAD_PREFIX: &str = "load.";

/// Left- or right-aligned column.
#[derive(Clone, Copy, PartialEq)]
enum Align {
    Left,
    Right,
}

/// Lays `rows` out under `header` in aligned columns separated by two spaces.
fn aligned(header: &[&str], align: &[Align], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            // `format!` pads by chars, as the widths were measured.
            let w = widths[i];
            let _ = match align[i] {
                Align::Left => write!(line, "{cell:<w$}"),
                Align::Right => write!(line, "{cell:>w$}"),
            };
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `prefix` then the words of `text`, wrapped to `WIDTH`, every line after the first indented by
/// `indent` spaces.
fn wrap(prefix: &str, text: &str, indent: usize) -> String {
    let mut out = String::new();
    let mut line = prefix.to_string();
    let mut fresh = true;
    for word in text.split_whitespace() {
        if !fresh && line.chars().count() + 1 + word.chars().count() > WIDTH {
            out.push_str(&line);
            out.push('\n');
            line = " ".repeat(indent);
            fresh = true;
        }
        if !fresh {
            line.push(' ');
        }
        line.push_str(word);
        fresh = false;
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// Hops as `mean (p50/p99/max)`, or `-` for kinds without hops.
fn hops_cell(o: &OpSummary) -> String {
    o.hops.map_or("-".into(), |h| {
        let ci = o
            .hops_mean_ci95
            .map_or(String::new(), |[lo, hi]| format!("±{:.2}", (hi - lo) / 2.0));
        format!("{:.2}{ci} ({}/{}/{})", h.mean, h.p50, h.p99, h.max)
    })
}

/// Operations of `o` that are not in its success ratio, in words; empty when there are none.
fn set_apart(o: &OpSummary) -> String {
    let mut parts = Vec::new();
    if o.target_offline > 0 {
        parts.push(format!(
            "{} on an offline target ({} answered right, {} wrong)",
            group_digits(o.target_offline),
            group_digits(o.target_offline_ok),
            group_digits(o.target_offline_failed)
        ));
    }
    if o.source_left > 0 {
        parts.push(format!("{} whose asker left", group_digits(o.source_left)));
    }
    if o.warmup > 0 {
        parts.push(format!("{} completed during the warm-up", group_digits(o.warmup)));
    }
    if o.unfinished > 0 {
        parts.push(format!("{} unfinished at the end", group_digits(o.unfinished)));
    }
    parts.join(", ")
}

impl Summary {
    /// The end-of-run terminal table, at most 100 columns: run figures, violations by invariant,
    /// one line per operation kind, the accounting behind success, metrics and check verdicts.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "scenario {}  seed {}  fingerprint {}",
            self.scenario, self.seed, self.fingerprint
        );
        let _ = writeln!(
            out,
            "simulated {} in {:.2} s wall ({:.2} s set-up)  events {} ({} /s simulating)",
            fmt_duration_ms(self.sim_duration_s * 1e3),
            self.wall_s,
            self.setup_s,
            group_digits(self.events),
            group_digits(self.events_per_sec.round() as u64),
        );
        let _ = writeln!(
            out,
            "peers max {}  peak RSS {}",
            group_digits(self.peers_max),
            fmt_bytes(self.peak_rss_bytes),
        );
        out.push_str(&self.violations_line());
        if !self.operations.is_empty() {
            out.push('\n');
            self.operations_table(&mut out);
        }
        // The per-peer load has its own table below, a figure per row and a statistic per column.
        let plain: Vec<(&String, &f64)> = self
            .metrics
            .iter()
            .filter(|(k, _)| !k.starts_with(LOAD_PREFIX))
            .collect();
        if !plain.is_empty() {
            out.push('\n');
            let rows: Vec<Vec<String>> = plain
                .iter()
                .map(|(k, v)| vec![k.to_string(), fmt_metric(k, **v)])
                .collect();
            out.push_str(&aligned(
                &["metric", "value"],
                &[Align::Left, Align::Right],
                &rows,
            ));
        }
        self.load_table(&mut out);
        if !self.checks.is_empty() {
            out.push('\n');
            let name_w = self
                .checks
                .iter()
                .map(|c| c.name.chars().count())
                .max()
                .unwrap_or(0);
            for c in &self.checks {
                let verdict = if c.passed { "PASS" } else { "FAIL" };
                let prefix = format!("{verdict}  {:<name_w$}  ", c.name);
                out.push_str(&wrap(&prefix, &c.detail, name_w + 8));
            }
        }
        out
    }

    /// `violations 0`, or the count with each invariant named.
    fn violations_line(&self) -> String {
        if self.violations == 0 {
            return "violations 0\n".into();
        }
        let named: Vec<String> = self
            .violations_by_invariant
            .iter()
            .map(|(name, n)| format!("{name} ×{}", group_digits(*n)))
            .collect();
        if named.is_empty() {
            return format!("violations {}\n", group_digits(self.violations));
        }
        let prefix = format!("violations {}: ", group_digits(self.violations));
        wrap(&prefix, &named.join(", "), 4)
    }

    /// The `load.*` figures: one row per direction and unit, p50/p90/p99/max/mean across peers.
    fn load_table(&self, out: &mut String) {
        let stats = ["p50", "p90", "p99", "max", "mean"];
        let rows: Vec<Vec<String>> = [
            "messages_sent",
            "messages_received",
            "bytes_sent",
            "bytes_received",
        ]
        .iter()
        .filter_map(|stem| {
            let mut row = vec![stem.replace('_', " ")];
            for stat in stats {
                let key = format!("{LOAD_PREFIX}{stem}_per_peer.{stat}");
                row.push(fmt_metric(&key, *self.metrics.get(&key)?));
            }
            Some(row)
        })
        .collect();
        if rows.is_empty() {
            return;
        }
        out.push('\n');
        let mut align = vec![Align::Right; stats.len() + 1];
        align[0] = Align::Left;
        let header = ["load per peer", "p50", "p90", "p99", "max", "mean"];
        out.push_str(&aligned(&header, &align, &rows));
        out.push_str(&wrap(
            "",
            "across honest peers, over the whole run, all of a peer's sessions summed (load.*).",
            0,
        ));
    }

    fn operations_table(&self, out: &mut String) {
        let header = [
            "operation",
            "started",
            "ok",
            "failed",
            "success",
            "p50",
            "p90",
            "p99",
            "max",
            "hops (p50/p99/max)",
        ];
        let mut align = vec![Align::Right; header.len()];
        align[0] = Align::Left;
        let rows: Vec<Vec<String>> = self
            .operations
            .iter()
            .map(|(kind, o)| {
                let l = o.latency_ms;
                vec![
                    kind.clone(),
                    group_digits(o.started),
                    group_digits(o.succeeded),
                    group_digits(o.failed),
                    fmt_pct(o.success_ratio),
                    fmt_duration_ms(l.p50),
                    fmt_duration_ms(l.p90),
                    fmt_duration_ms(l.p99),
                    fmt_duration_ms(l.max),
                    hops_cell(o),
                ]
            })
            .collect();
        out.push_str(&aligned(&header, &align, &rows));
        out.push_str(&wrap(
            "",
            "success = ok / (ok + failed), operations whose target was online; latency and hops \
             (the mean, then p50/p99/max) of those that succeeded.",
            0,
        ));
        for (kind, o) in &self.operations {
            let apart = set_apart(o);
            if !apart.is_empty() {
                out.push_str(&wrap("", &format!("{kind}: not counted: {apart}."), 4));
            }
        }
        // Only partitioned runs have heal checks, and only there does max_failed_ratio leave
        // operations out that this table counts.
        let checks = |p: &str| self.checks.iter().any(|c| c.name.starts_with(p));
        if checks("max_failed_ratio") && checks("liveness_after_heal") {
            out.push_str(&wrap(
                "",
                "max_failed_ratio also leaves out operations started while a partition was in \
                 force or within liveness_within of its heal (liveness_after_heal judges those), \
                 so its counts can be lower than the table's.",
                0,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::{CheckResult, Percentiles};

    fn sample_summary() -> Summary {
        let mut s = Summary {
            scenario: "churny-cloud".into(),
            seed: 7,
            fingerprint: "9f3c0a11".into(),
            sim_duration_s: 1200.0,
            wall_s: 12.5,
            events: 12_345_678,
            events_per_sec: 987_654.24,
            peak_rss_bytes: 512 * 1024 * 1024,
            peers_max: 2000,
            violations: 3,
            ..Summary::default()
        };
        s.violations_by_invariant.insert("leaf_set_order".into(), 2);
        s.violations_by_invariant.insert("forged_cpa_accepted".into(), 1);
        s.operations.insert(
            "resolve".into(),
            OpSummary {
                started: 1_260_120,
                succeeded: 1_159_000,
                failed: 100_000,
                success_ratio: 1_159_000.0 / 1_259_000.0,
                target_offline: 120,
                target_offline_ok: 100,
                target_offline_failed: 20,
                source_left: 35,
                unfinished: 3,
                latency_ms: Percentiles {
                    p50: 102.4,
                    p90: 230.1,
                    p99: 480.0,
                    max: 15_510_536.0,
                    mean: 120.0,
                },
                hops: Some(Percentiles {
                    p50: 3.0,
                    p90: 5.0,
                    p99: 7.0,
                    max: 9.0,
                    mean: 3.42,
                }),
                hops_mean_ci95: Some([3.40, 3.44]),
                ..OpSummary::default()
            },
        );
        s.metrics.insert("pnrp.messages_per_resolve".into(), 12.345);
        s.metrics.insert("distribution.wan_bytes".into(), 2.001e10);
        s.metrics.insert("distribution.fetches_ok".into(), 200.0);
        for (stem, scale) in [("messages", 1.0), ("bytes", 96.0)] {
            for dir in ["sent", "received"] {
                for (stat, v) in [("p50", 1234.0), ("p90", 2000.0), ("p99", 2500.0), ("max", 9000.0)] {
                    s.metrics
                        .insert(format!("load.{stem}_{dir}_per_peer.{stat}"), v * scale);
                }
                s.metrics
                    .insert(format!("load.{stem}_{dir}_per_peer.mean"), 1300.5 * scale);
            }
        }
        s.checks.push(CheckResult {
            name: "max_failed_ratio.resolve".into(),
            passed: true,
            detail: "2 of 8,057 failed (0.025%), allowed 1.000%; resolves started during a \
                     partition or within 2m of its heal are left out"
                .into(),
        });
        s.checks.push(CheckResult {
            name: "liveness_after_heal@15m".into(),
            passed: false,
            detail: "resolves started ≥ 30s after the heal: 3 of 5691 failed".into(),
        });
        s
    }

    #[test]
    fn table_fits_100_columns_names_violations_and_explains_the_accounting() {
        let t = sample_summary().to_table();
        for line in t.lines() {
            assert!(
                line.chars().count() <= WIDTH,
                "{} columns: {line}\n{t}",
                line.chars().count()
            );
        }
        assert!(
            t.contains("violations 3: forged_cpa_accepted ×1, leaf_set_order ×2"),
            "{t}"
        );
        assert!(t.contains("success = ok / (ok + failed)"), "{t}");
        assert!(
            t.contains("resolve: not counted: 120 on an offline target"),
            "{t}"
        );
        assert!(t.contains("max_failed_ratio also leaves out"), "{t}");
        assert!(
            t.contains("FAIL  liveness_after_heal@15m   resolves started"),
            "{t}"
        );
        assert!(
            t.contains("4.31h") && t.contains("102ms"),
            "latency in readable units\n{t}"
        );
        assert!(
            t.contains("3.42±0.02 (3/7/9)"),
            "mean hops with its interval\n{t}"
        );
        assert!(
            t.contains("18.6 GiB") && !t.contains("200.0"),
            "bytes and counts\n{t}"
        );
        let load = t
            .lines()
            .find(|l| l.starts_with("messages sent"))
            .unwrap_or_else(|| panic!("a load row\n{t}"));
        assert!(load.contains("1,234") && load.contains("9,000"), "{load}");
        assert!(t.contains("bytes received") && t.contains("843.8 KiB"), "{t}");
        assert!(!t.contains("load.messages_sent"), "load has its own table\n{t}");
    }

    #[test]
    fn table_without_operations_has_only_the_header_lines() {
        let s = Summary {
            scenario: "empty".into(),
            ..Summary::default()
        };
        let t = s.to_table();
        assert_eq!(t.lines().count(), 4, "{t}");
        assert!(t.starts_with("scenario empty  seed 0"));
    }
}
