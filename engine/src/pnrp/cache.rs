//! The route-entry cache (MS-PNRP §3.2.1.1): a multi-level cache centred on a locally registered ID.
//!
//! Level of an entry x: `floor(log10(2^256 / d(centre, x)))`, clamped to `[0, levels − 1]` (MS-PNRP §3.2.1.1,
//! peerlab choice); computed with exact integer thresholds `⌊(2^256 − 1) / 10^k⌋`, so no floating point
//! decides membership. Each level holds `capacity` entries; a full level evicts a random unpinned
//! entry (MS-PNRP §3.2.1.1, Microsoft's PNRP patents). Leaf-set members are *pinned* and never evicted while
//! pinned (MS-PNRP §3.2.1.1 req. 2).
//! Entries are unique by ID (newer information replaces older) and indexed in ring order by a
//! sorted array, so nearest-neighbour queries are index walks, not scans (ring queries: cache_ring.rs).

use super::id::{Distance, PnrpId};
use super::message::RouteEntry;
use crate::crypto::PublicKey;
use crate::{Instant, NodeRng};
use levels::LevelLists;
use pinned::PinnedHeard;
use rand::Rng;

#[path = "cache_levels.rs"]
mod levels;
#[path = "cache_pinned.rs"]
mod pinned;
#[path = "cache_ring.rs"]
mod ring;

/// One cached route entry.
#[derive(Clone, Debug)]
pub struct CacheEntry {
    /// The route entry.
    pub route: RouteEntry,
    /// The key of the CPA validated when it was admitted (leaf-set admission), if any.
    pub key: Option<PublicKey>,
    /// When it was last admitted or confirmed alive (`confirm`).
    pub added: Instant,
    /// When it first entered the cache (kept when newer information replaces it).
    pub since: Instant,
    level: u8,
    slot: u32,
    pins: u8,
}

impl CacheEntry {
    /// The cache level it sits in.
    pub fn level(&self) -> usize {
        self.level as usize
    }
    /// True while it is in at least one leaf set.
    pub fn is_pinned(&self) -> bool {
        self.pins > 0
    }
}

/// What an insertion did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Insert {
    /// A new entry; `evicted` names the entry it displaced, if any.
    Added {
        /// The randomly evicted entry of the full level.
        evicted: Option<PnrpId>,
    },
    /// The ID was cached already; its information was replaced by the newer one.
    Replaced,
    /// The level is full of pinned entries and the new one is not pinned.
    Rejected,
}

/// The multi-level route cache.
#[derive(Clone, Debug)]
pub struct RouteCache {
    centre: PnrpId,
    capacity: usize,
    thresholds: std::sync::Arc<[Distance]>,
    // Entries in no particular order (removal is `swap_remove`): indices into it are what the
    // ring index and the level lists hold, so an entry never moves on insertion.
    slab: Vec<CacheEntry>,
    // The ring index: for the p-th smallest ID, `ring[p]` packs its top 32 bits (high half) with
    // its slab index (low half). Searches compare the dense prefixes and touch an entry only on a
    // prefix tie, and the slab index comes with the same cache line, so a lookup costs one sweep
    // over a few lines of `ring` and then the entry itself.
    ring: Vec<u64>,
    levels: LevelLists,
    // `added` of every pinned entry, mirrored for the maintenance tick's liveness questions.
    pinned: PinnedHeard,
}

/// The ring-index prefix of `id`: its top 32 bits (ties are settled by the whole ID).
fn prefix(id: &PnrpId) -> u64 {
    (id.hi >> 96) as u64
}

/// A ring-index element: `id`'s prefix and its slab index.
fn pack(id: &PnrpId, idx: u32) -> u64 {
    prefix(id) << 32 | idx as u64
}

/// The slab index of a ring-index element.
fn slab_index(packed: u64) -> usize {
    packed as u32 as usize
}

/// Up to this many entries a lookup counts smaller prefixes linearly: the loads are independent,
/// so their cache misses overlap, where a binary search would wait for each in turn.
const LINEAR_MAX: usize = 128;

/// Entries reserved at a cache's first insertion (a settled cache holds 40–80, see `reserve_initial`).
const INITIAL_ENTRIES: usize = 64;

/// `⌊(2^256 − 1) / 10^k⌋` for k = 1..levels (index k − 1), by long division in 64-bit limbs.
fn thresholds(levels: usize) -> Vec<Distance> {
    let mut limbs = [u64::MAX; 4]; // most significant first
    let mut out = Vec::with_capacity(levels.saturating_sub(1));
    for _ in 1..levels {
        let mut rem: u128 = 0;
        for limb in limbs.iter_mut() {
            let cur = (rem << 64) | *limb as u128;
            *limb = (cur / 10) as u64;
            rem = cur % 10;
        }
        let hi = ((limbs[0] as u128) << 64) | limbs[1] as u128;
        let lo = ((limbs[2] as u128) << 64) | limbs[3] as u128;
        out.push(Distance { hi, lo });
    }
    out
}

/// The thresholds for `levels`, computed once per process and shared by every cache (a run's
/// caches all use the same level count; others are computed on demand).
fn shared_thresholds(levels: usize) -> std::sync::Arc<[Distance]> {
    use std::sync::{Mutex, OnceLock};
    static SHARED: OnceLock<Mutex<Vec<std::sync::Arc<[Distance]>>>> = OnceLock::new();
    let cell = SHARED.get_or_init(|| Mutex::new(Vec::new()));
    let mut all = cell.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(t) = all.iter().find(|t| t.len() + 1 == levels) {
        return t.clone();
    }
    let t: std::sync::Arc<[Distance]> = thresholds(levels).into();
    all.push(t.clone());
    t
}

impl RouteCache {
    /// An empty cache centred on `centre` with `capacity` entries per level and `levels` levels.
    pub fn new(centre: PnrpId, capacity: usize, levels: usize) -> Self {
        let levels = levels.max(1);
        RouteCache {
            centre,
            capacity: capacity.max(1),
            thresholds: shared_thresholds(levels),
            slab: Vec::new(),
            ring: Vec::new(),
            levels: LevelLists::new(levels),
            pinned: PinnedHeard::default(),
        }
    }

    /// The centre every level is measured from.
    pub fn centre(&self) -> PnrpId {
        self.centre
    }

    /// Entries per level.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The level `id` belongs to: the number of thresholds `d(centre, id)` does not exceed.
    pub fn level_of(&self, id: PnrpId) -> usize {
        let d = self.centre.distance(id);
        // Thresholds decrease with k; count those with d ≤ T_k (binary search on a monotone predicate).
        self.thresholds.partition_point(|t| d <= *t)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.slab.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.slab.is_empty()
    }

    /// The ring index (one packed `u64` per entry, in ID order), for warming it (`PnrpNode::hot_regions`).
    pub(super) fn ring_index(&self) -> &[u64] {
        &self.ring
    }

    /// The entry at ring position `pos`.
    fn at(&self, pos: usize) -> &CacheEntry {
        &self.slab[slab_index(self.ring[pos])]
    }

    /// The first ring position whose ID is not below `id`.
    fn lower_bound(&self, id: &PnrpId) -> usize {
        let k = prefix(id);
        let ring = &self.ring;
        let lo = if ring.len() <= LINEAR_MAX {
            ring.iter().filter(|&&x| x >> 32 < k).count()
        } else {
            ring.partition_point(|&x| x >> 32 < k)
        };
        if lo == ring.len() || ring[lo] >> 32 != k {
            return lo;
        }
        // A prefix tie (usually a hit on `id` itself): order the tied run by the whole ID.
        let run = ring[lo..].partition_point(|&x| x >> 32 == k);
        lo + ring[lo..lo + run].partition_point(|&x| self.slab[slab_index(x)].route.id < *id)
    }

    /// The ring position of `id`, if cached.
    fn find(&self, id: &PnrpId) -> Option<usize> {
        let p = self.lower_bound(id);
        self.find_at(p, id).then_some(p)
    }

    /// True when ring position `p` (a lower bound) holds `id`.
    fn find_at(&self, p: usize, id: &PnrpId) -> bool {
        // The prefix check spares a miss on the entry when `id` is absent.
        p < self.ring.len() && self.ring[p] >> 32 == prefix(id) && self.at(p).route.id == *id
    }

    /// The first ring position whose ID is above `id`.
    fn upper_bound(&self, id: &PnrpId) -> usize {
        let p = self.lower_bound(id);
        p + self.find_at(p, id) as usize
    }

    /// When `id` was last admitted or confirmed (its entry's `added`), if cached. Fast for pinned
    /// (leaf-set) entries, which the maintenance tick asks about on every node every tick.
    pub fn heard(&self, id: &PnrpId) -> Option<Instant> {
        self.pinned.get(id).or_else(|| self.get(id).map(|e| e.added))
    }

    /// The entry for `id`.
    pub fn get(&self, id: &PnrpId) -> Option<&CacheEntry> {
        self.find(id).map(|p| self.at(p))
    }

    /// The entry for `id`, mutably.
    fn get_mut(&mut self, id: &PnrpId) -> Option<&mut CacheEntry> {
        let p = self.find(id)?;
        Some(&mut self.slab[slab_index(self.ring[p])])
    }

    /// True when `id` is cached.
    pub fn contains(&self, id: &PnrpId) -> bool {
        self.find(id).is_some()
    }

    /// All cached IDs in ring order.
    pub fn ids(&self) -> impl Iterator<Item = PnrpId> + '_ {
        self.entries().map(|e| e.route.id)
    }

    /// All entries in ring order.
    pub fn entries(&self) -> impl Iterator<Item = &CacheEntry> + '_ {
        self.ring.iter().map(|&x| &self.slab[slab_index(x)])
    }

    /// Entries per level, up to the deepest non-empty one.
    pub fn level_sizes(&self) -> Vec<usize> {
        self.level_sizes_iter().collect()
    }

    /// Entries per level, up to the deepest non-empty one, without allocating (the simulator's
    /// safety checks and samples ask on every few inputs).
    pub fn level_sizes_iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.levels.sizes().take(self.levels.depth())
    }

    /// The IDs in `level` (unordered).
    pub fn level_ids(&self, level: usize) -> impl Iterator<Item = PnrpId> + '_ {
        let ids = if level < self.levels.count() {
            self.levels.get(level)
        } else {
            &[]
        };
        ids.iter().map(|&i| self.slab[i as usize].route.id)
    }

    /// Number of levels.
    pub fn level_count(&self) -> usize {
        self.levels.count()
    }

    /// Adds or refreshes `route`. `pin` admits it even into a level full of pinned entries and pins it.
    pub fn insert(
        &mut self,
        route: RouteEntry,
        key: Option<PublicKey>,
        now: Instant,
        pin: bool,
        rng: &mut NodeRng,
    ) -> Insert {
        let id = route.id;
        let mut pos = self.lower_bound(&id);
        if self.find_at(pos, &id) {
            let e = &mut self.slab[slab_index(self.ring[pos])];
            // MS-PNRP §3.2.1.1, Microsoft's PNRP patents: newer information replaces older.
            e.route = route;
            if key.is_some() {
                e.key = key;
            }
            e.added = now;
            if pin {
                e.pins = e.pins.saturating_add(1);
            }
            if e.pins > 0 {
                self.pinned.set(id, now);
            }
            return Insert::Replaced;
        }
        let level = self.level_of(id);
        let mut evicted = None;
        if self.levels.len(level) >= self.capacity {
            match self.random_unpinned(level, rng) {
                Some(victim) => {
                    let vid = self.slab[victim as usize].route.id;
                    if let Some(vpos) = self.find(&vid) {
                        self.remove_at(vpos);
                        pos -= (vpos < pos) as usize;
                    }
                    evicted = Some(vid);
                }
                None if pin => {}
                None => return Insert::Rejected,
            }
        }
        if self.slab.capacity() == 0 {
            self.reserve_initial();
        }
        let idx = self.slab.len() as u32;
        let slot = self.levels.push(level, idx);
        self.slab.push(CacheEntry {
            route,
            key,
            added: now,
            since: now,
            level: level as u8,
            slot,
            pins: pin as u8,
        });
        self.ring.insert(pos, pack(&id, idx));
        if pin {
            self.pinned.set(id, now);
        }
        Insert::Added { evicted }
    }

    /// Sizes the storage for a typical full cache at the first insertion: a cache fills to a few
    /// dozen entries within minutes, and growing three arrays by doubling from empty costs about a
    /// dozen reallocations per node (2% of a 20k-peer run's time).
    #[cold]
    fn reserve_initial(&mut self) {
        self.slab.reserve_exact(INITIAL_ENTRIES);
        self.ring.reserve_exact(INITIAL_ENTRIES);
        self.levels.reserve(INITIAL_ENTRIES);
    }

    /// Records that `id`'s node answered as its holder at `now` (refreshes `added`).
    pub fn confirm(&mut self, id: &PnrpId, now: Instant) {
        if let Some(e) = self.get_mut(id) {
            e.added = e.added.max(now);
            if e.pins > 0 {
                let added = e.added;
                self.pinned.set(*id, added);
            }
        }
    }

    /// True when the level `id` would enter already holds `capacity` entries.
    pub fn is_full_at(&self, id: PnrpId) -> bool {
        self.levels.len(self.level_of(id)) >= self.capacity
    }

    /// The slab index of a random unpinned entry of `level`, if any.
    fn random_unpinned(&self, level: usize, rng: &mut NodeRng) -> Option<u32> {
        let ids = self.levels.get(level);
        if ids.is_empty() {
            return None;
        }
        // One draw, then the first unpinned one from there round the level's slot order.
        let start = rng.gen_range(0..ids.len());
        (0..ids.len())
            .map(|k| ids[(start + k) % ids.len()])
            .find(|&i| self.slab[i as usize].pins == 0)
    }

    /// Removes the entry at ring position `pos`.
    fn remove_at(&mut self, pos: usize) -> CacheEntry {
        let idx = slab_index(self.ring.remove(pos));
        let (level, slot) = (self.slab[idx].level as usize, self.slab[idx].slot);
        if self.slab[idx].pins > 0 {
            self.pinned.remove(&self.slab[idx].route.id);
        }
        if let Some(moved) = self.levels.swap_remove(level, slot) {
            self.slab[moved as usize].slot = slot;
        }
        // `swap_remove` moves the last entry into the hole: repoint its ring and level references.
        let last = self.slab.len() - 1;
        if idx != last {
            let (mid, mlevel, mslot) = {
                let m = &self.slab[last];
                (m.route.id, m.level as usize, m.slot)
            };
            if let Some(p) = self.find(&mid) {
                self.ring[p] = pack(&mid, idx as u32);
            }
            self.levels.set(mlevel, mslot, idx as u32);
        }
        self.slab.swap_remove(idx)
    }

    /// Removes `id`, returning its entry.
    pub fn remove(&mut self, id: &PnrpId) -> Option<CacheEntry> {
        let pos = self.find(id)?;
        Some(self.remove_at(pos))
    }

    /// Pins `id` (it entered a leaf set). Returns false when it is not cached.
    pub fn pin(&mut self, id: &PnrpId) -> bool {
        match self.get_mut(id) {
            Some(e) => {
                e.pins = e.pins.saturating_add(1);
                let added = e.added;
                self.pinned.set(*id, added);
                true
            }
            None => false,
        }
    }

    /// Unpins `id` (it left a leaf set); if its level is over capacity, evicts a random unpinned entry
    /// there, which is returned.
    pub fn unpin(&mut self, id: &PnrpId, rng: &mut NodeRng) -> Option<PnrpId> {
        let e = self.get_mut(id)?;
        e.pins = e.pins.saturating_sub(1);
        let level = e.level as usize;
        if e.pins == 0 {
            self.pinned.remove(id);
        }
        if self.levels.len(level) > self.capacity {
            let victim = self.random_unpinned(level, rng)?;
            let vid = self.slab[victim as usize].route.id;
            self.remove(&vid);
            return Some(vid);
        }
        None
    }

    /// Moves the centre (a registration came or went) and re-levels every entry; entries that no
    /// longer fit are evicted at random and returned.
    pub fn recentre(&mut self, centre: PnrpId, rng: &mut NodeRng) -> Vec<PnrpId> {
        if centre == self.centre {
            return Vec::new();
        }
        self.centre = centre;
        let mut old = std::mem::take(&mut self.slab);
        self.ring.clear();
        self.levels.clear();
        self.pinned.clear();
        // Re-inserted in ring order (IDs are unique, so the sort is deterministic).
        old.sort_unstable_by_key(|e| e.route.id);
        let mut evicted = Vec::new();
        // Pinned entries first so that they always find room.
        let (pinned, unpinned): (Vec<_>, Vec<_>) = old.into_iter().partition(|e| e.pins > 0);
        for e in pinned.into_iter().chain(unpinned) {
            let (pins, since) = (e.pins, e.since);
            let id = e.route.id;
            match self.insert(e.route, e.key, e.added, pins > 0, rng) {
                Insert::Added { evicted: Some(v) } => evicted.push(v),
                Insert::Rejected => evicted.push(id),
                _ => {}
            }
            if let Some(n) = self.get_mut(&id) {
                n.pins = pins;
                n.since = since;
            }
        }
        evicted
    }
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "cache_model_tests.rs"]
mod model_tests;
