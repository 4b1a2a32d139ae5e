//! Timer durations and schedules (MS-PPGRH §3.1.2, §3.1.6, §3.1.7.3, §3.1.7.10, §3.1.7.22).
//!
//! Random delays are integer seconds drawn uniformly from the caller's rng ("an integer value
//! uniformly distributed", MS-PPGRH §3.1.2). Delays are computed against peer time where the
//! specification compares record times, and returned as engine durations.

use super::publish::{update_record, RecordContent};
use crate::graphing::{GraphConfig, PeerRecord, PeerTime};
use crate::Duration;
use rand::Rng;

/// Lower end of the authentication timer (MS-PPGRH §3.1.2).
pub const AUTH_TIMER_MIN: Duration = Duration::from_secs(20);
/// Upper end of the authentication timer (MS-PPGRH §3.1.2).
pub const AUTH_TIMER_MAX: Duration = Duration::from_secs(300);
/// Contact timer range in seconds (MS-PPGRH §3.1.2).
pub const CONTACT_TIMER_SECS: (u64, u64) = (10, 180);
/// Partition detection timer range in seconds (MS-PPGRH §3.1.2).
pub const PARTITION_TIMER_SECS: (u64, u64) = (5, 30);
/// Presence timer range in seconds (MS-PPGRH §3.1.2).
pub const PRESENCE_TIMER_SECS: (u64, u64) = (30, 180);
/// Shortest record expiration timer (MS-PPGRH §3.1.6.7, delayMin).
pub const EXPIRY_MIN: Duration = Duration::from_secs(15);
/// Longest record expiration timer (MS-PPGRH §3.1.6.7, delayMax).
pub const EXPIRY_MAX: Duration = Duration::from_secs(24 * 3600);
/// A new record reschedules the expiration timer when it expires this much before it fires
/// (MS-PPGRH §3.1.7.3, §3.1.7.10).
pub const EXPIRY_RESCHEDULE_SLACK: Duration = Duration::from_secs(15);
/// The autorefresh timer's first firing after create or open (MS-PPGRH §3.1.4.1).
pub const AUTOREFRESH_FIRST: Duration = Duration::from_secs(4);
/// Records expiring within this window are refreshed (MS-PPGRH §3.1.7.22).
pub const AUTOREFRESH_WINDOW: Duration = Duration::from_secs(20);
/// Shortest autorefresh timer (MS-PPGRH §3.1.7.3).
pub const AUTOREFRESH_MIN: Duration = Duration::from_secs(4);
/// A new autorefresh record reschedules the timer when it expires this much before it fires
/// (MS-PPGRH §3.1.7.3).
pub const AUTOREFRESH_RESCHEDULE_SLACK: Duration = Duration::from_secs(60);
/// Lifetime given to a refreshed record whose expiration was not after its modification
/// (MS-PPGRH §3.1.7.22).
pub const AUTOREFRESH_FALLBACK_LIFETIME: Duration = Duration::from_secs(300);

/// The authentication timer formula (MS-PPGRH §3.1.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AuthTimerFormula {
    /// peerlab's default: `20 + 280·e^(−cConns/10)` s, which spans the stated 20..300 s.
    #[default]
    Offset,
    /// As printed: `(300 − 20)·e^(−cConns/10)` s, which spans 0..280 s despite the text.
    AsPrinted,
}

/// The authentication timeout for a connection while `connections` connections exist (those that
/// reached at least the ALLOC state; MS-PPGRH §3.1.2), rounded to the microsecond.
pub fn auth_timeout(connections: usize, formula: AuthTimerFormula) -> Duration {
    let span =
        (AUTH_TIMER_MAX.as_secs_f64() - AUTH_TIMER_MIN.as_secs_f64()) * (-(connections as f64) / 10.0).exp();
    let secs = match formula {
        AuthTimerFormula::Offset => AUTH_TIMER_MIN.as_secs_f64() + span,
        AuthTimerFormula::AsPrinted => span,
    };
    Duration::from_micros((secs * 1e6).round() as u64)
}

/// The graph maintenance period: 300 s with at least one CONNECTED link, 30 s without
/// (MS-PPGRH §3.1.6.6).
pub fn maintenance_period(has_connected_link: bool, config: &GraphConfig) -> Duration {
    if has_connected_link {
        config.maintenance_connected
    } else {
        config.maintenance_alone
    }
}

fn uniform_secs(rng: &mut impl Rng, (lo, hi): (u64, u64)) -> Duration {
    Duration::from_secs(rng.gen_range(lo..=hi))
}

/// The contact timer: U[10, 180] whole seconds (MS-PPGRH §3.1.2).
pub fn contact_delay(rng: &mut impl Rng) -> Duration {
    uniform_secs(rng, CONTACT_TIMER_SECS)
}

/// The partition detection timer: U[5, 30] whole seconds (MS-PPGRH §3.1.2).
pub fn partition_delay(rng: &mut impl Rng) -> Duration {
    uniform_secs(rng, PARTITION_TIMER_SECS)
}

/// The presence timer: U[30, 180] whole seconds (MS-PPGRH §3.1.2).
pub fn presence_delay(rng: &mut impl Rng) -> Duration {
    uniform_secs(rng, PRESENCE_TIMER_SECS)
}

/// The record expiration timer after a scan: time to the next expiration (0 if already past),
/// clamped to [15 s, 24 h]; 24 h with nothing to expire (MS-PPGRH §3.1.6.7).
pub fn expiry_delay(next_expiration: Option<PeerTime>, now: PeerTime) -> Duration {
    let delay = next_expiration.map_or(EXPIRY_MAX, |next| next.since(now));
    delay.max(EXPIRY_MIN).min(EXPIRY_MAX)
}

/// When a record expiring at `expires` is added while the expiration timer fires in
/// `remaining` (`None`: not armed): the new delay if the record expires more than 15 s before
/// the timer fires, else `None` (MS-PPGRH §3.1.7.3, §3.1.7.10).
pub fn expiry_reschedule(expires: PeerTime, now: PeerTime, remaining: Option<Duration>) -> Option<Duration> {
    match remaining {
        Some(r) if expires.plus(EXPIRY_RESCHEDULE_SLACK) >= now.plus(r) => None,
        _ => Some(expires.since(now)),
    }
}

/// When the autorefresh timer fires relative to a record's expiration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AutorefreshAt {
    /// As printed (MS-PPGRH §3.1.7.3): at the expiration itself, so other nodes may expire the
    /// record before its refresh reaches them.
    #[default]
    Expiration,
    /// peerlab's option: 20 s before the expiration, the start of the refresh window.
    WindowStart,
}

fn autorefresh_target(expires: PeerTime, at: AutorefreshAt) -> PeerTime {
    match at {
        AutorefreshAt::Expiration => expires,
        AutorefreshAt::WindowStart => expires.minus(AUTOREFRESH_WINDOW),
    }
}

/// When an autorefresh record expiring at `expires` is published or received while the
/// autorefresh timer fires in `remaining` (`None`: not armed): the new delay (at least 4 s) if
/// the timer is unarmed or the record is due more than 60 s before it fires, else `None`
/// (MS-PPGRH §3.1.7.3, §3.1.7.10).
pub fn autorefresh_reschedule(
    expires: PeerTime,
    now: PeerTime,
    remaining: Option<Duration>,
    at: AutorefreshAt,
) -> Option<Duration> {
    let target = autorefresh_target(expires, at);
    match remaining {
        Some(r) if target.plus(AUTOREFRESH_RESCHEDULE_SLACK) >= now.plus(r) => None,
        _ => Some(target.since(now).max(AUTOREFRESH_MIN)),
    }
}

/// The autorefresh timer after it fired: due at the earliest remaining autorefresh record (at
/// least 4 s away), `None` with none left. MS-PPGRH §3.1.6.8 does not re-arm the timer, and
/// records published before a firing that refreshed nothing (the first one at 4 s) would then
/// never be refreshed; peerlab re-arms it from the records still flagged.
pub fn next_autorefresh_delay(
    expirations: impl IntoIterator<Item = PeerTime>,
    now: PeerTime,
    at: AutorefreshAt,
) -> Option<Duration> {
    let earliest = expirations.into_iter().min()?;
    Some(autorefresh_target(earliest, at).since(now).max(AUTOREFRESH_MIN))
}

/// Whether the autorefresh scan refreshes `record`: flagged, live, expiring by now + 20 s
/// (MS-PPGRH §3.1.7.22).
pub fn needs_autorefresh(record: &PeerRecord, now: PeerTime) -> bool {
    record.autorefresh && !record.deleted && record.expires <= now.plus(AUTOREFRESH_WINDOW)
}

/// A refreshed record's expiration: `now + (expires − modified)`, keeping its lifetime, or now +
/// 300 s when it expired no later than its modification (MS-PPGRH §3.1.7.22 prints a bare "300
/// seconds", read as a lifetime).
pub fn refreshed_expiration(record: &PeerRecord, now: PeerTime) -> PeerTime {
    if record.expires > record.modified {
        now.plus(record.expires.since(record.modified))
    } else {
        now.plus(AUTOREFRESH_FALLBACK_LIFETIME)
    }
}

/// The refresh of `record` by its publisher `modifier` (MS-PPGRH §3.1.7.22 through the update of
/// §3.1.7.8): same content, version + 1, modified now, the new expiration (never shorter than
/// the old one). `None` when the record does not need a refresh.
pub fn autorefresh_update(record: &PeerRecord, modifier: &str, now: PeerTime) -> Option<PeerRecord> {
    if !needs_autorefresh(record, now) {
        return None;
    }
    // Expirations never shrink (§3.1.7.8), even if peer time stepped back since the last update.
    let floor = record
        .expires
        .max(PeerTime(record.modified.0.max(now.0).saturating_add(2)));
    let content = RecordContent {
        payload: record.payload.clone(),
        attributes: record.attributes.clone(),
        expires: refreshed_expiration(record, now).max(floor),
    };
    update_record(record, content, modifier, now).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graphing::rules::record_id::tests::app_record;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    const SEC: u64 = 10_000_000;

    #[test]
    fn auth_timer_spans_twenty_to_three_hundred_seconds() {
        assert_eq!(
            auth_timeout(0, AuthTimerFormula::Offset),
            Duration::from_secs(300)
        );
        assert_eq!(
            auth_timeout(0, AuthTimerFormula::AsPrinted),
            Duration::from_secs(280)
        );
        // e^(−1) · 280 = 103.0062…
        assert_eq!(auth_timeout(10, AuthTimerFormula::AsPrinted).as_millis(), 103_006);
        assert_eq!(auth_timeout(10, AuthTimerFormula::Offset).as_millis(), 123_006);
        let many = auth_timeout(1_000, AuthTimerFormula::Offset);
        assert_eq!(many, AUTH_TIMER_MIN);
        assert!(auth_timeout(5, AuthTimerFormula::Offset) > auth_timeout(6, AuthTimerFormula::Offset));
    }

    #[test]
    fn random_delays_are_whole_seconds_within_their_ranges() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..2_000 {
            let c = contact_delay(&mut rng);
            let p = partition_delay(&mut rng);
            let q = presence_delay(&mut rng);
            for (d, (lo, hi)) in [
                (c, CONTACT_TIMER_SECS),
                (p, PARTITION_TIMER_SECS),
                (q, PRESENCE_TIMER_SECS),
            ] {
                assert_eq!(d.as_micros() % 1_000_000, 0);
                assert!((lo..=hi).contains(&(d.as_micros() / 1_000_000)));
            }
            seen.insert(p.as_micros() / 1_000_000);
        }
        assert_eq!(seen.len(), 26, "both ends of U[5,30] are reachable");
        let config = GraphConfig::new("g", "p");
        assert_eq!(maintenance_period(true, &config), Duration::from_secs(300));
        assert_eq!(maintenance_period(false, &config), Duration::from_secs(30));
    }

    #[test]
    fn expiry_timer_clamps_and_reschedules() {
        let now = PeerTime(1_000 * SEC);
        assert_eq!(expiry_delay(None, now), EXPIRY_MAX);
        assert_eq!(expiry_delay(Some(PeerTime(0)), now), EXPIRY_MIN);
        assert_eq!(
            expiry_delay(Some(PeerTime(1_100 * SEC)), now),
            Duration::from_secs(100)
        );
        assert_eq!(expiry_delay(Some(PeerTime(u64::MAX)), now), EXPIRY_MAX);
        // Timer in 100 s: a record expiring in 80 s reschedules it (80 + 15 < 100), one in 85 s not.
        assert_eq!(
            expiry_reschedule(PeerTime(1_080 * SEC), now, Some(Duration::from_secs(100))),
            Some(Duration::from_secs(80))
        );
        assert_eq!(
            expiry_reschedule(PeerTime(1_085 * SEC), now, Some(Duration::from_secs(100))),
            None
        );
        assert_eq!(
            expiry_reschedule(PeerTime(1_085 * SEC), now, None),
            Some(Duration::from_secs(85))
        );
    }

    #[test]
    fn autorefresh_keeps_the_lifetime_and_schedules_before_expiry() {
        let mut r = app_record("alice", 1);
        r.autorefresh = true;
        r.modified = PeerTime(100 * SEC);
        r.created = r.modified;
        r.expires = PeerTime(400 * SEC);
        assert!(!needs_autorefresh(&r, PeerTime(379 * SEC)));
        assert!(needs_autorefresh(&r, PeerTime(380 * SEC)));
        let now = PeerTime(390 * SEC);
        let up = autorefresh_update(&r, "alice", now).unwrap();
        assert_eq!(
            (up.version, up.modified, up.expires),
            (2, now, PeerTime(690 * SEC))
        );
        assert_eq!(
            (up.payload.as_slice(), up.autorefresh),
            (r.payload.as_slice(), true)
        );
        assert_eq!(autorefresh_update(&up, "alice", now), None, "not due again");
        let mut dead = r.clone();
        dead.deleted = true;
        assert_eq!(autorefresh_update(&dead, "alice", now), None);
        // A record whose expiration is not after its modification gets 300 s.
        let mut odd = r.clone();
        odd.expires = odd.modified;
        assert_eq!(refreshed_expiration(&odd, now), PeerTime(690 * SEC));

        let t0 = PeerTime(0);
        let exp = PeerTime(300 * SEC);
        assert_eq!(
            autorefresh_reschedule(exp, t0, None, AutorefreshAt::Expiration),
            Some(Duration::from_secs(300))
        );
        assert_eq!(
            autorefresh_reschedule(exp, t0, None, AutorefreshAt::WindowStart),
            Some(Duration::from_secs(280))
        );
        assert_eq!(
            autorefresh_reschedule(exp, t0, Some(Duration::from_secs(4)), AutorefreshAt::Expiration),
            None
        );
        assert_eq!(
            autorefresh_reschedule(exp, t0, Some(Duration::from_secs(361)), AutorefreshAt::Expiration),
            Some(Duration::from_secs(300))
        );
        assert_eq!(
            autorefresh_reschedule(PeerTime(SEC), t0, None, AutorefreshAt::Expiration),
            Some(AUTOREFRESH_MIN)
        );
        assert_eq!(
            next_autorefresh_delay([exp, PeerTime(900 * SEC)], t0, AutorefreshAt::WindowStart),
            Some(Duration::from_secs(280))
        );
        assert_eq!(next_autorefresh_delay([], t0, AutorefreshAt::Expiration), None);
    }
}
