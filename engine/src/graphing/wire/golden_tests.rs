//! Golden bytes written by hand from the layout tables of MS-PPGRH §2.2.2 (not produced by the
//! encoder): each message must encode to exactly these bytes, report their length, and decode
//! back to the same value.

use super::*;
use crate::graphing::*;
use crate::Endpoint;

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|t| u8::from_str_radix(t, 16).unwrap())
        .collect()
}

fn golden(text: &str, msg: Message) {
    let bytes = hex(text);
    let mut out = Vec::new();
    encode(&msg, &mut out);
    assert_eq!(out, bytes, "{}", Message::KINDS[msg.kind()]);
    assert_eq!(msg.encoded_len(), bytes.len());
    assert_eq!(decode(&bytes), Ok(msg));
}

fn guid(text: &str) -> Guid {
    text.parse().unwrap()
}

#[test]
fn golden_auth_info() {
    golden(
        "00 00 00 15 10 01 00 00  01 00 00 10 00 12 00 15  67 00 61 6c 00",
        Message::AuthInfo(Box::new(AuthInfo {
            connection_type: ConnectionType::Neighbor,
            graph_id: "g".into(),
            source_peer_id: "al".into(),
            destination_peer_id: None,
        })),
    );
    golden(
        "00 00 00 17 10 01 00 00  02 00 00 10 00 12 00 15  67 00 61 6c 00 62 00",
        Message::AuthInfo(Box::new(AuthInfo {
            connection_type: ConnectionType::Direct,
            graph_id: "g".into(),
            source_peer_id: "al".into(),
            destination_peer_id: Some("b".into()),
        })),
    );
}

#[test]
fn golden_connect() {
    // N set (0x01), one address at 0x18, friendly name at 0x2c.
    golden(
        "00 00 00 2e 10 02 00 00  01 01 00 18 00 2c 00 00  01 02 03 04 05 06 07 08
         00 17 0e 03 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01
         6e 00",
        Message::Connect(Box::new(Connect {
            update: false,
            direct: false,
            want_neighbors: true,
            node_id: 0x0102_0304_0506_0708,
            addresses: vec![Endpoint::new("2001:db8::1".parse().unwrap(), 3587)],
            friendly_name: Some("n".into()),
        })),
    );
    // U and D set (0x08 | 0x04), one address, no friendly name (its offset = Message Size).
    golden(
        "00 00 00 2c 10 02 00 00  0c 01 00 18 00 2c 00 00  00 00 00 00 00 00 00 09
         00 17 00 50 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01",
        Message::Connect(Box::new(Connect {
            update: true,
            direct: true,
            want_neighbors: false,
            node_id: 9,
            addresses: vec![Endpoint::new("::1".parse().unwrap(), 80)],
            friendly_name: None,
        })),
    );
}

#[test]
fn golden_welcome() {
    // No referrals: Address Offset 0 (MS-PPGRH §3.1.5.2.1); no friendly name.
    golden(
        "00 00 00 24 10 03 00 00  11 11 11 11 11 11 11 11  01 dc 00 00 00 00 00 2a
         00 00 00 00 00 20 00 24  62 6f 62 00",
        Message::Welcome(Box::new(Welcome {
            node_id: 0x1111_1111_1111_1111,
            peer_time: PeerTime(0x01dc_0000_0000_002a),
            addresses: Vec::new(),
            peer_id: "bob".into(),
            friendly_name: None,
        })),
    );
    // One referral at 0x20, peer id at 0x34, friendly name at 0x36.
    golden(
        "00 00 00 38 10 03 00 00  00 00 00 00 00 00 00 02  00 00 00 00 00 00 00 03
         01 00 00 20 00 34 00 36
         00 17 00 50 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01
         70 00 66 00",
        Message::Welcome(Box::new(Welcome {
            node_id: 2,
            peer_time: PeerTime(3),
            addresses: vec![Endpoint::new("::1".parse().unwrap(), 80)],
            peer_id: "p".into(),
            friendly_name: Some("f".into()),
        })),
    );
}

#[test]
fn golden_refuse_and_disconnect() {
    // REFUSE with no addresses: offset 0 (MS-PPGRH §3.1.5.2.1).
    golden(
        "00 00 00 0c 10 04 00 00  01 00 00 00",
        Message::Refuse(Box::new(Refuse {
            reason: RefuseReason::Busy,
            addresses: Vec::new(),
        })),
    );
    golden(
        "00 00 00 20 10 04 00 00  03 01 00 0c
         00 17 00 50 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01",
        Message::Refuse(Box::new(Refuse {
            reason: RefuseReason::DuplicateConnection,
            addresses: vec![Endpoint::new("::1".parse().unwrap(), 80)],
        })),
    );
    // DISCONNECT with no addresses: offset = Message Size (MS-PPGRH §3.1.7.25).
    golden(
        "00 00 00 0c 10 05 00 00  02 00 00 0c",
        Message::Disconnect(Box::new(Disconnect {
            reason: DisconnectReason::LeastUseful,
            addresses: Vec::new(),
        })),
    );
}

#[test]
fn golden_solicitations() {
    golden(
        "00 00 00 1c 10 06 00 00  01 00 00 0c  00 00 01 00 00 00 00 00 00 00 00 00 00 00 00 00",
        Message::SolicitNew(Box::new(SolicitNew {
            types: TypeFilter {
                include: vec![GRAPH_INFO_TYPE],
                exclude: Vec::new(),
            },
        })),
    );
    golden(
        "00 00 00 34 10 07 00 00  00 02 00 14  00 00 00 00 00 00 01 02
         00 00 01 00 00 00 00 00 00 00 00 00 00 00 00 00
         00 00 04 00 00 00 00 00 00 00 00 00 00 00 00 00",
        Message::SolicitTime(Box::new(SolicitTime {
            types: TypeFilter {
                include: Vec::new(),
                exclude: vec![GRAPH_INFO_TYPE, PRESENCE_TYPE],
            },
            since: PeerTime(0x0102),
        })),
    );
    golden(
        "00 00 00 3c 10 08 00 00  00 00 00 14  00 00 00 01  00 14 00 00
         55 55 55 55 55 55 55 55 55 55 55 55 55 55 55 55  00 00 00 00 00 00 00 07
         d0 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01",
        Message::SolicitHash(Box::new(SolicitHash {
            types: TypeFilter::default(),
            ranges: vec![HashInfo {
                hash: [0x55; 16],
                modified: PeerTime(7),
                id: guid("d0000000-0000-0000-0000-000000000001"),
            }],
        })),
    );
}

#[test]
fn golden_advertise_and_request() {
    golden(
        "00 00 00 60 10 09 00 00  00 00 00 01  00 00 00 01  00 18 00 00  00 00 00 4c
         00 00 00 00 00 00 00 01  d0 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01
         00 00 00 00 00 00 00 02  d0 00 00 00 00 00 00 00 00 00 00 00 00 00 00 02
         00 00 00 03
         d0 00 00 00 00 00 00 00 00 00 00 00 00 00 00 02  00 00 00 04",
        Message::Advertise(Box::new(Advertise {
            boundaries: vec![HashBoundary {
                low_modified: PeerTime(1),
                low_id: guid("d0000000-0000-0000-0000-000000000001"),
                high_modified: PeerTime(2),
                high_id: guid("d0000000-0000-0000-0000-000000000002"),
                count: 3,
            }],
            abstracts: vec![RecordAbstract {
                id: guid("d0000000-0000-0000-0000-000000000002"),
                version: 4,
            }],
        })),
    );
    golden(
        "00 00 00 24 10 0a 00 00  00 00 00 01  00 00 00 10
         d0 00 00 00 00 00 00 00 00 00 00 00 00 00 00 02  00 00 00 04",
        Message::Request(Box::new(Request {
            abstracts: vec![RecordAbstract {
                id: guid("d0000000-0000-0000-0000-000000000002"),
                version: 4,
            }],
        })),
    );
}

/// A small record: creator "a", graph "g", one payload byte, no attributes.
pub(super) fn small_record() -> PeerRecord {
    PeerRecord {
        record_type: guid("a0000000-0000-0000-0000-000000000001"),
        id: guid("b0000000-0000-0000-0000-000000000002"),
        version: 1,
        deleted: false,
        creator: "a".into(),
        modified_by: String::new(),
        security_data: Vec::new(),
        created: PeerTime(0x10),
        expires: PeerTime(0x20),
        modified: PeerTime(0x10),
        graph_id: "g".into(),
        payload: vec![0xab],
        attributes: String::new(),
        autorefresh: false,
    }
}

/// The FLOOD of [`small_record`], by hand.
const SMALL_FLOOD: &str = "00 00 00 6f 10 0b 00 00  00 0c 00 00
     a0 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01
     b0 00 00 00 00 00 00 00 00 00 00 00 00 00 00 02
     00 00 00 01  00 00 00 00
     00 00 00 02 61 00 00 00
     00 00 00 00
     00 00 00 00
     00 00 00 00 00 00 00 10  00 00 00 00 00 00 00 20  00 00 00 00 00 00 00 10
     00 00 00 02 67 00 00 00
     01 00
     00 00 00 01 ab
     00 00 00 00";

#[test]
fn golden_flood() {
    golden(SMALL_FLOOD, Message::Flood(Box::new(small_record())));
    // A tombstone modified by "b", with security data and attributes "<a/>".
    let mut rec = small_record();
    rec.deleted = true;
    rec.version = 2;
    rec.modified_by = "b".into();
    rec.modified = PeerTime(0x11);
    rec.security_data = vec![0xee, 0xff];
    rec.payload = Vec::new();
    rec.attributes = "<a/>".into();
    golden(
        "00 00 00 7e 10 0b 00 00  00 0c 00 00
         a0 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01
         b0 00 00 00 00 00 00 00 00 00 00 00 00 00 00 02
         00 00 00 02  00 00 00 02
         00 00 00 02 61 00 00 00
         00 00 00 02 62 00 00 00
         00 00 00 02 ee ff
         00 00 00 00 00 00 00 10  00 00 00 00 00 00 00 20  00 00 00 00 00 00 00 11
         00 00 00 02 67 00 00 00
         01 00
         00 00 00 00
         00 00 00 05 3c 00 61 00 2f 00 3e 00 00 00",
        Message::Flood(Box::new(rec)),
    );
}

#[test]
fn golden_sync_end_pt2pt_ack() {
    golden(
        "00 00 00 0c 10 0c 00 00  01 00 00 00",
        Message::SyncEnd { final_phase: true },
    );
    golden(
        "00 00 00 1c 10 0d 00 00  00 1c 00 00
         0c cb b0 d2 be 41 4b d6 91 4b 05 8e c5 dc ce 64",
        Message::PointToPoint(Box::new(PointToPoint {
            data_type: PING_DATA_TYPE,
            data: Vec::new(),
        })),
    );
    golden(
        "00 00 00 34 10 0e 00 00  00 02 00 0c
         c0 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01  00 00 00 01
         c0 00 00 00 00 00 00 00 00 00 00 00 00 00 00 02  00 00 00 00",
        Message::Ack(Box::new(vec![
            AckEntry {
                id: guid("c0000000-0000-0000-0000-000000000001"),
                useful: true,
            },
            AckEntry {
                id: guid("c0000000-0000-0000-0000-000000000002"),
                useful: false,
            },
        ])),
    );
}

#[test]
fn golden_frames() {
    // A 12-byte SYNC_END in frames of 5: 5 + 5 + 2.
    let mut out = Vec::new();
    frame::encode_framed(&Message::SyncEnd { final_phase: true }, 5, &mut out);
    assert_eq!(
        out,
        hex("00 05 00 00 00 0c 10  00 05 0c 00 00 01 00  00 02 00 00")
    );
    assert_eq!(frame::framing_overhead(12, 5), 6);
}
