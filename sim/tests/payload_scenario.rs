//! The shipped extended-payload scenario, shrunk: every resolve fetches the publisher's 4 KB payload,
//! validated, and the oracle checks it is the registered one; the bytes show it.

use peerlab_sim::run::simulate;
use peerlab_sim::world::Outcome;

const SMALL: [&str; 4] = [
    "peers.0.count=200",
    "peers.0.join={ model = \"ramp\", over = \"1m\" }",
    "duration=6m",
    "workload.0.start=3m",
];

fn run(extra: &[&str]) -> Outcome {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/pnrp/payload-4k.toml");
    let text = std::fs::read_to_string(path).expect("the scenario ships");
    let sets: Vec<String> = SMALL.iter().chain(extra).map(|s| s.to_string()).collect();
    simulate(&text, &sets).expect("the scenario runs").0
}

fn metric(o: &Outcome, key: &str) -> f64 {
    o.metrics.get(key).copied().unwrap_or(0.0)
}

#[test]
fn resolves_fetch_validated_payloads_and_pay_for_their_bytes() {
    let with = run(&[]);
    assert!(with.checks.iter().all(|c| c.passed), "{:?}", with.checks);
    assert_eq!(with.violations, 0, "a payload mismatch is a violation");
    let accepted = metric(&with, "pnrp.engine.payloads_accepted");
    assert!(accepted >= 1000.0, "payloads accepted: {accepted}");
    assert!(metric(&with, "pnrp.engine.payloads_served") >= accepted);
    assert!(
        !with
            .metrics
            .keys()
            .any(|k| k.starts_with("pnrp.engine.payload_rejected")),
        "honest payloads are never rejected"
    );
    // The same run without asking: no payload travels, and at least 4,000 bytes fewer per resolve.
    let without = run(&["workload.0.want_payload=false"]);
    assert!(without.checks.iter().all(|c| c.passed), "{:?}", without.checks);
    assert_eq!(metric(&without, "pnrp.engine.payloads_served"), 0.0);
    let extra = metric(&with, "net.bytes") - metric(&without, "net.bytes");
    assert!(
        extra >= 4000.0 * accepted,
        "{extra} more bytes for {accepted} payloads"
    );
}
