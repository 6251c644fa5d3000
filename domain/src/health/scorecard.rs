//! Health scorecards: a weighted set of measures over the derived facts, with bands. Pure:
//! `evaluate` takes a snapshot and a moment and explains every number it produces.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::facts::{self, Snapshot};
use crate::attributes::AttributeValue;
use crate::{ContactLevel, HealthBand, MetricDirection};

/// What a measure looks at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeasureKind {
    /// A usage metric now against the account's own baseline (curve over the relative change).
    #[default]
    UsageTrend,
    /// Critical tickets: open, new this week, and their surge (curve over load points: 20 per
    /// open critical ticket, 10 per one opened this week, 10 for a surge).
    SupportLoad,
    /// How overdue the open invoices are (curve over the most days overdue).
    PaymentBehaviour,
    /// NPS and CSAT over the last 180 days (curve over their 0-100 composite).
    NpsCsat,
    /// The latest relationship assessment (curve over the mean of its three 1-5 answers).
    RelationshipHealth,
    /// How recently the account was in touch, executives especially (curve over days; 20
    /// points off without an executive contact in 90 days).
    EngagementRecency,
    /// Days since the last activity: chosen interaction kinds and positive observations of
    /// chosen metrics (curve over days). Silence after activity counts.
    DaysSinceActivity,
    /// Share of recent periods with any activity (curve over the share, 0-1).
    ActivityFrequency,
    /// Activity now against the account's own past: the recent share of active periods over
    /// the earlier share (curve over the ratio; 1 is unchanged).
    ActivityTrend,
    /// A metric's level against a target or a per-account entitlement held in a number
    /// attribute, such as seats used of licensed (curve over the ratio).
    MetricLevel,
    /// Days since the contract started (curve over days).
    Tenure,
    /// Length of the contract term in effect, in months (curve over months).
    ContractTerm,
    /// Days until the renewal date (curve over days; negative once it passed).
    DaysToRenewal,
    /// Annual contract value in major units (curve required).
    AnnualValue,
    /// Annual value against a year earlier, from contract changes (curve over the change).
    ValueTrend,
    /// The account's tier (a score per tier).
    Tier,
    /// The account's segment (a score per segment).
    Segment,
    /// A custom attribute: a curve for numbers (and days since a date), a score per value for
    /// booleans, enumerations and text.
    Attribute,
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
            Self::DaysSinceActivity => "Days since activity",
            Self::ActivityFrequency => "Activity frequency",
            Self::ActivityTrend => "Activity trend",
            Self::MetricLevel => "Metric level",
            Self::Tenure => "Tenure",
            Self::ContractTerm => "Contract term",
            Self::DaysToRenewal => "Days to renewal",
            Self::AnnualValue => "Annual value",
            Self::ValueTrend => "Value trend",
            Self::Tier => "Tier",
            Self::Segment => "Segment",
            Self::Attribute => "Attribute",
        }
    }

    /// The curve used when a measure does not configure one; `None` where only the
    /// organisation can say (value, numeric attributes) or the measure scores options.
    pub fn default_curve(self) -> Option<&'static [(f64, f64)]> {
        Some(match self {
            Self::UsageTrend => &[(-0.40, 0.0), (-0.15, 40.0), (0.0, 80.0), (0.10, 100.0)],
            Self::SupportLoad => &[(0.0, 100.0), (100.0, 0.0)],
            Self::PaymentBehaviour => &[(0.0, 100.0), (30.0, 50.0), (60.0, 20.0), (90.0, 0.0)],
            Self::NpsCsat => &[(0.0, 0.0), (100.0, 100.0)],
            Self::RelationshipHealth => &[(1.0, 0.0), (5.0, 100.0)],
            Self::EngagementRecency => &[(14.0, 100.0), (30.0, 75.0), (60.0, 40.0), (120.0, 0.0)],
            Self::DaysSinceActivity => &[
                (0.0, 100.0),
                (7.0, 95.0),
                (30.0, 80.0),
                (60.0, 62.0),
                (90.0, 48.0),
                (180.0, 25.0),
                (365.0, 8.0),
                (730.0, 0.0),
            ],
            Self::ActivityFrequency => &[(0.0, 0.0), (0.1, 25.0), (0.25, 50.0), (0.5, 75.0), (1.0, 100.0)],
            Self::ActivityTrend => &[(0.0, 0.0), (0.5, 40.0), (1.0, 80.0), (1.5, 100.0)],
            Self::MetricLevel => &[(0.0, 0.0), (0.5, 40.0), (0.8, 80.0), (1.0, 100.0)],
            Self::Tenure => &[(0.0, 30.0), (90.0, 40.0), (365.0, 60.0), (730.0, 75.0), (1460.0, 90.0), (2920.0, 100.0)],
            Self::ContractTerm => &[(1.0, 30.0), (12.0, 70.0), (24.0, 90.0), (36.0, 100.0)],
            Self::DaysToRenewal => {
                &[(-30.0, 10.0), (0.0, 20.0), (30.0, 30.0), (90.0, 60.0), (180.0, 80.0), (365.0, 100.0)]
            }
            Self::ValueTrend => &[(-0.5, 0.0), (-0.2, 30.0), (0.0, 70.0), (0.1, 85.0), (0.3, 100.0)],
            Self::AnnualValue | Self::Tier | Self::Segment | Self::Attribute => return None,
        })
    }

    /// Measures that score options (a score per value) rather than a curve.
    fn takes_scores(self) -> bool {
        matches!(self, Self::Tier | Self::Segment | Self::Attribute)
    }

    /// Measures that read activity sources.
    fn reads_activity(self) -> bool {
        matches!(self, Self::DaysSinceActivity | Self::ActivityFrequency | Self::ActivityTrend)
    }
}

/// One weighted measure of a scorecard. Options a kind does not use must be left out.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MeasureSpec {
    pub kind: MeasureKind,
    pub weight: f64,
    /// The metric key, for usage trends and metric levels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// Recent window in days (usage trends 30, metric levels 30, activity 90).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_days: Option<i64>,
    /// Baseline window in days before the recent one (usage trends 90, activity trend 270).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_days: Option<i64>,
    /// Length of an activity period in days (activity frequency and trend; default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_days: Option<i64>,
    /// Interaction kinds that count as activity; empty: every kind but internal notes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interaction_kinds: Vec<crate::InteractionKind>,
    /// Metrics whose positive observations count as activity.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub activity_metrics: Vec<String>,
    /// The level a metric should reach (metric levels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<f64>,
    /// A number attribute holding each account's own target (metric levels), e.g. licensed
    /// seats; takes precedence over `target` where the account has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entitlement_attribute: Option<String>,
    /// The custom attribute's key (attribute measures).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute: Option<String>,
    /// Scoring breakpoints (value, score), value strictly increasing; linear between, flat
    /// beyond the ends. Defaults per kind (see [`MeasureKind::default_curve`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curve: Option<Vec<(f64, f64)>>,
    /// Score per option (tier, segment, attribute values; booleans as `true`/`false`). A value
    /// without a score leaves the measure without data for that account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scores: Option<std::collections::BTreeMap<String, f64>>,
}

/// Score thresholds: at least `good` is GOOD, at least `watch` is WATCH, below is POOR.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bands {
    pub good: f64,
    pub watch: f64,
}

/// Most measures one scorecard may have.
pub const MAX_MEASURES: usize = 32;
/// Most breakpoints of one curve.
pub const MAX_CURVE_POINTS: usize = 16;
/// Most option scores of one measure.
pub const MAX_SCORES: usize = 64;
/// Most interaction kinds or activity metrics of one measure.
pub const MAX_SOURCES: usize = 16;

/// A scorecard's definition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Definition {
    pub measures: Vec<MeasureSpec>,
    pub bands: Bands,
}

impl Definition {
    /// The scorecard every organisation starts with: signals, contact, activity (silence after
    /// activity is the strongest churn signal there is) and tenure.
    pub fn standard() -> Self {
        let m = |kind, weight| MeasureSpec { kind, weight, ..Default::default() };
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
                m(MeasureKind::DaysSinceActivity, 20.0),
                MeasureSpec { window_days: Some(365), ..m(MeasureKind::ActivityFrequency, 10.0) },
                m(MeasureKind::Tenure, 5.0),
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
            let identity = (
                m.kind,
                m.metric.clone(),
                m.attribute.clone(),
                m.window_days,
                m.interaction_kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
                m.activity_metrics.clone(),
            );
            if !seen.insert(identity) {
                push(at("kind"), "the same measure appears twice");
            }
            let needs_metric = matches!(m.kind, MeasureKind::UsageTrend | MeasureKind::MetricLevel);
            match (needs_metric, &m.metric) {
                (true, None) => push(at("metric"), "this measure needs a metric key"),
                (false, Some(_)) => push(at("metric"), "only usage trends and metric levels take a metric"),
                _ => {}
            }
            for key in m.metric.iter().chain(&m.activity_metrics).chain(&m.attribute).chain(&m.entitlement_attribute) {
                if key.is_empty() || key.chars().count() > 100 {
                    push(at("metric"), "keys are 1-100 characters");
                }
            }
            if m.kind == MeasureKind::Attribute && m.attribute.is_none() {
                push(at("attribute"), "an attribute measure needs the attribute's key");
            }
            if m.kind != MeasureKind::Attribute && m.attribute.is_some() {
                push(at("attribute"), "only attribute measures take an attribute");
            }
            if m.kind == MeasureKind::MetricLevel {
                if m.target.is_none() && m.entitlement_attribute.is_none() {
                    push(at("target"), "a metric level needs a target or an entitlement attribute");
                }
                if m.target.is_some_and(|t| !(t.is_finite() && t > 0.0)) {
                    push(at("target"), "must be a positive number");
                }
            } else if m.target.is_some() || m.entitlement_attribute.is_some() {
                push(at("target"), "only metric levels take a target or an entitlement attribute");
            }
            if !m.kind.reads_activity() && (!m.interaction_kinds.is_empty() || !m.activity_metrics.is_empty()) {
                push(at("interactionKinds"), "only activity measures take activity sources");
            }
            if m.interaction_kinds.len() > MAX_SOURCES || m.activity_metrics.len() > MAX_SOURCES {
                push(
                    at("interactionKinds"),
                    &format!("at most {MAX_SOURCES} interaction kinds and {MAX_SOURCES} metrics"),
                );
            }
            let windowed = matches!(
                m.kind,
                MeasureKind::UsageTrend
                    | MeasureKind::MetricLevel
                    | MeasureKind::ActivityFrequency
                    | MeasureKind::ActivityTrend
            );
            if m.window_days.is_some() && !windowed {
                push(at("windowDays"), "this measure takes no window");
            }
            if m.window_days.is_some_and(|d| !(1..=730).contains(&d)) {
                push(at("windowDays"), "must be between 1 and 730");
            }
            if m.baseline_days.is_some() && !matches!(m.kind, MeasureKind::UsageTrend | MeasureKind::ActivityTrend) {
                push(at("baselineDays"), "only usage and activity trends take a baseline");
            }
            if m.baseline_days.is_some_and(|d| !(7..=730).contains(&d)) {
                push(at("baselineDays"), "must be between 7 and 730");
            }
            if m.period_days.is_some() && !matches!(m.kind, MeasureKind::ActivityFrequency | MeasureKind::ActivityTrend)
            {
                push(at("periodDays"), "only activity frequency and trend take a period");
            }
            if m.period_days.is_some_and(|d| !(1..=90).contains(&d)) {
                push(at("periodDays"), "must be between 1 and 90");
            }
            if let Some(curve) = &m.curve {
                if m.kind.takes_scores() && m.kind != MeasureKind::Attribute {
                    push(at("curve"), "this measure scores options: give `scores`");
                } else if !(2..=MAX_CURVE_POINTS).contains(&curve.len()) {
                    push(at("curve"), &format!("needs 2 to {MAX_CURVE_POINTS} points"));
                } else if curve.iter().any(|(x, y)| !x.is_finite() || !(0.0..=100.0).contains(y)) {
                    push(at("curve"), "values must be finite and scores between 0 and 100");
                } else if curve.windows(2).any(|w| w[1].0 <= w[0].0) {
                    push(at("curve"), "values must be strictly increasing");
                }
            } else if m.kind.default_curve().is_none() && !m.kind.takes_scores() {
                push(at("curve"), "this measure needs a curve: only you know what a good value is");
            }
            match &m.scores {
                Some(_) if !m.kind.takes_scores() => {
                    push(at("scores"), "only tier, segment and attribute measures take scores")
                }
                Some(scores) => {
                    if scores.is_empty() || scores.len() > MAX_SCORES {
                        push(at("scores"), &format!("needs 1 to {MAX_SCORES} options"));
                    }
                    if scores.iter().any(|(k, v)| k.is_empty() || k.chars().count() > 100 || !(0.0..=100.0).contains(v))
                    {
                        push(at("scores"), "options are 1-100 characters and scores between 0 and 100");
                    }
                }
                None if matches!(m.kind, MeasureKind::Tier | MeasureKind::Segment) => {
                    push(at("scores"), "needs a score per option")
                }
                None if m.kind == MeasureKind::Attribute && m.curve.is_none() => {
                    push(at("scores"), "an attribute measure needs a curve (numbers, dates) or scores (options)")
                }
                None => {}
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
pub fn curve(x: f64, points: &[(f64, f64)]) -> f64 {
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

/// What a measure found: the headline value, the number its curve reads (or the score itself
/// for option measures), a sentence and the evidence.
enum Reading {
    Curve { value: f64, x: f64, detail: String, evidence: Vec<Evidence> },
    Score { value: f64, score: f64, detail: String, evidence: Vec<Evidence> },
}

fn scored(spec: &MeasureSpec, reading: Reading) -> Option<(f64, f64, String, Vec<Evidence>)> {
    match reading {
        Reading::Curve { value, x, detail, evidence } => {
            let points = spec.curve.as_deref().or(spec.kind.default_curve())?;
            Some((value, curve(x, points), detail, evidence))
        }
        Reading::Score { value, score, detail, evidence } => Some((value, score, detail, evidence)),
    }
}

fn option_score(spec: &MeasureSpec, option: &str) -> Option<f64> {
    spec.scores.as_ref()?.get(option).copied()
}

/// (value, score, detail, evidence) for one measure, or `None` without data.
fn measure(spec: &MeasureSpec, snapshot: &Snapshot, as_of: DateTime<Utc>) -> Option<(f64, f64, String, Vec<Evidence>)> {
    let reading = read(spec, snapshot, as_of)?;
    scored(spec, reading)
}

fn read(spec: &MeasureSpec, snapshot: &Snapshot, as_of: DateTime<Utc>) -> Option<Reading> {
    let day = as_of.date_naive();
    let sources =
        facts::ActivitySources { interaction_kinds: &spec.interaction_kinds, metrics: &spec.activity_metrics };
    match spec.kind {
        MeasureKind::UsageTrend => {
            let key = spec.metric.as_deref()?;
            let series = snapshot.metrics.get(key)?;
            let (window, baseline) = (spec.window_days.unwrap_or(30), spec.baseline_days.unwrap_or(90));
            let c = facts::metric_change(series, as_of, window, baseline)?;
            let good_direction =
                if series.direction == Some(MetricDirection::LowerIsBetter) { -c.change } else { c.change };
            let detail = format!(
                "{key}: {:+.1}% over the last {window} days against the {baseline} days before",
                c.change * 100.0
            );
            Some(Reading::Curve {
                value: c.change,
                x: good_direction,
                detail,
                evidence: vec![ev("current", c.current), ev("baseline", c.baseline), ev("change", c.change)],
            })
        }
        MeasureKind::SupportLoad => {
            let f = facts::ticket_facts(&snapshot.tickets, as_of);
            if !f.any {
                return None;
            }
            let surge = f.critical_change.is_some_and(|c| c >= 0.2) && f.critical_last_7d >= 2;
            let load =
                20.0 * f.open_critical as f64 + 10.0 * f.critical_last_7d as f64 + if surge { 10.0 } else { 0.0 };
            let detail = format!(
                "{} critical ticket(s) open, {} opened this week ({} the week before)",
                f.open_critical, f.critical_last_7d, f.critical_prev_7d
            );
            let mut evidence = vec![
                ev("openCritical", f.open_critical as f64),
                ev("criticalLast7Days", f.critical_last_7d as f64),
                ev("criticalPrevious7Days", f.critical_prev_7d as f64),
                ev("openTickets", f.open_total as f64),
                ev("loadPoints", load),
            ];
            if let Some(d) = f.oldest_open_critical_days {
                evidence.push(ev("oldestOpenCriticalDays", d as f64));
            }
            Some(Reading::Curve { value: f.open_critical as f64, x: load, detail, evidence })
        }
        MeasureKind::PaymentBehaviour => {
            let f = facts::invoice_facts(&snapshot.invoices, day);
            if !f.any {
                return None;
            }
            let overdue: usize = f.overdue_buckets.iter().sum();
            let detail = if overdue == 0 {
                "no overdue invoices".to_owned()
            } else {
                format!("{overdue} overdue invoice(s), the oldest {} days past due", f.max_days_overdue)
            };
            Some(Reading::Curve {
                value: f.max_days_overdue as f64,
                x: f.max_days_overdue as f64,
                detail,
                evidence: vec![
                    ev("maxDaysOverdue", f.max_days_overdue as f64),
                    ev("overdueInvoices", overdue as f64),
                    ev("overdueAmountMinor", f.overdue_amounts.iter().sum::<i64>() as f64),
                    ev("openInvoices", f.open as f64),
                ],
            })
        }
        MeasureKind::NpsCsat => {
            let f = facts::survey_facts(&snapshot.surveys, as_of, 180);
            let nps_score = f.nps.map(|n| (n + 100.0) / 2.0);
            let csat_score = f.csat.map(|c| (c - 1.0) / 4.0 * 100.0);
            let composite = match (nps_score, csat_score) {
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
            Some(Reading::Curve {
                value: f.nps.or(f.csat).unwrap_or_default(),
                x: composite,
                detail: parts.join(", "),
                evidence,
            })
        }
        MeasureKind::RelationshipHealth => {
            let a = facts::latest_assessment(&snapshot.assessments, as_of, 365)?;
            let mean = (f64::from(a.stakeholder_sentiment) + f64::from(a.strategic_alignment) + 6.0
                - f64::from(a.competitive_pressure))
                / 3.0;
            let detail = format!(
                "assessed {} days ago: sentiment {}, alignment {}, competitive pressure {}",
                (as_of - a.assessed_at).num_days(),
                a.stakeholder_sentiment,
                a.strategic_alignment,
                a.competitive_pressure
            );
            Some(Reading::Curve {
                value: mean,
                x: mean,
                detail,
                evidence: vec![
                    ev("stakeholderSentiment", f64::from(a.stakeholder_sentiment)),
                    ev("strategicAlignment", f64::from(a.strategic_alignment)),
                    ev("competitivePressure", f64::from(a.competitive_pressure)),
                ],
            })
        }
        MeasureKind::EngagementRecency => {
            let f = facts::engagement_facts(&snapshot.touchpoints, as_of);
            let days = f.days_since_last?;
            let executive = f.days_since_by_level.get(&ContactLevel::Executive).copied();
            let points = spec.curve.as_deref().or(spec.kind.default_curve())?;
            let mut score = curve(days as f64, points);
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
            Some(Reading::Score { value: days as f64, score, detail, evidence })
        }
        MeasureKind::DaysSinceActivity => {
            let r = facts::recency(snapshot, &sources, as_of)?;
            let detail = format!("last activity {} days ago", r.days);
            Some(Reading::Curve {
                value: r.days as f64,
                x: r.days as f64,
                detail,
                evidence: vec![ev("daysSinceActivity", r.days as f64), ev("activities", r.count as f64)],
            })
        }
        MeasureKind::ActivityFrequency | MeasureKind::ActivityTrend => {
            let trend = spec.kind == MeasureKind::ActivityTrend;
            let window = spec.window_days.unwrap_or(90);
            let baseline = spec.baseline_days.unwrap_or(270);
            let period = spec.period_days.unwrap_or(30);
            let f = facts::frequency(snapshot, &sources, as_of, window, baseline, period)?;
            let mut evidence = vec![
                ev("activePeriods", f.active_periods as f64),
                ev("periods", f.periods as f64),
                ev("recentShare", round2(f.recent)),
            ];
            if let Some(b) = f.baseline {
                evidence.push(ev("baselineShare", round2(b)));
            }
            if !trend {
                let detail =
                    format!("active in {} of the last {} periods of {period} days", f.active_periods, f.periods);
                return Some(Reading::Curve { value: f.recent, x: f.recent, detail, evidence });
            }
            let b = f.baseline?;
            let ratio = if b > 0.0 {
                f.recent / b
            } else if f.recent > 0.0 {
                1.5
            } else {
                1.0
            };
            let detail =
                format!("active in {:.0}% of recent periods against {:.0}% before", f.recent * 100.0, b * 100.0);
            evidence.push(ev("ratio", round2(ratio)));
            Some(Reading::Curve { value: ratio, x: ratio, detail, evidence })
        }
        MeasureKind::MetricLevel => {
            let key = spec.metric.as_deref()?;
            let series = snapshot.metrics.get(key)?;
            let window = spec.window_days.unwrap_or(30);
            let level = facts::metric_level(series, as_of, window)?;
            let entitlement = spec.entitlement_attribute.as_ref().and_then(|a| match snapshot.attributes.get(a) {
                Some(AttributeValue::Number(n)) if *n > 0.0 => Some(*n),
                _ => None,
            });
            let target = entitlement.or(spec.target)?;
            let ratio = level / target;
            let detail = format!("{key}: {level:.2} over the last {window} days against {target:.2}");
            Some(Reading::Curve {
                value: ratio,
                x: ratio,
                detail,
                evidence: vec![ev("level", level), ev("target", target), ev("ratio", round2(ratio))],
            })
        }
        MeasureKind::Tenure => {
            let a = facts::account_as_of(snapshot, day)?;
            let days = a.tenure_days?;
            Some(Reading::Curve {
                value: days as f64,
                x: days as f64,
                detail: format!("customer for {days} days"),
                evidence: vec![ev("tenureDays", days as f64)],
            })
        }
        MeasureKind::ContractTerm => {
            let a = facts::account_as_of(snapshot, day)?;
            let (start, end) = (a.term_start?, a.renewal_date?);
            let months = ((end - start).num_days() as f64 / 30.44).round();
            Some(Reading::Curve {
                value: months,
                x: months,
                detail: format!("a {months:.0}-month term from {start} to {end}"),
                evidence: vec![ev("termMonths", months)],
            })
        }
        MeasureKind::DaysToRenewal => {
            let a = facts::account_as_of(snapshot, day)?;
            let days = (a.renewal_date? - day).num_days();
            Some(Reading::Curve {
                value: days as f64,
                x: days as f64,
                detail: if days >= 0 {
                    format!("renews in {days} days")
                } else {
                    format!("renewal date passed {} days ago", -days)
                },
                evidence: vec![ev("daysToRenewal", days as f64)],
            })
        }
        MeasureKind::AnnualValue => {
            let facts = snapshot.account.as_ref()?;
            let a = facts::account_as_of(snapshot, day)?;
            let exponent = crate::Money::exponent_of(&facts.currency).unwrap_or(2);
            let major = a.annual_value_minor as f64 / 10f64.powi(exponent as i32);
            Some(Reading::Curve {
                value: major,
                x: major,
                detail: format!("worth {major:.0} {} a year", facts.currency),
                evidence: vec![ev("annualValue", major)],
            })
        }
        MeasureKind::ValueTrend => {
            let t = facts::contract_trend(&snapshot.contract_changes, day)?;
            Some(Reading::Curve {
                value: t.change,
                x: t.change,
                detail: format!("annual value {:+.1}% against a year earlier", t.change * 100.0),
                evidence: vec![
                    ev("currentMinor", t.current_minor as f64),
                    ev("yearAgoMinor", t.year_ago_minor as f64),
                    ev("change", t.change),
                ],
            })
        }
        MeasureKind::Tier | MeasureKind::Segment => {
            let a = snapshot.account.as_ref()?;
            let option = if spec.kind == MeasureKind::Tier { a.tier.as_str().to_owned() } else { a.segment.clone()? };
            let score = option_score(spec, &option)?;
            Some(Reading::Score {
                value: score,
                score,
                detail: format!("{} {option}", spec.kind.label().to_lowercase()),
                evidence: Vec::new(),
            })
        }
        MeasureKind::Attribute => {
            let key = spec.attribute.as_deref()?;
            let value = snapshot.attributes.get(key)?;
            let (x, option) = match value {
                AttributeValue::Number(n) => (Some(*n), None),
                AttributeValue::Date(d) => (Some((day - *d).num_days() as f64), None),
                AttributeValue::Boolean(b) => (None, Some(b.to_string())),
                AttributeValue::Text(t) | AttributeValue::Choice(t) => (None, Some(t.clone())),
            };
            match (x, option) {
                (Some(x), _) => {
                    Some(Reading::Curve { value: x, x, detail: format!("{key} = {x}"), evidence: vec![ev(key, x)] })
                }
                (None, Some(o)) => {
                    let score = option_score(spec, &o)?;
                    Some(Reading::Score { value: score, score, detail: format!("{key} = {o}"), evidence: Vec::new() })
                }
                (None, None) => None,
            }
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
        s.touchpoints.push(Touchpoint {
            at: now() - Duration::days(3),
            levels: vec![ContactLevel::Executive],
            kind: crate::InteractionKind::Meeting,
            direction: crate::Direction::Outbound,
        }); // engagement: 100
        let e = evaluate(&Definition::standard(), &s, now());
        // Usage 80 (weight 25), relationship 100 (15), engagement 100 (10), three days since
        // activity 97.86 (20), active in its one period 100 (10): 7457.1 / 80 = 93.21.
        assert_eq!(e.score, Some(93.21));
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
    fn account_facts_attributes_and_configured_curves() {
        use crate::attributes::AttributeValue;
        use crate::health::facts::AccountFacts;
        let mut s = Snapshot {
            account: Some(AccountFacts {
                tier: crate::Tier::Strategic,
                segment: Some("banks".into()),
                contract_start: Some((now() - Duration::days(400)).date_naive()),
                renewal_date: Some((now() + Duration::days(45)).date_naive()),
                annual_value_minor: 12_000_000,
                currency: "EUR".into(),
                churned_on: None,
            }),
            ..Default::default()
        };
        s.attributes.insert("contract".into(), AttributeValue::Choice("month_to_month".into()));
        s.attributes.insert("seats".into(), AttributeValue::Number(40.0));
        s.metrics.insert(
            "seats.used".into(),
            Series {
                aggregation: Some(MetricAggregation::Last),
                direction: None,
                points: vec![(now() - Duration::days(2), 30.0)],
            },
        );
        let one = |spec: MeasureSpec| {
            let def = Definition { measures: vec![spec], bands: Bands { good: 70.0, watch: 45.0 } };
            assert_eq!(def.check(), Ok(()), "{def:?}");
            let e = evaluate(&def, &s, now());
            (e.measures[0].value, e.score)
        };
        let m = |kind| MeasureSpec { kind, weight: 1.0, ..Default::default() };
        // Tenure 400 days on the default curve: 60 + 15 * 35 / 365.
        assert_eq!(one(m(MeasureKind::Tenure)), (Some(400.0), Some(61.44)));
        // Days to renewal 45 on a configured curve.
        let curve = Some(vec![(0.0, 0.0), (90.0, 100.0)]);
        assert_eq!(one(MeasureSpec { curve, ..m(MeasureKind::DaysToRenewal) }), (Some(45.0), Some(50.0)));
        // Annual value in major units (EUR has two decimals).
        let curve = Some(vec![(0.0, 0.0), (240_000.0, 100.0)]);
        assert_eq!(one(MeasureSpec { curve, ..m(MeasureKind::AnnualValue) }), (Some(120_000.0), Some(50.0)));
        let scores = |pairs: &[(&str, f64)]| Some(pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect());
        assert_eq!(one(MeasureSpec { scores: scores(&[("strategic", 90.0)]), ..m(MeasureKind::Tier) }).1, Some(90.0));
        let contract = MeasureSpec {
            attribute: Some("contract".into()),
            scores: scores(&[("month_to_month", 20.0), ("two_year", 95.0)]),
            ..m(MeasureKind::Attribute)
        };
        assert_eq!(one(contract).1, Some(20.0));
        // An option without a score, or an account without the attribute: no data.
        let segment = MeasureSpec { scores: scores(&[("insurers", 80.0)]), ..m(MeasureKind::Segment) };
        assert_eq!(one(segment), (None, None));
        // Seats used of the account's own entitlement.
        let level = MeasureSpec {
            metric: Some("seats.used".into()),
            entitlement_attribute: Some("seats".into()),
            ..m(MeasureKind::MetricLevel)
        };
        // 30 of 40 = 0.75 on the default curve: 40 + 40 * 0.25 / 0.3.
        assert_eq!(one(level), (Some(0.75), Some(73.33)));
    }

    #[test]
    fn new_measure_options_are_checked() {
        let m = |kind| MeasureSpec { kind, weight: 1.0, ..Default::default() };
        let cases = vec![
            (m(MeasureKind::AnnualValue), "measures.0.curve"),
            (m(MeasureKind::Tier), "measures.0.scores"),
            (m(MeasureKind::Attribute), "measures.0.attribute"),
            (m(MeasureKind::MetricLevel), "measures.0.metric"),
            (MeasureSpec { curve: Some(vec![(1.0, 10.0)]), ..m(MeasureKind::Tenure) }, "measures.0.curve"),
            (MeasureSpec { curve: Some(vec![(1.0, 10.0), (1.0, 20.0)]), ..m(MeasureKind::Tenure) }, "measures.0.curve"),
            (
                MeasureSpec { curve: Some(vec![(1.0, 10.0), (2.0, 120.0)]), ..m(MeasureKind::Tenure) },
                "measures.0.curve",
            ),
            (MeasureSpec { period_days: Some(7), ..m(MeasureKind::Tenure) }, "measures.0.periodDays"),
            (MeasureSpec { window_days: Some(30), ..m(MeasureKind::DaysSinceActivity) }, "measures.0.windowDays"),
            (
                MeasureSpec { interaction_kinds: vec![crate::InteractionKind::Call], ..m(MeasureKind::Tenure) },
                "measures.0.interactionKinds",
            ),
        ];
        for (spec, path) in cases {
            let def = Definition { measures: vec![spec], bands: Bands { good: 70.0, watch: 45.0 } };
            let paths: Vec<String> = def.check().unwrap_err().iter().map(|(p, _)| p.join(".")).collect();
            assert!(paths.contains(&path.to_owned()), "{path}: {paths:?}");
        }
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
