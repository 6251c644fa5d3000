//! Bulk history through the API: accounts with custom attributes, contacts, interactions,
//! assessments and churn outcomes; per-item results, idempotent replays, tenancy, and the
//! account filter on attributes.

use bellwether_tests::{Backend, TestServer, on_every_backend};
use serde_json::{Value, json};

on_every_backend!(
    accounts_upsert_with_attributes_and_filter,
    contacts_and_interactions_in_bulk,
    assessments_and_outcomes_in_bulk
);

const RESULT: &str = "accepted updated duplicates rejected userErrors { field code message }
    results { index status errors { field code message } }";

async fn bulk(s: &TestServer, token: &str, field: &str, input_type: &str, items: Value) -> Value {
    let q = format!("mutation($i: {input_type}!) {{ {field}(input: $i) {{ {RESULT} }} }}");
    let data = s.gql(token, &q, json!({ "i": { "items": items } })).await;
    data[field].clone()
}

/// Index -> (status, first error's field path and code).
fn outcomes(payload: &Value) -> Vec<(String, Option<(String, String)>)> {
    payload["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results: {payload}"))
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

fn ok(status: &str) -> (String, Option<(String, String)>) {
    (status.to_owned(), None)
}

fn bad(field: &str, code: &str) -> (String, Option<(String, String)>) {
    ("REJECTED".to_owned(), Some((field.to_owned(), code.to_owned())))
}

async fn accounts_upsert_with_attributes_and_filter(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let t = s.tenant("bulkacc").await;
    let token = &t.admin_token;
    for def in [
        json!({ "key": "contract.term", "name": "Contract term", "kind": "ENUMERATION", "options": ["month-to-month", "one year", "two year"] }),
        json!({ "key": "charges.monthly", "name": "Monthly charges", "kind": "NUMBER" }),
        json!({ "key": "addons.streaming", "name": "Streaming TV", "kind": "BOOLEAN" }),
    ] {
        let d = s.mutate(token, "defineAccountAttribute", "attribute", "key kind options", def).await;
        assert!(d["key"].is_string(), "{d}");
    }
    // Definitions are checked: a key that breaks the rules, options on a number, a repeat.
    let q = "mutation($i: DefineAccountAttributeInput!) { defineAccountAttribute(input: $i) { attribute { key } userErrors { field code } } }";
    for (input, field, code) in [
        (json!({ "key": "Bad Key", "name": "x", "kind": "TEXT" }), json!(["input", "key"]), "INVALID"),
        (
            json!({ "key": "n", "name": "x", "kind": "NUMBER", "options": ["a"] }),
            json!(["input", "options"]),
            "INVALID",
        ),
        (json!({ "key": "e", "name": "x", "kind": "ENUMERATION" }), json!(["input", "options"]), "INVALID"),
        (json!({ "key": "contract.term", "name": "again", "kind": "TEXT" }), json!(["input", "key"]), "CONFLICT"),
    ] {
        let d = s.gql(token, q, json!({ "i": input })).await;
        assert_eq!(d["defineAccountAttribute"]["userErrors"][0]["field"], field, "{d}");
        assert_eq!(d["defineAccountAttribute"]["userErrors"][0]["code"], code, "{d}");
    }

    let items = json!([
        { "externalRef": "TELCO-1", "name": "Alpha Telco", "tier": "KEY", "segment": "residential",
          "annualValue": { "amountMinor": 358200, "currency": "EUR" }, "contractStart": "2024-01-01",
          "attributes": [{ "key": "contract.term", "option": "month-to-month" }, { "key": "charges.monthly", "number": 29.85 }, { "key": "addons.streaming", "boolean": false }] },
        { "externalRef": "TELCO-2", "name": "Beta Telco",
          "attributes": [{ "key": "contract.term", "option": "two year" }, { "key": "charges.monthly", "number": 104.8 }] },
        { "externalRef": "TELCO-3", "name": "Gamma Telco", "attributes": [{ "key": "contract.term", "option": "three year" }] },
        { "externalRef": "TELCO-4", "name": "Delta Telco", "attributes": [{ "key": "charges.monthly", "text": "cheap" }] },
        { "externalRef": "TELCO-5", "name": "Eps Telco", "attributes": [{ "key": "no.such", "number": 1 }] },
        { "externalRef": "TELCO-6" },
        { "externalRef": "TELCO-7", "name": "Zeta", "renewalDate": "2024-02-30" },
        { "externalRef": "TELCO-1", "name": "Alpha again" },
    ]);
    let p = bulk(&s, token, "upsertAccounts", "UpsertAccountsInput", items.clone()).await;
    assert_eq!(
        outcomes(&p),
        vec![
            ok("ACCEPTED"),
            ok("ACCEPTED"),
            bad("input.items.2.attributes.0.value", "INVALID"),
            bad("input.items.3.attributes.0.value", "INVALID"),
            bad("input.items.4.attributes.0.key", "NOT_FOUND"),
            bad("input.items.5.name", "INVALID"),
            bad("input.items.6.renewalDate", "INVALID"),
            bad("input.items.7.externalRef", "INVALID"),
        ]
    );
    // Only the two good accounts exist, with their attributes.
    let q = r#"{ accounts { totalCount nodes { externalRef name tier annualValue { amountMinor }
        attributes { key kind text number boolean option date } } } }"#;
    let list = s.gql(token, q, json!({})).await;
    assert_eq!(list["accounts"]["totalCount"], 2, "{list}");
    let alpha = &list["accounts"]["nodes"][0];
    assert_eq!((alpha["externalRef"].as_str(), alpha["tier"].as_str()), (Some("TELCO-1"), Some("KEY")));
    assert_eq!(
        alpha["attributes"],
        json!([
            { "key": "addons.streaming", "kind": "BOOLEAN", "text": null, "number": null, "boolean": false, "option": null, "date": null },
            { "key": "charges.monthly", "kind": "NUMBER", "text": null, "number": 29.85, "boolean": null, "option": null, "date": null },
            { "key": "contract.term", "kind": "ENUMERATION", "text": null, "number": null, "boolean": null, "option": "month-to-month", "date": null },
        ])
    );
    assert_eq!(list["accounts"]["nodes"][1]["tier"], "STANDARD");

    // A replay writes nothing; a change is an update.
    let good = json!([items[0].clone(), items[1].clone()]);
    let p = bulk(&s, token, "upsertAccounts", "UpsertAccountsInput", good).await;
    assert_eq!(outcomes(&p), vec![ok("DUPLICATE"), ok("DUPLICATE")]);
    let change = json!([{ "externalRef": "TELCO-2", "attributes": [{ "key": "charges.monthly", "number": 99.5 }] }]);
    let p = bulk(&s, token, "upsertAccounts", "UpsertAccountsInput", change).await;
    assert_eq!(outcomes(&p), vec![ok("UPDATED")]);

    // The attribute filter.
    let q = "query($f: AccountFilter) { accounts(filter: $f) { totalCount nodes { externalRef } } }";
    let count = async |f: Value| -> Vec<String> {
        let d = s.gql(token, q, json!({ "f": f })).await;
        d["accounts"]["nodes"]
            .as_array()
            .unwrap_or_else(|| panic!("{d}"))
            .iter()
            .map(|n| n["externalRef"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        count(json!({ "attributes": [{ "key": "charges.monthly", "atLeast": { "number": 50 } }] })).await,
        ["TELCO-2"]
    );
    assert_eq!(
        count(json!({ "attributes": [{ "key": "charges.monthly", "atMost": { "number": 99.5 } }] })).await,
        ["TELCO-1", "TELCO-2"]
    );
    assert_eq!(
        count(json!({ "attributes": [{ "key": "contract.term", "in": [{ "option": "two year" }, { "option": "one year" }] }] })).await,
        ["TELCO-2"]
    );
    assert_eq!(
        count(json!({ "attributes": [{ "key": "contract.term", "equals": { "option": "month-to-month" } }, { "key": "addons.streaming", "equals": { "boolean": false } }] })).await,
        ["TELCO-1"]
    );
    assert!(
        count(json!({ "attributes": [{ "key": "addons.streaming", "equals": { "boolean": true } }] })).await.is_empty()
    );
    // A condition must say one test; at most ten conditions.
    let d = s.post(Some(token), q, json!({ "f": { "attributes": [{ "key": "x" }] } })).await.1;
    assert_eq!(d["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{d}");
    let many: Vec<Value> = (0..11).map(|_| json!({ "key": "x", "equals": { "number": 1 } })).collect();
    let d = s.post(Some(token), q, json!({ "f": { "attributes": many } })).await.1;
    assert_eq!(d["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{d}");

    // setAccountAttributes: typed checks per item, clearing, archived attributes.
    let items = json!([
        { "account": { "externalRef": "TELCO-1" }, "values": [{ "key": "addons.streaming", "boolean": true }, { "key": "charges.monthly" }] },
        { "account": { "externalRef": "TELCO-2" }, "values": [{ "key": "addons.streaming", "number": 1 }] },
        { "account": { "externalRef": "TELCO-2" }, "values": [{ "key": "charges.monthly", "number": 1, "text": "1" }] },
        { "account": { "externalRef": "NOPE" }, "values": [] },
    ]);
    let p = bulk(&s, token, "setAccountAttributes", "SetAccountAttributesInput", items).await;
    assert_eq!(
        outcomes(&p),
        vec![
            ok("UPDATED"),
            bad("input.items.1.values.0.value", "INVALID"),
            bad("input.items.2.values.0.value", "INVALID"),
            bad("input.items.3.account.externalRef", "NOT_FOUND"),
        ]
    );
    assert_eq!(
        count(json!({ "attributes": [{ "key": "charges.monthly", "atLeast": { "number": 0 } }] })).await,
        ["TELCO-2"]
    );
    let d = s
        .mutate(
            token,
            "updateAccountAttribute",
            "attribute",
            "archivedAt version",
            json!({ "key": "addons.streaming", "archived": true }),
        )
        .await;
    assert_eq!(d["version"], 2);
    let items = json!([{ "account": { "externalRef": "TELCO-2" }, "values": [{ "key": "addons.streaming", "boolean": true }] }]);
    let p = bulk(&s, token, "setAccountAttributes", "SetAccountAttributesInput", items).await;
    assert_eq!(outcomes(&p), vec![bad("input.items.0.values.0.key", "INVALID")]);
    // Options cannot be removed.
    let q = "mutation($i: UpdateAccountAttributeInput!) { updateAccountAttribute(input: $i) { userErrors { field code } } }";
    let d = s.gql(token, q, json!({ "i": { "key": "contract.term", "options": ["one year"] } })).await;
    assert_eq!(d["updateAccountAttribute"]["userErrors"][0]["field"], json!(["input", "options"]));

    // Viewers cannot define attributes; another organisation's accounts are not found.
    let viewer = s.member(&t, "VIEWER", "Vic Viewer").await;
    let d = s
        .post(
            Some(&viewer.token),
            "mutation { defineAccountAttribute(input: { key: \"v\", name: \"v\", kind: TEXT }) { attribute { key } } }",
            json!({}),
        )
        .await
        .1;
    assert_eq!(d["errors"][0]["extensions"]["code"], "FORBIDDEN", "{d}");
    let other = s.tenant("bulkother").await;
    let p = bulk(
        &s,
        &other.admin_token,
        "setAccountAttributes",
        "SetAccountAttributesInput",
        json!([{ "account": { "externalRef": "TELCO-1" }, "values": [] }]),
    )
    .await;
    assert_eq!(outcomes(&p), vec![bad("input.items.0.account.externalRef", "NOT_FOUND")]);
    let d = s.gql(&other.admin_token, "{ attributeDefinitions { key } }", json!({})).await;
    assert_eq!(d["attributeDefinitions"], json!([]));
    s.stop().await;
}

async fn contacts_and_interactions_in_bulk(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let t = s.tenant("bulkint").await;
    let token = &t.admin_token;
    let accounts = json!([{ "externalRef": "C-1", "name": "Shop one" }, { "externalRef": "C-2", "name": "Shop two" }]);
    let p = bulk(&s, token, "upsertAccounts", "UpsertAccountsInput", accounts).await;
    assert_eq!(p["accepted"], 2, "{p}");
    let one = json!({ "externalRef": "C-1" });
    let two = json!({ "externalRef": "C-2" });

    let contacts = json!([
        { "account": one, "idempotencyKey": "P-1", "name": "Ada Buyer", "level": "MANAGEMENT", "role": "DECISION_MAKER", "email": "ada@shop.test" },
        { "account": two, "idempotencyKey": "P-2", "name": "Bo Buyer", "level": "OPERATIONAL", "role": "USER" },
        { "account": one, "idempotencyKey": "P-3", "name": "Bad Mail", "level": "OPERATIONAL", "role": "USER", "email": "not-an-email" },
    ]);
    let p = bulk(&s, token, "upsertContacts", "UpsertContactsInput", contacts.clone()).await;
    assert_eq!(outcomes(&p), vec![ok("ACCEPTED"), ok("ACCEPTED"), bad("input.items.2.email", "INVALID")]);
    let p = bulk(&s, token, "upsertContacts", "UpsertContactsInput", json!([contacts[0], contacts[1]])).await;
    assert_eq!(outcomes(&p), vec![ok("DUPLICATE"), ok("DUPLICATE")]);
    let moved = json!([
        { "account": one, "idempotencyKey": "P-1", "name": "Ada Buyer", "level": "EXECUTIVE", "role": "DECISION_MAKER", "email": "ada@shop.test" },
        { "account": one, "idempotencyKey": "P-2", "name": "Bo Buyer", "level": "OPERATIONAL", "role": "USER" },
    ]);
    let p = bulk(&s, token, "upsertContacts", "UpsertContactsInput", moved).await;
    assert_eq!(outcomes(&p), vec![ok("UPDATED"), bad("input.items.1.idempotencyKey", "CONFLICT")]);

    let orders = json!([
        { "account": one, "idempotencyKey": "ORDER-1", "kind": "ORDER", "direction": "INBOUND", "occurredAt": "1997-01-01T00:00:00Z",
          "summary": "Order: 2 items, 29.33 USD", "contacts": [{ "idempotencyKey": "P-1" }] },
        { "account": two, "idempotencyKey": "ORDER-2", "kind": "ORDER", "occurredAt": "1997-01-12T00:00:00Z", "summary": "Order: 1 item" },
        { "account": two, "idempotencyKey": "ORDER-3", "kind": "ORDER", "occurredAt": "1997-01-13T00:00:00Z", "summary": "Order", "contacts": [{ "idempotencyKey": "P-1" }] },
        { "account": one, "idempotencyKey": "ORDER-4", "kind": "ORDER", "occurredAt": "not a time", "summary": "Order" },
        { "account": { "externalRef": "C-404" }, "idempotencyKey": "ORDER-5", "kind": "ORDER", "occurredAt": "1997-01-13T00:00:00Z", "summary": "Order" },
        { "account": one, "idempotencyKey": "ORDER-1", "kind": "ORDER", "occurredAt": "1997-01-01T00:00:00Z", "summary": "again" },
    ]);
    let p = bulk(&s, token, "recordInteractions", "RecordInteractionsInput", orders.clone()).await;
    assert_eq!(
        outcomes(&p),
        vec![
            ok("ACCEPTED"),
            ok("ACCEPTED"),
            bad("input.items.2.contacts.0", "INVALID"),
            bad("input.items.3.occurredAt", "INVALID"),
            bad("input.items.4.account.externalRef", "NOT_FOUND"),
            bad("input.items.5.idempotencyKey", "INVALID"),
        ]
    );
    let q = r#"{ accounts { nodes { externalRef interactions { totalCount nodes { kind direction summary contacts { name } } } } } }"#;
    let d = s.gql(token, q, json!({})).await;
    let nodes = &d["accounts"]["nodes"];
    assert_eq!(nodes[0]["interactions"]["totalCount"], 1);
    assert_eq!(
        nodes[0]["interactions"]["nodes"][0],
        json!({ "kind": "ORDER", "direction": "INBOUND", "summary": "Order: 2 items, 29.33 USD", "contacts": [{ "name": "Ada Buyer" }] })
    );
    assert_eq!(nodes[1]["interactions"]["totalCount"], 1);
    // A replay is a duplicate; a corrected summary an update (never a second row).
    let p = bulk(&s, token, "recordInteractions", "RecordInteractionsInput", json!([orders[0], orders[1]])).await;
    assert_eq!(outcomes(&p), vec![ok("DUPLICATE"), ok("DUPLICATE")]);
    let mut fixed = orders[1].clone();
    fixed["summary"] = json!("Order: 1 item, 10.00 USD");
    let p = bulk(&s, token, "recordInteractions", "RecordInteractionsInput", json!([fixed])).await;
    assert_eq!(outcomes(&p), vec![ok("UPDATED")]);
    let d = s.gql(token, q, json!({})).await;
    assert_eq!(d["accounts"]["nodes"][1]["interactions"]["totalCount"], 1);
    assert_eq!(d["accounts"]["nodes"][1]["interactions"]["nodes"][0]["summary"], "Order: 1 item, 10.00 USD");

    // Another organisation cannot reach these accounts or keys.
    let other = s.tenant("bulkint2").await;
    let p = bulk(&s, &other.admin_token, "recordInteractions", "RecordInteractionsInput", json!([orders[0]])).await;
    assert_eq!(outcomes(&p), vec![bad("input.items.0.account.externalRef", "NOT_FOUND")]);
    let p = bulk(&s, &other.admin_token, "upsertContacts", "UpsertContactsInput", json!([contacts[0]])).await;
    assert_eq!(outcomes(&p), vec![bad("input.items.0.account.externalRef", "NOT_FOUND")]);
    s.stop().await;
}

async fn assessments_and_outcomes_in_bulk(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let t = s.tenant("bulkout").await;
    let token = &t.admin_token;
    let accounts = json!([{ "externalRef": "O-1", "name": "One" }, { "externalRef": "O-2", "name": "Two" }, { "externalRef": "O-3", "name": "Three" }]);
    let p = bulk(&s, token, "upsertAccounts", "UpsertAccountsInput", accounts).await;
    assert_eq!(p["accepted"], 3, "{p}");
    let r = |e: &str| json!({ "externalRef": e });

    let assessments = json!([
        { "account": r("O-1"), "assessedAt": "2025-06-01T00:00:00Z", "stakeholderSentiment": 2, "competitivePressure": 4, "strategicAlignment": 3, "idempotencyKey": "A-1" },
        { "account": r("O-2"), "stakeholderSentiment": 6, "competitivePressure": 1, "strategicAlignment": 1 },
        { "account": r("O-2"), "assessedAt": "2025-06-01T00:00:00Z", "stakeholderSentiment": 4, "competitivePressure": 1, "strategicAlignment": 5, "notes": "steady", "idempotencyKey": "A-2" },
    ]);
    let p = bulk(&s, token, "recordAssessments", "RecordAssessmentsInput", assessments.clone()).await;
    assert_eq!(
        outcomes(&p),
        vec![ok("ACCEPTED"), bad("input.items.1.stakeholderSentiment", "INVALID"), ok("ACCEPTED")]
    );
    let p =
        bulk(&s, token, "recordAssessments", "RecordAssessmentsInput", json!([assessments[0], assessments[2]])).await;
    assert_eq!(outcomes(&p), vec![ok("DUPLICATE"), ok("DUPLICATE")]);
    let mut changed = assessments[0].clone();
    changed["stakeholderSentiment"] = json!(1);
    let p = bulk(&s, token, "recordAssessments", "RecordAssessmentsInput", json!([changed])).await;
    assert_eq!(outcomes(&p), vec![bad("input.items.0.idempotencyKey", "CONFLICT")]);
    let q = r#"{ accountByExternalRef(externalRef: "O-1") { relationshipAssessments { totalCount } } }"#;
    assert_eq!(s.gql(token, q, json!({})).await["accountByExternalRef"]["relationshipAssessments"]["totalCount"], 1);

    let outcomes_in = json!([
        { "account": r("O-1"), "churned": { "churnedOn": "2025-07-01", "reason": "moved to a competitor" } },
        { "account": r("O-2"), "churned": { "churnedOn": "2999-01-01", "reason": "future" } },
        { "account": r("O-3"), "reactivated": true },
    ]);
    let p = bulk(&s, token, "recordAccountOutcomes", "RecordAccountOutcomesInput", outcomes_in.clone()).await;
    assert_eq!(outcomes(&p), vec![ok("ACCEPTED"), bad("input.items.1.churned.churnedOn", "INVALID"), ok("DUPLICATE"),]);
    let neither = json!([{ "account": r("O-2") }]);
    let p = bulk(&s, token, "recordAccountOutcomes", "RecordAccountOutcomesInput", neither).await;
    assert_eq!(outcomes(&p), vec![bad("input.items.0", "INVALID")]);
    let q = r#"{ accounts(filter: { statuses: [CHURNED] }) { nodes { externalRef churnedOn churnReason } } }"#;
    assert_eq!(
        s.gql(token, q, json!({})).await["accounts"]["nodes"],
        json!([{ "externalRef": "O-1", "churnedOn": "2025-07-01", "churnReason": "moved to a competitor" }])
    );
    // The same churn again is a duplicate, another day a conflict; reactivation then works.
    let p = bulk(&s, token, "recordAccountOutcomes", "RecordAccountOutcomesInput", json!([outcomes_in[0]])).await;
    assert_eq!(outcomes(&p), vec![ok("DUPLICATE")]);
    let other_day =
        json!([{ "account": r("O-1"), "churned": { "churnedOn": "2025-08-01", "reason": "moved to a competitor" } }]);
    let p = bulk(&s, token, "recordAccountOutcomes", "RecordAccountOutcomesInput", other_day).await;
    assert_eq!(outcomes(&p), vec![bad("input.items.0.churned.churnedOn", "CONFLICT")]);
    let back = json!([{ "account": r("O-1"), "reactivated": true }]);
    let p = bulk(&s, token, "recordAccountOutcomes", "RecordAccountOutcomesInput", back).await;
    assert_eq!(outcomes(&p), vec![ok("ACCEPTED")]);

    // Tenancy and roles.
    let other = s.tenant("bulkout2").await;
    let p =
        bulk(&s, &other.admin_token, "recordAccountOutcomes", "RecordAccountOutcomesInput", json!([outcomes_in[0]]))
            .await;
    assert_eq!(outcomes(&p), vec![bad("input.items.0.account.externalRef", "NOT_FOUND")]);
    let am = s.member(&t, "ACCOUNT_MANAGER", "Ann Manager").await;
    let p = bulk(&s, &am.token, "recordAccountOutcomes", "RecordAccountOutcomesInput", json!([outcomes_in[0]])).await;
    assert_eq!(outcomes(&p), vec![bad("input.items.0.account.externalRef", "INVALID")]);
    // An oversized batch is refused whole.
    let big: Vec<Value> = (0..5001).map(|_| json!({ "account": r("O-1"), "reactivated": true })).collect();
    let p = bulk(&s, token, "recordAccountOutcomes", "RecordAccountOutcomesInput", json!(big)).await;
    assert_eq!(p["userErrors"][0]["field"], json!(["input", "items"]));
    s.stop().await;
}
