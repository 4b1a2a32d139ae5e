//! Hostile scenario and repro files: files named outside the scenario's tree, counts that wrapped,
//! runs too big for the machine, errors without a position, terminal escapes from repro files,
//! a latency longer than the run, and validation time that grew with the square of the file.

mod common;

use common::{peerlab, text};
use peerlab_sim::scenario::{self, LoadOptions};
use peerlab_sim::wall::Stopwatch;
use std::path::{Path, PathBuf};

fn scratch(name: &str) -> PathBuf {
    common::scratch("hostile", name)
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

const SMALL: &str =
    "name = \"h\"\nduration = \"2m\"\n[pnrp]\ncrypto = \"ed25519\"\n[[peers]]\nname = \"p\"\ncount = 4\n";

/// A secret outside the scenario's directory, one long line with no comma.
const SECRET: &str = "TOP-SECRET-0123456789-abcdefghijklmnopqrstuvwxyz-0123456789-THE-END";

#[test]
fn scenarios_read_no_file_outside_their_tree_unless_allowed() {
    let dir = scratch("tree");
    let home = dir.join("scenarios");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(dir.join("secret.csv"), format!("{SECRET}\n")).unwrap();
    let cases = [
        "session = { model = \"trace\", file = \"/proc/self/environ\" }\n",
        "session = { model = \"trace\", file = \"../secret.csv\" }\n",
        "session = { model = \"trace\", file = \"../../../../../../../../etc/passwd\" }\n",
        "session = { model = \"trace\", file = \"link.csv\" }\n",
    ];
    #[cfg(unix)]
    std::os::unix::fs::symlink(dir.join("secret.csv"), home.join("link.csv")).unwrap();
    for (i, case) in cases.iter().enumerate() {
        let file = home.join(format!("s{i}.toml"));
        std::fs::write(&file, format!("{SMALL}{case}")).unwrap();
        let e = scenario::load(&file).expect_err(case).to_string();
        assert!(e.contains("key `peers[0].session.file`"), "{e}");
        assert!(e.contains("outside the scenario's directory"), "{e}");
        let o = peerlab(&["check", path(&file)]);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(2), "{t}");
        assert!(
            !t.contains("TOP-SECRET") && !t.contains("root:") && !t.contains("PATH="),
            "{t}"
        );
    }
    // Allowed on the command line (or by a library caller), the file is read; its content shows
    // only as a short escaped excerpt.
    let allowed = LoadOptions {
        sets: Vec::new(),
        allow_files: vec![dir.clone()],
    };
    let e = scenario::load_with(&home.join("s1.toml"), &allowed)
        .expect_err("the secret is no trace")
        .to_string();
    assert!(
        e.contains("`TOP-SECRET-0123456789-abcdefghijklmnopqr…` is not a session length"),
        "{e}"
    );
    assert!(!e.contains("THE-END"), "{e}");
    let o = peerlab(&["check", path(&home.join("s1.toml")), "--allow-files", path(&dir)]);
    assert!(text(&o).contains("is not a session length") && !text(&o).contains("THE-END"));
    // A file inside the tree is fine.
    std::fs::write(home.join("t.txt"), "30m\n").unwrap();
    let ok = home.join("ok.toml");
    std::fs::write(
        &ok,
        format!("{SMALL}session = {{ model = \"trace\", file = \"t.txt\" }}\n"),
    )
    .unwrap();
    scenario::load(&ok).expect("a trace beside the scenario");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_matrix_path_out_of_the_tree_prints_no_line_of_the_file() {
    let dir = scratch("matrix");
    let file = dir.join("m.toml");
    let matrix =
        "[network]\nlatency = { model = \"matrix\", file = \"../../../../../../../../../etc/passwd\" }\n";
    std::fs::write(&file, format!("{SMALL}{matrix}")).unwrap();
    let o = peerlab(&["check", path(&file)]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(
        t.contains("key `network.latency.file`") && !t.contains("root:"),
        "{t}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A repro file of SMALL (plus `extra`) with this `[repro]` table.
fn repro_text(extra: &str, repro: &str) -> String {
    format!("{SMALL}{extra}[repro]\ninvariant = \"cache_holds_self\"\nevent_index = 10\nt_us = 5\n{repro}")
}

#[test]
fn a_repro_files_base_dir_is_honoured_only_when_allowed() {
    let dir = scratch("base-dir");
    let repro = dir.join("r.toml");
    let session = "session = { model = \"trace\", file = \"etc/passwd\" }\n";
    std::fs::write(&repro, repro_text(session, "base_dir = \"/\"\n")).unwrap();
    for cmd in ["replay", "shrink"] {
        let o = peerlab(&[cmd, path(&repro), "--out", path(&dir.join(cmd))]);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(2), "{cmd}: {t}");
        assert!(!t.contains("root:"), "{cmd}: {t}");
        assert!(t.contains("--allow-files"), "{cmd} says how to allow it: {t}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn explore_prints_a_replay_command_that_works_for_a_scenario_with_files() {
    let dir = scratch("explore");
    let home = dir.join("scenario");
    std::fs::create_dir_all(&home).unwrap();
    let regression =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/regressions/forge-cpa-defence.toml");
    let text_of = std::fs::read_to_string(regression).unwrap().replace(
        "latency = { model = \"uniform\", min = \"10ms\", max = \"60ms\" }",
        "latency = { model = \"matrix\", file = \"lat.csv\" }",
    );
    assert!(text_of.contains("lat.csv"));
    std::fs::write(home.join("forge.toml"), text_of).unwrap();
    std::fs::write(home.join("lat.csv"), "30\n").unwrap();
    let out = dir.join("found");
    let o = peerlab(&[
        "explore",
        path(&home.join("forge.toml")),
        "--seeds",
        "1..1",
        "--quiet",
        "--set",
        "pnrp.inject_bug=skip-cpa-verify",
        "--out",
        path(&out),
    ]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    let line = t
        .lines()
        .find_map(|l| l.trim().strip_prefix("replay: cargo run --release -- "))
        .unwrap_or_else(|| panic!("a replay command: {t}"));
    let own = std::fs::canonicalize(&home).unwrap();
    assert!(
        line.contains(&format!("--allow-files {}", own.display())),
        "{line}"
    );
    // The printed command, run as printed, reproduces; without the flag the matrix is refused.
    let args: Vec<&str> = line.split(' ').collect();
    let o = peerlab(&[&args[..], &["--out", path(&dir.join("replayed"))][..]].concat());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("reproduced: "), "{}", text(&o));
    let o = peerlab(&[args[0], args[1], "--out", path(&dir.join("refused"))]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--allow-files"), "{}", text(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn replay_prints_no_terminal_escape_from_a_repro_file() {
    let dir = scratch("escapes");
    let repro = dir.join("r.toml");
    let text_in = format!(
        "{SMALL}[repro]\ninvariant = \"x\\u001b]0;pwned\\u0007\\u001b[2J\"\nevent_index = 10\nt_us = 5\ndetail = \"a\\u001b[31mred\\r\\nfake line\"\npeerlab_version = \"\\u001b[5m\"\n"
    );
    std::fs::write(&repro, text_in).unwrap();
    let o = peerlab(&["replay", path(&repro), "--out", path(&dir.join("out"))]);
    let t = text(&o);
    assert!(
        !t.contains('\u{1b}') && !t.contains('\u{7}') && !t.contains('\r'),
        "{t:?}"
    );
    assert!(t.contains("x\\u{1b}]0;pwned"), "{t}");
    // A scenario name with an escape is refused, and the error is escaped too.
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, SMALL.replace("name = \"h\"", "name = \"h\\u001b[2J\"")).unwrap();
    let o = peerlab(&["check", path(&bad)]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(!t.contains('\u{1b}') && t.contains("key `name`"), "{t:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn errors_without_a_position_now_have_one() {
    let dir = scratch("positions");
    let bad = dir.join("latin1.toml");
    let mut bytes = SMALL.as_bytes().to_vec();
    bytes.extend_from_slice(b"description = \"caf\xe9\"\n");
    std::fs::write(&bad, &bytes).unwrap();
    let e = scenario::load(&bad).unwrap_err().to_string();
    assert!(e.starts_with(&format!("{}:8:19: ", bad.display())), "{e}");
    let repro = dir.join("big.toml");
    std::fs::write(
        &repro,
        format!("{SMALL}[repro]\ninvariant = \"a\"\nevent_index = 99999999999999999999\nt_us = 5\n"),
    )
    .unwrap();
    let o = peerlab(&["replay", path(&repro)]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(t.contains(&format!("{}:10:15: ", repro.display())), "{t}");
    let wrong = dir.join("wrong.toml");
    std::fs::write(&wrong, repro_text("", "node = \"seven\"\n")).unwrap();
    let t = text(&peerlab(&["replay", path(&wrong)]));
    assert!(
        t.contains(&format!(
            "{}:12:8: the [repro] table is malformed",
            wrong.display()
        )),
        "{t}"
    );
    let raw = dir.join("raw.toml");
    std::fs::write(&raw, b"[repro]\ninvariant = \"\xff\"\n").unwrap();
    let t = text(&peerlab(&["replay", path(&raw)]));
    assert!(t.contains(&format!("{}:2:14: cannot read", raw.display())), "{t}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_run_too_big_for_the_machine_is_estimated_and_refused_unless_forced() {
    let dir = scratch("big");
    let file = dir.join("huge.toml");
    std::fs::write(&file, SMALL.replace("count = 4", "count = 10000000")).unwrap();
    // `check` builds no per-peer state: ten million peers check at once.
    let started = Stopwatch::start();
    let o = peerlab(&["check", path(&file)]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.contains("estimate") && t.contains("10000000 peers"), "{t}");
    assert!(started.secs() < 5.0, "{} s", started.secs());
    let s = scenario::load(&file).unwrap();
    let plan = peerlab_sim::expand::check(&s, &file).expect("expands");
    assert_eq!(plan.groups[0].joins.len(), 2);
    // 400 GB estimated: refused on any machine with less available.
    let o = peerlab(&["run", path(&file), "--out", path(&dir.join("run"))]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(t.contains("estimate") && t.contains("--force"), "{t}");
    assert!(!dir.join("run").join("config.json").exists());
    for (from, to, key) in [
        ("count = 4", "count = 4294967296", "peers[0].count"),
        ("duration = \"2m\"", "duration = \"1000d\"", "duration"),
    ] {
        std::fs::write(&file, SMALL.replace(from, to)).unwrap();
        let t = text(&peerlab(&["check", path(&file)]));
        assert!(
            t.contains(&format!("key `{key}`")) && t.contains("allowed: "),
            "{t}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_latency_longer_than_the_run_is_a_warning() {
    let dir = scratch("warn");
    let file = dir.join("slow.toml");
    let slow = "[network]\nlatency = { model = \"constant\", value = \"3m\" }\n";
    std::fs::write(&file, format!("{SMALL}{slow}")).unwrap();
    let o = peerlab(&["check", path(&file)]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.contains(":9:41: key `network.latency.value`: warning:"), "{t}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Seconds to validate `n` `[[peers]]` tables with a workload and a fault naming the last one
/// (best of two).
fn check_secs(n: usize) -> f64 {
    let mut text = String::from("name = \"big\"\nduration = \"10m\"\n[pnrp]\ncrypto = \"ed25519\"\n");
    for i in 0..n {
        text.push_str(&format!(
            "[[peers]]\nname = \"g{i}\"\ncount = 1\ncloud = \"c{}\"\n",
            i % 7
        ));
    }
    for _ in 0..n / 10 {
        text.push_str(&format!(
            "[[workload]]\nkind = \"resolve\"\nfrom = \"g{}\"\nrate = \"1/s\"\n",
            n - 1
        ));
    }
    (0..2)
        .map(|_| {
            let t = Stopwatch::start();
            scenario::parse(&text, "big.toml").expect("valid");
            t.secs()
        })
        .fold(f64::INFINITY, f64::min)
}

#[test]
fn validation_time_grows_about_linearly_with_the_file() {
    let (small, large) = (check_secs(2_500), check_secs(20_000));
    // 8× the tables: linear is 8× (16× leaves room for noise), the quadratic checks were 64×.
    assert!(
        large < small * 16.0,
        "2,500 tables: {small:.3} s; 20,000: {large:.3} s"
    );
}

#[test]
fn files_beyond_the_size_limit_are_refused_at_once() {
    let dir = scratch("size");
    let file = dir.join("huge.toml");
    let f = std::fs::File::create(&file).unwrap();
    f.set_len(scenario::FILE_BYTES_MAX + 1).unwrap();
    let started = Stopwatch::start();
    let e = scenario::load(&file).unwrap_err().to_string();
    assert!(e.contains("more than the 8388608 bytes (8 MiB) allowed"), "{e}");
    assert!(started.secs() < 1.0);
    let text = format!("{SMALL}x = [{}1]\n", "1,".repeat(4_200_000));
    let e = scenario::parse(&text, "t.toml").unwrap_err().to_string();
    assert!(e.contains("8 MiB"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_file_of_many_errors_is_placed_in_one_pass_and_listed_in_part() {
    // 100 000 unknown keys took 223 s: each error's line was counted from the start of the text,
    // and each unknown key of a table decoded the table once more.
    let keys: String = (0..100_000).map(|i| format!("k{i} = 1\n")).collect();
    let started = Stopwatch::start();
    let e = scenario::parse(&format!("{SMALL}{keys}"), "many.toml").unwrap_err();
    assert!(started.secs() < 15.0, "{} s", started.secs());
    let listed = e.diagnostics();
    assert_eq!(listed.len(), 1001);
    assert!(
        listed[0]
            .to_string()
            .contains("100000 problems found; only the first 1000"),
        "{}",
        listed[0]
    );
    assert!(
        listed[1]
            .to_string()
            .starts_with("many.toml:8:1: key `peers[0].k0`: unknown key"),
        "{}",
        listed[1]
    );
    assert!(
        listed[1000].to_string().starts_with("many.toml:1007:1: "),
        "{}",
        listed[1000]
    );
}
