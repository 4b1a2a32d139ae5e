//! Three live graph nodes on loopback TCP form a graph; a record published through one node's
//! control interface is read through another's. And the graph flags are checked.

use super::*;
use crate::live::graphing::{GraphRequest, GraphResponse};
use crate::live::graphing_client::{graph_command, GraphArgs, GraphOp};
use clap::Parser;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// A graph node of graph `g` with its control interface; returns (handle, TCP address, control).
async fn node(n: u8) -> (DriverHandle<GraphNode>, SocketAddr, SocketAddr) {
    let plan = GraphPlan {
        config: GraphConfig::new("g", format!("peer{n}")),
        join: None,
        node_id: 0x1000 + u64::from(n),
        rng_seed: [n; 32],
    };
    let (driver, handle, addr) = graph_driver("127.0.0.1:0".parse().unwrap(), plan, LocalClock::default())
        .await
        .unwrap();
    tokio::task::spawn_local(driver.run());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let control = listener.local_addr().unwrap();
    tokio::spawn(serve_control(listener, handle.clone()));
    (handle, addr, control)
}

/// One control request and its response line.
async fn ask(control: SocketAddr, req: &GraphRequest) -> GraphResponse {
    let stream = TcpStream::connect(control).await.unwrap();
    let (read, mut write) = stream.into_split();
    let mut line = serde_json::to_vec(req).unwrap();
    line.push(b'\n');
    write.write_all(&line).await.unwrap();
    let mut answer = String::new();
    BufReader::new(read).read_line(&mut answer).await.unwrap();
    serde_json::from_str(&answer).unwrap()
}

async fn within<T>(secs: u64, what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(std::time::Duration::from_secs(secs), f)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

#[tokio::test(flavor = "current_thread")]
async fn three_live_nodes_share_a_record_over_loopback_tcp() {
    // The drivers run on this thread (a graph node need not be `Send`).
    tokio::task::LocalSet::new().run_until(three_nodes()).await;
}

async fn three_nodes() {
    let (a, a_addr, a_ctl) = node(1).await;
    let (b, b_addr, _) = node(2).await;
    let (c, _, c_ctl) = node(3).await;
    let created = a.command(GraphCommand::Create).await.unwrap();
    assert!(matches!(created, GraphEvent::Done { .. }), "{created:?}");
    let joined = within(
        30,
        "b joins a",
        b.command(GraphCommand::Join(Bootstrap::Address(endpoint_of(a_addr)))),
    )
    .await;
    assert!(matches!(joined, Ok(GraphEvent::Done { .. })), "{joined:?}");
    // c joins through b, which listens once synchronized.
    let joined = within(
        30,
        "c joins b",
        c.command(GraphCommand::Join(Bootstrap::Address(endpoint_of(b_addr)))),
    )
    .await;
    assert!(matches!(joined, Ok(GraphEvent::Done { .. })), "{joined:?}");

    let publish = GraphRequest::Publish {
        record_type: "a0000000-0000-0000-0000-000000000001".into(),
        payload: "hello graph".into(),
        attributes: r#"<attributes><attribute name="lang" type="string">en</attribute></attributes>"#.into(),
        lifetime_s: Some(600),
    };
    let GraphResponse::Published { id } = ask(a_ctl, &publish).await else {
        panic!("publish through a's control interface failed");
    };
    let record = within(30, "the record reaches c", async {
        loop {
            if let GraphResponse::Record { record } =
                ask(c_ctl, &GraphRequest::Record { id: id.clone() }).await
            {
                return record;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await;
    assert_eq!(record.payload.as_deref(), Some("hello graph"));
    assert_eq!(record.creator, "peer1");
    assert!(record.attributes.contains("lang"));
    let GraphResponse::Records { records } = ask(
        c_ctl,
        &GraphRequest::Records {
            record_type: Some("a0000000-0000-0000-0000-000000000001".into()),
        },
    )
    .await
    else {
        panic!("records");
    };
    assert_eq!(records.len(), 1);
    let GraphResponse::Status { status } = ask(c_ctl, &GraphRequest::Status {}).await else {
        panic!("status");
    };
    assert!(
        status.synchronized && status.listening && !status.neighbors.is_empty(),
        "{status:?}"
    );
    // `peerlab graph --via` reads it too: exit 0 found, 1 not found.
    let client = |op| {
        let args = GraphArgs { via: c_ctl, op };
        tokio::task::spawn_blocking(move || graph_command(&args))
    };
    assert_eq!(client(GraphOp::Record { id: id.clone() }).await.unwrap(), 0);
    let missing = "b0000000-0000-0000-0000-000000000009".to_string();
    assert_eq!(client(GraphOp::Record { id: missing }).await.unwrap(), 1);
    // A malformed request is an error line, not a dropped connection.
    assert!(matches!(
        ask(a_ctl, &GraphRequest::Record { id: "nope".into() }).await,
        GraphResponse::Error { .. }
    ));
    for h in [&a, &b, &c] {
        h.shutdown().await.unwrap();
    }
}

#[derive(Parser)]
struct T {
    #[command(flatten)]
    node: NodeArgs,
}

fn parse(extra: &[&str]) -> Result<NodeArgs, clap::Error> {
    let mut v = vec!["t", "--listen", "127.0.0.1:3587"];
    v.extend_from_slice(extra);
    T::try_parse_from(v).map(|t| t.node)
}

#[test]
fn graph_flags_are_checked() {
    let plan = graph_plan(&parse(&["--graph", "g", "--create", "--peer-id", "alice"]).unwrap()).unwrap();
    assert_eq!(
        (plan.config.graph_id.as_str(), plan.config.peer_id.as_str()),
        ("g", "alice")
    );
    assert!(plan.join.is_none());
    let plan = graph_plan(&parse(&["--graph", "g", "--join", "127.0.0.1:4000"]).unwrap()).unwrap();
    assert!(plan.join.is_some() && plan.config.peer_id.starts_with("peerlab-"));
    let bad = |extra: &[&str]| graph_plan(&parse(extra).unwrap()).unwrap_err();
    assert!(bad(&["--graph", "g"]).contains("exactly one"));
    assert!(bad(&["--graph", "", "--create"]).contains("--graph"));
    assert!(bad(&["--graph", &"x".repeat(256), "--create"]).contains("1 to 255"));
    assert!(bad(&["--graph", "g", "--join", "[::1]:4000"]).contains("IP family"));
    assert!(bad(&["--graph", "g", "--create", "--control", "10.0.0.1:1"]).contains("loopback"));
    // Graph flags need --graph; PNRP-only flags conflict with it.
    assert!(parse(&["--create"]).is_err());
    assert!(parse(&["--graph", "g", "--create", "--register", "x"]).is_err());
    assert!(parse(&["--graph", "g", "--create", "--join", "127.0.0.1:1"]).is_err());
}
