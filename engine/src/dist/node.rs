//! One Peer Distribution role as one [`Node`]: a machine is a content server, a branch peer or a
//! hosted cache (MS-PCCRR §1.3, MS-PCHC §1.3), so a per-peer stack holds any of them as its
//! distribution layer.

use super::{
    BranchPeer, ContentServer, DistMessage, HostedCache, HostedCommand, HostedEvent, PeerCommand, PeerEvent,
    ServerCommand, ServerEvent,
};
use crate::{Endpoint, Instant, Node, RequestId, Transmit};

/// A machine's distribution role.
pub enum DistNode {
    /// The origin content server.
    Server(Box<ContentServer>),
    /// A branch client that also serves its peers.
    Peer(Box<BranchPeer>),
    /// A hosted cache.
    Hosted(Box<HostedCache>),
}

/// A command for whichever role the node has.
#[derive(Clone, Debug)]
pub enum DistCommand {
    /// For a content server.
    Server(ServerCommand),
    /// For a branch peer.
    Peer(PeerCommand),
    /// For a hosted cache.
    Hosted(HostedCommand),
}

/// An event of whichever role the node has.
#[derive(Clone, Debug)]
pub enum DistEvent {
    /// From a content server.
    Server(ServerEvent),
    /// From a branch peer.
    Peer(PeerEvent),
    /// From a hosted cache.
    Hosted(HostedEvent),
}

/// The role's own method, whichever role it is.
macro_rules! each_role {
    ($node:expr, $n:ident => $body:expr) => {
        match $node {
            DistNode::Server($n) => $body,
            DistNode::Peer($n) => $body,
            DistNode::Hosted($n) => $body,
        }
    };
}

impl DistNode {
    /// The machine's endpoint.
    pub fn endpoint(&self) -> Endpoint {
        each_role!(self, n => n.endpoint())
    }
}

impl DistEvent {
    /// The command this event completes, if it completes one.
    pub fn request(&self) -> Option<RequestId> {
        match self {
            DistEvent::Server(ServerEvent::Done { request, .. }) => Some(*request),
            DistEvent::Peer(PeerEvent::Fetched { request, .. } | PeerEvent::FetchFailed { request, .. }) => {
                Some(*request)
            }
            DistEvent::Hosted(HostedEvent::Done { request }) => Some(*request),
            _ => None,
        }
    }
}

impl Node for DistNode {
    type Message = DistMessage;
    type Command = DistCommand;
    type Event = DistEvent;

    fn handle_message(&mut self, now: Instant, from: Endpoint, msg: DistMessage) {
        each_role!(self, n => n.handle_message(now, from, msg))
    }

    fn handle_timeout(&mut self, now: Instant) {
        each_role!(self, n => n.handle_timeout(now))
    }

    /// A command for another role than the node's is a driver bug: the driver built the node.
    fn handle_command(&mut self, now: Instant, cmd: DistCommand) -> RequestId {
        match (self, cmd) {
            (DistNode::Server(n), DistCommand::Server(c)) => n.handle_command(now, c),
            (DistNode::Peer(n), DistCommand::Peer(c)) => n.handle_command(now, c),
            (DistNode::Hosted(n), DistCommand::Hosted(c)) => n.handle_command(now, c),
            (_, c) => panic!("a driver sent {c:?} to a distribution node of another role"),
        }
    }

    fn poll_transmit(&mut self) -> Option<Transmit<DistMessage>> {
        each_role!(self, n => n.poll_transmit())
    }

    fn poll_event(&mut self) -> Option<DistEvent> {
        match self {
            DistNode::Server(n) => n.poll_event().map(DistEvent::Server),
            DistNode::Peer(n) => n.poll_event().map(DistEvent::Peer),
            DistNode::Hosted(n) => n.poll_event().map(DistEvent::Hosted),
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        each_role!(self, n => n.poll_timeout())
    }
}
