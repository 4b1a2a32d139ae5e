//! Reproducing bugs from seeds (docs/architecture.md §7 habit 13): explore many seeds for invariant
//! violations, write self-contained repro files, replay one with a message trace and state dump,
//! shrink it, and name the first diverging event when a run is not deterministic.
//!
//! Every run here happens in memory (no run directory); what a failing run needs to be seen again
//! is in its repro file (`repro_file`).

pub mod determinism;
pub mod explore;
pub mod msc;
pub mod replay;
pub mod repro_file;
pub mod shrink;
pub mod trace;

use crate::plan::Plan;
use crate::pnrp::PnrpWorld as World;
use crate::scenario::Scenario;
use crate::world::{Observer, Outcome, Recorder, WORLD_NODE};
use peerlab_engine::pnrp::Message;
use std::path::Path;
use std::sync::Arc;

/// One way a run failed: an invariant violation, or an end-of-run check that did not hold.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Failure {
    /// Invariant name (`forged_resolution_accepted`), or `check:<name>` for a failed check.
    pub invariant: String,
    /// The peer concerned; `None` for the whole world.
    pub node: Option<u32>,
    /// Index of the event that showed it (1-based; the last event for a check).
    pub event_index: u64,
    /// Simulated time, microseconds since the run's epoch.
    pub t_us: u64,
    /// What was seen.
    pub detail: String,
}

/// How one in-memory run came out.
pub struct Verdict {
    /// The world at the end (or where it stopped), for state dumps.
    pub world: World,
    /// The outcome.
    pub outcome: Outcome,
    /// Failures: the first violation of each invariant, then failed checks; earliest first.
    pub failures: Vec<Failure>,
}

impl Verdict {
    /// The first failure of invariant `name`, if the run had one.
    pub fn failure(&self, name: &str) -> Option<&Failure> {
        self.failures.iter().find(|f| f.invariant == name)
    }
}

/// Expands `scenario` for its seed (`path` names it and anchors relative files).
pub fn plan_of(scenario: &Scenario, path: &Path) -> Result<Arc<Plan>, String> {
    crate::expand::plan(scenario, path)
        .map(Arc::new)
        .map_err(|e| e.to_string())
}

/// Runs `plan` in memory; `stop_on_violation` stops after the first violating event.
pub fn run_plan(
    plan: Arc<Plan>,
    stop_on_violation: bool,
    observer: Option<Box<dyn Observer<Message>>>,
) -> Result<Verdict, String> {
    if plan.graphing.is_some() {
        // Repro files dump PNRP engines' state; graphing runs reproduce with
        // `peerlab run FILE --seed N --stop-on-violation` (the replay line every run prints).
        return Err(
            "explore, replay and shrink run PNRP scenarios; reproduce a graphing run with \
             `peerlab run FILE --seed N --stop-on-violation`"
                .into(),
        );
    }
    let rec = Recorder::new(None).map_err(|e| e.to_string())?;
    let mut world = World::new(plan, rec)?;
    world.set_stop_on_violation(stop_on_violation);
    if let Some(obs) = observer {
        world.set_observer(obs);
    }
    let outcome = world.run_in_place(&mut |_, _, _| {});
    let failures = failures_of(&world, &outcome);
    Ok(Verdict {
        world,
        outcome,
        failures,
    })
}

/// The failures of a finished run: the first violation of each invariant (earliest first), then
/// every failed check but `no_violations` (which only restates the violations).
pub fn failures_of(world: &World, outcome: &Outcome) -> Vec<Failure> {
    let mut out: Vec<Failure> = Vec::new();
    for v in world.first_violations() {
        if out.iter().any(|f| f.invariant == v.invariant) {
            continue;
        }
        out.push(Failure {
            invariant: v.invariant.clone(),
            node: (v.node != WORLD_NODE).then_some(v.node),
            event_index: v.event_index,
            t_us: v.t_us,
            detail: v.detail.clone(),
        });
    }
    // Checks are judged only over a whole run.
    if !world.stopped_early() {
        for c in outcome
            .checks
            .iter()
            .filter(|c| !c.passed && c.name != "no_violations")
        {
            // `liveness_after_heal@10m` → `check:liveness_after_heal`: one group per kind.
            let name = c.name.split('@').next().unwrap_or(&c.name);
            out.push(Failure {
                invariant: format!("check:{name}"),
                node: None,
                event_index: outcome.events,
                t_us: world.now().as_micros(),
                detail: format!("{}: {}", c.name, c.detail),
            });
        }
    }
    out
}

/// Formats microseconds as a readable simulated time: "3m12.345678s", or "13m00s" and "5s" on a
/// whole second (no run of zeros).
pub fn fmt_time(t_us: u64) -> String {
    let s = t_us / 1_000_000;
    let frac = t_us % 1_000_000;
    let fraction = if frac == 0 {
        String::new()
    } else {
        format!(".{frac:06}")
    };
    if s >= 60 {
        format!("{}m{:02}{fraction}s", s / 60, s % 60)
    } else {
        format!("{s}{fraction}s")
    }
}

/// The header printed before every run: the crates' version, scenario and seed.
pub fn version_line(scenario: &str, seed: u64) -> String {
    banner(&[format!("scenario {scenario}"), format!("seed {seed}")])
}

/// The crates' version, then `facts` (`scenario x`, `seed 3`, ...), joined by ` · ` and broken
/// into lines of at most [`peerlab_reports::WIDTH`] columns (one longer fact keeps its own line).
pub fn banner(facts: &[String]) -> String {
    // peerlab-sim, -engine and -reports share the workspace version (`version.workspace = true`).
    let mut out = format!("peerlab-sim/-engine/-reports {}", env!("CARGO_PKG_VERSION"));
    let mut width = out.chars().count();
    for fact in facts {
        let w = fact.chars().count();
        if width + 3 + w <= peerlab_reports::WIDTH {
            out.push_str(" · ");
            width += 3 + w;
        } else {
            out.push('\n');
            width = w;
        }
        out.push_str(fact);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_minutes_and_seconds() {
        assert_eq!(fmt_time(0), "0s");
        assert_eq!(fmt_time(1_500_000), "1.500000s");
        assert_eq!(fmt_time(192_345_678), "3m12.345678s");
        assert_eq!(fmt_time(780_000_000), "13m00s");
    }

    #[test]
    fn the_banner_keeps_within_the_terminal_width() {
        let one = version_line("quickstart", 1);
        assert!(one.starts_with("peerlab-sim/-engine/-reports ") && !one.contains('\n'));
        let facts: Vec<String> = [
            "scenario a-rather-long-scenario-name-for-a-study",
            "seed 18446744073709551615",
        ]
        .iter()
        .map(|f| f.to_string())
        .chain(["300,000 peers".into(), "1h30m simulated".into()])
        .collect();
        let b = banner(&facts);
        assert!(b.lines().count() > 1, "{b}");
        assert!(
            b.lines().all(|l| l.chars().count() <= peerlab_reports::WIDTH),
            "{b}"
        );
        assert!(b.contains("1h30m simulated"));
    }
}
