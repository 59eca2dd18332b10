//! DRBD-style handlers: actions outside the protocol that the driver runs and answers.
//!
//! DRBD calls user-mode helpers (`fence-peer`, `split-brain`, `pri-lost-after-sb`) from
//! the kernel; here a machine emits [`crate::Effect::Handler`] and, where an answer is
//! expected, the driver feeds the exit code back as [`crate::Input::HandlerDone`].

use serde::{Deserialize, Serialize};

use crate::NodeId;

/// A handler the machine asks the driver to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HandlerRequest {
    /// `fence-peer`: make sure `peer` cannot use its copy (outdate it via dopd or the
    /// cluster manager, or STONITH it), then answer with exit code 3-7 (see
    /// [`HandlerReply`]). Expected answer: yes.
    FencePeer {
        /// The node to fence.
        peer: NodeId,
    },
    /// `split-brain`: notification that split brain was detected and not auto-resolved.
    /// No answer expected.
    SplitBrain,
    /// `pri-lost-after-sb`: this Primary's data is to be discarded after split brain and
    /// it could not demote itself; real setups reboot the node. No answer expected.
    PrimaryLostAfterSplitBrain,
    /// `pri-lost`: this Primary was chosen as sync target (`rr-conflict call-pri-lost`).
    /// No answer expected.
    PrimaryLost,
}

/// The answer to a [`HandlerRequest::FencePeer`]: the helper's exit code.
///
/// src: drbd-utils `drbdsetup` options (OPT) and Linux `drbd_nl.c`
/// `conn_try_outdate_peer`: 3 peer is Inconsistent, 4 peer was outdated, 5 peer
/// unreachable, 6 peer is Primary (refused), 7 peer was STONITHed; anything else is a
/// broken helper and leaves I/O frozen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HandlerReply {
    /// Which handler finished.
    pub request: HandlerRequest,
    /// Its exit code.
    pub exit_code: u8,
}
