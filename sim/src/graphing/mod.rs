//! Peer Graphing's plug-in into the generic world (docs/architecture.md §3b, docs/graphing.md):
//! members run real graph engines over the world's stream connections; the plug-in gives them
//! clocks and first contacts, drives record workloads and attackers, judges the databases against
//! the oracle (what was published, by whom, when) and measures flooding, synchronization and the
//! neighbor graph.

pub mod clock;
pub mod conflict;
pub mod convergence;
pub mod delivery;
mod plan;
pub mod topology;

pub use plan::{GraphAttackerPlan, GraphingPlan, RecordWorkloadPlan};
