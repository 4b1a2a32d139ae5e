//! The fetch lifecycle of the branch peer (MS-PCCRTP §3, MS-CCRSO §6.5): content information from
//! the origin, segment sessions up to the parallel bound, missing data as origin Range GETs, and
//! the completion event. `session.rs` runs the sessions, `discovery.rs` finds their peers.

use super::cache::SegmentMeta;
use super::content::ContentInfo;
use super::message::{DistMessage, OriginMessage};
use super::peer::{BranchPeer, Timer};
use super::peer_api::{FetchError, PeerEvent};
use super::session::SessKey;
use crate::{Endpoint, Instant, RequestId};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// One content fetch (a `Fetch` command) and what it has gathered so far.
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

impl BranchPeer {
    pub(crate) fn send_origin(
        &mut self,
        now: Instant,
        fid: RequestId,
        to: Endpoint,
        msg: OriginMessage,
        tag: u64,
    ) {
        self.origin_tags.insert(tag, fid);
        self.arm(now + self.cfg.origin_timer, Timer::Origin { tag });
        self.send(to, DistMessage::Origin(Arc::new(msg)));
    }

    pub(crate) fn start_fetch(
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
            // The bytes the content information describes: the whole span, or its content range.
            let size = f
                .info
                .as_ref()
                .map_or(0, |i| i.byte_range().end - i.byte_range().start);
            self.complete(now, fid, false, size);
        }
    }

    pub(crate) fn segment_done(&mut self, now: Instant, fid: RequestId, seg: u32) {
        if let Some(f) = self.fetches.get_mut(&fid) {
            f.running.remove(&seg);
        }
        self.advance(now, fid);
    }

    /// Requests `missing` units of segment `seg` from the origin as Range GETs (MS-CCRSO §6.5).
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

    pub(crate) fn on_origin(&mut self, now: Instant, msg: &OriginMessage) {
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
                // MS-PCCRC §2.2: a block is good when its hash is listed and the listed hashes
                // hash to the segment's HoD; content information whose block hashes do not is
                // corrupt, and nothing from it is fetched, cached or served. A partial list (a
                // content range, MS-PCCRC §2.3.1.2) cannot be checked against HoD, which covers
                // every block (MS-PCCRC §2.3.1.1): only its listed blocks are fetched, each
                // verified against its listed hash.
                if !info.segments.iter().all(|d| d.hashes_consistent(algo)) {
                    return self.fail(now, fid, FetchError::OriginCorrupt { content });
                }
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
}
