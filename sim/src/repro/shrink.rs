//! `peerlab shrink REPRO`: makes a failing case smaller while the same invariant still fails
//! (neither FoundationDB's simulator nor the VOPR does this).
//!
//! Greedy delta debugging on the scenario's TOML with the seed fixed: each candidate is the
//! current scenario with one cut (end the run just after the failure, halve the duration, drop a
//! `[[fault]]`, an `[[attackers]]` entry or a `[[workload]]`, halve or trim a peer or attacker
//! count, halve a workload rate). A candidate that still expands and still shows the same
//! invariant replaces the current one and the cuts start over; the search ends when no cut keeps
//! the failure or the run budget is spent. A cut changes the whole run (other peers, other
//! streams), so a failure may move to another event or peer: only the invariant must stay.

use super::repro_file::Repro;
use super::{plan_of, run_plan, Failure};
use crate::run::{EXIT_BAD_INPUT, EXIT_FAILED};
use crate::scenario::{escape, Rate, Ratio, Value};
use peerlab_engine::Duration;
use serde::Deserialize;
use std::fmt;
use std::io::Write;
use std::path::PathBuf;

/// `peerlab shrink` options.
#[derive(Debug, clap::Args, Clone)]
pub struct ShrinkArgs {
    /// A repro file written by `peerlab explore`.
    pub repro: PathBuf,
    /// Where the smallest repro goes (default: beside the input, `.min.toml`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Most candidate runs to try.
    #[arg(long, default_value_t = 200)]
    pub max_runs: usize,
    /// Let the scenario read files (latency matrix, session traces) in this directory too
    /// (repeatable); a repro file's `base_dir` is used only when it lies inside one of them.
    #[arg(long = "allow-files", value_name = "DIR")]
    pub allow_files: Vec<PathBuf>,
}

/// How big a failing case is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Size {
    /// Honest peers (integer counts).
    pub peers: u64,
    /// Attackers (integer counts; fractions count 0).
    pub attackers: u64,
    /// `[[fault]]` entries.
    pub faults: usize,
    /// `[[workload]]` entries.
    pub workloads: usize,
    /// Simulated duration.
    pub duration: Duration,
    /// Events up to the failure.
    pub events: u64,
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} peers, {} attackers, {} faults, {} workloads, {} simulated, {} events to the failure",
            self.peers, self.attackers, self.faults, self.workloads, self.duration, self.events
        )
    }
}

/// The size of `table` failing at `failure`.
pub fn size_of(table: &toml::Table, failure: &Failure) -> Size {
    let array = |k: &str| {
        table
            .get(k)
            .and_then(toml::Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    // `count` may be a range ("10..50"): its low end, as the smallest cloud the file can run.
    let count = |v: &toml::Value| {
        v.get("count")
            .and_then(|c| Value::<u64>::deserialize(c.clone()).ok())
            .map_or(0, |c| c.lo())
    };
    let peers: u64 = array("peers").iter().map(count).sum();
    // An attacker table gives `count` or a `fraction` of the honest peers (as expand.rs does).
    let attackers = |v: &toml::Value| match v.get("fraction") {
        Some(f) if v.get("count").is_none() => {
            Value::<Ratio>::deserialize(f.clone()).map_or(0, |f| f.lo().of(peers))
        }
        _ => count(v),
    };
    Size {
        peers,
        attackers: array("attackers").iter().map(attackers).sum(),
        faults: array("fault").len(),
        workloads: array("workload").len(),
        duration: duration_of(table).unwrap_or(Duration::ZERO),
        events: failure.event_index,
    }
}

fn duration_of(table: &toml::Table) -> Option<Duration> {
    table.get("duration")?.as_str()?.parse().ok()
}

/// The result of a shrink.
pub struct Shrunk {
    /// The smallest failing repro found.
    pub repro: Repro,
    /// Size before.
    pub before: Size,
    /// Size after.
    pub after: Size,
    /// Candidate runs tried.
    pub runs: usize,
    /// Cuts that were kept, in order.
    pub kept: Vec<String>,
}

/// Every single cut of `table`, most promising first.
pub fn candidates(table: &toml::Table, failure: &Failure) -> Vec<(String, toml::Table)> {
    let mut out = Vec::new();
    let with = |f: &dyn Fn(&mut toml::Table) -> Option<()>| {
        let mut t = table.clone();
        f(&mut t).map(|_| t)
    };
    if let Some(d) = duration_of(table) {
        // End just after the failure (a check is judged at the end: keep its duration).
        if !failure.invariant.starts_with("check:") {
            let end = Duration::from_secs(failure.t_us / 1_000_000 + 1);
            if end < d {
                out.push((format!("duration {d} → {end}"), with(&|t| cut_duration(t, end))));
            }
        }
        let half = Duration::from_secs((d.as_micros() / 2_000_000).max(1));
        if half < d {
            out.push((format!("duration {d} → {half}"), with(&|t| cut_duration(t, half))));
        }
    }
    for key in ["fault", "attackers", "workload"] {
        let len = table.get(key).and_then(toml::Value::as_array).map_or(0, Vec::len);
        for i in (0..len).rev() {
            out.push((
                format!("drop {key}[{i}]"),
                with(&|t| {
                    let a = t.get_mut(key)?.as_array_mut()?;
                    a.remove(i);
                    if a.is_empty() {
                        t.remove(key);
                    }
                    Some(())
                }),
            ));
        }
    }
    for key in ["peers", "attackers"] {
        let len = table.get(key).and_then(toml::Value::as_array).map_or(0, Vec::len);
        for i in 0..len {
            let n = table[key][i]
                .get("count")
                .and_then(toml::Value::as_integer)
                .unwrap_or(0);
            for (what, m) in [("halve", n / 2), ("trim", n - n / 4)] {
                if m >= 1 && m < n {
                    out.push((
                        format!("{what} {key}[{i}].count {n} → {m}"),
                        with(&|t| set_in_entry(t, key, i, "count", toml::Value::Integer(m))),
                    ));
                }
            }
        }
    }
    let len = table
        .get("workload")
        .and_then(toml::Value::as_array)
        .map_or(0, Vec::len);
    for i in 0..len {
        let Some(rate) = table["workload"][i].get("rate").and_then(toml::Value::as_str) else {
            continue;
        };
        let Ok(r) = rate.parse::<Rate>() else {
            continue;
        };
        // Below two operations per run a rate is not worth halving: dropping the workload is
        // the cut that matters then.
        let secs = duration_of(table).map_or(0.0, |d| d.as_secs_f64());
        if r.is_zero() || r.per_sec_f64() * secs < 2.0 {
            continue;
        }
        let half = Rate::new(
            r.events(),
            Duration::from_micros(r.per().as_micros().saturating_mul(2)),
        );
        out.push((
            format!("halve workload[{i}].rate {r} → {half}"),
            with(&|t| set_in_entry(t, "workload", i, "rate", half.to_string().into())),
        ));
    }
    out.into_iter().filter_map(|(d, t)| t.map(|t| (d, t))).collect()
}

/// Sets the duration to `end` and drops what would now start after the run (workloads, faults,
/// attackers starting at or after `end`), and stops or heals scheduled after it.
fn cut_duration(t: &mut toml::Table, end: Duration) -> Option<()> {
    t.insert("duration".into(), end.to_string().into());
    let late = |v: &toml::Value, key: &str| {
        v.get(key)
            .and_then(toml::Value::as_str)
            .and_then(|s| s.parse::<Duration>().ok())
            .is_some_and(|at| at >= end)
    };
    for (array, start) in [("workload", "start"), ("fault", "at"), ("attackers", "start")] {
        let Some(a) = t.get_mut(array).and_then(toml::Value::as_array_mut) else {
            continue;
        };
        a.retain(|v| !late(v, start) && !late(v, "until"));
        for v in a.iter_mut() {
            for key in ["stop", "heal"] {
                if late(v, key) {
                    v.as_table_mut()?.remove(key);
                }
            }
        }
        if a.is_empty() {
            t.remove(array);
        }
    }
    Some(())
}

fn set_in_entry(t: &mut toml::Table, array: &str, i: usize, key: &str, v: toml::Value) -> Option<()> {
    let entry = t.get_mut(array)?.as_array_mut()?.get_mut(i)?.as_table_mut()?;
    entry.insert(key.into(), v);
    Some(())
}

/// Whether `table` (with `base`'s `[repro]` context) still fails `invariant`; its failure if so.
fn still_fails(base: &Repro, table: &toml::Table, invariant: &str) -> Option<Failure> {
    let candidate = Repro {
        table: table.clone(),
        ..base.clone()
    };
    let scenario = candidate.scenario().ok()?;
    let plan = plan_of(&scenario, &candidate.path).ok()?;
    // Violations stop the run at once; a failed check needs the whole run.
    let verdict = run_plan(plan, !invariant.starts_with("check:"), None).ok()?;
    verdict.failure(invariant).cloned()
}

/// Shrinks `repro`, trying at most `max_runs` candidates; `log` hears every kept cut.
pub fn shrink(repro: &Repro, max_runs: usize, log: &mut dyn FnMut(&str)) -> Result<Shrunk, String> {
    let invariant = repro.info.invariant.clone();
    // A plan that cannot expand (a file not allowed, say) is said as such, not as "no failure".
    repro.plan().map_err(|e| e.to_string())?;
    let mut failure = still_fails(repro, &repro.table, &invariant).ok_or_else(|| {
        format!(
            "{}: {invariant} does not fail any more; nothing to shrink",
            repro.path.display()
        )
    })?;
    let mut table = repro.table.clone();
    let before = size_of(&table, &failure);
    let mut runs = 1;
    let mut kept = Vec::new();
    'search: loop {
        for (what, cand) in candidates(&table, &failure) {
            if runs >= max_runs {
                break 'search;
            }
            runs += 1;
            if let Some(f) = still_fails(repro, &cand, &invariant) {
                log(&format!("kept: {what} (fails at event {})", f.event_index));
                kept.push(what);
                table = cand;
                failure = f;
                continue 'search;
            }
        }
        break;
    }
    let after = size_of(&table, &failure);
    let mut info = repro.info.clone();
    info.event_index = failure.event_index;
    info.t_us = failure.t_us;
    info.node = failure.node;
    info.detail = failure.detail.clone();
    let mut path = repro.path.clone();
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    path.set_file_name(format!("{}.min.toml", stem.trim_end_matches(".min")));
    Ok(Shrunk {
        repro: Repro {
            table,
            info,
            path,
            allow_files: repro.allow_files.clone(),
        },
        before,
        after,
        runs,
        kept,
    })
}

/// `peerlab shrink`.
pub fn shrink_command(args: &ShrinkArgs) -> u8 {
    let mut out = std::io::stdout();
    let allowed = |r: Repro| Repro {
        allow_files: args.allow_files.clone(),
        ..r
    };
    let repro = match Repro::read(&args.repro).and_then(|r| allowed(r).scenario_checked()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_BAD_INPUT;
        }
    };
    let name = repro
        .table
        .get("name")
        .and_then(|v| v.as_str())
        .unwrap_or("?")
        .to_string();
    let _ = writeln!(
        out,
        "{}",
        super::version_line(&escape(&name), repro.seed().unwrap_or(0))
    );
    let _ = writeln!(
        out,
        "shrinking {} ({})",
        escape(&args.repro.display().to_string()),
        escape(&repro.info.invariant)
    );
    let mut log = |s: &str| {
        let _ = writeln!(std::io::stdout(), "  {s}");
    };
    let mut shrunk = match shrink(&repro, args.max_runs, &mut log) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    if let Some(p) = &args.out {
        shrunk.repro.path = p.clone();
    }
    if let Err(e) = shrunk.repro.write() {
        eprintln!("error: cannot write {}: {e}", shrunk.repro.path.display());
        return EXIT_BAD_INPUT;
    }
    let pct = |a: u64, b: u64| {
        if a == 0 {
            0.0
        } else {
            100.0 * (a.saturating_sub(b)) as f64 / a as f64
        }
    };
    let _ = writeln!(out, "before: {}", shrunk.before);
    let _ = writeln!(out, "after:  {}", shrunk.after);
    let _ = writeln!(
        out,
        "shrank by {:.1}% of peers and {:.1}% of events in {} runs ({} cuts kept): {}",
        pct(shrunk.before.peers, shrunk.after.peers),
        pct(shrunk.before.events, shrunk.after.events),
        shrunk.runs,
        shrunk.kept.len(),
        shrunk.repro.path.display()
    );
    let _ = writeln!(
        out,
        "replay: {}",
        crate::shell::peerlab_command(&["replay".to_string(), shrunk.repro.path.display().to_string()])
    );
    EXIT_FAILED
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = r#"
name = "t"
seed = 1
duration = "10m"
[[peers]]
name = "p"
count = 40
[[attackers]]
count = 4
behaviour = "drop"
[[workload]]
kind = "resolve"
rate = "10/s"
[[fault]]
kind = "crash"
at = "1m"
count = 2
"#;

    fn failure(inv: &str) -> Failure {
        Failure {
            invariant: inv.into(),
            node: None,
            event_index: 100,
            t_us: 90_500_000,
            detail: String::new(),
        }
    }

    #[test]
    fn candidates_cut_every_dimension() {
        let t: toml::Table = toml::from_str(T).unwrap();
        let c = candidates(&t, &failure("x"));
        let names: Vec<&str> = c.iter().map(|(d, _)| d.as_str()).collect();
        assert_eq!(names[0], "duration 10m → 91s");
        assert!(names.contains(&"duration 10m → 5m"));
        assert!(names.contains(&"drop fault[0]"));
        assert!(names.contains(&"drop attackers[0]"));
        assert!(names.contains(&"drop workload[0]"));
        let (_, cut) = c.iter().find(|(d, _)| d == "duration 10m → 91s").unwrap();
        assert_eq!(cut["duration"].as_str(), Some("91s"));
        assert!(cut.get("fault").is_some(), "the crash at 1m stays");
        let (_, cut) = c.iter().find(|(d, _)| d == "duration 10m → 5m").unwrap();
        assert_eq!(cut["fault"].as_array().unwrap().len(), 1);
        assert!(names.contains(&"halve peers[0].count 40 → 20"));
        assert!(names.contains(&"halve attackers[0].count 4 → 2"));
        assert!(names.contains(&"halve workload[0].rate 10/s → 5/s"));
        let (_, dropped) = c.iter().find(|(d, _)| d == "drop fault[0]").unwrap();
        assert!(dropped.get("fault").is_none());
        let size = size_of(&t, &failure("x"));
        assert_eq!(
            (size.peers, size.attackers, size.faults, size.workloads),
            (40, 4, 1, 1)
        );
        // Attackers given as a fraction of the honest peers count too, and ranges by their low end.
        let both = T.replace("count = 40", "count = \"40..60\"")
            + "[[attackers]]\nfraction = \"10%\"\nbehaviour = \"poison\"\n";
        let size = size_of(&toml::from_str(&both).unwrap(), &failure("x"));
        assert_eq!((size.peers, size.attackers), (40, 8));
        // A failed check keeps its duration (it is judged at the end).
        let c = candidates(&t, &failure("check:max_failed_ratio.resolve"));
        assert!(!c.iter().any(|(d, _)| d.ends_with("91s")));
    }
}
