//! Graph nodes run together on the in-test stream network: graphs form, records flood and
//! converge, refusals redirect, rejoiners resynchronize, peer time converges, and the signature
//! election settles.

use super::testnet::{test_addr, TestNet};
use super::{AuthStep, GraphNode, SecurityProvider, Validity};
use crate::graphing::{
    wire, Bootstrap, GraphCommand, GraphConfig, GraphEvent, Guid, LocalClock, Message, PeerRecord, PeerTime,
    RefuseReason, DEFAULT_EPOCH,
};
use crate::{derive_seed, ConnId, Duration, Endpoint, Instant, Node, StreamCommand, StreamEvent};

const PORT: u16 = 3587;
const APP_TYPE: Guid = Guid::from_text("a1b2c3d4-0000-4000-8000-000000000001");

/// A spread-out node id for node `i` (never zero, distinct).
fn node_id(i: usize) -> u64 {
    (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17)
}

fn endpoint(i: usize) -> Endpoint {
    Endpoint::new(test_addr(i), PORT)
}

/// Node `i`, its local clock `skew` seconds ahead (negative: behind) of the run's epoch.
fn node(i: usize, skew: i64) -> GraphNode {
    let config = GraphConfig::new("peerlab-test-graph", format!("peer{i:02}"));
    let epoch = if skew >= 0 {
        DEFAULT_EPOCH.plus(Duration::from_secs(skew as u64))
    } else {
        DEFAULT_EPOCH.minus(Duration::from_secs(skew.unsigned_abs()))
    };
    let clock = LocalClock { epoch };
    GraphNode::new(
        config,
        node_id(i),
        clock,
        derive_seed(11, "graph", i as u64),
        endpoint(i),
    )
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Every message crosses the test network as bytes: encoded and decoded by the wire codec
/// (MS-PPGRH §2.2), so what the node sends is what the wire can carry.
fn through_the_wire(msg: Message) -> Message {
    let mut bytes = Vec::new();
    wire::encode(&msg, &mut bytes);
    assert_eq!(bytes.len(), msg.encoded_len());
    wire::decode(&bytes).unwrap_or_else(|e| panic!("{msg:?} does not survive the wire: {e}"))
}

/// Node 0 creates the graph; nodes 1..n join through it one every two seconds.
fn graph(n: usize, skew: impl Fn(usize) -> i64) -> TestNet<GraphNode> {
    let mut net = TestNet::new((0..n).map(|i| node(i, skew(i))).collect());
    net.wire = Some(through_the_wire);
    net.command(0, GraphCommand::Create);
    for i in 1..n {
        net.run_for(secs(2));
        net.command(i, GraphCommand::Join(Bootstrap::Address(endpoint(0))));
    }
    net.run_for(secs(60));
    net
}

fn publish(net: &mut TestNet<GraphNode>, i: usize, payload: &[u8]) -> Guid {
    net.command(
        i,
        GraphCommand::Publish {
            record_type: APP_TYPE,
            payload: payload.to_vec(),
            attributes: String::new(),
            lifetime: secs(3600),
        },
    );
    match net.events.last() {
        Some((_, _, GraphEvent::Done { id: Some(id), .. })) => *id,
        other => panic!("publish should succeed: {other:?}"),
    }
}

/// Every online node's copy of record `id`.
fn copies<'a>(net: &'a TestNet<GraphNode>, id: &Guid) -> Vec<Option<&'a PeerRecord>> {
    (0..net.nodes.len())
        .filter(|i| net.online[*i] && net.nodes[*i].in_graph())
        .map(|i| net.nodes[i].record(id))
        .collect()
}

#[test]
fn a_graph_forms_and_a_record_published_anywhere_reaches_every_member() {
    let mut net = graph(8, |_| 0);
    for (i, n) in net.nodes.iter().enumerate() {
        assert!(n.is_synchronized() && n.is_listening(), "node {i} joined");
        assert!(!n.neighbors().is_empty(), "node {i} has a neighbor");
        assert!(n.neighbors().len() <= 7);
    }
    // Members took further neighbors through graph maintenance after listening.
    let degrees: usize = net.nodes.iter().map(|n| n.neighbors().len()).sum();
    assert!(degrees >= 2 * 8, "average degree at least 2: {degrees}");
    let id = publish(&mut net, 5, b"hello");
    net.run_for(secs(5));
    let all = copies(&net, &id);
    assert!(
        all.iter().all(|r| r.is_some_and(|r| r.payload == b"hello")),
        "{all:?}"
    );
    // Flooding was acknowledged and made links useful.
    let stats: Vec<_> = net.nodes.iter().map(|n| *n.stats()).collect();
    assert!(stats.iter().map(|s| s.acks_useful).sum::<u64>() >= 7);
    assert!(stats.iter().all(|s| s.protocol_errors == 0), "{stats:?}");
    assert!(net.nodes[5]
        .neighbors()
        .iter()
        .any(|n| net.nodes[5].utility(*n).is_some_and(|u| u > 0)));
}

#[test]
fn concurrent_updates_and_a_delete_converge_on_the_same_winner_everywhere() {
    let mut net = graph(6, |_| 0);
    let id = publish(&mut net, 1, b"v1");
    net.run_for(secs(5));
    // Two nodes update version 1 at the same moment: both make version 2, and the higher
    // modifier id wins on every node (MS-PPGRH §3.1.7.32).
    for (i, text) in [(2, b"from 2"), (4, b"from 4")] {
        net.command(
            i,
            GraphCommand::Update {
                id,
                payload: text.to_vec(),
                attributes: String::new(),
                lifetime: secs(3600),
            },
        );
    }
    net.run_for(secs(5));
    for r in copies(&net, &id) {
        let r = r.expect("everyone holds it");
        assert_eq!(
            (r.version, r.modified_by.as_str(), r.payload.as_slice()),
            (2, "peer04", &b"from 4"[..])
        );
    }
    // A delete racing an update of the same version: the higher modifier wins, here the delete.
    net.command(
        3,
        GraphCommand::Update {
            id,
            payload: b"late".to_vec(),
            attributes: String::new(),
            lifetime: secs(3600),
        },
    );
    net.command(5, GraphCommand::Delete { id });
    net.run_for(secs(5));
    for r in copies(&net, &id) {
        let r = r.expect("the tombstone stays");
        assert_eq!(
            (r.version, r.deleted, r.modified_by.as_str()),
            (3, true, "peer05")
        );
    }
    let old: u64 = net.nodes.iter().map(|n| n.stats().floods_old).sum();
    assert!(old > 0, "losing copies were answered with the winner");
}

#[test]
fn the_eighth_connector_is_refused_busy_and_follows_a_referral() {
    let mut nodes: Vec<GraphNode> = (0..9).map(|i| node(i, 0)).collect();
    // The creator's ideal degree is its maximum, so maintenance never prunes it below 7.
    nodes[0].cfg.ideal_neighbors = 7;
    let mut net = TestNet::new(nodes);
    net.command(0, GraphCommand::Create);
    // Seven joiners fill the creator's neighbor table (MS-PPGRH §3.1.1 max 7).
    for i in 1..8 {
        net.command(i, GraphCommand::Join(Bootstrap::Address(endpoint(0))));
        net.run_for(secs(3));
    }
    net.run_for(secs(30));
    assert_eq!(net.nodes[0].neighbors().len(), 7);
    net.command(8, GraphCommand::Join(Bootstrap::Address(endpoint(0))));
    net.run_for(secs(30));
    let (creator, eighth) = (net.nodes[0].stats(), net.nodes[8].stats());
    assert!(creator.refusals_sent[RefuseReason::Busy as usize - 1] >= 1);
    assert!(eighth.refusals_received[RefuseReason::Busy as usize - 1] >= 1);
    assert!(net.nodes[8].is_synchronized(), "the eighth joined elsewhere");
    assert!(!net.nodes[8].neighbors().is_empty());
    assert!(!net.nodes[8].neighbors().contains(&node_id(0)));
    assert!(net.nodes[0].neighbors().len() <= 7);
}

#[test]
fn a_member_back_from_offline_syncs_by_time_then_hash() {
    let mut net = graph(5, |_| 0);
    let kept = publish(&mut net, 1, b"before");
    net.run_for(secs(5));
    net.command(3, GraphCommand::Leave);
    net.run_for(secs(10));
    assert!(!net.nodes[3].in_graph());
    let fresh: Vec<Guid> = (0..4)
        .map(|k| publish(&mut net, [0, 1, 2, 4][k], b"while away"))
        .collect();
    net.command(2, GraphCommand::Delete { id: kept });
    net.run_for(secs(10));
    net.command(3, GraphCommand::Join(Bootstrap::Address(endpoint(0))));
    net.run_for(secs(30));
    let n = &net.nodes[3];
    assert!(n.is_synchronized());
    assert!(fresh.iter().all(|id| n.record(id).is_some()));
    assert!(n.record(&kept).is_some_and(|r| r.deleted));
    let s = n.stats();
    assert_eq!(s.syncs_completed[0], 1, "one Sync All on the first join only");
    assert!(s.syncs_completed[1] >= 1 && s.syncs_completed[2] >= 1, "{s:?}");
    assert!(s.sync_bytes[1] > 0 && s.sync_bytes[2] > 0);
}

#[test]
fn an_unexpected_or_malformed_message_closes_the_connection_and_is_counted() {
    let mut n = node(0, 0);
    n.handle_command(Instant::ZERO, GraphCommand::Create);
    let (_, _) = crate::drain::take(&mut n);
    let now = Instant::ZERO + secs(1);
    let accept = |n: &mut GraphNode, k: u64| {
        let conn = ConnId::accepted(k);
        n.handle_stream(
            now,
            StreamEvent::Accepted {
                conn,
                from: endpoint(9),
                local_port: PORT,
            },
        );
        conn
    };
    // A FLOOD before AUTH_INFO.
    let conn = accept(&mut n, 0);
    let flood = Message::SyncEnd { final_phase: true };
    n.handle_stream(now, StreamEvent::Received { conn, msg: flood });
    assert_eq!(n.poll_stream(), Some(StreamCommand::Reset { conn }));
    // AUTH_INFO for another graph.
    let conn = accept(&mut n, 1);
    let info = crate::graphing::AuthInfo {
        connection_type: crate::graphing::ConnectionType::Neighbor,
        graph_id: "another graph".into(),
        source_peer_id: "mallory".into(),
        destination_peer_id: None,
    };
    n.handle_stream(
        now,
        StreamEvent::Received {
            conn,
            msg: Message::AuthInfo(Box::new(info)),
        },
    );
    assert_eq!(n.poll_stream(), Some(StreamCommand::Reset { conn }));
    assert_eq!(n.stats().protocol_errors, 2);
    assert!(n.poll_stream().is_none());
}

#[test]
fn peer_time_converges_under_skewed_clocks() {
    // Clocks up to 25 minutes apart: the first sample is taken whatever its distance.
    let skew = |i: usize| ((i as i64 * 397) % 3000) - 1500;
    let net = graph(8, skew);
    let now = net.now;
    let times: Vec<PeerTime> = net.nodes.iter().map(|n| n.peer_time(now)).collect();
    let spread = times.iter().max().unwrap().since(*times.iter().min().unwrap());
    assert!(spread < Duration::from_millis(50), "peer-time spread {spread:?}");
    // The local clocks really were apart.
    let utc: Vec<u64> = net.nodes.iter().map(|n| n.clock.utc(now).0).collect();
    assert!(utc.iter().max().unwrap() - utc.iter().min().unwrap() > 10 * 60 * 10_000_000);
}

#[test]
fn the_signature_settles_on_the_minimum_node_id_after_the_holder_leaves() {
    let mut net = graph(7, |_| 0);
    net.run_for(secs(60));
    let min = |net: &TestNet<GraphNode>| {
        (0..net.nodes.len())
            .filter(|i| net.nodes[*i].in_graph())
            .map(|i| net.nodes[i].node_id())
            .min()
    };
    let first = min(&net);
    assert!(
        net.nodes.iter().all(|n| n.signature() == first),
        "the minimum holds it"
    );
    let holder = net
        .nodes
        .iter()
        .position(|n| Some(n.node_id()) == first)
        .expect("a holder");
    net.command(holder, GraphCommand::Leave);
    net.run_for(secs(90));
    let second = min(&net);
    assert_ne!(first, second);
    for (i, n) in net.nodes.iter().enumerate().filter(|(i, _)| *i != holder) {
        assert_eq!(n.signature(), second, "node {i}");
    }
}

#[test]
fn a_crashed_member_is_routed_around_and_records_still_reach_everyone() {
    let mut net = graph(7, |_| 0);
    let victim = 3;
    let lost: Vec<u64> = vec![net.nodes[victim].node_id()];
    net.crash(victim);
    net.run_for(secs(120));
    for (i, n) in net.nodes.iter().enumerate().filter(|(i, _)| *i != victim) {
        assert!(!n.neighbors().is_empty(), "node {i} kept a neighbor");
        assert!(
            n.neighbors().iter().all(|id| !lost.contains(id)),
            "node {i} dropped the crashed link"
        );
    }
    let id = publish(&mut net, 6, b"after the crash");
    net.run_for(secs(5));
    let held = (0..7)
        .filter(|i| *i != victim)
        .all(|i| net.nodes[i].record(&id).is_some());
    assert!(held);
}

/// A security provider that rejects records whose payload is `bad`, defers those whose payload
/// is `later` until released, and signs what its node publishes.
struct Picky {
    released: std::rc::Rc<std::cell::Cell<bool>>,
}

impl SecurityProvider for Picky {
    fn begin(&mut self, _: ConnId, _: bool, _: &crate::graphing::AuthInfo) -> AuthStep {
        AuthStep::Done
    }
    fn relay(&mut self, _: ConnId, _: &Message) -> AuthStep {
        AuthStep::Fail
    }
    fn validate(&mut self, record: &PeerRecord) -> Validity {
        match record.payload.as_slice() {
            b"bad" => Validity::Invalid,
            b"later" if !self.released.get() => Validity::Defer,
            _ => Validity::Valid,
        }
    }
    fn sign(&mut self, record: &mut PeerRecord) -> bool {
        record.security_data = b"signed".to_vec();
        true
    }
}

#[test]
fn the_security_provider_rejects_defers_and_signs() {
    let released = std::rc::Rc::new(std::cell::Cell::new(false));
    let mut nodes: Vec<GraphNode> = (0..3).map(|i| node(i, 0)).collect();
    nodes[2].set_security_provider(Box::new(Picky {
        released: released.clone(),
    }));
    let mut net = TestNet::new(nodes);
    net.wire = Some(through_the_wire);
    net.command(0, GraphCommand::Create);
    for i in 1..3 {
        net.run_for(secs(2));
        net.command(i, GraphCommand::Join(Bootstrap::Address(endpoint(0))));
    }
    net.run_for(secs(30));
    let bad = publish(&mut net, 0, b"bad");
    let later = publish(&mut net, 0, b"later");
    net.run_for(secs(5));
    let picky = &net.nodes[2];
    assert!(picky.record(&bad).is_none() && picky.stats().floods_rejected >= 1);
    assert!(picky.record(&later).is_none() && picky.deferred() >= 1);
    assert!(
        net.nodes[1].record(&bad).is_some(),
        "other nodes judge for themselves"
    );
    released.set(true);
    net.nodes[2].retry_deferred(net.now);
    net.drain(2);
    assert!(net.nodes[2].record(&later).is_some() && net.nodes[2].deferred() == 0);
    // What the provider's node publishes carries its security data, everywhere.
    let mine = publish(&mut net, 2, b"mine");
    net.run_for(secs(5));
    assert_eq!(
        net.nodes[0].record(&mine).map(|r| r.security_data.as_slice()),
        Some(&b"signed"[..])
    );
}
