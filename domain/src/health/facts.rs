//! Derived facts about an account, computed from its stored signals "as of" any moment: the
//! inputs of health scores (and of the risk rules to come). Everything here is pure: data in,
//! facts out, nothing after `as_of` is looked at, and too little history yields `None` rather
//! than a false alarm.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::attributes::AttributeValue;
use crate::signals::assessments::Assessment;
use crate::signals::contracts::ContractChange;
use crate::signals::invoices::Invoice;
use crate::signals::surveys::SurveyResponse;
use crate::signals::tickets::Ticket;
use crate::{
    ContactLevel, Direction, InteractionKind, MetricAggregation, MetricDirection, SurveyKind, TicketPriority, Tier,
};

/// A metric's observations with how they combine.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    pub aggregation: Option<MetricAggregation>,
    pub direction: Option<MetricDirection>,
    /// Oldest first.
    pub points: Vec<(DateTime<Utc>, f64)>,
}

/// An interaction as the facts see it: when, what, which way, and the levels of the client
/// people present.
#[derive(Clone, Debug, PartialEq)]
pub struct Touchpoint {
    pub at: DateTime<Utc>,
    pub levels: Vec<ContactLevel>,
    pub kind: InteractionKind,
    pub direction: Direction,
}

impl Touchpoint {
    /// A touchpoint of a kind that counts as client activity by default: anything but an
    /// internal note.
    pub fn is_client_activity(&self) -> bool {
        self.kind != InteractionKind::Note && self.direction != Direction::Internal
    }
}

/// The account's own facts: what it is, what it is worth and when it renews. Current values;
/// [`account_as_of`] reconstructs value and renewal at a past day from the contract changes.
#[derive(Clone, Debug, PartialEq)]
pub struct AccountFacts {
    pub tier: Tier,
    pub segment: Option<String>,
    pub contract_start: Option<NaiveDate>,
    pub renewal_date: Option<NaiveDate>,
    pub annual_value_minor: i64,
    pub currency: String,
    pub churned_on: Option<NaiveDate>,
}

impl From<&crate::Account> for AccountFacts {
    fn from(a: &crate::Account) -> Self {
        Self {
            tier: a.tier,
            segment: a.segment.clone(),
            contract_start: a.contract_start,
            renewal_date: a.renewal_date,
            annual_value_minor: a.annual_value.amount_minor,
            currency: a.annual_value.currency.clone(),
            churned_on: a.churned_on,
        }
    }
}

/// Everything known about one account, as loaded for computing facts.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub metrics: HashMap<String, Series>,
    pub tickets: Vec<Ticket>,
    pub invoices: Vec<Invoice>,
    pub surveys: Vec<SurveyResponse>,
    pub assessments: Vec<Assessment>,
    pub touchpoints: Vec<Touchpoint>,
    pub contract_changes: Vec<ContractChange>,
    /// The account itself (absent in snapshots built without it).
    pub account: Option<AccountFacts>,
    /// Custom attribute values by key (current values: attributes keep no history).
    pub attributes: std::collections::BTreeMap<String, AttributeValue>,
    /// Signals before this moment were not loaded.
    pub history_from: Option<DateTime<Utc>>,
    /// The last client interaction before `history_from` (any kind but internal notes), so
    /// silence longer than the loaded history still counts.
    pub last_activity_before: Option<DateTime<Utc>>,
}

/// Combines values with an aggregation; `None` for no values.
pub fn aggregate(values: &[f64], aggregation: MetricAggregation) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    Some(match aggregation {
        MetricAggregation::Sum => values.iter().sum(),
        MetricAggregation::Average => values.iter().sum::<f64>() / values.len() as f64,
        MetricAggregation::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        MetricAggregation::Last => *values.last().unwrap(),
    })
}

/// A metric's level now against the account's own baseline.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricChange {
    /// The recent window's level (a daily rate for summed metrics).
    pub current: f64,
    /// The baseline window's level (a daily rate for summed metrics).
    pub baseline: f64,
    /// `(current - baseline) / |baseline|`: -0.15 is a 15% drop.
    pub change: f64,
}

/// Compares the last `window_days` up to `as_of` with the `baseline_days` before them. Zero is
/// data: once the series has history, a window without points is a level of zero (an
/// event-shaped feed, with points only on active days, is summed over the whole window), and a
/// rise from a zero baseline is +100%. `None` only without enough history: no point in the
/// first half of the baseline window or before it.
pub fn metric_change(
    series: &Series,
    as_of: DateTime<Utc>,
    window_days: i64,
    baseline_days: i64,
) -> Option<MetricChange> {
    let aggregation = series.aggregation.unwrap_or(MetricAggregation::Average);
    let window_start = as_of - Duration::days(window_days);
    let baseline_start = window_start - Duration::days(baseline_days);
    let in_range = |from: DateTime<Utc>, to: DateTime<Utc>| -> Vec<f64> {
        series.points.iter().filter(|(t, _)| *t > from && *t <= to).map(|p| p.1).collect()
    };
    let first = series.points.iter().map(|p| p.0).filter(|t| *t <= as_of).min()?;
    if first > baseline_start + Duration::days(baseline_days / 2) {
        return None;
    }
    let level = |values: &[f64], days: i64| -> f64 {
        let v = aggregate(values, aggregation).unwrap_or(0.0);
        if aggregation == MetricAggregation::Sum { v / days as f64 } else { v }
    };
    let current = level(&in_range(window_start, as_of), window_days);
    let base = level(&in_range(baseline_start, window_start), baseline_days);
    let change = if base == 0.0 { if current > 0.0 { 1.0 } else { 0.0 } } else { (current - base) / base.abs() };
    Some(MetricChange { current, baseline: base, change })
}

/// A metric's level over the last `window_days`, combined by its aggregation (a summed metric
/// gives the window's total). Zero once the series has any history and nothing in the window;
/// `None` without any point up to `as_of`.
pub fn metric_level(series: &Series, as_of: DateTime<Utc>, window_days: i64) -> Option<f64> {
    let aggregation = series.aggregation.unwrap_or(MetricAggregation::Average);
    series.points.iter().find(|(t, _)| *t <= as_of)?;
    let from = as_of - Duration::days(window_days);
    let values: Vec<f64> = series.points.iter().filter(|(t, _)| *t > from && *t <= as_of).map(|p| p.1).collect();
    Some(aggregate(&values, aggregation).unwrap_or(0.0))
}

/// Which signals count as activity.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ActivitySources<'a> {
    /// Interaction kinds that count; empty: every kind but internal notes (see
    /// [`Touchpoint::is_client_activity`]).
    pub interaction_kinds: &'a [InteractionKind],
    /// Metrics whose positive observations count.
    pub metrics: &'a [String],
}

/// The moments of activity up to `as_of`, oldest first.
pub fn activity(snapshot: &Snapshot, sources: &ActivitySources<'_>, as_of: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let mut out: Vec<DateTime<Utc>> = snapshot
        .touchpoints
        .iter()
        .filter(|t| t.at <= as_of)
        .filter(|t| {
            if sources.interaction_kinds.is_empty() {
                t.is_client_activity()
            } else {
                sources.interaction_kinds.contains(&t.kind)
            }
        })
        .map(|t| t.at)
        .collect();
    for key in sources.metrics {
        if let Some(series) = snapshot.metrics.get(key) {
            out.extend(series.points.iter().filter(|(t, v)| *t <= as_of && *v > 0.0).map(|p| p.0));
        }
    }
    out.sort();
    out
}

/// How long since the last activity.
#[derive(Clone, Debug, PartialEq)]
pub struct Recency {
    pub days: i64,
    /// Activity moments up to `as_of` in the loaded history.
    pub count: usize,
}

/// Days since the last activity as of `as_of`. Silence is a value: an account with earlier
/// activity that has been silent since counts its silence, also when that activity predates
/// the loaded history (`Snapshot::last_activity_before`). `None` for an account with no
/// activity on record at all: nothing says its activity is recorded.
pub fn recency(snapshot: &Snapshot, sources: &ActivitySources<'_>, as_of: DateTime<Utc>) -> Option<Recency> {
    let moments = activity(snapshot, sources, as_of);
    if let Some(last) = moments.last() {
        return Some(Recency { days: (as_of - *last).num_days(), count: moments.len() });
    }
    let earlier = snapshot.last_activity_before.filter(|t| *t <= as_of && sources.metrics.is_empty())?;
    Some(Recency { days: (as_of - earlier).num_days(), count: 0 })
}

/// How regularly the account is active: periods with activity in a recent window against the
/// periods of the earlier window.
#[derive(Clone, Debug, PartialEq)]
pub struct Frequency {
    /// Share of the recent window's periods (since the account's first activity, when later)
    /// with any activity, 0-1.
    pub recent: f64,
    /// The same share over the baseline window; `None` when the history does not reach into it.
    pub baseline: Option<f64>,
    /// Active periods in the recent window.
    pub active_periods: usize,
    /// Periods of the recent window the account existed.
    pub periods: usize,
}

/// Active periods of `period_days` in the `window_days` up to `as_of`, and in the
/// `baseline_days` before, counted from the contract start or the first activity. `None` for
/// an account with no activity on record.
pub fn frequency(
    snapshot: &Snapshot,
    sources: &ActivitySources<'_>,
    as_of: DateTime<Utc>,
    window_days: i64,
    baseline_days: i64,
    period_days: i64,
) -> Option<Frequency> {
    let moments = activity(snapshot, sources, as_of);
    let earlier = snapshot.last_activity_before.filter(|t| *t <= as_of);
    if moments.is_empty() && earlier.is_none() {
        return None;
    }
    let start = snapshot
        .account
        .as_ref()
        .and_then(|a| a.contract_start)
        .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
        .into_iter()
        .chain(moments.first().copied())
        .chain(earlier)
        .min()
        .filter(|s| *s <= as_of)?;
    let period_of = |t: DateTime<Utc>| (as_of - t).num_seconds().max(0) / (period_days * 86_400);
    let window_periods = (window_days / period_days).max(1);
    let baseline_periods = (baseline_days / period_days).max(1);
    let mut active = std::collections::HashSet::new();
    for t in &moments {
        active.insert(period_of(*t));
    }
    let existed = (period_of(start) + 1).min(window_periods + baseline_periods);
    let recent_periods = existed.min(window_periods);
    let recent_active = (0..recent_periods).filter(|p| active.contains(p)).count();
    let baseline = (existed > window_periods + baseline_periods / 2).then(|| {
        let n = existed - window_periods;
        (window_periods..existed).filter(|p| active.contains(p)).count() as f64 / n as f64
    });
    Some(Frequency {
        recent: recent_active as f64 / recent_periods as f64,
        baseline,
        active_periods: recent_active,
        periods: recent_periods as usize,
    })
}

/// The account's value and renewal as they stood on a day.
#[derive(Clone, Debug, PartialEq)]
pub struct AccountAsOf {
    pub annual_value_minor: i64,
    pub renewal_date: Option<NaiveDate>,
    /// When the contract in effect began (the last contract change, or the contract start).
    pub term_start: Option<NaiveDate>,
    /// Days since the contract started; `None` without a start or before it.
    pub tenure_days: Option<i64>,
}

/// Reconstructs value and renewal on `day` from the contract changes; without changes in
/// effect by then, the earliest change (or the account's current values without any) stands.
pub fn account_as_of(snapshot: &Snapshot, day: NaiveDate) -> Option<AccountAsOf> {
    let a = snapshot.account.as_ref()?;
    let in_effect = snapshot.contract_changes.iter().filter(|c| c.effective_on <= day).max_by_key(|c| c.effective_on);
    let earliest = snapshot.contract_changes.iter().min_by_key(|c| c.effective_on);
    let (value, renewal, term_start) = match in_effect.or(earliest) {
        Some(c) => (
            c.annual_value.amount_minor,
            c.renewal_date.or(a.renewal_date.filter(|_| in_effect.is_some())),
            in_effect.map(|c| c.effective_on).or(a.contract_start),
        ),
        None => (a.annual_value_minor, a.renewal_date, a.contract_start),
    };
    Some(AccountAsOf {
        annual_value_minor: value,
        renewal_date: renewal,
        term_start,
        tenure_days: a.contract_start.map(|s| (day - s).num_days()).filter(|d| *d >= 0),
    })
}

/// Support load as of a moment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TicketFacts {
    /// Critical tickets opened in the 7 days up to `as_of`.
    pub critical_last_7d: usize,
    /// Critical tickets opened in the 7 days before those.
    pub critical_prev_7d: usize,
    /// Relative change of the two; `None` when the earlier week had none.
    pub critical_change: Option<f64>,
    /// Critical tickets open at `as_of`.
    pub open_critical: usize,
    /// Age in days of the oldest critical ticket open at `as_of`.
    pub oldest_open_critical_days: Option<i64>,
    /// All tickets open at `as_of`.
    pub open_total: usize,
    /// Whether there is any ticket history at all.
    pub any: bool,
}

fn open_at(t: &Ticket, as_of: DateTime<Utc>) -> bool {
    t.opened_at <= as_of && t.resolved_at.is_none_or(|r| r > as_of)
}

/// Support facts as of `as_of`.
pub fn ticket_facts(tickets: &[Ticket], as_of: DateTime<Utc>) -> TicketFacts {
    let critical: Vec<&Ticket> =
        tickets.iter().filter(|t| t.priority == TicketPriority::Critical && t.opened_at <= as_of).collect();
    let in_days = |t: &&Ticket, from: i64, to: i64| {
        t.opened_at > as_of - Duration::days(to) && t.opened_at <= as_of - Duration::days(from)
    };
    let last = critical.iter().filter(|t| in_days(t, 0, 7)).count();
    let prev = critical.iter().filter(|t| in_days(t, 7, 14)).count();
    let open_critical: Vec<&&Ticket> = critical.iter().filter(|t| open_at(t, as_of)).collect();
    TicketFacts {
        critical_last_7d: last,
        critical_prev_7d: prev,
        critical_change: (prev > 0).then(|| (last as f64 - prev as f64) / prev as f64),
        open_critical: open_critical.len(),
        oldest_open_critical_days: open_critical.iter().map(|t| (as_of - t.opened_at).num_days()).max(),
        open_total: tickets.iter().filter(|t| open_at(t, as_of)).count(),
        any: tickets.iter().any(|t| t.opened_at <= as_of),
    }
}

/// Open invoices grouped by how overdue they are.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InvoiceFacts {
    pub open: usize,
    /// Counts overdue by 1-30, 31-60, 61-90 and more than 90 days.
    pub overdue_buckets: [usize; 4],
    /// Amounts (minor units, all currencies added) in the same buckets.
    pub overdue_amounts: [i64; 4],
    pub max_days_overdue: i64,
    /// Invoices that became 30+ days overdue within the 7 days up to `as_of`.
    pub newly_overdue_30: Vec<String>,
    /// Whether there is any invoice history at all.
    pub any: bool,
}

/// Payment facts as of the day of `as_of`.
pub fn invoice_facts(invoices: &[Invoice], as_of: NaiveDate) -> InvoiceFacts {
    let mut f = InvoiceFacts { any: invoices.iter().any(|i| i.issued_on <= as_of), ..Default::default() };
    for inv in invoices.iter().filter(|i| i.issued_on <= as_of) {
        let days = inv.days_overdue(as_of);
        if inv.status != crate::InvoiceStatus::Void && inv.paid_at.is_none_or(|p| p.date_naive() > as_of) {
            f.open += 1;
        }
        if days > 0 {
            let b = match days {
                1..=30 => 0,
                31..=60 => 1,
                61..=90 => 2,
                _ => 3,
            };
            f.overdue_buckets[b] += 1;
            f.overdue_amounts[b] += inv.amount.amount_minor;
            f.max_days_overdue = f.max_days_overdue.max(days);
            if (30..37).contains(&days) {
                f.newly_overdue_30.push(inv.number.clone());
            }
        }
    }
    f
}

/// How recently the account was in touch, overall and per client seniority.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EngagementFacts {
    pub days_since_last: Option<i64>,
    pub days_since_by_level: HashMap<ContactLevel, i64>,
    /// Interactions per 30 days over the last 90 days.
    pub recent_per_30d: f64,
    /// Interactions per 30 days over the 270 days before that; `None` without earlier history.
    pub earlier_per_30d: Option<f64>,
}

/// Engagement facts as of `as_of`.
pub fn engagement_facts(touchpoints: &[Touchpoint], as_of: DateTime<Utc>) -> EngagementFacts {
    let past: Vec<&Touchpoint> = touchpoints.iter().filter(|t| t.at <= as_of).collect();
    let mut by_level: HashMap<ContactLevel, i64> = HashMap::new();
    for t in &past {
        let days = (as_of - t.at).num_days();
        for level in &t.levels {
            by_level.entry(*level).and_modify(|d| *d = (*d).min(days)).or_insert(days);
        }
    }
    let recent = past.iter().filter(|t| t.at > as_of - Duration::days(90)).count();
    let earlier: Vec<_> =
        past.iter().filter(|t| t.at <= as_of - Duration::days(90) && t.at > as_of - Duration::days(360)).collect();
    let first = past.iter().map(|t| t.at).min();
    EngagementFacts {
        days_since_last: past.iter().map(|t| (as_of - t.at).num_days()).min(),
        days_since_by_level: by_level,
        recent_per_30d: recent as f64 / 3.0,
        // Earlier frequency only counts when the history reaches back into that period.
        earlier_per_30d: first.filter(|f| *f <= as_of - Duration::days(180)).map(|_| earlier.len() as f64 / 9.0),
    }
}

/// Survey results over a window and the window before it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SurveyFacts {
    pub nps: Option<f64>,
    pub nps_responses: usize,
    pub previous_nps: Option<f64>,
    pub detractors: usize,
    pub csat: Option<f64>,
    pub csat_responses: usize,
}

fn nps_of(scores: &[i32]) -> Option<f64> {
    if scores.is_empty() {
        return None;
    }
    let promoters = scores.iter().filter(|s| **s >= 9).count() as f64;
    let detractors = scores.iter().filter(|s| **s <= 6).count() as f64;
    Some((promoters - detractors) * 100.0 / scores.len() as f64)
}

/// NPS and CSAT over the `window_days` up to `as_of`, and NPS over the window before.
pub fn survey_facts(surveys: &[SurveyResponse], as_of: DateTime<Utc>, window_days: i64) -> SurveyFacts {
    let within = |s: &&SurveyResponse, from: i64, to: i64| {
        s.responded_at > as_of - Duration::days(to) && s.responded_at <= as_of - Duration::days(from)
    };
    let scores = |kind: SurveyKind, from: i64, to: i64| -> Vec<i32> {
        surveys.iter().filter(|s| s.kind == kind && within(s, from, to)).map(|s| s.score).collect()
    };
    let nps = scores(SurveyKind::Nps, 0, window_days);
    let csat = scores(SurveyKind::Csat, 0, window_days);
    SurveyFacts {
        nps: nps_of(&nps),
        nps_responses: nps.len(),
        previous_nps: nps_of(&scores(SurveyKind::Nps, window_days, 2 * window_days)),
        detractors: nps.iter().filter(|s| **s <= 6).count(),
        csat: (!csat.is_empty()).then(|| csat.iter().sum::<i32>() as f64 / csat.len() as f64),
        csat_responses: csat.len(),
    }
}

/// The latest assessment made at or before `as_of` and no older than `max_age_days`.
pub fn latest_assessment(assessments: &[Assessment], as_of: DateTime<Utc>, max_age_days: i64) -> Option<&Assessment> {
    assessments
        .iter()
        .filter(|a| a.assessed_at <= as_of && a.assessed_at > as_of - Duration::days(max_age_days))
        .max_by_key(|a| a.assessed_at)
}

/// The contract value in effect now against a year earlier.
#[derive(Clone, Debug, PartialEq)]
pub struct ContractTrend {
    pub current_minor: i64,
    pub year_ago_minor: i64,
    pub change: f64,
}

/// Contract value trend as of a day; `None` without a value in effect a year earlier.
pub fn contract_trend(changes: &[ContractChange], as_of: NaiveDate) -> Option<ContractTrend> {
    let in_effect = |day: NaiveDate| changes.iter().filter(|c| c.effective_on <= day).max_by_key(|c| c.effective_on);
    let now = in_effect(as_of)?;
    let before = in_effect(as_of - Duration::days(365))?;
    let (c, b) = (now.annual_value.amount_minor, before.annual_value.amount_minor);
    (b > 0).then(|| ContractTrend { current_minor: c, year_ago_minor: b, change: (c - b) as f64 / b as f64 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        AccountId, AssessmentId, ContractChangeId, Money, OrganisationId, SurveyResponseId, TicketId, TicketStatus,
        UserId,
    };
    use chrono::TimeZone;

    fn at(day: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 30, 12, 0, 0).unwrap() + Duration::days(day)
    }

    fn daily(from: i64, to: i64, value: impl Fn(i64) -> f64) -> Vec<(DateTime<Utc>, f64)> {
        (from..=to).map(|d| (at(d), value(d))).collect()
    }

    #[test]
    fn metric_change_against_the_baseline() {
        let avg = |points| Series { aggregation: Some(MetricAggregation::Average), direction: None, points };
        let sum = |points| Series { aggregation: Some(MetricAggregation::Sum), direction: None, points };
        // (series, window, baseline, expected change; None = no verdict)
        let cases: Vec<(Series, i64, i64, Option<f64>)> = vec![
            (avg(daily(-119, 0, |d| if d > -30 { 85.0 } else { 100.0 })), 30, 90, Some(-0.15)),
            (avg(daily(-119, 0, |_| 100.0)), 30, 90, Some(0.0)),
            (avg(daily(-119, 0, |d| if d > -30 { 120.0 } else { 100.0 })), 30, 90, Some(0.2)),
            // Summed metrics compare daily rates, so windows of different lengths compare fairly.
            (sum(daily(-119, 0, |_| 10.0)), 30, 90, Some(0.0)),
            (sum(daily(-119, 0, |d| if d > -30 { 5.0 } else { 10.0 })), 30, 90, Some(-0.5)),
            // Not enough history: the baseline covers only its last 20 days.
            (avg(daily(-49, 0, |d| if d > -30 { 50.0 } else { 100.0 })), 30, 90, None),
            // Zero is data: no recent points after a history is a level of zero, a full drop.
            (avg(daily(-119, -31, |_| 100.0)), 30, 90, Some(-1.0)),
            (sum(daily(-119, -31, |_| 3.0)), 30, 90, Some(-1.0)),
            // Event-shaped: points only on active days, summed over the whole window.
            (sum((4..17).map(|w| (at(-3 - w * 7), 7.0)).collect()), 28, 84, Some(-1.0)),
            (sum((0..17).map(|w| (at(-3 - w * 7), 7.0)).collect()), 28, 84, Some(0.0)),
            // No data at all: no verdict. A rise from a zero baseline is +100%; zero on zero is flat.
            (avg(vec![]), 30, 90, None),
            (avg(daily(-119, 0, |d| if d > -30 { 5.0 } else { 0.0 })), 30, 90, Some(1.0)),
            (avg(daily(-119, 0, |_| 0.0)), 30, 90, Some(0.0)),
            // Points after as_of are ignored.
            (avg(daily(-119, 30, |d| if d > 0 { 0.0 } else { 100.0 })), 30, 90, Some(0.0)),
        ];
        for (i, (series, window, baseline, expected)) in cases.into_iter().enumerate() {
            let got = metric_change(&series, at(0), window, baseline).map(|c| (c.change * 1000.0).round() / 1000.0);
            assert_eq!(got, expected, "case {i}");
        }
    }

    fn ticket(priority: TicketPriority, opened: i64, resolved: Option<i64>) -> Ticket {
        Ticket {
            id: TicketId::generate(),
            organisation: OrganisationId::generate(),
            account: AccountId::generate(),
            external_id: format!("T{opened}"),
            subject: None,
            priority,
            status: if resolved.is_some() { TicketStatus::Resolved } else { TicketStatus::Open },
            opened_at: at(opened),
            first_response_at: None,
            resolved_at: resolved.map(at),
            version: 1,
            created_at: at(opened),
            updated_at: at(opened),
        }
    }

    #[test]
    fn critical_tickets_this_week_against_last() {
        use TicketPriority::{Critical, Normal};
        // (tickets, last 7d, previous 7d, change, open critical, oldest open critical days)
        let cases = vec![
            (vec![], 0, 0, None, 0, None),
            (
                vec![ticket(Critical, -1, None), ticket(Critical, -2, Some(-1)), ticket(Critical, -9, Some(-8))],
                2,
                1,
                Some(1.0),
                1,
                Some(1),
            ),
            (
                vec![ticket(Critical, -8, None), ticket(Critical, -10, None), ticket(Normal, -1, None)],
                0,
                2,
                Some(-1.0),
                2,
                Some(10),
            ),
            // Exactly 7 days ago belongs to the earlier week.
            (vec![ticket(Critical, -7, Some(-6))], 0, 1, Some(-1.0), 0, None),
            // A ticket opened after as_of does not exist yet.
            (vec![ticket(Critical, 1, None)], 0, 0, None, 0, None),
        ];
        for (i, (tickets, last, prev, change, open, oldest)) in cases.into_iter().enumerate() {
            let f = ticket_facts(&tickets, at(0));
            assert_eq!(
                (
                    f.critical_last_7d,
                    f.critical_prev_7d,
                    f.critical_change,
                    f.open_critical,
                    f.oldest_open_critical_days
                ),
                (last, prev, change, open, oldest),
                "case {i}"
            );
        }
    }

    fn invoice(number: &str, due: i64, amount: i64, paid: Option<i64>) -> Invoice {
        Invoice {
            id: crate::InvoiceId::generate(),
            organisation: OrganisationId::generate(),
            account: AccountId::generate(),
            number: number.into(),
            amount: Money { amount_minor: amount, currency: "EUR".into() },
            issued_on: (at(due) - Duration::days(30)).date_naive(),
            due_on: at(due).date_naive(),
            paid_at: paid.map(at),
            status: if paid.is_some() { crate::InvoiceStatus::Paid } else { crate::InvoiceStatus::Open },
            version: 1,
            created_at: at(due),
            updated_at: at(due),
        }
    }

    #[test]
    fn invoices_by_days_overdue() {
        let as_of = at(0).date_naive();
        let f = invoice_facts(
            &[
                invoice("A", 5, 100, None),
                invoice("B", -10, 200, None),
                invoice("C", -31, 300, None),
                invoice("D", -95, 400, None),
                invoice("E", -40, 500, Some(-5)),
            ],
            as_of,
        );
        assert_eq!(f.open, 4);
        assert_eq!(f.overdue_buckets, [1, 1, 0, 1]);
        assert_eq!(f.overdue_amounts, [200, 300, 0, 400]);
        assert_eq!(f.max_days_overdue, 95);
        assert_eq!(f.newly_overdue_30, vec!["C".to_owned()]);
        assert!(invoice_facts(&[], as_of) == InvoiceFacts::default());
        // Exactly 30 days overdue is "newly 30+".
        assert_eq!(invoice_facts(&[invoice("X", -30, 1, None)], as_of).newly_overdue_30, vec!["X".to_owned()]);
        assert!(invoice_facts(&[invoice("Y", -29, 1, None)], as_of).newly_overdue_30.is_empty());
    }

    #[test]
    fn engagement_per_level_and_frequency() {
        use ContactLevel::{Executive, Operational};
        let t = |d: i64, levels: Vec<ContactLevel>| Touchpoint {
            at: at(d),
            levels,
            kind: crate::InteractionKind::Meeting,
            direction: crate::Direction::Outbound,
        };
        let f = engagement_facts(
            &[t(-3, vec![Operational]), t(-100, vec![Executive]), t(-200, vec![]), t(5, vec![Executive])],
            at(0),
        );
        assert_eq!(f.days_since_last, Some(3));
        assert_eq!(f.days_since_by_level.get(&Executive), Some(&100));
        assert_eq!(f.days_since_by_level.get(&Operational), Some(&3));
        assert!((f.recent_per_30d - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(f.earlier_per_30d, Some(2.0 / 9.0));
        // History younger than 180 days gives no earlier frequency: no "going quiet" verdict.
        assert_eq!(engagement_facts(&[t(-10, vec![]), t(-100, vec![])], at(0)).earlier_per_30d, None);
        assert_eq!(engagement_facts(&[], at(0)).days_since_last, None);
    }

    fn touchpoint(day: i64, kind: crate::InteractionKind, direction: crate::Direction) -> Touchpoint {
        Touchpoint { at: at(day), levels: Vec::new(), kind, direction }
    }

    fn with_start(start: Option<i64>) -> Snapshot {
        Snapshot {
            account: Some(AccountFacts {
                tier: Tier::Key,
                segment: None,
                contract_start: start.map(|d| at(d).date_naive()),
                renewal_date: None,
                annual_value_minor: 0,
                currency: "EUR".into(),
                churned_on: None,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn recency_counts_silence() {
        use crate::{
            Direction::*,
            InteractionKind::{Call as Order, Meeting, Note},
        };
        let all = ActivitySources::default();
        let mut s = with_start(Some(-400));
        // Nothing on record: no verdict (activity may not be recorded for this account).
        assert_eq!(recency(&s, &all, at(0)), None);
        // Activity before the loaded history: its silence counts in full.
        s.history_from = Some(at(-100));
        s.last_activity_before = Some(at(-250));
        assert_eq!(recency(&s, &all, at(0)).map(|r| r.days), Some(250));
        s.touchpoints = vec![
            touchpoint(-50, Order, Inbound),
            touchpoint(-10, Note, Internal),
            touchpoint(-5, Meeting, Internal),
            touchpoint(3, Order, Inbound),
        ];
        // Internal notes and internal meetings are not client activity; the future is unseen.
        assert_eq!(recency(&s, &all, at(0)).map(|r| (r.days, r.count)), Some((50, 1)));
        let notes = [Note];
        let only_notes = ActivitySources { interaction_kinds: &notes, metrics: &[] };
        assert_eq!(recency(&s, &only_notes, at(0)).map(|r| r.days), Some(10));
        // Positive observations of chosen metrics are activity; zeros are not.
        s.metrics.insert(
            "orders".into(),
            Series {
                aggregation: Some(MetricAggregation::Sum),
                direction: None,
                points: vec![(at(-20), 2.0), (at(-2), 0.0)],
            },
        );
        let keys = ["orders".to_owned()];
        let orders = ActivitySources { interaction_kinds: &[], metrics: &keys };
        assert_eq!(recency(&s, &orders, at(0)).map(|r| r.days), Some(20));
        assert_eq!(recency(&with_start(None), &all, at(0)), None);
    }

    #[test]
    fn frequency_of_active_periods() {
        use crate::{Direction::Inbound, InteractionKind::Call as Order};
        let all = ActivitySources::default();
        let mut s = with_start(None);
        // Active in periods 0, 1 and 5 of 30 days (days -1, -40, -160), and 8 periods before.
        s.touchpoints = [-1, -40, -160, -200, -230, -260, -290, -320, -350]
            .iter()
            .map(|d| touchpoint(*d, Order, Inbound))
            .collect();
        let f = frequency(&s, &all, at(0), 90, 270, 30).unwrap();
        assert_eq!((f.active_periods, f.periods), (2, 3));
        assert!((f.recent - 2.0 / 3.0).abs() < 1e-9);
        // Baseline periods 3..12 (days 90-360): active in 5 (-160), 6 (-200), 7 (-230), 8, 9, 10, 11.
        assert_eq!(f.baseline.map(|b| (b * 9.0).round()), Some(7.0));
        // A young account: periods since its first activity only, and no baseline.
        s.touchpoints = vec![touchpoint(-10, Order, Inbound)];
        let f = frequency(&s, &all, at(0), 90, 270, 30).unwrap();
        assert_eq!((f.active_periods, f.periods, f.baseline), (1, 1, None));
        // Active once, long before the loaded history: zero since, not unknown.
        let mut quiet = with_start(Some(-400));
        quiet.last_activity_before = Some(at(-390));
        let f = frequency(&quiet, &all, at(0), 90, 270, 30).unwrap();
        assert_eq!((f.recent, f.baseline), (0.0, Some(0.0)));
        assert_eq!(frequency(&with_start(Some(-400)), &all, at(0), 90, 270, 30), None);
        assert_eq!(frequency(&with_start(None), &all, at(0), 90, 270, 30), None);
    }

    #[test]
    fn account_facts_as_of_a_day() {
        let mut s = with_start(Some(-800));
        let change = |day: i64, v: i64, renewal: Option<i64>| ContractChange {
            id: ContractChangeId::generate(),
            organisation: OrganisationId::generate(),
            account: AccountId::generate(),
            effective_on: at(day).date_naive(),
            annual_value: Money { amount_minor: v, currency: "EUR".into() },
            renewal_date: renewal.map(|d| at(d).date_naive()),
            note: None,
            created_at: at(day),
        };
        s.contract_changes =
            vec![change(-800, 1000, Some(-435)), change(-435, 1200, Some(-70)), change(-70, 900, Some(295))];
        let day = |d: i64| at(d).date_naive();
        let a = account_as_of(&s, day(-500)).unwrap();
        assert_eq!(
            (a.annual_value_minor, a.renewal_date, a.term_start, a.tenure_days),
            (1000, Some(day(-435)), Some(day(-800)), Some(300))
        );
        let a = account_as_of(&s, day(0)).unwrap();
        assert_eq!((a.annual_value_minor, a.renewal_date, a.term_start), (900, Some(day(295)), Some(day(-70))));
        assert_eq!(account_as_of(&s, day(-900)).unwrap().tenure_days, None);
        assert_eq!(account_as_of(&Snapshot::default(), day(0)), None);
    }

    fn survey(kind: SurveyKind, score: i32, day: i64) -> SurveyResponse {
        SurveyResponse {
            id: SurveyResponseId::generate(),
            organisation: OrganisationId::generate(),
            account: AccountId::generate(),
            kind,
            score,
            contact: None,
            comment: None,
            responded_at: at(day),
            created_at: at(day),
        }
    }

    #[test]
    fn nps_and_csat() {
        use SurveyKind::{Csat, Nps};
        let f = survey_facts(
            &[
                survey(Nps, 10, -1),
                survey(Nps, 9, -2),
                survey(Nps, 7, -3),
                survey(Nps, 3, -4),
                survey(Nps, 10, -200),
                survey(Csat, 4, -5),
                survey(Csat, 5, -6),
            ],
            at(0),
            180,
        );
        assert_eq!(f.nps, Some(25.0));
        assert_eq!(f.nps_responses, 4);
        assert_eq!(f.detractors, 1);
        assert_eq!(f.previous_nps, Some(100.0));
        assert_eq!(f.csat, Some(4.5));
        assert_eq!(survey_facts(&[], at(0), 180), SurveyFacts::default());
    }

    #[test]
    fn latest_assessment_and_contract_trend() {
        let a = |day: i64, s: i16| Assessment {
            id: AssessmentId::generate(),
            organisation: OrganisationId::generate(),
            account: AccountId::generate(),
            assessed_by: UserId::generate(),
            assessed_at: at(day),
            stakeholder_sentiment: s,
            competitive_pressure: 3,
            strategic_alignment: 3,
            notes: None,
            created_at: at(day),
        };
        let list = [a(-400, 1), a(-30, 4), a(2, 5)];
        assert_eq!(latest_assessment(&list, at(0), 365).map(|a| a.stakeholder_sentiment), Some(4));
        assert_eq!(latest_assessment(&list[..1], at(0), 365), None);

        let c = |day: i64, v: i64| ContractChange {
            id: ContractChangeId::generate(),
            organisation: OrganisationId::generate(),
            account: AccountId::generate(),
            effective_on: at(day).date_naive(),
            annual_value: Money { amount_minor: v, currency: "EUR".into() },
            renewal_date: None,
            note: None,
            created_at: at(day),
        };
        let trend = contract_trend(&[c(-500, 1000), c(-100, 800)], at(0).date_naive()).unwrap();
        assert_eq!((trend.current_minor, trend.year_ago_minor), (800, 1000));
        assert!((trend.change + 0.2).abs() < 1e-9);
        assert_eq!(contract_trend(&[c(-100, 800)], at(0).date_naive()), None);
    }
}
