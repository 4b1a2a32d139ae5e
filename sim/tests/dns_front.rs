//! Peer names for any program: two `peerlab node` processes on loopback, one registering names,
//! and `peerlab dns` in front of the other; a real DNS client (hickory's, over UDP and TCP, and
//! `dig` when installed) resolves the names' pnrp.net host names. Unregistered names get
//! NXDOMAIN, garbage gets FORMERR or nothing, and the front keeps answering. Every child is
//! killed by a guard, even on failure.

// This test runs real processes on a real network: bounding it needs the wall clock.
#![allow(clippy::disallowed_methods)]

// hickory brings rand 0.10, where clippy.toml's banned `rand` paths no longer exist; naming the
// workspace's rand 0.8 here lets clippy resolve them (else it warns about its configuration).
use rand as _;

use hickory_server::net::client::{Client, ClientHandle};
use hickory_server::net::runtime::TokioRuntimeProvider;
use hickory_server::net::tcp::TcpClientStream;
use hickory_server::net::udp::UdpClientStream;
use hickory_server::net::{DnsError, NetError};
use hickory_server::proto::op::{Message, Query, ResponseCode};
use hickory_server::proto::rr::{DNSClass, Name, RData, RecordType};
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The whole test gives up after this long.
const BUDGET: Duration = Duration::from_secs(90);

/// Kills every child when dropped.
struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn peerlab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_peerlab"))
}

/// Starts `peerlab` with `args` and returns its first stdout lines up to one containing `until`.
fn start(children: &mut Children, args: &[&str], until: &str) -> Vec<String> {
    let mut child = peerlab()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn peerlab");
    let stdout = child.stdout.take().expect("piped stdout");
    children.0.push(child);
    let (tx, lines) = mpsc::channel();
    // Keep reading so the child never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut said = Vec::new();
    loop {
        let line = lines
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("{args:?} printed no `{until}` line: {said:?}"));
        let done = line.contains(until);
        said.push(line);
        if done {
            // Drain the rest in the background.
            std::thread::spawn(move || while lines.recv().is_ok() {});
            return said;
        }
    }
}

/// The value of `key=` in `lines`.
fn field(lines: &[String], key: &str) -> String {
    lines
        .iter()
        .flat_map(|l| l.split_whitespace())
        .find_map(|w| w.strip_prefix(key))
        .unwrap_or_else(|| panic!("no {key} in {lines:?}"))
        .to_string()
}

/// `peerlab hostname TEXT`.
fn hostname(text: &str) -> String {
    let out = peerlab().args(["hostname", text]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The response code and the addresses of one query, through hickory's client.
async fn ask(
    client: &mut Client<TokioRuntimeProvider>,
    host: &str,
    qtype: RecordType,
) -> (ResponseCode, Vec<IpAddr>) {
    let name = Name::from_str(&format!("{host}.")).unwrap();
    match client.query(name, DNSClass::IN, qtype).await {
        Ok(response) => {
            let ips = response
                .answers
                .iter()
                .filter_map(|r| match &r.data {
                    RData::A(a) => Some(IpAddr::V4(a.0)),
                    RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                    _ => None,
                })
                .collect();
            (response.metadata.response_code, ips)
        }
        Err(NetError::Dns(DnsError::NoRecordsFound(no))) => (no.response_code, Vec::new()),
        Err(NetError::Dns(DnsError::ResponseCode(code))) => (code, Vec::new()),
        Err(e) => panic!("query {host} {qtype}: {e:?}"),
    }
}

fn udp_client(server: SocketAddr) -> Client<TokioRuntimeProvider> {
    let conn = UdpClientStream::builder(server, TokioRuntimeProvider::default()).build();
    let (client, bg) = Client::<TokioRuntimeProvider>::from_sender(conn);
    tokio::spawn(bg);
    client
}

async fn tcp_client(server: SocketAddr) -> Client<TokioRuntimeProvider> {
    let (stream, sender) = TcpClientStream::new(server, None, None, TokioRuntimeProvider::new());
    let (client, bg) = Client::<TokioRuntimeProvider>::new(stream.await.unwrap(), sender);
    tokio::spawn(bg);
    client
}

/// Sends `bytes` in one datagram and returns the answer, if one comes within a second.
fn raw_exchange(server: SocketAddr, bytes: &[u8]) -> Option<Message> {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    socket.send_to(bytes, server).unwrap();
    let mut buf = [0u8; 4096];
    let n = socket.recv(&mut buf).ok()?;
    Some(Message::from_vec(&buf[..n]).expect("the front answers with a parseable message"))
}

/// `dig` with `args` against the front; its stdout.
fn dig(server: SocketAddr, args: &[&str]) -> String {
    let out = Command::new("dig")
        .args([
            &format!("@{}", server.ip()),
            "-p",
            &server.port().to_string(),
            "+tries=1",
            "+time=8",
        ])
        .args(args)
        .output()
        .expect("run dig");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn dns_clients_resolve_peer_host_names_through_a_live_node() {
    let began = Instant::now();
    let mut children = Children(Vec::new());
    let common = [
        "--listen",
        "127.0.0.1:0",
        "--control",
        "127.0.0.1:0",
        "--crypto",
        "ed25519",
    ];
    let speedy = [
        "--set-pnrp",
        "maintenance_period=2s",
        "--set-pnrp",
        "maintenance_period_small_cache=1s",
    ];
    let publisher = start(
        &mut children,
        &[
            &["node"][..],
            &common,
            &speedy,
            &["--register", "printer", "0.dnsdemo"],
        ]
        .concat(),
        "authority=",
    );
    let seed = field(&publisher, "udp=");
    let publisher_udp: SocketAddr = seed.parse().unwrap();
    let resolver = start(
        &mut children,
        &[&["node"][..], &common, &speedy, &["--seed-server", &seed]].concat(),
        "authority=",
    );
    let via = field(&resolver, "control=");
    let front = start(
        &mut children,
        &[
            "dns",
            "--via",
            &via,
            "--listen",
            "127.0.0.1:0",
            "--resolve-timeout",
            "3s",
        ],
        "dns listening",
    );
    let server: SocketAddr = field(&front, "udp=").parse().unwrap();
    assert!(front[0].contains("zone=pnrp.net"), "{front:?}");

    let authority = field(&publisher, "authority=");
    let secured = hostname(&format!("{authority}.printer"));
    assert!(
        secured.starts_with("printer.") && secured.ends_with(".pnrp.net"),
        "{secured}"
    );
    assert_eq!(hostname(&secured), format!("{authority}.printer"));
    let unsecured = hostname("0.dnsdemo");
    assert_eq!(unsecured, "dnsdemo.pnrp.net");

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut udp = udp_client(server);
        // The cloud forms and the registrations spread: ask until both names answer.
        for host in [&secured, &unsecured] {
            loop {
                assert!(began.elapsed() < BUDGET, "{host} never resolved");
                let (code, ips) = ask(&mut udp, host, RecordType::A).await;
                if code == ResponseCode::NoError && !ips.is_empty() {
                    assert_eq!(ips, [publisher_udp.ip()], "{host}");
                    break;
                }
                assert!(
                    matches!(code, ResponseCode::NXDomain | ResponseCode::NoError),
                    "{host}: {code}"
                );
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
        // The publisher has no IPv6 endpoint: AAAA is NOERROR without records.
        assert_eq!(
            ask(&mut udp, &secured, RecordType::AAAA).await,
            (ResponseCode::NoError, vec![])
        );
        assert_eq!(
            ask(&mut udp, "nobody-home.pnrp.net", RecordType::A).await.0,
            ResponseCode::NXDomain
        );
        assert_eq!(
            ask(&mut udp, "www.example.com", RecordType::A).await.0,
            ResponseCode::Refused
        );
        // Over TCP too.
        let mut tcp = tcp_client(server).await;
        assert_eq!(
            ask(&mut tcp, &unsecured, RecordType::A).await,
            (ResponseCode::NoError, vec![publisher_udp.ip()])
        );
    });

    // Garbage: too short for a header (no answer), a header followed by nonsense, a query cut in
    // the middle of its name (FORMERR, echoing the ID); then a good query is still answered.
    assert!(raw_exchange(server, &[0x12, 0x34, 0x01]).is_none());
    let mut nonsense = vec![0xab, 0xcd, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0];
    nonsense.extend_from_slice(&[0xff; 30]);
    let mut good = Message::query();
    good.metadata.id = 0x4242;
    good.add_query(Query::query(
        Name::from_str(&format!("{unsecured}.")).unwrap(),
        RecordType::A,
    ));
    let good = good.to_vec().unwrap();
    for (bytes, id) in [(&nonsense[..], 0xabcd), (&good[..good.len() - 9], 0x4242)] {
        let answer = raw_exchange(server, bytes).expect("a FORMERR answer");
        assert_eq!(answer.metadata.response_code, ResponseCode::FormErr);
        assert_eq!(answer.metadata.id, id);
    }
    let answer = raw_exchange(server, &good).expect("the good query is answered");
    assert_eq!(answer.metadata.response_code, ResponseCode::NoError);
    assert!(answer.metadata.authoritative);
    assert_eq!(answer.answers.len(), 1, "{answer:?}");
    assert!(answer.answers[0].ttl <= 60, "{answer:?}");

    if Command::new("dig").arg("-v").output().is_err() {
        println!("note: dig is not installed (apt-get install bind9-dnsutils); skipping the dig half");
        return;
    }
    let short = dig(server, &["+short", "A", &secured]);
    assert_eq!(
        short.trim(),
        publisher_udp.ip().to_string(),
        "dig +short: {short}"
    );
    let full = dig(server, &["A", "nobody-home.pnrp.net"]);
    assert!(full.contains("status: NXDOMAIN"), "{full}");
    let full = dig(server, &["+tcp", "A", &unsecured]);
    assert!(
        full.contains("status: NOERROR") && full.contains("flags: qr aa"),
        "{full}"
    );
}

#[test]
fn bad_flags_and_bad_names_exit_2_with_a_message() {
    for args in [
        vec!["dns", "--via", "127.0.0.1:1", "--max-ttl", "100000d"],
        vec!["dns", "--via", "127.0.0.1:1", "--resolve-timeout", "0s"],
        // 192.0.2.1 (TEST-NET-1) is not an address of this machine: bind fails cleanly.
        vec!["dns", "--via", "127.0.0.1:1", "--listen", "192.0.2.1:5300"],
        vec!["hostname", "printer"],
        vec!["hostname", "0.my printer"],
        vec!["hostname", "a..pnrp.net"],
    ] {
        let out = peerlab().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.starts_with("error:") || err.contains("\nerror:"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}
