//! The segment cache shared by the client and server roles (MS-PCCRR §3.2.1; limits as Windows sets them) and the per-segment
//! server lists of discovery (MS-CCRSO §5.1, §6.5).

use super::content::{SegmentDesc, UnitData};
use super::hash::{Digest, HashAlgo, SegmentId};
use crate::{Duration, Endpoint, Instant};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What a node knows about one segment from content information (MS-PCCRC §2.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentMeta {
    /// Hash algorithm of the content information it came from.
    pub algo: HashAlgo,
    /// Layout, HoD, Kp and block hashes.
    pub desc: SegmentDesc,
    /// HoHoDk, recomputed by the receiver (MS-PCCRC §2.2).
    pub id: SegmentId,
    /// Whether Kp is known. A hosted cache that learned a V2 segment from a BATCHED_OFFER holds
    /// its data and HoD but no Kp (MS-PCHC §3.1.5.3), so it serves it unencrypted.
    pub keyed: bool,
}

impl SegmentMeta {
    /// Builds the meta, computing HoHoDk.
    pub fn new(algo: HashAlgo, desc: SegmentDesc) -> Arc<SegmentMeta> {
        let id = desc.id(algo);
        Arc::new(SegmentMeta {
            algo,
            desc,
            id,
            keyed: true,
        })
    }
    /// A V2 segment known only by its HoHoDk and, once its data arrived, HoD = H(data): what a
    /// hosted cache learns from a BATCHED_OFFER and the pull that follows (MS-PCHC §3.1.5.3).
    pub fn unkeyed_v2(id: SegmentId, len: u32, hod: Digest) -> Arc<SegmentMeta> {
        let desc = SegmentDesc {
            offset: 0,
            len,
            block_size: len,
            hod,
            kp: Digest::default(),
            block_hashes: Arc::from(Vec::new()),
            first_block: 0,
        };
        Arc::new(SegmentMeta {
            algo: HashAlgo::Sha512Trunc,
            desc,
            id,
            keyed: false,
        })
    }
    /// Verifies a unit against the content information (MS-PCCRC §2.2).
    pub fn verify(&self, unit: u32, data: &UnitData) -> bool {
        match self.desc.unit_hash(unit) {
            Some(h) => data.verify(self.algo, &h, self.desc.unit_len(unit)),
            None => false,
        }
    }
}

/// One cached segment: its meta and the verified units held.
#[derive(Clone, Debug)]
pub struct CachedSegment {
    /// Hashes and key.
    pub meta: Arc<SegmentMeta>,
    /// Verified units by index.
    pub units: BTreeMap<u32, UnitData>,
    /// When the segment entered the cache (age limit, as Windows has).
    pub inserted: Instant,
    /// ProbeMatches seen when this node discovered the segment (reply suppression, MS-PCCRD §3.2.4.1 \[W\]).
    pub replies_seen: u32,
    /// Of those, full-segment ones.
    pub full_replies_seen: u32,
    lru_key: (Instant, u64),
}

impl CachedSegment {
    /// True when every unit is held.
    pub fn complete(&self) -> bool {
        self.units.len() as u32 == self.meta.desc.unit_count()
    }
}

/// Cache counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Segments evicted for size.
    pub evicted_size: u64,
    /// Segments evicted for age.
    pub evicted_age: u64,
}

/// Verified segments with a byte limit, an age limit and least-recently-accessed eviction (as Windows does).
#[derive(Debug)]
pub struct SegmentCache {
    segs: BTreeMap<SegmentId, CachedSegment>,
    lru: BTreeMap<(Instant, u64), SegmentId>,
    tick: u64,
    bytes: u64,
    max_bytes: u64,
    max_age: Duration,
    /// Counters.
    pub stats: CacheStats,
}

impl SegmentCache {
    /// An empty cache bounded by `max_bytes` of unit data and `max_age` per segment.
    pub fn new(max_bytes: u64, max_age: Duration) -> Self {
        SegmentCache {
            segs: BTreeMap::new(),
            lru: BTreeMap::new(),
            tick: 0,
            bytes: 0,
            max_bytes,
            max_age,
            stats: CacheStats::default(),
        }
    }
    /// Bytes of unit data held.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
    /// Segments known.
    pub fn len(&self) -> usize {
        self.segs.len()
    }
    fn touch(&mut self, id: &SegmentId, now: Instant) {
        self.tick += 1;
        let key = (now, self.tick);
        if let Some(s) = self.segs.get_mut(id) {
            self.lru.remove(&s.lru_key);
            s.lru_key = key;
            self.lru.insert(key, *id);
        }
    }
    /// Records a segment's meta (from content information) if it is not known yet.
    pub fn ensure(&mut self, meta: &Arc<SegmentMeta>, now: Instant) {
        self.segs.entry(meta.id).or_insert_with(|| CachedSegment {
            meta: meta.clone(),
            units: BTreeMap::new(),
            inserted: now,
            replies_seen: 0,
            full_replies_seen: 0,
            lru_key: (now, 0),
        });
        self.touch(&meta.id, now);
    }
    /// A segment, unless absent or past its age limit; does not count as an access.
    pub fn peek(&self, id: &SegmentId, now: Instant) -> Option<&CachedSegment> {
        self.segs
            .get(id)
            .filter(|s| now.saturating_since(s.inserted) < self.max_age)
    }
    /// (ProbeMatches, full ones) seen when this node downloaded the segment (MS-PCCRD §3.2.4.1 \[W\]).
    pub fn peek_stats(&self, id: &SegmentId) -> (u32, u32) {
        self.segs
            .get(id)
            .map_or((0, 0), |s| (s.replies_seen, s.full_replies_seen))
    }
    /// Records the replies a download of the segment saw, for reply suppression (MS-PCCRD §3.2.4.1 \[W\]).
    pub fn record_replies(&mut self, id: &SegmentId, replies: u32, full: u32) {
        if let Some(s) = self.segs.get_mut(id) {
            s.replies_seen = s.replies_seen.max(replies);
            s.full_replies_seen = s.full_replies_seen.max(full);
        }
    }
    /// A held unit, counting as an access (LRU, as Windows does).
    pub fn unit(&mut self, id: &SegmentId, unit: u32, now: Instant) -> Option<UnitData> {
        let data = self.peek(id, now)?.units.get(&unit).cloned()?;
        self.touch(id, now);
        Some(data)
    }
    /// (units held, complete) for discovery answers (MS-PCCRD §3.2.4.1).
    pub fn held(&self, id: &SegmentId, now: Instant) -> Option<(u32, bool)> {
        self.peek(id, now)
            .filter(|s| !s.units.is_empty())
            .map(|s| (s.units.len() as u32, s.complete()))
    }
    /// Adds a unit the caller has verified (MS-PCCRC §2.2), then evicts least-recently-used other segments
    /// while over the size limit. Returns false (and stores nothing) for unverifiable data.
    pub fn add(&mut self, meta: &Arc<SegmentMeta>, unit: u32, data: UnitData, now: Instant) -> bool {
        if !meta.verify(unit, &data) {
            return false;
        }
        self.ensure(meta, now);
        let len = data.len() as u64;
        if let Some(s) = self.segs.get_mut(&meta.id) {
            if s.units.insert(unit, data).is_none() {
                self.bytes += len;
            }
        }
        while self.bytes > self.max_bytes {
            let victim = self.lru.values().copied().find(|v| *v != meta.id);
            match victim {
                Some(v) => {
                    self.remove(&v);
                    self.stats.evicted_size += 1;
                }
                None => break,
            }
        }
        true
    }
    fn remove(&mut self, id: &SegmentId) {
        if let Some(s) = self.segs.remove(id) {
            self.lru.remove(&s.lru_key);
            self.bytes -= s.units.values().map(|u| u.len() as u64).sum::<u64>();
        }
    }
    /// Drops segments past the age limit (as Windows does).
    pub fn sweep(&mut self, now: Instant) {
        let old: Vec<SegmentId> = self
            .segs
            .iter()
            .filter(|(_, s)| now.saturating_since(s.inserted) >= self.max_age)
            .map(|(id, _)| *id)
            .collect();
        for id in old {
            self.remove(&id);
            self.stats.evicted_age += 1;
        }
    }
}

/// A known holder of a segment (MS-CCRSO §5.1 server list entry).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerEntry {
    /// Its PCCRR endpoint (XAddrs).
    pub addr: Endpoint,
    /// When it was (last) reported.
    pub seen: Instant,
}

#[derive(Clone, Debug)]
struct ServerList {
    servers: Vec<ServerEntry>,
    created: Instant,
    last_used: Instant,
    probing_until: Option<Instant>,
}

/// What the discovery cache says about a segment (MS-CCRSO §6.5 session start).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListState {
    /// No list: probe.
    Unknown,
    /// A probe is outstanding: wait for its matches.
    Probing,
    /// Recent negative discovery: go to the origin.
    Negative,
    /// Known holders.
    Servers(Vec<Endpoint>),
}

/// Per-segment server lists: ≤ `lists_max` lists of ≤ `servers_max` entries, both LRU (MS-CCRSO §5.1).
#[derive(Debug)]
pub struct ServerLists {
    lists: BTreeMap<SegmentId, ServerList>,
    lists_max: usize,
    servers_max: usize,
    negative_lifetime: Duration,
    entry_lifetime: Duration,
}

impl ServerLists {
    /// Empty lists with the MS-CCRSO §5.1 bounds and lifetimes.
    pub fn new(
        lists_max: usize,
        servers_max: usize,
        negative_lifetime: Duration,
        entry_lifetime: Duration,
    ) -> Self {
        ServerLists {
            lists: BTreeMap::new(),
            lists_max,
            servers_max,
            negative_lifetime,
            entry_lifetime,
        }
    }
    /// Number of lists held.
    pub fn len(&self) -> usize {
        self.lists.len()
    }
    /// The segment's state, expiring stale entries and empty lists first.
    pub fn state(&mut self, id: &SegmentId, now: Instant) -> ListState {
        let Some(list) = self.lists.get_mut(id) else {
            return ListState::Unknown;
        };
        let life = self.entry_lifetime;
        list.servers.retain(|s| now.saturating_since(s.seen) < life);
        list.last_used = now;
        if list.probing_until.is_some_and(|t| now < t) {
            return ListState::Probing;
        }
        if !list.servers.is_empty() {
            return ListState::Servers(list.servers.iter().map(|s| s.addr).collect());
        }
        let empty_since = list.probing_until.unwrap_or(list.created);
        if now.saturating_since(empty_since) < self.negative_lifetime {
            ListState::Negative
        } else {
            self.lists.remove(id);
            ListState::Unknown
        }
    }
    /// Starts a discovery for `id`: creates its list (evicting the LRU list at the bound).
    pub fn start_probe(&mut self, id: SegmentId, now: Instant, until: Instant) {
        if !self.lists.contains_key(&id) && self.lists.len() >= self.lists_max {
            let lru = self
                .lists
                .iter()
                .min_by_key(|(k, l)| (l.last_used, **k))
                .map(|(k, _)| *k);
            if let Some(k) = lru {
                self.lists.remove(&k);
            }
        }
        let list = self.lists.entry(id).or_insert(ServerList {
            servers: Vec::new(),
            created: now,
            last_used: now,
            probing_until: None,
        });
        list.probing_until = Some(until);
        list.last_used = now;
    }
    /// Ends the probe window early or on time (the list keeps what arrived).
    pub fn end_probe(&mut self, id: &SegmentId, now: Instant) {
        if let Some(l) = self.lists.get_mut(id) {
            l.probing_until = Some(now);
        }
    }
    /// Records a holder; returns true when it is new. Evicts the least recently seen at the bound.
    pub fn add(&mut self, id: &SegmentId, addr: Endpoint, now: Instant) -> bool {
        let Some(list) = self.lists.get_mut(id) else {
            return false;
        };
        if let Some(s) = list.servers.iter_mut().find(|s| s.addr == addr) {
            s.seen = now;
            return false;
        }
        if list.servers.len() >= self.servers_max {
            if let Some(i) =
                (0..list.servers.len()).min_by_key(|&i| (list.servers[i].seen, list.servers[i].addr))
            {
                list.servers.remove(i);
            }
        }
        list.servers.push(ServerEntry { addr, seen: now });
        true
    }
    /// Removes a holder (failed GETBLKS, MS-CCRSO §6.5).
    pub fn remove(&mut self, id: &SegmentId, addr: &Endpoint) {
        if let Some(l) = self.lists.get_mut(id) {
            l.servers.retain(|s| s.addr != *addr);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::content::{compute_info, unit_data, ContentSpec, DataMode, InfoVersion};
    use std::net::Ipv6Addr;

    fn metas(id: u64, size: u64) -> (ContentSpec, Vec<Arc<SegmentMeta>>, crate::dist::ContentInfo) {
        let spec = ContentSpec { id, size };
        let info = compute_info(&spec, InfoVersion::V2, DataMode::Modeled, b"k");
        let m = info
            .segments
            .iter()
            .map(|d| SegmentMeta::new(info.algo(), d.clone()))
            .collect();
        (spec, m, info)
    }

    #[test]
    fn lru_size_and_age_limits() {
        let (spec, m, info) = metas(1, 4 * 65_536);
        let mut c = SegmentCache::new(2 * 65_536, Duration::from_secs(100));
        let t = |s: u64| Instant::from_micros(s * 1_000_000);
        let u = |i: usize| unit_data(&spec, &info, DataMode::Modeled, i, 0).expect("unit");
        assert!(c.add(&m[0], 0, u(0), t(1)));
        assert!(c.add(&m[1], 0, u(1), t(2)));
        assert!(!c.add(&m[2], 0, u(1), t(3)), "wrong data is refused");
        assert!(c.unit(&m[0].id, 0, t(4)).is_some()); // touch 0: 1 becomes LRU
        assert!(c.add(&m[2], 0, u(2), t(5)));
        assert_eq!(c.bytes(), 2 * 65_536);
        assert!(c.held(&m[1].id, t(5)).is_none());
        assert_eq!(c.held(&m[0].id, t(5)), Some((1, true)));
        assert_eq!(c.stats.evicted_size, 1);
        assert!(c.held(&m[0].id, t(101)).is_none(), "aged out");
        c.sweep(t(104));
        assert_eq!((c.len(), c.bytes()), (1, 65_536));
        c.sweep(t(106));
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn server_lists_lifetimes_and_bounds() {
        let ep = |i: u16| Endpoint::new(Ipv6Addr::LOCALHOST, i);
        let t = |ms: u64| Instant::from_micros(ms * 1_000);
        let mut l = ServerLists::new(2, 2, Duration::from_secs(15), Duration::from_secs(60));
        let a = crate::dist::Digest::from32([1; 32]);
        assert_eq!(l.state(&a, t(0)), ListState::Unknown);
        l.start_probe(a, t(0), t(300));
        assert_eq!(l.state(&a, t(100)), ListState::Probing);
        assert_eq!(l.state(&a, t(400)), ListState::Negative);
        assert_eq!(l.state(&a, t(15_400)), ListState::Unknown);
        l.start_probe(a, t(20_000), t(20_300));
        assert!(l.add(&a, ep(1), t(20_100)));
        assert!(!l.add(&a, ep(1), t(20_150)));
        l.add(&a, ep(2), t(20_200));
        l.add(&a, ep(3), t(20_250)); // evicts ep(1), the least recently seen
        assert_eq!(l.state(&a, t(21_000)), ListState::Servers(vec![ep(2), ep(3)]));
        l.remove(&a, &ep(2));
        assert_eq!(l.state(&a, t(80_220)), ListState::Servers(vec![ep(3)]));
        assert_eq!(
            l.state(&a, t(80_260)),
            ListState::Unknown,
            "entries expired long after the probe"
        );
        for i in 2..5u8 {
            l.start_probe(
                crate::dist::Digest::from32([i; 32]),
                t(90_000 + i as u64),
                t(90_300),
            );
        }
        assert_eq!(l.len(), 2);
    }

    proptest::proptest! {
        /// Whatever the order of adds and reads: byte count is exact and stays within the limit
        /// (except for the one segment being filled), and only verified units are kept.
        #[test]
        fn cache_bounds_hold(ops in proptest::collection::vec((0usize..12, 0u64..50, proptest::bool::ANY), 1..80)) {
            let (spec, m, info) = metas(3, 12 * 65_536);
            let max = 3 * 65_536;
            let mut c = SegmentCache::new(max, Duration::from_secs(20));
            for (seg, t, corrupt) in ops {
                let now = Instant::from_micros(t * 1_000_000);
                let unit = unit_data(&spec, &info, DataMode::Modeled, seg, 0).expect("unit");
                let unit = if corrupt { unit.corrupted() } else { unit };
                proptest::prop_assert_eq!(c.add(&m[seg], 0, unit, now), !corrupt);
                let held: u64 = c.segs.values().flat_map(|s| s.units.values()).map(|u| u.len() as u64).sum();
                proptest::prop_assert_eq!(held, c.bytes());
                proptest::prop_assert!(c.bytes() <= max);
                proptest::prop_assert_eq!(c.lru.len(), c.segs.len());
                c.sweep(now);
            }
        }
    }
}
