//! Peer Graphing's plug-in into the generic world (docs/architecture.md §3b, docs/graphing.md):
//! members run real `GraphNode` engines over the world's stream connections; the plug-in gives them
//! clocks and first contacts, drives record workloads and attackers, judges the databases against
//! the oracle (what was published, by whom, when) and measures flooding, synchronization and the
//! neighbor graph.

pub mod clock;
pub mod conflict;
pub mod convergence;
pub mod delivery;
mod invariants;
mod member;
mod ops;
mod plan;
mod populate;
mod report;
mod sample;
mod tally;
pub mod topology;

pub use member::Member;
pub use plan::{GraphAttackerPlan, GraphingPlan, RecordWorkloadPlan};

use crate::plan::Plan;
use crate::scenario::GraphBehaviour;
use crate::world::{CheckVerdict, Core, Ev, Protocol, Setup, World};
use peerlab_engine::graphing::{wire, GraphEvent, Guid, Message};
use peerlab_engine::{derive_seed, Endpoint, Instant, NodeRng, RequestId};
use rand::SeedableRng;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The simulated world running Peer Graphing.
pub type GraphingWorld = World<GraphingProtocol>;

/// The core as the graphing hooks see it.
type GCore = Core<GraphingProtocol>;

/// What a member is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The member that creates the graph (the first of the creator group; fixed: never churns).
    Creator,
    /// An honest member.
    Member,
    /// A misbehaving member.
    Attacker(GraphBehaviour),
}

/// A command a member was given and the world waits on.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PendingOp {
    kind: ops::OpKind,
    started: Instant,
}

/// What the plug-in keeps per member besides its engine (it survives restarts).
pub struct GraphPeer {
    role: Role,
    /// Records this member published that are not deleted (what its updates and deletes pick).
    own: Vec<Guid>,
    ops: BTreeMap<RequestId, PendingOp>,
    /// When its current session's Join was given and when it synchronized.
    join_asked: Option<Instant>,
    synchronized_at: Option<Instant>,
}

/// The graphing plug-in's world-level state.
pub struct GraphingProtocol {
    plan: Arc<GraphingPlan>,
    rng_workload: NodeRng,
    rng_bootstrap: NodeRng,
    delivery: delivery::DeliveryTracker,
    published: conflict::PublishedCopies,
    metrics: sample::Metrics,
    /// Each offline member's engine of its last session: a member that comes back reopens its
    /// graph with the database it had (MS-PPGRH §1.3.5.4, §3.1.4.2), as Windows keeps it on disk.
    kept: BTreeMap<u32, Box<Member>>,
    /// Members whose current session reopened a kept database (their Join is a rejoin).
    reopened: BTreeSet<u32>,
    /// The command being given (its completion may come before its request id is known).
    issuing: Option<(u32, PendingOp)>,
    /// Last record operation or fault edge: the databases must agree `settle` after it.
    disturbed: Instant,
    /// The last disturbance whose settled state was judged.
    judged: Option<Instant>,
}

/// The plug-in's own events.
#[derive(Clone, Copy, Debug)]
pub enum GraphEv {
    /// A joiner found no listening member to contact: try again.
    Bootstrap {
        /// The joiner.
        peer: u32,
    },
    /// An attacker starts misbehaving.
    AttackStart {
        /// The attacker.
        peer: u32,
    },
}

/// Seconds between bootstrap attempts of a joiner that found no listening member.
const BOOTSTRAP_RETRY: peerlab_engine::Duration = peerlab_engine::Duration::from_secs(5);

impl Protocol for GraphingProtocol {
    type Node = Member;
    type Message = Message;
    type PeerData = GraphPeer;
    type Ext = GraphEv;

    fn new(plan: &Plan) -> Result<Setup<Self>, String> {
        let g = plan
            .graphing
            .clone()
            .ok_or("a graphing world needs a [graphing] table")?;
        let stream = |name: &str| NodeRng::from_seed(derive_seed(plan.seed, name, 0));
        let specs = populate::specs(plan, &g);
        let p = GraphingProtocol {
            plan: g,
            rng_workload: stream("graphing-workload"),
            rng_bootstrap: stream("graphing-bootstrap"),
            delivery: Default::default(),
            published: Default::default(),
            metrics: Default::default(),
            kept: BTreeMap::new(),
            reopened: BTreeSet::new(),
            issuing: None,
            disturbed: Instant::ZERO,
            judged: None,
        };
        Ok((p, specs))
    }

    fn message_kinds() -> Vec<&'static str> {
        Message::KINDS.to_vec()
    }

    #[inline]
    fn message_kind(msg: &Message) -> usize {
        msg.kind()
    }

    #[inline]
    fn encoded_len(msg: &Message) -> usize {
        msg.encoded_len()
    }

    #[inline]
    fn fold_message(msg: &Message) -> u64 {
        let detail = match msg {
            Message::Flood(r) => (r.id.as_u128() as u64) ^ r.version as u64,
            _ => 0,
        };
        ((msg.type_code() as u64) << 56) ^ detail
    }

    fn fold_ext(ext: &GraphEv) -> (u64, u64, u64) {
        match ext {
            GraphEv::Bootstrap { peer } => (11, *peer as u64, 0),
            GraphEv::AttackStart { peer } => (12, *peer as u64, 0),
        }
    }

    fn wire_round_trip(msg: Message, buf: &mut Vec<u8>) -> Result<Message, String> {
        buf.clear();
        wire::encode(&msg, buf);
        wire::decode(buf).map_err(|e| {
            format!(
                "{} failed to decode after encoding: {e}",
                Message::KINDS[msg.kind()]
            )
        })
    }

    fn schedule_initial(&mut self, core: &mut GCore) {
        for (i, w) in self.plan.workloads.iter().enumerate() {
            core.schedule(w.start, Ev::Workload { index: i as u16 });
        }
        self.schedule_attacks(core);
    }

    fn build_node(&mut self, core: &GCore, peer: u32, ep: Endpoint, rng_seed: [u8; 32]) -> Box<Member> {
        populate::build(self, core, peer, ep, rng_seed)
    }

    fn joined(&mut self, core: &mut GCore, peer: u32) {
        self.disturbed = core.now();
        self.enter_graph(core, peer);
    }

    fn going_offline(&mut self, core: &mut GCore, peer: u32, graceful: bool) {
        self.disturbed = core.now();
        if graceful {
            core.command(self, peer, peerlab_engine::graphing::GraphCommand::Leave);
        }
    }

    fn gone_offline(&mut self, core: &mut GCore, peer: u32, node: Option<Box<Member>>) {
        self.session_ended(core, peer, node);
    }

    fn address_changed(&mut self, core: &mut GCore, _peer: u32, _ep: Endpoint) {
        // The world reset the member's connections; its engine finds new neighbors through
        // maintenance. Its kept database is tied to its old listening address.
        self.disturbed = core.now();
    }

    #[inline]
    fn on_event(&mut self, core: &mut GCore, peer: u32, event: GraphEvent) {
        self.node_event(core, peer, event);
    }

    #[inline]
    fn intercept(&mut self, _core: &mut GCore, _to: u32, _from: Endpoint, _msg: &Message) -> bool {
        // Graphing sends no datagrams; attackers act on streams (member.rs).
        false
    }

    #[inline]
    fn check_peer(&mut self, core: &mut GCore, peer: u32) {
        invariants::check_degree(core, peer);
    }

    fn workload(&mut self, core: &mut GCore, index: u16) {
        self.workload_tick(core, index as usize);
    }

    fn on_ext(&mut self, core: &mut GCore, ext: GraphEv) {
        match ext {
            GraphEv::Bootstrap { peer } => self.enter_graph(core, peer),
            GraphEv::AttackStart { peer } => {
                if let Some(m) = core.peer_mut(peer).node_mut() {
                    m.start_attack();
                }
            }
        }
    }

    fn sample(&mut self, core: &mut GCore) {
        self.sample_now(core);
    }

    fn finish(&mut self, core: &mut GCore) -> (Vec<CheckVerdict>, BTreeMap<String, f64>) {
        self.sample_now(core);
        self.finish_metrics(core)
    }
}

/// The bytes of a graphing message as framed on its connection, at the default frame size
/// (MS-PPGRH §2.2.1.1), for `--pcap`.
fn framed(msg: &Message, out: &mut Vec<u8>) {
    wire::frame::encode_framed(
        msg,
        peerlab_engine::graphing::GraphConfig::new("", "").max_frame_size,
        out,
    );
}

/// The codec `--pcap` writes a graphing run's connections with.
pub fn pcap_codec() -> crate::pcap::Codec<Message> {
    crate::pcap::Codec {
        datagram: wire::encode,
        frame: framed,
    }
}

impl GraphingWorld {
    /// Member `index`'s role, if it exists.
    pub fn role(&self, index: u32) -> Option<Role> {
        self.core().peers().get(index as usize).map(|p| p.data.role)
    }
}
