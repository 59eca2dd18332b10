//! The composed state the checker explores, the actions between states, and the driver
//! that carries a machine's effects out on that state.
//!
//! The driver does what `model::testing::Cluster` does, without a clock: messages wait
//! in FIFO channels per (sender, receiver, network) until an action delivers them; armed
//! timers are a set and fire by an action; disk requests wait in a FIFO queue per guest;
//! OCF actions, STONITH requests and `fence-peer` handlers wait until an action carries
//! them out. An optional [`Log`] records what happened (notices, a plausible virtual
//! time) when a path is replayed for a counterexample; it never influences the state.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use core::time::Duration;

use super::config::{
    A, B, CheckConfig, Cut, DRBD, FaultKind, FencingChoice, PING, QDEVICE, SERVICE, WITNESS,
};
use crate::guest::{Guest, GuestCommand, GuestMsg, GuestNotice, GuestTimer};
use crate::membership::{DeviceTimer, MembershipTimer, PingNode, QuorumDevice};
use crate::replication::witness::WitnessTimer;
use crate::replication::{
    ReplicaCommand, ReplicaMeta, ReplicaNotice, ReplicaTimer, Role, Witness, WitnessConfig, dopd,
};
use crate::resources::ResourceTimer;
use crate::{
    DiskCompletion, DiskOp, DiskRequest, Effect, HandlerReply, HandlerRequest, Input, Machine, Net,
    NodeId, OcfAction, OcfExit, Payload, ProcessEvent, ProcessRequest, Time, WriteId,
};

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
    /// Messages in flight, FIFO per (from, to, network).
    pub channels: BTreeMap<(NodeId, NodeId, Net), VecDeque<GuestMsg>>,
    /// Armed timers (durations abstracted away).
    pub timers: BTreeSet<(NodeId, AnyTimer)>,
    /// Disk requests in flight, FIFO per guest.
    pub disk_queue: [VecDeque<DiskRequest>; 2],
    /// OCF actions in flight.
    pub procs: Vec<(NodeId, ProcessRequest)>,
    /// STONITH requests in flight: (requester, target, the requester is still there to
    /// hear the answer).
    pub fences: BTreeSet<(NodeId, NodeId, bool)>,
    /// `fence-peer` handlers running: (node, peer).
    pub handlers: BTreeSet<(NodeId, NodeId)>,
    /// Networks cut.
    pub cuts: BTreeSet<Cut>,
    /// The service runs on this guest.
    pub running: [bool; 2],
    /// The service was killed on this guest and has not been started again.
    pub killed: [bool; 2],
    /// Bit w: write w is on this guest's disk now.
    pub on_disk: [u8; 2],
    /// Bit w: write w has ever been on this guest's disk.
    pub seen: [u8; 2],
    /// Bit w: this guest acknowledged write w to the application.
    pub acked: [u8; 2],
    /// While a guest is Primary: the writes acknowledged (by anyone) before it was
    /// promoted. Zero otherwise.
    pub must_have: [u8; 2],
    /// The guest counts the witness' vote (from its `Witness` notices).
    pub witness_up: [bool; 2],
    /// Faults left.
    pub faults_left: u8,
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
    /// An armed timer fires.
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
    /// The application writes on a Primary.
    Write {
        /// Which guest.
        node: NodeId,
    },
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
                | Action::Write { .. }
                | Action::Reboot { .. }
                | Action::ClusterRestart { .. }
        )
    }
}

/// What a replay records about one step.
#[derive(Clone, Debug, Default)]
pub struct Log {
    /// Virtual time.
    pub now: Time,
    /// Deadline of each armed timer (from the durations the machines asked for).
    pub deadlines: BTreeMap<(NodeId, AnyTimer), Time>,
    /// Notices and other observable effects of this step, per node.
    pub events: Vec<(NodeId, String)>,
}

impl Log {
    fn note(&mut self, node: NodeId, what: String) {
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

fn bit(w: u64) -> u8 {
    if (1..8).contains(&w) { 1 << w } else { 0 }
}

/// Runs machines on a [`State`] for one configuration.
#[derive(Clone, Debug)]
pub struct Driver {
    /// The configuration.
    pub cfg: CheckConfig,
}

impl Driver {
    /// Whether a network between `p` and `q` is cut.
    pub fn is_cut(&self, s: &State, p: NodeId, q: NodeId, net: Net) -> bool {
        s.cuts.iter().any(|c| c.covers(p, q, net))
    }

    /// Whether node `n` runs (third-party nodes always run when configured).
    pub fn is_up(&self, s: &State, n: NodeId) -> bool {
        match n {
            A | B => s.guests[ix(n)].is_some(),
            other => self.cfg.has_node(other),
        }
    }

    fn send(
        &self,
        s: &mut State,
        from: NodeId,
        to: NodeId,
        msg: GuestMsg,
        log: &mut Option<&mut Log>,
    ) {
        let net = Guest::net(&msg);
        if !self.is_up(s, to) || self.is_cut(s, from, to, net) {
            return;
        }
        let _ = log;
        let immediate = matches!(msg, GuestMsg::Membership(_)) || from == WITNESS || to == WITNESS;
        if immediate {
            s.immediate.push_back((from, to, msg));
        } else {
            s.channels
                .entry((from, to, net))
                .or_default()
                .push_back(msg);
        }
    }

    fn set_timer(
        &self,
        s: &mut State,
        n: NodeId,
        t: AnyTimer,
        after: Duration,
        log: &mut Option<&mut Log>,
    ) {
        s.timers.insert((n, t));
        if let Some(l) = log.as_deref_mut() {
            let at = l.now + after;
            l.deadlines.insert((n, t), at);
        }
    }

    /// Feeds one input to guest `n` and carries its effects out.
    pub fn feed(&self, s: &mut State, n: NodeId, input: Input<Guest>, log: &mut Option<&mut Log>) {
        let i = ix(n);
        let now = log.as_deref().map_or(Time::ZERO, |l| l.now);
        let Some(g) = s.guests[i].as_mut() else {
            return;
        };
        let was_primary = g.replica().role() == Role::Primary;
        let mut out = Vec::new();
        g.handle(now, input, &mut out);
        let is_primary = g.replica().role() == Role::Primary;
        if is_primary && !was_primary {
            s.must_have[i] = s.acked[0] | s.acked[1];
        } else if !is_primary {
            s.must_have[i] = 0;
        }
        for e in out {
            match e {
                Effect::Send { to, msg } => self.send(s, n, to, msg, log),
                Effect::SetTimer { id, after } => {
                    self.set_timer(s, n, AnyTimer::Guest(id), after, log);
                }
                Effect::CancelTimer(id) => {
                    s.timers.remove(&(n, AnyTimer::Guest(id)));
                }
                Effect::Disk(req) => s.disk_queue[i].push_back(req),
                Effect::Persist(meta) => s.meta[i] = Some(meta),
                Effect::Handler(HandlerRequest::FencePeer { peer }) => {
                    s.handlers.insert((n, peer));
                    if let Some(l) = log.as_deref_mut() {
                        l.note(
                            n,
                            format!(
                                "fence-peer handler runs against {}",
                                super::config::node_name(peer)
                            ),
                        );
                    }
                }
                Effect::Handler(h) => {
                    if let Some(l) = log.as_deref_mut() {
                        l.note(n, format!("handler {h:?}"));
                    }
                }
                Effect::Process(req) => s.procs.push((n, req)),
                Effect::Fence(target) => {
                    s.fences.insert((n, target, true));
                    if let Some(l) = log.as_deref_mut() {
                        l.note(
                            n,
                            format!(
                                "STONITH request against {}",
                                super::config::node_name(target)
                            ),
                        );
                    }
                }
                Effect::Ack(w) => {
                    s.acked[i] |= bit(w.0);
                    if let Some(l) = log.as_deref_mut() {
                        l.note(n, format!("write {} acknowledged", w.0));
                    }
                }
                Effect::WriteFailed { write, error } => {
                    if let Some(l) = log.as_deref_mut() {
                        l.note(n, format!("write {} failed: {error:?}", write.0));
                    }
                }
                Effect::ReadDone { .. } => {}
                Effect::Event(notice) => {
                    if let GuestNotice::Replica(ReplicaNotice::Witness(_, up)) = notice {
                        s.witness_up[i] = up;
                    }
                    if let Some(l) = log.as_deref_mut() {
                        if let Some(text) = describe(&notice) {
                            l.note(n, text);
                        }
                    }
                }
            }
        }
    }

    fn feed_witness(&self, s: &mut State, input: Input<Witness>, log: &mut Option<&mut Log>) {
        self.feed_helper(
            s,
            WITNESS,
            |s| s.witness.as_mut(),
            input,
            GuestMsg::Replica,
            AnyTimer::Witness,
            log,
        );
    }

    fn feed_device(&self, s: &mut State, input: Input<QuorumDevice>, log: &mut Option<&mut Log>) {
        self.feed_helper(
            s,
            QDEVICE,
            |s| s.device.as_mut(),
            input,
            GuestMsg::Membership,
            AnyTimer::Device,
            log,
        );
    }

    /// Feeds a helper machine (the witness, the quorum device) and carries out its
    /// sends, timers and notices; they have no disk, processes or fencing.
    #[allow(clippy::too_many_arguments)]
    fn feed_helper<P: Machine>(
        &self,
        s: &mut State,
        node: NodeId,
        part: impl FnOnce(&mut State) -> Option<&mut P>,
        input: Input<P>,
        lift_msg: impl Fn(P::Msg) -> GuestMsg,
        lift_timer: impl Fn(P::Timer) -> AnyTimer,
        log: &mut Option<&mut Log>,
    ) {
        let now = log.as_deref().map_or(Time::ZERO, |l| l.now);
        let Some(machine) = part(s) else {
            return;
        };
        let mut out = Vec::new();
        machine.handle(now, input, &mut out);
        for e in out {
            match e {
                Effect::Send { to, msg } => self.send(s, node, to, lift_msg(msg), log),
                Effect::SetTimer { id, after } => {
                    self.set_timer(s, node, lift_timer(id), after, log);
                }
                Effect::CancelTimer(id) => {
                    s.timers.remove(&(node, lift_timer(id)));
                }
                Effect::Event(notice) => {
                    if let Some(l) = log.as_deref_mut() {
                        l.note(node, format!("{notice:?}"));
                    }
                }
                _ => {}
            }
        }
    }

    /// Powers guest `n` off: its machine, timers, disk queue, OCF actions, handlers and
    /// the messages to and from it are gone; its disk blocks and metadata stay.
    pub fn power_off(&self, s: &mut State, n: NodeId, why: Down) {
        let i = ix(n);
        s.guests[i] = None;
        s.down[i] = why;
        s.timers.retain(|(m, _)| *m != n);
        s.disk_queue[i].clear();
        s.procs.retain(|(m, _)| *m != n);
        s.handlers.retain(|(m, _)| *m != n);
        s.fences = s
            .fences
            .iter()
            .map(|&(by, t, answer)| (by, t, answer && by != n))
            .collect();
        s.channels.retain(|(f, t, _), _| *f != n && *t != n);
        s.running[i] = false;
        s.killed[i] = false;
        s.witness_up[i] = false;
        s.must_have[i] = 0;
    }

    /// Boots guest `n` from its persisted metadata (or from `meta` if given).
    pub fn boot(&self, s: &mut State, n: NodeId, log: &mut Option<&mut Log>) {
        let i = ix(n);
        let Ok(g) = Guest::restart(self.cfg.guest(n), s.meta[i].clone()) else {
            return;
        };
        s.guests[i] = Some(g);
        s.down[i] = Down::Up;
        let fence_delay = self.cfg.fence_delay(n);
        self.feed(
            s,
            n,
            Input::Command(GuestCommand::Boot { fence_delay }),
            log,
        );
    }

    /// Carries out one action, then delivers the immediate messages it caused. Returns
    /// `false` if it is not possible in `s`.
    pub fn apply(&self, s: &mut State, action: &Action, log: &mut Option<&mut Log>) -> bool {
        if !self.apply_one(s, action, log) {
            return false;
        }
        let mut budget = 10_000;
        while let Some((from, to, msg)) = s.immediate.pop_front() {
            budget -= 1;
            if budget == 0 {
                s.immediate.clear();
                break;
            }
            if self.is_up(s, from)
                && self.is_up(s, to)
                && !self.is_cut(s, from, to, Guest::net(&msg))
            {
                self.deliver(s, from, to, msg, log);
            }
        }
        true
    }

    fn apply_one(&self, s: &mut State, action: &Action, log: &mut Option<&mut Log>) -> bool {
        match *action {
            Action::Deliver { from, to, net } => {
                let Some(msg) = s
                    .channels
                    .get_mut(&(from, to, net))
                    .and_then(VecDeque::pop_front)
                else {
                    return false;
                };
                if s.channels
                    .get(&(from, to, net))
                    .is_some_and(VecDeque::is_empty)
                {
                    s.channels.remove(&(from, to, net));
                }
                self.deliver(s, from, to, msg, log);
            }
            Action::Timer { node, timer } => {
                if !s.timers.remove(&(node, timer)) {
                    return false;
                }
                if let Some(l) = log.as_deref_mut() {
                    if let Some(at) = l.deadlines.remove(&(node, timer)) {
                        l.now = l.now.max(at);
                    }
                }
                match timer {
                    AnyTimer::Guest(t) => self.feed(s, node, Input::Timer(t), log),
                    AnyTimer::Witness(t) => self.feed_witness(s, Input::Timer(t), log),
                    AnyTimer::Device(t) => self.feed_device(s, Input::Timer(t), log),
                }
            }
            Action::DiskDone { node } => {
                let i = ix(node);
                let Some(req) = s.disk_queue[i].pop_front() else {
                    return false;
                };
                let result = match req.op {
                    DiskOp::Write { block, ref data } => {
                        let b = bit(block);
                        let holds = data.as_u64() == Some(block) && b != 0;
                        if holds {
                            s.on_disk[i] |= b;
                            s.seen[i] |= b;
                        } else {
                            s.on_disk[i] &= !b;
                        }
                        Ok(None)
                    }
                    DiskOp::Read { block } => {
                        let b = bit(block);
                        Ok((s.on_disk[i] & b != 0).then(|| Payload::from_u64(block)))
                    }
                };
                self.feed(
                    s,
                    node,
                    Input::Disk(DiskCompletion {
                        token: req.token,
                        result,
                    }),
                    log,
                );
            }
            Action::ProcessDone { node, request } => {
                let Some(pos) = s.procs.iter().position(|p| *p == (node, request)) else {
                    return false;
                };
                s.procs.remove(pos);
                let i = ix(node);
                let exit = match request.action {
                    OcfAction::Start | OcfAction::Promote => {
                        s.running[i] = true;
                        s.killed[i] = false;
                        OcfExit::Success
                    }
                    OcfAction::Stop | OcfAction::Demote => {
                        s.running[i] = false;
                        s.killed[i] = false;
                        OcfExit::Success
                    }
                    OcfAction::Monitor => {
                        if s.running[i] {
                            OcfExit::Success
                        } else {
                            OcfExit::NotRunning
                        }
                    }
                };
                self.feed(
                    s,
                    node,
                    Input::Process(ProcessEvent {
                        process: request.process,
                        action: request.action,
                        call: request.call,
                        exit,
                    }),
                    log,
                );
            }
            Action::Fence { by, target } => {
                let answer = if s.fences.remove(&(by, target, true)) {
                    true
                } else if s.fences.remove(&(by, target, false)) {
                    false
                } else {
                    return false;
                };
                if matches!(target, A | B) && s.guests[ix(target)].is_some() {
                    self.power_off(s, target, Down::Fenced);
                }
                if answer {
                    self.feed(
                        s,
                        by,
                        Input::FenceDone {
                            node: target,
                            success: true,
                        },
                        log,
                    );
                }
            }
            Action::FencePeer { node, peer } => {
                if !s.handlers.remove(&(node, peer)) {
                    return false;
                }
                let exit_code = match self.cfg.fencing {
                    // stonith_admin-fence-peer.sh: power the peer off, "peer was STONITHed".
                    FencingChoice::ResourceAndStonith => {
                        if s.guests[ix(peer)].is_some() {
                            self.power_off(s, peer, Down::Fenced);
                        }
                        7
                    }
                    // dopd: over a Heartbeat ring, if one reaches the peer, `drbdadm
                    // outdate` there; a Primary refuses (6), see `replication::dopd`.
                    FencingChoice::ResourceOnly | FencingChoice::DontCare => {
                        let reachable =
                            (0..self.cfg.rings).any(|r| !self.is_cut(s, node, peer, Net::Ring(r)));
                        let answer = s.guests[ix(peer)]
                            .as_ref()
                            .filter(|_| reachable)
                            .map_or(dopd::PEER_UNREACHABLE, |g| dopd::answer(g.replica()));
                        if answer == dopd::PEER_OUTDATED {
                            self.feed(
                                s,
                                peer,
                                Input::Command(GuestCommand::Replica(ReplicaCommand::Outdate)),
                                log,
                            );
                        }
                        answer
                    }
                };
                self.feed(
                    s,
                    node,
                    Input::HandlerDone(HandlerReply {
                        request: HandlerRequest::FencePeer { peer },
                        exit_code,
                    }),
                    log,
                );
            }
            Action::Reboot { node } | Action::ClusterRestart { node } => {
                self.boot(s, node, log);
            }
            Action::Crash { node } => {
                s.faults_left -= 1;
                self.power_off(s, node, Down::Crashed);
            }
            Action::PowerOff { node } => {
                s.faults_left -= 1;
                self.power_off(s, node, Down::HostDown);
            }
            Action::Partition(c) => {
                s.faults_left -= 1;
                s.cuts.insert(c);
                s.channels.retain(|&(f, t, net), _| !c.covers(f, t, net));
            }
            Action::Heal(c) => {
                s.cuts.remove(&c);
            }
            Action::Lose { from, to, net } => {
                s.faults_left -= 1;
                if let Some(q) = s.channels.get_mut(&(from, to, net)) {
                    q.pop_front();
                    if q.is_empty() {
                        s.channels.remove(&(from, to, net));
                    }
                }
            }
            Action::KillService { node } => {
                s.faults_left -= 1;
                s.running[ix(node)] = false;
                s.killed[ix(node)] = true;
            }
            Action::Write { node } => {
                s.writes_left -= 1;
                s.next_write += 1;
                let w = u64::from(s.next_write);
                self.feed(
                    s,
                    node,
                    Input::Command(GuestCommand::Replica(ReplicaCommand::Write {
                        id: WriteId(w),
                        block: w,
                        data: Payload::from_u64(w),
                    })),
                    log,
                );
            }
        }
        true
    }

    fn deliver(
        &self,
        s: &mut State,
        from: NodeId,
        to: NodeId,
        msg: GuestMsg,
        log: &mut Option<&mut Log>,
    ) {
        match to {
            A | B => self.feed(s, to, Input::Recv { from, msg }, log),
            WITNESS => {
                if let GuestMsg::Replica(m) = msg {
                    self.feed_witness(s, Input::Recv { from, msg: m }, log);
                }
            }
            QDEVICE => {
                if let GuestMsg::Membership(m) = msg {
                    self.feed_device(s, Input::Recv { from, msg: m }, log);
                }
            }
            PING => {
                if let GuestMsg::Membership(m) = msg {
                    let mut p = PingNode::new(PING);
                    let mut out = Vec::new();
                    p.handle(Time::ZERO, Input::Recv { from, msg: m }, &mut out);
                    for e in out {
                        if let Effect::Send { to, msg } = e {
                            self.send(s, PING, to, GuestMsg::Membership(msg), log);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// The state before anything happened: both guests with identical, in-sync metadata
    /// (as after `create-md`, the initial sync and a clean shutdown), the witness and
    /// quorum device if configured, the configured start-up cuts; then booted.
    pub fn boot_state(&self, log: &mut Option<&mut Log>, boot_cuts: &[Cut]) -> State {
        let meta = ReplicaMeta {
            uuids: crate::replication::uuid::GenerationIds {
                current: 0x7A30_0000_0000_0000,
                bitmap: 0,
                history: [0, 0],
            },
            disk: crate::replication::DiskState::UpToDate,
            primary: false,
            crashed_primary: false,
            peer_outdated: false,
            bitmap: crate::replication::bitmap::Bitmap::new(),
            activity_log: BTreeSet::new(),
            uuid_counter: 1,
            boots: 1,
        };
        let mut s = State {
            guests: [None, None],
            down: [Down::Crashed; 2],
            meta: [Some(meta.clone()), Some(meta)],
            witness: self.cfg.drbd_quorum_witness.then(|| {
                Witness::new(WitnessConfig {
                    me: WITNESS,
                    timers: self.cfg.guest(A).replica.timers,
                })
            }),
            device: (self.cfg.has_node(QDEVICE))
                .then(|| QuorumDevice::for_members(QDEVICE, &self.cfg.guest(A).membership)),
            channels: BTreeMap::new(),
            timers: BTreeSet::new(),
            disk_queue: [VecDeque::new(), VecDeque::new()],
            procs: Vec::new(),
            fences: BTreeSet::new(),
            handlers: BTreeSet::new(),
            cuts: BTreeSet::new(),
            running: [false; 2],
            killed: [false; 2],
            on_disk: [0; 2],
            seen: [0; 2],
            acked: [0; 2],
            must_have: [0; 2],
            witness_up: [false; 2],
            faults_left: self.cfg.budget.faults,
            writes_left: self.cfg.budget.writes,
            next_write: 0,
            immediate: VecDeque::new(),
        };
        if self.cfg.start == super::config::Start::Partitioned {
            s.cuts.insert(Cut {
                x: A,
                y: B,
                net: None,
            });
        }
        s.cuts.extend(boot_cuts.iter().copied());
        for n in [A, B] {
            self.boot(&mut s, n, log);
        }
        while let Some((from, to, msg)) = s.immediate.pop_front() {
            if self.is_up(&s, to) && !self.is_cut(&s, from, to, Guest::net(&msg)) {
                self.deliver(&mut s, from, to, msg, log);
            }
        }
        s
    }

    /// The next internal event of a timed, zero-latency run: a message, a disk or OCF
    /// completion, a fence or handler; else the timer with the earliest deadline.
    pub fn next_timed(&self, s: &State, log: &Log) -> Option<Action> {
        if let Some(&(from, to, net)) = s.channels.keys().next() {
            return Some(Action::Deliver { from, to, net });
        }
        for n in [A, B] {
            if !s.disk_queue[ix(n)].is_empty() {
                return Some(Action::DiskDone { node: n });
            }
        }
        if let Some(&(node, request)) = s.procs.first() {
            return Some(Action::ProcessDone { node, request });
        }
        if let Some(&(by, target, _)) = s.fences.iter().next() {
            return Some(Action::Fence { by, target });
        }
        if let Some(&(node, peer)) = s.handlers.iter().next() {
            return Some(Action::FencePeer { node, peer });
        }
        s.timers
            .iter()
            .min_by_key(|k| (log.deadlines.get(k).copied().unwrap_or(Time::ZERO), **k))
            .map(|&(node, timer)| Action::Timer { node, timer })
    }

    /// The `running` scenario's start: boot both guests and run them, with every message
    /// and completion instantaneous and timers at their configured durations, until `a`
    /// runs the group as Primary and nothing but timers is pending.
    pub fn settled_state(&self) -> State {
        let mut log = Log::default();
        // DRBD connects before Heartbeat starts the resources (Heartbeat's initdead,
        // drbddisk's wait-for-connection): keep the rings quiet until the replicas have
        // shaken hands.
        let rings: Vec<Cut> = (0..self.cfg.rings)
            .map(|r| Cut {
                x: A,
                y: B,
                net: Some(Net::Ring(r)),
            })
            .collect();
        let mut s = self.boot_state(&mut Some(&mut log), &rings);
        let connected = |s: &State| {
            s.guests.iter().all(|g| {
                g.as_ref()
                    .is_some_and(|g| g.replica().conn() == crate::replication::ConnState::Connected)
            })
        };
        for _ in 0..10_000 {
            if connected(&s) && s.channels.is_empty() {
                break;
            }
            let Some(a) = self.next_timed(&s, &log) else {
                break;
            };
            self.apply(&mut s, &a, &mut Some(&mut log));
        }
        for c in &rings {
            s.cuts.remove(c);
        }
        log.events.clear();
        for _ in 0..100_000 {
            let settled = s.guests[0]
                .as_ref()
                .is_some_and(|g| g.replica().role() == Role::Primary)
                && s.running[0]
                && s.guests[1].as_ref().is_some_and(|g| {
                    g.replica().conn() == crate::replication::ConnState::Connected
                })
                && log.now >= Time::ZERO + Duration::from_secs(40)
                && s.channels.is_empty()
                && s.disk_queue.iter().all(VecDeque::is_empty)
                && s.procs.is_empty();
            if settled {
                break;
            }
            let Some(a) = self.next_timed(&s, &log) else {
                break;
            };
            self.apply(&mut s, &a, &mut Some(&mut log));
            log.events.clear();
        }
        s
    }

    /// Whether the monitor of resource `p` on guest `n` could find anything but the
    /// expected answer.
    fn monitor_matters(&self, s: &State, n: NodeId, p: crate::ProcessId) -> bool {
        let i = ix(n);
        if p == SERVICE {
            return s.killed[i];
        }
        if p == DRBD {
            return s.guests[i].as_ref().is_some_and(|g| {
                let r = g.replica();
                r.role() == Role::Primary && r.disk() != crate::replication::DiskState::UpToDate
            });
        }
        true
    }

    fn in_flight(
        &self,
        s: &State,
        from: NodeId,
        to: NodeId,
        pred: impl Fn(&GuestMsg) -> bool,
    ) -> bool {
        s.channels
            .iter()
            .any(|(&(f, t, _), q)| f == from && t == to && q.iter().any(&pred))
    }

    /// Whether a heartbeat of `peer` could still reach `me` on ring `r`.
    fn heartbeat_possible(&self, s: &State, me: NodeId, r: u8) -> bool {
        let peer = other(me);
        let in_flight = s
            .channels
            .get(&(peer, me, Net::Ring(r)))
            .is_some_and(|q| !q.is_empty());
        in_flight || (self.is_up(s, peer) && !self.is_cut(s, me, peer, Net::Ring(r)))
    }

    /// The timer-ordering constraints (see `docs/verification.md`): whether `timer` of
    /// `node` may fire in `s`.
    pub fn timer_allowed(&self, s: &State, node: NodeId, timer: AnyTimer) -> bool {
        let peer = other(node);
        match timer {
            AnyTimer::Guest(GuestTimer::Membership(t)) => match t {
                // Message delay < keepalive: at most one heartbeat per ring in flight.
                MembershipTimer::Keepalive => (0..self.cfg.rings).all(|r| {
                    s.channels
                        .get(&(node, peer, Net::Ring(r)))
                        .is_none_or(VecDeque::is_empty)
                }),
                // keepalive + delay < warntime, deadtime: a live, reachable peer's
                // heartbeat always arrives first.
                MembershipTimer::Warn | MembershipTimer::Dead => {
                    (0..self.cfg.rings).all(|r| !self.heartbeat_possible(s, node, r))
                }
                MembershipTimer::RingDead(r) => !self.heartbeat_possible(s, node, r),
                MembershipTimer::PingDead(p) => {
                    self.is_cut(s, node, p, Net::Public) && !self.in_flight(s, p, node, |_| true)
                }
                MembershipTimer::DeviceExpire => {
                    self.is_cut(s, node, QDEVICE, Net::Public)
                        && !self.in_flight(s, QDEVICE, node, |_| true)
                }
                // A fence always completes within fence_timeout.
                MembershipTimer::FenceTimeout => !s.fences.iter().any(|&(by, _, _)| by == node),
                MembershipTimer::IpfailGrace | MembershipTimer::FenceDelay => true,
            },
            AnyTimer::Guest(GuestTimer::Replica(t)) => match t {
                // RTT < ping-timeout: the timeout fires only when the answer cannot come.
                ReplicaTimer::PingTimeout => {
                    (!self.is_up(s, peer) || self.is_cut(s, node, peer, Net::Replication))
                        && !self.in_flight(s, peer, node, |m| matches!(m, GuestMsg::Replica(_)))
                }
                // A retry over a cut link only bumps the attempt counter.
                ReplicaTimer::ConnectRetry => {
                    self.is_up(s, peer) && !self.is_cut(s, node, peer, Net::Replication)
                }
                ReplicaTimer::WitnessTimeout => {
                    self.is_cut(s, node, WITNESS, Net::Replication)
                        && !self.in_flight(s, WITNESS, node, |_| true)
                }
                // A keep-alive over a working connection changes nothing.
                ReplicaTimer::Ping => {
                    let connected = |n: NodeId| {
                        s.guests[ix(n)]
                            .as_ref()
                            .is_some_and(|g| g.replica().conn().is_connected())
                    };
                    !(connected(node)
                        && connected(peer)
                        && !self.is_cut(s, node, peer, Net::Replication))
                }
                ReplicaTimer::ResyncTick | ReplicaTimer::WitnessPing => true,
            },
            AnyTimer::Guest(GuestTimer::RetryPromote) => true,
            AnyTimer::Guest(GuestTimer::Resources(t)) => match t {
                // A healthy monitor changes nothing but its call number.
                ResourceTimer::Monitor(p) => self.monitor_matters(s, node, p),
                // OCF actions complete within op_timeout.
                ResourceTimer::OpTimeout(_) => false,
                ResourceTimer::FailureExpiry(_) => true,
            },
            // Lease: the witness forgets a node only after the node stopped counting
            // the witness' vote (expiry 2 x ping-int + ping-timeout > ping-int +
            // ping-timeout).
            AnyTimer::Witness(WitnessTimer::Expire(n)) => {
                let i = ix(n);
                (!self.is_up(s, n) || !s.witness_up[i]) && !self.in_flight(s, n, WITNESS, |_| true)
            }
            // Lease: the device forgets a member only after the member stopped counting
            // its vote (lease deadtime + keepalive > deadtime).
            AnyTimer::Device(DeviceTimer::Expire(n)) => {
                (!self.is_up(s, n)
                    || !s.timers.contains(&(
                        n,
                        AnyTimer::Guest(GuestTimer::Membership(MembershipTimer::DeviceExpire)),
                    )))
                    && !self.in_flight(s, n, QDEVICE, |_| true)
            }
        }
    }

    /// Every action possible in `s`, in a deterministic order.
    pub fn actions(&self, s: &State, out: &mut Vec<Action>) {
        for (&(from, to, net), q) in &s.channels {
            if !q.is_empty() {
                out.push(Action::Deliver { from, to, net });
            }
        }
        for n in [A, B] {
            if !s.disk_queue[ix(n)].is_empty() {
                out.push(Action::DiskDone { node: n });
            }
        }
        for &(node, request) in &s.procs {
            out.push(Action::ProcessDone { node, request });
        }
        for &(by, target, _) in &s.fences {
            out.push(Action::Fence { by, target });
        }
        for &(node, peer) in &s.handlers {
            out.push(Action::FencePeer { node, peer });
        }
        for &(node, timer) in &s.timers {
            if self.timer_allowed(s, node, timer) {
                out.push(Action::Timer { node, timer });
            }
        }
        let kinds = &self.cfg.budget.kinds;
        for n in [A, B] {
            let i = ix(n);
            match (s.guests[i].as_ref(), s.down[i]) {
                (None, Down::Crashed) => out.push(Action::Reboot { node: n }),
                (None, Down::HostDown)
                    if self.cfg.cluster_layer != super::config::ClusterLayer::Off =>
                {
                    out.push(Action::ClusterRestart { node: n });
                }
                (Some(g), _) => {
                    if s.writes_left > 0 && g.replica().role() == Role::Primary {
                        out.push(Action::Write { node: n });
                    }
                    if s.faults_left > 0 {
                        if kinds.contains(&FaultKind::Crash) {
                            out.push(Action::Crash { node: n });
                        }
                        if kinds.contains(&FaultKind::PowerOff) {
                            out.push(Action::PowerOff { node: n });
                        }
                        if kinds.contains(&FaultKind::KillService) && s.running[i] {
                            out.push(Action::KillService { node: n });
                        }
                    }
                }
                _ => {}
            }
        }
        for &c in &self.cfg.budget.cuts {
            if s.cuts.contains(&c) {
                out.push(Action::Heal(c));
            } else if s.faults_left > 0 && kinds.contains(&FaultKind::Partition) {
                out.push(Action::Partition(c));
            }
        }
        if s.faults_left > 0 && kinds.contains(&FaultKind::LoseMessage) {
            for (&(from, to, net), q) in &s.channels {
                if !q.is_empty() {
                    out.push(Action::Lose { from, to, net });
                }
            }
        }
    }
}

/// A short text for the notices worth showing in a counterexample.
fn describe(n: &GuestNotice) -> Option<String> {
    use crate::membership::MembershipNotice as M;
    use crate::resources::ResourceNotice as R;
    Some(match n {
        GuestNotice::Replica(r) => match r {
            ReplicaNotice::Role(role) => format!("replica {role:?}"),
            ReplicaNotice::Disk(d) => format!("disk {d:?}"),
            ReplicaNotice::Conn(c) => format!("connection {c:?}"),
            ReplicaNotice::NewCurrentUuid(u) => format!("new data generation {:X}", u >> 48),
            ReplicaNotice::Peer { .. } | ReplicaNotice::Resynced(_) => return None,
            other => format!("{other:?}"),
        },
        GuestNotice::Membership(m) => match m {
            M::PeerDead(p) => format!("peer {p} dead"),
            M::PeerAlive(p) => format!("peer {p} alive"),
            M::TakeOver => "take over".to_string(),
            M::GiveUp => "give up".to_string(),
            other => format!("{other:?}"),
        },
        GuestNotice::Resources(r) => match r {
            R::ResourceStarted(p) if *p == SERVICE => "service started".to_string(),
            R::ResourceStopped(p) if *p == SERVICE => "service stopped".to_string(),
            R::ResourceStarted(_) | R::ResourceStopped(_) => return None,
            other => format!("{other:?}"),
        },
    })
}
