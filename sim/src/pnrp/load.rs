//! Per-peer load: each peer identity's traffic over the run, all its sessions summed, written as
//! one `peer_load` record per honest peer at the end (docs/metrics.md, `load.*`).
//!
//! The engines count every datagram they send and receive (`PnrpStats::sent/received`); the world
//! only reads those counters when an engine goes away and once at the end, so the event loop pays
//! nothing per datagram.

use super::{PCore, PnrpProtocol};
use peerlab_engine::pnrp::PnrpStats;
use peerlab_reports::{PeerLoad, Record};

/// Messages and bytes of the sessions that have ended, per peer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Ended {
    messages_sent: u64,
    bytes_sent: u64,
    messages_received: u64,
    bytes_received: u64,
}

impl Ended {
    /// Adds one engine's lifetime counters.
    pub(super) fn add(&mut self, s: &PnrpStats) {
        for t in &s.sent {
            self.messages_sent += t.msgs;
            self.bytes_sent += t.bytes;
        }
        for t in &s.received {
            self.messages_received += t.msgs;
            self.bytes_received += t.bytes;
        }
    }
}

impl PnrpProtocol {
    /// Keeps the counters of `peer`'s engine, which is going away.
    pub(super) fn session_ended(&mut self, peer: u32, stats: &PnrpStats) {
        let i = peer as usize;
        if self.ended.len() <= i {
            self.ended.resize(i + 1, Ended::default());
        }
        self.ended[i].add(stats);
    }

    /// Records every honest peer's load over the run: peers that came online at least once,
    /// attackers left out (their traffic is not the protocol's load).
    pub(super) fn record_peer_load(&mut self, core: &mut PCore) {
        let mut loads = Vec::new();
        for (i, p) in core.peers().iter().enumerate() {
            if p.incarnation() == 0 || p.data.attacker.is_some() {
                continue;
            }
            let mut total = self.ended.get(i).copied().unwrap_or_default();
            if let Some(node) = p.node() {
                total.add(node.stats());
            }
            loads.push(Record::PeerLoad(PeerLoad {
                node: i as u32,
                sessions: p.incarnation(),
                messages_sent: total.messages_sent,
                bytes_sent: total.bytes_sent,
                messages_received: total.messages_received,
                bytes_received: total.bytes_received,
            }));
        }
        for r in loads {
            core.record(r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use peerlab_engine::pnrp::MessageType;

    #[test]
    fn ended_sessions_add_up_every_message_type() {
        let mut a = PnrpStats::default();
        a.sent(MessageType::Lookup, 126);
        a.sent(MessageType::Ack, 20);
        a.received(MessageType::Authority, 1_000);
        let mut e = Ended::default();
        e.add(&a);
        e.add(&a);
        assert_eq!(
            e,
            Ended {
                messages_sent: 4,
                bytes_sent: 292,
                messages_received: 2,
                bytes_received: 2_000,
            }
        );
    }
}
