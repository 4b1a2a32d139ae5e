//! The `peerlab explore`, `replay` and `shrink` commands end to end, and their answers to bad
//! input: exit 2 with a clear message, never a panic.

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
    let dir = std::env::temp_dir().join(format!("peerlab-repro-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn regression(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios/regressions")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn explore_replay_and_shrink_from_the_command_line() {
    let dir = scratch("loop");
    let out = dir.join("found");
    let file = regression("forge-cpa-defence.toml");
    let o = peerlab(&[
        "explore",
        &file,
        "--seeds",
        "1..2",
        "--jobs",
        "2",
        "--quiet",
        "--set",
        "pnrp.inject_bug=skip-cpa-verify",
        "--out",
        out.to_str().unwrap(),
    ]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("forged_leaf_entry_accepted: 2 seeds: 1, 2"), "{t}");
    assert!(t.contains("seeds 1..2"), "versions and seeds come first: {t}");
    let repro = out.join("forged_leaf_entry_accepted-seed1.toml");
    assert!(repro.is_file(), "{t}");
    assert!(out.join("explore.json").is_file());

    let trace_dir = dir.join("replay");
    let o = peerlab(&[
        "replay",
        repro.to_str().unwrap(),
        "--trace",
        "node=0,1",
        "--out",
        trace_dir.to_str().unwrap(),
        "--msc",
        "1/0",
    ]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("reproduced: forged_leaf_entry_accepted"), "{t}");
    assert!(t.contains("state at event"), "{t}");
    assert!(t.contains("leaf below"), "{t}");
    let jsonl = std::fs::read_to_string(trace_dir.join("trace.jsonl")).expect("trace written");
    let first: serde_json::Value = serde_json::from_str(jsonl.lines().next().expect("lines")).expect("JSON");
    assert!(first["msg"].is_string() && first["t_us"].is_u64(), "{first}");
    // Everything a user reads is in words, not Rust's debug form.
    let svg = std::fs::read_dir(&trace_dir)
        .expect("replay dir")
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .collect::<String>();
    for read in [&t, &jsonl, &svg] {
        for debug in [
            "Honest {",
            "Attacker(",
            "Some(",
            "PnrpId(",
            "{0",
            "SplitDetection",
            "000000s",
        ] {
            assert!(!read.contains(debug), "`{debug}` in:\n{read}");
        }
    }
    assert!(t.contains("trace of peers 0, 1:"), "{t}");
    assert!(t.contains("honest peer (group 0)"), "{t}");

    let o = peerlab(&["shrink", repro.to_str().unwrap(), "--max-runs", "30"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("shrank by"), "{t}");
    assert!(!t.contains("Some(") && !t.contains("000000s"), "{t}");
    assert!(
        out.join("forged_leaf_entry_accepted-seed1.min.toml").is_file(),
        "{t}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_resolve_is_drawn_as_a_sequence_diagram() {
    let dir = scratch("msc");
    let out = dir.join("found");
    let file = regression("forge-cpa-defence.toml");
    // Force a failure late in the run (a check), so that resolves happen before the stop.
    let o = peerlab(&[
        "explore",
        &file,
        "--seeds",
        "1..1",
        "--quiet",
        "--set",
        "checks.max_failed_ratio=0%",
        "--set",
        "network.loss=5%",
        "--out",
        out.to_str().unwrap(),
    ]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    let repro = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.to_string_lossy().contains("check-max_failed_ratio"))
        .unwrap_or_else(|| panic!("no check repro: {t}"));
    let o = peerlab(&[
        "replay",
        repro.to_str().unwrap(),
        "--trace",
        "node=5",
        "--msc",
        "1/5",
        "--out",
        dir.join("r").to_str().unwrap(),
    ]);
    let t = text(&o);
    assert!(t.contains("sequence diagram"), "{t}");
    let svg = std::fs::read_to_string(dir.join("r/msc-1-5.svg")).expect("svg written");
    assert!(svg.starts_with("<svg") && svg.contains("LOOKUP"), "{svg}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_input_exits_2_with_a_message() {
    let dir = scratch("bad");
    let o = peerlab(&[
        "explore",
        &regression("forge-cpa-defence.toml"),
        "--seeds",
        "9..3",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("empty"), "{}", text(&o));

    let not_toml = dir.join("not.toml");
    std::fs::write(&not_toml, "seed = [").unwrap();
    let no_table = dir.join("no-repro.toml");
    std::fs::write(&no_table, "name = \"x\"\n").unwrap();
    let old_schema = dir.join("old.toml");
    std::fs::write(
        &old_schema,
        "name = \"x\"\nseed = 1\nduration = \"1m\"\nretired_key = 3\n[[peers]]\nname = \"p\"\ncount = 3\n\
         [repro]\ninvariant = \"cache_holds_self\"\nevent_index = 10\nt_us = 5\n",
    )
    .unwrap();
    for (file, says) in [
        (&not_toml, "TOML syntax"),
        (&no_table, "[repro] table is missing"),
        (&old_schema, "retired_key"),
        (&dir.join("absent.toml"), "cannot read"),
    ] {
        for cmd in ["replay", "shrink"] {
            let o = peerlab(&[cmd, file.to_str().unwrap()]);
            let t = text(&o);
            assert_eq!(o.status.code(), Some(2), "{cmd} {}: {t}", file.display());
            assert!(t.contains(says), "{cmd} {}: {t}", file.display());
            assert!(!t.contains("panicked"), "{t}");
        }
    }
    let o = peerlab(&["replay", old_schema.to_str().unwrap(), "--trace-id", "zz"]);
    assert_eq!(o.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}
