//! The hosted cache: takes offers (MS-PCHC), pulls offered blocks from clients as a PCCRR client,
//! and serves everyone as a PCCRR server (MS-PCHC §3.1).

use super::cache::{SegmentCache, SegmentMeta};
use super::config::DistConfig;
use super::content::V2_SEGMENT_MAX;
use super::crypt;
use super::hash::SegmentId;
use super::message::DistMessage;
use super::pccrr::{ranges_of, BlockRange, CryptoAlgo, PccrrBody, PccrrMessage, ProtoVersion, RANGES_MAX};
use super::pchc::{PchcBody, PchcMessage, ResponseCode};
use super::serve::{Responder, ServeStats};
use crate::{Endpoint, Instant, Node, NodeRng, RequestId, Transmit};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// Most pulls (one per offering client and segment) the hosted cache runs at once (\[SIM\], a peerlab bound).
pub const PULLS_MAX: usize = 256;

/// What an operator asks the hosted cache to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostedCommand {
    /// Drop every cached segment.
    Flush,
}

/// What the hosted cache reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostedEvent {
    /// A command completed.
    Done {
        /// The command's id.
        request: RequestId,
    },
    /// A pull finished: the segment's offered blocks are now served from here.
    SegmentStored {
        /// The segment.
        segment: SegmentId,
        /// Units held after the pull.
        units: u32,
        /// The client pulled from.
        from: Endpoint,
    },
}

/// Hosted-cache counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HostedStats {
    /// Offers received (INITIAL_OFFER and BATCHED_OFFER segments).
    pub offers: u64,
    /// INTERESTED answers.
    pub interested: u64,
    /// SEGMENT_INFO messages accepted.
    pub segment_infos: u64,
    /// Blocks pulled and verified.
    pub blocks_pulled: u64,
    /// Plaintext bytes pulled.
    pub bytes_pulled: u64,
    /// Pulls abandoned (timeout, empty answer, bad data, bound).
    pub pull_failures: u64,
    /// Messages dropped as malformed or unexpected.
    pub dropped: u64,
}

#[derive(Debug)]
struct Pull {
    meta: Arc<SegmentMeta>,
    queue: VecDeque<u32>,
    listing: bool,
    xid: u64,
}

/// The hosted cache server as a sans-IO node (MS-PCHC §3.1).
#[derive(Debug)]
pub struct HostedCache {
    cfg: DistConfig,
    me: Endpoint,
    rng: NodeRng,
    cache: SegmentCache,
    responder: Responder,
    pulls: BTreeMap<(Endpoint, SegmentId), Pull>,
    timers: BTreeMap<(Instant, u64), ((Endpoint, SegmentId), u64)>,
    next_id: u64,
    transmits: VecDeque<Transmit<DistMessage>>,
    events: VecDeque<HostedEvent>,
    /// Counters.
    pub stats: HostedStats,
}

impl HostedCache {
    /// A hosted cache at `me`.
    pub fn new(me: Endpoint, cfg: DistConfig, rng: NodeRng) -> Self {
        let cache = SegmentCache::new(cfg.cache_size_max_bytes, cfg.cache_age_max);
        let responder = Responder::new(
            cfg.hosted_uploads_max,
            cfg.upload_rate_bytes_per_sec,
            cfg.upload_timer,
            cfg.crypto,
            2,
        );
        HostedCache {
            cfg,
            me,
            rng,
            cache,
            responder,
            pulls: BTreeMap::new(),
            timers: BTreeMap::new(),
            next_id: 0,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            stats: HostedStats::default(),
        }
    }
    /// This cache's endpoint.
    pub fn endpoint(&self) -> Endpoint {
        self.me
    }
    /// Server-role counters.
    pub fn serve_stats(&self) -> ServeStats {
        self.responder.stats
    }
    /// Bytes of verified data held.
    pub fn cache_bytes(&self) -> u64 {
        self.cache.bytes()
    }

    fn send(&mut self, to: Endpoint, msg: DistMessage) {
        self.transmits.push_back(Transmit { to, msg });
    }

    fn request(&mut self, now: Instant, key: (Endpoint, SegmentId), body: PccrrBody) {
        self.next_id += 1;
        let xid = self.next_id;
        if let Some(p) = self.pulls.get_mut(&key) {
            p.xid = xid;
        }
        self.timers
            .insert((now + self.cfg.request_timer, xid), (key, xid));
        // Without Kp the pulled block could not be decrypted: ask in the clear (MS-PCHC §3.1.5.3).
        let keyed = self.pulls.get(&key).is_none_or(|p| p.meta.keyed);
        let msg = PccrrMessage {
            version: ProtoVersion::V1_0,
            crypto: if keyed { self.cfg.crypto } else { CryptoAlgo::None },
            body,
        };
        self.send(key.0, DistMessage::Pccrr(Arc::new(msg)));
    }

    /// Starts pulling the blocks this cache lacks from the offering client (MS-PCHC §3.1.5).
    fn start_pull(&mut self, now: Instant, client: Endpoint, meta: Arc<SegmentMeta>) {
        let key = (client, meta.id);
        if self.pulls.contains_key(&key) || self.cache.held(&meta.id, now).is_some_and(|h| h.1) {
            return;
        }
        if self.pulls.len() >= PULLS_MAX {
            self.stats.pull_failures += 1;
            return;
        }
        let missing: Vec<u32> = meta
            .desc
            .listed_units()
            .filter(|u| {
                self.cache
                    .peek(&meta.id, now)
                    .is_none_or(|s| !s.units.contains_key(u))
            })
            .collect();
        let ranges = ranges_of(missing);
        self.pulls.insert(
            key,
            Pull {
                meta: meta.clone(),
                queue: VecDeque::new(),
                listing: true,
                xid: 0,
            },
        );
        self.request(
            now,
            key,
            PccrrBody::GetBlkList {
                segment: meta.id,
                ranges,
            },
        );
    }

    fn next_block(&mut self, now: Instant, key: (Endpoint, SegmentId)) {
        let Some(p) = self.pulls.get_mut(&key) else { return };
        match p.queue.pop_front() {
            Some(b) => {
                let body = PccrrBody::GetBlks {
                    segment: key.1,
                    range: BlockRange { index: b, count: 1 },
                };
                self.request(now, key, body);
            }
            None => {
                let units = self.cache.held(&key.1, now).map_or(0, |h| h.0);
                self.pulls.remove(&key);
                self.events.push_back(HostedEvent::SegmentStored {
                    segment: key.1,
                    units,
                    from: key.0,
                });
            }
        }
    }

    fn fail_pull(&mut self, key: (Endpoint, SegmentId)) {
        if self.pulls.remove(&key).is_some() {
            self.stats.pull_failures += 1;
        }
    }

    fn on_pchc(&mut self, now: Instant, from: Endpoint, port: u16, body: &PchcBody) {
        let client = Endpoint::new(from.addr, port);
        let code = match body {
            PchcBody::InitialOffer { segment } => {
                self.stats.offers += 1;
                match self.cache.peek(segment, now).map(|s| s.meta.clone()) {
                    Some(meta) => {
                        self.start_pull(now, client, meta);
                        ResponseCode::Ok
                    }
                    None => {
                        self.stats.interested += 1;
                        ResponseCode::Interested
                    }
                }
            }
            PchcBody::SegmentInfo { info, .. } => {
                let Some(desc) = info.segments.first() else {
                    return self.stats.dropped += 1;
                };
                // MS-PCCRC §2.2: block hashes must match HoD before anything is stored or pulled.
                if !desc.hashes_consistent(info.algo()) {
                    return self.stats.dropped += 1;
                }
                self.stats.segment_infos += 1;
                let meta = SegmentMeta::new(info.algo(), desc.clone());
                self.cache.ensure(&meta, now);
                self.start_pull(now, client, meta);
                ResponseCode::Ok
            }
            PchcBody::BatchedOffer { segments } => {
                // MS-PCHC §2.2.2.2, §3.1.5.3: the answer to a BATCHED_OFFER MUST be OK, and the
                // hosted cache pulls every offered segment it lacks by its HoHoDk over PCCRR.
                // SEGMENT_INFO is a version 1.0 message (MS-PCHC §2.2.1.4), so for a segment it has never
                // seen the cache learns HoD from the pulled data itself (V2: one block per
                // segment, HoD = H(data)); fetching clients verify it against their own HoD.
                for s in segments {
                    self.stats.offers += 1;
                    let meta = match self.cache.peek(&s.segment, now).map(|c| c.meta.clone()) {
                        Some(meta) => meta,
                        // V2 layout only: one block per segment of at most 128 KiB (MS-PCCRC §2.4).
                        None if s.hash_algo == 4
                            && s.block_size == s.segment_size
                            && (1..=V2_SEGMENT_MAX).contains(&s.segment_size) =>
                        {
                            SegmentMeta::unkeyed_v2(s.segment, s.segment_size, Default::default())
                        }
                        None => {
                            self.stats.dropped += 1;
                            continue;
                        }
                    };
                    self.start_pull(now, client, meta);
                }
                ResponseCode::Ok
            }
        };
        self.send(from, DistMessage::Pchc(Arc::new(PchcMessage::Response(code))));
    }

    fn on_pccrr_response(&mut self, now: Instant, from: Endpoint, m: &PccrrMessage) {
        let segment = match &m.body {
            PccrrBody::BlkList { segment, .. } | PccrrBody::Blk { segment, .. } => *segment,
            _ => return self.stats.dropped += 1,
        };
        let key = (from, segment);
        let Some(p) = self.pulls.get_mut(&key) else {
            return self.stats.dropped += 1;
        };
        p.xid = 0; // answered: its timer no longer applies
        match &m.body {
            PccrrBody::BlkList { ranges, .. } if p.listing => {
                p.listing = false;
                // Only the listed blocks can be verified (MS-PCCRC §2.3.1.2).
                let l = p.meta.desc.listed_units();
                p.queue = ranges
                    .iter()
                    .take(RANGES_MAX)
                    .flat_map(|r| {
                        r.index.clamp(l.start, l.end)..r.index.saturating_add(r.count).clamp(l.start, l.end)
                    })
                    .collect();
                self.next_block(now, key);
            }
            PccrrBody::Blk {
                block_index,
                body: Some(body),
                iv,
                ..
            } if !p.listing => {
                let meta = p.meta.clone();
                let b = *block_index;
                let plain = if meta.keyed {
                    crypt::open(m.crypto, &meta.desc.kp, iv.as_ref(), body, meta.desc.unit_len(b))
                } else {
                    crypt::open(CryptoAlgo::None, &meta.desc.kp, None, body, meta.desc.unit_len(b))
                        .filter(|_| m.crypto == CryptoAlgo::None)
                };
                // An unkeyed V2 segment: HoD is the hash of the one block that arrived.
                let meta = match &plain {
                    Some(data) if !meta.keyed => {
                        SegmentMeta::unkeyed_v2(meta.id, meta.desc.len, data.digest(meta.algo))
                    }
                    _ => meta,
                };
                match plain {
                    Some(data) if self.cache.add(&meta, b, data.clone(), now) => {
                        self.stats.blocks_pulled += 1;
                        self.stats.bytes_pulled += data.len() as u64;
                        self.next_block(now, key);
                    }
                    _ => self.fail_pull(key),
                }
            }
            _ => self.fail_pull(key),
        }
    }
}

impl Node for HostedCache {
    type Message = DistMessage;
    type Command = HostedCommand;
    type Event = HostedEvent;

    fn handle_message(&mut self, now: Instant, from: Endpoint, msg: DistMessage) {
        match msg {
            DistMessage::Pchc(m) => match &*m {
                PchcMessage::Request { port, body, .. } => self.on_pchc(now, from, *port, body),
                PchcMessage::Response(_) => self.stats.dropped += 1,
            },
            DistMessage::Pccrr(m) if m.body.is_response() => self.on_pccrr_response(now, from, &m),
            DistMessage::Pccrr(m) => {
                if let Some(resp) = self.responder.handle(now, &mut self.cache, &mut self.rng, &m) {
                    self.send(from, DistMessage::Pccrr(Arc::new(resp)));
                }
            }
            _ => self.stats.dropped += 1,
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let (key, xid) = entry.remove();
            if self.pulls.get(&key).is_some_and(|p| p.xid == xid) {
                self.fail_pull(key);
            }
        }
    }

    fn handle_command(&mut self, _now: Instant, cmd: HostedCommand) -> RequestId {
        self.next_id += 1;
        let request = RequestId(self.next_id);
        match cmd {
            HostedCommand::Flush => {
                self.cache = SegmentCache::new(self.cfg.cache_size_max_bytes, self.cfg.cache_age_max);
                self.pulls.clear();
            }
        }
        self.events.push_back(HostedEvent::Done { request });
        request
    }

    fn poll_transmit(&mut self) -> Option<Transmit<DistMessage>> {
        self.transmits.pop_front()
    }

    fn poll_event(&mut self) -> Option<HostedEvent> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.timers.keys().next().map(|(at, _)| *at)
    }
}
