//! The one live driver (docs/architecture.md §4 "Live drivers"): runs a [`PnrpNode`] over any
//! [`DatagramSocket`], real (tokio) or simulated (turmoil).
//!
//! One task, one biased `select!` over three inputs, in priority order: application inputs
//! (commands, status queries, shutdown), the engine's next deadline (`sleep_until(poll_timeout)`),
//! and the socket. After every input the driver applies the drain rule (docs/architecture.md §3): every
//! transmit is encoded with the MS-PNRP codec (`wire::encode`) and sent, every event is handed to
//! whoever asked for it, and only then is the next input taken.

use super::socket::{endpoint_of, socket_addr_of, DatagramSocket};
use peerlab_engine::pnrp::{self, PnrpId, PnrpNode};
use peerlab_engine::{Duration, Instant, Node, RequestId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tokio::sync::{mpsc, oneshot};

/// Largest datagram the driver receives (the UDP maximum; PNRP messages are far smaller, MS-PNRP §2.2.2).
pub const RECV_BUFFER_BYTES: usize = 65_535;
/// Inputs queued for the driver before senders wait (bound everything, docs/architecture.md §7 habit 7).
pub const INPUT_QUEUE_MAX: usize = 256;

/// Maps tokio's clock onto engine time: engine time = `epoch` + time elapsed on tokio's clock
/// since the driver started. Under turmoil tokio's clock is paused and advanced by the
/// simulation, so the mapping is deterministic there.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    tokio_epoch: tokio::time::Instant,
    engine_epoch: Instant,
}

impl Clock {
    /// A clock whose engine time reads `engine_epoch` now.
    pub fn start(engine_epoch: Instant) -> Self {
        Clock {
            tokio_epoch: tokio_now(),
            engine_epoch,
        }
    }

    /// The current engine time.
    pub fn now(&self) -> Instant {
        let elapsed = tokio_now().saturating_duration_since(self.tokio_epoch);
        self.engine_epoch + Duration::from_micros(elapsed.as_micros() as u64)
    }

    /// The tokio instant at which engine time reaches `t` (never before the epoch).
    pub fn tokio_at(&self, t: Instant) -> tokio::time::Instant {
        let since = t.saturating_since(self.engine_epoch);
        self.tokio_epoch + std::time::Duration::from_micros(since.as_micros())
    }
}

/// The one place the live path reads a clock.
// docs/architecture.md §3: the engine never reads a clock; the live driver is where real (or turmoil's
// simulated) time enters, so reading tokio's clock here is the point.
#[allow(clippy::disallowed_methods)]
fn tokio_now() -> tokio::time::Instant {
    tokio::time::Instant::now()
}

/// A command's completion, tagged by the caller (for callers that collect many at once).
#[derive(Debug)]
pub struct Completion {
    /// The caller's tag.
    pub tag: u64,
    /// The engine event that completed the command.
    pub event: pnrp::Event,
}

/// Where a command's completion event goes.
#[derive(Debug)]
pub enum Reply {
    /// Nowhere (fire and forget).
    None,
    /// To one waiting caller.
    Once(oneshot::Sender<pnrp::Event>),
    /// Into a shared collector, with a tag.
    Tagged(u64, mpsc::UnboundedSender<Completion>),
}

/// What an application hands the driver.
#[derive(Debug)]
pub enum Input {
    /// An engine command and where its completion goes.
    Command {
        /// The command.
        cmd: pnrp::Command,
        /// Where the completion event goes.
        reply: Reply,
    },
    /// A snapshot of the node's state.
    Status(oneshot::Sender<NodeStatus>),
    /// Leave the cloud (revoke every registration), send what that produces, and stop.
    Shutdown,
}

/// Datagram counters of one driver.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriverStats {
    /// Datagrams received and decoded.
    pub received: u64,
    /// Datagrams sent.
    pub sent: u64,
    /// Datagrams that failed to decode (counted and dropped, never a panic).
    pub decode_errors: u64,
    /// Sends the socket refused (unreachable address, wrong family).
    pub send_errors: u64,
    /// Receive errors reported by the socket.
    pub recv_errors: u64,
    /// Events nobody asked for (completions of fire-and-forget commands, split detections).
    pub unclaimed_events: u64,
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

/// A snapshot of a live node, for `peerlab status`.
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

/// A cloneable handle to a running driver.
#[derive(Clone, Debug)]
pub struct DriverHandle {
    tx: mpsc::Sender<Input>,
    clock: Clock,
}

/// The driver stopped (or never started) before answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the node has stopped")]
pub struct DriverGone;

impl DriverHandle {
    /// Queues an input.
    pub async fn send(&self, input: Input) -> Result<(), DriverGone> {
        self.tx.send(input).await.map_err(|_| DriverGone)
    }

    /// Runs a command and waits for its completion event.
    pub async fn command(&self, cmd: pnrp::Command) -> Result<pnrp::Event, DriverGone> {
        let (reply, rx) = oneshot::channel();
        self.send(Input::Command {
            cmd,
            reply: Reply::Once(reply),
        })
        .await?;
        rx.await.map_err(|_| DriverGone)
    }

    /// A snapshot of the node.
    pub async fn status(&self) -> Result<NodeStatus, DriverGone> {
        let (reply, rx) = oneshot::channel();
        self.send(Input::Status(reply)).await?;
        rx.await.map_err(|_| DriverGone)
    }

    /// Asks the driver to leave the cloud and stop.
    pub async fn shutdown(&self) -> Result<(), DriverGone> {
        self.send(Input::Shutdown).await
    }

    /// The node's current engine time (its driver's clock).
    pub fn now(&self) -> Instant {
        self.clock.now()
    }
}

/// Runs one PNRP node over one socket.
pub struct Driver<S> {
    node: PnrpNode,
    socket: S,
    clock: Clock,
    inputs: mpsc::Receiver<Input>,
    waiting: BTreeMap<RequestId, Reply>,
    register_names: BTreeMap<RequestId, String>,
    names: BTreeMap<PnrpId, String>,
    events: Option<mpsc::UnboundedSender<pnrp::Event>>,
    stats: DriverStats,
    recv_buf: Vec<u8>,
    send_buf: Vec<u8>,
}

impl<S: DatagramSocket> Driver<S> {
    /// A driver for `node` on `socket`; `clock` must be the one the node was created with.
    pub fn new(node: PnrpNode, socket: S, clock: Clock) -> (Self, DriverHandle) {
        let (tx, inputs) = mpsc::channel(INPUT_QUEUE_MAX);
        let driver = Driver {
            node,
            socket,
            clock,
            inputs,
            waiting: BTreeMap::new(),
            register_names: BTreeMap::new(),
            names: BTreeMap::new(),
            events: None,
            stats: DriverStats::default(),
            recv_buf: vec![0; RECV_BUFFER_BYTES],
            send_buf: Vec::with_capacity(2048),
        };
        (driver, DriverHandle { tx, clock })
    }

    /// Sends events nobody asked for (split detections, fire-and-forget completions) to `tx`.
    pub fn with_events(mut self, tx: mpsc::UnboundedSender<pnrp::Event>) -> Self {
        self.events = Some(tx);
        self
    }

    /// Runs until a `Shutdown` input or until every handle is dropped; then leaves the cloud
    /// (MS-PNRP §3.2.4.2: revoke floods for every registration), sends what that produced, and returns the
    /// counters.
    pub async fn run(mut self) -> DriverStats {
        self.drain().await;
        loop {
            let deadline = self.node.poll_timeout();
            let wake = deadline.map(|t| self.clock.tokio_at(t));
            let Driver {
                inputs,
                socket,
                recv_buf,
                ..
            } = &mut self;
            // Biased: application inputs first (a shutdown is never starved), then overdue
            // timers, then the network. Under turmoil the order is part of the determinism.
            tokio::select! {
                biased;
                input = inputs.recv() => match input {
                    None | Some(Input::Shutdown) => break,
                    Some(Input::Command { cmd, reply }) => self.command(cmd, reply),
                    Some(Input::Status(reply)) => {
                        let _ = reply.send(self.status());
                    }
                },
                _ = sleep_until(wake) => {
                    let now = self.clock.now();
                    if deadline.is_some_and(|t| t <= now) {
                        self.node.handle_timeout(now);
                    }
                }
                received = socket.recv_from(recv_buf) => match received {
                    Ok((len, from)) => self.datagram(len, from),
                    Err(_) => self.stats.recv_errors += 1,
                },
            }
            self.drain().await;
        }
        let now = self.clock.now();
        self.node.handle_command(now, pnrp::Command::Leave);
        self.drain().await;
        self.stats
    }

    fn command(&mut self, cmd: pnrp::Command, reply: Reply) {
        let label = match &cmd {
            pnrp::Command::Register { name, .. } => Some(name.to_string()),
            _ => None,
        };
        let before = label
            .as_ref()
            .map(|_| self.node.registered_ids().collect::<Vec<_>>());
        let request = self.node.handle_command(self.clock.now(), cmd);
        if let Some(label) = label {
            // The ID exists as soon as the command is taken (MS-PNRP §3.2.4.1), long before its registration
            // walk ends; name it at once so `status` shows it meanwhile.
            let before = before.unwrap_or_default();
            let new_ids: Vec<PnrpId> = self
                .node
                .registered_ids()
                .filter(|id| !before.contains(id))
                .collect();
            for id in new_ids {
                self.names.insert(id, label.clone());
            }
            self.register_names.insert(request, label);
        }
        if !matches!(reply, Reply::None) {
            self.waiting.insert(request, reply);
        }
    }

    fn datagram(&mut self, len: usize, from: std::net::SocketAddr) {
        // MS-PNRP §3.1.5.2: input from the network never panics; undecodable datagrams are counted.
        match pnrp::wire::decode(&self.recv_buf[..len]) {
            Ok(msg) => {
                self.stats.received += 1;
                let now = self.clock.now();
                self.node.handle_message(now, endpoint_of(from), msg);
            }
            Err(_) => self.stats.decode_errors += 1,
        }
    }

    /// The drain rule: every transmit encoded and sent, every event delivered.
    async fn drain(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(t) = self.node.poll_transmit() {
                progressed = true;
                self.send_buf.clear();
                pnrp::wire::encode(&t.msg, &mut self.send_buf);
                match self.socket.send_to(&self.send_buf, socket_addr_of(t.to)).await {
                    Ok(_) => self.stats.sent += 1,
                    Err(_) => self.stats.send_errors += 1,
                }
            }
            while let Some(e) = self.node.poll_event() {
                progressed = true;
                self.event(e);
            }
            if !progressed {
                break;
            }
        }
    }

    fn event(&mut self, event: pnrp::Event) {
        let request = match &event {
            pnrp::Event::Registered { request, id, .. } => {
                if let Some(name) = self.register_names.remove(request) {
                    self.names.insert(*id, name);
                }
                Some(*request)
            }
            pnrp::Event::RegisterFailed { request, .. } => {
                self.register_names.remove(request);
                Some(*request)
            }
            pnrp::Event::Unregistered { request, id } => {
                self.names.remove(id);
                Some(*request)
            }
            pnrp::Event::Resolved { request, .. } => Some(*request),
            pnrp::Event::SplitDetected { .. } => None,
        };
        let reply = request.and_then(|r| self.waiting.remove(&r));
        match reply {
            Some(Reply::Once(tx)) => {
                let _ = tx.send(event);
            }
            Some(Reply::Tagged(tag, tx)) => {
                let _ = tx.send(Completion { tag, event });
            }
            Some(Reply::None) | None => {
                self.stats.unclaimed_events += 1;
                if let Some(tx) = &self.events {
                    let _ = tx.send(event);
                }
            }
        }
    }

    /// A snapshot of the node's state.
    pub fn status(&self) -> NodeStatus {
        let registrations = self
            .node
            .registered_ids()
            .map(|id| {
                let leaf = self.node.leaf_set(id);
                let hex = |v: &[PnrpId]| v.iter().map(|x| x.to_string()).collect();
                RegistrationStatus {
                    name: self.names.get(&id).cloned().unwrap_or_default(),
                    id: id.to_string(),
                    leaf_below: leaf.as_ref().map(|l| hex(&l.below)).unwrap_or_default(),
                    leaf_above: leaf.as_ref().map(|l| hex(&l.above)).unwrap_or_default(),
                }
            })
            .collect();
        NodeStatus {
            local: self.node.local_endpoint().to_string(),
            now_us: self.clock.now().as_micros(),
            cache_levels: self.node.cache_level_sizes(),
            cache_ids: self.node.cache_ids().map(|id| id.to_string()).collect(),
            registrations,
            driver: self.stats,
        }
    }
}

/// Sleeps until `at`, or forever when there is no deadline.
async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use peerlab_engine::crypto::{Identity, Scheme};
    use peerlab_engine::pnrp::{PeerName, PnrpConfig, ResolveCriteria};
    use std::sync::Arc;

    async fn spawn_node(
        seeds: Vec<std::net::SocketAddr>,
        index: u8,
    ) -> (
        DriverHandle,
        std::net::SocketAddr,
        tokio::task::JoinHandle<DriverStats>,
    ) {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = DatagramSocket::local_addr(&socket).unwrap();
        let clock = Clock::start(Instant::ZERO);
        let cfg = Arc::new(PnrpConfig::default());
        let seeds = seeds.into_iter().map(endpoint_of).collect();
        let node = PnrpNode::new(cfg, endpoint_of(addr), seeds, [index; 32], clock.now());
        let (driver, handle) = Driver::new(node, socket, clock);
        (handle, addr, tokio::spawn(driver.run()))
    }

    #[tokio::test(flavor = "current_thread", start_paused = false)]
    async fn two_live_nodes_register_and_resolve_over_loopback() {
        let (a, a_addr, a_task) = spawn_node(Vec::new(), 1).await;
        let (b, b_addr, b_task) = spawn_node(vec![a_addr], 2).await;
        let ida = Identity::generate(Scheme::Ed25519, [7; 32]);
        let name = PeerName::secured(ida.authority(), "alpha").unwrap();
        let reg = a
            .command(pnrp::Command::Register {
                name: name.clone(),
                identity: ida,
                app_endpoints: Vec::new(),
            })
            .await
            .unwrap();
        assert!(matches!(reg, pnrp::Event::Registered { .. }), "{reg:?}");
        // b may still be bootstrapping: retry a few times, as an application would.
        let mut found = None;
        for _ in 0..20 {
            let ev = b
                .command(pnrp::Command::Resolve {
                    name: name.clone(),
                    criteria: ResolveCriteria::AnyPeerName,
                    timeout: Duration::from_secs(5),
                })
                .await
                .unwrap();
            if let pnrp::Event::Resolved { result: Ok(r), .. } = ev {
                found = Some(r);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        let r = found.expect("b resolves a's name");
        assert!(r.endpoints.contains(&endpoint_of(a_addr)), "{:?}", r.endpoints);
        let status = a.status().await.unwrap();
        assert_eq!(status.registrations.len(), 1);
        assert_eq!(status.registrations[0].name, name.to_string());
        a.shutdown().await.unwrap();
        b.shutdown().await.unwrap();
        let (sa, sb) = (a_task.await.unwrap(), b_task.await.unwrap());
        assert!(
            sa.sent > 0 && sb.received > 0 && sa.decode_errors == 0,
            "{sa:?} {sb:?}"
        );
        let _ = b_addr;
    }

    #[test]
    fn clock_maps_engine_deadlines_onto_tokio_time() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        rt.block_on(async {
            let clock = Clock::start(Instant::from_micros(5_000_000));
            tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
            assert_eq!(clock.now(), Instant::from_micros(6_500_000));
            let at = clock.tokio_at(Instant::from_micros(7_000_000));
            assert_eq!(at - tokio_now(), std::time::Duration::from_millis(500));
        });
    }
}
