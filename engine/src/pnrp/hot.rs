//! Where a node's hot state lives in memory, for a driver that wants to warm it before the node
//! handles its next input (the simulator prefetches it one event ahead; sim/src/world/prefetch.rs).
//!
//! Each input lands on a random one of thousands of nodes, so the first touch of each heap buffer a
//! handler reads is a cache miss, and a handler reads several in turn (the route cache's ring index
//! for every route entry it sees, the Pending List for every answer, the registrations for every
//! INQUIRE). Naming the buffers costs a few loads from the node struct and no allocation; reading
//! or warming them never changes behaviour.

use super::node::PnrpNode;

/// Bytes of the ring index warmed at most (8 lines: a cache of up to 64 entries; scale-20k A/B,
/// noisy: warming up to 16 lines was no faster).
const RING_BYTES_MAX: usize = 512;

/// A region of memory: its first byte and its length in bytes.
pub type Region = (*const u8, usize);

/// The start and byte length of `v`'s elements.
fn region<T>(v: &[T]) -> Region {
    (v.as_ptr().cast(), std::mem::size_of_val(v))
}

impl PnrpNode {
    /// The heap regions the node's next input most likely reads first, most useful first: the ring
    /// index of the route cache (capped at 512 bytes), the Pending List's index, the first
    /// registration, and the pending route-entry adds. Empty buffers are left out.
    pub fn hot_regions(&self) -> impl Iterator<Item = Region> + '_ {
        let (ring, ring_len) = region(self.cache.ring_index());
        let reg = self.regs.values().next().map(|r| {
            let r: &super::node::LocalReg = r;
            (std::ptr::from_ref(r).cast::<u8>(), std::mem::size_of_val(r))
        });
        [
            Some((ring, ring_len.min(RING_BYTES_MAX))),
            Some(region(self.pending.index())),
            reg,
            Some(region(self.adds.as_slice())),
        ]
        .into_iter()
        .flatten()
        .filter(|&(_, len)| len > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testnet::TestNet;
    use super::super::PnrpConfig;
    use crate::crypto::Scheme;
    use crate::Duration;

    #[test]
    fn hot_regions_point_into_the_node_state_and_grow_with_it() {
        let mut net = TestNet::new(12, PnrpConfig::default(), Scheme::Ed25519, 7);
        let fresh: Vec<_> = net.nodes[0].hot_regions().collect();
        assert!(fresh.is_empty(), "an idle node holds no heap state: {fresh:?}");
        net.register_all(Duration::from_secs(90));
        let node = &net.nodes[0];
        let regions: Vec<_> = node.hot_regions().collect();
        // The ring index (one u64 per cached entry) comes first, then the registration.
        assert_eq!(regions[0].1, node.cache_ids().count().min(64) * 8);
        assert!(regions[0].1 > 0);
        assert!(regions.iter().all(|&(p, len)| !p.is_null() && len > 0));
        assert!(regions.len() >= 2, "the registration is named: {regions:?}");
    }
}
