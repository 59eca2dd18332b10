//! What can be wrong with a topology: errors while building it, and the rules
//! [`super::Topology::validate`] checks.

use thiserror::Error;

use super::ElementKind;
use crate::NodeId;

/// A malformed edit of the graph, refused at once (the graph is left unchanged).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Error)]
pub enum BuildError {
    /// Another element already has this name; names identify elements in errors,
    /// traces and DOT output.
    #[error("name `{name}` is already used by element {existing}")]
    DuplicateName {
        /// The name.
        name: String,
        /// The element that has it.
        existing: NodeId,
    },
    /// Every [`NodeId`] (a `u16`) is taken.
    #[error("too many elements: {count} (node ids are 16 bits)")]
    TooManyElements {
        /// How many elements the topology has.
        count: usize,
    },
    /// No element has this id.
    #[error("no element with id {id}")]
    UnknownElement {
        /// The id.
        id: NodeId,
    },
    /// No element has this name.
    #[error("no element named `{name}`")]
    UnknownName {
        /// The name.
        name: String,
    },
    /// The relation does not go between elements of these kinds.
    #[error("relation {relation} cannot go from {from_kind} `{from}` to {to_kind} `{to}`")]
    WrongEndpoints {
        /// The relation's label.
        relation: &'static str,
        /// The source element's name.
        from: String,
        /// Its kind.
        from_kind: ElementKind,
        /// The target element's name.
        to: String,
        /// Its kind.
        to_kind: ElementKind,
    },
    /// A builder needed the topology's DRBD pair and there is none.
    #[error("the topology has no drbd pair")]
    NoDrbdPair,
    /// A builder needed a host that carries no DRBD peer (for a witness) and the lab
    /// has none.
    #[error("no host outside the failure domains of the DRBD peers")]
    NoFreeHost,
}

/// A rule of [`super::Topology::validate`] that the topology breaks. Every variant names
/// the elements involved, by name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Error)]
pub enum TopologyError {
    /// A VM runs on no host: nothing can run it, nothing can fail under it.
    #[error("vm `{vm}` is not placed on any host")]
    VmNotPlaced {
        /// The VM.
        vm: String,
    },
    /// A VM runs on several hosts at once.
    #[error("vm `{vm}` runs on several hosts: {hosts:?}")]
    VmOnSeveralHosts {
        /// The VM.
        vm: String,
        /// The hosts.
        hosts: Vec<String>,
    },
    /// A VM has no disk on a datastore (local or shared): it has no system disk.
    #[error("vm `{vm}` has no disk on a local or shared datastore")]
    VmWithoutDatastore {
        /// The VM.
        vm: String,
    },
    /// A VM's datastore is not mounted on the host it runs on.
    #[error("vm `{vm}` has a disk on `{storage}`, which its host `{host}` does not mount")]
    DatastoreNotMounted {
        /// The VM.
        vm: String,
        /// The datastore.
        storage: String,
        /// The VM's host.
        host: String,
    },
    /// Local storage must be on exactly one host.
    #[error("local storage `{storage}` is located on {hosts:?}, not on exactly one host")]
    LocalStorageNotOnOneHost {
        /// The storage.
        storage: String,
        /// The hosts it is located on.
        hosts: Vec<String>,
    },
    /// Local storage is mounted by a host other than the one it is on.
    #[error("local storage `{storage}` is mounted by `{host}`, which it is not located on")]
    LocalStorageMountedElsewhere {
        /// The storage.
        storage: String,
        /// The host that mounts it.
        host: String,
    },
    /// A host is a member of several clusters (vCenter and Masakari allow one).
    #[error("host `{host}` is a member of several clusters: {clusters:?}")]
    HostInSeveralClusters {
        /// The host.
        host: String,
        /// The clusters.
        clusters: Vec<String>,
    },
    /// A nested host runs on several hosts at once.
    #[error("host `{host}` is nested on several hosts: {hosts:?}")]
    NestedOnSeveralHosts {
        /// The nested host.
        host: String,
        /// The hosts under it.
        hosts: Vec<String>,
    },
    /// Following `nested-on` from this host comes back to it.
    #[error("host `{host}` is nested on itself (a cycle of nested-on)")]
    NestingCycle {
        /// A host on the cycle (the lowest id).
        host: String,
    },
    /// A replicated resource must have exactly two diskful VMs (the study's DRBD 8
    /// pair).
    #[error("replicated storage `{storage}` has {vms:?} as peers, not exactly two")]
    ReplicatedStorageNotAPair {
        /// The resource.
        storage: String,
        /// The VMs with a disk on it.
        vms: Vec<String>,
    },
    /// Both DRBD peers run on the same physical host: one host failure takes both
    /// copies of the data.
    #[error("drbd peers `{a}` and `{b}` both run on physical host `{host}`")]
    DrbdPeersOnSameHost {
        /// One peer.
        a: String,
        /// The other.
        b: String,
        /// The physical host under both.
        host: String,
    },
    /// The pair's resource replicates over no replication network that both peers
    /// reach.
    #[error("drbd peers `{a}` and `{b}` share no replication network for resource `{storage}`")]
    NoReplicationNetwork {
        /// The resource.
        storage: String,
        /// One peer.
        a: String,
        /// The other.
        b: String,
    },
    /// The pair has no Heartbeat ring both reach: neither can see the other, and each
    /// would take the service over (split brain) at start.
    #[error("drbd peers `{a}` and `{b}` share no heartbeat ring")]
    NoHeartbeatRing {
        /// One peer.
        a: String,
        /// The other.
        b: String,
    },
    /// A ring one peer sends heartbeats on does not reach the other peer.
    #[error("heartbeat ring `{ring}` used by `{from}` does not connect peer `{peer}`")]
    RingDoesNotConnectPeers {
        /// The ring network.
        ring: String,
        /// The peer that uses it.
        from: String,
        /// The peer it does not reach (not attached, or does not send on it).
        peer: String,
    },
    /// Heartbeat sends on a network that is not a ring (its role is not `Ring(n)`), so
    /// drivers could not tell which ring a partition cuts.
    #[error("vm `{vm}` sends heartbeats on `{network}`, which is not a ring network")]
    HeartbeatOnNonRing {
        /// The VM.
        vm: String,
        /// The network.
        network: String,
    },
    /// A VM with a restart policy has its disks only on local storage: when its host
    /// fails, the disk is gone with it, so no other host can restart it.
    #[error("vm `{vm}` is protected by cluster restart but its disk is only on local `{storage}`")]
    RestartOnLocalStorage {
        /// The VM.
        vm: String,
        /// A local storage it uses.
        storage: String,
    },
    /// A VM is protected by a cluster its host is not a member of.
    #[error("vm `{vm}` is protected by cluster `{cluster}`, which its host is not a member of")]
    RestartOutsideCluster {
        /// The VM.
        vm: String,
        /// The cluster.
        cluster: String,
    },
    /// Restart needs a second host in the cluster.
    #[error("cluster `{cluster}` protects vm `{vm}` but has {hosts} host(s); restart needs two")]
    ClusterTooSmallForRestart {
        /// The cluster.
        cluster: String,
        /// The protected VM.
        vm: String,
        /// How many hosts the cluster has.
        hosts: usize,
    },
    /// No other host of the cluster mounts all the VM's datastores.
    #[error("no other host of cluster `{cluster}` mounts the datastores of vm `{vm}`")]
    NoRestartTarget {
        /// The VM.
        vm: String,
        /// The cluster.
        cluster: String,
    },
    /// A witness placed on no host.
    #[error("witness `{witness}` is not placed on any host")]
    WitnessNotPlaced {
        /// The witness.
        witness: String,
    },
    /// The witness shares a physical host with a DRBD peer: the host's failure takes a
    /// peer and the tie-breaker together, and the survivor has no majority.
    #[error("witness `{witness}` runs on physical host `{host}`, under drbd peer `{peer}`")]
    WitnessOnPeerHost {
        /// The witness.
        witness: String,
        /// The peer.
        peer: String,
        /// The shared physical host.
        host: String,
    },
    /// The witness reaches no replication network a peer reaches.
    #[error("witness `{witness}` shares no replication network with drbd peer `{peer}`")]
    WitnessCannotReachPeer {
        /// The witness.
        witness: String,
        /// The peer.
        peer: String,
    },
    /// A DRBD peer does not reach a ping node's network: ipfail would count the ping
    /// node as lost on that side for ever.
    #[error("drbd peer `{vm}` does not reach ping node `{ping}`")]
    PingNodeUnreachable {
        /// The ping node.
        ping: String,
        /// The peer.
        vm: String,
    },
    /// A service configured in no VM.
    #[error("service `{service}` runs in no vm")]
    ServiceNotPlaced {
        /// The service.
        service: String,
    },
    /// A service needs exactly one preferred VM (the node named in `haresources`).
    #[error("service `{service}` has {count} preferred vms, not one")]
    ServicePreferredCount {
        /// The service.
        service: String,
        /// How many `runs-in` edges say preferred.
        count: usize,
    },
}
