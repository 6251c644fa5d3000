//! Usage drop: a usage metric well below the account's own baseline.

use bellwether_domain::RiskCategory;
use bellwether_domain::health::facts::metric_change;

use super::{EPSILON, pct, playbooks};
use crate::{
    AccountSnapshot, Evaluation, Evidence, Finding, Input, ParamSpec, Params, Rule, RuleError, RuleMeta, tier_impact,
};

pub struct UsageDrop(RuleMeta);

impl UsageDrop {
    pub fn new() -> Self {
        Self(RuleMeta {
            key: "usage_drop".into(),
            name: "Usage drop".into(),
            category: RiskCategory::Operational,
            description: "A usage metric's level over the recent window is down by at least `drop` against the \
                          account's own baseline (the window before it). Silent until the baseline covers half its \
                          period."
                .into(),
            inputs: vec![Input::Metrics],
            lookback_days: 120,
            params: vec![
                ParamSpec::text("metric", "Key of the usage metric to watch.", "usage.active_users"),
                ParamSpec::number("drop", "Relative drop that fires (0.15 = 15%).", 0.15, 0.01, 1.0),
                ParamSpec::days("window_days", "Recent window, in days.", 30, 365),
                ParamSpec::days("baseline_days", "Baseline window before it, in days.", 90, 730),
            ],
            auto_resolve: true,
        })
    }
}

impl Rule for UsageDrop {
    fn meta(&self) -> &RuleMeta {
        &self.0
    }

    fn metrics(&self, params: &Params) -> Vec<String> {
        vec![params.text("metric").to_owned()]
    }

    fn lookback_days(&self, params: &Params) -> i64 {
        params.days("window_days") + params.days("baseline_days") + 1
    }

    fn evaluate(&self, s: &AccountSnapshot, p: &Params) -> Result<Evaluation, RuleError> {
        let metric = p.text("metric");
        let Some(series) = s.signals.metrics.get(metric) else { return Ok(Evaluation::default()) };
        let Some(c) = metric_change(series, s.as_of, p.days("window_days"), p.days("baseline_days")) else {
            return Ok(Evaluation::default());
        };
        let evidence = vec![
            Evidence::text("metric", metric),
            Evidence::number("change", c.change),
            Evidence::number("current", c.current),
            Evidence::number("baseline", c.baseline),
            Evidence::number("threshold", -p.number("drop")),
        ];
        let drop = p.number("drop");
        let mut e = Evaluation { findings: Vec::new(), observations: evidence.clone() };
        if c.change <= -drop + EPSILON {
            e.findings.push(Finding {
                key: metric.to_owned(),
                category: RiskCategory::Operational,
                title: format!("{metric} down {} against its baseline", pct(-c.change)),
                detail: format!(
                    "Over the last {} days {metric} averaged {:.2} against {:.2} in the {} days before: a drop of {} \
                     (threshold {}).",
                    p.days("window_days"),
                    c.current,
                    c.baseline,
                    p.days("baseline_days"),
                    pct(-c.change),
                    pct(drop)
                ),
                impact: tier_impact(s.account.tier),
                likelihood: if c.change <= -2.0 * drop + EPSILON { 4 } else { 3 },
                evidence,
                suggested_playbook: Some(playbooks::CHECK_IN.into()),
            });
        }
        Ok(e)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    #[test]
    fn fires_on_a_drop_at_or_beyond_the_threshold_only_with_enough_history() {
        let rule = UsageDrop::new();
        let p = Params::defaults(rule.meta());
        let level = |recent: f64| move |d: i64| if d > -30 { recent } else { 100.0 };
        // (first day of history, recent level, expected likelihood; None = silent)
        let cases: Vec<(i64, f64, Option<i32>)> = vec![
            (-119, 85.0, Some(3)), // exactly -15%
            (-119, 85.1, None),    // -14.9%
            (-119, 60.0, Some(4)), // -40%: twice the threshold
            (-119, 100.0, None),   // flat
            (-119, 130.0, None),   // growth
            (-49, 50.0, None),     // baseline covers only 20 of 90 days
            (-10, 0.0, None),      // only recent data
        ];
        for (i, (from, recent, expected)) in cases.into_iter().enumerate() {
            let mut s = account();
            s.signals.metrics.insert("usage.active_users".into(), daily(from, 0, level(recent)));
            let e = rule.evaluate(&s, &p).unwrap();
            assert_eq!(e.findings.first().map(|f| f.likelihood), expected, "case {i}");
            if let Some(f) = e.findings.first() {
                assert_eq!(f.key, "usage.active_users");
                assert_eq!(f.impact, 4, "key tier");
                assert!(f.evidence.iter().any(|e| e.name == "change"));
            }
        }
    }

    #[test]
    fn watches_the_configured_metric_and_threshold() {
        let rule = UsageDrop::new();
        let mut s = account();
        s.signals.metrics.insert("usage.logins".into(), daily(-119, 0, |d| if d > -30 { 90.0 } else { 100.0 }));
        let defaults = Params::defaults(rule.meta());
        assert!(rule.evaluate(&s, &defaults).unwrap().findings.is_empty(), "other metric");
        let overrides = [
            ("metric".to_owned(), crate::ParamValue::Text("usage.logins".into())),
            ("drop".to_owned(), crate::ParamValue::Number(0.1)),
        ]
        .into();
        let p = Params::resolve(rule.meta(), &overrides).unwrap();
        assert_eq!(rule.evaluate(&s, &p).unwrap().findings.len(), 1);
        assert_eq!(rule.metrics(&p), vec!["usage.logins".to_owned()]);
    }
}
