//! The branch peer: a BranchCache client that is also a serving peer (MS-PCCRR §3.1, §3.2; MS-CCRSO §6.5).
//!
//! This file holds the node, its timers and the `Node` interface; `fetch.rs` holds the fetch
//! lifecycle (origin, missing data), `offer.rs` the hosted-cache offers, `discovery.rs` PCCRD,
//! `session.rs` the per-segment downloads and `wait.rs` the cold start of a flash crowd.

use super::cache::{SegmentCache, SegmentMeta, ServerLists};
use super::config::DistConfig;
use super::content::InfoVersion;
use super::fetch::Fetch;
use super::hash::SegmentId;
use super::message::DistMessage;
use super::peer_api::{FetchError, PeerCommand, PeerEvent, PeerStats};
use super::serve::{Responder, ServeStats};
use super::session::{OutKey, Outstanding, SessKey, Session};
use crate::{Endpoint, Instant, Node, NodeRng, RequestId, Transmit};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// Timers as data (docs/architecture.md §3).
#[derive(Clone, Debug)]
pub(crate) enum Timer {
    Request {
        key: OutKey,
        xid: u64,
    },
    Download {
        key: SessKey,
        gen: u64,
    },
    Recheck {
        key: SessKey,
        xid: u64,
    },
    ProbeEnd {
        segment: SegmentId,
    },
    ProbeReply {
        to: Endpoint,
        msg: Arc<super::pccrd::ProbeMatch>,
    },
    Origin {
        tag: u64,
    },
    Offer {
        xid: u64,
    },
    Sweep,
}

#[derive(Debug)]
pub(crate) struct PendingOffer {
    pub xid: u64,
    pub meta: Arc<SegmentMeta>,
    pub info_sent: bool,
}

/// A BranchCache client and serving peer as a sans-IO node (MS-CCRSO §6.5, MS-PCCRD §3.2, MS-PCCRR §3.2).
#[derive(Debug)]
pub struct BranchPeer {
    pub(crate) cfg: DistConfig,
    pub(crate) me: Endpoint,
    pub(crate) hosted: Option<Endpoint>,
    pub(crate) rng: NodeRng,
    pub(crate) cache: SegmentCache,
    pub(crate) lists: ServerLists,
    pub(crate) responder: Responder,
    pub(crate) fetches: BTreeMap<RequestId, Fetch>,
    pub(crate) parked: Vec<(RequestId, u64, Endpoint, Instant)>,
    pub(crate) origin_tags: BTreeMap<u64, RequestId>,
    pub(crate) sessions: BTreeMap<SessKey, Session>,
    pub(crate) outstanding: BTreeMap<OutKey, Outstanding>,
    pub(crate) my_probes: BTreeMap<u128, (Instant, Vec<SegmentId>)>,
    pub(crate) probe_queue: Vec<(SegmentId, InfoVersion)>,
    pub(crate) probe_times: VecDeque<Instant>,
    pub(crate) offers: VecDeque<PendingOffer>,
    pub(crate) timers: BTreeMap<(Instant, u64), Timer>,
    pub(crate) next_id: u64,
    pub(crate) instance_id: u32,
    pub(crate) message_number: u32,
    pub(crate) endpoint_uuid: u128,
    pub(crate) transmits: VecDeque<Transmit<DistMessage>>,
    pub(crate) events: VecDeque<PeerEvent>,
    /// Counters.
    pub stats: PeerStats,
}

impl BranchPeer {
    /// A peer at `me`; `hosted` is the hosted cache for [`super::Mode::Hosted`]; `rng` is its seeded stream.
    pub fn new(me: Endpoint, cfg: DistConfig, hosted: Option<Endpoint>, mut rng: NodeRng) -> Self {
        use rand::RngCore;
        let cache = SegmentCache::new(cfg.cache_size_max_bytes, cfg.cache_age_max);
        let lists = ServerLists::new(
            cfg.server_lists_max,
            cfg.server_list_max,
            cfg.negative_lifetime,
            cfg.server_entry_lifetime,
        );
        let responder = Responder::new(
            cfg.uploads_max,
            cfg.upload_rate_bytes_per_sec,
            cfg.upload_timer,
            cfg.crypto,
            1,
        );
        let endpoint_uuid = (rng.next_u64() as u128) << 64 | rng.next_u64() as u128;
        let mut timers = BTreeMap::new();
        timers.insert((Instant::ZERO + cfg.cache_sweep_period, 0), Timer::Sweep);
        BranchPeer {
            instance_id: rng.next_u32(),
            cfg,
            me,
            hosted,
            rng,
            cache,
            lists,
            responder,
            fetches: BTreeMap::new(),
            parked: Vec::new(),
            origin_tags: BTreeMap::new(),
            sessions: BTreeMap::new(),
            outstanding: BTreeMap::new(),
            my_probes: BTreeMap::new(),
            probe_queue: Vec::new(),
            probe_times: VecDeque::new(),
            offers: VecDeque::new(),
            timers,
            next_id: 1,
            message_number: 0,
            endpoint_uuid,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            stats: PeerStats::default(),
        }
    }
    /// This peer's endpoint (PCCRR listener and probe source).
    pub fn endpoint(&self) -> Endpoint {
        self.me
    }
    /// Server-role counters (upload per peer).
    pub fn serve_stats(&self) -> ServeStats {
        self.responder.stats
    }
    /// Segments in the local cache and server lists held (cache occupancy metrics, docs/metrics.md).
    pub fn cache_counts(&self) -> (usize, usize) {
        (self.cache.len(), self.lists.len())
    }
    /// Bytes of verified data in the local cache.
    pub fn cache_bytes(&self) -> u64 {
        self.cache.bytes()
    }
    /// The segment IDs of one of this peer's outstanding probes (the decode context of a V2
    /// ProbeMatch, see [`DistMessage::decode`]).
    pub fn probed_segments(&self, message_id: u128) -> Option<Vec<SegmentId>> {
        self.my_probes.get(&message_id).map(|(_, ids)| ids.clone())
    }
    /// Turns this peer into the `corrupt-blocks` attacker of scenarios/README.md (it still answers probes).
    pub fn set_corrupt(&mut self, corrupt: bool) {
        self.responder.corrupt = corrupt;
    }

    pub(crate) fn fresh_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
    pub(crate) fn arm(&mut self, at: Instant, t: Timer) {
        let seq = self.fresh_id();
        self.timers.insert((at, seq), t);
    }
    pub(crate) fn send(&mut self, to: Endpoint, msg: DistMessage) {
        self.transmits.push_back(Transmit { to, msg });
    }
    fn on_timer(&mut self, now: Instant, t: Timer) {
        match t {
            Timer::Request { key, xid } => self.on_request_timeout(now, key, xid),
            Timer::Download { key, gen } => {
                if self.sessions.get(&key).is_some_and(|s| s.gen == gen) {
                    if self.wait_for_peers() {
                        self.on_give_up(now, key);
                    } else {
                        self.abort_session(now, key);
                    }
                }
            }
            Timer::Recheck { key, xid } => self.on_recheck(now, key, xid),
            Timer::ProbeEnd { segment } => self.on_probe_end(now, segment),
            Timer::ProbeReply { to, msg } => {
                self.stats.matches_sent += 1;
                self.send(to, DistMessage::ProbeMatch(msg));
            }
            Timer::Origin { tag } => {
                if let Some(fid) = self.origin_tags.remove(&tag) {
                    let content = self.fetches.get(&fid).map_or(0, |f| f.content);
                    self.fail(now, fid, FetchError::OriginTimeout { content });
                }
            }
            Timer::Offer { xid } => {
                if let Some(i) = self.offers.iter().position(|o| o.xid == xid) {
                    self.offers.remove(i);
                    self.stats.offer_timeouts += 1;
                }
            }
            Timer::Sweep => {
                self.cache.sweep(now);
                self.arm(now + self.cfg.cache_sweep_period, Timer::Sweep);
            }
        }
    }
}

impl BranchPeer {
    /// Decodes a framed datagram ([`DistMessage::decode`]) and handles it; one that does not
    /// decode is counted in `stats.malformed` and `stats.dropped` and otherwise ignored (MS-PCCRD
    /// §3.2.4.1: malformed messages are silently discarded). Reading is linear in its length.
    pub fn handle_datagram(&mut self, now: Instant, from: Endpoint, bytes: &[u8]) {
        let probes = &self.my_probes;
        match DistMessage::decode(bytes, |id| probes.get(&id).map(|p| p.1.clone())) {
            Ok(msg) => self.handle_message(now, from, msg),
            Err(_) => {
                self.stats.malformed += 1;
                self.stats.dropped += 1;
            }
        }
    }
}

impl Node for BranchPeer {
    type Message = DistMessage;
    type Command = PeerCommand;
    type Event = PeerEvent;

    fn handle_message(&mut self, now: Instant, from: Endpoint, msg: DistMessage) {
        match msg {
            DistMessage::Probe(p) => self.on_probe(now, from, &p),
            DistMessage::ProbeMatch(m) => self.on_probe_match(now, &m),
            DistMessage::Pccrr(m) if m.body.is_response() => self.on_pccrr_response(now, from, &m),
            DistMessage::Pccrr(m) => {
                if let Some(resp) = self.responder.handle(now, &mut self.cache, &mut self.rng, &m) {
                    self.send(from, DistMessage::Pccrr(Arc::new(resp)));
                }
            }
            DistMessage::Pchc(m) => self.on_pchc(now, from, &m),
            DistMessage::Origin(m) => self.on_origin(now, &m),
        }
        self.flush_probes(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let t = entry.remove();
            self.on_timer(now, t);
        }
        self.flush_probes(now);
    }

    fn handle_command(&mut self, now: Instant, cmd: PeerCommand) -> RequestId {
        let request = RequestId(self.fresh_id());
        match cmd {
            PeerCommand::Fetch { content, server } => {
                if self.fetches.len() + self.parked.len() >= self.cfg.fetches_max {
                    let error = FetchError::TooManyFetches {
                        limit: self.cfg.fetches_max,
                    };
                    self.events.push_back(PeerEvent::FetchFailed { request, error });
                } else {
                    self.start_fetch(now, request, content, server, now);
                }
            }
        }
        self.flush_probes(now);
        request
    }

    fn poll_transmit(&mut self) -> Option<Transmit<DistMessage>> {
        self.transmits.pop_front()
    }

    fn poll_event(&mut self) -> Option<PeerEvent> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.timers.keys().next().map(|(at, _)| *at)
    }
}
