//! Multi-node tests over the in-crate driver: offload, corrupt peers, stalls, hosted mode, V2.

use super::harness::{report, Net};
use super::*;
use crate::{Duration, Instant};

mod cold_start;

fn cfg() -> DistConfig {
    DistConfig {
        hash_on_publish: true,
        ..DistConfig::default()
    }
}

fn at(ms: u64) -> Instant {
    Instant::from_micros(ms * 1_000)
}

/// The first peer pays the WAN; nine later ones fetch almost everything from peers.
#[test]
fn ten_peers_mostly_from_peers() {
    let mut net = Net::new(&cfg(), 10, false, Duration::from_millis(1));
    let spec = ContentSpec {
        id: 42,
        size: 3_000_000,
    };
    net.publish(spec);
    net.run_until(at(100));
    let first = net.command_fetch(1, 42);
    net.run_until(at(2_000));
    let (p, s, c, size) = report(net.fetched(1, first));
    assert_eq!(
        (p, s, c, size),
        (0, spec.size, 0, spec.size),
        "the first client finds nobody"
    );
    assert!(net.peer(1).stats.probes_sent >= 1);
    let mut reqs = Vec::new();
    for i in 2..=10 {
        reqs.push((i, net.command_fetch(i, 42)));
        let t = net.now + Duration::from_millis(700);
        net.run_until(t);
    }
    net.run_until(net.now + Duration::from_secs(20));
    let (mut peers, mut server) = (0, 0);
    let last = reqs[reqs.len() - 1].1;
    for (i, r) in reqs {
        let (p, s, c, size) = report(net.fetched(i, r));
        assert_eq!((p + s, c, size), (spec.size, 0, spec.size), "peer {i}");
        peers += p;
        server += s;
        assert_eq!(net.peer(i).cache_bytes(), spec.size);
    }
    assert!(
        peers >= 9 * spec.size - spec.size / 10,
        "from peers {peers}, from server {server}"
    );
    assert!(server * 20 < peers, "from peers {peers}, from server {server}");
    let uploads: u64 = (1..=10).map(|i| net.peer(i).serve_stats().bytes_served).sum();
    assert_eq!(uploads, peers);
    assert!(net.peer(1).serve_stats().bytes_served > 0);
    let st = net.peer(2).stats;
    assert_eq!(
        (st.block_lists_sent, st.blocks_requested),
        (1, 46),
        "46 blocks of 64 KiB, one list"
    );
    let Some(PeerEvent::Fetched {
        time_to_first_byte,
        elapsed,
        ..
    }) = net.fetched(10, last).cloned()
    else {
        panic!("peer 10 failed")
    };
    assert!(time_to_first_byte < elapsed && elapsed < Duration::from_secs(5));
}

/// A peer that serves corrupt blocks is caught by the hash, dropped, and the block fetched elsewhere.
#[test]
fn corrupt_peer_is_detected_and_dropped() {
    let mut net = Net::new(&cfg(), 3, false, Duration::from_millis(1));
    let spec = ContentSpec {
        id: 7,
        size: 1_500_000,
    };
    net.publish(spec);
    net.run_until(at(100));
    net.command_fetch(1, 7);
    net.run_until(at(2_000));
    let second = net.command_fetch(2, 7);
    net.run_until(at(4_000));
    assert_eq!(report(net.fetched(2, second)).1, 0);
    net.peer(2).set_corrupt(true);
    let third = net.command_fetch(3, 7);
    net.run_until(at(10_000));
    let (p, s, corrupt, size) = report(net.fetched(3, third));
    assert_eq!(size, spec.size);
    assert!(corrupt >= 1, "the corrupt peer was used at least once");
    assert_eq!(p + s, spec.size);
    assert_eq!(s, 0, "the honest peer supplied the rest");
    assert_eq!(net.peer(3).stats.peers_excluded, 1);
    assert_eq!(net.peer(3).stats.corrupt_blocks, corrupt as u64);
    assert_eq!(
        net.peer(2).serve_stats().corrupt_served,
        corrupt as u64,
        "one bad block per exclusion"
    );
    assert_eq!(
        net.peer(3).cache_bytes(),
        spec.size,
        "only verified data is cached"
    );
}

/// A peer that answers probes but stalls on PCCRR costs timeouts, then the origin supplies the data.
#[test]
fn stalled_peer_times_out_and_origin_fills_in() {
    let mut net = Net::new(&cfg(), 2, false, Duration::from_millis(1));
    let spec = ContentSpec {
        id: 8,
        size: 1_000_000,
    };
    net.publish(spec);
    net.run_until(at(100));
    net.command_fetch(1, 8);
    net.run_until(at(2_000));
    net.mute.push(1);
    let r = net.command_fetch(2, 8);
    net.run_until(at(30_000));
    let (p, s, _, _) = report(net.fetched(2, r));
    assert_eq!((p, s), (0, spec.size));
    assert!(net.peer(2).stats.request_timeouts >= 2, "{:?}", net.peer(2).stats);
}

/// Hashes are computed on the first request: it and those during hashing get the whole body.
#[test]
fn first_request_is_served_whole() {
    let cfg = DistConfig {
        hash_rate_bytes_per_sec: 1_000_000,
        ..DistConfig::default()
    };
    let mut net = Net::new(&cfg, 2, false, Duration::from_millis(1));
    let spec = ContentSpec { id: 3, size: 500_000 };
    net.publish(spec);
    let r1 = net.command_fetch(1, 3);
    net.run_until(at(1_000));
    assert!(matches!(
        net.fetched(1, r1),
        Some(PeerEvent::Fetched { whole_body: true, .. })
    ));
    assert_eq!(net.peer(1).cache_bytes(), 0, "a plain body is not cached");
    let r2 = net.command_fetch(2, 3);
    net.run_until(at(3_000));
    assert!(matches!(
        net.fetched(2, r2),
        Some(PeerEvent::Fetched {
            whole_body: false,
            info_bytes: 18..=400,
            ..
        })
    ));
}

/// Hosted mode: the first client offers, the cache pulls, the second client fetches from it.
#[test]
fn hosted_cache_pulls_offers_and_serves() {
    let cfg = DistConfig {
        mode: Mode::Hosted,
        ..cfg()
    };
    let mut net = Net::new(&cfg, 2, true, Duration::from_millis(1));
    net.codec = true;
    let spec = ContentSpec {
        id: 5,
        size: 2_000_000,
    };
    net.publish(spec);
    net.run_until(at(100));
    let r1 = net.command_fetch(1, 5);
    net.run_until(at(3_000));
    assert_eq!(report(net.fetched(1, r1)).1, spec.size);
    assert!(net.peer(1).stats.offers_interested >= 1);
    assert!(net
        .hosted_events
        .iter()
        .any(|e| matches!(e, HostedEvent::SegmentStored { units: 31, .. })));
    assert_eq!(net.peer(1).stats.probes_sent, 0, "no multicast in hosted mode");
    let r2 = net.command_fetch(2, 5);
    net.run_until(at(6_000));
    let (p, s, c, _) = report(net.fetched(2, r2));
    assert_eq!((p, s, c), (spec.size, 0, 0));
}

/// V2 content: small content-defined segments, batched V2 probes, one fetch unit per segment.
#[test]
fn v2_content_from_peers_with_batched_probes() {
    let cfg = DistConfig {
        info_version: InfoVersion::V2,
        parallel_sessions: 8,
        ..cfg()
    };
    let mut net = Net::new(&cfg, 3, false, Duration::from_millis(1));
    net.codec = true;
    let spec = ContentSpec {
        id: 11,
        size: 1_200_000,
    };
    net.publish(spec);
    net.run_until(at(100));
    let segments = net.server().info(11).expect("hashed").segments.len() as u64;
    net.command_fetch(1, 11);
    net.run_until(at(5_000));
    let r = net.command_fetch(2, 11);
    net.run_until(at(10_000));
    let (p, s, c, size) = report(net.fetched(2, r));
    assert_eq!((p, s, c, size), (spec.size, 0, 0, spec.size));
    let st = net.peer(2).stats;
    assert_eq!(
        st.block_lists_sent, 0,
        "one-unit V2 segments are simple downloads"
    );
    assert_eq!(st.blocks_requested, segments);
    assert!(
        net.peer(2).stats.probes_sent < segments,
        "{} probes for {segments} segments",
        net.peer(2).stats.probes_sent
    );
}

/// Modeled data: a 100 MB file over ten peers runs on tokens, with the same accounting.
#[test]
fn modeled_hundred_megabytes() {
    let cfg = DistConfig {
        data_mode: DataMode::Modeled,
        ..cfg()
    };
    let mut net = Net::new(&cfg, 10, false, Duration::from_millis(1));
    let spec = ContentSpec {
        id: 100,
        size: 100_000_000,
    };
    net.publish(spec);
    net.run_until(at(1_000));
    net.command_fetch(1, 100);
    net.run_until(at(10_000));
    for i in 2..=10 {
        net.command_fetch(i, 100);
        net.run_until(net.now + Duration::from_secs(1));
    }
    net.run_until(at(60_000));
    let done: Vec<_> = net
        .peer_events
        .iter()
        .filter(|(_, e)| matches!(e, PeerEvent::Fetched { .. }))
        .collect();
    assert_eq!(done.len(), 10);
    assert!(
        net.traffic.server_payload < 2 * spec.size,
        "server sent {}",
        net.traffic.server_payload
    );
}

/// Reply suppression (§4.4): a node that saw ≥ n full replies when it downloaded stays quiet.
#[test]
fn reply_suppression_holds_back_well_served_segments() {
    let cfg = DistConfig {
        suppression_replies: 1,
        suppression_ratio: (0, 1),
        ..cfg()
    };
    let mut net = Net::new(&cfg, 3, false, Duration::from_millis(1));
    let spec = ContentSpec { id: 9, size: 400_000 };
    net.publish(spec);
    net.run_until(at(100));
    net.command_fetch(1, 9);
    net.run_until(at(2_000));
    net.command_fetch(2, 9);
    net.run_until(at(4_000));
    let r = net.command_fetch(3, 9);
    net.run_until(at(6_000));
    assert_eq!(report(net.fetched(3, r)).0, spec.size);
    assert_eq!(
        net.peer(2).stats.replies_suppressed,
        1,
        "peer 2 saw one full reply"
    );
    assert_eq!(
        net.peer(1).stats.replies_suppressed,
        0,
        "peer 1 saw none: it always answers"
    );
    assert_eq!(net.peer(3).stats.matches_received, 1);
}

/// The probe rate cap (§4.5): session starts beyond Fmax go straight to the origin.
#[test]
fn probe_rate_cap_sends_excess_sessions_to_the_origin() {
    let cfg = DistConfig {
        probe_rate_max: 1,
        data_mode: DataMode::Modeled,
        ..cfg()
    };
    let mut net = Net::new(&cfg, 1, false, Duration::from_millis(1));
    let spec = ContentSpec {
        id: 12,
        size: 100_000_000,
    };
    net.publish(spec);
    net.run_until(at(1_000));
    let r = net.command_fetch(1, 12);
    net.run_until(at(5_000));
    assert_eq!(report(net.fetched(1, r)).1, spec.size);
    let st = net.peer(1).stats;
    // 100 MB = 3 segments of ≤ 32 MiB, all started at once (parallel_sessions = 4).
    assert_eq!((st.probes_sent, st.rate_limited, st.sessions), (1, 2, 3));
}

/// Same seed, same run: the event log is identical, and identical again when every message is
/// round-tripped through the byte codec (design.md §3's codec switch).
#[test]
fn runs_are_deterministic_with_and_without_the_codec() {
    let run = |codec: bool| {
        let mut net = Net::new(&cfg(), 5, false, Duration::from_millis(2));
        net.codec = codec;
        net.publish(ContentSpec { id: 1, size: 700_000 });
        net.run_until(at(100));
        for i in 1..=5 {
            net.command_fetch(i, 1);
            let t = net.now + Duration::from_millis(400);
            net.run_until(t);
        }
        net.run_until(at(10_000));
        (format!("{:?}", net.peer_events), net.traffic.wire)
    };
    let a = run(false);
    assert_eq!(a.0.matches("Fetched").count(), 5);
    assert_eq!(a, run(false));
    assert_eq!(a, run(true));
}

mod fuzz {
    use super::*;
    use crate::dist::harness::ep;
    use crate::dist::pccrd::{MatchEntry, ProbeMatch, ProbeVersion};
    use crate::dist::pccrr::{BlockBody, BlockRange, CryptoAlgo, PccrrBody, PccrrMessage, ProtoVersion};
    use proptest::prelude::*;
    use std::sync::Arc;

    fn arb_message(seg: Hash32) -> impl Strategy<Value = DistMessage> {
        let id = prop_oneof![Just(seg), any::<[u8; 32]>().prop_map(Hash32)];
        let pccrr = (
            id.clone(),
            0u32..600,
            proptest::collection::vec(any::<u8>(), 0..80),
            any::<bool>(),
            0u8..8,
        )
            .prop_map(|(segment, b, bytes, iv, kind)| {
                let body = match kind {
                    0 => PccrrBody::Blk {
                        segment,
                        block_index: b,
                        next_block_index: 0,
                        body: (!bytes.is_empty()).then(|| BlockBody::Bytes(bytes.into())),
                        iv: iv.then_some([1; 16]),
                    },
                    1 => PccrrBody::BlkList {
                        segment,
                        ranges: vec![BlockRange {
                            index: b % 512,
                            count: 1,
                        }],
                        next_block_index: b,
                    },
                    2 => PccrrBody::GetBlks {
                        segment,
                        range: BlockRange { index: b, count: 1 },
                    },
                    3 => PccrrBody::GetBlkList {
                        segment,
                        ranges: vec![BlockRange { index: b, count: 600 }],
                    },
                    4 => PccrrBody::NegoResp {
                        min: ProtoVersion::V2_0,
                        max: ProtoVersion::V2_0,
                    },
                    5 => PccrrBody::GetSegList {
                        request_id: [0; 16],
                        segments: vec![segment],
                        blob: bytes,
                    },
                    _ => PccrrBody::Blk {
                        segment,
                        block_index: b,
                        next_block_index: 0,
                        body: Some(BlockBody::Modeled {
                            wire_len: b,
                            plain_len: b,
                            token: segment,
                        }),
                        iv: None,
                    },
                };
                let crypto = if iv {
                    CryptoAlgo::Aes128
                } else {
                    CryptoAlgo::Aes256
                };
                DistMessage::Pccrr(Arc::new(PccrrMessage {
                    version: ProtoVersion::V1_0,
                    crypto,
                    body,
                }))
            });
        let matches = (id.clone(), any::<u128>(), 0u32..1_000, 0usize..4).prop_map(
            |(segment, relates_to, count, who)| {
                DistMessage::ProbeMatch(Arc::new(ProbeMatch {
                    message_id: 1,
                    relates_to,
                    instance_id: 1,
                    message_number: 1,
                    endpoint_uuid: 1,
                    version: ProbeVersion::V1,
                    xaddr: ep(who),
                    entries: vec![MatchEntry {
                        segment,
                        block_count: count,
                        complete: count % 2 == 0,
                    }],
                }))
            },
        );
        let origin =
            (any::<u64>(), 0u32..3, 0u32..40, any::<bool>()).prop_map(|(tag, segment, first, empty)| {
                let units = if empty {
                    vec![]
                } else {
                    vec![UnitData::Bytes(vec![0u8; 10].into())]
                };
                DistMessage::Origin(Arc::new(OriginMessage::Range {
                    tag: tag % 40,
                    content: 1,
                    segment,
                    first,
                    units,
                }))
            });
        prop_oneof![pccrr, matches, origin]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// Hostile or stray input never panics a peer in the middle of a fetch, and the fetch ends.
        #[test]
        fn peers_survive_arbitrary_input(msgs in proptest::collection::vec((arb_message(Hash32([0; 32])), 0usize..3, 0u64..400), 1..40)) {
            let mut net = Net::new(&cfg(), 2, false, Duration::from_millis(1));
            let spec = ContentSpec { id: 1, size: 300_000 };
            net.publish(spec);
            net.run_until(at(100));
            net.command_fetch(1, 1);
            net.run_until(at(1_000));
            let seg = net.server().info(1).expect("hashed").segments[0].id(HashAlgo::Sha256);
            let r = net.command_fetch(2, 1);
            for (msg, from, dt) in msgs {
                let msg = match msg {
                    DistMessage::Pccrr(m) => {
                        let mut m = (*m).clone();
                        match &mut m.body {
                            PccrrBody::Blk { segment, .. } | PccrrBody::BlkList { segment, .. } if segment.0 == [0; 32] => *segment = seg,
                            _ => {}
                        }
                        DistMessage::Pccrr(Arc::new(m))
                    }
                    other => other,
                };
                let t = net.now + Duration::from_millis(dt);
                net.run_until(t);
                net.inject(2, ep(from), msg);
            }
            net.run_until(net.now + Duration::from_secs(60));
            prop_assert!(net.fetched(2, r).is_some());
        }
    }
}

/// Offers go out at 20 % steps of a segment (§7.3 \[W\]) as origin ranges arrive.
#[test]
fn hosted_offers_at_twenty_percent_steps() {
    let cfg = DistConfig {
        mode: Mode::Hosted,
        data_mode: DataMode::Modeled,
        ..cfg()
    };
    let mut net = Net::new(&cfg, 2, true, Duration::from_millis(1));
    let spec = ContentSpec {
        id: 6,
        size: 32 << 20,
    };
    net.publish(spec);
    net.run_until(at(1_000));
    net.command_fetch(1, 6);
    net.run_until(at(10_000));
    // Eight 4 MiB ranges of one 512-block segment: offers after ranges 2, 4, 5, 7 and 8.
    assert_eq!(net.peer(1).stats.origin_ranges, 8);
    assert_eq!(net.peer(1).stats.offers_sent, 5);
    let r = net.command_fetch(2, 6);
    net.run_until(at(20_000));
    assert_eq!(
        report(net.fetched(2, r)).0,
        spec.size,
        "all from the hosted cache"
    );
}

/// A cache smaller than the content evicts least-recently-used segments and the fetch completes.
#[test]
fn small_cache_evicts_and_still_completes() {
    let cfg = DistConfig {
        info_version: InfoVersion::V2,
        cache_size_max_bytes: 300_000,
        ..cfg()
    };
    let mut net = Net::new(&cfg, 2, false, Duration::from_millis(1));
    let spec = ContentSpec {
        id: 13,
        size: 1_200_000,
    };
    net.publish(spec);
    net.run_until(at(100));
    let r1 = net.command_fetch(1, 13);
    net.run_until(at(5_000));
    assert_eq!(report(net.fetched(1, r1)).1, spec.size);
    let held = net.peer(1).cache_bytes();
    assert!(held <= 300_000 && held > 0, "{held} bytes cached");
    let r2 = net.command_fetch(2, 13);
    net.run_until(at(30_000));
    let (p, s, _, _) = report(net.fetched(2, r2));
    assert_eq!(p + s, spec.size);
    assert!(
        p > 0 && p <= held,
        "peer 1 can only serve what it kept: {p} of {held}"
    );
}
