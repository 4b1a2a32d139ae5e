//! A peer's protocol stack: several protocol layers on one peer, driven as one [`Node`]
//! (docs/architecture.md §3b).
//!
//! Windows runs its peer-to-peer protocols layered: Graphing keeps TCP connections, Grouping
//! registers its group's name in PNRP, Collaboration finds contacts through PNRP. A [`Stack`] holds
//! one [`Layer`] per protocol and:
//! - hands each input to the layer that accepts it: datagrams and commands by protocol, accepted
//!   stream connections by the local port a layer listens on (smoltcp's `SocketSet`, str0m's
//!   `accepts`);
//! - renumbers stream connections, so each layer keeps its own ids;
//! - runs a layer's [`LayerOutput::Request`] on the lower layer at once, remembers which request
//!   the lower layer's command id stands for, and routes the lower layer's completing event back
//!   to the asking layer instead of to the application;
//! - reports the earliest deadline of its layers as its own.
//!
//! rust-libp2p's `NetworkBehaviour` composition is the model. The stack itself is a [`Node`] over
//! [`Wire`], [`StackCommand`] and [`StackEvent`], so every driver that runs one engine runs a stack.

mod conns;
mod layer;
mod registry;
#[cfg(test)]
mod tests;

pub use layer::{Completes, Layer, LayerOutput, NodeLayer, StackError};
pub use registry::{ProtocolId, Registered, StackCommand, StackEvent, Wire};

use crate::{Endpoint, Instant, Node, RequestId, StreamCommand, StreamEvent, Transmit};
use conns::Conns;
use std::collections::{BTreeMap, VecDeque};

/// Inputs the stack could give to no layer, by reason (network input is counted, never fatal).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StackStats {
    /// Datagrams of a protocol this stack does not run.
    pub datagrams_without_layer: u64,
    /// Connections that arrived on a port no layer listens on (reset at once).
    pub connections_refused: u64,
    /// Stream events for a connection the stack does not know (already closed).
    pub stream_events_unknown: u64,
    /// Requests between layers that completed.
    pub requests_completed: u64,
}

/// One peer's layers, driven as one node.
pub struct Stack {
    layers: Vec<Box<dyn Layer>>,
    conns: Conns,
    /// (lower layer, the lower layer's command id) → (asking layer, the asker's request id).
    requests: BTreeMap<(u8, RequestId), (u8, RequestId)>,
    transmits: VecDeque<Transmit<Wire>>,
    streams: VecDeque<StreamCommand<Wire>>,
    events: VecDeque<StackEvent>,
    stats: StackStats,
}

impl Stack {
    /// A stack of `layers`, lowest first (a lower layer is one others send requests to); at
    /// most one layer per protocol.
    pub fn new(layers: Vec<Box<dyn Layer>>) -> Result<Stack, StackError> {
        for (i, l) in layers.iter().enumerate() {
            if let Some(p) = l
                .protocol()
                .filter(|p| layers[..i].iter().any(|m| m.protocol() == Some(*p)))
            {
                return Err(StackError::Duplicate(p));
            }
        }
        assert!(
            layers.len() <= u8::MAX as usize,
            "a stack holds at most 255 layers"
        );
        Ok(Stack {
            layers,
            conns: Conns::default(),
            requests: BTreeMap::new(),
            transmits: VecDeque::new(),
            streams: VecDeque::new(),
            events: VecDeque::new(),
            stats: StackStats::default(),
        })
    }

    /// The layer speaking `protocol`, if the stack has one.
    pub fn layer(&self, protocol: ProtocolId) -> Option<&dyn Layer> {
        self.index_of(protocol).map(|i| &*self.layers[i as usize])
    }

    /// The engine node of type `N` inside a [`NodeLayer`], if the stack has one.
    pub fn node<N: Registered + 'static>(&self) -> Option<&N> {
        self.layer(N::PROTOCOL)?.as_any().downcast_ref::<N>()
    }

    /// The engine node of type `N`, mutably.
    pub fn node_mut<N: Registered + 'static>(&mut self) -> Option<&mut N> {
        let i = self.index_of(N::PROTOCOL)?;
        self.layers[i as usize].as_any_mut().downcast_mut::<N>()
    }

    /// The protocols of the stack, lowest first.
    pub fn protocols(&self) -> impl Iterator<Item = ProtocolId> + '_ {
        self.layers.iter().filter_map(|l| l.protocol())
    }

    /// What the stack dropped or routed.
    pub fn stats(&self) -> StackStats {
        self.stats
    }

    /// Stream connections open now.
    pub fn open_connections(&self) -> usize {
        self.conns.len()
    }

    /// Gives `cmd` to its layer; `Err` when the stack has no layer for its protocol.
    pub fn try_command(&mut self, now: Instant, cmd: StackCommand) -> Result<RequestId, StackError> {
        let i = self
            .index_of(cmd.protocol())
            .ok_or(StackError::NoLayer(cmd.protocol()))?;
        let id = self.layers[i as usize].handle_command(now, cmd);
        self.pump(now);
        Ok(id)
    }

    fn index_of(&self, protocol: ProtocolId) -> Option<u8> {
        self.layers
            .iter()
            .position(|l| l.protocol() == Some(protocol))
            .map(|i| i as u8)
    }

    /// Takes every layer's outputs until none has any left: requests run on their lower layer
    /// at once, and the events that complete them go back to the asker, which may output more.
    fn pump(&mut self, now: Instant) {
        loop {
            let mut any = false;
            for i in 0..self.layers.len() {
                while let Some(out) = self.layers[i].poll_output() {
                    any = true;
                    self.route(now, i as u8, out);
                }
            }
            if !any {
                break;
            }
        }
    }

    fn route(&mut self, now: Instant, from: u8, out: LayerOutput) {
        match out {
            LayerOutput::Transmit(t) => self.transmits.push_back(t),
            LayerOutput::Stream(cmd) => {
                let peer = match cmd {
                    StreamCommand::Connect { conn, .. } => Some(self.conns.open(from, conn)),
                    _ => self.conns.peer_of(from, cmd.conn()),
                };
                // A command about a connection that already ended is moot.
                let Some(peer) = peer else { return };
                if matches!(cmd, StreamCommand::Close { .. } | StreamCommand::Reset { .. }) {
                    // The transport tells a node nothing more about a connection it closed.
                    self.conns.forget(peer);
                }
                self.streams.push_back(cmd.with_conn(peer));
            }
            LayerOutput::Request { request, command } => self.request(now, from, request, command),
            LayerOutput::Event(e) => {
                let answered = e.request().and_then(|id| self.requests.remove(&(from, id)));
                match answered {
                    Some((asker, their_id)) => {
                        self.stats.requests_completed += 1;
                        self.layers[asker as usize].handle_completion(now, their_id, Ok(e));
                    }
                    None => self.events.push_back(e),
                }
            }
        }
    }

    fn request(&mut self, now: Instant, asker: u8, request: RequestId, command: StackCommand) {
        let protocol = command.protocol();
        let failure = match self.index_of(protocol) {
            None => Some(StackError::NoLayer(protocol)),
            Some(lower) if lower == asker => Some(StackError::SelfRequest(protocol)),
            Some(lower) => {
                let id = self.layers[lower as usize].handle_command(now, command);
                self.requests.insert((lower, id), (asker, request));
                None
            }
        };
        if let Some(e) = failure {
            self.layers[asker as usize].handle_completion(now, request, Err(e));
        }
    }
}

impl Node for Stack {
    type Message = Wire;
    type Command = StackCommand;
    type Event = StackEvent;

    fn handle_message(&mut self, now: Instant, from: Endpoint, msg: Wire) {
        match self.index_of(msg.protocol()) {
            Some(i) => self.layers[i as usize].handle_datagram(now, from, msg),
            None => self.stats.datagrams_without_layer += 1,
        }
        self.pump(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        for l in &mut self.layers {
            if l.poll_timeout().is_some_and(|t| t <= now) {
                l.handle_timeout(now);
            }
        }
        self.pump(now);
    }

    /// A command for a protocol the stack does not run is a driver bug (the driver built the
    /// stack); [`Stack::try_command`] is the fallible form.
    fn handle_command(&mut self, now: Instant, cmd: StackCommand) -> RequestId {
        let protocol = cmd.protocol();
        self.try_command(now, cmd).unwrap_or_else(|_| {
            panic!(
                "a driver sent a {} command to a stack without that layer",
                protocol.name()
            )
        })
    }

    fn handle_stream(&mut self, now: Instant, event: StreamEvent<Wire>) {
        let conn = event.conn();
        if let StreamEvent::Accepted { local_port, .. } = event {
            match self.layers.iter().position(|l| l.listens(local_port)) {
                Some(i) => {
                    self.conns.accept(i as u8, conn);
                    self.layers[i].handle_stream(now, event);
                }
                None => {
                    self.stats.connections_refused += 1;
                    self.streams.push_back(StreamCommand::Reset { conn });
                }
            }
            self.pump(now);
            return;
        }
        let Some((layer, their)) = self.conns.layer_of(conn) else {
            self.stats.stream_events_unknown += 1;
            return;
        };
        if matches!(
            event,
            StreamEvent::Closed { .. } | StreamEvent::Reset { .. } | StreamEvent::ConnectFailed { .. }
        ) {
            self.conns.forget(conn);
        }
        self.layers[layer as usize].handle_stream(now, event.with_conn(their));
        self.pump(now);
    }

    fn poll_transmit(&mut self) -> Option<Transmit<Wire>> {
        self.transmits.pop_front()
    }

    fn poll_stream(&mut self) -> Option<StreamCommand<Wire>> {
        self.streams.pop_front()
    }

    fn poll_event(&mut self) -> Option<StackEvent> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.layers.iter().filter_map(|l| l.poll_timeout()).min()
    }

    fn listens(&self, port: u16) -> bool {
        self.layers.iter().any(|l| l.listens(port))
    }
}
