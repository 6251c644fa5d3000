//! GraphiQL and the tools that read the schema, as a frontend team meets them: the page works
//! offline (everything from this server), introspection answers without a token (not in
//! production), graphql-js's standard introspection query builds a client schema, and in a real
//! headless browser the docs explorer finds a type and a query runs.

use std::process::Command;

use bellwether_tests::{Backend, Options, TestServer};
use serde_json::Value;

fn conformance_dir() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance");
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "the browser test needs its npm packages: run scripts/test (or `npm ci` in tests/conformance)"
    );
    dir
}

/// Runs a node script of `tests/conformance` and reads the JSON line it prints.
async fn node(script: &str, args: Vec<String>) -> (bool, Value) {
    let dir = conformance_dir();
    let script = script.to_owned();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node").arg(script).args(args).current_dir(dir).output().expect("running node")
    })
    .await
    .unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!("no JSON from node: {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    });
    (out.status.success(), report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_works_offline_and_finds_the_schema() {
    let s = TestServer::start(Backend::Sqlite).await.expect("sqlite is always available");
    let t = s.tenant("giql").await;

    // The page and every asset it names come from this server; nothing from elsewhere.
    let page = s.client.get(&s.url).header("accept", "text/html").send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let policy = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(policy.contains("script-src 'self'") && policy.contains("connect-src 'self'"), "{policy}");
    let html = page.text().await.unwrap();
    assert!(!html.contains("http://") && !html.contains("https://"), "the page names another origin: {html}");
    let assets: Vec<&str> = html
        .split(['"', '\''])
        .filter(|p| p.starts_with("/graphiql/") && (p.ends_with(".js") || p.ends_with(".css")))
        .collect();
    assert_eq!(assets.len(), 5, "{html}");
    for asset in assets {
        let res = s.client.get(format!("{}{asset}", s.base)).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 200, "{asset}");
        let kind = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(
            kind.starts_with(if asset.ends_with(".js") { "text/javascript" } else { "text/css" }),
            "{asset}: {kind}"
        );
        assert!(res.headers()["cache-control"].to_str().unwrap().contains("immutable"));
    }
    let missing = s.client.get(format!("{}/graphiql/0.0.0/graphiql.min.js", s.base)).send().await.unwrap();
    assert_eq!(missing.status().as_u16(), 404);

    // graphql-js's getIntrospectionQuery(), as codegen and schema checkers send it, with and
    // without a token; anything else without a token is still 401.
    for token in [None, Some(t.admin_token.clone())] {
        let mut args = vec![s.url.clone()];
        args.extend(token.clone());
        let (ok, report) = node("introspection.mjs", args).await;
        assert!(ok, "{report}");
        assert_eq!(report["status"], 200, "token {}: {report}", token.is_some());
        assert_eq!(report["errors"], serde_json::json!([]), "{report}");
        assert_eq!(report["account"], true, "{report}");
        assert!(report["types"].as_u64().unwrap() > 100, "{report}");
    }
    let (status, _) = s.post(None, "{ viewer { id } }", serde_json::json!({})).await;
    assert_eq!(status, 401);

    // A real browser, offline but for this server.
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "the browser test needs Debian's chromium: run scripts/test (it installs it)"
    );
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("graphiql.png");
    let (ok, report) =
        node("graphiql.mjs", vec![s.base.clone(), t.admin_token.clone(), shot.display().to_string()]).await;
    assert!(ok, "the browser session failed: {report}");
    assert_eq!(report["foreign"], serde_json::json!([]), "requests to other origins: {report}");
    assert_eq!(report["console"], serde_json::json!([]), "console errors: {report}");
    assert!(report["docsType"].as_str().unwrap().contains("impact and likelihood"), "{report}");
    assert!(report["result"].as_str().unwrap().contains("\"viewer\""), "{report}");
    assert!(shot.exists(), "no screenshot");
    s.stop().await;

    // In production introspection is off, and nothing is answered without a token.
    let s = TestServer::start_with(Backend::Sqlite, Options { production: true, ..Options::default() })
        .await
        .expect("sqlite is always available");
    let (ok, report) = node("introspection.mjs", vec![s.url.clone()]).await;
    assert!(ok, "{report}");
    assert_eq!(report["status"], 401, "{report}");
    s.stop().await;
}
