//! The seam between a protocol engine and whatever drives it (simulator or sockets).

use crate::{Endpoint, Instant, StreamCommand, StreamEvent};

/// Correlates a command with the event that completes it (rust-libp2p's `QueryId`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct RequestId(pub u64);

/// A datagram the node wants sent.
#[derive(Clone, Debug, PartialEq)]
pub struct Transmit<M> {
    /// Where it goes.
    pub to: Endpoint,
    /// What it carries.
    pub msg: M,
}

/// One peer's protocol stack as a sans-IO state machine (quinn-proto, str0m).
///
/// Inputs are the `handle_*` methods; outputs are the `poll_*` methods. **Drain rule**: after any
/// input the driver calls `poll_transmit`, `poll_stream` and `poll_event` until all three return
/// `None`, then reads `poll_timeout`, before it gives the node its next input. The node never reads
/// a clock: `now` is an argument of every input, and `handle_timeout` is called at (or after)
/// `poll_timeout`.
///
/// Datagrams (unicast, or multicast to a group address the driver scopes to the sender's subnet)
/// go through `handle_message`/`poll_transmit`; stream connections through
/// `handle_stream`/`poll_stream`. A node that uses no streams keeps the default stream methods.
pub trait Node {
    /// Datagram type on the wire (typed; it knows its encoded length).
    type Message;
    /// What an application can ask the node to do.
    type Command;
    /// What the node reports back (command completions and notable happenings).
    type Event;

    /// A datagram arrived from `from`.
    fn handle_message(&mut self, now: Instant, from: Endpoint, msg: Self::Message);
    /// The deadline returned by `poll_timeout` has passed.
    fn handle_timeout(&mut self, now: Instant);
    /// An application command; its completion arrives as an event carrying the same id.
    fn handle_command(&mut self, now: Instant, cmd: Self::Command) -> RequestId;
    /// The next datagram to send, if any.
    fn poll_transmit(&mut self) -> Option<Transmit<Self::Message>>;
    /// The next event, if any.
    fn poll_event(&mut self) -> Option<Self::Event>;
    /// The earliest deadline at which `handle_timeout` must be called.
    fn poll_timeout(&self) -> Option<Instant>;

    /// Something happened to one of the node's stream connections.
    fn handle_stream(&mut self, _now: Instant, _event: StreamEvent<Self::Message>) {}
    /// The next thing the node asks of the stream transport, if any.
    fn poll_stream(&mut self) -> Option<StreamCommand<Self::Message>> {
        None
    }
    /// Whether the node accepts stream connections on its local `port` (a connection to a port
    /// nobody listens on is refused by the transport, as TCP answers a SYN with a reset).
    fn listens(&self, _port: u16) -> bool {
        false
    }
}
