//! Rule plugins through the server: uploads (and their refusals), versions, runs with their
//! costs, plugins raising risks exactly like built-in rules, per-plugin parameters, enabling
//! and disabling, and a hostile plugin contained (typed failures, the circuit breaker) while
//! the server keeps serving another organisation.

use bellwether_tests::guests::{self, base64};
use bellwether_tests::{Backend, TestServer, error_codes, on_every_backend};
use chrono::{Duration, Utc};
use serde_json::{Value, json};

on_every_backend!(
    plugins_raise_risks_like_built_in_rules,
    uploads_are_checked_and_refused_precisely,
    a_hostile_plugin_is_contained_and_switched_off,
    a_cold_replica_compiles_stored_plugins_ahead_of_use,
);

const PLUGINS: &str = "{ rulePlugins { id key name category status currentVersion consecutiveFailures trippedAt tripReason version versions { number current sha256 sizeBytes witVersion metadata uploadedBy { id } } rule { key enabled params { key value { number text } } } runs(first: 5) { run { id trigger } stat { evaluations findings failures fuel maxFuel peakMemoryBytes logs componentSha256 } failures { message } } } }";

const UPLOAD: &str = "mutation($c: String!) { uploadRulePlugin(input: { component: $c }) { plugin { id key currentVersion status } userErrors { field code message } } }";

async fn upload(s: &TestServer, token: &str, name: &str) -> Value {
    let data = s.gql(token, UPLOAD, json!({ "c": base64(name) })).await;
    assert_eq!(data["uploadRulePlugin"]["userErrors"], json!([]), "{data}");
    data["uploadRulePlugin"]["plugin"].clone()
}

async fn account_renewing_in(s: &TestServer, token: &str, name: &str, days: i64) -> String {
    let renewal = (Utc::now() + Duration::days(days)).date_naive().to_string();
    let a = s
        .mutate(token, "createAccount", "account", "id", json!({ "name": name, "tier": "KEY", "renewalDate": renewal, "annualValue": { "amountMinor": 5_000_000, "currency": "EUR" } }))
        .await;
    let id = a["id"].as_str().unwrap().to_owned();
    s.mutate(token, "createContact", "contact", "id", json!({ "accountId": id, "name": "Chris Champion", "level": "MANAGEMENT", "role": "CHAMPION", "sentiment": "POSITIVE" }))
        .await;
    id
}

async fn evaluate(s: &TestServer, token: &str, account: &str) -> Value {
    let q = "mutation($i: EvaluateAccountRisksInput!) { evaluateAccountRisks(input: $i) { run { id failureCount rules { ruleKey evaluations failures fuel peakMemoryBytes } failures { ruleKey message } } openRisks { ruleKey fingerprint source category status title impact likelihood } userErrors { message } } }";
    let data = s.gql(token, q, json!({ "i": { "accountId": account } })).await;
    assert_eq!(data["evaluateAccountRisks"]["userErrors"], json!([]), "{data}");
    data["evaluateAccountRisks"].clone()
}

fn plugin_risks(evaluated: &Value, key: &str) -> Vec<Value> {
    evaluated["openRisks"].as_array().unwrap().iter().filter(|r| r["ruleKey"] == key).cloned().collect()
}

async fn plugins_raise_risks_like_built_in_rules(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let t = s.tenant("acme").await;
    let token = &t.admin_token;

    let plugin = upload(&s, token, "renewal_without_buyer").await;
    assert_eq!(plugin["key"], "renewal_without_buyer");
    assert_eq!(plugin["currentVersion"], 1);
    assert_eq!(plugin["status"], "ENABLED");
    // The same component again is not a new version.
    assert_eq!(upload(&s, token, "renewal_without_buyer").await["currentVersion"], 1);

    let data = s.gql(token, PLUGINS, json!({})).await;
    let p = &data["rulePlugins"][0];
    assert_eq!(p["category"], "RELATIONSHIP");
    assert_eq!(p["versions"].as_array().unwrap().len(), 1);
    let v = &p["versions"][0];
    assert_eq!((v["current"].clone(), v["witVersion"].clone()), (json!(true), json!("0.1.0")));
    assert_eq!(v["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(v["uploadedBy"]["id"], json!(t.admin_id));
    assert_eq!(v["metadata"]["inputs"], json!(["Contacts"]));
    assert_eq!(p["rule"]["params"], json!([{ "key": "days", "value": { "number": 120.0, "text": null } }]));

    // The plugin raises a risk as a built-in would: same fields, same fingerprint scheme.
    let a = account_renewing_in(&s, token, "Initech", 30).await;
    let evaluated = evaluate(&s, token, &a).await;
    let risks = plugin_risks(&evaluated, "renewal_without_buyer");
    assert_eq!(risks.len(), 1, "{evaluated}");
    let r = &risks[0];
    assert_eq!(
        (r["source"].clone(), r["category"].clone(), r["status"].clone()),
        (json!("RULE"), json!("RELATIONSHIP"), json!("IDENTIFIED"))
    );
    assert!(r["fingerprint"].as_str().unwrap().starts_with("renewal_without_buyer:renewal:"), "{r}");
    assert_eq!((r["impact"].clone(), r["likelihood"].clone()), (json!(4), json!(4)));
    let stat = evaluated["run"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["ruleKey"] == "renewal_without_buyer")
        .unwrap()
        .clone();
    assert_eq!(stat["evaluations"], 1);
    assert!(stat["fuel"].as_f64().unwrap() > 0.0 && stat["peakMemoryBytes"].as_f64().unwrap() > 0.0, "{stat}");
    // Evaluating again refreshes, never duplicates.
    assert_eq!(plugin_risks(&evaluate(&s, token, &a).await, "renewal_without_buyer").len(), 1);
    // Previews and backtests run it too.
    let q =
        "query($a: ID!) { previewRisks(accountId: $a) { findings { ruleKey key likelihood } failures { ruleKey } } }";
    let preview = s.gql(token, q, json!({ "a": a })).await;
    let findings = preview["previewRisks"]["findings"].as_array().unwrap();
    assert!(findings.iter().any(|f| f["ruleKey"] == "renewal_without_buyer" && f["likelihood"] == 4), "{preview}");
    let today = Utc::now().date_naive();
    let q = "query($a: ID!, $from: Date!, $to: Date!) { backtestRule(input: { ruleKey: \"renewal_without_buyer\", accountIds: [$a], from: $from, to: $to, everyDays: 1 }) { accounts { firedCount } } }";
    let vars = json!({ "a": a, "from": (today - Duration::days(2)).to_string(), "to": today.to_string() });
    let backtest = s.gql(token, q, vars).await;
    assert_eq!(backtest["backtestRule"]["accounts"][0]["firedCount"], 3, "{backtest}");

    // Its parameters are set like any rule's; a narrower window clears (auto-resolves) the risk.
    s.mutate(
        token,
        "configureRiskRule",
        "rule",
        "key",
        json!({ "ruleKey": "renewal_without_buyer", "params": [{ "key": "days", "value": { "number": 10 } }] }),
    )
    .await;
    assert!(plugin_risks(&evaluate(&s, token, &a).await, "renewal_without_buyer").is_empty());
    let q = "mutation($i: ConfigureRiskRuleInput!) { configureRiskRule(input: $i) { rule { key } userErrors { field message } } }";
    let data = s.gql(token, q, json!({ "i": { "ruleKey": "renewal_without_buyer", "params": [{ "key": "days", "value": { "number": 9999 } }] } })).await;
    let errors = &data["configureRiskRule"]["userErrors"];
    assert_eq!(errors[0]["field"], json!(["input", "params", "days"]), "{errors}");
    assert_eq!(errors[0]["message"], "must be between 1 and 365");

    // Its runs show what it cost.
    let data = s.gql(token, PLUGINS, json!({})).await;
    let runs = data["rulePlugins"][0]["runs"].as_array().unwrap().clone();
    assert!(runs.len() >= 3, "{runs:?}");
    assert!(runs.iter().all(|r| r["stat"]["evaluations"] == 1 && r["stat"]["maxFuel"].as_f64().unwrap() > 0.0));
    let sha = &data["rulePlugins"][0]["versions"][0]["sha256"];
    assert!(runs.iter().all(|r| &r["stat"]["componentSha256"] == sha), "each run names the version that ran");

    // Disabled, it no longer runs nor lists among the rules; enabled again, it does.
    let id = plugin["id"].as_str().unwrap();
    let off = s
        .mutate(token, "setRulePluginEnabled", "plugin", "status version", json!({ "id": id, "enabled": false }))
        .await;
    assert_eq!(off["status"], "DISABLED");
    let evaluated = evaluate(&s, token, &a).await;
    assert!(evaluated["run"]["rules"].as_array().unwrap().iter().all(|x| x["ruleKey"] != "renewal_without_buyer"));
    let rules = s.gql(token, "{ riskRules { key enabled } }", json!({})).await;
    let listed = rules["riskRules"].as_array().unwrap().iter().find(|r| r["key"] == "renewal_without_buyer").cloned();
    assert_eq!(listed, Some(json!({ "key": "renewal_without_buyer", "enabled": false })));
    let errors = s
        .mutate_err(token, "setRulePluginEnabled", "plugin", json!({ "id": id, "enabled": true, "expectedVersion": 1 }))
        .await;
    assert_eq!(errors[0]["code"], "CONFLICT", "{errors:?}");
    let on = s
        .mutate(
            token,
            "setRulePluginEnabled",
            "plugin",
            "status",
            json!({ "id": id, "enabled": true, "expectedVersion": off["version"] }),
        )
        .await;
    assert_eq!(on["status"], "ENABLED");

    // A new build under the same key is a new version (here: the same code plus a custom
    // section, so other bytes); a second plugin is a new plugin.
    let mut rebuilt = guests::component("renewal_without_buyer");
    rebuilt.extend_from_slice(&[0, 8, 5, b'b', b'u', b'i', b'l', b'd', b'#', b'2']);
    let b64 = |bytes: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes);
    let data = s.gql(token, UPLOAD, json!({ "c": b64(&rebuilt) })).await;
    assert_eq!(data["uploadRulePlugin"]["plugin"]["currentVersion"], 2, "{data}");
    let data = s.gql(token, PLUGINS, json!({})).await;
    let versions = data["rulePlugins"][0]["versions"].as_array().unwrap().clone();
    assert_eq!(
        versions.iter().map(|v| (v["number"].clone(), v["current"].clone())).collect::<Vec<_>>(),
        [(json!(2), json!(true)), (json!(1), json!(false))]
    );
    let evaluated = evaluate(&s, token, &a).await;
    assert_eq!(evaluated["run"]["failureCount"], 0);
    let data = s.gql(token, PLUGINS, json!({})).await;
    assert_eq!(
        data["rulePlugins"][0]["runs"][0]["stat"]["componentSha256"], versions[0]["sha256"],
        "the new version ran"
    );
    // Rolled back to version 1, version 1 runs; an unknown version is refused.
    let back = s
        .mutate(token, "activateRulePluginVersion", "plugin", "currentVersion", json!({ "id": id, "number": 1 }))
        .await;
    assert_eq!(back["currentVersion"], 1);
    evaluate(&s, token, &a).await;
    let data = s.gql(token, PLUGINS, json!({})).await;
    assert_eq!(data["rulePlugins"][0]["runs"][0]["stat"]["componentSha256"], versions[1]["sha256"], "version 1 ran");
    let errors = s.mutate_err(token, "activateRulePluginVersion", "plugin", json!({ "id": id, "number": 7 })).await;
    assert_eq!(
        (errors[0]["code"].clone(), errors[0]["field"].clone()),
        (json!("NOT_FOUND"), json!(["input", "number"]))
    );
    assert_eq!(upload(&s, token, "seat_utilisation").await["currentVersion"], 1);
    let data = s.gql(token, "{ rulePlugins { key } }", json!({})).await;
    assert_eq!(data["rulePlugins"], json!([{ "key": "renewal_without_buyer" }, { "key": "seat_utilisation" }]));

    // Plugins are admin business.
    let manager = s.member(&t, "MANAGER", "Mia Manager").await;
    let (_, body) = s.post(Some(&manager.token), "{ rulePlugins { id } }", json!({})).await;
    assert_eq!(error_codes(&body), ["FORBIDDEN"], "{body}");
    let (_, body) = s.post(Some(&manager.token), UPLOAD, json!({ "c": base64("hostile") })).await;
    assert_eq!(error_codes(&body), ["FORBIDDEN"], "{body}");
    let data = s.gql(&manager.token, "query($id: ID!) { node(id: $id) { id } }", json!({ "id": id })).await;
    assert_eq!(data["node"], Value::Null);
    s.stop().await;
}

async fn uploads_are_checked_and_refused_precisely(backend: Backend) {
    use base64::Engine as _;
    let Some(s) = TestServer::start(backend).await else { return };
    let t = s.tenant("acme").await;
    let token = &t.admin_token;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    for (component, expected) in [
        ("%%% not base64".to_owned(), "not base64"),
        (b64(b"definitely not wasm"), "not a WebAssembly binary"),
        (b64(b"\0asm\x01\0\0\0"), "a core WebAssembly module, not a component"),
        (base64("forbidden_import"), "imports wasi:filesystem/"),
        (base64("wrong_version"), "built against bellwether:rules@9.9.0; this server runs 0.1.0"),
    ] {
        let data = s.gql(token, UPLOAD, json!({ "c": component })).await;
        let payload = &data["uploadRulePlugin"];
        assert_eq!(payload["plugin"], Value::Null);
        let e = &payload["userErrors"][0];
        assert_eq!(
            (e["field"].clone(), e["code"].clone()),
            (json!(["input", "component"]), json!("INVALID")),
            "{payload}"
        );
        assert!(e["message"].as_str().unwrap().contains(expected), "{expected}: {payload}");
    }
    let data = s.gql(token, "{ rulePlugins { id } }", json!({})).await;
    assert_eq!(data["rulePlugins"], json!([]), "nothing stored");
    s.stop().await;
}

async fn a_hostile_plugin_is_contained_and_switched_off(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let a = s.tenant("alpha").await;
    let b = s.tenant("beta").await;
    let token = &a.admin_token;
    let hostile = upload(&s, token, "hostile").await;
    let account = account_renewing_in(&s, token, "Initech", 30).await;
    // An overdue invoice: the built-in rules keep working next to the failing plugin.
    let due = (Utc::now() - Duration::days(45)).date_naive();
    let items = json!([{ "account": { "id": account }, "number": "INV-9", "amountMinor": 100000, "currency": "EUR", "issuedOn": (due - Duration::days(30)).to_string(), "dueOn": due.to_string(), "status": "OPEN" }]);
    let q = "mutation($i: UpsertInvoicesInput!) { upsertInvoices(input: $i) { rejected } }";
    assert_eq!(s.gql(token, q, json!({ "i": { "items": items } })).await["upsertInvoices"]["rejected"], 0);

    // Behaving, it raises its finding.
    assert_eq!(plugin_risks(&evaluate(&s, token, &account).await, "hostile").len(), 1);

    // Each misbehaviour is a typed failure; the other rules' risks are there all the same.
    for (mode, message) in [
        ("loop", "out of fuel"),
        ("memory", "memory limit"),
        ("recursion", "call stack exhausted"),
        ("panic", "the hostile rule panics on Initech"),
        ("out_of_range", "impact and likelihood must be 1-5"),
    ] {
        s.mutate(
            token,
            "configureRiskRule",
            "rule",
            "key",
            json!({ "ruleKey": "hostile", "params": [{ "key": "mode", "value": { "text": mode } }] }),
        )
        .await;
        let evaluated = evaluate(&s, token, &account).await;
        let failures = evaluated["run"]["failures"].as_array().unwrap();
        assert_eq!(failures.len(), 1, "{mode}: {evaluated}");
        assert_eq!(failures[0]["ruleKey"], "hostile");
        assert!(failures[0]["message"].as_str().unwrap().contains(message), "{mode}: {}", failures[0]);
        assert_eq!(plugin_risks(&evaluated, "invoice_overdue").len(), 1, "{mode}: built-ins still raise");
        assert_eq!(plugin_risks(&evaluated, "hostile").len(), 1, "{mode}: a failing rule clears nothing");
    }

    // A success resets the count of failures in a row.
    let configure = |mode: &'static str| {
        s.mutate(
            token,
            "configureRiskRule",
            "rule",
            "key",
            json!({ "ruleKey": "hostile", "params": [{ "key": "mode", "value": { "text": mode } }] }),
        )
    };
    configure("ok").await;
    assert_eq!(evaluate(&s, token, &account).await["run"]["failureCount"], 0);
    let data = s.gql(token, "{ rulePlugins { consecutiveFailures } }", json!({})).await;
    assert_eq!(data["rulePlugins"][0]["consecutiveFailures"], 0);

    // While alpha's plugin loops on evaluation after evaluation, beta is served as usual.
    configure("loop").await;
    let looping = async {
        let mut last = Value::Null;
        for _ in 0..25 {
            last = evaluate(&s, token, &account).await;
        }
        last
    };
    let serving = async {
        let mut served = 0;
        for i in 0..10 {
            let created = s
                .mutate(
                    &b.admin_token,
                    "createAccount",
                    "account",
                    "name",
                    json!({ "name": format!("Beta {i}"), "tier": "KEY" }),
                )
                .await;
            assert_eq!(created["name"], format!("Beta {i}"));
            served += 1;
        }
        served
    };
    let (last, served) = tokio::join!(looping, serving);
    assert_eq!(served, 10);
    assert_eq!(last["run"]["failureCount"], 1);

    // The 25th failure in a row trips the breaker: switched off, with the reason.
    let data = s.gql(token, PLUGINS, json!({})).await;
    let p = &data["rulePlugins"][0];
    assert_eq!(p["status"], "TRIPPED", "{p}");
    assert_eq!(p["consecutiveFailures"], 25, "{p}");
    assert!(p["tripReason"].as_str().unwrap().contains("out of fuel"), "{p}");
    assert!(p["trippedAt"].is_string());
    let run = &p["runs"][0];
    assert_eq!(run["stat"]["failures"], 1);
    assert_eq!(run["stat"]["fuel"].as_f64(), Some(50_000_000.0), "{run}");
    assert!(run["failures"][0]["message"].as_str().unwrap().contains("out of fuel"));
    let evaluated = evaluate(&s, token, &account).await;
    assert_eq!(evaluated["run"]["failureCount"], 0, "a tripped plugin does not run");

    // Re-enabled (and fixed by configuration), it runs again from a clean slate.
    configure("ok").await;
    let on = s
        .mutate(
            token,
            "setRulePluginEnabled",
            "plugin",
            "status consecutiveFailures tripReason",
            json!({ "id": hostile["id"], "enabled": true }),
        )
        .await;
    assert_eq!(on, json!({ "status": "ENABLED", "consecutiveFailures": 0, "tripReason": null }));
    let evaluated = evaluate(&s, token, &account).await;
    assert_eq!(evaluated["run"]["failureCount"], 0);
    assert_eq!(plugin_risks(&evaluated, "hostile").len(), 1);
    s.stop().await;
}

async fn a_cold_replica_compiles_stored_plugins_ahead_of_use(backend: Backend) {
    use bellwether_rules::plugin::{Limits, PluginHost};
    let Some(s) = TestServer::start(backend).await else { return };
    for slug in ["alpha", "beta"] {
        let t = s.tenant(slug).await;
        upload(&s, &t.admin_token, "renewal_without_buyer").await;
        upload(&s, &t.admin_token, "payment_slowdown").await;
    }
    // Another replica's engine, starting with an empty cache, over the same database.
    let host = PluginHost::new(Limits::default()).unwrap();
    let engine = bellwether_rules::engine::Engine::default().with_plugins(host.clone());
    assert_eq!(engine.warm_plugins(&s.db).await.unwrap(), 4, "two plugins in each of two organisations");
    for name in ["renewal_without_buyer", "payment_slowdown"] {
        assert!(host.cached(&PluginHost::hash(&guests::component(name))).is_some(), "{name} compiled");
    }
    s.stop().await;
}
