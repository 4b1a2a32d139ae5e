//! The one live driver (docs/architecture.md §4 "Live drivers"): runs any [`LiveNode`] (a PNRP node
//! by default) over a [`DatagramSocket`] and a family of TCP sockets ([`TcpFamily`]), real (tokio)
//! or simulated (turmoil).
//!
//! One task, one biased `select!` over four inputs, in priority order: application inputs
//! (commands, status queries, shutdown), the engine's next deadline (`sleep_until(poll_timeout)`),
//! the stream connections (one task each, `tcp.rs`), and the datagram socket. After every input the
//! driver applies the drain rule (docs/architecture.md §3): every transmit is encoded with the
//! protocol's codec and sent, every stream command carried out, every event handed to whoever asked
//! for it, and only then is the next input taken.

use super::live_node::LiveNode;
pub use super::live_node::{NodeStatus, RegistrationStatus};
use super::socket::{endpoint_of, socket_addr_of, DatagramSocket};
use super::tcp::{self, FromSocket, TcpFamily, ToSocket, TokioTcp};
use peerlab_engine::drain;
use peerlab_engine::pnrp::PnrpNode;
use peerlab_engine::stack::Completes;
use peerlab_engine::{ConnId, Duration, Instant, Node, RequestId, StreamCommand, StreamEvent};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
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
pub struct Completion<N: Node = PnrpNode> {
    /// The caller's tag.
    pub tag: u64,
    /// The engine event that completed the command.
    pub event: N::Event,
}

/// Where a command's completion event goes.
#[derive(Debug)]
pub enum Reply<N: Node = PnrpNode> {
    /// Nowhere (fire and forget).
    None,
    /// To one waiting caller.
    Once(oneshot::Sender<N::Event>),
    /// Into a shared collector, with a tag.
    Tagged(u64, mpsc::UnboundedSender<Completion<N>>),
}

/// What an application hands the driver.
#[derive(Debug)]
pub enum Input<N: LiveNode = PnrpNode> {
    /// An engine command and where its completion goes.
    Command {
        /// The command.
        cmd: N::Command,
        /// Where the completion event goes.
        reply: Reply<N>,
    },
    /// A snapshot of the node's state.
    Status(oneshot::Sender<N::Status>),
    /// Leave the network (for PNRP: revoke every registration), send what that produces, and stop.
    Shutdown,
}

/// Datagram and stream counters of one driver.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
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
    /// Stream messages received whole.
    pub frames_received: u64,
    /// Stream messages sent.
    pub frames_sent: u64,
    /// Stream connections reset because their bytes could not be a message.
    pub frame_errors: u64,
    /// Connections the node opened that failed.
    pub connects_failed: u64,
    /// Connections accepted.
    pub connections_accepted: u64,
    /// Stream ports the driver could not listen on.
    pub listen_errors: u64,
}

/// A cloneable handle to a running driver.
#[derive(Debug)]
pub struct DriverHandle<N: LiveNode = PnrpNode> {
    tx: mpsc::Sender<Input<N>>,
    clock: Clock,
}

impl<N: LiveNode> Clone for DriverHandle<N> {
    fn clone(&self) -> Self {
        DriverHandle {
            tx: self.tx.clone(),
            clock: self.clock,
        }
    }
}

/// The driver stopped (or never started) before answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the node has stopped")]
pub struct DriverGone;

impl<N: LiveNode> DriverHandle<N> {
    /// Queues an input.
    pub async fn send(&self, input: Input<N>) -> Result<(), DriverGone> {
        self.tx.send(input).await.map_err(|_| DriverGone)
    }

    /// Runs a command and waits for its completion event.
    pub async fn command(&self, cmd: N::Command) -> Result<N::Event, DriverGone> {
        let (reply, rx) = oneshot::channel();
        self.send(Input::Command {
            cmd,
            reply: Reply::Once(reply),
        })
        .await?;
        rx.await.map_err(|_| DriverGone)
    }

    /// A snapshot of the node.
    pub async fn status(&self) -> Result<N::Status, DriverGone> {
        let (reply, rx) = oneshot::channel();
        self.send(Input::Status(reply)).await?;
        rx.await.map_err(|_| DriverGone)
    }

    /// Asks the driver to leave the network and stop.
    pub async fn shutdown(&self) -> Result<(), DriverGone> {
        self.send(Input::Shutdown).await
    }

    /// The node's current engine time (its driver's clock).
    pub fn now(&self) -> Instant {
        self.clock.now()
    }
}

/// One stream connection of the node, as the driver keeps it.
struct LiveConn {
    to_socket: mpsc::UnboundedSender<ToSocket>,
    /// Bytes received that do not make a whole message yet.
    pending: Vec<u8>,
}

/// Runs one node over one datagram socket and the TCP sockets of family `F`.
pub struct Driver<S, N: LiveNode = PnrpNode, F: TcpFamily = TokioTcp> {
    node: N,
    notes: N::Notes,
    socket: S,
    clock: Clock,
    inputs: mpsc::Receiver<Input<N>>,
    waiting: BTreeMap<RequestId, Reply<N>>,
    events: Option<mpsc::UnboundedSender<N::Event>>,
    stats: DriverStats,
    recv_buf: Vec<u8>,
    send_buf: Vec<u8>,
    conns: BTreeMap<ConnId, LiveConn>,
    accepted: u64,
    from_sockets: mpsc::UnboundedReceiver<FromSocket<F::Stream>>,
    to_driver: mpsc::UnboundedSender<FromSocket<F::Stream>>,
}

impl<S: DatagramSocket, N: LiveNode> Driver<S, N, TokioTcp> {
    /// A driver for `node` on `socket`, with tokio's TCP for streams; `clock` must be the one
    /// the node was created with.
    pub fn new(node: N, socket: S, clock: Clock) -> (Self, DriverHandle<N>) {
        let (tx, inputs) = mpsc::channel(INPUT_QUEUE_MAX);
        let (to_driver, from_sockets) = mpsc::unbounded_channel();
        let driver = Driver {
            node,
            notes: N::Notes::default(),
            socket,
            clock,
            inputs,
            waiting: BTreeMap::new(),
            events: None,
            stats: DriverStats::default(),
            recv_buf: vec![0; RECV_BUFFER_BYTES],
            send_buf: Vec::with_capacity(2048),
            conns: BTreeMap::new(),
            accepted: 0,
            from_sockets,
            to_driver,
        };
        (driver, DriverHandle { tx, clock })
    }
}

impl<S: DatagramSocket, N: LiveNode, F: TcpFamily> Driver<S, N, F> {
    /// The same driver over another family of TCP sockets (turmoil's, in simulation).
    pub fn over<G: TcpFamily>(self) -> Driver<S, N, G> {
        let (to_driver, from_sockets) = mpsc::unbounded_channel();
        Driver {
            node: self.node,
            notes: self.notes,
            socket: self.socket,
            clock: self.clock,
            inputs: self.inputs,
            waiting: self.waiting,
            events: self.events,
            stats: self.stats,
            recv_buf: self.recv_buf,
            send_buf: self.send_buf,
            conns: BTreeMap::new(),
            accepted: 0,
            from_sockets,
            to_driver,
        }
    }

    /// Sends events nobody asked for (split detections, fire-and-forget completions) to `tx`.
    pub fn with_events(mut self, tx: mpsc::UnboundedSender<N::Event>) -> Self {
        self.events = Some(tx);
        self
    }

    /// Runs until a `Shutdown` input or until every handle is dropped; then gives the node its
    /// leave command (for PNRP, MS-PNRP §3.2.4.2: revoke floods for every registration), sends
    /// what that produced, and returns the counters.
    pub async fn run(mut self) -> DriverStats {
        self.listen().await;
        self.drain().await;
        loop {
            let deadline = self.node.poll_timeout();
            let wake = deadline.map(|t| self.clock.tokio_at(t));
            let Driver {
                inputs,
                socket,
                recv_buf,
                from_sockets,
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
                        let _ = reply.send(self.node.status(&self.notes, self.clock.now(), self.stats));
                    }
                },
                _ = sleep_until(wake) => {
                    let now = self.clock.now();
                    if deadline.is_some_and(|t| t <= now) {
                        self.node.handle_timeout(now);
                    }
                }
                Some(from) = from_sockets.recv() => self.socket_report(from),
                received = socket.recv_from(recv_buf) => match received {
                    Ok((len, from)) => self.datagram(len, from),
                    Err(_) => self.stats.recv_errors += 1,
                },
            }
            self.drain().await;
        }
        if let Some(leave) = N::leave_command() {
            let now = self.clock.now();
            self.node.handle_command(now, leave);
            self.drain().await;
        }
        self.stats
    }

    /// Listens on every stream port the node names, at the datagram socket's address.
    async fn listen(&mut self) {
        let Ok(local) = self.socket.local_addr() else {
            return;
        };
        for port in self.node.stream_ports() {
            match F::bind(SocketAddr::new(local.ip(), port)).await {
                Ok(listener) => {
                    tokio::spawn(tcp::accept_loop::<F>(listener, port, self.to_driver.clone()));
                }
                Err(_) => self.stats.listen_errors += 1,
            }
        }
    }

    fn command(&mut self, cmd: N::Command, reply: Reply<N>) {
        let request = self.node.noted_command(self.clock.now(), cmd, &mut self.notes);
        if !matches!(reply, Reply::None) {
            self.waiting.insert(request, reply);
        }
    }

    fn datagram(&mut self, len: usize, from: SocketAddr) {
        // Input from the network never panics; undecodable datagrams are counted and dropped.
        match N::decode(&self.recv_buf[..len]) {
            Ok(msg) => {
                self.stats.received += 1;
                let now = self.clock.now();
                self.node.handle_message(now, endpoint_of(from), msg);
            }
            Err(_) => self.stats.decode_errors += 1,
        }
    }

    /// What a connection task or a listener reported.
    fn socket_report(&mut self, from: FromSocket<F::Stream>) {
        let now = self.clock.now();
        match from {
            FromSocket::Accepted { stream, from, port } => {
                if !self.node.listens(port) {
                    F::abort(stream);
                    return;
                }
                let conn = ConnId::accepted(self.accepted);
                self.accepted += 1;
                self.stats.connections_accepted += 1;
                let rx = self.open_conn(conn);
                tokio::spawn(tcp::serve::<F>(conn, stream, rx, self.to_driver.clone()));
                let event = StreamEvent::Accepted {
                    conn,
                    from: endpoint_of(from),
                    local_port: port,
                };
                self.node.handle_stream(now, event);
            }
            FromSocket::Connected(conn) => {
                if self.conns.contains_key(&conn) {
                    self.node.handle_stream(now, StreamEvent::Connected { conn });
                }
            }
            FromSocket::ConnectFailed(conn, reason) => {
                if self.conns.remove(&conn).is_some() {
                    self.stats.connects_failed += 1;
                    self.node
                        .handle_stream(now, StreamEvent::ConnectFailed { conn, reason });
                }
            }
            FromSocket::Bytes(conn, bytes) => self.bytes(conn, bytes),
            FromSocket::Eof(conn) => {
                if let Some(c) = self.conns.remove(&conn) {
                    // Our side closes too: the node hears nothing more of this connection.
                    let _ = c.to_socket.send(ToSocket::Close);
                    self.node.handle_stream(now, StreamEvent::Closed { conn });
                }
            }
            FromSocket::Reset(conn) => {
                if self.conns.remove(&conn).is_some() {
                    self.node.handle_stream(now, StreamEvent::Reset { conn });
                }
            }
        }
    }

    /// Cuts the bytes of `conn` into messages and hands each to the node, in order; bytes that
    /// can never be a message reset the connection (counted, never a panic).
    fn bytes(&mut self, conn: ConnId, bytes: Vec<u8>) {
        let now = self.clock.now();
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.pending.extend_from_slice(&bytes);
        let mut used = 0;
        let mut messages = Vec::new();
        let failed = loop {
            match N::decode_frame(&c.pending[used..]) {
                Ok(Some((msg, n))) if n > 0 => {
                    used += n;
                    messages.push(msg);
                }
                Ok(_) => break false,
                Err(_) => break true,
            }
        };
        c.pending.drain(..used);
        if failed {
            let _ = c.to_socket.send(ToSocket::Reset);
            self.conns.remove(&conn);
        }
        for msg in messages {
            self.stats.frames_received += 1;
            self.node.handle_stream(now, StreamEvent::Received { conn, msg });
        }
        if failed {
            self.stats.frame_errors += 1;
            self.node.handle_stream(now, StreamEvent::Reset { conn });
        }
    }

    /// The drain rule: every transmit encoded and sent, every stream command carried out, every
    /// event delivered.
    async fn drain(&mut self) {
        let (out, _) = drain::take(&mut self.node);
        for t in out.transmits {
            self.send_buf.clear();
            N::encode(&t.msg, &mut self.send_buf);
            match self.socket.send_to(&self.send_buf, socket_addr_of(t.to)).await {
                Ok(_) => self.stats.sent += 1,
                Err(_) => self.stats.send_errors += 1,
            }
        }
        for cmd in out.streams {
            self.stream_command(cmd);
        }
        for e in out.events {
            self.event(e);
        }
    }

    /// Keeps a new connection; its task reads what the driver sends from the returned end.
    fn open_conn(&mut self, conn: ConnId) -> mpsc::UnboundedReceiver<ToSocket> {
        let (to_socket, rx) = mpsc::unbounded_channel();
        self.conns.insert(
            conn,
            LiveConn {
                to_socket,
                pending: Vec::new(),
            },
        );
        rx
    }

    fn stream_command(&mut self, cmd: StreamCommand<N::Message>) {
        match cmd {
            StreamCommand::Connect { conn, to } => {
                let rx = self.open_conn(conn);
                tokio::spawn(tcp::connect::<F>(
                    conn,
                    socket_addr_of(to),
                    rx,
                    self.to_driver.clone(),
                ));
            }
            StreamCommand::Send { conn, msg } => {
                if let Some(c) = self.conns.get(&conn) {
                    let mut bytes = Vec::new();
                    N::encode(&msg, &mut bytes);
                    self.stats.frames_sent += 1;
                    let _ = c.to_socket.send(ToSocket::Bytes(bytes));
                }
            }
            StreamCommand::Close { conn } => {
                if let Some(c) = self.conns.remove(&conn) {
                    let _ = c.to_socket.send(ToSocket::Close);
                }
            }
            StreamCommand::Reset { conn } => {
                if let Some(c) = self.conns.remove(&conn) {
                    let _ = c.to_socket.send(ToSocket::Reset);
                }
            }
        }
    }

    fn event(&mut self, event: N::Event) {
        N::note_event(&event, &mut self.notes);
        let reply = event.request().and_then(|r| self.waiting.remove(&r));
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
    pub fn status(&self) -> N::Status {
        self.node.status(&self.notes, self.clock.now(), self.stats)
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
    use peerlab_engine::pnrp::{self, PeerName, PnrpConfig, ResolveCriteria};
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
                friendly_name: None,
                service_location_prefix: None,
                payload: None,
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
                    extended_payload: true,
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
