//! Stream connections as the engine sees them: connection ids and framed messages, whatever
//! carries them underneath (the simulator's stream model, or real TCP sockets in the live driver).
//!
//! A node asks for connections with [`StreamCommand`]s (polled with `Node::poll_stream`) and hears
//! what happened to them through [`StreamEvent`]s (`Node::handle_stream`). Messages are typed and
//! framed: the transport delivers each one whole and in order, or not at all once the connection
//! has failed, as TCP does for the bytes of a framed protocol (Peer Graphing runs over TCP and
//! frames its messages with a length prefix, MS-PPGRH §2.1 and §2.2.1.1).

use crate::Endpoint;
use std::fmt;

/// One stream connection of one node.
///
/// Ids of connections a node opens are the node's own choice (any value below
/// [`ConnId::ACCEPTED_BIT`]); the driver numbers connections it accepts on the node's behalf with
/// the bit set, so the two never collide.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ConnId(pub u64);

impl ConnId {
    /// Set in the ids of accepted connections.
    pub const ACCEPTED_BIT: u64 = 1 << 63;

    /// The id the driver gives the `n`th connection it accepts for a node.
    pub const fn accepted(n: u64) -> ConnId {
        ConnId(n | Self::ACCEPTED_BIT)
    }

    /// True when the far side opened this connection.
    pub const fn is_accepted(self) -> bool {
        self.0 & Self::ACCEPTED_BIT != 0
    }
}

impl fmt::Display for ConnId {
    /// `c7` for a connection the node opened, `a7` for one it accepted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_accepted() {
            write!(f, "a{}", self.0 & !Self::ACCEPTED_BIT)
        } else {
            write!(f, "c{}", self.0)
        }
    }
}

/// What a node asks of the stream transport.
#[derive(Clone, Debug, PartialEq)]
pub enum StreamCommand<M> {
    /// Open a connection to `to` (address and port), under the node's own id `conn`.
    Connect {
        /// The node's id for the new connection.
        conn: ConnId,
        /// Where to connect.
        to: Endpoint,
    },
    /// Queue one framed message on an open connection.
    Send {
        /// The connection.
        conn: ConnId,
        /// The message (it knows its encoded length).
        msg: M,
    },
    /// Close gracefully: what was queued is still delivered, then the far side sees `Closed`.
    Close {
        /// The connection.
        conn: ConnId,
    },
    /// Abort: queued data is discarded and the far side sees `Reset`.
    Reset {
        /// The connection.
        conn: ConnId,
    },
}

impl<M> StreamCommand<M> {
    /// The connection the command is about.
    pub fn conn(&self) -> ConnId {
        match self {
            StreamCommand::Connect { conn, .. }
            | StreamCommand::Send { conn, .. }
            | StreamCommand::Close { conn }
            | StreamCommand::Reset { conn } => *conn,
        }
    }

    /// The same command for connection `conn` (the stack renumbers its layers' connections).
    pub fn with_conn(self, conn: ConnId) -> StreamCommand<M> {
        match self {
            StreamCommand::Connect { to, .. } => StreamCommand::Connect { conn, to },
            StreamCommand::Send { msg, .. } => StreamCommand::Send { conn, msg },
            StreamCommand::Close { .. } => StreamCommand::Close { conn },
            StreamCommand::Reset { .. } => StreamCommand::Reset { conn },
        }
    }

    /// The same command with its message mapped (`Send` only has one).
    pub fn map_msg<N>(self, f: impl FnOnce(M) -> N) -> StreamCommand<N> {
        match self {
            StreamCommand::Connect { conn, to } => StreamCommand::Connect { conn, to },
            StreamCommand::Send { conn, msg } => StreamCommand::Send { conn, msg: f(msg) },
            StreamCommand::Close { conn } => StreamCommand::Close { conn },
            StreamCommand::Reset { conn } => StreamCommand::Reset { conn },
        }
    }
}

/// Why a connection attempt failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConnectFailure {
    /// The host answered with a reset: nothing listens on that port.
    Refused,
    /// No answer within the transport's connect timeout (host down, or every SYN lost).
    TimedOut,
    /// No route: the address belongs to no host, or a partition separates the two.
    Unreachable,
}

impl ConnectFailure {
    /// A short snake_case name for counters and records.
    pub const fn as_str(self) -> &'static str {
        match self {
            ConnectFailure::Refused => "refused",
            ConnectFailure::TimedOut => "timed_out",
            ConnectFailure::Unreachable => "unreachable",
        }
    }
}

/// What the stream transport tells a node.
#[derive(Clone, Debug, PartialEq)]
pub enum StreamEvent<M> {
    /// A connection the node opened is established (the handshake completed).
    Connected {
        /// The node's id for it.
        conn: ConnId,
    },
    /// A connection from `from` arrived on the node's listening port `local_port`.
    Accepted {
        /// The driver's id for it (`ConnId::accepted`).
        conn: ConnId,
        /// The far end.
        from: Endpoint,
        /// The node's port it arrived on.
        local_port: u16,
    },
    /// One whole message arrived, in order.
    Received {
        /// The connection.
        conn: ConnId,
        /// The message.
        msg: M,
    },
    /// The far side closed gracefully after everything it sent was delivered.
    Closed {
        /// The connection.
        conn: ConnId,
    },
    /// The connection was aborted (the far side reset it, crashed, or went away).
    Reset {
        /// The connection.
        conn: ConnId,
    },
    /// A connection the node opened could not be established.
    ConnectFailed {
        /// The node's id for it.
        conn: ConnId,
        /// Why.
        reason: ConnectFailure,
    },
}

impl<M> StreamEvent<M> {
    /// The connection the event is about.
    pub fn conn(&self) -> ConnId {
        match self {
            StreamEvent::Connected { conn }
            | StreamEvent::Accepted { conn, .. }
            | StreamEvent::Received { conn, .. }
            | StreamEvent::Closed { conn }
            | StreamEvent::Reset { conn }
            | StreamEvent::ConnectFailed { conn, .. } => *conn,
        }
    }

    /// The same event for connection `conn` (the stack renumbers connections for its layers).
    pub fn with_conn(self, conn: ConnId) -> StreamEvent<M> {
        match self {
            StreamEvent::Connected { .. } => StreamEvent::Connected { conn },
            StreamEvent::Accepted { from, local_port, .. } => StreamEvent::Accepted {
                conn,
                from,
                local_port,
            },
            StreamEvent::Received { msg, .. } => StreamEvent::Received { conn, msg },
            StreamEvent::Closed { .. } => StreamEvent::Closed { conn },
            StreamEvent::Reset { .. } => StreamEvent::Reset { conn },
            StreamEvent::ConnectFailed { reason, .. } => StreamEvent::ConnectFailed { conn, reason },
        }
    }

    /// The same event with its message mapped; `None` when `f` refuses the message (a message of
    /// another protocol on this connection).
    pub fn try_map_msg<N>(self, f: impl FnOnce(M) -> Option<N>) -> Option<StreamEvent<N>> {
        Some(match self {
            StreamEvent::Connected { conn } => StreamEvent::Connected { conn },
            StreamEvent::Accepted {
                conn,
                from,
                local_port,
            } => StreamEvent::Accepted {
                conn,
                from,
                local_port,
            },
            StreamEvent::Received { conn, msg } => StreamEvent::Received { conn, msg: f(msg)? },
            StreamEvent::Closed { conn } => StreamEvent::Closed { conn },
            StreamEvent::Reset { conn } => StreamEvent::Reset { conn },
            StreamEvent::ConnectFailed { conn, reason } => StreamEvent::ConnectFailed { conn, reason },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_ids_never_collide_with_the_nodes_own() {
        let own = ConnId(7);
        let accepted = ConnId::accepted(7);
        assert_ne!(own, accepted);
        assert!(accepted.is_accepted() && !own.is_accepted());
        assert_eq!(
            (own.to_string(), accepted.to_string()),
            ("c7".into(), "a7".into())
        );
    }

    #[test]
    fn renumbering_keeps_everything_but_the_id() {
        let ep = Endpoint::new(std::net::Ipv6Addr::LOCALHOST, 80);
        let ev: StreamEvent<u8> = StreamEvent::Accepted {
            conn: ConnId(1),
            from: ep,
            local_port: 80,
        };
        assert_eq!(
            ev.with_conn(ConnId(9)),
            StreamEvent::Accepted {
                conn: ConnId(9),
                from: ep,
                local_port: 80
            }
        );
        let cmd = StreamCommand::Send {
            conn: ConnId(1),
            msg: 3u8,
        };
        assert_eq!(
            cmd.with_conn(ConnId(2)).map_msg(u16::from),
            StreamCommand::Send {
                conn: ConnId(2),
                msg: 3u16
            }
        );
    }
}
