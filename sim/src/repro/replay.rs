//! `peerlab replay REPRO`: the bit-identical re-run of a repro file that stops at its failure,
//! prints the message trace of the peers or IDs involved and their state at the stop, and writes
//! the trace as JSON lines (and one resolve as an SVG sequence diagram).

use super::msc::{self, MscSpec};
use super::repro_file::Repro;
use super::trace::{self, TraceFilter, TraceObserver, Until};
use super::{run_plan, version_line, Verdict};
use crate::run::{EXIT_BAD_INPUT, EXIT_FAILED, EXIT_PASSED};
use crate::scenario::escape;
use std::io::Write;
use std::path::{Path, PathBuf};

/// `peerlab replay` options.
#[derive(Debug, clap::Args, Clone)]
pub struct ReplayArgs {
    /// A repro file written by `peerlab explore` or `peerlab shrink`.
    pub repro: PathBuf,
    /// Stop after this event index (`12345`) or at this simulated time (`3m20s`); default: the
    /// failing event.
    #[arg(long, value_name = "EVENT|TIME")]
    pub until: Option<Until>,
    /// Peers to trace, e.g. `node=17,42` (default: the failing peer).
    #[arg(long, value_name = "node=I,J,...")]
    pub trace: Option<String>,
    /// Trace every message naming a PNRP ID with this hex prefix (repeatable; ≥ 4 digits).
    #[arg(long = "trace-id", value_name = "PNRP_ID")]
    pub trace_id: Vec<String>,
    /// Draw the K-th resolve started by peer PEER as an SVG sequence diagram, e.g. `1/17`.
    #[arg(long, value_name = "K/PEER")]
    pub msc: Option<MscSpec>,
    /// Where the trace (and diagram) go (default: runs/replay/<repro file stem>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Trace lines printed (the last ones; the JSON file has all).
    #[arg(long, default_value_t = 60)]
    pub tail: usize,
    /// Let the scenario read files (latency matrix, session traces) in this directory too
    /// (repeatable); a repro file's `base_dir` is used only when it lies inside one of them.
    #[arg(long = "allow-files", value_name = "DIR")]
    pub allow_files: Vec<PathBuf>,
}

/// The peers in a `--trace` value: `node=17,42` or `17,42`.
pub fn parse_nodes(s: &str) -> Result<Vec<u32>, String> {
    let list = s
        .trim()
        .strip_prefix("node=")
        .or_else(|| s.trim().strip_prefix("nodes="))
        .unwrap_or(s.trim());
    list.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            p.trim()
                .parse::<u32>()
                .map_err(|_| format!("`{s}` is not a peer list; write `node=17,42`"))
        })
        .collect()
}

/// A `--trace-id` value as a lowercase hex prefix.
pub fn parse_id_prefix(s: &str) -> Result<String, String> {
    let p = s.trim().trim_start_matches("0x").to_ascii_lowercase();
    if p.len() < 4 || p.len() > 64 || !p.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!(
            "`{s}` is not a PNRP ID: write 4 to 64 hex digits (a prefix is enough)"
        ));
    }
    Ok(p)
}

/// What a replay produced.
pub struct Replayed {
    /// The run, stopped where asked.
    pub verdict: Verdict,
    /// The trace collected.
    pub trace: trace::TraceData,
    /// Whether the repro's failure happened again at the same event.
    pub reproduced: bool,
}

/// Replays `repro` with `filter`, stopping at `until` (default: the failing event).
pub fn replay(repro: &Repro, filter: TraceFilter, until: Option<Until>) -> Result<Replayed, String> {
    let plan = repro.plan().map_err(|e| e.to_string())?;
    let info = &repro.info;
    // A failed check is judged at the end of the run: replay the whole run for it.
    let until = until.unwrap_or(if info.invariant.starts_with("check:") {
        Until::End
    } else {
        Until::Event(info.event_index)
    });
    let (obs, data) = TraceObserver::new(filter, until);
    let verdict = run_plan(plan, false, Some(Box::new(obs)))?;
    let trace = std::mem::take(&mut *data.borrow_mut());
    let reproduced = verdict.failures.iter().any(|f| {
        f.invariant == info.invariant
            && (info.invariant.starts_with("check:") || f.event_index == info.event_index)
    });
    Ok(Replayed {
        verdict,
        trace,
        reproduced,
    })
}

/// `peerlab replay`.
pub fn replay_command(args: &ReplayArgs) -> u8 {
    let mut out = std::io::stdout();
    let repro = match Repro::read(&args.repro) {
        Ok(r) => Repro {
            allow_files: args.allow_files.clone(),
            ..r
        },
        Err(e) => {
            eprintln!("{e}");
            return EXIT_BAD_INPUT;
        }
    };
    let mut filter = TraceFilter::default();
    match args.trace.as_deref().map(parse_nodes).transpose() {
        Ok(nodes) => filter.nodes.extend(nodes.unwrap_or_default()),
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    }
    for id in &args.trace_id {
        match parse_id_prefix(id) {
            Ok(p) => filter.id_prefixes.push(p),
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_BAD_INPUT;
            }
        }
    }
    if filter.nodes.is_empty() && filter.id_prefixes.is_empty() {
        filter.nodes.extend(repro.info.node);
    }
    if filter.nodes.is_empty() && filter.id_prefixes.is_empty() {
        println!("the failure concerns no one peer: trace some with --trace node=I,J or --trace-id ID");
    }
    filter.msc_peer = args.msc.map(|m| m.peer);
    let name = repro
        .table
        .get("name")
        .and_then(|v| v.as_str())
        .unwrap_or("?")
        .to_string();
    // Everything from the file is escaped: a repro file is untrusted input.
    let _ = writeln!(out, "{}", version_line(&escape(&name), repro.seed().unwrap_or(0)));
    let _ = writeln!(
        out,
        "replaying {}: {} at event {} ({}){}",
        escape(&args.repro.display().to_string()),
        escape(&repro.info.invariant),
        repro.info.event_index,
        super::fmt_time(repro.info.t_us),
        repro.info.node.map(|n| format!(", peer {n}")).unwrap_or_default()
    );
    let r = match replay(&repro, filter.clone(), args.until) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_BAD_INPUT;
        }
    };
    let dir = args.out.clone().unwrap_or_else(|| {
        let stem = args
            .repro
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        PathBuf::from("runs").join("replay").join(stem)
    });
    if let Err(e) = write_outputs(&dir, &r, args.msc, &mut out) {
        eprintln!("error: cannot write in {}: {e}", dir.display());
        return EXIT_BAD_INPUT;
    }
    let lines = &r.trace.lines;
    let skip = lines.len().saturating_sub(args.tail);
    let _ = writeln!(
        out,
        "\ntrace of {}: {} messages{}",
        trace_subject(&filter.nodes, &filter.id_prefixes),
        lines.len(),
        if skip > 0 {
            format!(", last {}", args.tail)
        } else {
            String::new()
        }
    );
    for l in &lines[skip..] {
        let _ = writeln!(out, "{}", trace::render_line(l));
    }
    let world = &r.verdict.world;
    let (event, now) = r.trace.stopped_at.unwrap_or((world.events(), world.now()));
    let _ = writeln!(
        out,
        "\nstate at event {event} ({}):",
        super::fmt_time(now.as_micros())
    );
    for n in &filter.nodes {
        let _ = write!(out, "{}", trace::dump_node(world, *n));
    }
    for f in &r.verdict.failures {
        let _ = writeln!(
            out,
            "failure: {} at event {} ({}): {}",
            escape(&f.invariant),
            f.event_index,
            super::fmt_time(f.t_us),
            escape(&f.detail)
        );
    }
    if r.reproduced {
        let _ = writeln!(
            out,
            "reproduced: {} at event {}",
            escape(&repro.info.invariant),
            repro.info.event_index
        );
        EXIT_FAILED
    } else if args.until.is_some() {
        let _ = writeln!(
            out,
            "stopped as asked; {} did not happen by then",
            escape(&repro.info.invariant)
        );
        EXIT_PASSED
    } else {
        eprintln!(
            "NOT reproduced: {} did not happen at event {} (scenario schema or engine changed since {}?)",
            escape(&repro.info.invariant),
            repro.info.event_index,
            escape(&repro.info.peerlab_version)
        );
        EXIT_PASSED
    }
}

fn write_outputs(
    dir: &Path,
    r: &Replayed,
    msc: Option<MscSpec>,
    out: &mut impl Write,
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join("trace.jsonl");
    peerlab_reports::output::write_file(&path, trace::to_jsonl(&r.trace.lines))?;
    writeln!(out, "trace: {}", path.display())?;
    if let Some(spec) = msc {
        match msc::select_resolve(&r.trace.msc, spec) {
            Some(lines) => {
                let title = format!("resolve {} of peer {}", spec.k, spec.peer);
                let svg = dir.join(format!("msc-{}-{}.svg", spec.k, spec.peer));
                peerlab_reports::output::write_file(&svg, msc::render_svg(&lines, spec.peer, &title))?;
                writeln!(
                    out,
                    "sequence diagram ({} messages): {}",
                    lines.len(),
                    svg.display()
                )?;
            }
            None => writeln!(
                out,
                "peer {} started fewer than {} resolves before the stop",
                spec.peer, spec.k
            )?,
        }
    }
    Ok(())
}

/// What a trace follows, in words: `peer 0`, `peers 3, 17`, `IDs starting ab12`, or both.
fn trace_subject(nodes: &std::collections::BTreeSet<u32>, id_prefixes: &[String]) -> String {
    let list = |v: Vec<String>| v.join(", ");
    let mut parts = Vec::new();
    match nodes.len() {
        0 => {}
        1 => parts.push(format!(
            "peer {}",
            list(nodes.iter().map(u32::to_string).collect())
        )),
        _ => parts.push(format!(
            "peers {}",
            list(nodes.iter().map(u32::to_string).collect())
        )),
    }
    if !id_prefixes.is_empty() {
        let ids: Vec<String> = id_prefixes.iter().map(|p| escape(p)).collect();
        parts.push(format!("messages naming IDs starting {}", list(ids)));
    }
    if parts.is_empty() {
        return "no peer".into();
    }
    parts.join(" and ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trace_subject_reads_as_words() {
        let one: std::collections::BTreeSet<u32> = [0].into();
        assert_eq!(trace_subject(&one, &[]), "peer 0");
        let two: std::collections::BTreeSet<u32> = [3, 17].into();
        assert_eq!(
            trace_subject(&two, &["ab12".into()]),
            "peers 3, 17 and messages naming IDs starting ab12"
        );
    }

    #[test]
    fn trace_arguments_parse_or_explain() {
        assert_eq!(parse_nodes("node=17,42"), Ok(vec![17, 42]));
        assert_eq!(parse_nodes("3"), Ok(vec![3]));
        assert!(parse_nodes("node=x").is_err());
        assert_eq!(parse_id_prefix("0xABCD12"), Ok("abcd12".into()));
        assert!(parse_id_prefix("ab").is_err());
        assert!(parse_id_prefix("wxyz").is_err());
    }
}
