//! The fourteen Peer Graphing messages (MS-PPGRH §2.2.2) as typed values. The codec in `wire`
//! turns them into framed bytes and back; the simulator carries them typed.
//!
//! Address arrays hold PEER_IN6_ADDRESS entries (MS-PPGRH §2.2.1.3): an IPv6 address and a TCP
//! port, the engine's [`Endpoint`].

use super::{Guid, PeerRecord, PeerTime};
use crate::Endpoint;

/// The version byte of every message header (MS-PPGRH §2.2.1.2).
pub const MESSAGE_VERSION: u8 = 0x10;

/// Connection type of AUTH_INFO (MS-PPGRH §2.2.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionType {
    /// A neighbor connection (floods and syncs records).
    Neighbor = 1,
    /// A direct connection (PT2PT only).
    Direct = 2,
}

/// AUTH_INFO (0x01): the initiator's first message (MS-PPGRH §2.2.2.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthInfo {
    /// Neighbor or direct.
    pub connection_type: ConnectionType,
    /// The graph to join.
    pub graph_id: String,
    /// The initiator's peer id.
    pub source_peer_id: String,
    /// The peer id expected at the far end, if known.
    pub destination_peer_id: Option<String>,
}

/// CONNECT (0x02) (MS-PPGRH §2.2.2.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connect {
    /// U: an update of the sender's addresses on an established link.
    pub update: bool,
    /// D: asks for a direct connection.
    pub direct: bool,
    /// N: asks for the responder's neighbor list (referrals) in WELCOME.
    pub want_neighbors: bool,
    /// The sender's node id.
    pub node_id: u64,
    /// The sender's listening addresses (none while not listening).
    pub addresses: Vec<Endpoint>,
    /// Optional friendly name.
    pub friendly_name: Option<String>,
}

/// WELCOME (0x03) (MS-PPGRH §2.2.2.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Welcome {
    /// The responder's node id.
    pub node_id: u64,
    /// The responder's peer time when it sent the message.
    pub peer_time: PeerTime,
    /// Referrals (the responder's neighbors' addresses), when N was set.
    pub addresses: Vec<Endpoint>,
    /// The responder's peer id.
    pub peer_id: String,
    /// Optional friendly name.
    pub friendly_name: Option<String>,
}

/// REFUSE error codes (MS-PPGRH §2.2.2.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RefuseReason {
    /// At the maximum number of neighbors.
    Busy = 1,
    /// The link is already connected and U was not set.
    AlreadyConnected = 2,
    /// A neighbor with the same node id exists.
    DuplicateConnection = 3,
    /// Direct connections are not accepted.
    DirectConnectionDisallowed = 4,
}

/// REFUSE (0x04) (MS-PPGRH §2.2.2.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refuse {
    /// Why.
    pub reason: RefuseReason,
    /// Referrals.
    pub addresses: Vec<Endpoint>,
}

/// DISCONNECT reasons (MS-PPGRH §2.2.2.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DisconnectReason {
    /// The sender leaves the graph.
    Leaving = 1,
    /// Pruned by connection maintenance.
    LeastUseful = 2,
    /// The application closed the link.
    AppDisconnect = 3,
}

/// DISCONNECT (0x05) (MS-PPGRH §2.2.2.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disconnect {
    /// Why.
    pub reason: DisconnectReason,
    /// Up to 10 referrals: the sender's least recently added neighbors.
    pub addresses: Vec<Endpoint>,
}

/// Which record types a solicitation covers (MS-PPGRH §2.2.2.6): both lists empty means all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TypeFilter {
    /// Only these types (at most one).
    pub include: Vec<Guid>,
    /// Every type but these.
    pub exclude: Vec<Guid>,
}

/// SOLICIT_NEW (0x06): Sync All, or one type of it (MS-PPGRH §2.2.2.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SolicitNew {
    /// The record types asked for.
    pub types: TypeFilter,
}

/// SOLICIT_TIME (0x07): records modified at or after `since` (MS-PPGRH §2.2.2.7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SolicitTime {
    /// The record types asked for.
    pub types: TypeFilter,
    /// The peer time at which the requester left the graph.
    pub since: PeerTime,
}

/// HASH_INFO_ENTRY (MS-PPGRH §2.2.1.7): one range of 10 records and its upper bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashInfo {
    /// MD5 over the range's (id, version) pairs.
    pub hash: [u8; 16],
    /// Upper bound: modification time.
    pub modified: PeerTime,
    /// Upper bound: record id.
    pub id: Guid,
}

/// SOLICIT_HASH (0x08) (MS-PPGRH §2.2.2.8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SolicitHash {
    /// The record types asked for.
    pub types: TypeFilter,
    /// The requester's ranges.
    pub ranges: Vec<HashInfo>,
}

/// HASH_ENTRY_BOUNDARY (MS-PPGRH §2.2.1.8): a range whose hashes differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashBoundary {
    /// Lower bound: modification time.
    pub low_modified: PeerTime,
    /// Lower bound: record id.
    pub low_id: Guid,
    /// Upper bound: modification time.
    pub high_modified: PeerTime,
    /// Upper bound: record id.
    pub high_id: Guid,
    /// How many records the responder holds in the range.
    pub count: u32,
}

/// RECORD_ABSTRACT (MS-PPGRH §2.2.1.6): a record id and version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RecordAbstract {
    /// Record id.
    pub id: Guid,
    /// Version.
    pub version: u32,
}

/// ADVERTISE (0x09) (MS-PPGRH §2.2.2.9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Advertise {
    /// The ranges whose hashes differ.
    pub boundaries: Vec<HashBoundary>,
    /// The responder's records in those ranges.
    pub abstracts: Vec<RecordAbstract>,
}

/// REQUEST (0x0A) (MS-PPGRH §2.2.2.10).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The records wanted (versions wanted).
    pub abstracts: Vec<RecordAbstract>,
}

/// PT2PT (0x0D) (MS-PPGRH §2.2.2.13).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PointToPoint {
    /// The data type; [`PING_DATA_TYPE`] is the internal Ping.
    pub data_type: Guid,
    /// The application's bytes.
    pub data: Vec<u8>,
}

/// The data type of the internal Ping (MS-PPGRH §2.2.4.1).
pub const PING_DATA_TYPE: Guid = Guid::from_text("0ccbb0d2-be41-4bd6-914b-058ec5dcce64");

/// One entry of an ACK (MS-PPGRH §2.2.2.14).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AckEntry {
    /// The record acknowledged.
    pub id: Guid,
    /// U: the record was new to the receiver.
    pub useful: bool,
}

/// A Peer Graphing message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// 0x01.
    AuthInfo(Box<AuthInfo>),
    /// 0x02.
    Connect(Box<Connect>),
    /// 0x03.
    Welcome(Box<Welcome>),
    /// 0x04.
    Refuse(Box<Refuse>),
    /// 0x05.
    Disconnect(Box<Disconnect>),
    /// 0x06.
    SolicitNew(Box<SolicitNew>),
    /// 0x07.
    SolicitTime(Box<SolicitTime>),
    /// 0x08.
    SolicitHash(Box<SolicitHash>),
    /// 0x09.
    Advertise(Box<Advertise>),
    /// 0x0A.
    Request(Box<Request>),
    /// 0x0B: one record.
    Flood(Box<PeerRecord>),
    /// 0x0C: end of one sync phase; `final_phase` is the F bit.
    SyncEnd {
        /// F (final).
        final_phase: bool,
    },
    /// 0x0D.
    PointToPoint(Box<PointToPoint>),
    /// 0x0E.
    Ack(Box<Vec<AckEntry>>),
}

impl Message {
    /// Every message kind's name, indexed by [`Message::kind`] (traffic counters).
    pub const KINDS: [&'static str; 14] = [
        "AUTH_INFO",
        "CONNECT",
        "WELCOME",
        "REFUSE",
        "DISCONNECT",
        "SOLICIT_NEW",
        "SOLICIT_TIME",
        "SOLICIT_HASH",
        "ADVERTISE",
        "REQUEST",
        "FLOOD",
        "SYNC_END",
        "PT2PT",
        "ACK",
    ];

    /// The message type code (MS-PPGRH §2.2.1.2).
    pub fn type_code(&self) -> u8 {
        self.kind() as u8 + 1
    }

    /// Index into [`Message::KINDS`].
    pub fn kind(&self) -> usize {
        match self {
            Message::AuthInfo(_) => 0,
            Message::Connect(_) => 1,
            Message::Welcome(_) => 2,
            Message::Refuse(_) => 3,
            Message::Disconnect(_) => 4,
            Message::SolicitNew(_) => 5,
            Message::SolicitTime(_) => 6,
            Message::SolicitHash(_) => 7,
            Message::Advertise(_) => 8,
            Message::Request(_) => 9,
            Message::Flood(_) => 10,
            Message::SyncEnd { .. } => 11,
            Message::PointToPoint(_) => 12,
            Message::Ack(_) => 13,
        }
    }
}
