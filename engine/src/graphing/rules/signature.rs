//! The signature: a distributed election of the graph's lowest node id (MS-PPGRH §1.3.2.1,
//! §3.1.7.11, §3.1.6.4, §3.1.7.6). Nodes whose id undercuts the published signature, or every
//! node when none is published, arm a timer; lower ids fire first and publish their own id.

use super::publish::InternalRecord;
use crate::graphing::{PeerRecord, SIGNATURE_ID, SIGNATURE_TYPE};
use crate::Duration;

/// Lifetime of the signature record (MS-PPGRH §3.1.7.6).
pub const SIGNATURE_LIFETIME: Duration = Duration::from_secs(300);
/// The signature timer is re-armed this far ahead when it fires (MS-PPGRH §3.1.6.4).
pub const SIGNATURE_REARM: Duration = Duration::from_secs(24 * 3600);
/// Delay when the published signature is above the local node id (MS-PPGRH §3.1.7.11).
pub const SIGNATURE_UNDERCUT_DELAY: Duration = Duration::from_millis(100);

/// How many of the node id's top bits form N in the missing-signature delay (MS-PPGRH §3.1.7.11).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SignatureDelayBits {
    /// peerlab's default: the top 16 bits. With `e^(−N/65536)` the delay then spans 0.1..19 s;
    /// the printed 8 bits squeeze every node into 0.1..0.216 s, which defeats the staggering
    /// the formula is for.
    #[default]
    Top16,
    /// As printed: the top 8 bits.
    Top8,
}

/// The signature record as the local database holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureView {
    /// No signature record (or one whose payload does not decode).
    Absent,
    /// A tombstone: the signature node left.
    Deleted,
    /// A live record claiming this minimum node id.
    Live(u64),
}

impl SignatureView {
    /// The view of the database's signature record; `decode` reads its payload's node id
    /// (MS-PPGRH §2.2.3.2). A live record that does not decode counts as absent, so a proper
    /// one replaces it.
    pub fn of(record: Option<&PeerRecord>, decode: impl FnOnce(&[u8]) -> Option<u64>) -> Self {
        match record {
            None => SignatureView::Absent,
            Some(r) if r.deleted => SignatureView::Deleted,
            Some(r) => decode(&r.payload).map_or(SignatureView::Absent, SignatureView::Live),
        }
    }

    /// The graph's signature as the node sees it (`None` without a live record).
    pub fn value(self) -> Option<u64> {
        match self {
            SignatureView::Live(s) => Some(s),
            _ => None,
        }
    }
}

/// The outcome of a signature calculation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureDecision {
    /// The published signature is at or below the local id: nothing to do.
    Nothing,
    /// Arm the signature timer to fire after this delay.
    Arm(Duration),
}

/// The delay before a node claims a missing signature: `0.1 + 29.9·(1 − e^(−N/65536))` s with N
/// the top bits of its node id (MS-PPGRH §3.1.7.11), rounded to the microsecond.
pub fn missing_signature_delay(node_id: u64, bits: SignatureDelayBits) -> Duration {
    let n = match bits {
        SignatureDelayBits::Top16 => node_id >> 48,
        SignatureDelayBits::Top8 => node_id >> 56,
    };
    let secs = 0.1 + 29.9 * (1.0 - (-(n as f64) / 65536.0).exp());
    Duration::from_micros((secs * 1e6).round() as u64)
}

/// Signature calculation (MS-PPGRH §3.1.7.11).
pub fn signature_calculation(
    view: SignatureView,
    node_id: u64,
    bits: SignatureDelayBits,
) -> SignatureDecision {
    match view {
        SignatureView::Live(s) if s <= node_id => SignatureDecision::Nothing,
        SignatureView::Live(_) => SignatureDecision::Arm(SIGNATURE_UNDERCUT_DELAY),
        SignatureView::Absent | SignatureView::Deleted => {
            SignatureDecision::Arm(missing_signature_delay(node_id, bits))
        }
    }
}

/// Whether the node publishes its own id when the signature timer fires: the record is still
/// missing, deleted or above the node id (MS-PPGRH §3.1.6.4). The timer is re-armed for
/// [`SIGNATURE_REARM`] either way.
pub fn signature_timer_fired(view: SignatureView, node_id: u64) -> bool {
    !matches!(view, SignatureView::Live(s) if s <= node_id)
}

/// The signature record to publish with `payload` (the node id, MS-PPGRH §2.2.3.2): fixed id,
/// 300 s, autorefresh (MS-PPGRH §3.1.7.6). Publish it with
/// [`publish_internal`](super::publish::publish_internal) over the database's copy.
pub fn signature_record(payload: Vec<u8>) -> InternalRecord {
    InternalRecord {
        record_type: SIGNATURE_TYPE,
        fixed_id: Some(SIGNATURE_ID),
        payload,
        attributes: String::new(),
        lifetime: SIGNATURE_LIFETIME,
        autorefresh: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graphing::rules::record_id::tests::app_record;
    use proptest::prelude::*;

    fn be(p: &[u8]) -> Option<u64> {
        Some(u64::from_be_bytes(p.try_into().ok()?))
    }

    #[test]
    fn the_view_reads_the_record() {
        assert_eq!(SignatureView::of(None, be), SignatureView::Absent);
        let mut r = app_record("a", 1);
        r.payload = 42u64.to_be_bytes().to_vec();
        assert_eq!(SignatureView::of(Some(&r), be), SignatureView::Live(42));
        assert_eq!(SignatureView::of(Some(&r), be).value(), Some(42));
        r.payload = vec![1, 2];
        assert_eq!(SignatureView::of(Some(&r), be), SignatureView::Absent);
        r.deleted = true;
        assert_eq!(SignatureView::of(Some(&r), be), SignatureView::Deleted);
    }

    #[test]
    fn calculation_and_firing_follow_the_published_value() {
        let bits = SignatureDelayBits::Top16;
        assert_eq!(
            signature_calculation(SignatureView::Live(5), 5, bits),
            SignatureDecision::Nothing
        );
        assert_eq!(
            signature_calculation(SignatureView::Live(4), 5, bits),
            SignatureDecision::Nothing
        );
        assert_eq!(
            signature_calculation(SignatureView::Live(6), 5, bits),
            SignatureDecision::Arm(SIGNATURE_UNDERCUT_DELAY)
        );
        // Node id 0 fires after exactly 0.1 s when nothing is published.
        assert_eq!(
            signature_calculation(SignatureView::Absent, 0, bits),
            SignatureDecision::Arm(Duration::from_millis(100))
        );
        assert!(signature_timer_fired(SignatureView::Deleted, 5));
        assert!(signature_timer_fired(SignatureView::Absent, 5));
        assert!(signature_timer_fired(SignatureView::Live(6), 5));
        assert!(!signature_timer_fired(SignatureView::Live(5), 5));
        let rec = signature_record(7u64.to_be_bytes().to_vec());
        assert_eq!(
            (rec.fixed_id, rec.lifetime, rec.autorefresh),
            (Some(SIGNATURE_ID), SIGNATURE_LIFETIME, true)
        );
    }

    #[test]
    fn delays_span_the_documented_ranges() {
        let top16 = missing_signature_delay(u64::MAX, SignatureDelayBits::Top16);
        // 0.1 + 29.9·(1 − e^(−65535/65536)) = 19.0…
        assert_eq!(top16.as_millis(), 19_000);
        let top8 = missing_signature_delay(u64::MAX, SignatureDelayBits::Top8);
        // 0.1 + 29.9·(1 − e^(−255/65536)) = 0.2161…
        assert_eq!(top8.as_millis(), 216);
    }

    proptest! {
        #[test]
        fn lower_ids_never_wait_longer(a in any::<u64>(), b in any::<u64>()) {
            let (lo, hi) = (a.min(b), a.max(b));
            for bits in [SignatureDelayBits::Top16, SignatureDelayBits::Top8] {
                prop_assert!(missing_signature_delay(lo, bits) <= missing_signature_delay(hi, bits));
            }
        }
    }
}
