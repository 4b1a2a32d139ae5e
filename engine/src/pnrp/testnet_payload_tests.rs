//! Extended payloads over the test network: a registration's payload comes back with a resolve that
//! asks for it (MS-PNRP §3.2.5.6, §3.1.5.8), a tampered one is rejected and counted, and INQUIRE answers
//! carry exactly what their A, X and C flags ask for (MS-PNRP §3.2.5.6).

use super::*;
use crate::pnrp::message::{AuthorityBuffer, Inquire, InquireFlags};
use crate::pnrp::payload::PAYLOAD_BINARY_MAX;

const PUBLISHER: usize = 3;

fn data() -> Arc<PayloadData> {
    Arc::new(PayloadData::Binary(
        (0..PAYLOAD_BINARY_MAX).map(|i| (i * 7) as u8).collect(),
    ))
}

/// Eight nodes; node 3 registers with a 4,096-byte payload, the others without.
fn cloud(seed: u64) -> TestNet {
    let cfg = PnrpConfig {
        split_test_after_registration: false,
        ..PnrpConfig::default()
    };
    let mut net = TestNet::new(8, cfg, Scheme::Ed25519, seed);
    net.run_for(Duration::from_secs(2));
    for i in 0..net.nodes.len() {
        net.register_with(i, (i == PUBLISHER).then(data));
        net.run_for(Duration::from_millis(300));
    }
    net.run_for(Duration::from_secs(90));
    net
}

/// The AUTHORITY_BUFFER node `publisher` answers to an INQUIRE for `id` from a stranger.
fn answer(net: &mut TestNet, publisher: usize, id: PnrpId, flags: InquireFlags) -> AuthorityBuffer {
    let stranger = Endpoint::new(Ipv6Addr::new(0x2001, 0xdb8, 0xbad, 0, 0, 0, 0, 1), 4000);
    let inquire = Message::from(Inquire {
        message_id: 91,
        flags,
        validate_id: id,
        nonce: Some([4; 16]),
    });
    while net.nodes[publisher].poll_transmit().is_some() {}
    net.nodes[publisher].handle_message(net.now, stranger, inquire);
    let mut whole = None;
    let mut ctx = None;
    while let Some(t) = net.nodes[publisher].poll_transmit() {
        if let (true, Message::Authority(a)) = (t.to == stranger, t.msg) {
            let c = ctx.get_or_insert_with(|| wire::Reassembly::new(a.size).expect("valid size"));
            if c.add(&a).expect("consistent fragments") {
                whole = ctx.take().and_then(wire::Reassembly::into_bytes);
            }
        }
    }
    let bytes = whole.expect("a complete answer");
    wire::decode_authority_buffer(&bytes).expect("own answers decode")
}

/// Node `i` resolves node `j`'s name (asking for the payload when `asks`) and must succeed.
fn resolved(net: &mut TestNet, i: usize, j: usize, asks: bool) -> Resolved {
    let r = net.resolve_with(i, j, asks);
    net.run_for(Duration::from_secs(40));
    let res = net.resolve_result(i, r).expect("resolve done").clone();
    res.expect("resolved")
}

#[test]
fn a_resolve_that_asks_gets_the_validated_payload_back() {
    let mut net = cloud(21);
    let res = resolved(&mut net, 6, PUBLISHER, true);
    assert_eq!(res.id, net.id_of(PUBLISHER));
    assert!(res.cpa.has_extended_payload, "the CPA announces the payload (X)");
    assert_eq!(res.payload, Some(data()));
    assert_eq!(net.nodes[6].stats().payloads_accepted, 1);
    assert!(net.nodes[PUBLISHER].stats().payloads_served >= 1);
    // The 4 KB payload made the answer a multi-fragment AUTHORITY (MS-PNRP §3.2.5.10).
    assert!(net.nodes[6].stats().reassembled_buffers >= 1);
    // A resolve that does not ask gets the CPA alone, and no payload travels.
    let served = net.nodes[PUBLISHER].stats().payloads_served;
    let res = resolved(&mut net, 5, PUBLISHER, false);
    assert_eq!(res.payload, None);
    assert_eq!(net.nodes[PUBLISHER].stats().payloads_served, served);
    // A name without a payload resolves with none, even when asked.
    let res = resolved(&mut net, 6, 2, true);
    assert!(!res.cpa.has_extended_payload);
    assert_eq!(res.payload, None);
}

#[test]
fn a_tampered_payload_is_rejected_and_counted() {
    let mut net = cloud(22);
    let (publisher, resolver) = (endpoint(PUBLISHER), endpoint(6));
    // Flip one byte of the payload's data in the first fragment of every multi-fragment AUTHORITY the
    // publisher sends the resolver: the buffer still decodes (FLAGS 8 bytes, EXTENDED_PAYLOAD element
    // header 4, structure head 74, then the data).
    net.tamper = Some(Box::new(move |from, to, msg| match msg {
        Message::Authority(mut a)
            if (from, to) == (publisher, resolver)
                && a.offset == 0
                && a.size as usize > crate::pnrp::message::AUTHORITY_FRAGMENT_MAX =>
        {
            let mut bytes = a.fragment.to_vec();
            bytes[200] ^= 0x40;
            a.fragment = Arc::from(bytes);
            vec![Message::Authority(a)]
        }
        other => vec![other],
    }));
    let r = net.resolve(6, PUBLISHER);
    net.run_for(Duration::from_secs(40));
    match net.resolve_result(6, r).expect("resolve done") {
        Ok(res) => panic!(
            "accepted a tampered payload: {:?}",
            res.payload.as_ref().map(|p| p.payload_length())
        ),
        Err(e) => assert!(
            matches!(
                e,
                ResolveError::CpaInvalid {
                    reason: "extended_payload_invalid"
                }
            ),
            "{e}"
        ),
    }
    let stats = net.nodes[6].stats();
    assert!(stats
        .payload_rejected
        .get("bad_signature")
        .is_some_and(|n| *n >= 1));
    assert_eq!(stats.payloads_accepted, 0);
    // The CPA itself was fine: only the payload is counted.
    assert!(stats.cpa_rejected.is_empty(), "{:?}", stats.cpa_rejected);
}

#[test]
fn inquire_answers_carry_only_what_the_flags_ask_for() {
    let mut net = cloud(23);
    let id = net.id_of(PUBLISHER);
    let flags = |cpa, x, c| InquireFlags {
        cpa,
        extended_payload: x,
        cert_chain: c,
    };
    // No flag (a return-routability check): the FLAGS_FIELD alone, N clear, 8 bytes.
    let b = answer(&mut net, PUBLISHER, id, flags(false, false, false));
    assert!(!b.flags.not_registered);
    assert_eq!(b.encoded_len(), 8);
    // A: the route entry the CPA is checked against, and the CPA; no payload, no classifier.
    let b = answer(&mut net, PUBLISHER, id, flags(true, false, true));
    assert_eq!(b.route_entry.as_ref().map(|r| r.id), Some(id));
    let cpa = b.cpa.clone().expect("a CPA");
    assert!(cpa.has_extended_payload);
    assert_eq!(cpa.nonce, [4; 16]);
    assert!(b.extended_payload.is_none() && b.classifier.is_none() && b.cert_chain.is_none());
    // X alone: the payload alone, signed over the nonce.
    let b = answer(&mut net, PUBLISHER, id, flags(false, true, false));
    assert!(b.cpa.is_none() && b.route_entry.is_none());
    let p = b.extended_payload.clone().expect("the payload");
    assert_eq!((p.id, p.nonce, p.data.clone()), (id, [4; 16], data()));
    // A + X: both, and the payload validates under the CPA's key.
    let b = answer(&mut net, PUBLISHER, id, flags(true, true, true));
    let (cpa, p) = (
        b.cpa.clone().expect("a CPA"),
        b.extended_payload.clone().expect("payload"),
    );
    assert_eq!(p.validate(net.now, id, &[4; 16], &cpa.public_key), Ok(()));
    assert_eq!(
        b.encoded_len(),
        8 + 60 + (4 + p.encoded_len() + 2) + 4 + cpa.encoded_len()
    );
    // X for a name without a payload: nothing to send.
    let other = net.id_of(2);
    let b = answer(&mut net, 2, other, flags(false, true, false));
    assert_eq!(b.encoded_len(), 8);
    // An ID not registered there: N alone, whatever the flags.
    let b = answer(&mut net, 2, id, flags(true, true, true));
    assert!(b.flags.not_registered);
    assert_eq!(b.encoded_len(), 8);
}

#[test]
fn a_payload_beyond_the_limit_is_refused_at_registration() {
    let mut net = TestNet::new(2, PnrpConfig::default(), Scheme::Ed25519, 24);
    let big = Arc::new(PayloadData::Binary(vec![1; PAYLOAD_BINARY_MAX + 1]));
    let r = net.register_with(1, Some(big));
    assert!(net.events.iter().any(|(n, e)| *n == 1
        && matches!(e, Event::RegisterFailed { request, reason: "bad_payload" } if *request == r)));
}
