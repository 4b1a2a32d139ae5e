//! The protocols a stack can hold, listed once. Adding a protocol to peerlab's engine is one line
//! in [`protocols!`]'s invocation below: it names the protocol, its engine node type and its
//! message, command and event types, and derives the stack's sum types from them.

use super::layer::Completes;
use crate::{dist, graphing, pnrp, Node, RequestId};

/// Declares the registered protocols and derives [`ProtocolId`], [`Wire`], [`StackCommand`],
/// [`StackEvent`] and each node's [`Registered`] impl from one line per protocol.
macro_rules! protocols {
    ($( $(#[$doc:meta])* $name:ident = $label:literal, $node:ty; )*) => {
        /// A protocol a stack layer speaks.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum ProtocolId {
            $( $(#[$doc])* $name, )*
        }

        impl ProtocolId {
            /// Every registered protocol, in registration order.
            pub const ALL: &'static [ProtocolId] = &[$(ProtocolId::$name),*];

            /// The protocol's short name, as scenario files write it (`stack = ["pnrp"]`).
            pub const fn name(self) -> &'static str {
                match self { $(ProtocolId::$name => $label,)* }
            }

            /// The protocol named `name` in a scenario file, if registered.
            pub fn from_name(name: &str) -> Option<ProtocolId> {
                Self::ALL.iter().copied().find(|p| p.name() == name)
            }
        }

        /// A message of any registered protocol: what a stack sends and receives.
        #[derive(Clone, Debug)]
        pub enum Wire {
            $( $(#[$doc])* $name(<$node as Node>::Message), )*
        }

        /// A command for one layer of a stack (from the application, or from an upper layer).
        #[derive(Clone, Debug)]
        pub enum StackCommand {
            $( $(#[$doc])* $name(<$node as Node>::Command), )*
        }

        /// An event of one layer of a stack (to the application, or completing an upper layer's request).
        #[derive(Clone, Debug)]
        pub enum StackEvent {
            $( $(#[$doc])* $name(<$node as Node>::Event), )*
        }

        impl Wire {
            /// The protocol the message belongs to.
            pub fn protocol(&self) -> ProtocolId {
                match self { $(Wire::$name(_) => ProtocolId::$name,)* }
            }
        }

        impl StackCommand {
            /// The protocol (layer) the command is for.
            pub fn protocol(&self) -> ProtocolId {
                match self { $(StackCommand::$name(_) => ProtocolId::$name,)* }
            }
        }

        impl StackEvent {
            /// The protocol (layer) the event comes from.
            pub fn protocol(&self) -> ProtocolId {
                match self { $(StackEvent::$name(_) => ProtocolId::$name,)* }
            }

            /// The command this event completes, if it completes one (a command's completion is
            /// exactly one event carrying its id).
            pub fn request(&self) -> Option<RequestId> {
                match self { $(StackEvent::$name(e) => e.request(),)* }
            }
        }

        $(
            impl Registered for $node {
                const PROTOCOL: ProtocolId = ProtocolId::$name;
                fn wrap_message(msg: Self::Message) -> Wire { Wire::$name(msg) }
                fn unwrap_message(msg: Wire) -> Result<Self::Message, Wire> {
                    #[allow(irrefutable_let_patterns, reason = "one protocol registered makes it so")]
                    if let Wire::$name(m) = msg { Ok(m) } else { Err(msg) }
                }
                fn wrap_event(event: Self::Event) -> StackEvent { StackEvent::$name(event) }
                #[allow(clippy::result_large_err)]
                fn unwrap_command(cmd: StackCommand) -> Result<Self::Command, StackCommand> {
                    #[allow(irrefutable_let_patterns, reason = "one protocol registered makes it so")]
                    if let StackCommand::$name(c) = cmd { Ok(c) } else { Err(cmd) }
                }
            }
        )*
    };
}

/// An engine node registered in [`protocols!`]: how its own types map to the stack's sum types.
pub trait Registered: Node {
    /// Which protocol it speaks.
    const PROTOCOL: ProtocolId;
    /// Its message as a stack message.
    fn wrap_message(msg: Self::Message) -> Wire;
    /// A stack message as its own (`Err` gives back a message of another protocol).
    fn unwrap_message(msg: Wire) -> Result<Self::Message, Wire>;
    /// Its event as a stack event.
    fn wrap_event(event: Self::Event) -> StackEvent;
    /// A stack command as its own (`Err` gives back a command for another protocol).
    // Commands come from applications, a few per operation, never per datagram: moving one back
    // costs nothing worth a box.
    #[allow(clippy::result_large_err)]
    fn unwrap_command(cmd: StackCommand) -> Result<Self::Command, StackCommand>;
}

protocols! {
    /// Peer Name Resolution Protocol (MS-PNRP).
    Pnrp = "pnrp", pnrp::PnrpNode;
    /// Peer Content Caching and Retrieval: BranchCache (MS-PCCRD, MS-PCCRR, MS-PCHC).
    Dist = "distribution", dist::DistNode;
    /// Peer Graphing (MS-PPGRH).
    Graphing = "graphing", graphing::GraphNode;
}

impl Completes for pnrp::Event {
    fn request(&self) -> Option<RequestId> {
        match self {
            pnrp::Event::Registered { request, .. }
            | pnrp::Event::RegisterFailed { request, .. }
            | pnrp::Event::Unregistered { request, .. }
            | pnrp::Event::Resolved { request, .. } => Some(*request),
            pnrp::Event::SplitDetected { .. } => None,
        }
    }
}

impl Completes for graphing::GraphEvent {
    fn request(&self) -> Option<RequestId> {
        graphing::GraphEvent::request(self)
    }
}

impl Completes for dist::DistEvent {
    fn request(&self) -> Option<RequestId> {
        dist::DistEvent::request(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        for p in ProtocolId::ALL {
            assert_eq!(ProtocolId::from_name(p.name()), Some(*p));
        }
        assert_eq!(ProtocolId::from_name("gopher"), None);
    }
}
