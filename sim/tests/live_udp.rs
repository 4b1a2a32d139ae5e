//! A real network: five `peerlab node` processes on 127.0.0.1 UDP ports form a cloud,
//! register secured names, and resolve each other through the control interface with
//! `peerlab resolve --via`. Bounded in time; every child is killed by a guard, even on failure.

// This test runs real processes on a real network: bounding it needs the wall clock.
#![allow(clippy::disallowed_methods)]

use peerlab_sim::live::client::request;
use peerlab_sim::live::control::{Request, Response};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const PEERS: usize = 5;
/// The whole test gives up after this long.
const BUDGET: Duration = Duration::from_secs(60);

/// Kills every child when dropped (test failure or success alike).
struct Cluster {
    children: Vec<Child>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

struct Started {
    udp: SocketAddr,
    control: SocketAddr,
    lines: mpsc::Receiver<String>,
}

fn peerlab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_peerlab"))
}

/// Starts a node and waits for its `listening` line (ports are chosen by the OS).
fn start(cluster: &mut Cluster, index: usize, seed: Option<SocketAddr>) -> Started {
    let mut cmd = peerlab();
    cmd.args([
        "node",
        "--listen",
        "127.0.0.1:0",
        "--control",
        "127.0.0.1:0",
        "--crypto",
        "ed25519",
    ])
    .args(["--register", &format!("node{index}")])
    .args(["--set-pnrp", "maintenance_period=2s"])
    .args(["--set-pnrp", "maintenance_period_small_cache=1s"])
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    if let Some(s) = seed {
        cmd.args(["--seed-server", &s.to_string()]);
    }
    let mut child = cmd.spawn().expect("spawn peerlab node");
    let stdout = child.stdout.take().expect("piped stdout");
    cluster.children.push(child);
    let (tx, lines) = mpsc::channel();
    // Keep reading so the child never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let first = lines
        .recv_timeout(Duration::from_secs(20))
        .expect("the node prints its listening line");
    let field = |key: &str| -> SocketAddr {
        first
            .split_whitespace()
            .find_map(|w| w.strip_prefix(key))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {key} in `{first}`"))
    };
    Started {
        udp: field("udp="),
        control: field("control="),
        lines,
    }
}

fn status(control: SocketAddr) -> Option<peerlab_sim::live::NodeStatus> {
    match request(control, &Request::Status {}, Duration::from_secs(5)) {
        Ok(Response::Status { status }) => Some(status),
        _ => None,
    }
}

#[test]
fn five_processes_on_loopback_register_and_resolve_each_other() {
    let began = Instant::now();
    let mut cluster = Cluster { children: Vec::new() };
    let first = start(&mut cluster, 0, None);
    let mut nodes = vec![first];
    for i in 1..PEERS {
        let seed = nodes[0].udp;
        nodes.push(start(&mut cluster, i, Some(seed)));
    }

    // Each node's full secured name, from its status (the classifier is registered under its key).
    let mut names = vec![String::new(); PEERS];
    while names.iter().any(String::is_empty) {
        assert!(
            began.elapsed() < BUDGET,
            "registrations did not show up: {names:?}"
        );
        for (i, n) in nodes.iter().enumerate() {
            if let Some(s) = status(n.control) {
                if let Some(r) = s
                    .registrations
                    .iter()
                    .find(|r| r.name.ends_with(&format!(".node{i}")))
                {
                    names[i].clone_from(&r.name);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }

    // Every node resolves every other node's name to that node's UDP endpoint.
    let mut pending: Vec<(usize, usize)> = (0..PEERS)
        .flat_map(|i| (0..PEERS).filter(move |j| *j != i).map(move |j| (i, j)))
        .collect();
    while !pending.is_empty() {
        assert!(
            began.elapsed() < BUDGET,
            "unresolved after {:?}: {pending:?} (via, target)",
            began.elapsed()
        );
        pending.retain(|&(i, j)| {
            let out = peerlab()
                .args([
                    "resolve",
                    "--timeout",
                    "5s",
                    "--via",
                    &nodes[i].control.to_string(),
                    &names[j],
                ])
                .output()
                .expect("run peerlab resolve");
            let text = String::from_utf8_lossy(&out.stdout);
            let found =
                out.status.code() == Some(0) && text.lines().any(|l| l.trim() == nodes[j].udp.to_string());
            assert!(
                matches!(out.status.code(), Some(0) | Some(1)),
                "resolve exit {:?}: {}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            );
            !found
        });
        if !pending.is_empty() {
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    // Status shows the cache by level, the registration and its leaf set.
    let out = peerlab()
        .args(["status", "--via", &nodes[0].control.to_string()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text.contains("cache:") && text.contains("by level") && text.contains(&names[0]),
        "{text}"
    );
    assert!(text.contains("leaf set above"), "{text}");

    // A name nobody registered: exit 1.
    let out = peerlab()
        .args([
            "resolve",
            "--timeout",
            "3s",
            "--via",
            &nodes[1].control.to_string(),
            "0.nobody-home",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Ctrl-C: the node leaves the cloud and exits 0.
    let last = cluster.children.last_mut().unwrap();
    let pid = last.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let code = loop {
        if let Some(s) = last.try_wait().unwrap() {
            break s.code();
        }
        assert!(Instant::now() < deadline, "the node did not stop after SIGINT");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(code, Some(0));
    let said: Vec<String> = nodes[PEERS - 1].lines.try_iter().collect();
    assert!(said.iter().any(|l| l.starts_with("stopped:")), "{said:?}");
}

#[test]
fn bad_flags_and_unusable_addresses_exit_2_with_a_message() {
    for args in [
        vec!["node", "--listen", "not-an-address"],
        vec!["node", "--listen", "0.0.0.0:4000"],
        vec!["node", "--listen", "127.0.0.1:4000", "--cloud", "SiteLocal_x"],
        vec!["node", "--listen", "127.0.0.1:4000", "--set-pnrp", "bogus=1"],
        // 192.0.2.1 (TEST-NET-1) is not an address of this machine: bind fails cleanly.
        vec!["node", "--listen", "192.0.2.1:4000", "--crypto", "ed25519"],
        vec!["resolve", "--via", "127.0.0.1:1", "0.x"],
        vec!["resolve", "--via", "127.0.0.1:1", "no-authority"],
        vec!["status", "--via", "127.0.0.1:1"],
    ] {
        let out = peerlab().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(err.contains("error"), "{args:?}: {err}");
    }
}
