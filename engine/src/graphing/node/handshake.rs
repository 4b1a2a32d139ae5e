//! Connection establishment and teardown (MS-PPGRH §3.1.7.24-26, §3.1.5.1, §3.1.5.2.1-4):
//! AUTH_INFO, CONNECT, WELCOME, REFUSE and DISCONNECT, the referral list, joining, listening and
//! leaving.

use super::conn::{Conn, ConnState, LinkState, Purpose};
use super::security::AuthStep;
use super::{GraphNode, Phase};
use crate::graphing::rules::peer_time::PeerTimeDelta;
use crate::graphing::rules::timers::AUTOREFRESH_FIRST;
use crate::graphing::{
    AuthInfo, Connect, ConnectionType, Disconnect, DisconnectReason, GraphError, GraphEvent, Message,
    PointToPoint, Refuse, RefuseReason, Welcome, PING_DATA_TYPE,
};
use crate::{ConnId, Endpoint, Instant, StreamCommand};
use rand::Rng;

impl GraphNode {
    /// Creates the graph (MS-PPGRH §3.1.4.1): the creator defines peer time, publishes the Graph
    /// Info record and listens at once.
    pub(super) fn create(&mut self, now: Instant) {
        self.phase = Phase::In;
        self.never_connected = false;
        self.synchronized = true;
        self.ptd = PeerTimeDelta::default();
        self.timers.autorefresh = Some(now + AUTOREFRESH_FIRST);
        self.publish_graph_info(now);
        self.start_listening(now);
    }

    /// Opens the graph through a first contact (MS-PPGRH §3.1.4.2, §3.1.4.9).
    pub(super) fn begin_join(&mut self, now: Instant, contact: Endpoint) {
        self.phase = Phase::In;
        // A kept database is brought up to date by a time-based then a hash-based sync
        // (MS-PPGRH §1.3.5.4).
        self.reopened = !self.never_connected;
        self.timers.autorefresh = Some(now + AUTOREFRESH_FIRST);
        self.connect_to(now, contact, Purpose::Join);
    }

    /// The answer to a [`GraphEvent::ResolveWanted`]: the endpoints the graph's peer name
    /// resolved to (first choice first), or `None` when the resolve failed. A pending Join
    /// connects to the first; a node in the graph (long-term partition repair, MS-PPGRH
    /// §3.1.6.3) connects to the first it has no link with.
    pub fn name_resolved(&mut self, now: Instant, endpoints: Option<Vec<Endpoint>>) {
        let mine = |e: &Endpoint| *e == self.listen || self.conns.values().any(|c| c.remote == *e);
        let target = endpoints.unwrap_or_default().into_iter().find(|e| !mine(e));
        match (self.phase, target) {
            (Phase::Resolving, Some(ep)) => self.begin_join(now, ep),
            (Phase::Resolving, None) => {
                self.phase = Phase::Out;
                if let Some(request) = self.join_request.take() {
                    self.emit(GraphEvent::Failed {
                        request,
                        error: GraphError::NameNotFound,
                    });
                }
            }
            (Phase::In, Some(ep)) => self.connect_to(now, ep, Purpose::Maintenance),
            _ => {}
        }
    }

    /// Opens a neighbor connection to `to` (MS-PPGRH §3.1.7.24 step 1).
    pub(super) fn connect_to(&mut self, now: Instant, to: Endpoint, purpose: Purpose) {
        let conn = ConnId(self.next_conn);
        self.next_conn += 1;
        let deadline = now + self.auth_timeout();
        self.conns.insert(conn, Conn::new(true, to, purpose, deadline));
        self.stats.connects += 1;
        self.streams.push_back(StreamCommand::Connect { conn, to });
    }

    /// Initiator: TCP is up; send AUTH_INFO (MS-PPGRH §3.1.7.24 step 2).
    pub(super) fn on_connected(&mut self, now: Instant, conn: ConnId) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if c.state != ConnState::Socket {
            return;
        }
        c.state = ConnState::SentAuthInfo;
        let info = AuthInfo {
            connection_type: ConnectionType::Neighbor,
            graph_id: self.cfg.graph_id.clone(),
            source_peer_id: self.cfg.peer_id.clone(),
            destination_peer_id: None,
        };
        let step = self.security.begin(conn, true, &info);
        self.send(conn, Message::AuthInfo(Box::new(info)));
        self.auth_step(now, conn, step);
    }

    /// Responder: a connection arrived (MS-PPGRH §3.1.7.26 step 1).
    pub(super) fn on_accepted(&mut self, now: Instant, conn: ConnId, from: Endpoint) {
        if !self.listening {
            self.streams.push_back(StreamCommand::Reset { conn });
            return;
        }
        let deadline = now + self.auth_timeout();
        self.conns
            .insert(conn, Conn::new(false, from, Purpose::Maintenance, deadline));
    }

    /// Responder: AUTH_INFO, checked as MS-PPGRH §3.1.5.1.1 requires.
    pub(super) fn on_auth_info(&mut self, now: Instant, conn: ConnId, info: AuthInfo) {
        let ok = info.graph_id == self.cfg.graph_id
            && !info.source_peer_id.is_empty()
            && info
                .destination_peer_id
                .as_ref()
                .is_none_or(|d| *d == self.cfg.peer_id);
        if !ok {
            return self.protocol_error(now, conn);
        }
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.state = ConnState::GotAuthInfo;
        c.direct = info.connection_type == ConnectionType::Direct;
        c.peer_id = info.source_peer_id.clone();
        let step = self.security.begin(conn, false, &info);
        self.auth_step(now, conn, step);
    }

    /// Applies the security provider's step; once authenticated the initiator sends CONNECT.
    pub(super) fn auth_step(&mut self, now: Instant, conn: ConnId, step: AuthStep) {
        match step {
            AuthStep::Done => {
                let Some(c) = self.conns.get_mut(&conn) else {
                    return;
                };
                c.state = ConnState::Authenticated;
                c.auth_deadline = None;
                if c.initiated {
                    self.send_connect(now, conn);
                }
            }
            AuthStep::Send(msgs) => msgs.into_iter().for_each(|m| self.send(conn, m)),
            AuthStep::Wait => {}
            AuthStep::Fail => self.protocol_error(now, conn),
        }
    }

    /// The addresses this node announces: its listening address once it listens.
    fn own_addresses(&self) -> Vec<Endpoint> {
        if self.listening {
            vec![self.listen]
        } else {
            Vec::new()
        }
    }

    /// Initiator: CONNECT, then wait for WELCOME under the connect timer (MS-PPGRH §3.1.7.24 step 3).
    fn send_connect(&mut self, now: Instant, conn: ConnId) {
        let t_connect = self.peer_time(now);
        let deadline = now + self.cfg.connect_timeout;
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.link = LinkState::ConnectWait;
        c.t_connect = t_connect;
        c.connect_deadline = Some(deadline);
        let connect = Connect {
            update: false,
            direct: c.direct,
            want_neighbors: self.cfg.request_referrals,
            node_id: self.node_id,
            addresses: self.own_addresses(),
            friendly_name: None,
        };
        self.send(conn, Message::Connect(Box::new(connect)));
    }

    /// Responder: CONNECT, decided in MS-PPGRH §3.1.5.2.1's order.
    pub(super) fn on_connect(&mut self, now: Instant, conn: ConnId, m: Connect) {
        if m.update && m.addresses.is_empty() {
            return self.protocol_error(now, conn);
        }
        let Some(c) = self.conns.get(&conn) else { return };
        let connected = c.link == LinkState::Connected;
        if m.update && connected {
            // An established neighbor announces its new addresses; no reply.
            if let Some(c) = self.conns.get_mut(&conn) {
                c.addresses = m.addresses;
            }
            return;
        }
        if m.direct || c.direct {
            if !self.cfg.accept_direct {
                return self.refuse(now, conn, RefuseReason::DirectConnectionDisallowed, Vec::new());
            }
            return self.welcome(now, conn, m, true);
        }
        let duplicate = m.node_id == self.node_id
            || self
                .conns
                .values()
                .any(|o| o.is_neighbor() && o.node_id == Some(m.node_id));
        if duplicate {
            return self.refuse(now, conn, RefuseReason::DuplicateConnection, Vec::new());
        }
        if self.neighbor_conns().len() >= self.cfg.max_neighbors {
            let referrals = self.neighbor_addresses(conn, self.cfg.referrals_returned);
            return self.refuse(now, conn, RefuseReason::Busy, referrals);
        }
        if connected {
            return self.refuse(now, conn, RefuseReason::AlreadyConnected, Vec::new());
        }
        self.welcome(now, conn, m, false);
    }

    /// Responder: accept the link and send WELCOME, with referrals when N was set.
    fn welcome(&mut self, now: Instant, conn: ConnId, m: Connect, direct: bool) {
        let referrals = if m.want_neighbors && !direct {
            self.neighbor_addresses(conn, self.cfg.referrals_returned)
        } else {
            Vec::new()
        };
        let Some(c) = self.link_up(conn, m.node_id) else {
            return;
        };
        c.direct = direct;
        c.addresses = m.addresses;
        let welcome = Welcome {
            node_id: self.node_id,
            peer_time: self.peer_time(now),
            addresses: referrals,
            peer_id: self.cfg.peer_id.clone(),
            friendly_name: None,
        };
        self.send(conn, Message::Welcome(Box::new(welcome)));
        if !direct {
            self.neighbor_up(m.node_id, false);
        }
    }

    /// `conn` becomes a CONNECTED link to `node_id`, the latest in neighbor order.
    fn link_up(&mut self, conn: ConnId, node_id: u64) -> Option<&mut Conn> {
        let seq = self.next_seq;
        self.next_seq += 1;
        let c = self.conns.get_mut(&conn)?;
        c.link = LinkState::Connected;
        c.connect_deadline = None;
        c.node_id = Some(node_id);
        c.seq = seq;
        Some(c)
    }

    fn neighbor_up(&mut self, node_id: u64, initiated: bool) {
        self.stats.neighbors_added += 1;
        self.emit(GraphEvent::NeighborUp { node_id, initiated });
    }

    /// Responder: REFUSE and close (MS-PPGRH §3.1.5.2.1).
    fn refuse(&mut self, now: Instant, conn: ConnId, reason: RefuseReason, addresses: Vec<Endpoint>) {
        self.stats.refusals_sent[reason as usize - 1] += 1;
        self.send(conn, Message::Refuse(Box::new(Refuse { reason, addresses })));
        self.end_conn(now, conn, Some(StreamCommand::Close { conn }));
    }

    /// Listening addresses of up to `max` neighbors other than `except`'s, least recently added
    /// first (MS-PPGRH §3.1.7.25).
    pub(super) fn neighbor_addresses(&self, except: ConnId, max: usize) -> Vec<Endpoint> {
        let mut n: Vec<(u64, Endpoint)> = self
            .conns
            .iter()
            .filter(|(id, c)| **id != except && c.is_neighbor())
            .filter_map(|(_, c)| c.addresses.first().map(|a| (c.seq, *a)))
            .collect();
        n.sort_unstable();
        n.into_iter().take(max).map(|(_, a)| a).collect()
    }

    /// Initiator: WELCOME (MS-PPGRH §3.1.5.2.2).
    pub(super) fn on_welcome(&mut self, now: Instant, conn: ConnId, m: Welcome) {
        let first = self.neighbor_conns().is_empty();
        let Some(c) = self.link_up(conn, m.node_id) else {
            return;
        };
        c.peer_id = m.peer_id;
        c.addresses = vec![c.remote];
        let t_connect = c.t_connect;
        self.add_referrals(&m.addresses);
        self.neighbor_up(m.node_id, true);
        if first {
            self.kick_maintenance(now);
        }
        for n in self.neighbor_conns() {
            self.stats.pings_sent += 1;
            let ping = PointToPoint {
                data_type: PING_DATA_TYPE,
                data: Vec::new(),
            };
            self.send(n, Message::PointToPoint(Box::new(ping)));
        }
        self.adjust_peer_time(now, m.peer_time, t_connect);
        self.start_sync(now, conn);
    }

    /// Initiator: REFUSE (MS-PPGRH §3.1.5.2.3): keep its referrals, close, try a random untried
    /// referral. The responder closes after any REFUSE, so this side closes too, ALREADY_CONNECTED
    /// included.
    pub(super) fn on_refuse(&mut self, now: Instant, conn: ConnId, m: Refuse) {
        self.stats.refusals_received[m.reason as usize - 1] += 1;
        self.last_refusal = Some(m.reason);
        self.add_referrals(&m.addresses);
        let purpose = self.conns.get(&conn).map(|c| c.purpose);
        self.end_conn(now, conn, Some(StreamCommand::Close { conn }));
        if purpose == Some(Purpose::Maintenance) {
            self.follow_referral(now, Purpose::Maintenance);
        }
    }

    /// DISCONNECT received (MS-PPGRH §3.1.5.2.4): keep its referrals, close; losing a neighbor
    /// runs graph maintenance.
    pub(super) fn on_disconnect(&mut self, now: Instant, conn: ConnId, m: Disconnect) {
        self.stats.disconnects_received += 1;
        self.add_referrals(&m.addresses);
        self.end_conn(now, conn, Some(StreamCommand::Close { conn }));
    }

    /// Sends DISCONNECT with up to 10 referrals and closes (MS-PPGRH §3.1.7.25).
    pub(super) fn disconnect(&mut self, now: Instant, conn: ConnId, reason: DisconnectReason) {
        let addresses = self.neighbor_addresses(conn, DISCONNECT_REFERRALS);
        self.send(
            conn,
            Message::Disconnect(Box::new(Disconnect { reason, addresses })),
        );
        self.end_conn(now, conn, Some(StreamCommand::Close { conn }));
    }

    /// Forgets `conn` (sending `cmd` first, if any). A lost neighbor link runs graph maintenance
    /// (MS-PPGRH §3.1.5.2.4 for DISCONNECT; peerlab reads a TCP failure as the same loss); a Join
    /// attempt that failed before WELCOME tries the next referral.
    pub(super) fn end_conn(&mut self, now: Instant, conn: ConnId, cmd: Option<StreamCommand<Message>>) {
        let Some(c) = self.conns.remove(&conn) else { return };
        if let Some(cmd) = cmd {
            self.streams.push_back(cmd);
        }
        self.security.end(conn);
        if c.is_neighbor() {
            if let Some(node_id) = c.node_id {
                self.emit(GraphEvent::NeighborDown { node_id });
            }
            if self.phase == Phase::In {
                self.kick_maintenance(now);
            }
        } else if c.initiated
            && c.purpose == Purpose::Join
            && self.phase == Phase::In
            && self.neighbor_conns().is_empty()
        {
            self.follow_referral(now, Purpose::Join);
        }
    }

    /// Adds addresses to the referral list, dropping the oldest beyond its capacity (MS-PPGRH §3.1.1).
    pub(super) fn add_referrals(&mut self, addrs: &[Endpoint]) {
        let own = self.listen;
        self.referrals.extend(addrs.iter().copied().filter(|a| *a != own));
    }

    /// Connects to a random referral, stepping forward to the first untried one (MS-PPGRH
    /// §3.1.5.2.3). A Join with no referral left fails.
    pub(super) fn follow_referral(&mut self, now: Instant, purpose: Purpose) {
        match self.referrals.pick_untried(&mut self.rng) {
            Some(to) => self.connect_to(now, to, purpose),
            None if purpose == Purpose::Join => self.join_failed(now),
            None => {}
        }
    }

    /// Every contact of a Join failed (MS-PPGRH §3.1.4.9): the Join fails; a node with a kept
    /// database listens anyway (MS-PPGRH §3.1.4.8).
    fn join_failed(&mut self, now: Instant) {
        if let Some(request) = self.join_request.take() {
            let error = GraphError::JoinFailed(self.last_refusal);
            self.emit(GraphEvent::Failed { request, error });
        }
        if self.never_connected {
            self.phase = Phase::Out;
            self.timers = Default::default();
        } else {
            self.synchronized = true;
            self.start_listening(now);
        }
    }

    /// Starts listening (MS-PPGRH §3.1.4.8): graph maintenance runs, and every neighbor this node
    /// connected to hears its addresses in CONNECT with U.
    pub(super) fn start_listening(&mut self, now: Instant) {
        if self.listening {
            return;
        }
        self.listening = true;
        self.emit(GraphEvent::Listening);
        self.kick_maintenance(now);
        let initiated: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.is_neighbor() && c.initiated)
            .map(|(id, _)| *id)
            .collect();
        for conn in initiated {
            let connect = Connect {
                update: true,
                direct: false,
                want_neighbors: false,
                node_id: self.node_id,
                addresses: vec![self.listen],
                friendly_name: None,
            };
            self.send(conn, Message::Connect(Box::new(connect)));
        }
    }

    /// Leaves the graph (MS-PPGRH §3.1.4.6): deletes its own internal records, says DISCONNECT
    /// (LEAVING) on every link, and keeps its database for a later reopen. The next open draws a
    /// fresh node id (MS-PPGRH §1.3.2).
    pub(super) fn leave(&mut self, now: Instant) {
        self.retire_internal(now);
        self.phase = Phase::Out;
        let conns: Vec<ConnId> = self.conns.keys().copied().collect();
        for conn in conns {
            if self
                .conns
                .get(&conn)
                .is_some_and(|c| c.link == LinkState::Connected)
            {
                self.disconnect(now, conn, DisconnectReason::Leaving);
            } else {
                self.end_conn(now, conn, Some(StreamCommand::Reset { conn }));
            }
        }
        if let Some(request) = self.join_request.take() {
            let error = GraphError::NotInGraph;
            self.emit(GraphEvent::Failed { request, error });
        }
        self.left_at = self.peer_time(now);
        self.listening = false;
        self.synchronized = false;
        self.timers = Default::default();
        self.deferred.clear();
        self.node_id = self.rng.gen();
    }
}

/// Referrals a DISCONNECT carries at most (MS-PPGRH §3.1.7.25).
const DISCONNECT_REFERRALS: usize = 10;
