//! The MS-PCCRR byte codec (MS-PCCRR §2.2): big-endian u32 fields, 4-byte alignment,
//! bounds-checked decoding that never panics.

use super::hash::{Digest, SegmentId};
use super::pccrr::*;
use super::wire::{bounded, put_align4, DecodeError, Reader};

impl PccrrMessage {
    /// Encodes the message (without the response size prefix).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.version.put(&mut out);
        out.extend_from_slice(&self.body.code().to_be_bytes());
        out.extend_from_slice(&(self.encoded_len() as u32).to_be_bytes());
        out.extend_from_slice(&self.crypto.code().to_be_bytes());
        let u32s = |out: &mut Vec<u8>, v: u32| out.extend_from_slice(&v.to_be_bytes());
        let seg = |out: &mut Vec<u8>, s: &SegmentId| {
            out.extend_from_slice(&(s.len() as u32).to_be_bytes());
            out.extend_from_slice(s.as_bytes());
        };
        let ranges = |out: &mut Vec<u8>, rs: &[BlockRange]| {
            out.extend_from_slice(&(rs.len() as u32).to_be_bytes());
            for r in rs {
                out.extend_from_slice(&r.index.to_be_bytes());
                out.extend_from_slice(&r.count.to_be_bytes());
            }
        };
        let blob = |out: &mut Vec<u8>, b: &[u8]| {
            out.extend_from_slice(&(b.len() as u32).to_be_bytes());
            out.extend_from_slice(b);
            put_align4(out);
        };
        match &self.body {
            PccrrBody::NegoReq { min, max } | PccrrBody::NegoResp { min, max } => {
                min.put(&mut out);
                max.put(&mut out);
            }
            PccrrBody::GetBlkList { segment, ranges: rs } => {
                seg(&mut out, segment);
                ranges(&mut out, rs);
            }
            PccrrBody::GetBlks { segment, range } => {
                seg(&mut out, segment);
                ranges(&mut out, &[*range]);
                u32s(&mut out, 0); // SizeOfDataForVrfBlock
            }
            PccrrBody::BlkList {
                segment,
                ranges: rs,
                next_block_index,
            } => {
                seg(&mut out, segment);
                ranges(&mut out, rs);
                u32s(&mut out, *next_block_index);
            }
            PccrrBody::Blk {
                segment,
                block_index,
                next_block_index,
                body,
                iv,
            } => {
                seg(&mut out, segment);
                u32s(&mut out, *block_index);
                u32s(&mut out, *next_block_index);
                match body {
                    None => u32s(&mut out, 0),
                    Some(BlockBody::Bytes(b)) => {
                        u32s(&mut out, b.len() as u32);
                        out.extend_from_slice(b);
                    }
                    Some(BlockBody::Modeled { wire_len, token, .. }) => {
                        // The token stands at the front of zero filler of the real length.
                        u32s(&mut out, *wire_len);
                        let start = out.len();
                        out.resize(start + *wire_len as usize, 0);
                        let n = (*wire_len as usize).min(token.len());
                        out[start..start + n].copy_from_slice(&token.as_bytes()[..n]);
                    }
                }
                put_align4(&mut out);
                u32s(&mut out, 0); // SizeOfVrfBlock
                match iv {
                    Some(iv) => {
                        u32s(&mut out, IV_LEN as u32);
                        out.extend_from_slice(iv);
                    }
                    None => u32s(&mut out, 0),
                }
            }
            PccrrBody::GetSegList {
                request_id,
                segments,
                blob: b,
            } => {
                out.extend_from_slice(request_id);
                u32s(&mut out, segments.len() as u32);
                segments.iter().for_each(|s| seg(&mut out, s));
                blob(&mut out, b);
            }
            PccrrBody::SegList {
                request_id,
                ranges: rs,
                blob: b,
            } => {
                out.extend_from_slice(request_id);
                ranges(&mut out, rs);
                blob(&mut out, b);
            }
        }
        out
    }

    /// Decodes one message (without the response size prefix); never panics (hostile input).
    pub fn decode(buf: &[u8]) -> Result<PccrrMessage, DecodeError> {
        let mut r = Reader::new(buf);
        let version = ProtoVersion::get(&mut r, "ProtVer")?;
        let code = r.u32_be("MsgType")?;
        let size = r.u32_be("MsgSize")? as usize;
        let crypto = CryptoAlgo::from_code(r.u32_be("CryptoAlgoId")?)?;
        if size != buf.len() {
            return Err(DecodeError::Invalid {
                field: "MsgSize",
                value: size as u64,
            });
        }
        let limit = if matches!(code, 1 | 4 | 5 | 7) {
            RESPONSE_MAX
        } else {
            REQUEST_MAX
        };
        if size > limit {
            return Err(DecodeError::Invalid {
                field: "MsgSize",
                value: size as u64,
            });
        }
        let body = match code {
            0 | 1 => {
                let min = ProtoVersion::get(&mut r, "MinSupportedProtocolVersion")?;
                let max = ProtoVersion::get(&mut r, "MaxSupportedProtocolVersion")?;
                if code == 0 {
                    PccrrBody::NegoReq { min, max }
                } else {
                    PccrrBody::NegoResp { min, max }
                }
            }
            2 => {
                let segment = get_seg(&mut r)?;
                PccrrBody::GetBlkList {
                    segment,
                    ranges: get_ranges(&mut r, 1)?,
                }
            }
            3 => {
                let segment = get_seg(&mut r)?;
                let rs = get_ranges(&mut r, 1)?;
                if rs.len() != 1 || rs[0].count != 1 {
                    return Err(DecodeError::Invalid {
                        field: "ReqBlockRangeCount",
                        value: rs.len() as u64,
                    });
                }
                let vrf = r.u32_be("SizeOfDataForVrfBlock")? as usize;
                r.bytes(vrf, "DataForVrfBlock")?;
                r.align4("DataForVrfBlock")?;
                PccrrBody::GetBlks {
                    segment,
                    range: rs[0],
                }
            }
            4 => {
                let segment = get_seg(&mut r)?;
                let ranges = get_ranges(&mut r, 0)?;
                PccrrBody::BlkList {
                    segment,
                    ranges,
                    next_block_index: r.u32_be("NextBlockIndex")?,
                }
            }
            5 => decode_blk(&mut r)?,
            6 => {
                let request_id = r.array("RequestID")?;
                let n = r.u32_be("CountOfSegmentIDs")? as u64;
                let n = bounded("CountOfSegmentIDs", n, (r.remaining() / SEG_GROUP) as u64)?;
                if n == 0 {
                    return Err(DecodeError::Invalid {
                        field: "CountOfSegmentIDs",
                        value: 0,
                    });
                }
                let mut segments = Vec::with_capacity(n);
                for _ in 0..n {
                    segments.push(get_seg(&mut r)?);
                }
                PccrrBody::GetSegList {
                    request_id,
                    segments,
                    blob: get_blob(&mut r)?,
                }
            }
            7 => {
                let request_id = r.array("RequestID")?;
                let ranges = get_index_ranges(&mut r, 0, SEGMENT_IDS_MAX as u32, "SEGMENT_RANGE")?;
                PccrrBody::SegList {
                    request_id,
                    ranges,
                    blob: get_blob(&mut r)?,
                }
            }
            _ => {
                return Err(DecodeError::Invalid {
                    field: "MsgType",
                    value: code as u64,
                })
            }
        };
        r.finish()?;
        Ok(PccrrMessage {
            version,
            crypto,
            body,
        })
    }
}

fn get_seg(r: &mut Reader<'_>) -> Result<SegmentId, DecodeError> {
    let n = r.u32_be("SizeOfSegmentID")?;
    // MS-PCCRR §2.2.4.2: the length follows the content's hash (32, 48 or 64 bytes).
    let invalid = DecodeError::Invalid {
        field: "SizeOfSegmentID",
        value: n as u64,
    };
    if !matches!(n, 32 | 48 | 64) {
        return Err(invalid);
    }
    Digest::from_slice(r.bytes(n as usize, "SegmentID")?).ok_or(invalid)
}

fn get_ranges(r: &mut Reader<'_>, min: usize) -> Result<Vec<BlockRange>, DecodeError> {
    get_index_ranges(r, min, BLOCKS_MAX, "BLOCK_RANGE")
}

/// A range array whose indexes run below `limit`: block indexes (0..512) for block ranges,
/// indexes into the request's segment-ID array for MSG_SEGLIST's SEGMENT_RANGEs (MS-PCCRR
/// §2.2.5.4), which are not bounded by a segment's block count.
fn get_index_ranges(
    r: &mut Reader<'_>,
    min: usize,
    limit: u32,
    field: &'static str,
) -> Result<Vec<BlockRange>, DecodeError> {
    let n = bounded(
        "BlockRangeCount",
        r.u32_be("BlockRangeCount")? as u64,
        RANGES_MAX as u64,
    )?;
    if n < min || n * 8 > r.remaining() {
        return Err(DecodeError::Invalid {
            field: "BlockRangeCount",
            value: n as u64,
        });
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let index = r.u32_be("Index")?;
        let count = r.u32_be("Count")?;
        if index >= limit || count == 0 || count > limit - index {
            return Err(DecodeError::Invalid {
                field,
                value: index as u64,
            });
        }
        out.push(BlockRange { index, count });
    }
    Ok(out)
}

fn get_blob(r: &mut Reader<'_>) -> Result<Vec<u8>, DecodeError> {
    let n = r.u32_be("SizeOfExtensibleBlob")? as usize;
    let b = r.bytes(n, "ExtensibleBlob")?.to_vec();
    r.align4("ExtensibleBlob")?;
    Ok(b)
}

fn decode_blk(r: &mut Reader<'_>) -> Result<PccrrBody, DecodeError> {
    let segment = get_seg(r)?;
    let block_index = r.u32_be("BlockIndex")?;
    let next_block_index = r.u32_be("NextBlockIndex")?;
    let n = r.u32_be("SizeOfBlock")? as usize;
    let data = r.bytes(n, "Block")?;
    r.align4("Block")?;
    let vrf = r.u32_be("SizeOfVrfBlock")? as usize;
    r.bytes(vrf, "VrfBlock")?;
    r.align4("VrfBlock")?;
    let iv = match r.u32_be("SizeOfIVBlock")? {
        0 => None,
        16 => Some(r.array::<IV_LEN>("IVBlock")?),
        n => {
            return Err(DecodeError::Invalid {
                field: "SizeOfIVBlock",
                value: n as u64,
            })
        }
    };
    r.align4("IVBlock")?;
    let body = (n > 0).then(|| BlockBody::Bytes(data.into()));
    Ok(PccrrBody::Blk {
        segment,
        block_index,
        next_block_index,
        body,
        iv,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn seg() -> SegmentId {
        Digest::from32([7; 32])
    }

    fn msg(body: PccrrBody) -> PccrrMessage {
        PccrrMessage {
            version: ProtoVersion::V1_0,
            crypto: CryptoAlgo::Aes128,
            body,
        }
    }

    fn samples() -> Vec<PccrrMessage> {
        let r = BlockRange { index: 3, count: 2 };
        vec![
            msg(PccrrBody::NegoReq {
                min: ProtoVersion::V1_0,
                max: ProtoVersion::V2_0,
            }),
            msg(PccrrBody::NegoResp {
                min: ProtoVersion::V1_0,
                max: ProtoVersion::V1_0,
            }),
            msg(PccrrBody::GetBlkList {
                segment: seg(),
                ranges: vec![r, BlockRange { index: 9, count: 1 }],
            }),
            msg(PccrrBody::GetBlks {
                segment: seg(),
                range: BlockRange { index: 5, count: 1 },
            }),
            msg(PccrrBody::BlkList {
                segment: seg(),
                ranges: vec![r],
                next_block_index: 5,
            }),
            msg(PccrrBody::BlkList {
                segment: seg(),
                ranges: vec![],
                next_block_index: 0,
            }),
            msg(PccrrBody::Blk {
                segment: seg(),
                block_index: 1,
                next_block_index: 2,
                body: Some(BlockBody::Bytes(vec![1u8; 37].into())),
                iv: Some([9; 16]),
            }),
            msg(PccrrBody::Blk {
                segment: seg(),
                block_index: 4,
                next_block_index: 0,
                body: None,
                iv: None,
            }),
            msg(PccrrBody::GetSegList {
                request_id: [1; 16],
                segments: vec![seg(), Digest::from32([2; 32])],
                blob: vec![1, 2, 3],
            }),
            msg(PccrrBody::SegList {
                request_id: [1; 16],
                ranges: vec![r],
                blob: vec![],
            }),
        ]
    }

    #[test]
    fn seglist_ranges_are_segment_indexes_and_getseglist_round_trips() {
        // 600 segment IDs: index 550 is a valid SEGMENT_RANGE though no segment has 550 blocks.
        let ids: Vec<SegmentId> = (0..600u32)
            .map(|i| Digest::from32([(i % 251) as u8; 32]))
            .collect();
        let get = msg(PccrrBody::GetSegList {
            request_id: [9; 16],
            segments: ids,
            blob: vec![],
        });
        assert_eq!(PccrrMessage::decode(&get.encode()), Ok(get));
        let list = msg(PccrrBody::SegList {
            request_id: [9; 16],
            ranges: vec![BlockRange {
                index: 550,
                count: 40,
            }],
            blob: vec![0, 1, 3, 0],
        });
        assert_eq!(PccrrMessage::decode(&list.encode()), Ok(list));
        // Past what any request could have asked, or empty: rejected.
        for (index, count) in [(SEGMENT_IDS_MAX as u32, 1), (0, 0), (10, SEGMENT_IDS_MAX as u32)] {
            let bad = msg(PccrrBody::SegList {
                request_id: [9; 16],
                ranges: vec![BlockRange { index, count }],
                blob: vec![],
            });
            assert!(matches!(
                PccrrMessage::decode(&bad.encode()),
                Err(DecodeError::Invalid {
                    field: "SEGMENT_RANGE",
                    ..
                })
            ));
        }
        let empty = msg(PccrrBody::GetSegList {
            request_id: [9; 16],
            segments: vec![],
            blob: vec![],
        });
        assert!(PccrrMessage::decode(&empty.encode()).is_err());
    }

    #[test]
    fn sizes_match_section_5_3() {
        let s = samples();
        assert_eq!(s[0].encoded_len(), 24);
        assert_eq!(s[2].encoded_len(), 56 + 8 * 2);
        assert_eq!(s[3].encoded_len(), 68);
        assert_eq!(s[4].wire_len(), 4 + 60 + 8);
        // A full 64 KiB block under AES with PKCS#7: 65,552 bytes of ciphertext, 4 + 88 + N on the wire.
        let n = CryptoAlgo::Aes128.cipher_len(65_536);
        assert_eq!(n, 65_552);
        let blk = msg(PccrrBody::Blk {
            segment: seg(),
            block_index: 0,
            next_block_index: 1,
            body: Some(BlockBody::Modeled {
                wire_len: n,
                plain_len: 65_536,
                token: seg(),
            }),
            iv: Some([0; 16]),
        });
        assert_eq!(blk.wire_len(), 4 + 88 + 65_552);
        assert_eq!(blk.encode().len(), blk.encoded_len());
    }

    #[test]
    fn header_bytes() {
        let b = samples()[3].encode();
        assert_eq!(&b[..16], &[0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 68, 0, 0, 0, 1]);
        assert_eq!(&b[16..20], &[0, 0, 0, 32]);
    }

    #[test]
    fn round_trips() {
        for m in samples() {
            let b = m.encode();
            assert_eq!(b.len(), m.encoded_len(), "{m:?}");
            assert_eq!(PccrrMessage::decode(&b), Ok(m));
        }
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = PccrrMessage::decode(&bytes);
        }

        #[test]
        fn mutated_messages_never_panic(which in 0usize..10, at in any::<usize>(), x in any::<u8>()) {
            let mut b = samples()[which].encode();
            let i = at % b.len();
            b[i] ^= x;
            let _ = PccrrMessage::decode(&b);
            b.truncate(i);
            let _ = PccrrMessage::decode(&b);
        }
    }
}
