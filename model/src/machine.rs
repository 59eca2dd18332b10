//! The sans-I/O interface: inputs in, effects out.

use core::fmt::Debug;
use core::hash::Hash;
use core::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{
    DiskCompletion, DiskRequest, HandlerReply, HandlerRequest, IoError, Net, NodeId, Payload,
    ProcessEvent, ProcessRequest, ReadId, Time, WriteId,
};

/// A protocol participant: a deterministic state machine.
///
/// `handle` is the only way in. It must not perform I/O, read a clock or draw randomness;
/// everything it needs arrives in `input` and `now`, and everything it wants done leaves
/// through `out`. Effects are executed **in order**: in particular a [`Effect::Persist`]
/// is durable before any effect after it takes place, which is how a machine makes sure
/// its metadata reaches the disk before it tells anybody about it.
///
/// Machines are `Clone + Eq + Hash` so the checker can store and deduplicate states.
pub trait Machine: Clone + Eq + Hash + Debug {
    /// Messages between machines of this kind.
    type Msg: Clone + Eq + Hash + Debug + Serialize + DeserializeOwned;
    /// Named timers; setting a timer that is already set re-arms it.
    type Timer: Copy + Eq + Ord + Hash + Debug;
    /// Operator and application requests.
    type Command: Clone + Debug;
    /// What survives a crash: written with [`Effect::Persist`] and handed back to the
    /// machine's constructor on restart.
    type Meta: Clone + Eq + Hash + Debug;
    /// Observable state changes, for traces, status and tests.
    type Notice: Clone + Eq + Hash + Debug;

    /// Feeds one input at time `now`; the effects are appended to `out`.
    fn handle(&mut self, now: Time, input: Input<Self>, out: &mut Vec<Effect<Self>>);

    /// The network `msg` travels on (default: the public network).
    fn net(msg: &Self::Msg) -> Net {
        let _ = msg;
        Net::Public
    }
}

/// Something that happens to a machine.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Input<M: Machine> {
    /// A message arrived.
    Recv {
        /// Its sender.
        from: NodeId,
        /// The message.
        msg: M::Msg,
    },
    /// A timer the machine set has fired.
    Timer(M::Timer),
    /// A disk request finished.
    Disk(DiskCompletion),
    /// A handler finished.
    HandlerDone(HandlerReply),
    /// A managed process answered an action.
    Process(ProcessEvent),
    /// A STONITH request this machine made finished.
    FenceDone {
        /// The node that was to be fenced.
        node: NodeId,
        /// Whether it is now known to be off.
        success: bool,
    },
    /// An operator or application request.
    Command(M::Command),
}

/// Something a machine wants done; the driver does it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Effect<M: Machine> {
    /// Send a message. Delivery is best effort and FIFO per pair of nodes (like a TCP
    /// connection): a message may be lost, but not overtaken by a later one.
    Send {
        /// The receiver.
        to: NodeId,
        /// The message.
        msg: M::Msg,
    },
    /// Fire `id` after `after`; re-arms the timer if it is already set.
    SetTimer {
        /// Which timer.
        id: M::Timer,
        /// How long from now.
        after: Duration,
    },
    /// Forget a timer (no-op if it is not set).
    CancelTimer(M::Timer),
    /// Submit a request to the local disk.
    Disk(DiskRequest),
    /// Durably store the crash-surviving metadata before any later effect.
    Persist(M::Meta),
    /// Run a handler (DRBD user-mode helper).
    Handler(HandlerRequest),
    /// Run an OCF action on a managed process; answered by [`Input::Process`].
    Process(ProcessRequest),
    /// STONITH: power off or reset a node; answered by [`Input::FenceDone`].
    Fence(NodeId),
    /// An application write is acknowledged: it is as durable as the protocol promises.
    Ack(WriteId),
    /// An application write failed.
    WriteFailed {
        /// Which write.
        write: WriteId,
        /// Why.
        error: IoError,
    },
    /// An application read finished.
    ReadDone {
        /// Which read.
        read: ReadId,
        /// The block's content (`None`: zeroes), or why it failed.
        result: Result<Option<Payload>, IoError>,
    },
    /// An observable state change.
    Event(M::Notice),
}

/// A machine `Self` built from a part `P`: how the part's messages, timers, metadata and
/// notices appear in the whole. Lets a composition (a guest = replica + membership +
/// resources; a resource node = replica or witness) pass its parts' effects on with
/// [`Effect::lift`].
pub trait Compose<P: Machine>: Machine {
    /// The part's message as the whole's.
    fn lift_msg(msg: P::Msg) -> Self::Msg;
    /// The part's timer as the whole's.
    fn lift_timer(timer: P::Timer) -> Self::Timer;
    /// The part's metadata as the whole's; `None` drops it (a part with nothing to keep).
    fn lift_meta(meta: P::Meta) -> Option<Self::Meta>;
    /// The part's notice as the whole's.
    fn lift_notice(notice: P::Notice) -> Self::Notice;
}

impl<P: Machine> Effect<P> {
    /// This effect of part `P` as an effect of the whole `C`; `None` if `C` drops it.
    pub fn lift<C: Compose<P>>(self) -> Option<Effect<C>> {
        Some(match self {
            Effect::Send { to, msg } => Effect::Send {
                to,
                msg: C::lift_msg(msg),
            },
            Effect::SetTimer { id, after } => Effect::SetTimer {
                id: C::lift_timer(id),
                after,
            },
            Effect::CancelTimer(id) => Effect::CancelTimer(C::lift_timer(id)),
            Effect::Disk(r) => Effect::Disk(r),
            Effect::Persist(m) => Effect::Persist(C::lift_meta(m)?),
            Effect::Handler(h) => Effect::Handler(h),
            Effect::Process(p) => Effect::Process(p),
            Effect::Fence(n) => Effect::Fence(n),
            Effect::Ack(w) => Effect::Ack(w),
            Effect::WriteFailed { write, error } => Effect::WriteFailed { write, error },
            Effect::ReadDone { read, result } => Effect::ReadDone { read, result },
            Effect::Event(n) => Effect::Event(C::lift_notice(n)),
        })
    }
}

/// Runs part `P` of the whole `C` on `input` and passes its effects on as the whole's:
/// the one way every composed machine delegates to its parts.
pub fn delegate<P: Machine, C: Compose<P>>(
    part: &mut P,
    now: Time,
    input: Input<P>,
    out: &mut Vec<Effect<C>>,
) {
    let mut part_out = Vec::new();
    part.handle(now, input, &mut part_out);
    out.extend(part_out.into_iter().filter_map(Effect::lift));
}
