//! Safety invariants checked as events happen, liveness after faults heal, and the bookkeeping
//! that lets `explore`, `replay` and `--stop-on-violation` find the first failure
//! (docs/architecture.md §4 "Oracle and invariants").
//!
//! Every check compares what an engine holds with a bound from its configuration or with the
//! oracle. A breach is recorded as a `Record::Violation` through `World::violation`; a breach that
//! persists (a cache over its bound stays over it) is recorded once per (node, invariant), at the
//! first event that shows it, so a run's records stay small and the first failure is exact.

use super::{Role, World};
use crate::fingerprint::Fingerprint;
use peerlab_engine::pnrp::PnrpId;
use peerlab_engine::{Endpoint, Instant};
use peerlab_reports::Violation;
use std::collections::{BTreeMap, BTreeSet};

/// Violations kept in memory for `first_violations` (the records hold them all).
const KEPT_VIOLATIONS_MAX: usize = 256;

/// Node index used for violations that concern the whole world rather than one peer.
pub const WORLD_NODE: u32 = u32::MAX;

/// What the invariant checkers remember during a run.
#[derive(Debug, Default)]
pub(crate) struct InvariantState {
    /// (node, invariant) pairs already reported by the per-event state checks.
    reported: BTreeSet<(u32, &'static str)>,
    /// The first violations of the run, in order (at most `KEPT_VIOLATIONS_MAX`).
    first: Vec<Violation>,
    /// Violations per invariant over the whole run.
    counts: BTreeMap<String, u64>,
    /// Stop the run after the event that recorded the first violation.
    stop_on_violation: bool,
    /// A violation was recorded during the current event.
    fresh: bool,
    /// Heals whose leaf-set convergence was judged already.
    judged_heals: usize,
    /// Per-event fingerprints, when the determinism diagnosis asks for them.
    hash_log: Option<Vec<(Instant, Fingerprint)>>,
}

impl InvariantState {
    /// Notes one recorded violation.
    pub(crate) fn note(&mut self, v: &Violation) {
        *self.counts.entry(v.invariant.clone()).or_default() += 1;
        if self.first.len() < KEPT_VIOLATIONS_MAX {
            self.first.push(v.clone());
        }
        self.fresh = true;
    }
}

impl World {
    /// Stops the run after the first event that records a violation (`--stop-on-violation`).
    pub fn set_stop_on_violation(&mut self, on: bool) {
        self.inv.stop_on_violation = on;
    }

    /// Keeps the fingerprint after every event, for naming the first diverging event.
    pub fn keep_hash_log(&mut self) {
        self.inv.hash_log = Some(Vec::new());
    }

    /// The per-event (time, fingerprint) log kept since `keep_hash_log`, index 0 = event 1.
    pub fn hash_log(&self) -> &[(Instant, Fingerprint)] {
        self.inv.hash_log.as_deref().unwrap_or(&[])
    }

    /// The first violations recorded (in order; at most 256 are kept in memory).
    pub fn first_violations(&self) -> &[Violation] {
        &self.inv.first
    }

    /// Violations per invariant over the whole run.
    pub fn violation_counts(&self) -> &BTreeMap<String, u64> {
        &self.inv.counts
    }

    /// The oracle's true leaf set (below, above) of `id`, for state dumps.
    pub fn true_leaf_set(&self, id: PnrpId) -> (Vec<PnrpId>, Vec<PnrpId>) {
        self.oracle.true_leaf_set(self.oracle.cloud_of_id(&id), id)
    }

    /// Peer `index`'s role, if it exists.
    pub fn role(&self, index: u32) -> Option<Role> {
        self.peers.get(index as usize).map(|p| p.role)
    }

    /// Called after every event: logs the fingerprint when asked; true when the run must stop
    /// because a violation was recorded and `--stop-on-violation` is on.
    pub(super) fn after_event_checks(&mut self) -> bool {
        if let Some(log) = self.inv.hash_log.as_mut() {
            log.push((self.now, self.fp.clone()));
        }
        let stop = self.inv.stop_on_violation && self.inv.fresh;
        self.inv.fresh = false;
        stop
    }

    /// Records `invariant` on `node` unless it was reported for that node already.
    fn violation_once(&mut self, node: u32, invariant: &'static str, detail: impl FnOnce() -> String) {
        if self.inv.reported.insert((node, invariant)) {
            let detail = detail();
            self.violation(node, invariant, detail);
        }
    }

    /// Safety checks on one peer's engine after it handled an input (docs/architecture.md §7 habit 7: every
    /// bound is the configuration's).
    pub(super) fn check_peer(&mut self, peer: u32) {
        let Some(node) = self.peers[peer as usize].node.as_deref() else {
            return;
        };
        let cfg = node.config();
        let mut found: Vec<(&'static str, String)> = Vec::new();
        // MS-PNRP §3.2.1.1: each level holds `cache_level_capacity` entries; leaf-set members are kept
        // beyond it (MS-PNRP §3.2.1), so a level may exceed it by at most both leaf sides of every
        // registered ID (a peer with several names has a leaf set per name).
        let leaf_sets = node.registered_ids().count().max(1);
        let level_max = cfg.cache_level_capacity + 2 * cfg.leaf_set_side * leaf_sets;
        // One pass, no allocation: this runs every few inputs.
        let (mut depth, mut over) = (0, None);
        for (l, s) in node.cache_level_sizes_iter().enumerate() {
            depth = l + 1;
            if over.is_none() && s > level_max {
                over = Some((l, s));
            }
        }
        if let Some((l, s)) = over {
            found.push((
                "cache_level_bound",
                format!("level {l} holds {s} > {level_max} entries"),
            ));
        }
        if depth > cfg.cache_levels_max {
            found.push((
                "cache_level_bound",
                format!("{depth} levels > {}", cfg.cache_levels_max),
            ));
        }
        let (ort, pending, adds) = node.table_sizes();
        for (what, len, max) in [
            ("outstanding resolves", ort, cfg.ort_max),
            ("pending list", pending, cfg.pending_max),
            ("pending cache adds", adds, cfg.pending_adds_max),
        ] {
            if len > max {
                found.push(("table_bound", format!("{what}: {len} > {max}")));
            }
        }
        let (contexts, bytes) = node.reassembly_usage();
        if contexts > cfg.reassembly_contexts_max || bytes > cfg.reassembly_bytes_max {
            found.push((
                "reassembly_bound",
                format!(
                    "{contexts} contexts / {bytes} bytes > {} / {}",
                    cfg.reassembly_contexts_max, cfg.reassembly_bytes_max
                ),
            ));
        }
        for id in node.registered_ids() {
            // MS-PNRP §3.2.1.1: a node never caches its own registered IDs.
            if node.cached_route(id).is_some() {
                found.push(("cache_holds_self", format!("registered ID {id} is in the cache")));
            }
            if let Some((below, above)) = node.leaf_members(id) {
                if below.len() > cfg.leaf_set_side || above.len() > cfg.leaf_set_side {
                    found.push((
                        "leaf_set_bound",
                        format!(
                            "leaf set of {id}: {} below, {} above > {}",
                            below.len(),
                            above.len(),
                            cfg.leaf_set_side
                        ),
                    ));
                }
                if below.iter().chain(above).any(|r| r.id == id) {
                    found.push(("cache_holds_self", format!("{id} is in its own leaf set")));
                }
            }
        }
        for (invariant, detail) in found {
            self.violation_once(peer, invariant, || detail);
        }
    }

    /// "Nothing is sent to an address that never existed", for honest senders.
    ///
    /// (peerlab choice) An address inside the simulated plan whose peer never had that address generation
    /// is always a violation: no honest path can learn it. An address outside the plan is a
    /// violation only when the scenario has no attackers: poisoning attackers invent such
    /// addresses on purpose (`attack.rs`) and honest peers legitimately try them before the
    /// INQUIRE fails; those sends are counted as `net.dropped.no_such_address` instead.
    pub(super) fn check_destination(&mut self, from: u32, to: &Endpoint) {
        if !matches!(self.peers[from as usize].role, Role::Honest { .. }) {
            return;
        }
        match crate::addr::peer_of(to) {
            Some((i, g)) if (i as usize) < self.peers.len() => {
                debug_assert_eq!(self.generations[i as usize], self.peers[i as usize].generation);
                let current = self.generations[i as usize].max(1);
                if g > current {
                    self.violation_once(from, "sent_to_unassigned_address", || {
                        format!("{to} is generation {g} of peer {i}, which is only at {current}")
                    });
                }
            }
            _ if self.plan.attackers.is_empty() => {
                self.violation_once(from, "sent_to_nonexistent_address", || {
                    format!("{to} belongs to no simulated peer")
                });
            }
            _ => {}
        }
    }

    /// True when one of `endpoints` is an address peer `owner` had in an earlier address
    /// generation (an answer overtaken by an address change is stale, not wrong).
    pub(super) fn was_owners_address(&self, owner: u32, endpoints: &[Endpoint]) -> bool {
        endpoints.iter().any(|ep| {
            crate::addr::peer_of(ep)
                .is_some_and(|(i, g)| i == owner && g <= self.peers[owner as usize].generation.max(1))
        })
    }

    /// "No forged or unverified CPA accepted" for leaf sets, which admit only
    /// CPA-verified entries (MS-PNRP §3.1.5.11): a leaf-set member whose verified route (the leaf
    /// set's own copy, not the cache's, which a plain admission may re-point) leads to an attacker
    /// must be one of that attacker's own registrations. Attackers claim other IDs only with CPAs
    /// that cannot verify (a victim's authority under the attacker's key, or a replayed CPA whose
    /// addresses are not the attacker's), so a correct engine never admits such an entry.
    /// Unsecured names are left out: their CPAs prove nothing (MS-PNRP §1.3.1.3), so an attacker may claim
    /// them. Checked at every sample, over every online honest peer.
    pub(super) fn check_forged_leaf_entries(&mut self) {
        let mut found: Vec<(u32, String)> = Vec::new();
        for (i, p) in self.peers.iter().enumerate() {
            let (Role::Honest { .. }, Some(node)) = (p.role, p.node.as_deref()) else {
                continue;
            };
            for id in node.registered_ids() {
                let Some((below, above)) = node.leaf_members(id) else {
                    continue;
                };
                for route in below.iter().chain(above) {
                    let m = route.id;
                    for addr in route.addrs.iter() {
                        let ep = Endpoint::new(*addr, route.port);
                        let Some((a, _)) = crate::addr::peer_of(&ep) else {
                            continue;
                        };
                        let Some(attacker) = self.peers.get(a as usize) else {
                            continue;
                        };
                        if !matches!(attacker.role, Role::Attacker(_)) || self.oracle.is_unsecured_id(&m) {
                            continue;
                        }
                        let own = attacker
                            .node
                            .as_deref()
                            .is_some_and(|n| n.registered_ids().any(|r| r == m));
                        if !own {
                            found.push((
                                i as u32,
                                format!("leaf set of {id} holds {m} at attacker {a} ({ep}), which never registered it"),
                            ));
                        }
                    }
                }
            }
        }
        for (node, detail) in found {
            self.violation_once(node, "forged_leaf_entry_accepted", || detail);
        }
    }

    /// Liveness after a heal: once `liveness_within` has passed since a heal, the sampled
    /// leaf-set correctness must reach the scenario's `min_leafset_correct` (judged at the first
    /// sample after the deadline; not judged when the scenario states no minimum).
    pub(super) fn check_convergence(&mut self, leafset_correct: f64) {
        let Some(min_ppm) = self.plan.checks.min_leafset_correct_ppm else {
            return;
        };
        while let Some(&heal) = self.metrics.heals.get(self.inv.judged_heals) {
            let deadline = heal + self.plan.checks.liveness_within;
            if self.now < deadline {
                return;
            }
            self.inv.judged_heals += 1;
            if leafset_correct * 1e6 < min_ppm as f64 {
                let detail = format!(
                    "{:.2}% of leaf sets match the oracle {} after the heal at {}, required {:.2}%",
                    leafset_correct * 100.0,
                    self.now.saturating_since(heal),
                    heal.since_epoch(),
                    min_ppm as f64 / 1e4
                );
                self.violation(WORLD_NODE, "leafset_not_converged", detail);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(invariant: &str, event_index: u64) -> Violation {
        Violation {
            seed: 1,
            t_us: event_index * 10,
            event_index,
            node: 3,
            invariant: invariant.into(),
            detail: String::new(),
        }
    }

    #[test]
    fn notes_count_every_violation_but_keep_a_bounded_prefix() {
        let mut s = InvariantState::default();
        for i in 0..(KEPT_VIOLATIONS_MAX as u64 + 10) {
            s.note(&v(if i % 2 == 0 { "a" } else { "b" }, i));
        }
        assert_eq!(s.first.len(), KEPT_VIOLATIONS_MAX);
        assert_eq!(s.first[0].event_index, 0);
        assert_eq!(s.counts["a"] + s.counts["b"], KEPT_VIOLATIONS_MAX as u64 + 10);
        assert!(s.fresh);
    }
}
