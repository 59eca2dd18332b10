//! Heartbeat/Corosync-style failure detection and the fencing decision, for the guests
//! of a two-node cluster.
//!
//! Each guest runs a [`Membership`]: heartbeats every keepalive on one or two rings, the
//! peer declared dead after deadtime of silence on every ring (initdead at start), ipfail's
//! ping nodes to tell a dead peer from an own network loss, votequorum's two_node /
//! wait_for_all / quorum device, and STONITH with a random fence delay before take-over.
//! Its two instructions, [`MembershipNotice::TakeOver`] and [`MembershipNotice::GiveUp`],
//! are what the resource layer acts on. The pieces, one concept per module:
//!
//! * [`config`]: [`MembershipConfig`] with Heartbeat's and Pacemaker's defaults;
//! * [`quorum`]: [`QuorumConfig`] and votequorum's arithmetic;
//! * [`msg`], [`notice`]: what goes over the wire, what goes into traces;
//! * [`member`]: the [`Membership`] machine;
//! * [`ping`]: [`PingNode`], a router that answers pings;
//! * [`device`]: [`QuorumDevice`], the third vote (corosync-qnetd, ffsplit);
//! * [`node`]: [`MembershipNode`], any of the three, for one harness.
//!
//! `docs/architecture.md` (membership) has the state diagrams, the defaults with their
//! sources, and where the model deliberately differs from Heartbeat and Pacemaker.

pub mod config;
pub mod device;
pub mod member;
pub mod msg;
pub mod node;
pub mod notice;
pub mod ping;
pub mod quorum;

pub use config::{
    MAX_PING_NODES, MembershipConfig, MembershipConfigError, NoQuorumPolicy, default_initdead,
};
pub use device::{DeviceNotice, DeviceTimer, QuorumDevice};
pub use member::{
    IPFAIL_GRACE_KEEPALIVES, Membership, MembershipCommand, MembershipTimer, PeerState,
};
pub use msg::MembershipMsg;
pub use node::{MembershipNode, MembershipNodeNotice, MembershipNodeTimer};
pub use notice::MembershipNotice;
pub use ping::PingNode;
pub use quorum::QuorumConfig;
