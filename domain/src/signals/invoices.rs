//! Invoices, upserted by invoice number. Days overdue is derived, never stored.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, Select,
};

use super::{AccountRef, BatchReport, INSERT_CHUNK, ItemStatus, past_timestamp};
use crate::entities::invoice;
use crate::enums::stored;
use crate::page::{self, KeyKind, KeyValue, Page, PageRequest, Sort};
use crate::{AccountId, Actor, Error, ErrorCode, InvoiceId, InvoiceStatus, Money, OrganisationId, Result, values};

/// An invoice sent to a client account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invoice {
    pub id: InvoiceId,
    pub organisation: OrganisationId,
    pub account: AccountId,
    pub number: String,
    pub amount: Money,
    pub issued_on: NaiveDate,
    pub due_on: NaiveDate,
    pub paid_at: Option<DateTime<Utc>>,
    pub status: InvoiceStatus,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<invoice::Model> for Invoice {
    type Error = Error;
    fn try_from(m: invoice::Model) -> Result<Self> {
        Ok(Self {
            id: InvoiceId(m.id),
            organisation: OrganisationId(m.organisation_id),
            account: AccountId(m.account_id),
            status: stored(InvoiceStatus::parse(&m.status))?,
            amount: Money { amount_minor: m.amount_minor, currency: m.currency },
            number: m.number,
            issued_on: m.issued_on,
            due_on: m.due_on,
            paid_at: m.paid_at,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

impl Invoice {
    /// Days past the due date on `as_of` while unpaid (0 when not yet due, paid or void).
    /// For an invoice paid late, the days it was overdue when paid are in `days_late`.
    pub fn days_overdue(&self, as_of: NaiveDate) -> i64 {
        let outstanding = match (self.status, self.paid_at) {
            (InvoiceStatus::Void, _) => false,
            (_, Some(paid)) => paid.date_naive() > as_of,
            (InvoiceStatus::Paid, None) => false,
            (InvoiceStatus::Open, None) => true,
        };
        if outstanding { (as_of - self.due_on).num_days().max(0) } else { 0 }
    }

    /// How many days after the due date the invoice was paid (0 if on time or unpaid).
    pub fn days_late(&self) -> i64 {
        self.paid_at.map_or(0, |p| (p.date_naive() - self.due_on).num_days().max(0))
    }
}

/// An invoice as the integrator sends it.
#[derive(Clone, Debug)]
pub struct InvoiceInput {
    pub account: AccountRef,
    pub number: String,
    pub amount_minor: super::Coerced<i64>,
    pub currency: String,
    pub issued_on: super::Coerced<NaiveDate>,
    pub due_on: super::Coerced<NaiveDate>,
    pub paid_at: Option<super::Coerced<DateTime<Utc>>>,
    pub status: InvoiceStatus,
}

/// Creates or updates invoices by number.
pub async fn upsert(db: &DatabaseConnection, actor: &Actor, items: Vec<InvoiceInput>) -> Result<BatchReport> {
    let org = actor.organisation;
    let (mut out, accounts) = super::open_batch(db, actor, &items, |i| &i.account).await?;
    let today = actor.today();
    let mut valid = Vec::new();
    for (i, v) in items.into_iter().enumerate() {
        let number = out.check(i, &["number"], values::line(&v.number, 200));
        let amount = match v.amount_minor.map(|a| Money::parse(a, &v.currency)) {
            Ok(Ok(m)) => Some(m),
            Ok(Err((field, message))) => {
                out.reject(i, ErrorCode::Invalid, &[field], message);
                None
            }
            Err(message) => {
                out.reject(i, ErrorCode::Invalid, &["amountMinor"], message);
                None
            }
        };
        let issued_on = out.check(i, &["issuedOn"], v.issued_on);
        let due_on = out.check(i, &["dueOn"], v.due_on);
        if let (Some(issued_on), Some(due_on)) = (issued_on, due_on)
            && due_on < issued_on
        {
            out.reject(i, ErrorCode::Invalid, &["dueOn"], "must not be before issuedOn");
        }
        if issued_on.is_some_and(|d| d > today + chrono::Duration::days(1)) {
            out.reject(i, ErrorCode::Invalid, &["issuedOn"], "must not be in the future");
        }
        let paid_at = v.paid_at.clone().and_then(|p| out.check(i, &["paidAt"], p.and_then(past_timestamp)));
        match (v.status, v.paid_at) {
            (InvoiceStatus::Paid, None) => {
                out.reject(i, ErrorCode::Invalid, &["paidAt"], "a paid invoice needs paidAt")
            }
            (InvoiceStatus::Open, Some(_)) => {
                out.reject(i, ErrorCode::Invalid, &["status"], "an invoice with paidAt must be PAID")
            }
            _ => {}
        }
        if let (Some(account), Some(number), Some(amount), Some(issued_on), Some(due_on), true) =
            (accounts[i], number, amount, issued_on, due_on, out.is_open(i))
        {
            valid.push((i, account, number, amount, issued_on, due_on, paid_at, v.status));
        }
    }
    super::reject_repeats(valid.iter().map(|v| (v.0, v.2.clone())), &["number"], &mut out);
    valid.retain(|v| out.is_open(v.0));

    let mut existing: HashMap<String, invoice::Model> = HashMap::new();
    let numbers: Vec<String> = valid.iter().map(|v| v.2.clone()).collect();
    for chunk in numbers.chunks(INSERT_CHUNK) {
        for m in invoice::Entity::find()
            .filter(invoice::Column::OrganisationId.eq(org.0))
            .filter(invoice::Column::Number.is_in(chunk.iter().cloned()))
            .all(db)
            .await?
        {
            existing.insert(m.number.clone(), m);
        }
    }
    let now = values::now();
    let (mut inserts, mut updates, mut touched) = (Vec::new(), Vec::new(), Vec::new());
    for (index, account, number, amount, issued_on, due_on, paid_at, status) in valid {
        match existing.get(&number) {
            Some(m) if m.account_id != account.0 => out.reject(
                index,
                ErrorCode::Conflict,
                &["number"],
                "an invoice with this number belongs to another account",
            ),
            Some(m)
                if m.amount_minor == amount.amount_minor
                    && m.currency == amount.currency
                    && m.issued_on == issued_on
                    && m.due_on == due_on
                    && m.paid_at == paid_at
                    && m.status == status.as_str() =>
            {
                out.set(index, ItemStatus::Duplicate)
            }
            Some(m) => {
                out.set(index, ItemStatus::Updated);
                touched.push(account);
                updates.push(invoice::ActiveModel {
                    id: Set(m.id),
                    amount_minor: Set(amount.amount_minor),
                    currency: Set(amount.currency),
                    issued_on: Set(issued_on),
                    due_on: Set(due_on),
                    paid_at: Set(paid_at),
                    status: Set(status.as_str().into()),
                    version: Set(m.version + 1),
                    updated_at: Set(now),
                    ..Default::default()
                });
            }
            None => {
                out.set(index, ItemStatus::Accepted);
                touched.push(account);
                inserts.push(invoice::ActiveModel {
                    id: Set(InvoiceId::generate().0),
                    organisation_id: Set(org.0),
                    account_id: Set(account.0),
                    number: Set(number),
                    amount_minor: Set(amount.amount_minor),
                    currency: Set(amount.currency),
                    issued_on: Set(issued_on),
                    due_on: Set(due_on),
                    paid_at: Set(paid_at),
                    status: Set(status.as_str().into()),
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
            let columns = (invoice::Column::Id, invoice::Column::OrganisationId);
            super::write_upserts(tx, org, inserts, updates, columns, &dirty).await
        })
    })
    .await?;
    Ok(out.finish(touched))
}

/// Filters for an account's invoices.
#[derive(Clone, Debug, Default)]
pub struct InvoiceFilter {
    pub statuses: Option<Vec<InvoiceStatus>>,
    pub due_from: Option<NaiveDate>,
    pub due_to: Option<NaiveDate>,
}

fn filtered(org: OrganisationId, account: AccountId, f: &InvoiceFilter) -> Select<invoice::Entity> {
    use invoice::Column as C;
    let mut cond = Condition::all().add(C::OrganisationId.eq(org.0)).add(C::AccountId.eq(account.0));
    if let Some(s) = &f.statuses {
        cond = cond.add(C::Status.is_in(s.iter().map(|s| s.as_str())));
    }
    if let Some(d) = f.due_from {
        cond = cond.add(C::DueOn.gte(d));
    }
    if let Some(d) = f.due_to {
        cond = cond.add(C::DueOn.lte(d));
    }
    invoice::Entity::find().filter(cond)
}

/// A page of an account's invoices, latest due date first.
pub async fn list(
    db: &DatabaseConnection,
    org: OrganisationId,
    account: AccountId,
    filter: &InvoiceFilter,
    page: &PageRequest,
) -> Result<Page<Invoice>> {
    let sort = Sort { column: invoice::Column::DueOn, kind: KeyKind::Date, nullable: false, descending: true };
    page::fetch(
        db,
        filtered(org, account, filter),
        sort,
        Some(invoice::Column::Id),
        page,
        |m| KeyValue::Date(m.due_on),
        |m| m.id,
    )
    .await?
    .try_map(TryInto::try_into)
}

/// How many of an account's invoices match.
pub async fn count(
    db: &DatabaseConnection,
    org: OrganisationId,
    account: AccountId,
    filter: &InvoiceFilter,
) -> Result<u64> {
    Ok(filtered(org, account, filter).count(db).await?)
}

/// The accounts' invoices due since `since` plus every unpaid one (for health).
pub async fn for_accounts(
    db: &DatabaseConnection,
    org: OrganisationId,
    accounts: &[AccountId],
    since: NaiveDate,
) -> Result<Vec<Invoice>> {
    use invoice::Column as C;
    invoice::Entity::find()
        .filter(C::OrganisationId.eq(org.0))
        .filter(C::AccountId.is_in(accounts.iter().map(|a| a.0)))
        .filter(Condition::any().add(C::DueOn.gte(since)).add(C::Status.eq(InvoiceStatus::Open.as_str())))
        .all(db)
        .await?
        .into_iter()
        .map(TryInto::try_into)
        .collect()
}

/// One record of the organisation by id.
pub async fn get(db: &DatabaseConnection, org: OrganisationId, id: InvoiceId) -> Result<Option<Invoice>> {
    invoice::Entity::find_by_id(id.0)
        .filter(invoice::Column::OrganisationId.eq(org.0))
        .one(db)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invoice(status: InvoiceStatus, due: &str, paid: Option<&str>) -> Invoice {
        Invoice {
            id: InvoiceId::generate(),
            organisation: OrganisationId::generate(),
            account: AccountId::generate(),
            number: "1".into(),
            amount: Money { amount_minor: 100, currency: "EUR".into() },
            issued_on: "2026-01-01".parse().unwrap(),
            due_on: due.parse().unwrap(),
            paid_at: paid.map(|p| format!("{p}T12:00:00Z").parse().unwrap()),
            status,
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn days_overdue_is_derived_as_of_a_date() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        // (invoice, as of, expected days overdue, expected days late)
        let cases = [
            (invoice(InvoiceStatus::Open, "2026-02-01", None), "2026-01-20", 0, 0),
            (invoice(InvoiceStatus::Open, "2026-02-01", None), "2026-02-01", 0, 0),
            (invoice(InvoiceStatus::Open, "2026-02-01", None), "2026-03-03", 30, 0),
            (invoice(InvoiceStatus::Paid, "2026-02-01", Some("2026-02-20")), "2026-02-10", 9, 19),
            (invoice(InvoiceStatus::Paid, "2026-02-01", Some("2026-02-20")), "2026-03-10", 0, 19),
            (invoice(InvoiceStatus::Paid, "2026-02-01", Some("2026-01-25")), "2026-03-10", 0, 0),
            (invoice(InvoiceStatus::Void, "2026-02-01", None), "2026-06-01", 0, 0),
        ];
        for (inv, as_of, overdue, late) in cases {
            assert_eq!(inv.days_overdue(d(as_of)), overdue, "{inv:?} as of {as_of}");
            assert_eq!(inv.days_late(), late, "{inv:?}");
        }
    }
}
