//! An in-crate test driver (quinn's `Pair` style): a handful of `PnrpNode`s, a queue of in-flight
//! datagrams with a fixed delay, run deterministically to their next deadlines. Every datagram is
//! round-tripped through the wire codec, so the typed and the byte paths must agree.

use super::api::{Command, Event, ResolveError, Resolved};
use super::config::PnrpConfig;
use super::id::PnrpId;
use super::message::{Message, ResolveCriteria};
use super::name::PeerName;
use super::node::PnrpNode;
use super::wire;
use crate::crypto::{Identity, Scheme};
use crate::{derive_seed, Duration, Endpoint, Instant, Node, RequestId};
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv6Addr;
use std::sync::Arc;

/// A hook that replaces a datagram `from → to` by the datagrams it returns (none = dropped), in order.
pub(super) type Tamper = Box<dyn FnMut(Endpoint, Endpoint, Message) -> Vec<Message>>;

/// The test network.
pub(super) struct TestNet {
    pub(super) nodes: Vec<PnrpNode>,
    pub(super) alive: Vec<bool>,
    pub(super) identities: Vec<Arc<Identity>>,
    pub(super) names: Vec<PeerName>,
    pub(super) now: Instant,
    pub(super) events: Vec<(usize, Event)>,
    pub(super) tamper: Option<Tamper>,
    /// When set, every delivered datagram is logged as (time, from, to, message).
    pub(super) trace: Option<Vec<(Instant, usize, usize, Message)>>,
    /// Round-trip every datagram through the wire codec (on by default; off for speed runs).
    pub(super) codec_roundtrip: bool,
    /// Timer wake-ups delivered so far (`handle_timeout` calls).
    pub(super) wakeups: u64,
    queue: BTreeMap<(Instant, u64), (Endpoint, Endpoint, Message)>,
    deadlines: Vec<Option<Instant>>,
    timers: BTreeSet<(Instant, usize)>,
    seq: u64,
    delay: Duration,
    by_endpoint: BTreeMap<Endpoint, usize>,
}

/// The endpoint of node `i`: its own /64 (so registrations get distinct SLupper prefixes).
pub(super) fn endpoint(i: usize) -> Endpoint {
    let addr = Ipv6Addr::new(0x2001, 0xdb8, 0, i as u16, 0, 0, 0, 1);
    Endpoint::new(addr, 3540)
}

impl TestNet {
    /// `n` nodes, node 0 the seed of everyone, with `scheme` identities and secured names.
    pub(super) fn new(n: usize, cfg: PnrpConfig, scheme: Scheme, seed: u64) -> Self {
        Self::with_seeds(n, cfg, scheme, seed, |i| {
            if i == 0 {
                Vec::new()
            } else {
                vec![endpoint(0)]
            }
        })
    }

    /// `n` nodes whose seed lists come from `seeds_of(index)`.
    pub(super) fn with_seeds(
        n: usize,
        cfg: PnrpConfig,
        scheme: Scheme,
        seed: u64,
        seeds_of: impl Fn(usize) -> Vec<Endpoint>,
    ) -> Self {
        let cfg = Arc::new(cfg);
        let mut nodes = Vec::new();
        let mut identities = Vec::new();
        let mut names = Vec::new();
        let mut by_endpoint = BTreeMap::new();
        for i in 0..n {
            let ep = endpoint(i);
            let seeds = seeds_of(i);
            nodes.push(PnrpNode::new(
                cfg.clone(),
                ep,
                seeds,
                derive_seed(seed, "node", i as u64),
                Instant::ZERO,
            ));
            let id = Identity::generate(scheme, derive_seed(seed, "identity", i as u64));
            names.push(PeerName::secured(id.authority(), &format!("node{i}")).expect("valid classifier"));
            identities.push(id);
            by_endpoint.insert(ep, i);
        }
        let mut net = TestNet {
            alive: vec![true; n],
            nodes,
            identities,
            names,
            now: Instant::ZERO,
            events: Vec::new(),
            tamper: None,
            trace: None,
            codec_roundtrip: true,
            wakeups: 0,
            queue: BTreeMap::new(),
            deadlines: vec![None; n],
            timers: (0..n).map(|i| (Instant::ZERO, i)).collect(),
            seq: 0,
            delay: Duration::from_millis(10),
            by_endpoint,
        };
        for i in 0..n {
            net.deadlines[i] = Some(Instant::ZERO);
        }
        net
    }

    /// Drains node `i` (the drain rule): datagrams into the queue, events into `events`.
    fn drain(&mut self, i: usize) {
        let from = self.nodes[i].local_endpoint();
        let (out, deadline) = crate::drain::take(&mut self.nodes[i]);
        for t in out.transmits {
            let msg = if self.codec_roundtrip {
                // Wire round trip: what we simulate is exactly what the codec carries.
                let mut bytes = Vec::new();
                wire::encode(&t.msg, &mut bytes);
                assert_eq!(
                    bytes.len(),
                    t.msg.encoded_len(),
                    "encoded_len of {:?}",
                    t.msg.kind()
                );
                let back = wire::decode(&bytes).expect("own datagrams decode");
                assert_eq!(back, t.msg, "codec round trip");
                back
            } else {
                t.msg
            };
            self.seq += 1;
            self.queue
                .insert((self.now + self.delay, self.seq), (from, t.to, msg));
        }
        self.events.extend(out.events.into_iter().map(|e| (i, e)));
        // Re-index the node's deadline (O(log n) per node interaction).
        if let Some(old) = self.deadlines[i].take() {
            self.timers.remove(&(old, i));
        }
        if let Some(d) = deadline {
            self.deadlines[i] = Some(d);
            self.timers.insert((d, i));
        }
    }

    /// Gives node `i` a command and drains it.
    pub(super) fn command(&mut self, i: usize, cmd: Command) -> RequestId {
        let r = self.nodes[i].handle_command(self.now, cmd);
        self.drain(i);
        r
    }

    /// Registers node `i`'s name.
    pub(super) fn register(&mut self, i: usize) -> RequestId {
        let cmd = Command::Register {
            name: self.names[i].clone(),
            identity: self.identities[i].clone(),
            app_endpoints: Vec::new(),
            friendly_name: None,
            service_location_prefix: None,
        };
        self.command(i, cmd)
    }

    /// Node `i` resolves node `j`'s name (any instance).
    pub(super) fn resolve(&mut self, i: usize, j: usize) -> RequestId {
        let name = self.names[j].clone();
        self.command(
            i,
            Command::Resolve {
                name,
                criteria: ResolveCriteria::AnyPeerName,
                timeout: Duration::from_secs(30),
            },
        )
    }

    /// Node `i` resolves any instance of `name`; the result 10 s later, which must be a success.
    pub(super) fn resolve_any(&mut self, i: usize, name: PeerName) -> Resolved {
        let cmd = Command::Resolve {
            name,
            criteria: ResolveCriteria::AnyPeerName,
            timeout: Duration::from_secs(30),
        };
        let r = self.command(i, cmd);
        self.run_for(Duration::from_secs(10));
        match self.resolve_result(i, r) {
            Some(Ok(found)) => found.clone(),
            other => panic!("node {i}: the resolve ended with {other:?}"),
        }
    }

    /// Moves node `i` to `ep` (MS-PNRP §3.1.7.1): the network delivers to the new endpoint only.
    pub(super) fn change_address(&mut self, i: usize, ep: Endpoint) {
        let old = self.nodes[i].local_endpoint();
        self.by_endpoint.remove(&old);
        self.by_endpoint.insert(ep, i);
        self.command(i, Command::ChangeAddress { local: ep });
    }

    /// The next instant anything happens.
    fn next_time(&self) -> Option<Instant> {
        let q = self.queue.keys().next().map(|(t, _)| *t);
        let timer = self.timers.first().map(|(t, _)| *t);
        q.into_iter().chain(timer).min()
    }

    /// Runs everything due up to and including `until`.
    pub(super) fn run_until(&mut self, until: Instant) {
        while let Some(t) = self.next_time().filter(|t| *t <= until) {
            self.now = self.now.max(t);
            while let Some((&(at, seq), _)) = self.queue.iter().next() {
                if at > self.now {
                    break;
                }
                let Some((from, to, msg)) = self.queue.remove(&(at, seq)) else {
                    break;
                };
                let Some(&j) = self.by_endpoint.get(&to) else {
                    continue;
                };
                if !self.alive[j] || self.nodes[j].local_endpoint() != to {
                    continue;
                }
                let msgs = match self.tamper.as_mut() {
                    Some(tamper) => tamper(from, to, msg),
                    None => vec![msg],
                };
                for msg in msgs {
                    if let Some(tr) = self.trace.as_mut() {
                        let i = self.by_endpoint.get(&from).copied().unwrap_or(usize::MAX);
                        tr.push((self.now, i, j, msg.clone()));
                    }
                    self.nodes[j].handle_message(self.now, from, msg);
                    self.drain(j);
                }
            }
            while let Some(&(d, i)) = self.timers.first() {
                if d > self.now {
                    break;
                }
                self.timers.remove(&(d, i));
                self.deadlines[i] = None;
                if self.alive[i] {
                    self.wakeups += 1;
                    self.nodes[i].handle_timeout(self.now);
                    self.drain(i);
                }
            }
        }
        self.now = self.now.max(until);
    }

    /// Runs for `d` more simulated time.
    pub(super) fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }

    /// The registered ID of node `i` (its first).
    pub(super) fn id_of(&self, i: usize) -> PnrpId {
        self.nodes[i].registered_ids().next().expect("node registered")
    }

    /// The result of request `r` of node `i`, if it completed.
    pub(super) fn resolve_result(&self, i: usize, r: RequestId) -> Option<&Result<Resolved, ResolveError>> {
        self.events.iter().find_map(|(n, e)| match e {
            Event::Resolved { request, result, .. } if *n == i && *request == r => Some(result),
            _ => None,
        })
    }

    /// Registers every node, one every 300 ms after the first 2 s, and lets the cloud settle for `settle`.
    pub(super) fn register_all(&mut self, settle: Duration) {
        self.run_for(Duration::from_secs(2));
        for i in 0..self.nodes.len() {
            self.register(i);
            self.run_for(Duration::from_millis(300));
        }
        self.run_for(settle);
    }

    /// Crash-restarts node `i` like the simulator's rejoin: a fresh engine at the same endpoint
    /// (seeded by node 0, or by node 1 for node 0), registering the same name under a new ID.
    pub(super) fn rejoin(&mut self, i: usize, seed: u64) {
        let ep = endpoint(i);
        let seeds = vec![endpoint(if i == 0 { 1 } else { 0 })];
        let cfg = Arc::new(self.nodes[i].config().clone());
        self.nodes[i] = PnrpNode::new(cfg, ep, seeds, derive_seed(seed, "rejoin", i as u64), self.now);
        self.alive[i] = true;
        if let Some(old) = self.deadlines[i].take() {
            self.timers.remove(&(old, i));
        }
        self.deadlines[i] = Some(self.now);
        self.timers.insert((self.now, i));
        self.run_for(Duration::from_secs(1));
        self.register(i);
    }

    /// The true 5+5 nearest registered IDs around `id` among `all` (nearest first).
    pub(super) fn true_leaf_set(id: PnrpId, all: &[PnrpId], side: usize) -> (Vec<PnrpId>, Vec<PnrpId>) {
        let mut above: Vec<PnrpId> = all
            .iter()
            .copied()
            .filter(|x| *x != id && id.is_above(*x))
            .collect();
        let mut below: Vec<PnrpId> = all
            .iter()
            .copied()
            .filter(|x| *x != id && !id.is_above(*x))
            .collect();
        above.sort_by_key(|x| (id.distance(*x), *x));
        below.sort_by_key(|x| (id.distance(*x), *x));
        above.truncate(side);
        below.truncate(side);
        (below, above)
    }
}

#[cfg(test)]
#[path = "testnet_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "testnet_maintenance_tests.rs"]
mod maintenance_tests;

#[cfg(test)]
#[path = "testnet_security_tests.rs"]
mod security_tests;
