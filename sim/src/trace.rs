//! The trace hash: one number that changes if anything observable in a run changes.

use core::fmt::Write;

/// FNV-1a over everything written to it; stable across platforms and Rust versions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceHash(u64);

impl Default for TraceHash {
    fn default() -> Self {
        TraceHash(0xcbf2_9ce4_8422_2325)
    }
}

impl TraceHash {
    /// Adds bytes.
    pub fn add(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// The hash as 16 hex digits.
    pub fn hex(self) -> String {
        format!("{:016x}", self.0)
    }
}

impl Write for TraceHash {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.add(s.as_bytes());
        Ok(())
    }
}
