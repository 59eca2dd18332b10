//! What a violated property reports: which guests, which write, which generations.

use core::fmt;

use serde::{Deserialize, Serialize};

use super::Property;
use crate::replication::DiskState;
use crate::replication::uuid::GenerationIds;
use crate::{NodeId, WriteId};

/// A property violated in one observation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Violation {
    /// Which property.
    pub property: Property,
    /// What was seen.
    pub detail: Detail,
}

/// The facts behind a violation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Detail {
    /// Both guests Primary with diverged data generations.
    SplitBrain {
        /// The guest with the lower id.
        first: NodeId,
        /// The other.
        second: NodeId,
        /// Their generations, in that order.
        generations: [GenerationIds; 2],
    },
    /// No replica holds an acknowledged write.
    LostWrite {
        /// The write.
        write: WriteId,
    },
    /// A Primary lacks a write acknowledged before its promotion.
    MissingWrite {
        /// The Primary.
        guest: NodeId,
        /// The write.
        write: WriteId,
    },
    /// A Primary on an Inconsistent or Outdated disk.
    StalePrimary {
        /// The Primary.
        guest: NodeId,
        /// Its disk.
        disk: DiskState,
    },
}

/// `split brain: a and b are Primary with diverged data generations (a 5EED..., b ...)`,
/// `acknowledged write 3 is on no replica`, ...: the short name of what went wrong first,
/// so a reader (and a test) can tell the property from the first words.
impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.detail {
            Detail::SplitBrain {
                first,
                second,
                generations: [x, y],
            } => write!(
                f,
                "split brain: {first} and {second} are Primary with diverged data \
                 generations ({first} {x}, {second} {y})"
            ),
            Detail::LostWrite { write } => write!(
                f,
                "lost acknowledged write: write {} is on no replica's disk",
                write.0
            ),
            Detail::MissingWrite { guest, write } => write!(
                f,
                "missing acknowledged write: {guest} is Primary without write {}, \
                 acknowledged before its promotion",
                write.0
            ),
            Detail::StalePrimary { guest, disk } => {
                write!(f, "stale primary: {guest} is Primary on an {disk} disk")
            }
        }
    }
}
