//! Who takes part and what happens to them: `[[peers]]`, `[[workload]]`, `[[fault]]` and
//! `[[attackers]]` (docs/architecture.md §4: churn, workloads, faults, attackers).

use super::rate::Rate;
use super::schema::{scalar_or_table, Latency, LinkBandwidth, Loss, ScalarOrTable};
use super::units::{ByteSize, Ratio};
use super::value::Value;
use peerlab_engine::Duration;
use serde::de::value::MapAccessDeserializer;
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

// ------------------------------------------------------------------ [[peers]]

/// `[[peers]]`: a group of honest peers that share churn, names and links.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerGroup {
    /// Unique group name, used by workloads and faults.
    pub name: String,
    /// How many peers (>= 1).
    pub count: Value<u64>,
    /// When they arrive (default: all at time 0).
    #[serde(default)]
    pub join: Join,
    /// How long each stays online; absent means for ever.
    #[serde(default)]
    pub session: Option<Session>,
    /// How a session ends (default crash).
    // [CHOICE] crash by default: measured P2P departures are mostly silent.
    #[serde(default)]
    pub leave: Leave,
    /// Come back with the same identity after a delay.
    #[serde(default)]
    pub rejoin: Option<Rejoin>,
    /// PNRP cloud the group's names go to (default "Global_").
    #[serde(default = "default_cloud")]
    pub cloud: String,
    /// How many names each peer registers.
    #[serde(default)]
    pub names: Names,
    /// This group's access link, instead of `[network].bandwidth`.
    #[serde(default)]
    pub bandwidth: Option<LinkBandwidth>,
    /// This group's latency model, instead of `[network].latency`.
    // [CHOICE] a message uses its sender's group model if set, else its receiver's, else the
    // network's (documented in scenarios/README.md).
    #[serde(default)]
    pub latency: Option<Latency>,
    /// Seed servers are chosen from groups marked so (default false: from any group).
    #[serde(default)]
    pub seed_server: bool,
    /// A friendly name every registration of the group's peers carries in its CPA, as UTF-16
    /// (MS-PNRP §3.2.4.1, §2.2.3.1); default none.
    #[serde(default)]
    pub friendly_name: Option<String>,
    /// The ServiceLocationPrefix hint of the group's registrations (MS-PNRP §3.2.4.1): a /64 written as
    /// an IPv6 address whose low 64 bits are zero; default none (each peer's own /64).
    #[serde(default)]
    pub service_location_prefix: Option<std::net::Ipv6Addr>,
    /// Extended payload attached to every name the group's peers register (MS-PNRP §2.2.3.3), bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value<ByteSize>>,
    /// The `[[subnet]]` the group's peers sit on; absent: the open Internet (`placement.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet: Option<String>,
    /// The protocols each peer runs, bottom up, by registry name (`["pnrp"]`); absent: the
    /// default stack (`placement::DEFAULT_STACK`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack: Option<Vec<String>>,
}

fn default_cloud() -> String {
    "Global_".to_owned()
}

/// When the peers of a group (or attackers) arrive.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(
    remote = "Self",
    tag = "model",
    rename_all = "kebab-case",
    deny_unknown_fields
)]
pub enum Join {
    /// All at time 0 (written `"at start"`).
    #[default]
    AtStart,
    /// All at one time.
    At {
        /// When.
        at: Value<Duration>,
    },
    /// Evenly spread over `over`, from `start`.
    Ramp {
        /// Length of the ramp.
        over: Value<Duration>,
        /// When it begins (default 0).
        #[serde(default)]
        start: Value<Duration>,
    },
    /// Poisson arrivals at `rate` from `start` until the whole group is in.
    Poisson {
        /// Arrival rate.
        rate: Value<Rate>,
        /// When arrivals begin (default 0).
        #[serde(default)]
        start: Value<Duration>,
    },
}

impl ScalarOrTable for Join {
    const ALLOWED: &'static str =
        "\"at start\", { model = \"at\", at }, { model = \"ramp\", over, start } or { model = \"poisson\", rate, start }";
    fn from_scalar(text: &str) -> Result<Self, String> {
        match text.trim() {
            "at start" | "at-start" | "start" => Ok(Join::AtStart),
            _ => Err(format!(
                "`{text}` is not a join model; allowed: {}",
                Self::ALLOWED
            )),
        }
    }
    fn from_table<'de, A: de::MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        Join::deserialize(MapAccessDeserializer::new(map))
    }
}

impl<'de> Deserialize<'de> for Join {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        scalar_or_table(d)
    }
}

impl Serialize for Join {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Join::serialize(self, s)
    }
}

/// How long a peer stays online each time it joins.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Session {
    /// Exponential with this mean.
    Exponential {
        /// Mean session length.
        mean: Value<Duration>,
    },
    /// Weibull with this mean and shape (< 1: heavy tail).
    Weibull {
        /// Mean session length.
        mean: Value<Duration>,
        /// Shape parameter (> 0).
        shape: Value<f64>,
    },
    /// Pareto with this mean and shape (> 1 for a finite mean).
    Pareto {
        /// Mean session length.
        mean: Value<Duration>,
        /// Shape parameter alpha (> 1).
        shape: Value<f64>,
    },
    /// Every session lasts exactly `length`.
    Fixed {
        /// Session length.
        length: Value<Duration>,
    },
    /// Session lengths replayed from a file (one duration per line), relative to the scenario.
    Trace {
        /// Path of the trace.
        file: String,
    },
}

/// How a session ends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Leave {
    /// Silently, without telling anyone.
    #[default]
    Crash,
    /// Unregistering names and telling neighbours first.
    Graceful,
}

/// Rejoin with the same identity after `after`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rejoin {
    /// Offline time before coming back.
    pub after: Value<Duration>,
}

/// How many names each peer registers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Names {
    /// Secured names (P2P IDs with an authority), default 1.
    pub secured: Value<u64>,
    /// Unsecured names (authority 0), default 0.
    pub unsecured: Value<u64>,
}

impl Default for Names {
    fn default() -> Self {
        Names {
            secured: Value::Fixed(1),
            unsecured: Value::Fixed(0),
        }
    }
}

// ------------------------------------------------------------------ [[workload]]

/// `[[workload]]`: an operation generator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    /// The operation.
    pub kind: OpKind,
    /// Source group, or "all" (default).
    #[serde(default = "default_from")]
    pub from: String,
    /// When it begins (default 0).
    #[serde(default)]
    pub start: Value<Duration>,
    /// When it ends (default: end of run).
    #[serde(default)]
    pub stop: Option<Value<Duration>>,
    /// Operations started per unit of time, across the whole group.
    pub rate: Value<Rate>,
    /// Which names are targeted.
    #[serde(default)]
    pub target: Target,
    /// Whether targets may be names whose owner is offline (default false).
    #[serde(default)]
    pub include_offline: bool,
    /// Give up after this long (default 30s).
    #[serde(default = "default_timeout")]
    pub timeout: Value<Duration>,
    /// `register` only: extended payload attached to each new name (MS-PNRP §2.2.3.3), bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value<ByteSize>>,
    /// `resolve` only: ask for the publisher's extended payload (INQUIRE X flag; default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub want_payload: Option<bool>,
}

fn default_from() -> String {
    "all".to_owned()
}

fn default_timeout() -> Value<Duration> {
    Value::Fixed(Duration::from_secs(30))
}

/// An operation kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OpKind {
    /// Resolve a name.
    Resolve,
    /// Register a new name.
    Register,
    /// Unregister a name.
    Unregister,
}

/// How targets are chosen among names.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "popularity", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Target {
    /// Every name equally likely.
    #[default]
    Uniform,
    /// Rank k chosen with probability proportional to 1 / k^exponent.
    Zipf {
        /// Skew (> 0, default 1).
        #[serde(default = "default_exponent")]
        exponent: Value<f64>,
    },
}

fn default_exponent() -> Value<f64> {
    Value::Fixed(1.0)
}

// ------------------------------------------------------------------ [[fault]]

/// `[[fault]]`: something that goes wrong at a scheduled time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Fault {
    /// Split the peers into sides that cannot reach each other.
    Partition {
        /// When it starts.
        at: Value<Duration>,
        /// When it heals (default: never).
        #[serde(default)]
        heal: Option<Value<Duration>>,
        /// The sides: fractions of all peers, or lists of group names.
        groups: PartitionGroups,
        /// Only traffic from an earlier side to a later side is cut (default false).
        #[serde(default)]
        one_way: bool,
    },
    /// Crash peers (they restart after `restart_after` if given).
    Crash {
        /// When.
        at: Value<Duration>,
        /// How many peers (or give `fraction`).
        #[serde(default)]
        count: Option<Value<u64>>,
        /// Which fraction of peers (or give `count`).
        #[serde(default)]
        fraction: Option<Value<Ratio>>,
        /// Only peers of this group (default: any).
        #[serde(default)]
        group: Option<String>,
        /// Restart with the same identity after this long (default: never).
        #[serde(default)]
        restart_after: Option<Value<Duration>>,
    },
    /// Give peers a new address.
    AddressChange {
        /// When.
        at: Value<Duration>,
        /// How many peers (or give `fraction`).
        #[serde(default)]
        count: Option<Value<u64>>,
        /// Which fraction of peers (or give `count`).
        #[serde(default)]
        fraction: Option<Value<Ratio>>,
        /// Only peers of this group (default: any).
        #[serde(default)]
        group: Option<String>,
    },
    /// Replace the network's loss for a while.
    Loss {
        /// When it starts.
        at: Value<Duration>,
        /// When it ends.
        until: Value<Duration>,
        /// The loss in the meantime.
        loss: Loss,
    },
    /// Add latency to every message for a while.
    Latency {
        /// When it starts.
        at: Value<Duration>,
        /// When it ends.
        until: Value<Duration>,
        /// Extra one-way latency.
        add: Value<Duration>,
    },
}

/// The sides of a partition.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum PartitionGroups {
    /// Fractions of all peers, summing to 100% (`["40%", "60%"]`).
    Fractions(Vec<Ratio>),
    /// Group names per side (`[["desktops"], ["laptops"]]` or `["desktops", "laptops"]`).
    /// [CHOICE] Groups on no side keep reaching every side.
    Named(Vec<Vec<String>>),
}

const SIDES_ALLOWED: &str =
    "an array of fractions such as [\"40%\", \"60%\"], or of group names such as [[\"desktops\"], [\"laptops\"]]";

impl<'de> Deserialize<'de> for PartitionGroups {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Side {
            One(String),
            Many(Vec<String>),
            Number(f64),
        }
        let sides = Vec::<Side>::deserialize(d).map_err(|_| {
            de::Error::custom(format!(
                "the sides are not written right; allowed: {SIDES_ALLOWED}"
            ))
        })?;
        let mut fractions = Vec::new();
        let mut named = Vec::new();
        for side in sides {
            match side {
                Side::One(s) => match s.parse::<Ratio>() {
                    Ok(r) => fractions.push(r),
                    Err(_) => named.push(vec![s]),
                },
                Side::Number(x) => match <Ratio as super::units::Scalar>::from_float(x) {
                    Ok(r) => fractions.push(r),
                    Err(e) => return Err(de::Error::custom(e)),
                },
                Side::Many(v) => named.push(v),
            }
        }
        match (fractions.is_empty(), named.is_empty()) {
            (_, true) => Ok(PartitionGroups::Fractions(fractions)),
            (true, false) => Ok(PartitionGroups::Named(named)),
            (false, false) => Err(de::Error::custom(format!(
                "the sides mix fractions and group names; allowed: {SIDES_ALLOWED}"
            ))),
        }
    }
}

// ------------------------------------------------------------------ [[attackers]]

/// `[[attackers]]`: malicious nodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attackers {
    /// How many (or give `fraction`).
    #[serde(default)]
    pub count: Option<Value<u64>>,
    /// As a fraction of the honest peers (or give `count`).
    #[serde(default)]
    pub fraction: Option<Value<Ratio>>,
    /// What they do.
    pub behaviour: Behaviour,
    /// When they start misbehaving; before that they act honestly (default 0).
    /// [CHOICE] `start` is separate from `join` so attackers can first earn a place in caches.
    #[serde(default)]
    pub start: Value<Duration>,
    /// When they arrive (default: at start).
    #[serde(default)]
    pub join: Join,
}

/// What attackers do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Behaviour {
    /// Publish CPAs with forged signatures or ids.
    ForgeCpa,
    /// Answer with wrong entries to poison caches.
    Poison,
    /// Silently drop what they should forward.
    Drop,
    /// Replay old messages.
    Replay,
    /// Claim names of others with a Certificate Chain that does not hold (bad signature, expired,
    /// rooted in another authority).
    BrokenChain,
}
