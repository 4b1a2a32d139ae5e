//! Golden bytes written by hand from the layouts of MS-PPGRH §2.2.3, every rejection, and
//! properties: decoding arbitrary bytes never panics; encode then decode is the identity.

use super::*;
use proptest::prelude::*;

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|t| u8::from_str_radix(t, 16).unwrap())
        .collect()
}

fn info() -> GraphInfo {
    GraphInfo {
        deferred_expiration: true,
        scope: Scope::Global,
        graph_id: "g1".into(),
        creator_id: "al".into(),
        friendly_name: String::new(),
        comment: String::new(),
        presence_lifetime: 0,
        max_presence_records: PRESENCE_ALL,
        max_record_size: 0,
    }
}

#[test]
fn golden_graph_info() {
    let bytes = hex("00 00 00 34  00 00 00 02  00 00 00 01
         00 00 00 03  67 00 31 00 00 00
         00 00 00 03  61 00 6c 00 00 00
         00 00 00 00  00 00 00 00
         00 00 00 00  ff ff ff ff  00 00 00 00");
    assert_eq!(info().encode(), bytes);
    assert_eq!(info().encoded_len(), bytes.len());
    assert_eq!(GraphInfo::decode(&bytes), Ok(info()));
    assert_eq!(info().presence_lifetime_secs(), 300);
    assert_eq!(info().max_record_size_bytes(), 62_914_560);
}

#[test]
fn graph_info_ignores_reserved_and_i_bits() {
    let mut bytes = info().encode();
    bytes[4] = 0x80; // a reserved bit
    bytes[7] = 0x03; // D and I
    assert_eq!(GraphInfo::decode(&bytes), Ok(info()));
}

#[test]
fn graph_info_rejections_name_the_field() {
    let good = info().encode();
    let mut size = good.clone();
    size[3] = 0x33;
    assert!(matches!(
        GraphInfo::decode(&size),
        Err(WireError::SizeMismatch { .. })
    ));
    let mut scope = good.clone();
    scope[11] = 4;
    assert!(matches!(
        GraphInfo::decode(&scope),
        Err(WireError::BadValue {
            field: "Graph Info scope",
            value: 4
        })
    ));
    let mut lifetime = info();
    lifetime.presence_lifetime = 299;
    assert!(matches!(
        GraphInfo::decode(&lifetime.encode()),
        Err(WireError::BadValue {
            field: "Graph Info presence lifetime",
            ..
        })
    ));
    lifetime.presence_lifetime = 300;
    assert!(GraphInfo::decode(&lifetime.encode()).is_ok());
    for bad in [1_023, 62_914_561] {
        let mut size = info();
        size.max_record_size = bad;
        assert!(matches!(
            GraphInfo::decode(&size.encode()),
            Err(WireError::BadValue {
                field: "Graph Info max record size",
                ..
            })
        ));
    }
    let mut short_id = info();
    short_id.graph_id = String::new();
    assert!(matches!(
        GraphInfo::decode(&short_id.encode()),
        Err(WireError::BadValue {
            field: "Graph Info graph id",
            value: 0
        })
    ));
    let mut long_comment = info();
    long_comment.comment = "c".repeat(512);
    assert!(matches!(
        GraphInfo::decode(&long_comment.encode()),
        Err(WireError::BadValue {
            field: "Graph Info comment",
            value: 513
        })
    ));
    long_comment.comment.pop();
    assert!(GraphInfo::decode(&long_comment.encode()).is_ok());
    for cut in 0..good.len() {
        assert!(GraphInfo::decode(&good[..cut]).is_err(), "cut at {cut}");
    }
}

#[test]
fn golden_signature() {
    let p = SignaturePayload {
        signature: 0x0102_0304_0506_0708,
    };
    let bytes = hex("01 02 03 04 05 06 07 08");
    assert_eq!(p.encode(), bytes);
    assert_eq!(SignaturePayload::decode(&bytes), Ok(p));
    assert_eq!(
        SignaturePayload::decode(&bytes[..7]),
        Err(WireError::Truncated("Signature"))
    );
    assert_eq!(SignaturePayload::decode(&[0; 9]), Err(WireError::Trailing(1)));
}

#[test]
fn golden_contact() {
    let p = ContactPayload {
        signature: 0x0102_0304_0506_0708,
        node_id: 0x1111_1111_1111_1111,
        addresses: vec![Endpoint::new("2001:db8::1".parse().unwrap(), 3587)],
    };
    let bytes = hex("01 02 03 04 05 06 07 08  11 11 11 11 11 11 11 11  00 00 00 01
         00 00 00 20  00 17  0e 03  00 00 00 00
         20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01  00 00 00 00");
    assert_eq!(p.encode(), bytes);
    assert_eq!(p.encoded_len(), bytes.len());
    assert_eq!(ContactPayload::decode(&bytes), Ok(p));
    let mut forged = bytes.clone();
    forged[19] = 2;
    assert_eq!(
        ContactPayload::decode(&forged),
        Err(WireError::Truncated("PEER_ADDRESS array"))
    );
}

#[test]
fn golden_presence() {
    let p = PresencePayload {
        node_id: 5,
        attributes: "<a/>".into(),
        addresses: Vec::new(),
    };
    let bytes = hex("00 00 00 00 00 00 00 05
         00 00 00 05  3c 00 61 00 2f 00 3e 00 00 00
         00 00 00 00");
    assert_eq!(p.encode(), bytes);
    assert_eq!(p.encoded_len(), bytes.len());
    assert_eq!(PresencePayload::decode(&bytes), Ok(p));
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert_eq!(PresencePayload::decode(&trailing), Err(WireError::Trailing(1)));
}

fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<char>().prop_filter("no NUL", |c| *c != '\0'), 0..max)
        .prop_map(|cs| cs.into_iter().collect())
}

fn id() -> impl Strategy<Value = String> {
    // 1..=127 chars, each at most two UTF-16 units: within 2..=256 with the NUL.
    text(127).prop_filter("non-empty", |s| !s.is_empty())
}

fn endpoints() -> impl Strategy<Value = Vec<Endpoint>> {
    proptest::collection::vec(
        (any::<[u8; 16]>(), any::<u16>()).prop_map(|(a, p)| Endpoint::new(a.into(), p)),
        0..4,
    )
}

prop_compose! {
    fn graph_info()(
        deferred_expiration in any::<bool>(),
        scope in prop_oneof![Just(Scope::Global), Just(Scope::SiteLocal), Just(Scope::LinkLocal)],
        graph_id in id(), creator_id in id(), friendly_name in text(127), comment in text(255),
        presence_lifetime in prop_oneof![Just(0u32), 300u32..],
        max_presence_records in any::<u32>(),
        max_record_size in prop_oneof![Just(0u32), MIN_RECORD_SIZE_LIMIT..=MAX_RECORD_SIZE_LIMIT],
    ) -> GraphInfo {
        GraphInfo { deferred_expiration, scope, graph_id, creator_id, friendly_name, comment,
                    presence_lifetime, max_presence_records, max_record_size }
    }
}

proptest! {
    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = GraphInfo::decode(&bytes);
        let _ = SignaturePayload::decode(&bytes);
        let _ = ContactPayload::decode(&bytes);
        let _ = PresencePayload::decode(&bytes);
    }

    #[test]
    fn payloads_round_trip(info in graph_info(), sig in any::<u64>(), node in any::<u64>(),
                           attributes in text(64), addresses in endpoints()) {
        prop_assert_eq!(info.encode().len(), info.encoded_len());
        prop_assert_eq!(GraphInfo::decode(&info.encode()), Ok(info));
        let s = SignaturePayload { signature: sig };
        prop_assert_eq!(SignaturePayload::decode(&s.encode()), Ok(s));
        let c = ContactPayload { signature: sig, node_id: node, addresses: addresses.clone() };
        prop_assert_eq!(c.encode().len(), c.encoded_len());
        prop_assert_eq!(ContactPayload::decode(&c.encode()), Ok(c));
        let p = PresencePayload { node_id: node, attributes, addresses };
        prop_assert_eq!(p.encode().len(), p.encoded_len());
        prop_assert_eq!(PresencePayload::decode(&p.encode()), Ok(p));
    }
}
