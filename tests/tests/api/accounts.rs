//! Accounts through the API: create, read, update with versions, churn, archive, list.

use bellwether_tests::{Backend, TestServer, on_every_backend};
use serde_json::{Value, json};

on_every_backend!(account_lifecycle, pagination_is_stable_in_both_directions, filters_and_orderings);

const FIELDS: &str = "id name externalRef tier lifecycleStage status version churnedOn churnReason archivedAt \
    annualValue { amountMinor currency } renewalDate accountManager { id } parent { id }";

async fn account_lifecycle(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let t = s.tenant("acme").await;
    let am = s.member(&t, "ACCOUNT_MANAGER", "Ann Manager").await;

    let group = s
        .mutate(
            &t.admin_token,
            "createAccount",
            "account",
            FIELDS,
            json!({ "name": "Globex Group", "tier": "STRATEGIC" }),
        )
        .await;
    let created = s
        .mutate(
            &t.admin_token,
            "createAccount",
            "account",
            FIELDS,
            json!({
                "name": "  Globex Manufacturing ", "externalRef": "CRM-1", "tier": "KEY",
                "annualValue": { "amountMinor": 1_200_000_000_i64, "currency": "EUR" },
                "contractStart": "2025-01-01", "renewalDate": "2026-12-31",
                "accountManagerId": am.id, "parentId": group["id"],
            }),
        )
        .await;
    assert_eq!(created["name"], "Globex Manufacturing", "names are trimmed");
    assert_eq!(created["lifecycleStage"], "ONBOARDING");
    assert_eq!(created["status"], "ACTIVE");
    assert_eq!(created["version"], 1);
    assert_eq!(created["annualValue"], json!({ "amountMinor": 1_200_000_000i64, "currency": "EUR" }));
    assert_eq!(created["accountManager"]["id"], json!(am.id));
    assert_eq!(created["parent"]["id"], group["id"]);
    let id = created["id"].as_str().unwrap();

    // Read back by node id and by external reference.
    let q = format!(
        "query($id: ID!) {{ node(id: $id) {{ ... on Account {{ {FIELDS} }} }} byRef: accountByExternalRef(externalRef: \"CRM-1\") {{ id }} }}"
    );
    let data = s.gql(&t.admin_token, &q, json!({ "id": id })).await;
    assert_eq!(data["node"], created);
    assert_eq!(data["byRef"]["id"], json!(id));

    // Update with the right version, then a stale one.
    let updated = s
        .mutate(
            &t.admin_token,
            "updateAccount",
            "account",
            FIELDS,
            json!({ "id": id, "expectedVersion": 1, "lifecycleStage": "ADOPTION", "renewalDate": null, "parentId": null }),
        )
        .await;
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["lifecycleStage"], "ADOPTION");
    assert_eq!(updated["renewalDate"], Value::Null, "null clears a field");
    assert_eq!(updated["parent"], Value::Null);
    assert_eq!(updated["name"], "Globex Manufacturing", "omitted fields are kept");
    let errors = s
        .mutate_err(
            &t.admin_token,
            "updateAccount",
            "account",
            json!({ "id": id, "expectedVersion": 1, "name": "Stale" }),
        )
        .await;
    assert_eq!(errors[0]["code"], "CONFLICT");
    assert_eq!(errors[0]["field"], json!(["input", "expectedVersion"]));

    // A second account cannot take the same external reference.
    let errors = s
        .mutate_err(
            &t.admin_token,
            "createAccount",
            "account",
            json!({ "name": "Copy", "tier": "KEY", "externalRef": "CRM-1" }),
        )
        .await;
    assert_eq!(errors[0]["code"], "CONFLICT");
    assert_eq!(errors[0]["field"], json!(["input", "externalRef"]));

    // Churn and win back.
    let churned = s
        .mutate(
            &t.admin_token,
            "markAccountChurned",
            "account",
            FIELDS,
            json!({ "id": id, "churnedOn": "2026-01-15", "reason": "Moved to a competitor" }),
        )
        .await;
    assert_eq!(churned["status"], "CHURNED");
    assert_eq!(churned["churnedOn"], "2026-01-15");
    let errors = s
        .mutate_err(
            &t.admin_token,
            "markAccountChurned",
            "account",
            json!({ "id": id, "churnedOn": "2026-01-16", "reason": "again" }),
        )
        .await;
    assert_eq!(errors[0]["field"], json!(["input", "status"]));
    let back = s.mutate(&t.admin_token, "reactivateAccount", "account", FIELDS, json!({ "id": id })).await;
    assert_eq!(back["status"], "ACTIVE");
    assert_eq!(back["churnReason"], Value::Null);

    // Archive: read-only afterwards and gone from default lists.
    let archived = s.mutate(&t.admin_token, "archiveAccount", "account", FIELDS, json!({ "id": id })).await;
    assert!(archived["archivedAt"].is_string());
    let errors = s.mutate_err(&t.admin_token, "updateAccount", "account", json!({ "id": id, "name": "Zombie" })).await;
    assert_eq!(errors[0]["code"], "INVALID");
    let data = s
        .gql(
            &t.admin_token,
            "{ a: accounts { totalCount } b: accounts(filter: { includeArchived: true }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(data["a"]["totalCount"], 1);
    assert_eq!(data["b"]["totalCount"], 2);
    s.stop().await;
}

const TIERS: [&str; 4] = ["STRATEGIC", "KEY", "GROWTH", "STANDARD"];

async fn create_accounts(s: &TestServer, token: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let a = s
            .mutate(
                token,
                "createAccount",
                "account",
                "id",
                json!({
                    "name": format!("Account {:02}", i % 7),
                    "tier": TIERS[i % 4],
                    "segment": if i % 2 == 0 { "banks" } else { "government" },
                    "annualValue": { "amountMinor": (i as i64 % 5) * 1000, "currency": "EUR" },
                    "renewalDate": if i % 3 == 0 { Value::Null } else { json!(format!("2027-0{}-1{}", 1 + i % 9, i % 10)) },
                }),
            )
            .await;
        ids.push(a["id"].as_str().unwrap().to_owned());
    }
    ids
}

/// Walks a connection page by page (forward or backward) and returns the ids in list order.
async fn walk(s: &TestServer, token: &str, order: &str, forward: bool, size: usize) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    let mut cursor: Value = Value::Null;
    loop {
        let q = if forward {
            format!(
                "query($c: String) {{ accounts(first: {size}, after: $c, orderBy: {order}) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ id }} }} }}"
            )
        } else {
            format!(
                "query($c: String) {{ accounts(last: {size}, before: $c, orderBy: {order}) {{ pageInfo {{ hasPreviousPage startCursor }} nodes {{ id }} }} }}"
            )
        };
        let data = s.gql(token, &q, json!({ "c": cursor })).await;
        let conn = &data["accounts"];
        let ids: Vec<String> =
            conn["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap().to_owned()).collect();
        assert!(ids.len() <= size);
        if forward {
            seen.extend(ids);
            if conn["pageInfo"]["hasNextPage"] != true {
                break;
            }
            cursor = conn["pageInfo"]["endCursor"].clone();
        } else {
            seen.splice(0..0, ids);
            if conn["pageInfo"]["hasPreviousPage"] != true {
                break;
            }
            cursor = conn["pageInfo"]["startCursor"].clone();
        }
    }
    seen
}

async fn pagination_is_stable_in_both_directions(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let t = s.tenant("pages").await;
    let ids = create_accounts(&s, &t.admin_token, 23).await;
    for order in [
        "{ field: NAME }",
        "{ field: NAME, direction: DESC }",
        "{ field: RENEWAL_DATE }",
        "{ field: RENEWAL_DATE, direction: DESC }",
        "{ field: ANNUAL_VALUE, direction: DESC }",
        "{ field: CREATED_AT }",
    ] {
        let q = format!("{{ accounts(first: 100, orderBy: {order}) {{ totalCount nodes {{ id }} }} }}");
        let all = s.gql(&t.admin_token, &q, json!({})).await;
        let expected: Vec<String> =
            all["accounts"]["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(expected.len(), 23);
        assert_eq!(all["accounts"]["totalCount"], 23);
        for size in [1, 4, 10] {
            assert_eq!(walk(&s, &t.admin_token, order, true, size).await, expected, "forward by {size}, {order}");
            assert_eq!(walk(&s, &t.admin_token, order, false, size).await, expected, "backward by {size}, {order}");
        }
    }
    let by_created: Vec<String> = walk(&s, &t.admin_token, "{ field: CREATED_AT }", true, 100).await;
    assert_eq!(by_created, ids, "creation order");

    // A cursor from another ordering, garbage, and page sizes out of range are refused.
    let data = s.gql(&t.admin_token, "{ accounts(first: 1) { pageInfo { endCursor } } }", json!({})).await;
    let name_cursor = data["accounts"]["pageInfo"]["endCursor"].clone();
    for (q, vars) in [
        (
            "query($c: String) { accounts(first: 1, after: $c, orderBy: { field: ANNUAL_VALUE }) { nodes { id } } }",
            json!({ "c": name_cursor }),
        ),
        ("query($c: String) { accounts(first: 1, after: $c) { nodes { id } } }", json!({ "c": "garbage" })),
        ("{ accounts(first: 101) { nodes { id } } }", json!({})),
        ("{ accounts(first: 0) { nodes { id } } }", json!({})),
        ("{ accounts(first: 1, last: 1) { nodes { id } } }", json!({})),
    ] {
        let (status, body) = s.post(Some(&t.admin_token), q, vars).await;
        assert_eq!(status, 200);
        assert_eq!(bellwether_tests::error_codes(&body), vec!["BAD_USER_INPUT"], "{q}: {body}");
    }
    s.stop().await;
}

async fn filters_and_orderings(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let t = s.tenant("filters").await;
    create_accounts(&s, &t.admin_token, 12).await;
    let count = |filter: &'static str| {
        let s = &s;
        let token = t.admin_token.clone();
        async move {
            let data = s
                .gql(&token, &format!("{{ accounts(filter: {filter}) {{ totalCount nodes {{ id }} }} }}"), json!({}))
                .await;
            let n = data["accounts"]["totalCount"].as_i64().unwrap();
            assert_eq!(n as usize, data["accounts"]["nodes"].as_array().unwrap().len());
            n
        }
    };
    assert_eq!(count("{ tiers: [STRATEGIC] }").await, 3);
    assert_eq!(count("{ tiers: [STRATEGIC, KEY] }").await, 6);
    assert_eq!(count("{ segments: [\"banks\"] }").await, 6);
    assert_eq!(count("{ segments: [\"banks\"], tiers: [STRATEGIC] }").await, 3);
    assert_eq!(count("{ nameContains: \"account 0\" }").await, 12);
    assert_eq!(count("{ nameContains: \"%\" }").await, 0, "LIKE wildcards are literal");
    assert_eq!(count("{ renewalFrom: \"2027-03-01\", renewalTo: \"2027-06-30\" }").await, 4);
    assert_eq!(count("{ statuses: [CHURNED] }").await, 0);
    let (_, body) = s
        .post(
            Some(&t.admin_token),
            "{ accounts(filter: { renewalFrom: \"2027-03-01\", renewalTo: \"2027-01-01\" }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(bellwether_tests::error_codes(&body), vec!["BAD_USER_INPUT"]);

    let data = s
        .gql(&t.admin_token, "{ accounts(first: 3, orderBy: { field: ANNUAL_VALUE, direction: DESC }) { nodes { annualValue { amountMinor } } } }", json!({}))
        .await;
    let values: Vec<i64> = data["accounts"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["annualValue"]["amountMinor"].as_i64().unwrap())
        .collect();
    assert_eq!(values, vec![4000, 4000, 3000]);
    let data = s
        .gql(
            &t.admin_token,
            "{ accounts(first: 100, orderBy: { field: RENEWAL_DATE }) { nodes { renewalDate } } }",
            json!({}),
        )
        .await;
    let dates: Vec<Value> =
        data["accounts"]["nodes"].as_array().unwrap().iter().map(|n| n["renewalDate"].clone()).collect();
    let first_null = dates.iter().position(Value::is_null).unwrap();
    assert!(dates[first_null..].iter().all(Value::is_null), "accounts without a renewal date come last: {dates:?}");
    let mut sorted = dates[..first_null].to_vec();
    sorted.sort_by_key(|d| d.as_str().unwrap().to_owned());
    assert_eq!(sorted, dates[..first_null]);
    s.stop().await;
}
