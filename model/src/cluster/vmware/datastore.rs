//! A shared datastore as FDM uses it: heartbeat regions, poweron files, the protected
//! list, and the VMFS locks that keep a VM from running on two hosts.
//!
//! The datastore is passive: hosts write and read it over [`crate::Net::Storage`], so a
//! host cut off from the management network but not from storage is still seen alive
//! (src: DD: failed vs isolated vs partitioned).

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;

use core::time::Duration;

use super::msg::{PowerOnFile, VmwareMsg};
use crate::{Effect, Input, Machine, Net, NodeId, ProcessId, Time};

/// The datastore's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DatastoreTimer {
    /// The host's lock lease ran out: it stopped heartbeating.
    Lease(NodeId),
}

/// One shared datastore.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Datastore {
    /// How long a host's locks hold after its last heartbeat.
    lock_lease: Duration,
    /// Hosts whose lease runs.
    alive: BTreeSet<NodeId>,
    /// `(reader, host)`: a master watches a host's heartbeat region.
    watched: BTreeSet<(NodeId, NodeId)>,
    /// `(reader, host)`: the host heartbeated since the reader's last read.
    updated: BTreeSet<(NodeId, NodeId)>,
    /// Each host's poweron file.
    files: BTreeMap<NodeId, PowerOnFile>,
    /// Which host holds each VM's lock.
    locks: BTreeMap<ProcessId, NodeId>,
    /// Locks taken from a host whose lease had lapsed, told to it when it heartbeats
    /// again.
    taken: BTreeMap<NodeId, BTreeSet<ProcessId>>,
    /// The protected list the (last) master wrote.
    protected: BTreeMap<ProcessId, NodeId>,
}

impl Datastore {
    /// An empty datastore whose locks lapse `lock_lease` after their holder's last
    /// heartbeat (see [`super::FdmTimers::lock_lease`]).
    pub fn new(lock_lease: Duration) -> Datastore {
        Datastore {
            lock_lease,
            alive: BTreeSet::new(),
            watched: BTreeSet::new(),
            updated: BTreeSet::new(),
            files: BTreeMap::new(),
            locks: BTreeMap::new(),
            taken: BTreeMap::new(),
            protected: BTreeMap::new(),
        }
    }

    /// The host holding `vm`'s lock, if any (lapsed or not).
    pub fn lock_holder(&self, vm: ProcessId) -> Option<NodeId> {
        self.locks.get(&vm).copied()
    }

    /// Whether `host`'s heartbeat lease runs.
    pub fn is_alive(&self, host: NodeId) -> bool {
        self.alive.contains(&host)
    }

    /// The protected list as last written.
    pub fn protected(&self) -> &BTreeMap<ProcessId, NodeId> {
        &self.protected
    }

    /// `host`'s poweron file.
    pub fn file(&self, host: NodeId) -> Option<&PowerOnFile> {
        self.files.get(&host)
    }

    fn heartbeat(&mut self, from: NodeId, out: &mut Vec<Effect<Datastore>>) {
        self.alive.insert(from);
        for vm in self.taken.remove(&from).unwrap_or_default() {
            out.push(Effect::Send {
                to: from,
                msg: VmwareMsg::DsLockLost { vm },
            });
        }
        out.push(Effect::SetTimer {
            id: DatastoreTimer::Lease(from),
            after: self.lock_lease,
        });
        let readers: Vec<NodeId> = self
            .watched
            .iter()
            .filter(|(_, h)| *h == from)
            .map(|(r, _)| *r)
            .collect();
        for r in readers {
            self.updated.insert((r, from));
        }
    }
}

impl Machine for Datastore {
    type Msg = VmwareMsg;
    type Timer = DatastoreTimer;
    type Command = Infallible;
    type Meta = ();
    type Notice = Infallible;

    fn net(msg: &VmwareMsg) -> Net {
        msg.net()
    }

    fn handle(&mut self, _now: Time, input: Input<Self>, out: &mut Vec<Effect<Self>>) {
        match input {
            Input::Recv { from, msg } => match msg {
                VmwareMsg::DsHeartbeat => self.heartbeat(from, out),
                VmwareMsg::DsPowerOnFile(file) => {
                    self.files.insert(from, file);
                }
                VmwareMsg::DsWatch { host } => {
                    self.watched.insert((from, host));
                    self.updated.remove(&(from, host));
                }
                VmwareMsg::DsUnwatch { host } => {
                    self.watched.remove(&(from, host));
                    self.updated.remove(&(from, host));
                }
                VmwareMsg::DsRead { host } => {
                    let updated = self.updated.remove(&(from, host));
                    out.push(Effect::Send {
                        to: from,
                        msg: VmwareMsg::DsStatus {
                            host,
                            updated,
                            file: self.files.get(&host).cloned(),
                        },
                    });
                }
                VmwareMsg::DsLock { vm } => {
                    let granted = match self.locks.get(&vm) {
                        None => true,
                        Some(h) => *h == from || !self.alive.contains(h),
                    };
                    if granted {
                        if let Some(old) = self.locks.insert(vm, from)
                            && old != from
                        {
                            self.taken.entry(old).or_default().insert(vm);
                        }
                        if let Some(t) = self.taken.get_mut(&from) {
                            t.remove(&vm);
                        }
                    }
                    out.push(Effect::Send {
                        to: from,
                        msg: VmwareMsg::DsLockReply { vm, granted },
                    });
                }
                VmwareMsg::DsUnlock { vm } if self.locks.get(&vm) == Some(&from) => {
                    self.locks.remove(&vm);
                }
                VmwareMsg::DsWriteProtected(list) => self.protected = list,
                VmwareMsg::DsReadProtected => out.push(Effect::Send {
                    to: from,
                    msg: VmwareMsg::DsProtected(self.protected.clone()),
                }),
                _ => {}
            },
            Input::Timer(DatastoreTimer::Lease(h)) => {
                self.alive.remove(&h);
            }
            _ => {}
        }
    }
}
