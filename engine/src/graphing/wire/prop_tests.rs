//! Properties: decoding arbitrary bytes never panics (also past a valid header, where the
//! per-type checks run); encode then decode is the identity with `encoded_len` exact, for
//! generated messages of every type; framing reassembles however the stream is cut.

use super::*;
use crate::graphing::*;
use crate::Endpoint;
use proptest::prelude::*;

/// Text with no NUL, up to `max` characters (each at most two UTF-16 units).
fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<char>().prop_filter("no NUL", |c| *c != '\0'), 0..=max)
        .prop_map(|cs| cs.into_iter().collect())
}

fn nonempty(max: usize) -> impl Strategy<Value = String> {
    text(max).prop_filter("non-empty", |s| !s.is_empty())
}

fn guid() -> impl Strategy<Value = Guid> {
    any::<[u8; 16]>().prop_map(Guid)
}

fn endpoints(max: usize) -> impl Strategy<Value = Vec<Endpoint>> {
    proptest::collection::vec(
        (any::<[u8; 16]>(), any::<u16>()).prop_map(|(a, p)| Endpoint::new(a.into(), p)),
        0..=max,
    )
}

fn filter(max_include: usize) -> impl Strategy<Value = TypeFilter> {
    prop_oneof![
        proptest::collection::vec(guid(), 0..=max_include).prop_map(|include| TypeFilter {
            include,
            exclude: Vec::new()
        }),
        proptest::collection::vec(guid(), 0..4).prop_map(|exclude| TypeFilter {
            include: Vec::new(),
            exclude
        }),
    ]
}

prop_compose! {
    fn record()(
        record_type in guid(), id in guid(), version in any::<u32>(), deleted in any::<bool>(),
        creator in nonempty(127), modified_by in text(127),
        security_data in proptest::collection::vec(any::<u8>(), 0..8),
        times in any::<(u64, u64, u64)>(), graph_id in nonempty(127),
        payload in proptest::collection::vec(any::<u8>(), 0..32), attributes in text(16),
    ) -> PeerRecord {
        PeerRecord { record_type, id, version, deleted, creator, modified_by, security_data,
            created: PeerTime(times.0), expires: PeerTime(times.1), modified: PeerTime(times.2),
            graph_id, payload, attributes, autorefresh: false }
    }
}

fn link_message() -> impl Strategy<Value = Message> {
    prop_oneof![
        (
            any::<bool>(),
            nonempty(20),
            nonempty(20),
            proptest::option::of(nonempty(20))
        )
            .prop_map(|(direct, graph_id, source_peer_id, destination_peer_id)| {
                Message::AuthInfo(Box::new(AuthInfo {
                    connection_type: if direct {
                        ConnectionType::Direct
                    } else {
                        ConnectionType::Neighbor
                    },
                    graph_id,
                    source_peer_id,
                    destination_peer_id,
                }))
            }),
        (
            any::<[bool; 3]>(),
            any::<u64>(),
            endpoints(4),
            proptest::option::of(text(20))
        )
            .prop_map(|(f, node_id, addresses, friendly_name)| {
                Message::Connect(Box::new(Connect {
                    update: f[0] && !addresses.is_empty(),
                    direct: f[1],
                    want_neighbors: f[2],
                    node_id,
                    addresses,
                    friendly_name,
                }))
            }),
        (
            any::<(u64, u64)>(),
            endpoints(4),
            text(20),
            proptest::option::of(text(20))
        )
            .prop_map(|(ids, addresses, peer_id, friendly_name)| {
                Message::Welcome(Box::new(Welcome {
                    node_id: ids.0,
                    peer_time: PeerTime(ids.1),
                    addresses,
                    peer_id,
                    friendly_name,
                }))
            }),
        (0usize..4, endpoints(4)).prop_map(|(r, addresses)| {
            let reason = [
                RefuseReason::Busy,
                RefuseReason::AlreadyConnected,
                RefuseReason::DuplicateConnection,
                RefuseReason::DirectConnectionDisallowed,
            ][r];
            Message::Refuse(Box::new(Refuse { reason, addresses }))
        }),
        (0usize..3, endpoints(4)).prop_map(|(r, addresses)| {
            let reason = [
                DisconnectReason::Leaving,
                DisconnectReason::LeastUseful,
                DisconnectReason::AppDisconnect,
            ][r];
            Message::Disconnect(Box::new(Disconnect { reason, addresses }))
        }),
    ]
}

fn sync_message() -> impl Strategy<Value = Message> {
    let hash_info = (any::<[u8; 16]>(), any::<u64>(), guid()).prop_map(|(hash, m, id)| HashInfo {
        hash,
        modified: PeerTime(m),
        id,
    });
    let boundary = (any::<(u64, u64, u32)>(), guid(), guid()).prop_map(|(n, low_id, high_id)| HashBoundary {
        low_modified: PeerTime(n.0),
        low_id,
        high_modified: PeerTime(n.1),
        high_id,
        count: n.2,
    });
    let abstracts = || {
        proptest::collection::vec(
            (guid(), any::<u32>()).prop_map(|(id, version)| RecordAbstract { id, version }),
            0..4,
        )
    };
    prop_oneof![
        filter(1).prop_map(|types| Message::SolicitNew(Box::new(SolicitNew { types }))),
        (filter(1), any::<u64>()).prop_map(|(types, t)| {
            Message::SolicitTime(Box::new(SolicitTime {
                types,
                since: PeerTime(t),
            }))
        }),
        (filter(3), proptest::collection::vec(hash_info, 0..4))
            .prop_map(|(types, ranges)| Message::SolicitHash(Box::new(SolicitHash { types, ranges }))),
        (proptest::collection::vec(boundary, 0..3), abstracts()).prop_map(|(boundaries, abstracts)| {
            Message::Advertise(Box::new(Advertise {
                boundaries,
                abstracts,
            }))
        }),
        abstracts().prop_map(|abstracts| Message::Request(Box::new(Request { abstracts }))),
        record().prop_map(|r| Message::Flood(Box::new(r))),
        any::<bool>().prop_map(|final_phase| Message::SyncEnd { final_phase }),
        (guid(), proptest::collection::vec(any::<u8>(), 0..32))
            .prop_map(|(data_type, data)| Message::PointToPoint(Box::new(PointToPoint { data_type, data }))),
        proptest::collection::vec(
            (guid(), any::<bool>()).prop_map(|(id, useful)| AckEntry { id, useful }),
            0..4
        )
        .prop_map(|entries| Message::Ack(Box::new(entries))),
    ]
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![link_message(), sync_message()]
}

fn bytes_of(msg: &Message) -> Vec<u8> {
    let mut out = Vec::new();
    encode(msg, &mut out);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = decode(&bytes);
        let _ = decode_record(&bytes);
        let mut reader = FrameReader::new(FrameLimits { max_frame: 64, max_message: 1 << 12 });
        reader.push(&bytes);
        while let Ok(Some(_)) = reader.next_message() {}
        let _ = take_message(&bytes, FrameLimits::default());
    }

    #[test]
    fn decoding_past_a_valid_header_never_panics(
        code in 1u8..=14,
        body in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let mut bytes = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        bytes.extend_from_slice(&[0x10, code, 0, 0]);
        bytes.extend_from_slice(&body);
        let _ = decode(&bytes);
    }

    #[test]
    fn encode_then_decode_is_the_identity(msg in message()) {
        let bytes = bytes_of(&msg);
        prop_assert_eq!(bytes.len(), msg.encoded_len());
        prop_assert_eq!(decode(&bytes), Ok(msg));
    }

    #[test]
    fn frames_reassemble_however_the_stream_is_cut(
        msgs in proptest::collection::vec(message(), 1..4),
        max_frame in 1u16..64,
        cuts in proptest::collection::vec(1usize..40, 1..20),
    ) {
        let mut stream = Vec::new();
        for m in &msgs {
            frame::encode_framed(m, max_frame, &mut stream);
        }
        let limits = FrameLimits { max_frame, max_message: 1 << 20 };
        let mut reader = FrameReader::new(limits);
        let mut got = Vec::new();
        let mut rest = &stream[..];
        let mut i = 0;
        while !rest.is_empty() {
            let n = cuts[i % cuts.len()].min(rest.len());
            reader.push(&rest[..n]);
            rest = &rest[n..];
            i += 1;
            while let Some(m) = reader.next_message().unwrap() {
                got.push(m);
            }
        }
        prop_assert_eq!(reader.buffered(), 0);
        prop_assert_eq!(&got, &msgs);
        let (first, used) = take_message(&stream, limits).unwrap().unwrap();
        prop_assert_eq!(used, msgs[0].encoded_len() + frame::framing_overhead(msgs[0].encoded_len(), max_frame));
        prop_assert_eq!(decode(&first), Ok(msgs[0].clone()));
    }
}
