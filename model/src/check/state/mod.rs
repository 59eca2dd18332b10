//! The composed state the checker explores, the actions between states, and the driver
//! that carries a machine's effects out on that state.
//!
//! The driver does what `model::testing::Cluster` does, with time kept relative to the
//! present (`docs/verification.md`, "Timed semantics"): every pending event carries how
//! long it may still wait. Messages wait in FIFO channels per (sender, receiver,
//! network), disk requests in a FIFO queue per guest, OCF actions, STONITH requests and
//! `fence-peer` handlers in their sets, each with its deadline (the latest time it can
//! happen: [`Timing`](super::config::Timing)); armed timers with the time left until
//! they fire. An event may happen when no other must happen strictly before it; time
//! passes only when a timer fires (or housekeeping runs, [`Action::Advance`]), and every
//! deadline shrinks by the time passed. An optional [`Log`] records what happened
//! (notices, the virtual time) when a path is replayed for a counterexample; it never
//! influences the state.
//!
//! Here the state and its actions; `driver` carries effects out, `apply` is one step,
//! `explore` lists the possible steps, `start` builds the initial states.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use core::time::Duration;

use super::config::{A, B, CheckConfig, Cut};
use crate::guest::{Guest, GuestMsg, GuestTimer};
use crate::membership::{DeviceTimer, QuorumDevice};
use crate::replication::witness::WitnessTimer;
use crate::replication::{ReplicaMeta, Witness};
use crate::{DiskRequest, Net, NodeId, ProcessRequest, Time};

/// A timer of any machine in the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AnyTimer {
    /// A guest's.
    Guest(GuestTimer),
    /// The witness'.
    Witness(WitnessTimer),
    /// The quorum device's.
    Device(DeviceTimer),
}

/// Why a guest is not running.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Down {
    /// It runs.
    Up,
    /// It crashed (panic, reset): it may reboot on the same host.
    Crashed,
    /// Its host lost power: only the cluster layer brings it back (on another host).
    HostDown,
    /// STONITH powered it off: nobody restarts it (vSphere HA and Masakari do not
    /// restart a VM that was powered off on purpose).
    Fenced,
}

/// Time in milliseconds, relative to the present.
pub type Ms = u32;

/// The deadline of an event that may never happen (a hung handler).
pub const NEVER: Ms = Ms::MAX;

/// Milliseconds of a duration (saturating below [`NEVER`]).
pub fn ms_of(d: Duration) -> Ms {
    Ms::try_from(d.as_millis())
        .unwrap_or(NEVER - 1)
        .min(NEVER - 1)
}

/// The state of the whole model: two guests and their surroundings.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct State {
    /// The guests `a` and `b`; `None` while down.
    pub guests: [Option<Guest>; 2],
    /// Why each guest is down.
    pub down: [Down; 2],
    /// The last metadata each guest persisted.
    pub meta: [Option<ReplicaMeta>; 2],
    /// The DRBD witness, if configured.
    pub witness: Option<Witness>,
    /// The quorum device, if configured.
    pub device: Option<QuorumDevice>,
    /// Messages in flight, FIFO per (from, to, network), each with its deadline.
    pub channels: BTreeMap<(NodeId, NodeId, Net), VecDeque<(GuestMsg, Ms)>>,
    /// Armed timers and the time left until each fires.
    pub timers: BTreeMap<(NodeId, AnyTimer), Ms>,
    /// Disk requests in flight, FIFO per guest, each with its deadline.
    pub disk_queue: [VecDeque<(DiskRequest, Ms)>; 2],
    /// OCF actions in flight, each with its deadline.
    pub procs: Vec<(NodeId, ProcessRequest, Ms)>,
    /// STONITH requests in flight: (requester, target, the requester is still there to
    /// hear the answer), each with its deadline.
    pub fences: BTreeMap<(NodeId, NodeId, bool), Ms>,
    /// `fence-peer` handlers running: (node, peer), each with its deadline ([`NEVER`]
    /// for a handler that hangs).
    pub handlers: BTreeMap<(NodeId, NodeId), Ms>,
    /// Networks cut.
    pub cuts: BTreeSet<Cut>,
    /// The service runs on this guest.
    pub running: [bool; 2],
    /// The service was killed on this guest and has not been started again.
    pub killed: [bool; 2],
    /// This guest's disk has failed (for good).
    pub disk_failed: [bool; 2],
    /// Bit w: write w is on this guest's disk now.
    pub on_disk: [u8; 2],
    /// Bit w: write w was acknowledged to the application (by either guest).
    pub acked: u8,
    /// While a guest is Primary: the writes acknowledged (by anyone) before it was
    /// promoted. Zero otherwise.
    pub must_have: [u8; 2],
    /// The guest counts the witness' vote (from its `Witness` notices).
    pub witness_up: [bool; 2],
    /// Faults left.
    pub faults_left: u8,
    /// How many steps of the fault script (`budget.script`) have happened.
    pub script_done: u8,
    /// Writes left.
    pub writes_left: u8,
    /// The id of the next write.
    pub next_write: u8,
    /// Messages delivered at once (membership and witness traffic) waiting for the
    /// current step to finish; always empty between steps.
    pub immediate: VecDeque<(NodeId, NodeId, GuestMsg)>,
}

/// One step of the exploration.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Deliver the first message of a channel.
    Deliver {
        /// Sender.
        from: NodeId,
        /// Receiver.
        to: NodeId,
        /// Network.
        net: Net,
    },
    /// Time passes to an armed timer's deadline (housekeeping on the way, see
    /// [`Action::Advance`]) and it fires.
    Timer {
        /// Whose.
        node: NodeId,
        /// Which.
        timer: AnyTimer,
    },
    /// The first disk request of a guest completes.
    DiskDone {
        /// Which guest.
        node: NodeId,
    },
    /// An OCF action completes (the service's agent answers).
    ProcessDone {
        /// Which guest.
        node: NodeId,
        /// The request.
        request: ProcessRequest,
    },
    /// STONITH is carried out: the target powers off, the requester hears success.
    Fence {
        /// Requester.
        by: NodeId,
        /// Target.
        target: NodeId,
    },
    /// A `fence-peer` handler finishes.
    FencePeer {
        /// Which guest ran it.
        node: NodeId,
        /// The peer.
        peer: NodeId,
    },
    /// A crashed guest boots again from its metadata.
    Reboot {
        /// Which guest.
        node: NodeId,
    },
    /// The cluster layer restarts a guest whose host is down, on another host, from its
    /// metadata on shared storage.
    ClusterRestart {
        /// Which guest.
        node: NodeId,
    },
    /// Fault: a guest crashes.
    Crash {
        /// Which guest.
        node: NodeId,
    },
    /// Fault: a guest's host loses power.
    PowerOff {
        /// Which guest.
        node: NodeId,
    },
    /// Fault: a network is cut.
    Partition(Cut),
    /// A cut network is restored (free).
    Heal(Cut),
    /// Fault: the first message of a channel is lost.
    Lose {
        /// Sender.
        from: NodeId,
        /// Receiver.
        to: NodeId,
        /// Network.
        net: Net,
    },
    /// Fault: the service dies.
    KillService {
        /// Which guest.
        node: NodeId,
    },
    /// Fault: a guest's disk fails.
    DiskFailure {
        /// Which guest.
        node: NodeId,
    },
    /// The application writes on a Primary.
    Write {
        /// Which guest.
        node: NodeId,
    },
    /// Time passes with only housekeeping (keep-alives, healthy monitors, connection
    /// retries: [`Driver::housekeeping`]) until housekeeping starts something new (a
    /// message, disk or OCF request, a timer not armed before), before any other timer
    /// is due.
    Advance,
}

impl Action {
    /// Whether this action is a fault or write a schedule must contain (everything else
    /// is the system's own reaction, which a simulator produces by itself).
    pub fn is_schedule_event(&self) -> bool {
        matches!(
            self,
            Action::Crash { .. }
                | Action::PowerOff { .. }
                | Action::Partition(_)
                | Action::Heal(_)
                | Action::Lose { .. }
                | Action::KillService { .. }
                | Action::DiskFailure { .. }
                | Action::Write { .. }
                | Action::Reboot { .. }
                | Action::ClusterRestart { .. }
        )
    }
}

/// What a replay records about one step.
#[derive(Clone, Debug, Default)]
pub struct Log {
    /// Virtual time: the sum of the time passed on the path.
    pub now: Time,
    /// Notices and other observable effects of this step, per node.
    pub events: Vec<(NodeId, String)>,
}

impl Log {
    pub(super) fn note(&mut self, node: NodeId, what: String) {
        self.events.push((node, what));
    }
}

/// The guests' index in the arrays.
pub fn ix(n: NodeId) -> usize {
    usize::from(n != A)
}

/// The other guest.
pub fn other(n: NodeId) -> NodeId {
    if n == A { B } else { A }
}

/// The bit of write `w` in the write sets (writes 1 to 7; anything else has none).
pub fn bit(w: u64) -> u8 {
    if (1..8).contains(&w) { 1 << w } else { 0 }
}

/// Runs machines on a [`State`] for one configuration.
#[derive(Clone, Debug)]
pub struct Driver {
    /// The configuration.
    pub cfg: CheckConfig,
}

mod apply;
mod driver;
mod explore;
mod start;
