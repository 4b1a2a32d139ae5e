//! Running a scenario end to end: load and validate, expand for the seed, run the world, write
//! `config.json`, `records.jsonl`, `summary.json` and `report.html`, print the summary.

use crate::cli::RunArgs;
use crate::pnrp::PnrpWorld as World;
use crate::progress::Progress;
use crate::protocols::Hosted;
use crate::world::Recorder;
use crate::{expand, scenario, wall};
use peerlab_reports::{group_digits, RunInfo, Summary};
use std::io::Write;
use std::path::{Path, PathBuf};

/// `println!` that ignores a closed stdout (e.g. `peerlab run ... | head`) instead of panicking.
macro_rules! say {
    ($($t:tt)*) => {{ let _ = writeln!(std::io::stdout(), $($t)*); }};
}

/// `eprintln!` that ignores a closed stderr.
macro_rules! warn {
    ($($t:tt)*) => {{ let _ = writeln!(std::io::stderr(), $($t)*); }};
}
use std::sync::Arc;

/// Exit code: the run passed its checks.
pub const EXIT_PASSED: u8 = 0;
/// Exit code: the run completed but failed its checks.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: bad input (scenario, flags) or an I/O error.
pub const EXIT_BAD_INPUT: u8 = 2;

/// What a finished run produced.
#[derive(Debug)]
pub struct RunResult {
    /// The run directory.
    pub dir: PathBuf,
    /// The summary written to `summary.json`.
    pub summary: Summary,
    /// Digest of the records written (for determinism checks).
    pub records_digest: String,
}

/// How much one run prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verbosity {
    /// The banner, the progress bar, the summary table and where the report went.
    Normal,
    /// One closing line (and the table, failed checks and replay line of a failed run).
    Quiet,
    /// Nothing: one run among many, whose caller reports them all.
    Silent,
}

impl Verbosity {
    /// True unless `Normal`.
    pub fn quiet(self) -> bool {
        self != Verbosity::Normal
    }
}

/// `peerlab run`.
pub fn run_command(args: &RunArgs) -> u8 {
    if args.seeds.is_some() && args.seed.is_some() {
        warn!(
            "error: --seed and --seeds both choose the seed; give --seeds A..B for many runs or --seed N for one"
        );
        return EXIT_BAD_INPUT;
    }
    if args.seeds.is_some() || !args.sweep.is_empty() {
        if args.check_determinism {
            // Each run of a sweep is one seed; checking them all twice is a separate command.
            warn!(
                "error: --check-determinism checks one run and cannot be combined with --seeds or \
                 --sweep; run `peerlab run FILE --seed N --check-determinism` for a seed, or \
                 `peerlab explore` to check many"
            );
            return EXIT_BAD_INPUT;
        }
        return crate::sweep::run_many(args);
    }
    let verbosity = if args.quiet {
        Verbosity::Quiet
    } else {
        Verbosity::Normal
    };
    let result = match run_once(args, args.out.clone(), verbosity) {
        Ok(r) => r,
        Err(code) => return code,
    };
    if args.check_determinism {
        let second_dir = result.dir.join("determinism-check");
        let again = match run_once(args, Some(second_dir), Verbosity::Silent) {
            Ok(r) => r,
            Err(code) => return code,
        };
        if again.summary.fingerprint != result.summary.fingerprint
            || again.records_digest != result.records_digest
        {
            warn!(
                "determinism check FAILED: fingerprints {} vs {}; records differ: {}",
                result.summary.fingerprint,
                again.summary.fingerprint,
                again.records_digest != result.records_digest
            );
            // Issue 5 point 7: name the first event processed differently.
            match determinism_plan(args).and_then(crate::repro::determinism::explain) {
                Ok(Some(d)) => warn!("{d}"),
                Ok(None) => warn!("two more runs agreed event by event: the divergence is not reproducible"),
                Err(e) => warn!("cannot name the diverging event: {e}"),
            }
            return EXIT_FAILED;
        }
        say!(
            "determinism check passed: both runs have fingerprint {}",
            result.summary.fingerprint
        );
    }
    if result.summary.checks.iter().all(|c| c.passed) {
        EXIT_PASSED
    } else {
        EXIT_FAILED
    }
}

/// Loads, runs and writes one scenario run; errors are printed and mapped to an exit code.
pub fn run_once(args: &RunArgs, out: Option<PathBuf>, verbosity: Verbosity) -> Result<RunResult, u8> {
    let quiet = verbosity.quiet();
    let mut sets = args.sets.clone();
    if let Some(seed) = args.seed {
        sets.push(format!("seed={seed}"));
    }
    let scenario = load_checked(&args.file, &sets, &args.allow_files, quiet).map_err(|e| {
        warn!("{e}");
        EXIT_BAD_INPUT
    })?;
    admit(&scenario, args.force, quiet).map_err(|e| {
        warn!("{}: {e}", scenario::escape(&args.file.display().to_string()));
        EXIT_BAD_INPUT
    })?;
    if Hosted::of(&scenario) == Hosted::Distribution {
        let dir = out.unwrap_or_else(|| default_run_dir(&scenario.name, &args.sets, scenario.seed));
        std::fs::create_dir_all(&dir).map_err(|e| {
            warn!("error: cannot create {}: {e}", dir.display());
            EXIT_BAD_INPUT
        })?;
        let replay = replay_command(args, scenario.seed);
        return crate::dist_world::run::run_once(args, scenario, dir, verbosity, &replay);
    }
    let plan = expand::plan(&scenario, &args.file).map_err(|e| {
        warn!("{e}");
        EXIT_BAD_INPUT
    })?;
    let dir = out.unwrap_or_else(|| default_run_dir(&plan.name, &args.sets, plan.seed));
    let io_err = |what: &str, e: std::io::Error| {
        warn!("error: cannot write {what} in {}: {e}", dir.display());
        EXIT_BAD_INPUT
    };
    std::fs::create_dir_all(&dir).map_err(|e| io_err("the run directory", e))?;
    let replay = replay_command(args, plan.seed);
    // The seed and crate versions go before every run, quiet or not (not among many runs, whose
    // progress bar names them).
    if verbosity != Verbosity::Silent {
        let facts = [
            format!("scenario {}", scenario::escape(&plan.name)),
            format!("seed {}", plan.seed),
            format!(
                "{} peers",
                group_digits(u64::from(crate::world::total_peers(&plan)))
            ),
            format!("{} simulated", plan.duration),
        ];
        say!("{}", crate::repro::banner(&facts));
    }
    let config = expand::config_json(&scenario, &plan, &args.file, &replay);
    peerlab_reports::output::write_file(&dir.join("config.json"), config)
        .map_err(|e| io_err("config.json", e))?;
    if Hosted::of(&scenario) == Hosted::Graphing
        && args.backend == crate::live::turmoil_backend::Backend::Turmoil
    {
        warn!(
            "error: --backend turmoil runs PNRP scenarios; a graphing scenario runs in the \
             simulator's stream transport (drop the flag)"
        );
        return Err(EXIT_BAD_INPUT);
    }
    if args.backend == crate::live::turmoil_backend::Backend::Turmoil {
        return crate::live::turmoil_backend::run_once(args, plan, dir, verbosity, &replay);
    }
    let rec = records_sink(&dir, plan.records).map_err(|e| io_err("records.jsonl", e))?;
    let watch = wall::Stopwatch::start();
    let plan = Arc::new(plan);
    let progress = Progress::new(plan.duration, quiet);
    let run = Execution {
        args,
        dir,
        replay,
        verbosity,
        watch,
        progress,
    };
    if Hosted::of(&scenario) == Hosted::Graphing {
        let world = crate::graphing::GraphingWorld::new(plan.clone(), rec).map_err(|e| {
            warn!("{}: {e}", args.file.display());
            EXIT_BAD_INPUT
        })?;
        return run.execute(world, &plan, 0.0, |world, _| {
            let pcap = crate::pcap::attach_with(world, args, crate::graphing::pcap_codec())?;
            Ok(Box::new(move |quiet: bool| {
                crate::pcap::report(pcap, args, quiet)
            }))
        });
    }
    // Set-up (keys, then the world) is timed apart from the simulation it precedes.
    let store = (!args.no_key_cache).then(crate::key_cache::default_dir).flatten();
    let peers = u64::from(crate::world::total_peers(&plan));
    let keys = crate::key_cache::prepare(plan.scheme, plan.seed, peers, store.as_deref(), &|d, n| {
        run.progress.keys(d, n)
    });
    let world = World::new(plan.clone(), rec).map_err(|e| {
        warn!("{}: {e}", args.file.display());
        EXIT_BAD_INPUT
    })?;
    let setup_s = run.watch.secs();
    if !quiet && keys.loaded + keys.generated > 0 {
        say!(
            "set-up {setup_s:.2} s: {} keys from the key store, {} generated{}",
            keys.loaded,
            keys.generated,
            if keys.damaged > 0 {
                format!(" ({} damaged store entries rewritten)", keys.damaged)
            } else {
                String::new()
            }
        );
    }
    run.execute(world, &plan, setup_s, |world, dir| {
        let pcap = crate::pcap::attach(world, args)?;
        let trace = attach_trace(world, dir, plan.trace).map_err(|e| io_failure(dir, "trace.jsonl", e))?;
        let dir = dir.to_path_buf();
        Ok(Box::new(move |quiet: bool| {
            crate::pcap::report(pcap, args, quiet)?;
            if let Some(status) = trace {
                let status = status.take();
                if let Some(e) = status.error {
                    return Err(io_failure(&dir, "trace.jsonl", e));
                }
                if !quiet {
                    say!(
                        "trace: {} datagrams written to {}",
                        status.lines,
                        dir.join("trace.jsonl").display()
                    );
                }
            }
            Ok(())
        }))
    })
}

/// Prints that `what` could not be written in `dir`; the exit code for it.
fn io_failure(dir: &Path, what: &str, e: std::io::Error) -> u8 {
    warn!("error: cannot write {what} in {}: {e}", dir.display());
    EXIT_BAD_INPUT
}

/// Says what an observer wrote, once the run is over (`quiet` = print only errors).
type AfterRun<'a> = Box<dyn FnOnce(bool) -> Result<(), u8> + 'a>;

/// One run being executed: where it writes, how it prints, its clocks.
struct Execution<'a> {
    args: &'a RunArgs,
    dir: PathBuf,
    replay: String,
    verbosity: Verbosity,
    watch: wall::Stopwatch,
    progress: Progress,
}

impl<'a> Execution<'a> {
    /// Runs `world` (of any protocol) to its end with the observers `observe` installs, then writes
    /// `summary.json` and the report and prints the outcome.
    fn execute<P: crate::world::Protocol>(
        mut self,
        mut world: crate::world::World<P>,
        plan: &crate::plan::Plan,
        setup_s: f64,
        observe: impl FnOnce(&mut crate::world::World<P>, &Path) -> Result<AfterRun<'a>, u8>,
    ) -> Result<RunResult, u8> {
        let (args, dir, verbosity) = (self.args, self.dir.clone(), self.verbosity);
        let quiet = verbosity.quiet();
        world.set_stop_on_violation(args.stop_on_violation);
        let after = observe(&mut world, &dir)?;
        let progress = &mut self.progress;
        let (outcome, mut rec) = world.run(&mut |t, events, live| progress.update(t, events, live));
        after(quiet)?;
        self.progress.finish();
        let wall_s = self.watch.secs();
        rec.finish().map_err(|e| io_failure(&dir, "records.jsonl", e))?;
        let info = RunInfo {
            scenario: plan.name.clone(),
            seed: plan.seed,
            fingerprint: outcome.fingerprint.clone(),
            // Not the scenario's duration: `--stop-on-violation` may have ended the run early.
            sim_duration_s: outcome.simulated.as_secs_f64(),
            wall_s,
            setup_s,
            events: outcome.events,
            peak_rss_bytes: wall::peak_rss_bytes(),
            peers_max: outcome.peers_max,
            metrics: outcome.metrics.clone(),
        };
        let mut summary = rec.aggregator().summary(&info);
        summary.checks = outcome
            .checks
            .iter()
            .map(|c| peerlab_reports::CheckResult {
                name: c.name.clone(),
                passed: c.passed,
                detail: c.detail.clone(),
            })
            .collect();
        let json = serde_json::to_string_pretty(&summary).expect("summary serializes");
        peerlab_reports::output::write_file(&dir.join("summary.json"), json)
            .map_err(|e| io_failure(&dir, "summary.json", e))?;
        let report = render_report(&dir, plan.records);
        let replay = &self.replay;
        print_outcome(&summary, &dir, report.as_ref(), replay, verbosity);
        if outcome.violations > 0 && !args.stop_on_violation && verbosity != Verbosity::Silent {
            warn!(
                "{} invariant violations (records.jsonl); stop at the first: {replay} --stop-on-violation",
                outcome.violations
            );
            if summary.checks.iter().all(|c| c.passed) {
                warn!("replay: {replay}");
            }
        }
        Ok(RunResult {
            dir,
            summary,
            records_digest: rec.digest(),
        })
    }
}

/// What a finished run prints: the summary table (always when a check failed, unless silent),
/// where the report went, the `--quiet` line, each failed check and the replay command.
pub(crate) fn print_outcome(
    summary: &Summary,
    dir: &Path,
    report: Option<&Result<PathBuf, peerlab_reports::ReportError>>,
    replay: &str,
    verbosity: Verbosity,
) {
    if verbosity == Verbosity::Silent {
        return;
    }
    let quiet = verbosity.quiet();
    let failed: Vec<_> = summary.checks.iter().filter(|c| !c.passed).collect();
    if !quiet || !failed.is_empty() {
        say!("{}", summary.to_table());
    }
    match report {
        Some(Ok(path)) if !quiet => say!("report: {}", path.display()),
        None if !quiet => say!("report: none ([output] records = false)"),
        Some(Err(e)) => warn!("warning: report not rendered: {e}"),
        _ => {}
    }
    if quiet {
        say!("{}", quiet_summary(summary, dir));
    }
    for c in &failed {
        warn!("check failed: {} — {}", c.name, c.detail);
    }
    if !failed.is_empty() {
        warn!("replay: {replay}");
    }
}

/// The one line `--quiet` prints after a run: verdict, checks, fingerprint and where the run went.
pub fn quiet_summary(summary: &Summary, dir: &Path) -> String {
    let passed = summary.checks.iter().filter(|c| c.passed).count();
    let verdict = if passed == summary.checks.len() {
        "PASS"
    } else {
        "FAIL"
    };
    format!(
        "{verdict}: {passed} of {} checks passed · simulated {:.1} s · fingerprint {} · output {}",
        summary.checks.len(),
        summary.sim_duration_s,
        summary.fingerprint,
        dir.display()
    )
}

/// The records sink of a run in `dir`: `records.jsonl`, or with `[output] records = false` only
/// the in-memory aggregation (a stale `records.jsonl` from an earlier run there is removed, so
/// the directory never mixes two runs).
pub(crate) fn records_sink(dir: &Path, records: bool) -> std::io::Result<Recorder> {
    let path = dir.join("records.jsonl");
    if records {
        return Recorder::new(Some(&path));
    }
    peerlab_reports::output::remove_file(&path)?;
    Recorder::new(None)
}

/// Renders `report.html` and the CSVs from `records.jsonl`; `None` when the run wrote no records.
pub(crate) fn render_report(
    dir: &Path,
    records: bool,
) -> Option<Result<PathBuf, peerlab_reports::ReportError>> {
    records.then(|| peerlab_reports::render_run(dir))
}

/// With `[output] trace = true`, writes every datagram to `trace.jsonl` in `dir` (a stale one is
/// removed otherwise); returns the writer's status handle.
fn attach_trace(
    world: &mut World,
    dir: &Path,
    trace: bool,
) -> std::io::Result<Option<std::rc::Rc<std::cell::RefCell<crate::trace_file::TraceStatus>>>> {
    let path = dir.join("trace.jsonl");
    if !trace {
        return peerlab_reports::output::remove_file(&path).map(|()| None);
    }
    let (obs, status) = crate::trace_file::TraceFile::create(&path)?;
    world.add_observer(Box::new(obs));
    Ok(Some(status))
}

/// The plan `run_once` would run, for re-running it in memory.
fn determinism_plan(args: &RunArgs) -> Result<Arc<crate::plan::Plan>, String> {
    let mut sets = args.sets.clone();
    if let Some(seed) = args.seed {
        sets.push(format!("seed={seed}"));
    }
    let scenario = load_with_sets(&args.file, &sets, &args.allow_files)?;
    crate::repro::plan_of(&scenario, &args.file)
}

/// Loads a scenario file with `--set` overrides, letting it read files in `allow_files` too.
pub fn load_with_sets(
    file: &Path,
    sets: &[String],
    allow_files: &[PathBuf],
) -> Result<scenario::Scenario, String> {
    let options = scenario::LoadOptions {
        sets: sets.to_vec(),
        allow_files: allow_files.to_vec(),
    };
    scenario::load_with(file, &options)
        .map(|l| l.scenario)
        .map_err(|e| e.to_string())
}

/// As `load_with_sets`, printing the scenario's warnings (unless `quiet`).
fn load_checked(
    file: &Path,
    sets: &[String],
    allow_files: &[PathBuf],
    quiet: bool,
) -> Result<scenario::Scenario, String> {
    let options = scenario::LoadOptions {
        sets: sets.to_vec(),
        allow_files: allow_files.to_vec(),
    };
    let loaded = scenario::load_with(file, &options).map_err(|e| e.to_string())?;
    if !quiet {
        for w in &loaded.warnings {
            warn!("{w}");
        }
    }
    Ok(loaded.scenario)
}

/// Prints the estimate of a large run, and refuses one whose estimated memory exceeds what this
/// machine has available, unless `force`.
fn admit(s: &scenario::Scenario, force: bool, quiet: bool) -> Result<(), String> {
    let Some(estimate) = scenario::Estimate::of(s) else {
        return Ok(());
    };
    if estimate.is_large() && !quiet {
        say!("{}", estimate.line());
    }
    match estimate.fits(wall::meminfo()) {
        Err(why) if !force => Err(why),
        _ => Ok(()),
    }
}

/// The one-line command that reproduces a run of `args` with `seed`, every argument shell-quoted:
/// the file, the seed, every `--set`, and the flags that change what runs.
pub fn replay_command(args: &RunArgs, seed: u64) -> String {
    let mut words = vec![
        "run".to_string(),
        args.file.display().to_string(),
        "--seed".to_string(),
        seed.to_string(),
    ];
    for s in args.sets.iter().filter(|s| !s.starts_with("seed=")) {
        words.push("--set".into());
        words.push(s.clone());
    }
    if args.backend == crate::live::turmoil_backend::Backend::Turmoil {
        words.extend(["--backend".to_string(), "turmoil".to_string()]);
    }
    if args.stop_on_violation {
        words.push("--stop-on-violation".into());
    }
    for dir in &args.allow_files {
        words.push("--allow-files".into());
        words.push(dir.display().to_string());
    }
    if args.force {
        words.push("--force".into());
    }
    crate::shell::peerlab_command(&words)
}

/// Where a run goes without `--out`: `runs/<scenario>/<seed>`, or with `--set` overrides
/// `runs/<scenario>/<overrides>/<seed>`, so that a variant never overwrites the run it is
/// compared with.
pub fn default_run_dir(scenario: &str, sets: &[String], seed: u64) -> PathBuf {
    let mut dir = PathBuf::from("runs").join(sanitize(scenario));
    if let Some(variant) = variant_dir(sets) {
        dir = dir.join(variant);
    }
    dir.join(seed.to_string())
}

/// A directory name for a list of `--set` overrides (`seed=` aside): `network.loss=1%` →
/// `network.loss=1pct`, several joined by `+`; `None` without any.
pub fn variant_dir(sets: &[String]) -> Option<String> {
    let parts: Vec<String> = sets
        .iter()
        .filter(|s| !s.starts_with("seed="))
        .map(|s| crate::sweep::readable_name(s))
        .collect();
    if parts.is_empty() {
        return None;
    }
    let name = parts.join("+");
    // Keep names within file-system limits; a digest keeps long ones distinct. The name is ASCII
    // (readable_name), so any byte index is a character boundary.
    if name.len() <= 120 {
        return Some(name);
    }
    use sha2::Digest;
    let digest = sha2::Sha256::digest(name.as_bytes());
    let short: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    Some(format!("{}-{short}", &name[..80]))
}

/// `name` with every character but ASCII letters, digits, `-` and `_` replaced by `_`.
pub fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `peerlab check`: validates every file; exit 2 when any is bad.
pub fn check_command(files: &[PathBuf], allow_files: &[PathBuf]) -> u8 {
    let mut bad = false;
    for f in files {
        // No per-peer state: `expand::check` expands a copy with a few peers per group.
        let checked = load_checked(f, &[], allow_files, false).and_then(|s| {
            match &s.distribution {
                Some(d) => crate::dist_world::layout::Layout::new(d).map(|_| ()),
                None => expand::check(&s, f)
                    .map_err(|e| e.to_string())
                    .and_then(|plan| network_builds(&plan, f)),
            }?;
            if let Some(e) = scenario::Estimate::of(&s).filter(scenario::Estimate::is_large) {
                say!("{}: {}", scenario::escape(&f.display().to_string()), e.line());
            }
            Ok(())
        });
        match checked {
            Ok(()) => say!("{}: ok", scenario::escape(&f.display().to_string())),
            Err(e) => {
                warn!("{e}");
                bad = true;
            }
        }
    }
    if bad {
        EXIT_BAD_INPUT
    } else {
        EXIT_PASSED
    }
}

/// Builds the plan's network model as a run would, so that `check` refuses what `run` would (a
/// safety net: validation names each bound with its line first).
fn network_builds(plan: &crate::plan::Plan, file: &Path) -> Result<(), String> {
    let seed = peerlab_engine::derive_seed(plan.seed, "network", 0);
    crate::net::NetModel::new(plan.net.clone(), crate::world::total_peers(plan), seed)
        .map(|_| ())
        .map_err(|e| format!("{}: network model: {e}", file.display()))
}

/// `peerlab report`.
pub fn report_command(dir: &Path, png: bool) -> u8 {
    match peerlab_reports::render_run(dir) {
        Ok(path) => {
            say!("report: {}", path.display());
            if png {
                match peerlab_reports::render_png(dir) {
                    Ok(files) => say!("{} PNG plots in {}", files.len(), dir.display()),
                    Err(e) => {
                        warn!("error: {}: {e}", dir.display());
                        return EXIT_BAD_INPUT;
                    }
                }
            }
            EXIT_PASSED
        }
        Err(e) => {
            warn!("error: {}: {e}", dir.display());
            EXIT_BAD_INPUT
        }
    }
}

/// `peerlab compare`.
pub fn compare_command(runs: &[PathBuf], out: Option<&Path>) -> u8 {
    let out = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("runs").join("compare"));
    match peerlab_reports::render_compare(runs, &out) {
        Ok(path) => {
            say!("report: {}", path.display());
            EXIT_PASSED
        }
        Err(e) => {
            warn!("error: {e}");
            EXIT_BAD_INPUT
        }
    }
}

/// Runs a scenario given as text in memory, without writing files: for tests and benches.
/// Returns the outcome and the digest of the records it would have written.
pub fn simulate(text: &str, sets: &[String]) -> Result<(crate::world::Outcome, String), String> {
    let scenario = scenario::parse_with_overrides(text, "<memory>", sets).map_err(|e| e.to_string())?;
    if Hosted::of(&scenario) == Hosted::Distribution {
        return crate::dist_world::run::simulate(&scenario);
    }
    let plan = expand::plan(&scenario, Path::new("<memory>")).map_err(|e| e.to_string())?;
    let rec = Recorder::new(None).map_err(|e| e.to_string())?;
    let (outcome, rec) = match Hosted::of(&scenario) {
        Hosted::Graphing => crate::graphing::GraphingWorld::new(Arc::new(plan), rec)?.run(&mut |_, _, _| {}),
        _ => World::new(Arc::new(plan), rec)?.run(&mut |_, _, _| {}),
    };
    Ok((outcome, rec.digest()))
}
