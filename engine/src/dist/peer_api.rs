//! The branch peer's public surface: commands, events, errors and counters (after Win32 peerdist.h).

use crate::{Duration, Endpoint, RequestId};

/// What an application asks a branch peer to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerCommand {
    /// Open content from `server` and read it all (MS-CCRSO §6.5; Win32 `PeerDistClientStreamRead`).
    Fetch {
        /// Content id.
        content: u64,
        /// The origin.
        server: Endpoint,
    },
}

/// Why a fetch failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The origin does not publish the content (404).
    #[error("content {content} not found at the origin")]
    NotFound {
        /// Content id.
        content: u64,
    },
    /// The origin did not answer within the origin timer.
    #[error("origin timed out for content {content}")]
    OriginTimeout {
        /// Content id.
        content: u64,
    },
    /// Data from the origin failed verification (MS-PCCRC §2.2).
    #[error("origin data for content {content} failed verification")]
    OriginCorrupt {
        /// Content id.
        content: u64,
    },
    /// Too many fetches outstanding on this node.
    #[error("{limit} fetches already outstanding")]
    TooManyFetches {
        /// The bound (`fetches_max`).
        limit: usize,
    },
}

/// What a branch peer reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerEvent {
    /// A fetch completed; every byte was verified (or came as a plain body from the origin).
    Fetched {
        /// The command's id.
        request: RequestId,
        /// Content id.
        content: u64,
        /// Content bytes delivered.
        size: u64,
        /// Bytes obtained from peers or the hosted cache.
        bytes_from_peers: u64,
        /// Content bytes obtained from the origin (full body or missing-data ranges).
        bytes_from_server: u64,
        /// Bytes found in the local cache.
        bytes_from_cache: u64,
        /// Content-information bytes obtained from the origin.
        info_bytes: u64,
        /// From the command to the first content byte.
        time_to_first_byte: Duration,
        /// From the command to completion.
        elapsed: Duration,
        /// Blocks that failed verification (the serving peer was dropped).
        corrupt_blocks: u32,
        /// True when the origin sent the plain body (hashes not ready, MS-PCCRTP §3.2).
        whole_body: bool,
    },
    /// A fetch failed.
    FetchFailed {
        /// The command's id.
        request: RequestId,
        /// Why.
        error: FetchError,
    },
}

/// Branch-peer counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PeerStats {
    /// Probe datagrams sent.
    pub probes_sent: u64,
    /// ProbeMatches sent.
    pub matches_sent: u64,
    /// ProbeMatches accepted.
    pub matches_received: u64,
    /// Probes left unanswered by reply suppression (MS-PCCRD §3.2.4.1 \[W\]).
    pub replies_suppressed: u64,
    /// Sessions that went to the origin on a cached negative discovery (MS-CCRSO §6.5).
    pub negative_hits: u64,
    /// Sessions that went to the origin because of the probe rate cap (MS-CCRSO §5.1).
    pub rate_limited: u64,
    /// Segment sessions started / with at least one responder.
    pub sessions: u64,
    /// Sessions with at least one responder (peer hit, docs/metrics.md).
    pub sessions_with_peers: u64,
    /// GETBLKLIST requests sent (none for simple downloads, MS-PCCRR §3.1.4.3).
    pub block_lists_sent: u64,
    /// GETBLKS requests sent (one block each, MS-PCCRR §3.1.4.3).
    pub blocks_requested: u64,
    /// PCCRR request-timer expiries (MS-PCCRR §3.1.2).
    pub request_timeouts: u64,
    /// Servers excluded from a download after repeated timeouts or bad data (MS-CCRSO §6.5 \[W\], \[SIM\]).
    pub peers_excluded: u64,
    /// Blocks that failed decryption or verification.
    pub corrupt_blocks: u64,
    /// Missing-data range requests sent to the origin.
    pub origin_ranges: u64,
    /// Hosted-cache offers sent / answered INTERESTED / timed out (MS-PCHC §3.2).
    pub offers_sent: u64,
    /// INTERESTED answers.
    pub offers_interested: u64,
    /// PCHC requests that timed out.
    pub offer_timeouts: u64,
    /// Waiting sessions' re-asks of their holders (\[CHOICE\], the peerlab extension `cold_start`).
    pub peer_rechecks: u64,
    /// Waiting sessions that gave up on their peers and went to the origin.
    pub peer_wait_give_ups: u64,
    /// MSG_NEGO_RESP answers to our PCCRR requests (each resent with a common version, or the
    /// server dropped when there is none).
    pub nego_responses: u64,
    /// Incoming messages dropped as malformed or unexpected.
    pub dropped: u64,
    /// Of those, datagrams that did not decode ([`BranchPeer::handle_datagram`](super::BranchPeer::handle_datagram)).
    pub malformed: u64,
}
