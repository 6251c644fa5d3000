//! Client accounts: the portfolio. Ownership (account manager, sales owner) decides who may write.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, Select,
};

use crate::entities::account;
use crate::enums::stored;
use crate::page::{self, KeyKind, KeyValue, Page, PageRequest, Sort};
use crate::store::{Versioned, check_version, is_unique_violation, update_if_version};
use crate::{
    AccountId, AccountStatus, Actor, Error, HealthBand, LifecycleStage, Money, OrganisationId, Problems, Result, Role,
    Tier, UserId, users, values,
};
use sea_orm::sea_query::ExprTrait as _;

/// Deepest account hierarchy accepted (group -> subsidiary -> ...).
pub const MAX_HIERARCHY_DEPTH: usize = 16;

/// A client account.
#[derive(Clone, Debug, PartialEq)]
pub struct Account {
    pub id: AccountId,
    pub organisation: OrganisationId,
    pub name: String,
    /// The integrator's id for this account (e.g. the CRM id), unique in the organisation.
    pub external_ref: Option<String>,
    pub segment: Option<String>,
    pub industry: Option<String>,
    pub tier: Tier,
    pub lifecycle_stage: LifecycleStage,
    pub status: AccountStatus,
    pub churned_on: Option<NaiveDate>,
    pub churn_reason: Option<String>,
    pub annual_value: Money,
    pub contract_start: Option<NaiveDate>,
    pub renewal_date: Option<NaiveDate>,
    pub account_manager: Option<UserId>,
    pub sales_owner: Option<UserId>,
    pub parent: Option<AccountId>,
    /// The default scorecard's latest score (0-100), if computed.
    pub health_score: Option<f64>,
    pub health_band: Option<HealthBand>,
    pub archived_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<account::Model> for Account {
    type Error = Error;
    fn try_from(m: account::Model) -> Result<Self> {
        Ok(Self {
            id: AccountId(m.id),
            organisation: OrganisationId(m.organisation_id),
            tier: stored(Tier::parse(&m.tier))?,
            lifecycle_stage: stored(LifecycleStage::parse(&m.lifecycle_stage))?,
            status: stored(AccountStatus::parse(&m.status))?,
            name: m.name,
            external_ref: m.external_ref,
            segment: m.segment,
            industry: m.industry,
            churned_on: m.churned_on,
            churn_reason: m.churn_reason,
            annual_value: Money { amount_minor: m.annual_value_minor, currency: m.currency },
            contract_start: m.contract_start,
            renewal_date: m.renewal_date,
            account_manager: m.account_manager_id.map(UserId),
            sales_owner: m.sales_owner_id.map(UserId),
            parent: m.parent_id.map(AccountId),
            health_score: m.health_score,
            health_band: m.health_band.as_deref().map(|b| stored(HealthBand::parse(b))).transpose()?,
            archived_at: m.archived_at,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

/// Input for a new account. Strings are raw input; `create` validates them.
#[derive(Clone, Debug)]
pub struct NewAccount {
    pub name: String,
    pub external_ref: Option<String>,
    pub segment: Option<String>,
    pub industry: Option<String>,
    pub tier: Tier,
    pub lifecycle_stage: Option<LifecycleStage>,
    /// Amount in minor units and currency code.
    pub annual_value: Option<(i64, String)>,
    pub contract_start: Option<NaiveDate>,
    pub renewal_date: Option<NaiveDate>,
    pub account_manager: Option<UserId>,
    pub sales_owner: Option<UserId>,
    pub parent: Option<AccountId>,
}

/// Changes to an account. `None` leaves a field alone; `Some(None)` clears a nullable one.
#[derive(Clone, Debug, Default)]
pub struct AccountPatch {
    pub name: Option<String>,
    pub external_ref: Option<Option<String>>,
    pub segment: Option<Option<String>>,
    pub industry: Option<Option<String>>,
    pub tier: Option<Tier>,
    pub lifecycle_stage: Option<LifecycleStage>,
    pub annual_value: Option<(i64, String)>,
    pub contract_start: Option<Option<NaiveDate>>,
    pub renewal_date: Option<Option<NaiveDate>>,
    pub account_manager: Option<Option<UserId>>,
    pub sales_owner: Option<Option<UserId>>,
    pub parent: Option<Option<AccountId>>,
    pub expected_version: Option<i32>,
}

/// Marks an account as lost or wins it back.
#[derive(Clone, Debug)]
pub enum StatusChange {
    Churned { on: NaiveDate, reason: String },
    Reactivated,
}

/// Filters for listing accounts; all given filters must hold.
#[derive(Clone, Debug, Default)]
pub struct AccountFilter {
    pub tiers: Option<Vec<Tier>>,
    pub segments: Option<Vec<String>>,
    pub statuses: Option<Vec<AccountStatus>>,
    pub lifecycle_stages: Option<Vec<LifecycleStage>>,
    pub account_manager: Option<UserId>,
    pub sales_owner: Option<UserId>,
    pub parent: Option<AccountId>,
    /// Renewal date on or after this day.
    pub renewal_from: Option<NaiveDate>,
    /// Renewal date on or before this day.
    pub renewal_to: Option<NaiveDate>,
    /// Case-insensitive substring of the name.
    pub name_contains: Option<String>,
    /// Only accounts whose default health band is one of these.
    pub health_bands: Option<Vec<HealthBand>>,
    /// Default health score at least this.
    pub health_score_min: Option<f64>,
    /// Default health score at most this.
    pub health_score_max: Option<f64>,
    /// Only accounts with an open risk in one of these categories.
    pub open_risk_categories: Option<Vec<crate::RiskCategory>>,
    /// Only churned accounts still without a post-mortem of their churn (true), or the others.
    pub post_mortem_due: Option<bool>,
    /// Conditions on custom attributes (at most `attributes::MAX_CONDITIONS`), all must hold.
    pub attributes: Vec<crate::attributes::AttributeCondition>,
    pub include_archived: bool,
}

/// Orderings for listing accounts.
#[derive(Clone, Copy, Debug, Default)]
pub enum AccountOrder {
    #[default]
    Name,
    RenewalDate,
    AnnualValue,
    CreatedAt,
    /// The default scorecard's score; accounts without one come last.
    HealthScore,
}

fn cols() -> Versioned<account::Column> {
    Versioned {
        id: account::Column::Id,
        organisation: account::Column::OrganisationId,
        version: account::Column::Version,
    }
}

/// The validated, complete state of an account's editable fields.
struct Fields {
    name: String,
    external_ref: Option<String>,
    segment: Option<String>,
    industry: Option<String>,
    tier: Tier,
    lifecycle_stage: LifecycleStage,
    annual_value: Money,
    contract_start: Option<NaiveDate>,
    renewal_date: Option<NaiveDate>,
    account_manager: Option<UserId>,
    sales_owner: Option<UserId>,
    parent: Option<AccountId>,
}

/// Raw (unvalidated) field values, from a `NewAccount` or an existing account plus a patch.
struct RawFields {
    name: String,
    external_ref: Option<String>,
    segment: Option<String>,
    industry: Option<String>,
    tier: Tier,
    lifecycle_stage: LifecycleStage,
    annual_value: (i64, String),
    contract_start: Option<NaiveDate>,
    renewal_date: Option<NaiveDate>,
    account_manager: Option<UserId>,
    sales_owner: Option<UserId>,
    parent: Option<AccountId>,
}

async fn validate(db: &DatabaseConnection, actor: &Actor, this: Option<AccountId>, raw: RawFields) -> Result<Fields> {
    let mut p = Problems::default();
    let name = p.check(&["name"], values::line(&raw.name, values::MAX_LINE));
    let external_ref = p.check(&["externalRef"], values::optional_line(raw.external_ref.as_deref(), 100));
    let segment = p.check(&["segment"], values::optional_line(raw.segment.as_deref(), 100));
    let industry = p.check(&["industry"], values::optional_line(raw.industry.as_deref(), 100));
    let annual_value = match Money::parse(raw.annual_value.0, &raw.annual_value.1) {
        Ok(m) => Some(m),
        Err((field, message)) => {
            p.push(&["annualValue", field], message);
            None
        }
    };
    if let (Some(start), Some(renewal)) = (raw.contract_start, raw.renewal_date)
        && renewal < start
    {
        p.push(&["renewalDate"], "must not be before the contract start");
    }

    let people: Vec<UserId> = raw.account_manager.iter().chain(raw.sales_owner.iter()).copied().collect();
    let found = users::by_ids(db, actor.organisation, &people).await?;
    for (field, id, allowed) in [
        ("accountManagerId", raw.account_manager, &[Role::AccountManager, Role::Manager, Role::Admin][..]),
        ("salesOwnerId", raw.sales_owner, &[Role::Sales, Role::AccountManager, Role::Manager, Role::Admin][..]),
    ] {
        let Some(id) = id else { continue };
        match found.get(&id) {
            None => return Err(Error::not_found("user", &[field])),
            Some(u) if u.archived_at.is_some() => p.push(&[field], format!("{} is archived", u.name)),
            Some(u) if !allowed.contains(&u.role) => {
                p.push(&[field], format!("{} has role {} which cannot hold this responsibility", u.name, u.role))
            }
            Some(_) => {}
        }
    }
    if let Some(parent) = raw.parent {
        check_parent(db, actor.organisation, this, parent, &mut p).await?;
    }
    p.finish()?;
    Ok(Fields {
        name: name.unwrap(),
        external_ref: external_ref.unwrap(),
        segment: segment.unwrap(),
        industry: industry.unwrap(),
        tier: raw.tier,
        lifecycle_stage: raw.lifecycle_stage,
        annual_value: annual_value.unwrap(),
        contract_start: raw.contract_start,
        renewal_date: raw.renewal_date,
        account_manager: raw.account_manager,
        sales_owner: raw.sales_owner,
        parent: raw.parent,
    })
}

/// The parent must exist in the organisation and must not make the hierarchy a cycle.
async fn check_parent(
    db: &DatabaseConnection,
    org: OrganisationId,
    this: Option<AccountId>,
    parent: AccountId,
    p: &mut Problems,
) -> Result<()> {
    let mut cursor = Some(parent);
    for _ in 0..MAX_HIERARCHY_DEPTH {
        let Some(id) = cursor else { return Ok(()) };
        if Some(id) == this {
            p.push(&["parentId"], "an account cannot be its own ancestor");
            return Ok(());
        }
        let Some(account) = get(db, org, id).await? else {
            return Err(Error::not_found("account", &["parentId"]));
        };
        cursor = account.parent;
    }
    p.push(&["parentId"], format!("account hierarchies are limited to {MAX_HIERARCHY_DEPTH} levels"));
    Ok(())
}

fn unique_ref_conflict(e: sea_orm::DbErr) -> Error {
    if is_unique_violation(&e) {
        Error::conflict(&["externalRef"], "another account already has this external reference")
    } else {
        e.into()
    }
}

/// Creates an account. Managers and admins may create any; account managers and sales owners
/// only accounts they themselves hold.
pub async fn create(db: &DatabaseConnection, actor: &Actor, new: NewAccount) -> Result<Account> {
    actor.require_writer()?;
    actor.require_account_writer(new.account_manager, new.sales_owner)?;
    let raw = RawFields {
        name: new.name,
        external_ref: new.external_ref,
        segment: new.segment,
        industry: new.industry,
        tier: new.tier,
        lifecycle_stage: new.lifecycle_stage.unwrap_or(LifecycleStage::Onboarding),
        annual_value: new.annual_value.unwrap_or((0, "EUR".into())),
        contract_start: new.contract_start,
        renewal_date: new.renewal_date,
        account_manager: new.account_manager,
        sales_owner: new.sales_owner,
        parent: new.parent,
    };
    let f = validate(db, actor, None, raw).await?;
    let now = values::now();
    let model = account::ActiveModel {
        id: Set(AccountId::generate().0),
        organisation_id: Set(actor.organisation.0),
        name: Set(f.name),
        external_ref: Set(f.external_ref),
        segment: Set(f.segment),
        industry: Set(f.industry),
        tier: Set(f.tier.as_str().into()),
        lifecycle_stage: Set(f.lifecycle_stage.as_str().into()),
        status: Set(AccountStatus::Active.as_str().into()),
        churned_on: Set(None),
        churn_reason: Set(None),
        annual_value_minor: Set(f.annual_value.amount_minor),
        currency: Set(f.annual_value.currency),
        contract_start: Set(f.contract_start),
        renewal_date: Set(f.renewal_date),
        account_manager_id: Set(f.account_manager.map(|u| u.0)),
        sales_owner_id: Set(f.sales_owner.map(|u| u.0)),
        parent_id: Set(f.parent.map(|a| a.0)),
        health_score: Set(None),
        health_band: Set(None),
        archived_at: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    };
    account::Entity::insert(model).exec_with_returning(db).await.map_err(unique_ref_conflict)?.try_into()
}

/// An account the actor may write, or why not.
async fn writable(db: &DatabaseConnection, actor: &Actor, id: AccountId, expected: Option<i32>) -> Result<Account> {
    actor.require_writer()?;
    let current = get(db, actor.organisation, id).await?.ok_or_else(|| Error::not_found("account", &["id"]))?;
    actor.require_account_writer(current.account_manager, current.sales_owner)?;
    check_version("account", &current.archived_at, current.version, expected)?;
    Ok(current)
}

async fn save(
    db: &DatabaseConnection,
    actor: &Actor,
    current: &Account,
    mut changes: account::ActiveModel,
) -> Result<Account> {
    changes.version = Set(current.version + 1);
    changes.updated_at = Set(values::now());
    let saved = update_if_version(db, cols(), changes, actor.organisation.0, current.id.0, current.version)
        .await
        .map_err(unique_ref_conflict)?;
    if !saved {
        return Err(Error::conflict(&["expectedVersion"], "account was changed concurrently; reload and retry"));
    }
    // Renewal date, tier, value and manager feed the risk rules: re-evaluate. (Outside the
    // update's transaction: a mark lost to a crash here is caught by the scheduled sweep.)
    crate::signals::mark_dirty(db, actor.organisation, &[current.id]).await?;
    get(db, actor.organisation, current.id).await?.ok_or_else(|| Error::not_found("account", &["id"]))
}

/// The account that a contact or interaction hangs off, checked for the actor's right to write
/// it; `field` names the input that referenced it.
pub(crate) async fn writable_parent(
    db: &DatabaseConnection,
    actor: &Actor,
    id: AccountId,
    field: &str,
) -> Result<Account> {
    actor.require_writer()?;
    let a = get(db, actor.organisation, id).await?.ok_or_else(|| Error::not_found("account", &[field]))?;
    actor.require_account_writer(a.account_manager, a.sales_owner)?;
    if a.archived_at.is_some() {
        return Err(Error::invalid(&[field], "account is archived"));
    }
    Ok(a)
}

/// Applies a patch. The actor must be allowed to write the account both before and after.
pub async fn update(db: &DatabaseConnection, actor: &Actor, id: AccountId, patch: AccountPatch) -> Result<Account> {
    let current = writable(db, actor, id, patch.expected_version).await?;
    let raw = RawFields {
        name: patch.name.unwrap_or_else(|| current.name.clone()),
        external_ref: patch.external_ref.unwrap_or_else(|| current.external_ref.clone()),
        segment: patch.segment.unwrap_or_else(|| current.segment.clone()),
        industry: patch.industry.unwrap_or_else(|| current.industry.clone()),
        tier: patch.tier.unwrap_or(current.tier),
        lifecycle_stage: patch.lifecycle_stage.unwrap_or(current.lifecycle_stage),
        annual_value: patch
            .annual_value
            .unwrap_or_else(|| (current.annual_value.amount_minor, current.annual_value.currency.clone())),
        contract_start: patch.contract_start.unwrap_or(current.contract_start),
        renewal_date: patch.renewal_date.unwrap_or(current.renewal_date),
        account_manager: patch.account_manager.unwrap_or(current.account_manager),
        sales_owner: patch.sales_owner.unwrap_or(current.sales_owner),
        parent: patch.parent.unwrap_or(current.parent),
    };
    actor
        .require_account_writer(raw.account_manager, raw.sales_owner)
        .map_err(|_| Error::Forbidden("you may not hand this account to someone else; ask a manager".into()))?;
    let f = validate(db, actor, Some(id), raw).await?;
    let changes = account::ActiveModel {
        name: Set(f.name),
        external_ref: Set(f.external_ref),
        segment: Set(f.segment),
        industry: Set(f.industry),
        tier: Set(f.tier.as_str().into()),
        lifecycle_stage: Set(f.lifecycle_stage.as_str().into()),
        annual_value_minor: Set(f.annual_value.amount_minor),
        currency: Set(f.annual_value.currency),
        contract_start: Set(f.contract_start),
        renewal_date: Set(f.renewal_date),
        account_manager_id: Set(f.account_manager.map(|u| u.0)),
        sales_owner_id: Set(f.sales_owner.map(|u| u.0)),
        parent_id: Set(f.parent.map(|a| a.0)),
        ..Default::default()
    };
    save(db, actor, &current, changes).await
}

/// Records that an account churned (with date and reason) or was won back.
pub async fn set_status(
    db: &DatabaseConnection,
    actor: &Actor,
    id: AccountId,
    change: StatusChange,
    expected_version: Option<i32>,
) -> Result<Account> {
    let current = writable(db, actor, id, expected_version).await?;
    let changes = match change {
        StatusChange::Churned { on, reason } => {
            let mut p = Problems::default();
            let reason = p.check(&["reason"], values::text(&reason, values::MAX_TEXT));
            if on > actor.today() {
                p.push(&["churnedOn"], "must not be in the future");
            }
            if current.status == AccountStatus::Churned {
                p.push(&["status"], "account is already churned");
            }
            p.finish()?;
            account::ActiveModel {
                status: Set(AccountStatus::Churned.as_str().into()),
                churned_on: Set(Some(on)),
                churn_reason: Set(reason),
                ..Default::default()
            }
        }
        StatusChange::Reactivated => {
            if current.status == AccountStatus::Active {
                return Err(Error::invalid(&["status"], "account is already active"));
            }
            account::ActiveModel {
                status: Set(AccountStatus::Active.as_str().into()),
                churned_on: Set(None),
                churn_reason: Set(None),
                ..Default::default()
            }
        }
    };
    save(db, actor, &current, changes).await
}

/// Archives an account: it leaves lists (unless asked for) and can no longer be changed.
pub async fn archive(
    db: &DatabaseConnection,
    actor: &Actor,
    id: AccountId,
    expected_version: Option<i32>,
) -> Result<Account> {
    let current = writable(db, actor, id, expected_version).await?;
    save(db, actor, &current, account::ActiveModel { archived_at: Set(Some(values::now())), ..Default::default() })
        .await
}

/// One account of the organisation.
pub async fn get(db: &DatabaseConnection, org: OrganisationId, id: AccountId) -> Result<Option<Account>> {
    account::Entity::find_by_id(id.0)
        .filter(account::Column::OrganisationId.eq(org.0))
        .one(db)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

/// The account with this external reference.
pub async fn by_external_ref(
    db: &DatabaseConnection,
    org: OrganisationId,
    external_ref: &str,
) -> Result<Option<Account>> {
    account::Entity::find()
        .filter(account::Column::OrganisationId.eq(org.0))
        .filter(account::Column::ExternalRef.eq(external_ref.trim()))
        .one(db)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

/// Many accounts at once (batch loading); other organisations' ids are absent.
pub async fn by_ids(
    db: &DatabaseConnection,
    org: OrganisationId,
    ids: &[AccountId],
) -> Result<HashMap<AccountId, Account>> {
    let rows = account::Entity::find()
        .filter(account::Column::OrganisationId.eq(org.0))
        .filter(account::Column::Id.is_in(ids.iter().map(|i| i.0)))
        .all(db)
        .await?;
    rows.into_iter().map(|m| Account::try_from(m).map(|a| (a.id, a))).collect()
}

/// How many active, unarchived accounts each user manages (for capacity).
pub async fn managed_counts(
    db: &DatabaseConnection,
    org: OrganisationId,
    ids: &[UserId],
) -> Result<HashMap<UserId, u64>> {
    let rows = account::Entity::find()
        .filter(account::Column::OrganisationId.eq(org.0))
        .filter(account::Column::AccountManagerId.is_in(ids.iter().map(|i| i.0)))
        .filter(account::Column::ArchivedAt.is_null())
        .filter(account::Column::Status.eq(AccountStatus::Active.as_str()))
        .all(db)
        .await?;
    let mut counts: HashMap<UserId, u64> = ids.iter().map(|id| (*id, 0)).collect();
    for m in rows {
        if let Some(u) = m.account_manager_id {
            *counts.entry(UserId(u)).or_default() += 1;
        }
    }
    Ok(counts)
}

fn filtered(org: OrganisationId, f: &AccountFilter) -> Select<account::Entity> {
    use account::Column as C;
    let mut cond = Condition::all().add(C::OrganisationId.eq(org.0));
    if let Some(tiers) = &f.tiers {
        cond = cond.add(C::Tier.is_in(tiers.iter().map(|t| t.as_str())));
    }
    if let Some(segments) = &f.segments {
        cond = cond.add(C::Segment.is_in(segments.iter().map(|s| s.trim().to_owned())));
    }
    if let Some(statuses) = &f.statuses {
        cond = cond.add(C::Status.is_in(statuses.iter().map(|s| s.as_str())));
    }
    if let Some(stages) = &f.lifecycle_stages {
        cond = cond.add(C::LifecycleStage.is_in(stages.iter().map(|s| s.as_str())));
    }
    if let Some(u) = f.account_manager {
        cond = cond.add(C::AccountManagerId.eq(u.0));
    }
    if let Some(u) = f.sales_owner {
        cond = cond.add(C::SalesOwnerId.eq(u.0));
    }
    if let Some(a) = f.parent {
        cond = cond.add(C::ParentId.eq(a.0));
    }
    if let Some(d) = f.renewal_from {
        cond = cond.add(C::RenewalDate.gte(d));
    }
    if let Some(d) = f.renewal_to {
        cond = cond.add(C::RenewalDate.lte(d));
    }
    if let Some(s) = f.name_contains.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let escaped = s.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        cond = cond.add(
            sea_orm::sea_query::Expr::expr(sea_orm::sea_query::Func::lower(sea_orm::sea_query::Expr::col(C::Name)))
                .like(sea_orm::sea_query::LikeExpr::new(format!("%{escaped}%")).escape('\\')),
        );
    }
    if let Some(bands) = &f.health_bands {
        cond = cond.add(C::HealthBand.is_in(bands.iter().map(|b| b.as_str())));
    }
    if let Some(min) = f.health_score_min {
        cond = cond.add(C::HealthScore.gte(min));
    }
    if let Some(max) = f.health_score_max {
        cond = cond.add(C::HealthScore.lte(max));
    }
    if let Some(categories) = &f.open_risk_categories {
        use crate::entities::risk;
        let open = crate::RiskStatus::ALL.iter().filter(|s| s.is_open()).map(|s| s.as_str());
        let with_risk = sea_orm::sea_query::Query::select()
            .column(risk::Column::AccountId)
            .from(risk::Entity)
            .and_where(risk::Column::OrganisationId.eq(org.0))
            .and_where(risk::Column::Status.is_in(open))
            .and_where(risk::Column::Category.is_in(categories.iter().map(|c| c.as_str())))
            .to_owned();
        cond = cond.add(C::Id.in_subquery(with_risk));
    }
    if let Some(due) = f.post_mortem_due {
        use sea_orm::sea_query::ExprTrait;
        let churned = C::Status.eq(crate::AccountStatus::Churned.as_str());
        let reviewed = crate::post_mortems::churn_reviewed();
        cond = cond.add(if due {
            Condition::all().add(churned).add(reviewed.not())
        } else {
            Condition::any().add(C::Status.ne(crate::AccountStatus::Churned.as_str())).add(reviewed)
        });
    }
    for c in &f.attributes {
        cond = cond.add(C::Id.in_subquery(crate::attributes::matching(org, c)));
    }
    if !f.include_archived {
        cond = cond.add(C::ArchivedAt.is_null());
    }
    account::Entity::find().filter(cond)
}

/// Validates the filter's own consistency.
pub fn check_filter(f: &AccountFilter) -> Result<()> {
    if let (Some(from), Some(to)) = (f.renewal_from, f.renewal_to)
        && to < from
    {
        return Err(Error::invalid(&["filter", "renewalTo"], "must not be before renewalFrom"));
    }
    for (field, v) in [("healthScoreMin", f.health_score_min), ("healthScoreMax", f.health_score_max)] {
        if v.is_some_and(|v| !(0.0..=100.0).contains(&v)) {
            return Err(Error::invalid(&["filter", field], "must be between 0 and 100"));
        }
    }
    crate::attributes::check_conditions(&f.attributes)
}

/// A page of accounts.
pub async fn list(
    db: &DatabaseConnection,
    org: OrganisationId,
    filter: &AccountFilter,
    order: AccountOrder,
    descending: bool,
    page: &PageRequest,
) -> Result<Page<Account>> {
    check_filter(filter)?;
    use account::Column as C;
    type Key = fn(&account::Model) -> KeyValue;
    let (column, kind, nullable, key): (C, KeyKind, bool, Key) = match order {
        AccountOrder::Name => (C::Name, KeyKind::Text, false, |m| KeyValue::Text(m.name.clone())),
        AccountOrder::RenewalDate => (C::RenewalDate, KeyKind::Date, true, |m| m.renewal_date.into()),
        AccountOrder::AnnualValue => {
            (C::AnnualValueMinor, KeyKind::Int, false, |m| KeyValue::Int(m.annual_value_minor))
        }
        AccountOrder::CreatedAt => (C::CreatedAt, KeyKind::Time, false, |m| KeyValue::Time(m.created_at)),
        AccountOrder::HealthScore => (C::HealthScore, KeyKind::Float, true, |m| m.health_score.into()),
    };
    let sort = Sort { column, kind, nullable, descending };
    page::fetch(db, filtered(org, filter), sort, Some(C::Id), page, key, |m| m.id).await?.try_map(TryInto::try_into)
}

/// How many accounts match the filter.
pub async fn count(db: &DatabaseConnection, org: OrganisationId, filter: &AccountFilter) -> Result<u64> {
    check_filter(filter)?;
    Ok(filtered(org, filter).count(db).await?)
}

/// An account as a bulk upsert sends it, keyed by its external reference. Omitted fields stay
/// as they are on an existing account (bulk upserts do not clear fields); a new account needs
/// `name` (tier defaults to STANDARD, lifecycle stage to ONBOARDING, annual value to 0 EUR).
#[derive(Clone, Debug, Default)]
pub struct AccountUpsert {
    pub external_ref: String,
    pub name: Option<String>,
    pub segment: Option<String>,
    pub industry: Option<String>,
    pub tier: Option<Tier>,
    pub lifecycle_stage: Option<LifecycleStage>,
    /// Amount in minor units and currency code.
    pub annual_value: Option<(crate::signals::Coerced<i64>, String)>,
    pub contract_start: Option<crate::signals::Coerced<NaiveDate>>,
    pub renewal_date: Option<crate::signals::Coerced<NaiveDate>>,
    pub account_manager: Option<UserId>,
    /// Custom attribute values written with the account.
    pub attributes: Vec<crate::attributes::Assignment>,
}

/// Creates or updates up to 5,000 accounts by external reference, with their custom attribute
/// values, in one transaction (multi-row inserts, compare-and-set updates, dirty marks).
pub async fn upsert_many(
    db: &DatabaseConnection,
    actor: &Actor,
    items: Vec<AccountUpsert>,
) -> Result<crate::signals::BatchReport> {
    use crate::signals::{INSERT_CHUNK, ItemStatus, Outcomes, check_batch, reject_repeats};
    use crate::{ErrorCode, attributes};
    check_batch(actor, items.len())?;
    let org = actor.organisation;
    let mut out = Outcomes::new(items.len());
    let refs: Vec<Option<String>> = items
        .iter()
        .enumerate()
        .map(|(i, item)| out.check(i, &["externalRef"], values::line(&item.external_ref, 100)))
        .collect();
    reject_repeats(refs.iter().enumerate().filter_map(|(i, r)| r.clone().map(|r| (i, r))), &["externalRef"], &mut out);

    let mut existing: HashMap<String, account::Model> = HashMap::new();
    let wanted: Vec<String> = refs.iter().flatten().cloned().collect();
    for chunk in wanted.chunks(INSERT_CHUNK) {
        for m in account::Entity::find()
            .filter(account::Column::OrganisationId.eq(actor.organisation.0))
            .filter(account::Column::ExternalRef.is_in(chunk.iter().cloned()))
            .all(db)
            .await?
        {
            if let Some(r) = m.external_ref.clone() {
                existing.insert(r, m);
            }
        }
    }
    let managers: Vec<UserId> = items.iter().filter_map(|i| i.account_manager).collect();
    let people = users::by_ids(db, org, &managers).await?;
    let defs = attributes::definitions(db, org).await?;
    let existing_ids: Vec<AccountId> = existing.values().map(|m| AccountId(m.id)).collect();
    let stored = attributes::stored_values(db, org, &existing_ids).await?;

    let now = values::now();
    let (mut inserts, mut updates, mut attribute_writes, mut touched) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (i, item) in items.into_iter().enumerate() {
        let Some(external_ref) = refs[i].clone() else { continue };
        if !out.is_open(i) {
            continue;
        }
        let current = existing.get(&external_ref);
        if let Some(c) = current {
            if c.archived_at.is_some() {
                out.reject(i, ErrorCode::Invalid, &["externalRef"], "account is archived");
                continue;
            }
            if let Err(e) = actor.require_account_writer(c.account_manager_id.map(UserId), c.sales_owner_id.map(UserId))
            {
                out.reject(i, ErrorCode::Forbidden, &["externalRef"], e.to_string());
                continue;
            }
        }
        let name = match (&item.name, current) {
            (Some(n), _) => out.check(i, &["name"], values::line(n, values::MAX_LINE)),
            (None, Some(c)) => Some(c.name.clone()),
            (None, None) => {
                out.reject(i, ErrorCode::Invalid, &["name"], "a new account needs a name");
                None
            }
        };
        let segment = match &item.segment {
            Some(s) => out.check(i, &["segment"], values::optional_line(Some(s), 100)),
            None => Some(current.and_then(|c| c.segment.clone())),
        };
        let industry = match &item.industry {
            Some(s) => out.check(i, &["industry"], values::optional_line(Some(s), 100)),
            None => Some(current.and_then(|c| c.industry.clone())),
        };
        let annual_value = match item.annual_value {
            Some((amount, currency)) => match amount {
                Err(m) => {
                    out.reject(i, ErrorCode::Invalid, &["annualValue", "amountMinor"], m);
                    None
                }
                Ok(a) => match Money::parse(a, &currency) {
                    Ok(m) => Some(m),
                    Err((field, m)) => {
                        out.reject(i, ErrorCode::Invalid, &["annualValue", field], m);
                        None
                    }
                },
            },
            None => Some(current.map_or_else(
                || Money { amount_minor: 0, currency: "EUR".into() },
                |c| Money { amount_minor: c.annual_value_minor, currency: c.currency.clone() },
            )),
        };
        let contract_start = match item.contract_start {
            Some(d) => out.check(i, &["contractStart"], d).map(Some),
            None => Some(current.and_then(|c| c.contract_start)),
        };
        let renewal_date = match item.renewal_date {
            Some(d) => out.check(i, &["renewalDate"], d).map(Some),
            None => Some(current.and_then(|c| c.renewal_date)),
        };
        if let (Some(Some(start)), Some(Some(renewal))) = (contract_start, renewal_date)
            && renewal < start
        {
            out.reject(i, ErrorCode::Invalid, &["renewalDate"], "must not be before the contract start");
        }
        let manager = item.account_manager.or_else(|| current.and_then(|c| c.account_manager_id.map(UserId)));
        if let Some(id) = item.account_manager {
            match people.get(&id) {
                None => out.reject(i, ErrorCode::NotFound, &["accountManagerId"], "no such user"),
                Some(u) if u.archived_at.is_some() => {
                    out.reject(i, ErrorCode::Invalid, &["accountManagerId"], format!("{} is archived", u.name))
                }
                Some(u) if !matches!(u.role, Role::AccountManager | Role::Manager | Role::Admin) => out.reject(
                    i,
                    ErrorCode::Invalid,
                    &["accountManagerId"],
                    format!("{} has role {} which cannot hold this responsibility", u.name, u.role),
                ),
                Some(_) => {}
            }
        }
        let sales = current.and_then(|c| c.sales_owner_id.map(UserId));
        if let Err(e) = actor.require_account_writer(manager, sales) {
            out.reject(i, ErrorCode::Forbidden, &["accountManagerId"], e.to_string());
        }
        let changes = attributes::check_assignments(&defs, i, "attributes", &item.attributes, &mut out);
        let tier = item.tier.map(|t| t.as_str().to_owned());
        let stage = item.lifecycle_stage.map(|s| s.as_str().to_owned());
        let (Some(name), Some(segment), Some(industry), Some(money), Some(start), Some(renewal), Some(changes), true) =
            (name, segment, industry, annual_value, contract_start, renewal_date, changes, out.is_open(i))
        else {
            continue;
        };
        match current {
            Some(c) => {
                let tier = tier.unwrap_or_else(|| c.tier.clone());
                let stage = stage.unwrap_or_else(|| c.lifecycle_stage.clone());
                let id = AccountId(c.id);
                let fields_changed = name != c.name
                    || segment != c.segment
                    || industry != c.industry
                    || tier != c.tier
                    || stage != c.lifecycle_stage
                    || money.amount_minor != c.annual_value_minor
                    || money.currency != c.currency
                    || start != c.contract_start
                    || renewal != c.renewal_date
                    || manager.map(|u| u.0) != c.account_manager_id;
                let attributes_changed = attributes::differs(&stored, id, &changes);
                if !fields_changed && !attributes_changed {
                    out.set(i, ItemStatus::Duplicate);
                    continue;
                }
                out.set(i, ItemStatus::Updated);
                touched.push(id);
                if fields_changed {
                    updates.push((
                        c.version,
                        account::ActiveModel {
                            id: Set(c.id),
                            name: Set(name),
                            segment: Set(segment),
                            industry: Set(industry),
                            tier: Set(tier),
                            lifecycle_stage: Set(stage),
                            annual_value_minor: Set(money.amount_minor),
                            currency: Set(money.currency),
                            contract_start: Set(start),
                            renewal_date: Set(renewal),
                            account_manager_id: Set(manager.map(|u| u.0)),
                            version: Set(c.version + 1),
                            updated_at: Set(now),
                            ..Default::default()
                        },
                    ));
                }
                if attributes_changed {
                    attribute_writes.push((id, changes));
                }
            }
            None => {
                let id = AccountId::generate();
                out.set(i, ItemStatus::Accepted);
                touched.push(id);
                inserts.push(account::ActiveModel {
                    id: Set(id.0),
                    organisation_id: Set(org.0),
                    name: Set(name),
                    external_ref: Set(Some(external_ref)),
                    segment: Set(segment),
                    industry: Set(industry),
                    tier: Set(tier.unwrap_or_else(|| Tier::Standard.as_str().into())),
                    lifecycle_stage: Set(stage.unwrap_or_else(|| LifecycleStage::Onboarding.as_str().into())),
                    status: Set(AccountStatus::Active.as_str().into()),
                    churned_on: Set(None),
                    churn_reason: Set(None),
                    annual_value_minor: Set(money.amount_minor),
                    currency: Set(money.currency),
                    contract_start: Set(start),
                    renewal_date: Set(renewal),
                    account_manager_id: Set(manager.map(|u| u.0)),
                    sales_owner_id: Set(None),
                    parent_id: Set(None),
                    health_score: Set(None),
                    health_band: Set(None),
                    archived_at: Set(None),
                    version: Set(1),
                    created_at: Set(now),
                    updated_at: Set(now),
                });
                if !changes.is_empty() {
                    attribute_writes.push((id, changes));
                }
            }
        }
    }
    let dirty = touched.clone();
    crate::db::write::<_, _, _, Error>(db, |tx| {
        Box::pin(async move {
            for chunk in inserts.chunks(INSERT_CHUNK) {
                account::Entity::insert_many(chunk.to_vec()).exec_without_returning(tx).await?;
            }
            for (version, changes) in updates {
                let id = changes.id.clone().unwrap();
                if !update_if_version(tx, cols(), changes, org.0, id, version).await? {
                    return Err(Error::conflict(
                        &["items"],
                        "an account of this batch changed meanwhile; retry the batch",
                    ));
                }
            }
            attributes::write_changes(tx, org, &attribute_writes).await?;
            crate::signals::mark_dirty(tx, org, &dirty).await
        })
    })
    .await
    .map_err(crate::signals::batch_race("accounts"))?;
    Ok(out.finish(touched))
}

/// A churn outcome or a reactivation, as a bulk call sends it.
#[derive(Clone, Debug)]
pub enum OutcomeChange {
    Churned {
        on: crate::signals::Coerced<NaiveDate>,
        reason: String,
    },
    Reactivated,
    /// The client's item said neither (or both); the reason is reported on the item.
    Malformed(String),
}

/// One account's outcome.
#[derive(Clone, Debug)]
pub struct OutcomeInput {
    pub account: crate::signals::AccountRef,
    pub change: OutcomeChange,
}

/// Records up to 5,000 churn outcomes and reactivations under the rules of [`set_status`]:
/// a churn date not in the future and a reason. Idempotent: the same churn again is a
/// DUPLICATE (a new reason on the same date an UPDATE), a churn on another date than the one
/// recorded a CONFLICT; reactivating an active account is a DUPLICATE.
pub async fn record_outcomes(
    db: &DatabaseConnection,
    actor: &Actor,
    items: Vec<OutcomeInput>,
) -> Result<crate::signals::BatchReport> {
    use crate::ErrorCode;
    use crate::signals::{ItemStatus, reject_repeats};
    let org = actor.organisation;
    let (mut out, ids) = crate::signals::open_batch(db, actor, &items, |i| &i.account).await?;
    reject_repeats(ids.iter().enumerate().filter_map(|(i, a)| a.map(|a| (i, a))), &["account"], &mut out);
    let found: Vec<AccountId> = ids.iter().flatten().copied().collect();
    let current = by_ids(db, org, &found).await?;
    let today = actor.today();
    let now = values::now();
    let (mut updates, mut touched) = (Vec::new(), Vec::new());
    for (i, item) in items.into_iter().enumerate() {
        let Some(c) = ids[i].and_then(|a| current.get(&a)) else { continue };
        if !out.is_open(i) {
            continue;
        }
        let changes = match item.change {
            OutcomeChange::Churned { on, reason } => {
                let reason = out.check(i, &["churned", "reason"], values::text(&reason, values::MAX_TEXT));
                let on = out.check(i, &["churned", "churnedOn"], on);
                if on.is_some_and(|d| d > today) {
                    out.reject(i, ErrorCode::Invalid, &["churned", "churnedOn"], "must not be in the future");
                }
                let (Some(on), Some(reason), true) = (on, reason, out.is_open(i)) else { continue };
                if c.status == AccountStatus::Churned {
                    if c.churned_on != Some(on) {
                        let recorded = c.churned_on.map_or_else(|| "another day".to_owned(), |d| d.to_string());
                        out.reject(
                            i,
                            ErrorCode::Conflict,
                            &["churned", "churnedOn"],
                            format!("the account is already recorded as churned on {recorded}"),
                        );
                        continue;
                    }
                    if c.churn_reason.as_deref() == Some(reason.as_str()) {
                        out.set(i, ItemStatus::Duplicate);
                        continue;
                    }
                    out.set(i, ItemStatus::Updated);
                } else {
                    out.set(i, ItemStatus::Accepted);
                }
                account::ActiveModel {
                    id: Set(c.id.0),
                    status: Set(AccountStatus::Churned.as_str().into()),
                    churned_on: Set(Some(on)),
                    churn_reason: Set(Some(reason)),
                    ..Default::default()
                }
            }
            OutcomeChange::Malformed(m) => {
                out.reject(i, ErrorCode::Invalid, &[], m);
                continue;
            }
            OutcomeChange::Reactivated => {
                if c.status == AccountStatus::Active {
                    out.set(i, ItemStatus::Duplicate);
                    continue;
                }
                out.set(i, ItemStatus::Accepted);
                account::ActiveModel {
                    id: Set(c.id.0),
                    status: Set(AccountStatus::Active.as_str().into()),
                    churned_on: Set(None),
                    churn_reason: Set(None),
                    ..Default::default()
                }
            }
        };
        let mut changes = changes;
        changes.version = Set(c.version + 1);
        changes.updated_at = Set(now);
        touched.push(c.id);
        updates.push((c.version, changes));
    }
    let dirty = touched.clone();
    crate::db::write::<_, _, _, Error>(db, |tx| {
        Box::pin(async move {
            for (version, changes) in updates {
                let id = changes.id.clone().unwrap();
                if !update_if_version(tx, cols(), changes, org.0, id, version).await? {
                    return Err(Error::conflict(
                        &["items"],
                        "an account of this batch changed meanwhile; retry the batch",
                    ));
                }
            }
            crate::signals::mark_dirty(tx, org, &dirty).await
        })
    })
    .await?;
    Ok(out.finish(touched))
}
