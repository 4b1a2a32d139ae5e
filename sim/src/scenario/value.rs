//! `Value<T>`: a scenario scalar that is fixed or a range (`"5ms..120ms"`, `"10..50"`) sampled
//! uniformly from the seed at expand time (docs/architecture.md §5).

use super::units::{Scalar, UnitError};
use rand::Rng;
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Deserializes a single (non-range) scalar, with the scenario error messages.
pub fn de_fixed<'de, T: Scalar, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
    match Value::<T>::deserialize(d)? {
        Value::Fixed(v) => Ok(v),
        Value::Range(lo, hi) => Err(de::Error::custom(format!(
            "`{lo}..{hi}` is a range, which this key does not take; allowed: {}",
            T::ALLOWED
        ))),
    }
}

/// A scalar that is either fixed or a range `lo..=hi` sampled uniformly from the seed at expand time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<T> {
    /// Always this value.
    Fixed(T),
    /// Drawn uniformly from `lo..=hi` (`lo <= hi` is checked when parsing).
    Range(T, T),
}

impl<T: Scalar> Value<T> {
    /// The smallest value this can take.
    pub fn lo(&self) -> T {
        match *self {
            Value::Fixed(v) | Value::Range(v, _) => v,
        }
    }
    /// The largest value this can take.
    pub fn hi(&self) -> T {
        match *self {
            Value::Fixed(v) | Value::Range(_, v) => v,
        }
    }
    /// Whether this is a range.
    pub fn is_range(&self) -> bool {
        matches!(self, Value::Range(..))
    }
    /// The concrete value: a fixed value draws nothing from `rng`; a range draws once.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> T {
        match *self {
            Value::Fixed(v) => v,
            // Tolerate hand-built backwards ranges rather than panic inside `gen_range`.
            Value::Range(a, b) if b < a => T::sample_between(b, a, rng),
            Value::Range(a, b) if a <= b => T::sample_between(a, b, rng),
            Value::Range(a, _) => a,
        }
    }
}

impl<T: Default> Default for Value<T> {
    fn default() -> Self {
        Value::Fixed(T::default())
    }
}

impl<T: Scalar> FromStr for Value<T> {
    type Err = UnitError;
    fn from_str(text: &str) -> Result<Self, UnitError> {
        let Some((a, b)) = text.split_once("..") else {
            return T::parse_text(text.trim()).map(Value::Fixed);
        };
        let (lo, hi) = (T::parse_text(a.trim())?, T::parse_text(b.trim())?);
        if hi < lo {
            return Err(UnitError {
                what: format!("range `{text}` runs backwards"),
                allowed: format!("`lo..hi` with lo <= hi, each {}", T::ALLOWED),
            });
        }
        Ok(Value::Range(lo, hi))
    }
}

impl<T: Scalar> fmt::Display for Value<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Fixed(v) => write!(f, "{v}"),
            Value::Range(lo, hi) => write!(f, "{lo}..{hi}"),
        }
    }
}

impl<T: Scalar + Serialize> Serialize for Value<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Fixed(v) => v.serialize(s),
            Value::Range(..) => s.collect_str(self),
        }
    }
}

impl<'de, T: Scalar> Deserialize<'de> for Value<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<T: Scalar> de::Visitor<'_> for V<T> {
            type Value = Value<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(T::ALLOWED)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Value<T>, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value<T>, E> {
                T::from_int(v).map(Value::Fixed).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value<T>, E> {
                let v = i64::try_from(v)
                    .map_err(|_| E::custom(format!("`{v}` is too large; allowed: {}", T::ALLOWED)))?;
                self.visit_i64(v)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value<T>, E> {
                T::from_float(v).map(Value::Fixed).map_err(E::custom)
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::rate::Rate;
    use peerlab_engine::Duration;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn ranges_parse_check_order_and_sample_inside() {
        let v: Value<Duration> = "5ms..120ms".parse().unwrap();
        assert_eq!(
            (v.lo(), v.hi()),
            (Duration::from_millis(5), Duration::from_millis(120))
        );
        assert!("120ms..5ms"
            .parse::<Value<Duration>>()
            .unwrap_err()
            .what
            .contains("backwards"));
        let counts: Value<u64> = "10..50".parse().unwrap();
        assert!("1/s..3/m".parse::<Value<Rate>>().is_err());
        let rates: Value<Rate> = "3/m..1/s".parse().unwrap();
        let fracs: Value<f64> = "0.5..0.9".parse().unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..200 {
            let d = v.sample(&mut rng);
            assert!(d >= v.lo() && d <= v.hi());
            assert!((10..=50).contains(&counts.sample(&mut rng)));
            let r = rates.sample(&mut rng);
            assert!(r >= rates.lo() && r <= rates.hi(), "{r}");
            let x = fracs.sample(&mut rng);
            assert!((0.5..=0.9).contains(&x));
        }
        // Same seed, same draws.
        let draw = |seed| v.sample(&mut ChaCha8Rng::seed_from_u64(seed));
        assert_eq!(draw(3), draw(3));
        assert_eq!(Value::Fixed(4u64).sample(&mut rng), 4);
        assert_eq!(counts.to_string(), "10..50");
    }

    #[test]
    fn serde_accepts_text_numbers_and_ranges() {
        #[derive(serde::Deserialize)]
        struct T {
            a: Value<u64>,
            b: Value<Duration>,
            c: Value<f64>,
        }
        let t: T = toml::from_str("a = 3\nb = \"1s..2s\"\nc = 2").unwrap();
        assert_eq!((t.a, t.c), (Value::Fixed(3), Value::Fixed(2.0)));
        assert!(t.b.is_range());
        let e = toml::from_str::<T>("a = -3\nb = \"1s\"\nc = 1").err().unwrap();
        assert!(e.message().contains("negative; allowed:"), "{e}");
        assert_eq!(serde_json::to_string(&t.b).unwrap(), "\"1s..2s\"");
        assert_eq!(serde_json::to_string(&t.a).unwrap(), "3");
    }
}
