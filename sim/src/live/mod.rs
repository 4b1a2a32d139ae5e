//! The engine on real sockets: one [`driver::Driver`] for any [`LiveNode`]
//! over a [`socket::DatagramSocket`] implemented for tokio's and turmoil's UDP sockets, and TCP
//! connections over a [`TcpFamily`] (tokio's or turmoil's);
//! `peerlab node` (a real PNRP peer, or with `--graph` a Peer Graphing node, with a local control
//! interface), `peerlab resolve|status --via`
//! (its client), and `peerlab run --backend turmoil` (small scenarios through the same driver).

pub mod client;
pub mod control;
pub mod driver;
pub mod graphing;
pub mod graphing_client;
pub mod graphing_node;
pub mod key_file;
pub mod live_node;
pub mod node_cmd;
pub mod socket;
pub mod tcp;
#[cfg(test)]
mod tcp_tests;
pub mod turmoil_backend;

pub use driver::{Clock, Driver, DriverHandle, DriverStats, Input, Reply};
pub use live_node::{LiveNode, NodeStatus};
pub use socket::{endpoint_of, socket_addr_of, DatagramSocket};
pub use tcp::{TcpFamily, TokioTcp, TurmoilTcp};
