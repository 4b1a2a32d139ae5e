//! The determinism guard names the first diverging event, and every
//! `scenarios/regressions/*.toml` passes at its pinned seed (point 6).

use peerlab_sim::repro::determinism::{diverge, repeats};
use peerlab_sim::repro::{plan_of, run_plan};
use peerlab_sim::scenario;
use std::path::Path;

const SMALL: &str = r#"
name = "determinism-small"
seed = 4
duration = "2m"
[network]
latency = { model = "internet", median = "40ms" }
jitter = "20%"
loss = "1%"
[pnrp]
seed_servers = 2
crypto = "ed25519"
[[peers]]
name = "peers"
count = 40
join = { model = "poisson", rate = "4/s" }
[[workload]]
kind = "resolve"
from = "peers"
start = "30s"
rate = "4/s"
"#;

fn plan(sets: &[&str]) -> std::sync::Arc<peerlab_sim::plan::Plan> {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let s = scenario::parse_with_overrides(SMALL, "small.toml", &sets).expect("parses");
    plan_of(&s, Path::new("small.toml")).expect("expands")
}

#[test]
fn identical_runs_do_not_diverge_and_different_ones_are_located() {
    assert_eq!(diverge(plan(&[]), plan(&[])).expect("runs"), None);
    assert!(repeats(plan(&[])).expect("runs"));
    // Same seed, one more unit of loss: the runs agree until the first message the loss model
    // treats differently, which is past the start.
    let d = diverge(plan(&[]), plan(&["network.loss=2%"]))
        .expect("runs")
        .expect("they diverge");
    assert!(d.event_index > 1, "{d}");
    assert!(d.t_a.is_some() && d.t_b.is_some(), "{d}");
    // Another seed parts at once.
    let d = diverge(plan(&[]), plan(&["seed=5"]))
        .expect("runs")
        .expect("they diverge");
    assert!(d.event_index <= 100, "{d}");
}

#[test]
fn regression_scenarios_pass_at_their_pinned_seeds() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/regressions");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("scenarios/regressions exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "{files:?}");
    for f in files {
        let s = scenario::load(&f).unwrap_or_else(|e| panic!("{e}"));
        let v = run_plan(plan_of(&s, &f).expect("expands"), false, None).expect("runs");
        assert!(v.failures.is_empty(), "{}: {:?}", f.display(), v.failures);
    }
}
