//! The graphing part of a run's plan: the `[graphing]` table with its ranges drawn and its group
//! names turned into indices (docs/architecture.md §1, "expand(seed)").

use crate::scenario::{GraphBehaviour, Graphing, RecordOp, Scenario};
use peerlab_engine::{Duration, Instant, NodeRng};

/// One record workload, concrete.
#[derive(Clone, Debug)]
pub struct RecordWorkloadPlan {
    /// Publish, update or delete.
    pub kind: RecordOp,
    /// Groups whose live, synchronized members act.
    pub from: Vec<usize>,
    /// First operation.
    pub start: Instant,
    /// No operation after this.
    pub stop: Instant,
    /// Operations per second across the graph (exponential gaps).
    pub rate_per_s: f64,
    /// Payload bytes of each published or updated record.
    pub payload_bytes: u32,
    /// Lifetime of each published or updated record.
    pub lifetime: Duration,
}

/// Misbehaving members, concrete.
#[derive(Clone, Debug)]
pub struct GraphAttackerPlan {
    /// Their group.
    pub group: usize,
    /// How many of its last members.
    pub count: u32,
    /// What they do.
    pub behaviour: GraphBehaviour,
    /// When they start.
    pub start: Instant,
}

/// Everything the graphing plug-in needs beyond the world's plan.
#[derive(Clone, Debug)]
pub struct GraphingPlan {
    /// The `[graphing]` table (knobs, graph id, skew, settle).
    pub table: Graphing,
    /// The group whose first member creates the graph.
    pub creator_group: usize,
    /// Record workloads.
    pub workloads: Vec<RecordWorkloadPlan>,
    /// Attackers.
    pub attackers: Vec<GraphAttackerPlan>,
}

impl GraphingPlan {
    /// Expands `g` of scenario `s` (validated: every group name exists) with draws from `rng`.
    pub fn expand(s: &Scenario, g: &Graphing, rng: &mut NodeRng) -> Result<GraphingPlan, String> {
        let index = |name: &str| {
            s.peers
                .iter()
                .position(|p| p.name == name)
                .ok_or_else(|| format!("[graphing]: no peer group `{}`", crate::scenario::excerpt(name)))
        };
        let all: Vec<usize> = (0..s.peers.len()).collect();
        let end = Instant::ZERO + s.duration;
        let creator_group = match &g.creator {
            Some(name) => index(name)?,
            None => 0,
        };
        let mut workloads = Vec::new();
        for w in &g.workload {
            workloads.push(RecordWorkloadPlan {
                kind: w.kind,
                from: if w.from == "all" {
                    all.clone()
                } else {
                    vec![index(&w.from)?]
                },
                start: Instant::ZERO + w.start.sample(rng),
                stop: w.stop.as_ref().map_or(end, |v| Instant::ZERO + v.sample(rng)),
                rate_per_s: w.rate.sample(rng).per_sec_f64(),
                payload_bytes: w.payload.sample(rng).bytes() as u32,
                lifetime: w.lifetime.sample(rng),
            });
        }
        let mut attackers = Vec::new();
        for a in &g.attackers {
            attackers.push(GraphAttackerPlan {
                group: index(&a.group)?,
                count: a.count.sample(rng) as u32,
                behaviour: a.behaviour,
                start: Instant::ZERO + a.start.sample(rng),
            });
        }
        Ok(GraphingPlan {
            table: g.clone(),
            creator_group,
            workloads,
            attackers,
        })
    }
}
