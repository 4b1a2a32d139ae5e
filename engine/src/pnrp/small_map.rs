//! Sorted-`Vec` map and set for the per-node tables that hold a handful of entries.
//!
//! They iterate in key order like `BTreeMap`/`BTreeSet` (so swapping them in keeps every RNG draw
//! and message order), but an idle table owns no heap at all and a busy one is a single small
//! allocation: a `BTreeMap` allocates an 11-slot leaf for its first entry and keeps it when emptied,
//! which made every request/answer round trip allocate and free several ~500-byte leaves.
//! Inserts and removals are O(n) moves; the tables are bounded (ORT, pending adds, conversations)
//! and their keys mostly grow (counters, deadlines), so inserts land at the end.

use std::borrow::Borrow;

/// Makes room for one more element: doubling, from about 64 bytes' worth (at least one) rather
/// than `Vec`'s four, so the usual table of one large entry (a registration, a resolve) costs one.
pub(super) fn reserve_one<T>(v: &mut Vec<T>) {
    if v.len() == v.capacity() {
        let first = (64 / std::mem::size_of::<T>().max(1)).max(1);
        v.reserve_exact(v.len().max(first));
    }
}

/// A map kept as a `Vec` of `(key, value)` sorted by key.
#[derive(Clone, Debug)]
pub struct SmallMap<K, V> {
    v: Vec<(K, V)>,
}

impl<K, V> Default for SmallMap<K, V> {
    fn default() -> Self {
        SmallMap { v: Vec::new() }
    }
}

impl<K: Ord, V> SmallMap<K, V> {
    /// An empty map (no allocation).
    pub const fn new() -> Self {
        SmallMap { v: Vec::new() }
    }

    fn find<Q: Ord + ?Sized>(&self, k: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
    {
        self.v.binary_search_by(|(x, _)| x.borrow().cmp(k))
    }

    /// The value under `k`.
    pub fn get<Q: Ord + ?Sized>(&self, k: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.find(k).ok().map(|i| &self.v[i].1)
    }

    /// The value under `k`, mutably.
    pub fn get_mut<Q: Ord + ?Sized>(&mut self, k: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        self.find(k).ok().map(|i| &mut self.v[i].1)
    }

    /// True when `k` is present.
    pub fn contains_key<Q: Ord + ?Sized>(&self, k: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.find(k).is_ok()
    }

    /// Inserts `v` under `k`, returning the value it replaces.
    pub fn insert(&mut self, k: K, v: V) -> Option<V> {
        match self.find(&k) {
            Ok(i) => Some(std::mem::replace(&mut self.v[i].1, v)),
            Err(i) => {
                reserve_one(&mut self.v);
                self.v.insert(i, (k, v));
                None
            }
        }
    }

    /// Removes and returns the value under `k`.
    pub fn remove<Q: Ord + ?Sized>(&mut self, k: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.find(k).ok().map(|i| self.v.remove(i).1)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.v.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.v.is_empty()
    }

    /// The keys in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> + ExactSizeIterator + Clone + '_ {
        self.v.iter().map(|(k, _)| k)
    }

    /// The entries in key order, as stored.
    pub fn as_slice(&self) -> &[(K, V)] {
        &self.v
    }

    /// The values in key order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + ExactSizeIterator + Clone + '_ {
        self.v.iter().map(|(_, v)| v)
    }

    /// The values in key order, mutably.
    pub fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut V> + ExactSizeIterator + '_ {
        self.v.iter_mut().map(|(_, v)| v)
    }

    /// The entries in key order.
    #[cfg(test)]
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &V)> + ExactSizeIterator + Clone + '_ {
        self.v.iter().map(|(k, v)| (k, v))
    }

    /// Frees the storage when empty (an emptied `Vec` keeps its capacity).
    pub fn release_if_empty(&mut self) {
        if self.v.is_empty() && self.v.capacity() != 0 {
            self.v = Vec::new();
        }
    }
}

/// A set kept as a sorted `Vec`; used for timer queues ordered by `(deadline, key)`.
#[derive(Clone, Debug)]
pub struct SmallSet<K> {
    v: Vec<K>,
}

impl<K> Default for SmallSet<K> {
    fn default() -> Self {
        SmallSet { v: Vec::new() }
    }
}

impl<K: Ord> SmallSet<K> {
    /// An empty set (no allocation).
    pub const fn new() -> Self {
        SmallSet { v: Vec::new() }
    }

    /// Adds `k`; false when it was already present.
    pub fn insert(&mut self, k: K) -> bool {
        // Timer keys are mostly later than every queued one: try the end first.
        let i = match self.v.last() {
            Some(last) if *last < k => self.v.len(),
            None => 0,
            _ => match self.v.binary_search(&k) {
                Ok(_) => return false,
                Err(i) => i,
            },
        };
        reserve_one(&mut self.v);
        self.v.insert(i, k);
        true
    }

    /// Removes `k`; false when it was absent.
    pub fn remove(&mut self, k: &K) -> bool {
        match self.v.binary_search(k) {
            Ok(i) => {
                self.v.remove(i);
                true
            }
            Err(_) => false,
        }
    }

    /// The smallest element.
    pub fn first(&self) -> Option<&K> {
        self.v.first()
    }

    /// Number of elements.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.v.len()
    }

    /// The elements in order.
    #[cfg(test)]
    pub fn iter(&self) -> std::slice::Iter<'_, K> {
        self.v.iter()
    }

    /// Frees the storage when empty.
    pub fn release_if_empty(&mut self) {
        if self.v.is_empty() && self.v.capacity() != 0 {
            self.v = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    /// A tiny deterministic generator (xorshift) for the model tests.
    fn next(s: &mut u64) -> u64 {
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        *s
    }

    #[test]
    fn map_matches_btreemap() {
        let (mut m, mut b) = (SmallMap::new(), BTreeMap::new());
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        for step in 0..5000u64 {
            let k = next(&mut s) % 64;
            match next(&mut s) % 4 {
                0 | 1 => assert_eq!(m.insert(k, step), b.insert(k, step)),
                2 => assert_eq!(m.remove(&k), b.remove(&k)),
                _ => {
                    if let Some(v) = m.get_mut(&k) {
                        *v += 1;
                    }
                    if let Some(v) = b.get_mut(&k) {
                        *v += 1;
                    }
                }
            }
            assert_eq!(m.len(), b.len());
            assert_eq!(m.contains_key(&k), b.contains_key(&k));
            assert_eq!(m.get(&k), b.get(&k));
        }
        assert!(m.iter().eq(b.iter()));
        assert!(m.keys().eq(b.keys()));
        assert!(m.values().eq(b.values()));
        assert_eq!(m.values().nth(3), b.values().nth(3));
    }

    #[test]
    fn set_matches_btreeset() {
        let (mut m, mut b) = (SmallSet::new(), BTreeSet::new());
        let mut s = 12345u64;
        for t in 0..5000u64 {
            // Mostly-increasing keys, like deadlines, with some out-of-order ones and repeats.
            let k = (t + next(&mut s) % 8, next(&mut s) % 3);
            if next(&mut s).is_multiple_of(3) {
                assert_eq!(m.remove(&k), b.remove(&k));
            } else {
                assert_eq!(m.insert(k), b.insert(k));
            }
            assert_eq!(m.first(), b.first());
            assert_eq!(m.len(), b.len());
        }
        assert!(m.iter().eq(b.iter()));
    }

    #[test]
    fn empty_tables_hold_no_heap() {
        let mut m = SmallMap::new();
        m.insert(1u32, [0u8; 100]);
        assert_eq!(m.v.capacity(), 1);
        m.insert(2, [0; 100]);
        m.insert(0, [0; 100]);
        assert_eq!(m.v.capacity(), 4);
        for k in 0..3 {
            m.remove(&k);
        }
        m.release_if_empty();
        assert_eq!(m.v.capacity(), 0);
        let mut s = SmallSet::new();
        s.insert(3u8);
        assert!(!s.insert(3));
        assert!(s.remove(&3));
        s.release_if_empty();
        assert_eq!(s.v.capacity(), 0);
    }
}
