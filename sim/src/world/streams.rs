//! Stream connections in the world (docs/architecture.md §4 "Stream transport"): the engines'
//! `StreamCommand`s go to one [`StreamModel`] per world, its outputs come back to the engines as
//! `StreamEvent`s, and its deadlines ride the world's event queue (`Ev::Streams`).
//!
//! The model is created at the first command, so a protocol that never opens a connection (PNRP)
//! draws nothing more and keeps its fingerprint. What the world adds to the model:
//! - **Ids**: a node names the connections it opens; the world numbers those it accepts
//!   (`ConnId::accepted`, per peer, never reused) and maps both onto the model's flows.
//! - **Listening**: a SYN is accepted only if the target's engine `listens(port)` when it
//!   arrives; otherwise the host answers with an RST (`Refused`).
//! - **Addresses**: a connect to a peer's current address reaches it; to an address it had
//!   before an address change, or that belongs to no peer, it finds no host (`TimedOut`, or
//!   `Unreachable` when the address is on the sender's own subnet). A connector's own port is
//!   an ephemeral one, `49152 + flow mod 16384` (RFC 6335 §6's dynamic range).
//! - **Peers going away**: a crash takes the host down (the far side learns at its next segment:
//!   RST once the peer is back, timeout while it is down); a graceful leave first gives the
//!   engine its leave command (its Close commands go out), then resets what it still held,
//!   and its host stays up (later SYNs are refused). An address change resets the peer's
//!   connections (`Reset` to it; the far side times out).
//! - **Closed**: after `Closed` the node hears nothing more of the connection, so the world
//!   closes its end too (as the live driver closes the socket).

use super::{Core, Ev, Protocol};
use crate::addr;
use crate::net::stream::{
    self, ConnectFailure as ModelFailure, End, FlowId, Output, ResetCause, StreamConfig, StreamModel, Target,
};
use peerlab_engine::{ConnId, ConnectFailure, Endpoint, Node, StreamCommand, StreamEvent};
use std::collections::BTreeMap;

/// Fingerprint code of the stream model's deadline (the world's own codes: 1 to 10, 250, 251).
pub(super) const FOLD_STREAM_TIMER: u64 = 250;
/// Fingerprint code of a stream event handed to an engine.
pub(super) const FOLD_STREAM_EVENT: u64 = 251;
/// First port of the dynamic range connectors' ports come from (RFC 6335 §6).
const EPHEMERAL_FIRST: u16 = 49_152;
/// Ports in the dynamic range.
const EPHEMERAL_PORTS: u64 = 16_384;

/// A connection as the world knows it.
struct Conn {
    /// Connector's and acceptor's endpoints (the connector's port is ephemeral).
    ends: [Endpoint; 2],
    /// Each end's holder: the peer and its id for the connection, while its engine holds it.
    holders: [Option<(u32, ConnId)>; 2],
}

/// The world's stream state: the model and the ids on both sides of it.
pub(super) struct Conns<M> {
    pub(super) model: StreamModel<M>,
    conns: BTreeMap<u64, Conn>,
    by_peer: BTreeMap<(u32, ConnId), (u64, End)>,
    /// Connections accepted so far, per peer (`ConnId::accepted` numbers).
    accepted: Vec<u64>,
    /// The instant an `Ev::Streams` is queued for (the earliest one pending), if any.
    armed: Option<peerlab_engine::Instant>,
}

/// Connection and stream-event figures for an observer.
#[derive(Clone, Copy, Debug)]
pub struct StreamInfo {
    /// The model's number for the connection (unique in the run).
    pub flow: u64,
    /// The end the event happens at.
    pub end: End,
    /// Connector's and acceptor's endpoints.
    pub ends: [Endpoint; 2],
    /// Why the connection was reset, for a `Reset` event.
    pub cause: Option<ResetCause>,
}

pub(super) fn failure(f: ModelFailure) -> ConnectFailure {
    match f {
        ModelFailure::Refused => ConnectFailure::Refused,
        ModelFailure::TimedOut => ConnectFailure::TimedOut,
        ModelFailure::Unreachable => ConnectFailure::Unreachable,
    }
}

/// A small code per stream event kind, for the fingerprint.
fn event_code<M>(e: &StreamEvent<M>) -> u64 {
    match e {
        StreamEvent::Connected { .. } => 1,
        StreamEvent::Accepted { .. } => 2,
        StreamEvent::Received { .. } => 3,
        StreamEvent::Closed { .. } => 4,
        StreamEvent::Reset { .. } => 5,
        StreamEvent::ConnectFailed { reason, .. } => 6 + *reason as u64,
    }
}

impl<P: Protocol> Core<P> {
    /// The world's stream state, created at the first stream command.
    fn conns(&mut self) -> &mut Conns<P::Message> {
        let n = self.peers.len();
        self.conns.get_or_insert_with(|| {
            Box::new(Conns {
                model: StreamModel::new(StreamConfig::default()),
                conns: BTreeMap::new(),
                by_peer: BTreeMap::new(),
                accepted: vec![0; n],
                armed: None,
            })
        })
    }

    /// Stream counters, when a connection was ever opened.
    pub fn stream_stats(&self) -> Option<&stream::StreamStats> {
        self.conns.as_ref().map(|c| c.model.stats())
    }

    /// Where a connect from `from` to `to` goes (module docs).
    fn stream_target(&self, from: u32, to: &Endpoint) -> Target {
        let subnet = |p: u32| self.net.subnets().and_then(|s| s.subnet_of(p));
        match addr::peer_of_addr(&to.addr).filter(|(i, _)| (*i as usize) < self.peers.len()) {
            Some((i, g)) if self.generations[i as usize] == g => Target::Node {
                node: i,
                port: to.port,
            },
            Some((i, _)) => Target::NoHost {
                on_link: subnet(i).is_some() && subnet(i) == subnet(from),
            },
            None => Target::NoHost { on_link: false },
        }
    }

    /// One stream command of peer `peer`'s engine, taken during its drain.
    pub(super) fn stream_command(&mut self, peer: u32, cmd: StreamCommand<P::Message>) {
        let now = self.now;
        match cmd {
            StreamCommand::Connect { conn, to } => {
                if self.conns().by_peer.contains_key(&(peer, conn)) {
                    *self.traffic.dropped.entry("stream_conn_in_use").or_default() += 1;
                    return;
                }
                self.check_destination(peer, &to);
                let target = self.stream_target(peer, &to);
                let generation = self.generations[peer as usize];
                let Some(c) = self.conns.as_deref_mut() else {
                    return;
                };
                let flow = c.model.connect(now, &mut self.net, peer, target).0;
                let mut local = addr::endpoint_of(peer, generation);
                local.port = EPHEMERAL_FIRST + (flow % EPHEMERAL_PORTS) as u16;
                c.conns.insert(
                    flow,
                    Conn {
                        ends: [local, to],
                        holders: [Some((peer, conn)), None],
                    },
                );
                c.by_peer.insert((peer, conn), (flow, End::Connector));
            }
            StreamCommand::Send { conn, msg } => self.stream_send(peer, conn, msg),
            StreamCommand::Close { conn } | StreamCommand::Reset { conn } => {
                let close = matches!(cmd, StreamCommand::Close { .. });
                let Some((flow, end)) = self.release(peer, conn) else {
                    *self.traffic.dropped.entry("stream_unknown_conn").or_default() += 1;
                    return;
                };
                let c = self.conns.as_deref_mut().expect("a released connection exists");
                let (model, net) = (&mut c.model, &mut self.net);
                let done = if close {
                    model.close(now, net, FlowId(flow), end)
                } else {
                    model.reset(now, net, FlowId(flow), end)
                };
                if done.is_err() {
                    *self.traffic.dropped.entry("stream_not_open").or_default() += 1;
                }
            }
        }
    }

    fn stream_send(&mut self, peer: u32, conn: ConnId, msg: P::Message) {
        let Some(&(flow, end)) = self.conns().by_peer.get(&(peer, conn)) else {
            *self.traffic.dropped.entry("stream_unknown_conn").or_default() += 1;
            return;
        };
        let msg = if self.plan.wire_bytes {
            self.round_trip(msg)
        } else {
            Some(msg)
        };
        let Some(msg) = msg else { return };
        let bytes = P::encoded_len(&msg);
        let kind = P::message_kind(&msg);
        self.traffic.messages[kind] += 1;
        self.traffic.bytes[kind] += bytes as u64;
        let (now, event) = (self.now, self.events);
        let c = self.conns.as_deref_mut().expect("created above");
        if let Some(obs) = self.observer.as_mut() {
            let info = StreamInfo {
                flow,
                end,
                ends: c.conns[&flow].ends,
                cause: None,
            };
            obs.on_stream_send(now, event, peer, &info, &msg);
        }
        let sent = c
            .model
            .send(now, &mut self.net, FlowId(flow), end, bytes as u32, msg);
        if sent.is_err() {
            *self.traffic.dropped.entry("stream_not_open").or_default() += 1;
        }
    }

    /// Forgets `peer`'s hold on `conn`; the model's flow and end, if it held one.
    fn release(&mut self, peer: u32, conn: ConnId) -> Option<(u64, End)> {
        let c = self.conns.as_deref_mut()?;
        let (flow, end) = c.by_peer.remove(&(peer, conn))?;
        if let Some(x) = c.conns.get_mut(&flow) {
            x.holders[end as usize] = None;
            if x.holders.iter().all(Option::is_none) {
                c.conns.remove(&flow);
            }
        }
        Some((flow, end))
    }

    /// The stream model's deadline is due (`Ev::Streams`).
    pub(super) fn stream_timer(&mut self, proto: &mut P) {
        let now = self.now;
        let Some(c) = self.conns.as_deref_mut() else {
            return;
        };
        if c.armed.is_some_and(|t| t <= now) {
            c.armed = None;
        }
        let peers = &self.peers;
        let mut listens = |node: u32, port: u16| {
            peers
                .get(node as usize)
                .and_then(|p| p.node.as_deref())
                .is_some_and(|n| n.listens(port))
        };
        c.model.handle_timeout_with(now, &mut self.net, &mut listens);
        self.flush_streams(proto);
    }

    /// Hands every pending output of the model to its engine (each drained, which may add more),
    /// then queues the model's next deadline.
    pub(super) fn flush_streams(&mut self, proto: &mut P) {
        while let Some(out) = self.conns.as_deref_mut().and_then(|c| c.model.poll_event()) {
            self.stream_output(proto, out);
        }
        let now = self.now;
        let Some(c) = self.conns.as_deref_mut() else {
            return;
        };
        let Some(t) = c.model.poll_timeout() else { return };
        let t = t.max(now);
        if c.armed.is_none_or(|a| t < a) {
            c.armed = Some(t);
            self.queue.push(t, Ev::Streams);
        }
    }

    fn stream_output(&mut self, proto: &mut P, out: Output<P::Message>) {
        debug_assert!(out.at <= self.now, "stream outputs are due when taken");
        let (peer, flow, end) = (out.node, out.flow.0, out.end);
        let online = self.peers[peer as usize].online();
        let c = self.conns.as_deref_mut().expect("an output comes from the model");
        let conn = match &out.event {
            stream::StreamEvent::Accepted { .. } => {
                let holds = c.conns.get(&flow).is_some_and(|x| x.holders[0].is_some());
                if !online || !holds {
                    // No engine to take it, or no connector any more: the host aborts it.
                    let _ = c.model.reset(self.now, &mut self.net, out.flow, end);
                    return;
                }
                let n = c.accepted[peer as usize];
                c.accepted[peer as usize] += 1;
                let conn = ConnId::accepted(n);
                let x = c.conns.get_mut(&flow).expect("checked above");
                x.holders[End::Acceptor as usize] = Some((peer, conn));
                c.by_peer.insert((peer, conn), (flow, End::Acceptor));
                conn
            }
            _ => match c.conns.get(&flow).and_then(|x| x.holders[end as usize]) {
                Some((holder, conn)) if holder == peer && online => conn,
                _ => return,
            },
        };
        let ends = c.conns[&flow].ends;
        let cause = match out.event {
            stream::StreamEvent::Reset(cause) => Some(cause),
            _ => None,
        };
        let event = match out.event {
            stream::StreamEvent::Connected => StreamEvent::Connected { conn },
            stream::StreamEvent::Accepted { port, .. } => StreamEvent::Accepted {
                conn,
                from: ends[0],
                local_port: port,
            },
            stream::StreamEvent::Received(msg) => StreamEvent::Received { conn, msg },
            stream::StreamEvent::Closed => StreamEvent::Closed { conn },
            stream::StreamEvent::Reset(_) => StreamEvent::Reset { conn },
            stream::StreamEvent::ConnectFailed(r) => StreamEvent::ConnectFailed {
                conn,
                reason: failure(r),
            },
        };
        let extra = match &event {
            StreamEvent::Received { msg, .. } => P::fold_message(msg),
            _ => 0,
        };
        self.fp.mix_all(&[
            self.now.as_micros(),
            FOLD_STREAM_EVENT | (u64::from(peer) << 8),
            event_code(&event),
            extra,
        ]);
        if let Some(obs) = self.observer.as_mut() {
            let info = StreamInfo {
                flow,
                end,
                ends,
                cause,
            };
            obs.on_stream_event(self.now, self.events, peer, &info, &event);
        }
        let finished = matches!(
            event,
            StreamEvent::Closed { .. } | StreamEvent::Reset { .. } | StreamEvent::ConnectFailed { .. }
        );
        let closed = matches!(event, StreamEvent::Closed { .. });
        if finished {
            self.release(peer, conn);
        }
        if closed {
            // The node hears nothing more of it: its side closes too.
            let c = self.conns.as_deref_mut().expect("exists");
            let _ = c.model.close(self.now, &mut self.net, out.flow, end);
        }
        let now = self.now;
        if let Some(node) = self.peers[peer as usize].node.as_mut() {
            node.handle_stream(now, event);
        }
        self.drain(proto, peer);
    }

    /// Peer `peer`'s engine is gone: a crash takes its host down and its connections vanish
    /// silently; after a graceful leave its host stays up and resets what the engine still held.
    pub(super) fn streams_offline(&mut self, peer: u32, graceful: bool) {
        if !graceful {
            self.net.set_host_down(peer, true);
        }
        let now = self.now;
        let Some(c) = self.conns.as_deref_mut() else {
            return;
        };
        let held: Vec<ConnId> = c
            .by_peer
            .range((peer, ConnId(0))..=(peer, ConnId(u64::MAX)))
            .map(|(k, _)| k.1)
            .collect();
        for conn in held {
            if let Some((flow, end)) = self.release(peer, conn) {
                if graceful {
                    let c = self.conns.as_deref_mut().expect("exists");
                    let _ = c.model.reset(now, &mut self.net, FlowId(flow), end);
                }
            }
        }
        if !graceful {
            let c = self.conns.as_deref_mut().expect("exists");
            c.model.node_down(now, &mut self.net, peer);
        }
    }

    /// Peer `peer` moved: the model resets its connections (the `Reset`s reach it at the flush).
    pub(super) fn streams_address_changed(&mut self, peer: u32) {
        let now = self.now;
        if let Some(c) = self.conns.as_deref_mut() {
            c.model.address_changed(now, &mut self.net, peer);
        }
    }
}
