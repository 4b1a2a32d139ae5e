//! The PNRP node: state of one peer in the Global_ cloud (MS-PNRP §3.1.1) and the `Node` seam.
//!
//! The behaviour is split over sibling modules, each an `impl PnrpNode` block: `receive` (MS-PNRP §3.1.5.2),
//! `resolve` (MS-PNRP §3.1.4.4.2), `answer` (MS-PNRP §3.2.5.2, §3.2.5.6), `admit` (MS-PNRP §3.1.5.11,
//! §3.2.5.11), `flood` (MS-PNRP §3.1.5.5, §3.2.4.2), `sync` (MS-PNRP §3.1.4.2, §3.1.4.3), `register` (MS-PNRP
//! §3.2.4.1, §3.2.4.2, §3.1.7.1), `maintenance` (MS-PNRP §3.1.6.2/§3.2.6.2, §3.2.6.2.1).

use super::api::{Command, Event};
use super::cache::RouteCache;
use super::config::PnrpConfig;
use super::cpa::{AppEndpoint, Cpa};
use super::id::PnrpId;
use super::leafset::{LeafSet, LeafSetView, LeafWindow};
use super::message::{Message, RouteEntry};
use super::name::PeerName;
use super::pending::{PendingEntry, PendingList, Purpose};
use super::reassembly::Reassembly;
use super::resolve::ResolveState;
use super::small_map::{SmallMap, SmallSet};
use super::stats::PnrpStats;
use super::sync::{Conversation, Discovery};
use crate::crypto::Identity;
use crate::{Endpoint, Instant, Node, NodeRng, RequestId, Transmit};
use rand::{Rng, SeedableRng};
use std::collections::VecDeque;
use std::sync::Arc;

/// One locally registered ID (MS-PNRP §3.2.1).
#[derive(Clone, Debug)]
pub(super) struct LocalReg {
    pub(super) id: PnrpId,
    pub(super) name: PeerName,
    pub(super) identity: Arc<Identity>,
    pub(super) app_endpoints: Vec<AppEndpoint>,
    pub(super) friendly_name: Option<super::friendly::FriendlyName>,
    pub(super) leaf: LeafSet,
    pub(super) route: RouteEntry,
    /// The zero-nonce CPA, signed once and reused (MS-PNRP §3.2.1), with its signing time.
    pub(super) cpa_zero: Option<(Arc<Cpa>, Instant)>,
    pub(super) last_announce: Instant,
    /// The registration walk found an empty cache: walk as soon as the cache has an entry (MS-PNRP §3.2.4.1).
    pub(super) announce_pending: bool,
    /// The Register command whose `Registered` event waits for that deferred walk.
    pub(super) pending_request: Option<RequestId>,
    /// When the post-registration split test is due (`split_test_after_registration`).
    pub(super) join_check_at: Option<Instant>,
}

/// A route entry awaiting its return-routability INQUIRE (MS-PNRP §3.1.1 PendingRouteEntryAddList).
#[derive(Clone, Debug)]
pub(super) struct PendingAdd {
    pub(super) entry: RouteEntry,
    pub(super) need_cpa: bool,
    pub(super) nonce: [u8; 16],
    pub(super) msg_id: u32,
    pub(super) origin: Origin,
}

/// Where a route entry came from: for FLOODs its Already Flooded List, and whether the entry's
/// node already knows our entry (then MS-PNRP §3.2.5.11 sends it nothing).
#[derive(Clone, Debug, Default)]
pub(super) struct Origin {
    pub(super) already_flooded: Vec<Endpoint>,
    pub(super) knows_us: bool,
}

/// A PNRP node in one cloud: cache, leaf sets, pending requests, resolves, conversations, timers.
pub struct PnrpNode {
    pub(super) cfg: Arc<PnrpConfig>,
    pub(super) local: Endpoint,
    pub(super) seeds: Vec<Endpoint>,
    pub(super) rng: NodeRng,
    pub(super) next_msg_id: u32,
    pub(super) next_request: u64,
    pub(super) next_resolve: u64,
    pub(super) virtual_centre: PnrpId,
    pub(super) cache: RouteCache,
    /// Boxed: almost every node holds one registration, and the table's moves stay 40 bytes.
    pub(super) regs: SmallMap<PnrpId, Box<LocalReg>>,
    pub(super) pending: PendingList,
    // The small tables are sorted `Vec`s (small_map.rs): idle nodes hold no heap for them.
    pub(super) adds: SmallMap<PnrpId, PendingAdd>,
    pub(super) ort: SmallMap<u64, ResolveState>,
    pub(super) resolve_deadlines: SmallSet<(Instant, u64)>,
    pub(super) conversations: SmallMap<(Endpoint, [u8; 20]), Conversation>,
    pub(super) conversation_timers: SmallSet<(Instant, Endpoint, [u8; 20])>,
    pub(super) reassembly: Reassembly,
    pub(super) discovery: Discovery,
    pub(super) opened: bool,
    /// Set when the cache first admits another member (the cloud has synchronized, MS-PNRP §3.1.4.3).
    pub(super) synchronized: bool,
    pub(super) left: bool,
    pub(super) maintenance_at: Option<Instant>,
    pub(super) last_balancing: Option<Instant>,
    pub(super) balancing_round: u64,
    pub(super) maintenance_resolve: Option<u64>,
    pub(super) leaf_probe_cursor: usize,
    pub(super) last_liveness_probe: Option<Instant>,
    /// When the last maintenance tick ran (the grid elided ticks stay on; ticks.rs).
    pub(super) last_tick: Instant,
    /// The tick of the next split test (elided ticks draw it; ticks.rs).
    pub(super) split_due: Option<Instant>,
    /// The per-tick split-test probability `split_due` was drawn with.
    pub(super) split_p: f64,
    /// Earliest next cache-balancing check (elided ticks; ticks.rs).
    pub(super) balancing_next_check: Option<Instant>,
    /// The earliest timer, recomputed after every input so that `poll_timeout` is O(1).
    pub(super) next_wake: Option<Instant>,
    pub(super) transmits: VecDeque<Transmit<Message>>,
    pub(super) events: VecDeque<Event>,
    pub(super) stats: PnrpStats,
    /// With exactly one registration, a copy of its leaf set's window (`sync_leaf_window` keeps it
    /// in step): route entries outside it need no look at the registration.
    pub(super) leaf_window: Option<LeafWindow>,
    /// True when a registration may wait for a deferred walk (`LocalReg::announce_pending`): a
    /// flag on the node itself, so hot paths need not load every boxed registration to ask.
    pub(super) announces_deferred: bool,
    /// With `inquire_answers_per_source`, the answers given per source (boxed: off by default).
    pub(super) inquire_limiter: Option<Box<super::inquire_limit::InquireLimiter>>,
    /// Who uses the cloud and its Cloud Cleanup Timer (MS-PNRP §3.1.1, §3.1.2; lifecycle.rs).
    pub(super) life: super::lifecycle::CloudLife,
}

impl PnrpNode {
    /// Opens the Global_ cloud at `local` and starts discovery through `seeds` (MS-PNRP §3.1.4.2
    /// SeedServer/LocalOOB).
    ///
    /// Discovery runs at the first `handle_timeout`, which `poll_timeout` asks for at `now`, so the
    /// driver's drain rule picks up the first SOLICITs.
    pub fn new(
        config: Arc<PnrpConfig>,
        local: Endpoint,
        seeds: Vec<Endpoint>,
        rng_seed: [u8; 32],
        now: Instant,
    ) -> Self {
        let mut rng = NodeRng::from_seed(rng_seed);
        // MS-PNRP §2.2.1, peerlab choice: Message IDs from a per-node counter starting at a seeded random
        // value.
        let next_msg_id = rng.gen::<u32>();
        // MS-PNRP §3.2.1.1, peerlab choice: a node without registrations centres its cache on a random
        // virtual ID.
        let virtual_centre = PnrpId::new(rng.gen(), rng.gen());
        let cache = RouteCache::new(
            virtual_centre,
            config.cache_level_capacity,
            config.cache_levels_max,
        );
        let reassembly = Reassembly::new(config.reassembly_contexts_max, config.reassembly_bytes_max);
        let inquire_limiter = config
            .inquire_answers_per_source
            .map(|n| Box::new(super::inquire_limit::InquireLimiter::new(n)));
        PnrpNode {
            cfg: config,
            local,
            seeds,
            rng,
            next_msg_id,
            next_request: 1,
            next_resolve: 1,
            virtual_centre,
            cache,
            regs: SmallMap::new(),
            pending: PendingList::default(),
            adds: SmallMap::new(),
            ort: SmallMap::new(),
            resolve_deadlines: SmallSet::new(),
            conversations: SmallMap::new(),
            conversation_timers: SmallSet::new(),
            reassembly,
            discovery: Discovery::default(),
            opened: false,
            synchronized: false,
            left: false,
            maintenance_at: Some(now),
            last_balancing: None,
            balancing_round: 0,
            maintenance_resolve: None,
            leaf_probe_cursor: 0,
            last_liveness_probe: None,
            last_tick: now,
            split_due: None,
            split_p: 1.0,
            balancing_next_check: None,
            next_wake: Some(now),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            stats: PnrpStats::default(),
            announces_deferred: false,
            inquire_limiter,
            leaf_window: None,
            // The host's open: the one that made this node (MS-PNRP §3.1.4.1).
            life: super::lifecycle::CloudLife {
                host_open: true,
                ..Default::default()
            },
        }
    }

    /// The endpoint this node listens on.
    pub fn local_endpoint(&self) -> Endpoint {
        self.local
    }

    /// The locally registered PNRP IDs.
    pub fn registered_ids(&self) -> impl Iterator<Item = PnrpId> + '_ {
        self.regs.keys().copied()
    }

    /// The leaf set of a registered ID, nearest first.
    pub fn leaf_set(&self, id: PnrpId) -> Option<LeafSetView> {
        self.regs.get(&id).map(|r| r.leaf.view())
    }

    /// Entries per cache level, up to the deepest non-empty level.
    pub fn cache_level_sizes(&self) -> Vec<usize> {
        self.cache.level_sizes()
    }

    /// Entries per cache level, up to the deepest non-empty level, without allocating.
    pub fn cache_level_sizes_iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.cache.level_sizes_iter()
    }

    /// Number of cached route entries.
    pub fn cache_len(&self) -> usize {
        self.cache.len()
    }

    /// Every cached ID (for invariant checks).
    pub fn cache_ids(&self) -> impl Iterator<Item = PnrpId> + '_ {
        self.cache.ids()
    }

    /// The cached route entry for `id`, if any.
    pub fn cached_route(&self, id: PnrpId) -> Option<&RouteEntry> {
        self.cache.get(&id).map(|e| &e.route)
    }

    /// The node's counters.
    pub fn stats(&self) -> &PnrpStats {
        &self.stats
    }

    /// The configuration the node runs with.
    pub fn config(&self) -> &PnrpConfig {
        &self.cfg
    }

    /// Outstanding resolves, pending requests and pending cache adds (for bound checks).
    pub fn table_sizes(&self) -> (usize, usize, usize) {
        (self.ort.len(), self.pending.len(), self.adds.len())
    }

    /// Open reassembly contexts and the bytes they buffer (for bound checks).
    pub fn reassembly_usage(&self) -> (usize, usize) {
        (self.reassembly.len(), self.reassembly.bytes())
    }

    /// True when nothing is outstanding: no pending request, no resolve, no pending cache add.
    pub fn is_idle(&self) -> bool {
        self.pending.is_empty() && self.ort.is_empty() && self.adds.is_empty()
    }

    /// True after `Leave`.
    pub fn has_left(&self) -> bool {
        self.left
    }

    /// A fresh Message ID (MS-PNRP §2.2.1, peerlab choice: a wrapping per-node counter).
    pub(super) fn msg_id(&mut self) -> u32 {
        let id = self.next_msg_id;
        self.next_msg_id = self.next_msg_id.wrapping_add(1);
        id
    }

    /// Queues a datagram and counts it.
    pub(super) fn send(&mut self, to: Endpoint, msg: Message) {
        self.stats.sent(msg.kind(), msg.encoded_len());
        self.transmits.push_back(Transmit { to, msg });
    }

    /// Sends a request tracked by the Pending List (MS-PNRP §3.1.6.3); `None` when the list is full.
    pub(super) fn send_request(
        &mut self,
        now: Instant,
        to: Endpoint,
        msg: Message,
        purpose: Purpose,
    ) -> Option<u32> {
        if self.pending.len() >= self.cfg.pending_max {
            self.stats.drop("pending_full");
            return None;
        }
        let id = msg.message_id();
        let entry = PendingEntry {
            msg: msg.clone(),
            to,
            retries_left: self.cfg.retry_count,
            deadline: now + self.cfg.retransmit_interval,
            purpose,
        };
        self.pending.insert(id, entry);
        self.send(to, msg);
        Some(id)
    }

    /// A fresh RequestId.
    pub(super) fn request_id(&mut self) -> RequestId {
        let r = RequestId(self.next_request);
        self.next_request += 1;
        r
    }

    /// Re-copies the leaf-set window after a leaf set or the registrations changed.
    pub(super) fn sync_leaf_window(&mut self) {
        self.leaf_window = match self.regs.values().next() {
            Some(r) if self.regs.len() == 1 => Some(r.leaf.window()),
            _ => None,
        };
    }

    /// True when `id` is one of our registered IDs.
    pub(super) fn is_local_id(&self, id: &PnrpId) -> bool {
        self.regs.contains_key(id)
    }

    /// The cache centre we should have: the first registered ID, or the virtual centre (MS-PNRP §3.2.1.1).
    pub(super) fn wanted_centre(&self) -> PnrpId {
        self.regs.keys().next().copied().unwrap_or(self.virtual_centre)
    }

    /// Re-centres the cache when the registrations changed.
    pub(super) fn recentre(&mut self) {
        let c = self.wanted_centre();
        for _ in self.cache.recentre(c, &mut self.rng) {
            self.stats.evict("recentre");
        }
    }

    /// Runs every timer due at `now` (pending retransmissions, resolve deadlines, conversations, maintenance).
    fn run_timers(&mut self, now: Instant) {
        while let Some(id) = self.pending.due(now) {
            self.retransmit_or_fail(now, id);
        }
        while let Some(&(t, key)) = self.resolve_deadlines.first() {
            if t > now {
                break;
            }
            self.resolve_deadlines.remove(&(t, key));
            self.resolve_deadline(now, key);
        }
        while let Some(&(t, ep, h)) = self.conversation_timers.first() {
            if t > now {
                break;
            }
            self.conversation_timers.remove(&(t, ep, h));
            self.conversations.remove(&(ep, h));
        }
        if self.maintenance_at.is_some_and(|t| t <= now) {
            self.maintenance_tick(now);
        }
        self.cloud_cleanup_due(now);
    }

    /// MS-PNRP §3.1.6.3: resend while RetryCount allows, else drop the entry and run its failure action.
    fn retransmit_or_fail(&mut self, now: Instant, id: u32) {
        let Some(e) = self.pending.get(id) else { return };
        if e.retries_left > 1 {
            let deadline = now + self.cfg.retransmit_interval;
            if let Some(e) = self.pending.reschedule(id, deadline) {
                let (to, msg, kind) = (e.to, e.msg.clone(), e.msg.kind());
                let resolve = match e.purpose {
                    Purpose::Lookup { resolve } | Purpose::ResolveInquire { resolve, .. } => Some(resolve),
                    _ => None,
                };
                self.stats.retransmissions[kind.index()] += 1;
                if let Some(st) = resolve.and_then(|k| self.ort.get_mut(&k)) {
                    st.messages_sent += 1;
                }
                self.send(to, msg);
            }
            return;
        }
        if let Some(e) = self.pending.remove(id) {
            self.stats.timeouts[e.msg.kind().index()] += 1;
            self.request_failed(now, id, e);
        }
    }

    /// Type-specific failure actions (MS-PNRP §3.1.6.3).
    fn request_failed(&mut self, now: Instant, id: u32, e: PendingEntry) {
        match e.purpose {
            Purpose::Lookup { resolve } => {
                self.reassembly.purge_acked(id);
                self.lookup_timeout(now, resolve);
            }
            Purpose::ResolveInquire { resolve, .. } => {
                self.reassembly.purge_acked(id);
                self.final_inquire_timeout(now, resolve);
            }
            Purpose::AdmitInquire { id: cand } => {
                self.reassembly.purge_acked(id);
                if self.adds.get(&cand).is_some_and(|a| a.msg_id == id) {
                    // MS-PNRP §3.1.5.11: drop the candidate. (peerlab choice) a cached copy with the same
                    // endpoint is just as unreachable: evict it too.
                    if let Some(add) = self.adds.remove(&cand) {
                        if self.cache.get(&cand).is_some_and(|c| c.route == add.entry) {
                            self.drop_entry(now, cand, "inquire_timeout");
                        }
                    }
                }
            }
            // MS-PNRP §3.1.6.3: a failed SOLICIT releases the conversation (ours lives in the pending entry).
            Purpose::Solicit { .. } | Purpose::Request => {}
            // MS-PNRP §3.1.6.3: an unanswered D-clear FLOOD evicts its destination.
            Purpose::Flood { validate } => {
                if validate != PnrpId::ZERO {
                    self.drop_entry(now, validate, "flood_timeout");
                }
            }
        }
    }

    /// The leaf set of a registered ID as (below, above) member slices, nearest first: what
    /// `leaf_set` shows, without building a view (the simulator's per-input checks and samples).
    pub fn leaf_members(&self, id: PnrpId) -> Option<(&[RouteEntry], &[RouteEntry])> {
        use super::leafset::Side;
        self.regs
            .get(&id)
            .map(|r| (r.leaf.members(Side::Below), r.leaf.members(Side::Above)))
    }
}

impl Node for PnrpNode {
    type Message = Message;
    type Command = Command;
    type Event = Event;

    fn handle_message(&mut self, now: Instant, from: Endpoint, msg: Message) {
        self.receive(now, from, msg);
        self.update_next_wake(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.run_timers(now);
        self.update_next_wake(now);
    }

    fn handle_command(&mut self, now: Instant, cmd: Command) -> RequestId {
        let request = self.request_id();
        self.command(now, request, cmd);
        self.update_next_wake(now);
        request
    }

    fn poll_transmit(&mut self) -> Option<Transmit<Message>> {
        self.transmits.pop_front()
    }

    fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        debug_assert_eq!(self.next_wake, self.earliest_timer());
        self.next_wake
    }
}

impl PnrpNode {
    /// Timers only change inside the three `Node` inputs: remember the earliest after each.
    fn update_next_wake(&mut self, now: Instant) {
        self.release_empty_tables();
        self.update_cloud_cleanup(now);
        self.unelide_if_needed(now);
        self.next_wake = self.earliest_timer();
    }

    /// An emptied table keeps its capacity: at 20,000 peers the idle outstanding-resolve tables
    /// alone held 70 MB. Give empty tables' memory back after every input.
    fn release_empty_tables(&mut self) {
        self.ort.release_if_empty();
        self.adds.release_if_empty();
        self.conversations.release_if_empty();
        self.resolve_deadlines.release_if_empty();
        self.conversation_timers.release_if_empty();
        self.pending.release_if_empty();
    }

    /// The earliest of every timer (pending retransmissions, resolve deadlines, conversations, maintenance).
    fn earliest_timer(&self) -> Option<Instant> {
        // Plain comparisons: this runs after every input (an array iterator cost more than the tables).
        fn min(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
            match (a, b) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, None) => a,
                (None, b) => b,
            }
        }
        let t = min(self.pending.next_deadline(), self.maintenance_at);
        let t = min(t, self.resolve_deadlines.first().map(|(t, _)| *t));
        let t = min(t, self.life.cleanup_at);
        min(t, self.conversation_timers.first().map(|(t, _, _)| *t))
    }
}
