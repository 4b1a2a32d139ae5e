//! Typed PNRP messages (MS-PNRP §2.2.2). The byte layout lives in `wire`; every message knows its
//! encoded length so the simulator's byte counts and bandwidth use are real.

use super::addrs::Addrs;
use super::cpa::Cpa;
use super::id::PnrpId;
use super::payload::ExtendedPayload;
use crate::Endpoint;
use serde::{Deserialize, Serialize};
use std::net::Ipv6Addr;
use std::sync::Arc;

/// Most addresses a ROUTE_ENTRY may carry (MS-PNRP §2.2.3.4).
pub const ROUTE_ENTRY_MAX_ADDRS: usize = 20;
/// Most endpoints in a Flagged Path or Already Flooded List (MS-PNRP §2.2.2.4, §2.2.2.8).
pub const ENDPOINT_LIST_MAX: usize = 22;
/// Largest AUTHORITY fragment (MS-PNRP §2.2.2.6).
pub const AUTHORITY_FRAGMENT_MAX: usize = 1188;
/// Largest AUTHORITY_BUFFER (MS-PNRP §2.2.2.6: 0x91E4).
pub const AUTHORITY_BUFFER_MAX: usize = 0x91E4;

/// A route entry: a PNRP ID and the addresses/port of the node that registered it (MS-PNRP §2.2.3.4).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RouteEntry {
    /// The registered PNRP ID.
    pub id: PnrpId,
    /// UDP port shared by all addresses; must be > 1024.
    pub port: u16,
    /// 1..=20 IPv6 addresses the registering node listens on.
    pub addrs: Addrs,
}

impl RouteEntry {
    /// A route entry with a single address.
    pub fn single(id: PnrpId, ep: Endpoint) -> Self {
        RouteEntry {
            id,
            port: ep.port,
            addrs: Addrs::one(ep.addr),
        }
    }
    /// The endpoint messages to this entry go to (the first address: MS-PNRP §3.1.5.11, peerlab choice).
    pub fn endpoint(&self) -> Endpoint {
        Endpoint::new(
            self.addrs.first().copied().unwrap_or(Ipv6Addr::UNSPECIFIED),
            self.port,
        )
    }
    /// True when `ep` is one of this entry's endpoints.
    pub fn has_endpoint(&self, ep: &Endpoint) -> bool {
        ep.port == self.port && self.addrs.contains(&ep.addr)
    }
    /// Bytes this entry takes as a ROUTING_ENTRY element including padding: 44 + 16k.
    pub fn element_len(&self) -> usize {
        44 + 16 * self.addrs.len()
    }
}

/// SOLICIT_CONTROLS SolicitType (MS-PNRP §2.2.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SolicitType {
    /// Cached and local entries (0x00).
    Any,
    /// Only the responder's own registered IDs (0x01).
    Local,
}

/// SOLICIT (0x01): start a synchronization conversation (MS-PNRP §2.2.2.1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Solicit {
    /// Header Message ID.
    pub message_id: u32,
    /// Optional SOLICIT_CONTROLS.
    pub solicit_type: Option<SolicitType>,
    /// Route entry of one of the sender's registered IDs (absent for resolve-only senders).
    pub route_entry: Option<RouteEntry>,
    /// SHA-1 of the conversation nonce.
    pub hashed_nonce: [u8; 20],
}

/// ADVERTISE (0x02): the IDs the responder offers (MS-PNRP §2.2.2.2). Empty = busy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Advertise {
    /// Header Message ID.
    pub message_id: u32,
    /// Message ID of the SOLICIT answered.
    pub acked_id: u32,
    /// Offered PNRP IDs (normally 5).
    pub ids: Vec<PnrpId>,
    /// Copied from the SOLICIT.
    pub hashed_nonce: [u8; 20],
}

/// REQUEST (0x03): ask for the route entries of advertised IDs (MS-PNRP §2.2.2.3).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// Header Message ID.
    pub message_id: u32,
    /// The conversation nonce in clear.
    pub nonce: [u8; 16],
    /// IDs chosen from the ADVERTISE.
    pub ids: Vec<PnrpId>,
}

/// FLOOD (0x04): push a route entry or a revoke CPA (MS-PNRP §2.2.2.4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Flood {
    /// Header Message ID.
    pub message_id: u32,
    /// D flag: the receiver must not ACK.
    pub dont_ack: bool,
    /// The destination's PNRP ID, or zero.
    pub validate_id: PnrpId,
    /// A revoke CPA (R flag set), when unregistering.
    pub revoke_cpa: Option<Arc<Cpa>>,
    /// The route entry being flooded.
    pub route_entry: Option<RouteEntry>,
    /// Already Flooded List (0..=22).
    pub already_flooded: Vec<Endpoint>,
}

/// INQUIRE FLAGS_FIELD bits (MS-PNRP §2.2.2.5).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InquireFlags {
    /// A: send the CPA.
    pub cpa: bool,
    /// X: send the extended payload.
    pub extended_payload: bool,
    /// C: send the certificate chain.
    pub cert_chain: bool,
}

/// INQUIRE (0x07): "do you hold this ID? send its CPA" (MS-PNRP §2.2.2.5).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Inquire {
    /// Header Message ID.
    pub message_id: u32,
    /// Requested parts.
    pub flags: InquireFlags,
    /// The ID being checked.
    pub validate_id: PnrpId,
    /// Nonce the responder copies into the CPA.
    pub nonce: Option<[u8; 16]>,
}

/// AUTHORITY (0x08): one fragment of an encoded AUTHORITY_BUFFER (MS-PNRP §2.2.2.6, §3.2.5.10).
///
/// The buffer travels as bytes even inside the simulator so that fragmentation, reassembly and the
/// buffer codec are always exercised; decode it with `wire::decode_authority_buffer`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Authority {
    /// Header Message ID (the same in every fragment).
    pub message_id: u32,
    /// Message ID of the LOOKUP or INQUIRE answered.
    pub acked_id: u32,
    /// Size of the whole AUTHORITY_BUFFER.
    pub size: u16,
    /// Offset of this fragment (a multiple of 1,188).
    pub offset: u16,
    /// The fragment's bytes (≤ 1,188).
    pub fragment: Arc<[u8]>,
}

/// AUTHORITY_BUFFER FLAGS_FIELD bits (MS-PNRP §2.2.2.6).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorityFlags {
    /// L: target unknown here but would fall inside my leaf set (suspicious).
    pub leaf_set: bool,
    /// B: busy.
    pub busy: bool,
    /// N: the Validate PNRP ID is not registered here.
    pub not_registered: bool,
}

/// The logical answer to a LOOKUP or INQUIRE before fragmentation (MS-PNRP §2.2.2.6).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuthorityBuffer {
    /// L/B/N flags.
    pub flags: AuthorityFlags,
    /// PKCS#7 certificate chain for delegated names (opaque bytes).
    pub cert_chain: Option<Vec<u8>>,
    /// The classifier of the validated name.
    pub classifier: Option<String>,
    /// The EXTENDED_PAYLOAD (INQUIRE answers with X set, when the name has one).
    pub extended_payload: Option<Arc<ExtendedPayload>>,
    /// LOOKUP answer: next hop; INQUIRE answer: the responder's own entry for the ID.
    pub route_entry: Option<RouteEntry>,
    /// The CPA (INQUIRE answers with A set).
    pub cpa: Option<Arc<Cpa>>,
}

/// ACK (0x09) (MS-PNRP §2.2.2.7).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ack {
    /// Header Message ID.
    pub message_id: u32,
    /// Message ID of the REQUEST or FLOOD acknowledged.
    pub acked_id: u32,
    /// FLAGS_FIELD: `Some(n)` when present, `n` = the N bit.
    pub not_registered: Option<bool>,
}

/// ResolveCriteria (MS-PNRP §2.2.2.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResolveCriteria {
    /// 0x00: all 256 bits equal.
    Exact,
    /// 0x01: the P2P ID (upper 128 bits) equal.
    AnyPeerName,
    /// 0x02: the closest instance of the name.
    NearestPeerName,
    /// 0x04: compare the first 192 bits, closest.
    Nearest64PeerName,
    /// 0x08: compare the top `precision` bits.
    UpperBits,
}

/// ResolveReasonCode (MS-PNRP §2.2.2.8), informational only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReasonCode {
    /// 0x00
    AppRequest,
    /// 0x01
    Registration,
    /// 0x02
    CacheMaintenance,
    /// 0x03
    SplitDetection,
}

/// LOOKUP (0x0B): one iterative resolution step (MS-PNRP §2.2.2.8).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Lookup {
    /// Header Message ID.
    pub message_id: u32,
    /// A flag: accept answers not closer than the Validate ID.
    pub accept_any: bool,
    /// Bits to match for UPPER_BITS.
    pub precision: u16,
    /// ResolveCriteria.
    pub criteria: ResolveCriteria,
    /// ResolveReasonCode.
    pub reason: ReasonCode,
    /// The ID being resolved.
    pub target: PnrpId,
    /// The ID the sender believes the receiver holds.
    pub validate_id: PnrpId,
    /// The sender's best match so far.
    pub best_match: Option<RouteEntry>,
    /// Flagged Path: 1..=22 endpoints already visited, the resolver first.
    pub flagged_path: Vec<Endpoint>,
}

/// The PNRP message types (header MessageType, MS-PNRP §2.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum MessageType {
    /// 0x01
    Solicit,
    /// 0x02
    Advertise,
    /// 0x03
    Request,
    /// 0x04
    Flood,
    /// 0x07
    Inquire,
    /// 0x08
    Authority,
    /// 0x09
    Ack,
    /// 0x0B
    Lookup,
}

impl MessageType {
    /// Every type, in wire-code order.
    pub const ALL: [MessageType; 8] = [
        MessageType::Solicit,
        MessageType::Advertise,
        MessageType::Request,
        MessageType::Flood,
        MessageType::Inquire,
        MessageType::Authority,
        MessageType::Ack,
        MessageType::Lookup,
    ];
    /// The header MessageType code.
    pub const fn code(self) -> u8 {
        match self {
            MessageType::Solicit => 0x01,
            MessageType::Advertise => 0x02,
            MessageType::Request => 0x03,
            MessageType::Flood => 0x04,
            MessageType::Inquire => 0x07,
            MessageType::Authority => 0x08,
            MessageType::Ack => 0x09,
            MessageType::Lookup => 0x0B,
        }
    }
    /// The upper-case name used in traces and reports.
    pub const fn name(self) -> &'static str {
        match self {
            MessageType::Solicit => "SOLICIT",
            MessageType::Advertise => "ADVERTISE",
            MessageType::Request => "REQUEST",
            MessageType::Flood => "FLOOD",
            MessageType::Inquire => "INQUIRE",
            MessageType::Authority => "AUTHORITY",
            MessageType::Ack => "ACK",
            MessageType::Lookup => "LOOKUP",
        }
    }
    /// Dense index 0..8, for per-type counters.
    pub const fn index(self) -> usize {
        match self {
            MessageType::Solicit => 0,
            MessageType::Advertise => 1,
            MessageType::Request => 2,
            MessageType::Flood => 3,
            MessageType::Inquire => 4,
            MessageType::Authority => 5,
            MessageType::Ack => 6,
            MessageType::Lookup => 7,
        }
    }
}

/// Any PNRP datagram.
///
/// Every payload but ACK's is boxed so the enum is 16 bytes: a datagram is moved several times on
/// its way from the sender's queue to the receiver (the 192-byte inline enum made those moves 7% of
/// a 20,000-peer run). ACK (12 bytes) stays inline: it fits, and it saves an allocation per ACK.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Message {
    /// SOLICIT
    Solicit(Box<Solicit>),
    /// ADVERTISE
    Advertise(Box<Advertise>),
    /// REQUEST
    Request(Box<Request>),
    /// FLOOD
    Flood(Box<Flood>),
    /// INQUIRE
    Inquire(Box<Inquire>),
    /// AUTHORITY (one fragment)
    Authority(Box<Authority>),
    /// ACK
    Ack(Ack),
    /// LOOKUP
    Lookup(Box<Lookup>),
}

impl From<Solicit> for Message {
    fn from(m: Solicit) -> Self {
        Message::Solicit(Box::new(m))
    }
}

impl From<Advertise> for Message {
    fn from(m: Advertise) -> Self {
        Message::Advertise(Box::new(m))
    }
}

impl From<Request> for Message {
    fn from(m: Request) -> Self {
        Message::Request(Box::new(m))
    }
}

impl From<Flood> for Message {
    fn from(m: Flood) -> Self {
        Message::Flood(Box::new(m))
    }
}

impl From<Inquire> for Message {
    fn from(m: Inquire) -> Self {
        Message::Inquire(Box::new(m))
    }
}

impl From<Authority> for Message {
    fn from(m: Authority) -> Self {
        Message::Authority(Box::new(m))
    }
}

impl From<Lookup> for Message {
    fn from(m: Lookup) -> Self {
        Message::Lookup(Box::new(m))
    }
}

impl From<Ack> for Message {
    fn from(m: Ack) -> Self {
        Message::Ack(m)
    }
}

impl Message {
    /// The header MessageType.
    pub fn kind(&self) -> MessageType {
        match self {
            Message::Solicit(_) => MessageType::Solicit,
            Message::Advertise(_) => MessageType::Advertise,
            Message::Request(_) => MessageType::Request,
            Message::Flood(_) => MessageType::Flood,
            Message::Inquire(_) => MessageType::Inquire,
            Message::Authority(_) => MessageType::Authority,
            Message::Ack(_) => MessageType::Ack,
            Message::Lookup(_) => MessageType::Lookup,
        }
    }

    /// The header Message ID.
    pub fn message_id(&self) -> u32 {
        match self {
            Message::Solicit(m) => m.message_id,
            Message::Advertise(m) => m.message_id,
            Message::Request(m) => m.message_id,
            Message::Flood(m) => m.message_id,
            Message::Inquire(m) => m.message_id,
            Message::Authority(m) => m.message_id,
            Message::Ack(m) => m.message_id,
            Message::Lookup(m) => m.message_id,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn messages_stay_small_because_drivers_move_them() {
        // A datagram is moved from the node's queue to the driver, into the event queue and back
        // into the receiving node: boxed payloads keep each move to 16 bytes.
        assert!(
            std::mem::size_of::<super::Message>() <= 16,
            "{}",
            std::mem::size_of::<super::Message>()
        );
    }
}
