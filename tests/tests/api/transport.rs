//! GraphQL over HTTP and the query limits: methods, media types, body size, depth, complexity,
//! aliases, directives, introspection and suggestions.

use bellwether_tests::{Backend, Options, TestServer, error_codes, on_every_backend};
use serde_json::{Value, json};

on_every_backend!(http_rules_and_limits, production_mode_hides_the_schema);

async fn raw(
    s: &TestServer,
    token: &str,
    content_type: Option<&str>,
    accept: Option<&str>,
    body: String,
) -> (u16, String, String) {
    let mut req = s.client.post(&s.url).bearer_auth(token).body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let ct = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    (status, ct, res.text().await.unwrap())
}

async fn http_rules_and_limits(backend: Backend) {
    let mut options = Options::default();
    options.limits.max_body_bytes = 8 * 1024;
    options.limits.max_depth = 8;
    options.limits.max_complexity = 5_000;
    options.limits.max_aliases = 10;
    options.limits.max_directives = 3;
    let Some(s) = TestServer::start_with(backend, options).await else {
        return;
    };
    let t = s.tenant("http").await;
    let token = &t.admin_token;

    // Probes and GraphiQL need no token.
    for path in ["/healthz", "/readyz"] {
        assert_eq!(s.client.get(format!("{}{path}", s.base)).send().await.unwrap().status().as_u16(), 200, "{path}");
    }
    let page = s.client.get(&s.url).header("accept", "text/html").send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.unwrap().to_lowercase().contains("graphiql"));

    // GET queries work; GET mutations are refused with 405.
    let res = s.client.get(&s.url).bearer_auth(token).query(&[("query", "{ viewer { email } }")]).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["data"]["viewer"]["email"], "admin@http.test");
    let res = s
        .client
        .get(&s.url)
        .bearer_auth(token)
        .query(&[("query", "mutation { archiveUser(input: { id: \"x\" }) { userErrors { code } } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 405);
    assert_eq!(res.headers().get("allow").unwrap(), "POST");

    // Media types: JSON only (CSRF-safe), response type negotiated.
    let q = json!({ "query": "{ __typename }" }).to_string();
    for ct in
        [None, Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("application/json; charset=latin1")]
    {
        let (status, _, _) = raw(&s, token, ct, None, q.clone()).await;
        assert_eq!(status, 415, "{ct:?}");
    }
    let (status, ct, _) =
        raw(&s, token, Some("application/json"), Some("application/graphql-response+json"), q.clone()).await;
    assert_eq!((status, ct.as_str()), (200, "application/graphql-response+json; charset=utf-8"));
    let (status, ct, _) = raw(&s, token, Some("application/json"), None, q.clone()).await;
    assert_eq!((status, ct.as_str()), (200, "application/json; charset=utf-8"));
    let (status, _, _) = raw(&s, token, Some("application/json"), Some("text/csv"), q.clone()).await;
    assert_eq!(status, 406);

    // Malformed requests are 400.
    for body in [
        "{",
        "[]",
        "[{\"query\":\"{ __typename }\"}]",
        "{\"query\": 1}",
        "{\"variables\": {}}",
        "{\"query\":\"{ __typename }\",\"variables\":[1]}",
    ] {
        let (status, _, text) = raw(&s, token, Some("application/json"), None, body.into()).await;
        assert_eq!(status, 400, "{body}: {text}");
    }
    // Bodies over the limit are refused before parsing.
    let big = json!({ "query": format!("{{ __typename }} # {}", "x".repeat(10 * 1024)) }).to_string();
    let (status, _, _) = raw(&s, token, Some("application/json"), None, big).await;
    assert_eq!(status, 413);

    // Depth, complexity, aliases, directives, page sizes: rejected before execution.
    let deep =
        "{ accounts { nodes { parent { parent { parent { parent { parent { parent { parent { id } } } } } } } } } }";
    let complex = "{ accounts(first: 100) { nodes { children(first: 100) { nodes { contacts(first: 100) { nodes { id } } } } } } }";
    let aliases = format!("{{ {} }}", (0..11).map(|i| format!("a{i}: __typename")).collect::<Vec<_>>().join(" "));
    let directives = "{ viewer { id @include(if: true) @include(if: true) @include(if: true) @include(if: true) } }";
    for query in [deep.to_owned(), complex.to_owned(), aliases, directives.to_owned()] {
        let (status, body) = s.post(Some(token), &query, json!({})).await;
        assert_eq!(status, 200, "{query}");
        assert!(body.get("data").is_none(), "{query} was executed: {body}");
        assert!(!body["errors"].as_array().unwrap().is_empty());
        let (status, _, _) = raw(
            &s,
            token,
            Some("application/json"),
            Some("application/graphql-response+json"),
            json!({ "query": query }).to_string(),
        )
        .await;
        assert_eq!(status, 400, "{query}");
    }
    let ids: Vec<String> = (0..101).map(|i| format!("id{i}")).collect();
    let (_, body) = s.post(Some(token), "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", json!({ "ids": ids })).await;
    assert_eq!(error_codes(&body), vec!["BAD_USER_INPUT"]);

    // Development mode: introspection and suggestions are on.
    let (_, body) = s.post(Some(token), "{ acounts { totalCount } }", json!({})).await;
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("Did you mean"), "{body}");
    s.gql(token, "{ __schema { types { name } } }", json!({})).await;
    s.stop().await;
}

async fn production_mode_hides_the_schema(backend: Backend) {
    let Some(s) = TestServer::start_with(backend, Options { production: true, ..Options::default() }).await else {
        return;
    };
    let t = s.tenant("prod").await;
    let (_, body) = s.post(Some(&t.admin_token), "{ acounts { totalCount } }", json!({})).await;
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(!message.contains("Did you mean") && !message.contains("accounts"), "{message}");
    let (_, body) = s.post(Some(&t.admin_token), "{ __schema { types { name } } }", json!({})).await;
    assert!(body["data"]["__schema"].is_null(), "introspection answered in production: {body}");
    let (_, body) = s.post(Some(&t.admin_token), "{ __type(name: \"Account\") { fields { name } } }", json!({})).await;
    assert!(body["data"]["__type"].is_null(), "introspection answered in production: {body}");
    s.gql(&t.admin_token, "{ viewer { id } }", json!({})).await;
    s.stop().await;
}
