//! The simulated world: peers running a protocol's real engines over the network model, driven by
//! one deterministic discrete-event loop (docs/architecture.md §4). Time jumps to the next event;
//! ties break by insertion order, so a run is a pure function of its plan and seed.
//!
//! The world knows no protocol: it is generic over a [`Protocol`] plug-in (`World<P>`,
//! monomorphised, no `dyn` per event) that builds each peer's engine, judges its events, drives
//! its workloads and attackers and measures it. The world owns what every protocol shares: the
//! event queue, the drain rule, incarnations and address generations, churn and faults, the
//! fingerprint, the recorder, traffic counters and the observer seam.

mod checks;
mod datagrams;
mod lifecycle;
mod observer;
mod prefetch;
mod protocol;
mod recorder;
mod streams;
#[cfg(test)]
mod toy;
#[cfg(test)]
mod toy_streams;
mod violations;

pub use checks::CheckVerdict;
pub use lifecycle::{total_peers, LiveSets};
pub use observer::{Observer, Tee};
pub use protocol::{PeerSpec, Protocol, Setup};
pub use recorder::Recorder;
pub use streams::StreamInfo;
pub use violations::WORLD_NODE;

use crate::addr::endpoint_of;
use crate::fingerprint::Fingerprint;
use crate::net::{NetModel, Window, WindowEffect};
use crate::plan::{FaultKind, Plan};
use crate::queue::EventQueue;
use peerlab_engine::{derive_seed, Endpoint, Instant, NodeRng};
use peerlab_reports::{End, Meta, Phase, Record, RECORD_SCHEMA_VERSION};
use rand::SeedableRng;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One simulated peer: its engine when online, and what survives a restart.
pub struct Peer<P: Protocol> {
    node: Option<Box<P::Node>>,
    generation: u16,
    incarnation: u32,
    /// Churn group (`None`: outside every group, e.g. an attacker).
    group: Option<u32>,
    /// Joins at zero and stays up (`PeerSpec::fixed`).
    fixed: bool,
    timer_armed: Option<Instant>,
    /// The engine's `poll_timeout()` as of its last input (`arm_timer` refreshes it after every
    /// input; `None` while offline), so a stale timer is judged without loading the engine.
    wake: Option<Instant>,
    /// The protocol's data for this peer.
    pub data: P::PeerData,
}

impl<P: Protocol> Peer<P> {
    /// The peer's current endpoint (`index` is its own index).
    pub fn endpoint(&self, index: u32) -> Endpoint {
        endpoint_of(index, self.generation)
    }
    /// Whether the peer is online.
    pub fn online(&self) -> bool {
        self.node.is_some()
    }
    /// Its engine, when online.
    pub fn node(&self) -> Option<&P::Node> {
        self.node.as_deref()
    }
    /// Its engine, mutably, when online (inputs given this way must be drained: `Core::drain`).
    pub fn node_mut(&mut self) -> Option<&mut P::Node> {
        self.node.as_deref_mut()
    }
    /// Its churn group, if it belongs to one.
    pub fn group(&self) -> Option<usize> {
        self.group.map(|g| g as usize)
    }
    /// Its address generation (1 at start, bumped by every address change).
    pub fn generation(&self) -> u16 {
        self.generation
    }
    /// Sessions it has started (0 = never online).
    pub fn incarnation(&self) -> u32 {
        self.incarnation
    }
    /// Whether it is a fixed peer (joins at zero, stays up).
    pub fn fixed(&self) -> bool {
        self.fixed
    }
}

/// Everything that can happen, in the event queue.
#[derive(Debug)]
pub enum Ev<M, X> {
    /// A datagram reaches peer `to` (if it still has address generation `generation`).
    Deliver {
        /// Receiving peer.
        to: u32,
        /// The receiver's address generation the datagram was sent to.
        generation: u16,
        // The sender as (peer index, address generation): every datagram leaves a simulated peer
        // from `endpoint_of(from, from_generation)`, and 6 bytes instead of an 18-byte `Endpoint`
        // keep the event (and every wheel move of it) 8 bytes smaller.
        /// Sender's address generation.
        from_generation: u16,
        /// Sending peer.
        from: u32,
        /// The datagram, inline (payloads are boxed, so no allocation per delivery).
        msg: M,
    },
    /// Peer `peer`'s armed deadline.
    Timer {
        /// The peer.
        peer: u32,
    },
    /// Peer `peer` joins.
    Join {
        /// The peer.
        peer: u32,
    },
    /// Peer `peer`'s session `incarnation` ends.
    Leave {
        /// The peer.
        peer: u32,
        /// The session it ends (a stale leave is ignored).
        incarnation: u32,
    },
    /// Peer `peer` comes back with the same identity.
    Rejoin {
        /// The peer.
        peer: u32,
    },
    /// Workload `index` ticks (the protocol's `workload` hook).
    Workload {
        /// The protocol's workload index.
        index: u16,
    },
    /// Fault `index` starts.
    FaultStart {
        /// Index into `Plan::faults`.
        index: u16,
    },
    /// Fault `index` heals.
    FaultEnd {
        /// Index into `Plan::faults`.
        index: u16,
    },
    /// The periodic sample.
    Sample,
    /// The stream model's next deadline (handshakes, segments, retransmissions).
    Streams,
    /// The end of the run.
    Stop,
    /// One of the protocol's own events.
    Ext(X),
}

/// The queued event of protocol `P`.
pub type EvOf<P> = Ev<<P as Protocol>::Message, <P as Protocol>::Ext>;

/// Named random streams of the world (each derived from the run seed and its name).
pub(crate) struct Streams {
    churn: NodeRng,
    faults: NodeRng,
}

/// Traffic counters kept by the world (nodes come and go; these do not).
#[derive(Default, Debug, Clone)]
pub struct Traffic {
    /// Messages sent, by message kind index (`Protocol::message_kind`).
    pub messages: Vec<u64>,
    /// Bytes sent, by message kind index.
    pub bytes: Vec<u64>,
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
    pub checks: Vec<CheckVerdict>,
    /// Violations recorded.
    pub violations: u64,
    /// Simulated time when the run ended: the scenario's duration, or earlier when it stopped at
    /// a violation (`--stop-on-violation`).
    pub simulated: peerlab_engine::Duration,
}

/// Clouds up to this many peers get the per-input safety checks after every input.
const EXACT_CHECK_PEERS: usize = 2_000;
/// Beyond `EXACT_CHECK_PEERS`, the per-input checks run after one input in this many.
const CHECK_STRIDE: u64 = 16;

/// Called every few thousand events with (sim time, events, live peers); returns false to stop.
pub type ProgressFn<'a> = &'a mut dyn FnMut(Instant, u64, u64);

/// The protocol-free part of the world, handed to every protocol hook.
pub struct Core<P: Protocol> {
    /// The run's plan.
    pub plan: Arc<Plan>,
    now: Instant,
    queue: EventQueue<EvOf<P>>,
    /// The network model.
    pub net: NetModel,
    peers: Vec<Peer<P>>,
    /// `Peer::generation` of every peer in a dense array: every datagram's destination is checked
    /// against it (`check_destination`), and 2 bytes a peer stay cached where a `Peer` would miss.
    generations: Vec<u16>,
    /// Address of each peer's engine (0 while offline), dense like `generations`; only ever used
    /// as a prefetch hint (prefetch.rs), never dereferenced.
    engines: Vec<usize>,
    fp: Fingerprint,
    events: u64,
    rec: Recorder,
    rng: Streams,
    traffic: Traffic,
    kind_names: Vec<&'static str>,
    live: LiveSets,
    peers_max: u64,
    phases: Vec<Phase>,
    /// Times when partitions healed.
    heals: Vec<Instant>,
    wire_buf: Vec<u8>,
    event_buf: Vec<<P::Node as peerlab_engine::Node>::Event>,
    observer: Option<Box<dyn Observer<P::Message>>>,
    /// Stream connections, from the first stream command on.
    conns: Option<Box<streams::Conns<P::Message>>>,
    stopped_early: bool,
    inv: violations::InvariantState,
}

/// The world: the generic core and the protocol plugged into it.
pub struct World<P: Protocol> {
    core: Core<P>,
    proto: P,
}

impl<P: Protocol> World<P> {
    /// Builds the world for `plan`, writing records through `rec`; fails on an unusable network
    /// model or a plan the protocol refuses.
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
        let kind_names = P::message_kinds();
        let mut core = Core {
            now: Instant::ZERO,
            queue: EventQueue::new(),
            net,
            peers: Vec::with_capacity(total as usize),
            generations: Vec::new(),
            engines: Vec::new(),
            fp: Fingerprint::default(),
            events: 0,
            rec,
            rng: Streams {
                churn: stream("churn"),
                faults: stream("faults"),
            },
            traffic: Traffic {
                messages: vec![0; kind_names.len()],
                bytes: vec![0; kind_names.len()],
                dropped: BTreeMap::new(),
            },
            kind_names,
            live: LiveSets::default(),
            peers_max: 0,
            phases: Vec::new(),
            heals: Vec::new(),
            wire_buf: Vec::new(),
            event_buf: Vec::new(),
            observer: None,
            conns: None,
            stopped_early: false,
            inv: violations::InvariantState::default(),
            plan,
        };
        core.rec.push(Record::Meta(Meta {
            schema: RECORD_SCHEMA_VERSION,
            scenario: core.plan.name.clone(),
            seed,
            duration_us: core.plan.duration.as_micros(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            warmup_us: core.plan.warmup.as_micros(),
        }));
        let (proto, specs) = P::new(&core.plan)?;
        core.populate(specs);
        core.place_on_subnets()?;
        let mut w = World { core, proto };
        w.core.schedule_initial(&mut w.proto);
        Ok(w)
    }

    /// The generic core (peers, time, records).
    pub fn core(&self) -> &Core<P> {
        &self.core
    }

    /// The protocol plug-in's state.
    pub fn protocol(&self) -> &P {
        &self.proto
    }

    /// Installs an observer (one at a time).
    pub fn set_observer(&mut self, observer: Box<dyn Observer<P::Message>>) {
        self.core.observer = Some(observer);
    }

    /// Adds an observer beside the one installed, if any (both see every event, in order).
    pub fn add_observer(&mut self, observer: Box<dyn Observer<P::Message>>) {
        self.core.observer = Some(match self.core.observer.take() {
            None => observer,
            Some(first) => Box::new(observer::Tee(vec![first, observer])),
        });
    }

    /// Takes the observer back (e.g. to read what it collected).
    pub fn take_observer(&mut self) -> Option<Box<dyn Observer<P::Message>>> {
        self.core.observer.take()
    }

    /// Peer `index`'s engine, when it is online (for state dumps).
    pub fn node(&self, index: u32) -> Option<&P::Node> {
        self.core.peers.get(index as usize)?.node()
    }

    /// Peer `index`'s current endpoint.
    pub fn endpoint(&self, index: u32) -> Option<Endpoint> {
        self.core.peers.get(index as usize).map(|p| p.endpoint(index))
    }

    /// Number of peers (online or not), attackers included.
    pub fn peer_count(&self) -> usize {
        self.core.peers.len()
    }

    /// Current simulated time.
    pub fn now(&self) -> Instant {
        self.core.now
    }

    /// Events processed so far.
    pub fn events(&self) -> u64 {
        self.core.events
    }

    /// Runs to the end of the scenario (or until `progress` asks to stop).
    pub fn run(mut self, progress: ProgressFn<'_>) -> (Outcome, Recorder) {
        let outcome = self.run_in_place(progress);
        (outcome, self.core.rec)
    }

    /// Runs to the end (or until the observer stops it) and keeps the world for inspection.
    pub fn run_in_place(&mut self, progress: ProgressFn<'_>) -> Outcome {
        let core = &mut self.core;
        let proto = &mut self.proto;
        let end = Instant::ZERO + core.plan.duration;
        while let Some((at, ev)) = core.queue.pop() {
            // Start loading what the following event will touch while this one runs.
            core.prefetch_next();
            if let Ev::Timer { peer } = ev {
                if core.quiet_timer(peer, at) {
                    continue;
                }
            }
            core.now = at;
            core.events += 1;
            core.fold(&ev);
            if matches!(ev, Ev::Stop) {
                break;
            }
            core.dispatch(proto, ev);
            if core.after_event_checks() {
                core.stopped_early = true;
                break;
            }
            if let Some(obs) = core.observer.as_mut() {
                if !obs.after_event(core.now, core.events) {
                    core.stopped_early = true;
                    break;
                }
            }
            if core.events & 0x3fff == 0 {
                progress(core.now, core.events, core.live.total());
            }
        }
        if !core.stopped_early {
            core.now = end;
        }
        progress(core.now, core.events, core.live.total());
        self.finish()
    }

    /// True when an observer stopped the run before its end.
    pub fn stopped_early(&self) -> bool {
        self.core.stopped_early
    }

    /// The record sink (flush it with `finish`).
    pub fn recorder_mut(&mut self) -> &mut Recorder {
        &mut self.core.rec
    }

    fn finish(&mut self) -> Outcome {
        let core = &mut self.core;
        let end_us = core.now.as_micros();
        for mut p in std::mem::take(&mut core.phases) {
            p.end_us = p.end_us.min(end_us);
            core.rec.push(Record::Phase(p));
        }
        let (checks, mut metrics) = self.proto.finish(core);
        core.traffic_metrics(&mut metrics);
        let fingerprint = core.fp.hex();
        core.rec.push(Record::End(End {
            t_us: end_us,
            events: core.events,
            fingerprint: fingerprint.clone(),
        }));
        Outcome {
            fingerprint,
            events: core.events,
            peers_max: core.peers_max,
            metrics,
            checks,
            violations: core.rec.violations(),
            simulated: core.now.since_epoch(),
        }
    }
}

impl<P: Protocol> Core<P> {
    fn fold(&mut self, ev: &EvOf<P>) {
        let (code, peer, extra) = match ev {
            Ev::Deliver { to, msg, .. } => (1, *to as u64, P::fold_message(msg)),
            Ev::Timer { peer } => (2, *peer as u64, 0),
            Ev::Join { peer } => (3, *peer as u64, 0),
            Ev::Leave { peer, incarnation } => (4, *peer as u64, *incarnation as u64),
            Ev::Rejoin { peer } => (5, *peer as u64, 0),
            Ev::Workload { index } => (6, *index as u64, 0),
            Ev::FaultStart { index } => (7, *index as u64, 0),
            Ev::FaultEnd { index } => (8, *index as u64, 0),
            Ev::Sample => (9, 0, 0),
            Ev::Stop => (10, 0, 0),
            Ev::Streams => (streams::FOLD_STREAM_TIMER, 0, 0),
            Ev::Ext(x) => P::fold_ext(x),
        };
        self.fp
            .mix_all(&[self.now.as_micros(), code | (peer << 8), extra]);
    }

    fn dispatch(&mut self, proto: &mut P, ev: EvOf<P>) {
        match ev {
            Ev::Deliver {
                to,
                generation,
                from,
                from_generation,
                msg,
            } => self.deliver(proto, to, generation, endpoint_of(from, from_generation), msg),
            Ev::Timer { peer } => self.timer(proto, peer),
            Ev::Join { peer } | Ev::Rejoin { peer } => self.join(proto, peer),
            Ev::Leave { peer, incarnation } => self.leave(proto, peer, incarnation),
            Ev::Workload { index } => proto.workload(self, index),
            Ev::FaultStart { index } => self.fault_start(proto, index as usize),
            Ev::FaultEnd { index } => self.fault_end(index as usize),
            Ev::Sample => {
                proto.sample(self);
                let next = self.now + self.plan.sample_every;
                if next < Instant::ZERO + self.plan.duration {
                    self.queue.push(next, Ev::Sample);
                }
            }
            Ev::Ext(x) => proto.on_ext(self, x),
            Ev::Streams => self.stream_timer(proto),
            Ev::Stop => {}
        }
        if self.conns.is_some() {
            self.flush_streams(proto);
        }
    }

    /// Current simulated time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Events processed so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Every peer, by index.
    pub fn peers(&self) -> &[Peer<P>] {
        &self.peers
    }

    /// Peer `index` (panics on an index out of range: indices come from the world).
    pub fn peer(&self, index: u32) -> &Peer<P> {
        &self.peers[index as usize]
    }

    /// Peer `index`, mutably.
    pub fn peer_mut(&mut self, index: u32) -> &mut Peer<P> {
        &mut self.peers[index as usize]
    }

    /// Live peers per group and in total.
    pub fn live(&self) -> &LiveSets {
        &self.live
    }

    /// Most peers alive at once so far.
    pub fn peers_max(&self) -> u64 {
        self.peers_max
    }

    /// Traffic counters so far.
    pub fn traffic(&self) -> &Traffic {
        &self.traffic
    }

    /// Message kind names, indexed like the traffic counters.
    pub fn kind_names(&self) -> &[&'static str] {
        &self.kind_names
    }

    /// Times when partitions healed, in order.
    pub fn heals(&self) -> &[Instant] {
        &self.heals
    }

    /// The record sink.
    pub fn recorder(&mut self) -> &mut Recorder {
        &mut self.rec
    }

    /// Records one line.
    pub fn record(&mut self, record: Record) {
        self.rec.push(record);
    }

    /// Adds a phase (an attack, a fault) for the report; recorded at the end, in order.
    pub fn add_phase(&mut self, phase: Phase) {
        self.phases.push(phase);
    }

    /// Schedules `ev` at `at`.
    pub fn schedule(&mut self, at: Instant, ev: EvOf<P>) {
        self.queue.push(at, ev);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn events_stay_small_because_the_queue_moves_them() {
        // The timing wheel moves events between levels; a message inline would make that memcpy
        // dominate (measured: 16% of a 3,000-peer run at 224 bytes per event).
        let size = std::mem::size_of::<crate::pnrp::EvPnrp>();
        assert!(size <= 32, "{size}");
    }
}
