//! Commands the application gives a PNRP node and the events it reports back (docs/architecture.md §3).

use super::cpa::{AppEndpoint, Cpa};
use super::friendly::FriendlyName;
use super::id::PnrpId;
use super::message::{ReasonCode, ResolveCriteria};
use super::name::PeerName;
use crate::crypto::Identity;
use crate::{Duration, Endpoint, RequestId};
use std::sync::Arc;

/// What an application can ask a PNRP node to do.
#[derive(Clone, Debug)]
pub enum Command {
    /// Register `name` (MS-PNRP §3.2.4.1): the ID is P2P ID || our /64 prefix || a random suffix.
    Register {
        /// The peer name; a secured name's authority must be `identity.authority()`.
        name: PeerName,
        /// The key pair that signs this registration's CPAs.
        identity: Arc<Identity>,
        /// Application endpoints carried in the CPA payload (≤ 10).
        app_endpoints: Vec<AppEndpoint>,
        /// A friendly name every CPA of the registration carries (MS-PNRP §3.2.4.1, §2.2.3.1 F/U).
        friendly_name: Option<FriendlyName>,
        /// The ServiceLocationPrefix hint (MS-PNRP §3.2.4.1): the upper 64 bits of the PNRP ID's service
        /// location; `None` = the /64 prefix of our address (MS-PNRP §1.3.1.2 SLupper).
        service_location_prefix: Option<u64>,
    },
    /// Unregister a locally registered ID (MS-PNRP §3.2.4.2): revoke floods and leaf-set repair.
    Unregister {
        /// The registered PNRP ID.
        id: PnrpId,
    },
    /// Resolve a peer name (MS-PNRP §3.1.4.4.2): target = P2P ID || our /64 prefix || 0x8000000000000000.
    Resolve {
        /// The name.
        name: PeerName,
        /// Matching rule (MS-PNRP §2.2.2.8); `AnyPeerName` finds any instance.
        criteria: ResolveCriteria,
        /// Caller deadline (MS-PNRP §3.1.4.4.2, peerlab choice per-resolve deadline).
        timeout: Duration,
    },
    /// Resolve a raw PNRP ID (MS-PNRP §3.1.4.4.2).
    ResolveId {
        /// The target ID.
        target: PnrpId,
        /// Matching rule (MS-PNRP §2.2.2.8).
        criteria: ResolveCriteria,
        /// Bits to match for `UpperBits`.
        precision: u16,
        /// Informational reason code carried in LOOKUPs.
        reason: ReasonCode,
        /// Caller deadline.
        timeout: Duration,
    },
    /// Our address changed (MS-PNRP §3.1.7.1): re-announce every registered ID with the new endpoint.
    ChangeAddress {
        /// The new local endpoint.
        local: Endpoint,
    },
    /// Unregister everything (revoke floods) and stop maintenance (MS-PNRP §3.2.4.2 leaving a cloud).
    Leave,
    /// The host opens the cloud (MS-PNRP §3.1.4.1); `PnrpNode::new` already did. A cloud the Cloud
    /// Cleanup Timer deleted starts over with discovery.
    OpenCloud,
    /// The host closes its open (MS-PNRP §3.1.4.5): registrations and running resolves keep the cloud;
    /// when none is left the Cloud Cleanup Timer runs, then the cloud's state is deleted (MS-PNRP
    /// §3.1.6.1).
    CloseCloud,
}

/// What a PNRP node reports.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// The registration walk of `id` ended (MS-PNRP §3.2.4.1; it never "finds" ID+1).
    Registered {
        /// The Register command.
        request: RequestId,
        /// The new PNRP ID.
        id: PnrpId,
        /// Cost of the registration walk.
        stats: ResolveStats,
    },
    /// A Register command was refused (bad name/identity pair, no local endpoint).
    RegisterFailed {
        /// The Register command.
        request: RequestId,
        /// Why.
        reason: &'static str,
    },
    /// `id` was unregistered (Unregister or Leave).
    Unregistered {
        /// The Unregister or Leave command.
        request: RequestId,
        /// The ID.
        id: PnrpId,
    },
    /// A Resolve/ResolveId command ended.
    Resolved {
        /// The command.
        request: RequestId,
        /// The validated answer or why there is none.
        result: Result<Resolved, ResolveError>,
        /// Cost of the resolve.
        stats: ResolveStats,
    },
    /// A split test found a split (MS-PNRP §3.2.6.2.1).
    SplitDetected {
        /// True when we appear to be in the smaller part.
        smaller_side: bool,
    },
}

/// A validated resolve result (MS-PNRP §3.1.4.4.2).
#[derive(Clone, Debug, PartialEq)]
pub struct Resolved {
    /// The registration found.
    pub id: PnrpId,
    /// Its PNRP service endpoints (from the CPA).
    pub endpoints: Vec<Endpoint>,
    /// Its application endpoints (from the CPA payload).
    pub app_endpoints: Vec<AppEndpoint>,
    /// Its friendly name (from the CPA, MS-PNRP §2.2.3.1).
    pub friendly_name: Option<FriendlyName>,
    /// The validated CPA.
    pub cpa: Arc<Cpa>,
}

/// Cost of one resolve: hops, messages and time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResolveStats {
    /// LOOKUPs that got an AUTHORITY back (TotalUsefulHops).
    pub useful_hops: u32,
    /// LOOKUPs sent, first transmissions only.
    pub lookups_sent: u32,
    /// Datagrams the resolve sent, retransmissions and the final INQUIRE included.
    pub messages_sent: u32,
    /// Answers with the L flag (SuspiciousCount).
    pub suspicious: u32,
    /// Simulated time from start to end.
    pub elapsed: Duration,
}

/// Why a resolve produced no result.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// The walk ended without a sufficiently close registration.
    #[error(
        "no registration matches {target}; closest seen {}",
        closest.map_or("none".to_string(), |id| id.to_string())
    )]
    NotFound {
        /// The target ID.
        target: PnrpId,
        /// The closest ID the walk saw.
        closest: Option<PnrpId>,
    },
    /// The caller's deadline passed.
    #[error("the resolve timed out")]
    Timeout,
    /// Every candidate's CPA failed validation (MS-PNRP §3.1.5.7).
    #[error("CPA rejected: {reason}")]
    CpaInvalid {
        /// The last rejection reason.
        reason: &'static str,
    },
    /// The cache holds no entry to start from (MS-PNRP §3.1.4.4.2, peerlab choice), although the node had
    /// joined its cloud: every member it knew is gone.
    #[error("the cache is empty")]
    EmptyCache,
    /// The node has not learned of any other cloud member yet (its cloud is still synchronizing,
    /// MS-PNRP §3.1.4.2–§3.1.4.3): nothing was sent. Drivers tell it from `EmptyCache` because the asker, not
    /// the protocol, was not ready.
    #[error("the cloud is still synchronizing: no other member known yet")]
    NotSynchronized,
    /// The Outstanding Resolves Table is full (MS-PNRP §3.1.4.4.2).
    #[error("too many outstanding resolves")]
    Busy,
    /// The node left the cloud.
    #[error("the cloud is closed")]
    Closed,
}
