//! Every PNRP constant and implementation choice, with its spec default (timers MS-PNRP §3.1.2; the other
//! constants in the sections cited per field).
//!
//! A scenario's `[pnrp]` table deserializes into [`PnrpConfig`]; every field has the spec's default,
//! and every point the specification leaves open or states ambiguously is a field ("peerlab choice"
//! below), so that a run can log which variant ran.

use crate::Duration;
use serde::{Deserialize, Serialize};

/// Protocol constants and the knobs for points the specification leaves open; a scenario's `[pnrp]` table
/// overrides any of them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct PnrpConfig {
    // ---- timers (MS-PNRP §3.1.2) ----
    /// Maintenance timer period (MS-PNRP §3.1.2: 15 s).
    pub maintenance_period: Duration,
    /// Maintenance period while the cache is small (MS-PNRP §3.1.6.2/§3.2.6.2, Windows behaviour, MS-PNRP §6:
    /// 10 s while the cache has ≤ 2 entries).
    pub maintenance_period_small_cache: Duration,
    /// Cache size at or below which the short maintenance period applies (MS-PNRP §3.1.6.2/§3.2.6.2, Windows
    /// behaviour, MS-PNRP §6: 2).
    pub small_cache_maintenance_entries: usize,
    /// Retransmission timer of a Pending List entry (MS-PNRP §3.1.2, §3.1.6.3: 1 s).
    pub retransmit_interval: Duration,
    /// RetryCount of a Pending List entry: transmissions before failure (MS-PNRP §3.1.2, §3.1.6.3: 2).
    pub retry_count: u8,
    /// Publisher-side sync conversation timer (MS-PNRP §3.1.2, §3.2.5.3: 15 s, restarted by a repeated
    /// SOLICIT).
    pub conversation_timeout: Duration,
    /// CPA validity: Not After = signing time + this (MS-PNRP §3.1.2, §3.2.5.7: 12 h … 7 days).
    pub cpa_lifetime: Duration,
    /// Deadline of resolves the node starts itself: registration, maintenance, split tests (MS-PNRP
    /// §3.1.4.4.2, peerlab choice).
    pub internal_resolve_timeout: Duration,
    /// Re-run the registration resolve of every ID this often (MS-PNRP §3.2.4.1, peerlab choice re-announce);
    /// `None` = never.
    pub reannounce_period: Option<Duration>,
    /// Optional cache-entry TTL (MS-PNRP §3.2.1.1, peerlab choice: the spec defines none); `None` = entries
    /// never age out.
    pub cache_max_age: Option<Duration>,
    /// Cloud Cleanup Timer: how long an unused cloud keeps its state before it is deleted (MS-PNRP
    /// §3.1.2: 15 minutes; §3.1.6.1). Only a node whose host closed the cloud (`Command::CloseCloud`)
    /// and that has no registration and no running resolve starts it.
    pub cloud_cleanup_delay: Duration,

    // ---- sizes and limits (MS-PNRP §2.2.2, §3.1.4.4.2, §3.2.1) ----
    /// Leaf-set members per side of each registered ID (MS-PNRP §3.2.1: 5).
    pub leaf_set_side: usize,
    /// Entries per cache level (MS-PNRP §3.2.1.1; Windows behaviour, MS-PNRP §6 note <5>: 20).
    pub cache_level_capacity: usize,
    /// Number of cache levels; deeper entries are clamped to the last (MS-PNRP §3.2.1.1, peerlab choice).
    pub cache_levels_max: usize,
    /// A resolve stops when TotalUsefulHops exceeds this (MS-PNRP §3.1.4.4.2: 22).
    pub max_useful_hops: u32,
    /// A resolve stops when SuspiciousCount exceeds this (MS-PNRP §3.1.4.4.2: 6).
    pub max_suspicious: u32,
    /// A next hop is asked at most this many times (MS-PNRP §3.1.5.6.1: 3).
    pub hop_use_count_max: u8,
    /// Small-cache threshold: below it LOOKUPs carry the A flag and non-closer hops are kept (MS-PNRP
    /// §3.1.4.4.2, §3.1.5.6.1: 8).
    pub small_cache_entries: usize,
    /// Longest Flagged Path in a LOOKUP (MS-PNRP §2.2.2.8: 22).
    pub flagged_path_max: usize,
    /// Longest Already Flooded List (MS-PNRP §2.2.2.4: 22).
    pub already_flooded_max: usize,
    /// IDs offered per ADVERTISE (MS-PNRP §3.2.5.3: 5).
    pub advertise_ids: usize,
    /// Most IDs honoured from one REQUEST (bound, MS-PNRP §3.2.5.4, peerlab choice).
    pub request_ids_max: usize,
    /// Bootstrap endpoints contacted in one LocalOOB round (MS-PNRP §3.1.4.2, Windows behaviour, MS-PNRP §6:
    /// 10 most-recently-used nodes; (peerlab choice) our list is the configured seeds, taken from a seeded
    /// random offset so that joins spread over them). Default 2: a fresh node has no persisted MRU list, and
    /// each sync conversation costs ~20 datagrams (5 sync FLOODs, each INQUIREd), but its 5 IDs spread round
    /// the ring seed the upper cache levels: with 1, median resolve hops rise by one (stable-10k
    /// 4 → 5, 20,000 churning peers 5 → 6) for 9% fewer events. 10 = the Windows list size.
    pub local_oob_max: usize,
    /// Publisher-side conversation table size; when full SOLICITs get an empty ADVERTISE (MS-PNRP §3.2.5.3).
    pub conversation_table_max: usize,
    /// Pending Route Entry Add List size; further candidates are ignored (MS-PNRP §3.1.5.11).
    pub pending_adds_max: usize,
    /// Outstanding Resolves Table size; further resolves fail at once (MS-PNRP §3.1.4.4.2).
    pub ort_max: usize,
    /// Reassembly contexts kept at once (MS-PNRP §3.1.5.6, peerlab choice).
    pub reassembly_contexts_max: usize,
    /// Total bytes buffered by all reassembly contexts (MS-PNRP §3.1.5.6, peerlab choice).
    pub reassembly_bytes_max: usize,
    /// Pending List size; beyond it, new requests are not sent (bound everything, docs/architecture.md §7
    /// habit 7).
    pub pending_max: usize,

    // ---- resolve choices (MS-PNRP §3.1.4.4.2; peerlab choices) ----
    /// MS-PNRP §3.1.5.6.1, peerlab choice: an AUTHORITY without route entry marks the responder exhausted
    /// (`true`, recommended) instead of pushing it back to be re-asked (`false`, the literal spec).
    pub exhaust_hop_without_route_entry: bool,
    /// MS-PNRP §3.1.4.4.2, §3.1.6.3, peerlab choice: a LOOKUP timeout skips the hop (always) and evicts it
    /// from the cache (`true`).
    pub evict_on_lookup_timeout: bool,
    /// MS-PNRP §3.1.4.4.2, peerlab choice: a final INQUIRE timeout pops BestMatchStack first (`true`) rather
    /// than retrying it.
    pub pop_best_on_inquire_timeout: bool,
    /// MS-PNRP §3.1.4.4.2, peerlab choice: InitialBestMatch also becomes CurrentBestMatch so it rides in
    /// LOOKUPs (`true`).
    pub initial_best_match_is_current: bool,
    /// MS-PNRP §3.1.4.4.2, §3.1.5.6.1 (neither rule covers exactly 8), peerlab choice: a cache of exactly
    /// `small_cache_entries` counts as large (pops non-improving hops).
    pub small_cache_boundary_is_large: bool,
    /// App resolves start with CurrentBestMatch = our nearest registered ID (PickBestMatchFromLocalIds,
    /// MS-PNRP §3.1.4.4.2), so resolving our own name succeeds locally.
    pub app_resolve_picks_local_ids: bool,
    /// MS-PNRP §3.1.4.4.2, peerlab choice: a resolve with an empty cache fails at once and triggers
    /// rediscovery.
    pub rediscover_on_empty_resolve: bool,
    /// MS-PNRP §3.1.5.6/§3.1.5.2, peerlab choice: answers must come from the endpoint the request went to.
    pub require_answer_from_request_endpoint: bool,
    /// MS-PNRP §3.1.4.4.2, peerlab choice: a referral closer to the target than CurrentBestMatch is followed
    /// even when it is not closer than the responder's ID — needed when the responder answered N (it
    /// re-registered under a new ID at the same endpoint, and refers to that new ID).
    pub follow_referrals_closer_than_best: bool,
    /// MS-PNRP §3.1.4.4.2 / "Timeouts inside a resolve" (peerlab choice): when NextHopStack runs empty (dead
    /// hops timed out, or the referrals ran dry in a neighbourhood with stale knowledge), an app resolve
    /// restarts from the cache entry closest to the target whose endpoint it has not asked
    /// yet, at most this many times (within the hop limits); 0 = the literal spec.
    pub empty_stack_cache_restarts: u32,
    /// MS-PNRP §3.2.4.1 (the spec never says how the walk ends), peerlab choice: a registration walk ends
    /// after this many answers with L set (hops whose leaf set spans our ID and that know nothing closer:
    /// they admit and flood us).
    /// `None` = the literal walk, which re-asks every pushed-back hop (≤ 3×) until the 22-hop or
    /// the suspicious-answer limit — about 23 LOOKUPs per registration in a 2,000-peer cloud.
    pub registration_stop_after_leaf_answers: Option<u32>,
    /// Weights of the 3 closest candidates when answering a LOOKUP (MS-PNRP §3.2.5.2, peerlab choice: 3:2:1).
    pub lookup_answer_weights: [u32; 3],
    /// Answer LOOKUPs with B (busy) while the Pending List holds more than this (MS-PNRP §3.2.5.2, peerlab
    /// choice).
    pub busy_pending_threshold: Option<usize>,
    /// MS-PNRP §3.2.5.2, §3.2.5.3 (written as publisher rules), peerlab choice: every node with a cache
    /// answers SOLICIT/LOOKUP, not only publishers.
    pub resolvers_answer: bool,

    // ---- admission, flooding, revocation (MS-PNRP §3.1.5.11, §3.2.5.11, §3.2.4.2) ----
    /// MS-PNRP §3.1.5.11, peerlab choice: skip candidates already cached with the same endpoints or already
    /// pending.
    pub skip_known_route_entries: bool,
    /// MS-PNRP §3.2.1.1, Microsoft's PNRP patents vs (peerlab choice): the fraction of new candidates for a
    /// *full* cache level (outside every leaf set) that are INQUIREd and then replace a random entry. 1.0 =
    /// Windows' random replacement of every newcomer; below 1 saves the return-routability INQUIRE of most of
    /// them (levels 0–2 of a large cloud are always full and see most candidates) while still renewing
    /// the level over time. Dead entries leave on timeouts either way (MS-PNRP §3.2.1.1 entry lifetime).
    /// Default 1.0: at 0.1 a 20,000-peer hour sends ~1 M fewer INQUIREs, but caches renew slowly
    /// and 5% `poison` attackers cut honest success from 99.97% to 97.8% (stale caches meet
    /// poisoned referrals more often).
    pub full_level_admission: f64,
    /// (peerlab choice) leaf-set admission INQUIREs (A set) carry a fresh nonce. Default `false`: they carry
    /// none, so the publisher answers with its once-signed zero-nonce CPA and the verifier hits the signature
    /// cache — one signature per registration instead of one per INQUIRE, which is what makes 10^4+
    /// peers affordable. Return-routability still binds the address (the INQUIRE goes to it), and
    /// resolve-final INQUIREs always carry a fresh nonce.
    pub inquire_nonce_for_leaf_set: bool,
    /// MS-PNRP §3.2.5.11, informative, peerlab choice: the flooder adds its own endpoint to the Already
    /// Flooded List.
    pub flood_list_includes_self: bool,
    /// MS-PNRP §3.2.5.11, peerlab choice: the flood target on our own side of X must lie beyond us, so that
    /// waves always move outward (see `admit.rs`); `false` = the literal nearest-above/below rule.
    pub flood_outward_only: bool,
    /// MS-PNRP §3.2.5.11 (its text and its example disagree), peerlab choice: a node admitting X into a leaf
    /// set sends its own entry to X (not to the flood sender).
    pub flood_own_entry_to_new_member: bool,
    /// MS-PNRP §3.1.4.4.2, peerlab choice: a LOOKUP answered without N proves the responder's entry as the
    /// return-routability INQUIRE of MS-PNRP §3.1.5.11 would (the LOOKUP went to that address with Validate =
    /// its ID, and answers must come from the address asked), so a plain cache entry is stored
    /// without a second round trip; leaf-set candidates are still INQUIREd for their CPA.
    /// Default `false` (the literal MS-PNRP §3.1.5.11 INQUIRE for every responder): `true` saves ~3% of the
    /// datagrams of a 20,000-peer churning hour (291 k INQUIRE/AUTHORITY pairs), but over
    /// stable-10k seeds 1–3 and stable-100k it failed 45 of ~30 k resolves against 26 — within
    /// seed noise, yet leaning worse, and the saving is small.
    pub lookup_answer_proves_reachability: bool,
    /// MS-PNRP §3.2.5.4 vs the example of §4.1.2, peerlab choice: sync FLOODs are sent with D set (no ACK);
    /// D-clear FLOODs are always ACKed.
    pub sync_flood_dont_ack: bool,
    /// Forward revoke FLOODs along the leaf sets (described only in the example of MS-PNRP §4.3;
    /// peerlab choice).
    pub forward_revokes: bool,
    /// MS-PNRP §3.1.5.11, peerlab choice: a revoke only removes an entry whose admitted key (when known)
    /// equals the revoking key.
    pub revoke_requires_admitted_key: bool,
    /// When a leaf-set member goes, submit the next cached entries on that side for admission (MS-PNRP §3.2.1
    /// (peerlab choice): keeps leaf sets full after crashes without waiting for floods).
    pub refill_leaf_set_from_cache: bool,

    // ---- maintenance, split detection (MS-PNRP §3.1.6.2/§3.2.6.2, §3.2.6.2.1) ----
    /// MS-PNRP §3.1.6.2/§3.2.6.2, peerlab choice: a maintenance tick with nothing due sleeps to the tick (on
    /// the same grid) where its next work falls due, at most this many periods ahead (see `ticks.rs`); 0 =
    /// the literal timer, which wakes every node every period.
    pub maintenance_idle_ticks_max: u32,
    /// MS-PNRP §3.1.6.2/§3.2.6.2, Windows behaviour, MS-PNRP §6: cache-balancing resolves (UPPER_BITS into
    /// the largest gap of a level).
    pub cache_balancing: bool,
    /// Least time between two balancing resolves of one node (MS-PNRP §3.1.6.2/§3.2.6.2, peerlab choice;
    /// bounds maintenance traffic).
    pub balancing_interval: Duration,
    /// Every other balancing resolve probes the largest gap of a leaf set instead of a cache level
    /// (MS-PNRP §3.1.6.2/§3.2.6.2, peerlab choice: finds neighbours that no flood reached, e.g. after a split
    /// heals).
    pub leaf_set_probes: bool,
    /// MS-PNRP §3.2.1.1, Microsoft's conceptual docs "stale entries are dropped as time passes" (peerlab
    /// choice): every `leaf_set_liveness_interval`, send a plain INQUIRE to this many leaf-set members in
    /// turn; an N answer or a timeout evicts the member (and the refill of MS-PNRP §3.2.1 looks for the next
    /// one).
    /// 0 = off.
    pub leaf_set_liveness_probes: usize,
    /// The period of leaf-set liveness probes (checked on maintenance ticks; 15 s = every tick).
    pub leaf_set_liveness_interval: Duration,
    /// (peerlab choice) a member confirmed alive this recently is skipped by the probes: an admission
    /// answer or an ACK without N to a FLOOD naming it (MS-PNRP §3.1.5.4) proves it still holds its ID.
    /// Leaf-set neighbours exchange FLOODs whenever their neighbourhood changes, so under churn
    /// most members need no probe, and a quiet neighbourhood gets one probe per member per 300 s
    /// instead of one per tick (a crashed member leaves within ~5 minutes).
    pub leaf_set_liveness_quiet: Duration,
    /// A level's gap is "too large" when it exceeds this many times the level's mean spacing (MS-PNRP
    /// §3.1.6.2/§3.2.6.2, peerlab choice).
    pub balancing_gap_factor: u32,
    /// MS-PNRP §3.2.6.2.1: run split detection at all.
    pub split_detection: bool,
    /// Ksplit: per tick a publisher tests with probability min(1, Ksplit / estimated nodes) (MS-PNRP
    /// §3.2.6.2.1, peerlab choice).
    pub split_k: f64,
    /// Per-ID cloud-size estimates at or above this are ignored (MS-PNRP §3.2.6.2.1.1: 2^32).
    pub split_estimate_max: f64,
    /// MS-PNRP §3.2.6.2.1, peerlab choice: no split test of an ID within this long after its
    /// (re-)announcement walk started (its neighbourhood is still learning it; a test would see false
    /// splits).
    pub split_test_settle: Duration,
    /// MS-PNRP §3.2.6.2.1, peerlab choice: every application registration is followed, `split_test_settle`
    /// after its walk ends, by one split test of that ID. A node whose bootstrap and walk only met a stale
    /// corner of the ring (its leaf set spans a far wider arc than its true neighbours) is an
    /// island that the cloud-wide test rate (one node per tick) would find only after hours; this
    /// test walks from a seed through the main cloud and, finding neighbours we do not know, runs
    /// the repair walk. One extra walk per registration.
    pub split_test_after_registration: bool,
    /// MS-PNRP §3.2.6.2.1, peerlab choice: the split test's final INQUIRE asks for a CPA (A + X + C with a
    /// fresh nonce, as a resolve's final INQUIRE does). Default `false`: the analysis uses only the answer's
    /// route entry, so a plain INQUIRE does the same work without a signature per test.
    pub split_inquire_wants_cpa: bool,
    /// MS-PNRP §3.2.6.2.1 repair (peerlab choice): after a detected split, re-run each registration walk
    /// through the other part.
    pub split_repair_reregister: bool,

    // ---- wire encoding (MS-PNRP §2.2.3.1, §2.2.3.2, §3.2.5.9) ----
    /// Byte order of an RSA signature in the SIGNATURE structure (MS-PNRP §2.2.3.2). Default
    /// `"big-endian"`: MS-PNRP §3.2.5.9 fills Signature Data with the output of RSASSA-PKCS1-v1_5 as
    /// RFC 8017 §8.2 specifies, an octet string whose first byte is the most significant (I2OSP).
    /// `"little-endian"` is the order CryptoAPI's `CryptSignHash` writes, for talking to a peer that
    /// copies it unreversed; MS-PNRP never says Windows does. Ed25519 signatures (a peerlab scheme)
    /// are never reversed.
    pub rsa_signature_byte_order: crate::crypto::SignatureByteOrder,

    // ---- peerlab options beyond the specification ----
    /// peerlab option, off (`None`) by default as in MS-PNRP, which answers every INQUIRE
    /// (MS-PNRP §3.2.5.6): answer at most this many INQUIREs per source address per second,
    /// dropping the rest (`drops["inquire_rate_limited"]`). Bounds the reflection an
    /// unauthenticated INQUIRE buys (about 7 times its bytes and a signature); see `inquire_limit.rs`.
    pub inquire_answers_per_source: Option<u32>,

    // ---- test-only fault injection (see `peerlab explore` in the README) ----
    /// A deliberate bug for proving the simulator's bug-finding loop (explore, replay, shrink):
    /// `"skip-cpa-verify"` makes a resolve accept the final answer's CPA without checking its
    /// signature, nonce or expiry (breaks MS-PNRP §3.1.5.7). Absent in every real configuration.
    #[doc(hidden)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inject_bug: Option<String>,
}

impl Default for PnrpConfig {
    fn default() -> Self {
        PnrpConfig {
            maintenance_period: Duration::from_secs(15),
            maintenance_period_small_cache: Duration::from_secs(10),
            small_cache_maintenance_entries: 2,
            retransmit_interval: Duration::from_secs(1),
            retry_count: 2,
            conversation_timeout: Duration::from_secs(15),
            cpa_lifetime: Duration::from_secs(24 * 3600),
            internal_resolve_timeout: Duration::from_secs(60),
            reannounce_period: Some(Duration::from_secs(6 * 3600)),
            cache_max_age: None,
            cloud_cleanup_delay: Duration::from_secs(15 * 60),
            leaf_set_side: 5,
            cache_level_capacity: 20,
            cache_levels_max: 24,
            max_useful_hops: 22,
            max_suspicious: 6,
            hop_use_count_max: 3,
            small_cache_entries: 8,
            flagged_path_max: 22,
            already_flooded_max: 22,
            advertise_ids: 5,
            request_ids_max: 32,
            local_oob_max: 2,
            conversation_table_max: 64,
            pending_adds_max: 256,
            ort_max: 1024,
            reassembly_contexts_max: 64,
            reassembly_bytes_max: 256 * 1024,
            pending_max: 8192,
            exhaust_hop_without_route_entry: true,
            evict_on_lookup_timeout: true,
            pop_best_on_inquire_timeout: true,
            initial_best_match_is_current: true,
            small_cache_boundary_is_large: true,
            app_resolve_picks_local_ids: true,
            rediscover_on_empty_resolve: true,
            require_answer_from_request_endpoint: true,
            follow_referrals_closer_than_best: true,
            empty_stack_cache_restarts: 4,
            registration_stop_after_leaf_answers: Some(3),
            lookup_answer_weights: [3, 2, 1],
            busy_pending_threshold: None,
            resolvers_answer: true,
            skip_known_route_entries: true,
            full_level_admission: 1.0,
            inquire_nonce_for_leaf_set: false,
            flood_list_includes_self: true,
            flood_outward_only: true,
            flood_own_entry_to_new_member: true,
            lookup_answer_proves_reachability: false,
            sync_flood_dont_ack: true,
            forward_revokes: true,
            revoke_requires_admitted_key: true,
            refill_leaf_set_from_cache: true,
            maintenance_idle_ticks_max: 8,
            cache_balancing: true,
            balancing_interval: Duration::from_secs(300),
            leaf_set_probes: true,
            balancing_gap_factor: 4,
            leaf_set_liveness_probes: 1,
            leaf_set_liveness_interval: Duration::from_secs(15),
            leaf_set_liveness_quiet: Duration::from_secs(300),
            split_detection: true,
            split_k: 1.0,
            split_estimate_max: 4_294_967_296.0,
            split_test_settle: Duration::from_secs(60),
            split_test_after_registration: true,
            split_inquire_wants_cpa: false,
            split_repair_reregister: true,
            rsa_signature_byte_order: crate::crypto::SignatureByteOrder::BigEndian,
            inquire_answers_per_source: None,
            inject_bug: None,
        }
    }
}

/// The bugs `inject_bug` knows (test-only).
#[doc(hidden)]
pub const INJECTABLE_BUGS: &[&str] = &["skip-cpa-verify"];

impl PnrpConfig {
    /// True when the test-only bug `name` is injected.
    #[doc(hidden)]
    pub fn injects(&self, name: &str) -> bool {
        self.inject_bug.as_deref() == Some(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_bugs_can_be_injected_and_none_by_default() {
        let mut c = PnrpConfig::default();
        assert!(!c.injects("skip-cpa-verify"));
        c.inject_bug = Some("skip-cpa-verify".into());
        assert_eq!(c.validate(), Ok(()));
        assert!(c.injects("skip-cpa-verify"));
        c.inject_bug = Some("typo".into());
        assert!(c.validate().unwrap_err().contains("inject_bug"));
    }

    #[test]
    fn defaults_are_the_spec_values_and_valid() {
        let c = PnrpConfig::default();
        assert_eq!(c.maintenance_period, Duration::from_secs(15));
        assert_eq!(c.retry_count, 2);
        assert_eq!(c.max_useful_hops, 22);
        assert_eq!(c.max_suspicious, 6);
        assert_eq!(c.leaf_set_side, 5);
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn impossible_values_are_rejected() {
        let c = PnrpConfig {
            retry_count: 0,
            ..PnrpConfig::default()
        };
        assert!(c.validate().unwrap_err().contains("retry_count"));
        let c = PnrpConfig {
            flagged_path_max: 23,
            ..PnrpConfig::default()
        };
        assert!(c.validate().is_err());
        let c = PnrpConfig {
            maintenance_period: Duration::ZERO,
            ..PnrpConfig::default()
        };
        assert!(c.validate().is_err());
        let c = PnrpConfig {
            split_k: f64::NAN,
            ..PnrpConfig::default()
        };
        assert!(c.validate().is_err());
    }
}
