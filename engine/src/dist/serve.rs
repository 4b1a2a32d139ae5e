//! The PCCRR server role shared by branch peers and the hosted cache (MS-PCCRR §3.2).

use super::cache::SegmentCache;
use super::crypt;
use super::pccrr::{ranges_of, BlockBody, CryptoAlgo, PccrrBody, PccrrMessage, ProtoVersion, RANGES_MAX};
use crate::{Duration, Instant, NodeRng};
use rand::RngCore;

/// Server-role counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServeStats {
    /// Requests answered (any kind).
    pub requests: u64,
    /// Blocks served (non-empty MSG_BLK).
    pub blocks_served: u64,
    /// Plaintext bytes of the blocks served (upload per peer).
    pub bytes_served: u64,
    /// Empty answers because every upload slot was taken (MS-PCCRR §3.2.1 Active Client Count).
    pub busy_replies: u64,
    /// Empty MSG_BLK because the block is not held.
    pub missing_replies: u64,
    /// NEGO_RESP sent (MS-PCCRR §3.2: an unsupported version).
    pub nego_replies: u64,
    /// Corrupted blocks served deliberately (attacker role).
    pub corrupt_served: u64,
}

/// Answers GETBLKLIST/GETBLKS/GETSEGLIST/NEGO_REQ from a segment cache (MS-PCCRR §3.2).
///
/// [SIM] The Active Client Count (MS-PCCRR §3.2.1) needs to know when a response has left; the engine gets no
/// such signal, so a slot is held for the response's size divided by the configured upload rate,
/// capped at the upload timer (15 s), the longest an exchange may live.
#[derive(Debug)]
pub struct Responder {
    slots: Vec<Instant>,
    uploads_max: usize,
    rate: u64,
    upload_timer: Duration,
    crypto: CryptoAlgo,
    max_major: u16,
    /// When set, every block is served corrupted (the `corrupt-blocks` attacker of scenarios/README.md).
    pub corrupt: bool,
    /// Counters.
    pub stats: ServeStats,
}

impl Responder {
    /// A responder with `uploads_max` slots, speaking PCCRR up to major version `max_major`.
    pub fn new(
        uploads_max: usize,
        rate: u64,
        upload_timer: Duration,
        crypto: CryptoAlgo,
        max_major: u16,
    ) -> Self {
        Responder {
            slots: Vec::new(),
            uploads_max,
            rate: rate.max(1),
            upload_timer,
            crypto,
            max_major,
            corrupt: false,
            stats: ServeStats::default(),
        }
    }
    /// Upload slots in use at `now`.
    pub fn active(&mut self, now: Instant) -> usize {
        self.slots.retain(|t| *t > now);
        self.slots.len()
    }
    /// Answers one request; `None` for messages a server does not answer (responses).
    pub fn handle(
        &mut self,
        now: Instant,
        cache: &mut SegmentCache,
        rng: &mut NodeRng,
        req: &PccrrMessage,
    ) -> Option<PccrrMessage> {
        if req.body.is_response() {
            return None;
        }
        self.stats.requests += 1;
        let nego = PccrrBody::NegoResp {
            min: ProtoVersion::V1_0,
            max: ProtoVersion {
                major: self.max_major,
                minor: 0,
            },
        };
        // MS-PCHC §3.1.5.3: a hosted cache pulling a V2 segment it knows only by HoHoDk has no Kp
        // and asks without encryption; a segment held without Kp is likewise served in the clear
        // (the requester verifies against the HoD of its own content information).
        let unkeyed = match &req.body {
            PccrrBody::GetBlks { segment, .. } => cache.peek(segment, now).is_some_and(|s| !s.meta.keyed),
            _ => false,
        };
        let crypto = if req.crypto == CryptoAlgo::None || unkeyed {
            CryptoAlgo::None
        } else {
            self.crypto
        };
        let reply = |body| {
            Some(PccrrMessage {
                version: ProtoVersion::V1_0,
                crypto,
                body,
            })
        };
        let needs = if matches!(req.body, PccrrBody::GetSegList { .. }) {
            2
        } else {
            1
        };
        if matches!(req.body, PccrrBody::NegoReq { .. })
            || req.version.major > self.max_major
            || needs > self.max_major
        {
            self.stats.nego_replies += 1;
            return reply(nego);
        }
        let busy = self.active(now) >= self.uploads_max;
        if busy {
            self.stats.busy_replies += 1;
        }
        let body = match &req.body {
            PccrrBody::GetBlkList { segment, ranges } => {
                let held: Vec<u32> = match cache.peek(segment, now) {
                    Some(s) if !busy => {
                        // Only the listed blocks can be verified (MS-PCCRC §2.3.1.2).
                        let l = s.meta.desc.listed_units();
                        ranges
                            .iter()
                            .take(RANGES_MAX)
                            .flat_map(|r| {
                                r.index.clamp(l.start, l.end)
                                    ..r.index.saturating_add(r.count).clamp(l.start, l.end)
                            })
                            .filter(|b| s.units.contains_key(b))
                            .collect()
                    }
                    _ => Vec::new(),
                };
                let mut held = held;
                held.sort_unstable();
                held.dedup();
                PccrrBody::BlkList {
                    segment: *segment,
                    ranges: ranges_of(held),
                    next_block_index: 0,
                }
            }
            PccrrBody::GetBlks { segment, range } => {
                let block_index = range.index;
                let unit = if busy {
                    None
                } else {
                    cache.unit(segment, block_index, now)
                };
                let kp = cache.peek(segment, now).map(|s| s.meta.desc.kp);
                match (unit, kp) {
                    (Some(unit), Some(kp)) => {
                        let unit = if self.corrupt {
                            self.stats.corrupt_served += 1;
                            unit.corrupted()
                        } else {
                            unit
                        };
                        let mut iv = [0u8; 16];
                        rng.fill_bytes(&mut iv);
                        let body: BlockBody = crypt::seal(crypto, &kp, &iv, &unit);
                        self.stats.blocks_served += 1;
                        self.stats.bytes_served += unit.len() as u64;
                        let iv = (crypto != CryptoAlgo::None).then_some(iv);
                        PccrrBody::Blk {
                            segment: *segment,
                            block_index,
                            next_block_index: 0,
                            body: Some(body),
                            iv,
                        }
                    }
                    _ => {
                        if !busy {
                            self.stats.missing_replies += 1;
                        }
                        PccrrBody::Blk {
                            segment: *segment,
                            block_index,
                            next_block_index: 0,
                            body: None,
                            iv: None,
                        }
                    }
                }
            }
            PccrrBody::GetSegList {
                request_id, segments, ..
            } => {
                let held: Vec<u32> = if busy {
                    Vec::new()
                } else {
                    (0..segments.len() as u32)
                        .filter(|&i| cache.held(&segments[i as usize], now).is_some())
                        .collect()
                };
                // Segment ages (MS-PCCRR §2.2.6) are a freshness hint we do not model: empty blob.
                PccrrBody::SegList {
                    request_id: *request_id,
                    ranges: ranges_of(held),
                    blob: Vec::new(),
                }
            }
            _ => return None,
        };
        let resp = PccrrMessage {
            version: req.version,
            crypto,
            body,
        };
        if !busy {
            let hold = Duration::from_micros(resp.wire_len() as u64 * 1_000_000 / self.rate);
            self.slots.push(now + hold.min(self.upload_timer));
        }
        Some(resp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::cache::SegmentMeta;
    use crate::dist::content::{compute_info, unit_data, ContentSpec, DataMode, InfoVersion};
    use crate::dist::pccrr::BlockRange;
    use rand::SeedableRng;

    #[test]
    fn serves_held_blocks_and_goes_empty_when_saturated() {
        let spec = ContentSpec {
            id: 4,
            size: 5 * 65_536,
        };
        let info = compute_info(&spec, InfoVersion::V1, DataMode::Real, b"k");
        let meta = SegmentMeta::new(info.algo(), info.segments[0].clone());
        let mut cache = SegmentCache::new(u64::MAX, Duration::MAX);
        let t0 = Instant::ZERO;
        for b in [0, 1, 3] {
            assert!(cache.add(
                &meta,
                b,
                unit_data(&spec, &info, DataMode::Real, 0, b).expect("unit"),
                t0
            ));
        }
        let mut rng = NodeRng::seed_from_u64(1);
        let mut r = Responder::new(1, 1_000_000, Duration::from_secs(15), CryptoAlgo::Aes128, 1);
        let req = |body| PccrrMessage {
            version: ProtoVersion::V1_0,
            crypto: CryptoAlgo::None,
            body,
        };
        let list = r.handle(
            t0,
            &mut cache,
            &mut rng,
            &req(PccrrBody::GetBlkList {
                segment: meta.id,
                ranges: vec![BlockRange { index: 0, count: 5 }],
            }),
        );
        let want = vec![
            BlockRange { index: 0, count: 2 },
            BlockRange { index: 3, count: 1 },
        ];
        assert!(matches!(list.map(|m| m.body), Some(PccrrBody::BlkList { ranges, .. }) if ranges == want));
        // One slot, held ~100 µs by the 100-byte answer at 1 MB/s: the next request gets an empty BLK.
        let get = req(PccrrBody::GetBlks {
            segment: meta.id,
            range: BlockRange { index: 1, count: 1 },
        });
        let busy = r.handle(t0, &mut cache, &mut rng, &get).expect("answer");
        assert!(matches!(busy.body, PccrrBody::Blk { body: None, .. }));
        assert_eq!(r.stats.busy_replies, 1);
        let later = Instant::from_micros(1_000_000);
        let ok = r.handle(later, &mut cache, &mut rng, &get).expect("answer");
        let PccrrBody::Blk {
            body: Some(body), iv, ..
        } = &ok.body
        else {
            panic!("expected a block")
        };
        let plain = crypt::open(ok.crypto, &meta.desc.kp, iv.as_ref(), body, 65_536).expect("decrypts");
        assert!(meta.verify(1, &plain));
        let missing = req(PccrrBody::GetBlks {
            segment: meta.id,
            range: BlockRange { index: 2, count: 1 },
        });
        let later = Instant::from_micros(30_000_000);
        assert!(matches!(
            r.handle(later, &mut cache, &mut rng, &missing).map(|m| m.body),
            Some(PccrrBody::Blk { body: None, .. })
        ));
        // Unsupported major version: NEGO_RESP.
        let v9 = PccrrMessage {
            version: ProtoVersion { major: 9, minor: 0 },
            ..get
        };
        assert!(matches!(
            r.handle(later, &mut cache, &mut rng, &v9).map(|m| m.body),
            Some(PccrrBody::NegoResp { .. })
        ));
    }
}
