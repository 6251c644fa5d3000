//! Signals: metric definitions and series, support tickets, invoices, surveys, relationship
//! assessments and contract changes; bulk ingestion with a result per item.

use std::sync::Arc;

use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::{Context, Enum, ID, InputObject, Object, OneofObject, SimpleObject};
use bellwether_domain::signals::assessments::{self, NewAssessment};
use bellwether_domain::signals::contracts::{self, NewContractChange};
use bellwether_domain::signals::invoices::{self, InvoiceInput as DomainInvoice};
use bellwether_domain::signals::metrics::{self, MetricSpec, NewMetricPoint};
use bellwether_domain::signals::surveys::{self, SurveyInput as DomainSurvey};
use bellwether_domain::signals::tickets::{self, TicketInput as DomainTicket};
use bellwether_domain::signals::{AccountRef, BatchReport, ItemStatus as DomainStatus};
use bellwether_domain::{self as d, AccountId, ContactId, Error, ErrorCode};
use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use super::accounts::Account;
use super::contacts::Contact;
use super::count::TotalCount;
use super::loaders::load_error;
use super::scalars::{
    Date, InvoiceStatus, Lenient, MetricAggregation, MetricDirection, MetricUnit, Money, SurveyKind, TicketPriority,
    TicketStatus,
};
use super::support::{
    GqlResult, Kind, UserError, UserErrorCode, codes, global_id, input_id, internal, metric_point_id, outcome, payload,
    request,
};
use super::users::User;

/// Wakes the background worker (health, then risk rules) after signals or account data change.
#[derive(Clone, Default)]
pub struct HealthWorker(pub Arc<Notify>);

/// Wakes the worker; it coalesces wake-ups for 250 ms before working.
pub fn wake(ctx: &Context<'_>) {
    if let Some(w) = ctx.data_opt::<HealthWorker>() {
        w.0.notify_one();
    }
}

pub struct MetricDefinition(pub metrics::MetricDefinition);

/// A metric your organisation tracks.
#[Object]
impl MetricDefinition {
    /// Opaque global id: pass it to `node(id:)` or wherever an input asks for this object.
    pub async fn id(&self) -> ID {
        global_id(Kind::MetricDefinition, self.0.id.0)
    }
    /// The key integrators send, e.g. `usage.active_users`.
    async fn key(&self) -> &str {
        &self.0.key
    }
    /// The name people see for the metric, e.g. `Active users`.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What it measures (decides the values accepted).
    async fn unit(&self) -> MetricUnit {
        self.0.unit.into()
    }
    /// Whether more is better.
    async fn direction(&self) -> MetricDirection {
        self.0.direction.into()
    }
    /// How observations combine over a window.
    async fn aggregation(&self) -> MetricAggregation {
        self.0.aggregation.into()
    }
    /// Increases with every change.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When it was defined.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// One observation of a metric.
#[derive(SimpleObject)]
pub struct MetricPoint {
    /// Opaque id, derived from the account, the metric and `observedAt` (a point has no other
    /// identity); the same each time the point is read. `node(id:)` does not fetch points.
    pub id: ID,
    /// When it was observed.
    pub observed_at: DateTime<Utc>,
    /// The observed value, in the metric's unit.
    pub value: f64,
    /// Where it came from, if the integrator said.
    pub source: Option<String>,
}

/// One bucket of a downsampled series.
#[derive(SimpleObject)]
pub struct MetricBucket {
    /// Start of the bucket.
    pub start: DateTime<Utc>,
    /// The bucket's points combined with the metric's aggregation.
    pub value: f64,
    /// Smallest point in the bucket.
    pub min: f64,
    /// Largest point in the bucket.
    pub max: f64,
    /// How many points the bucket holds.
    pub count: i32,
}

/// A metric's series for charts: equal time buckets over a range (empty buckets omitted).
#[derive(SimpleObject)]
pub struct MetricSeries {
    /// The metric the series is of.
    pub metric: MetricDefinition,
    /// Start of the range.
    pub from: DateTime<Utc>,
    /// End of the range (exclusive).
    pub to: DateTime<Utc>,
    /// The buckets, oldest first.
    pub buckets: Vec<MetricBucket>,
}

/// Most buckets a series may be split into.
pub const MAX_BUCKETS: i32 = 1_000;

/// The downsampled series of one account's metric.
pub async fn series(
    ctx: &Context<'_>,
    account: AccountId,
    metric: &str,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    buckets: i32,
) -> async_graphql::Result<Option<MetricSeries>> {
    let r = request(ctx);
    let org = r.actor.organisation;
    if !(1..=MAX_BUCKETS).contains(&buckets) {
        return Err(bad_input(format!("`buckets` must be between 1 and {MAX_BUCKETS}")));
    }
    let to = to.unwrap_or_else(Utc::now);
    let from = from.unwrap_or(to - chrono::Duration::days(90));
    if from >= to {
        return Err(bad_input("`from` must be before `to`".into()));
    }
    let Some(def) = metrics::definition_by_key(&r.db, org, metric).await.gql()? else { return Ok(None) };
    let mut points =
        metrics::series(&r.db, org, account, &[def.id], from).await.gql()?.remove(&def.id).unwrap_or_default();
    points.retain(|(t, _)| *t < to);
    let buckets = metrics::downsample(&points, def.aggregation, from, to, buckets as usize)
        .into_iter()
        .map(|b| MetricBucket { start: b.start, value: b.value, min: b.min, max: b.max, count: b.count as i32 })
        .collect();
    Ok(Some(MetricSeries { metric: MetricDefinition(def), from, to, buckets }))
}

fn bad_input(message: String) -> async_graphql::Error {
    use async_graphql::ErrorExtensions as _;
    async_graphql::Error::new(message).extend_with(|_, e| e.set("code", codes::BAD_USER_INPUT))
}

/// A page of raw observations.
pub async fn points(
    ctx: &Context<'_>,
    account: AccountId,
    metric: &str,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    page: d::PageRequest,
) -> async_graphql::Result<Option<Connection<String, MetricPoint, TotalCount, EmptyFields>>> {
    let r = request(ctx);
    let org = r.actor.organisation;
    let Some(def) = metrics::definition_by_key(&r.db, org, metric).await.gql()? else { return Ok(None) };
    let page = metrics::points(&r.db, org, account, def.id, from, to, &page).await.gql()?;
    Ok(Some(super::support::connection(page, TotalCount::MetricPoints(account, def.id, from, to), |p| MetricPoint {
        id: metric_point_id(account, p.metric, p.observed_at),
        observed_at: p.observed_at,
        value: p.value,
        source: p.source,
    })))
}

async fn load_account(ctx: &Context<'_>, id: AccountId) -> async_graphql::Result<Account> {
    request(ctx).loader.load_one(id).await.map_err(load_error)?.map(Account).ok_or_else(internal)
}

pub struct SupportTicket(pub tickets::Ticket);

/// A support ticket of a client account.
#[Object]
impl SupportTicket {
    /// Opaque global id: pass it to `node(id:)` or wherever an input asks for this object.
    pub async fn id(&self) -> ID {
        global_id(Kind::SupportTicket, self.0.id.0)
    }
    /// The client account it belongs to.
    async fn account(&self, ctx: &Context<'_>) -> async_graphql::Result<Account> {
        load_account(ctx, self.0.account).await
    }
    /// The ticket's id in your support system.
    async fn external_id(&self) -> &str {
        &self.0.external_id
    }
    /// The ticket's subject line, as in your support system.
    async fn subject(&self) -> Option<&str> {
        self.0.subject.as_deref()
    }
    /// How urgent the ticket is, as set in your support system.
    async fn priority(&self) -> TicketPriority {
        self.0.priority.into()
    }
    /// Where it is in its life.
    async fn status(&self) -> TicketStatus {
        self.0.status.into()
    }
    /// When it was opened.
    async fn opened_at(&self) -> DateTime<Utc> {
        self.0.opened_at
    }
    /// When support first answered.
    async fn first_response_at(&self) -> Option<DateTime<Utc>> {
        self.0.first_response_at
    }
    /// When it was resolved.
    async fn resolved_at(&self) -> Option<DateTime<Utc>> {
        self.0.resolved_at
    }
    /// Hours from opening to resolution (or to now while open).
    async fn hours_open(&self) -> f64 {
        let end = self.0.resolved_at.unwrap_or_else(Utc::now);
        ((end - self.0.opened_at).num_minutes() as f64 / 60.0 * 10.0).round() / 10.0
    }
    /// Increases with every change.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When Bellwether first received it.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When Bellwether last received a change.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

pub struct Invoice(pub invoices::Invoice);

/// An invoice sent to a client account.
#[Object]
impl Invoice {
    /// Opaque global id: pass it to `node(id:)` or wherever an input asks for this object.
    pub async fn id(&self) -> ID {
        global_id(Kind::Invoice, self.0.id.0)
    }
    /// The client account it belongs to.
    async fn account(&self, ctx: &Context<'_>) -> async_graphql::Result<Account> {
        load_account(ctx, self.0.account).await
    }
    /// Invoice number, unique in your organisation.
    async fn number(&self) -> &str {
        &self.0.number
    }
    /// How much the invoice is for.
    async fn amount(&self) -> Money {
        self.0.amount.clone().into()
    }
    /// The day the invoice was issued.
    async fn issued_on(&self) -> Date {
        Date(self.0.issued_on)
    }
    /// The day payment is due; overdue days count from the day after.
    async fn due_on(&self) -> Date {
        Date(self.0.due_on)
    }
    /// When it was paid.
    async fn paid_at(&self) -> Option<DateTime<Utc>> {
        self.0.paid_at
    }
    /// Where it is in its life.
    async fn status(&self) -> InvoiceStatus {
        self.0.status.into()
    }
    /// Days past due while unpaid on `asOf` (default: today on the organisation's calendar); 0
    /// when not overdue.
    async fn days_overdue(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The day to count to (default: today on the organisation's calendar).")] as_of: Option<Date>,
    ) -> i32 {
        self.0.days_overdue(as_of.map_or(request(ctx).today, |d| d.0)) as i32
    }
    /// Days after the due date it was paid (0 if on time or unpaid).
    async fn days_late(&self) -> i32 {
        self.0.days_late() as i32
    }
    /// Increases with every change.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When Bellwether first received it.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When Bellwether last received a change.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

pub struct SurveyResponse(pub surveys::SurveyResponse);

/// One NPS or CSAT survey answer.
#[Object]
impl SurveyResponse {
    /// Opaque global id: pass it to `node(id:)` or wherever an input asks for this object.
    pub async fn id(&self) -> ID {
        global_id(Kind::SurveyResponse, self.0.id.0)
    }
    /// The client account it belongs to.
    async fn account(&self, ctx: &Context<'_>) -> async_graphql::Result<Account> {
        load_account(ctx, self.0.account).await
    }
    /// Which survey.
    async fn kind(&self) -> SurveyKind {
        self.0.kind.into()
    }
    /// The score (NPS 0-10, CSAT 1-5).
    async fn score(&self) -> i32 {
        self.0.score
    }
    /// Who answered, if known.
    async fn contact(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Contact>> {
        let Some(id) = self.0.contact else { return Ok(None) };
        Ok(request(ctx).loader.load_one(id).await.map_err(load_error)?.map(Contact))
    }
    /// Their comment.
    async fn comment(&self) -> Option<&str> {
        self.0.comment.as_deref()
    }
    /// When they answered.
    async fn responded_at(&self) -> DateTime<Utc> {
        self.0.responded_at
    }
    /// When Bellwether received it.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

pub struct RelationshipAssessment(pub assessments::Assessment);

/// An account manager's assessment of the relationship (the Relationship Health Score).
#[Object]
impl RelationshipAssessment {
    /// Opaque global id: pass it to `node(id:)` or wherever an input asks for this object.
    pub async fn id(&self) -> ID {
        global_id(Kind::RelationshipAssessment, self.0.id.0)
    }
    /// The client account it belongs to.
    async fn account(&self, ctx: &Context<'_>) -> async_graphql::Result<Account> {
        load_account(ctx, self.0.account).await
    }
    /// Who assessed.
    async fn assessed_by(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        request(ctx).loader.load_one(self.0.assessed_by).await.map_err(load_error)?.map(User).ok_or_else(internal)
    }
    /// When the assessment was made.
    async fn assessed_at(&self) -> DateTime<Utc> {
        self.0.assessed_at
    }
    /// Stakeholder sentiment, 1 (hostile) to 5 (enthusiastic).
    async fn stakeholder_sentiment(&self) -> i32 {
        self.0.stakeholder_sentiment.into()
    }
    /// Competitive pressure, 1 (none) to 5 (heavily courted).
    async fn competitive_pressure(&self) -> i32 {
        self.0.competitive_pressure.into()
    }
    /// Strategic alignment, 1 (diverging) to 5 (fully aligned).
    async fn strategic_alignment(&self) -> i32 {
        self.0.strategic_alignment.into()
    }
    /// What the assessor noted, in their words.
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
    /// When it was recorded.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

pub struct ContractChange(pub contracts::ContractChange);

/// A change of an account's contract value or renewal date.
#[Object]
impl ContractChange {
    /// Opaque global id: pass it to `node(id:)` or wherever an input asks for this object.
    pub async fn id(&self) -> ID {
        global_id(Kind::ContractChange, self.0.id.0)
    }
    /// The client account it belongs to.
    async fn account(&self, ctx: &Context<'_>) -> async_graphql::Result<Account> {
        load_account(ctx, self.0.account).await
    }
    /// When the change takes effect.
    async fn effective_on(&self) -> Date {
        Date(self.0.effective_on)
    }
    /// Annual contract value from then on.
    async fn annual_value(&self) -> Money {
        self.0.annual_value.clone().into()
    }
    /// Renewal date from then on, if it changed.
    async fn renewal_date(&self) -> Option<Date> {
        self.0.renewal_date.map(Date)
    }
    /// A note from whoever recorded the change, e.g. the reason for it.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// When it was recorded.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Names an account: by id, or by your external reference.
#[derive(OneofObject)]
pub enum AccountRefInput {
    /// The account's global id.
    Id(ID),
    /// Your external reference (e.g. CRM id).
    ExternalRef(String),
}

impl AccountRefInput {
    /// An id of the wrong kind resolves to no account (the item is rejected as NOT_FOUND).
    pub fn into_domain(self) -> AccountRef {
        match self {
            Self::Id(id) => AccountRef::Id(AccountId(input_id(&id, Kind::Account, &[]).unwrap_or_default())),
            Self::ExternalRef(r) => AccountRef::ExternalRef(r),
        }
    }
}

/// What happened to one item.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ItemStatus {
    /// Written as new.
    Accepted,
    /// An existing record with the same key was changed.
    Updated,
    /// Already recorded exactly like this; nothing done.
    Duplicate,
    /// Not written; see `errors`.
    Rejected,
}

impl From<DomainStatus> for ItemStatus {
    fn from(s: DomainStatus) -> Self {
        match s {
            DomainStatus::Accepted => Self::Accepted,
            DomainStatus::Updated => Self::Updated,
            DomainStatus::Duplicate => Self::Duplicate,
            DomainStatus::Rejected => Self::Rejected,
        }
    }
}

/// The outcome of one item of a batch.
#[derive(SimpleObject, Clone)]
pub struct ItemResult {
    /// Position of the item in `input.items`, from 0.
    pub index: i32,
    /// What happened.
    pub status: ItemStatus,
    /// Why it was rejected (field paths start at `input`).
    pub errors: Vec<UserError>,
}

pub struct IngestPayload {
    report: Option<BatchReport>,
    user_errors: Vec<UserError>,
}

/// The outcome of a bulk write: valid items were written, invalid ones reported.
#[Object]
impl IngestPayload {
    /// Items written as new.
    async fn accepted(&self) -> i32 {
        self.count(DomainStatus::Accepted)
    }
    /// Items that changed an existing record.
    async fn updated(&self) -> i32 {
        self.count(DomainStatus::Updated)
    }
    /// Items already recorded (retries).
    async fn duplicates(&self) -> i32 {
        self.count(DomainStatus::Duplicate)
    }
    /// Items not written.
    async fn rejected(&self) -> i32 {
        self.count(DomainStatus::Rejected)
    }
    /// One result per item, in order; `statuses` keeps only those (e.g. `[REJECTED]`).
    async fn results(
        &self,
        #[graphql(desc = "Only results with one of these statuses, e.g. `[REJECTED]` (default: all).")]
        statuses: Option<Vec<ItemStatus>>,
    ) -> Vec<ItemResult> {
        let Some(report) = &self.report else { return Vec::new() };
        report
            .items
            .iter()
            .filter(|i| statuses.as_ref().is_none_or(|s| s.contains(&i.status.into())))
            .map(|i| ItemResult {
                index: i.index as i32,
                status: i.status.into(),
                errors: i.errors.iter().map(|e| to_user_error(e.clone())).collect(),
            })
            .collect()
    }
    /// Problems with the batch as a whole (e.g. too many items); nothing was written.
    async fn user_errors(&self) -> &[UserError] {
        &self.user_errors
    }
}

impl IngestPayload {
    fn count(&self, status: DomainStatus) -> i32 {
        self.report.as_ref().map_or(0, |r| r.count(status) as i32)
    }
}

fn to_user_error(e: d::FieldError) -> UserError {
    UserError {
        field: std::iter::once("input".to_owned()).chain(e.field).collect(),
        message: e.message,
        code: match e.code {
            ErrorCode::Invalid | ErrorCode::Forbidden => UserErrorCode::Invalid,
            ErrorCode::NotFound => UserErrorCode::NotFound,
            ErrorCode::Conflict => UserErrorCode::Conflict,
        },
    }
}

pub fn ingest_payload(ctx: &Context<'_>, result: Result<BatchReport, Error>) -> async_graphql::Result<IngestPayload> {
    let (report, user_errors) = outcome(result, |r| r)?;
    if report.as_ref().is_some_and(|r| !r.touched.is_empty()) {
        wake(ctx);
    }
    Ok(IngestPayload { report, user_errors })
}

/// A metric to define or redefine (by key).
#[derive(InputObject)]
pub struct DefineMetricInput {
    /// Key integrators send, e.g. `usage.active_users`.
    pub key: String,
    /// The name people will see for the metric, e.g. `Active users`.
    pub name: String,
    /// What it measures.
    pub unit: MetricUnit,
    /// Whether more is better.
    pub direction: MetricDirection,
    /// How observations combine.
    pub aggregation: MetricAggregation,
}

payload!(
    /// Result of defining a metric.
    MetricDefinitionPayload { metric: MetricDefinition }
);

/// One observation to ingest.
#[derive(InputObject)]
pub struct MetricPointInput {
    /// The client account, by id or by your external reference.
    pub account: AccountRefInput,
    /// The metric key.
    pub metric: String,
    /// When it was observed (at most an hour ahead). With account and metric, this is the
    /// item's idempotency key.
    pub observed_at: Lenient<DateTime<Utc>>,
    /// The value (finite; constrained by the metric's unit).
    pub value: f64,
    /// Where it came from.
    pub source: Option<String>,
}

/// A batch of metric observations to record.
#[derive(InputObject)]
pub struct IngestMetricPointsInput {
    /// Up to 5,000 observations.
    pub items: Vec<MetricPointInput>,
}

/// A support ticket to create or update (by `externalId`).
#[derive(InputObject)]
pub struct SupportTicketInput {
    /// The client account, by id or by your external reference.
    pub account: AccountRefInput,
    /// The ticket's id in your support system (the upsert key).
    pub external_id: String,
    /// The ticket's subject line.
    pub subject: Option<String>,
    /// How urgent the ticket is, as set in your support system.
    pub priority: TicketPriority,
    /// Where the ticket is in your support system.
    pub status: TicketStatus,
    /// When it was opened.
    pub opened_at: Lenient<DateTime<Utc>>,
    /// When support first answered.
    pub first_response_at: Option<Lenient<DateTime<Utc>>>,
    /// When it was resolved (required for RESOLVED and CLOSED).
    pub resolved_at: Option<Lenient<DateTime<Utc>>>,
}

/// A batch of support tickets to create or update by `externalId`.
#[derive(InputObject)]
pub struct UpsertSupportTicketsInput {
    /// Up to 5,000 tickets.
    pub items: Vec<SupportTicketInput>,
}

/// An invoice to create or update (by `number`).
#[derive(InputObject)]
pub struct InvoiceInput {
    /// The client account, by id or by your external reference.
    pub account: AccountRefInput,
    /// Invoice number (the upsert key).
    pub number: String,
    /// Amount in minor units.
    pub amount_minor: Lenient<super::scalars::MinorUnits>,
    /// ISO 4217 currency code.
    pub currency: String,
    /// The day the invoice was issued.
    pub issued_on: Lenient<Date>,
    /// The day payment is due.
    pub due_on: Lenient<Date>,
    /// When it was paid (required for PAID).
    pub paid_at: Option<Lenient<DateTime<Utc>>>,
    /// Where the invoice is: open, paid (give `paidAt`) or void.
    pub status: InvoiceStatus,
}

/// A batch of invoices to create or update by `number`.
#[derive(InputObject)]
pub struct UpsertInvoicesInput {
    /// Up to 5,000 invoices.
    pub items: Vec<InvoiceInput>,
}

/// A survey response to record.
#[derive(InputObject)]
pub struct SurveyResponseInput {
    /// The client account, by id or by your external reference.
    pub account: AccountRefInput,
    /// Which survey.
    pub kind: SurveyKind,
    /// NPS 0-10 or CSAT 1-5.
    pub score: i32,
    /// Who answered (a contact of the account).
    pub contact_id: Option<ID>,
    /// Their comment.
    pub comment: Option<String>,
    /// When they answered.
    pub responded_at: Lenient<DateTime<Utc>>,
    /// Retrying with the same key is a no-op.
    pub idempotency_key: Option<String>,
}

/// Survey responses to record.
#[derive(InputObject)]
pub struct RecordSurveyResponsesInput {
    /// Up to 5,000 responses.
    pub items: Vec<SurveyResponseInput>,
}

/// A relationship assessment by the signed-in user.
#[derive(InputObject)]
pub struct RecordRelationshipAssessmentInput {
    /// The account whose relationship you assess.
    pub account_id: ID,
    /// When you made the assessment (default now).
    pub assessed_at: Option<DateTime<Utc>>,
    /// Stakeholder sentiment, 1 (hostile) to 5 (enthusiastic).
    pub stakeholder_sentiment: i32,
    /// Competitive pressure, 1 (none) to 5 (heavily courted).
    pub competitive_pressure: i32,
    /// Strategic alignment, 1 (diverging) to 5 (fully aligned).
    pub strategic_alignment: i32,
    /// What you noted, in your words.
    pub notes: Option<String>,
}

payload!(
    /// Result of recording an assessment.
    RelationshipAssessmentPayload { assessment: RelationshipAssessment }
);

/// A contract change to record.
#[derive(InputObject)]
pub struct RecordContractChangeInput {
    /// The account whose contract changed.
    pub account_id: ID,
    /// When it takes effect.
    pub effective_on: Date,
    /// Annual contract value from then on.
    pub annual_value: super::scalars::MoneyInput,
    /// Renewal date from then on.
    pub renewal_date: Option<Date>,
    /// A note on the change, e.g. the reason for it.
    pub note: Option<String>,
    /// Retrying with the same key is a no-op.
    pub idempotency_key: Option<String>,
}

payload!(
    /// Result of recording a contract change.
    ContractChangePayload { contract_change: ContractChange }
);

#[derive(Default)]
pub struct SignalMutation;

#[Object]
impl SignalMutation {
    /// Defines a metric (or redefines the one with this key). Admins and managers.
    async fn define_metric(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The metric's key and how its values are read: name, unit, direction and aggregation.")]
        input: DefineMetricInput,
    ) -> async_graphql::Result<MetricDefinitionPayload> {
        let r = request(ctx);
        let spec = MetricSpec {
            key: input.key,
            name: input.name,
            unit: input.unit.into(),
            direction: input.direction.into(),
            aggregation: input.aggregation.into(),
        };
        outcome(metrics::define(&r.db, &r.actor, spec).await, MetricDefinition).map(Into::into)
    }

    /// Ingests up to 5,000 metric observations. Each item is accepted, a duplicate (already
    /// recorded: retries are no-ops), or rejected with its errors; valid items are written
    /// together.
    async fn ingest_metric_points(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The observations (at most 5,000); each is written or rejected on its own.")]
        input: IngestMetricPointsInput,
    ) -> async_graphql::Result<IngestPayload> {
        let r = request(ctx);
        let items = input
            .items
            .into_iter()
            .map(|i| NewMetricPoint {
                account: i.account.into_domain(),
                metric: i.metric,
                observed_at: i.observed_at.0,
                value: i.value,
                source: i.source,
            })
            .collect();
        ingest_payload(ctx, metrics::ingest(&r.db, &r.actor, items).await)
    }

    /// Creates or updates up to 5,000 support tickets by `externalId`.
    async fn upsert_support_tickets(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The tickets (at most 5,000), matched by `externalId`; each is written or rejected on its own."
        )]
        input: UpsertSupportTicketsInput,
    ) -> async_graphql::Result<IngestPayload> {
        let r = request(ctx);
        let items = input
            .items
            .into_iter()
            .map(|t| DomainTicket {
                account: t.account.into_domain(),
                external_id: t.external_id,
                subject: t.subject,
                priority: t.priority.into(),
                status: t.status.into(),
                opened_at: t.opened_at.0,
                first_response_at: t.first_response_at.map(|l| l.0),
                resolved_at: t.resolved_at.map(|l| l.0),
            })
            .collect();
        ingest_payload(ctx, tickets::upsert(&r.db, &r.actor, items).await)
    }

    /// Creates or updates up to 5,000 invoices by `number`.
    async fn upsert_invoices(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The invoices (at most 5,000), matched by `number`; each is written or rejected on its own.")]
        input: UpsertInvoicesInput,
    ) -> async_graphql::Result<IngestPayload> {
        let r = request(ctx);
        let items = input
            .items
            .into_iter()
            .map(|i| DomainInvoice {
                account: i.account.into_domain(),
                number: i.number,
                amount_minor: i.amount_minor.0.map(|a| a.0),
                currency: i.currency,
                issued_on: i.issued_on.0.map(|d| d.0),
                due_on: i.due_on.0.map(|d| d.0),
                paid_at: i.paid_at.map(|l| l.0),
                status: i.status.into(),
            })
            .collect();
        ingest_payload(ctx, invoices::upsert(&r.db, &r.actor, items).await)
    }

    /// Records up to 5,000 NPS/CSAT responses.
    async fn record_survey_responses(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The responses (at most 5,000); each is written or rejected on its own.")]
        input: RecordSurveyResponsesInput,
    ) -> async_graphql::Result<IngestPayload> {
        let r = request(ctx);
        let items = input
            .items
            .into_iter()
            .map(|s| DomainSurvey {
                account: s.account.into_domain(),
                kind: s.kind.into(),
                score: s.score,
                // A malformed contact id can never match a contact: the item is rejected as NOT_FOUND.
                contact: s.contact_id.map(|c| ContactId(input_id(&c, Kind::Contact, &[]).unwrap_or_default())),
                comment: s.comment,
                responded_at: s.responded_at.0,
                idempotency_key: s.idempotency_key,
            })
            .collect();
        ingest_payload(ctx, surveys::record(&r.db, &r.actor, items).await)
    }

    /// Records your assessment of an account's relationship.
    async fn record_relationship_assessment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account and your three ratings of the relationship.")]
        input: RecordRelationshipAssessmentInput,
    ) -> async_graphql::Result<RelationshipAssessmentPayload> {
        let r = request(ctx);
        let result = async {
            let new = NewAssessment {
                account: AccountId(input_id(&input.account_id, Kind::Account, &["accountId"])?),
                assessed_at: input.assessed_at,
                stakeholder_sentiment: input.stakeholder_sentiment,
                competitive_pressure: input.competitive_pressure,
                strategic_alignment: input.strategic_alignment,
                notes: input.notes,
            };
            assessments::record(&r.db, &r.actor, new).await
        }
        .await;
        if result.is_ok() {
            wake(ctx);
        }
        outcome(result, RelationshipAssessment).map(Into::into)
    }

    /// Records a contract change; the latest change in effect also updates the account.
    async fn record_contract_change(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The account, the day the change takes effect, and the contract value and renewal date from then on."
        )]
        input: RecordContractChangeInput,
    ) -> async_graphql::Result<ContractChangePayload> {
        let r = request(ctx);
        let result = async {
            let new = NewContractChange {
                account: AccountId(input_id(&input.account_id, Kind::Account, &["accountId"])?),
                effective_on: input.effective_on.0,
                annual_value: input.annual_value.into_parts(),
                renewal_date: input.renewal_date.map(|d| d.0),
                note: input.note,
                idempotency_key: input.idempotency_key,
            };
            contracts::record(&r.db, &r.actor, new).await
        }
        .await;
        if result.is_ok() {
            wake(ctx);
        }
        outcome(result, ContractChange).map(Into::into)
    }
}
