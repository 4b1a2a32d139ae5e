//! The world's observer seam: message traces, pcap export and replay stops watch a run from outside.

use peerlab_engine::pnrp::Message;
use peerlab_engine::{Endpoint, Instant};

/// Watches the world from outside: message traces, pcap export, replay stops (issues 5 and 6).
/// Observers see everything but change nothing, so a run is the same with or without them.
pub trait Observer {
    /// A datagram left peer `from` (endpoint `src`) for `to`, before the network model decides its fate.
    fn on_transmit(
        &mut self,
        _now: Instant,
        _event: u64,
        _from: u32,
        _src: Endpoint,
        _to: Endpoint,
        _msg: &Message,
    ) {
    }
    /// A datagram is being handed to peer `to`'s engine.
    fn on_deliver(&mut self, _now: Instant, _event: u64, _to: u32, _from: Endpoint, _msg: &Message) {}
    /// Called after every event; returning false stops the run after this event.
    fn after_event(&mut self, _now: Instant, _event: u64) -> bool {
        true
    }
}
