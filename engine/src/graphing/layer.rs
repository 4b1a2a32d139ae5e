//! `GraphingLayer`: a [`GraphNode`] as a stack layer that finds its graph through PNRP, as Windows
//! applications and Peer Grouping do (MS-PPGRH §1.5: Graphing has no discovery of its own;
//! MS-PPSEC §1.3 registers and resolves the group's peer name in PNRP).
//!
//! The layer turns the node's [`GraphEvent::ResolveWanted`] (a Join by peer name, or long-term
//! partition repair asking for "some new node", MS-PPGRH §3.1.6.3) into a PNRP resolve through the
//! stack and hands the resolved graph endpoints back with [`GraphNode::name_resolved`]; once the
//! node listens, it registers the graph's peer name with the node's listening address as a TCP
//! application endpoint (MS-PNRP §2.2.3.1), if it was given a name and identity to register.

use super::{GraphEvent, GraphNode};
use crate::crypto::Identity;
use crate::pnrp::{self, AppEndpoint, PeerName, ResolveCriteria};
use crate::stack::{Layer, LayerOutput, ProtocolId, Registered, StackCommand, StackError, StackEvent, Wire};
use crate::{Duration, Endpoint, Instant, Node, RequestId};
use std::any::Any;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// IANA protocol number of TCP, carried in an application endpoint (MS-PNRP §2.2.3.1).
const TCP: u16 = 6;
/// How long a resolve of the graph's name may take (peerlab choice: PNRP's resolve deadline is the
/// caller's, MS-PNRP §3.1.4.4.2).
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(60);

/// What a request to the PNRP layer was for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pending {
    Resolve,
    Register,
}

/// A graph node on a per-peer stack, bootstrapping through the PNRP layer below it.
pub struct GraphingLayer {
    node: GraphNode,
    /// The graph's peer name and the identity that registers it, for a node that registers.
    registration: Option<(PeerName, Arc<Identity>)>,
    registered: bool,
    pending: BTreeMap<RequestId, Pending>,
    next_request: u64,
    out: VecDeque<LayerOutput>,
}

impl GraphingLayer {
    /// Wraps `node`; with `registration`, the layer registers that peer name once the node
    /// listens (a graph's creator, or every member as Grouping does).
    pub fn new(node: GraphNode, registration: Option<(PeerName, Arc<Identity>)>) -> Self {
        let mut node = node;
        if let Some((name, _)) = &registration {
            node.set_bootstrap_name(name.to_string());
        }
        GraphingLayer {
            node,
            registration,
            registered: false,
            pending: BTreeMap::new(),
            next_request: 0,
            out: VecDeque::new(),
        }
    }

    fn request(&mut self, what: Pending, command: pnrp::Command) {
        self.next_request += 1;
        let request = RequestId(self.next_request);
        self.pending.insert(request, what);
        self.out.push_back(LayerOutput::Request {
            request,
            command: StackCommand::Pnrp(command),
        });
    }

    /// Moves the node's outputs out, turning its wishes into PNRP requests.
    fn collect(&mut self, now: Instant) {
        loop {
            let mut any = false;
            while let Some(s) = self.node.poll_stream() {
                any = true;
                self.out
                    .push_back(LayerOutput::Stream(s.map_msg(GraphNode::wrap_message)));
            }
            while let Some(e) = self.node.poll_event() {
                any = true;
                self.on_event(now, e);
            }
            if !any {
                return;
            }
        }
    }

    fn on_event(&mut self, now: Instant, e: GraphEvent) {
        match e {
            GraphEvent::ResolveWanted { name } => match PeerName::parse(&name) {
                Ok(name) if !self.pending.values().any(|p| *p == Pending::Resolve) => {
                    let resolve = pnrp::Command::Resolve {
                        name,
                        criteria: ResolveCriteria::AnyPeerName,
                        timeout: RESOLVE_TIMEOUT,
                        extended_payload: false,
                    };
                    self.request(Pending::Resolve, resolve);
                }
                Ok(_) => {}
                Err(_) => self.node.name_resolved(now, None),
            },
            GraphEvent::Listening => {
                self.register();
                self.out
                    .push_back(LayerOutput::Event(GraphNode::wrap_event(GraphEvent::Listening)));
            }
            e => self.out.push_back(LayerOutput::Event(GraphNode::wrap_event(e))),
        }
    }

    fn register(&mut self) {
        let Some((name, identity)) = self.registration.clone() else {
            return;
        };
        if self.registered || self.pending.values().any(|p| *p == Pending::Register) {
            return;
        }
        let listen = self.node.listen_endpoint();
        let register = pnrp::Command::Register {
            name,
            identity,
            app_endpoints: vec![AppEndpoint {
                addr: listen.addr,
                port: listen.port,
                protocol: TCP,
            }],
            friendly_name: None,
            service_location_prefix: None,
            payload: None,
        };
        self.request(Pending::Register, register);
    }
}

/// The graph endpoints a resolve found: the TCP application endpoints of the registration.
fn graph_endpoints(done: &Result<StackEvent, StackError>) -> Option<Vec<Endpoint>> {
    let Ok(StackEvent::Pnrp(pnrp::Event::Resolved { result: Ok(r), .. })) = done else {
        return None;
    };
    let eps: Vec<Endpoint> = r
        .app_endpoints
        .iter()
        .filter(|a| a.protocol == TCP)
        .map(|a| Endpoint::new(a.addr, a.port))
        .collect();
    (!eps.is_empty()).then_some(eps)
}

impl Layer for GraphingLayer {
    fn protocol(&self) -> Option<ProtocolId> {
        Some(ProtocolId::Graphing)
    }

    fn listens(&self, port: u16) -> bool {
        self.node.listens(port)
    }

    /// Peer Graphing runs over streams only; a datagram is ignored.
    fn handle_datagram(&mut self, _: Instant, _: Endpoint, _: Wire) {}

    fn handle_stream(&mut self, now: Instant, event: crate::StreamEvent<Wire>) {
        if let Some(e) = event.try_map_msg(|m| GraphNode::unwrap_message(m).ok()) {
            self.node.handle_stream(now, e);
        }
        self.collect(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.node.handle_timeout(now);
        self.collect(now);
    }

    fn handle_command(&mut self, now: Instant, cmd: StackCommand) -> RequestId {
        let id = match GraphNode::unwrap_command(cmd) {
            Ok(c) => self.node.handle_command(now, c),
            Err(c) => panic!(
                "a graphing layer was handed a {} command (the stack routes by protocol)",
                c.protocol().name()
            ),
        };
        self.collect(now);
        id
    }

    fn handle_completion(&mut self, now: Instant, request: RequestId, done: Result<StackEvent, StackError>) {
        match self.pending.remove(&request) {
            Some(Pending::Resolve) => self.node.name_resolved(now, graph_endpoints(&done)),
            Some(Pending::Register) => {
                self.registered = matches!(done, Ok(StackEvent::Pnrp(pnrp::Event::Registered { .. })));
            }
            None => {}
        }
        self.collect(now);
    }

    fn poll_output(&mut self) -> Option<LayerOutput> {
        self.out.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.node.poll_timeout()
    }

    /// The graph node, so `Stack::node::<GraphNode>()` finds it as it finds any registered node.
    fn as_any(&self) -> &dyn Any {
        &self.node
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        &mut self.node
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Scheme;
    use crate::graphing::node::testnet::{test_addr, TestNet};
    use crate::graphing::{Bootstrap, GraphCommand, GraphConfig, Guid, LocalClock};
    use crate::pnrp::{PnrpConfig, PnrpNode};
    use crate::stack::{NodeLayer, Stack};
    use crate::{derive_seed, Duration};

    fn pnrp_layer(i: usize, start: Instant) -> Box<dyn Layer> {
        let seeds = if i == 0 {
            vec![]
        } else {
            vec![Endpoint::new(test_addr(0), 3540)]
        };
        let node = PnrpNode::new(
            Arc::new(PnrpConfig::default()),
            Endpoint::new(test_addr(i), 3540),
            seeds,
            derive_seed(5, "pnrp", i as u64),
            start,
        );
        Box::new(NodeLayer(node))
    }

    fn stack(i: usize, start: Instant, registration: Option<(PeerName, Arc<Identity>)>) -> Stack {
        let config = GraphConfig::new("pnrp-found graph", format!("member{i}"));
        let listen = Endpoint::new(test_addr(i), config.port);
        let node = GraphNode::new(
            config,
            1000 + i as u64,
            LocalClock::default(),
            derive_seed(5, "graph", i as u64),
            listen,
        );
        let graphing = Box::new(GraphingLayer::new(node, registration));
        Stack::new(vec![pnrp_layer(i, start), graphing]).expect("one layer per protocol")
    }

    fn graph_node(net: &TestNet<Stack>, i: usize) -> &GraphNode {
        net.nodes[i].node::<GraphNode>().expect("a graphing layer")
    }

    #[test]
    fn a_joiner_finds_the_graph_through_pnrp_and_records_flow_both_ways() {
        let identity = Identity::generate(Scheme::Ed25519, derive_seed(5, "identity", 0));
        let name = PeerName::secured(identity.authority(), "graph").expect("a valid classifier");
        let mut net = TestNet::new(vec![stack(0, Instant::ZERO, Some((name.clone(), identity)))]);
        net.command(0, StackCommand::Graphing(GraphCommand::Create));
        net.run_for(Duration::from_secs(60));
        assert!(net.nodes[0].layer(ProtocolId::Graphing).is_some());
        // The joiner's PNRP node comes up after the name is registered and learns it from the
        // seed's cache when it synchronizes (MS-PNRP §3.1.4.3).
        let joiner = stack(1, net.now, None);
        net.add(joiner);
        net.run_for(Duration::from_secs(30));
        assert!(graph_node(&net, 0).is_listening());

        let join = GraphCommand::Join(Bootstrap::PeerName(name.to_string()));
        let request = net.command(1, StackCommand::Graphing(join));
        net.run_for(Duration::from_secs(60));
        let joined = net.events.iter().any(|(_, i, e)| {
            *i == 1 && matches!(e, StackEvent::Graphing(GraphEvent::Done { request: r, .. }) if *r == request)
        });
        assert!(joined, "{:?}", net.events);
        assert!(graph_node(&net, 1).is_synchronized());
        assert_eq!(graph_node(&net, 1).neighbors(), [1000]);
        assert!(
            net.nodes[1].stats().requests_completed >= 1,
            "the resolve went through the stack"
        );

        let publish = GraphCommand::Publish {
            record_type: Guid::from_text("b0b0b0b0-0000-4000-8000-000000000002"),
            payload: b"through the stack".to_vec(),
            attributes: String::new(),
            lifetime: Duration::from_secs(600),
        };
        net.command(1, StackCommand::Graphing(publish));
        net.run_for(Duration::from_secs(2));
        let published: Vec<_> = graph_node(&net, 1)
            .records()
            .filter(|r| !r.is_internal())
            .collect();
        assert_eq!(published.len(), 1);
        assert_eq!(graph_node(&net, 0).record(&published[0].id), Some(published[0]));
    }

    #[test]
    fn a_name_that_resolves_to_nothing_fails_the_join() {
        let mut net = TestNet::new(vec![stack(0, Instant::ZERO, None), stack(1, Instant::ZERO, None)]);
        net.run_for(Duration::from_secs(30));
        let join = GraphCommand::Join(Bootstrap::PeerName("0.nobody-registered-this".into()));
        let request = net.command(1, StackCommand::Graphing(join));
        net.run_for(Duration::from_secs(120));
        let failed = net.events.iter().any(|(_, _, e)| {
            matches!(e, StackEvent::Graphing(GraphEvent::Failed { request: r, error: crate::graphing::GraphError::NameNotFound }) if *r == request)
        });
        assert!(failed, "{:?}", net.events);
    }
}
