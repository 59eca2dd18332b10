//! The world around the guests: the lab's named identifiers, its layout (built from a
//! [`crate::topology::Topology`], the one description of the lab), and the coupling of
//! the two layers.
//!
//! The guests' own failover (replica, membership, resource manager) and the
//! virtualization cluster's VM restart act on the same guests. What joins them is not a
//! protocol but physics: a VM that stops takes its guest with it, and a VM that the
//! cluster layer boots on some host brings its guest up there from the metadata the
//! guest last persisted. [`LayerCoupling`] is that rule as a pure machine, fed the VM
//! lifecycle events a driver observes and answering with what must happen to the
//! guests, at the same instant; the simulator drives it from its harness's process
//! events, the lab's host agents will drive it from real VM processes.

mod coupling;
pub mod ids;
mod layout;

pub use coupling::{GuestChange, LayerCoupling, VmEvent};
pub use layout::{ClusterLayout, LabLayout, LayoutError};
