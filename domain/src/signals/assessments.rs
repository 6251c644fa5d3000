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
