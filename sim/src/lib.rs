//! peerlab's simulator: scenario files, the deterministic event loop, network and churn models,
//! workloads, attackers, the oracle and its checkers, and the `peerlab` command line.
pub mod churn;
pub mod net;
pub mod popularity;
pub mod queue;
pub mod scenario;
pub mod addr;
pub mod cli;
pub mod expand;
pub mod fingerprint;
pub mod oracle;
pub mod plan;
pub mod progress;
pub mod run;
pub mod sweep;
pub mod wall;
pub mod world;
pub mod live;
