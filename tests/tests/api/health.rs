//! Health: scores recomputed when signals arrive, explained measure by measure, kept in
//! history with what changed, filterable and sortable on accounts; custom scorecards.

use bellwether_tests::{Backend, TestServer, on_every_backend};
use chrono::{Duration, Utc};
use serde_json::{Value, json};

on_every_backend!(health_follows_signals_and_explains_itself, scorecards_can_be_customised);

const HEALTH: &str = "query($id: ID!) { node(id: $id) { ... on Account {
    health { score band trigger scorecard { name isDefault }
      measures { kind label value score weight effectiveWeight contribution detail evidence { name value } }
      changes { previousScore previousBand scoreDelta measures { label previousScore score contributionDelta } } }
    healthHistory { totalCount nodes { score band } } } } }";

/// An hour before the moment `days_ago` days back: whole days behind any `as_of` a moment later,
/// whatever the time of day the test runs.
fn at(days_ago: i64) -> String {
    (Utc::now() - Duration::days(days_ago) - Duration::hours(1)).to_rfc3339()
}

async fn usage(s: &TestServer, token: &str, account: &Value, days: std::ops::RangeInclusive<i64>, value: f64) {
    let items: Vec<Value> = days
        .map(|d| json!({ "account": { "id": account }, "metric": "usage.active_users", "observedAt": at(d), "value": value }))
        .collect();
    let n = items.len() as i64;
    let q = "mutation($i: IngestMetricPointsInput!) { ingestMetricPoints(input: $i) { accepted rejected } }";
    let data = s.gql(token, q, json!({ "i": { "items": items } })).await;
    assert_eq!(data["ingestMetricPoints"], json!({ "accepted": n, "rejected": 0 }));
}

fn measure<'a>(health: &'a Value, kind: &str) -> &'a Value {
    health["measures"].as_array().unwrap().iter().find(|m| m["kind"] == kind).unwrap()
}

async fn health_follows_signals_and_explains_itself(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let t = s.tenant("health").await;
    let token = &t.admin_token;
    let quiet = s.mutate(token, "createAccount", "account", "id", json!({ "name": "Quiet Co", "tier": "KEY" })).await;
    let acme = s
        .mutate(
            token,
            "createAccount",
            "account",
            "id",
            json!({ "name": "Acme", "tier": "STRATEGIC", "externalRef": "A-1" }),
        )
        .await;

    // No signals yet: no score, and every measure says so.
    let data = s.gql(token, HEALTH, json!({ "id": quiet["id"] })).await;
    let h = &data["node"]["health"];
    assert_eq!((h["score"].clone(), h["band"].clone()), (Value::Null, Value::Null));
    assert!(h["measures"].as_array().unwrap().iter().all(|m| m["score"].is_null() && m["contribution"] == 0.0));
    assert_eq!(h["scorecard"], json!({ "name": "Standard health", "isDefault": true }));

    // Four months of steady usage: the usage trend alone scores 80.
    usage(&s, token, &acme["id"], 15..=119, 100.0).await;
    let data = s.gql(token, HEALTH, json!({ "id": acme["id"] })).await;
    let h = &data["node"]["health"];
    assert_eq!((h["score"].as_f64(), h["band"].as_str()), (Some(80.0), Some("GOOD")));
    let u = measure(h, "USAGE_TREND");
    assert_eq!(
        (u["score"].as_f64(), u["effectiveWeight"].as_f64(), u["value"].as_f64()),
        (Some(80.0), Some(1.0), Some(0.0))
    );
    assert_eq!(h["changes"], Value::Null, "the first score has nothing to compare with");

    // Usage halves over the last two weeks: recent average 70 against 100 = -30% -> 16.
    usage(&s, token, &acme["id"], 0..=14, 40.0).await;
    let data = s.gql(token, HEALTH, json!({ "id": acme["id"] })).await;
    assert_eq!(data["node"]["health"]["score"].as_f64(), Some(16.0));
    // Then a critical ticket opens.
    let q = "mutation($i: UpsertSupportTicketsInput!) { upsertSupportTickets(input: $i) { accepted } }";
    s.gql(token, q, json!({ "i": { "items": [{ "account": { "externalRef": "A-1" }, "externalId": "P1", "priority": "CRITICAL", "status": "OPEN", "openedAt": at(2) }] } })).await;
    let data = s.gql(token, HEALTH, json!({ "id": acme["id"] })).await;
    let h = &data["node"]["health"];
    // Usage 16, support 100 - 20 - 10 = 70; weights 25 and 20 -> 16 * 25/45 + 70 * 20/45 = 40.
    assert_eq!((h["score"].as_f64(), h["band"].as_str()), (Some(40.0), Some("POOR")), "{h}");
    let u = measure(h, "USAGE_TREND");
    assert_eq!(u["score"].as_f64(), Some(16.0));
    assert!((u["value"].as_f64().unwrap() + 0.3).abs() < 1e-9);
    assert!(u["detail"].as_str().unwrap().contains("-30.0%"), "{u}");
    let evidence: Vec<&str> = u["evidence"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(evidence, ["current", "baseline", "change"]);
    let support = measure(h, "SUPPORT_LOAD");
    assert_eq!((support["score"].as_f64(), support["effectiveWeight"].as_f64()), (Some(70.0), Some(0.4444)));
    let changes = &h["changes"];
    assert_eq!(
        (changes["previousScore"].as_f64(), changes["previousBand"].as_str(), changes["scoreDelta"].as_f64()),
        (Some(16.0), Some("POOR"), Some(24.0))
    );
    // Support load now counts (+31.11 points); usage keeps its score but weighs less (-7.11).
    let moved: Vec<(&str, f64)> = changes["measures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["label"].as_str().unwrap(), m["contributionDelta"].as_f64().unwrap()))
        .collect();
    assert_eq!(moved, [("Support load", 31.11), ("Usage trend (usage.active_users)", -7.11)]);
    assert_eq!(data["node"]["healthHistory"]["totalCount"], 3);
    assert_eq!(
        data["node"]["healthHistory"]["nodes"],
        json!([{ "score": 40.0, "band": "POOR" }, { "score": 16.0, "band": "POOR" }, { "score": 80.0, "band": "GOOD" }])
    );

    // Reading again computes nothing new.
    let again = s.gql(token, HEALTH, json!({ "id": acme["id"] })).await;
    assert_eq!(again["node"]["healthHistory"]["totalCount"], 3);

    // An executive meeting brings engagement in.
    let exec = s
        .mutate(
            token,
            "createContact",
            "contact",
            "id",
            json!({ "accountId": acme["id"], "name": "Eve", "level": "EXECUTIVE", "role": "EXECUTIVE_SPONSOR" }),
        )
        .await;
    s.mutate(token, "logInteraction", "interaction", "id", json!({ "accountId": acme["id"], "kind": "EXECUTIVE_BUSINESS_REVIEW", "occurredAt": at(1), "summary": "EBR", "contactIds": [exec["id"]] })).await;
    let data = s.gql(token, HEALTH, json!({ "id": acme["id"] })).await;
    let e = measure(&data["node"]["health"], "ENGAGEMENT_RECENCY");
    assert_eq!(e["score"].as_f64(), Some(100.0), "{e}");
    assert_eq!(data["node"]["healthHistory"]["totalCount"], 4);

    // The worker's step drains every dirty account; afterwards the stored default score on the
    // account (used for filtering and ordering) equals the explained current score.
    while bellwether_domain::health::recompute_dirty(&s.db, 100).await.unwrap() > 0 {}
    let q = "query($id: ID!) { node(id: $id) { ... on Account { healthScore healthBand health { score band } } } }";
    let data = s.gql(token, q, json!({ "id": acme["id"] })).await;
    let node = &data["node"];
    assert_eq!((&node["healthScore"], &node["healthBand"]), (&node["health"]["score"], &node["health"]["band"]));

    // Health of a whole list, batched through one loader, agrees with each account's stored score.
    let data = s.gql(token, "{ accounts { nodes { name healthScore health { score } } } }", json!({})).await;
    let nodes = data["accounts"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 2);
    for n in nodes {
        assert_eq!(n["healthScore"], n["health"]["score"], "{n}");
    }

    // Accounts filter and sort by their current default health.
    let q = "{ poor: accounts(filter: { healthBands: [POOR, WATCH] }) { nodes { name } }
        scored: accounts(filter: { healthScoreMin: 0 }) { totalCount }
        sorted: accounts(orderBy: { field: HEALTH_SCORE, direction: DESC }) { nodes { name } } }";
    let data = s.gql(token, q, json!({})).await;
    assert_eq!(data["poor"]["nodes"], json!([{ "name": "Acme" }]));
    assert_eq!(data["scored"]["totalCount"], 1, "accounts without a score are not 'at least 0'");
    assert_eq!(data["sorted"]["nodes"], json!([{ "name": "Acme" }, { "name": "Quiet Co" }]), "no score sorts last");
    s.stop().await;
}

async fn scorecards_can_be_customised(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let t = s.tenant("cards").await;
    let token = &t.admin_token;
    let a = s.mutate(token, "createAccount", "account", "id", json!({ "name": "Stark", "tier": "KEY" })).await;
    let q = "mutation($i: RecordSurveyResponsesInput!) { recordSurveyResponses(input: $i) { accepted } }";
    let items: Vec<Value> = [10, 9, 3, 10]
        .iter()
        .map(|score| json!({ "account": { "id": a["id"] }, "kind": "NPS", "score": score, "respondedAt": at(5) }))
        .collect();
    s.gql(token, q, json!({ "i": { "items": items } })).await;

    let voice = json!({ "measures": [{ "kind": "NPS_CSAT", "weight": 1 }], "bands": { "good": 80, "watch": 60 } });
    let card = s
        .mutate(
            token,
            "createHealthScorecard",
            "scorecard",
            "id name isDefault version measures { kind weight } bands { good watch }",
            json!({ "name": "Voice of the customer", "definition": voice }),
        )
        .await;
    assert_eq!(card["isDefault"], false);
    assert_eq!(card["bands"], json!({ "good": 80.0, "watch": 60.0 }));
    // NPS (3 promoters, 1 detractor of 4) = 50 -> (50 + 100) / 2 = 75 -> WATCH with these bands.
    let q = "query($id: ID!, $card: ID) { node(id: $id) { ... on Account { healthScore health(scorecardId: $card) { score band scorecard { name } } } } }";
    let data = s.gql(token, q, json!({ "id": a["id"], "card": card["id"] })).await;
    assert_eq!(
        data["node"]["health"],
        json!({ "score": 75.0, "band": "WATCH", "scorecard": { "name": "Voice of the customer" } })
    );

    // Making it the default moves the account's default score with it.
    s.mutate(
        token,
        "updateHealthScorecard",
        "scorecard",
        "isDefault version",
        json!({ "id": card["id"], "makeDefault": true, "expectedVersion": 1 }),
    )
    .await;
    let cards = s.gql(token, "{ healthScorecards { name isDefault } }", json!({})).await;
    assert_eq!(
        cards["healthScorecards"],
        json!([{ "name": "Voice of the customer", "isDefault": true }, { "name": "Standard health", "isDefault": false }])
    );
    let data = s.gql(token, q, json!({ "id": a["id"], "card": null })).await;
    assert_eq!(data["node"]["health"]["scorecard"]["name"], "Voice of the customer");
    let data =
        s.gql(token, "{ accounts(filter: { healthBands: [WATCH] }) { nodes { healthScore } } }", json!({})).await;
    assert_eq!(data["accounts"]["nodes"], json!([{ "healthScore": 75.0 }]));

    // Invalid definitions and stale versions are user errors.
    let bad = json!({ "measures": [{ "kind": "USAGE_TREND", "weight": 0 }, { "kind": "NPS_CSAT", "weight": 5, "metric": "x" }], "bands": { "good": 40, "watch": 60 } });
    let errors =
        s.mutate_err(token, "createHealthScorecard", "scorecard", json!({ "name": "Broken", "definition": bad })).await;
    let fields: Vec<String> = errors
        .iter()
        .map(|e| e["field"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect::<Vec<_>>().join("."))
        .collect();
    assert_eq!(
        fields,
        [
            "input.definition.measures.0.weight",
            "input.definition.measures.0.metric",
            "input.definition.measures.1.metric",
            "input.definition.bands"
        ]
    );
    let errors = s
        .mutate_err(
            token,
            "updateHealthScorecard",
            "scorecard",
            json!({ "id": card["id"], "name": "Renamed", "expectedVersion": 1 }),
        )
        .await;
    assert_eq!(errors[0]["code"], "CONFLICT");
    let errors = s
        .mutate_err(
            token,
            "createHealthScorecard",
            "scorecard",
            json!({ "name": "Standard health", "definition": voice }),
        )
        .await;
    assert_eq!(errors[0]["field"], json!(["input", "name"]));

    // Viewers cannot change scorecards.
    let viewer = s.member(&t, "VIEWER", "Vera").await;
    let (_, body) = s
        .post(
            Some(&viewer.token),
            "mutation($i: CreateHealthScorecardInput!) { createHealthScorecard(input: $i) { scorecard { id } } }",
            json!({ "i": { "name": "Mine", "definition": voice } }),
        )
        .await;
    assert_eq!(bellwether_tests::error_codes(&body), vec!["FORBIDDEN"]);
    s.stop().await;
}
