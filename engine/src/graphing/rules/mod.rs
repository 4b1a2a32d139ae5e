//! Peer Graphing's rules as pure, deterministic functions over plain inputs (records, counts,
//! node ids, peer times, a caller-owned rng): the node (`graphing::node`) calls them, they know
//! nothing of its state. Each module cites the MS-PPGRH sections it implements and the choices
//! peerlab makes where the specification is open.

pub mod contacts;
pub mod hash_sync;
pub mod partition;
pub mod peer_time;
pub mod presence;
pub mod publish;
pub mod record_id;
pub mod referrals;
pub mod signature;
pub mod timers;
pub mod topology;
pub mod validate;
