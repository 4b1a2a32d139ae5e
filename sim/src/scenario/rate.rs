//! Event rates such as "50/s", "3/m" or "1/h", kept as exact ratios so schedules reproduce bit
//! for bit (docs/architecture.md §5, §7 habit 5).

use super::units::{decimal, gcd, Scalar, UnitError};
use super::value::de_fixed;
use peerlab_engine::Duration;
use rand::Rng;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// An event rate, kept as the exact ratio `events / per` so schedules reproduce bit for bit.
#[derive(Clone, Copy, Debug)]
pub struct Rate {
    events: u64,
    per: Duration,
}

const RATE_ALLOWED: &str =
    "a count per unit (ms, s, m, h, d) such as \"50/s\", \"3/m\", \"1/h\" or \"2.5/s\"";

impl Rate {
    /// `events` per `per` (a zero `per` is treated as one microsecond).
    pub fn new(events: u64, per: Duration) -> Self {
        Rate {
            events,
            per: Duration::from_micros(per.as_micros().max(1)),
        }
    }
    /// The numerator: events per `per()`.
    pub fn events(self) -> u64 {
        self.events
    }
    /// The denominator.
    pub fn per(self) -> Duration {
        self.per
    }
    /// Whether no event ever happens.
    pub fn is_zero(self) -> bool {
        self.events == 0
    }
    /// Events per second, for reporting only.
    pub fn per_sec_f64(self) -> f64 {
        self.events as f64 / self.per.as_secs_f64()
    }
    /// Mean time between events, rounded down to the microsecond; `Duration::MAX` for a zero rate.
    pub fn mean_interval(self) -> Duration {
        match self.events {
            0 => Duration::MAX,
            n => Duration::from_micros(self.per.as_micros() / n),
        }
    }
    fn cross(self, other: Rate) -> (u128, u128) {
        (
            self.events as u128 * other.per.as_micros() as u128,
            other.events as u128 * self.per.as_micros() as u128,
        )
    }
}

impl PartialEq for Rate {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = self.cross(*other);
        a == b
    }
}

impl PartialOrd for Rate {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        let (a, b) = self.cross(*other);
        Some(a.cmp(&b))
    }
}

impl FromStr for Rate {
    type Err = UnitError;
    fn from_str(text: &str) -> Result<Self, UnitError> {
        let bad = || UnitError::new(format!("`{text}` is not a rate"), RATE_ALLOWED);
        let (count, unit) = text.split_once('/').ok_or_else(bad)?;
        let unit = unit.trim();
        let per = match unit {
            "ms" => Duration::from_millis(1),
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_mins(1),
            "h" | "hour" => Duration::from_mins(60),
            "d" | "day" => Duration::from_mins(24 * 60),
            // "100/10s": a count per any duration.
            _ => unit.parse::<Duration>().map_err(|_| bad())?,
        };
        let (mantissa, scale) = decimal(count.trim()).ok_or_else(bad)?;
        // "2.5/s" is exactly 25 per 10 s.
        let per_micros = (per.as_micros() as u128).checked_mul(10u128.checked_pow(scale).ok_or_else(bad)?);
        let (events, per_micros) = (mantissa, per_micros.ok_or_else(bad)?);
        let g = gcd(events, per_micros).max(1);
        let (events, per_micros) = (events / g, per_micros / g);
        match (u64::try_from(events), u64::try_from(per_micros)) {
            (Ok(e), Ok(p)) if p > 0 => Ok(Rate::new(e, Duration::from_micros(p))),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The first unit in which the count is whole: "10/s" rather than "1/100ms".
        let units = [
            ("s", 1_000_000u128),
            ("m", 60_000_000),
            ("h", 3_600_000_000),
            ("d", 86_400_000_000),
            ("ms", 1_000),
        ];
        let per = self.per.as_micros() as u128;
        for (name, unit_us) in units {
            let scaled = self.events as u128 * unit_us;
            if scaled.is_multiple_of(per) {
                return write!(f, "{}/{name}", scaled / per);
            }
        }
        write!(f, "{}/{}", self.events, self.per)
    }
}

impl Scalar for Rate {
    const ALLOWED: &'static str = RATE_ALLOWED;
    fn parse_text(text: &str) -> Result<Self, UnitError> {
        text.parse()
    }
    fn from_int(v: i64) -> Result<Self, UnitError> {
        Err(UnitError::new(format!("`{v}` has no unit"), RATE_ALLOWED))
    }
    fn from_float(v: f64) -> Result<Self, UnitError> {
        Err(UnitError::new(format!("`{v}` has no unit"), RATE_ALLOWED))
    }
    fn sample_between<R: Rng + ?Sized>(lo: Self, hi: Self, rng: &mut R) -> Self {
        // Uniform over the exact rationals lo..=hi on their common denominator.
        let den = lo.per.as_micros() as u128 * hi.per.as_micros() as u128;
        let (a, b) = (
            lo.events as u128 * hi.per.as_micros() as u128,
            hi.events as u128 * lo.per.as_micros() as u128,
        );
        let mut n = rng.gen_range(a..=b.max(a));
        let g = gcd(n, den).max(1);
        let mut d = den / g;
        n /= g;
        while n > u64::MAX as u128 || d > u64::MAX as u128 {
            n >>= 1;
            d = (d >> 1).max(1);
        }
        Rate::new(n as u64, Duration::from_micros(d as u64))
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        de_fixed(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::value::Value;

    fn round_trip<T: Scalar + fmt::Debug>(text: &str) -> T {
        let v = T::parse_text(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(T::parse_text(&v.to_string()).unwrap(), v, "{text} -> {v}");
        v
    }

    #[test]
    fn rates_parse_exactly_and_round_trip() {
        assert_eq!(round_trip::<Rate>("50/s"), Rate::new(50, Duration::from_secs(1)));
        assert_eq!(round_trip::<Rate>("3/m"), Rate::new(1, Duration::from_secs(20)));
        assert_eq!(round_trip::<Rate>("1/h").mean_interval(), Duration::from_mins(60));
        assert_eq!(round_trip::<Rate>("2.5/s"), Rate::new(5, Duration::from_secs(2)));
        assert_eq!(
            round_trip::<Rate>("100/10s"),
            Rate::new(10, Duration::from_secs(1))
        );
        assert_eq!(round_trip::<Rate>("60/m"), round_trip::<Rate>("1/s"));
        assert_eq!(round_trip::<Rate>("10/s").to_string(), "10/s");
        assert_eq!(round_trip::<Rate>("2.5/s").to_string(), "150/m");
        assert_eq!(round_trip::<Rate>("1/7s").to_string(), "1/7s");
        assert!(round_trip::<Rate>("1/s") > round_trip::<Rate>("59/m"));
        assert_eq!(
            Rate::new(0, Duration::from_secs(1)).mean_interval(),
            Duration::MAX
        );
    }

    #[test]
    fn bad_rates_say_what_is_allowed() {
        for text in ["50", "5/fortnight", "/s", "x/s", "-1/s", "1.2.3/s"] {
            let msg = text.parse::<Rate>().unwrap_err().to_string();
            assert!(
                msg.contains(&format!("`{text}`")) && msg.contains("; allowed: "),
                "{msg}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn rate_text_never_panics(s in "\\PC{0,24}") {
            let _ = s.parse::<Value<Rate>>();
        }

        #[test]
        fn rates_round_trip(events in 0u64..1_000_000, per_us in 1u64..100_000_000_000) {
            let r = Rate::new(events, Duration::from_micros(per_us));
            proptest::prop_assert_eq!(r.to_string().parse::<Rate>().unwrap(), r);
        }
    }
}
