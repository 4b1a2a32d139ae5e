//! Software prefetch of the state the next event will touch. Events hop between 20,000 peers, so
//! each one starts with cache misses on its peer slot, its engine and its datagram's payload
//! (measured: most of the event loop's own time). Asking for those lines one event ahead lets the
//! misses overlap the current event's work. A prefetch only warms caches: behaviour is unchanged.

use super::{Core, Ev, EvOf, Peer, Protocol};
use crate::hint::prefetch;

/// Most engine lines to warm. The whole engine struct (a `PnrpNode` is 1,648 bytes, 26 lines) is
/// cheaper to prefetch than to guess which of its fields an input touches (scale-20k A/B, noisy:
/// warming all of it ran 3-5% faster than warming the first 4 lines or none).
const NODE_LINES: usize = 32;

/// The peer an event is handled by, when it is a datagram or a timer (the hot kinds).
fn target<M, X>(ev: &Ev<M, X>) -> Option<usize> {
    match ev {
        Ev::Deliver { to, .. } => Some(*to as usize),
        Ev::Timer { peer } => Some(*peer as usize),
        _ => None,
    }
}

impl<P: Protocol> Core<P> {
    /// Prefetches along a two-event pipeline: the peer slot and engine struct of the event after
    /// next, and the payload and engine heap state (`Protocol::prefetch_node`) of the next one,
    /// whose struct was asked for one event ago, so reading where its buffers live rarely waits.
    #[inline]
    pub(super) fn prefetch_next(&self) {
        let (next, after) = self.queue.next_two_hints();
        if let Some(peer) = after.and_then(target) {
            self.prefetch_peer(peer);
        }
        let Some(next): Option<&EvOf<P>> = next else {
            return;
        };
        if let Ev::Deliver { msg, .. } = next {
            P::prefetch_message(msg);
        }
        if let Some(peer) = target(next) {
            self.prefetch_peer(peer);
            if let Some(node) = self.peers.get(peer).and_then(|p| p.node.as_deref()) {
                P::prefetch_node(node);
            }
        }
    }

    /// Prefetches peer `i`'s slot and engine struct (nothing for an index out of range).
    #[inline]
    pub fn prefetch_peer(&self, i: usize) {
        let Some(p) = self.peers.get(i) else {
            return;
        };
        let start: *const Peer<P> = p;
        prefetch(start);
        prefetch(
            start
                .cast::<u8>()
                .wrapping_add(std::mem::size_of::<Peer<P>>() - 1),
        );
        // The engine's address comes from the dense `engines` array (cached), not from the `Peer`
        // just prefetched: loading that would wait for the very miss being hidden.
        let base = self.engines.get(i).copied().unwrap_or(0);
        if base != 0 {
            let lines = NODE_LINES.min(std::mem::size_of::<P::Node>().div_ceil(64));
            for k in 0..lines {
                prefetch(std::ptr::without_provenance::<u8>(base + k * 64));
            }
        }
    }
}
