//! Answering LOOKUPs (MS-PNRP §3.2.5.2) and INQUIREs (§3.2.5.6), building CPAs (§3.2.5.7) and
//! sending AUTHORITY_BUFFERs as fragments (§3.2.5.10).
//!
//! Steps of a LOOKUP answer, as this module numbers them: 1 syntax, 2 admit the carried route entry,
//! 3 ValidateNotLocal, 4 ClosestLocalMatch, 5 ClosestRemoteMatch, 6 TargetSuspicious, 7 build the
//! AUTHORITY_BUFFER, 8 send it.

use super::cpa::Cpa;
use super::id::PnrpId;
use super::message::{AuthorityBuffer, AuthorityFlags, Inquire, Lookup, Message, RouteEntry};
use super::node::{Origin, PnrpNode};
use super::wire;
use crate::{Endpoint, Instant};
use rand::Rng;
use std::sync::Arc;

/// Cache entries examined when looking for LOOKUP answer candidates (bound on per-message work).
const LOOKUP_SCAN_MAX: usize = 64;

impl PnrpNode {
    /// Encodes `buf`, cuts it into ≤ 1,188-byte fragments and sends them to `to` (MS-PNRP §3.2.5.10).
    pub(super) fn send_authority(&mut self, to: Endpoint, acked_id: u32, buf: &AuthorityBuffer) {
        // Every answer is encoded (real bytes, MS-PNRP §3.2.5.10), then copied into its fragments: one
        // scratch buffer per thread spares an allocation per AUTHORITY.
        thread_local! {
            static SCRATCH: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
        }
        let mut bytes = SCRATCH.take();
        bytes.clear();
        wire::encode_authority_buffer_into(buf, &mut bytes);
        let id = self.msg_id();
        for frag in wire::authority_fragments(id, acked_id, &bytes) {
            self.send(to, Message::from(frag));
        }
        SCRATCH.set(bytes);
    }

    /// MS-PNRP §3.2.5.2: every node answers a LOOKUP with the closest entry it knows, never referring back
    /// into the Flagged Path.
    pub(super) fn on_lookup(&mut self, now: Instant, from: Endpoint, l: Lookup) {
        if !self.cfg.resolvers_answer && self.regs.is_empty() {
            self.stats.drop("not_publisher");
            return;
        }
        // Step 2: this is how hops learn about new registrations.
        if let Some(best) = l.best_match.clone() {
            self.submit_route_entry(
                now,
                best,
                Origin {
                    already_flooded: Vec::new(),
                    knows_us: true,
                },
            );
        }
        let target = l.target;
        let validate = l.validate_id;
        // Step 3.
        let validate_not_local = validate != PnrpId::ZERO && !self.is_local_id(&validate);
        let in_path = |r: &RouteEntry| l.flagged_path.iter().any(|ep| r.has_endpoint(ep));
        // Step 4.
        let mut local_match: Option<RouteEntry> = None;
        if !l.flagged_path.contains(&self.local) {
            // Decided on the table's keys (each registration's route entry carries its key as
            // ID): usually no registration qualifies, and then none is loaded.
            local_match = self
                .regs
                .keys()
                .copied()
                .min_by_key(|id| (target.distance(*id), *id))
                .filter(|id| validate_not_local || target.closer(*id, validate))
                .and_then(|id| self.regs.get(&id).map(|r| r.route.clone()));
        }
        // Step 5: up to 3 candidates closer than the Validate ID (unless A), none in the path.
        let mut candidates: Vec<RouteEntry> = Vec::with_capacity(3);
        for e in self.cache.walk_closest(target).take(LOOKUP_SCAN_MAX) {
            if !l.accept_any && !target.closer(e.route.id, validate) {
                break; // sorted by distance: nothing further is closer either
            }
            if !in_path(&e.route) {
                candidates.push(e.route.clone());
                if candidates.len() == 3 {
                    break;
                }
            }
        }
        let remote = self
            .weighted_pick(candidates.len())
            .map(|i| candidates.swap_remove(i));
        // Step 6.
        let suspicious = remote.is_none() && self.regs.values().any(|r| r.leaf.spans(target));
        // Step 7.
        let route_entry = match (local_match, remote) {
            (Some(a), Some(b)) => Some(if target.closer(b.id, a.id) { b } else { a }),
            (a, b) => a.or(b),
        };
        let busy = self
            .cfg
            .busy_pending_threshold
            .is_some_and(|t| self.pending.len() > t);
        let buf = AuthorityBuffer {
            flags: AuthorityFlags {
                leaf_set: suspicious,
                busy,
                not_registered: validate_not_local,
            },
            cert_chain: None,
            classifier: None,
            extended_payload: None,
            route_entry,
            cpa: None,
        };
        self.send_authority(from, l.message_id, &buf);
    }

    /// MS-PNRP §3.2.5.2, peerlab choice: the index of a random choice among `n` ranked candidates, biased
    /// towards the closest (weights 3:2:1 by rank).
    fn weighted_pick(&mut self, n: usize) -> Option<usize> {
        if n == 0 {
            return None;
        }
        let weights = &self.cfg.lookup_answer_weights[..n.min(3)];
        let total: u32 = weights.iter().sum();
        if total == 0 {
            return Some(0);
        }
        let mut x = self.rng.gen_range(0..total);
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return Some(i);
            }
            x -= w;
        }
        Some(0)
    }

    /// MS-PNRP §3.2.5.6: N unless the Validate ID is ours; else our route entry, the classifier and, with A,
    /// a CPA carrying the INQUIRE's nonce.
    pub(super) fn on_inquire(&mut self, now: Instant, from: Endpoint, i: Inquire) {
        if let Some(limiter) = self.inquire_limiter.as_mut() {
            if !limiter.allow(now, from) {
                return self.stats.drop("inquire_rate_limited");
            }
        }
        let Some(reg) = self.regs.get(&i.validate_id) else {
            let buf = AuthorityBuffer {
                flags: AuthorityFlags {
                    not_registered: true,
                    ..AuthorityFlags::default()
                },
                cert_chain: None,
                classifier: None,
                extended_payload: None,
                route_entry: None,
                cpa: None,
            };
            return self.send_authority(from, i.message_id, &buf);
        };
        let route = reg.route.clone();
        let classifier = reg.name.classifier.clone();
        let nonce = i.nonce.unwrap_or([0; 16]);
        let cpa = if !i.flags.cpa {
            None
        } else if nonce == [0; 16] {
            self.zero_nonce_cpa(now, i.validate_id)
        } else {
            self.build_cpa(now, i.validate_id, nonce)
        };
        let buf = AuthorityBuffer {
            flags: AuthorityFlags::default(),
            // C: no delegation chains are supported (MS-PNRP §1.3.1.1, peerlab choice); X: no extended
            // payloads.
            cert_chain: None,
            classifier: Some(classifier),
            extended_payload: None,
            route_entry: Some(route),
            cpa,
        };
        self.send_authority(from, i.message_id, &buf);
    }

    /// A freshly signed CPA for registered `id` carrying `nonce` (MS-PNRP §3.2.5.6, §3.1.5.8).
    pub(super) fn build_cpa(&self, now: Instant, id: PnrpId, nonce: [u8; 16]) -> Option<Arc<Cpa>> {
        let reg = self.regs.get(&id)?;
        let mut cpa = Cpa::unsigned(
            &reg.name,
            &reg.identity,
            id.service_location(),
            vec![self.local],
            now + self.cfg.cpa_lifetime,
            nonce,
        );
        cpa.app_endpoints = reg.app_endpoints.clone();
        cpa.friendly_name = reg.friendly_name.clone();
        Some(Arc::new(
            cpa.sign_with(&reg.identity, self.cfg.rsa_signature_byte_order),
        ))
    }

    /// The zero-nonce CPA of `id`, signed once and reused until half its lifetime has passed (MS-PNRP
    /// §3.2.1).
    pub(super) fn zero_nonce_cpa(&mut self, now: Instant, id: PnrpId) -> Option<Arc<Cpa>> {
        let half = self.cfg.cpa_lifetime.as_micros() / 2;
        let fresh = self.regs.get(&id)?.cpa_zero.as_ref().and_then(|(cpa, signed)| {
            (now.saturating_since(*signed).as_micros() < half).then(|| cpa.clone())
        });
        if let Some(c) = fresh {
            return Some(c);
        }
        let cpa = self.build_cpa(now, id, [0; 16])?;
        if let Some(reg) = self.regs.get_mut(&id) {
            reg.cpa_zero = Some((cpa.clone(), now));
        }
        Some(cpa)
    }

    /// A signed revoke CPA for registered `id` (MS-PNRP §3.2.4.2: R set, zero nonce, no payload, no
    /// addresses).
    pub(super) fn build_revoke(&self, now: Instant, id: PnrpId) -> Option<Arc<Cpa>> {
        let reg = self.regs.get(&id)?;
        let cpa = Cpa::unsigned_revoke(
            &reg.name,
            &reg.identity,
            id.service_location(),
            Vec::new(),
            now + self.cfg.cpa_lifetime,
        );
        Some(Arc::new(
            cpa.sign_with(&reg.identity, self.cfg.rsa_signature_byte_order),
        ))
    }
}
