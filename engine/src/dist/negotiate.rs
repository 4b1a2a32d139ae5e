//! Version negotiation and the version 2.0 exchange of the PCCRR client: a MSG_NEGO_RESP makes
//! the client resend with the highest common version (MS-PCCRR §3.1.5.1), and a V2 client of a
//! hosted cache asks which segments it holds with MSG_GETSEGLIST (MS-PCCRR §3.1.4.4).

use super::hash::SegmentId;
use super::pccrr::{ranges_of, BlockRange, PccrrBody, ProtoVersion, RANGES_MAX};
use super::peer::BranchPeer;
use super::session::{OutKind, SessKey};
use crate::{Endpoint, Instant};

/// The RequestID of a GETSEGLIST sent as request `xid`.
pub(crate) fn seglist_id(xid: u64) -> [u8; 16] {
    (xid as u128).to_be_bytes()
}

/// Protocol versions this client speaks (MS-PCCRR §2.2.3: 1.0; 2.0 only adds GETSEGLIST).
const CLIENT_VERSIONS: (u16, u16) = (1, 2);

/// The highest major version both sides support, if any (MS-PCCRR §3.1.5.1: minor versions do not
/// matter).
pub(crate) fn common_major(min: ProtoVersion, max: ProtoVersion, ours: (u16, u16)) -> Option<u16> {
    let hi = max.major.min(ours.1);
    (hi >= min.major.max(ours.0)).then_some(hi)
}

impl BranchPeer {
    /// MSG_GETSEGLIST for the session's segment; its RequestID is the request's id (MS-PCCRR
    /// §2.2.4.4: unique among our outstanding GETSEGLISTs).
    pub(crate) fn send_seglist(
        &mut self,
        now: Instant,
        key: SessKey,
        addr: Endpoint,
        version: ProtoVersion,
        again: bool,
    ) {
        let Some(s) = self.sessions.get(&key) else { return };
        let body = PccrrBody::GetSegList {
            request_id: [0; 16],
            segments: vec![s.meta.id],
            blob: Vec::new(),
        };
        self.request_as(now, key, addr, OutKind::SegList, body, version, again);
    }

    /// MSG_SEGLIST: the answer to our GETSEGLIST with this RequestID. Its SEGMENT_RANGEs index
    /// the request's one-ID array: the hosted cache holds the segment when they cover index 0;
    /// otherwise the segment comes from the origin (MS-PCCRR §3.1.5.3).
    pub(crate) fn on_seglist(
        &mut self,
        now: Instant,
        from: Endpoint,
        request_id: &[u8; 16],
        ranges: &[BlockRange],
    ) {
        let found = self
            .outstanding
            .iter()
            .find(|(k, o)| k.0 == from && o.kind == OutKind::SegList && seglist_id(o.xid) == *request_id)
            .map(|(k, o)| (*k, *o));
        let Some((okey, o)) = found else {
            return self.stats.dropped += 1;
        };
        // Ranges past the one ID we asked about are malformed for this request.
        if ranges.iter().any(|r| r.index.saturating_add(r.count) > 1) {
            return self.stats.dropped += 1;
        }
        self.outstanding.remove(&okey);
        if ranges.iter().any(|r| r.contains(0)) {
            self.add_server(now, o.key, from);
        } else {
            self.abort_session(now, o.key);
        }
    }

    /// MSG_NEGO_RESP to one of our requests (MS-PCCRR §3.1.5.1): resend it with the highest
    /// major version both sides speak; with none in common, or a second NEGO_RESP to the resent
    /// request, abort with that server.
    pub(crate) fn on_nego_resp(
        &mut self,
        now: Instant,
        from: Endpoint,
        min: ProtoVersion,
        max: ProtoVersion,
    ) {
        // The response names no segment: it answers our (only) outstanding request to `from` that
        // is not already renegotiated, the oldest first.
        let found = self
            .outstanding
            .range((from, SegmentId::default())..)
            .take_while(|(k, _)| k.0 == from)
            .min_by_key(|(_, o)| (o.renegotiated, o.xid))
            .map(|(k, o)| (*k, *o));
        let Some((okey, o)) = found else {
            return self.stats.dropped += 1;
        };
        self.outstanding.remove(&okey);
        self.stats.nego_responses += 1;
        let common = common_major(min, max, CLIENT_VERSIONS);
        // Resending with the version the server just refused would only loop.
        let resend = common
            .filter(|m| !o.renegotiated && *m != o.version.major)
            .and_then(|major| {
                let s = self.sessions.get(&o.key)?;
                let body = match o.kind {
                    OutKind::List => PccrrBody::GetBlkList {
                        segment: s.meta.id,
                        ranges: ranges_of(s.wanted()).into_iter().take(RANGES_MAX).collect(),
                    },
                    OutKind::Block(b) => PccrrBody::GetBlks {
                        segment: s.meta.id,
                        range: BlockRange { index: b, count: 1 },
                    },
                    OutKind::SegList => PccrrBody::GetSegList {
                        request_id: [0; 16],
                        segments: vec![s.meta.id],
                        blob: Vec::new(),
                    },
                };
                Some((major, body))
            });
        match resend {
            Some((major, body)) => {
                let version = ProtoVersion { major, minor: 0 };
                self.request_as(now, o.key, from, o.kind, body, version, true);
            }
            None => {
                self.release_block(o);
                self.drop_server(o.key, from, true);
                self.schedule(now, o.key);
            }
        }
    }
}
