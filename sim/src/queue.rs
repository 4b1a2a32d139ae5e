//! The event queue: a hierarchical timing wheel over integer microseconds (docs/architecture.md §4 "Event
//! loop").
//!
//! Events pop in TOTAL order by `(time, insertion sequence)`: earlier time first, and among equal
//! times first pushed, first popped (FIFO). The order is structural, so no sequence number is stored.
//!
//! # Why a wheel
//! A binary heap costs `O(log n)` cache misses per operation and becomes memory-bound near 10^5
//! pending events. The wheel has 11 levels of 64 slots (6 bits of time each,
//! 66 bits ≥ the 64-bit `Instant`), a `u64` occupancy bitmap per level, and one `Vec` per slot: a push
//! is an append, and an event is moved down at most once per level on its way to the front. Because
//! the levels span the whole `u64` range, there is no separate overflow list: a far-future event
//! (even `Instant::MAX`) simply sits in a high level until time approaches it.
//!
//! Memory: 16 bytes per entry for an 8-byte event, plus `Vec` growth slack: the event-loop bench
//! measures ~24 bytes per pending event at 10^5–10^6 pending (`heap_bytes`).
//!
//! # Layout invariant
//! `elapsed` is the wheel's position. An event at time `t > elapsed` lives at level
//! `msb(t ^ elapsed) / 6`, slot `(t >> 6·level) & 63`; an event at `t == elapsed` lives in `ready`
//! (FIFO). Every event at level `k` is later than every event at a level below `k`, so the next event
//! is in the lowest non-empty level, lowest occupied slot. When a slot is reached, its entries are
//! re-placed relative to the new `elapsed` in their stored (insertion) order, into levels that are
//! empty at that moment, which keeps each slot in insertion order: this is what makes ties FIFO.
//!
//! # Precondition on pushes
//! A push must not be earlier than the time of the last popped event. A push earlier than that is
//! clamped to it (and counted in [`EventQueue::clamped`]), never a panic. Pushes between the last
//! popped time and a time already revealed by [`EventQueue::peek_time`] are legal: they go to a small
//! side heap (`early`) ordered by `(time, seq)` that drains before the wheel.

use peerlab_engine::Instant;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

/// Bits of time per wheel level.
const LEVEL_BITS: u32 = 6;
/// Slots per level.
const SLOTS: usize = 1 << LEVEL_BITS;
/// Levels needed to cover 64-bit time: ceil(64 / 6).
const LEVELS: usize = 11;
/// A slot keeps its buffer after it drains if the buffer holds at most this many entries
/// (bounds the idle footprint to `LEVELS * SLOTS * 1024` entries, ~11 MB for 16-byte entries, in
/// practice the ~150 slots near the present: ~2.5 MB).
const RETAIN_SLOT_CAPACITY: usize = 1024;

/// A priority queue of events keyed by simulated time, popping in `(time, push order)` order.
pub struct EventQueue<E> {
    /// The wheel's position: every event in `ready` is at this time, every wheel entry later.
    elapsed: u64,
    /// Time of the last popped event: the floor for pushes.
    last_popped: u64,
    /// Events at exactly `elapsed`, in push order.
    ready: VecDeque<E>,
    /// `LEVELS * SLOTS` slots of `(time, event)` in push order.
    slots: Vec<Vec<(u64, E)>>,
    /// One occupancy bit per slot, per level.
    occupied: [u64; LEVELS],
    /// Pushes earlier than `elapsed` (legal only after `peek_time` revealed a later time).
    early: BinaryHeap<Early<E>>,
    /// Sequence numbers for `early` ties.
    early_seq: u64,
    len: usize,
    clamped: u64,
}

/// A side-heap entry, ordered as a min-heap on `(time, seq)`.
struct Early<E> {
    at: u64,
    seq: u64,
    ev: E,
}

impl<E> PartialEq for Early<E> {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl<E> Eq for Early<E> {}
impl<E> PartialOrd for Early<E> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<E> Ord for Early<E> {
    fn cmp(&self, o: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap and we want the earliest (time, seq) on top.
        (o.at, o.seq).cmp(&(self.at, self.seq))
    }
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue positioned at the epoch.
    pub fn new() -> Self {
        EventQueue {
            elapsed: 0,
            last_popped: 0,
            ready: VecDeque::new(),
            slots: (0..LEVELS * SLOTS).map(|_| Vec::new()).collect(),
            occupied: [0; LEVELS],
            early: BinaryHeap::new(),
            early_seq: 0,
            len: 0,
            clamped: 0,
        }
    }

    /// Schedules `ev` at `at`. An `at` earlier than the last popped time is clamped to it (counted
    /// in [`clamped`](Self::clamped)): time never runs backwards.
    pub fn push(&mut self, at: Instant, ev: E) {
        let mut t = at.as_micros();
        if t < self.last_popped {
            self.clamped += 1;
            t = self.last_popped;
        }
        self.len += 1;
        if t < self.elapsed {
            // Only reachable after peek_time moved the wheel ahead of the last pop.
            self.early_seq += 1;
            self.early.push(Early {
                at: t,
                seq: self.early_seq,
                ev,
            });
        } else {
            self.place(t, ev);
        }
    }

    /// Removes and returns the earliest event (FIFO among equal times), or `None` when empty.
    pub fn pop(&mut self) -> Option<(Instant, E)> {
        if let Some(e) = self.early.pop() {
            self.len -= 1;
            self.last_popped = e.at;
            return Some((Instant::from_micros(e.at), e.ev));
        }
        if self.ready.is_empty() && !self.advance() {
            return None;
        }
        let ev = self.ready.pop_front()?;
        self.len -= 1;
        self.last_popped = self.elapsed;
        Some((Instant::from_micros(self.elapsed), ev))
    }

    /// The time of the next event, or `None` when empty. Takes `&mut self` because it may move
    /// the wheel forward to find the exact time; that never changes the pop order, and pushes
    /// before the revealed time stay legal (down to the last popped time).
    pub fn peek_time(&mut self) -> Option<Instant> {
        if let Some(e) = self.early.peek() {
            return Some(Instant::from_micros(e.at));
        }
        if self.ready.is_empty() && !self.advance() {
            return None;
        }
        Some(Instant::from_micros(self.elapsed))
    }

    /// A cheap guess at the event `pop` returns next, without moving the wheel (for prefetching
    /// what that event will touch). Exact when the next event is in `early`, `ready` or level 0;
    /// otherwise the first entry of the slot the wheel reaches next, which is the next event
    /// whenever that slot holds one entry (the common case in sparse clouds). `None` when empty.
    #[inline]
    pub fn next_hint(&self) -> Option<&E> {
        if let Some(e) = self.early.peek() {
            return Some(&e.ev);
        }
        if let Some(e) = self.ready.front() {
            return Some(e);
        }
        let level = self.occupied.iter().position(|&b| b != 0)?;
        let slot = self.occupied[level].trailing_zeros() as usize;
        self.slots[level * SLOTS + slot].first().map(|(_, e)| e)
    }

    /// Cheap guesses at the next two events `pop` returns (the first is [`next_hint`](Self::next_hint)'s):
    /// the second is the entry after the first in the same container, else the first entry of the
    /// next occupied slot. The event loop prefetches two events ahead with it; a wrong guess only
    /// wastes a hint.
    #[inline]
    pub fn next_two_hints(&self) -> (Option<&E>, Option<&E>) {
        if let Some(e) = self.early.peek() {
            return (Some(&e.ev), None);
        }
        let mut wheel = self.occupied_slots().map(|buf| buf.iter().map(|(_, e)| e));
        if let Some(first) = self.ready.front() {
            let second = self
                .ready
                .get(1)
                .or_else(|| wheel.next().and_then(|mut b| b.next()));
            return (Some(first), second);
        }
        let Some(mut buf) = wheel.next() else {
            return (None, None);
        };
        let first = buf.next();
        let second = buf.next().or_else(|| wheel.next().and_then(|mut b| b.next()));
        (first, second)
    }

    /// The non-empty slots in the order the wheel reaches them.
    fn occupied_slots(&self) -> impl Iterator<Item = &Vec<(u64, E)>> + '_ {
        self.occupied.iter().enumerate().flat_map(move |(level, &bits)| {
            let mut rest = bits;
            std::iter::from_fn(move || {
                (rest != 0).then(|| {
                    let slot = rest.trailing_zeros() as usize;
                    rest &= rest - 1;
                    &self.slots[level * SLOTS + slot]
                })
            })
        })
    }

    /// The time of the last popped event (the floor for pushes), `Instant::ZERO` before any pop.
    pub fn now(&self) -> Instant {
        Instant::from_micros(self.last_popped)
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no event is pending.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many pushes were earlier than the last popped time and were clamped to it.
    pub fn clamped(&self) -> u64 {
        self.clamped
    }

    /// Heap bytes held by the queue's buffers (capacity, not length), for memory reports.
    pub fn heap_bytes(&self) -> usize {
        let entry = std::mem::size_of::<(u64, E)>();
        let slots: usize = self.slots.iter().map(|s| s.capacity() * entry).sum();
        slots
            + self.slots.capacity() * std::mem::size_of::<Vec<(u64, E)>>()
            + self.ready.capacity() * std::mem::size_of::<E>()
            + self.early.capacity() * std::mem::size_of::<Early<E>>()
    }

    /// Puts an event at `t >= elapsed` where the layout invariant wants it.
    #[inline]
    fn place(&mut self, t: u64, ev: E) {
        let x = t ^ self.elapsed;
        if x == 0 {
            self.ready.push_back(ev);
            return;
        }
        let level = ((63 - x.leading_zeros()) / LEVEL_BITS) as usize;
        let slot = ((t >> (level as u32 * LEVEL_BITS)) as usize) & (SLOTS - 1);
        self.occupied[level] |= 1 << slot;
        self.slots[level * SLOTS + slot].push((t, ev));
    }

    /// Moves the wheel to the next occupied slot(s) until `ready` holds events. Returns false when
    /// the wheel is empty. Requires `ready` to be empty.
    fn advance(&mut self) -> bool {
        while self.ready.is_empty() {
            let Some(level) = self.occupied.iter().position(|&b| b != 0) else {
                return false;
            };
            let slot = self.occupied[level].trailing_zeros() as u64;
            self.occupied[level] &= !(1u64 << slot);
            let shift = level as u32 * LEVEL_BITS;
            // Clear this level's digit and all below, then set the slot's digit: the slot's start.
            let high = match shift + LEVEL_BITS {
                s if s >= 64 => 0,
                s => self.elapsed & !((1u64 << s) - 1),
            };
            self.elapsed = high | (slot << shift);
            let idx = level * SLOTS + slot as usize;
            let mut buf = std::mem::take(&mut self.slots[idx]);
            for (t, ev) in buf.drain(..) {
                self.place(t, ev);
            }
            // Small buffers go back to their slot (no regrowth churn); big ones are freed, so
            // memory tracks pending events instead of every slot's historical peak.
            if buf.capacity() <= RETAIN_SLOT_CAPACITY {
                self.slots[idx] = buf;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(us: u64) -> Instant {
        Instant::from_micros(us)
    }

    #[test]
    fn pops_in_time_order_and_fifo_on_ties() {
        let mut q = EventQueue::new();
        q.push(at(500), "c");
        q.push(at(100), "a");
        q.push(at(500), "d");
        q.push(at(100), "b");
        q.push(at(1 << 40), "far");
        q.push(Instant::MAX, "end");
        q.push(at(70_000), "e");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        let names: Vec<_> = order.iter().map(|p| p.1).collect();
        assert_eq!(names, ["a", "b", "c", "d", "e", "far", "end"]);
        assert_eq!(order[5].0, at(1 << 40));
        assert_eq!(order[6].0, Instant::MAX);
        assert!(q.is_empty());
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn pushes_at_the_current_time_go_after_pending_ties() {
        let mut q = EventQueue::new();
        q.push(at(10), 1);
        q.push(at(10), 2);
        assert_eq!(q.pop(), Some((at(10), 1)));
        q.push(at(10), 3);
        assert_eq!(q.pop(), Some((at(10), 2)));
        assert_eq!(q.pop(), Some((at(10), 3)));
    }

    #[test]
    fn pushes_in_the_past_are_clamped_not_panics() {
        let mut q = EventQueue::new();
        q.push(at(1_000), 1);
        assert_eq!(q.pop(), Some((at(1_000), 1)));
        q.push(at(5), 2);
        assert_eq!(q.clamped(), 1);
        assert_eq!(q.now(), at(1_000));
        assert_eq!(q.pop(), Some((at(1_000), 2)));
    }

    #[test]
    fn peek_then_push_earlier_keeps_order() {
        let mut q = EventQueue::new();
        q.push(at(100), 'a');
        q.push(at(90_000), 'd');
        assert_eq!(q.pop(), Some((at(100), 'a')));
        assert_eq!(q.peek_time(), Some(at(90_000)));
        // Legal: not earlier than the last pop, though earlier than the peeked time.
        q.push(at(200), 'b');
        q.push(at(200), 'c');
        q.push(at(90_000), 'e');
        assert_eq!(q.peek_time(), Some(at(200)));
        assert_eq!(q.len(), 4);
        let names: Vec<_> = std::iter::from_fn(|| q.pop()).map(|p| p.1).collect();
        assert_eq!(names, ['b', 'c', 'd', 'e']);
    }

    #[test]
    fn next_hint_names_the_next_event_when_its_slot_holds_it_first() {
        let mut q = EventQueue::new();
        assert_eq!(q.next_hint(), None);
        for (i, t) in [5u64, 5, 900, 70_000, 70_001, 1 << 30].into_iter().enumerate() {
            q.push(at(t), i);
        }
        while let Some(&h) = q.next_hint() {
            assert_eq!(q.pop().map(|p| p.1), Some(h));
        }
        assert!(q.is_empty());
        // Pushes behind a peeked time go to the side heap, which the hint reads first.
        let mut q = EventQueue::new();
        q.push(at(100), 10);
        q.push(at(90_000), 11);
        q.pop();
        q.peek_time();
        q.push(at(200), 12);
        assert_eq!(q.next_hint(), Some(&12));
    }

    #[test]
    fn next_two_hints_name_the_next_two_events_in_a_sparse_wheel() {
        let mut q = EventQueue::new();
        assert_eq!(q.next_two_hints(), (None, None));
        // Distinct slots (and ties in `ready`): every guess is exact.
        for (i, t) in [5u64, 5, 900, 70_000, 70_001, 1 << 30].into_iter().enumerate() {
            q.push(at(t), i);
        }
        let mut order = Vec::new();
        while let (Some(&first), second) = q.next_two_hints() {
            let second = second.copied();
            assert_eq!(q.pop().map(|p| p.1), Some(first));
            assert_eq!(q.next_hint().copied(), second, "after popping {first}");
            order.push(first);
        }
        assert_eq!(order, [0, 1, 2, 3, 4, 5]);
        assert!(q.is_empty());
    }

    #[test]
    fn heap_bytes_grow_with_pending_events() {
        let mut q = EventQueue::new();
        let empty = q.heap_bytes();
        for i in 0..10_000u64 {
            q.push(at(i * 37), i as u32);
        }
        assert!(q.heap_bytes() >= empty + 10_000 * 16);
    }

    #[test]
    fn a_large_steady_state_run_matches_a_binary_heap() {
        use rand::{Rng, SeedableRng};
        let mut rng = peerlab_engine::NodeRng::seed_from_u64(5);
        let mut q = EventQueue::new();
        let mut reference = BinaryHeap::new();
        let mut seq = 0u64;
        for node in 0..20_000u64 {
            let t = rng.gen_range(0..100_000u64);
            q.push(at(t), (node, seq));
            reference.push(std::cmp::Reverse((t, seq, node)));
            seq += 1;
        }
        for _ in 0..300_000 {
            let std::cmp::Reverse((t, s, node)) = reference.pop().unwrap();
            assert_eq!(q.pop(), Some((at(t), (node, s))));
            // Mostly near-future timers, some ties, some far-future churn events.
            let d = match rng.gen_range(0..10) {
                0 => 0,
                1 => rng.gen_range(0..100_000_000),
                _ => rng.gen_range(1_000..100_000),
            };
            q.push(at(t + d), (node, seq));
            reference.push(std::cmp::Reverse((t + d, seq, node)));
            seq += 1;
        }
        assert_eq!(q.len(), reference.len());
    }

    /// One step of a random interleaving: push at `last_popped + delta`, or pop, or peek.
    #[derive(Debug, Clone)]
    enum Op {
        Push(u64),
        Pop,
        Peek,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            // Deltas spanning ties, every wheel level and the far future.
            4 => prop_oneof![Just(0u64), 0..64u64, 0..5_000u64, 0..10_000_000u64, any::<u64>()]
                .prop_map(Op::Push),
            3 => Just(Op::Pop),
            1 => Just(Op::Peek),
        ]
    }

    proptest! {
        #[test]
        fn matches_a_sorted_reference(ops in proptest::collection::vec(op(), 1..400)) {
            let mut q = EventQueue::new();
            // Reference: (time, seq) pairs; pop takes the minimum.
            let mut reference: Vec<(u64, u64)> = Vec::new();
            let mut seq = 0u64;
            let mut last = 0u64;
            for op in ops {
                match op {
                    Op::Push(delta) => {
                        let t = last.saturating_add(delta);
                        q.push(at(t), seq);
                        reference.push((t, seq));
                        seq += 1;
                    }
                    Op::Pop => {
                        let want = reference.iter().copied().enumerate().min_by_key(|p| p.1);
                        let got = q.pop();
                        match want {
                            None => prop_assert_eq!(got, None),
                            Some((i, (t, s))) => {
                                reference.swap_remove(i);
                                prop_assert_eq!(got, Some((at(t), s)));
                                last = t;
                            }
                        }
                    }
                    Op::Peek => {
                        let want = reference.iter().map(|p| p.0).min().map(at);
                        prop_assert_eq!(q.peek_time(), want);
                    }
                }
                prop_assert_eq!(q.len(), reference.len());
            }
            reference.sort_unstable();
            for (t, s) in reference {
                prop_assert_eq!(q.pop(), Some((at(t), s)));
            }
            prop_assert_eq!(q.pop(), None);
            prop_assert_eq!(q.clamped(), 0);
        }
    }
}
