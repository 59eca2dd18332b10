//! OpenStack-style cluster HA: Nova's service heartbeats and evacuation, with Masakari
//! (host monitor + engine) driving the recovery.
//!
//! * [`config`]: the cluster and its timers, with Nova's and Masakari's defaults;
//! * [`msg`]: service reports, ring heartbeats, notifications, evacuation calls;
//! * [`compute`]: [`NovaCompute`] on each compute host;
//! * [`hostmonitor`]: [`HostMonitor`] on each compute host, over a Corosync-like ring;
//! * [`controller`]: the [`NovaController`] (service table, scheduler, evacuate);
//! * [`engine`]: the [`MasakariEngine`] (fence, disable, wait, evacuate);
//! * [`node`]: [`OpenStackNode`], any of them, for drivers that run a whole cluster.
//!
//! src: NOVA, MI, MS (Nova + Masakari); RH-IHA (Pacemaker instance HA).

pub mod compute;
pub mod config;
pub mod controller;
pub mod engine;
pub mod hostmonitor;
pub mod msg;
pub mod node;

pub use compute::{ComputeTimer, NovaCompute};
pub use config::{
    OpenStackConfig, OpenStackConfigError, OpenStackTimers, Placement, RecoveryMethod,
};
pub use controller::{ControllerTimer, NovaController, Service};
pub use engine::{EngineTimer, MasakariEngine, RecoveryPhase};
pub use hostmonitor::{HostMonitor, MonitorTimer};
pub use msg::{EvacuateOutcome, OpenStackMsg};
pub use node::{ComputeHost, OpenStackNode, OpenStackTimer};
