//! The drain rule, written once (docs/architecture.md §3): after any input, a driver takes every
//! transmit, stream command and event the node has, then reads its deadline, before it gives the
//! node its next input. [`drain`] does exactly that; [`DrainChecked`] wraps a node and panics when
//! a driver breaks the rule, so test drivers and debug runs assert it in one place.

use crate::{Endpoint, Instant, Node, RequestId, StreamCommand, StreamEvent, Transmit};

/// Where a node's outputs go while it is drained.
pub trait Outputs<N: Node + ?Sized> {
    /// A datagram to send.
    fn transmit(&mut self, transmit: Transmit<N::Message>);
    /// Something for the stream transport.
    fn stream(&mut self, command: StreamCommand<N::Message>);
    /// An event for the application.
    fn event(&mut self, event: N::Event);
}

/// Takes every output of `node` (transmits, then stream commands, then events, until none of
/// the three has anything left) and returns its next deadline.
pub fn drain<N: Node + ?Sized>(node: &mut N, out: &mut impl Outputs<N>) -> Option<Instant> {
    loop {
        let mut any = false;
        while let Some(t) = node.poll_transmit() {
            any = true;
            out.transmit(t);
        }
        while let Some(c) = node.poll_stream() {
            any = true;
            out.stream(c);
        }
        while let Some(e) = node.poll_event() {
            any = true;
            out.event(e);
        }
        if !any {
            return node.poll_timeout();
        }
    }
}

/// Every output of one drain, in the order the node gave them.
pub struct Drained<N: Node + ?Sized> {
    /// Datagrams to send.
    pub transmits: Vec<Transmit<N::Message>>,
    /// Stream commands.
    pub streams: Vec<StreamCommand<N::Message>>,
    /// Events.
    pub events: Vec<N::Event>,
}

impl<N: Node + ?Sized> Outputs<N> for Drained<N> {
    fn transmit(&mut self, transmit: Transmit<N::Message>) {
        self.transmits.push(transmit);
    }
    fn stream(&mut self, command: StreamCommand<N::Message>) {
        self.streams.push(command);
    }
    fn event(&mut self, event: N::Event) {
        self.events.push(event);
    }
}

/// Drains `node` into vectors (for drivers that handle outputs after the node is released) and
/// returns them with the node's next deadline.
pub fn take<N: Node + ?Sized>(node: &mut N) -> (Drained<N>, Option<Instant>) {
    let mut out = Drained {
        transmits: Vec::new(),
        streams: Vec::new(),
        events: Vec::new(),
    };
    let deadline = drain(node, &mut out);
    (out, deadline)
}

/// A node that checks its driver keeps the drain rule: an input that arrives before all three
/// output queues were seen empty since the previous input panics, naming the input.
pub struct DrainChecked<N> {
    node: N,
    /// Which of transmit, stream and event were polled empty since the last input (bits 0..3).
    empty: u8,
}

const ALL_EMPTY: u8 = 0b111;

impl<N: Node> DrainChecked<N> {
    /// Wraps `node`; the first input needs no drain before it.
    pub fn new(node: N) -> Self {
        DrainChecked {
            node,
            empty: ALL_EMPTY,
        }
    }

    /// The node inside.
    pub fn inner(&self) -> &N {
        &self.node
    }

    /// The node inside, mutably (for inspection; inputs must go through the wrapper).
    pub fn inner_mut(&mut self) -> &mut N {
        &mut self.node
    }

    fn input(&mut self, what: &str) {
        assert!(
            self.empty == ALL_EMPTY,
            "drain rule broken: {what} arrived before the node's outputs were drained (docs/architecture.md §3)"
        );
        self.empty = 0;
    }

    fn polled<T>(&mut self, bit: u8, out: Option<T>) -> Option<T> {
        if out.is_none() {
            self.empty |= bit;
        } else {
            // Taking an output may have been the last one: each queue must be seen empty again.
            self.empty &= !bit;
        }
        out
    }
}

impl<N: Node> Node for DrainChecked<N> {
    type Message = N::Message;
    type Command = N::Command;
    type Event = N::Event;

    fn handle_message(&mut self, now: Instant, from: Endpoint, msg: N::Message) {
        self.input("a datagram");
        self.node.handle_message(now, from, msg);
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.input("a timeout");
        self.node.handle_timeout(now);
    }
    fn handle_command(&mut self, now: Instant, cmd: N::Command) -> RequestId {
        self.input("a command");
        self.node.handle_command(now, cmd)
    }
    fn handle_stream(&mut self, now: Instant, event: StreamEvent<N::Message>) {
        self.input("a stream event");
        self.node.handle_stream(now, event);
    }
    fn poll_transmit(&mut self) -> Option<Transmit<N::Message>> {
        let out = self.node.poll_transmit();
        self.polled(0b001, out)
    }
    fn poll_stream(&mut self) -> Option<StreamCommand<N::Message>> {
        let out = self.node.poll_stream();
        self.polled(0b010, out)
    }
    fn poll_event(&mut self) -> Option<N::Event> {
        let out = self.node.poll_event();
        self.polled(0b100, out)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.node.poll_timeout()
    }
    fn listens(&self, port: u16) -> bool {
        self.node.listens(port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// Every input makes one datagram and one event.
    #[derive(Default)]
    struct Chatty {
        out: VecDeque<Transmit<u8>>,
        events: VecDeque<u8>,
    }

    impl Node for Chatty {
        type Message = u8;
        type Command = u8;
        type Event = u8;
        fn handle_message(&mut self, _: Instant, from: Endpoint, msg: u8) {
            self.out.push_back(Transmit { to: from, msg });
            self.events.push_back(msg);
        }
        fn handle_timeout(&mut self, _: Instant) {}
        fn handle_command(&mut self, _: Instant, cmd: u8) -> RequestId {
            self.events.push_back(cmd);
            RequestId(cmd as u64)
        }
        fn poll_transmit(&mut self) -> Option<Transmit<u8>> {
            self.out.pop_front()
        }
        fn poll_event(&mut self) -> Option<u8> {
            self.events.pop_front()
        }
        fn poll_timeout(&self) -> Option<Instant> {
            None
        }
    }

    #[derive(Default)]
    struct Collect(Vec<String>);

    impl Outputs<DrainChecked<Chatty>> for Collect {
        fn transmit(&mut self, t: Transmit<u8>) {
            self.0.push(format!("send {}", t.msg));
        }
        fn stream(&mut self, _: StreamCommand<u8>) {
            self.0.push("stream".into());
        }
        fn event(&mut self, e: u8) {
            self.0.push(format!("event {e}"));
        }
    }

    fn here() -> Endpoint {
        Endpoint::new(std::net::Ipv6Addr::LOCALHOST, 1)
    }

    #[test]
    fn drain_takes_every_output_in_order_and_keeps_the_rule() {
        let mut node = DrainChecked::new(Chatty::default());
        let mut out = Collect::default();
        node.handle_message(Instant::ZERO, here(), 7);
        assert_eq!(drain(&mut node, &mut out), None);
        node.handle_command(Instant::ZERO, 8);
        drain(&mut node, &mut out);
        assert_eq!(out.0, ["send 7", "event 7", "event 8"]);
    }

    #[test]
    #[should_panic(expected = "drain rule broken: a command arrived")]
    fn an_input_before_the_outputs_are_taken_breaks_the_rule() {
        let mut node = DrainChecked::new(Chatty::default());
        node.handle_message(Instant::ZERO, here(), 7);
        // Only the transmit is taken; its event is still queued.
        while node.poll_transmit().is_some() {}
        node.handle_command(Instant::ZERO, 8);
    }
}
