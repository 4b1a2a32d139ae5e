//! The stream model's inputs and timers: handshake, transmission, retransmission, in-order
//! delivery, close and reset (rules in the module docs of `stream`).

use super::share::{max_min_rates, ns_for, work, UNLIMITED};
use super::{
    backoff, capacity, ConnectFailure, Dir, End, EndPt, Flow, FlowId, InFlight, Payload, Phase, ResetCause,
    State, StreamError, StreamEvent, StreamModel, Target, Timer,
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

    /// Runs every timer due at or before `now`, each at its own instant.
    pub fn handle_timeout(&mut self, now: Instant, net: &mut NetModel) {
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let ((at, _), timer) = entry.remove_entry();
            self.fire(at, net, timer);
        }
    }

    fn fire(&mut self, t: Instant, net: &mut NetModel, timer: Timer) {
        match timer {
            Timer::Syn { flow, attempt } => self.on_syn(t, net, flow, attempt),
            Timer::SynArrive { flow, sent, attempt } => self.on_syn_arrive(t, net, flow, sent, attempt),
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

    fn connecting(&self, flow: FlowId) -> bool {
        self.flows
            .get(&flow.0)
            .is_some_and(|f| matches!(f.phase, Phase::Connecting { .. }))
    }

    fn end_mut(&mut self, flow: u64, end: End) -> &mut EndPt<M> {
        &mut self.flows.get_mut(&flow).expect("caller checked the flow").ends[end.index()]
    }

    fn push(
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
    fn on_syn(&mut self, t: Instant, net: &mut NetModel, id: u64, attempt: u32) {
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

    fn on_syn_arrive(&mut self, t: Instant, net: &mut NetModel, id: u64, sent: Instant, attempt: u32) {
        let Some(f) = self.flows.get(&id) else { return };
        let Phase::Connecting { to: Some(to) } = f.phase else {
            return;
        };
        if net.is_down(to) {
            return;
        }
        let (from, port) = (f.ends[0].node, f.port);
        self.stats.segments += 1;
        self.stats.bytes += u64::from(self.cfg.header_bytes);
        let answer = net.segment(t, to, from);
        if !self.listeners.contains(&(to, port)) {
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

    fn on_syn_ack(&mut self, t: Instant, net: &mut NetModel, id: u64, rtt: Duration, retried: bool) {
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

    fn fail_connect(&mut self, t: Instant, id: u64, why: ConnectFailure) {
        let Some(f) = self.flows.get(&id) else { return };
        if f.phase == Phase::Open || f.ends[0].state != State::Open {
            return;
        }
        let node = f.ends[0].node;
        self.emit(t, node, id, End::Connector, StreamEvent::ConnectFailed(why));
        self.flows.remove(&id);
    }

    /// Brings every active direction's work up to `t`.
    fn advance(&mut self, t: Instant) {
        let dt_ns = u128::from(t.saturating_since(self.shared_at).as_micros()) * 1_000;
        self.shared_at = self.shared_at.max(t);
        for &(id, end) in &self.active {
            let d = &mut self.flows.get_mut(&id).expect("active flows exist").ends[end.index()].out;
            d.head_left = match d.rate {
                UNLIMITED => 0,
                r => d.head_left.saturating_sub(u128::from(r) * dt_ns),
            };
        }
    }

    /// Whether `end`'s direction of `f` has bytes to send now.
    fn wants_link(f: &Flow<M>, end: End) -> bool {
        let e = &f.ends[end.index()];
        f.phase == Phase::Open && matches!(e.state, State::Open | State::Closing) && !e.out.queue.is_empty()
    }

    /// Brings work up to `t`, updates the active set, recomputes every rate and schedules the
    /// next completion.
    fn reshare(&mut self, t: Instant, net: &NetModel) {
        self.advance(t);
        let before = std::mem::take(&mut self.active);
        let mut active = before.clone();
        active.retain(|(id, end)| self.flows.get(id).is_some_and(|f| Self::wants_link(f, *end)));
        for (&id, f) in &self.flows {
            for end in [End::Connector, End::Acceptor] {
                if Self::wants_link(f, end) && !active.contains(&(id, end)) {
                    active.insert((id, end));
                }
            }
        }
        // Directions that just became active start their head message.
        for &(id, end) in &active {
            if !before.contains(&(id, end)) {
                let d = &mut self.flows.get_mut(&id).expect("active").ends[end.index()].out;
                let head = d.queue.front().map_or(0, Payload::bytes);
                d.head_left = work(self.cfg.wire_bytes(head));
            }
        }
        self.active = active;
        let paths: Vec<&[crate::net::LinkId]> = self
            .active
            .iter()
            .map(|(id, end)| self.flows[id].links[end.index()].as_slice())
            .collect();
        let rates = max_min_rates(&paths, |l| capacity(net, l));
        let mut soonest = u64::MAX;
        let keys: Vec<(u64, End)> = self.active.iter().copied().collect();
        for ((id, end), rate) in keys.into_iter().zip(rates) {
            let d = &mut self.flows.get_mut(&id).expect("active").ends[end.index()].out;
            d.rate = rate;
            soonest = soonest.min(ns_for(d.head_left, rate));
        }
        self.version += 1;
        if let Some(k) = self.tick_key.take() {
            self.timers.remove(&k);
        }
        if soonest != u64::MAX {
            let at = self.shared_at + Duration::from_micros(soonest.div_ceil(1_000));
            self.tick_key = Some(self.schedule(
                at,
                Timer::Tick {
                    version: self.version,
                },
            ));
        }
    }

    /// Finishes every head whose last bit has left, then reshares.
    fn on_tick(&mut self, t: Instant, net: &mut NetModel) {
        self.tick_key = None;
        self.advance(t);
        let keys: Vec<(u64, End)> = self.active.iter().copied().collect();
        for (id, end) in keys {
            while let Some(f) = self.flows.get_mut(&id) {
                let d = &mut f.ends[end.index()].out;
                if d.head_left > 0 {
                    break;
                }
                let Some(p) = d.queue.pop_front() else { break };
                if let Some(next) = d.queue.front() {
                    d.head_left = match d.rate {
                        UNLIMITED => 0,
                        _ => work(self.cfg.wire_bytes(next.bytes())),
                    };
                }
                let seq = d.next_seq;
                d.next_seq += 1;
                let segs = self.cfg.segments(p.bytes());
                self.stats.segments += u64::from(segs);
                self.stats.bytes += self.cfg.wire_bytes(p.bytes());
                d.inflight.insert(
                    seq,
                    InFlight {
                        payload: p,
                        lost: segs,
                        attempt: 0,
                        arrive: t,
                    },
                );
                self.send_segments(t, net, id, end, seq);
                if self
                    .flows
                    .get(&id)
                    .is_none_or(|f| f.ends[end.index()].out.queue.is_empty())
                {
                    break;
                }
            }
        }
        self.reshare(t, net);
    }

    /// Sends message `seq`'s lost segments at `t`: schedules its arrival when all are through,
    /// else a retransmission after the backed-off RTO.
    fn send_segments(&mut self, t: Instant, net: &mut NetModel, id: u64, end: End, seq: u64) {
        let Some(f) = self.flows.get_mut(&id) else { return };
        let (from, peer) = (&f.ends[end.index()], &f.ends[end.peer().index()]);
        let (from, to, nowhere) = (from.node, peer.node, peer.state == State::NoAddress);
        let rto = f.rto;
        let Some(m) = f.ends[end.index()].out.inflight.get_mut(&seq) else {
            return;
        };
        let mut lost = 0;
        for _ in 0..m.lost {
            match (nowhere, net.segment(t, from, to)) {
                (false, Delivery::At(at)) => m.arrive = m.arrive.max(at),
                _ => lost += 1,
            }
        }
        m.lost = lost;
        if lost == 0 {
            let at = m.arrive;
            self.schedule(at, Timer::Arrive { flow: id, end, seq });
            return;
        }
        let wait = backoff(rto, m.attempt, self.cfg.rto_max);
        self.schedule(t + wait, Timer::Retransmit { flow: id, end, seq });
    }

    fn transmit_lost(&mut self, t: Instant, net: &mut NetModel, id: u64, end: End, seq: u64) {
        let Some(f) = self.flows.get_mut(&id) else { return };
        let mss = u64::from(self.cfg.mss_bytes);
        let Some(m) = f.ends[end.index()].out.inflight.get_mut(&seq) else {
            return;
        };
        if m.attempt >= self.cfg.data_retries {
            // The RTO after the last retransmission expired: give up.
            self.abort_with(t, net, id, end, ResetCause::TimedOut);
            self.send_rst(t, net, id, end);
            self.finish_if_done(id);
            return;
        }
        m.attempt += 1;
        let seg_bytes = u64::from(m.payload.bytes()).min(mss) + u64::from(self.cfg.header_bytes);
        self.stats.retransmissions += u64::from(m.lost);
        self.stats.segments += u64::from(m.lost);
        self.stats.bytes += u64::from(m.lost) * seg_bytes;
        self.send_segments(t, net, id, end, seq);
    }

    /// Message `seq` from `end` reaches the far end's host.
    fn on_arrive(&mut self, t: Instant, net: &mut NetModel, id: u64, end: End, seq: u64) {
        let Some(f) = self.flows.get_mut(&id) else { return };
        let Some(m) = f.ends[end.index()].out.inflight.remove(&seq) else {
            return;
        };
        let to = end.peer();
        let receiver = &f.ends[to.index()];
        let is_data = matches!(m.payload, Payload::Data { .. });
        match receiver.state {
            State::Open => {
                f.ends[end.index()].out.arrived.insert(seq, m.payload);
                self.deliver_in_order(t, id, end);
            }
            State::Closing | State::Gone if !net.is_down(receiver.node) => {
                if is_data {
                    // The application has let go: its stack answers with an RST.
                    self.send_rst(t, net, id, to);
                } else {
                    self.fin_done(id, end);
                }
            }
            _ => {
                // No one there to answer: as lost, retransmitted after the backed-off RTO.
                let rto = f.rto;
                let segs = self.cfg.segments(m.payload.bytes());
                let wait = backoff(rto, m.attempt, self.cfg.rto_max);
                let d = &mut f.ends[end.index()].out;
                d.inflight.insert(seq, InFlight { lost: segs, ..m });
                self.schedule(t + wait, Timer::Retransmit { flow: id, end, seq });
            }
        }
        self.finish_if_done(id);
    }

    /// Delivers the messages from `end` that are next in order.
    fn deliver_in_order(&mut self, t: Instant, id: u64, end: End) {
        loop {
            let f = self.flows.get_mut(&id).expect("caller checked the flow");
            let node = f.ends[end.peer().index()].node;
            let d = &mut f.ends[end.index()].out;
            let Some(p) = d.arrived.remove(&d.deliver_next) else {
                return;
            };
            d.deliver_next += 1;
            match p {
                Payload::Data { bytes, msg } => {
                    self.stats.delivered += 1;
                    self.stats.delivered_bytes += u64::from(bytes);
                    self.emit(t, node, id, end.peer(), StreamEvent::Received(msg));
                }
                Payload::Fin => {
                    self.emit(t, node, id, end.peer(), StreamEvent::Closed);
                    self.fin_done(id, end);
                }
            }
        }
    }

    /// `end`'s FIN was delivered: it is finished.
    fn fin_done(&mut self, id: u64, end: End) {
        let e = self.end_mut(id, end);
        if e.state == State::Closing {
            e.state = State::Gone;
        }
    }

    /// Sends an RST from `from` to the other end at `t`.
    fn send_rst(&mut self, t: Instant, net: &mut NetModel, id: u64, from: End) {
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

    fn on_rst(&mut self, t: Instant, net: &mut NetModel, id: u64, to: End) {
        if let Some(f) = self.flows.get(&id) {
            if matches!(f.ends[to.index()].state, State::Open | State::Closing) {
                self.abort_with(t, net, id, to, ResetCause::Rst);
            }
        }
        self.finish_if_done(id);
    }

    /// Aborts `end`, telling its application (if it still holds the connection) why.
    fn abort_with(&mut self, t: Instant, net: &mut NetModel, id: u64, end: End, cause: ResetCause) {
        let e = &self.flows[&id].ends[end.index()];
        if e.state == State::Open {
            let node = e.node;
            self.emit(t, node, id, end, StreamEvent::Reset(cause));
        }
        self.abort(t, net, id, end);
    }

    /// `end` is gone: its queue, flight and receive buffer are dropped.
    fn abort(&mut self, t: Instant, net: &mut NetModel, id: u64, end: End) {
        let f = self.flows.get_mut(&id).expect("caller checked the flow");
        let e = &mut f.ends[end.index()];
        e.state = State::Gone;
        e.out.queue.clear();
        e.out.inflight.clear();
        f.ends[end.peer().index()].out.arrived.clear();
        self.reshare(t, net);
    }

    /// Forgets `id` once neither end can send or receive.
    fn finish_if_done(&mut self, id: u64) {
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
