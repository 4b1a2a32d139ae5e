//! The `peerlab` binary: parses the command line and maps results to exit codes
//! (0 passed, 1 completed but failed its checks, 2 bad input or I/O error).

use clap::Parser;
use peerlab_sim::cli::{Cli, Command};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Run(args) => peerlab_sim::run::run_command(&args),
        Command::Check { files } => peerlab_sim::run::check_command(&files),
        Command::Report { run_dir } => peerlab_sim::run::report_command(&run_dir),
        Command::Compare { runs, out } => peerlab_sim::run::compare_command(&runs, out.as_deref()),
    };
    ExitCode::from(code)
}
