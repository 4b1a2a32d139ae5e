//! Hosted mode over the in-crate driver: offers, pulls and serving (MS-PCHC §3).

use super::super::harness::{report, Net};
use super::super::*;
use super::{at, cfg};
use crate::Duration;

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

/// Offers go out at 20 % steps of a segment (MS-PCHC §3.2.4 \[W\]) as origin ranges arrive.
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

/// Two V2 clients and a hosted cache (client 1 `corrupt` or not); client 1 has fetched `spec`.
fn v2_hosted_first_fetch(spec: ContentSpec, corrupt: bool) -> (Net, crate::RequestId) {
    let cfg = DistConfig {
        mode: Mode::Hosted,
        info_version: InfoVersion::V2,
        ..cfg()
    };
    let mut net = Net::new(&cfg, 2, true, Duration::from_millis(1));
    net.codec = true;
    net.peer(1).set_corrupt(corrupt);
    net.publish(spec);
    net.run_until(at(100));
    let r1 = net.command_fetch(1, spec.id);
    net.run_until(at(3_000));
    (net, r1)
}

/// V2 content in hosted mode (MS-PCHC §2.2.2.2, §3.1.5.3): the first client offers with
/// BATCHED_OFFER (never SEGMENT_INFO), the cache answers OK and pulls each segment by HoHoDk, in the
/// clear since it holds no Kp, and learns HoD from the data; the second client asks with
/// MSG_GETSEGLIST and gets every byte from the cache, verified against its own content information.
#[test]
fn v2_hosted_cache_learns_batched_offers_and_serves_them() {
    let spec = ContentSpec { id: 6, size: 400_000 };
    let (mut net, r1) = v2_hosted_first_fetch(spec, false);
    assert_eq!(report(net.fetched(1, r1)).1, spec.size);
    assert!(net.peer(1).stats.offers_sent >= 1);
    assert_eq!(net.peer(1).stats.offers_interested, 0, "no SEGMENT_INFO for V2");
    let segments = net.server().info(6).expect("hashed").segments.len();
    let stored = net
        .hosted_events
        .iter()
        .filter(|e| matches!(e, HostedEvent::SegmentStored { units: 1, .. }))
        .count();
    assert_eq!(stored, segments, "every offered V2 segment pulled");
    let r2 = net.command_fetch(2, 6);
    net.run_until(at(6_000));
    let (p, s, c, size) = report(net.fetched(2, r2));
    assert_eq!((p, s, c, size), (spec.size, 0, 0, spec.size));
    let (served, hs) = match &mut net.nodes[3] {
        super::super::DistNode::Hosted(h) => (h.serve_stats(), h.stats),
        _ => panic!("node 3 is the hosted cache"),
    };
    assert_eq!(hs.blocks_pulled as usize, segments);
    assert_eq!(hs.bytes_pulled, spec.size);
    assert_eq!(served.blocks_served as usize, segments);
}

/// The cache stores what it pulled blind only if it is the offered size; a client that serves a
/// corrupt V2 segment is caught by the fetching client's HoD check, not passed on as good data.
#[test]
fn v2_blind_pull_from_a_corrupt_offerer_is_not_trusted_by_clients() {
    let spec = ContentSpec { id: 7, size: 300_000 };
    let (mut net, r1) = v2_hosted_first_fetch(spec, true);
    assert_eq!(report(net.fetched(1, r1)).1, spec.size);
    let r2 = net.command_fetch(2, 7);
    net.run_until(at(60_000));
    let (p, s, c, size) = report(net.fetched(2, r2));
    assert_eq!(size, spec.size, "completes from the origin");
    assert_eq!((p, s), (0, spec.size));
    assert!(c >= 1, "corrupt segments detected by the client: {c}");
}
