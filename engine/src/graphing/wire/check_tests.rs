//! One test per receiver check of MS-PPGRH §3.1.5: a valid message is edited to break exactly
//! that check (and, where there is one, to sit exactly on its boundary), and the decoder must
//! reject the first and accept the second.

use super::golden_tests::small_record;
use super::*;
use crate::graphing::*;
use crate::Endpoint;

fn bytes_of(msg: Message) -> Vec<u8> {
    let mut out = Vec::new();
    encode(&msg, &mut out);
    assert!(decode(&out).is_ok(), "baseline must decode");
    out
}

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

/// Cuts or pads `b` to `len` bytes and fixes its Message Size.
fn resize(mut b: Vec<u8>, len: usize) -> Vec<u8> {
    b.resize(len, 0);
    put32(&mut b, 0, len as u32);
    b
}

fn bad_offset(b: &[u8]) -> bool {
    matches!(decode(b), Err(WireError::BadOffset(_)))
}

fn bad_value(b: &[u8]) -> bool {
    matches!(decode(b), Err(WireError::BadValue { .. }))
}

fn below_minimum(b: &[u8]) -> bool {
    matches!(decode(b), Err(WireError::BelowMinimum { .. }))
}

fn ep() -> Endpoint {
    Endpoint::new("::1".parse().unwrap(), 80)
}

#[test]
fn every_type_checks_its_minimum_size() {
    for (code, min) in [
        (1, 16),
        (2, 24),
        (3, 32),
        (4, 12),
        (5, 12),
        (6, 12),
        (7, 20),
        (8, 20),
        (9, 24),
        (10, 16),
        (11, 16),
        (12, 12),
        (13, 28),
        (14, 12),
    ] {
        let mut b = vec![0u8; min - 1];
        put32(&mut b, 0, (min - 1) as u32);
        b[4] = 0x10;
        b[5] = code;
        assert!(below_minimum(&b), "type {code}");
    }
}

#[test]
fn auth_info_checks() {
    let ok = bytes_of(Message::AuthInfo(Box::new(AuthInfo {
        connection_type: ConnectionType::Neighbor,
        graph_id: "g".into(),
        source_peer_id: "al".into(),
        destination_peer_id: Some("b".into()),
    })));
    // Offsets: graph 16, source 18, destination 21, size 23.
    let mut t = ok.clone();
    t[8] = 3;
    assert!(bad_value(&t));
    let mut t = ok.clone();
    put16(&mut t, 10, 18);
    assert!(bad_offset(&t), "graph offset not below source offset");
    let mut t = ok.clone();
    put16(&mut t, 14, 18);
    assert!(bad_offset(&t), "source offset not below destination offset");
    let mut t = ok.clone();
    put16(&mut t, 14, 24);
    assert!(bad_offset(&t), "destination offset beyond size");
    let mut t = ok.clone();
    t[16] = 0; // graph id "" (a lone NUL then a stray one)
    put16(&mut t, 12, 17);
    assert!(
        matches!(decode(&t), Err(WireError::BadString(_))),
        "empty graph id"
    );
    let mut t = ok.clone();
    t[18] = 0;
    put16(&mut t, 14, 19);
    assert!(decode(&t).is_err(), "empty source");
    let mut empty_dest = resize(ok.clone(), 22);
    empty_dest[21] = 0;
    assert!(
        matches!(decode(&empty_dest), Err(WireError::BadString(_))),
        "empty destination"
    );
}

#[test]
fn connect_checks() {
    let ok = bytes_of(Message::Connect(Box::new(Connect {
        update: true,
        direct: false,
        want_neighbors: false,
        node_id: 1,
        addresses: vec![ep()],
        friendly_name: Some("n".into()),
    })));
    // Addresses at 24..44, friendly name at 44, size 46.
    let mut t = ok.clone();
    put16(&mut t, 10, 27);
    assert!(bad_offset(&t), "count·20 + offset beyond size");
    let mut t = ok.clone();
    put16(&mut t, 10, 26);
    put16(&mut t, 12, 46);
    assert!(!bad_offset(&t), "addresses ending exactly at size are within");
    let mut t = ok.clone();
    put16(&mut t, 12, 43);
    assert!(bad_offset(&t), "friendly name inside the addresses");
    let mut t = ok.clone();
    put16(&mut t, 12, 47);
    assert!(bad_offset(&t), "friendly name beyond size");
    let mut t = ok.clone();
    put16(&mut t, 12, 46);
    assert!(decode(&t).is_ok(), "friendly name offset = size: absent");
    let mut t = ok.clone();
    t[9] = 0;
    assert!(bad_value(&t), "U with no addresses");
    t[8] = 0;
    assert!(decode(&t).is_ok(), "no U, no addresses");
}

#[test]
fn welcome_checks() {
    let ok = bytes_of(Message::Welcome(Box::new(Welcome {
        node_id: 2,
        peer_time: PeerTime(3),
        addresses: vec![ep()],
        peer_id: "p".into(),
        friendly_name: Some("f".into()),
    })));
    // Addresses 32..52, peer id at 52, friendly name at 54, size 56.
    let mut t = ok.clone();
    put16(&mut t, 26, 36);
    assert!(bad_offset(&t), "count·20 + offset = size (must be below)");
    let mut t = ok.clone();
    put16(&mut t, 28, 51);
    assert!(bad_offset(&t), "peer id inside the addresses");
    let mut t = ok.clone();
    put16(&mut t, 30, 52);
    assert!(bad_offset(&t), "friendly name offset not above peer id offset");
    let mut t = ok.clone();
    put16(&mut t, 30, 57);
    assert!(bad_offset(&t), "friendly name beyond size");
}

#[test]
fn refuse_and_disconnect_checks() {
    let refuse = bytes_of(Message::Refuse(Box::new(Refuse {
        reason: RefuseReason::Busy,
        addresses: vec![ep()],
    })));
    let mut t = refuse.clone();
    put16(&mut t, 10, 13);
    assert!(bad_offset(&t), "addresses beyond size");
    for code in [0, 5] {
        let mut t = refuse.clone();
        t[8] = code;
        assert!(bad_value(&t), "refuse code {code}");
    }
    let disconnect = bytes_of(Message::Disconnect(Box::new(Disconnect {
        reason: DisconnectReason::Leaving,
        addresses: vec![ep()],
    })));
    let mut t = disconnect.clone();
    t[9] = 2;
    assert!(bad_offset(&t), "count beyond size");
    for code in [0, 4] {
        let mut t = disconnect.clone();
        t[8] = code;
        assert!(bad_value(&t), "disconnect reason {code}");
    }
}

#[test]
fn solicitation_checks() {
    let one = TypeFilter {
        include: vec![GRAPH_INFO_TYPE],
        exclude: Vec::new(),
    };
    let new = bytes_of(Message::SolicitNew(Box::new(SolicitNew { types: one.clone() })));
    let mut t = new.clone();
    t[9] = 1;
    assert!(bad_value(&t), "both counts nonzero");
    let mut t = resize(new.clone(), 44);
    t[8] = 2;
    assert!(bad_value(&t), "inclusion count 2");
    let mut t = new.clone();
    put16(&mut t, 10, 13);
    assert!(bad_offset(&t), "types beyond size");
    let time = bytes_of(Message::SolicitTime(Box::new(SolicitTime {
        types: one.clone(),
        since: PeerTime(1),
    })));
    let mut t = resize(time.clone(), 52);
    t[8] = 2;
    assert!(bad_value(&t), "time: inclusion count 2");
    let mut t = time.clone();
    put16(&mut t, 10, 21);
    assert!(bad_offset(&t), "time: types beyond size");
    let hash = bytes_of(Message::SolicitHash(Box::new(SolicitHash {
        types: one,
        ranges: vec![HashInfo {
            hash: [1; 16],
            modified: PeerTime(2),
            id: GRAPH_INFO_ID,
        }],
    })));
    // Types at 20..36, hashes at 36..76.
    let mut t = hash.clone();
    put16(&mut t, 10, 21);
    assert!(bad_offset(&t), "types past the hash offset");
    let mut t = hash.clone();
    put16(&mut t, 16, 37);
    assert!(bad_offset(&t), "hash entries beyond size");
    let mut t = hash.clone();
    put32(&mut t, 12, 2);
    assert!(bad_offset(&t), "hash count beyond size");
    let mut t = resize(hash.clone(), 92);
    t[8] = 2;
    put16(&mut t, 16, 52);
    assert!(decode(&t).is_ok(), "hash: no single-inclusion rule");
    t[9] = 1;
    assert!(bad_value(&t), "hash: both counts nonzero");
}

#[test]
fn advertise_and_request_checks() {
    let abstracts = vec![RecordAbstract {
        id: GRAPH_INFO_ID,
        version: 1,
    }];
    let adv = bytes_of(Message::Advertise(Box::new(Advertise {
        boundaries: vec![HashBoundary {
            low_modified: PeerTime(1),
            low_id: GRAPH_INFO_ID,
            high_modified: PeerTime(2),
            high_id: SIGNATURE_ID,
            count: 1,
        }],
        abstracts: abstracts.clone(),
    })));
    // Boundaries at 24..76, abstracts at 76..96.
    let mut t = adv.clone();
    put16(&mut t, 16, 77);
    assert!(bad_offset(&t), "boundary offset above abstracts offset");
    let mut t = adv.clone();
    put32(&mut t, 20, 97);
    assert!(bad_offset(&t), "abstracts offset beyond size");
    let mut t = adv.clone();
    put32(&mut t, 8, 2);
    assert!(bad_offset(&t), "boundaries overlap the abstracts");
    let mut t = adv.clone();
    put32(&mut t, 12, 2);
    assert!(bad_offset(&t), "abstracts beyond size");
    let req = bytes_of(Message::Request(Box::new(Request { abstracts })));
    let mut t = req.clone();
    put32(&mut t, 12, 37);
    assert!(bad_offset(&t), "request offset beyond size");
    let mut t = req.clone();
    put32(&mut t, 8, 2);
    assert!(bad_offset(&t), "request count beyond size");
    let empty = bytes_of(Message::Request(Box::new(Request {
        abstracts: Vec::new(),
    })));
    assert_eq!(empty.len(), 16, "an empty REQUEST is 16 bytes and accepted");
}

#[test]
fn flood_checks() {
    let ok = bytes_of(Message::Flood(Box::new(small_record())));
    let mut t = ok.clone();
    put16(&mut t, 8, ok.len() as u16 + 1);
    assert!(bad_offset(&t), "record offset beyond size");
    let mut t = ok.clone();
    t[11] = 1;
    assert!(bad_value(&t), "Reserved2 nonzero");
    let short = resize(ok[..12 + 89].to_vec(), 12 + 89);
    assert!(below_minimum(&short), "record under 90 bytes");
    let mut t = ok.clone();
    put16(&mut t, 12 + 88, 0x0101);
    assert!(bad_value(&t), "protocol version");
}

#[test]
fn pt2pt_and_ack_checks() {
    let ping = bytes_of(Message::PointToPoint(Box::new(PointToPoint {
        data_type: PING_DATA_TYPE,
        data: vec![1, 2],
    })));
    let mut t = ping.clone();
    put16(&mut t, 8, 31);
    assert!(bad_offset(&t), "data offset beyond size");
    let ack = bytes_of(Message::Ack(Box::new(vec![AckEntry {
        id: GRAPH_INFO_ID,
        useful: true,
    }])));
    let mut t = ack.clone();
    put16(&mut t, 10, 33);
    assert!(bad_offset(&t), "ACKs offset beyond size");
    let mut t = ack.clone();
    put16(&mut t, 8, 2);
    assert!(bad_offset(&t), "ACKs count beyond size");
}
