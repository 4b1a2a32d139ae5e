//! Peers coming and going: population at start, joins, churn (leave, crash, rejoin with the same
//! identity), seed servers, and faults that act on peers (crash, address change, partitions).

use super::{Ev, Peer, Role, World};
use crate::addr::endpoint_of;
use crate::delegations::add_delegated_name;
use crate::plan::{FaultKind, PartitionSides, Plan};
use peerlab_engine::crypto::Identity;
use peerlab_engine::pnrp::{self, PeerName, PnrpNode};
use peerlab_engine::{derive_seed, Duration, Instant};
use peerlab_reports::Phase;
use rand::seq::SliceRandom;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Total peers a plan creates (groups, then attackers).
pub fn total_peers(plan: &Plan) -> u32 {
    let honest: usize = plan.groups.iter().map(|g| g.joins.len()).sum();
    let attackers: usize = plan.attackers.iter().map(|a| a.joins.len()).sum();
    (honest + attackers) as u32
}

/// Live peers, per group and in total, with O(1) insert, remove and random pick.
#[derive(Default, Debug)]
pub struct LiveSets {
    /// Live honest members of each group.
    groups: Vec<Vec<u32>>,
    /// Position of each peer in its group's vector (u32::MAX when not live).
    pos: Vec<u32>,
    total: u64,
}

impl LiveSets {
    fn ensure(&mut self, groups: usize, peers: usize) {
        self.groups.resize_with(groups, Vec::new);
        self.pos.resize(peers, u32::MAX);
    }
    fn insert(&mut self, group: usize, peer: u32) {
        if self.pos[peer as usize] == u32::MAX {
            self.pos[peer as usize] = self.groups[group].len() as u32;
            self.groups[group].push(peer);
        }
    }
    fn remove(&mut self, group: usize, peer: u32) {
        let p = self.pos[peer as usize];
        if p == u32::MAX {
            return;
        }
        let v = &mut self.groups[group];
        v.swap_remove(p as usize);
        if let Some(&moved) = v.get(p as usize) {
            self.pos[moved as usize] = p;
        }
        self.pos[peer as usize] = u32::MAX;
    }
    /// Live members of `group`.
    pub fn group(&self, group: usize) -> &[u32] {
        &self.groups[group]
    }
    /// Live peers in total, attackers included.
    pub fn total(&self) -> u64 {
        self.total
    }
}

impl World {
    /// Creates every peer (offline), its identity and its names.
    pub(super) fn populate(&mut self) {
        let plan = self.plan.clone();
        let total = total_peers(&plan) as usize;
        // Key generation is the costly part of set-up (RSA-1024): generate in parallel; each key
        // comes from its own derived seed, so the result does not depend on the thread count.
        let identities: Vec<Arc<Identity>> = (0..total as u64)
            .into_par_iter()
            .map(|i| Identity::generate(plan.scheme, derive_seed(plan.seed, "identity", i)))
            .collect();
        self.live.ensure(plan.groups.len(), total);
        // Each cloud bootstraps through its own seed servers (MS-PNRP §1.3.3).
        let seed_counts = plan.seed_counts();
        self.seeds = vec![Vec::new(); plan.clouds.len().max(1)];
        let mut index = 0u32;
        // MS-PNRP §1.3.2: a group with delegated names has one authority key that never joins; its
        // delegations stay valid a week past the end of the run.
        let until = Instant::ZERO + plan.duration + Duration::from_secs(7 * 86_400);
        for (gi, g) in plan.groups.iter().enumerate() {
            let authority = (g.delegated_ppm > 0)
                .then(|| Identity::generate(plan.scheme, derive_seed(plan.seed, "authority", gi as u64)));
            for member in 0..g.joins.len() {
                let identity = identities[index as usize].clone();
                let seed_server = (member as u32) < seed_counts[gi];
                let resolve_only = (member as u64 * 1_000_000 / g.joins.len().max(1) as u64)
                    < g.resolve_only_ppm as u64
                    && !seed_server;
                if seed_server {
                    self.seeds[g.cloud as usize].push(endpoint_of(index, 1));
                }
                let mut names = Vec::new();
                let delegated = crate::delegations::is_delegated(member, g.delegated_ppm);
                if !resolve_only {
                    for k in 0..g.secured_names {
                        let classifier = format!("{}-{member}-s{k}", g.name);
                        if let (true, Some(auth)) = (delegated, &authority) {
                            let at = (index, g.cloud);
                            let idx =
                                add_delegated_name(&mut self.oracle, auth, &classifier, &identity, at, until);
                            names.push(idx);
                            continue;
                        }
                        let name = PeerName::secured(identity.authority(), &classifier)
                            .expect("generated classifiers are short and NUL-free");
                        names.push(self.oracle.add_name(name, index, g.cloud));
                    }
                    for k in 0..g.unsecured_names {
                        let classifier = format!("{}-{member}-u{k}", g.name);
                        let name = PeerName::unsecured(&classifier).expect("generated classifiers are valid");
                        names.push(self.oracle.add_name(name, index, g.cloud));
                    }
                }
                for n in &names {
                    self.oracle.set_payload(*n, g.payload_bytes);
                }
                self.peers.push(Peer {
                    role: Role::Honest { group: gi },
                    node: None,
                    generation: 1,
                    incarnation: 0,
                    identity: Some(identity),
                    names,
                    resolve_only,
                    seed_server,
                    timer_armed: None,
                    wake: None,
                    ops: BTreeMap::new(),
                });
                index += 1;
            }
        }
        for a in &plan.attackers {
            for _ in 0..a.joins.len() {
                let identity = identities[index as usize].clone();
                self.peers.push(Peer {
                    role: Role::Attacker(a.behaviour),
                    node: None,
                    generation: 1,
                    incarnation: 0,
                    identity: Some(identity),
                    names: Vec::new(),
                    resolve_only: false,
                    seed_server: false,
                    timer_armed: None,
                    wake: None,
                    ops: BTreeMap::new(),
                });
                index += 1;
            }
        }
    }

    /// Schedules joins, workloads, faults, samples and the end.
    pub(super) fn schedule_initial(&mut self) {
        let plan = self.plan.clone();
        let mut index = 0u32;
        for g in &plan.groups {
            for &at in &g.joins {
                // Seed servers are up from the start: bootstrap needs them (MS-PNRP §3.1.4.2).
                let at = if self.peers[index as usize].seed_server {
                    Instant::ZERO
                } else {
                    at
                };
                self.queue.push(at, Ev::Join { peer: index });
                index += 1;
            }
        }
        for a in &plan.attackers {
            for &at in &a.joins {
                self.queue.push(at, Ev::Join { peer: index });
                index += 1;
            }
            self.phases.push(Phase {
                kind: "attack".into(),
                label: format!("{} × {}", a.count, a.behaviour.name()),
                start_us: a.start.as_micros(),
                end_us: u64::MAX,
            });
        }
        for (i, w) in plan.workloads.iter().enumerate() {
            self.queue.push(w.start, Ev::Workload { index: i as u16 });
        }
        for (i, f) in plan.faults.iter().enumerate() {
            self.queue.push(f.at, Ev::FaultStart { index: i as u16 });
            if let Some(until) = f.until {
                self.queue.push(until, Ev::FaultEnd { index: i as u16 });
            }
            let end_us = f.until.map_or(u64::MAX, |u| u.as_micros());
            self.phases.push(Phase {
                kind: "fault".into(),
                label: f.label.clone(),
                start_us: f.at.as_micros(),
                end_us,
            });
        }
        self.queue.push(Instant::ZERO + plan.sample_every, Ev::Sample);
        self.queue.push(Instant::ZERO + plan.duration, Ev::Stop);
    }

    /// Brings a peer online with a fresh engine and registers its names.
    pub(super) fn join(&mut self, peer: u32) {
        let p = &self.peers[peer as usize];
        if p.online() {
            return;
        }
        let ep = p.endpoint(peer);
        let cloud = self.cloud_of(peer);
        let seeds: Vec<_> = self.seeds[cloud as usize]
            .iter()
            .copied()
            .filter(|s| *s != ep)
            .collect();
        let incarnation = p.incarnation + 1;
        let rng_seed = derive_seed(self.plan.seed, "node", ((peer as u64) << 20) | incarnation as u64);
        let node = Box::new(PnrpNode::new(
            self.plan.pnrp.clone(),
            ep,
            seeds,
            rng_seed,
            self.now,
        ));
        self.engines[peer as usize] = std::ptr::from_ref::<PnrpNode>(&node).addr();
        let p = &mut self.peers[peer as usize];
        p.node = Some(node);
        p.incarnation = incarnation;
        p.timer_armed = None;
        if let Role::Honest { group } = p.role {
            self.live.insert(group, peer);
        }
        self.live.total += 1;
        self.peers_max = self.peers_max.max(self.live.total);
        self.drain(peer);
        match self.peers[peer as usize].role {
            Role::Honest { group } => {
                // Join-time registrations get the deadline the engine gives a registration walk
                // (`pnrp.internal_resolve_timeout`, MS-PNRP §3.2.4.1): one waiting longer for its
                // cache to fill has failed.
                let deadline = self.plan.pnrp.internal_resolve_timeout;
                for name in self.peers[peer as usize].names.clone() {
                    self.register(peer, name, deadline);
                }
                self.schedule_leave(peer, group);
            }
            Role::Attacker(_) => self.attacker_joined(peer),
        }
    }

    /// The cloud `peer` belongs to: its group's; attackers join the first group's cloud.
    pub(super) fn cloud_of(&self, peer: u32) -> u16 {
        match self.peers[peer as usize].role {
            Role::Honest { group } => self.plan.groups[group].cloud,
            Role::Attacker(_) => 0,
        }
    }

    fn schedule_leave(&mut self, peer: u32, group: usize) {
        let p = &self.peers[peer as usize];
        if p.seed_server {
            return; // seed servers stay up: they are the cloud's fixed entry points
        }
        if let Some(session) = &self.plan.groups[group].session {
            let length = session.sample(&mut self.rng.churn);
            let incarnation = p.incarnation;
            self.queue
                .push(self.now + length, Ev::Leave { peer, incarnation });
        }
    }

    /// Takes a peer offline: gracefully (unregister, revoke floods) or as a crash.
    pub(super) fn leave(&mut self, peer: u32, incarnation: u32) {
        let p = &self.peers[peer as usize];
        if !p.online() || p.incarnation != incarnation {
            return;
        }
        let Role::Honest { group } = p.role else { return };
        let g = &self.plan.groups[group];
        let (graceful, rejoin) = (g.graceful_leave, g.rejoin_after);
        self.go_offline(peer, graceful);
        if let Some(after) = rejoin {
            self.queue.push(self.now + after, Ev::Rejoin { peer });
        }
    }

    /// Removes the engine; a graceful leave first lets it unregister everything.
    pub(super) fn go_offline(&mut self, peer: u32, graceful: bool) {
        // The asker's own operations end here whichever way it leaves: take them before the
        // engine sees Leave, so the `Closed` completions Leave emits are not judged as protocol
        // failures; they are recorded as `source_left` below, exactly as after a crash.
        let ops = std::mem::take(&mut self.peers[peer as usize].ops);
        if graceful {
            self.command(peer, pnrp::Command::Leave);
        }
        for name in self.peers[peer as usize].names.clone() {
            self.oracle.withdrawn(name);
        }
        let p = &mut self.peers[peer as usize];
        let Some(node) = p.node.take() else { return };
        p.wake = None;
        self.engines[peer as usize] = 0;
        let role = p.role;
        super::checks::fold_stats(&mut self.metrics.engine, node.stats());
        self.session_ended(peer, node.stats());
        if let Role::Honest { group } = role {
            self.live.remove(group, peer);
        }
        self.live.total -= 1;
        for (_, op) in ops {
            self.op_aborted(peer, op);
        }
    }

    pub(super) fn fault_start(&mut self, index: usize) {
        let plan = self.plan.clone();
        let f = &plan.faults[index];
        match &f.kind {
            FaultKind::Partition { sides, one_way } => {
                let assign = self.partition_sides(sides);
                self.net.partition(assign, one_way.then_some((0, 1)));
            }
            FaultKind::Crash {
                count,
                groups,
                restart_after,
            } => {
                for peer in self.pick_live(*count, groups) {
                    self.go_offline(peer, false);
                    if let Some(after) = restart_after {
                        self.queue.push(self.now + *after, Ev::Rejoin { peer });
                    }
                }
            }
            FaultKind::AddressChange { count, groups } => {
                for peer in self.pick_live(*count, groups) {
                    self.change_address(peer);
                }
            }
            // Loss and latency windows were handed to the network model at start.
            FaultKind::Loss { .. } | FaultKind::Latency { .. } => {}
        }
    }

    pub(super) fn fault_end(&mut self, index: usize) {
        let plan = self.plan.clone();
        match &plan.faults[index].kind {
            FaultKind::Partition { .. } => {
                self.net.heal();
                self.metrics.heals.push(self.now);
            }
            FaultKind::Loss { .. } | FaultKind::Latency { .. } => {}
            FaultKind::Crash { .. } | FaultKind::AddressChange { .. } => {}
        }
    }

    fn partition_sides(&mut self, sides: &PartitionSides) -> Vec<u16> {
        let n = self.peers.len();
        let mut assign = vec![0u16; n];
        match sides {
            PartitionSides::Groups(groups) => {
                for (side, members) in groups.iter().enumerate() {
                    for (i, p) in self.peers.iter().enumerate() {
                        if matches!(p.role, Role::Honest { group } if members.contains(&group)) {
                            assign[i] = side as u16;
                        }
                    }
                }
            }
            PartitionSides::Fractions(ppm) => {
                let mut order: Vec<u32> = (0..n as u32).collect();
                order.shuffle(&mut self.rng.faults);
                let mut start = 0usize;
                let mut acc = 0u64;
                for (side, share) in ppm.iter().enumerate() {
                    acc += *share as u64;
                    let end = ((acc * n as u64) / 1_000_000) as usize;
                    for &p in &order[start..end.min(n)] {
                        assign[p as usize] = side as u16;
                    }
                    start = end.min(n);
                }
            }
        }
        assign
    }

    fn pick_live(&mut self, count: u32, groups: &[usize]) -> Vec<u32> {
        let mut pool: Vec<u32> = Vec::new();
        let all: Vec<usize> = (0..self.plan.groups.len()).collect();
        for &g in if groups.is_empty() { &all } else { groups } {
            pool.extend(
                self.live
                    .group(g)
                    .iter()
                    .copied()
                    .filter(|p| !self.peers[*p as usize].seed_server),
            );
        }
        pool.sort_unstable();
        pool.shuffle(&mut self.rng.faults);
        pool.truncate(count as usize);
        pool
    }

    /// Moves a peer to a new address in its /64 (MS-PNRP §3.1.7.1); its old address goes dark.
    fn change_address(&mut self, peer: u32) {
        let p = &mut self.peers[peer as usize];
        p.generation = p.generation.wrapping_add(1).max(1);
        self.generations[peer as usize] = p.generation;
        let ep = p.endpoint(peer);
        self.command(peer, pnrp::Command::ChangeAddress { local: ep });
    }
}
