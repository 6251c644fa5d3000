//! The follow-through on risks: playbooks, action plans with their actions, and the per-risk
//! communication log.

use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use bellwether_domain::plans::{self as domain, ActionChange, ActionFilter, Apply, Assignment, NewAction};
use bellwether_domain::playbooks::{self, Change, Content, Step};
use bellwether_domain::risks::updates::{self, NewUpdate};
use bellwether_domain::{self as d, ActionPlanId, ContactId, PlanActionId, PlaybookId, RiskId, UserId};
use chrono::{DateTime, Utc};

use super::accounts::Account;
use super::contacts::Contact;
use super::count::TotalCount;
use super::loaders::{ActionsOf, AllPlaybooks, EffectivenessOf, LastUpdateOf, PlansOf, load_error};
use super::risks::{Risk, optional_user};
use super::scalars::{ActionStatus, Date, PlaybookRole, RiskCategory, UpdateAudience, UpdateChannel, domain_list};
use super::support::{
    GqlResult, Kind, connection, global_id, input_id, internal, outcome, page_cost, page_request, payload, request,
};
use super::users::User;

async fn user(ctx: &Context<'_>, id: UserId) -> async_graphql::Result<User> {
    optional_user(ctx, Some(id)).await?.ok_or_else(internal)
}

async fn account(ctx: &Context<'_>, id: d::AccountId) -> async_graphql::Result<Account> {
    request(ctx).loader.load_one(id).await.map_err(load_error)?.map(Account).ok_or_else(internal)
}

/// A risk that must exist (it is referenced by a row of the same organisation).
pub(super) async fn risk(ctx: &Context<'_>, id: RiskId) -> async_graphql::Result<Risk> {
    optional_risk(ctx, Some(id)).await?.ok_or_else(internal)
}

/// A risk that may be absent.
pub(super) async fn optional_risk(ctx: &Context<'_>, id: Option<RiskId>) -> async_graphql::Result<Option<Risk>> {
    let Some(id) = id else { return Ok(None) };
    Ok(request(ctx).loader.load_one(id).await.map_err(load_error)?.map(Risk))
}

/// One step of a playbook.
#[derive(SimpleObject)]
pub struct PlaybookStep {
    /// Its position (0-based), as used by `ApplyPlaybookInput.assignments`.
    pub index: i32,
    /// What to do.
    pub title: String,
    /// How to go about it, in more detail.
    pub description: String,
    /// Who does it.
    pub owner_role: PlaybookRole,
    /// Due this many days after the playbook is applied.
    pub due_in_days: i32,
    /// Whether it involves the client.
    pub involves_client: bool,
}

fn steps(c: &Content) -> Vec<PlaybookStep> {
    c.steps
        .iter()
        .enumerate()
        .map(|(i, s)| PlaybookStep {
            index: i as i32,
            title: s.title.clone(),
            description: s.description.clone(),
            owner_role: s.owner_role.into(),
            due_in_days: s.due_in_days,
            involves_client: s.involves_client,
        })
        .collect()
}

pub struct PlaybookEffectiveness(pub domain::Effectiveness);

/// How well a playbook worked: its plans and what became of their risks.
#[Object]
impl PlaybookEffectiveness {
    /// Plans made from it.
    async fn plans_applied(&self) -> i32 {
        clamp(self.0.plans)
    }
    /// Plans whose risk is still open.
    async fn open(&self) -> i32 {
        clamp(self.0.open)
    }
    /// Plans whose risk was resolved.
    async fn resolved(&self) -> i32 {
        clamp(self.0.resolved)
    }
    /// Plans whose risk materialized.
    async fn materialized(&self) -> i32 {
        clamp(self.0.materialized)
    }
    /// Resolved among the plans whose risk was resolved or materialized (0-1); null before any.
    async fn resolved_share(&self) -> Option<f64> {
        self.0.resolved_share
    }
    /// Materialized among the same (0-1); null before any.
    async fn materialized_share(&self) -> Option<f64> {
        self.0.materialized_share
    }
    /// Median days from applying the plan to resolving the risk; null before any.
    async fn median_days_to_resolve(&self) -> Option<f64> {
        self.0.median_days_to_resolve
    }
}

pub(super) fn clamp(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

pub struct Playbook(pub playbooks::Playbook);

/// A template for answering a kind of risk: a desired outcome and ordered steps.
#[Object]
impl Playbook {
    /// Opaque global id: pass it to `node(id:)` or wherever an input asks for this object.
    pub async fn id(&self) -> ID {
        global_id(Kind::Playbook, self.0.id.0)
    }
    /// Stable key; rules suggest playbooks by key (`Risk.suggestedPlaybookKey`).
    async fn key(&self) -> &str {
        &self.0.key
    }
    /// The name people see for the playbook.
    async fn name(&self) -> &str {
        &self.0.content.name
    }
    /// When to use it.
    async fn description(&self) -> &str {
        &self.0.content.description
    }
    /// The category of risks it answers, if one.
    async fn category(&self) -> Option<RiskCategory> {
        self.0.content.category.map(Into::into)
    }
    /// The rules whose risks it answers.
    async fn rule_keys(&self) -> &[String] {
        &self.0.content.rule_keys
    }
    /// The desired outcome; `{account}` stands for the account's name.
    async fn desired_outcome(&self) -> &str {
        &self.0.content.desired_outcome
    }
    /// The steps, in order.
    async fn steps(&self) -> Vec<PlaybookStep> {
        steps(&self.0.content)
    }
    /// Applied by itself when a risk suggesting it is validated.
    async fn auto_apply(&self) -> bool {
        self.0.auto_apply
    }
    /// When it was archived (archived playbooks cannot be applied).
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at
    }
    /// The number of the current version.
    async fn current_version(&self) -> i32 {
        self.0.current_version
    }
    /// Every version, newest first.
    async fn versions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<PlaybookVersion>> {
        let r = request(ctx);
        Ok(playbooks::versions(&r.db, r.actor.organisation, self.0.id)
            .await
            .gql()?
            .into_iter()
            .map(PlaybookVersion)
            .collect())
    }
    /// Its plans and what became of their risks.
    async fn effectiveness(&self, ctx: &Context<'_>) -> async_graphql::Result<PlaybookEffectiveness> {
        let found = request(ctx).loader.load_one(EffectivenessOf(self.0.id)).await.map_err(load_error)?;
        Ok(PlaybookEffectiveness(found.unwrap_or(domain::Effectiveness {
            playbook: self.0.id,
            plans: 0,
            open: 0,
            resolved: 0,
            materialized: 0,
            resolved_share: None,
            materialized_share: None,
            median_days_to_resolve: None,
        })))
    }
    /// Who created it; null for the defaults.
    async fn created_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        optional_user(ctx, self.0.created_by).await
    }
    /// Increases with every change; pass it as `expectedVersion`.
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

pub struct PlaybookVersion(pub playbooks::PlaybookVersion);

/// One immutable version of a playbook.
#[Object]
impl PlaybookVersion {
    /// The version's number: 1 for the first, then 2, 3...
    async fn number(&self) -> i32 {
        self.0.number
    }
    /// The name people see for the playbook.
    async fn name(&self) -> &str {
        &self.0.content.name
    }
    /// When to use it.
    async fn description(&self) -> &str {
        &self.0.content.description
    }
    /// The category of risks it answers.
    async fn category(&self) -> Option<RiskCategory> {
        self.0.content.category.map(Into::into)
    }
    /// The rules whose risks it answers.
    async fn rule_keys(&self) -> &[String] {
        &self.0.content.rule_keys
    }
    /// The desired outcome template.
    async fn desired_outcome(&self) -> &str {
        &self.0.content.desired_outcome
    }
    /// The steps, in order.
    async fn steps(&self) -> Vec<PlaybookStep> {
        steps(&self.0.content)
    }
    /// Who made this version; null for the defaults.
    async fn created_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        optional_user(ctx, self.0.created_by).await
    }
    /// When this version was made.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// How and how often a plan's progress is communicated.
#[derive(SimpleObject, InputObject)]
#[graphql(input_name = "CommunicationProtocolInput")]
pub struct CommunicationProtocol {
    /// Who hears about progress.
    pub audience: UpdateAudience,
    /// How updates are given (email, call, meeting...).
    pub channel: UpdateChannel,
    /// An update is due this many days after the previous one (1-90).
    pub cadence_days: i32,
}

/// Counts of a plan's actions.
#[derive(SimpleObject)]
pub struct PlanProgress {
    /// All of the plan's actions, whatever their state.
    pub total: i32,
    /// Still to do.
    pub open: i32,
    /// Actions carried out.
    pub done: i32,
    /// Actions cancelled as no longer needed.
    pub cancelled: i32,
    /// Open and past their deadline.
    pub overdue: i32,
}

pub struct ActionPlan(pub domain::ActionPlan);

/// A playbook applied to a risk: the SMART plan to mitigate it.
#[Object]
impl ActionPlan {
    /// Opaque global id: pass it to `node(id:)` or wherever an input asks for this object.
    pub async fn id(&self) -> ID {
        global_id(Kind::ActionPlan, self.0.id.0)
    }
    /// The risk it mitigates.
    async fn risk(&self, ctx: &Context<'_>) -> async_graphql::Result<Risk> {
        risk(ctx, self.0.risk).await
    }
    /// The client account the risk is on.
    async fn account(&self, ctx: &Context<'_>) -> async_graphql::Result<Account> {
        account(ctx, self.0.account).await
    }
    /// The playbook it was made from (as it is now).
    async fn playbook(&self, ctx: &Context<'_>) -> async_graphql::Result<Playbook> {
        let all = request(ctx).loader.load_one(AllPlaybooks).await.map_err(load_error)?.unwrap_or_default();
        all.into_iter().find(|p| p.id == self.0.playbook).map(Playbook).ok_or_else(internal)
    }
    /// The playbook version it was made from (later edits of the playbook do not change it).
    async fn playbook_version(&self, ctx: &Context<'_>) -> async_graphql::Result<PlaybookVersion> {
        let r = request(ctx);
        playbooks::version(&r.db, r.actor.organisation, self.0.playbook_version)
            .await
            .gql()?
            .map(PlaybookVersion)
            .ok_or_else(internal)
    }
    /// What success looks like.
    async fn desired_outcome(&self) -> &str {
        &self.0.desired_outcome
    }
    /// How progress is communicated.
    async fn communication(&self) -> CommunicationProtocol {
        let c = self.0.communication;
        CommunicationProtocol { audience: c.audience.into(), channel: c.channel.into(), cadence_days: c.cadence_days }
    }
    /// When the next update to the protocol's audience is due: the cadence after the latest
    /// one (or after the plan was made).
    async fn next_update_due_on(&self, ctx: &Context<'_>) -> async_graphql::Result<Date> {
        Ok(Date(next_update_due(ctx, &self.0).await?))
    }
    /// Whether that update is late.
    async fn update_overdue(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        Ok(next_update_due(ctx, &self.0).await? < request(ctx).today)
    }
    /// Internal stakeholders.
    async fn internal_stakeholders(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<User>> {
        let found =
            request(ctx).loader.load_many(self.0.internal_stakeholders.iter().copied()).await.map_err(load_error)?;
        Ok(self.0.internal_stakeholders.iter().filter_map(|u| found.get(u).cloned().map(User)).collect())
    }
    /// Client stakeholders.
    async fn client_stakeholders(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Contact>> {
        let found =
            request(ctx).loader.load_many(self.0.client_stakeholders.iter().copied()).await.map_err(load_error)?;
        Ok(self.0.client_stakeholders.iter().filter_map(|c| found.get(c).cloned().map(Contact)).collect())
    }
    /// Its actions by deadline.
    async fn actions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<PlanAction>> {
        Ok(plan_actions(ctx, self.0.id).await?.into_iter().map(PlanAction).collect())
    }
    /// Counts of its actions.
    async fn progress(&self, ctx: &Context<'_>) -> async_graphql::Result<PlanProgress> {
        let actions = plan_actions(ctx, self.0.id).await?;
        let today = request(ctx).today;
        let n = |s: d::ActionStatus| actions.iter().filter(|a| a.status == s).count() as i32;
        Ok(PlanProgress {
            total: actions.len() as i32,
            open: n(d::ActionStatus::Open),
            done: n(d::ActionStatus::Done),
            cancelled: n(d::ActionStatus::Cancelled),
            overdue: actions.iter().filter(|a| a.is_overdue(today)).count() as i32,
        })
    }
    /// Who applied the playbook.
    async fn created_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        optional_user(ctx, self.0.created_by).await
    }
    /// Increases with every change; pass it as `expectedVersion`.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When it was applied.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

async fn plan_actions(ctx: &Context<'_>, plan: ActionPlanId) -> async_graphql::Result<Vec<domain::PlanAction>> {
    Ok(request(ctx).loader.load_one(ActionsOf(plan)).await.map_err(load_error)?.unwrap_or_default())
}

async fn next_update_due(ctx: &Context<'_>, plan: &domain::ActionPlan) -> async_graphql::Result<chrono::NaiveDate> {
    let key = LastUpdateOf(plan.risk, plan.communication.audience);
    let last = request(ctx).loader.load_one(key).await.map_err(load_error)?;
    let since = last.filter(|t| *t > plan.created_at).unwrap_or(plan.created_at);
    Ok(since.date_naive() + chrono::Duration::days(i64::from(plan.communication.cadence_days)))
}

pub struct PlanAction(pub domain::PlanAction);

/// One action of a plan, with its owner and deadline.
#[Object]
impl PlanAction {
    /// Opaque global id: pass it to `node(id:)` or wherever an input asks for this object.
    pub async fn id(&self) -> ID {
        global_id(Kind::PlanAction, self.0.id.0)
    }
    /// The action plan the action belongs to.
    async fn plan(&self, ctx: &Context<'_>) -> async_graphql::Result<ActionPlan> {
        request(ctx).loader.load_one(self.0.plan).await.map_err(load_error)?.map(ActionPlan).ok_or_else(internal)
    }
    /// The risk it mitigates.
    async fn risk(&self, ctx: &Context<'_>) -> async_graphql::Result<Risk> {
        risk(ctx, self.0.risk).await
    }
    /// The client account the risk is on.
    async fn account(&self, ctx: &Context<'_>) -> async_graphql::Result<Account> {
        account(ctx, self.0.account).await
    }
    /// The playbook step it came from (0-based); null when added to the plan later.
    async fn step(&self) -> Option<i32> {
        self.0.step
    }
    /// What to do.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// How to go about it, in more detail.
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// The role the playbook step named.
    async fn owner_role(&self) -> Option<PlaybookRole> {
        self.0.owner_role.map(Into::into)
    }
    /// Who does it.
    async fn owner(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        user(ctx, self.0.owner).await
    }
    /// By when.
    async fn due_on(&self) -> Date {
        Date(self.0.due_on)
    }
    /// Whether it involves the client.
    async fn involves_client(&self) -> bool {
        self.0.involves_client
    }
    /// Open, done or cancelled.
    async fn status(&self) -> ActionStatus {
        self.0.status.into()
    }
    /// Open and past its deadline (on the organisation's calendar).
    async fn overdue(&self, ctx: &Context<'_>) -> bool {
        self.0.is_overdue(request(ctx).today)
    }
    /// Days past its deadline (0 unless overdue).
    async fn days_overdue(&self, ctx: &Context<'_>) -> i32 {
        let today = request(ctx).today;
        if self.0.is_overdue(today) { (today - self.0.due_on).num_days() as i32 } else { 0 }
    }
    /// When it was done or cancelled.
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at
    }
    /// Who did or cancelled it.
    async fn closed_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        optional_user(ctx, self.0.closed_by).await
    }
    /// The note given when it was done or cancelled.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// Increases with every change; pass it as `expectedVersion`.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When it was planned.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

pub struct RiskUpdate(pub updates::RiskUpdate);

/// One entry of a risk's communication log.
#[Object]
impl RiskUpdate {
    /// Opaque global id: pass it to `node(id:)` or wherever an input asks for this object.
    pub async fn id(&self) -> ID {
        global_id(Kind::RiskUpdate, self.0.id.0)
    }
    /// The risk the update is about.
    async fn risk(&self, ctx: &Context<'_>) -> async_graphql::Result<Risk> {
        risk(ctx, self.0.risk).await
    }
    /// Internal or client.
    async fn audience(&self) -> UpdateAudience {
        self.0.audience.into()
    }
    /// How it was given.
    async fn channel(&self) -> UpdateChannel {
        self.0.channel.into()
    }
    /// What was said.
    async fn body(&self) -> &str {
        &self.0.body
    }
    /// Who gave it.
    async fn author(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        user(ctx, self.0.author).await
    }
    /// When it was given.
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    /// When it was logged.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

pub struct OwnerOverdueActions(domain::OwnerOverdue);

/// Overdue actions of one owner.
#[Object]
impl OwnerOverdueActions {
    /// The user who owns the overdue actions.
    async fn owner(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        user(ctx, self.0.owner).await
    }
    /// Their overdue actions.
    async fn count(&self) -> i32 {
        clamp(self.0.count)
    }
    /// The earliest deadline among them.
    async fn oldest_due_on(&self) -> Date {
        Date(self.0.oldest_due_on)
    }
}

/// Conditions on plan actions; all given must hold.
#[derive(InputObject, Default)]
pub struct PlanActionFilter {
    /// Only this user's.
    pub owner_id: Option<ID>,
    /// Only this account's.
    pub account_id: Option<ID>,
    /// Only this risk's.
    pub risk_id: Option<ID>,
    /// Only these states.
    pub statuses: Option<Vec<ActionStatus>>,
    /// Only open actions past their deadline (true), or the others (false).
    pub overdue: Option<bool>,
}

impl PlanActionFilter {
    fn into_domain(self, today: chrono::NaiveDate) -> Result<ActionFilter, d::Error> {
        Ok(ActionFilter {
            owner: self.owner_id.map(|i| input_id(&i, Kind::User, &["filter", "ownerId"]).map(UserId)).transpose()?,
            account: self
                .account_id
                .map(|i| input_id(&i, Kind::Account, &["filter", "accountId"]).map(d::AccountId))
                .transpose()?,
            risk: self.risk_id.map(|i| input_id(&i, Kind::Risk, &["filter", "riskId"]).map(RiskId)).transpose()?,
            statuses: domain_list(self.statuses),
            overdue: self.overdue.map(|o| (o, today)),
        })
    }
}

/// Lists a risk's updates (for `Risk.updates`).
pub async fn risk_updates(
    ctx: &Context<'_>,
    risk: RiskId,
    audience: Option<UpdateAudience>,
    page: d::PageRequest,
) -> async_graphql::Result<Connection<String, RiskUpdate, TotalCount, EmptyFields>> {
    let r = request(ctx);
    let audience = audience.map(Into::into);
    let page = updates::list(&r.db, r.actor.organisation, risk, audience, &page).await.gql()?;
    Ok(connection(page, TotalCount::RiskUpdates(risk, audience), RiskUpdate))
}

/// A risk's action plans (for `Risk.actionPlans`).
pub async fn risk_plans(ctx: &Context<'_>, risk: RiskId) -> async_graphql::Result<Vec<ActionPlan>> {
    let found = request(ctx).loader.load_one(PlansOf(risk)).await.map_err(load_error)?;
    Ok(found.unwrap_or_default().into_iter().map(ActionPlan).collect())
}

#[derive(Default)]
pub struct PlanQuery;

#[Object]
impl PlanQuery {
    /// Your organisation's playbooks by key.
    async fn playbooks(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Include archived playbooks.", default)] include_archived: bool,
    ) -> async_graphql::Result<Vec<Playbook>> {
        let r = request(ctx);
        Ok(playbooks::list(&r.db, r.actor.organisation, include_archived)
            .await
            .gql()?
            .into_iter()
            .map(Playbook)
            .collect())
    }

    /// The playbook with this key (e.g. a risk's `suggestedPlaybookKey`).
    async fn playbook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The playbook's stable key, e.g. `proactive_check_in` (a risk's `suggestedPlaybookKey`).")]
        key: String,
    ) -> async_graphql::Result<Option<Playbook>> {
        let r = request(ctx);
        Ok(playbooks::by_key(&r.db, r.actor.organisation, &key).await.gql()?.map(Playbook))
    }

    /// Plan actions across the portfolio by deadline (earliest first): e.g. everything overdue,
    /// or one owner's open actions.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn plan_actions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Conditions the actions must meet.")] filter: Option<PlanActionFilter>,
        #[graphql(desc = "Return the first n items after `after` (1-100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.endCursor`.")] after: Option<String>,
        #[graphql(desc = "Return the last n items before `before` (1-100).")] last: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.startCursor`.")] before: Option<String>,
    ) -> async_graphql::Result<Connection<String, PlanAction, TotalCount, EmptyFields>> {
        let r = request(ctx);
        let f = filter.unwrap_or_default().into_domain(r.today).gql()?;
        let page = page_request(first, after, last, before)?;
        let page = domain::list_actions(&r.db, r.actor.organisation, &f, &page).await.gql()?;
        Ok(connection(page, TotalCount::PlanActions(f), PlanAction))
    }

    /// Overdue plan actions per owner, most first.
    async fn overdue_actions_by_owner(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<OwnerOverdueActions>> {
        let r = request(ctx);
        Ok(domain::overdue_by_owner(&r.db, r.actor.organisation, r.today)
            .await
            .gql()?
            .into_iter()
            .map(OwnerOverdueActions)
            .collect())
    }
}

payload!(
    /// Result of a playbook mutation.
    PlaybookPayload { playbook: Playbook }
);

payload!(
    /// Result of applying a playbook.
    ApplyPlaybookPayload { plan: ActionPlan }
);

payload!(
    /// Result of changing an action plan.
    UpdateActionPlanPayload { plan: ActionPlan }
);

payload!(
    /// Result of a plan-action mutation.
    PlanActionPayload { action: PlanAction }
);

payload!(
    /// Result of logging an update.
    PostRiskUpdatePayload { update: RiskUpdate }
);

/// One step of a playbook, as input.
#[derive(InputObject)]
pub struct PlaybookStepInput {
    /// What to do (at most 300 characters).
    pub title: String,
    /// How to go about it, in more detail.
    #[graphql(default)]
    pub description: String,
    /// Who does it.
    pub owner_role: PlaybookRole,
    /// Due this many days after the playbook is applied (0-365).
    pub due_in_days: i32,
    /// Whether it involves the client.
    #[graphql(default)]
    pub involves_client: bool,
}

impl From<PlaybookStepInput> for Step {
    fn from(s: PlaybookStepInput) -> Self {
        Step {
            title: s.title,
            description: s.description,
            owner_role: s.owner_role.into(),
            due_in_days: s.due_in_days,
            involves_client: s.involves_client,
        }
    }
}

/// A new playbook (admins and managers).
#[derive(InputObject)]
pub struct CreatePlaybookInput {
    /// Stable key: lowercase letters, digits and '_' (what rules suggest).
    pub key: String,
    /// The name people will see for the playbook.
    pub name: String,
    /// When to use it.
    #[graphql(default)]
    pub description: String,
    /// The category of risks it answers.
    pub category: Option<RiskCategory>,
    /// The rules whose risks it answers.
    #[graphql(default)]
    pub rule_keys: Vec<String>,
    /// The desired outcome; `{account}` stands for the account's name.
    pub desired_outcome: String,
    /// The steps, in order (1-30).
    pub steps: Vec<PlaybookStepInput>,
    /// Apply it by itself when a risk suggesting it is validated.
    #[graphql(default)]
    pub auto_apply: bool,
}

/// Changes a playbook. Omitted fields stay as they are; a change of name, description, category,
/// rule keys, desired outcome or steps makes a new version (plans keep theirs).
#[derive(InputObject)]
pub struct UpdatePlaybookInput {
    /// The playbook to change.
    pub id: ID,
    /// The name people will see for the playbook.
    pub name: Option<String>,
    /// When to use it.
    pub description: Option<String>,
    /// The category of risks it answers (null: none).
    pub category: MaybeUndefined<RiskCategory>,
    /// The rules whose risks it answers.
    pub rule_keys: Option<Vec<String>>,
    /// The desired outcome.
    pub desired_outcome: Option<String>,
    /// The steps, replacing all of them.
    pub steps: Option<Vec<PlaybookStepInput>>,
    /// Apply it by itself when a risk suggesting it is validated.
    pub auto_apply: Option<bool>,
    /// Archive (true) or restore (false) it.
    pub archived: Option<bool>,
    /// Fail with a CONFLICT user error unless the playbook still has this version.
    pub expected_version: Option<i32>,
}

/// An owner and deadline for one step, replacing the step's defaults.
#[derive(InputObject)]
pub struct StepAssignmentInput {
    /// The step (`PlaybookStep.index`).
    pub step: i32,
    /// Who does it (default: who holds the step's role on the account).
    pub owner_id: Option<ID>,
    /// By when (default: today plus the step's due offset).
    pub due_on: Option<Date>,
}

/// Applies a playbook to an open risk.
#[derive(InputObject)]
pub struct ApplyPlaybookInput {
    /// The risk (identified, validated or mitigating).
    pub risk_id: ID,
    /// The playbook to apply (not archived).
    pub playbook_id: ID,
    /// What success looks like (default: the playbook's desired outcome for the account).
    pub desired_outcome: Option<String>,
    /// Internal stakeholders (users).
    #[graphql(default)]
    pub internal_stakeholder_ids: Vec<ID>,
    /// Client stakeholders (contacts of the account).
    #[graphql(default)]
    pub client_stakeholder_ids: Vec<ID>,
    /// How progress is communicated (default: the client, by email, every 7 days).
    pub communication: Option<CommunicationProtocol>,
    /// Owners and deadlines replacing the steps' defaults. A step whose role nobody holds on the
    /// account (support lead, finance, executive; or no account manager) must be assigned here.
    #[graphql(default)]
    pub assignments: Vec<StepAssignmentInput>,
    /// A note for the risk's audit trail.
    pub note: Option<String>,
}

/// Changes the plan of an open risk. Omitted fields stay as they are; a stakeholder list given
/// replaces the current one.
#[derive(InputObject)]
pub struct UpdateActionPlanInput {
    /// The plan to change.
    pub id: ID,
    /// What success looks like.
    pub desired_outcome: Option<String>,
    /// Internal stakeholders (users).
    pub internal_stakeholder_ids: Option<Vec<ID>>,
    /// Client stakeholders (contacts of the account).
    pub client_stakeholder_ids: Option<Vec<ID>>,
    /// How progress is communicated.
    pub communication: Option<CommunicationProtocol>,
    /// Fail with a CONFLICT user error unless the plan still has this version.
    pub expected_version: Option<i32>,
}

/// Adds an action to a plan. An action needs an owner and a deadline.
#[derive(InputObject)]
pub struct AddPlanActionInput {
    /// The plan to add the action to.
    pub plan_id: ID,
    /// What to do (at most 300 characters).
    pub title: String,
    /// How to go about it, in more detail.
    #[graphql(default)]
    pub description: String,
    /// Who does it (required; refused with a user error when missing).
    pub owner_id: Option<ID>,
    /// By when (required; refused with a user error when missing).
    pub due_on: Option<Date>,
    /// Whether it involves the client.
    #[graphql(default)]
    pub involves_client: bool,
}

/// Gives an open action another owner and/or deadline.
#[derive(InputObject)]
pub struct ReassignPlanActionInput {
    /// The open action to reassign.
    pub id: ID,
    /// The new owner.
    pub owner_id: Option<ID>,
    /// The new deadline.
    pub due_on: Option<Date>,
    /// Fail with a CONFLICT user error unless the action still has this version.
    pub expected_version: Option<i32>,
}

/// Marks an open action done.
#[derive(InputObject)]
pub struct CompletePlanActionInput {
    /// The open action that was done.
    pub id: ID,
    /// What was done.
    pub note: Option<String>,
    /// Fail with a CONFLICT user error unless the action still has this version.
    pub expected_version: Option<i32>,
}

/// Cancels an open action.
#[derive(InputObject)]
pub struct CancelPlanActionInput {
    /// The open action to cancel.
    pub id: ID,
    /// Why it is no longer needed.
    pub note: Option<String>,
    /// Fail with a CONFLICT user error unless the action still has this version.
    pub expected_version: Option<i32>,
}

/// Logs an update about a risk.
#[derive(InputObject)]
pub struct PostRiskUpdateInput {
    /// The risk the update is about.
    pub risk_id: ID,
    /// Internal or client.
    pub audience: UpdateAudience,
    /// How it was given.
    pub channel: UpdateChannel,
    /// What was said.
    pub body: String,
    /// When it was given (default: now; not in the future).
    pub at: Option<DateTime<Utc>>,
}

fn user_ids(ids: &[ID], field: &str) -> Result<Vec<UserId>, d::Error> {
    ids.iter().enumerate().map(|(i, id)| input_id(id, Kind::User, &[field, &i.to_string()]).map(UserId)).collect()
}

fn contact_ids(ids: &[ID], field: &str) -> Result<Vec<ContactId>, d::Error> {
    ids.iter().enumerate().map(|(i, id)| input_id(id, Kind::Contact, &[field, &i.to_string()]).map(ContactId)).collect()
}

fn communication(c: CommunicationProtocol) -> domain::Communication {
    domain::Communication { audience: c.audience.into(), channel: c.channel.into(), cadence_days: c.cadence_days }
}

/// Reassigns, completes or cancels an action (the shared body of those mutations).
async fn change_action(
    ctx: &Context<'_>,
    id: &ID,
    change: Result<ActionChange, d::Error>,
    expected_version: Option<i32>,
) -> async_graphql::Result<PlanActionPayload> {
    let r = request(ctx);
    let result = async {
        let id = input_id(id, Kind::PlanAction, &["id"]).map(PlanActionId)?;
        domain::change_action(&r.db, &r.actor, id, change?, expected_version).await
    }
    .await;
    outcome(result, PlanAction).map(Into::into)
}

fn optional_user_id(id: Option<&ID>, field: &[&str]) -> Result<Option<UserId>, d::Error> {
    id.map(|i| input_id(i, Kind::User, field).map(UserId)).transpose()
}

#[derive(Default)]
pub struct PlanMutation;

#[Object]
impl PlanMutation {
    /// Creates a playbook (admins and managers).
    async fn create_playbook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The playbook's key, content and steps.")] input: CreatePlaybookInput,
    ) -> async_graphql::Result<PlaybookPayload> {
        let r = request(ctx);
        let content = Content {
            name: input.name,
            description: input.description,
            category: input.category.map(Into::into),
            rule_keys: input.rule_keys,
            desired_outcome: input.desired_outcome,
            steps: input.steps.into_iter().map(Into::into).collect(),
        };
        let result = playbooks::create(&r.db, &r.actor, &input.key, content, input.auto_apply).await;
        outcome(result, Playbook).map(Into::into)
    }

    /// Changes a playbook (admins and managers); content changes make a new version.
    async fn update_playbook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The playbook and what to change; omitted fields stay as they are.")]
        input: UpdatePlaybookInput,
    ) -> async_graphql::Result<PlaybookPayload> {
        let r = request(ctx);
        let result = async {
            let id = PlaybookId(input_id(&input.id, Kind::Playbook, &["id"])?);
            let change = Change {
                name: input.name,
                description: input.description,
                category: match input.category {
                    MaybeUndefined::Undefined => None,
                    MaybeUndefined::Null => Some(None),
                    MaybeUndefined::Value(c) => Some(Some(c.into())),
                },
                rule_keys: input.rule_keys,
                desired_outcome: input.desired_outcome,
                steps: input.steps.map(|s| s.into_iter().map(Into::into).collect()),
                auto_apply: input.auto_apply,
                archived: input.archived,
                expected_version: input.expected_version,
            };
            playbooks::update(&r.db, &r.actor, id, change).await
        }
        .await;
        outcome(result, Playbook).map(Into::into)
    }

    /// Applies a playbook to an open risk of an account you may write: makes the action plan and
    /// moves the risk to mitigating (audited).
    async fn apply_playbook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The risk and the playbook, with the plan's stakeholders, communication and step owners.")]
        input: ApplyPlaybookInput,
    ) -> async_graphql::Result<ApplyPlaybookPayload> {
        let r = request(ctx);
        let result = async {
            let assignments = input
                .assignments
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    Ok(Assignment {
                        step: a.step,
                        owner: optional_user_id(a.owner_id.as_ref(), &["assignments", &i.to_string(), "ownerId"])?,
                        due_on: a.due_on.map(|d| d.0),
                    })
                })
                .collect::<Result<Vec<_>, d::Error>>()?;
            let apply = Apply {
                risk: RiskId(input_id(&input.risk_id, Kind::Risk, &["riskId"])?),
                playbook: PlaybookId(input_id(&input.playbook_id, Kind::Playbook, &["playbookId"])?),
                desired_outcome: input.desired_outcome,
                internal_stakeholders: user_ids(&input.internal_stakeholder_ids, "internalStakeholderIds")?,
                client_stakeholders: contact_ids(&input.client_stakeholder_ids, "clientStakeholderIds")?,
                communication: input.communication.map(communication),
                assignments,
                note: input.note,
            };
            domain::apply(&r.db, &r.actor, apply).await
        }
        .await;
        outcome(result, ActionPlan).map(Into::into)
    }

    /// Changes the plan of an open risk: desired outcome, stakeholders, communication protocol
    /// (those who may write the account).
    async fn update_action_plan(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The plan and what to change; omitted fields stay as they are.")] input: UpdateActionPlanInput,
    ) -> async_graphql::Result<UpdateActionPlanPayload> {
        let r = request(ctx);
        let result = async {
            let id = ActionPlanId(input_id(&input.id, Kind::ActionPlan, &["id"])?);
            let change = domain::PlanChange {
                desired_outcome: input.desired_outcome,
                internal_stakeholders: input
                    .internal_stakeholder_ids
                    .map(|ids| user_ids(&ids, "internalStakeholderIds"))
                    .transpose()?,
                client_stakeholders: input
                    .client_stakeholder_ids
                    .map(|ids| contact_ids(&ids, "clientStakeholderIds"))
                    .transpose()?,
                communication: input.communication.map(communication),
                expected_version: input.expected_version,
            };
            domain::update(&r.db, &r.actor, id, change).await
        }
        .await;
        outcome(result, ActionPlan).map(Into::into)
    }

    /// Adds an action (with owner and deadline) to a plan of an open risk.
    async fn add_plan_action(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The plan and the action to add, with its owner and deadline.")] input: AddPlanActionInput,
    ) -> async_graphql::Result<PlanActionPayload> {
        let r = request(ctx);
        let result = async {
            let plan = ActionPlanId(input_id(&input.plan_id, Kind::ActionPlan, &["planId"])?);
            let new = NewAction {
                title: input.title,
                description: input.description,
                owner: optional_user_id(input.owner_id.as_ref(), &["ownerId"])?,
                due_on: input.due_on.map(|d| d.0),
                involves_client: input.involves_client,
            };
            domain::add_action(&r.db, &r.actor, plan, new).await
        }
        .await;
        outcome(result, PlanAction).map(Into::into)
    }

    /// Gives an open action another owner and/or deadline (those who may write the account).
    async fn reassign_plan_action(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The action and its new owner and/or deadline.")] input: ReassignPlanActionInput,
    ) -> async_graphql::Result<PlanActionPayload> {
        let change = optional_user_id(input.owner_id.as_ref(), &["ownerId"])
            .map(|owner| ActionChange::Reassign { owner, due_on: input.due_on.map(|d| d.0) });
        change_action(ctx, &input.id, change, input.expected_version).await
    }

    /// Marks an open action done (its owner, an admin or a manager).
    async fn complete_plan_action(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The action that was done, optionally with a note on what was done.")]
        input: CompletePlanActionInput,
    ) -> async_graphql::Result<PlanActionPayload> {
        let change = Ok(ActionChange::Complete { note: input.note });
        change_action(ctx, &input.id, change, input.expected_version).await
    }

    /// Cancels an open action (those who may write the account).
    async fn cancel_plan_action(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The action no longer needed, optionally with a note on why.")] input: CancelPlanActionInput,
    ) -> async_graphql::Result<PlanActionPayload> {
        let change = Ok(ActionChange::Cancel { note: input.note });
        change_action(ctx, &input.id, change, input.expected_version).await
    }

    /// Logs an update about a risk to the account team or the client.
    async fn post_risk_update(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The risk, who was updated, how, when and what was said.")] input: PostRiskUpdateInput,
    ) -> async_graphql::Result<PostRiskUpdatePayload> {
        let r = request(ctx);
        let result = async {
            let new = NewUpdate {
                risk: RiskId(input_id(&input.risk_id, Kind::Risk, &["riskId"])?),
                audience: input.audience.into(),
                channel: input.channel.into(),
                body: input.body,
                at: input.at,
            };
            updates::post(&r.db, &r.actor, new).await
        }
        .await;
        outcome(result, RiskUpdate).map(Into::into)
    }
}
