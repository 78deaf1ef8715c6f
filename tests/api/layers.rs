//! The dependency direction of `src/` (STYLE.md; issue #14), read from the source: the protocol
//! knows no HTTP, SQL or runtime; the store knows no rules, sign-in or HTTP; the rules and sign-in
//! know no HTTP or CLI; SQL text lives only in the store. A change that breaks one fails here,
//! naming the file and line.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            found.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
    found
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The code lines of a layer (comments left out), with where each stands.
fn code_lines(layer: &str) -> Vec<(String, String)> {
    let root = src().join(layer);
    let mut lines = Vec::new();
    for file in sources(&root) {
        let text = std::fs::read_to_string(&file).expect("read source");
        let name = file
            .strip_prefix(src())
            .unwrap_or(&file)
            .display()
            .to_string();
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            lines.push((format!("src/{name}:{}", n + 1), line.to_string()));
        }
    }
    lines
}

/// The lines of `layer` that name any of `forbidden` as a path (`name::` or `use name`).
fn violations(layer: &str, forbidden: &[&str]) -> Vec<String> {
    code_lines(layer)
        .into_iter()
        .filter(|(_, line)| {
            forbidden.iter().any(|name| {
                line.contains(&format!("{name}::")) || line.contains(&format!("use {name};"))
            })
        })
        .map(|(at, line)| format!("{at}: {}", line.trim()))
        .collect()
}

/// The lines of `layers` that mention any of `words` anywhere in code.
fn mentions(layers: &[&str], words: &[&str]) -> Vec<String> {
    layers
        .iter()
        .flat_map(|layer| code_lines(layer))
        .filter(|(_, line)| words.iter().any(|w| line.contains(w)))
        .map(|(at, line)| format!("{at}: {}", line.trim()))
        .collect()
}

/// The layers above the store.
const ABOVE_THE_STORE: [&str; 6] = ["scim", "tenant", "sso", "webhooks", "http", "cli"];

#[test]
fn the_protocol_imports_no_http_sql_runtime_or_other_layer() {
    let found = violations(
        "scim",
        &[
            "axum",
            "sqlx",
            "rusqlite",
            "tokio",
            "tower",
            "reqwest",
            "crate::store",
            "crate::tenant",
            "crate::sso",
            "crate::webhooks",
            "crate::http",
            "crate::cli",
            "crate::app",
            "crate::state",
            "crate::config",
        ],
    );
    assert!(
        found.is_empty(),
        "scim/ reaches outside the protocol:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_store_imports_no_rules_sign_in_or_http() {
    let found = violations(
        "store",
        &[
            "axum",
            "crate::tenant",
            "crate::sso",
            "crate::webhooks",
            "crate::http",
            "crate::cli",
            "crate::app",
            "crate::state",
        ],
    );
    assert!(found.is_empty(), "store/ reaches up:\n{}", found.join("\n"));
}

#[test]
fn rules_sign_in_and_webhooks_import_no_http_or_cli() {
    for layer in ["tenant", "sso", "webhooks"] {
        let mut forbidden = vec!["axum", "crate::http", "crate::cli", "crate::app"];
        // Webhooks use the rules and sign-in's secret key, never the other way round.
        if layer != "webhooks" {
            forbidden.push("crate::webhooks");
        }
        let found = violations(layer, &forbidden);
        assert!(
            found.is_empty(),
            "{layer}/ reaches up:\n{}",
            found.join("\n")
        );
    }
}

/// Handlers extract, call one use-case and render: the audit trail and role resolution are the
/// rules' business, never written or recomputed in `http/`.
#[test]
fn handlers_write_no_audit_records_and_resolve_no_roles() {
    let words = [
        "AuditRecord",
        "record_audit",
        "insert_audit",
        "Catalog",
        "effective(",
    ];
    let found = mentions(&["http"], &words);
    assert!(
        found.is_empty(),
        "http/ does a rule's work:\n{}",
        found.join("\n")
    );
}

/// The store takes a typed query and compiles it itself: no SQL type is named above it.
#[test]
fn sql_types_stay_in_the_store() {
    let words = [
        "Dialect",
        "SqlFragment",
        "SqlParam",
        "filter_sql",
        "PageSpec",
        "ListOrder",
        ".dialect()",
    ];
    let found = mentions(&ABOVE_THE_STORE, &words);
    assert!(
        found.is_empty(),
        "SQL types above store/:\n{}",
        found.join("\n")
    );
}

#[test]
fn sql_text_appears_only_in_the_store() {
    let statements = [
        "SELECT ",
        "INSERT INTO ",
        "DELETE FROM ",
        "UPDATE ",
        "CREATE INDEX",
    ];
    let mut found = Vec::new();
    for layer in ABOVE_THE_STORE {
        for (at, line) in code_lines(layer) {
            // Only inside string literals: a statement keyword between quotes.
            let quoted = line.split('"').skip(1).step_by(2);
            if quoted
                .into_iter()
                .any(|text| statements.iter().any(|s| text.contains(s)))
            {
                found.push(format!("{at}: {}", line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "SQL outside store/:\n{}",
        found.join("\n")
    );
}

/// The scanner itself sees imports: `http/` is where axum and the rules meet.
#[test]
fn the_scanner_finds_imports_that_are_there() {
    assert!(!violations("http", &["axum"]).is_empty());
    assert!(!violations("http", &["crate::tenant"]).is_empty());
    assert!(!violations("tenant", &["crate::store"]).is_empty());
}
