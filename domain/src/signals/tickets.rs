//! Support tickets, upserted by the integrator's ticket id so updates flow in.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, Select,
};

use super::{AccountRef, BatchReport, INSERT_CHUNK, ItemStatus, past_timestamp};
use crate::entities::support_ticket;
use crate::enums::stored;
use crate::page::{self, KeyKind, KeyValue, Page, PageRequest, Sort};
use crate::{
    AccountId, Actor, Error, ErrorCode, OrganisationId, Result, TicketId, TicketPriority, TicketStatus, values,
};

/// A support ticket raised by (or for) a client account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticket {
    pub id: TicketId,
    pub organisation: OrganisationId,
    pub account: AccountId,
    pub external_id: String,
    pub subject: Option<String>,
    pub priority: TicketPriority,
    pub status: TicketStatus,
    pub opened_at: DateTime<Utc>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<support_ticket::Model> for Ticket {
    type Error = Error;
    fn try_from(m: support_ticket::Model) -> Result<Self> {
        Ok(Self {
            id: TicketId(m.id),
            organisation: OrganisationId(m.organisation_id),
            account: AccountId(m.account_id),
            priority: stored(TicketPriority::parse(&m.priority))?,
            status: stored(TicketStatus::parse(&m.status))?,
            external_id: m.external_id,
            subject: m.subject,
            opened_at: m.opened_at,
            first_response_at: m.first_response_at,
            resolved_at: m.resolved_at,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

impl Ticket {
    /// Whether the ticket still needs work.
    pub fn is_open(&self) -> bool {
        matches!(self.status, TicketStatus::Open | TicketStatus::Pending)
    }
}

/// A ticket as the integrator sends it.
#[derive(Clone, Debug)]
pub struct TicketInput {
    pub account: AccountRef,
    pub external_id: String,
    pub subject: Option<String>,
    pub priority: TicketPriority,
    pub status: TicketStatus,
    pub opened_at: super::Coerced<DateTime<Utc>>,
    pub first_response_at: Option<super::Coerced<DateTime<Utc>>>,
    pub resolved_at: Option<super::Coerced<DateTime<Utc>>>,
}

struct Valid {
    index: usize,
    account: AccountId,
    external_id: String,
    subject: Option<String>,
    priority: TicketPriority,
    status: TicketStatus,
    opened_at: DateTime<Utc>,
    first_response_at: Option<DateTime<Utc>>,
    resolved_at: Option<DateTime<Utc>>,
}

impl Valid {
    fn same_as(&self, m: &support_ticket::Model) -> bool {
        self.subject == m.subject
            && self.priority.as_str() == m.priority
            && self.status.as_str() == m.status
            && self.opened_at == m.opened_at
            && self.first_response_at == m.first_response_at
            && self.resolved_at == m.resolved_at
    }
}

/// Creates or updates tickets by external id.
pub async fn upsert(db: &DatabaseConnection, actor: &Actor, items: Vec<TicketInput>) -> Result<BatchReport> {
    let org = actor.organisation;
    let (mut out, accounts) = super::open_batch(db, actor, &items, |i| &i.account).await?;
    let mut valid = Vec::new();
    for (i, t) in items.into_iter().enumerate() {
        let external_id = out.check(i, &["externalId"], values::line(&t.external_id, 200));
        let subject = out.check(i, &["subject"], values::optional_line(t.subject.as_deref(), values::MAX_LINE));
        let has_resolved = t.resolved_at.is_some();
        let opened_at = out.check(i, &["openedAt"], t.opened_at.and_then(past_timestamp));
        let first = t.first_response_at.map(|f| out.check(i, &["firstResponseAt"], f.and_then(past_timestamp)));
        let resolved = t.resolved_at.map(|r| out.check(i, &["resolvedAt"], r.and_then(past_timestamp)));
        if let Some(o) = opened_at {
            if first.flatten().is_some_and(|f| f < o) {
                out.reject(i, ErrorCode::Invalid, &["firstResponseAt"], "must not be before openedAt");
            }
            if resolved.flatten().is_some_and(|r| r < o) {
                out.reject(i, ErrorCode::Invalid, &["resolvedAt"], "must not be before openedAt");
            }
        }
        let closed = matches!(t.status, TicketStatus::Resolved | TicketStatus::Closed);
        if closed && !has_resolved {
            out.reject(i, ErrorCode::Invalid, &["resolvedAt"], "a resolved or closed ticket needs resolvedAt");
        }
        if !closed && has_resolved {
            out.reject(i, ErrorCode::Invalid, &["status"], "a ticket with resolvedAt must be RESOLVED or CLOSED");
        }
        if let (Some(account), Some(external_id), Some(subject), Some(opened_at), true) =
            (accounts[i], external_id, subject, opened_at, out.is_open(i))
        {
            valid.push(Valid {
                index: i,
                account,
                external_id,
                subject,
                priority: t.priority,
                status: t.status,
                opened_at,
                first_response_at: first.flatten(),
                resolved_at: resolved.flatten(),
            });
        }
    }
    super::reject_repeats(valid.iter().map(|v| (v.index, v.external_id.clone())), &["externalId"], &mut out);
    valid.retain(|v| out.is_open(v.index));

    let mut existing: HashMap<String, support_ticket::Model> = HashMap::new();
    let ids: Vec<String> = valid.iter().map(|v| v.external_id.clone()).collect();
    for chunk in ids.chunks(INSERT_CHUNK) {
        for m in support_ticket::Entity::find()
            .filter(support_ticket::Column::OrganisationId.eq(org.0))
            .filter(support_ticket::Column::ExternalId.is_in(chunk.iter().cloned()))
            .all(db)
            .await?
        {
            existing.insert(m.external_id.clone(), m);
        }
    }
    let now = values::now();
    let mut inserts = Vec::new();
    let mut updates = Vec::new();
    let mut touched = Vec::new();
    for v in valid {
        match existing.get(&v.external_id) {
            Some(m) if m.account_id != v.account.0 => out.reject(
                v.index,
                ErrorCode::Conflict,
                &["externalId"],
                "a ticket with this id belongs to another account",
            ),
            Some(m) if v.same_as(m) => out.set(v.index, ItemStatus::Duplicate),
            Some(m) => {
                out.set(v.index, ItemStatus::Updated);
                touched.push(v.account);
                updates.push(support_ticket::ActiveModel {
                    id: Set(m.id),
                    subject: Set(v.subject),
                    priority: Set(v.priority.as_str().into()),
                    status: Set(v.status.as_str().into()),
                    opened_at: Set(v.opened_at),
                    first_response_at: Set(v.first_response_at),
                    resolved_at: Set(v.resolved_at),
                    version: Set(m.version + 1),
                    updated_at: Set(now),
                    ..Default::default()
                });
            }
            None => {
                out.set(v.index, ItemStatus::Accepted);
                touched.push(v.account);
                inserts.push(support_ticket::ActiveModel {
                    id: Set(TicketId::generate().0),
                    organisation_id: Set(org.0),
                    account_id: Set(v.account.0),
                    external_id: Set(v.external_id),
                    subject: Set(v.subject),
                    priority: Set(v.priority.as_str().into()),
                    status: Set(v.status.as_str().into()),
                    opened_at: Set(v.opened_at),
                    first_response_at: Set(v.first_response_at),
                    resolved_at: Set(v.resolved_at),
                    version: Set(1),
                    created_at: Set(now),
                    updated_at: Set(now),
                });
            }
        }
    }
    let dirty = touched.clone();
    crate::db::write::<_, _, _, Error>(db, |tx| {
        Box::pin(async move {
            let columns = (support_ticket::Column::Id, support_ticket::Column::OrganisationId);
            super::write_upserts(tx, org, inserts, updates, columns, &dirty).await
        })
    })
    .await
    .map_err(|e| match e {
        sea_orm::TransactionError::Transaction(Error::Internal(inner))
            if inner.downcast_ref::<sea_orm::DbErr>().is_some_and(crate::store::is_unique_violation) =>
        {
            Error::conflict(&["items"], "another request wrote some of these tickets at the same time; retry the batch")
        }
        other => other.into(),
    })?;
    Ok(out.finish(touched))
}

/// Filters for an account's tickets.
#[derive(Clone, Debug, Default)]
pub struct TicketFilter {
    pub priorities: Option<Vec<TicketPriority>>,
    pub statuses: Option<Vec<TicketStatus>>,
    pub opened_from: Option<DateTime<Utc>>,
    pub opened_before: Option<DateTime<Utc>>,
}

fn filtered(org: OrganisationId, account: AccountId, f: &TicketFilter) -> Select<support_ticket::Entity> {
    use support_ticket::Column as C;
    let mut cond = Condition::all().add(C::OrganisationId.eq(org.0)).add(C::AccountId.eq(account.0));
    if let Some(p) = &f.priorities {
        cond = cond.add(C::Priority.is_in(p.iter().map(|p| p.as_str())));
    }
    if let Some(s) = &f.statuses {
        cond = cond.add(C::Status.is_in(s.iter().map(|s| s.as_str())));
    }
    if let Some(t) = f.opened_from {
        cond = cond.add(C::OpenedAt.gte(values::timestamp(t)));
    }
    if let Some(t) = f.opened_before {
        cond = cond.add(C::OpenedAt.lt(values::timestamp(t)));
    }
    support_ticket::Entity::find().filter(cond)
}

/// A page of an account's tickets, most recently opened first.
pub async fn list(
    db: &DatabaseConnection,
    org: OrganisationId,
    account: AccountId,
    filter: &TicketFilter,
    page: &PageRequest,
) -> Result<Page<Ticket>> {
    let sort =
        Sort { column: support_ticket::Column::OpenedAt, kind: KeyKind::Time, nullable: false, descending: true };
    page::fetch(
        db,
        filtered(org, account, filter),
        sort,
        Some(support_ticket::Column::Id),
        page,
        |m| KeyValue::Time(m.opened_at),
        |m| m.id,
    )
    .await?
    .try_map(TryInto::try_into)
}

/// How many of an account's tickets match.
pub async fn count(
    db: &DatabaseConnection,
    org: OrganisationId,
    account: AccountId,
    filter: &TicketFilter,
) -> Result<u64> {
    Ok(filtered(org, account, filter).count(db).await?)
}

/// The accounts' tickets opened since `since`, plus every ticket still open (for health).
pub async fn for_accounts(
    db: &DatabaseConnection,
    org: OrganisationId,
    accounts: &[AccountId],
    since: DateTime<Utc>,
) -> Result<Vec<Ticket>> {
    use support_ticket::Column as C;
    support_ticket::Entity::find()
        .filter(C::OrganisationId.eq(org.0))
        .filter(C::AccountId.is_in(accounts.iter().map(|a| a.0)))
        .filter(
            Condition::any()
                .add(C::OpenedAt.gte(since))
                .add(C::Status.is_in([TicketStatus::Open.as_str(), TicketStatus::Pending.as_str()])),
        )
        .all(db)
        .await?
        .into_iter()
        .map(TryInto::try_into)
        .collect()
}

/// One record of the organisation by id.
pub async fn get(db: &DatabaseConnection, org: OrganisationId, id: TicketId) -> Result<Option<Ticket>> {
    support_ticket::Entity::find_by_id(id.0)
        .filter(support_ticket::Column::OrganisationId.eq(org.0))
        .one(db)
        .await?
        .map(TryInto::try_into)
        .transpose()
}
