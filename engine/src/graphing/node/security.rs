//! The graph security provider hook (MS-PPGRH §1.3.3, §3.1.7.1-2): Peer Grouping (MS-PPSEC) plugs
//! in here to authenticate connections, sign the records a node publishes and judge the records
//! it receives. With no provider ([`NullProvider`]) every connection is authenticated once
//! AUTH_INFO is accepted and every record is valid.

use crate::graphing::{AuthInfo, Message, PeerRecord};
use crate::ConnId;

/// What authentication of one connection needs next (MS-PPGRH §3.1.5.1).
#[derive(Clone, Debug, PartialEq)]
pub enum AuthStep {
    /// Authenticated: the connection goes on to CONNECT.
    Done,
    /// Send these handshake messages and wait for more.
    Send(Vec<Message>),
    /// Wait for the far side's next handshake message.
    Wait,
    /// Authentication failed: close the connection.
    Fail,
}

/// A security provider's judgement of a received record (MS-PPGRH §3.1.7.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validity {
    /// Process it.
    Valid,
    /// Drop it.
    Invalid,
    /// Keep it aside until the provider can judge it (a Membership record it depends on is
    /// missing); [`super::GraphNode::retry_deferred`] runs it again.
    Defer,
}

/// The graph security provider a node consults (MS-PPGRH §3.1.7.1-2).
pub trait SecurityProvider {
    /// AUTH_INFO was sent (`initiator`) or accepted on `conn`: the provider's first step.
    fn begin(&mut self, conn: ConnId, initiator: bool, info: &AuthInfo) -> AuthStep;
    /// A message arrived on `conn` while it authenticates (every message is the provider's until
    /// it reports [`AuthStep::Done`]).
    fn relay(&mut self, conn: ConnId, msg: &Message) -> AuthStep;
    /// `conn` ended; forget its handshake.
    fn end(&mut self, _conn: ConnId) {}
    /// Judges a received record before it is classified.
    fn validate(&mut self, record: &PeerRecord) -> Validity;
    /// Fills the security data of a record this node publishes; `false` vetoes the publication.
    fn sign(&mut self, record: &mut PeerRecord) -> bool;
}

/// No security provider: AUTH_INFO authenticates, records are valid and carry no security data.
#[derive(Clone, Copy, Debug, Default)]
pub struct NullProvider;

impl SecurityProvider for NullProvider {
    fn begin(&mut self, _: ConnId, _: bool, _: &AuthInfo) -> AuthStep {
        AuthStep::Done
    }
    /// Never called: the handshake is done at once.
    fn relay(&mut self, _: ConnId, _: &Message) -> AuthStep {
        AuthStep::Fail
    }
    fn validate(&mut self, _: &PeerRecord) -> Validity {
        Validity::Valid
    }
    fn sign(&mut self, record: &mut PeerRecord) -> bool {
        record.security_data.clear();
        true
    }
}
