//! The end-of-run terminal table (`Summary::to_table`) and number formatting shared with HTML.

use crate::aggregate::{Percentiles, Summary};
use std::fmt::Write as _;

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

/// An integer with thousands separators: `1234567` → `1,234,567`.
pub fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    // The leading group has 1 to 3 digits, every later group exactly 3.
    let head = match digits.len() % 3 {
        0 => 3.min(digits.len()),
        r => r,
    };
    out.push_str(&digits[..head]);
    for group in digits.as_bytes()[head..].chunks(3) {
        out.push(',');
        out.push_str(std::str::from_utf8(group).expect("ASCII digits"));
    }
    out
}

/// A figure with about four significant digits, without exponent for everyday magnitudes.
pub fn fmt_num(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    let a = x.abs();
    if a == 0.0 {
        "0".into()
    } else if !(1e-3..1e9).contains(&a) {
        format!("{x:.3e}")
    } else if a >= 1000.0 {
        let grouped = group_digits(a.round() as u64);
        if x < 0.0 {
            format!("-{grouped}")
        } else {
            grouped
        }
    } else if a >= 100.0 {
        format!("{x:.1}")
    } else if a >= 10.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

/// A ratio as a percentage with two decimals.
pub fn fmt_pct(ratio: f64) -> String {
    format!("{:.2}%", ratio * 100.0)
}

/// Bytes in binary units (`512.0 MiB`).
pub fn fmt_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// Hops as `p50/p90/p99/max`.
pub fn fmt_hops(h: Option<Percentiles>) -> String {
    match h {
        Some(h) => format!("{}/{}/{}/{}", h.p50, h.p90, h.p99, h.max),
        None => "-".into(),
    }
}

impl Summary {
    /// The end-of-run terminal table: run figures, one line per operation kind with latency
    /// percentiles, protocol metrics and check verdicts.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "scenario {}  seed {}  fingerprint {}",
            self.scenario, self.seed, self.fingerprint
        );
        let _ = writeln!(
            out,
            "simulated {:.1} s in {:.2} s wall  events {} ({} /s)  peers max {}  peak RSS {}  violations {}",
            self.sim_duration_s,
            self.wall_s,
            group_digits(self.events),
            group_digits(self.events_per_sec.round() as u64),
            group_digits(self.peers_max),
            fmt_bytes(self.peak_rss_bytes),
            self.violations
        );
        if !self.operations.is_empty() {
            out.push('\n');
            let header = [
                "operation",
                "started",
                "ok",
                "failed",
                "success",
                "offline ok/failed",
                "asker left",
                "unfinished",
                "p50 ms",
                "p90 ms",
                "p99 ms",
                "max ms",
                "hops p50/p90/p99/max",
            ];
            let mut align = vec![Align::Right; header.len()];
            align[0] = Align::Left;
            let rows: Vec<Vec<String>> = self
                .operations
                .iter()
                .map(|(kind, o)| {
                    vec![
                        kind.clone(),
                        group_digits(o.started),
                        group_digits(o.succeeded),
                        group_digits(o.failed),
                        fmt_pct(o.success_ratio),
                        format!(
                            "{}/{}",
                            group_digits(o.target_offline_ok),
                            group_digits(o.target_offline_failed)
                        ),
                        group_digits(o.source_left),
                        group_digits(o.unfinished),
                        fmt_num(o.latency_ms.p50),
                        fmt_num(o.latency_ms.p90),
                        fmt_num(o.latency_ms.p99),
                        fmt_num(o.latency_ms.max),
                        fmt_hops(o.hops),
                    ]
                })
                .collect();
            out.push_str(&aligned(&header, &align, &rows));
        }
        if !self.metrics.is_empty() {
            out.push('\n');
            let rows: Vec<Vec<String>> = self
                .metrics
                .iter()
                .map(|(k, v)| vec![k.clone(), fmt_num(*v)])
                .collect();
            out.push_str(&aligned(
                &["metric", "value"],
                &[Align::Left, Align::Right],
                &rows,
            ));
        }
        if !self.checks.is_empty() {
            out.push('\n');
            let rows: Vec<Vec<String>> = self
                .checks
                .iter()
                .map(|c| {
                    vec![
                        if c.passed { "PASS" } else { "FAIL" }.into(),
                        c.name.clone(),
                        c.detail.clone(),
                    ]
                })
                .collect();
            out.push_str(&aligned(&["check", "name", "detail"], &[Align::Left; 3], &rows));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::{CheckResult, OpSummary};

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
            violations: 0,
            ..Summary::default()
        };
        s.operations.insert(
            "resolve".into(),
            OpSummary {
                started: 60_120,
                succeeded: 59_000,
                failed: 1_000,
                success_ratio: 59_000.0 / 60_000.0,
                target_offline: 120,
                target_offline_ok: 100,
                target_offline_failed: 20,
                source_left: 35,
                unfinished: 3,
                latency_ms: Percentiles {
                    p50: 102.4,
                    p90: 230.1,
                    p99: 480.0,
                    max: 1200.0,
                    ..Percentiles::default()
                },
                hops: Some(Percentiles {
                    p50: 3.0,
                    p90: 5.0,
                    p99: 7.0,
                    max: 9.0,
                    ..Percentiles::default()
                }),
                ..OpSummary::default()
            },
        );
        s.operations.insert(
            "register".into(),
            OpSummary {
                started: 2000,
                succeeded: 2000,
                success_ratio: 1.0,
                latency_ms: Percentiles {
                    p50: 1.5,
                    p90: 2.25,
                    p99: 3.0,
                    max: 4.0,
                    ..Percentiles::default()
                },
                ..OpSummary::default()
            },
        );
        s.metrics.insert("pnrp.messages_per_resolve".into(), 12.345);
        s.checks.push(CheckResult {
            name: "max_failed_ratio".into(),
            passed: true,
            detail: "1.67% <= 2%".into(),
        });
        s.checks.push(CheckResult {
            name: "no_violations".into(),
            passed: false,
            detail: "3 violations".into(),
        });
        s
    }

    #[test]
    fn table_snapshot() {
        let want = "\
scenario churny-cloud  seed 7  fingerprint 9f3c0a11
simulated 1200.0 s in 12.50 s wall  events 12,345,678 (987,654 /s)  peers max 2,000  peak RSS 512.0 MiB  violations 0

operation  started      ok  failed  success  offline ok/failed  asker left  unfinished  p50 ms  p90 ms  p99 ms  max ms  hops p50/p90/p99/max
register     2,000   2,000       0  100.00%                0/0           0           0   1.500   2.250   3.000   4.000                     -
resolve     60,120  59,000   1,000   98.33%             100/20          35           3   102.4   230.1   480.0   1,200               3/5/7/9

metric                     value
pnrp.messages_per_resolve  12.35

check  name              detail
PASS   max_failed_ratio  1.67% <= 2%
FAIL   no_violations     3 violations
";
        let got = sample_summary().to_table();
        assert_eq!(got, want, "\n{got}");
    }

    #[test]
    fn table_without_operations_has_only_the_header_lines() {
        let s = Summary {
            scenario: "empty".into(),
            ..Summary::default()
        };
        let t = s.to_table();
        assert_eq!(t.lines().count(), 2, "{t}");
        assert!(t.starts_with("scenario empty  seed 0"));
    }

    #[test]
    fn number_formats() {
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(1000), "1,000");
        assert_eq!(group_digits(1234567), "1,234,567");
        assert_eq!(fmt_bytes(1023), "1023 B");
        assert_eq!(fmt_bytes(1536), "1.5 KiB");
        assert_eq!(fmt_num(0.0), "0");
        assert_eq!(fmt_num(12.345), "12.35");
        assert_eq!(fmt_num(2.5e9), "2.500e9");
        assert_eq!(fmt_num(-67108864.0), "-67,108,864");
        assert_eq!(fmt_num(1200.4), "1,200");
        assert_eq!(fmt_pct(0.5), "50.00%");
    }
}
