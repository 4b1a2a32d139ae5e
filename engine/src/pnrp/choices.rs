//! The points MS-PNRP leaves open or states two ways, each named by the section it concerns, with the
//! variant a configuration runs. A run writes them to its `config.json` (`choices`), so that a reader
//! sees every decision next to its results without reading the code.
//!
//! A point whose variants change results is a `PnrpConfig` field (`knob`), its default what Windows
//! does as far as MS-PNRP tells; a point that only decides bytes no simulated peer can tell apart
//! (the interop encodings) is fixed and says so (`knob: None`).

use super::config::PnrpConfig;
use serde::Serialize;

/// One open point of MS-PNRP and the variant in force.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Choice {
    /// The MS-PNRP section(s) the point concerns, e.g. "MS-PNRP §3.1.5.6.1".
    pub section: &'static str,
    /// What is open, in a few words.
    pub point: &'static str,
    /// The variant that runs.
    pub variant: String,
    /// The `[pnrp]` key that selects it; `None` when fixed.
    pub knob: Option<&'static str>,
}

fn pick(on: bool, yes: &str, no: &str) -> String {
    if on { yes } else { no }.to_owned()
}

impl PnrpConfig {
    /// Every open point with the variant this configuration runs, in a stable order.
    pub fn choices(&self) -> Vec<Choice> {
        let c = |section, point, variant: String, knob| Choice {
            section,
            point,
            variant,
            knob,
        };
        let mut out = vec![
            c(
                "MS-PNRP §3.1.5.6.1",
                "AUTHORITY without a route entry",
                pick(
                    self.exhaust_hop_without_route_entry,
                    "the responder counts as exhausted",
                    "the responder is pushed back and asked again (at most 3 times), as written",
                ),
                Some("exhaust_hop_without_route_entry"),
            ),
            c(
                "MS-PNRP §3.1.4.4.2, §3.1.6.3",
                "LOOKUP timeout inside a resolve",
                pick(
                    self.evict_on_lookup_timeout,
                    "skip the hop, continue the walk, evict the hop from the cache",
                    "skip the hop, continue the walk",
                ),
                Some("evict_on_lookup_timeout"),
            ),
            c(
                "MS-PNRP §3.1.4.4.2",
                "final INQUIRE timeout",
                pick(
                    self.pop_best_on_inquire_timeout,
                    "pop BestMatchStack, then retry",
                    "retry the same best match, as written",
                ),
                Some("pop_best_on_inquire_timeout"),
            ),
            c(
                "MS-PNRP §3.2.4.1",
                "how a registration walk ends (nothing matches ID + 1)",
                match self.registration_stop_after_leaf_answers {
                    Some(n) => format!("finish silently after {n} answers with L set"),
                    None => "finish silently when the hop limits are reached".to_owned(),
                },
                Some("registration_stop_after_leaf_answers"),
            ),
            c(
                "MS-PNRP §3.2.6.2.1",
                "how a split test ends (nothing matches ID + 1)",
                pick(
                    self.split_inquire_wants_cpa,
                    "always INQUIRE the final best match, asking for its CPA",
                    "always INQUIRE the final best match, without asking for a CPA",
                ),
                Some("split_inquire_wants_cpa"),
            ),
            c(
                "MS-PNRP §3.1.4.4.2",
                "InitialBestMatch",
                pick(
                    self.initial_best_match_is_current,
                    "pushed on BestMatchStack and made CurrentBestMatch (it rides in LOOKUPs)",
                    "pushed on BestMatchStack only, as written",
                ),
                Some("initial_best_match_is_current"),
            ),
            c(
                "MS-PNRP §3.2.5.4, §4.1.2",
                "D flag of synchronization FLOODs",
                pick(
                    self.sync_flood_dont_ack,
                    "D set (no ACK), as §3.2.5.4 says; D-clear FLOODs are always ACKed",
                    "D clear and ACKed, as the example of §4.1.2 shows",
                ),
                Some("sync_flood_dont_ack"),
            ),
            c(
                "MS-PNRP §3.2.5.11",
                "whom a node admitting X into a leaf set sends its own entry",
                pick(
                    self.flood_own_entry_to_new_member,
                    "to the new member X",
                    "back to the FLOOD's sender",
                ),
                Some("flood_own_entry_to_new_member"),
            ),
            c(
                "MS-PNRP §3.1.4.4.2, §3.1.5.6.1",
                "a cache of exactly 8 entries (neither rule applies)",
                pick(
                    self.small_cache_boundary_is_large,
                    "large: pop the non-improving responder",
                    "small: set the A flag, keep non-closer hops",
                ),
                Some("small_cache_boundary_is_large"),
            ),
            c(
                "MS-PNRP §1.3.1.1, §2.2.3.1",
                "input of the authority hash (SubjectPublicKeyInfo vs PublicKey Data)",
                "SHA-1 of the SubjectPublicKeyInfo DER, for naming and validation alike".to_owned(),
                None,
            ),
            c(
                "MS-PNRP §1.3.1.2, §2.2.2.6.1",
                "classifier bytes hashed and sent",
                "hashed as UTF-16LE code units without NUL; CLASSIFIER sent as UTF-16BE".to_owned(),
                None,
            ),
            c(
                "MS-PNRP §2.2.3.4, §2.2.2",
                "byte order of PNRP IDs in messages",
                "most significant byte first (P2P ID, then service location)".to_owned(),
                None,
            ),
            c(
                "MS-PNRP §3.2.1.1",
                "cache entry lifetime",
                match self.cache_max_age {
                    Some(age) => format!("entries older than {age} are dropped"),
                    None => "entries leave only on N answers, timeouts, revokes and displacement".to_owned(),
                },
                Some("cache_max_age"),
            ),
            c(
                "MS-PNRP §3.2.6.2.1",
                "split-test rate",
                format!(
                    "each tick a publisher tests with probability min(1, {} / estimated nodes)",
                    self.split_k
                ),
                Some("split_k"),
            ),
            c(
                "MS-PNRP §3.1.4.4.2",
                "deadline of resolves the node starts itself",
                self.internal_resolve_timeout.to_string(),
                Some("internal_resolve_timeout"),
            ),
            c(
                "MS-PNRP §2.2.1",
                "Message ID generator",
                "a per-node counter from a seeded random start".to_owned(),
                None,
            ),
            c(
                "MS-PNRP §3.2.5.2",
                "weighted random choice among LOOKUP answer candidates",
                format!("weights {:?} for the 3 closest", self.lookup_answer_weights),
                Some("lookup_answer_weights"),
            ),
            c(
                "MS-PNRP §3.1.4.2.1",
                "RFC 3484 ordering of seed server addresses",
                "not applied: one address per seed, seeds taken from a seeded random offset".to_owned(),
                None,
            ),
            c(
                "MS-PNRP §3.2.4.1, §1.3.1.2",
                "ServiceLocationSuffix of a registration",
                "a random 64-bit value from the node's seeded stream (§3.2.4.1)".to_owned(),
                None,
            ),
            c(
                "MS-PNRP §4.3",
                "revoke forwarding along leaf sets (described only in an example)",
                pick(self.forward_revokes, "forwarded, D clear", "not forwarded"),
                Some("forward_revokes"),
            ),
            c(
                "MS-PNRP §3.2.5.2, §3.2.5.3",
                "which nodes answer SOLICIT and LOOKUP (written as publisher rules)",
                pick(
                    self.resolvers_answer,
                    "every node with a cache",
                    "publishers only",
                ),
                Some("resolvers_answer"),
            ),
        ];
        out.extend(self.encoding_and_lifecycle_choices());
        out
    }

    /// The points of the wire encodings and of the cloud's life.
    fn encoding_and_lifecycle_choices(&self) -> Vec<Choice> {
        vec![
            Choice {
                section: "MS-PNRP §2.2.3.2, §3.2.5.9",
                point: "byte order of RSA Signature Data",
                variant: self.rsa_signature_byte_order.name().to_owned(),
                knob: Some("rsa_signature_byte_order"),
            },
            Choice {
                section: "MS-PNRP §2.2.3.1",
                point: "byte order of a UTF-16 friendly name (U clear)",
                variant: "little-endian code units, no NUL".to_owned(),
                knob: None,
            },
            Choice {
                section: "MS-PNRP §2.2.3.1",
                point: "byte order of the IPV6_APP_ENDPOINT port",
                variant: "little-endian".to_owned(),
                knob: None,
            },
            Choice {
                section: "MS-PNRP §3.1.2, §3.1.6.1",
                point: "Cloud Cleanup Timer",
                variant: format!("{} after the last use", self.cloud_cleanup_delay),
                knob: Some("cloud_cleanup_delay"),
            },
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_knob_is_a_config_key_and_sections_are_microsofts() {
        let json = serde_json::to_value(PnrpConfig::default()).unwrap();
        let choices = PnrpConfig::default().choices();
        assert!(choices.len() >= 20);
        for ch in &choices {
            assert!(ch.section.starts_with("MS-PNRP §"), "{ch:?}");
            if let Some(k) = ch.knob {
                assert!(json.get(k).is_some(), "{k} is not a [pnrp] key");
            }
        }
    }

    #[test]
    fn the_variant_follows_the_configuration() {
        let find = |c: &PnrpConfig, knob: &str| {
            c.choices()
                .into_iter()
                .find(|ch| ch.knob == Some(knob))
                .map(|ch| ch.variant)
                .unwrap()
        };
        let d = PnrpConfig::default();
        let le = PnrpConfig {
            rsa_signature_byte_order: crate::crypto::SignatureByteOrder::LittleEndian,
            sync_flood_dont_ack: false,
            ..PnrpConfig::default()
        };
        assert_eq!(find(&d, "rsa_signature_byte_order"), "big-endian");
        assert_eq!(find(&le, "rsa_signature_byte_order"), "little-endian");
        assert_ne!(find(&d, "sync_flood_dont_ack"), find(&le, "sync_flood_dont_ack"));
        assert_eq!(find(&d, "cloud_cleanup_delay"), "15m after the last use");
    }
}
