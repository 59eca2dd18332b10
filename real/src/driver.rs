//! The event loop of one node: feeds the unchanged `model::guest::Guest` one input at a
//! time and carries out its effects in order.
//!
//! Like quinn's endpoint driver around quinn-proto, the loop owns the machine and makes
//! no protocol decision: `Send` goes to the link its network names, `SetTimer` to a
//! deadline on the monotonic clock, `Disk` to the disk thread, `Persist` to the metadata
//! file (synchronously, so it is durable before any later effect, as the machine
//! requires), handlers, STONITH and OCF actions to child processes, and the answers to
//! application I/O back to the NBD clients waiting for them.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use model::guest::{Guest, GuestCommand, GuestMsg, GuestNotice, GuestTimer, notice_text};
use model::replication::{ConnState, ReplicaCommand, ReplicaNotice, ReplicaTimer, Role};
use model::resources::{GroupPhase, ResourceCommand};
use model::{DiskRequest, Effect, Input, Machine, Net, ProcessId, Time};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::time::Instant;

use crate::agents;
use crate::blockio::BlockIo;
use crate::config::NodeConfig;
use crate::control::{ControlReply, ControlRequest};
use crate::event::{BlockOp, BlockReply, Event, answer};
use crate::meta::{MetaStore, StoredMeta};
use crate::status::{Counters, NodeStatus};
use crate::transport::Rings;

/// What the loop shares with the NBD export and the metrics endpoint.
#[derive(Debug)]
pub struct Shared {
    /// Whether the replica is Primary, after every input: the export's availability.
    pub primary: AtomicBool,
    /// The latest snapshot: refreshed after an input that changed a state (any notice),
    /// and otherwise at most every [`SNAPSHOT_EVERY`], so the I/O path does not rebuild
    /// it for every block.
    pub status: Mutex<NodeStatus>,
    /// Latency of NBD writes, arrival to acknowledgement.
    pub write_latency: prometheus_client::metrics::histogram::Histogram,
}

impl Default for Shared {
    fn default() -> Self {
        Shared {
            primary: AtomicBool::new(false),
            status: Mutex::default(),
            write_latency: crate::metrics::latency_histogram(),
        }
    }
}

impl Shared {
    /// The latest snapshot.
    pub fn snapshot(&self) -> NodeStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

/// The node's loop and everything it owns.
pub struct Driver {
    cfg: Arc<NodeConfig>,
    guest: Guest,
    epoch: Instant,
    timers: BTreeMap<GuestTimer, Instant>,
    meta: MetaStore,
    disk: std::sync::mpsc::Sender<Vec<DiskRequest>>,
    /// Disk requests of the inputs being fed, sent to the disk thread as one batch.
    disk_out: Vec<DiskRequest>,
    io: BlockIo<BlockReply>,
    link: Option<(u64, UnboundedSender<GuestMsg>)>,
    /// Whether the replica was connected after the last input (to see it leave).
    replica_was_connected: bool,
    rings: Rings,
    events: UnboundedSender<Event>,
    shared: Arc<Shared>,
    counters: Counters,
    names: BTreeMap<ProcessId, String>,
    /// Notices of the input being handled, for a control request's answer.
    recent: Vec<GuestNotice>,
    /// SIGTERM arrived: hand the group over, then stop.
    stopping: Option<Instant>,
    /// When the snapshot was last rebuilt.
    published: Instant,
    /// A notice arrived since the last snapshot.
    changed: bool,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("node", &self.cfg.name)
            .finish_non_exhaustive()
    }
}

/// The longest a snapshot lags behind the counters it shows.
pub const SNAPSHOT_EVERY: Duration = Duration::from_millis(200);

/// How long a graceful stop waits for the group to be handed over.
const STOP_GRACE: Duration = Duration::from_secs(120);

impl Driver {
    /// A loop around `guest`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        cfg: Arc<NodeConfig>,
        guest: Guest,
        meta: MetaStore,
        disk: std::sync::mpsc::Sender<Vec<DiskRequest>>,
        blocks: u64,
        rings: Rings,
        events: UnboundedSender<Event>,
        shared: Arc<Shared>,
    ) -> Driver {
        let names = guest
            .resources()
            .config()
            .resources
            .iter()
            .map(|r| (r.id, r.name.clone()))
            .collect();
        Driver {
            cfg,
            guest,
            epoch: Instant::now(),
            timers: BTreeMap::new(),
            meta,
            disk,
            disk_out: Vec::new(),
            io: BlockIo::new(blocks),
            link: None,
            replica_was_connected: false,
            rings,
            events,
            shared,
            counters: Counters::default(),
            names,
            recent: Vec::new(),
            stopping: None,
            published: Instant::now(),
            changed: true,
        }
    }

    fn now(&self) -> Time {
        Time(self.epoch.elapsed().as_nanos() as u64)
    }

    /// Runs until the event channel closes, a graceful stop completes, or metadata can no
    /// longer be written (a node that cannot keep its promises must not go on).
    pub async fn run(mut self, mut rx: UnboundedReceiver<Event>) -> anyhow::Result<()> {
        self.publish_now();
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("installing the SIGTERM handler")?;
        loop {
            let deadline = self.timers.values().min().copied();
            tokio::select! {
                biased;
                _ = term.recv() => self.begin_stop()?,
                ev = rx.recv() => match ev {
                    Some(ev) => self.on_event(ev)?,
                    None => return Ok(()),
                },
                _ = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    self.fire_timers()?;
                }
            }
            if let Some(since) = self.stopping {
                let stopped = matches!(self.guest.resources().phase(), GroupPhase::Stopped)
                    && self.guest.replica().role() == Role::Secondary;
                if stopped || since.elapsed() > STOP_GRACE {
                    tracing::info!("stopped: the group is handed over");
                    return Ok(());
                }
            }
        }
    }

    /// SIGTERM: like `service heartbeat stop`, hand the group to the peer before leaving.
    fn begin_stop(&mut self) -> anyhow::Result<()> {
        if self.stopping.is_some() {
            return Ok(());
        }
        tracing::info!("SIGTERM: giving up resources, then stopping");
        self.stopping = Some(Instant::now());
        self.feed(Input::Command(GuestCommand::Resources(
            ResourceCommand::GiveUp,
        )))?;
        if self.guest.replica().role() == Role::Primary
            && matches!(self.guest.resources().phase(), GroupPhase::Stopped)
        {
            // Promoted by hand, outside the group: demote by hand too.
            self.feed(Input::Command(GuestCommand::Replica(
                ReplicaCommand::Demote,
            )))?;
        }
        Ok(())
    }

    fn fire_timers(&mut self) -> anyhow::Result<()> {
        let now = Instant::now();
        let mut due: Vec<(Instant, GuestTimer)> = self
            .timers
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(id, at)| (*at, *id))
            .collect();
        due.sort();
        for (at, id) in due {
            // An earlier timer's effects may have cancelled or re-armed this one.
            if self.timers.get(&id) == Some(&at) {
                self.timers.remove(&id);
                self.feed(Input::Timer(id))?;
            }
        }
        Ok(())
    }

    fn on_event(&mut self, ev: Event) -> anyhow::Result<()> {
        match ev {
            Event::Recv { from, msg } => self.feed(Input::Recv { from, msg }),
            Event::RecvMany { from, msgs } => {
                self.feed_all(msgs.into_iter().map(|msg| Input::Recv { from, msg }))
            }
            Event::Disk(batch) => self.feed_all(batch.into_iter().map(Input::Disk)),
            Event::Process(p) => self.feed(Input::Process(p)),
            Event::Handler(h) => self.feed(Input::HandlerDone(h)),
            Event::FenceDone { node, success } => self.feed(Input::FenceDone { node, success }),
            Event::LinkUp { generation, tx } => {
                self.link = Some((generation, tx));
                // DRBD handshakes as soon as its socket connects; connect-int is the pause
                // between connection attempts, which the dialer keeps. The model's
                // connect retry is that attempt: let it happen now rather than up to
                // connect-int later.
                if self.guest.replica().conn() == ConnState::Connecting {
                    self.feed(Input::Timer(GuestTimer::Replica(
                        ReplicaTimer::ConnectRetry,
                    )))?;
                }
                Ok(())
            }
            Event::LinkDown { generation } => {
                if self.link.as_ref().is_some_and(|(g, _)| *g == generation) {
                    self.link = None;
                    // The socket broke (the peer died, or reset it): tell the replica
                    // now, as DRBD's socket error does, not a ping-timeout later.
                    return self.feed(Input::Command(GuestCommand::Replica(
                        ReplicaCommand::TransportFailed,
                    )));
                }
                Ok(())
            }
            Event::Block(op, reply) => {
                let mut cmds = Vec::new();
                let done = match op {
                    BlockOp::Read { offset, len } => self.io.read(offset, len, reply, &mut cmds),
                    BlockOp::Write { offset, data } => {
                        self.io.write(offset, data, reply, &mut cmds)
                    }
                    BlockOp::WriteZeroes { offset, len } => {
                        self.io.write_zeroes(offset, len, reply, &mut cmds)
                    }
                };
                answer(done);
                self.feed_all(cmds.into_iter().map(Input::Command))
            }
            Event::Control(req, reply) => {
                let answer = self.control(req)?;
                let _ = reply.send(answer);
                Ok(())
            }
            Event::Command(c) => self.feed(Input::Command(c)),
        }
    }

    fn control(&mut self, req: ControlRequest) -> anyhow::Result<ControlReply> {
        let cmd = match &req {
            ControlRequest::Status => None,
            ControlRequest::Promote { force } => Some(ReplicaCommand::Promote { force: *force }),
            ControlRequest::Demote => Some(ReplicaCommand::Demote),
            ControlRequest::Connect { discard_my_data } => Some(ReplicaCommand::Connect {
                discard_my_data: *discard_my_data,
            }),
            ControlRequest::Disconnect => Some(ReplicaCommand::Disconnect),
            ControlRequest::Outdate => Some(ReplicaCommand::Outdate),
            ControlRequest::Invalidate => Some(ReplicaCommand::Invalidate),
            ControlRequest::PauseSync => Some(ReplicaCommand::PauseSync),
            ControlRequest::ResumeSync => Some(ReplicaCommand::ResumeSync),
            ControlRequest::Cleanup => None,
        };
        self.recent.clear();
        // The machine ignores an `outdate` or `invalidate` it cannot carry out; its own
        // rule, asked before the command, says why.
        let rule = match req {
            ControlRequest::Outdate => self.guest.replica().outdate_refusal(),
            ControlRequest::Invalidate => self.guest.replica().invalidate_refusal(),
            _ => None,
        };
        let mut refused = rule.map(|why| {
            let r = self.guest.replica();
            format!(
                "{why} (this node is {}, {}, disk {}, peer disk {})",
                r.role(),
                r.conn(),
                r.disk(),
                r.peer_disk()
            )
        });
        if let Some(c) = cmd {
            self.feed(Input::Command(GuestCommand::Replica(c)))?;
        }
        if req == ControlRequest::Cleanup {
            self.feed(Input::Command(GuestCommand::Resources(
                ResourceCommand::Cleanup,
            )))?;
        }
        if let Some(why) = self.recent.iter().find_map(|n| match n {
            GuestNotice::Replica(ReplicaNotice::PromoteRefused(why)) => Some(why.to_string()),
            _ => None,
        }) {
            refused = Some(why);
        }
        let lines: Vec<String> = self.recent.iter().filter_map(|n| self.text(n)).collect();
        self.publish_now();
        let status = Some(self.shared.snapshot());
        Ok(match refused {
            Some(why) => ControlReply {
                ok: false,
                message: format!("refused: {why}"),
                status,
            },
            None => ControlReply {
                ok: true,
                message: if lines.is_empty() {
                    "done".to_string()
                } else {
                    lines.join("; ")
                },
                status,
            },
        })
    }

    fn text(&self, n: &GuestNotice) -> Option<String> {
        let node = |id: model::NodeId| {
            if id == self.cfg.me {
                self.cfg.name.clone()
            } else if id == self.cfg.peer {
                self.cfg.peer_name.clone()
            } else {
                id.to_string()
            }
        };
        let process = |p: ProcessId| self.names.get(&p).cloned().unwrap_or_else(|| p.to_string());
        notice_text(n, &node, &process)
    }

    /// Feeds one input and everything it leads to (application I/O finishing frees the
    /// next operation on the same block).
    pub(crate) fn feed(&mut self, input: Input<Guest>) -> anyhow::Result<()> {
        self.feed_all(std::iter::once(input))
    }

    /// Feeds inputs in order, and everything they lead to; their disk requests go to the
    /// disk thread together at the end, one wake-up for a whole client request.
    fn feed_all(&mut self, inputs: impl IntoIterator<Item = Input<Guest>>) -> anyhow::Result<()> {
        let mut queue: VecDeque<Input<Guest>> = inputs.into_iter().collect();
        let mut out = Vec::new();
        while let Some(input) = queue.pop_front() {
            let now = self.now();
            self.guest.handle(now, input, &mut out);
            for effect in out.drain(..) {
                self.execute(effect, &mut queue)?;
            }
        }
        self.close_link_the_replica_left();
        if !self.disk_out.is_empty() {
            let batch = std::mem::take(&mut self.disk_out);
            self.disk
                .send(batch)
                .context("the disk thread has stopped")?;
        }
        self.publish();
        Ok(())
    }

    /// The replica gave its connection up (DRBD's ping-timeout, a split brain found in
    /// the handshake, `disconnect`): close the socket as DRBD does, so that both ends
    /// start over with a fresh connection. Otherwise a TCP connection that outlived a
    /// partition would stay open with nobody using it, and the dialer, which dials only
    /// when it has no connection, would never dial again.
    fn close_link_the_replica_left(&mut self) {
        let conn = self.guest.replica().conn();
        let connected = conn.is_connected();
        let gave_up = (self.replica_was_connected && !connected) || conn == ConnState::StandAlone;
        self.replica_was_connected = connected;
        if gave_up && let Some((generation, _)) = self.link.take() {
            tracing::info!(target: "dualha::link", "replica left the connection ({conn:?}): closing replication connection {generation}");
        }
    }

    fn execute(
        &mut self,
        effect: Effect<Guest>,
        queue: &mut VecDeque<Input<Guest>>,
    ) -> anyhow::Result<()> {
        let mut cmds = Vec::new();
        match effect {
            Effect::Send { to, msg } => self.send(to, msg),
            Effect::SetTimer { id, after } => {
                self.timers.insert(id, Instant::now() + after);
            }
            Effect::CancelTimer(id) => {
                self.timers.remove(&id);
            }
            Effect::Disk(req) => self.disk_out.push(req),
            Effect::Persist(meta) => {
                self.meta.write(&StoredMeta::Replica(meta)).context(
                    "writing metadata; stopping the node, since it can no longer keep its promises",
                )?;
            }
            Effect::Handler(h) => agents::spawn_handler(&self.cfg, h, self.events.clone()),
            Effect::Process(p) => agents::spawn_ocf(&self.cfg, p, self.events.clone()),
            Effect::Fence(node) => {
                let timeout = self.guest.membership().config().fence_timeout;
                agents::spawn_fence(&self.cfg, node, timeout, self.events.clone());
            }
            Effect::Ack(w) => {
                self.counters.writes_acked += 1;
                answer(self.io.write_done(w, Ok(()), &mut cmds));
            }
            Effect::WriteFailed { write, error } => {
                self.counters.writes_failed += 1;
                answer(self.io.write_done(write, Err(error), &mut cmds));
            }
            Effect::ReadDone { read, result } => {
                self.counters.reads += 1;
                answer(self.io.read_done(read, result, &mut cmds));
            }
            Effect::Event(notice) => self.notice(notice),
        }
        queue.extend(cmds.into_iter().map(Input::Command));
        Ok(())
    }

    fn send(&mut self, to: model::NodeId, msg: GuestMsg) {
        if to != self.cfg.peer {
            // Witness, ping nodes and quorum devices have no address in this daemon yet.
            tracing::trace!("no address for node {to}: dropped {msg:?}");
            return;
        }
        match Guest::net(&msg) {
            Net::Replication => {
                if let Some((_, tx)) = &self.link {
                    let _ = tx.send(msg);
                }
            }
            Net::Ring(r) => self.rings.send(r, &msg),
            other => tracing::trace!("no {other} network: dropped {msg:?}"),
        }
    }

    fn notice(&mut self, notice: GuestNotice) {
        if let GuestNotice::Replica(ReplicaNotice::SyncStarted { blocks, .. }) = &notice {
            self.counters.resync_total = *blocks;
        }
        if let Some(line) = self.text(&notice) {
            tracing::info!(target: "dualha::timeline", "{}: {line}", self.cfg.name);
        }
        self.recent.push(notice);
        self.changed = true;
    }

    /// Shares the role at once, and the snapshot when something changed or it is old.
    fn publish(&mut self) {
        let primary = self.guest.replica().role() == Role::Primary;
        self.shared.primary.store(primary, Ordering::Release);
        if self.changed || self.published.elapsed() >= SNAPSHOT_EVERY {
            self.publish_now();
        }
    }

    fn publish_now(&mut self) {
        let uptime = self.epoch.elapsed().as_secs_f64();
        let status = NodeStatus::of(&self.guest, &self.cfg, &self.counters, uptime);
        if let Ok(mut s) = self.shared.status.lock() {
            *s = status;
        }
        self.shared.primary.store(
            self.guest.replica().role() == Role::Primary,
            Ordering::Release,
        );
        self.published = Instant::now();
        self.changed = false;
    }
}
