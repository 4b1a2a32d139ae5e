//! The world's observer seam: message traces, pcap export and replay stops watch a run from outside;
//! generic over the protocol's message type.

use super::StreamInfo;
use peerlab_engine::{Endpoint, Instant, StreamEvent};

/// Watches the world from outside: message traces, pcap export, replay stops.
/// Observers see everything but change nothing, so a run is the same with or without them.
pub trait Observer<M> {
    /// A datagram left peer `from` (endpoint `src`) for `to`, before the network model decides its fate.
    fn on_transmit(
        &mut self,
        _now: Instant,
        _event: u64,
        _from: u32,
        _src: Endpoint,
        _to: Endpoint,
        _msg: &M,
    ) {
    }
    /// A datagram is being handed to peer `to`'s engine.
    fn on_deliver(&mut self, _now: Instant, _event: u64, _to: u32, _from: Endpoint, _msg: &M) {}
    /// Peer `from` queued a message on its end `info.end` of connection `info.flow`.
    fn on_stream_send(&mut self, _now: Instant, _event: u64, _from: u32, _info: &StreamInfo, _msg: &M) {}
    /// A stream event is being handed to peer `to`'s engine (at its end `info.end`).
    fn on_stream_event(
        &mut self,
        _now: Instant,
        _event: u64,
        _to: u32,
        _info: &StreamInfo,
        _ev: &StreamEvent<M>,
    ) {
    }
    /// Called after every event; returning false stops the run after this event.
    fn after_event(&mut self, _now: Instant, _event: u64) -> bool {
        true
    }
}

/// Several observers watching one run, called in order (e.g. a pcap and a trace file).
pub struct Tee<M>(pub Vec<Box<dyn Observer<M>>>);

impl<M> Observer<M> for Tee<M> {
    fn on_transmit(&mut self, now: Instant, event: u64, from: u32, src: Endpoint, to: Endpoint, msg: &M) {
        for o in &mut self.0 {
            o.on_transmit(now, event, from, src, to, msg);
        }
    }
    fn on_deliver(&mut self, now: Instant, event: u64, to: u32, from: Endpoint, msg: &M) {
        for o in &mut self.0 {
            o.on_deliver(now, event, to, from, msg);
        }
    }
    fn on_stream_send(&mut self, now: Instant, event: u64, from: u32, info: &StreamInfo, msg: &M) {
        for o in &mut self.0 {
            o.on_stream_send(now, event, from, info, msg);
        }
    }
    fn on_stream_event(&mut self, now: Instant, event: u64, to: u32, info: &StreamInfo, ev: &StreamEvent<M>) {
        for o in &mut self.0 {
            o.on_stream_event(now, event, to, info, ev);
        }
    }
    fn after_event(&mut self, now: Instant, event: u64) -> bool {
        // Every observer sees every event; any of them may stop the run.
        let mut go_on = true;
        for o in &mut self.0 {
            go_on &= o.after_event(now, event);
        }
        go_on
    }
}
