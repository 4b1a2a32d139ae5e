//! Graph maintenance (MS-PPGRH §3.1.6.3-6, §3.1.7.11-17): the pass that runs signature
//! calculation, contact maintenance, partition detection, connection maintenance and long-term
//! partition repair in that order, presence maintenance, and their timers.

use super::conn::Purpose;
use super::{GraphNode, Phase};
use crate::graphing::rules::contacts::{contact_maintenance, contact_timer_fired, ContactAction};
use crate::graphing::rules::signature::{signature_calculation, signature_timer_fired, SignatureDecision, SIGNATURE_REARM};
use crate::graphing::rules::timers::{contact_delay, maintenance_period, partition_delay, presence_delay};
use crate::graphing::rules::{partition, presence, topology};
use crate::graphing::{DisconnectReason, GraphEvent};
use crate::{Endpoint, Instant};
use rand::Rng;

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
        let decision = signature_calculation(self.signature_view(), self.node_id, self.cfg.signature_delay_bits);
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

    /// Contacts whose record carries a signature other than the signature record's.
    fn mismatched_contacts(&self) -> Vec<(u64, Endpoint)> {
        let Some(sig) = self.signature() else { return Vec::new() };
        self.internal
            .contacts
            .values()
            .filter(|c| partition::mismatch(sig, c.signature) && c.node_id != self.node_id)
            .filter_map(|c| c.addresses.first().map(|a| (c.node_id, *a)))
            .collect()
    }

    /// Partition detection (MS-PPGRH §3.1.7.13): a mismatching contact arms the partition timer.
    fn partition_detection(&mut self, now: Instant) {
        if self.timers.partition.is_none() && !self.mismatched_contacts().is_empty() {
            self.timers.partition = Some(now + partition_delay(&mut self.rng));
        }
    }

    /// The partition-detection timer (MS-PPGRH §3.1.6.5): connect to every contact that still
    /// mismatches.
    pub(super) fn partition_timer(&mut self, now: Instant) {
        for (node_id, addr) in self.mismatched_contacts() {
            if !self.linked(node_id, addr) {
                self.connect_to(now, addr, Purpose::Maintenance);
            }
        }
    }

    /// Whether a link (or an attempt) to `node_id` or `addr` exists.
    fn linked(&self, node_id: u64, addr: Endpoint) -> bool {
        self.conns
            .values()
            .any(|c| c.node_id == Some(node_id) || c.remote == addr || c.addresses.contains(&addr))
    }

    /// Connection maintenance (MS-PPGRH §3.1.7.14): prune the least useful link above the ideal
    /// degree on the timer, open one more below it.
    fn connection_maintenance(&mut self, now: Instant, timer: bool) {
        let view = topology::View {
            neighbors: self.neighbor_conns().len(),
            min: self.cfg.min_neighbors,
            ideal: self.cfg.ideal_neighbors,
            never_connected: self.never_connected,
            timer,
        };
        match topology::decide(&view) {
            topology::Action::Prune => {
                let least = self
                    .conns
                    .iter()
                    .filter(|(_, c)| c.is_neighbor())
                    .min_by_key(|(id, c)| (c.utility, c.seq, **id))
                    .map(|(id, _)| *id);
                if let Some(conn) = least {
                    self.stats.neighbors_pruned += 1;
                    self.disconnect(now, conn, DisconnectReason::LeastUseful);
                }
            }
            topology::Action::Connect => {
                let pending = self.conns.values().any(|c| c.initiated && !c.is_neighbor());
                if let Some(to) = self.candidate().filter(|_| !pending) {
                    self.connect_to(now, to, Purpose::Maintenance);
                }
            }
            topology::Action::None => {}
        }
    }

    /// A new neighbor, uniformly at random from the presence, contact and referral lists, not
    /// this node and not one it is linked to (MS-PPGRH §3.1.7.14).
    fn candidate(&mut self) -> Option<Endpoint> {
        let me = self.node_id;
        let mut pool: Vec<(Option<u64>, Endpoint)> = Vec::new();
        let known = self
            .internal
            .presence
            .values()
            .map(|p| (p.node_id, &p.addresses))
            .chain(self.internal.contacts.values().map(|c| (c.node_id, &c.addresses)));
        for (id, addrs) in known {
            if let Some(a) = addrs.first() {
                pool.push((Some(id), *a));
            }
        }
        pool.extend(self.referrals.iter().map(|r| (None, r.addr)));
        pool.retain(|(id, a)| {
            *id != Some(me) && *a != self.listen && !self.linked(id.unwrap_or(me), *a)
        });
        pool.sort_unstable();
        pool.dedup_by_key(|(_, a)| *a);
        if pool.is_empty() {
            return None;
        }
        Some(pool[self.rng.gen_range(0..pool.len())].1)
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
    fn presence_view(&self) -> presence::View {
        presence::View {
            listening: self.listening,
            present: self.internal.own_presence.is_some(),
            forced: self.internal.presence_forced,
            max: self.internal.max_presence,
            count: self.internal.presence.len(),
        }
    }

    /// Presence maintenance (MS-PPGRH §3.1.7.17).
    fn presence_maintenance(&mut self, now: Instant) {
        match presence::decide(&self.presence_view()) {
            presence::Action::Publish => self.publish_presence(now),
            presence::Action::Withdraw => self.withdraw_presence(now),
            presence::Action::ArmTimer if self.timers.presence.is_none() => {
                self.timers.presence = Some(now + presence_delay(&mut self.rng));
            }
            _ => {}
        }
    }

    /// The presence timer (MS-PPGRH §3.1.6.9): publish or withdraw if still called for.
    pub(super) fn presence_timer(&mut self, now: Instant) {
        match presence::on_timer(&self.presence_view()) {
            presence::Action::Publish => self.publish_presence(now),
            presence::Action::Withdraw => self.withdraw_presence(now),
            _ => {}
        }
    }

    fn withdraw_presence(&mut self, now: Instant) {
        if let Some(id) = self.internal.own_presence.take() {
            self.delete_own(now, id);
        }
    }

}
