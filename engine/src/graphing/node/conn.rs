//! Per-connection state (MS-PPGRH §3.1.1): the socket and authentication state, the neighbor
//! link state, the link's utility, its sync state and its two timers.

use crate::graphing::rules::topology::update_utility;
use crate::graphing::{Guid, PeerTime};
use crate::{Endpoint, Instant};

/// Socket and authentication state (MS-PPGRH §3.1.1, figures 3 and 4 of §3.1.7.24 and §3.1.7.26).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ConnState {
    /// Initiator: the TCP connect is under way.
    Socket,
    /// Initiator: AUTH_INFO sent, the security provider's handshake runs (SENT_AUTHINFO).
    SentAuthInfo,
    /// Responder: accepted, waiting for AUTH_INFO.
    Accepted,
    /// Responder: AUTH_INFO accepted, the provider's handshake runs (GOT_AUTHINFO).
    GotAuthInfo,
    /// Both: authenticated; the link state machine runs.
    Authenticated,
}

/// Neighbor link state (MS-PPGRH §3.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum LinkState {
    /// No CONNECT yet.
    Start,
    /// Initiator: CONNECT sent, waiting for WELCOME or REFUSE.
    ConnectWait,
    /// WELCOME sent or received: records flow.
    Connected,
}

/// Why this node opened a connection: what a failure means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Purpose {
    /// Joining the graph: a failure tries the next referral, then fails the Join.
    Join,
    /// Graph maintenance or partition repair: a failure is forgotten.
    Maintenance,
}

/// Which synchronization a link runs as initiator or responder (MS-PPGRH §3.1.1 sync type).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(super) enum Sync {
    /// None running.
    #[default]
    Idle,
    /// Initiator of Sync All (`since == None`) or a time-based sync: `types` are asked one at
    /// a time, then everything else (MS-PPGRH §3.1.7.29-30).
    Staged {
        /// Time-based: the peer time the node left the graph.
        since: Option<PeerTime>,
        /// GraphInfo, Presence, then the prioritized types.
        types: Vec<Guid>,
        /// The next entry of `types` to ask for.
        next: usize,
        /// The final exclusion request was sent.
        all_synced: bool,
        /// Run a hash-based sync after it (a time-based sync on reopening).
        then_hash: bool,
    },
    /// Initiator: SOLICIT_HASH sent, waiting for ADVERTISE (MS-PPGRH §3.1.7.31).
    HashSolicited,
    /// Initiator: REQUEST sent; these records go to the responder after its SYNC_END.
    HashRequested(Vec<Guid>),
    /// Responder: ADVERTISE sent, waiting for REQUEST.
    HashAdvertised,
}

impl Sync {
    /// The mode for byte accounting: 0 Sync All, 1 time-based, 2 hash-based.
    pub(super) fn mode(&self) -> Option<usize> {
        match self {
            Sync::Idle | Sync::HashAdvertised => None,
            Sync::Staged { since: None, .. } => Some(0),
            Sync::Staged { since: Some(_), .. } => Some(1),
            Sync::HashSolicited | Sync::HashRequested(_) => Some(2),
        }
    }
}

/// One connection.
#[derive(Clone, Debug)]
pub(super) struct Conn {
    /// This node opened it.
    pub(super) initiated: bool,
    /// Initiator: where it connects; responder: where it came from.
    pub(super) remote: Endpoint,
    pub(super) state: ConnState,
    pub(super) link: LinkState,
    /// A direct connection (PT2PT only, MS-PPGRH §1.3.2.3).
    pub(super) direct: bool,
    pub(super) purpose: Purpose,
    /// The far node's id, from CONNECT or WELCOME.
    pub(super) node_id: Option<u64>,
    /// The far node's peer id, from AUTH_INFO or WELCOME.
    pub(super) peer_id: String,
    /// The far node's listening addresses (CONNECT; updated by CONNECT with U).
    pub(super) addresses: Vec<Endpoint>,
    /// Connection utility (MS-PPGRH §3.1.7.33), kept as an integer so every run reproduces it.
    pub(super) utility: u32,
    /// Order in which links became neighbors (DISCONNECT referrals are the oldest first).
    pub(super) seq: u64,
    /// Authentication timer deadline (MS-PPGRH §3.1.2).
    pub(super) auth_deadline: Option<Instant>,
    /// Connect timer deadline: CONNECT to WELCOME or REFUSE (MS-PPGRH §3.1.2).
    pub(super) connect_deadline: Option<Instant>,
    /// Peer time when CONNECT was sent (T_CONNECT, MS-PPGRH §3.1.5.2.2).
    pub(super) t_connect: PeerTime,
    pub(super) sync: Sync,
}

impl Conn {
    /// A fresh connection in its first state.
    pub(super) fn new(initiated: bool, remote: Endpoint, purpose: Purpose, auth_deadline: Instant) -> Conn {
        Conn {
            initiated,
            remote,
            state: if initiated {
                ConnState::Socket
            } else {
                ConnState::Accepted
            },
            link: LinkState::Start,
            direct: false,
            purpose,
            node_id: None,
            peer_id: String::new(),
            addresses: Vec::new(),
            utility: 0,
            seq: 0,
            auth_deadline: Some(auth_deadline),
            connect_deadline: None,
            t_connect: PeerTime(0),
            sync: Sync::Idle,
        }
    }

    /// A CONNECTED neighbor link (not a direct connection).
    pub(super) fn is_neighbor(&self) -> bool {
        self.link == LinkState::Connected && !self.direct
    }

    /// The earlier of its two deadlines.
    pub(super) fn deadline(&self) -> Option<Instant> {
        match (self.auth_deadline, self.connect_deadline) {
            (Some(a), Some(c)) => Some(a.min(c)),
            (a, c) => a.or(c),
        }
    }

    /// A FLOOD received or ACKed on the link updates its utility (MS-PPGRH §3.1.7.33).
    pub(super) fn touch_utility(&mut self, useful: bool) {
        self.utility = update_utility(self.utility, useful);
    }
}
