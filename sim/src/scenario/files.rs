//! Files a scenario names: the latency matrix CSV and session-length traces. `load` checks them
//! before a run starts; the run reads them through the same functions.

use super::error::Issue;
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
            .map(|c| ms(c).ok_or_else(|| format!("line {}: `{c}` is not milliseconds", n + 1)))
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
                .map_err(|_| format!("line {}: `{t}` is not a session length", n + 1))?,
        );
    }
    if out.is_empty() {
        return Err("the trace has no session lengths".into());
    }
    Ok(out)
}

/// Reads and parses a latency matrix file.
pub fn read_matrix(path: &Path) -> Result<Vec<Vec<Duration>>, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("cannot open \"{}\": {e}", path.display()))?;
    parse_matrix(&text).map_err(|e| format!("\"{}\": {e}", path.display()))
}

/// Reads and parses a session trace file.
pub fn read_trace(path: &Path) -> Result<Vec<Duration>, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("cannot open \"{}\": {e}", path.display()))?;
    parse_trace(&text).map_err(|e| format!("\"{}\": {e}", path.display()))
}

/// Problems with the files `s` names (missing, unreadable, malformed, wrong size).
pub(crate) fn check_files(s: &Scenario) -> Vec<Issue> {
    let mut issues = Vec::new();
    let root = KeyPath::root();
    if let Latency::Matrix { file, groups } = &s.network.latency {
        let key = root.key("network").key("latency").key("file");
        match read_matrix(&s.resolve_path(file)) {
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
    for (i, g) in s.peers.iter().enumerate() {
        if let Some(Session::Trace { file }) = &g.session {
            if let Err(what) = read_trace(&s.resolve_path(file)) {
                let key = root.key("peers").index(i).key("session").key("file");
                issues.push(Issue::new(key, what, TRACE_ALLOWED));
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
