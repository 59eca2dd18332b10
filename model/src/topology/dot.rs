//! Graphviz DOT output, written by hand (petgraph's `dot` feature is off), so people
//! can look at a lab: `dot -Tsvg lab.dot > lab.svg`.

use core::fmt::Write as _;

use super::{Element, Relation, Topology};

impl Topology {
    /// The topology as a DOT digraph: one vertex per element (labelled with its kind,
    /// name, id and details, shaped by kind), one edge per relation (labelled).
    /// Deterministic: elements by id, edges sorted.
    pub fn to_dot(&self) -> String {
        let mut out = String::from(
            "digraph topology {\n  rankdir=BT;\n  node [fontsize=10];\n  edge [fontsize=8];\n",
        );
        for id in self.ids() {
            let Some(e) = self.element(id) else { continue };
            let (shape, detail): (&str, Vec<String>) = match e {
                Element::Cluster { platform, .. } => {
                    ("box3d", vec![format!("platform: {platform}")])
                }
                Element::Host { .. } => ("box", vec![]),
                Element::Network { role, .. } => ("hexagon", vec![format!("role: {role}")]),
                Element::Vm { .. } => ("component", vec![]),
                Element::Service { kind, .. } => ("ellipse", vec![format!("{kind:?}")]),
                Element::Storage { kind, volume, .. } => {
                    let mut d = vec![kind.to_string()];
                    if let Some(v) = volume {
                        d.push(format!("{} on {}", v.device, v.disk));
                        d.push(format!("{} at {}", v.fs, v.mount_point));
                    }
                    ("cylinder", d)
                }
                Element::Witness { .. } => ("diamond", vec![]),
                Element::PingNode { .. } => ("circle", vec![]),
            };
            let mut label = format!("{}\\n{} ({})", e.kind(), escape(e.name()), id);
            for line in detail {
                label.push_str("\\n");
                label.push_str(&escape(&line));
            }
            // Writing to a String cannot fail.
            let _ = writeln!(out, "  n{} [shape={shape}, label=\"{label}\"];", id.0);
        }
        for (from, to, rel) in self.relations() {
            let style = match rel {
                Relation::HeartbeatOn | Relation::ReplicatesOver => ", style=bold",
                Relation::ProtectedBy { .. } => ", style=dashed",
                _ => "",
            };
            let label = match rel {
                Relation::ProtectedBy { priority } => format!("{} ({priority:?})", rel.label()),
                _ => rel.label().to_owned(),
            };
            let _ = writeln!(
                out,
                "  n{} -> n{} [label=\"{label}\"{style}];",
                from.0, to.0
            );
        }
        out.push_str("}\n");
        out
    }
}

/// Escapes a string for a double-quoted DOT label (backslash sequences `\n` that the
/// caller puts in on purpose are added after escaping).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}
