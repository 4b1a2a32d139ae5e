//! MS-PCHC hosted-cache messages and their byte layout (MS-PCHC §2.2).
//!
//! SEGMENT_INFO carries version 1.0 content information only (MS-PCHC §2.2.1.4): V2 content is
//! offered with BATCHED_OFFER (MS-PCHC §2.2.1.5), whose rules the decoder enforces: a 16-byte content tag,
//! 1 to 128 segment descriptors, hash algorithm 1 or 4. BATCHED_OFFER uses u32
//! BlockSize/SegmentSize as Microsoft's test stack does, since V2 segments up to 128 KiB do not fit
//! 16 bits.

use super::content::{ContentInfo, InfoVersion};
use super::hash::{Digest, SegmentId};
use super::info_codec;
use super::wire::{DecodeError, Reader};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// MESSAGE_HEADER + CONNECTION_INFORMATION bytes (MS-PCHC §2.2.1.1, §2.2.1.2).
pub const REQUEST_HEADER_LEN: usize = 16;
/// A response: Size (4) + ResponseCode (1) (MS-PCHC §2.2.2).
pub const RESPONSE_LEN: usize = 5;
/// Largest accepted PCHC request (same cap as PCCRR requests, MS-PCCRR §2.2.2).
pub const REQUEST_MAX: usize = 98_304;
/// ContentTag length (MS-PCHC §2.2.1.4, §2.2.1.5: 16 bytes).
pub const CONTENT_TAG_LEN: usize = 16;
/// Most segment descriptors in one BATCHED_OFFER (MS-PCHC §2.2.1.5: 128).
pub const BATCHED_MAX: usize = 128;
/// BATCHED_OFFER HashAlgorithm values allowed (MS-PCHC §2.2.1.5: 1 = SHA-256, 4 = truncated
/// SHA-512).
pub const BATCHED_HASH_ALGOS: [u8; 2] = [1, 4];

/// One segment of a BATCHED_OFFER (MS-PCHC §2.2.1.5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchedSegment {
    /// BlockSize.
    pub block_size: u32,
    /// SegmentSize.
    pub segment_size: u32,
    /// ContentTag (16 opaque bytes).
    pub content_tag: [u8; CONTENT_TAG_LEN],
    /// HashAlgorithm.
    pub hash_algo: u8,
    /// SegmentHoHoDk.
    pub segment: SegmentId,
}

/// A PCHC request body (MS-PCHC §2.2.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PchcBody {
    /// INITIAL_OFFER (type 1): "I have new blocks of this segment".
    InitialOffer {
        /// The segment's HoHoDk.
        segment: SegmentId,
    },
    /// SEGMENT_INFO (type 2): the segment's hashes and key, sent after INTERESTED.
    SegmentInfo {
        /// ContentTag (16 opaque bytes).
        content_tag: [u8; 16],
        /// One-segment content information.
        info: Arc<ContentInfo>,
    },
    /// BATCHED_OFFER (type 3, v2).
    BatchedOffer {
        /// The offered segments.
        segments: Vec<BatchedSegment>,
    },
}

/// ResponseCode (MS-PCHC §2.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResponseCode {
    /// 0: OK.
    Ok,
    /// 1: INTERESTED: send SEGMENT_INFO.
    Interested,
}

/// A PCHC message: a request from a client or the hosted cache's response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PchcMessage {
    /// A client's request.
    Request {
        /// MajorVersion: 1 (Win7) or 2 (Win8+).
        major: u8,
        /// CONNECTION_INFORMATION Port: the client's PCCRR listening port.
        port: u16,
        /// The body.
        body: PchcBody,
    },
    /// The hosted cache's answer.
    Response(ResponseCode),
}

impl PchcMessage {
    /// Encoded bytes (the size prefix included for responses).
    pub fn encoded_len(&self) -> usize {
        match self {
            PchcMessage::Response(_) => RESPONSE_LEN,
            PchcMessage::Request { body, .. } => {
                REQUEST_HEADER_LEN
                    + match body {
                        PchcBody::InitialOffer { segment } => segment.len(),
                        PchcBody::SegmentInfo { info, .. } => 16 + info_codec::encoded_len(info),
                        PchcBody::BatchedOffer { segments } => segments
                            .iter()
                            .map(|s| 4 + 4 + 2 + s.content_tag.len() + 1 + 32)
                            .sum(),
                    }
            }
        }
    }

    /// Encodes the message.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        match self {
            PchcMessage::Response(code) => {
                out.extend_from_slice(&1u32.to_be_bytes());
                out.push(match code {
                    ResponseCode::Ok => 0,
                    ResponseCode::Interested => 1,
                });
            }
            PchcMessage::Request { major, port, body } => {
                let kind: u16 = match body {
                    PchcBody::InitialOffer { .. } => 1,
                    PchcBody::SegmentInfo { .. } => 2,
                    PchcBody::BatchedOffer { .. } => 3,
                };
                out.extend_from_slice(&[0, *major]);
                out.extend_from_slice(&kind.to_be_bytes());
                out.extend_from_slice(&[0; 4]);
                out.extend_from_slice(&port.to_be_bytes());
                out.extend_from_slice(&[0; 6]);
                match body {
                    PchcBody::InitialOffer { segment } => out.extend_from_slice(segment.as_bytes()),
                    PchcBody::SegmentInfo { content_tag, info } => {
                        out.extend_from_slice(content_tag);
                        out.extend_from_slice(&info_codec::encode(info));
                    }
                    PchcBody::BatchedOffer { segments } => {
                        for s in segments {
                            out.extend_from_slice(&s.block_size.to_be_bytes());
                            out.extend_from_slice(&s.segment_size.to_be_bytes());
                            out.extend_from_slice(&(s.content_tag.len() as u16).to_be_bytes());
                            out.extend_from_slice(&s.content_tag);
                            out.push(s.hash_algo);
                            out.extend_from_slice(s.segment.as_bytes());
                        }
                    }
                }
            }
        }
        out
    }

    /// Decodes a request (`response == false`) or a response; never panics.
    pub fn decode(buf: &[u8], response: bool) -> Result<PchcMessage, DecodeError> {
        let mut r = Reader::new(buf);
        if response {
            let size = r.u32_be("Size")?;
            if size != 1 {
                return Err(DecodeError::Invalid {
                    field: "Size",
                    value: size as u64,
                });
            }
            let code = match r.u8("ResponseCode")? {
                0 => ResponseCode::Ok,
                1 => ResponseCode::Interested,
                c => {
                    return Err(DecodeError::Invalid {
                        field: "ResponseCode",
                        value: c as u64,
                    })
                }
            };
            r.finish()?;
            return Ok(PchcMessage::Response(code));
        }
        if buf.len() > REQUEST_MAX {
            return Err(DecodeError::Invalid {
                field: "size",
                value: buf.len() as u64,
            });
        }
        r.u8("MinorVersion")?;
        let major = r.u8("MajorVersion")?;
        if !(1..=2).contains(&major) {
            return Err(DecodeError::Invalid {
                field: "MajorVersion",
                value: major as u64,
            });
        }
        let kind = r.u16_be("Type")?;
        r.bytes(4, "Padding")?;
        let port = r.u16_be("Port")?;
        r.bytes(6, "Padding")?;
        let body = match kind {
            1 => {
                // MS-PCHC §2.2.1.3: the rest of the message is the HoHoDk, of the content's hash
                // length (32, 48 or 64 bytes, MS-PCCRC §2.3).
                let bad = DecodeError::Invalid {
                    field: "HoHoDk",
                    value: r.remaining() as u64,
                };
                let segment = Digest::from_slice(r.bytes(r.remaining(), "HoHoDk")?).ok_or(bad)?;
                PchcBody::InitialOffer { segment }
            }
            2 => {
                let content_tag = r.array("ContentTag")?;
                let rest = r.bytes(r.remaining(), "SegmentInfo")?;
                let info = info_codec::decode(rest)?;
                if info.version != InfoVersion::V1 {
                    // MS-PCHC §2.2.1.4: version 1.0 content information only; V2 goes in BATCHED_OFFER.
                    return Err(DecodeError::Invalid {
                        field: "SegmentInfo Version",
                        value: 2,
                    });
                }
                if info.segments.len() != 1 {
                    return Err(DecodeError::Invalid {
                        field: "cSegments",
                        value: info.segments.len() as u64,
                    });
                }
                PchcBody::SegmentInfo {
                    content_tag,
                    info: Arc::new(info),
                }
            }
            3 => {
                let mut segments = Vec::new();
                while r.remaining() > 0 {
                    if segments.len() == BATCHED_MAX {
                        return Err(DecodeError::Invalid {
                            field: "SegmentDescriptor count",
                            value: BATCHED_MAX as u64 + 1,
                        });
                    }
                    let block_size = r.u32_be("BlockSize")?;
                    let segment_size = r.u32_be("SegmentSize")?;
                    let n = r.u16_be("SizeOfContentTag")?;
                    if n as usize != CONTENT_TAG_LEN {
                        return Err(DecodeError::Invalid {
                            field: "SizeOfContentTag",
                            value: n as u64,
                        });
                    }
                    let content_tag = r.array("ContentTag")?;
                    let hash_algo = r.u8("HashAlgorithm")?;
                    if !BATCHED_HASH_ALGOS.contains(&hash_algo) {
                        return Err(DecodeError::Invalid {
                            field: "HashAlgorithm",
                            value: hash_algo as u64,
                        });
                    }
                    let segment = Digest::from32(r.array("SegmentHoHoDk")?);
                    segments.push(BatchedSegment {
                        block_size,
                        segment_size,
                        content_tag,
                        hash_algo,
                        segment,
                    });
                }
                if segments.is_empty() {
                    return Err(DecodeError::Invalid {
                        field: "SegmentDescriptor count",
                        value: 0,
                    });
                }
                PchcBody::BatchedOffer { segments }
            }
            t => {
                return Err(DecodeError::Invalid {
                    field: "Type",
                    value: t as u64,
                })
            }
        };
        r.finish()?;
        Ok(PchcMessage::Request { major, port, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::content::{compute_info, ContentSpec, DataMode, InfoVersion};
    use proptest::prelude::*;

    fn samples() -> Vec<PchcMessage> {
        let mut info = compute_info(
            &ContentSpec { id: 1, size: 200_000 },
            InfoVersion::V1,
            DataMode::Modeled,
            b"k",
        );
        info.range_tail = info.segments[0].len as u64;
        vec![
            PchcMessage::Request {
                major: 1,
                port: 8080,
                body: PchcBody::InitialOffer {
                    segment: Digest::from32([4; 32]),
                },
            },
            PchcMessage::Request {
                major: 1,
                port: 8080,
                body: PchcBody::SegmentInfo {
                    content_tag: *b"peerlab-dist-tag",
                    info: Arc::new(info),
                },
            },
            PchcMessage::Request {
                major: 2,
                port: 1,
                body: PchcBody::BatchedOffer {
                    segments: vec![BatchedSegment {
                        block_size: 70_000,
                        segment_size: 70_000,
                        content_tag: *b"WinINet\0\0\0\0\0\0\0\0\0",
                        hash_algo: 4,
                        segment: Digest::from32([5; 32]),
                    }],
                },
            },
        ]
    }

    #[test]
    fn round_trips_and_sizes() {
        for m in samples() {
            let b = m.encode();
            assert_eq!(b.len(), m.encoded_len());
            assert_eq!(PchcMessage::decode(&b, false), Ok(m));
        }
        assert_eq!(samples()[0].encoded_len(), 48);
        for code in [ResponseCode::Ok, ResponseCode::Interested] {
            let b = PchcMessage::Response(code).encode();
            assert_eq!(b.len(), 5);
            assert_eq!(PchcMessage::decode(&b, true), Ok(PchcMessage::Response(code)));
        }
        assert!(PchcMessage::decode(&[0, 0, 0, 1, 7], true).is_err());
    }

    fn batched(n: usize, algo: u8) -> PchcMessage {
        PchcMessage::Request {
            major: 2,
            port: 80,
            body: PchcBody::BatchedOffer {
                segments: (0..n)
                    .map(|i| BatchedSegment {
                        block_size: 70_000,
                        segment_size: 70_000,
                        content_tag: *b"BITS-4.0\0\0\0\0\0\0\0\0",
                        hash_algo: algo,
                        segment: Digest::from32([i as u8; 32]),
                    })
                    .collect(),
            },
        }
    }

    #[test]
    fn batched_offers_keep_the_rules() {
        for (n, algo) in [(1, 4), (128, 1)] {
            let m = batched(n, algo);
            assert_eq!(PchcMessage::decode(&m.encode(), false), Ok(m));
        }
        let err = |m: &PchcMessage| match PchcMessage::decode(&m.encode(), false) {
            Err(DecodeError::Invalid { field, .. }) => field,
            other => panic!("accepted {other:?}"),
        };
        assert_eq!(err(&batched(129, 4)), "SegmentDescriptor count");
        assert_eq!(err(&batched(0, 4)), "SegmentDescriptor count");
        assert_eq!(err(&batched(1, 2)), "HashAlgorithm");
        // A content tag of another length: rewrite SizeOfContentTag from 16 to 7.
        let mut b = batched(1, 4).encode();
        b[REQUEST_HEADER_LEN + 9] = 7;
        assert_eq!(
            PchcMessage::decode(&b, false),
            Err(DecodeError::Invalid {
                field: "SizeOfContentTag",
                value: 7
            })
        );
        // V2 content information never travels in SEGMENT_INFO.
        let mut info = compute_info(
            &ContentSpec { id: 1, size: 90_000 },
            InfoVersion::V2,
            DataMode::Modeled,
            b"k",
        );
        info.segments.truncate(1);
        let m = PchcMessage::Request {
            major: 2,
            port: 80,
            body: PchcBody::SegmentInfo {
                content_tag: [0; 16],
                info: Arc::new(info),
            },
        };
        assert!(PchcMessage::decode(&m.encode(), false).is_err());
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300), resp in any::<bool>()) {
            let _ = PchcMessage::decode(&bytes, resp);
        }

        #[test]
        fn mutations_never_panic(which in 0usize..3, at in any::<usize>(), x in any::<u8>()) {
            let mut b = samples()[which].encode();
            let i = at % b.len();
            b[i] ^= x;
            let _ = PchcMessage::decode(&b, false);
            b.truncate(i);
            let _ = PchcMessage::decode(&b, false);
        }
    }
}
