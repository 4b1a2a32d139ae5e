//! Every key of `summary.json`, for a PNRP run with a partition and for a distribution run, is
//! defined in docs/metrics.md.

use std::path::Path;
use std::process::Command;

/// Backquoted names in the glossary's tables (first column).
fn glossary_names() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/metrics.md");
    let text = std::fs::read_to_string(&path).expect("docs/metrics.md exists");
    text.lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once('`').map(|(name, _)| name.to_string()))
        .collect()
}

/// Whether one dotted segment matches a glossary segment, where `<…>` stands for any text.
fn segment_matches(pattern: &str, segment: &str) -> bool {
    match (pattern.find('<'), pattern.find('>')) {
        (Some(a), Some(b)) if a < b => {
            let (prefix, suffix) = (&pattern[..a], &pattern[b + 1..]);
            segment.len() > prefix.len() + suffix.len()
                && segment.starts_with(prefix)
                && segment.ends_with(suffix)
        }
        _ => pattern == segment,
    }
}

/// Whether the dotted `key` is named by the glossary `pattern`.
fn matches(pattern: &str, key: &str) -> bool {
    let (p, k): (Vec<&str>, Vec<&str>) = (pattern.split('.').collect(), key.split('.').collect());
    p.len() == k.len() && p.iter().zip(&k).all(|(p, k)| segment_matches(p, k))
}

/// Every key of a summary.json: top-level keys, `operations.<kind>.<field>[.<sub>]` and each
/// metric name.
fn summary_keys(summary: &serde_json::Value) -> Vec<String> {
    fn walk(prefix: &str, v: &serde_json::Value, out: &mut Vec<String>) {
        out.push(prefix.to_string());
        if let Some(map) = v.as_object() {
            for (k, v) in map {
                walk(&format!("{prefix}.{k}"), v, out);
            }
        }
    }
    let mut keys = Vec::new();
    for (k, v) in summary.as_object().expect("an object") {
        match k.as_str() {
            "metrics" => keys.extend(v.as_object().expect("a map").keys().cloned()),
            "operations" => {
                for (kind, o) in v.as_object().expect("a map") {
                    for (field, v) in o.as_object().expect("an operation") {
                        walk(&format!("operations.{kind}.{field}"), v, &mut keys);
                    }
                }
            }
            _ => keys.push(k.clone()),
        }
    }
    keys
}

fn run(scenario: &str, sets: &[&str], out: &Path) -> serde_json::Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut args = vec![
        "run".to_string(),
        root.join(scenario).display().to_string(),
        "--out".into(),
        out.display().to_string(),
        "--quiet".into(),
    ];
    for s in sets {
        args.push("--set".into());
        args.push((*s).into());
    }
    let o = Command::new(env!("CARGO_BIN_EXE_peerlab"))
        .args(&args)
        .output()
        .expect("the binary runs");
    assert!(
        o.status.code().is_some_and(|c| c < 2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = std::fs::read_to_string(out.join("summary.json")).expect("summary.json");
    serde_json::from_str(&text).expect("JSON")
}

#[test]
fn every_summary_key_of_a_pnrp_and_a_distribution_run_is_in_the_glossary() {
    let names = glossary_names();
    assert!(names.len() > 100, "{} names read", names.len());
    let dir = std::env::temp_dir().join(format!("peerlab-glossary-{}", std::process::id()));
    let runs = [
        run(
            "scenarios/pnrp/partition-heal.toml",
            &["pnrp.crypto=ed25519", "duration=16m"],
            &dir.join("pnrp"),
        ),
        run("scenarios/distribution/flash-crowd.toml", &[], &dir.join("dist")),
    ];
    let mut missing = Vec::new();
    for summary in &runs {
        for key in summary_keys(summary) {
            if !names.iter().any(|n| matches(n, &key)) && !missing.contains(&key) {
                missing.push(key);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(missing.is_empty(), "not in docs/metrics.md: {missing:?}");
}

#[test]
fn patterns_match_one_segment() {
    assert!(matches("net.messages.<type>", "net.messages.SOLICIT"));
    assert!(!matches("net.messages.<type>", "net.messages"));
    assert!(matches("pnrp.cache_level_<n>", "pnrp.cache_level_3"));
    assert!(!matches("pnrp.cache_level_<n>", "pnrp.cache_entries_mean"));
    assert!(matches(
        "operations.<kind>.latency_ms.p50",
        "operations.fetch.latency_ms.p50"
    ));
}
