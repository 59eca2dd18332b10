//! Which network a message travels on.
//!
//! The lab has several networks between the same nodes (public, DRBD replication, one or
//! two heartbeat rings, storage, management), and a failure can cut one and not the
//! others. A machine says which network each of its messages uses with
//! [`crate::Machine::net`]; the drivers map these roles onto real or virtual links (the
//! harness partitions per pair of nodes *and* network).

use core::fmt;

use serde::{Deserialize, Serialize};

/// A network's role.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum Net {
    /// The service network clients use (and the default).
    #[default]
    Public,
    /// The DRBD replication link.
    Replication,
    /// A cluster-communication ring (Heartbeat media, Corosync ring): 0 or 1.
    Ring(u8),
    /// The storage network (datastores, SAN/NAS).
    Storage,
    /// The virtualization cluster's management network (vCenter/FDM, Nova, Masakari).
    Management,
}

impl fmt::Display for Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Net::Public => f.write_str("public"),
            Net::Replication => f.write_str("replication"),
            Net::Ring(r) => write!(f, "ring{r}"),
            Net::Storage => f.write_str("storage"),
            Net::Management => f.write_str("management"),
        }
    }
}
