//! Cost of `NetModel::send` per message for each latency model, plus one
//! configuration with everything on (jitter, Gilbert-Elliott loss, bandwidth queues, MTU).
//! Prints the model's bytes per node once per configuration (outside the timed part).

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use peerlab_engine::{Duration, Instant};
use peerlab_sim::net::{
    Bandwidth, Delivery, GilbertScope, Jitter, LatencyModel, LossModel, NetConfig, NetModel, DEFAULT_TAIL,
};

/// Nodes in every network.
const NODES: u32 = 10_000;
/// Messages per timed iteration.
const SENDS_PER_ITER: u64 = 10_000;

fn ms(x: u64) -> Duration {
    Duration::from_millis(x)
}

fn configs() -> Vec<(&'static str, NetConfig)> {
    let groups = 8u16;
    let table = (0..groups)
        .map(|a| (0..groups).map(|b| ms(5 + 20 * a.abs_diff(b) as u64)).collect())
        .collect();
    let node_group = (0..NODES).map(|i| (i % groups as u32) as u16).collect();
    let mut full = NetConfig::with_latency(LatencyModel::Internet {
        median: ms(70),
        tail: DEFAULT_TAIL,
    });
    full.jitter = Jitter::FractionPpm(100_000);
    full.loss = LossModel::GilbertElliott {
        p_gb_ppm: 5_000,
        p_bg_ppm: 200_000,
        loss_good_ppm: 1_000,
        loss_bad_ppm: 500_000,
        scope: GilbertScope::PerLink,
    };
    full.bandwidth = Bandwidth {
        up_bps: 2_000_000,
        down_bps: 20_000_000,
    };
    full.queue_limit_bytes = 256 * 1024;
    full.mtu_bytes = Some(1_280);
    vec![
        (
            "constant",
            NetConfig::with_latency(LatencyModel::Constant(ms(50))),
        ),
        (
            "uniform",
            NetConfig::with_latency(LatencyModel::Uniform {
                min: ms(5),
                max: ms(120),
            }),
        ),
        (
            "internet",
            NetConfig::with_latency(LatencyModel::Internet {
                median: ms(70),
                tail: DEFAULT_TAIL,
            }),
        ),
        (
            "matrix",
            NetConfig::with_latency(LatencyModel::Matrix { table, node_group }),
        ),
        ("internet+jitter+ge_loss+bandwidth+mtu", full),
    ]
}

/// Sends `count` messages between pseudo-random pairs, 10 µs apart, starting at `*now`.
fn send_batch(net: &mut NetModel, now: &mut u64, state: &mut u64, count: u64) -> u64 {
    let mut delivered = 0;
    for _ in 0..count {
        *state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let from = ((*state >> 33) % NODES as u64) as u32;
        let to = ((*state >> 13) % NODES as u64) as u32;
        *now += 10;
        if let Delivery::At(_) = net.send(Instant::from_micros(*now), from, to, 200) {
            delivered += 1;
        }
    }
    delivered
}

fn bench_network(c: &mut Criterion) {
    let mut g = c.benchmark_group("net_send");
    g.sample_size(10)
        .measurement_time(std::time::Duration::from_secs(2));
    g.warm_up_time(std::time::Duration::from_millis(500));
    g.throughput(Throughput::Elements(SENDS_PER_ITER));
    for (name, cfg) in configs() {
        let mut net = NetModel::new(cfg, NODES, [7; 32]).expect("bench configs are valid");
        let (mut now, mut state) = (0u64, 1u64);
        send_batch(&mut net, &mut now, &mut state, 100_000);
        eprintln!(
            "net_send/{name}: {:.1} bytes of model state per node",
            net.heap_bytes() as f64 / NODES as f64
        );
        g.bench_with_input(BenchmarkId::from_parameter(name), &name, |b, _| {
            b.iter(|| black_box(send_batch(&mut net, &mut now, &mut state, SENDS_PER_ITER)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench_network);
criterion_main!(benches);
