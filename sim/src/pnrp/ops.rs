//! Operations: workload generators, registrations, and judging each completion against the oracle.

use super::{role, OpKind, PCore, PendingOp, PnrpProtocol, Role};
use crate::world::Ev;
use peerlab_engine::pnrp::{self, ResolveCriteria, ResolveError, ResolveStats, Resolved};
use peerlab_engine::{Duration, Node};
use peerlab_reports::{OpRecord, Record};
use rand::Rng;
use rand_distr::{Distribution, Exp};

impl PnrpProtocol {
    /// One workload arrival: start an operation, then schedule the next (Poisson arrivals).
    pub(super) fn workload_tick(&mut self, core: &mut PCore, index: usize) {
        let plan = core.plan.clone();
        let w = &plan.workloads[index];
        if core.now() > w.stop || w.rate_per_s <= 0.0 {
            return;
        }
        if let Some(source) = self.pick_source(core, &w.from) {
            match w.kind {
                OpKind::Resolve => self.start_resolve(core, source, index),
                OpKind::Register => self.start_register_new(core, source, w.timeout, w.payload_bytes),
                OpKind::Unregister => self.start_unregister(core, source),
            }
        }
        let gap_s: f64 = Exp::new(w.rate_per_s).map_or(1.0, |e| e.sample(&mut self.rng_workload));
        let gap = Duration::from_micros((gap_s * 1e6).round().max(1.0) as u64);
        let next = core.now() + gap;
        if next <= w.stop {
            core.schedule(next, Ev::Workload { index: index as u16 });
        }
    }

    fn pick_source(&mut self, core: &PCore, groups: &[usize]) -> Option<u32> {
        let live = core.live();
        let total: usize = groups.iter().map(|g| live.group(*g).len()).sum();
        if total == 0 {
            return None;
        }
        let mut k = self.rng_workload.gen_range(0..total);
        for g in groups {
            let members = live.group(*g);
            if k < members.len() {
                return Some(members[k]);
            }
            k -= members.len();
        }
        None
    }

    fn start_resolve(&mut self, core: &mut PCore, source: u32, index: usize) {
        let plan = core.plan.clone();
        let w = &plan.workloads[index];
        // (peerlab choice) MS-PNRP §1.3.3: clouds are separate overlays, so a resolve targets names of the
        // asker's own cloud (another cloud's name cannot be found from here by design).
        let cloud = core.cloud_of(source);
        let (name, online) = if w.include_offline {
            let n = self.oracle.name_count(cloud);
            if n == 0 {
                return;
            }
            let Some(k) = self.samplers[index].sample(&mut self.rng_workload, n) else {
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
            let Some(k) = self.samplers[index].sample(&mut self.rng_workload, n) else {
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
            extended_payload: w.want_payload,
        };
        self.start_op(core, source, OpKind::Resolve, name, online, cmd, w.timeout);
    }

    fn start_register_new(&mut self, core: &mut PCore, source: u32, timeout: Duration, payload: Option<u32>) {
        let p = &core.peer(source).data;
        let (Some(identity), false) = (p.identity.clone(), p.resolve_only) else {
            return;
        };
        let classifier = format!("extra-{source}-{}", p.names.len());
        let Ok(name) = pnrp::PeerName::secured(identity.authority(), &classifier) else {
            return;
        };
        let idx = self.oracle.add_name(name, source, core.cloud_of(source));
        self.oracle.set_payload(idx, payload);
        core.peer_mut(source).data.names.push(idx);
        self.register(core, source, idx, timeout);
    }

    fn start_unregister(&mut self, core: &mut PCore, source: u32) {
        let names = core.peer(source).data.names.clone();
        let Some(&name) = names.iter().find(|n| self.oracle.is_registered(**n)) else {
            return;
        };
        let Some(id) = self.oracle.name(name).id else {
            return;
        };
        self.oracle.withdrawn(name);
        self.start_op(
            core,
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
    pub(super) fn register(&mut self, core: &mut PCore, peer: u32, name: u32, timeout: Duration) {
        let Some(identity) = core.peer(peer).data.identity.clone() else {
            return;
        };
        let (friendly_name, service_location_prefix) = match role(core.peer(peer)) {
            Role::Honest { group } => {
                let g = &core.plan.groups[group];
                (g.friendly_name.clone(), g.service_location_prefix)
            }
            Role::Attacker(_) => (None, None),
        };
        let info = self.oracle.name(name);
        let cmd = match self.oracle.delegations.of_name(name) {
            Some(delegation) => pnrp::Command::RegisterDelegated {
                name: info.name.clone(),
                delegation: delegation.clone(),
                app_endpoints: Vec::new(),
            },
            None => pnrp::Command::Register {
                name: info.name.clone(),
                identity,
                app_endpoints: Vec::new(),
                friendly_name,
                service_location_prefix,
                payload: info
                    .payload_bytes
                    .map(|n| crate::payload::payload_of(&info.name, n)),
            },
        };
        self.start_op(core, peer, OpKind::Register, name, true, cmd, timeout);
    }

    #[allow(clippy::too_many_arguments)]
    fn start_op(
        &mut self,
        core: &mut PCore,
        peer: u32,
        kind: OpKind,
        name: u32,
        target_online: bool,
        cmd: pnrp::Command,
        deadline: Duration,
    ) {
        let started = core.now();
        // Insert the pending entry before draining: a completion may arrive within the same drain.
        let Some(node) = core.peer_mut(peer).node_mut() else {
            return;
        };
        let request = Node::handle_command(node, started, cmd);
        core.peer_mut(peer).data.ops.insert(
            request,
            PendingOp {
                kind,
                started,
                name,
                target_online,
                deadline,
            },
        );
        core.drain(self, peer);
    }

    /// An engine event: completions are judged and recorded.
    pub(super) fn node_event(&mut self, core: &mut PCore, peer: u32, event: pnrp::Event) {
        match event {
            pnrp::Event::Registered { request, id, stats } => {
                let Some(op) = core.peer_mut(peer).data.ops.remove(&request) else {
                    if matches!(role(core.peer(peer)), Role::Attacker(_)) {
                        // An attacker's own, honestly signed name: part of the true ring.
                        self.oracle.register_foreign(0, id);
                    }
                    return;
                };
                if core.peer(peer).data.names.contains(&op.name) {
                    self.oracle.registered(op.name, id);
                }
                // The engine has no deadline for a registration (a deferred walk waits for the
                // cache); the harness judges it against its timeout, as the engine does a resolve.
                let outcome = if overdue(core, &op) { "timeout" } else { "ok" };
                self.record_walk(core, peer, &op, outcome, &stats);
            }
            pnrp::Event::Unregistered { request, .. } => {
                if let Some(op) = core.peer_mut(peer).data.ops.remove(&request) {
                    self.record_op(core, peer, &op, "ok", None, 0);
                }
            }
            pnrp::Event::Resolved {
                request,
                result,
                stats,
            } => {
                let Some(op) = core.peer_mut(peer).data.ops.remove(&request) else {
                    return;
                };
                let outcome = self.judge_resolve(core, peer, &op, &result);
                self.record_walk(core, peer, &op, outcome, &stats);
            }
            pnrp::Event::RegisterFailed { request, reason } => {
                if let Some(op) = core.peer_mut(peer).data.ops.remove(&request) {
                    if reason == "unregistered_before_walk" {
                        // The peer left (or unregistered) while its registration walk was still
                        // waiting for a cache: the asker went away, the protocol did not fail.
                        self.op_aborted(core, peer, op);
                        return;
                    }
                    // The harness only registers names it owns the keys for: a refusal is a bug.
                    core.violation(
                        peer,
                        "register_refused",
                        format!("{}: {reason}", self.oracle.name(op.name).name),
                    );
                    self.record_op(core, peer, &op, "failed", None, 0);
                }
            }
            pnrp::Event::SplitDetected { .. } => self.metrics.split_detected.push(core.now()),
        }
    }

    /// An operation whose engine went away (crash or leave) before it completed.
    ///
    /// The protocol did not fail here, the peer asking went away: the operation is recorded as
    /// `source_left`, which the success ratio and `max_failed_ratio` leave out, and which the
    /// summary counts in its own column (not with offline targets).
    pub(super) fn op_aborted(&mut self, core: &mut PCore, peer: u32, op: PendingOp) {
        // One already past its deadline had failed before the asker left.
        let outcome = if overdue(core, &op) {
            "timeout"
        } else {
            SOURCE_LEFT
        };
        self.record_op(core, peer, &op, outcome, None, 0);
    }

    /// At the end of the run: operations still open are recorded, as `timeout` (failed) when past
    /// their deadline, else as `unfinished` (counted apart: the run ended, nothing failed yet).
    pub(super) fn record_open_ops(&mut self, core: &mut PCore) {
        for peer in 0..core.peers().len() as u32 {
            // Left in place: the final sample still counts overdue registrations (sample.rs).
            let ops: Vec<PendingOp> = core.peer(peer).data.ops.values().cloned().collect();
            for op in ops {
                let outcome = if overdue(core, &op) { "timeout" } else { UNFINISHED };
                self.record_op(core, peer, &op, outcome, None, 0);
            }
        }
    }

    /// Compares a resolve's answer with the oracle (the safety invariants of docs/architecture.md §4).
    fn judge_resolve(
        &mut self,
        core: &mut PCore,
        peer: u32,
        op: &PendingOp,
        result: &Result<Resolved, ResolveError>,
    ) -> &'static str {
        let info = self.oracle.name(op.name).clone();
        let owner = core.peer(info.owner);
        let owner_ep = owner.endpoint(info.owner);
        let owner_has_it = owner.online() && self.oracle.is_registered(op.name);
        match result {
            Ok(r) => {
                // A CPA not signed by the authority's own key stands only on a Certificate Chain, which
                // honest peers must have checked (MS-PNRP §3.1.5.10): the world knows the chains it issued.
                let delegated = info.name.is_secured() && r.cpa.public_key.authority() != info.name.authority;
                if delegated
                    && !self
                        .oracle
                        .delegations
                        .vouches(&info.name, &r.cpa.public_key, core.now())
                {
                    self.metrics.forged_accepted += 1;
                    let detail = format!(
                        "{} resolved to {} with a CPA key no valid chain delegates the name to",
                        info.name,
                        endpoints(&r.endpoints)
                    );
                    core.violation(peer, "invalid_chain_accepted", detail);
                    return "forged";
                }
                if let Some(why) = forged(&info.name, r, delegated, core.plan.pnrp.rsa_signature_byte_order) {
                    self.metrics.forged_accepted += 1;
                    let detail = format!("{} resolved to {}: {why}", info.name, endpoints(&r.endpoints));
                    core.violation(peer, "forged_resolution_accepted", detail);
                    return "forged";
                }
                if let Some(why) = crate::payload::payload_mismatch(&info.name, info.payload_bytes, r) {
                    core.violation(peer, "payload_mismatch", format!("{}: {why}", info.name));
                    return "forged";
                }
                let points_to_attacker = r.endpoints.iter().any(|ep| {
                    crate::addr::peer_of(ep).is_some_and(|(i, _)| {
                        core.peers()
                            .get(i as usize)
                            .is_some_and(|p| p.data.attacker.is_some())
                    })
                });
                if points_to_attacker && info.name.is_secured() {
                    core.violation(
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
                    || core.was_owners_address(info.owner, &r.endpoints)
                {
                    "stale_endpoint"
                } else {
                    // Success with an endpoint the registrant never had is a safety violation —
                    // unless an attacker answered for an unsecured name, which the protocol
                    // cannot prevent (MS-PNRP §3.1.5.7: only secured names are verifiable).
                    if !points_to_attacker {
                        let detail = format!(
                            "{} resolved to {}; the registrant (peer {}) is at {owner_ep}",
                            info.name,
                            endpoints(&r.endpoints),
                            info.owner
                        );
                        core.violation(peer, "resolve_wrong_endpoint", detail);
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

    /// Records an operation that walked the cloud, with its walk's hops and messages.
    fn record_walk(
        &mut self,
        core: &mut PCore,
        peer: u32,
        op: &PendingOp,
        outcome: &str,
        stats: &ResolveStats,
    ) {
        self.record_op(
            core,
            peer,
            op,
            outcome,
            Some(stats.useful_hops),
            stats.messages_sent,
        );
    }

    fn record_op(
        &mut self,
        core: &mut PCore,
        peer: u32,
        op: &PendingOp,
        outcome: &str,
        hops: Option<u32>,
        messages: u32,
    ) {
        let latency = core.now().saturating_since(op.started);
        let rec = OpRecord {
            t_us: core.now().as_micros(),
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
        core.record(Record::Op(rec));
    }
}

/// Whether `op` has run past its deadline (judged lazily: no timer event, so runs whose
/// operations all finish in time process exactly the same events).
pub(super) fn overdue(core: &PCore, op: &PendingOp) -> bool {
    core.now().saturating_since(op.started) > op.deadline
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
/// endpoints its own key signed (docs/architecture.md §4 "Attackers"), or, when `delegated`, a key a
/// valid chain vouches for (checked by the caller).
fn forged(
    name: &pnrp::PeerName,
    r: &Resolved,
    delegated: bool,
    order: peerlab_engine::crypto::SignatureByteOrder,
) -> Option<String> {
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
        if r.cpa.authority != Some(name.authority)
            || (!delegated && r.cpa.public_key.authority() != name.authority)
        {
            return Some("the CPA is not signed by the name's key".into());
        }
        let valid = if delegated {
            r.cpa.validate_delegated(r.cpa.not_after, &r.cpa.nonce, order)
        } else {
            r.cpa.validate_with(r.cpa.not_after, &r.cpa.nonce, order)
        };
        if valid.is_err() {
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
