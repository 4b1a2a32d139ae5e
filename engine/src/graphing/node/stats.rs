//! A graph node's counters, for the simulator's metrics and the live node's status.

/// Counters of one graph node since it was built. Indexes by sync mode are 0 Sync All,
/// 1 time-based, 2 hash-based; by refusal reason, the REFUSE code minus one (MS-PPGRH §2.2.2.4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GraphStats {
    /// FLOOD messages sent (publications, re-floods, repairs, sync answers).
    pub floods_sent: u64,
    /// FLOOD messages received on CONNECTED links.
    pub floods_received: u64,
    /// Received records that were new (stored and flooded on).
    pub floods_new: u64,
    /// Received records already present: duplicates (MS-PPGRH §3.1.7.32).
    pub duplicates: u64,
    /// Received records older than the local copy, answered with the local copy.
    pub floods_old: u64,
    /// Received records that failed validation (MS-PPGRH §3.1.7.27) or were already expired.
    pub floods_invalid: u64,
    /// Received records the security provider rejected.
    pub floods_rejected: u64,
    /// Received records the security provider deferred.
    pub floods_deferred: u64,
    /// ACK entries received with U set.
    pub acks_useful: u64,
    /// ACK entries received with U clear.
    pub acks_useless: u64,
    /// REFUSE messages sent, by reason.
    pub refusals_sent: [u64; 4],
    /// REFUSE messages received, by reason.
    pub refusals_received: [u64; 4],
    /// Connections this node opened.
    pub connects: u64,
    /// Connections that failed to open (refused, timed out, unreachable).
    pub connect_failures: u64,
    /// Links that reached CONNECTED as neighbors.
    pub neighbors_added: u64,
    /// Neighbor links this node pruned as least useful (MS-PPGRH §3.1.6.6).
    pub neighbors_pruned: u64,
    /// DISCONNECT messages received.
    pub disconnects_received: u64,
    /// Malformed or unexpected messages: each closed its connection (MS-PPGRH §3.1.5.2).
    pub protocol_errors: u64,
    /// Authentication or connect timers that fired (MS-PPGRH §3.1.2).
    pub handshake_timeouts: u64,
    /// Syncs this node initiated and completed, by mode.
    pub syncs_completed: [u64; 3],
    /// Bytes sent and received on links while this node initiated a sync on them, by mode.
    pub sync_bytes: [u64; 3],
    /// Message bytes sent (header included, framing excluded).
    pub bytes_sent: u64,
    /// Message bytes received.
    pub bytes_received: u64,
    /// Records this node published, updated or deleted (its own, internal ones included).
    pub publications: u64,
    /// Autorefresh updates of its own internal records (MS-PPGRH §3.1.7.22).
    pub refreshes: u64,
    /// Records removed by the expiration scan (MS-PPGRH §3.1.6.7).
    pub expired: u64,
    /// Graph maintenance passes run (MS-PPGRH §3.1.6.6).
    pub maintenance_passes: u64,
    /// Signature records this node published or updated with its own id (MS-PPGRH §3.1.7.11).
    pub signature_claims: u64,
    /// Pings sent on new links (MS-PPGRH §3.1.5.2.2).
    pub pings_sent: u64,
    /// Peer-time samples ignored because they were more than 20 minutes off (MS-PPGRH §3.1.5.2.2).
    pub peer_time_rejected: u64,
}
