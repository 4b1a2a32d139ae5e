//! When the invariants are judged: `max_neighbors` after every input of a member (MS-PPGRH
//! §3.1.1: responders refuse beyond it), `graph_converged` (convergence.rs) and
//! `conflict_winner` (conflict.rs) once the graph has been quiet for `settle`.

use super::convergence::{db_digest, diverged, first_difference};
use super::{GCore, GraphingProtocol, Role};
use crate::fingerprint::Fingerprint;
use peerlab_engine::graphing::PeerTime;
use std::collections::BTreeMap;

/// `max_neighbors`: no member holds more CONNECTED neighbor links than `[graphing] max_neighbors`.
pub(super) fn check_degree(core: &mut GCore, peer: u32) {
    let Some(m) = core.peer(peer).node() else { return };
    let (degree, max) = (m.node().neighbors().len(), m.node().config().max_neighbors);
    if degree > max {
        core.violation_once(peer, "max_neighbors", || {
            format!("member {peer} has {degree} neighbors, above the maximum of {max} (MS-PPGRH §3.1.1)")
        });
    }
}

impl GraphingProtocol {
    /// Once the graph has been quiet for `settle` since its last disturbance, judges the settled
    /// members' databases (each disturbance once).
    pub(super) fn judge_settled(&mut self, core: &mut GCore, horizon: PeerTime) {
        let now = core.now();
        if self.disturbed + self.plan.table.settle > now || self.judged == Some(self.disturbed) {
            return;
        }
        self.judged = Some(self.disturbed);
        let settle = self.plan.table.settle;
        // Settled honest members, their node ids and links.
        let members: Vec<u32> = (0..core.peers().len() as u32)
            .filter(|&p| {
                let peer = core.peer(p);
                peer.online()
                    && !matches!(peer.data.role, Role::Attacker(_))
                    && peer.data.synchronized_at.is_some_and(|t| t + settle <= now)
            })
            .collect();
        let node = |p: u32| core.peer(p).node().expect("online").node();
        let ids: BTreeMap<u64, usize> = members
            .iter()
            .enumerate()
            .map(|(i, &p)| (node(p).node_id(), i))
            .collect();
        let mut graph = super::topology::NeighborGraph::new(members.len());
        for (i, &p) in members.iter().enumerate() {
            for n in node(p).neighbors() {
                if let Some(&j) = ids.get(&n) {
                    graph.link(i as u32, j as u32);
                }
            }
        }
        let labels = graph.components();
        let digests: Vec<Fingerprint> = members
            .iter()
            .map(|&p| db_digest(node(p).records(), horizon))
            .collect();
        let mut found = Vec::new();
        for (c, off) in diverged(&labels, &digests) {
            let reference = labels.iter().position(|&l| l == c).filter(|&r| !off.contains(&r));
            let Some(r) = reference.or_else(|| labels.iter().position(|&l| l == c)) else {
                continue;
            };
            for &m in off.iter().take(3) {
                let (a, b) = (members[m], members[r]);
                if let Some((id, ha, hb)) = first_difference(node(a).records(), node(b).records(), horizon) {
                    found.push((a, format!(
                        "{} settled members of a component of {} disagree; member {a} holds {ha} of record {id}, member {b} holds {hb}",
                        off.len(),
                        labels.iter().filter(|&&l| l == c).count()
                    )));
                }
            }
        }
        let mut label_of = vec![u32::MAX; core.peers().len()];
        for (i, &p) in members.iter().enumerate() {
            label_of[p as usize] = labels[i];
        }
        for &p in &members {
            let label = label_of[p as usize];
            let same_component = |q: u32| label_of[q as usize] == label;
            for id in self.published.ids() {
                let Some(held) = node(p).record(id) else { continue };
                if let Some((by, c)) = self.published.beating(held, horizon, same_component) {
                    found.push((p, format!(
                        "member {p} keeps version {} of record {id}, which loses to the copy member {by} published (version {}, modified by {:?}); MS-PPGRH §3.1.7.32",
                        held.version, c.version, c.modified_by
                    )));
                    break;
                }
            }
        }
        for (peer, detail) in found {
            let invariant = if detail.contains("loses to") {
                "conflict_winner"
            } else {
                "graph_converged"
            };
            core.violation(peer, invariant, detail);
        }
    }
}
