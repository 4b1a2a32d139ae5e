//! The route cache against a reference model: the original `BTreeMap` + per-level `Vec`
//! implementation. Random eviction must draw the same RNG values and pick the same victims, and
//! every ring query must answer the same, or simulation fingerprints would change.
use super::*;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::net::Ipv6Addr;

fn route(id: PnrpId) -> RouteEntry {
    RouteEntry::single(id, crate::Endpoint::new(Ipv6Addr::LOCALHOST, 3540))
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct ModelEntry {
    pins: u8,
    added: Instant,
    since: Instant,
    level: usize,
    slot: usize,
}

/// The original implementation, reduced to what decides behaviour.
struct Model {
    probe: RouteCache, // only for `level_of`
    cap: usize,
    map: BTreeMap<PnrpId, ModelEntry>,
    levels: Vec<Vec<PnrpId>>,
}

impl Model {
    fn new(centre: PnrpId, cap: usize, levels: usize) -> Self {
        Model {
            probe: RouteCache::new(centre, cap, levels),
            cap,
            map: BTreeMap::new(),
            levels: vec![Vec::new(); levels],
        }
    }
    fn insert(&mut self, id: PnrpId, now: Instant, pin: bool, rng: &mut NodeRng) -> Insert {
        if let Some(e) = self.map.get_mut(&id) {
            e.added = now;
            e.pins = e.pins.saturating_add(pin as u8);
            return Insert::Replaced;
        }
        let level = self.probe.level_of(id);
        let mut evicted = None;
        if self.levels[level].len() >= self.cap {
            match self.random_unpinned(level, rng) {
                Some(v) => {
                    self.remove(&v);
                    evicted = Some(v);
                }
                None if pin => {}
                None => return Insert::Rejected,
            }
        }
        let slot = self.levels[level].len();
        self.levels[level].push(id);
        let e = ModelEntry {
            pins: pin as u8,
            added: now,
            since: now,
            level,
            slot,
        };
        self.map.insert(id, e);
        Insert::Added { evicted }
    }
    fn random_unpinned(&self, level: usize, rng: &mut NodeRng) -> Option<PnrpId> {
        let ids = &self.levels[level];
        if ids.is_empty() {
            return None;
        }
        let start = rng.gen_range(0..ids.len());
        (0..ids.len())
            .map(|k| ids[(start + k) % ids.len()])
            .find(|id| self.map[id].pins == 0)
    }
    fn remove(&mut self, id: &PnrpId) -> bool {
        let Some(e) = self.map.remove(id) else {
            return false;
        };
        let level = &mut self.levels[e.level];
        level.swap_remove(e.slot);
        if let Some(moved) = level.get(e.slot).copied() {
            self.map.get_mut(&moved).unwrap().slot = e.slot;
        }
        true
    }
    fn unpin(&mut self, id: &PnrpId, rng: &mut NodeRng) -> Option<PnrpId> {
        let e = self.map.get_mut(id)?;
        e.pins = e.pins.saturating_sub(1);
        let level = e.level;
        if self.levels[level].len() > self.cap {
            let victim = self.random_unpinned(level, rng)?;
            self.remove(&victim);
            return Some(victim);
        }
        None
    }
    fn recentre(&mut self, centre: PnrpId, rng: &mut NodeRng) -> Vec<PnrpId> {
        if centre == self.probe.centre() {
            return Vec::new();
        }
        let old = std::mem::take(&mut self.map);
        *self = Model::new(centre, self.cap, self.levels.len());
        let mut evicted = Vec::new();
        let (pinned, unpinned): (Vec<_>, Vec<_>) = old.into_iter().partition(|(_, e)| e.pins > 0);
        for (id, e) in pinned.into_iter().chain(unpinned) {
            match self.insert(id, e.added, e.pins > 0, rng) {
                Insert::Added { evicted: Some(v) } => evicted.push(v),
                Insert::Rejected => evicted.push(id),
                _ => {}
            }
            if let Some(n) = self.map.get_mut(&id) {
                n.pins = e.pins;
                n.since = e.since;
            }
        }
        evicted
    }
    /// IDs clockwise after `x` (exclusive), wrapping.
    fn above(&self, x: PnrpId) -> Vec<PnrpId> {
        let ids = self.map.keys().copied();
        ids.clone()
            .filter(|i| *i > x)
            .chain(ids.filter(|i| *i < x))
            .collect()
    }
}

fn any_id() -> impl Strategy<Value = PnrpId> {
    // Half share their top 64 bits (key ties), half are spread over the ring.
    prop_oneof![
        (any::<u128>(), any::<u128>()).prop_map(|(h, l)| PnrpId::new(h, l)),
        (0u128..4, any::<u128>()).prop_map(|(h, l)| PnrpId::new(h, l)),
    ]
}

proptest! {
    #[test]
    fn matches_the_btreemap_model(
        pool in proptest::collection::vec(any_id(), 1..60),
        ops in proptest::collection::vec((0u8..10, any::<prop::sample::Index>(), any::<prop::sample::Index>(), 0u64..50), 0..250),
        cap in 1usize..5,
    ) {
        let (mut r1, mut r2) = (NodeRng::from_seed([3; 32]), NodeRng::from_seed([3; 32]));
        let mut c = RouteCache::new(pool[0], cap, 6);
        let mut m = Model::new(pool[0], cap, 6);
        for (op, a, b, t) in ops {
            let (x, y) = (pool[a.index(pool.len())], pool[b.index(pool.len())]);
            let now = Instant::from_micros(t);
            match op {
                0..=2 => prop_assert_eq!(c.insert(route(x), None, now, op == 2, &mut r1), m.insert(x, now, op == 2, &mut r2)),
                3 => prop_assert_eq!(c.remove(&x).map(|e| e.route.id), m.remove(&x).then_some(x)),
                4 => prop_assert_eq!(c.pin(&x), m.map.get_mut(&x).map(|e| e.pins = e.pins.saturating_add(1)).is_some()),
                5 => prop_assert_eq!(c.unpin(&x, &mut r1), m.unpin(&x, &mut r2)),
                6 => {
                    c.confirm(&x, now);
                    if let Some(e) = m.map.get_mut(&x) {
                        e.added = e.added.max(now);
                    }
                }
                7 if t.is_multiple_of(5) => prop_assert_eq!(c.recentre(x, &mut r1), m.recentre(x, &mut r2)),
                _ => {}
            }
            prop_assert!(c.check_invariants().is_ok(), "{:?}", c.check_invariants());
            // State: ring order, every entry's fields, each level's slot order, sizes.
            prop_assert!(c.ids().eq(m.map.keys().copied()));
            for e in c.entries() {
                let want = m.map[&e.route.id];
                let got = ModelEntry { pins: e.pins, added: e.added, since: e.since, level: e.level(), slot: e.slot as usize };
                prop_assert_eq!(got, want);
            }
            for (l, ids) in m.levels.iter().enumerate() {
                prop_assert!(c.level_ids(l).eq(ids.iter().copied()));
                prop_assert_eq!(c.is_full_at(ids.first().copied().unwrap_or(x)), m.levels[m.probe.level_of(ids.first().copied().unwrap_or(x))].len() >= cap);
            }
            let deepest = m.levels.iter().rposition(|l| !l.is_empty()).map_or(0, |i| i + 1);
            prop_assert_eq!(c.level_sizes(), m.levels[..deepest].iter().map(Vec::len).collect::<Vec<_>>());
            prop_assert_eq!(c.len(), m.map.len());
            prop_assert_eq!(c.contains(&y), m.map.contains_key(&y));
            // Ring queries from a cached or uncached point, with a filter and a step limit.
            for p in [y, y.wrapping_add_u64(1), PnrpId::ZERO] {
                let keep = |r: &RouteEntry| !r.id.lo.is_multiple_of(3);
                let steps = (t % 7) as usize;
                let above = m.above(p);
                let want = above.iter().take(steps).find(|id| !id.lo.is_multiple_of(3)).copied();
                prop_assert_eq!(c.next_above(p, steps, keep).map(|r| r.id), want);
                let mut below = m.above(p);
                below.reverse();
                let want = below.iter().take(steps).find(|id| !id.lo.is_multiple_of(3)).copied();
                prop_assert_eq!(c.next_below(p, steps, keep).map(|r| r.id), want);
                let arc: Vec<PnrpId> = if p < x {
                    m.map.keys().copied().filter(|i| *i > p && *i <= x).collect()
                } else {
                    let ids = m.map.keys().copied();
                    ids.clone().filter(|i| *i > p).chain(ids.filter(|i| *i <= x)).collect()
                };
                prop_assert_eq!(c.arc(p, x), arc);
                let brute = m.map.keys().copied().min_by_key(|i| (p.distance(*i), *i));
                prop_assert_eq!(c.closest(p).map(|r| r.id), brute);
            }
            let cutoff = Instant::from_micros(t);
            let old: Vec<PnrpId> = m.map.iter().filter(|(_, e)| e.pins == 0 && e.added < cutoff).map(|(i, _)| *i).collect();
            prop_assert_eq!(c.older_than(cutoff), old);
        }
    }
}
