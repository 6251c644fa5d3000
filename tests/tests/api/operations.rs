//! What operators and well-behaved clients see: request ids, Prometheus metrics, per-user rate
//! limits with their headers.

use bellwether_tests::{Backend, Options, TestServer, error_codes};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_and_metrics() {
    let s = TestServer::start(Backend::Sqlite).await.expect("sqlite is always available");
    let t = s.tenant("ops").await;
    let post = |id: Option<&str>, body: Value| {
        let mut req = s.client.post(&s.url).bearer_auth(&t.admin_token).json(&body);
        if let Some(id) = id {
            req = req.header("x-request-id", id);
        }
        req.send()
    };
    // A sane id is kept and returned; a hostile one (log injection, huge) is replaced.
    let res = post(Some("req-42:abc"), json!({ "query": "query WhoAmI { viewer { id } }" })).await.unwrap();
    assert_eq!(res.headers()["x-request-id"], "req-42:abc");
    for bad in ["has space", &"x".repeat(300), "quote\"s"] {
        let res = post(Some(bad), json!({ "query": "{ viewer { id } }" })).await.unwrap();
        let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert!(id != bad && uuid::Uuid::parse_str(&id).is_ok(), "{bad:?} -> {id}");
    }
    let res = s.client.get(format!("{}/healthz", s.base)).send().await.unwrap();
    assert!(uuid::Uuid::parse_str(res.headers()["x-request-id"].to_str().unwrap()).is_ok());
    // An error, and a refused document, to be counted.
    post(None, json!({ "query": "{ viewer { nosuchfield } }" })).await.unwrap();
    post(None, json!({ "query": format!("{{ viewer {{ {} }} }}", "id ".repeat(20_000)) })).await.unwrap();

    let res = s.client.get(format!("{}/metrics", s.base)).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = res.text().await.unwrap();
    let has = |needle: &str| text.lines().any(|l| l.starts_with(needle));
    for needle in [
        "bellwether_http_requests_total{route=\"/graphql\",operation=\"WhoAmI\",status=\"200\"} 1",
        "bellwether_http_request_duration_seconds_bucket{route=\"/graphql\",operation=\"WhoAmI\",le=",
        "bellwether_graphql_errors_total{code=\"GRAPHQL_VALIDATION_FAILED\"}",
        "bellwether_graphql_refusals_total{limit=\"tokens\"} 1",
        "bellwether_db_pool_connections{state=\"idle\"}",
        "bellwether_worker_queue_depth{queue=\"health\"}",
        "bellwether_http_requests_total{route=\"/healthz\",operation=\"-\",status=\"200\"}",
    ] {
        assert!(has(needle), "{needle} missing from:\n{text}");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_answer_429_with_retry_after() {
    let mut options = Options::default();
    options.limits.rate_requests_per_minute = 4;
    options.limits.rate_cost_per_minute = 0;
    let s = TestServer::start_with(Backend::Sqlite, options).await.expect("sqlite is always available");
    // Two requests of the admin's budget: reading the tenant, creating the other user.
    let t = s.tenant("rate").await;
    let other = s.member(&t, "VIEWER", "Other User").await;
    let ask =
        |token: String| s.client.post(&s.url).bearer_auth(token).json(&json!({ "query": "{ viewer { id } }" })).send();
    for left in ["1", "0"] {
        let res = ask(t.admin_token.clone()).await.unwrap();
        assert_eq!(res.status().as_u16(), 200);
        assert_eq!(res.headers()["ratelimit-limit"], "4");
        assert_eq!(res.headers()["ratelimit-remaining"], left);
    }
    let res = ask(t.admin_token.clone()).await.unwrap();
    assert_eq!(res.status().as_u16(), 429);
    let wait: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=15).contains(&wait), "{wait}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(error_codes(&body), ["RATE_LIMITED"], "{body}");
    assert!(body.get("data").is_none());
    // Budgets are per user.
    assert_eq!(ask(other.token.clone()).await.unwrap().status().as_u16(), 200);
    // Tokenless introspection spends the peer address's budget.
    for _ in 0..4 {
        assert_eq!(s.post(None, "{ __typename }", json!({})).await.0, 200);
    }
    let (status, body) = s.post(None, "{ __typename }", json!({})).await;
    assert_eq!((status, error_codes(&body)), (429, vec!["RATE_LIMITED".to_owned()]), "{body}");
    s.stop().await;

    // Query cost: the expanded selections of each document count against their own budget.
    let mut options = Options::default();
    options.limits.rate_requests_per_minute = 0;
    options.limits.rate_cost_per_minute = 45;
    let s = TestServer::start_with(Backend::Sqlite, options).await.expect("sqlite is always available");
    let t = s.tenant("cost").await;
    let heavy = format!("{{ viewer {{ {} }} }}", (0..20).map(|i| format!("f{i}: id")).collect::<Vec<_>>().join(" "));
    let (status, _) = s.post(Some(&t.admin_token), &heavy, json!({})).await;
    assert_eq!(status, 200, "4 (reading the tenant) + 21 of 45");
    let (status, body) = s.post(Some(&t.admin_token), &heavy, json!({})).await;
    assert_eq!((status, error_codes(&body)), (429, vec!["RATE_LIMITED".to_owned()]), "{body}");
    s.stop().await;
}
