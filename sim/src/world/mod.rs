//! The simulated world: peers running real PNRP engines over the network model, driven by one
//! deterministic discrete-event loop (docs/architecture.md §4). Time jumps to the next event; ties break by
//! insertion order, so a run is a pure function of its plan and seed.

mod attack;
mod broken_chain;
mod checks;
mod datagrams;
mod invariants;
mod lifecycle;
mod load;
mod observer;
mod ops;
mod prefetch;
mod recorder;
mod sample;

pub use invariants::WORLD_NODE;
pub use lifecycle::total_peers;
pub use observer::{Observer, Tee};
pub use recorder::Recorder;

use crate::addr::endpoint_of;
use crate::fingerprint::Fingerprint;
use crate::net::{NetModel, Window, WindowEffect};
use crate::oracle::Oracle;
use crate::plan::FaultKind;
use crate::plan::{Behaviour, OpKind, Plan};
use crate::popularity::PopularitySampler;
use crate::queue::EventQueue;
use peerlab_engine::crypto::Identity;
use peerlab_engine::pnrp::{self, Message, MessageType, PnrpNode};
use peerlab_engine::{derive_seed, Endpoint, Instant, NodeRng, RequestId};
use peerlab_reports::{End, Meta, Phase, Record, Violation, RECORD_SCHEMA_VERSION};
use rand::SeedableRng;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What a peer is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// An honest peer of group `group`.
    Honest {
        /// Index into `Plan::groups`.
        group: usize,
    },
    /// An attacker.
    Attacker(Behaviour),
}

impl std::fmt::Display for Role {
    /// `honest peer (group 0)`, `attacker (forge-cpa)`: what dumps and traces print.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Role::Honest { group } => write!(f, "honest peer (group {group})"),
            Role::Attacker(b) => write!(f, "attacker ({})", b.name()),
        }
    }
}

/// An operation a peer started and the world waits on.
#[derive(Clone, Debug)]
pub(crate) struct PendingOp {
    kind: OpKind,
    started: Instant,
    /// Oracle name index of the target (resolve) or the name (register/unregister).
    name: u32,
    target_online: bool,
    /// The operation counts as failed (`timeout`) when not done by `started + deadline`.
    deadline: peerlab_engine::Duration,
}

/// One simulated peer: its engine when online, and what survives a restart.
pub(crate) struct Peer {
    role: Role,
    node: Option<Box<PnrpNode>>,
    generation: u16,
    incarnation: u32,
    identity: Option<Arc<Identity>>,
    names: Vec<u32>,
    resolve_only: bool,
    seed_server: bool,
    timer_armed: Option<Instant>,
    /// The engine's `poll_timeout()` as of its last input (`arm_timer` refreshes it after every
    /// input; `None` while offline), so a stale timer is judged without loading the engine.
    wake: Option<Instant>,
    ops: BTreeMap<RequestId, PendingOp>,
}

impl Peer {
    fn endpoint(&self, index: u32) -> Endpoint {
        endpoint_of(index, self.generation)
    }
    fn online(&self) -> bool {
        self.node.is_some()
    }
}

/// Everything that can happen, in the event queue.
#[derive(Debug)]
pub(crate) enum Ev {
    Deliver {
        to: u32,
        generation: u16,
        // The sender as (peer index, address generation): every datagram leaves a simulated peer
        // from `endpoint_of(from, from_generation)`, and 6 bytes instead of an 18-byte `Endpoint`
        // keep the event (and every wheel move of it) 8 bytes smaller.
        from_generation: u16,
        from: u32,
        // Inline: `Message` is 16 bytes (its payloads are boxed), so no allocation per delivery.
        msg: Message,
    },
    Timer {
        peer: u32,
    },
    Join {
        peer: u32,
    },
    Leave {
        peer: u32,
        incarnation: u32,
    },
    Rejoin {
        peer: u32,
    },
    Workload {
        index: u16,
    },
    FaultStart {
        index: u16,
    },
    FaultEnd {
        index: u16,
    },
    Sample,
    AttackStart {
        peer: u32,
    },
    Stop,
}

impl Ev {
    fn code(&self) -> u64 {
        match self {
            Ev::Deliver { .. } => 1,
            Ev::Timer { .. } => 2,
            Ev::Join { .. } => 3,
            Ev::Leave { .. } => 4,
            Ev::Rejoin { .. } => 5,
            Ev::Workload { .. } => 6,
            Ev::FaultStart { .. } => 7,
            Ev::FaultEnd { .. } => 8,
            Ev::Sample => 9,
            Ev::Stop => 10,
            Ev::AttackStart { .. } => 11,
        }
    }
}

/// Named random streams of the harness (each derived from the run seed and its name).
pub(crate) struct Streams {
    workload: NodeRng,
    churn: NodeRng,
    faults: NodeRng,
    attack: NodeRng,
}

/// Traffic counters kept by the world (nodes come and go; these do not).
#[derive(Default, Debug, Clone)]
pub struct Traffic {
    /// Messages sent, by message type index.
    pub messages: [u64; 8],
    /// Bytes sent, by message type index.
    pub bytes: [u64; 8],
    /// Datagrams the network or the harness dropped, by reason.
    pub dropped: BTreeMap<&'static str, u64>,
}

/// How a finished run came out (the caller writes the summary).
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Fingerprint of every processed event.
    pub fingerprint: String,
    /// Events processed.
    pub events: u64,
    /// Most peers alive at once.
    pub peers_max: u64,
    /// Protocol headline figures for `summary.json`.
    pub metrics: BTreeMap<String, f64>,
    /// Checks with verdicts.
    pub checks: Vec<checks::CheckVerdict>,
    /// Violations recorded.
    pub violations: u64,
    /// Simulated time when the run ended: the scenario's duration, or earlier when it stopped at
    /// a violation (`--stop-on-violation`).
    pub simulated: peerlab_engine::Duration,
}

pub use checks::CheckVerdict;

/// Clouds up to this many peers get the per-input safety checks after every input.
const EXACT_CHECK_PEERS: usize = 2_000;
/// Beyond `EXACT_CHECK_PEERS`, the per-input checks run after one input in this many.
const CHECK_STRIDE: u64 = 16;

/// Called every few thousand events with (sim time, events, live peers); returns false to stop.
pub type ProgressFn<'a> = &'a mut dyn FnMut(Instant, u64, u64);

/// The world.
pub struct World {
    plan: Arc<Plan>,
    now: Instant,
    queue: EventQueue<Ev>,
    net: NetModel,
    peers: Vec<Peer>,
    /// `Peer::generation` of every peer in a dense array: every datagram's destination is checked
    /// against it (`check_destination`), and 2 bytes a peer stay cached where a `Peer` would miss.
    generations: Vec<u16>,
    /// Address of each peer's engine (0 while offline), dense like `generations`; only ever used
    /// as a prefetch hint (prefetch.rs), never dereferenced.
    engines: Vec<usize>,
    oracle: Oracle,
    fp: Fingerprint,
    events: u64,
    rec: Recorder,
    rng: Streams,
    traffic: Traffic,
    live: lifecycle::LiveSets,
    peers_max: u64,
    /// Seed servers' endpoints, per cloud.
    seeds: Vec<Vec<Endpoint>>,
    phases: Vec<Phase>,
    metrics: sample::Metrics,
    attack: attack::AttackState,
    event_buf: Vec<pnrp::Event>,
    wire_buf: Vec<u8>,
    samplers: Vec<PopularitySampler>,
    observer: Option<Box<dyn Observer>>,
    stopped_early: bool,
    inv: invariants::InvariantState,
    /// Traffic of each peer's ended sessions, indexed by peer (load.rs).
    ended: Vec<load::Ended>,
}

impl World {
    /// Builds the world for `plan`, writing records through `rec`; fails on an unusable network model.
    pub fn new(plan: Arc<Plan>, rec: Recorder) -> Result<Self, String> {
        let seed = plan.seed;
        let stream = |name: &str| NodeRng::from_seed(derive_seed(seed, name, 0));
        let total = lifecycle::total_peers(&plan);
        let mut net = NetModel::new(plan.net.clone(), total, derive_seed(seed, "network", 0))
            .map_err(|e| format!("network model: {e}"))?;
        for f in &plan.faults {
            let effect = match f.kind {
                FaultKind::Loss { loss_ppm } => WindowEffect::Loss { ppm: loss_ppm },
                FaultKind::Latency { add } => WindowEffect::Latency { extra: add },
                _ => continue,
            };
            let until = f.until.unwrap_or(Instant::MAX);
            net.add_window(Window {
                at: f.at,
                until,
                effect,
                nodes: None,
            });
        }
        let samplers = plan
            .workloads
            .iter()
            .map(|w| PopularitySampler::new(w.popularity).map_err(|e| format!("workload target: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let mut w = World {
            now: Instant::ZERO,
            queue: EventQueue::new(),
            net,
            peers: Vec::with_capacity(total as usize),
            generations: Vec::new(),
            engines: Vec::new(),
            oracle: Oracle::default(),
            fp: Fingerprint::default(),
            events: 0,
            rec,
            rng: Streams {
                workload: stream("workload"),
                churn: stream("churn"),
                faults: stream("faults"),
                attack: stream("attack"),
            },
            traffic: Traffic::default(),
            live: lifecycle::LiveSets::default(),
            peers_max: 0,
            seeds: Vec::new(),
            phases: Vec::new(),
            metrics: sample::Metrics::default(),
            attack: attack::AttackState::default(),
            event_buf: Vec::new(),
            wire_buf: Vec::new(),
            samplers,
            observer: None,
            stopped_early: false,
            inv: invariants::InvariantState::default(),
            ended: Vec::new(),
            plan,
        };
        w.rec.push(Record::Meta(Meta {
            schema: RECORD_SCHEMA_VERSION,
            scenario: w.plan.name.clone(),
            seed,
            duration_us: w.plan.duration.as_micros(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            warmup_us: w.plan.warmup.as_micros(),
        }));
        w.populate();
        w.generations = w.peers.iter().map(|p| p.generation).collect();
        w.engines = vec![0; w.peers.len()];
        w.schedule_initial();
        Ok(w)
    }

    /// Installs an observer (one at a time).
    pub fn set_observer(&mut self, observer: Box<dyn Observer>) {
        self.observer = Some(observer);
    }

    /// Adds an observer beside the one installed, if any (both see every event, in order).
    pub fn add_observer(&mut self, observer: Box<dyn Observer>) {
        self.observer = Some(match self.observer.take() {
            None => observer,
            Some(first) => Box::new(observer::Tee(vec![first, observer])),
        });
    }

    /// Takes the observer back (e.g. to read what it collected).
    pub fn take_observer(&mut self) -> Option<Box<dyn Observer>> {
        self.observer.take()
    }

    /// Peer `index`'s engine, when it is online (for state dumps).
    pub fn node(&self, index: u32) -> Option<&PnrpNode> {
        self.peers.get(index as usize)?.node.as_deref()
    }

    /// Peer `index`'s current endpoint.
    pub fn endpoint(&self, index: u32) -> Option<Endpoint> {
        self.peers.get(index as usize).map(|p| p.endpoint(index))
    }

    /// Number of peers (online or not), attackers included.
    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }

    /// Current simulated time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Events processed so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Runs to the end of the scenario (or until `progress` asks to stop).
    pub fn run(mut self, progress: ProgressFn<'_>) -> (Outcome, Recorder) {
        let outcome = self.run_in_place(progress);
        (outcome, self.rec)
    }

    /// Runs to the end (or until the observer stops it) and keeps the world for inspection.
    pub fn run_in_place(&mut self, progress: ProgressFn<'_>) -> Outcome {
        let end = Instant::ZERO + self.plan.duration;
        while let Some((at, ev)) = self.queue.pop() {
            // Start loading what the following event will touch while this one runs.
            self.prefetch_next();
            if let Ev::Timer { peer } = ev {
                if self.quiet_timer(peer, at) {
                    continue;
                }
            }
            self.now = at;
            self.events += 1;
            self.fold(&ev);
            if matches!(ev, Ev::Stop) {
                break;
            }
            self.dispatch(ev);
            if self.after_event_checks() {
                self.stopped_early = true;
                break;
            }
            if let Some(obs) = self.observer.as_mut() {
                if !obs.after_event(self.now, self.events) {
                    self.stopped_early = true;
                    break;
                }
            }
            if self.events & 0x3fff == 0 {
                progress(self.now, self.events, self.live.total());
            }
        }
        if !self.stopped_early {
            self.now = end;
        }
        progress(self.now, self.events, self.live.total());
        self.finish()
    }

    /// True when an observer stopped the run before its end.
    pub fn stopped_early(&self) -> bool {
        self.stopped_early
    }

    /// The record sink (flush it with `finish`).
    pub fn recorder_mut(&mut self) -> &mut Recorder {
        &mut self.rec
    }

    fn fold(&mut self, ev: &Ev) {
        let (peer, extra) = match ev {
            Ev::Deliver { to, msg, .. } => (
                *to as u64,
                ((msg.kind().code() as u64) << 32) | msg.message_id() as u64,
            ),
            Ev::Timer { peer } | Ev::Join { peer } | Ev::Rejoin { peer } => (*peer as u64, 0),
            Ev::Leave { peer, incarnation } => (*peer as u64, *incarnation as u64),
            Ev::Workload { index } | Ev::FaultStart { index } | Ev::FaultEnd { index } => (*index as u64, 0),
            Ev::Sample | Ev::Stop => (0, 0),
            Ev::AttackStart { peer } => (*peer as u64, 0),
        };
        self.fp
            .mix_all(&[self.now.as_micros(), ev.code() | (peer << 8), extra]);
    }

    fn dispatch(&mut self, ev: Ev) {
        match ev {
            Ev::Deliver {
                to,
                generation,
                from,
                from_generation,
                msg,
            } => self.deliver(to, generation, endpoint_of(from, from_generation), msg),
            Ev::Timer { peer } => self.timer(peer),
            Ev::Join { peer } => self.join(peer),
            Ev::Leave { peer, incarnation } => self.leave(peer, incarnation),
            Ev::Rejoin { peer } => self.join(peer),
            Ev::Workload { index } => self.workload_tick(index as usize),
            Ev::FaultStart { index } => self.fault_start(index as usize),
            Ev::FaultEnd { index } => self.fault_end(index as usize),
            Ev::Sample => self.sample(),
            Ev::AttackStart { peer } => self.attack_start(peer),
            Ev::Stop => {}
        }
    }

    /// Records an invariant violation.
    pub(crate) fn violation(&mut self, node: u32, invariant: &str, detail: String) {
        let v = Violation {
            seed: self.plan.seed,
            t_us: self.now.as_micros(),
            event_index: self.events,
            node,
            invariant: invariant.to_string(),
            detail,
        };
        self.inv.note(&v);
        self.rec.push(Record::Violation(v));
    }

    fn finish(&mut self) -> Outcome {
        let end_us = self.now.as_micros();
        for mut p in std::mem::take(&mut self.phases) {
            p.end_us = p.end_us.min(end_us);
            self.rec.push(Record::Phase(p));
        }
        self.record_open_ops();
        self.sample_now();
        let checks = self.evaluate_checks();
        let metrics = self.headline_metrics();
        self.record_peer_load();
        let fingerprint = self.fp.hex();
        self.rec.push(Record::End(End {
            t_us: end_us,
            events: self.events,
            fingerprint: fingerprint.clone(),
        }));
        Outcome {
            fingerprint,
            events: self.events,
            peers_max: self.peers_max,
            metrics,
            checks,
            violations: self.rec.violations(),
            simulated: self.now.since_epoch(),
        }
    }

    /// Message type names in index order, for records.
    pub(crate) fn type_names() -> impl Iterator<Item = &'static str> {
        MessageType::ALL.iter().map(|t| t.name())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn events_stay_small_because_the_queue_moves_them() {
        // The timing wheel moves events between levels; a message inline would make that memcpy
        // dominate (measured: 16% of a 3,000-peer run at 224 bytes per event).
        assert!(
            std::mem::size_of::<super::Ev>() <= 32,
            "{}",
            std::mem::size_of::<super::Ev>()
        );
    }
}
