//! The scenario file's shape: one struct or enum per table, `deny_unknown_fields` everywhere, every
//! default written here (scenarios/README.md documents each key; docs/architecture.md §4, §5).

pub use super::activity::{
    Attackers, Behaviour, Fault, Join, Leave, Names, OpKind, PartitionGroups, PeerGroup, Rejoin, Session,
    Target, Workload,
};
use super::units::{Bandwidth, ByteSize, Ratio};
use super::value::{de_fixed, Value};
use peerlab_engine::crypto::Scheme;
use peerlab_engine::pnrp::PnrpConfig;
use peerlab_engine::Duration;
use serde::de::value::MapAccessDeserializer;
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::path::PathBuf;

/// A parsed, validated scenario: what to simulate, before ranges are sampled.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Scenario {
    /// Short name; runs go to `runs/<name>/<seed>/`.
    pub name: String,
    /// One sentence for people.
    pub description: String,
    /// The run seed (the command line's `--seed` overrides it).
    pub seed: u64,
    /// Simulated time the run lasts.
    pub duration: Duration,
    /// The network model.
    pub network: Network,
    /// PNRP settings: simulator-level keys plus every `PnrpConfig` field.
    pub pnrp: Pnrp,
    /// Honest peer groups.
    pub peers: Vec<PeerGroup>,
    /// Operation generators.
    pub workload: Vec<Workload>,
    /// Scheduled faults.
    pub fault: Vec<Fault>,
    /// Malicious node groups.
    pub attackers: Vec<Attackers>,
    /// Pass/fail criteria.
    pub checks: Checks,
    /// What the run writes.
    pub output: Output,
    /// Peer Distribution settings; `Some` makes this a distribution scenario (no PNRP world).
    pub distribution: Option<super::distribution::Distribution>,
    /// Peer Graphing settings; `Some` makes this a graphing scenario (MS-PPGRH).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub graphing: Option<super::graphing::Graphing>,
    /// `[[subnet]]` tables: LANs behind gateways (`placement.rs`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subnets: Vec<super::placement::SubnetTable>,
    /// Directory that relative file paths (latency matrix, session traces) are resolved against.
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// Directories besides `base_dir`'s tree whose files the scenario may read (`--allow-files`).
    #[serde(skip)]
    pub allowed_dirs: Vec<PathBuf>,
}

// ------------------------------------------------------------------ [network]

/// `[network]`: latency, jitter, loss, bandwidth and MTU shared by every peer (docs/architecture.md §4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Network {
    /// One-way latency between two peers.
    pub latency: Latency,
    /// Per-message jitter, relative to the latency or absolute.
    pub jitter: Option<Jitter>,
    /// Message loss.
    pub loss: Loss,
    /// Per-peer access link; absent means unlimited.
    pub bandwidth: Option<LinkBandwidth>,
    /// Largest datagram in bytes (1280..=65535).
    pub mtu: Value<u64>,
}

impl Default for Network {
    fn default() -> Self {
        Network {
            latency: Latency::Constant {
                value: Value::Fixed(Duration::from_millis(50)),
            },
            jitter: None,
            loss: Loss::Independent {
                rate: Value::Fixed(Ratio::ZERO),
            },
            bandwidth: None,
            mtu: Value::Fixed(1280),
        }
    }
}

/// Default lognormal sigma of the `internet` model's access delay (matches `net::latency`).
pub const INTERNET_TAIL_DEFAULT: f64 = 1.0;

fn default_tail() -> Value<f64> {
    Value::Fixed(INTERNET_TAIL_DEFAULT)
}

/// How one-way latency between two peers is drawn.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Latency {
    /// The same latency for every pair.
    Constant {
        /// The latency.
        value: Value<Duration>,
    },
    /// Each message's latency drawn uniformly from `min..=max`.
    Uniform {
        /// Smallest latency.
        min: Value<Duration>,
        /// Largest latency.
        max: Value<Duration>,
    },
    /// Synthetic coordinates calibrated to `median`, with a lognormal access delay of sigma `tail`.
    Internet {
        /// Median pair latency.
        median: Value<Duration>,
        /// Lognormal sigma of the access delay (> 0, default 1: p99 near 2.5x the median).
        #[serde(default = "default_tail")]
        tail: Value<f64>,
    },
    /// A CSV of milliseconds between groups (rows and columns in `groups` order).
    Matrix {
        /// Path of the CSV, relative to the scenario file.
        file: String,
        /// The `[[peers]]` group each row stands for (default: the groups in file order).
        #[serde(default)]
        groups: Option<Vec<String>>,
    },
}

/// Per-message jitter, uniform within +- an amplitude: a fraction of the latency, or a span.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Jitter {
    /// Amplitude as a fraction of the message's latency ("10%").
    Relative(Value<Ratio>),
    /// Amplitude as a duration ("5ms").
    Absolute(Value<Duration>),
}

const JITTER_ALLOWED: &str = "a percentage of the latency such as \"10%\", or a duration such as \"5ms\"";

impl<'de> Deserialize<'de> for Jitter {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Jitter;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(JITTER_ALLOWED)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Jitter, E> {
                if let Ok(d) = v.parse() {
                    return Ok(Jitter::Absolute(d));
                }
                match v.parse() {
                    Ok(r) => Ok(Jitter::Relative(r)),
                    Err(_) => Err(E::custom(format!(
                        "`{v}` is neither a percentage nor a duration; allowed: {JITTER_ALLOWED}"
                    ))),
                }
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Jitter, E> {
                Value::<Ratio>::deserialize(de::value::F64Deserializer::<E>::new(v)).map(Jitter::Relative)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Jitter, E> {
                Value::<Ratio>::deserialize(de::value::I64Deserializer::<E>::new(v)).map(Jitter::Relative)
            }
        }
        d.deserialize_any(V)
    }
}

/// Message loss: independent per message, or bursty (Gilbert-Elliott).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(
    remote = "Self",
    tag = "model",
    rename_all = "kebab-case",
    deny_unknown_fields
)]
pub enum Loss {
    /// Each message is lost with probability `rate` (written `loss = "0.5%"`).
    Independent {
        /// Loss probability.
        rate: Value<Ratio>,
    },
    /// Two-state Markov chain per link; each message steps the chain once.
    GilbertElliott {
        /// Probability of moving from the good to the bad state.
        p_good_to_bad: Value<Ratio>,
        /// Probability of moving from the bad to the good state.
        p_bad_to_good: Value<Ratio>,
        /// Loss probability in the good state (default 0).
        #[serde(default)]
        loss_good: Value<Ratio>,
        /// Loss probability in the bad state (default 100%).
        #[serde(default = "one")]
        loss_bad: Value<Ratio>,
    },
}

fn one() -> Value<Ratio> {
    Value::Fixed(Ratio::ONE)
}

/// Types written either as one scalar (`loss = "0.5%"`) or as a table tagged by `model`.
pub(crate) trait ScalarOrTable: Sized {
    /// What is allowed, for error messages.
    const ALLOWED: &'static str;
    /// From the scalar form (numbers arrive as their text).
    fn from_scalar(text: &str) -> Result<Self, String>;
    /// From the table form.
    fn from_table<'de, A: de::MapAccess<'de>>(map: A) -> Result<Self, A::Error>;
}

/// Deserializes a `ScalarOrTable` from whichever form the file uses.
pub(crate) fn scalar_or_table<'de, T: ScalarOrTable, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
    struct V<T>(std::marker::PhantomData<T>);
    impl<'de, T: ScalarOrTable> de::Visitor<'de> for V<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(T::ALLOWED)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
            T::from_scalar(v).map_err(E::custom)
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
            self.visit_str(&v.to_string())
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
            self.visit_str(&v.to_string())
        }
        fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            T::from_table(map)
        }
    }
    d.deserialize_any(V(std::marker::PhantomData))
}

impl ScalarOrTable for Loss {
    const ALLOWED: &'static str =
        "a loss ratio such as \"0.5%\", or { model = \"gilbert-elliott\", p_good_to_bad, p_bad_to_good, loss_good, loss_bad }";
    fn from_scalar(text: &str) -> Result<Self, String> {
        text.parse()
            .map(|rate| Loss::Independent { rate })
            .map_err(|e: super::units::UnitError| e.to_string())
    }
    fn from_table<'de, A: de::MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        Loss::deserialize(MapAccessDeserializer::new(map))
    }
}

impl<'de> Deserialize<'de> for Loss {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        scalar_or_table(d)
    }
}

impl Serialize for Loss {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Loss::serialize(self, s)
    }
}

/// An access link: upload and download speed and the queue in front of them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkBandwidth {
    /// Upload speed; absent means unlimited.
    #[serde(default)]
    pub up: Option<Value<Bandwidth>>,
    /// Download speed; absent means unlimited.
    #[serde(default)]
    pub down: Option<Value<Bandwidth>>,
    /// Bytes that may wait in each direction's queue; more are dropped (default 64KB).
    #[serde(default = "default_queue")]
    pub queue: Value<ByteSize>,
}

fn default_queue() -> Value<ByteSize> {
    Value::Fixed(ByteSize(64_000))
}

// ------------------------------------------------------------------ [pnrp]

/// `[pnrp]`: simulator-level keys, plus the protocol's own `PnrpConfig`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Pnrp {
    /// How many peers act as seed servers (default 1).
    pub seed_servers: Value<u64>,
    /// Signature scheme of CPAs (default rsa1024).
    pub crypto: Scheme,
    /// Round-trip every message through the wire codec (default false).
    pub wire_bytes: bool,
    /// Fraction of peers that never register a name (default 0).
    pub resolve_only: Value<Ratio>,
    /// Fraction of secured names registered by a delegate under a Certificate Chain (default 0).
    pub delegated: Value<Ratio>,
    /// Every other key of the table.
    #[serde(flatten)]
    pub config: PnrpConfig,
}

impl Default for Pnrp {
    fn default() -> Self {
        Pnrp {
            seed_servers: Value::Fixed(1),
            crypto: Scheme::Rsa1024Sha1,
            wire_bytes: false,
            resolve_only: Value::Fixed(Ratio::ZERO),
            delegated: Value::Fixed(Ratio::ZERO),
            config: PnrpConfig::default(),
        }
    }
}

// Lets callers write `scenario.pnrp.maintenance_period` for protocol fields.
impl std::ops::Deref for Pnrp {
    type Target = PnrpConfig;
    fn deref(&self) -> &PnrpConfig {
        &self.config
    }
}

// ------------------------------------------------------------------ [checks], [output]

/// `[checks]`: when a run passes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Checks {
    /// Largest fraction of failed operations (default 1%).
    #[serde(deserialize_with = "de_fixed")]
    pub max_failed_ratio: Ratio,
    /// Whether any invariant violation fails the run (default true).
    pub fail_on_violation: bool,
    /// After a fault heals, resolution must work again within this (default 2m).
    #[serde(deserialize_with = "de_fixed")]
    pub liveness_within: Duration,
    /// Smallest fraction of correct leaf-set entries at the end (default: not checked).
    pub min_leafset_correct: Option<Ratio>,
    /// Distribution scenarios: smallest WAN offload ratio (default: not checked).
    pub min_wan_offload: Option<Ratio>,
}

impl Default for Checks {
    fn default() -> Self {
        Checks {
            max_failed_ratio: Ratio::from_ppm(10_000),
            fail_on_violation: true,
            liveness_within: Duration::from_mins(2),
            min_leafset_correct: None,
            min_wan_offload: None,
        }
    }
}

/// `[output]`: what the run writes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Output {
    /// Sampling period of time series (default 10s).
    #[serde(deserialize_with = "de_fixed")]
    pub sample_every: Duration,
    /// Write records.jsonl (default true).
    pub records: bool,
    /// Write a per-message trace (default false).
    pub trace: bool,
    /// Operations completed before this much simulated time are left out of the headline
    /// figures (default 0: none).
    #[serde(deserialize_with = "de_fixed")]
    pub warmup: Duration,
}

impl Default for Output {
    fn default() -> Self {
        Output {
            sample_every: Duration::from_secs(10),
            records: true,
            trace: false,
            warmup: Duration::ZERO,
        }
    }
}
