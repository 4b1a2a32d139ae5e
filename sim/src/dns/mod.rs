//! Peer names for programs that only know DNS, as Windows' PNRP namespace provider offers them to
//! `getaddrinfo`: `peerlab hostname` converts between peer names and their host names under
//! `pnrp.net` (`PeerNameToPeerHostName` / `PeerHostNameToPeerName`, the encoding lives in
//! `peerlab_engine::pnrp::hostname`), and `peerlab dns` answers DNS queries for those host names
//! by resolving the peer names through a running `peerlab node`.

pub mod dns_cmd;
pub mod front;
pub mod hostname_cmd;
