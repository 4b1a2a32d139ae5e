//! Stacks driven together: an application layer on top of PNRP registers and resolves names
//! through the stack, and the stack routes inputs, requests and completions.

use super::*;
use crate::crypto::{Identity, Scheme};
use crate::pnrp::{Command, Event, PeerName, PnrpConfig, PnrpNode, ResolveCriteria};
use crate::{derive_seed, Duration};
use std::any::Any;
use std::net::Ipv6Addr;
use std::sync::Arc;

fn endpoint(i: usize) -> Endpoint {
    Endpoint::new(Ipv6Addr::new(0x2001, 0xdb8, 0, i as u16, 0, 0, 0, 1), 3540)
}

fn identity(i: usize) -> Arc<Identity> {
    Identity::generate(Scheme::Ed25519, derive_seed(7, "identity", i as u64))
}

fn name(i: usize) -> PeerName {
    PeerName::secured(identity(i).authority(), &format!("peer{i}")).expect("a valid classifier")
}

/// An application layer: at `start` it registers its own name through the PNRP layer below,
/// and once registered resolves `target`; it keeps every completion it hears.
struct NameUser {
    me: usize,
    target: PeerName,
    start: Option<Instant>,
    out: VecDeque<LayerOutput>,
    heard: Vec<(RequestId, Result<StackEvent, StackError>)>,
}

const REGISTER: RequestId = RequestId(1);
const RESOLVE: RequestId = RequestId(2);
const FETCH: RequestId = RequestId(3);

impl Layer for NameUser {
    fn protocol(&self) -> Option<ProtocolId> {
        None
    }
    fn handle_datagram(&mut self, _: Instant, _: Endpoint, _: Wire) {
        unreachable!("a layer without a protocol gets no datagrams")
    }
    fn handle_timeout(&mut self, _now: Instant) {
        self.start = None;
        let register = Command::Register {
            name: name(self.me),
            identity: identity(self.me),
            app_endpoints: vec![],
        };
        self.out.push_back(LayerOutput::Request {
            request: REGISTER,
            command: StackCommand::Pnrp(register),
        });
        // A request to a layer this stack lacks fails at once, under the asker's id.
        let fetch = crate::dist::PeerCommand::Fetch {
            content: 1,
            server: endpoint(0),
        };
        let fetch = crate::dist::DistCommand::Peer(fetch);
        self.out.push_back(LayerOutput::Request {
            request: FETCH,
            command: StackCommand::Dist(fetch),
        });
    }
    fn handle_command(&mut self, _: Instant, _: StackCommand) -> RequestId {
        unreachable!("a layer without a protocol gets no commands")
    }
    fn handle_completion(&mut self, _now: Instant, request: RequestId, done: Result<StackEvent, StackError>) {
        if request == REGISTER {
            let resolve = Command::Resolve {
                name: self.target.clone(),
                criteria: ResolveCriteria::AnyPeerName,
                timeout: Duration::from_secs(60),
            };
            self.out.push_back(LayerOutput::Request {
                request: RESOLVE,
                command: StackCommand::Pnrp(resolve),
            });
        }
        self.heard.push((request, done));
    }
    fn poll_output(&mut self) -> Option<LayerOutput> {
        self.out.pop_front()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.start
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// Stacks on a network with a fixed 10 ms delay, run to their deadlines in order.
struct Net {
    stacks: Vec<Stack>,
    now: Instant,
    in_flight: BTreeMap<(Instant, u64), (Endpoint, usize, Wire)>,
    seq: u64,
    app_events: Vec<(usize, StackEvent)>,
}

impl Net {
    fn drain(&mut self, i: usize) {
        let from = endpoint(i);
        let (out, _) = crate::drain::take(&mut self.stacks[i]);
        assert!(out.streams.is_empty(), "PNRP opens no streams");
        for t in out.transmits {
            let to = (0..self.stacks.len())
                .find(|j| endpoint(*j) == t.to)
                .expect("a known peer");
            self.seq += 1;
            self.in_flight.insert(
                (self.now + Duration::from_millis(10), self.seq),
                (from, to, t.msg),
            );
        }
        self.app_events.extend(out.events.into_iter().map(|e| (i, e)));
    }

    fn run_until(&mut self, end: Instant) {
        loop {
            let timer = (0..self.stacks.len())
                .filter_map(|i| self.stacks[i].poll_timeout().map(|t| (t, i)))
                .min();
            let datagram = self.in_flight.keys().next().copied();
            let next = match (timer, datagram) {
                (Some((t, _)), Some((d, _))) => t.min(d),
                (Some((t, _)), None) => t,
                (None, Some((d, _))) => d,
                (None, None) => break,
            };
            if next > end {
                break;
            }
            self.now = next;
            if let Some(key) = datagram.filter(|(d, _)| *d == next) {
                let (from, to, msg) = self.in_flight.remove(&key).expect("just seen");
                self.stacks[to].handle_message(next, from, msg);
                self.drain(to);
            } else if let Some((_, i)) = timer {
                self.stacks[i].handle_timeout(next);
                self.drain(i);
            }
        }
        self.now = end;
    }
}

fn pnrp_layer(i: usize) -> Box<dyn Layer> {
    let seeds = if i == 0 { vec![] } else { vec![endpoint(0)] };
    let node = PnrpNode::new(
        Arc::new(PnrpConfig::default()),
        endpoint(i),
        seeds,
        derive_seed(7, "node", i as u64),
        Instant::ZERO,
    );
    Box::new(NodeLayer(node))
}

fn network(peers: usize, user: usize, target: usize) -> Net {
    let stacks = (0..peers)
        .map(|i| {
            let mut layers = vec![pnrp_layer(i)];
            if i == user {
                let start = Some(Instant::ZERO + Duration::from_secs(120));
                layers.push(Box::new(NameUser {
                    me: i,
                    target: name(target),
                    start,
                    out: VecDeque::new(),
                    heard: vec![],
                }));
            }
            Stack::new(layers).expect("one layer per protocol")
        })
        .collect();
    Net {
        stacks,
        now: Instant::ZERO,
        in_flight: BTreeMap::new(),
        seq: 0,
        app_events: vec![],
    }
}

fn user(net: &Net, i: usize) -> &NameUser {
    net.stacks[i].layers[1]
        .as_any()
        .downcast_ref::<NameUser>()
        .expect("layer 1 is the user")
}

#[test]
fn an_upper_layer_registers_and_resolves_through_pnrp_and_hears_both_completions() {
    let mut net = network(6, 1, 4);
    // Peer 4's application registers its name directly, as a program calling the API would.
    let register = Command::Register {
        name: name(4),
        identity: identity(4),
        app_endpoints: vec![],
    };
    net.run_until(Instant::ZERO + Duration::from_secs(60));
    let app_request = net.stacks[4].handle_command(net.now, StackCommand::Pnrp(register));
    net.drain(4);
    net.run_until(Instant::ZERO + Duration::from_secs(400));

    let heard = &user(&net, 1).heard;
    let ids: Vec<RequestId> = heard.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, [FETCH, REGISTER, RESOLVE], "{heard:?}");
    assert_eq!(
        heard[0].1.as_ref().err(),
        Some(&StackError::NoLayer(ProtocolId::Dist))
    );
    assert!(
        matches!(heard[1].1, Ok(StackEvent::Pnrp(Event::Registered { .. }))),
        "{:?}",
        heard[1]
    );
    match &heard[2].1 {
        Ok(StackEvent::Pnrp(Event::Resolved { result: Ok(r), .. })) => assert_eq!(r.endpoints, [endpoint(4)]),
        other => panic!("the resolve should find peer 4: {other:?}"),
    }
    assert_eq!(net.stacks[1].stats().requests_completed, 2);
    // The layer's completions never reach the application; the application's own do.
    assert!(
        !net.app_events.iter().any(|(i, _)| *i == 1),
        "{:?}",
        net.app_events
    );
    assert!(net.app_events.iter().any(|(i, e)| *i == 4
        && matches!(e, StackEvent::Pnrp(Event::Registered { request, .. }) if *request == app_request)));
}

#[test]
fn inputs_for_missing_layers_are_counted_and_refused() {
    let mut stack = Stack::new(vec![pnrp_layer(0)]).expect("one layer");
    let now = Instant::ZERO;
    stack.handle_stream(
        now,
        StreamEvent::Accepted {
            conn: crate::ConnId::accepted(0),
            from: endpoint(1),
            local_port: 80,
        },
    );
    let reset = stack.poll_stream();
    assert!(
        matches!(reset, Some(StreamCommand::Reset { conn }) if conn == crate::ConnId::accepted(0)),
        "{reset:?}"
    );
    stack.handle_stream(
        now,
        StreamEvent::Closed {
            conn: crate::ConnId(5),
        },
    );
    let s = stack.stats();
    assert_eq!((s.connections_refused, s.stream_events_unknown), (1, 1));
    assert!(!stack.listens(80));
    assert_eq!(
        stack.try_command(
            now,
            StackCommand::Dist(crate::dist::DistCommand::Hosted(
                crate::dist::HostedCommand::Flush
            ))
        ),
        Err(StackError::NoLayer(ProtocolId::Dist))
    );
    assert!(stack.node::<PnrpNode>().is_some() && stack.node::<crate::dist::DistNode>().is_none());
    assert_eq!(stack.protocols().collect::<Vec<_>>(), [ProtocolId::Pnrp]);
}

#[test]
fn two_layers_of_one_protocol_are_refused() {
    let err = Stack::new(vec![pnrp_layer(0), pnrp_layer(1)]).err();
    assert_eq!(err, Some(StackError::Duplicate(ProtocolId::Pnrp)));
}

/// A layer without a wire protocol of its own that opens, accepts and answers stream connections
/// under its own ids, to check the stack's renumbering.
struct Streamer {
    port: u16,
    out: VecDeque<LayerOutput>,
    seen: Vec<StreamEvent<Wire>>,
}

impl Layer for Streamer {
    fn protocol(&self) -> Option<ProtocolId> {
        None
    }
    fn listens(&self, port: u16) -> bool {
        port == self.port
    }
    fn handle_datagram(&mut self, _: Instant, _: Endpoint, _: Wire) {}
    fn handle_stream(&mut self, _: Instant, event: StreamEvent<Wire>) {
        if let StreamEvent::Accepted { conn, .. } = &event {
            self.out
                .push_back(LayerOutput::Stream(StreamCommand::Close { conn: *conn }));
        }
        self.seen.push(event);
    }
    fn handle_timeout(&mut self, _: Instant) {}
    fn handle_command(&mut self, _: Instant, _: StackCommand) -> RequestId {
        unreachable!("a layer without a protocol gets no commands")
    }
    fn poll_output(&mut self) -> Option<LayerOutput> {
        self.out.pop_front()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

#[test]
fn connections_reach_the_listening_layer_under_its_own_ids() {
    let streamer = Streamer {
        port: 3587,
        out: VecDeque::new(),
        seen: vec![],
    };
    let mut stack = Stack::new(vec![pnrp_layer(0), Box::new(streamer)]).expect("two layers");
    let now = Instant::ZERO;
    assert!(stack.listens(3587) && !stack.listens(80));

    // The layer opens connection 1 under its own id; the transport sees the stack's id.
    stack.layers[1]
        .as_any_mut()
        .downcast_mut::<Streamer>()
        .expect("the streamer")
        .out
        .push_back(LayerOutput::Stream(StreamCommand::Connect {
            conn: crate::ConnId(1),
            to: endpoint(1),
        }));
    stack.pump(now);
    let Some(StreamCommand::Connect { conn: outer, to }) = stack.poll_stream() else {
        panic!("a connect")
    };
    assert_eq!(to, endpoint(1));
    stack.handle_stream(now, StreamEvent::Connected { conn: outer });

    // A connection accepted on the listening port reaches the layer, which closes it.
    let accepted = crate::ConnId::accepted(4);
    stack.handle_stream(
        now,
        StreamEvent::Accepted {
            conn: accepted,
            from: endpoint(2),
            local_port: 3587,
        },
    );
    let close = stack.poll_stream();
    assert!(
        matches!(close, Some(StreamCommand::Close { conn }) if conn == accepted),
        "{close:?}"
    );
    // After its close the layer hears nothing more of it.
    stack.handle_stream(now, StreamEvent::Reset { conn: accepted });

    let seen = &stack.layers[1]
        .as_any()
        .downcast_ref::<Streamer>()
        .expect("the streamer")
        .seen;
    assert!(
        matches!(seen[0], StreamEvent::Connected { conn } if conn == crate::ConnId(1)),
        "{seen:?}"
    );
    assert!(
        matches!(seen[1], StreamEvent::Accepted { conn, local_port: 3587, .. } if conn == accepted),
        "{seen:?}"
    );
    assert_eq!(seen.len(), 2);
    assert_eq!(
        (stack.open_connections(), stack.stats().stream_events_unknown),
        (1, 1)
    );
}
