//! The layers joined: the harness' process events fed to `model::world::LayerCoupling`,
//! what a guest's VM stopping or booting does to the guest, STONITH through the
//! hypervisor, and the event loop that runs the world's own timed actions at their time.

use model::cluster::ClusterCommand;
use model::guest::{Guest, GuestCommand};
use model::world::{GuestChange, VmEvent};
use model::{Net, NodeId};
use rand::Rng;

use super::{FS, GUEST_A, GUEST_B, IP, SERVICE, World, secs, synced_meta, vm_of};
use crate::node::{SimCommand, SimNode};
use crate::scenario::Architecture;

impl World {
    /// Couples the layers after the harness or the world changed processes: every VM
    /// that started or stopped running since the last call is taken by the
    /// [`LayerCoupling`], whose guest changes happen now (a guest's own processes
    /// dying with it are changes too, and are drained in the same call).
    pub fn couple(&mut self) {
        loop {
            for g in self.lab.take_fenced() {
                self.fenced(g);
            }
            let changes = self.lab.take_process_changes();
            if changes.is_empty() {
                break;
            }
            for c in changes {
                if self.guests.contains_key(&c.node) {
                    continue;
                }
                let event = if c.running {
                    VmEvent::Running {
                        host: c.node,
                        vm: c.process,
                    }
                } else {
                    VmEvent::Stopped {
                        host: c.node,
                        vm: c.process,
                    }
                };
                if c.running
                    && let Some(g) = model::world::ids::guest_of_vm(c.process)
                    && let Some(old) = self.coupling.host_of(g)
                    && old != c.node
                    && !self.lab.is_paused(old)
                    && !self.lock_lost.contains(&(old, c.process))
                {
                    // A second instance while the first runs on: neither frozen with
                    // its hung host nor powering off for its lost disk lock. (Both of
                    // those are VMware's VM split brain, where only the new instance
                    // can reach the disks; the old guest ends here, as the new boots.)
                    self.vm_split_brains.push((self.lab.now(), g));
                }
                if !c.running {
                    self.lock_lost.remove(&(c.node, c.process));
                }
                for change in self.coupling.handle(event) {
                    match change {
                        GuestChange::Boot { guest, host } if self.fence_holds(guest) => {
                            // A restart the cluster layer began before the fence: the
                            // fence's power-off (a vCenter or Nova task on the VM, not
                            // on one host) applies as the power-on finishes.
                            self.lab.command(
                                host,
                                SimCommand::Cluster(ClusterCommand::PowerOff(vm_of(guest))),
                            );
                        }
                        GuestChange::Down { guest, .. } => {
                            self.layer_log.push((self.lab.now(), change));
                            self.guest_down(guest);
                        }
                        GuestChange::Boot { guest, host } => {
                            self.layer_log.push((self.lab.now(), change));
                            self.guest_boot(guest, host);
                        }
                    }
                }
            }
        }
        if self.hold_rings && self.replicas_connected() {
            self.hold_rings = false;
            for r in 0..2 {
                self.lab
                    .net
                    .set_net_up(GUEST_A, GUEST_B, Net::Ring(r), true);
            }
        }
    }

    /// When the world itself must act next (a hang ends, a scripted VM boot finishes,
    /// a `fence-peer` helper returns, the watchdog checks or finishes a restart).
    pub(super) fn next_due(&self) -> Option<model::Time> {
        let resumes = self.resumes.iter().map(|(t, _)| *t);
        let boots = self.scripted_boots.iter().map(|(t, _, _)| *t);
        let restarts = self.restarts.iter().map(|(t, _)| *t);
        resumes
            .chain(boots)
            .chain(restarts)
            .chain(self.fence_peer_due())
            .chain(self.watchdog_next)
            .min()
    }

    /// Runs the lab to `until`, event by event: after each event the layers are
    /// coupled, the machines' records are taken in ([`World::observe`]) and `after` is
    /// asked with whether they changed what the properties read (the oracle); the
    /// world's own actions happen at their time. Stops early, returning true, when
    /// `after` says so; else the clock ends at `until`.
    pub fn run_until(
        &mut self,
        until: model::Time,
        mut after: impl FnMut(&mut World, bool) -> bool,
    ) -> bool {
        loop {
            // Asked again after every event: an event may start a helper that is due
            // before the next step's limit.
            let own = self.next_due().filter(|t| *t <= until);
            let limit = own.unwrap_or(until);
            if self.lab.step_until(limit) {
                self.couple();
                let changed = self.observe();
                if after(self, changed) {
                    return true;
                }
                continue;
            }
            self.lab.run_until(limit);
            if own.is_none() {
                return false;
            }
            self.run_scripted();
            self.run_watchdog();
            self.couple();
            let _ = self.observe();
            if after(self, true) {
                return true;
            }
        }
    }

    /// STONITH powered guest `g` off (it is down already): the fence agent did it
    /// through the hypervisor (`fence_vmware_soap`, `fence_openstack`), which powers the
    /// VM off, so the cluster layer forgets it and never restarts it. Also the
    /// `stonith_admin-fence-peer` helper's way.
    pub(super) fn fenced(&mut self, g: NodeId) {
        if !self.guests.contains_key(&g) {
            return;
        }
        self.fenced_guests.push((self.lab.now(), g));
        if let Some(host) = self.coupling.host_of(g)
            && self.lab.is_up(host)
        {
            self.lab.command(
                host,
                SimCommand::Cluster(ClusterCommand::PowerOff(vm_of(g))),
            );
        }
    }

    /// A guest's VM stopped (its host died, or the cluster layer powered it off).
    pub(super) fn guest_down(&mut self, g: NodeId) {
        if self.lab.is_up(g) {
            let mounted = self.lab.processes(g).get(FS).is_some_and(|p| p.running);
            let service = self
                .lab
                .processes(g)
                .get(SERVICE)
                .is_some_and(|p| p.running);
            let mut s = self.shared.borrow_mut();
            s.fs_dirty |= mounted;
            s.service_crashed |= service;
            drop(s);
            self.lab.crash(g);
        }
    }

    /// A guest's VM booted on `host`: the guest comes up from its replica's metadata.
    pub(super) fn guest_boot(&mut self, g: NodeId, host: NodeId) {
        let Some(cfg) = self.guests.get(&g).cloned() else {
            return;
        };
        self.boots.push((self.lab.now(), g, host));
        match self.cell.architecture {
            Architecture::SingleNode => {
                self.lab.restart(g, SimNode::Unmanaged);
                // No HA software: the services are started by the guest's init scripts.
                for p in [FS, IP, SERVICE] {
                    if let Some(x) = self.lab.processes_mut(g).get_mut(p) {
                        x.running = true;
                    }
                }
            }
            _ => {
                let meta = self
                    .lab
                    .persisted(g)
                    .cloned()
                    .or_else(|| Some(synced_meta()));
                match Guest::restart(cfg, meta) {
                    Ok(guest) => self.lab.restart(g, SimNode::Guest(Box::new(guest))),
                    Err(e) => panic!("the profile makes an invalid guest: {e}"),
                }
                let max = self.profile.heartbeat.keepalive;
                let fence_delay = secs(self.fence_rng.random_range(0.0..=max));
                self.lab
                    .command(g, SimCommand::Guest(GuestCommand::Boot { fence_delay }));
            }
        }
    }

    /// Powers `host` off, and the guests on it with it.
    pub fn power_off_host(&mut self, host: NodeId) {
        if self.lab.is_up(host) {
            self.lab.crash(host);
        }
        self.couple();
    }
}
