//! Application I/O as a replica sees it: writes and reads it must answer.

use core::fmt;

use serde::{Deserialize, Serialize};

/// The application's name for one write; the replica acknowledges it with
/// [`crate::Effect::Ack`] or fails it with [`crate::Effect::WriteFailed`].
///
/// The application chooses write ids and must not reuse one while it is outstanding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct WriteId(pub u64);

impl fmt::Display for WriteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "w{}", self.0)
    }
}

/// The application's name for one read, answered with [`crate::Effect::ReadDone`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ReadId(pub u64);

/// Why an application request failed; what the block device would return as `EIO`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
pub enum IoError {
    /// Only a Primary accepts application I/O (DRBD refuses to open a Secondary's device).
    #[error("the replica is not Primary")]
    NotPrimary,
    /// The local disk failed or is detached, and this model has no diskless Primary.
    #[error("the local disk is failed or detached")]
    NoLocalDisk,
    /// Quorum is lost and the policy is `on-no-quorum io-error`.
    #[error("quorum lost (on-no-quorum io-error)")]
    NoQuorum,
    /// The disk reported an error for this request.
    #[error("the disk reported an I/O error")]
    Disk,
    /// The block number is past the end of the device.
    #[error("block is beyond the end of the device")]
    OutOfRange,
}
