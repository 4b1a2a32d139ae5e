//! What members do: enter the graph (create, join through a live member the oracle picks, or
//! reopen with a kept database), run the record workloads (publish, update, delete, MS-PPGRH
//! §3.1.4.3-5), report completions as operation records, and end sessions.

use super::{GCore, GraphEv, GraphingProtocol, Member, PendingOp, Role, BOOTSTRAP_RETRY};
use crate::scenario::RecordOp;
use crate::world::Ev;
use peerlab_engine::graphing::{Bootstrap, GraphCommand, GraphEvent, Guid};
use peerlab_engine::{Node, RequestId};
use peerlab_reports::{OpRecord, Phase, Record};
use rand::Rng;
use rand_distr::{Distribution, Exp};

/// The record type every workload record carries (an application type, outside the reserved
/// ones of MS-PPGRH §2.2.3).
pub const WORKLOAD_RECORD_TYPE: Guid = Guid::from_text("7065726c-6162-4772-8170-68696e670001");

/// What a pending command was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OpKind {
    /// A first Join (Sync All).
    Join,
    /// A Join of a member reopening its kept database (time-based, then hash-based sync).
    Rejoin,
    /// A record operation.
    Record(RecordOp),
}

impl OpKind {
    fn name(self) -> &'static str {
        match self {
            OpKind::Join => "join",
            OpKind::Rejoin => "rejoin",
            OpKind::Record(RecordOp::Publish) => "publish",
            OpKind::Record(RecordOp::Update) => "update",
            OpKind::Record(RecordOp::Delete) => "delete",
        }
    }
}

impl GraphingProtocol {
    /// Phases and start events of the attackers.
    pub(super) fn schedule_attacks(&mut self, core: &mut GCore) {
        for a in &self.plan.attackers {
            core.add_phase(Phase {
                kind: "attack".into(),
                label: format!("{} × {:?}", a.count, a.behaviour),
                start_us: a.start.as_micros(),
                end_us: u64::MAX,
            });
        }
        for peer in 0..core.peers().len() as u32 {
            let p = core.peer(peer);
            if let (Role::Attacker(b), Some(g)) = (p.data.role, p.group()) {
                let start = self
                    .plan
                    .attackers
                    .iter()
                    .find(|a| a.group == g && a.behaviour == b);
                if let Some(a) = start {
                    core.schedule(a.start, Ev::Ext(GraphEv::AttackStart { peer }));
                }
            }
        }
    }

    /// `peer` is online: the creator creates the graph; any other member joins through a live,
    /// listening member (the oracle's invitation), or tries again in a moment.
    pub(super) fn enter_graph(&mut self, core: &mut GCore, peer: u32) {
        let Some(m) = core.peer(peer).node() else { return };
        if m.node().in_graph() {
            return;
        }
        let now = core.now();
        if core.peer(peer).data.role == Role::Creator && core.peer(peer).incarnation() == 1 {
            core.command(self, peer, GraphCommand::Create);
            core.peer_mut(peer).data.synchronized_at = Some(now);
            return;
        }
        let contacts: Vec<u32> = (0..core.peers().len() as u32)
            .filter(|&c| c != peer && core.peer(c).node().is_some_and(|m| m.node().is_listening()))
            .collect();
        if contacts.is_empty() {
            core.schedule(now + BOOTSTRAP_RETRY, Ev::Ext(GraphEv::Bootstrap { peer }));
            return;
        }
        let contact = contacts[self.rng_bootstrap.gen_range(0..contacts.len())];
        let to = core
            .peer(contact)
            .node()
            .expect("listening")
            .node()
            .listen_endpoint();
        let kind = match self.reopened.remove(&peer) {
            true => OpKind::Rejoin,
            false => OpKind::Join,
        };
        let data = &mut core.peer_mut(peer).data;
        data.join_asked = Some(now);
        data.synchronized_at = None;
        self.issue(core, peer, GraphCommand::Join(Bootstrap::Address(to)), kind);
    }

    /// Workload `index` ticks: one operation from a random live, synchronized honest member.
    pub(super) fn workload_tick(&mut self, core: &mut GCore, index: usize) {
        let plan = self.plan.clone();
        let w = &plan.workloads[index];
        if core.now() > w.stop {
            return;
        }
        if let Some(source) = self.pick_source(core, &w.from) {
            let data = &core.peer(source).data;
            let pick =
                (!data.own.is_empty()).then(|| data.own[self.rng_workload.gen_range(0..data.own.len())]);
            let payload = vec![(source as u8) ^ (index as u8); w.payload_bytes as usize];
            let cmd = match (w.kind, pick) {
                (RecordOp::Publish, _) => Some(GraphCommand::Publish {
                    record_type: WORKLOAD_RECORD_TYPE,
                    payload,
                    attributes: String::new(),
                    lifetime: w.lifetime,
                }),
                (RecordOp::Update, Some(id)) => Some(GraphCommand::Update {
                    id,
                    payload,
                    attributes: String::new(),
                    lifetime: w.lifetime,
                }),
                (RecordOp::Delete, Some(id)) => Some(GraphCommand::Delete { id }),
                // The member has no record of its own to change: this tick does nothing.
                (_, None) => None,
            };
            if let Some(cmd) = cmd {
                self.issue(core, source, cmd, OpKind::Record(w.kind));
            }
        }
        let gap_s: f64 = Exp::new(w.rate_per_s).map_or(1.0, |e| e.sample(&mut self.rng_workload));
        let next = core.now() + peerlab_engine::Duration::from_micros((gap_s * 1e6).round().max(1.0) as u64);
        if next <= w.stop {
            core.schedule(next, Ev::Workload { index: index as u16 });
        }
    }

    /// Gives `peer` command `cmd` and waits for its completion (which may come during the call,
    /// before its request id is known: `issuing` holds it meanwhile).
    fn issue(&mut self, core: &mut GCore, peer: u32, cmd: GraphCommand, kind: OpKind) {
        let op = PendingOp {
            kind,
            started: core.now(),
        };
        self.issuing = Some((peer, op));
        let request = core.command(self, peer, cmd);
        if let (Some((_, op)), Some(request)) = (self.issuing.take(), request) {
            core.peer_mut(peer).data.ops.insert(request, op);
        }
    }

    /// The pending command `request` of `peer` completes: its record.
    fn complete(&mut self, core: &mut GCore, peer: u32, request: RequestId) -> Option<PendingOp> {
        match core.peer_mut(peer).data.ops.remove(&request) {
            Some(op) => Some(op),
            None => self.issuing.take_if(|(p, _)| *p == peer).map(|(_, op)| op),
        }
    }

    fn pick_source(&mut self, core: &GCore, groups: &[usize]) -> Option<u32> {
        let live = core.live();
        let pool: Vec<u32> = groups
            .iter()
            .flat_map(|g| live.group(*g).iter().copied())
            .filter(|&p| {
                let d = &core.peer(p).data;
                !matches!(d.role, Role::Attacker(_)) && d.synchronized_at.is_some()
            })
            .collect();
        (!pool.is_empty()).then(|| pool[self.rng_workload.gen_range(0..pool.len())])
    }

    /// One event of `peer`'s engine.
    pub(super) fn node_event(&mut self, core: &mut GCore, peer: u32, event: GraphEvent) {
        let now = core.now();
        match event {
            GraphEvent::Done { request, id } => {
                let Some(op) = self.complete(core, peer, request) else {
                    return;
                };
                if let (OpKind::Record(kind), Some(id)) = (op.kind, id) {
                    self.record_changed_by(core, peer, kind, id);
                }
                self.record_op(core, peer, op, "ok");
            }
            GraphEvent::Failed { request, error } => {
                if let Some(op) = self.complete(core, peer, request) {
                    self.record_op(core, peer, op, error.name());
                }
            }
            GraphEvent::Synchronized => core.peer_mut(peer).data.synchronized_at = Some(now),
            GraphEvent::RecordChanged { id, version, .. }
                if !matches!(core.peer(peer).data.role, Role::Attacker(_)) =>
            {
                self.delivery.delivered(peer, &id, version, now);
            }
            _ => {}
        }
    }

    /// `peer` published, updated or deleted `id`: the oracle notes its copy and who must get it.
    fn record_changed_by(&mut self, core: &mut GCore, peer: u32, kind: RecordOp, id: Guid) {
        let now = core.now();
        self.disturbed = now;
        let Some(copy) = core.peer(peer).node().and_then(|m| m.node().record(&id)).cloned() else {
            return;
        };
        let targets: Vec<u32> = (0..core.peers().len() as u32)
            .filter(|&t| {
                let p = core.peer(t);
                t != peer
                    && p.online()
                    && p.data.synchronized_at.is_some()
                    && !matches!(p.data.role, Role::Attacker(_))
            })
            .collect();
        self.delivery.published(id, copy.version, now, targets);
        self.published.note(peer, copy);
        let own = &mut core.peer_mut(peer).data.own;
        match kind {
            RecordOp::Publish => own.push(id),
            RecordOp::Delete => own.retain(|o| *o != id),
            RecordOp::Update => {}
        }
    }

    fn record_op(&mut self, core: &mut GCore, peer: u32, op: PendingOp, outcome: &str) {
        let rec = OpRecord {
            t_us: core.now().as_micros(),
            kind: op.kind.name().to_string(),
            node: peer,
            target: None,
            outcome: outcome.to_string(),
            target_online: true,
            latency_us: core.now().saturating_since(op.started).as_micros(),
            hops: None,
            messages: 0,
        };
        core.record(Record::Op(rec));
    }

    /// `peer`'s session ended (`node` is its engine): its counters are folded, and its engine is
    /// kept for its next session; a crashed engine is closed as the process ended (its links
    /// gone, its database as it was), [SIM].
    pub(super) fn session_ended(&mut self, core: &mut GCore, peer: u32, node: Option<Box<Member>>) {
        self.disturbed = core.now();
        let Some(mut m) = node else { return };
        let now = core.now();
        if m.node().in_graph() {
            m.handle_command(now, GraphCommand::Leave);
            while m.poll_stream().is_some() || m.poll_event().is_some() || m.poll_transmit().is_some() {}
        }
        self.metrics.fold_stats(peer, m.node().stats());
        for (_, op) in std::mem::take(&mut core.peer_mut(peer).data.ops) {
            self.record_op(core, peer, op, "source_left");
        }
        let data = &mut core.peer_mut(peer).data;
        data.synchronized_at = None;
        data.join_asked = None;
        self.kept.insert(peer, m);
    }

    /// Open commands at the end of the run, recorded as unfinished.
    pub(super) fn record_open_ops(&mut self, core: &mut GCore) {
        for peer in 0..core.peers().len() as u32 {
            let ops: Vec<(RequestId, PendingOp)> =
                core.peer(peer).data.ops.iter().map(|(r, o)| (*r, *o)).collect();
            for (_, op) in ops {
                self.record_op(core, peer, op, "unfinished");
            }
        }
    }
}
