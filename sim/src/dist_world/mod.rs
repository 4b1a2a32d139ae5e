//! The Peer Distribution (BranchCache) world: a content server in a data centre, branch offices
//! (subnets) behind their WAN links, clients that fetch content, attackers that serve corrupt
//! blocks, optional hosted caches; the same event queue, network model, records and summary as the
//! PNRP world (docs/architecture.md §4).
//!
//! Every engine node is driven by the drain rule: after each input, every transmit and event is
//! taken before the next input. Multicast probes go to every other online peer of the sender's
//! subnet. A message between a branch and the data centre is relayed by the branch's gateway
//! (`layout.rs`), so WAN transfers share one queue per branch: 100 MB over a 10 Mbps WAN takes
//! about 80 simulated seconds.
//!
//! Determinism: every random draw comes from ChaCha streams derived from the run seed (`node`
//! per machine and incarnation, `network`, `workload`, `churn`); ties in the queue break by push
//! order; maps are `BTreeMap`; every processed event is folded into the fingerprint.

mod drive;
pub mod layout;
mod links;
pub mod run;
mod tally;

use crate::churn::SessionLength;
use crate::fingerprint::Fingerprint;
use crate::net::NetModel;
use crate::queue::EventQueue;
use crate::scenario::{DistMode, Distribution, FetchPattern, Scenario};
use crate::world::Recorder;
use layout::{Layout, Role};
use peerlab_engine::dist::{
    BranchPeer, ContentServer, ContentSpec, DistConfig, DistMessage, HostedCache, Mode, ServerCommand,
};
use peerlab_engine::{derive_seed, Duration, Endpoint, Instant, Node, NodeRng};
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use tally::Tally;

/// A machine's protocol stack.
enum Machine {
    Server(Box<ContentServer>),
    Peer(Box<BranchPeer>),
    Hosted(Box<HostedCache>),
    /// A WAN gateway: it only relays.
    Gateway,
}

/// Per-node driver state.
struct NodeState {
    machine: Machine,
    /// Online (churn takes clients off).
    up: bool,
    /// Incarnation: bumped when the node leaves, so stale deliveries and timers are dropped.
    gen: u32,
    /// The deadline a `Timer` event is queued for.
    timer_at: Option<Instant>,
}

/// What the event loop processes.
enum Ev {
    /// A message reaches node `hop` on its way to `dest`.
    Deliver {
        hop: u32,
        dest: u32,
        dest_gen: u32,
        from: Endpoint,
        msg: DistMessage,
    },
    /// A node's deadline.
    Timer { node: u32, gen: u32 },
    /// A client opens content (index into the content list).
    Fetch { node: u32, content: u32 },
    /// The next fetch of a trickle workload.
    Trickle { workload: u32 },
    /// A client's session ends.
    Leave { node: u32 },
    /// A client comes back (with an empty cache).
    Rejoin { node: u32 },
    /// Periodic sample.
    Sample,
    /// A shared link may have finished a transfer (stale unless `version` is current).
    LinkDone { link: u32, version: u64 },
}

/// What happens to a message when it leaves a shared link.
#[derive(Clone, Copy)]
enum Next {
    /// Enter branch `b`'s WAN-down link (after the server's access link).
    WanDown(u32),
    /// Reach node `hop` after `latency`.
    Arrive { hop: u32, latency: Duration },
}

/// A message on a shared link.
struct InFlight {
    dest: u32,
    dest_gen: u32,
    from: Endpoint,
    msg: DistMessage,
    next: Next,
}

impl Ev {
    fn tag(&self) -> u64 {
        match self {
            Ev::Deliver { .. } => 1,
            Ev::Timer { .. } => 2,
            Ev::Fetch { .. } => 3,
            Ev::Trickle { .. } => 4,
            Ev::Leave { .. } => 5,
            Ev::Rejoin { .. } => 6,
            Ev::Sample => 7,
            Ev::LinkDone { .. } => 8,
        }
    }
}

/// A distribution scenario, ready to run.
pub struct DistWorld {
    name: String,
    seed: u64,
    duration: Duration,
    sample_every: Duration,
    dist: Distribution,
    cfg: DistConfig,
    checks: crate::scenario::Checks,
    layout: Layout,
    nodes: Vec<NodeState>,
    by_endpoint: BTreeMap<Endpoint, u32>,
    net: NetModel,
    /// Shared links: 0 the server's uplink, then per branch WAN down (1 + 2b) and up (2 + 2b).
    links: Vec<links::PsLink<InFlight>>,
    queue: EventQueue<Ev>,
    fp: Fingerprint,
    events: u64,
    rng_workload: NodeRng,
    rng_churn: NodeRng,
    specs: Vec<ContentSpec>,
    /// Per branch: session lengths of churning clients, and the rejoin delay.
    churn: Vec<(Option<SessionLength>, Option<Duration>)>,
    tally: Tally,
    rec: Recorder,
}

/// Engine mode for a scenario mode.
fn engine_mode(m: DistMode) -> Mode {
    match m {
        DistMode::Distributed => Mode::Distributed,
        DistMode::HostedCache => Mode::Hosted,
        DistMode::None => Mode::Local,
    }
}

impl DistWorld {
    /// Builds the world for `s` (which must be a distribution scenario) at its seed.
    pub fn new(s: &Scenario, rec: Recorder) -> Result<DistWorld, String> {
        let dist = s
            .distribution
            .clone()
            .ok_or_else(|| "not a distribution scenario".to_owned())?;
        let layout = Layout::new(&dist)?;
        let mut cfg = dist.config.clone();
        cfg.mode = engine_mode(dist.mode);
        cfg.subnet_prefix_len = layout::SUBNET_PREFIX_LEN;
        let (net_cfg, rates) = layout.net_config(&dist);
        let n = layout.slots.len() as u32;
        let mut net =
            NetModel::new(net_cfg, n, derive_seed(s.seed, "network", 0)).map_err(|e| e.to_string())?;
        for (i, r) in rates.into_iter().enumerate() {
            net.set_node_bandwidth(i as u32, r);
        }
        let by_endpoint = layout
            .slots
            .iter()
            .enumerate()
            .map(|(i, sl)| (sl.endpoint, i as u32))
            .collect();
        let specs = dist
            .content
            .iter()
            .enumerate()
            .map(|(i, c)| ContentSpec {
                id: i as u64 + 1,
                size: c.size.bytes(),
            })
            .collect();
        let mut shared = vec![links::PsLink::new(dist.server.up.bps())];
        for b in &dist.branches {
            shared.push(links::PsLink::new(b.wan.down.bps()));
            shared.push(links::PsLink::new(b.wan.up.bps()));
        }
        let mut rng_churn = NodeRng::from_seed(derive_seed(s.seed, "churn", 0));
        let mut churn = Vec::new();
        for b in &dist.branches {
            let len = match &b.session {
                Some(m) => Some(crate::expand::session(m, s, &mut rng_churn)?),
                None => None,
            };
            churn.push((len, b.rejoin.as_ref().map(|r| r.after.sample(&mut rng_churn))));
        }
        let mut w = DistWorld {
            name: s.name.clone(),
            seed: s.seed,
            duration: s.duration,
            sample_every: s.output.sample_every,
            checks: s.checks.clone(),
            nodes: Vec::new(),
            by_endpoint,
            net,
            links: shared,
            queue: EventQueue::new(),
            fp: Fingerprint::default(),
            events: 0,
            rng_workload: NodeRng::from_seed(derive_seed(s.seed, "workload", 0)),
            rng_churn,
            specs,
            churn,
            tally: Tally::default(),
            rec,
            dist,
            cfg,
            layout,
        };
        for i in 0..n {
            let machine = w.build(i, 0);
            w.nodes.push(NodeState {
                machine,
                up: true,
                gen: 0,
                timer_at: None,
            });
        }
        w.tally.per_branch = vec![(0, 0); w.dist.branches.len()];
        w.tally.live = w.layout.slots.iter().filter(|s| s.role == Role::Client).count();
        w.tally.live_max = w.tally.live;
        w.schedule_workloads();
        w.schedule_churn();
        Ok(w)
    }

    /// A fresh stack for node `i` in incarnation `gen`.
    fn build(&self, i: u32, gen: u32) -> Machine {
        let slot = self.layout.slots[i as usize];
        let rng = || {
            NodeRng::from_seed(derive_seed(
                self.seed,
                "node",
                (u64::from(gen) << 32) | u64::from(i),
            ))
        };
        let hosted = slot
            .branch
            .and_then(|b| self.layout.branches[b as usize].hosted)
            .filter(|_| self.dist.mode == DistMode::HostedCache)
            .map(|h| self.layout.slots[h as usize].endpoint);
        match slot.role {
            Role::Server => Machine::Server(Box::new(ContentServer::new(slot.endpoint, self.cfg.clone()))),
            Role::Gateway { .. } => Machine::Gateway,
            Role::Hosted => {
                Machine::Hosted(Box::new(HostedCache::new(slot.endpoint, self.cfg.clone(), rng())))
            }
            Role::Client | Role::Attacker(_) => {
                let mut p = BranchPeer::new(slot.endpoint, self.cfg.clone(), hosted, rng());
                p.set_corrupt(matches!(slot.role, Role::Attacker(_)));
                Machine::Peer(Box::new(p))
            }
        }
    }

    /// Index of the content a fetch without a name draws, by weight.
    fn draw_content(&mut self) -> u32 {
        let total: u64 = self.dist.content.iter().map(|c| c.weight).sum();
        let mut x = self.rng_workload.gen_range(0..total.max(1));
        for (i, c) in self.dist.content.iter().enumerate() {
            if x < c.weight {
                return i as u32;
            }
            x -= c.weight;
        }
        0
    }

    fn content_index(&self, name: &Option<String>) -> Option<u32> {
        let n = name.as_ref()?;
        self.dist
            .content
            .iter()
            .position(|c| &c.name == n)
            .map(|i| i as u32)
    }

    /// Clients of a workload's branch ("all": every branch).
    fn clients_of(&self, branch: &str) -> Vec<u32> {
        let names = &self.dist.branches;
        self.layout
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.role == Role::Client)
            .filter(|(_, s)| branch == "all" || s.branch.is_some_and(|b| names[b as usize].name == branch))
            .map(|(i, _)| i as u32)
            .collect()
    }

    fn at(&self, d: Duration) -> Instant {
        Instant::ZERO + d
    }

    fn schedule_workloads(&mut self) {
        for wi in 0..self.dist.fetches.len() {
            let w = self.dist.fetches[wi].clone();
            match w.pattern {
                FetchPattern::FlashCrowd => {
                    let window = w.window.unwrap_or(Duration::ZERO).as_micros().max(1);
                    for node in self.clients_of(&w.branch) {
                        // Exact ratio through integers (docs/architecture.md §7 habit 5).
                        if self.rng_workload.gen_range(0..1_000_000u32) >= w.fraction.ppm() {
                            continue;
                        }
                        let off = Duration::from_micros(self.rng_workload.gen_range(0..window));
                        let content = match self.content_index(&w.content) {
                            Some(c) => c,
                            None => self.draw_content(),
                        };
                        self.queue
                            .push(self.at(w.start + off), Ev::Fetch { node, content });
                    }
                }
                FetchPattern::Trickle => {
                    self.queue
                        .push(self.at(w.start), Ev::Trickle { workload: wi as u32 });
                }
            }
        }
        for (node, slot) in self.layout.slots.iter().enumerate() {
            if let Role::Attacker(a) = slot.role {
                let att = &self.dist.attackers[a as usize];
                let content = self.content_index(&att.content).unwrap_or(0);
                self.queue.push(
                    Instant::ZERO + att.start,
                    Ev::Fetch {
                        node: node as u32,
                        content,
                    },
                );
            }
        }
        self.queue.push(Instant::ZERO + self.sample_every, Ev::Sample);
    }

    fn schedule_churn(&mut self) {
        for node in 0..self.layout.slots.len() as u32 {
            self.schedule_leave(node, Instant::ZERO);
        }
    }

    /// Queues the end of the session that starts at `from` for a churning client.
    fn schedule_leave(&mut self, node: u32, from: Instant) {
        let slot = self.layout.slots[node as usize];
        let (Role::Client, Some(b)) = (slot.role, slot.branch) else {
            return;
        };
        let Some(session) = &self.churn[b as usize].0 else {
            return;
        };
        let len = session.sample(&mut self.rng_churn);
        self.queue.push(from + len, Ev::Leave { node });
    }

    /// Publishes every content on the origin at time 0.
    fn publish(&mut self) {
        let specs = self.specs.clone();
        for spec in specs {
            if let Machine::Server(s) = &mut self.nodes[0].machine {
                s.handle_command(Instant::ZERO, ServerCommand::Publish { spec });
            }
            self.drain(0, Instant::ZERO);
        }
    }

    /// Runs to the end; `progress` sees (sim time, events, live clients).
    pub fn run(mut self, progress: &mut dyn FnMut(Instant, u64, u64)) -> (crate::world::Outcome, Recorder) {
        self.rec
            .push(peerlab_reports::Record::Meta(peerlab_reports::Meta {
                schema: peerlab_reports::RECORD_SCHEMA_VERSION,
                scenario: self.name.clone(),
                seed: self.seed,
                duration_us: self.duration.as_micros(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
                warmup_us: 0,
            }));
        self.publish();
        let end = Instant::ZERO + self.duration;
        while let Some(t) = self.queue.peek_time() {
            if t > end {
                break;
            }
            let Some((now, ev)) = self.queue.pop() else { break };
            self.events += 1;
            self.fp.mix_all(&[now.as_micros(), ev.tag()]);
            self.process(now, ev);
            if self.events.is_multiple_of(65_536) {
                progress(now, self.events, self.tally.live as u64);
            }
        }
        self.finish(end)
    }

    fn finish(mut self, end: Instant) -> (crate::world::Outcome, Recorder) {
        self.fail_pending_at_end(end);
        let fingerprint = self.fp.hex();
        self.rec.push(peerlab_reports::Record::End(peerlab_reports::End {
            t_us: end.as_micros(),
            events: self.events,
            fingerprint: fingerprint.clone(),
        }));
        let metrics = self.metrics();
        let checks = self.verdicts(&metrics);
        let outcome = crate::world::Outcome {
            fingerprint,
            events: self.events,
            peers_max: self.tally.live_max as u64,
            metrics,
            checks,
            violations: self.rec.violations(),
            simulated: end.since_epoch(),
        };
        (outcome, self.rec)
    }

    fn process(&mut self, now: Instant, ev: Ev) {
        match ev {
            Ev::Deliver {
                hop,
                dest,
                dest_gen,
                from,
                msg,
            } => self.on_deliver(now, hop, dest, dest_gen, from, msg),
            Ev::Timer { node, gen } => {
                let st = &mut self.nodes[node as usize];
                if st.gen != gen || !st.up || st.timer_at != Some(now) {
                    return;
                }
                st.timer_at = None;
                self.fp.mix(u64::from(node));
                match &mut st.machine {
                    Machine::Server(n) => n.handle_timeout(now),
                    Machine::Peer(n) => n.handle_timeout(now),
                    Machine::Hosted(n) => n.handle_timeout(now),
                    Machine::Gateway => {}
                }
                self.drain(node, now);
            }
            Ev::Fetch { node, content } => self.start_fetch(now, node, content),
            Ev::Trickle { workload } => self.on_trickle(now, workload),
            Ev::Leave { node } => self.on_leave(now, node),
            Ev::Rejoin { node } => self.on_rejoin(now, node),
            Ev::Sample => {
                self.sample(now);
                self.queue.push(now + self.sample_every, Ev::Sample);
            }
            Ev::LinkDone { link, version } => self.on_link_done(now, link, version),
        }
    }
}
