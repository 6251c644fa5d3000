//! Relationship assessments (the Relationship Health Score): the account manager's periodic
//! rating of stakeholder sentiment, competitive pressure and strategic alignment.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, Select,
};

use super::{mark_dirty, past_timestamp};
use crate::entities::relationship_assessment;
use crate::page::{self, KeyKind, KeyValue, Page, PageRequest, Sort};
use crate::{AccountId, Actor, AssessmentId, Error, OrganisationId, Problems, Result, UserId, accounts, values};

/// One assessment of an account's relationship, each rating 1 (worst) to 5 (best), except
/// competitive pressure where 5 means the client is heavily courted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assessment {
    pub id: AssessmentId,
    pub organisation: OrganisationId,
    pub account: AccountId,
    pub assessed_by: UserId,
    pub assessed_at: DateTime<Utc>,
    pub stakeholder_sentiment: i16,
    pub competitive_pressure: i16,
    pub strategic_alignment: i16,
    pub notes: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<relationship_assessment::Model> for Assessment {
    fn from(m: relationship_assessment::Model) -> Self {
        Self {
            id: AssessmentId(m.id),
            organisation: OrganisationId(m.organisation_id),
            account: AccountId(m.account_id),
            assessed_by: UserId(m.assessed_by),
            assessed_at: m.assessed_at,
            stakeholder_sentiment: m.stakeholder_sentiment,
            competitive_pressure: m.competitive_pressure,
            strategic_alignment: m.strategic_alignment,
            notes: m.notes,
            created_at: m.created_at,
        }
    }
}

/// An assessment to record.
#[derive(Clone, Debug)]
pub struct NewAssessment {
    pub account: AccountId,
    pub assessed_at: Option<DateTime<Utc>>,
    pub stakeholder_sentiment: i32,
    pub competitive_pressure: i32,
    pub strategic_alignment: i32,
    pub notes: Option<String>,
}

fn rating(v: i32) -> Result<i16, String> {
    if (1..=5).contains(&v) { Ok(v as i16) } else { Err("must be between 1 and 5".into()) }
}

/// Records an assessment by the acting user for an account they may write.
pub async fn record(db: &DatabaseConnection, actor: &Actor, new: NewAssessment) -> Result<Assessment> {
    accounts::writable_parent(db, actor, new.account, "accountId").await?;
    let mut p = Problems::default();
    let sentiment = p.check(&["stakeholderSentiment"], rating(new.stakeholder_sentiment));
    let pressure = p.check(&["competitivePressure"], rating(new.competitive_pressure));
    let alignment = p.check(&["strategicAlignment"], rating(new.strategic_alignment));
    let notes = p.check(&["notes"], new.notes.as_deref().map(|n| values::text(n, values::MAX_TEXT)).transpose());
    let at = p.check(&["assessedAt"], past_timestamp(new.assessed_at.unwrap_or_else(Utc::now)));
    p.finish()?;
    let org = actor.organisation;
    let model = relationship_assessment::ActiveModel {
        id: Set(AssessmentId::generate().0),
        organisation_id: Set(org.0),
        account_id: Set(new.account.0),
        assessed_by: Set(actor.user.0),
        assessed_at: Set(at.unwrap()),
        stakeholder_sentiment: Set(sentiment.unwrap()),
        competitive_pressure: Set(pressure.unwrap()),
        strategic_alignment: Set(alignment.unwrap()),
        notes: Set(notes.unwrap()),
        idempotency_key: Set(None),
        created_at: Set(values::now()),
    };
    let account = new.account;
    let saved = crate::db::write::<_, _, _, Error>(db, |tx| {
        Box::pin(async move {
            let m = relationship_assessment::Entity::insert(model).exec_with_returning(tx).await?;
            mark_dirty(tx, org, &[account]).await?;
            Ok(m)
        })
    })
    .await?;
    Ok(saved.into())
}

fn filtered(org: OrganisationId, account: AccountId) -> Select<relationship_assessment::Entity> {
    relationship_assessment::Entity::find().filter(
        Condition::all()
            .add(relationship_assessment::Column::OrganisationId.eq(org.0))
            .add(relationship_assessment::Column::AccountId.eq(account.0)),
    )
}

/// A page of an account's assessments, most recent first.
pub async fn list(
    db: &DatabaseConnection,
    org: OrganisationId,
    account: AccountId,
    page: &PageRequest,
) -> Result<Page<Assessment>> {
    let sort = Sort {
        column: relationship_assessment::Column::AssessedAt,
        kind: KeyKind::Time,
        nullable: false,
        descending: true,
    };
    page::fetch(
        db,
        filtered(org, account),
        sort,
        Some(relationship_assessment::Column::Id),
        page,
        |m| KeyValue::Time(m.assessed_at),
        |m| m.id,
    )
    .await?
    .try_map(|m| Ok(m.into()))
}

/// How many assessments an account has.
pub async fn count(db: &DatabaseConnection, org: OrganisationId, account: AccountId) -> Result<u64> {
    Ok(filtered(org, account).count(db).await?)
}

/// Every assessment of the accounts (for health computation).
pub async fn for_accounts(
    db: &DatabaseConnection,
    org: OrganisationId,
    accounts: &[AccountId],
) -> Result<Vec<Assessment>> {
    Ok(relationship_assessment::Entity::find()
        .filter(relationship_assessment::Column::OrganisationId.eq(org.0))
        .filter(relationship_assessment::Column::AccountId.is_in(accounts.iter().map(|a| a.0)))
        .all(db)
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
}

/// One record of the organisation by id.
pub async fn get(db: &DatabaseConnection, org: OrganisationId, id: AssessmentId) -> Result<Option<Assessment>> {
    Ok(relationship_assessment::Entity::find_by_id(id.0)
        .filter(relationship_assessment::Column::OrganisationId.eq(org.0))
        .one(db)
        .await?
        .map(Into::into))
}

/// An assessment as a bulk call sends it (the assessor is the caller).
#[derive(Clone, Debug)]
pub struct AssessmentInput {
    pub account: super::AccountRef,
    /// Default now.
    pub assessed_at: Option<super::Coerced<DateTime<Utc>>>,
    pub stakeholder_sentiment: i32,
    pub competitive_pressure: i32,
    pub strategic_alignment: i32,
    pub notes: Option<String>,
    /// Makes a retried item a no-op.
    pub idempotency_key: Option<String>,
}

/// Records up to 5,000 assessments by the caller. Assessments are immutable: a replayed key
/// with the same content is a DUPLICATE, with other content a CONFLICT.
pub async fn record_many(
    db: &DatabaseConnection,
    actor: &Actor,
    items: Vec<AssessmentInput>,
) -> Result<super::BatchReport> {
    use super::{INSERT_CHUNK, ItemStatus, reject_repeats};
    use crate::ErrorCode;
    let org = actor.organisation;
    let (mut out, accounts) = super::open_batch(db, actor, &items, |i| &i.account).await?;
    let now = values::now();
    let mut valid = Vec::new();
    for (i, a) in items.into_iter().enumerate() {
        let sentiment = out.check(i, &["stakeholderSentiment"], rating(a.stakeholder_sentiment));
        let pressure = out.check(i, &["competitivePressure"], rating(a.competitive_pressure));
        let alignment = out.check(i, &["strategicAlignment"], rating(a.strategic_alignment));
        let notes = out.check(i, &["notes"], a.notes.as_deref().map(|n| values::text(n, values::MAX_TEXT)).transpose());
        let at = out.check(i, &["assessedAt"], a.assessed_at.unwrap_or(Ok(now)).and_then(past_timestamp));
        let key = out.check(i, &["idempotencyKey"], values::idempotency_key(a.idempotency_key.as_deref()));
        if let (Some(account), Some(s), Some(p), Some(al), Some(notes), Some(at), Some(key), true) =
            (accounts[i], sentiment, pressure, alignment, notes, at, key, out.is_open(i))
        {
            valid.push((i, account, s, p, al, notes, at, key));
        }
    }
    reject_repeats(valid.iter().filter_map(|v| v.7.clone().map(|k| (v.0, k))), &["idempotencyKey"], &mut out);
    valid.retain(|v| out.is_open(v.0));
    let keys: Vec<String> = valid.iter().filter_map(|v| v.7.clone()).collect();
    let mut existing = std::collections::HashMap::new();
    for chunk in keys.chunks(INSERT_CHUNK) {
        for m in relationship_assessment::Entity::find()
            .filter(relationship_assessment::Column::OrganisationId.eq(org.0))
            .filter(relationship_assessment::Column::IdempotencyKey.is_in(chunk.iter().cloned()))
            .all(db)
            .await?
        {
            if let Some(k) = m.idempotency_key.clone() {
                existing.insert(k, m);
            }
        }
    }
    let (mut inserts, mut touched) = (Vec::new(), Vec::new());
    for (index, account, s, p, al, notes, at, key) in valid {
        if let Some(m) = key.as_ref().and_then(|k| existing.get(k)) {
            let same = m.account_id == account.0
                && m.stakeholder_sentiment == s
                && m.competitive_pressure == p
                && m.strategic_alignment == al
                && m.notes == notes
                && (m.assessed_at == at || m.assessed_at <= now && at == now);
            if same {
                out.set(index, ItemStatus::Duplicate);
            } else {
                out.reject(
                    index,
                    ErrorCode::Conflict,
                    &["idempotencyKey"],
                    "this idempotency key was already used for another assessment",
                );
            }
            continue;
        }
        out.set(index, ItemStatus::Accepted);
        touched.push(account);
        inserts.push(relationship_assessment::ActiveModel {
            id: Set(AssessmentId::generate().0),
            organisation_id: Set(org.0),
            account_id: Set(account.0),
            assessed_by: Set(actor.user.0),
            assessed_at: Set(at),
            stakeholder_sentiment: Set(s),
            competitive_pressure: Set(p),
            strategic_alignment: Set(al),
            notes: Set(notes),
            idempotency_key: Set(key),
            created_at: Set(now),
        });
    }
    let dirty = touched.clone();
    crate::db::write::<_, _, _, Error>(db, |tx| {
        Box::pin(async move {
            for chunk in inserts.chunks(INSERT_CHUNK) {
                relationship_assessment::Entity::insert_many(chunk.to_vec()).exec_without_returning(tx).await?;
            }
            mark_dirty(tx, org, &dirty).await
        })
    })
    .await?;
    Ok(out.finish(touched))
}
