//! Running a distribution scenario end to end: the same files as a PNRP run (`config.json`,
//! `records.jsonl`, `summary.json`, `report.html`).

use super::DistWorld;
use crate::cli::RunArgs;
use crate::progress::Progress;
use crate::run::{RunResult, Verbosity, EXIT_BAD_INPUT};
use crate::scenario::Scenario;
use crate::wall;
use crate::world::{Outcome, Recorder};
use peerlab_reports::{CheckResult, RunInfo};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The expanded configuration of a distribution run as pretty JSON.
pub fn config_json(s: &Scenario, file: &Path, replay: &str) -> String {
    let v = serde_json::json!({
        "scenario": s,
        "source": file.display().to_string(),
        "replay": replay,
    });
    serde_json::to_string_pretty(&v).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// Machines (clients, attackers, hosted caches) of a distribution scenario.
pub fn machines(s: &Scenario) -> u64 {
    s.distribution.as_ref().map_or(0, |d| {
        let clients: u64 = d
            .branches
            .iter()
            .map(|b| b.clients + u64::from(b.hosted_cache))
            .sum();
        clients + d.attackers.iter().map(|a| a.count).sum::<u64>()
    })
}

/// Runs `s` and writes every output file to `dir`; errors are printed and mapped to an exit code.
pub fn run_once(
    args: &RunArgs,
    s: Scenario,
    dir: PathBuf,
    verbosity: Verbosity,
    replay: &str,
) -> Result<RunResult, u8> {
    let quiet = verbosity.quiet();
    let warn = |m: String| {
        let _ = writeln!(std::io::stderr(), "{m}");
        EXIT_BAD_INPUT
    };
    let io_err =
        |what: &str, e: std::io::Error| warn(format!("error: cannot write {what} in {}: {e}", dir.display()));
    if !quiet {
        let _ = writeln!(
            std::io::stdout(),
            "peerlab {} · scenario {} · seed {} · {} machines · {} simulated",
            env!("CARGO_PKG_VERSION"),
            s.name,
            s.seed,
            machines(&s),
            s.duration
        );
    }
    peerlab_reports::output::write_file(&dir.join("config.json"), config_json(&s, &args.file, replay))
        .map_err(|e| io_err("config.json", e))?;
    let rec = crate::run::records_sink(&dir, s.output.records).map_err(|e| io_err("records.jsonl", e))?;
    let watch = wall::Stopwatch::start();
    let mut progress = Progress::new(s.duration, quiet);
    let world = DistWorld::new(&s, rec).map_err(|e| warn(format!("{}: {e}", args.file.display())))?;
    let (outcome, mut rec) = world.run(&mut |t, events, live| progress.update(t, events, live));
    progress.finish();
    let wall_s = watch.secs();
    rec.finish().map_err(|e| io_err("records.jsonl", e))?;
    let info = RunInfo {
        scenario: s.name.clone(),
        seed: s.seed,
        fingerprint: outcome.fingerprint.clone(),
        sim_duration_s: s.duration.as_secs_f64(),
        wall_s,
        // No key store here: set-up is counted as simulation.
        setup_s: 0.0,
        events: outcome.events,
        peak_rss_bytes: wall::peak_rss_bytes(),
        peers_max: outcome.peers_max,
        metrics: outcome.metrics.clone(),
    };
    let mut summary = rec.aggregator().summary(&info);
    summary.checks = outcome
        .checks
        .iter()
        .map(|c| CheckResult {
            name: c.name.clone(),
            passed: c.passed,
            detail: c.detail.clone(),
        })
        .collect();
    let json = serde_json::to_string_pretty(&summary).map_err(|e| warn(format!("summary: {e}")))?;
    peerlab_reports::output::write_file(&dir.join("summary.json"), json)
        .map_err(|e| io_err("summary.json", e))?;
    let report = crate::run::render_report(&dir, s.output.records);
    crate::run::print_outcome(&summary, &dir, report.as_ref(), replay, verbosity);
    Ok(RunResult {
        dir,
        summary,
        records_digest: rec.digest(),
    })
}

/// Runs a distribution scenario in memory (tests, benches): outcome and records digest.
pub fn simulate(s: &Scenario) -> Result<(Outcome, String), String> {
    let rec = Recorder::new(None).map_err(|e| e.to_string())?;
    let (outcome, rec) = DistWorld::new(s, rec)?.run(&mut |_, _, _| {});
    Ok((outcome, rec.digest()))
}
