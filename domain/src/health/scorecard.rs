//! Health scorecards: a weighted set of measures over the derived facts, with bands. Pure:
//! `evaluate` takes a snapshot and a moment and explains every number it produces.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::facts::{self, Snapshot};
use crate::{ContactLevel, HealthBand, MetricDirection};

/// What a measure looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeasureKind {
    /// A usage metric now against the account's own baseline.
    UsageTrend,
    /// Critical tickets: open, new this week, and their surge.
    SupportLoad,
    /// How overdue the open invoices are.
    PaymentBehaviour,
    /// NPS and CSAT over the last 180 days.
    NpsCsat,
    /// The latest relationship assessment.
    RelationshipHealth,
    /// How recently the account was in touch, executives especially.
    EngagementRecency,
}

impl MeasureKind {
    pub fn label(self) -> &'static str {
        match self {
            Self::UsageTrend => "Usage trend",
            Self::SupportLoad => "Support load",
            Self::PaymentBehaviour => "Payment behaviour",
            Self::NpsCsat => "NPS and CSAT",
            Self::RelationshipHealth => "Relationship health",
            Self::EngagementRecency => "Engagement recency",
        }
    }
}

/// One weighted measure of a scorecard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeasureSpec {
    pub kind: MeasureKind,
    pub weight: f64,
    /// The metric key, for usage trends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// Recent window in days, for usage trends (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_days: Option<i64>,
    /// Baseline window in days before the recent one, for usage trends (default 90).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_days: Option<i64>,
}

/// Score thresholds: at least `good` is GOOD, at least `watch` is WATCH, below is POOR.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bands {
    pub good: f64,
    pub watch: f64,
}

/// Most measures one scorecard may have.
pub const MAX_MEASURES: usize = 32;

/// A scorecard's definition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Definition {
    pub measures: Vec<MeasureSpec>,
    pub bands: Bands,
}

impl Definition {
    /// The scorecard every organisation starts with.
    pub fn standard() -> Self {
        let m = |kind, weight| MeasureSpec { kind, weight, metric: None, window_days: None, baseline_days: None };
        Self {
            measures: vec![
                MeasureSpec {
                    metric: Some("usage.active_users".into()),
                    window_days: Some(30),
                    baseline_days: Some(90),
                    ..m(MeasureKind::UsageTrend, 25.0)
                },
                m(MeasureKind::SupportLoad, 20.0),
                m(MeasureKind::PaymentBehaviour, 15.0),
                m(MeasureKind::NpsCsat, 15.0),
                m(MeasureKind::RelationshipHealth, 15.0),
                m(MeasureKind::EngagementRecency, 10.0),
            ],
            bands: Bands { good: 70.0, watch: 45.0 },
        }
    }

    /// Checks the definition; messages name the offending part.
    pub fn check(&self) -> Result<(), Vec<(Vec<String>, String)>> {
        let mut problems = Vec::new();
        let mut push = |path: Vec<String>, m: &str| problems.push((path, m.to_owned()));
        if self.measures.is_empty() {
            push(vec!["measures".into()], "needs at least one measure");
        }
        if self.measures.len() > MAX_MEASURES {
            push(vec!["measures".into()], &format!("at most {MAX_MEASURES} measures"));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, m) in self.measures.iter().enumerate() {
            let at = |f: &str| vec!["measures".to_owned(), i.to_string(), f.to_owned()];
            if !(m.weight.is_finite() && m.weight > 0.0 && m.weight <= 100.0) {
                push(at("weight"), "must be greater than 0 and at most 100");
            }
            if !seen.insert((m.kind, m.metric.clone())) {
                push(at("kind"), "the same measure appears twice");
            }
            match (m.kind, &m.metric) {
                (MeasureKind::UsageTrend, None) => push(at("metric"), "a usage trend needs a metric key"),
                (MeasureKind::UsageTrend, Some(_)) => {}
                (_, Some(_)) => push(at("metric"), "only usage trends take a metric"),
                _ => {}
            }
            if m.window_days.is_some_and(|d| !(1..=365).contains(&d)) {
                push(at("windowDays"), "must be between 1 and 365");
            }
            if m.baseline_days.is_some_and(|d| !(7..=730).contains(&d)) {
                push(at("baselineDays"), "must be between 7 and 730");
            }
        }
        let b = &self.bands;
        if !(b.watch.is_finite() && b.good.is_finite() && 0.0 <= b.watch && b.watch < b.good && b.good <= 100.0) {
            push(vec!["bands".into()], "needs 0 <= watch < good <= 100");
        }
        if problems.is_empty() { Ok(()) } else { Err(problems) }
    }

    /// The band a score falls in.
    pub fn band(&self, score: f64) -> HealthBand {
        if score >= self.bands.good {
            HealthBand::Good
        } else if score >= self.bands.watch {
            HealthBand::Watch
        } else {
            HealthBand::Poor
        }
    }
}

/// One named number behind a measure.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub name: String,
    pub value: f64,
}

/// A measure's result, with everything needed to explain it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeasureResult {
    pub kind: MeasureKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    pub label: String,
    /// The headline raw value (e.g. -0.18 for an 18% usage drop); `None` without data.
    pub value: Option<f64>,
    /// 0-100; `None` without data (the measure then does not count).
    pub score: Option<f64>,
    /// The configured weight.
    pub weight: f64,
    /// Share of the total score this measure carries after leaving out measures without data.
    pub effective_weight: f64,
    /// Points this measure adds to the total score.
    pub contribution: f64,
    /// Why: a sentence.
    pub detail: String,
    pub evidence: Vec<Evidence>,
}

/// A scorecard's result for one account at one moment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// 0-100, or `None` when no measure had data.
    pub score: Option<f64>,
    pub band: Option<HealthBand>,
    pub measures: Vec<MeasureResult>,
}

/// Linear interpolation through `(x, y)` points sorted by x, flat beyond the ends.
fn curve(x: f64, points: &[(f64, f64)]) -> f64 {
    let (first, last) = (points[0], points[points.len() - 1]);
    if x <= first.0 {
        return first.1;
    }
    if x >= last.0 {
        return last.1;
    }
    for w in points.windows(2) {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        if x <= x1 {
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0);
        }
    }
    last.1
}

fn ev(name: &str, value: f64) -> Evidence {
    Evidence { name: name.into(), value }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// (value, score, detail, evidence) for one measure, or `None` without data.
fn measure(spec: &MeasureSpec, snapshot: &Snapshot, as_of: DateTime<Utc>) -> Option<(f64, f64, String, Vec<Evidence>)> {
    match spec.kind {
        MeasureKind::UsageTrend => {
            let key = spec.metric.as_deref()?;
            let series = snapshot.metrics.get(key)?;
            let (window, baseline) = (spec.window_days.unwrap_or(30), spec.baseline_days.unwrap_or(90));
            let c = facts::metric_change(series, as_of, window, baseline)?;
            let good_direction =
                if series.direction == Some(MetricDirection::LowerIsBetter) { -c.change } else { c.change };
            let score = curve(good_direction, &[(-0.40, 0.0), (-0.15, 40.0), (0.0, 80.0), (0.10, 100.0)]);
            let detail = format!(
                "{key}: {:+.1}% over the last {window} days against the {baseline} days before",
                c.change * 100.0
            );
            Some((
                c.change,
                score,
                detail,
                vec![ev("current", c.current), ev("baseline", c.baseline), ev("change", c.change)],
            ))
        }
        MeasureKind::SupportLoad => {
            let f = facts::ticket_facts(&snapshot.tickets, as_of);
            if !f.any {
                return None;
            }
            let surge = f.critical_change.is_some_and(|c| c >= 0.2) && f.critical_last_7d >= 2;
            let score = (100.0
                - 20.0 * f.open_critical as f64
                - 10.0 * f.critical_last_7d as f64
                - if surge { 10.0 } else { 0.0 })
            .clamp(0.0, 100.0);
            let detail = format!(
                "{} critical ticket(s) open, {} opened this week ({} the week before)",
                f.open_critical, f.critical_last_7d, f.critical_prev_7d
            );
            let mut evidence = vec![
                ev("openCritical", f.open_critical as f64),
                ev("criticalLast7Days", f.critical_last_7d as f64),
                ev("criticalPrevious7Days", f.critical_prev_7d as f64),
                ev("openTickets", f.open_total as f64),
            ];
            if let Some(d) = f.oldest_open_critical_days {
                evidence.push(ev("oldestOpenCriticalDays", d as f64));
            }
            Some((f.open_critical as f64, score, detail, evidence))
        }
        MeasureKind::PaymentBehaviour => {
            let f = facts::invoice_facts(&snapshot.invoices, as_of.date_naive());
            if !f.any {
                return None;
            }
            let score = curve(f.max_days_overdue as f64, &[(0.0, 100.0), (30.0, 50.0), (60.0, 20.0), (90.0, 0.0)]);
            let overdue: usize = f.overdue_buckets.iter().sum();
            let detail = if overdue == 0 {
                "no overdue invoices".to_owned()
            } else {
                format!("{overdue} overdue invoice(s), the oldest {} days past due", f.max_days_overdue)
            };
            Some((
                f.max_days_overdue as f64,
                score,
                detail,
                vec![
                    ev("maxDaysOverdue", f.max_days_overdue as f64),
                    ev("overdueInvoices", overdue as f64),
                    ev("overdueAmountMinor", f.overdue_amounts.iter().sum::<i64>() as f64),
                    ev("openInvoices", f.open as f64),
                ],
            ))
        }
        MeasureKind::NpsCsat => {
            let f = facts::survey_facts(&snapshot.surveys, as_of, 180);
            let nps_score = f.nps.map(|n| (n + 100.0) / 2.0);
            let csat_score = f.csat.map(|c| (c - 1.0) / 4.0 * 100.0);
            let score = match (nps_score, csat_score) {
                (Some(a), Some(b)) => (a + b) / 2.0,
                (Some(a), None) | (None, Some(a)) => a,
                (None, None) => return None,
            };
            let mut evidence = Vec::new();
            let mut parts = Vec::new();
            if let Some(n) = f.nps {
                evidence.push(ev("nps", n));
                evidence.push(ev("npsResponses", f.nps_responses as f64));
                evidence.push(ev("detractors", f.detractors as f64));
                parts.push(format!("NPS {n:.0} from {} response(s)", f.nps_responses));
            }
            if let Some(p) = f.previous_nps {
                evidence.push(ev("previousNps", p));
            }
            if let Some(c) = f.csat {
                evidence.push(ev("csat", c));
                parts.push(format!("CSAT {c:.1} from {} response(s)", f.csat_responses));
            }
            Some((f.nps.or(f.csat).unwrap_or_default(), score, parts.join(", "), evidence))
        }
        MeasureKind::RelationshipHealth => {
            let a = facts::latest_assessment(&snapshot.assessments, as_of, 365)?;
            let mean = (f64::from(a.stakeholder_sentiment) + f64::from(a.strategic_alignment) + 6.0
                - f64::from(a.competitive_pressure))
                / 3.0;
            let score = (mean - 1.0) / 4.0 * 100.0;
            let detail = format!(
                "assessed {} days ago: sentiment {}, alignment {}, competitive pressure {}",
                (as_of - a.assessed_at).num_days(),
                a.stakeholder_sentiment,
                a.strategic_alignment,
                a.competitive_pressure
            );
            Some((
                mean,
                score,
                detail,
                vec![
                    ev("stakeholderSentiment", f64::from(a.stakeholder_sentiment)),
                    ev("strategicAlignment", f64::from(a.strategic_alignment)),
                    ev("competitivePressure", f64::from(a.competitive_pressure)),
                ],
            ))
        }
        MeasureKind::EngagementRecency => {
            let f = facts::engagement_facts(&snapshot.touchpoints, as_of);
            let days = f.days_since_last?;
            let executive = f.days_since_by_level.get(&ContactLevel::Executive).copied();
            let mut score = curve(days as f64, &[(14.0, 100.0), (30.0, 75.0), (60.0, 40.0), (120.0, 0.0)]);
            if executive.is_none_or(|d| d > 90) {
                score = (score - 20.0).max(0.0);
            }
            let detail = match executive {
                Some(e) => format!("last interaction {days} days ago, last executive contact {e} days ago"),
                None => format!("last interaction {days} days ago, no executive contact on record"),
            };
            let mut evidence = vec![
                ev("daysSinceLastInteraction", days as f64),
                ev("interactionsPer30DaysRecent", round2(f.recent_per_30d)),
            ];
            if let Some(e) = executive {
                evidence.push(ev("daysSinceExecutiveContact", e as f64));
            }
            if let Some(earlier) = f.earlier_per_30d {
                evidence.push(ev("interactionsPer30DaysEarlier", round2(earlier)));
            }
            Some((days as f64, score, detail, evidence))
        }
    }
}

/// Scores a snapshot with a scorecard as of `as_of`.
pub fn evaluate(definition: &Definition, snapshot: &Snapshot, as_of: DateTime<Utc>) -> Evaluation {
    let raw: Vec<_> = definition.measures.iter().map(|m| (m, measure(m, snapshot, as_of))).collect();
    let total: f64 = raw.iter().filter(|(_, r)| r.is_some()).map(|(m, _)| m.weight).sum();
    let measures: Vec<MeasureResult> = raw
        .into_iter()
        .map(|(m, r)| {
            let label = match &m.metric {
                Some(k) => format!("{} ({k})", m.kind.label()),
                None => m.kind.label().to_owned(),
            };
            match r {
                Some((value, score, detail, evidence)) => {
                    let share = m.weight / total;
                    MeasureResult {
                        kind: m.kind,
                        metric: m.metric.clone(),
                        label,
                        value: Some(value),
                        score: Some(round2(score)),
                        weight: m.weight,
                        effective_weight: (share * 10_000.0).round() / 10_000.0,
                        contribution: round2(score * share),
                        detail,
                        evidence,
                    }
                }
                None => MeasureResult {
                    kind: m.kind,
                    metric: m.metric.clone(),
                    label,
                    value: None,
                    score: None,
                    weight: m.weight,
                    effective_weight: 0.0,
                    contribution: 0.0,
                    detail: "no data yet: this measure does not count".into(),
                    evidence: Vec::new(),
                },
            }
        })
        .collect();
    let score = (total > 0.0).then(|| round2(measures.iter().map(|m| m.contribution).sum::<f64>().clamp(0.0, 100.0)));
    Evaluation { score, band: score.map(|s| definition.band(s)), measures }
}

/// What moved between two evaluations of the same scorecard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub previous_score: Option<f64>,
    pub previous_band: Option<HealthBand>,
    pub score_delta: Option<f64>,
    /// Per measure, largest movement first; unchanged measures are left out.
    pub measures: Vec<MeasureChange>,
}

/// How one measure moved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeasureChange {
    pub label: String,
    pub previous_score: Option<f64>,
    pub score: Option<f64>,
    pub contribution_delta: f64,
}

/// Compares an evaluation with the previous one.
pub fn compare(previous: &Evaluation, current: &Evaluation) -> Change {
    let mut measures: Vec<MeasureChange> = current
        .measures
        .iter()
        .filter_map(|m| {
            let before = previous.measures.iter().find(|p| p.kind == m.kind && p.metric == m.metric);
            let (prev_score, prev_contribution) = before.map_or((None, 0.0), |p| (p.score, p.contribution));
            let delta = round2(m.contribution - prev_contribution);
            (delta != 0.0 || prev_score != m.score).then(|| MeasureChange {
                label: m.label.clone(),
                previous_score: prev_score,
                score: m.score,
                contribution_delta: delta,
            })
        })
        .collect();
    measures.sort_by(|a, b| b.contribution_delta.abs().total_cmp(&a.contribution_delta.abs()));
    Change {
        previous_score: previous.score,
        previous_band: previous.band,
        score_delta: match (previous.score, current.score) {
            (Some(p), Some(c)) => Some(round2(c - p)),
            _ => None,
        },
        measures,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::facts::{Series, Touchpoint};
    use crate::{AccountId, AssessmentId, MetricAggregation, OrganisationId, UserId};
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 30, 12, 0, 0).unwrap()
    }

    fn usage(recent: f64) -> Snapshot {
        let points = (0..120).map(|d| (now() - Duration::days(d), if d < 30 { recent } else { 100.0 })).rev().collect();
        let mut s = Snapshot::default();
        s.metrics.insert(
            "usage.active_users".into(),
            Series {
                aggregation: Some(MetricAggregation::Average),
                direction: Some(MetricDirection::HigherIsBetter),
                points,
            },
        );
        s
    }

    #[test]
    fn curves_interpolate_and_clamp() {
        let pts = [(-0.40, 0.0), (-0.15, 40.0), (0.0, 80.0), (0.10, 100.0)];
        for (x, y) in
            [(-1.0, 0.0), (-0.40, 0.0), (-0.15, 40.0), (-0.075, 60.0), (0.0, 80.0), (0.05, 90.0), (5.0, 100.0)]
        {
            assert!((curve(x, &pts) - y).abs() < 1e-9, "{x}");
        }
    }

    #[test]
    fn measures_without_data_do_not_count() {
        let def = Definition::standard();
        let e = evaluate(&def, &Snapshot::default(), now());
        assert_eq!((e.score, e.band), (None, None));
        assert!(e.measures.iter().all(|m| m.score.is_none() && m.contribution == 0.0));

        // Only usage has data: it carries the whole score.
        let e = evaluate(&def, &usage(85.0), now());
        assert_eq!(e.score, Some(40.0), "a 15% drop scores 40");
        assert_eq!(e.band, Some(HealthBand::Poor));
        let u = &e.measures[0];
        assert_eq!((u.effective_weight, u.contribution), (1.0, 40.0));
        assert!(u.detail.contains("-15.0%"), "{}", u.detail);
    }

    #[test]
    fn weights_combine_and_bands_apply() {
        let mut s = usage(100.0); // flat usage: 80
        s.assessments.push(crate::signals::assessments::Assessment {
            id: AssessmentId::generate(),
            organisation: OrganisationId::generate(),
            account: AccountId::generate(),
            assessed_by: UserId::generate(),
            assessed_at: now() - Duration::days(10),
            stakeholder_sentiment: 5,
            competitive_pressure: 1,
            strategic_alignment: 5,
            notes: None,
            created_at: now(),
        }); // relationship: 100
        s.touchpoints.push(Touchpoint { at: now() - Duration::days(3), levels: vec![ContactLevel::Executive] }); // engagement: 100
        let e = evaluate(&Definition::standard(), &s, now());
        // Weights 25, 15, 10 over 50: 80 * 0.5 + 100 * 0.3 + 100 * 0.2 = 90.
        assert_eq!(e.score, Some(90.0));
        assert_eq!(e.band, Some(HealthBand::Good));
        let total: f64 = e.measures.iter().map(|m| m.effective_weight).sum();
        assert!((total - 1.0).abs() < 1e-9);

        let def = Definition::standard();
        for (score, band) in
            [(70.0, HealthBand::Good), (69.99, HealthBand::Watch), (45.0, HealthBand::Watch), (44.9, HealthBand::Poor)]
        {
            assert_eq!(def.band(score), band, "{score}");
        }
    }

    #[test]
    fn changes_explain_what_moved() {
        let def = Definition::standard();
        let before = evaluate(&def, &usage(100.0), now());
        let after = evaluate(&def, &usage(70.0), now());
        let c = compare(&before, &after);
        assert_eq!(c.previous_score, Some(80.0));
        assert_eq!(c.score_delta, Some(after.score.unwrap() - 80.0));
        assert_eq!(c.measures.len(), 1);
        assert!(c.measures[0].contribution_delta < 0.0);
        assert!(compare(&after, &after).measures.is_empty());
    }

    #[test]
    fn definitions_are_checked() {
        assert!(Definition::standard().check().is_ok());
        let mut d = Definition::standard();
        d.measures[0].metric = None;
        d.measures[1].weight = 0.0;
        d.measures[2].metric = Some("x".into());
        d.bands = Bands { good: 40.0, watch: 50.0 };
        let problems = d.check().unwrap_err();
        let paths: Vec<String> = problems.iter().map(|(p, _)| p.join(".")).collect();
        assert_eq!(paths, ["measures.0.metric", "measures.1.weight", "measures.2.metric", "bands"]);
        let empty = Definition { measures: vec![], bands: Bands { good: 70.0, watch: 40.0 } };
        assert!(empty.check().is_err());
    }
}
