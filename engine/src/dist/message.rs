//! The message every distribution node sends and receives, and the origin (PCCRTP) exchange.
//!
//! HTTP framing is abstracted (\[SIM\], peerlab's model): each HTTP-carried message adds [`HTTP_OVERHEAD`]
//! bytes of headers to its protocol bytes in [`DistMessage::wire_len`]. Discovery datagrams are
//! UDP and carry no such overhead.

use super::content::{ContentInfo, UnitData};
use super::info_codec;
use super::pccrd::{Probe, ProbeMatch};
use super::pccrr::PccrrMessage;
use super::pchc::PchcMessage;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Bytes of HTTP request or response headers per exchange leg (\[SIM\]: ≈200–300 in practice).
pub const HTTP_OVERHEAD: usize = 250;

/// The origin exchange of MS-PCCRTP (MS-PCCRTP §3), abstracted to typed requests and responses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OriginMessage {
    /// `GET` with `Accept-Encoding: peerdist` (MS-PCCRTP §2.2, §3.1).
    Get {
        /// Client correlation tag.
        tag: u64,
        /// The content asked for.
        content: u64,
    },
    /// `Content-Encoding: peerdist`: the body is content information (MS-PCCRTP §3.2).
    Info {
        /// Copied from the request.
        tag: u64,
        /// The content.
        content: u64,
        /// Entity size (`X-P2P-PeerDist: ContentLength`).
        size: u64,
        /// The content information.
        info: Arc<ContentInfo>,
    },
    /// A plain 200 with the whole entity: hashes are not ready yet (MS-PCCRTP §3.2 \[W\]).
    Body {
        /// Copied from the request.
        tag: u64,
        /// The content.
        content: u64,
        /// Entity size.
        size: u64,
        /// The bytes, in real data mode.
        data: Option<Arc<[u8]>>,
    },
    /// Range GET for missing data, `MissingDataRequest=true` (MS-PCCRTP §2.2): units of one segment.
    GetRange {
        /// Client correlation tag.
        tag: u64,
        /// The content.
        content: u64,
        /// Segment index in the content information.
        segment: u32,
        /// First unit.
        first: u32,
        /// Unit count.
        count: u32,
    },
    /// 206 with the requested units.
    Range {
        /// Copied from the request.
        tag: u64,
        /// The content.
        content: u64,
        /// Segment index.
        segment: u32,
        /// First unit.
        first: u32,
        /// The units' plaintext.
        units: Vec<UnitData>,
    },
    /// 404: the content is not published (or the range is outside it).
    NotFound {
        /// Copied from the request.
        tag: u64,
        /// The content.
        content: u64,
    },
}

impl OriginMessage {
    /// Body bytes (headers excluded).
    pub fn body_len(&self) -> usize {
        match self {
            OriginMessage::Get { .. } | OriginMessage::GetRange { .. } | OriginMessage::NotFound { .. } => 0,
            OriginMessage::Info { info, .. } => info_codec::encoded_len(info),
            OriginMessage::Body { size, .. } => *size as usize,
            OriginMessage::Range { units, .. } => units.iter().map(|u| u.len() as usize).sum(),
        }
    }
}

/// Everything a distribution node sends: discovery datagrams and HTTP-carried exchanges.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DistMessage {
    /// PCCRD Probe, multicast on the subnet (MS-PCCRD §2.2.2.1).
    Probe(Arc<Probe>),
    /// PCCRD ProbeMatch, unicast (MS-PCCRD §2.2.2.2).
    ProbeMatch(Arc<ProbeMatch>),
    /// PCCRR request or response (MS-PCCRR §2.2).
    Pccrr(Arc<PccrrMessage>),
    /// PCHC request or response (MS-PCHC §2.2).
    Pchc(Arc<PchcMessage>),
    /// Origin request or response (MS-PCCRTP §3).
    Origin(Arc<OriginMessage>),
}

impl DistMessage {
    /// Bytes on the wire, HTTP headers included for HTTP-carried messages.
    pub fn wire_len(&self) -> usize {
        match self {
            DistMessage::Probe(p) => p.encoded_len(),
            DistMessage::ProbeMatch(m) => m.encoded_len(),
            DistMessage::Pccrr(m) => HTTP_OVERHEAD + m.wire_len(),
            DistMessage::Pchc(m) => HTTP_OVERHEAD + m.encoded_len(),
            DistMessage::Origin(m) => HTTP_OVERHEAD + m.body_len(),
        }
    }
    /// Content bytes this message carries (block plaintext or entity bytes), for offload metrics.
    pub fn payload_len(&self) -> usize {
        match self {
            DistMessage::Origin(m) => match &**m {
                OriginMessage::Body { .. } | OriginMessage::Range { .. } => m.body_len(),
                _ => 0,
            },
            DistMessage::Pccrr(m) => match &m.body {
                super::pccrr::PccrrBody::Blk { body: Some(b), .. } => b.wire_len(),
                _ => 0,
            },
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::content::{compute_info, ContentSpec, DataMode, InfoVersion};

    #[test]
    fn lengths_account_headers_and_bodies() {
        let info = compute_info(
            &ContentSpec { id: 1, size: 125_000 },
            InfoVersion::V1,
            DataMode::Modeled,
            b"k",
        );
        let m = DistMessage::Origin(Arc::new(OriginMessage::Info {
            tag: 1,
            content: 1,
            size: 125_000,
            info: info.into(),
        }));
        assert_eq!(m.wire_len(), HTTP_OVERHEAD + 166);
        let b = DistMessage::Origin(Arc::new(OriginMessage::Body {
            tag: 1,
            content: 1,
            size: 10_000_000,
            data: None,
        }));
        assert_eq!(b.wire_len(), HTTP_OVERHEAD + 10_000_000);
        assert_eq!(b.payload_len(), 10_000_000);
        let g = DistMessage::Origin(Arc::new(OriginMessage::Get { tag: 1, content: 1 }));
        assert_eq!((g.wire_len(), g.payload_len()), (HTTP_OVERHEAD, 0));
    }
}
