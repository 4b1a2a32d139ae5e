//! The cold start of a flash crowd with the peerlab extension `cold_start = "wait-for-peers"`:
//! peers that start together wait for the one fetching from a slow origin instead of each pulling
//! a copy (which the specification's client, the default, does), and still finish when that peer
//! leaves mid-download.

use super::super::harness::{report, Net};
use super::super::*;
use super::{at, cfg};
use crate::{Duration, RequestId};

/// The origin sends 1 MB/s: one copy of the 3 MB file takes about 3 s to arrive.
const ORIGIN_RATE: u64 = 1_000_000;
/// The file every test fetches.
const SPEC: ContentSpec = ContentSpec {
    id: 5,
    size: 3_000_000,
};

/// `peers` branch peers behind a slow origin that has published [`SPEC`]; 100 ms in.
fn slow_origin(cfg: &DistConfig, peers: usize) -> Net {
    let mut net = Net::new(cfg, peers, false, Duration::from_millis(1));
    net.server_rate = Some(ORIGIN_RATE);
    net.publish(SPEC);
    net.run_until(at(100));
    net
}

/// Checks that every fetch completed with the whole file; returns the bytes they took from the
/// origin.
fn all_complete(net: &Net, reqs: &[(usize, RequestId)]) -> u64 {
    let mut from_server = 0;
    for &(i, r) in reqs {
        let (p, s, c, size) = report(net.fetched(i, r));
        assert_eq!((p + s, c, size), (SPEC.size, 0, SPEC.size), "peer {i}");
        from_server += s;
    }
    from_server
}

/// Eight peers start 40 ms apart (all inside the first one's probe window); returns the content
/// bytes the origin sent.
fn crowd(cold_start: ColdStart, info_version: InfoVersion) -> u64 {
    let cfg = DistConfig {
        cold_start,
        info_version,
        ..cfg()
    };
    let mut net = slow_origin(&cfg, 8);
    let mut reqs = Vec::new();
    for i in 1..=8 {
        reqs.push((i, net.command_fetch(i, SPEC.id)));
        let t = net.now + Duration::from_millis(40);
        net.run_until(t);
    }
    net.run_until(net.now + Duration::from_secs(120));
    all_complete(&net, &reqs);
    net.traffic.server_payload
}

#[test]
fn peers_starting_together_share_one_origin_copy() {
    for version in [InfoVersion::V1, InfoVersion::V2] {
        let waited = crowd(ColdStart::WaitForPeers, version);
        assert!(
            waited <= SPEC.size * 11 / 10,
            "{version:?}: the origin sent {waited} bytes, about one copy expected"
        );
        let herd = crowd(ColdStart::Origin, version);
        assert!(
            herd >= 3 * SPEC.size,
            "{version:?}: without waiting the origin sent only {herd} bytes"
        );
    }
}

/// The peer fetching from the origin leaves after the first of three ranges: the waiters take
/// what it gave them, wait, and the first to give up fetches the rest, which the others find
/// with their last probe; everyone completes.
#[test]
fn waiters_finish_when_the_fetching_peer_leaves_mid_download() {
    let cfg = DistConfig {
        origin_range_max_bytes: 1 << 20,
        peer_wait_max: Duration::from_secs(10),
        cold_start: ColdStart::WaitForPeers,
        ..cfg()
    };
    let mut net = slow_origin(&cfg, 5);
    net.command_fetch(1, SPEC.id);
    net.run_until(at(200));
    let reqs: Vec<_> = (2..=5).map(|i| (i, net.command_fetch(i, SPEC.id))).collect();
    // The first 1 MiB range lands about 1.45 s in, the last about 3.55 s; once a waiter has
    // copied the first, peer 1 is gone.
    while net.peer(2).cache_bytes() < 1 << 20 && net.now < at(3_000) {
        net.run_until(net.now + Duration::from_millis(50));
    }
    assert!(
        net.peer(2).cache_bytes() >= 1 << 20,
        "peer 2 copied the first range"
    );
    assert!(
        net.peer(1).cache_bytes() < SPEC.size,
        "peer 1 leaves mid-download"
    );
    net.gone.push(1);
    net.run_until(at(60_000));
    let from_server = all_complete(&net, &reqs);
    let give_ups: u64 = (2..=5).map(|i| net.peer(i).stats.peer_wait_give_ups).sum();
    assert_eq!(give_ups, 1, "one waiter gave up, the others found it fetching");
    assert!(
        from_server < SPEC.size,
        "the rest came from the origin once, not once per waiter: {from_server}"
    );
}
