//! Answers and timeouts inside a resolve (MS-PNRP §3.1.4.4.2): the AUTHORITY to a LOOKUP
//! (loop prevention, NextHopStack/BestMatchStack updates), skipped hops, and the CPA check of the
//! final INQUIRE's answer.

use super::api::ResolveError;
use super::cpa::Cpa;
use super::id::PnrpId;
use super::message::{AuthorityBuffer, RouteEntry};
use super::node::PnrpNode;
use super::resolve::{resolved, Hop, ResolveKind, BEST_STACK_MAX, NEXT_HOPS_MAX};
use crate::crypto::SignatureByteOrder;
use crate::{Endpoint, Instant};
use std::sync::Arc;

impl PnrpNode {
    /// MS-PNRP §3.1.4.4.2: an AUTHORITY answered our LOOKUP that went to `sent_to`.
    pub(super) fn on_lookup_answer(
        &mut self,
        now: Instant,
        key: u64,
        sent_to: Endpoint,
        buf: AuthorityBuffer,
    ) {
        let small = if self.cfg.small_cache_boundary_is_large {
            self.cache.len() < self.cfg.small_cache_entries
        } else {
            self.cache.len() <= self.cfg.small_cache_entries
        };
        let stop_registration = self.cfg.registration_stop_after_leaf_answers;
        let (exhaust_bare, use_max, beyond_best) = (
            self.cfg.exhaust_hop_without_route_entry,
            self.cfg.hop_use_count_max,
            self.cfg.follow_referrals_closer_than_best,
        );
        let local = self.local;
        let Some(st) = self.ort.get_mut(&key) else { return };
        let Some(hop) = st.current.take() else { return };
        if buf.flags.busy {
            // (peerlab choice) B: like a timed-out hop, without eviction.
            return self.advance(now, key);
        }
        st.path.push(sent_to); // step 9
        st.useful_hops += 1;
        if buf.flags.leaf_set {
            st.suspicious += 1; // step 10
        }
        let responder = hop.entry.id;
        // The split test's seed hop has the placeholder ID 0: never cached, never a best match.
        let mut cur = (responder != PnrpId::ZERO).then_some(hop);
        let mut admit = None;
        let mut evict = None;
        if let Some(c) = &cur {
            if buf.flags.not_registered {
                evict = Some(c.entry.id); // step 11, N set
                cur = None;
            } else {
                admit = Some(c.entry.clone()); // step 11, N clear
            }
        }
        if let Some(c) = &cur {
            // Step 12.
            if st
                .best
                .as_ref()
                .is_none_or(|b| st.target.closer(c.entry.id, b.id))
            {
                if let Some(old) = st.best.replace(c.entry.clone()) {
                    st.best_stack.push(old);
                    if st.best_stack.len() > BEST_STACK_MAX {
                        st.best_stack.remove(0);
                    }
                }
            }
        }
        if cur.as_ref().is_some_and(|c| c.use_count >= use_max) {
            cur = None; // step 13
        }
        let new = buf.route_entry; // step 14
        let mut pushed_back = false;
        if let Some(c) = cur {
            // Step 15, peerlab choice: without a route entry the responder is exhausted.
            if new.is_some() || !exhaust_bare {
                st.next_hops.push(c);
                pushed_back = true;
            }
        }
        if let Some(n) = new {
            // Step 16: loop prevention (the path's last element is the node that just answered).
            // (peerlab choice) hops that timed out in this walk count as visited too (never re-asked).
            let visited = st.path[..st.path.len() - 1]
                .iter()
                .chain(st.dead.iter())
                .any(|ep| n.has_endpoint(ep));
            let usable =
                super::receive::route_entry_ok(&n) && !n.has_endpoint(&local) && n.id != PnrpId::ZERO;
            if !visited && usable {
                // Step 17: closer referrals are followed; others only while our cache is small.
                // (peerlab choice) follow_referrals_closer_than_best: also anything better than our best.
                let improves = beyond_best && st.best.as_ref().is_none_or(|b| st.target.closer(n.id, b.id));
                if st.target.closer(n.id, responder) || small || improves {
                    st.next_hops.push(Hop {
                        entry: n,
                        use_count: 0,
                    });
                } else if pushed_back {
                    st.next_hops.pop();
                }
            }
        }
        if st.next_hops.len() > NEXT_HOPS_MAX {
            st.next_hops.remove(0);
        }
        if let Some(id) = evict {
            self.drop_entry(now, id, "n_flag");
        }
        if let Some(e) = admit {
            self.admit_lookup_responder(now, e);
        }
        // (peerlab choice) registration_stop_after_leaf_answers (MS-PNRP §3.2.4.1): the walk's work is
        // done once a few hops whose leaf set spans our ID (L) knew nothing closer — they are
        // admitting and flooding us through the neighbourhood; re-asking earlier hops only
        // repeats that.
        let done = self.ort.get(&key).is_some_and(|st| {
            matches!(st.kind, ResolveKind::Registration { .. })
                && stop_registration.is_some_and(|k| buf.flags.leaf_set && st.suspicious >= k)
        });
        if done {
            let Some(st) = self.ort.get(&key) else { return };
            let err = ResolveError::NotFound {
                target: st.target,
                closest: st.best.as_ref().map(|b| b.id),
            };
            return self.end_resolve(now, key, Err(err));
        }
        self.advance(now, key); // step 18
    }

    /// Peerlab choice (MS-PNRP §3.1.6.3 would fail the resolve): a LOOKUP that timed out skips the hop (and,
    /// by default, evicts it).
    pub(super) fn lookup_timeout(&mut self, now: Instant, key: u64) {
        let Some(st) = self.ort.get_mut(&key) else { return };
        let hop = st.current.take();
        if let Some(h) = &hop {
            st.dead.push(h.entry.endpoint());
        }
        if let Some(h) = hop.filter(|h| h.entry.id != PnrpId::ZERO && self.cfg.evict_on_lookup_timeout) {
            self.drop_entry(now, h.entry.id, "lookup_timeout");
        }
        self.advance(now, key);
    }

    /// Peerlab choice (MS-PNRP §3.1.4.4.2 retries the same match): a final INQUIRE that timed out pops
    /// BestMatchStack first, then walks on.
    pub(super) fn final_inquire_timeout(&mut self, now: Instant, key: u64) {
        let pop = self.cfg.pop_best_on_inquire_timeout;
        let Some(st) = self.ort.get_mut(&key) else { return };
        if pop {
            st.best = st.best_stack.pop();
        }
        if matches!(st.kind, ResolveKind::Split { .. }) {
            return self.end_resolve(now, key, Err(ResolveError::Timeout));
        }
        self.advance(now, key);
    }

    /// MS-PNRP §3.1.4.4.2: check the CPA of the final INQUIRE's answer.
    pub(super) fn on_final_inquire_answer(
        &mut self,
        now: Instant,
        key: u64,
        nonce: [u8; 16],
        buf: AuthorityBuffer,
    ) {
        let Some(st) = self.ort.get(&key) else { return };
        let Some(best) = st.best.clone() else { return };
        if let ResolveKind::Split {
            local,
            followup,
            known,
        } = st.kind
        {
            // MS-PNRP §3.2.6.2.1: the analysis runs on the route entry of this answer.
            let found = buf
                .route_entry
                .clone()
                .filter(|r| r.id != PnrpId::ZERO)
                .unwrap_or(best);
            let started = st.started;
            self.end_resolve(
                now,
                key,
                Err(ResolveError::NotFound {
                    target: st.target,
                    closest: Some(found.id),
                }),
            );
            return self.split_analysis(now, local, found, followup, known, started);
        }
        let verify = (!self.cfg.injects("skip-cpa-verify")).then_some(self.cfg.rsa_signature_byte_order);
        match check_cpa(&buf, &best, now, &nonce, verify) {
            Ok(cpa) => {
                let id = best.id;
                self.end_resolve(now, key, Ok(resolved(id, cpa)));
            }
            Err(reason) => {
                // Step 20: discard, fall back to the previous best match.
                self.stats.cpa_reject(reason);
                let Some(st) = self.ort.get_mut(&key) else { return };
                st.cpa_error = Some(reason);
                st.best = st.best_stack.pop();
                if st.best.is_none() {
                    return self.end_resolve(now, key, Err(ResolveError::CpaInvalid { reason }));
                }
                self.advance(now, key);
            }
        }
    }
}

/// MS-PNRP §3.1.5.7 for a resolve answer: N clear, a CPA present and valid for our nonce, its recomputed ID
/// the best match's, and its service addresses those of the buffer's route entry.
pub(super) fn check_cpa(
    buf: &AuthorityBuffer,
    best: &RouteEntry,
    now: Instant,
    nonce: &[u8; 16],
    verify: Option<SignatureByteOrder>,
) -> Result<Arc<Cpa>, &'static str> {
    if buf.flags.not_registered {
        // (our reading) N set → like a failed CPA.
        return Err("not_registered");
    }
    let cpa = buf.cpa.clone().ok_or("missing_cpa")?;
    // `verify` (the signature byte order) is `None` only under the test-only
    // `inject_bug = "skip-cpa-verify"`.
    if let Some(order) = verify {
        cpa.validate_with(now, nonce, order).map_err(|e| e.reason())?;
    }
    if cpa.revoke {
        return Err("revoked");
    }
    if cpa.pnrp_id() != best.id {
        return Err("id_mismatch");
    }
    let entry = buf.route_entry.as_ref().unwrap_or(best);
    // `cpa.pnrp_id() == best.id` here, so `entry.id == best.id` is the ID half of
    // `matches_route_entry`.
    if entry.id != best.id || !cpa.addresses_match(entry) {
        return Err("route_entry_mismatch");
    }
    Ok(cpa)
}
