//! `docs/formats.md` stays the reference of the schedule and check-configuration
//! formats: every key the parsers know has a row, every event kind and every value of
//! the check configuration's enumerations is listed, and every file it names exists.

use model::check::CheckConfig;
use model::check::config::FaultKind;
use model::schedule::Fault;

fn doc() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/formats.md");
    std::fs::read_to_string(path).expect("docs/formats.md")
}

const SCHEDULES: &str = "\n## Fault schedules";
const CHECK: &str = "\n## Check configurations";

/// The part of the document from the heading `from` to the next `## ` heading.
fn section(doc: &str, from: &str) -> String {
    let start = doc.find(from).unwrap_or_else(|| panic!("no {from:?}"));
    let rest = &doc[start + from.len()..];
    let end = rest.find("\n## ").unwrap_or(rest.len());
    rest[..end].to_string()
}

/// The keys of a serialised value's table (and of its sub-tables, as `table.key`).
fn keys(value: &toml::Table) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in value {
        out.push(k.clone());
        if let Some(t) = v.as_table() {
            out.extend(keys(t));
        }
    }
    out
}

#[test]
fn every_check_configuration_key_has_a_row() {
    let doc = section(&doc(), CHECK);
    let cfg = toml::Table::try_from(CheckConfig::default()).expect("serialise the default");
    let found = keys(&cfg);
    assert!(found.len() > 10, "{found:?}");
    for key in found {
        assert!(doc.contains(&format!("| `{key}` |")), "no row for `{key}`");
    }
}

#[test]
fn every_schedule_event_kind_and_key_is_listed() {
    let all = doc();
    let doc = section(&all, SCHEDULES);
    for kind in Fault::KINDS {
        assert!(
            doc.contains(&format!("| `{kind}` |")),
            "no row for `{kind}`"
        );
        for key in Fault::keys_of(kind).expect("a known kind") {
            // A row of its own, or the end of one (`| `a`, `b` |`).
            assert!(
                doc.contains(&format!("`{key}` |")) || doc.contains(&format!("| `{key}`, ")),
                "`{key}` of `{kind}`"
            );
        }
    }
    let doc = section(&all, CHECK);
    for kind in FaultKind::ALL {
        assert!(
            doc.contains(&format!("\"{}\"", kind.key())),
            "budget kind {}",
            kind.key()
        );
    }
}

#[test]
fn every_value_of_the_configuration_enumerations_is_listed() {
    let doc = section(&doc(), CHECK);
    // Each value the TOML reader accepts, as serde spells it: change one key of the
    // default and read the spelling back.
    for text in [
        "protocol = \"A\"",
        "protocol = \"B\"",
        "fencing = \"resource-only\"",
        "fencing = \"resource-and-stonith\"",
        "after_sb_0pri = \"DiscardYoungerPrimary\"",
        "after_sb_0pri = \"DiscardOlderPrimary\"",
        "after_sb_0pri = \"DiscardZeroChanges\"",
        "after_sb_0pri = \"DiscardLeastChanges\"",
        "after_sb_0pri = { DiscardNode = 1 }",
        "after_sb_1pri = \"Consensus\"",
        "after_sb_1pri = \"DiscardSecondary\"",
        "after_sb_1pri = \"CallPriLostAfterSb\"",
        "after_sb_1pri = \"ViolentlyAs0p\"",
        "after_sb_2pri = \"ViolentlyAs0p\"",
        "after_sb_2pri = \"CallPriLostAfterSb\"",
        "membership_quorum = \"two-node-wait-for-all\"",
        "membership_quorum = \"majority\"",
        "membership_quorum = \"qdevice\"",
        "cluster_layer = \"vmware\"",
        "cluster_layer = \"openstack\"",
        "start = \"partitioned\"",
        "boot_order = \"together\"",
        "drbd = { on_no_quorum = \"io-error\" }",
        "drbd = { rr_conflict = \"call-pri-lost\" }",
        "drbd = { fence_peer = \"dopd\" }",
        "drbd = { fence_peer = \"stonith\" }",
        "drbd = { fence_peer = \"exit-3\" }",
        "drbd = { fence_peer = \"exit-4\" }",
        "drbd = { fence_peer = \"exit-5\" }",
        "drbd = { fence_peer = \"exit-6\" }",
        "drbd = { fence_peer = \"exit-7\" }",
        "drbd = { fence_peer = \"hang\" }",
        "resources = { no_quorum_policy = \"freeze\" }",
        "resources = { no_quorum_policy = \"ignore\" }",
    ] {
        let cfg: CheckConfig = toml::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_ne!(cfg, CheckConfig::default(), "{text}");
        let value = text
            .rsplit_once(" = ")
            .map(|(_, v)| v)
            .expect("key = value");
        let value = value
            .trim_end_matches(" }")
            .replace("{ DiscardNode = 1", "DiscardNode");
        assert!(
            doc.contains(&value),
            "{text}: `{value}` not in docs/formats.md"
        );
    }
}

#[test]
fn every_file_the_reference_names_exists() {
    let doc = doc();
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let mut named = 0;
    for piece in doc.split('`') {
        if (piece.starts_with("experiments/") || piece.starts_with("docs/")) && !piece.contains('*')
        {
            let path = format!("{root}/{piece}");
            assert!(std::path::Path::new(&path).exists(), "{piece}");
            named += 1;
        }
    }
    assert!(named >= 7, "{named} files named");
}

#[test]
fn the_every_key_example_is_valid_and_every_key_in_it_has_a_row() {
    let doc = section(&doc(), CHECK);
    let start = doc.find("### Every key, once").expect("the example");
    let text = &doc[start..];
    let text = &text[text.find("```toml\n").expect("toml block") + 8..];
    let text = &text[..text.find("```").expect("end of block")];
    let cfg: CheckConfig = toml::from_str(text).unwrap_or_else(|e| panic!("{e}"));
    cfg.validate().unwrap_or_else(|e| panic!("{e}"));
    let table: toml::Table = toml::from_str(text).expect("a table");
    let found = keys(&table);
    assert!(found.len() > 40, "{found:?}");
    // `DiscardNode` is a value (`{ DiscardNode = 0 }`), not a key.
    for key in found.into_iter().filter(|k| k != "DiscardNode") {
        assert!(
            doc.contains(&format!("| `{key}` |")) || doc.contains(&format!("| `{key}`, ")),
            "no row for `{key}`"
        );
    }
    // The fuzz seed is the same file.
    let seed = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fuzz/seeds/check_config/every-key.toml"
    );
    assert_eq!(std::fs::read_to_string(seed).expect("the seed"), text);
}
