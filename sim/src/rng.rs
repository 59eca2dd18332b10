//! Seeded random streams, one per purpose.
//!
//! Every random draw of a run comes from a `ChaCha8Rng` derived from the run's seed and
//! the draw's purpose ("network", "process", "fault", ...). Separate streams keep one
//! purpose's draws from shifting another's: adding a probe does not change when a host
//! fails.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// SplitMix64: spreads `(seed, purpose)` into a stream seed.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a of a purpose label: stable across Rust versions, unlike `DefaultHasher`.
fn label(purpose: &str) -> u64 {
    purpose.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The stream for `purpose` in the run seeded with `seed`.
pub fn stream(seed: u64, purpose: &str) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(mix(seed ^ mix(label(purpose))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn streams_repeat_per_seed_and_purpose_and_differ_otherwise() {
        let a: u64 = stream(1, "network").random();
        assert_eq!(a, stream(1, "network").random::<u64>());
        assert_ne!(a, stream(2, "network").random::<u64>());
        assert_ne!(a, stream(1, "process").random::<u64>());
    }
}
