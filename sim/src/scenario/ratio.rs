//! Probabilities and fractions ("0.5%", "40%", "1/100", 0.25), stored exactly as parts per million
//! so that draws reproduce on every machine (docs/architecture.md §5, §7 habit 5).

use super::units::{decimal, scaled_round, Scalar, UnitError};
use super::value::de_fixed;
use rand::Rng;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A probability or fraction in 0..=1, stored exactly as parts per million (docs/architecture.md §7 habit 5).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ratio(u32);

const RATIO_ALLOWED: &str =
    "a percentage such as \"0.5%\" or \"40%\", or a fraction such as \"1/100\" (a bare number only for 0)";

/// Why a bare number other than 0 is refused: `loss = 1` reads as 1% to one person and 100% to
/// another, so the unit must be written.
fn ambiguous(text: &dyn fmt::Display, ppm: u128) -> UnitError {
    let pct = Ratio::from_ppm(ppm.min(u128::from(Ratio::PPM)) as u32);
    UnitError::new(
        format!("`{text}` is a bare number: write `\"{pct}\"` if you mean a fraction of {text}, or `\"{text}%\"` for {text} percent"),
        RATIO_ALLOWED,
    )
}

impl Ratio {
    /// Parts per million in one.
    pub const PPM: u32 = 1_000_000;
    /// Never.
    pub const ZERO: Ratio = Ratio(0);
    /// Always.
    pub const ONE: Ratio = Ratio(Self::PPM);

    /// A ratio of `ppm` parts per million, capped at one.
    pub const fn from_ppm(ppm: u32) -> Self {
        Ratio(if ppm > Self::PPM { Self::PPM } else { ppm })
    }
    /// Parts per million.
    pub const fn ppm(self) -> u32 {
        self.0
    }
    /// As a float, for reporting only.
    pub fn as_f64(self) -> f64 {
        self.0 as f64 / Self::PPM as f64
    }
    /// `floor(n * self)`, exactly.
    pub fn of(self, n: u64) -> u64 {
        (n as u128 * self.0 as u128 / Self::PPM as u128) as u64
    }
    /// A Bernoulli trial with this probability, drawn through integers so it reproduces exactly.
    pub fn hit<R: Rng + ?Sized>(self, rng: &mut R) -> bool {
        rng.gen_range(0..Self::PPM) < self.0
    }
    fn checked(ppm: u128, text: &dyn fmt::Display) -> Result<Ratio, UnitError> {
        if ppm > Self::PPM as u128 {
            return Err(UnitError::new(
                format!("`{text}` is more than 100%"),
                RATIO_ALLOWED,
            ));
        }
        Ok(Ratio(ppm as u32))
    }
}

impl FromStr for Ratio {
    type Err = UnitError;
    fn from_str(text: &str) -> Result<Self, UnitError> {
        let t = text.trim();
        let bad = || UnitError::new(format!("`{text}` is not a ratio"), RATIO_ALLOWED);
        if t.starts_with('-') {
            return Err(UnitError::new(format!("`{text}` is negative"), RATIO_ALLOWED));
        }
        // Non-exact values (1/3, 0.00001%) round to the nearest part per million.
        let ppm = if let Some(pct) = t.strip_suffix('%') {
            let (m, s) = decimal(pct.trim()).ok_or_else(bad)?;
            scaled_round(m, s, 10_000).ok_or_else(bad)?
        } else if let Some((n, d)) = t.split_once('/') {
            let n: u128 = n.trim().parse::<u64>().map_err(|_| bad())?.into();
            let d: u128 = d.trim().parse::<u64>().map_err(|_| bad())?.into();
            if d == 0 {
                return Err(UnitError::new(format!("`{text}` divides by zero"), RATIO_ALLOWED));
            }
            (n * Self::PPM as u128 + d / 2) / d
        } else {
            let (m, s) = decimal(t).ok_or_else(bad)?;
            let ppm = scaled_round(m, s, Self::PPM as u128).ok_or_else(bad)?;
            if ppm != 0 {
                return Err(ambiguous(&t, ppm));
            }
            ppm
        };
        Ratio::checked(ppm, &text)
    }
}

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Exact: ppm / 10_000 percent, with up to four decimals.
        let (whole, frac) = (self.0 / 10_000, self.0 % 10_000);
        if frac == 0 {
            write!(f, "{whole}%")
        } else {
            let digits = format!("{frac:04}");
            write!(f, "{whole}.{}%", digits.trim_end_matches('0'))
        }
    }
}

impl Scalar for Ratio {
    const ALLOWED: &'static str = RATIO_ALLOWED;
    fn parse_text(text: &str) -> Result<Self, UnitError> {
        text.parse()
    }
    fn from_int(v: i64) -> Result<Self, UnitError> {
        match v {
            0 => Ok(Ratio::ZERO),
            v if v < 0 => Err(UnitError::new(format!("`{v}` is negative"), RATIO_ALLOWED)),
            v => Err(ambiguous(&v, v as u128 * u128::from(Self::PPM))),
        }
    }
    fn from_float(v: f64) -> Result<Self, UnitError> {
        if !v.is_finite() || v < 0.0 {
            return Err(UnitError::new(
                format!("`{v}` is negative or not a number"),
                RATIO_ALLOWED,
            ));
        }
        if v == 0.0 {
            return Ok(Ratio::ZERO);
        }
        Err(ambiguous(&v, (v.min(1.0) * Self::PPM as f64).round() as u128))
    }
    fn sample_between<R: Rng + ?Sized>(lo: Self, hi: Self, rng: &mut R) -> Self {
        Ratio(rng.gen_range(lo.0..=hi.0))
    }
}

impl Serialize for Ratio {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Ratio {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        de_fixed(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn ratios_parse_exactly() {
        let ppm = |t: &str| t.parse::<Ratio>().unwrap_or_else(|e| panic!("{t}: {e}")).ppm();
        assert_eq!(
            (ppm("0.5%"), ppm("40%"), ppm("1/100"), ppm("1/4"), ppm("1/3")),
            (5_000, 400_000, 10_000, 250_000, 333_333)
        );
        assert_eq!((ppm("100%"), ppm("0"), ppm("0.00001%")), (1_000_000, 0, 0));
        for bad in ["150%", "-1%", "1/0", "2/1", "x%", "", "1.5"] {
            let msg = bad.parse::<Ratio>().unwrap_err().to_string();
            assert!(
                msg.contains(&format!("`{bad}`")) && msg.contains("; allowed: "),
                "{msg}"
            );
        }
        assert!(
            Ratio::from_float(1.5).is_err()
                && Ratio::from_int(-1).is_err()
                && Ratio::from_float(f64::NAN).is_err()
        );
        assert_eq!(Ratio::from_float(0.0).unwrap(), Ratio::ZERO);
        assert_eq!(Ratio::from_int(0).unwrap(), Ratio::ZERO);
    }

    #[test]
    fn bare_numbers_other_than_zero_are_refused_with_both_readings() {
        // `loss = 1` used to mean 100% silently.
        let msg = Ratio::from_int(1).unwrap_err().to_string();
        assert!(msg.contains("\"100%\"") && msg.contains("\"1%\""), "{msg}");
        let msg = Ratio::from_float(0.25).unwrap_err().to_string();
        assert!(msg.contains("\"25%\"") && msg.contains("\"0.25%\""), "{msg}");
        let msg = "0.5".parse::<Ratio>().unwrap_err().to_string();
        assert!(msg.contains("bare number"), "{msg}");
        assert_eq!("0".parse::<Ratio>().unwrap(), Ratio::ZERO);
    }

    #[test]
    fn ratio_hits_at_its_rate() {
        let r: Ratio = "25%".parse().unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let hits = (0..10_000).filter(|_| r.hit(&mut rng)).count();
        assert!((2_300..2_700).contains(&hits), "{hits}");
        assert!(!Ratio::ZERO.hit(&mut rng) && Ratio::ONE.hit(&mut rng));
        assert_eq!(r.of(10), 2);
    }

    proptest::proptest! {
        #[test]
        fn ratios_round_trip_through_text(ppm in 0u32..=1_000_000) {
            let r = Ratio::from_ppm(ppm);
            proptest::prop_assert_eq!(r.to_string().parse::<Ratio>().unwrap(), r);
        }

    }
}
