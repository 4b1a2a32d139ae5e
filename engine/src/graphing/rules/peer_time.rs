//! The initiator's peer-time adjustment on WELCOME (MS-PPGRH §3.1.5.2.2, §1.3.6): the responder's
//! peer time, corrected by half the round trip, becomes the delta on the first neighbor and is
//! averaged 0.8 / 0.2 into it afterwards; samples more than 20 minutes off are ignored.
//!
//! Arithmetic is exact integer FILETIME ticks (i128 intermediates, the average rounded toward
//! negative infinity), so every platform computes the same delta.

use crate::graphing::PeerTime;
use crate::Duration;

/// Samples further than this from the local peer time are ignored (MS-PPGRH §3.1.5.2.2).
pub const MAX_SAMPLE_OFFSET: Duration = Duration::from_mins(20);

/// When the 20-minute rejection applies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PeerTimeGate {
    /// peerlab's default: a node that has never synchronized (fNeverConnected) takes its first
    /// sample whatever the offset, or a joiner with a badly wrong clock could never adopt the
    /// graph's time (MS-PPGRH §3.1.5.2.2 rejects it forever); later samples are gated.
    #[default]
    OpenUntilSynchronized,
    /// As printed: every sample more than 20 minutes off is ignored.
    AlwaysGated,
}

/// One WELCOME's timing, all in the initiator's clocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WelcomeSample {
    /// Peer time carried in the WELCOME.
    pub remote: PeerTime,
    /// Local peer time when CONNECT was sent (T_CONNECT).
    pub t_connect: PeerTime,
    /// Local peer time when WELCOME arrived (T_WELCOME).
    pub t_welcome: PeerTime,
    /// Local UTC when WELCOME arrived.
    pub local_utc: PeerTime,
    /// The neighbor list holds only this neighbor.
    pub first_neighbor: bool,
    /// The node has never synchronized its database (fNeverConnected).
    pub never_connected: bool,
}

/// What a sample did to the delta.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SampleOutcome {
    /// First neighbor: the delta became the remote delta.
    Adopted,
    /// A later neighbor: averaged 0.8 old + 0.2 remote.
    Averaged,
    /// More than 20 minutes off: ignored.
    Rejected,
}

/// Peer Time Delta: local UTC minus peer time, in FILETIME ticks (MS-PPGRH §3.1.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct PeerTimeDelta(pub i64);

impl PeerTimeDelta {
    /// Peer time at local UTC `utc`: `PT = utc − delta` (saturating at the FILETIME range).
    pub fn peer_time(self, utc: PeerTime) -> PeerTime {
        PeerTime((i128::from(utc.0) - i128::from(self.0)).clamp(0, i128::from(u64::MAX)) as u64)
    }

    /// Applies a WELCOME sample (MS-PPGRH §3.1.5.2.2):
    /// `PT_W = remote + (T_WELCOME − T_CONNECT)/2`; ignored when `|PT_W − T_WELCOME| > 20 min`
    /// (unless `gate` opens it); `PTD_remote = local_utc − PT_W`; the first neighbor takes
    /// `PTD_remote`, later ones give `0.8·PTD + 0.2·PTD_remote`.
    pub fn on_welcome(&mut self, s: &WelcomeSample, gate: PeerTimeGate) -> SampleOutcome {
        // Peer time may step back between CONNECT and WELCOME (an earlier sample); a negative
        // round trip means no correction.
        let half_rtt = (i128::from(s.t_welcome.0) - i128::from(s.t_connect.0)).max(0) / 2;
        let pt_w = i128::from(s.remote.0) + half_rtt;
        let gated = match gate {
            PeerTimeGate::OpenUntilSynchronized => !s.never_connected,
            PeerTimeGate::AlwaysGated => true,
        };
        let limit = i128::from(MAX_SAMPLE_OFFSET.as_micros()) * 10;
        if gated && (pt_w - i128::from(s.t_welcome.0)).abs() > limit {
            return SampleOutcome::Rejected;
        }
        let remote_delta = i128::from(s.local_utc.0) - pt_w;
        let (delta, outcome) = if s.first_neighbor {
            (remote_delta, SampleOutcome::Adopted)
        } else {
            (
                (4 * i128::from(self.0) + remote_delta).div_euclid(5),
                SampleOutcome::Averaged,
            )
        };
        self.0 = delta.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SEC: u64 = 10_000_000;

    fn sample(remote: u64, t_connect: u64, t_welcome: u64, utc: u64, first: bool) -> WelcomeSample {
        WelcomeSample {
            remote: PeerTime(remote),
            t_connect: PeerTime(t_connect),
            t_welcome: PeerTime(t_welcome),
            local_utc: PeerTime(utc),
            first_neighbor: first,
            never_connected: false,
        }
    }

    #[test]
    fn first_neighbor_adopts_with_half_rtt_then_later_ones_average() {
        let base = 1_000_000 * SEC;
        // Our clock runs 60 s ahead of the graph; the round trip is 2 s.
        let mut d = PeerTimeDelta(0);
        let s = sample(base, base + 60 * SEC, base + 62 * SEC, base + 62 * SEC, true);
        assert_eq!(
            d.on_welcome(&s, PeerTimeGate::AlwaysGated),
            SampleOutcome::Adopted
        );
        // PT_W = base + 1 s; delta = utc − PT_W = 61 s; peer time now reads base + 1 s.
        assert_eq!(d, PeerTimeDelta(61 * SEC as i64));
        assert_eq!(d.peer_time(PeerTime(base + 62 * SEC)), PeerTime(base + SEC));
        // A second neighbor whose clock says we are 11 s ahead pulls the delta a fifth of the way.
        let t = base + 100 * SEC;
        let s = sample(t - 11 * SEC, t - 61 * SEC, t - 61 * SEC, t, false);
        assert_eq!(
            d.on_welcome(&s, PeerTimeGate::AlwaysGated),
            SampleOutcome::Averaged
        );
        assert_eq!(d, PeerTimeDelta((61 * 4 + 11) * SEC as i64 / 5));
    }

    #[test]
    fn samples_beyond_twenty_minutes_are_ignored_unless_never_synchronized() {
        let base = 1_000_000 * SEC;
        let far = sample(base + 21 * 60 * SEC, base, base, base, true);
        let mut d = PeerTimeDelta(0);
        assert_eq!(
            d.on_welcome(&far, PeerTimeGate::OpenUntilSynchronized),
            SampleOutcome::Rejected
        );
        assert_eq!(d, PeerTimeDelta(0));
        let joiner = WelcomeSample {
            never_connected: true,
            ..far
        };
        assert_eq!(
            d.on_welcome(&joiner, PeerTimeGate::AlwaysGated),
            SampleOutcome::Rejected
        );
        assert_eq!(
            d.on_welcome(&joiner, PeerTimeGate::OpenUntilSynchronized),
            SampleOutcome::Adopted
        );
        assert_eq!(d, PeerTimeDelta(-(21 * 60 * SEC as i64)));
        // Exactly 20 minutes off is still accepted.
        let edge = sample(base + 20 * 60 * SEC, base, base, base, true);
        assert_eq!(
            PeerTimeDelta(0).on_welcome(&edge, PeerTimeGate::AlwaysGated),
            SampleOutcome::Adopted
        );
    }

    proptest! {
        #[test]
        fn averaging_stays_between_old_and_remote(old in -1_000_000_000i64..1_000_000_000, skew in -10_000_000_000i64..10_000_000_000) {
            let base = 100_000_000_000_000u64;
            let utc = base;
            let pt = PeerTime((base as i64 - old) as u64);
            let remote = PeerTime((pt.0 as i64 + skew) as u64);
            let mut d = PeerTimeDelta(old);
            let s = WelcomeSample { remote, t_connect: pt, t_welcome: pt, local_utc: PeerTime(utc), first_neighbor: false, never_connected: false };
            let out = d.on_welcome(&s, PeerTimeGate::AlwaysGated);
            let remote_delta = utc as i64 - remote.0 as i64;
            if skew.unsigned_abs() > 12_000_000_000 {
                prop_assert_eq!(out, SampleOutcome::Rejected);
            } else {
                prop_assert!(d.0 >= old.min(remote_delta) && d.0 <= old.max(remote_delta));
            }
        }
    }
}
