//! The network model: sans-IO, over node indices (docs/architecture.md §4 "Network model").
//!
//! [`NetModel::send`] answers, at send time, when a message will be delivered or why it is
//! dropped; the event loop schedules the delivery. Like str0m's netem and TigerBeetle's packet
//! simulator it owns no clock and no sockets: time comes in as `now`, randomness from ChaCha8
//! streams derived from the seed (stream 0: per-message draws in call order; one stream per node for
//! its internet coordinates). Per-node state lives in `Vec`s indexed by node.
//!
//! A message passes these stages, in order, and the first that fails names the drop reason:
//! 1. sender or receiver down (or not a known node) → [`DropReason::Down`];
//! 2. `bytes + header_bytes > mtu` → [`DropReason::Mtu`];
//! 3. partition between them → [`DropReason::Partition`];
//! 4. sender's uplink queue over its limit → [`DropReason::QueueFull`];
//! 5. loss (base model, then active loss windows) → [`DropReason::Loss`]; a lost message has used
//!    the sender's uplink, as on a real wire;
//! 6. latency: base + both nodes' extra + active latency windows, then jitter; the base comes
//!    from the sender's class latency model if it has one, else the receiver's, else the
//!    network's ([`NodeClass`]); with [`Subnets`] attached, a LAN path's base is the subnet's LAN
//!    latency and an Internet path adds each end's LAN and WAN latency, and the datagram queues
//!    FIFO on the WAN links it crosses (`subnet` module docs);
//! 7. receiver's downlink queue over its limit → [`DropReason::QueueFull`].
//!
//! Stream (TCP) traffic is modelled apart, in [`stream`]: its segments take stages 1, 3, 5 and 6
//! through [`NetModel::segment`] and share links max-min fairly among themselves.
//!
//! A node sending to itself is delivered at `now` (loopback) after stages 1 and 2.
//! Crashed-while-in-flight and address changes are the event loop's concern: it checks the
//! receiver at delivery time.

mod bandwidth;
mod latency;
mod loss;
mod partition;
pub mod stream;
mod subnet;

pub use bandwidth::{Bandwidth, MAX_INTERVALS};
pub use latency::{Jitter, LatencyModel, DEFAULT_TAIL, TAIL_MAX};
pub use loss::{GilbertScope, LossModel, PPM};
pub use partition::{Window, WindowEffect};
pub use subnet::{LinkId, Path, PathLinks, Subnet, SubnetError, Subnets, Wan};

use bandwidth::Links;
use latency::Latency;
use loss::Loss;
use partition::{Partition, Windows};
use peerlab_engine::{Duration, Instant, NodeRng};
use rand::SeedableRng;
use subnet::SubnetNet;

/// IPv6 (40) + UDP (8) header bytes added to every datagram for MTU and bandwidth.
pub const IPV6_UDP_HEADER_BYTES: u32 = 48;

/// A network's configuration (the lead maps scenario values onto it).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct NetConfig {
    /// One-way latency model.
    pub latency: LatencyModel,
    /// Jitter on each message's latency.
    pub jitter: Jitter,
    /// Loss model.
    pub loss: LossModel,
    /// Default access-link rates of every node (0 = unlimited).
    pub bandwidth: Bandwidth,
    /// Bytes one link may hold (in service plus waiting) before it drops (0 = unlimited); an idle
    /// link always accepts one message, however large.
    pub queue_limit_bytes: u64,
    /// Largest datagram, headers included (`None` = unlimited).
    pub mtu_bytes: Option<u32>,
    /// Header bytes added to each message's length on the wire.
    pub header_bytes: u32,
    /// Node classes with their own latency model or access link (`[[peers]]` groups' keys).
    pub classes: Vec<NodeClass>,
    /// Class of each node: 0 = none (the network's values), `k` = `classes[k - 1]`; nodes past
    /// the end have none.
    pub node_class: Vec<u16>,
}

/// A class of nodes (a `[[peers]]` group) with its own latency model or access link.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct NodeClass {
    /// Latency model of messages a member sends, and of those it receives from a node without
    /// one (peerlab choice): sender's model, else receiver's, else the network's (scenarios/README.md).
    pub latency: Option<LatencyModel>,
    /// A member's access-link rates and queue limit in bytes, instead of the network's.
    pub link: Option<(Bandwidth, u64)>,
}

impl NodeClass {
    /// A class with this latency model and link (either may be `None`).
    pub fn new(latency: Option<LatencyModel>, link: Option<(Bandwidth, u64)>) -> Self {
        NodeClass { latency, link }
    }
}

impl Default for NetConfig {
    /// 50 ms constant latency, no jitter or loss, unlimited bandwidth, no MTU, IPv6/UDP headers.
    fn default() -> Self {
        NetConfig {
            latency: LatencyModel::Constant(Duration::from_millis(50)),
            jitter: Jitter::None,
            loss: LossModel::None,
            bandwidth: Bandwidth::default(),
            queue_limit_bytes: 0,
            mtu_bytes: None,
            header_bytes: IPV6_UDP_HEADER_BYTES,
            classes: Vec::new(),
            node_class: Vec::new(),
        }
    }
}

impl NetConfig {
    /// A default configuration with the given latency model.
    pub fn with_latency(latency: LatencyModel) -> Self {
        NetConfig {
            latency,
            ..NetConfig::default()
        }
    }
}

/// Why a configuration was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetConfigError {
    /// A latency model's parameters are impossible.
    #[error("latency: {0}")]
    Latency(String),
    /// A ratio above 100% (1,000,000 ppm).
    #[error("a loss ratio exceeds 100%")]
    LossOver100,
    /// An MTU that cannot even carry the headers.
    #[error("mtu {mtu} is not larger than the {header} header bytes")]
    MtuTooSmall {
        /// The MTU.
        mtu: u32,
        /// The header size.
        header: u32,
    },
}

/// Why a message was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DropReason {
    /// Lost on the wire (loss model or a loss window).
    Loss,
    /// Sender and receiver are on opposite sides of a partition.
    Partition,
    /// The sender's uplink or the receiver's downlink queue was full.
    QueueFull,
    /// The datagram exceeds the MTU.
    Mtu,
    /// Sender or receiver is down (crashed, or not a node of this network).
    Down,
}

impl DropReason {
    /// Every reason, in `NetStats::dropped` index order.
    pub const ALL: [DropReason; 5] = [
        DropReason::Loss,
        DropReason::Partition,
        DropReason::QueueFull,
        DropReason::Mtu,
        DropReason::Down,
    ];

    /// A short lowercase name for records.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Loss => "loss",
            DropReason::Partition => "partition",
            DropReason::QueueFull => "queue_full",
            DropReason::Mtu => "mtu",
            DropReason::Down => "down",
        }
    }
}

/// The fate of one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Delivered to the receiver at this instant.
    At(Instant),
    /// Dropped.
    Dropped(DropReason),
}

/// Message counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NetStats {
    /// Messages handed to `send`.
    pub sent: u64,
    /// Messages given a delivery time.
    pub delivered: u64,
    /// Wire bytes (headers included) of delivered messages.
    pub delivered_bytes: u64,
    /// Drops per reason, indexed as [`DropReason::ALL`].
    pub dropped: [u64; 5],
}

impl NetStats {
    /// Drops for one reason.
    pub fn dropped(&self, r: DropReason) -> u64 {
        self.dropped[r as usize]
    }
}

/// The network between `n` nodes.
pub struct NetModel {
    cfg: NetConfig,
    rng: NodeRng,
    latency: Latency,
    /// Per class (index `k - 1`), its own latency model, resolved.
    class_latency: Vec<Option<Latency>>,
    /// `NetConfig::node_class`, grown to every node.
    node_class: Vec<u16>,
    extra_us: Vec<u64>,
    loss: Loss,
    links: Links,
    down: Vec<bool>,
    /// Hosts down for stream segments only (`set_host_down`); empty until first set.
    host_down: Vec<bool>,
    partition: Partition,
    windows: Windows,
    stats: NetStats,
    /// Subnets and their WAN queues (`None`: every node on the open Internet).
    subnets: Option<Box<SubnetNet>>,
}

impl NetModel {
    /// A network of `n_nodes` nodes, all up, no partition.
    pub fn new(cfg: NetConfig, n_nodes: u32, seed: [u8; 32]) -> Result<Self, NetConfigError> {
        if !cfg.loss.is_valid() {
            return Err(NetConfigError::LossOver100);
        }
        if let Some(mtu) = cfg.mtu_bytes.filter(|m| *m <= cfg.header_bytes) {
            return Err(NetConfigError::MtuTooSmall {
                mtu,
                header: cfg.header_bytes,
            });
        }
        if let Some((node, k)) = cfg
            .node_class
            .iter()
            .enumerate()
            .find(|(_, k)| **k as usize > cfg.classes.len())
        {
            return Err(NetConfigError::Latency(format!(
                "node {node} is in class {k}, but there are {} classes",
                cfg.classes.len()
            )));
        }
        let mut rng = NodeRng::from_seed(seed);
        rng.set_stream(0);
        // A class's internet model uses the network's seed: a node keeps its place on the map
        // whichever model measures it; only the calibration (median, tail) differs.
        let class_latency = cfg
            .classes
            .iter()
            .map(|c| {
                c.latency
                    .as_ref()
                    .map(|m| Latency::new(m, n_nodes, seed))
                    .transpose()
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut net = NetModel {
            latency: Latency::new(&cfg.latency, n_nodes, seed)?,
            class_latency,
            node_class: Vec::new(),
            extra_us: vec![0; n_nodes as usize],
            loss: Loss::new(cfg.loss, n_nodes),
            links: Links::new(cfg.bandwidth, cfg.queue_limit_bytes, n_nodes),
            down: vec![false; n_nodes as usize],
            host_down: Vec::new(),
            partition: Partition::default(),
            windows: Windows::default(),
            stats: NetStats::default(),
            subnets: None,
            rng,
            cfg,
        };
        if net.cfg.classes.iter().any(|c| c.latency.is_some()) {
            net.node_class = net.cfg.node_class.clone();
            net.node_class
                .resize(n_nodes.max(net.node_class.len() as u32) as usize, 0);
        }
        net.apply_class_links(0);
        Ok(net)
    }

    /// Gives nodes from `first` on their class's access link.
    fn apply_class_links(&mut self, first: u32) {
        let n = self.n_nodes();
        for (node, &k) in self.cfg.node_class.iter().enumerate().skip(first as usize) {
            if node as u32 >= n {
                break;
            }
            if let Some((rates, queue)) = k.checked_sub(1).and_then(|k| self.cfg.classes[k as usize].link) {
                self.links.set_rates(node as u32, rates);
                self.links.set_queue_limit(node as u32, queue);
            }
        }
    }

    /// Number of nodes.
    pub fn n_nodes(&self) -> u32 {
        self.down.len() as u32
    }

    /// Grows the network to `n` nodes (no-op if it has as many); existing nodes keep their state.
    /// Fails for a latency matrix that does not assign a group to the new nodes.
    pub fn ensure_nodes(&mut self, n: u32) -> Result<(), NetConfigError> {
        if n <= self.n_nodes() {
            return Ok(());
        }
        let old = self.n_nodes();
        self.latency.ensure_nodes(n)?;
        for l in self.class_latency.iter_mut().flatten() {
            l.ensure_nodes(n)?;
        }
        if !self.node_class.is_empty() {
            self.node_class.resize(n as usize, 0);
        }
        self.loss.ensure_nodes(n);
        self.links.ensure_nodes(n);
        self.extra_us.resize(n as usize, 0);
        self.down.resize(n as usize, false);
        self.apply_class_links(old);
        Ok(())
    }

    /// The configuration this network was built from.
    pub fn config(&self) -> &NetConfig {
        &self.cfg
    }

    /// Message counters so far.
    pub fn stats(&self) -> &NetStats {
        &self.stats
    }

    /// Approximate heap bytes of the model's state (per-node vectors dominate), for memory reports.
    pub fn heap_bytes(&self) -> usize {
        self.latency.heap_bytes()
            + self
                .class_latency
                .iter()
                .flatten()
                .map(Latency::heap_bytes)
                .sum::<usize>()
            + self.node_class.capacity() * 2
            + self.loss.heap_bytes()
            + self.links.heap_bytes()
            + self.extra_us.capacity() * 8
            + self.down.capacity()
            + self.host_down.capacity()
            + self.subnets.as_ref().map_or(0, |s| s.heap_bytes())
    }

    /// Adds `extra` to the latency of every message from or to `node` (a slow last mile).
    pub fn set_node_latency_extra(&mut self, node: u32, extra: Duration) {
        if let Some(x) = self.extra_us.get_mut(node as usize) {
            *x = extra.as_micros();
        }
    }

    /// Overrides `node`'s access-link rates.
    pub fn set_node_bandwidth(&mut self, node: u32, b: Bandwidth) {
        if node < self.n_nodes() {
            self.links.set_rates(node, b);
        }
    }

    /// Marks `node` crashed (`true`) or back up (`false`); a down node sends and receives nothing.
    pub fn set_down(&mut self, node: u32, down: bool) {
        if let Some(d) = self.down.get_mut(node as usize) {
            *d = down;
        }
    }

    /// Whether `node` is down (unknown nodes count as down).
    pub fn is_down(&self, node: u32) -> bool {
        self.down.get(node as usize).copied().unwrap_or(true)
    }

    /// Marks `node`'s host down (`true`) or up for stream segments only, leaving datagrams alone:
    /// the generic world drops a datagram to a peer that is offline when it arrives (counted
    /// `host_down`), not when it is sent, so its datagrams must not see this flag, while the
    /// stream model needs to know whether a host answers a segment (`stream` module docs).
    pub fn set_host_down(&mut self, node: u32, down: bool) {
        if self.host_down.len() <= node as usize {
            if !down {
                return;
            }
            self.host_down
                .resize(self.n_nodes().max(node + 1) as usize, false);
        }
        self.host_down[node as usize] = down;
    }

    /// Whether no host answers segments sent to `node`: it is down (`set_down`), or its host is
    /// (`set_host_down`).
    pub fn host_is_down(&self, node: u32) -> bool {
        self.is_down(node) || self.host_down.get(node as usize).copied().unwrap_or(false)
    }

    /// Partitions the network: `assign[node]` is its group (nodes past the end: group 0). With
    /// `one_way = Some((a, b))` only messages from group `a` to group `b` are cut; otherwise all
    /// messages between different groups. Replaces any current partition.
    pub fn partition(&mut self, assign: Vec<u16>, one_way: Option<(u16, u16)>) {
        self.partition.set(assign, one_way);
    }

    /// Removes the partition.
    pub fn heal(&mut self) {
        self.partition.heal();
    }

    /// Adds a window of extra loss or latency.
    pub fn add_window(&mut self, w: Window) {
        self.windows.add(w);
    }

    /// Decides the fate of a `bytes`-long message from `from` to `to` sent at `now` (module docs).
    /// Calls must come in non-decreasing `now`.
    /// Starts loading the per-node state `send` reads for a datagram to `to` (latency point,
    /// extra delay, link rates); a cache hint only, with no effect on any result.
    #[inline]
    pub(crate) fn prefetch_receiver(&self, to: u32) {
        let i = to as usize;
        self.latency.prefetch(i);
        if let Some(x) = self.extra_us.get(i) {
            crate::hint::prefetch(x);
        }
        self.links.prefetch(i);
    }

    pub fn send(&mut self, now: Instant, from: u32, to: u32, bytes: u32) -> Delivery {
        self.stats.sent += 1;
        let d = self.route(now, from, to, bytes);
        match d {
            Delivery::At(_) => {
                self.stats.delivered += 1;
                self.stats.delivered_bytes += bytes as u64 + self.cfg.header_bytes as u64;
            }
            Delivery::Dropped(r) => self.stats.dropped[r as usize] += 1,
        }
        d
    }

    fn route(&mut self, now: Instant, from: u32, to: u32, bytes: u32) -> Delivery {
        use Delivery::{At, Dropped};
        if self.is_down(from) || self.is_down(to) {
            return Dropped(DropReason::Down);
        }
        let wire = bytes as u64 + self.cfg.header_bytes as u64;
        if self.cfg.mtu_bytes.is_some_and(|mtu| wire > mtu as u64) {
            return Dropped(DropReason::Mtu);
        }
        if from == to {
            return At(now);
        }
        if self.partition.blocks(from, to) {
            return Dropped(DropReason::Partition);
        }
        let now_ns = now.as_micros().saturating_mul(1_000);
        let Ok(sent_ns) = self.links.uplink(from, now_ns, wire) else {
            return Dropped(DropReason::QueueFull);
        };
        let Some(lat_us) = self.lose_or_delay(now, from, to) else {
            return Dropped(DropReason::Loss);
        };
        let reach_ns = match self.subnets.as_deref_mut() {
            None => sent_ns.saturating_add(lat_us.saturating_mul(1_000)),
            Some(s) => match s.reach_ns(now_ns, from, to, sent_ns, lat_us, wire) {
                Ok(r) => r,
                Err(_) => return Dropped(DropReason::QueueFull),
            },
        };
        match self.links.downlink(to, now_ns, reach_ns, wire) {
            // Round up: a message is never delivered before its last bit could arrive.
            Ok(done_ns) => At(Instant::from_micros(done_ns.div_ceil(1_000))),
            Err(_) => Dropped(DropReason::QueueFull),
        }
    }
}

impl NetModel {
    /// Stages 5 and 6 of a message (module docs): `None` if it is lost, else its one-way latency
    /// in µs (jitter included). Draws in this order: loss, base latency, windows, jitter.
    #[inline(always)]
    fn lose_or_delay(&mut self, now: Instant, from: u32, to: u32) -> Option<u64> {
        let mut lost = self.loss.lost(from, to, &mut self.rng);
        let model = if self.node_class.is_empty() {
            &self.latency
        } else {
            class_model(&self.latency, &self.class_latency, &self.node_class, from, to)
        };
        let rng = &mut self.rng;
        let base = match self.subnets.as_deref() {
            None => model.base_us(from, to, rng),
            Some(s) => s.base_us(from, to, || model.base_us(from, to, rng)),
        };
        let mut lat_us = base + self.extra_us[from as usize] + self.extra_us[to as usize];
        if !self.windows.is_empty() {
            self.windows.prune(now);
            let (w_lost, w_extra) = self.windows.apply(now, from, to, &mut self.rng);
            lost |= w_lost;
            lat_us = lat_us.saturating_add(w_extra);
        }
        if lost {
            return None;
        }
        Some(latency::jittered_us(self.cfg.jitter, lat_us, &mut self.rng))
    }

    /// The fate of one TCP segment from `from` to `to` sent at `now`: the datagram stages 1, 3, 5
    /// and 6 (down, partition, loss, latency) without MTU or link queues, which the stream model
    /// handles itself (`stream` module docs). Loopback arrives at once.
    pub fn segment(&mut self, now: Instant, from: u32, to: u32) -> Delivery {
        use Delivery::{At, Dropped};
        if self.host_is_down(from) || self.host_is_down(to) {
            return Dropped(DropReason::Down);
        }
        if from == to {
            return At(now);
        }
        if self.partition.blocks(from, to) {
            return Dropped(DropReason::Partition);
        }
        match self.lose_or_delay(now, from, to) {
            None => Dropped(DropReason::Loss),
            Some(us) => At(now + Duration::from_micros(us)),
        }
    }

    /// A node's access-link rates.
    pub fn node_bandwidth(&self, node: u32) -> Bandwidth {
        self.links.rates(node)
    }

    /// Attaches subnets: from now on paths, latencies and WAN queues follow them (`subnet`
    /// module docs). Without this call the network has no subnets and `send` is unchanged.
    pub fn set_subnets(&mut self, subnets: Subnets) {
        self.subnets = Some(Box::new(SubnetNet::new(subnets)));
    }

    /// The links a message from `from` to `to` crosses: the access links, and the WAN links of
    /// the subnets it leaves and enters.
    pub fn path_links(&self, from: u32, to: u32) -> PathLinks {
        match self.subnets() {
            Some(s) => s.links(from, to),
            None => Subnets::default().links(from, to),
        }
    }

    /// The attached subnets, if any.
    pub fn subnets(&self) -> Option<&Subnets> {
        self.subnets.as_deref().map(|s| &s.subnets)
    }
}

/// The latency model of a message from `from` to `to`: the sender's class model, else the
/// receiver's, else the network's (see [`NodeClass::latency`]).
#[inline]
fn class_model<'a>(
    network: &'a Latency,
    classes: &'a [Option<Latency>],
    node_class: &[u16],
    from: u32,
    to: u32,
) -> &'a Latency {
    let of = |node: u32| {
        let k = node_class[node as usize];
        k.checked_sub(1).and_then(|k| classes[k as usize].as_ref())
    };
    of(from).or_else(|| of(to)).unwrap_or(network)
}

#[cfg(test)]
mod tests;
