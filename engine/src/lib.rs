//! peerlab's protocol engines: sans-IO state machines that take time, randomness and datagrams as
//! inputs and hand back datagrams, timers and events (docs/architecture.md §3). Nothing here reads a clock,
//! opens a socket or spawns a task, so the same code runs in the simulator and over real UDP.

pub mod crypto;
pub mod dist;
pub mod drain;
pub mod graphing;
mod net;
mod node;
pub mod pnrp;
mod seed;
pub mod stack;
mod stream;
mod time;

pub use net::Endpoint;
pub use node::{Node, RequestId, Transmit};
pub use seed::{derive_seed, NodeRng};
pub use stream::{ConnId, ConnectFailure, StreamCommand, StreamEvent};
pub use time::{Duration, Instant};
