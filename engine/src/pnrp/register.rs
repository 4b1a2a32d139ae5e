//! Commands: register (MS-PNRP §3.2.4.1), unregister and leave (§3.2.4.2), resolve (§3.1.4.4 app
//! entry point), address change (§3.1.7.1, §3.2.7.2).
//!
//! Steps of an unregistration, as this module numbers them: 1 revoke CPA, 2 FLOOD it to S1 and P1,
//! 3 leaf-set repair (S1's entry to P5, P1's to S5), 4 Pending List, 5 forget the ID.

use super::api::{Command, Event, ResolveError, ResolveStats};
use super::id::PnrpId;
use super::leafset::{LeafSet, Side};
use super::message::{Flood, Message, ReasonCode, ResolveCriteria, RouteEntry};
use super::node::{LocalReg, PnrpNode};
use super::pending::Purpose;
use super::resolve::{ResolveKind, ResolveSpec};
use crate::{Endpoint, Instant, RequestId};
use rand::Rng;

/// Most application endpoints in a CPA payload (MS-PNRP §2.2.3.1: ≤ 10).
const APP_ENDPOINTS_MAX: usize = 10;

/// The /64 prefix of an endpoint's address (MS-PNRP §1.3.1.2 SLupper).
pub(super) fn prefix_of(ep: &Endpoint) -> u64 {
    (u128::from(ep.addr) >> 64) as u64
}

/// The service-location half of a PNRP ID (MS-PNRP §1.3.1.2): `SLupper << 64 | SLlower`.
pub(super) fn service_location(prefix: u64, suffix: u64) -> u128 {
    ((prefix as u128) << 64) | suffix as u128
}

/// What a Register command adds to the name and key (MS-PNRP §3.2.4.1).
struct RegisterOptions {
    app_endpoints: Vec<super::cpa::AppEndpoint>,
    friendly_name: Option<super::friendly::FriendlyName>,
    service_location_prefix: Option<u64>,
}

impl PnrpNode {
    /// Dispatches an application command.
    pub(super) fn command(&mut self, now: Instant, request: RequestId, cmd: Command) {
        match cmd {
            Command::Register {
                name,
                identity,
                app_endpoints,
                friendly_name,
                service_location_prefix,
            } => {
                if name.is_secured() && name.authority != identity.authority() {
                    let reason = "authority_is_not_the_identity_key";
                    return self.events.push_back(Event::RegisterFailed { request, reason });
                }
                if app_endpoints.len() > APP_ENDPOINTS_MAX {
                    let reason = "too_many_app_endpoints";
                    return self.events.push_back(Event::RegisterFailed { request, reason });
                }
                let options = RegisterOptions {
                    app_endpoints,
                    friendly_name,
                    service_location_prefix,
                };
                self.register(now, request, name, identity, options);
            }
            Command::Unregister { id } => {
                self.unregister(now, id);
                self.events.push_back(Event::Unregistered { request, id });
            }
            Command::Resolve {
                name,
                criteria,
                timeout,
            } => {
                // MS-PNRP §3.1.4.4.2 app entry point: P2P ID || our prefix || 0x8000000000000000.
                let lo = service_location(prefix_of(&self.local), 0x8000_0000_0000_0000);
                let target = PnrpId::new(name.p2p_id(), lo);
                self.app_resolve(now, request, target, criteria, 0, ReasonCode::AppRequest, timeout);
            }
            Command::ResolveId {
                target,
                criteria,
                precision,
                reason,
                timeout,
            } => {
                self.app_resolve(now, request, target, criteria, precision, reason, timeout);
            }
            Command::ChangeAddress { local } => self.change_address(now, local),
            Command::OpenCloud => self.open_cloud(now),
            Command::CloseCloud => self.close_cloud(),
            Command::Leave => {
                let ids: Vec<PnrpId> = self.regs.keys().copied().collect();
                for id in ids {
                    self.unregister(now, id);
                    self.events.push_back(Event::Unregistered { request, id });
                }
                self.end_all_resolves(now, ResolveError::Closed);
                // MS-PNRP §3.1.4.5: leaving closes the host's open too.
                self.close_cloud();
                self.left = true;
                self.maintenance_at = None;
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn app_resolve(
        &mut self,
        now: Instant,
        request: RequestId,
        target: PnrpId,
        criteria: ResolveCriteria,
        precision: u16,
        reason: ReasonCode,
        timeout: crate::Duration,
    ) {
        self.reopen_if_closed(now);
        let spec = ResolveSpec {
            kind: ResolveKind::App { request },
            target,
            criteria,
            precision,
            reason,
            pick_local: self.cfg.app_resolve_picks_local_ids,
            initial_best: None,
            initial_next: None,
            timeout,
        };
        if let Err(e) = self.start_resolve(now, spec) {
            self.stats.resolves_failed += 1;
            let stats = ResolveStats::default();
            self.events.push_back(Event::Resolved {
                request,
                result: Err(e),
                stats,
            });
        }
    }

    /// MS-PNRP §3.2.4.1.
    fn register(
        &mut self,
        now: Instant,
        request: RequestId,
        name: super::name::PeerName,
        identity: std::sync::Arc<crate::crypto::Identity>,
        options: RegisterOptions,
    ) {
        self.reopen_if_closed(now);
        self.left = false;
        if self.maintenance_at.is_none() {
            self.maintenance_at = Some(now);
        }
        // MS-PNRP §3.2.4.1: ServiceLocationPrefix = the hint, else the first 64 bits of our address;
        // ServiceLocationSuffix = a random value.
        let prefix = options
            .service_location_prefix
            .unwrap_or_else(|| prefix_of(&self.local));
        let suffix: u64 = self.rng.gen();
        let id = PnrpId::new(name.p2p_id(), service_location(prefix, suffix));
        let route = RouteEntry::single(id, self.local);
        // The cache never holds our own IDs.
        self.cache.remove(&id);
        self.adds.remove(&id);
        let reg = LocalReg {
            id,
            name,
            identity,
            app_endpoints: options.app_endpoints,
            friendly_name: options.friendly_name,
            leaf: LeafSet::new(id, self.cfg.leaf_set_side),
            route,
            cpa_zero: None,
            last_announce: now,
            announce_pending: false,
            join_check_at: None,
            pending_request: None,
        };
        self.regs.insert(id, Box::new(reg));
        self.sync_leaf_window();
        self.recentre();
        // Cached neighbours of the new ID are candidates for its leaf set (CPA-checked).
        self.refill_leaf_side(now, id, Side::Above);
        self.refill_leaf_side(now, id, Side::Below);
        self.announce(now, id, Some(request), None);
    }

    /// Runs the registration walks deferred by an empty cache.
    pub(super) fn announce_deferred(&mut self, now: Instant) {
        if !self.announces_deferred || self.cache.is_empty() {
            return;
        }
        // A walk that cannot start again sets it back (`announce`).
        self.announces_deferred = false;
        let due: Vec<PnrpId> = self
            .regs
            .values()
            .filter(|r| r.announce_pending)
            .map(|r| r.id)
            .collect();
        for id in due {
            let request = self.regs.get_mut(&id).and_then(|reg| {
                reg.announce_pending = false;
                reg.pending_request.take()
            });
            self.announce(now, id, request, None);
        }
    }

    /// MS-PNRP §3.2.4.1: resolve ID + 1 with our own entry as InitialBestMatch.
    pub(super) fn announce(
        &mut self,
        now: Instant,
        id: PnrpId,
        request: Option<RequestId>,
        first: Option<RouteEntry>,
    ) {
        let Some(route) = self.regs.get(&id).map(|r| r.route.clone()) else {
            return;
        };
        if let Some(reg) = self.regs.get_mut(&id) {
            reg.last_announce = now;
        }
        let spec = ResolveSpec {
            kind: ResolveKind::Registration { request, id },
            target: id.wrapping_add_u64(1),
            criteria: ResolveCriteria::Exact,
            precision: 0,
            reason: ReasonCode::Registration,
            pick_local: false,
            initial_best: Some(route),
            initial_next: first,
            timeout: self.cfg.internal_resolve_timeout,
        };
        if self.start_resolve(now, spec).is_err() {
            // An empty cache (not yet synchronized, or the first node of the cloud) leaves nothing
            // to walk: walk once the cache holds an entry. A node with seeds to sync from reports
            // `Registered` when that walk ends; a node without (the cloud's first) reports it now.
            let alone = self.other_seeds().is_empty();
            if let Some(reg) = self.regs.get_mut(&id) {
                reg.announce_pending = true;
                self.announces_deferred = true;
                if !alone {
                    reg.pending_request = request.or(reg.pending_request);
                    return;
                }
            }
            self.stats.registrations_done += 1;
            if let Some(request) = request {
                self.events.push_back(Event::Registered {
                    request,
                    id,
                    stats: ResolveStats::default(),
                });
            }
        }
    }

    /// MS-PNRP §3.2.4.2: revoke CPA to S1/P1, leaf-set repair floods to P5/S5, then forget the ID.
    pub(super) fn unregister(&mut self, now: Instant, id: PnrpId) {
        let Some(revoke) = self.build_revoke(now, id) else {
            return;
        };
        let Some(reg) = self.regs.remove(&id) else { return };
        self.sync_leaf_window();
        if let Some(request) = reg.pending_request {
            // The deferred registration walk never ran.
            self.events.push_back(Event::RegisterFailed {
                request,
                reason: "unregistered_before_walk",
            });
        }
        let above = reg.leaf.members(Side::Above);
        let below = reg.leaf.members(Side::Below);
        let (s1, p1) = (above.first().cloned(), below.first().cloned());
        let (s5, p5) = (above.last().cloned(), below.last().cloned());
        let mut floods: Vec<(RouteEntry, Flood)> = Vec::new();
        for n in [&s1, &p1].into_iter().flatten() {
            let f = Flood {
                message_id: 0,
                dont_ack: false,
                validate_id: n.id,
                revoke_cpa: Some(revoke.clone()),
                route_entry: None,
                already_flooded: vec![self.local],
            };
            floods.push((n.clone(), f));
        }
        // Step 3: the edges of the former leaf set learn about each other.
        for (entry, to) in [(&s1, &p5), (&p1, &s5)] {
            if let (Some(entry), Some(to)) = (entry, to) {
                if entry.id != to.id {
                    let f = Flood {
                        message_id: 0,
                        dont_ack: false,
                        validate_id: to.id,
                        revoke_cpa: None,
                        route_entry: Some(entry.clone()),
                        already_flooded: vec![self.local],
                    };
                    floods.push((to.clone(), f));
                }
            }
        }
        for (to, mut f) in floods {
            f.message_id = self.msg_id();
            let validate = f.validate_id;
            self.send_request(now, to.endpoint(), Message::from(f), Purpose::Flood { validate });
        }
        for m in reg.leaf.all() {
            if self.cache.unpin(&m.id, &mut self.rng).is_some() {
                self.stats.evict("displaced");
            }
        }
        self.recentre();
    }

    /// MS-PNRP §3.1.7.1: adopt the new endpoint and re-announce every registered ID with it.
    fn change_address(&mut self, now: Instant, local: Endpoint) {
        if local == self.local {
            return;
        }
        self.local = local;
        let ids: Vec<PnrpId> = self.regs.keys().copied().collect();
        for id in &ids {
            if let Some(reg) = self.regs.get_mut(id) {
                reg.route = RouteEntry::single(*id, local);
                reg.cpa_zero = None;
            }
        }
        for id in ids {
            self.announce(now, id, None, None);
        }
    }
}
