//! The receive pipeline (MS-PNRP §3.1.5.2): source-port check, syntax checks, answer matching
//! against the Pending List, AUTHORITY reassembly and dispatch (MS-PNRP §3.1.5.6).

use super::message::{Ack, Authority, Message, RouteEntry, ENDPOINT_LIST_MAX, ROUTE_ENTRY_MAX_ADDRS};
use super::node::PnrpNode;
use super::pending::{PendingEntry, Purpose};
use super::reassembly::Fragment;
use super::wire;
use crate::{Endpoint, Instant};

/// MS-PNRP §3.1.5.2: a route entry is usable when its port is above 1024 and it has 1..=20 addresses.
pub(super) fn route_entry_ok(r: &RouteEntry) -> bool {
    r.port > 1024 && !r.addrs.is_empty() && r.addrs.len() <= ROUTE_ENTRY_MAX_ADDRS
}

/// MS-PNRP §3.1.5.2: the semantic part of the syntax check (counts and ranges) for typed messages.
fn syntax_error(msg: &Message) -> Option<&'static str> {
    let bad_entry = |r: &Option<RouteEntry>| r.as_ref().is_some_and(|r| !route_entry_ok(r));
    let bad_list = |l: &[Endpoint]| l.len() > ENDPOINT_LIST_MAX || l.iter().any(|e| e.port <= 1024);
    match msg {
        Message::Solicit(s) if bad_entry(&s.route_entry) => Some("bad_route_entry"),
        Message::Advertise(a) if a.ids.len() > 0x7FFF => Some("bad_array"),
        Message::Request(r) if r.ids.len() > 0x7FFF => Some("bad_array"),
        Message::Flood(f) if bad_entry(&f.route_entry) => Some("bad_route_entry"),
        Message::Flood(f) if bad_list(&f.already_flooded) => Some("bad_endpoint_list"),
        Message::Lookup(l) if bad_entry(&l.best_match) => Some("bad_route_entry"),
        Message::Lookup(l) if l.flagged_path.is_empty() || bad_list(&l.flagged_path) => {
            Some("bad_endpoint_list")
        }
        _ => None,
    }
}

impl PnrpNode {
    /// MS-PNRP §3.1.5.2: every datagram enters here.
    pub(super) fn receive(&mut self, now: Instant, from: Endpoint, msg: Message) {
        self.stats.received(msg.kind(), msg.encoded_len());
        // MS-PNRP §3.1.5.2: datagrams from privileged source ports are dropped.
        if from.port <= 1024 {
            self.stats.drop("source_port");
            return;
        }
        if let Some(reason) = syntax_error(&msg) {
            self.stats.drop(reason);
            return;
        }
        let is_answer = matches!(
            msg,
            Message::Advertise(_) | Message::Ack(_) | Message::Authority(_)
        );
        if self.left && !is_answer {
            self.stats.drop("closed");
            return;
        }
        // MS-PNRP §3.1.5.2: no cloud owns the endpoint any more (lifecycle.rs).
        if self.life.closed {
            self.stats.drop("cloud_closed");
            return;
        }
        match msg {
            Message::Solicit(s) => self.on_solicit(now, from, *s),
            Message::Advertise(a) => self.on_advertise(now, from, *a),
            Message::Request(r) => self.on_request(now, from, *r),
            Message::Flood(f) => self.on_flood(now, from, *f),
            Message::Inquire(i) => self.on_inquire(now, from, *i),
            Message::Authority(a) => self.on_authority(now, from, *a),
            Message::Ack(a) => self.on_ack(now, from, a),
            Message::Lookup(l) => self.on_lookup(now, from, *l),
        }
    }

    /// MS-PNRP §3.1.5.2: an answer must match a pending request of an allowed purpose and, by
    /// (peerlab choice), come from the endpoint the request went to.
    pub(super) fn match_answer(
        &mut self,
        acked_id: u32,
        from: Endpoint,
        allowed: impl Fn(&Purpose) -> bool,
    ) -> Option<&PendingEntry> {
        let Some(e) = self.pending.get(acked_id) else {
            self.stats.drop("unmatched_answer");
            return None;
        };
        if !allowed(&e.purpose) {
            self.stats.drop("answer_type_mismatch");
            return None;
        }
        if self.cfg.require_answer_from_request_endpoint && e.to != from {
            self.stats.drop("answer_wrong_source");
            return None;
        }
        self.pending.get(acked_id)
    }

    /// MS-PNRP §3.1.5.6: reassemble, decode, then hand the buffer to its owner.
    fn on_authority(&mut self, now: Instant, from: Endpoint, a: Authority) {
        let ok = |p: &Purpose| {
            matches!(
                p,
                Purpose::Lookup { .. } | Purpose::ResolveInquire { .. } | Purpose::AdmitInquire { .. }
            )
        };
        if self.match_answer(a.acked_id, from, ok).is_none() {
            return;
        }
        let bytes = match self.reassembly.add(from, &a) {
            Fragment::Complete(b) => b,
            Fragment::Partial => return,
            Fragment::Dropped(reason) => {
                self.stats.drop(reason);
                return;
            }
        };
        if a.size as usize > a.fragment.len() {
            self.stats.reassembled_buffers += 1;
        }
        let buf = match wire::decode_authority_buffer(&bytes) {
            Ok(b) => b,
            Err(e) => {
                // The pending entry stays: a well-formed retransmitted answer may still come (MS-PNRP
                // §3.1.5.2).
                self.stats.drop(e.reason());
                return;
            }
        };
        let Some(entry) = self.pending.remove(a.acked_id) else {
            return;
        };
        match entry.purpose {
            Purpose::Lookup { resolve } => self.on_lookup_answer(now, resolve, entry.to, buf),
            Purpose::ResolveInquire { resolve, nonce } => {
                self.on_final_inquire_answer(now, resolve, nonce, buf)
            }
            Purpose::AdmitInquire { id } => self.on_admit_answer(now, id, a.acked_id, buf),
            _ => {}
        }
    }

    /// MS-PNRP §3.1.5.4: ACKs clear REQUEST/FLOOD entries; N on a FLOOD's ACK evicts its Validate ID.
    fn on_ack(&mut self, now: Instant, from: Endpoint, a: Ack) {
        let ok = |p: &Purpose| matches!(p, Purpose::Request | Purpose::Flood { .. });
        if self.match_answer(a.acked_id, from, ok).is_none() {
            return;
        }
        let Some(entry) = self.pending.remove(a.acked_id) else {
            return;
        };
        if let Purpose::Flood { validate } = entry.purpose {
            if validate != super::id::PnrpId::ZERO {
                if a.not_registered == Some(true) {
                    self.drop_entry(now, validate, "n_flag");
                } else {
                    // The destination still holds `validate`: its liveness probe can wait.
                    self.cache.confirm(&validate, now);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pnrp::id::PnrpId;
    use crate::pnrp::message::{Lookup, ReasonCode, ResolveCriteria};
    use std::net::Ipv6Addr;

    #[test]
    fn syntax_checks_catch_bad_counts_and_ports() {
        let ep = Endpoint::new(Ipv6Addr::LOCALHOST, 4000);
        let mut l = Lookup {
            message_id: 1,
            accept_any: false,
            precision: 0,
            criteria: ResolveCriteria::Exact,
            reason: ReasonCode::AppRequest,
            target: PnrpId::ZERO,
            validate_id: PnrpId::ZERO,
            best_match: None,
            flagged_path: vec![ep],
        };
        assert_eq!(syntax_error(&Message::Lookup(Box::new(l.clone()))), None);
        l.flagged_path.clear();
        assert_eq!(
            syntax_error(&Message::Lookup(Box::new(l.clone()))),
            Some("bad_endpoint_list")
        );
        l.flagged_path = vec![ep; 23];
        assert_eq!(
            syntax_error(&Message::Lookup(Box::new(l.clone()))),
            Some("bad_endpoint_list")
        );
        l.flagged_path = vec![ep];
        l.best_match = Some(RouteEntry::single(
            PnrpId::ZERO,
            Endpoint::new(Ipv6Addr::LOCALHOST, 80),
        ));
        assert_eq!(
            syntax_error(&Message::Lookup(Box::new(l))),
            Some("bad_route_entry")
        );
    }
}
