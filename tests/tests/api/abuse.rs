//! What an attacker or a careless client sends: documents whose validation would explode, long
//! lists, malformed bulk items, control characters, oversized bodies. Each gets a clear, coded
//! error and changes nothing; the server stays responsive.

use bellwether_tests::{Backend, Options, TestServer, error_codes, fragment_bomb, on_every_backend};
use chrono::{Duration, Utc};
use serde_json::{Value, json};

on_every_backend!(
    documents_are_costed_before_they_expand,
    long_lists_are_bounded_and_named,
    bulk_items_fail_alone,
    control_characters_and_currencies_are_refused,
    errors_carry_codes_and_responses_keep_field_order
);

/// The resident memory of this process (the test server runs in it).
fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS");
    kb * 1024
}

fn limit_of(body: &Value) -> &str {
    body["errors"][0]["extensions"]["limit"].as_str().unwrap_or("")
}

/// The standard introspection query of GraphQL tools (graphql-js `getIntrospectionQuery()`,
/// with descriptions, deprecated fields and `specifiedByURL`): 14 fields deep.
pub const INTROSPECTION: &str = include_str!("../../fixtures/introspection.graphql");

async fn documents_are_costed_before_they_expand(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let t = s.tenant("bombs").await;
    let viewer = s.member(&t, "VIEWER", "Vera Viewer").await;

    // Ten levels of ten: 10^9 selections once expanded, 810 bytes of text. Refused, naming
    // the limit, by any signed-in user, without expanding anything.
    let q = fragment_bomb(10, 10);
    assert!(q.len() < 1_000);
    let before = resident_bytes();
    let (status, body) = s.post(Some(&viewer.token), &q, json!({})).await;
    assert_eq!(status, 200);
    assert!(body.get("data").is_none(), "{body}");
    assert_eq!(error_codes(&body), ["GRAPHQL_VALIDATION_FAILED"], "{body}");
    assert_eq!(limit_of(&body), "complexity", "{body}");

    // Sixteen at once, while the probes keep answering; memory stays flat.
    let bombs: Vec<_> = (0..16)
        .map(|_| {
            let (client, url, token, q) = (s.client.clone(), s.url.clone(), viewer.token.clone(), q.clone());
            tokio::spawn(async move {
                let res = client.post(url).bearer_auth(token).json(&json!({ "query": q })).send().await.unwrap();
                (res.status().as_u16(), res.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let health = s.client.get(format!("{}/healthz", s.base)).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    for b in bombs {
        let (status, body) = b.await.unwrap();
        assert_eq!((status, limit_of(&body)), (200, "complexity"), "{body}");
    }
    let grown = resident_bytes().saturating_sub(before);
    assert!(grown < 200 << 20, "memory grew by {} MiB answering fragment bombs", grown >> 20);

    // Cycles, token floods, bracket nesting, aliases hidden in fragments, operation floods.
    let cases: Vec<(String, &str)> = vec![
        ("{ viewer { ...A } } fragment A on User { ...B } fragment B on User { id ...A }".into(), "fragmentCycles"),
        // A bomb of spreads of a fragment that does not exist: no fields at all, yet async-graphql
        // would walk every spread before validation says "unknown".
        (
            {
                let mut q = String::from("{ viewer { ...F9 } }\nfragment F0 on User { ...X ...X ...X ...X ...X }\n");
                for l in 1..10 {
                    q.push_str(&format!("fragment F{l} on User {{ {} }}\n", format!("...F{} ", l - 1).repeat(10)));
                }
                q
            },
            "knownFragments",
        ),
        // Names and numbers are lexed as the parser reads them: `id...X...X` is many tokens.
        (format!("{{ viewer {{ id{} }} }}", "...X".repeat(10_000)), "tokens"),
        (format!("{{ viewer {{ {} }} }}", "id ".repeat(20_000)), "tokens"),
        (format!("{{ viewer {}{} }}", "{ id ".repeat(70), "}".repeat(70)), "nesting"),
        (
            format!(
                "{{ accounts(filter: {{ tiers: {}KEY{} }}) {{ totalCount }} }}",
                "[".repeat(100),
                "]".repeat(100)
            ),
            "nesting",
        ),
        (
            format!(
                "{{ viewer {{ {} }} }} fragment F on User {{ {} }}",
                "...F ".repeat(7),
                (0..5).map(|i| format!("a{i}: id")).collect::<Vec<_>>().join(" ")
            ),
            "aliases",
        ),
        ((0..60).map(|i| format!("query Q{i} {{ viewer {{ id }} }}")).collect::<Vec<_>>().join("\n"), "operations"),
        (
            format!(
                "query({}) {{ viewer {{ id }} }}",
                (0..150).map(|i| format!("$v{i}: Int")).collect::<Vec<_>>().join(", ")
            ),
            "variables",
        ),
        // Deep data queries keep the ordinary depth limit.
        (
            "{ accounts { nodes { parent { parent { parent { parent { parent { parent { parent { parent { parent { parent { parent { id } } } } } } } } } } } } } }".into(),
            "depth",
        ),
        // Introspection nesting list fields multiplies the schema by itself.
        ("{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }".into(), "introspectionLists"),
    ];
    for (query, limit) in cases {
        let (status, body) = s.post(Some(&viewer.token), &query, json!({})).await;
        assert_eq!(status, 200, "{limit}");
        assert!(body.get("data").is_none(), "{limit}: {body}");
        assert_eq!(error_codes(&body), ["GRAPHQL_VALIDATION_FAILED"], "{limit}: {body}");
        assert_eq!(limit_of(&body), limit, "{body}");
        assert!(body["errors"][0]["extensions"]["max"].is_number(), "{body}");
    }

    // A large variable referenced through fragments thousands of times: validation would clone
    // it at every reference.
    let mut q = String::from(
        "query($ids: [ID!]!) { ...F3 ...F3 ...F3 }\nfragment F0 on Query { nodes(ids: $ids) { __typename } }\n",
    );
    for l in 1..4 {
        q.push_str(&format!("fragment F{l} on Query {{ {} }}\n", format!("...F{} ", l - 1).repeat(10)));
    }
    let ids: Vec<String> = (0..10_000).map(|i| format!("id-{i}")).collect();
    let (status, body) = s.post(Some(&viewer.token), &q, json!({ "ids": ids })).await;
    assert_eq!((status, limit_of(&body)), (200, "variableUses"), "{body}");
    // A token is checked before the document is: a forged one gets 401 whatever it sends.
    let (status, _) = s.post(Some("forged.token.here"), &fragment_bomb(10, 10), json!({})).await;
    assert_eq!(status, 401);

    // The standard introspection query (depth 14) goes through: docs explorers and code
    // generators work.
    let data = s.gql(&viewer.token, INTROSPECTION, json!({})).await;
    let types = data["__schema"]["types"].as_array().unwrap();
    assert!(types.iter().any(|t| t["name"] == "Account"), "no Account type");
    s.stop().await;
}

async fn long_lists_are_bounded_and_named(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let t = s.tenant("lists").await;
    let token = &t.admin_token;
    s.mutate(token, "createAccount", "account", "id", json!({ "name": "Acme", "tier": "KEY", "segment": "retail" }))
        .await;
    // 32,766 enum values (past SQLite's parameter limit): deduplicated, the query answers.
    let tiers: Vec<&str> = (0..32_766).map(|i| if i % 2 == 0 { "KEY" } else { "GROWTH" }).collect();
    let data = s
        .gql(
            token,
            "query($t: [Tier!]) { accounts(filter: { tiers: $t }) { totalCount nodes { name } } }",
            json!({ "t": tiers }),
        )
        .await;
    assert_eq!(data["accounts"]["totalCount"], 1);
    for (query, vars) in [
        (
            "query($t: [RiskCategory!]) { risks(filter: { categories: $t }) { totalCount } }",
            json!({ "t": vec!["FINANCIAL"; 40_000] }),
        ),
        ("query($t: [Role!]) { users(filter: { roles: $t }) { totalCount } }", json!({ "t": vec!["ADMIN"; 40_000] })),
    ] {
        s.gql(token, query, vars).await;
    }
    // Free-text lists have a cap; past it the error names the argument and nothing is queried.
    let segments: Vec<String> = (0..101).map(|i| format!("segment-{i}")).collect();
    let (status, body) = s
        .post(
            Some(token),
            "query($s: [String!]) { accounts(filter: { segments: $s }) { totalCount } }",
            json!({ "s": segments }),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(error_codes(&body), ["BAD_USER_INPUT"], "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("filter.segments") && message.contains("100"), "{message}");
    let data = s
        .gql(
            token,
            "query($s: [String!]) { accounts(filter: { segments: $s }) { totalCount } }",
            json!({ "s": vec!["retail"; 100] }),
        )
        .await;
    assert_eq!(data["accounts"]["totalCount"], 1);
    // Ids lists: `nodes` takes 100.
    let ids: Vec<String> = (0..101).map(|i| format!("id{i}")).collect();
    let (_, body) = s.post(Some(token), "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", json!({ "ids": ids })).await;
    assert_eq!(error_codes(&body), ["BAD_USER_INPUT"]);
    s.stop().await;
}

const INGEST: &str = "mutation($i: IngestMetricPointsInput!) { ingestMetricPoints(input: $i) {
    accepted rejected userErrors { field code message }
    results(statuses: [REJECTED]) { index status errors { field code message } } } }";

async fn bulk_items_fail_alone(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let t = s.tenant("bulk").await;
    let token = &t.admin_token;
    s.mutate(token, "createAccount", "account", "id", json!({ "name": "Acme", "tier": "KEY", "externalRef": "A-1" }))
        .await;
    let start = Utc::now() - Duration::days(30);
    let mut items: Vec<Value> = (0..5_000)
        .map(|i| {
            json!({
                "account": { "externalRef": "A-1" },
                "metric": "usage.logins",
                "observedAt": (start + Duration::minutes(i)).to_rfc3339(),
                "value": 1
            })
        })
        .collect();
    items[1234]["observedAt"] = json!("yesterday at noon");
    let data = s.gql(token, INGEST, json!({ "i": { "items": items } })).await;
    let p = &data["ingestMetricPoints"];
    assert_eq!((p["accepted"].as_i64(), p["rejected"].as_i64()), (Some(4_999), Some(1)), "{p}");
    let rejected = &p["results"][0];
    assert_eq!(rejected["index"], 1234);
    assert_eq!(rejected["errors"][0]["field"], json!(["input", "items", "1234", "observedAt"]));
    assert!(rejected["errors"][0]["message"].as_str().unwrap().contains("RFC 3339"), "{rejected}");

    // Invoices: a malformed amount or date rejects its own item.
    let invoices = json!([
        { "account": { "externalRef": "A-1" }, "number": "I-1", "amountMinor": 1000, "currency": "EUR",
          "issuedOn": "2026-01-01", "dueOn": "2026-01-31", "status": "OPEN" },
        { "account": { "externalRef": "A-1" }, "number": "I-2", "amountMinor": 1000, "currency": "EUR",
          "issuedOn": "2026-02-30", "dueOn": "2026-03-31", "status": "OPEN" },
        { "account": { "externalRef": "A-1" }, "number": "I-3", "amountMinor": 1.5, "currency": "EUR",
          "issuedOn": "2026-01-01", "dueOn": "2026-01-31", "status": "OPEN" }
    ]);
    let data = s
        .gql(
            token,
            "mutation($i: UpsertInvoicesInput!) { upsertInvoices(input: $i) { accepted rejected
                results(statuses: [REJECTED]) { index errors { field } } } }",
            json!({ "i": { "items": invoices } }),
        )
        .await;
    let p = &data["upsertInvoices"];
    assert_eq!((p["accepted"].as_i64(), p["rejected"].as_i64()), (Some(1), Some(2)), "{p}");
    assert_eq!(p["results"][0]["errors"][0]["field"], json!(["input", "items", "1", "issuedOn"]));
    assert_eq!(p["results"][1]["errors"][0]["field"], json!(["input", "items", "2", "amountMinor"]));

    // Over 5,000 items: a user error, even when the query selects nothing but it; nothing
    // is written.
    items.push(items[0].clone());
    let data = s
        .gql(
            token,
            "mutation($i: IngestMetricPointsInput!) { ingestMetricPoints(input: $i) { userErrors { field message } } }",
            json!({ "i": { "items": items } }),
        )
        .await;
    let errors = &data["ingestMetricPoints"]["userErrors"];
    assert_eq!(errors[0]["field"], json!(["input", "items"]), "{errors}");
    let count = s
        .gql(
            token,
            "{ accountByExternalRef(externalRef: \"A-1\") { metricPoints(metric: \"usage.logins\") { totalCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(count["accountByExternalRef"]["metricPoints"]["totalCount"], 4_999);
    s.stop().await;
}

async fn control_characters_and_currencies_are_refused(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let t = s.tenant("controls").await;
    let token = &t.admin_token;
    // A name that displays as another (right-to-left override), hidden characters.
    for name in ["\u{202E}emcA", "Ac\u{200B}me", "Acme\u{0}"] {
        let errors = s.mutate_err(token, "createAccount", "account", json!({ "name": name, "tier": "KEY" })).await;
        assert_eq!(errors[0]["field"], json!(["input", "name"]), "{name:?}: {errors:?}");
    }
    // Currencies are ISO 4217, with their minor units.
    let errors = s
        .mutate_err(
            token,
            "createAccount",
            "account",
            json!({ "name": "Acme", "tier": "KEY", "annualValue": { "amountMinor": 100, "currency": "XYZ" } }),
        )
        .await;
    assert_eq!(errors[0]["field"], json!(["input", "annualValue", "currency"]), "{errors:?}");
    let data = s.gql(token, "{ accounts { totalCount } }", json!({})).await;
    assert_eq!(data["accounts"]["totalCount"], 0, "a refused input changed something");
    let yen = s
        .mutate(
            token,
            "createAccount",
            "account",
            "id annualValue { amountMinor currency exponent }",
            json!({ "name": "Tokyo", "tier": "KEY", "annualValue": { "amountMinor": 5000000, "currency": "JPY" } }),
        )
        .await;
    assert_eq!(yen["annualValue"], json!({ "amountMinor": 5000000, "currency": "JPY", "exponent": 0 }));
    // Summaries keep tabs and newlines and refuse NUL and BEL.
    for summary in ["status call\u{0}", "ring\u{7}"] {
        let errors = s
            .mutate_err(
                token,
                "logInteraction",
                "interaction",
                json!({ "accountId": yen["id"], "kind": "CALL", "occurredAt": "2026-01-01T00:00:00Z", "summary": summary }),
            )
            .await;
        assert_eq!(errors[0]["field"], json!(["input", "summary"]), "{summary:?}: {errors:?}");
    }
    s.mutate(
        token,
        "logInteraction",
        "interaction",
        "id",
        json!({ "accountId": yen["id"], "kind": "CALL", "occurredAt": "2026-01-01T00:00:00Z", "summary": "agenda:\n\t1. renewal" }),
    )
    .await;
    s.stop().await;
}

async fn errors_carry_codes_and_responses_keep_field_order(backend: Backend) {
    let mut options = Options::default();
    options.limits.max_body_bytes = 16 * 1024;
    let Some(s) = TestServer::start_with(backend, options).await else { return };
    let t = s.tenant("codes").await;
    let token = &t.admin_token;

    // The response follows the selection set's order, not the alphabet.
    let res = s
        .client
        .post(&s.url)
        .bearer_auth(token)
        .json(&json!({ "query": "{ viewer { role name email id } organisation { slug id } }" }))
        .send()
        .await
        .unwrap();
    let text = res.text().await.unwrap();
    let at = |k: &str| text.find(&format!("\"{k}\"")).unwrap_or_else(|| panic!("{k} missing in {text}"));
    assert!(at("role") < at("name") && at("name") < at("email") && at("email") < at("id"), "{text}");
    assert!(at("viewer") < at("organisation") && at("organisation") < at("slug"), "{text}");

    // Every top-level error has a code, and none is reported twice.
    let cases = [
        ("{ viewer { id ", json!({}), "GRAPHQL_PARSE_FAILED"),
        ("{ viewer { nosuchfield } }", json!({}), "GRAPHQL_VALIDATION_FAILED"),
        ("{ accounts(filter: { tiers: [NOPE] }) { totalCount } }", json!({}), "GRAPHQL_VALIDATION_FAILED"),
        ("query($n: Int!) { accounts(first: $n) { totalCount } }", json!({ "n": "ten" }), "GRAPHQL_VALIDATION_FAILED"),
        ("query($n: Int!) { accounts(first: $n) { totalCount } }", json!({}), "GRAPHQL_VALIDATION_FAILED"),
        ("{ accounts(filter: { renewalFrom: \"soon\" }) { totalCount } }", json!({}), "BAD_USER_INPUT"),
        ("{ accounts(first: 1000) { totalCount } }", json!({}), "BAD_USER_INPUT"),
        (
            "{ accounts(first: 100) { nodes { children(first: 100) { nodes { contacts(first: 100) { nodes { id } } } } } } }",
            json!({}),
            "GRAPHQL_VALIDATION_FAILED",
        ),
    ];
    for (query, variables, code) in cases {
        let (_, body) = s.post(Some(token), query, variables).await;
        let errors = body["errors"].as_array().unwrap_or_else(|| panic!("{query}: no errors in {body}"));
        assert!(!errors.is_empty(), "{query}");
        for e in errors {
            assert!(e["extensions"]["code"].is_string(), "{query}: an error without a code: {e}");
        }
        assert_eq!(error_codes(&body)[0], code, "{query}: {body}");
        let messages: Vec<&Value> = errors.iter().map(|e| &e["message"]).collect();
        let mut distinct = messages.clone();
        distinct.dedup();
        assert_eq!(messages.len(), distinct.len(), "{query}: an error reported twice: {body}");
    }
    let res = s
        .client
        .post(&s.url)
        .bearer_auth(token)
        .json(&json!({ "query": "query A { viewer { id } } query B { viewer { id } }" }))
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(error_codes(&body), ["OPERATION_RESOLUTION_FAILURE"], "{body}");

    // A body over the limit: 413 with a GraphQL error, not plain text.
    let big = json!({ "query": format!("{{ viewer {{ id }} }} # {}", "x".repeat(20 * 1024)) });
    let res = s.client.post(&s.url).bearer_auth(token).json(&big).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 413);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(error_codes(&body), ["BAD_USER_INPUT"], "{body}");
    assert_eq!(body["errors"][0]["extensions"]["limit"], "bodyBytes");
    s.stop().await;
}
