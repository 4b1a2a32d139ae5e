//! The bare event loop: pop the next event, deliver it to a trivial node, which
//! schedules its own next event 1–100 ms later. Every peer always has exactly one pending event, so
//! `peers` is also the number of pending events. Reports events/s (criterion `Throughput::Elements`)
//! for the timing wheel and for a binary-heap baseline, and prints the queue's bytes per pending
//! event / idle peer once per size (outside the timed part).

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use peerlab_engine::{Duration, Instant};
use peerlab_sim::queue::EventQueue;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Events processed per timed iteration.
const EVENTS_PER_ITER: u64 = 200_000;
/// Peer counts measured.
const SIZES: [u32; 3] = [1_000, 100_000, 1_000_000];

/// A small event, like the simulator's timer/deliver events: node index and a kind tag.
#[derive(Clone, Copy)]
struct Ev {
    node: u32,
    kind: u32,
}

/// A trivial node: counts what it handled and draws its next delay from a cheap PRNG (splitmix64),
/// so the bench measures the queue rather than a cryptographic RNG.
struct Peer {
    state: u64,
    handled: u64,
}

impl Peer {
    fn handle(&mut self, _ev: Ev) -> Duration {
        self.handled += 1;
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Duration::from_micros(1_000 + z % 99_000)
    }
}

fn peers(n: u32) -> Vec<Peer> {
    (0..n)
        .map(|i| Peer {
            state: i as u64,
            handled: 0,
        })
        .collect()
}

/// A wheel with one pending event per peer, warmed up so the measurement sees steady state.
fn wheel(n: u32, ps: &mut [Peer]) -> EventQueue<Ev> {
    let mut q = EventQueue::new();
    for (i, p) in ps.iter_mut().enumerate() {
        q.push(
            Instant::ZERO
                + p.handle(Ev {
                    node: i as u32,
                    kind: 0,
                }),
            Ev {
                node: i as u32,
                kind: 0,
            },
        );
    }
    run_wheel(&mut q, ps, n as u64 * 2);
    q
}

fn run_wheel(q: &mut EventQueue<Ev>, ps: &mut [Peer], events: u64) {
    for _ in 0..events {
        let Some((now, ev)) = q.pop() else { return };
        let d = ps[ev.node as usize].handle(ev);
        q.push(
            now + d,
            Ev {
                node: ev.node,
                kind: ev.kind ^ 1,
            },
        );
    }
}

type Heap = BinaryHeap<Reverse<(u64, u64, u32)>>;

/// The baseline: a binary heap of (time, sequence, node).
fn heap(ps: &mut [Peer]) -> (Heap, u64) {
    let mut h = BinaryHeap::with_capacity(ps.len());
    for (i, p) in ps.iter_mut().enumerate() {
        let d = p.handle(Ev {
            node: i as u32,
            kind: 0,
        });
        h.push(Reverse((d.as_micros(), i as u64, i as u32)));
    }
    let mut seq = ps.len() as u64;
    run_heap(&mut h, &mut seq, ps, ps.len() as u64 * 2);
    (h, seq)
}

fn run_heap(h: &mut Heap, seq: &mut u64, ps: &mut [Peer], events: u64) {
    for _ in 0..events {
        let Some(Reverse((t, _, node))) = h.pop() else {
            return;
        };
        let d = ps[node as usize].handle(Ev { node, kind: 0 });
        *seq += 1;
        h.push(Reverse((t + d.as_micros(), *seq, node)));
    }
}

fn bench_event_loop(c: &mut Criterion) {
    let mut g = c.benchmark_group("event_loop");
    g.sample_size(10)
        .measurement_time(std::time::Duration::from_secs(3));
    g.warm_up_time(std::time::Duration::from_secs(1));
    g.throughput(Throughput::Elements(EVENTS_PER_ITER));
    for n in SIZES {
        let mut ps = peers(n);
        let mut q = wheel(n, &mut ps);
        let per_event = q.heap_bytes() as f64 / q.len() as f64;
        eprintln!(
            "event_loop/wheel/{n}: {} pending, queue {:.1} bytes per pending event; \
             with the bench's {}-byte peer: {:.1} bytes per idle peer",
            q.len(),
            per_event,
            std::mem::size_of::<Peer>(),
            per_event + std::mem::size_of::<Peer>() as f64
        );
        g.bench_with_input(BenchmarkId::new("wheel", n), &n, |b, _| {
            b.iter(|| run_wheel(black_box(&mut q), &mut ps, EVENTS_PER_ITER))
        });
        drop(q);
        let mut ps = peers(n);
        let (mut h, mut seq) = heap(&mut ps);
        g.bench_with_input(BenchmarkId::new("binary_heap", n), &n, |b, _| {
            b.iter(|| run_heap(black_box(&mut h), &mut seq, &mut ps, EVENTS_PER_ITER))
        });
        black_box(ps.iter().map(|p| p.handled).sum::<u64>());
    }
    g.finish();
}

criterion_group!(benches, bench_event_loop);
criterion_main!(benches);
