//! Driving the engine nodes: delivery and relaying, the drain rule, timers, fetch commands,
//! trickle arrivals and client churn.

use super::layout::Role;
use super::{DistWorld, Ev, InFlight, Machine, Next};
use crate::net::Delivery;
use peerlab_engine::dist::{pccrd, DistMessage, PeerCommand, PeerEvent};
use peerlab_engine::{Duration, Endpoint, Instant, Node, Transmit};
use rand::Rng;

impl DistWorld {
    /// A message reached `hop`: relay it onwards, or hand it to its destination.
    pub(super) fn on_deliver(
        &mut self,
        now: Instant,
        hop: u32,
        dest: u32,
        dest_gen: u32,
        from: Endpoint,
        msg: DistMessage,
    ) {
        self.fp
            .mix_all(&[u64::from(hop), u64::from(dest), msg.wire_len() as u64]);
        if hop != dest {
            return self.forward(now, hop, dest, dest_gen, from, msg);
        }
        let st = &mut self.nodes[dest as usize];
        if !st.up || st.gen != dest_gen {
            self.tally.lost_to_churn += 1;
            return;
        }
        match &mut st.machine {
            Machine::Server(n) => n.handle_message(now, from, msg),
            Machine::Peer(n) => n.handle_message(now, from, msg),
            Machine::Hosted(n) => n.handle_message(now, from, msg),
            Machine::Gateway => return,
        }
        self.drain(dest, now);
    }

    /// Sends `msg` from node `at` one hop towards `dest`: over a WAN (shared links) or through
    /// the network model.
    fn forward(&mut self, now: Instant, at: u32, dest: u32, dest_gen: u32, from: Endpoint, msg: DistMessage) {
        let hop = self.layout.next_hop(at, dest);
        let bytes = msg.wire_len();
        if self.layout.crosses_wan(at, hop) {
            let wan = |w: &Self, n: u32| {
                let b = w.layout.slots[n as usize].branch.unwrap_or(0);
                (b, w.dist.branches[b as usize].wan.latency)
            };
            let (link, next) = if at == 0 {
                (0, Next::WanDown(wan(self, hop).0))
            } else if self.layout.slots[at as usize].role == (Role::Gateway { inbound: false }) {
                let (b, lat) = wan(self, at);
                let extra = if hop == 0 {
                    Duration::ZERO
                } else {
                    wan(self, hop).1
                };
                (
                    2 + 2 * b,
                    Next::Arrive {
                        hop,
                        latency: lat + extra,
                    },
                )
            } else {
                let (b, lat) = wan(self, hop);
                (1 + 2 * b, Next::Arrive { hop, latency: lat })
            };
            let item = InFlight {
                dest,
                dest_gen,
                from,
                msg,
                next,
            };
            return self.link_push(now, link, bytes as u64, item);
        }
        let len = u32::try_from(bytes).unwrap_or(u32::MAX);
        match self.net.send(now, at, hop, len) {
            Delivery::At(t) => {
                let ev = Ev::Deliver {
                    hop,
                    dest,
                    dest_gen,
                    from,
                    msg,
                };
                self.queue.push(t, ev);
            }
            Delivery::Dropped(_) => self.tally.lost_to_churn += 1,
        }
    }

    fn link_push(&mut self, now: Instant, link: u32, bytes: u64, item: InFlight) {
        let key = self.conn_key(&item);
        self.links[link as usize].push(now, key, bytes, item);
        self.link_kick(link);
    }

    /// The connection a message travels on: its endpoints' pair.
    fn conn_key(&self, f: &InFlight) -> u64 {
        if self.dist.wan_sharing == crate::scenario::WanSharing::Fifo {
            return 0;
        }
        let src = self.by_endpoint.get(&f.from).copied().unwrap_or(0);
        (u64::from(src) << 32) | u64::from(f.dest)
    }

    /// Queues the next completion of a shared link (cancelling older ones by version).
    fn link_kick(&mut self, link: u32) {
        let l = &mut self.links[link as usize];
        l.version += 1;
        let version = l.version;
        if let Some(t) = l.next_done() {
            self.queue.push(t, Ev::LinkDone { link, version });
        }
    }

    /// Transfers that finished on a shared link move on.
    pub(super) fn on_link_done(&mut self, now: Instant, link: u32, version: u64) {
        if self.links[link as usize].version != version {
            return;
        }
        let done = self.links[link as usize].take_done(now);
        self.fp.mix_all(&[u64::from(link), done.len() as u64]);
        for f in done {
            // Bytes count when they have crossed the link, so per-second series show the link's
            // real throughput.
            let bytes = f.msg.wire_len() as u64;
            if link == 0 {
                self.tally.server_wire_bytes += bytes;
            } else {
                self.tally.wan_bytes += bytes;
                if let Some(b) = self.tally.per_branch.get_mut((link as usize - 1) / 2) {
                    b.0 += bytes;
                }
            }
            match f.next {
                Next::WanDown(b) => {
                    let hop = self.layout.branches[b as usize].gw_in;
                    let latency = self.dist.branches[b as usize].wan.latency;
                    let next = Next::Arrive { hop, latency };
                    let f = InFlight { next, ..f };
                    let key = self.conn_key(&f);
                    self.links[1 + 2 * b as usize].push(now, key, bytes, f);
                    self.link_kick(1 + 2 * b);
                }
                Next::Arrive { hop, latency } => {
                    let ev = Ev::Deliver {
                        hop,
                        dest: f.dest,
                        dest_gen: f.dest_gen,
                        from: f.from,
                        msg: f.msg,
                    };
                    self.queue.push(now + latency, ev);
                }
            }
        }
        self.link_kick(link);
    }

    /// Routes one transmit of node `i`: multicast to the subnet, or unicast by endpoint.
    fn transmit(&mut self, now: Instant, i: u32, t: Transmit<DistMessage>) {
        let from = self.layout.slots[i as usize].endpoint;
        self.tally.count_message(&t.msg);
        if t.to == pccrd::MULTICAST {
            let Some(b) = self.layout.slots[i as usize].branch else {
                return;
            };
            let members = self.layout.branches[b as usize].members.clone();
            for j in members {
                let peer = matches!(self.nodes[j as usize].machine, Machine::Peer(_));
                if j != i && peer && self.nodes[j as usize].up {
                    let gen = self.nodes[j as usize].gen;
                    self.forward(now, i, j, gen, from, t.msg.clone());
                }
            }
            return;
        }
        match self.by_endpoint.get(&t.to).copied() {
            Some(j) => {
                let gen = self.nodes[j as usize].gen;
                self.forward(now, i, j, gen, from, t.msg);
            }
            None => self.tally.unroutable += 1,
        }
    }

    /// The drain rule: every transmit and event of node `i`, then its next deadline.
    pub(super) fn drain(&mut self, i: u32, now: Instant) {
        loop {
            let t = match &mut self.nodes[i as usize].machine {
                Machine::Server(n) => n.poll_transmit(),
                Machine::Peer(n) => n.poll_transmit(),
                Machine::Hosted(n) => n.poll_transmit(),
                Machine::Gateway => None,
            };
            let Some(t) = t else { break };
            self.transmit(now, i, t);
        }
        let mut peer_events = Vec::new();
        match &mut self.nodes[i as usize].machine {
            Machine::Server(n) => while n.poll_event().is_some() {},
            Machine::Hosted(n) => while n.poll_event().is_some() {},
            Machine::Peer(n) => {
                while let Some(e) = n.poll_event() {
                    peer_events.push(e);
                }
            }
            Machine::Gateway => {}
        }
        for e in peer_events {
            self.on_peer_event(now, i, e);
        }
        let st = &mut self.nodes[i as usize];
        let next = match &st.machine {
            Machine::Server(n) => n.poll_timeout(),
            Machine::Peer(n) => n.poll_timeout(),
            Machine::Hosted(n) => n.poll_timeout(),
            Machine::Gateway => None,
        };
        if let Some(t) = next {
            let t = t.max(now);
            if st.timer_at != Some(t) {
                st.timer_at = Some(t);
                let gen = st.gen;
                self.queue.push(t, Ev::Timer { node: i, gen });
            }
        }
    }

    fn on_peer_event(&mut self, now: Instant, node: u32, e: PeerEvent) {
        let attacker = matches!(self.layout.slots[node as usize].role, Role::Attacker(_));
        match e {
            PeerEvent::Fetched {
                request,
                size,
                bytes_from_peers,
                bytes_from_server,
                bytes_from_cache,
                time_to_first_byte,
                elapsed,
                corrupt_blocks,
                ..
            } => {
                self.tally.pending.remove(&(node, request.0));
                self.tally.corrupt_blocks += u64::from(corrupt_blocks);
                if attacker {
                    return;
                }
                self.tally
                    .fetched(now, size, bytes_from_peers, bytes_from_server, bytes_from_cache);
                let b = self.layout.slots[node as usize].branch.unwrap_or(0) as usize;
                if let Some(pb) = self.tally.per_branch.get_mut(b) {
                    pb.1 += size;
                }
                self.tally.ttfb_us.push(time_to_first_byte.as_micros());
                self.tally.completion_us.push(elapsed.as_micros());
                self.record_op(now, node, "ok", elapsed.as_micros());
            }
            PeerEvent::FetchFailed { request, error } => {
                let started = self.tally.pending.remove(&(node, request.0));
                if attacker {
                    return;
                }
                let outcome = match error {
                    peerlab_engine::dist::FetchError::NotFound { .. } => "not_found",
                    peerlab_engine::dist::FetchError::OriginTimeout { .. } => "timeout",
                    peerlab_engine::dist::FetchError::OriginCorrupt { .. } => "origin_corrupt",
                    peerlab_engine::dist::FetchError::TooManyFetches { .. } => "too_many_fetches",
                };
                let latency = started.map_or(0, |s| now.saturating_since(s).as_micros());
                self.record_op(now, node, outcome, latency);
            }
        }
    }

    /// A client opens content.
    pub(super) fn start_fetch(&mut self, now: Instant, node: u32, content: u32) {
        let st = &mut self.nodes[node as usize];
        let Machine::Peer(p) = &mut st.machine else { return };
        if !st.up {
            self.tally.fetches_offline += 1;
            return;
        }
        let server = self.layout.slots[0].endpoint;
        let cmd = PeerCommand::Fetch {
            content: u64::from(content) + 1,
            server,
        };
        let request = p.handle_command(now, cmd);
        self.tally.pending.insert((node, request.0), now);
        self.fp.mix_all(&[u64::from(node), u64::from(content)]);
        self.drain(node, now);
    }

    /// One trickle fetch by a random online client of the workload's branch, then the next.
    pub(super) fn on_trickle(&mut self, now: Instant, workload: u32) {
        let w = self.dist.fetches[workload as usize].clone();
        let online: Vec<u32> = self
            .clients_of(&w.branch)
            .into_iter()
            .filter(|n| self.nodes[*n as usize].up)
            .collect();
        let content = match self.content_index(&w.content) {
            Some(c) => c,
            None => self.draw_content(),
        };
        if online.is_empty() {
            self.tally.fetches_offline += 1;
        } else {
            let node = online[self.rng_workload.gen_range(0..online.len())];
            self.start_fetch(now, node, content);
        }
        // Exponential gaps through an integer draw, so runs reproduce (docs/architecture.md §7 habit 5).
        let mean_us = 1e6 / w.rate_per_sec().max(1e-9);
        let u = (self.rng_workload.gen_range(1..=1_000_000u32) as f64) / 1e6;
        let gap = peerlab_engine::Duration::from_micros((-u.ln() * mean_us).ceil().max(1.0) as u64);
        let next = now + gap;
        if w.stop.is_none_or(|s| next < Instant::ZERO + s) {
            self.queue.push(next, Ev::Trickle { workload });
        }
    }

    /// A client's session ends: it goes silent; its fetches fail as `left`.
    pub(super) fn on_leave(&mut self, now: Instant, node: u32) {
        let st = &mut self.nodes[node as usize];
        if !st.up {
            return;
        }
        st.up = false;
        st.gen += 1;
        st.timer_at = None;
        self.net.set_down(node, true);
        self.tally.live -= 1;
        self.tally.leaves += 1;
        let gone: Vec<(u32, u64)> = self
            .tally
            .pending
            .range((node, 0)..=(node, u64::MAX))
            .map(|(k, _)| *k)
            .collect();
        for key in gone {
            if let Some(started) = self.tally.pending.remove(&key) {
                self.record_op(now, node, "left", now.saturating_since(started).as_micros());
            }
        }
        let b = self.layout.slots[node as usize].branch.unwrap_or(0) as usize;
        if let Some(after) = self.churn.get(b).and_then(|c| c.1) {
            self.queue.push(now + after, Ev::Rejoin { node });
        }
    }

    /// A client comes back with a fresh stack (\[CHOICE\]: its cache is gone, as for a reimaged
    /// or replaced machine; the conservative case for offload).
    pub(super) fn on_rejoin(&mut self, now: Instant, node: u32) {
        let gen = self.nodes[node as usize].gen;
        if let Machine::Peer(p) = &self.nodes[node as usize].machine {
            let d = &mut self.tally.departed;
            d.0 += p.serve_stats().bytes_served;
            d.1 += p.stats.sessions;
            d.2 += p.stats.sessions_with_peers;
        }
        let machine = self.build(node, gen);
        let st = &mut self.nodes[node as usize];
        st.machine = machine;
        st.up = true;
        self.net.set_down(node, false);
        self.tally.live += 1;
        self.tally.live_max = self.tally.live_max.max(self.tally.live);
        self.drain(node, now);
        self.schedule_leave(node, now);
    }

    /// Fetches still running at the end are recorded as `unfinished`.
    pub(super) fn fail_pending_at_end(&mut self, end: Instant) {
        let pending = std::mem::take(&mut self.tally.pending);
        for ((node, _), started) in pending {
            if !matches!(self.layout.slots[node as usize].role, Role::Attacker(_)) {
                self.record_op(end, node, "unfinished", end.saturating_since(started).as_micros());
            }
        }
    }
}
