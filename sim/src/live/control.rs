//! The local control interface of `peerlab node`: JSON lines over a loopback TCP connection.
//!
//! One request per line, one response line per request, on as many connections as a client likes.
//! At most [`CONNECTIONS_MAX`] are open at once: a connection idle for [`IDLE_TIMEOUT`] is closed,
//! and when all slots are taken the oldest idle one (else the oldest) makes room, so a local client
//! always gets through however many connections others leave open. Requests:
//! `{"op":"resolve","name":"<authority>.<classifier>","timeout_ms":10000}`, `{"op":"status"}`,
//! `{"op":"shutdown"}`. The interface is unauthenticated, so `peerlab node` only binds it to a
//! loopback address.

use super::driver::{DriverGone, DriverHandle, NodeStatus};
use super::socket::socket_addr_of;
use peerlab_engine::pnrp::{self, PeerName, ResolveCriteria};
use peerlab_engine::Duration;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// Longest request line accepted (bound everything, docs/architecture.md §7 habit 7).
pub const REQUEST_BYTES_MAX: u64 = 16 * 1024;
/// Control connections open at once; a new one closes the oldest idle one when all are taken.
pub const CONNECTIONS_MAX: usize = 16;
/// How long a connection may wait between requests (or take to send one) before it is closed.
pub const IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// Resolve deadline when a request gives none.
pub const DEFAULT_RESOLVE_TIMEOUT_MS: u64 = 10_000;
/// Longest resolve deadline a request may ask for.
pub const RESOLVE_TIMEOUT_MAX_MS: u64 = 120_000;

/// A control request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Resolve a peer name through this node.
    Resolve {
        /// The full peer name, `authority.classifier` (authority `0` for unsecured names).
        name: String,
        /// Deadline in milliseconds (default [`DEFAULT_RESOLVE_TIMEOUT_MS`]).
        #[serde(default)]
        timeout_ms: Option<u64>,
    },
    /// The node's cache, leaf sets and registrations.
    // Braced (not unit) variants: serde checks unknown fields only on those.
    Status {},
    /// Leave the cloud and stop the node.
    Shutdown {},
}

/// One endpoint found by a resolve, as the socket layer writes it (IPv4 for mapped addresses).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoundEndpoint {
    /// The IP address.
    pub addr: String,
    /// The UDP port.
    pub port: u16,
}

/// A control response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Response {
    /// The name resolved.
    Resolved {
        /// The name asked for.
        name: String,
        /// The PNRP ID found.
        id: String,
        /// PNRP service endpoints from the validated CPA.
        endpoints: Vec<FoundEndpoint>,
        /// Useful hops of the resolve.
        hops: u32,
        /// Datagrams the resolve sent.
        messages: u32,
        /// Time the resolve took, milliseconds.
        elapsed_ms: u64,
        /// How long the CPA found stays valid, milliseconds (its Not After, MS-PNRP §2.2.3.1, less
        /// this node's engine time); absent from nodes that predate the field.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        valid_ms: Option<u64>,
    },
    /// The name did not resolve.
    NotFound {
        /// The name asked for.
        name: String,
        /// Why (`ResolveError`'s text).
        reason: String,
    },
    /// The node's state.
    Status {
        /// The snapshot.
        status: NodeStatus,
    },
    /// A request was done and has nothing to report (shutdown).
    Done,
    /// The request was malformed or the node could not serve it.
    Error {
        /// What went wrong.
        message: String,
    },
}

/// What a control interface serves: JSON-line requests of one protocol's node, answered through
/// its driver. PNRP's is [`answer`]; Peer Graphing's is in `graphing.rs`.
pub trait Answer: Clone + Send + Sync + 'static {
    /// A request line, parsed.
    type Request: serde::de::DeserializeOwned + Send;
    /// A response line.
    type Response: Serialize + Send;
    /// Serves one request; the flag says the connection should close afterwards.
    fn answer(&self, req: Self::Request) -> impl std::future::Future<Output = (Self::Response, bool)> + Send;
    /// The response for a request that could not be read.
    fn error(message: String) -> Self::Response;
}

impl Answer for DriverHandle {
    type Request = Request;
    type Response = Response;
    fn answer(&self, req: Request) -> impl std::future::Future<Output = (Response, bool)> + Send {
        answer(req, self)
    }
    fn error(message: String) -> Response {
        Response::Error { message }
    }
}

/// How many control connections a node keeps and how long an idle one lives.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Connections open at once.
    pub connections_max: usize,
    /// Longest wait for a (whole) request line.
    pub idle_timeout: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connections_max: CONNECTIONS_MAX,
            idle_timeout: IDLE_TIMEOUT,
        }
    }
}

/// One open connection: whether it is serving a request, and how to close it.
struct Slot {
    busy: bool,
    close: Arc<Notify>,
}

/// The open connections, oldest first (ids only grow).
type Slots = Arc<Mutex<BTreeMap<u64, Slot>>>;

fn lock(slots: &Slots) -> std::sync::MutexGuard<'_, BTreeMap<u64, Slot>> {
    // A panicking connection task cannot leave the map half-changed: every update is one call.
    slots.lock().unwrap_or_else(|e| e.into_inner())
}

/// Serves control connections until the listener fails; each connection gets its own task.
/// `handle` answers the requests (a PNRP node's [`DriverHandle`], or a graph node's).
pub async fn serve<A: Answer>(listener: TcpListener, handle: A, limits: Limits) {
    let slots: Slots = Arc::default();
    let mut next_id = 0u64;
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let id = next_id;
        next_id += 1;
        let close = Arc::new(Notify::new());
        {
            let mut open = lock(&slots);
            while open.len() >= limits.connections_max.max(1) {
                let victim = open
                    .iter()
                    .find(|(_, s)| !s.busy)
                    .or_else(|| open.iter().next())
                    .map(|(id, _)| *id);
                let Some(victim) = victim.and_then(|v| open.remove(&v)) else {
                    break;
                };
                victim.close.notify_one();
            }
            open.insert(
                id,
                Slot {
                    busy: false,
                    close: close.clone(),
                },
            );
        }
        let (handle, slots) = (handle.clone(), slots.clone());
        tokio::spawn(async move {
            connection(stream, &handle, limits.idle_timeout, &close, |busy| {
                if let Some(s) = lock(&slots).get_mut(&id) {
                    s.busy = busy;
                }
            })
            .await;
            lock(&slots).remove(&id);
        });
    }
}

async fn connection<A: Answer>(
    stream: TcpStream,
    handle: &A,
    idle_timeout: std::time::Duration,
    close: &Notify,
    mut set_busy: impl FnMut(bool),
) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut line = Vec::new();
    loop {
        line.clear();
        set_busy(false);
        let mut limited = (&mut reader).take(REQUEST_BYTES_MAX);
        let read = tokio::time::timeout(idle_timeout, limited.read_until(b'\n', &mut line));
        let n = tokio::select! {
            biased;
            _ = close.notified() => return,
            read = read => match read {
                Ok(Ok(n)) => n,
                // Idle too long, or a read error: either way the slot is freed.
                Ok(Err(_)) | Err(_) => return,
            },
        };
        if n == 0 {
            return;
        }
        set_busy(true);
        let (response, stop) = if line.last() != Some(&b'\n') && n as u64 >= REQUEST_BYTES_MAX {
            let message = format!("request longer than {REQUEST_BYTES_MAX} bytes");
            (A::error(message), true)
        } else {
            match serde_json::from_slice::<A::Request>(&line) {
                Ok(req) => handle.answer(req).await,
                Err(e) => (A::error(format!("bad request: {e}")), false),
            }
        };
        let mut out = serde_json::to_vec(&response).expect("responses serialize");
        out.push(b'\n');
        if write.write_all(&out).await.is_err() || stop {
            return;
        }
    }
}

/// Serves one request; the flag says the connection should close afterwards.
pub async fn answer(req: Request, handle: &DriverHandle) -> (Response, bool) {
    let gone = |_: DriverGone| Response::Error {
        message: "the node is shutting down".into(),
    };
    match req {
        Request::Status {} => match handle.status().await {
            Ok(status) => (Response::Status { status }, false),
            Err(e) => (gone(e), true),
        },
        Request::Shutdown {} => match handle.shutdown().await {
            Ok(()) => (Response::Done, true),
            Err(e) => (gone(e), true),
        },
        Request::Resolve { name, timeout_ms } => {
            let peer_name = match PeerName::parse(&name) {
                Ok(n) => n,
                Err(e) => {
                    let message = format!("`{name}` is not a peer name ({e}); write authority.classifier");
                    return (Response::Error { message }, false);
                }
            };
            let timeout_ms = timeout_ms
                .unwrap_or(DEFAULT_RESOLVE_TIMEOUT_MS)
                .min(RESOLVE_TIMEOUT_MAX_MS);
            let cmd = pnrp::Command::Resolve {
                name: peer_name,
                criteria: ResolveCriteria::AnyPeerName,
                timeout: Duration::from_millis(timeout_ms),
                extended_payload: true,
            };
            match handle.command(cmd).await {
                Ok(pnrp::Event::Resolved { result, stats, .. }) => {
                    (resolved(name, result, stats, handle.now()), false)
                }
                Ok(other) => (
                    Response::Error {
                        message: format!("unexpected completion {other:?}"),
                    },
                    false,
                ),
                Err(e) => (gone(e), true),
            }
        }
    }
}

fn resolved(
    name: String,
    result: Result<pnrp::Resolved, pnrp::ResolveError>,
    stats: pnrp::ResolveStats,
    now: peerlab_engine::Instant,
) -> Response {
    match result {
        Ok(r) => Response::Resolved {
            name,
            id: r.id.to_string(),
            endpoints: r
                .endpoints
                .iter()
                .map(|ep| {
                    let sa = socket_addr_of(*ep);
                    FoundEndpoint {
                        addr: sa.ip().to_string(),
                        port: sa.port(),
                    }
                })
                .collect(),
            hops: stats.useful_hops,
            messages: stats.messages_sent,
            elapsed_ms: stats.elapsed.as_millis(),
            valid_ms: Some(r.cpa.not_after.saturating_since(now).as_millis()),
        },
        Err(e) => Response::NotFound {
            name,
            reason: e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_from_json_lines() {
        let r: Request = serde_json::from_str(r#"{"op":"resolve","name":"0.printer"}"#).unwrap();
        assert_eq!(
            r,
            Request::Resolve {
                name: "0.printer".into(),
                timeout_ms: None
            }
        );
        let s: Request = serde_json::from_str(r#"{"op":"status"}"#).unwrap();
        assert_eq!(s, Request::Status {});
        // Unknown fields are refused, as everywhere else in peerlab.
        for text in [
            r#"{"op":"status","x":1}"#,
            r#"{"op":"shutdown","now":true}"#,
            r#"{"op":"resolve","name":"0.a","x":1}"#,
        ] {
            assert!(serde_json::from_str::<Request>(text).is_err(), "{text}");
        }
        assert!(serde_json::from_str::<Request>(r#"{"op":"explode"}"#).is_err());
        assert!(serde_json::from_str::<Request>(r#"{"op":"resolve"}"#).is_err());
    }

    #[test]
    fn responses_round_trip() {
        let r = Response::NotFound {
            name: "0.x".into(),
            reason: "no".into(),
        };
        let text = serde_json::to_string(&r).unwrap();
        assert!(text.contains(r#""result":"not_found""#), "{text}");
        assert_eq!(serde_json::from_str::<Response>(&text).unwrap(), r);
    }

    /// A node with a control interface on loopback; returns the control address.
    async fn control_node(limits: Limits) -> std::net::SocketAddr {
        use crate::live::{Clock, Driver};
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let me = crate::live::endpoint_of(socket.local_addr().unwrap());
        let clock = Clock::start(peerlab_engine::Instant::ZERO);
        let config = Arc::new(pnrp::PnrpConfig::default());
        let node = pnrp::PnrpNode::new(config, me, Vec::new(), [7; 32], clock.now());
        let (driver, handle) = Driver::new(node, socket, clock);
        tokio::spawn(driver.run());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(serve(listener, handle, limits));
        addr
    }

    /// Sends one status request on `stream` and reads the response line.
    async fn status(stream: TcpStream) -> std::io::Result<String> {
        let (read, mut write) = stream.into_split();
        write.write_all(b"{\"op\":\"status\"}\n").await?;
        let mut line = String::new();
        BufReader::new(read).read_line(&mut line).await?;
        Ok(line)
    }

    #[tokio::test(flavor = "current_thread")]
    async fn idle_connections_never_lock_a_client_out() {
        let addr = control_node(Limits::default()).await;
        // Far more idle connections than slots, all left open (before the fix the 17th client
        // waited forever in the accept queue).
        let mut idle = Vec::new();
        for _ in 0..200 {
            idle.push(TcpStream::connect(addr).await.unwrap());
        }
        let client = TcpStream::connect(addr).await.unwrap();
        let line = tokio::time::timeout(std::time::Duration::from_secs(10), status(client))
            .await
            .expect("a new client is served while 200 idle connections stay open")
            .unwrap();
        assert!(line.contains("\"result\":\"status\""), "{line}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_idle_connection_is_closed_after_the_timeout() {
        let limits = Limits {
            connections_max: 4,
            idle_timeout: std::time::Duration::from_millis(200),
        };
        let addr = control_node(limits).await;
        let mut silent = TcpStream::connect(addr).await.unwrap();
        let mut buf = [0u8; 1];
        let read = tokio::time::timeout(std::time::Duration::from_secs(10), silent.read(&mut buf)).await;
        assert!(
            matches!(read, Ok(Ok(0)) | Ok(Err(_))),
            "the server closed the idle connection: {read:?}"
        );
    }
}
