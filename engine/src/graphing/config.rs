//! A graph node's tunables: every constant of MS-PPGRH with its specified default. The simulator's
//! `[graphing]` table overrides them; the defaults are Windows' behaviour.

use super::rules::peer_time::PeerTimeGate;
use super::rules::signature::SignatureDelayBits;
use super::rules::timers::{AuthTimerFormula, AutorefreshAt};
use super::rules::validate::ExpiredOnArrival;
use crate::Duration;

/// How the contact band's lower bound Cmin is computed from the signature S (MS-PPGRH §3.1.7.12).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ContactFormula {
    /// As printed: `Cmin = 5` if `S ≥ 2^60`, else `60 − log2 S` (it drops from 5 to about 0 at
    /// `S = 2^60`, so graphs of roughly 16 to 500 nodes aim for 1 to 5 contacts).
    #[default]
    AsPrinted,
    /// peerlab's option: `max(5, 60 − log2 S)`, continuous at `S = 2^60`.
    AtLeastFive,
}

/// A graph node's configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct GraphConfig {
    /// The graph id (at most 256 characters with the NUL).
    pub graph_id: String,
    /// This node's peer id (2..256 characters with the NUL).
    pub peer_id: String,
    /// The TCP port it listens on once allowed to (MS-PPSEC §1.9 assumes 3587).
    pub port: u16,
    /// Minimum neighbors (MS-PPGRH §3.1.1): 2.
    pub min_neighbors: usize,
    /// Ideal neighbors (MS-PPGRH §3.1.1): 3.
    pub ideal_neighbors: usize,
    /// Maximum neighbors, enforced by responders with REFUSE BUSY (MS-PPGRH §3.1.1): 7.
    pub max_neighbors: usize,
    /// Referrals returned in REFUSE BUSY and WELCOME (MS-PPGRH §3.1.5.2.1): 10.
    pub referrals_returned: usize,
    /// Referral list capacity (MS-PPGRH §3.1.1): 100.
    pub referral_capacity: usize,
    /// Largest frame the node accepts (MS-PPGRH §2.2.1.1): 16,379 by default, at most 32,768.
    pub max_frame_size: u16,
    /// Connect timer: CONNECT to WELCOME or REFUSE (MS-PPGRH §3.1.2): 60 s.
    pub connect_timeout: Duration,
    /// Graph maintenance period with at least one link (MS-PPGRH §3.1.6.6): 300 s.
    pub maintenance_connected: Duration,
    /// Graph maintenance period with no link: 30 s.
    pub maintenance_alone: Duration,
    /// Set N on every first neighbor CONNECT (MS-PPGRH §2.2.2.2 makes N a SHOULD for direct
    /// connections only, but §1.3.2.1 says the neighbor list is returned): true.
    pub request_referrals: bool,
    /// Cmin formula (MS-PPGRH §3.1.7.12).
    pub contact_formula: ContactFormula,
    /// Presence lifetime (MS-PPGRH §2.2.3.1): 300 s, at least 300 s.
    pub presence_lifetime: Duration,
    /// Max presence records: `None` = everyone publishes (0xFFFFFFFF), `Some(0)` = only on
    /// request, `Some(n)` = a target count (MS-PPGRH §2.2.3.1).
    pub max_presence_records: Option<u32>,
    /// Max record size, payload plus attributes (MS-PPGRH §2.2.3.1): 60 MB.
    pub max_record_size: u32,
    /// Accept direct connections (MS-PPGRH §3.1.5.2.1).
    pub accept_direct: bool,
    /// Authentication timer formula (MS-PPGRH §3.1.2): `20 + 280·e^(−cConns/10)` s by default.
    pub auth_timer_formula: AuthTimerFormula,
    /// Node-id bits forming N in the missing-signature delay (MS-PPGRH §3.1.7.11): 16 by default.
    pub signature_delay_bits: SignatureDelayBits,
    /// When the 20-minute peer-time sample rejection applies (MS-PPGRH §3.1.5.2.2): not before
    /// the first synchronization by default.
    pub peer_time_gate: PeerTimeGate,
    /// Records already expired on arrival (MS-PPGRH §3.1.7.27): dropped by default.
    pub expired_on_arrival: ExpiredOnArrival,
    /// When the autorefresh timer fires relative to a record's expiration (MS-PPGRH §3.1.7.3):
    /// at the expiration, as printed, by default.
    pub autorefresh_at: AutorefreshAt,
}

impl GraphConfig {
    /// The specified defaults for `graph_id` and `peer_id`.
    pub fn new(graph_id: impl Into<String>, peer_id: impl Into<String>) -> Self {
        GraphConfig {
            graph_id: graph_id.into(),
            peer_id: peer_id.into(),
            port: 3587,
            min_neighbors: 2,
            ideal_neighbors: 3,
            max_neighbors: 7,
            referrals_returned: 10,
            referral_capacity: 100,
            max_frame_size: 16_379,
            connect_timeout: Duration::from_secs(60),
            maintenance_connected: Duration::from_secs(300),
            maintenance_alone: Duration::from_secs(30),
            request_referrals: true,
            contact_formula: ContactFormula::AsPrinted,
            presence_lifetime: Duration::from_secs(300),
            max_presence_records: None,
            max_record_size: 62_914_560,
            accept_direct: true,
            auth_timer_formula: AuthTimerFormula::Offset,
            signature_delay_bits: SignatureDelayBits::Top16,
            peer_time_gate: PeerTimeGate::OpenUntilSynchronized,
            expired_on_arrival: ExpiredOnArrival::Drop,
            autorefresh_at: AutorefreshAt::Expiration,
        }
    }
}
