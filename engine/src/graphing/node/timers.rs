//! Time-driven upkeep of the database and the clock: the expiration scan and the autorefresh of
//! this node's own records (MS-PPGRH §3.1.6.7-8, §3.1.7.18-22), peer-time adjustment
//! (MS-PPGRH §3.1.5.2.2) and the authentication timer (MS-PPGRH §3.1.2).

use super::GraphNode;
use crate::graphing::rules::validate::{update_record, RecordContent};
use crate::graphing::rules::{peer_time, schedule};
use crate::graphing::{GraphEvent, PeerTime};
use crate::{Duration, Instant};

impl GraphNode {
    /// The expiration scan (MS-PPGRH §3.1.6.7): removes every record whose expiration has passed
    /// and re-arms itself for the next one.
    pub(super) fn expiry_scan(&mut self, now: Instant) {
        let pt = self.peer_time(now);
        for id in self.db.expired(pt) {
            let Some(r) = self.db.remove(&id) else { continue };
            self.stats.expired += 1;
            if !r.is_internal() {
                self.emit(GraphEvent::RecordExpired { id });
            }
            self.after_expiry(now, &r);
        }
        self.timers.expiry = self
            .db
            .next_expiry()
            .map(|e| now + schedule::expiry_delay(e.since(pt)));
    }

    /// A record expiring at `expires` was stored: bring the scan forward if it would run more than
    /// 15 s late (MS-PPGRH §3.1.7.18).
    pub(super) fn schedule_expiry(&mut self, now: Instant, expires: PeerTime) {
        let at = self.instant_at(now, expires);
        if schedule::reschedule(self.timers.expiry, at, schedule::EXPIRY_SLACK) {
            self.timers.expiry = Some(at);
        }
    }

    /// The autorefresh timer (MS-PPGRH §3.1.7.22): every own record due within the look-ahead is
    /// updated with its lifetime kept, then the timer is re-armed for the next one.
    pub(super) fn autorefresh(&mut self, now: Instant) {
        let pt = self.peer_time(now);
        let due: Vec<_> = self
            .internal
            .refreshing
            .iter()
            .filter_map(|id| self.db.get(id))
            .filter(|r| !r.deleted && schedule::refresh_due(r.expires, pt))
            .cloned()
            .collect();
        for old in due {
            let content = RecordContent {
                payload: old.payload.clone(),
                attributes: old.attributes.clone(),
                expires: schedule::refreshed_expiry(old.created, old.modified, old.expires, pt),
            };
            if let Ok(mut fresh) = update_record(&old, content, &self.cfg.peer_id, pt) {
                fresh.autorefresh = true;
                self.stats.refreshes += 1;
                let _ = self.publish(now, fresh);
            }
        }
        let next = self
            .internal
            .refreshing
            .iter()
            .filter_map(|id| self.db.get(id))
            .map(|r| r.expires)
            .min();
        self.timers.autorefresh = next.map(|e| now + schedule::autorefresh_delay(e.since(pt)));
    }

    /// One of this node's autorefreshed records expires at `expires`: bring the autorefresh
    /// timer forward if needed (MS-PPGRH §3.1.7.22).
    pub(super) fn schedule_autorefresh(&mut self, now: Instant, expires: PeerTime) {
        let pt = self.peer_time(now);
        let at = now + schedule::autorefresh_delay(expires.since(pt));
        if self.timers.autorefresh.is_none_or(|t| t > at) {
            self.timers.autorefresh = Some(at);
        }
    }

    /// Peer-time adjustment on WELCOME (MS-PPGRH §3.1.5.2.2): the initiator folds the
    /// responder's time, corrected by half the round trip, into its delta.
    pub(super) fn adjust_peer_time(&mut self, now: Instant, remote: PeerTime, t_connect: PeerTime) {
        let sample = peer_time::Sample {
            local_utc: self.clock.utc(now),
            local_peer_time: self.peer_time(now),
            remote,
            t_connect,
        };
        match peer_time::adjust(self.ptd_set.then_some(self.ptd), &sample) {
            Some(ptd) => {
                self.ptd = ptd;
                self.ptd_set = true;
            }
            None => self.stats.peer_time_rejected += 1,
        }
    }

    /// The authentication timer for a new connection (MS-PPGRH §3.1.2): shorter the more
    /// connections the node has.
    pub(super) fn auth_timeout(&self) -> Duration {
        peer_time::auth_timeout(self.conns.len())
    }
}
