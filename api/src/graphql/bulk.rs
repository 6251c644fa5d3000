//! Bulk history: accounts (with custom attributes), contacts, interactions, relationship
//! assessments and churn outcomes, up to 5,000 items a call, each answered on its own (the
//! same `IngestPayload` as the signal mutations).

use async_graphql::{Context, ID, InputObject, Object, OneofObject};
use bellwether_domain::accounts::{self, AccountUpsert, OutcomeChange, OutcomeInput};
use bellwether_domain::contacts::{self, ContactUpsert};
use bellwether_domain::interactions::{self, ContactRef, InteractionInput as DomainInteraction};
use bellwether_domain::signals::assessments::{self, AssessmentInput as DomainAssessment};
use bellwether_domain::{ContactId, UserId};
use chrono::{DateTime, Utc};

use super::attributes::AttributeValueInput;
use super::scalars::{
    ContactLevel, ContactRole, Date, Direction, InteractionKind, Lenient, LifecycleStage, MinorUnits, Sentiment, Tier,
};
use super::signals::{AccountRefInput, IngestPayload, ingest_payload};
use super::support::{Kind, input_id, request};

/// An amount of money in a bulk item (a malformed amount rejects only its item).
#[derive(InputObject)]
pub struct BulkMoneyInput {
    /// Amount in minor units (e.g. cents).
    pub amount_minor: Lenient<MinorUnits>,
    /// ISO 4217 currency code.
    pub currency: String,
}

/// An account to create or update by `externalRef`. Omitted fields keep their values on an
/// existing account; a new one needs `name` (tier defaults to STANDARD).
#[derive(InputObject)]
pub struct AccountUpsertInput {
    /// Your id for the account (e.g. the CRM id): the upsert key.
    pub external_ref: String,
    /// The name people see.
    pub name: Option<String>,
    /// Market segment.
    pub segment: Option<String>,
    /// The client's industry.
    pub industry: Option<String>,
    /// How important the account is.
    pub tier: Option<Tier>,
    /// Where it is in its life with you.
    pub lifecycle_stage: Option<LifecycleStage>,
    /// Annual contract value.
    pub annual_value: Option<BulkMoneyInput>,
    /// When the contract started.
    pub contract_start: Option<Lenient<Date>>,
    /// When the contract is up for renewal.
    pub renewal_date: Option<Lenient<Date>>,
    /// The account manager (a user with role ACCOUNT_MANAGER, MANAGER or ADMIN).
    pub account_manager_id: Option<ID>,
    /// Custom attribute values to set with the account (a value with no field set clears it).
    #[graphql(default)]
    pub attributes: Vec<AttributeValueInput>,
}

/// Accounts to create or update.
#[derive(InputObject)]
pub struct UpsertAccountsInput {
    /// Up to 5,000 accounts, each `externalRef` at most once.
    pub items: Vec<AccountUpsertInput>,
}

/// A contact to create or update by `idempotencyKey` (e.g. your system's contact id).
#[derive(InputObject)]
pub struct ContactUpsertInput {
    /// The client account, by id or by your external reference.
    pub account: AccountRefInput,
    /// Your key for the contact, unique in the organisation: the upsert key.
    pub idempotency_key: String,
    /// The person's full name.
    pub name: String,
    /// Job title.
    pub title: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Seniority.
    pub level: ContactLevel,
    /// The part they play in decisions.
    pub role: ContactRole,
    /// How they feel about us (kept as is when omitted on an update; UNKNOWN for a new one).
    pub sentiment: Option<Sentiment>,
    /// Still at the client and engaged (default: true unless `departedOn` is given).
    pub active: Option<bool>,
    /// The day they left the client.
    pub departed_on: Option<Lenient<Date>>,
}

/// Contacts to create or update.
#[derive(InputObject)]
pub struct UpsertContactsInput {
    /// Up to 5,000 contacts.
    pub items: Vec<ContactUpsertInput>,
}

/// Names a contact in a bulk item.
#[derive(OneofObject)]
pub enum ContactRefInput {
    /// The contact's global id.
    Id(ID),
    /// The idempotency key the contact was created with.
    IdempotencyKey(String),
}

/// An interaction to record, keyed by `idempotencyKey`.
#[derive(InputObject)]
pub struct InteractionRecordInput {
    /// The client account, by id or by your external reference.
    pub account: AccountRefInput,
    /// Your key for the interaction (e.g. an order number), unique in the organisation.
    pub idempotency_key: String,
    /// What kind of touchpoint it was (ORDER for a purchase).
    pub kind: InteractionKind,
    /// Who started it (default OUTBOUND).
    pub direction: Option<Direction>,
    /// When it happened (at most a day ahead).
    pub occurred_at: Lenient<DateTime<Utc>>,
    /// What happened.
    pub summary: String,
    /// The client's people present (contacts of the account, at most 50).
    #[graphql(default)]
    pub contacts: Vec<ContactRefInput>,
}

/// Interactions to record.
#[derive(InputObject)]
pub struct RecordInteractionsInput {
    /// Up to 5,000 interactions.
    pub items: Vec<InteractionRecordInput>,
}

/// A relationship assessment to record, by the signed-in user.
#[derive(InputObject)]
pub struct AssessmentRecordInput {
    /// The client account, by id or by your external reference.
    pub account: AccountRefInput,
    /// When the assessment was made (default now).
    pub assessed_at: Option<Lenient<DateTime<Utc>>>,
    /// Stakeholder sentiment, 1 (hostile) to 5 (enthusiastic).
    pub stakeholder_sentiment: i32,
    /// Competitive pressure, 1 (none) to 5 (heavily courted).
    pub competitive_pressure: i32,
    /// Strategic alignment, 1 (diverging) to 5 (fully aligned).
    pub strategic_alignment: i32,
    /// What the assessor noted.
    pub notes: Option<String>,
    /// Retrying with the same key is a no-op.
    pub idempotency_key: Option<String>,
}

/// Assessments to record.
#[derive(InputObject)]
pub struct RecordAssessmentsInput {
    /// Up to 5,000 assessments.
    pub items: Vec<AssessmentRecordInput>,
}

/// A churn outcome: the day the account was lost and why.
#[derive(InputObject)]
pub struct ChurnInput {
    /// The day it was lost (not in the future).
    pub churned_on: Lenient<Date>,
    /// Why it was lost.
    pub reason: String,
}

/// What happened to one account: give exactly one of `churned` and `reactivated`.
#[derive(InputObject)]
pub struct AccountOutcomeInput {
    /// The client account, by id or by your external reference.
    pub account: AccountRefInput,
    /// The account churned.
    pub churned: Option<ChurnInput>,
    /// The account was won back (must be true when given).
    pub reactivated: Option<bool>,
}

/// Outcomes to record.
#[derive(InputObject)]
pub struct RecordAccountOutcomesInput {
    /// Up to 5,000 outcomes, each account at most once.
    pub items: Vec<AccountOutcomeInput>,
}

/// An id of the wrong kind resolves to nothing (the item is then rejected as NOT_FOUND).
fn loose_id(id: &ID, kind: Kind) -> uuid::Uuid {
    input_id(id, kind, &[]).unwrap_or_default()
}

#[derive(Default)]
pub struct BulkMutation;

#[Object]
impl BulkMutation {
    /// Creates or updates up to 5,000 accounts by `externalRef`, with custom attribute values.
    async fn upsert_accounts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The accounts (at most 5,000); each is written or rejected on its own.")]
        input: UpsertAccountsInput,
    ) -> async_graphql::Result<IngestPayload> {
        let r = request(ctx);
        let items = input
            .items
            .into_iter()
            .map(|a| AccountUpsert {
                external_ref: a.external_ref,
                name: a.name,
                segment: a.segment,
                industry: a.industry,
                tier: a.tier.map(Into::into),
                lifecycle_stage: a.lifecycle_stage.map(Into::into),
                annual_value: a.annual_value.map(|m| (m.amount_minor.0.map(|a| a.0), m.currency)),
                contract_start: a.contract_start.map(|d| d.0.map(|d| d.0)),
                renewal_date: a.renewal_date.map(|d| d.0.map(|d| d.0)),
                account_manager: a.account_manager_id.map(|id| UserId(loose_id(&id, Kind::User))),
                attributes: a.attributes.into_iter().map(AttributeValueInput::into_domain).collect(),
            })
            .collect();
        ingest_payload(ctx, accounts::upsert_many(&r.db, &r.actor, items).await)
    }

    /// Creates or updates up to 5,000 contacts by `idempotencyKey`.
    async fn upsert_contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contacts (at most 5,000); each is written or rejected on its own.")]
        input: UpsertContactsInput,
    ) -> async_graphql::Result<IngestPayload> {
        let r = request(ctx);
        let items = input
            .items
            .into_iter()
            .map(|c| ContactUpsert {
                account: c.account.into_domain(),
                idempotency_key: c.idempotency_key,
                name: c.name,
                title: c.title,
                email: c.email,
                phone: c.phone,
                level: c.level.into(),
                role: c.role.into(),
                sentiment: c.sentiment.map(Into::into),
                active: c.active,
                departed_on: c.departed_on.map(|d| d.0.map(|d| d.0)),
            })
            .collect();
        ingest_payload(ctx, contacts::upsert_many(&r.db, &r.actor, items).await)
    }

    /// Records up to 5,000 interactions (meetings, orders, ...) by `idempotencyKey`.
    async fn record_interactions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The interactions (at most 5,000); each is written or rejected on its own.")]
        input: RecordInteractionsInput,
    ) -> async_graphql::Result<IngestPayload> {
        let r = request(ctx);
        let items = input
            .items
            .into_iter()
            .map(|i| DomainInteraction {
                account: i.account.into_domain(),
                idempotency_key: i.idempotency_key,
                kind: i.kind.into(),
                direction: i.direction.map(Into::into),
                occurred_at: i.occurred_at.0,
                summary: i.summary,
                contacts: i
                    .contacts
                    .into_iter()
                    .map(|c| match c {
                        ContactRefInput::Id(id) => ContactRef::Id(ContactId(loose_id(&id, Kind::Contact))),
                        ContactRefInput::IdempotencyKey(k) => ContactRef::Key(k),
                    })
                    .collect(),
            })
            .collect();
        ingest_payload(ctx, interactions::record_many(&r.db, &r.actor, items).await)
    }

    /// Records up to 5,000 relationship assessments by the signed-in user.
    async fn record_assessments(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The assessments (at most 5,000); each is written or rejected on its own.")]
        input: RecordAssessmentsInput,
    ) -> async_graphql::Result<IngestPayload> {
        let r = request(ctx);
        let items = input
            .items
            .into_iter()
            .map(|a| DomainAssessment {
                account: a.account.into_domain(),
                assessed_at: a.assessed_at.map(|t| t.0),
                stakeholder_sentiment: a.stakeholder_sentiment,
                competitive_pressure: a.competitive_pressure,
                strategic_alignment: a.strategic_alignment,
                notes: a.notes,
                idempotency_key: a.idempotency_key,
            })
            .collect();
        ingest_payload(ctx, assessments::record_many(&r.db, &r.actor, items).await)
    }

    /// Records up to 5,000 churn outcomes and reactivations, under the rules of
    /// `markAccountChurned` and `reactivateAccount`. The same churn again is a DUPLICATE; a churn
    /// on another day than the one recorded is a CONFLICT.
    async fn record_account_outcomes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The outcomes (at most 5,000); each is written or rejected on its own.")]
        input: RecordAccountOutcomesInput,
    ) -> async_graphql::Result<IngestPayload> {
        let r = request(ctx);
        let items = input
            .items
            .into_iter()
            .map(|o| {
                let change = match (o.churned, o.reactivated) {
                    (Some(c), None) => OutcomeChange::Churned { on: c.churned_on.0.map(|d| d.0), reason: c.reason },
                    (None, Some(true)) => OutcomeChange::Reactivated,
                    _ => OutcomeChange::Malformed("give either `churned` or `reactivated: true`".into()),
                };
                OutcomeInput { account: o.account.into_domain(), change }
            })
            .collect();
        ingest_payload(ctx, accounts::record_outcomes(&r.db, &r.actor, items).await)
    }
}
