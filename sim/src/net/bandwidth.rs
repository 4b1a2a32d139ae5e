//! Per-node uplink and downlink bandwidth with FIFO queueing and a queue limit.
//!
//! Time here is in nanoseconds so that rounding a message's transmission time never accumulates
//! to more than a microsecond over a long transfer (100 MB at 10 Mbps is 80 s, not 80 s + drift).
//!
//! Uplink: sends come in non-decreasing `now`, so the uplink is an exact FIFO with one
//! `free_at`: `done = max(now, free_at) + bytes·8/up`. Its backlog is `(free_at − now)·up/8`.
//!
//! Downlink (peerlab choice): reservations are made at send time but the message reaches the downlink
//! later, and a message sent later over a shorter path can reach it first. A single `free_at`
//! would queue it behind the longer one (up to that path's whole latency). So each node keeps its
//! reserved busy intervals, and a message takes the earliest gap at or after its arrival that fits
//! its transmission time: capacity is never exceeded and the link never idles while a message waits
//! for it. At most [`MAX_INTERVALS`] intervals are kept per node; past that a message goes after the
//! last one and is folded into it (conservative). Intervals that ended before `now` are pruned.

/// A node's access link rates: bits per second, 0 = unlimited.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bandwidth {
    /// Uplink rate in bits per second (0 = unlimited).
    pub up_bps: u64,
    /// Downlink rate in bits per second (0 = unlimited).
    pub down_bps: u64,
}

/// Bound on reserved downlink intervals per node (module docs).
pub const MAX_INTERVALS: usize = 1024;

/// One node's link: rates and queue limit, side by side so one cache line serves both.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct NodeLink {
    rates: Bandwidth,
    /// Bytes a link may hold, in service plus waiting (0 = unlimited); an idle link always takes one.
    queue_limit_bytes: u64,
}

/// Per-node link state.
pub(crate) struct Links {
    rates: Vec<NodeLink>,
    default: NodeLink,
    up_free_ns: Vec<u64>,
    /// Sorted, disjoint, non-adjacent `[start, end)` busy intervals per node, in ns.
    down_busy: Vec<Vec<(u64, u64)>>,
}

/// The queue at a link was over its limit.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct QueueFull;

impl Links {
    /// Links for `n` nodes, all at `default`.
    pub(crate) fn new(default: Bandwidth, queue_limit_bytes: u64, n: u32) -> Self {
        let mut l = Links {
            rates: Vec::new(),
            default: NodeLink {
                rates: default,
                queue_limit_bytes,
            },
            up_free_ns: Vec::new(),
            down_busy: Vec::new(),
        };
        l.ensure_nodes(n);
        l
    }

    /// Makes room for nodes `0..n` at the default rates.
    pub(crate) fn ensure_nodes(&mut self, n: u32) {
        let n = n as usize;
        if self.rates.len() < n {
            self.rates.resize(n, self.default);
            self.up_free_ns.resize(n, 0);
            self.down_busy.resize_with(n, Vec::new);
        }
    }

    /// Heap bytes of per-node link state, reserved intervals included.
    pub(crate) fn heap_bytes(&self) -> usize {
        let intervals: usize = self.down_busy.iter().map(|v| v.capacity() * 16).sum();
        self.rates.capacity() * std::mem::size_of::<NodeLink>()
            + self.up_free_ns.capacity() * 8
            + self.down_busy.capacity() * std::mem::size_of::<Vec<(u64, u64)>>()
            + intervals
    }

    /// One node's rates (the default for a node not yet known).
    pub(crate) fn rates(&self, node: u32) -> Bandwidth {
        self.rates.get(node as usize).unwrap_or(&self.default).rates
    }

    /// Overrides one node's rates.
    pub(crate) fn set_rates(&mut self, node: u32, b: Bandwidth) {
        self.rates[node as usize].rates = b;
    }

    /// Overrides one node's queue limit (bytes per direction, 0 = unlimited).
    pub(crate) fn set_queue_limit(&mut self, node: u32, bytes: u64) {
        self.rates[node as usize].queue_limit_bytes = bytes;
    }

    /// Cache hint for node `i`'s rates and downlink queue (see `NetModel::prefetch_receiver`).
    #[inline]
    pub(crate) fn prefetch(&self, i: usize) {
        if let Some(r) = self.rates.get(i) {
            crate::hint::prefetch(r);
        }
        if let Some(b) = self.down_busy.get(i) {
            crate::hint::prefetch(b);
        }
    }

    /// Queues `bytes` on `node`'s uplink at `now_ns`; returns when its last bit has left.
    #[inline]
    pub(crate) fn uplink(&mut self, node: u32, now_ns: u64, bytes: u64) -> Result<u64, QueueFull> {
        let link = self.rates[node as usize];
        let bps = link.rates.up_bps;
        if bps == 0 {
            return Ok(now_ns);
        }
        let free = &mut self.up_free_ns[node as usize];
        let backlog_ns = free.saturating_sub(now_ns);
        if over_limit(link.queue_limit_bytes, backlog_ns, bps, bytes) {
            return Err(QueueFull);
        }
        let done = now_ns.max(*free) + tx_ns(bytes, bps);
        *free = done;
        Ok(done)
    }

    /// Queues `bytes` reaching `node`'s downlink at `reach_ns` (sent at `now_ns`); returns when
    /// its last bit has been received.
    pub(crate) fn downlink(
        &mut self,
        node: u32,
        now_ns: u64,
        reach_ns: u64,
        bytes: u64,
    ) -> Result<u64, QueueFull> {
        let link = self.rates[node as usize];
        let bps = link.rates.down_bps;
        if bps == 0 {
            return Ok(reach_ns);
        }
        let busy = &mut self.down_busy[node as usize];
        let stale = busy.partition_point(|&(_, end)| end <= now_ns);
        busy.drain(..stale);
        let first = busy.partition_point(|&(_, end)| end <= reach_ns);
        let backlog_ns: u64 = busy[first..].iter().map(|&(s, e)| e - s.max(reach_ns)).sum();
        if over_limit(link.queue_limit_bytes, backlog_ns, bps, bytes) {
            return Err(QueueFull);
        }
        let tx = tx_ns(bytes, bps);
        if let (true, Some(last)) = (busy.len() >= MAX_INTERVALS, busy.last_mut()) {
            // At the bound: queue after the last reservation and fold into it (any gap before it
            // counts as busy: conservative, the link looks fuller than it is).
            let end = reach_ns.max(last.1) + tx;
            last.1 = end;
            return Ok(end);
        }
        let (mut start, mut at) = (reach_ns, busy.len());
        for (i, &(s, e)) in busy.iter().enumerate().skip(first) {
            if start + tx <= s {
                at = i;
                break;
            }
            start = start.max(e);
        }
        let end = start + tx;
        insert_merged(busy, at, start, end);
        Ok(end)
    }
}

/// Whether `bytes` more would overflow a queue holding `backlog_ns` of work; an idle link (no
/// backlog) always takes one message, however large, so a big message is never stuck forever.
fn over_limit(limit: u64, backlog_ns: u64, bps: u64, bytes: u64) -> bool {
    limit > 0 && backlog_ns > 0 && backlog_bytes(backlog_ns, bps) + bytes > limit
}

/// Inserts `[start, end)` at index `at`, merging with touching neighbours.
fn insert_merged(busy: &mut Vec<(u64, u64)>, at: usize, start: u64, end: u64) {
    let joins_prev = at > 0 && busy[at - 1].1 == start;
    let joins_next = at < busy.len() && busy[at].0 == end;
    match (joins_prev, joins_next) {
        (true, true) => {
            busy[at - 1].1 = busy[at].1;
            busy.remove(at);
        }
        (true, false) => busy[at - 1].1 = end,
        (false, true) => busy[at].0 = start,
        (false, false) => busy.insert(at, (start, end)),
    }
}

/// Nanoseconds to send `bytes` at `bps`, rounded up.
#[inline]
fn tx_ns(bytes: u64, bps: u64) -> u64 {
    (bytes as u128 * 8_000_000_000).div_ceil(bps as u128) as u64
}

/// Bytes a link at `bps` sends in `ns`.
fn backlog_bytes(ns: u64, bps: u64) -> u64 {
    (ns as u128 * bps as u128 / 8_000_000_000) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    const MBPS: u64 = 1_000_000;

    #[test]
    fn hundred_megabytes_over_ten_mbps_take_eighty_seconds() {
        let mut l = Links::new(
            Bandwidth {
                up_bps: 10 * MBPS,
                down_bps: 0,
            },
            0,
            2,
        );
        let mut done = 0;
        // 100 MB in 1,250-byte messages, all handed to the uplink at time zero.
        for _ in 0..80_000 {
            done = l.uplink(0, 0, 1_250).unwrap();
        }
        assert_eq!(done, 80_000_000_000);
    }

    #[test]
    fn uplink_is_fifo_and_idles_when_nothing_waits() {
        let mut l = Links::new(
            Bandwidth {
                up_bps: 8 * MBPS,
                down_bps: 0,
            },
            0,
            1,
        );
        // 1,000 bytes at 8 Mbps = 1 ms.
        assert_eq!(l.uplink(0, 0, 1_000), Ok(1_000_000));
        assert_eq!(l.uplink(0, 0, 1_000), Ok(2_000_000));
        assert_eq!(l.uplink(0, 5_000_000, 1_000), Ok(6_000_000));
    }

    #[test]
    fn queue_limit_drops_but_an_idle_link_takes_one_message() {
        let mut l = Links::new(
            Bandwidth {
                up_bps: 8 * MBPS,
                down_bps: 8 * MBPS,
            },
            3_000,
            2,
        );
        assert!(
            l.uplink(0, 0, 5_000).is_ok(),
            "idle link accepts an oversize message"
        );
        assert_eq!(l.uplink(0, 0, 1_000), Err(QueueFull));
        // 5 ms later it has drained.
        assert!(l.uplink(0, 5_000_000, 1_000).is_ok());
        assert!(l.downlink(1, 0, 0, 2_000).is_ok());
        assert!(l.downlink(1, 0, 0, 1_000).is_ok());
        assert_eq!(l.downlink(1, 0, 0, 1_000), Err(QueueFull));
    }

    #[test]
    fn downlink_lets_an_earlier_arrival_use_the_gap_before_a_later_reservation() {
        let mut l = Links::new(
            Bandwidth {
                up_bps: 0,
                down_bps: 8 * MBPS,
            },
            0,
            1,
        );
        let ms = 1_000_000;
        // Sent first, arrives at 100 ms: busy [100, 101) ms.
        assert_eq!(l.downlink(0, 0, 100 * ms, 1_000), Ok(101 * ms));
        // Sent later over a short path, arrives at 2 ms: not held behind the first.
        assert_eq!(l.downlink(0, ms, 2 * ms, 1_000), Ok(3 * ms));
        // Arrives at 99.5 ms: does not fit before 100 ms, queues after the busy interval.
        assert_eq!(l.downlink(0, ms, 99 * ms + ms / 2, 1_000), Ok(102 * ms));
        // Arrives at 3 ms: right after the [2, 3) interval, which it merges with.
        assert_eq!(l.downlink(0, ms, 3 * ms, 1_000), Ok(4 * ms));
        assert_eq!(l.down_busy[0], vec![(2 * ms, 4 * ms), (100 * ms, 102 * ms)]);
        // Intervals that ended are pruned.
        assert_eq!(l.downlink(0, 200 * ms, 200 * ms, 1_000), Ok(201 * ms));
        assert_eq!(l.down_busy[0], vec![(200 * ms, 201 * ms)]);
    }

    proptest::proptest! {
        #[test]
        fn downlink_never_overbooks_and_never_delivers_early(
            msgs in proptest::collection::vec((0u64..50_000_000, 1u64..3_000), 1..200)
        ) {
            let mut l = Links::new(Bandwidth { up_bps: 0, down_bps: 8 * MBPS }, 0, 1);
            let mut total_tx = 0;
            for (reach, bytes) in msgs {
                let tx = tx_ns(bytes, 8 * MBPS);
                total_tx += tx;
                let end = l.downlink(0, 0, reach, bytes).unwrap();
                proptest::prop_assert!(end >= reach + tx);
                let busy = &l.down_busy[0];
                // Sorted, disjoint and not touching (touching intervals are merged).
                proptest::prop_assert!(busy.windows(2).all(|w| w[0].1 < w[1].0));
                proptest::prop_assert!(busy.iter().any(|&(s, e)| s <= end - tx && end <= e));
            }
            // Work is conserved: the reserved time is exactly the sum of transmission times.
            let reserved: u64 = l.down_busy[0].iter().map(|&(s, e)| e - s).sum();
            proptest::prop_assert_eq!(reserved, total_tx);
        }
    }

    #[test]
    fn unlimited_links_add_no_delay() {
        let mut l = Links::new(Bandwidth::default(), 10, 1);
        assert_eq!(l.uplink(0, 7, 1 << 30), Ok(7));
        assert_eq!(l.downlink(0, 7, 9, 1 << 30), Ok(9));
    }
}
