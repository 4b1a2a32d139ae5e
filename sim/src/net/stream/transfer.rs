//! The stream model's data path: bandwidth sharing between the active directions, segments and
//! their retransmission, in-order delivery (rules in the module docs of `stream`).

use super::share::{max_min_rates, ns_for, work, UNLIMITED};
use super::{
    backoff, capacity, End, Flow, InFlight, Payload, Phase, ResetCause, State, StreamEvent, StreamModel,
    Timer,
};
use crate::net::{Delivery, LinkId, NetModel};
use peerlab_engine::{Duration, Instant};

impl<M> StreamModel<M> {
    /// Brings every active direction's work up to `t`.
    pub(super) fn advance(&mut self, t: Instant) {
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
    pub(super) fn wants_link(f: &Flow<M>, end: End) -> bool {
        let e = &f.ends[end.index()];
        f.phase == Phase::Open && matches!(e.state, State::Open | State::Closing) && !e.out.queue.is_empty()
    }

    /// Brings work up to `t`, updates the active set, recomputes every rate and schedules the
    /// next completion.
    pub(super) fn reshare(&mut self, t: Instant, net: &NetModel) {
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
        let paths: Vec<&[LinkId]> = self
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
    pub(super) fn on_tick(&mut self, t: Instant, net: &mut NetModel) {
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
    pub(super) fn send_segments(&mut self, t: Instant, net: &mut NetModel, id: u64, end: End, seq: u64) {
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

    pub(super) fn transmit_lost(&mut self, t: Instant, net: &mut NetModel, id: u64, end: End, seq: u64) {
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
    pub(super) fn on_arrive(&mut self, t: Instant, net: &mut NetModel, id: u64, end: End, seq: u64) {
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
            State::Closing | State::Gone if !net.host_is_down(receiver.node) => {
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
    pub(super) fn deliver_in_order(&mut self, t: Instant, id: u64, end: End) {
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
    pub(super) fn fin_done(&mut self, id: u64, end: End) {
        let e = self.end_mut(id, end);
        if e.state == State::Closing {
            e.state = State::Gone;
        }
    }
}
