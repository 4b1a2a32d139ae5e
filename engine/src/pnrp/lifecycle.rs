//! The cloud's life (MS-PNRP §3.1.1 Cloud Table entry, §3.1.2 Cloud Cleanup Timer, §3.1.4.1 opening a
//! cloud, §3.1.4.5 closing it, §3.1.6.1 Cloud Cleanup Timer expiry).
//!
//! MS-PNRP counts the opens of a cloud (OpenCount): each application or higher-layer protocol that
//! uses it holds one. Here the uses are derived, not counted, so no path can forget a decrement:
//! the host's own open (taken by `PnrpNode::new` and `Command::OpenCloud`, released by
//! `Command::CloseCloud`), every locally registered ID (MS-PNRP §3.2.4.1 registers "in a given
//! cloud", which must be open) and every running application resolve. When none is left the
//! one-shot Cloud Cleanup Timer starts (`cloud_cleanup_delay`, MS-PNRP §3.1.2: 15 minutes); a new
//! use before it fires stops it and the cloud carries on as if nothing happened. When it fires, all
//! state of the cloud is deleted (MS-PNRP §3.1.6.1): route cache, Pending List, pending cache adds,
//! conversations, reassembly contexts, the discovery state and the maintenance timer. Nothing is
//! sent then: the revokes of MS-PNRP §3.2.4.2 went out when each ID was unregistered, and a node
//! without registrations is in nobody's cache or leaf set. A closed cloud no longer listens: every
//! datagram is dropped (`drops["cloud_closed"]`). A later use opens it again from scratch: the next
//! maintenance tick runs discovery (MS-PNRP §3.1.4.2), exactly as for a node that just started.

use super::api::ResolveError;
use super::cache::RouteCache;
use super::node::PnrpNode;
use super::pending::PendingList;
use super::reassembly::Reassembly;
use super::resolve::ResolveKind;
use super::small_map::{SmallMap, SmallSet};
use super::sync::Discovery;
use crate::Instant;

/// Where a cloud stands in its life (MS-PNRP §3.1.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct CloudLife {
    /// The host application holds an open (MS-PNRP §3.1.4.1); `PnrpNode::new` takes it.
    pub(super) host_open: bool,
    /// When the Cloud Cleanup Timer fires; `None` while the cloud is in use or closed.
    pub(super) cleanup_at: Option<Instant>,
    /// The cleanup ran: the cloud's state is gone and it does not listen until used again.
    pub(super) closed: bool,
}

impl PnrpNode {
    /// True when something uses the cloud: the host's open, a registered ID or an application
    /// resolve (MS-PNRP §3.1.1 OpenCount > 0).
    pub fn cloud_in_use(&self) -> bool {
        self.life.host_open
            || !self.regs.is_empty()
            || self
                .ort
                .values()
                .any(|r| matches!(r.kind, ResolveKind::App { .. }))
    }

    /// True after the Cloud Cleanup Timer deleted the cloud's state (MS-PNRP §3.1.6.1) and before a
    /// new use opened it again.
    pub fn cloud_closed(&self) -> bool {
        self.life.closed
    }

    /// When the Cloud Cleanup Timer fires, if it runs.
    pub fn cloud_cleanup_at(&self) -> Option<Instant> {
        self.life.cleanup_at
    }

    /// MS-PNRP §3.1.4.1: the host opens the cloud (again). Opening a closed cloud starts over.
    pub(super) fn open_cloud(&mut self, now: Instant) {
        self.life.host_open = true;
        self.reopen_if_closed(now);
    }

    /// MS-PNRP §3.1.4.5: the host closes its open; registrations and running resolves keep the cloud.
    pub(super) fn close_cloud(&mut self) {
        self.life.host_open = false;
    }

    /// A new use of a closed cloud opens it from scratch: discovery runs at the next instant (MS-PNRP
    /// §3.1.4.1, §3.1.4.2).
    pub(super) fn reopen_if_closed(&mut self, now: Instant) {
        if !self.life.closed {
            return;
        }
        self.life.closed = false;
        self.stats.cloud_reopens += 1;
        self.maintenance_at = Some(now);
        self.last_tick = now;
    }

    /// After every input: starts the Cloud Cleanup Timer when the last use went, stops it when a use
    /// came back (MS-PNRP §3.1.2). A node that left (`Command::Leave`) has stopped altogether.
    pub(super) fn update_cloud_cleanup(&mut self, now: Instant) {
        if self.left || self.life.closed {
            self.life.cleanup_at = None;
            return;
        }
        // Cheap test first: on almost every node the host's open or a registration answers.
        if self.cloud_in_use() {
            self.life.cleanup_at = None;
        } else if self.life.cleanup_at.is_none() {
            self.life.cleanup_at = Some(now + self.cfg.cloud_cleanup_delay);
        }
    }

    /// MS-PNRP §3.1.6.1: the Cloud Cleanup Timer fired; delete every piece of the cloud's state.
    pub(super) fn cloud_cleanup_due(&mut self, now: Instant) {
        if self.life.cleanup_at.is_none_or(|t| t > now) {
            return;
        }
        self.life.cleanup_at = None;
        // Internal resolves (cache maintenance, split tests) end with the cloud; no application
        // resolve is running, or the cloud would be in use.
        self.end_all_resolves(now, ResolveError::Closed);
        self.cache = RouteCache::new(
            self.virtual_centre,
            self.cfg.cache_level_capacity,
            self.cfg.cache_levels_max,
        );
        self.pending = PendingList::default();
        self.adds = SmallMap::new();
        self.resolve_deadlines = SmallSet::new();
        self.conversations = SmallMap::new();
        self.conversation_timers = SmallSet::new();
        self.reassembly = Reassembly::new(self.cfg.reassembly_contexts_max, self.cfg.reassembly_bytes_max);
        self.discovery = Discovery::default();
        self.opened = false;
        self.synchronized = false;
        self.maintenance_at = None;
        self.maintenance_resolve = None;
        self.last_balancing = None;
        self.balancing_next_check = None;
        self.last_liveness_probe = None;
        self.split_due = None;
        self.life.closed = true;
        self.stats.cloud_closes += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::super::api::{Command, Event, ResolveError};
    use super::super::message::{Inquire, InquireFlags, Message, MessageType};
    use super::super::testnet::endpoint;
    use super::super::testnet::TestNet;
    use super::super::PnrpConfig;
    use crate::crypto::Scheme;
    use crate::{Duration, Node};

    const CLEANUP: Duration = Duration::from_secs(15 * 60);

    /// Four nodes, all registered and settled; node 3 then closes its host open.
    fn settled_then_closed() -> TestNet {
        let mut net = TestNet::new(4, PnrpConfig::default(), Scheme::Ed25519, 31);
        net.register_all(Duration::from_secs(30));
        net.command(3, Command::CloseCloud);
        net
    }

    /// `settled_then_closed`, node 3 unregistered and the Cloud Cleanup Timer run out.
    fn cleaned_up() -> TestNet {
        let mut net = settled_then_closed();
        let id = net.id_of(3);
        net.command(3, Command::Unregister { id });
        net.run_for(CLEANUP + Duration::from_secs(1));
        assert!(net.nodes[3].cloud_closed());
        net
    }

    fn cloud_closed_drops(net: &TestNet) -> u64 {
        let drops = &net.nodes[3].stats().drops;
        drops.get("cloud_closed").copied().unwrap_or(0)
    }

    fn solicits_sent(net: &TestNet, i: usize) -> u64 {
        net.nodes[i].stats().sent[MessageType::Solicit.index()].msgs
    }

    #[test]
    fn the_default_cleanup_delay_is_fifteen_minutes() {
        assert_eq!(PnrpConfig::default().cloud_cleanup_delay, CLEANUP);
    }

    #[test]
    fn registrations_keep_a_closed_cloud_open() {
        let mut net = settled_then_closed();
        assert!(net.nodes[3].cloud_in_use());
        assert_eq!(net.nodes[3].cloud_cleanup_at(), None);
        net.run_for(CLEANUP + CLEANUP);
        assert!(!net.nodes[3].cloud_closed());
        assert!(net.nodes[3].cache_len() > 0);
    }

    #[test]
    fn the_last_unregistration_starts_the_timer_and_its_expiry_forgets_the_cloud() {
        let mut net = settled_then_closed();
        let id = net.id_of(3);
        let t0 = net.now;
        net.command(3, Command::Unregister { id });
        assert!(!net.nodes[3].cloud_in_use());
        assert_eq!(net.nodes[3].cloud_cleanup_at(), Some(t0 + CLEANUP));
        // Until the timer fires the cloud carries on: it keeps its cache and answers.
        net.run_for(Duration::from_secs(15 * 60 - 1));
        assert!(!net.nodes[3].cloud_closed());
        assert!(net.nodes[3].cache_len() > 0);
        let sent_before = net.nodes[3].stats().sent;
        net.run_for(Duration::from_secs(2));
        let n = &net.nodes[3];
        assert!(n.cloud_closed());
        assert_eq!(n.stats().cloud_closes, 1);
        assert_eq!(n.cache_len(), 0);
        assert!(n.is_idle());
        assert_eq!(n.poll_timeout(), None, "no timer survives the cleanup");
        // Closing sends nothing: the revokes went out at the unregistration.
        assert_eq!(n.stats().sent, sent_before);
    }

    #[test]
    fn a_closed_cloud_drops_every_datagram() {
        let mut net = cleaned_up();
        // Node 1 resolves a name: its walk may send to node 3, which no longer listens.
        let before = cloud_closed_drops(&net);
        let r = net.resolve(1, 3);
        net.run_for(Duration::from_secs(10));
        assert!(net.resolve_result(1, r).is_some());
        let sent = net.nodes[3].stats().sent;
        let inquire = Inquire {
            message_id: 7,
            flags: InquireFlags {
                cpa: true,
                extended_payload: false,
                cert_chain: false,
            },
            validate_id: net.nodes[0].registered_ids().next().expect("registered"),
            nonce: None,
        };
        net.nodes[3].handle_message(net.now, endpoint(1), Message::from(inquire));
        assert!(cloud_closed_drops(&net) > before);
        assert_eq!(net.nodes[3].stats().sent, sent);
    }

    #[test]
    fn a_resolve_holds_the_cloud_and_a_use_during_the_wait_stops_the_timer() {
        let mut net = settled_then_closed();
        let id = net.id_of(3);
        net.command(3, Command::Unregister { id });
        assert!(net.nodes[3].cloud_cleanup_at().is_some());
        net.run_for(Duration::from_secs(60));
        let r = net.resolve(3, 1);
        assert!(net.nodes[3].cloud_in_use(), "a running resolve is a use");
        assert_eq!(net.nodes[3].cloud_cleanup_at(), None);
        net.run_for(Duration::from_secs(10));
        assert!(matches!(net.resolve_result(3, r), Some(Ok(_))));
        // The resolve ended: the timer starts again from its end, not from the unregistration.
        let at = net.nodes[3].cloud_cleanup_at().expect("timer restarted");
        assert!(at + Duration::from_secs(11) > net.now + CLEANUP);
    }

    #[test]
    fn a_use_after_the_cleanup_bootstraps_again() {
        let mut net = cleaned_up();
        let solicits = solicits_sent(&net, 3);
        // A resolve on the closed cloud reopens it; nothing is known yet.
        let r = net.resolve(3, 1);
        assert!(!net.nodes[3].cloud_closed());
        assert_eq!(net.nodes[3].stats().cloud_reopens, 1);
        assert_eq!(
            net.resolve_result(3, r),
            Some(&Err(ResolveError::NotSynchronized))
        );
        net.run_for(Duration::from_secs(5));
        assert!(solicits_sent(&net, 3) > solicits, "discovery ran again");
        assert!(net.nodes[3].cache_len() > 0);
        // Registering works as on a fresh node; the registration keeps the cloud open.
        let reg = net.register(3);
        net.run_for(Duration::from_secs(20));
        assert!(net
            .events
            .iter()
            .any(|(n, e)| *n == 3 && matches!(e, Event::Registered { request, .. } if *request == reg)));
        assert!(net.nodes[3].cloud_in_use());
        let r = net.resolve(1, 3);
        net.run_for(Duration::from_secs(10));
        assert!(matches!(net.resolve_result(1, r), Some(Ok(_))));
    }

    #[test]
    fn open_cloud_reopens_and_holds_it() {
        let mut net = cleaned_up();
        net.command(3, Command::OpenCloud);
        assert!(net.nodes[3].cloud_in_use());
        net.run_for(CLEANUP + CLEANUP);
        assert!(!net.nodes[3].cloud_closed());
        assert!(net.nodes[3].cache_len() > 0);
    }
}
