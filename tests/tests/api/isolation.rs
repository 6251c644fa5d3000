//! Tenant isolation: with two organisations, nothing of one is visible or writable by the other,
//! through any root field, `node`/`nodes`, nested edges or mutation.

use std::collections::BTreeSet;

use bellwether_tests::{Backend, Tenant, TestServer, on_every_backend};
use serde_json::{Value, json};

on_every_backend!(organisations_cannot_see_or_touch_each_other);

/// Ids of everything made for one tenant.
struct World {
    tenant: Tenant,
    user: String,
    account: String,
    child: String,
    contact: String,
    interaction: String,
    ticket: String,
    invoice: String,
    survey: String,
    assessment: String,
    contract_change: String,
    scorecard: String,
    metric: String,
    health_score: String,
    risk: String,
    rule_risk: String,
    run: String,
    plugin: String,
    playbook: String,
    plan: String,
    action: String,
    update: String,
    post_mortem: String,
    feedback: String,
}

async fn populate(s: &TestServer, slug: &str) -> World {
    let tenant = s.tenant(slug).await;
    let am = s.member(&tenant, "ACCOUNT_MANAGER", &format!("{slug} am")).await;
    let token = &tenant.admin_token;
    let account = s
        .mutate(token, "createAccount", "account", "id", json!({ "name": format!("{slug} parent"), "tier": "STRATEGIC", "externalRef": "SHARED-1", "accountManagerId": am.id }))
        .await;
    let child = s
        .mutate(
            token,
            "createAccount",
            "account",
            "id",
            json!({ "name": format!("{slug} child"), "tier": "KEY", "parentId": account["id"] }),
        )
        .await;
    let contact = s
        .mutate(token, "createContact", "contact", "id", json!({ "accountId": account["id"], "name": format!("{slug} contact"), "level": "EXECUTIVE", "role": "CHAMPION", "idempotencyKey": "same-key" }))
        .await;
    let interaction = s
        .mutate(
            token,
            "logInteraction",
            "interaction",
            "id",
            json!({ "accountId": account["id"], "kind": "QBR", "occurredAt": "2026-01-01T00:00:00Z", "summary": format!("{slug} review"), "contactIds": [contact["id"]], "userIds": [am.id], "idempotencyKey": "same-key" }),
        )
        .await;
    let id = |v: &Value| v["id"].as_str().unwrap().to_owned();
    let reference = json!({ "externalRef": "SHARED-1" });
    // The same attribute key in both organisations, each with its own name and value.
    s.mutate(
        token,
        "defineAccountAttribute",
        "attribute",
        "key",
        json!({ "key": "plan", "name": format!("{slug} plan"), "kind": "TEXT" }),
    )
    .await;
    let q = "mutation($i: SetAccountAttributesInput!) { setAccountAttributes(input: $i) { accepted } }";
    let set = s.gql(token, q, json!({ "i": { "items": [{ "account": reference, "values": [{ "key": "plan", "text": format!("{slug} gold") }] }] } })).await;
    assert_eq!(set["setAccountAttributes"]["accepted"], 1);
    for (field, items) in [
        (
            "ingestMetricPoints",
            json!([{ "account": reference, "metric": "usage.active_users", "observedAt": "2026-01-01T00:00:00Z", "value": 10 }]),
        ),
        (
            "upsertSupportTickets",
            json!([{ "account": reference, "externalId": "T-1", "priority": "CRITICAL", "status": "OPEN", "openedAt": "2026-01-01T00:00:00Z" }]),
        ),
        (
            "upsertInvoices",
            json!([{ "account": reference, "number": "INV-1", "amountMinor": 1000, "currency": "EUR", "issuedOn": "2026-01-01", "dueOn": "2026-01-31", "status": "OPEN" }]),
        ),
        (
            "recordSurveyResponses",
            json!([{ "account": reference, "kind": "NPS", "score": 3, "contactId": contact["id"], "respondedAt": "2026-01-02T00:00:00Z", "idempotencyKey": "same-key" }]),
        ),
    ] {
        let q = format!(
            "mutation($i: {}!) {{ {field}(input: $i) {{ accepted rejected }} }}",
            bellwether_tests::input_type(field)
        );
        let data = s.gql(token, &q, json!({ "i": { "items": items } })).await;
        assert_eq!(data[field], json!({ "accepted": 1, "rejected": 0 }), "{slug} {field}");
    }
    let assessment = s
        .mutate(token, "recordRelationshipAssessment", "assessment", "id", json!({ "accountId": account["id"], "stakeholderSentiment": 2, "competitivePressure": 4, "strategicAlignment": 3 }))
        .await;
    let change = s
        .mutate(token, "recordContractChange", "contractChange", "id", json!({ "accountId": account["id"], "effectiveOn": "2026-01-01", "annualValue": { "amountMinor": 5000000, "currency": "EUR" } }))
        .await;
    let scorecard = s
        .mutate(token, "createHealthScorecard", "scorecard", "id", json!({ "name": format!("{slug} card"), "definition": { "measures": [{ "kind": "SUPPORT_LOAD", "weight": 1 }], "bands": { "good": 70, "watch": 40 } } }))
        .await;
    let risk = s
        .mutate(token, "createRisk", "risk", "id", json!({ "accountId": account["id"], "category": "COMPETITIVE", "title": format!("{slug} courted"), "detail": "A competitor is courting them", "impact": 4, "likelihood": 3, "ownerId": am.id }))
        .await;
    let q = "mutation($i: EvaluateAccountRisksInput!) { evaluateAccountRisks(input: $i) { run { id } openRisks { id source } userErrors { code } } }";
    let evaluated = s.gql(token, q, json!({ "i": { "accountId": account["id"] } })).await;
    let evaluated = &evaluated["evaluateAccountRisks"];
    let rule_risk =
        evaluated["openRisks"].as_array().unwrap().iter().find(|r| r["source"] == "RULE").expect("rules raised risks")
            ["id"]
            .clone();
    let plugin = s
        .mutate(
            token,
            "uploadRulePlugin",
            "plugin",
            "id",
            json!({ "component": bellwether_tests::guests::base64("renewal_without_buyer") }),
        )
        .await;
    // Follow-through: a plan on the manual risk, an update, a post-mortem with feedback.
    let generic =
        s.gql(token, "{ playbook(key: \"generic_mitigation\") { id } }", json!({})).await["playbook"]["id"].clone();
    let plan = s
        .mutate(token, "applyPlaybook", "plan", "id actions { id }", json!({ "riskId": risk["id"], "playbookId": generic, "internalStakeholderIds": [am.id], "clientStakeholderIds": [contact["id"]] }))
        .await;
    let update = s
        .mutate(
            token,
            "postRiskUpdate",
            "update",
            "id",
            json!({ "riskId": risk["id"], "audience": "CLIENT", "channel": "EMAIL", "body": format!("{slug} update") }),
        )
        .await;
    let closed = s
        .mutate(token, "createRisk", "risk", "id", json!({ "accountId": account["id"], "category": "FINANCIAL", "title": format!("{slug} budget"), "detail": "Budget cut", "impact": 2, "likelihood": 2 }))
        .await;
    s.mutate(token, "transitionRisk", "risk", "id", json!({ "riskId": closed["id"], "to": "MATERIALIZED" })).await;
    let post_mortem = s
        .mutate(
            token,
            "recordPostMortem",
            "postMortem",
            "id",
            json!({ "riskId": closed["id"], "rootCause": "CLIENT_BUDGET", "summary": format!("{slug} lesson") }),
        )
        .await;
    let feedback = s
        .mutate(
            token,
            "addFeedbackItem",
            "item",
            "id",
            json!({ "postMortemId": post_mortem["id"], "team": "FINANCE", "title": format!("{slug} feedback") }),
        )
        .await;
    let q = "query($id: ID!) { node(id: $id) { ... on Account { health { id } supportTickets { nodes { id } } invoices { nodes { id } } surveyResponses { nodes { id } } } } metricDefinitions { id key } }";
    let data = s.gql(token, q, json!({ "id": account["id"] })).await;
    let node = &data["node"];
    World {
        user: am.id,
        account: id(&account),
        child: id(&child),
        contact: id(&contact),
        interaction: id(&interaction),
        ticket: id(&node["supportTickets"]["nodes"][0]),
        invoice: id(&node["invoices"]["nodes"][0]),
        survey: id(&node["surveyResponses"]["nodes"][0]),
        assessment: id(&assessment),
        contract_change: id(&change),
        scorecard: id(&scorecard),
        metric: id(&data["metricDefinitions"][0]),
        health_score: id(&node["health"]),
        risk: id(&risk),
        rule_risk: rule_risk.as_str().unwrap().to_owned(),
        plugin: id(&plugin),
        run: id(&evaluated["run"]),
        playbook: generic.as_str().unwrap().to_owned(),
        plan: id(&plan),
        action: id(&plan["actions"][0]),
        update: id(&update),
        post_mortem: id(&post_mortem),
        feedback: id(&feedback),
        tenant,
    }
}

/// Everything `token` can reach by walking the graph from every root field.
const WALK: &str = r#"{
  viewer { id managedAccounts { nodes { id } } }
  organisation { id slug }
  accounts(filter: { includeArchived: true }, first: 10) { totalCount nodes { id parent { id } accountManager { id } salesOwner { id }
    children { totalCount nodes { id } }
    contacts(filter: { includeArchived: true }) { totalCount nodes { id account { id } } }
    interactions(filter: { includeArchived: true }) { totalCount nodes { id account { id } contacts { id } users { id } } } } }
  accountByExternalRef(externalRef: "SHARED-1") { id attributes { key text } health { id scorecard { id } measures { label } }
    healthHistory { nodes { id } }
    allCards: health(scorecardId: null) { id }
    metricPoints(metric: "usage.active_users") { totalCount }
    metricSeries(metric: "usage.active_users", from: "2025-12-01T00:00:00Z", to: "2026-02-01T00:00:00Z", buckets: 4) { buckets { value count } }
    supportTickets { totalCount nodes { id externalId account { id } } }
    invoices { totalCount nodes { id number account { id } } }
    surveyResponses { totalCount nodes { id contact { id } account { id } } }
    relationshipAssessments { totalCount nodes { id assessedBy { id } account { id } } }
    contractChanges { totalCount nodes { id account { id } } } }
  users(filter: { includeArchived: true }, first: 10) { totalCount nodes { id managedAccounts { nodes { id } } } }
  metricDefinitions { id key }
  attributeDefinitions(includeArchived: true) { key name }
  attributed: accounts(filter: { attributes: [{ key: "plan", atLeast: { text: "a" } }] }) { totalCount nodes { id attributes { key text } } }
  healthScorecards { id name }
  risks(first: 10) { totalCount nodes { id title account { id } owner { id } createdBy { id } events(first: 5) { totalCount nodes { actor { id } } }
    actionPlans { id actions { id owner { id } closedBy { id } } } updates { totalCount nodes { id author { id } } } postMortem { id } } }
  accountRisks: accounts(first: 5) { nodes { risks(first: 10) { totalCount nodes { id } } } }
  riskMatrix { count cells { count } }
  riskPortfolio { count byOwner { owner { id } count } }
  riskRules { key version }
  ruleRuns(first: 5) { totalCount nodes { id account { id } failures { account { id } } } }
  rulePlugins { id key createdBy { id } versions { sha256 uploadedBy { id } } rule { key } runs { run { id } failures { account { id } } } }
  playbooks(includeArchived: true) { id createdBy { id } versions { createdBy { id } } effectiveness { plansApplied } }
  playbook(key: "generic_mitigation") { id }
  planActions(first: 10) { totalCount nodes { id owner { id } plan { id account { id } risk { id } internalStakeholders { id }
    clientStakeholders { id } playbook { id } createdBy { id } } } }
  overdueActionsByOwner { owner { id } count }
  postMortems(first: 10) { totalCount nodes { id summary account { id } risk { id } author { id } rulesFired
    timeline { text actor { id } risk { id } } feedbackItems { id title createdBy { id } } } }
  lessons { total { count } playbooks { playbook { id } effectiveness { plansApplied } } }
  feedbackItems(first: 10) { totalCount nodes { id title postMortem { id } } }
}"#;

/// Every string in a JSON value (ids are strings).
fn strings(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::String(s) => {
            out.insert(s.clone());
        }
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

async fn organisations_cannot_see_or_touch_each_other(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let a = populate(&s, "alpha").await;
    let b = populate(&s, "beta").await;
    let b_ids = [
        &b.tenant.org_id,
        &b.tenant.admin_id,
        &b.user,
        &b.account,
        &b.child,
        &b.contact,
        &b.interaction,
        &b.ticket,
        &b.invoice,
        &b.survey,
        &b.assessment,
        &b.contract_change,
        &b.scorecard,
        &b.metric,
        &b.health_score,
        &b.risk,
        &b.rule_risk,
        &b.run,
        &b.plugin,
        &b.playbook,
        &b.plan,
        &b.action,
        &b.update,
        &b.post_mortem,
        &b.feedback,
    ];

    // The walk must cover every root query field: a new root field fails here until it is covered.
    let fields = s.gql(&a.tenant.admin_token, "{ __schema { queryType { fields { name } } } }", json!({})).await;
    let roots: BTreeSet<&str> = fields["__schema"]["queryType"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    let covered: BTreeSet<&str> = [
        "viewer",
        "organisation",
        "accounts",
        "accountByExternalRef",
        "users",
        "node",
        "nodes",
        "metricDefinitions",
        "attributeDefinitions",
        "healthScorecards",
        "risks",
        "riskMatrix",
        "riskPortfolio",
        "riskRules",
        "ruleRuns",
        "previewRisks",
        "backtestRule",
        "warningQuality",
        "rulePlugins",
        "playbooks",
        "playbook",
        "planActions",
        "overdueActionsByOwner",
        "postMortems",
        "lessons",
        "feedbackItems",
    ]
    .into();
    assert_eq!(roots, covered, "tenant-isolation walk does not cover every root field");

    // Walk everything A can see: none of B's ids or names appear, and A sees all of its own.
    let seen = s.gql(&a.tenant.admin_token, WALK, json!({})).await;
    let mut found = BTreeSet::new();
    strings(&seen, &mut found);
    for id in b_ids {
        assert!(!found.contains(id.as_str()), "beta's {id} visible to alpha");
    }
    assert!(found.iter().all(|s| !s.starts_with("beta")), "beta's names visible to alpha: {found:?}");
    for id in [
        &a.tenant.org_id,
        &a.tenant.admin_id,
        &a.user,
        &a.account,
        &a.child,
        &a.contact,
        &a.interaction,
        &a.ticket,
        &a.invoice,
        &a.survey,
        &a.assessment,
        &a.contract_change,
        &a.scorecard,
        &a.health_score,
        &a.risk,
        &a.rule_risk,
        &a.run,
        &a.plugin,
        &a.playbook,
        &a.plan,
        &a.action,
        &a.update,
        &a.post_mortem,
        &a.feedback,
    ] {
        assert!(found.contains(id.as_str()), "alpha's own {id} missing from the walk");
    }
    assert_eq!(seen["accountByExternalRef"]["id"], json!(a.account), "external refs are per organisation");
    assert_eq!(seen["organisation"]["slug"], "alpha");
    // Organisation settings change the caller's own organisation: there is no id to aim elsewhere.
    let renamed = s
        .mutate(
            &a.tenant.admin_token,
            "updateOrganisation",
            "organisation",
            "id name timeZone",
            json!({ "name": "alpha renamed", "timeZone": "Asia/Tokyo" }),
        )
        .await;
    assert_eq!(renamed, json!({ "id": a.tenant.org_id, "name": "alpha renamed", "timeZone": "Asia/Tokyo" }));
    let beta = s.gql(&b.tenant.admin_token, "{ organisation { name timeZone } }", json!({})).await;
    assert_eq!(beta["organisation"], json!({ "name": "beta Ltd", "timeZone": "UTC" }));

    // node and nodes answer foreign ids exactly like missing ones.
    let data = s
        .gql(
            &a.tenant.admin_token,
            "query($ids: [ID!]!, $one: ID!) { nodes(ids: $ids) { id } node(id: $one) { id } }",
            json!({ "ids": b_ids, "one": b.account }),
        )
        .await;
    assert_eq!(data["nodes"], json!(vec![Value::Null; b_ids.len()]));
    assert_eq!(data["node"], Value::Null);

    // Previews of foreign accounts are null like unknown ones; backtests refuse them.
    let data = s
        .gql(&a.tenant.admin_token, "query($b: ID!, $a: ID!) { b: previewRisks(accountId: $b) { asOf } a: previewRisks(accountId: $a) { findings { ruleKey } } }", json!({ "b": b.account, "a": a.account }))
        .await;
    assert_eq!(data["b"], Value::Null);
    assert!(!data["a"]["findings"].as_array().unwrap().is_empty(), "own preview finds the rule risks");
    let (_, body) = s
        .post(Some(&a.tenant.admin_token), "query($b: ID!) { backtestRule(input: { ruleKey: \"invoice_overdue\", accountIds: [$b], from: \"2026-01-01\", to: \"2026-02-01\" }) { ruleKey } }", json!({ "b": b.account }))
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND", "{body}");
    let data = s
        .gql(&a.tenant.admin_token, "query($a: ID!) { backtestRule(input: { ruleKey: \"invoice_overdue\", accountIds: [$a], from: \"2026-01-01\", to: \"2026-03-31\", everyDays: 1 }) { accounts { account { id } firstFiredOn } } }", json!({ "a": a.account }))
        .await;
    assert_eq!(data["backtestRule"]["accounts"][0]["account"]["id"], json!(a.account));
    assert_eq!(data["backtestRule"]["accounts"][0]["firstFiredOn"], "2026-03-02", "30 days after the due date");

    // Warning quality refuses foreign accounts and scorecards, and measures one's own.
    let q = "query($i: WarningQualityInput!) { warningQuality(input: $i) { accounts observations } }";
    let (_, body) = s
        .post(
            Some(&a.tenant.admin_token),
            q,
            json!({ "i": { "from": "2026-01-01", "to": "2026-02-01", "accountIds": [b.account] } }),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND", "{body}");
    let b_card =
        s.gql(&b.tenant.admin_token, "{ healthScorecards { id } }", json!({})).await["healthScorecards"][0]["id"]
            .clone();
    let (_, body) = s
        .post(
            Some(&a.tenant.admin_token),
            q,
            json!({ "i": { "from": "2026-01-01", "to": "2026-02-01", "scorecards": [{ "id": b_card }] } }),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{body}");
    let data = s
        .gql(
            &a.tenant.admin_token,
            q,
            json!({ "i": { "from": "2026-01-01", "to": "2026-02-01", "accountIds": [a.account] } }),
        )
        .await;
    assert_eq!(data["warningQuality"]["accounts"], json!(1));

    // Filters with foreign ids find nothing.
    let data = s
        .gql(&a.tenant.admin_token, "query($u: ID!, $p: ID!) { m: accounts(filter: { accountManagerId: $u }) { totalCount } c: accounts(filter: { parentId: $p }) { totalCount } }", json!({ "u": b.user, "p": b.account }))
        .await;
    assert_eq!(data, json!({ "m": { "totalCount": 0 }, "c": { "totalCount": 0 } }));

    // Every mutation referencing a foreign id is NOT_FOUND and changes nothing.
    let token = &a.tenant.admin_token;
    let attempts: Vec<(&str, &str, Value)> = vec![
        ("updateAccount", "account", json!({ "id": b.account, "name": "pwned" })),
        ("markAccountChurned", "account", json!({ "id": b.account, "churnedOn": "2026-01-01", "reason": "pwned" })),
        ("reactivateAccount", "account", json!({ "id": b.account })),
        ("archiveAccount", "account", json!({ "id": b.account })),
        ("createAccount", "account", json!({ "name": "x", "tier": "KEY", "accountManagerId": b.user })),
        ("createAccount", "account", json!({ "name": "x", "tier": "KEY", "parentId": b.account })),
        ("updateAccount", "account", json!({ "id": a.account, "salesOwnerId": b.tenant.admin_id })),
        (
            "createContact",
            "contact",
            json!({ "accountId": b.account, "name": "x", "level": "EXECUTIVE", "role": "USER" }),
        ),
        ("updateContact", "contact", json!({ "id": b.contact, "name": "pwned" })),
        ("archiveContact", "contact", json!({ "id": b.contact })),
        (
            "logInteraction",
            "interaction",
            json!({ "accountId": b.account, "kind": "CALL", "occurredAt": "2026-01-01T00:00:00Z", "summary": "x" }),
        ),
        (
            "logInteraction",
            "interaction",
            json!({ "accountId": a.account, "kind": "CALL", "occurredAt": "2026-01-01T00:00:00Z", "summary": "x", "contactIds": [b.contact] }),
        ),
        (
            "logInteraction",
            "interaction",
            json!({ "accountId": a.account, "kind": "CALL", "occurredAt": "2026-01-01T00:00:00Z", "summary": "x", "userIds": [b.user] }),
        ),
        ("updateInteraction", "interaction", json!({ "id": b.interaction, "summary": "pwned" })),
        ("archiveInteraction", "interaction", json!({ "id": b.interaction })),
        ("updateUser", "user", json!({ "id": b.user, "name": "pwned" })),
        ("archiveUser", "user", json!({ "id": b.user })),
        (
            "recordRelationshipAssessment",
            "assessment",
            json!({ "accountId": b.account, "stakeholderSentiment": 1, "competitivePressure": 1, "strategicAlignment": 1 }),
        ),
        (
            "recordContractChange",
            "contractChange",
            json!({ "accountId": b.account, "effectiveOn": "2026-01-01", "annualValue": { "amountMinor": 1, "currency": "EUR" } }),
        ),
        ("updateHealthScorecard", "scorecard", json!({ "id": b.scorecard, "name": "pwned" })),
        (
            "createRisk",
            "risk",
            json!({ "accountId": b.account, "category": "FINANCIAL", "title": "x", "detail": "x", "impact": 1, "likelihood": 1 }),
        ),
        (
            "createRisk",
            "risk",
            json!({ "accountId": a.account, "category": "FINANCIAL", "title": "x", "detail": "x", "impact": 1, "likelihood": 1, "ownerId": b.user }),
        ),
        ("transitionRisk", "risk", json!({ "riskId": b.risk, "to": "VALIDATED" })),
        ("transitionRisk", "risk", json!({ "riskId": b.rule_risk, "to": "DISMISSED" })),
        ("assignRisk", "risk", json!({ "riskId": b.risk, "ownerId": null })),
        ("assignRisk", "risk", json!({ "riskId": a.risk, "ownerId": b.user })),
        ("assessRisk", "risk", json!({ "riskId": b.risk, "impact": 1, "likelihood": 1 })),
        ("evaluateAccountRisks", "run", json!({ "accountId": b.account })),
        ("setRulePluginEnabled", "plugin", json!({ "id": b.plugin, "enabled": false })),
        ("activateRulePluginVersion", "plugin", json!({ "id": b.plugin, "number": 1 })),
        ("updatePlaybook", "playbook", json!({ "id": b.playbook, "name": "pwned" })),
        ("applyPlaybook", "plan", json!({ "riskId": b.risk, "playbookId": a.playbook })),
        ("applyPlaybook", "plan", json!({ "riskId": a.rule_risk, "playbookId": b.playbook })),
        (
            "applyPlaybook",
            "plan",
            json!({ "riskId": a.rule_risk, "playbookId": a.playbook, "internalStakeholderIds": [b.user] }),
        ),
        (
            "applyPlaybook",
            "plan",
            json!({ "riskId": a.rule_risk, "playbookId": a.playbook, "clientStakeholderIds": [b.contact] }),
        ),
        (
            "addPlanAction",
            "action",
            json!({ "planId": b.plan, "title": "x", "ownerId": a.user, "dueOn": "2099-01-01" }),
        ),
        (
            "addPlanAction",
            "action",
            json!({ "planId": a.plan, "title": "x", "ownerId": b.user, "dueOn": "2099-01-01" }),
        ),
        ("updateActionPlan", "plan", json!({ "id": b.plan, "desiredOutcome": "pwned" })),
        ("updateActionPlan", "plan", json!({ "id": a.plan, "internalStakeholderIds": [b.user] })),
        ("updateActionPlan", "plan", json!({ "id": a.plan, "clientStakeholderIds": [b.contact] })),
        ("reassignPlanAction", "action", json!({ "id": b.action, "dueOn": "2099-01-01" })),
        ("reassignPlanAction", "action", json!({ "id": a.action, "ownerId": b.user })),
        ("completePlanAction", "action", json!({ "id": b.action })),
        ("cancelPlanAction", "action", json!({ "id": b.action })),
        (
            "postRiskUpdate",
            "update",
            json!({ "riskId": b.risk, "audience": "CLIENT", "channel": "EMAIL", "body": "x" }),
        ),
        ("recordPostMortem", "postMortem", json!({ "accountId": b.account, "rootCause": "OTHER", "summary": "x" })),
        ("updatePostMortem", "postMortem", json!({ "id": b.post_mortem, "summary": "pwned" })),
        ("addFeedbackItem", "item", json!({ "postMortemId": b.post_mortem, "team": "PRODUCT", "title": "x" })),
        ("updateFeedbackItem", "item", json!({ "id": b.feedback, "status": "DONE" })),
    ];
    for (field, object, input) in attempts {
        let errors = s.mutate_err(token, field, object, input.clone()).await;
        assert_eq!(errors[0]["code"], "NOT_FOUND", "{field} {input}: {errors:?}");
    }
    // Bulk items naming foreign accounts or contacts are rejected one by one.
    let when = "2026-01-03T00:00:00Z";
    for (field, items) in [
        (
            "ingestMetricPoints",
            json!([{ "account": { "id": b.account }, "metric": "usage.active_users", "observedAt": when, "value": 1 }]),
        ),
        (
            "upsertSupportTickets",
            json!([{ "account": { "id": b.account }, "externalId": "X", "priority": "LOW", "status": "OPEN", "openedAt": when }]),
        ),
        (
            "upsertInvoices",
            json!([{ "account": { "id": b.account }, "number": "X", "amountMinor": 1, "currency": "EUR", "issuedOn": "2026-01-01", "dueOn": "2026-01-02", "status": "OPEN" }]),
        ),
        (
            "recordSurveyResponses",
            json!([{ "account": { "id": a.account }, "kind": "NPS", "score": 10, "contactId": b.contact, "respondedAt": when }]),
        ),
    ] {
        let q = format!(
            "mutation($i: {}!) {{ {field}(input: $i) {{ accepted rejected results {{ errors {{ code }} }} }} }}",
            bellwether_tests::input_type(field)
        );
        let data = s.gql(token, &q, json!({ "i": { "items": items } })).await;
        assert_eq!(data[field]["accepted"], 0, "{field}");
        assert_eq!(data[field]["results"][0]["errors"][0]["code"], "NOT_FOUND", "{field}: {}", data[field]);
    }

    // The same idempotency key in another organisation is independent.
    let replay = s
        .mutate(token, "createContact", "contact", "id", json!({ "accountId": a.account, "name": "alpha contact", "level": "EXECUTIVE", "role": "CHAMPION", "idempotencyKey": "same-key" }))
        .await;
    assert_eq!(replay["id"], json!(a.contact));

    // Beta's world is exactly as it was.
    let data = s
        .gql(
            &b.tenant.admin_token,
            "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Account { name version archivedAt status } ... on Contact { name version archivedAt } ... on Interaction { summary version archivedAt } ... on User { name version archivedAt } ... on HealthScorecard { name version } } }",
            json!({ "ids": [b.account, b.contact, b.interaction, b.user, b.scorecard] }),
        )
        .await;
    assert_eq!(
        data["nodes"],
        json!([
            { "name": "beta parent", "version": 2, "archivedAt": null, "status": "ACTIVE" },
            { "name": "beta contact", "version": 1, "archivedAt": null },
            { "summary": "beta review", "version": 1, "archivedAt": null },
            { "name": "beta am", "version": 1, "archivedAt": null },
            { "name": "beta card", "version": 1 },
        ])
    );
    s.stop().await;
}
