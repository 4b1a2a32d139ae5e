//! Proptest strategies for valid messages, buffers and CPAs (test-only).

use crate::crypto::{Identity, Scheme};
use crate::pnrp::cpa::{AppEndpoint, Cpa};
use crate::pnrp::friendly::FriendlyName;
use crate::pnrp::id::PnrpId;
use crate::pnrp::message::*;
use crate::pnrp::name::PeerName;
use crate::{Endpoint, Instant};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use std::net::Ipv6Addr;
use std::sync::Arc;

/// Any PNRP ID.
pub fn any_id() -> impl Strategy<Value = PnrpId> {
    (any::<u128>(), any::<u128>()).prop_map(|(h, l)| PnrpId::new(h, l))
}

/// Any endpoint with a valid port (> 1024).
pub fn any_endpoint() -> impl Strategy<Value = Endpoint> {
    (any::<u128>(), 1025u16..).prop_map(|(a, p)| Endpoint::new(Ipv6Addr::from(a), p))
}

/// Any route entry with 1..=20 addresses.
pub fn any_route_entry() -> impl Strategy<Value = RouteEntry> {
    (any_id(), 1025u16.., vec(any::<u128>(), 1..=ROUTE_ENTRY_MAX_ADDRS)).prop_map(|(id, port, a)| {
        RouteEntry {
            id,
            port,
            addrs: a.into_iter().map(Ipv6Addr::from).collect::<Vec<_>>().into(),
        }
    })
}

/// A fixed route entry with `k` addresses.
pub fn route_entry_k(k: usize) -> RouteEntry {
    let addrs: Vec<Ipv6Addr> = (0..k)
        .map(|i| Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, i as u16 + 1))
        .collect();
    RouteEntry {
        id: PnrpId::new(0xAB, 0xCD),
        port: 3540,
        addrs: addrs.into(),
    }
}

/// A fixed Ed25519-signed CPA.
pub fn signed_cpa(seed: u8, revoke: bool) -> Cpa {
    let id = Identity::generate(Scheme::Ed25519, [seed; 32]);
    let name = PeerName::secured(id.authority(), "testgen").unwrap_or_else(|_| unreachable!());
    let eps = vec![Endpoint::new(Ipv6Addr::LOCALHOST, 3540)];
    let not_after = Instant::from_micros(43_200_000_000);
    let c = if revoke {
        Cpa::unsigned_revoke(&name, &id, 1, eps, not_after)
    } else {
        Cpa::unsigned(&name, &id, 1, eps, not_after, [5; 16])
    };
    c.sign(&id)
}

/// Any syntactically valid CPA, Ed25519-signed (fast); `revoke` forces the R flag.
pub fn any_cpa(revoke: Option<bool>) -> impl Strategy<Value = Cpa> {
    let revoke = match revoke {
        Some(r) => Just(r).boxed(),
        None => any::<bool>().boxed(),
    };
    (
        revoke,
        0u8..4,
        0u8..3, // 0: authority only, 1: classifier only, 2: both
        0u64..1_000_000_000_000_000,
        any::<u128>(),
        any::<[u8; 16]>(),
        option::of(("[ -~]{1,39}|\\PC{1,19}", any::<bool>())),
        any::<bool>(),
        vec(any_endpoint(), 0..=4),
        vec((any::<u128>(), any::<u16>(), any::<u16>()), 0..=10),
    )
        .prop_map(
            |(revoke, seed, ac, micros, sl, nonce, friendly_name, x, mut eps, apps)| {
                let id = Identity::generate(Scheme::Ed25519, [seed; 32]);
                if eps.is_empty() && !revoke {
                    eps.push(Endpoint::new(Ipv6Addr::LOCALHOST, 3540));
                }
                let name = PeerName::secured(id.authority(), "c").unwrap_or_else(|_| unreachable!());
                let mut cpa = Cpa::unsigned(&name, &id, sl, eps, Instant::from_micros(micros), nonce);
                cpa.revoke = revoke;
                if revoke {
                    cpa.nonce = [0; 16];
                }
                if ac == 1 {
                    cpa.authority = None;
                }
                if ac == 0 {
                    cpa.classifier_hash = None;
                }
                cpa.friendly_name = friendly_name.map(|(text, utf8)| {
                    let name = if utf8 {
                        FriendlyName::utf8(&text)
                    } else {
                        FriendlyName::utf16(&text)
                    };
                    name.unwrap_or_else(|e| unreachable!("{text:?}: {e}"))
                });
                cpa.has_extended_payload = x;
                cpa.app_endpoints = apps
                    .into_iter()
                    .map(|(a, port, protocol)| AppEndpoint {
                        addr: a.into(),
                        port,
                        protocol,
                    })
                    .collect();
                cpa.sign(&id)
            },
        )
}

/// Any AUTHORITY_BUFFER with each optional element present or absent.
pub fn any_authority_buffer() -> impl Strategy<Value = AuthorityBuffer> {
    (
        any::<[bool; 3]>(),
        option::of(vec(any::<u8>(), 0..300)),
        option::of("\\PC{0,149}"),
        option::of(vec(any::<u8>(), 0..300)),
        option::of(any_route_entry()),
        option::of(any_cpa(None).prop_map(Arc::new)),
    )
        .prop_map(
            |([l, b, n], cert_chain, classifier, extended_payload, route_entry, cpa)| AuthorityBuffer {
                flags: AuthorityFlags {
                    leaf_set: l,
                    busy: b,
                    not_registered: n,
                },
                cert_chain,
                classifier: classifier.map(|c: String| c.replace('\0', "")),
                extended_payload,
                route_entry,
                cpa,
            },
        )
}

fn criteria() -> impl Strategy<Value = ResolveCriteria> {
    prop_oneof![
        Just(ResolveCriteria::Exact),
        Just(ResolveCriteria::AnyPeerName),
        Just(ResolveCriteria::NearestPeerName),
        Just(ResolveCriteria::Nearest64PeerName),
        Just(ResolveCriteria::UpperBits),
    ]
}

fn reason() -> impl Strategy<Value = ReasonCode> {
    prop_oneof![
        Just(ReasonCode::AppRequest),
        Just(ReasonCode::Registration),
        Just(ReasonCode::CacheMaintenance),
        Just(ReasonCode::SplitDetection),
    ]
}

/// Any valid message of any type.
pub fn any_message() -> impl Strategy<Value = Message> {
    let solicit = (
        any::<u32>(),
        option::of(prop_oneof![Just(SolicitType::Any), Just(SolicitType::Local)]),
        option::of(any_route_entry()),
        any::<[u8; 20]>(),
    )
        .prop_map(|(message_id, solicit_type, route_entry, hashed_nonce)| {
            Message::Solicit(Box::new(Solicit {
                message_id,
                solicit_type,
                route_entry,
                hashed_nonce,
            }))
        });
    let advertise = (any::<u32>(), any::<u32>(), vec(any_id(), 0..8), any::<[u8; 20]>()).prop_map(
        |(message_id, acked_id, ids, hashed_nonce)| {
            Message::Advertise(Box::new(Advertise {
                message_id,
                acked_id,
                ids,
                hashed_nonce,
            }))
        },
    );
    let request =
        (any::<u32>(), any::<[u8; 16]>(), vec(any_id(), 0..8)).prop_map(|(message_id, nonce, ids)| {
            Message::Request(Box::new(Request {
                message_id,
                nonce,
                ids,
            }))
        });
    let flood = (
        any::<u32>(),
        any::<bool>(),
        any_id(),
        option::of(any_cpa(Some(true)).prop_map(Arc::new)),
        option::of(any_route_entry()),
        vec(any_endpoint(), 0..=ENDPOINT_LIST_MAX),
    )
        .prop_map(
            |(message_id, dont_ack, validate_id, revoke_cpa, route_entry, already_flooded)| {
                Message::Flood(Box::new(Flood {
                    message_id,
                    dont_ack,
                    validate_id,
                    revoke_cpa,
                    route_entry,
                    already_flooded,
                }))
            },
        );
    let inquire = (
        any::<u32>(),
        any::<[bool; 3]>(),
        any_id(),
        option::of(any::<[u8; 16]>()),
    )
        .prop_map(
            |(message_id, [cpa, extended_payload, cert_chain], validate_id, nonce)| {
                let flags = InquireFlags {
                    cpa,
                    extended_payload,
                    cert_chain,
                };
                Message::Inquire(Box::new(Inquire {
                    message_id,
                    flags,
                    validate_id,
                    nonce,
                }))
            },
        );
    let authority = (
        any::<u32>(),
        any::<u32>(),
        vec(any::<u8>(), 1..=AUTHORITY_FRAGMENT_MAX),
        0usize..3,
    )
        .prop_map(|(message_id, acked_id, frag, extra)| {
            // A fragment of a buffer `extra` fragments longer: full-size unless it is the last.
            let full = extra > 0;
            let len = if full { AUTHORITY_FRAGMENT_MAX } else { frag.len() };
            let mut fragment = frag;
            fragment.resize(len, 0xEE);
            let size = (len + extra * 500) as u16;
            let offset = 0;
            Message::Authority(Box::new(Authority {
                message_id,
                acked_id,
                size,
                offset,
                fragment: Arc::from(fragment),
            }))
        });
    let ack = (any::<u32>(), any::<u32>(), option::of(any::<bool>())).prop_map(
        |(message_id, acked_id, not_registered)| {
            Message::Ack(Ack {
                message_id,
                acked_id,
                not_registered,
            })
        },
    );
    let lookup = (
        any::<u32>(),
        any::<bool>(),
        0u16..=256,
        criteria(),
        reason(),
        any_id(),
        any_id(),
        option::of(any_route_entry()),
        vec(any_endpoint(), 1..=ENDPOINT_LIST_MAX),
    )
        .prop_map(
            |(message_id, accept_any, precision, criteria, reason, target, validate_id, best_match, path)| {
                Message::Lookup(Box::new(Lookup {
                    message_id,
                    accept_any,
                    precision,
                    criteria,
                    reason,
                    target,
                    validate_id,
                    best_match,
                    flagged_path: path,
                }))
            },
        );
    prop_oneof![solicit, advertise, request, flood, inquire, authority, ack, lookup]
}
