//! The rule engine's bookkeeping: the run log (every evaluation pass, per-rule figures and each
//! failure, visible through the API), the queue of accounts whose inputs changed, and the lease
//! that lets exactly one replica run an organisation's scheduled sweep.
//!
//! A run is one pass over one or many accounts. It stores totals, per-rule figures and one row
//! per failure; not one row per (rule, account), which for a sweep of 100,000 accounts would
//! write a million rows to say "nothing happened".

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};

use super::ApplyStats;
use crate::entities::{account, organisation, risk_dirty, risk_sweep, rule_failure, rule_run};
use crate::enums::stored;
use crate::page::{self, KeyKind, KeyValue, Page, PageRequest, Sort};
use crate::{AccountId, AccountStatus, Error, OrganisationId, Result, RuleRunId, RuleTrigger};

/// Failures stored per run at most (the counts stay exact).
pub const MAX_FAILURES_PER_RUN: usize = 100;

/// One rule's figures within a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleStat {
    pub rule_key: String,
    pub evaluations: u32,
    pub findings: u32,
    pub failures: u32,
    pub duration_us: u64,
    /// Plugins: instructions used in all.
    #[serde(default)]
    pub fuel: u64,
    /// Plugins: the largest instruction count of one evaluation.
    #[serde(default)]
    pub max_fuel: u64,
    /// Plugins: the largest linear memory of one evaluation, in bytes.
    #[serde(default)]
    pub peak_memory: u64,
    /// Plugins: evaluations skipped because the circuit breaker switched the plugin off.
    #[serde(default)]
    pub skipped: u32,
    /// Failures after the last success (the circuit breaker's input).
    #[serde(default)]
    pub trailing_failures: u32,
    /// Plugins: the sha256 of the component that ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component_sha256: Option<String>,
    /// Plugins: the first log lines of the run (bounded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<String>,
}

/// Log lines kept per rule and run.
pub const MAX_LOG_LINES_PER_RUN: usize = 50;

/// A rule that failed on an account, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    pub rule_key: String,
    pub account: AccountId,
    pub message: String,
}

/// A finished evaluation pass.
#[derive(Clone, Debug, Default)]
pub struct RunRecord {
    pub trigger: Option<RuleTrigger>,
    /// The account, when the run covered exactly one.
    pub account: Option<AccountId>,
    pub started_at: DateTime<Utc>,
    pub duration_us: u64,
    pub accounts: u32,
    pub evaluations: u32,
    pub findings: u32,
    pub failures: u32,
    pub applied: ApplyStats,
    pub snapshot_us: u64,
    pub evaluate_us: u64,
    /// Storing risks, overlapped with loading the next chunk's snapshots.
    pub persist_us: u64,
    pub rules: Vec<RuleStat>,
    pub errors: Vec<Failure>,
}

/// A stored run.
#[derive(Clone, Debug)]
pub struct RuleRun {
    pub id: RuleRunId,
    pub trigger: RuleTrigger,
    pub account: Option<AccountId>,
    pub started_at: DateTime<Utc>,
    pub duration_us: u64,
    pub accounts: u32,
    pub evaluations: u32,
    pub findings: u32,
    pub failures: u32,
    pub applied: ApplyStats,
    pub snapshot_us: u64,
    pub evaluate_us: u64,
    pub persist_us: u64,
    pub rules: Vec<RuleStat>,
}

impl TryFrom<rule_run::Model> for RuleRun {
    type Error = Error;
    fn try_from(m: rule_run::Model) -> Result<Self> {
        let n = |v: i32| v.max(0) as u32;
        let us = |v: i64| v.max(0) as u64;
        Ok(Self {
            id: RuleRunId(m.id),
            trigger: stored(RuleTrigger::parse(&m.trigger))?,
            account: m.account_id.map(AccountId),
            started_at: m.started_at,
            duration_us: us(m.duration_us),
            accounts: n(m.accounts),
            evaluations: n(m.evaluations),
            findings: n(m.findings),
            failures: n(m.failures),
            applied: ApplyStats { raised: n(m.raised), refreshed: n(m.refreshed), cleared: n(m.cleared) },
            snapshot_us: us(m.snapshot_us),
            evaluate_us: us(m.evaluate_us),
            persist_us: us(m.persist_us),
            rules: serde_json::from_str(&m.rules).map_err(Error::internal)?,
        })
    }
}

fn int(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

fn big(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Stores a run with (up to [`MAX_FAILURES_PER_RUN`]) failures.
pub async fn record(db: &DatabaseConnection, org: OrganisationId, run: &RunRecord) -> Result<RuleRunId> {
    let id = RuleRunId::generate();
    let row = rule_run::ActiveModel {
        id: Set(id.0),
        organisation_id: Set(org.0),
        trigger: Set(run.trigger.unwrap_or(RuleTrigger::OnDemand).as_str().into()),
        account_id: Set(run.account.map(|a| a.0)),
        started_at: Set(run.started_at),
        duration_us: Set(big(run.duration_us)),
        accounts: Set(int(run.accounts)),
        evaluations: Set(int(run.evaluations)),
        findings: Set(int(run.findings)),
        failures: Set(int(run.failures)),
        raised: Set(int(run.applied.raised)),
        refreshed: Set(int(run.applied.refreshed)),
        cleared: Set(int(run.applied.cleared)),
        snapshot_us: Set(big(run.snapshot_us)),
        evaluate_us: Set(big(run.evaluate_us)),
        persist_us: Set(big(run.persist_us)),
        rules: Set(serde_json::to_string(&run.rules).map_err(Error::internal)?),
    };
    let failures: Vec<rule_failure::ActiveModel> = run
        .errors
        .iter()
        .take(MAX_FAILURES_PER_RUN)
        .map(|f| rule_failure::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            organisation_id: Set(org.0),
            run_id: Set(id.0),
            rule_key: Set(f.rule_key.clone()),
            account_id: Set(f.account.0),
            at: Set(run.started_at),
            message: Set(f.message.chars().take(2000).collect()),
        })
        .collect();
    crate::db::write::<_, _, _, Error>(db, |tx| {
        Box::pin(async move {
            rule_run::Entity::insert(row).exec_without_returning(tx).await?;
            if !failures.is_empty() {
                rule_failure::Entity::insert_many(failures).exec_without_returning(tx).await?;
            }
            Ok(())
        })
    })
    .await?;
    Ok(id)
}

/// Which runs a list shows.
#[derive(Clone, Debug, Default)]
pub struct RunFilter {
    pub trigger: Option<RuleTrigger>,
    pub account: Option<AccountId>,
    /// Only runs with at least one failure.
    pub failed_only: bool,
}

fn filtered(org: OrganisationId, filter: &RunFilter) -> sea_orm::Select<rule_run::Entity> {
    let mut q = rule_run::Entity::find().filter(rule_run::Column::OrganisationId.eq(org.0));
    if let Some(t) = filter.trigger {
        q = q.filter(rule_run::Column::Trigger.eq(t.as_str()));
    }
    if let Some(a) = filter.account {
        q = q.filter(rule_run::Column::AccountId.eq(a.0));
    }
    if filter.failed_only {
        q = q.filter(rule_run::Column::Failures.gt(0));
    }
    q
}

/// How many runs match the filter.
pub async fn count(db: &DatabaseConnection, org: OrganisationId, filter: &RunFilter) -> Result<u64> {
    use sea_orm::PaginatorTrait;
    Ok(filtered(org, filter).count(db).await?)
}

/// The organisation's runs, newest first.
pub async fn list(
    db: &DatabaseConnection,
    org: OrganisationId,
    filter: &RunFilter,
    page: &PageRequest,
) -> Result<Page<RuleRun>> {
    let q = filtered(org, filter);
    let sort = Sort { column: rule_run::Column::StartedAt, kind: KeyKind::Time, nullable: false, descending: true };
    page::fetch(db, q, sort, Some(rule_run::Column::Id), page, |m| KeyValue::Time(m.started_at), |m| m.id)
        .await?
        .try_map(TryInto::try_into)
}

/// One run of the organisation.
pub async fn get(db: &DatabaseConnection, org: OrganisationId, id: RuleRunId) -> Result<Option<RuleRun>> {
    rule_run::Entity::find_by_id(id.0)
        .filter(rule_run::Column::OrganisationId.eq(org.0))
        .one(db)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

/// The failures stored for a run.
pub async fn failures(db: &DatabaseConnection, org: OrganisationId, run: RuleRunId) -> Result<Vec<Failure>> {
    Ok(rule_failure::Entity::find()
        .filter(rule_failure::Column::OrganisationId.eq(org.0))
        .filter(rule_failure::Column::RunId.eq(run.0))
        .order_by_asc(rule_failure::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|m| Failure { rule_key: m.rule_key, account: AccountId(m.account_id), message: m.message })
        .collect())
}

/// Deletes runs (and their failures) started before `before`.
pub async fn prune(db: &DatabaseConnection, org: OrganisationId, before: DateTime<Utc>) -> Result<u64> {
    Ok(rule_run::Entity::delete_many()
        .filter(rule_run::Column::OrganisationId.eq(org.0))
        .filter(rule_run::Column::StartedAt.lt(before))
        .exec(db)
        .await?
        .rows_affected)
}

/// Accounts waiting for evaluation with the mark each was read at, oldest marks first, grouped by
/// organisation.
pub type DirtyMarks = HashMap<OrganisationId, Vec<(AccountId, DateTime<Utc>)>>;

/// Up to `limit` queued accounts.
pub async fn dirty(db: &DatabaseConnection, limit: u64) -> Result<DirtyMarks> {
    let rows = risk_dirty::Entity::find().order_by_asc(risk_dirty::Column::MarkedAt).limit(limit).all(db).await?;
    let mut out: DirtyMarks = HashMap::new();
    for d in rows {
        out.entry(OrganisationId(d.organisation_id)).or_default().push((AccountId(d.account_id), d.marked_at));
    }
    Ok(out)
}

/// The queue marks of some accounts (to evaluate them now and clear exactly what was seen).
pub async fn marks_of(
    db: &DatabaseConnection,
    org: OrganisationId,
    accounts: &[AccountId],
) -> Result<Vec<(AccountId, DateTime<Utc>)>> {
    Ok(risk_dirty::Entity::find()
        .filter(risk_dirty::Column::OrganisationId.eq(org.0))
        .filter(risk_dirty::Column::AccountId.is_in(accounts.iter().map(|a| a.0)))
        .all(db)
        .await?
        .into_iter()
        .map(|d| (AccountId(d.account_id), d.marked_at))
        .collect())
}

/// Removes queue marks, but only those exactly as observed: an account marked again meanwhile
/// stays queued (its newer signals have not been evaluated).
pub async fn clear_marks(
    db: &DatabaseConnection,
    org: OrganisationId,
    marks: &[(AccountId, DateTime<Utc>)],
) -> Result<()> {
    for chunk in marks.chunks(200) {
        let mut observed = Condition::any();
        for (account, at) in chunk {
            observed = observed.add(
                Condition::all()
                    .add(risk_dirty::Column::AccountId.eq(account.0))
                    .add(risk_dirty::Column::MarkedAt.eq(*at)),
            );
        }
        risk_dirty::Entity::delete_many()
            .filter(risk_dirty::Column::OrganisationId.eq(org.0))
            .filter(observed)
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Every organisation (the scheduler's list).
pub async fn organisations(db: &DatabaseConnection) -> Result<Vec<OrganisationId>> {
    Ok(organisation::Entity::find()
        .select_only()
        .column(organisation::Column::Id)
        .into_tuple::<uuid::Uuid>()
        .all(db)
        .await?
        .into_iter()
        .map(OrganisationId)
        .collect())
}

/// Claims the organisation's scheduled sweep if it is due at `now`, moving the next one to
/// `next`. A compare-and-set on the due time: of several replicas, exactly one wins.
pub async fn claim_sweep(
    db: &DatabaseConnection,
    org: OrganisationId,
    now: DateTime<Utc>,
    next: DateTime<Utc>,
) -> Result<bool> {
    let current = risk_sweep::Entity::find_by_id(org.0).one(db).await?;
    let Some(current) = current else {
        let row = risk_sweep::ActiveModel {
            organisation_id: Set(org.0),
            next_due_at: Set(next),
            last_started_at: Set(Some(now)),
        };
        return Ok(match risk_sweep::Entity::insert(row).exec_without_returning(db).await {
            Ok(_) => true,
            Err(e) if crate::store::is_unique_violation(&e) => false,
            Err(e) => return Err(e.into()),
        });
    };
    if current.next_due_at > now {
        return Ok(false);
    }
    let moved = risk_sweep::Entity::update_many()
        .col_expr(risk_sweep::Column::NextDueAt, sea_orm::sea_query::Expr::value(next))
        .col_expr(risk_sweep::Column::LastStartedAt, sea_orm::sea_query::Expr::value(Some(now)))
        .filter(risk_sweep::Column::OrganisationId.eq(org.0))
        .filter(risk_sweep::Column::NextDueAt.eq(current.next_due_at))
        .exec(db)
        .await?;
    Ok(moved.rows_affected == 1)
}

/// A slice of the organisation's accounts that are not archived, churned ones included (their
/// history is what warning quality is measured against), in id order after `after`.
pub async fn accounts_with_history(
    db: &DatabaseConnection,
    org: OrganisationId,
    after: Option<AccountId>,
    limit: u64,
) -> Result<Vec<AccountId>> {
    account_slice(db, org, after, limit, false).await
}

/// A slice of the organisation's live accounts (active, not archived) in id order, after
/// `after`: how a sweep walks the portfolio in bounded chunks.
pub async fn live_accounts(
    db: &DatabaseConnection,
    org: OrganisationId,
    after: Option<AccountId>,
    limit: u64,
) -> Result<Vec<AccountId>> {
    account_slice(db, org, after, limit, true).await
}

async fn account_slice(
    db: &DatabaseConnection,
    org: OrganisationId,
    after: Option<AccountId>,
    limit: u64,
    live_only: bool,
) -> Result<Vec<AccountId>> {
    let mut q = account::Entity::find()
        .select_only()
        .column(account::Column::Id)
        .filter(account::Column::OrganisationId.eq(org.0))
        .filter(account::Column::ArchivedAt.is_null());
    if live_only {
        q = q.filter(account::Column::Status.eq(AccountStatus::Active.as_str()));
    }
    if let Some(a) = after {
        q = q.filter(account::Column::Id.gt(a.0));
    }
    Ok(q.order_by_asc(account::Column::Id)
        .limit(limit)
        .into_tuple::<uuid::Uuid>()
        .all(db)
        .await?
        .into_iter()
        .map(AccountId)
        .collect())
}
