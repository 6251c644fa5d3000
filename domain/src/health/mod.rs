//! Account health: derived facts (`facts`), scorecards (`scorecard`), and the service that
//! recomputes scores when signals arrive, keeps their history and explains them.
//!
//! Ingestion marks an account dirty in the same transaction that writes its signals. A
//! background worker (started by the API) recomputes dirty accounts; a read of an account's
//! health recomputes first when the account is still dirty, so a client always reads health
//! that reflects what it has written. Dirty marks live in the database, so several API
//! replicas share the work.

pub mod facts;
pub mod quality;
pub mod scorecard;

use std::collections::HashMap;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Select,
};

use crate::entities::{account, contact, health_dirty, health_score, health_scorecard};
use crate::enums::stored;
use crate::page::{self, KeyKind, KeyValue, Page, PageRequest, Sort};
use crate::signals::{assessments, contracts, invoices, metrics, surveys, tickets};
use crate::store::is_unique_violation;
use crate::{
    AccountId, Actor, ContactLevel, Error, HealthBand, HealthScoreId, OrganisationId, Problems, Result, ScorecardId,
    values,
};
use facts::{Series, Snapshot, Touchpoint};
use scorecard::{Change, Definition, Evaluation};

/// Score rows per INSERT (nine parameters each, well inside SQLite's limit).
const SCORE_INSERT_CHUNK: usize = 500;

/// How far back signals are loaded for a health computation.
pub const LOOKBACK_DAYS: i64 = 400;

/// A named scorecard of an organisation.
#[derive(Clone, Debug, PartialEq)]
pub struct Scorecard {
    pub id: ScorecardId,
    pub organisation: OrganisationId,
    pub name: String,
    pub is_default: bool,
    pub definition: Definition,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<health_scorecard::Model> for Scorecard {
    type Error = Error;
    fn try_from(m: health_scorecard::Model) -> Result<Self> {
        Ok(Self {
            id: ScorecardId(m.id),
            organisation: OrganisationId(m.organisation_id),
            definition: serde_json::from_str(&m.definition).map_err(Error::internal)?,
            name: m.name,
            is_default: m.is_default,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

/// A computed health score, with its explanation and what changed since the one before.
#[derive(Clone, Debug, PartialEq)]
pub struct HealthScore {
    pub id: HealthScoreId,
    pub account: AccountId,
    pub scorecard: ScorecardId,
    pub computed_at: DateTime<Utc>,
    pub score: Option<f64>,
    pub band: Option<HealthBand>,
    pub evaluation: Evaluation,
    pub change: Option<Change>,
    /// What caused the computation (e.g. `signals`, `scorecard`).
    pub trigger: String,
}

/// What is stored as a score's explanation.
#[derive(serde::Serialize, serde::Deserialize)]
struct Explanation {
    evaluation: Evaluation,
    change: Option<Change>,
}

impl TryFrom<health_score::Model> for HealthScore {
    type Error = Error;
    fn try_from(m: health_score::Model) -> Result<Self> {
        let e: Explanation = serde_json::from_str(&m.explanation).map_err(Error::internal)?;
        Ok(Self {
            id: HealthScoreId(m.id),
            account: AccountId(m.account_id),
            scorecard: ScorecardId(m.scorecard_id),
            computed_at: m.computed_at,
            score: m.score,
            band: m.band.as_deref().map(|b| stored(HealthBand::parse(b))).transpose()?,
            evaluation: e.evaluation,
            change: e.change,
            trigger: m.trigger,
        })
    }
}

fn check_definition(d: &Definition) -> Result<()> {
    d.check().map_err(|problems| {
        Error::Invalid(
            problems
                .into_iter()
                .map(|(path, m)| crate::FieldError {
                    field: std::iter::once("definition".to_owned()).chain(path).collect(),
                    message: m,
                    code: crate::ErrorCode::Invalid,
                })
                .collect(),
        )
    })
}

/// Creates the standard scorecard for a new organisation.
pub(crate) async fn create_default<C: ConnectionTrait>(db: &C, org: OrganisationId) -> Result<()> {
    let now = values::now();
    health_scorecard::Entity::insert(health_scorecard::ActiveModel {
        id: Set(ScorecardId::generate().0),
        organisation_id: Set(org.0),
        name: Set("Standard health".into()),
        is_default: Set(true),
        definition: Set(serde_json::to_string(&Definition::standard()).map_err(Error::internal)?),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// The organisation's scorecards, default first.
pub async fn scorecards(db: &DatabaseConnection, org: OrganisationId) -> Result<Vec<Scorecard>> {
    health_scorecard::Entity::find()
        .filter(health_scorecard::Column::OrganisationId.eq(org.0))
        .order_by_desc(health_scorecard::Column::IsDefault)
        .order_by_asc(health_scorecard::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .map(TryInto::try_into)
        .collect()
}

/// Input for a scorecard.
#[derive(Clone, Debug)]
pub struct ScorecardInput {
    pub name: String,
    pub definition: Definition,
    pub make_default: bool,
}

/// Creates a scorecard (admins and managers). Every account's health is recomputed lazily.
pub async fn create_scorecard(db: &DatabaseConnection, actor: &Actor, input: ScorecardInput) -> Result<Scorecard> {
    actor.require_manager()?;
    let mut p = Problems::default();
    let name = p.check(&["name"], values::line(&input.name, values::MAX_LINE));
    p.finish()?;
    check_definition(&input.definition)?;
    let org = actor.organisation;
    let now = values::now();
    let id = ScorecardId::generate();
    let definition = serde_json::to_string(&input.definition).map_err(Error::internal)?;
    let result = crate::db::write::<_, _, _, Error>(db, |tx| {
        Box::pin(async move {
            if input.make_default {
                clear_default(tx, org).await?;
            }
            health_scorecard::Entity::insert(health_scorecard::ActiveModel {
                id: Set(id.0),
                organisation_id: Set(org.0),
                name: Set(name.unwrap()),
                is_default: Set(input.make_default),
                definition: Set(definition),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
            })
            .exec_without_returning(tx)
            .await?;
            mark_all_dirty(tx, org).await
        })
    })
    .await;
    match result {
        Err(sea_orm::TransactionError::Transaction(Error::Internal(e)))
            if e.downcast_ref::<sea_orm::DbErr>().is_some_and(is_unique_violation) =>
        {
            return Err(Error::conflict(&["name"], "a scorecard with this name already exists"));
        }
        other => other?,
    }
    scorecard(db, org, id).await?.ok_or_else(|| Error::not_found("scorecard", &["id"]))
}

/// Changes a scorecard's name, definition, or makes it the default.
pub async fn update_scorecard(
    db: &DatabaseConnection,
    actor: &Actor,
    id: ScorecardId,
    name: Option<String>,
    definition: Option<Definition>,
    make_default: bool,
    expected_version: Option<i32>,
) -> Result<Scorecard> {
    actor.require_manager()?;
    let org = actor.organisation;
    let current = scorecard(db, org, id).await?.ok_or_else(|| Error::not_found("scorecard", &["id"]))?;
    if let Some(v) = expected_version.filter(|v| *v != current.version) {
        return Err(Error::stale("scorecard", v, current.version));
    }
    let mut p = Problems::default();
    let name = name.as_deref().and_then(|n| p.check(&["name"], values::line(n, values::MAX_LINE)));
    p.finish()?;
    if let Some(d) = &definition {
        check_definition(d)?;
    }
    let mut changes = health_scorecard::ActiveModel {
        version: Set(current.version + 1),
        updated_at: Set(values::now()),
        ..Default::default()
    };
    if let Some(n) = name {
        changes.name = Set(n);
    }
    if let Some(d) = &definition {
        changes.definition = Set(serde_json::to_string(d).map_err(Error::internal)?);
    }
    if make_default {
        changes.is_default = Set(true);
    }
    let version = current.version;
    let saved = crate::db::write::<_, _, _, Error>(db, |tx| {
        Box::pin(async move {
            if make_default {
                clear_default(tx, org).await?;
            }
            let done = health_scorecard::Entity::update_many()
                .set(changes)
                .filter(health_scorecard::Column::OrganisationId.eq(org.0))
                .filter(health_scorecard::Column::Id.eq(id.0))
                .filter(health_scorecard::Column::Version.eq(version))
                .exec(tx)
                .await?
                .rows_affected
                == 1;
            if done {
                mark_all_dirty(tx, org).await?;
            }
            Ok(done)
        })
    })
    .await
    .map_err(|e| match e {
        sea_orm::TransactionError::Transaction(Error::Internal(inner))
            if inner.downcast_ref::<sea_orm::DbErr>().is_some_and(is_unique_violation) =>
        {
            Error::conflict(&["name"], "a scorecard with this name already exists")
        }
        other => other.into(),
    })?;
    if !saved {
        return Err(Error::conflict(&["expectedVersion"], "scorecard was changed concurrently; reload and retry"));
    }
    scorecard(db, org, id).await?.ok_or_else(|| Error::not_found("scorecard", &["id"]))
}

async fn clear_default<C: ConnectionTrait>(db: &C, org: OrganisationId) -> Result<()> {
    health_scorecard::Entity::update_many()
        .col_expr(health_scorecard::Column::IsDefault, sea_orm::sea_query::Expr::value(false))
        .filter(health_scorecard::Column::OrganisationId.eq(org.0))
        .exec(db)
        .await?;
    Ok(())
}

async fn mark_all_dirty<C: ConnectionTrait>(db: &C, org: OrganisationId) -> Result<()> {
    let ids: Vec<AccountId> = account::Entity::find()
        .select_only()
        .column(account::Column::Id)
        .filter(account::Column::OrganisationId.eq(org.0))
        .into_tuple::<uuid::Uuid>()
        .all(db)
        .await?
        .into_iter()
        .map(AccountId)
        .collect();
    crate::signals::mark_dirty(db, org, &ids).await
}

/// One scorecard of the organisation.
pub async fn scorecard(db: &DatabaseConnection, org: OrganisationId, id: ScorecardId) -> Result<Option<Scorecard>> {
    health_scorecard::Entity::find_by_id(id.0)
        .filter(health_scorecard::Column::OrganisationId.eq(org.0))
        .one(db)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

/// What a set of scorecards needs from the metric series: which metrics, how many days back.
pub fn metric_needs(cards: &[Scorecard]) -> (Vec<String>, i64) {
    let measures: Vec<_> = cards.iter().flat_map(|c| c.definition.measures.iter()).collect();
    let mut keys: Vec<String> =
        measures.iter().flat_map(|m| m.metric.iter().chain(&m.activity_metrics)).cloned().collect();
    keys.sort();
    keys.dedup();
    let days = measures
        .iter()
        .map(|m| {
            if m.activity_metrics.is_empty() {
                m.metric.as_ref().map_or(0, |_| m.window_days.unwrap_or(30) + m.baseline_days.unwrap_or(90))
            } else {
                LOOKBACK_DAYS
            }
        })
        .max()
        .unwrap_or(0)
        + 1;
    (keys, days)
}

/// Loads what the scorecards need to know about one account (see [`load_snapshots`]).
pub async fn load_snapshot(
    db: &DatabaseConnection,
    org: OrganisationId,
    account: AccountId,
    as_of: DateTime<Utc>,
    metric_keys: &[String],
    metric_days: i64,
) -> Result<Snapshot> {
    let mut all = load_snapshots(db, org, &[account], as_of, metric_keys, metric_days).await?;
    Ok(all.remove(&account).unwrap_or_default())
}

/// Loads what the scorecards need to know about many accounts at once, one query per kind of
/// signal: metric series for `metric_days` back, the other signals for `LOOKBACK_DAYS`.
pub async fn load_snapshots(
    db: &DatabaseConnection,
    org: OrganisationId,
    accounts: &[AccountId],
    as_of: DateTime<Utc>,
    metric_keys: &[String],
    metric_days: i64,
) -> Result<HashMap<AccountId, Snapshot>> {
    load_signals(
        db,
        org,
        accounts,
        metric_keys,
        as_of - Duration::days(metric_days),
        as_of - Duration::days(LOOKBACK_DAYS),
    )
    .await
}

/// Loads the signals of many accounts: metric series (only `metric_keys`) observed after
/// `metric_since`, the other signals after `since`; one query per kind of signal.
pub(crate) async fn load_signals(
    db: &DatabaseConnection,
    org: OrganisationId,
    accounts: &[AccountId],
    metric_keys: &[String],
    metric_since: DateTime<Utc>,
    since: DateTime<Utc>,
) -> Result<HashMap<AccountId, Snapshot>> {
    let mut out: HashMap<AccountId, Snapshot> = accounts.iter().map(|a| (*a, Snapshot::default())).collect();
    let definitions: Vec<_> =
        metrics::definitions(db, org).await?.into_iter().filter(|d| metric_keys.contains(&d.key)).collect();
    let ids: Vec<_> = definitions.iter().map(|d| d.id).collect();
    let series = async {
        if ids.is_empty() {
            Ok(HashMap::new())
        } else {
            metrics::series_for_accounts(db, org, accounts, &ids, metric_since).await
        }
    };
    // The kinds are independent: their queries run concurrently on separate pooled connections
    // (decoding a large series overlaps with the database answering the others).
    let (
        found,
        mut earlier,
        mut attributes,
        mut series,
        tickets,
        invoices,
        surveys,
        assessments,
        contracts,
        touchpoints,
    ) = tokio::try_join!(
        crate::accounts::by_ids(db, org, accounts),
        last_activity_before(db, org, accounts, since),
        crate::attributes::for_accounts(db, org, accounts),
        series,
        tickets::for_accounts(db, org, accounts, since),
        invoices::for_accounts(db, org, accounts, since.date_naive()),
        surveys::for_accounts(db, org, accounts, since),
        assessments::for_accounts(db, org, accounts),
        contracts::for_accounts(db, org, accounts),
        touchpoints(db, org, accounts, since),
    )?;
    for (account, snapshot) in out.iter_mut() {
        snapshot.history_from = Some(since);
        snapshot.last_activity_before = earlier.remove(account);
        snapshot.account = found.get(account).map(facts::AccountFacts::from);
        snapshot.attributes = attributes.remove(account).unwrap_or_default();
        for def in &definitions {
            snapshot.metrics.insert(
                def.key.clone(),
                Series {
                    aggregation: Some(def.aggregation),
                    direction: Some(def.direction),
                    points: series.remove(&(*account, def.id)).unwrap_or_default(),
                },
            );
        }
    }
    for t in tickets {
        out.entry(t.account).or_default().tickets.push(t);
    }
    for i in invoices {
        out.entry(i.account).or_default().invoices.push(i);
    }
    for s in surveys {
        out.entry(s.account).or_default().surveys.push(s);
    }
    for a in assessments {
        out.entry(a.account).or_default().assessments.push(a);
    }
    for c in contracts {
        out.entry(c.account).or_default().contract_changes.push(c);
    }
    for (account, t) in touchpoints {
        out.entry(account).or_default().touchpoints.push(t);
    }
    Ok(out)
}

/// Each account's last client interaction (not an internal note) before `before`: one grouped
/// query, so silence longer than the loaded history still counts.
async fn last_activity_before(
    db: &DatabaseConnection,
    org: OrganisationId,
    accounts: &[AccountId],
    before: DateTime<Utc>,
) -> Result<HashMap<AccountId, DateTime<Utc>>> {
    use crate::entities::interaction;
    let mut out = HashMap::new();
    for chunk in accounts.chunks(1000) {
        let rows: Vec<(uuid::Uuid, Option<DateTime<Utc>>)> = interaction::Entity::find()
            .select_only()
            .column(interaction::Column::AccountId)
            .column_as(interaction::Column::OccurredAt.max(), "last")
            .filter(interaction::Column::OrganisationId.eq(org.0))
            .filter(interaction::Column::AccountId.is_in(chunk.iter().map(|a| a.0)))
            .filter(interaction::Column::OccurredAt.lt(values::timestamp(before)))
            .filter(interaction::Column::ArchivedAt.is_null())
            .filter(interaction::Column::Kind.ne(crate::InteractionKind::Note.as_str()))
            .filter(interaction::Column::Direction.ne(crate::Direction::Internal.as_str()))
            .group_by(interaction::Column::AccountId)
            .into_tuple()
            .all(db)
            .await?;
        out.extend(rows.into_iter().filter_map(|(a, t)| t.map(|t| (AccountId(a), t))));
    }
    Ok(out)
}

async fn touchpoints(
    db: &DatabaseConnection,
    org: OrganisationId,
    accounts: &[AccountId],
    since: DateTime<Utc>,
) -> Result<Vec<(AccountId, Touchpoint)>> {
    use crate::entities::{interaction, interaction_contact};
    use sea_orm::sea_query::{Expr, ExprTrait as _, JoinType, Query};
    // One query, one thin row per (interaction, participating contact): the interaction's
    // time and the contact's level (NULL for interactions without client participants).
    let (i, ic, c) = (interaction::Entity, interaction_contact::Entity, contact::Entity);
    let mut q = Query::select();
    q.column((i, interaction::Column::Id))
        .column((i, interaction::Column::AccountId))
        .column((i, interaction::Column::OccurredAt))
        .column((c, contact::Column::Level))
        .column((i, interaction::Column::Kind))
        .column((i, interaction::Column::Direction))
        .from(i)
        .join(
            JoinType::LeftJoin,
            ic,
            // On the primary key (interaction_id, contact_id) alone: with the organisation in the
            // condition SQLite's planner picked the (organisation_id, contact_id) index and
            // scanned every participant of the organisation per interaction. Tenancy holds:
            // interactions are filtered by organisation and participants reference them by
            // composite foreign key.
            Expr::col((ic, interaction_contact::Column::InteractionId)).equals((i, interaction::Column::Id)),
        )
        .join(
            JoinType::LeftJoin,
            c,
            Condition::all()
                .add(
                    Expr::col((c, contact::Column::OrganisationId))
                        .equals((ic, interaction_contact::Column::OrganisationId)),
                )
                .add(Expr::col((c, contact::Column::Id)).equals((ic, interaction_contact::Column::ContactId))),
        )
        .and_where(Expr::col((i, interaction::Column::OrganisationId)).eq(org.0))
        .and_where(Expr::col((i, interaction::Column::AccountId)).is_in(accounts.iter().map(|a| a.0)))
        .and_where(Expr::col((i, interaction::Column::OccurredAt)).gte(values::timestamp(since)))
        .and_where(Expr::col((i, interaction::Column::ArchivedAt)).is_null());
    let rows = db.query_all_raw(db.get_database_backend().build(&q)).await?;
    let mut by_interaction: HashMap<uuid::Uuid, (AccountId, Touchpoint)> = HashMap::new();
    for row in rows {
        let id: uuid::Uuid = row.try_get_by_index(0)?;
        let account: uuid::Uuid = row.try_get_by_index(1)?;
        let at: DateTime<Utc> = row.try_get_by_index(2)?;
        let level: Option<String> = row.try_get_by_index(3)?;
        let kind: String = row.try_get_by_index(4)?;
        let direction: String = row.try_get_by_index(5)?;
        let (kind, direction) =
            (stored(crate::InteractionKind::parse(&kind))?, stored(crate::Direction::parse(&direction))?);
        let entry = by_interaction
            .entry(id)
            .or_insert_with(|| (AccountId(account), Touchpoint { at, levels: Vec::new(), kind, direction }));
        if let Some(l) = level.as_deref().and_then(|l| ContactLevel::parse(l).ok()) {
            entry.1.levels.push(l);
        }
    }
    Ok(by_interaction.into_values().collect())
}

/// Recomputes an account's health with every scorecard of its organisation (see
/// [`recompute_many`]).
pub async fn recompute(db: &DatabaseConnection, org: OrganisationId, account: AccountId, trigger: &str) -> Result<()> {
    recompute_many(db, org, &[account], trigger).await
}

/// Recomputes the health of accounts of one organisation with every scorecard: stores the
/// scores that changed, updates the accounts' default score, and clears their dirty marks.
/// Snapshots are loaded for all accounts together, and everything is written in one
/// transaction.
pub async fn recompute_many(
    db: &DatabaseConnection,
    org: OrganisationId,
    accounts: &[AccountId],
    trigger: &str,
) -> Result<()> {
    if accounts.is_empty() {
        return Ok(());
    }
    let mut accounts = accounts.to_vec();
    accounts.sort();
    accounts.dedup();
    let started = values::now();
    // The marks as they are before the signals are read: only those exact marks are cleared at
    // the end, so signals written meanwhile (which move the mark) get scored by another pass.
    let marks: Vec<(AccountId, DateTime<Utc>)> = health_dirty::Entity::find()
        .filter(health_dirty::Column::OrganisationId.eq(org.0))
        .filter(health_dirty::Column::AccountId.is_in(accounts.iter().map(|a| a.0)))
        .all(db)
        .await?
        .into_iter()
        .map(|d| (AccountId(d.account_id), d.marked_at))
        .collect();
    let cards = scorecards(db, org).await?;
    let (keys, days) = metric_needs(&cards);
    let mut snapshots = load_snapshots(db, org, &accounts, started, &keys, days).await?;
    // Per account: (scorecard, is it the default, its evaluation).
    type PerCard = Vec<(ScorecardId, bool, Evaluation)>;
    let evaluations: Vec<(AccountId, PerCard)> = accounts
        .iter()
        .map(|a| {
            let snapshot = snapshots.remove(a).unwrap_or_default();
            let per_card = cards
                .iter()
                .map(|c| (c.id, c.is_default, scorecard::evaluate(&c.definition, &snapshot, started)))
                .collect();
            (*a, per_card)
        })
        .collect();
    let trigger = trigger.to_owned();
    crate::db::write::<_, _, _, Error>(db, |tx| {
        Box::pin(async move {
            let mut rows = Vec::new();
            // Accounts in id order: writing each account row first serialises concurrent
            // recomputes of one account (a row lock on PostgreSQL, the write lock on SQLite), so
            // the later one sees the earlier one's score below and stores nothing twice.
            for (account, per_card) in evaluations {
                let (score, band) = per_card
                    .iter()
                    .find(|(_, is_default, _)| *is_default)
                    .map_or((None, None), |(_, _, e)| (e.score, e.band.map(|b| b.as_str().to_owned())));
                account::Entity::update_many()
                    .col_expr(account::Column::HealthScore, sea_orm::sea_query::Expr::value(score))
                    .col_expr(account::Column::HealthBand, sea_orm::sea_query::Expr::value(band))
                    .filter(account::Column::OrganisationId.eq(org.0))
                    .filter(account::Column::Id.eq(account.0))
                    .exec(tx)
                    .await?;
                for (card, _, evaluation) in per_card {
                    let previous = latest(tx, org, account, card).await?;
                    if previous.as_ref().is_some_and(|p| p.evaluation == evaluation) {
                        continue;
                    }
                    let change = previous.as_ref().map(|p| scorecard::compare(&p.evaluation, &evaluation));
                    let explanation = serde_json::to_string(&Explanation { evaluation: evaluation.clone(), change })
                        .map_err(Error::internal)?;
                    rows.push(health_score::ActiveModel {
                        id: Set(HealthScoreId::generate().0),
                        organisation_id: Set(org.0),
                        account_id: Set(account.0),
                        scorecard_id: Set(card.0),
                        computed_at: Set(started),
                        score: Set(evaluation.score),
                        band: Set(evaluation.band.map(|b| b.as_str().to_owned())),
                        explanation: Set(explanation),
                        trigger: Set(trigger.clone()),
                    });
                }
            }
            for chunk in rows.chunks(SCORE_INSERT_CHUNK) {
                health_score::Entity::insert_many(chunk.to_vec()).exec_without_returning(tx).await?;
            }
            if !marks.is_empty() {
                let mut observed = Condition::any();
                for (account, mark) in &marks {
                    observed = observed.add(
                        Condition::all()
                            .add(health_dirty::Column::AccountId.eq(account.0))
                            .add(health_dirty::Column::MarkedAt.eq(*mark)),
                    );
                }
                health_dirty::Entity::delete_many()
                    .filter(health_dirty::Column::OrganisationId.eq(org.0))
                    .filter(observed)
                    .exec(tx)
                    .await?;
            }
            Ok(())
        })
    })
    .await?;
    Ok(())
}

/// Recomputes up to `limit` dirty accounts of any organisation (the background worker's step),
/// one batch per organisation. Returns how many were processed.
pub async fn recompute_dirty(db: &DatabaseConnection, limit: u64) -> Result<usize> {
    let dirty = health_dirty::Entity::find().order_by_asc(health_dirty::Column::MarkedAt).limit(limit).all(db).await?;
    let mut by_org: HashMap<OrganisationId, Vec<AccountId>> = HashMap::new();
    for d in &dirty {
        by_org.entry(OrganisationId(d.organisation_id)).or_default().push(AccountId(d.account_id));
    }
    for (org, accounts) in by_org {
        let t = Instant::now();
        recompute_many(db, org, &accounts, "signals").await?;
        tracing::debug!(accounts = accounts.len(), elapsed_us = t.elapsed().as_micros() as u64, "health recomputed");
    }
    Ok(dirty.len())
}

/// Whether an account's health is stale.
pub async fn is_dirty(db: &DatabaseConnection, org: OrganisationId, account: AccountId) -> Result<bool> {
    Ok(health_dirty::Entity::find_by_id((org.0, account.0)).one(db).await?.is_some())
}

async fn latest<C: ConnectionTrait>(
    db: &C,
    org: OrganisationId,
    account: AccountId,
    card: ScorecardId,
) -> Result<Option<HealthScore>> {
    history_select(org, account, card)
        .order_by_desc(health_score::Column::ComputedAt)
        .order_by_desc(health_score::Column::Id)
        .one(db)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

fn history_select(org: OrganisationId, account: AccountId, card: ScorecardId) -> Select<health_score::Entity> {
    health_score::Entity::find()
        .filter(health_score::Column::OrganisationId.eq(org.0))
        .filter(health_score::Column::AccountId.eq(account.0))
        .filter(health_score::Column::ScorecardId.eq(card.0))
}

/// Resolves `card` or the organisation's default scorecard.
async fn card_or_default(
    db: &DatabaseConnection,
    org: OrganisationId,
    card: Option<ScorecardId>,
) -> Result<Option<ScorecardId>> {
    match card {
        Some(c) => Ok(scorecard(db, org, c).await?.map(|s| s.id)),
        None => Ok(health_scorecard::Entity::find()
            .filter(health_scorecard::Column::OrganisationId.eq(org.0))
            .filter(health_scorecard::Column::IsDefault.eq(true))
            .one(db)
            .await?
            .map(|m| ScorecardId(m.id))),
    }
}

/// An account's current health with a scorecard (see [`current_many`]).
pub async fn current(
    db: &DatabaseConnection,
    org: OrganisationId,
    account: AccountId,
    card: Option<ScorecardId>,
) -> Result<Option<HealthScore>> {
    Ok(current_many(db, org, &[account], card).await?.remove(&account))
}

/// Many accounts' current health with a scorecard (the default when `None`), in a constant
/// number of queries: accounts whose signals changed since their last computation (or that were
/// never computed) are recomputed first, together.
pub async fn current_many(
    db: &DatabaseConnection,
    org: OrganisationId,
    accounts: &[AccountId],
    card: Option<ScorecardId>,
) -> Result<HashMap<AccountId, HealthScore>> {
    let Some(card) = card_or_default(db, org, card).await? else { return Ok(HashMap::new()) };
    let dirty: Vec<AccountId> = health_dirty::Entity::find()
        .filter(health_dirty::Column::OrganisationId.eq(org.0))
        .filter(health_dirty::Column::AccountId.is_in(accounts.iter().map(|a| a.0)))
        .all(db)
        .await?
        .into_iter()
        .map(|d| AccountId(d.account_id))
        .collect();
    recompute_many(db, org, &dirty, "read").await?;
    let mut found = latest_many(db, org, accounts, card).await?;
    // Never computed (e.g. accounts without signals yet): compute once now.
    let missing: Vec<AccountId> = accounts.iter().copied().filter(|a| !found.contains_key(a)).collect();
    if !missing.is_empty() {
        recompute_many(db, org, &missing, "read").await?;
        found.extend(latest_many(db, org, &missing, card).await?);
    }
    Ok(found)
}

/// The latest stored score of each account with a scorecard, in two queries.
async fn latest_many(
    db: &DatabaseConnection,
    org: OrganisationId,
    accounts: &[AccountId],
    card: ScorecardId,
) -> Result<HashMap<AccountId, HealthScore>> {
    if accounts.is_empty() {
        return Ok(HashMap::new());
    }
    let newest: Vec<(uuid::Uuid, Option<DateTime<Utc>>)> = health_score::Entity::find()
        .select_only()
        .column(health_score::Column::AccountId)
        .column_as(health_score::Column::ComputedAt.max(), "newest")
        .filter(health_score::Column::OrganisationId.eq(org.0))
        .filter(health_score::Column::ScorecardId.eq(card.0))
        .filter(health_score::Column::AccountId.is_in(accounts.iter().map(|a| a.0)))
        .group_by(health_score::Column::AccountId)
        .into_tuple()
        .all(db)
        .await?;
    let mut wanted = Condition::any();
    for (account, at) in &newest {
        if let Some(at) = at {
            wanted = wanted.add(
                Condition::all()
                    .add(health_score::Column::AccountId.eq(*account))
                    .add(health_score::Column::ComputedAt.eq(*at)),
            );
        }
    }
    if newest.is_empty() {
        return Ok(HashMap::new());
    }
    let mut out: HashMap<AccountId, HealthScore> = HashMap::new();
    let rows = health_score::Entity::find()
        .filter(health_score::Column::OrganisationId.eq(org.0))
        .filter(health_score::Column::ScorecardId.eq(card.0))
        .filter(wanted)
        .order_by_asc(health_score::Column::Id)
        .all(db)
        .await?;
    // Ids are time-ordered: on a tie in computed_at the later row wins.
    for row in rows {
        let score = HealthScore::try_from(row)?;
        out.insert(score.account, score);
    }
    Ok(out)
}

/// An account's score history with a scorecard, newest first.
pub async fn history(
    db: &DatabaseConnection,
    org: OrganisationId,
    account: AccountId,
    card: Option<ScorecardId>,
    page: &PageRequest,
) -> Result<Page<HealthScore>> {
    let Some(card) = card_or_default(db, org, card).await? else {
        return Ok(Page { edges: Vec::new(), has_next_page: false, has_previous_page: false });
    };
    if is_dirty(db, org, account).await? {
        recompute(db, org, account, "read").await?;
    }
    let sort =
        Sort { column: health_score::Column::ComputedAt, kind: KeyKind::Time, nullable: false, descending: true };
    page::fetch(
        db,
        history_select(org, account, card),
        sort,
        Some(health_score::Column::Id),
        page,
        |m| KeyValue::Time(m.computed_at),
        |m| m.id,
    )
    .await?
    .try_map(TryInto::try_into)
}

/// How many scores an account's history holds for a scorecard.
pub async fn history_count(
    db: &DatabaseConnection,
    org: OrganisationId,
    account: AccountId,
    card: Option<ScorecardId>,
) -> Result<u64> {
    let Some(card) = card_or_default(db, org, card).await? else { return Ok(0) };
    Ok(history_select(org, account, card).count(db).await?)
}

/// One stored health score of the organisation by id.
pub async fn score(db: &DatabaseConnection, org: OrganisationId, id: HealthScoreId) -> Result<Option<HealthScore>> {
    health_score::Entity::find_by_id(id.0)
        .filter(health_score::Column::OrganisationId.eq(org.0))
        .one(db)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

/// An account's health with a scorecard (the default when `None`) as of a past moment,
/// computed from what was known then and not stored: the same snapshot and scorecard as the
/// live path, with every signal after `as_of` ignored and the contract as it stood then.
pub async fn as_of(
    db: &DatabaseConnection,
    org: OrganisationId,
    account: AccountId,
    card: Option<ScorecardId>,
    as_of: DateTime<Utc>,
) -> Result<Option<HealthScore>> {
    let card = match card {
        Some(id) => scorecard(db, org, id).await?,
        None => scorecards(db, org).await?.into_iter().find(|c| c.is_default),
    };
    let Some(card) = card else { return Ok(None) };
    let (keys, days) = metric_needs(std::slice::from_ref(&card));
    let snapshot = load_snapshot(db, org, account, as_of, &keys, days).await?;
    // The snapshot carries the account when it is one of the organisation's.
    if snapshot.account.is_none() {
        return Ok(None);
    }
    let evaluation = scorecard::evaluate(&card.definition, &snapshot, as_of);
    Ok(Some(HealthScore {
        id: HealthScoreId::generate(),
        account,
        scorecard: card.id,
        computed_at: as_of,
        score: evaluation.score,
        band: evaluation.band,
        evaluation,
        change: None,
        trigger: "as_of".into(),
    }))
}
