//! Signals through the API: bulk ingestion with a result per item, idempotent retries,
//! upserts, validation, listing and series.

use bellwether_tests::{Backend, TestServer, on_every_backend};
use chrono::{Duration, Utc};
use serde_json::{Value, json};

on_every_backend!(metric_batches_report_each_item, tickets_and_invoices_upsert, surveys_assessments_and_contracts);

const INGEST: &str = "mutation($i: IngestMetricPointsInput!) { ingestMetricPoints(input: $i) {
    accepted updated duplicates rejected userErrors { field code message }
    results { index status errors { field code message } } } }";

fn day(d: i64) -> String {
    (Utc::now() - Duration::days(d)).date_naive().and_hms_opt(9, 0, 0).unwrap().and_utc().to_rfc3339()
}

/// Index -> (status, first error's field path and code).
fn outcomes(payload: &Value) -> Vec<(String, Option<(String, String)>)> {
    payload["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let err = r["errors"].get(0).map(|e| {
                let path: Vec<&str> = e["field"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
                (path.join("."), e["code"].as_str().unwrap().to_owned())
            });
            (r["status"].as_str().unwrap().to_owned(), err)
        })
        .collect()
}

async fn metric_batches_report_each_item(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let t = s.tenant("metrics").await;
    let token = &t.admin_token;
    let acme = s
        .mutate(
            token,
            "createAccount",
            "account",
            "id",
            json!({ "name": "Acme", "tier": "KEY", "externalRef": "CRM-7" }),
        )
        .await;
    let by_ref = json!({ "externalRef": "CRM-7" });
    let by_id = json!({ "id": acme["id"] });
    let items = json!([
        { "account": by_ref, "metric": "usage.active_users", "observedAt": day(2), "value": 40 },
        { "account": by_id, "metric": "usage.active_users", "observedAt": day(1), "value": 42, "source": "product-db" },
        { "account": by_id, "metric": "usage.active_users", "observedAt": day(1), "value": 43 },
        { "account": by_ref, "metric": "usage.unknown", "observedAt": day(1), "value": 1 },
        { "account": { "externalRef": "CRM-404" }, "metric": "usage.logins", "observedAt": day(1), "value": 1 },
        { "account": by_ref, "metric": "usage.logins", "observedAt": day(1), "value": -3 },
        { "account": by_ref, "metric": "usage.logins", "observedAt": (Utc::now() + Duration::days(3)).to_rfc3339(), "value": 3 },
        { "account": by_ref, "metric": "usage.logins", "observedAt": day(1), "value": 12 },
    ]);
    let data = s.gql(token, INGEST, json!({ "i": { "items": items } })).await;
    let p = &data["ingestMetricPoints"];
    let e = |f: &str, c: &str| Some((f.to_owned(), c.to_owned()));
    assert_eq!(
        outcomes(p),
        vec![
            ("ACCEPTED".into(), None),
            ("ACCEPTED".into(), None),
            ("REJECTED".into(), e("input.items.2.observedAt", "INVALID")),
            ("REJECTED".into(), e("input.items.3.metric", "NOT_FOUND")),
            ("REJECTED".into(), e("input.items.4.account.externalRef", "NOT_FOUND")),
            ("REJECTED".into(), e("input.items.5.value", "INVALID")),
            ("REJECTED".into(), e("input.items.6.observedAt", "INVALID")),
            ("ACCEPTED".into(), None),
        ]
    );
    assert_eq!((p["accepted"].as_i64(), p["rejected"].as_i64()), (Some(3), Some(5)));

    // The same batch again changes nothing: accepted items are now duplicates.
    let data = s.gql(token, INGEST, json!({ "i": { "items": items } })).await;
    let p = &data["ingestMetricPoints"];
    assert_eq!((p["accepted"].as_i64(), p["duplicates"].as_i64(), p["rejected"].as_i64()), (Some(0), Some(3), Some(5)));
    // Observations are immutable: a different value at a recorded time is a conflict.
    let changed = json!([{ "account": by_ref, "metric": "usage.active_users", "observedAt": day(2), "value": 41 }]);
    let data = s.gql(token, INGEST, json!({ "i": { "items": changed } })).await;
    assert_eq!(outcomes(&data["ingestMetricPoints"])[0], ("REJECTED".into(), e("input.items.0.value", "CONFLICT")));

    // An oversized batch is refused whole.
    let big: Vec<Value> = (0..5001)
        .map(|i| json!({ "account": by_ref, "metric": "usage.logins", "observedAt": format!("2025-01-01T00:00:{:02}.{:06}Z", i / 1000, i % 1000), "value": 1 }))
        .collect();
    let data = s.gql(token, INGEST, json!({ "i": { "items": big } })).await;
    let p = &data["ingestMetricPoints"];
    assert_eq!(p["userErrors"][0]["field"], json!(["input", "items"]));
    assert_eq!(p["accepted"], 0);

    // Only REJECTED results when asked.
    let q = "mutation($i: IngestMetricPointsInput!) { ingestMetricPoints(input: $i) { results(statuses: [REJECTED]) { index } } }";
    let data = s.gql(token, q, json!({ "i": { "items": items } })).await;
    let indexes: Vec<i64> = data["ingestMetricPoints"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["index"].as_i64().unwrap())
        .collect();
    assert_eq!(indexes, vec![2, 3, 4, 5, 6]);

    // Stored: raw points and a downsampled series.
    let q = r#"query($id: ID!, $from: DateTime!) { node(id: $id) { ... on Account {
        metricPoints(metric: "usage.active_users") { totalCount nodes { value source } }
        logins: metricSeries(metric: "usage.logins", from: $from, buckets: 10) { metric { key aggregation } buckets { value count } }
        unknown: metricSeries(metric: "nope") { from }
    } } }"#;
    let data = s.gql(token, q, json!({ "id": acme["id"], "from": day(9) })).await;
    let node = &data["node"];
    assert_eq!(node["metricPoints"]["totalCount"], 2);
    assert_eq!(
        node["metricPoints"]["nodes"],
        json!([{ "value": 40.0, "source": null }, { "value": 42.0, "source": "product-db" }])
    );
    assert_eq!(node["logins"]["metric"], json!({ "key": "usage.logins", "aggregation": "SUM" }));
    assert_eq!(node["logins"]["buckets"], json!([{ "value": 12.0, "count": 1 }]));
    assert_eq!(node["unknown"], Value::Null);
    // Points have ids for client caches: one per point, the same on every read; not nodes.
    let q = r#"query($id: ID!) { node(id: $id) { ... on Account {
        metricPoints(metric: "usage.active_users") { nodes { id } }
    } } }"#;
    let point_ids = |data: Value| -> Vec<String> {
        let nodes = data["node"]["metricPoints"]["nodes"].as_array().unwrap().clone();
        nodes.iter().map(|n| n["id"].as_str().unwrap().to_owned()).collect()
    };
    let ids = point_ids(s.gql(token, q, json!({ "id": acme["id"] })).await);
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1]);
    assert_eq!(ids, point_ids(s.gql(token, q, json!({ "id": acme["id"] })).await));
    let data = s.gql(token, "query($id: ID!) { node(id: $id) { __typename } }", json!({ "id": ids[0] })).await;
    assert_eq!(data["node"], Value::Null);

    // A custom metric with a ratio unit.
    s.mutate(token, "defineMetric", "metric", "key unit", json!({ "key": "adoption.reports", "name": "Reports adoption", "unit": "RATIO", "direction": "HIGHER_IS_BETTER", "aggregation": "AVERAGE" })).await;
    let data = s
        .gql(token, INGEST, json!({ "i": { "items": [{ "account": by_ref, "metric": "adoption.reports", "observedAt": day(1), "value": 1.5 }] } }))
        .await;
    assert_eq!(outcomes(&data["ingestMetricPoints"])[0], ("REJECTED".into(), e("input.items.0.value", "INVALID")));
    let errors = s.mutate_err(token, "defineMetric", "metric", json!({ "key": "Bad Key", "name": "x", "unit": "COUNT", "direction": "HIGHER_IS_BETTER", "aggregation": "SUM" })).await;
    assert_eq!(errors[0]["field"], json!(["input", "key"]));
    s.stop().await;
}

async fn tickets_and_invoices_upsert(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let t = s.tenant("support").await;
    let token = &t.admin_token;
    let a = s
        .mutate(
            token,
            "createAccount",
            "account",
            "id",
            json!({ "name": "Initrode", "tier": "KEY", "externalRef": "I-1" }),
        )
        .await;
    s.mutate(token, "createAccount", "account", "id", json!({ "name": "Other", "tier": "KEY", "externalRef": "O-1" }))
        .await;
    let upsert = "mutation($i: UpsertSupportTicketsInput!) { upsertSupportTickets(input: $i) { accepted updated duplicates rejected results { status errors { field code } } } }";
    let ticket = |status: &str, resolved: Option<String>| json!({ "account": { "externalRef": "I-1" }, "externalId": "ZD-100", "priority": "CRITICAL", "status": status, "openedAt": day(3), "resolvedAt": resolved });
    let run = |items: Value| {
        let s = &s;
        async move { s.gql(token, upsert, json!({ "i": { "items": items } })).await["upsertSupportTickets"].clone() }
    };
    assert_eq!(run(json!([ticket("OPEN", None)])).await["accepted"], 1);
    assert_eq!(run(json!([ticket("OPEN", None)])).await["duplicates"], 1);
    let updated = run(json!([ticket("RESOLVED", Some(day(1)))])).await;
    assert_eq!(updated["updated"], 1);
    let bad = run(json!([
        ticket("RESOLVED", None),
        ticket("OPEN", Some(day(1))),
        { "account": { "externalRef": "I-1" }, "externalId": "ZD-101", "priority": "LOW", "status": "RESOLVED", "openedAt": day(3), "resolvedAt": day(5) },
        { "account": { "externalRef": "O-1" }, "externalId": "ZD-100", "priority": "LOW", "status": "OPEN", "openedAt": day(3) },
        { "account": { "externalRef": "I-1" }, "externalId": "ZD-102", "priority": "HIGH", "status": "OPEN", "openedAt": day(2) },
        { "account": { "externalRef": "I-1" }, "externalId": "ZD-102", "priority": "HIGH", "status": "OPEN", "openedAt": day(2) },
    ]))
    .await;
    let firsts: Vec<(String, String)> = bad["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["status"].as_str().unwrap().to_owned(),
                r["errors"][0]["field"]
                    .as_array()
                    .map_or(String::new(), |f| f.iter().map(|p| p.as_str().unwrap()).collect::<Vec<_>>().join(".")),
            )
        })
        .collect();
    assert_eq!(
        firsts,
        vec![
            ("REJECTED".into(), "input.items.0.resolvedAt".into()),
            ("REJECTED".into(), "input.items.1.status".into()),
            ("REJECTED".into(), "input.items.2.resolvedAt".into()),
            ("REJECTED".into(), "input.items.3.externalId".into()),
            ("ACCEPTED".into(), String::new()),
            ("REJECTED".into(), "input.items.5.externalId".into()),
        ]
    );
    assert_eq!(bad["results"][3]["errors"][0]["code"], "CONFLICT");

    let invoices = "mutation($i: UpsertInvoicesInput!) { upsertInvoices(input: $i) { accepted updated rejected results { status errors { field code } } } }";
    let today = Utc::now().date_naive();
    let date = |d: i64| (today - Duration::days(d)).to_string();
    let data = s
        .gql(
            token,
            invoices,
            json!({ "i": { "items": [
                { "account": { "id": a["id"] }, "number": "2026-001", "amountMinor": 1_250_000, "currency": "EUR", "issuedOn": date(75), "dueOn": date(45), "status": "OPEN" },
                { "account": { "id": a["id"] }, "number": "2026-002", "amountMinor": 990_000, "currency": "EUR", "issuedOn": date(40), "dueOn": date(10), "paidAt": day(12), "status": "PAID" },
                { "account": { "id": a["id"] }, "number": "2026-003", "amountMinor": 5, "currency": "EUR", "issuedOn": date(10), "dueOn": date(20), "status": "OPEN" },
                { "account": { "id": a["id"] }, "number": "2026-004", "amountMinor": 5, "currency": "EUR", "issuedOn": date(10), "dueOn": date(5), "status": "PAID" },
                { "account": { "id": a["id"] }, "number": "2026-005", "amountMinor": -5, "currency": "eur", "issuedOn": date(10), "dueOn": date(5), "status": "OPEN" },
            ] } }),
        )
        .await;
    let p = &data["upsertInvoices"];
    assert_eq!((p["accepted"].as_i64(), p["rejected"].as_i64()), (Some(2), Some(3)), "{p}");
    let q = "query($id: ID!) { node(id: $id) { ... on Account {
        overdue: invoices(filter: { statuses: [OPEN] }) { nodes { number daysOverdue amount { amountMinor currency } } }
        all: invoices { totalCount nodes { number daysLate } }
        supportTickets(filter: { priorities: [CRITICAL] }) { totalCount nodes { externalId status hoursOpen } } } } }";
    let data = s.gql(token, q, json!({ "id": a["id"] })).await;
    assert_eq!(
        data["node"]["overdue"]["nodes"],
        json!([{ "number": "2026-001", "daysOverdue": 45, "amount": { "amountMinor": 1_250_000, "currency": "EUR" } }])
    );
    assert_eq!(
        data["node"]["all"]["nodes"],
        json!([{ "number": "2026-002", "daysLate": 0 }, { "number": "2026-001", "daysLate": 0 }])
    );
    assert_eq!(data["node"]["supportTickets"]["totalCount"], 1);
    assert_eq!(data["node"]["supportTickets"]["nodes"][0]["status"], "RESOLVED");
    assert_eq!(data["node"]["supportTickets"]["nodes"][0]["hoursOpen"], 48.0);
    s.stop().await;
}

async fn surveys_assessments_and_contracts(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let t = s.tenant("voice").await;
    let token = &t.admin_token;
    let a = s.mutate(token, "createAccount", "account", "id annualValue { amountMinor } version", json!({ "name": "Umbrella", "tier": "STRATEGIC", "annualValue": { "amountMinor": 100_000, "currency": "EUR" } })).await;
    let c = s
        .mutate(
            token,
            "createContact",
            "contact",
            "id",
            json!({ "accountId": a["id"], "name": "Alice", "level": "EXECUTIVE", "role": "CHAMPION" }),
        )
        .await;
    let q = "mutation($i: RecordSurveyResponsesInput!) { recordSurveyResponses(input: $i) { accepted duplicates rejected results { errors { field } } } }";
    let items = json!([
        { "account": { "id": a["id"] }, "kind": "NPS", "score": 9, "contactId": c["id"], "respondedAt": day(3), "comment": "Great support", "idempotencyKey": "s-1" },
        { "account": { "id": a["id"] }, "kind": "CSAT", "score": 4, "respondedAt": day(2) },
        { "account": { "id": a["id"] }, "kind": "NPS", "score": 11, "respondedAt": day(2) },
        { "account": { "id": a["id"] }, "kind": "CSAT", "score": 0, "respondedAt": day(2) },
    ]);
    let data = s.gql(token, q, json!({ "i": { "items": items } })).await;
    let p = &data["recordSurveyResponses"];
    assert_eq!((p["accepted"].as_i64(), p["rejected"].as_i64()), (Some(2), Some(2)));
    assert_eq!(p["results"][2]["errors"][0]["field"], json!(["input", "items", "2", "score"]));
    let again = json!([{ "account": { "id": a["id"] }, "kind": "NPS", "score": 9, "contactId": c["id"], "respondedAt": day(3), "idempotencyKey": "s-1" }]);
    let data = s.gql(token, q, json!({ "i": { "items": again } })).await;
    assert_eq!(data["recordSurveyResponses"]["duplicates"], 1);

    let assessment = s
        .mutate(token, "recordRelationshipAssessment", "assessment", "stakeholderSentiment competitivePressure strategicAlignment assessedBy { id }", json!({ "accountId": a["id"], "stakeholderSentiment": 4, "competitivePressure": 5, "strategicAlignment": 3, "notes": "Competitor pitched last week" }))
        .await;
    assert_eq!(assessment["assessedBy"]["id"], json!(t.admin_id));
    let errors = s.mutate_err(token, "recordRelationshipAssessment", "assessment", json!({ "accountId": a["id"], "stakeholderSentiment": 0, "competitivePressure": 6, "strategicAlignment": 3 })).await;
    assert_eq!(errors.len(), 2);

    // A contract change in effect updates the account; a future one is history only.
    let today = Utc::now().date_naive();
    s.mutate(token, "recordContractChange", "contractChange", "id", json!({ "accountId": a["id"], "effectiveOn": (today - Duration::days(10)).to_string(), "annualValue": { "amountMinor": 80_000, "currency": "EUR" }, "renewalDate": (today + Duration::days(355)).to_string(), "idempotencyKey": "cc-1" })).await;
    let replay = s.mutate(token, "recordContractChange", "contractChange", "effectiveOn", json!({ "accountId": a["id"], "effectiveOn": (today - Duration::days(10)).to_string(), "annualValue": { "amountMinor": 80_000, "currency": "EUR" }, "idempotencyKey": "cc-1" })).await;
    assert_eq!(replay["effectiveOn"], json!((today - Duration::days(10)).to_string()));
    s.mutate(token, "recordContractChange", "contractChange", "id", json!({ "accountId": a["id"], "effectiveOn": (today + Duration::days(30)).to_string(), "annualValue": { "amountMinor": 120_000, "currency": "EUR" } })).await;
    let q = "query($id: ID!) { node(id: $id) { ... on Account { annualValue { amountMinor } renewalDate version
        contractChanges { totalCount nodes { annualValue { amountMinor } } }
        surveyResponses(kinds: [NPS]) { totalCount nodes { score comment contact { id } } }
        relationshipAssessments { totalCount } } } }";
    let data = s.gql(token, q, json!({ "id": a["id"] })).await;
    let node = &data["node"];
    assert_eq!(node["annualValue"]["amountMinor"], 80_000);
    assert_eq!(node["renewalDate"], json!((today + Duration::days(355)).to_string()));
    assert_eq!(node["version"], 2);
    assert_eq!(node["contractChanges"]["totalCount"], 2);
    assert_eq!(node["contractChanges"]["nodes"][0]["annualValue"]["amountMinor"], 120_000);
    assert_eq!(
        node["surveyResponses"]["nodes"],
        json!([{ "score": 9, "comment": "Great support", "contact": { "id": c["id"] } }])
    );
    assert_eq!(node["relationshipAssessments"]["totalCount"], 1);
    s.stop().await;
}
