//! The `peerlab` binary: parses the command line and maps results to exit codes
//! (0 passed, 1 completed but failed its checks, 2 bad input or I/O error).

use clap::Parser;
use peerlab_sim::cli::{Cli, Command};
use std::process::ExitCode;

// mimalloc instead of the system allocator: a simulation allocates and frees millions of small
// messages and table entries per second, and glibc's malloc/free took ~10% of a large run's time.
// The allocator never affects results (nothing orders or hashes by address).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Run(args) => peerlab_sim::run::run_command(&args),
        Command::Check { files, allow_files } => peerlab_sim::run::check_command(&files, &allow_files),
        Command::Report { run_dir, png } => peerlab_sim::run::report_command(&run_dir, png),
        Command::Compare { runs, out } => peerlab_sim::run::compare_command(&runs, out.as_deref()),
        Command::Node(args) => peerlab_sim::live::node_cmd::node_command(&args),
        Command::Resolve(args) => peerlab_sim::live::client::resolve_command(&args),
        Command::Status(args) => peerlab_sim::live::client::status_command(&args),
        Command::Graph(args) => peerlab_sim::live::graphing_client::graph_command(&args),
        Command::Hostname(args) => peerlab_sim::dns::hostname_cmd::hostname_command(&args),
        Command::Dns(args) => peerlab_sim::dns::dns_cmd::dns_command(&args),
        Command::Explore(args) => peerlab_sim::repro::explore::explore_command(&args),
        Command::Replay(args) => peerlab_sim::repro::replay::replay_command(&args),
        Command::Shrink(args) => peerlab_sim::repro::shrink::shrink_command(&args),
    };
    ExitCode::from(code)
}
