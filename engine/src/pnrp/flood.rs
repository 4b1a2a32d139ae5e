//! Receiving FLOODs (MS-PNRP §3.1.5.5): ACK unless D, route entries into admission, revoke CPAs
//! validated, applied and forwarded along the leaf sets (MS-PNRP §3.1.5.5; the forwarding is shown
//! only in the example of MS-PNRP §4.3, peerlab choice). Steps: 1 syntax, 2 ACK unless D (N when we
//! do not hold the Validate ID), 3 admit the route entry, 4 apply the revoke CPA.

use super::cpa::Cpa;
use super::id::PnrpId;
use super::leafset::Side;
use super::message::{Ack, Flood, Message};
use super::node::{Origin, PnrpNode};
use super::pending::Purpose;
use crate::{Endpoint, Instant};
use std::sync::Arc;

impl PnrpNode {
    /// MS-PNRP §3.1.5.5.
    pub(super) fn on_flood(&mut self, now: Instant, from: Endpoint, f: Flood) {
        if !f.dont_ack {
            // Step 2: N when the sender believes we hold an ID we do not.
            let n = f.validate_id != PnrpId::ZERO && !self.is_local_id(&f.validate_id);
            let ack = Ack {
                message_id: self.msg_id(),
                acked_id: f.message_id,
                not_registered: n.then_some(true),
            };
            self.send(from, Message::Ack(ack));
        }
        if let Some(cpa) = &f.revoke_cpa {
            self.on_revoke(now, from, cpa.clone());
        }
        if let Some(entry) = f.route_entry {
            // MS-PNRP §3.2.5.11: X told us itself (it picked us, so it knows us) unless a third party
            // forwarded X.
            let knows_us = entry.has_endpoint(&from);
            let origin = Origin {
                already_flooded: f.already_flooded,
                knows_us,
            };
            self.submit_route_entry(now, entry, origin);
        }
    }

    /// MS-PNRP §3.1.5.5 + §3.1.5.11: a valid revoke CPA removes its ID from cache and leaf sets; nodes that
    /// had it in a leaf set forward the revoke to their next leaf-set neighbour on the far side.
    fn on_revoke(&mut self, now: Instant, from: Endpoint, cpa: Arc<Cpa>) {
        if !cpa.revoke {
            self.stats.cpa_reject("not_revoke");
            return;
        }
        if let Err(e) = cpa.validate_with(now, &[0; 16], self.cfg.rsa_signature_byte_order) {
            self.stats.cpa_reject(e.reason());
            return;
        }
        let id = cpa.pnrp_id();
        if self.is_local_id(&id) {
            return;
        }
        let in_leaf = self.regs.values().any(|r| r.leaf.contains(id));
        let Some(entry) = self.cache.get(&id) else {
            return; // neither cached nor in a leaf set: the revoke stops here
        };
        // MS-PNRP §3.1.5.11, peerlab choice: only the key we admitted may revoke (unsecured names are
        // otherwise open to anyone).
        if self.cfg.revoke_requires_admitted_key && entry.key.as_ref().is_some_and(|k| *k != cpa.public_key) {
            self.stats.cpa_reject("revoke_key_mismatch");
            return;
        }
        self.stats.revokes_accepted += 1;
        let left = self.drop_entry(now, id, "revoke");
        if !(self.cfg.forward_revokes && in_leaf) {
            return;
        }
        for (l, side) in left {
            let Some(reg) = self.regs.get(&l) else { continue };
            let far = match side {
                Side::Above => Side::Below,
                Side::Below => Side::Above,
            };
            let Some(next) = reg.leaf.members(far).first().cloned() else {
                continue;
            };
            if next.has_endpoint(&from) {
                continue;
            }
            let flood = Flood {
                message_id: self.msg_id(),
                dont_ack: false,
                validate_id: next.id,
                revoke_cpa: Some(cpa.clone()),
                route_entry: None,
                already_flooded: vec![self.local],
            };
            self.send_request(
                now,
                next.endpoint(),
                Message::from(flood),
                Purpose::Flood { validate: next.id },
            );
        }
    }
}
