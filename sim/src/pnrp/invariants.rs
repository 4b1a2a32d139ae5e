//! PNRP's safety invariants checked as events happen and at every sample, and liveness after
//! partitions heal (docs/architecture.md §4 "Oracle and invariants").
//!
//! Every check compares what an engine holds with a bound from its configuration or with the
//! oracle. A breach that persists (a cache over its bound stays over it) is recorded once per
//! (node, invariant), at the first event that shows it, so a run's records stay small and the
//! first failure is exact.

use super::{PCore, PnrpProtocol};
use crate::world::WORLD_NODE;
use peerlab_engine::Endpoint;

/// Safety checks on one peer's engine after it handled an input (docs/architecture.md §7 habit 7:
/// every bound is the configuration's).
pub(super) fn check_peer(core: &mut PCore, peer: u32) {
    let Some(node) = core.peer(peer).node() else {
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
        core.violation_once(peer, invariant, || detail);
    }
}

impl PnrpProtocol {
    /// "No forged or unverified CPA accepted" for leaf sets, which admit only
    /// CPA-verified entries (MS-PNRP §3.1.5.11): a leaf-set member whose verified route (the leaf
    /// set's own copy, not the cache's, which a plain admission may re-point) leads to an attacker
    /// must be one of that attacker's own registrations. Attackers claim other IDs only with CPAs
    /// that cannot verify (a victim's authority under the attacker's key, or a replayed CPA whose
    /// addresses are not the attacker's), so a correct engine never admits such an entry.
    /// Unsecured names are left out: their CPAs prove nothing (MS-PNRP §1.3.1.3), so an attacker may claim
    /// them. Checked at every sample, over every online honest peer.
    pub(super) fn check_forged_leaf_entries(&mut self, core: &mut PCore) {
        let mut found: Vec<(u32, String)> = Vec::new();
        for (i, p) in core.peers().iter().enumerate() {
            let (None, Some(node)) = (p.data.attacker, p.node()) else {
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
                        let Some(attacker) = core.peers().get(a as usize) else {
                            continue;
                        };
                        if attacker.data.attacker.is_none() || self.oracle.is_unsecured_id(&m) {
                            continue;
                        }
                        let own = attacker
                            .node()
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
            core.violation_once(node, "forged_leaf_entry_accepted", || detail);
        }
    }

    /// Liveness after a heal: once `liveness_within` has passed since a heal, the sampled
    /// leaf-set correctness must reach the scenario's `min_leafset_correct` (judged at the first
    /// sample after the deadline; not judged when the scenario states no minimum).
    pub(super) fn check_convergence(&mut self, core: &mut PCore, leafset_correct: f64) {
        let Some(min_ppm) = core.plan.checks.min_leafset_correct_ppm else {
            return;
        };
        while let Some(&heal) = core.heals().get(self.judged_heals) {
            let deadline = heal + core.plan.checks.liveness_within;
            if core.now() < deadline {
                return;
            }
            self.judged_heals += 1;
            if leafset_correct * 1e6 < min_ppm as f64 {
                let detail = format!(
                    "{:.2}% of leaf sets match the oracle {} after the heal at {}, required {:.2}%",
                    leafset_correct * 100.0,
                    core.now().saturating_since(heal),
                    heal.since_epoch(),
                    min_ppm as f64 / 1e4
                );
                core.violation(WORLD_NODE, "leafset_not_converged", detail);
            }
        }
    }
}
