//! Property test: branch peers survive arbitrary, partly well-formed network input (docs/architecture.md §3:
//! input from the network never panics).

use super::*;
use crate::dist::harness::ep;
use crate::dist::pccrd::{MatchEntry, ProbeMatch, ProbeVersion};
use crate::dist::pccrr::{BlockBody, BlockRange, CryptoAlgo, PccrrBody, PccrrMessage, ProtoVersion};
use proptest::prelude::*;
use std::sync::Arc;

fn arb_message(seg: Digest) -> impl Strategy<Value = DistMessage> {
    let id = prop_oneof![Just(seg), any::<[u8; 32]>().prop_map(Digest::from32)];
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
    let matches =
        (id.clone(), any::<u128>(), 0u32..1_000, 0usize..4).prop_map(|(segment, relates_to, count, who)| {
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
                    age: None,
                }],
            }))
        });
    let origin = (any::<u64>(), 0u32..3, 0u32..40, any::<bool>()).prop_map(|(tag, segment, first, empty)| {
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
    fn peers_survive_arbitrary_input(msgs in proptest::collection::vec((arb_message(Digest::from32([0; 32])), 0usize..3, 0u64..400), 1..40)) {
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
                        PccrrBody::Blk { segment, .. } | PccrrBody::BlkList { segment, .. } if *segment == Digest::from32([0; 32]) => *segment = seg,
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

/// Hostile datagrams from the wire are counted and dropped; a good one still gets through.
#[test]
fn malformed_datagrams_are_counted_and_dropped() {
    let mut net = Net::new(&DistConfig::default(), 2, false, Duration::from_millis(1));
    let hostile = [
        {
            let mut b = vec![1u8];
            b.extend_from_slice(format!("{}>", "<".repeat(60_000)).as_bytes());
            b
        },
        {
            let mut b = vec![2u8];
            b.extend_from_slice("<a>".repeat(21_000).as_bytes());
            b
        },
        vec![1u8; crate::dist::pccrd_xml::MAX_DATAGRAM + 2],
        vec![],
        vec![9, 1, 2],
    ];
    for d in &hostile {
        net.peer(1).handle_datagram(Instant::ZERO, ep(2), d);
    }
    assert_eq!(net.peer(1).stats.malformed, hostile.len() as u64);
    let probe = DistMessage::Probe(Arc::new(crate::dist::pccrd::Probe {
        message_id: 7,
        version: ProbeVersion::V1,
        segments: vec![Digest::from32([3; 32])],
    }));
    net.peer(1).handle_datagram(Instant::ZERO, ep(2), &probe.encode());
    assert_eq!(net.peer(1).stats.malformed, hostile.len() as u64);
}
