//! The route-entry cache (pnrp.md §2.2): a multi-level cache centred on a locally registered ID.
//!
//! Level of an entry x: `floor(log10(2^256 / d(centre, x)))`, clamped to `[0, levels − 1]` (§2.2
//! [CHOICE]); computed with exact integer thresholds `⌊(2^256 − 1) / 10^k⌋`, so no floating point
//! decides membership. Each level holds `capacity` entries; a full level evicts a random unpinned
//! entry (§2.2 [PAT]). Leaf-set members are *pinned* and never evicted while pinned (§2.2 req. 2).
//! Entries are unique by ID (newer information replaces older) and kept in a `BTreeMap` by ID, so
//! nearest-neighbour queries are range walks, not scans.

use super::id::{Distance, PnrpId};
use super::message::RouteEntry;
use crate::crypto::PublicKey;
use crate::{Instant, NodeRng};
use rand::Rng;
use std::collections::BTreeMap;

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
    entries: BTreeMap<PnrpId, CacheEntry>,
    levels: Vec<Vec<PnrpId>>,
}

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
            entries: BTreeMap::new(),
            levels: vec![Vec::new(); levels],
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
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry for `id`.
    pub fn get(&self, id: &PnrpId) -> Option<&CacheEntry> {
        self.entries.get(id)
    }

    /// True when `id` is cached.
    pub fn contains(&self, id: &PnrpId) -> bool {
        self.entries.contains_key(id)
    }

    /// All cached IDs in ring order.
    pub fn ids(&self) -> impl Iterator<Item = PnrpId> + '_ {
        self.entries.keys().copied()
    }

    /// All entries in ring order.
    pub fn entries(&self) -> impl Iterator<Item = &CacheEntry> + '_ {
        self.entries.values()
    }

    /// Entries per level, up to the deepest non-empty one.
    pub fn level_sizes(&self) -> Vec<usize> {
        let deepest = self
            .levels
            .iter()
            .rposition(|l| !l.is_empty())
            .map_or(0, |i| i + 1);
        self.levels[..deepest].iter().map(Vec::len).collect()
    }

    /// The IDs in `level` (unordered).
    pub fn level_ids(&self, level: usize) -> &[PnrpId] {
        self.levels.get(level).map_or(&[], Vec::as_slice)
    }

    /// Number of levels.
    pub fn level_count(&self) -> usize {
        self.levels.len()
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
        if let Some(e) = self.entries.get_mut(&id) {
            // §2.2 [PAT]: newer information replaces older.
            e.route = route;
            if key.is_some() {
                e.key = key;
            }
            e.added = now;
            if pin {
                e.pins = e.pins.saturating_add(1);
            }
            return Insert::Replaced;
        }
        let level = self.level_of(id);
        let mut evicted = None;
        if self.levels[level].len() >= self.capacity {
            match self.random_unpinned(level, rng) {
                Some(victim) => {
                    self.remove(&victim);
                    evicted = Some(victim);
                }
                None if pin => {}
                None => return Insert::Rejected,
            }
        }
        let slot = self.levels[level].len() as u32;
        self.levels[level].push(id);
        self.entries.insert(
            id,
            CacheEntry {
                route,
                key,
                added: now,
                since: now,
                level: level as u8,
                slot,
                pins: pin as u8,
            },
        );
        Insert::Added { evicted }
    }

    /// Records that `id`'s node answered as its holder at `now` (refreshes `added`).
    pub fn confirm(&mut self, id: &PnrpId, now: Instant) {
        if let Some(e) = self.entries.get_mut(id) {
            e.added = e.added.max(now);
        }
    }

    /// True when the level `id` would enter already holds `capacity` entries.
    pub fn is_full_at(&self, id: PnrpId) -> bool {
        self.levels[self.level_of(id)].len() >= self.capacity
    }

    /// A random unpinned entry of `level`, if any.
    fn random_unpinned(&self, level: usize, rng: &mut NodeRng) -> Option<PnrpId> {
        let ids = &self.levels[level];
        if ids.is_empty() {
            return None;
        }
        let start = rng.gen_range(0..ids.len());
        (0..ids.len())
            .map(|k| ids[(start + k) % ids.len()])
            .find(|id| self.entries.get(id).is_some_and(|e| e.pins == 0))
    }

    /// Removes `id`, returning its entry.
    pub fn remove(&mut self, id: &PnrpId) -> Option<CacheEntry> {
        let e = self.entries.remove(id)?;
        let level = &mut self.levels[e.level as usize];
        let slot = e.slot as usize;
        level.swap_remove(slot);
        if let Some(moved) = level.get(slot).copied() {
            if let Some(m) = self.entries.get_mut(&moved) {
                m.slot = slot as u32;
            }
        }
        Some(e)
    }

    /// Pins `id` (it entered a leaf set). Returns false when it is not cached.
    pub fn pin(&mut self, id: &PnrpId) -> bool {
        match self.entries.get_mut(id) {
            Some(e) => {
                e.pins = e.pins.saturating_add(1);
                true
            }
            None => false,
        }
    }

    /// Unpins `id` (it left a leaf set); if its level is over capacity, evicts a random unpinned entry
    /// there, which is returned.
    pub fn unpin(&mut self, id: &PnrpId, rng: &mut NodeRng) -> Option<PnrpId> {
        let e = self.entries.get_mut(id)?;
        e.pins = e.pins.saturating_sub(1);
        let level = e.level as usize;
        if self.levels[level].len() > self.capacity {
            let victim = self.random_unpinned(level, rng)?;
            self.remove(&victim);
            return Some(victim);
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
        let old = std::mem::take(&mut self.entries);
        for l in &mut self.levels {
            l.clear();
        }
        let mut evicted = Vec::new();
        // Pinned entries first so that they always find room.
        let (pinned, unpinned): (Vec<_>, Vec<_>) = old.into_values().partition(|e| e.pins > 0);
        for e in pinned.into_iter().chain(unpinned) {
            let (pins, since) = (e.pins, e.since);
            let id = e.route.id;
            match self.insert(e.route, e.key, e.added, pins > 0, rng) {
                Insert::Added { evicted: Some(v) } => evicted.push(v),
                Insert::Rejected => evicted.push(id),
                _ => {}
            }
            if let Some(n) = self.entries.get_mut(&id) {
                n.pins = pins;
                n.since = since;
            }
        }
        evicted
    }

    /// Entries in increasing circular distance from `target` (ties: lower ID first), each once.
    pub fn walk_closest(&self, target: PnrpId) -> impl Iterator<Item = &CacheEntry> + '_ {
        let mut up = self
            .entries
            .range(target..)
            .chain(self.entries.range(..target))
            .peekable();
        let mut down = self
            .entries
            .range(..target)
            .rev()
            .chain(self.entries.range(target..).rev())
            .peekable();
        let mut left = self.entries.len();
        std::iter::from_fn(move || {
            if left == 0 {
                return None;
            }
            left -= 1;
            let pick_up = match (up.peek(), down.peek()) {
                (Some((a, _)), Some((b, _))) => (target.distance(**a), **a) <= (target.distance(**b), **b),
                (Some(_), None) => true,
                _ => false,
            };
            let next = if pick_up { up.next() } else { down.next() };
            next.map(|(_, e)| e)
        })
    }

    /// The cached entry closest to `target`.
    pub fn closest(&self, target: PnrpId) -> Option<&RouteEntry> {
        let up = self
            .entries
            .range(target..)
            .next()
            .or_else(|| self.entries.iter().next());
        let down = self
            .entries
            .range(..target)
            .next_back()
            .or_else(|| self.entries.iter().next_back());
        match (up, down) {
            (Some((a, ea)), Some((b, eb))) => Some(if target.closer(*b, *a) {
                &eb.route
            } else {
                &ea.route
            }),
            (Some((_, e)), None) | (None, Some((_, e))) => Some(&e.route),
            (None, None) => None,
        }
    }

    /// The first cached entry clockwise from `x` (exclusive) accepted by `keep`, looking at most
    /// `steps` entries.
    pub fn next_above(
        &self,
        x: PnrpId,
        steps: usize,
        keep: impl Fn(&RouteEntry) -> bool,
    ) -> Option<&RouteEntry> {
        use std::ops::Bound::{Excluded, Unbounded};
        self.entries
            .range((Excluded(x), Unbounded))
            .chain(self.entries.range(..x))
            .take(steps)
            .map(|(_, e)| &e.route)
            .find(|r| r.id != x && keep(r))
    }

    /// The first cached entry counter-clockwise from `x` (exclusive) accepted by `keep`, looking at
    /// most `steps` entries.
    pub fn next_below(
        &self,
        x: PnrpId,
        steps: usize,
        keep: impl Fn(&RouteEntry) -> bool,
    ) -> Option<&RouteEntry> {
        use std::ops::Bound::{Excluded, Unbounded};
        self.entries
            .range(..x)
            .rev()
            .chain(self.entries.range((Excluded(x), Unbounded)).rev())
            .take(steps)
            .map(|(_, e)| &e.route)
            .find(|r| r.id != x && keep(r))
    }

    /// Cached IDs inside the clockwise arc `(from, to]` (wrapping), in clockwise order.
    pub fn arc(&self, from: PnrpId, to: PnrpId) -> Vec<PnrpId> {
        use std::ops::Bound::{Excluded, Included, Unbounded};
        if from < to {
            self.entries
                .range((Excluded(from), Included(to)))
                .map(|(k, _)| *k)
                .collect()
        } else {
            self.entries
                .range((Excluded(from), Unbounded))
                .chain(self.entries.range(..=to))
                .map(|(k, _)| *k)
                .collect()
        }
    }

    /// Unpinned entries admitted before `cutoff` (for the optional max age, §2.2 [CHOICE]).
    pub fn older_than(&self, cutoff: Instant) -> Vec<PnrpId> {
        self.entries
            .values()
            .filter(|e| e.pins == 0 && e.added < cutoff)
            .map(|e| e.route.id)
            .collect()
    }

    /// Checks the internal invariants (level membership, slots, bounds); for tests and checkers.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut n = 0;
        for (lvl, ids) in self.levels.iter().enumerate() {
            let pinned = ids
                .iter()
                .filter(|id| self.entries.get(id).is_some_and(|e| e.pins > 0))
                .count();
            if ids.len() > self.capacity.max(pinned) {
                return Err(format!(
                    "level {lvl} holds {} > capacity {}",
                    ids.len(),
                    self.capacity
                ));
            }
            for (slot, id) in ids.iter().enumerate() {
                let e = self
                    .entries
                    .get(id)
                    .ok_or_else(|| format!("level {lvl} names missing {id:?}"))?;
                if e.level as usize != lvl || e.slot as usize != slot || self.level_of(*id) != lvl {
                    return Err(format!("entry {id:?} misfiled"));
                }
                n += 1;
            }
        }
        if n != self.entries.len() {
            return Err("levels and entries disagree".into());
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
