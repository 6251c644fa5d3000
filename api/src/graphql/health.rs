//! Health: scores with their explanation and history, and the scorecards that produce them.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use bellwether_domain::ScorecardId;
use bellwether_domain::health::scorecard::{Bands, Definition, MeasureSpec};
use bellwether_domain::health::{self, ScorecardInput};
use chrono::{DateTime, Utc};

use super::scalars::{HealthBand, HealthMeasureKind, InteractionKind};
use super::support::{Kind, global_id, input_id, internal, outcome, payload, request};

/// A named number behind a measure.
#[derive(SimpleObject)]
pub struct HealthEvidence {
    /// What it is, e.g. `maxDaysOverdue`.
    pub name: String,
    /// Its value.
    pub value: f64,
}

/// One measure of a health score, explained.
#[derive(SimpleObject)]
pub struct HealthMeasure {
    /// What it looks at.
    pub kind: HealthMeasureKind,
    /// The metric, for usage trends.
    pub metric: Option<String>,
    /// The measure's name as people see it.
    pub label: String,
    /// The headline raw value (e.g. -0.18 for an 18% usage drop); null without data.
    pub value: Option<f64>,
    /// 0-100; null without data (the measure then does not count).
    pub score: Option<f64>,
    /// The configured weight.
    pub weight: f64,
    /// Share of the total carried by this measure after leaving out measures without data (0-1).
    pub effective_weight: f64,
    /// Points this measure adds to the score.
    pub contribution: f64,
    /// Why, in a sentence.
    pub detail: String,
    /// The numbers behind it.
    pub evidence: Vec<HealthEvidence>,
}

/// How one measure moved since the previous score.
#[derive(SimpleObject)]
pub struct HealthMeasureChange {
    /// The name of the measure that moved.
    pub label: String,
    /// Its previous score.
    pub previous_score: Option<f64>,
    /// Its score now.
    pub score: Option<f64>,
    /// Points it added (positive) or took away (negative) from the total.
    pub contribution_delta: f64,
}

/// What changed since the previous score.
#[derive(SimpleObject)]
pub struct HealthChange {
    /// The previous score.
    pub previous_score: Option<f64>,
    /// The previous band.
    pub previous_band: Option<HealthBand>,
    /// Score now minus the previous score.
    pub score_delta: Option<f64>,
    /// Measures that moved, largest movement first.
    pub measures: Vec<HealthMeasureChange>,
}

pub struct HealthScore(pub health::HealthScore);

/// An account's health with one scorecard at one moment, explained.
#[Object]
impl HealthScore {
    /// Opaque global id: pass it to `node(id:)` or wherever an input asks for this object.
    pub async fn id(&self) -> ID {
        global_id(Kind::HealthScore, self.0.id.0)
    }
    /// 0-100; null when no measure had data.
    async fn score(&self) -> Option<f64> {
        self.0.score
    }
    /// The band the score falls in.
    async fn band(&self) -> Option<HealthBand> {
        self.0.band.map(Into::into)
    }
    /// When it was computed.
    async fn computed_at(&self) -> DateTime<Utc> {
        self.0.computed_at
    }
    /// What caused the computation.
    async fn trigger(&self) -> &str {
        &self.0.trigger
    }
    /// The scorecard the score was computed with.
    async fn scorecard(&self, ctx: &Context<'_>) -> async_graphql::Result<HealthScorecard> {
        let loaded = request(ctx).loader.load_one(self.0.scorecard).await.map_err(super::loaders::load_error)?;
        loaded.map(HealthScorecard).ok_or_else(internal)
    }
    /// Each measure: value, score, weight and contribution.
    async fn measures(&self) -> Vec<HealthMeasure> {
        self.0
            .evaluation
            .measures
            .iter()
            .map(|m| HealthMeasure {
                kind: m.kind.into(),
                metric: m.metric.clone(),
                label: m.label.clone(),
                value: m.value,
                score: m.score,
                weight: m.weight,
                effective_weight: m.effective_weight,
                contribution: m.contribution,
                detail: m.detail.clone(),
                evidence: m.evidence.iter().map(|e| HealthEvidence { name: e.name.clone(), value: e.value }).collect(),
            })
            .collect()
    }
    /// What changed since the previous score; null for the first one.
    async fn changes(&self) -> Option<HealthChange> {
        self.0.change.as_ref().map(|c| HealthChange {
            previous_score: c.previous_score,
            previous_band: c.previous_band.map(Into::into),
            score_delta: c.score_delta,
            measures: c
                .measures
                .iter()
                .map(|m| HealthMeasureChange {
                    label: m.label.clone(),
                    previous_score: m.previous_score,
                    score: m.score,
                    contribution_delta: m.contribution_delta,
                })
                .collect(),
        })
    }
}

/// One measure of a scorecard.
#[derive(SimpleObject)]
pub struct HealthMeasureSpec {
    /// What it looks at.
    pub kind: HealthMeasureKind,
    /// Its weight.
    pub weight: f64,
    /// The metric, for usage trends and metric levels.
    pub metric: Option<String>,
    /// Recent window in days.
    pub window_days: Option<i32>,
    /// Baseline window in days, for usage and activity trends.
    pub baseline_days: Option<i32>,
    /// Length of an activity period in days, for activity frequency and trend.
    pub period_days: Option<i32>,
    /// Interaction kinds counted as activity (empty: every kind but internal notes).
    pub interaction_kinds: Vec<InteractionKind>,
    /// Metrics whose positive observations count as activity.
    pub activity_metrics: Vec<String>,
    /// The level a metric level measure compares with.
    pub target: Option<f64>,
    /// The number attribute holding each account's own target.
    pub entitlement_attribute: Option<String>,
    /// The custom attribute an attribute measure reads.
    pub attribute: Option<String>,
    /// The scoring curve in effect: the configured one or the kind's default; empty for
    /// measures that score options.
    pub curve: Vec<HealthCurvePoint>,
    /// Score per option, for tier, segment and attribute measures.
    pub scores: Vec<HealthOptionScore>,
}

/// A breakpoint of a scoring curve: the measure's number and the score it gets. Scores are
/// linear between breakpoints and flat beyond the ends.
#[derive(SimpleObject, InputObject)]
#[graphql(input_name = "HealthCurvePointInput")]
pub struct HealthCurvePoint {
    /// The measure's number (days, a share, a ratio, ... as its kind says).
    pub value: f64,
    /// The score at that number, 0-100.
    pub score: f64,
}

/// The score an option (a tier, a segment, an attribute value) gets.
#[derive(SimpleObject, InputObject)]
#[graphql(input_name = "HealthOptionScoreInput")]
pub struct HealthOptionScore {
    /// The option as stored, e.g. `strategic`, `true` or an enumeration option's key.
    pub option: String,
    /// Its score, 0-100.
    pub score: f64,
}

/// Score thresholds of a scorecard.
#[derive(SimpleObject)]
pub struct HealthBands {
    /// Scores at least this are GOOD.
    pub good: f64,
    /// Scores at least this (and below `good`) are WATCH; below are POOR.
    pub watch: f64,
}

pub struct HealthScorecard(pub health::Scorecard);

/// A named, weighted set of health measures with bands.
#[Object]
impl HealthScorecard {
    /// Opaque global id: pass it to `node(id:)` or wherever an input asks for this object.
    pub async fn id(&self) -> ID {
        global_id(Kind::HealthScorecard, self.0.id.0)
    }
    /// Name, unique in your organisation.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Whether accounts' `health` uses this scorecard by default.
    async fn is_default(&self) -> bool {
        self.0.is_default
    }
    /// What the scorecard weighs, with each measure's weight and windows.
    async fn measures(&self) -> Vec<HealthMeasureSpec> {
        self.0
            .definition
            .measures
            .iter()
            .map(|m| HealthMeasureSpec {
                kind: m.kind.into(),
                weight: m.weight,
                metric: m.metric.clone(),
                window_days: m.window_days.map(|d| d as i32),
                baseline_days: m.baseline_days.map(|d| d as i32),
                period_days: m.period_days.map(|d| d as i32),
                interaction_kinds: m.interaction_kinds.iter().map(|k| (*k).into()).collect(),
                activity_metrics: m.activity_metrics.clone(),
                target: m.target,
                entitlement_attribute: m.entitlement_attribute.clone(),
                attribute: m.attribute.clone(),
                curve: m
                    .curve
                    .as_deref()
                    .or(m.kind.default_curve())
                    .unwrap_or_default()
                    .iter()
                    .map(|(value, score)| HealthCurvePoint { value: *value, score: *score })
                    .collect(),
                scores: m
                    .scores
                    .iter()
                    .flatten()
                    .map(|(option, score)| HealthOptionScore { option: option.clone(), score: *score })
                    .collect(),
            })
            .collect()
    }
    /// The score thresholds between GOOD, WATCH and POOR.
    async fn bands(&self) -> HealthBands {
        HealthBands { good: self.0.definition.bands.good, watch: self.0.definition.bands.watch }
    }
    /// Increases with every change.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// One measure of a scorecard, as input.
#[derive(InputObject)]
pub struct HealthMeasureInput {
    /// What it looks at.
    pub kind: HealthMeasureKind,
    /// Weight (greater than 0, at most 100); weights are relative.
    pub weight: f64,
    /// The metric key (usage trends and metric levels).
    pub metric: Option<String>,
    /// Recent window in days (usage trends and metric levels 30, activity 90; 1-730).
    pub window_days: Option<i32>,
    /// Baseline window in days before the recent one (usage trends 90, activity trend 270).
    pub baseline_days: Option<i32>,
    /// Length of an activity period in days (activity frequency and trend; default 30).
    pub period_days: Option<i32>,
    /// Interaction kinds that count as activity (activity measures; default every kind but
    /// internal notes; at most 16).
    pub interaction_kinds: Option<Vec<InteractionKind>>,
    /// Metrics whose positive observations count as activity (activity measures; at most 16).
    /// An event-shaped feed (points only on days with activity) fits here.
    pub activity_metrics: Option<Vec<String>>,
    /// The level to reach (metric levels).
    pub target: Option<f64>,
    /// A number attribute holding each account's own target (metric levels), e.g. licensed
    /// seats; used where the account has it, `target` elsewhere.
    pub entitlement_attribute: Option<String>,
    /// The custom attribute's key (attribute measures).
    pub attribute: Option<String>,
    /// Scoring breakpoints, values strictly increasing (2-16; default per kind; required for
    /// annual value and numeric attributes).
    pub curve: Option<Vec<HealthCurvePoint>>,
    /// Score per option (tier, segment, attribute measures; at most 64).
    pub scores: Option<Vec<HealthOptionScore>>,
}

/// The score thresholds of a scorecard, as input.
#[derive(InputObject)]
pub struct HealthBandsInput {
    /// Scores at least this are GOOD.
    pub good: f64,
    /// Scores at least this are WATCH; below are POOR.
    pub watch: f64,
}

/// A scorecard definition as input.
#[derive(InputObject)]
pub struct HealthScorecardDefinitionInput {
    /// What the scorecard weighs (1-32 measures).
    pub measures: Vec<HealthMeasureInput>,
    /// The score thresholds between GOOD, WATCH and POOR.
    pub bands: HealthBandsInput,
}

impl HealthScorecardDefinitionInput {
    /// The domain definition; an option scored twice in one measure is refused here, where the
    /// list still shows it (the domain keeps scores in a map).
    fn into_definition(self) -> Result<Definition, bellwether_domain::Error> {
        let i = self;
        for (n, m) in i.measures.iter().enumerate() {
            let mut seen = std::collections::HashSet::new();
            if let Some(o) = m.scores.iter().flatten().find(|o| !seen.insert(o.option.as_str())) {
                return Err(bellwether_domain::Error::invalid(
                    &["definition", "measures", &n.to_string(), "scores"],
                    format!("the option '{}' is scored twice", o.option),
                ));
            }
        }
        Ok(Definition {
            measures: i
                .measures
                .into_iter()
                .map(|m| MeasureSpec {
                    kind: m.kind.into(),
                    weight: m.weight,
                    metric: m.metric,
                    window_days: m.window_days.map(i64::from),
                    baseline_days: m.baseline_days.map(i64::from),
                    period_days: m.period_days.map(i64::from),
                    interaction_kinds: m.interaction_kinds.unwrap_or_default().into_iter().map(Into::into).collect(),
                    activity_metrics: m.activity_metrics.unwrap_or_default(),
                    target: m.target,
                    entitlement_attribute: m.entitlement_attribute,
                    attribute: m.attribute,
                    curve: m.curve.map(|c| c.into_iter().map(|p| (p.value, p.score)).collect()),
                    scores: m.scores.map(|s| s.into_iter().map(|o| (o.option, o.score)).collect()),
                })
                .collect(),
            bands: Bands { good: i.bands.good, watch: i.bands.watch },
        })
    }
}

/// A scorecard to create: its name, measures and bands.
#[derive(InputObject)]
pub struct CreateHealthScorecardInput {
    /// Name, unique in your organisation.
    pub name: String,
    /// Its measures and bands.
    pub definition: HealthScorecardDefinitionInput,
    /// Make it the default for accounts' `health`.
    #[graphql(default)]
    pub make_default: bool,
}

/// Changes to a scorecard; omitted fields stay.
#[derive(InputObject)]
pub struct UpdateHealthScorecardInput {
    /// The scorecard to change.
    pub id: ID,
    /// Its name from now on, unique in your organisation.
    pub name: Option<String>,
    /// New measures and bands.
    pub definition: Option<HealthScorecardDefinitionInput>,
    /// Make it the default.
    #[graphql(default)]
    pub make_default: bool,
    /// Fail with a CONFLICT user error unless it still has this version.
    pub expected_version: Option<i32>,
}

payload!(
    /// Result of a scorecard mutation.
    HealthScorecardPayload { scorecard: HealthScorecard }
);

#[derive(Default)]
pub struct HealthMutation;

#[Object]
impl HealthMutation {
    /// Creates a scorecard. Admins and managers. Every account's health is recomputed with it.
    async fn create_health_scorecard(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The scorecard's name, measures and bands, and whether it becomes the default.")]
        input: CreateHealthScorecardInput,
    ) -> async_graphql::Result<HealthScorecardPayload> {
        let r = request(ctx);
        let result = async {
            let definition = input.definition.into_definition()?;
            let new = ScorecardInput { name: input.name, definition, make_default: input.make_default };
            health::create_scorecard(&r.db, &r.actor, new).await
        }
        .await;
        if result.is_ok() {
            super::signals::wake(ctx);
        }
        outcome(result, HealthScorecard).map(Into::into)
    }

    /// Changes a scorecard. Admins and managers.
    async fn update_health_scorecard(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The scorecard and what to change; omitted fields stay as they are.")]
        input: UpdateHealthScorecardInput,
    ) -> async_graphql::Result<HealthScorecardPayload> {
        let r = request(ctx);
        let result = async {
            let id = ScorecardId(input_id(&input.id, Kind::HealthScorecard, &["id"])?);
            let definition = input.definition.map(HealthScorecardDefinitionInput::into_definition).transpose()?;
            health::update_scorecard(
                &r.db,
                &r.actor,
                id,
                input.name,
                definition,
                input.make_default,
                input.expected_version,
            )
            .await
        }
        .await;
        if result.is_ok() {
            super::signals::wake(ctx);
        }
        outcome(result, HealthScorecard).map(Into::into)
    }
}

/// The scorecard id argument of health fields.
pub fn scorecard_arg(id: Option<ID>) -> async_graphql::Result<Option<ScorecardId>> {
    id.map(|i| input_id(&i, Kind::HealthScorecard, &["scorecardId"]).map(ScorecardId))
        .transpose()
        .map_err(super::support::to_graphql)
}
