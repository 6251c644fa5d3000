//! Bad input: every validation failure is a user error with a field path, and nothing is written.

use bellwether_tests::{Backend, TestServer, on_every_backend};
use serde_json::{Value, json};

on_every_backend!(bad_input_is_reported_and_changes_nothing);

async fn counts(s: &TestServer, token: &str) -> Value {
    s.gql(
        token,
        "{ accounts(filter: { includeArchived: true }) { totalCount } users(filter: { includeArchived: true }) { totalCount } }",
        json!({}),
    )
    .await
}

fn fields(errors: &[Value]) -> Vec<(String, String)> {
    errors
        .iter()
        .map(|e| {
            let path: Vec<&str> = e["field"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
            (path.join("."), e["code"].as_str().unwrap().to_owned())
        })
        .collect()
}

async fn bad_input_is_reported_and_changes_nothing(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let t = s.tenant("strict").await;
    let foreign = s.tenant("foreign").await;
    let viewer = s.member(&t, "VIEWER", "Vic Viewer").await;
    let parent =
        s.mutate(&t.admin_token, "createAccount", "account", "id", json!({ "name": "Parent", "tier": "KEY" })).await;
    let child = s
        .mutate(
            &t.admin_token,
            "createAccount",
            "account",
            "id",
            json!({ "name": "Child", "tier": "KEY", "parentId": parent["id"] }),
        )
        .await;
    let before = counts(&s, &t.admin_token).await;

    // (mutation, payload object, input, expected (field path, code) pairs)
    type Case<'a> = (&'a str, &'a str, Value, Vec<(&'a str, &'a str)>);
    let cases: Vec<Case> = vec![
        (
            "createAccount",
            "account",
            json!({ "name": "   ", "tier": "KEY", "annualValue": { "amountMinor": -5, "currency": "euro" } }),
            vec![("input.name", "INVALID"), ("input.annualValue.amountMinor", "INVALID")],
        ),
        (
            "createAccount",
            "account",
            json!({ "name": "A", "tier": "KEY", "annualValue": { "amountMinor": 5, "currency": "eur" } }),
            vec![("input.annualValue.currency", "INVALID")],
        ),
        (
            "createAccount",
            "account",
            json!({ "name": "A", "tier": "KEY", "contractStart": "2026-05-01", "renewalDate": "2026-04-30" }),
            vec![("input.renewalDate", "INVALID")],
        ),
        (
            "createAccount",
            "account",
            json!({ "name": "A", "tier": "KEY", "accountManagerId": foreign.admin_id }),
            vec![("input.accountManagerId", "NOT_FOUND")],
        ),
        (
            "createAccount",
            "account",
            json!({ "name": "A", "tier": "KEY", "accountManagerId": viewer.id }),
            vec![("input.accountManagerId", "INVALID")],
        ),
        (
            "createAccount",
            "account",
            json!({ "name": "A", "tier": "KEY", "parentId": "not-an-id" }),
            vec![("input.parentId", "INVALID")],
        ),
        (
            "createAccount",
            "account",
            json!({ "name": "A", "tier": "KEY", "parentId": t.admin_id }),
            vec![("input.parentId", "INVALID")],
        ),
        (
            "createAccount",
            "account",
            json!({ "name": "x".repeat(201), "tier": "KEY" }),
            vec![("input.name", "INVALID")],
        ),
        (
            "updateAccount",
            "account",
            json!({ "id": parent["id"], "parentId": child["id"] }),
            vec![("input.parentId", "INVALID")],
        ),
        (
            "updateAccount",
            "account",
            json!({ "id": parent["id"], "parentId": parent["id"] }),
            vec![("input.parentId", "INVALID")],
        ),
        (
            "createContact",
            "contact",
            json!({ "accountId": parent["id"], "name": "N", "level": "EXECUTIVE", "role": "USER", "email": "not-an-email", "departedOn": "2999-01-01" }),
            vec![("input.email", "INVALID"), ("input.departedOn", "INVALID")],
        ),
        (
            "createContact",
            "contact",
            json!({ "accountId": parent["id"], "name": "N", "level": "EXECUTIVE", "role": "USER", "active": true, "departedOn": "2025-01-01" }),
            vec![("input.departedOn", "INVALID")],
        ),
        (
            "createContact",
            "contact",
            json!({ "accountId": "QWNjb3VudDp4", "name": "N", "level": "EXECUTIVE", "role": "USER" }),
            vec![("input.accountId", "INVALID")],
        ),
        (
            "createUser",
            "user",
            json!({ "email": "nope", "name": "", "role": "VIEWER", "capacity": 5000 }),
            vec![("input.email", "INVALID"), ("input.name", "INVALID"), ("input.capacity", "INVALID")],
        ),
        (
            "createUser",
            "user",
            json!({ "email": "VIC.VIEWER@strict.test", "name": "Dup", "role": "VIEWER" }),
            vec![("input.email", "CONFLICT")],
        ),
        (
            "logInteraction",
            "interaction",
            json!({ "accountId": parent["id"], "kind": "CALL", "occurredAt": "2999-01-01T00:00:00Z", "summary": " ", "userIds": [t.admin_id, t.admin_id] }),
            vec![("input.summary", "INVALID"), ("input.occurredAt", "INVALID"), ("input.userIds", "INVALID")],
        ),
        ("updateUser", "user", json!({ "id": t.admin_id, "role": "VIEWER" }), vec![("input.role", "INVALID")]),
        ("archiveUser", "user", json!({ "id": t.admin_id }), vec![("input.id", "INVALID")]),
    ];
    for (mutation, object, input, expected) in cases {
        let errors = s.mutate_err(&t.admin_token, mutation, object, input.clone()).await;
        let mut got = fields(&errors);
        let mut want: Vec<(String, String)> =
            expected.iter().map(|(f, c)| ((*f).to_owned(), (*c).to_owned())).collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{mutation} {input}: {errors:?}");
        assert!(errors.iter().all(|e| !e["message"].as_str().unwrap().is_empty()));
    }

    // Type-level problems (unknown enum values, wrong scalar types) are request errors.
    for (q, vars) in [
        (
            "mutation($i: CreateAccountInput!) { createAccount(input: $i) { account { id } } }",
            json!({ "i": { "name": "A", "tier": "GOLD" } }),
        ),
        (
            "mutation($i: CreateAccountInput!) { createAccount(input: $i) { account { id } } }",
            json!({ "i": { "name": "A", "tier": "KEY", "renewalDate": "31/12/2026" } }),
        ),
        (
            "mutation($i: CreateAccountInput!) { createAccount(input: $i) { account { id } } }",
            json!({ "i": { "name": "A", "tier": "KEY", "annualValue": { "amountMinor": 1.5, "currency": "EUR" } } }),
        ),
        (
            "mutation($i: CreateAccountInput!) { createAccount(input: $i) { account { id } } }",
            json!({ "i": { "name": "A", "tier": "KEY", "annualValue": { "amountMinor": 9007199254740993u64, "currency": "EUR" } } }),
        ),
    ] {
        let (status, body) = s.post(Some(&t.admin_token), q, vars).await;
        assert_eq!(status, 200, "application/json answers with 200: {body}");
        assert!(body["data"].is_null() || body["data"]["createAccount"].is_null(), "nothing may execute: {body}");
        assert!(!body["errors"].as_array().unwrap().is_empty());
    }

    assert_eq!(counts(&s, &t.admin_token).await, before, "nothing was written");
    s.stop().await;
}
