//! Cold start of a flash crowd (`cold_start`, scenarios/README.md): a segment session that found peers holding
//! or fetching its segment waits for them instead of pulling the rest from the origin at once.
//!
//! \[CHOICE\] (`DistConfig::cold_start`, [`ColdStart::WaitForPeers`]): the specification's
//! client (MS-CCRSO §6.5) sends every block its peers cannot supply right now to the origin. In a cold
//! flash crowd nobody holds anything yet, so each early client pulls a whole copy and the copies
//! share the WAN, which keeps the window in which nobody holds the file open. Here:
//! - a peer fetching a segment from the origin answers probes for it as such, whatever it holds
//!   ("fetching": a V1 BlockCount of 0, a V2 "some" bit without "all", MS-PCCRD §2.2.2.2);
//! - a session whose discovery found holders or fetchers does not abort when they have nothing
//!   more for it: it asks them again after a backoff (1, 2, 4 ... up to 8 × `peer_wait_retry`,
//!   reset by progress), probes again at most every `peer_wait_reprobe` to find new partial
//!   holders, and keeps an empty BLK's server instead of dropping it (MS-CCRSO §6.5 drops it);
//! - its download timer becomes a give-up timeout (`peer_wait_max`, plus up to half again drawn
//!   per session) re-armed by progress; when it fires, one last probe, and unless it finds a
//!   fetcher the rest comes from the origin, as in MS-CCRSO §6.5. A holder that leaves therefore costs at
//!   most about that long, and the first waiter to give up becomes the fetcher the others find;
//! - a session whose probe finds nobody goes to the origin at once: it is the one that goes first;
//!   of peers probing a segment in overlapping windows, only one does: a discovering peer that
//!   defers to nobody answers as a fetcher, and of two that probe at once the higher address
//!   defers to the lower.

use super::config::{ColdStart, Mode};
use super::hash::SegmentId;
use super::peer::{BranchPeer, Timer};
use super::session::{SessKey, SrvStatus};
use crate::{Duration, Endpoint, Instant};
use rand::Rng;

/// Longest re-ask backoff, in multiples of `peer_wait_retry`.
const BACKOFF_MAX_FACTOR: u64 = 8;
/// "Still fetching" reports count as progress only this many give-up timeouts after the session
/// started: a peer that claims forever cannot stall a download.
const FETCHING_CREDIT: u64 = 4;

impl BranchPeer {
    /// True when sessions wait for peers rather than going to the origin at once (`cold_start`).
    pub(crate) fn wait_for_peers(&self) -> bool {
        self.cfg.cold_start == ColdStart::WaitForPeers
    }

    /// A fresh give-up timeout: `peer_wait_max` plus up to half again, so waiters that stalled
    /// together (their holder left) do not all fall back to the origin at the same moment.
    pub(crate) fn give_up_after(&mut self) -> Duration {
        let base = self.cfg.peer_wait_max;
        let extra = self.rng.gen_range(0..=base.as_micros() / 2);
        base + Duration::from_micros(extra)
    }

    /// True while one of this peer's fetches has origin Range GETs outstanding for segment `id`.
    pub(crate) fn origin_fetching(&self, id: &SegmentId) -> bool {
        self.fetches.values().any(|f| {
            f.origin_ranges
                .values()
                .any(|r| f.metas.get(r.0 as usize).is_some_and(|m| m.id == *id))
        })
    }

    /// True when this peer fetches segment `id` from the origin, or will unless its running probe
    /// finds someone (it is discovering and defers to nobody): it then answers probes for `id` as
    /// a fetcher, whatever it holds, so that a peer probing in an overlapping window, or about to
    /// give up, waits for it.
    pub(crate) fn first_in_line(&self, id: &SegmentId) -> bool {
        self.origin_fetching(id)
            || self
                .sessions
                .values()
                .any(|s| s.meta.id == *id && s.discovering && s.has_no_servers())
    }

    /// Some peer listed, served or is fetching the session's segment: waiting is worth it.
    pub(crate) fn saw_holder(&mut self, key: SessKey) {
        if let Some(s) = self.sessions.get_mut(&key) {
            s.holders_seen = true;
        }
    }

    /// A peer reported it is fetching the session's segment from the origin: that is progress
    /// for the give-up timeout, within the session's credit.
    pub(crate) fn on_fetcher_seen(&mut self, now: Instant, key: SessKey) {
        self.saw_holder(key);
        let credit = self.cfg.peer_wait_max.saturating_mul(FETCHING_CREDIT);
        let Some(s) = self.sessions.get_mut(&key) else {
            return;
        };
        if now.saturating_since(s.started) < credit {
            s.last_chance = false;
            self.rearm_download(now, key);
        }
    }

    /// The give-up timeout fired. One last probe first: if the holder this session waited for
    /// left, another waiter may have given up earlier and be fetching the segment now; without
    /// this, every waiter would pull its own copy (`on_probe_end` then gives up or not).
    pub(crate) fn on_give_up(&mut self, now: Instant, key: SessKey) {
        let Some(s) = self.sessions.get_mut(&key) else {
            return;
        };
        if s.last_chance {
            return self.give_up(now, key);
        }
        s.last_chance = true;
        if s.discovering || (self.cfg.mode == Mode::Distributed && self.probe_segment(now, key)) {
            return;
        }
        self.give_up(now, key);
    }

    /// Stops waiting: the rest of the segment comes from the origin (MS-CCRSO §6.5).
    pub(crate) fn give_up(&mut self, now: Instant, key: SessKey) {
        self.stats.peer_wait_give_ups += 1;
        self.abort_session(now, key);
    }

    /// Another peer of the subnet probes segments this one is discovering too. In the same probe
    /// window both would find nobody and both pull the segment; the lower address goes first and
    /// the others wait for it as for a fetcher (a deterministic tie-break; if it does not fetch
    /// after all, the give-up timeout applies).
    pub(crate) fn on_concurrent_probe(&mut self, now: Instant, from: Endpoint, segments: &[SegmentId]) {
        if from >= self.me {
            return;
        }
        let keys: Vec<SessKey> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.discovering && segments.contains(&s.meta.id))
            .map(|(k, _)| *k)
            .collect();
        for key in keys {
            self.saw_holder(key);
            self.add_server(now, key, from);
        }
    }

    /// An empty BLK from `addr`: it has nothing for us right now; keep it for the next re-ask.
    pub(crate) fn set_nothing_now(&mut self, key: SessKey, addr: Endpoint) {
        let srv = self
            .sessions
            .get_mut(&key)
            .and_then(|s| s.servers.iter_mut().find(|x| x.addr == addr));
        if let Some(srv) = srv {
            srv.ranges = Some(Vec::new());
            srv.status = SrvStatus::Complete;
        }
    }

    /// The schedule pass found nothing to request and nothing in flight (MS-CCRSO §6.5 "all servers
    /// Complete"): the origin, or in wait mode a re-ask after the backoff.
    pub(crate) fn on_stuck(&mut self, now: Instant, key: SessKey) {
        let Some(s) = self.sessions.get(&key) else {
            return;
        };
        if !self.wait_for_peers() || !s.holders_seen {
            return self.abort_session(now, key);
        }
        if s.has_no_servers() {
            // Every holder failed, left or was excluded: look again; a probe that finds nobody
            // ends in the origin (`on_probe_end`).
            if self.cfg.mode == Mode::Distributed && self.probe_segment(now, key) {
                return;
            }
            return self.abort_session(now, key);
        }
        if s.recheck.is_some() {
            return;
        }
        // A zero `peer_wait_retry` would re-ask in a busy loop.
        let at = now + s.backoff.max(Duration::from_millis(1));
        let xid = self.fresh_id();
        if let Some(s) = self.sessions.get_mut(&key) {
            s.recheck = Some(xid);
        }
        self.arm(at, Timer::Recheck { key, xid });
    }

    /// The re-ask timer: list the holders again (simple downloads just retry), probe again now
    /// and then for new partial holders, and back off further.
    pub(crate) fn on_recheck(&mut self, now: Instant, key: SessKey, xid: u64) {
        let cap = self.cfg.peer_wait_retry.saturating_mul(BACKOFF_MAX_FACTOR);
        let reprobe_after = self.cfg.peer_wait_reprobe;
        let distributed = self.cfg.mode == Mode::Distributed;
        let responders_max = self.cfg.responders_max;
        let Some(s) = self.sessions.get_mut(&key).filter(|s| s.recheck == Some(xid)) else {
            return;
        };
        s.recheck = None;
        s.backoff = s.backoff.saturating_mul(2).min(cap);
        self.stats.peer_rechecks += 1;
        let reprobe = distributed
            && !s.discovering
            && s.servers.len() < responders_max
            && now.saturating_since(s.last_probe) >= reprobe_after;
        let simple = s.simple;
        let mut relist = Vec::new();
        for srv in s.servers.iter_mut().filter(|x| x.status == SrvStatus::Complete) {
            if simple {
                srv.ranges = None;
                srv.status = SrvStatus::Free;
            } else {
                srv.status = SrvStatus::Listing;
                relist.push(srv.addr);
            }
        }
        for addr in relist {
            self.send_list(now, key, addr);
        }
        if reprobe {
            // Over the rate cap the holders already known will do.
            self.probe_segment(now, key);
        }
        self.schedule(now, key);
    }
}
