//! `peerlab resolve --via ADDR NAME` and `peerlab status --via ADDR`: clients of a running
//! `peerlab node`'s control interface (see `control.rs` for the protocol).

use super::control::{Request, Response, RESOLVE_TIMEOUT_MAX_MS};
use super::driver::NodeStatus;
use clap::Args;
use peerlab_engine::pnrp::PeerName;
use peerlab_engine::Duration;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};

/// Exit code: found (resolve) or answered (status).
pub const EXIT_OK: u8 = 0;
/// Exit code: the name was not found.
pub const EXIT_NOT_FOUND: u8 = 1;
/// Exit code: bad input, or the node could not be reached.
pub const EXIT_ERROR: u8 = 2;

/// `peerlab resolve` options.
#[derive(Debug, Args, Clone)]
pub struct ResolveArgs {
    /// Control address of the node to resolve through (its `--control`).
    #[arg(long, value_name = "ADDR")]
    pub via: SocketAddr,
    /// Full peer name: `<40 hex digits>.<classifier>` (secured) or `0.<classifier>` (unsecured).
    pub name: String,
    /// Resolve deadline.
    #[arg(long, default_value = "10s")]
    pub timeout: Duration,
    /// Print the raw JSON response.
    #[arg(long)]
    pub json: bool,
}

/// `peerlab status` options.
#[derive(Debug, Args, Clone)]
pub struct StatusArgs {
    /// Control address of the node (its `--control`).
    #[arg(long, value_name = "ADDR")]
    pub via: SocketAddr,
    /// Print the raw JSON response.
    #[arg(long)]
    pub json: bool,
}

/// Why a control request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No node answers at the address.
    #[error("cannot reach the node's control interface at {addr}: {source}")]
    Connect {
        /// The address tried.
        addr: SocketAddr,
        /// The socket error.
        source: std::io::Error,
    },
    /// The connection broke.
    #[error("control connection to {addr} failed: {source}")]
    Io {
        /// The address.
        addr: SocketAddr,
        /// The socket error.
        source: std::io::Error,
    },
    /// The node answered something that is not a response.
    #[error("the node at {addr} sent an unreadable response: {detail}")]
    Protocol {
        /// The address.
        addr: SocketAddr,
        /// What was wrong.
        detail: String,
    },
}

/// Sends one request and reads one response; `wait` bounds the whole exchange.
pub fn request<Req: serde::Serialize, Resp: serde::de::DeserializeOwned>(
    via: SocketAddr,
    req: &Req,
    wait: std::time::Duration,
) -> Result<Resp, ClientError> {
    let io = |source| ClientError::Io { addr: via, source };
    let mut stream = TcpStream::connect_timeout(&via, std::time::Duration::from_secs(5))
        .map_err(|source| ClientError::Connect { addr: via, source })?;
    stream.set_read_timeout(Some(wait)).map_err(io)?;
    let mut line = serde_json::to_vec(req).expect("requests serialize");
    line.push(b'\n');
    stream.write_all(&line).map_err(io)?;
    let mut reader = BufReader::new(stream);
    let mut answer = String::new();
    reader.read_line(&mut answer).map_err(io)?;
    serde_json::from_str(&answer).map_err(|e| ClientError::Protocol {
        addr: via,
        detail: if answer.is_empty() {
            "the connection closed without an answer".into()
        } else {
            e.to_string()
        },
    })
}

/// `peerlab resolve`: prints the endpoints found; exit 0 found, 1 not found, 2 error.
pub fn resolve_command(args: &ResolveArgs) -> u8 {
    if let Err(e) = PeerName::parse(&args.name) {
        eprintln!(
            "error: `{}` is not a peer name ({e}); write <authority>.<classifier> as `peerlab status` shows it, \
             or 0.<classifier> for an unsecured name",
            args.name
        );
        return EXIT_ERROR;
    }
    let timeout_ms = args.timeout.as_millis().clamp(1, RESOLVE_TIMEOUT_MAX_MS);
    let req = Request::Resolve {
        name: args.name.clone(),
        timeout_ms: Some(timeout_ms),
    };
    let wait = std::time::Duration::from_millis(timeout_ms + 5_000);
    let response = match request(args.via, &req, wait) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&response).expect("responses serialize")
        );
    }
    match response {
        Response::Resolved {
            endpoints,
            id,
            hops,
            elapsed_ms,
            ..
        } => {
            if !args.json {
                for ep in &endpoints {
                    let shown: SocketAddr = match ep.addr.parse::<std::net::IpAddr>() {
                        Ok(ip) => SocketAddr::new(ip, ep.port),
                        Err(_) => {
                            println!("{} {}", ep.addr, ep.port);
                            continue;
                        }
                    };
                    println!("{shown}");
                }
                eprintln!("id {id} · {hops} hops · {elapsed_ms} ms");
            }
            EXIT_OK
        }
        Response::NotFound { name, reason } => {
            if !args.json {
                eprintln!("not found: {name}: {reason}");
            }
            EXIT_NOT_FOUND
        }
        Response::Error { message } => {
            eprintln!("error: {message}");
            EXIT_ERROR
        }
        other => {
            eprintln!("error: unexpected answer {other:?}");
            EXIT_ERROR
        }
    }
}

/// `peerlab status`: prints the cache by level, leaf sets and registrations.
pub fn status_command(args: &StatusArgs) -> u8 {
    match request(args.via, &Request::Status {}, std::time::Duration::from_secs(10)) {
        Ok(Response::Status { status }) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&status).expect("status serializes")
                );
            } else {
                print!("{}", render_status(&status));
            }
            EXIT_OK
        }
        Ok(Response::Error { message }) => {
            eprintln!("error: {message}");
            EXIT_ERROR
        }
        Ok(other) => {
            eprintln!("error: unexpected answer {other:?}");
            EXIT_ERROR
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_ERROR
        }
    }
}

/// The human-readable status text.
pub fn render_status(s: &NodeStatus) -> String {
    let mut out = String::new();
    let total: usize = s.cache_levels.iter().sum();
    out.push_str(&format!("node {} · up {:.1} s\n", s.local, s.now_us as f64 / 1e6));
    let levels: Vec<String> = s
        .cache_levels
        .iter()
        .enumerate()
        .map(|(i, n)| format!("L{i} {n}"))
        .collect();
    out.push_str(&format!(
        "cache: {total} entries; by level: {}\n",
        levels.join(", ")
    ));
    out.push_str(&format!("registrations: {}\n", s.registrations.len()));
    for r in &s.registrations {
        out.push_str(&format!("  {}\n    id    {}\n", r.name, r.id));
        out.push_str(&format!("    leaf set below ({}):", r.leaf_below.len()));
        for id in &r.leaf_below {
            out.push_str(&format!(" {id}"));
        }
        out.push_str(&format!("\n    leaf set above ({}):", r.leaf_above.len()));
        for id in &r.leaf_above {
            out.push_str(&format!(" {id}"));
        }
        out.push('\n');
    }
    let d = &s.driver;
    out.push_str(&format!(
        "datagrams: sent {}, received {}, undecodable {}, send errors {}\n",
        d.sent, d.received, d.decode_errors, d.send_errors
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreachable_control_address_is_a_clear_error() {
        // Bind then drop a listener so the port is (almost certainly) closed.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let err =
            request::<_, Response>(addr, &Request::Status {}, std::time::Duration::from_secs(1)).unwrap_err();
        assert!(matches!(err, ClientError::Connect { .. }), "{err}");
        assert!(err.to_string().contains("cannot reach"), "{err}");
    }

    #[test]
    fn status_text_lists_levels_and_leaf_sets() {
        let s = NodeStatus {
            local: "[::ffff:127.0.0.1]:4000".into(),
            now_us: 2_500_000,
            cache_levels: vec![3, 1],
            cache_ids: vec![],
            registrations: vec![super::super::driver::RegistrationStatus {
                name: "0.x".into(),
                id: "ab".into(),
                leaf_below: vec!["aa".into()],
                leaf_above: vec![],
            }],
            driver: Default::default(),
        };
        let text = render_status(&s);
        assert!(text.contains("cache: 4 entries; by level: L0 3, L1 1"), "{text}");
        assert!(text.contains("leaf set below (1): aa"), "{text}");
        assert!(text.contains("up 2.5 s"), "{text}");
    }
}
