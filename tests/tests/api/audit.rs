//! The third-party `graphql-http` audit (GraphQL-over-HTTP conformance) against the real server.

use std::process::Command;

use bellwether_tests::{Backend, TestServer};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_over_http_audit_passes_without_warnings() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance");
    assert!(
        dir.join("node_modules/graphql-http").is_dir(),
        "the audit needs its npm packages: run scripts/test (or `npm ci` in tests/conformance)"
    );
    let s = TestServer::start(Backend::Sqlite).await.expect("sqlite is always available");
    let t = s.tenant("audit").await;
    let url = s.url.clone();
    let token = t.admin_token.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node").arg("audit.mjs").arg(url).arg(token).current_dir(&dir).output().expect("running node")
    })
    .await
    .unwrap();
    assert!(output.status.success(), "audit crashed: {}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).expect("the audit prints JSON");
    eprintln!("graphql-http audit: {} ok, {} warn, {} error", report["ok"], report["warn"], report["error"]);
    assert_eq!(report["error"], 0, "failures: {}", report["problems"]);
    assert_eq!(report["warn"], 0, "warnings: {}", report["problems"]);
    assert!(report["ok"].as_u64().unwrap() >= 40, "suspiciously few audits ran: {report}");
    s.stop().await;
}
