//! The communication log of a risk: updates given to the account team (internal) or the client,
//! with their channel, author and time. The time since the last client update is what the
//! client's anxiety grows with.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
};

use crate::entities::risk_update;
use crate::enums::stored;
use crate::page::{self, KeyKind, KeyValue, Page, PageRequest, Sort};
use crate::{
    AccountId, Actor, Error, OrganisationId, Problems, Result, RiskId, RiskUpdateId, UpdateAudience, UpdateChannel,
    UserId, values,
};

/// One entry of a risk's communication log.
#[derive(Clone, Debug, PartialEq)]
pub struct RiskUpdate {
    pub id: RiskUpdateId,
    pub risk: RiskId,
    pub account: AccountId,
    pub audience: UpdateAudience,
    pub channel: UpdateChannel,
    pub body: String,
    pub author: UserId,
    /// When it was given (may be earlier than when it was logged).
    pub at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<risk_update::Model> for RiskUpdate {
    type Error = Error;
    fn try_from(m: risk_update::Model) -> Result<Self> {
        Ok(Self {
            id: RiskUpdateId(m.id),
            risk: RiskId(m.risk_id),
            account: AccountId(m.account_id),
            audience: stored(UpdateAudience::parse(&m.audience))?,
            channel: stored(UpdateChannel::parse(&m.channel))?,
            body: m.body,
            author: UserId(m.author_id),
            at: m.at,
            created_at: m.created_at,
        })
    }
}

/// An update to log.
#[derive(Clone, Debug)]
pub struct NewUpdate {
    pub risk: RiskId,
    pub audience: UpdateAudience,
    pub channel: UpdateChannel,
    pub body: String,
    /// When it was given; now when absent. Not in the future (it may precede the risk: a
    /// conversation logged when the risk was raised later).
    pub at: Option<DateTime<Utc>>,
}

/// Logs an update on a risk whose account the actor may write (also after the risk closed: a
/// last word to the client belongs in the log).
pub async fn post(db: &DatabaseConnection, actor: &Actor, new: NewUpdate) -> Result<RiskUpdate> {
    let risk = super::writable(db, actor, new.risk).await?;
    let mut p = Problems::default();
    let body = p.check(&["body"], values::text(&new.body, values::MAX_TEXT));
    let now = values::now();
    let at = new.at.map(values::timestamp).unwrap_or(now);
    if at > now + Duration::minutes(5) {
        p.push(&["at"], "must not be in the future");
    }
    p.finish()?;
    let id = RiskUpdateId::generate();
    risk_update::Entity::insert(risk_update::ActiveModel {
        id: Set(id.0),
        organisation_id: Set(actor.organisation.0),
        risk_id: Set(risk.id.0),
        account_id: Set(risk.account.0),
        audience: Set(new.audience.as_str().into()),
        channel: Set(new.channel.as_str().into()),
        body: Set(body.unwrap()),
        author_id: Set(actor.user.0),
        at: Set(at),
        created_at: Set(now),
    })
    .exec_without_returning(db)
    .await?;
    get(db, actor.organisation, id).await?.ok_or_else(|| Error::not_found("update", &["id"]))
}

/// One update.
pub async fn get(db: &DatabaseConnection, org: OrganisationId, id: RiskUpdateId) -> Result<Option<RiskUpdate>> {
    risk_update::Entity::find_by_id(id.0)
        .filter(risk_update::Column::OrganisationId.eq(org.0))
        .one(db)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

fn of_risk(
    org: OrganisationId,
    risk: RiskId,
    audience: Option<UpdateAudience>,
) -> sea_orm::Select<risk_update::Entity> {
    let mut q = risk_update::Entity::find()
        .filter(risk_update::Column::OrganisationId.eq(org.0))
        .filter(risk_update::Column::RiskId.eq(risk.0));
    if let Some(a) = audience {
        q = q.filter(risk_update::Column::Audience.eq(a.as_str()));
    }
    q
}

/// A risk's updates, newest first.
pub async fn list(
    db: &DatabaseConnection,
    org: OrganisationId,
    risk: RiskId,
    audience: Option<UpdateAudience>,
    page: &PageRequest,
) -> Result<Page<RiskUpdate>> {
    let sort = Sort { column: risk_update::Column::At, kind: KeyKind::Time, nullable: false, descending: true };
    page::fetch(
        db,
        of_risk(org, risk, audience),
        sort,
        Some(risk_update::Column::Id),
        page,
        |m| KeyValue::Time(m.at),
        |m| m.id,
    )
    .await?
    .try_map(TryInto::try_into)
}

/// How many updates a risk has.
pub async fn count(
    db: &DatabaseConnection,
    org: OrganisationId,
    risk: RiskId,
    audience: Option<UpdateAudience>,
) -> Result<u64> {
    Ok(of_risk(org, risk, audience).count(db).await?)
}

/// The time of the latest update of each risk for an audience (risks without one are absent).
pub async fn latest(
    db: &DatabaseConnection,
    org: OrganisationId,
    risks: &[RiskId],
    audience: UpdateAudience,
) -> Result<HashMap<RiskId, DateTime<Utc>>> {
    let mut out = HashMap::new();
    for chunk in risks.chunks(500) {
        let rows: Vec<(uuid::Uuid, Option<DateTime<Utc>>)> = risk_update::Entity::find()
            .select_only()
            .column(risk_update::Column::RiskId)
            .column_as(risk_update::Column::At.max(), "latest")
            .filter(risk_update::Column::OrganisationId.eq(org.0))
            .filter(risk_update::Column::RiskId.is_in(chunk.iter().map(|r| r.0)))
            .filter(risk_update::Column::Audience.eq(audience.as_str()))
            .group_by(risk_update::Column::RiskId)
            .into_tuple()
            .all(db)
            .await?;
        out.extend(rows.into_iter().filter_map(|(r, t)| t.map(|t| (RiskId(r), t))));
    }
    Ok(out)
}

/// Every update of an account's risks (for post-mortem timelines), optionally of one risk.
pub(crate) async fn of_account(
    db: &DatabaseConnection,
    org: OrganisationId,
    account: AccountId,
    risk: Option<RiskId>,
) -> Result<Vec<RiskUpdate>> {
    let mut q = risk_update::Entity::find()
        .filter(risk_update::Column::OrganisationId.eq(org.0))
        .filter(risk_update::Column::AccountId.eq(account.0));
    if let Some(r) = risk {
        q = q.filter(risk_update::Column::RiskId.eq(r.0));
    }
    q.all(db).await?.into_iter().map(TryInto::try_into).collect()
}
