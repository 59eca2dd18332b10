//! The replica's state vocabulary: roles, disk states, connection states, protocols.
//!
//! Names and order follow DRBD 8.4 (src: Linux `include/linux/drbd.h`, UG84), so that an
//! operator reading a trace sees what `drbdadm status` would show.

use core::fmt;

use serde::{Deserialize, Serialize};

/// A replica's own role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Passive: receives replicated writes, refuses application I/O.
    Secondary,
    /// Active: accepts application I/O and replicates it.
    Primary,
}

/// What a replica knows of its peer's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PeerRole {
    /// Not connected: the peer's role is not known.
    Unknown,
    /// The peer is Secondary.
    Secondary,
    /// The peer is Primary.
    Primary,
}

impl From<Role> for PeerRole {
    fn from(role: Role) -> PeerRole {
        match role {
            Role::Primary => PeerRole::Primary,
            Role::Secondary => PeerRole::Secondary,
        }
    }
}

/// Disk states, ordered from worst to best as DRBD compares them (`D_DISKLESS` <
/// `D_ATTACHING` < ... < `D_UP_TO_DATE`; src: `drbd.h` `enum drbd_disk_state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum DiskState {
    /// No local disk (detached, or a diskless witness).
    Diskless,
    /// Reading the metadata while attaching.
    Attaching,
    /// The disk reported an I/O error; detaching.
    Failed,
    /// Partly synchronised: must not be read from, a sync target.
    Inconsistent,
    /// Consistent but known to lack the peer's latest writes; must not be promoted.
    Outdated,
    /// The peer's disk while disconnected.
    DUnknown,
    /// Consistent, but whether it is the newest is not known (after a restart while
    /// disconnected with fencing on).
    Consistent,
    /// Consistent and known to be the newest.
    UpToDate,
}

/// Connection states of DRBD 8.4 that matter for failover (src: `drbd.h`
/// `enum drbd_conns`). `WFReportParams` and `StartingSyncS/T` are folded into the
/// handshake, `WFSyncUUID` into `WFBitMapT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ConnState {
    /// Not trying to connect (after `disconnect`, unresolved split brain or refused data).
    StandAlone,
    /// Trying to connect (`WFConnection`).
    Connecting,
    /// Connected and in sync (or both Inconsistent).
    Connected,
    /// The handshake made this node sync source; it waits for the target to agree
    /// before it touches its bitmap or identifiers (DRBD's `WFBitMapS`).
    WFBitMapS,
    /// The handshake made this node sync target; it waits for the source's sync UUID
    /// (DRBD's `WFBitMapT` and `WFSyncUUID`).
    WFBitMapT,
    /// Connected; this node sends dirty blocks.
    SyncSource,
    /// Connected; this node receives dirty blocks.
    SyncTarget,
    /// A resync with this node as source, paused.
    PausedSyncS,
    /// A resync with this node as target, paused.
    PausedSyncT,
}

impl ConnState {
    /// True while a replication connection exists (`conn >= C_CONNECTED`).
    pub fn is_connected(self) -> bool {
        self >= ConnState::Connected
    }

    /// True while this node is the source of a running or paused resync.
    pub fn is_sync_source(self) -> bool {
        matches!(self, ConnState::SyncSource | ConnState::PausedSyncS)
    }

    /// True while this node is the target of a running or paused resync.
    pub fn is_sync_target(self) -> bool {
        matches!(self, ConnState::SyncTarget | ConnState::PausedSyncT)
    }
}

/// The replication protocol: when a write is acknowledged to the application.
///
/// src: UG84 "Replication modes", drbdsetup `protocol` (OPT). The default is C.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum Protocol {
    /// Asynchronous: local write done and the data handed to the network.
    A,
    /// Memory-synchronous: local write done and the peer has received the data.
    B,
    /// Synchronous (DRBD's default): local write done and the peer's disk write done.
    #[default]
    C,
}

macro_rules! display_as_debug {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self, f)
            }
        }
    )*};
}
display_as_debug!(Role, PeerRole, DiskState, ConnState, Protocol);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_states_compare_like_drbd() {
        assert!(DiskState::Inconsistent < DiskState::Outdated);
        assert!(DiskState::Outdated < DiskState::DUnknown);
        assert!(DiskState::DUnknown < DiskState::Consistent);
        assert!(DiskState::Consistent < DiskState::UpToDate);
        assert!(ConnState::SyncTarget.is_connected());
        assert!(!ConnState::Connecting.is_connected());
    }
}
