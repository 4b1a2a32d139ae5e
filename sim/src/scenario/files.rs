//! Files a scenario names: the latency matrix CSV and session-length traces. `load` checks them
//! before a run starts; the run reads them through the same functions.

use super::access::read_text;
use super::error::Issue;
use super::printable::{escape, excerpt};
use super::schema::{Latency, Scenario, Session};
use super::spans::KeyPath;
use super::units::parse_duration;
use peerlab_engine::Duration;
use std::path::Path;

const MATRIX_ALLOWED: &str =
    "a square CSV of one-way milliseconds, one row and one column per group, optionally with a header row of names";
const TRACE_ALLOWED: &str =
    "one session length per line, as a duration (\"30m\") or a number of seconds (\"1800\"); # starts a comment";

/// Cells of a CSV line, trimmed.
fn cells(line: &str) -> Vec<&str> {
    line.split(',').map(str::trim).collect()
}

/// Parses a latency matrix: `rows[a][b]` is the one-way latency from group `a` to group `b`.
/// Blank lines and lines starting with `#` are skipped; a first row that is not numeric is a header.
pub fn parse_matrix(text: &str) -> Result<Vec<Vec<Duration>>, String> {
    let mut rows = Vec::new();
    let lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    for (i, (n, line)) in lines.enumerate() {
        let ms = |c: &str| parse_duration(&format!("{c}ms")).ok();
        // The first row names the groups when none of its cells is a number.
        if i == 0 && cells(line).into_iter().all(|c| ms(c).is_none()) {
            continue;
        }
        let row: Result<Vec<Duration>, String> = cells(line)
            .into_iter()
            .map(|c| ms(c).ok_or_else(|| format!("line {}: `{}` is not milliseconds", n + 1, excerpt(c))))
            .collect();
        rows.push(row?);
    }
    if rows.is_empty() {
        return Err("the matrix has no rows".into());
    }
    if let Some((i, row)) = rows.iter().enumerate().find(|(_, r)| r.len() != rows.len()) {
        return Err(format!(
            "row {} has {} values but there are {} rows (it must be square)",
            i + 1,
            row.len(),
            rows.len()
        ));
    }
    Ok(rows)
}

/// Parses a session trace: one length per line, as a duration or a number of seconds.
pub fn parse_trace(text: &str) -> Result<Vec<Duration>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let t = line.split('#').next().unwrap_or("").trim();
        if t.is_empty() {
            continue;
        }
        let with_unit = if t.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            format!("{t}s")
        } else {
            t.to_owned()
        };
        out.push(
            parse_duration(&with_unit)
                .map_err(|_| format!("line {}: `{}` is not a session length", n + 1, excerpt(t)))?,
        );
    }
    if out.is_empty() {
        return Err("the trace has no session lengths".into());
    }
    Ok(out)
}

/// The text of a file a scenario names (at most 8 MiB, UTF-8); errors name it escaped.
fn read_named(path: &Path) -> Result<String, String> {
    read_text(path).map_err(|e| format!("cannot read \"{}\": {e}", shown(path)))
}

/// A path for a message, escaped.
fn shown(path: &Path) -> String {
    escape(&path.display().to_string())
}

/// Reads and parses a latency matrix file (`path` already resolved by `Scenario::resolve_path`).
pub fn read_matrix(path: &Path) -> Result<Vec<Vec<Duration>>, String> {
    parse_matrix(&read_named(path)?).map_err(|e| format!("\"{}\": {e}", shown(path)))
}

/// Reads and parses a session trace file (`path` already resolved by `Scenario::resolve_path`).
pub fn read_trace(path: &Path) -> Result<Vec<Duration>, String> {
    parse_trace(&read_named(path)?).map_err(|e| format!("\"{}\": {e}", shown(path)))
}

/// Problems with the files `s` names (missing, unreadable, malformed, wrong size).
pub(crate) fn check_files(s: &Scenario) -> Vec<Issue> {
    let mut issues = Vec::new();
    let root = KeyPath::root();
    if let Latency::Matrix { file, groups } = &s.network.latency {
        let key = root.key("network").key("latency").key("file");
        match s.resolve_path(file).and_then(|p| read_matrix(&p)) {
            Err(what) => issues.push(Issue::new(key, what, MATRIX_ALLOWED)),
            Ok(rows) => {
                let want = groups.as_ref().map_or(s.peers.len(), Vec::len);
                if rows.len() != want {
                    let what = format!("the matrix has {} rows but there are {want} groups", rows.len());
                    issues.push(Issue::new(key, what, MATRIX_ALLOWED));
                }
            }
        }
    }
    let branches = s.distribution.iter().flat_map(|d| &d.branches);
    let sessions = (s.peers.iter().map(|g| &g.session).enumerate())
        .map(|(i, session)| (root.key("peers").index(i), session))
        .chain(
            (branches.map(|b| &b.session).enumerate())
                .map(|(i, session)| (root.key("branch").index(i), session)),
        );
    for (key, session) in sessions {
        if let Some(Session::Trace { file }) = session {
            if let Err(what) = s.resolve_path(file).and_then(|p| read_trace(&p)) {
                issues.push(Issue::new(key.key("session").key("file"), what, TRACE_ALLOWED));
            }
        }
    }
    issues
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrices_parse_with_or_without_a_header() {
        let m = parse_matrix("eu, us\n0, 80.5\n80, 0\n").unwrap();
        assert_eq!(m[0][1], Duration::from_micros(80_500));
        assert_eq!(
            parse_matrix("# comment\n1\n").unwrap(),
            vec![vec![Duration::from_millis(1)]]
        );
        assert!(parse_matrix("0,1\n1\n")
            .unwrap_err()
            .contains("row 2 has 1 values"));
        let err = |text: &str| parse_matrix(text).unwrap_err();
        assert!(err("0,x\n1,0\n").contains("line 1: `x`"));
        assert!(err("0,1\n1,-2\n").contains("line 2: `-2`"));
        assert!(parse_matrix("a,b\n").is_err() && parse_matrix("").is_err());
    }

    #[test]
    fn traces_take_durations_or_seconds() {
        let t = parse_trace("30m\n90 # a short one\n\n1.5\n").unwrap();
        assert_eq!(
            t,
            vec![
                Duration::from_mins(30),
                Duration::from_secs(90),
                Duration::from_millis(1500)
            ]
        );
        assert!(parse_trace("10s\nforever\n")
            .unwrap_err()
            .starts_with("line 2: `forever`"));
        assert!(parse_trace("# nothing\n").is_err());
    }
}
