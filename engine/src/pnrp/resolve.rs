//! Iterative resolution (MS-PNRP §3.1.4.4.2): the Outstanding Resolves Table, NextHopStack,
//! BestMatchStack, the walk (steps 5–18) and the final INQUIRE (steps 19–21).
//!
//! Step numbers in this module and in `walk` are peerlab's count of the procedure of MS-PNRP
//! §3.1.4.4.2 and §3.1.5.6.1, not the specification's own numbering: 1–4 start (ORT entry,
//! ResolvePath, first next hop, InitialBestMatch); 5 done yet? (the spec's "step 7"); 6–8 pop a next
//! hop and send it a LOOKUP (the spec's "step 8"); 9–18 handle its AUTHORITY (9 path, 10 L flag,
//! 11 N flag and admission, 12 new best match, 13 use count, 14–15 referral and push-back,
//! 16 loop prevention, 17 push the referral, 18 back to 5); 19–21 INQUIRE the best match, check its
//! CPA, and run the split analysis.

use super::api::{Event, ResolveError, ResolveStats, Resolved};
use super::cpa::Cpa;
use super::id::PnrpId;
use super::message::{Inquire, InquireFlags, Lookup, Message, ReasonCode, ResolveCriteria, RouteEntry};
use super::node::PnrpNode;
use super::pending::Purpose;
use crate::{Duration, Endpoint, Instant, RequestId};
use rand::Rng;
use std::sync::Arc;

/// Most entries kept on BestMatchStack (bound; the walk is capped at 22 useful hops anyway).
pub(super) const BEST_STACK_MAX: usize = 32;
/// Most entries kept on NextHopStack (bound; each AUTHORITY pushes at most two).
pub(super) const NEXT_HOPS_MAX: usize = 64;

/// Who started a resolve and what its end does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum ResolveKind {
    /// An application resolve (Resolve/ResolveId command).
    App { request: RequestId },
    /// A registration walk for `id` (MS-PNRP §3.2.4.1); `request` is set for the Register command.
    Registration { request: Option<RequestId>, id: PnrpId },
    /// A cache-maintenance resolve (MS-PNRP §3.1.6.2/§3.2.6.2).
    Maintenance,
    /// A split test for local ID `local` (MS-PNRP §3.2.6.2.1); `followup` tests do not spawn more tests;
    /// `known` is the cached entry closest to the target when the test started.
    Split {
        local: PnrpId,
        followup: bool,
        known: Option<PnrpId>,
    },
}

/// What a resolve waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    Idle,
    Lookup { msg: u32 },
    Inquire { msg: u32 },
}

/// A NextHopStack element (MS-PNRP §3.1.1).
#[derive(Clone, Debug)]
pub(super) struct Hop {
    pub(super) entry: RouteEntry,
    pub(super) use_count: u8,
}

/// One Outstanding Resolves Table entry (MS-PNRP §3.1.1).
#[derive(Clone, Debug)]
pub(super) struct ResolveState {
    pub(super) kind: ResolveKind,
    pub(super) target: PnrpId,
    pub(super) criteria: ResolveCriteria,
    pub(super) precision: u16,
    pub(super) reason: ReasonCode,
    pub(super) path: Vec<Endpoint>,
    pub(super) next_hops: Vec<Hop>,
    pub(super) best_stack: Vec<RouteEntry>,
    pub(super) best: Option<RouteEntry>,
    pub(super) current: Option<Hop>,
    pub(super) suspicious: u32,
    pub(super) useful_hops: u32,
    pub(super) lookups_sent: u32,
    pub(super) messages_sent: u32,
    pub(super) phase: Phase,
    pub(super) started: Instant,
    pub(super) deadline: Instant,
    pub(super) cpa_error: Option<&'static str>,
    /// Endpoints of hops that timed out (never restarted from, MS-PNRP §3.1.4.4.2 "Timeouts inside a
    /// resolve").
    pub(super) dead: Vec<Endpoint>,
    /// Restarts from the cache after NextHopStack ran empty (`empty_stack_cache_restarts`).
    pub(super) restarts: u32,
}

/// Inputs of a resolve (MS-PNRP §3.1.4.4.2 "Inputs").
pub(super) struct ResolveSpec {
    pub(super) kind: ResolveKind,
    pub(super) target: PnrpId,
    pub(super) criteria: ResolveCriteria,
    pub(super) precision: u16,
    pub(super) reason: ReasonCode,
    pub(super) pick_local: bool,
    pub(super) initial_best: Option<RouteEntry>,
    pub(super) initial_next: Option<RouteEntry>,
    pub(super) timeout: Duration,
}

/// True when the top `bits` bits of `a` and `b` agree.
pub(super) fn upper_bits_match(a: PnrpId, b: PnrpId, bits: u16) -> bool {
    let (h, l) = (a.hi ^ b.hi, a.lo ^ b.lo);
    let same = if h != 0 {
        h.leading_zeros()
    } else {
        128 + l.leading_zeros()
    };
    same >= bits.min(256) as u32
}

/// MS-PNRP §3.1.4.4.2 with the MS-PNRP §2.2.2.8 table: is `best` a match? NEAREST criteria only decide once
/// exhausted.
pub(super) fn sufficiently_close(st: &ResolveState, best: PnrpId, exhausted: bool) -> bool {
    match st.criteria {
        ResolveCriteria::Exact => best == st.target,
        ResolveCriteria::AnyPeerName => best.hi == st.target.hi,
        // (our reading) the closest instance must still be an instance of the name.
        ResolveCriteria::NearestPeerName | ResolveCriteria::Nearest64PeerName => {
            exhausted && best.hi == st.target.hi
        }
        ResolveCriteria::UpperBits => upper_bits_match(best, st.target, st.precision),
    }
}

impl ResolveState {
    fn stats(&self, now: Instant) -> ResolveStats {
        ResolveStats {
            useful_hops: self.useful_hops,
            lookups_sent: self.lookups_sent,
            messages_sent: self.messages_sent,
            suspicious: self.suspicious,
            elapsed: now.saturating_since(self.started),
        }
    }
}

impl PnrpNode {
    /// MS-PNRP §3.1.4.4.2, then the walk. Returns the ORT key.
    pub(super) fn start_resolve(&mut self, now: Instant, spec: ResolveSpec) -> Result<u64, ResolveError> {
        let app = matches!(spec.kind, ResolveKind::App { .. });
        if app {
            self.stats.resolves_started += 1;
        }
        if self.left {
            return Err(ResolveError::Closed);
        }
        if self.ort.len() >= self.cfg.ort_max {
            return Err(ResolveError::Busy);
        }
        let first = spec
            .initial_next
            .clone()
            .or_else(|| self.cache.closest(spec.target).cloned());
        let Some(first) = first else {
            // MS-PNRP §3.1.4.4.2, peerlab choice: fail at once and look for the cloud again — unless the
            // cloud has not opened yet: its first tick runs discovery anyway, and a second sync
            // conversation then (a registration made at start-up) only doubles the join traffic.
            if self.cfg.rediscover_on_empty_resolve && self.opened {
                self.discover(now);
            }
            return Err(if self.synchronized {
                ResolveError::EmptyCache
            } else {
                ResolveError::NotSynchronized
            });
        };
        let mut st = ResolveState {
            kind: spec.kind,
            target: spec.target,
            criteria: spec.criteria,
            precision: spec.precision,
            reason: spec.reason,
            path: vec![self.local],
            next_hops: vec![Hop {
                entry: first,
                use_count: 0,
            }],
            best_stack: Vec::new(),
            best: None,
            current: None,
            suspicious: 0,
            useful_hops: 0,
            lookups_sent: 0,
            messages_sent: 0,
            phase: Phase::Idle,
            started: now,
            deadline: now + spec.timeout,
            cpa_error: None,
            dead: Vec::new(),
            restarts: 0,
        };
        if let Some(b) = spec.initial_best {
            // MS-PNRP §3.1.4.4.2, peerlab choice: also the CurrentBestMatch so it rides in the LOOKUPs.
            if self.cfg.initial_best_match_is_current {
                st.best = Some(b.clone());
            }
            st.best_stack.push(b);
        } else if spec.pick_local {
            let t = spec.target;
            st.best = self
                .regs
                .values()
                .map(|r| &r.route)
                .min_by_key(|r| (t.distance(r.id), r.id))
                .cloned();
        }
        let key = self.next_resolve;
        self.next_resolve += 1;
        self.resolve_deadlines.insert((st.deadline, key));
        self.ort.insert(key, st);
        self.advance(now, key);
        Ok(key)
    }

    /// MS-PNRP §3.1.4.4.2: finish if the best match suffices, else ask the next hop.
    pub(super) fn advance(&mut self, now: Instant, key: u64) {
        let small_cache = self.cache.len() < self.cfg.small_cache_entries;
        let Some(st) = self.ort.get_mut(&key) else { return };
        st.phase = Phase::Idle;
        // Step 5.
        if st
            .best
            .as_ref()
            .is_some_and(|b| sufficiently_close(st, b.id, false))
        {
            return self.finish(now, key);
        }
        // Step 6.
        let exhausted = st.suspicious > self.cfg.max_suspicious || st.useful_hops > self.cfg.max_useful_hops;
        // Split tests never restart: their walk must start at the seed, not in our own cache (MS-PNRP
        // §3.2.6.2.1).
        let restartable = matches!(st.kind, ResolveKind::App { .. });
        if st.next_hops.is_empty()
            && !exhausted
            && restartable
            && st.restarts < self.cfg.empty_stack_cache_restarts
        {
            // (peerlab choice) empty_stack_cache_restarts: continue from the closest cache entry not asked
            // yet.
            let (target, path, dead) = (st.target, &st.path, &st.dead);
            let fresh = self
                .cache
                .walk_closest(target)
                .take(NEXT_HOPS_MAX)
                .map(|e| &e.route)
                .find(|r| !path.iter().chain(dead.iter()).any(|ep| r.has_endpoint(ep)))
                .cloned();
            if let Some(entry) = fresh {
                st.restarts += 1;
                st.next_hops.push(Hop { entry, use_count: 0 });
            }
        }
        let hop = st.next_hops.pop();
        let Some(mut hop) = hop.filter(|_| !exhausted) else {
            return self.walk_exhausted(now, key);
        };
        // Steps 7–8.
        let path = if st.path.len() <= self.cfg.flagged_path_max {
            st.path.clone()
        } else {
            // (peerlab choice) keep the resolver's own endpoint and the most recent hops.
            let keep = self.cfg.flagged_path_max - 1;
            std::iter::once(st.path[0])
                .chain(st.path[st.path.len() - keep..].iter().copied())
                .collect()
        };
        let lookup = Lookup {
            message_id: 0,
            accept_any: small_cache,
            precision: st.precision,
            criteria: st.criteria,
            reason: st.reason,
            target: st.target,
            validate_id: hop.entry.id,
            best_match: st.best.clone(),
            flagged_path: path,
        };
        hop.use_count += 1;
        let to = hop.entry.endpoint();
        st.current = Some(hop);
        st.lookups_sent += 1;
        st.messages_sent += 1;
        let msg_id = self.msg_id();
        let msg = Message::from(Lookup {
            message_id: msg_id,
            ..lookup
        });
        match self.send_request(now, to, msg, Purpose::Lookup { resolve: key }) {
            Some(id) => {
                if let Some(st) = self.ort.get_mut(&key) {
                    st.phase = Phase::Lookup { msg: id };
                }
            }
            None => self.end_resolve(now, key, Err(ResolveError::Busy)),
        }
    }

    /// Step 6 with nothing left to ask: finish with the best match, or end without a result.
    fn walk_exhausted(&mut self, now: Instant, key: u64) {
        let Some(st) = self.ort.get(&key) else { return };
        let best = st.best.as_ref().map(|b| b.id);
        match (&st.kind, best) {
            // MS-PNRP §3.2.4.1 never says how the walk ends; peerlab choice: registration walks end
            // silently; their work is the side effects.
            (ResolveKind::Registration { .. }, _) => self.end_resolve(
                now,
                key,
                Err(ResolveError::NotFound {
                    target: st.target,
                    closest: best,
                }),
            ),
            // MS-PNRP §3.2.6.2.1, peerlab choice: split tests always INQUIRE the final best match.
            (ResolveKind::Split { .. }, Some(_)) => self.finish(now, key),
            (_, Some(b)) if sufficiently_close(st, b, true) => self.finish(now, key),
            _ => {
                let err = match st.cpa_error {
                    Some(reason) => ResolveError::CpaInvalid { reason },
                    None => ResolveError::NotFound {
                        target: st.target,
                        closest: best,
                    },
                };
                self.end_resolve(now, key, Err(err))
            }
        }
    }

    /// MS-PNRP §3.1.4.4.2: INQUIRE the best match for its CPA (with a fresh nonce, peerlab choice).
    fn finish(&mut self, now: Instant, key: u64) {
        let Some(st) = self.ort.get(&key) else { return };
        let Some(best) = st.best.clone() else {
            return self.walk_exhausted(now, key);
        };
        if st.kind == ResolveKind::Maintenance {
            // (peerlab choice) a cache-maintenance walk is done once it reached the region: its work is the
            // entries it admitted on the way, so it skips the final INQUIRE and its signature.
            let target = st.target;
            return self.end_resolve(
                now,
                key,
                Err(ResolveError::NotFound {
                    target,
                    closest: Some(best.id),
                }),
            );
        }
        if let Some(reg) = self.regs.get(&best.id) {
            // PickBestMatchFromLocalIds found our own registration: answer from our own CPA.
            let id = reg.id;
            let target = st.target;
            let result = match self.zero_nonce_cpa(now, id) {
                Some(cpa) => Ok(resolved(id, cpa)),
                None => Err(ResolveError::NotFound {
                    target,
                    closest: Some(id),
                }),
            };
            return self.end_resolve(now, key, result);
        }
        // MS-PNRP §3.2.6.2.1, peerlab choice `split_inquire_wants_cpa`: the split analysis reads only the
        // answer's route entry and never validates a CPA, so by default its final INQUIRE is a plain one
        // (no A/X/C, no nonce): the publisher signs nothing and the answer is ~600 bytes smaller.
        let wants_cpa = !matches!(st.kind, ResolveKind::Split { .. }) || self.cfg.split_inquire_wants_cpa;
        let nonce: [u8; 16] = if wants_cpa { self.rng.gen() } else { [0; 16] };
        let msg_id = self.msg_id();
        let inquire = Inquire {
            message_id: msg_id,
            flags: InquireFlags {
                cpa: wants_cpa,
                extended_payload: wants_cpa,
                cert_chain: wants_cpa,
            },
            validate_id: best.id,
            nonce: wants_cpa.then_some(nonce),
        };
        let sent = self.send_request(
            now,
            best.endpoint(),
            Message::from(inquire),
            Purpose::ResolveInquire { resolve: key, nonce },
        );
        match (sent, self.ort.get_mut(&key)) {
            (Some(id), Some(st)) => {
                st.messages_sent += 1;
                st.phase = Phase::Inquire { msg: id };
            }
            _ => self.end_resolve(now, key, Err(ResolveError::Busy)),
        }
    }

    /// The caller's deadline passed (MS-PNRP §3.1.4.4.2, peerlab choice).
    pub(super) fn resolve_deadline(&mut self, now: Instant, key: u64) {
        self.end_resolve(now, key, Err(ResolveError::Timeout));
    }

    /// Deletes the ORT entry, cancels its outstanding message and reports the result.
    pub(super) fn end_resolve(&mut self, now: Instant, key: u64, result: Result<Resolved, ResolveError>) {
        let Some(st) = self.ort.remove(&key) else { return };
        self.resolve_deadlines.remove(&(st.deadline, key));
        if let Phase::Lookup { msg } | Phase::Inquire { msg } = st.phase {
            self.pending.remove(msg);
            self.reassembly.purge_acked(msg);
        }
        let stats = st.stats(now);
        match st.kind {
            ResolveKind::App { request } => {
                if result.is_ok() {
                    self.stats.resolves_ok += 1;
                } else {
                    self.stats.resolves_failed += 1;
                }
                self.events.push_back(Event::Resolved {
                    request,
                    result,
                    stats,
                })
            }
            ResolveKind::Registration { request, id } => {
                self.stats.registrations_done += 1;
                // MS-PNRP §3.2.6.2.1, peerlab choice `split_test_after_registration`: an application
                // registration (not a re-announcement) is checked once by a split test from a seed.
                if request.is_some() && self.cfg.split_test_after_registration {
                    let at = now + self.cfg.split_test_settle;
                    if let Some(reg) = self.regs.get_mut(&id) {
                        reg.join_check_at = Some(at);
                    }
                }
                if let Some(request) = request {
                    self.events.push_back(Event::Registered { request, id, stats });
                }
            }
            ResolveKind::Maintenance => {
                if self.maintenance_resolve == Some(key) {
                    self.maintenance_resolve = None;
                }
            }
            ResolveKind::Split { .. } => {}
        }
    }

    /// Ends every outstanding resolve with `err` (used when leaving).
    pub(super) fn end_all_resolves(&mut self, now: Instant, err: ResolveError) {
        let keys: Vec<u64> = self.ort.keys().copied().collect();
        for k in keys {
            self.end_resolve(now, k, Err(err.clone()));
        }
    }
}

/// The result delivered to the application from a validated CPA.
pub(super) fn resolved(id: PnrpId, cpa: Arc<Cpa>) -> Resolved {
    Resolved {
        id,
        endpoints: cpa.service_addresses.clone(),
        app_endpoints: cpa.app_endpoints.clone(),
        friendly_name: cpa.friendly_name.clone(),
        cpa,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upper_bits_compare_the_prefix_only() {
        let a = PnrpId::new(0xF0 << 120, 0);
        let b = PnrpId::new(0xF8 << 120, 0);
        assert!(upper_bits_match(a, b, 4));
        assert!(!upper_bits_match(a, b, 5));
        assert!(upper_bits_match(a, a, 256));
        assert!(upper_bits_match(PnrpId::new(1, 5), PnrpId::new(1, 4), 255));
        assert!(!upper_bits_match(PnrpId::new(1, 5), PnrpId::new(1, 4), 256));
        assert!(upper_bits_match(a, PnrpId::ZERO, 0));
    }
}
