//! `peerlab node --graph GRAPH_ID (--create | --join ADDR)`: one real Peer Graphing node
//! (MS-PPGRH) on TCP, driven by the live driver, with the control interface of `graphing.rs`.
//!
//! `--listen` is the node's TCP address (the driver also holds a UDP socket there, unused:
//! Peer Graphing sends no datagrams). The creator listens at once; a joiner connects to `--join`,
//! synchronizes, then listens (MS-PPGRH §3.1.4.8). Exit codes as for a PNRP node.

use super::driver::{Clock, Driver, DriverHandle};
use super::graphing::serve_control;
use super::key_file::os_random;
use super::node_cmd::{check_control, run_to_exit, run_until_interrupted, say, NodeArgs, EXIT_BAD_INPUT};
use super::socket::{endpoint_of, DatagramSocket};
use peerlab_engine::graphing::{
    Bootstrap, GraphCommand, GraphConfig, GraphEvent, GraphNode, LocalClock, PeerTime,
};
use peerlab_engine::{Endpoint, Instant};
use std::net::SocketAddr;

/// Longest graph id or peer id, in UTF-16 characters before the NUL (MS-PPGRH §1.1: 256 with
/// the NUL).
pub const ID_CHARS_MAX: usize = 255;

/// What `peerlab node --graph` was asked to run, validated.
#[derive(Debug, Clone)]
pub struct GraphPlan {
    /// The graph's configuration (graph id and peer id set, the rest MS-PPGRH's defaults).
    pub config: GraphConfig,
    /// Create the graph, or join it through this member.
    pub join: Option<Endpoint>,
    /// The node id, fresh on every start (MS-PPGRH §3.1.4.1-2).
    pub node_id: u64,
    /// Engine RNG seed.
    pub rng_seed: [u8; 32],
}

fn check_id(text: &str, flag: &str) -> Result<(), String> {
    let chars = text.encode_utf16().count();
    if chars == 0 || chars > ID_CHARS_MAX || text.contains('\0') {
        return Err(format!(
            "{flag} `{text}`: give 1 to {ID_CHARS_MAX} characters without NUL (MS-PPGRH §1.1)"
        ));
    }
    Ok(())
}

/// Validates the graph flags (everything that can be checked before binding sockets).
pub fn graph_plan(args: &NodeArgs) -> Result<GraphPlan, String> {
    let graph_id = args.graph.clone().unwrap_or_default();
    check_id(&graph_id, "--graph")?;
    if args.create == args.join.is_some() {
        return Err("--graph: give exactly one of --create (the first node) or --join ADDR".into());
    }
    if args.listen.ip().is_unspecified() {
        return Err(format!(
            "--listen {}: give a concrete address (the node advertises it to the graph), e.g. 127.0.0.1:3587",
            args.listen
        ));
    }
    check_control(args.control)?;
    if let Some(j) = args.join {
        if j.is_ipv4() != args.listen.is_ipv4() || j.ip().is_unspecified() || j.port() == 0 {
            return Err(format!(
                "--join {j}: give a member's concrete address in the --listen address's IP family"
            ));
        }
    }
    let seed = os_random()?;
    let node_id = u64::from_be_bytes(seed[..8].try_into().expect("32 bytes hold 8"));
    let peer_id = args
        .peer_id
        .clone()
        .unwrap_or_else(|| format!("peerlab-{node_id:016x}"));
    check_id(&peer_id, "--peer-id")?;
    Ok(GraphPlan {
        config: GraphConfig::new(graph_id, peer_id),
        join: args.join.map(endpoint_of),
        node_id,
        rng_seed: os_random()?,
    })
}

/// The OS's UTC clock at engine time zero, as a FILETIME: the one place a live graph node reads
/// the wall clock (peer time starts from local UTC, MS-PPGRH §1.3.6).
// docs/architecture.md §3: the engine never reads a clock; the live path is where real time enters.
#[allow(clippy::disallowed_methods)]
pub fn os_local_clock() -> LocalClock {
    /// 100 ns ticks from 1601-01-01 to 1970-01-01.
    const UNIX_EPOCH_TICKS: u64 = 116_444_736_000_000_000;
    let since_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    LocalClock {
        epoch: PeerTime(UNIX_EPOCH_TICKS + (since_unix.as_nanos() / 100) as u64),
    }
}

/// The driver of a graph node bound at `listen` (the UDP socket there fixes the port the node
/// listens on over TCP), its handle and the bound address. The caller runs `driver.run()`: a
/// node's security provider need not be `Send`, so the driver stays on the caller's thread.
pub async fn graph_driver(
    listen: SocketAddr,
    plan: GraphPlan,
    clock: LocalClock,
) -> Result<(GraphDriver, DriverHandle<GraphNode>, SocketAddr), String> {
    let socket = tokio::net::UdpSocket::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let local = DatagramSocket::local_addr(&socket).map_err(|e| format!("{listen}: {e}"))?;
    let mut config = plan.config;
    config.port = local.port();
    let node = GraphNode::new(config, plan.node_id, clock, plan.rng_seed, endpoint_of(local));
    let (driver, handle) = Driver::new(node, socket, Clock::start(Instant::ZERO));
    Ok((driver, handle, local))
}

/// A live graph node's driver.
pub type GraphDriver = Driver<tokio::net::UdpSocket, GraphNode>;

/// `peerlab node --graph ...`.
pub fn graph_node_command(args: &NodeArgs) -> u8 {
    match graph_plan(args) {
        Ok(plan) => run_to_exit(run_graph_node(args, plan)),
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_BAD_INPUT
        }
    }
}

async fn run_graph_node(args: &NodeArgs, plan: GraphPlan) -> Result<(), String> {
    let control = match args.control {
        Some(c) => Some(
            tokio::net::TcpListener::bind(c)
                .await
                .map_err(|e| format!("cannot open the control interface on tcp {c}: {e}"))?,
        ),
        None => None,
    };
    let control_addr = control.as_ref().and_then(|l| l.local_addr().ok());
    let join = plan.join;
    let (graph_id, peer_id, node_id) = (
        plan.config.graph_id.clone(),
        plan.config.peer_id.clone(),
        plan.node_id,
    );
    let (driver, handle, local) = graph_driver(args.listen, plan, os_local_clock()).await?;
    say(&format!(
        "graph={graph_id} peer_id={peer_id} node_id={node_id:016x} listening tcp={local} control={}",
        control_addr.map_or("none".to_string(), |c| c.to_string())
    ));
    if let Some(listener) = control {
        tokio::spawn(serve_control(listener, handle.clone()));
    }
    tokio::spawn(enter_graph(handle.clone(), join));
    let stats = run_until_interrupted(driver.run(), &handle, "interrupted: leaving the graph").await;
    say(&format!(
        "stopped: messages sent {} received {} stream errors {} connections accepted {}",
        stats.frames_sent, stats.frames_received, stats.frame_errors, stats.connections_accepted
    ));
    Ok(())
}

/// Creates the graph, or joins it through `join`, and says how it went on stdout.
async fn enter_graph(handle: DriverHandle<GraphNode>, join: Option<Endpoint>) {
    let cmd = match join {
        Some(ep) => GraphCommand::Join(Bootstrap::Address(ep)),
        None => GraphCommand::Create,
    };
    match handle.command(cmd).await {
        Ok(GraphEvent::Done { .. }) if join.is_some() => say("joined: synchronized with the graph"),
        Ok(GraphEvent::Done { .. }) => say("created the graph"),
        Ok(GraphEvent::Failed { error, .. }) => say(&format!("could not enter the graph: {error:?}")),
        Ok(other) => say(&format!("unexpected completion {other:?}")),
        Err(_) => {}
    }
}

#[cfg(test)]
#[path = "graphing_node_tests.rs"]
mod tests;
