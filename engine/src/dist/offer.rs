//! Hosted-cache offers of the branch peer, the MS-PCHC client (distribution.md §7.3).

use super::cache::SegmentMeta;
use super::config::Mode;
use super::content::{ContentInfo, InfoVersion};
use super::message::DistMessage;
use super::pchc::{PchcBody, PchcMessage, ResponseCode};
use super::peer::{BranchPeer, PendingOffer, Timer};
use crate::{Endpoint, Instant, RequestId};
use std::sync::Arc;

impl BranchPeer {
    /// Offers a segment to the hosted cache at each `1/offer_steps` of its units held (§7.3 \[W\]).
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
        let body = PchcBody::InitialOffer { segment: meta.id };
        self.send(
            hc,
            DistMessage::Pchc(Arc::new(PchcMessage::Request {
                major: 1,
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
        // PCHC runs over one ordered connection: answers come in request order (§7.1).
        if Some(from) != self.hosted {
            return self.stats.dropped += 1;
        }
        let Some(offer) = self.offers.pop_front() else {
            return self.stats.dropped += 1;
        };
        if *code == ResponseCode::Interested && !offer.info_sent {
            self.stats.offers_interested += 1;
            let d = &offer.meta.desc;
            let version = if d.block_hashes.is_empty() {
                InfoVersion::V2
            } else {
                InfoVersion::V1
            };
            let info = ContentInfo {
                version,
                first_segment_index: 0,
                offset_in_first_segment: 0,
                range_tail: d.len as u64,
                segments: vec![d.clone()],
            };
            let body = PchcBody::SegmentInfo {
                content_tag: *b"peerlab-dist-v1\0",
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
