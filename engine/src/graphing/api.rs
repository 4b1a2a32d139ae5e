//! What an application asks of a graph node, and what the node reports (the PeerGraph* API
//! surface the simulator's workloads and the live node's control interface drive).

use super::{Guid, RefuseReason};
use crate::{Duration, Endpoint, RequestId};

/// How a joiner finds its first contact: Graphing has no discovery of its own (MS-PPGRH §1.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Bootstrap {
    /// A known address (an invitation, the application, an oracle in a graph-only scenario).
    Address(Endpoint),
    /// A PNRP peer name to resolve through the stack's PNRP layer (as Windows applications do).
    PeerName(String),
}

/// A command for a graph node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GraphCommand {
    /// Create the graph: publish its Graph Info record and listen at once (MS-PPGRH §3.1.4.1).
    Create,
    /// Join through a first contact (MS-PPGRH §3.1.4.2, §3.1.4.9).
    Join(Bootstrap),
    /// Publish a new application record (MS-PPGRH §3.1.4.3).
    Publish {
        /// Record type (not a reserved one).
        record_type: Guid,
        /// Payload bytes.
        payload: Vec<u8>,
        /// Attributes XML (empty for none).
        attributes: String,
        /// Lifetime from now.
        lifetime: Duration,
    },
    /// Update one of the graph's records (MS-PPGRH §3.1.4.4).
    Update {
        /// Record id.
        id: Guid,
        /// New payload.
        payload: Vec<u8>,
        /// New attributes.
        attributes: String,
        /// New lifetime from now (the expiration never shrinks).
        lifetime: Duration,
    },
    /// Delete a record: a versioned tombstone (MS-PPGRH §3.1.4.5).
    Delete {
        /// Record id.
        id: Guid,
    },
    /// Leave the graph: DISCONNECT every link, delete own internal records (MS-PPGRH §3.1.4.6).
    Leave,
    /// Open a direct connection (PT2PT only, no records) to the node listening at `to`
    /// (MS-PPGRH §3.1.4.9); completes with [`GraphEvent::DirectConnected`].
    OpenDirect {
        /// The far node's listening address.
        to: Endpoint,
        /// The peer id expected there (AUTH_INFO's destination), if known.
        peer_id: Option<String>,
    },
    /// Send application data on a CONNECTED neighbor or direct connection (MS-PPGRH §3.1.4.10).
    SendData {
        /// The connection, as [`GraphEvent::DirectConnected`] or `GraphNode::connection_to` names it.
        connection: u64,
        /// The data type (not the internal Ping's).
        data_type: Guid,
        /// The bytes.
        data: Vec<u8>,
    },
    /// Close a direct connection with DISCONNECT (APP_DISCONNECT) (MS-PPGRH §3.1.4.11).
    CloseDirect {
        /// The connection.
        connection: u64,
    },
}

/// Why a command failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GraphError {
    /// The record type is reserved for the graph itself.
    ReservedType,
    /// Payload plus attributes exceed the graph's maximum record size.
    TooLarge,
    /// The attributes are not well-formed attribute XML (MS-PPGRH §2.2.3.5).
    BadAttributes,
    /// No such record, or it is deleted.
    NoSuchRecord,
    /// The lifetime would end before now, or shrink the expiration.
    BadLifetime,
    /// Not in a graph (no Create or Join yet, or left).
    NotInGraph,
    /// Already in a graph.
    AlreadyInGraph,
    /// Every contact tried refused or failed; the last refusal, if any.
    JoinFailed(Option<RefuseReason>),
    /// A direct connection to the node's own listening address (MS-PPGRH §3.1.4.9).
    OwnAddress,
    /// No CONNECTED connection with that id (or not a direct one, for CloseDirect).
    NoSuchConnection,
    /// The direct connection was refused (the REFUSE code) or failed before WELCOME (`None`).
    DirectFailed(Option<RefuseReason>),
    /// The PNRP resolve of the bootstrap name failed.
    NameNotFound,
    /// The security provider refused to sign the record (MS-PPGRH §3.1.7.1).
    SecurityRefused,
}

impl GraphError {
    /// A stable snake_case name (counters, records).
    pub fn name(&self) -> &'static str {
        match self {
            GraphError::ReservedType => "reserved_type",
            GraphError::TooLarge => "too_large",
            GraphError::BadAttributes => "bad_attributes",
            GraphError::NoSuchRecord => "no_such_record",
            GraphError::BadLifetime => "bad_lifetime",
            GraphError::NotInGraph => "not_in_graph",
            GraphError::AlreadyInGraph => "already_in_graph",
            GraphError::JoinFailed(_) => "join_failed",
            GraphError::NameNotFound => "name_not_found",
            GraphError::SecurityRefused => "security_refused",
            GraphError::OwnAddress => "own_address",
            GraphError::NoSuchConnection => "no_such_connection",
            GraphError::DirectFailed(_) => "direct_failed",
        }
    }
}

/// What a graph node reports.
#[derive(Clone, Debug, PartialEq)]
pub enum GraphEvent {
    /// A command succeeded; `id` names the record for Publish, Update and Delete.
    Done {
        /// The command.
        request: RequestId,
        /// The record, for record commands.
        id: Option<Guid>,
    },
    /// A command failed.
    Failed {
        /// The command.
        request: RequestId,
        /// Why.
        error: GraphError,
    },
    /// The first synchronization finished (the graph counts as joined; the node listens next).
    Synchronized,
    /// The node started listening (MS-PPGRH §3.1.4.8).
    Listening,
    /// A neighbor link reached CONNECTED.
    NeighborUp {
        /// The neighbor's node id.
        node_id: u64,
        /// Whether this node opened the link.
        initiated: bool,
    },
    /// A neighbor link went away.
    NeighborDown {
        /// The neighbor's node id.
        node_id: u64,
    },
    /// A record became new to this node (stored because it won, MS-PPGRH §3.1.7.10) or was
    /// published by it.
    RecordChanged {
        /// Record type.
        record_type: Guid,
        /// Record id.
        id: Guid,
        /// Its version now.
        version: u32,
        /// It is a tombstone now.
        deleted: bool,
    },
    /// A record expired and was removed (MS-PPGRH §3.1.6.7).
    RecordExpired {
        /// Record id.
        id: Guid,
    },
    /// The node needs the graph's peer name resolved (to join, or to find "some new node" for
    /// long-term partition repair, MS-PPGRH §3.1.6.3): resolve it (the `GraphingLayer` asks PNRP)
    /// and answer with `GraphNode::name_resolved`.
    ResolveWanted {
        /// The peer name.
        name: String,
    },
    /// A direct connection reached CONNECTED: this node's OpenDirect (`request` set) or one it
    /// accepted (`request` is `None`).
    DirectConnected {
        /// The OpenDirect command, when this node opened it.
        request: Option<RequestId>,
        /// The connection's id (for SendData and CloseDirect).
        connection: u64,
        /// The far node's id.
        node_id: u64,
        /// The far node's peer id.
        peer_id: String,
    },
    /// A direct connection went away (DISCONNECT, close or reset).
    DirectClosed {
        /// The connection.
        connection: u64,
    },
    /// Application data arrived in PT2PT (MS-PPGRH §3.1.5.2.12); the internal Ping is not reported.
    DataReceived {
        /// The connection it came on.
        connection: u64,
        /// The sender's node id.
        node_id: u64,
        /// The data type.
        data_type: Guid,
        /// The bytes.
        data: Vec<u8>,
    },
}

impl GraphEvent {
    /// The command this event completes, if any.
    pub fn request(&self) -> Option<RequestId> {
        match self {
            GraphEvent::Done { request, .. } | GraphEvent::Failed { request, .. } => Some(*request),
            GraphEvent::DirectConnected { request, .. } => *request,
            _ => None,
        }
    }
}
