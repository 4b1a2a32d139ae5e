//! End-of-run verdicts on the scenario's `[checks]`, and PNRP's headline figures that go into
//! `summary.json`'s `metrics`.

use super::{OpKind, PCore, PnrpProtocol};
use crate::world::CheckVerdict;
use peerlab_engine::pnrp::{MessageType, PnrpStats};
use peerlab_reports::group_digits;
use std::collections::BTreeMap;

impl PnrpProtocol {
    /// Evaluates the scenario's checks against what happened.
    pub(super) fn evaluate_checks(&self, core: &PCore) -> Vec<CheckVerdict> {
        let checks = &core.plan.checks;
        let mut out = Vec::new();
        for kind in [OpKind::Resolve, OpKind::Register] {
            let (ok, failed) = self.count_ops(core, kind);
            if ok + failed == 0 {
                continue;
            }
            let ratio_ppm = failed * 1_000_000 / (ok + failed);
            out.push(CheckVerdict {
                name: format!("max_failed_ratio.{}", kind.name()),
                passed: ratio_ppm <= checks.max_failed_ppm as u64,
                detail: format!(
                    "{} of {} failed ({:.3}%), allowed {:.3}%",
                    group_digits(failed),
                    group_digits(ok + failed),
                    ratio_ppm as f64 / 1e4,
                    checks.max_failed_ppm as f64 / 1e4
                ),
            });
        }
        out.extend(core.no_violations_verdict());
        let windows = partition_windows(core);
        for heal in core.heals() {
            let from = *heal + checks.liveness_within;
            // A later partition's own window is not this heal's to judge: it has its own check
            // (and its resolves are expected to fail while the network is cut).
            let after: Vec<bool> = self
                .metrics
                .resolves
                .iter()
                .filter(|(t, _)| *t >= from && !windows.iter().any(|(a, b)| t >= a && t < b))
                .map(|(_, ok)| *ok)
                .collect();
            if after.is_empty() {
                continue;
            }
            let failed = after.iter().filter(|ok| !**ok).count() as u64;
            let ratio_ppm = failed * 1_000_000 / after.len() as u64;
            out.push(CheckVerdict {
                name: format!("liveness_after_heal@{}", heal.since_epoch()),
                passed: ratio_ppm <= checks.max_failed_ppm as u64,
                detail: format!(
                    "resolves started ≥ {} after the heal: {} of {} failed",
                    checks.liveness_within,
                    group_digits(failed),
                    group_digits(after.len() as u64)
                ),
            });
        }
        if let Some(min) = checks.min_leafset_correct_ppm {
            let got = self.metrics.leafset_correct;
            let publishers = self.metrics.leafset_publishers;
            // With no publisher the figure is vacuous: a check asking for converged leaf sets
            // cannot pass on a cloud where no name was registered.
            out.push(CheckVerdict {
                name: "min_leafset_correct".into(),
                passed: publishers > 0 && got * 1e6 >= min as f64,
                detail: if publishers == 0 {
                    format!(
                        "undefined: no registered name at the end, required {:.2}%",
                        min as f64 / 1e4
                    )
                } else {
                    format!(
                        "{:.2}% of {} publishers correct at the end, required {:.2}%",
                        got * 100.0,
                        group_digits(publishers),
                        min as f64 / 1e4
                    )
                },
            });
        }
        out
    }

    /// (succeeded, failed) of `kind` for the `max_failed_ratio` check. Resolves started while a
    /// partition was in force, or before it had `liveness_within` to heal, are left out: a cut
    /// network is expected to fail them, and the liveness check judges the recovery instead.
    fn count_ops(&self, core: &PCore, kind: OpKind) -> (u64, u64) {
        if kind == OpKind::Resolve {
            let windows = partition_windows(core);
            let counted: Vec<bool> = self
                .metrics
                .resolves
                .iter()
                .filter(|(t, _)| !windows.iter().any(|(a, b)| t >= a && t < b))
                .map(|(_, ok)| *ok)
                .collect();
            let ok = counted.iter().filter(|ok| **ok).count() as u64;
            return (ok, counted.len() as u64 - ok);
        }
        self.metrics.ops_total.get(kind.name()).copied().unwrap_or((0, 0))
    }

    /// PNRP's headline figures (dotted names) for `summary.json`; the world adds `net.*`.
    pub(super) fn headline_metrics(&self, core: &PCore) -> BTreeMap<String, f64> {
        let mut m = BTreeMap::new();
        let secs = core.now().since_epoch().as_secs_f64().max(1e-9);
        let traffic = core.traffic();
        let total_msgs: u64 = traffic.messages.iter().sum();
        let total_bytes: u64 = traffic.bytes.iter().sum();
        let resolves = self.metrics.resolves.len().max(1) as f64;
        let peer_secs = (core.peers_max().max(1)) as f64 * secs;
        m.insert(
            "pnrp.messages_per_peer_per_s".into(),
            total_msgs as f64 / peer_secs,
        );
        m.insert("pnrp.bytes_per_peer_per_s".into(), total_bytes as f64 / peer_secs);
        let lookup = traffic.messages[MessageType::Lookup.index()] as f64;
        m.insert("pnrp.lookups_per_resolve".into(), lookup / resolves);
        m.insert("pnrp.leafset_correct".into(), self.metrics.leafset_correct);
        if self.metrics.leafset_sum.1 > 0 {
            m.insert(
                "pnrp.leafset_correct_mean".into(),
                self.metrics.leafset_sum.0 / self.metrics.leafset_sum.1 as f64,
            );
        }
        m.insert("pnrp.cache_entries_mean".into(), self.metrics.cache_mean);
        for (l, v) in self.metrics.cache_levels.iter().enumerate() {
            m.insert(format!("pnrp.cache_level_{l}"), *v);
        }
        m.insert("pnrp.forged_accepted".into(), self.metrics.forged_accepted as f64);
        let windows = partition_windows(core);
        if !windows.is_empty() {
            let during: Vec<bool> = self
                .metrics
                .resolves
                .iter()
                .filter(|(t, _)| windows.iter().any(|(a, b)| t >= a && t < b))
                .map(|(_, ok)| *ok)
                .collect();
            if !during.is_empty() {
                let ok = during.iter().filter(|ok| **ok).count();
                m.insert(
                    "pnrp.resolve_success_during_partition".into(),
                    ok as f64 / during.len() as f64,
                );
            }
        }
        m.insert(
            "pnrp.split_detections".into(),
            self.metrics.split_detected.len() as f64,
        );
        if let Some(heal) = core.heals().first() {
            if let Some(t) = self.metrics.split_detected.iter().find(|t| *t >= heal) {
                m.insert(
                    "pnrp.split_detect_after_heal_s".into(),
                    t.saturating_since(*heal).as_secs_f64(),
                );
            }
            if let Some(t) = self.recovery_time(*heal) {
                m.insert("pnrp.recovery_after_heal_s".into(), t);
            }
        }
        self.attack_metrics(core, &mut m);
        self.engine_metrics(core, &mut m);
        m
    }

    /// Seconds after `heal` from which every resolve (started then) succeeded, if that happened.
    fn recovery_time(&self, heal: peerlab_engine::Instant) -> Option<f64> {
        let after: Vec<_> = self.metrics.resolves.iter().filter(|(t, _)| *t >= heal).collect();
        let last_fail = after.iter().rev().find(|(_, ok)| !*ok);
        match last_fail {
            None => after.first().map(|_| 0.0),
            Some((t, _)) => {
                let later_ok = after.iter().any(|(u, ok)| *ok && u > t);
                later_ok.then(|| t.saturating_since(heal).as_secs_f64())
            }
        }
    }

    /// Sums of engine counters over every engine that ran (departed ones were folded in as they
    /// left).
    fn engine_metrics(&self, core: &PCore, m: &mut BTreeMap<String, f64>) {
        let mut sum = self.metrics.engine.clone();
        for p in core.peers() {
            if let Some(node) = p.node() {
                fold_stats(&mut sum, node.stats());
            }
        }
        m.extend(sum);
    }
}

/// Partition windows, each extended by the liveness allowance after its heal.
fn partition_windows(core: &PCore) -> Vec<(peerlab_engine::Instant, peerlab_engine::Instant)> {
    core.plan
        .faults
        .iter()
        .filter(|f| matches!(f.kind, crate::plan::FaultKind::Partition { .. }))
        .map(|f| {
            let end = f.until.map_or(peerlab_engine::Instant::MAX, |u| {
                u + core.plan.checks.liveness_within
            });
            (f.at, end)
        })
        .collect()
}

/// Adds one engine's counters into `acc` under `pnrp.engine.*` names.
pub(super) fn fold_stats(acc: &mut BTreeMap<String, f64>, s: &PnrpStats) {
    let mut add = |k: String, v: u64| {
        if v > 0 {
            *acc.entry(k).or_default() += v as f64;
        }
    };
    for t in MessageType::ALL {
        add(
            format!("pnrp.engine.retransmissions.{}", t.name()),
            s.retransmissions[t.index()],
        );
        add(
            format!("pnrp.engine.timeouts.{}", t.name()),
            s.timeouts[t.index()],
        );
    }
    for (k, v) in &s.drops {
        add(format!("pnrp.engine.drops.{k}"), *v);
    }
    for (k, v) in &s.cpa_rejected {
        add(format!("pnrp.engine.cpa_rejected.{k}"), *v);
    }
    for (k, v) in &s.payload_rejected {
        add(format!("pnrp.engine.payload_rejected.{k}"), *v);
    }
    add("pnrp.engine.payloads_served".into(), s.payloads_served);
    add("pnrp.engine.payloads_accepted".into(), s.payloads_accepted);
    for (k, v) in &s.evictions {
        add(format!("pnrp.engine.evictions.{k}"), *v);
    }
    add("pnrp.engine.cache_admissions".into(), s.cache_admissions);
    add("pnrp.engine.leaf_set_admissions".into(), s.leaf_set_admissions);
    add("pnrp.engine.admission_inquires".into(), s.admission_inquires);
    add("pnrp.engine.syncs_started".into(), s.syncs_started);
    add("pnrp.engine.discoveries".into(), s.discoveries);
    add("pnrp.engine.resolves_started".into(), s.resolves_started);
    add("pnrp.engine.resolves_ok".into(), s.resolves_ok);
    add("pnrp.engine.resolves_failed".into(), s.resolves_failed);
    add("pnrp.engine.registrations_done".into(), s.registrations_done);
    add("pnrp.engine.maintenance_resolves".into(), s.maintenance_resolves);
    add("pnrp.engine.split_tests_run".into(), s.split_tests_run);
    add("pnrp.engine.splits_detected".into(), s.splits_detected);
    add("pnrp.engine.revokes_accepted".into(), s.revokes_accepted);
    add("pnrp.engine.reassembled_buffers".into(), s.reassembled_buffers);
    add("pnrp.engine.liveness_probes".into(), s.liveness_probes);
    add(
        "pnrp.engine.admissions_by_lookup_answer".into(),
        s.admissions_by_lookup_answer,
    );
    add(
        "pnrp.engine.admissions_skipped_full_level".into(),
        s.admissions_skipped_full_level,
    );
}
