//! How operations are counted in `summary.json`: those whose asker left, those still open at the
//! end, and registrations judged against their timeout (the robustness sweep's accounting bugs).

use peerlab_reports::{OpSummary, Summary};
use std::path::PathBuf;
use std::process::Command;

/// Runs `text` with `sets` through the binary and returns its summary and exit code.
fn run(name: &str, text: &str, sets: &[&str]) -> (Summary, i32) {
    let (summary, code, _) = run_records(name, text, sets);
    (summary, code)
}

/// As `run`, also returning `records.jsonl`.
fn run_records(name: &str, text: &str, sets: &[&str]) -> (Summary, i32, String) {
    let dir = std::env::temp_dir().join(format!("peerlab-op-accounting-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file: PathBuf = dir.join("s.toml");
    std::fs::write(&file, text).expect("scenario written");
    let out_dir = dir.join("out");
    let mut args = vec![
        "run".to_string(),
        file.display().to_string(),
        "--quiet".into(),
        "--out".into(),
        out_dir.display().to_string(),
    ];
    for s in sets {
        args.push("--set".into());
        args.push(s.to_string());
    }
    let o = Command::new(env!("CARGO_BIN_EXE_peerlab"))
        .args(&args)
        .output()
        .expect("the binary runs");
    let json = std::fs::read_to_string(out_dir.join("summary.json")).unwrap_or_else(|e| {
        panic!(
            "no summary.json ({e}): {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    });
    let summary = serde_json::from_str(&json).expect("summary.json parses");
    let records = std::fs::read_to_string(out_dir.join("records.jsonl")).expect("records");
    let _ = std::fs::remove_dir_all(&dir);
    (summary, o.status.code().unwrap_or(-1), records)
}

fn op<'a>(s: &'a Summary, kind: &str) -> &'a OpSummary {
    s.operations
        .get(kind)
        .unwrap_or_else(|| panic!("no {kind} row: {:?}", s.operations.keys()))
}

/// Every started operation lands in exactly one column.
fn columns_add_up(o: &OpSummary) {
    assert_eq!(
        o.started,
        o.succeeded + o.failed + o.target_offline + o.source_left + o.unfinished,
        "{o:?}"
    );
}

/// Fixed sessions under steady resolve load: many resolves are in flight when their asker leaves.
const LEAVE: &str = r#"
name = "leave_acct"
duration = "4m"
[network]
latency = { model = "constant", value = "300ms" }
[pnrp]
crypto = "ed25519"
[[peers]]
name = "p"
count = 120
join = { model = "ramp", over = "1m" }
session = { model = "fixed", length = "90s" }
leave = "graceful"
rejoin = { after = "30s" }
[[workload]]
kind = "resolve"
start = "1m"
rate = "20/s"
"#;

#[test]
fn resolves_whose_asker_leaves_are_source_left_however_it_leaves() {
    for leave in ["graceful", "crash"] {
        let (s, _) = run(leave, LEAVE, &[&format!("peers.0.leave={leave}")]);
        let r = op(&s, "resolve");
        columns_add_up(r);
        // Sessions end every 90 s with resolves in flight: the asker-left column is never empty.
        assert!(r.source_left > 20, "{leave}: {r:?}");
        // Nothing the leave cut short is a protocol failure, nor an offline target.
        // (A graceful leave ends the engine's own resolves with `Closed` before it goes.)
        assert_eq!(r.failures.get("closed"), None, "{leave}: {r:?}");
        assert_eq!(r.failures.get("source_left"), None, "{leave}: {r:?}");
        assert_eq!(r.target_offline, 0, "{leave}: {r:?}");
        assert!(r.success_ratio > 0.9, "{leave}: {r:?}");
    }
}

/// 2 s ± 1.5 s one-way latency: bootstrap is so slow that most peers never register.
const SLOW: &str = r#"
name = "slowc"
duration = "3m"
[network]
latency = { model = "constant", value = "2s" }
jitter = "1500ms"
[pnrp]
crypto = "ed25519"
[[peers]]
name = "p"
count = 100
join = { model = "ramp", over = "30s" }
[checks]
max_failed_ratio = "5%"
"#;

#[test]
fn registrations_that_never_finish_are_visible_and_fail_after_their_deadline() {
    let (s, code) = run("slow", SLOW, &[]);
    let r = op(&s, "register");
    columns_add_up(r);
    // Every peer registers its name once at join.
    assert_eq!(r.started, 100, "{r:?}");
    // Joined ≥ 2.5 min before the end, a registration still open is past the 60 s deadline.
    assert!(r.failures.get("timeout").copied().unwrap_or(0) > 50, "{r:?}");
    assert!(r.success_ratio < 0.5, "{r:?}");
    assert_eq!(code, 1, "the max_failed_ratio check must fail: {:?}", s.checks);
}

#[test]
fn operations_open_at_the_end_are_counted_as_unfinished() {
    // Ends 20 s after the last join: registrations still walking are within their deadline.
    let (s, _) = run("end", SLOW, &["duration=50s"]);
    let r = op(&s, "register");
    columns_add_up(r);
    assert_eq!(r.started, 100, "{r:?}");
    assert!(r.unfinished > 0, "{r:?}");
    assert_eq!(r.failures.get("timeout"), None, "{r:?}");
}

/// Registrations under 70% loss with a 5 s timeout.
const REGLOSS: &str = r#"
name = "regloss"
duration = "4m"
[pnrp]
crypto = "ed25519"
[[peers]]
name = "p"
count = 100
join = { model = "ramp", over = "30s" }
[[workload]]
kind = "register"
start = "2m"
rate = "2/s"
timeout = "5s"
[[fault]]
kind = "loss"
at = "2m"
until = "4m"
loss = "70%"
"#;

#[test]
fn a_register_workload_honours_its_timeout() {
    let (s, _) = run("regloss", REGLOSS, &[]);
    let r = op(&s, "register");
    columns_add_up(r);
    // Before the fix every registration was `ok`, however long it took under 70% loss.
    assert!(r.failures.get("timeout").copied().unwrap_or(0) > 10, "{r:?}");
}

/// 100 bit/s up: registrations never get through, so almost no one publishes a name.
const STARVED: &str = r#"
name = "bw"
duration = "3m"
[network]
bandwidth = { up = "100bps", down = "1kbps", queue = "1280B" }
[pnrp]
crypto = "ed25519"
[[peers]]
name = "p"
count = 60
join = { model = "ramp", over = "30s" }
[checks]
max_failed_ratio = "100%"
min_leafset_correct = "99%"
"#;

#[test]
fn leafset_correctness_counts_peers_that_never_registered() {
    let (s, code) = run("starved", STARVED, &[]);
    let registered = op(&s, "register").succeeded as f64;
    let correct = s.metrics["pnrp.leafset_correct"];
    // At most the registered peers can be correct, out of all 60 that should publish.
    assert!(
        correct <= registered / 60.0 + 1e-9,
        "{correct} with {registered} registered"
    );
    let check = s
        .checks
        .iter()
        .find(|c| c.name == "min_leafset_correct")
        .expect("the check ran");
    assert!(!check.passed, "{check:?}");
    assert_eq!(code, 1);
}

#[test]
fn leafset_correctness_is_undefined_without_publishers_and_the_check_fails() {
    // No peer has a name to register.
    let (s, code) = run(
        "nobody",
        STARVED,
        &[
            "network.bandwidth.up=1Mbps",
            "network.bandwidth.down=1Mbps",
            "network.bandwidth.queue=1MB",
            "peers.0.names.secured=0",
        ],
    );
    let check = s
        .checks
        .iter()
        .find(|c| c.name == "min_leafset_correct")
        .expect("the check ran");
    assert!(
        !check.passed && check.detail.starts_with("undefined"),
        "{check:?}"
    );
    assert_eq!(code, 1);
}

/// Crashing peers that come back, resolves that may target names whose owner is offline.
const OFFLINE: &str = r#"
name = "offline"
duration = "5m"
[pnrp]
crypto = "ed25519"
[[peers]]
name = "p"
count = 150
join = { model = "ramp", over = "1m" }
session = { model = "weibull", mean = "2m", shape = 0.5 }
leave = "crash"
rejoin = { after = "1m" }
[[workload]]
kind = "resolve"
start = "2m"
rate = "10/s"
include_offline = true
"#;

#[test]
fn offline_targets_are_ok_only_when_not_found_and_apart_from_source_left() {
    let (s, _, records) = run_records("offline", OFFLINE, &[]);
    let r = op(&s, "resolve");
    columns_add_up(r);
    assert!(r.target_offline_ok > 0 && r.source_left > 0, "{r:?}");
    let mut offline = [0u64; 2]; // ok, failed
    for line in records.lines().filter(|l| l.contains("\"kind\":\"resolve\"")) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let outcome = v["outcome"].as_str().unwrap();
        if v["target_online"] == false && outcome != "source_left" && outcome != "unfinished" {
            // "not found" is the right answer (`ok`), never a failure; an endpoint for a gone
            // owner is `stale_endpoint`.
            assert!(
                [
                    "ok",
                    "stale_endpoint",
                    "timeout",
                    "not_synchronized",
                    "empty_cache",
                    "busy"
                ]
                .contains(&outcome),
                "{line}"
            );
            offline[usize::from(outcome != "ok")] += 1;
        }
    }
    assert_eq!(offline, [r.target_offline_ok, r.target_offline_failed], "{r:?}");
}
