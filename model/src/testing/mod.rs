//! An in-memory harness: several machines, a virtual network, virtual disks, a virtual
//! clock.
//!
//! In the style of quinn-proto's `Pair` and raft-rs's `Network`: tests drive machines
//! through [`Cluster::command`] and [`Cluster::run_for`], break things with
//! [`Cluster::partition`], [`Cluster::crash`] or [`Cluster::fail_disk`], and assert on
//! the effects the machines emitted ([`Cluster::records`]) and on their state.
//!
//! Events are ordered by `(time, sequence number)`, so runs are deterministic. The
//! simulator generalises this with latency distributions and fault schedules.

mod disk;
mod network;
mod process;
mod timing;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use core::time::Duration;

pub use disk::VirtualDisk;
pub use network::{Link, VirtualNetwork};
pub use process::{VirtualProcess, VirtualProcesses};
pub use timing::{FixedTiming, Timing};

use crate::{
    DiskCompletion, DiskOp, Effect, HandlerReply, Input, Machine, NodeId, ProcessEvent, ProcessId,
    ProcessRequest, Time,
};

/// An observable effect a machine emitted: everything but sends, timers, disk requests
/// and persists, which the harness carries out itself (process requests and STONITH are
/// both carried out and recorded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record<M: Machine> {
    /// When.
    pub time: Time,
    /// Which node.
    pub node: NodeId,
    /// What.
    pub effect: Effect<M>,
}

/// A scheduled event.
#[derive(Debug)]
enum Pending<M: Machine> {
    Deliver {
        from: NodeId,
        from_epoch: u64,
        to: NodeId,
        to_epoch: u64,
        msg: M::Msg,
    },
    Timer {
        node: NodeId,
        epoch: u64,
        id: M::Timer,
        generation: u64,
    },
    Disk {
        node: NodeId,
        epoch: u64,
        op: DiskOp,
        token: crate::DiskToken,
    },
    Process {
        node: NodeId,
        epoch: u64,
        request: ProcessRequest,
    },
    /// STONITH takes effect: `target` powers off, `by` hears of it.
    Fence {
        by: NodeId,
        by_epoch: u64,
        target: NodeId,
        success: bool,
    },
}

/// What STONITH does in the harness.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FenceBehaviour {
    /// The target powers off after this long and the requester hears success.
    Works(Duration),
    /// Nothing happens to the target; the requester hears failure after this long.
    Fails(Duration),
    /// Nothing happens and nobody answers (the requester's own timeout must act).
    Hangs,
}

/// One node: its machine (absent while crashed), disk and persisted metadata.
#[derive(Debug)]
struct Slot<M: Machine> {
    machine: Option<M>,
    disk: VirtualDisk,
    processes: VirtualProcesses,
    meta: Option<M::Meta>,
    /// Armed timers and their generation; a fired timer whose generation is stale was
    /// re-armed or cancelled.
    timers: BTreeMap<M::Timer, u64>,
    /// Bumped at every crash and restart: events of an earlier life are dropped.
    epoch: u64,
    /// While paused (a hung host), events for this node wait here, in order.
    held: Option<Vec<Pending<M>>>,
}

/// Machines of one kind, wired together through a virtual network and virtual disks.
#[derive(Debug)]
pub struct Cluster<M: Machine> {
    now: Time,
    seq: u64,
    timer_generation: u64,
    /// Indexed by node id (ids are small and dense in practice).
    nodes: Vec<Option<Slot<M>>>,
    /// `(time, sequence, index into pending)`: small entries keep the heap fast; the
    /// sequence number makes simultaneous events run in the order they were scheduled.
    queue: BinaryHeap<Reverse<(Time, u64, usize)>>,
    /// Scheduled events, by index; `free` lists the empty places.
    pending: Vec<Option<Pending<M>>>,
    free: Vec<usize>,
    /// The network between the nodes.
    pub net: VirtualNetwork,
    records: Vec<Record<M>>,
    recording: bool,
    /// Also record `Send` and `Disk` effects.
    recording_io: bool,
    /// What STONITH does (default: works after 1 s).
    pub fencing: FenceBehaviour,
    /// Targets the fence device cannot reach now: their STONITH fails when it would
    /// take effect (a VM whose hypervisor hangs: the power-off through the hypervisor's
    /// API cannot be carried out).
    pub fence_unreachable: BTreeSet<NodeId>,
    /// How long things take (default: exactly as configured).
    timing: Box<dyn Timing>,
    scratch: Vec<Effect<M>>,
    events: u64,
    /// Processes that started or stopped running since the driver last asked, if the
    /// driver asked to be told ([`Cluster::watch_processes`]).
    process_changes: Option<Vec<ProcessChange>>,
    /// Nodes STONITH powered off since the driver last asked (kept with the process
    /// changes).
    fenced: Option<Vec<NodeId>>,
}

/// A managed process started or stopped running: an OCF start or stop finished, the
/// driver set it, or its node lost power.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessChange {
    /// Whose process.
    pub node: NodeId,
    /// Which.
    pub process: ProcessId,
    /// Whether it runs now.
    pub running: bool,
}

impl<M: Machine> Default for Cluster<M> {
    fn default() -> Self {
        Cluster::new()
    }
}

impl<M: Machine> Cluster<M> {
    /// An empty cluster at time zero; links default to 100 µs one way.
    pub fn new() -> Cluster<M> {
        Cluster {
            now: Time::ZERO,
            seq: 0,
            timer_generation: 0,
            nodes: Vec::new(),
            queue: BinaryHeap::new(),
            pending: Vec::new(),
            free: Vec::new(),
            net: VirtualNetwork::new(Duration::from_micros(100)),
            records: Vec::new(),
            recording: true,
            recording_io: false,
            fencing: FenceBehaviour::Works(Duration::from_secs(1)),
            fence_unreachable: BTreeSet::new(),
            timing: Box::new(FixedTiming),
            scratch: Vec::new(),
            events: 0,
            process_changes: None,
            fenced: None,
        }
    }

    /// Adds a node with a disk of the given write latency.
    pub fn add(&mut self, id: NodeId, machine: M, disk: VirtualDisk) {
        let index = usize::from(id.0);
        if self.nodes.len() <= index {
            self.nodes.resize_with(index + 1, || None);
        }
        self.nodes[index] = Some(Slot {
            machine: Some(machine),
            disk,
            processes: VirtualProcesses::default(),
            meta: None,
            timers: BTreeMap::new(),
            epoch: 0,
            held: None,
        });
    }

    /// Replaces how durations are chosen (the simulator's seeded distributions).
    pub fn set_timing(&mut self, timing: Box<dyn Timing>) {
        self.timing = timing;
    }

    /// The virtual time.
    pub fn now(&self) -> Time {
        self.now
    }

    /// Events processed so far (message deliveries, timer firings, disk completions).
    pub fn events(&self) -> u64 {
        self.events
    }

    /// From now on, keeps every change of a managed process' running state for
    /// [`Cluster::take_process_changes`] (a driver that couples layers on them: a VM
    /// process that stops takes its guest with it).
    /// The same for nodes STONITH powers off ([`Cluster::take_fenced`]): a driver whose
    /// nodes are VMs tells the hypervisor (the fence agent powers the VM off through
    /// it, so the cluster layer does not restart it).
    pub fn watch_processes(&mut self) {
        self.process_changes.get_or_insert_with(Vec::new);
        self.fenced.get_or_insert_with(Vec::new);
    }

    /// The nodes STONITH powered off since the last call, in order (empty unless
    /// [`Cluster::watch_processes`] was called).
    pub fn take_fenced(&mut self) -> Vec<NodeId> {
        self.fenced.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// The process changes since the last call, in the order they happened (empty
    /// unless [`Cluster::watch_processes`] was called).
    pub fn take_process_changes(&mut self) -> Vec<ProcessChange> {
        self.process_changes
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Starts or stops process `process` of `node` by the driver's hand (a VM the
    /// hypervisor powers on or off, a service killed): no OCF action, no completion.
    pub fn set_running(&mut self, node: NodeId, process: ProcessId, running: bool) {
        let Some(p) = self.slot_mut(node).processes.get_mut(process) else {
            return;
        };
        let was = p.running;
        p.running = running;
        if !running {
            p.promoted = false;
        }
        self.note_change(node, process, was, running);
    }

    fn note_change(&mut self, node: NodeId, process: ProcessId, was: bool, running: bool) {
        if was != running
            && let Some(changes) = self.process_changes.as_mut()
        {
            changes.push(ProcessChange {
                node,
                process,
                running,
            });
        }
    }

    /// Whether to keep [`Record`]s (on by default; benchmarks turn it off).
    pub fn set_recording(&mut self, on: bool) {
        self.recording = on;
    }

    /// Whether [`Record`]s also hold the messages sent and the disk requests made (off by
    /// default: tests that count them turn it on).
    pub fn set_recording_io(&mut self, on: bool) {
        self.recording_io = on;
    }

    fn try_slot(&self, id: NodeId) -> Option<&Slot<M>> {
        self.nodes.get(usize::from(id.0)).and_then(Option::as_ref)
    }

    fn slot(&self, id: NodeId) -> &Slot<M> {
        match self.nodes.get(usize::from(id.0)).and_then(Option::as_ref) {
            Some(s) => s,
            None => panic!("no node {id} in the cluster"),
        }
    }

    fn slot_mut(&mut self, id: NodeId) -> &mut Slot<M> {
        match self
            .nodes
            .get_mut(usize::from(id.0))
            .and_then(Option::as_mut)
        {
            Some(s) => s,
            None => panic!("no node {id} in the cluster"),
        }
    }

    /// The machine at `id`. Panics if it is crashed: tests should know.
    pub fn node(&self, id: NodeId) -> &M {
        match &self.slot(id).machine {
            Some(m) => m,
            None => panic!("node {id} is crashed"),
        }
    }

    /// The machine at `id`, if it is running.
    pub fn try_node(&self, id: NodeId) -> Option<&M> {
        self.nodes
            .get(usize::from(id.0))
            .and_then(Option::as_ref)
            .and_then(|s| s.machine.as_ref())
    }

    /// The disk of `id`.
    pub fn disk(&self, id: NodeId) -> &VirtualDisk {
        &self.slot(id).disk
    }

    /// The disk of `id`, to change latencies or contents.
    pub fn disk_mut(&mut self, id: NodeId) -> &mut VirtualDisk {
        &mut self.slot_mut(id).disk
    }

    /// The managed processes of `id`.
    pub fn processes(&self, id: NodeId) -> &VirtualProcesses {
        &self.slot(id).processes
    }

    /// The managed processes of `id`, to add, kill or break them.
    pub fn processes_mut(&mut self, id: NodeId) -> &mut VirtualProcesses {
        &mut self.slot_mut(id).processes
    }

    /// Whether `id` is running (not crashed).
    pub fn is_up(&self, id: NodeId) -> bool {
        self.try_node(id).is_some()
    }

    /// The last metadata `id` persisted.
    pub fn persisted(&self, id: NodeId) -> Option<&M::Meta> {
        self.slot(id).meta.as_ref()
    }

    /// Everything observable the machines emitted, in order.
    pub fn records(&self) -> &[Record<M>] {
        &self.records
    }

    /// Takes the records, leaving none.
    pub fn take_records(&mut self) -> Vec<Record<M>> {
        core::mem::take(&mut self.records)
    }

    /// The effects `id` emitted, in order.
    pub fn effects_of(&self, id: NodeId) -> impl Iterator<Item = &Effect<M>> + '_ {
        self.records
            .iter()
            .filter(move |r| r.node == id)
            .map(|r| &r.effect)
    }

    /// The notices `id` emitted, in order.
    pub fn notices(&self, id: NodeId) -> Vec<M::Notice> {
        self.effects_of(id)
            .filter_map(|e| match e {
                Effect::Event(n) => Some(n.clone()),
                _ => None,
            })
            .collect()
    }

    /// The write ids `id` acknowledged, in order.
    pub fn acked(&self, id: NodeId) -> Vec<crate::WriteId> {
        self.effects_of(id)
            .filter_map(|e| match e {
                Effect::Ack(w) => Some(*w),
                _ => None,
            })
            .collect()
    }

    /// Delivers an operator or application command to `id` now.
    pub fn command(&mut self, id: NodeId, cmd: M::Command) {
        self.input(id, Input::Command(cmd));
    }

    /// Delivers a handler's answer to `id` now.
    pub fn handler_done(&mut self, id: NodeId, reply: HandlerReply) {
        self.input(id, Input::HandlerDone(reply));
    }

    /// Feeds any input to `id` now and carries out its effects. A crashed node ignores it.
    pub fn input(&mut self, id: NodeId, input: Input<M>) {
        let mut out = core::mem::take(&mut self.scratch);
        let now = self.now;
        if let Some(m) = self.slot_mut(id).machine.as_mut() {
            m.handle(now, input, &mut out);
        }
        self.apply(id, &mut out);
        self.scratch = out;
    }

    /// Powers `id` off: its machine, timers, unfinished disk writes and unsent messages
    /// are gone; its disk blocks and persisted metadata stay.
    pub fn crash(&mut self, id: NodeId) {
        let slot = self.slot_mut(id);
        slot.machine = None;
        slot.timers.clear();
        let stopped = slot.processes.power_off();
        slot.epoch += 1;
        for process in stopped {
            self.note_change(id, process, true, false);
        }
    }

    /// Freezes `id` (a hung host, a `SIGSTOP`): nothing reaches it and it does nothing
    /// until [`Cluster::resume`]; what was due meanwhile is then handled in order.
    pub fn pause(&mut self, id: NodeId) {
        let slot = self.slot_mut(id);
        if slot.held.is_none() {
            slot.held = Some(Vec::new());
        }
    }

    /// Unfreezes `id`: everything that came due while it was paused happens now.
    pub fn resume(&mut self, id: NodeId) {
        let held = self.slot_mut(id).held.take().unwrap_or_default();
        let now = self.now;
        for event in held {
            self.schedule(now, event);
        }
    }

    /// Whether `id` is paused.
    pub fn is_paused(&self, id: NodeId) -> bool {
        self.slot(id).held.is_some()
    }

    /// Boots `id` again with `machine` (typically built from [`Cluster::persisted`]).
    pub fn restart(&mut self, id: NodeId, machine: M) {
        let slot = self.slot_mut(id);
        slot.machine = Some(machine);
        slot.epoch += 1;
    }

    /// Makes the disk of `id` fail every request from now on.
    pub fn fail_disk(&mut self, id: NodeId) {
        self.slot_mut(id).disk.failed = true;
    }

    /// Cuts every network between `a` and `b`; messages in flight are lost.
    pub fn partition(&mut self, a: NodeId, b: NodeId) {
        self.net.set_up(a, b, false);
    }

    /// Restores every network between `a` and `b`.
    pub fn heal(&mut self, a: NodeId, b: NodeId) {
        self.net.set_up(a, b, true);
    }

    /// Cuts one network between `a` and `b`.
    pub fn partition_net(&mut self, a: NodeId, b: NodeId, net: crate::Net) {
        self.net.set_net_up(a, b, net, false);
    }

    /// Restores one network between `a` and `b`.
    pub fn heal_net(&mut self, a: NodeId, b: NodeId, net: crate::Net) {
        self.net.set_net_up(a, b, net, true);
    }

    fn schedule(&mut self, at: Time, event: Pending<M>) {
        self.seq += 1;
        let index = match self.free.pop() {
            Some(i) => {
                self.pending[i] = Some(event);
                i
            }
            None => {
                self.pending.push(Some(event));
                self.pending.len() - 1
            }
        };
        self.queue.push(Reverse((at, self.seq, index)));
    }

    fn apply(&mut self, id: NodeId, out: &mut Vec<Effect<M>>) {
        for effect in out.drain(..) {
            if self.recording_io && matches!(effect, Effect::Send { .. } | Effect::Disk(_)) {
                self.records.push(Record {
                    time: self.now,
                    node: id,
                    effect: effect.clone(),
                });
            }
            match effect {
                Effect::Send { to, msg } => {
                    let Some(at) =
                        self.net
                            .send(self.now, id, to, M::net(&msg), self.timing.as_mut())
                    else {
                        continue;
                    };
                    let from_epoch = self.slot(id).epoch;
                    let to_epoch = self.try_slot(to).map_or(0, |s| s.epoch);
                    self.schedule(
                        at,
                        Pending::Deliver {
                            from: id,
                            from_epoch,
                            to,
                            to_epoch,
                            msg,
                        },
                    );
                }
                Effect::SetTimer { id: timer, after } => {
                    self.timer_generation += 1;
                    let generation = self.timer_generation;
                    let slot = self.slot_mut(id);
                    slot.timers.insert(timer, generation);
                    let epoch = slot.epoch;
                    self.schedule(
                        self.now + after,
                        Pending::Timer {
                            node: id,
                            epoch,
                            id: timer,
                            generation,
                        },
                    );
                }
                Effect::CancelTimer(timer) => {
                    self.slot_mut(id).timers.remove(&timer);
                }
                Effect::Disk(req) => {
                    let now = self.now;
                    let index = usize::from(id.0);
                    let timing = self.timing.as_mut();
                    let Some(slot) = self.nodes.get_mut(index).and_then(Option::as_mut) else {
                        continue;
                    };
                    let at = slot.disk.schedule(now, &req.op, id, timing);
                    let epoch = slot.epoch;
                    self.schedule(
                        at,
                        Pending::Disk {
                            node: id,
                            epoch,
                            op: req.op,
                            token: req.token,
                        },
                    );
                }
                Effect::Persist(meta) => self.slot_mut(id).meta = Some(meta),
                Effect::Process(request) => {
                    if self.recording {
                        self.records.push(Record {
                            time: self.now,
                            node: id,
                            effect: Effect::Process(request),
                        });
                    }
                    let slot = self.slot(id);
                    let epoch = slot.epoch;
                    match slot.processes.get(request.process) {
                        Some(p) => {
                            if let Some(base) = p.duration(request.action) {
                                let d =
                                    self.timing
                                        .process(id, request.process, request.action, base);
                                self.schedule(
                                    self.now + d,
                                    Pending::Process {
                                        node: id,
                                        epoch,
                                        request,
                                    },
                                );
                            }
                        }
                        // An agent that is not there: "not installed".
                        None => self.schedule(
                            self.now,
                            Pending::Process {
                                node: id,
                                epoch,
                                request,
                            },
                        ),
                    }
                }
                Effect::Fence(target) => {
                    let by_epoch = self.slot(id).epoch;
                    let (after, success) = match self.fencing {
                        FenceBehaviour::Works(d) => (Some(d), true),
                        FenceBehaviour::Fails(d) => (Some(d), false),
                        FenceBehaviour::Hangs => (None, false),
                    };
                    if let Some(base) = after {
                        let d = self.timing.fence(id, target, base);
                        self.schedule(
                            self.now + d,
                            Pending::Fence {
                                by: id,
                                by_epoch,
                                target,
                                success,
                            },
                        );
                    }
                    if self.recording {
                        self.records.push(Record {
                            time: self.now,
                            node: id,
                            effect: Effect::Fence(target),
                        });
                    }
                }
                other => {
                    if self.recording {
                        self.records.push(Record {
                            time: self.now,
                            node: id,
                            effect: other,
                        });
                    }
                }
            }
        }
    }

    /// Processes the next event; false if there is none.
    pub fn step(&mut self) -> bool {
        let Some(Reverse((at, _, index))) = self.queue.pop() else {
            return false;
        };
        let Some(event) = self.pending[index].take() else {
            return true;
        };
        self.free.push(index);
        self.now = self.now.max(at);
        let target = match &event {
            Pending::Deliver { to, .. } => *to,
            Pending::Timer { node, .. }
            | Pending::Disk { node, .. }
            | Pending::Process { node, .. } => *node,
            Pending::Fence { by, .. } => *by,
        };
        if let Some(held) = self
            .nodes
            .get_mut(usize::from(target.0))
            .and_then(Option::as_mut)
            .and_then(|s| s.held.as_mut())
        {
            held.push(event);
            return true;
        }
        self.events += 1;
        match event {
            Pending::Deliver {
                from,
                from_epoch,
                to,
                to_epoch,
                msg,
            } => {
                let alive = |c: &Self, n: NodeId, e: u64| {
                    c.try_slot(n)
                        .is_some_and(|s| s.epoch == e && s.machine.is_some())
                };
                if alive(self, from, from_epoch)
                    && alive(self, to, to_epoch)
                    && self.net.is_up(from, to, M::net(&msg))
                {
                    self.input(to, Input::Recv { from, msg });
                }
            }
            Pending::Timer {
                node,
                epoch,
                id,
                generation,
            } => {
                let slot = self.slot_mut(node);
                if slot.epoch == epoch && slot.timers.get(&id) == Some(&generation) {
                    slot.timers.remove(&id);
                    self.input(node, Input::Timer(id));
                }
            }
            Pending::Disk {
                node,
                epoch,
                op,
                token,
            } => {
                let slot = self.slot_mut(node);
                if slot.epoch == epoch {
                    let result = slot.disk.complete(&op);
                    self.input(node, Input::Disk(DiskCompletion { token, result }));
                }
            }
            Pending::Process {
                node,
                epoch,
                request,
            } => {
                let slot = self.slot_mut(node);
                if slot.epoch == epoch {
                    let (exit, change) = match slot.processes.get_mut(request.process) {
                        Some(p) => {
                            let was = p.running;
                            let exit = p.complete(request.action);
                            (exit, Some((was, p.running)))
                        }
                        None => (crate::OcfExit::ErrInstalled, None),
                    };
                    if let Some((was, running)) = change {
                        self.note_change(node, request.process, was, running);
                    }
                    let event = ProcessEvent {
                        process: request.process,
                        action: request.action,
                        call: request.call,
                        exit,
                    };
                    self.input(node, Input::Process(event));
                }
            }
            Pending::Fence {
                by,
                by_epoch,
                target,
                success,
            } => {
                let success = success && !self.fence_unreachable.contains(&target);
                if success && self.is_up(target) {
                    self.crash(target);
                    if let Some(fenced) = self.fenced.as_mut() {
                        fenced.push(target);
                    }
                }
                if self.try_slot(by).is_some_and(|s| s.epoch == by_epoch) {
                    self.input(
                        by,
                        Input::FenceDone {
                            node: target,
                            success,
                        },
                    );
                }
            }
        }
        true
    }

    /// Processes the next event if it is due at or before `until`; false if none is (the
    /// clock then stays where it is). A driver that checks something after every event
    /// steps with this, then calls [`Cluster::run_until`] to move the clock on.
    pub fn step_until(&mut self, until: Time) -> bool {
        self.queue
            .peek()
            .is_some_and(|Reverse((at, _, _))| *at <= until)
            && self.step()
    }

    /// Runs every event up to and including `until`, then sets the clock to `until`.
    pub fn run_until(&mut self, until: Time) {
        while self.step_until(until) {}
        self.now = self.now.max(until);
    }

    /// Runs for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        self.run_until(self.now + d);
    }
}
