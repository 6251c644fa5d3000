//! The committed `schema.graphql` is exactly what the server serves, and that schema documents
//! itself: graphql-schema-linter finds nothing to report.

use std::process::Command;

use serde_json::Value;

#[test]
fn committed_schema_matches_the_server() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema.graphql");
    let committed = std::fs::read_to_string(&path).expect("schema.graphql at the workspace root");
    let served = bellwether_api::graphql::sdl();
    assert!(
        committed == served,
        "schema.graphql is stale: regenerate it with `cargo run -q -p bellwether-api -- schema > schema.graphql`"
    );
}

/// The linter's rules that hold for this schema. Left out: the ordering rules (fields, enum
/// values and input fields follow the resolvers' reading order, not the alphabet) and
/// `types-are-capitalized`/`fields-are-camel-cased`, which async-graphql guarantees by deriving
/// every name from the Rust one.
const RULES: &[&str] = &[
    "types-have-descriptions",
    "fields-have-descriptions",
    "arguments-have-descriptions",
    "input-object-values-have-descriptions",
    "enum-values-have-descriptions",
    "descriptions-are-capitalized",
    "deprecations-have-a-reason",
    "relay-connection-types-spec",
    "relay-connection-arguments-spec",
    "relay-page-info-spec",
    "input-object-values-are-camel-cased",
    "enum-values-all-caps",
    "defined-types-are-used",
];

#[test]
fn served_schema_passes_graphql_schema_linter() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance");
    let cli = dir.join("node_modules/graphql-schema-linter/lib/cli.js");
    assert!(cli.is_file(), "the linter needs its npm packages: run scripts/test (or `npm ci` in tests/conformance)");
    // Per process: nextest runs tests of one binary in parallel processes.
    let sdl_path = std::env::temp_dir().join(format!("bellwether-schema-{}.graphql", std::process::id()));
    std::fs::write(&sdl_path, bellwether_api::graphql::sdl()).expect("writing the SDL to a temp file");
    let output = Command::new("node")
        .arg(&cli)
        .args(["--format", "json", "--rules", &RULES.join(",")])
        .arg(&sdl_path)
        .current_dir(&dir)
        .output()
        .expect("running node");
    let _ = std::fs::remove_file(&sdl_path);
    // Exit status 1 only says there are findings; anything else is the linter failing.
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|_| {
        panic!(
            "the linter printed no JSON report (status {}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let findings: Vec<String> = report["errors"]
        .as_array()
        .expect("the report lists `errors`")
        .iter()
        .map(|e| {
            let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            format!("{} (line {}): {}", text(&e["rule"]), e["location"]["line"], text(&e["message"]))
        })
        .collect();
    assert!(findings.is_empty(), "graphql-schema-linter: {} findings:\n{}", findings.len(), findings.join("\n"));
    assert!(output.status.success(), "the linter failed: {}", String::from_utf8_lossy(&output.stderr));
}

/// Omitting a patch field leaves it unchanged and `null` clears it; a declared `= null` default
/// would say that omitting it clears it.
#[test]
fn patch_fields_declare_no_null_default() {
    let sdl = bellwether_api::graphql::sdl();
    let defaults: Vec<&str> = sdl.lines().filter(|l| l.trim_end().ends_with("= null")).map(str::trim).collect();
    assert!(defaults.is_empty(), "input fields with a `= null` default: {defaults:?}");
}
