//! The datagram path (docs/architecture.md §3): delivering datagrams and timer wake-ups to the
//! engines, the drain rule after every input, and sending each datagram through the network model.

use super::{Core, Ev, Protocol, CHECK_STRIDE, EXACT_CHECK_PEERS};
use crate::addr;
use crate::net::Delivery;
use peerlab_engine::{Endpoint, Instant, Node, RequestId};

impl<P: Protocol> Core<P> {
    pub(super) fn deliver(
        &mut self,
        proto: &mut P,
        to: u32,
        generation: u16,
        from: Endpoint,
        msg: P::Message,
    ) {
        // The dense arrays answer both drop rules without loading the `Peer` (~2% of events).
        debug_assert_eq!(self.engines[to as usize] != 0, self.peers[to as usize].online());
        if self.engines[to as usize] == 0 {
            *self.traffic.dropped.entry("host_down").or_default() += 1;
            return;
        }
        if self.generations[to as usize] != generation {
            *self.traffic.dropped.entry("address_gone").or_default() += 1;
            return;
        }
        if let Some(obs) = self.observer.as_mut() {
            obs.on_deliver(self.now, self.events, to, from, &msg);
        }
        if proto.intercept(self, to, from, &msg) {
            return;
        }
        let now = self.now;
        if let Some(node) = self.peers[to as usize].node.as_mut() {
            node.handle_message(now, from, msg);
        }
        self.drain(proto, to);
    }

    /// Handles a timer event that finds no deadline due, without counting it as an event; false
    /// when the node has work and the event must be processed. Such events are common: a timer is
    /// pushed whenever a node's deadline gets earlier, and the deadline often moves later again
    /// (an answer cancels the retransmission) before it pops.
    ///
    /// `arm_timer` runs after every input and keeps `timer_armed <= poll_timeout()`, so a timer that
    /// is not the armed one (or finds nothing armed) belongs to a node with nothing due: skipped
    /// without touching the node. The armed one, on a node whose deadline moved later, only
    /// re-arms, exactly as the full path would (its drain finds no output).
    pub(super) fn quiet_timer(&mut self, peer: u32, at: Instant) -> bool {
        let p = &mut self.peers[peer as usize];
        if p.timer_armed.is_none_or(|armed| armed > at) {
            return true;
        }
        debug_assert_eq!(p.wake, p.node.as_ref().and_then(|n| n.poll_timeout()));
        if p.wake.is_some_and(|t| t <= at) {
            return false;
        }
        p.timer_armed = None;
        self.now = at;
        self.arm_timer(peer);
        true
    }

    pub(super) fn timer(&mut self, proto: &mut P, peer: u32) {
        let now = self.now;
        let p = &mut self.peers[peer as usize];
        if p.timer_armed.is_some_and(|t| t <= now) {
            p.timer_armed = None;
        }
        let Some(node) = p.node.as_mut() else { return };
        if node.poll_timeout().is_some_and(|t| t <= now) {
            node.handle_timeout(now);
        }
        self.drain(proto, peer);
    }

    /// Gives `cmd` to peer `peer`'s engine and drains it; `None` when the peer is offline.
    pub fn command(
        &mut self,
        proto: &mut P,
        peer: u32,
        cmd: <P::Node as Node>::Command,
    ) -> Option<RequestId> {
        let now = self.now;
        let id = self.peers[peer as usize].node.as_mut()?.handle_command(now, cmd);
        self.drain(proto, peer);
        Some(id)
    }

    /// The drain rule (docs/architecture.md §3): after any input, take every transmit and event,
    /// then re-arm the peer's timer.
    pub fn drain(&mut self, proto: &mut P, peer: u32) {
        let mut events = std::mem::take(&mut self.event_buf);
        loop {
            // Each datagram goes to the network as soon as it is polled (no staging buffer: one
            // move less per datagram). `transmit` never touches the sending node, so the node's
            // outputs are taken in the same order as when all were polled first.
            let mut sent = false;
            while let Some(t) = self.peers[peer as usize]
                .node
                .as_mut()
                .and_then(|n| n.poll_transmit())
            {
                self.transmit(peer, t.to, t.msg);
                sent = true;
            }
            // Stream commands go to the stream model as they are polled, like datagrams; what
            // the model answers reaches the engines after this event's input (`flush_streams`).
            while let Some(c) = self.peers[peer as usize]
                .node
                .as_mut()
                .and_then(|n| n.poll_stream())
            {
                self.stream_command(peer, c);
                sent = true;
            }
            let Some(node) = self.peers[peer as usize].node.as_mut() else {
                break;
            };
            while let Some(e) = node.poll_event() {
                events.push(e);
            }
            if !sent && events.is_empty() {
                break;
            }
            for e in events.drain(..) {
                proto.on_event(self, peer, e);
            }
        }
        self.event_buf = events;
        self.arm_timer(peer);
        // Per-input safety checks cost O(cache) each: exact for clouds up to EXACT_CHECK_PEERS,
        // one input in CHECK_STRIDE beyond (bounds breaches persist, so they are still caught,
        // a few events later; `peerlab replay` then pins the first event exactly).
        if self.peers.len() <= EXACT_CHECK_PEERS || self.events.is_multiple_of(CHECK_STRIDE) {
            proto.check_peer(self, peer);
        }
    }

    pub(super) fn arm_timer(&mut self, peer: u32) {
        let now = self.now;
        let p = &mut self.peers[peer as usize];
        p.wake = p.node.as_ref().and_then(|n| n.poll_timeout());
        let Some(t) = p.wake else { return };
        let t = t.max(now);
        if p.timer_armed.is_none_or(|armed| t < armed) {
            p.timer_armed = Some(t);
            self.queue.push(t, Ev::Timer { peer });
        }
    }

    /// Sends one datagram from peer `from` to `to` through the network model.
    pub fn transmit(&mut self, from: u32, to: Endpoint, msg: P::Message) {
        // Warm the receiver's network state and address generation while the message is measured.
        if let Some((dst, _)) = addr::peer_of(&to) {
            self.net.prefetch_receiver(dst);
            if let Some(g) = self.generations.get(dst as usize) {
                crate::hint::prefetch(g);
            }
        }
        let msg = if self.plan.wire_bytes {
            self.round_trip(msg)
        } else {
            Some(msg)
        };
        let Some(msg) = msg else { return };
        let bytes = P::encoded_len(&msg);
        let kind = P::message_kind(&msg);
        self.traffic.messages[kind] += 1;
        self.traffic.bytes[kind] += bytes as u64;
        let from_generation = self.peers[from as usize].generation;
        let src = addr::endpoint_of(from, from_generation);
        if let Some(obs) = self.observer.as_mut() {
            obs.on_transmit(self.now, self.events, from, src, to, &msg);
        }
        if to.addr.is_multicast() {
            self.multicast(from, from_generation, to, bytes, msg);
            return;
        }
        self.check_destination(from, &to);
        let Some((dst, generation)) = addr::peer_of(&to).filter(|(i, _)| (*i as usize) < self.peers.len())
        else {
            *self.traffic.dropped.entry("no_such_address").or_default() += 1;
            return;
        };
        // Clouds are separate overlays (MS-PNRP §1.3.3: a node only listens for its own cloud).
        // No honest node learns another cloud's addresses; this guards against any that leak.
        if self.plan.clouds.len() > 1 && self.cloud_of(from) != self.cloud_of(dst) {
            *self.traffic.dropped.entry("other_cloud").or_default() += 1;
            return;
        }
        match self.net.send(self.now, from, dst, bytes as u32) {
            Delivery::At(at) => self.queue.push(
                at,
                Ev::Deliver {
                    to: dst,
                    generation,
                    from,
                    from_generation,
                    msg,
                },
            ),
            Delivery::Dropped(reason) => *self.traffic.dropped.entry(reason.as_str()).or_default() += 1,
        }
    }

    /// A datagram to a multicast group: one copy to every other live member of the sender's
    /// subnet, each through the network model in index order (`net/subnet.rs` for the scopes).
    fn multicast(&mut self, from: u32, from_generation: u16, group: Endpoint, bytes: usize, msg: P::Message) {
        let engines = &self.engines;
        let receivers = match self.net.subnets() {
            Some(s) => s.multicast_receivers(from, &group.addr, |n| engines[n as usize] != 0),
            None => Vec::new(),
        };
        if receivers.is_empty() {
            *self.traffic.dropped.entry("multicast_no_receiver").or_default() += 1;
            return;
        }
        for dst in receivers {
            match self.net.send(self.now, from, dst, bytes as u32) {
                Delivery::At(at) => self.queue.push(
                    at,
                    Ev::Deliver {
                        to: dst,
                        generation: self.generations[dst as usize],
                        from,
                        from_generation,
                        msg: msg.clone(),
                    },
                ),
                Delivery::Dropped(reason) => *self.traffic.dropped.entry(reason.as_str()).or_default() += 1,
            }
        }
    }

    /// Wire-bytes mode: every datagram goes through the protocol's real codec and back.
    pub(super) fn round_trip(&mut self, msg: P::Message) -> Option<P::Message> {
        match P::wire_round_trip(msg, &mut self.wire_buf) {
            Ok(back) => Some(back),
            Err(detail) => {
                *self.traffic.dropped.entry("codec_error").or_default() += 1;
                self.violation(u32::MAX, "codec_round_trip", detail);
                None
            }
        }
    }
}
