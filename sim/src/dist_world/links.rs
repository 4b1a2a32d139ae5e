//! Shared links with fair sharing between connections: the server's access link and each
//! branch's WAN.
//!
//! \[CHOICE\] A WAN carries many HTTP connections at once. Each (sender, receiver) pair is one
//! connection whose responses go in order (HTTP/1.1 on one connection is FIFO), and the link is
//! shared equally between the connections that have something to send (processor sharing, as
//! TCP flows through a router roughly are). A plain FIFO would make a 1 KB content-information
//! answer wait behind gigabytes of other clients' ranges; sharing per message would make a
//! client's 25 range requests all finish at the very end. The link is work-conserving: 100 MB
//! alone over a 10 Mbps WAN takes 80 s.
//!
//! Arithmetic is in integers (units of 10⁻⁹ bit, so a rate in bit/s serves `rate` units per ns),
//! so runs reproduce exactly. A completion is an event carrying the link's version; any change
//! bumps the version, which cancels the previously scheduled completion.

use peerlab_engine::{Duration, Instant};
use std::collections::VecDeque;

/// Work of `bytes`, in 10⁻⁹ bit.
fn work(bytes: u64) -> u128 {
    u128::from(bytes.max(1)) * 8 * 1_000_000_000
}

/// One connection: its transfers in order; the first is being sent.
struct Conn<T> {
    key: u64,
    /// Work left on the first transfer.
    head_left: u128,
    items: VecDeque<(u64, T)>,
}

/// A link of `rate` bits per second shared equally by its busy connections.
pub(super) struct PsLink<T> {
    rate: u128,
    /// Busy connections, in the order they became busy.
    conns: Vec<Conn<T>>,
    /// When the head transfers were last brought up to date.
    at: Instant,
    /// Bumped on every change; a completion event for an older version is stale.
    pub version: u64,
}

impl<T> PsLink<T> {
    /// An idle link; `rate_bps` of 0 is treated as 1 bit/s (validation rejects it earlier).
    pub fn new(rate_bps: u64) -> Self {
        PsLink {
            rate: u128::from(rate_bps.max(1)),
            conns: Vec::new(),
            at: Instant::ZERO,
            version: 0,
        }
    }

    /// Transfers queued or in progress.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.conns.iter().map(|c| c.items.len()).sum()
    }

    /// Serves every busy connection its share of the time since the last update.
    fn advance(&mut self, now: Instant) {
        let dt_ns = u128::from(now.saturating_since(self.at).as_micros()) * 1_000;
        self.at = self.at.max(now);
        if self.conns.is_empty() || dt_ns == 0 {
            return;
        }
        let share = dt_ns * self.rate / self.conns.len() as u128;
        for c in &mut self.conns {
            c.head_left = c.head_left.saturating_sub(share);
        }
    }

    /// Queues a transfer of `bytes` on connection `key` at `now`.
    pub fn push(&mut self, now: Instant, key: u64, bytes: u64, item: T) {
        self.advance(now);
        self.version += 1;
        if let Some(c) = self.conns.iter_mut().find(|c| c.key == key) {
            c.items.push_back((bytes, item));
            return;
        }
        self.conns.push(Conn {
            key,
            head_left: work(bytes),
            items: VecDeque::from([(bytes, item)]),
        });
    }

    /// When the next transfer finishes, if any (rounded up to the microsecond).
    pub fn next_done(&self) -> Option<Instant> {
        let min = self.conns.iter().map(|c| c.head_left).min()?;
        let ns = (min * self.conns.len() as u128).div_ceil(self.rate);
        let us = u64::try_from(ns.div_ceil(1_000)).unwrap_or(u64::MAX);
        Some(self.at + Duration::from_micros(us))
    }

    /// Removes and returns the transfers finished by `now`, in connection order.
    pub fn take_done(&mut self, now: Instant) -> Vec<T> {
        self.advance(now);
        let mut done = Vec::new();
        for c in &mut self.conns {
            if c.head_left == 0 {
                if let Some((_, item)) = c.items.pop_front() {
                    done.push(item);
                }
                if let Some((bytes, _)) = c.items.front() {
                    c.head_left = work(*bytes);
                }
            }
        }
        self.conns.retain(|c| !c.items.is_empty());
        if !done.is_empty() {
            self.version += 1;
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hundred_megabytes_over_ten_megabits_take_eighty_seconds() {
        let mut l = PsLink::new(10_000_000);
        l.push(Instant::ZERO, 1, 100_000_000, ());
        let t = l.next_done().expect("one flow");
        assert_eq!(t, Instant::ZERO + Duration::from_secs(80));
        assert_eq!(l.take_done(t).len(), 1);
        assert_eq!(l.len(), 0);
    }

    #[test]
    fn flows_share_the_rate_and_small_ones_finish_first() {
        let mut l = PsLink::new(8_000_000); // 1 MB/s
        l.push(Instant::ZERO, 1, 10_000_000, 'a');
        l.push(Instant::ZERO, 2, 1_000, 'b');
        l.push(Instant::ZERO, 1, 1_000, 'c');
        // Two flows at 0.5 MB/s each: b's 1 KB takes 2 ms.
        let t = l.next_done().expect("flows");
        assert_eq!(t, Instant::ZERO + Duration::from_millis(2));
        assert_eq!(l.take_done(t), vec!['b']);
        // Work conserving: a is done when a and b are, 10.001 MB at 1 MB/s.
        let t = l.next_done().expect("a");
        assert_eq!(t, Instant::ZERO + Duration::from_micros(10_001_000));
        assert_eq!(l.take_done(t), vec!['a']);
        // c waited behind a on the same connection, then had the link alone.
        let t = l.next_done().expect("c");
        assert_eq!(t, Instant::ZERO + Duration::from_micros(10_002_000));
        assert_eq!(l.take_done(t), vec!['c']);
        assert_eq!(l.len(), 0);
    }
}
