//! Peers coming and going: population at start, joins, churn (leave, crash, rejoin with the same
//! identity), and faults that act on peers (crash, address change, partitions).

use super::{Core, Ev, Peer, PeerSpec, Protocol};
use crate::plan::{FaultKind, PartitionSides, Plan};
use peerlab_engine::{derive_seed, Instant};
use peerlab_reports::Phase;
use rand::seq::SliceRandom;

/// Total peers a plan creates (groups, then attackers).
pub fn total_peers(plan: &Plan) -> u32 {
    let honest: usize = plan.groups.iter().map(|g| g.joins.len()).sum();
    let attackers: usize = plan.attackers.iter().map(|a| a.joins.len()).sum();
    (honest + attackers) as u32
}

/// Live peers, per group and in total, with O(1) insert, remove and random pick.
#[derive(Default, Debug)]
pub struct LiveSets {
    /// Live members of each group.
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

impl<P: Protocol> Core<P> {
    /// Creates every peer (offline) from the protocol's specs.
    pub(super) fn populate(&mut self, specs: Vec<PeerSpec<P::PeerData>>) {
        self.live.ensure(self.plan.groups.len(), specs.len());
        for s in specs {
            self.peers.push(Peer {
                node: None,
                generation: 1,
                incarnation: 0,
                group: s.group.map(|g| g as u32),
                fixed: s.fixed,
                timer_armed: None,
                wake: None,
                data: s.data,
            });
        }
        self.generations = vec![1; self.peers.len()];
        self.engines = vec![0; self.peers.len()];
        // No host answers a stream segment before its peer first joins.
        for peer in 0..self.peers.len() as u32 {
            self.net.set_host_down(peer, true);
        }
    }

    /// Puts each group's peers on its subnet (`Plan::subnets`); without subnets the network is
    /// left as it is (same draws, same fingerprint).
    pub(super) fn place_on_subnets(&mut self) -> Result<(), String> {
        if self.plan.subnets.is_empty() {
            return Ok(());
        }
        let mut subnets = crate::net::Subnets::new(self.plan.subnets.clone());
        let mut index = 0u32;
        for g in &self.plan.groups {
            for _ in &g.joins {
                subnets.place(index, g.subnet).map_err(|e| e.to_string())?;
                index += 1;
            }
        }
        self.net.set_subnets(subnets);
        Ok(())
    }

    /// Schedules the groups' joins, the protocol's start, faults, samples and the end.
    pub(super) fn schedule_initial(&mut self, proto: &mut P) {
        let plan = self.plan.clone();
        let mut index = 0u32;
        for g in &plan.groups {
            for &at in &g.joins {
                // Fixed peers (seed servers) are up from the start: bootstrap needs them.
                let at = if self.peers[index as usize].fixed {
                    Instant::ZERO
                } else {
                    at
                };
                self.queue.push(at, Ev::Join { peer: index });
                index += 1;
            }
        }
        proto.schedule_initial(self);
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

    /// Brings a peer online with a fresh engine, drains it, then lets the protocol act.
    pub(super) fn join(&mut self, proto: &mut P, peer: u32) {
        let p = &self.peers[peer as usize];
        if p.online() {
            return;
        }
        let ep = p.endpoint(peer);
        let incarnation = p.incarnation + 1;
        let rng_seed = derive_seed(self.plan.seed, "node", ((peer as u64) << 20) | incarnation as u64);
        let node = proto.build_node(self, peer, ep, rng_seed);
        self.engines[peer as usize] = std::ptr::from_ref::<P::Node>(&node).addr();
        self.net.set_host_down(peer, false);
        let p = &mut self.peers[peer as usize];
        p.node = Some(node);
        p.incarnation = incarnation;
        p.timer_armed = None;
        if let Some(group) = p.group() {
            self.live.insert(group, peer);
        }
        self.live.total += 1;
        self.peers_max = self.peers_max.max(self.live.total);
        self.drain(proto, peer);
        proto.joined(self, peer);
        if let Some(group) = self.peers[peer as usize].group() {
            self.schedule_leave(peer, group);
        }
    }

    /// The cloud `peer` belongs to: its group's; peers outside groups are in the first cloud.
    pub fn cloud_of(&self, peer: u32) -> u16 {
        match self.peers[peer as usize].group() {
            Some(group) => self.plan.groups[group].cloud,
            None => 0,
        }
    }

    fn schedule_leave(&mut self, peer: u32, group: usize) {
        let p = &self.peers[peer as usize];
        if p.fixed {
            return; // fixed peers stay up: they are the cloud's entry points
        }
        if let Some(session) = &self.plan.groups[group].session {
            let length = session.sample(&mut self.rng.churn);
            let incarnation = p.incarnation;
            self.queue
                .push(self.now + length, Ev::Leave { peer, incarnation });
        }
    }

    /// Ends a session: gracefully or as a crash, as the peer's group says; schedules the rejoin.
    pub(super) fn leave(&mut self, proto: &mut P, peer: u32, incarnation: u32) {
        let p = &self.peers[peer as usize];
        if !p.online() || p.incarnation != incarnation {
            return;
        }
        let Some(group) = p.group() else { return };
        let g = &self.plan.groups[group];
        let (graceful, rejoin) = (g.graceful_leave, g.rejoin_after);
        self.go_offline(proto, peer, graceful);
        if let Some(after) = rejoin {
            self.queue.push(self.now + after, Ev::Rejoin { peer });
        }
    }

    /// Removes the engine; the protocol acts before (a graceful leave unregisters) and after.
    pub(super) fn go_offline(&mut self, proto: &mut P, peer: u32, graceful: bool) {
        proto.going_offline(self, peer, graceful);
        let p = &mut self.peers[peer as usize];
        let node = p.node.take();
        if node.is_some() {
            p.wake = None;
            self.engines[peer as usize] = 0;
            if let Some(group) = p.group() {
                self.live.remove(group, peer);
            }
            self.live.total -= 1;
            self.streams_offline(peer, graceful);
        }
        proto.gone_offline(self, peer, node);
    }

    pub(super) fn fault_start(&mut self, proto: &mut P, index: usize) {
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
                    self.go_offline(proto, peer, false);
                    if let Some(after) = restart_after {
                        self.queue.push(self.now + *after, Ev::Rejoin { peer });
                    }
                }
            }
            FaultKind::AddressChange { count, groups } => {
                for peer in self.pick_live(*count, groups) {
                    self.change_address(proto, peer);
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
                self.heals.push(self.now);
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
                        if p.group().is_some_and(|g| members.contains(&g)) {
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
                    .filter(|p| !self.peers[*p as usize].fixed),
            );
        }
        pool.sort_unstable();
        pool.shuffle(&mut self.rng.faults);
        pool.truncate(count as usize);
        pool
    }

    /// Moves a peer to a new address in its /64 (MS-PNRP §3.1.7.1); its old address goes dark.
    fn change_address(&mut self, proto: &mut P, peer: u32) {
        let p = &mut self.peers[peer as usize];
        p.generation = p.generation.wrapping_add(1).max(1);
        self.generations[peer as usize] = p.generation;
        let ep = p.endpoint(peer);
        self.streams_address_changed(peer);
        proto.address_changed(self, peer, ep);
    }
}
