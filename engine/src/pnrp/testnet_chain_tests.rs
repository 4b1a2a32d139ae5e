//! Delegated names on the in-crate test network (MS-PNRP §1.3.2, §3.1.5.10): a delegated name resolves and
//! enters leaf sets; broken, expired and foreign chains are refused on resolve and on leaf-set admission.

use super::tests::settled;
use super::*;
use crate::pnrp::chain::{CertChain, Delegation, Grant};
use crate::pnrp::message::{Authority, AuthorityBuffer};

/// The authority (node 3's key) delegates to node 7's key.
const AUTHORITY: usize = 3;
const DELEGATE: usize = 7;

fn delegated_name(net: &TestNet) -> PeerName {
    PeerName::secured(net.identities[AUTHORITY].authority(), "service").unwrap()
}

/// Node 7 registers node 3's name "service" under `chain`; returns the name.
fn register_delegated(net: &mut TestNet, chain: CertChain) -> PeerName {
    let name = delegated_name(net);
    let delegation = Arc::new(Delegation {
        identity: net.identities[DELEGATE].clone(),
        chain,
    });
    net.command(
        DELEGATE,
        Command::RegisterDelegated {
            name: name.clone(),
            delegation,
            app_endpoints: Vec::new(),
        },
    );
    net.run_for(Duration::from_secs(60));
    name
}

fn resolve_name(net: &mut TestNet, i: usize, name: &PeerName) -> Result<Resolved, ResolveError> {
    let r = net.command(
        i,
        Command::Resolve {
            name: name.clone(),
            criteria: ResolveCriteria::AnyPeerName,
            timeout: Duration::from_secs(30),
            extended_payload: false,
        },
    );
    net.run_for(Duration::from_secs(40));
    net.resolve_result(i, r).cloned().expect("the resolve ended")
}

fn day(net: &TestNet) -> (Instant, Instant) {
    (net.now, net.now + Duration::from_secs(86_400))
}

/// The delegated registration's ID, and how many other nodes hold it in a leaf set.
fn in_leaf_sets(net: &TestNet, name: &PeerName) -> (PnrpId, usize) {
    let id = net.nodes[DELEGATE]
        .registered_ids()
        .find(|id| id.p2p_id() == name.p2p_id())
        .expect("the delegate registered the name");
    (id, holders(net, id))
}

/// How many nodes hold `id` in a leaf set.
fn holders(net: &TestNet, id: PnrpId) -> usize {
    (0..net.nodes.len())
        .filter(|&i| {
            net.nodes[i].registered_ids().any(|l| {
                net.nodes[i]
                    .leaf_set(l)
                    .is_some_and(|v| v.below.contains(&id) || v.above.contains(&id))
            })
        })
        .count()
}

fn rejected(net: &TestNet, reason: &str) -> u64 {
    net.nodes
        .iter()
        .map(|n| n.stats().cpa_rejected.get(reason).copied().unwrap_or(0))
        .sum()
}

#[test]
fn a_delegated_name_resolves_and_enters_leaf_sets() {
    let mut net = settled(12, 71);
    let (from, until) = day(&net);
    let auth = net.identities[AUTHORITY].clone();
    let key = net.identities[DELEGATE].public_key().clone();
    let chain = CertChain::issue(&auth, &key, &Grant::unrestricted(), from, until);
    let name = register_delegated(&mut net, chain);
    let found = resolve_name(&mut net, 10, &name).expect("the delegated name resolves");
    assert_eq!(found.cpa.authority, Some(auth.authority()));
    assert_eq!(found.cpa.public_key, key, "the delegate's key signed the CPA");
    assert_eq!(found.endpoints, vec![endpoint(DELEGATE)]);
    let (_, holders) = in_leaf_sets(&net, &name);
    assert!(holders >= 2, "the delegated ID is in {holders} leaf sets");
    let chain_rejections: u64 = crate::pnrp::chain::CHAIN_REJECT_REASONS
        .iter()
        .map(|r| rejected(&net, r))
        .sum();
    assert_eq!(chain_rejections, 0);
}

#[test]
fn a_name_the_chain_does_not_cover_is_refused_at_registration() {
    let mut net = settled(4, 72);
    let (from, until) = day(&net);
    let other = net.identities[1].clone();
    let key = net.identities[DELEGATE % 4].public_key().clone();
    let chain = CertChain::issue(&other, &key, &Grant::unrestricted(), from, until);
    let delegation = Arc::new(Delegation {
        identity: net.identities[DELEGATE % 4].clone(),
        chain,
    });
    let name = PeerName::secured(net.identities[2].authority(), "service").unwrap();
    let r = net.command(
        DELEGATE % 4,
        Command::RegisterDelegated {
            name,
            delegation,
            app_endpoints: Vec::new(),
        },
    );
    assert!(net.events.iter().any(|(_, e)| matches!(
        e,
        Event::RegisterFailed { request, reason: "delegation_does_not_cover_name" } if *request == r
    )));
}

#[test]
fn an_expired_chain_is_refused_on_resolve_and_on_leaf_set_admission() {
    let mut net = settled(12, 73);
    let auth = net.identities[AUTHORITY].clone();
    let key = net.identities[DELEGATE].public_key().clone();
    // Issued for the first two seconds of the run: long expired.
    let chain = CertChain::issue(
        &auth,
        &key,
        &Grant::unrestricted(),
        Instant::ZERO,
        Instant::ZERO + Duration::from_secs(2),
    );
    let name = register_delegated(&mut net, chain);
    assert_eq!(
        resolve_name(&mut net, 10, &name).unwrap_err(),
        ResolveError::CpaInvalid {
            reason: "chain_expired"
        }
    );
    let (_, holders) = in_leaf_sets(&net, &name);
    assert_eq!(holders, 0);
    assert!(
        rejected(&net, "chain_expired") >= 2,
        "resolve and leaf-set admissions count it"
    );
}

/// Rewrites the CERT_CHAIN of every AUTHORITY_BUFFER node 7 sends with `chain` (holding back the fragments
/// of a buffer until it is whole).
fn swap_chains(net: &mut TestNet, chain: Vec<u8>) {
    let delegate = endpoint(DELEGATE);
    let mut partial: std::collections::BTreeMap<u32, wire::Reassembly> = Default::default();
    net.tamper = Some(Box::new(move |from, _to, msg| {
        let Message::Authority(a) = &msg else {
            return vec![msg];
        };
        if from != delegate {
            return vec![msg];
        }
        let Ok(ctx) = partial
            .entry(a.message_id)
            .or_insert_with(|| wire::Reassembly::new(a.size).unwrap())
            .add(a)
        else {
            return vec![msg];
        };
        if !ctx {
            return Vec::new();
        }
        let whole = partial
            .remove(&a.message_id)
            .and_then(|r| r.into_bytes())
            .unwrap();
        let mut buf: AuthorityBuffer = wire::decode_authority_buffer(&whole).unwrap();
        if buf.cert_chain.is_some() {
            buf.cert_chain = Some(chain.clone());
        }
        let bytes = wire::encode_authority_buffer(&buf);
        let frags: Vec<Authority> = wire::fragment_authority(a.message_id, a.acked_id, &bytes);
        frags
            .into_iter()
            .map(|f| Message::Authority(Box::new(f)))
            .collect()
    }));
}

#[test]
fn foreign_and_forged_chains_are_refused_on_resolve_and_on_leaf_set_admission() {
    for (seed, forged, reason) in [
        (74, false, "chain_foreign_root"),
        (75, true, "chain_bad_signature"),
    ] {
        let mut net = settled(12, seed);
        let (from, until) = day(&net);
        let auth = net.identities[AUTHORITY].clone();
        let key = net.identities[DELEGATE].public_key().clone();
        let honest = CertChain::issue(&auth, &key, &Grant::unrestricted(), from, until);
        let mallory = net.identities[5].clone();
        let bad = if forged {
            // The authority's root and member, re-signed by someone without its key.
            let certs = honest.certs().iter().map(|c| c.clone().sign(&mallory)).collect();
            CertChain::from_certs(certs)
        } else {
            CertChain::issue(&mallory, &key, &Grant::unrestricted(), from, until)
        };
        swap_chains(&mut net, bad.der().to_vec());
        let name = register_delegated(&mut net, honest);
        assert_eq!(
            resolve_name(&mut net, 10, &name).unwrap_err(),
            ResolveError::CpaInvalid { reason }
        );
        let (_, holders) = in_leaf_sets(&net, &name);
        assert_eq!(holders, 0, "{reason}: the ID entered a leaf set");
        assert!(
            rejected(&net, reason) >= 2,
            "{reason} counted on resolve and admission"
        );
    }
}

#[test]
fn a_delegated_revoke_counts_only_with_the_admitted_key_option() {
    for option in [false, true] {
        let cfg = PnrpConfig {
            revoke_by_admitted_delegate_key: option,
            ..PnrpConfig::default()
        };
        let mut net = TestNet::new(12, cfg, Scheme::Ed25519, 76);
        net.register_all(Duration::from_secs(90));
        let (from, until) = day(&net);
        let auth = net.identities[AUTHORITY].clone();
        let key = net.identities[DELEGATE].public_key().clone();
        let chain = CertChain::issue(&auth, &key, &Grant::unrestricted(), from, until);
        let name = register_delegated(&mut net, chain);
        let (id, before) = in_leaf_sets(&net, &name);
        assert!(before >= 2);
        net.command(DELEGATE, Command::Unregister { id });
        net.run_for(Duration::from_secs(20));
        let left = holders(&net, id);
        let accepted: u64 = net.nodes.iter().map(|n| n.stats().revokes_accepted).sum();
        if option {
            assert!(
                accepted >= 2 && left == 0,
                "revokes accepted {accepted}, still in {left} leaf sets"
            );
        } else {
            // As specified: a FLOOD carries no chain, so the delegated revoke fails rule 2 everywhere.
            assert_eq!(accepted, 0);
            assert!(rejected(&net, "authority_mismatch") >= 2);
        }
    }
}
