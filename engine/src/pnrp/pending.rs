//! The Pending List (pnrp.md §2.1, §4.14): every sent request awaiting an answer, with its
//! retransmission deadline. Deadlines sit in a `BTreeSet<(Instant, MessageId)>`, so the next
//! deadline and every due entry cost O(log n).

use super::id::PnrpId;
use super::message::Message;
use crate::{Endpoint, Instant};
use std::collections::{BTreeMap, BTreeSet};

/// Why a request was sent: decides what its answer or its failure does (§4.14).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// A LOOKUP of the resolve with this key (§4.6 step 8).
    Lookup {
        /// ORT key.
        resolve: u64,
    },
    /// The final INQUIRE of a resolve (§4.6 step 19).
    ResolveInquire {
        /// ORT key.
        resolve: u64,
        /// The nonce the CPA must carry.
        nonce: [u8; 16],
    },
    /// A return-routability INQUIRE for a pending cache add (§4.4 step 4).
    AdmitInquire {
        /// The candidate's ID.
        id: PnrpId,
    },
    /// A SOLICIT of a sync conversation (§4.3 step 2).
    Solicit {
        /// The conversation nonce.
        nonce: [u8; 16],
    },
    /// A REQUEST of a sync conversation (§4.3 step 3).
    Request,
    /// A D-clear FLOOD (§4.5, §4.10).
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
    /// Transmissions left before failure (§4.14 RetryCount).
    pub retries_left: u8,
    /// Next retransmission deadline.
    pub deadline: Instant,
    /// What the answer or failure does.
    pub purpose: Purpose,
}

/// The Pending List, keyed by Message ID.
///
/// Entries are boxed: a `PendingEntry` is ~270 bytes, and B-tree inserts and removals shift whole
/// node arrays, which dominated its cost when stored inline.
#[derive(Clone, Debug, Default)]
pub struct PendingList {
    entries: BTreeMap<u32, Box<PendingEntry>>,
    timers: BTreeSet<(Instant, u32)>,
}

impl PendingList {
    /// Adds an entry under `msg_id` (replacing any stale one with the same ID).
    pub fn insert(&mut self, msg_id: u32, entry: PendingEntry) {
        self.timers.insert((entry.deadline, msg_id));
        if let Some(old) = self.entries.insert(msg_id, Box::new(entry)) {
            self.timers.remove(&(old.deadline, msg_id));
        }
    }

    /// Removes and returns the entry for `msg_id`.
    pub fn remove(&mut self, msg_id: u32) -> Option<PendingEntry> {
        let e = self.entries.remove(&msg_id)?;
        self.timers.remove(&(e.deadline, msg_id));
        Some(*e)
    }

    /// The entry for `msg_id`.
    pub fn get(&self, msg_id: u32) -> Option<&PendingEntry> {
        self.entries.get(&msg_id).map(|e| &**e)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Frees the tables' root nodes when nothing is pending (an empty B-tree keeps its leaf).
    pub fn release_if_empty(&mut self) {
        if self.entries.is_empty() {
            self.entries = BTreeMap::new();
            self.timers = BTreeSet::new();
        }
    }

    /// The earliest retransmission deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers.first().map(|(t, _)| *t)
    }

    /// The Message ID of an entry due at `now`, if any (its timer stays until rescheduled or removed).
    pub fn due(&self, now: Instant) -> Option<u32> {
        self.timers.first().filter(|(t, _)| *t <= now).map(|(_, id)| *id)
    }

    /// Moves the deadline of `msg_id` and returns its entry.
    pub fn reschedule(&mut self, msg_id: u32, deadline: Instant) -> Option<&PendingEntry> {
        let e = self.entries.get_mut(&msg_id)?;
        self.timers.remove(&(e.deadline, msg_id));
        e.deadline = deadline;
        e.retries_left = e.retries_left.saturating_sub(1);
        self.timers.insert((deadline, msg_id));
        Some(&**e)
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
}
