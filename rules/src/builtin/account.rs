//! The account itself: renewal approaching while health is poor, and an overloaded manager.

use bellwether_domain::RiskCategory;

use super::{EPSILON, playbooks};
use crate::{
    AccountSnapshot, Evaluation, Evidence, Finding, Input, ParamSpec, Params, Rule, RuleError, RuleMeta, tier_impact,
};

pub struct RenewalAtRisk(RuleMeta);

impl RenewalAtRisk {
    pub fn new() -> Self {
        Self(RuleMeta {
            key: "renewal_at_risk".into(),
            name: "Renewal at risk".into(),
            category: RiskCategory::Strategic,
            description: "The renewal date is within `days` days while the health score is below `max_score`.".into(),
            inputs: vec![Input::Health],
            lookback_days: 1,
            params: vec![
                ParamSpec::days("days", "Days before renewal from which the rule watches.", 90, 730),
                ParamSpec::number("max_score", "Health scores below this count as poor.", 50.0, 1.0, 100.0),
            ],
            auto_resolve: true,
        })
    }
}

impl Rule for RenewalAtRisk {
    fn meta(&self) -> &RuleMeta {
        &self.0
    }

    fn evaluate(&self, s: &AccountSnapshot, p: &Params) -> Result<Evaluation, RuleError> {
        let mut e = Evaluation::default();
        let (Some(renewal), Some(health)) = (s.account.renewal_date, &s.health) else { return Ok(e) };
        let days_left = (renewal - s.as_of.date_naive()).num_days();
        e.observations =
            vec![Evidence::number("daysToRenewal", days_left as f64), Evidence::number("healthScore", health.score)];
        if days_left < 0 || days_left > p.days("days") || health.score >= p.number("max_score") - EPSILON {
            return Ok(e);
        }
        e.findings.push(Finding {
            key: renewal.to_string(),
            category: RiskCategory::Strategic,
            title: format!("Renewal in {days_left} days with health {:.0}", health.score),
            detail: format!(
                "The contract renews on {renewal} ({days_left} days) and the health score is {:.1} ({}), below {}.",
                health.score,
                health.band,
                p.number("max_score")
            ),
            impact: tier_impact(s.account.tier),
            likelihood: if days_left <= 30 { 5 } else { 4 },
            evidence: vec![
                Evidence::text("renewalDate", renewal.to_string()),
                Evidence::number("daysToRenewal", days_left as f64),
                Evidence::number("healthScore", health.score),
                Evidence::number("annualValueMinor", s.account.annual_value.amount_minor as f64),
            ],
            suggested_playbook: Some(playbooks::EXECUTIVE_REVIEW.into()),
        });
        Ok(e)
    }
}

pub struct ManagerOverCapacity(RuleMeta);

impl ManagerOverCapacity {
    pub fn new() -> Self {
        Self(RuleMeta {
            key: "manager_over_capacity".into(),
            name: "Account manager over capacity".into(),
            category: RiskCategory::Operational,
            description: "The account's manager looks after more active accounts than their capacity (or \
                          `default_capacity` when none is set). Uses the current assignment, also in backtests."
                .into(),
            inputs: vec![Input::ManagerLoad],
            lookback_days: 1,
            params: vec![ParamSpec::number(
                "default_capacity",
                "Capacity assumed for managers without one.",
                10.0,
                1.0,
                1000.0,
            )],
            auto_resolve: true,
        })
    }
}

impl Rule for ManagerOverCapacity {
    fn meta(&self) -> &RuleMeta {
        &self.0
    }

    fn evaluate(&self, s: &AccountSnapshot, p: &Params) -> Result<Evaluation, RuleError> {
        let mut e = Evaluation::default();
        let Some(m) = &s.manager else { return Ok(e) };
        let capacity = m.capacity.map_or(p.number("default_capacity"), f64::from);
        let load = m.active_accounts as f64;
        e.observations = vec![Evidence::number("activeAccounts", load), Evidence::number("capacity", capacity)];
        if load <= capacity {
            return Ok(e);
        }
        e.findings.push(Finding {
            key: m.user.to_string(),
            category: RiskCategory::Operational,
            title: format!("{} manages {} accounts (capacity {capacity})", m.name, m.active_accounts),
            detail: format!(
                "{} looks after {} active accounts against a capacity of {capacity}: every account they hold gets \
                 less attention.",
                m.name, m.active_accounts
            ),
            impact: tier_impact(s.account.tier),
            likelihood: if load >= 1.5 * capacity { 3 } else { 2 },
            evidence: vec![
                Evidence::text("manager", m.name.clone()),
                Evidence::number("activeAccounts", load),
                Evidence::number("capacity", capacity),
            ],
            suggested_playbook: None,
        });
        Ok(e)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    #[test]
    fn renewal_fires_within_the_window_when_health_is_poor() {
        let rule = RenewalAtRisk::new();
        let p = Params::defaults(rule.meta());
        // (renewal in days, health score, expected likelihood; None = silent)
        let cases: Vec<(Option<i64>, Option<f64>, Option<i32>)> = vec![
            (Some(90), Some(40.0), Some(4)), // exactly 90 days
            (Some(91), Some(40.0), None),
            (Some(20), Some(40.0), Some(5)),
            (Some(20), Some(50.0), None), // exactly at the bar is not poor
            (Some(20), Some(49.9), Some(5)),
            (Some(-1), Some(10.0), None), // renewal passed
            (Some(20), None, None),       // no health yet
            (None, Some(10.0), None),     // no renewal date
        ];
        for (i, (renewal, score, expected)) in cases.into_iter().enumerate() {
            let mut s = account();
            s.account.renewal_date = renewal.map(day);
            s.health = score.and_then(health);
            let e = rule.evaluate(&s, &p).unwrap();
            assert_eq!(e.findings.first().map(|f| f.likelihood), expected, "case {i}");
        }
    }

    #[test]
    fn capacity_fires_only_above_capacity() {
        let rule = ManagerOverCapacity::new();
        let p = Params::defaults(rule.meta());
        // (capacity, active accounts, expected likelihood)
        let cases: Vec<(Option<i32>, u64, Option<i32>)> = vec![
            (Some(5), 5, None), // at capacity is fine
            (Some(5), 6, Some(2)),
            (Some(4), 6, Some(3)),
            (None, 10, None), // default capacity 10
            (None, 11, Some(2)),
        ];
        for (i, (capacity, active, expected)) in cases.into_iter().enumerate() {
            let mut s = account();
            s.manager = manager(capacity, active);
            let e = rule.evaluate(&s, &p).unwrap();
            assert_eq!(e.findings.first().map(|f| f.likelihood), expected, "case {i}");
        }
        assert!(rule.evaluate(&account(), &p).unwrap().findings.is_empty(), "no manager");
    }
}
