//! Per-level membership lists of the route cache, flattened into one buffer.
//!
//! Level `l` owns `ids[start[l]..start[l + 1]]`. A level's order is exactly that of a `Vec` used
//! with `push` / `swap_remove` (random eviction indexes into it, so the order is part of the
//! behaviour); keeping every level in one allocation saves a heap block per level and a pointer
//! chase per access. Growing or shrinking a level shifts the later levels by one element, a short
//! memmove of 4-byte values.

/// The members of every level, as indices into the cache's entry storage.
#[derive(Clone, Debug)]
pub(super) struct LevelLists {
    /// All members, level by level.
    ids: Vec<u32>,
    /// `start[l]` is where level `l` begins; `start[levels]` is `ids.len()`.
    start: Box<[u32]>,
}

impl LevelLists {
    /// `levels` empty levels.
    pub(super) fn new(levels: usize) -> Self {
        LevelLists {
            ids: Vec::new(),
            start: vec![0; levels + 1].into_boxed_slice(),
        }
    }

    /// Reserves room for `additional` more members.
    pub(super) fn reserve(&mut self, additional: usize) {
        self.ids.reserve_exact(additional);
    }

    /// Number of levels.
    pub(super) fn count(&self) -> usize {
        self.start.len() - 1
    }

    /// Members of `level` in slot order.
    pub(super) fn get(&self, level: usize) -> &[u32] {
        &self.ids[self.start[level] as usize..self.start[level + 1] as usize]
    }

    /// Number of members of `level`.
    pub(super) fn len(&self, level: usize) -> usize {
        (self.start[level + 1] - self.start[level]) as usize
    }

    /// Sizes of levels `0..`, without allocating.
    pub(super) fn sizes(&self) -> impl Iterator<Item = usize> + '_ {
        self.start.windows(2).map(|w| (w[1] - w[0]) as usize)
    }

    /// One past the deepest non-empty level (0 when all are empty).
    pub(super) fn depth(&self) -> usize {
        // `start` never decreases, so the levels after the deepest non-empty one all start at
        // the end: the first start equal to the total is that depth.
        let total = self.ids.len() as u32;
        self.start.partition_point(|&s| s < total)
    }

    /// Appends `idx` to `level`, returning its slot.
    pub(super) fn push(&mut self, level: usize, idx: u32) -> u32 {
        let end = self.start[level + 1];
        self.ids.insert(end as usize, idx);
        for s in &mut self.start[level + 1..] {
            *s += 1;
        }
        end - self.start[level]
    }

    /// Removes `slot` of `level` like `Vec::swap_remove`; returns the member moved into `slot`.
    pub(super) fn swap_remove(&mut self, level: usize, slot: u32) -> Option<u32> {
        let at = (self.start[level] + slot) as usize;
        let last = self.start[level + 1] as usize - 1;
        self.ids.swap(at, last);
        self.ids.remove(last);
        for s in &mut self.start[level + 1..] {
            *s -= 1;
        }
        (at != last).then(|| self.ids[at])
    }

    /// Overwrites the member at `slot` of `level` (its entry moved in storage).
    pub(super) fn set(&mut self, level: usize, slot: u32, idx: u32) {
        self.ids[(self.start[level] + slot) as usize] = idx;
    }

    /// Empties every level.
    pub(super) fn clear(&mut self) {
        self.ids.clear();
        self.start.fill(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Behaves exactly like one `Vec` per level under push / swap_remove / set.
        #[test]
        fn matches_vec_per_level(ops in proptest::collection::vec((0usize..5, 0u32..1000, any::<prop::sample::Index>(), 0u8..3), 0..300)) {
            let mut flat = LevelLists::new(5);
            let mut model: Vec<Vec<u32>> = vec![Vec::new(); 5];
            for (level, v, ix, op) in ops {
                let m = &mut model[level];
                match op {
                    0 => {
                        let slot = flat.push(level, v);
                        prop_assert_eq!(slot as usize, m.len());
                        m.push(v);
                    }
                    _ if m.is_empty() => {}
                    1 => {
                        let slot = ix.index(m.len());
                        m.swap_remove(slot);
                        let moved = flat.swap_remove(level, slot as u32);
                        prop_assert_eq!(moved, m.get(slot).copied());
                    }
                    _ => {
                        let slot = ix.index(m.len());
                        m[slot] = v;
                        flat.set(level, slot as u32, v);
                    }
                }
                for (l, want) in model.iter().enumerate() {
                    prop_assert_eq!(flat.get(l), want.as_slice());
                    prop_assert_eq!(flat.len(l), want.len());
                }
                let depth = model.iter().rposition(|l| !l.is_empty()).map_or(0, |i| i + 1);
                prop_assert_eq!(flat.depth(), depth);
                let sizes: Vec<usize> = flat.sizes().collect();
                prop_assert_eq!(sizes, model.iter().map(Vec::len).collect::<Vec<_>>());
            }
            prop_assert_eq!(flat.count(), 5);
            flat.clear();
            prop_assert!((0..5).all(|l| flat.len(l) == 0));
        }
    }
}
