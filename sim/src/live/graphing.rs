//! Peer Graphing on real sockets: [`GraphNode`] as a [`LiveNode`] (its stream framing is
//! MS-PPGRH §2.2.1.1's, `graphing::wire::frame`), its status snapshot, and its control
//! interface (JSON lines, served by `control::serve`).
//!
//! Control requests, one JSON object per line:
//! * `{"op":"publish","record_type":"<guid>","payload":"<text>","attributes":"<xml>","lifetime_s":N}`
//!   publishes an application record (MS-PPGRH §3.1.4.3); `attributes` and `lifetime_s`
//!   (default 3600) may be left out; the answer is `{"result":"published","id":"<guid>"}`;
//! * `{"op":"delete","id":"<guid>"}` deletes one (MS-PPGRH §3.1.4.5);
//! * `{"op":"records"}` lists the database (tombstones included), `{"op":"records",
//!   "record_type":"<guid>"}` one type of it; `{"op":"record","id":"<guid>"}` reads one record;
//! * `{"op":"status"}` and `{"op":"shutdown"}` as for a PNRP node.

use super::control::{self, Answer};
use super::driver::{DriverGone, DriverHandle, DriverStats};
use super::live_node::LiveNode;
use peerlab_engine::graphing::wire::{self, frame, FrameLimits};
use peerlab_engine::graphing::{GraphCommand, GraphEvent, GraphNode, Guid, Message, PeerRecord};
use peerlab_engine::{Duration, Instant};
use serde::{Deserialize, Serialize};

/// Lifetime of a published record when the request gives none.
pub const DEFAULT_LIFETIME_S: u64 = 3_600;
/// Longest lifetime a control request may ask for (a year).
pub const LIFETIME_MAX_S: u64 = 365 * 24 * 3_600;

/// Frame limits of a live graph node's streams. Frames up to 32,768 bytes are accepted (the
/// largest Max Frame Size any peer may use, MS-PPGRH §3.1.1) and messages up to the largest
/// record plus its fields (`frame::DEFAULT_MAX_MESSAGE`); this node sends frames of its own
/// configured size (16,379 by default).
pub const LIVE_FRAME_LIMITS: FrameLimits = FrameLimits {
    max_frame: frame::MAX_FRAME_SIZE_LIMIT,
    max_message: frame::DEFAULT_MAX_MESSAGE,
};

/// One record as the control interface shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordView {
    /// Record id.
    pub id: String,
    /// Record type.
    pub record_type: String,
    /// Version.
    pub version: u32,
    /// A tombstone.
    pub deleted: bool,
    /// Creator's peer id.
    pub creator: String,
    /// Last modifier's peer id (empty when never modified).
    pub modified_by: String,
    /// Payload as text when it is UTF-8, else absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// Payload bytes, hex.
    pub payload_hex: String,
    /// Attributes XML (empty when absent).
    pub attributes: String,
    /// Expiration, peer time (FILETIME ticks).
    pub expires: u64,
}

impl RecordView {
    /// The view of `r`.
    pub fn of(r: &PeerRecord) -> Self {
        RecordView {
            id: r.id.to_string(),
            record_type: r.record_type.to_string(),
            version: r.version,
            deleted: r.deleted,
            creator: r.creator.clone(),
            modified_by: r.modified_by.clone(),
            payload: String::from_utf8(r.payload.clone()).ok(),
            payload_hex: r.payload.iter().map(|b| format!("{b:02x}")).collect(),
            attributes: r.attributes.clone(),
            expires: r.expires.0,
        }
    }
}

/// A snapshot of a live graph node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphStatus {
    /// The graph id.
    pub graph_id: String,
    /// This node's peer id.
    pub peer_id: String,
    /// This node's node id, hex.
    pub node_id: String,
    /// Where it listens (once allowed to).
    pub listen: String,
    /// Created or joined.
    pub in_graph: bool,
    /// The first synchronization finished.
    pub synchronized: bool,
    /// Accepting neighbor connections.
    pub listening: bool,
    /// Node ids of CONNECTED neighbors, hex.
    pub neighbors: Vec<String>,
    /// The graph's signature as this node sees it, hex.
    pub signature: Option<String>,
    /// Peer time now (FILETIME ticks).
    pub peer_time: u64,
    /// The database, in id order (tombstones included).
    pub records: Vec<RecordView>,
    /// FLOOD messages sent and received, records new to this node, duplicates.
    pub floods: [u64; 4],
    /// Messages that closed their connection as malformed or unexpected.
    pub protocol_errors: u64,
    /// Stream counters of the driver.
    pub driver: DriverStats,
}

impl LiveNode for GraphNode {
    type Notes = ();
    type Status = GraphStatus;

    /// A message framed for its stream (MS-PPGRH §2.2.1.1).
    fn encode(msg: &Message, out: &mut Vec<u8>) {
        frame::encode_framed(msg, frame::DEFAULT_FRAME_SIZE, out);
    }

    /// One whole unframed message (Peer Graphing sends no datagrams).
    fn decode(bytes: &[u8]) -> Result<Message, String> {
        wire::decode(bytes).map_err(|e| e.to_string())
    }

    fn decode_frame(bytes: &[u8]) -> Result<Option<(Message, usize)>, String> {
        // MS-PPGRH §3.1.5.2: bytes that cannot be a message close the connection.
        match wire::take_message(bytes, LIVE_FRAME_LIMITS).map_err(|e| e.to_string())? {
            Some((message, used)) => Ok(Some((Self::decode(&message)?, used))),
            None => Ok(None),
        }
    }

    fn stream_ports(&self) -> Vec<u16> {
        vec![self.listen_endpoint().port]
    }

    fn status(&self, _: &(), now: Instant, driver: DriverStats) -> GraphStatus {
        let s = self.stats();
        GraphStatus {
            graph_id: self.config().graph_id.clone(),
            peer_id: self.config().peer_id.clone(),
            node_id: format!("{:016x}", self.node_id()),
            listen: self.listen_endpoint().to_string(),
            in_graph: self.in_graph(),
            synchronized: self.is_synchronized(),
            listening: self.is_listening(),
            neighbors: self.neighbors().iter().map(|n| format!("{n:016x}")).collect(),
            signature: self.signature().map(|n| format!("{n:016x}")),
            peer_time: self.peer_time(now).0,
            records: self.records().map(RecordView::of).collect(),
            floods: [s.floods_sent, s.floods_received, s.floods_new, s.duplicates],
            protocol_errors: s.protocol_errors,
            driver,
        }
    }

    fn leave_command() -> Option<GraphCommand> {
        // MS-PPGRH §3.1.4.12: delete own internal records, DISCONNECT every link.
        Some(GraphCommand::Leave)
    }
}

/// A control request to a graph node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum GraphRequest {
    /// Publish an application record.
    Publish {
        /// Record type GUID (not one of the graph's reserved types).
        record_type: String,
        /// Payload text (UTF-8).
        payload: String,
        /// Attributes XML (MS-PPGRH §2.2.3.5), empty for none.
        #[serde(default)]
        attributes: String,
        /// Lifetime in seconds (default [`DEFAULT_LIFETIME_S`]).
        #[serde(default)]
        lifetime_s: Option<u64>,
    },
    /// Delete a record.
    Delete {
        /// Record id.
        id: String,
    },
    /// List the database, or one record type of it.
    Records {
        /// Only this record type.
        #[serde(default)]
        record_type: Option<String>,
    },
    /// Read one record.
    Record {
        /// Record id.
        id: String,
    },
    /// The node's state (without its records).
    Status {},
    /// Leave the graph and stop the node.
    Shutdown {},
}

/// A control response from a graph node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum GraphResponse {
    /// The record was published.
    Published {
        /// Its id.
        id: String,
    },
    /// The record was deleted.
    Deleted {
        /// Its id.
        id: String,
    },
    /// The records asked for.
    Records {
        /// In id order.
        records: Vec<RecordView>,
    },
    /// One record.
    Record {
        /// The record.
        record: RecordView,
    },
    /// No record has that id.
    NotFound {
        /// The id asked for.
        id: String,
    },
    /// The node's state.
    Status {
        /// The snapshot (its `records` left empty).
        status: GraphStatus,
    },
    /// Done (shutdown).
    Done,
    /// The request was malformed or failed.
    Error {
        /// What went wrong.
        message: String,
    },
}

fn error(message: String) -> GraphResponse {
    GraphResponse::Error { message }
}

fn guid(text: &str, what: &str) -> Result<Guid, String> {
    text.parse().map_err(|e| format!("{what}: {e}"))
}

impl Answer for DriverHandle<GraphNode> {
    type Request = GraphRequest;
    type Response = GraphResponse;

    fn answer(&self, req: GraphRequest) -> impl std::future::Future<Output = (GraphResponse, bool)> + Send {
        answer(req, self.clone())
    }

    fn error(message: String) -> GraphResponse {
        error(message)
    }
}

/// Serves one request; the flag says the connection should close afterwards.
pub async fn answer(req: GraphRequest, handle: DriverHandle<GraphNode>) -> (GraphResponse, bool) {
    let gone = |_: DriverGone| (error("the node is shutting down".into()), true);
    let command = |cmd| async { handle.command(cmd).await };
    match req {
        GraphRequest::Publish {
            record_type,
            payload,
            attributes,
            lifetime_s,
        } => {
            let record_type = match guid(&record_type, "record_type") {
                Ok(g) => g,
                Err(e) => return (error(e), false),
            };
            let lifetime = lifetime_s.unwrap_or(DEFAULT_LIFETIME_S).clamp(1, LIFETIME_MAX_S);
            let cmd = GraphCommand::Publish {
                record_type,
                payload: payload.into_bytes(),
                attributes,
                lifetime: Duration::from_secs(lifetime),
            };
            match command(cmd).await {
                Ok(GraphEvent::Done { id: Some(id), .. }) => {
                    (GraphResponse::Published { id: id.to_string() }, false)
                }
                Ok(other) => (failed(other), false),
                Err(e) => gone(e),
            }
        }
        GraphRequest::Delete { id } => {
            let id = match guid(&id, "id") {
                Ok(g) => g,
                Err(e) => return (error(e), false),
            };
            match command(GraphCommand::Delete { id }).await {
                Ok(GraphEvent::Done { .. }) => (GraphResponse::Deleted { id: id.to_string() }, false),
                Ok(other) => (failed(other), false),
                Err(e) => gone(e),
            }
        }
        GraphRequest::Records { record_type } => {
            let only = match record_type.as_deref().map(|t| guid(t, "record_type")).transpose() {
                Ok(t) => t,
                Err(e) => return (error(e), false),
            };
            match handle.status().await {
                Ok(s) => {
                    let records = s
                        .records
                        .into_iter()
                        .filter(|r| only.is_none_or(|t| r.record_type == t.to_string()))
                        .collect();
                    (GraphResponse::Records { records }, false)
                }
                Err(e) => gone(e),
            }
        }
        GraphRequest::Record { id } => {
            let id = match guid(&id, "id") {
                Ok(g) => g.to_string(),
                Err(e) => return (error(e), false),
            };
            match handle.status().await {
                Ok(s) => match s.records.into_iter().find(|r| r.id == id) {
                    Some(record) => (GraphResponse::Record { record }, false),
                    None => (GraphResponse::NotFound { id }, false),
                },
                Err(e) => gone(e),
            }
        }
        GraphRequest::Status {} => match handle.status().await {
            Ok(mut status) => {
                status.records.clear();
                (GraphResponse::Status { status }, false)
            }
            Err(e) => gone(e),
        },
        GraphRequest::Shutdown {} => match handle.shutdown().await {
            Ok(()) => (GraphResponse::Done, true),
            Err(e) => gone(e),
        },
    }
}

/// The response for a command that did not succeed.
fn failed(event: GraphEvent) -> GraphResponse {
    match event {
        GraphEvent::Failed { error: e, .. } => error(format!("{e:?}")),
        other => error(format!("unexpected completion {other:?}")),
    }
}

/// Serves the control interface of a graph node on `listener`.
pub async fn serve_control(listener: tokio::net::TcpListener, handle: DriverHandle<GraphNode>) {
    control::serve(listener, handle, control::Limits::default()).await;
}
