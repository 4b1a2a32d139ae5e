//! Parity: a loss-free 30-peer scenario under the event-loop simulator and under turmoil
//! through the live UDP driver agrees on outcomes — every resolve succeeds in both, and the hop
//! distributions are close. Also: the turmoil backend is deterministic with the seed, and the
//! `peerlab run --backend turmoil` command writes a summary with resolve counts.

use peerlab_reports::{Aggregator, OpSummary, Record, RunInfo};
use peerlab_sim::live::turmoil_backend;
use peerlab_sim::plan::Plan;
use peerlab_sim::pnrp::PnrpWorld as World;
use peerlab_sim::world::Recorder;
use std::path::Path;
use std::sync::Arc;

const PARITY: &str = r#"
name = "parity-30"
seed = 7
duration = "3m"
[network]
latency = { model = "constant", value = "20ms" }
[pnrp]
seed_servers = 2
crypto = "ed25519"
[[peers]]
name = "p"
count = 30
join = { model = "ramp", over = "20s" }
names = { secured = 1, unsecured = 0 }
[[workload]]
kind = "resolve"
from = "p"
start = "90s"
rate = "2/s"
target = { popularity = "uniform" }
"#;

fn plan(text: &str) -> Arc<Plan> {
    let sc = peerlab_sim::scenario::parse_with_overrides(text, "<parity>", &[]).unwrap();
    Arc::new(peerlab_sim::expand::plan(&sc, Path::new("<parity>")).unwrap())
}

fn op(summary: &peerlab_reports::Summary, kind: &str) -> OpSummary {
    summary.operations.get(kind).cloned().unwrap_or_default()
}

#[test]
fn event_loop_and_turmoil_agree_on_a_loss_free_30_peer_cloud() {
    let plan = plan(PARITY);
    let (_, rec) = World::new(plan.clone(), Recorder::new(None).unwrap())
        .unwrap()
        .run(&mut |_, _, _| {});
    let event_loop = rec.aggregator().summary(&RunInfo::default());

    let run = turmoil_backend::simulate(&plan).expect("turmoil run");
    let mut agg = Aggregator::new();
    for o in &run.ops {
        agg.push(&Record::Op(o.clone()));
    }
    let turmoil = agg.summary(&RunInfo::default());
    assert_eq!(run.decode_errors, 0);

    for (label, s) in [("event loop", &event_loop), ("turmoil", &turmoil)] {
        let r = op(s, "resolve");
        assert!(r.started >= 150, "{label}: {} resolves", r.started);
        assert_eq!(r.failed, 0, "{label}: every resolve succeeds: {:?}", r.failures);
        assert_eq!(r.succeeded, r.started, "{label}");
        let reg = op(s, "register");
        assert_eq!((reg.succeeded, reg.failed), (30, 0), "{label}: registrations");
    }
    let (a, b) = (op(&event_loop, "resolve"), op(&turmoil, "resolve"));
    // Same rate, independent arrival draws: counts within 25%.
    let (lo, hi) = (a.started.min(b.started) as f64, a.started.max(b.started) as f64);
    assert!(lo / hi > 0.75, "resolve counts {} vs {}", a.started, b.started);
    let (ha, hb) = (a.hops.expect("hops"), b.hops.expect("hops"));
    assert!((ha.p50 - hb.p50).abs() <= 1.0, "hop medians: {ha:?} vs {hb:?}");
    assert!((ha.p90 - hb.p90).abs() <= 2.0, "hop p90: {ha:?} vs {hb:?}");
    assert!((ha.max - hb.max).abs() <= 3.0, "hop max: {ha:?} vs {hb:?}");
}

#[test]
fn turmoil_runs_are_a_function_of_the_seed() {
    let small = PARITY
        .replace("count = 30", "count = 8")
        .replace("duration = \"3m\"", "duration = \"70s\"")
        .replace("start = \"90s\"", "start = \"40s\"");
    let a = turmoil_backend::simulate(&plan(&small)).unwrap();
    let b = turmoil_backend::simulate(&plan(&small)).unwrap();
    assert!(a.ops.len() > 20, "{}", a.ops.len());
    assert_eq!(a.ops, b.ops);
    assert_eq!(a.datagrams_sent, b.datagrams_sent);
    let c = turmoil_backend::simulate(&plan(&small.replace("seed = 7", "seed = 8"))).unwrap();
    assert_ne!(a.ops, c.ops, "another seed, another run");
}

#[test]
fn the_turmoil_backend_writes_a_summary_and_refuses_big_scenarios() {
    let dir = std::env::temp_dir().join(format!("peerlab-turmoil-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("small.toml");
    std::fs::write(
        &file,
        PARITY
            .replace("count = 30", "count = 6")
            .replace("duration = \"3m\"", "duration = \"60s\"")
            .replace("start = \"90s\"", "start = \"30s\""),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_peerlab"))
        .args(["run", "--backend", "turmoil", "--quiet", "--out"])
        .arg(dir.join("run"))
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: peerlab_reports::Summary =
        serde_json::from_str(&std::fs::read_to_string(dir.join("run/summary.json")).unwrap()).unwrap();
    let r = op(&summary, "resolve");
    assert!(r.started > 10 && r.failed == 0, "{r:?}");
    assert!(dir.join("run/records.jsonl").exists());

    std::fs::write(&file, PARITY.replace("count = 30", "count = 60")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_peerlab"))
        .args(["run", "--backend", "turmoil", "--quiet", "--out"])
        .arg(dir.join("big"))
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("60 peers") && err.contains("O(N³)") && err.contains("--backend event-loop"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
