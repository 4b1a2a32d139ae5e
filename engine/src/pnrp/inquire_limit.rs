//! A per-source limit on INQUIRE answers: a peerlab option, off by default.
//!
//! MS-PNRP answers every INQUIRE (§3.2.5.6), from anyone, unauthenticated, with a CPA signed over
//! the asker's nonce (§3.2.5.7). An INQUIRE is small and its answer is not: a 76-byte INQUIRE asking
//! for the CPA of a registered ID draws an AUTHORITY of
//! about 519 bytes (the route entry and a CPA freshly signed over the asker's nonce), about 7 times
//! the bytes, and a signature's worth of CPU. With spoofed source addresses
//! that makes a PNRP node a reflector. `inquire_answers_per_source` caps the answers one source
//! address gets per second; the rest are dropped and counted (`drops["inquire_rate_limited"]`).

use crate::{Duration, Endpoint, Instant};
use std::collections::BTreeMap;

/// Source addresses tracked at once; beyond it the source whose window began first is forgotten.
pub const LIMITED_SOURCES_MAX: usize = 1024;
/// The window over which answers to one source are counted.
pub const WINDOW: Duration = Duration::from_secs(1);

/// Answers given to one source in its current window.
#[derive(Clone, Copy, Debug)]
struct Window {
    start: Instant,
    answered: u32,
}

/// Counts INQUIRE answers per source address in one-second windows.
#[derive(Clone, Debug)]
pub struct InquireLimiter {
    per_window: u32,
    sources: BTreeMap<Endpoint, Window>,
}

impl InquireLimiter {
    /// A limiter answering at most `per_second` INQUIREs per source per second.
    pub fn new(per_second: u32) -> Self {
        InquireLimiter {
            per_window: per_second,
            sources: BTreeMap::new(),
        }
    }

    /// True when an INQUIRE from `from` at `now` may be answered (and counts it).
    pub fn allow(&mut self, now: Instant, from: Endpoint) -> bool {
        if !self.sources.contains_key(&from) && self.sources.len() >= LIMITED_SOURCES_MAX {
            self.make_room(now);
        }
        let w = self.sources.entry(from).or_insert(Window {
            start: now,
            answered: 0,
        });
        if now.saturating_since(w.start) >= WINDOW {
            *w = Window {
                start: now,
                answered: 0,
            };
        }
        if w.answered >= self.per_window {
            return false;
        }
        w.answered += 1;
        true
    }

    /// Sources tracked now.
    pub fn tracked(&self) -> usize {
        self.sources.len()
    }

    /// Forgets every source whose window has ended, or else the one whose window began first.
    fn make_room(&mut self, now: Instant) {
        self.sources.retain(|_, w| now.saturating_since(w.start) < WINDOW);
        if self.sources.len() < LIMITED_SOURCES_MAX {
            return;
        }
        let oldest = self
            .sources
            .iter()
            .min_by_key(|(ep, w)| (w.start, **ep))
            .map(|(ep, _)| *ep);
        if let Some(ep) = oldest {
            self.sources.remove(&ep);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    fn source(i: u16) -> Endpoint {
        Endpoint::new(Ipv6Addr::new(0x2001, 0xdb8, 9, i, 0, 0, 0, 1), 3540)
    }

    #[test]
    fn each_source_gets_its_quota_per_second() {
        let mut l = InquireLimiter::new(3);
        let t0 = Instant::ZERO + Duration::from_secs(10);
        let answered = (0..10).filter(|_| l.allow(t0, source(1))).count();
        assert_eq!(answered, 3);
        // Another source has its own quota.
        assert!(l.allow(t0, source(2)));
        // The next window starts afresh.
        let t1 = t0 + WINDOW;
        assert_eq!((0..10).filter(|_| l.allow(t1, source(1))).count(), 3);
    }

    #[test]
    fn the_table_stays_bounded_under_many_sources() {
        let mut l = InquireLimiter::new(1);
        let t0 = Instant::ZERO;
        for i in 0..(3 * LIMITED_SOURCES_MAX as u16) {
            assert!(l.allow(t0, source(i)), "a new source is answered once");
            assert!(l.tracked() <= LIMITED_SOURCES_MAX);
        }
        // Windows that ended are forgotten first.
        let later = t0 + WINDOW;
        assert!(l.allow(later, source(60_000)));
        assert_eq!(l.tracked(), 1);
    }
}
