//! peerlab's simulator: scenario files, the deterministic event loop, network and churn models,
//! workloads, attackers, the oracle and its checkers, and the `peerlab` command line.
