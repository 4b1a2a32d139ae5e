//! A scenario with every value made concrete for one seed: what the world runs (docs/architecture.md §1,
//! "RunConfig"). Built by `expand` from a validated scenario; written to `config.json`.

use crate::churn::SessionLength;
use crate::net::NetConfig;
use crate::pnrp::{Behaviour, OpKind};
use crate::popularity::Popularity;
use peerlab_engine::crypto::Scheme;
use peerlab_engine::pnrp::PnrpConfig;
use peerlab_engine::{Duration, Instant};
use std::sync::Arc;

/// Everything a run needs, concrete.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Scenario name.
    pub name: String,
    /// Run seed.
    pub seed: u64,
    /// Simulated time to run.
    pub duration: Duration,
    /// Network model parameters.
    pub net: NetConfig,
    /// PNRP constants and knobs.
    pub pnrp: Arc<PnrpConfig>,
    /// Signature scheme of every identity.
    pub scheme: Scheme,
    /// Round-trip every message through the wire codec.
    pub wire_bytes: bool,
    /// How many seed servers each cloud has (see [`Plan::seed_counts`]).
    pub seed_servers: u32,
    /// Cloud names, in order of first appearance among the groups (MS-PNRP §1.3.3).
    pub clouds: Vec<String>,
    /// Peer groups, in file order.
    pub groups: Vec<GroupPlan>,
    /// Operation generators.
    pub workloads: Vec<WorkloadPlan>,
    /// Faults.
    pub faults: Vec<FaultPlan>,
    /// Attacker groups.
    pub attackers: Vec<AttackerPlan>,
    /// Pass/fail rules.
    pub checks: ChecksPlan,
    /// Period of world samples.
    pub sample_every: Duration,
    /// Operations completed before this are left out of the headline figures (`[output] warmup`).
    pub warmup: Duration,
    /// Write `records.jsonl` (`[output] records`).
    pub records: bool,
    /// Write every datagram to `trace.jsonl` (`[output] trace`).
    pub trace: bool,
    /// Peer Graphing's part (`[graphing]`), in graphing scenarios.
    pub graphing: Option<Arc<crate::graphing::GraphingPlan>>,
    /// Subnets (`[[subnet]]`), by index; empty: every peer on the open Internet.
    pub subnets: Vec<crate::net::Subnet>,
}

/// One group of peers.
#[derive(Clone, Debug)]
pub struct GroupPlan {
    /// Group name.
    pub name: String,
    /// Join time of each member, in member order.
    pub joins: Vec<Instant>,
    /// Session length model; `None` = stays until the end.
    pub session: Option<SessionLength>,
    /// Leave gracefully (unregister, revoke) rather than crash.
    pub graceful_leave: bool,
    /// Come back with the same identity after this long.
    pub rejoin_after: Option<Duration>,
    /// Secured names per member.
    pub secured_names: u32,
    /// Unsecured names per member.
    pub unsecured_names: u32,
    /// Fraction (parts per million) of members that never register (resolve-only nodes).
    pub resolve_only_ppm: u32,
    /// Fraction (parts per million) of members whose secured names are delegated: named under the group's
    /// authority key and registered under the member's own key with a Certificate Chain (MS-PNRP §1.3.2).
    pub delegated_ppm: u32,
    /// This group hosts the seed servers.
    pub seed_group: bool,
    /// The group's cloud (index into `Plan::clouds`).
    pub cloud: u16,
    /// Friendly name of every registration (MS-PNRP §3.2.4.1).
    pub friendly_name: Option<peerlab_engine::pnrp::FriendlyName>,
    /// ServiceLocationPrefix hint of every registration (MS-PNRP §3.2.4.1).
    pub service_location_prefix: Option<u64>,
    /// Bytes of the extended payload each member's names carry (MS-PNRP §2.2.3.3); `None` = no payload.
    pub payload_bytes: Option<u32>,
    /// The subnet its members sit on (index into `Plan::subnets`); `None` = the open Internet.
    pub subnet: Option<u32>,
    /// The protocols each member runs, bottom up (`[[peers]] stack`).
    pub stack: Vec<peerlab_engine::stack::ProtocolId>,
}

impl Plan {
    /// How many of each group's first members are seed servers.
    ///
    /// Each cloud gets its own `seed_servers` (MS-PNRP §1.3.3: a peer bootstraps only through
    /// members of its own cloud), taken in file order from the cloud's groups marked
    /// `seed_server`, or from all its groups when none is marked; fewer when the cloud has fewer
    /// such peers (validation refuses that for scenario files).
    pub fn seed_counts(&self) -> Vec<u32> {
        let mut counts = vec![0u32; self.groups.len()];
        for cloud in 0..self.clouds.len().max(1) as u16 {
            let in_cloud = |g: &&GroupPlan| g.cloud == cloud;
            let marked = self.groups.iter().filter(in_cloud).any(|g| g.seed_group);
            let mut left = self.seed_servers;
            for (i, g) in self.groups.iter().enumerate() {
                if g.cloud == cloud && (g.seed_group || !marked) && left > 0 {
                    counts[i] = left.min(g.joins.len() as u32);
                    left -= counts[i];
                }
            }
        }
        counts
    }
}

/// One operation generator.
#[derive(Clone, Debug)]
pub struct WorkloadPlan {
    /// What it does.
    pub kind: OpKind,
    /// Source groups (indices into `Plan::groups`).
    pub from: Vec<usize>,
    /// First operation not before.
    pub start: Instant,
    /// No operation after.
    pub stop: Instant,
    /// Mean operations per second across the source groups (Poisson arrivals).
    pub rate_per_s: f64,
    /// How targets are chosen.
    pub popularity: Popularity,
    /// Also target names whose owner is gone (counted apart).
    pub include_offline: bool,
    /// Per-operation deadline.
    pub timeout: Duration,
    /// Registrations: bytes of the extended payload each new name carries; `None` = no payload.
    pub payload_bytes: Option<u32>,
    /// Resolves: the final INQUIRE asks for the extended payload (X flag).
    pub want_payload: bool,
}

/// A fault and its time window.
#[derive(Clone, Debug)]
pub struct FaultPlan {
    /// What happens.
    pub kind: FaultKind,
    /// When it starts.
    pub at: Instant,
    /// When it heals (partitions, loss and latency windows); `None` = never.
    pub until: Option<Instant>,
    /// Label for reports.
    pub label: String,
}

/// Fault kinds.
#[derive(Clone, Debug)]
pub enum FaultKind {
    /// Split peers into sides: each entry is the side of every peer index (filled at run time for
    /// fractions); `one_way` blocks only side 0 → side 1.
    Partition {
        /// Either explicit groups per side, or fractions (ppm) per side.
        sides: PartitionSides,
        /// Only traffic from side 0 to side 1 is cut.
        one_way: bool,
    },
    /// Crash peers (optionally restarting them).
    Crash {
        /// How many peers.
        count: u32,
        /// Restrict to these groups (empty = all).
        groups: Vec<usize>,
        /// Restart with the same identity after this long.
        restart_after: Option<Duration>,
    },
    /// Give peers a new address.
    AddressChange {
        /// How many peers.
        count: u32,
        /// Restrict to these groups (empty = all).
        groups: Vec<usize>,
    },
    /// Extra loss everywhere in the window (ppm).
    Loss {
        /// Added loss probability, parts per million.
        loss_ppm: u32,
    },
    /// Extra latency everywhere in the window.
    Latency {
        /// Added one-way latency.
        add: Duration,
    },
}

/// How a partition's sides are defined.
#[derive(Clone, Debug)]
pub enum PartitionSides {
    /// Fractions of all peers (ppm), assigned by a seeded shuffle.
    Fractions(Vec<u32>),
    /// Named groups per side.
    Groups(Vec<Vec<usize>>),
}

/// A group of attackers.
#[derive(Clone, Debug)]
pub struct AttackerPlan {
    /// How many.
    pub count: u32,
    /// What they do.
    pub behaviour: Behaviour,
    /// When they start misbehaving; before that they act as honest peers.
    pub start: Instant,
    /// Join time of each attacker.
    pub joins: Vec<Instant>,
}

/// Pass/fail rules.
#[derive(Clone, Debug)]
pub struct ChecksPlan {
    /// Most failed operations allowed, as parts per million of those whose target was alive.
    pub max_failed_ppm: u32,
    /// An invariant violation fails the run.
    pub fail_on_violation: bool,
    /// After a fault heals, resolution must be back within this long.
    pub liveness_within: Duration,
    /// Least leaf-set correctness at the end (ppm), if required.
    pub min_leafset_correct_ppm: Option<u32>,
}
