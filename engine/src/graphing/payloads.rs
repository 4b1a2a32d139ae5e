//! The payloads of the four internal record types (MS-PPGRH §2.2.3): Graph Info, Signature,
//! Contact and Presence, as typed values with their exact byte layout. All integers are
//! big-endian (MS-PPGRH §2.2); strings are counted UTF-16 (`wire::text`); addresses are
//! PEER_ADDRESS entries (MS-PPGRH §2.2.1.5). Decoding never panics and rejects trailing bytes.

use super::wire::address::{get_peer_address_array, put_peer_address_array, PEER_ADDRESS_LEN};
use super::wire::text::{counted_utf16_len, get_counted_utf16, put_counted_utf16};
use super::wire::{Reader, WireError};
use crate::Endpoint;

/// Longest graph id and creator id, in characters with the NUL (MS-PPGRH §2.2.3.1).
pub const MAX_ID_CHARS: u32 = 256;
/// Shortest graph id and creator id, in characters with the NUL (MS-PPGRH §2.2.3.1).
pub const MIN_ID_CHARS: u32 = 2;
/// Longest friendly name, in characters with the NUL (MS-PPGRH §2.2.3.1).
pub const MAX_FRIENDLY_NAME_CHARS: u32 = 256;
/// Longest comment, in characters with the NUL (MS-PPGRH §2.2.3.1).
pub const MAX_COMMENT_CHARS: u32 = 512;
/// Presence lifetime meant by the value 0, and the least other value, in seconds (MS-PPGRH
/// §2.2.3.1).
pub const DEFAULT_PRESENCE_LIFETIME_SECS: u32 = 300;
/// Max Presence Records value meaning "every node publishes" (MS-PPGRH §2.2.3.1).
pub const PRESENCE_ALL: u32 = 0xFFFF_FFFF;
/// Smallest explicit Max Record Size, in bytes (MS-PPGRH §2.2.3.1).
pub const MIN_RECORD_SIZE_LIMIT: u32 = 1_024;
/// Largest Max Record Size and the meaning of 0: 60 MB (MS-PPGRH §2.2.3.1).
pub const MAX_RECORD_SIZE_LIMIT: u32 = 62_914_560;
/// The D (deferred expiration) bit of the Graph Info flags, read as a big-endian u32 (MS-PPGRH
/// §2.2.3.1: bit 62 of the layout, the second-lowest bit of the word).
pub const GRAPH_INFO_DEFERRED: u32 = 0x0000_0002;

/// The IPv6 scope a graph operates in (MS-PPGRH §2.2.3.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Scope {
    /// PEER_GRAPH_SCOPE_GLOBAL.
    #[default]
    Global = 1,
    /// PEER_GRAPH_SCOPE_SITELOCAL.
    SiteLocal = 2,
    /// PEER_GRAPH_SCOPE_LINKLOCAL.
    LinkLocal = 3,
}

impl Scope {
    /// The scope for a wire value.
    pub fn from_code(code: u32) -> Option<Scope> {
        match code {
            1 => Some(Scope::Global),
            2 => Some(Scope::SiteLocal),
            3 => Some(Scope::LinkLocal),
            _ => None,
        }
    }
}

/// The Graph Info record's payload: the graph's configuration (MS-PPGRH §2.2.3.1).
///
/// Numeric fields keep their wire values (0 meaning "default"); the accessors resolve them.
/// Empty `friendly_name` and `comment` are absent (length 0).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphInfo {
    /// D: records expire only while connected.
    pub deferred_expiration: bool,
    /// Scope.
    pub scope: Scope,
    /// The graph id (2..256 characters with the NUL; never changes).
    pub graph_id: String,
    /// The creator's peer id (2..256 characters with the NUL; never changes).
    pub creator_id: String,
    /// Friendly name (at most 256 characters with the NUL), empty when absent.
    pub friendly_name: String,
    /// Comment (at most 512 characters with the NUL), empty when absent.
    pub comment: String,
    /// Presence lifetime in seconds: 0 (meaning 300) or at least 300.
    pub presence_lifetime: u32,
    /// 0 = presence only on request, [`PRESENCE_ALL`] = everyone, otherwise a target count.
    pub max_presence_records: u32,
    /// Max record size in bytes: 0 (meaning 60 MB) or 1,024..=62,914,560.
    pub max_record_size: u32,
}

impl GraphInfo {
    /// Presence lifetime in seconds, 0 resolved to 300.
    pub fn presence_lifetime_secs(&self) -> u32 {
        match self.presence_lifetime {
            0 => DEFAULT_PRESENCE_LIFETIME_SECS,
            n => n,
        }
    }

    /// Max record size in bytes, 0 resolved to 60 MB.
    pub fn max_record_size_bytes(&self) -> u32 {
        match self.max_record_size {
            0 => MAX_RECORD_SIZE_LIMIT,
            n => n,
        }
    }

    /// Exact bytes of the payload (also its Size field).
    pub fn encoded_len(&self) -> usize {
        4 + 4
            + 4
            + counted_utf16_len(&self.graph_id)
            + counted_utf16_len(&self.creator_id)
            + counted_utf16_len(&self.friendly_name)
            + counted_utf16_len(&self.comment)
            + 12
    }

    /// The payload bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        out.extend_from_slice(&(self.encoded_len() as u32).to_be_bytes());
        let flags = if self.deferred_expiration {
            GRAPH_INFO_DEFERRED
        } else {
            0
        };
        out.extend_from_slice(&flags.to_be_bytes());
        out.extend_from_slice(&(self.scope as u32).to_be_bytes());
        put_counted_utf16(&mut out, &self.graph_id);
        put_counted_utf16(&mut out, &self.creator_id);
        put_counted_utf16(&mut out, &self.friendly_name);
        put_counted_utf16(&mut out, &self.comment);
        out.extend_from_slice(&self.presence_lifetime.to_be_bytes());
        out.extend_from_slice(&self.max_presence_records.to_be_bytes());
        out.extend_from_slice(&self.max_record_size.to_be_bytes());
        out
    }

    /// Parses and checks a payload. The Size field must equal the payload's length (peerlab
    /// choice: MS-PPGRH §2.2.3.1 defines it as the structure's total bytes); reserved flag bits
    /// and I are ignored as the layout says.
    pub fn decode(bytes: &[u8]) -> Result<GraphInfo, WireError> {
        let mut r = Reader::new(bytes);
        let size = r.u32("Graph Info size")?;
        if size as usize != bytes.len() {
            return Err(WireError::SizeMismatch {
                declared: size,
                actual: bytes.len(),
            });
        }
        let flags = r.u32("Graph Info flags")?;
        let scope_code = r.u32("Graph Info scope")?;
        let scope = Scope::from_code(scope_code).ok_or(WireError::BadValue {
            field: "Graph Info scope",
            value: scope_code.into(),
        })?;
        let graph_id = get_counted_utf16(&mut r, MIN_ID_CHARS, MAX_ID_CHARS, "Graph Info graph id")?;
        let creator_id = get_counted_utf16(&mut r, MIN_ID_CHARS, MAX_ID_CHARS, "Graph Info creator id")?;
        let friendly_name =
            get_counted_utf16(&mut r, 0, MAX_FRIENDLY_NAME_CHARS, "Graph Info friendly name")?;
        let comment = get_counted_utf16(&mut r, 0, MAX_COMMENT_CHARS, "Graph Info comment")?;
        let presence_lifetime = r.u32("Graph Info presence lifetime")?;
        if presence_lifetime != 0 && presence_lifetime < DEFAULT_PRESENCE_LIFETIME_SECS {
            return Err(WireError::BadValue {
                field: "Graph Info presence lifetime",
                value: presence_lifetime.into(),
            });
        }
        let max_presence_records = r.u32("Graph Info max presence records")?;
        let max_record_size = r.u32("Graph Info max record size")?;
        if max_record_size != 0 && !(MIN_RECORD_SIZE_LIMIT..=MAX_RECORD_SIZE_LIMIT).contains(&max_record_size)
        {
            return Err(WireError::BadValue {
                field: "Graph Info max record size",
                value: max_record_size.into(),
            });
        }
        r.finish()?;
        Ok(GraphInfo {
            deferred_expiration: flags & GRAPH_INFO_DEFERRED != 0,
            scope,
            graph_id,
            creator_id,
            friendly_name,
            comment,
            presence_lifetime,
            max_presence_records,
            max_record_size,
        })
    }
}

/// The Signature record's payload: the publisher's node id, its claim to be the graph's lowest
/// (MS-PPGRH §2.2.3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignaturePayload {
    /// The signature.
    pub signature: u64,
}

impl SignaturePayload {
    /// Exact bytes of the payload.
    pub const ENCODED_LEN: usize = 8;

    /// The payload bytes.
    pub fn encode(&self) -> Vec<u8> {
        self.signature.to_be_bytes().to_vec()
    }

    /// Parses a payload of exactly 8 bytes.
    pub fn decode(bytes: &[u8]) -> Result<SignaturePayload, WireError> {
        let mut r = Reader::new(bytes);
        let signature = r.u64("Signature")?;
        r.finish()?;
        Ok(SignaturePayload { signature })
    }
}

/// The Contact record's payload: the publisher's view of the signature, its node id and its
/// listening addresses (MS-PPGRH §2.2.3.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactPayload {
    /// The signature the contact saw when it published.
    pub signature: u64,
    /// The contact's node id.
    pub node_id: u64,
    /// Where it listens.
    pub addresses: Vec<Endpoint>,
}

impl ContactPayload {
    /// Exact bytes of the payload.
    pub fn encoded_len(&self) -> usize {
        8 + 8 + 4 + self.addresses.len() * PEER_ADDRESS_LEN
    }

    /// The payload bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        out.extend_from_slice(&self.signature.to_be_bytes());
        out.extend_from_slice(&self.node_id.to_be_bytes());
        put_peer_address_array(&mut out, &self.addresses);
        out
    }

    /// Parses a payload.
    pub fn decode(bytes: &[u8]) -> Result<ContactPayload, WireError> {
        let mut r = Reader::new(bytes);
        let signature = r.u64("Contact signature")?;
        let node_id = r.u64("Contact node id")?;
        let addresses = get_peer_address_array(&mut r)?;
        r.finish()?;
        Ok(ContactPayload {
            signature,
            node_id,
            addresses,
        })
    }
}

/// The Presence record's payload: the publisher's node id, attributes and listening addresses
/// (MS-PPGRH §2.2.3.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresencePayload {
    /// The publisher's node id.
    pub node_id: u64,
    /// Node attributes (empty when absent).
    pub attributes: String,
    /// Where it listens.
    pub addresses: Vec<Endpoint>,
}

impl PresencePayload {
    /// Exact bytes of the payload.
    pub fn encoded_len(&self) -> usize {
        8 + counted_utf16_len(&self.attributes) + 4 + self.addresses.len() * PEER_ADDRESS_LEN
    }

    /// The payload bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        out.extend_from_slice(&self.node_id.to_be_bytes());
        put_counted_utf16(&mut out, &self.attributes);
        put_peer_address_array(&mut out, &self.addresses);
        out
    }

    /// Parses a payload. MS-PPGRH §2.2.3.4 bounds the attributes only by the record size.
    pub fn decode(bytes: &[u8]) -> Result<PresencePayload, WireError> {
        let mut r = Reader::new(bytes);
        let node_id = r.u64("Presence node id")?;
        let attributes = get_counted_utf16(&mut r, 0, u32::MAX, "Presence attributes")?;
        let addresses = get_peer_address_array(&mut r)?;
        r.finish()?;
        Ok(PresencePayload {
            node_id,
            attributes,
            addresses,
        })
    }
}

#[cfg(test)]
#[path = "payloads_tests.rs"]
mod tests;
