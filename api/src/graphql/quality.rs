//! Warning quality: how the organisation's scorecards and rules did against its own history.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use bellwether_domain::{AccountId, ScorecardId};
use bellwether_rules::quality::{self, Outcome, QualityRequest};

use super::health::HealthScorecard;
use super::risks::engine;
use super::scalars::Date;
use super::support::{GqlResult as _, Kind, input_id, request};

/// What counts as the outcome after an observation date.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum WarningOutcome {
    /// The account churned (its recorded `churnedOn`) within the horizon.
    Churn,
    /// No client activity (interactions other than internal notes) within the horizon, for
    /// accounts active before the date: the outcome of purchase-shaped data, where customers
    /// stop without saying so.
    Inactivity,
}

/// A scorecard to evaluate, with the score under which it counts as a warning.
#[derive(InputObject)]
pub struct WarningScorecardInput {
    /// The scorecard.
    pub id: ID,
    /// Scores below this warn (0-100; default: the scorecard's WATCH threshold, so POOR warns).
    pub threshold: Option<f64>,
}

/// What to evaluate, over which past dates, against which outcome.
#[derive(InputObject)]
pub struct WarningQualityInput {
    /// First observation date.
    pub from: Date,
    /// Last observation date; not in the future. Dates whose horizon runs past today are left
    /// out (their outcome is not known yet) and listed in `censoredDates`.
    pub to: Date,
    /// Observe every n days (1-365; default 30). At most 400 dates.
    #[graphql(default = 30)]
    pub every_days: i32,
    /// How far after each date the outcome counts (1-730 days; default 90).
    #[graphql(default = 90)]
    pub horizon_days: i32,
    /// The outcome (default CHURN).
    #[graphql(default_with = "WarningOutcome::Churn")]
    pub outcome: WarningOutcome,
    /// Scorecards to evaluate (at most 16). With neither scorecards nor rules: the default
    /// scorecard and every enabled rule.
    #[graphql(default)]
    pub scorecards: Vec<WarningScorecardInput>,
    /// Rules to evaluate by key (at most 64), with the organisation's current settings.
    #[graphql(default)]
    pub rule_keys: Vec<String>,
    /// Only these accounts (default: every account that is not archived). Accounts x dates is
    /// at most 2,000,000.
    #[graphql(default)]
    pub account_ids: Vec<ID>,
}

/// One scorecard's or rule's record against what happened.
#[derive(SimpleObject)]
pub struct WarningTarget {
    /// The scorecard evaluated, for scorecards.
    pub scorecard: Option<HealthScorecard>,
    /// The rule's key, for rules.
    pub rule_key: Option<String>,
    /// Its name.
    pub name: String,
    /// Scorecards: scores below this counted as warnings.
    pub threshold: Option<f64>,
    /// Observations (account x date) counted.
    pub observations: i32,
    /// Observations followed by the outcome within the horizon.
    pub positives: i32,
    /// Share of observations the target had something to say about (a score; a rule that ran).
    pub coverage: f64,
    /// ROC AUC of its ranking (0.5 is chance, 1 perfect; ties count half); null without both
    /// outcomes. Scorecards rank by low score, rules by the priority of what they found.
    pub auc: Option<f64>,
    /// Warnings issued (observations warned).
    pub warnings: i32,
    /// Share of warnings followed by the outcome.
    pub precision: Option<f64>,
    /// Share of observations followed by the outcome that were warned.
    pub recall: Option<f64>,
    /// Outcome rate among the riskiest tenth of observations over the overall rate.
    pub lift_top_decile: Option<f64>,
    /// Accounts with the outcome within the horizon of some observation.
    pub accounts_with_outcome: i32,
    /// Of those, the share never warned within the horizon before the outcome.
    pub never_warned_share: Option<f64>,
    /// Median days from the first warning within the horizon to the churn (CHURN only).
    pub median_lead_days: Option<f64>,
}

/// How well warnings did at past dates over your organisation's own history.
#[derive(SimpleObject)]
pub struct WarningQuality {
    /// Observation dates evaluated.
    pub dates: Vec<Date>,
    /// Dates left out because their horizon runs past today.
    pub censored_dates: Vec<Date>,
    /// Accounts considered.
    pub accounts: i32,
    /// Observations counted (an account counts at a date while it was a customer and, for
    /// INACTIVITY, had been active).
    pub observations: i32,
    /// Share of observations followed by the outcome.
    pub base_rate: Option<f64>,
    /// Each scorecard and rule, in the order asked (scorecards first).
    pub targets: Vec<WarningTarget>,
}

#[derive(Default)]
pub struct QualityQuery;

#[Object]
impl QualityQuery {
    /// Evaluates scorecards and rules at past observation dates (the end of each day on your
    /// organisation's calendar, seeing only what was known then) against what happened within
    /// the horizon after each: ranking (AUC), precision and recall at the threshold, lift in the
    /// top decile, lead time before churn, and churned accounts never warned. Nothing is stored.
    /// Admins and managers.
    async fn warning_quality(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Dates, horizon, outcome and the scorecards and rules to evaluate.")]
        input: WarningQualityInput,
    ) -> async_graphql::Result<WarningQuality> {
        let r = request(ctx);
        r.actor.require_manager().gql()?;
        let mut scorecards = Vec::with_capacity(input.scorecards.len());
        for (i, s) in input.scorecards.iter().enumerate().take(quality::MAX_SCORECARDS + 1) {
            let id = input_id(&s.id, Kind::HealthScorecard, &["input", "scorecards", &i.to_string(), "id"]).gql()?;
            scorecards.push((ScorecardId(id), s.threshold));
        }
        let mut accounts = Vec::with_capacity(input.account_ids.len().min(10_000));
        for (i, id) in input.account_ids.iter().enumerate() {
            accounts.push(AccountId(input_id(id, Kind::Account, &["input", "accountIds", &i.to_string()]).gql()?));
        }
        let req = QualityRequest {
            from: input.from.0,
            to: input.to.0,
            every_days: i64::from(input.every_days),
            horizon_days: i64::from(input.horizon_days),
            outcome: outcome(input.outcome),
            scorecards,
            rules: input.rule_keys,
            accounts,
            rule_params: Default::default(),
        };
        let q =
            engine(ctx).warning_quality(&r.db, r.actor.organisation, r.actor.time_zone, r.today, req).await.gql()?;
        Ok(WarningQuality {
            dates: q.dates.into_iter().map(Date).collect(),
            censored_dates: q.censored_dates.into_iter().map(Date).collect(),
            accounts: count(q.accounts),
            observations: count(q.observations),
            base_rate: q.base_rate,
            targets: q.targets.into_iter().map(target).collect(),
        })
    }
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// A target's figures as GraphQL.
pub(super) fn target(t: quality::TargetQuality) -> WarningTarget {
    WarningTarget {
        scorecard: t.scorecard.map(HealthScorecard),
        rule_key: t.rule_key,
        name: t.name,
        threshold: t.threshold,
        observations: count(t.figures.observations),
        positives: count(t.figures.positives),
        coverage: t.figures.coverage,
        auc: t.figures.auc,
        warnings: count(t.figures.warnings),
        precision: t.figures.precision,
        recall: t.figures.recall,
        lift_top_decile: t.figures.lift_top_decile,
        accounts_with_outcome: count(t.figures.accounts_with_outcome),
        never_warned_share: t.figures.never_warned_share,
        median_lead_days: t.figures.median_lead_days,
    }
}

/// The outcome enum in the engine's terms.
pub(super) fn outcome(o: WarningOutcome) -> Outcome {
    match o {
        WarningOutcome::Churn => Outcome::Churn,
        WarningOutcome::Inactivity => Outcome::Inactivity,
    }
}
