//! Per-peer load (`load.*`, `peer_load` records, `peer_load.csv`): every honest peer's traffic over
//! the run, its sessions summed, adds up to the run's totals.

mod common;

use common::{peerlab, scratch, text};

/// Twelve peers with fixed two-minute sessions that rejoin after 20 s, so most have several
/// sessions, resolving each other; no attacker, so every datagram is an honest peer's.
const CHURN: &str = r#"name = "load"
duration = "6m"
[pnrp]
crypto = "ed25519"
[[peers]]
name = "a"
count = 12
session = { model = "fixed", length = "2m" }
leave = "graceful"
rejoin = { after = "20s" }
[[workload]]
kind = "resolve"
start = "30s"
rate = "2/s"
"#;

#[test]
fn every_session_of_every_peer_is_counted_and_adds_up_to_the_run_totals() {
    let dir = scratch("peer-load", "churn");
    let file = dir.join("load.toml");
    std::fs::write(&file, CHURN).expect("scenario written");
    let out = dir.join("run");
    let o = peerlab(&[
        "run",
        &file.display().to_string(),
        "--out",
        &out.display().to_string(),
    ]);
    let stdout = text(&o);
    assert!(o.status.code().is_some_and(|c| c < 2), "{stdout}");
    let records = std::fs::read_to_string(out.join("records.jsonl")).expect("records");
    let loads: Vec<serde_json::Value> = records
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON line"))
        .filter(|r| r["type"] == "peer_load")
        .collect();
    assert_eq!(loads.len(), 12, "one record per peer identity");
    assert!(
        loads.iter().any(|l| l["sessions"].as_u64() >= Some(2)),
        "peers rejoined"
    );
    let sum = |k: &str| loads.iter().map(|l| l[k].as_u64().expect("a count")).sum::<u64>();
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).expect("summary"))
            .expect("JSON");
    let m = &summary["metrics"];
    // Ended sessions included: the peers' sums are the run's totals exactly.
    assert_eq!(sum("messages_sent") as f64, m["net.messages"].as_f64().unwrap());
    assert_eq!(sum("bytes_sent") as f64, m["net.bytes"].as_f64().unwrap());
    let received = sum("messages_received");
    assert!(received > 0 && received <= sum("messages_sent"), "{received}");
    let mean = m["load.messages_sent_per_peer.mean"].as_f64().unwrap();
    assert!((mean * 12.0 - sum("messages_sent") as f64).abs() < 1e-6, "{mean}");
    for stat in ["p50", "p90", "p99", "max"] {
        assert!(
            m[format!("load.bytes_received_per_peer.{stat}")]
                .as_f64()
                .unwrap()
                > 0.0
        );
    }
    assert!(stdout.contains("load per peer"), "{stdout}");
    let csv = std::fs::read_to_string(out.join("peer_load.csv")).expect("peer_load.csv");
    assert_eq!(csv.lines().count(), 13, "{csv}");
    let html = std::fs::read_to_string(out.join("report.html")).expect("report");
    assert!(html.contains("Messages per peer over the run (CDF across peers)"));
    let _ = std::fs::remove_dir_all(&dir);
}
