//! The referral list (MS-PPGRH §3.1.1, §3.1.5.2.2-4): addresses learned from WELCOME, REFUSE and
//! DISCONNECT, at most 100, the least recently added evicted first, each flagged once a
//! connection was attempted through the REFUSE rule.
//!
//! PEER_IN6_ADDRESS carries no node id, so entries hold addresses only. An address already in
//! the list is re-added as the newest entry and keeps its attempted flag (the list never holds
//! one address twice; MS-PPGRH leaves duplicates open).

use crate::Endpoint;
use rand::Rng;
use std::collections::VecDeque;

/// Referral list capacity (MS-PPGRH §3.1.1).
pub const REFERRAL_CAPACITY: usize = 100;

/// One referral.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReferralEntry {
    /// The referred address.
    pub endpoint: Endpoint,
    /// Order of receipt (higher = more recently added).
    pub seq: u64,
    /// A connection attempt was made to it after a REFUSE.
    pub attempted: bool,
}

/// The referral list, oldest entry first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferralList {
    entries: VecDeque<ReferralEntry>,
    capacity: usize,
    next_seq: u64,
}

impl ReferralList {
    /// An empty list holding at most `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        ReferralList {
            entries: VecDeque::new(),
            capacity,
            next_seq: 0,
        }
    }

    /// Adds `endpoint` as the newest entry, evicting the least recently added beyond capacity.
    pub fn add(&mut self, endpoint: Endpoint) {
        let attempted = match self.entries.iter().position(|e| e.endpoint == endpoint) {
            Some(i) => self.entries.remove(i).is_some_and(|e| e.attempted),
            None => false,
        };
        self.entries.push_back(ReferralEntry {
            endpoint,
            seq: self.next_seq,
            attempted,
        });
        self.next_seq += 1;
        while self.entries.len() > self.capacity {
            self.entries.pop_front();
        }
    }

    /// Adds every address of a message's array, in order.
    pub fn extend(&mut self, endpoints: impl IntoIterator<Item = Endpoint>) {
        for e in endpoints {
            self.add(e);
        }
    }

    /// Drops `endpoint` (for example one of the node's own addresses).
    pub fn remove(&mut self, endpoint: &Endpoint) {
        self.entries.retain(|e| e.endpoint != *endpoint);
    }

    /// The entries, least recently added first.
    pub fn iter(&self) -> impl Iterator<Item = &ReferralEntry> {
        self.entries.iter()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Flags `endpoint` as attempted.
    pub fn mark_attempted(&mut self, endpoint: &Endpoint) {
        for e in self.entries.iter_mut().filter(|e| e.endpoint == *endpoint) {
            e.attempted = true;
        }
    }

    /// The REFUSE rule (MS-PPGRH §3.1.5.2.3): pick an entry at random; if it was attempted,
    /// step forward (wrapping) to the first entry not attempted; flag and return it. `None` when
    /// every entry was attempted.
    pub fn pick_untried(&mut self, rng: &mut impl Rng) -> Option<Endpoint> {
        if self.entries.is_empty() {
            return None;
        }
        let n = self.entries.len();
        let start = rng.gen_range(0..n);
        let i = (0..n)
            .map(|k| (start + k) % n)
            .find(|&i| !self.entries[i].attempted)?;
        self.entries[i].attempted = true;
        Some(self.entries[i].endpoint)
    }
}

impl Default for ReferralList {
    fn default() -> Self {
        ReferralList::new(REFERRAL_CAPACITY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use std::net::Ipv6Addr;

    fn ep(n: u16) -> Endpoint {
        Endpoint::new(Ipv6Addr::LOCALHOST, n)
    }

    #[test]
    fn capacity_evicts_the_least_recently_added() {
        let mut list = ReferralList::new(3);
        list.extend([ep(1), ep(2), ep(3)]);
        list.add(ep(1)); // re-added: now the newest
        list.add(ep(4));
        let ports: Vec<u16> = list.iter().map(|e| e.endpoint.port).collect();
        assert_eq!(ports, vec![3, 1, 4]);
        assert!(list.iter().zip(list.iter().skip(1)).all(|(a, b)| a.seq < b.seq));
        list.remove(&ep(1));
        assert_eq!(list.len(), 2);
        assert_eq!(ReferralList::default().capacity, REFERRAL_CAPACITY);
    }

    #[test]
    fn refuse_rule_steps_forward_to_an_untried_entry_until_exhausted() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut list = ReferralList::new(100);
        list.extend((1..=5).map(ep));
        list.mark_attempted(&ep(3));
        let mut picked = Vec::new();
        while let Some(e) = list.pick_untried(&mut rng) {
            picked.push(e.port);
        }
        picked.sort_unstable();
        assert_eq!(picked, vec![1, 2, 4, 5]);
        assert!(list.iter().all(|e| e.attempted));
        // Re-adding keeps the flag: a refusing node is not retried through referrals.
        list.add(ep(2));
        assert_eq!(list.pick_untried(&mut rng), None);
        list.add(ep(9));
        assert_eq!(list.pick_untried(&mut rng), Some(ep(9)));
        assert_eq!(ReferralList::new(10).pick_untried(&mut rng), None);
    }

    #[test]
    fn every_untried_entry_can_be_picked_first() {
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..200 {
            let mut list = ReferralList::new(100);
            list.extend((1..=4).map(ep));
            list.mark_attempted(&ep(2));
            seen.insert(
                list.pick_untried(&mut ChaCha8Rng::seed_from_u64(seed))
                    .unwrap()
                    .port,
            );
        }
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![1, 3, 4]);
    }
}
