//! Signals: what integrators push in about an account (usage metrics, support tickets,
//! invoices, surveys) and what account managers record (relationship assessments, contract
//! changes). Bulk ingestion reports a result per item: accepted, updated, duplicate, or
//! rejected with field errors; valid items are written together in one transaction and invalid
//! ones change nothing.

pub mod assessments;
pub mod contracts;
pub mod invoices;
pub mod metrics;
pub mod surveys;
pub mod tickets;

use std::collections::{HashMap, HashSet};

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::OnConflict};

use crate::entities::{account, health_dirty, risk_dirty};
use crate::{AccountId, Actor, Error, ErrorCode, FieldError, OrganisationId, Result, values};

/// Most items one bulk call may carry.
pub const MAX_BATCH: usize = 5_000;
/// Rows per multi-row INSERT (SQLite binds at most 32,766 parameters per statement).
pub(crate) const INSERT_CHUNK: usize = 1_000;
/// How far in the future a timestamp may lie (clock skew between systems).
pub const MAX_FUTURE_SKEW: chrono::Duration = chrono::Duration::hours(1);

/// A field of a bulk item as the client sent it: its value, or why it could not be read (say a
/// malformed timestamp). One malformed value rejects its own item, with its index and field, and
/// the rest of the batch is written.
pub type Coerced<T> = std::result::Result<T, String>;

/// Names an account by its id or by the integrator's external reference.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AccountRef {
    Id(AccountId),
    ExternalRef(String),
}

/// What happened to one item of a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemStatus {
    /// Written as new.
    Accepted,
    /// An existing record (same key) was changed.
    Updated,
    /// Already recorded exactly like this: nothing to do.
    Duplicate,
    /// Not written; see the errors.
    Rejected,
}

/// The outcome of one item, by its position in the batch.
#[derive(Clone, Debug, PartialEq)]
pub struct ItemResult {
    pub index: usize,
    pub status: ItemStatus,
    pub errors: Vec<FieldError>,
}

/// The outcome of a batch: one result per item, in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BatchReport {
    pub items: Vec<ItemResult>,
    /// Accounts whose signals changed (their health is now stale).
    pub touched: Vec<AccountId>,
}

impl BatchReport {
    pub fn count(&self, status: ItemStatus) -> usize {
        self.items.iter().filter(|i| i.status == status).count()
    }
}

/// Collects per-item outcomes while a batch is processed.
pub(crate) struct Outcomes {
    results: Vec<Option<ItemResult>>,
}

impl Outcomes {
    pub fn new(len: usize) -> Self {
        Self { results: vec![None; len] }
    }

    pub fn is_open(&self, index: usize) -> bool {
        self.results[index].is_none()
    }

    pub fn set(&mut self, index: usize, status: ItemStatus) {
        self.results[index] = Some(ItemResult { index, status, errors: Vec::new() });
    }

    /// Rejects an item; `field` is relative to the item.
    pub fn reject(&mut self, index: usize, code: ErrorCode, field: &[&str], message: impl Into<String>) {
        let mut path = vec!["items".to_owned(), index.to_string()];
        path.extend(field.iter().map(|f| (*f).to_owned()));
        let error = FieldError { field: path, message: message.into(), code };
        match &mut self.results[index] {
            Some(r) if r.status == ItemStatus::Rejected => r.errors.push(error),
            slot => *slot = Some(ItemResult { index, status: ItemStatus::Rejected, errors: vec![error] }),
        }
    }

    /// Rejects an item with a validator's errors (their paths are relative to the item).
    pub fn reject_error(&mut self, index: usize, error: Error) {
        for e in error.field_errors().unwrap_or_default() {
            let field: Vec<&str> = e.field.iter().map(String::as_str).collect();
            self.reject(index, e.code, &field, e.message);
        }
    }

    /// Runs a parser for item `index`, recording its failure under `field`.
    pub fn check<T>(&mut self, index: usize, field: &[&str], parsed: Result<T, String>) -> Option<T> {
        match parsed {
            Ok(v) => Some(v),
            Err(m) => {
                self.reject(index, ErrorCode::Invalid, field, m);
                None
            }
        }
    }

    /// The batch's report; `touched` (the accounts written) in order, each once.
    pub fn finish(self, mut touched: Vec<AccountId>) -> BatchReport {
        touched.sort();
        touched.dedup();
        BatchReport {
            items: self
                .results
                .into_iter()
                .enumerate()
                .map(|(index, r)| r.unwrap_or(ItemResult { index, status: ItemStatus::Accepted, errors: Vec::new() }))
                .collect(),
            touched,
        }
    }
}

/// Checks the batch as a whole: the caller may ingest at all, and the size is within limits.
pub(crate) fn check_batch(actor: &Actor, len: usize) -> Result<()> {
    actor.require_writer()?;
    if len > MAX_BATCH {
        return Err(Error::invalid(&["items"], format!("at most {MAX_BATCH} items per call, got {len}")));
    }
    Ok(())
}

/// Opens a batch: checks it as a whole ([`check_batch`]), then resolves every item's account
/// ([`resolve_accounts`]), rejecting the items whose account cannot be used.
pub(crate) async fn open_batch<T, C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    items: &[T],
    account: impl Fn(&T) -> &AccountRef,
) -> Result<(Outcomes, Vec<Option<AccountId>>)> {
    check_batch(actor, items.len())?;
    let mut out = Outcomes::new(items.len());
    let refs: Vec<AccountRef> = items.iter().map(|i| account(i).clone()).collect();
    let accounts = resolve_accounts(db, actor, &refs, &mut out).await?;
    Ok((out, accounts))
}

/// Checks each item's required idempotency key and rejects repeats inside the batch; `None`
/// for items rejected.
pub(crate) fn required_keys<'a>(keys: impl Iterator<Item = &'a str>, out: &mut Outcomes) -> Vec<Option<String>> {
    let keys: Vec<Option<String>> = keys
        .enumerate()
        .map(|(i, k)| out.check(i, &["idempotencyKey"], values::idempotency_key(Some(k))).flatten())
        .collect();
    reject_repeats(keys.iter().enumerate().filter_map(|(i, k)| k.clone().map(|k| (i, k))), &["idempotencyKey"], out);
    keys
}

/// Maps a batch transaction's failure: a unique violation means another request wrote some of
/// the same `what` at the same moment (a CONFLICT to retry), anything else passes through.
pub(crate) fn batch_race(what: &'static str) -> impl FnOnce(sea_orm::TransactionError<Error>) -> Error {
    move |e| match e {
        sea_orm::TransactionError::Transaction(Error::Internal(inner))
            if inner.downcast_ref::<sea_orm::DbErr>().is_some_and(crate::store::is_unique_violation) =>
        {
            Error::conflict(
                &["items"],
                format!("another request wrote some of these {what} at the same time; retry the batch"),
            )
        }
        other => other.into(),
    }
}

/// Resolves every item's account reference in two queries, checking the actor may write each.
/// Items whose account cannot be used are rejected; the rest get their account id.
pub(crate) async fn resolve_accounts<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    refs: &[AccountRef],
    outcomes: &mut Outcomes,
) -> Result<Vec<Option<AccountId>>> {
    let org = actor.organisation;
    let ids: HashSet<_> =
        refs.iter().filter_map(|r| if let AccountRef::Id(id) = r { Some(id.0) } else { None }).collect();
    let external: HashSet<_> = refs
        .iter()
        .filter_map(|r| if let AccountRef::ExternalRef(e) = r { Some(e.trim().to_owned()) } else { None })
        .collect();
    let mut by_id = HashMap::new();
    let mut by_ref = HashMap::new();
    for chunk in ids.into_iter().collect::<Vec<_>>().chunks(INSERT_CHUNK) {
        for m in account::Entity::find()
            .filter(account::Column::OrganisationId.eq(org.0))
            .filter(account::Column::Id.is_in(chunk.iter().copied()))
            .all(db)
            .await?
        {
            by_id.insert(m.id, m);
        }
    }
    for chunk in external.into_iter().collect::<Vec<_>>().chunks(INSERT_CHUNK) {
        for m in account::Entity::find()
            .filter(account::Column::OrganisationId.eq(org.0))
            .filter(account::Column::ExternalRef.is_in(chunk.iter().cloned()))
            .all(db)
            .await?
        {
            if let Some(r) = m.external_ref.clone() {
                by_ref.insert(r, m);
            }
        }
    }
    let mut out = Vec::with_capacity(refs.len());
    for (i, r) in refs.iter().enumerate() {
        let (found, field) = match r {
            AccountRef::Id(id) => (by_id.get(&id.0), "id"),
            AccountRef::ExternalRef(e) => (by_ref.get(e.trim()), "externalRef"),
        };
        let Some(m) = found else {
            outcomes.reject(i, ErrorCode::NotFound, &["account", field], "no such account");
            out.push(None);
            continue;
        };
        if m.archived_at.is_some() {
            outcomes.reject(i, ErrorCode::Invalid, &["account", field], "account is archived");
            out.push(None);
            continue;
        }
        let manager = m.account_manager_id.map(crate::UserId);
        let sales = m.sales_owner_id.map(crate::UserId);
        if let Err(e) = actor.require_account_writer(manager, sales) {
            outcomes.reject(i, ErrorCode::Forbidden, &["account", field], e.to_string());
            out.push(None);
            continue;
        }
        out.push(Some(AccountId(m.id)));
    }
    Ok(out)
}

/// Marks accounts as needing a health recompute and a rule evaluation, in the caller's
/// transaction (two queues: the health worker and the risk engine each clear their own).
pub(crate) async fn mark_dirty<C: ConnectionTrait>(db: &C, org: OrganisationId, accounts: &[AccountId]) -> Result<()> {
    let now = values::now();
    let unique: HashSet<_> = accounts.iter().copied().collect();
    let unique: Vec<_> = unique.into_iter().collect();
    for chunk in unique.chunks(INSERT_CHUNK) {
        let health = chunk.iter().map(|a| health_dirty::ActiveModel {
            organisation_id: sea_orm::ActiveValue::Set(org.0),
            account_id: sea_orm::ActiveValue::Set(a.0),
            marked_at: sea_orm::ActiveValue::Set(now),
        });
        health_dirty::Entity::insert_many(health)
            // A newer mark replaces the old one, so a recompute that started before this
            // write cannot clear it (see `health::recompute`).
            .on_conflict(
                OnConflict::columns([health_dirty::Column::OrganisationId, health_dirty::Column::AccountId])
                    .update_column(health_dirty::Column::MarkedAt)
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
        let risk = chunk.iter().map(|a| risk_dirty::ActiveModel {
            organisation_id: sea_orm::ActiveValue::Set(org.0),
            account_id: sea_orm::ActiveValue::Set(a.0),
            marked_at: sea_orm::ActiveValue::Set(now),
        });
        risk_dirty::Entity::insert_many(risk)
            .on_conflict(
                OnConflict::columns([risk_dirty::Column::OrganisationId, risk_dirty::Column::AccountId])
                    .update_column(risk_dirty::Column::MarkedAt)
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Writes an upsert batch: new rows with multi-row INSERTs, changed rows one UPDATE each (by
/// id, scoped to the organisation), and the touched accounts' dirty marks. Run it inside the
/// batch's transaction.
pub(crate) async fn write_upserts<A, C>(
    tx: &C,
    org: OrganisationId,
    inserts: Vec<A>,
    updates: Vec<A>,
    columns: (<A::Entity as EntityTrait>::Column, <A::Entity as EntityTrait>::Column),
    touched: &[AccountId],
) -> Result<()>
where
    A: sea_orm::ActiveModelTrait + sea_orm::ActiveModelBehavior + Send + Clone,
    C: ConnectionTrait,
{
    let (id, organisation) = columns;
    for chunk in inserts.chunks(INSERT_CHUNK) {
        A::Entity::insert_many(chunk.to_vec()).exec_without_returning(tx).await?;
    }
    for u in updates {
        let key = u.get(id).into_value().ok_or_else(|| Error::Internal("an update without its id".into()))?;
        A::Entity::update_many().set(u).filter(organisation.eq(org.0)).filter(id.eq(key)).exec(tx).await?;
    }
    mark_dirty(tx, org, touched).await
}

/// A timestamp from an integrator: not too far in the future, stored at storage precision.
pub(crate) fn past_timestamp(t: chrono::DateTime<chrono::Utc>) -> Result<chrono::DateTime<chrono::Utc>, String> {
    if t > chrono::Utc::now() + MAX_FUTURE_SKEW {
        return Err("must not be in the future".into());
    }
    Ok(values::timestamp(t))
}

/// Finds repeated keys inside one batch and rejects every repeat after the first.
pub(crate) fn reject_repeats<K: std::hash::Hash + Eq>(
    keys: impl IntoIterator<Item = (usize, K)>,
    field: &[&str],
    outcomes: &mut Outcomes,
) {
    let mut first: HashMap<K, usize> = HashMap::new();
    for (i, k) in keys {
        match first.get(&k) {
            Some(&j) => outcomes.reject(i, ErrorCode::Invalid, field, format!("repeats item {j} of this batch")),
            None => {
                first.insert(k, i);
            }
        }
    }
}
