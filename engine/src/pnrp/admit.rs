//! Admitting route entries (MS-PNRP §3.1.5.11 return-routability, §3.2.5.1), leaf-set insertion and
//! flooding (§3.2.5.11), and removing entries from cache and leaf sets.
//!
//! Steps of an admission, as this module numbers them: 1 port check, 2 skip known or pending
//! entries, 3 Pending Route Entry Add List (NeedCpa for leaf-set candidates), 4 return-routability
//! INQUIRE, 5 its answer, 6 its timeout. Steps of a leaf-set insertion: 1 insert, 2 pick two flood
//! targets, 3 build the Already Flooded List, 4 send, 5 tell X about us.

use super::cache::Insert;
use super::id::PnrpId;
use super::leafset::Side;
use super::message::{AuthorityBuffer, Flood, Inquire, InquireFlags, Message, RouteEntry};
use super::node::{Origin, PendingAdd, PnrpNode};
use super::pending::Purpose;
use crate::crypto::PublicKey;
use crate::{Endpoint, Instant};
use rand::Rng;

/// Cache entries examined when choosing a flood target or refilling a leaf set (bound).
const NEIGHBOUR_SCAN_MAX: usize = 32;

impl PnrpNode {
    /// True when `entry` would enter one of our leaf sets (new there, or with changed endpoints).
    fn needs_cpa(&self, entry: &RouteEntry) -> bool {
        if self.leaf_window.is_some_and(|w| !w.reaches(entry.id)) {
            return false;
        }
        self.regs.values().any(|r| r.leaf.would_change(entry))
    }

    /// MS-PNRP §3.1.5.11: start admitting `entry` with a return-routability INQUIRE (A + C when it would
    /// enter a leaf set: NeedCpa).
    pub(super) fn submit_route_entry(&mut self, now: Instant, entry: RouteEntry, origin: Origin) {
        self.admit_route_entry(now, entry, origin, false);
    }

    /// MS-PNRP §3.1.4.4.2: a LOOKUP to `entry`'s address with Validate = its ID was answered without N.
    /// (peerlab choice) `lookup_answer_proves_reachability`: that answer is the same proof as the
    /// return-routability INQUIRE of MS-PNRP §3.1.5.11 (the node at that address claims the ID; answers
    /// must come from the address asked, MS-PNRP §3.1.5.2), so a plain cache entry is stored at once. A
    /// leaf-set candidate still needs its CPA and is INQUIREd (A + C) as usual.
    pub(super) fn admit_lookup_responder(&mut self, now: Instant, entry: RouteEntry) {
        // Only as strong as the check that the answer came from the address asked.
        let proven =
            self.cfg.lookup_answer_proves_reachability && self.cfg.require_answer_from_request_endpoint;
        self.admit_route_entry(now, entry, Origin::default(), proven);
    }

    /// MS-PNRP §3.1.5.11; `proven` entries need no return-routability INQUIRE.
    fn admit_route_entry(&mut self, now: Instant, entry: RouteEntry, origin: Origin, proven: bool) {
        // Step 1 (MS-PNRP §3.1.5.2: ports must be above 1024).
        if !super::receive::route_entry_ok(&entry) {
            self.stats.drop("bad_route_entry");
            return;
        }
        // Never our own IDs, nor anything claiming our own endpoint, nor the placeholder ID 0.
        if entry.id == PnrpId::ZERO || self.is_local_id(&entry.id) || entry.has_endpoint(&self.local) {
            return;
        }
        // `needs_cpa` has no side effects: it is asked only once an entry already pending is ruled out.
        let need_cpa;
        if self.cfg.skip_known_route_entries {
            // Step 2 (peerlab choice).
            if self.adds.contains_key(&entry.id) {
                return;
            }
            need_cpa = self.needs_cpa(&entry);
            if !need_cpa && self.cache.get(&entry.id).is_some_and(|c| c.route == entry) {
                return;
            }
        } else {
            need_cpa = self.needs_cpa(&entry);
            if let Some(old) = self.adds.remove(&entry.id) {
                self.pending.remove(old.msg_id);
            }
        }
        // MS-PNRP §3.2.1.1, peerlab choice `full_level_admission`: most newcomers to a full level are not
        // worth an INQUIRE.
        if !need_cpa
            && self.cfg.full_level_admission < 1.0
            && !self.cache.contains(&entry.id)
            && self.cache.is_full_at(entry.id)
            && self.rng.gen::<f64>() >= self.cfg.full_level_admission
        {
            self.stats.admissions_skipped_full_level += 1;
            return;
        }
        if proven && !need_cpa {
            self.stats.admissions_by_lookup_answer += 1;
            return self.store_entry(now, entry, None, &origin, false);
        }
        // Step 3.
        if self.adds.len() >= self.cfg.pending_adds_max {
            self.stats.drop("pending_adds_full");
            return;
        }
        // Step 4. (peerlab choice) inquire_nonce_for_leaf_set: see PnrpConfig.
        let nonce: [u8; 16] = if need_cpa && self.cfg.inquire_nonce_for_leaf_set {
            self.rng.gen()
        } else {
            [0; 16]
        };
        let msg_id = self.msg_id();
        let inquire = Inquire {
            message_id: msg_id,
            flags: InquireFlags {
                cpa: need_cpa,
                extended_payload: false,
                cert_chain: need_cpa,
            },
            validate_id: entry.id,
            nonce: (nonce != [0; 16]).then_some(nonce),
        };
        let to = entry.endpoint();
        let id = entry.id;
        if self
            .send_request(now, to, Message::from(inquire), Purpose::AdmitInquire { id })
            .is_some()
        {
            self.stats.admission_inquires += 1;
            self.adds.insert(
                id,
                PendingAdd {
                    entry,
                    need_cpa,
                    nonce,
                    msg_id,
                    origin,
                },
            );
        }
    }

    /// MS-PNRP §3.2.1.1, Microsoft's conceptual docs, peerlab choice `leaf_set_liveness_probes`: INQUIRE a
    /// known entry again (no CPA). The admission answer path (MS-PNRP §3.1.5.11) refreshes it; an N answer or
    /// a timeout evicts it.
    /// Returns false when it could not be sent (already pending, or the list is full).
    pub(super) fn probe_entry(&mut self, now: Instant, entry: RouteEntry) -> bool {
        if self.adds.contains_key(&entry.id) || self.adds.len() >= self.cfg.pending_adds_max {
            return false;
        }
        let msg_id = self.msg_id();
        let inquire = Inquire {
            message_id: msg_id,
            flags: InquireFlags::default(),
            validate_id: entry.id,
            nonce: None,
        };
        let id = entry.id;
        let to = entry.endpoint();
        if self
            .send_request(now, to, Message::from(inquire), Purpose::AdmitInquire { id })
            .is_none()
        {
            return false;
        }
        self.stats.liveness_probes += 1;
        let origin = Origin {
            already_flooded: Vec::new(),
            knows_us: true,
        };
        self.adds.insert(
            id,
            PendingAdd {
                entry,
                need_cpa: false,
                nonce: [0; 16],
                msg_id,
                origin,
            },
        );
        true
    }

    /// MS-PNRP §3.1.5.11: the answer to a return-routability INQUIRE.
    pub(super) fn on_admit_answer(&mut self, now: Instant, id: PnrpId, msg_id: u32, buf: AuthorityBuffer) {
        if self.adds.get(&id).is_none_or(|a| a.msg_id != msg_id) {
            return;
        }
        let Some(add) = self.adds.remove(&id) else { return };
        if buf.flags.not_registered {
            // The node at that address no longer claims the ID: forget any cached copy too.
            if self.cache.contains(&id) {
                self.drop_entry(now, id, "n_flag");
            }
            return;
        }
        if !add.need_cpa {
            let again = self.needs_cpa(&add.entry).then(|| add.entry.clone());
            self.store_entry(now, add.entry, None, &add.origin, false);
            // A leaf set changed meanwhile and now has room for it: admit it again, CPA-checked.
            if let Some(entry) = again {
                self.submit_route_entry(now, entry, add.origin);
            }
            return;
        }
        let verdict = match &buf.cpa {
            None => Err("missing_cpa"),
            // The test-only `inject_bug = "skip-cpa-verify"` skips the signature check.
            Some(cpa) => match if self.cfg.injects("skip-cpa-verify") {
                Ok(())
            } else {
                cpa.validate_with(now, &add.nonce, self.cfg.rsa_signature_byte_order)
            } {
                Err(e) => Err(e.reason()),
                Ok(()) if cpa.revoke => Err("revoked"),
                Ok(()) if cpa.pnrp_id() != add.entry.id => Err("id_mismatch"),
                // The IDs match (previous arm): only the addresses are left of `matches_route_entry`.
                Ok(()) if !cpa.addresses_match(&add.entry) => Err("route_entry_mismatch"),
                Ok(()) => Ok(cpa.public_key.clone()),
            },
        };
        match verdict {
            Ok(key) => self.store_entry(now, add.entry, Some(key), &add.origin, true),
            Err(reason) => self.stats.cpa_reject(reason),
        }
    }

    /// Stores a reachable entry in the cache and, when `validated`, in every leaf set it falls into,
    /// then floods it (MS-PNRP §3.2.5.11).
    fn store_entry(
        &mut self,
        now: Instant,
        entry: RouteEntry,
        key: Option<PublicKey>,
        origin: &Origin,
        validated: bool,
    ) {
        if self.is_local_id(&entry.id) {
            return;
        }
        let x = entry.id;
        // One pass over the registrations, without allocating (this runs for every admission):
        // which leaf sets X enters (`entering`, by position in `regs`), where it is new (`newly`),
        // the nearest registration of each kind, and whether a member re-announced from new
        // addresses (`moved`).
        let mut entering = RegMask::default();
        let (mut newly, mut moved) = (0usize, false);
        let (mut near_entering, mut near_newly): (Option<PnrpId>, Option<PnrpId>) = (None, None);
        let nearer = |best: Option<PnrpId>, l: PnrpId| match best {
            Some(b) if (x.distance(b), b) <= (x.distance(l), l) => Some(b),
            _ => Some(l),
        };
        // MS-PNRP §3.2.5.11 (below): our entry goes to X from each leaf set it is new in.
        let own_to_x = self.cfg.flood_own_entry_to_new_member && !origin.knows_us;
        let mut own_routes: Vec<RouteEntry> = Vec::new();
        if validated {
            for (i, r) in self.regs.values().enumerate() {
                // `reaches`, not `falls_within`: the farthest member re-announced from new
                // addresses must update the leaf set's verified route too.
                if !r.leaf.reaches(x) {
                    continue;
                }
                entering.insert(i);
                near_entering = nearer(near_entering, r.id);
                if !r.leaf.contains(x) {
                    newly += 1;
                    near_newly = nearer(near_newly, r.id);
                    if own_to_x {
                        own_routes.push(r.route.clone());
                    }
                } else if !r.leaf.members(r.leaf.side_of(x)).contains(&entry) {
                    // MS-PNRP §3.1.7.1: a member that re-announced from new addresses is news for the leaf
                    // set too: flood it like a newcomer (it is pinned already, so only `newly`
                    // adds pins).
                    moved = true;
                }
            }
        }
        match self
            .cache
            .insert(entry.clone(), key, now, newly > 0, &mut self.rng)
        {
            Insert::Added { evicted } => {
                self.stats.cache_admissions += 1;
                self.synchronized = true;
                // A deferred registration walk starts once the sync conversation has filled the
                // cache with an ADVERTISE's worth of entries (the maintenance tick is the fallback).
                if self.cache.len() >= self.cfg.advertise_ids && self.announces_deferred {
                    self.announce_deferred(now);
                }
                if evicted.is_some() {
                    self.stats.evict("displaced");
                }
            }
            Insert::Replaced => {}
            Insert::Rejected => {
                self.stats.evict("level_full");
                return;
            }
        }
        for _ in 1..newly {
            self.cache.pin(&x);
        }
        if !entering.is_empty() {
            for (i, reg) in self.regs.values_mut().enumerate() {
                if !entering.contains(i) {
                    continue;
                }
                // MS-PNRP §3.2.5.11: a full side evicts its farthest member, which is then only a cache
                // entry.
                if let Some(out) = reg.leaf.insert(entry.clone()) {
                    if self.cache.unpin(&out.id, &mut self.rng).is_some() {
                        self.stats.evict("displaced");
                    }
                }
            }
            self.sync_leaf_window();
        }
        if newly == 0 && !moved {
            return;
        }
        self.stats.leaf_set_admissions += 1;
        let nearest = if newly == 0 { near_entering } else { near_newly }.unwrap_or(x);
        self.flood_new_member(now, &entry, origin, nearest);
        // MS-PNRP §3.2.5.11 (text and example disagree), peerlab choice: send X our entry so it learns about
        // us — unless X itself flooded or looked us up (peerlab choice: a SOLICIT's or AUTHORITY's sender
        // does not necessarily know us).
        for route in own_routes {
            let flood = Flood {
                message_id: self.msg_id(),
                dont_ack: false,
                validate_id: x,
                revoke_cpa: None,
                route_entry: Some(route),
                already_flooded: vec![self.local],
            };
            self.send_request(
                now,
                entry.endpoint(),
                Message::from(flood),
                Purpose::Flood { validate: x },
            );
        }
    }

    /// MS-PNRP §3.2.5.11: FLOOD X to the nearest cached IDs above and below X not already flooded.
    ///
    /// `us` is our registered ID nearest X. With `flood_outward_only` (peerlab choice), the target on our
    /// own side of X must lie beyond us: nodes between X and us are nearer X and learn it earlier in
    /// the wave. In a single-chain wave the Already Flooded List already excludes them, so this only
    /// matters when X reaches a node through several copies at once (e.g. X's own step-5
    /// FLOODs, whose list holds just X): without it such copies re-flood X's nearest neighbours,
    /// which ignore the duplicate, and the wave dies before the far edges of X's leaf set.
    fn flood_new_member(&mut self, now: Instant, x: &RouteEntry, origin: &Origin, us: PnrpId) {
        let afl = &origin.already_flooded;
        let outward = self.cfg.flood_outward_only;
        let our_side_above = x.id.is_above(us);
        let our_distance = x.id.distance(us);
        // Skip nodes that saw this flood already, and X itself (by address: X may hold several IDs).
        let keep = |r: &RouteEntry| {
            let inside =
                outward && x.id.is_above(r.id) == our_side_above && x.id.distance(r.id) < our_distance;
            !inside
                && !afl.iter().any(|ep| r.has_endpoint(ep))
                && !x.addrs.iter().any(|a| r.port == x.port && r.addrs.contains(a))
        };
        let above = self.cache.next_above(x.id, NEIGHBOUR_SCAN_MAX, keep).cloned();
        let below = self.cache.next_below(x.id, NEIGHBOUR_SCAN_MAX, keep).cloned();
        let mut targets: Vec<RouteEntry> = above.into_iter().collect();
        if let Some(b) = below.filter(|b| !targets.iter().any(|t| t.id == b.id)) {
            targets.push(b);
        }
        if targets.is_empty() {
            return;
        }
        // Step 3: received list + both targets (+ ourselves, peerlab choice); cap by dropping the oldest.
        let mut list: Vec<Endpoint> = afl.clone();
        let mut add = |ep: Endpoint| {
            if !list.contains(&ep) {
                list.push(ep);
            }
        };
        for t in &targets {
            add(t.endpoint());
        }
        if self.cfg.flood_list_includes_self {
            add(self.local);
        }
        let max = self.cfg.already_flooded_max;
        if list.len() > max {
            list.drain(..list.len() - max);
        }
        for t in targets {
            let flood = Flood {
                message_id: self.msg_id(),
                dont_ack: false,
                validate_id: t.id,
                revoke_cpa: None,
                route_entry: Some(x.clone()),
                already_flooded: list.clone(),
            };
            self.send_request(
                now,
                t.endpoint(),
                Message::from(flood),
                Purpose::Flood { validate: t.id },
            );
        }
    }

    /// Removes `id` from the cache and every leaf set (N flags, timeouts, revokes, MS-PNRP §3.2.1.1
    /// lifetime), then refills the leaf sets it left.
    pub(super) fn drop_entry(
        &mut self,
        now: Instant,
        id: PnrpId,
        cause: &'static str,
    ) -> Vec<(PnrpId, Side)> {
        if self.cache.remove(&id).is_some() {
            self.stats.evict(cause);
        }
        let mut left = Vec::new();
        for reg in self.regs.values_mut() {
            let side = reg.leaf.side_of(id);
            if reg.leaf.remove(id) {
                left.push((reg.id, side));
            }
        }
        if !left.is_empty() {
            self.sync_leaf_window();
        }
        if self.cfg.refill_leaf_set_from_cache {
            for (l, side) in &left {
                self.refill_leaf_side(now, *l, *side);
            }
        }
        left
    }

    /// MS-PNRP §3.2.1, peerlab choice: offer the next cached entries on `side` of `l` for (CPA-checked)
    /// admission.
    pub(super) fn refill_leaf_side(&mut self, now: Instant, l: PnrpId, side: Side) {
        let Some(reg) = self.regs.get(&l) else { return };
        let missing = self
            .cfg
            .leaf_set_side
            .saturating_sub(reg.leaf.members(side).len());
        if missing == 0 {
            return;
        }
        let mut picks = Vec::new();
        let mut cursor = l;
        for _ in 0..NEIGHBOUR_SCAN_MAX {
            let next = match side {
                Side::Above => self.cache.next_above(cursor, 1, |_| true),
                Side::Below => self.cache.next_below(cursor, 1, |_| true),
            };
            let Some(r) = next else { break };
            if r.id == l || reg.leaf.side_of(r.id) != side || picks.iter().any(|p: &RouteEntry| p.id == r.id)
            {
                break;
            }
            cursor = r.id;
            if !reg.leaf.contains(r.id) && !self.adds.contains_key(&r.id) {
                picks.push(r.clone());
                if picks.len() >= missing {
                    break;
                }
            }
        }
        for r in picks {
            self.submit_route_entry(now, r, Origin::default());
        }
    }
}

/// A set of positions in `regs` (its iteration order), without allocating for the first 64.
#[derive(Default)]
struct RegMask {
    low: u64,
    more: Vec<usize>,
}

impl RegMask {
    fn insert(&mut self, i: usize) {
        if i < 64 {
            self.low |= 1 << i;
        } else {
            self.more.push(i);
        }
    }

    fn contains(&self, i: usize) -> bool {
        if i < 64 {
            self.low & (1 << i) != 0
        } else {
            self.more.contains(&i)
        }
    }

    fn is_empty(&self) -> bool {
        self.low == 0 && self.more.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::RegMask;

    #[test]
    fn reg_mask_holds_low_and_high_positions() {
        let mut m = RegMask::default();
        assert!(m.is_empty());
        for i in [0, 5, 63, 64, 200] {
            m.insert(i);
        }
        assert!(!m.is_empty());
        for i in 0..300 {
            assert_eq!(m.contains(i), [0, 5, 63, 64, 200].contains(&i), "position {i}");
        }
    }
}
