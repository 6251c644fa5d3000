//! Roles: viewers read, account managers and sales write only what they hold, managers write
//! everything but users, only admins manage users.

use bellwether_tests::{Backend, TestServer, error_codes, on_every_backend};
use serde_json::{Value, json};

on_every_backend!(roles_are_enforced);

/// Sends a mutation and returns (top-level error codes, payload).
async fn attempt(
    s: &TestServer,
    token: &str,
    field: &str,
    object: &str,
    input_type: &str,
    input: Value,
) -> (Vec<String>, Value) {
    let q = format!(
        "mutation($i: {input_type}!) {{ {field}(input: $i) {{ {object} {{ id }} userErrors {{ code field }} }} }}"
    );
    let (status, body) = s.post(Some(token), &q, json!({ "i": input })).await;
    assert_eq!(status, 200, "{body}");
    (error_codes(&body), body["data"][field].clone())
}

async fn roles_are_enforced(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let t = s.tenant("roles").await;
    let viewer = s.member(&t, "VIEWER", "Val Viewer").await;
    let am = s.member(&t, "ACCOUNT_MANAGER", "Amy Manager").await;
    let other_am = s.member(&t, "ACCOUNT_MANAGER", "Oli Other").await;
    let sales = s.member(&t, "SALES", "Sal Sales").await;
    let manager = s.member(&t, "MANAGER", "Meg Head").await;

    let mine = s
        .mutate(
            &manager.token,
            "createAccount",
            "account",
            "id",
            json!({ "name": "Mine", "tier": "KEY", "accountManagerId": am.id, "salesOwnerId": sales.id }),
        )
        .await;
    let theirs = s
        .mutate(
            &manager.token,
            "createAccount",
            "account",
            "id",
            json!({ "name": "Theirs", "tier": "KEY", "accountManagerId": other_am.id }),
        )
        .await;

    // Viewers read everything and write nothing.
    let data = s.gql(&viewer.token, "{ accounts { totalCount } users { totalCount } }", json!({})).await;
    assert_eq!(data["accounts"]["totalCount"], 2);
    for (field, object, input_type, input) in [
        ("createAccount", "account", "CreateAccountInput", json!({ "name": "X", "tier": "KEY" })),
        ("updateAccount", "account", "UpdateAccountInput", json!({ "id": mine["id"], "name": "X" })),
        (
            "createContact",
            "contact",
            "CreateContactInput",
            json!({ "accountId": mine["id"], "name": "X", "level": "EXECUTIVE", "role": "USER" }),
        ),
        (
            "logInteraction",
            "interaction",
            "LogInteractionInput",
            json!({ "accountId": mine["id"], "kind": "CALL", "occurredAt": "2026-01-01T00:00:00Z", "summary": "x" }),
        ),
        ("createUser", "user", "CreateUserInput", json!({ "email": "x@roles.test", "name": "X", "role": "ADMIN" })),
    ] {
        let (codes, payload) = attempt(&s, &viewer.token, field, object, input_type, input).await;
        assert_eq!(codes, vec!["FORBIDDEN"], "viewer {field}: {payload}");
        assert!(payload.is_null());
    }

    // Account managers write their own accounts only, and cannot hand them off.
    let (codes, payload) = attempt(
        &s,
        &am.token,
        "updateAccount",
        "account",
        "UpdateAccountInput",
        json!({ "id": mine["id"], "lifecycleStage": "MATURE" }),
    )
    .await;
    assert!(codes.is_empty() && payload["account"]["id"] == mine["id"], "{payload}");
    let (codes, _) = attempt(
        &s,
        &am.token,
        "updateAccount",
        "account",
        "UpdateAccountInput",
        json!({ "id": theirs["id"], "name": "Hijack" }),
    )
    .await;
    assert_eq!(codes, vec!["FORBIDDEN"]);
    let (codes, _) = attempt(
        &s,
        &am.token,
        "updateAccount",
        "account",
        "UpdateAccountInput",
        json!({ "id": mine["id"], "accountManagerId": other_am.id }),
    )
    .await;
    assert_eq!(codes, vec!["FORBIDDEN"]);
    let (codes, _) = attempt(
        &s,
        &am.token,
        "createContact",
        "contact",
        "CreateContactInput",
        json!({ "accountId": theirs["id"], "name": "X", "level": "EXECUTIVE", "role": "USER" }),
    )
    .await;
    assert_eq!(codes, vec!["FORBIDDEN"]);
    let (codes, payload) = attempt(
        &s,
        &am.token,
        "createContact",
        "contact",
        "CreateContactInput",
        json!({ "accountId": mine["id"], "name": "Ok", "level": "EXECUTIVE", "role": "USER" }),
    )
    .await;
    assert!(codes.is_empty() && payload["contact"]["id"].is_string(), "{payload}");
    let (codes, _) = attempt(
        &s,
        &am.token,
        "createAccount",
        "account",
        "CreateAccountInput",
        json!({ "name": "For someone else", "tier": "KEY", "accountManagerId": other_am.id }),
    )
    .await;
    assert_eq!(codes, vec!["FORBIDDEN"]);
    let (codes, payload) = attempt(
        &s,
        &am.token,
        "createAccount",
        "account",
        "CreateAccountInput",
        json!({ "name": "My new one", "tier": "KEY", "accountManagerId": am.id }),
    )
    .await;
    assert!(codes.is_empty() && payload["account"]["id"].is_string(), "{payload}");

    // Sales owners write the accounts they own.
    let (codes, _) = attempt(
        &s,
        &sales.token,
        "logInteraction",
        "interaction",
        "LogInteractionInput",
        json!({ "accountId": mine["id"], "kind": "CALL", "occurredAt": "2026-01-01T00:00:00Z", "summary": "upsell" }),
    )
    .await;
    assert!(codes.is_empty());
    let (codes, _) = attempt(
        &s,
        &sales.token,
        "logInteraction",
        "interaction",
        "LogInteractionInput",
        json!({ "accountId": theirs["id"], "kind": "CALL", "occurredAt": "2026-01-01T00:00:00Z", "summary": "x" }),
    )
    .await;
    assert_eq!(codes, vec!["FORBIDDEN"]);

    // Managers write every account, but only admins manage users.
    let (codes, _) = attempt(
        &s,
        &manager.token,
        "updateAccount",
        "account",
        "UpdateAccountInput",
        json!({ "id": theirs["id"], "accountManagerId": am.id }),
    )
    .await;
    assert!(codes.is_empty());
    let (codes, _) = attempt(
        &s,
        &manager.token,
        "createUser",
        "user",
        "CreateUserInput",
        json!({ "email": "m@roles.test", "name": "M", "role": "VIEWER" }),
    )
    .await;
    assert_eq!(codes, vec!["FORBIDDEN"]);
    let (codes, _) = attempt(&s, &am.token, "archiveUser", "user", "TargetInput", json!({ "id": other_am.id })).await;
    assert_eq!(codes, vec!["FORBIDDEN"]);

    // An admin changing a role revokes tokens minted for the old role; archiving revokes all.
    s.mutate(&t.admin_token, "updateUser", "user", "role", json!({ "id": other_am.id, "role": "VIEWER" })).await;
    let (status, body) = s.post(Some(&other_am.token), "{ viewer { id } }", json!({})).await;
    assert_eq!((status, error_codes(&body)), (401, vec!["UNAUTHENTICATED".to_owned()]));
    s.mutate(&t.admin_token, "archiveUser", "user", "archivedAt", json!({ "id": viewer.id })).await;
    let (status, _) = s.post(Some(&viewer.token), "{ viewer { id } }", json!({})).await;
    assert_eq!(status, 401);

    let data = s
        .gql(
            &t.admin_token,
            "query($id: ID!) { node(id: $id) { ... on User { managedAccountCount managedAccounts { totalCount } } } }",
            json!({ "id": am.id }),
        )
        .await;
    assert_eq!(data["node"], json!({ "managedAccountCount": 3, "managedAccounts": { "totalCount": 3 } }));
    s.stop().await;
}
