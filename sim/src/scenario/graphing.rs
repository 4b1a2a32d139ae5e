//! Peer Graphing scenarios (MS-PPGRH): the `[graphing]` table, its `[[graphing.workload]]` record
//! operations and its `[[graphing.attackers]]`.
//!
//! [CHOICE] A scenario is a graphing scenario when it has a `[graphing]` table. Its `[[peers]]`
//! groups are the graph's members (churn, rejoin after a long time offline and faults act on them
//! as in PNRP scenarios); the record workload and the attackers live inside `[graphing]`, since
//! the top-level `[[workload]]` and `[[attackers]]` tables take PNRP's shapes. Every knob of the
//! engine's `GraphConfig` is a key here, with MS-PPGRH's default.

use super::rate::Rate;
use super::units::ByteSize;
use super::value::{de_fixed, Value};
use peerlab_engine::graphing::{ContactFormula, GraphConfig};
use peerlab_engine::Duration;
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// How a joining member finds its first contact (Graphing has no discovery, MS-PPGRH §1.5).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GraphBootstrap {
    /// The simulator hands the joiner the address of a live, listening member (an invitation).
    #[default]
    Oracle,
}

/// `contact_formula`: how Cmin follows the signature (MS-PPGRH §3.1.7.12).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ContactFormulaKey {
    /// As printed: 5 when S ≥ 2^60, else 60 − log2 S.
    #[default]
    AsPrinted,
    /// peerlab's option: max(5, 60 − log2 S).
    AtLeastFive,
}

impl From<ContactFormulaKey> for ContactFormula {
    fn from(k: ContactFormulaKey) -> Self {
        match k {
            ContactFormulaKey::AsPrinted => ContactFormula::AsPrinted,
            ContactFormulaKey::AtLeastFive => ContactFormula::AtLeastFive,
        }
    }
}

/// `max_presence_records`: `"all"` (0xFFFFFFFF, everyone publishes) or a count (0 = only on the
/// application's request) (MS-PPGRH §2.2.3.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PresenceTarget {
    /// Every listening member publishes presence.
    #[default]
    All,
    /// A target count.
    Count(u32),
}

const PRESENCE_ALLOWED: &str = "\"all\" or a whole number such as 0 or 50";

impl Serialize for PresenceTarget {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            PresenceTarget::All => s.serialize_str("all"),
            PresenceTarget::Count(n) => s.serialize_u32(*n),
        }
    }
}

impl<'de> Deserialize<'de> for PresenceTarget {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = PresenceTarget;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(PRESENCE_ALLOWED)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PresenceTarget, E> {
                match v {
                    "all" => Ok(PresenceTarget::All),
                    _ => Err(E::custom(format!(
                        "`{v}` is not a presence target; allowed: {PRESENCE_ALLOWED}"
                    ))),
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PresenceTarget, E> {
                // 0xFFFFFFFF is the wire's "all"; a count stops below it.
                match u32::try_from(v) {
                    Ok(n) if n < u32::MAX => Ok(PresenceTarget::Count(n)),
                    _ => Err(E::custom(format!(
                        "`{v}` is out of range; allowed: {PRESENCE_ALLOWED}"
                    ))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A clock skew written `"2m"`, `"±2m"` or `"+-2m"`: each member's local clock is off by a
/// uniform draw in `[−skew, +skew]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Skew(pub Duration);

const SKEW_ALLOWED: &str = "a duration, optionally with ±, such as \"±2m\" or \"90s\" (default 0)";

impl Serialize for Skew {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("±{}", self.0))
    }
}

impl<'de> Deserialize<'de> for Skew {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Skew;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(SKEW_ALLOWED)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Skew, E> {
                let t = v.trim();
                let t = t
                    .strip_prefix('±')
                    .or_else(|| t.strip_prefix("+-"))
                    .unwrap_or(t)
                    .trim();
                super::units::parse_duration(t)
                    .map(Skew)
                    .map_err(|_| E::custom(format!("`{v}` is not a clock skew; allowed: {SKEW_ALLOWED}")))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Skew, E> {
                match v {
                    0 => Ok(Skew(Duration::ZERO)),
                    _ => Err(E::custom(format!("`{v}` has no unit; allowed: {SKEW_ALLOWED}"))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// What a record workload does to the graph's database (MS-PPGRH §3.1.4.3-5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecordOp {
    /// Publish a new application record.
    Publish,
    /// Update a live record the member published before (a new version).
    Update,
    /// Delete a live record the member published before (a versioned tombstone).
    Delete,
}

/// `[[graphing.workload]]`: record operations at a graph-wide rate from random live members.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphWorkload {
    /// Publish, update or delete.
    pub kind: RecordOp,
    /// The group whose live, synchronized members act, or "all" (default "all").
    #[serde(default = "all")]
    pub from: String,
    /// When it starts (default 0).
    #[serde(default)]
    pub start: Value<Duration>,
    /// When it stops (default: the end of the run).
    #[serde(default)]
    pub stop: Option<Value<Duration>>,
    /// Operations per second across the graph.
    pub rate: Value<Rate>,
    /// Payload of each published or updated record (default 256B).
    #[serde(default = "default_payload")]
    pub payload: Value<ByteSize>,
    /// Lifetime of each published or updated record (default 1h).
    #[serde(default = "default_lifetime")]
    pub lifetime: Value<Duration>,
}

fn all() -> String {
    "all".to_owned()
}

fn default_payload() -> Value<ByteSize> {
    Value::Fixed(ByteSize(256))
}

fn default_lifetime() -> Value<Duration> {
    Value::Fixed(Duration::from_secs(3_600))
}

/// What a graphing attacker does once its `start` comes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GraphBehaviour {
    /// A member that stores and ACKs floods but never re-floods them to its other neighbors.
    SwallowFloods,
    /// A member that floods old versions of records it holds (copies it kept before they were
    /// updated), so its neighbors' conflict rule must send the newer copy back.
    StaleVersions,
}

/// `[[graphing.attackers]]`: members of a `[[peers]]` group that misbehave (the group's last
/// `count` members; never the graph's creator).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphAttackers {
    /// The group they belong to (they join, churn and rejoin with it).
    pub group: String,
    /// How many of its members.
    pub count: Value<u64>,
    /// What they do.
    pub behaviour: GraphBehaviour,
    /// When they start misbehaving; before that they are honest members (default 0).
    #[serde(default)]
    pub start: Value<Duration>,
}

/// `[graphing]`: simulator keys, then every `GraphConfig` knob with MS-PPGRH's default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Graphing {
    /// The graph id (1..255 characters; default "peerlab").
    pub graph_id: String,
    /// How joiners find their first contact (default oracle).
    pub bootstrap: GraphBootstrap,
    /// The group whose first member creates the graph (default: the first `[[peers]]` group).
    pub creator: Option<String>,
    /// Each member's local clock offset, uniform in ±this (default 0).
    pub clock_skew: Skew,
    /// Quiet time after the last publication, fault or membership change before the databases of
    /// connected members must agree (default 3m).
    #[serde(deserialize_with = "de_fixed")]
    pub settle: Duration,
    /// Minimum neighbors (MS-PPGRH §3.1.1; default 2).
    pub min_neighbors: u64,
    /// Ideal neighbors (MS-PPGRH §3.1.1; default 3).
    pub ideal_neighbors: u64,
    /// Maximum neighbors, enforced with REFUSE BUSY (MS-PPGRH §3.1.1; default 7).
    pub max_neighbors: u64,
    /// Referrals returned in REFUSE and WELCOME (MS-PPGRH §3.1.5.2.1; default 10).
    pub referrals_returned: u64,
    /// Referral list capacity (MS-PPGRH §3.1.1; default 100).
    pub referral_capacity: u64,
    /// Largest frame accepted (MS-PPGRH §2.2.1.1; default 16379, at most 32768).
    pub max_frame_size: u64,
    /// CONNECT → WELCOME/REFUSE timer (MS-PPGRH §3.1.2; default 60s).
    #[serde(deserialize_with = "de_fixed")]
    pub connect_timeout: Duration,
    /// Maintenance period with a link (MS-PPGRH §3.1.6.6; default 300s).
    #[serde(deserialize_with = "de_fixed")]
    pub maintenance_connected: Duration,
    /// Maintenance period with no link (MS-PPGRH §3.1.6.6; default 30s).
    #[serde(deserialize_with = "de_fixed")]
    pub maintenance_alone: Duration,
    /// Set N on every first neighbor CONNECT (MS-PPGRH §2.2.2.2; default true).
    pub request_referrals: bool,
    /// Cmin formula (MS-PPGRH §3.1.7.12; default as-printed).
    pub contact_formula: ContactFormulaKey,
    /// Presence lifetime (MS-PPGRH §2.2.3.1; default 300s, at least 300s).
    #[serde(deserialize_with = "de_fixed")]
    pub presence_lifetime: Duration,
    /// Presence records target (MS-PPGRH §2.2.3.1; default "all").
    pub max_presence_records: PresenceTarget,
    /// Largest payload plus attributes (MS-PPGRH §2.2.3.1; default 60MB = 62914560 bytes).
    #[serde(deserialize_with = "de_fixed")]
    pub max_record_size: ByteSize,
    /// Accept direct connections (MS-PPGRH §3.1.5.2.1; default true).
    pub accept_direct: bool,
    /// Record operations.
    pub workload: Vec<GraphWorkload>,
    /// Misbehaving members.
    pub attackers: Vec<GraphAttackers>,
}

impl Default for Graphing {
    fn default() -> Self {
        let c = GraphConfig::new("peerlab", "");
        Graphing {
            graph_id: c.graph_id,
            bootstrap: GraphBootstrap::Oracle,
            creator: None,
            clock_skew: Skew::default(),
            settle: Duration::from_secs(180),
            min_neighbors: c.min_neighbors as u64,
            ideal_neighbors: c.ideal_neighbors as u64,
            max_neighbors: c.max_neighbors as u64,
            referrals_returned: c.referrals_returned as u64,
            referral_capacity: c.referral_capacity as u64,
            max_frame_size: c.max_frame_size as u64,
            connect_timeout: c.connect_timeout,
            maintenance_connected: c.maintenance_connected,
            maintenance_alone: c.maintenance_alone,
            request_referrals: c.request_referrals,
            contact_formula: ContactFormulaKey::AsPrinted,
            presence_lifetime: c.presence_lifetime,
            max_presence_records: PresenceTarget::All,
            max_record_size: ByteSize(c.max_record_size as u64),
            accept_direct: c.accept_direct,
            workload: Vec::new(),
            attackers: Vec::new(),
        }
    }
}

impl Graphing {
    /// The engine configuration of member `peer_id` (validated values: the casts cannot lose).
    pub fn config(&self, peer_id: &str) -> GraphConfig {
        let mut c = GraphConfig::new(self.graph_id.clone(), peer_id);
        c.min_neighbors = self.min_neighbors as usize;
        c.ideal_neighbors = self.ideal_neighbors as usize;
        c.max_neighbors = self.max_neighbors as usize;
        c.referrals_returned = self.referrals_returned as usize;
        c.referral_capacity = self.referral_capacity as usize;
        c.max_frame_size = self.max_frame_size as u16;
        c.connect_timeout = self.connect_timeout;
        c.maintenance_connected = self.maintenance_connected;
        c.maintenance_alone = self.maintenance_alone;
        c.request_referrals = self.request_referrals;
        c.contact_formula = self.contact_formula.into();
        c.presence_lifetime = self.presence_lifetime;
        c.max_presence_records = match self.max_presence_records {
            PresenceTarget::All => None,
            PresenceTarget::Count(n) => Some(n),
        };
        c.max_record_size = self.max_record_size.0 as u32;
        c.accept_direct = self.accept_direct;
        c
    }

    /// Every knob with the MS-PPGRH section that sets its default, the default and the value this
    /// run uses (config.json `choices`, beside PNRP's open points).
    pub fn choices(&self) -> Vec<GraphChoice> {
        let d = Graphing::default();
        let mut out = Vec::new();
        macro_rules! knob {
            ($key:ident, $section:literal, $point:literal) => {
                out.push(GraphChoice {
                    section: $section,
                    point: $point,
                    variant: format!("{:?}", self.$key),
                    default: format!("{:?}", d.$key),
                    knob: concat!("graphing.", stringify!($key)),
                })
            };
        }
        knob!(min_neighbors, "MS-PPGRH §3.1.1", "minimum neighbors");
        knob!(ideal_neighbors, "MS-PPGRH §3.1.1", "ideal neighbors");
        knob!(
            max_neighbors,
            "MS-PPGRH §3.1.1",
            "maximum neighbors (REFUSE BUSY above)"
        );
        knob!(
            referrals_returned,
            "MS-PPGRH §3.1.5.2.1",
            "referrals in REFUSE and WELCOME"
        );
        knob!(referral_capacity, "MS-PPGRH §3.1.1", "referral list capacity");
        knob!(max_frame_size, "MS-PPGRH §2.2.1.1", "largest frame accepted");
        knob!(connect_timeout, "MS-PPGRH §3.1.2", "CONNECT to WELCOME or REFUSE");
        knob!(
            maintenance_connected,
            "MS-PPGRH §3.1.6.6",
            "maintenance period with a link"
        );
        knob!(
            maintenance_alone,
            "MS-PPGRH §3.1.6.6",
            "maintenance period with no link"
        );
        knob!(
            request_referrals,
            "MS-PPGRH §2.2.2.2",
            "N bit on every first neighbor CONNECT"
        );
        knob!(contact_formula, "MS-PPGRH §3.1.7.12", "Cmin below S = 2^60");
        knob!(presence_lifetime, "MS-PPGRH §2.2.3.1", "presence record lifetime");
        knob!(
            max_presence_records,
            "MS-PPGRH §2.2.3.1",
            "presence records target"
        );
        knob!(
            max_record_size,
            "MS-PPGRH §2.2.3.1",
            "largest payload plus attributes"
        );
        knob!(
            accept_direct,
            "MS-PPGRH §3.1.5.2.1",
            "direct connections accepted"
        );
        out
    }
}

/// One `[graphing]` knob as config.json's `choices` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GraphChoice {
    /// The MS-PPGRH section that sets the default.
    pub section: &'static str,
    /// What the knob decides, in a few words.
    pub point: &'static str,
    /// The value this run uses.
    pub variant: String,
    /// MS-PPGRH's default.
    pub default: String,
    /// The scenario key.
    pub knob: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct W {
        g: Graphing,
    }

    fn parse(text: &str) -> Result<Graphing, String> {
        toml::from_str::<W>(&format!("[g]\n{text}"))
            .map(|w| w.g)
            .map_err(|e| e.message().to_owned())
    }

    #[test]
    fn defaults_are_the_engines() {
        let g = parse("").unwrap();
        assert_eq!(g.config("p"), GraphConfig::new("peerlab", "p"));
        assert!(g.choices().iter().all(|c| c.variant == c.default));
    }

    #[test]
    fn knobs_override_and_show_as_choices() {
        let g = parse("max_neighbors = 9\ncontact_formula = \"at-least-five\"\nmax_presence_records = 40\nclock_skew = \"±2m\"\n")
            .unwrap();
        let c = g.config("p");
        assert_eq!(c.max_neighbors, 9);
        assert_eq!(c.contact_formula, ContactFormula::AtLeastFive);
        assert_eq!(c.max_presence_records, Some(40));
        assert_eq!(g.clock_skew, Skew(Duration::from_secs(120)));
        let changed: Vec<_> = g
            .choices()
            .into_iter()
            .filter(|c| c.variant != c.default)
            .map(|c| c.knob)
            .collect();
        assert_eq!(
            changed,
            [
                "graphing.max_neighbors",
                "graphing.contact_formula",
                "graphing.max_presence_records"
            ]
        );
    }

    #[test]
    fn bad_values_say_what_is_allowed() {
        assert!(parse("clock_skew = \"two minutes\"").unwrap_err().contains("±"));
        assert!(parse("max_presence_records = \"some\"")
            .unwrap_err()
            .contains("\"all\""));
        assert!(parse("max_presence_records = -1")
            .unwrap_err()
            .contains("out of range"));
        assert!(parse("max_neighbours = 3").unwrap_err().contains("unknown field"));
    }
}
