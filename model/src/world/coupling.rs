//! The coupling of the two layers as a pure machine: VM lifecycle events in, guest
//! changes out, at the same instant.
//!
//! A driver tells it when a VM process starts or stops running on a host (a boot that
//! finished, a power-off, a host that lost power and every VM on it); it answers which
//! guest goes down and which boots where. Nothing is polled: a guest goes down in the
//! very event its host dies, so a state that lasts less than any sampling interval (two
//! Primaries for a few milliseconds) is seen by whoever looks after every event.

use std::collections::{BTreeMap, BTreeSet};

use super::ids::guest_of_vm;
use crate::{NodeId, ProcessId};

/// What a driver saw happen to a VM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmEvent {
    /// The VM process now runs on `host` (its power-on finished).
    Running {
        /// The host.
        host: NodeId,
        /// The VM.
        vm: ProcessId,
    },
    /// The VM process stopped on `host` (powered off, or its host lost power).
    Stopped {
        /// The host.
        host: NodeId,
        /// The VM.
        vm: ProcessId,
    },
}

/// What must happen to a guest because of its VM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuestChange {
    /// The guest stops with its VM: everything in its memory is gone, its disk and
    /// persisted metadata stay.
    Down {
        /// The guest.
        guest: NodeId,
        /// The host its VM ran on.
        host: NodeId,
    },
    /// The guest boots on `host` from the metadata it last persisted.
    Boot {
        /// The guest.
        guest: NodeId,
        /// Where its VM runs now.
        host: NodeId,
    },
}

/// Which guest runs on which host, and the rule that keeps that true.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LayerCoupling {
    /// The guests this coupling knows; VMs of other guests are not its business.
    guests: BTreeSet<NodeId>,
    /// Guest -> the host its VM runs on.
    running_on: BTreeMap<NodeId, NodeId>,
    /// How many times a VM was seen running on a second host while it still ran on
    /// the first (a VM split brain, which the cluster layer's disk locks must prevent).
    duplicates: u64,
}

impl LayerCoupling {
    /// A coupling for `guests`, none of them running yet.
    pub fn new(guests: impl IntoIterator<Item = NodeId>) -> LayerCoupling {
        LayerCoupling {
            guests: guests.into_iter().collect(),
            ..LayerCoupling::default()
        }
    }

    /// Takes one VM event; returns what happens to the guests, in order.
    pub fn handle(&mut self, event: VmEvent) -> Vec<GuestChange> {
        let mut out = Vec::new();
        match event {
            VmEvent::Running { host, vm } => {
                let Some(guest) = self.guest(vm) else {
                    return out;
                };
                match self.running_on.get(&guest).copied() {
                    Some(h) if h == host => {}
                    Some(old) => {
                        // The newer instance wins: the old one's guest is gone (its
                        // memory is not the new one's), the new one boots from disk.
                        self.duplicates += 1;
                        out.push(GuestChange::Down { guest, host: old });
                        out.push(GuestChange::Boot { guest, host });
                        self.running_on.insert(guest, host);
                    }
                    None => {
                        out.push(GuestChange::Boot { guest, host });
                        self.running_on.insert(guest, host);
                    }
                }
            }
            VmEvent::Stopped { host, vm } => {
                let Some(guest) = self.guest(vm) else {
                    return out;
                };
                if self.running_on.get(&guest) == Some(&host) {
                    self.running_on.remove(&guest);
                    out.push(GuestChange::Down { guest, host });
                }
            }
        }
        out
    }

    /// The VM's reset button: a guest that crashed inside a VM that still runs boots
    /// again on the same host. `None` if its VM does not run.
    pub fn reset(&self, guest: NodeId) -> Option<GuestChange> {
        self.running_on
            .get(&guest)
            .map(|&host| GuestChange::Boot { guest, host })
    }

    /// The host `guest`'s VM runs on.
    pub fn host_of(&self, guest: NodeId) -> Option<NodeId> {
        self.running_on.get(&guest).copied()
    }

    /// The guests whose VMs run on `host`.
    pub fn guests_on(&self, host: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        self.running_on
            .iter()
            .filter(move |(_, h)| **h == host)
            .map(|(g, _)| *g)
    }

    /// VM split brains seen (see the field).
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    fn guest(&self, vm: ProcessId) -> Option<NodeId> {
        guest_of_vm(vm).filter(|g| self.guests.contains(g))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::ids::{GUEST_A, GUEST_B, vm_of};

    const H1: NodeId = NodeId(10);
    const H2: NodeId = NodeId(11);

    fn running(host: NodeId, g: NodeId) -> VmEvent {
        VmEvent::Running { host, vm: vm_of(g) }
    }

    fn stopped(host: NodeId, g: NodeId) -> VmEvent {
        VmEvent::Stopped { host, vm: vm_of(g) }
    }

    #[test]
    fn a_host_failure_takes_its_guest_down_and_a_restart_boots_it_elsewhere() {
        let mut c = LayerCoupling::new([GUEST_A, GUEST_B]);
        assert_eq!(
            c.handle(running(H1, GUEST_A)),
            [GuestChange::Boot {
                guest: GUEST_A,
                host: H1
            }]
        );
        assert_eq!(c.handle(running(H1, GUEST_A)), [], "already there");
        assert_eq!(c.handle(stopped(H2, GUEST_A)), [], "not where it runs");
        assert_eq!(
            c.handle(stopped(H1, GUEST_A)),
            [GuestChange::Down {
                guest: GUEST_A,
                host: H1
            }]
        );
        assert_eq!(c.reset(GUEST_A), None, "no VM, no reset");
        assert_eq!(
            c.handle(running(H2, GUEST_A)),
            [GuestChange::Boot {
                guest: GUEST_A,
                host: H2
            }]
        );
        assert_eq!(c.guests_on(H2).collect::<Vec<_>>(), [GUEST_A]);
        assert_eq!(c.duplicates(), 0);
    }

    #[test]
    fn a_second_instance_replaces_the_first_and_is_counted() {
        let mut c = LayerCoupling::new([GUEST_A]);
        c.handle(running(H1, GUEST_A));
        assert_eq!(
            c.handle(running(H2, GUEST_A)),
            [
                GuestChange::Down {
                    guest: GUEST_A,
                    host: H1
                },
                GuestChange::Boot {
                    guest: GUEST_A,
                    host: H2
                }
            ]
        );
        assert_eq!(c.duplicates(), 1);
        assert_eq!(c.host_of(GUEST_A), Some(H2));
    }

    #[test]
    fn vms_of_unknown_guests_and_other_processes_are_ignored() {
        let mut c = LayerCoupling::new([GUEST_A]);
        assert_eq!(c.handle(running(H1, GUEST_B)), []);
        assert_eq!(
            c.handle(VmEvent::Running {
                host: H1,
                vm: crate::world::ids::group::SERVICE
            }),
            []
        );
    }
}
