//! Operations: workload generators, registrations, and judging each completion against the oracle.

use super::{Ev, PendingOp, Role, World};
use crate::plan::OpKind;
use peerlab_engine::pnrp::{self, ResolveCriteria, ResolveError, Resolved};
use peerlab_engine::{Duration, RequestId};
use peerlab_reports::{OpRecord, Record};
use rand::Rng;
use rand_distr::{Distribution, Exp};

impl World {
    /// One workload arrival: start an operation, then schedule the next (Poisson arrivals).
    pub(super) fn workload_tick(&mut self, index: usize) {
        let plan = self.plan.clone();
        let w = &plan.workloads[index];
        if self.now > w.stop || w.rate_per_s <= 0.0 {
            return;
        }
        if let Some(source) = self.pick_source(&w.from) {
            match w.kind {
                OpKind::Resolve => self.start_resolve(source, index),
                OpKind::Register => self.start_register_new(source, w.timeout),
                OpKind::Unregister => self.start_unregister(source),
            }
        }
        let gap_s: f64 = Exp::new(w.rate_per_s).map_or(1.0, |e| e.sample(&mut self.rng.workload));
        let gap = Duration::from_micros((gap_s * 1e6).round().max(1.0) as u64);
        let next = self.now + gap;
        if next <= w.stop {
            self.queue.push(next, Ev::Workload { index: index as u16 });
        }
    }

    fn pick_source(&mut self, groups: &[usize]) -> Option<u32> {
        let total: usize = groups.iter().map(|g| self.live.group(*g).len()).sum();
        if total == 0 {
            return None;
        }
        let mut k = self.rng.workload.gen_range(0..total);
        for g in groups {
            let members = self.live.group(*g);
            if k < members.len() {
                return Some(members[k]);
            }
            k -= members.len();
        }
        None
    }

    fn start_resolve(&mut self, source: u32, index: usize) {
        let plan = self.plan.clone();
        let w = &plan.workloads[index];
        // (peerlab choice) MS-PNRP §1.3.3: clouds are separate overlays, so a resolve targets names of the
        // asker's own cloud (another cloud's name cannot be found from here by design).
        let cloud = self.cloud_of(source);
        let (name, online) = if w.include_offline {
            let n = self.oracle.name_count(cloud);
            if n == 0 {
                return;
            }
            let Some(k) = self.samplers[index].sample(&mut self.rng.workload, n) else {
                return;
            };
            let Some(name) = self.oracle.nth_name(cloud, k) else {
                return;
            };
            (name, self.oracle.is_registered(name))
        } else {
            let n = self.oracle.registered_count(cloud);
            if n == 0 {
                return;
            }
            let Some(k) = self.samplers[index].sample(&mut self.rng.workload, n) else {
                return;
            };
            match self.oracle.nth_registered(cloud, k) {
                Some(name) => (name, true),
                None => return,
            }
        };
        if self.oracle.name(name).owner == source {
            return; // resolving one's own name measures nothing
        }
        let cmd = pnrp::Command::Resolve {
            name: self.oracle.name(name).name.clone(),
            criteria: ResolveCriteria::AnyPeerName,
            timeout: w.timeout,
        };
        self.start_op(source, OpKind::Resolve, name, online, cmd, w.timeout);
    }

    fn start_register_new(&mut self, source: u32, timeout: Duration) {
        let p = &self.peers[source as usize];
        let (Some(identity), false) = (p.identity.clone(), p.resolve_only) else {
            return;
        };
        let classifier = format!("extra-{source}-{}", p.names.len());
        let Ok(name) = pnrp::PeerName::secured(identity.authority(), &classifier) else {
            return;
        };
        let idx = self.oracle.add_name(name, source, self.cloud_of(source));
        self.peers[source as usize].names.push(idx);
        self.register(source, idx, timeout);
    }

    fn start_unregister(&mut self, source: u32) {
        let names = self.peers[source as usize].names.clone();
        let Some(&name) = names.iter().find(|n| self.oracle.is_registered(**n)) else {
            return;
        };
        let Some(id) = self.oracle.name(name).id else {
            return;
        };
        self.oracle.withdrawn(name);
        self.start_op(
            source,
            OpKind::Unregister,
            name,
            true,
            pnrp::Command::Unregister { id },
            // Unregistering completes within the command.
            Duration::MAX,
        );
    }

    /// Registers name `name` (an oracle index) on its owner `peer`; not done within `timeout`, the
    /// registration counts as failed (`timeout`), though the engine's walk goes on.
    pub(super) fn register(&mut self, peer: u32, name: u32, timeout: Duration) {
        let Some(identity) = self.peers[peer as usize].identity.clone() else {
            return;
        };
        let (friendly_name, service_location_prefix) = match self.peers[peer as usize].role {
            Role::Honest { group } => {
                let g = &self.plan.groups[group];
                (g.friendly_name.clone(), g.service_location_prefix)
            }
            Role::Attacker(_) => (None, None),
        };
        let cmd = pnrp::Command::Register {
            name: self.oracle.name(name).name.clone(),
            identity,
            app_endpoints: Vec::new(),
            friendly_name,
            service_location_prefix,
        };
        self.start_op(peer, OpKind::Register, name, true, cmd, timeout);
    }

    fn start_op(
        &mut self,
        peer: u32,
        kind: OpKind,
        name: u32,
        target_online: bool,
        cmd: pnrp::Command,
        deadline: Duration,
    ) {
        let started = self.now;
        // Insert the pending entry before draining: a completion may arrive within the same drain.
        let now = self.now;
        let Some(node) = self.peers[peer as usize].node.as_mut() else {
            return;
        };
        let request = peerlab_engine::Node::handle_command(node.as_mut(), now, cmd);
        self.peers[peer as usize].ops.insert(
            request,
            PendingOp {
                kind,
                started,
                name,
                target_online,
                deadline,
            },
        );
        self.drain(peer);
    }

    /// An engine event: completions are judged and recorded.
    pub(super) fn node_event(&mut self, peer: u32, event: pnrp::Event) {
        match event {
            pnrp::Event::Registered { request, id, stats } => {
                let Some(op) = self.peers[peer as usize].ops.remove(&request) else {
                    if matches!(self.peers[peer as usize].role, Role::Attacker(_)) {
                        // An attacker's own, honestly signed name: part of the true ring.
                        self.oracle.register_foreign(0, id);
                    }
                    return;
                };
                if self.peers[peer as usize].names.contains(&op.name) {
                    self.oracle.registered(op.name, id);
                }
                // The engine has no deadline for a registration (a deferred walk waits for the
                // cache); the harness judges it against its timeout, as the engine does a resolve.
                let outcome = if self.overdue(&op) { "timeout" } else { "ok" };
                self.record_op(peer, &op, outcome, Some(stats.useful_hops), stats.messages_sent);
            }
            pnrp::Event::Unregistered { request, .. } => {
                if let Some(op) = self.peers[peer as usize].ops.remove(&request) {
                    self.record_op(peer, &op, "ok", None, 0);
                }
            }
            pnrp::Event::Resolved {
                request,
                result,
                stats,
            } => {
                let Some(op) = self.peers[peer as usize].ops.remove(&request) else {
                    return;
                };
                let outcome = self.judge_resolve(peer, &op, &result);
                self.record_op(peer, &op, outcome, Some(stats.useful_hops), stats.messages_sent);
            }
            pnrp::Event::RegisterFailed { request, reason } => {
                if let Some(op) = self.peers[peer as usize].ops.remove(&request) {
                    if reason == "unregistered_before_walk" {
                        // The peer left (or unregistered) while its registration walk was still
                        // waiting for a cache: the asker went away, the protocol did not fail.
                        self.op_aborted(peer, op);
                        return;
                    }
                    // The harness only registers names it owns the keys for: a refusal is a bug.
                    self.violation(
                        peer,
                        "register_refused",
                        format!("{}: {reason}", self.oracle.name(op.name).name),
                    );
                    self.record_op(peer, &op, "failed", None, 0);
                }
            }
            pnrp::Event::SplitDetected { .. } => self.metrics.split_detected.push(self.now),
        }
    }

    /// An operation whose engine went away (crash or leave) before it completed.
    ///
    /// The protocol did not fail here, the peer asking went away: the operation is recorded as
    /// `source_left`, which the success ratio and `max_failed_ratio` leave out, and which the
    /// summary counts in its own column (not with offline targets).
    pub(super) fn op_aborted(&mut self, peer: u32, op: PendingOp) {
        // One already past its deadline had failed before the asker left.
        let outcome = if self.overdue(&op) { "timeout" } else { SOURCE_LEFT };
        self.record_op(peer, &op, outcome, None, 0);
    }

    /// Whether `op` has run past its deadline (judged lazily: no timer event, so runs whose
    /// operations all finish in time process exactly the same events).
    pub(super) fn overdue(&self, op: &PendingOp) -> bool {
        self.now.saturating_since(op.started) > op.deadline
    }

    /// At the end of the run: operations still open are recorded, as `timeout` (failed) when past
    /// their deadline, else as `unfinished` (counted apart: the run ended, nothing failed yet).
    pub(super) fn record_open_ops(&mut self) {
        for peer in 0..self.peers.len() as u32 {
            // Left in place: the final sample still counts overdue registrations (sample.rs).
            let ops: Vec<PendingOp> = self.peers[peer as usize].ops.values().cloned().collect();
            for op in ops {
                let outcome = if self.overdue(&op) { "timeout" } else { UNFINISHED };
                self.record_op(peer, &op, outcome, None, 0);
            }
        }
    }

    /// Compares a resolve's answer with the oracle (the safety invariants of docs/architecture.md §4).
    fn judge_resolve(
        &mut self,
        peer: u32,
        op: &PendingOp,
        result: &Result<Resolved, ResolveError>,
    ) -> &'static str {
        let info = self.oracle.name(op.name).clone();
        let owner = &self.peers[info.owner as usize];
        let owner_ep = owner.endpoint(info.owner);
        let owner_has_it = owner.online() && self.oracle.is_registered(op.name);
        match result {
            Ok(r) => {
                if let Some(why) = forged(&info.name, r) {
                    self.metrics.forged_accepted += 1;
                    let detail = format!("{} resolved to {}: {why}", info.name, endpoints(&r.endpoints));
                    self.violation(peer, "forged_resolution_accepted", detail);
                    return "forged";
                }
                let points_to_attacker = r.endpoints.iter().any(|ep| {
                    crate::addr::peer_of(ep).is_some_and(|(i, _)| {
                        matches!(
                            self.peers.get(i as usize).map(|p| p.role),
                            Some(Role::Attacker(_))
                        )
                    })
                });
                if points_to_attacker && info.name.is_secured() {
                    self.violation(
                        peer,
                        "resolved_to_attacker",
                        format!("{} → {}", info.name, endpoints(&r.endpoints)),
                    );
                    return "forged";
                }
                if owner_has_it && r.endpoints.contains(&owner_ep) {
                    "ok"
                } else if !op.target_online
                    || !owner_has_it
                    || self.was_owners_address(info.owner, &r.endpoints)
                {
                    "stale_endpoint"
                } else {
                    // Issue 5: success with an endpoint the registrant never had is a safety
                    // violation — unless an attacker answered for an unsecured name, which the
                    // protocol cannot prevent (MS-PNRP §3.1.5.7: only secured names are verifiable).
                    if !points_to_attacker {
                        let detail = format!(
                            "{} resolved to {}; the registrant (peer {}) is at {owner_ep}",
                            info.name,
                            endpoints(&r.endpoints),
                            info.owner
                        );
                        self.violation(peer, "resolve_wrong_endpoint", detail);
                    }
                    "wrong_endpoint"
                }
            }
            Err(e) if !op.target_online => match e {
                ResolveError::NotFound { .. } => "ok",
                _ => error_outcome(e),
            },
            Err(e) => error_outcome(e),
        }
    }

    fn record_op(&mut self, peer: u32, op: &PendingOp, outcome: &str, hops: Option<u32>, messages: u32) {
        let latency = self.now.saturating_since(op.started);
        let rec = OpRecord {
            t_us: self.now.as_micros(),
            kind: op.kind.name().to_string(),
            node: peer,
            target: (op.kind == OpKind::Resolve).then(|| self.oracle.name(op.name).owner),
            outcome: outcome.to_string(),
            target_online: op.target_online,
            latency_us: latency.as_micros(),
            hops,
            messages,
        };
        self.metrics.op_done(
            op.kind,
            op.started,
            outcome == "ok",
            op.target_online && outcome != SOURCE_LEFT && outcome != UNFINISHED,
        );
        self.rec.push(Record::Op(rec));
    }

    /// The request ids still open on `peer` (used by checks).
    #[allow(dead_code)]
    pub(super) fn open_requests(&self, peer: u32) -> Vec<RequestId> {
        self.peers[peer as usize].ops.keys().copied().collect()
    }
}

/// Outcome of an operation whose asker went offline (leave or crash) before it completed.
pub(crate) const SOURCE_LEFT: &str = peerlab_reports::SOURCE_LEFT;
/// Outcome of an operation still open when the run ended, within its deadline.
pub(crate) const UNFINISHED: &str = peerlab_reports::UNFINISHED;

fn error_outcome(e: &ResolveError) -> &'static str {
    match e {
        ResolveError::NotFound { .. } => "not_found",
        ResolveError::Timeout => "timeout",
        ResolveError::CpaInvalid { .. } => "cpa_invalid",
        // Named apart so that a summary tells a peer not yet bootstrapped (its cloud still
        // synchronizing: asked too early) from one whose members all vanished, or an overloaded one.
        ResolveError::NotSynchronized => "not_synchronized",
        ResolveError::EmptyCache => "empty_cache",
        ResolveError::Busy => "busy",
        ResolveError::Closed => "closed",
    }
}

/// Why a successful resolve of `name` is forged, if it is: a secured name must resolve only to
/// endpoints its own key signed (docs/architecture.md §4 "Attackers").
fn forged(name: &pnrp::PeerName, r: &Resolved) -> Option<String> {
    if r.cpa.pnrp_id().p2p_id() != name.p2p_id() {
        return Some("the CPA certifies another name".into());
    }
    if !r.endpoints.iter().all(|ep| {
        r.cpa.service_addresses.contains(ep)
            || r.cpa
                .app_endpoints
                .iter()
                .any(|a| a.addr == ep.addr && a.port == ep.port)
    }) {
        return Some("an endpoint is not in the CPA".into());
    }
    if name.is_secured() {
        if r.cpa.authority != Some(name.authority) || r.cpa.public_key.authority() != name.authority {
            return Some("the CPA is not signed by the name's key".into());
        }
        if r.cpa.validate(r.cpa.not_after, &r.cpa.nonce).is_err() {
            return Some("the CPA signature does not verify".into());
        }
    }
    None
}

/// Endpoints as people read them: `[2001:db8::1]:3540, [2001:db8::2]:3540`, or `no endpoint`.
fn endpoints(eps: &[peerlab_engine::Endpoint]) -> String {
    if eps.is_empty() {
        return "no endpoint".into();
    }
    eps.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}
