//! Whole-protocol security tests on the in-crate test network: forged CPAs, revokes from strangers,
//! privileged ports and unmatched answers (MS-PNRP §3.1.5.2, §3.1.5.7, §3.1.5.11, §5.1).

use super::tests::settled;
use super::*;
use crate::pnrp::message::{Authority, AuthorityBuffer};

#[test]
fn forged_cpa_in_an_answer_is_rejected() {
    let mut net = settled(12, 5);
    let victim = endpoint(4);
    let resolver = endpoint(9);
    // Rewrite every CPA that node 4 sends to node 9: point it at an attacker's address, keeping
    // the original signature (now invalid).
    net.tamper = Some(Box::new(move |from, to, msg| {
        if from != victim || to != resolver {
            return vec![msg];
        }
        let Message::Authority(a) = &msg else {
            return vec![msg];
        };
        let Ok(mut buf): Result<AuthorityBuffer, _> = wire::decode_authority_buffer(&a.fragment) else {
            return vec![msg];
        };
        let Some(cpa) = buf.cpa.as_mut() else {
            return vec![msg];
        };
        let mut forged = (**cpa).clone();
        forged.service_addresses = vec![Endpoint::new(
            Ipv6Addr::new(0x2001, 0xdb8, 0xbad, 0, 0, 0, 0, 1),
            4444,
        )];
        *cpa = Arc::new(forged);
        let bytes = wire::encode_authority_buffer(&buf);
        let frags: Vec<Authority> = wire::fragment_authority(a.message_id, a.acked_id, &bytes);
        frags
            .into_iter()
            .map(|f| Message::Authority(Box::new(f)))
            .collect()
    }));
    let r = net.resolve(9, 4);
    net.run_for(Duration::from_secs(40));
    match net.resolve_result(9, r) {
        Some(Err(ResolveError::CpaInvalid { reason })) => assert_eq!(*reason, "bad_signature"),
        other => panic!("forged CPA gave {other:?}"),
    }
    assert!(
        net.nodes[9]
            .stats()
            .cpa_rejected
            .get("bad_signature")
            .copied()
            .unwrap_or(0)
            >= 1
    );
    // Other names still resolve for node 9.
    let r = net.resolve(9, 3);
    net.run_for(Duration::from_secs(40));
    assert!(matches!(net.resolve_result(9, r), Some(Ok(_))));
}

#[test]
fn privileged_source_ports_and_unmatched_answers_are_dropped() {
    let mut net = settled(4, 9);
    let bogus = Message::Ack(crate::pnrp::message::Ack {
        message_id: 1,
        acked_id: 0xdead,
        not_registered: None,
    });
    let now = net.now;
    net.nodes[1].handle_message(now, Endpoint::new(Ipv6Addr::LOCALHOST, 80), bogus.clone());
    net.nodes[1].handle_message(now, endpoint(2), bogus);
    let drops = &net.nodes[1].stats().drops;
    assert_eq!(drops.get("source_port"), Some(&1));
    assert!(drops.get("unmatched_answer").copied().unwrap_or(0) >= 1);
}

#[test]
fn a_revoke_signed_by_a_stranger_is_ignored() {
    let mut net = settled(10, 31);
    let victim = net.id_of(4);
    let holder = (0..10)
        .find(|i| *i != 4 && net.nodes[*i].cache_ids().any(|c| c == victim))
        .unwrap();
    // A stranger revokes node 4's unsecured-looking ID with its own key: the CPA is well-formed and
    // self-consistent only if the name were unsecured, so build one for node 4's name with the
    // stranger's identity (authority mismatch) and one with a matching forged name.
    let stranger = Identity::generate(Scheme::Ed25519, [77; 32]);
    let name = net.names[4].clone();
    let revoke = crate::pnrp::cpa::Cpa::unsigned_revoke(
        &name,
        &stranger,
        victim.service_location(),
        Vec::new(),
        net.now + Duration::from_secs(3600),
    )
    .sign(&stranger);
    assert_eq!(revoke.pnrp_id(), victim);
    let flood = Message::Flood(Box::new(crate::pnrp::message::Flood {
        message_id: 1,
        dont_ack: true,
        validate_id: PnrpId::ZERO,
        revoke_cpa: Some(Arc::new(revoke)),
        route_entry: None,
        already_flooded: Vec::new(),
    }));
    let now = net.now;
    net.nodes[holder].handle_message(now, endpoint(9), flood);
    assert!(
        net.nodes[holder].cache_ids().any(|c| c == victim),
        "forged revoke removed the entry"
    );
    assert_eq!(
        net.nodes[holder].stats().cpa_rejected.get("authority_mismatch"),
        Some(&1)
    );
}

#[test]
fn unsecured_names_are_revoked_only_by_the_admitted_key() {
    let mut net = settled(10, 33);
    let open_name = PeerName::unsecured("shared").unwrap();
    let owner = net.identities[3].clone();
    net.command(
        3,
        Command::Register {
            name: open_name.clone(),
            identity: owner,
            app_endpoints: Vec::new(),
            friendly_name: None,
            service_location_prefix: None,
        },
    );
    net.run_for(Duration::from_secs(30));
    let id = net.nodes[3]
        .registered_ids()
        .find(|x| x.hi == open_name.p2p_id())
        .unwrap();
    let holder = (0..10)
        .find(|i| {
            net.nodes[*i].registered_ids().any(|l| {
                let v = net.nodes[*i].leaf_set(l).unwrap();
                v.below.contains(&id) || v.above.contains(&id)
            })
        })
        .expect("someone has the new ID in a leaf set");
    let stranger = Identity::generate(Scheme::Ed25519, [78; 32]);
    let forged = crate::pnrp::cpa::Cpa::unsigned_revoke(
        &open_name,
        &stranger,
        id.service_location(),
        Vec::new(),
        net.now + Duration::from_secs(3600),
    )
    .sign(&stranger);
    let flood = |cpa| {
        Message::Flood(Box::new(crate::pnrp::message::Flood {
            message_id: 2,
            dont_ack: true,
            validate_id: PnrpId::ZERO,
            revoke_cpa: Some(Arc::new(cpa)),
            route_entry: None,
            already_flooded: Vec::new(),
        }))
    };
    let now = net.now;
    net.nodes[holder].handle_message(now, endpoint(8), flood(forged));
    assert!(
        net.nodes[holder].cache_ids().any(|c| c == id),
        "a stranger revoked an unsecured name"
    );
    assert_eq!(
        net.nodes[holder].stats().cpa_rejected.get("revoke_key_mismatch"),
        Some(&1)
    );
    // The owner's own revoke (Unregister) does remove it.
    net.command(3, Command::Unregister { id });
    net.run_for(Duration::from_secs(10));
    assert!(!net.nodes[holder].cache_ids().any(|c| c == id));
}

/// Bytes a stranger's INQUIREs for a registered ID draw from its publisher, and how many answers.
fn inquire_reflection(limit: Option<u32>) -> (usize, usize, usize, u64) {
    let cfg = PnrpConfig {
        inquire_answers_per_source: limit,
        ..PnrpConfig::default()
    };
    let mut net = TestNet::new(4, cfg, Scheme::Ed25519, 5);
    net.register_all(Duration::from_secs(90));
    let publisher = 1;
    let id = net.nodes[publisher]
        .registered_ids()
        .next()
        .expect("a registered ID");
    let stranger = Endpoint::new(Ipv6Addr::new(0x2001, 0xdb8, 0xbad, 0, 0, 0, 0, 1), 4000);
    let inquire = Message::Inquire(Box::new(crate::pnrp::message::Inquire {
        message_id: 77,
        flags: crate::pnrp::message::InquireFlags {
            cpa: true,
            ..Default::default()
        },
        validate_id: id,
        nonce: Some([9; 16]),
    }));
    while net.nodes[publisher].poll_transmit().is_some() {}
    let now = net.now;
    let (mut answers, mut answer_bytes) = (0, 0);
    for _ in 0..10 {
        net.nodes[publisher].handle_message(now, stranger, inquire.clone());
        while let Some(t) = net.nodes[publisher].poll_transmit() {
            if t.to == stranger {
                answers += 1;
                answer_bytes += t.msg.encoded_len();
            }
        }
    }
    let limited = net.nodes[publisher]
        .stats()
        .drops
        .get("inquire_rate_limited")
        .copied()
        .unwrap_or(0);
    (inquire.encoded_len(), answers, answer_bytes, limited)
}

#[test]
fn an_unauthenticated_inquire_draws_several_times_its_bytes() {
    // MS-PNRP answers every INQUIRE: ten from a stranger draw ten AUTHORITYs, each holding the
    // route entry, the classifier and a CPA signed over the stranger's nonce.
    let (asked, answers, answer_bytes, limited) = inquire_reflection(None);
    assert_eq!(answers, 10);
    assert_eq!(limited, 0);
    let per_answer = answer_bytes / answers;
    assert_eq!(asked, 76, "an INQUIRE with a nonce is 76 bytes");
    // 543 bytes per answer, 7.1 times the INQUIRE (Ed25519 and RSA-1024 CPAs have the same sizes).
    assert_eq!(per_answer, 543, "bytes per {asked}-byte INQUIRE");
}

#[test]
fn the_per_source_limit_caps_answers_and_counts_the_rest() {
    let (_, answers, _, limited) = inquire_reflection(Some(3));
    assert_eq!(answers, 3);
    assert_eq!(limited, 7);
}
