//! NPS (0-10) and CSAT (1-5) survey responses.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, Select,
};

use super::{AccountRef, BatchReport, INSERT_CHUNK, ItemStatus, mark_dirty, past_timestamp};
use crate::entities::survey_response;
use crate::enums::stored;
use crate::page::{self, KeyKind, KeyValue, Page, PageRequest, Sort};
use crate::{
    AccountId, Actor, ContactId, Error, ErrorCode, OrganisationId, Result, SurveyKind, SurveyResponseId, contacts,
    values,
};

/// One answer to an NPS or CSAT survey.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SurveyResponse {
    pub id: SurveyResponseId,
    pub organisation: OrganisationId,
    pub account: AccountId,
    pub kind: SurveyKind,
    pub score: i32,
    pub contact: Option<ContactId>,
    pub comment: Option<String>,
    pub responded_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<survey_response::Model> for SurveyResponse {
    type Error = Error;
    fn try_from(m: survey_response::Model) -> Result<Self> {
        Ok(Self {
            id: SurveyResponseId(m.id),
            organisation: OrganisationId(m.organisation_id),
            account: AccountId(m.account_id),
            kind: stored(SurveyKind::parse(&m.kind))?,
            score: m.score,
            contact: m.contact_id.map(ContactId),
            comment: m.comment,
            responded_at: m.responded_at,
            created_at: m.created_at,
        })
    }
}

/// The valid score range of a survey kind.
pub fn score_range(kind: SurveyKind) -> std::ops::RangeInclusive<i32> {
    match kind {
        SurveyKind::Nps => 0..=10,
        SurveyKind::Csat => 1..=5,
    }
}

/// A response as sent.
#[derive(Clone, Debug)]
pub struct SurveyInput {
    pub account: AccountRef,
    pub kind: SurveyKind,
    pub score: i32,
    pub contact: Option<ContactId>,
    pub comment: Option<String>,
    pub responded_at: super::Coerced<DateTime<Utc>>,
    /// Makes a retried item a no-op.
    pub idempotency_key: Option<String>,
}

/// Records survey responses.
pub async fn record(db: &DatabaseConnection, actor: &Actor, items: Vec<SurveyInput>) -> Result<BatchReport> {
    let org = actor.organisation;
    let (mut out, accounts) = super::open_batch(db, actor, &items, |i| &i.account).await?;
    let contact_ids: Vec<ContactId> = items.iter().filter_map(|i| i.contact).collect();
    let known = contacts::by_ids(db, org, &contact_ids).await?;
    let mut valid = Vec::new();
    for (i, s) in items.into_iter().enumerate() {
        let range = score_range(s.kind);
        if !range.contains(&s.score) {
            out.reject(
                i,
                ErrorCode::Invalid,
                &["score"],
                format!("a {} score must be between {} and {}", s.kind, range.start(), range.end()),
            );
        }
        let at = out.check(i, &["respondedAt"], s.responded_at.and_then(past_timestamp));
        let comment =
            out.check(i, &["comment"], s.comment.as_deref().map(|c| values::text(c, values::MAX_TEXT)).transpose());
        let key = out.check(i, &["idempotencyKey"], values::idempotency_key(s.idempotency_key.as_deref()));
        if let Some(c) = s.contact {
            match known.get(&c) {
                None => out.reject(i, ErrorCode::NotFound, &["contactId"], "no such contact"),
                Some(contact) if Some(contact.account) != accounts[i] && accounts[i].is_some() => {
                    out.reject(i, ErrorCode::Invalid, &["contactId"], "contact belongs to another account")
                }
                Some(_) => {}
            }
        }
        if let (Some(account), Some(at), Some(comment), Some(key), true) =
            (accounts[i], at, comment, key, out.is_open(i))
        {
            valid.push((i, account, s.kind, s.score, s.contact, comment, at, key));
        }
    }
    super::reject_repeats(valid.iter().filter_map(|v| v.7.clone().map(|k| (v.0, k))), &["idempotencyKey"], &mut out);
    valid.retain(|v| out.is_open(v.0));

    let keys: Vec<String> = valid.iter().filter_map(|v| v.7.clone()).collect();
    let mut existing: HashMap<String, survey_response::Model> = HashMap::new();
    for chunk in keys.chunks(INSERT_CHUNK) {
        for m in survey_response::Entity::find()
            .filter(survey_response::Column::OrganisationId.eq(org.0))
            .filter(survey_response::Column::IdempotencyKey.is_in(chunk.iter().cloned()))
            .all(db)
            .await?
        {
            if let Some(k) = m.idempotency_key.clone() {
                existing.insert(k, m);
            }
        }
    }
    let now = values::now();
    let (mut inserts, mut touched) = (Vec::new(), Vec::new());
    for (index, account, kind, score, contact, comment, at, key) in valid {
        if let Some(m) = key.as_ref().and_then(|k| existing.get(k)) {
            if m.account_id == account.0 && m.score == score && m.kind == kind.as_str() && m.responded_at == at {
                out.set(index, ItemStatus::Duplicate);
            } else {
                out.reject(
                    index,
                    ErrorCode::Conflict,
                    &["idempotencyKey"],
                    "this idempotency key was already used for another response",
                );
            }
            continue;
        }
        out.set(index, ItemStatus::Accepted);
        touched.push(account);
        inserts.push(survey_response::ActiveModel {
            id: Set(SurveyResponseId::generate().0),
            organisation_id: Set(org.0),
            account_id: Set(account.0),
            kind: Set(kind.as_str().into()),
            score: Set(score),
            contact_id: Set(contact.map(|c| c.0)),
            comment: Set(comment),
            responded_at: Set(at),
            idempotency_key: Set(key),
            created_at: Set(now),
        });
    }
    let dirty = touched.clone();
    crate::db::write::<_, _, _, Error>(db, |tx| {
        Box::pin(async move {
            for chunk in inserts.chunks(INSERT_CHUNK) {
                survey_response::Entity::insert_many(chunk.to_vec()).exec_without_returning(tx).await?;
            }
            mark_dirty(tx, org, &dirty).await
        })
    })
    .await?;
    Ok(out.finish(touched))
}

/// Filters for an account's survey responses.
#[derive(Clone, Debug, Default)]
pub struct SurveyFilter {
    pub kinds: Option<Vec<SurveyKind>>,
    pub responded_from: Option<DateTime<Utc>>,
    pub responded_before: Option<DateTime<Utc>>,
}

fn filtered(org: OrganisationId, account: AccountId, f: &SurveyFilter) -> Select<survey_response::Entity> {
    use survey_response::Column as C;
    let mut cond = Condition::all().add(C::OrganisationId.eq(org.0)).add(C::AccountId.eq(account.0));
    if let Some(k) = &f.kinds {
        cond = cond.add(C::Kind.is_in(k.iter().map(|k| k.as_str())));
    }
    if let Some(t) = f.responded_from {
        cond = cond.add(C::RespondedAt.gte(values::timestamp(t)));
    }
    if let Some(t) = f.responded_before {
        cond = cond.add(C::RespondedAt.lt(values::timestamp(t)));
    }
    survey_response::Entity::find().filter(cond)
}

/// A page of an account's responses, most recent first.
pub async fn list(
    db: &DatabaseConnection,
    org: OrganisationId,
    account: AccountId,
    filter: &SurveyFilter,
    page: &PageRequest,
) -> Result<Page<SurveyResponse>> {
    let sort =
        Sort { column: survey_response::Column::RespondedAt, kind: KeyKind::Time, nullable: false, descending: true };
    page::fetch(
        db,
        filtered(org, account, filter),
        sort,
        Some(survey_response::Column::Id),
        page,
        |m| KeyValue::Time(m.responded_at),
        |m| m.id,
    )
    .await?
    .try_map(TryInto::try_into)
}

/// How many of an account's responses match.
pub async fn count(
    db: &DatabaseConnection,
    org: OrganisationId,
    account: AccountId,
    filter: &SurveyFilter,
) -> Result<u64> {
    Ok(filtered(org, account, filter).count(db).await?)
}

/// The accounts' responses since `since` (for health computation).
pub async fn for_accounts(
    db: &DatabaseConnection,
    org: OrganisationId,
    accounts: &[AccountId],
    since: DateTime<Utc>,
) -> Result<Vec<SurveyResponse>> {
    survey_response::Entity::find()
        .filter(survey_response::Column::OrganisationId.eq(org.0))
        .filter(survey_response::Column::AccountId.is_in(accounts.iter().map(|a| a.0)))
        .filter(survey_response::Column::RespondedAt.gte(since))
        .all(db)
        .await?
        .into_iter()
        .map(TryInto::try_into)
        .collect()
}

/// One record of the organisation by id.
pub async fn get(db: &DatabaseConnection, org: OrganisationId, id: SurveyResponseId) -> Result<Option<SurveyResponse>> {
    survey_response::Entity::find_by_id(id.0)
        .filter(survey_response::Column::OrganisationId.eq(org.0))
        .one(db)
        .await?
        .map(TryInto::try_into)
        .transpose()
}
