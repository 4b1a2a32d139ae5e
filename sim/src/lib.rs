//! peerlab's simulator: scenario files, the deterministic event loop, network and churn models,
//! workloads, attackers, the oracle and its checkers, and the `peerlab` command line.
pub mod addr;
pub mod churn;
pub mod cli;
pub mod dist_world;
pub mod expand;
pub mod fingerprint;
mod hint;
pub mod key_cache;
pub mod live;
pub mod net;
pub mod oracle;
pub mod pcap;
pub mod plan;
pub mod pnrp;
pub mod popularity;
pub mod progress;
pub mod protocols;
pub mod queue;
pub mod repro;
pub mod run;
pub mod scenario;
pub mod shell;
pub mod sweep;
pub mod trace_file;
pub mod wall;
pub mod world;
