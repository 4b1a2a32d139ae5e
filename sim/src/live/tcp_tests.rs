//! The live driver's stream path end to end: an echo protocol over real loopback TCP (tokio) and
//! over turmoil's simulated TCP, with the same driver code.

use super::driver::{Clock, Driver, DriverHandle, DriverStats};
use super::live_node::LiveNode;
use super::socket::endpoint_of;
use super::tcp::TurmoilTcp;
use peerlab_engine::{
    ConnId, ConnectFailure, Endpoint, Instant, Node, RequestId, StreamCommand, StreamEvent, Transmit,
};
use std::collections::VecDeque;
use std::net::SocketAddr;

/// Largest echo frame; a longer length prefix can never be a frame.
const FRAME_MAX: usize = 1024;

/// A tiny stream protocol: 2-byte big-endian length, then the bytes; the server echoes.
#[derive(Default)]
struct Echo {
    port: Option<u16>,
    next: u64,
    conn: Option<(ConnId, RequestId)>,
    streams: VecDeque<StreamCommand<Vec<u8>>>,
    events: VecDeque<EchoEvent>,
}

#[derive(Debug)]
enum EchoCommand {
    Connect(Endpoint),
    Say(Vec<u8>),
}

#[derive(Debug, PartialEq)]
enum EchoEvent {
    Connected(RequestId),
    Failed(RequestId, ConnectFailure),
    Heard(Vec<u8>),
    Ended,
}

impl Node for Echo {
    type Message = Vec<u8>;
    type Command = EchoCommand;
    type Event = EchoEvent;
    fn handle_message(&mut self, _: Instant, _: Endpoint, _: Vec<u8>) {}
    fn handle_timeout(&mut self, _: Instant) {}
    fn handle_command(&mut self, _: Instant, cmd: EchoCommand) -> RequestId {
        self.next += 1;
        let request = RequestId(self.next);
        match cmd {
            EchoCommand::Connect(to) => {
                let conn = ConnId(self.next);
                self.conn = Some((conn, request));
                self.streams.push_back(StreamCommand::Connect { conn, to });
            }
            EchoCommand::Say(msg) => {
                if let Some((conn, _)) = self.conn {
                    self.streams.push_back(StreamCommand::Send { conn, msg });
                }
            }
        }
        request
    }
    fn poll_transmit(&mut self) -> Option<Transmit<Vec<u8>>> {
        None
    }
    fn poll_event(&mut self) -> Option<EchoEvent> {
        self.events.pop_front()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
    fn handle_stream(&mut self, _: Instant, event: StreamEvent<Vec<u8>>) {
        match event {
            StreamEvent::Connected { conn } => {
                let request = self
                    .conn
                    .filter(|(c, _)| *c == conn)
                    .map(|(_, r)| r)
                    .expect("our connect");
                self.events.push_back(EchoEvent::Connected(request));
            }
            StreamEvent::ConnectFailed { conn, reason } => {
                let request = self
                    .conn
                    .take()
                    .filter(|(c, _)| *c == conn)
                    .map(|(_, r)| r)
                    .expect("our connect");
                self.events.push_back(EchoEvent::Failed(request, reason));
            }
            StreamEvent::Accepted { .. } => {}
            StreamEvent::Received { conn, msg } if self.port.is_some() => {
                self.streams.push_back(StreamCommand::Send { conn, msg });
            }
            StreamEvent::Received { msg, .. } => self.events.push_back(EchoEvent::Heard(msg)),
            StreamEvent::Closed { .. } | StreamEvent::Reset { .. } => self.events.push_back(EchoEvent::Ended),
        }
    }
    fn poll_stream(&mut self) -> Option<StreamCommand<Vec<u8>>> {
        self.streams.pop_front()
    }
    fn listens(&self, port: u16) -> bool {
        self.port == Some(port)
    }
}

impl peerlab_engine::stack::Completes for EchoEvent {
    fn request(&self) -> Option<RequestId> {
        match self {
            EchoEvent::Connected(r) | EchoEvent::Failed(r, _) => Some(*r),
            _ => None,
        }
    }
}

impl LiveNode for Echo {
    type Notes = ();
    type Status = usize;
    fn encode(msg: &Vec<u8>, out: &mut Vec<u8>) {
        out.extend_from_slice(&(msg.len() as u16).to_be_bytes());
        out.extend_from_slice(msg);
    }
    fn decode(bytes: &[u8]) -> Result<Vec<u8>, String> {
        Ok(bytes.to_vec())
    }
    fn decode_frame(bytes: &[u8]) -> Result<Option<(Vec<u8>, usize)>, String> {
        let Some(prefix) = bytes.get(..2) else {
            return Ok(None);
        };
        let len = u16::from_be_bytes([prefix[0], prefix[1]]) as usize;
        if len > FRAME_MAX {
            return Err(format!("a {len}-byte frame exceeds {FRAME_MAX}"));
        }
        Ok(bytes.get(2..2 + len).map(|m| (m.to_vec(), 2 + len)))
    }
    fn stream_ports(&self) -> Vec<u16> {
        self.port.into_iter().collect()
    }
    fn status(&self, _: &(), _: Instant, _: DriverStats) -> usize {
        usize::from(self.conn.is_some())
    }
    fn leave_command() -> Option<EchoCommand> {
        None
    }
}

/// A server (listening on its UDP port's number over TCP) or a client, on tokio loopback.
async fn tokio_node(
    server: bool,
) -> (
    DriverHandle<Echo>,
    SocketAddr,
    tokio::task::JoinHandle<DriverStats>,
    tokio::sync::mpsc::UnboundedReceiver<EchoEvent>,
) {
    let socket = udp_socket_with_free_tcp_port().await;
    let addr = socket.local_addr().unwrap();
    let node = Echo {
        port: server.then_some(addr.port()),
        ..Echo::default()
    };
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let (driver, handle) = Driver::new(node, socket, Clock::start(Instant::ZERO));
    let task = tokio::spawn(driver.with_events(tx).run());
    // The driver listens before it answers its first input.
    handle.status().await.unwrap();
    (handle, addr, task, rx)
}

/// A loopback UDP socket whose port number is also free for TCP (the server listens over TCP on
/// its UDP port's number): an OS-chosen UDP port can be held by another test's TCP socket, which
/// made the server's listen fail and the connect be refused.
async fn udp_socket_with_free_tcp_port() -> tokio::net::UdpSocket {
    loop {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if let Ok(udp) = tokio::net::UdpSocket::bind(("127.0.0.1", port)).await {
            drop(tcp);
            return udp;
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn framed_messages_cross_real_tcp_in_order_and_come_back() {
    let (_server, server_addr, server_task, _) = tokio_node(true).await;
    let (client, _, _, mut heard) = tokio_node(false).await;
    let connected = client
        .command(EchoCommand::Connect(endpoint_of(server_addr)))
        .await
        .unwrap();
    assert!(matches!(connected, EchoEvent::Connected(_)), "{connected:?}");
    for word in ["alpha", "beta", "gamma"] {
        client
            .send(super::driver::Input::Command {
                cmd: EchoCommand::Say(word.into()),
                reply: super::driver::Reply::None,
            })
            .await
            .unwrap();
    }
    for word in ["alpha", "beta", "gamma"] {
        assert_eq!(heard.recv().await, Some(EchoEvent::Heard(word.into())));
    }
    server_task.abort();
}

#[tokio::test(flavor = "current_thread")]
async fn a_connect_to_a_port_nobody_listens_on_is_refused() {
    let (client, addr, _, _) = tokio_node(false).await;
    // The client's own UDP port number has no TCP listener.
    let failed = client
        .command(EchoCommand::Connect(endpoint_of(addr)))
        .await
        .unwrap();
    assert!(
        matches!(failed, EchoEvent::Failed(_, ConnectFailure::Refused)),
        "{failed:?}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn bytes_that_can_never_be_a_frame_reset_the_connection_and_are_counted() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (server, server_addr, server_task, _) = tokio_node(true).await;
    let mut raw = tokio::net::TcpStream::connect(server_addr).await.unwrap();
    raw.write_all(&[0xff, 0xff, 1, 2, 3]).await.unwrap();
    let mut buf = [0u8; 8];
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), raw.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "the server dropped the connection: {read:?}"
    );
    drop(server);
    let stats = server_task.await.unwrap();
    assert_eq!(
        (
            stats.connections_accepted,
            stats.frame_errors,
            stats.frames_received
        ),
        (1, 1, 0)
    );
}

#[test]
fn the_same_driver_runs_streams_under_turmoil() {
    let mut sim = turmoil::Builder::new().build();
    let port = 3587;
    sim.host("server", move || async move {
        let socket = turmoil::net::UdpSocket::bind(SocketAddr::from(([0, 0, 0, 0], port))).await?;
        let node = Echo {
            port: Some(port),
            ..Echo::default()
        };
        let (driver, handle) = Driver::new(node, socket, Clock::start(Instant::ZERO));
        let _keep = handle;
        driver.over::<TurmoilTcp>().run().await;
        Ok(())
    });
    sim.client("client", async move {
        let socket = turmoil::net::UdpSocket::bind(SocketAddr::from(([0, 0, 0, 0], port))).await?;
        let (tx, mut heard) = tokio::sync::mpsc::unbounded_channel();
        let (driver, client) = Driver::new(Echo::default(), socket, Clock::start(Instant::ZERO));
        tokio::spawn(driver.over::<TurmoilTcp>().with_events(tx).run());
        let server = endpoint_of(SocketAddr::new(turmoil::lookup("server"), port));
        let connected = client.command(EchoCommand::Connect(server)).await.unwrap();
        assert!(matches!(connected, EchoEvent::Connected(_)), "{connected:?}");
        client
            .send(super::driver::Input::Command {
                cmd: EchoCommand::Say(b"over turmoil".to_vec()),
                reply: super::driver::Reply::None,
            })
            .await
            .unwrap();
        assert_eq!(
            heard.recv().await,
            Some(EchoEvent::Heard(b"over turmoil".to_vec()))
        );
        Ok(())
    });
    sim.run().unwrap();
}
