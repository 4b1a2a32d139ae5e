//! Tests of the stream model: handshake, failures, backoff, crash, close, fair sharing, loss.

use super::*;
use crate::net::{Bandwidth, LatencyModel, LossModel, NetConfig, Subnet, Subnets, Wan, Window, WindowEffect};

const MS: u64 = 1_000;
const S: u64 = 1_000_000;
const MBPS: u64 = 1_000_000;

fn t(us: u64) -> Instant {
    Instant::from_micros(us)
}

/// `n` nodes, 50 ms one way, unlimited links.
fn net(n: u32) -> NetModel {
    NetModel::new(NetConfig::default(), n, [7; 32]).unwrap()
}

fn model() -> StreamModel<u32> {
    StreamModel::new(StreamConfig::default())
}

/// Runs every timer up to `until`; returns the outputs in order.
fn run(m: &mut StreamModel<u32>, n: &mut NetModel, until: Instant) -> Vec<Output<u32>> {
    let mut out: Vec<Output<u32>> = std::iter::from_fn(|| m.poll_event()).collect();
    while let Some(at) = m.poll_timeout().filter(|at| *at <= until) {
        m.handle_timeout(at, n);
        out.extend(std::iter::from_fn(|| m.poll_event()));
    }
    out
}

fn to(node: u32) -> Target {
    Target::Node { node, port: 80 }
}

/// Connects 0 → 1 at time 0 and runs the handshake; returns the flow.
fn connected(m: &mut StreamModel<u32>, n: &mut NetModel) -> FlowId {
    m.listen(1, 80);
    let f = m.connect(t(0), n, 0, to(1));
    let out = run(m, n, t(100 * MS));
    assert_eq!(out.last().map(|o| &o.event), Some(&StreamEvent::Connected));
    f
}

fn events(out: &[Output<u32>]) -> Vec<(u64, u32, StreamEvent<u32>)> {
    out.iter()
        .map(|o| (o.at.as_micros(), o.node, o.event.clone()))
        .collect()
}

#[test]
fn handshake_costs_one_round_trip_before_data() {
    let mut n = net(2);
    n.set_node_bandwidth(
        0,
        Bandwidth {
            up_bps: 8 * MBPS,
            down_bps: 0,
        },
    );
    let mut m = model();
    m.listen(1, 80);
    let f = m.connect(t(0), &mut n, 0, to(1));
    m.send(t(0), &mut n, f, End::Connector, 1_000, 7).unwrap();
    let out = run(&mut m, &mut n, t(10 * S));
    // 1,060 wire bytes at 8 Mbps: 1.06 ms, after the 100 ms handshake, then 50 ms one way.
    assert_eq!(
        events(&out),
        vec![
            (50 * MS, 1, StreamEvent::Accepted { from: 0, port: 80 }),
            (100 * MS, 0, StreamEvent::Connected),
            (151_060, 1, StreamEvent::Received(7)),
        ]
    );
    assert_eq!(out[0].end, End::Acceptor);
    assert_eq!(m.stats().connected, 1);
}

#[test]
fn a_port_without_listener_refuses_after_one_round_trip() {
    let mut n = net(2);
    let mut m = model();
    m.listen(1, 81);
    m.connect(t(0), &mut n, 0, to(1));
    let out = run(&mut m, &mut n, t(60 * S));
    assert_eq!(
        events(&out),
        vec![(100 * MS, 0, StreamEvent::ConnectFailed(ConnectFailure::Refused))]
    );
    assert_eq!(m.stats().connect_failed, [1, 0, 0]);
    assert_eq!(m.open_flows(), 0);
}

#[test]
fn connects_to_dead_or_missing_hosts_time_out_after_the_syn_retries() {
    let cfg = StreamConfig::default();
    assert_eq!(cfg.connect_timeout(), Duration::from_secs(21), "3 + 6 + 12 s");
    let mut n = net(2);
    n.set_down(1, true);
    let mut m = model();
    m.listen(1, 80);
    m.connect(t(0), &mut n, 0, to(1));
    m.connect(t(S), &mut n, 0, Target::NoHost { on_link: false });
    m.connect(t(2 * S), &mut n, 0, Target::NoHost { on_link: true });
    let out = run(&mut m, &mut n, t(100 * S));
    assert_eq!(
        events(&out),
        vec![
            (5 * S, 0, StreamEvent::ConnectFailed(ConnectFailure::Unreachable)),
            (21 * S, 0, StreamEvent::ConnectFailed(ConnectFailure::TimedOut)),
            (22 * S, 0, StreamEvent::ConnectFailed(ConnectFailure::TimedOut)),
        ]
    );
    // Three SYNs for each of the two that tried.
    assert_eq!(m.stats().segments, 6);
    assert_eq!(m.stats().connect_failed, [0, 2, 1]);
}

#[test]
fn a_syn_to_a_host_that_comes_back_connects_on_a_retry() {
    let mut n = net(2);
    n.set_down(1, true);
    let mut m = model();
    m.listen(1, 80);
    m.connect(t(0), &mut n, 0, to(1));
    run(&mut m, &mut n, t(2 * S));
    n.set_down(1, false);
    let out = run(&mut m, &mut n, t(30 * S));
    // The second SYN leaves at 3 s.
    assert_eq!(events(&out)[1], (3 * S + 100 * MS, 0, StreamEvent::Connected));
}

#[test]
fn rto_backs_off_one_two_four_eight_seconds() {
    // Everything sent before `until` is lost; the message leaves at 100 ms, then is
    // retransmitted at 1.1, 3.1, 7.1 and 15.1 s (RTO 1 s, doubling).
    for (until, arrives, retransmissions) in [
        (S / 2, 1_150 * MS, 1),
        (2 * S, 3_150 * MS, 2),
        (5 * S, 7_150 * MS, 3),
        (10 * S, 15_150 * MS, 4),
    ] {
        let mut n = net(2);
        let mut m = model();
        let f = connected(&mut m, &mut n);
        n.add_window(Window {
            at: t(100 * MS),
            until: t(until),
            effect: WindowEffect::Loss { ppm: 1_000_000 },
            nodes: None,
        });
        m.send(t(100 * MS), &mut n, f, End::Connector, 500, 1).unwrap();
        let out = run(&mut m, &mut n, t(100 * S));
        assert_eq!(
            events(&out),
            vec![(arrives, 1, StreamEvent::Received(1))],
            "loss until {until}"
        );
        assert_eq!(m.stats().retransmissions, retransmissions);
    }
}

#[test]
fn a_crashed_peer_resets_when_back_and_times_out_while_down() {
    for comes_back in [true, false] {
        let mut n = net(2);
        let mut m = model();
        let f = connected(&mut m, &mut n);
        n.set_down(1, true);
        m.node_down(t(200 * MS), &mut n, 1);
        if comes_back {
            n.set_down(1, false);
        }
        // Nothing is said while node 0 is silent.
        assert!(run(&mut m, &mut n, t(10 * S)).is_empty());
        m.send(t(10 * S), &mut n, f, End::Connector, 100, 1).unwrap();
        let out = run(&mut m, &mut n, t(200 * S));
        let want = if comes_back {
            // The new incarnation's stack answers the segment with an RST: one round trip.
            (10 * S + 100 * MS, 0, StreamEvent::Reset(ResetCause::Rst))
        } else {
            // Five retransmissions, then the last RTO: 1 + 2 + 4 + 8 + 16 + 32 s.
            (73 * S, 0, StreamEvent::Reset(ResetCause::TimedOut))
        };
        assert_eq!(events(&out), vec![want]);
        assert_eq!(m.stats().resets, 1);
        assert_eq!(m.open_flows(), 0, "both ends are gone");
        assert!(m.send(t(300 * S), &mut n, f, End::Connector, 1, 2).is_err());
    }
}

#[test]
fn reset_reaches_the_far_side_after_one_way() {
    let mut n = net(2);
    let mut m = model();
    let f = connected(&mut m, &mut n);
    m.reset(t(S), &mut n, f, End::Acceptor).unwrap();
    let out = run(&mut m, &mut n, t(10 * S));
    assert_eq!(
        events(&out),
        vec![(S + 50 * MS, 0, StreamEvent::Reset(ResetCause::Rst))]
    );
    assert_eq!(m.open_flows(), 0);
}

#[test]
fn close_delivers_in_flight_data_then_closed_and_late_data_draws_an_rst() {
    let mut n = net(2);
    let mut m = model();
    let f = connected(&mut m, &mut n);
    for k in 0..3 {
        m.send(t(S), &mut n, f, End::Acceptor, 2_000, k).unwrap();
    }
    m.close(t(S), &mut n, f, End::Acceptor).unwrap();
    assert_eq!(
        m.send(t(S), &mut n, f, End::Acceptor, 1, 9),
        Err(StreamError::NotOpen)
    );
    let out = run(&mut m, &mut n, t(2 * S));
    let got: Vec<_> = events(&out).into_iter().map(|e| e.2).collect();
    assert_eq!(
        got,
        vec![
            StreamEvent::Received(0),
            StreamEvent::Received(1),
            StreamEvent::Received(2),
            StreamEvent::Closed
        ]
    );
    // The connector still sends: the acceptor's application is gone, so its stack resets.
    m.send(t(3 * S), &mut n, f, End::Connector, 10, 5).unwrap();
    let out = run(&mut m, &mut n, t(10 * S));
    assert_eq!(
        events(&out),
        vec![(3 * S + 100 * MS, 0, StreamEvent::Reset(ResetCause::Rst))]
    );
    // Both closing gracefully forgets the connection.
    let g = {
        m.listen(1, 80);
        let g = m.connect(t(20 * S), &mut n, 0, to(1));
        run(&mut m, &mut n, t(21 * S));
        g
    };
    m.close(t(21 * S), &mut n, g, End::Connector).unwrap();
    m.close(t(21 * S), &mut n, g, End::Acceptor).unwrap();
    run(&mut m, &mut n, t(30 * S));
    assert_eq!(m.open_flows(), 0);
}

#[test]
fn flows_share_a_link_fairly() {
    let mut n = net(4);
    n.set_node_bandwidth(
        0,
        Bandwidth {
            up_bps: 10 * MBPS,
            down_bps: 0,
        },
    );
    let mut m = model();
    let mut flows = Vec::new();
    for to_node in 1..=3 {
        m.listen(to_node, 80);
        flows.push(m.connect(t(0), &mut n, 0, to(to_node)));
    }
    run(&mut m, &mut n, t(100 * MS));
    // 1,000 full segments: 1,500,000 wire bytes, 1.2 s alone at 10 Mbps.
    let big = 1_000 * MSS_BYTES;
    for f in &flows[..2] {
        m.send(t(100 * MS), &mut n, *f, End::Connector, big, 1).unwrap();
    }
    assert_eq!(m.rate_bps(flows[0], End::Connector), Some(5 * MBPS));
    assert_eq!(m.rate_bps(flows[1], End::Connector), Some(5 * MBPS));
    // Half-way through the pair, a third joins: each gets a third.
    m.send(t(1_300 * MS), &mut n, flows[2], End::Connector, big, 1)
        .unwrap();
    run(&mut m, &mut n, t(1_300 * MS));
    for f in &flows {
        assert_eq!(m.rate_bps(*f, End::Connector), Some(3_333_333));
    }
    let out = run(&mut m, &mut n, t(100 * S));
    let done: Vec<u64> = out.iter().map(|o| o.at.as_micros()).collect();
    // The pair had 0.75 MB each left at 1.3 s; three sharing 10 Mbps finish them after 1.8 s, at
    // 3.1 s; the third, 0.75 MB sent by then, has the link alone for 0.6 s more: 3.7 s.
    // Each arrives 50 ms after its last bit left (rounded up to the microsecond).
    assert_eq!(done.len(), 3);
    assert!(
        done[0].abs_diff(3_150 * MS) <= 1 && done[1].abs_diff(3_150 * MS) <= 1,
        "{done:?}"
    );
    assert!(done[2].abs_diff(3_750 * MS) <= 1, "{done:?}");
}

#[test]
fn a_wan_bottleneck_limits_flows_into_a_subnet() {
    let mut n = net(3);
    let mut subnets = Subnets::new(vec![Subnet {
        lan_latency: Duration::from_millis(1),
        wan: Wan {
            latency: Duration::from_millis(20),
            up_bps: 0,
            down_bps: 2 * MBPS,
            queue_limit_bytes: 0,
        },
    }]);
    subnets.place(1, Some(0)).unwrap();
    subnets.place(2, Some(0)).unwrap();
    n.set_subnets(subnets);
    n.set_node_bandwidth(
        0,
        Bandwidth {
            up_bps: 10 * MBPS,
            down_bps: 0,
        },
    );
    let mut m = model();
    m.listen(1, 80);
    m.listen(2, 80);
    let a = m.connect(t(0), &mut n, 0, to(1));
    let b = m.connect(t(0), &mut n, 1, to(2));
    let out = run(&mut m, &mut n, t(S));
    // Internet → subnet: 50 + 20 + 1 ms one way; inside the subnet: 1 ms.
    let at: Vec<u64> = out.iter().map(|o| o.at.as_micros() / MS).collect();
    assert_eq!(at, vec![1, 2, 71, 142]);
    m.send(t(S), &mut n, a, End::Connector, 100_000, 1).unwrap();
    m.send(t(S), &mut n, b, End::Connector, 100_000, 2).unwrap();
    assert_eq!(
        m.rate_bps(a, End::Connector),
        Some(2 * MBPS),
        "the WAN is the bottleneck"
    );
    assert_eq!(
        m.rate_bps(b, End::Connector),
        Some(u64::MAX),
        "the LAN is not limited here"
    );
}

#[test]
fn order_is_preserved_under_twenty_percent_loss() {
    let mut cfg = NetConfig::with_latency(LatencyModel::Constant(Duration::from_millis(20)));
    cfg.loss = LossModel::Independent { ppm: 200_000 };
    cfg.bandwidth = Bandwidth {
        up_bps: 20 * MBPS,
        down_bps: 20 * MBPS,
    };
    let mut n = NetModel::new(cfg, 2, [3; 32]).unwrap();
    let mut m = model();
    m.listen(1, 80);
    let f = m.connect(t(0), &mut n, 0, to(1));
    let sizes: Vec<u32> = (0..300u32).map(|k| 1 + (k * 7_919) % 6_000).collect();
    for (k, &b) in sizes.iter().enumerate() {
        m.send(t(0), &mut n, f, End::Connector, b, k as u32).unwrap();
    }
    let out = run(&mut m, &mut n, t(3_600 * S));
    let got: Vec<u32> = out
        .iter()
        .filter_map(|o| match o.event {
            StreamEvent::Received(k) => Some(k),
            _ => None,
        })
        .collect();
    assert_eq!(got, (0..300).collect::<Vec<_>>());
    assert!(out.windows(2).all(|w| w[0].at <= w[1].at));
    let s = m.stats();
    assert!(s.retransmissions > 50, "{s:?}");
    assert_eq!(
        s.delivered_bytes,
        sizes.iter().map(|&b| u64::from(b)).sum::<u64>()
    );
}

#[test]
fn a_partition_delays_then_heals_and_loopback_is_instant() {
    let mut n = net(2);
    let mut m = model();
    let f = connected(&mut m, &mut n);
    n.partition(vec![0, 1], None);
    m.send(t(S), &mut n, f, End::Connector, 10, 1).unwrap();
    run(&mut m, &mut n, t(4 * S));
    n.heal();
    // Retransmissions at 2 and 4 s were cut; the one at 8 s gets through.
    let out = run(&mut m, &mut n, t(60 * S));
    assert_eq!(events(&out), vec![(8 * S + 50 * MS, 1, StreamEvent::Received(1))]);
    m.listen(0, 80);
    let l = m.connect(t(60 * S), &mut n, 0, to(0));
    m.send(t(60 * S), &mut n, l, End::Connector, 1 << 20, 3).unwrap();
    let out = run(&mut m, &mut n, t(61 * S));
    assert!(out.iter().all(|o| o.at == t(60 * S)), "{out:?}");
    assert_eq!(out.len(), 3);
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config { cases: 64, ..Default::default() })]
    #[test]
    fn random_operations_keep_order_lose_nothing_and_never_panic(
        ops in proptest::collection::vec((0u8..8, 0u32..4, 0u32..4, 1u32..5_000), 1..120)
    ) {
        let mut cfg = NetConfig::with_latency(LatencyModel::Uniform {
            min: Duration::from_millis(5),
            max: Duration::from_millis(80),
        });
        cfg.loss = LossModel::Independent { ppm: 100_000 };
        cfg.bandwidth = Bandwidth { up_bps: 5 * MBPS, down_bps: 8 * MBPS };
        let mut n = NetModel::new(cfg, 4, [9; 32]).unwrap();
        let mut m: StreamModel<u32> = model();
        for node in 0..4 {
            m.listen(node, 80);
        }
        // Per (flow, end): messages sent, messages received; flows touched by a fault.
        let mut sent: BTreeMap<(FlowId, End), u32> = BTreeMap::new();
        let mut got: BTreeMap<(FlowId, End), u32> = BTreeMap::new();
        let mut flows: Vec<FlowId> = Vec::new();
        let mut faulted: BTreeSet<FlowId> = BTreeSet::new();
        let mut crashed: BTreeSet<u32> = BTreeSet::new();
        let mut now = t(0);
        let mut check = |out: Vec<Output<u32>>, faulted: &mut BTreeSet<FlowId>| -> Result<(), proptest::test_runner::TestCaseError> {
            for o in out {
                match o.event {
                    StreamEvent::Received(k) => {
                        let next = got.entry((o.flow, o.end.peer())).or_insert(0);
                        proptest::prop_assert_eq!(k, *next, "out of order or a gap on {:?}", o.flow);
                        *next += 1;
                    }
                    StreamEvent::Reset(_) | StreamEvent::ConnectFailed(_) => {
                        faulted.insert(o.flow);
                    }
                    _ => {}
                }
            }
            Ok(())
        };
        for (op, a, b, bytes) in ops {
            let pick = |x: u32| flows.get((x as usize * 7 + bytes as usize) % flows.len().max(1)).copied();
            match op {
                0 | 1 => flows.push(m.connect(now, &mut n, a, to(b))),
                2..=4 => if let Some(f) = pick(a) {
                    let end = if b % 2 == 0 { End::Connector } else { End::Acceptor };
                    let k = sent.get(&(f, end)).copied().unwrap_or(0);
                    if m.send(now, &mut n, f, end, bytes, k).is_ok() {
                        sent.insert((f, end), k + 1);
                    }
                },
                5 => if let Some(f) = pick(a) {
                    let end = if b % 2 == 0 { End::Connector } else { End::Acceptor };
                    faulted.insert(f);
                    let _ = if bytes % 2 == 0 { m.close(now, &mut n, f, end) } else { m.reset(now, &mut n, f, end) };
                },
                6 => if crashed.insert(a) {
                    n.set_down(a, true);
                    m.node_down(now, &mut n, a);
                } else {
                    crashed.remove(&a);
                    n.set_down(a, false);
                    m.listen(a, 80);
                },
                _ => {
                    now += Duration::from_micros(u64::from(bytes) * 100);
                }
            }
            if op == 6 {
                // Every flow with an end on a crashed node may lose its in-flight data.
                faulted.extend(flows.iter().copied());
            }
            let out = run(&mut m, &mut n, now);
            check(out, &mut faulted)?;
        }
        for node in crashed {
            n.set_down(node, false);
        }
        let out = run(&mut m, &mut n, now + Duration::from_secs(3_600));
        check(out, &mut faulted)?;
        for ((f, end), k) in &sent {
            if !faulted.contains(f) {
                proptest::prop_assert_eq!(got.get(&(*f, *end)).copied().unwrap_or(0), *k, "lost on {:?} {:?}", f, end);
            }
        }
    }
}
