//! A small in-test network for nodes that use stream connections (and datagrams): it carries
//! their `StreamCommand`s to each other with a fixed per-pair latency, in order, and runs every
//! node to its deadlines under the drain rule (`crate::drain`). Like `pnrp::testnet` for
//! datagrams, it is deliberately simple: no loss, no bandwidth, connects take one one-way
//! latency to be accepted and another to be confirmed.

use crate::{
    ConnId, ConnectFailure, Duration, Endpoint, Instant, Node, RequestId, StreamCommand, StreamEvent,
};
use std::collections::BTreeMap;
use std::net::Ipv6Addr;

/// Something in flight.
enum Ev<M> {
    /// A stream event reaching node `.0`.
    Stream(usize, StreamEvent<M>),
    /// A connection attempt from (`from`, `conn`) reaching `to`.
    Syn { from: usize, conn: ConnId, to: Endpoint },
    /// A datagram reaching node `to`.
    Datagram { from: Endpoint, to: usize, msg: M },
}

/// Nodes on a network with per-pair latency.
pub(crate) struct TestNet<N: Node> {
    /// The nodes, indexed as everywhere in the net.
    pub(crate) nodes: Vec<N>,
    /// Each node's address.
    pub(crate) addrs: Vec<Ipv6Addr>,
    /// Offline nodes get no input and their connections are reset.
    pub(crate) online: Vec<bool>,
    /// Every event every node emitted, with when and who.
    pub(crate) events: Vec<(Instant, usize, N::Event)>,
    /// The source port datagrams carry.
    pub(crate) datagram_port: u16,
    /// Applied to every stream message in flight (a round trip through a wire codec).
    pub(crate) wire: Option<fn(N::Message) -> N::Message>,
    pub(crate) now: Instant,
    queue: BTreeMap<(Instant, u64), Ev<N::Message>>,
    seq: u64,
    links: BTreeMap<(usize, ConnId), (usize, ConnId)>,
    accepted: Vec<u64>,
    deadlines: Vec<Option<Instant>>,
}

/// The address of node `i` in test networks.
pub(crate) fn test_addr(i: usize) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 0, i as u16, 0, 0, 0, 1)
}

/// One-way latency between `i` and `j`: 5..25 ms, the same both ways.
fn latency(i: usize, j: usize) -> Duration {
    let (a, b) = (i.min(j) as u64, i.max(j) as u64);
    Duration::from_millis(5 + (a * 7 + b * 13) % 21)
}

impl<N: Node> TestNet<N> {
    /// A network of `nodes`, node `i` at [`test_addr`]`(i)`.
    pub(crate) fn new(nodes: Vec<N>) -> Self {
        let n = nodes.len();
        let mut net = TestNet {
            addrs: (0..n).map(test_addr).collect(),
            online: vec![true; n],
            events: Vec::new(),
            datagram_port: 3540,
            wire: None,
            now: Instant::ZERO,
            queue: BTreeMap::new(),
            seq: 0,
            links: BTreeMap::new(),
            accepted: vec![0; n],
            deadlines: vec![None; n],
            nodes,
        };
        (0..n).for_each(|i| net.drain(i));
        net
    }

    /// Adds a node; returns its index.
    pub(crate) fn add(&mut self, node: N) -> usize {
        let i = self.nodes.len();
        self.nodes.push(node);
        self.addrs.push(test_addr(i));
        self.online.push(true);
        self.accepted.push(0);
        self.deadlines.push(None);
        self.drain(i);
        i
    }

    fn at(&mut self, when: Instant, ev: Ev<N::Message>) {
        self.seq += 1;
        self.queue.insert((when, self.seq), ev);
    }

    fn node_at(&self, addr: Ipv6Addr) -> Option<usize> {
        self.addrs
            .iter()
            .position(|a| *a == addr)
            .filter(|j| self.online[*j])
    }

    /// Gives node `i` a command now.
    pub(crate) fn command(&mut self, i: usize, cmd: N::Command) -> RequestId {
        let id = self.nodes[i].handle_command(self.now, cmd);
        self.drain(i);
        id
    }

    /// Takes every output of node `i` and puts it on the network.
    pub(crate) fn drain(&mut self, i: usize) {
        let (out, deadline) = crate::drain::take(&mut self.nodes[i]);
        self.deadlines[i] = deadline;
        for t in out.transmits {
            if let Some(j) = self.node_at(t.to.addr) {
                let from = Endpoint::new(self.addrs[i], self.datagram_port);
                let when = self.now + latency(i, j);
                self.at(
                    when,
                    Ev::Datagram {
                        from,
                        to: j,
                        msg: t.msg,
                    },
                );
            }
        }
        for cmd in out.streams {
            self.stream_command(i, cmd);
        }
        let now = self.now;
        self.events.extend(out.events.into_iter().map(|e| (now, i, e)));
    }

    fn stream_command(&mut self, i: usize, cmd: StreamCommand<N::Message>) {
        match cmd {
            StreamCommand::Connect { conn, to } => match self.node_at(to.addr) {
                Some(j) => {
                    let when = self.now + latency(i, j);
                    self.at(when, Ev::Syn { from: i, conn, to });
                }
                None => {
                    let reason = ConnectFailure::Unreachable;
                    let when = self.now + Duration::from_secs(3);
                    self.at(when, Ev::Stream(i, StreamEvent::ConnectFailed { conn, reason }));
                }
            },
            StreamCommand::Send { conn, msg } => {
                if let Some((j, c)) = self.links.get(&(i, conn)).copied() {
                    let msg = match self.wire {
                        Some(f) => f(msg),
                        None => msg,
                    };
                    let when = self.now + latency(i, j);
                    self.at(when, Ev::Stream(j, StreamEvent::Received { conn: c, msg }));
                }
            }
            StreamCommand::Close { conn } => self.cut(i, conn, |c| StreamEvent::Closed { conn: c }),
            StreamCommand::Reset { conn } => self.cut(i, conn, |c| StreamEvent::Reset { conn: c }),
        }
    }

    /// Ends the link of (`i`, `conn`): the far side hears `how` after the data before it.
    fn cut(&mut self, i: usize, conn: ConnId, how: fn(ConnId) -> StreamEvent<N::Message>) {
        if let Some((j, c)) = self.links.remove(&(i, conn)) {
            self.links.remove(&(j, c));
            let when = self.now + latency(i, j);
            self.at(when, Ev::Stream(j, how(c)));
        }
    }

    /// Takes node `i` offline: its links reset at the far ends, it gets no more input.
    pub(crate) fn crash(&mut self, i: usize) {
        self.online[i] = false;
        let mine: Vec<ConnId> = self
            .links
            .keys()
            .filter(|(n, _)| *n == i)
            .map(|(_, c)| *c)
            .collect();
        for conn in mine {
            self.cut(i, conn, |c| StreamEvent::Reset { conn: c });
        }
    }

    fn deliver(&mut self, ev: Ev<N::Message>) {
        match ev {
            Ev::Stream(j, e) => {
                if self.online[j] {
                    self.nodes[j].handle_stream(self.now, e);
                    self.drain(j);
                }
            }
            Ev::Datagram { from, to, msg } => {
                if self.online[to] {
                    self.nodes[to].handle_message(self.now, from, msg);
                    self.drain(to);
                }
            }
            Ev::Syn { from, conn, to } => {
                let host = self.node_at(to.addr);
                let back =
                    self.now + host.map_or(Duration::from_millis(10), |k| latency(from, k).saturating_mul(2));
                let j = host.filter(|j| self.nodes[*j].listens(to.port));
                let Some(j) = j else {
                    let reason = ConnectFailure::Refused;
                    self.at(
                        back,
                        Ev::Stream(from, StreamEvent::ConnectFailed { conn, reason }),
                    );
                    return;
                };
                let a = ConnId::accepted(self.accepted[j]);
                self.accepted[j] += 1;
                self.links.insert((from, conn), (j, a));
                self.links.insert((j, a), (from, conn));
                let remote = Endpoint::new(self.addrs[from], 49152 + (conn.0 % 16_000) as u16);
                let accepted = StreamEvent::Accepted {
                    conn: a,
                    from: remote,
                    local_port: to.port,
                };
                self.nodes[j].handle_stream(self.now, accepted);
                self.drain(j);
                let when = self.now + latency(from, j);
                self.at(when, Ev::Stream(from, StreamEvent::Connected { conn }));
            }
        }
    }

    /// Runs every delivery and deadline up to `end`, in time order.
    pub(crate) fn run_until(&mut self, end: Instant) {
        loop {
            let timer = (0..self.nodes.len())
                .filter(|i| self.online[*i])
                .filter_map(|i| self.deadlines[i].map(|t| (t, i)))
                .min();
            let next = self.queue.keys().next().copied();
            let due = match (timer, next) {
                (Some((t, _)), Some((d, _))) => t.min(d),
                (Some((t, _)), None) => t,
                (None, Some((d, _))) => d,
                (None, None) => break,
            };
            if due > end {
                break;
            }
            self.now = due;
            if let Some(key) = next.filter(|(d, _)| *d == due) {
                let ev = self.queue.remove(&key).expect("just seen");
                self.deliver(ev);
            } else if let Some((_, i)) = timer {
                self.nodes[i].handle_timeout(due);
                self.drain(i);
            }
        }
        self.now = self.now.max(end);
    }

    /// Runs for `d` more.
    pub(crate) fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        self.run_until(end);
    }
}
