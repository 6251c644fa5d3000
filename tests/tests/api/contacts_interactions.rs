//! Contacts and interactions: nested lists, participants, idempotent creates.

use bellwether_tests::{Backend, TestServer, on_every_backend};
use serde_json::json;

on_every_backend!(stakeholders_and_history, retried_creates_are_no_ops);

async fn stakeholders_and_history(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let t = s.tenant("history").await;
    let account =
        s.mutate(&t.admin_token, "createAccount", "account", "id", json!({ "name": "Initech", "tier": "KEY" })).await;
    let other =
        s.mutate(&t.admin_token, "createAccount", "account", "id", json!({ "name": "Other", "tier": "KEY" })).await;
    let mut contacts = Vec::new();
    for (name, level, role) in [
        ("Bill Lumbergh", "EXECUTIVE", "EXECUTIVE_SPONSOR"),
        ("Peter Gibbons", "OPERATIONAL", "CHAMPION"),
        ("Milton Waddams", "OPERATIONAL", "USER"),
    ] {
        let c = s
            .mutate(
                &t.admin_token,
                "createContact",
                "contact",
                "id name level role sentiment active account { id }",
                json!({ "accountId": account["id"], "name": name, "level": level, "role": role, "email": format!("{}@initech.example", name.split(' ').next().unwrap()) }),
            )
            .await;
        assert_eq!(c["sentiment"], "UNKNOWN");
        assert_eq!(c["active"], true);
        assert_eq!(c["account"]["id"], account["id"]);
        contacts.push(c["id"].as_str().unwrap().to_owned());
    }
    let stranger = s
        .mutate(
            &t.admin_token,
            "createContact",
            "contact",
            "id",
            json!({ "accountId": other["id"], "name": "Stranger", "level": "EXECUTIVE", "role": "USER" }),
        )
        .await;

    // The champion leaves.
    let left = s
        .mutate(
            &t.admin_token,
            "updateContact",
            "contact",
            "active departedOn version",
            json!({ "id": contacts[1], "departedOn": "2026-01-31" }),
        )
        .await;
    assert_eq!(left, json!({ "active": false, "departedOn": "2026-01-31", "version": 2 }));
    let errors =
        s.mutate_err(&t.admin_token, "updateContact", "contact", json!({ "id": contacts[1], "active": true })).await;
    assert_eq!(errors[0]["field"], json!(["input", "departedOn"]));

    let q = r#"query($id: ID!) { node(id: $id) { ... on Account {
        executives: contacts(filter: { levels: [EXECUTIVE] }) { totalCount nodes { name } }
        active: contacts(filter: { active: true }) { totalCount }
        champions: contacts(filter: { roles: [CHAMPION] }) { nodes { name } }
    } } }"#;
    let data = s.gql(&t.admin_token, q, json!({ "id": account["id"] })).await;
    assert_eq!(data["node"]["executives"], json!({ "totalCount": 1, "nodes": [{ "name": "Bill Lumbergh" }] }));
    assert_eq!(data["node"]["active"]["totalCount"], 2);
    assert_eq!(data["node"]["champions"]["nodes"], json!([{ "name": "Peter Gibbons" }]));

    // Interactions with participants on both sides, newest first.
    for (days_ago, kind, who) in [(40, "QBR", vec![0, 1]), (3, "CHECK_IN", vec![2]), (10, "ESCALATION", vec![])] {
        let at = (chrono::Utc::now() - chrono::Duration::days(days_ago)).to_rfc3339();
        s.mutate(
            &t.admin_token,
            "logInteraction",
            "interaction",
            "id",
            json!({
                "accountId": account["id"], "kind": kind, "occurredAt": at, "summary": format!("{kind} {days_ago} days ago"),
                "contactIds": who.iter().map(|i: &usize| contacts[*i].clone()).collect::<Vec<_>>(), "userIds": [t.admin_id],
            }),
        )
        .await;
    }
    let q = r#"query($id: ID!) { node(id: $id) { ... on Account {
        interactions { totalCount nodes { kind contacts { name } users { id } account { id } } }
        escalations: interactions(filter: { kinds: [ESCALATION] }) { totalCount }
    } } }"#;
    let data = s.gql(&t.admin_token, q, json!({ "id": account["id"] })).await;
    let list = &data["node"]["interactions"];
    assert_eq!(list["totalCount"], 3);
    let kinds: Vec<&str> = list["nodes"].as_array().unwrap().iter().map(|n| n["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["CHECK_IN", "ESCALATION", "QBR"]);
    assert_eq!(list["nodes"][2]["contacts"].as_array().unwrap().len(), 2);
    assert_eq!(list["nodes"][0]["users"], json!([{ "id": t.admin_id }]));
    assert_eq!(data["node"]["escalations"]["totalCount"], 1);

    // A contact of another account cannot take part; nothing is logged.
    let errors = s
        .mutate_err(
            &t.admin_token,
            "logInteraction",
            "interaction",
            json!({ "accountId": account["id"], "kind": "CALL", "occurredAt": chrono::Utc::now().to_rfc3339(), "summary": "x", "contactIds": [stranger["id"]] }),
        )
        .await;
    assert_eq!(errors[0]["field"], json!(["input", "contactIds", "0"]));
    let data = s
        .gql(
            &t.admin_token,
            "query($id: ID!) { node(id: $id) { ... on Account { interactions { totalCount } } } }",
            json!({ "id": account["id"] }),
        )
        .await;
    assert_eq!(data["node"]["interactions"]["totalCount"], 3);

    // Replacing participants.
    let first = s
        .gql(
            &t.admin_token,
            "query($id: ID!) { node(id: $id) { ... on Account { interactions(first: 1) { nodes { id } } } } }",
            json!({ "id": account["id"] }),
        )
        .await;
    let iid = first["node"]["interactions"]["nodes"][0]["id"].clone();
    let changed = s
        .mutate(
            &t.admin_token,
            "updateInteraction",
            "interaction",
            "contacts { name } version",
            json!({ "id": iid, "contactIds": [contacts[0]] }),
        )
        .await;
    assert_eq!(changed, json!({ "contacts": [{ "name": "Bill Lumbergh" }], "version": 2 }));
    s.stop().await;
}

async fn retried_creates_are_no_ops(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let t = s.tenant("retry").await;
    let account =
        s.mutate(&t.admin_token, "createAccount", "account", "id", json!({ "name": "Hooli", "tier": "KEY" })).await;
    let other = s
        .mutate(&t.admin_token, "createAccount", "account", "id", json!({ "name": "Pied Piper", "tier": "KEY" }))
        .await;
    let contact = json!({ "accountId": account["id"], "name": "Gavin", "level": "EXECUTIVE", "role": "DECISION_MAKER", "idempotencyKey": "crm-contact-7" });
    let a = s.mutate(&t.admin_token, "createContact", "contact", "id", contact.clone()).await;
    let b = s.mutate(&t.admin_token, "createContact", "contact", "id", contact).await;
    assert_eq!(a, b);
    let interaction = json!({ "accountId": account["id"], "kind": "MEETING", "occurredAt": "2026-01-02T10:00:00Z", "summary": "Kick-off", "idempotencyKey": "crm-meeting-9" });
    let a = s.mutate(&t.admin_token, "logInteraction", "interaction", "id occurredAt", interaction.clone()).await;
    let b = s.mutate(&t.admin_token, "logInteraction", "interaction", "id occurredAt", interaction).await;
    assert_eq!(a, b);
    // The same key for a different account is a conflict, not a silent replay.
    let errors = s
        .mutate_err(
            &t.admin_token,
            "logInteraction",
            "interaction",
            json!({ "accountId": other["id"], "kind": "MEETING", "occurredAt": "2026-01-02T10:00:00Z", "summary": "x", "idempotencyKey": "crm-meeting-9" }),
        )
        .await;
    assert_eq!(errors[0]["code"], "CONFLICT");
    let data = s
        .gql(&t.admin_token, "query($id: ID!) { node(id: $id) { ... on Account { contacts { totalCount } interactions { totalCount } } } }", json!({ "id": account["id"] }))
        .await;
    assert_eq!(data["node"], json!({ "contacts": { "totalCount": 1 }, "interactions": { "totalCount": 1 } }));
    s.stop().await;
}
