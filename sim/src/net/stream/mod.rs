//! The stream (TCP) transport between simulated nodes: sans-IO, deterministic, over node indices
//! and the model's own [`FlowId`]s, carrying typed messages of a given byte length
//! (docs/architecture.md §4 "Stream transport").
//!
//! The world drives it: inputs are [`StreamModel::connect`], [`send`](StreamModel::send),
//! [`close`](StreamModel::close), [`reset`](StreamModel::reset), listeners
//! ([`listen`](StreamModel::listen)), [`node_down`](StreamModel::node_down) and
//! [`address_changed`](StreamModel::address_changed); each takes `now` and the [`NetModel`], whose
//! down nodes, partitions, loss model, loss and latency windows, latency and subnets every
//! segment goes through ([`NetModel::segment`]). Outputs are [`Output`]s stamped with the instant
//! they happen; the world takes them with [`poll_event`](StreamModel::poll_event) after every
//! input, and calls [`handle_timeout`](StreamModel::handle_timeout) at
//! [`poll_timeout`](StreamModel::poll_timeout) (str0m's drain rule).
//!
//! # Model (constants in [`StreamConfig`])
//! - **Handshake**: the SYN reaches the acceptor after ½ RTT: with a listener on the port it
//!   sees `Accepted` then, and the connector sees `Connected` when the SYN-ACK is back (1 RTT).
//!   Data flows in either direction only once the connector is connected, so data sent right after
//!   `connect` arrives after 1.5 RTT plus its transmission time. A lost SYN or SYN-ACK is retried
//!   after [`SYN_RTO`], doubling, [`SYN_RETRIES`] times: a SYN to a host that is down, cut off or
//!   gone fails `TimedOut` after 3 + 6 + 12 = 21 s (Windows: InitialRto 3,000 ms,
//!   TcpMaxConnectRetransmissions 2). A SYN to a live node without a listener on the port draws an
//!   RST: `Refused` after 1 RTT. A connect to an address where no host is ([`Target::NoHost`])
//!   fails `Unreachable` after [`ND_TIMEOUT`] when the address is on the sender's own link
//!   (neighbour discovery gives up: RFC 4861 §10, 3 solicitations 1 s apart), else `TimedOut`.
//! - **Data**: messages are framed and delivered whole, reliably and in order. A message of `n`
//!   bytes is `⌈n / MSS⌉` segments (at least one) of [`MSS_BYTES`] payload plus
//!   [`TCP_IPV6_HEADER_BYTES`] of IPv6 + TCP headers each. Once its last bit has left (bandwidth
//!   below), each segment draws its fate from the network; lost segments (loss, loss windows,
//!   partition, far host down) are retransmitted together after the RTO, which doubles at each
//!   further loss (RFC 6298 §5.5) up to [`RTO_MAX`]. The RTO is computed once from the handshake's
//!   RTT sample R: `R + 4·R/2 = 3R` (RFC 6298 §2.2), at least [`RTO_MIN`] (RFC 6298 §2.4), 3 s if
//!   the SYN was retried (§5.7); before that sample, [`RTO_INITIAL`] (§2.1). A message arrives when
//!   all its segments have, and is held until every earlier one was delivered. A segment lost more
//!   than [`DATA_RETRIES`] times in a row (Windows' TcpMaxDataRetransmissions) aborts the
//!   connection when the RTO after its last retransmission expires (1 + 2 + 4 + 8 + 16 + 32 =
//!   63 s with a 1 s RTO): `Reset` (timed out) to the sender, and an RST towards the far side.
//! - **Crash and reset**: a crashed node's connections vanish silently. The far side learns
//!   only when it next sends (keepalives are not modelled: an idle connection to a crashed peer
//!   stays open): if the host is up again (a new incarnation) its stack answers the segment with
//!   an RST and the sender sees `Reset`; while it stays down the segments are lost, retried, and
//!   the connection times out as above. An application reset sends an RST (`Reset` at the far
//!   side after one way, if it is not lost; else, as after a crash, at its next segment).
//!   An address change resets its node's connections locally (`Reset`, cause address gone); the
//!   far side's segments then reach no one and time out.
//! - **Close**: `close` queues a FIN behind the data already queued; the far side sees `Closed`
//!   after the last message. The closer's application has let go: data that still reaches it is
//!   answered with an RST (as Windows' `closesocket` does), a FIN is not. Closing or resetting a
//!   connection still connecting cancels it (an RST to the acceptor if it had accepted).
//! - **Bandwidth**: each direction of a connection with bytes to send shares every link of its
//!   path (sender's uplink, the subnets' WAN links, receiver's downlink) max-min fairly with the
//!   other active directions (`share.rs`); its rate is its bottleneck share. Simplifications: no
//!   slow start, congestion or receive window (a flow runs at its fair share from the first
//!   byte); retransmissions delay a message but take no bandwidth; pure ACKs are free. Stream
//!   traffic and the datagram FIFO queues of [`NetModel::send`] are separate: streams do not see
//!   datagram backlogs and datagrams do not see stream flows (a documented simplification; both
//!   respect each link's rate on their own).
//! - **Loopback** connections (a node to itself) deliver at once and never lose.

mod engine;
mod share;
#[cfg(test)]
mod tests;
mod transfer;

use super::{LinkId, NetModel, PathLinks};
use peerlab_engine::{Duration, Instant};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Maximum segment payload: an IPv6 path MTU of 1,500 bytes less 40 (IPv6) and 20 (TCP) header
/// bytes (RFC 8200, RFC 9293 §3.7.1), as on Ethernet.
pub const MSS_BYTES: u32 = 1_440;
/// IPv6 (40) + TCP (20, no options) header bytes per segment.
pub const TCP_IPV6_HEADER_BYTES: u32 = 60;
/// Retransmission timeout before any RTT sample (RFC 6298 §2.1).
pub const RTO_INITIAL: Duration = Duration::from_secs(1);
/// Least retransmission timeout (RFC 6298 §2.4 says 1 s; Linux uses 200 ms).
pub const RTO_MIN: Duration = Duration::from_secs(1);
/// Largest retransmission timeout after backoff (RFC 6298 §2.5: at least 60 s).
pub const RTO_MAX: Duration = Duration::from_secs(60);
/// First SYN retransmission timeout (Windows' InitialRto, 3,000 ms).
pub const SYN_RTO: Duration = Duration::from_secs(3);
/// SYN retransmissions before a connect times out (Windows' TcpMaxConnectRetransmissions).
pub const SYN_RETRIES: u32 = 2;
/// Retransmissions of one segment before the connection aborts (Windows' TcpMaxDataRetransmissions).
pub const DATA_RETRIES: u32 = 5;
/// Neighbour discovery's give-up time for an on-link address with no host (RFC 4861 §10:
/// MAX_MULTICAST_SOLICIT 3 × RETRANS_TIMER 1 s).
pub const ND_TIMEOUT: Duration = Duration::from_secs(3);

/// The stream model's constants (defaults: the module docs' values).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamConfig {
    /// Segment payload bytes.
    pub mss_bytes: u32,
    /// Header bytes per segment.
    pub header_bytes: u32,
    /// RTO before an RTT sample.
    pub rto_initial: Duration,
    /// Least RTO.
    pub rto_min: Duration,
    /// Largest RTO.
    pub rto_max: Duration,
    /// First SYN RTO.
    pub syn_rto: Duration,
    /// SYN retransmissions before `TimedOut`.
    pub syn_retries: u32,
    /// Retransmissions of a segment before the connection aborts.
    pub data_retries: u32,
    /// Time to `Unreachable` for an on-link address with no host.
    pub nd_timeout: Duration,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            mss_bytes: MSS_BYTES,
            header_bytes: TCP_IPV6_HEADER_BYTES,
            rto_initial: RTO_INITIAL,
            rto_min: RTO_MIN,
            rto_max: RTO_MAX,
            syn_rto: SYN_RTO,
            syn_retries: SYN_RETRIES,
            data_retries: DATA_RETRIES,
            nd_timeout: ND_TIMEOUT,
        }
    }
}

impl StreamConfig {
    /// Time from `connect` to `TimedOut` when no SYN is answered: `syn_rto · (2^(retries+1) − 1)`.
    pub fn connect_timeout(&self) -> Duration {
        (0..=self.syn_retries).fold(Duration::ZERO, |t, k| t + backoff(self.syn_rto, k, Duration::MAX))
    }

    /// Segments of a `bytes`-long message (at least one).
    pub fn segments(&self, bytes: u32) -> u32 {
        bytes.div_ceil(self.mss_bytes.max(1)).max(1)
    }

    /// Wire bytes of a `bytes`-long message, headers included.
    pub fn wire_bytes(&self, bytes: u32) -> u64 {
        u64::from(bytes) + u64::from(self.segments(bytes)) * u64::from(self.header_bytes)
    }
}

/// `base · 2^k`, at most `max`.
fn backoff(base: Duration, k: u32, max: Duration) -> Duration {
    let d = base.saturating_mul(1u64.checked_shl(k.min(63)).unwrap_or(u64::MAX));
    if d > max {
        max
    } else {
        d
    }
}

/// A connection, numbered by the model in `connect` order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FlowId(pub u64);

/// One end of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum End {
    /// The end that called `connect`.
    Connector,
    /// The end that accepted.
    Acceptor,
}

impl End {
    fn index(self) -> usize {
        self as usize
    }

    /// The other end.
    pub fn peer(self) -> End {
        match self {
            End::Connector => End::Acceptor,
            End::Acceptor => End::Connector,
        }
    }
}

/// Where a connect goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A node and port.
    Node {
        /// The node.
        node: u32,
        /// The port.
        port: u16,
    },
    /// An address where no host is (gone, or never existed).
    NoHost {
        /// Whether the address is on the sender's own link (its subnet).
        on_link: bool,
    },
}

/// Why a connect failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConnectFailure {
    /// An RST answered the SYN: no listener on the port.
    Refused,
    /// No answer after the SYN retries.
    TimedOut,
    /// No route to the address (neighbour discovery failed, or the local address went away).
    Unreachable,
}

impl ConnectFailure {
    /// Every reason, in `StreamStats::connect_failed` index order.
    pub const ALL: [ConnectFailure; 3] = [
        ConnectFailure::Refused,
        ConnectFailure::TimedOut,
        ConnectFailure::Unreachable,
    ];
}

/// Why a connection was reset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResetCause {
    /// The far side sent an RST.
    Rst,
    /// A segment went unanswered through every retransmission.
    TimedOut,
    /// The node's own address went away.
    AddressGone,
}

/// What happened, to whom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamEvent<M> {
    /// The connector's handshake completed.
    Connected,
    /// A connection from `from` was accepted on `port`.
    Accepted {
        /// The connecting node.
        from: u32,
        /// The local port.
        port: u16,
    },
    /// A message arrived, in order.
    Received(M),
    /// The far side closed gracefully (after its last message).
    Closed,
    /// The connection was reset.
    Reset(ResetCause),
    /// The connect failed.
    ConnectFailed(ConnectFailure),
}

/// An event for end `end` (on `node`) of connection `flow`, at `at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output<M> {
    /// When it happens.
    pub at: Instant,
    /// The node it happens to.
    pub node: u32,
    /// The connection.
    pub flow: FlowId,
    /// Which end.
    pub end: End,
    /// What happened.
    pub event: StreamEvent<M>,
}

/// Why an operation on a connection was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    /// No such connection (never existed, or finished).
    #[error("no such connection")]
    UnknownFlow,
    /// This end is closed, reset or not yet accepted.
    #[error("the connection is not open at this end")]
    NotOpen,
}

/// Stream counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamStats {
    /// `connect` calls.
    pub connects: u64,
    /// Handshakes completed.
    pub connected: u64,
    /// Segments put on the wire: SYN, SYN-ACK, RST, data and FIN, retransmissions included
    /// (pure ACKs are not modelled).
    pub segments: u64,
    /// Wire bytes of those segments, headers included.
    pub bytes: u64,
    /// Data and FIN segments retransmitted.
    pub retransmissions: u64,
    /// Messages delivered.
    pub delivered: u64,
    /// Payload bytes delivered.
    pub delivered_bytes: u64,
    /// `Reset` events delivered to an application.
    pub resets: u64,
    /// Failed connects, indexed as [`ConnectFailure::ALL`].
    pub connect_failed: [u64; 3],
}

/// What one direction carries.
enum Payload<M> {
    Data { bytes: u32, msg: M },
    Fin,
}

impl<M> Payload<M> {
    fn bytes(&self) -> u32 {
        match self {
            Payload::Data { bytes, .. } => *bytes,
            Payload::Fin => 0,
        }
    }
}

/// The state of one end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// The application holds it.
    Open,
    /// The application closed it; the FIN is queued or in flight.
    Closing,
    /// Finished, reset or crashed: segments reaching it get an RST while its host is up.
    Gone,
    /// Its address went away: segments reaching it find no host.
    NoAddress,
}

/// A message transmitted whose segments are not all through yet.
struct InFlight<M> {
    payload: Payload<M>,
    /// Segments still to get through.
    lost: u32,
    /// Retransmissions so far.
    attempt: u32,
    /// When the last segment through arrives.
    arrive: Instant,
}

/// One direction, from an end to its peer: the sender's queue and flight, the receiver's buffer.
struct Dir<M> {
    queue: VecDeque<Payload<M>>,
    /// Work left on the head of `queue`, 10⁻⁹ bit.
    head_left: u128,
    /// Current rate while active, bit/s.
    rate: u64,
    /// Sequence number of the next message to finish transmission.
    next_seq: u64,
    inflight: BTreeMap<u64, InFlight<M>>,
    /// Arrived, waiting for an earlier message.
    arrived: BTreeMap<u64, Payload<M>>,
    /// Sequence number of the next message to deliver.
    deliver_next: u64,
}

impl<M> Default for Dir<M> {
    fn default() -> Self {
        Dir {
            queue: VecDeque::new(),
            head_left: 0,
            rate: 0,
            next_seq: 0,
            inflight: BTreeMap::new(),
            arrived: BTreeMap::new(),
            deliver_next: 0,
        }
    }
}

/// One end of a connection and the direction it sends on.
struct EndPt<M> {
    node: u32,
    state: State,
    out: Dir<M>,
}

/// Handshake progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// SYNs going out; `to` is `None` when no host is at the address.
    Connecting {
        to: Option<u32>,
    },
    Open,
}

/// A connection.
struct Flow<M> {
    ends: [EndPt<M>; 2],
    phase: Phase,
    /// The acceptor's application has the connection.
    accepted: bool,
    port: u16,
    rto: Duration,
    /// Links of each end's direction.
    links: [PathLinks; 2],
}

/// The model's own timers.
#[derive(Clone, Copy, Debug)]
enum Timer {
    /// Send SYN number `attempt` (0 = the first), or give up after the last.
    Syn { flow: u64, attempt: u32 },
    /// A SYN sent at `sent` reaches the acceptor's host.
    SynArrive { flow: u64, sent: Instant, attempt: u32 },
    /// The SYN-ACK reaches the connector.
    SynAck { flow: u64, rtt: Duration, retried: bool },
    /// The RST answering a SYN reaches the connector.
    Refused { flow: u64 },
    /// Neighbour discovery gave up.
    Unreachable { flow: u64 },
    /// A shared link may have finished a transmission (stale unless `version` is current).
    Tick { version: u64 },
    /// Retransmit the lost segments of message `seq` sent by `end`.
    Retransmit { flow: u64, end: End, seq: u64 },
    /// Every segment of message `seq` from `end` has reached the far host.
    Arrive { flow: u64, end: End, seq: u64 },
    /// An RST reaches `to`.
    Rst { flow: u64, to: End },
}

/// TCP connections between the nodes of a [`NetModel`] (module docs).
pub struct StreamModel<M> {
    cfg: StreamConfig,
    flows: BTreeMap<u64, Flow<M>>,
    next_flow: u64,
    listeners: BTreeSet<(u32, u16)>,
    timers: BTreeMap<(Instant, u64), Timer>,
    timer_seq: u64,
    /// Directions with bytes to send, as (flow, end).
    active: BTreeSet<(u64, End)>,
    /// When the active directions' work was last brought up to date.
    shared_at: Instant,
    /// Bumped at every reshare; older `Tick`s are stale.
    version: u64,
    /// The pending `Tick`'s key, removed when a reshare replaces it.
    tick_key: Option<(Instant, u64)>,
    out: VecDeque<Output<M>>,
    stats: StreamStats,
}

impl<M> StreamModel<M> {
    /// No connections, no listeners.
    pub fn new(cfg: StreamConfig) -> Self {
        StreamModel {
            cfg,
            flows: BTreeMap::new(),
            next_flow: 0,
            listeners: BTreeSet::new(),
            timers: BTreeMap::new(),
            timer_seq: 0,
            active: BTreeSet::new(),
            shared_at: Instant::ZERO,
            version: 0,
            tick_key: None,
            out: VecDeque::new(),
            stats: StreamStats::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &StreamConfig {
        &self.cfg
    }

    /// Counters so far.
    pub fn stats(&self) -> &StreamStats {
        &self.stats
    }

    /// Connections not yet finished.
    pub fn open_flows(&self) -> usize {
        self.flows.len()
    }

    /// `node` accepts connections on `port` from now on.
    pub fn listen(&mut self, node: u32, port: u16) {
        self.listeners.insert((node, port));
    }

    /// `node` stops accepting on `port`.
    pub fn unlisten(&mut self, node: u32, port: u16) {
        self.listeners.remove(&(node, port));
    }

    /// The earliest instant [`handle_timeout`](Self::handle_timeout) has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.keys().next().map(|k| k.0)
    }

    /// The next output, in the order they happened.
    pub fn poll_event(&mut self) -> Option<Output<M>> {
        self.out.pop_front()
    }

    /// The current rate of `end`'s direction of `flow` in bit/s, while it has bytes to send
    /// (`u64::MAX` = no limited link on its path).
    pub fn rate_bps(&self, flow: FlowId, end: End) -> Option<u64> {
        self.active
            .contains(&(flow.0, end))
            .then(|| self.flows[&flow.0].ends[end.index()].out.rate)
    }

    fn schedule(&mut self, at: Instant, t: Timer) -> (Instant, u64) {
        self.timer_seq += 1;
        let key = (at, self.timer_seq);
        self.timers.insert(key, t);
        key
    }

    fn emit(&mut self, at: Instant, node: u32, flow: u64, end: End, event: StreamEvent<M>) {
        match &event {
            StreamEvent::Reset(_) => self.stats.resets += 1,
            StreamEvent::ConnectFailed(r) => self.stats.connect_failed[*r as usize] += 1,
            StreamEvent::Connected => self.stats.connected += 1,
            _ => {}
        }
        self.out.push_back(Output {
            at,
            node,
            flow: FlowId(flow),
            end,
            event,
        });
    }
}

/// A link's rate in bit/s in `net` (0 = unlimited).
fn capacity(net: &NetModel, l: LinkId) -> u64 {
    let wan = |s: u32| {
        net.subnets()
            .and_then(|x| x.list().get(s as usize))
            .map(|s| s.wan)
    };
    match l {
        LinkId::Up(n) => net.node_bandwidth(n).up_bps,
        LinkId::Down(n) => net.node_bandwidth(n).down_bps,
        LinkId::WanUp(s) => wan(s).map_or(0, |w| w.up_bps),
        LinkId::WanDown(s) => wan(s).map_or(0, |w| w.down_bps),
    }
}
