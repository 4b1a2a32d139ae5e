//! Peer Distribution scenarios end to end: WAN timing, offload in a small flash crowd, the
//! baseline, corrupt peers, churn, determinism, and bad input with located messages.

use peerlab_sim::run::simulate;
use peerlab_sim::scenario::parse;
use peerlab_sim::world::Outcome;

const SMALL: &str = r#"name = "small-crowd"
seed = 3
duration = "1h"

[distribution]
hash_on_publish = true

[[distribution.content]]
name = "tool"
size = "5MB"

[[branch]]
name = "office"
clients = 20
wan = { up = "10Mbps", down = "10Mbps", latency = "40ms" }

[[workload]]
kind = "fetch"
pattern = "flash-crowd"
window = "10m"

[checks]
max_failed_ratio = "0%"
min_wan_offload = "90%"
"#;

fn run(text: &str, sets: &[&str]) -> Outcome {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    simulate(text, &sets).expect("the scenario runs").0
}

fn metric(o: &Outcome, key: &str) -> f64 {
    *o.metrics
        .get(&format!("distribution.{key}"))
        .unwrap_or_else(|| panic!("no metric {key} in {:?}", o.metrics.keys()))
}

fn passed(o: &Outcome) -> bool {
    o.checks.iter().all(|c| c.passed)
}

#[test]
fn one_client_pulls_100_megabytes_over_a_10_megabit_wan_in_about_80_seconds() {
    let text = SMALL
        .replace("clients = 20", "clients = 1")
        .replace("size = \"5MB\"", "size = \"100MB\"")
        .replace("min_wan_offload = \"90%\"", "");
    let o = run(&text, &[]);
    let done = metric(&o, "completion_max_s");
    assert!((80.0..85.0).contains(&done), "completion {done} s");
    assert_eq!(metric(&o, "fetches_ok"), 1.0);
    let wan = metric(&o, "wan_bytes");
    assert!((100e6..100.2e6).contains(&wan), "WAN bytes {wan}");
}

#[test]
fn a_small_flash_crowd_offloads_at_least_90_percent_of_the_wan() {
    let o = run(SMALL, &[]);
    assert!(passed(&o), "{:?}", o.checks);
    let offload = metric(&o, "wan_offload_ratio");
    assert!(offload >= 0.9, "offload {offload}");
    assert_eq!(metric(&o, "fetches_ok"), 20.0);
    assert!(metric(&o, "peer_bytes") >= 17.0 * 5e6, "{:?}", o.metrics);
    assert!(metric(&o, "upload_per_peer_mean_bytes") > 0.0);
    assert!(metric(&o, "ttfb_p50_s") <= metric(&o, "completion_p50_s"));
}

#[test]
fn the_baseline_pulls_every_copy_over_the_wan_and_finishes_later() {
    let with = run(SMALL, &[]);
    let without = run(SMALL, &["distribution.mode=none", "checks.min_wan_offload=0%"]);
    assert!(metric(&without, "wan_offload_ratio") <= 0.0);
    assert_eq!(metric(&without, "peer_bytes"), 0.0);
    assert!(metric(&without, "wan_bytes") >= 20.0 * 5e6);
    assert!(metric(&without, "completion_p90_s") > metric(&with, "completion_p90_s"));
}

/// A cold flash crowd: 30 clients open an 8 MB file within 30 s over a
/// 2 Mbps WAN, where one copy takes 32 s.
fn cold() -> String {
    SMALL
        .replace("clients = 20", "clients = 30")
        .replace("size = \"5MB\"", "size = \"8MB\"")
        .replace(
            "up = \"10Mbps\", down = \"10Mbps\"",
            "up = \"2Mbps\", down = \"2Mbps\"",
        )
        .replace("window = \"10m\"", "window = \"30s\"")
        .replace("min_wan_offload = \"90%\"", "")
}

#[test]
fn by_default_a_cold_flash_crowd_herds_and_the_wait_for_peers_extension_shares_one_copy() {
    for version in ["V1", "V2"] {
        let v = format!("distribution.info_version={version}");
        // The specification's client (the default): each early client pulls its own copy.
        let herd = run(&cold(), &[&v]);
        assert_eq!(metric(&herd, "fetches_ok"), 30.0);
        assert_eq!(metric(&herd, "extension.cold_start_wait_for_peers"), 0.0);
        let herd_offload = metric(&herd, "wan_offload_ratio");
        assert!(
            herd_offload < 0.5,
            "{version}: the specification's client offloads {herd_offload}"
        );
        // The peerlab extension, named in the run's metrics.
        let waited = run(&cold(), &[&v, "distribution.cold_start=wait-for-peers"]);
        assert!(passed(&waited), "{version}: {:?}", waited.checks);
        assert_eq!(metric(&waited, "fetches_ok"), 30.0);
        assert_eq!(metric(&waited, "extension.cold_start_wait_for_peers"), 1.0);
        let offload = metric(&waited, "wan_offload_ratio");
        assert!(offload >= 0.9, "{version}: offload {offload}");
        assert!(metric(&herd, "completion_max_s") > 2.0 * metric(&waited, "completion_max_s"));
    }
}

#[test]
fn the_hosted_cache_serves_the_branch() {
    let text = SMALL.replace("clients = 20", "clients = 20\nhosted_cache = true");
    let o = run(&text, &["distribution.mode=hosted-cache"]);
    assert!(passed(&o), "{:?} {:?}", o.checks, o.metrics);
    assert!(metric(&o, "hosted_cache_served_bytes") > 0.0);
}

#[test]
fn corrupt_blocks_are_detected_and_every_fetch_still_completes() {
    let text =
        format!("{SMALL}\n[[attackers]]\nbehaviour = \"corrupt-blocks\"\nbranch = \"office\"\ncount = 2\n")
            .replace("min_wan_offload = \"90%\"", "");
    let o = run(&text, &[]);
    assert!(passed(&o), "{:?}", o.checks);
    assert!(metric(&o, "corrupt_blocks_detected") > 0.0, "{:?}", o.metrics);
    assert!(metric(&o, "peers_excluded") > 0.0);
    assert_eq!(metric(&o, "fetches_ok"), 20.0);
}

#[test]
fn churning_clients_leave_and_come_back() {
    let text = SMALL
        .replace(
            "clients = 20",
            "clients = 20\nsession = { model = \"exponential\", mean = \"5m\" }\nrejoin = { after = \"1m\" }",
        )
        .replace("min_wan_offload = \"90%\"", "")
        .replace("max_failed_ratio = \"0%\"", "max_failed_ratio = \"100%\"");
    let o = run(&text, &[]);
    assert!(metric(&o, "client_leaves") > 0.0);
    assert!(metric(&o, "fetches_ok") > 0.0);
}

#[test]
fn one_seed_reproduces_bit_for_bit_and_another_differs() {
    let text = format!("{SMALL}\n[[attackers]]\nbehaviour = \"corrupt-blocks\"\nbranch = \"office\"\n")
        .replace(
        "clients = 20",
        "clients = 20\nsession = { model = \"exponential\", mean = \"10m\" }\nrejoin = { after = \"1m\" }",
    );
    let (a, ra) = simulate(&text, &[]).expect("runs");
    let (b, rb) = simulate(&text, &[]).expect("runs");
    assert_eq!(a.fingerprint, b.fingerprint);
    assert_eq!(ra, rb);
    assert_eq!(a.metrics, b.metrics);
    let (c, rc) = simulate(&text, &["seed=4".to_owned()]).expect("runs");
    assert_ne!(a.fingerprint, c.fingerprint);
    assert_ne!(ra, rc);
}

/// The message of `text`, which must fail to parse.
fn error(text: &str) -> String {
    parse(text, "bad.toml").expect_err(text).to_string()
}

#[test]
fn bad_input_names_the_key_and_what_is_allowed() {
    let e = error(&SMALL.replace(
        "hash_on_publish = true",
        "hash_on_publish = true\nprobe_timr = \"1s\"",
    ));
    assert!(e.contains("bad.toml:7:1: key `distribution.probe_timr`"), "{e}");
    assert!(e.contains("`wan_sharing`") && e.contains("`probe_timer`"), "{e}");
    assert_eq!(e.matches("`mode`").count(), 1, "{e}");

    let e = error(&SMALL.replace(
        "pattern = \"flash-crowd\"",
        "pattern = \"flash-crowd\"\nbranch = \"paris\"",
    ));
    assert!(
        e.contains("key `workload[0].branch`: there is no branch \"paris\"; allowed: \"all\", \"office\""),
        "{e}"
    );

    let e = error(&SMALL.replace("window = \"10m\"\n", ""));
    assert!(
        e.contains("key `workload[0].window`: a flash crowd needs the window"),
        "{e}"
    );

    let e = error(&SMALL.replace("size = \"5MB\"", "size = \"5 parsecs\""));
    assert!(e.contains("key `distribution.content[0].size`"), "{e}");

    let e = error(&format!("{SMALL}\n[[peers]]\nname = \"x\"\ncount = 1\n"));
    assert!(
        e.contains("key `peers`: `peers` belongs to PNRP scenarios"),
        "{e}"
    );

    let e = error(&SMALL.replace("[distribution]", "[distribution]\nmode = \"hosted-cache\""));
    assert!(e.contains("key `branch[0].hosted_cache`"), "{e}");

    let e = error(&SMALL.replace("down = \"10Mbps\"", "down = \"0Mbps\""));
    assert!(e.contains("key `branch[0].wan.down`: a WAN speed of zero"), "{e}");

    let e = error(&SMALL.replace("pattern = \"flash-crowd\"", "pattern = \"trickle\""));
    assert!(
        e.contains("key `workload[0].window`") && e.contains("key `workload[0].rate`"),
        "{e}"
    );

    let e = error(&format!(
        "{SMALL}\n[[attackers]]\nbehaviour = \"forge-cpa\"\nbranch = \"office\"\n"
    ));
    assert!(
        e.contains("key `attackers[0].behaviour`") && e.contains("corrupt-blocks"),
        "{e}"
    );

    let e = error(&SMALL.replace("[[branch]]", "[[branch]]\nclients = 0\n[[branch]]"));
    assert!(
        e.contains("key `branch[0].name`") || e.contains("key `branch[0].wan`"),
        "{e}"
    );
}

#[test]
fn offload_checks_belong_to_distribution_scenarios() {
    let pnrp = "name = \"p\"\nduration = \"1m\"\n[[peers]]\nname = \"a\"\ncount = 3\n[checks]\nmin_wan_offload = \"90%\"\n";
    let e = error(pnrp);
    assert!(e.contains("key `checks.min_wan_offload`"), "{e}");
}
