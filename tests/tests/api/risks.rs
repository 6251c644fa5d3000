//! Risks: raised from signals by the background worker, refreshed, cleared and resolved; the
//! audited lifecycle with its refusals; rule settings, cool-downs, failures, previews,
//! backtests, the risk matrix; no double-raising under concurrency; the scheduled sweep.

use std::sync::Arc;

use bellwether_domain::risks::snapshot::AccountSnapshot;
use bellwether_domain::{AccountId, OrganisationId, RuleTrigger};
use bellwether_rules::engine::Engine;
use bellwether_rules::{Evaluation, Input, Params, Rule, RuleError, RuleMeta};
use bellwether_tests::{Backend, Options, TestServer, on_every_backend};
use chrono::{Duration, Utc};
use serde_json::{Value, json};

on_every_backend!(
    ingested_signals_raise_risks_off_the_request_path,
    risks_clear_and_resolve_when_the_signal_recovers,
    the_lifecycle_allows_only_its_transitions_and_audits_each,
    rule_settings_cooldowns_and_disabling,
    previews_and_backtests_persist_nothing,
    series_values_reach_the_rules_exactly,
    the_matrix_and_portfolio_sum_expected_loss,
    concurrent_evaluations_never_double_raise,
    failing_rules_are_recorded_and_contained,
    the_scheduled_sweep_runs_once_per_interval,
);

fn ago(days: i64) -> String {
    (Utc::now() - Duration::days(days) - Duration::hours(1)).to_rfc3339()
}

fn day_ago(days: i64) -> String {
    (Utc::now() - Duration::days(days)).date_naive().to_string()
}

async fn account(s: &TestServer, token: &str, name: &str, value: i64) -> String {
    let a = s
        .mutate(
            token,
            "createAccount",
            "account",
            "id",
            json!({ "name": name, "tier": "STRATEGIC", "annualValue": { "amountMinor": value, "currency": "EUR" } }),
        )
        .await;
    a["id"].as_str().unwrap().to_owned()
}

async fn bulk(s: &TestServer, token: &str, field: &str, items: Value) {
    let q = format!(
        "mutation($i: {}!) {{ {field}(input: $i) {{ rejected results {{ errors {{ message }} }} }} }}",
        bellwether_tests::input_type(field)
    );
    let data = s.gql(token, &q, json!({ "i": { "items": items } })).await;
    assert_eq!(data[field]["rejected"], 0, "{}", data[field]);
}

/// An open invoice `days_overdue` days past due (through the API).
pub(crate) async fn overdue_invoice(s: &TestServer, token: &str, account: &str, number: &str, days_overdue: i64) {
    let items = json!([{ "account": { "id": account }, "number": number, "amountMinor": 250000, "currency": "EUR", "issuedOn": day_ago(days_overdue + 30), "dueOn": day_ago(days_overdue), "status": "OPEN" }]);
    bulk(s, token, "upsertInvoices", items).await;
}

async fn evaluate(s: &TestServer, token: &str, account: &str) -> Value {
    let q = "mutation($i: EvaluateAccountRisksInput!) { evaluateAccountRisks(input: $i) { run { id trigger accounts raised refreshed cleared failureCount } openRisks { id ruleKey fingerprint status title } userErrors { field code message } } }";
    s.gql(token, q, json!({ "i": { "accountId": account } })).await["evaluateAccountRisks"].clone()
}

const RISKS: &str = "query($a: ID!, $rule: String) { risks(filter: { accountId: $a, ruleKey: $rule }) { totalCount nodes { id ruleKey fingerprint status category title impact likelihood priority version evidence { name number text } clearedAt clearEvidence { name number } suggestedPlaybookKey lastSeenAt expectedLoss { amountMinor currency } events { nodes { kind fromStatus toStatus note actor { id } } } } } }";

async fn ingested_signals_raise_risks_off_the_request_path(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let t = s.tenant("acme").await;
    let token = &t.admin_token;
    let a = account(&s, token, "Globex", 12_000_000).await;
    // Three critical tickets this week, none the week before: a surge. Nobody asks for an evaluation.
    let tickets: Vec<Value> = (0..3)
        .map(|i| json!({ "account": { "id": a }, "externalId": format!("T-{i}"), "priority": "CRITICAL", "status": "OPEN", "openedAt": ago(1) }))
        .collect();
    bulk(&s, token, "upsertSupportTickets", json!(tickets)).await;
    let vars = json!({ "a": a, "rule": "critical_ticket_surge" });
    // (On the nodes: `totalCount` is a separate query and may see a risk the page did not.)
    let data = s.eventually(token, RISKS, vars.clone(), |d| d["risks"]["nodes"].as_array().unwrap().len() == 1).await;
    let risk = &data["risks"]["nodes"][0];
    let first_seen = chrono::DateTime::parse_from_rfc3339(risk["lastSeenAt"].as_str().unwrap()).unwrap();
    assert_eq!(risk["status"], "IDENTIFIED");
    assert_eq!(risk["category"], "OPERATIONAL");
    assert_eq!(risk["fingerprint"], "critical_ticket_surge:critical");
    assert_eq!(risk["title"], "3 critical tickets this week");
    assert_eq!(
        (risk["impact"].as_i64(), risk["likelihood"].as_i64(), risk["priority"].as_i64()),
        (Some(5), Some(4), Some(20))
    );
    assert_eq!(risk["suggestedPlaybookKey"], "support_escalation");
    assert!(
        risk["evidence"]
            .as_array()
            .unwrap()
            .contains(&json!({ "name": "criticalLast7Days", "number": 3.0, "text": null })),
        "{risk}"
    );
    // Likelihood 4 -> 70% of the annual value.
    assert_eq!(risk["expectedLoss"], json!({ "amountMinor": 8_400_000, "currency": "EUR" }));
    assert_eq!(
        risk["events"]["nodes"],
        json!([{ "kind": "RAISED", "fromStatus": null, "toStatus": "IDENTIFIED", "note": null, "actor": null }])
    );
    // The run log shows the signal-triggered run.
    let runs = s.gql(token, "{ ruleRuns(filter: { trigger: SIGNALS }) { nodes { accounts raised failureCount rules { ruleKey evaluations } } } }", json!({})).await;
    let raised: i64 = runs["ruleRuns"]["nodes"].as_array().unwrap().iter().map(|r| r["raised"].as_i64().unwrap()).sum();
    assert!(raised >= 1, "{runs}");

    // More signals of the same finding refresh it: still one risk, the new evidence.
    let more: Vec<Value> = (3..5)
        .map(|i| json!({ "account": { "id": a }, "externalId": format!("T-{i}"), "priority": "CRITICAL", "status": "OPEN", "openedAt": ago(1) }))
        .collect();
    bulk(&s, token, "upsertSupportTickets", json!(more)).await;
    let data = s
        .eventually(token, RISKS, vars.clone(), |d| d["risks"]["nodes"][0]["title"] == "5 critical tickets this week")
        .await;
    assert_eq!(data["risks"]["totalCount"], 1);
    assert_eq!(data["risks"]["nodes"][0]["version"], 2);
    let seen = |d: &Value| {
        chrono::DateTime::parse_from_rfc3339(d["risks"]["nodes"][0]["lastSeenAt"].as_str().unwrap()).unwrap()
    };
    assert!(seen(&data) > first_seen, "a repeat refreshes lastSeenAt");

    // Account data counts too: the champion leaves with nobody in the role.
    let champion = s
        .mutate(
            token,
            "createContact",
            "contact",
            "id",
            json!({ "accountId": a, "name": "Cleo Champion", "level": "MANAGEMENT", "role": "CHAMPION" }),
        )
        .await;
    s.mutate(token, "updateContact", "contact", "id", json!({ "id": champion["id"], "departedOn": day_ago(2) })).await;
    let vars = json!({ "a": a, "rule": "sponsor_left" });
    let data = s.eventually(token, RISKS, vars, |d| d["risks"]["nodes"].as_array().unwrap().len() == 1).await;
    assert_eq!(data["risks"]["nodes"][0]["title"], "Champion left with no replacement");
    s.stop().await;
}

async fn risks_clear_and_resolve_when_the_signal_recovers(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let t = s.tenant("acme").await;
    let token = &t.admin_token;
    let a = account(&s, token, "Initech", 10_000_000).await;
    overdue_invoice(&s, token, &a, "INV-9", 40).await;
    let out = evaluate(&s, token, &a).await;
    assert_eq!(out["userErrors"], json!([]));
    assert_eq!(out["run"]["trigger"], "ON_DEMAND");
    let fps: Vec<&str> =
        out["openRisks"].as_array().unwrap().iter().map(|r| r["fingerprint"].as_str().unwrap()).collect();
    assert_eq!(fps, ["invoice_overdue:INV-9"]);
    // Evaluating again refreshes, never duplicates. (The server's own worker also evaluates this
    // account after each ingestion, so the assertions here are on state, not on run counts.)
    evaluate(&s, token, &a).await;
    assert_eq!(s.gql(token, RISKS, json!({ "a": a, "rule": "invoice_overdue" })).await["risks"]["totalCount"], 1);
    // Paid: the finding stops; invoice_overdue auto-resolves with the recovery as evidence.
    let paid = json!([{ "account": { "id": a }, "number": "INV-9", "amountMinor": 250000, "currency": "EUR", "issuedOn": day_ago(70), "dueOn": day_ago(40), "status": "PAID", "paidAt": ago(0) }]);
    bulk(&s, token, "upsertInvoices", paid).await;
    let out = evaluate(&s, token, &a).await;
    assert_eq!(out["openRisks"], json!([]));
    let data = s.gql(token, RISKS, json!({ "a": a, "rule": "invoice_overdue" })).await;
    let risk = &data["risks"]["nodes"][0];
    assert_eq!(risk["status"], "RESOLVED");
    assert!(risk["clearedAt"].is_string());
    assert_eq!(risk["clearEvidence"], json!([{ "name": "maxDaysOverdue", "number": 0.0 }]));
    let kinds: Vec<&str> =
        risk["events"]["nodes"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["RAISED", "CLEARED"]);
    assert_eq!(risk["events"]["nodes"][1]["toStatus"], "RESOLVED");
    // Overdue again later: a new risk, the resolved one stays as history.
    overdue_invoice(&s, token, &a, "INV-9", 45).await;
    let out = evaluate(&s, token, &a).await;
    assert_eq!(out["openRisks"].as_array().unwrap().len(), 1);
    assert_eq!(s.gql(token, RISKS, json!({ "a": a, "rule": "invoice_overdue" })).await["risks"]["totalCount"], 2);

    // A rule that does not auto-resolve only marks its risk cleared; the person decides.
    s.mutate(
        token,
        "recordRelationshipAssessment",
        "assessment",
        "id",
        json!({ "accountId": a, "stakeholderSentiment": 1, "competitivePressure": 2, "strategicAlignment": 3 }),
    )
    .await;
    evaluate(&s, token, &a).await;
    s.mutate(
        token,
        "recordRelationshipAssessment",
        "assessment",
        "id",
        json!({ "accountId": a, "stakeholderSentiment": 4, "competitivePressure": 2, "strategicAlignment": 4 }),
    )
    .await;
    evaluate(&s, token, &a).await;
    let data = s.gql(token, RISKS, json!({ "a": a, "rule": "relationship_assessment" })).await;
    let risk = &data["risks"]["nodes"][0];
    assert_eq!(risk["status"], "IDENTIFIED", "{risk}");
    assert!(risk["clearedAt"].is_string());
    assert!(
        risk["clearEvidence"].as_array().unwrap().contains(&json!({ "name": "stakeholderSentiment", "number": 4.0 }))
    );

    // A churned account is no longer watched: nothing is evaluated, its open risks stay for a person.
    let open_before = evaluate(&s, token, &a).await["openRisks"].as_array().unwrap().len();
    s.mutate(
        token,
        "markAccountChurned",
        "account",
        "status",
        json!({ "id": a, "churnedOn": day_ago(0), "reason": "budget cut" }),
    )
    .await;
    let out = evaluate(&s, token, &a).await;
    assert_eq!((out["run"]["accounts"].as_i64(), out["run"]["cleared"].as_i64()), (Some(0), Some(0)));
    assert_eq!(out["openRisks"].as_array().unwrap().len(), open_before);
    s.stop().await;
}

async fn the_lifecycle_allows_only_its_transitions_and_audits_each(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let t = s.tenant("acme").await;
    let token = &t.admin_token;
    let am = s.member(&t, "ACCOUNT_MANAGER", "Ann Manager").await;
    let other = s.member(&t, "ACCOUNT_MANAGER", "Otto Other").await;
    let viewer = s.member(&t, "VIEWER", "Vic Viewer").await;
    let a = s
        .mutate(token, "createAccount", "account", "id", json!({ "name": "Hooli", "tier": "KEY", "accountManagerId": am.id, "annualValue": { "amountMinor": 1000, "currency": "EUR" } }))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Bad input: every problem at once, nothing written.
    let errors = s
        .mutate_err(&am.token, "createRisk", "risk", json!({ "accountId": a, "category": "COMPETITIVE", "title": " ", "detail": "x", "impact": 6, "likelihood": 0, "evidence": [{ "name": "price", "number": 1, "text": "both" }] }))
        .await;
    let fields: Vec<&Value> = errors.iter().map(|e| &e["field"]).collect();
    assert_eq!(
        fields,
        [
            &json!(["input", "title"]),
            &json!(["input", "impact"]),
            &json!(["input", "likelihood"]),
            &json!(["input", "evidence", "0"])
        ]
    );
    assert_eq!(s.gql(token, "{ risks { totalCount } }", json!({})).await["risks"]["totalCount"], 0);
    // Only people who may write the account raise risks on it.
    for who in [&viewer.token, &other.token] {
        let (_, body) = s
            .post(Some(who), "mutation($i: CreateRiskInput!) { createRisk(input: $i) { risk { id } } }", json!({ "i": { "accountId": a, "category": "COMPETITIVE", "title": "x", "detail": "x", "impact": 1, "likelihood": 1 } }))
            .await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN", "{body}");
    }

    let risk = s
        .mutate(&am.token, "createRisk", "risk", "id status version source createdBy { id } allowedTransitions", json!({ "accountId": a, "category": "COMPETITIVE", "title": "Rival offers 30% off", "detail": "Heard at the QBR", "impact": 4, "likelihood": 3, "note": "from the champion" }))
        .await;
    assert_eq!(risk["source"], "MANUAL");
    assert_eq!(risk["createdBy"]["id"], json!(am.id));
    assert_eq!(risk["allowedTransitions"], json!(["VALIDATED", "DISMISSED", "MATERIALIZED"]));
    let id = risk["id"].clone();
    // Skipping validation is refused with the allowed moves in the message.
    let errors = s.mutate_err(&am.token, "transitionRisk", "risk", json!({ "riskId": id, "to": "MITIGATING" })).await;
    assert_eq!(errors[0]["field"], json!(["input", "to"]));
    assert_eq!(
        errors[0]["message"],
        "a identified risk can move to validated, dismissed, materialized, not mitigating"
    );
    // A stale version is a conflict.
    let errors = s
        .mutate_err(
            &am.token,
            "transitionRisk",
            "risk",
            json!({ "riskId": id, "to": "VALIDATED", "expectedVersion": 7 }),
        )
        .await;
    assert_eq!(errors[0]["code"], "CONFLICT");
    let (_, body) = s
        .post(
            Some(&viewer.token),
            "mutation($i: TransitionRiskInput!) { transitionRisk(input: $i) { risk { id } } }",
            json!({ "i": { "riskId": id, "to": "VALIDATED" } }),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");

    for (to, note) in [("VALIDATED", "confirmed with sales"), ("MITIGATING", "plan agreed"), ("RESOLVED", "renewed")] {
        let r = s
            .mutate(&am.token, "transitionRisk", "risk", "status", json!({ "riskId": id, "to": to, "note": note }))
            .await;
        assert_eq!(r["status"], to);
    }
    s.mutate(token, "assignRisk", "risk", "owner { id }", json!({ "riskId": id, "ownerId": am.id })).await;
    let errors = s.mutate_err(&am.token, "transitionRisk", "risk", json!({ "riskId": id, "to": "MITIGATING" })).await;
    assert_eq!(errors[0]["message"], "the risk is resolved and can no longer change");
    let errors =
        s.mutate_err(&am.token, "assessRisk", "risk", json!({ "riskId": id, "impact": 2, "likelihood": 2 })).await;
    assert_eq!(errors[0]["code"], "INVALID");

    let q = "query($id: ID!) { node(id: $id) { ... on Risk { status version closedAt owner { id } events { totalCount nodes { kind fromStatus toStatus note actor { id } } } } } }";
    let data = s.gql(token, q, json!({ "id": id })).await;
    let node = &data["node"];
    assert!(node["closedAt"].is_string());
    assert_eq!(node["version"], 5);
    let trail: Vec<Value> = node["events"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| json!([e["kind"], e["fromStatus"], e["toStatus"], e["note"], e["actor"]["id"]]))
        .collect();
    assert_eq!(
        trail,
        vec![
            json!(["RAISED", null, "IDENTIFIED", "from the champion", am.id]),
            json!(["TRANSITION", "IDENTIFIED", "VALIDATED", "confirmed with sales", am.id]),
            json!(["TRANSITION", "VALIDATED", "MITIGATING", "plan agreed", am.id]),
            json!(["TRANSITION", "MITIGATING", "RESOLVED", "renewed", am.id]),
            json!(["ASSIGNED", null, null, "assigned to Ann Manager", t.admin_id]),
        ]
    );
    // Each audit entry has its own id, for client caches; they are not nodes.
    let q = "query($id: ID!) { node(id: $id) { ... on Risk { events { nodes { id } } } } }";
    let data = s.gql(token, q, json!({ "id": id })).await;
    let mut ids: Vec<&str> =
        data["node"]["events"]["nodes"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 5);
    let data = s.gql(token, "query($id: ID!) { node(id: $id) { __typename } }", json!({ "id": ids[0] })).await;
    assert_eq!(data["node"], Value::Null);
    s.stop().await;
}

async fn rule_settings_cooldowns_and_disabling(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let t = s.tenant("acme").await;
    let token = &t.admin_token;
    let am = s.member(&t, "ACCOUNT_MANAGER", "Ann Manager").await;
    let a = account(&s, token, "Umbrella", 10_000_000).await;
    overdue_invoice(&s, token, &a, "INV-1", 40).await;

    const CONFIGURE: &str = "mutation($i: ConfigureRiskRuleInput!) { configureRiskRule(input: $i) { rule { key enabled autoResolve cooldownDays version params { key value { number text } defaultValue { number } } } userErrors { field code message } } }";
    let configure = |input: Value| {
        let s = &s;
        async move { s.gql(token, CONFIGURE, json!({ "i": input })).await["configureRiskRule"].clone() }
    };
    // Bad settings: each problem named, nothing stored.
    let out = configure(json!({ "ruleKey": "invoice_overdue", "params": [{ "key": "days", "value": { "number": 0 } }, { "key": "nope", "value": { "number": 1 } }, { "key": "days", "value": { "text": "x" } }] })).await;
    assert_eq!(out["rule"], Value::Null);
    let fields: Vec<&Value> = out["userErrors"].as_array().unwrap().iter().map(|e| &e["field"]).collect();
    assert_eq!(fields, [&json!(["input", "params", "days"]), &json!(["input", "params", "nope"])], "{out}");
    let out = configure(json!({ "ruleKey": "no_such_rule", "enabled": false })).await;
    assert_eq!(out["userErrors"][0]["code"], "NOT_FOUND");
    let out = configure(json!({ "ruleKey": "invoice_overdue", "cooldownDays": -1 })).await;
    assert_eq!(out["userErrors"][0]["field"], json!(["input", "cooldownDays"]));
    let (_, body) =
        s.post(Some(&am.token), CONFIGURE, json!({ "i": { "ruleKey": "invoice_overdue", "enabled": false } })).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
    let rules = s.gql(token, "{ riskRules { key version enabled params { key value { number } } } }", json!({})).await;
    assert_eq!(rules["riskRules"].as_array().unwrap().len(), 11);
    assert!(rules["riskRules"].as_array().unwrap().iter().all(|r| r["version"] == 0 && r["enabled"] == true));

    // A higher threshold: 40 days overdue no longer fires.
    let out = configure(json!({ "ruleKey": "invoice_overdue", "params": [{ "key": "days", "value": { "number": 60 } }], "expectedVersion": 0 })).await;
    assert_eq!(out["rule"]["version"], 1, "{out}");
    assert_eq!(
        out["rule"]["params"],
        json!([{ "key": "days", "value": { "number": 60.0, "text": null }, "defaultValue": { "number": 30.0 } }])
    );
    assert!(evaluate(&s, token, &a).await["openRisks"].as_array().unwrap().is_empty());
    let out = configure(json!({ "ruleKey": "invoice_overdue", "params": [{ "key": "days", "value": null }], "cooldownDays": 0, "expectedVersion": 0 })).await;
    assert_eq!(out["userErrors"][0]["code"], "CONFLICT", "stale version");
    // Back to the default, and no cool-down: a dismissed finding comes back at the next run.
    let out = configure(json!({ "ruleKey": "invoice_overdue", "params": [{ "key": "days", "value": null }], "cooldownDays": 0, "expectedVersion": 1 })).await;
    assert_eq!(out["rule"]["params"][0]["value"]["number"], 30.0);
    let first = evaluate(&s, token, &a).await["openRisks"][0]["id"].clone();
    s.mutate(
        token,
        "transitionRisk",
        "risk",
        "status",
        json!({ "riskId": first, "to": "DISMISSED", "note": "paid by wire, not booked yet" }),
    )
    .await;
    let out = evaluate(&s, token, &a).await;
    assert_eq!(out["openRisks"].as_array().unwrap().len(), 1, "{out}");
    assert_ne!(out["openRisks"][0]["id"], first, "a new risk; the dismissed one stays dismissed");
    // With the default 30-day cool-down a dismissal holds.
    configure(json!({ "ruleKey": "invoice_overdue", "cooldownDays": 30 })).await;
    let second = out["openRisks"][0]["id"].clone();
    let dismissed = s
        .mutate(
            token,
            "transitionRisk",
            "risk",
            "status dismissedUntil",
            json!({ "riskId": second, "to": "DISMISSED" }),
        )
        .await;
    assert!(dismissed["dismissedUntil"].is_string());
    let out = evaluate(&s, token, &a).await;
    assert_eq!(out["openRisks"], json!([]));
    assert_eq!(s.gql(token, RISKS, json!({ "a": a, "rule": "invoice_overdue" })).await["risks"]["totalCount"], 2);

    // A disabled rule does not run: no findings in previews, its risks are left alone.
    overdue_invoice(&s, token, &a, "INV-2", 50).await;
    configure(json!({ "ruleKey": "invoice_overdue", "enabled": false })).await;
    let out = evaluate(&s, token, &a).await;
    assert_eq!(out["openRisks"], json!([]));
    let preview = s
        .gql(token, "query($a: ID!) { previewRisks(accountId: $a) { findings { ruleKey } } }", json!({ "a": a }))
        .await;
    assert!(preview["previewRisks"]["findings"].as_array().unwrap().iter().all(|f| f["ruleKey"] != "invoice_overdue"));

    // Auto-resolve off: a paid invoice only marks its risk cleared; a person closes it.
    configure(json!({ "ruleKey": "invoice_overdue", "enabled": true, "autoResolve": false })).await;
    let out = evaluate(&s, token, &a).await;
    let inv2 = out["openRisks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["fingerprint"] == "invoice_overdue:INV-2")
        .unwrap()["id"]
        .clone();
    let paid = json!([{ "account": { "id": a }, "number": "INV-2", "amountMinor": 250000, "currency": "EUR", "issuedOn": day_ago(80), "dueOn": day_ago(50), "status": "PAID", "paidAt": ago(0) }]);
    bulk(&s, token, "upsertInvoices", paid).await;
    evaluate(&s, token, &a).await;
    let data = s
        .gql(token, "query($id: ID!) { node(id: $id) { ... on Risk { status clearedAt } } }", json!({ "id": inv2 }))
        .await;
    assert_eq!(data["node"]["status"], "IDENTIFIED");
    assert!(data["node"]["clearedAt"].is_string(), "{data}");
    s.stop().await;
}

async fn previews_and_backtests_persist_nothing(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let t = s.tenant("acme").await;
    let token = &t.admin_token;
    let viewer = s.member(&t, "VIEWER", "Vic Viewer").await;
    let a = account(&s, token, "Stark", 10_000_000).await;
    overdue_invoice(&s, token, &a, "INV-7", 40).await;
    // Let the worker evaluate the ingestion first; from then on nothing else writes risks or runs.
    let counts = "{ risks { totalCount } ruleRuns { totalCount } }";
    let before = s
        .eventually(token, counts, json!({}), |d| d["risks"]["totalCount"] == 1 && d["ruleRuns"]["totalCount"] != 0)
        .await;
    // Previews: what fires now and what fired 20 days ago (the invoice was 20 days overdue then).
    let q = "query($a: ID!, $at: DateTime) { previewRisks(accountId: $a, asOf: $at) { findings { ruleKey fingerprint evidence { name number } } failures { ruleKey } } }";
    let now = s.gql(&viewer.token, q, json!({ "a": a, "at": null })).await;
    let fps: Vec<&Value> =
        now["previewRisks"]["findings"].as_array().unwrap().iter().map(|f| &f["fingerprint"]).collect();
    assert_eq!(fps, [&json!("invoice_overdue:INV-7")]);
    let then = s.gql(token, q, json!({ "a": a, "at": ago(20) })).await;
    assert_eq!(then["previewRisks"]["findings"], json!([]));
    let (_, body) =
        s.post(Some(token), q, json!({ "a": a, "at": (Utc::now() + Duration::days(1)).to_rfc3339() })).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(s.gql(token, counts, json!({})).await, before, "previews store nothing");

    // Backtest: daily over the last 30 days with the default (30 days) and a tighter threshold.
    let q = "query($i: BacktestRuleInput!) { backtestRule(input: $i) { ruleKey dates firingAccountsPerDate params { key value { number } } accounts { firstFiredOn firedCount firings { date findings { fingerprint } } } } }";
    let input = |params: Value| json!({ "i": { "ruleKey": "invoice_overdue", "accountIds": [a], "from": day_ago(30), "to": day_ago(0), "everyDays": 1, "params": params } });
    let base = s.gql(token, q, input(json!([]))).await;
    let acc = &base["backtestRule"]["accounts"][0];
    assert_eq!(base["backtestRule"]["dates"].as_array().unwrap().len(), 31);
    assert_eq!(acc["firstFiredOn"], json!(day_ago(10)), "30 days overdue ten days ago");
    assert_eq!(acc["firedCount"], 11);
    let tight = s.gql(token, q, input(json!([{ "key": "days", "value": { "number": 20 } }]))).await;
    assert_eq!(tight["backtestRule"]["accounts"][0]["firstFiredOn"], json!(day_ago(20)));
    assert_eq!(tight["backtestRule"]["params"], json!([{ "key": "days", "value": { "number": 20.0 } }]));
    // Bad requests are refused with what is wrong.
    for (bad, expect) in [
        (
            json!({ "ruleKey": "invoice_overdue", "accountIds": [a], "from": day_ago(0), "to": day_ago(10) }),
            "must not be after `to`",
        ),
        (
            json!({ "ruleKey": "invoice_overdue", "accountIds": [a], "from": day_ago(800), "to": day_ago(0), "everyDays": 1 }),
            "at most 400 dates",
        ),
        (
            json!({ "ruleKey": "invoice_overdue", "accountIds": [], "from": day_ago(10), "to": day_ago(0) }),
            "give 1 to 200 accounts",
        ),
        (
            json!({ "ruleKey": "invoice_overdue", "accountIds": [a], "from": day_ago(10), "to": day_ago(0), "params": [{ "key": "days", "value": { "number": -3 } }] }),
            "must be between 1 and 365",
        ),
    ] {
        let (_, body) = s.post(Some(token), q, json!({ "i": bad })).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{body}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains(expect), "{body}");
    }
    let (_, body) = s.post(Some(&viewer.token), q, input(json!([]))).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
    let (_, body) = s
        .post(
            Some(token),
            q,
            json!({ "i": { "ruleKey": "nope", "accountIds": [a], "from": day_ago(1), "to": day_ago(0) } }),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND");
    assert_eq!(s.gql(token, counts, json!({})).await, before, "backtests store nothing");
    s.stop().await;
}

async fn the_matrix_and_portfolio_sum_expected_loss(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let t = s.tenant("acme").await;
    let token = &t.admin_token;
    let am = s.member(&t, "ACCOUNT_MANAGER", "Ann Manager").await;
    let big = account(&s, token, "Big", 1_000_000).await;
    let small = s
        .mutate(
            token,
            "createAccount",
            "account",
            "id",
            json!({ "name": "Small", "tier": "GROWTH", "annualValue": { "amountMinor": 200_000, "currency": "USD" } }),
        )
        .await["id"]
        .clone();
    let raise = |account: Value, category: &str, impact: i64, likelihood: i64, owner: Option<&str>| {
        let s = &s;
        let input = json!({ "accountId": account, "category": category, "title": "t", "detail": "d", "impact": impact, "likelihood": likelihood, "ownerId": owner });
        async move { s.mutate(token, "createRisk", "risk", "id", input).await["id"].clone() }
    };
    raise(json!(big), "FINANCIAL", 5, 3, Some(&am.id)).await; // 50% of 1,000,000
    raise(json!(big), "COMPETITIVE", 5, 3, None).await; // 50%
    raise(small.clone(), "FINANCIAL", 2, 5, Some(&am.id)).await; // 90% of 200,000 USD
    let closed = raise(small.clone(), "FINANCIAL", 2, 5, None).await;
    s.mutate(token, "transitionRisk", "risk", "id", json!({ "riskId": closed, "to": "DISMISSED" })).await;

    let q = "query($f: RiskMatrixFilter) { riskMatrix(filter: $f) { count valueAtRisk { amountMinor currency } cells { impact likelihood count valueAtRisk { amountMinor currency } } }
        riskPortfolio(filter: $f) { count byCategory { category count valueAtRisk { amountMinor currency } } byOwner { owner { id } count valueAtRisk { amountMinor currency } } } }";
    let data = s.gql(token, q, json!({ "f": null })).await;
    let m = &data["riskMatrix"];
    assert_eq!(m["count"], 3, "closed risks are not in the matrix");
    assert_eq!(m["cells"].as_array().unwrap().len(), 25);
    let cell = |i: i64, l: i64| {
        m["cells"].as_array().unwrap().iter().find(|c| c["impact"] == i && c["likelihood"] == l).unwrap().clone()
    };
    assert_eq!(
        cell(5, 3),
        json!({ "impact": 5, "likelihood": 3, "count": 2, "valueAtRisk": [{ "amountMinor": 1_000_000, "currency": "EUR" }] })
    );
    assert_eq!(cell(2, 5)["valueAtRisk"], json!([{ "amountMinor": 180_000, "currency": "USD" }]));
    assert_eq!(
        m["valueAtRisk"],
        json!([{ "amountMinor": 1_000_000, "currency": "EUR" }, { "amountMinor": 180_000, "currency": "USD" }])
    );
    let p = &data["riskPortfolio"];
    let financial = p["byCategory"].as_array().unwrap().iter().find(|c| c["category"] == "FINANCIAL").unwrap();
    assert_eq!(financial["count"], 2);
    assert_eq!(p["byCategory"].as_array().unwrap().len(), 5);
    assert_eq!(p["byOwner"][0]["owner"]["id"], json!(am.id));
    assert_eq!(p["byOwner"][0]["count"], 2);
    assert_eq!(
        p["byOwner"][1],
        json!({ "owner": null, "count": 1, "valueAtRisk": [{ "amountMinor": 500_000, "currency": "EUR" }] })
    );
    // Filters: by tier and by owner.
    let data = s.gql(token, q, json!({ "f": { "tiers": ["GROWTH"] } })).await;
    assert_eq!(data["riskMatrix"]["count"], 1);
    let data = s.gql(token, q, json!({ "f": { "ownerId": am.id, "categories": ["FINANCIAL"] } })).await;
    assert_eq!(data["riskMatrix"]["count"], 2);
    // Accounts with open risks of a category.
    let data = s.gql(token, "{ c: accounts(filter: { openRiskCategories: [COMPETITIVE] }) { nodes { name } } f: accounts(filter: { openRiskCategories: [FINANCIAL] }) { nodes { name } } }", json!({})).await;
    assert_eq!(data["c"]["nodes"], json!([{ "name": "Big" }]));
    assert_eq!(data["f"]["nodes"], json!([{ "name": "Big" }, { "name": "Small" }]));
    // Risk lists are ordered by priority, highest first, and filterable.
    let data = s
        .gql(token, "{ risks { nodes { priority } } open: risks(filter: { open: false }) { totalCount } }", json!({}))
        .await;
    assert_eq!(
        data["risks"]["nodes"],
        json!([{ "priority": 15 }, { "priority": 15 }, { "priority": 10 }, { "priority": 10 }])
    );
    assert_eq!(data["open"]["totalCount"], 1);
    s.stop().await;
}

async fn concurrent_evaluations_never_double_raise(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let t = s.tenant("acme").await;
    let token = &t.admin_token;
    let a = account(&s, token, "Wayne", 10_000_000).await;
    for n in 0..3 {
        overdue_invoice(&s, token, &a, &format!("INV-{n}"), 40 + n).await;
    }
    // Eight evaluations of one account at once, as several replicas would run them, each on its
    // own database connection: the unique index on open fingerprints lets exactly one raise each.
    let org = OrganisationId(uuid(&t.org_id, "Organisation"));
    let account_id = AccountId(uuid(&a, "Account"));
    let engine = Arc::new(Engine::default());
    let runs: Vec<_> = (0..8)
        .map(|_| {
            let (db, engine) = (s.db.clone(), engine.clone());
            tokio::spawn(async move { engine.evaluate(&db, org, &[account_id], RuleTrigger::OnDemand).await })
        })
        .collect();
    for r in runs {
        if let Err(e) = r.await.unwrap() {
            // SQLite may refuse a writer outright when another holds the lock for too long;
            // what matters is that nothing is duplicated.
            eprintln!("an evaluation failed: {e}");
        }
    }
    let data = s.gql(token, RISKS, json!({ "a": a, "rule": "invoice_overdue" })).await;
    assert_eq!(data["risks"]["totalCount"], 3, "{data}");
    // The run log reports only what was actually raised: over all runs (these eight and the
    // server's own worker, which evaluates the account after the ingestion) it adds up to three.
    let q = "{ ruleRuns(first: 100) { nodes { raised } } }";
    let total = |d: &Value| -> i64 {
        d["ruleRuns"]["nodes"].as_array().unwrap().iter().map(|r| r["raised"].as_i64().unwrap()).sum()
    };
    let data = s.eventually(token, q, json!({}), |d| total(d) >= 3).await;
    assert_eq!(total(&data), 3);
    s.stop().await;
}

fn uuid(global: &str, kind: &str) -> uuid::Uuid {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(global).unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (k, id) = raw.split_once(':').unwrap();
    assert_eq!(k, kind);
    id.parse().unwrap()
}

/// A rule that panics on accounts named "Panic" and fails on "Fail".
struct Fragile(RuleMeta);

impl Rule for Fragile {
    fn meta(&self) -> &RuleMeta {
        &self.0
    }
    fn evaluate(&self, s: &AccountSnapshot, _: &Params) -> Result<Evaluation, RuleError> {
        match s.account.name.as_str() {
            "Panic" => panic!("fragile rule blew up"),
            "Fail" => Err(RuleError::Failed("no data source".into())),
            _ => Ok(Evaluation::default()),
        }
    }
}

async fn failing_rules_are_recorded_and_contained(backend: Backend) {
    let mut rules = bellwether_rules::builtin::all();
    rules.push(Arc::new(Fragile(RuleMeta {
        key: "fragile".into(),
        name: "Fragile".into(),
        category: bellwether_domain::RiskCategory::Operational,
        description: "Fails on purpose.".into(),
        inputs: vec![Input::Contacts],
        lookback_days: 1,
        params: Vec::new(),
        auto_resolve: true,
    })));
    let options = Options { engine: Some(Engine::new(rules)), ..Options::default() };
    let Some(s) = TestServer::start_with(backend, options).await else { return };
    let t = s.tenant("acme").await;
    let token = &t.admin_token;
    for name in ["Panic", "Fail"] {
        let a = account(&s, token, name, 10_000_000).await;
        overdue_invoice(&s, token, &a, name, 40).await;
        let out = evaluate(&s, token, &a).await;
        assert_eq!(out["run"]["failureCount"], 1, "{out}");
        // The other rules still ran and raised their risk.
        assert_eq!(out["openRisks"][0]["fingerprint"], json!(format!("invoice_overdue:{name}")));
    }
    // (The worker's own runs after ingestion fail the same way; count the on-demand ones.)
    let q = "{ ruleRuns(filter: { failedOnly: true, trigger: ON_DEMAND }) { totalCount nodes { failureCount rules { ruleKey failures } failures { ruleKey message account { name } } } } }";
    let data = s.gql(token, q, json!({})).await;
    assert_eq!(data["ruleRuns"]["totalCount"], 2);
    let mut failures: Vec<Value> =
        data["ruleRuns"]["nodes"].as_array().unwrap().iter().map(|r| r["failures"][0].clone()).collect();
    failures.sort_by_key(|f| f["account"]["name"].as_str().unwrap().to_owned());
    assert_eq!(
        failures,
        vec![
            json!({ "ruleKey": "fragile", "message": "rule failed: no data source", "account": { "name": "Fail" } }),
            json!({ "ruleKey": "fragile", "message": "rule failed: the rule panicked", "account": { "name": "Panic" } }),
        ]
    );
    let fragile = data["ruleRuns"]["nodes"][0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleKey"] == "fragile")
        .unwrap()
        .clone();
    assert_eq!(fragile["failures"], 1);
    s.stop().await;
}

async fn the_scheduled_sweep_runs_once_per_interval(backend: Backend) {
    let options = Options { risk_sweep_interval: Some(std::time::Duration::from_secs(1)), ..Options::default() };
    let Some(s) = TestServer::start_with(backend, options).await else { return };
    let t = s.tenant("acme").await;
    let token = &t.admin_token;
    for name in ["One", "Two", "Three"] {
        account(&s, token, name, 1000).await;
    }
    let q = "{ ruleRuns(filter: { trigger: SWEEP }) { totalCount nodes { accounts evaluations } } }";
    let data = s
        .eventually(token, q, json!({}), |d| {
            d["ruleRuns"]["nodes"].as_array().unwrap().iter().any(|r| r["accounts"] == 3)
        })
        .await;
    let run = data["ruleRuns"]["nodes"].as_array().unwrap().iter().find(|r| r["accounts"] == 3).unwrap().clone();
    assert_eq!(run["evaluations"], 33, "3 accounts x 11 rules");
    // The lease: claiming again before the next due time fails, whoever asks.
    let org = OrganisationId(uuid(&t.org_id, "Organisation"));
    let now = bellwether_domain::values::now();
    assert!(!bellwether_domain::risks::runs::claim_sweep(&s.db, org, now, now + Duration::hours(1)).await.unwrap());
    s.stop().await;
}

async fn series_values_reach_the_rules_exactly(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let t = s.tenant("acme").await;
    let token = &t.admin_token;
    let a = account(&s, token, "Exact", 10_000_000).await;
    // Values that 15 significant digits would round: every bit must survive the trip.
    let value = |d: i64| if d < 30 { 1.0 / 3.0 + 0.1 * d as f64 } else { 100.0 + 1.0 / 7.0 * d as f64 };
    let items: Vec<Value> = (0..120)
        .map(|d| json!({ "account": { "id": a }, "metric": "usage.active_users", "observedAt": ago(d), "value": value(d) }))
        .collect();
    bulk(&s, token, "ingestMetricPoints", json!(items)).await;
    let q = "query($a: ID!) { previewRisks(accountId: $a) { findings { ruleKey evidence { name number } } } }";
    let data = s.gql(token, q, json!({ "a": a })).await;
    let finding = data["previewRisks"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["ruleKey"] == "usage_drop")
        .unwrap()
        .clone();
    let number = |name: &str| {
        finding["evidence"].as_array().unwrap().iter().find(|e| e["name"] == name).unwrap()["number"].as_f64().unwrap()
    };
    // Oldest first, as the rule adds them up.
    let current: f64 = (0..30).rev().map(value).sum::<f64>() / 30.0;
    let baseline: f64 = (30..120).rev().map(value).sum::<f64>() / 90.0;
    assert_eq!(number("current").to_bits(), current.to_bits());
    assert_eq!(number("baseline").to_bits(), baseline.to_bits());
    s.stop().await;
}
