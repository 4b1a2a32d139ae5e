//! Many runs of one scenario: `--seeds A..B` repeats it over seeds in parallel and reports means
//! with 95% confidence intervals; `--sweep key=v1,v2,...` varies a value and draws the "figure vs
//! parameter" plots, and several `--sweep`s run every combination (a grid). Each run stays
//! deterministic; only their scheduling is parallel (`--jobs`), under one progress bar.

use crate::cli::RunArgs;
use crate::run::{run_once, Verbosity, EXIT_BAD_INPUT, EXIT_FAILED, EXIT_PASSED};
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

/// One point of a sweep's grid: a value of every swept key (none without `--sweep`).
#[derive(Clone, Debug, PartialEq)]
struct GridPoint {
    /// `(key, value)` per swept key, in the order the keys were given.
    values: Vec<(String, String)>,
    /// The point's directory below the run set's: one level per key.
    dir: PathBuf,
}

impl GridPoint {
    /// `key=value` overrides that make this point.
    fn sets(&self) -> Vec<String> {
        self.values.iter().map(|(k, v)| format!("{k}={v}")).collect()
    }

    /// How the point is labelled: the value of a one-key sweep, `k1=v1 · k2=v2` for a grid.
    fn label(&self) -> String {
        match self.values.as_slice() {
            [] => "all seeds".into(),
            [(_, v)] => v.clone(),
            many => many
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" · "),
        }
    }
}

/// Every combination of the swept values, first key outermost (one empty point without a sweep).
fn grid(sweeps: &[Sweep]) -> Vec<GridPoint> {
    let mut points = vec![GridPoint {
        values: Vec::new(),
        dir: PathBuf::new(),
    }];
    for sweep in sweeps {
        let dirs = value_dirs(&sweep.values.iter().cloned().map(Some).collect::<Vec<_>>());
        points = points
            .into_iter()
            .flat_map(|p| {
                sweep.values.iter().zip(&dirs).map(move |(v, d)| {
                    let mut values = p.values.clone();
                    values.push((sweep.key.clone(), v.clone()));
                    GridPoint {
                        values,
                        dir: p.dir.join(d.as_deref().unwrap_or("_")),
                    }
                })
            })
            .collect();
    }
    points
}

/// One run of many: its grid point, its seed, its directory.
struct Job {
    point: usize,
    seed: u64,
    dir: PathBuf,
}

/// Runs `args` over its seeds and sweep grid; writes one report per run plus `sweep.html`.
pub fn run_many(args: &RunArgs) -> u8 {
    let sweeps = &args.sweep;
    if let Some(dup) = sweeps
        .iter()
        .enumerate()
        .find(|(i, s)| sweeps[..*i].iter().any(|t| t.key == s.key))
    {
        warn(&format!(
            "error: --sweep {} is given twice; give each key once",
            dup.1.key
        ));
        return EXIT_BAD_INPUT;
    }
    let points = grid(sweeps);
    let name = args
        .file
        .file_stem()
        .map_or("scenario".into(), |s| s.to_string_lossy().to_string());
    let base = args.out.clone().unwrap_or_else(|| {
        let tag = if sweeps.is_empty() {
            let r = args.seeds.unwrap_or(SeedRange { first: 0, last: 0 });
            format!("seeds-{}..{}", r.first, r.last)
        } else {
            let keys: Vec<String> = sweeps
                .iter()
                .map(|s| s.key.replace(['.', '[', ']'], "_"))
                .collect();
            format!("sweep-{}", keys.join("-"))
        };
        let mut dir = PathBuf::from("runs").join(name);
        if let Some(variant) = crate::run::variant_dir(&args.sets) {
            dir = dir.join(variant);
        }
        dir.join(tag)
    });
    // Validate every point once up front, so a bad value is reported once, not once per seed;
    // without --seeds each point runs with the seed its scenario ends up with (the file's, or a
    // swept `seed` itself), and its directory is named after that seed.
    let mut jobs = Vec::new();
    for (i, p) in points.iter().enumerate() {
        let mut sets = args.sets.clone();
        if let Some(seed) = args.seed {
            sets.push(format!("seed={seed}"));
        }
        sets.extend(p.sets());
        let scenario = match crate::run::load_with_sets(&args.file, &sets, &args.allow_files) {
            Ok(s) => s,
            Err(e) => {
                warn(&e);
                return EXIT_BAD_INPUT;
            }
        };
        let seeds = args.seeds.map_or_else(|| vec![scenario.seed], |r| r.seeds());
        for seed in seeds {
            let dir = base.join(&p.dir).join(seed.to_string());
            jobs.push(Job { point: i, seed, dir });
        }
    }
    let seeds_per_point = args.seeds.map_or(1, |r| r.seeds().len());
    say(&format!(
        "{} runs ({} points × {} seeds) into {}",
        jobs.len(),
        points.len(),
        seeds_per_point,
        base.display()
    ));
    if let (Some(pcap), true) = (&args.pcap, jobs.len() > 1) {
        let example = pcap_for(pcap, &points[0].dir, jobs[0].seed);
        say(&format!(
            "pcap: one file per run, named after its point and seed, e.g. {}",
            example.display()
        ));
    }
    let bar = progress_bar(jobs.len() as u64, args.quiet);
    let run_job = |k: usize| {
        let job = &jobs[k];
        let mut a = args.clone();
        a.sets.extend(points[job.point].sets());
        // A swept `seed` is set by the value itself; otherwise the run's seed is the one its
        // directory is named after.
        let seed_swept = args.seeds.is_none() && sweeps.iter().any(|s| s.key == "seed");
        a.seed = (!seed_swept).then_some(job.seed);
        if let (Some(pcap), true) = (&args.pcap, jobs.len() > 1) {
            // Runs in parallel must not share one capture file.
            a.pcap = Some(pcap_for(pcap, &points[job.point].dir, job.seed));
        }
        let result = run_once(&a, Some(job.dir.clone()), Verbosity::Silent);
        bar.inc(1);
        (k, a, result)
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.map_or(0, usize::from))
        .build();
    let results: Vec<_> = match pool {
        Ok(pool) => pool.install(|| (0..jobs.len()).into_par_iter().map(run_job).collect()),
        Err(e) => {
            warn(&format!(
                "error: cannot start {} workers: {e}",
                args.jobs.unwrap_or(0)
            ));
            return EXIT_BAD_INPUT;
        }
    };
    bar.finish_and_clear();
    let mut sweep_points: Vec<SweepPoint> = points
        .iter()
        .map(|p| SweepPoint {
            x: match p.values.as_slice() {
                [(_, v)] => numeric(v),
                _ => None,
            },
            label: p.label(),
            summaries: Vec::new(),
        })
        .collect();
    let mut failed = Vec::new();
    for (k, a, r) in results {
        let job = &jobs[k];
        match r {
            Ok(run) => {
                let checks: Vec<&str> = run
                    .summary
                    .checks
                    .iter()
                    .filter(|c| !c.passed)
                    .map(|c| c.name.as_str())
                    .collect();
                if !checks.is_empty() {
                    failed.push(format!(
                        "  {}: failed {}; replay: {}",
                        job.dir.display(),
                        checks.join(", "),
                        crate::run::replay_command(&a, job.seed)
                    ));
                }
                sweep_points[job.point].summaries.push(run.summary);
            }
            Err(code) if code == EXIT_BAD_INPUT => {
                warn(&format!(
                    "error: the run in {} could not be done; replay: {}",
                    job.dir.display(),
                    crate::run::replay_command(&a, job.seed)
                ));
                return EXIT_BAD_INPUT;
            }
            Err(_) => failed.push(format!("  {}: did not complete", job.dir.display())),
        }
    }
    let param = if sweeps.is_empty() {
        "seed".to_string()
    } else {
        sweeps
            .iter()
            .map(|s| s.key.as_str())
            .collect::<Vec<_>>()
            .join(" × ")
    };
    match render_sweep(&param, &sweep_points, &base) {
        Ok(path) => say(&format!("report: {}", path.display())),
        Err(e) => warn(&format!("warning: sweep report not rendered: {e}")),
    }
    if !args.quiet {
        for p in &sweep_points {
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
    }
    say(&format!("{} of {} runs failed", failed.len(), jobs.len()));
    if failed.is_empty() {
        return EXIT_PASSED;
    }
    if !args.quiet {
        for line in &failed {
            warn(line);
        }
    }
    EXIT_FAILED
}

/// One bar over all the runs, with the time left; hidden when quiet or not on a terminal.
fn progress_bar(runs: u64, quiet: bool) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if quiet || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(runs);
    let style =
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} runs · {elapsed} · about {eta} left")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar
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

/// A readable directory name for a value: `20%` → `20pct`, `5/s` → `5_per_s`, anything else but
/// letters, digits, `-`, `_`, `=` and `.` → `_` (a leading `.` too, so `..` names no parent).
pub fn readable_name(v: &str) -> String {
    let mut out = String::new();
    for c in v.chars() {
        match c {
            '%' => out.push_str("pct"),
            '/' => out.push_str("_per_"),
            c if c.is_ascii_alphanumeric() || "-_.=".contains(c) => out.push(c),
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
    let names: Vec<Option<String>> = values.iter().map(|v| v.as_deref().map(readable_name)).collect();
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

/// The capture file of one run among many: `x.pcap` → `x-20pct-seed3.pcap` (the point's value
/// directories joined by `-`, only in a sweep).
fn pcap_for(path: &std::path::Path, point_dir: &std::path::Path, seed: u64) -> PathBuf {
    let stem = path
        .file_stem()
        .map_or("capture".into(), |s| s.to_string_lossy().to_string());
    let values: Vec<String> = point_dir
        .components()
        .map(|c| c.as_os_str().to_string_lossy().to_string())
        .collect();
    let tag = if values.is_empty() {
        format!("{stem}-seed{seed}")
    } else {
        format!("{stem}-{}-seed{seed}", values.join("-"))
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
        let none = std::path::Path::new("");
        assert_eq!(pcap_for(p, none, 2), PathBuf::from("runs/x-seed2.pcap"));
        assert_eq!(
            pcap_for(p, std::path::Path::new("20pct"), 1),
            PathBuf::from("runs/x-20pct-seed1.pcap")
        );
        assert_eq!(
            pcap_for(p, std::path::Path::new("20pct/5_per_s"), 1),
            PathBuf::from("runs/x-20pct-5_per_s-seed1.pcap")
        );
        assert_eq!(
            pcap_for(std::path::Path::new("cap"), none, 7),
            PathBuf::from("cap-seed7")
        );
    }
}
