//! `peerlab run` flags end to end: `--quiet`, `--check-determinism` with many runs, and
//! `--stop-on-violation`'s summary and replay line.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn peerlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_peerlab"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("peerlab-cli-flags-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn scenario(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios")
        .join(rel)
        .display()
        .to_string()
}

const SMALL: [&str; 4] = ["--set", "peers[0].count=40", "--set", "duration=4m"];

#[test]
fn quiet_prints_the_verdict_fingerprint_and_output_dir() {
    let out = scratch("quiet");
    let file = scenario("quickstart.toml");
    let mut args = vec!["run", &file, "--quiet", "--out", out.to_str().unwrap()];
    args.extend(SMALL);
    let o = peerlab(&args);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{stdout}");
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    let fp = summary
        .split("\"fingerprint\": \"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap();
    let last = stdout.lines().last().unwrap_or_default();
    assert!(last.starts_with("PASS: "), "{stdout}");
    assert!(last.contains(fp), "{stdout}");
    assert!(last.contains(out.to_str().unwrap()), "{stdout}");
    // Still quiet: no table.
    assert!(!stdout.contains("operation "), "{stdout}");
    // The banner before the run fits a 100-column terminal.
    let banner = stdout.lines().next().unwrap_or_default();
    assert!(banner.chars().count() <= 100, "{banner}");
    assert!(banner.contains("seed 1 · 40 peers · 4m simulated"), "{banner}");
    // Counts in check details have thousands separators (over a thousand resolves here).
    let summary: serde_json::Value = serde_json::from_str(&summary).unwrap();
    let detail = summary["checks"][0]["detail"].as_str().unwrap_or_default();
    let total = summary["operations"]["resolve"]["succeeded"].as_u64().unwrap()
        + summary["operations"]["resolve"]["failed"].as_u64().unwrap();
    assert!(total >= 1000, "{total}");
    let grouped = format!("{},{:03} failed", total / 1000, total % 1000);
    assert!(detail.contains(&grouped), "{detail}");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn check_determinism_is_refused_with_many_runs() {
    let file = scenario("quickstart.toml");
    for many in [["--seeds", "1..2"], ["--sweep", "network.loss=0%,1%"]] {
        let o = peerlab(&["run", &file, many[0], many[1], "--check-determinism"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{many:?}: {err}");
        assert!(err.contains("--check-determinism"), "{err}");
        assert!(err.contains(many[0]), "{err}");
    }
}

#[test]
fn stop_on_violation_reports_when_it_stopped_and_replays_with_the_flag() {
    let out = scratch("stop");
    let file = scenario("regressions/forge-cpa-defence.toml");
    let o = peerlab(&[
        "run",
        &file,
        "--set",
        "pnrp.inject_bug=skip-cpa-verify",
        "--stop-on-violation",
        "--out",
        out.to_str().unwrap(),
    ]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(1), "{text}");
    // The table shows durations in words ("1.17min"); summary.json has the seconds.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let simulated = summary["sim_duration_s"]
        .as_f64()
        .unwrap_or_else(|| panic!("no simulated time in {summary}"));
    assert!(
        simulated < 240.0,
        "stopped early, yet reports {simulated} s: {text}"
    );
    let replay = text.lines().find(|l| l.starts_with("replay: ")).unwrap();
    assert!(replay.ends_with("--stop-on-violation"), "{replay}");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn pcap_nodes_naming_no_peer_is_refused() {
    let out = scratch("pcap-nodes");
    let file = scenario("quickstart.toml");
    let pcap = out.join("x.pcap");
    let mut args = vec![
        "run",
        &file,
        "--quiet",
        "--out",
        out.to_str().unwrap(),
        "--pcap",
        pcap.to_str().unwrap(),
        "--pcap-nodes",
        "1,40",
    ];
    args.extend(SMALL);
    let o = peerlab(&args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("--pcap-nodes: peer 40 does not exist"), "{err}");
    assert!(err.contains("0 to 39"), "{err}");
    let _ = std::fs::remove_dir_all(&out);
}
