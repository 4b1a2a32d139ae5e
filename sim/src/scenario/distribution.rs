//! Peer Distribution (BranchCache) scenarios: `[distribution]`, `[[branch]]`, and the
//! distribution forms of `[[workload]]` (`kind = "fetch"`) and `[[attackers]]`
//! (`behaviour = "corrupt-blocks"`).
//!
//! [CHOICE] A scenario is a distribution scenario when it has a `[distribution]` table or a
//! `[[branch]]` table; it then may not have `[pnrp]`, `[[peers]]`, `[[fault]]` or `[network]`
//! (the network is the branches' LANs and WANs plus the data centre's access link), and its
//! `[[workload]]` and `[[attackers]]` tables take the shapes below.

use super::activity::{Rejoin, Session};
use super::units::{Bandwidth, ByteSize, Ratio};
use super::value::de_fixed;
use super::Rate;
use peerlab_engine::dist::DistConfig;
use peerlab_engine::Duration;
use serde::{Deserialize, Serialize};

/// `[distribution]` keys the simulator takes for itself; the rest go to `DistConfig`.
pub(crate) const DIST_SIM_KEYS: [&str; 4] = ["mode", "content", "server", "wan_sharing"];

/// How a shared link (a WAN, the server's uplink) divides its rate (`[distribution] wan_sharing`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WanSharing {
    /// Equal shares between busy connections, each connection in order (TCP flows, default).
    #[default]
    Fair,
    /// One queue: each transfer waits for every earlier one (a single pipelined connection).
    Fifo,
}

/// Which BranchCache mode every client runs (`[distribution] mode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DistMode {
    /// Multicast discovery on the branch subnet; every client caches and serves (MS-CCRSO §5.1).
    #[default]
    Distributed,
    /// Clients use their branch's hosted cache (every branch needs `hosted_cache = true`).
    HostedCache,
    /// Baseline: no BranchCache, every client pulls over the WAN (engine mode `local`).
    None,
}

/// One piece of content the origin publishes (`[[distribution.content]]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Content {
    /// Unique name, used by `[[workload]] content` and `[[attackers]] content`.
    pub name: String,
    /// Size of the content.
    #[serde(deserialize_with = "de_fixed")]
    pub size: ByteSize,
    /// Relative popularity when a fetch names no content (default 1; 0 = only when named).
    #[serde(default = "one_u64")]
    pub weight: u64,
}

fn one_u64() -> u64 {
    1
}

/// The data centre's content server (`[distribution.server]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerLink {
    /// Upload speed of the server's access link (default 1Gbps).
    #[serde(deserialize_with = "de_fixed")]
    pub up: Bandwidth,
    /// Download speed of the server's access link (default 1Gbps).
    #[serde(deserialize_with = "de_fixed")]
    pub down: Bandwidth,
}

impl Default for ServerLink {
    fn default() -> Self {
        ServerLink {
            up: Bandwidth(1_000_000_000),
            down: Bandwidth(1_000_000_000),
        }
    }
}

/// `[distribution]`: simulator-level keys plus every `DistConfig` field.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Distribution {
    /// Client mode (default distributed).
    pub mode: DistMode,
    /// What the origin publishes.
    pub content: Vec<Content>,
    /// The origin's access link.
    pub server: ServerLink,
    /// How shared links divide their rate.
    pub wan_sharing: WanSharing,
    /// Every other key of the table (the simulator defaults `data_mode` to `modeled`).
    pub config: DistConfig,
    /// The branch offices.
    pub branches: Vec<Branch>,
    /// Fetch generators.
    pub fetches: Vec<FetchWorkload>,
    /// Corrupt-block attackers.
    pub attackers: Vec<DistAttackers>,
}

impl Distribution {
    /// The simulator's `DistConfig` defaults: the engine's, with modeled block data (hash tokens,
    /// \[SIM\]) and a 24 h origin timer. \[CHOICE\] The engine's origin timer bounds a whole
    /// request, while a real HTTP client times out only when bytes stop flowing; on a WAN shared
    /// by a flash crowd a healthy 4 MB range can take longer than the engine's 600 s.
    pub fn default_config() -> DistConfig {
        let mut c = DistConfig::default();
        c.data_mode = peerlab_engine::dist::DataMode::Modeled;
        c.origin_timer = Duration::from_secs(24 * 3_600);
        c
    }
}

/// A LAN: latency between two machines of the branch and each machine's access link.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Lan {
    /// One-way latency inside the branch (default 1ms).
    #[serde(deserialize_with = "de_fixed")]
    pub latency: Duration,
    /// Each machine's link speed, both directions (default 100Mbps).
    #[serde(deserialize_with = "de_fixed")]
    pub bandwidth: Bandwidth,
}

impl Default for Lan {
    fn default() -> Self {
        Lan {
            latency: Duration::from_millis(1),
            bandwidth: Bandwidth(100_000_000),
        }
    }
}

/// The branch's WAN link to the data centre, shared by all its machines.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wan {
    /// Branch → data centre speed.
    #[serde(deserialize_with = "de_fixed")]
    pub up: Bandwidth,
    /// Data centre → branch speed.
    #[serde(deserialize_with = "de_fixed")]
    pub down: Bandwidth,
    /// One-way latency between the branch and the data centre (default 40ms).
    #[serde(default = "wan_latency", deserialize_with = "de_fixed")]
    pub latency: Duration,
}

fn wan_latency() -> Duration {
    Duration::from_millis(40)
}

/// `[[branch]]`: a branch office (one subnet) behind its own WAN link.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Branch {
    /// Unique name.
    pub name: String,
    /// Client machines (>= 1).
    #[serde(deserialize_with = "de_fixed")]
    pub clients: u64,
    /// The branch LAN.
    #[serde(default)]
    pub lan: Lan,
    /// The WAN link.
    pub wan: Wan,
    /// Whether the branch runs a hosted cache server (default false).
    #[serde(default)]
    pub hosted_cache: bool,
    /// Client churn: how long each client stays on; absent means for ever.
    #[serde(default)]
    pub session: Option<Session>,
    /// Come back after a delay (with an empty cache) when a session ends.
    #[serde(default)]
    pub rejoin: Option<Rejoin>,
}

/// When fetches happen (`[[workload]] pattern`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FetchPattern {
    /// Each client (of `fraction` of the branch) fetches once at a uniform time in the window.
    FlashCrowd,
    /// Fetches arrive as a Poisson process at `rate`, each by a random online client.
    Trickle,
}

/// `[[workload]]` with `kind = "fetch"`: clients open content.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetchWorkload {
    /// Must be `fetch`.
    pub kind: FetchKind,
    /// Flash crowd or steady trickle.
    pub pattern: FetchPattern,
    /// Branch whose clients fetch, or "all" (default).
    #[serde(default = "all")]
    pub branch: String,
    /// Content to fetch; absent means drawn by `weight`.
    #[serde(default)]
    pub content: Option<String>,
    /// When it begins (default 0).
    #[serde(default, deserialize_with = "de_fixed")]
    pub start: Duration,
    /// Flash crowd: the window the fetches fall in.
    #[serde(default)]
    pub window: Option<Duration>,
    /// Flash crowd: fraction of the clients taking part (default 100%).
    #[serde(default = "all_ratio", deserialize_with = "de_fixed")]
    pub fraction: Ratio,
    /// Trickle: fetches per unit of time, across the branch.
    #[serde(default)]
    pub rate: Option<Rate>,
    /// Trickle: when it ends (default: end of run).
    #[serde(default)]
    pub stop: Option<Duration>,
}

fn all() -> String {
    "all".to_owned()
}

fn all_ratio() -> Ratio {
    Ratio::ONE
}

/// The only workload kind of a distribution scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FetchKind {
    /// Open content and read it all.
    Fetch,
}

/// The only attacker behaviour of a distribution scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DistBehaviour {
    /// Fetch content honestly, then serve every block corrupted (scenarios/README.md `[[attackers]]`).
    CorruptBlocks,
}

/// `[[attackers]]` in a distribution scenario: extra machines in a branch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistAttackers {
    /// What they do.
    pub behaviour: DistBehaviour,
    /// Branch they sit in.
    pub branch: String,
    /// How many (default 1).
    #[serde(default = "one_u64")]
    pub count: u64,
    /// Content they fetch to get into server lists (default: the first content).
    #[serde(default)]
    pub content: Option<String>,
    /// When they fetch it (default 0).
    #[serde(default, deserialize_with = "de_fixed")]
    pub start: Duration,
}

impl FetchWorkload {
    /// Fetches per second of a trickle (0 for a flash crowd).
    pub fn rate_per_sec(&self) -> f64 {
        self.rate.map_or(0.0, Rate::per_sec_f64)
    }
}
