//! The simulator's timing model: every duration the harness asks for is drawn from the
//! profile's distributions, from seeded streams.

use std::cell::RefCell;
use std::rc::Rc;

use core::time::Duration;

use model::testing::Timing;
use model::{DiskOp, Net, NodeId, OcfAction, ProcessId};
use rand_chacha::ChaCha8Rng;

use crate::dist::Dist;
use crate::profile::{PlatformProfile, Profile, ServiceProfile};
use crate::rng::stream;
use crate::scenario::Cell;
use crate::world::{FS, IP, SERVICE};

/// What the world tells the timing model about the state of the lab.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SharedState {
    /// The file system was mounted on a guest that crashed: the next mount replays the
    /// journal.
    pub fs_dirty: bool,
    /// The service was running on a guest that crashed: the next start recovers.
    pub service_crashed: bool,
    /// The platform's control plane is failing over (it lived in a failed cluster): the
    /// next address takeover also waits this long, drawn when the fault happened.
    pub control_plane_delay: Option<Duration>,
}

/// Draws durations for one trial.
#[derive(Debug)]
pub struct SimTiming {
    network: Dist,
    disk: Dist,
    fs: (Dist, Dist, Dist),
    service: ServiceProfile,
    platform: PlatformProfile,
    shared: Rc<RefCell<SharedState>>,
    net_rng: ChaCha8Rng,
    disk_rng: ChaCha8Rng,
    process_rng: ChaCha8Rng,
}

impl SimTiming {
    /// The timing of `cell` under `profile`, seeded with `seed`.
    pub fn new(
        profile: &Profile,
        cell: Cell,
        seed: u64,
        shared: Rc<RefCell<SharedState>>,
    ) -> SimTiming {
        SimTiming {
            network: profile.network.latency,
            disk: profile.drbd.disk_latency,
            fs: (
                profile.filesystem.mount,
                profile.filesystem.mount_after_crash,
                profile.filesystem.umount,
            ),
            service: profile.services[&cell.service].clone(),
            platform: profile.platforms[&cell.platform].clone(),
            shared,
            net_rng: stream(seed, "network"),
            disk_rng: stream(seed, "disk"),
            process_rng: stream(seed, "process"),
        }
    }
}

impl Timing for SimTiming {
    fn message(&mut self, _from: NodeId, _to: NodeId, _net: Net, base: Duration) -> Duration {
        base + self.network.sample(&mut self.net_rng)
    }

    fn disk(&mut self, _node: NodeId, _op: &DiskOp, base: Duration) -> Duration {
        base + self.disk.sample(&mut self.disk_rng)
    }

    fn process(
        &mut self,
        _node: NodeId,
        process: ProcessId,
        action: OcfAction,
        base: Duration,
    ) -> Duration {
        let rng = &mut self.process_rng;
        let mut shared = self.shared.borrow_mut();
        match (process, action) {
            (FS, OcfAction::Start) => {
                let dirty = core::mem::take(&mut shared.fs_dirty);
                if dirty {
                    self.fs.1.sample(rng)
                } else {
                    self.fs.0.sample(rng)
                }
            }
            (FS, OcfAction::Stop) => self.fs.2.sample(rng),
            (IP, OcfAction::Start) => {
                let mut d = self.platform.address_start.sample(rng);
                if let Some(extra) = shared.control_plane_delay.take() {
                    d += extra;
                }
                d
            }
            (IP, OcfAction::Stop) => Duration::from_millis(500),
            (SERVICE, OcfAction::Start) => {
                if core::mem::take(&mut shared.service_crashed) {
                    self.service.start_after_crash.sample(rng)
                } else {
                    self.service.start.sample(rng)
                }
            }
            (SERVICE, OcfAction::Stop) => self.service.stop.sample(rng),
            (_, OcfAction::Monitor) => self.service.monitor.sample(rng),
            // A guest VM booting on a host.
            (p, OcfAction::Start) if p.0 >= 100 => self.platform.vm_boot.sample(rng),
            (p, OcfAction::Stop) if p.0 >= 100 => Duration::from_secs(2),
            _ => base,
        }
    }
}
