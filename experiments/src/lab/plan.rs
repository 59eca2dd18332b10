//! What a lab is made of, derived from a `model::topology::Topology`: one network
//! namespace per host, guest VM, witness or ping node, one for the client, and one
//! "switch" namespace that holds a bridge per network; a veth pair joins each element
//! to each network it is attached to. Addresses live only inside the lab's namespaces
//! (10.77.N.H/24: N the network's index, H the element's), so nothing on the machine's
//! own networks changes.
//!
//! The plan is pure (no I/O): `netns` carries it out with iproute2, and tests check it
//! without root.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use model::topology::{ElementKind, Topology};
use model::{Net, NodeId};
use serde::{Deserialize, Serialize};

/// The first two octets of every lab address.
pub const SUBNET_PREFIX: &str = "10.77";
/// Linux limits interface names to 15 bytes.
const IFNAME_MAX: usize = 15;
/// Namespace names are files under /run/netns; keep them readable.
const NAME_MAX: usize = 40;

/// One network of the lab: a bridge in the switch namespace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabNetwork {
    /// Its name in the topology (`public`, `drbd`, `hb0`, ...).
    pub name: String,
    /// Its role.
    pub role: Net,
    /// The bridge's name in the switch namespace.
    pub bridge: String,
    /// Its /24 (`10.77.N.0/24`).
    pub subnet: String,
}

/// One element of the lab with its own namespace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabMember {
    /// Its name in the topology (`node1`, `x3650-1`, ...), or `client`.
    pub name: String,
    /// What it is: `host`, `vm`, `witness`, `ping-node`, `client`.
    pub kind: String,
    /// Its network namespace.
    pub netns: String,
    /// Its interfaces: one per network it is attached to.
    pub links: Vec<LabLink>,
}

/// One veth pair: `inner` in the member's namespace, `outer` on the network's bridge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabLink {
    /// The network's index in [`LabPlan::networks`].
    pub network: usize,
    /// The interface in the member's namespace (named after the network).
    pub inner: String,
    /// The interface in the switch namespace.
    pub outer: String,
    /// The member's address, with its prefix length.
    pub address: String,
}

/// A whole lab.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabPlan {
    /// The lab's name: every namespace's name starts with it and a dash.
    pub name: String,
    /// The switch namespace (the bridges).
    pub switch: String,
    /// The networks.
    pub networks: Vec<LabNetwork>,
    /// Hosts, VMs, witness, ping node, client.
    pub members: Vec<LabMember>,
}

impl LabPlan {
    /// The plan of `topology` under the name `name` (letters, digits and dashes, up to
    /// 16 characters, so that every namespace name stays short).
    pub fn from_topology(name: &str, topology: &Topology) -> Result<LabPlan> {
        check_name(name)?;
        let mut networks = Vec::new();
        let mut index: BTreeMap<NodeId, usize> = BTreeMap::new();
        for n in topology.of_kind(ElementKind::Network) {
            let (Some(role), Some(net_name)) = (topology.net_role(n), topology.name_of(n)) else {
                continue;
            };
            let i = networks.len();
            if i > 250 {
                bail!("the topology has more than 250 networks");
            }
            index.insert(n, i);
            networks.push(LabNetwork {
                name: net_name.to_string(),
                role,
                bridge: format!("br{i}"),
                subnet: format!("{SUBNET_PREFIX}.{i}.0/24"),
            });
        }
        let public = networks
            .iter()
            .position(|n| n.role == Net::Public)
            .ok_or_else(|| anyhow::anyhow!("the topology has no public network"))?;

        let mut elements: Vec<(NodeId, &'static str)> = Vec::new();
        for (kind, label) in [
            (ElementKind::Host, "host"),
            (ElementKind::Vm, "vm"),
            (ElementKind::Witness, "witness"),
            (ElementKind::PingNode, "ping-node"),
        ] {
            elements.extend(topology.of_kind(kind).into_iter().map(|e| (e, label)));
        }
        if elements.len() > 250 {
            bail!(
                "the topology has {} elements; a lab holds at most 250",
                elements.len()
            );
        }
        let mut members = Vec::new();
        for (j, (e, kind)) in elements.into_iter().enumerate() {
            let name = topology.name_of(e).unwrap_or("?").to_string();
            let attached: Vec<usize> = topology
                .targets(e, model::topology::Relation::AttachedTo)
                .iter()
                .filter_map(|n| index.get(n).copied())
                .collect();
            members.push(member(name_for(name, j), kind, j, &attached, &networks));
        }
        let client = members.len();
        members.push(member(
            "client".into(),
            "client",
            client,
            &[public],
            &networks,
        ));
        for m in &mut members {
            m.netns = netns_name(name, &m.name);
        }
        let mut seen = std::collections::BTreeSet::new();
        for m in &members {
            if !seen.insert(m.netns.clone()) {
                bail!("two elements would share the namespace {}", m.netns);
            }
        }
        Ok(LabPlan {
            name: name.to_string(),
            switch: netns_name(name, "switch"),
            networks,
            members,
        })
    }

    /// The member called `name`.
    pub fn member(&self, name: &str) -> Option<&LabMember> {
        self.members.iter().find(|m| m.name == name)
    }

    /// `member`'s address on the network of role `role`, without the prefix length.
    pub fn address(&self, member: &str, role: Net) -> Option<String> {
        let m = self.member(member)?;
        let net = self.networks.iter().position(|n| n.role == role)?;
        m.links
            .iter()
            .find(|l| l.network == net)
            .and_then(|l| l.address.split('/').next())
            .map(str::to_string)
    }

    /// Every namespace of the lab, the switch first.
    pub fn namespaces(&self) -> Vec<String> {
        let mut out = vec![self.switch.clone()];
        out.extend(self.members.iter().map(|m| m.netns.clone()));
        out
    }
}

fn member(
    name: String,
    kind: &str,
    j: usize,
    attached: &[usize],
    networks: &[LabNetwork],
) -> LabMember {
    let links = attached
        .iter()
        .map(|&i| LabLink {
            network: i,
            inner: ifname(&networks[i].name),
            outer: format!("m{j}n{i}"),
            address: format!("{SUBNET_PREFIX}.{i}.{}/24", j + 1),
        })
        .collect();
    LabMember {
        name,
        kind: kind.to_string(),
        netns: String::new(),
        links,
    }
}

/// A member's name, made safe for a namespace name; `j` keeps odd names apart.
fn name_for(name: String, j: usize) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .take(NAME_MAX)
        .collect();
    if clean.is_empty() || clean == "switch" || clean == "client" {
        format!("e{j}")
    } else {
        clean
    }
}

/// The interface for a network inside a member's namespace.
fn ifname(network: &str) -> String {
    let clean: String = network
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(IFNAME_MAX)
        .collect();
    if clean.is_empty() {
        "net".into()
    } else {
        clean
    }
}

fn netns_name(lab: &str, member: &str) -> String {
    format!("{lab}-{member}")
}

/// A lab name: 1 to 16 of `[a-z0-9-]`, starting with a letter.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 16
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !ok {
        bail!(
            "lab name '{name}': use 1 to 16 lowercase letters, digits and dashes, starting \
             with a letter"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::topology::{Architecture, Platform, ServiceKind};

    fn plan(a: Architecture) -> LabPlan {
        let t = Topology::build(a, Platform::Vmware, ServiceKind::Apache);
        match LabPlan::from_topology("dh", &t) {
            Ok(p) => p,
            Err(e) => panic!("{e:#}"),
        }
    }

    #[test]
    fn the_pair_gets_its_networks_and_addresses_inside_the_lab() {
        let p = plan(Architecture::DrbdHeartbeat);
        let names: Vec<&str> = p.networks.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["public", "drbd", "hb0", "hb1", "management"]);
        let a = p.member("node1").expect("node1");
        assert_eq!(a.netns, "dh-node1");
        assert_eq!(a.kind, "vm");
        let on: Vec<&str> = a.links.iter().map(|l| l.inner.as_str()).collect();
        assert_eq!(on, ["public", "drbd", "hb0", "hb1"]);
        let a_drbd = p.address("node1", Net::Replication).expect("address");
        let b_drbd = p.address("node2", Net::Replication).expect("address");
        assert!(a_drbd.starts_with("10.77.1.") && b_drbd.starts_with("10.77.1."));
        assert_ne!(a_drbd, b_drbd);
        let client = p.member("client").expect("client");
        assert_eq!(client.links.len(), 1);
        assert_eq!(client.links[0].inner, "public");
        // Hosts reach the management network, guests do not.
        assert!(p.address("x3650-1", Net::Management).is_some());
        assert!(p.address("node1", Net::Management).is_none());
    }

    #[test]
    fn every_name_fits_what_linux_allows() {
        for a in Architecture::ALL {
            let p = plan(a);
            let mut all = p.namespaces();
            all.sort();
            all.dedup();
            assert_eq!(
                all.len(),
                p.namespaces().len(),
                "{a}: namespaces are distinct"
            );
            for m in &p.members {
                for l in &m.links {
                    assert!(l.inner.len() <= IFNAME_MAX && l.outer.len() <= IFNAME_MAX);
                }
            }
        }
    }

    #[test]
    fn bad_lab_names_are_refused_naming_the_rule() {
        for bad in ["", "Lab", "1lab", "a/b", "../x", "abcdefghijklmnopq"] {
            let e = check_name(bad).expect_err(bad).to_string();
            assert!(e.contains("lowercase letters"), "{bad}: {e}");
        }
        assert!(check_name("dualha-2").is_ok());
    }
}
