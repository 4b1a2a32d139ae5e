//! Setting the graph's members up: roles (creator, honest, attackers), peer ids, node ids, skewed
//! clocks, and each session's engine (a fresh one, or the one kept from the last session).

use super::{GCore, GraphPeer, GraphingPlan, GraphingProtocol, Member, Role};
use crate::plan::Plan;
use crate::world::PeerSpec;
use peerlab_engine::graphing::GraphNode;
use peerlab_engine::Endpoint;
use std::collections::BTreeMap;

/// Member `peer`'s peer id (MS-PPGRH §1.1: a user identity; here one per member).
pub fn peer_id(peer: u32) -> String {
    format!("member-{peer}")
}

/// One spec per member, groups in file order; the creator group's first member creates the
/// graph and stays up; each attacker table takes the last members of its group.
pub(super) fn specs(plan: &Plan, g: &GraphingPlan) -> Vec<PeerSpec<GraphPeer>> {
    let mut specs = Vec::new();
    for (gi, group) in plan.groups.iter().enumerate() {
        let n = group.joins.len();
        let mut roles = vec![Role::Member; n];
        if gi == g.creator_group && n > 0 {
            roles[0] = Role::Creator;
        }
        let mut next = n;
        for a in g.attackers.iter().filter(|a| a.group == gi) {
            for _ in 0..a.count {
                // Validation leaves room: never the creator, never past the group's start.
                if next == 0 || roles[next - 1] == Role::Creator {
                    break;
                }
                next -= 1;
                roles[next] = Role::Attacker(a.behaviour);
            }
        }
        for role in roles {
            specs.push(PeerSpec {
                group: Some(gi),
                fixed: role == Role::Creator,
                data: GraphPeer {
                    role,
                    own: Vec::new(),
                    ops: BTreeMap::new(),
                    join_asked: None,
                    synchronized_at: None,
                },
            });
        }
    }
    specs
}

/// The engine for `peer`'s new session at `ep`: the kept one when it still listens there (the
/// member reopens its graph with its database), else a fresh node.
pub(super) fn build(
    proto: &mut GraphingProtocol,
    core: &GCore,
    peer: u32,
    ep: Endpoint,
    rng_seed: [u8; 32],
) -> Box<Member> {
    let table = &proto.plan.table;
    let config = table.config(&peer_id(peer));
    let listen = Endpoint::new(ep.addr, config.port);
    let data = &core.peer(peer).data;
    let mut member = match proto.kept.remove(&peer) {
        Some(kept) if kept.node().listen_endpoint() == listen => {
            proto.reopened.insert(peer);
            kept
        }
        other => {
            if other.is_some() {
                proto.metrics.retire(peer);
            }
            let clock = super::clock::local_clock(core.plan.seed, peer, table.clock_skew.0);
            // Node ids are 64 random bits per session (MS-PPGRH §1.1); from the node's own seed.
            let node_id = u64::from_be_bytes(rng_seed[..8].try_into().expect("8 of 32 bytes"));
            let node = GraphNode::new(config, node_id, clock, rng_seed, listen);
            Box::new(match data.role {
                Role::Attacker(b) => Member::attacker(node, b),
                Role::Creator | Role::Member => Member::honest(node),
            })
        }
    };
    if let Role::Attacker(_) = data.role {
        let started = proto
            .plan
            .attackers
            .iter()
            .any(|a| a.start <= core.now() && core.peer(peer).group() == Some(a.group));
        if started {
            member.start_attack();
        }
    }
    member
}
