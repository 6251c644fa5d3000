//! Relationship: executive contact, going quiet, a lost champion or sponsor, detractors, and
//! the account manager's own assessment (including competitive pressure).

use bellwether_domain::health::facts::{engagement_facts, latest_assessment, survey_facts};
use bellwether_domain::{ContactLevel, ContactRole, RiskCategory};
use chrono::Duration;

use super::{EPSILON, playbooks};
use crate::{
    AccountSnapshot, Evaluation, Evidence, Finding, Input, ParamSpec, Params, Rule, RuleError, RuleMeta, tier_impact,
};

pub struct NoExecutiveContact(RuleMeta);

impl NoExecutiveContact {
    pub fn new() -> Self {
        Self(RuleMeta {
            key: "no_executive_contact".into(),
            name: "No executive contact".into(),
            category: RiskCategory::Relationship,
            description: "Nobody has been in touch with the client's executives for `days` days (or ever, once the \
                          relationship is at least that old)."
                .into(),
            inputs: vec![Input::Interactions, Input::Contacts],
            lookback_days: 400,
            params: vec![ParamSpec::days("days", "Days without executive contact that fire.", 90, 730)],
            auto_resolve: true,
        })
    }
}

impl Rule for NoExecutiveContact {
    fn meta(&self) -> &RuleMeta {
        &self.0
    }

    fn evaluate(&self, s: &AccountSnapshot, p: &Params) -> Result<Evaluation, RuleError> {
        let days = p.days("days");
        let f = engagement_facts(&s.signals.touchpoints, s.as_of);
        let since = f.days_since_by_level.get(&ContactLevel::Executive).copied();
        let mut e = Evaluation::default();
        if let Some(d) = since {
            e.observations.push(Evidence::number("daysSinceExecutiveContact", d as f64));
        }
        // How long the relationship has existed: without that much history, silence proves nothing.
        let known_since = [
            s.account.contract_start,
            Some(s.account.created_at.date_naive()),
            s.signals.touchpoints.iter().map(|t| t.at.date_naive()).min(),
        ]
        .into_iter()
        .flatten()
        .min();
        let relationship_days = known_since.map_or(0, |k| (s.as_of.date_naive() - k).num_days());
        // Without any interaction on record the organisation may simply not log them here: no alarm.
        let any_logged = s.signals.touchpoints.iter().any(|t| t.at <= s.as_of);
        let fires = match since {
            Some(d) => d >= days,
            None => any_logged && relationship_days >= days,
        };
        if !fires {
            return Ok(e);
        }
        let mut evidence = vec![Evidence::number("thresholdDays", days as f64)];
        evidence.extend(since.map(|d| Evidence::number("daysSinceExecutiveContact", d as f64)));
        e.findings.push(Finding {
            key: "executive".into(),
            category: RiskCategory::Relationship,
            title: match since {
                Some(d) => format!("No executive contact for {d} days"),
                None => "No executive contact on record".into(),
            },
            detail: format!(
                "Nobody has spoken with the client's executives {}; schedule an executive business review.",
                since.map_or("at all".to_owned(), |d| format!("for {d} days (threshold {days})"))
            ),
            impact: tier_impact(s.account.tier),
            likelihood: if since.is_none_or(|d| d >= 2 * days) { 4 } else { 3 },
            evidence,
            suggested_playbook: Some(playbooks::EXECUTIVE_REVIEW.into()),
        });
        Ok(e)
    }
}

pub struct GoingQuiet(RuleMeta);

impl GoingQuiet {
    pub fn new() -> Self {
        Self(RuleMeta {
            key: "going_quiet".into(),
            name: "Going quiet".into(),
            category: RiskCategory::Relationship,
            description: "Interactions over the last 90 days run at no more than `ratio` of the account's own \
                          frequency in the 270 days before (the complacency pattern). Needs at least \
                          `min_earlier` interactions per 30 days earlier, and history reaching back 180 days."
                .into(),
            inputs: vec![Input::Interactions],
            lookback_days: 360,
            params: vec![
                ParamSpec::number("ratio", "Recent frequency as a share of the earlier one that fires.", 0.5, 0.0, 1.0),
                ParamSpec::number("min_earlier", "Earlier interactions per 30 days needed at all.", 1.0, 0.1, 100.0),
            ],
            auto_resolve: true,
        })
    }
}

impl Rule for GoingQuiet {
    fn meta(&self) -> &RuleMeta {
        &self.0
    }

    fn evaluate(&self, s: &AccountSnapshot, p: &Params) -> Result<Evaluation, RuleError> {
        let f = engagement_facts(&s.signals.touchpoints, s.as_of);
        let mut e = Evaluation {
            findings: Vec::new(),
            observations: vec![Evidence::number("recentPer30Days", f.recent_per_30d)],
        };
        let Some(earlier) = f.earlier_per_30d else { return Ok(e) };
        e.observations.push(Evidence::number("earlierPer30Days", earlier));
        if earlier < p.number("min_earlier") - EPSILON || f.recent_per_30d > p.number("ratio") * earlier + EPSILON {
            return Ok(e);
        }
        e.findings.push(Finding {
            key: "quiet".into(),
            category: RiskCategory::Relationship,
            title: "The client is going quiet".into(),
            detail: format!(
                "{:.1} interactions per 30 days over the last 90 days against {earlier:.1} before: the relationship is \
                 cooling.",
                f.recent_per_30d
            ),
            impact: tier_impact(s.account.tier),
            likelihood: if f.recent_per_30d <= 0.25 * earlier { 4 } else { 3 },
            evidence: e.observations.clone(),
            suggested_playbook: Some(playbooks::CHECK_IN.into()),
        });
        Ok(e)
    }
}

pub struct SponsorLeft(RuleMeta);

impl SponsorLeft {
    pub fn new() -> Self {
        Self(RuleMeta {
            key: "sponsor_left".into(),
            name: "Champion or sponsor left".into(),
            category: RiskCategory::Relationship,
            description: "A champion or executive sponsor left within the last `within_days` days and nobody in \
                          that role is still there."
                .into(),
            inputs: vec![Input::Contacts],
            lookback_days: 1,
            params: vec![ParamSpec::days("within_days", "Departures older than this no longer fire.", 365, 3650)],
            auto_resolve: true,
        })
    }
}

impl Rule for SponsorLeft {
    fn meta(&self) -> &RuleMeta {
        &self.0
    }

    fn evaluate(&self, s: &AccountSnapshot, p: &Params) -> Result<Evaluation, RuleError> {
        let today = s.as_of.date_naive();
        let window = today - Duration::days(p.days("within_days"));
        let mut e = Evaluation::default();
        for role in [ContactRole::Champion, ContactRole::ExecutiveSponsor] {
            let with_role: Vec<_> = s.contacts.iter().filter(|c| c.role == role).collect();
            // Present at the moment: not departed by then (the departure date makes backtests exact).
            let present = with_role.iter().filter(|c| c.departed_on.map_or(c.active, |d| d > today)).count();
            let left: Vec<_> =
                with_role.iter().filter(|c| c.departed_on.is_some_and(|d| d <= today && d > window)).collect();
            e.observations.push(Evidence::number(&format!("{role}Present"), present as f64));
            if present > 0 || left.is_empty() {
                continue;
            }
            let names: Vec<&str> = left.iter().map(|c| c.name.as_str()).collect();
            let last = left.iter().filter_map(|c| c.departed_on).max().unwrap_or(today);
            e.findings.push(Finding {
                key: role.to_string(),
                category: RiskCategory::Relationship,
                title: format!(
                    "{} left with no replacement",
                    if role == ContactRole::Champion { "Champion" } else { "Executive sponsor" }
                ),
                detail: format!(
                    "{} left on {last} and nobody else holds the {} role: find and win a new one.",
                    names.join(", "),
                    role.as_str().replace('_', " ")
                ),
                impact: tier_impact(s.account.tier),
                likelihood: 4,
                evidence: vec![
                    Evidence::text("role", role.as_str()),
                    Evidence::text("departed", names.join(", ")),
                    Evidence::text("departedOn", last.to_string()),
                ],
                suggested_playbook: Some(playbooks::EXECUTIVE_REVIEW.into()),
            });
        }
        Ok(e)
    }
}

pub struct NpsDetractors(RuleMeta);

impl NpsDetractors {
    pub fn new() -> Self {
        Self(RuleMeta {
            key: "nps_detractor".into(),
            name: "NPS detractor or falling NPS".into(),
            category: RiskCategory::Relationship,
            description: "In the last `window_days` days a respondent was a detractor (0-6), or NPS fell by at least \
                          `fall_points` against the window before."
                .into(),
            inputs: vec![Input::Surveys],
            lookback_days: 360,
            params: vec![
                ParamSpec::days("window_days", "Survey window, in days.", 90, 365),
                ParamSpec::number("fall_points", "NPS drop (points) that fires.", 20.0, 1.0, 200.0),
            ],
            auto_resolve: true,
        })
    }
}

impl Rule for NpsDetractors {
    fn meta(&self) -> &RuleMeta {
        &self.0
    }

    fn evaluate(&self, s: &AccountSnapshot, p: &Params) -> Result<Evaluation, RuleError> {
        let f = survey_facts(&s.signals.surveys, s.as_of, p.days("window_days"));
        let mut e = Evaluation::default();
        let Some(nps) = f.nps else { return Ok(e) };
        e.observations = vec![Evidence::number("nps", nps), Evidence::number("detractors", f.detractors as f64)];
        let fall = f.previous_nps.map(|prev| prev - nps);
        let falling = fall.is_some_and(|d| d >= p.number("fall_points") - EPSILON);
        if f.detractors == 0 && !falling {
            return Ok(e);
        }
        let mut evidence = e.observations.clone();
        evidence.push(Evidence::number("responses", f.nps_responses as f64));
        if let (Some(prev), Some(d)) = (f.previous_nps, fall) {
            evidence.push(Evidence::number("previousNps", prev));
            evidence.push(Evidence::number("fall", d));
        }
        e.findings.push(Finding {
            key: "nps".into(),
            category: RiskCategory::Relationship,
            title: if falling { format!("NPS fell to {nps:.0}") } else { format!("{} NPS detractor(s)", f.detractors) },
            detail: format!(
                "NPS {nps:.0} from {} response(s) in the last {} days, {} detractor(s){}.",
                f.nps_responses,
                p.days("window_days"),
                f.detractors,
                fall.map(|d| format!("; {d:.0} points below the window before")).unwrap_or_default()
            ),
            impact: tier_impact(s.account.tier),
            likelihood: if falling && f.detractors > 0 { 4 } else { 3 },
            evidence,
            suggested_playbook: Some(playbooks::CHECK_IN.into()),
        });
        Ok(e)
    }
}

pub struct PoorAssessment(RuleMeta);

impl PoorAssessment {
    pub fn new() -> Self {
        Self(RuleMeta {
            key: "relationship_assessment".into(),
            name: "Poor relationship or competitive pressure".into(),
            category: RiskCategory::Relationship,
            description: "The latest relationship assessment (no older than `max_age_days`) rates stakeholder \
                          sentiment or strategic alignment at `max_rating` or below (a relationship risk), or \
                          competitive pressure at `min_pressure` or above (a competitive risk). Ratings are 1-5."
                .into(),
            inputs: vec![Input::Assessments],
            lookback_days: 180,
            params: vec![
                ParamSpec::number("max_rating", "Sentiment or alignment ratings at or below this fire.", 2.0, 1.0, 5.0),
                ParamSpec::number("min_pressure", "Competitive pressure at or above this fires.", 4.0, 1.0, 5.0),
                ParamSpec::days("max_age_days", "Assessments older than this are ignored.", 180, 730),
            ],
            auto_resolve: false,
        })
    }
}

impl Rule for PoorAssessment {
    fn meta(&self) -> &RuleMeta {
        &self.0
    }

    fn evaluate(&self, s: &AccountSnapshot, p: &Params) -> Result<Evaluation, RuleError> {
        let mut e = Evaluation::default();
        let Some(a) = latest_assessment(&s.signals.assessments, s.as_of, p.days("max_age_days")) else { return Ok(e) };
        let (sentiment, alignment, pressure) =
            (f64::from(a.stakeholder_sentiment), f64::from(a.strategic_alignment), f64::from(a.competitive_pressure));
        e.observations = vec![
            Evidence::number("stakeholderSentiment", sentiment),
            Evidence::number("strategicAlignment", alignment),
            Evidence::number("competitivePressure", pressure),
            Evidence::text("assessedAt", a.assessed_at.date_naive().to_string()),
        ];
        let max = p.number("max_rating");
        if sentiment <= max || alignment <= max {
            e.findings.push(Finding {
                key: "relationship".into(),
                category: RiskCategory::Relationship,
                title: "Relationship assessed as poor".into(),
                detail: format!(
                    "The assessment of {} rates stakeholder sentiment {sentiment}/5 and strategic alignment \
                     {alignment}/5.",
                    a.assessed_at.date_naive()
                ),
                impact: tier_impact(s.account.tier),
                likelihood: if sentiment.min(alignment) <= 1.0 { 4 } else { 3 },
                evidence: e.observations.clone(),
                suggested_playbook: Some(playbooks::EXECUTIVE_REVIEW.into()),
            });
        }
        if pressure >= p.number("min_pressure") {
            e.findings.push(Finding {
                key: "competition".into(),
                category: RiskCategory::Competitive,
                title: "High competitive pressure".into(),
                detail: format!(
                    "The assessment of {} rates competitive pressure {pressure}/5: a competitor is courting the client.",
                    a.assessed_at.date_naive()
                ),
                impact: tier_impact(s.account.tier),
                likelihood: if pressure >= 5.0 { 4 } else { 3 },
                evidence: e.observations.clone(),
                suggested_playbook: Some(playbooks::EXECUTIVE_REVIEW.into()),
            });
        }
        Ok(e)
    }
}

#[cfg(test)]
mod tests {
    use bellwether_domain::signals::assessments::Assessment;
    use bellwether_domain::signals::surveys::SurveyResponse;
    use bellwether_domain::{AccountId, AssessmentId, OrganisationId, SurveyKind, SurveyResponseId, UserId};

    use super::super::testkit::*;
    use super::*;

    const EXEC: &[ContactLevel] = &[ContactLevel::Executive];
    const OPS: &[ContactLevel] = &[ContactLevel::Operational];

    #[test]
    fn executive_contact_fires_after_ninety_days_or_never_on_an_old_relationship() {
        let rule = NoExecutiveContact::new();
        let p = Params::defaults(rule.meta());
        // (touchpoints, relationship age in days, fires)
        let cases = [
            (vec![touch(90, EXEC)], 730, true), // exactly 90 days
            (vec![touch(89, EXEC)], 730, false),
            (vec![touch(200, EXEC), touch(5, OPS)], 730, true), // only working-level contact lately
            (vec![touch(5, OPS)], 730, true),                   // never an executive
            (vec![touch(5, OPS)], 60, false),                   // too young to tell
            (vec![], 60, false),
        ];
        for (i, (touches, age, fires)) in cases.into_iter().enumerate() {
            let mut s = account();
            s.account.contract_start = Some(day(-age));
            s.account.created_at = at(-age);
            s.signals.touchpoints = touches;
            assert_eq!(!rule.evaluate(&s, &p).unwrap().findings.is_empty(), fires, "case {i}");
        }
    }

    #[test]
    fn going_quiet_compares_with_the_accounts_own_earlier_frequency() {
        let rule = GoingQuiet::new();
        let p = Params::defaults(rule.meta());
        // n touches spread over [from, to) days ago
        let spread =
            |n: i64, from: i64, to: i64| -> Vec<_> { (0..n).map(|i| touch(from + i * (to - from) / n, OPS)).collect() };
        // (touchpoints, fires)
        let cases = [
            ([spread(18, 91, 359), spread(3, 1, 89)].concat(), true), // 2.0 -> 1.0 per 30 days: exactly half
            ([spread(18, 91, 359), spread(4, 1, 89)].concat(), false), // 2.0 -> 1.33
            ([spread(18, 91, 359), vec![]].concat(), true),           // silence
            ([spread(5, 91, 359), vec![]].concat(), false),           // too little earlier contact to judge
            (spread(6, 1, 150), false),                               // history shorter than 180 days
            (vec![], false),
        ];
        for (i, (touches, fires)) in cases.into_iter().enumerate() {
            let mut s = account();
            s.signals.touchpoints = touches;
            assert_eq!(!rule.evaluate(&s, &p).unwrap().findings.is_empty(), fires, "case {i}");
        }
    }

    #[test]
    fn sponsor_left_fires_only_without_a_replacement() {
        let rule = SponsorLeft::new();
        let p = Params::defaults(rule.meta());
        let champion = |left| contact(ContactRole::Champion, ContactLevel::Management, left);
        let sponsor = |left| contact(ContactRole::ExecutiveSponsor, ContactLevel::Executive, left);
        // (contacts, expected finding keys)
        let cases: Vec<(Vec<_>, Vec<&str>)> = vec![
            (vec![champion(Some(10))], vec!["champion"]),
            (vec![champion(Some(10)), champion(None)], vec![]), // replaced
            (vec![champion(Some(400))], vec![]),                // long ago
            (vec![champion(Some(0)), sponsor(Some(3))], vec!["champion", "executive_sponsor"]),
            (vec![champion(None)], vec![]),
            (vec![], vec![]),
        ];
        for (i, (contacts, expected)) in cases.into_iter().enumerate() {
            let mut s = account();
            s.contacts = contacts;
            let got: Vec<String> = rule.evaluate(&s, &p).unwrap().findings.into_iter().map(|f| f.key).collect();
            assert_eq!(got, expected, "case {i}");
        }
        // As of before the departure, the champion was still there.
        let mut s = account();
        s.contacts = vec![champion(Some(10))];
        assert!(rule.evaluate(&s.at(at(-20)), &p).unwrap().findings.is_empty());
    }

    fn nps(score: i32, days_ago: i64) -> SurveyResponse {
        SurveyResponse {
            id: SurveyResponseId::generate(),
            organisation: OrganisationId::generate(),
            account: AccountId::generate(),
            kind: SurveyKind::Nps,
            score,
            contact: None,
            comment: None,
            responded_at: at(-days_ago),
            created_at: at(-days_ago),
        }
    }

    #[test]
    fn nps_fires_on_detractors_or_a_fall() {
        let rule = NpsDetractors::new();
        let p = Params::defaults(rule.meta());
        // (responses, fires)
        let cases = [
            (vec![nps(6, 10)], true),              // a detractor
            (vec![nps(7, 10)], false),             // passive
            (vec![nps(9, 10), nps(8, 10)], false), // NPS 50, no earlier window
            // 100 -> 80 (one passive of five): exactly 20 points
            (vec![nps(10, 100), nps(10, 120), nps(10, 10), nps(10, 11), nps(10, 12), nps(10, 13), nps(8, 14)], true),
            (vec![nps(10, 100), nps(9, 10)], false),
            (vec![nps(3, 200)], false), // outside both windows
            (vec![], false),
        ];
        for (i, (responses, fires)) in cases.into_iter().enumerate() {
            let mut s = account();
            s.signals.surveys = responses;
            assert_eq!(!rule.evaluate(&s, &p).unwrap().findings.is_empty(), fires, "case {i}");
        }
    }

    #[test]
    fn assessment_raises_relationship_and_competitive_findings() {
        let rule = PoorAssessment::new();
        let p = Params::defaults(rule.meta());
        let assessment = |sentiment: i16, alignment: i16, pressure: i16, days_ago: i64| Assessment {
            id: AssessmentId::generate(),
            organisation: OrganisationId::generate(),
            account: AccountId::generate(),
            assessed_by: UserId::generate(),
            assessed_at: at(-days_ago),
            stakeholder_sentiment: sentiment,
            competitive_pressure: pressure,
            strategic_alignment: alignment,
            notes: None,
            created_at: at(-days_ago),
        };
        // (assessments, expected (key, category))
        type Case = (Vec<Assessment>, Vec<(&'static str, RiskCategory)>);
        let cases: Vec<Case> = vec![
            (vec![assessment(2, 4, 2, 10)], vec![("relationship", RiskCategory::Relationship)]), // at the bar
            (vec![assessment(3, 3, 3, 10)], vec![]),
            (vec![assessment(4, 4, 4, 10)], vec![("competition", RiskCategory::Competitive)]),
            (
                vec![assessment(1, 1, 5, 10)],
                vec![("relationship", RiskCategory::Relationship), ("competition", RiskCategory::Competitive)],
            ),
            (vec![assessment(1, 1, 5, 200)], vec![]), // too old
            (vec![assessment(1, 1, 5, 30), assessment(4, 4, 2, 5)], vec![]), // the latest counts
            (vec![], vec![]),
        ];
        for (i, (list, expected)) in cases.into_iter().enumerate() {
            let mut s = account();
            s.signals.assessments = list;
            let got: Vec<(String, RiskCategory)> =
                rule.evaluate(&s, &p).unwrap().findings.into_iter().map(|f| (f.key, f.category)).collect();
            let expected: Vec<(String, RiskCategory)> = expected.into_iter().map(|(k, c)| (k.to_owned(), c)).collect();
            assert_eq!(got, expected, "case {i}");
        }
    }
}
