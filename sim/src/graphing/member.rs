//! A graph member as the world runs it: the real `GraphNode`, and for an attacker the harness
//! around it that acts on its stream traffic (docs/architecture.md §7 habit 6: faults live in the
//! harness; the defences under test are the honest engines' rules).
//!
//! - **swallow-floods**: the member stores and ACKs what it receives, but every FLOOD it would send
//!   of a record it did not write itself (re-floods, repairs, sync answers) is dropped.
//! - **stale-versions**: the member keeps the first copy it received of each record; whenever a
//!   newer version arrives, it floods the kept copy to every link records have crossed. Honest
//!   receivers must classify it old and send their newer copy back (MS-PPGRH §3.1.7.10, §3.1.7.32).

use crate::scenario::GraphBehaviour;
use peerlab_engine::graphing::{GraphCommand, GraphEvent, GraphNode, Guid, Message, PeerRecord};
use peerlab_engine::{ConnId, Endpoint, Instant, Node, RequestId, StreamCommand, StreamEvent, Transmit};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Most records a stale-versions attacker keeps an old copy of (a bound on its memory).
pub const KEPT_COPIES_MAX: usize = 4_096;

/// An attacker's state.
#[derive(Debug)]
struct Attack {
    behaviour: GraphBehaviour,
    active: bool,
    /// Connections a FLOOD has crossed: CONNECTED neighbor links.
    links: BTreeSet<ConnId>,
    /// First copy received of each record (stale-versions), and the newest version already
    /// answered with it: each newer version draws the stale copy once, not in a loop with the
    /// repairs it provokes.
    kept: BTreeMap<Guid, (PeerRecord, u32)>,
    /// FLOODs to send before the engine's own output.
    inject: VecDeque<StreamCommand<Message>>,
    /// FLOODs dropped (swallow-floods) or stale copies sent (stale-versions).
    acts: u64,
}

/// One member's engine with, for an attacker, its misbehaviour.
pub struct Member {
    node: GraphNode,
    attack: Option<Attack>,
}

impl Member {
    /// An honest member.
    pub fn honest(node: GraphNode) -> Self {
        Member { node, attack: None }
    }

    /// A member that will misbehave as `behaviour` once [`Member::start_attack`] is called.
    pub fn attacker(node: GraphNode, behaviour: GraphBehaviour) -> Self {
        let attack = Attack {
            behaviour,
            active: false,
            links: BTreeSet::new(),
            kept: BTreeMap::new(),
            inject: VecDeque::new(),
            acts: 0,
        };
        Member {
            node,
            attack: Some(attack),
        }
    }

    /// The graph engine.
    pub fn node(&self) -> &GraphNode {
        &self.node
    }

    /// An attacker starts misbehaving (no effect on an honest member).
    pub fn start_attack(&mut self) {
        if let Some(a) = self.attack.as_mut() {
            a.active = true;
        }
    }

    /// FLOODs an attacker dropped or stale copies it sent so far.
    pub fn attack_acts(&self) -> u64 {
        self.attack.as_ref().map_or(0, |a| a.acts)
    }

    /// Whether `r` was written by this member (its own publication or update).
    fn own(&self, r: &PeerRecord) -> bool {
        let me = &self.node.config().peer_id;
        if r.modified_by.is_empty() {
            r.creator == *me
        } else {
            r.modified_by == *me
        }
    }

    fn observe(&mut self, event: &StreamEvent<Message>) {
        let Some(a) = self.attack.as_mut() else { return };
        match event {
            StreamEvent::Received {
                conn,
                msg: Message::Flood(r),
            } => {
                a.links.insert(*conn);
                if a.behaviour != GraphBehaviour::StaleVersions {
                    return;
                }
                let full = a.kept.len() >= KEPT_COPIES_MAX;
                match a.kept.get_mut(&r.id) {
                    Some((old, answered)) if a.active && *answered < r.version => {
                        *answered = r.version;
                        for &link in &a.links {
                            a.inject.push_back(StreamCommand::Send {
                                conn: link,
                                msg: Message::Flood(Box::new(old.clone())),
                            });
                            a.acts += 1;
                        }
                    }
                    Some(_) => {}
                    None if !full => {
                        a.kept.insert(r.id, ((**r).clone(), r.version));
                    }
                    None => {}
                }
            }
            StreamEvent::Closed { conn }
            | StreamEvent::Reset { conn }
            | StreamEvent::ConnectFailed { conn, .. } => {
                a.links.remove(conn);
            }
            _ => {}
        }
    }
}

impl Node for Member {
    type Message = Message;
    type Command = GraphCommand;
    type Event = GraphEvent;

    fn handle_message(&mut self, now: Instant, from: Endpoint, msg: Message) {
        self.node.handle_message(now, from, msg);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.node.handle_timeout(now);
    }

    fn handle_command(&mut self, now: Instant, cmd: GraphCommand) -> RequestId {
        self.node.handle_command(now, cmd)
    }

    fn poll_transmit(&mut self) -> Option<Transmit<Message>> {
        self.node.poll_transmit()
    }

    fn poll_event(&mut self) -> Option<GraphEvent> {
        self.node.poll_event()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.node.poll_timeout()
    }

    fn handle_stream(&mut self, now: Instant, event: StreamEvent<Message>) {
        self.observe(&event);
        self.node.handle_stream(now, event);
    }

    fn poll_stream(&mut self) -> Option<StreamCommand<Message>> {
        if let Some(cmd) = self.attack.as_mut().and_then(|a| a.inject.pop_front()) {
            return Some(cmd);
        }
        loop {
            let cmd = self.node.poll_stream()?;
            let swallow = match (&self.attack, &cmd) {
                (
                    Some(a),
                    StreamCommand::Send {
                        msg: Message::Flood(r),
                        ..
                    },
                ) if a.active && a.behaviour == GraphBehaviour::SwallowFloods => !self.own(r),
                _ => false,
            };
            if !swallow {
                return Some(cmd);
            }
            if let Some(a) = self.attack.as_mut() {
                a.acts += 1;
            }
        }
    }

    fn listens(&self, port: u16) -> bool {
        self.node.listens(port)
    }
}
