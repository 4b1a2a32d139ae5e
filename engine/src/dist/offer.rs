//! Hosted-cache offers of the branch peer, the MS-PCHC client (MS-PCHC §3.2).

use super::cache::SegmentMeta;
use super::config::Mode;
use super::content::{ContentInfo, InfoVersion};
use super::message::DistMessage;
use super::pchc::{BatchedSegment, PchcBody, PchcMessage, ResponseCode, CONTENT_TAG_LEN};
use super::peer::{BranchPeer, PendingOffer, Timer};
use crate::{Endpoint, Instant, RequestId};
use std::sync::Arc;

/// The ContentTag this client's offers carry (MS-PCHC §2.2.1.4: 16 opaque bytes from the
/// application; Windows uses e.g. "WinINet" or "BITS-4.0").
const CONTENT_TAG: [u8; CONTENT_TAG_LEN] = *b"peerlab-dist-v1\0";

impl BranchPeer {
    /// Offers a segment to the hosted cache at each `1/offer_steps` of its units held (MS-PCHC §3.2.4 \[W\]).
    pub(crate) fn maybe_offer(&mut self, now: Instant, fid: RequestId, seg: u32, meta: &Arc<SegmentMeta>) {
        let (Mode::Hosted, Some(hc)) = (self.cfg.mode, self.hosted) else {
            return;
        };
        let held = self.cache.held(&meta.id, now).map_or(0, |h| h.0);
        let steps = self.cfg.offer_steps.max(1);
        let step = held * steps / meta.desc.unit_count().max(1);
        let Some(f) = self.fetches.get_mut(&fid) else {
            return;
        };
        let offered = f.offered.entry(seg).or_insert(0);
        if step <= *offered {
            return;
        }
        *offered = step;
        let xid = self.fresh_id();
        self.offers.push_back(PendingOffer {
            xid,
            meta: meta.clone(),
            info_sent: false,
        });
        self.stats.offers_sent += 1;
        // V1 content: INITIAL_OFFER, then SEGMENT_INFO if asked (MS-PCHC §2.2.1.3, §2.2.1.4). V2
        // content: BATCHED_OFFER (MS-PCHC §2.2.1.5), a version 2.0 message; SEGMENT_INFO is V1 only.
        let (major, body) = if meta.desc.block_hashes.is_empty() {
            let d = &meta.desc;
            let segment = BatchedSegment {
                block_size: d.block_size,
                segment_size: d.len,
                content_tag: CONTENT_TAG,
                hash_algo: 4,
                segment: meta.id,
            };
            (
                2,
                PchcBody::BatchedOffer {
                    segments: vec![segment],
                },
            )
        } else {
            (1, PchcBody::InitialOffer { segment: meta.id })
        };
        self.send(
            hc,
            DistMessage::Pchc(Arc::new(PchcMessage::Request {
                major,
                port: self.me.port,
                body,
            })),
        );
        self.arm(now + self.cfg.pchc_request_timer, Timer::Offer { xid });
    }

    pub(crate) fn on_pchc(&mut self, now: Instant, from: Endpoint, msg: &PchcMessage) {
        let PchcMessage::Response(code) = msg else {
            return self.stats.dropped += 1;
        };
        // PCHC runs over one ordered connection: answers come in request order (MS-PCHC §2.1).
        if Some(from) != self.hosted {
            return self.stats.dropped += 1;
        }
        let Some(offer) = self.offers.pop_front() else {
            return self.stats.dropped += 1;
        };
        let v2 = offer.meta.desc.block_hashes.is_empty();
        if *code == ResponseCode::Interested && !offer.info_sent && !v2 {
            self.stats.offers_interested += 1;
            let d = &offer.meta.desc;
            let info = ContentInfo {
                version: InfoVersion::V1,
                hash: offer.meta.algo,
                first_segment_index: 0,
                offset_in_first_segment: 0,
                range_tail: d.len as u64,
                segments: vec![d.clone()],
            };
            let body = PchcBody::SegmentInfo {
                content_tag: CONTENT_TAG,
                info: Arc::new(info),
            };
            let xid = self.fresh_id();
            self.offers.push_back(PendingOffer {
                xid,
                meta: offer.meta,
                info_sent: true,
            });
            self.send(
                from,
                DistMessage::Pchc(Arc::new(PchcMessage::Request {
                    major: 1,
                    port: self.me.port,
                    body,
                })),
            );
            self.arm(now + self.cfg.pchc_request_timer, Timer::Offer { xid });
        }
    }
}
