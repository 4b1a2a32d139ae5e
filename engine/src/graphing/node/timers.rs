//! Time-driven upkeep of the database and the clock: the expiration scan and the autorefresh of
//! this node's own records (MS-PPGRH §3.1.6.7-8, §3.1.7.18-22), peer-time adjustment
//! (MS-PPGRH §3.1.5.2.2) and the authentication timer (MS-PPGRH §3.1.2).

use super::GraphNode;
use crate::graphing::rules::peer_time::{SampleOutcome, WelcomeSample};
use crate::graphing::rules::timers::{
    auth_timeout, autorefresh_reschedule, autorefresh_update, expiry_delay, expiry_reschedule,
    next_autorefresh_delay,
};
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
        self.timers.expiry = Some(now + expiry_delay(self.db.next_expiry(), pt));
    }

    /// A record expiring at `expires` was stored: bring the scan forward if it would run more than
    /// 15 s late (MS-PPGRH §3.1.7.3, §3.1.7.10).
    pub(super) fn schedule_expiry(&mut self, now: Instant, expires: PeerTime) {
        let remaining = self.timers.expiry.map(|t| t.saturating_since(now));
        if let Some(d) = expiry_reschedule(expires, self.peer_time(now), remaining) {
            self.timers.expiry = Some(now + d);
        }
    }

    /// The autorefresh timer (MS-PPGRH §3.1.7.22): every own record due within the look-ahead is
    /// updated with its lifetime kept, then the timer is re-armed for the next one.
    pub(super) fn autorefresh(&mut self, now: Instant) {
        let pt = self.peer_time(now);
        let fresh: Vec<_> = self
            .internal
            .refreshing
            .iter()
            .filter_map(|id| self.db.get(id))
            .filter_map(|r| autorefresh_update(r, &self.cfg.peer_id, pt))
            .collect();
        for r in fresh {
            self.stats.refreshes += 1;
            // The provider signed the original; a veto leaves the record to expire.
            let _ = self.publish(now, r);
        }
        let expirations: Vec<PeerTime> = self
            .internal
            .refreshing
            .iter()
            .filter_map(|id| self.db.get(id))
            .map(|r| r.expires)
            .collect();
        self.timers.autorefresh =
            next_autorefresh_delay(expirations, pt, self.cfg.autorefresh_at).map(|d| now + d);
    }

    /// One of this node's autorefreshed records expires at `expires`: bring the autorefresh
    /// timer forward if needed (MS-PPGRH §3.1.7.3).
    pub(super) fn schedule_autorefresh(&mut self, now: Instant, expires: PeerTime) {
        let remaining = self.timers.autorefresh.map(|t| t.saturating_since(now));
        let pt = self.peer_time(now);
        if let Some(d) = autorefresh_reschedule(expires, pt, remaining, self.cfg.autorefresh_at) {
            self.timers.autorefresh = Some(now + d);
        }
    }

    /// Peer-time adjustment on WELCOME (MS-PPGRH §3.1.5.2.2): the initiator folds the
    /// responder's time, corrected by half the round trip, into its delta.
    pub(super) fn adjust_peer_time(&mut self, now: Instant, remote: PeerTime, t_connect: PeerTime) {
        let sample = WelcomeSample {
            remote,
            t_connect,
            t_welcome: self.peer_time(now),
            local_utc: self.clock.utc(now),
            first_neighbor: self.neighbor_conns().len() == 1,
            never_connected: self.never_connected,
        };
        if self.ptd.on_welcome(&sample, self.cfg.peer_time_gate) == SampleOutcome::Rejected {
            self.stats.peer_time_rejected += 1;
        }
    }

    /// The authentication timer for a new connection (MS-PPGRH §3.1.2): shorter the more
    /// connections the node has.
    pub(super) fn auth_timeout(&self) -> Duration {
        auth_timeout(self.conns.len(), self.cfg.auth_timer_formula)
    }
}
