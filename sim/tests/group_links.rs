//! `[[peers]]` groups' own `latency` and `bandwidth` keys (scenarios/README.md, `[[peers]]`):
//! a message uses its sender's group model, else its receiver's, else the network's; a group's
//! `bandwidth` replaces the network's access link for its members.

use peerlab_engine::Instant;
use peerlab_sim::expand;
use peerlab_sim::net::{Delivery, NetModel};
use peerlab_sim::run::simulate;
use peerlab_sim::scenario::parse_with_overrides;
use std::path::Path;

const TWO_GROUPS: &str = r#"
name = "groups"
duration = "2m"
[network]
latency = { model = "constant", value = "50ms" }
[pnrp]
crypto = "ed25519"
[[peers]]
name = "a"
count = 3
[[peers]]
name = "b"
count = 2
latency = { model = "constant", value = "400ms" }
bandwidth = { up = "64kbps", down = "128kbps" }
[[peers]]
name = "c"
count = 2
latency = { model = "constant", value = "10ms" }
"#;

fn network(text: &str) -> NetModel {
    let s = parse_with_overrides(text, "<memory>", &[]).expect("valid");
    let plan = expand::plan(&s, Path::new("<memory>")).expect("expands");
    NetModel::new(plan.net.clone(), 7, [1; 32]).expect("network")
}

fn delay_ms(net: &mut NetModel, from: u32, to: u32, bytes: u32) -> u64 {
    match net.send(Instant::ZERO, from, to, bytes) {
        Delivery::At(t) => t.as_micros() / 1_000,
        d => panic!("{from} -> {to}: {d:?}"),
    }
}

#[test]
fn a_groups_latency_applies_to_what_it_sends_and_to_what_it_receives_from_a_group_without_one() {
    // Nodes 0..3 are group a, 3..5 group b, 5..7 group c.
    let mut net = network(TWO_GROUPS);
    assert_eq!(delay_ms(&mut net, 0, 1, 10), 50, "a -> a: the network's");
    assert_eq!(delay_ms(&mut net, 5, 0, 10), 10, "c -> a: the sender's");
    assert_eq!(delay_ms(&mut net, 0, 6, 10), 10, "a -> c: the receiver's");
    assert_eq!(delay_ms(&mut net, 5, 6, 10), 10, "c -> c");
    // c -> b: the sender's 10 ms wins over b's 400 ms; b's 128 kbps downlink adds 3.6 ms for the
    // 58 wire bytes.
    assert_eq!(delay_ms(&mut net, 6, 4, 10), 13, "c -> b: the sender's wins");
}

#[test]
fn a_groups_bandwidth_is_its_members_access_link() {
    let mut net = network(TWO_GROUPS);
    // 952 + 48 header bytes at 64 kbps up: 125 ms on b's uplink, then b's 400 ms; a's downlink
    // is the network's (unlimited).
    assert_eq!(delay_ms(&mut net, 3, 0, 952), 125 + 400);
    // Into b: a's uplink is unlimited, then b's latency (the receiver's), then 1,000 B at 128 kbps
    // (62.5 ms).
    assert_eq!(delay_ms(&mut net, 1, 4, 952), 400 + 62);
}

#[test]
fn a_groups_latency_changes_the_run() {
    // The same cloud with and without a slow group: before the fix both gave one fingerprint.
    let base = r#"
name = "g"
duration = "2m"
[pnrp]
crypto = "ed25519"
[[peers]]
name = "a"
count = 20
[[peers]]
name = "b"
count = 20
[[workload]]
kind = "resolve"
start = "1m"
rate = "5/s"
"#;
    let plain = simulate(base, &[]).expect("runs").0;
    let slow = simulate(
        base,
        &["peers.1.latency={ model = \"constant\", value = \"400ms\" }".into()],
    )
    .expect("runs")
    .0;
    let narrow = simulate(base, &["peers.1.bandwidth={ up = \"64kbps\" }".into()])
        .expect("runs")
        .0;
    assert_ne!(plain.fingerprint, slow.fingerprint);
    assert_ne!(plain.fingerprint, narrow.fingerprint);
    assert_ne!(slow.fingerprint, narrow.fingerprint);
}
