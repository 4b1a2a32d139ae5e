//! Many runs of one scenario (issue 4): `--seeds A..B` repeats it over seeds in parallel and reports
//! means with 95% confidence intervals; `--sweep key=v1,v2,...` varies one value and draws the
//! "figure vs parameter" plot. Each run stays deterministic; only their scheduling is parallel.

use crate::cli::RunArgs;
use crate::run::{run_once, EXIT_BAD_INPUT, EXIT_FAILED, EXIT_PASSED};
use peerlab_engine::Duration;
use peerlab_reports::{render_sweep, SweepPoint};
use rayon::prelude::*;
use std::io::Write;
use std::path::PathBuf;

/// An inclusive seed range `A..B` (or a single seed `A`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeedRange {
    /// First seed.
    pub first: u64,
    /// Last seed (inclusive).
    pub last: u64,
}

impl std::str::FromStr for SeedRange {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a seed range; write `A..B` with A ≤ B (e.g. `1..20`) or one seed");
        let (a, b) = match s.split_once("..") {
            Some((a, b)) => (a, b.trim_start_matches('=')),
            None => (s, s),
        };
        let first: u64 = a.trim().parse().map_err(|_| bad())?;
        let last: u64 = b.trim().parse().map_err(|_| bad())?;
        if first > last {
            return Err(format!("seed range `{s}` is empty: {first} > {last}"));
        }
        Ok(SeedRange { first, last })
    }
}

impl SeedRange {
    /// The seeds in order.
    pub fn seeds(&self) -> Vec<u64> {
        (self.first..=self.last).collect()
    }
}

/// A `--sweep key=v1,v2` specification.
#[derive(Clone, Debug, PartialEq)]
pub struct Sweep {
    /// The scenario key, as for `--set`.
    pub key: String,
    /// The values, as written.
    pub values: Vec<String>,
}

impl std::str::FromStr for Sweep {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (key, values) = s.split_once('=').ok_or_else(|| {
            format!("`{s}` is not a sweep; write `key=v1,v2,...`, e.g. `network.loss=0%,1%,5%`")
        })?;
        let values: Vec<String> = values
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect();
        if key.trim().is_empty() || values.is_empty() {
            return Err(format!("`{s}` names no key or no values; write `key=v1,v2,...`"));
        }
        Ok(Sweep {
            key: key.trim().to_string(),
            values,
        })
    }
}

/// Runs `args` over its seeds and sweep values; writes one report per run plus `sweep.html`.
pub fn run_many(args: &RunArgs, seeds: Option<SeedRange>, sweep: Option<&Sweep>) -> u8 {
    let values: Vec<Option<String>> = match sweep {
        Some(s) => s.values.iter().cloned().map(Some).collect(),
        None => vec![None],
    };
    let name = args
        .file
        .file_stem()
        .map_or("scenario".into(), |s| s.to_string_lossy().to_string());
    let base = args.out.clone().unwrap_or_else(|| {
        let tag = match (sweep, seeds) {
            (Some(s), _) => format!("sweep-{}", s.key.replace(['.', '[', ']'], "_")),
            (None, Some(r)) => format!("seeds-{}..{}", r.first, r.last),
            (None, None) => "runs".into(),
        };
        PathBuf::from("runs").join(name).join(tag)
    });
    // Validate every sweep value once up front, so a bad value is reported once, not once per
    // seed; without --seeds each value runs with the seed its scenario ends up with (the file's,
    // --seed, or the swept `seed` itself), and its directory is named after that seed.
    let mut seed_lists = Vec::new();
    for v in &values {
        let mut sets = args.sets.clone();
        if let Some(seed) = args.seed {
            sets.push(format!("seed={seed}"));
        }
        if let (Some(s), Some(v)) = (sweep, v) {
            sets.push(format!("{}={v}", s.key));
        }
        match crate::run::load_with_sets(&args.file, &sets) {
            Ok(scenario) => seed_lists.push(seeds.map_or_else(|| vec![scenario.seed], |r| r.seeds())),
            Err(e) => {
                warn(&e);
                return EXIT_BAD_INPUT;
            }
        }
    }
    let value_dirs = value_dirs(&values);
    let jobs: Vec<(usize, Option<String>, u64)> = values
        .iter()
        .zip(&seed_lists)
        .enumerate()
        .flat_map(|(i, (v, list))| list.iter().map(move |s| (i, v.clone(), *s)))
        .collect();
    say(&format!(
        "{} runs ({} values × {} seeds) into {}",
        jobs.len(),
        values.len(),
        seed_lists.first().map_or(0, Vec::len),
        base.display()
    ));
    if let (Some(pcap), true) = (&args.pcap, jobs.len() > 1) {
        let example = pcap_for(pcap, value_dirs[0].as_deref(), jobs[0].2);
        say(&format!(
            "pcap: one file per run, named after its value and seed, e.g. {}",
            example.display()
        ));
    }
    let results: Vec<(usize, Result<crate::run::RunResult, u8>)> = jobs
        .par_iter()
        .map(|(i, value, seed)| {
            let mut a = args.clone();
            let mut dir = base.clone();
            if let (Some(s), Some(v), Some(name)) = (sweep, value, &value_dirs[*i]) {
                a.sets.push(format!("{}={v}", s.key));
                dir = dir.join(name);
            }
            // A swept `seed` is set by the value itself (it wins over --seed); otherwise the
            // run's seed is the one its directory is named after.
            a.seed = if seeds.is_none() && sweep.is_some_and(|s| s.key == "seed") {
                None
            } else {
                Some(*seed)
            };
            dir = dir.join(seed.to_string());
            if let (Some(pcap), true) = (&args.pcap, jobs.len() > 1) {
                // Runs in parallel must not share one capture file.
                a.pcap = Some(pcap_for(pcap, value_dirs[*i].as_deref(), *seed));
            }
            (*i, run_once(&a, Some(dir), true))
        })
        .collect();
    let mut points: Vec<SweepPoint> = values
        .iter()
        .map(|v| {
            let label = v.clone().unwrap_or_else(|| "all seeds".into());
            SweepPoint {
                x: v.as_deref().and_then(numeric),
                label,
                summaries: Vec::new(),
            }
        })
        .collect();
    let mut any_failed = false;
    for (i, r) in results {
        match r {
            Ok(run) => {
                any_failed |= run.summary.checks.iter().any(|c| !c.passed);
                points[i].summaries.push(run.summary);
            }
            Err(code) if code == EXIT_BAD_INPUT => return EXIT_BAD_INPUT,
            Err(_) => any_failed = true,
        }
    }
    let param = sweep.map_or("seed".to_string(), |s| s.key.clone());
    match render_sweep(&param, &points, &base) {
        Ok(path) => say(&format!("report: {}", path.display())),
        Err(e) => warn(&format!("warning: sweep report not rendered: {e}")),
    }
    for p in &points {
        // The same mean and interval as the sweep page (zeros counted, range kept).
        if let Some(ci) = peerlab_reports::across_runs(&p.summaries).get("resolve.success_ratio") {
            let interval = if ci.has_interval() {
                format!(" [{:.3}% – {:.3}%]", ci.lo * 100.0, ci.hi * 100.0)
            } else {
                String::new()
            };
            say(&format!(
                "{:>12}  resolve success {:.3}%{interval}  (n={})",
                p.label,
                ci.mean * 100.0,
                ci.n
            ));
        }
    }
    if any_failed {
        EXIT_FAILED
    } else {
        EXIT_PASSED
    }
}

/// A sweep value as a number for the x axis: plain numbers, percentages, durations (in seconds).
fn numeric(v: &str) -> Option<f64> {
    if let Ok(x) = v.parse::<f64>() {
        return Some(x);
    }
    if let Some(p) = v.strip_suffix('%') {
        return p.trim().parse::<f64>().ok();
    }
    v.parse::<Duration>().ok().map(|d| d.as_secs_f64())
}

/// A readable directory name for a sweep value: `20%` → `20pct`, `5/s` → `5_per_s`, anything else
/// but letters, digits, `-`, `_` and `.` → `_` (a leading `.` too, so `..` names no parent).
fn sanitize(v: &str) -> String {
    let mut out = String::new();
    for c in v.chars() {
        match c {
            '%' => out.push_str("pct"),
            '/' => out.push_str("_per_"),
            c if c.is_ascii_alphanumeric() || "-_.".contains(c) => out.push(c),
            _ => out.push('_'),
        }
    }
    if out.is_empty() || out.starts_with('.') {
        out.insert(0, '_');
    }
    out
}

/// One directory name per sweep value (`None` without a sweep); values that sanitize alike get
/// their position appended, so no two share a directory.
fn value_dirs(values: &[Option<String>]) -> Vec<Option<String>> {
    let names: Vec<Option<String>> = values.iter().map(|v| v.as_deref().map(sanitize)).collect();
    names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let n = n.as_ref()?;
            let clash = names.iter().filter(|m| m.as_ref() == Some(n)).count() > 1;
            Some(if clash {
                format!("{n}-{}", i + 1)
            } else {
                n.clone()
            })
        })
        .collect()
}

/// The capture file of one run among many: `x.pcap` → `x-20pct-seed3.pcap` (the value part only
/// in a sweep).
fn pcap_for(path: &std::path::Path, value: Option<&str>, seed: u64) -> PathBuf {
    let stem = path
        .file_stem()
        .map_or("capture".into(), |s| s.to_string_lossy().to_string());
    let tag = match value {
        Some(v) => format!("{stem}-{v}-seed{seed}"),
        None => format!("{stem}-seed{seed}"),
    };
    let name = match path.extension() {
        Some(ext) => format!("{tag}.{}", ext.to_string_lossy()),
        None => tag,
    };
    path.with_file_name(name)
}

fn say(s: &str) {
    let _ = writeln!(std::io::stdout(), "{s}");
}

fn warn(s: &str) {
    let _ = writeln!(std::io::stderr(), "{s}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_ranges_parse_and_reject_empty_ones() {
        assert_eq!("1..20".parse::<SeedRange>().unwrap().seeds().len(), 20);
        assert_eq!("7".parse::<SeedRange>().unwrap().seeds(), vec![7]);
        assert_eq!("3..=4".parse::<SeedRange>().unwrap().seeds(), vec![3, 4]);
        assert!("5..2".parse::<SeedRange>().unwrap_err().contains("empty"));
        assert!("a..b".parse::<SeedRange>().is_err());
    }

    #[test]
    fn sweeps_parse_values_and_numbers() {
        let s: Sweep = "network.loss=0%,1%, 5%".parse().unwrap();
        assert_eq!(s.key, "network.loss");
        assert_eq!(s.values, vec!["0%", "1%", "5%"]);
        assert!("network.loss".parse::<Sweep>().is_err());
        assert!("x=".parse::<Sweep>().is_err());
        assert_eq!(numeric("30m"), Some(1800.0));
        assert_eq!(numeric("5%"), Some(5.0));
        assert_eq!(numeric("weibull"), None);
    }

    #[test]
    fn sweep_values_get_readable_distinct_directories() {
        let v = |xs: &[&str]| xs.iter().map(|x| Some(x.to_string())).collect::<Vec<_>>();
        let dirs = value_dirs(&v(&["20%", "5/s", "1.5", "..", "a b", "a_b"]));
        let want = ["20pct", "5_per_s", "1.5", "_..", "a_b-5", "a_b-6"];
        assert_eq!(dirs, want.map(|s| Some(s.to_string())));
        assert_eq!(value_dirs(&[None]), vec![None]);
    }

    #[test]
    fn each_run_of_many_gets_its_own_pcap() {
        let p = std::path::Path::new("runs/x.pcap");
        assert_eq!(pcap_for(p, None, 2), PathBuf::from("runs/x-seed2.pcap"));
        assert_eq!(
            pcap_for(p, Some("20pct"), 1),
            PathBuf::from("runs/x-20pct-seed1.pcap")
        );
        assert_eq!(
            pcap_for(std::path::Path::new("cap"), None, 7),
            PathBuf::from("cap-seed7")
        );
    }
}
