//! Deterministic random numbers for the phantom.
//!
//! The phantom must be byte-identical for a seed on every machine, so it uses
//! its own generators (SplitMix64 for streams, a stateless hash for per-voxel
//! noise) and only integer arithmetic, IEEE-exact float operations and the
//! pure-Rust `libm` for anything transcendental.

/// One step of SplitMix64: a well-mixed 64-bit hash of `x`.
#[inline]
pub fn mix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Approximately standard-normal value from one 64-bit hash: the sum of four
/// 16-bit uniforms (Irwin–Hall), rescaled to unit variance. Bounded at
/// ±3.46 σ, which is plenty for image noise and costs no transcendental call.
#[inline]
pub fn gauss_from_bits(h: u64) -> f32 {
    let s = (h & 0xFFFF) + ((h >> 16) & 0xFFFF) + ((h >> 32) & 0xFFFF) + (h >> 48);
    // Mean 4 * 32767.5, variance 4 * (65536² − 1) / 12.
    const MEAN: f32 = 131_070.0;
    const INV_SD: f32 = 1.0 / 37_837.23;
    (s as f32 - MEAN) * INV_SD
}

/// A small seeded random stream (SplitMix64). Streams for different purposes
/// are forked with [`Rng::fork`] so that adding draws to one part of the
/// anatomy does not shift every other part.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A stream for `seed`.
    pub fn new(seed: u64) -> Self {
        Rng { state: mix64(seed ^ 0x5641_5341_5048_414E) }
    }

    /// An independent stream named by `tag` (same seed and tag, same stream).
    pub fn fork(&self, tag: u64) -> Rng {
        Rng { state: mix64(self.state ^ mix64(tag.wrapping_add(0xA5A5_A5A5))) }
    }

    /// The stream's position, to save with a training checkpoint.
    pub fn state(&self) -> u64 {
        self.state
    }

    /// A stream resumed at a position from [`Rng::state`].
    pub fn from_state(state: u64) -> Self {
        Rng { state }
    }

    /// Uniform index in 0..n (0 when n is 0).
    #[inline]
    pub fn index(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next_u64() % n as u64) as usize }
    }

    /// Next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    #[inline]
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [lo, hi).
    #[inline]
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform in [−a, a).
    #[inline]
    pub fn sym(&mut self, a: f64) -> f64 {
        self.range(-a, a)
    }

    /// Approximately standard-normal (see [`gauss_from_bits`]).
    #[inline]
    pub fn gauss(&mut self) -> f64 {
        gauss_from_bits(self.next_u64()) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let mut c = Rng::new(8);
        let xs: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
        let zs: Vec<u64> = (0..8).map(|_| c.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
        assert_ne!(Rng::new(7).fork(1).next_u64(), Rng::new(7).fork(2).next_u64());
    }

    #[test]
    fn gauss_has_unit_variance() {
        let n = 200_000;
        let (mut s, mut s2) = (0.0f64, 0.0f64);
        for i in 0..n {
            let g = gauss_from_bits(mix64(i)) as f64;
            s += g;
            s2 += g * g;
        }
        let mean = s / n as f64;
        let var = s2 / n as f64 - mean * mean;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.02, "variance {var}");
    }
}
