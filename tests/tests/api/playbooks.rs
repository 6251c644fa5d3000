//! Playbooks, action plans, the communication log, post-mortems and lessons: every state change
//! through the API, with the refused ones (applying to a closed risk, an action without owner or
//! deadline, completing someone else's action without the right role), and nothing changed by a
//! refusal.

use crate::risks::overdue_invoice;
use bellwether_tests::{Backend, Member, Tenant, TestServer, error_codes, global_uuid, on_every_backend};
use chrono::{Duration, Utc};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use serde_json::{Value, json};

on_every_backend!(
    default_playbooks_and_versioned_edits,
    applying_a_playbook_makes_a_smart_plan,
    actions_need_owners_and_deadlines_and_the_right_role,
    overdue_actions_are_listed_and_raise_urgency,
    the_communication_log_shows_client_silence,
    a_suggested_playbook_applies_itself_on_validation,
    post_mortems_assemble_the_story_and_feed_lessons,
    deadlines_follow_the_organisations_calendar,
);

fn today_plus(days: i64) -> String {
    (Utc::now().date_naive() + Duration::days(days)).to_string()
}

fn forbidden(body: &Value) -> bool {
    body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
}

/// A tenant with an account managed by `am`, one contact, and a manual risk on it.
struct World {
    t: Tenant,
    am: Member,
    account: String,
    contact: String,
    risk: String,
}

async fn world(s: &TestServer, slug: &str) -> World {
    let t = s.tenant(slug).await;
    let am = s.member(&t, "ACCOUNT_MANAGER", "Alice Manager").await;
    let account = s
        .mutate(&t.admin_token, "createAccount", "account", "id", json!({ "name": "Globex", "tier": "STRATEGIC", "accountManagerId": am.id, "annualValue": { "amountMinor": 10_000_000, "currency": "EUR" } }))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let contact = s
        .mutate(
            &t.admin_token,
            "createContact",
            "contact",
            "id",
            json!({ "accountId": account, "name": "Carla Champion", "level": "MANAGEMENT", "role": "CHAMPION" }),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let risk = manual_risk(s, &t.admin_token, &account, "Critical tickets pile up").await;
    World { t, am, account, contact, risk }
}

async fn manual_risk(s: &TestServer, token: &str, account: &str, title: &str) -> String {
    s.mutate(token, "createRisk", "risk", "id", json!({ "accountId": account, "category": "OPERATIONAL", "title": title, "detail": "Seen in support", "impact": 4, "likelihood": 3 }))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn playbook_id(s: &TestServer, token: &str, key: &str) -> String {
    let data = s.gql(token, "query($k: String!) { playbook(key: $k) { id } }", json!({ "k": key })).await;
    data["playbook"]["id"].as_str().expect("the playbook exists").to_owned()
}

const PLAN: &str = "id desiredOutcome communication { audience channel cadenceDays } internalStakeholders { id } clientStakeholders { id } playbook { key currentVersion } playbookVersion { number } progress { total open done cancelled overdue } actions { id step title ownerRole owner { id } dueOn involvesClient status overdue version } risk { id status owner { id } events { nodes { kind fromStatus toStatus note } } }";

async fn apply(s: &TestServer, token: &str, input: Value) -> Value {
    s.mutate(token, "applyPlaybook", "plan", PLAN, input).await
}

async fn risk_state(s: &TestServer, token: &str, risk: &str) -> Value {
    let q =
        "query($id: ID!) { node(id: $id) { ... on Risk { status version actionPlans { id } events { totalCount } } } }";
    s.gql(token, q, json!({ "id": risk })).await["node"].clone()
}

async fn default_playbooks_and_versioned_edits(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let w = world(&s, "acme").await;
    let admin = &w.t.admin_token;
    let data = s
        .gql(admin, "{ playbooks { key name category ruleKeys desiredOutcome currentVersion autoApply steps { index title ownerRole dueInDays involvesClient } } }", json!({}))
        .await;
    let list = data["playbooks"].as_array().unwrap();
    let keys: Vec<&str> = list.iter().map(|p| p["key"].as_str().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "executive_business_review",
            "financial_review",
            "generic_mitigation",
            "proactive_check_in",
            "support_escalation"
        ]
    );
    let escalation = list.iter().find(|p| p["key"] == "support_escalation").unwrap();
    assert_eq!(escalation["category"], "OPERATIONAL");
    assert_eq!(escalation["ruleKeys"], json!(["critical_ticket_surge", "critical_tickets_unresolved"]));
    assert_eq!(escalation["currentVersion"], 1);
    assert_eq!(escalation["steps"][2]["ownerRole"], "SUPPORT_LEAD");
    assert!(list.iter().all(|p| !p["steps"].as_array().unwrap().is_empty() && p["autoApply"] == false));
    // An organisation that lacks a default (created before it existed) gets it at the next start.
    let stmt = Query::delete()
        .from_table(Alias::new("playbooks"))
        .and_where(Expr::col(Alias::new("key")).eq("generic_mitigation"))
        .to_owned();
    assert_eq!(s.db.execute(&stmt).await.unwrap().rows_affected(), 1);
    bellwether_domain::db::migrate(&s.db).await.unwrap();
    bellwether_domain::db::migrate(&s.db).await.unwrap();
    let again = s.gql(admin, "{ playbooks { key steps { title } } }", json!({})).await;
    assert_eq!(again["playbooks"].as_array().unwrap().len(), 5, "restored once: {again}");
    assert_eq!(again["playbooks"][2]["key"], "generic_mitigation");

    // Only admins and managers write playbooks.
    let steps =
        json!([{ "title": "Call the CFO", "ownerRole": "ACCOUNT_MANAGER", "dueInDays": 3, "involvesClient": true }]);
    let input = json!({ "key": "budget_freeze", "name": "Budget freeze", "category": "FINANCIAL", "desiredOutcome": "{account} keeps its budget line", "steps": steps });
    let q = "mutation($i: CreatePlaybookInput!) { createPlaybook(input: $i) { playbook { id } } }";
    let (_, body) = s.post(Some(&w.am.token), q, json!({ "i": input })).await;
    assert!(forbidden(&body), "{body}");
    let created = s
        .mutate(
            admin,
            "createPlaybook",
            "playbook",
            "id key currentVersion version steps { title } createdBy { id }",
            input.clone(),
        )
        .await;
    assert_eq!(created["createdBy"]["id"], json!(w.t.admin_id));
    let id = created["id"].as_str().unwrap();
    // The same key again, and bad content: user errors with their fields, nothing written.
    let errors = s.mutate_err(admin, "createPlaybook", "playbook", input).await;
    assert_eq!(errors[0]["code"], "CONFLICT");
    assert_eq!(errors[0]["field"], json!(["input", "key"]));
    let errors = s
        .mutate_err(admin, "createPlaybook", "playbook", json!({ "key": "Bad Key", "name": "x", "desiredOutcome": " ", "steps": [{ "title": "", "ownerRole": "FINANCE", "dueInDays": 400 }] }))
        .await;
    let fields: Vec<&Value> = errors.iter().map(|e| &e["field"]).collect();
    for f in [
        json!(["input", "key"]),
        json!(["input", "desiredOutcome"]),
        json!(["input", "steps", "0", "title"]),
        json!(["input", "steps", "0", "dueInDays"]),
    ] {
        assert!(fields.contains(&&f), "{f} in {errors:?}");
    }
    let data = s.gql(admin, "{ playbooks { key } }", json!({})).await;
    assert_eq!(data["playbooks"].as_array().unwrap().len(), 6);

    // Editing the steps makes version 2; switching auto-apply alone does not make a version.
    let edited = s
        .mutate(admin, "updatePlaybook", "playbook", "currentVersion version steps { title } versions { number steps { title } }", json!({ "id": id, "steps": [{ "title": "Call the CFO", "ownerRole": "ACCOUNT_MANAGER", "dueInDays": 3 }, { "title": "Offer a payment plan", "ownerRole": "FINANCE", "dueInDays": 10 }], "expectedVersion": created["version"] }))
        .await;
    assert_eq!(edited["currentVersion"], 2);
    assert_eq!(edited["versions"][0]["number"], 2);
    assert_eq!(edited["versions"][1]["steps"], json!([{ "title": "Call the CFO" }]), "version 1 is kept as it was");
    let toggled = s
        .mutate(
            admin,
            "updatePlaybook",
            "playbook",
            "currentVersion version autoApply",
            json!({ "id": id, "autoApply": true }),
        )
        .await;
    assert_eq!((toggled["currentVersion"].as_i64(), toggled["autoApply"].as_bool()), (Some(2), Some(true)));
    let errors = s
        .mutate_err(admin, "updatePlaybook", "playbook", json!({ "id": id, "name": "Renamed", "expectedVersion": 1 }))
        .await;
    assert_eq!(errors[0]["code"], "CONFLICT");
    // Archived playbooks leave the list and cannot be applied.
    s.mutate(admin, "updatePlaybook", "playbook", "archivedAt", json!({ "id": id, "archived": true })).await;
    let data =
        s.gql(admin, "{ playbooks { key } all: playbooks(includeArchived: true) { key archivedAt } }", json!({})).await;
    assert_eq!(data["playbooks"].as_array().unwrap().len(), 5);
    assert_eq!(data["all"].as_array().unwrap().len(), 6);
    let errors = s.mutate_err(admin, "applyPlaybook", "plan", json!({ "riskId": w.risk, "playbookId": id })).await;
    assert_eq!(errors[0]["field"], json!(["input", "playbookId"]));
    assert_eq!(risk_state(&s, admin, &w.risk).await["status"], "IDENTIFIED");
    s.stop().await;
}

async fn applying_a_playbook_makes_a_smart_plan(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let w = world(&s, "acme").await;
    let admin = &w.t.admin_token;
    let support = s.member(&w.t, "MANAGER", "Sam Support").await;
    let escalation = playbook_id(&s, admin, "support_escalation").await;
    // A manual risk suggests no key: the first playbook answering its category is offered.
    let q = "query($id: ID!) { node(id: $id) { ... on Risk { suggestedPlaybookKey suggestedPlaybook { key } } } }";
    let offered = s.gql(admin, q, json!({ "id": w.risk })).await;
    assert_eq!(
        offered["node"],
        json!({ "suggestedPlaybookKey": null, "suggestedPlaybook": { "key": "proactive_check_in" } })
    );
    let before = risk_state(&s, admin, &w.risk).await;

    // The support lead's steps need an owner: refused, and nothing changed.
    let errors =
        s.mutate_err(admin, "applyPlaybook", "plan", json!({ "riskId": w.risk, "playbookId": escalation })).await;
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors.iter().all(|e| e["field"] == json!(["input", "assignments"])), "{errors:?}");
    assert!(errors[0]["message"].as_str().unwrap().contains("support lead"), "{errors:?}");
    // A contact of another account is not a client stakeholder of this plan; a step that does
    // not exist cannot be assigned; deadlines are not in the past.
    let other = s.mutate(admin, "createAccount", "account", "id", json!({ "name": "Initech", "tier": "KEY" })).await;
    let stranger = s
        .mutate(
            admin,
            "createContact",
            "contact",
            "id",
            json!({ "accountId": other["id"], "name": "Sid", "level": "EXECUTIVE", "role": "USER" }),
        )
        .await;
    let errors = s
        .mutate_err(admin, "applyPlaybook", "plan", json!({ "riskId": w.risk, "playbookId": escalation, "clientStakeholderIds": [stranger["id"]], "assignments": [{ "step": 2, "ownerId": support.id }, { "step": 3, "ownerId": support.id, "dueOn": today_plus(-1) }, { "step": 9, "ownerId": support.id }] }))
        .await;
    let fields: Vec<&Value> = errors.iter().map(|e| &e["field"]).collect();
    for f in [
        json!(["input", "clientStakeholderIds", "0"]),
        json!(["input", "assignments", "1", "dueOn"]),
        json!(["input", "assignments", "2", "step"]),
    ] {
        assert!(fields.contains(&&f), "{f} in {errors:?}");
    }
    assert_eq!(risk_state(&s, admin, &w.risk).await, before, "refusals change nothing");

    // Applied with the support lead assigned: one action per step, owners from the roles.
    let plan = apply(
        &s,
        admin,
        json!({ "riskId": w.risk, "playbookId": escalation, "internalStakeholderIds": [w.am.id, support.id], "clientStakeholderIds": [w.contact], "communication": { "audience": "CLIENT", "channel": "CALL", "cadenceDays": 3 }, "assignments": [{ "step": 2, "ownerId": support.id }, { "step": 3, "ownerId": support.id, "dueOn": today_plus(20) }], "note": "customer escalated to the CEO" }),
    )
    .await;
    assert_eq!(plan["desiredOutcome"], "Globex's critical tickets are resolved and the cause is fixed within 30 days.");
    assert_eq!(plan["communication"], json!({ "audience": "CLIENT", "channel": "CALL", "cadenceDays": 3 }));
    assert_eq!(plan["clientStakeholders"], json!([{ "id": w.contact }]));
    assert_eq!(plan["internalStakeholders"].as_array().unwrap().len(), 2);
    assert_eq!(plan["progress"], json!({ "total": 4, "open": 4, "done": 0, "cancelled": 0, "overdue": 0 }));
    let actions = plan["actions"].as_array().unwrap();
    let owners: Vec<&Value> = actions.iter().map(|a| &a["owner"]["id"]).collect();
    assert_eq!(owners, [&json!(w.am.id), &json!(w.am.id), &json!(support.id), &json!(support.id)]);
    let due: Vec<&str> = actions.iter().map(|a| a["dueOn"].as_str().unwrap()).collect();
    assert_eq!(due, [today_plus(1), today_plus(2), today_plus(7), today_plus(20)]);
    assert_eq!(actions[1]["involvesClient"], true);
    assert_eq!(actions[2]["ownerRole"], "SUPPORT_LEAD");
    // The risk went identified -> validated -> mitigating, audited, and the applier owns it.
    let risk = &plan["risk"];
    assert_eq!(risk["status"], "MITIGATING");
    assert_eq!(risk["owner"]["id"], json!(w.t.admin_id));
    let events = risk["events"]["nodes"].as_array().unwrap();
    let trail: Vec<(&Value, &Value, &Value)> =
        events.iter().map(|e| (&e["kind"], &e["fromStatus"], &e["toStatus"])).collect();
    assert_eq!(
        trail[1..],
        [
            (&json!("TRANSITION"), &json!("IDENTIFIED"), &json!("VALIDATED")),
            (&json!("TRANSITION"), &json!("VALIDATED"), &json!("MITIGATING")),
            (&json!("PLAN_APPLIED"), &Value::Null, &Value::Null),
        ]
    );
    let note = events[3]["note"].as_str().unwrap();
    assert!(note.contains("Escalate to the support lead") && note.contains("customer escalated to the CEO"), "{note}");

    // The same playbook twice is refused; another playbook on the same risk is a second plan.
    let errors = s
        .mutate_err(admin, "applyPlaybook", "plan", json!({ "riskId": w.risk, "playbookId": escalation, "assignments": [{ "step": 2, "ownerId": support.id }, { "step": 3, "ownerId": support.id }] }))
        .await;
    assert_eq!((&errors[0]["code"], &errors[0]["field"]), (&json!("CONFLICT"), &json!(["input", "playbookId"])));
    let generic = playbook_id(&s, admin, "generic_mitigation").await;
    apply(&s, &w.am.token, json!({ "riskId": w.risk, "playbookId": generic })).await;
    assert_eq!(risk_state(&s, admin, &w.risk).await["actionPlans"].as_array().unwrap().len(), 2);

    // The plan itself can be adjusted: stakeholders replaced, cadence changed, with the usual
    // checks and compare-and-set.
    let q = "query($id: ID!) { node(id: $id) { ... on ActionPlan { version } } }";
    let version = s.gql(admin, q, json!({ "id": plan["id"] })).await["node"]["version"].clone();
    let errors = s
        .mutate_err(admin, "updateActionPlan", "plan", json!({ "id": plan["id"], "clientStakeholderIds": [stranger["id"]], "communication": { "audience": "INTERNAL", "channel": "CHAT", "cadenceDays": 0 } }))
        .await;
    let fields: Vec<&Value> = errors.iter().map(|e| &e["field"]).collect();
    assert_eq!(
        fields,
        [&json!(["input", "communication", "cadenceDays"]), &json!(["input", "clientStakeholderIds", "0"])]
    );
    let updated = s
        .mutate(&w.am.token, "updateActionPlan", "plan", "version internalStakeholders { id } clientStakeholders { id } communication { audience cadenceDays } desiredOutcome", json!({ "id": plan["id"], "internalStakeholderIds": [support.id], "clientStakeholderIds": [], "communication": { "audience": "INTERNAL", "channel": "CHAT", "cadenceDays": 2 }, "expectedVersion": version }))
        .await;
    assert_eq!(updated["internalStakeholders"], json!([{ "id": support.id }]));
    assert_eq!(updated["clientStakeholders"], json!([]));
    assert_eq!(updated["communication"], json!({ "audience": "INTERNAL", "cadenceDays": 2 }));
    assert_eq!(updated["desiredOutcome"], plan["desiredOutcome"], "omitted: unchanged");
    let errors = s
        .mutate_err(
            admin,
            "updateActionPlan",
            "plan",
            json!({ "id": plan["id"], "desiredOutcome": "x", "expectedVersion": version }),
        )
        .await;
    assert_eq!(errors[0]["code"], "CONFLICT");

    // Editing the playbook later does not change the plan made from version 1.
    s.mutate(
        admin,
        "updatePlaybook",
        "playbook",
        "currentVersion",
        json!({ "id": escalation, "desiredOutcome": "Faster" }),
    )
    .await;
    let q = "query($id: ID!) { node(id: $id) { ... on ActionPlan { playbook { currentVersion } playbookVersion { number desiredOutcome } } } }";
    let data = s.gql(admin, q, json!({ "id": plan["id"] })).await;
    assert_eq!(data["node"]["playbook"]["currentVersion"], 2);
    assert_eq!(data["node"]["playbookVersion"]["number"], 1);

    // Closed risks take no playbook; viewers and account managers of other accounts apply none.
    let closed = manual_risk(&s, admin, &w.account, "False alarm").await;
    s.mutate(admin, "transitionRisk", "risk", "status", json!({ "riskId": closed, "to": "DISMISSED" })).await;
    let errors = s.mutate_err(admin, "applyPlaybook", "plan", json!({ "riskId": closed, "playbookId": generic })).await;
    assert_eq!(errors[0]["field"], json!(["input", "riskId"]));
    assert!(errors[0]["message"].as_str().unwrap().contains("dismissed"), "{errors:?}");
    let viewer = s.member(&w.t, "VIEWER", "Vic Viewer").await;
    let outsider = s.member(&w.t, "ACCOUNT_MANAGER", "Olga Other").await;
    let fresh = manual_risk(&s, admin, &w.account, "Another one").await;
    let q = "mutation($i: ApplyPlaybookInput!) { applyPlaybook(input: $i) { plan { id } } }";
    for token in [&viewer.token, &outsider.token] {
        let (_, body) = s.post(Some(token), q, json!({ "i": { "riskId": fresh, "playbookId": generic } })).await;
        assert!(forbidden(&body), "{body}");
    }
    assert_eq!(risk_state(&s, admin, &fresh).await["status"], "IDENTIFIED");

    // An archived account manager holds the role no more: the step must be assigned.
    let leaver = s.member(&w.t, "ACCOUNT_MANAGER", "Lee Leaver").await;
    let orphan = s
        .mutate(
            admin,
            "createAccount",
            "account",
            "id",
            json!({ "name": "Umbrella", "tier": "KEY", "accountManagerId": leaver.id }),
        )
        .await;
    s.mutate(admin, "archiveUser", "user", "id", json!({ "id": leaver.id })).await;
    let orphan_risk = manual_risk(&s, admin, orphan["id"].as_str().unwrap(), "Nobody home").await;
    let errors =
        s.mutate_err(admin, "applyPlaybook", "plan", json!({ "riskId": orphan_risk, "playbookId": generic })).await;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0]["message"].as_str().unwrap().contains("step 2 ('Talk to the client') is for the account manager"),
        "{errors:?}"
    );
    s.stop().await;
}

async fn actions_need_owners_and_deadlines_and_the_right_role(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let w = world(&s, "acme").await;
    let admin = &w.t.admin_token;
    let sales = s.member(&w.t, "SALES", "Sally Sales").await;
    let outsider = s.member(&w.t, "ACCOUNT_MANAGER", "Olga Other").await;
    let manager = s.member(&w.t, "MANAGER", "Max Manager").await;
    let generic = playbook_id(&s, admin, "generic_mitigation").await;
    let plan = apply(&s, &w.am.token, json!({ "riskId": w.risk, "playbookId": generic })).await;
    let plan_id = plan["id"].as_str().unwrap();
    let count = |p: &Value| p["progress"]["total"].as_i64().unwrap();
    assert_eq!(count(&plan), 4);

    // An action without owner or deadline is refused, each with its field.
    let errors = s
        .mutate_err(
            &w.am.token,
            "addPlanAction",
            "action",
            json!({ "planId": plan_id, "title": "Send the status report" }),
        )
        .await;
    let fields: Vec<&Value> = errors.iter().map(|e| &e["field"]).collect();
    assert_eq!(fields, [&json!(["input", "ownerId"]), &json!(["input", "dueOn"])], "{errors:?}");
    let errors = s
        .mutate_err(
            &w.am.token,
            "addPlanAction",
            "action",
            json!({ "planId": plan_id, "title": "Late", "ownerId": sales.id, "dueOn": today_plus(-3) }),
        )
        .await;
    assert_eq!(errors[0]["field"], json!(["input", "dueOn"]));
    let viewer = s.member(&w.t, "VIEWER", "Vic Viewer").await;
    let input = json!({ "planId": plan_id, "title": "Read this", "ownerId": viewer.id, "dueOn": today_plus(3) });
    let errors = s.mutate_err(&w.am.token, "addPlanAction", "action", input).await;
    assert_eq!(errors[0]["field"], json!(["input", "ownerId"]));
    assert!(errors[0]["message"].as_str().unwrap().contains("read-only"), "{errors:?}");
    let q = "query($id: ID!) { node(id: $id) { ... on ActionPlan { progress { total } } } }";
    assert_eq!(s.gql(admin, q, json!({ "id": plan_id })).await["node"]["progress"]["total"], 4, "nothing added");

    let action = s
        .mutate(&w.am.token, "addPlanAction", "action", "id status owner { id } dueOn step version", json!({ "planId": plan_id, "title": "Send the status report", "ownerId": sales.id, "dueOn": today_plus(5), "involvesClient": true }))
        .await;
    assert_eq!((&action["status"], &action["step"]), (&json!("OPEN"), &Value::Null));
    let id = action["id"].as_str().unwrap();

    // Completing someone else's action takes the right role: the account's manager is not its
    // owner and not a manager; a manager may.
    let q = "mutation($i: CompletePlanActionInput!) { completePlanAction(input: $i) { action { id } } }";
    for token in [&w.am.token, &outsider.token] {
        let (_, body) = s.post(Some(token), q, json!({ "i": { "id": id } })).await;
        assert!(forbidden(&body), "{body}");
    }
    // Reassigning takes the right to write the account.
    let q = "mutation($i: ReassignPlanActionInput!) { reassignPlanAction(input: $i) { action { id } } }";
    let (_, body) = s.post(Some(&outsider.token), q, json!({ "i": { "id": id, "ownerId": outsider.id } })).await;
    assert!(forbidden(&body), "{body}");
    let errors = s.mutate_err(&w.am.token, "reassignPlanAction", "action", json!({ "id": id })).await;
    assert_eq!(errors[0]["message"], "give a new owner, a new deadline or both");
    let moved = s
        .mutate(
            &w.am.token,
            "reassignPlanAction",
            "action",
            "owner { id } dueOn version",
            json!({ "id": id, "dueOn": today_plus(8), "expectedVersion": action["version"] }),
        )
        .await;
    assert_eq!((&moved["owner"]["id"], moved["dueOn"].as_str().unwrap()), (&json!(sales.id), today_plus(8).as_str()));
    let errors = s
        .mutate_err(
            &w.am.token,
            "reassignPlanAction",
            "action",
            json!({ "id": id, "dueOn": today_plus(9), "expectedVersion": action["version"] }),
        )
        .await;
    assert_eq!(errors[0]["code"], "CONFLICT");

    // The owner completes it (a sales owner without rights on this account: the point of owning it).
    let done = s
        .mutate(
            &sales.token,
            "completePlanAction",
            "action",
            "status closedAt closedBy { id } note",
            json!({ "id": id, "note": "sent to Carla" }),
        )
        .await;
    assert_eq!(done["status"], "DONE");
    assert_eq!(done["closedBy"]["id"], json!(sales.id));
    assert_eq!(done["note"], "sent to Carla");
    let errors = s.mutate_err(&sales.token, "completePlanAction", "action", json!({ "id": id })).await;
    assert!(errors[0]["message"].as_str().unwrap().contains("done"), "{errors:?}");
    let errors = s.mutate_err(&w.am.token, "cancelPlanAction", "action", json!({ "id": id })).await;
    assert_eq!(errors[0]["field"], json!(["input", "id"]));

    // A manager completes another's action; the account's manager cancels one.
    let actions = plan["actions"].as_array().unwrap();
    let done = s
        .mutate(
            &manager.token,
            "completePlanAction",
            "action",
            "status closedBy { id }",
            json!({ "id": actions[0]["id"] }),
        )
        .await;
    assert_eq!(done["closedBy"]["id"], json!(manager.id));
    let cancelled = s
        .mutate(
            &w.am.token,
            "cancelPlanAction",
            "action",
            "status note",
            json!({ "id": actions[1]["id"], "note": "covered by the CEO call" }),
        )
        .await;
    assert_eq!(cancelled["status"], "CANCELLED");
    let q =
        "query($id: ID!) { node(id: $id) { ... on ActionPlan { progress { total open done cancelled overdue } } } }";
    assert_eq!(
        s.gql(admin, q, json!({ "id": plan_id })).await["node"]["progress"],
        json!({ "total": 5, "open": 2, "done": 2, "cancelled": 1, "overdue": 0 })
    );

    // Once the risk is closed, what was left to do is cancelled and the plan takes no new actions.
    s.mutate(admin, "transitionRisk", "risk", "status", json!({ "riskId": w.risk, "to": "RESOLVED" })).await;
    let q = "query($id: ID!) { node(id: $id) { ... on ActionPlan { progress { open done cancelled overdue } actions { status note closedBy { id } } } } }";
    let closed = s.gql(admin, q, json!({ "id": plan_id })).await;
    assert_eq!(closed["node"]["progress"], json!({ "open": 0, "done": 2, "cancelled": 3, "overdue": 0 }));
    let moot: Vec<&Value> = closed["node"]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["note"] == "the risk was resolved")
        .map(|a| &a["closedBy"]["id"])
        .collect();
    assert_eq!(moot, [&json!(w.t.admin_id), &json!(w.t.admin_id)], "{closed}");
    let errors = s
        .mutate_err(
            &w.am.token,
            "addPlanAction",
            "action",
            json!({ "planId": plan_id, "title": "One more", "ownerId": sales.id, "dueOn": today_plus(1) }),
        )
        .await;
    assert!(errors[0]["message"].as_str().unwrap().contains("resolved"), "{errors:?}");
    s.stop().await;
}

/// Sets `column` of the rows of `table` whose `key` is the global id `id` to `value`: time
/// passing (deadlines, first sightings) without waiting for it.
async fn set_past(s: &TestServer, table: &str, column: &str, key: &str, id: &str, value: sea_orm::Value) {
    let stmt = Query::update()
        .table(Alias::new(table))
        .value(Alias::new(column), value)
        .and_where(Expr::col(Alias::new(key)).eq(global_uuid(id)))
        .to_owned();
    assert!(s.db.execute(&stmt).await.unwrap().rows_affected() >= 1, "{table}.{column}");
}

/// Moves an action's deadline `days` into the past.
async fn backdate(s: &TestServer, action: &str, days: i64) {
    let due = Utc::now().date_naive() - Duration::days(days);
    set_past(s, "plan_actions", "due_on", "id", action, due.into()).await;
}

/// Moves a risk's first sighting and audit trail into the past, as if a rule had raised it then.
async fn backdate_risk(s: &TestServer, risk: &str, days: i64) {
    let at = Utc::now() - Duration::days(days);
    set_past(s, "risks", "first_seen_at", "id", risk, at.into()).await;
    set_past(s, "risk_events", "at", "risk_id", risk, at.into()).await;
}

async fn overdue_actions_are_listed_and_raise_urgency(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let w = world(&s, "acme").await;
    let admin = &w.t.admin_token;
    let generic = playbook_id(&s, admin, "generic_mitigation").await;
    let plan = apply(&s, &w.am.token, json!({ "riskId": w.risk, "playbookId": generic })).await;
    let actions = plan["actions"].as_array().unwrap();
    // Impact 4 x likelihood 3 = 12: high. Nothing overdue yet.
    let q = "query($id: ID!) { node(id: $id) { ... on Risk { priority urgency overdueActionCount } } }";
    assert_eq!(
        s.gql(admin, q, json!({ "id": w.risk })).await["node"],
        json!({ "priority": 12, "urgency": "HIGH", "overdueActionCount": 0 })
    );

    backdate(&s, actions[0]["id"].as_str().unwrap(), 3).await;
    backdate(&s, actions[2]["id"].as_str().unwrap(), 1).await;
    assert_eq!(
        s.gql(admin, q, json!({ "id": w.risk })).await["node"],
        json!({ "priority": 12, "urgency": "CRITICAL", "overdueActionCount": 2 })
    );

    // Across the portfolio, per owner, and as a risk filter.
    let data = s
        .gql(admin, "query($u: ID!) { all: planActions(filter: { overdue: true }) { totalCount nodes { id overdue daysOverdue owner { id } risk { id } } } mine: planActions(filter: { ownerId: $u, overdue: true }) { totalCount } notOverdue: planActions(filter: { overdue: false }) { totalCount } byOwner: overdueActionsByOwner { owner { id } count oldestDueOn } risks(filter: { hasOverdueActions: true }) { nodes { id } } calm: risks(filter: { hasOverdueActions: false }) { totalCount } }", json!({ "u": w.am.id }))
        .await;
    assert_eq!(data["all"]["totalCount"], 2);
    let first = &data["all"]["nodes"][0];
    assert_eq!((&first["id"], &first["overdue"], &first["daysOverdue"]), (&actions[0]["id"], &json!(true), &json!(3)));
    // The generic playbook's steps: risk owner (the AM who applied it), then the account manager.
    assert_eq!(data["mine"]["totalCount"], 2);
    assert_eq!(data["notOverdue"]["totalCount"], 2);
    assert_eq!(data["byOwner"], json!([{ "owner": { "id": w.am.id }, "count": 2, "oldestDueOn": today_plus(-3) }]));
    assert_eq!(data["risks"]["nodes"], json!([{ "id": w.risk }]));
    assert_eq!(data["calm"]["totalCount"], 0);

    // Done actions are no longer overdue.
    s.mutate(&w.am.token, "completePlanAction", "action", "status", json!({ "id": actions[0]["id"] })).await;
    s.mutate(&w.am.token, "completePlanAction", "action", "status", json!({ "id": actions[2]["id"] })).await;
    assert_eq!(s.gql(admin, q, json!({ "id": w.risk })).await["node"]["urgency"], "HIGH");
    let data = s
        .gql(
            admin,
            "{ overdueActionsByOwner { count } planActions(filter: { overdue: true }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(data, json!({ "overdueActionsByOwner": [], "planActions": { "totalCount": 0 } }));
    let q2 = "query($r: ID!) { planActions(filter: { riskId: $r, statuses: [DONE] }) { totalCount } }";
    assert_eq!(s.gql(admin, q2, json!({ "r": w.risk })).await["planActions"]["totalCount"], 2);

    // The plan was made ten days ago and the client heard nothing: its weekly update is late,
    // until one is given.
    let at = Utc::now() - Duration::days(10);
    set_past(&s, "action_plans", "created_at", "id", plan["id"].as_str().unwrap(), at.into()).await;
    let q3 = "query($id: ID!) { node(id: $id) { ... on ActionPlan { nextUpdateDueOn updateOverdue } } }";
    let late = s.gql(admin, q3, json!({ "id": plan["id"] })).await;
    assert_eq!(late["node"], json!({ "nextUpdateDueOn": today_plus(-3), "updateOverdue": true }));
    s.mutate(
        &w.am.token,
        "postRiskUpdate",
        "update",
        "id",
        json!({ "riskId": w.risk, "audience": "CLIENT", "channel": "EMAIL", "body": "Progress report" }),
    )
    .await;
    let late = s.gql(admin, q3, json!({ "id": plan["id"] })).await;
    assert_eq!(late["node"], json!({ "nextUpdateDueOn": today_plus(7), "updateOverdue": false }));
    s.stop().await;
}

async fn the_communication_log_shows_client_silence(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let w = world(&s, "acme").await;
    let admin = &w.t.admin_token;
    let q = "query($id: ID!) { node(id: $id) { ... on Risk { lastClientUpdateAt lastInternalUpdateAt daysSinceClientUpdate updates { totalCount } } } }";
    let silent = s.gql(admin, q, json!({ "id": w.risk })).await;
    assert_eq!(
        silent["node"],
        json!({ "lastClientUpdateAt": null, "lastInternalUpdateAt": null, "daysSinceClientUpdate": 0, "updates": { "totalCount": 0 } })
    );

    let generic = playbook_id(&s, admin, "generic_mitigation").await;
    let plan = apply(&s, &w.am.token, json!({ "riskId": w.risk, "playbookId": generic, "communication": { "audience": "CLIENT", "channel": "EMAIL", "cadenceDays": 5 } })).await;
    let plan_q = "query($id: ID!) { node(id: $id) { ... on ActionPlan { nextUpdateDueOn updateOverdue } } }";
    let due = s.gql(admin, plan_q, json!({ "id": plan["id"] })).await;
    assert_eq!(due["node"], json!({ "nextUpdateDueOn": today_plus(5), "updateOverdue": false }));

    let fields = "id audience channel body at author { id } risk { id }";
    let internal = s
        .mutate(
            &w.am.token,
            "postRiskUpdate",
            "update",
            fields,
            json!({ "riskId": w.risk, "audience": "INTERNAL", "channel": "CHAT", "body": "Support is on it" }),
        )
        .await;
    assert_eq!(internal["author"]["id"], json!(w.am.id));
    let client_at = (Utc::now() - Duration::days(3) - Duration::hours(2)).to_rfc3339();
    let client = s
        .mutate(&w.am.token, "postRiskUpdate", "update", fields, json!({ "riskId": w.risk, "audience": "CLIENT", "channel": "CALL", "body": "Told Carla the fix lands Friday", "at": client_at }))
        .await;
    assert_eq!(client["audience"], "CLIENT");

    // Refused: the future, an empty body, viewers, and other accounts' managers.
    let future = (Utc::now() + Duration::days(1)).to_rfc3339();
    let errors = s
        .mutate_err(
            &w.am.token,
            "postRiskUpdate",
            "update",
            json!({ "riskId": w.risk, "audience": "CLIENT", "channel": "EMAIL", "body": " ", "at": future }),
        )
        .await;
    let fields_at_fault: Vec<&Value> = errors.iter().map(|e| &e["field"]).collect();
    assert_eq!(fields_at_fault, [&json!(["input", "body"]), &json!(["input", "at"])]);
    let viewer = s.member(&w.t, "VIEWER", "Vic Viewer").await;
    let q2 = "mutation($i: PostRiskUpdateInput!) { postRiskUpdate(input: $i) { update { id } } }";
    let (_, body) = s
        .post(
            Some(&viewer.token),
            q2,
            json!({ "i": { "riskId": w.risk, "audience": "CLIENT", "channel": "EMAIL", "body": "hi" } }),
        )
        .await;
    assert!(forbidden(&body), "{body}");

    let data = s.gql(admin, q, json!({ "id": w.risk })).await;
    assert_eq!(data["node"]["daysSinceClientUpdate"], 3);
    assert_eq!(data["node"]["updates"]["totalCount"], 2);
    assert!(data["node"]["lastInternalUpdateAt"].is_string());
    let list = s
        .gql(admin, "query($id: ID!) { node(id: $id) { ... on Risk { updates { nodes { id } } client: updates(audience: CLIENT) { totalCount nodes { id } } } } }", json!({ "id": w.risk }))
        .await;
    assert_eq!(
        list["node"]["updates"]["nodes"],
        json!([{ "id": internal["id"] }, { "id": client["id"] }]),
        "newest first"
    );
    assert_eq!(list["node"]["client"], json!({ "totalCount": 1, "nodes": [{ "id": client["id"] }] }));
    // The client update was given before the plan existed, so the cadence counts from the plan.
    assert_eq!(s.gql(admin, plan_q, json!({ "id": plan["id"] })).await["node"]["nextUpdateDueOn"], today_plus(5));
    s.mutate(
        &w.am.token,
        "postRiskUpdate",
        "update",
        "id",
        json!({ "riskId": w.risk, "audience": "CLIENT", "channel": "EMAIL", "body": "Fix deployed" }),
    )
    .await;
    let data = s.gql(admin, q, json!({ "id": w.risk })).await;
    assert_eq!(data["node"]["daysSinceClientUpdate"], 0);
    let node = s
        .gql(admin, "query($id: ID!) { node(id: $id) { ... on RiskUpdate { body } } }", json!({ "id": client["id"] }))
        .await;
    assert_eq!(node["node"]["body"], "Told Carla the fix lands Friday");
    s.stop().await;
}

/// Evaluates the account's rules now and returns the open risk of `rule`.
async fn rule_risk(s: &TestServer, token: &str, account: &str, rule: &str) -> Value {
    let q = "mutation($i: EvaluateAccountRisksInput!) { evaluateAccountRisks(input: $i) { openRisks { id ruleKey status suggestedPlaybookKey suggestedPlaybook { key } } } }";
    let data = s.gql(token, q, json!({ "i": { "accountId": account } })).await;
    data["evaluateAccountRisks"]["openRisks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleKey"] == rule)
        .expect("the rule fired")
        .clone()
}

async fn a_suggested_playbook_applies_itself_on_validation(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let w = world(&s, "acme").await;
    let admin = &w.t.admin_token;
    let financial = playbook_id(&s, admin, "financial_review").await;
    overdue_invoice(&s, admin, &w.account, "INV-1", 45).await;
    // Auto-apply is off by default; the organisation switches it on for this playbook.
    let risk = rule_risk(&s, admin, &w.account, "invoice_overdue").await;
    assert_eq!(risk["suggestedPlaybookKey"], "financial_review");
    assert_eq!(risk["suggestedPlaybook"]["key"], "financial_review");
    s.mutate(admin, "updatePlaybook", "playbook", "autoApply", json!({ "id": financial, "autoApply": true })).await;

    let validated = s
        .mutate(&w.am.token, "transitionRisk", "risk", "status owner { id } actionPlans { playbook { key } desiredOutcome actions { owner { id } ownerRole } } events { nodes { kind note } }", json!({ "riskId": risk["id"], "to": "VALIDATED" }))
        .await;
    assert_eq!(validated["status"], "MITIGATING");
    assert_eq!(validated["owner"]["id"], json!(w.am.id), "the validator owns the risk it now mitigates");
    let plan = &validated["actionPlans"][0];
    assert_eq!(plan["playbook"]["key"], "financial_review");
    assert_eq!(
        plan["desiredOutcome"],
        "Globex has no invoice more than 30 days overdue and an agreed payment schedule."
    );
    // Finance steps have no holder on the account: they fall to the risk owner (the validator).
    let owners: Vec<(&Value, &Value)> =
        plan["actions"].as_array().unwrap().iter().map(|a| (&a["ownerRole"], &a["owner"]["id"])).collect();
    assert_eq!(
        owners,
        [
            (&json!("FINANCE"), &json!(w.am.id)),
            (&json!("ACCOUNT_MANAGER"), &json!(w.am.id)),
            (&json!("FINANCE"), &json!(w.am.id))
        ]
    );
    let kinds: Vec<&Value> = validated["events"]["nodes"].as_array().unwrap().iter().map(|e| &e["kind"]).collect();
    assert_eq!(kinds, [&json!("RAISED"), &json!("TRANSITION"), &json!("TRANSITION"), &json!("PLAN_APPLIED")]);
    assert!(validated["events"]["nodes"][3]["note"].as_str().unwrap().contains("applied automatically"));

    // The invoice is paid: the rule resolves the risk by itself, and the plan's open actions are
    // cancelled with it.
    let day = |d: i64| (Utc::now() - Duration::days(d)).date_naive().to_string();
    let paid = json!([{ "account": { "id": w.account }, "number": "INV-1", "amountMinor": 250000, "currency": "EUR", "issuedOn": day(75), "dueOn": day(45), "status": "PAID", "paidAt": Utc::now().to_rfc3339() }]);
    let q = "mutation($i: UpsertInvoicesInput!) { upsertInvoices(input: $i) { rejected } }";
    s.gql(admin, q, json!({ "i": { "items": paid } })).await;
    let q = "query($id: ID!) { node(id: $id) { ... on Risk { status actionPlans { progress { open cancelled } actions { note } } } } }";
    let data = s.eventually(admin, q, json!({ "id": risk["id"] }), |d| d["node"]["status"] == "RESOLVED").await;
    assert_eq!(data["node"]["actionPlans"][0]["progress"], json!({ "open": 0, "cancelled": 3 }));
    assert_eq!(data["node"]["actionPlans"][0]["actions"][0]["note"], "the risk was resolved");

    // A manual risk suggests nothing: validation stays validation.
    let plain = s
        .mutate(
            admin,
            "transitionRisk",
            "risk",
            "status actionPlans { id }",
            json!({ "riskId": w.risk, "to": "VALIDATED" }),
        )
        .await;
    assert_eq!(plain, json!({ "status": "VALIDATED", "actionPlans": [] }));

    // Both or neither: the plan is written in the validation's own transaction. When writing it
    // fails (here the actions' table is gone), the validation fails with it and the risk is as
    // it was: no validated risk left waiting for a plan that never came.
    let initech = s
        .mutate(
            admin,
            "createAccount",
            "account",
            "id",
            json!({ "name": "Initech", "tier": "KEY", "accountManagerId": w.am.id }),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    overdue_invoice(&s, admin, &initech, "INV-2", 45).await;
    let second = rule_risk(&s, admin, &initech, "invoice_overdue").await;
    let second = second["id"].as_str().unwrap();
    let before = risk_state(&s, admin, second).await;
    assert_eq!(before["status"], "IDENTIFIED");
    s.db.execute_unprepared("DROP TABLE plan_actions").await.unwrap();
    let q = "mutation($i: TransitionRiskInput!) { transitionRisk(input: $i) { risk { status } } }";
    let (_, body) = s.post(Some(&w.am.token), q, json!({ "i": { "riskId": second, "to": "VALIDATED" } })).await;
    assert_eq!(error_codes(&body), ["INTERNAL"], "{body}");
    assert_eq!(risk_state(&s, admin, second).await, before, "the validation was rolled back with the plan");
    s.stop().await;
}

async fn post_mortems_assemble_the_story_and_feed_lessons(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let w = world(&s, "acme").await;
    let admin = &w.t.admin_token;
    overdue_invoice(&s, admin, &w.account, "INV-1", 45).await;
    let risk = rule_risk(&s, admin, &w.account, "invoice_overdue").await;
    let risk_id = risk["id"].as_str().unwrap();
    s.mutate(&w.am.token, "logInteraction", "interaction", "id", json!({ "accountId": w.account, "kind": "CALL", "occurredAt": Utc::now().to_rfc3339(), "summary": "Carla confirms the budget freeze" }))
        .await;
    let financial = playbook_id(&s, admin, "financial_review").await;
    let plan = apply(&s, &w.am.token, json!({ "riskId": risk_id, "playbookId": financial, "assignments": [{ "step": 0, "ownerId": w.am.id }, { "step": 2, "ownerId": w.am.id }] })).await;
    s.mutate(
        &w.am.token,
        "completePlanAction",
        "action",
        "status",
        json!({ "id": plan["actions"][0]["id"], "note": "two invoices late" }),
    )
    .await;
    s.mutate(
        &w.am.token,
        "postRiskUpdate",
        "update",
        "id",
        json!({ "riskId": risk_id, "audience": "CLIENT", "channel": "EMAIL", "body": "Payment plan proposed" }),
    )
    .await;

    // Post-mortems follow a closing: not for an open risk, a dismissed one, or both subjects.
    let input = |subject: Value| {
        let mut v = json!({ "rootCause": "CLIENT_BUDGET", "summary": "Budget freeze at the client", "whatHappened": "Invoices slipped for two months", "whatWorked": "The payment plan", "whatToImprove": "Talk to finance earlier" });
        v.as_object_mut().unwrap().extend(subject.as_object().unwrap().clone());
        v
    };
    let errors = s.mutate_err(&w.am.token, "recordPostMortem", "postMortem", input(json!({ "riskId": risk_id }))).await;
    assert_eq!(errors[0]["field"], json!(["input", "riskId"]));
    let errors = s
        .mutate_err(
            &w.am.token,
            "recordPostMortem",
            "postMortem",
            input(json!({ "riskId": risk_id, "accountId": w.account })),
        )
        .await;
    assert_eq!(errors[0]["message"], "give riskId or accountId, not both");
    s.mutate(admin, "transitionRisk", "risk", "status", json!({ "riskId": w.risk, "to": "DISMISSED" })).await;
    let errors = s.mutate_err(&w.am.token, "recordPostMortem", "postMortem", input(json!({ "riskId": w.risk }))).await;
    assert!(errors[0]["message"].as_str().unwrap().contains("false alarm"), "{errors:?}");

    s.mutate(&w.am.token, "transitionRisk", "risk", "status", json!({ "riskId": risk_id, "to": "RESOLVED" })).await;
    let due = "query($id: ID!) { node(id: $id) { ... on Risk { postMortemDue postMortem { id } } } due: risks(filter: { postMortemDue: true }) { nodes { id } } }";
    let data = s.gql(admin, due, json!({ "id": risk_id })).await;
    assert_eq!(data["node"], json!({ "postMortemDue": true, "postMortem": null }));
    assert_eq!(data["due"]["nodes"], json!([{ "id": risk_id }]), "the dismissed risk needs none");

    let pm = s
        .mutate(&w.am.token, "recordPostMortem", "postMortem", "id outcome category rootCause summary author { id } risk { id } detectionLeadDays rulesFired rulesSilent timeline { kind riskEventKind interactionKind ruleKey text actor { id } }", input(json!({ "riskId": risk_id })))
        .await;
    assert_eq!(
        (&pm["outcome"], &pm["category"], &pm["rootCause"]),
        (&json!("MITIGATED"), &json!("FINANCIAL"), &json!("CLIENT_BUDGET"))
    );
    assert_eq!(pm["rulesFired"], json!(["invoice_overdue"]));
    let silent = pm["rulesSilent"].as_array().unwrap();
    assert!(silent.contains(&json!("usage_drop")) && !silent.contains(&json!("invoice_overdue")), "{silent:?}");
    let lead = pm["detectionLeadDays"].as_f64().unwrap();
    assert!((0.0..1.0).contains(&lead), "raised and resolved within the test: {lead}");
    let kinds: Vec<&str> = pm["timeline"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"FIRST_SIGNAL"));
    assert_eq!(pm["timeline"][0]["ruleKey"], "invoice_overdue");
    for k in ["INTERACTION", "RISK_EVENT", "ACTION_PLANNED", "ACTION_DONE", "UPDATE"] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
    assert_eq!(kinds.iter().filter(|k| **k == "ACTION_PLANNED").count(), 3);
    // It ends with the resolution and the two actions it made moot.
    let timeline = pm["timeline"].as_array().unwrap();
    let end = &timeline[timeline.len() - 3..];
    assert_eq!((&end[0]["kind"], &end[0]["riskEventKind"]), (&json!("RISK_EVENT"), &json!("TRANSITION")));
    assert!(end[0]["text"].as_str().unwrap().ends_with("mitigating -> resolved"), "{timeline:?}");
    for e in &end[1..] {
        assert_eq!(e["kind"], "ACTION_CANCELLED");
        assert!(e["text"].as_str().unwrap().ends_with("- the risk was resolved"), "{e}");
    }
    let errors = s.mutate_err(&w.am.token, "recordPostMortem", "postMortem", input(json!({ "riskId": risk_id }))).await;
    assert_eq!(errors[0]["code"], "CONFLICT");
    assert_eq!(s.gql(admin, due, json!({ "id": risk_id })).await["due"]["nodes"], json!([]));
    let q = "query($id: ID!) { node(id: $id) { ... on Risk { postMortemDue postMortem { id } } } reviewed: risks(filter: { postMortemDue: false, statuses: [RESOLVED] }) { nodes { id } } }";
    let data = s.gql(admin, q, json!({ "id": risk_id })).await;
    assert_eq!(data["node"], json!({ "postMortemDue": false, "postMortem": { "id": pm["id"] } }));
    assert_eq!(data["reviewed"]["nodes"], json!([{ "id": risk_id }]));

    // A churn: expected once the account churned, lost; a rule saw it coming ten days before.
    let lost = s.mutate(admin, "createAccount", "account", "id", json!({ "name": "Initech", "tier": "KEY" })).await;
    let lost_id = lost["id"].as_str().unwrap();
    let day = |d: i64| (Utc::now() - Duration::days(d)).date_naive().to_string();
    let q = "mutation($i: UpsertInvoicesInput!) { upsertInvoices(input: $i) { rejected } }";
    let late = json!([{ "account": { "id": lost_id }, "number": "INV-L1", "amountMinor": 90000, "currency": "EUR", "issuedOn": day(80), "dueOn": day(50), "status": "OPEN" }]);
    s.gql(admin, q, json!({ "i": { "items": late } })).await;
    let warning = rule_risk(&s, admin, lost_id, "invoice_overdue").await;
    backdate_risk(&s, warning["id"].as_str().unwrap(), 10).await;
    let errors = s.mutate_err(admin, "recordPostMortem", "postMortem", input(json!({ "accountId": lost_id }))).await;
    assert_eq!(errors[0]["message"], "the account has not churned");
    s.mutate(
        admin,
        "markAccountChurned",
        "account",
        "status",
        json!({ "id": lost_id, "churnedOn": today_plus(-1), "reason": "Moved to a competitor" }),
    )
    .await;
    let accounts_due = "{ accounts(filter: { postMortemDue: true }) { nodes { id } } }";
    assert_eq!(s.gql(admin, accounts_due, json!({})).await["accounts"]["nodes"], json!([{ "id": lost_id }]));
    let mut churn = input(json!({ "accountId": lost_id }));
    churn["rootCause"] = json!("COMPETITION");
    churn["category"] = json!("COMPETITIVE");
    let churn_pm = s
        .mutate(
            admin,
            "recordPostMortem",
            "postMortem",
            "id outcome churnedOn detectionLeadDays rulesFired version timeline { kind }",
            churn,
        )
        .await;
    assert_eq!(
        (&churn_pm["outcome"], churn_pm["churnedOn"].as_str().unwrap()),
        (&json!("LOST"), today_plus(-1).as_str())
    );
    let lead = churn_pm["detectionLeadDays"].as_f64().unwrap();
    assert!((8.0..10.0).contains(&lead), "first seen 10 days ago, churned yesterday: {lead}");
    assert_eq!(churn_pm["rulesFired"], json!(["invoice_overdue"]));
    assert_eq!(
        churn_pm["timeline"],
        json!([{ "kind": "FIRST_SIGNAL" }, { "kind": "RISK_EVENT" }, { "kind": "CHURN" }])
    );
    assert_eq!(s.gql(admin, accounts_due, json!({})).await["accounts"]["nodes"], json!([]));
    // Won back, then lost again: the new churn is due its own post-mortem.
    s.mutate(admin, "reactivateAccount", "account", "status", json!({ "id": lost_id })).await;
    s.mutate(
        admin,
        "markAccountChurned",
        "account",
        "status",
        json!({ "id": lost_id, "churnedOn": today_plus(0), "reason": "Budget" }),
    )
    .await;
    assert_eq!(s.gql(admin, accounts_due, json!({})).await["accounts"]["nodes"], json!([{ "id": lost_id }]));
    let edited = s
        .mutate(
            admin,
            "updatePostMortem",
            "postMortem",
            "whatToImprove version",
            json!({ "id": churn_pm["id"], "whatToImprove": "Watch competitor mentions", "expectedVersion": 1 }),
        )
        .await;
    assert_eq!(edited["version"], 2);
    let errors = s
        .mutate_err(
            admin,
            "updatePostMortem",
            "postMortem",
            json!({ "id": churn_pm["id"], "summary": "x", "expectedVersion": 1 }),
        )
        .await;
    assert_eq!(errors[0]["code"], "CONFLICT");

    // Feedback routed to teams, with status.
    let item = s
        .mutate(&w.am.token, "addFeedbackItem", "item", "id team status version postMortem { id }", json!({ "postMortemId": pm["id"], "team": "FINANCE", "title": "Flag budget freezes from the first late invoice" }))
        .await;
    assert_eq!((&item["status"], &item["postMortem"]["id"]), (&json!("OPEN"), &pm["id"]));
    let viewer = s.member(&w.t, "VIEWER", "Vic Viewer").await;
    let q = "mutation($i: UpdateFeedbackItemInput!) { updateFeedbackItem(input: $i) { item { id } } }";
    let (_, body) = s.post(Some(&viewer.token), q, json!({ "i": { "id": item["id"], "status": "DONE" } })).await;
    assert!(forbidden(&body), "{body}");
    let errors = s
        .mutate_err(
            &w.am.token,
            "addFeedbackItem",
            "item",
            json!({ "postMortemId": pm["id"], "team": "PRODUCT", "title": "" }),
        )
        .await;
    assert_eq!(errors[0]["field"], json!(["input", "title"]));
    let product = s.member(&w.t, "MANAGER", "Pat Product").await;
    let moved = s
        .mutate(
            &product.token,
            "updateFeedbackItem",
            "item",
            "status closedAt version",
            json!({ "id": item["id"], "status": "DONE", "expectedVersion": item["version"] }),
        )
        .await;
    assert_eq!(moved["status"], "DONE");
    assert!(moved["closedAt"].is_string());
    let data = s
        .gql(admin, "{ done: feedbackItems(filter: { teams: [FINANCE], statuses: [DONE] }) { totalCount } open: feedbackItems(filter: { statuses: [OPEN] }) { totalCount } }", json!({}))
        .await;
    assert_eq!(data, json!({ "done": { "totalCount": 1 }, "open": { "totalCount": 0 } }));
    let q = "query($pm: ID!) { feedbackItems(filter: { postMortemId: $pm }) { nodes { id } } }";
    assert_eq!(
        s.gql(admin, q, json!({ "pm": pm["id"] })).await["feedbackItems"]["nodes"],
        json!([{ "id": item["id"] }])
    );

    // Lessons across post-mortems, and how the playbook did.
    let data = s
        .gql(admin, "{ lessons { total { count mitigated lost } byRootCause { rootCause tally { count lost } } byCategory { category tally { count } } playbooks { playbook { key } effectiveness { plansApplied open resolved materialized resolvedShare materializedShare medianDaysToResolve } } } budget: postMortems(filter: { rootCauses: [CLIENT_BUDGET] }) { totalCount nodes { id feedbackItems { id } } } lost: postMortems(filter: { outcome: LOST }) { nodes { id } } }", json!({}))
        .await;
    let lessons = &data["lessons"];
    assert_eq!(lessons["total"], json!({ "count": 2, "mitigated": 1, "lost": 1 }));
    let causes: Vec<&Value> = lessons["byRootCause"].as_array().unwrap().iter().map(|c| &c["rootCause"]).collect();
    assert!(causes.contains(&&json!("CLIENT_BUDGET")) && causes.contains(&&json!("COMPETITION")), "{causes:?}");
    let categories: Vec<&Value> = lessons["byCategory"].as_array().unwrap().iter().map(|c| &c["category"]).collect();
    assert!(categories.contains(&&json!("FINANCIAL")) && categories.contains(&&json!("COMPETITIVE")), "{categories:?}");
    let playbook = &lessons["playbooks"][0];
    assert_eq!(playbook["playbook"]["key"], "financial_review");
    let e = &playbook["effectiveness"];
    assert_eq!(
        (&e["plansApplied"], &e["resolved"], &e["materialized"], &e["open"]),
        (&json!(1), &json!(1), &json!(0), &json!(0))
    );
    assert_eq!((&e["resolvedShare"], &e["materializedShare"]), (&json!(1.0), &json!(0.0)));
    assert!(e["medianDaysToResolve"].as_f64().unwrap() < 1.0);
    let q = "{ playbook(key: \"financial_review\") { effectiveness { plansApplied resolved } } unused: playbook(key: \"support_escalation\") { effectiveness { plansApplied resolvedShare } } }";
    let data2 = s.gql(admin, q, json!({})).await;
    assert_eq!(data2["playbook"]["effectiveness"], json!({ "plansApplied": 1, "resolved": 1 }));
    assert_eq!(data2["unused"]["effectiveness"], json!({ "plansApplied": 0, "resolvedShare": null }));
    assert_eq!(data["budget"]["totalCount"], 1);
    assert_eq!(data["budget"]["nodes"][0]["feedbackItems"], json!([{ "id": item["id"] }]));
    assert_eq!(data["lost"]["nodes"], json!([{ "id": churn_pm["id"] }]));
    s.stop().await;
}

async fn organisation(s: &TestServer, token: &str) -> Value {
    s.gql(token, "{ organisation { name timeZone today version } }", json!({})).await["organisation"].clone()
}

async fn set_time_zone(s: &TestServer, token: &str, zone: &str) -> Value {
    s.mutate(token, "updateOrganisation", "organisation", "timeZone today version", json!({ "timeZone": zone })).await
}

fn date(v: &Value) -> chrono::NaiveDate {
    v.as_str().unwrap().parse().unwrap()
}

/// "Today" is the organisation's, not the server's: the same deadline is on time in a zone
/// where the day is young and overdue in one where it is over. UTC-12 and UTC+14 are 26 hours
/// apart, so their dates differ at every moment and the scenario holds whenever it runs.
async fn deadlines_follow_the_organisations_calendar(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let w = world(&s, "tz").await;
    let admin = &w.t.admin_token;
    let org = organisation(&s, admin).await;
    assert_eq!(org["timeZone"], "UTC", "organisations start on UTC");
    let version = org["version"].as_i64().unwrap();

    // Settings are checked, admins only, compare-and-set; refused changes change nothing.
    let errors = s
        .mutate_err(
            admin,
            "updateOrganisation",
            "organisation",
            json!({ "timeZone": "Mars/Olympus_Mons", "name": " " }),
        )
        .await;
    let fields: Vec<&Value> = errors.iter().map(|e| &e["field"]).collect();
    assert_eq!(fields, [&json!(["input", "name"]), &json!(["input", "timeZone"])], "{errors:?}");
    assert!(errors[1]["message"].as_str().unwrap().contains("IANA"), "{errors:?}");
    let q = "mutation($i: UpdateOrganisationInput!) { updateOrganisation(input: $i) { organisation { id } } }";
    let (_, body) = s.post(Some(&w.am.token), q, json!({ "i": { "timeZone": "Europe/Paris" } })).await;
    assert!(forbidden(&body), "{body}");
    let stale = s
        .mutate_err(
            admin,
            "updateOrganisation",
            "organisation",
            json!({ "timeZone": "Europe/Paris", "expectedVersion": version - 1 }),
        )
        .await;
    assert_eq!(stale[0]["code"], "CONFLICT");
    assert_eq!(organisation(&s, admin).await, org, "nothing changed");

    // West of the date line's far side (UTC-12) the day is young: a deadline today is on time.
    let west = set_time_zone(&s, admin, "Etc/GMT+12").await;
    assert_eq!(west["timeZone"], "Etc/GMT+12");
    assert_eq!(west["version"].as_i64(), Some(version + 1));
    let today_west = date(&west["today"]);
    let generic = playbook_id(&s, admin, "generic_mitigation").await;
    let plan = apply(&s, &w.am.token, json!({ "riskId": w.risk, "playbookId": generic })).await;
    let first_due = date(&plan["actions"][0]["dueOn"]);
    // Step deadlines count from the organisation's today (the first step: two days, so it is
    // not overdue in the east either).
    assert_eq!(first_due, today_west + Duration::days(2));
    let action = s
        .mutate(&w.am.token, "addPlanAction", "action", "id dueOn overdue daysOverdue", json!({ "planId": plan["id"], "title": "Call the CFO", "ownerId": w.am.id, "dueOn": today_west.to_string() }))
        .await;
    assert_eq!((&action["overdue"], &action["daysOverdue"]), (&json!(false), &json!(0)));
    let urgency_on_time = s.gql(admin, RISK_URGENCY, json!({ "id": w.risk })).await["node"].clone();
    assert_eq!(urgency_on_time["overdueActionCount"], 0);

    // East (UTC+14) that day is already over: the same action is overdue everywhere it shows.
    let east = set_time_zone(&s, admin, "Pacific/Kiritimati").await;
    let today_east = date(&east["today"]);
    let days = (today_east - today_west).num_days();
    assert!((1..=2).contains(&days), "{today_west} -> {today_east}");
    let q = "query($id: ID!) { node(id: $id) { ... on PlanAction { overdue daysOverdue } } }";
    assert_eq!(
        s.gql(admin, q, json!({ "id": action["id"] })).await["node"],
        json!({ "overdue": true, "daysOverdue": days })
    );
    let q = "{ planActions(filter: { overdue: true }) { totalCount nodes { id } } overdueActionsByOwner { owner { id } count oldestDueOn } }";
    let data = s.gql(admin, q, json!({})).await;
    assert_eq!(data["planActions"], json!({ "totalCount": 1, "nodes": [{ "id": action["id"] }] }));
    assert_eq!(
        data["overdueActionsByOwner"],
        json!([{ "owner": { "id": w.am.id }, "count": 1, "oldestDueOn": today_west.to_string() }])
    );
    let late = s.gql(admin, RISK_URGENCY, json!({ "id": w.risk })).await["node"].clone();
    assert_eq!(late["overdueActionCount"], 1);
    assert_ne!(late["urgency"], urgency_on_time["urgency"], "an overdue action raises the risk's urgency");
    let q = "{ risks(filter: { hasOverdueActions: true }) { nodes { id } } }";
    assert_eq!(s.gql(admin, q, json!({})).await["risks"]["nodes"], json!([{ "id": w.risk }]));
    // The account's renewal countdown reads the same calendar (renewing ten days after the
    // western today).
    let renewal = (today_west + Duration::days(10)).to_string();
    s.mutate(admin, "updateAccount", "account", "id", json!({ "id": w.account, "renewalDate": renewal })).await;
    let q = "query($id: ID!) { node(id: $id) { ... on Account { daysUntilRenewal } } }";
    let countdown = s.gql(admin, q, json!({ "id": w.account })).await["node"]["daysUntilRenewal"].as_i64();
    assert_eq!(countdown, Some(10 - days));
    // And a new deadline on that day is in the past now.
    let errors = s
        .mutate_err(
            &w.am.token,
            "addPlanAction",
            "action",
            json!({ "planId": plan["id"], "title": "Too late", "ownerId": w.am.id, "dueOn": today_west.to_string() }),
        )
        .await;
    assert_eq!(errors[0]["field"], json!(["input", "dueOn"]));
    assert!(errors[0]["message"].as_str().unwrap().contains(&format!("today is {today_east}")), "{errors:?}");
    s.stop().await;
}

const RISK_URGENCY: &str = "query($id: ID!) { node(id: $id) { ... on Risk { urgency overdueActionCount } } }";
