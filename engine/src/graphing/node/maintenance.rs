//! Graph maintenance (MS-PPGRH §3.1.6.3-6, §3.1.7.11-17): the pass that runs signature
//! calculation, contact maintenance, partition detection, connection maintenance and long-term
//! partition repair in that order, presence maintenance, and their timers.

use super::conn::Purpose;
use super::{GraphNode, Phase};
use crate::graphing::rules::contacts::{contact_maintenance, contact_timer_fired, ContactAction};
use crate::graphing::rules::partition::{partition_detected, partition_targets, ContactView};
use crate::graphing::rules::presence::{
    presence_maintenance, presence_timer_fired, PresenceAction, PresenceState,
};
use crate::graphing::rules::signature::{
    signature_calculation, signature_timer_fired, SignatureDecision, SIGNATURE_REARM,
};
use crate::graphing::rules::timers::{contact_delay, maintenance_period, partition_delay, presence_delay};
use crate::graphing::rules::topology::{
    choose_candidate, connection_maintenance, Candidate, ConnectionAction, Exclusions, MaintenanceTrigger,
    NeighborUtility,
};
use crate::graphing::{DisconnectReason, GraphEvent};
use crate::{Endpoint, Instant};
use std::collections::BTreeSet;

impl GraphNode {
    /// Asks for a maintenance pass at once (any trigger but the maintenance timer).
    pub(super) fn kick_maintenance(&mut self, now: Instant) {
        self.timers.kick = Some(now);
    }

    /// One maintenance pass (MS-PPGRH §3.1.6.6); `timer` when the maintenance timer fired.
    pub(super) fn maintain(&mut self, now: Instant, timer: bool) {
        if self.phase != Phase::In {
            return;
        }
        self.stats.maintenance_passes += 1;
        self.timers.kick = None;
        self.signature_calculation(now);
        self.contact_maintenance(now);
        self.partition_detection(now);
        self.connection_maintenance(now, timer);
        self.long_term_repair();
        self.presence_maintenance(now);
        let period = maintenance_period(!self.neighbor_conns().is_empty(), &self.cfg);
        self.timers.maintenance = Some(now + period);
    }

    /// Signature calculation (MS-PPGRH §3.1.7.11): arm the signature timer when the record is
    /// missing, deleted or names a higher node.
    pub(super) fn signature_calculation(&mut self, now: Instant) {
        if !self.listening {
            return;
        }
        let decision =
            signature_calculation(self.signature_view(), self.node_id, self.cfg.signature_delay_bits);
        if let SignatureDecision::Arm(delay) = decision {
            let at = now + delay;
            if self.timers.signature.is_none_or(|t| t > at) {
                self.timers.signature = Some(at);
            }
        }
    }

    /// The signature timer (MS-PPGRH §3.1.6.4): claim the signature if still due.
    pub(super) fn signature_timer(&mut self, now: Instant) {
        self.timers.signature = Some(now + SIGNATURE_REARM);
        if self.listening && signature_timer_fired(self.signature_view(), self.node_id) {
            self.claim_signature(now);
        }
    }

    /// Contact maintenance (MS-PPGRH §3.1.7.12): arm the contact timer when the count leaves the
    /// band in a direction this node can fix.
    pub(super) fn contact_maintenance(&mut self, now: Instant) {
        if !self.listening || self.timers.contact.is_some() {
            return;
        }
        let (own, count) = (self.internal.own_contact.is_some(), self.internal.contacts.len());
        if contact_maintenance(own, count, self.signature(), self.cfg.contact_formula) {
            self.timers.contact = Some(now + contact_delay(&mut self.rng));
        }
    }

    /// The contact timer (MS-PPGRH §3.1.6.3): publish or withdraw this node's contact record if
    /// still called for.
    pub(super) fn contact_timer(&mut self, now: Instant) {
        let (own, count) = (self.internal.own_contact.is_some(), self.internal.contacts.len());
        match contact_timer_fired(own, count, self.signature(), self.cfg.contact_formula) {
            ContactAction::Publish if self.listening => self.publish_contact(now),
            ContactAction::Delete => {
                if let Some(id) = self.internal.own_contact.take() {
                    self.delete_own(now, id);
                }
            }
            _ => {}
        }
    }

    /// Partition detection (MS-PPGRH §3.1.7.13): a contact whose record carries another
    /// signature than the signature record arms the partition timer.
    fn partition_detection(&mut self, now: Instant) {
        let sigs = self.internal.contacts.values().map(|c| c.signature);
        if self.timers.partition.is_none() && partition_detected(sigs, self.signature()) {
            self.timers.partition = Some(now + partition_delay(&mut self.rng));
        }
    }

    /// The partition-detection timer (MS-PPGRH §3.1.6.5): connect to every contact that still
    /// mismatches and is not a neighbor already.
    pub(super) fn partition_timer(&mut self, now: Instant) {
        let contacts = self.internal.contacts.values().map(|c| ContactView {
            node_id: c.node_id,
            signature: c.signature,
            addresses: c.addresses.first().copied(),
        });
        let neighbors: BTreeSet<u64> = self.conns.values().filter_map(|c| c.node_id).collect();
        let targets = partition_targets(contacts, self.signature(), self.node_id, &neighbors);
        for addr in targets.into_iter().filter_map(|t| t.addresses) {
            if !self.conns.values().any(|c| c.remote == addr) {
                self.connect_to(now, addr, Purpose::Maintenance);
            }
        }
    }

    /// Connection maintenance (MS-PPGRH §3.1.7.14): prune the least useful link above the ideal
    /// degree on the timer, open one more below it.
    fn connection_maintenance(&mut self, now: Instant, timer: bool) {
        let neighbors: Vec<NeighborUtility> = self
            .conns
            .values()
            .filter(|c| c.is_neighbor())
            .filter_map(|c| c.node_id.map(|node_id| (c.seq, node_id, c.utility)))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(|(_, node_id, utility)| NeighborUtility { node_id, utility })
            .collect();
        let trigger = if timer {
            MaintenanceTrigger::Timer
        } else {
            MaintenanceTrigger::Event
        };
        let (min, ideal) = (self.cfg.min_neighbors, self.cfg.ideal_neighbors);
        match connection_maintenance(&neighbors, trigger, self.never_connected, min, ideal) {
            ConnectionAction::Prune(node_id) => {
                let conn = self
                    .conns
                    .iter()
                    .find(|(_, c)| c.is_neighbor() && c.node_id == Some(node_id))
                    .map(|(id, _)| *id);
                if let Some(conn) = conn {
                    self.stats.neighbors_pruned += 1;
                    self.disconnect(now, conn, DisconnectReason::LeastUseful);
                }
            }
            ConnectionAction::Connect => {
                let pending = self.conns.values().any(|c| c.initiated && !c.is_neighbor());
                if let Some(to) = self.candidate().filter(|_| !pending) {
                    self.connect_to(now, to, Purpose::Maintenance);
                }
            }
            ConnectionAction::Nothing => {}
        }
    }

    /// A new neighbor, uniformly at random from the presence, contact and referral lists, not
    /// this node and not one it is linked to (MS-PPGRH §3.1.7.14).
    fn candidate(&mut self) -> Option<Endpoint> {
        let known = self
            .internal
            .presence
            .values()
            .map(|p| (p.node_id, &p.addresses))
            .chain(self.internal.contacts.values().map(|c| (c.node_id, &c.addresses)))
            .filter_map(|(id, addrs)| {
                addrs.first().map(|a| Candidate {
                    node_id: Some(id),
                    endpoint: *a,
                })
            });
        let referred = self.referrals.iter().map(|r| Candidate {
            node_id: None,
            endpoint: r.endpoint,
        });
        let candidates: Vec<Candidate> = known.chain(referred).collect();
        let exclude = Exclusions {
            own_node_id: self.node_id,
            own_endpoints: [self.listen].into(),
            node_ids: self.conns.values().filter_map(|c| c.node_id).collect(),
            endpoints: self
                .conns
                .values()
                .flat_map(|c| c.addresses.iter().copied().chain([c.remote]))
                .collect(),
        };
        choose_candidate(candidates, &exclude, &mut self.rng).map(|c| c.endpoint)
    }

    /// Long-term partition repair (MS-PPGRH §3.1.6.3): a contact asks the application for some
    /// new node, here by resolving the graph's peer name.
    fn long_term_repair(&mut self) {
        if self.internal.own_contact.is_none() {
            return;
        }
        if let Some(name) = self.bootstrap_name.clone() {
            self.emit(GraphEvent::ResolveWanted { name });
        }
    }

    /// The inputs of the presence rules.
    fn presence_state(&self) -> PresenceState {
        PresenceState {
            listening: self.listening,
            own_live: self.internal.own_presence.is_some(),
            forced: self.internal.presence_forced,
            live_presences: self.internal.presence.len(),
        }
    }

    /// Presence maintenance (MS-PPGRH §3.1.7.17).
    fn presence_maintenance(&mut self, now: Instant) {
        match presence_maintenance(&self.presence_state(), self.internal.max_presence) {
            PresenceAction::Publish { autorefresh } => self.publish_presence(now, autorefresh),
            PresenceAction::Delete => self.withdraw_presence(now),
            PresenceAction::ArmTimer if self.timers.presence.is_none() => {
                self.timers.presence = Some(now + presence_delay(&mut self.rng));
            }
            _ => {}
        }
    }

    /// The presence timer (MS-PPGRH §3.1.6.9): publish or withdraw if still called for.
    pub(super) fn presence_timer(&mut self, now: Instant) {
        match presence_timer_fired(&self.presence_state(), self.internal.max_presence) {
            PresenceAction::Publish { autorefresh } => self.publish_presence(now, autorefresh),
            PresenceAction::Delete => self.withdraw_presence(now),
            _ => {}
        }
    }

    fn withdraw_presence(&mut self, now: Instant) {
        if let Some(id) = self.internal.own_presence.take() {
            self.delete_own(now, id);
        }
    }
}
