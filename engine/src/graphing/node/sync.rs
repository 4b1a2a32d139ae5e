//! Database synchronization over a new neighbor link (MS-PPGRH §3.1.7.29-31, §3.1.5.2.5-9,
//! §3.1.5.2.11): Sync All and time-based sync asked one record type at a time, and hash-based
//! sync of ranges of ten records. Only the initiator of a link solicits.

use super::conn::Sync;
use super::GraphNode;
use crate::graphing::rules::hash_sync::{advertise, diff, solicit_ranges, sync_entries};
use crate::graphing::Guid;
use crate::graphing::{
    Advertise, GraphEvent, Message, PeerTime, Request, SolicitHash, SolicitNew, SolicitTime, TypeFilter,
    GRAPH_INFO_TYPE, PRESENCE_TYPE,
};
use crate::{ConnId, Instant};

/// What a SYNC_END leads to.
enum Step {
    /// Ask for the next type (or everything else).
    Ask(Option<PeerTime>, TypeFilter),
    /// A staged sync ended: its mode, and whether a hash-based sync follows.
    Staged(usize, bool),
    /// A hash-based sync ended: push these records to the responder.
    Hash(Vec<Guid>),
    /// No sync of ours runs on this link.
    Unexpected,
}

impl GraphNode {
    /// Starts the sync a new link runs (MS-PPGRH §3.1.5.2.2 with §1.3.5.4): Sync All while the
    /// database was never synchronized; time-based then hash-based on the first link after
    /// reopening with a kept database; hash-based on every other link.
    pub(super) fn start_sync(&mut self, now: Instant, conn: ConnId) {
        let staged = |since, then_hash| Sync::Staged {
            since,
            types: vec![GRAPH_INFO_TYPE, PRESENCE_TYPE],
            next: 1,
            all_synced: false,
            then_hash,
        };
        let sync = if self.never_connected {
            staged(None, false)
        } else if self.reopened {
            self.reopened = false;
            staged(Some(self.left_at), true)
        } else {
            return self.start_hash(now, conn);
        };
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.sync = sync;
        let since = match &c.sync {
            Sync::Staged { since, .. } => *since,
            _ => None,
        };
        let first = TypeFilter {
            include: vec![GRAPH_INFO_TYPE],
            exclude: vec![],
        };
        self.solicit(conn, since, first);
    }

    fn solicit(&mut self, conn: ConnId, since: Option<PeerTime>, types: TypeFilter) {
        let msg = match since {
            None => Message::SolicitNew(Box::new(SolicitNew { types })),
            Some(since) => Message::SolicitTime(Box::new(SolicitTime { types, since })),
        };
        self.send(conn, msg);
    }

    /// Responder: SOLICIT_NEW or SOLICIT_TIME (MS-PPGRH §3.1.5.2.5-6): every matching record,
    /// then SYNC_END with F. At most one list may be non-empty, and at most one type included.
    pub(super) fn answer_solicit(&mut self, now: Instant, conn: ConnId, types: TypeFilter, since: PeerTime) {
        if types.include.len() > 1 || !(types.include.is_empty() || types.exclude.is_empty()) {
            return self.protocol_error(now, conn);
        }
        let pt = self.peer_time(now);
        let records: Vec<_> = self.db.solicited(&types, since, pt).cloned().collect();
        for r in records {
            self.send(conn, Message::Flood(Box::new(r)));
        }
        self.send(conn, Message::SyncEnd { final_phase: true });
    }

    /// Initiator: SYNC_END (MS-PPGRH §3.1.5.2.11). One without F is ignored.
    pub(super) fn on_sync_end(&mut self, now: Instant, conn: ConnId, final_phase: bool) {
        if !final_phase {
            return;
        }
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let step = match &mut c.sync {
            Sync::Staged {
                since,
                types,
                next,
                all_synced,
                then_hash,
            } => {
                if *next < types.len() {
                    *next += 1;
                    let include = vec![types[*next - 1]];
                    Step::Ask(
                        *since,
                        TypeFilter {
                            include,
                            exclude: vec![],
                        },
                    )
                } else if !*all_synced {
                    *all_synced = true;
                    let exclude = types.clone();
                    Step::Ask(
                        *since,
                        TypeFilter {
                            include: vec![],
                            exclude,
                        },
                    )
                } else {
                    Step::Staged(usize::from(since.is_some()), *then_hash)
                }
            }
            Sync::HashRequested(to_send) => Step::Hash(std::mem::take(to_send)),
            _ => Step::Unexpected,
        };
        match step {
            Step::Ask(since, filter) => self.solicit(conn, since, filter),
            Step::Staged(mode, then_hash) => {
                c.sync = Sync::Idle;
                self.stats.syncs_completed[mode] += 1;
                if then_hash {
                    self.start_hash(now, conn);
                } else {
                    self.sync_done(now);
                }
            }
            Step::Hash(to_send) => {
                // The responder lacks these, or holds older copies (MS-PPGRH §3.1.7.31).
                let pt = self.peer_time(now);
                for id in to_send {
                    if let Some(r) = self.db.get(&id).filter(|r| r.expires > pt).cloned() {
                        self.send(conn, Message::Flood(Box::new(r)));
                    }
                }
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.sync = Sync::Idle;
                }
                self.stats.syncs_completed[2] += 1;
                self.sync_done(now);
            }
            Step::Unexpected => self.protocol_error(now, conn),
        }
    }

    /// A sync this node initiated ended: the first one makes the node synchronized, completes its
    /// Join and starts it listening (MS-PPGRH §3.1.5.2.11, §3.1.4.8).
    fn sync_done(&mut self, now: Instant) {
        if self.synchronized {
            return;
        }
        self.synchronized = true;
        self.never_connected = false;
        self.emit(GraphEvent::Synchronized);
        if let Some(request) = self.join_request.take() {
            self.emit(GraphEvent::Done { request, id: None });
        }
        self.start_listening(now);
    }

    /// Initiator: SOLICIT_HASH over ranges of the whole database (MS-PPGRH §3.1.7.31).
    fn start_hash(&mut self, now: Instant, conn: ConnId) {
        let pt = self.peer_time(now);
        let ranges = solicit_ranges(&sync_entries(self.db.iter(), pt));
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.sync = Sync::HashSolicited;
        let solicit = SolicitHash {
            types: TypeFilter::default(),
            ranges,
        };
        self.send(conn, Message::SolicitHash(Box::new(solicit)));
    }

    /// Responder: SOLICIT_HASH → ADVERTISE of the ranges whose hashes differ (MS-PPGRH §3.1.5.2.7).
    pub(super) fn on_solicit_hash(&mut self, now: Instant, conn: ConnId, s: SolicitHash) {
        if s.ranges.is_empty() {
            return self.protocol_error(now, conn);
        }
        let pt = self.peer_time(now);
        let advertise = advertise(&sync_entries(self.db.iter(), pt), &s.ranges);
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.sync = Sync::HashAdvertised;
        self.send(conn, Message::Advertise(Box::new(advertise)));
    }

    /// Initiator: ADVERTISE → REQUEST what the responder has newer; remember what it lacks
    /// (MS-PPGRH §3.1.5.2.8).
    pub(super) fn on_advertise(&mut self, now: Instant, conn: ConnId, a: Advertise) {
        if self.conns.get(&conn).map(|c| &c.sync) != Some(&Sync::HashSolicited) {
            return self.protocol_error(now, conn);
        }
        let pt = self.peer_time(now);
        let lists = diff(&sync_entries(self.db.iter(), pt), &a);
        if let Some(c) = self.conns.get_mut(&conn) {
            c.sync = Sync::HashRequested(lists.send);
        }
        let request = Request {
            abstracts: lists.request,
        };
        self.send(conn, Message::Request(Box::new(request)));
    }

    /// Responder: REQUEST → the records asked for, then SYNC_END with F (MS-PPGRH §3.1.5.2.9).
    pub(super) fn on_request(&mut self, now: Instant, conn: ConnId, r: Request) {
        if self.conns.get(&conn).map(|c| &c.sync) != Some(&Sync::HashAdvertised) {
            return self.protocol_error(now, conn);
        }
        let pt = self.peer_time(now);
        for a in &r.abstracts {
            if let Some(rec) = self.db.get(&a.id).filter(|rec| rec.expires > pt).cloned() {
                self.send(conn, Message::Flood(Box::new(rec)));
            }
        }
        self.send(conn, Message::SyncEnd { final_phase: true });
        if let Some(c) = self.conns.get_mut(&conn) {
            c.sync = Sync::Idle;
        }
    }
}
