//! The stream model's inputs and control timers: connect and the handshake, send, close, reset,
//! crashes and address changes, RSTs (rules in the module docs of `stream`; the data path is in
//! `transfer.rs`).

use super::{
    backoff, ConnectFailure, Dir, End, EndPt, Flow, FlowId, Payload, Phase, ResetCause, State, StreamError,
    StreamEvent, StreamModel, Target, Timer,
};
use crate::net::{Delivery, NetModel};
use peerlab_engine::{Duration, Instant};

impl<M> StreamModel<M> {
    /// `from` opens a connection to `to` at `now`; the outcome arrives as `Connected` or
    /// `ConnectFailed` for [`End::Connector`].
    pub fn connect(&mut self, now: Instant, net: &mut NetModel, from: u32, to: Target) -> FlowId {
        self.stats.connects += 1;
        let id = self.next_flow;
        self.next_flow += 1;
        let (node, port) = match to {
            Target::Node { node, port } => (Some(node), port),
            Target::NoHost { .. } => (None, 0),
        };
        let far = node.unwrap_or(from);
        let end = |node, state| EndPt {
            node,
            state,
            out: Dir::default(),
        };
        self.flows.insert(
            id,
            Flow {
                // The acceptor's end is `Gone` until it accepts: nothing can reach it before.
                ends: [end(from, State::Open), end(far, State::Gone)],
                phase: Phase::Connecting { to: node },
                accepted: false,
                port,
                rto: self.cfg.rto_initial.max(self.cfg.rto_min),
                links: [net.path_links(from, far), net.path_links(far, from)],
            },
        );
        match to {
            Target::NoHost { on_link: true } => {
                self.schedule(now + self.cfg.nd_timeout, Timer::Unreachable { flow: id });
            }
            _ => self.on_syn(now, net, id, 0),
        }
        FlowId(id)
    }

    /// Queues a `bytes`-long message on `end` of `flow`; it is delivered to the other end in
    /// order, after every message queued before it.
    pub fn send(
        &mut self,
        now: Instant,
        net: &mut NetModel,
        flow: FlowId,
        end: End,
        bytes: u32,
        msg: M,
    ) -> Result<(), StreamError> {
        self.push(now, net, flow, end, Payload::Data { bytes, msg })
    }

    /// Closes `end` of `flow` gracefully: a FIN follows the queued messages.
    pub fn close(
        &mut self,
        now: Instant,
        net: &mut NetModel,
        flow: FlowId,
        end: End,
    ) -> Result<(), StreamError> {
        if self.connecting(flow) {
            return self.reset(now, net, flow, end);
        }
        self.push(now, net, flow, end, Payload::Fin)?;
        self.end_mut(flow.0, end).state = State::Closing;
        Ok(())
    }

    /// Aborts `end` of `flow`: queued data is dropped and an RST goes to the other end.
    pub fn reset(
        &mut self,
        now: Instant,
        net: &mut NetModel,
        flow: FlowId,
        end: End,
    ) -> Result<(), StreamError> {
        let f = self.flows.get(&flow.0).ok_or(StreamError::UnknownFlow)?;
        if !matches!(f.ends[end.index()].state, State::Open | State::Closing) {
            return Err(StreamError::NotOpen);
        }
        let peer_reachable = f.phase == Phase::Open || f.accepted;
        self.abort(now, net, flow.0, end);
        if peer_reachable {
            self.send_rst(now, net, flow.0, end);
        }
        self.finish_if_done(flow.0);
        Ok(())
    }

    /// `node` crashed: its connections vanish without a word (module docs); its listeners too.
    pub fn node_down(&mut self, now: Instant, net: &mut NetModel, node: u32) {
        let ids: Vec<u64> = self.flows.keys().copied().collect();
        for id in ids {
            for end in [End::Connector, End::Acceptor] {
                let e = &self.flows[&id].ends[end.index()];
                if e.node == node && matches!(e.state, State::Open | State::Closing) {
                    self.abort(now, net, id, end);
                }
            }
            self.finish_if_done(id);
        }
        let theirs: Vec<(u32, u16)> = self
            .listeners
            .range((node, 0)..=(node, u16::MAX))
            .copied()
            .collect();
        for l in theirs {
            self.listeners.remove(&l);
        }
    }

    /// `node`'s address went away: its open connections are reset locally; segments sent to it
    /// afterwards reach no host.
    pub fn address_changed(&mut self, now: Instant, net: &mut NetModel, node: u32) {
        let ids: Vec<u64> = self.flows.keys().copied().collect();
        for id in ids {
            let f = self.flows.get_mut(&id).expect("id listed above");
            if f.phase == (Phase::Connecting { to: Some(node) }) && !f.accepted {
                f.phase = Phase::Connecting { to: None };
            }
            for end in [End::Connector, End::Acceptor] {
                let f = &self.flows[&id];
                let e = &f.ends[end.index()];
                if e.node != node || !matches!(e.state, State::Open | State::Closing) {
                    continue;
                }
                let event = match (f.phase, end) {
                    (Phase::Connecting { .. }, End::Connector) => {
                        StreamEvent::ConnectFailed(ConnectFailure::Unreachable)
                    }
                    _ => StreamEvent::Reset(ResetCause::AddressGone),
                };
                if e.state == State::Open {
                    self.emit(now, node, id, end, event);
                }
                self.abort(now, net, id, end);
                self.end_mut(id, end).state = State::NoAddress;
            }
            self.finish_if_done(id);
        }
    }

    /// Runs every timer due at or before `now`, each at its own instant; a SYN finds a listener
    /// only where [`listen`](Self::listen) put one.
    pub fn handle_timeout(&mut self, now: Instant, net: &mut NetModel) {
        self.handle_timeout_with(now, net, &mut |_, _| false);
    }

    /// As [`handle_timeout`](Self::handle_timeout), and a SYN reaching `node` on `port` also finds
    /// a listener when `listens(node, port)` holds (the world asks the node's engine, as a host's
    /// TCP stack asks its sockets when the SYN arrives).
    pub fn handle_timeout_with(
        &mut self,
        now: Instant,
        net: &mut NetModel,
        listens: &mut dyn FnMut(u32, u16) -> bool,
    ) {
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let ((at, _), timer) = entry.remove_entry();
            self.fire(at, net, timer, listens);
        }
    }

    pub(super) fn fire(
        &mut self,
        t: Instant,
        net: &mut NetModel,
        timer: Timer,
        listens: &mut dyn FnMut(u32, u16) -> bool,
    ) {
        match timer {
            Timer::Syn { flow, attempt } => self.on_syn(t, net, flow, attempt),
            Timer::SynArrive { flow, sent, attempt } => {
                let listening = self.flows.get(&flow).and_then(|f| match f.phase {
                    Phase::Connecting { to: Some(to) } => Some(listens(to, f.port)),
                    _ => None,
                });
                self.on_syn_arrive(t, net, flow, sent, attempt, listening.unwrap_or(false))
            }
            Timer::SynAck { flow, rtt, retried } => self.on_syn_ack(t, net, flow, rtt, retried),
            Timer::Refused { flow } => self.fail_connect(t, flow, ConnectFailure::Refused),
            Timer::Unreachable { flow } => self.fail_connect(t, flow, ConnectFailure::Unreachable),
            Timer::Tick { version } if version == self.version => self.on_tick(t, net),
            Timer::Tick { .. } => {}
            Timer::Retransmit { flow, end, seq } => self.transmit_lost(t, net, flow, end, seq),
            Timer::Arrive { flow, end, seq } => self.on_arrive(t, net, flow, end, seq),
            Timer::Rst { flow, to } => self.on_rst(t, net, flow, to),
        }
    }

    pub(super) fn connecting(&self, flow: FlowId) -> bool {
        self.flows
            .get(&flow.0)
            .is_some_and(|f| matches!(f.phase, Phase::Connecting { .. }))
    }

    pub(super) fn end_mut(&mut self, flow: u64, end: End) -> &mut EndPt<M> {
        &mut self.flows.get_mut(&flow).expect("caller checked the flow").ends[end.index()]
    }

    pub(super) fn push(
        &mut self,
        now: Instant,
        net: &mut NetModel,
        flow: FlowId,
        end: End,
        p: Payload<M>,
    ) -> Result<(), StreamError> {
        let f = self.flows.get_mut(&flow.0).ok_or(StreamError::UnknownFlow)?;
        let e = &mut f.ends[end.index()];
        if e.state != State::Open {
            return Err(StreamError::NotOpen);
        }
        e.out.queue.push_back(p);
        self.reshare(now, net);
        Ok(())
    }

    /// SYN number `attempt` leaves (or, past the retries, the connect times out).
    pub(super) fn on_syn(&mut self, t: Instant, net: &mut NetModel, id: u64, attempt: u32) {
        let Some(f) = self.flows.get(&id) else { return };
        let Phase::Connecting { to } = f.phase else { return };
        if f.ends[0].state != State::Open {
            return;
        }
        if attempt > self.cfg.syn_retries {
            if f.accepted {
                self.abort_with(t, net, id, End::Acceptor, ResetCause::TimedOut);
            }
            self.fail_connect(t, id, ConnectFailure::TimedOut);
            return;
        }
        self.stats.segments += 1;
        self.stats.bytes += u64::from(self.cfg.header_bytes);
        let from = f.ends[0].node;
        if let Some(to) = to {
            if let Delivery::At(at) = net.segment(t, from, to) {
                self.schedule(
                    at,
                    Timer::SynArrive {
                        flow: id,
                        sent: t,
                        attempt,
                    },
                );
            }
        }
        let next = t + backoff(self.cfg.syn_rto, attempt, Duration::MAX);
        self.schedule(
            next,
            Timer::Syn {
                flow: id,
                attempt: attempt + 1,
            },
        );
    }

    pub(super) fn on_syn_arrive(
        &mut self,
        t: Instant,
        net: &mut NetModel,
        id: u64,
        sent: Instant,
        attempt: u32,
        listening: bool,
    ) {
        let Some(f) = self.flows.get(&id) else { return };
        let Phase::Connecting { to: Some(to) } = f.phase else {
            return;
        };
        if net.host_is_down(to) {
            return;
        }
        let (from, port) = (f.ends[0].node, f.port);
        self.stats.segments += 1;
        self.stats.bytes += u64::from(self.cfg.header_bytes);
        let answer = net.segment(t, to, from);
        if !listening && !self.listeners.contains(&(to, port)) {
            if let Delivery::At(at) = answer {
                self.schedule(at, Timer::Refused { flow: id });
            }
            return;
        }
        if !f.accepted {
            let f = self.flows.get_mut(&id).expect("checked above");
            f.accepted = true;
            f.ends[1].state = State::Open;
            self.emit(t, to, id, End::Acceptor, StreamEvent::Accepted { from, port });
        }
        if let Delivery::At(at) = answer {
            let rtt = at.saturating_since(sent);
            self.schedule(
                at,
                Timer::SynAck {
                    flow: id,
                    rtt,
                    retried: attempt > 0,
                },
            );
        }
    }

    pub(super) fn on_syn_ack(
        &mut self,
        t: Instant,
        net: &mut NetModel,
        id: u64,
        rtt: Duration,
        retried: bool,
    ) {
        let Some(f) = self.flows.get_mut(&id) else { return };
        if f.phase == Phase::Open || f.ends[0].state != State::Open {
            return;
        }
        f.phase = Phase::Open;
        // RFC 6298 §2.2 with SRTT = R, RTTVAR = R/2: RTO = R + 4·R/2; §5.7 after a retried SYN.
        let mut rto = rtt.saturating_mul(3).max(self.cfg.rto_min);
        if retried {
            rto = rto.max(Duration::from_secs(3));
        }
        f.rto = rto.min(self.cfg.rto_max);
        let node = f.ends[0].node;
        self.emit(t, node, id, End::Connector, StreamEvent::Connected);
        self.reshare(t, net);
    }

    pub(super) fn fail_connect(&mut self, t: Instant, id: u64, why: ConnectFailure) {
        let Some(f) = self.flows.get(&id) else { return };
        if f.phase == Phase::Open || f.ends[0].state != State::Open {
            return;
        }
        let node = f.ends[0].node;
        self.emit(t, node, id, End::Connector, StreamEvent::ConnectFailed(why));
        self.flows.remove(&id);
    }

    /// Sends an RST from `from` to the other end at `t`.
    pub(super) fn send_rst(&mut self, t: Instant, net: &mut NetModel, id: u64, from: End) {
        let Some(f) = self.flows.get(&id) else { return };
        let (a, b) = (f.ends[from.index()].node, f.ends[from.peer().index()].node);
        self.stats.segments += 1;
        self.stats.bytes += u64::from(self.cfg.header_bytes);
        if let Delivery::At(at) = net.segment(t, a, b) {
            self.schedule(
                at,
                Timer::Rst {
                    flow: id,
                    to: from.peer(),
                },
            );
        }
    }

    pub(super) fn on_rst(&mut self, t: Instant, net: &mut NetModel, id: u64, to: End) {
        if let Some(f) = self.flows.get(&id) {
            if matches!(f.ends[to.index()].state, State::Open | State::Closing) {
                self.abort_with(t, net, id, to, ResetCause::Rst);
            }
        }
        self.finish_if_done(id);
    }

    /// Aborts `end`, telling its application (if it still holds the connection) why.
    pub(super) fn abort_with(
        &mut self,
        t: Instant,
        net: &mut NetModel,
        id: u64,
        end: End,
        cause: ResetCause,
    ) {
        let e = &self.flows[&id].ends[end.index()];
        if e.state == State::Open {
            let node = e.node;
            self.emit(t, node, id, end, StreamEvent::Reset(cause));
        }
        self.abort(t, net, id, end);
    }

    /// `end` is gone: its queue, flight and receive buffer are dropped.
    pub(super) fn abort(&mut self, t: Instant, net: &mut NetModel, id: u64, end: End) {
        let f = self.flows.get_mut(&id).expect("caller checked the flow");
        let e = &mut f.ends[end.index()];
        e.state = State::Gone;
        e.out.queue.clear();
        e.out.inflight.clear();
        f.ends[end.peer().index()].out.arrived.clear();
        self.reshare(t, net);
    }

    /// Forgets `id` once neither end can send or receive.
    pub(super) fn finish_if_done(&mut self, id: u64) {
        let done = self.flows.get(&id).is_some_and(|f| {
            f.ends
                .iter()
                .all(|e| matches!(e.state, State::Gone | State::NoAddress) && e.out.inflight.is_empty())
        });
        if done {
            self.flows.remove(&id);
        }
    }
}
