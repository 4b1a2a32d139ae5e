//! Whole-protocol tests on the in-crate test network.

use super::*;

fn cfg() -> PnrpConfig {
    PnrpConfig::default()
}

pub(super) fn settled(n: usize, seed: u64) -> TestNet {
    let mut net = TestNet::new(n, cfg(), Scheme::Ed25519, seed);
    net.register_all(Duration::from_secs(90));
    net
}

pub(super) fn all_ids(net: &TestNet) -> Vec<PnrpId> {
    (0..net.nodes.len())
        .filter(|i| net.alive[*i])
        .flat_map(|i| net.nodes[i].registered_ids())
        .collect()
}

pub(super) fn check_node_invariants(net: &TestNet) {
    for n in &net.nodes {
        let own: Vec<PnrpId> = n.registered_ids().collect();
        for id in n.cache_ids() {
            assert!(!own.contains(&id), "a cache holds its node's own ID");
        }
        for l in &own {
            let v = n.leaf_set(*l).unwrap();
            assert!(v.below.len() <= 5 && v.above.len() <= 5);
            for m in v.below.iter().chain(&v.above) {
                assert!(
                    n.cache_ids().any(|c| c == *m),
                    "leaf-set member missing from the cache"
                );
            }
        }
        for (level, size) in n.cache_level_sizes().iter().enumerate() {
            assert!(
                *size <= n.config().cache_level_capacity,
                "level {level} holds {size}"
            );
        }
        // Derived copies stay in step: the leaf-set window and the cache's pinned-entry mirror.
        let window = match n.regs.values().next() {
            Some(r) if n.regs.len() == 1 => Some(r.leaf.window()),
            _ => None,
        };
        assert_eq!(n.leaf_window, window, "stale leaf-set window");
        n.cache.check_invariants().unwrap();
        let (ort, pending, adds) = n.table_sizes();
        assert!(
            ort <= n.config().ort_max
                && pending <= n.config().pending_max
                && adds <= n.config().pending_adds_max
        );
    }
}

#[test]
fn everyone_registers_and_resolves_everyone_else() {
    let mut net = settled(20, 1);
    check_node_invariants(&net);
    for i in 0..20 {
        let id = net.id_of(i);
        let walked = net.events.iter().find_map(|(n, e)| match e {
            Event::Registered { id: x, stats, .. } if *n == i && *x == id => Some(*stats),
            _ => None,
        });
        let stats = walked.unwrap_or_else(|| panic!("node {i} never reported Registered"));
        // Every node but the cloud's first walks through the cloud before reporting.
        assert!(
            i == 0 || stats.lookups_sent >= 1,
            "node {i} registered without a walk"
        );
    }
    let mut requests = Vec::new();
    for i in 0..20 {
        for j in 0..20 {
            if i != j {
                requests.push((i, j, net.resolve(i, j)));
            }
        }
        net.run_for(Duration::from_millis(50));
    }
    net.run_for(Duration::from_secs(40));
    let mut hops = Vec::new();
    for (i, j, r) in requests {
        let result = net
            .resolve_result(i, r)
            .unwrap_or_else(|| panic!("{i} → {j} never completed"));
        let ok = result.as_ref().unwrap_or_else(|e| panic!("{i} → {j}: {e}"));
        assert_eq!(ok.id, net.id_of(j));
        assert_eq!(ok.endpoints, vec![endpoint(j)]);
        assert_eq!(ok.cpa.pnrp_id(), net.id_of(j));
    }
    for (_, e) in &net.events {
        if let Event::Resolved { stats, .. } = e {
            hops.push(stats.useful_hops);
        }
    }
    // log10(20) ≈ 1.3: a handful of hops, far below the 22-hop cap.
    let max = *hops.iter().max().unwrap();
    let mean = hops.iter().sum::<u32>() as f64 / hops.len() as f64;
    assert!(max <= 8 && mean <= 4.0, "hops: max {max}, mean {mean}");
    check_node_invariants(&net);
}

#[test]
fn leaf_sets_converge_to_the_true_nearest_five_and_five() {
    let net = settled(20, 2);
    let all = all_ids(&net);
    let mut wrong = Vec::new();
    for (i, n) in net.nodes.iter().enumerate() {
        let id = net.id_of(i);
        let (below, above) = TestNet::true_leaf_set(id, &all, 5);
        let v = n.leaf_set(id).unwrap();
        if v.below != below || v.above != above {
            wrong.push(i);
        }
    }
    assert!(wrong.is_empty(), "wrong leaf sets at nodes {wrong:?}");
    let est = net.nodes[3]
        .estimated_cloud_size()
        .expect("both leaf-set sides known");
    assert!(est > 3.0 && est < 150.0, "cloud-size estimate {est} for 20 nodes");
}

#[test]
fn unregister_revokes_and_later_resolves_fail() {
    let mut net = settled(20, 3);
    let k = 7;
    let gone = net.id_of(k);
    let had_it: Vec<usize> = (0..20)
        .filter(|i| *i != k)
        .filter(|i| {
            let v = net.nodes[*i].leaf_set(net.id_of(*i)).unwrap();
            v.below.contains(&gone) || v.above.contains(&gone)
        })
        .collect();
    assert!(!had_it.is_empty());
    net.command(k, Command::Unregister { id: gone });
    net.run_for(Duration::from_secs(10));
    for i in &had_it {
        assert!(
            !net.nodes[*i].cache_ids().any(|c| c == gone),
            "node {i} still caches the revoked ID"
        );
        let v = net.nodes[*i].leaf_set(net.id_of(*i)).unwrap();
        assert!(!v.below.contains(&gone) && !v.above.contains(&gone));
    }
    assert!(net.nodes.iter().map(|n| n.stats().revokes_accepted).sum::<u64>() >= had_it.len() as u64);
    let r = net.resolve(2, k);
    net.run_for(Duration::from_secs(40));
    match net.resolve_result(2, r) {
        Some(Err(ResolveError::NotFound { .. })) => {}
        other => panic!("resolve of an unregistered name gave {other:?}"),
    }
}

#[test]
fn crashed_nodes_are_evicted_after_timeouts() {
    let mut net = settled(20, 4);
    let k = 11;
    let dead = net.id_of(k);
    net.alive[k] = false;
    let resolvers = [1usize, 5, 9, 14, 18];
    let reqs: Vec<(usize, RequestId)> = resolvers.iter().map(|&i| (i, net.resolve(i, k))).collect();
    net.run_for(Duration::from_secs(40));
    for (i, r) in reqs {
        match net.resolve_result(i, r) {
            Some(Err(_)) => {}
            other => panic!("resolve of a crashed node gave {other:?}"),
        }
        assert!(
            !net.nodes[i].cache_ids().any(|c| c == dead),
            "resolver {i} still caches the crashed node"
        );
    }
    let timeouts: u64 = net
        .nodes
        .iter()
        .map(|n| n.stats().evictions.get("lookup_timeout").copied().unwrap_or(0))
        .sum();
    assert!(timeouts > 0);
    // The rest of the cloud still resolves.
    let r = net.resolve(1, 2);
    net.run_for(Duration::from_secs(40));
    assert!(matches!(net.resolve_result(1, r), Some(Ok(_))));
}

#[test]
fn runs_are_deterministic() {
    let run = || {
        let mut net = settled(8, 6);
        let r = net.resolve(1, 6);
        net.run_for(Duration::from_secs(20));
        let stats: Vec<_> = net.nodes.iter().map(|n| n.stats().clone()).collect();
        (net.events.len(), format!("{:?}", net.resolve_result(1, r)), stats)
    };
    assert_eq!(run(), run());
}

#[test]
fn rsa_identities_work_end_to_end() {
    let mut net = TestNet::new(5, cfg(), Scheme::Rsa1024Sha1, 7);
    net.register_all(Duration::from_secs(60));
    let r = net.resolve(0, 3);
    net.run_for(Duration::from_secs(30));
    let ok = net
        .resolve_result(0, r)
        .and_then(|r| r.as_ref().ok())
        .expect("RSA resolve succeeds");
    assert_eq!(ok.id, net.id_of(3));
}

#[test]
fn resolving_an_unknown_name_fails_not_found_and_own_name_locally() {
    let mut net = settled(8, 8);
    let stranger = PeerName::unsecured("nobody").unwrap();
    let r = net.command(
        2,
        Command::Resolve {
            name: stranger,
            criteria: ResolveCriteria::AnyPeerName,
            timeout: Duration::from_secs(30),
            extended_payload: true,
        },
    );
    net.run_for(Duration::from_secs(40));
    assert!(matches!(
        net.resolve_result(2, r),
        Some(Err(ResolveError::NotFound { .. }))
    ));
    let r = net.resolve(2, 2);
    net.run_for(Duration::from_secs(5));
    let ok = net
        .resolve_result(2, r)
        .and_then(|r| r.as_ref().ok())
        .expect("own name resolves");
    assert_eq!(ok.id, net.id_of(2));
}

#[test]
fn leave_unregisters_everything_and_stops_maintenance() {
    let mut net = settled(6, 10);
    let id = net.id_of(3);
    let r = net.command(3, Command::Leave);
    assert!(net
        .events
        .iter()
        .any(|(n, e)| *n == 3 && *e == Event::Unregistered { request: r, id }));
    net.run_for(Duration::from_secs(10));
    assert!(net.nodes[3].has_left());
    assert_eq!(net.nodes[3].registered_ids().count(), 0);
    assert_eq!(net.nodes[3].poll_timeout(), None);
}

/// Nodes whose leaf set differs from the true 5+5 nearest registered IDs.
fn wrong_leaf_sets(net: &TestNet) -> Vec<usize> {
    let all = all_ids(net);
    (0..net.nodes.len())
        .filter(|i| net.alive[*i])
        .filter(|&i| {
            let id = net.id_of(i);
            let (below, above) = TestNet::true_leaf_set(id, &all, 5);
            let v = net.nodes[i].leaf_set(id).unwrap();
            v.below != below || v.above != above
        })
        .collect()
}

#[test]
fn leaf_sets_converge_across_sizes_and_seeds() {
    for (n, seed) in [(30usize, 13u64), (40, 17), (100, 16)] {
        let mut net = TestNet::new(n, cfg(), Scheme::Ed25519, seed);
        net.register_all(Duration::from_secs(90));
        assert_eq!(wrong_leaf_sets(&net), Vec::<usize>::new(), "n {n} seed {seed}");
        check_node_invariants(&net);
        let splits: u64 = net.nodes.iter().map(|n| n.stats().splits_detected).sum();
        assert_eq!(splits, 0, "no false split detections in a healthy cloud");
    }
}

#[test]
fn a_split_cloud_is_detected_and_repaired() {
    // Two clouds, seeded by nodes 0 and 10, kept apart for a minute; the second half also knows
    // seed 0, so its split tests walk from the first cloud towards its own IDs.
    let n = 20;
    // Frequent leaf-set probes finish the merge for pairs that no flood wave reaches (both already
    // knew every node between them) and for nodes that never run a split test (node 0 has no
    // other seed; the test rate is random).
    let cfg = PnrpConfig {
        balancing_interval: Duration::from_secs(60),
        ..cfg()
    };
    let mut net = TestNet::with_seeds(n, cfg, Scheme::Ed25519, 21, |i| match i {
        0 | 10 => Vec::new(),
        1..=9 => vec![endpoint(0)],
        _ => vec![endpoint(10), endpoint(0)],
    });
    let side = |ep: Endpoint| if ep.addr.segments()[3] < 10 { 0 } else { 1 };
    let healed = std::rc::Rc::new(std::cell::Cell::new(false));
    let h = healed.clone();
    net.tamper = Some(Box::new(move |from, to, m| {
        if h.get() || side(from) == side(to) {
            vec![m]
        } else {
            vec![]
        }
    }));
    net.register_all(Duration::from_secs(60));
    let before = wrong_leaf_sets(&net).len();
    assert!(
        before >= 10,
        "two separate clouds have wrong global leaf sets ({before})"
    );
    healed.set(true);
    net.run_for(Duration::from_secs(180));
    let detected = net
        .events
        .iter()
        .filter(|(_, e)| matches!(e, Event::SplitDetected { .. }))
        .count();
    assert!(detected > 0, "the split was never detected");
    let after = wrong_leaf_sets(&net).len();
    assert!(
        after * 3 <= before,
        "split repair re-merged most leaf sets: {before} wrong before, {after} after"
    );
    net.run_for(Duration::from_secs(900));
    assert_eq!(
        wrong_leaf_sets(&net),
        Vec::<usize>::new(),
        "leaf sets re-merged after the split"
    );
    let r = net.resolve(3, 17);
    net.run_for(Duration::from_secs(30));
    assert!(
        matches!(net.resolve_result(3, r), Some(Ok(_))),
        "names resolve across the former split"
    );
}

#[test]
fn large_answers_are_fragmented_and_reassembled_out_of_order() {
    let mut net = settled(8, 30);
    let publisher = endpoint(5);
    // Node 5's answers gain a real ~2,700-byte certificate chain (node 5's root, through node 6's key back
    // to node 5's: MS-PNRP §3.1.5.10 accepts it), so they travel as three AUTHORITY fragments, delivered
    // last-first.
    let (five, six) = (net.identities[5].clone(), net.identities[6].clone());
    let until = net.now + Duration::from_secs(3600);
    let grant = crate::pnrp::chain::Grant::unrestricted();
    let chain = crate::pnrp::chain::CertChain::issue(&five, six.public_key(), &grant, Instant::ZERO, until)
        .extend(&six, five.public_key(), &grant, Instant::ZERO, until)
        .der()
        .to_vec();
    // A chain travels with the classifier it delegates (MS-PNRP §2.2.2.6.1).
    let classifier = net.names[5].classifier.clone();
    net.tamper = Some(Box::new(move |from, _, msg| {
        let Message::Authority(a) = &msg else {
            return vec![msg];
        };
        let Ok(mut buf) = wire::decode_authority_buffer(&a.fragment) else {
            return vec![msg];
        };
        if from != publisher || buf.cpa.is_none() {
            return vec![msg];
        }
        buf.cert_chain = Some(chain.clone());
        buf.classifier = Some(classifier.clone());
        let bytes = wire::encode_authority_buffer(&buf);
        let mut frags: Vec<Message> = wire::fragment_authority(a.message_id, a.acked_id, &bytes)
            .into_iter()
            .map(|f| Message::Authority(Box::new(f)))
            .collect();
        assert!(frags.len() >= 3);
        frags.reverse();
        frags
    }));
    let r = net.resolve(2, 5);
    net.run_for(Duration::from_secs(30));
    let ok = net
        .resolve_result(2, r)
        .and_then(|r| r.as_ref().ok())
        .expect("fragmented answer resolves");
    assert_eq!(ok.id, net.id_of(5));
    assert!(net.nodes[2].stats().reassembled_buffers >= 1);
    assert_eq!(net.nodes[2].reassembly_usage(), (0, 0), "no context left behind");
}

/// MS-PNRP §3.1.7.1: after an address change the re-announcement reaches every leaf-set neighbour (the
/// changed entry floods through the leaf sets like a newcomer), on every seed tried.
#[test]
fn an_address_change_is_re_announced() {
    for seed in 20..32 {
        let mut net = settled(10, seed);
        let moved = Endpoint::new(Ipv6Addr::new(0x2001, 0xdb8, 0, 0x99, 0, 0, 0, 1), 3541);
        net.change_address(6, moved);
        net.run_for(Duration::from_secs(60));
        let r = net.resolve(1, 6);
        net.run_for(Duration::from_secs(30));
        let ok = net
            .resolve_result(1, r)
            .and_then(|r| r.as_ref().ok())
            .unwrap_or_else(|| panic!("seed {seed}: moved node does not resolve"));
        assert_eq!(ok.endpoints, vec![moved], "seed {seed}");
        let id = net.id_of(6);
        let v = net.nodes[6].leaf_set(id).unwrap();
        for neighbour in v.above.iter().chain(&v.below) {
            let j = (0..10).find(|j| net.id_of(*j) == *neighbour).unwrap();
            assert_eq!(
                net.nodes[j].cached_route(id).map(|r| r.endpoint()),
                Some(moved),
                "seed {seed}: neighbour {j} did not learn the move"
            );
        }
    }
}

#[test]
fn registration_walks_stop_in_the_neighbourhood() {
    let hops = |stop: Option<u32>| {
        let c = PnrpConfig {
            registration_stop_after_leaf_answers: stop,
            ..cfg()
        };
        let mut net = TestNet::new(40, c, Scheme::Ed25519, 22);
        net.register_all(Duration::from_secs(60));
        let hops: Vec<u32> = net
            .events
            .iter()
            .filter_map(|(_, e)| match e {
                Event::Registered { stats, .. } => Some(stats.useful_hops),
                _ => None,
            })
            .collect();
        assert_eq!(hops.len(), 40);
        hops.iter().sum::<u32>() as f64 / hops.len() as f64
    };
    let (short, literal) = (hops(Some(1)), hops(None));
    assert!(
        short < literal * 0.75,
        "mean hops {short} with the stop rule vs {literal} literal"
    );
    assert!(short <= 8.0, "mean registration hops {short}");
}

#[test]
fn a_resolve_before_the_cloud_synchronized_says_so() {
    // At t = 0 no node has heard of another: the resolve fails at once with `NotSynchronized`
    // (the asker was not ready), not the `EmptyCache` of a node whose members all vanished.
    let mut net = TestNet::new(6, cfg(), Scheme::Ed25519, 9);
    let early = net.resolve(1, 2);
    assert!(matches!(
        net.resolve_result(1, early),
        Some(Err(ResolveError::NotSynchronized))
    ));
    net.register_all(Duration::from_secs(90));
    let late = net.resolve(1, 2);
    net.run_for(Duration::from_secs(30));
    assert!(
        matches!(net.resolve_result(1, late), Some(Ok(_))),
        "{:?}",
        net.resolve_result(1, late)
    );
    // Every other member gone: now it is the protocol's failure, `EmptyCache`.
    for k in (0..6).filter(|&k| k != 1) {
        net.alive[k] = false;
    }
    net.run_for(Duration::from_secs(600));
    assert_eq!(net.nodes[1].cache_len(), 0, "dead members are evicted");
    let lost = net.resolve(1, 2);
    assert!(matches!(
        net.resolve_result(1, lost),
        Some(Err(ResolveError::EmptyCache))
    ));
}
