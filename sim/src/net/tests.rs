//! Tests of the whole network model (stage order, determinism, the 100 MB transfer).

use super::*;

const MS: u64 = 1_000;

fn t(us: u64) -> Instant {
    Instant::from_micros(us)
}

fn net(cfg: NetConfig, n: u32) -> NetModel {
    NetModel::new(cfg, n, [42; 32]).unwrap()
}

#[test]
fn constant_latency_delivers_after_the_latency() {
    let mut n = net(NetConfig::default(), 3);
    assert_eq!(n.send(t(1_000), 0, 1, 100), Delivery::At(t(1_000 + 50 * MS)));
    assert_eq!(n.send(t(1_000), 2, 2, 100), Delivery::At(t(1_000)), "loopback");
    n.set_node_latency_extra(1, Duration::from_millis(7));
    assert_eq!(n.send(t(0), 1, 0, 100), Delivery::At(t(57 * MS)));
    assert_eq!(n.stats().delivered, 3);
}

#[test]
fn a_hundred_megabyte_transfer_over_ten_mbps_takes_eighty_seconds() {
    let mut cfg = NetConfig::with_latency(LatencyModel::Constant(Duration::from_millis(20)));
    cfg.bandwidth = Bandwidth {
        up_bps: 10_000_000,
        down_bps: 100_000_000,
    };
    cfg.mtu_bytes = Some(1_280);
    let mut n = net(cfg, 2);
    // 100 MB of 1,232-byte payloads (1,280 bytes on the wire), all queued at once.
    let payload = 1_232u32;
    let count = 100_000_000u64.div_ceil(payload as u64);
    let mut last = t(0);
    for _ in 0..count {
        match n.send(t(0), 0, 1, payload) {
            Delivery::At(at) => last = at,
            d => panic!("unexpected {d:?}"),
        }
    }
    let secs = (last - t(0)).as_secs_f64();
    // 100 MB of payload is 80 s; the 48 header bytes per datagram add 3.9%.
    let want = 80.0 * 1_280.0 / 1_232.0 + 0.020 + 1_280.0 * 8.0 / 100e6;
    assert!((secs - want).abs() < 0.01, "{secs} s, want {want} s");
    // Without headers it is exactly 80 s plus the path.
    let mut cfg = NetConfig::with_latency(LatencyModel::Constant(Duration::ZERO));
    cfg.bandwidth = Bandwidth {
        up_bps: 10_000_000,
        down_bps: 0,
    };
    cfg.header_bytes = 0;
    let mut n = net(cfg, 2);
    for _ in 0..99_999 {
        n.send(t(0), 0, 1, 1_000);
    }
    assert_eq!(n.send(t(0), 0, 1, 1_000), Delivery::At(t(80_000_000)));
}

#[test]
fn drop_reasons_in_stage_order() {
    let cfg = NetConfig {
        mtu_bytes: Some(1_280),
        loss: LossModel::Independent { ppm: PPM },
        ..NetConfig::default()
    };
    let mut n = net(cfg, 4);
    n.set_down(3, true);
    assert_eq!(n.send(t(0), 0, 3, 9_999), Delivery::Dropped(DropReason::Down));
    assert_eq!(
        n.send(t(0), 0, 99, 10),
        Delivery::Dropped(DropReason::Down),
        "unknown node"
    );
    assert_eq!(n.send(t(0), 0, 1, 1_233), Delivery::Dropped(DropReason::Mtu));
    n.partition(vec![0, 1, 1], None);
    assert_eq!(
        n.send(t(0), 0, 1, 1_232),
        Delivery::Dropped(DropReason::Partition)
    );
    assert_eq!(n.send(t(0), 1, 2, 1_232), Delivery::Dropped(DropReason::Loss));
    n.heal();
    assert_eq!(n.send(t(0), 0, 1, 10), Delivery::Dropped(DropReason::Loss));
    n.set_down(3, false);
    assert!(!n.is_down(3));
    let s = n.stats();
    assert_eq!((s.sent, s.delivered), (6, 0));
    assert_eq!(s.dropped(DropReason::Loss), 2);
    assert_eq!(s.dropped(DropReason::Down), 2);
}

#[test]
fn one_way_partition_cuts_one_direction() {
    let mut n = net(NetConfig::default(), 2);
    n.partition(vec![0, 1], Some((0, 1)));
    assert_eq!(n.send(t(0), 0, 1, 10), Delivery::Dropped(DropReason::Partition));
    assert!(matches!(n.send(t(0), 1, 0, 10), Delivery::At(_)));
}

#[test]
fn queue_full_at_the_uplink() {
    let cfg = NetConfig {
        bandwidth: Bandwidth {
            up_bps: 1_000_000,
            down_bps: 0,
        },
        queue_limit_bytes: 10_000,
        ..NetConfig::default()
    };
    let mut n = net(cfg, 2);
    let fates: Vec<_> = (0..20).map(|_| n.send(t(0), 0, 1, 952)).collect();
    let queued = fates.iter().filter(|d| matches!(d, Delivery::At(_))).count();
    // 1,000 wire bytes each: the limit counts the one in service too, so ten fit.
    assert_eq!(queued, 10);
    assert_eq!(n.stats().dropped(DropReason::QueueFull), 10);
}

#[test]
fn windows_add_latency_and_loss_only_while_active() {
    let mut n = net(NetConfig::default(), 2);
    n.add_window(Window {
        at: t(10 * MS),
        until: t(20 * MS),
        effect: WindowEffect::Latency {
            extra: Duration::from_millis(30),
        },
        nodes: None,
    });
    n.add_window(Window {
        at: t(30 * MS),
        until: t(40 * MS),
        effect: WindowEffect::Loss { ppm: PPM },
        nodes: None,
    });
    assert_eq!(n.send(t(0), 0, 1, 1), Delivery::At(t(50 * MS)));
    assert_eq!(n.send(t(10 * MS), 0, 1, 1), Delivery::At(t(90 * MS)));
    assert_eq!(n.send(t(30 * MS), 0, 1, 1), Delivery::Dropped(DropReason::Loss));
    assert_eq!(n.send(t(40 * MS), 0, 1, 1), Delivery::At(t(90 * MS)));
}

#[test]
fn same_seed_same_fates_and_a_different_seed_differs() {
    let cfg = NetConfig {
        latency: LatencyModel::Internet {
            median: Duration::from_millis(70),
            tail: DEFAULT_TAIL,
        },
        jitter: Jitter::FractionPpm(100_000),
        loss: LossModel::Independent { ppm: 50_000 },
        ..NetConfig::default()
    };
    let run = |seed: [u8; 32]| {
        let mut n = NetModel::new(cfg.clone(), 100, seed).unwrap();
        (0..2_000u32)
            .map(|i| n.send(t(i as u64 * 100), i % 100, (i * 7 + 3) % 100, 200))
            .collect::<Vec<_>>()
    };
    assert_eq!(run([1; 32]), run([1; 32]));
    assert_ne!(run([1; 32]), run([2; 32]));
}

#[test]
fn invalid_configs_are_typed_errors() {
    let cfg = NetConfig {
        loss: LossModel::Independent { ppm: PPM + 1 },
        ..NetConfig::default()
    };
    assert_eq!(
        NetModel::new(cfg, 2, [0; 32]).err(),
        Some(NetConfigError::LossOver100)
    );
    let cfg = NetConfig {
        mtu_bytes: Some(48),
        ..NetConfig::default()
    };
    assert!(matches!(
        NetModel::new(cfg, 2, [0; 32]),
        Err(NetConfigError::MtuTooSmall { .. })
    ));
}

#[test]
fn growing_keeps_behaviour_and_new_nodes_work() {
    let cfg = NetConfig::with_latency(LatencyModel::Internet {
        median: Duration::from_millis(70),
        tail: 1.0,
    });
    let mut n = net(cfg, 10);
    let before = n.send(t(0), 1, 2, 10);
    n.ensure_nodes(20).unwrap();
    assert_eq!(n.n_nodes(), 20);
    assert_eq!(n.send(t(0), 1, 2, 10), before);
    assert!(matches!(n.send(t(0), 15, 19, 10), Delivery::At(_)));
}

#[test]
fn subnets_set_lan_and_wan_latency_and_queue_datagrams_on_the_wan() {
    let mut n = net(NetConfig::default(), 4);
    let mut s = Subnets::new(vec![Subnet {
        lan_latency: Duration::from_millis(1),
        wan: Wan {
            latency: Duration::from_millis(20),
            up_bps: 8_000_000,
            down_bps: 0,
            queue_limit_bytes: 0,
        },
    }]);
    for node in 1..=3 {
        s.place(node, Some(0)).unwrap();
    }
    n.set_subnets(s);
    assert_eq!(n.subnets().map(|s| s.subnet_of(2)), Some(Some(0)));
    // On the LAN: 1 ms, not the network's 50 ms.
    assert_eq!(n.send(t(0), 1, 2, 952), Delivery::At(t(MS)));
    // To the Internet: 1 ms LAN + 20 ms WAN + 50 ms core; 1,000 wire bytes take 1 ms on the
    // 8 Mbps WAN up, and the second sender's datagram queues behind the first.
    assert_eq!(n.send(t(0), 1, 0, 952), Delivery::At(t(72 * MS)));
    assert_eq!(n.send(t(0), 3, 0, 952), Delivery::At(t(73 * MS)));
    // Into the subnet: the WAN down is unlimited.
    assert_eq!(n.send(t(0), 0, 2, 952), Delivery::At(t(71 * MS)));
    // Streams see the same paths.
    assert_eq!(
        n.path_links(1, 0).as_slice(),
        [LinkId::Up(1), LinkId::WanUp(0), LinkId::Down(0)]
    );
    assert_eq!(n.segment(t(0), 0, 3), Delivery::At(t(71 * MS)));
}
