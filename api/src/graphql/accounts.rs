//! Accounts: the object, its relations, listing and mutations.

use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object};
use bellwether_domain::accounts::{
    AccountFilter as DomainFilter, AccountOrder as DomainOrder, AccountPatch, NewAccount, StatusChange,
};
use bellwether_domain::signals::invoices::InvoiceFilter as DomainInvoiceFilter;
use bellwether_domain::signals::surveys::SurveyFilter;
use bellwether_domain::signals::tickets::TicketFilter;
use bellwether_domain::signals::{assessments, contracts, invoices, surveys, tickets};
use bellwether_domain::{self as d, AccountId, Error, UserId, accounts, health};
use chrono::{DateTime, NaiveDate, Utc};

use super::contacts::{Contact, ContactFilter};
use super::count::TotalCount;
use super::health::{HealthScore, scorecard_arg};
use super::interactions::{Interaction, InteractionFilter};
use super::loaders::{HealthOf, load_error};
use super::scalars::{
    AccountStatus, Date, HealthBand, InvoiceStatus, LifecycleStage, Money, MoneyInput, SurveyKind, TicketPriority,
    TicketStatus, Tier, domain_list,
};
use super::signals::{
    self, ContractChange, Invoice, MetricPoint, MetricSeries, RelationshipAssessment, SupportTicket, SurveyResponse,
};
use super::support::{
    GqlResult, Kind, MAX_LIST, connection, global_id, input_id, outcome, page_cost, page_request, patch, payload,
    request,
};
use super::users::{TargetInput, User};

#[derive(Clone)]
pub struct Account(pub d::Account);

/// A client account: a customer the organisation looks after.
#[Object]
impl Account {
    /// Opaque global id: pass it to `node(id:)` or wherever an input asks for this object.
    pub async fn id(&self) -> ID {
        global_id(Kind::Account, self.0.id.0)
    }
    /// The name people see for the account in lists and reports.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Your own id for the account (e.g. the CRM id), unique in the organisation.
    async fn external_ref(&self) -> Option<&str> {
        self.0.external_ref.as_deref()
    }
    /// Market segment, e.g. `banks` or `government`.
    async fn segment(&self) -> Option<&str> {
        self.0.segment.as_deref()
    }
    /// The client's industry, in your own words (e.g. `insurance`).
    async fn industry(&self) -> Option<&str> {
        self.0.industry.as_deref()
    }
    /// How important the account is.
    async fn tier(&self) -> Tier {
        self.0.tier.into()
    }
    /// Where the account is in its life with you.
    async fn lifecycle_stage(&self) -> LifecycleStage {
        self.0.lifecycle_stage.into()
    }
    /// Whether it is still a customer.
    async fn status(&self) -> AccountStatus {
        self.0.status.into()
    }
    /// When it churned, if it did.
    async fn churned_on(&self) -> Option<Date> {
        self.0.churned_on.map(Date)
    }
    /// Why it churned, if it did.
    async fn churn_reason(&self) -> Option<&str> {
        self.0.churn_reason.as_deref()
    }
    /// Annual contract value.
    async fn annual_value(&self) -> Money {
        self.0.annual_value.clone().into()
    }
    /// When the current contract started.
    async fn contract_start(&self) -> Option<Date> {
        self.0.contract_start.map(Date)
    }
    /// When the contract is up for renewal.
    async fn renewal_date(&self) -> Option<Date> {
        self.0.renewal_date.map(Date)
    }
    /// Days from today (on the organisation's calendar) to the renewal date; negative when it
    /// has passed.
    async fn days_until_renewal(&self, ctx: &Context<'_>) -> Option<i32> {
        self.0.renewal_date.map(|d| (d - request(ctx).today).num_days() as i32)
    }
    /// The account's custom attribute values, by key.
    async fn attributes(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<super::attributes::AccountAttributeValue>> {
        let found = request(ctx).loader.load_one(super::loaders::AttributesOf(self.0.id)).await.map_err(load_error)?;
        Ok(found
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| super::attributes::AccountAttributeValue::new(k, v))
            .collect())
    }
    /// The account manager responsible for retention.
    async fn account_manager(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        load_user(ctx, self.0.account_manager).await
    }
    /// The sales owner responsible for growth, if any.
    async fn sales_owner(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        load_user(ctx, self.0.sales_owner).await
    }
    /// The parent account (e.g. the group a subsidiary belongs to).
    async fn parent(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Account>> {
        let Some(id) = self.0.parent else {
            return Ok(None);
        };
        Ok(request(ctx).loader.load_one(id).await.map_err(load_error)?.map(Account))
    }
    /// Accounts whose parent this account is.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn children(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Further conditions; `parentId` is ignored here.")] filter: Option<AccountFilter>,
        #[graphql(desc = "Ordering (default by name).")] order_by: Option<AccountOrder>,
        #[graphql(desc = "Return the first n items after `after` (1-100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.endCursor`.")] after: Option<String>,
        #[graphql(desc = "Return the last n items before `before` (1-100).")] last: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.startCursor`.")] before: Option<String>,
    ) -> async_graphql::Result<Connection<String, Account, TotalCount, EmptyFields>> {
        let mut f = filter.unwrap_or_default().into_domain(request(ctx).today)?;
        f.parent = Some(self.0.id);
        list(ctx, f, order_by, page_request(first, after, last, before)?).await
    }
    /// Risks to this account (default: highest priority first).
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn risks(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Conditions the risks must meet (`accountId` is ignored here).")] filter: Option<
            super::risks::RiskFilter,
        >,
        #[graphql(desc = "Ordering (default by priority, highest first).")] order_by: Option<super::risks::RiskOrder>,
        #[graphql(desc = "Return the first n items after `after` (1-100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.endCursor`.")] after: Option<String>,
        #[graphql(desc = "Return the last n items before `before` (1-100).")] last: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.startCursor`.")] before: Option<String>,
    ) -> async_graphql::Result<Connection<String, super::risks::Risk, TotalCount, EmptyFields>> {
        super::risks::list(ctx, Some(self.0.id), filter, order_by, page_request(first, after, last, before)?).await
    }
    /// Stakeholders at this account, by name.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Conditions the contacts must meet.")] filter: Option<ContactFilter>,
        #[graphql(desc = "Return the first n items after `after` (1-100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.endCursor`.")] after: Option<String>,
        #[graphql(desc = "Return the last n items before `before` (1-100).")] last: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.startCursor`.")] before: Option<String>,
    ) -> async_graphql::Result<Connection<String, Contact, TotalCount, EmptyFields>> {
        super::contacts::list(ctx, self.0.id, filter, page_request(first, after, last, before)?).await
    }
    /// Interactions with this account, most recent first.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn interactions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Conditions the interactions must meet.")] filter: Option<InteractionFilter>,
        #[graphql(desc = "Return the first n items after `after` (1-100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.endCursor`.")] after: Option<String>,
        #[graphql(desc = "Return the last n items before `before` (1-100).")] last: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.startCursor`.")] before: Option<String>,
    ) -> async_graphql::Result<Connection<String, Interaction, TotalCount, EmptyFields>> {
        super::interactions::list(ctx, self.0.id, filter, page_request(first, after, last, before)?).await
    }
    /// The default scorecard's latest score (0-100), as last computed; `health` explains it.
    /// Recomputation follows new signals within moments, off the request path.
    async fn health_score(&self) -> Option<f64> {
        self.0.health_score
    }
    /// The band of `healthScore`.
    async fn health_band(&self) -> Option<HealthBand> {
        self.0.health_band.map(Into::into)
    }
    /// Current health with a scorecard (default: the organisation's default scorecard),
    /// recomputed first if signals arrived since it was last computed. With `asOf`, the health
    /// the scorecard gives as of the end of that day on your organisation's calendar, from what
    /// was known then (later signals ignored, the contract as it stood): computed on demand,
    /// not stored (its `id` resolves to nothing and `changes` is null).
    async fn health(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A scorecard other than the default.")] scorecard_id: Option<ID>,
        #[graphql(desc = "A past day (not in the future) to score the account as of.")] as_of: Option<Date>,
    ) -> async_graphql::Result<Option<HealthScore>> {
        let card = scorecard_arg(scorecard_id)?;
        if let Some(day) = as_of {
            let r = request(ctx);
            if day.0 > r.today {
                return Err(Error::invalid(&["asOf"], "must not be in the future")).gql();
            }
            let at = d::organisations::end_of_day(day.0, r.actor.time_zone).min(d::values::now());
            let score = health::as_of(&r.db, r.actor.organisation, self.0.id, card, at).await.gql()?;
            return Ok(score.map(HealthScore));
        }
        let loaded = request(ctx).loader.load_one(HealthOf(self.0.id, card)).await.map_err(load_error)?;
        Ok(loaded.map(HealthScore))
    }
    /// Health scores over time with a scorecard, newest first; a new entry is kept whenever the
    /// score or its explanation changes.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn health_history(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A scorecard other than the default.")] scorecard_id: Option<ID>,
        #[graphql(desc = "Return the first n items after `after` (1-100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.endCursor`.")] after: Option<String>,
        #[graphql(desc = "Return the last n items before `before` (1-100).")] last: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.startCursor`.")] before: Option<String>,
    ) -> async_graphql::Result<Connection<String, HealthScore, TotalCount, EmptyFields>> {
        let r = request(ctx);
        let card = scorecard_arg(scorecard_id)?;
        let page = page_request(first, after, last, before)?;
        let page = health::history(&r.db, r.actor.organisation, self.0.id, card, &page).await.gql()?;
        Ok(connection(page, TotalCount::HealthHistory(self.0.id, card), HealthScore))
    }
    /// A metric's series for charts, downsampled to `buckets` equal time buckets; null for an
    /// unknown metric.
    #[graphql(complexity = "1 + buckets.clamp(0, 1000) as usize / 10")]
    async fn metric_series(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The metric key, e.g. `usage.active_users`.")] metric: String,
        #[graphql(desc = "Start of the range (default: 90 days before `to`).")] from: Option<DateTime<Utc>>,
        #[graphql(desc = "End of the range, exclusive (default: now).")] to: Option<DateTime<Utc>>,
        #[graphql(desc = "How many buckets (1-1000).", default = 60)] buckets: i32,
    ) -> async_graphql::Result<Option<MetricSeries>> {
        signals::series(ctx, self.0.id, &metric, from, to, buckets).await
    }
    /// Raw observations of a metric in `[from, to)`, oldest first; null for an unknown metric.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn metric_points(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The metric key.")] metric: String,
        #[graphql(desc = "Observed at or after.")] from: Option<DateTime<Utc>>,
        #[graphql(desc = "Observed before.")] to: Option<DateTime<Utc>>,
        #[graphql(desc = "Return the first n items after `after` (1-100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.endCursor`.")] after: Option<String>,
        #[graphql(desc = "Return the last n items before `before` (1-100).")] last: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.startCursor`.")] before: Option<String>,
    ) -> async_graphql::Result<Option<Connection<String, MetricPoint, TotalCount, EmptyFields>>> {
        signals::points(ctx, self.0.id, &metric, from, to, page_request(first, after, last, before)?).await
    }
    /// Support tickets, most recently opened first.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn support_tickets(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Conditions the tickets must meet.")] filter: Option<SupportTicketFilter>,
        #[graphql(desc = "Return the first n items after `after` (1-100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.endCursor`.")] after: Option<String>,
        #[graphql(desc = "Return the last n items before `before` (1-100).")] last: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.startCursor`.")] before: Option<String>,
    ) -> async_graphql::Result<Connection<String, SupportTicket, TotalCount, EmptyFields>> {
        let r = request(ctx);
        let f = filter.unwrap_or_default();
        let f = TicketFilter {
            priorities: domain_list(f.priorities),
            statuses: domain_list(f.statuses),
            opened_from: f.opened_from,
            opened_before: f.opened_before,
        };
        let page = page_request(first, after, last, before)?;
        let page = tickets::list(&r.db, r.actor.organisation, self.0.id, &f, &page).await.gql()?;
        Ok(connection(page, TotalCount::Tickets(self.0.id, f), SupportTicket))
    }
    /// Invoices, latest due date first.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn invoices(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Conditions the invoices must meet.")] filter: Option<InvoiceFilter>,
        #[graphql(desc = "Return the first n items after `after` (1-100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.endCursor`.")] after: Option<String>,
        #[graphql(desc = "Return the last n items before `before` (1-100).")] last: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.startCursor`.")] before: Option<String>,
    ) -> async_graphql::Result<Connection<String, Invoice, TotalCount, EmptyFields>> {
        let r = request(ctx);
        let f = filter.unwrap_or_default();
        let f = DomainInvoiceFilter {
            statuses: domain_list(f.statuses),
            due_from: f.due_from.map(|d| d.0),
            due_to: f.due_to.map(|d| d.0),
        };
        let page = page_request(first, after, last, before)?;
        let page = invoices::list(&r.db, r.actor.organisation, self.0.id, &f, &page).await.gql()?;
        Ok(connection(page, TotalCount::Invoices(self.0.id, f), Invoice))
    }
    /// NPS and CSAT responses, most recent first.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn survey_responses(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only these surveys.")] kinds: Option<Vec<SurveyKind>>,
        #[graphql(desc = "Return the first n items after `after` (1-100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.endCursor`.")] after: Option<String>,
        #[graphql(desc = "Return the last n items before `before` (1-100).")] last: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.startCursor`.")] before: Option<String>,
    ) -> async_graphql::Result<Connection<String, SurveyResponse, TotalCount, EmptyFields>> {
        let r = request(ctx);
        let f = SurveyFilter { kinds: domain_list(kinds), ..Default::default() };
        let page = page_request(first, after, last, before)?;
        let page = surveys::list(&r.db, r.actor.organisation, self.0.id, &f, &page).await.gql()?;
        Ok(connection(page, TotalCount::Surveys(self.0.id, f), SurveyResponse))
    }
    /// Relationship assessments, most recent first.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn relationship_assessments(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n items after `after` (1-100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.endCursor`.")] after: Option<String>,
        #[graphql(desc = "Return the last n items before `before` (1-100).")] last: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.startCursor`.")] before: Option<String>,
    ) -> async_graphql::Result<Connection<String, RelationshipAssessment, TotalCount, EmptyFields>> {
        let r = request(ctx);
        let page = page_request(first, after, last, before)?;
        let page = assessments::list(&r.db, r.actor.organisation, self.0.id, &page).await.gql()?;
        Ok(connection(page, TotalCount::Assessments(self.0.id), RelationshipAssessment))
    }
    /// Contract value and renewal history, latest effective first.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn contract_changes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n items after `after` (1-100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.endCursor`.")] after: Option<String>,
        #[graphql(desc = "Return the last n items before `before` (1-100).")] last: Option<i32>,
        #[graphql(desc = "Cursor from a previous page's `pageInfo.startCursor`.")] before: Option<String>,
    ) -> async_graphql::Result<Connection<String, ContractChange, TotalCount, EmptyFields>> {
        let r = request(ctx);
        let page = page_request(first, after, last, before)?;
        let page = contracts::list(&r.db, r.actor.organisation, self.0.id, &page).await.gql()?;
        Ok(connection(page, TotalCount::ContractChanges(self.0.id), ContractChange))
    }
    /// When the account was archived; archived accounts are read-only and hidden from lists by default.
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at
    }
    /// Increases with every change; pass it as `expectedVersion` to update safely.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When the account was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the account last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

async fn load_user(ctx: &Context<'_>, id: Option<UserId>) -> async_graphql::Result<Option<User>> {
    let Some(id) = id else { return Ok(None) };
    Ok(request(ctx).loader.load_one(id).await.map_err(load_error)?.map(User))
}

/// Conditions on support tickets; all given must hold.
#[derive(InputObject, Default)]
pub struct SupportTicketFilter {
    /// Only these priorities.
    pub priorities: Option<Vec<TicketPriority>>,
    /// Only these statuses.
    pub statuses: Option<Vec<TicketStatus>>,
    /// Opened at or after.
    pub opened_from: Option<DateTime<Utc>>,
    /// Opened before.
    pub opened_before: Option<DateTime<Utc>>,
}

/// Conditions on invoices; all given must hold.
#[derive(InputObject, Default)]
pub struct InvoiceFilter {
    /// Only these statuses.
    pub statuses: Option<Vec<InvoiceStatus>>,
    /// Due on or after.
    pub due_from: Option<Date>,
    /// Due on or before.
    pub due_to: Option<Date>,
}

/// Conditions on accounts; all given must hold.
#[derive(InputObject, Default)]
pub struct AccountFilter {
    /// Only these tiers.
    pub tiers: Option<Vec<Tier>>,
    /// Only these segments (at most 100).
    pub segments: Option<Vec<String>>,
    /// Only these statuses.
    pub statuses: Option<Vec<AccountStatus>>,
    /// Only these lifecycle stages.
    pub lifecycle_stages: Option<Vec<LifecycleStage>>,
    /// Only accounts managed by this user.
    pub account_manager_id: Option<ID>,
    /// Only accounts with this sales owner.
    pub sales_owner_id: Option<ID>,
    /// Only children of this account.
    pub parent_id: Option<ID>,
    /// Renewal on or after this date.
    pub renewal_from: Option<Date>,
    /// Renewal on or before this date.
    pub renewal_to: Option<Date>,
    /// Renewal within this many days from today (0-3650); combines with `renewalFrom`/`renewalTo`.
    pub renewal_within_days: Option<i32>,
    /// Name contains this text (case-insensitive).
    pub name_contains: Option<String>,
    /// Only accounts whose current default health band is one of these.
    pub health_bands: Option<Vec<HealthBand>>,
    /// Current default health score at least this (0-100).
    pub health_score_min: Option<f64>,
    /// Current default health score at most this (0-100).
    pub health_score_max: Option<f64>,
    /// Only accounts with an open risk in one of these categories.
    pub open_risk_categories: Option<Vec<super::scalars::RiskCategory>>,
    /// Only churned accounts whose churn has no post-mortem yet (true), or all others (false).
    pub post_mortem_due: Option<bool>,
    /// Conditions on custom attributes (at most 10), all must hold.
    pub attributes: Option<Vec<super::attributes::AttributeConditionInput>>,
    /// Include archived accounts (default false).
    #[graphql(default)]
    pub include_archived: bool,
}

fn filter_error(e: Error) -> async_graphql::Error {
    super::support::to_graphql(e)
}

impl AccountFilter {
    /// Converts to the domain filter; an id of the wrong kind is a BAD_USER_INPUT error.
    pub fn into_domain(self, today: NaiveDate) -> async_graphql::Result<DomainFilter> {
        let user = |id: Option<ID>, field: &str| -> async_graphql::Result<Option<UserId>> {
            id.map(|i| input_id(&i, Kind::User, &["filter", field]).map(UserId)).transpose().map_err(filter_error)
        };
        let mut renewal_to = self.renewal_to.map(|d| d.0);
        let mut renewal_from = self.renewal_from.map(|d| d.0);
        if let Some(days) = self.renewal_within_days {
            if !(0..=3650).contains(&days) {
                return Err(filter_error(Error::invalid(
                    &["filter", "renewalWithinDays"],
                    "must be between 0 and 3650",
                )));
            }
            let limit = today + chrono::Duration::days(i64::from(days));
            renewal_to = Some(renewal_to.map_or(limit, |t| t.min(limit)));
            renewal_from = Some(renewal_from.map_or(today, |f| f.max(today)));
        }
        if let Some(segments) = &self.segments
            && segments.len() > MAX_LIST
        {
            return Err(filter_error(Error::invalid(
                &["filter", "segments"],
                format!("takes at most {MAX_LIST} values, got {}", segments.len()),
            )));
        }
        Ok(DomainFilter {
            tiers: domain_list(self.tiers),
            segments: self.segments.map(|mut s| {
                s.sort_unstable();
                s.dedup();
                s
            }),
            statuses: domain_list(self.statuses),
            lifecycle_stages: domain_list(self.lifecycle_stages),
            account_manager: user(self.account_manager_id, "accountManagerId")?,
            sales_owner: user(self.sales_owner_id, "salesOwnerId")?,
            parent: self
                .parent_id
                .map(|i| input_id(&i, Kind::Account, &["filter", "parentId"]).map(AccountId))
                .transpose()
                .map_err(filter_error)?,
            renewal_from,
            renewal_to,
            name_contains: self.name_contains,
            health_bands: domain_list(self.health_bands),
            health_score_min: self.health_score_min,
            post_mortem_due: self.post_mortem_due,
            health_score_max: self.health_score_max,
            open_risk_categories: domain_list(self.open_risk_categories),
            attributes: super::attributes::conditions(self.attributes).map_err(filter_error)?,
            include_archived: self.include_archived,
        })
    }
}

/// What to order accounts by.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum AccountOrderField {
    /// Alphabetically by name.
    Name,
    /// Renewal date; accounts without one come last.
    RenewalDate,
    /// Annual contract value (minor units; currencies are not converted).
    AnnualValue,
    /// When the account was created in Bellwether.
    CreatedAt,
    /// Current default health score; accounts without one come last.
    HealthScore,
}

/// Whether a list runs from the smallest value up or from the largest down.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderDirection {
    /// Smallest first.
    #[default]
    Asc,
    /// Largest first.
    Desc,
}

/// How to order accounts.
#[derive(InputObject, Clone, Copy)]
pub struct AccountOrder {
    /// The field to order by.
    pub field: AccountOrderField,
    /// The direction (default ascending).
    #[graphql(default)]
    pub direction: OrderDirection,
}

/// Lists accounts with a domain filter.
pub async fn list(
    ctx: &Context<'_>,
    filter: DomainFilter,
    order_by: Option<AccountOrder>,
    page: d::PageRequest,
) -> async_graphql::Result<Connection<String, Account, TotalCount, EmptyFields>> {
    let r = request(ctx);
    let order = order_by.unwrap_or(AccountOrder { field: AccountOrderField::Name, direction: OrderDirection::Asc });
    let field = match order.field {
        AccountOrderField::Name => DomainOrder::Name,
        AccountOrderField::RenewalDate => DomainOrder::RenewalDate,
        AccountOrderField::AnnualValue => DomainOrder::AnnualValue,
        AccountOrderField::CreatedAt => DomainOrder::CreatedAt,
        AccountOrderField::HealthScore => DomainOrder::HealthScore,
    };
    let page =
        accounts::list(&r.db, r.actor.organisation, &filter, field, order.direction == OrderDirection::Desc, &page)
            .await
            .gql()?;
    Ok(connection(page, TotalCount::Accounts(filter), Account))
}

payload!(
    /// Result of an account mutation.
    AccountPayload { account: Account }
);

/// A client account to create.
#[derive(InputObject)]
pub struct CreateAccountInput {
    /// The name people will see for the account in lists and reports.
    pub name: String,
    /// Your own id for the account (e.g. the CRM id), unique in the organisation.
    pub external_ref: Option<String>,
    /// Market segment, e.g. `banks` or `government`.
    pub segment: Option<String>,
    /// The client's industry, in your own words (e.g. `insurance`).
    pub industry: Option<String>,
    /// How important the account is.
    pub tier: Tier,
    /// Where it is in its life with you (default ONBOARDING).
    pub lifecycle_stage: Option<LifecycleStage>,
    /// Annual contract value (default 0 EUR).
    pub annual_value: Option<MoneyInput>,
    /// When the contract started.
    pub contract_start: Option<Date>,
    /// When the contract is up for renewal.
    pub renewal_date: Option<Date>,
    /// The account manager (a user with role ACCOUNT_MANAGER, MANAGER or ADMIN).
    pub account_manager_id: Option<ID>,
    /// The sales owner (a user with role SALES, ACCOUNT_MANAGER, MANAGER or ADMIN).
    pub sales_owner_id: Option<ID>,
    /// The parent account, e.g. the group a subsidiary belongs to.
    pub parent_id: Option<ID>,
}

/// Changes to an account. Omitted fields stay as they are; `null` clears a nullable field.
#[derive(InputObject)]
pub struct UpdateAccountInput {
    /// The account to change.
    pub id: ID,
    /// The name people will see for the account from now on.
    pub name: Option<String>,
    /// Your own id for the account (e.g. the CRM id), unique in the organisation; `null` clears it.
    pub external_ref: MaybeUndefined<String>,
    /// Market segment; `null` clears it.
    pub segment: MaybeUndefined<String>,
    /// The client's industry; `null` clears it.
    pub industry: MaybeUndefined<String>,
    /// How important the account is from now on.
    pub tier: Option<Tier>,
    /// Where the account is in its life with you from now on.
    pub lifecycle_stage: Option<LifecycleStage>,
    /// Annual contract value from now on.
    pub annual_value: Option<MoneyInput>,
    /// When the current contract started; `null` clears it.
    pub contract_start: MaybeUndefined<Date>,
    /// When the contract is up for renewal; `null` clears it.
    pub renewal_date: MaybeUndefined<Date>,
    /// The account manager responsible for retention; `null` leaves the account without one.
    pub account_manager_id: MaybeUndefined<ID>,
    /// The sales owner responsible for growth; `null` leaves the account without one.
    pub sales_owner_id: MaybeUndefined<ID>,
    /// The parent account; `null` makes it a top-level account.
    pub parent_id: MaybeUndefined<ID>,
    /// Fail with a CONFLICT user error unless the account still has this version.
    pub expected_version: Option<i32>,
}

/// Records that an account was lost.
#[derive(InputObject)]
pub struct MarkAccountChurnedInput {
    /// The account that was lost.
    pub id: ID,
    /// The day it was lost (not in the future).
    pub churned_on: Date,
    /// Why it was lost.
    pub reason: String,
    /// Fail with a CONFLICT user error unless the account still has this version.
    pub expected_version: Option<i32>,
}

fn user_ref(id: Option<ID>, field: &str) -> Result<Option<UserId>, Error> {
    id.map(|i| input_id(&i, Kind::User, &[field]).map(UserId)).transpose()
}

fn account_ref(id: Option<ID>, field: &str) -> Result<Option<AccountId>, Error> {
    id.map(|i| input_id(&i, Kind::Account, &[field]).map(AccountId)).transpose()
}

#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
    /// Creates an account. Managers and admins may create any; account managers and sales
    /// owners only accounts they hold themselves.
    async fn create_account(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account to create: its name and tier, optionally its contract, owners and parent.")]
        input: CreateAccountInput,
    ) -> async_graphql::Result<AccountPayload> {
        let r = request(ctx);
        let result = async {
            let new = NewAccount {
                name: input.name,
                external_ref: input.external_ref,
                segment: input.segment,
                industry: input.industry,
                tier: input.tier.into(),
                lifecycle_stage: input.lifecycle_stage.map(Into::into),
                annual_value: input.annual_value.map(MoneyInput::into_parts),
                contract_start: input.contract_start.map(|d| d.0),
                renewal_date: input.renewal_date.map(|d| d.0),
                account_manager: user_ref(input.account_manager_id, "accountManagerId")?,
                sales_owner: user_ref(input.sales_owner_id, "salesOwnerId")?,
                parent: account_ref(input.parent_id, "parentId")?,
            };
            accounts::create(&r.db, &r.actor, new).await
        }
        .await;
        outcome(result, Account).map(Into::into)
    }

    /// Changes an account's details; omitted fields stay as they are.
    async fn update_account(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account and the fields to change; omitted fields stay as they are, `null` clears one.")]
        input: UpdateAccountInput,
    ) -> async_graphql::Result<AccountPayload> {
        let r = request(ctx);
        let result = async {
            let id = AccountId(input_id(&input.id, Kind::Account, &["id"])?);
            let p = AccountPatch {
                name: input.name,
                external_ref: patch(input.external_ref, Ok)?,
                segment: patch(input.segment, Ok)?,
                industry: patch(input.industry, Ok)?,
                tier: input.tier.map(Into::into),
                lifecycle_stage: input.lifecycle_stage.map(Into::into),
                annual_value: input.annual_value.map(MoneyInput::into_parts),
                contract_start: patch(input.contract_start, |d| Ok(d.0))?,
                renewal_date: patch(input.renewal_date, |d| Ok(d.0))?,
                account_manager: patch(input.account_manager_id, |i| {
                    input_id(&i, Kind::User, &["accountManagerId"]).map(UserId)
                })?,
                sales_owner: patch(input.sales_owner_id, |i| input_id(&i, Kind::User, &["salesOwnerId"]).map(UserId))?,
                parent: patch(input.parent_id, |i| input_id(&i, Kind::Account, &["parentId"]).map(AccountId))?,
                expected_version: input.expected_version,
            };
            accounts::update(&r.db, &r.actor, id, p).await
        }
        .await;
        // Renewal date, tier and manager feed the risk rules: let the worker re-evaluate now.
        super::signals::wake(ctx);
        outcome(result, Account).map(Into::into)
    }

    /// Records that an account churned, with the day and the reason.
    async fn mark_account_churned(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account, the day it was lost and why.")] input: MarkAccountChurnedInput,
    ) -> async_graphql::Result<AccountPayload> {
        let r = request(ctx);
        let result = async {
            let id = AccountId(input_id(&input.id, Kind::Account, &["id"])?);
            let change = StatusChange::Churned { on: input.churned_on.0, reason: input.reason };
            accounts::set_status(&r.db, &r.actor, id, change, input.expected_version).await
        }
        .await;
        outcome(result, Account).map(Into::into)
    }

    /// Marks a churned account as a customer again.
    async fn reactivate_account(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The churned account to make a customer again.")] input: TargetInput,
    ) -> async_graphql::Result<AccountPayload> {
        let r = request(ctx);
        let result = async {
            let id = AccountId(input_id(&input.id, Kind::Account, &["id"])?);
            accounts::set_status(&r.db, &r.actor, id, StatusChange::Reactivated, input.expected_version).await
        }
        .await;
        outcome(result, Account).map(Into::into)
    }

    /// Archives an account: it becomes read-only and leaves lists unless `includeArchived` is set.
    async fn archive_account(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account to archive.")] input: TargetInput,
    ) -> async_graphql::Result<AccountPayload> {
        let r = request(ctx);
        let result = async {
            let id = AccountId(input_id(&input.id, Kind::Account, &["id"])?);
            accounts::archive(&r.db, &r.actor, id, input.expected_version).await
        }
        .await;
        outcome(result, Account).map(Into::into)
    }
}
