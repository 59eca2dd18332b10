//! Node identities.

use core::fmt;

use serde::{Deserialize, Serialize};

/// One participant: a guest, a witness, a host agent or a cluster manager.
///
/// Nodes print as letters (`a`, `b`, `c`, ...) because counterexamples and traces are read
/// by people; past `z` they print as `n26`, `n27`, ...
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NodeId(pub u16);

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match u8::try_from(self.0) {
            Ok(n) if n < 26 => write!(f, "{}", char::from(b'a' + n)),
            _ => write!(f, "n{}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_print_as_letters_then_numbers() {
        assert_eq!(NodeId(0).to_string(), "a");
        assert_eq!(NodeId(25).to_string(), "z");
        assert_eq!(NodeId(26).to_string(), "n26");
    }
}
