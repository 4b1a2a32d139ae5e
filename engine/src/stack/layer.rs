//! One protocol layer of a per-peer stack, and the adapter that makes any registered engine node
//! a layer.
//!
//! A layer is a sans-IO state machine like a [`Node`], over the stack's sum types, with two more
//! things: it can ask a lower layer for something (register or resolve a name in PNRP) by
//! emitting [`LayerOutput::Request`], and it hears the answer through
//! [`Layer::handle_completion`] under the id it chose. Application events and requests to lower
//! layers are different outputs, as quinn-proto keeps connection events apart from endpoint
//! events.

use super::registry::{ProtocolId, Registered, StackCommand, StackEvent, Wire};
use crate::{Endpoint, Instant, RequestId, StreamCommand, StreamEvent, Transmit};
use std::any::Any;

/// An event type whose events may complete a command.
pub trait Completes {
    /// The command this event completes, if any.
    fn request(&self) -> Option<RequestId>;
}

/// Why a request to a lower layer got no answer from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StackError {
    /// The stack has no layer for that protocol.
    #[error("this peer's stack has no {} layer", .0.name())]
    NoLayer(ProtocolId),
    /// A layer asked itself.
    #[error("a {} layer sent a request to itself", .0.name())]
    SelfRequest(ProtocolId),
    /// Two layers of one stack speak the same protocol.
    #[error("a stack holds one {} layer at most", .0.name())]
    Duplicate(ProtocolId),
}

/// What a layer hands to the stack.
#[derive(Debug)]
pub enum LayerOutput {
    /// A datagram to send (unicast, or to a multicast group address).
    Transmit(Transmit<Wire>),
    /// Something for the stream transport, about one of the layer's own connections.
    Stream(StreamCommand<Wire>),
    /// A command for a lower layer; its completion comes back under `request`.
    Request {
        /// The asking layer's id for the request.
        request: RequestId,
        /// The command (its variant names the layer that runs it).
        command: StackCommand,
    },
    /// An event for the application.
    Event(StackEvent),
}

/// One protocol layer in a [`Stack`](super::Stack). Inputs are `handle_*`, outputs
/// `poll_output`/`poll_timeout`, and the drain rule of [`Node`] holds for it too.
pub trait Layer: Any {
    /// The protocol it speaks; the stack gives it that protocol's datagrams and commands. `None`
    /// for a layer with no wire protocol of its own (an application on top of the stack that
    /// only makes requests of the layers below).
    fn protocol(&self) -> Option<ProtocolId>;
    /// Whether it accepts stream connections on local `port`.
    fn listens(&self, _port: u16) -> bool {
        false
    }
    /// A datagram of its protocol arrived.
    fn handle_datagram(&mut self, now: Instant, from: Endpoint, msg: Wire);
    /// Something happened to one of its stream connections (ids are the layer's own).
    fn handle_stream(&mut self, _now: Instant, _event: StreamEvent<Wire>) {}
    /// Its deadline has passed.
    fn handle_timeout(&mut self, now: Instant);
    /// A command for it, from the application or an upper layer.
    fn handle_command(&mut self, now: Instant, cmd: StackCommand) -> RequestId;
    /// A request it made to a lower layer ended: the lower layer's event, or why there is none.
    fn handle_completion(
        &mut self,
        _now: Instant,
        _request: RequestId,
        _done: Result<StackEvent, StackError>,
    ) {
    }
    /// Its next output, if any.
    fn poll_output(&mut self) -> Option<LayerOutput>;
    /// Its earliest deadline.
    fn poll_timeout(&self) -> Option<Instant>;
    /// For inspection by the driver (state dumps, invariant checks).
    fn as_any(&self) -> &dyn Any;
    /// For inspection by the driver.
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

/// Any registered engine node as a layer: its transmits, stream commands and events come out as
/// layer outputs, in that order, so the node's own drain order is kept.
pub struct NodeLayer<N>(pub N);

impl<N> Layer for NodeLayer<N>
where
    N: Registered + 'static,
    N::Event: Completes,
{
    fn protocol(&self) -> Option<ProtocolId> {
        Some(N::PROTOCOL)
    }

    fn listens(&self, port: u16) -> bool {
        self.0.listens(port)
    }

    fn handle_datagram(&mut self, now: Instant, from: Endpoint, msg: Wire) {
        // The stack routes by protocol, so a foreign message is a stack bug, not network input.
        if let Ok(m) = N::unwrap_message(msg) {
            self.0.handle_message(now, from, m);
        } else {
            debug_assert!(
                false,
                "a {} layer was handed another protocol's datagram",
                N::PROTOCOL.name()
            );
        }
    }

    fn handle_stream(&mut self, now: Instant, event: StreamEvent<Wire>) {
        if let Some(e) = event.try_map_msg(|m| N::unwrap_message(m).ok()) {
            self.0.handle_stream(now, e);
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.0.handle_timeout(now);
    }

    fn handle_command(&mut self, now: Instant, cmd: StackCommand) -> RequestId {
        match N::unwrap_command(cmd) {
            Ok(c) => self.0.handle_command(now, c),
            Err(c) => panic!(
                "a {} layer was handed a {} command (the stack routes by protocol)",
                N::PROTOCOL.name(),
                c.protocol().name()
            ),
        }
    }

    fn poll_output(&mut self) -> Option<LayerOutput> {
        if let Some(t) = self.0.poll_transmit() {
            return Some(LayerOutput::Transmit(Transmit {
                to: t.to,
                msg: N::wrap_message(t.msg),
            }));
        }
        if let Some(s) = self.0.poll_stream() {
            return Some(LayerOutput::Stream(s.map_msg(N::wrap_message)));
        }
        self.0.poll_event().map(|e| LayerOutput::Event(N::wrap_event(e)))
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.0.poll_timeout()
    }

    fn as_any(&self) -> &dyn Any {
        &self.0
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        &mut self.0
    }
}
