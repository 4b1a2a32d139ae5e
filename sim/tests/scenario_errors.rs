//! Scenario files end to end: the issue's sample parses, every kind of bad input gives a message
//! naming file, line:col, key and what is allowed, `--set` works, and nothing panics.

use peerlab_engine::Duration;
use peerlab_sim::scenario::{
    load, load_with_overrides, parse, parse_with_overrides, Behaviour, Fault, Join, Latency, Location, Loss,
    PartitionGroups, Ratio, Session, Target, Value,
};
use std::path::Path;

const BASE: &str = r#"name = "t"
duration = "10m"

[network]
loss = "1%"
mtu = 1280

[pnrp]
seed_servers = 2

[[peers]]
name = "desktops"
count = 10
join = { model = "ramp", over = "2m" }

[[peers]]
name = "laptops"
count = 5
session = { model = "weibull", mean = "5m", shape = 0.6 }

[[workload]]
kind = "resolve"
from = "desktops"
start = "1m"
stop = "9m"
rate = "5/s"
target = { popularity = "zipf", exponent = 0.9 }

[[fault]]
kind = "partition"
at = "2m"
heal = "4m"
groups = ["40%", "60%"]

[[attackers]]
count = 2
behaviour = "drop"
"#;

/// `bad.toml:LINE:COL` of the first occurrence of `needle` in `text`.
fn pos(text: &str, needle: &str) -> String {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("`{needle}` not in text"));
    let line = text[..at].matches('\n').count() + 1;
    let col = at - text[..at].rfind('\n').map_or(0, |i| i + 1) + 1;
    format!("bad.toml:{line}:{col}")
}

/// BASE with `from` replaced by `to`; returns the new text and its error message.
fn broken(from: &str, to: &str) -> (String, String) {
    assert!(BASE.contains(from), "{from}");
    let text = BASE.replacen(from, to, 1);
    let err = parse(&text, "bad.toml").expect_err(&text).to_string();
    (text, err)
}

/// Asserts `err` has one line starting at `needle`'s position and naming `key`, containing `parts`.
fn assert_diag(text: &str, err: &str, needle: &str, key: &str, parts: &[&str]) {
    let prefix = format!("{}: key `{key}`: ", pos(text, needle));
    let line = err
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` in:\n{err}"));
    assert!(line.contains("; allowed: "), "{line}");
    for part in parts {
        assert!(line.contains(part), "`{part}` not in: {line}");
    }
}

#[test]
fn the_issue_sample_parses_exactly_as_written() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/examples/churny-cloud.toml"),
    )
    .expect("sample file");
    let s = parse(&text, "churny-cloud.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (s.name.as_str(), s.seed, s.duration),
        ("churny-cloud", 7, Duration::from_mins(20))
    );
    assert!(
        matches!(s.network.latency, Latency::Internet { median: Value::Fixed(m), .. } if m == Duration::from_millis(70))
    );
    assert_eq!(
        s.network.loss,
        Loss::Independent {
            rate: Value::Fixed(Ratio::from_ppm(5_000))
        }
    );
    assert_eq!(
        s.network
            .bandwidth
            .as_ref()
            .and_then(|b| b.up)
            .map(|u| u.lo().bps()),
        Some(2_000_000)
    );
    assert_eq!(s.pnrp.seed_servers, Value::Fixed(3));
    assert_eq!(s.total_peers(), 2000);
    let g = s.group("desktops").expect("group");
    assert!(matches!(g.join, Join::Ramp { over: Value::Fixed(o), .. } if o == Duration::from_mins(2)));
    assert!(matches!(g.session, Some(Session::Weibull { shape: Value::Fixed(x), .. }) if x == 0.6));
    assert!(matches!(s.workload[0].target, Target::Zipf { exponent: Value::Fixed(x) } if x == 0.9));
    assert!(
        matches!(&s.fault[0], Fault::Partition { groups: PartitionGroups::Fractions(f), .. } if f.len() == 2)
    );
    assert_eq!(s.attackers[0].behaviour, Behaviour::ForgeCpa);
    assert_eq!(s.checks.max_failed_ratio, Ratio::from_ppm(20_000));
    assert!(s.group("laptops").is_none());
    // config.json carries every section, defaults included.
    let json: serde_json::Value = serde_json::from_str(&s.to_json()).expect("json");
    assert_eq!(json["pnrp"]["crypto"], "rsa1024");
    assert_eq!(json["pnrp"]["maintenance_period"], "15s");
    assert_eq!(json["network"]["loss"]["rate"], "0.5%");
    assert_eq!(json["workload"][0]["timeout"], "30s");
}

#[test]
fn every_shipped_scenario_loads() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut dirs = vec![root];
    let mut seen = 0;
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("scenarios dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "toml") {
                load(&path).unwrap_or_else(|e| panic!("{e}"));
                seen += 1;
            }
        }
    }
    assert!(seen >= 2, "{seen}");
}

#[test]
fn wrong_types_and_bad_units_say_what_is_allowed() {
    let (t, e) = broken("count = 10", "count = \"many\"");
    assert_diag(
        &t,
        &e,
        "\"many\"",
        "peers[0].count",
        &["`many` is not a whole number", "a whole number such as 20"],
    );
    let (t, e) = broken("duration = \"10m\"", "duration = \"20 parsecs\"");
    assert_diag(
        &t,
        &e,
        "\"20 parsecs\"",
        "duration",
        &["`20 parsecs` is not a duration", "ms, s, m, h, d"],
    );
    let (t, e) = broken("rate = \"5/s\"", "rate = 5");
    assert_diag(
        &t,
        &e,
        "5\ntarget",
        "workload[0].rate",
        &["has no unit", "\"50/s\""],
    );
    let (t, e) = broken("loss = \"1%\"", "loss = true");
    assert_diag(&t, &e, "true", "network.loss", &["wrong type", "\"0.5%\""]);
    let (t, e) = broken("seed_servers = 2", "seed_servers = 2\nwire_bytes = \"yes\"");
    assert_diag(
        &t,
        &e,
        "\"yes\"",
        "pnrp.wire_bytes",
        &["wrong type", "true or false"],
    );
    let (t, e) = broken("over = \"2m\"", "over = \"2 parsecs\"");
    assert_diag(
        &t,
        &e,
        "\"2 parsecs\"",
        "peers[0].join.over",
        &["`2 parsecs` is not a duration"],
    );
}

#[test]
fn unknown_keys_and_values_list_the_allowed_ones() {
    let (t, e) = broken("mtu = 1280", "mtu = 1280\nlosss = 1");
    assert_diag(
        &t,
        &e,
        "losss",
        "network.losss",
        &["unknown key `losss`", "`latency`", "`mtu`"],
    );
    let (t, e) = broken("name = \"t\"", "name = \"t\"\ncolour = \"red\"");
    assert_diag(
        &t,
        &e,
        "colour",
        "colour",
        &["unknown key `colour`", "`peers`", "`workload`"],
    );
    let (t, e) = broken("seed_servers = 2", "seed_servers = 2\nmaintenance_perio = \"5s\"");
    assert_diag(
        &t,
        &e,
        "maintenance_perio",
        "pnrp.maintenance_perio",
        &["`seed_servers`", "`maintenance_period`"],
    );
    // A test-only switch works (explore's tests use it) but is not offered to users.
    assert!(!e.contains("inject_bug"), "{e}");
    let (t, e) = broken("behaviour = \"drop\"", "behaviour = \"dance\"");
    assert_diag(
        &t,
        &e,
        "\"dance\"",
        "attackers[0].behaviour",
        &["unknown value `dance`", "`forge-cpa`", "`replay`"],
    );
    let (t, e) = broken("kind = \"partition\"", "kind = \"eclipse\"");
    assert_diag(
        &t,
        &e,
        "\"eclipse\"",
        "fault[0].kind",
        &["`eclipse`", "`partition`", "`address-change`"],
    );
    let (t, e) = broken("model = \"weibull\"", "model = \"weibul\"");
    assert_diag(
        &t,
        &e,
        "\"weibul\"",
        "peers[1].session.model",
        &["`weibul`", "`weibull`", "`pareto`"],
    );
    let (t, e) = broken("name = \"t\"\n", "");
    assert!(
        e.starts_with("bad.toml:1:1: key `name`: required key `name` is missing; allowed:"),
        "{e} {t}"
    );
}

#[test]
fn impossible_values_are_caught_with_their_key() {
    let (t, e) = broken("count = 10", "count = -5");
    assert_diag(&t, &e, "-5", "peers[0].count", &["`-5` is negative"]);
    let (t, e) = broken("count = 5", "count = 0");
    assert_diag(&t, &e, "0\nsession", "peers[1].count", &["zero", "1 or more"]);
    let (t, e) = broken("loss = \"1%\"", "loss = \"150%\"");
    assert_diag(&t, &e, "\"150%\"", "network.loss", &["more than 100%"]);
    let (t, e) = broken("heal = \"4m\"", "heal = \"2m\"");
    assert_diag(&t, &e, "\"2m\"\ngroups", "fault[0].heal", &["not after `at`"]);
    let (t, e) = broken("stop = \"9m\"", "stop = \"30s\"");
    assert_diag(&t, &e, "\"30s\"", "workload[0].stop", &["not after `start`"]);
    let (t, e) = broken("from = \"desktops\"", "from = \"phones\"");
    assert_diag(
        &t,
        &e,
        "\"phones\"",
        "workload[0].from",
        &["no peer group \"phones\"", "\"all\", \"desktops\", \"laptops\""],
    );
    let (t, e) = broken("[\"40%\", \"60%\"]", "[\"40%\", \"50%\"]");
    assert_diag(
        &t,
        &e,
        "[\"40%\"",
        "fault[0].groups",
        &["sum to 90%", "exactly 100%"],
    );
    let (t, e) = broken("[\"40%\", \"60%\"]", "[[\"desktops\"], [\"tablets\"]]");
    assert_diag(
        &t,
        &e,
        "\"tablets\"",
        "fault[0].groups[1][0]",
        &["no peer group \"tablets\"", "\"desktops\""],
    );
    let (t, e) = broken("at = \"2m\"", "at = \"11m\"");
    assert_diag(
        &t,
        &e,
        "\"11m\"",
        "fault[0].at",
        &["not before the end of the run (10m)"],
    );
    let (t, e) = broken("rate = \"5/s\"", "rate = \"0/s\"");
    assert_diag(&t, &e, "\"0/s\"", "workload[0].rate", &["starts no operation"]);
    let (t, e) = broken("mtu = 1280", "mtu = 100");
    assert_diag(&t, &e, "100", "network.mtu", &["out of range", "1280 to 65535"]);
    let (t, e) = broken("exponent = 0.9", "exponent = 0");
    assert_diag(
        &t,
        &e,
        "0 }",
        "workload[0].target.exponent",
        &["too small", "above 0"],
    );
    let (t, e) = broken("shape = 0.6", "shape = -1");
    assert_diag(&t, &e, "-1 }", "peers[1].session.shape", &["too small"]);
    let (t, e) = broken("seed_servers = 2", "seed_servers = 100");
    assert_diag(&t, &e, "100", "pnrp.seed_servers", &["only 15 peers", "1 to 15"]);
    let (t, e) = broken("name = \"laptops\"", "name = \"desktops\"");
    assert_diag(
        &t,
        &e,
        "\"desktops\"\ncount = 5",
        "peers[1].name",
        &["names two groups"],
    );
    let (t, e) = broken("count = 2\n", "");
    assert_diag(
        &t,
        &e,
        "[[attackers]]",
        "attackers[0].count",
        &["neither `count` nor `fraction`"],
    );
    let (t, e) = broken("count = 10", "count = \"50..10\"");
    assert_diag(&t, &e, "\"50..10\"", "peers[0].count", &["runs backwards"]);
}

#[test]
fn network_and_churn_model_bounds_are_caught_by_validation_with_their_key() {
    // Bounds the models themselves enforce (net/latency.rs, churn.rs): `check` must refuse them
    // with line, key and range instead of `run` failing without a location.
    let (t, e) = broken(
        "loss = \"1%\"",
        "latency = { model = \"internet\", median = \"50ms\", tail = 20.0 }",
    );
    assert_diag(
        &t,
        &e,
        "20.0 }",
        "network.latency.tail",
        &["too large", "at most 5"],
    );
    let (t, e) = broken(
        "loss = \"1%\"",
        "latency = { model = \"internet\", median = \"50ms\", tail = \"1..6\" }",
    );
    assert_diag(
        &t,
        &e,
        "\"1..6\"",
        "network.latency.tail",
        &["too large", "at most 5"],
    );
    let (t, e) = broken("shape = 0.6", "shape = 0.01");
    assert_diag(
        &t,
        &e,
        "0.01 }",
        "peers[1].session.shape",
        &["too small", "0.05 or more"],
    );
    let ok = BASE.replacen("shape = 0.6", "shape = 0.05", 1);
    assert!(parse(&ok, "ok.toml").is_ok());
}

#[test]
fn pnrp_protocol_bounds_name_the_field_its_line_and_what_is_allowed() {
    let seeds = "seed_servers = 2";
    let (t, e) = broken(seeds, "seed_servers = 2\nmaintenance_period = \"0s\"");
    assert_diag(
        &t,
        &e,
        "\"0s\"",
        "pnrp.maintenance_period",
        &["zero", "a duration above zero"],
    );
    // Out of the field type's range: the field's real bounds, not "0 or more".
    let (t, e) = broken(seeds, "seed_servers = 2\nretry_count = 1000000");
    assert_diag(&t, &e, "1000000", "pnrp.retry_count", &["from 1 to 255"]);
    let (t, e) = broken(seeds, "seed_servers = 2\nretry_count = 0 # never");
    assert_diag(
        &t,
        &e,
        "0 # never",
        "pnrp.retry_count",
        &["too small", "from 1 to 255"],
    );
    let (t, e) = broken(seeds, "seed_servers = 2\nsplit_k = -1.0");
    assert_diag(&t, &e, "-1.0", "pnrp.split_k", &["0 or more"]);
    // Every problem at once, each at its own key.
    let (t, e) = broken(
        seeds,
        "seed_servers = 2\nretransmit_interval = \"0s\"\nleaf_set_side = 1000\nflagged_path_max = 23",
    );
    assert_diag(&t, &e, "\"0s\"", "pnrp.retransmit_interval", &["above zero"]);
    assert_diag(&t, &e, "1000", "pnrp.leaf_set_side", &["cache_level_capacity"]);
    assert_diag(&t, &e, "23", "pnrp.flagged_path_max", &["from 1 to 22"]);
}

#[test]
fn syntax_errors_point_at_the_spot() {
    let (t, e) = broken("name = \"t\"", "name = \"t");
    assert!(
        e.starts_with("bad.toml:1:") && e.contains(": TOML syntax: "),
        "{e}\n{t}"
    );
    assert!(e.contains("allowed: valid TOML"), "{e}");
    let e = parse("a = [1,\n", "x.toml").unwrap_err().to_string();
    assert!(e.starts_with("x.toml:") && e.contains("TOML syntax"), "{e}");
}

#[test]
fn several_errors_are_reported_together_in_file_order() {
    let text = BASE
        .replacen("heal = \"4m\"", "heal = \"1m\"", 1)
        .replacen("count = 5", "count = 0", 1)
        .replacen("from = \"desktops\"", "from = \"phones\"", 1);
    let err = parse(&text, "bad.toml").unwrap_err();
    assert_eq!(err.diagnostics().len(), 3, "{err}");
    let lines: Vec<usize> = err
        .diagnostics()
        .iter()
        .map(|d| match d.location {
            Location::At { line, .. } => line,
            _ => 0,
        })
        .collect();
    assert!(
        lines.windows(2).all(|w| w[0] <= w[1]) && lines[0] > 0,
        "{lines:?}"
    );
    // Decode errors in several sections are collected too (validation waits until all decode).
    let err = parse(
        "duration = \"1 parsec\"\n[output]\nrecords = \"yes\"\n",
        "bad.toml",
    )
    .unwrap_err();
    assert!(err.diagnostics().len() >= 3, "{err}");
}

#[test]
fn every_problem_of_one_table_is_reported_with_the_checks_of_the_rest() {
    // Two unreadable values in one table: both are listed, not only the first.
    let (t, e) = broken("loss = \"1%\"", "loss = \"150%\"\njitter = \"-5%\"");
    assert_diag(&t, &e, "\"150%\"", "network.loss", &["more than 100%"]);
    assert_diag(&t, &e, "\"-5%\"", "network.jitter", &["neither a percentage"]);
    // An unreadable optional key and two failed checks in one [[peers]] table: all three.
    let (t, e) = broken("count = 5\n", "count = 0\nleave = \"explode\"\ncloud = \"\"\n");
    assert_diag(&t, &e, "\"explode\"", "peers[1].leave", &["unknown value"]);
    assert_diag(&t, &e, "0\nleave", "peers[1].count", &["zero"]);
    assert_diag(&t, &e, "\"\"\n", "peers[1].cloud", &["empty"]);
    // An unreadable required key: every unreadable key of the table is still listed.
    let (t, e) = broken("count = 5\n", "count = \"abc\"\nleave = \"nope\"\n");
    assert_diag(&t, &e, "\"abc\"", "peers[1].count", &["not a whole number"]);
    assert_diag(&t, &e, "\"nope\"", "peers[1].leave", &["unknown value"]);
}

#[test]
fn overrides_edit_values_and_are_checked_like_the_file() {
    let sets: Vec<String> = [
        "network.loss=2%",
        "peers.0.count=500",
        "seed=9",
        "pnrp.maintenance_period=10s",
        "peers[1].leave=graceful",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let s = parse_with_overrides(BASE, "base.toml", &sets).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        s.network.loss,
        Loss::Independent {
            rate: Value::Fixed(Ratio::from_ppm(20_000))
        }
    );
    assert_eq!((s.peers[0].count, s.seed), (Value::Fixed(500), 9));
    assert_eq!(s.pnrp.maintenance_period, Duration::from_secs(10));
    assert_eq!(s.total_peers(), 505);
    // Setting a key the file does not have.
    let s = parse_with_overrides(BASE, "base.toml", &["network.jitter=5ms".into()])
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(s.network.jitter.is_some());
    // Bad overrides name the --set argument, the key and what is allowed.
    for (arg, parts) in [
        ("network.loss=150%", &["key `network.loss`", "more than 100%"][..]),
        ("network.lossy=1%", &["unknown key `lossy`", "`loss`"]),
        ("peers.7.count=1", &["key `peers[7]`", "an index from 0 to 1"]),
        ("pnrp.nope=1", &["`seed_servers`", "`maintenance_period`"]),
        ("colour=1", &["unknown key `colour`", "`network`"]),
        ("novalue", &["key.path=value"]),
    ] {
        let err = parse_with_overrides(BASE, "base.toml", &[arg.to_string()])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(&format!("base.toml (--set {arg}): ")), "{err}");
        for part in parts {
            assert!(err.contains(part), "`{part}` not in {err}");
        }
    }
}

#[test]
fn load_reads_files_and_checks_the_files_they_name() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("scenario_load");
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let missing = load(&dir.join("nope.toml")).unwrap_err().to_string();
    assert!(
        missing.contains("nope.toml: cannot read the scenario") && missing.contains("allowed:"),
        "{missing}"
    );
    let text = BASE.replacen(
        "loss = \"1%\"",
        "latency = { model = \"matrix\", file = \"lat.csv\" }",
        1,
    );
    let path = dir.join("matrix.toml");
    std::fs::write(&path, &text).expect("write");
    let _ = std::fs::remove_file(dir.join("lat.csv"));
    let err = load(&path).unwrap_err().to_string();
    assert!(
        err.contains("key `network.latency.file`: cannot open") && err.contains("lat.csv"),
        "{err}"
    );
    std::fs::write(dir.join("lat.csv"), "0,20\n20,0\n").expect("write");
    let s = load(&path).unwrap_or_else(|e| panic!("{e}"));
    let real = std::fs::canonicalize(dir.join("lat.csv")).expect("exists");
    assert_eq!(s.resolve_path("lat.csv"), Ok(real));
    // The matrix must have one row per group, and overrides apply to loaded files too.
    std::fs::write(dir.join("lat.csv"), "0,20,5\n20,0,5\n5,5,0\n").expect("write");
    let err = load(&path).unwrap_err().to_string();
    assert!(
        err.contains("the matrix has 3 rows but there are 2 groups") && err.contains("allowed: a square CSV"),
        "{err}"
    );
    std::fs::write(dir.join("lat.csv"), "0,20\n20,0\n").expect("write");
    let set = "network.latency.groups=[\"laptops\", \"laptops\"]".to_string();
    let err = load_with_overrides(&path, std::slice::from_ref(&set))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!(
            "(--set {set}): key `network.latency.groups[1]`: \"laptops\" has two rows"
        )),
        "{err}"
    );
    let s = load_with_overrides(&path, &["seed=3".into()]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.seed, 3);
}

#[test]
fn ranges_are_accepted_wherever_a_scalar_is() {
    let text = BASE.replacen("count = 10", "count = \"10..20\"", 1).replacen(
        "rate = \"5/s\"",
        "rate = \"1/s..10/s\"",
        1,
    );
    let s = parse(&text, "r.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((s.total_peers(), s.total_peers_min()), (25, 15));
    let json = s.to_json();
    assert!(
        json.contains("\"10..20\"") && json.contains("\"1/s..10/s\""),
        "{json}"
    );
    // A range must be valid for every value it can take.
    let (t, e) = broken("heal = \"4m\"", "heal = \"1m..5m\"");
    assert_diag(&t, &e, "\"1m..5m\"", "fault[0].heal", &["not after `at`"]);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = parse(&text, "fuzz.toml");
    }

    #[test]
    fn mutated_valid_files_never_panic(at in 0usize..2000, len in 0usize..12, insert in "[\\[\\]{}=\".,0-9a-z%/ \n-]{0,8}") {
        let mut text = BASE.to_owned();
        let start = at % text.len();
        let end = (start + len).min(text.len());
        if text.is_char_boundary(start) && text.is_char_boundary(end) {
            text.replace_range(start..end, &insert);
        }
        if let Err(e) = parse(&text, "fuzz.toml") {
            proptest::prop_assert!(e.to_string().starts_with("fuzz.toml"));
            proptest::prop_assert!(e.to_string().lines().all(|l| l.contains("; allowed: ")));
        }
    }

    #[test]
    fn arbitrary_overrides_never_panic(arg in "[a-z_.\\[\\]0-9]{0,20}=[\\PC]{0,12}") {
        let _ = parse_with_overrides(BASE, "fuzz.toml", &[arg]);
    }
}

#[test]
fn output_warmup_is_a_duration_shorter_than_the_run() {
    let tail = "behaviour = \"drop\"\n";
    let (t, e) = broken(tail, &format!("{tail}\n[output]\nwarmup = \"12m\"\n"));
    assert_diag(
        &t,
        &e,
        "\"12m\"",
        "output.warmup",
        &["leaves nothing", "shorter than the run"],
    );
    let (t, e) = broken(tail, &format!("{tail}\n[output]\nwarmup = \"2 apples\"\n"));
    assert!(e.starts_with(&pos(&t, "\"2 apples\"")), "{e}");
    assert!(e.contains("output.warmup"), "{e}");
    let ok = parse(&format!("{BASE}\n[output]\nwarmup = \"2m\"\n"), "ok.toml").unwrap();
    assert_eq!(ok.output.warmup, Duration::from_secs(120));
    assert_eq!(parse(BASE, "ok.toml").unwrap().output.warmup, Duration::ZERO);
}

#[test]
fn registration_options_are_checked_at_their_keys() {
    let (t, e) = broken("count = 10\n", "count = 10\nfriendly_name = \"\"\n");
    assert_diag(
        &t,
        &e,
        "\"\"",
        "peers[0].friendly_name",
        &["friendly name is empty", "1 to 39 characters"],
    );
    let long = format!("count = 10\nfriendly_name = \"{}\"\n", "é".repeat(40));
    let (t, e) = broken("count = 10\n", &long);
    assert_diag(
        &t,
        &e,
        "\"é",
        "peers[0].friendly_name",
        &["80 bytes", "at most 78 bytes as UTF-16"],
    );
    let (t, e) = broken(
        "count = 10\n",
        "count = 10\nservice_location_prefix = \"2001:db8::1\"\n",
    );
    assert_diag(
        &t,
        &e,
        "\"2001:db8::1\"",
        "peers[0].service_location_prefix",
        &["low 64 bits", "/64 prefix"],
    );
    let ok = BASE.replacen(
        "count = 10\n",
        "count = 10\nfriendly_name = \"Desk\"\nservice_location_prefix = \"2001:db8:0:7::\"\n",
        1,
    );
    let s = parse(&ok, "ok.toml").expect("valid options parse");
    assert_eq!(s.peers[0].friendly_name.as_deref(), Some("Desk"));
    let (_, e) = broken(
        "seed_servers = 2",
        "seed_servers = 2\nrsa_signature_byte_order = \"middle\"",
    );
    assert!(e.contains("pnrp.rsa_signature_byte_order"), "{e}");
    assert!(e.contains("big-endian") && e.contains("little-endian"), "{e}");
}
