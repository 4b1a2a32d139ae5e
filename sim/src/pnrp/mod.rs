//! PNRP's plug-in into the generic world (docs/architecture.md §3b): peers run real `PnrpNode`
//! engines; the plug-in gives them identities and names, drives the workloads, judges every
//! completion against the oracle, checks the engines' bounds, runs the attackers and measures
//! leaf sets and caches.

mod attack;
mod broken_chain;
mod checks;
mod invariants;
mod load;
mod ops;
mod populate;
mod sample;
mod vocab;

pub use vocab::{Behaviour, OpKind};

use crate::oracle::Oracle;
use crate::plan::Plan;
use crate::popularity::PopularitySampler;
use crate::world::{CheckVerdict, Core, Ev, Protocol, Setup, World};
use peerlab_engine::crypto::Identity;
use peerlab_engine::pnrp::{self, Message, MessageType, PnrpId, PnrpNode};
use peerlab_engine::{derive_seed, Endpoint, Instant, NodeRng, RequestId};
use rand::SeedableRng;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The simulated world running PNRP.
pub type PnrpWorld = World<PnrpProtocol>;

/// The world's queued event when it runs PNRP.
pub type EvPnrp = crate::world::EvOf<PnrpProtocol>;

/// The core as PNRP's hooks see it.
type PCore = Core<PnrpProtocol>;

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

/// What PNRP keeps per peer besides its engine (it survives restarts).
pub struct PnrpPeer {
    /// The attack this peer runs; `None` for an honest peer.
    attacker: Option<Behaviour>,
    identity: Option<Arc<Identity>>,
    /// Oracle indices of the names it owns.
    names: Vec<u32>,
    resolve_only: bool,
    ops: BTreeMap<RequestId, PendingOp>,
}

/// PNRP's world-level state: the oracle, seed servers, workloads, attackers, measurements.
pub struct PnrpProtocol {
    oracle: Oracle,
    /// Seed servers' endpoints, per cloud.
    seeds: Vec<Vec<Endpoint>>,
    metrics: sample::Metrics,
    attack: attack::AttackState,
    samplers: Vec<PopularitySampler>,
    rng_workload: NodeRng,
    rng_attack: NodeRng,
    /// Heals whose leaf-set convergence was judged already.
    judged_heals: usize,
    /// Traffic of each peer's ended sessions, indexed by peer (load.rs).
    ended: Vec<load::Ended>,
    /// Operations of the peer going offline, judged once its engine is gone.
    leaving: Vec<PendingOp>,
}

/// PNRP's own events.
#[derive(Clone, Copy, Debug)]
pub enum PnrpEv {
    /// An attacker starts misbehaving.
    AttackStart {
        /// The attacker.
        peer: u32,
    },
}

/// Peer `p`'s role.
fn role(p: &crate::world::Peer<PnrpProtocol>) -> Role {
    match p.data.attacker {
        Some(b) => Role::Attacker(b),
        None => Role::Honest {
            group: p.group().unwrap_or(0),
        },
    }
}

impl Protocol for PnrpProtocol {
    type Node = PnrpNode;
    type Message = Message;
    type PeerData = PnrpPeer;
    type Ext = PnrpEv;

    fn new(plan: &Plan) -> Result<Setup<Self>, String> {
        let stream = |name: &str| NodeRng::from_seed(derive_seed(plan.seed, name, 0));
        let samplers = plan
            .workloads
            .iter()
            .map(|w| PopularitySampler::new(w.popularity).map_err(|e| format!("workload target: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let mut p = PnrpProtocol {
            oracle: Oracle::default(),
            seeds: Vec::new(),
            metrics: sample::Metrics::default(),
            attack: attack::AttackState::default(),
            samplers,
            rng_workload: stream("workload"),
            rng_attack: stream("attack"),
            judged_heals: 0,
            ended: Vec::new(),
            leaving: Vec::new(),
        };
        let specs = p.populate(plan);
        Ok((p, specs))
    }

    fn message_kinds() -> Vec<&'static str> {
        MessageType::ALL.iter().map(|t| t.name()).collect()
    }

    #[inline]
    fn message_kind(msg: &Message) -> usize {
        msg.kind().index()
    }

    #[inline]
    fn encoded_len(msg: &Message) -> usize {
        msg.encoded_len()
    }

    #[inline]
    fn fold_message(msg: &Message) -> u64 {
        ((msg.kind().code() as u64) << 32) | msg.message_id() as u64
    }

    fn fold_ext(ext: &PnrpEv) -> (u64, u64, u64) {
        match ext {
            PnrpEv::AttackStart { peer } => (11, *peer as u64, 0),
        }
    }

    fn wire_round_trip(msg: Message, buf: &mut Vec<u8>) -> Result<Message, String> {
        buf.clear();
        pnrp::wire::encode(&msg, buf);
        pnrp::wire::decode(buf).map_err(|e| {
            format!(
                "{} message failed to decode after encoding: {e}",
                msg.kind().name()
            )
        })
    }

    #[inline]
    fn prefetch_message(msg: &Message) {
        populate::prefetch_payload(msg);
    }

    #[inline]
    fn prefetch_node(node: &PnrpNode) {
        populate::prefetch_hot_regions(node);
    }

    fn schedule_initial(&mut self, core: &mut PCore) {
        let plan = core.plan.clone();
        let mut index: u32 = plan.groups.iter().map(|g| g.joins.len() as u32).sum();
        for a in &plan.attackers {
            for &at in &a.joins {
                core.schedule(at, Ev::Join { peer: index });
                index += 1;
            }
            core.add_phase(peerlab_reports::Phase {
                kind: "attack".into(),
                label: format!("{} × {}", a.count, a.behaviour.name()),
                start_us: a.start.as_micros(),
                end_us: u64::MAX,
            });
        }
        for (i, w) in plan.workloads.iter().enumerate() {
            core.schedule(w.start, Ev::Workload { index: i as u16 });
        }
    }

    fn build_node(&mut self, core: &PCore, peer: u32, ep: Endpoint, rng_seed: [u8; 32]) -> Box<PnrpNode> {
        let cloud = core.cloud_of(peer);
        let seeds: Vec<_> = self.seeds[cloud as usize]
            .iter()
            .copied()
            .filter(|s| *s != ep)
            .collect();
        Box::new(PnrpNode::new(
            core.plan.pnrp.clone(),
            ep,
            seeds,
            rng_seed,
            core.now(),
        ))
    }

    fn joined(&mut self, core: &mut PCore, peer: u32) {
        match role(core.peer(peer)) {
            Role::Honest { .. } => {
                // Join-time registrations get the deadline the engine gives a registration walk
                // (`pnrp.internal_resolve_timeout`, MS-PNRP §3.2.4.1): one waiting longer for its
                // cache to fill has failed.
                let deadline = core.plan.pnrp.internal_resolve_timeout;
                for name in core.peer(peer).data.names.clone() {
                    self.register(core, peer, name, deadline);
                }
            }
            Role::Attacker(_) => self.attacker_joined(core, peer),
        }
    }

    fn going_offline(&mut self, core: &mut PCore, peer: u32, graceful: bool) {
        // The asker's own operations end here whichever way it leaves: take them before the
        // engine sees Leave, so the `Closed` completions Leave emits are not judged as protocol
        // failures; they are recorded as `source_left` once the engine is gone, exactly as after
        // a crash.
        let ops = std::mem::take(&mut core.peer_mut(peer).data.ops);
        self.leaving = ops.into_values().collect();
        if graceful {
            core.command(self, peer, pnrp::Command::Leave);
        }
        for name in core.peer(peer).data.names.clone() {
            self.oracle.withdrawn(name);
        }
    }

    fn gone_offline(&mut self, core: &mut PCore, peer: u32, node: Option<Box<PnrpNode>>) {
        let ops = std::mem::take(&mut self.leaving);
        let Some(node) = node else { return };
        checks::fold_stats(&mut self.metrics.engine, node.stats());
        self.session_ended(peer, node.stats());
        for op in ops {
            self.op_aborted(core, peer, op);
        }
    }

    fn address_changed(&mut self, core: &mut PCore, peer: u32, ep: Endpoint) {
        core.command(self, peer, pnrp::Command::ChangeAddress { local: ep });
    }

    #[inline]
    fn on_event(&mut self, core: &mut PCore, peer: u32, event: pnrp::Event) {
        self.node_event(core, peer, event);
    }

    #[inline]
    fn intercept(&mut self, core: &mut PCore, to: u32, from: Endpoint, msg: &Message) -> bool {
        match core.peer(to).data.attacker {
            Some(b) => self.attacking(core, to) && self.intercept_as(core, to, b, from, msg),
            None => false,
        }
    }

    #[inline]
    fn check_peer(&mut self, core: &mut PCore, peer: u32) {
        invariants::check_peer(core, peer);
    }

    fn workload(&mut self, core: &mut PCore, index: u16) {
        self.workload_tick(core, index as usize);
    }

    fn on_ext(&mut self, core: &mut PCore, ext: PnrpEv) {
        match ext {
            PnrpEv::AttackStart { peer } => self.attack_start(core, peer),
        }
    }

    fn sample(&mut self, core: &mut PCore) {
        self.sample_now(core);
    }

    fn finish(&mut self, core: &mut PCore) -> (Vec<CheckVerdict>, BTreeMap<String, f64>) {
        self.record_open_ops(core);
        self.sample_now(core);
        let checks = self.evaluate_checks(core);
        let metrics = self.headline_metrics(core);
        self.record_peer_load(core);
        (checks, metrics)
    }
}

impl PnrpWorld {
    /// The oracle's true leaf set (below, above) of `id`, for state dumps.
    pub fn true_leaf_set(&self, id: PnrpId) -> (Vec<PnrpId>, Vec<PnrpId>) {
        let oracle = &self.protocol().oracle;
        oracle.true_leaf_set(oracle.cloud_of_id(&id), id)
    }

    /// Peer `index`'s role, if it exists.
    pub fn role(&self, index: u32) -> Option<Role> {
        self.core().peers().get(index as usize).map(role)
    }
}
