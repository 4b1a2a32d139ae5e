//! Segment retrieval sessions (the PCCRR client) of the branch peer: the client download
//! algorithm of MS-CCRSO §6.5.

use super::cache::{ListState, SegmentMeta};
use super::config::Mode;
use super::crypt;
use super::hash::SegmentId;
use super::message::DistMessage;
use super::negotiate::seglist_id;
use super::pccrr::{ranges_of, BlockRange, PccrrBody, PccrrMessage, ProtoVersion, RANGES_MAX};
use super::peer::{BranchPeer, Timer};
use crate::{Duration, Endpoint, Instant, RequestId};
use std::collections::BTreeSet;
use std::sync::Arc;

/// A segment session: (fetch, segment index).
pub(crate) type SessKey = (RequestId, u32);
/// An outstanding PCCRR exchange: at most one per (server, segment) (MS-CCRSO §6.5).
pub(crate) type OutKey = (Endpoint, SegmentId);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OutKind {
    List,
    Block(u32),
    /// MSG_GETSEGLIST to the hosted cache for a V2 segment (MS-PCCRR §3.1.4.4).
    SegList,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Outstanding {
    pub key: SessKey,
    pub kind: OutKind,
    pub xid: u64,
    /// The protocol version the request went out with; a request resent after a NEGO_RESP is not
    /// renegotiated again.
    pub version: ProtoVersion,
    pub renegotiated: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SrvStatus {
    Listing,
    Free,
    Busy,
    Complete,
}

#[derive(Clone, Debug)]
pub(crate) struct Srv {
    pub addr: Endpoint,
    /// Blocks it listed; `None` before its BLKLIST (or, in a simple download, "try it").
    pub ranges: Option<Vec<BlockRange>>,
    pub status: SrvStatus,
    list_failures: u32,
}

/// Per-segment download state (MS-CCRSO §6.5 "segment retrieval session").
#[derive(Clone, Debug)]
pub(crate) struct Session {
    pub meta: Arc<SegmentMeta>,
    /// Wanted blocks nobody is fetching (MS-CCRSO §6.5 Idle).
    idle: BTreeSet<u32>,
    /// Wanted blocks with a GETBLKS outstanding (MS-CCRSO §6.5 Downloading).
    downloading: BTreeSet<u32>,
    pub servers: Vec<Srv>,
    pub simple: bool,
    pub discovering: bool,
    pub gen: u64,
    pub replies: u32,
    pub full: u32,
    /// When the session started (bounds how long "still fetching" reports keep it waiting).
    pub started: Instant,
    /// Some peer listed, served or reported fetching this segment (\[CHOICE\], `cold_start`: only then
    /// is waiting worth it).
    pub holders_seen: bool,
    /// Delay before the next re-ask of the holders while waiting (\[CHOICE\], `cold_start`).
    pub backoff: Duration,
    /// The armed re-ask timer's id, if any.
    pub recheck: Option<u64>,
    /// When this session last probed.
    pub last_probe: Instant,
    /// The give-up timeout fired and a last probe runs: unless it finds a peer fetching the
    /// segment, the origin.
    pub last_chance: bool,
}

impl Session {
    /// Blocks not downloaded yet, ascending.
    pub(crate) fn wanted(&self) -> impl Iterator<Item = u32> + '_ {
        let mut v: Vec<u32> = self.idle.iter().chain(self.downloading.iter()).copied().collect();
        v.sort_unstable();
        v.into_iter()
    }
    /// True when no holder is known for this session.
    pub(crate) fn has_no_servers(&self) -> bool {
        self.servers.is_empty()
    }
}

impl BranchPeer {
    /// Session start (MS-CCRSO §6.5). Returns true when the local cache already held the whole
    /// segment (no session needed), so the caller's loop moves on without recursion.
    pub(crate) fn start_session(&mut self, now: Instant, fid: RequestId, seg: u32) -> bool {
        let Some(meta) = self
            .fetches
            .get(&fid)
            .and_then(|f| f.metas.get(seg as usize).cloned())
        else {
            return true;
        };
        self.cache.ensure(&meta, now);
        let mut blocks = BTreeSet::new();
        let mut cached = 0u64;
        // A partial block list (MS-PCCRC §2.3.1.2) limits the session to the listed blocks.
        for u in meta.desc.listed_units() {
            match self.cache.unit(&meta.id, u, now) {
                Some(d) => cached += d.len() as u64,
                None => {
                    blocks.insert(u);
                }
            }
        }
        if let Some(f) = self.fetches.get_mut(&fid) {
            f.from_cache += cached;
            if cached > 0 {
                f.first_byte.get_or_insert(now);
            }
        }
        if blocks.is_empty() {
            return true;
        }
        self.stats.sessions += 1;
        let first = *blocks.first().unwrap_or(&0);
        let simple = blocks.len() as u32 <= self.cfg.simple_download_max
            && blocks.iter().enumerate().all(|(i, b)| *b == first + i as u32);
        let key = (fid, seg);
        let id = meta.id;
        let v2 = meta.desc.block_hashes.is_empty();
        let s = Session {
            meta,
            idle: blocks,
            downloading: BTreeSet::new(),
            servers: Vec::new(),
            simple,
            discovering: false,
            gen: 0,
            replies: 0,
            full: 0,
            started: now,
            holders_seen: false,
            backoff: self.cfg.peer_wait_retry,
            recheck: None,
            last_probe: now,
            last_chance: false,
        };
        self.sessions.insert(key, s);
        self.rearm_download(now, key);
        match (self.cfg.mode, self.hosted) {
            (Mode::Local, _) | (Mode::Hosted, None) => self.abort_session(now, key),
            // A V2 client of a hosted cache asks which segments it holds with MSG_GETSEGLIST
            // (MS-PCCRR §3.1.4.4), then fetches each with MSG_GETBLKS; V1 lists blocks.
            (Mode::Hosted, Some(hc)) if v2 => self.send_seglist(now, key, hc, ProtoVersion::V2_0, false),
            (Mode::Hosted, Some(hc)) => self.add_server(now, key, hc),
            (Mode::Distributed, _) => match self.lists.state(&id, now) {
                ListState::Negative => {
                    self.stats.negative_hits += 1;
                    self.abort_session(now, key);
                }
                ListState::Servers(list) => {
                    for addr in list {
                        self.add_server(now, key, addr);
                    }
                    // Every listed holder may be excluded for this download: then go to the origin.
                    if self.sessions.get(&key).is_some_and(|s| s.servers.is_empty()) {
                        self.abort_session(now, key);
                    }
                }
                ListState::Probing => self.set_discovering(key),
                ListState::Unknown => {
                    if !self.probe_segment(now, key) {
                        self.abort_session(now, key);
                    }
                }
            },
        }
        false
    }

    pub(crate) fn set_discovering(&mut self, key: SessKey) {
        if let Some(s) = self.sessions.get_mut(&key) {
            s.discovering = true;
        }
    }

    /// (Re)starts the session's download timer: progress was made (MS-CCRSO §6.5 \[CHOICE\]). In wait mode
    /// it is the longer, jittered give-up timeout and the re-ask backoff starts over.
    pub(crate) fn rearm_download(&mut self, now: Instant, key: SessKey) {
        let gen = self.fresh_id();
        let wait = self.wait_for_peers().then(|| self.give_up_after());
        if let Some(s) = self.sessions.get_mut(&key) {
            s.gen = gen;
            s.backoff = self.cfg.peer_wait_retry;
        }
        let after = wait.unwrap_or(self.cfg.download_timer);
        self.arm(now + after, Timer::Download { key, gen });
    }

    /// Server discovered (MS-CCRSO §6.5): add it, then list its blocks or, for simple downloads, schedule.
    pub(crate) fn add_server(&mut self, now: Instant, key: SessKey, addr: Endpoint) {
        let excluded = self
            .fetches
            .get(&key.0)
            .is_some_and(|f| f.excluded.contains(&addr));
        let Some(s) = self.sessions.get_mut(&key) else {
            return;
        };
        if excluded || s.servers.iter().any(|x| x.addr == addr) || s.servers.len() >= self.cfg.responders_max
        {
            return;
        }
        if s.servers.is_empty() {
            self.stats.sessions_with_peers += 1;
        }
        let simple = s.simple;
        let status = if simple {
            SrvStatus::Free
        } else {
            SrvStatus::Listing
        };
        s.servers.push(Srv {
            addr,
            ranges: None,
            status,
            list_failures: 0,
        });
        if simple {
            self.schedule(now, key);
        } else {
            self.send_list(now, key, addr);
        }
    }

    fn request(&mut self, now: Instant, key: SessKey, addr: Endpoint, kind: OutKind, body: PccrrBody) {
        self.request_as(now, key, addr, kind, body, ProtoVersion::V1_0, false);
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn request_as(
        &mut self,
        now: Instant,
        key: SessKey,
        addr: Endpoint,
        kind: OutKind,
        body: PccrrBody,
        version: ProtoVersion,
        renegotiated: bool,
    ) {
        let Some(s) = self.sessions.get(&key) else { return };
        let okey = (addr, s.meta.id);
        let xid = self.fresh_id();
        let o = Outstanding {
            key,
            kind,
            xid,
            version,
            renegotiated,
        };
        self.outstanding.insert(okey, o);
        self.arm(now + self.cfg.request_timer, Timer::Request { key: okey, xid });
        let body = match body {
            PccrrBody::GetSegList { segments, blob, .. } => PccrrBody::GetSegList {
                request_id: seglist_id(xid),
                segments,
                blob,
            },
            other => other,
        };
        let msg = PccrrMessage {
            version,
            crypto: self.cfg.crypto,
            body,
        };
        self.send(addr, DistMessage::Pccrr(Arc::new(msg)));
    }

    pub(crate) fn send_list(&mut self, now: Instant, key: SessKey, addr: Endpoint) {
        let Some(s) = self.sessions.get(&key) else { return };
        self.stats.block_lists_sent += 1;
        let mut ranges = ranges_of(s.wanted());
        ranges.truncate(RANGES_MAX);
        let body = PccrrBody::GetBlkList {
            segment: s.meta.id,
            ranges,
        };
        self.request(now, key, addr, OutKind::List, body);
    }

    /// The schedule pass (MS-CCRSO §6.5). [CHOICE] A Complete server is reconsidered when blocks return
    /// to idle, since a failed transfer elsewhere may free a block it holds.
    pub(crate) fn schedule(&mut self, now: Instant, key: SessKey) {
        let Some(s) = self.sessions.get_mut(&key) else {
            return;
        };
        if s.idle.is_empty() && s.downloading.is_empty() {
            return self.finish_session(now, key);
        }
        let mut sends = Vec::new();
        for i in 0..s.servers.len() {
            if s.idle.is_empty() {
                break;
            }
            let srv = &s.servers[i];
            let candidate = matches!(srv.status, SrvStatus::Free | SrvStatus::Complete);
            if !candidate || self.outstanding.contains_key(&(srv.addr, s.meta.id)) {
                continue;
            }
            let pick = match &srv.ranges {
                None if s.simple => s.idle.first().copied(),
                None => None,
                Some(rs) => s.idle.iter().copied().find(|b| rs.iter().any(|r| r.contains(*b))),
            };
            match pick {
                Some(b) => {
                    s.idle.remove(&b);
                    s.downloading.insert(b);
                    s.servers[i].status = SrvStatus::Busy;
                    sends.push((s.servers[i].addr, b));
                }
                None => s.servers[i].status = SrvStatus::Complete,
            }
        }
        let id = s.meta.id;
        let stuck = sends.is_empty()
            && !s.discovering
            && s.downloading.is_empty()
            && s.servers.iter().all(|x| x.status == SrvStatus::Complete);
        for (addr, b) in sends {
            self.stats.blocks_requested += 1;
            let body = PccrrBody::GetBlks {
                segment: id,
                range: BlockRange { index: b, count: 1 },
            };
            self.request(now, key, addr, OutKind::Block(b), body);
        }
        if stuck {
            self.on_stuck(now, key);
        }
    }

    /// Removes a server from a session after a failure; a failed GETBLKS also drops it from the
    /// segment's server list (MS-CCRSO §6.5).
    pub(crate) fn drop_server(&mut self, key: SessKey, addr: Endpoint, from_list: bool) {
        if let Some(s) = self.sessions.get_mut(&key) {
            s.servers.retain(|x| x.addr != addr);
            if from_list {
                let id = s.meta.id;
                self.lists.remove(&id, &addr);
            }
        }
    }

    fn exclude(&mut self, fid: RequestId, addr: Endpoint) {
        if let Some(f) = self.fetches.get_mut(&fid) {
            if f.excluded.insert(addr) {
                self.stats.peers_excluded += 1;
            }
        }
    }

    /// Matches a PCCRR response to its outstanding request by (server, segment, block) (MS-PCCRR §3.1.5).
    pub(crate) fn on_pccrr_response(&mut self, now: Instant, from: Endpoint, m: &PccrrMessage) {
        let segment = match &m.body {
            PccrrBody::BlkList { segment, .. } | PccrrBody::Blk { segment, .. } => *segment,
            PccrrBody::NegoResp { min, max } => return self.on_nego_resp(now, from, *min, *max),
            PccrrBody::SegList {
                request_id, ranges, ..
            } => return self.on_seglist(now, from, request_id, ranges),
            _ => return self.stats.dropped += 1,
        };
        let Some(&o) = self.outstanding.get(&(from, segment)) else {
            return self.stats.dropped += 1;
        };
        match (&m.body, o.kind) {
            (PccrrBody::BlkList { ranges, .. }, OutKind::List) => {
                self.outstanding.remove(&(from, segment));
                if let Some(srv) = self
                    .sessions
                    .get_mut(&o.key)
                    .and_then(|s| s.servers.iter_mut().find(|x| x.addr == from))
                {
                    srv.status = if ranges.is_empty() {
                        SrvStatus::Complete
                    } else {
                        SrvStatus::Free
                    };
                    srv.ranges = Some(ranges.clone());
                }
                if !ranges.is_empty() {
                    self.saw_holder(o.key);
                }
                self.schedule(now, o.key);
            }
            (
                PccrrBody::Blk {
                    block_index,
                    body,
                    iv,
                    ..
                },
                OutKind::Block(b),
            ) if *block_index == b => {
                self.outstanding.remove(&(from, segment));
                let Some(meta) = self.sessions.get(&o.key).map(|s| s.meta.clone()) else {
                    return;
                };
                let plain = body.as_ref().and_then(|body| {
                    crypt::open(m.crypto, &meta.desc.kp, iv.as_ref(), body, meta.desc.unit_len(b))
                });
                match plain {
                    None if self.wait_for_peers() => {
                        // [CHOICE] (`cold_start`): a partial holder or a busy one; it is asked again later.
                        self.release_block(o);
                        self.set_nothing_now(o.key, from);
                    }
                    None => {
                        // Empty BLK ("don't have it" or busy): the block goes back to idle (MS-CCRSO §6.5).
                        self.release_block(o);
                        self.drop_server(o.key, from, true);
                    }
                    Some(data) if !self.cache.add(&meta, b, data.clone(), now) => {
                        self.stats.corrupt_blocks += 1;
                        if let Some(f) = self.fetches.get_mut(&o.key.0) {
                            f.corrupt += 1;
                        }
                        self.release_block(o);
                        self.drop_server(o.key, from, true);
                        // [SIM] (the specs are silent): a peer that sent bad data is excluded for the
                        // rest of this fetch, not only dropped from the segment's list.
                        self.exclude(o.key.0, from);
                    }
                    Some(data) => {
                        if let Some(f) = self.fetches.get_mut(&o.key.0) {
                            f.from_peers += data.len() as u64;
                            f.first_byte.get_or_insert(now);
                        }
                        self.saw_holder(o.key);
                        if let Some(s) = self.sessions.get_mut(&o.key) {
                            s.downloading.remove(&b);
                            if let Some(srv) = s.servers.iter_mut().find(|x| x.addr == from) {
                                srv.status = SrvStatus::Free;
                            }
                        }
                        self.rearm_download(now, o.key);
                    }
                }
                self.schedule(now, o.key);
            }
            _ => self.stats.dropped += 1,
        }
    }

    pub(crate) fn release_block(&mut self, o: Outstanding) {
        if let (OutKind::Block(b), Some(s)) = (o.kind, self.sessions.get_mut(&o.key)) {
            if s.downloading.remove(&b) {
                s.idle.insert(b);
            }
        }
    }

    /// Request timer expiry (MS-PCCRR §3.1.2): count it, exclude after `peer_timeouts_max`, retry lists.
    pub(crate) fn on_request_timeout(&mut self, now: Instant, okey: OutKey, xid: u64) {
        let Some(&o) = self.outstanding.get(&okey).filter(|o| o.xid == xid) else {
            return;
        };
        self.outstanding.remove(&okey);
        self.stats.request_timeouts += 1;
        let addr = okey.0;
        let limit = self.cfg.peer_timeouts_max.max(1);
        let count = self.fetches.get_mut(&o.key.0).map_or(limit, |f| {
            let c = f.timeouts.entry(addr).or_insert(0);
            *c += 1;
            *c
        });
        if count >= limit {
            self.exclude(o.key.0, addr);
        }
        self.release_block(o);
        match o.kind {
            OutKind::Block(_) => self.drop_server(o.key, addr, true),
            // The hosted cache did not answer which segments it holds: the origin.
            OutKind::SegList => return self.abort_session(now, o.key),
            OutKind::List => {
                let retry = self
                    .sessions
                    .get_mut(&o.key)
                    .and_then(|s| s.servers.iter_mut().find(|x| x.addr == addr))
                    .map(|srv| {
                        srv.list_failures += 1;
                        srv.list_failures < limit && count < limit
                    });
                match retry {
                    Some(true) => return self.send_list(now, o.key, addr),
                    _ => self.drop_server(o.key, addr, false),
                }
            }
        }
        self.schedule(now, o.key);
    }

    fn finish_session(&mut self, now: Instant, key: SessKey) {
        let Some(s) = self.sessions.remove(&key) else {
            return;
        };
        self.outstanding.retain(|_, o| o.key != key);
        self.cache.record_replies(&s.meta.id, s.replies, s.full);
        let missing: Vec<u32> = s.wanted().collect();
        self.fetch_missing(now, key.0, key.1, missing);
    }

    /// Ends a session early; whatever is not downloaded becomes missing data for the origin (MS-CCRSO §6.5).
    pub(crate) fn abort_session(&mut self, now: Instant, key: SessKey) {
        self.finish_session(now, key);
    }
}
