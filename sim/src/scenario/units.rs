//! Typed scenario values written as text with a unit: durations, rates, bandwidths, sizes and
//! counts (docs/architecture.md §5); rates live in `rate.rs`, ratios in `ratio.rs`. `value.rs` wraps any of
//! them in a range.
//!
//! Every parse error reads "WHAT; allowed: ALLOWED" so the scenario loader can split it into the
//! two halves of its diagnostic.

pub use super::ratio::Ratio;
use super::value::de_fixed;
use peerlab_engine::Duration;
use rand::Rng;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Why a value's text was rejected: what is wrong and what would be accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{what}; allowed: {allowed}")]
pub struct UnitError {
    /// What is wrong, quoting the offending text in backticks.
    pub what: String,
    /// What the value may be instead.
    pub allowed: String,
}

impl UnitError {
    pub(crate) fn new(what: impl Into<String>, allowed: &str) -> Self {
        UnitError {
            what: what.into(),
            allowed: allowed.to_owned(),
        }
    }
}

/// A scalar kind that scenario files may write as text, as a bare number, or as a range.
pub trait Scalar: Copy + PartialOrd + fmt::Display {
    /// What is allowed, for error messages ("a duration such as \"15s\"").
    const ALLOWED: &'static str;
    /// Parses the text form (one value, not a range).
    fn parse_text(text: &str) -> Result<Self, UnitError>;
    /// Accepts a bare TOML integer, when that makes sense for the kind.
    fn from_int(v: i64) -> Result<Self, UnitError>;
    /// Accepts a bare TOML float, when that makes sense for the kind.
    fn from_float(v: f64) -> Result<Self, UnitError>;
    /// A value drawn uniformly from `lo..=hi` (callers guarantee `lo <= hi`).
    fn sample_between<R: Rng + ?Sized>(lo: Self, hi: Self, rng: &mut R) -> Self;
}

/// Splits "12.5" into (125, 1): the value is `mantissa / 10^scale`, exactly.
pub(crate) fn decimal(text: &str) -> Option<(u128, u32)> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    if text.ends_with('.') || frac.len() > 18 || whole.len() > 30 {
        return None;
    }
    let digits: String = format!("{whole}{frac}");
    Some((digits.parse().ok()?, frac.len() as u32))
}

/// `mantissa / 10^scale * factor`, rounded to nearest; `None` on overflow.
pub(crate) fn scaled_round(mantissa: u128, scale: u32, factor: u128) -> Option<u128> {
    let den = 10u128.checked_pow(scale)?;
    let num = mantissa.checked_mul(factor)?;
    Some((num + den / 2) / den)
}

/// `mantissa / 10^scale * factor` when it is a whole number.
fn scaled_exact(mantissa: u128, scale: u32, factor: u128) -> Option<u128> {
    let den = 10u128.checked_pow(scale)?;
    let num = mantissa.checked_mul(factor)?;
    (num % den == 0).then_some(num / den)
}

/// Splits "2.5Mbps" into ("2.5", "Mbps").
fn number_and_unit(text: &str) -> (&str, &str) {
    let t = text.trim();
    let at = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    (t[..at].trim(), t[at..].trim())
}

/// Greatest common divisor (0 when both are 0).
pub(crate) fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

// ---------------------------------------------------------------- durations

const DURATION_ALLOWED: &str =
    "a number and a unit (us, ms, s, m, h, d) such as \"250ms\", \"15s\" or \"1.5h\", or terms from the largest unit down such as \"1m30s\"";

impl Scalar for Duration {
    const ALLOWED: &'static str = DURATION_ALLOWED;
    fn parse_text(text: &str) -> Result<Self, UnitError> {
        parse_duration(text)
    }
    fn from_int(v: i64) -> Result<Self, UnitError> {
        // A bare number is ambiguous (seconds? milliseconds?): ask for a unit, except for zero.
        match v {
            0 => Ok(Duration::ZERO),
            _ => Err(UnitError::new(format!("`{v}` has no unit"), DURATION_ALLOWED)),
        }
    }
    fn from_float(v: f64) -> Result<Self, UnitError> {
        Err(UnitError::new(format!("`{v}` has no unit"), DURATION_ALLOWED))
    }
    fn sample_between<R: Rng + ?Sized>(lo: Self, hi: Self, rng: &mut R) -> Self {
        Duration::from_micros(rng.gen_range(lo.as_micros()..=hi.as_micros()))
    }
}

/// Parses a duration through the engine's exact parser, with the scenario error shape.
pub fn parse_duration(text: &str) -> Result<Duration, UnitError> {
    text.parse::<Duration>()
        .map_err(|_| UnitError::new(format!("`{text}` is not a duration"), DURATION_ALLOWED))
}

// ---------------------------------------------------------------- counts and plain numbers

const COUNT_ALLOWED: &str = "a whole number such as 20, or a range such as \"10..50\"";

impl Scalar for u64 {
    const ALLOWED: &'static str = COUNT_ALLOWED;
    fn parse_text(text: &str) -> Result<Self, UnitError> {
        let t = text.trim();
        if t.starts_with('-') && t[1..].parse::<u64>().is_ok() {
            return Err(UnitError::new(format!("`{text}` is negative"), COUNT_ALLOWED));
        }
        t.parse()
            .map_err(|_| UnitError::new(format!("`{text}` is not a whole number"), COUNT_ALLOWED))
    }
    fn from_int(v: i64) -> Result<Self, UnitError> {
        u64::try_from(v).map_err(|_| UnitError::new(format!("`{v}` is negative"), COUNT_ALLOWED))
    }
    fn from_float(v: f64) -> Result<Self, UnitError> {
        Err(UnitError::new(
            format!("`{v}` is not a whole number"),
            COUNT_ALLOWED,
        ))
    }
    fn sample_between<R: Rng + ?Sized>(lo: Self, hi: Self, rng: &mut R) -> Self {
        rng.gen_range(lo..=hi)
    }
}

const NUMBER_ALLOWED: &str = "a finite number such as 0.6, or a range such as \"0.5..0.9\"";

impl Scalar for f64 {
    const ALLOWED: &'static str = NUMBER_ALLOWED;
    fn parse_text(text: &str) -> Result<Self, UnitError> {
        match text.trim().parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => Err(UnitError::new(
                format!("`{text}` is not a number"),
                NUMBER_ALLOWED,
            )),
        }
    }
    fn from_int(v: i64) -> Result<Self, UnitError> {
        Ok(v as f64)
    }
    fn from_float(v: f64) -> Result<Self, UnitError> {
        if v.is_finite() {
            Ok(v)
        } else {
            Err(UnitError::new(format!("`{v}` is not finite"), NUMBER_ALLOWED))
        }
    }
    fn sample_between<R: Rng + ?Sized>(lo: Self, hi: Self, rng: &mut R) -> Self {
        // Manual affine map: `gen_range` panics on ranges whose width overflows.
        let u: f64 = rng.gen();
        // No `clamp`: it panics on NaN bounds, and this must not panic on any input.
        let x = lo + (hi - lo) * u;
        if x > hi {
            hi
        } else if x < lo {
            lo
        } else {
            x
        }
    }
}

// ---------------------------------------------------------------- bandwidth

/// A link speed in bits per second.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bandwidth(pub u64);

const BANDWIDTH_ALLOWED: &str =
    "a number and a unit (bps, kbps, Mbps, Gbps, Tbps) such as \"512kbps\" or \"2Mbps\"";
const BANDWIDTH_UNITS: [(&str, u64); 5] = [
    ("tbps", 1_000_000_000_000),
    ("gbps", 1_000_000_000),
    ("mbps", 1_000_000),
    ("kbps", 1_000),
    ("bps", 1),
];

impl Bandwidth {
    /// Bits per second.
    pub fn bps(self) -> u64 {
        self.0
    }
}

impl FromStr for Bandwidth {
    type Err = UnitError;
    fn from_str(text: &str) -> Result<Self, UnitError> {
        let bad = || UnitError::new(format!("`{text}` is not a bandwidth"), BANDWIDTH_ALLOWED);
        let (num, unit) = number_and_unit(text);
        // Case does not matter: nobody means millibits per second.
        let unit = unit.to_ascii_lowercase();
        let factor = BANDWIDTH_UNITS
            .iter()
            .find(|(u, _)| *u == unit)
            .ok_or_else(bad)?
            .1;
        let (m, s) = decimal(num).ok_or_else(bad)?;
        let bits = scaled_exact(m, s, factor as u128).ok_or_else(|| {
            UnitError::new(
                format!("`{text}` is not a whole number of bits per second"),
                BANDWIDTH_ALLOWED,
            )
        })?;
        u64::try_from(bits).map(Bandwidth).map_err(|_| bad())
    }
}

impl fmt::Display for Bandwidth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = ["Tbps", "Gbps", "Mbps", "kbps", "bps"];
        for ((_, factor), name) in BANDWIDTH_UNITS.iter().zip(names) {
            if self.0.is_multiple_of(*factor) && (self.0 > 0 || *factor == 1) {
                return write!(f, "{}{name}", self.0 / factor);
            }
        }
        write!(f, "{}bps", self.0)
    }
}

impl Scalar for Bandwidth {
    const ALLOWED: &'static str = BANDWIDTH_ALLOWED;
    fn parse_text(text: &str) -> Result<Self, UnitError> {
        text.parse()
    }
    fn from_int(v: i64) -> Result<Self, UnitError> {
        Err(UnitError::new(format!("`{v}` has no unit"), BANDWIDTH_ALLOWED))
    }
    fn from_float(v: f64) -> Result<Self, UnitError> {
        Err(UnitError::new(format!("`{v}` has no unit"), BANDWIDTH_ALLOWED))
    }
    fn sample_between<R: Rng + ?Sized>(lo: Self, hi: Self, rng: &mut R) -> Self {
        Bandwidth(rng.gen_range(lo.0..=hi.0))
    }
}

// ---------------------------------------------------------------- sizes

/// A size in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

const SIZE_ALLOWED: &str =
    "a number of bytes, or a number and a unit (B, KB, MB, GB, KiB, MiB, GiB) such as \"1500B\", \"64KB\" or \"512KiB\"";
const SIZE_UNITS: [(&str, u64); 9] = [
    ("GiB", 1 << 30),
    ("GB", 1_000_000_000),
    ("MiB", 1 << 20),
    ("MB", 1_000_000),
    ("KiB", 1 << 10),
    ("KB", 1_000),
    ("kB", 1_000),
    ("B", 1),
    ("", 1),
];

impl ByteSize {
    /// Bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }
}

impl FromStr for ByteSize {
    type Err = UnitError;
    fn from_str(text: &str) -> Result<Self, UnitError> {
        let bad = || UnitError::new(format!("`{text}` is not a size"), SIZE_ALLOWED);
        let (num, unit) = number_and_unit(text);
        let factor = SIZE_UNITS.iter().find(|(u, _)| *u == unit).ok_or_else(bad)?.1;
        let (m, s) = decimal(num).ok_or_else(bad)?;
        let bytes = scaled_exact(m, s, factor as u128).ok_or_else(|| {
            UnitError::new(format!("`{text}` is not a whole number of bytes"), SIZE_ALLOWED)
        })?;
        u64::try_from(bytes).map(ByteSize).map_err(|_| bad())
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, factor) in &SIZE_UNITS[..7] {
            if self.0 > 0 && self.0.is_multiple_of(*factor) {
                return write!(f, "{}{name}", self.0 / factor);
            }
        }
        write!(f, "{}B", self.0)
    }
}

impl Scalar for ByteSize {
    const ALLOWED: &'static str = SIZE_ALLOWED;
    fn parse_text(text: &str) -> Result<Self, UnitError> {
        text.parse()
    }
    fn from_int(v: i64) -> Result<Self, UnitError> {
        u64::try_from(v)
            .map(ByteSize)
            .map_err(|_| UnitError::new(format!("`{v}` is negative"), SIZE_ALLOWED))
    }
    fn from_float(v: f64) -> Result<Self, UnitError> {
        Err(UnitError::new(
            format!("`{v}` is not a whole number of bytes"),
            SIZE_ALLOWED,
        ))
    }
    fn sample_between<R: Rng + ?Sized>(lo: Self, hi: Self, rng: &mut R) -> Self {
        ByteSize(rng.gen_range(lo.0..=hi.0))
    }
}

// ---------------------------------------------------------------- serde for the unit types

macro_rules! text_serde {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                de_fixed::<$t, D>(d)
            }
        }
    };
}
text_serde!(Bandwidth);
text_serde!(ByteSize);

#[cfg(test)]
mod tests {
    use super::super::value::Value;
    use super::*;

    fn round_trip<T: Scalar + fmt::Debug>(text: &str) -> T {
        let v = T::parse_text(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(T::parse_text(&v.to_string()).unwrap(), v, "{text} -> {v}");
        v
    }

    #[test]
    fn units_parse_exactly_and_round_trip() {
        assert_eq!(round_trip::<Bandwidth>("2Mbps").bps(), 2_000_000);
        assert_eq!(round_trip::<Bandwidth>("512kbps").bps(), 512_000);
        assert_eq!(round_trip::<Bandwidth>("1.5Gbps").bps(), 1_500_000_000);
        assert_eq!(round_trip::<Bandwidth>("100bps").bps(), 100);
        assert_eq!(round_trip::<ByteSize>("10MB").bytes(), 10_000_000);
        assert_eq!(round_trip::<ByteSize>("512KiB").bytes(), 524_288);
        assert_eq!(round_trip::<ByteSize>("1500B").bytes(), 1500);
        assert_eq!(round_trip::<ByteSize>("1500").bytes(), 1500);
        assert_eq!(round_trip::<Ratio>("0.5%").ppm(), 5_000);
        assert_eq!(round_trip::<Ratio>("40%").ppm(), 400_000);
        assert_eq!(round_trip::<Ratio>("1/100").ppm(), 10_000);
        assert_eq!(round_trip::<Ratio>("1/4").ppm(), 250_000);
        assert_eq!(round_trip::<Ratio>("1/3").ppm(), 333_333);
        assert_eq!(round_trip::<Duration>("1.5h"), Duration::from_mins(90));
    }

    #[test]
    fn bad_text_says_what_is_allowed() {
        for (text, err) in [
            ("2 Mbit", "2 Mbit".parse::<Bandwidth>().unwrap_err()),
            ("0.1bps", "0.1bps".parse::<Bandwidth>().unwrap_err()),
            ("10 parsecs", "10 parsecs".parse::<ByteSize>().unwrap_err()),
            ("150%", "150%".parse::<Ratio>().unwrap_err()),
            ("-1%", "-1%".parse::<Ratio>().unwrap_err()),
            ("1/0", "1/0".parse::<Ratio>().unwrap_err()),
            ("20 parsecs", parse_duration("20 parsecs").unwrap_err()),
        ] {
            let msg = err.to_string();
            assert!(
                msg.contains(&format!("`{text}`")) && msg.contains("; allowed: "),
                "{msg}"
            );
        }
        assert!(Ratio::from_float(1.5).is_err() && Ratio::from_int(-1).is_err());
        assert!(u64::from_int(-5).unwrap_err().what.contains("negative"));
        assert!(u64::parse_text("many")
            .unwrap_err()
            .to_string()
            .contains("whole number"));
        assert!(Duration::from_int(20).is_err() && Duration::from_int(0).is_ok());
        assert!(f64::parse_text("nan").is_err());
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC{0,24}") {
            let _ = s.parse::<Value<Duration>>();
            let _ = s.parse::<Value<Bandwidth>>();
            let _ = s.parse::<Value<ByteSize>>();
            let _ = s.parse::<Value<Ratio>>();
            let _ = s.parse::<Value<u64>>();
            let _ = s.parse::<Value<f64>>();
        }

        #[test]
        fn bandwidths_and_sizes_round_trip(n in 0u64..u64::MAX / 2) {
            proptest::prop_assert_eq!(Bandwidth(n).to_string().parse::<Bandwidth>().unwrap(), Bandwidth(n));
            proptest::prop_assert_eq!(ByteSize(n).to_string().parse::<ByteSize>().unwrap(), ByteSize(n));
        }
    }
}
