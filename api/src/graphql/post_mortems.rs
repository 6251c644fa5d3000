//! Post-mortems of closed risks and churned accounts, their assembled timelines, the feedback
//! items they route to teams, and the lessons across them (by root cause and category, and
//! playbook effectiveness).

use std::sync::Arc;

use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object};
use bellwether_domain::post_mortems::{
    self as domain, Assembly, Change, FeedbackChange, FeedbackFilter as DomainFeedbackFilter, NewPostMortem,
    PostMortemFilter as DomainFilter, Review, Subject, TimelineEvent,
};
use bellwether_domain::{self as d, AccountId, FeedbackItemId, PostMortemId, RiskId};
use bellwether_rules::engine::Engine;
use chrono::{DateTime, Utc};
use tokio::sync::OnceCell;

use super::accounts::Account;
use super::count::TotalCount;
use super::loaders::{FeedbackOf, load_error};
use super::plans::{PlaybookEffectiveness, clamp};
use super::risks::{Risk, optional_user};
use super::scalars::{
    Date, FeedbackStatus, FeedbackTeam, InteractionKind, PostMortemOutcome, RiskCategory, RiskEventKind, RootCause,
    domain_list,
};
use super::support::{
    GqlResult, Kind, connection, global_id, input_id, internal, outcome, page_cost, page_request, payload, request,
};
use super::users::User;

pub struct PostMortem {
    pm: domain::PostMortem,
    assembly: OnceCell<Assembly>,
}

impl PostMortem {
    pub fn new(pm: domain::PostMortem) -> Self {
        Self { pm, assembly: OnceCell::new() }
    }

    async fn assembly(&self, ctx: &Context<'_>) -> async_graphql::Result<&Assembly> {
        self.assembly
            .get_or_try_init(|| async {
                let r = request(ctx);
                domain::assemble(&r.db, r.actor.organisation, &self.pm).await.gql()
            })
            .await
    }
}

/// What a timeline entry records.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum TimelineEntryKind {
    /// A rule first reported a risk.
    FirstSignal,
    /// An entry of a risk's audit trail (see `riskEventKind`).
    RiskEvent,
    /// A plan action was planned.
    ActionPlanned,
    /// A plan action was done.
    ActionDone,
    /// A plan action was cancelled.
    ActionCancelled,
    /// An update was given to the team or the client.
    Update,
    /// An interaction with the client (see `interactionKind`).
    Interaction,
    /// The account churned.
    Churn,
}

pub struct TimelineEntry(domain::TimelineEntry);

/// One entry of a post-mortem's timeline.
#[Object]
impl TimelineEntry {
    /// When it happened.
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    /// What kind of entry.
    async fn kind(&self) -> TimelineEntryKind {
        match &self.0.event {
            TimelineEvent::FirstSignal { .. } => TimelineEntryKind::FirstSignal,
            TimelineEvent::Risk(_) => TimelineEntryKind::RiskEvent,
            TimelineEvent::Action(d::ActionStatus::Open) => TimelineEntryKind::ActionPlanned,
            TimelineEvent::Action(d::ActionStatus::Done) => TimelineEntryKind::ActionDone,
            TimelineEvent::Action(d::ActionStatus::Cancelled) => TimelineEntryKind::ActionCancelled,
            TimelineEvent::Update => TimelineEntryKind::Update,
            TimelineEvent::Interaction(_) => TimelineEntryKind::Interaction,
            TimelineEvent::Churn => TimelineEntryKind::Churn,
        }
    }
    /// For risk events: which.
    async fn risk_event_kind(&self) -> Option<RiskEventKind> {
        match self.0.event {
            TimelineEvent::Risk(k) => Some(k.into()),
            _ => None,
        }
    }
    /// For interactions: which kind.
    async fn interaction_kind(&self) -> Option<InteractionKind> {
        match self.0.event {
            TimelineEvent::Interaction(k) => Some(k.into()),
            _ => None,
        }
    }
    /// For first signals: the rule.
    async fn rule_key(&self) -> Option<&str> {
        match &self.0.event {
            TimelineEvent::FirstSignal { rule_key } => Some(rule_key),
            _ => None,
        }
    }
    /// The risk it concerns.
    async fn risk(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Risk>> {
        super::plans::optional_risk(ctx, self.0.risk).await
    }
    /// Who acted (the owner for planned actions); null for rules and interactions.
    async fn actor(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        optional_user(ctx, self.0.actor).await
    }
    /// What happened.
    async fn text(&self) -> &str {
        &self.0.text
    }
}

/// The review of a resolved or materialized risk, or of a churn.
#[Object]
impl PostMortem {
    /// Opaque global id: pass it to `node(id:)` or wherever an input asks for this object.
    pub async fn id(&self) -> ID {
        global_id(Kind::PostMortem, self.pm.id.0)
    }
    /// The client account reviewed.
    async fn account(&self, ctx: &Context<'_>) -> async_graphql::Result<Account> {
        request(ctx).loader.load_one(self.pm.account).await.map_err(load_error)?.map(Account).ok_or_else(internal)
    }
    /// The risk reviewed; null for a churn.
    async fn risk(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Risk>> {
        super::plans::optional_risk(ctx, self.pm.risk).await
    }
    /// The churn date reviewed; null for a risk.
    async fn churned_on(&self) -> Option<Date> {
        self.pm.churned_on.map(Date)
    }
    /// Mitigated (the risk was resolved) or lost (materialized or churned).
    async fn outcome(&self) -> PostMortemOutcome {
        self.pm.outcome.into()
    }
    /// When the risk closed or the account churned.
    async fn outcome_at(&self) -> DateTime<Utc> {
        self.pm.outcome_at
    }
    /// The risk category (the risk's, unless set otherwise).
    async fn category(&self) -> Option<RiskCategory> {
        self.pm.category.map(Into::into)
    }
    /// The underlying cause.
    async fn root_cause(&self) -> RootCause {
        self.pm.root_cause.into()
    }
    /// The review in a few sentences.
    async fn summary(&self) -> &str {
        &self.pm.summary
    }
    /// What happened.
    async fn what_happened(&self) -> &str {
        &self.pm.what_happened
    }
    /// What worked.
    async fn what_worked(&self) -> &str {
        &self.pm.what_worked
    }
    /// What to improve.
    async fn what_to_improve(&self) -> &str {
        &self.pm.what_to_improve
    }
    /// Who wrote it.
    async fn author(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        optional_user(ctx, Some(self.pm.author)).await?.ok_or_else(internal)
    }
    /// What happened when, assembled from the record: first signals, risk events, plan actions,
    /// updates and interactions (90 days before the first signal, or a year before a churn, to
    /// the outcome; the latest 500 entries).
    async fn timeline(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<TimelineEntry>> {
        Ok(self.assembly(ctx).await?.timeline.iter().cloned().map(TimelineEntry).collect())
    }
    /// Days from the first finding to the outcome; null when no rule saw it coming.
    async fn detection_lead_days(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<f64>> {
        Ok(self.assembly(ctx).await?.detection_lead_days)
    }
    /// Rules that raised risks on the account in the run-up, earliest first.
    async fn rules_fired(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<String>> {
        Ok(self.assembly(ctx).await?.rules_fired.clone())
    }
    /// Rules enabled now that did not fire in the run-up (candidates for tuning).
    async fn rules_silent(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<String>> {
        let fired = &self.assembly(ctx).await?.rules_fired;
        let r = request(ctx);
        let rules = ctx.data_unchecked::<Arc<Engine>>().configured(&r.db, r.actor.organisation).await.gql()?;
        let enabled: Vec<&str> = rules.iter().filter(|c| c.runs()).map(|c| c.rule.meta().key.as_str()).collect();
        Ok(domain::silent_rules(enabled, fired))
    }
    /// Lessons routed to teams.
    async fn feedback_items(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<FeedbackItem>> {
        let found = request(ctx).loader.load_one(FeedbackOf(self.pm.id)).await.map_err(load_error)?;
        Ok(found.unwrap_or_default().into_iter().map(FeedbackItem).collect())
    }
    /// Increases with every change; pass it as `expectedVersion`.
    async fn version(&self) -> i32 {
        self.pm.version
    }
    /// When it was written.
    async fn created_at(&self) -> DateTime<Utc> {
        self.pm.created_at
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.pm.updated_at
    }
}

pub struct FeedbackItem(pub domain::FeedbackItem);

/// A lesson of a post-mortem routed to a team.
#[Object]
impl FeedbackItem {
    /// Opaque global id: pass it to `node(id:)` or wherever an input asks for this object.
    pub async fn id(&self) -> ID {
        global_id(Kind::FeedbackItem, self.0.id.0)
    }
    /// The post-mortem it came from.
    async fn post_mortem(&self, ctx: &Context<'_>) -> async_graphql::Result<PostMortem> {
        let r = request(ctx);
        domain::get(&r.db, r.actor.organisation, self.0.post_mortem)
            .await
            .gql()?
            .map(PostMortem::new)
            .ok_or_else(internal)
    }
    /// The team it is for.
    async fn team(&self) -> FeedbackTeam {
        self.0.team.into()
    }
    /// One line.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// The explanation.
    async fn detail(&self) -> &str {
        &self.0.detail
    }
    /// Where it is.
    async fn status(&self) -> FeedbackStatus {
        self.0.status.into()
    }
    /// Who routed it.
    async fn created_by(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        optional_user(ctx, Some(self.0.created_by)).await?.ok_or_else(internal)
    }
    /// When it was done or declined.
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at
    }
    /// Increases with every change; pass it as `expectedVersion`.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When it was routed.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

pub struct LessonTally(domain::Tally);

/// Post-mortems of one group, by outcome.
#[Object]
impl LessonTally {
    /// Post-mortems in the group.
    async fn count(&self) -> i32 {
        clamp(self.0.count)
    }
    /// Of which mitigated.
    async fn mitigated(&self) -> i32 {
        clamp(self.0.mitigated)
    }
    /// Of which lost.
    async fn lost(&self) -> i32 {
        clamp(self.0.lost)
    }
    /// Median days from the first finding to the outcome, among those a rule saw coming.
    async fn median_detection_lead_days(&self) -> Option<f64> {
        self.0.median_lead_days
    }
}

pub struct RootCauseLesson(RootCause, LessonTally);

/// Post-mortems of one root cause.
#[Object]
impl RootCauseLesson {
    /// The root cause.
    async fn root_cause(&self) -> RootCause {
        self.0
    }
    /// Its post-mortems.
    async fn tally(&self) -> &LessonTally {
        &self.1
    }
}

pub struct CategoryLesson(Option<RiskCategory>, LessonTally);

/// Post-mortems of one risk category.
#[Object]
impl CategoryLesson {
    /// The category; null for post-mortems without one (churns).
    async fn category(&self) -> Option<RiskCategory> {
        self.0
    }
    /// Its post-mortems.
    async fn tally(&self) -> &LessonTally {
        &self.1
    }
}

pub struct PlaybookLesson(d::plans::Effectiveness);

/// Effectiveness of one playbook.
#[Object]
impl PlaybookLesson {
    /// The playbook, as it is now.
    async fn playbook(&self, ctx: &Context<'_>) -> async_graphql::Result<super::plans::Playbook> {
        let r = request(ctx);
        d::playbooks::get(&r.db, r.actor.organisation, self.0.playbook)
            .await
            .gql()?
            .map(super::plans::Playbook)
            .ok_or_else(internal)
    }
    /// Its plans and what became of their risks.
    async fn effectiveness(&self) -> PlaybookEffectiveness {
        PlaybookEffectiveness(self.0.clone())
    }
}

pub struct Lessons {
    lessons: domain::Lessons,
    since: Option<DateTime<Utc>>,
}

/// What the post-mortems teach.
#[Object]
impl Lessons {
    /// All post-mortems matching the filter.
    async fn total(&self) -> LessonTally {
        LessonTally(self.lessons.total.clone())
    }
    /// By root cause, most frequent first.
    async fn by_root_cause(&self) -> Vec<RootCauseLesson> {
        self.lessons.by_root_cause.iter().map(|(c, t)| RootCauseLesson((*c).into(), LessonTally(t.clone()))).collect()
    }
    /// By risk category, most frequent first.
    async fn by_category(&self) -> Vec<CategoryLesson> {
        self.lessons
            .by_category
            .iter()
            .map(|(c, t)| CategoryLesson(c.map(Into::into), LessonTally(t.clone())))
            .collect()
    }
    /// Every playbook applied at least once (plans made since the filter's `from`), most
    /// applied first: plans, share resolved vs materialized, median days to resolve.
    async fn playbooks(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<PlaybookLesson>> {
        let r = request(ctx);
        Ok(d::plans::effectiveness(&r.db, r.actor.organisation, self.since)
            .await
            .gql()?
            .into_iter()
            .map(PlaybookLesson)
            .collect())
    }
}

/// Conditions on post-mortems; all given must hold.
#[derive(InputObject, Default)]
pub struct PostMortemFilter {
    /// Only this account's.
    pub account_id: Option<ID>,
    /// Only this outcome.
    pub outcome: Option<PostMortemOutcome>,
    /// Only these root causes.
    pub root_causes: Option<Vec<RootCause>>,
    /// Only these categories.
    pub categories: Option<Vec<RiskCategory>>,
    /// Outcome at or after.
    pub from: Option<DateTime<Utc>>,
    /// Outcome before.
    pub to: Option<DateTime<Utc>>,
}

impl PostMortemFilter {
    fn into_domain(self) -> Result<DomainFilter, d::Error> {
        if let (Some(from), Some(to)) = (self.from, self.to)
            && to < from
        {
            return Err(d::Error::invalid(&["filter", "to"], "must not be before from"));
        }
        Ok(DomainFilter {
            account: self
                .account_id
                .map(|i| input_id(&i, Kind::Account, &["filter", "accountId"]).map(AccountId))
                .transpose()?,
            outcome: self.outcome.map(Into::into),
            root_causes: domain_list(self.root_causes),
            categories: domain_list(self.categories),
            from: self.from,
            to: self.to,
        })
    }
}

/// Conditions on feedback items; all given must hold.
#[derive(InputObject, Default)]
pub struct FeedbackItemFilter {
    /// Only those of this post-mortem.
    pub post_mortem_id: Option<ID>,
    /// Only those for these teams.
    pub teams: Option<Vec<FeedbackTeam>>,
    /// Only these states.
    pub statuses: Option<Vec<FeedbackStatus>>,
}

#[derive(Default)]
pub struct PostMortemQuery;

#[Object]
impl PostMortemQuery {
    /// Post-mortems, latest outcome first. Risks and churned accounts still missing one:
    /// `risks(filter: { postMortemDue: true })` and `accounts(filter: { postMortemDue: true })`.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn post_mortems(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Conditions the post-mortems must meet.")] filter: Option<PostMortemFilter>,
        #[graphql(desc = "Return the first n items after `after` (1-100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.endCursor`.")] after: Option<String>,
        #[graphql(desc = "Return the last n items before `before` (1-100).")] last: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.startCursor`.")] before: Option<String>,
    ) -> async_graphql::Result<Connection<String, PostMortem, TotalCount, EmptyFields>> {
        let r = request(ctx);
        let f = filter.unwrap_or_default().into_domain().gql()?;
        let page = page_request(first, after, last, before)?;
        let page = domain::list(&r.db, r.actor.organisation, &f, &page).await.gql()?;
        Ok(connection(page, TotalCount::PostMortems(f), PostMortem::new))
    }

    /// What the post-mortems matching the filter teach: by root cause, by category, and how
    /// well each playbook worked.
    async fn lessons(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Conditions the post-mortems must meet.")] filter: Option<PostMortemFilter>,
    ) -> async_graphql::Result<Lessons> {
        let r = request(ctx);
        let f = filter.unwrap_or_default().into_domain().gql()?;
        let lessons = domain::lessons(&r.db, r.actor.organisation, &f).await.gql()?;
        Ok(Lessons { lessons, since: f.from })
    }

    /// Feedback items routed to teams, oldest first (a team's queue).
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn feedback_items(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Conditions the items must meet.")] filter: Option<FeedbackItemFilter>,
        #[graphql(desc = "Return the first n items after `after` (1-100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.endCursor`.")] after: Option<String>,
        #[graphql(desc = "Return the last n items before `before` (1-100).")] last: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.startCursor`.")] before: Option<String>,
    ) -> async_graphql::Result<Connection<String, FeedbackItem, TotalCount, EmptyFields>> {
        let r = request(ctx);
        let filter = filter.unwrap_or_default();
        let f = DomainFeedbackFilter {
            post_mortem: filter
                .post_mortem_id
                .map(|i| input_id(&i, Kind::PostMortem, &["filter", "postMortemId"]).map(PostMortemId))
                .transpose()
                .gql()?,
            teams: domain_list(filter.teams),
            statuses: domain_list(filter.statuses),
        };
        let page = page_request(first, after, last, before)?;
        let page = domain::list_feedback(&r.db, r.actor.organisation, &f, &page).await.gql()?;
        Ok(connection(page, TotalCount::FeedbackItems(f), FeedbackItem))
    }
}

payload!(
    /// Result of a post-mortem mutation.
    PostMortemPayload { post_mortem: PostMortem }
);

payload!(
    /// Result of a feedback-item mutation.
    FeedbackItemPayload { item: FeedbackItem }
);

/// Records a post-mortem: give `riskId` (a resolved or materialized risk) or `accountId` (a
/// churned account), not both.
#[derive(InputObject)]
pub struct RecordPostMortemInput {
    /// The risk reviewed.
    pub risk_id: Option<ID>,
    /// The churned account reviewed.
    pub account_id: Option<ID>,
    /// The risk category (default: the risk's; none for a churn).
    pub category: Option<RiskCategory>,
    /// The underlying cause.
    pub root_cause: RootCause,
    /// In short (at most 2,000 characters).
    pub summary: String,
    /// What happened.
    #[graphql(default)]
    pub what_happened: String,
    /// What worked.
    #[graphql(default)]
    pub what_worked: String,
    /// What to improve.
    #[graphql(default)]
    pub what_to_improve: String,
}

/// Edits a post-mortem; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdatePostMortemInput {
    /// The post-mortem to edit.
    pub id: ID,
    /// The risk category (null: none).
    pub category: MaybeUndefined<RiskCategory>,
    /// The underlying cause.
    pub root_cause: Option<RootCause>,
    /// The review in a few sentences.
    pub summary: Option<String>,
    /// What happened.
    pub what_happened: Option<String>,
    /// What worked.
    pub what_worked: Option<String>,
    /// What to improve.
    pub what_to_improve: Option<String>,
    /// Fail with a CONFLICT user error unless the post-mortem still has this version.
    pub expected_version: Option<i32>,
}

/// Routes a lesson of a post-mortem to a team.
#[derive(InputObject)]
pub struct AddFeedbackItemInput {
    /// The post-mortem the lesson comes from.
    pub post_mortem_id: ID,
    /// The team it is for.
    pub team: FeedbackTeam,
    /// One line (at most 300 characters).
    pub title: String,
    /// The explanation.
    #[graphql(default)]
    pub detail: String,
}

/// Moves or edits a feedback item; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateFeedbackItemInput {
    /// The feedback item to move or edit.
    pub id: ID,
    /// Another team.
    pub team: Option<FeedbackTeam>,
    /// One line.
    pub title: Option<String>,
    /// The explanation.
    pub detail: Option<String>,
    /// Its new state.
    pub status: Option<FeedbackStatus>,
    /// Fail with a CONFLICT user error unless the item still has this version.
    pub expected_version: Option<i32>,
}

#[derive(Default)]
pub struct PostMortemMutation;

#[Object]
impl PostMortemMutation {
    /// Records the post-mortem of a resolved or materialized risk, or of a churned account (those
    /// who may write the account).
    async fn record_post_mortem(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The resolved or materialized risk, or the churned account, with its root cause and review.")]
        input: RecordPostMortemInput,
    ) -> async_graphql::Result<PostMortemPayload> {
        let r = request(ctx);
        let result = async {
            let subject = match (&input.risk_id, &input.account_id) {
                (Some(id), None) => Subject::Risk(RiskId(input_id(id, Kind::Risk, &["riskId"])?)),
                (None, Some(id)) => Subject::Churn(AccountId(input_id(id, Kind::Account, &["accountId"])?)),
                _ => return Err(d::Error::invalid(&[], "give riskId or accountId, not both")),
            };
            let new = NewPostMortem {
                subject,
                category: input.category.map(Into::into),
                root_cause: input.root_cause.into(),
                review: Review {
                    summary: input.summary,
                    what_happened: input.what_happened,
                    what_worked: input.what_worked,
                    what_to_improve: input.what_to_improve,
                },
            };
            domain::record(&r.db, &r.actor, new).await
        }
        .await;
        outcome(result, PostMortem::new).map(Into::into)
    }

    /// Edits a post-mortem's category, root cause or review.
    async fn update_post_mortem(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The post-mortem and what to change; omitted fields stay as they are.")]
        input: UpdatePostMortemInput,
    ) -> async_graphql::Result<PostMortemPayload> {
        let r = request(ctx);
        let result = async {
            let id = PostMortemId(input_id(&input.id, Kind::PostMortem, &["id"])?);
            let change = Change {
                category: match input.category {
                    MaybeUndefined::Undefined => None,
                    MaybeUndefined::Null => Some(None),
                    MaybeUndefined::Value(c) => Some(Some(c.into())),
                },
                root_cause: input.root_cause.map(Into::into),
                summary: input.summary,
                what_happened: input.what_happened,
                what_worked: input.what_worked,
                what_to_improve: input.what_to_improve,
                expected_version: input.expected_version,
            };
            domain::update(&r.db, &r.actor, id, change).await
        }
        .await;
        outcome(result, PostMortem::new).map(Into::into)
    }

    /// Routes a lesson of a post-mortem to a team.
    async fn add_feedback_item(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The post-mortem, the team and the lesson for it.")] input: AddFeedbackItemInput,
    ) -> async_graphql::Result<FeedbackItemPayload> {
        let r = request(ctx);
        let result = async {
            let pm = PostMortemId(input_id(&input.post_mortem_id, Kind::PostMortem, &["postMortemId"])?);
            domain::add_feedback(&r.db, &r.actor, pm, input.team.into(), &input.title, &input.detail).await
        }
        .await;
        outcome(result, FeedbackItem).map(Into::into)
    }

    /// Moves or edits a feedback item (any writer: the receiving team works on it).
    async fn update_feedback_item(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The item and what to change; omitted fields stay as they are.")]
        input: UpdateFeedbackItemInput,
    ) -> async_graphql::Result<FeedbackItemPayload> {
        let r = request(ctx);
        let result = async {
            let id = FeedbackItemId(input_id(&input.id, Kind::FeedbackItem, &["id"])?);
            let change = FeedbackChange {
                team: input.team.map(Into::into),
                title: input.title,
                detail: input.detail,
                status: input.status.map(Into::into),
                expected_version: input.expected_version,
            };
            domain::update_feedback(&r.db, &r.actor, id, change).await
        }
        .await;
        outcome(result, FeedbackItem).map(Into::into)
    }
}
