//! PNRP costs: the wire codec, CPA signatures under both schemes, and a whole small cloud through
//! the simulator (per-event cost). Run with `cargo bench -p peerlab-benches --bench pnrp`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use peerlab_engine::crypto::{Identity, Scheme};
use peerlab_engine::pnrp::{
    wire, AuthorityBuffer, AuthorityFlags, Cpa, Lookup, Message, PeerName, PnrpId, ReasonCode,
    ResolveCriteria, RouteEntry,
};
use peerlab_engine::{Duration, Endpoint, Instant};
use std::hint::black_box;
use std::net::Ipv6Addr;
use std::sync::Arc;

fn endpoint(i: u16) -> Endpoint {
    Endpoint::new(Ipv6Addr::new(0x2001, 0xdb8, 0, i, 0, 0, 0, 1), 3540)
}

fn lookup() -> Message {
    Message::Lookup(Box::new(Lookup {
        message_id: 42,
        accept_any: false,
        precision: 0,
        criteria: ResolveCriteria::AnyPeerName,
        reason: ReasonCode::AppRequest,
        target: PnrpId::new(0x1111, 0x8000_0000_0000_0000),
        validate_id: PnrpId::new(0x2222, 7),
        best_match: Some(RouteEntry::single(PnrpId::new(0x1110, 3), endpoint(3))),
        flagged_path: (0..6).map(endpoint).collect(),
    }))
}

fn signed_cpa(scheme: Scheme, nonce: [u8; 16]) -> (Arc<Identity>, Cpa) {
    let identity = Identity::generate(scheme, [7; 32]);
    let name = PeerName::secured(identity.authority(), "bench").expect("valid name");
    let unsigned = Cpa::unsigned(
        &name,
        &identity,
        5,
        vec![endpoint(1)],
        Instant::ZERO + Duration::from_secs(43_200),
        nonce,
    );
    let cpa = unsigned.sign(&identity);
    (identity, cpa)
}

fn codec(c: &mut Criterion) {
    let mut g = c.benchmark_group("codec");
    g.throughput(Throughput::Elements(1));
    let msg = lookup();
    let mut buf = Vec::with_capacity(1500);
    g.bench_function("encode LOOKUP", |b| {
        b.iter(|| {
            buf.clear();
            wire::encode(black_box(&msg), &mut buf);
            buf.len()
        })
    });
    let bytes = msg.to_bytes();
    g.bench_function("decode LOOKUP", |b| {
        b.iter(|| wire::decode(black_box(&bytes)).expect("valid"))
    });
    g.bench_function("encoded_len LOOKUP", |b| b.iter(|| black_box(&msg).encoded_len()));
    let (_, cpa) = signed_cpa(Scheme::Ed25519, [3; 16]);
    let buffer = AuthorityBuffer {
        flags: AuthorityFlags::default(),
        cert_chain: None,
        classifier: Some("bench".into()),
        extended_payload: None,
        route_entry: Some(RouteEntry::single(cpa.pnrp_id(), endpoint(1))),
        cpa: Some(Arc::new(cpa)),
    };
    g.bench_function("encode AUTHORITY_BUFFER with CPA", |b| {
        b.iter(|| wire::encode_authority_buffer(&buffer))
    });
    let encoded = wire::encode_authority_buffer(&buffer);
    g.bench_function("decode AUTHORITY_BUFFER with CPA", |b| {
        b.iter(|| wire::decode_authority_buffer(black_box(&encoded)).expect("valid"))
    });
    g.finish();
}

fn signatures(c: &mut Criterion) {
    let mut g = c.benchmark_group("cpa");
    g.sample_size(20);
    for scheme in [Scheme::Ed25519, Scheme::Rsa1024Sha1] {
        let (identity, cpa) = signed_cpa(scheme, [3; 16]);
        let (_, reused) = signed_cpa(scheme, [0; 16]);
        let name = PeerName::secured(identity.authority(), "bench").expect("valid name");
        let mut nonce = 0u8;
        g.bench_function(format!("sign {}", scheme.name()), |b| {
            b.iter_batched(
                || {
                    nonce = nonce.wrapping_add(1);
                    Cpa::unsigned(
                        &name,
                        &identity,
                        5,
                        vec![endpoint(1)],
                        Instant::from_micros(1 << 40),
                        [nonce; 16],
                    )
                },
                |u| u.sign(&identity),
                BatchSize::SmallInput,
            )
        });
        // A fresh-nonce CPA (a resolve's answer) is verified every time; a zero-nonce one (a
        // publisher's reused CPA, checked by every leaf-set neighbour) hits the process-wide memo.
        g.bench_function(format!("validate {} (fresh nonce)", scheme.name()), |b| {
            b.iter(|| cpa.validate(Instant::ZERO, &[3; 16]).expect("valid"))
        });
        g.bench_function(format!("validate {} (reused, memo hit)", scheme.name()), |b| {
            b.iter(|| reused.validate(Instant::ZERO, &[0; 16]).expect("valid"))
        });
    }
    g.finish();
}

const CLOUD: &str = r#"
name = "bench-cloud"
seed = 1
duration = "6m"
[network]
latency = { model = "internet", median = "50ms" }
[pnrp]
seed_servers = 2
crypto = "ed25519"
[[peers]]
name = "peers"
count = 500
join = { model = "ramp", over = "1m" }
[[workload]]
kind = "resolve"
from = "peers"
start = "3m"
rate = "20/s"
"#;

fn whole_cloud(c: &mut Criterion) {
    let mut g = c.benchmark_group("scenario");
    g.sample_size(10);
    let (outcome, _) = peerlab_sim::run::simulate(CLOUD, &[]).expect("runs");
    g.throughput(Throughput::Elements(outcome.events));
    g.bench_function("500 peers, 6 min, events", |b| {
        b.iter(|| peerlab_sim::run::simulate(CLOUD, &[]).expect("runs").0.events)
    });
    g.finish();
}

criterion_group!(benches, codec, signatures, whole_cloud);
criterion_main!(benches);
