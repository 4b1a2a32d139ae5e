//! Wire encoding of content information: V1 little-endian (MS-PCCRC §2.3), V2 big-endian (MS-PCCRC §2.4).

use super::content::{ContentInfo, InfoVersion, SegmentDesc, V1_BLOCK_SIZE, V2_SEGMENT_MAX};
use super::hash::{Digest, HashAlgo};
use super::wire::{bounded, DecodeError, Reader};
use std::sync::Arc;

/// V1 `Version` field: 0x0100 (MS-PCCRC §2.3).
const V1_VERSION: u16 = 0x0100;
/// V2 `bHashAlgo` for truncated SHA-512 (MS-PCCRC §2.4).
const V2_ALGO: u8 = 0x04;
/// V1 header bytes (MS-PCCRC §2.3).
pub const V1_HEADER_LEN: usize = 18;
/// V1 SegmentDescription bytes with 32-byte hashes (MS-PCCRC §2.3.1.1: 16 + 2·hash length).
pub const V1_SEGMENT_DESC_LEN: usize = 80;
/// V1 SegmentDescription bytes for hashes of `n` bytes.
fn v1_desc_len(n: usize) -> usize {
    16 + 2 * n
}
/// V2 header bytes (MS-PCCRC §2.4).
pub const V2_HEADER_LEN: usize = 31;
/// V2 SegmentDescription bytes (MS-PCCRC §2.4.1.2).
pub const V2_SEGMENT_DESC_LEN: usize = 68;
/// Largest block count of one V1 segment (32 MiB / 64 KiB).
const V1_MAX_BLOCKS: u64 = 512;

/// Encoded size of `info` without building it (MS-PCCRC §2.3: `18 + S·80 + 4·S + B·32`; §2.4: `31 + 5 + 68·S`).
pub fn encoded_len(info: &ContentInfo) -> usize {
    let s = info.segments.len();
    match info.version {
        InfoVersion::V1 => {
            let blocks: usize = info.segments.iter().map(|x| x.block_hashes.len()).sum();
            let n = info.hash.output_len();
            V1_HEADER_LEN + s * (v1_desc_len(n) + 4) + blocks * n
        }
        InfoVersion::V2 => V2_HEADER_LEN + if s == 0 { 0 } else { 5 + s * V2_SEGMENT_DESC_LEN },
    }
}

/// Encodes content information in its version's layout.
pub fn encode(info: &ContentInfo) -> Vec<u8> {
    let mut out = Vec::with_capacity(encoded_len(info));
    match info.version {
        InfoVersion::V1 => encode_v1(info, &mut out),
        InfoVersion::V2 => encode_v2(info, &mut out),
    }
    out
}

fn encode_v1(info: &ContentInfo, out: &mut Vec<u8>) {
    out.extend_from_slice(&V1_VERSION.to_le_bytes());
    // A V1 structure only carries SHA-256/384/512; the V2 algorithm has no dwHashAlgo code.
    let code = info.hash.v1_code().unwrap_or(0x800C);
    out.extend_from_slice(&code.to_le_bytes());
    out.extend_from_slice(&info.offset_in_first_segment.to_le_bytes());
    out.extend_from_slice(&(info.range_tail as u32).to_le_bytes());
    out.extend_from_slice(&(info.segments.len() as u32).to_le_bytes());
    for s in &info.segments {
        out.extend_from_slice(&s.offset.to_le_bytes());
        out.extend_from_slice(&s.len.to_le_bytes());
        out.extend_from_slice(&s.block_size.to_le_bytes());
        out.extend_from_slice(s.hod.as_bytes());
        out.extend_from_slice(s.kp.as_bytes());
    }
    for s in &info.segments {
        out.extend_from_slice(&(s.block_hashes.len() as u32).to_le_bytes());
        s.block_hashes
            .iter()
            .for_each(|h| out.extend_from_slice(h.as_bytes()));
    }
}

fn encode_v2(info: &ContentInfo, out: &mut Vec<u8>) {
    out.extend_from_slice(&[0x00, 0x02, V2_ALGO]);
    out.extend_from_slice(&info.segments.first().map_or(0, |s| s.offset).to_be_bytes());
    out.extend_from_slice(&info.first_segment_index.to_be_bytes());
    out.extend_from_slice(&info.offset_in_first_segment.to_be_bytes());
    out.extend_from_slice(&info.range_tail.to_be_bytes());
    if info.segments.is_empty() {
        return;
    }
    // MS-PCCRC §2.4.1 [SIM]: one chunk holding every segment.
    out.push(0x00);
    out.extend_from_slice(&((info.segments.len() * V2_SEGMENT_DESC_LEN) as u32).to_be_bytes());
    for s in &info.segments {
        out.extend_from_slice(&s.len.to_be_bytes());
        out.extend_from_slice(s.hod.as_bytes());
        out.extend_from_slice(s.kp.as_bytes());
    }
}

/// Decodes content information of either version, detected from the first two bytes (MS-PCCRC §2.3, §2.4).
///
/// Rejects unknown versions and algorithms, counts that overrun the buffer, V1 block sizes other
/// than 65,536, content ranges reaching outside the listed segments, and V1 block lists that are
/// neither the whole segment nor exactly the blocks intersecting the content range (MS-PCCRC
/// §2.3.1.2). Every accepted structure re-encodes byte-identical.
pub fn decode(buf: &[u8]) -> Result<ContentInfo, DecodeError> {
    match buf {
        [0x00, 0x01, ..] => decode_v1(buf),
        [0x00, 0x02, ..] => decode_v2(buf),
        [a, b, ..] => Err(DecodeError::Invalid {
            field: "Version",
            value: u16::from_be_bytes([*a, *b]) as u64,
        }),
        _ => Err(DecodeError::Truncated { field: "Version" }),
    }
}

fn decode_v1(buf: &[u8]) -> Result<ContentInfo, DecodeError> {
    let mut r = Reader::new(buf);
    r.u16_le("Version")?;
    let code = r.u32_le("dwHashAlgo")?;
    // MS-PCCRC §2.3: 0x800C SHA-256, 0x800D SHA-384, 0x800E SHA-512.
    let hash = HashAlgo::from_v1_code(code).ok_or(DecodeError::Invalid {
        field: "dwHashAlgo",
        value: code as u64,
    })?;
    let hn = hash.output_len();
    let digest = |r: &mut Reader<'_>, field: &'static str| -> Result<Digest, DecodeError> {
        // `expect`: `hn` is 32, 48 or 64, the lengths a digest accepts.
        Ok(Digest::from_slice(r.bytes(hn, field)?).expect("hash length of a V1 algorithm"))
    };
    let offset_in_first_segment = r.u32_le("dwOffsetInFirstSegment")?;
    let range_tail = r.u32_le("dwReadBytesInLastSegment")? as u64;
    let c = r.u32_le("cSegments")? as u64;
    let n = bounded("cSegments", c, (r.remaining() / (v1_desc_len(hn) + 4)) as u64)?;
    let mut descs = Vec::with_capacity(n);
    for _ in 0..n {
        let offset = r.u64_le("ullOffsetInContent")?;
        let len = r.u32_le("cbSegment")?;
        let block_size = r.u32_le("cbBlockSize")?;
        if block_size != V1_BLOCK_SIZE {
            return Err(DecodeError::Invalid {
                field: "cbBlockSize",
                value: block_size as u64,
            });
        }
        if len == 0 || len as u64 > V1_MAX_BLOCKS * V1_BLOCK_SIZE as u64 {
            return Err(DecodeError::Invalid {
                field: "cbSegment",
                value: len as u64,
            });
        }
        let hod = digest(&mut r, "SegmentHashOfData")?;
        let kp = digest(&mut r, "SegmentSecret")?;
        descs.push((offset, len, hod, kp));
    }
    let mut info = ContentInfo {
        version: InfoVersion::V1,
        hash,
        first_segment_index: 0,
        offset_in_first_segment,
        range_tail,
        segments: Vec::with_capacity(n),
    };
    for (offset, len, hod, kp) in descs {
        info.segments.push(SegmentDesc {
            offset,
            len,
            block_size: V1_BLOCK_SIZE,
            hod,
            kp,
            block_hashes: Arc::from(Vec::new()),
            first_block: 0,
        });
    }
    for k in 0..n {
        let c = r.u32_le("cBlocks")? as u64;
        let first_block = listed_blocks(&info, k, c)?;
        let kk = bounded("cBlocks", c, (r.remaining() / hn) as u64)?;
        let mut hashes = Vec::with_capacity(kk);
        for _ in 0..kk {
            hashes.push(digest(&mut r, "BlockHash")?);
        }
        info.segments[k].block_hashes = hashes.into();
        info.segments[k].first_block = first_block;
    }
    r.finish()?;
    Ok(info)
}

/// The first listed block of V1 segment `k` whose list holds `listed` hashes (MS-PCCRC §2.3.1.2).
///
/// A list is either the whole segment (Microsoft's own range example, MS-PCCRC §3.3, lists both
/// blocks of a range starting at 100 KB) or exactly the blocks intersecting the content range.
/// The range must start and end inside the listed segments (MS-PCCRC §2.3).
fn listed_blocks(info: &ContentInfo, k: usize, listed: u64) -> Result<u32, DecodeError> {
    let seg = &info.segments[k];
    let total = seg.block_count() as u64;
    if listed > total {
        return Err(DecodeError::BlockList {
            segment: k as u32,
            listed,
            blocks: total,
        });
    }
    let covered = info.covered_in_segment(k);
    if covered.start >= seg.len as u64 {
        return Err(DecodeError::Invalid {
            field: "dwOffsetInFirstSegment",
            value: covered.start,
        });
    }
    if covered.end > seg.len as u64 || covered.end <= covered.start {
        return Err(DecodeError::Invalid {
            field: "dwReadBytesInLastSegment",
            value: info.range_tail,
        });
    }
    let bs = V1_BLOCK_SIZE as u64;
    let first = covered.start / bs;
    let intersecting = covered.end.div_ceil(bs) - first;
    match listed {
        _ if listed == total => Ok(0),
        _ if listed == intersecting => Ok(first as u32),
        _ => Err(DecodeError::BlockList {
            segment: k as u32,
            listed,
            blocks: intersecting,
        }),
    }
}

fn decode_v2(buf: &[u8]) -> Result<ContentInfo, DecodeError> {
    let mut r = Reader::new(buf);
    r.u16_be("Version")?;
    let algo = r.u8("bHashAlgo")?;
    if algo != V2_ALGO {
        return Err(DecodeError::Invalid {
            field: "bHashAlgo",
            value: algo as u64,
        });
    }
    let start = r.u64_be("ullStartInContent")?;
    let first_segment_index = r.u64_be("ullIndexOfFirstSegment")?;
    let offset_in_first_segment = r.u32_be("dwOffsetInFirstSegment")?;
    let range_tail = r.u64_be("ullLengthOfRange")?;
    let mut segments = Vec::new();
    let mut offset = start;
    while r.remaining() > 0 {
        let kind = r.u8("bChunkType")?;
        if kind != 0 {
            return Err(DecodeError::Invalid {
                field: "bChunkType",
                value: kind as u64,
            });
        }
        let len = r.u32_be("dwChunkDataLength")? as u64;
        if !len.is_multiple_of(V2_SEGMENT_DESC_LEN as u64) {
            return Err(DecodeError::Invalid {
                field: "dwChunkDataLength",
                value: len,
            });
        }
        let n = bounded("dwChunkDataLength", len, r.remaining() as u64)? / V2_SEGMENT_DESC_LEN;
        for _ in 0..n {
            let cb = r.u32_be("cbSegment")?;
            if cb == 0 || cb > V2_SEGMENT_MAX {
                return Err(DecodeError::Invalid {
                    field: "cbSegment",
                    value: cb as u64,
                });
            }
            let hod = Digest::from32(r.array("SegmentHashOfData")?);
            let kp = Digest::from32(r.array("SegmentSecret")?);
            segments.push(SegmentDesc {
                offset,
                len: cb,
                block_size: cb,
                hod,
                kp,
                block_hashes: Arc::from(Vec::new()),
                first_block: 0,
            });
            offset = offset.saturating_add(cb as u64);
        }
    }
    let info = ContentInfo {
        version: InfoVersion::V2,
        hash: HashAlgo::Sha512Trunc,
        first_segment_index,
        offset_in_first_segment,
        range_tail,
        segments,
    };
    // MS-PCCRC §2.4: the range starts inside the first listed segment and ends by the last one's end.
    if let Some(first) = info.segments.first() {
        if offset_in_first_segment >= first.len {
            return Err(DecodeError::Invalid {
                field: "dwOffsetInFirstSegment",
                value: offset_in_first_segment as u64,
            });
        }
        if info.byte_range().end > offset {
            return Err(DecodeError::Invalid {
                field: "ullLengthOfRange",
                value: range_tail,
            });
        }
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::content::{compute_info, ContentSpec, DataMode};
    use proptest::prelude::*;

    #[test]
    fn v1_sizes_match_the_spec() {
        // MS-PCCRC §2.3 sizes: 166 B for 125 KB (one segment of two blocks), 64,354 B for 125 MiB.
        let small = compute_info(
            &ContentSpec { id: 1, size: 125_000 },
            InfoVersion::V1,
            DataMode::Modeled,
            b"k",
        );
        assert_eq!(encoded_len(&small), 166);
        let big = compute_info(
            &ContentSpec {
                id: 1,
                size: 125 << 20,
            },
            InfoVersion::V1,
            DataMode::Modeled,
            b"k",
        );
        assert_eq!(encoded_len(&big), 64_354);
        let bytes = encode(&big);
        assert_eq!(bytes.len(), 64_354);
        assert_eq!(&bytes[..6], &[0x00, 0x01, 0x0C, 0x80, 0x00, 0x00]);
        assert_eq!(decode(&bytes), Ok(big));
    }

    #[test]
    fn v2_round_trip_and_size() {
        let info = compute_info(
            &ContentSpec { id: 3, size: 700_000 },
            InfoVersion::V2,
            DataMode::Real,
            b"k",
        );
        let bytes = encode(&info);
        assert_eq!(bytes.len(), encoded_len(&info));
        assert_eq!(bytes.len(), 31 + 5 + 68 * info.segments.len());
        assert_eq!(&bytes[..3], &[0x00, 0x02, 0x04]);
        assert_eq!(decode(&bytes), Ok(info));
    }

    #[test]
    fn rejects_bad_headers() {
        assert!(decode(&[]).is_err());
        assert!(decode(&[0x00, 0x03, 0, 0]).is_err());
        let mut v1 = encode(&compute_info(
            &ContentSpec { id: 1, size: 10 },
            InfoVersion::V1,
            DataMode::Modeled,
            b"k",
        ));
        v1[2] = 0x0F; // no such algorithm
        assert_eq!(
            decode(&v1),
            Err(DecodeError::Invalid {
                field: "dwHashAlgo",
                value: 0x800F
            })
        );
        v1[2] = 0x0D; // SHA-384 with 32-byte hashes: the lengths no longer add up
        assert!(decode(&v1).is_err());
    }

    /// MS-PCCRC §2.3: each V1 algorithm round-trips with its own hash length (32, 48, 64) and
    /// `dwHashAlgo` code, and the sizes follow `18 + S·(16 + 2n) + 4·S + B·n`.
    #[test]
    fn v1_round_trips_for_every_algorithm() {
        use crate::dist::content::compute_info_with;
        for (algo, code, n) in [
            (HashAlgo::Sha256, 0x800Cu32, 32usize),
            (HashAlgo::Sha384, 0x800D, 48),
            (HashAlgo::Sha512, 0x800E, 64),
        ] {
            let spec = ContentSpec { id: 4, size: 200_000 };
            let info = compute_info_with(&spec, InfoVersion::V1, algo, DataMode::Real, b"k");
            let s = &info.segments[0];
            assert_eq!((s.hod.len(), s.kp.len(), s.block_hashes[0].len()), (n, n, n));
            assert!(s.hashes_consistent(algo));
            let bytes = encode(&info);
            assert_eq!(bytes.len(), 18 + (16 + 2 * n) + 4 + 4 * n);
            assert_eq!(bytes.len(), encoded_len(&info));
            assert_eq!(&bytes[2..6], &code.to_le_bytes());
            let back = decode(&bytes).expect("decodes");
            assert_eq!(back, info);
            assert_eq!(encode(&back), bytes);
        }
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = decode(&bytes);
        }

        #[test]
        fn decode_never_panics_on_mutations(size in 1u64..300_000, v2 in any::<bool>(), at in any::<usize>(), x in any::<u8>()) {
            let version = if v2 { InfoVersion::V2 } else { InfoVersion::V1 };
            let info = compute_info(&ContentSpec { id: 5, size }, version, DataMode::Modeled, b"k");
            let mut bytes = encode(&info);
            prop_assert_eq!(decode(&bytes), Ok(info));
            let i = at % bytes.len();
            bytes[i] ^= x;
            let _ = decode(&bytes);
            bytes.truncate(i);
            let _ = decode(&bytes);
        }
    }
}
