//! The invariant checkers against the oracle: liveness after a heal is judged
//! within the scenario's `liveness_within`, and `--stop-on-violation` stops at the first one.

use peerlab_sim::repro::{plan_of, run_plan};
use peerlab_sim::scenario;
use std::path::Path;

fn regression(name: &str, sets: &[&str]) -> std::sync::Arc<peerlab_sim::plan::Plan> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios/regressions")
        .join(name);
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let s = scenario::load_with_overrides(&file, &sets).unwrap_or_else(|e| panic!("{e}"));
    plan_of(&s, &file).expect("expands")
}

#[test]
fn leaf_sets_that_do_not_converge_in_time_after_a_heal_are_a_violation() {
    // Perfect leaf sets one second after the heal: impossible, so it must be reported, once per
    // heal, at the first sample after the deadline (5m + 1s → the 5m10s sample).
    let plan = regression(
        "partition-heal.toml",
        &["checks.liveness_within=1s", "checks.min_leafset_correct=100%"],
    );
    let v = run_plan(plan, false, None).expect("runs");
    let f = v
        .failure("leafset_not_converged")
        .unwrap_or_else(|| panic!("{:?}", v.failures));
    assert_eq!(f.node, None, "a world-level violation");
    assert_eq!(f.t_us, 310_000_000, "{f:?}");
    assert_eq!(v.world.violation_counts()["leafset_not_converged"], 1);
    // The scenario's own allowance passes.
    let v = run_plan(regression("partition-heal.toml", &[]), false, None).expect("runs");
    assert!(v.failure("leafset_not_converged").is_none(), "{:?}", v.failures);
}

#[test]
fn stop_on_violation_stops_at_the_first_violating_event() {
    let plan = regression("forge-cpa-defence.toml", &["pnrp.inject_bug=skip-cpa-verify"]);
    let full = run_plan(plan.clone(), false, None).expect("runs");
    let first = full.world.first_violations()[0].clone();
    let stopped = run_plan(plan, true, None).expect("runs");
    assert!(stopped.world.stopped_early());
    assert_eq!(stopped.world.events(), first.event_index);
    assert_eq!(
        stopped.world.first_violations()[0],
        first,
        "same violation, bit for bit"
    );
    assert!(stopped.outcome.events < full.outcome.events);
}
