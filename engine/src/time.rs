//! Simulated time as integers: microseconds since the run's epoch (docs/architecture.md §3).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// A point in time: microseconds since the run's epoch. The engine never reads a clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Instant(u64);

/// A span of time in microseconds. Serialized as text with a unit (`"15s"`, `"250ms"`, `"2h"`);
/// parsed from such text or from an integer number of microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(u64);

/// Why a duration text was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a duration: write a number and a unit (us, ms, s, m, h, d), e.g. \"15s\", \"1.5h\" or \"1m30s\"")]
pub struct DurationError(pub String);

impl std::str::FromStr for Duration {
    type Err = DurationError;
    /// A number and a unit (`us`/`µs`, `ms`, `s`/`sec`, `m`/`min`, `h`, `d`), or several such
    /// terms from the largest unit down (`"1m30s"`, `"2h 15m"`), summed exactly.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = || DurationError(text.to_owned());
        let mut rest = text.trim();
        if rest.is_empty() {
            return Err(err());
        }
        let (mut total, mut last_unit) = (0u64, u64::MAX);
        while !rest.is_empty() {
            let num_end = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .ok_or_else(err)?;
            let after = &rest[num_end..];
            let unit_end = after
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(after.len());
            let (us, unit_us) = duration_term(&rest[..num_end], after[..unit_end].trim()).ok_or_else(err)?;
            // Terms go from the largest unit down, each unit once: "30s1m" or "1s1s" is a typo.
            if unit_us >= last_unit {
                return Err(err());
            }
            last_unit = unit_us;
            total = total.checked_add(us).ok_or_else(err)?;
            rest = &after[unit_end..];
        }
        Ok(Duration(total))
    }
}

/// One `number unit` term in microseconds, with the unit's length; `None` when malformed.
fn duration_term(num: &str, unit: &str) -> Option<(u64, u64)> {
    let unit_us: u64 = match unit {
        "us" | "µs" => 1,
        "ms" => 1_000,
        "s" | "sec" => 1_000_000,
        "m" | "min" => 60_000_000,
        "h" => 3_600_000_000,
        "d" => 86_400_000_000,
        _ => return None,
    };
    if num.is_empty() || num.starts_with('.') || num.matches('.').count() > 1 {
        return None;
    }
    let (whole, frac) = num.split_once('.').unwrap_or((num, ""));
    let mut us = whole.parse::<u64>().ok()?.checked_mul(unit_us)?;
    // Fractions are exact decimal arithmetic: "1.5h" is 5,400,000,000 us on every machine.
    let mut scale = unit_us;
    for digit in frac.bytes() {
        scale /= 10;
        us = us.checked_add((digit - b'0') as u64 * scale)?;
    }
    Some((us, unit_us))
}

impl Serialize for Duration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"15s\", \"250ms\", \"30m\" or \"2h\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Duration, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Duration, E> {
                Ok(Duration(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Duration, E> {
                u64::try_from(v)
                    .map(Duration)
                    .map_err(|_| E::custom("a duration cannot be negative"))
            }
        }
        d.deserialize_any(V)
    }
}

impl Instant {
    /// The run's epoch.
    pub const ZERO: Instant = Instant(0);
    /// The far future, later than any event.
    pub const MAX: Instant = Instant(u64::MAX);

    /// An instant `micros` microseconds after the epoch.
    pub const fn from_micros(micros: u64) -> Self {
        Instant(micros)
    }
    /// Microseconds since the epoch.
    pub const fn as_micros(self) -> u64 {
        self.0
    }
    /// Time since the epoch as a duration.
    pub const fn since_epoch(self) -> Duration {
        Duration(self.0)
    }
    /// `self - earlier`, or zero when `earlier` is later.
    pub fn saturating_since(self, earlier: Instant) -> Duration {
        Duration(self.0.saturating_sub(earlier.0))
    }
}

impl Duration {
    /// No time at all.
    pub const ZERO: Duration = Duration(0);
    /// The longest representable span.
    pub const MAX: Duration = Duration(u64::MAX);

    /// A duration of `micros` microseconds.
    pub const fn from_micros(micros: u64) -> Self {
        Duration(micros)
    }
    /// A duration of `millis` milliseconds.
    pub const fn from_millis(millis: u64) -> Self {
        Duration(millis * 1_000)
    }
    /// A duration of `secs` seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Duration(secs * 1_000_000)
    }
    /// A duration of `mins` minutes.
    pub const fn from_mins(mins: u64) -> Self {
        Duration(mins * 60_000_000)
    }
    /// Microseconds in this span.
    pub const fn as_micros(self) -> u64 {
        self.0
    }
    /// Whole milliseconds in this span.
    pub const fn as_millis(self) -> u64 {
        self.0 / 1_000
    }
    /// This span in (fractional) seconds, for reporting only.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }
    /// This span multiplied by `k`, saturating.
    pub const fn saturating_mul(self, k: u64) -> Duration {
        Duration(self.0.saturating_mul(k))
    }
    /// `self - other`, or zero.
    pub const fn saturating_sub(self, other: Duration) -> Duration {
        Duration(self.0.saturating_sub(other.0))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(d.0))
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        self.0 = self.0.saturating_add(d.0);
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_since(earlier)
    }
}

impl Add for Duration {
    type Output = Duration;
    fn add(self, o: Duration) -> Duration {
        Duration(self.0.saturating_add(o.0))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0;
        if us.is_multiple_of(3_600_000_000) && us > 0 {
            write!(f, "{}h", us / 3_600_000_000)
        } else if us.is_multiple_of(60_000_000) && us > 0 {
            write!(f, "{}m", us / 60_000_000)
        } else if us.is_multiple_of(1_000_000) {
            write!(f, "{}s", us / 1_000_000)
        } else if us.is_multiple_of(1_000) {
            write!(f, "{}ms", us / 1_000)
        } else {
            write!(f, "{}us", us)
        }
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0 / 1_000_000;
        write!(
            f,
            "{:02}:{:02}:{:02}.{:06}",
            s / 3600,
            (s / 60) % 60,
            s % 60,
            self.0 % 1_000_000
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_instead_of_wrapping() {
        assert_eq!(Instant::MAX + Duration::from_secs(1), Instant::MAX);
        assert_eq!(Instant::from_micros(5) - Instant::from_micros(9), Duration::ZERO);
        assert_eq!(
            Instant::ZERO + Duration::from_millis(3),
            Instant::from_micros(3_000)
        );
    }

    #[test]
    fn durations_parse_with_units_exactly() {
        assert_eq!("15s".parse::<Duration>().unwrap(), Duration::from_secs(15));
        assert_eq!("1.5h".parse::<Duration>().unwrap(), Duration::from_mins(90));
        assert_eq!("250ms".parse::<Duration>().unwrap(), Duration::from_millis(250));
        assert_eq!("0.001s".parse::<Duration>().unwrap(), Duration::from_millis(1));
        for bad in ["", "15", "s", "1.2.3s", "-1s", "3 parsecs", ".5s"] {
            assert!(bad.parse::<Duration>().is_err(), "{bad}");
        }
    }

    #[test]
    fn compound_durations_sum_their_terms_largest_unit_first() {
        assert_eq!("1m30s".parse::<Duration>().unwrap(), Duration::from_secs(90));
        assert_eq!("2h 15m".parse::<Duration>().unwrap(), Duration::from_mins(135));
        assert_eq!(
            "1d2h3m4s5ms6us".parse::<Duration>().unwrap(),
            Duration(93_784_005_006)
        );
        assert_eq!("1h0.5m".parse::<Duration>().unwrap(), Duration::from_secs(3630));
        for bad in [
            "30s1m",
            "1s1s",
            "1m30",
            "1m 30 parsecs",
            "1m-30s",
            "m30s",
            "1.5.h2m",
        ] {
            assert!(bad.parse::<Duration>().is_err(), "{bad}");
        }
    }

    #[test]
    fn display_picks_the_largest_exact_unit() {
        assert_eq!(Duration::from_mins(90).to_string(), "90m");
        assert_eq!(Duration::from_secs(7200).to_string(), "2h");
        assert_eq!(Duration::from_millis(1500).to_string(), "1500ms");
        assert_eq!(Instant::from_micros(3_723_000_001).to_string(), "01:02:03.000001");
    }
}
