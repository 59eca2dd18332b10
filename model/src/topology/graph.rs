//! The [`Topology`]: a directed `petgraph` graph of [`Element`]s and [`Relation`]s, and
//! how to edit and look it up.

use std::collections::BTreeMap;

use petgraph::Direction;
use petgraph::graph::{Graph, NodeIndex};
use petgraph::visit::EdgeRef;

use super::{
    BuildError, Element, ElementKind, Platform, Relation, ServiceKind, StorageKind, Volume,
};
use crate::{Net, NodeId};

/// The lab as a graph.
///
/// Every element gets a [`NodeId`] when it is added: the `n`-th element added is
/// `NodeId(n)`, and elements are never removed, so the id is stable and equals the
/// element's `petgraph` node index. Drivers use these ids for the machines that play
/// the elements (a guest, a witness, a host agent); the builders add the VMs first, so
/// the DRBD peers are `a` and `b` as in the replication tests.
///
/// Edges can be added and removed; adding an edge that exists already does nothing.
#[derive(Clone, Debug, Default)]
pub struct Topology {
    graph: Graph<Element, Relation>,
    names: BTreeMap<String, NodeId>,
}

impl Topology {
    /// An empty topology.
    pub fn new() -> Topology {
        Topology::default()
    }

    /// The underlying graph, for `petgraph` algorithms. Node index `i` is `NodeId(i)`.
    pub fn graph(&self) -> &Graph<Element, Relation> {
        &self.graph
    }

    /// How many elements there are.
    pub fn len(&self) -> usize {
        self.graph.node_count()
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.graph.node_count() == 0
    }

    /// Adds an element; refuses a name already in use.
    pub fn add(&mut self, element: Element) -> Result<NodeId, BuildError> {
        if let Some(&existing) = self.names.get(element.name()) {
            return Err(BuildError::DuplicateName {
                name: element.name().to_owned(),
                existing,
            });
        }
        let count = self.graph.node_count();
        let id = u16::try_from(count).map_err(|_| BuildError::TooManyElements { count })?;
        self.names.insert(element.name().to_owned(), NodeId(id));
        self.graph.add_node(element);
        Ok(NodeId(id))
    }

    /// Adds a cluster.
    pub fn add_cluster(&mut self, name: &str, platform: Platform) -> Result<NodeId, BuildError> {
        self.add(Element::Cluster {
            name: name.into(),
            platform,
        })
    }

    /// Adds a host.
    pub fn add_host(&mut self, name: &str) -> Result<NodeId, BuildError> {
        self.add(Element::Host { name: name.into() })
    }

    /// Adds a network.
    pub fn add_network(&mut self, name: &str, role: Net) -> Result<NodeId, BuildError> {
        self.add(Element::Network {
            name: name.into(),
            role,
        })
    }

    /// Adds a VM.
    pub fn add_vm(&mut self, name: &str) -> Result<NodeId, BuildError> {
        self.add(Element::Vm { name: name.into() })
    }

    /// Adds a service.
    pub fn add_service(&mut self, name: &str, kind: ServiceKind) -> Result<NodeId, BuildError> {
        self.add(Element::Service {
            name: name.into(),
            kind,
        })
    }

    /// Adds a local or shared datastore (no volume).
    pub fn add_storage(&mut self, name: &str, kind: StorageKind) -> Result<NodeId, BuildError> {
        self.add(Element::Storage {
            name: name.into(),
            kind,
            volume: None,
        })
    }

    /// Adds a replicated (DRBD) resource with its volume.
    pub fn add_replicated(&mut self, name: &str, volume: Volume) -> Result<NodeId, BuildError> {
        self.add(Element::Storage {
            name: name.into(),
            kind: StorageKind::Replicated,
            volume: Some(volume),
        })
    }

    /// Adds a witness.
    pub fn add_witness(&mut self, name: &str) -> Result<NodeId, BuildError> {
        self.add(Element::Witness { name: name.into() })
    }

    /// Adds a ping node.
    pub fn add_ping_node(&mut self, name: &str) -> Result<NodeId, BuildError> {
        self.add(Element::PingNode { name: name.into() })
    }

    /// Adds the edge `from -relation-> to`, after checking both ids and the endpoint
    /// kinds. An identical edge is not added twice.
    pub fn relate(
        &mut self,
        from: NodeId,
        to: NodeId,
        relation: Relation,
    ) -> Result<(), BuildError> {
        let (f, t) = (self.element_or_err(from)?, self.element_or_err(to)?);
        let (froms, tos) = relation.endpoints();
        if !froms.contains(&f.kind()) || !tos.contains(&t.kind()) {
            return Err(BuildError::WrongEndpoints {
                relation: relation.label(),
                from: f.name().to_owned(),
                from_kind: f.kind(),
                to: t.name().to_owned(),
                to_kind: t.kind(),
            });
        }
        self.link(from, to, relation);
        Ok(())
    }

    /// Removes every edge `from -> to` of `relation`'s kind (whatever its data); how
    /// many it removed.
    pub fn unrelate(&mut self, from: NodeId, to: NodeId, relation: Relation) -> usize {
        let (Some(f), Some(t)) = (self.index(from), self.index(to)) else {
            return 0;
        };
        let mut removed = 0;
        // Removing an edge moves the last edge into its slot: look the edge up afresh
        // each time.
        while let Some(e) = self
            .graph
            .edges_connecting(f, t)
            .find(|e| e.weight().same_kind(&relation))
            .map(|e| e.id())
        {
            self.graph.remove_edge(e);
            removed += 1;
        }
        removed
    }

    /// Moves a VM or witness to `host`: its `runs-on` edges are replaced by one to
    /// `host` (a migration, or a restart elsewhere).
    pub fn place(&mut self, guest: NodeId, host: NodeId) -> Result<(), BuildError> {
        // Check first, so that a refused move changes nothing.
        let g = self.element_or_err(guest)?;
        let h = self.element_or_err(host)?;
        if !matches!(g.kind(), ElementKind::Vm | ElementKind::Witness)
            || h.kind() != ElementKind::Host
        {
            return self.relate(guest, host, Relation::RunsOn);
        }
        for old in self.targets(guest, Relation::RunsOn) {
            self.unrelate(guest, old, Relation::RunsOn);
        }
        self.relate(guest, host, Relation::RunsOn)
    }

    /// The element with this id.
    pub fn element(&self, id: NodeId) -> Option<&Element> {
        self.index(id).and_then(|i| self.graph.node_weight(i))
    }

    /// The name of the element with this id.
    pub fn name_of(&self, id: NodeId) -> Option<&str> {
        self.element(id).map(Element::name)
    }

    /// The id of the element with this name.
    pub fn find(&self, name: &str) -> Option<NodeId> {
        self.names.get(name).copied()
    }

    /// The id of the element with this name, or an error naming it.
    pub fn id(&self, name: &str) -> Result<NodeId, BuildError> {
        self.find(name)
            .ok_or_else(|| BuildError::UnknownName { name: name.into() })
    }

    /// Every element id, ascending.
    pub fn ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.graph
            .node_indices()
            .filter_map(|i| u16::try_from(i.index()).ok().map(NodeId))
    }

    /// The ids of the elements of one kind, ascending.
    pub fn of_kind(&self, kind: ElementKind) -> Vec<NodeId> {
        self.ids()
            .filter(|&id| self.element(id).is_some_and(|e| e.kind() == kind))
            .collect()
    }

    /// Every edge as `(from, to, relation)`, sorted.
    pub fn relations(&self) -> Vec<(NodeId, NodeId, Relation)> {
        let mut v: Vec<_> = self
            .graph
            .edge_references()
            .filter_map(|e| Some((node_id(e.source())?, node_id(e.target())?, *e.weight())))
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// The targets of `from`'s edges of `relation`'s kind, ascending and distinct.
    pub fn targets(&self, from: NodeId, relation: Relation) -> Vec<NodeId> {
        self.neighbours(from, relation, Direction::Outgoing)
            .into_iter()
            .map(|(n, _)| n)
            .collect()
    }

    /// The sources of the edges of `relation`'s kind into `to`, ascending and distinct.
    pub fn sources(&self, to: NodeId, relation: Relation) -> Vec<NodeId> {
        self.neighbours(to, relation, Direction::Incoming)
            .into_iter()
            .map(|(n, _)| n)
            .collect()
    }

    /// The edges of `relation`'s kind at `id` in direction `dir`, with their data,
    /// sorted by the other end.
    pub(super) fn neighbours(
        &self,
        id: NodeId,
        relation: Relation,
        dir: Direction,
    ) -> Vec<(NodeId, Relation)> {
        let Some(i) = self.index(id) else {
            return Vec::new();
        };
        let mut v: Vec<(NodeId, Relation)> = self
            .graph
            .edges_directed(i, dir)
            .filter(|e| e.weight().same_kind(&relation))
            .filter_map(|e| {
                let other = match dir {
                    Direction::Outgoing => e.target(),
                    Direction::Incoming => e.source(),
                };
                Some((node_id(other)?, *e.weight()))
            })
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// The element's name, or `#id` if there is none (for error messages).
    pub(super) fn label(&self, id: NodeId) -> String {
        self.name_of(id)
            .map_or_else(|| format!("#{}", id.0), str::to_owned)
    }

    /// Adds an element without the name check, for the builders whose names are
    /// constants and distinct. A name already used keeps pointing at the first element.
    pub(super) fn push(&mut self, element: Element) -> NodeId {
        let id = NodeId(u16::try_from(self.graph.node_count()).unwrap_or(u16::MAX));
        self.names.entry(element.name().to_owned()).or_insert(id);
        self.graph.add_node(element);
        id
    }

    /// Adds an edge between existing elements without the kind check, for the builders;
    /// an identical edge is not added twice, an unknown id is ignored.
    pub(super) fn link(&mut self, from: NodeId, to: NodeId, relation: Relation) {
        let (Some(f), Some(t)) = (self.index(from), self.index(to)) else {
            return;
        };
        if self
            .graph
            .edges_connecting(f, t)
            .any(|e| *e.weight() == relation)
        {
            return;
        }
        self.graph.add_edge(f, t, relation);
    }

    fn element_or_err(&self, id: NodeId) -> Result<&Element, BuildError> {
        self.element(id).ok_or(BuildError::UnknownElement { id })
    }

    fn index(&self, id: NodeId) -> Option<NodeIndex> {
        let i = usize::from(id.0);
        (i < self.graph.node_count()).then(|| NodeIndex::new(i))
    }
}

fn node_id(i: NodeIndex) -> Option<NodeId> {
    u16::try_from(i.index()).ok().map(NodeId)
}
