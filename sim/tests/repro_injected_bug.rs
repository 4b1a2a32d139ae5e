//! Proof that the bug-finding loop works: a deliberately injected engine bug
//! (`pnrp.inject_bug = "skip-cpa-verify"`: CPAs accepted without checking their signature) is
//! found by explore, replayed bit for bit up to the failing event, and shrunk; the same scenario
//! without the bug is clean.

use peerlab_sim::repro::explore::{explore, group};
use peerlab_sim::repro::replay::replay;
use peerlab_sim::repro::repro_file::Repro;
use peerlab_sim::repro::shrink::shrink;
use peerlab_sim::repro::trace::TraceFilter;
use peerlab_sim::scenario;
use peerlab_sim::sweep::SeedRange;
use std::path::{Path, PathBuf};

const INVARIANT: &str = "forged_leaf_entry_accepted";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("peerlab-repro-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn regression_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/regressions/forge-cpa-defence.toml")
}

const BUG: &str = "pnrp.inject_bug=skip-cpa-verify";

#[test]
fn an_injected_bug_is_found_replayed_and_shrunk() {
    let file = regression_file();
    let sets = vec![BUG.to_string()];
    let s = scenario::load_with_overrides(&file, &sets).expect("the regression scenario loads");
    let seeds = SeedRange { first: 1, last: 3 };
    let results = explore(&s, &file, seeds, Some(2), false, &|| {}).expect("explore runs");
    let groups = group(&results);
    let found = groups
        .get(INVARIANT)
        .unwrap_or_else(|| panic!("bug not found: {groups:?}"));
    assert_eq!(found.len(), 3, "every seed shows it: {found:?}");

    // The repro file: self-contained, with the override written in.
    let dir = scratch("bug");
    let (seed, failure) = &found[0];
    let path = dir.join("bug.toml");
    let repro = Repro::from_failure(&file, &sets, *seed, failure, path.clone()).expect("repro");
    assert!(
        repro.info.sets.is_empty(),
        "the override is written into the TOML"
    );
    repro.write().expect("writes");
    let repro = Repro::read(&path).expect("reads back");
    assert!(repro.scenario_text().contains("skip-cpa-verify"));

    // Replay: bit-identical, stops at the failing event, traces the failing peer.
    let mut filter = TraceFilter::default();
    filter.nodes.extend(repro.info.node);
    let r = replay(&repro, filter, None).expect("replays");
    assert!(
        r.reproduced,
        "replay shows {INVARIANT} at event {}",
        failure.event_index
    );
    assert_eq!(
        r.verdict.world.events(),
        failure.event_index,
        "stopped at the failure"
    );
    assert!(
        !r.trace.lines.is_empty(),
        "the failing peer sent or received messages"
    );
    assert!(r.trace.lines.iter().all(|l| l.event <= failure.event_index));

    // Shrink: smaller and still failing the same way.
    let shrunk = shrink(&repro, 40, &mut |_| {}).expect("shrinks");
    assert!(
        shrunk.after.peers < shrunk.before.peers,
        "{} → {}",
        shrunk.before,
        shrunk.after
    );
    assert!(shrunk.after.events < shrunk.before.events);
    shrunk.repro.write().expect("writes");
    let small = Repro::read(&shrunk.repro.path).expect("reads");
    let again = replay(&small, TraceFilter::default(), None).expect("replays");
    assert!(again.reproduced, "the shrunk repro still fails {INVARIANT}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_the_bug_the_same_seeds_are_clean() {
    let file = regression_file();
    let s = scenario::load(&file).expect("loads");
    let seeds = SeedRange { first: 1, last: 3 };
    let results = explore(&s, &file, seeds, Some(2), false, &|| {}).expect("explore runs");
    let failing: Vec<_> = results.iter().filter(|r| !r.failures.is_empty()).collect();
    assert!(failing.is_empty(), "{failing:?}");
    assert!(results.iter().all(|r| r.events > 1_000 && r.error.is_none()));
}
