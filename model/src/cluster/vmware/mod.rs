//! VMware-style cluster HA: vSphere HA's Fault Domain Manager (FDM), 5.x-6.x.
//!
//! * [`config`]: the cluster's HA settings with vSphere's defaults;
//! * [`msg`]: network heartbeats, elections, datastore reads and writes, locks;
//! * [`agent`]: the per-host [`FdmAgent`], master or slave;
//! * [`datastore`]: a shared [`Datastore`] (heartbeat regions, poweron files, protected
//!   list, VM locks);
//! * [`gateway`]: the [`IsolationAddress`] a host pings to tell isolation from a
//!   partition;
//! * [`node`]: [`VmwareNode`], any of them, for drivers that run a whole cluster.
//!
//! src: DD (vSphere HA / FDM 5.x-6.x).

pub mod agent;
pub mod config;
pub mod datastore;
pub mod gateway;
pub mod msg;
pub mod node;

pub use agent::{AgentRole, FdmAgent, FdmTimer, HostStatus};
pub use config::{FdmTimers, VmwareConfig, VmwareConfigError};
pub use datastore::{Datastore, DatastoreTimer};
pub use gateway::IsolationAddress;
pub use msg::{PowerOnFile, VmwareMsg};
pub use node::{VmwareNode, VmwareTimer};
