//! Software prefetch of the state the next event will touch. Events hop between 20,000 peers, so
//! each one starts with cache misses on its peer slot, its engine and its datagram's payload
//! (measured: most of the event loop's own time). Asking for those lines one event ahead lets the
//! misses overlap the current event's work. A prefetch only warms caches: behaviour is unchanged.

use super::{Ev, Peer, World};
use crate::hint::prefetch;
use peerlab_engine::pnrp::{Message, PnrpNode};

/// Most engine lines to warm. The whole `PnrpNode` (1,648 bytes, 26 lines today) is cheaper to
/// prefetch than to guess which of its fields an input touches (scale-20k A/B, noisy: warming all
/// of it ran 3-5% faster than warming the first 4 lines or none).
const NODE_LINES: usize = 32;

/// The address of `v`.
fn addr<T>(v: &T) -> *const u8 {
    (v as *const T).cast()
}

/// The heap payload of a datagram (`Ack` is inline and has none).
fn payload(msg: &Message) -> Option<*const u8> {
    Some(match msg {
        Message::Solicit(m) => addr(&**m),
        Message::Advertise(m) => addr(&**m),
        Message::Request(m) => addr(&**m),
        Message::Flood(m) => addr(&**m),
        Message::Inquire(m) => addr(&**m),
        Message::Authority(m) => addr(&**m),
        Message::Lookup(m) => addr(&**m),
        Message::Ack(_) => return None,
    })
}

/// The peer an event is handled by, when it is a datagram or a timer (the hot kinds).
fn target(ev: &Ev) -> Option<usize> {
    match ev {
        Ev::Deliver { to, .. } => Some(*to as usize),
        Ev::Timer { peer } => Some(*peer as usize),
        _ => None,
    }
}

impl World {
    /// Prefetches along a two-event pipeline: the peer slot and engine struct of the event after
    /// next, and the payload and engine heap state (route-cache ring, Pending List index,
    /// registration; `PnrpNode::hot_regions`) of the next one, whose struct was asked for one
    /// event ago, so reading where its buffers live rarely waits.
    #[inline]
    pub(super) fn prefetch_next(&self) {
        let (next, after) = self.queue.next_two_hints();
        if let Some(peer) = after.and_then(target) {
            self.prefetch_peer(peer);
        }
        let Some(next) = next else {
            return;
        };
        if let Ev::Deliver { msg, .. } = next {
            if let Some(p) = payload(msg) {
                prefetch(p);
            }
        }
        if let Some(peer) = target(next) {
            self.prefetch_peer(peer);
            self.prefetch_engine_heap(peer);
        }
    }

    /// Prefetches the hot heap regions of peer `i`'s engine (nothing when offline or out of range).
    #[inline]
    fn prefetch_engine_heap(&self, i: usize) {
        let Some(node) = self.peers.get(i).and_then(|p| p.node.as_deref()) else {
            return;
        };
        for (start, len) in node.hot_regions() {
            let mut off = 0;
            while off < len {
                prefetch(start.wrapping_add(off));
                off += 64;
            }
            // The last line, when the region does not start on a line boundary.
            prefetch(start.wrapping_add(len - 1));
        }
    }

    /// Prefetches peer `i`'s slot and engine struct (nothing for an index out of range).
    #[inline]
    pub(super) fn prefetch_peer(&self, i: usize) {
        let Some(p) = self.peers.get(i) else {
            return;
        };
        let start: *const Peer = p;
        prefetch(start);
        prefetch(start.cast::<u8>().wrapping_add(std::mem::size_of::<Peer>() - 1));
        // The engine's address comes from the dense `engines` array (cached), not from the `Peer`
        // just prefetched: loading that would wait for the very miss being hidden.
        let base = self.engines.get(i).copied().unwrap_or(0);
        if base != 0 {
            let lines = NODE_LINES.min(std::mem::size_of::<PnrpNode>().div_ceil(64));
            for k in 0..lines {
                prefetch(std::ptr::without_provenance::<u8>(base + k * 64));
            }
        }
    }
}
