//! In-crate test driver (quinn's `Pair`, docs/architecture.md §7 habit 12): a content server, branch peers and
//! an optional hosted cache on one subnet with a fixed one-way delay, run to the next deadline.

use super::*;
use crate::{Duration, Endpoint, Instant, Node, NodeRng, RequestId};
use rand::SeedableRng;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// Bytes carried, by (sender kind, receiver kind).
#[derive(Default, Debug)]
pub(crate) struct Traffic {
    /// Content bytes the server sent.
    pub server_payload: u64,
    /// All bytes on the wire.
    pub wire: u64,
    /// Probe datagrams multicast.
    pub probes: u64,
}

pub(crate) struct Net {
    pub nodes: Vec<DistNode>,
    pub now: Instant,
    delay: Duration,
    queue: BTreeMap<(Instant, u64), (usize, Endpoint, DistMessage)>,
    seq: u64,
    pub peer_events: Vec<(usize, PeerEvent)>,
    pub hosted_events: Vec<HostedEvent>,
    pub traffic: Traffic,
    /// Nodes that silently ignore PCCRR requests (a stalled serving peer).
    pub mute: Vec<usize>,
    /// Round-trip every delivered message through the byte codec (the simulator's switch).
    pub codec: bool,
    /// The origin's sending rate in bytes per second, if limited: node 0's payloads leave one
    /// after another at this rate (a slow WAN with a FIFO queue).
    pub server_rate: Option<u64>,
    server_free: Instant,
    /// Nodes that have left: nothing reaches them and their timers never fire.
    pub gone: Vec<usize>,
}

pub(crate) fn ep(i: usize) -> Endpoint {
    Endpoint::new(
        Ipv4Addr::new(10, 0, 0, i as u8 + 1).to_ipv6_mapped(),
        8000 + i as u16,
    )
}

impl Net {
    /// Node 0 is the content server; nodes 1..=peers are branch peers; with `hosted`, one more.
    pub fn new(cfg: &DistConfig, peers: usize, hosted: bool, delay: Duration) -> Net {
        let mut nodes = vec![DistNode::Server(Box::new(ContentServer::new(ep(0), cfg.clone())))];
        let hc = hosted.then(|| ep(peers + 1));
        for i in 1..=peers {
            let rng = NodeRng::from_seed(crate::derive_seed(7, "node", i as u64));
            nodes.push(DistNode::Peer(Box::new(BranchPeer::new(
                ep(i),
                cfg.clone(),
                hc,
                rng,
            ))));
        }
        if let Some(h) = hc {
            let rng = NodeRng::from_seed(crate::derive_seed(7, "node", peers as u64 + 1));
            nodes.push(DistNode::Hosted(Box::new(HostedCache::new(h, cfg.clone(), rng))));
        }
        Net {
            nodes,
            now: Instant::ZERO,
            delay,
            queue: BTreeMap::new(),
            seq: 0,
            peer_events: Vec::new(),
            hosted_events: Vec::new(),
            traffic: Traffic::default(),
            mute: Vec::new(),
            codec: false,
            server_rate: None,
            server_free: Instant::ZERO,
            gone: Vec::new(),
        }
    }

    pub fn peer(&mut self, i: usize) -> &mut BranchPeer {
        match &mut self.nodes[i] {
            DistNode::Peer(p) => p,
            _ => panic!("node {i} is not a peer"),
        }
    }

    pub fn server(&mut self) -> &mut ContentServer {
        match &mut self.nodes[0] {
            DistNode::Server(s) => s,
            _ => panic!("node 0 is the server"),
        }
    }

    /// Drains node `i`'s outputs (the drain rule).
    fn drain(&mut self, i: usize) {
        let from = self.nodes[i].endpoint();
        let (out, _) = crate::drain::take(&mut self.nodes[i]);
        for t in out.transmits {
            self.traffic.wire += t.msg.wire_len() as u64;
            if i == 0 {
                self.traffic.server_payload += t.msg.payload_len() as u64;
            }
            let targets: Vec<usize> = if t.to == pccrd::MULTICAST {
                self.traffic.probes += 1;
                (0..self.nodes.len())
                    .filter(|&j| j != i && matches!(self.nodes[j], DistNode::Peer(_)))
                    .collect()
            } else {
                (0..self.nodes.len())
                    .filter(|&j| self.nodes[j].endpoint() == t.to)
                    .collect()
            };
            let request = matches!(&t.msg, DistMessage::Pccrr(m) if !m.body.is_response());
            let sent = match self.server_rate {
                Some(rate) if i == 0 => {
                    let len = t.msg.payload_len() as u64;
                    self.server_free =
                        self.server_free.max(self.now) + Duration::from_micros(len * 1_000_000 / rate.max(1));
                    self.server_free
                }
                _ => self.now,
            };
            for j in targets {
                if (request && self.mute.contains(&j)) || self.gone.contains(&j) {
                    continue;
                }
                self.seq += 1;
                self.queue
                    .insert((sent + self.delay, self.seq), (j, from, t.msg.clone()));
            }
        }
        for e in out.events {
            match e {
                DistEvent::Peer(e) => self.peer_events.push((i, e)),
                DistEvent::Hosted(e) => self.hosted_events.push(e),
                DistEvent::Server(_) => {}
            }
        }
    }

    pub fn command_fetch(&mut self, i: usize, content: u64) -> RequestId {
        let now = self.now;
        let r = self.peer(i).handle_command(
            now,
            PeerCommand::Fetch {
                content,
                server: ep(0),
            },
        );
        self.drain(i);
        r
    }

    fn round_trip(&self, j: usize, msg: DistMessage) -> DistMessage {
        let bytes = msg.encode();
        let decoded = DistMessage::decode(&bytes, |id| match &self.nodes[j] {
            DistNode::Peer(p) => p.probed_segments(id),
            _ => None,
        });
        assert_eq!(decoded.as_ref(), Ok(&msg), "codec round trip");
        decoded.unwrap_or(msg)
    }

    /// Delivers `msg` to node `i` now, as if from `from`, and drains it.
    pub fn inject(&mut self, i: usize, from: Endpoint, msg: DistMessage) {
        let now = self.now;
        self.peer(i).handle_message(now, from, msg);
        self.drain(i);
    }

    pub fn publish(&mut self, spec: ContentSpec) {
        let now = self.now;
        self.server().handle_command(now, ServerCommand::Publish { spec });
        self.drain(0);
    }

    /// Runs every event up to and including `end`; then `now = end`.
    pub fn run_until(&mut self, end: Instant) {
        loop {
            let next_msg = self.queue.keys().next().map(|k| k.0);
            let next_timer = (0..self.nodes.len())
                .filter(|j| !self.gone.contains(j))
                .filter_map(|j| self.nodes[j].poll_timeout())
                .min();
            let next = match (next_msg, next_timer) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(x) => x,
                    None => break,
                },
            };
            if next > end {
                break;
            }
            self.now = next;
            if next_msg == Some(next) {
                let Some((_, (j, from, msg))) = self.queue.pop_first() else {
                    break;
                };
                if self.gone.contains(&j) {
                    continue;
                }
                let msg = if self.codec { self.round_trip(j, msg) } else { msg };
                self.nodes[j].handle_message(next, from, msg);
                self.drain(j);
            } else {
                for j in 0..self.nodes.len() {
                    if !self.gone.contains(&j) && self.nodes[j].poll_timeout().is_some_and(|t| t <= next) {
                        self.nodes[j].handle_timeout(next);
                        self.drain(j);
                    }
                }
            }
        }
        self.now = self.now.max(end);
    }

    /// The completion event of `request` on node `i`.
    pub fn fetched(&self, i: usize, request: RequestId) -> Option<&PeerEvent> {
        self.peer_events.iter().find(|(n, e)| {
            *n == i
                && matches!(e, PeerEvent::Fetched { request: r, .. } | PeerEvent::FetchFailed { request: r, .. } if *r == request)
        })
        .map(|(_, e)| e)
    }
}

/// (bytes_from_peers, bytes_from_server, corrupt_blocks, size) of a successful fetch.
pub(crate) fn report(e: Option<&PeerEvent>) -> (u64, u64, u32, u64) {
    match e {
        Some(PeerEvent::Fetched {
            bytes_from_peers,
            bytes_from_server,
            corrupt_blocks,
            size,
            ..
        }) => (*bytes_from_peers, *bytes_from_server, *corrupt_blocks, *size),
        other => panic!("fetch did not complete: {other:?}"),
    }
}
