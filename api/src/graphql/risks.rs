//! Risks (raised by rules or people) with their lifecycle, the risk matrix and portfolio view,
//! and the rule engine's surface: rules and their settings, run log, preview and backtest.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::{
    Context, Enum, ErrorExtensions as _, ID, InputObject, MaybeUndefined, Object, OneofObject, SimpleObject,
};
use bellwether_domain::risks::runs::{self, RunFilter};
use bellwether_domain::risks::{
    self as domain, MatrixFilter, NewRisk, RiskFilter as DomainFilter, RiskOrder as DomainOrder,
};
use bellwether_domain::{self as d, AccountId, RiskId, UserId, values};
use bellwether_rules::engine::{self, BacktestRequest, Configured, Engine, RuleChange};
use bellwether_rules::{Input, ParamKind, ParamValue};
use chrono::{DateTime, Utc};

use super::accounts::{Account, OrderDirection};
use super::count::TotalCount;
use super::loaders::{AllPlaybooks, LastUpdateOf, OverdueOf, PostMortemOf, load_error};
use super::scalars::{
    Date, Money, RiskCategory, RiskEventKind, RiskSource, RiskStatus, RuleTrigger, Tier, UpdateAudience, domain_list,
};
use super::support::{
    GqlResult, Kind, codes, connection, global_id, input_id, internal, outcome, page_cost, page_request, payload,
    request,
};
use super::users::User;

pub(super) fn engine<'a>(ctx: &Context<'a>) -> &'a Engine {
    ctx.data_unchecked::<Arc<Engine>>()
}

/// A user who may be absent (the engine acts without one; risks may be unowned).
pub(super) async fn optional_user(ctx: &Context<'_>, user: Option<UserId>) -> async_graphql::Result<Option<User>> {
    let Some(u) = user else { return Ok(None) };
    Ok(request(ctx).loader.load_one(u).await.map_err(load_error)?.map(User))
}

/// Reads an optional `ownerId` input.
fn owner_id(id: Option<&ID>) -> Result<Option<UserId>, d::Error> {
    id.map(|id| input_id(id, Kind::User, &["ownerId"]).map(UserId)).transpose()
}

/// A named value behind a risk: a number or a piece of text.
#[derive(SimpleObject, Clone)]
pub struct Evidence {
    /// What it is, e.g. `daysOverdue`.
    pub name: String,
    /// Its value, when numeric.
    pub number: Option<f64>,
    /// Its value, when textual.
    pub text: Option<String>,
}

impl From<&domain::Evidence> for Evidence {
    fn from(e: &domain::Evidence) -> Self {
        Self { name: e.name.clone(), number: e.number, text: e.text.clone() }
    }
}

fn evidence(list: &[domain::Evidence]) -> Vec<Evidence> {
    list.iter().map(Into::into).collect()
}

/// A named value as input: give `number` or `text`.
#[derive(InputObject)]
pub struct EvidenceInput {
    /// What it is.
    pub name: String,
    /// Its value, when numeric.
    pub number: Option<f64>,
    /// Its value, when textual.
    pub text: Option<String>,
}

pub struct RiskEvent(pub domain::RiskEvent);

/// An entry of a risk's audit trail.
#[Object]
impl RiskEvent {
    /// Opaque global id of the entry. Entries are reached through their risk's `events`, so
    /// `node(id:)` answers null for it.
    async fn id(&self) -> ID {
        global_id(Kind::RiskEvent, self.0.id.0)
    }
    /// When it happened.
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    /// Who did it; null for the rule engine.
    async fn actor(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        optional_user(ctx, self.0.actor).await
    }
    /// What happened.
    async fn kind(&self) -> RiskEventKind {
        self.0.kind.into()
    }
    /// The state before, for transitions.
    async fn from_status(&self) -> Option<RiskStatus> {
        self.0.from.map(Into::into)
    }
    /// The state after, for transitions and raising.
    async fn to_status(&self) -> Option<RiskStatus> {
        self.0.to.map(Into::into)
    }
    /// The note given with it.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
}

pub struct Risk(pub domain::Risk);

/// A potential future problem with an account, with its evidence, priority and lifecycle.
#[Object]
impl Risk {
    /// Opaque global id: pass it to `node(id:)` or wherever an input asks for this object.
    pub async fn id(&self) -> ID {
        global_id(Kind::Risk, self.0.id.0)
    }
    /// The account at risk.
    async fn account(&self, ctx: &Context<'_>) -> async_graphql::Result<Account> {
        request(ctx).loader.load_one(self.0.account).await.map_err(load_error)?.map(Account).ok_or_else(internal)
    }
    /// Raised by a rule or by a person.
    async fn source(&self) -> RiskSource {
        self.0.source.into()
    }
    /// The rule that raised it.
    async fn rule_key(&self) -> Option<&str> {
        self.0.rule_key.as_deref()
    }
    /// Identifies the underlying finding: at most one open risk per account has it.
    async fn fingerprint(&self) -> &str {
        &self.0.fingerprint
    }
    /// What kind of harm.
    async fn category(&self) -> RiskCategory {
        self.0.category.into()
    }
    /// A one-line summary, as shown in lists.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// The explanation.
    async fn detail(&self) -> &str {
        &self.0.detail
    }
    /// Where it is in its lifecycle.
    async fn status(&self) -> RiskStatus {
        self.0.status.into()
    }
    /// The states it may move to next.
    async fn allowed_transitions(&self) -> Vec<RiskStatus> {
        self.0.status.next().iter().map(|s| (*s).into()).collect()
    }
    /// Impact if it happens, 1-5.
    async fn impact(&self) -> i32 {
        self.0.impact
    }
    /// Likelihood, 1-5.
    async fn likelihood(&self) -> i32 {
        self.0.likelihood
    }
    /// Impact x likelihood, 1-25.
    async fn priority(&self) -> i32 {
        self.0.priority
    }
    /// Whether a person assessed impact and likelihood (rules then no longer change them).
    async fn assessed(&self) -> bool {
        self.0.assessed
    }
    /// Likelihood as a probability (1 -> 10% ... 5 -> 90%) times the account's annual value.
    async fn expected_loss(&self, ctx: &Context<'_>) -> async_graphql::Result<Money> {
        let a = request(ctx).loader.load_one(self.0.account).await.map_err(load_error)?.ok_or_else(internal)?;
        Ok(domain::expected_loss(self.0.likelihood, &a.annual_value).into())
    }
    /// The numbers that made it fire (as last seen).
    async fn evidence(&self) -> Vec<Evidence> {
        evidence(&self.0.evidence)
    }
    /// The playbook the rule suggests.
    async fn suggested_playbook_key(&self) -> Option<&str> {
        self.0.suggested_playbook.as_deref()
    }
    /// The playbook to offer: the one its finding suggests, else one answering its rule, else
    /// one answering its category, else the generic one.
    async fn suggested_playbook(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<super::plans::Playbook>> {
        let all = request(ctx).loader.load_one(AllPlaybooks).await.map_err(load_error)?.unwrap_or_default();
        let found = d::playbooks::suggest(
            &all,
            self.0.suggested_playbook.as_deref(),
            self.0.rule_key.as_deref(),
            self.0.category,
        );
        Ok(found.cloned().map(super::plans::Playbook))
    }
    /// Who owns it.
    async fn owner(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        optional_user(ctx, self.0.owner).await
    }
    /// Who raised it by hand.
    async fn created_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        optional_user(ctx, self.0.created_by).await
    }
    /// When it was first seen.
    async fn first_seen_at(&self) -> DateTime<Utc> {
        self.0.first_seen_at
    }
    /// When its rule last reported it.
    async fn last_seen_at(&self) -> DateTime<Utc> {
        self.0.last_seen_at
    }
    /// When its rule stopped reporting it (null while it still fires).
    async fn cleared_at(&self) -> Option<DateTime<Utc>> {
        self.0.cleared_at
    }
    /// The rule's readings when it stopped firing: the recovery.
    async fn clear_evidence(&self) -> Vec<Evidence> {
        evidence(&self.0.clear_evidence)
    }
    /// When it was resolved, materialized or dismissed.
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at
    }
    /// For dismissed rule risks: the same finding stays quiet until then.
    async fn dismissed_until(&self) -> Option<DateTime<Utc>> {
        self.0.dismissed_until
    }
    /// Its audit trail, oldest first.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n items after `after` (1-100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.endCursor`.")] after: Option<String>,
        #[graphql(desc = "Return the last n items before `before` (1-100).")] last: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.startCursor`.")] before: Option<String>,
    ) -> async_graphql::Result<Connection<String, RiskEvent, TotalCount, EmptyFields>> {
        let r = request(ctx);
        let page = page_request(first, after, last, before)?;
        let page = domain::events(&r.db, r.actor.organisation, self.0.id, &page).await.gql()?;
        Ok(connection(page, TotalCount::RiskEvents(self.0.id), RiskEvent))
    }
    /// The action plans made for it (one per applied playbook), oldest first.
    async fn action_plans(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<super::plans::ActionPlan>> {
        super::plans::risk_plans(ctx, self.0.id).await
    }
    /// Open plan actions past their deadline.
    async fn overdue_action_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        Ok(super::plans::clamp(overdue(ctx, self.0.id).await?))
    }
    /// How urgently it needs attention: its priority band (1-4 low, 5-9 medium, 10-15 high,
    /// 16-25 critical), one band higher while any of its plan actions is overdue.
    async fn urgency(&self, ctx: &Context<'_>) -> async_graphql::Result<RiskUrgency> {
        Ok(match bellwether_domain::plans::urgency(self.0.priority, overdue(ctx, self.0.id).await?) {
            bellwether_domain::plans::Urgency::Low => RiskUrgency::Low,
            bellwether_domain::plans::Urgency::Medium => RiskUrgency::Medium,
            bellwether_domain::plans::Urgency::High => RiskUrgency::High,
            bellwether_domain::plans::Urgency::Critical => RiskUrgency::Critical,
        })
    }
    /// Its communication log, newest first.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn updates(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only updates for this audience.")] audience: Option<UpdateAudience>,
        #[graphql(desc = "Return the first n items after `after` (1-100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.endCursor`.")] after: Option<String>,
        #[graphql(desc = "Return the last n items before `before` (1-100).")] last: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.startCursor`.")] before: Option<String>,
    ) -> async_graphql::Result<Connection<String, super::plans::RiskUpdate, TotalCount, EmptyFields>> {
        super::plans::risk_updates(ctx, self.0.id, audience, page_request(first, after, last, before)?).await
    }
    /// When the client was last updated about it; null if never.
    async fn last_client_update_at(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<DateTime<Utc>>> {
        last_update(ctx, self.0.id, d::UpdateAudience::Client).await
    }
    /// Whole days since the client was last updated about it, or since it was raised when they
    /// never were (silence breeds anxiety).
    async fn days_since_client_update(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        let since = last_update(ctx, self.0.id, d::UpdateAudience::Client).await?.unwrap_or(self.0.created_at);
        Ok((Utc::now() - since).num_days().max(0) as i32)
    }
    /// When the account team was last updated about it; null if never.
    async fn last_internal_update_at(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<DateTime<Utc>>> {
        last_update(ctx, self.0.id, d::UpdateAudience::Internal).await
    }
    /// Its post-mortem, once written.
    async fn post_mortem(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<super::post_mortems::PostMortem>> {
        let found = request(ctx).loader.load_one(PostMortemOf(self.0.id)).await.map_err(load_error)?;
        Ok(found.map(super::post_mortems::PostMortem::new))
    }
    /// Whether a post-mortem is expected and missing (resolved or materialized, none written).
    async fn post_mortem_due(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        if !matches!(self.0.status, d::RiskStatus::Resolved | d::RiskStatus::Materialized) {
            return Ok(false);
        }
        Ok(request(ctx).loader.load_one(PostMortemOf(self.0.id)).await.map_err(load_error)?.is_none())
    }
    /// Increases with every change; pass it as `expectedVersion` to change the risk safely.
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

async fn overdue(ctx: &Context<'_>, risk: RiskId) -> async_graphql::Result<u64> {
    Ok(request(ctx).loader.load_one(OverdueOf(risk)).await.map_err(load_error)?.unwrap_or(0))
}

async fn last_update(
    ctx: &Context<'_>,
    risk: RiskId,
    audience: d::UpdateAudience,
) -> async_graphql::Result<Option<DateTime<Utc>>> {
    request(ctx).loader.load_one(LastUpdateOf(risk, audience)).await.map_err(load_error)
}

/// How urgently a risk needs attention.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum RiskUrgency {
    /// Priority 1-4.
    Low,
    /// Priority 5-9, or low with overdue actions.
    Medium,
    /// Priority 10-15, or medium with overdue actions.
    High,
    /// Priority 16-25, or high with overdue actions.
    Critical,
}

/// Conditions on risks; all given must hold.
#[derive(InputObject, Default)]
pub struct RiskFilter {
    /// Only this account's.
    pub account_id: Option<ID>,
    /// Only these states.
    pub statuses: Option<Vec<RiskStatus>>,
    /// Only open (identified, validated, mitigating: true) or closed (false) risks.
    pub open: Option<bool>,
    /// Only these categories.
    pub categories: Option<Vec<RiskCategory>>,
    /// Only those owned by this user.
    pub owner_id: Option<ID>,
    /// Only those raised by rules or by people.
    pub source: Option<RiskSource>,
    /// Only those of this rule.
    pub rule_key: Option<String>,
    /// Only those with at least this priority (1-25).
    pub min_priority: Option<i32>,
    /// Only those with (true) or without (false) overdue plan actions.
    pub has_overdue_actions: Option<bool>,
    /// Only resolved or materialized risks still without a post-mortem (true), or all others (false).
    pub post_mortem_due: Option<bool>,
}

impl RiskFilter {
    fn into_domain(self, account: Option<AccountId>, today: chrono::NaiveDate) -> Result<DomainFilter, d::Error> {
        Ok(DomainFilter {
            account: match (account, &self.account_id) {
                (Some(a), _) => Some(a),
                (None, Some(id)) => Some(AccountId(input_id(id, Kind::Account, &["accountId"])?)),
                (None, None) => None,
            },
            statuses: domain_list(self.statuses),
            open: self.open,
            categories: domain_list(self.categories),
            owner: owner_id(self.owner_id.as_ref())?,
            source: self.source.map(Into::into),
            rule_key: self.rule_key,
            min_priority: self.min_priority,
            has_overdue_actions: self.has_overdue_actions.map(|o| (o, today)),
            post_mortem_due: self.post_mortem_due,
        })
    }
}

/// What risks can be ordered by.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum RiskOrderField {
    /// Impact x likelihood.
    Priority,
    /// When the rule last reported it.
    LastSeenAt,
    /// When it was raised.
    CreatedAt,
}

/// How to order risks.
#[derive(InputObject)]
pub struct RiskOrder {
    /// The field to order by.
    pub field: RiskOrderField,
    /// The direction (default ascending).
    #[graphql(default)]
    pub direction: OrderDirection,
}

/// Lists risks (the root field and `Account.risks`).
pub async fn list(
    ctx: &Context<'_>,
    account: Option<AccountId>,
    filter: Option<RiskFilter>,
    order_by: Option<RiskOrder>,
    page: d::PageRequest,
) -> async_graphql::Result<Connection<String, Risk, TotalCount, EmptyFields>> {
    let r = request(ctx);
    let f = filter.unwrap_or_default().into_domain(account, r.today).gql()?;
    let order = order_by.unwrap_or(RiskOrder { field: RiskOrderField::Priority, direction: OrderDirection::Desc });
    let field = match order.field {
        RiskOrderField::Priority => DomainOrder::Priority,
        RiskOrderField::LastSeenAt => DomainOrder::LastSeen,
        RiskOrderField::CreatedAt => DomainOrder::Created,
    };
    let page = domain::list(&r.db, r.actor.organisation, &f, field, order.direction == OrderDirection::Desc, &page)
        .await
        .gql()?;
    Ok(connection(page, TotalCount::Risks(f), Risk))
}

/// Which open risks the matrix and the portfolio cover.
#[derive(InputObject, Default)]
pub struct RiskMatrixFilter {
    /// Only these categories.
    pub categories: Option<Vec<RiskCategory>>,
    /// Only those owned by this user.
    pub owner_id: Option<ID>,
    /// Only accounts of these tiers.
    pub tiers: Option<Vec<Tier>>,
}

impl RiskMatrixFilter {
    fn into_domain(self) -> Result<MatrixFilter, d::Error> {
        Ok(MatrixFilter {
            categories: domain_list(self.categories),
            owner: owner_id(self.owner_id.as_ref())?,
            tiers: domain_list(self.tiers),
        })
    }
}

/// One cell of the risk matrix.
#[derive(SimpleObject)]
pub struct RiskMatrixCell {
    /// Impact, 1-5.
    pub impact: i32,
    /// Likelihood, 1-5.
    pub likelihood: i32,
    /// Open risks in the cell.
    pub count: i32,
    /// Their expected loss, per currency.
    pub value_at_risk: Vec<Money>,
}

/// Open risks by impact and likelihood: all 25 cells, impact-major.
#[derive(SimpleObject)]
pub struct RiskMatrix {
    /// The cells, impact 1..5 x likelihood 1..5.
    pub cells: Vec<RiskMatrixCell>,
    /// Open risks in all cells.
    pub count: i32,
    /// Their expected loss, per currency.
    pub value_at_risk: Vec<Money>,
}

/// Open risks and value at risk of one category.
#[derive(SimpleObject)]
pub struct CategoryExposure {
    /// The kind of harm the risks threaten.
    pub category: RiskCategory,
    /// Open risks.
    pub count: i32,
    /// Their expected loss, per currency.
    pub value_at_risk: Vec<Money>,
}

pub struct OwnerExposure {
    owner: Option<UserId>,
    count: i32,
    value_at_risk: Vec<d::Money>,
}

/// Open risks and value at risk of one owner.
#[Object]
impl OwnerExposure {
    /// The owner; null for unowned risks.
    async fn owner(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        optional_user(ctx, self.owner).await
    }
    /// Open risks.
    async fn count(&self) -> i32 {
        self.count
    }
    /// Their expected loss, per currency.
    async fn value_at_risk(&self) -> Vec<Money> {
        self.value_at_risk.iter().cloned().map(Into::into).collect()
    }
}

/// Value at risk across the portfolio.
#[derive(SimpleObject)]
pub struct RiskPortfolio {
    /// Open risks.
    pub count: i32,
    /// Their expected loss, per currency.
    pub value_at_risk: Vec<Money>,
    /// By category (every category, also those without risks).
    pub by_category: Vec<CategoryExposure>,
    /// By owner, most risks first; unowned risks under a null owner.
    pub by_owner: Vec<OwnerExposure>,
}

fn money(list: Vec<d::Money>) -> Vec<Money> {
    list.into_iter().map(Into::into).collect()
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

pub struct RuleParam {
    spec: bellwether_rules::ParamSpec,
    value: ParamValue,
}

/// A parameter value: a number or text.
#[derive(SimpleObject)]
pub struct RuleParamValue {
    /// Set for numeric parameters.
    pub number: Option<f64>,
    /// Set for text parameters.
    pub text: Option<String>,
}

/// A rule's parameters with the values in force.
fn rule_params(meta: &bellwether_rules::RuleMeta, params: &bellwether_rules::Params) -> Vec<RuleParam> {
    meta.params
        .iter()
        .map(|spec| RuleParam {
            value: params.values().get(&spec.key).cloned().unwrap_or_else(|| spec.default.clone()),
            spec: spec.clone(),
        })
        .collect()
}

fn param_value(v: &ParamValue) -> RuleParamValue {
    match v {
        ParamValue::Number(n) => RuleParamValue { number: Some(*n), text: None },
        ParamValue::Text(t) => RuleParamValue { number: None, text: Some(t.clone()) },
    }
}

/// A parameter of a rule, with the organisation's value.
#[Object]
impl RuleParam {
    /// The key to set it by in `configureRiskRule` or `backtestRule`.
    async fn key(&self) -> &str {
        &self.spec.key
    }
    /// What it means.
    async fn description(&self) -> &str {
        &self.spec.description
    }
    /// The value in force for your organisation.
    async fn value(&self) -> RuleParamValue {
        param_value(&self.value)
    }
    /// The built-in default.
    async fn default_value(&self) -> RuleParamValue {
        param_value(&self.spec.default)
    }
    /// Smallest allowed value, for numbers.
    async fn min(&self) -> Option<f64> {
        match self.spec.kind {
            ParamKind::Number { min, .. } => Some(min),
            ParamKind::Text | ParamKind::Metric => None,
        }
    }
    /// Largest allowed value, for numbers.
    async fn max(&self) -> Option<f64> {
        match self.spec.kind {
            ParamKind::Number { max, .. } => Some(max),
            ParamKind::Text | ParamKind::Metric => None,
        }
    }
    /// Whether it must be a whole number.
    async fn integer(&self) -> bool {
        matches!(self.spec.kind, ParamKind::Number { integer: true, .. })
    }
}

pub struct RiskRule(pub Configured);

/// A risk rule and how your organisation runs it.
#[Object]
impl RiskRule {
    /// The rule's stable key, as in `Risk.ruleKey`, `configureRiskRule` and `backtestRule`.
    async fn key(&self) -> &str {
        &self.0.rule.meta().key
    }
    /// The name people see for the rule.
    async fn name(&self) -> &str {
        &self.0.rule.meta().name
    }
    /// The category of its findings.
    async fn category(&self) -> RiskCategory {
        self.0.rule.meta().category.into()
    }
    /// What it watches and when it fires.
    async fn description(&self) -> &str {
        &self.0.rule.meta().description
    }
    /// The parts of an account it reads.
    async fn inputs(&self) -> Vec<String> {
        self.0.rule.meta().inputs.iter().map(|i| input_name(*i).to_owned()).collect()
    }
    /// Days of history it reads with the current parameters.
    async fn lookback_days(&self) -> i32 {
        i32::try_from(self.0.rule.lookback_days(&self.0.params)).unwrap_or(i32::MAX)
    }
    /// Whether it runs for your organisation (a plugin also needs its plugin enabled).
    async fn enabled(&self) -> bool {
        self.0.runs()
    }
    /// Whether its risks resolve by themselves when the finding stops firing (otherwise they are
    /// marked cleared and a person decides).
    async fn auto_resolve(&self) -> bool {
        self.0.auto_resolve
    }
    /// Days a dismissed finding stays quiet.
    async fn cooldown_days(&self) -> i32 {
        self.0.cooldown_days
    }
    /// Its parameters with your values.
    async fn params(&self) -> Vec<RuleParam> {
        rule_params(self.0.rule.meta(), &self.0.params)
    }
    /// 0 until your organisation changes its settings; pass it as `expectedVersion`.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When its settings last changed.
    async fn updated_at(&self) -> Option<DateTime<Utc>> {
        self.0.updated_at
    }
}

fn input_name(i: Input) -> &'static str {
    match i {
        Input::Metrics => "metrics",
        Input::Tickets => "tickets",
        Input::Invoices => "invoices",
        Input::Surveys => "surveys",
        Input::Assessments => "assessments",
        Input::Interactions => "interactions",
        Input::Contacts => "contacts",
        Input::ContractChanges => "contract_changes",
        Input::Health => "health",
        Input::ManagerLoad => "manager_load",
    }
}

/// One rule's figures in a run.
#[derive(SimpleObject)]
pub struct RuleRunStat {
    /// Key of the rule.
    pub rule_key: String,
    /// Accounts it evaluated.
    pub evaluations: i32,
    /// Findings it reported.
    pub findings: i32,
    /// Accounts it failed on.
    pub failures: i32,
    /// Time spent in it, in microseconds.
    pub duration_us: f64,
    /// Plugins: instructions used in all.
    pub fuel: f64,
    /// Plugins: the most instructions one evaluation used.
    pub max_fuel: f64,
    /// Plugins: the most linear memory one evaluation used, in bytes.
    pub peak_memory_bytes: f64,
    /// Plugins: accounts skipped once the circuit breaker switched the plugin off.
    pub skipped: i32,
    /// Plugins: the first lines the rule logged in this run (at most 50).
    pub logs: Vec<String>,
    /// Plugins: the SHA-256 of the component version that ran.
    pub component_sha256: Option<String>,
}

impl From<&runs::RuleStat> for RuleRunStat {
    fn from(s: &runs::RuleStat) -> Self {
        RuleRunStat {
            rule_key: s.rule_key.clone(),
            evaluations: count(s.evaluations as usize),
            findings: count(s.findings as usize),
            failures: count(s.failures as usize),
            duration_us: s.duration_us as f64,
            fuel: s.fuel as f64,
            max_fuel: s.max_fuel as f64,
            peak_memory_bytes: s.peak_memory as f64,
            skipped: count(s.skipped as usize),
            logs: s.logs.clone(),
            component_sha256: s.component_sha256.clone(),
        }
    }
}

pub struct RuleFailure(pub runs::Failure);

/// A rule that failed on an account.
#[Object]
impl RuleFailure {
    /// Key of the rule that failed.
    async fn rule_key(&self) -> &str {
        &self.0.rule_key
    }
    /// The account it failed on.
    async fn account(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Account>> {
        Ok(request(ctx).loader.load_one(self.0.account).await.map_err(load_error)?.map(Account))
    }
    /// What went wrong.
    async fn message(&self) -> &str {
        &self.0.message
    }
}

pub struct RuleRun(pub runs::RuleRun);

/// One evaluation pass of the risk rules.
#[Object]
impl RuleRun {
    /// Opaque global id: pass it to `node(id:)` or wherever an input asks for this object.
    pub async fn id(&self) -> ID {
        global_id(Kind::RuleRun, self.0.id.0)
    }
    /// What started it.
    async fn trigger(&self) -> RuleTrigger {
        self.0.trigger.into()
    }
    /// The account, when it covered exactly one.
    async fn account(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Account>> {
        let Some(a) = self.0.account else { return Ok(None) };
        Ok(request(ctx).loader.load_one(a).await.map_err(load_error)?.map(Account))
    }
    /// When it started.
    async fn started_at(&self) -> DateTime<Utc> {
        self.0.started_at
    }
    /// How long it took, in milliseconds.
    async fn duration_ms(&self) -> f64 {
        self.0.duration_us as f64 / 1000.0
    }
    /// Of which loading snapshots, in milliseconds.
    async fn snapshot_ms(&self) -> f64 {
        self.0.snapshot_us as f64 / 1000.0
    }
    /// Of which evaluating rules, in milliseconds.
    async fn evaluate_ms(&self) -> f64 {
        self.0.evaluate_us as f64 / 1000.0
    }
    /// Of which storing risks (overlapped with loading the next chunk), in milliseconds.
    async fn persist_ms(&self) -> f64 {
        self.0.persist_us as f64 / 1000.0
    }
    /// Accounts evaluated.
    async fn accounts(&self) -> i32 {
        count(self.0.accounts as usize)
    }
    /// Rule evaluations (accounts x rules).
    async fn evaluations(&self) -> i32 {
        count(self.0.evaluations as usize)
    }
    /// Findings reported.
    async fn findings(&self) -> i32 {
        count(self.0.findings as usize)
    }
    /// Failed evaluations.
    async fn failure_count(&self) -> i32 {
        count(self.0.failures as usize)
    }
    /// Risks raised.
    async fn raised(&self) -> i32 {
        count(self.0.applied.raised as usize)
    }
    /// Open risks reported again.
    async fn refreshed(&self) -> i32 {
        count(self.0.applied.refreshed as usize)
    }
    /// Risks whose rule stopped firing.
    async fn cleared(&self) -> i32 {
        count(self.0.applied.cleared as usize)
    }
    /// Per-rule figures.
    async fn rules(&self) -> Vec<RuleRunStat> {
        self.0.rules.iter().map(RuleRunStat::from).collect()
    }
    /// The failures (the first 100 of a run).
    async fn failures(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<RuleFailure>> {
        let r = request(ctx);
        Ok(runs::failures(&r.db, r.actor.organisation, self.0.id).await.gql()?.into_iter().map(RuleFailure).collect())
    }
}

/// Conditions on rule evaluation runs; all given must hold.
#[derive(InputObject, Default)]
pub struct RuleRunFilter {
    /// Only runs started this way.
    pub trigger: Option<RuleTrigger>,
    /// Only runs of this one account.
    pub account_id: Option<ID>,
    /// Only runs with failures.
    #[graphql(default)]
    pub failed_only: bool,
}

/// A finding: what a rule reports about an account.
#[derive(SimpleObject)]
pub struct RiskFinding {
    /// Key of the rule that reports it.
    pub rule_key: String,
    /// Identifies the finding within the rule.
    pub key: String,
    /// The fingerprint a risk raised from it carries.
    pub fingerprint: String,
    /// What kind of harm.
    pub category: RiskCategory,
    /// A one-line summary, as shown in lists.
    pub title: String,
    /// The explanation.
    pub detail: String,
    /// Suggested impact, 1-5.
    pub impact: i32,
    /// Suggested likelihood, 1-5.
    pub likelihood: i32,
    /// The numbers that made it fire.
    pub evidence: Vec<Evidence>,
    /// The playbook the rule suggests.
    pub suggested_playbook_key: Option<String>,
}

fn finding(rule_key: &str, f: &domain::Finding) -> RiskFinding {
    RiskFinding {
        rule_key: rule_key.to_owned(),
        key: f.key.clone(),
        fingerprint: domain::fingerprint(rule_key, &f.key),
        category: f.category.into(),
        title: f.title.clone(),
        detail: f.detail.clone(),
        impact: f.impact,
        likelihood: f.likelihood,
        evidence: evidence(&f.evidence),
        suggested_playbook_key: f.suggested_playbook.clone(),
    }
}

/// A dry run of the enabled rules on one account: nothing is stored.
#[derive(SimpleObject)]
pub struct RiskPreview {
    /// The moment evaluated.
    pub as_of: DateTime<Utc>,
    /// What the rules report.
    pub findings: Vec<RiskFinding>,
    /// Rules that failed, and why.
    pub failures: Vec<RulePreviewFailure>,
}

/// A rule that failed in a preview.
#[derive(SimpleObject)]
pub struct RulePreviewFailure {
    /// Key of the rule that failed.
    pub rule_key: String,
    /// What went wrong.
    pub message: String,
}

/// A parameter value to set: give `number` or `text`; `null` restores the default.
#[derive(OneofObject)]
pub enum RuleParamInputValue {
    /// A numeric value.
    Number(f64),
    /// A text value.
    Text(String),
}

/// A parameter to set.
#[derive(InputObject)]
pub struct RuleParamInput {
    /// The parameter's key.
    pub key: String,
    /// Its new value; omit or `null` to restore the default.
    pub value: MaybeUndefined<RuleParamInputValue>,
}

fn param_input(v: RuleParamInputValue) -> ParamValue {
    match v {
        RuleParamInputValue::Number(n) => ParamValue::Number(n),
        RuleParamInputValue::Text(t) => ParamValue::Text(t),
    }
}

/// A rule to replay over past dates for some accounts, optionally with other parameters.
#[derive(InputObject)]
pub struct BacktestRuleInput {
    /// Key of the rule to replay.
    pub rule_key: String,
    /// Parameters to try instead of the current ones.
    #[graphql(default)]
    pub params: Vec<RuleParamInput>,
    /// The accounts (1-200).
    pub account_ids: Vec<ID>,
    /// First date evaluated (as of the end of that day on your organisation's calendar).
    pub from: Date,
    /// Last date evaluated; not in the future.
    pub to: Date,
    /// Evaluate every n days (default 7).
    #[graphql(default = 7)]
    pub every_days: i32,
}

/// When the rule fired for one account.
#[derive(SimpleObject)]
pub struct BacktestFiring {
    /// The date evaluated.
    pub date: Date,
    /// What it reported.
    pub findings: Vec<RiskFinding>,
}

pub struct BacktestAccount(engine::BacktestAccount, String);

/// A backtest's result for one account.
#[Object]
impl BacktestAccount {
    /// The account the rule was replayed for.
    async fn account(&self, ctx: &Context<'_>) -> async_graphql::Result<Account> {
        request(ctx).loader.load_one(self.0.account).await.map_err(load_error)?.map(Account).ok_or_else(internal)
    }
    /// The first date it fired, if any.
    async fn first_fired_on(&self) -> Option<Date> {
        self.0.firings.first().map(|(d, _)| Date(*d))
    }
    /// Dates it fired on, out of those evaluated.
    async fn fired_count(&self) -> i32 {
        count(self.0.firings.len())
    }
    /// Each date it fired, with its findings.
    async fn firings(&self) -> Vec<BacktestFiring> {
        self.0
            .firings
            .iter()
            .map(|(d, fs)| BacktestFiring {
                date: Date(*d),
                findings: fs.iter().map(|f| finding(&self.1, f)).collect(),
            })
            .collect()
    }
    /// Dates the rule failed on, with the reason.
    async fn failures(&self) -> Vec<String> {
        self.0.failures.iter().map(|(d, m)| format!("{d}: {m}")).collect()
    }
}

pub struct Backtest(engine::Backtest);

/// When a rule would have fired over past dates.
#[Object]
impl Backtest {
    /// Key of the rule replayed.
    async fn rule_key(&self) -> &str {
        &self.0.rule_key
    }
    /// The parameters used.
    async fn params(&self, ctx: &Context<'_>) -> Vec<RuleParam> {
        engine(ctx).rule(&self.0.rule_key).map(|r| rule_params(r.meta(), &self.0.params)).unwrap_or_default()
    }
    /// The dates evaluated.
    async fn dates(&self) -> Vec<Date> {
        self.0.dates.iter().map(|d| Date(*d)).collect()
    }
    /// The outcome for each account, in the order asked.
    async fn accounts(&self) -> Vec<BacktestAccount> {
        self.0.accounts.iter().map(|a| BacktestAccount(a.clone(), self.0.rule_key.clone())).collect()
    }
    /// How the rule with these parameters did against what happened within `horizonDays`
    /// after each date, over the same accounts and dates (as `warningQuality` measures it):
    /// tune a threshold by its precision, recall and lead time, not only by when it fires.
    async fn quality(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Days after each date the outcome counts (1-730).", default = 90)] horizon_days: i32,
        #[graphql(desc = "The outcome.", default_with = "super::quality::WarningOutcome::Churn")]
        outcome: super::quality::WarningOutcome,
    ) -> async_graphql::Result<super::quality::WarningTarget> {
        let r = request(ctx);
        let (Some(from), Some(to)) = (self.0.dates.first(), self.0.dates.last()) else {
            return Err(bad_input("the backtest has no dates"));
        };
        let every = self.0.dates.get(1).map_or(1, |d| (*d - *from).num_days());
        let req = bellwether_rules::quality::QualityRequest {
            from: *from,
            to: *to,
            every_days: every,
            horizon_days: i64::from(horizon_days),
            outcome: super::quality::outcome(outcome),
            scorecards: Vec::new(),
            rules: vec![self.0.rule_key.clone()],
            accounts: self.0.accounts.iter().map(|a| a.account).collect(),
            rule_params: [(self.0.rule_key.clone(), self.0.params.clone())].into(),
        };
        let q =
            engine(ctx).warning_quality(&r.db, r.actor.organisation, r.actor.time_zone, r.today, req).await.gql()?;
        let t = q.targets.into_iter().next().ok_or_else(internal)?;
        Ok(super::quality::target(t))
    }
    /// How many accounts it fired for on each date (same order as `dates`).
    async fn firing_accounts_per_date(&self) -> Vec<i32> {
        self.0
            .dates
            .iter()
            .map(|d| count(self.0.accounts.iter().filter(|a| a.firings.iter().any(|(fd, _)| fd == d)).count()))
            .collect()
    }
}

pub(super) fn bad_input(message: impl Into<String>) -> async_graphql::Error {
    async_graphql::Error::new(message.into()).extend_with(|_, e| e.set("code", codes::BAD_USER_INPUT))
}

#[derive(Default)]
pub struct RiskQuery;

#[Object]
impl RiskQuery {
    /// Risks across your organisation (default: highest priority first).
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn risks(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Conditions the risks must meet.")] filter: Option<RiskFilter>,
        #[graphql(desc = "Ordering (default by priority, highest first).")] order_by: Option<RiskOrder>,
        #[graphql(desc = "Return the first n items after `after` (1-100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.endCursor`.")] after: Option<String>,
        #[graphql(desc = "Return the last n items before `before` (1-100).")] last: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.startCursor`.")] before: Option<String>,
    ) -> async_graphql::Result<Connection<String, Risk, TotalCount, EmptyFields>> {
        list(ctx, None, filter, order_by, page_request(first, after, last, before)?).await
    }

    /// Open risks by impact x likelihood, with the value at risk in each cell.
    async fn risk_matrix(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which open risks to count (default: all).")] filter: Option<RiskMatrixFilter>,
    ) -> async_graphql::Result<RiskMatrix> {
        let r = request(ctx);
        let f = filter.unwrap_or_default().into_domain().gql()?;
        let open = domain::open_risks(&r.db, r.actor.organisation, &f).await.gql()?;
        let mut cells = Vec::with_capacity(25);
        for impact in 1..=5 {
            for likelihood in 1..=5 {
                let inside: Vec<&domain::OpenRisk> =
                    open.iter().filter(|o| o.impact == impact && o.likelihood == likelihood).collect();
                cells.push(RiskMatrixCell {
                    impact,
                    likelihood,
                    count: count(inside.len()),
                    value_at_risk: money(domain::sum_by_currency(inside.iter().map(|o| &o.expected_loss))),
                });
            }
        }
        Ok(RiskMatrix {
            cells,
            count: count(open.len()),
            value_at_risk: money(domain::sum_by_currency(open.iter().map(|o| &o.expected_loss))),
        })
    }

    /// Value at risk by category and by owner.
    async fn risk_portfolio(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which open risks to count (default: all).")] filter: Option<RiskMatrixFilter>,
    ) -> async_graphql::Result<RiskPortfolio> {
        let r = request(ctx);
        let f = filter.unwrap_or_default().into_domain().gql()?;
        let open = domain::open_risks(&r.db, r.actor.organisation, &f).await.gql()?;
        let by_category = d::RiskCategory::ALL
            .iter()
            .map(|c| {
                let inside: Vec<&domain::OpenRisk> = open.iter().filter(|o| o.category == *c).collect();
                CategoryExposure {
                    category: (*c).into(),
                    count: count(inside.len()),
                    value_at_risk: money(domain::sum_by_currency(inside.iter().map(|o| &o.expected_loss))),
                }
            })
            .collect();
        let mut owners: BTreeMap<Option<UserId>, Vec<&domain::OpenRisk>> = BTreeMap::new();
        for o in &open {
            owners.entry(o.owner).or_default().push(o);
        }
        let mut by_owner: Vec<OwnerExposure> = owners
            .into_iter()
            .map(|(owner, list)| OwnerExposure {
                owner,
                count: count(list.len()),
                value_at_risk: domain::sum_by_currency(list.iter().map(|o| &o.expected_loss)),
            })
            .collect();
        by_owner.sort_by_key(|o| std::cmp::Reverse(o.count));
        Ok(RiskPortfolio {
            count: count(open.len()),
            value_at_risk: money(domain::sum_by_currency(open.iter().map(|o| &o.expected_loss))),
            by_category,
            by_owner,
        })
    }

    /// Every risk rule with your organisation's settings.
    async fn risk_rules(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<RiskRule>> {
        let r = request(ctx);
        Ok(engine(ctx).configured(&r.db, r.actor.organisation).await.gql()?.into_iter().map(RiskRule).collect())
    }

    /// The runs of the risk rules, newest first (kept for 30 days).
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn rule_runs(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Conditions the runs must meet.")] filter: Option<RuleRunFilter>,
        #[graphql(desc = "Return the first n items after `after` (1-100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.endCursor`.")] after: Option<String>,
        #[graphql(desc = "Return the last n items before `before` (1-100).")] last: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.startCursor`.")] before: Option<String>,
    ) -> async_graphql::Result<Connection<String, RuleRun, TotalCount, EmptyFields>> {
        let r = request(ctx);
        let page = page_request(first, after, last, before)?;
        let f = filter.unwrap_or_default();
        let f = RunFilter {
            trigger: f.trigger.map(Into::into),
            account: f
                .account_id
                .as_ref()
                .map(|id| input_id(id, Kind::Account, &["accountId"]).map(AccountId))
                .transpose()
                .gql()?,
            failed_only: f.failed_only,
        };
        let page = runs::list(&r.db, r.actor.organisation, &f, &page).await.gql()?;
        Ok(connection(page, TotalCount::RuleRuns(f), RuleRun))
    }

    /// What the enabled rules report about an account now (or as of a past moment), without
    /// storing anything; null for an unknown account.
    async fn preview_risks(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account to evaluate.")] account_id: ID,
        #[graphql(desc = "The moment to evaluate (default now); not in the future.")] as_of: Option<DateTime<Utc>>,
    ) -> async_graphql::Result<Option<RiskPreview>> {
        let r = request(ctx);
        let account = AccountId(input_id(&account_id, Kind::Account, &["accountId"]).gql()?);
        let now = values::now();
        let as_of = values::timestamp(as_of.unwrap_or(now));
        if as_of > now {
            return Err(bad_input("`asOf` must not be in the future"));
        }
        let Some(p) = engine(ctx).preview(&r.db, r.actor.organisation, account, as_of).await.gql()? else {
            return Ok(None);
        };
        Ok(Some(RiskPreview {
            as_of: p.as_of,
            findings: p.findings.iter().map(|f| finding(&f.rule_key, &f.finding)).collect(),
            failures: p
                .failures
                .into_iter()
                .map(|f| RulePreviewFailure { rule_key: f.rule_key, message: f.message })
                .collect(),
        }))
    }

    /// When a rule would have fired over past dates for some accounts, optionally with other
    /// parameters: tune a threshold against history before switching it on. Nothing is stored.
    /// Admins and managers.
    async fn backtest_rule(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The rule, the accounts, the range of past dates and, optionally, parameters to try.")]
        input: BacktestRuleInput,
    ) -> async_graphql::Result<Backtest> {
        let r = request(ctx);
        r.actor.require_manager().gql()?;
        let mut accounts = Vec::with_capacity(input.account_ids.len());
        for (i, id) in input.account_ids.iter().enumerate() {
            accounts.push(AccountId(input_id(id, Kind::Account, &["input", "accountIds", &i.to_string()]).gql()?));
        }
        let mut params = BTreeMap::new();
        for p in input.params {
            if let MaybeUndefined::Value(v) = p.value {
                params.insert(p.key, param_input(v));
            }
        }
        let req = BacktestRequest {
            rule_key: input.rule_key,
            params,
            accounts,
            from: input.from.0,
            to: input.to.0,
            every_days: i64::from(input.every_days),
        };
        Ok(Backtest(engine(ctx).backtest(&r.db, r.actor.organisation, r.actor.time_zone, r.today, req).await.gql()?))
    }
}

payload!(
    /// Result of a risk mutation.
    RiskPayload { risk: Risk }
);

payload!(
    /// Result of changing a rule's settings.
    ConfigureRiskRulePayload { rule: RiskRule }
);

/// A risk raised by hand (e.g. competitive intelligence).
#[derive(InputObject)]
pub struct CreateRiskInput {
    /// The account at risk.
    pub account_id: ID,
    /// What kind of harm.
    pub category: RiskCategory,
    /// One line (at most 300 characters).
    pub title: String,
    /// The explanation.
    pub detail: String,
    /// Impact if it happens, 1-5.
    pub impact: i32,
    /// Likelihood, 1-5.
    pub likelihood: i32,
    /// Who owns it.
    pub owner_id: Option<ID>,
    /// Named values that support it, e.g. a competitor's offer.
    #[graphql(default)]
    pub evidence: Vec<EvidenceInput>,
    /// A note for the audit trail.
    pub note: Option<String>,
}

/// Moves a risk to another state.
#[derive(InputObject)]
pub struct TransitionRiskInput {
    /// The risk to move.
    pub risk_id: ID,
    /// The new state; see `Risk.allowedTransitions`.
    pub to: RiskStatus,
    /// Why (kept in the audit trail).
    pub note: Option<String>,
    /// Fail with a CONFLICT user error unless the risk still has this version.
    pub expected_version: Option<i32>,
}

/// Gives a risk an owner.
#[derive(InputObject)]
pub struct AssignRiskInput {
    /// The risk to assign.
    pub risk_id: ID,
    /// The new owner; null to leave it unowned.
    pub owner_id: Option<ID>,
    /// Fail with a CONFLICT user error unless the risk still has this version.
    pub expected_version: Option<i32>,
}

/// A person's assessment of impact and likelihood.
#[derive(InputObject)]
pub struct AssessRiskInput {
    /// The risk to assess.
    pub risk_id: ID,
    /// Impact, 1-5.
    pub impact: i32,
    /// Likelihood, 1-5.
    pub likelihood: i32,
    /// Why (kept in the audit trail).
    pub note: Option<String>,
    /// Fail with a CONFLICT user error unless the risk still has this version.
    pub expected_version: Option<i32>,
}

/// Changes how your organisation runs a rule. Omitted fields stay as they are.
#[derive(InputObject)]
pub struct ConfigureRiskRuleInput {
    /// Key of the rule to configure.
    pub rule_key: String,
    /// Run it or not.
    pub enabled: Option<bool>,
    /// Parameters to change.
    #[graphql(default)]
    pub params: Vec<RuleParamInput>,
    /// Resolve its risks automatically when the finding stops firing.
    pub auto_resolve: Option<bool>,
    /// Days a dismissed finding stays quiet (0-3650).
    pub cooldown_days: Option<i32>,
    /// Fail with a CONFLICT user error unless the settings still have this version (0: never
    /// changed).
    pub expected_version: Option<i32>,
}

/// Evaluates the rules on one account now.
#[derive(InputObject)]
pub struct EvaluateAccountRisksInput {
    /// The account to evaluate.
    pub account_id: ID,
}

/// Result of evaluating an account's rules.
#[derive(SimpleObject)]
pub struct EvaluateAccountRisksPayload {
    /// The run; null when nothing ran.
    pub run: Option<RuleRun>,
    /// The account's open risks after the run, highest priority first.
    pub open_risks: Vec<Risk>,
    /// Problems with the input; empty on success.
    pub user_errors: Vec<super::support::UserError>,
}

#[derive(Default)]
pub struct RiskMutation;

#[Object]
impl RiskMutation {
    /// Raises a risk by hand on an account you may write.
    async fn create_risk(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account, the threat to it, and a first estimate of impact and likelihood.")]
        input: CreateRiskInput,
    ) -> async_graphql::Result<RiskPayload> {
        let r = request(ctx);
        let result = async {
            let new = NewRisk {
                account: AccountId(input_id(&input.account_id, Kind::Account, &["accountId"])?),
                category: input.category.into(),
                title: input.title,
                detail: input.detail,
                impact: input.impact,
                likelihood: input.likelihood,
                owner: owner_id(input.owner_id.as_ref())?,
                evidence: input
                    .evidence
                    .into_iter()
                    .map(|e| domain::Evidence { name: e.name, number: e.number, text: e.text })
                    .collect(),
                note: input.note,
            };
            domain::create(&r.db, &r.actor, new).await
        }
        .await;
        outcome(result, Risk).map(Into::into)
    }

    /// Moves a risk through its lifecycle (only the allowed transitions; each is audited).
    async fn transition_risk(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The risk and the lifecycle state to move it to.")] input: TransitionRiskInput,
    ) -> async_graphql::Result<RiskPayload> {
        let r = request(ctx);
        let result = async {
            let id = RiskId(input_id(&input.risk_id, Kind::Risk, &["riskId"])?);
            domain::transition(&r.db, &r.actor, id, input.to.into(), input.note, input.expected_version).await
        }
        .await;
        outcome(result, Risk).map(Into::into)
    }

    /// Gives a risk an owner (or none).
    async fn assign_risk(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The risk and its new owner (or none).")] input: AssignRiskInput,
    ) -> async_graphql::Result<RiskPayload> {
        let r = request(ctx);
        let result = async {
            let id = RiskId(input_id(&input.risk_id, Kind::Risk, &["riskId"])?);
            let owner = owner_id(input.owner_id.as_ref())?;
            domain::assign(&r.db, &r.actor, id, owner, input.expected_version).await
        }
        .await;
        outcome(result, Risk).map(Into::into)
    }

    /// Sets a risk's impact and likelihood (validation and prioritisation).
    async fn assess_risk(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The risk and your assessment of its impact and likelihood.")] input: AssessRiskInput,
    ) -> async_graphql::Result<RiskPayload> {
        let r = request(ctx);
        let result = async {
            let id = RiskId(input_id(&input.risk_id, Kind::Risk, &["riskId"])?);
            domain::assess(&r.db, &r.actor, id, input.impact, input.likelihood, input.note, input.expected_version)
                .await
        }
        .await;
        outcome(result, Risk).map(Into::into)
    }

    /// Enables, disables or tunes a rule for your organisation (admins and managers).
    async fn configure_risk_rule(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The rule and the settings to change; omitted fields stay as they are.")]
        input: ConfigureRiskRuleInput,
    ) -> async_graphql::Result<ConfigureRiskRulePayload> {
        let r = request(ctx);
        let change = RuleChange {
            enabled: input.enabled,
            params: input
                .params
                .into_iter()
                .map(|p| {
                    let v = match p.value {
                        MaybeUndefined::Value(v) => Some(param_input(v)),
                        _ => None,
                    };
                    (p.key, v)
                })
                .collect(),
            auto_resolve: input.auto_resolve,
            cooldown_days: input.cooldown_days,
            expected_version: input.expected_version,
        };
        let result = engine(ctx).configure(&r.db, &r.actor, &input.rule_key, change).await;
        outcome(result, RiskRule).map(Into::into)
    }

    /// Runs the enabled rules on an account you may write now and stores the outcome.
    async fn evaluate_account_risks(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account to evaluate.")] input: EvaluateAccountRisksInput,
    ) -> async_graphql::Result<EvaluateAccountRisksPayload> {
        let r = request(ctx);
        let result = async {
            let id = AccountId(input_id(&input.account_id, Kind::Account, &["accountId"])?);
            r.actor.require_writer()?;
            let account = d::accounts::get(&r.db, r.actor.organisation, id)
                .await?
                .ok_or_else(|| d::Error::not_found("account", &["accountId"]))?;
            r.actor.require_account_writer(account.account_manager, account.sales_owner)?;
            let report = engine(ctx).evaluate_account(&r.db, r.actor.organisation, id).await?;
            let run = match report.run {
                Some(run) => runs::get(&r.db, r.actor.organisation, run).await?,
                None => None,
            };
            let filter = DomainFilter { account: Some(id), open: Some(true), ..Default::default() };
            let page = d::PageRequest { first: Some(100), ..Default::default() };
            let open = domain::list(&r.db, r.actor.organisation, &filter, DomainOrder::Priority, true, &page).await?;
            Ok((run, open.edges.into_iter().map(|(_, risk)| risk).collect::<Vec<_>>()))
        }
        .await;
        let (value, user_errors) = outcome(result, |(run, open): (Option<runs::RuleRun>, Vec<domain::Risk>)| {
            (run.map(RuleRun), open.into_iter().map(Risk).collect::<Vec<_>>())
        })?;
        let (run, open_risks) = value.unwrap_or((None, Vec::new()));
        Ok(EvaluateAccountRisksPayload { run, open_risks, user_errors })
    }
}
