//! Multi-node tests over the in-crate driver: offload, V2, modeled data, determinism and eviction
//! here; specification rules and faults, hosted mode, the cold start and fuzzing in the submodules.

use super::harness::{report, Net};
use super::*;
use crate::{Duration, Instant};

mod cold_start;
mod fuzz;
mod hosted;
mod partial_range;
mod rules;
mod spec_examples;

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

/// Same seed, same run: the event log is identical, and identical again when every message is
/// round-tripped through the byte codec (docs/architecture.md §3's codec switch).
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

/// V1 content information with SHA-384 and SHA-512 (MS-PCCRC §2.3): a client fetches it from a
/// peer over the codec (48/64-byte HoHoDk hex in PCCRD probes, SizeOfSegmentID 48/64 in PCCRR) and
/// verifies every block against the longer block hashes.
#[test]
fn v1_sha384_and_sha512_content_is_fetched_from_a_peer_and_verified() {
    for v1_hash in [V1Hash::Sha384, V1Hash::Sha512] {
        let cfg = DistConfig { v1_hash, ..cfg() };
        let mut net = Net::new(&cfg, 2, false, Duration::from_millis(1));
        net.codec = true;
        let spec = ContentSpec { id: 9, size: 300_000 };
        net.publish(spec);
        net.run_until(at(100));
        let info = net.server().info(9).expect("hashed").clone();
        assert_eq!(info.hash, v1_hash.algo());
        assert_eq!(info.segments[0].id(info.hash).len(), v1_hash.algo().output_len());
        let first = net.command_fetch(1, 9);
        net.run_until(at(2_000));
        assert_eq!(report(net.fetched(1, first)).1, spec.size);
        let second = net.command_fetch(2, 9);
        net.run_until(at(4_000));
        assert_eq!(
            report(net.fetched(2, second)),
            (spec.size, 0, 0, spec.size),
            "{v1_hash:?}: every block from the peer, none corrupt"
        );
    }
}
