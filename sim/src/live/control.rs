//! The local control interface of `peerlab node`: JSON lines over a loopback TCP connection.
//!
//! One request per line, one response line per request, on as many connections as a client likes
//! (up to [`CONNECTIONS_MAX`] at once). Requests:
//! `{"op":"resolve","name":"<authority>.<classifier>","timeout_ms":10000}`, `{"op":"status"}`,
//! `{"op":"shutdown"}`. The interface is unauthenticated, so `peerlab node` only binds it to a
//! loopback address.

use super::driver::{DriverGone, DriverHandle, NodeStatus};
use super::socket::socket_addr_of;
use peerlab_engine::pnrp::{self, PeerName, ResolveCriteria};
use peerlab_engine::Duration;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// Longest request line accepted (bound everything, design.md §7).
pub const REQUEST_BYTES_MAX: u64 = 16 * 1024;
/// Control connections served at once; further ones wait in the accept queue.
pub const CONNECTIONS_MAX: usize = 16;
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
    Status,
    /// Leave the cloud and stop the node.
    Shutdown,
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

/// Serves control connections until the listener fails; each connection gets its own task.
pub async fn serve(listener: TcpListener, handle: DriverHandle) {
    let slots = Arc::new(tokio::sync::Semaphore::new(CONNECTIONS_MAX));
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let handle = handle.clone();
        tokio::spawn(async move {
            connection(stream, handle).await;
            drop(permit);
        });
    }
}

async fn connection(stream: TcpStream, handle: DriverHandle) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = match (&mut reader)
            .take(REQUEST_BYTES_MAX)
            .read_until(b'\n', &mut line)
            .await
        {
            Ok(n) => n,
            Err(_) => return,
        };
        if n == 0 {
            return;
        }
        let (response, stop) = if line.last() != Some(&b'\n') && n as u64 >= REQUEST_BYTES_MAX {
            let message = format!("request longer than {REQUEST_BYTES_MAX} bytes");
            (Response::Error { message }, true)
        } else {
            match serde_json::from_slice::<Request>(&line) {
                Ok(req) => answer(req, &handle).await,
                Err(e) => (
                    Response::Error {
                        message: format!("bad request: {e}"),
                    },
                    false,
                ),
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
        Request::Status => match handle.status().await {
            Ok(status) => (Response::Status { status }, false),
            Err(e) => (gone(e), true),
        },
        Request::Shutdown => match handle.shutdown().await {
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
            };
            match handle.command(cmd).await {
                Ok(pnrp::Event::Resolved { result, stats, .. }) => (resolved(name, result, stats), false),
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
        assert_eq!(s, Request::Status);
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
}
