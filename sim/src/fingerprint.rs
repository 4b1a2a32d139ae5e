//! A running hash over every processed event (docs/architecture.md §4): same seed, same fingerprint.
//!
//! Two independent 64-bit multiply-xorshift lanes give a 128-bit value cheaply enough to fold in
//! every event of a 10^7-event run; it detects divergence, it is not a cryptographic commitment.

/// The fingerprint accumulator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fingerprint {
    a: u64,
    b: u64,
}

impl Default for Fingerprint {
    fn default() -> Self {
        Fingerprint {
            a: 0x243f_6a88_85a3_08d3,
            b: 0x1319_8a2e_0370_7344,
        }
    }
}

impl Fingerprint {
    /// Folds one word into both lanes.
    #[inline]
    pub fn mix(&mut self, word: u64) {
        self.a = (self.a ^ word).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.a ^= self.a >> 29;
        self.b = (self.b ^ word.rotate_left(31)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        self.b ^= self.b >> 32;
    }

    /// Folds several words.
    #[inline]
    pub fn mix_all(&mut self, words: &[u64]) {
        for w in words {
            self.mix(*w);
        }
    }

    /// The current value as 32 hex digits.
    pub fn hex(&self) -> String {
        format!("{:016x}{:016x}", self.a, self.b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_content_both_matter() {
        let mut x = Fingerprint::default();
        x.mix_all(&[1, 2]);
        let mut y = Fingerprint::default();
        y.mix_all(&[2, 1]);
        let mut z = Fingerprint::default();
        z.mix_all(&[1, 2]);
        assert_ne!(x, y);
        assert_eq!(x, z);
        assert_eq!(x.hex().len(), 32);
    }
}
