//! Specification rules and faults over the in-crate driver: plain bodies while hashing (MS-PCCRTP §3.2),
//! reply suppression (MS-PCCRD §3.2.4.1), the probe rate cap (MS-CCRSO §5.1), bad peers (MS-PCCRR §3.1).

use super::super::harness::{report, Net};
use super::super::*;
use super::{at, cfg};
use crate::Duration;

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

/// Reply suppression (MS-PCCRD §3.2.4.1 \[W\]): a node that saw ≥ n full replies when it downloaded stays quiet.
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

/// The probe rate cap (MS-CCRSO §5.1): session starts beyond Fmax go straight to the origin.
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

/// A NEGO_RESP is answered by resending with the highest common version (MS-PCCRR §3.1.5.1); a
/// second one, or none in common, drops that server, and the fetch still completes.
#[test]
fn nego_resp_resends_with_the_common_version() {
    use crate::dist::pccrr::{PccrrBody, PccrrMessage, ProtoVersion};
    use std::sync::Arc;
    let mut net = Net::new(&cfg(), 2, false, Duration::from_millis(1));
    let spec = ContentSpec {
        id: 8,
        size: 1_500_000,
    };
    net.publish(spec);
    net.run_until(at(100));
    net.command_fetch(1, 8);
    net.run_until(at(2_000));
    let second = net.command_fetch(2, 8);
    while net
        .peer(2)
        .outstanding
        .keys()
        .all(|k| k.0 != super::super::harness::ep(1))
    {
        let t = net.now + Duration::from_micros(200);
        net.run_until(t);
    }
    let nego = |min: u16, max: u16| {
        DistMessage::Pccrr(Arc::new(PccrrMessage {
            version: ProtoVersion::V1_0,
            crypto: Default::default(),
            body: PccrrBody::NegoResp {
                min: ProtoVersion { major: min, minor: 0 },
                max: ProtoVersion { major: max, minor: 9 },
            },
        }))
    };
    net.inject(2, super::super::harness::ep(1), nego(1, 3));
    let o = net.peer(2).outstanding.values().find(|o| o.renegotiated).copied();
    let o = o.expect("the request was resent");
    assert_eq!(
        o.version,
        ProtoVersion::V2_0,
        "highest common major: ours are 1 and 2"
    );
    assert_eq!(net.peer(2).stats.nego_responses, 1);
    // No common major version: the server is dropped for the segment, no resend.
    let before = net.peer(2).outstanding.len();
    net.inject(2, super::super::harness::ep(1), nego(3, 4));
    assert!(net.peer(2).outstanding.len() < before || net.peer(2).stats.nego_responses == 2);
    net.run_until(at(20_000));
    let (p, s, _, size) = report(net.fetched(2, second));
    assert_eq!((p + s, size), (spec.size, spec.size));
    assert_eq!(
        super::super::negotiate::common_major(ProtoVersion::V1_0, ProtoVersion::V1_0, (1, 2)),
        Some(1)
    );
    assert_eq!(
        super::super::negotiate::common_major(ProtoVersion::V2_0, ProtoVersion::V2_0, (1, 1)),
        None
    );
}

/// Starts a fetch of `spec` on peer 1 and answers it with `info` as if from the origin.
fn fetch_with_info(net: &mut Net, spec: ContentSpec, info: ContentInfo) -> crate::RequestId {
    use crate::dist::message::OriginMessage;
    use std::sync::Arc;
    let r = net.command_fetch(1, spec.id);
    let tag = net.peer(1).fetches.get(&r).map(|f| f.get_tag).expect("fetch");
    let msg = OriginMessage::Info {
        tag,
        content: spec.id,
        size: spec.size,
        info: Arc::new(info),
    };
    net.inject(
        1,
        super::super::harness::ep(0),
        DistMessage::Origin(Arc::new(msg)),
    );
    r
}

/// Content information whose block hashes do not hash to the segment's HoD is refused before any
/// block is fetched (MS-PCCRC §2.2).
#[test]
fn content_information_failing_the_hod_check_is_refused() {
    let mut net = Net::new(&cfg(), 1, false, Duration::from_millis(1));
    let spec = ContentSpec { id: 9, size: 300_000 };
    let mut info = compute_info(&spec, InfoVersion::V1, DataMode::Real, b"k");
    let mut hashes = info.segments[0].block_hashes.to_vec();
    hashes[1].as_bytes_mut()[0] ^= 1;
    info.segments[0].block_hashes = hashes.into();
    let r = fetch_with_info(&mut net, spec, info);
    assert!(matches!(
        net.fetched(1, r),
        Some(PeerEvent::FetchFailed {
            error: FetchError::OriginCorrupt { content: 9 },
            ..
        })
    ));
    assert_eq!(net.peer(1).cache_bytes(), 0);
}

/// Content information for a range (MS-PCCRC §2.3) makes the client fetch and verify only the
/// listed blocks: 100,000 bytes from offset 100,000 of a 300,000-byte segment are blocks 1–3.
#[test]
fn partial_range_information_fetches_only_the_listed_blocks() {
    let mut net = Net::new(&cfg(), 1, false, Duration::from_millis(1));
    let spec = ContentSpec { id: 9, size: 300_000 };
    net.publish(spec);
    let mut info = compute_info(&spec, InfoVersion::V1, DataMode::Real, b"k");
    let all = info.segments[0].block_hashes.to_vec();
    info.offset_in_first_segment = 100_000;
    info.range_tail = 100_000;
    info.segments[0].block_hashes = all[1..4].to_vec().into();
    info.segments[0].first_block = 1;
    let bytes = super::super::info_codec::encode(&info);
    assert_eq!(super::super::info_codec::decode(&bytes).as_ref(), Ok(&info));
    let r = fetch_with_info(&mut net, spec, info);
    net.run_until(at(60_000));
    let (peers, server, corrupt, size) = report(net.fetched(1, r));
    assert_eq!((peers, server, corrupt, size), (0, 3 * 65_536, 0, 100_000));
    assert_eq!(net.peer(1).cache_bytes(), 3 * 65_536);
}
