//! What `peerlab run` writes: `[output] records` and `trace`, `--pcap` with several seeds, and the
//! directories of `--sweep` runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn peerlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_peerlab"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("peerlab-run-outputs-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

const SMALL: &str = r#"name = "small"
duration = "1m"
[pnrp]
crypto = "ed25519"
[[peers]]
name = "a"
count = 8
[[workload]]
kind = "resolve"
start = "30s"
rate = "2/s"
"#;

/// Writes SMALL (plus `extra`) as `small.toml` in `dir`.
fn scenario(dir: &Path, extra: &str) -> String {
    let path = dir.join("small.toml");
    std::fs::write(&path, format!("{SMALL}{extra}")).expect("scenario written");
    path.display().to_string()
}

#[test]
fn records_false_writes_no_records_and_trace_true_writes_every_datagram() {
    let dir = scratch("output");
    let out = dir.join("run");
    let out_s = out.display().to_string();
    // A first run leaves records.jsonl behind; the second, without records, must not keep it.
    let file = scenario(&dir, "");
    assert!(peerlab(&["run", &file, "--out", &out_s, "--quiet"])
        .status
        .success());
    assert!(out.join("records.jsonl").exists());
    let file = scenario(&dir, "[output]\nrecords = false\ntrace = true\n");
    let o = peerlab(&["run", &file, "--out", &out_s]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        !out.join("records.jsonl").exists(),
        "records.jsonl written despite records = false"
    );
    assert!(out.join("summary.json").exists());
    let summary = std::fs::read_to_string(out.join("summary.json")).expect("summary");
    assert!(
        summary.contains("\"resolve\""),
        "the summary still counts operations: {summary}"
    );
    let trace = std::fs::read_to_string(out.join("trace.jsonl")).expect("trace.jsonl written");
    let lines: Vec<&str> = trace.lines().collect();
    assert!(lines.len() > 100, "{} trace lines", lines.len());
    assert!(lines.iter().any(|l| l.contains("\"dir\":\"send\"")));
    assert!(lines.iter().any(|l| l.contains("\"dir\":\"recv\"")));
    assert!(text(&o).contains("trace: "), "{}", text(&o));
    // And back to the defaults: records again, and no stale trace.
    let file = scenario(&dir, "");
    assert!(peerlab(&["run", &file, "--out", &out_s, "--quiet"])
        .status
        .success());
    assert!(out.join("records.jsonl").exists());
    assert!(!out.join("trace.jsonl").exists());
}

#[test]
fn a_distribution_scenario_refuses_trace_with_the_key_and_what_is_allowed() {
    let dir = scratch("dist-trace");
    let text_in = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/distribution/flash-crowd.toml"),
    )
    .expect("example");
    let path = dir.join("d.toml");
    let with_trace = text_in.replacen("[output]\n", "[output]\ntrace = true\n", 1);
    assert_ne!(with_trace, text_in);
    std::fs::write(&path, with_trace).expect("written");
    let o = peerlab(&["check", &path.display().to_string()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("key `output.trace`") && t.contains("allowed: false"),
        "{t}"
    );
}

#[test]
fn several_seeds_with_pcap_write_one_capture_per_seed() {
    let dir = scratch("pcap");
    let file = scenario(&dir, "");
    let pcap = dir.join("x.pcap").display().to_string();
    let out = dir.join("runs").display().to_string();
    let o = peerlab(&[
        "run", &file, "--seeds", "1..2", "--pcap", &pcap, "--out", &out, "--quiet",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!dir.join("x.pcap").exists(), "both seeds wrote the shared file");
    let one = std::fs::read(dir.join("x-seed1.pcap")).expect("seed 1 capture");
    let two = std::fs::read(dir.join("x-seed2.pcap")).expect("seed 2 capture");
    // Each is a whole capture of its own run: the classic pcap magic, then different traffic.
    assert_eq!(&one[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
    assert_eq!(&two[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
    assert_ne!(one, two);
}

#[test]
fn sweep_runs_are_filed_under_a_readable_value_and_their_real_seed() {
    let dir = scratch("sweep");
    let file = scenario(&dir, "");
    let out = dir.join("runs");
    let out_s = out.display().to_string();
    let o = peerlab(&[
        "run",
        &file,
        "--sweep",
        "network.loss=0%,20%",
        "--out",
        &out_s,
        "--quiet",
    ]);
    assert!(o.status.code().is_some_and(|c| c < 2), "{}", text(&o));
    // No --seeds: the scenario's own seed (1), not a placeholder.
    for v in ["0pct", "20pct"] {
        let summary = std::fs::read_to_string(out.join(v).join("1").join("summary.json"))
            .unwrap_or_else(|e| panic!("{v}/1/summary.json: {e}"));
        assert!(summary.contains("\"seed\": 1,"), "{summary}");
    }
    // Sweeping the seed itself files each run under the seed it ran with.
    let out2 = dir.join("by-seed");
    let out2_s = out2.display().to_string();
    let o = peerlab(&["run", &file, "--sweep", "seed=3,4", "--out", &out2_s, "--quiet"]);
    assert!(o.status.code().is_some_and(|c| c < 2), "{}", text(&o));
    for seed in ["3", "4"] {
        let summary = std::fs::read_to_string(out2.join(seed).join(seed).join("summary.json"))
            .unwrap_or_else(|e| panic!("{seed}/{seed}/summary.json: {e}"));
        assert!(summary.contains(&format!("\"seed\": {seed},")), "{summary}");
    }
}

#[cfg(unix)]
#[test]
fn links_planted_in_a_run_directory_are_replaced_never_written_through() {
    let dir = scratch("links");
    let file = scenario(&dir, "[output]\ntrace = true\n");
    let out = dir.join("run");
    std::fs::create_dir_all(&out).unwrap();
    let victim = dir.join("victim.txt");
    std::fs::write(&victim, "precious").unwrap();
    let names = [
        "config.json",
        "summary.json",
        "records.jsonl",
        "trace.jsonl",
        "report.html",
        "ops.csv",
    ];
    for name in names {
        std::os::unix::fs::symlink(&victim, out.join(name)).unwrap();
    }
    let o = peerlab(&["run", &file, "--out", &out.display().to_string(), "--quiet"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    for name in names {
        let meta = std::fs::symlink_metadata(out.join(name)).unwrap();
        assert!(meta.is_file(), "{name} is a fresh file, not the planted link");
    }
}

#[test]
fn the_printed_replay_command_quotes_every_argument() {
    let dir = scratch("quote");
    let hostile = dir.join("x;touch PWNED;.toml");
    std::fs::write(&hostile, SMALL).unwrap();
    let out = dir.join("run");
    let o = peerlab(&[
        "run",
        &hostile.display().to_string(),
        "--out",
        &out.display().to_string(),
        "--set",
        "network.loss=0%",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    let replay = config["replay"]
        .as_str()
        .expect("config.json has the replay command");
    // The shell sees the file as one word (and runs nothing else).
    let words = Command::new("sh")
        .arg("-c")
        .arg(format!("printf '%s\\0' {replay}"))
        .current_dir(&dir)
        .output()
        .unwrap();
    let words: Vec<String> = String::from_utf8(words.stdout)
        .unwrap()
        .split_terminator('\0')
        .map(String::from)
        .collect();
    assert!(words.contains(&hostile.display().to_string()), "{words:?}");
    assert!(words.contains(&"network.loss=0%".to_string()), "{words:?}");
    assert!(!dir.join("PWNED").exists());
}

#[test]
fn several_sweeps_run_every_combination_under_one_closing_line() {
    let dir = scratch("grid");
    let file = scenario(&dir, "");
    let out = dir.join("runs");
    let o = peerlab(&[
        "run",
        &file,
        "--sweep",
        "network.loss=0%,20%",
        "--sweep",
        "peers.0.count=6,8",
        "--jobs",
        "2",
        "--out",
        &out.display().to_string(),
        "--quiet",
    ]);
    let all = text(&o);
    assert!(o.status.code().is_some_and(|c| c < 2), "{all}");
    for (loss, count) in [("0pct", "6"), ("0pct", "8"), ("20pct", "6"), ("20pct", "8")] {
        let summary = out.join(loss).join(count).join("1").join("summary.json");
        assert!(summary.exists(), "{} missing: {all}", summary.display());
    }
    assert!(all.contains("4 runs (4 points × 1 seeds)"), "{all}");
    assert!(all.lines().any(|l| l.ends_with("of 4 runs failed")), "{all}");
    // Quiet among many runs: no per-run banner or table.
    assert!(!all.contains("simulated\n") && !all.contains("PASS:"), "{all}");
}

#[test]
fn a_variant_run_never_overwrites_the_run_it_is_compared_with() {
    let dir = scratch("variant");
    let file = scenario(&dir, "");
    let run = |extra: &[&str]| {
        let mut args = vec!["run", file.as_str(), "--quiet"];
        args.extend_from_slice(extra);
        let o = Command::new(env!("CARGO_BIN_EXE_peerlab"))
            .args(&args)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(o.status.code().is_some_and(|c| c < 2), "{}", text(&o));
    };
    run(&[]);
    run(&["--set", "network.loss=5%"]);
    assert!(dir.join("runs/small/1/summary.json").exists());
    assert!(dir.join("runs/small/network.loss=5pct/1/summary.json").exists());
}

#[test]
fn seed_and_seeds_together_are_refused() {
    let dir = scratch("seedseeds");
    let file = scenario(&dir, "");
    let o = peerlab(&["run", &file, "--seed", "3", "--seeds", "1..2"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--seed and --seeds"), "{}", text(&o));
}

#[test]
fn config_json_names_every_open_point_with_the_variant_that_ran() {
    let dir = scratch("choices");
    let file = scenario(&dir, "");
    let out = dir.join("run").display().to_string();
    let set = "pnrp.rsa_signature_byte_order=little-endian";
    let o = peerlab(&["run", &file, "--out", &out, "--set", set, "--quiet"]);
    assert!(o.status.success(), "{}", text(&o));
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(Path::new(&out).join("config.json")).unwrap()).unwrap();
    let choices = config["choices"].as_array().expect("config.json has choices");
    assert!(choices.len() >= 20);
    let by_knob = |k: &str| {
        choices
            .iter()
            .find(|c| c["knob"] == k)
            .unwrap_or_else(|| panic!("no choice for {k}"))
    };
    let sig = by_knob("rsa_signature_byte_order");
    assert_eq!(sig["variant"], "little-endian");
    assert_eq!(sig["section"], "MS-PNRP §2.2.3.2, §3.2.5.9");
    assert_eq!(
        by_knob("cloud_cleanup_delay")["variant"],
        "15m after the last use"
    );
    assert!(choices
        .iter()
        .all(|c| c["section"].as_str().unwrap().starts_with("MS-PNRP §")));
}
