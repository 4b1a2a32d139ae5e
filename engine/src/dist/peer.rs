//! The branch peer: a BranchCache client that is also a serving peer (distribution.md §1.1, §6).
//!
//! This file holds the node and the fetch lifecycle (origin, missing data); `offer.rs` holds the
//! hosted-cache offers, `discovery.rs` PCCRD and `session.rs` the per-segment downloads.

use super::cache::{SegmentCache, SegmentMeta, ServerLists};
use super::config::DistConfig;
use super::content::{ContentInfo, InfoVersion};
use super::hash::SegmentId;
use super::message::{DistMessage, OriginMessage};
use super::peer_api::{FetchError, PeerCommand, PeerEvent, PeerStats};
use super::serve::{Responder, ServeStats};
use super::session::{OutKey, Outstanding, SessKey, Session};
use crate::{Endpoint, Instant, Node, NodeRng, RequestId, Transmit};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

/// Timers as data (design.md §3).
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
pub(crate) struct Fetch {
    pub content: u64,
    pub server: Endpoint,
    pub started: Instant,
    pub first_byte: Option<Instant>,
    pub info: Option<Arc<ContentInfo>>,
    pub metas: Vec<Arc<SegmentMeta>>,
    pub next_seg: u32,
    pub running: BTreeSet<u32>,
    pub get_tag: u64,
    pub origin_ranges: BTreeMap<u64, (u32, u32, u32)>,
    pub from_peers: u64,
    pub from_server: u64,
    pub from_cache: u64,
    pub info_bytes: u64,
    pub corrupt: u32,
    pub excluded: BTreeSet<Endpoint>,
    pub timeouts: BTreeMap<Endpoint, u32>,
    pub offered: BTreeMap<u32, u32>,
}

#[derive(Debug)]
pub(crate) struct PendingOffer {
    pub xid: u64,
    pub meta: Arc<SegmentMeta>,
    pub info_sent: bool,
}

/// A BranchCache client and serving peer as a sans-IO node (§6, §4.4, §5.4).
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
    parked: Vec<(RequestId, u64, Endpoint, Instant)>,
    origin_tags: BTreeMap<u64, RequestId>,
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
    events: VecDeque<PeerEvent>,
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
    /// Segments in the local cache and server lists held (cache occupancy metrics, §12.5).
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
    /// Turns this peer into the corrupt-block attacker of §12.4 item 7 (it still answers probes).
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
    fn send_origin(&mut self, now: Instant, fid: RequestId, to: Endpoint, msg: OriginMessage, tag: u64) {
        self.origin_tags.insert(tag, fid);
        self.arm(now + self.cfg.origin_timer, Timer::Origin { tag });
        self.send(to, DistMessage::Origin(Arc::new(msg)));
    }

    fn start_fetch(
        &mut self,
        now: Instant,
        request: RequestId,
        content: u64,
        server: Endpoint,
        started: Instant,
    ) {
        if self.fetches.values().any(|f| f.content == content) {
            // One fetch per content at a time: a second one waits and then mostly hits the cache.
            return self.parked.push((request, content, server, started));
        }
        let tag = self.fresh_id();
        let fetch = Fetch {
            get_tag: tag,
            content,
            server,
            started,
            first_byte: None,
            info: None,
            metas: Vec::new(),
            next_seg: 0,
            running: BTreeSet::new(),
            origin_ranges: BTreeMap::new(),
            from_peers: 0,
            from_server: 0,
            from_cache: 0,
            info_bytes: 0,
            corrupt: 0,
            excluded: BTreeSet::new(),
            timeouts: BTreeMap::new(),
            offered: BTreeMap::new(),
        };
        self.fetches.insert(request, fetch);
        self.send_origin(now, request, server, OriginMessage::Get { tag, content }, tag);
    }

    pub(crate) fn fail(&mut self, now: Instant, fid: RequestId, error: FetchError) {
        self.drop_fetch(now, fid);
        self.events
            .push_back(PeerEvent::FetchFailed { request: fid, error });
    }

    fn drop_fetch(&mut self, now: Instant, fid: RequestId) {
        let Some(f) = self.fetches.remove(&fid) else {
            return;
        };
        self.origin_tags.retain(|_, r| *r != fid);
        let keys: Vec<SessKey> = self.sessions.keys().filter(|k| k.0 == fid).copied().collect();
        for k in keys {
            self.sessions.remove(&k);
        }
        self.outstanding.retain(|_, o| o.key.0 != fid);
        if let Some(i) = self.parked.iter().position(|p| p.1 == f.content) {
            let (r, c, s, t) = self.parked.remove(i);
            self.start_fetch(now, r, c, s, t);
        }
    }

    fn complete(&mut self, now: Instant, fid: RequestId, whole_body: bool, size: u64) {
        let Some(f) = self.fetches.get(&fid) else { return };
        let ev = PeerEvent::Fetched {
            request: fid,
            content: f.content,
            size,
            bytes_from_peers: f.from_peers,
            bytes_from_server: f.from_server,
            bytes_from_cache: f.from_cache,
            info_bytes: f.info_bytes,
            time_to_first_byte: f.first_byte.unwrap_or(now).saturating_since(f.started),
            elapsed: now.saturating_since(f.started),
            corrupt_blocks: f.corrupt,
            whole_body,
        };
        self.drop_fetch(now, fid);
        self.events.push_back(ev);
    }

    /// Starts segment sessions up to the parallel bound; completes the fetch when all are done.
    pub(crate) fn advance(&mut self, now: Instant, fid: RequestId) {
        loop {
            let Some(f) = self.fetches.get_mut(&fid) else {
                return;
            };
            if f.running.len() >= self.cfg.parallel_sessions.max(1) || f.next_seg as usize >= f.metas.len() {
                break;
            }
            let seg = f.next_seg;
            f.next_seg += 1;
            f.running.insert(seg);
            if self.start_session(now, fid, seg) {
                if let Some(f) = self.fetches.get_mut(&fid) {
                    f.running.remove(&seg);
                }
            }
        }
        let Some(f) = self.fetches.get(&fid) else { return };
        if f.running.is_empty() && f.next_seg as usize >= f.metas.len() {
            let size = f.info.as_ref().map_or(0, |i| i.span());
            self.complete(now, fid, false, size);
        }
    }

    pub(crate) fn segment_done(&mut self, now: Instant, fid: RequestId, seg: u32) {
        if let Some(f) = self.fetches.get_mut(&fid) {
            f.running.remove(&seg);
        }
        self.advance(now, fid);
    }

    /// Requests `missing` units of segment `seg` from the origin as Range GETs (§6 origin fallback).
    pub(crate) fn fetch_missing(&mut self, now: Instant, fid: RequestId, seg: u32, missing: Vec<u32>) {
        let Some(f) = self.fetches.get(&fid) else { return };
        let (server, content) = (f.server, f.content);
        let Some(meta) = f.metas.get(seg as usize).cloned() else {
            return;
        };
        let mut runs: Vec<(u32, u32)> = Vec::new();
        let cap = self.cfg.origin_range_max_bytes.max(meta.desc.block_size as u64);
        for u in missing {
            match runs.last_mut() {
                Some((first, count))
                    if *first + *count == u && (*count as u64 + 1) * meta.desc.block_size as u64 <= cap =>
                {
                    *count += 1
                }
                _ => runs.push((u, 1)),
            }
        }
        if runs.is_empty() {
            return self.segment_done(now, fid, seg);
        }
        for (first, count) in runs {
            let tag = self.fresh_id();
            if let Some(f) = self.fetches.get_mut(&fid) {
                f.origin_ranges.insert(tag, (seg, first, count));
            }
            self.stats.origin_ranges += 1;
            let msg = OriginMessage::GetRange {
                tag,
                content,
                segment: seg,
                first,
                count,
            };
            self.send_origin(now, fid, server, msg, tag);
        }
    }

    fn on_origin(&mut self, now: Instant, msg: &OriginMessage) {
        let tag = match msg {
            OriginMessage::Info { tag, .. }
            | OriginMessage::Body { tag, .. }
            | OriginMessage::Range { tag, .. }
            | OriginMessage::NotFound { tag, .. } => *tag,
            _ => return self.stats.dropped += 1,
        };
        let Some(fid) = self.origin_tags.remove(&tag) else {
            return self.stats.dropped += 1;
        };
        let Some(f) = self.fetches.get_mut(&fid) else {
            return;
        };
        let content = f.content;
        let expected = match msg {
            OriginMessage::Info { .. } | OriginMessage::Body { .. } => tag == f.get_tag && f.info.is_none(),
            OriginMessage::Range {
                segment,
                first,
                units,
                ..
            } => f.origin_ranges.get(&tag) == Some(&(*segment, *first, units.len() as u32)),
            _ => true,
        };
        if !expected {
            // Not the answer this tag waits for: drop it and keep waiting (the origin timer runs).
            self.origin_tags.insert(tag, fid);
            return self.stats.dropped += 1;
        }
        match msg {
            OriginMessage::Info { info, .. } => {
                let algo = info.algo();
                f.info_bytes += super::info_codec::encoded_len(info) as u64;
                f.metas = info
                    .segments
                    .iter()
                    .map(|d| SegmentMeta::new(algo, d.clone()))
                    .collect();
                f.info = Some(info.clone());
                self.advance(now, fid);
            }
            OriginMessage::Body { size, .. } => {
                f.from_server += size;
                f.first_byte.get_or_insert(now);
                self.complete(now, fid, true, *size);
            }
            OriginMessage::Range {
                segment,
                first,
                units,
                ..
            } => {
                f.origin_ranges.remove(&tag);
                let Some(meta) = f.metas.get(*segment as usize).cloned() else {
                    return;
                };
                for (i, unit) in units.iter().enumerate() {
                    let idx = first.saturating_add(i as u32);
                    if !self.cache.add(&meta, idx, unit.clone(), now) {
                        return self.fail(now, fid, FetchError::OriginCorrupt { content });
                    }
                    if let Some(f) = self.fetches.get_mut(&fid) {
                        f.from_server += unit.len() as u64;
                        f.first_byte.get_or_insert(now);
                    }
                }
                self.maybe_offer(now, fid, *segment, &meta);
                let pending = self
                    .fetches
                    .get(&fid)
                    .is_some_and(|f| f.origin_ranges.values().any(|s| s.0 == *segment));
                if !pending {
                    self.segment_done(now, fid, *segment);
                }
            }
            _ => self.fail(now, fid, FetchError::NotFound { content }),
        }
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
