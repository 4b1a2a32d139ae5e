//! Ring-order queries of the route cache: index walks over its sorted ring index, wrapping at the
//! ends (2^256 − 1 is adjacent to 0).

use super::{CacheEntry, RouteCache};
use crate::pnrp::id::PnrpId;
use crate::pnrp::message::RouteEntry;
use crate::Instant;

impl RouteCache {
    /// Entries in increasing circular distance from `target` (ties: lower ID first), each once.
    pub fn walk_closest(&self, target: PnrpId) -> impl Iterator<Item = &CacheEntry> + '_ {
        let n = self.ring.len();
        let lb = self.lower_bound(&target);
        // Two cursors leave `target` in opposite directions; `up` starts at the first ID ≥ target,
        // `down` just below it, and each wraps round the ring.
        let (mut up, mut down) = (0, 0);
        let mut left = n;
        std::iter::from_fn(move || {
            if left == 0 {
                return None;
            }
            left -= 1;
            let a = (up < n).then(|| self.at((lb + up) % n));
            let b = (down < n).then(|| self.at((lb + n - 1 - down) % n));
            let pick_up = match (a, b) {
                (Some(a), Some(b)) => {
                    let (a, b) = (a.route.id, b.route.id);
                    (target.distance(a), a) <= (target.distance(b), b)
                }
                (Some(_), None) => true,
                _ => false,
            };
            if pick_up {
                up += 1;
                a
            } else {
                down += 1;
                b
            }
        })
    }

    /// The cached entry closest to `target`.
    pub fn closest(&self, target: PnrpId) -> Option<&RouteEntry> {
        let n = self.ring.len();
        if n == 0 {
            return None;
        }
        let lb = self.lower_bound(&target);
        let up = &self.at(if lb < n { lb } else { 0 }).route;
        let down = &self.at(if lb > 0 { lb - 1 } else { n - 1 }).route;
        Some(if target.closer(down.id, up.id) { down } else { up })
    }

    /// The first cached entry clockwise from `x` (exclusive) accepted by `keep`, looking at most
    /// `steps` entries.
    pub fn next_above(
        &self,
        x: PnrpId,
        steps: usize,
        keep: impl Fn(&RouteEntry) -> bool,
    ) -> Option<&RouteEntry> {
        let n = self.ring.len();
        let ub = self.upper_bound(&x);
        // `x` itself, if cached, sits just below `ub`: the walk would reach it last, so stop short.
        let others = n - (ub > 0 && self.at(ub - 1).route.id == x) as usize;
        (0..others.min(steps))
            .map(|k| &self.at((ub + k) % n).route)
            .find(|r| keep(r))
    }

    /// The first cached entry counter-clockwise from `x` (exclusive) accepted by `keep`, looking at
    /// most `steps` entries.
    pub fn next_below(
        &self,
        x: PnrpId,
        steps: usize,
        keep: impl Fn(&RouteEntry) -> bool,
    ) -> Option<&RouteEntry> {
        let n = self.ring.len();
        let lb = self.lower_bound(&x);
        // `x` itself, if cached, sits at `lb`: the downward walk would reach it last.
        let others = n - (lb < n && self.at(lb).route.id == x) as usize;
        (0..others.min(steps))
            .map(|k| &self.at((lb + n - 1 - k) % n).route)
            .find(|r| keep(r))
    }

    /// Cached IDs inside the clockwise arc `(from, to]` (wrapping), in clockwise order.
    pub fn arc(&self, from: PnrpId, to: PnrpId) -> Vec<PnrpId> {
        let (a, b) = (self.upper_bound(&from), self.upper_bound(&to));
        let id = |p: usize| self.at(p).route.id;
        if from < to {
            (a..b).map(id).collect()
        } else {
            (a..self.ring.len()).chain(0..b).map(id).collect()
        }
    }

    /// Unpinned entries admitted before `cutoff` (for the optional max age, MS-PNRP §3.2.1.1, peerlab
    /// choice).
    pub fn older_than(&self, cutoff: Instant) -> Vec<PnrpId> {
        self.entries()
            .filter(|e| e.pins == 0 && e.added < cutoff)
            .map(|e| e.route.id)
            .collect()
    }

    /// Checks the internal invariants (ring index, level membership, slots, bounds); for tests and
    /// checkers.
    pub fn check_invariants(&self) -> Result<(), String> {
        let n = self.slab.len();
        if self.ring.len() != n {
            return Err("ring index and entries disagree".into());
        }
        for p in 0..n {
            let i = super::slab_index(self.ring[p]);
            let id = self
                .slab
                .get(i)
                .ok_or("ring index names a missing entry")?
                .route
                .id;
            if self.ring[p] != super::pack(&id, i as u32) {
                return Err(format!("stale prefix at ring position {p}"));
            }
            // Strictly increasing IDs also make `ring` a permutation of the slab.
            if p > 0 && self.at(p - 1).route.id >= id {
                return Err(format!("ring index out of order at {p}"));
            }
        }
        let mut members = 0;
        for lvl in 0..self.levels.count() {
            let ids = self.levels.get(lvl);
            let pinned = ids
                .iter()
                .filter(|&&i| self.slab.get(i as usize).is_some_and(|e| e.pins > 0))
                .count();
            if ids.len() > self.capacity.max(pinned) {
                return Err(format!(
                    "level {lvl} holds {} > capacity {}",
                    ids.len(),
                    self.capacity
                ));
            }
            for (slot, &i) in ids.iter().enumerate() {
                let e = self
                    .slab
                    .get(i as usize)
                    .ok_or_else(|| format!("level {lvl} names missing entry {i}"))?;
                let id = e.route.id;
                if e.level as usize != lvl || e.slot as usize != slot || self.level_of(id) != lvl {
                    return Err(format!("entry {id} misfiled"));
                }
                members += 1;
            }
        }
        if members != n {
            return Err("levels and entries disagree".into());
        }
        let pinned: Vec<&CacheEntry> = self.slab.iter().filter(|e| e.pins > 0).collect();
        if pinned.len() != self.pinned.len()
            || pinned
                .iter()
                .any(|e| self.pinned.get(&e.route.id) != Some(e.added))
        {
            return Err("pinned-entry mirror disagrees with the entries".into());
        }
        Ok(())
    }
}
