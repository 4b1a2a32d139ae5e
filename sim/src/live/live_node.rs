//! What the live driver needs of an engine beyond the [`Node`] seam: its wire codec, which
//! events complete which commands, its status snapshot, and how it leaves. PNRP's implementation
//! is here; a protocol that runs live adds its own.

use super::driver::DriverStats;
use peerlab_engine::pnrp::{self, PnrpId, PnrpNode};
use peerlab_engine::stack::Completes;
use peerlab_engine::{Instant, Node, RequestId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An engine the live driver can run on real (or turmoil's) sockets.
/// Its events say which command they complete ([`Completes`]).
pub trait LiveNode: Node<Command: std::fmt::Debug, Event: std::fmt::Debug + Completes> {
    /// What the driver remembers beside the node (for status snapshots).
    type Notes: Default;
    /// A snapshot for `peerlab status`.
    type Status: std::fmt::Debug;

    /// Appends the message's bytes on the wire (a datagram, or one frame of a stream).
    fn encode(msg: &Self::Message, out: &mut Vec<u8>);
    /// Decodes one datagram; malformed input is an error, never a panic.
    fn decode(bytes: &[u8]) -> Result<Self::Message, String>;
    /// Decodes the first whole frame of a stream's bytes: `Ok(Some((msg, used)))`, `Ok(None)`
    /// when more bytes are needed, `Err` when the bytes can never be a frame (the driver then
    /// resets the connection). Protocols without streams keep the default.
    fn decode_frame(_bytes: &[u8]) -> Result<Option<(Self::Message, usize)>, String> {
        Err("this protocol carries no stream traffic".into())
    }
    /// Local ports the node accepts stream connections on (the driver listens on each).
    fn stream_ports(&self) -> Vec<u16> {
        Vec::new()
    }
    /// Runs `cmd`, noting what a status snapshot will need.
    fn noted_command(&mut self, now: Instant, cmd: Self::Command, notes: &mut Self::Notes) -> RequestId {
        let _ = notes;
        self.handle_command(now, cmd)
    }
    /// Notes what `event` tells (before it goes to whoever waits for it).
    fn note_event(_event: &Self::Event, _notes: &mut Self::Notes) {}
    /// A snapshot of the node.
    fn status(&self, notes: &Self::Notes, now: Instant, driver: DriverStats) -> Self::Status;
    /// The command that leaves the network gracefully at shutdown, if the protocol has one.
    fn leave_command() -> Option<Self::Command>;
}

/// One registered ID, for `peerlab status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationStatus {
    /// The peer name, `authority.classifier`.
    pub name: String,
    /// The PNRP ID, hex.
    pub id: String,
    /// Leaf-set members below the ID, nearest first.
    pub leaf_below: Vec<String>,
    /// Leaf-set members above the ID, nearest first.
    pub leaf_above: Vec<String>,
}

/// A snapshot of a live PNRP node, for `peerlab status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// The node's endpoint as the engine sees it.
    pub local: String,
    /// Engine time, microseconds since the driver started.
    pub now_us: u64,
    /// Cache entries per level.
    pub cache_levels: Vec<usize>,
    /// Every cached PNRP ID, hex.
    pub cache_ids: Vec<String>,
    /// Registered IDs with their names and leaf sets.
    pub registrations: Vec<RegistrationStatus>,
    /// Datagram counters.
    pub driver: DriverStats,
}

/// The names a live PNRP node's registrations were made under.
#[derive(Default, Debug)]
pub struct PnrpNotes {
    /// Register commands whose walk has not ended, with the name they register.
    register_names: BTreeMap<RequestId, String>,
    /// Every registered ID's name.
    names: BTreeMap<PnrpId, String>,
}

impl LiveNode for PnrpNode {
    type Notes = PnrpNotes;
    type Status = NodeStatus;

    fn encode(msg: &pnrp::Message, out: &mut Vec<u8>) {
        pnrp::wire::encode(msg, out);
    }

    fn decode(bytes: &[u8]) -> Result<pnrp::Message, String> {
        // MS-PNRP §3.1.5.2: input from the network never panics; the driver counts what fails.
        pnrp::wire::decode(bytes).map_err(|e| e.to_string())
    }

    fn noted_command(&mut self, now: Instant, cmd: pnrp::Command, notes: &mut PnrpNotes) -> RequestId {
        let label = match &cmd {
            pnrp::Command::Register { name, .. } => Some(name.to_string()),
            _ => None,
        };
        let before: Vec<PnrpId> = if label.is_some() {
            self.registered_ids().collect()
        } else {
            Vec::new()
        };
        let request = self.handle_command(now, cmd);
        if let Some(label) = label {
            // The ID exists as soon as the command is taken (MS-PNRP §3.2.4.1), long before its
            // registration walk ends; name it at once so `status` shows it meanwhile.
            for id in self.registered_ids().filter(|id| !before.contains(id)) {
                notes.names.insert(id, label.clone());
            }
            notes.register_names.insert(request, label);
        }
        request
    }

    fn note_event(event: &pnrp::Event, notes: &mut PnrpNotes) {
        match event {
            pnrp::Event::Registered { request, id, .. } => {
                if let Some(name) = notes.register_names.remove(request) {
                    notes.names.insert(*id, name);
                }
            }
            pnrp::Event::RegisterFailed { request, .. } => {
                notes.register_names.remove(request);
            }
            pnrp::Event::Unregistered { id, .. } => {
                notes.names.remove(id);
            }
            pnrp::Event::Resolved { .. } | pnrp::Event::SplitDetected { .. } => {}
        }
    }

    fn status(&self, notes: &PnrpNotes, now: Instant, driver: DriverStats) -> NodeStatus {
        let hex = |v: &[PnrpId]| v.iter().map(|x| x.to_string()).collect();
        let registrations = self
            .registered_ids()
            .map(|id| {
                let leaf = self.leaf_set(id);
                RegistrationStatus {
                    name: notes.names.get(&id).cloned().unwrap_or_default(),
                    id: id.to_string(),
                    leaf_below: leaf.as_ref().map(|l| hex(&l.below)).unwrap_or_default(),
                    leaf_above: leaf.as_ref().map(|l| hex(&l.above)).unwrap_or_default(),
                }
            })
            .collect();
        NodeStatus {
            local: self.local_endpoint().to_string(),
            now_us: now.as_micros(),
            cache_levels: self.cache_level_sizes(),
            cache_ids: self.cache_ids().map(|id| id.to_string()).collect(),
            registrations,
            driver,
        }
    }

    fn leave_command() -> Option<pnrp::Command> {
        // MS-PNRP §3.2.4.2: leaving revokes every registration with flooded revoke CPAs.
        Some(pnrp::Command::Leave)
    }
}
