//! The engines' counters summed over members and sessions, and the headline figures made of them
//! (docs/graphing.md "Metrics"): duplicates per delivery, useful-ACK fraction, bytes per sync by
//! mode, REFUSE hops per join, background refresh load.

use super::{GCore, GraphingProtocol};
use peerlab_engine::graphing::GraphStats;
use std::collections::BTreeMap;

/// The counters the figures need, summed.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Tally {
    floods_sent: u64,
    floods_new: u64,
    duplicates: u64,
    floods_old: u64,
    floods_invalid: u64,
    acks_useful: u64,
    acks_useless: u64,
    refusals_received: u64,
    connects: u64,
    neighbors_added: u64,
    neighbors_pruned: u64,
    protocol_errors: u64,
    syncs: [u64; 3],
    sync_bytes: [u64; 3],
    refreshes: u64,
    signature_claims: u64,
}

/// Sync modes in `GraphStats` order (MS-PPGRH §3.1.7.29-31).
const SYNC_MODES: [&str; 3] = ["all", "time", "hash"];

impl Tally {
    /// One engine's counters.
    pub fn of(s: &GraphStats) -> Tally {
        Tally {
            floods_sent: s.floods_sent,
            floods_new: s.floods_new,
            duplicates: s.duplicates,
            floods_old: s.floods_old,
            floods_invalid: s.floods_invalid,
            acks_useful: s.acks_useful,
            acks_useless: s.acks_useless,
            refusals_received: s.refusals_received.iter().sum(),
            connects: s.connects,
            neighbors_added: s.neighbors_added,
            neighbors_pruned: s.neighbors_pruned,
            protocol_errors: s.protocol_errors,
            syncs: s.syncs_completed,
            sync_bytes: s.sync_bytes,
            refreshes: s.refreshes,
            signature_claims: s.signature_claims,
        }
    }

    /// Adds `o` in.
    pub fn add(&mut self, o: &Tally) {
        let pairs = [
            (&mut self.floods_sent, o.floods_sent),
            (&mut self.floods_new, o.floods_new),
            (&mut self.duplicates, o.duplicates),
            (&mut self.floods_old, o.floods_old),
            (&mut self.floods_invalid, o.floods_invalid),
            (&mut self.acks_useful, o.acks_useful),
            (&mut self.acks_useless, o.acks_useless),
            (&mut self.refusals_received, o.refusals_received),
            (&mut self.connects, o.connects),
            (&mut self.neighbors_added, o.neighbors_added),
            (&mut self.neighbors_pruned, o.neighbors_pruned),
            (&mut self.protocol_errors, o.protocol_errors),
            (&mut self.refreshes, o.refreshes),
            (&mut self.signature_claims, o.signature_claims),
        ];
        for (a, b) in pairs {
            *a += b;
        }
        for i in 0..3 {
            self.syncs[i] += o.syncs[i];
            self.sync_bytes[i] += o.sync_bytes[i];
        }
    }

    /// The figures, with `joins` joins completed and `run_s` simulated seconds.
    pub fn metrics(&self, joins: u64, run_s: f64, out: &mut BTreeMap<String, f64>) {
        let per = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        out.insert("graphing.floods_sent".into(), self.floods_sent as f64);
        out.insert(
            "graphing.duplicates_per_delivery".into(),
            per(self.duplicates, self.floods_new),
        );
        out.insert("graphing.old_copies_received".into(), self.floods_old as f64);
        out.insert("graphing.invalid_records".into(), self.floods_invalid as f64);
        out.insert(
            "graphing.ack_useful_fraction".into(),
            per(self.acks_useful, self.acks_useful + self.acks_useless),
        );
        out.insert(
            "graphing.refusals_per_join".into(),
            per(self.refusals_received, joins),
        );
        out.insert("graphing.connects".into(), self.connects as f64);
        out.insert("graphing.neighbors_added".into(), self.neighbors_added as f64);
        out.insert("graphing.neighbors_pruned".into(), self.neighbors_pruned as f64);
        out.insert("graphing.protocol_errors".into(), self.protocol_errors as f64);
        out.insert("graphing.signature_claims".into(), self.signature_claims as f64);
        if run_s > 0.0 {
            out.insert("graphing.refreshes_per_s".into(), self.refreshes as f64 / run_s);
        }
        for (i, mode) in SYNC_MODES.iter().enumerate() {
            out.insert(format!("graphing.sync.{mode}.count"), self.syncs[i] as f64);
            if self.syncs[i] > 0 {
                out.insert(
                    format!("graphing.sync.{mode}.bytes_mean"),
                    per(self.sync_bytes[i], self.syncs[i]),
                );
            }
        }
    }
}

impl super::sample::Metrics {
    /// Member `peer`'s session ended with counters `s`; its engine is kept for its next session.
    pub(super) fn fold_stats(&mut self, peer: u32, s: &GraphStats) {
        self.kept_stats.insert(peer, Tally::of(s));
    }

    /// Member `peer`'s kept engine was replaced by a fresh one: its counters are final.
    pub(super) fn retire(&mut self, peer: u32) {
        if let Some(t) = self.kept_stats.remove(&peer) {
            self.tally.add(&t);
        }
    }
}

impl GraphingProtocol {
    /// Every engine's counters: retired ones, kept ones of offline members, live ones.
    pub(super) fn total_tally(&self, core: &GCore) -> Tally {
        let m = &self.metrics;
        let mut t = m.tally;
        for (peer, kept) in &m.kept_stats {
            if !core.peer(*peer).online() {
                t.add(kept);
            }
        }
        for p in core.peers() {
            if let Some(member) = p.node() {
                t.add(&Tally::of(member.node().stats()));
            }
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_ratios_of_the_summed_counters() {
        let s = GraphStats {
            floods_new: 10,
            duplicates: 15,
            acks_useful: 3,
            acks_useless: 1,
            refusals_received: [2, 0, 1, 0],
            syncs_completed: [2, 0, 1],
            sync_bytes: [1_000, 0, 60],
            refreshes: 30,
            ..GraphStats::default()
        };
        let mut t = Tally::of(&s);
        t.add(&Tally::of(&s));
        let mut m = BTreeMap::new();
        t.metrics(4, 60.0, &mut m);
        assert_eq!(m["graphing.duplicates_per_delivery"], 1.5);
        assert_eq!(m["graphing.ack_useful_fraction"], 0.75);
        assert_eq!(m["graphing.refusals_per_join"], 1.5);
        assert_eq!(m["graphing.sync.all.bytes_mean"], 500.0);
        assert_eq!(m["graphing.sync.hash.bytes_mean"], 60.0);
        assert!(!m.contains_key("graphing.sync.time.bytes_mean"));
        assert_eq!(m["graphing.refreshes_per_s"], 1.0);
    }
}
