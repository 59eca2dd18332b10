//! The member machine: failure detection of the peer, ipfail, quorum, and the fencing
//! decision, for one node of a two-node cluster.

use std::sync::Arc;

use core::time::Duration;

use super::config::{MembershipConfig, MembershipConfigError, NoQuorumPolicy};
use super::msg::MembershipMsg;
use super::notice::MembershipNotice;
use crate::{Effect, Input, Machine, Net, NodeId, Time};

/// How many keepalives ipfail waits after a ping count changed before it compares the
/// two nodes' counts. When a router dies both nodes lose it, but up to one ping interval
/// apart, and the later one's report takes up to another keepalive to arrive: comparing
/// at once would move the resources to whichever node noticed last. A model choice (the
/// real ipfail exchanges ping status on demand), bounded by what the race needs.
pub const IPFAIL_GRACE_KEEPALIVES: u32 = 3;

/// An operator or driver request to a member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MembershipCommand {
    /// Start the membership layer (the daemon starts).
    Start {
        /// How long to wait before each fencing request: the driver's random draw in
        /// `[0, pcmk_delay_max]`, so that after a split the two nodes do not shoot each
        /// other at the same moment (src: PX:
        /// pcmk_delay_max to avoid two nodes shooting each other).
        fence_delay: Duration,
    },
}

/// The member's named timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MembershipTimer {
    /// Send heartbeats, pings and the quorum-device poll (every keepalive).
    Keepalive,
    /// The peer has been silent for warntime.
    Warn,
    /// The peer has been silent on every ring for deadtime (initdead at start).
    Dead,
    /// This ring has been silent for deadtime (initdead at start).
    RingDead(u8),
    /// This ping node has been silent for deadping (initdead at start).
    PingDead(NodeId),
    /// The quorum device's vote has not been renewed for deadtime.
    DeviceExpire,
    /// ipfail's ping counts have been stable long enough to compare.
    IpfailGrace,
    /// The fence delay (or the pause before a retry) has passed.
    FenceDelay,
    /// The fencing request has not been answered within fence_timeout.
    FenceTimeout,
}

/// What a member knows of its peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PeerState {
    /// Not heard since start; initdead applies.
    Unknown,
    /// Heard within warntime.
    Alive,
    /// Silent for warntime, not yet deadtime.
    Warn,
    /// Silent on every ring for deadtime (initdead), or fenced.
    Dead,
}

/// Where the quorum device's vote stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum DeviceVote {
    /// No vote (denied, expired, or never asked).
    None,
    /// Granted to the whole two-node cluster: says nothing about a split.
    Shared,
    /// Granted to this node as a partition of one.
    Mine,
}

/// Where fencing of the peer stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum FenceState {
    /// Nothing asked.
    Idle,
    /// Waiting for [`MembershipTimer::FenceDelay`].
    Delay,
    /// [`Effect::Fence`] sent, no answer yet.
    InFlight,
}

/// One member of a two-node Heartbeat/Pacemaker-style cluster.
///
/// It sends heartbeats on every ring each keepalive and declares the peer dead when it
/// has been silent on every ring for deadtime (initdead before its first heartbeat). It
/// pings ipfail's ping nodes, counts votes as votequorum does (two_node, wait_for_all, a
/// quorum device), and decides: fence the lost peer (after the fence delay, retrying on
/// failure), then [`MembershipNotice::TakeOver`]; or [`MembershipNotice::GiveUp`]. Its
/// state holds no timestamp: every deadline is a timer. Nothing survives a crash
/// (`Meta = ()`): Heartbeat keeps its view in memory.
///
/// Build it with [`Membership::new`], then send [`MembershipCommand::Start`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Membership {
    cfg: Arc<MembershipConfig>,
    /// `Some` once started: the fence delay of [`MembershipCommand::Start`].
    fence_delay: Option<Duration>,
    peer: PeerState,
    /// The peer has been seen since start (votequorum's wait_for_all).
    seen_peer: bool,
    /// Bit r: ring r is up (a heartbeat within deadtime).
    rings_up: u8,
    /// Bit r: ring r was reported down.
    rings_down: u8,
    /// What the peer's last heartbeat said.
    peer_pings: u8,
    peer_standby: bool,
    /// Bit i: ping node i answered within deadping.
    pings_up: u16,
    /// A ping node answered since the peer was declared dead: this node is not the
    /// isolated one.
    ping_proof: bool,
    /// A ping count (this node's or the peer's) changed less than
    /// [`IPFAIL_GRACE_KEEPALIVES`] keepalives ago: ipfail does not compare yet.
    ipfail_wait: bool,
    device: DeviceVote,
    quorate: bool,
    ever_quorate: bool,
    fence: FenceState,
    /// The peer was fenced successfully since it was last seen alive.
    peer_fenced: bool,
    /// The last reported levels of the two instructions; a notice goes out when a
    /// level rises.
    must_stop: bool,
    take_over: bool,
}

impl Membership {
    /// A member with configuration `cfg`, not yet started; refuses an invalid
    /// configuration.
    pub fn new(cfg: MembershipConfig) -> Result<Membership, MembershipConfigError> {
        cfg.validate()?;
        let all_pings = if cfg.ping_nodes.len() >= 16 {
            u16::MAX
        } else {
            (1u16 << cfg.ping_nodes.len()) - 1
        };
        Ok(Membership {
            cfg: Arc::new(cfg),
            fence_delay: None,
            peer: PeerState::Unknown,
            seen_peer: false,
            rings_up: 0,
            rings_down: 0,
            peer_pings: 0,
            peer_standby: false,
            // Ping nodes count as reachable until deadping (initdead) says otherwise,
            // as the peer counts as not dead until then.
            pings_up: all_pings,
            ping_proof: false,
            ipfail_wait: false,
            device: DeviceVote::None,
            quorate: false,
            ever_quorate: false,
            fence: FenceState::Idle,
            peer_fenced: false,
            must_stop: false,
            take_over: false,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &MembershipConfig {
        &self.cfg
    }

    /// Whether [`MembershipCommand::Start`] has been received.
    pub fn is_started(&self) -> bool {
        self.fence_delay.is_some()
    }

    /// What this node knows of its peer.
    pub fn peer_state(&self) -> PeerState {
        self.peer
    }

    /// Whether this node has quorum.
    pub fn is_quorate(&self) -> bool {
        self.quorate
    }

    /// Whether this node reaches none of its ping nodes (always false without ping
    /// nodes).
    pub fn is_isolated(&self) -> bool {
        !self.cfg.ping_nodes.is_empty() && self.pings_up == 0
    }

    /// How many ping nodes this node reaches.
    pub fn reachable_ping_nodes(&self) -> u8 {
        self.pings_up.count_ones() as u8
    }

    /// Whether ring `ring` is up.
    pub fn ring_up(&self, ring: u8) -> bool {
        ring < 8 && self.rings_up & (1 << ring) != 0
    }

    /// Whether the instruction in force is [`MembershipNotice::TakeOver`].
    pub fn has_taken_over(&self) -> bool {
        self.take_over
    }

    /// Whether the instruction in force is [`MembershipNotice::GiveUp`].
    pub fn has_given_up(&self) -> bool {
        self.must_stop
    }

    fn peer_alive(&self) -> bool {
        matches!(self.peer, PeerState::Alive | PeerState::Warn)
    }

    fn rings(&self) -> core::ops::Range<u8> {
        0..self.cfg.rings.min(8)
    }

    /// Waiting for the device's answer as a partition of one: quorum and the decisions
    /// resting on it are held, so that the winner of a split does not flap.
    fn quorum_pending(&self) -> bool {
        self.cfg.quorum.qdevice.is_some() && !self.peer_alive() && self.device == DeviceVote::Shared
    }

    fn emit(out: &mut Vec<Effect<Membership>>, notice: MembershipNotice) {
        out.push(Effect::Event(notice));
    }

    fn start(&mut self, fence_delay: Duration, out: &mut Vec<Effect<Membership>>) {
        if self.is_started() {
            return;
        }
        self.fence_delay = Some(fence_delay);
        let initdead = self.cfg.initdead;
        out.push(Effect::SetTimer {
            id: MembershipTimer::Dead,
            after: initdead,
        });
        for r in self.rings() {
            out.push(Effect::SetTimer {
                id: MembershipTimer::RingDead(r),
                after: initdead,
            });
        }
        for &p in self.cfg.ping_nodes.iter() {
            out.push(Effect::SetTimer {
                id: MembershipTimer::PingDead(p),
                after: initdead,
            });
        }
        self.quorate = self
            .cfg
            .quorum
            .quorate(false, false, self.device == DeviceVote::Mine);
        self.ever_quorate = self.quorate;
        Self::emit(out, MembershipNotice::Quorum(self.quorate));
        self.keepalive(out);
    }

    /// Heartbeats on every ring, pings, the device poll; then re-arm.
    fn keepalive(&mut self, out: &mut Vec<Effect<Membership>>) {
        let pings = self.reachable_ping_nodes();
        for ring in self.rings() {
            out.push(Effect::Send {
                to: self.cfg.peer,
                msg: MembershipMsg::Heartbeat {
                    ring,
                    pings,
                    standby: self.must_stop,
                },
            });
        }
        self.ping_all(out);
        self.poll_device(out);
        out.push(Effect::SetTimer {
            id: MembershipTimer::Keepalive,
            after: self.cfg.keepalive,
        });
    }

    fn ping_all(&self, out: &mut Vec<Effect<Membership>>) {
        for &p in self.cfg.ping_nodes.iter() {
            out.push(Effect::Send {
                to: p,
                msg: MembershipMsg::Ping,
            });
        }
    }

    fn poll_device(&self, out: &mut Vec<Effect<Membership>>) {
        if let Some(q) = self.cfg.quorum.qdevice {
            out.push(Effect::Send {
                to: q,
                msg: MembershipMsg::VoteRequest {
                    alone: !self.peer_alive(),
                },
            });
        }
    }

    fn on_heartbeat(
        &mut self,
        ring: u8,
        pings: u8,
        standby: bool,
        out: &mut Vec<Effect<Membership>>,
    ) {
        if ring >= self.cfg.rings.min(8) {
            return;
        }
        let bit = 1u8 << ring;
        if self.rings_up & bit == 0 {
            self.rings_up |= bit;
            self.rings_down &= !bit;
            Self::emit(out, MembershipNotice::RingUp(ring));
        }
        let deadtime = self.cfg.deadtime;
        out.push(Effect::SetTimer {
            id: MembershipTimer::RingDead(ring),
            after: deadtime,
        });
        out.push(Effect::SetTimer {
            id: MembershipTimer::Warn,
            after: self.cfg.warntime,
        });
        out.push(Effect::SetTimer {
            id: MembershipTimer::Dead,
            after: deadtime,
        });
        if self.peer_pings != pings && !self.cfg.ping_nodes.is_empty() {
            self.ipfail_settle(out);
        }
        self.peer_pings = pings;
        self.peer_standby = standby;
        self.seen_peer = true;
        if self.peer != PeerState::Alive {
            let was_dead = self.peer == PeerState::Dead;
            self.peer = PeerState::Alive;
            Self::emit(out, MembershipNotice::PeerAlive(self.cfg.peer));
            if was_dead {
                // The peer is back (a healed partition, a reboot): whatever was fenced
                // or decided about its death is over. An answer to a fencing request
                // still in flight is still reported, and a success still counts.
                self.peer_fenced = false;
                self.ping_proof = false;
                if self.fence == FenceState::InFlight {
                    out.push(Effect::CancelTimer(MembershipTimer::FenceTimeout));
                    self.fence = FenceState::Idle;
                }
                // The device's vote was for this node alone; ask again for both.
                self.poll_device(out);
            }
        }
    }

    /// The peer is declared dead (or known to be off).
    fn peer_died(&mut self, out: &mut Vec<Effect<Membership>>) {
        if self.peer == PeerState::Dead {
            return;
        }
        self.peer = PeerState::Dead;
        out.push(Effect::CancelTimer(MembershipTimer::Warn));
        out.push(Effect::CancelTimer(MembershipTimer::Dead));
        for r in self.rings() {
            let bit = 1u8 << r;
            if self.rings_down & bit == 0 {
                self.rings_down |= bit;
                self.rings_up &= !bit;
                out.push(Effect::CancelTimer(MembershipTimer::RingDead(r)));
                Self::emit(out, MembershipNotice::RingDown(r));
            }
        }
        Self::emit(out, MembershipNotice::PeerDead(self.cfg.peer));
        // ipfail: only a ping answered from now on shows that this node is not the one
        // cut off; ask at once rather than at the next keepalive.
        self.ping_proof = false;
        self.ping_all(out);
        // A vote granted to both nodes says nothing about a split: ask as a partition
        // of one, and hold quorum until the answer.
        if self.device == DeviceVote::Shared {
            self.poll_device(out);
        }
    }

    fn on_pong(&mut self, from: NodeId, out: &mut Vec<Effect<Membership>>) {
        let Some(i) = self.cfg.ping_index(from) else {
            return;
        };
        let was_isolated = self.is_isolated();
        if self.pings_up & (1 << i) == 0 {
            self.ipfail_settle(out);
        }
        self.pings_up |= 1 << i;
        out.push(Effect::SetTimer {
            id: MembershipTimer::PingDead(from),
            after: self.cfg.deadping,
        });
        if was_isolated {
            Self::emit(out, MembershipNotice::Isolated(false));
        }
        if self.peer == PeerState::Dead {
            self.ping_proof = true;
        }
    }

    fn on_ping_dead(&mut self, node: NodeId, out: &mut Vec<Effect<Membership>>) {
        let Some(i) = self.cfg.ping_index(node) else {
            return;
        };
        let was_isolated = self.is_isolated();
        if self.pings_up & (1 << i) != 0 {
            self.ipfail_settle(out);
        }
        self.pings_up &= !(1 << i);
        if self.is_isolated() && !was_isolated {
            Self::emit(out, MembershipNotice::Isolated(true));
        }
    }

    /// A ping count changed: ipfail compares the two nodes' counts only once both have
    /// had time to notice the same change (the same router lost or back) and report it.
    fn ipfail_settle(&mut self, out: &mut Vec<Effect<Membership>>) {
        self.ipfail_wait = true;
        out.push(Effect::SetTimer {
            id: MembershipTimer::IpfailGrace,
            after: IPFAIL_GRACE_KEEPALIVES * self.cfg.keepalive,
        });
    }

    fn on_vote(&mut self, alone: bool, granted: bool, out: &mut Vec<Effect<Membership>>) {
        if alone == self.peer_alive() {
            // An answer to a request made before the peer's state changed.
            return;
        }
        if granted {
            self.device = if alone {
                DeviceVote::Mine
            } else {
                DeviceVote::Shared
            };
            out.push(Effect::SetTimer {
                id: MembershipTimer::DeviceExpire,
                after: self.cfg.deadtime,
            });
        } else {
            self.device = DeviceVote::None;
            out.push(Effect::CancelTimer(MembershipTimer::DeviceExpire));
        }
    }

    fn send_fence(&mut self, out: &mut Vec<Effect<Membership>>) {
        let peer = self.cfg.peer;
        Self::emit(out, MembershipNotice::Fencing(peer));
        out.push(Effect::Fence(peer));
        out.push(Effect::SetTimer {
            id: MembershipTimer::FenceTimeout,
            after: self.cfg.fence_timeout,
        });
        self.fence = FenceState::InFlight;
    }

    /// After a failed or timed-out attempt: try again after one keepalive plus the
    /// fence delay. Pacemaker re-attempts in its next transition at once; the pause
    /// keeps a fence device that fails instantly from stalling virtual time.
    fn retry_fence(&mut self, out: &mut Vec<Effect<Membership>>) {
        self.fence = FenceState::Delay;
        out.push(Effect::SetTimer {
            id: MembershipTimer::FenceDelay,
            after: self.cfg.keepalive + self.fence_delay.unwrap_or_default(),
        });
    }

    fn on_fence_done(&mut self, node: NodeId, success: bool, out: &mut Vec<Effect<Membership>>) {
        if node != self.cfg.peer {
            return;
        }
        Self::emit(out, MembershipNotice::Fenced { node, success });
        if success {
            if self.fence != FenceState::Idle {
                out.push(Effect::CancelTimer(MembershipTimer::FenceTimeout));
                out.push(Effect::CancelTimer(MembershipTimer::FenceDelay));
            }
            self.fence = FenceState::Idle;
            self.peer_fenced = true;
            self.peer_died(out);
        } else if self.fence == FenceState::InFlight {
            out.push(Effect::CancelTimer(MembershipTimer::FenceTimeout));
            self.retry_fence(out);
        }
    }

    fn on_timer(&mut self, timer: MembershipTimer, out: &mut Vec<Effect<Membership>>) {
        match timer {
            MembershipTimer::Keepalive => self.keepalive(out),
            MembershipTimer::Warn => {
                if self.peer == PeerState::Alive {
                    self.peer = PeerState::Warn;
                    Self::emit(out, MembershipNotice::PeerWarn(self.cfg.peer));
                }
            }
            MembershipTimer::Dead => self.peer_died(out),
            MembershipTimer::RingDead(r) => {
                if r < self.cfg.rings.min(8) {
                    let bit = 1u8 << r;
                    if self.rings_down & bit == 0 {
                        self.rings_down |= bit;
                        self.rings_up &= !bit;
                        Self::emit(out, MembershipNotice::RingDown(r));
                    }
                }
            }
            MembershipTimer::PingDead(p) => self.on_ping_dead(p, out),
            MembershipTimer::DeviceExpire => self.device = DeviceVote::None,
            MembershipTimer::IpfailGrace => self.ipfail_wait = false,
            MembershipTimer::FenceDelay => {
                if self.fence == FenceState::Delay {
                    self.send_fence(out);
                }
            }
            MembershipTimer::FenceTimeout => {
                if self.fence == FenceState::InFlight {
                    Self::emit(
                        out,
                        MembershipNotice::Fenced {
                            node: self.cfg.peer,
                            success: false,
                        },
                    );
                    self.retry_fence(out);
                }
            }
        }
    }

    /// Re-evaluates quorum and the decisions after every input; a notice goes out when
    /// a level changes.
    fn decide(&mut self, out: &mut Vec<Effect<Membership>>) {
        if self.quorum_pending() {
            return;
        }
        let quorate = self.cfg.quorum.quorate(
            self.peer_alive(),
            self.seen_peer,
            self.device == DeviceVote::Mine
                || (self.peer_alive() && self.device == DeviceVote::Shared),
        );
        if quorate != self.quorate {
            self.quorate = quorate;
            self.ever_quorate |= quorate;
            Self::emit(out, MembershipNotice::Quorum(quorate));
        }
        let policy = self.cfg.no_quorum_policy;
        let may_run = quorate || policy == NoQuorumPolicy::Ignore;
        let pinging = !self.cfg.ping_nodes.is_empty();
        let isolated = self.is_isolated();
        let peer_alive = self.peer_alive();
        // ipfail: with the peer alive, the worse-connected node gives its resources up;
        // with the peer dead, a node that reaches no ping node is the one cut off.
        let ipfail_loser = pinging
            && if peer_alive {
                !self.ipfail_wait && self.reachable_ping_nodes() < self.peer_pings
            } else {
                isolated
            };
        let quorum_lost = policy == NoQuorumPolicy::Stop && !quorate && self.ever_quorate;
        let must_stop = quorum_lost || ipfail_loser;
        let failover = self.peer == PeerState::Dead && (!pinging || self.ping_proof) && !isolated;
        let handover = peer_alive && self.peer_standby && !isolated;
        let fenced_or_unneeded = !self.cfg.stonith || self.peer_fenced;
        let take_over = may_run && !must_stop && ((failover && fenced_or_unneeded) || handover);
        let want_fence = self.cfg.stonith && may_run && !must_stop && failover && !self.peer_fenced;

        if must_stop && !self.must_stop {
            Self::emit(out, MembershipNotice::GiveUp);
        }
        self.must_stop = must_stop;
        if take_over && !self.take_over {
            Self::emit(out, MembershipNotice::TakeOver);
        }
        self.take_over = take_over;

        match self.fence {
            FenceState::Idle if want_fence => {
                let delay = self.fence_delay.unwrap_or_default();
                if delay.is_zero() {
                    self.send_fence(out);
                } else {
                    self.fence = FenceState::Delay;
                    out.push(Effect::SetTimer {
                        id: MembershipTimer::FenceDelay,
                        after: delay,
                    });
                }
            }
            FenceState::Delay if !want_fence => {
                self.fence = FenceState::Idle;
                out.push(Effect::CancelTimer(MembershipTimer::FenceDelay));
            }
            _ => {}
        }
    }
}

impl Machine for Membership {
    type Msg = MembershipMsg;
    type Timer = MembershipTimer;
    type Command = MembershipCommand;
    type Meta = ();
    type Notice = MembershipNotice;

    fn net(msg: &MembershipMsg) -> Net {
        msg.net()
    }

    fn handle(&mut self, _now: Time, input: Input<Self>, out: &mut Vec<Effect<Self>>) {
        if let Input::Command(MembershipCommand::Start { fence_delay }) = input {
            self.start(fence_delay, out);
            self.decide(out);
            return;
        }
        if !self.is_started() {
            return;
        }
        match input {
            Input::Recv { from, msg } => match msg {
                MembershipMsg::Heartbeat {
                    ring,
                    pings,
                    standby,
                } if from == self.cfg.peer => self.on_heartbeat(ring, pings, standby, out),
                MembershipMsg::Pong => self.on_pong(from, out),
                MembershipMsg::Vote { alone, granted } if Some(from) == self.cfg.quorum.qdevice => {
                    self.on_vote(alone, granted, out)
                }
                _ => {}
            },
            Input::Timer(t) => self.on_timer(t, out),
            Input::FenceDone { node, success } => self.on_fence_done(node, success, out),
            Input::Command(MembershipCommand::Start { .. })
            | Input::Disk(_)
            | Input::HandlerDone(_)
            | Input::Process(_) => {}
        }
        self.decide(out);
    }
}
