//! Registration options end to end (MS-PNRP §3.2.4.1): a friendly name (MS-PNRP §2.2.3.1 F/U) and a
//! ServiceLocationPrefix hint (MS-PNRP §1.3.1.2), through the codec and the in-crate test network.

use super::api::{Command, Event};
use super::cpa::Cpa;
use super::friendly::FriendlyName;
use super::id::PnrpId;
use super::name::PeerName;
use super::testnet::TestNet;
use super::wire::{decode_cpa, encode_cpa, DecodeError};
use super::PnrpConfig;
use crate::crypto::{Identity, Scheme};
use crate::{Duration, Endpoint, Instant};
use std::net::Ipv6Addr;

/// SHA-1 of "printer" as UTF-16LE code units (computed independently with Python's hashlib).
const PRINTER_CLASSIFIER_HASH: &str = "550b2e5cc86dfc4c9359413e63f63c6f1322399a";
/// First 16 bytes of SHA-1(CH || 20 zero bytes || CH || "PNRP") for "0.printer" (hashlib, likewise).
const PRINTER_P2P_ID: u128 = 0x1d6d3b63_d7dcfd82_009e462d_7bbfd2c6;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// An unsecured CPA for "0.p" at [::1]:3540 with service location `sl` and the friendly name `name`.
fn cpa_with(name: FriendlyName, sl: u128) -> Cpa {
    let id = Identity::generate(Scheme::Ed25519, [11; 32]);
    let peer = PeerName::unsecured("p").unwrap();
    let eps = vec![Endpoint::new(Ipv6Addr::LOCALHOST, 3540)];
    let mut cpa = Cpa::unsigned(&peer, &id, sl, eps, Instant::from_micros(1), [0; 16]);
    cpa.friendly_name = Some(name);
    cpa.sign(&id)
}

/// The bytes from the flags through the service address list, written by hand from MS-PNRP §2.2.3.1.
fn golden_middle(flags: u8, name: &[u8]) -> Vec<u8> {
    let mut g = vec![flags, 0];
    g.extend_from_slice(&(crate::pnrp::cpa::FILETIME_EPOCH_TICKS + 10).to_le_bytes());
    g.extend((1..=16u8).rev()); // ServiceLocation 0x0102..10, least-significant byte first
    g.extend([0; 16]); // nonce
    g.extend(super::name::classifier_hash("p")); // C
    g.extend((name.len() as u16).to_le_bytes()); // FriendlyName Len
    g.extend(name);
    g.extend([1, 0, 18, 0, 0x0d, 0xd4]); // one IPV6_ENDPOINT of 18 bytes, port 3540 big-endian
    g.extend(Ipv6Addr::LOCALHOST.octets());
    g
}

const SL: u128 = 0x0102_0304_0506_0708_090A_0B0C_0D0E_0F10;

#[test]
fn friendly_names_have_the_section_2_2_3_1_layout_and_round_trip() {
    for (name, flags, text_bytes) in [
        (FriendlyName::utf16("Hé").unwrap(), 0x18u8, vec![0x48, 0, 0xE9, 0]),
        (FriendlyName::utf8("Hé").unwrap(), 0x1A, vec![0x48, 0xC3, 0xA9]),
    ] {
        let cpa = cpa_with(name.clone(), SL);
        let mut b = Vec::new();
        encode_cpa(&cpa, &mut b);
        let total = 399 + 2 + text_bytes.len();
        assert_eq!(b.len(), total);
        assert_eq!(&b[..6], &[total as u8, (total >> 8) as u8, 0, 2, 0, 4]);
        let middle = golden_middle(flags, &text_bytes);
        assert_eq!(hex(&b[6..6 + middle.len()]), hex(&middle));
        let back = decode_cpa(&b).unwrap();
        assert_eq!(back.friendly_name, Some(name));
        assert_eq!(back, cpa);
        back.validate(Instant::ZERO, &[0; 16]).unwrap();
    }
}

#[test]
fn bad_friendly_names_on_the_wire_are_refused_without_panicking() {
    let cpa = cpa_with(FriendlyName::utf16("Hé").unwrap(), SL);
    let mut b = Vec::new();
    encode_cpa(&cpa, &mut b);
    let at = 6 + golden_middle(0x18, &[]).len() - 22; // the first byte of the name text
    let mut lone = b.clone();
    lone[at..at + 4].copy_from_slice(&[0x00, 0xD8, 0x41, 0x00]); // D800 alone, then 'A'
    assert_eq!(
        decode_cpa(&lone),
        Err(DecodeError::BadCpa("friendly name is not UTF-16LE"))
    );
    let mut as_utf8 = b.clone();
    as_utf8[6] |= 0x02; // U: the UTF-16 bytes 48 00 E9 00 read as UTF-8
    assert_eq!(
        decode_cpa(&as_utf8),
        Err(DecodeError::BadCpa("friendly name is not UTF-8"))
    );
    let mut nul = b.clone();
    nul[at..at + 2].copy_from_slice(&[0, 0]);
    assert_eq!(
        decode_cpa(&nul),
        Err(DecodeError::BadCpa("friendly name contains NUL"))
    );
    let mut long = b.clone();
    long[at - 2] = 79;
    assert!(matches!(decode_cpa(&long), Err(DecodeError::BadCpa(_))));
    for cut in 0..b.len() {
        assert!(decode_cpa(&b[..cut]).is_err());
    }
}

#[test]
fn the_pnrp_id_is_p2p_id_then_the_hint_then_a_random_suffix() {
    let name = PeerName::unsecured("printer").unwrap();
    assert_eq!(hex(&name.classifier_hash()), PRINTER_CLASSIFIER_HASH);
    assert_eq!(name.p2p_id(), PRINTER_P2P_ID);
    let mut net = TestNet::new(4, PnrpConfig::default(), Scheme::Ed25519, 5);
    net.register_all(Duration::from_secs(20));
    let hint = 0x2001_0db8_00aa_00bb_u64;
    let owner = Identity::generate(Scheme::Ed25519, [3; 32]);
    let before = net.id_of(2);
    let r = net.command(
        2,
        Command::Register {
            name: name.clone(),
            identity: owner,
            app_endpoints: Vec::new(),
            friendly_name: None,
            service_location_prefix: Some(hint),
        },
    );
    let id: PnrpId = net.nodes[2]
        .registered_ids()
        .find(|i| *i != before)
        .expect("new ID");
    let b = id.to_be_bytes();
    assert_eq!(hex(&b[..16]), "1d6d3b63d7dcfd82009e462d7bbfd2c6");
    assert_eq!(hex(&b[16..24]), "20010db800aa00bb", "SLupper = the hint");
    // Without a hint SLupper is the /64 of the node's address (2001:db8:0:2::/64).
    assert_eq!(before.service_location() >> 64, 0x2001_0db8_0000_0002);
    net.run_for(Duration::from_secs(20));
    assert!(net.events.iter().any(|(n, e)| *n == 2
        && matches!(e, Event::Registered { request, id: got, .. } if *request == r && *got == id)));
    // Any instance of the name resolves to it, from a node with another prefix.
    let got = net.resolve_any(0, name);
    assert_eq!(got.id, id);
    assert_eq!(got.cpa.service_location, id.service_location());
}

#[test]
fn a_friendly_name_comes_back_on_resolve() {
    let mut net = TestNet::new(5, PnrpConfig::default(), Scheme::Ed25519, 8);
    net.register_all(Duration::from_secs(20));
    let name = PeerName::unsecured("kiosk").unwrap();
    let label = FriendlyName::utf16("Lobby kiosk – 2nd floor").unwrap();
    net.command(
        4,
        Command::Register {
            name: name.clone(),
            identity: Identity::generate(Scheme::Ed25519, [4; 32]),
            app_endpoints: Vec::new(),
            friendly_name: Some(label.clone()),
            service_location_prefix: None,
        },
    );
    net.run_for(Duration::from_secs(20));
    let got = net.resolve_any(1, name);
    assert_eq!(got.friendly_name.as_ref(), Some(&label));
    assert_eq!(
        got.friendly_name.as_ref().map(|n| n.text()).as_deref(),
        Some("Lobby kiosk – 2nd floor")
    );
    // A registration without one resolves without one.
    let plain = net.names[2].clone();
    assert_eq!(net.resolve_any(1, plain).friendly_name, None);
}
