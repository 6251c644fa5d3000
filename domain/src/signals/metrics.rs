//! Metric definitions and their observations (the usage and engagement series).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Statement, Value,
};

use super::{AccountRef, BatchReport, INSERT_CHUNK, ItemStatus, MAX_BATCH, mark_dirty, past_timestamp};
use crate::entities::{metric_definition, metric_point};
use crate::enums::stored;
use crate::page::{self, KeyKind, KeyValue, Page, PageRequest, Sort};
use crate::store::is_unique_violation;
use crate::{
    AccountId, Actor, Error, ErrorCode, MetricAggregation, MetricDirection, MetricId, MetricUnit, OrganisationId,
    Problems, Result, values,
};

/// A metric an organisation tracks, e.g. `usage.active_users`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricDefinition {
    pub id: MetricId,
    pub organisation: OrganisationId,
    pub key: String,
    pub name: String,
    pub unit: MetricUnit,
    pub direction: MetricDirection,
    pub aggregation: MetricAggregation,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<metric_definition::Model> for MetricDefinition {
    type Error = Error;
    fn try_from(m: metric_definition::Model) -> Result<Self> {
        Ok(Self {
            id: MetricId(m.id),
            organisation: OrganisationId(m.organisation_id),
            unit: stored(MetricUnit::parse(&m.unit))?,
            direction: stored(MetricDirection::parse(&m.direction))?,
            aggregation: stored(MetricAggregation::parse(&m.aggregation))?,
            key: m.key,
            name: m.name,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

impl MetricDefinition {
    /// Whether `value` is a valid observation of this metric.
    pub fn check(&self, value: f64) -> Result<f64, String> {
        if !value.is_finite() {
            return Err("must be a finite number".into());
        }
        let (lo, hi) = match self.unit {
            MetricUnit::Count | MetricUnit::Seconds => (0.0, f64::MAX),
            MetricUnit::Percent => (0.0, 100.0),
            MetricUnit::Ratio => (0.0, 1.0),
            MetricUnit::Number => (f64::MIN, f64::MAX),
        };
        if value < lo || value > hi {
            return Err(match self.unit {
                MetricUnit::Count => format!("a count cannot be negative (metric {})", self.key),
                MetricUnit::Seconds => format!("a duration cannot be negative (metric {})", self.key),
                _ => format!("must be between {lo} and {hi} for a {} (metric {})", self.unit, self.key),
            });
        }
        Ok(value)
    }
}

/// Input for defining (or redefining) a metric by key.
#[derive(Clone, Debug)]
pub struct MetricSpec {
    pub key: String,
    pub name: String,
    pub unit: MetricUnit,
    pub direction: MetricDirection,
    pub aggregation: MetricAggregation,
}

/// The metrics every new organisation starts with.
pub fn default_specs() -> Vec<MetricSpec> {
    use MetricAggregation as A;
    use MetricDirection as D;
    use MetricUnit as U;
    [
        ("usage.active_users", "Active users", U::Count, D::HigherIsBetter, A::Average),
        ("usage.logins", "Logins", U::Count, D::HigherIsBetter, A::Sum),
        ("usage.volume", "Usage volume", U::Number, D::HigherIsBetter, A::Sum),
    ]
    .into_iter()
    .map(|(key, name, unit, direction, aggregation)| MetricSpec {
        key: key.into(),
        name: name.into(),
        unit,
        direction,
        aggregation,
    })
    .collect()
}

pub(crate) fn metric_key(key: &str) -> Result<String, String> {
    let k = key.trim();
    let ok = (1..=100).contains(&k.len())
        && k.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
        && !k.starts_with('.')
        && !k.ends_with('.');
    if ok {
        Ok(k.to_owned())
    } else {
        Err("must be 1-100 lowercase letters, digits, dots, dashes or underscores".into())
    }
}

/// Defines a metric, or changes the definition with this key. Admins and managers only.
pub async fn define(db: &DatabaseConnection, actor: &Actor, spec: MetricSpec) -> Result<MetricDefinition> {
    actor.require_manager()?;
    define_unchecked(db, actor.organisation, spec).await
}

pub(crate) async fn define_unchecked<C: sea_orm::ConnectionTrait>(
    db: &C,
    org: OrganisationId,
    spec: MetricSpec,
) -> Result<MetricDefinition> {
    let mut p = Problems::default();
    let key = p.check(&["key"], metric_key(&spec.key));
    let name = p.check(&["name"], values::line(&spec.name, values::MAX_LINE));
    p.finish()?;
    let (key, name) = (key.unwrap(), name.unwrap());
    let now = values::now();
    let existing = metric_definition::Entity::find()
        .filter(metric_definition::Column::OrganisationId.eq(org.0))
        .filter(metric_definition::Column::Key.eq(&key))
        .one(db)
        .await?;
    let model = match existing {
        Some(m) => {
            let mut am: metric_definition::ActiveModel = m.clone().into();
            am.name = Set(name);
            am.unit = Set(spec.unit.as_str().into());
            am.direction = Set(spec.direction.as_str().into());
            am.aggregation = Set(spec.aggregation.as_str().into());
            am.version = Set(m.version + 1);
            am.updated_at = Set(now);
            metric_definition::Entity::update_many()
                .set(am)
                .filter(metric_definition::Column::OrganisationId.eq(org.0))
                .filter(metric_definition::Column::Id.eq(m.id))
                .exec(db)
                .await?;
            metric_definition::Entity::find_by_id(m.id)
                .one(db)
                .await?
                .ok_or_else(|| Error::not_found("metric", &["key"]))?
        }
        None => {
            let am = metric_definition::ActiveModel {
                id: Set(MetricId::generate().0),
                organisation_id: Set(org.0),
                key: Set(key),
                name: Set(name),
                unit: Set(spec.unit.as_str().into()),
                direction: Set(spec.direction.as_str().into()),
                aggregation: Set(spec.aggregation.as_str().into()),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
            };
            match metric_definition::Entity::insert(am).exec_with_returning(db).await {
                Ok(m) => m,
                Err(e) if is_unique_violation(&e) => {
                    return Err(Error::conflict(&["key"], "the metric was defined concurrently; retry"));
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    model.try_into()
}

/// All metric definitions of the organisation, by key.
pub async fn definitions(db: &DatabaseConnection, org: OrganisationId) -> Result<Vec<MetricDefinition>> {
    metric_definition::Entity::find()
        .filter(metric_definition::Column::OrganisationId.eq(org.0))
        .order_by_asc(metric_definition::Column::Key)
        .all(db)
        .await?
        .into_iter()
        .map(TryInto::try_into)
        .collect()
}

/// One observation to ingest.
#[derive(Clone, Debug)]
pub struct NewMetricPoint {
    pub account: AccountRef,
    pub metric: String,
    pub observed_at: super::Coerced<DateTime<Utc>>,
    pub value: f64,
    pub source: Option<String>,
}

/// Ingests a batch of observations. The natural key (account, metric, time) is each item's
/// idempotency key: a retried observation is a duplicate; a different value for an existing
/// key is rejected (observations are immutable).
pub async fn ingest(db: &DatabaseConnection, actor: &Actor, items: Vec<NewMetricPoint>) -> Result<BatchReport> {
    let org = actor.organisation;
    let (mut out, accounts) = super::open_batch(db, actor, &items, |i| &i.account).await?;
    let defs: HashMap<String, MetricDefinition> =
        definitions(db, org).await?.into_iter().map(|d| (d.key.clone(), d)).collect();

    struct Row {
        index: usize,
        account: AccountId,
        metric: MetricId,
        at: DateTime<Utc>,
        value: f64,
        source: Option<String>,
    }
    let mut rows: Vec<Row> = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let def = defs.get(item.metric.trim());
        if def.is_none() {
            out.reject(
                i,
                ErrorCode::NotFound,
                &["metric"],
                format!("no metric '{}'; define it first", item.metric.trim()),
            );
        }
        let value = def.and_then(|d| out.check(i, &["value"], d.check(item.value)));
        let at = out.check(i, &["observedAt"], item.observed_at.and_then(past_timestamp));
        let source = out.check(i, &["source"], values::optional_line(item.source.as_deref(), 100));
        if let (Some(account), Some(def), Some(value), Some(at), Some(source), true) =
            (accounts[i], def, value, at, source, out.is_open(i))
        {
            rows.push(Row { index: i, account, metric: def.id, at, value, source });
        }
    }
    super::reject_repeats(rows.iter().map(|r| (r.index, (r.account, r.metric, r.at))), &["observedAt"], &mut out);
    rows.retain(|r| out.is_open(r.index));

    // Insert everything new in one transaction; keys already stored come back as not inserted
    // and are then told apart: the same value is a retry, another value a conflict.
    let points: Vec<Point> = rows
        .iter()
        .map(|r| Point { account: r.account, metric: r.metric, at: r.at, value: r.value, source: r.source.clone() })
        .collect();
    let (inserted, stored) = crate::db::write::<_, _, _, Error>(db, |tx| {
        Box::pin(async move {
            let mut inserted = HashSet::new();
            // PostgreSQL takes a whole batch in one statement (six array parameters); SQLite
            // is bound by its parameter limit.
            let chunk = if tx.get_database_backend() == DbBackend::Postgres { MAX_BATCH } else { INSERT_CHUNK };
            for chunk in points.chunks(chunk) {
                inserted.extend(insert_points(tx, org, chunk).await?);
            }
            let rest: Vec<_> =
                points.iter().map(|p| (p.account, p.metric, p.at)).filter(|k| !inserted.contains(k)).collect();
            let stored = existing_points(tx, org, &rest).await?;
            let touched: Vec<AccountId> = inserted.iter().map(|k| k.0).collect::<HashSet<_>>().into_iter().collect();
            mark_dirty(tx, org, &touched).await?;
            Ok((inserted, stored))
        })
    })
    .await?;
    let mut touched = HashSet::new();
    for r in rows {
        let key = (r.account, r.metric, r.at);
        if inserted.contains(&key) {
            out.set(r.index, ItemStatus::Accepted);
            touched.insert(r.account);
            continue;
        }
        match stored.get(&key) {
            Some(v) if *v == r.value => out.set(r.index, ItemStatus::Duplicate),
            Some(v) => out.reject(
                r.index,
                ErrorCode::Conflict,
                &["value"],
                format!("an observation at this time is already recorded with value {v}; observations are immutable"),
            ),
            // Not inserted yet not found: removed concurrently; report it rather than guess.
            None => out.reject(r.index, ErrorCode::Conflict, &["observedAt"], "changed concurrently; retry this item"),
        }
    }
    Ok(out.finish(touched.into_iter().collect()))
}

/// One observation ready to store.
struct Point {
    account: AccountId,
    metric: MetricId,
    at: DateTime<Utc>,
    value: f64,
    source: Option<String>,
}

type PointKey = (AccountId, MetricId, DateTime<Utc>);

/// Inserts points, skipping keys already stored, and returns the keys it inserted. One
/// statement per chunk: a multi-row VALUES list on SQLite, UNNEST over six arrays on
/// PostgreSQL (six parameters instead of six per row).
async fn insert_points<C: ConnectionTrait>(db: &C, org: OrganisationId, points: &[Point]) -> Result<Vec<PointKey>> {
    if points.is_empty() {
        return Ok(Vec::new());
    }
    let backend = db.get_database_backend();
    const RETURNING: &str = "ON CONFLICT DO NOTHING RETURNING account_id, metric_id, observed_at";
    let statement = match backend {
        DbBackend::Postgres => {
            let orgs: Vec<uuid::Uuid> = vec![org.0; points.len()];
            let accounts: Vec<uuid::Uuid> = points.iter().map(|p| p.account.0).collect();
            let metrics: Vec<uuid::Uuid> = points.iter().map(|p| p.metric.0).collect();
            let times: Vec<DateTime<Utc>> = points.iter().map(|p| p.at).collect();
            let values: Vec<f64> = points.iter().map(|p| p.value).collect();
            // Arrays cannot carry NULLs here: an empty string stands for "no source" (a blank
            // source is never stored) and NULLIF turns it back.
            let sources: Vec<String> = points.iter().map(|p| p.source.clone().unwrap_or_default()).collect();
            Statement::from_sql_and_values(
                backend,
                format!(
                    "INSERT INTO metric_points (organisation_id, account_id, metric_id, observed_at, value, source) \
                     SELECT o, a, m, t, v, NULLIF(s, '') FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], \
                     $4::timestamptz[], $5::float8[], $6::text[]) AS u(o, a, m, t, v, s) {RETURNING}"
                ),
                [orgs.into(), accounts.into(), metrics.into(), times.into(), values.into(), sources.into()],
            )
        }
        _ => {
            let mut sql = String::from(
                "INSERT INTO metric_points (organisation_id, account_id, metric_id, observed_at, value, source) VALUES ",
            );
            let mut values: Vec<Value> = Vec::with_capacity(points.len() * 6);
            for (i, p) in points.iter().enumerate() {
                sql.push_str(if i == 0 { "(?, ?, ?, ?, ?, ?)" } else { ", (?, ?, ?, ?, ?, ?)" });
                values.extend([
                    org.0.into(),
                    p.account.0.into(),
                    p.metric.0.into(),
                    p.at.into(),
                    p.value.into(),
                    p.source.clone().into(),
                ]);
            }
            sql.push(' ');
            sql.push_str(RETURNING);
            Statement::from_sql_and_values(backend, sql, values)
        }
    };
    let rows = db.query_all_raw(statement).await?;
    rows.into_iter()
        .map(|row| {
            Ok((
                AccountId(row.try_get::<uuid::Uuid>("", "account_id")?),
                MetricId(row.try_get::<uuid::Uuid>("", "metric_id")?),
                row.try_get::<DateTime<Utc>>("", "observed_at")?,
            ))
        })
        .collect()
}

/// Stored values for the given keys (one range query per account and metric pair set).
async fn existing_points<C: ConnectionTrait>(
    db: &C,
    org: OrganisationId,
    keys: &[(AccountId, MetricId, DateTime<Utc>)],
) -> Result<HashMap<(AccountId, MetricId, DateTime<Utc>), f64>> {
    let mut out = HashMap::new();
    if keys.is_empty() {
        return Ok(out);
    }
    let wanted: HashSet<_> = keys.iter().copied().collect();
    let accounts: HashSet<_> = keys.iter().map(|k| k.0.0).collect();
    let metrics: HashSet<_> = keys.iter().map(|k| k.1.0).collect();
    let from = keys.iter().map(|k| k.2).min().unwrap();
    let to = keys.iter().map(|k| k.2).max().unwrap();
    for chunk in accounts.into_iter().collect::<Vec<_>>().chunks(INSERT_CHUNK) {
        let rows = metric_point::Entity::find()
            .filter(metric_point::Column::OrganisationId.eq(org.0))
            .filter(metric_point::Column::AccountId.is_in(chunk.iter().copied()))
            .filter(metric_point::Column::MetricId.is_in(metrics.iter().copied()))
            .filter(metric_point::Column::ObservedAt.gte(from))
            .filter(metric_point::Column::ObservedAt.lte(to))
            .all(db)
            .await?;
        for m in rows {
            let key = (AccountId(m.account_id), MetricId(m.metric_id), m.observed_at);
            if wanted.contains(&key) {
                out.insert(key, m.value);
            }
        }
    }
    Ok(out)
}

/// One stored observation.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricPoint {
    pub metric: MetricId,
    pub observed_at: DateTime<Utc>,
    pub value: f64,
    pub source: Option<String>,
}

/// An account's observations of a metric in `[from, to)`, oldest first, a page at a time.
pub async fn points(
    db: &DatabaseConnection,
    org: OrganisationId,
    account: AccountId,
    metric: MetricId,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    page: &PageRequest,
) -> Result<Page<MetricPoint>> {
    let select = range(org, account, metric, from, to);
    let sort =
        Sort { column: metric_point::Column::ObservedAt, kind: KeyKind::Time, nullable: false, descending: false };
    // The time is unique per (account, metric): no tie breaker needed.
    page::fetch(db, select, sort, None, page, |m| KeyValue::Time(m.observed_at), |_| uuid::Uuid::nil()).await?.try_map(
        |m| {
            Ok(MetricPoint {
                metric: MetricId(m.metric_id),
                observed_at: m.observed_at,
                value: m.value,
                source: m.source,
            })
        },
    )
}

fn range(
    org: OrganisationId,
    account: AccountId,
    metric: MetricId,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> sea_orm::Select<metric_point::Entity> {
    let mut cond = Condition::all()
        .add(metric_point::Column::OrganisationId.eq(org.0))
        .add(metric_point::Column::AccountId.eq(account.0))
        .add(metric_point::Column::MetricId.eq(metric.0));
    if let Some(f) = from {
        cond = cond.add(metric_point::Column::ObservedAt.gte(values::timestamp(f)));
    }
    if let Some(t) = to {
        cond = cond.add(metric_point::Column::ObservedAt.lt(values::timestamp(t)));
    }
    metric_point::Entity::find().filter(cond)
}

/// How many observations fall in the range.
pub async fn count_points(
    db: &DatabaseConnection,
    org: OrganisationId,
    account: AccountId,
    metric: MetricId,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<u64> {
    Ok(range(org, account, metric, from, to).count(db).await?)
}

/// All observations of the given metrics for an account since `since`, oldest first (for
/// health computation and charts). Reads only the three columns it needs.
pub async fn series(
    db: &DatabaseConnection,
    org: OrganisationId,
    account: AccountId,
    metrics: &[MetricId],
    since: DateTime<Utc>,
) -> Result<HashMap<MetricId, Vec<(DateTime<Utc>, f64)>>> {
    let rows: Vec<(uuid::Uuid, DateTime<Utc>, f64)> = metric_point::Entity::find()
        .select_only()
        .columns([metric_point::Column::MetricId, metric_point::Column::ObservedAt, metric_point::Column::Value])
        .filter(metric_point::Column::OrganisationId.eq(org.0))
        .filter(metric_point::Column::AccountId.eq(account.0))
        .filter(metric_point::Column::MetricId.is_in(metrics.iter().map(|m| m.0)))
        .filter(metric_point::Column::ObservedAt.gte(since))
        // The primary key's order: no sort, and each series comes out oldest first.
        .order_by_asc(metric_point::Column::AccountId)
        .order_by_asc(metric_point::Column::MetricId)
        .order_by_asc(metric_point::Column::ObservedAt)
        .into_tuple()
        .all(db)
        .await?;
    let mut out: HashMap<MetricId, Vec<(DateTime<Utc>, f64)>> = HashMap::new();
    for (metric, at, value) in rows {
        out.entry(MetricId(metric)).or_default().push((at, value));
    }
    Ok(out)
}

/// Observations as (time, value), oldest first.
pub type Points = Vec<(DateTime<Utc>, f64)>;

/// The series of several accounts and metrics since a moment, each oldest first.
///
/// Each series arrives packed in one row (`group_concat` / `string_agg` of time=value pairs)
/// rather than one row per observation: decoding rows dominated snapshot loading (about
/// 120 rows per account for four months of daily data). The packing keeps values exact: SQLite
/// prints them with 17 significant digits, PostgreSQL with its shortest exact form, and times
/// travel as stored (RFC 3339 text on SQLite, epoch microseconds on PostgreSQL).
pub async fn series_for_accounts(
    db: &DatabaseConnection,
    org: OrganisationId,
    accounts: &[AccountId],
    metrics: &[MetricId],
    since: DateTime<Utc>,
) -> Result<HashMap<(AccountId, MetricId), Points>> {
    use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
    let mut out: HashMap<(AccountId, MetricId), Points> = HashMap::new();
    if accounts.is_empty() || metrics.is_empty() {
        return Ok(out);
    }
    let backend = db.get_database_backend();
    for chunk in accounts.chunks(900) {
        let mut values: Vec<sea_orm::Value> = vec![org.0.into()];
        let marks = |n: usize, first: usize| -> String {
            let one = |i: usize| match backend {
                DatabaseBackend::Postgres => format!("${}", first + i + 1),
                _ => "?".to_owned(),
            };
            (0..n).map(one).collect::<Vec<_>>().join(", ")
        };
        let account_marks = marks(chunk.len(), 1);
        values.extend(chunk.iter().map(|a| sea_orm::Value::from(a.0)));
        let metric_marks = marks(metrics.len(), 1 + chunk.len());
        values.extend(metrics.iter().map(|m| sea_orm::Value::from(m.0)));
        values.push(since.into());
        let since_mark = match backend {
            DatabaseBackend::Postgres => format!("${}", values.len()),
            _ => "?".to_owned(),
        };
        let org_mark = if backend == DatabaseBackend::Postgres { "$1" } else { "?" };
        let packed = match backend {
            DatabaseBackend::Postgres => {
                "string_agg(((extract(epoch from observed_at) * 1000000)::bigint)::text || '=' || value::text, ';')"
            }
            _ => "group_concat(observed_at || '=' || printf('%!.17g', value), ';')",
        };
        let sql = format!(
            "SELECT account_id, metric_id, {packed} AS packed FROM metric_points \
             WHERE organisation_id = {org_mark} AND account_id IN ({account_marks}) \
             AND metric_id IN ({metric_marks}) AND observed_at >= {since_mark} \
             GROUP BY account_id, metric_id"
        );
        let rows = db.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
        for row in rows {
            let account: uuid::Uuid = row.try_get_by_index(0)?;
            let metric: uuid::Uuid = row.try_get_by_index(1)?;
            let packed: String = row.try_get_by_index(2)?;
            let mut points = Vec::with_capacity(packed.len() / 40 + 1);
            for pair in packed.split(';') {
                let parsed = pair.split_once('=').and_then(|(t, v)| {
                    let at = match backend {
                        DatabaseBackend::Postgres => DateTime::from_timestamp_micros(t.parse().ok()?)?,
                        _ => DateTime::parse_from_rfc3339(t).ok()?.with_timezone(&Utc),
                    };
                    Some((at, v.parse::<f64>().ok()?))
                });
                points.push(parsed.ok_or_else(|| Error::Internal(format!("unreadable metric point '{pair}'").into()))?);
            }
            points.sort_by_key(|p| p.0);
            out.insert((AccountId(account), MetricId(metric)), points);
        }
    }
    Ok(out)
}

/// One bucket of a downsampled series.
#[derive(Clone, Debug, PartialEq)]
pub struct Bucket {
    pub start: DateTime<Utc>,
    pub value: f64,
    pub min: f64,
    pub max: f64,
    pub count: usize,
}

/// Downsamples a series into `buckets` equal time buckets over `[from, to)`, combining each
/// bucket's points with the metric's aggregation. Empty buckets are omitted.
pub fn downsample(
    points: &[(DateTime<Utc>, f64)],
    aggregation: MetricAggregation,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    buckets: usize,
) -> Vec<Bucket> {
    let span = (to - from).num_microseconds().unwrap_or(i64::MAX).max(1);
    let width = (span / buckets.max(1) as i64).max(1);
    let mut out: Vec<Bucket> = Vec::new();
    let mut current: Option<(i64, Vec<f64>)> = None;
    let flush = |b: i64, values: Vec<f64>, out: &mut Vec<Bucket>| {
        let value = crate::health::facts::aggregate(&values, aggregation).unwrap_or(0.0);
        out.push(Bucket {
            start: from + chrono::Duration::microseconds(b * width),
            value,
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            count: values.len(),
        });
    };
    for (t, v) in points.iter().filter(|(t, _)| *t >= from && *t < to) {
        let b = ((*t - from).num_microseconds().unwrap_or(0) / width).min(buckets as i64 - 1);
        match &mut current {
            Some((cb, values)) if *cb == b => values.push(*v),
            _ => {
                if let Some((cb, values)) = current.take() {
                    flush(cb, values, &mut out);
                }
                current = Some((b, vec![*v]));
            }
        }
    }
    if let Some((cb, values)) = current {
        flush(cb, values, &mut out);
    }
    out
}

/// One metric definition of the organisation by id.
pub async fn definition(
    db: &DatabaseConnection,
    org: OrganisationId,
    id: MetricId,
) -> Result<Option<MetricDefinition>> {
    metric_definition::Entity::find_by_id(id.0)
        .filter(metric_definition::Column::OrganisationId.eq(org.0))
        .one(db)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

/// One metric definition of the organisation by key.
pub async fn definition_by_key(
    db: &DatabaseConnection,
    org: OrganisationId,
    key: &str,
) -> Result<Option<MetricDefinition>> {
    metric_definition::Entity::find()
        .filter(metric_definition::Column::OrganisationId.eq(org.0))
        .filter(metric_definition::Column::Key.eq(key.trim()))
        .one(db)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn def(unit: MetricUnit) -> MetricDefinition {
        MetricDefinition {
            id: MetricId::generate(),
            organisation: OrganisationId::generate(),
            key: "m".into(),
            name: "M".into(),
            unit,
            direction: MetricDirection::HigherIsBetter,
            aggregation: MetricAggregation::Sum,
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn values_are_checked_by_unit() {
        for (unit, ok, bad) in [
            (MetricUnit::Count, vec![0.0, 12.0], vec![-1.0, f64::NAN, f64::INFINITY]),
            (MetricUnit::Percent, vec![0.0, 100.0], vec![-0.1, 100.1]),
            (MetricUnit::Ratio, vec![0.0, 0.5, 1.0], vec![1.01]),
            (MetricUnit::Seconds, vec![3.5], vec![-3.5]),
            (MetricUnit::Number, vec![-1e9, 1e9], vec![f64::NEG_INFINITY]),
        ] {
            for v in ok {
                assert_eq!(def(unit).check(v), Ok(v), "{unit} {v}");
            }
            for v in bad {
                assert!(def(unit).check(v).is_err(), "{unit} {v}");
            }
        }
    }

    #[test]
    fn keys() {
        assert_eq!(metric_key(" usage.active_users "), Ok("usage.active_users".into()));
        for bad in ["", "Usage", "usage active", ".x", "x.", &"x".repeat(101)] {
            assert!(metric_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn downsampling_combines_buckets_with_the_metric_aggregation() {
        let day = |d: u32| Utc.with_ymd_and_hms(2026, 1, d, 12, 0, 0).unwrap();
        let points: Vec<_> = (1..=10).map(|d| (day(d), f64::from(d))).collect();
        let from = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let to = Utc.with_ymd_and_hms(2026, 1, 11, 0, 0, 0).unwrap();
        let sum = downsample(&points, MetricAggregation::Sum, from, to, 2);
        assert_eq!(sum.iter().map(|b| (b.value, b.count)).collect::<Vec<_>>(), vec![(15.0, 5), (40.0, 5)]);
        assert_eq!((sum[1].min, sum[1].max), (6.0, 10.0));
        let avg = downsample(&points, MetricAggregation::Average, from, to, 5);
        assert_eq!(avg.iter().map(|b| b.value).collect::<Vec<_>>(), vec![1.5, 3.5, 5.5, 7.5, 9.5]);
        let last = downsample(&points, MetricAggregation::Last, from, to, 1);
        assert_eq!(last[0].value, 10.0);
        assert!(downsample(&[], MetricAggregation::Sum, from, to, 10).is_empty());
    }
}
