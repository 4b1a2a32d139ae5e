//! The plug-in seam: what a protocol implements to run in the generic world (docs/architecture.md
//! §3b). The world is generic over it (`World<P: Protocol>`), so every hook is a direct,
//! inlinable call on the per-event path: no `dyn`.
//!
//! Hooks receive the world's core (`&mut Core<Self>`) beside `&mut self` (the protocol's own
//! world-level state: oracle, pending operations, attack state, metrics), so they can send,
//! schedule, record and read peers.

use super::{CheckVerdict, Core};
use crate::plan::Plan;
use peerlab_engine::{Endpoint, Node};
use std::collections::BTreeMap;

/// One peer as the protocol describes it at set-up, in peer index order.
pub struct PeerSpec<D> {
    /// The churn group the peer belongs to (`Plan::groups`); `None` for a peer outside every
    /// group (an attacker): no churn, no faults, never picked as a workload source.
    pub group: Option<usize>,
    /// Joins at time zero and stays up: churn and crash or address-change faults leave it alone
    /// (a seed server, the cloud's fixed entry point).
    pub fixed: bool,
    /// The protocol's own per-peer data.
    pub data: D,
}

/// A protocol's state at set-up and its peers' specs, in peer index order.
pub type Setup<P> = (P, Vec<PeerSpec<<P as Protocol>::PeerData>>);

/// A protocol that plugs into the generic world.
pub trait Protocol: Sized {
    /// The engine each online peer runs (any `Node`: one protocol's engine or a layered stack).
    type Node: Node<Message = Self::Message>;
    /// The datagram type. It rides inline in every queued delivery: keep it small (box payloads)
    /// so the world's event stays within 32 bytes. Cloned once per receiver of a multicast.
    type Message: Clone + 'static;
    /// What the protocol keeps per peer besides the engine; survives restarts.
    type PeerData;
    /// Events the protocol schedules itself (`Core::schedule_ext`).
    type Ext: std::fmt::Debug;

    /// The protocol's world-level state and its peers' data, in peer index order (`total_peers`).
    fn new(plan: &Plan) -> Result<Setup<Self>, String>;

    /// Names of the message kinds, indexed by [`Protocol::message_kind`] (traffic counters).
    fn message_kinds() -> Vec<&'static str>;
    /// The kind index of `msg`, below `message_kinds().len()`.
    fn message_kind(msg: &Self::Message) -> usize;
    /// Encoded length of `msg` in bytes (what the network model carries).
    fn encoded_len(msg: &Self::Message) -> usize;
    /// What a delivery adds to the fingerprint besides time and destination (kind and id).
    fn fold_message(msg: &Self::Message) -> u64;
    /// (event code, peer, extra) of a protocol event for the fingerprint; codes from 11 up (the
    /// world's own events use 1 to 10).
    fn fold_ext(ext: &Self::Ext) -> (u64, u64, u64);
    /// Wire-bytes mode: `msg` through the real codec and back; `Err` names what failed.
    fn wire_round_trip(msg: Self::Message, buf: &mut Vec<u8>) -> Result<Self::Message, String>;
    /// Warms the heap payload of a datagram about to be delivered (a hint: behaviour unchanged).
    fn prefetch_message(_msg: &Self::Message) {}
    /// Warms the engine's hot heap state before its next input (a hint: behaviour unchanged).
    fn prefetch_node(_node: &Self::Node) {}

    /// Schedules what the protocol starts with (after the groups' joins, before the faults):
    /// joins of peers outside groups, workloads (`Ev::Workload`), its own phases.
    fn schedule_initial(&mut self, core: &mut Core<Self>);
    /// A fresh engine for `peer` coming online at `ep`, seeded with `rng_seed`.
    fn build_node(
        &mut self,
        core: &Core<Self>,
        peer: u32,
        ep: Endpoint,
        rng_seed: [u8; 32],
    ) -> Box<Self::Node>;
    /// `peer` came online and its engine was drained: register names, start attacks.
    fn joined(&mut self, core: &mut Core<Self>, peer: u32);
    /// `peer` is about to go offline (its engine is still there); `graceful` = a clean leave.
    fn going_offline(&mut self, core: &mut Core<Self>, peer: u32, graceful: bool);
    /// `peer` went offline; `node` is its engine (`None` when it was offline already).
    fn gone_offline(&mut self, core: &mut Core<Self>, peer: u32, node: Option<Box<Self::Node>>);
    /// `peer` moved to address `ep` (its old address went dark).
    fn address_changed(&mut self, core: &mut Core<Self>, peer: u32, ep: Endpoint);
    /// One event the engine of `peer` reported during a drain.
    fn on_event(&mut self, core: &mut Core<Self>, peer: u32, event: <Self::Node as Node>::Event);
    /// Lets a misbehaving `to` act on a datagram before its engine sees it; true = consumed.
    fn intercept(&mut self, core: &mut Core<Self>, to: u32, from: Endpoint, msg: &Self::Message) -> bool;
    /// Safety checks on `peer`'s engine after an input (every input on small clouds).
    fn check_peer(&mut self, core: &mut Core<Self>, peer: u32);
    /// Workload `index` ticks (scheduled by the protocol as `Ev::Workload`).
    fn workload(&mut self, core: &mut Core<Self>, index: u16);
    /// One of the protocol's own events is due.
    fn on_ext(&mut self, core: &mut Core<Self>, ext: Self::Ext);
    /// The periodic sample: record what the protocol measures.
    fn sample(&mut self, core: &mut Core<Self>);
    /// The run ended: close open work, take the last sample, return the check verdicts and the
    /// headline metrics (the world adds its traffic figures, `net.*`).
    fn finish(&mut self, core: &mut Core<Self>) -> (Vec<CheckVerdict>, BTreeMap<String, f64>);
}
