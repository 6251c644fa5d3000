//! Contract changes: the history of an account's contract value and renewal date. The value
//! trend is a (lagging) signal; the latest change in effect also updates the account.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    Select,
};

use super::mark_dirty;
use crate::entities::{account, contract_change};
use crate::page::{self, KeyKind, KeyValue, Page, PageRequest, Sort};
use crate::{AccountId, Actor, ContractChangeId, Error, Money, OrganisationId, Problems, Result, accounts, values};

/// One change of contract value and/or renewal date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContractChange {
    pub id: ContractChangeId,
    pub organisation: OrganisationId,
    pub account: AccountId,
    pub effective_on: NaiveDate,
    pub annual_value: Money,
    pub renewal_date: Option<NaiveDate>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<contract_change::Model> for ContractChange {
    fn from(m: contract_change::Model) -> Self {
        Self {
            id: ContractChangeId(m.id),
            organisation: OrganisationId(m.organisation_id),
            account: AccountId(m.account_id),
            effective_on: m.effective_on,
            annual_value: Money { amount_minor: m.annual_value_minor, currency: m.currency },
            renewal_date: m.renewal_date,
            note: m.note,
            created_at: m.created_at,
        }
    }
}

/// A change to record.
#[derive(Clone, Debug)]
pub struct NewContractChange {
    pub account: AccountId,
    pub effective_on: NaiveDate,
    pub annual_value: (i64, String),
    pub renewal_date: Option<NaiveDate>,
    pub note: Option<String>,
    pub idempotency_key: Option<String>,
}

/// Records a contract change. When it is the latest change already in effect, the account's
/// annual value (and renewal date, if given) follow it, bumping the account's version.
pub async fn record(db: &DatabaseConnection, actor: &Actor, new: NewContractChange) -> Result<ContractChange> {
    let org = actor.organisation;
    let key =
        values::idempotency_key(new.idempotency_key.as_deref()).map_err(|m| Error::invalid(&["idempotencyKey"], m))?;
    if let Some(k) = &key
        && let Some(m) = contract_change::Entity::find()
            .filter(contract_change::Column::OrganisationId.eq(org.0))
            .filter(contract_change::Column::IdempotencyKey.eq(k))
            .one(db)
            .await?
    {
        if m.account_id != new.account.0 {
            return Err(Error::conflict(
                &["idempotencyKey"],
                "this idempotency key was already used for another request",
            ));
        }
        return Ok(m.into());
    }
    let current = accounts::writable_parent(db, actor, new.account, "accountId").await?;
    let mut p = Problems::default();
    let value = match Money::parse(new.annual_value.0, &new.annual_value.1) {
        Ok(m) => Some(m),
        Err((field, message)) => {
            p.push(&["annualValue", field], message);
            None
        }
    };
    let note = p.check(&["note"], new.note.as_deref().map(|n| values::text(n, values::MAX_TEXT)).transpose());
    if new.renewal_date.is_some_and(|r| r < new.effective_on) {
        p.push(&["renewalDate"], "must not be before effectiveOn");
    }
    p.finish()?;
    let (value, note) = (value.unwrap(), note.unwrap());
    let today = actor.today();
    let model = contract_change::ActiveModel {
        id: Set(ContractChangeId::generate().0),
        organisation_id: Set(org.0),
        account_id: Set(new.account.0),
        effective_on: Set(new.effective_on),
        annual_value_minor: Set(value.amount_minor),
        currency: Set(value.currency.clone()),
        renewal_date: Set(new.renewal_date),
        note: Set(note),
        idempotency_key: Set(key),
        created_at: Set(values::now()),
    };
    let (account_id, effective_on, renewal) = (new.account, new.effective_on, new.renewal_date);
    let saved = crate::db::write::<_, _, _, Error>(db, |tx| {
        Box::pin(async move {
            // Write first: on SQLite a transaction that reads before its first write can
            // fail to upgrade its snapshot when another writer committed meanwhile.
            let m = contract_change::Entity::insert(model).exec_with_returning(tx).await?;
            let latest = contract_change::Entity::find()
                .filter(contract_change::Column::OrganisationId.eq(org.0))
                .filter(contract_change::Column::AccountId.eq(account_id.0))
                .order_by_desc(contract_change::Column::EffectiveOn)
                .one(tx)
                .await?;
            let is_latest = latest.is_none_or(|l| l.effective_on <= effective_on);
            if is_latest && effective_on <= today {
                let mut changes = account::ActiveModel {
                    annual_value_minor: Set(value.amount_minor),
                    currency: Set(value.currency),
                    version: Set(current.version + 1),
                    updated_at: Set(values::now()),
                    ..Default::default()
                };
                if let Some(r) = renewal {
                    changes.renewal_date = Set(Some(r));
                }
                account::Entity::update_many()
                    .set(changes)
                    .filter(account::Column::OrganisationId.eq(org.0))
                    .filter(account::Column::Id.eq(account_id.0))
                    .exec(tx)
                    .await?;
            }
            mark_dirty(tx, org, &[account_id]).await?;
            Ok(m)
        })
    })
    .await?;
    Ok(saved.into())
}

fn filtered(org: OrganisationId, account: AccountId) -> Select<contract_change::Entity> {
    contract_change::Entity::find().filter(
        Condition::all()
            .add(contract_change::Column::OrganisationId.eq(org.0))
            .add(contract_change::Column::AccountId.eq(account.0)),
    )
}

/// A page of an account's contract history, latest effective first.
pub async fn list(
    db: &DatabaseConnection,
    org: OrganisationId,
    account: AccountId,
    page: &PageRequest,
) -> Result<Page<ContractChange>> {
    let sort =
        Sort { column: contract_change::Column::EffectiveOn, kind: KeyKind::Date, nullable: false, descending: true };
    page::fetch(
        db,
        filtered(org, account),
        sort,
        Some(contract_change::Column::Id),
        page,
        |m| KeyValue::Date(m.effective_on),
        |m| m.id,
    )
    .await?
    .try_map(|m| Ok(m.into()))
}

/// How many contract changes an account has.
pub async fn count(db: &DatabaseConnection, org: OrganisationId, account: AccountId) -> Result<u64> {
    Ok(filtered(org, account).count(db).await?)
}

/// The accounts' whole contract history (for health computation).
pub async fn for_accounts(
    db: &DatabaseConnection,
    org: OrganisationId,
    accounts: &[AccountId],
) -> Result<Vec<ContractChange>> {
    Ok(contract_change::Entity::find()
        .filter(contract_change::Column::OrganisationId.eq(org.0))
        .filter(contract_change::Column::AccountId.is_in(accounts.iter().map(|a| a.0)))
        .all(db)
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
}

/// One record of the organisation by id.
pub async fn get(db: &DatabaseConnection, org: OrganisationId, id: ContractChangeId) -> Result<Option<ContractChange>> {
    Ok(contract_change::Entity::find_by_id(id.0)
        .filter(contract_change::Column::OrganisationId.eq(org.0))
        .one(db)
        .await?
        .map(Into::into))
}
