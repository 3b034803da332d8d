//! The layering of the `herald` crate, read from its source: each layer may use only the layers
//! below it, so no import cycle spans layers, and no store write is made from `http/`.
//!
//! Layers, lowest first: `render` and `config` (shared), `service`, `runtime`, `http`, `app`,
//! then the command line (`remote`, `cli`). The same check runs as `scripts/layers.sh`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The layer a module path (`crate::<first>`) or a file's top directory belongs to.
fn layer(first: &str) -> Option<&'static str> {
    Some(match first {
        "render" | "config" => "shared",
        "service" => "service",
        "runtime" | "monitoring" | "notify" | "cluster" | "mirror" | "alerting" | "probe"
        | "mail" | "netguard" => "runtime",
        "http" | "auth" => "http",
        "app" => "app",
        "remote" | "cli" | "main" | "lib" => "cli",
        _ => return None,
    })
}

fn rank(layer: &str) -> usize {
    ["shared", "service", "runtime", "http", "app", "cli"]
        .iter()
        .position(|l| *l == layer)
        .expect("known layer")
}

/// Every `crate::<name>` a file mentions, outside comments.
fn uses(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let tail = &rest[at + "crate::".len()..];
            let name: String = tail
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.insert(name);
            }
            rest = tail;
        }
    }
    found
}

/// Edges that go upwards: (file, its layer, the module it uses, that module's layer).
fn upward_edges() -> Vec<String> {
    let root = src();
    let mut all = Vec::new();
    files(&root, &mut all);
    let mut bad = Vec::new();
    for file in all {
        let rel = file.strip_prefix(&root).expect("under src");
        let top = rel
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .map(|s| s.trim_end_matches(".rs").to_string())
            .expect("top");
        let Some(from) = layer(&top) else {
            bad.push(format!("{}: file outside every layer", rel.display()));
            continue;
        };
        let text = std::fs::read_to_string(&file).expect("read");
        for used in uses(&text) {
            let Some(to) = layer(&used) else { continue };
            if from != to && rank(to) > rank(from) {
                bad.push(format!(
                    "{} ({from}) uses crate::{used} ({to})",
                    rel.display()
                ));
            }
        }
    }
    bad
}

#[test]
fn each_layer_uses_only_the_layers_below_it() {
    let bad = upward_edges();
    assert!(
        bad.is_empty(),
        "imports against the layering:\n{}",
        bad.join("\n")
    );
}

/// Store methods that write; none may be called from `http/`.
const WRITES: &[&str] = &[
    "import",
    "apply",
    "append_audit",
    "create_user",
    "create_session",
    "delete_session",
    "create_api_key",
    "revoke_api_key",
    "create_subscriber",
    "set_subscriber_state",
    "set_subscriber_components",
    "create_template",
    "delete_template",
    "save_page_settings",
    "enqueue_notice",
    "retry_delivery",
    "import_subscribers",
    "save_monitor",
    "delete_monitor",
    "record_results",
    "save_automation",
    "save_automation_state",
    "create_integration",
    "update_integration",
    "delete_integration",
    "save_alert_channel",
    "delete_alert_channel",
    "save_metric",
    "delete_metric",
    "add_metric_points",
    "expand_notification",
    "claim_deliveries",
    "finish_deliveries",
    "prune_results",
    "backup",
    "restore",
];

/// The code of a file without comments or whitespace, so a call split over lines
/// (`state\n    .store\n    .save_monitor(`) reads as one.
fn squeezed(text: &str) -> String {
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
        .collect()
}

fn store_writes(code: &str) -> Vec<&'static str> {
    WRITES
        .iter()
        .copied()
        .filter(|w| code.contains(&format!("store.{w}(")))
        .collect()
}

#[test]
fn http_makes_no_store_write() {
    let root = src().join("http");
    let mut all = Vec::new();
    files(&root, &mut all);
    let mut bad = Vec::new();
    for file in all {
        let text = std::fs::read_to_string(&file).expect("read");
        for w in store_writes(&squeezed(&text)) {
            bad.push(format!("{}: store.{w}(…)", file.display()));
        }
    }
    assert!(
        bad.is_empty(),
        "store writes made from http/:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_check_sees_an_upward_import() {
    // The scanner must find what it is meant to refuse, or the tests above prove nothing.
    let found = uses("use crate::http::error::AppError; // crate::app in a comment\n");
    assert_eq!(
        found.into_iter().collect::<Vec<_>>(),
        vec!["http".to_string()]
    );
    assert!(rank(layer("http").expect("layer")) > rank(layer("service").expect("layer")));
    let split = "state\n    .store // a comment\n    .save_monitor(&spec, &meta)";
    assert_eq!(store_writes(&squeezed(split)), vec!["save_monitor"]);
}
