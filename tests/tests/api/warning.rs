//! Warning quality against the organisation's own history, health as of a past day, and the
//! measures that see silence: scored through the real server.

use bellwether_tests::{Backend, TestServer, on_every_backend};
use chrono::{Duration, NaiveDate, Utc};
use serde_json::{Value, json};

on_every_backend!(warnings_are_measured_against_what_happened);

fn day(days_ago: i64) -> NaiveDate {
    Utc::now().date_naive() - Duration::days(days_ago)
}

fn noon(days_ago: i64) -> String {
    format!("{}T12:00:00Z", day(days_ago))
}

const QUALITY: &str = "query($i: WarningQualityInput!) { warningQuality(input: $i) {
    dates censoredDates accounts observations baseRate
    targets { name ruleKey threshold scorecard { name } observations positives coverage auc warnings precision recall
      liftTopDecile accountsWithOutcome neverWarnedShare medianLeadDays } } }";

async fn warnings_are_measured_against_what_happened(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let t = s.tenant("quality").await;
    let token = &t.admin_token;
    // Two customers in touch every two weeks until now; two who went quiet 330 days ago and
    // churned 120 days later.
    let mut accounts = Vec::new();
    for (name, last_touch, churned) in
        [("Loyal", 1, None), ("Steady", 3, None), ("Gone", 330, Some(210)), ("Lost", 330, Some(210))]
    {
        let a = s
            .mutate(
                token,
                "createAccount",
                "account",
                "id",
                json!({ "name": name, "tier": "KEY", "contractStart": day(500).to_string() }),
            )
            .await;
        let mut d = 400;
        while d >= last_touch {
            s.mutate(
                token,
                "logInteraction",
                "interaction",
                "id",
                json!({ "accountId": a["id"], "kind": "CALL", "occurredAt": noon(d), "summary": "catch-up" }),
            )
            .await;
            d -= 14;
        }
        if let Some(c) = churned {
            s.mutate(
                token,
                "markAccountChurned",
                "account",
                "id",
                json!({ "id": a["id"], "churnedOn": day(c).to_string(), "reason": "went quiet" }),
            )
            .await;
        }
        accounts.push(a["id"].clone());
    }
    let card = s
        .mutate(
            token,
            "createHealthScorecard",
            "scorecard",
            "id name measures { kind curve { value score } }",
            json!({ "name": "Recency", "definition": {
                "measures": [{ "kind": "DAYS_SINCE_ACTIVITY", "weight": 1 }],
                "bands": { "good": 70, "watch": 45 } } }),
        )
        .await;
    // Bad definitions are refused with the offending part named, and store nothing.
    for (measure, field) in [
        (
            json!({ "kind": "TIER", "weight": 1, "scores": [{ "option": "key", "score": 10 }, { "option": "key", "score": 90 }] }),
            "scores",
        ),
        (json!({ "kind": "ANNUAL_VALUE", "weight": 1 }), "curve"),
        (
            json!({ "kind": "TENURE", "weight": 1, "curve": [{ "value": 5, "score": 10 }, { "value": 1, "score": 20 }] }),
            "curve",
        ),
    ] {
        let errors = s
            .mutate_err(
                token,
                "createHealthScorecard",
                "scorecard",
                json!({ "name": "Bad", "definition": {
                "measures": [measure], "bands": { "good": 70, "watch": 45 } } }),
            )
            .await;
        assert_eq!(errors[0]["field"], json!(["input", "definition", "measures", "0", field]), "{errors:?}");
    }
    // The default curve is shown, so a client can draw it.
    assert_eq!(card["measures"][0]["curve"][0], json!({ "value": 0.0, "score": 100.0 }));

    // Observations 300, 270 and 240 days ago (210: the churners are gone; the rest censored
    // or quiet): the churners were 30, 60 and 90 days silent, the others at most 14.
    let input = json!({ "from": day(300).to_string(), "to": day(240).to_string(), "everyDays": 30, "horizonDays": 90,
        "scorecards": [{ "id": card["id"], "threshold": 85 }], "ruleKeys": ["going_quiet"] });
    let q = s.gql(token, QUALITY, json!({ "i": input })).await["warningQuality"].clone();
    assert_eq!(q["dates"], json!([day(300).to_string(), day(270).to_string(), day(240).to_string()]));
    assert_eq!((q["accounts"].clone(), q["observations"].clone()), (json!(4), json!(12)));
    assert_eq!(q["baseRate"], json!(0.5));
    let recency = &q["targets"][0];
    assert_eq!(recency["scorecard"]["name"], "Recency");
    assert_eq!(
        [&recency["auc"], &recency["precision"], &recency["recall"], &recency["coverage"]],
        [&json!(1.0), &json!(1.0), &json!(1.0), &json!(1.0)],
        "{recency}"
    );
    // Every churner warned, the first time 90 days before the churn; top tenth all churners.
    assert_eq!(
        (recency["warnings"].clone(), recency["accountsWithOutcome"].clone(), recency["neverWarnedShare"].clone()),
        (json!(6), json!(2), json!(0.0))
    );
    assert_eq!(recency["medianLeadDays"], json!(90.0));
    assert_eq!(recency["liftTopDecile"], json!(2.0));
    let rule = &q["targets"][1];
    assert_eq!(rule["ruleKey"], "going_quiet");
    assert_eq!(rule["observations"], json!(12));

    // A backtest carries the same figures for the rule and the parameters it tried.
    let bt = "query($i: BacktestRuleInput!) { backtestRule(input: $i) { dates quality(horizonDays: 90) {
        ruleKey observations positives accountsWithOutcome auc } } }";
    let input = json!({ "ruleKey": "going_quiet", "accountIds": accounts, "from": day(300).to_string(),
        "to": day(240).to_string(), "everyDays": 30 });
    let b = s.gql(token, bt, json!({ "i": input })).await["backtestRule"].clone();
    assert_eq!(b["dates"].as_array().unwrap().len(), 3);
    assert_eq!(
        b["quality"],
        json!({ "ruleKey": "going_quiet", "observations": 12, "positives": 6, "accountsWithOutcome": 2,
                "auc": rule["auc"] }),
        "{b}"
    );

    // A threshold nobody falls under: no warnings, every churner never warned.
    let input = json!({ "from": day(300).to_string(), "to": day(240).to_string(), "everyDays": 30,
        "scorecards": [{ "id": card["id"], "threshold": 10 }] });
    let q = s.gql(token, QUALITY, json!({ "i": input })).await["warningQuality"].clone();
    let t0 = &q["targets"][0];
    assert_eq!(
        (t0["warnings"].clone(), t0["precision"].clone(), t0["neverWarnedShare"].clone()),
        (json!(0), Value::Null, json!(1.0))
    );

    // Purchase-shaped outcome: no client activity in the horizon. The two who went quiet had
    // none after each date; the others did. No churn date, so no lead time.
    let input = json!({ "from": day(300).to_string(), "to": day(240).to_string(), "everyDays": 30, "horizonDays": 90,
        "outcome": "INACTIVITY", "scorecards": [{ "id": card["id"], "threshold": 85 }] });
    let q = s.gql(token, QUALITY, json!({ "i": input })).await["warningQuality"].clone();
    let t0 = &q["targets"][0];
    assert_eq!((q["observations"].clone(), t0["positives"].clone()), (json!(12), json!(6)), "{q}");
    assert_eq!(
        (t0["auc"].clone(), t0["recall"].clone(), t0["medianLeadDays"].clone()),
        (json!(1.0), json!(1.0), Value::Null)
    );

    // Dates whose horizon has not passed are censored, not counted as "no churn".
    let input = json!({ "from": day(60).to_string(), "to": day(30).to_string(), "everyDays": 30, "horizonDays": 90,
        "scorecards": [{ "id": card["id"] }] });
    let q = s.gql(token, QUALITY, json!({ "i": input })).await["warningQuality"].clone();
    assert_eq!((q["dates"].clone(), q["observations"].clone()), (json!([]), json!(0)));
    assert_eq!(q["censoredDates"], json!([day(60).to_string(), day(30).to_string()]));

    // Bad input: a clear error naming the field, for each bound.
    for (input, field) in [
        (json!({ "from": day(10).to_string(), "to": day(20).to_string() }), "from"),
        (json!({ "from": day(10).to_string(), "to": day(-1).to_string() }), "to"),
        (json!({ "from": day(100).to_string(), "to": day(10).to_string(), "horizonDays": 0 }), "horizonDays"),
        (json!({ "from": day(1000).to_string(), "to": day(10).to_string(), "everyDays": 1 }), "everyDays"),
        (json!({ "from": day(100).to_string(), "to": day(10).to_string(), "ruleKeys": ["no_such_rule"] }), "ruleKeys"),
    ] {
        let (status, body) = s.post(Some(token), QUALITY, json!({ "i": input })).await;
        assert_eq!(status, 200);
        let e = body["errors"][0].to_string();
        assert!(e.contains("BAD_USER_INPUT") && e.contains(field), "{field}: {body}");
    }

    // A custom attribute reaches the score through an attribute measure.
    s.mutate(
        token,
        "defineAccountAttribute",
        "attribute",
        "key",
        json!({ "key": "contract", "name": "Contract", "kind": "ENUMERATION", "options": ["monthly", "two_year"] }),
    )
    .await;
    let q =
        "mutation($i: SetAccountAttributesInput!) { setAccountAttributes(input: $i) { accepted updated rejected } }";
    let set = s
        .gql(
            token,
            q,
            json!({ "i": { "items": [
        { "account": { "id": accounts[0] }, "values": [{ "key": "contract", "option": "two_year" }] },
        { "account": { "id": accounts[1] }, "values": [{ "key": "contract", "option": "monthly" }] } ] } }),
        )
        .await;
    assert_eq!(set["setAccountAttributes"]["rejected"], json!(0), "{set}");
    let contract = s
        .mutate(
            token,
            "createHealthScorecard",
            "scorecard",
            "id",
            json!({ "name": "Contract", "definition": {
            "measures": [{ "kind": "ATTRIBUTE", "weight": 1, "attribute": "contract",
                           "scores": [{ "option": "monthly", "score": 30 }, { "option": "two_year", "score": 90 }] }],
            "bands": { "good": 70, "watch": 45 } } }),
        )
        .await;
    let q =
        "query($id: ID!, $card: ID) { node(id: $id) { ... on Account { health(scorecardId: $card) { score band } } } }";
    for (account, score, band) in [(&accounts[0], 90.0, "GOOD"), (&accounts[1], 30.0, "POOR")] {
        let h = s.gql(token, q, json!({ "id": account, "card": contract["id"] })).await;
        assert_eq!(h["node"]["health"], json!({ "score": score, "band": band }), "{h}");
    }
    // An account without the attribute has no score with it.
    let h = s.gql(token, q, json!({ "id": accounts[2], "card": contract["id"] })).await;
    assert_eq!(h["node"]["health"]["score"], Value::Null, "{h}");

    // Health as of a past day sees what was known then: "Gone" 90 days silent 240 days ago.
    let q = "query($id: ID!, $card: ID, $d: Date) { node(id: $id) { ... on Account {
        health(scorecardId: $card, asOf: $d) { score computedAt measures { value detail } } } } }";
    let h = s.gql(token, q, json!({ "id": accounts[2], "card": card["id"], "d": day(240).to_string() })).await;
    let h = &h["node"]["health"];
    assert_eq!(h["measures"][0]["value"], json!(90.0), "{h}");
    assert_eq!(h["score"], json!(48.0));
    // Then it was healthy.
    let h = s.gql(token, q, json!({ "id": accounts[2], "card": card["id"], "d": day(335).to_string() })).await;
    assert!(h["node"]["health"]["score"].as_f64().unwrap() > 90.0, "{h}");
    let (_, body) = s.post(Some(token), q, json!({ "id": accounts[2], "d": day(-2).to_string() })).await;
    let e = body["errors"][0].to_string();
    assert!(e.contains("BAD_USER_INPUT") && e.contains("asOf"), "{body}");
}
