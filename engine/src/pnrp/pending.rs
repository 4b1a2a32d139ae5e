//! The Pending List (MS-PNRP §3.1.1, §3.1.6.3): every sent request awaiting an answer, with its
//! retransmission deadline, in slot vectors with a deadline-ordered list (see `PendingList`).

use super::id::PnrpId;
use super::message::Message;
use crate::{Endpoint, Instant};

/// Why a request was sent: decides what its answer or its failure does (MS-PNRP §3.1.6.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// A LOOKUP of the resolve with this key (MS-PNRP §3.1.4.4.2).
    Lookup {
        /// ORT key.
        resolve: u64,
    },
    /// The final INQUIRE of a resolve (MS-PNRP §3.1.4.4.2).
    ResolveInquire {
        /// ORT key.
        resolve: u64,
        /// The nonce the CPA must carry.
        nonce: [u8; 16],
    },
    /// A return-routability INQUIRE for a pending cache add (MS-PNRP §3.1.5.11).
    AdmitInquire {
        /// The candidate's ID.
        id: PnrpId,
    },
    /// A SOLICIT of a sync conversation (MS-PNRP §3.1.4.3).
    Solicit {
        /// The conversation nonce.
        nonce: [u8; 16],
    },
    /// A REQUEST of a sync conversation (MS-PNRP §3.1.4.3).
    Request,
    /// A D-clear FLOOD (MS-PNRP §3.2.5.11, §3.2.4.2).
    Flood {
        /// The destination's ID (Validate PNRP ID), evicted when the FLOOD times out.
        validate: PnrpId,
    },
}

/// One Pending List entry.
#[derive(Clone, Debug)]
pub struct PendingEntry {
    /// The datagram, resent verbatim.
    pub msg: Message,
    /// Where it went.
    pub to: Endpoint,
    /// Transmissions left before failure (MS-PNRP §3.1.6.3 RetryCount).
    pub retries_left: u8,
    /// Next retransmission deadline.
    pub deadline: Instant,
    /// What the answer or failure does.
    pub purpose: Purpose,
}

/// No slot: the end of the deadline list.
const NIL: u32 = u32::MAX;

/// One stored entry, linked into the deadline order.
#[derive(Clone, Debug)]
struct Slot {
    id: u32,
    prev: u32,
    next: u32,
    entry: PendingEntry,
}

/// The Pending List, keyed by Message ID.
///
/// Every request costs a round trip through this table, on nodes that are idle again right after,
/// so it avoids per-entry allocations and trees: entries sit inline in a dense slot vector (no
/// `Box`), an `(id, slot)` vector sorted by ID finds them (IDs come from a counter, so inserts
/// append), and a doubly linked list through the slots keeps the `(deadline, id)` order. Every
/// deadline is `now + retransmit_interval`, so a new or moved deadline links in at (or within a few
/// equal deadlines of) the tail. An emptied list gives its two vectors back (`release_if_empty`).
#[derive(Clone, Debug)]
pub struct PendingList {
    slots: Vec<Slot>,
    index: Vec<(u32, u32)>,
    head: u32,
    tail: u32,
}

impl Default for PendingList {
    fn default() -> Self {
        PendingList {
            slots: Vec::new(),
            index: Vec::new(),
            head: NIL,
            tail: NIL,
        }
    }
}

impl PendingList {
    /// The message-ID index (sorted `(id, slot)` pairs), for warming it (`PnrpNode::hot_regions`).
    pub(super) fn index(&self) -> &[(u32, u32)] {
        &self.index
    }

    fn find(&self, msg_id: u32) -> Result<usize, usize> {
        // Answers mostly match the newest request: look at the end before searching.
        match self.index.last() {
            Some(&(last, _)) if last == msg_id => Ok(self.index.len() - 1),
            Some(&(last, _)) if last < msg_id => Err(self.index.len()),
            _ => self.index.binary_search_by_key(&msg_id, |&(id, _)| id),
        }
    }

    fn slot_of(&self, msg_id: u32) -> Option<usize> {
        self.find(msg_id).ok().map(|i| self.index[i].1 as usize)
    }

    fn key(&self, s: u32) -> (Instant, u32) {
        let slot = &self.slots[s as usize];
        (slot.entry.deadline, slot.id)
    }

    /// Links slot `s` into the deadline order, searching back from the tail.
    fn link(&mut self, s: u32) {
        let k = self.key(s);
        let mut after = self.tail;
        while after != NIL && self.key(after) > k {
            after = self.slots[after as usize].prev;
        }
        let next = if after == NIL {
            self.head
        } else {
            self.slots[after as usize].next
        };
        let slot = &mut self.slots[s as usize];
        (slot.prev, slot.next) = (after, next);
        self.point_at(s, after, next);
    }

    /// Makes the neighbours `prev` and `next` (or the list ends) point at slot `s`.
    fn point_at(&mut self, s: u32, prev: u32, next: u32) {
        if prev == NIL {
            self.head = s;
        } else {
            self.slots[prev as usize].next = s;
        }
        if next == NIL {
            self.tail = s;
        } else {
            self.slots[next as usize].prev = s;
        }
    }

    /// Takes slot `s` out of the deadline order.
    fn unlink(&mut self, s: u32) {
        let Slot { prev, next, .. } = self.slots[s as usize];
        if prev == NIL {
            self.head = next;
        } else {
            self.slots[prev as usize].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.slots[next as usize].prev = prev;
        }
    }

    /// Adds an entry under `msg_id` (replacing any stale one with the same ID).
    pub fn insert(&mut self, msg_id: u32, entry: PendingEntry) {
        match self.find(msg_id) {
            Ok(i) => {
                let s = self.index[i].1;
                self.unlink(s);
                self.slots[s as usize].entry = entry;
                self.link(s);
            }
            Err(i) => {
                let s = self.slots.len() as u32;
                if self.slots.capacity() == 0 {
                    // Two slots (~600 bytes, a thread-cache size): a node often has two requests out.
                    self.slots.reserve_exact(2);
                }
                self.slots.push(Slot {
                    id: msg_id,
                    prev: NIL,
                    next: NIL,
                    entry,
                });
                self.index.insert(i, (msg_id, s));
                self.link(s);
            }
        }
    }

    /// Removes and returns the entry for `msg_id`.
    pub fn remove(&mut self, msg_id: u32) -> Option<PendingEntry> {
        let i = self.find(msg_id).ok()?;
        let s = self.index.remove(i).1;
        self.unlink(s);
        let removed = self.slots.swap_remove(s as usize);
        if let Some(moved) = self.slots.get(s as usize) {
            // The last slot moved into `s`: repoint its neighbours and its index entry.
            let (prev, next, id) = (moved.prev, moved.next, moved.id);
            self.point_at(s, prev, next);
            if let Ok(j) = self.find(id) {
                self.index[j].1 = s;
            }
        }
        Some(removed.entry)
    }

    /// The entry for `msg_id`.
    pub fn get(&self, msg_id: u32) -> Option<&PendingEntry> {
        self.slot_of(msg_id).map(|s| &self.slots[s].entry)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Frees the vectors when nothing is pending (an emptied `Vec` keeps its capacity).
    pub fn release_if_empty(&mut self) {
        if self.slots.is_empty() && self.slots.capacity() != 0 {
            self.slots = Vec::new();
            self.index = Vec::new();
        }
    }

    /// The earliest retransmission deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        (self.head != NIL).then(|| self.slots[self.head as usize].entry.deadline)
    }

    /// The Message ID of an entry due at `now`, if any (its timer stays until rescheduled or removed).
    pub fn due(&self, now: Instant) -> Option<u32> {
        let slot = self.slots.get(self.head as usize)?;
        (slot.entry.deadline <= now).then_some(slot.id)
    }

    /// Moves the deadline of `msg_id` and returns its entry.
    pub fn reschedule(&mut self, msg_id: u32, deadline: Instant) -> Option<&PendingEntry> {
        let s = self.slot_of(msg_id)? as u32;
        self.unlink(s);
        let e = &mut self.slots[s as usize].entry;
        e.deadline = deadline;
        e.retries_left = e.retries_left.saturating_sub(1);
        self.link(s);
        Some(&self.slots[s as usize].entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pnrp::message::Ack;
    use crate::Duration;
    use std::net::Ipv6Addr;

    fn entry(at: u64) -> PendingEntry {
        PendingEntry {
            msg: Message::Ack(Ack {
                message_id: 1,
                acked_id: 2,
                not_registered: None,
            }),
            to: Endpoint::new(Ipv6Addr::LOCALHOST, 4000),
            retries_left: 2,
            deadline: Instant::from_micros(at),
            purpose: Purpose::Request,
        }
    }

    #[test]
    fn deadlines_come_out_in_order_and_follow_reschedules() {
        let mut p = PendingList::default();
        p.insert(5, entry(300));
        p.insert(6, entry(100));
        assert_eq!(p.next_deadline(), Some(Instant::from_micros(100)));
        assert_eq!(p.due(Instant::from_micros(99)), None);
        assert_eq!(p.due(Instant::from_micros(100)), Some(6));
        let e = p
            .reschedule(6, Instant::from_micros(100) + Duration::from_micros(500))
            .unwrap();
        assert_eq!(e.retries_left, 1);
        assert_eq!(p.due(Instant::from_micros(400)), Some(5));
        assert!(p.remove(5).is_some());
        assert_eq!(p.next_deadline(), Some(Instant::from_micros(600)));
        p.remove(6);
        assert!(p.is_empty());
        assert_eq!(p.next_deadline(), None);
    }

    /// The reference the list replaced: a map plus a `(deadline, id)` set.
    #[derive(Default)]
    struct Model {
        entries: std::collections::BTreeMap<u32, u64>,
        timers: std::collections::BTreeSet<(u64, u32)>,
    }

    #[test]
    fn matches_a_map_and_a_deadline_set() {
        let (mut p, mut m) = (PendingList::default(), Model::default());
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let (mut now, mut next_id) = (0u64, u32::MAX - 40);
        for _ in 0..20_000 {
            now += rnd(3);
            match rnd(6) {
                // New requests (IDs wrap) or a stale ID reused; deadlines mostly now + 10.
                0 | 1 => {
                    let id = if rnd(10) == 0 {
                        next_id.wrapping_sub(rnd(20) as u32)
                    } else {
                        next_id
                    };
                    next_id = next_id.wrapping_add(1);
                    let at = now + 10 - rnd(2) * rnd(10);
                    p.insert(id, entry(at));
                    if let Some(old) = m.entries.insert(id, at) {
                        m.timers.remove(&(old, id));
                    }
                    m.timers.insert((at, id));
                }
                2 | 3 => {
                    let id = next_id.wrapping_sub(rnd(30) as u32);
                    let got = p.remove(id).map(|e| e.deadline.as_micros());
                    let want = m.entries.remove(&id);
                    if let Some(at) = want {
                        m.timers.remove(&(at, id));
                    }
                    assert_eq!(got, want);
                }
                _ => {
                    if let Some(id) = p.due(Instant::from_micros(now)) {
                        let &(at, want) = m.timers.first().unwrap();
                        assert_eq!(id, want);
                        assert!(at <= now);
                        if rnd(2) == 0 {
                            p.reschedule(id, Instant::from_micros(now + 10)).unwrap();
                            m.timers.remove(&(at, id));
                            m.timers.insert((now + 10, id));
                            m.entries.insert(id, now + 10);
                        } else {
                            p.remove(id).unwrap();
                            m.timers.remove(&(at, id));
                            m.entries.remove(&id);
                        }
                    } else {
                        assert!(m.timers.first().is_none_or(|&(at, _)| at > now));
                    }
                }
            }
            assert_eq!(p.len(), m.entries.len());
            assert_eq!(
                p.next_deadline().map(|t| t.as_micros()),
                m.timers.first().map(|&(t, _)| t)
            );
            for id in next_id.wrapping_sub(5)..=next_id.wrapping_sub(1) {
                assert_eq!(
                    p.get(id).map(|e| e.deadline.as_micros()),
                    m.entries.get(&id).copied()
                );
            }
            p.release_if_empty();
        }
        // Drain in deadline order.
        while let Some(&(at, id)) = m.timers.first() {
            assert_eq!(p.due(Instant::from_micros(at)), Some(id));
            p.remove(id);
            m.timers.remove(&(at, id));
        }
        assert!(p.is_empty() && p.next_deadline().is_none());
        p.release_if_empty();
        assert_eq!(p.slots.capacity() + p.index.capacity(), 0);
    }
}
