//! `peerlab graph --via ADDR publish|records|record|delete|status`: a client of a running graph
//! node's control interface (`peerlab node --graph ... --control ADDR`; protocol in
//! `graphing.rs`). Prints the node's JSON response line.

use super::client::{request, EXIT_ERROR, EXIT_NOT_FOUND, EXIT_OK};
use super::graphing::{GraphRequest, GraphResponse};
use clap::{Args, Subcommand};
use peerlab_engine::Duration;
use std::net::SocketAddr;

/// How long a request may take (publishing only queues floods, so answers are quick).
pub const WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// `peerlab graph` options.
#[derive(Debug, Args, Clone)]
pub struct GraphArgs {
    /// Control address of the graph node (its `--control`).
    #[arg(long, value_name = "ADDR")]
    pub via: SocketAddr,
    /// What to ask.
    #[command(subcommand)]
    pub op: GraphOp,
}

/// A request to a graph node.
#[derive(Debug, Subcommand, Clone)]
pub enum GraphOp {
    /// Publish an application record (MS-PPGRH §3.1.4.3) with PAYLOAD as its text.
    Publish {
        /// Record type GUID, e.g. a0000000-0000-0000-0000-000000000001.
        #[arg(long = "type", value_name = "GUID")]
        record_type: String,
        /// Attributes XML (MS-PPGRH §2.2.3.5).
        #[arg(long, default_value = "")]
        attributes: String,
        /// Lifetime.
        #[arg(long, default_value = "1h")]
        lifetime: Duration,
        /// Payload text.
        payload: String,
    },
    /// List the node's records (tombstones included), or those of one type.
    Records {
        /// Only this record type GUID.
        #[arg(long = "type", value_name = "GUID")]
        record_type: Option<String>,
    },
    /// Show one record.
    Record {
        /// Record id GUID.
        id: String,
    },
    /// Delete one of the graph's records (MS-PPGRH §3.1.4.5).
    Delete {
        /// Record id GUID.
        id: String,
    },
    /// The node's state.
    Status,
}

/// `peerlab graph`: prints the response; exit 0 done, 1 no such record, 2 error.
pub fn graph_command(args: &GraphArgs) -> u8 {
    let req = match args.op.clone() {
        GraphOp::Publish {
            record_type,
            attributes,
            lifetime,
            payload,
        } => GraphRequest::Publish {
            record_type,
            payload,
            attributes,
            lifetime_s: Some((lifetime.as_micros() / 1_000_000).max(1)),
        },
        GraphOp::Records { record_type } => GraphRequest::Records { record_type },
        GraphOp::Record { id } => GraphRequest::Record { id },
        GraphOp::Delete { id } => GraphRequest::Delete { id },
        GraphOp::Status => GraphRequest::Status {},
    };
    match request::<_, GraphResponse>(args.via, &req, WAIT) {
        Ok(response) => {
            println!(
                "{}",
                serde_json::to_string(&response).expect("responses serialize")
            );
            match response {
                GraphResponse::NotFound { .. } => EXIT_NOT_FOUND,
                GraphResponse::Error { .. } => EXIT_ERROR,
                _ => EXIT_OK,
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_ERROR
        }
    }
}
