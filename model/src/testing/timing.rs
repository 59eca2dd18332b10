//! How long things take in the harness: fixed by default, drawn at random by the
//! simulator.
//!
//! Every duration the harness uses passes through a [`Timing`]: the configured base value
//! goes in, the duration to use comes out. The default, [`FixedTiming`], returns the base,
//! which makes tests exact; the simulator plugs in seeded distributions (network jitter,
//! boot and start-time spreads) without a second event loop.

use core::fmt::Debug;
use core::time::Duration;

use crate::{DiskOp, Net, NodeId, OcfAction, ProcessId};

/// Chooses the duration of each network delivery, disk request, process action and
/// fencing operation.
pub trait Timing: Debug {
    /// One message from `from` to `to` on `net`, whose link has delay `base`.
    fn message(&mut self, from: NodeId, to: NodeId, net: Net, base: Duration) -> Duration {
        let _ = (from, to, net);
        base
    }

    /// One disk request on `node`'s disk, whose configured latency is `base`.
    fn disk(&mut self, node: NodeId, op: &DiskOp, base: Duration) -> Duration {
        let _ = (node, op);
        base
    }

    /// One OCF action on `node`, configured to take `base`.
    fn process(
        &mut self,
        node: NodeId,
        process: ProcessId,
        action: OcfAction,
        base: Duration,
    ) -> Duration {
        let _ = (node, process, action);
        base
    }

    /// One STONITH operation by `by` against `target`, configured to take `base`.
    fn fence(&mut self, by: NodeId, target: NodeId, base: Duration) -> Duration {
        let _ = (by, target);
        base
    }
}

/// Every duration exactly as configured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FixedTiming;

impl Timing for FixedTiming {}
