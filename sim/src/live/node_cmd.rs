//! `peerlab node`: one real PNRP peer on a real UDP socket, driven by the live driver, with a local
//! control interface for `peerlab resolve|status --via`.
//!
//! Exit codes: 0 after a clean Ctrl-C (or a control `shutdown`), 2 for bad flags or an address the
//! node cannot use. Nothing here panics on user input.

use super::control;
use super::driver::{Clock, Driver, DriverHandle, DriverStats};
use super::key_file::{insecure_secret, node_key, os_random, KeySource};
use super::live_node::LiveNode;
use super::socket::{endpoint_of, DatagramSocket};
use clap::{Args, ValueEnum};
use peerlab_engine::crypto::{Identity, Scheme};
use peerlab_engine::pnrp::{self, PeerName, PnrpConfig, PnrpNode};
use peerlab_engine::{Endpoint, Instant};
use serde::Deserialize;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

/// Exit code for bad flags or unusable addresses.
pub const EXIT_BAD_INPUT: u8 = 2;
/// The only cloud a node joins (MS-PNRP §1.3.3, peerlab choice: one global cloud per node).
pub const GLOBAL_CLOUD: &str = "Global_";
/// Lowest port PNRP accepts in route entries (MS-PNRP §3.1.5.2: ports must be > 1024).
pub const PORT_MIN: u16 = 1025;

/// Signature scheme of the node's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CryptoArg {
    /// RSA-1024 with SHA-1, as MS-PNRP specifies.
    Rsa1024,
    /// Ed25519 (faster; not interoperable with Windows).
    Ed25519,
}

/// `peerlab node` options.
#[derive(Debug, Args, Clone)]
pub struct NodeArgs {
    /// UDP address to listen on, e.g. `127.0.0.1:3540` or `[::1]:3540` (port 0 = any free port).
    #[arg(long, value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Seed servers to bootstrap from (MS-PNRP §3.1.4.2); none for the first node of a cloud.
    #[arg(long = "seed-server", value_name = "ADDR", num_args = 1..)]
    pub seed_servers: Vec<SocketAddr>,
    /// Names to register: a classifier (registered as a secured name under this node's key), or a
    /// full `authority.classifier` / `0.classifier`.
    #[arg(long, value_name = "NAME", num_args = 1..)]
    pub register: Vec<String>,
    /// Cloud to join (only `Global_` is supported).
    #[arg(long, default_value = GLOBAL_CLOUD)]
    pub cloud: String,
    /// Loopback TCP address of the control interface, e.g. `127.0.0.1:3541` (port 0 = any).
    #[arg(long, value_name = "ADDR")]
    pub control: Option<SocketAddr>,
    /// File holding the node's key: read when it exists, else created (owner-only) from the OS's
    /// randomness, so a restarted node keeps its secured names. Without it the key is ephemeral.
    #[arg(long, value_name = "PATH", conflicts_with = "insecure_key_seed")]
    pub key_file: Option<std::path::PathBuf>,
    /// INSECURE, for reproducible test rigs only: derive the key pair from this text. Anyone who
    /// knows the text can register this node's secured names; the node warns when it is used.
    #[arg(long, value_name = "TEXT")]
    pub insecure_key_seed: Option<String>,
    /// Signature scheme.
    #[arg(long, value_enum, default_value = "rsa1024")]
    pub crypto: CryptoArg,
    /// Override a PNRP constant, e.g. `--set-pnrp maintenance_period=2s` (keys of a scenario's `[pnrp]`).
    #[arg(long = "set-pnrp", value_name = "KEY=VALUE")]
    pub set_pnrp: Vec<String>,
    /// Run a Peer Graphing node of this graph (MS-PPGRH) instead of a PNRP node; `--listen` is
    /// then its TCP address. Needs `--create` or `--join`.
    #[arg(long, value_name = "GRAPH_ID", conflicts_with_all = ["register", "seed_servers", "set_pnrp"])]
    pub graph: Option<String>,
    /// With `--graph`: create the graph (its first node).
    #[arg(long, requires = "graph", conflicts_with = "join")]
    pub create: bool,
    /// With `--graph`: join the graph through the member listening at ADDR.
    #[arg(long, value_name = "ADDR", requires = "graph")]
    pub join: Option<SocketAddr>,
    /// With `--graph`: this node's peer id (default `peerlab-` and its node id).
    #[arg(long, value_name = "ID", requires = "graph")]
    pub peer_id: Option<String>,
}

/// What `peerlab node` was asked to run, validated.
#[derive(Debug)]
pub struct NodePlan {
    /// PNRP constants.
    pub config: PnrpConfig,
    /// The node's key pair.
    pub identity: Arc<Identity>,
    /// Names to register.
    pub names: Vec<PeerName>,
    /// Seed servers as engine endpoints.
    pub seeds: Vec<Endpoint>,
    /// Engine RNG seed.
    pub rng_seed: [u8; 32],
    /// Where the key came from, as the start-up line says it.
    pub key_origin: String,
}

/// Builds a [`PnrpConfig`] from `key=value` overrides (values are TOML; bare words are strings),
/// with the bounds a scenario's `[pnrp]` table has; test-only switches are refused.
pub fn pnrp_config(sets: &[String]) -> Result<PnrpConfig, String> {
    let mut table = toml::Table::new();
    for s in sets {
        let (key, value) = s
            .split_once('=')
            .ok_or_else(|| format!("--set-pnrp `{s}`: write KEY=VALUE, e.g. maintenance_period=2s"))?;
        let (key, value) = (key.trim(), value.trim());
        let parsed = toml::from_str::<toml::Table>(&format!("v = {value}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(value.to_string()));
        table.insert(key.to_string(), parsed);
    }
    if table.contains_key("inject_bug") {
        return Err("--set-pnrp inject_bug: a test-only switch of the simulator, not a node option".into());
    }
    let config = PnrpConfig::deserialize(toml::Value::Table(table)).map_err(|e| {
        let e = crate::scenario::without_test_only_keys(&e.to_string());
        format!("--set-pnrp: {e}")
    })?;
    let issues = crate::scenario::pnrp_config_issues(&config);
    if issues.is_empty() {
        return Ok(config);
    }
    Err(issues
        .iter()
        .map(|i| format!("--set-pnrp {}: {}; allowed: {}", i.key, i.what, i.allowed))
        .collect::<Vec<_>>()
        .join("\n"))
}

/// Lower-case hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The peer name a `--register` argument stands for under `identity`.
pub fn name_for(text: &str, identity: &Identity) -> Result<PeerName, String> {
    // A full name (authority `0` or 40 hex digits, a dot, a classifier) is taken as it is;
    // anything else is a classifier of a secured name under our key (MS-PNRP §1.3.1.1).
    if let Ok(name) = PeerName::parse(text) {
        if name.is_secured() && name.authority != identity.authority() {
            return Err(format!(
                "--register {text}: the authority is not this node's key; give just the classifier, \
                 or the node's --key-file"
            ));
        }
        return Ok(name);
    }
    PeerName::secured(identity.authority(), text).map_err(|e| format!("--register {text}: {e}"))
}

/// The control interface is unauthenticated: it may only listen on loopback.
pub fn check_control(control: Option<SocketAddr>) -> Result<(), String> {
    match control {
        Some(c) if !c.ip().is_loopback() => Err(format!(
            "--control {c}: the control interface is unauthenticated; bind it to a loopback address (127.0.0.1 or ::1)"
        )),
        _ => Ok(()),
    }
}

/// Validates the flags (everything that can be checked before binding sockets).
pub fn plan(args: &NodeArgs) -> Result<NodePlan, String> {
    if args.cloud != GLOBAL_CLOUD {
        return Err(format!(
            "--cloud {}: only the `{GLOBAL_CLOUD}` cloud is supported (one global cloud per node)",
            args.cloud
        ));
    }
    if args.listen.ip().is_unspecified() {
        return Err(format!(
            "--listen {}: give a concrete address (the node advertises it in its CPAs), e.g. 127.0.0.1:3540",
            args.listen
        ));
    }
    if args.listen.port() != 0 && args.listen.port() < PORT_MIN {
        return Err(format!(
            "--listen {}: PNRP ports must be above 1024 (MS-PNRP §3.1.5.2)",
            args.listen
        ));
    }
    check_control(args.control)?;
    for s in &args.seed_servers {
        if s.is_ipv4() != args.listen.is_ipv4() {
            return Err(format!(
                "--seed-server {s}: an {} socket cannot reach it; listen on the same IP family",
                if args.listen.is_ipv4() { "IPv4" } else { "IPv6" }
            ));
        }
        if s.ip().is_unspecified() || s.port() == 0 {
            return Err(format!("--seed-server {s}: not a reachable address"));
        }
    }
    let config = pnrp_config(&args.set_pnrp)?;
    let ((identity, names, rng_seed), key_origin) = keys(args)?;
    Ok(NodePlan {
        config,
        identity,
        names,
        seeds: args.seed_servers.iter().map(|s| endpoint_of(*s)).collect(),
        rng_seed,
        key_origin,
    })
}

/// A node's key pair, its names and its engine RNG seed.
type Keys = (Arc<Identity>, Vec<PeerName>, [u8; 32]);

/// Where `args` says the key comes from.
pub fn key_source(args: &NodeArgs) -> KeySource {
    match (&args.key_file, &args.insecure_key_seed) {
        (Some(path), _) => KeySource::File(path.clone()),
        (None, Some(text)) => KeySource::InsecureSeed(text.clone()),
        (None, None) => KeySource::Ephemeral,
    }
}

/// The key pair (from the key file, the OS's randomness, or the insecure seed), the names under
/// it and the engine RNG seed (always from the OS's randomness, except under the insecure seed,
/// where a test rig wants the whole node reproducible).
fn keys(args: &NodeArgs) -> Result<(Keys, String), String> {
    let scheme = match args.crypto {
        CryptoArg::Rsa1024 => Scheme::Rsa1024Sha1,
        CryptoArg::Ed25519 => Scheme::Ed25519,
    };
    let key = node_key(&key_source(args), scheme)?;
    let names = args
        .register
        .iter()
        .map(|n| name_for(n, &key.identity))
        .collect::<Result<Vec<_>, _>>()?;
    let rng_seed = match &args.insecure_key_seed {
        Some(text) => insecure_secret(&format!("rng:{text}")),
        None => os_random()?,
    };
    Ok(((key.identity, names, rng_seed), key.origin))
}

/// `peerlab node`.
pub fn node_command(args: &NodeArgs) -> u8 {
    if args.graph.is_some() {
        return super::graphing_node::graph_node_command(args);
    }
    let plan = match plan(args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    run_to_exit(run_node(args, plan))
}

/// Runs `task` on a single-threaded tokio runtime: exit 0, or [`EXIT_BAD_INPUT`] with its error.
pub fn run_to_exit(task: impl std::future::Future<Output = Result<(), String>>) -> u8 {
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    match rt.block_on(task) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_BAD_INPUT
        }
    }
}

async fn run_node(args: &NodeArgs, plan: NodePlan) -> Result<(), String> {
    let socket = tokio::net::UdpSocket::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on udp {}: {e}", args.listen))?;
    let local = DatagramSocket::local_addr(&socket).map_err(|e| format!("udp {}: {e}", args.listen))?;
    let control = match args.control {
        Some(c) => Some(
            tokio::net::TcpListener::bind(c)
                .await
                .map_err(|e| format!("cannot open the control interface on tcp {c}: {e}"))?,
        ),
        None => None,
    };
    let control_addr = match &control {
        Some(l) => Some(l.local_addr().map_err(|e| format!("control interface: {e}"))?),
        None => None,
    };
    let clock = Clock::start(Instant::ZERO);
    let me = endpoint_of(local);
    let seeds: Vec<Endpoint> = plan.seeds.iter().copied().filter(|s| *s != me).collect();
    let node = PnrpNode::new(
        Arc::new(plan.config),
        me,
        seeds.clone(),
        plan.rng_seed,
        clock.now(),
    );
    let (driver, handle) = Driver::new(node, socket, clock);
    if args.insecure_key_seed.is_some() {
        eprintln!(
            "warning: --insecure-key-seed: this node's key is derived from a text; anyone who knows it \
             can register this node's secured names. Use it only in test rigs."
        );
    }
    say(&format!(
        "listening udp={local} control={} endpoint={me} seeds={}",
        control_addr.map_or("none".to_string(), |c| c.to_string()),
        seeds.len()
    ));
    say(&format!(
        "key: {} authority={}",
        plan.key_origin,
        hex(&plan.identity.authority())
    ));
    if let Some(listener) = control {
        tokio::spawn(control::serve(
            listener,
            handle.clone(),
            control::Limits::default(),
        ));
    }
    tokio::spawn(register_all(
        handle.clone(),
        plan.identity,
        plan.names,
        !seeds.is_empty(),
    ));
    let stats = run_until_interrupted(driver.run(), &handle, "interrupted: leaving the cloud").await;
    say(&format!(
        "stopped: sent {} received {} undecodable {} send_errors {}",
        stats.sent, stats.received, stats.decode_errors, stats.send_errors
    ));
    Ok(())
}

/// Runs a driver until it stops or Ctrl-C; on Ctrl-C says `line`, asks the driver to leave and
/// waits for it. Returns the driver's counters.
pub async fn run_until_interrupted<N: LiveNode>(
    run: impl std::future::Future<Output = DriverStats>,
    handle: &DriverHandle<N>,
    line: &str,
) -> DriverStats {
    tokio::pin!(run);
    tokio::select! {
        biased;
        stats = &mut run => stats,
        _ = tokio::signal::ctrl_c() => {
            say(line);
            let (_, stats) = tokio::join!(handle.shutdown(), &mut run);
            stats
        }
    }
}

/// Registers every name and reports each outcome on stdout; warns when no seed server answers.
async fn register_all(handle: DriverHandle, identity: Arc<Identity>, names: Vec<PeerName>, has_seeds: bool) {
    for name in names {
        let cmd = pnrp::Command::Register {
            name: name.clone(),
            identity: identity.clone(),
            app_endpoints: Vec::new(),
            friendly_name: None,
            service_location_prefix: None,
            payload: None,
        };
        match handle.command(cmd).await {
            Ok(pnrp::Event::Registered { id, .. }) => say(&format!("registered {name} id={id}")),
            Ok(pnrp::Event::RegisterFailed { reason, .. }) => {
                say(&format!("register failed {name}: {reason}"))
            }
            Ok(other) => say(&format!("register {name}: unexpected {other:?}")),
            Err(_) => return,
        }
    }
    if has_seeds {
        // UDP cannot tell "unreachable" from "slow": after a while, say so plainly.
        tokio::time::sleep(std::time::Duration::from_secs(10)).await;
        if let Ok(s) = handle.status().await {
            if s.cache_levels.iter().sum::<usize>() == 0 {
                eprintln!(
                    "warning: no seed server has answered in 10 s ({} datagrams sent, {} send errors); still trying",
                    s.driver.sent, s.driver.send_errors
                );
            }
        }
    }
}

/// Prints a line and flushes (stdout may be a pipe read line by line).
/// Prints one line on stdout at once (start-up and stop lines that tests and scripts read).
pub fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        node: NodeArgs,
    }

    fn args(extra: &[&str]) -> Result<NodeArgs, clap::Error> {
        let mut v = vec!["t", "--crypto", "ed25519"];
        v.extend_from_slice(extra);
        T::try_parse_from(v).map(|t| t.node)
    }

    #[test]
    fn pnrp_overrides_take_units_numbers_and_reject_unknown_keys() {
        let c = pnrp_config(&["maintenance_period=2s".into(), "leaf_set_side=3".into()]).unwrap();
        assert_eq!(c.maintenance_period, peerlab_engine::Duration::from_secs(2));
        assert_eq!(c.leaf_set_side, 3);
        assert!(pnrp_config(&["no_such_knob=1".into()])
            .unwrap_err()
            .contains("no_such_knob"));
        assert!(pnrp_config(&["novalue".into()]).is_err());
    }

    #[test]
    fn classifiers_become_secured_names_under_the_node_key() {
        let a = args(&["--listen", "127.0.0.1:4000", "--register", "printer", "0.open"]).unwrap();
        let p = plan(&a).unwrap();
        assert!(p.names[0].is_secured());
        assert_eq!(p.names[0].authority, p.identity.authority());
        assert!(!p.names[1].is_secured());
    }

    #[test]
    fn keys_never_derive_from_the_address() {
        // Two nodes started alike on the same address get different keys (the address is public:
        // a key derived from it let anyone take over the node's secured names).
        let a = args(&["--listen", "127.0.0.1:4000", "--register", "printer"]).unwrap();
        let (first, second) = (plan(&a).unwrap(), plan(&a).unwrap());
        assert_ne!(first.identity.authority(), second.identity.authority());
        assert_ne!(first.names[0], second.names[0]);
        assert_ne!(first.rng_seed, second.rng_seed);
        assert!(first.key_origin.starts_with("ephemeral"));
        // The insecure seed is reproducible and says what it is.
        let rig = args(&[
            "--listen",
            "127.0.0.1:4000",
            "--insecure-key-seed",
            "rig",
            "--register",
            "p",
        ])
        .unwrap();
        let (r1, r2) = (plan(&rig).unwrap(), plan(&rig).unwrap());
        assert_eq!(r1.names[0], r2.names[0]);
        assert_eq!(r1.rng_seed, r2.rng_seed);
        assert!(r1.key_origin.contains("insecure"));
        // And the listen address is not such a seed.
        let victim = args(&[
            "--listen",
            "127.0.0.1:4001",
            "--insecure-key-seed",
            "127.0.0.1:4000",
        ])
        .unwrap();
        assert_ne!(
            plan(&victim).unwrap().identity.authority(),
            first.identity.authority()
        );
        assert!(args(&[
            "--listen",
            "127.0.0.1:4000",
            "--key-file",
            "k",
            "--insecure-key-seed",
            "x"
        ])
        .is_err());
    }

    #[test]
    fn pnrp_overrides_have_the_scenario_bounds() {
        let err = pnrp_config(&["cache_levels_max=1000000000".into()]).unwrap_err();
        assert!(
            err.contains("cache_levels_max") && err.contains("allowed"),
            "{err}"
        );
        assert!(pnrp_config(&["maintenance_period=0s".into()])
            .unwrap_err()
            .contains("maintenance_period"));
        assert!(pnrp_config(&["maintenance_period=1ms".into()])
            .unwrap_err()
            .contains("at least 1s"));
        assert!(pnrp_config(&["retry_count=0".into()])
            .unwrap_err()
            .contains("retry_count"));
        assert!(pnrp_config(&["inject_bug=skip-cpa-verify".into()])
            .unwrap_err()
            .contains("test-only"));
        let unknown = pnrp_config(&["bogus=1".into()]).unwrap_err();
        assert!(
            unknown.contains("`split_k`") && !unknown.contains("inject_bug"),
            "{unknown}"
        );
    }

    #[test]
    fn bad_flags_are_clear_errors() {
        let bad = |extra: &[&str]| plan(&args(extra).unwrap()).unwrap_err();
        assert!(bad(&["--listen", "0.0.0.0:4000"]).contains("concrete address"));
        assert!(bad(&["--listen", "127.0.0.1:80"]).contains("above 1024"));
        assert!(bad(&["--listen", "127.0.0.1:4000", "--cloud", "LinkLocal_x"]).contains("Global_"));
        assert!(bad(&["--listen", "127.0.0.1:4000", "--control", "10.0.0.1:5000"]).contains("loopback"));
        assert!(bad(&["--listen", "127.0.0.1:4000", "--seed-server", "[::1]:4001"]).contains("IP family"));
        let foreign = format!("{}.x", "ab".repeat(20));
        assert!(bad(&["--listen", "127.0.0.1:4000", "--register", &foreign]).contains("authority"));
        assert!(args(&["--listen", "nonsense"]).is_err());
    }

    #[test]
    fn a_busy_port_is_a_clear_error_not_a_panic() {
        let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let a = args(&["--listen", &taken.local_addr().unwrap().to_string()]).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let err = rt.block_on(run_node(&a, plan(&a).unwrap())).unwrap_err();
        assert!(err.contains("cannot listen on udp"), "{err}");
    }
}
