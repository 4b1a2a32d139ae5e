//! The run-record schema: one JSON object per line in `records.jsonl` (docs/architecture.md §6).
//!
//! Records hold only simulated quantities, so two runs of one scenario and seed write identical
//! files. Wall-clock figures live in `summary.json` alone.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of this schema, written in the `meta` record; bump it on incompatible changes.
pub const RECORD_SCHEMA_VERSION: u32 = 1;

/// One line of `records.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    /// First line: what ran.
    Meta(Meta),
    /// An operation (resolve, register, ...) completed.
    Op(OpRecord),
    /// A periodic sample of the whole world.
    Sample(Sample),
    /// A period worth shading in plots: a fault, a churn wave, an attack.
    Phase(Phase),
    /// An invariant was violated.
    Violation(Violation),
    /// One peer's traffic over the whole run, written at the end of the run (one per peer).
    PeerLoad(PeerLoad),
    /// A periodic sample of a Peer Graphing graph (its neighbor graph and databases).
    GraphSample(GraphSample),
    /// How one record version a graphing workload published spread, written at the end.
    GraphDelivery(GraphDelivery),
    /// Last line: how the run ended.
    End(End),
}

/// What ran: scenario, seed, versions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// Record schema version.
    pub schema: u32,
    /// Scenario name.
    pub scenario: String,
    /// Run seed.
    pub seed: u64,
    /// Simulated duration in microseconds.
    pub duration_us: u64,
    /// peerlab version.
    pub version: String,
    /// `[output] warmup`: operations completed before this (simulated microseconds) are left out
    /// of the headline figures; 0 in records written before the key existed.
    #[serde(default)]
    pub warmup_us: u64,
}

/// One completed operation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpRecord {
    /// Completion time (simulated microseconds).
    pub t_us: u64,
    /// Operation kind: `resolve`, `register`, ...
    pub kind: String,
    /// Node that ran it.
    pub node: u32,
    /// The peer owning the resolved name (resolves), so a failure can be traced from both ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<u32>,
    /// `ok`, or the failure cause (`not_found`, `timeout`, `wrong_endpoint`, `stale_endpoint`, ...).
    pub outcome: String,
    /// Whether the operation's target was alive when asked (resolves); false ones are counted apart.
    pub target_online: bool,
    /// Time from start to completion, microseconds.
    pub latency_us: u64,
    /// Useful hops (resolves), when meaningful.
    pub hops: Option<u32>,
    /// Messages the operation sent.
    pub messages: u32,
}

/// A periodic sample.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Sample time (simulated microseconds).
    pub t_us: u64,
    /// Peers alive.
    pub live_peers: u64,
    /// Events processed so far.
    pub events: u64,
    /// Messages sent so far, by message type (cumulative).
    pub messages: BTreeMap<String, u64>,
    /// Bytes sent so far, by message type (cumulative).
    pub bytes: BTreeMap<String, u64>,
    /// Mean cache entries per level over live peers (index = level).
    pub cache_levels: Vec<f64>,
    /// Fraction of publishers whose leaf sets equal the oracle's true neighbours.
    pub leafset_correct: f64,
    /// Operations that succeeded since the previous sample, by kind.
    pub ops_ok: BTreeMap<String, u64>,
    /// Operations that failed since the previous sample, by kind (targets alive when asked).
    pub ops_failed: BTreeMap<String, u64>,
}

/// A periodic sample of a graph (Peer Graphing runs; definitions in docs/graphing.md).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GraphSample {
    /// Sample time (simulated microseconds).
    pub t_us: u64,
    /// Live honest members in the graph.
    pub members: u64,
    /// Members per neighbor count (index = degree).
    pub degree_histogram: Vec<u64>,
    /// Connected components of the neighbor graph.
    pub components: u64,
    /// Longest shortest path in one component, hops.
    pub diameter: u32,
    /// Whether `diameter` is exact (else a lower bound).
    pub diameter_exact: bool,
    /// Mean shortest path, hops.
    pub mean_path: f64,
    /// Settled members whose databases were compared.
    pub compared: u64,
    /// Of those, members whose database differs from their component's most common one.
    pub diverged: u64,
    /// Mean records per member database (tombstones included).
    pub records_mean: f64,
    /// Largest minus smallest peer time across members, milliseconds.
    pub peer_time_spread_ms: f64,
    /// Mean live presence records per member database.
    pub presence_mean: f64,
    /// Mean live contact records per member database.
    pub contacts_mean: f64,
    /// Share of members whose signature is their component's lowest node id.
    pub signature_agreement: f64,
}

/// How one published record version spread (Peer Graphing runs).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GraphDelivery {
    /// Publication time (simulated microseconds).
    pub published_us: u64,
    /// Targets: members live and synchronized at publication, less those gone without it.
    pub targets: u32,
    /// Targets that received it.
    pub delivered: u32,
    /// Delay until half the targets held it, microseconds; absent when never reached.
    pub reach_50_us: Option<u64>,
    /// Delay until 90% of the targets held it.
    pub reach_90_us: Option<u64>,
    /// Delay until every target held it.
    pub reach_100_us: Option<u64>,
}

/// A shaded period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    /// `fault`, `churn` or `attack`.
    pub kind: String,
    /// Human label, e.g. `partition 40%/60%`.
    pub label: String,
    /// Start (simulated microseconds).
    pub start_us: u64,
    /// End (simulated microseconds); the run's end if it never ends.
    pub end_us: u64,
}

/// An invariant violation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    /// Run seed.
    pub seed: u64,
    /// Simulated time (microseconds).
    pub t_us: u64,
    /// Index of the event being processed.
    pub event_index: u64,
    /// Node involved.
    pub node: u32,
    /// Invariant name, e.g. `forged_cpa_accepted`.
    pub invariant: String,
    /// What was seen.
    pub detail: String,
}

/// The traffic of one peer identity over the run: every session (a peer that leaves and rejoins
/// keeps its identity) summed, counted by its own engine (docs/metrics.md, `load.*`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerLoad {
    /// The peer's index in the run.
    pub node: u32,
    /// Sessions the peer had (joins, rejoins and restarts).
    pub sessions: u32,
    /// Datagrams the peer sent (AUTHORITY fragments counted one by one).
    pub messages_sent: u64,
    /// Encoded bytes of those datagrams.
    pub bytes_sent: u64,
    /// Datagrams delivered to the peer, including ones it then dropped.
    pub messages_received: u64,
    /// Encoded bytes of those datagrams.
    pub bytes_received: u64,
}

/// How the run ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct End {
    /// Final simulated time (microseconds).
    pub t_us: u64,
    /// Events processed.
    pub events: u64,
    /// Fingerprint of every processed event (hex).
    pub fingerprint: String,
}
