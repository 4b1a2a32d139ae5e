//! MS-PCCRR retrieval messages and their exact byte layout (MS-PCCRR §2.2).
//!
//! All integers are u32 big-endian, variable byte arrays are zero-padded to 4 bytes from the
//! message start (MS-PCCRR ZeroPad). A request is one HTTP POST body; a response is a 4-byte size prefix and
//! the message (MS-PCCRR §2.2.2), which [`PccrrMessage::wire_len`] accounts. The codec is in `pccrr_wire.rs`.

use super::hash::{Digest, SegmentId};
use super::wire::{pad4, DecodeError, Reader};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// MESSAGE_HEADER bytes (MS-PCCRR §2.2.3).
pub const HEADER_LEN: usize = 16;
/// Largest request MsgSize (MS-PCCRR §2.2.3: 98,304).
pub const REQUEST_MAX: usize = 98_304;
/// Largest response MsgSize (MS-PCCRR §2.2.3: 393,216).
pub const RESPONSE_MAX: usize = 393_216;
/// Most block ranges in one array (MS-PCCRR §2.2.1: 1..256).
pub const RANGES_MAX: usize = 256;
/// Most blocks in a segment; BLOCK_RANGE indexes are 0..511 (MS-PCCRR §2.2.1.1).
pub const BLOCKS_MAX: u32 = 512;
/// Most segment IDs one MSG_GETSEGLIST can carry within [`REQUEST_MAX`] (32-byte IDs): the bound
/// of a SEGMENT_RANGE index (MS-PCCRR §2.2.4.4).
pub const SEGMENT_IDS_MAX: usize = (REQUEST_MAX - HEADER_LEN - 16 - 4 - 4) / SEG_GROUP;
/// Segment-ID length of 32-byte-hash content, the one every implementation MUST support; 48- and
/// 64-byte IDs (V1 SHA-384/SHA-512 content) are sent and accepted too (MS-PCCRR §2.2.4.2).
pub const SEGMENT_ID_LEN: u32 = 32;
/// The AES IV length carried in IVBlock (MS-PCCRR §2.2.5.3).
pub const IV_LEN: usize = 16;

/// ProtVer: major and minor (MS-PCCRR §2.2.3); wire bytes are minor then major, each u16 BE.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ProtoVersion {
    /// Major version (1 or 2).
    pub major: u16,
    /// Minor version.
    pub minor: u16,
}

impl ProtoVersion {
    /// Protocol 1.0: everything but GETSEGLIST/SEGLIST (MS-PCCRR §2.2.3).
    pub const V1_0: ProtoVersion = ProtoVersion { major: 1, minor: 0 };
    /// Protocol 2.0: adds GETSEGLIST/SEGLIST (MS-PCCRR §2.2.4.4, §2.2.5.4).
    pub const V2_0: ProtoVersion = ProtoVersion { major: 2, minor: 0 };
    pub(crate) fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.minor.to_be_bytes());
        out.extend_from_slice(&self.major.to_be_bytes());
    }
    pub(crate) fn get(r: &mut Reader<'_>, field: &'static str) -> Result<Self, DecodeError> {
        let minor = r.u16_be(field)?;
        let major = r.u16_be(field)?;
        Ok(ProtoVersion { major, minor })
    }
}

/// CryptoAlgoId (MS-PCCRR §2.2.3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CryptoAlgo {
    /// 0: plaintext blocks.
    None,
    /// 1: AES-128-CBC, the Windows default (MS-PCCRR §2.2.3 \[W\]).
    #[default]
    Aes128,
    /// 2: AES-192-CBC.
    Aes192,
    /// 3: AES-256-CBC.
    Aes256,
}

impl CryptoAlgo {
    /// The wire code.
    pub const fn code(self) -> u32 {
        match self {
            CryptoAlgo::None => 0,
            CryptoAlgo::Aes128 => 1,
            CryptoAlgo::Aes192 => 2,
            CryptoAlgo::Aes256 => 3,
        }
    }
    pub(crate) fn from_code(code: u32) -> Result<Self, DecodeError> {
        Ok(match code {
            0 => CryptoAlgo::None,
            1 => CryptoAlgo::Aes128,
            2 => CryptoAlgo::Aes192,
            3 => CryptoAlgo::Aes256,
            _ => {
                return Err(DecodeError::Invalid {
                    field: "CryptoAlgoId",
                    value: code as u64,
                })
            }
        })
    }
    /// Ciphertext length for `plain` bytes: PKCS#7 pads to the next multiple of 16 (MS-PCCRR §2.2.5.3 \[?\]).
    pub const fn cipher_len(self, plain: u32) -> u32 {
        match self {
            CryptoAlgo::None => plain,
            _ => (plain / 16 + 1) * 16,
        }
    }
}

/// BLOCK_RANGE: `count` blocks from `index` (MS-PCCRR §2.2.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BlockRange {
    /// First block, 0..511.
    pub index: u32,
    /// Number of blocks, 1..512−index.
    pub count: u32,
}

impl BlockRange {
    /// True when `block` lies inside.
    pub fn contains(&self, block: u32) -> bool {
        block >= self.index && block - self.index < self.count
    }
}

/// Normalises a set of block indexes into sorted, merged ranges (MS-PCCRR §2.2.1 \[W\]).
pub fn ranges_of(blocks: impl IntoIterator<Item = u32>) -> Vec<BlockRange> {
    let mut out: Vec<BlockRange> = Vec::new();
    for b in blocks {
        match out.last_mut() {
            Some(r) if r.index + r.count == b => r.count += 1,
            _ => out.push(BlockRange { index: b, count: 1 }),
        }
    }
    out
}

/// The Block field of MSG_BLK: ciphertext, or a modeled stand-in with the same size (\[SIM\]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BlockBody {
    /// Ciphertext (or plaintext when CryptoAlgoId is 0) as on the wire.
    Bytes(Arc<[u8]>),
    /// A modeled block: its token and the length it would have on the wire.
    Modeled {
        /// Bytes the Block field occupies on the wire (padded ciphertext length).
        wire_len: u32,
        /// Plaintext length.
        plain_len: u32,
        /// The unit's hash as sent (wrong if the sender is corrupt).
        token: Digest,
    },
}

impl BlockBody {
    /// SizeOfBlock.
    pub fn wire_len(&self) -> usize {
        match self {
            BlockBody::Bytes(b) => b.len(),
            BlockBody::Modeled { wire_len, .. } => *wire_len as usize,
        }
    }
}

/// A PCCRR message body (MS-PCCRR §2.2.4, §2.2.5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PccrrBody {
    /// MSG_NEGO_REQ (0).
    NegoReq {
        /// MinSupportedProtocolVersion.
        min: ProtoVersion,
        /// MaxSupportedProtocolVersion.
        max: ProtoVersion,
    },
    /// MSG_NEGO_RESP (1).
    NegoResp {
        /// MinSupportedProtocolVersion.
        min: ProtoVersion,
        /// MaxSupportedProtocolVersion.
        max: ProtoVersion,
    },
    /// MSG_GETBLKLIST (2): which of these blocks do you hold?
    GetBlkList {
        /// Segment ID (HoHoDk).
        segment: SegmentId,
        /// NeededBlocksRanges (1..256).
        ranges: Vec<BlockRange>,
    },
    /// MSG_GETBLKS (3): send this one block (MS-PCCRR §3.1.4.3: one block per request).
    GetBlks {
        /// Segment ID.
        segment: SegmentId,
        /// The requested range (count 1).
        range: BlockRange,
    },
    /// MSG_BLKLIST (4): the held subset of what was asked.
    BlkList {
        /// Segment ID.
        segment: SegmentId,
        /// Held ranges (0..256; none = "don't have it" or busy).
        ranges: Vec<BlockRange>,
        /// NextBlockIndex hint.
        next_block_index: u32,
    },
    /// MSG_BLK (5): one (encrypted) block; SizeOfBlock 0 = "I don't have it".
    Blk {
        /// Segment ID.
        segment: SegmentId,
        /// BlockIndex.
        block_index: u32,
        /// NextBlockIndex.
        next_block_index: u32,
        /// The block, absent when empty.
        body: Option<BlockBody>,
        /// IVBlock (absent for plaintext or empty blocks).
        iv: Option<[u8; IV_LEN]>,
    },
    /// MSG_GETSEGLIST (6, v2, hosted only).
    GetSegList {
        /// RequestID GUID.
        request_id: [u8; 16],
        /// The segment IDs asked about.
        segments: Vec<SegmentId>,
        /// Extensible blob (normally empty).
        blob: Vec<u8>,
    },
    /// MSG_SEGLIST (7, v2): ranges of indexes into the request's ID array.
    SegList {
        /// RequestID copied from the request.
        request_id: [u8; 16],
        /// Held segments as index ranges.
        ranges: Vec<BlockRange>,
        /// Extensible blob (segment ages, MS-PCCRR §2.2.6).
        blob: Vec<u8>,
    },
}

impl PccrrBody {
    /// MsgType (MS-PCCRR §2.2.3).
    pub fn code(&self) -> u32 {
        match self {
            PccrrBody::NegoReq { .. } => 0,
            PccrrBody::NegoResp { .. } => 1,
            PccrrBody::GetBlkList { .. } => 2,
            PccrrBody::GetBlks { .. } => 3,
            PccrrBody::BlkList { .. } => 4,
            PccrrBody::Blk { .. } => 5,
            PccrrBody::GetSegList { .. } => 6,
            PccrrBody::SegList { .. } => 7,
        }
    }
    /// True for server-to-client messages.
    pub fn is_response(&self) -> bool {
        matches!(self.code(), 1 | 4 | 5 | 7)
    }
}

/// A PCCRR message: header fields plus body (MS-PCCRR §2.2.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PccrrMessage {
    /// ProtVer.
    pub version: ProtoVersion,
    /// CryptoAlgoId.
    pub crypto: CryptoAlgo,
    /// The message.
    pub body: PccrrBody,
}

/// Bytes of the smallest SizeOfSegmentID + SegmentID group (a 32-byte ID, already 4-aligned).
pub(crate) const SEG_GROUP: usize = 4 + SEGMENT_ID_LEN as usize;

/// Bytes of one SizeOfSegmentID + SegmentID group; 32, 48 and 64 are all 4-aligned (no ZeroPad).
pub(crate) fn seg_group(s: &SegmentId) -> usize {
    4 + s.len()
}

impl PccrrMessage {
    /// MsgSize: the whole message including its header (MS-PCCRR §2.2.3).
    pub fn encoded_len(&self) -> usize {
        let blob = |b: &Vec<u8>| 4 + b.len() + pad4(b.len());
        HEADER_LEN
            + match &self.body {
                PccrrBody::NegoReq { .. } | PccrrBody::NegoResp { .. } => 8,
                PccrrBody::GetBlkList { ranges, segment } => seg_group(segment) + 4 + 8 * ranges.len(),
                PccrrBody::GetBlks { segment, .. } => seg_group(segment) + 4 + 8 + 4,
                PccrrBody::BlkList { ranges, segment, .. } => seg_group(segment) + 4 + 8 * ranges.len() + 4,
                PccrrBody::Blk {
                    body, iv, segment, ..
                } => {
                    let n = body.as_ref().map_or(0, |b| b.wire_len());
                    seg_group(segment) + 12 + n + pad4(n) + 4 + 4 + iv.map_or(0, |_| IV_LEN)
                }
                PccrrBody::GetSegList {
                    segments, blob: b, ..
                } => 16 + 4 + segments.iter().map(seg_group).sum::<usize>() + blob(b),
                PccrrBody::SegList { ranges, blob: b, .. } => 16 + 4 + 8 * ranges.len() + blob(b),
            }
    }
    /// Bytes on the transport: MsgSize, plus the 4-byte TRANSPORT_RESPONSE_HEADER for responses.
    pub fn wire_len(&self) -> usize {
        self.encoded_len() + if self.body.is_response() { 4 } else { 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_normalise_and_padding_sizes() {
        assert_eq!(
            ranges_of([0, 1, 2, 5, 7, 8]),
            vec![
                BlockRange { index: 0, count: 3 },
                BlockRange { index: 5, count: 1 },
                BlockRange { index: 7, count: 2 }
            ]
        );
        assert!(BlockRange { index: 5, count: 2 }.contains(6));
        assert!(!BlockRange { index: 5, count: 2 }.contains(7));
        assert_eq!(CryptoAlgo::Aes128.cipher_len(65_536), 65_552);
        assert_eq!(CryptoAlgo::Aes256.cipher_len(15), 16);
        assert_eq!(CryptoAlgo::None.cipher_len(15), 15);
    }
}
