//! Presence maintenance (MS-PPGRH §3.1.7.17, §3.1.6.9, §3.1.7.4): a listening node publishes its
//! presence when everyone does or the application forces it; with a target count, nodes join or
//! leave the published set after a random delay, with a hysteresis of 10 above the target.

use super::publish::InternalRecord;
use crate::graphing::PRESENCE_TYPE;
use crate::Duration;

/// Presence records tolerated above Max Presence Records before one withdraws (MS-PPGRH §3.1.7.17).
pub const PRESENCE_HYSTERESIS: usize = 10;

/// The node's presence situation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PresenceState {
    /// IsListening.
    pub listening: bool,
    /// A live (not deleted, not expired) presence record with the node's id exists.
    pub own_live: bool,
    /// Force Publish Presence: the application asked for publication.
    pub forced: bool,
    /// Live presence records in the database (the node's own included).
    pub live_presences: usize,
}

/// What presence maintenance does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PresenceAction {
    /// Nothing to do.
    Nothing,
    /// Publish the node's presence record (autorefresh unless forced; MS-PPGRH §3.1.7.4).
    Publish {
        /// The record's autorefresh flag.
        autorefresh: bool,
    },
    /// Delete the node's presence record.
    Delete,
    /// Arm the presence timer (U[30, 180] s) and re-check when it fires.
    ArmTimer,
}

/// Presence maintenance (MS-PPGRH §3.1.7.17); `max` is Max Presence Records (`None` = all,
/// 0xFFFFFFFF on the wire; `Some(0)` = only on the application's request).
/// A non-listening node never arms the timer to publish: its record would carry no address and
/// the first rule would delete it at the next pass.
pub fn presence_maintenance(s: &PresenceState, max: Option<u32>) -> PresenceAction {
    if s.own_live && !s.listening {
        return PresenceAction::Delete;
    }
    if !s.own_live && s.listening && (max.is_none() || s.forced) {
        return PresenceAction::Publish {
            autorefresh: !s.forced,
        };
    }
    match max {
        Some(m) if m > 0 && !s.forced => {
            let m = m as usize;
            let over = s.own_live && s.live_presences > m + PRESENCE_HYSTERESIS;
            let under = !s.own_live && s.listening && s.live_presences < m;
            if over || under {
                PresenceAction::ArmTimer
            } else {
                PresenceAction::Nothing
            }
        }
        _ => PresenceAction::Nothing,
    }
}

/// The presence timer fired (MS-PPGRH §3.1.6.9): delete the node's record if still above
/// max + 10, publish one (autorefresh) if still below max and listening.
pub fn presence_timer_fired(s: &PresenceState, max: Option<u32>) -> PresenceAction {
    let Some(m) = max.map(|m| m as usize) else {
        return PresenceAction::Nothing;
    };
    if s.own_live && s.live_presences > m + PRESENCE_HYSTERESIS {
        PresenceAction::Delete
    } else if !s.own_live && s.listening && s.live_presences < m {
        PresenceAction::Publish { autorefresh: true }
    } else {
        PresenceAction::Nothing
    }
}

/// The presence record to publish with `payload` (node id, attributes, listening addresses;
/// MS-PPGRH §2.2.3.4): random id, the graph's presence lifetime (MS-PPGRH §3.1.7.4).
pub fn presence_record(payload: Vec<u8>, lifetime: Duration, autorefresh: bool) -> InternalRecord {
    InternalRecord {
        record_type: PRESENCE_TYPE,
        fixed_id: None,
        payload,
        attributes: String::new(),
        lifetime,
        autorefresh,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PresenceAction::*;

    fn st(listening: bool, own_live: bool, forced: bool, live_presences: usize) -> PresenceState {
        PresenceState {
            listening,
            own_live,
            forced,
            live_presences,
        }
    }

    #[test]
    fn everyone_publishes_when_max_is_all_and_deletes_when_deaf() {
        assert_eq!(
            presence_maintenance(&st(true, false, false, 0), None),
            Publish { autorefresh: true }
        );
        assert_eq!(presence_maintenance(&st(true, true, false, 9), None), Nothing);
        assert_eq!(presence_maintenance(&st(false, true, false, 9), None), Delete);
        assert_eq!(presence_maintenance(&st(false, false, false, 9), None), Nothing);
        // Zero: only on request, and then without autorefresh.
        assert_eq!(presence_maintenance(&st(true, false, false, 0), Some(0)), Nothing);
        assert_eq!(
            presence_maintenance(&st(true, false, true, 0), Some(0)),
            Publish { autorefresh: false }
        );
    }

    #[test]
    fn a_target_count_uses_the_timer_with_hysteresis() {
        let max = Some(20);
        assert_eq!(presence_maintenance(&st(true, false, false, 19), max), ArmTimer);
        assert_eq!(presence_maintenance(&st(true, false, false, 20), max), Nothing);
        assert_eq!(presence_maintenance(&st(false, false, false, 19), max), Nothing);
        assert_eq!(presence_maintenance(&st(true, true, false, 30), max), Nothing);
        assert_eq!(presence_maintenance(&st(true, true, false, 31), max), ArmTimer);
        assert_eq!(
            presence_maintenance(&st(true, true, true, 31), max),
            Nothing,
            "forced stays"
        );
        assert_eq!(presence_timer_fired(&st(true, true, false, 31), max), Delete);
        assert_eq!(presence_timer_fired(&st(true, true, false, 30), max), Nothing);
        assert_eq!(
            presence_timer_fired(&st(true, false, false, 19), max),
            Publish { autorefresh: true }
        );
        assert_eq!(presence_timer_fired(&st(true, false, false, 20), max), Nothing);
        assert_eq!(presence_timer_fired(&st(false, false, false, 0), max), Nothing);
        let rec = presence_record(vec![], Duration::from_secs(300), false);
        assert_eq!((rec.fixed_id, rec.autorefresh), (None, false));
    }
}
