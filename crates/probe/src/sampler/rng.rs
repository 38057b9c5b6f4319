//! A tiny PRNG for the sampler's jitter and subsets.

/// xorshift64*: enough randomness for jitter and subsets, no dependency.
pub(super) struct XorShift64(u64);

impl XorShift64 {
    pub(super) fn new(seed: u64) -> XorShift64 {
        XorShift64(seed | 1)
    }
    pub(super) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub(super) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}
