//! `GraphNode`: one Peer Graphing node (MS-PPGRH §3.1) as a sans-IO state machine over stream
//! connections. The node keeps its replica of the graph database, its connections and their link
//! states, floods and synchronizes records, keeps peer time and runs graph maintenance; the
//! simulator or the live driver carries its messages (docs/architecture.md §3).
//!
//! Modules: `db` (the database), `conn` (per-connection state), `handshake` (AUTH_INFO, CONNECT,
//! WELCOME, REFUSE, DISCONNECT), `flood` (publish, receive, ACK), `sync` (the three syncs),
//! `maintenance` (the maintenance pass and timers), `internal` (the graph's own records),
//! `security` (the security provider hook).

mod conn;
mod db;
mod flood;
mod handshake;
mod internal;
mod maintenance;
mod security;
mod stats;
mod sync;
#[cfg(test)]
pub(crate) mod testnet;
#[cfg(test)]
mod tests;
mod timers;

pub use security::{AuthStep, NullProvider, SecurityProvider, Validity};
pub use stats::GraphStats;

use super::rules::peer_time::PeerTimeDelta;
use super::rules::referrals::ReferralList;
use super::{
    Bootstrap, GraphCommand, GraphConfig, GraphError, GraphEvent, Guid, LocalClock, Message, PeerRecord,
    PeerTime, RefuseReason,
};
use crate::{ConnId, Endpoint, Instant, Node, NodeRng, RequestId, StreamCommand, StreamEvent, Transmit};
use conn::{Conn, ConnState, LinkState};
use db::Db;
use internal::Internal;
use rand::SeedableRng;
use std::collections::{BTreeMap, VecDeque};

/// Where the node stands in the graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Built, or left: not in a graph.
    Out,
    /// Waiting for the application (or the PNRP layer) to resolve the bootstrap name.
    Resolving,
    /// Created or joined (a joiner until its first sync is still `never_connected`).
    In,
}

/// The deadlines of the node-wide timers (MS-PPGRH §3.1.2); connections keep their own.
#[derive(Clone, Copy, Debug, Default)]
struct Timers {
    /// A maintenance pass asked for by a trigger other than the maintenance timer.
    kick: Option<Instant>,
    maintenance: Option<Instant>,
    signature: Option<Instant>,
    contact: Option<Instant>,
    partition: Option<Instant>,
    presence: Option<Instant>,
    expiry: Option<Instant>,
    autorefresh: Option<Instant>,
}

impl Timers {
    fn min(&self) -> Option<Instant> {
        [
            self.kick,
            self.maintenance,
            self.signature,
            self.contact,
            self.partition,
            self.presence,
            self.expiry,
            self.autorefresh,
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

/// One Peer Graphing node (MS-PPGRH §3.1).
pub struct GraphNode {
    cfg: GraphConfig,
    node_id: u64,
    clock: LocalClock,
    rng: NodeRng,
    listen: Endpoint,
    security: Box<dyn SecurityProvider>,
    phase: Phase,
    /// The Join command waiting for the first synchronization.
    join_request: Option<RequestId>,
    /// The graph's PNRP peer name, for bootstrap and long-term partition repair.
    bootstrap_name: Option<String>,
    /// The database was never synchronized ("fNeverConnected", MS-PPGRH §3.1.1).
    never_connected: bool,
    /// The next first connection runs a time-based then a hash-based sync (reopening with a
    /// kept database, MS-PPGRH §1.3.5.4).
    reopened: bool,
    synchronized: bool,
    listening: bool,
    /// Peer time when the node left the graph (SOLICIT_TIME's time, MS-PPGRH §3.1.7.30).
    left_at: PeerTime,
    /// Peer-time delta: peer time = local UTC − delta (MS-PPGRH §3.1.5.2.2).
    ptd: PeerTimeDelta,
    db: Db,
    /// Records the security provider deferred (MS-PPGRH §3.1.7.2).
    deferred: Vec<(ConnId, PeerRecord)>,
    internal: Internal,
    referrals: ReferralList,
    conns: BTreeMap<ConnId, Conn>,
    next_conn: u64,
    next_seq: u64,
    next_request: u64,
    /// The last REFUSE a connection attempt got, for a failed Join's report.
    last_refusal: Option<RefuseReason>,
    timers: Timers,
    streams: VecDeque<StreamCommand<Message>>,
    events: VecDeque<GraphEvent>,
    stats: GraphStats,
}

impl GraphNode {
    /// A node of the graph `config.graph_id`, with node id `node_id`, local clock `clock`, its
    /// random stream seeded by `rng_seed`, listening (once allowed to) at `listen`.
    pub fn new(
        config: GraphConfig,
        node_id: u64,
        clock: LocalClock,
        rng_seed: [u8; 32],
        listen: Endpoint,
    ) -> Self {
        let internal = Internal::new(&config);
        let referrals = ReferralList::new(config.referral_capacity);
        GraphNode {
            cfg: config,
            node_id,
            clock,
            rng: NodeRng::from_seed(rng_seed),
            listen,
            security: Box::new(NullProvider),
            phase: Phase::Out,
            join_request: None,
            bootstrap_name: None,
            never_connected: true,
            reopened: false,
            synchronized: false,
            listening: false,
            left_at: PeerTime(0),
            ptd: PeerTimeDelta::default(),
            db: Db::default(),
            deferred: Vec::new(),
            internal,
            referrals,
            conns: BTreeMap::new(),
            next_conn: 0,
            next_seq: 0,
            next_request: 0,
            last_refusal: None,
            timers: Timers::default(),
            streams: VecDeque::new(),
            events: VecDeque::new(),
            stats: GraphStats::default(),
        }
    }

    /// Replaces the security provider (Peer Grouping's, MS-PPSEC); the default is none.
    pub fn set_security_provider(&mut self, provider: Box<dyn SecurityProvider>) {
        self.security = provider;
    }

    /// Names the graph's PNRP peer name, which long-term partition repair resolves (MS-PPGRH
    /// §3.1.6.3); a Join by peer name sets it too.
    pub fn set_bootstrap_name(&mut self, name: impl Into<String>) {
        self.bootstrap_name = Some(name.into());
    }

    // --- inspection (cheap, read-only) ---

    /// This node's id (a fresh one is drawn on every rejoin after a Leave).
    pub fn node_id(&self) -> u64 {
        self.node_id
    }

    /// This node's configuration.
    pub fn config(&self) -> &GraphConfig {
        &self.cfg
    }

    /// The listening endpoint.
    pub fn listen_endpoint(&self) -> Endpoint {
        self.listen
    }

    /// Every record of the database (tombstones included) in id order.
    pub fn records(&self) -> impl Iterator<Item = &PeerRecord> + '_ {
        self.db.iter()
    }

    /// The record with id `id`.
    pub fn record(&self, id: &Guid) -> Option<&PeerRecord> {
        self.db.get(id)
    }

    /// Node ids of the CONNECTED neighbor links, in link order.
    pub fn neighbors(&self) -> Vec<u64> {
        let mut n: Vec<(u64, u64)> = self
            .conns
            .values()
            .filter(|c| c.is_neighbor())
            .filter_map(|c| c.node_id.map(|id| (c.seq, id)))
            .collect();
        n.sort_unstable();
        n.into_iter().map(|(_, id)| id).collect()
    }

    /// Whether the node accepts connections (MS-PPGRH §3.1.4.8).
    pub fn is_listening(&self) -> bool {
        self.listening
    }

    /// Whether the node is in the graph and its database has been synchronized once.
    pub fn is_synchronized(&self) -> bool {
        self.synchronized
    }

    /// Whether the node is in a graph (created, joining or joined).
    pub fn in_graph(&self) -> bool {
        self.phase != Phase::Out
    }

    /// Peer time at `now` (MS-PPGRH §1.3.6).
    pub fn peer_time(&self, now: Instant) -> PeerTime {
        self.ptd.peer_time(self.clock.utc(now))
    }

    /// The signature this node holds: the value of the signature record, if live
    /// (MS-PPGRH §3.1.7.11).
    pub fn signature(&self) -> Option<u64> {
        self.signature_view().value()
    }

    /// This node's counters.
    pub fn stats(&self) -> &GraphStats {
        &self.stats
    }

    /// Records kept aside for the security provider.
    pub fn deferred(&self) -> usize {
        self.deferred.len()
    }

    /// Entries of the referral list.
    pub fn referrals(&self) -> Vec<Endpoint> {
        self.referrals.iter().map(|r| r.endpoint).collect()
    }

    /// Utility of the link to neighbor `node_id` (MS-PPGRH §3.1.7.33).
    pub fn utility(&self, node_id: u64) -> Option<u32> {
        self.conns
            .values()
            .find(|c| c.is_neighbor() && c.node_id == Some(node_id))
            .map(|c| c.utility)
    }

    // --- plumbing shared by the modules ---

    fn emit(&mut self, e: GraphEvent) {
        self.events.push_back(e);
    }

    fn request_id(&mut self) -> RequestId {
        self.next_request += 1;
        RequestId(self.next_request)
    }

    /// Queues `msg` on `conn`, counting its bytes (and the sync's, when one runs there).
    fn send(&mut self, conn: ConnId, msg: Message) {
        let len = msg.encoded_len() as u64;
        self.stats.bytes_sent += len;
        if let Some(mode) = self.conns.get(&conn).and_then(|c| c.sync.mode()) {
            self.stats.sync_bytes[mode] += len;
        }
        if matches!(msg, Message::Flood(_)) {
            self.stats.floods_sent += 1;
        }
        self.streams.push_back(StreamCommand::Send { conn, msg });
    }

    /// Connections whose link is a CONNECTED neighbor link, in id order.
    fn neighbor_conns(&self) -> Vec<ConnId> {
        self.conns
            .iter()
            .filter(|(_, c)| c.is_neighbor())
            .map(|(id, _)| *id)
            .collect()
    }

    /// A message broke the protocol: count it and abort the connection (MS-PPGRH §3.1.5.2).
    fn protocol_error(&mut self, now: Instant, conn: ConnId) {
        self.stats.protocol_errors += 1;
        self.end_conn(now, conn, Some(StreamCommand::Reset { conn }));
    }

    fn on_received(&mut self, now: Instant, conn: ConnId, msg: Message) {
        let Some(c) = self.conns.get(&conn) else { return };
        let len = msg.encoded_len() as u64;
        self.stats.bytes_received += len;
        if let Some(mode) = c.sync.mode() {
            self.stats.sync_bytes[mode] += len;
        }
        match (c.state, msg) {
            (ConnState::Accepted, Message::AuthInfo(a)) => self.on_auth_info(now, conn, *a),
            (ConnState::SentAuthInfo | ConnState::GotAuthInfo, m) => {
                let step = self.security.relay(conn, &m);
                self.auth_step(now, conn, step);
            }
            (ConnState::Authenticated, m) => self.on_link_message(now, conn, m),
            _ => self.protocol_error(now, conn),
        }
    }

    /// A message on an authenticated connection.
    fn on_link_message(&mut self, now: Instant, conn: ConnId, msg: Message) {
        let Some(c) = self.conns.get(&conn) else { return };
        let (initiated, connected) = (c.initiated, c.link == LinkState::Connected);
        let waiting = c.link == LinkState::ConnectWait;
        match msg {
            Message::Connect(m) if !initiated => self.on_connect(now, conn, *m),
            Message::Welcome(m) if waiting => self.on_welcome(now, conn, *m),
            Message::Refuse(m) if waiting => self.on_refuse(now, conn, *m),
            Message::Disconnect(m) => self.on_disconnect(now, conn, *m),
            Message::PointToPoint(_) if connected => {}
            Message::Flood(r) if connected && !c.direct => self.on_flood(now, conn, *r),
            Message::Ack(a) if connected && !c.direct => self.on_ack(conn, &a),
            Message::SolicitNew(s) if connected && !c.direct => {
                self.answer_solicit(now, conn, s.types, PeerTime(0))
            }
            Message::SolicitTime(s) if connected && !c.direct => {
                self.answer_solicit(now, conn, s.types, s.since)
            }
            Message::SolicitHash(s) if connected && !c.direct => self.on_solicit_hash(now, conn, *s),
            Message::Advertise(a) if connected => self.on_advertise(now, conn, *a),
            Message::Request(r) if connected => self.on_request(now, conn, *r),
            Message::SyncEnd { final_phase } if connected => self.on_sync_end(now, conn, final_phase),
            _ => self.protocol_error(now, conn),
        }
    }

    fn on_command(&mut self, now: Instant, request: RequestId, cmd: GraphCommand) {
        let in_graph = self.phase == Phase::In;
        let result = match cmd {
            GraphCommand::Create if self.phase != Phase::Out => Err(GraphError::AlreadyInGraph),
            GraphCommand::Create => {
                self.create(now);
                Ok(None)
            }
            GraphCommand::Join(_) if self.phase != Phase::Out => Err(GraphError::AlreadyInGraph),
            GraphCommand::Join(Bootstrap::Address(ep)) => {
                self.join_request = Some(request);
                self.begin_join(now, ep);
                return;
            }
            GraphCommand::Join(Bootstrap::PeerName(name)) => {
                self.join_request = Some(request);
                self.phase = Phase::Resolving;
                self.bootstrap_name = Some(name.clone());
                self.emit(GraphEvent::ResolveWanted { name });
                return;
            }
            _ if !in_graph => Err(GraphError::NotInGraph),
            GraphCommand::Publish {
                record_type,
                payload,
                attributes,
                lifetime,
            } => self
                .publish_app(now, record_type, payload, attributes, lifetime)
                .map(Some),
            GraphCommand::Update {
                id,
                payload,
                attributes,
                lifetime,
            } => self.update_app(now, id, payload, attributes, lifetime).map(Some),
            GraphCommand::Delete { id } => self.delete_app(now, id).map(Some),
            GraphCommand::Leave => {
                self.leave(now);
                Ok(None)
            }
        };
        match result {
            Ok(id) => self.emit(GraphEvent::Done { request, id }),
            Err(error) => self.emit(GraphEvent::Failed { request, error }),
        }
    }

    fn on_timers(&mut self, now: Instant) {
        let due = |t: &mut Option<Instant>| t.take_if(|t| *t <= now).is_some();
        if due(&mut self.timers.expiry) {
            self.expiry_scan(now);
        }
        if due(&mut self.timers.autorefresh) {
            self.autorefresh(now);
        }
        if due(&mut self.timers.signature) {
            self.signature_timer(now);
        }
        if due(&mut self.timers.contact) {
            self.contact_timer(now);
        }
        if due(&mut self.timers.partition) {
            self.partition_timer(now);
        }
        if due(&mut self.timers.presence) {
            self.presence_timer(now);
        }
        if due(&mut self.timers.maintenance) {
            self.maintain(now, true);
        } else if due(&mut self.timers.kick) {
            self.maintain(now, false);
        }
        let late: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.deadline().is_some_and(|d| d <= now))
            .map(|(id, _)| *id)
            .collect();
        for conn in late {
            // Authentication or connect timer (MS-PPGRH §3.1.2): the attempt is abandoned.
            self.stats.handshake_timeouts += 1;
            self.end_conn(now, conn, Some(StreamCommand::Close { conn }));
        }
    }
}

impl Node for GraphNode {
    type Message = Message;
    type Command = GraphCommand;
    type Event = GraphEvent;

    /// Peer Graphing sends no datagrams; one arriving is ignored.
    fn handle_message(&mut self, _: Instant, _: Endpoint, _: Message) {}

    fn handle_timeout(&mut self, now: Instant) {
        self.on_timers(now);
    }

    fn handle_command(&mut self, now: Instant, cmd: GraphCommand) -> RequestId {
        let request = self.request_id();
        self.on_command(now, request, cmd);
        request
    }

    fn poll_transmit(&mut self) -> Option<Transmit<Message>> {
        None
    }

    fn poll_event(&mut self) -> Option<GraphEvent> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let conns = self.conns.values().filter_map(Conn::deadline).min();
        match (self.timers.min(), conns) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn handle_stream(&mut self, now: Instant, event: StreamEvent<Message>) {
        match event {
            StreamEvent::Connected { conn } => self.on_connected(now, conn),
            StreamEvent::Accepted { conn, from, .. } => self.on_accepted(now, conn, from),
            StreamEvent::Received { conn, msg } => self.on_received(now, conn, msg),
            StreamEvent::Closed { conn } | StreamEvent::Reset { conn } => self.end_conn(now, conn, None),
            StreamEvent::ConnectFailed { conn, .. } => {
                self.stats.connect_failures += 1;
                self.end_conn(now, conn, None);
            }
        }
    }

    fn poll_stream(&mut self) -> Option<StreamCommand<Message>> {
        self.streams.pop_front()
    }

    fn listens(&self, port: u16) -> bool {
        self.listening && port == self.listen.port
    }
}
