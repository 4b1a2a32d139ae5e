//! The engine on real sockets: one [`driver::Driver`]
//! over a [`socket::DatagramSocket`] implemented for tokio's and turmoil's UDP sockets;
//! `peerlab node` (a real peer with a local control interface), `peerlab resolve|status --via`
//! (its client), and `peerlab run --backend turmoil` (small scenarios through the same driver).

pub mod client;
pub mod control;
pub mod driver;
pub mod key_file;
pub mod node_cmd;
pub mod socket;
pub mod turmoil_backend;

pub use driver::{Clock, Driver, DriverHandle, DriverStats, Input, NodeStatus, Reply};
pub use socket::{endpoint_of, socket_addr_of, DatagramSocket};
