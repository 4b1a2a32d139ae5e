//! `peerlab explore FILE --seeds A..B`: runs many seeds in parallel, each deterministic and in
//! memory, lists the failing seeds grouped by invariant, and writes one repro file per failure
//! (FoundationDB's and TigerBeetle's VOPR loop).

use super::repro_file::Repro;
use super::{banner, plan_of, run_plan, Failure};
use crate::run::{EXIT_BAD_INPUT, EXIT_FAILED, EXIT_PASSED};
use crate::scenario::{escape, Scenario};
use crate::sweep::SeedRange;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// `peerlab explore` options.
#[derive(Debug, clap::Args, Clone)]
pub struct ExploreArgs {
    /// Scenario file (TOML).
    pub file: PathBuf,
    /// Inclusive seed range, e.g. `1..10000`.
    #[arg(long, value_name = "A..B")]
    pub seeds: SeedRange,
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Where repro files go (default: runs/explore/<scenario>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Override a scenario value, as for `peerlab run`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Stop each seed's run at its first violation (faster; end-of-run checks are then skipped).
    #[arg(long)]
    pub stop_on_violation: bool,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// Let the scenario read files (latency matrix, session traces) in this directory too,
    /// besides its own directory tree (repeatable).
    #[arg(long = "allow-files", value_name = "DIR")]
    pub allow_files: Vec<PathBuf>,
}

/// How one seed came out.
#[derive(Clone, Debug, Serialize)]
pub struct SeedResult {
    /// The seed.
    pub seed: u64,
    /// Its failures (empty: it passed).
    pub failures: Vec<Failure>,
    /// Events processed.
    pub events: u64,
    /// The run's fingerprint.
    pub fingerprint: String,
    /// Why the seed could not run (a plan that does not expand for this seed).
    pub error: Option<String>,
}

/// Runs every seed of `seeds` on `scenario` (`path` names it) with `jobs` threads, calling
/// `tick` after each; results in seed order.
pub fn explore(
    scenario: &Scenario,
    path: &Path,
    seeds: SeedRange,
    jobs: Option<usize>,
    stop_on_violation: bool,
    tick: &(dyn Fn() + Sync),
) -> Result<Vec<SeedResult>, String> {
    let list = seeds.seeds();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.unwrap_or(0))
        .build()
        .map_err(|e| format!("cannot start worker threads: {e}"))?;
    Ok(pool.install(|| {
        list.par_iter()
            .map(|&seed| {
                let r = run_seed(scenario, path, seed, stop_on_violation);
                tick();
                r
            })
            .collect()
    }))
}

fn run_seed(scenario: &Scenario, path: &Path, seed: u64, stop: bool) -> SeedResult {
    let mut s = scenario.clone();
    s.seed = seed;
    let verdict = plan_of(&s, path).and_then(|plan| run_plan(plan, stop, None));
    match verdict {
        Ok(v) => SeedResult {
            seed,
            failures: v.failures,
            events: v.outcome.events,
            fingerprint: v.outcome.fingerprint,
            error: None,
        },
        Err(e) => SeedResult {
            seed,
            failures: Vec::new(),
            events: 0,
            fingerprint: String::new(),
            error: Some(e),
        },
    }
}

/// Failing seeds per invariant, in seed order.
pub fn group(results: &[SeedResult]) -> BTreeMap<String, Vec<(u64, Failure)>> {
    let mut g: BTreeMap<String, Vec<(u64, Failure)>> = BTreeMap::new();
    for r in results {
        for f in &r.failures {
            g.entry(f.invariant.clone())
                .or_default()
                .push((r.seed, f.clone()));
        }
    }
    g
}

/// The file name of the repro of `invariant` at `seed`.
pub fn repro_name(invariant: &str, seed: u64) -> String {
    let clean: String = invariant
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("{clean}-seed{seed}.toml")
}

/// The command that replays the repro at `path`: with `--allow-files` for the scenario's own
/// directory and every directory explore was allowed, when the scenario names files (a repro
/// file's `base_dir` is honoured only inside an allowed directory).
pub fn replay_line(path: &Path, scenario: &Scenario, args: &ExploreArgs) -> String {
    let mut words = vec!["replay".to_string(), path.display().to_string()];
    if scenario.names_files() {
        let own = std::fs::canonicalize(&scenario.base_dir).unwrap_or_else(|_| scenario.base_dir.clone());
        for dir in std::iter::once(&own).chain(&args.allow_files) {
            words.push("--allow-files".into());
            words.push(dir.display().to_string());
        }
    }
    // Quoted for the shell, then escaped for the terminal (a control character in a path is
    // shown, not sent).
    escape(&crate::shell::peerlab_command(&words))
}

/// `peerlab explore`.
pub fn explore_command(args: &ExploreArgs) -> u8 {
    let mut stdout = std::io::stdout();
    let scenario = match crate::run::load_with_sets(&args.file, &args.sets, &args.allow_files) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_BAD_INPUT;
        }
    };
    let n = args.seeds.last - args.seeds.first + 1;
    let range = format!("{}..{}", args.seeds.first, args.seeds.last);
    let _ = writeln!(
        stdout,
        "{}",
        banner(&[
            format!("scenario {}", escape(&scenario.name)),
            format!("seeds {range}")
        ])
    );
    let bar = ProgressBar::new(n);
    if args.quiet {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} seeds · {elapsed} · eta {eta}") {
        bar.set_style(style);
    }
    let tick = || bar.inc(1);
    let results = match explore(
        &scenario,
        &args.file,
        args.seeds,
        args.jobs,
        args.stop_on_violation,
        &tick,
    ) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    bar.finish_and_clear();
    let errors: Vec<_> = results
        .iter()
        .filter_map(|r| r.error.as_ref().map(|e| (r.seed, e)))
        .collect();
    for (seed, e) in &errors {
        eprintln!("seed {seed}: cannot run: {e}");
    }
    let groups = group(&results);
    let failing = results.iter().filter(|r| !r.failures.is_empty()).count();
    let _ = writeln!(
        stdout,
        "{n} seeds · {failing} failing · {} invariants broken",
        groups.len()
    );
    if groups.is_empty() {
        return if errors.is_empty() {
            EXIT_PASSED
        } else {
            EXIT_BAD_INPUT
        };
    }
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from("runs")
            .join("explore")
            .join(crate::run::sanitize(&scenario.name))
    });
    let mut written = 0usize;
    for (invariant, seeds) in &groups {
        let list: Vec<String> = seeds.iter().take(12).map(|(s, _)| s.to_string()).collect();
        let more = if seeds.len() > 12 {
            format!(" … (+{})", seeds.len() - 12)
        } else {
            String::new()
        };
        let _ = writeln!(
            stdout,
            "  {invariant}: {} seeds: {}{more}",
            seeds.len(),
            list.join(", ")
        );
        for (i, (seed, f)) in seeds.iter().enumerate() {
            let path = out.join(repro_name(invariant, *seed));
            match Repro::from_failure(&args.file, &args.sets, *seed, f, path.clone())
                .and_then(|r| r.write().map_err(|e| e.to_string()))
            {
                Ok(()) => {
                    written += 1;
                    if i == 0 {
                        let _ = writeln!(
                            stdout,
                            "    first at seed {seed}, event {} ({}), node {}: {}",
                            f.event_index,
                            super::fmt_time(f.t_us),
                            f.node.map_or("-".into(), |n| n.to_string()),
                            escape(&f.detail)
                        );
                        let _ = writeln!(stdout, "    replay: {}", replay_line(&path, &scenario, args));
                    }
                }
                Err(e) => {
                    eprintln!("error: cannot write {}: {e}", path.display());
                    return EXIT_BAD_INPUT;
                }
            }
        }
    }
    let summary = serde_json::json!({
        "scenario": scenario.name,
        "seeds": range,
        "failing": groups.iter().map(|(k, v)| (k.clone(), v.iter().map(|(s, _)| *s).collect::<Vec<_>>())).collect::<BTreeMap<_, _>>(),
    });
    let _ = peerlab_reports::output::write_file(&out.join("explore.json"), summary.to_string());
    let _ = writeln!(stdout, "{written} repro files in {}", out.display());
    EXIT_FAILED
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_group_by_invariant_in_seed_order() {
        let f = |inv: &str| Failure {
            invariant: inv.into(),
            node: None,
            event_index: 1,
            t_us: 1,
            detail: String::new(),
        };
        let r = |seed, fs: Vec<Failure>| SeedResult {
            seed,
            failures: fs,
            events: 1,
            fingerprint: String::new(),
            error: None,
        };
        let results = vec![r(1, vec![f("b")]), r(2, vec![]), r(3, vec![f("a"), f("b")])];
        let g = group(&results);
        assert_eq!(g.len(), 2);
        assert_eq!(g["b"].iter().map(|(s, _)| *s).collect::<Vec<_>>(), vec![1, 3]);
        assert_eq!(g["a"][0].0, 3);
        assert_eq!(repro_name("check:liveness", 7), "check-liveness-seed7.toml");
    }
}
