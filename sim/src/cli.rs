//! The `peerlab` command line: `run`, `check`, `report`, `compare`, the live `node`, `resolve` and
//! `status`, the DNS side `hostname` and `dns`, and the bug-finding `explore`, `replay` and `shrink`.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// peerlab: the Windows peer-to-peer stack, simulated deterministically.
#[derive(Debug, Parser)]
#[command(name = "peerlab", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario and write its records, summary and report.
    Run(RunArgs),
    /// Validate scenario files without running them.
    Check {
        /// Scenario files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Let the scenarios read files (latency matrix, session traces) in this directory too,
        /// besides their own directory tree (repeatable).
        #[arg(long = "allow-files", value_name = "DIR")]
        allow_files: Vec<PathBuf>,
    },
    /// Re-render a run directory's report from its records.
    Report {
        /// A run directory (holding records.jsonl and summary.json).
        run_dir: PathBuf,
        /// Also write every plot as a PNG beside the report.
        #[arg(long)]
        png: bool,
    },
    /// Overlay several runs in one report with a table of deltas.
    Compare {
        /// Run directories (at least two).
        #[arg(required = true, num_args = 2..)]
        runs: Vec<PathBuf>,
        /// Where to write the comparison (default: runs/compare).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Run a real PNRP peer on a UDP socket, with a local control interface.
    Node(crate::live::node_cmd::NodeArgs),
    /// Resolve a peer name through a running `peerlab node` and print the endpoints found.
    Resolve(crate::live::client::ResolveArgs),
    /// Show a running `peerlab node`'s cache, leaf sets and registrations.
    Status(crate::live::client::StatusArgs),
    /// Publish, list, read or delete records through a running `peerlab node --graph`.
    Graph(crate::live::graphing_client::GraphArgs),
    /// Print the host name (under pnrp.net) of a peer name, or the peer name of such a host name.
    Hostname(crate::dns::hostname_cmd::HostnameArgs),
    /// Answer DNS queries for pnrp.net host names by resolving them through a running `peerlab node`.
    Dns(crate::dns::dns_cmd::DnsArgs),
    /// Run many seeds in parallel and write a repro file for every invariant violation.
    Explore(crate::repro::explore::ExploreArgs),
    /// Re-run a repro file up to its failure with a message trace and the peers' state.
    Replay(crate::repro::replay::ReplayArgs),
    /// Make a repro file smaller while the same invariant still fails.
    Shrink(crate::repro::shrink::ShrinkArgs),
}

/// `peerlab run` options.
#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// Scenario file (TOML).
    pub file: PathBuf,
    /// Run seed (overrides the file's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Override a scenario value, e.g. `--set network.loss=1%` or `--set peers.0.count=500`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Output directory for this run (default: runs/<scenario>/<seed>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print only the final summary: the version line, then one line with the verdict, the
    /// fingerprint and the output directory (the whole table when a check fails).
    #[arg(long, short)]
    pub quiet: bool,
    /// Run twice and compare fingerprints; name the first diverging event when they differ.
    /// One run only: refused with `--seeds` or `--sweep`.
    #[arg(long)]
    pub check_determinism: bool,
    /// Stop the run after the first event that records an invariant violation.
    #[arg(long)]
    pub stop_on_violation: bool,
    /// Generate every RSA key afresh instead of reading the key store
    /// (`$XDG_CACHE_HOME/peerlab/keys`, else `~/.cache/peerlab/keys`); results are the same.
    #[arg(long)]
    pub no_key_cache: bool,
    /// Run every seed of an inclusive range in parallel, e.g. `--seeds 1..20`; reports means with
    /// 95% CIs. Refused together with `--seed`.
    #[arg(long, value_name = "A..B")]
    pub seeds: Option<crate::sweep::SeedRange>,
    /// Vary a scenario value, e.g. `--sweep network.loss=0%,1%,5%`; draws figure-vs-parameter plots.
    /// Repeat it for a grid: every combination of the values runs.
    #[arg(long, value_name = "KEY=V1,V2,...")]
    pub sweep: Vec<crate::sweep::Sweep>,
    /// Runs at once with --seeds/--sweep (default: one per core). Results do not depend on it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// Engine backend: the deterministic event loop, or turmoil over the live UDP driver (≤ 50 peers).
    #[arg(long, value_enum, default_value = "event-loop")]
    pub backend: crate::live::turmoil_backend::Backend,
    /// Write the simulated traffic to this pcap file (IPv6/UDP port 3540, simulated timestamps).
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<PathBuf>,
    /// Keep only datagrams sent by or to these peer indices in the pcap, e.g. `1,2,3`.
    #[arg(long, value_name = "I,J,...", value_delimiter = ',', requires = "pcap")]
    pub pcap_nodes: Vec<u32>,
    /// Let the scenario read files (latency matrix, session traces) in this directory too,
    /// besides its own directory tree (repeatable).
    #[arg(long = "allow-files", value_name = "DIR")]
    pub allow_files: Vec<PathBuf>,
    /// Run even when the estimated memory exceeds what this machine has available.
    #[arg(long)]
    pub force: bool,
}
