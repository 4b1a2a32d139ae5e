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

impl World {
    /// Prefetches the peer slot, engine and payload of the event the queue will likely pop next.
    #[inline]
    pub(super) fn prefetch_next(&self) {
        let (peer, msg) = match self.queue.next_hint() {
            Some(Ev::Deliver { to, msg, .. }) => (*to, Some(msg)),
            Some(Ev::Timer { peer }) => (*peer, None),
            _ => return,
        };
        if let Some(p) = msg.and_then(payload) {
            prefetch(p);
        }
        self.prefetch_peer(peer as usize);
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
