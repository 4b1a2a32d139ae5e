//! The periodic sample of a graph (`graph_sample` records, docs/graphing.md "Metrics"): the
//! neighbor graph (degrees, components, diameter), database divergence, peer-time spread,
//! presence and contact counts, signature agreement; and what repairs after faults take.

use super::convergence::{db_digest, diverged};
use super::tally::Tally;
use super::topology::NeighborGraph;
use super::{GCore, GraphingProtocol, Role};
use crate::fingerprint::Fingerprint;
use peerlab_engine::graphing::{PeerTime, CONTACT_TYPE, PRESENCE_TYPE};
use peerlab_engine::Instant;
use peerlab_reports::{GraphSample, Record, Sample};
use std::collections::BTreeMap;

/// What the plug-in measures across samples.
#[derive(Debug, Default)]
pub(super) struct Metrics {
    /// Counters of engines retired and of members offline at the end.
    pub(super) tally: Tally,
    /// Last counters of each ended session whose engine is kept (replaced when it comes back).
    pub(super) kept_stats: BTreeMap<u32, Tally>,
    samples: u64,
    degree_sum: Vec<u64>,
    diameter_max: u32,
    diverged_max: f64,
    spread_max_ms: f64,
    /// Heals whose repair was measured; repair times (heal → one component), seconds.
    heals_seen: usize,
    repairs_s: Vec<f64>,
    /// The lowest live node id and when it last changed because its owner left.
    min_id: Option<u64>,
    min_changed: Option<Instant>,
    signature_convergence_s: Vec<f64>,
    /// Samples with members whose contact count lay in [Cmin, Cmax], and their sum.
    contacts_in_band: f64,
    contact_samples: u64,
}

/// The contact band [Cmin, Cmax] for signature `s` (MS-PPGRH §3.1.7.12), as `formula` computes
/// Cmin; peerlab's `at-least-five` keeps it at 5 or more.
pub fn contact_band(s: u64, at_least_five: bool) -> (f64, f64) {
    let printed = if s >= 1 << 60 {
        5.0
    } else {
        60.0 - (s.max(1) as f64).log2()
    };
    let cmin = if at_least_five { printed.max(5.0) } else { printed };
    (cmin, cmin + 5.0)
}

/// One member's figures at a sample.
struct View {
    peer: u32,
    node_id: u64,
    neighbors: Vec<u64>,
    settled: bool,
    peer_time: PeerTime,
    signature: Option<u64>,
}

impl GraphingProtocol {
    /// Takes one sample: a `sample` record (traffic by message type) and a `graph_sample` record.
    pub(super) fn sample_now(&mut self, core: &mut GCore) {
        let now = core.now();
        let settle = self.plan.table.settle;
        let views: Vec<View> = (0..core.peers().len() as u32)
            .filter_map(|peer| {
                let p = core.peer(peer);
                let m = p.node()?.node();
                (m.in_graph() && !matches!(p.data.role, Role::Attacker(_))).then(|| View {
                    peer,
                    node_id: m.node_id(),
                    neighbors: m.neighbors(),
                    settled: p.data.synchronized_at.is_some_and(|t| t + settle <= now),
                    peer_time: m.peer_time(now),
                    signature: m.signature(),
                })
            })
            .collect();
        let index: BTreeMap<u64, u32> = views
            .iter()
            .enumerate()
            .map(|(i, v)| (v.node_id, i as u32))
            .collect();
        let mut graph = NeighborGraph::new(views.len());
        for (i, v) in views.iter().enumerate() {
            for n in &v.neighbors {
                if let Some(&j) = index.get(n) {
                    graph.link(i as u32, j);
                }
            }
        }
        let labels = graph.components();
        let components = labels.iter().max().map_or(0, |m| *m as u64 + 1);
        let paths = graph.paths();
        let horizon = views
            .iter()
            .map(|v| v.peer_time)
            .max()
            .unwrap_or_default()
            .plus(settle);
        let (mut records, mut presence, mut contacts) = (0u64, 0u64, 0u64);
        let mut settled_labels = Vec::new();
        let mut digests: Vec<Fingerprint> = Vec::new();
        for (i, v) in views.iter().enumerate() {
            let m = core.peer(v.peer).node().expect("in the view").node();
            for r in m.records() {
                records += 1;
                presence += (r.record_type == PRESENCE_TYPE && !r.deleted) as u64;
                contacts += (r.record_type == CONTACT_TYPE && !r.deleted) as u64;
            }
            if v.settled {
                settled_labels.push(labels[i]);
                digests.push(db_digest(m.records(), horizon));
            }
        }
        let off: usize = diverged(&settled_labels, &digests).values().map(Vec::len).sum();
        let n = views.len().max(1) as f64;
        let (pt_min, pt_max) = views.iter().fold((u64::MAX, 0u64), |(lo, hi), v| {
            (lo.min(v.peer_time.0), hi.max(v.peer_time.0))
        });
        let spread_ms = if views.is_empty() {
            0.0
        } else {
            (pt_max - pt_min) as f64 / 1e4
        };
        let agreement = self.signature_agreement(now, &views, &labels);
        self.contact_band_share(&views, contacts as f64 / n);
        self.repairs(core, components);
        let m = &mut self.metrics;
        m.samples += 1;
        let hist = graph.degree_histogram();
        if m.degree_sum.len() < hist.len() {
            m.degree_sum.resize(hist.len(), 0);
        }
        for (s, h) in m.degree_sum.iter_mut().zip(&hist) {
            *s += h;
        }
        m.diameter_max = m.diameter_max.max(paths.diameter);
        m.spread_max_ms = m.spread_max_ms.max(spread_ms);
        if !digests.is_empty() {
            m.diverged_max = m.diverged_max.max(off as f64 / digests.len() as f64);
        }
        let gs = GraphSample {
            t_us: now.as_micros(),
            members: views.len() as u64,
            degree_histogram: hist,
            components,
            diameter: paths.diameter,
            diameter_exact: paths.exact,
            mean_path: paths.mean_path,
            compared: digests.len() as u64,
            diverged: off as u64,
            records_mean: records as f64 / n,
            peer_time_spread_ms: spread_ms,
            presence_mean: presence as f64 / n,
            contacts_mean: contacts as f64 / n,
            signature_agreement: agreement,
        };
        let traffic = core.traffic();
        let names = core.kind_names();
        let sample = Sample {
            t_us: now.as_micros(),
            live_peers: core.live().total(),
            events: core.events(),
            messages: names
                .iter()
                .zip(&traffic.messages)
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            bytes: names
                .iter()
                .zip(&traffic.bytes)
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            ..Sample::default()
        };
        core.record(Record::Sample(sample));
        core.record(Record::GraphSample(gs));
        self.judge_settled(core, horizon);
    }

    /// Share of members whose signature is their component's lowest node id; notes how long the
    /// graph took to agree again after the lowest member left (MS-PPGRH §3.1.7.11).
    fn signature_agreement(&mut self, now: Instant, views: &[View], labels: &[u32]) -> f64 {
        let mut lowest: BTreeMap<u32, u64> = BTreeMap::new();
        for (v, &c) in views.iter().zip(labels) {
            let e = lowest.entry(c).or_insert(u64::MAX);
            *e = (*e).min(v.node_id);
        }
        let agree = views
            .iter()
            .zip(labels)
            .filter(|(v, c)| v.signature == lowest.get(c).copied())
            .count();
        let share = if views.is_empty() {
            1.0
        } else {
            agree as f64 / views.len() as f64
        };
        let min_id = views.iter().map(|v| v.node_id).min();
        let m = &mut self.metrics;
        if m.min_id.is_some() && min_id.is_some() && min_id > m.min_id {
            m.min_changed = Some(now);
        }
        if min_id.is_some() {
            m.min_id = min_id;
        }
        if let (Some(t0), true) = (m.min_changed, share >= 1.0) {
            m.signature_convergence_s
                .push(now.saturating_since(t0).as_secs_f64());
            m.min_changed = None;
        }
        share
    }

    fn contact_band_share(&mut self, views: &[View], contacts_mean: f64) {
        let at_least_five =
            self.plan.table.contact_formula == crate::scenario::ContactFormulaKey::AtLeastFive;
        let Some(s) = views.iter().map(|v| v.node_id).min() else {
            return;
        };
        let (lo, hi) = contact_band(s, at_least_five);
        let m = &mut self.metrics;
        m.contact_samples += 1;
        m.contacts_in_band += (contacts_mean >= lo.floor() && contacts_mean <= hi.ceil()) as u64 as f64;
    }

    /// After each partition heal: how long until the neighbor graph is one component again.
    fn repairs(&mut self, core: &GCore, components: u64) {
        let m = &mut self.metrics;
        while let Some(&heal) = core.heals().get(m.heals_seen) {
            if components > 1 {
                return;
            }
            m.repairs_s.push(core.now().saturating_since(heal).as_secs_f64());
            m.heals_seen += 1;
        }
    }

    /// Headline figures of the samples, into `out`.
    pub(super) fn sample_metrics(&self, out: &mut BTreeMap<String, f64>) {
        let m = &self.metrics;
        let total: u64 = m.degree_sum.iter().sum();
        for (d, n) in m.degree_sum.iter().enumerate() {
            if *n > 0 {
                out.insert(format!("graphing.degree.{d}"), *n as f64 / total.max(1) as f64);
            }
        }
        let mean = m
            .degree_sum
            .iter()
            .enumerate()
            .map(|(d, n)| d as f64 * *n as f64)
            .sum::<f64>()
            / total.max(1) as f64;
        out.insert("graphing.degree_mean".into(), mean);
        out.insert("graphing.diameter_max".into(), m.diameter_max as f64);
        out.insert("graphing.divergence_max".into(), m.diverged_max);
        out.insert("graphing.peer_time_spread_max_ms".into(), m.spread_max_ms);
        if m.contact_samples > 0 {
            out.insert(
                "graphing.contacts_in_band".into(),
                m.contacts_in_band / m.contact_samples as f64,
            );
        }
        if let Some(worst) = m.repairs_s.iter().copied().reduce(f64::max) {
            out.insert("graphing.partition_repair_s".into(), worst);
        }
        if let Some(worst) = m.signature_convergence_s.iter().copied().reduce(f64::max) {
            out.insert("graphing.signature_convergence_s".into(), worst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contact_band_follows_the_printed_formula_or_stays_at_five() {
        // MS-PPGRH §3.1.7.12: 5 when S ≥ 2^60, 60 − log2 S below.
        assert_eq!(contact_band(1 << 61, false), (5.0, 10.0));
        assert_eq!(contact_band(1 << 54, false), (6.0, 11.0));
        // Just below 2^60 the printed formula drops to about 0.
        assert!(contact_band((1 << 60) - 1, false).0 < 0.1);
        assert_eq!(contact_band((1 << 60) - 1, true), (5.0, 10.0));
    }
}
