//! Byte framing of [`DistMessage`] for live drivers and the simulator's codec round-trip switch.
//!
//! One kind byte, then the protocol's own bytes: the SOAP/XML datagram for PCCRD (MS-PCCRD §2.2), the exact
//! MS-PCCRR message (responses with their 4-byte TRANSPORT_RESPONSE_HEADER, MS-PCCRR §2.2.2) and MS-PCHC
//! message (MS-PCHC §2.2). The origin exchange stands for HTTP (\[SIM\], peerlab's model) and gets a compact
//! big-endian layout of its fields. Modeled blocks are encoded at their real size but decode as
//! bytes, so only real-data messages round-trip exactly.

use super::content::UnitData;
use super::hash::{Digest, SegmentId};
use super::info_codec;
use super::message::{DistMessage, OriginMessage};
use super::pccrd::{Probe, ProbeMatch};
use super::pccrr::PccrrMessage;
use super::pchc::PchcMessage;
use super::wire::{bounded, DecodeError, Reader};
use std::sync::Arc;

const PROBE: u8 = 1;
const PROBE_MATCH: u8 = 2;
const PCCRR_REQUEST: u8 = 3;
const PCCRR_RESPONSE: u8 = 4;
const PCHC_REQUEST: u8 = 5;
const PCHC_RESPONSE: u8 = 6;
const ORIGIN: u8 = 7;
/// Largest origin body this decoder accepts in one frame (a 4 GiB file is not one datagram).
pub const ORIGIN_BODY_MAX: u64 = 1 << 31;

impl DistMessage {
    /// Encodes the message with its kind byte.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            DistMessage::Probe(p) => {
                out.push(PROBE);
                out.extend_from_slice(p.to_xml().as_bytes());
            }
            DistMessage::ProbeMatch(m) => {
                out.push(PROBE_MATCH);
                out.extend_from_slice(m.to_xml().as_bytes());
            }
            DistMessage::Pccrr(m) if m.body.is_response() => {
                out.push(PCCRR_RESPONSE);
                out.extend_from_slice(&(m.encoded_len() as u32).to_be_bytes());
                out.extend_from_slice(&m.encode());
            }
            DistMessage::Pccrr(m) => {
                out.push(PCCRR_REQUEST);
                out.extend_from_slice(&m.encode());
            }
            DistMessage::Pchc(m) => {
                out.push(if matches!(**m, PchcMessage::Response(_)) {
                    PCHC_RESPONSE
                } else {
                    PCHC_REQUEST
                });
                out.extend_from_slice(&m.encode());
            }
            DistMessage::Origin(m) => {
                out.push(ORIGIN);
                encode_origin(m, &mut out);
            }
        }
        out
    }

    /// Decodes a framed message. `probed` returns the segment IDs of one of our probes by its
    /// MessageID, which a V2 ProbeMatch needs to name its entries (MS-PCCRD §2.2.3.3).
    pub fn decode(
        buf: &[u8],
        probed: impl Fn(u128) -> Option<Vec<SegmentId>>,
    ) -> Result<DistMessage, DecodeError> {
        let (&kind, rest) = buf
            .split_first()
            .ok_or(DecodeError::Truncated { field: "kind" })?;
        let text = || {
            std::str::from_utf8(rest).map_err(|_| DecodeError::Invalid {
                field: "UTF-8",
                value: 0,
            })
        };
        Ok(match kind {
            PROBE => DistMessage::Probe(Arc::new(Probe::from_xml(text()?)?)),
            PROBE_MATCH => {
                let xml = text()?;
                let ids = ProbeMatch::relates_to_of(xml)
                    .and_then(probed)
                    .unwrap_or_default();
                DistMessage::ProbeMatch(Arc::new(ProbeMatch::from_xml(xml, &ids)?))
            }
            PCCRR_REQUEST => DistMessage::Pccrr(Arc::new(PccrrMessage::decode(rest)?)),
            PCCRR_RESPONSE => {
                let mut r = Reader::new(rest);
                let size = r.u32_be("TRANSPORT_RESPONSE_HEADER")? as usize;
                if size != r.remaining() {
                    return Err(DecodeError::Invalid {
                        field: "TRANSPORT_RESPONSE_HEADER",
                        value: size as u64,
                    });
                }
                let m = PccrrMessage::decode(&rest[4..])?;
                if !m.body.is_response() {
                    return Err(DecodeError::Invalid {
                        field: "MsgType",
                        value: m.body.code() as u64,
                    });
                }
                DistMessage::Pccrr(Arc::new(m))
            }
            PCHC_REQUEST => DistMessage::Pchc(Arc::new(PchcMessage::decode(rest, false)?)),
            PCHC_RESPONSE => DistMessage::Pchc(Arc::new(PchcMessage::decode(rest, true)?)),
            ORIGIN => DistMessage::Origin(Arc::new(decode_origin(rest)?)),
            k => {
                return Err(DecodeError::Invalid {
                    field: "kind",
                    value: k as u64,
                })
            }
        })
    }
}

fn put64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn encode_origin(m: &OriginMessage, out: &mut Vec<u8>) {
    match m {
        OriginMessage::Get { tag, content } => {
            out.push(0);
            put64(out, *tag);
            put64(out, *content);
        }
        OriginMessage::Info {
            tag,
            content,
            size,
            info,
        } => {
            out.push(1);
            put64(out, *tag);
            put64(out, *content);
            put64(out, *size);
            out.extend_from_slice(&info_codec::encode(info));
        }
        OriginMessage::Body {
            tag,
            content,
            size,
            data,
        } => {
            out.push(2);
            put64(out, *tag);
            put64(out, *content);
            put64(out, *size);
            match data {
                Some(d) => {
                    out.push(1);
                    out.extend_from_slice(d);
                }
                None => out.push(0),
            }
        }
        OriginMessage::GetRange {
            tag,
            content,
            segment,
            first,
            count,
        } => {
            out.push(3);
            put64(out, *tag);
            put64(out, *content);
            put32(out, *segment);
            put32(out, *first);
            put32(out, *count);
        }
        OriginMessage::Range {
            tag,
            content,
            segment,
            first,
            units,
        } => {
            out.push(4);
            put64(out, *tag);
            put64(out, *content);
            put32(out, *segment);
            put32(out, *first);
            put32(out, units.len() as u32);
            for u in units {
                match u {
                    UnitData::Bytes(b) => {
                        out.push(0);
                        put32(out, b.len() as u32);
                        out.extend_from_slice(b);
                    }
                    UnitData::Token { len, hash } => {
                        out.push(1);
                        put32(out, *len);
                        out.push(hash.len() as u8);
                        out.extend_from_slice(hash.as_bytes());
                    }
                }
            }
        }
        OriginMessage::NotFound { tag, content } => {
            out.push(5);
            put64(out, *tag);
            put64(out, *content);
        }
    }
}

fn decode_origin(buf: &[u8]) -> Result<OriginMessage, DecodeError> {
    let mut r = Reader::new(buf);
    let kind = r.u8("origin kind")?;
    let tag = r.u64_be("tag")?;
    let content = r.u64_be("content")?;
    let m = match kind {
        0 => OriginMessage::Get { tag, content },
        1 => {
            let size = r.u64_be("size")?;
            let info = info_codec::decode(r.bytes(r.remaining(), "content information")?)?;
            OriginMessage::Info {
                tag,
                content,
                size,
                info: Arc::new(info),
            }
        }
        2 => {
            let size = bounded("size", r.u64_be("size")?, ORIGIN_BODY_MAX)?;
            let data = match r.u8("has data")? {
                0 => None,
                1 => Some(Arc::from(r.bytes(size, "body")?)),
                v => {
                    return Err(DecodeError::Invalid {
                        field: "has data",
                        value: v as u64,
                    })
                }
            };
            OriginMessage::Body {
                tag,
                content,
                size: size as u64,
                data,
            }
        }
        3 => OriginMessage::GetRange {
            tag,
            content,
            segment: r.u32_be("segment")?,
            first: r.u32_be("first")?,
            count: r.u32_be("count")?,
        },
        4 => {
            let segment = r.u32_be("segment")?;
            let first = r.u32_be("first")?;
            let n = bounded("units", r.u32_be("units")? as u64, (r.remaining() / 5) as u64)?;
            let mut units = Vec::with_capacity(n);
            for _ in 0..n {
                let k = r.u8("unit kind")?;
                let len = r.u32_be("unit length")?;
                units.push(match k {
                    0 => UnitData::Bytes(Arc::from(r.bytes(len as usize, "unit")?)),
                    1 => UnitData::Token {
                        len,
                        hash: {
                            let n = r.u8("unit token length")?;
                            let bad = DecodeError::Invalid {
                                field: "unit token length",
                                value: n as u64,
                            };
                            Digest::from_slice(r.bytes(n as usize, "unit token")?).ok_or(bad)?
                        },
                    },
                    v => {
                        return Err(DecodeError::Invalid {
                            field: "unit kind",
                            value: v as u64,
                        })
                    }
                });
            }
            OriginMessage::Range {
                tag,
                content,
                segment,
                first,
                units,
            }
        }
        5 => OriginMessage::NotFound { tag, content },
        k => {
            return Err(DecodeError::Invalid {
                field: "origin kind",
                value: k as u64,
            })
        }
    };
    r.finish()?;
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::content::{compute_info, ContentSpec, DataMode, InfoVersion};
    use crate::dist::pccrd::{MatchEntry, ProbeVersion};
    use crate::dist::pccrr::{BlockBody, BlockRange, CryptoAlgo, PccrrBody, ProtoVersion};
    use crate::dist::pchc::{PchcBody, ResponseCode};
    use crate::Endpoint;
    use proptest::prelude::*;

    fn samples() -> Vec<DistMessage> {
        let seg = Digest::from32([3; 32]);
        let info = compute_info(
            &ContentSpec { id: 1, size: 100_000 },
            InfoVersion::V1,
            DataMode::Real,
            b"k",
        );
        let pccrr = |body| {
            DistMessage::Pccrr(Arc::new(PccrrMessage {
                version: ProtoVersion::V1_0,
                crypto: CryptoAlgo::Aes128,
                body,
            }))
        };
        let origin = |m| DistMessage::Origin(Arc::new(m));
        vec![
            DistMessage::Probe(Arc::new(Probe {
                message_id: 5,
                version: ProbeVersion::V2,
                segments: vec![seg, Digest::from32([4; 32])],
            })),
            DistMessage::ProbeMatch(Arc::new(ProbeMatch {
                message_id: 6,
                relates_to: 5,
                instance_id: 1,
                message_number: 2,
                endpoint_uuid: 3,
                version: ProbeVersion::V2,
                xaddr: Endpoint::new(std::net::Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped(), 80),
                entries: vec![
                    MatchEntry {
                        segment: seg,
                        block_count: 1,
                        complete: true,
                        age: None,
                    },
                    MatchEntry {
                        segment: Digest::from32([4; 32]),
                        block_count: 0,
                        complete: false,
                        age: None,
                    },
                ],
            })),
            pccrr(PccrrBody::GetBlks {
                segment: seg,
                range: BlockRange { index: 2, count: 1 },
            }),
            pccrr(PccrrBody::Blk {
                segment: seg,
                block_index: 2,
                next_block_index: 0,
                body: Some(BlockBody::Bytes(vec![9; 32].into())),
                iv: Some([1; 16]),
            }),
            DistMessage::Pchc(Arc::new(PchcMessage::Request {
                major: 1,
                port: 80,
                body: PchcBody::InitialOffer { segment: seg },
            })),
            DistMessage::Pchc(Arc::new(PchcMessage::Response(ResponseCode::Interested))),
            origin(OriginMessage::Get { tag: 1, content: 2 }),
            origin(OriginMessage::Info {
                tag: 1,
                content: 2,
                size: 100_000,
                info: Arc::new(info),
            }),
            origin(OriginMessage::Body {
                tag: 1,
                content: 2,
                size: 3,
                data: Some(vec![1, 2, 3].into()),
            }),
            origin(OriginMessage::Body {
                tag: 1,
                content: 2,
                size: 3,
                data: None,
            }),
            origin(OriginMessage::GetRange {
                tag: 1,
                content: 2,
                segment: 0,
                first: 1,
                count: 2,
            }),
            origin(OriginMessage::Range {
                tag: 1,
                content: 2,
                segment: 0,
                first: 1,
                units: vec![
                    UnitData::Bytes(vec![7; 10].into()),
                    UnitData::Token {
                        len: 65_536,
                        hash: seg,
                    },
                ],
            }),
            origin(OriginMessage::NotFound { tag: 1, content: 2 }),
        ]
    }

    fn lookup(id: u128) -> Option<Vec<SegmentId>> {
        (id == 5).then(|| vec![Digest::from32([3; 32]), Digest::from32([4; 32])])
    }

    #[test]
    fn every_kind_round_trips() {
        for m in samples() {
            let bytes = m.encode();
            assert_eq!(DistMessage::decode(&bytes, lookup), Ok(m.clone()), "{m:?}");
        }
    }

    #[test]
    fn framed_sizes_match_accounting() {
        for m in samples() {
            let framed = m.encode().len();
            match &m {
                DistMessage::Probe(_) | DistMessage::ProbeMatch(_) => assert_eq!(framed, 1 + m.wire_len()),
                DistMessage::Pccrr(p) => assert_eq!(framed, 1 + p.wire_len()),
                DistMessage::Pchc(p) => assert_eq!(framed, 1 + p.encoded_len()),
                DistMessage::Origin(_) => {}
            }
        }
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = DistMessage::decode(&bytes, lookup);
        }

        #[test]
        fn mutations_never_panic(which in 0usize..13, at in any::<usize>(), x in any::<u8>()) {
            let mut b = samples()[which].encode();
            let i = at % b.len();
            b[i] ^= x;
            let _ = DistMessage::decode(&b, lookup);
            b.truncate(i);
            let _ = DistMessage::decode(&b, lookup);
        }
    }
}
