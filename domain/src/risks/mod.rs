//! Risks to accounts: raised by the rule engine from findings (see `apply`) or by people, moved
//! through an audited lifecycle, prioritised by impact and likelihood, and summarised as a risk
//! matrix and a portfolio view. Also what the rule engine stores around them: per-organisation
//! rule settings (`settings`), the run log and the evaluation queue (`runs`), and the account
//! snapshots rules evaluate (`snapshot`).

mod apply;
pub mod runs;
pub mod settings;
pub mod snapshot;
pub mod updates;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, QuerySelect, Select,
};
use serde::{Deserialize, Serialize};

pub use apply::{AccountOutcome, ApplyStats, RuleOutcome, apply};

use crate::entities::{account, risk, risk_event};
use crate::enums::stored;
use crate::page::{self, KeyKind, KeyValue, Page, PageRequest, Sort};
use crate::store::{Versioned, update_if_version};
use crate::{
    AccountId, Actor, Error, Money, OrganisationId, Problems, Result, RiskCategory, RiskEventId, RiskEventKind, RiskId,
    RiskSource, RiskStatus, Tier, UserId, accounts, users, values,
};

/// A named value behind a finding: the numbers (or facts) that made a rule fire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl Evidence {
    pub fn number(name: &str, value: f64) -> Self {
        Self { name: name.to_owned(), number: Some(value), text: None }
    }
    pub fn text(name: &str, value: impl Into<String>) -> Self {
        Self { name: name.to_owned(), number: None, text: Some(value.into()) }
    }
}

/// What a rule reports about an account: a potential risk, with its evidence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable within the rule for the same underlying problem (e.g. the invoice number), so a
    /// repeat refreshes the same risk instead of raising another.
    pub key: String,
    pub category: RiskCategory,
    pub title: String,
    pub detail: String,
    /// Suggested impact, 1-5.
    pub impact: i32,
    /// Suggested likelihood, 1-5.
    pub likelihood: i32,
    pub evidence: Vec<Evidence>,
    pub suggested_playbook: Option<String>,
}

/// The stored fingerprint of a rule's finding: unique per account while the risk is open.
pub fn fingerprint(rule_key: &str, finding_key: &str) -> String {
    format!("{rule_key}:{finding_key}")
}

/// Impact x likelihood, 1-25.
pub fn priority(impact: i32, likelihood: i32) -> i32 {
    impact * likelihood
}

/// Likelihood as a probability: the middle of its fifth of the scale (1 -> 10%, 3 -> 50%, 5 -> 90%).
pub fn probability(likelihood: i32) -> f64 {
    (f64::from(likelihood.clamp(1, 5)) * 2.0 - 1.0) / 10.0
}

/// Expected loss: likelihood as a probability times the account's annual value (rounded to
/// whole minor units).
pub fn expected_loss(likelihood: i32, annual_value: &Money) -> Money {
    Money {
        amount_minor: (annual_value.amount_minor as f64 * probability(likelihood)).round() as i64,
        currency: annual_value.currency.clone(),
    }
}

/// A risk to an account.
#[derive(Clone, Debug, PartialEq)]
pub struct Risk {
    pub id: RiskId,
    pub organisation: OrganisationId,
    pub account: AccountId,
    pub source: RiskSource,
    pub rule_key: Option<String>,
    pub fingerprint: String,
    pub category: RiskCategory,
    pub title: String,
    pub detail: String,
    pub status: RiskStatus,
    pub impact: i32,
    pub likelihood: i32,
    pub priority: i32,
    /// Impact and likelihood were set by a person; rule refreshes keep them.
    pub assessed: bool,
    pub evidence: Vec<Evidence>,
    pub suggested_playbook: Option<String>,
    pub owner: Option<UserId>,
    pub created_by: Option<UserId>,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// When the rule stopped firing (null while it fires, and for manual risks).
    pub cleared_at: Option<DateTime<Utc>>,
    /// The rule's observations when it stopped firing: the recovery.
    pub clear_evidence: Vec<Evidence>,
    pub closed_at: Option<DateTime<Utc>>,
    /// For dismissed rule risks: the same finding is not raised again before this.
    pub dismissed_until: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl RiskStatus {
    /// Still needs attention (identified, validated or mitigating).
    pub fn is_open(self) -> bool {
        matches!(self, RiskStatus::Identified | RiskStatus::Validated | RiskStatus::Mitigating)
    }

    /// The states a person may move a risk to from this one.
    pub fn next(self) -> &'static [RiskStatus] {
        use RiskStatus::*;
        match self {
            Identified => &[Validated, Dismissed, Materialized],
            Validated => &[Mitigating, Resolved, Materialized, Dismissed],
            Mitigating => &[Resolved, Materialized],
            Resolved | Materialized | Dismissed => &[],
        }
    }
}

fn evidence_json(e: &[Evidence]) -> Result<String> {
    serde_json::to_string(e).map_err(Error::internal)
}

fn parse_evidence(s: &str) -> Result<Vec<Evidence>> {
    serde_json::from_str(s).map_err(Error::internal)
}

impl TryFrom<risk::Model> for Risk {
    type Error = Error;
    fn try_from(m: risk::Model) -> Result<Self> {
        Ok(Self {
            id: RiskId(m.id),
            organisation: OrganisationId(m.organisation_id),
            account: AccountId(m.account_id),
            source: stored(RiskSource::parse(&m.source))?,
            rule_key: m.rule_key,
            fingerprint: m.fingerprint,
            category: stored(RiskCategory::parse(&m.category))?,
            title: m.title,
            detail: m.detail,
            status: stored(RiskStatus::parse(&m.status))?,
            impact: m.impact,
            likelihood: m.likelihood,
            priority: m.priority,
            assessed: m.assessed,
            evidence: parse_evidence(&m.evidence)?,
            suggested_playbook: m.suggested_playbook,
            owner: m.owner_id.map(UserId),
            created_by: m.created_by.map(UserId),
            first_seen_at: m.first_seen_at,
            last_seen_at: m.last_seen_at,
            cleared_at: m.cleared_at,
            clear_evidence: m.clear_evidence.as_deref().map(parse_evidence).transpose()?.unwrap_or_default(),
            closed_at: m.closed_at,
            dismissed_until: m.dismissed_until,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

/// One entry of a risk's audit trail.
#[derive(Clone, Debug, PartialEq)]
pub struct RiskEvent {
    pub id: RiskEventId,
    pub risk: RiskId,
    pub at: DateTime<Utc>,
    /// Who did it; `None` for the rule engine.
    pub actor: Option<UserId>,
    pub kind: RiskEventKind,
    pub from: Option<RiskStatus>,
    pub to: Option<RiskStatus>,
    pub note: Option<String>,
}

impl TryFrom<risk_event::Model> for RiskEvent {
    type Error = Error;
    fn try_from(m: risk_event::Model) -> Result<Self> {
        Ok(Self {
            id: RiskEventId(m.id),
            risk: RiskId(m.risk_id),
            at: m.at,
            actor: m.actor_id.map(UserId),
            kind: stored(RiskEventKind::parse(&m.kind))?,
            from: m.from_status.as_deref().map(|s| stored(RiskStatus::parse(s))).transpose()?,
            to: m.to_status.as_deref().map(|s| stored(RiskStatus::parse(s))).transpose()?,
            note: m.note,
        })
    }
}

/// An audit entry to write.
pub(crate) struct NewEvent<'a> {
    pub risk: RiskId,
    pub actor: Option<UserId>,
    pub kind: RiskEventKind,
    pub from: Option<RiskStatus>,
    pub to: Option<RiskStatus>,
    pub note: Option<&'a str>,
}

pub(crate) fn event_row(org: OrganisationId, at: DateTime<Utc>, e: NewEvent<'_>) -> risk_event::ActiveModel {
    risk_event::ActiveModel {
        id: Set(RiskEventId::generate().0),
        organisation_id: Set(org.0),
        risk_id: Set(e.risk.0),
        at: Set(at),
        actor_id: Set(e.actor.map(|u| u.0)),
        kind: Set(e.kind.as_str().to_owned()),
        from_status: Set(e.from.map(|s| s.as_str().to_owned())),
        to_status: Set(e.to.map(|s| s.as_str().to_owned())),
        note: Set(e.note.map(str::to_owned)),
    }
}

pub(crate) fn cols() -> Versioned<risk::Column> {
    Versioned { id: risk::Column::Id, organisation: risk::Column::OrganisationId, version: risk::Column::Version }
}

/// A risk raised by a person (e.g. competitive intelligence).
#[derive(Clone, Debug)]
pub struct NewRisk {
    pub account: AccountId,
    pub category: RiskCategory,
    pub title: String,
    pub detail: String,
    pub impact: i32,
    pub likelihood: i32,
    pub owner: Option<UserId>,
    pub evidence: Vec<Evidence>,
    pub note: Option<String>,
}

fn scale(p: &mut Problems, field: &str, v: i32) {
    if !(1..=5).contains(&v) {
        p.push(&[field], format!("must be between 1 and 5, got {v}"));
    }
}

/// The new owner, if any: an unknown user is NOT_FOUND, an archived one a problem.
async fn check_owner(
    db: &DatabaseConnection,
    org: OrganisationId,
    owner: Option<UserId>,
    p: &mut Problems,
) -> Result<Option<crate::User>> {
    let Some(u) = owner else { return Ok(None) };
    let user = users::get(db, org, u).await?.ok_or_else(|| Error::not_found("user", &["ownerId"]))?;
    if user.archived_at.is_some() {
        p.push(&["ownerId"], "user is archived");
    }
    Ok(Some(user))
}

fn check_evidence(p: &mut Problems, evidence: &[Evidence]) {
    if evidence.len() > 50 {
        p.push(&["evidence"], "at most 50 evidence items");
    }
    for (i, e) in evidence.iter().enumerate() {
        let idx = i.to_string();
        if e.name.trim().is_empty() || e.name.len() > values::MAX_LINE {
            p.push(&["evidence", &idx, "name"], "must be 1-200 characters");
        }
        if e.number.is_some() == e.text.is_some() {
            p.push(&["evidence", &idx], "give exactly one of number and text");
        }
        if e.number.is_some_and(|n| !n.is_finite()) {
            p.push(&["evidence", &idx, "number"], "must be a finite number");
        }
        if e.text.as_ref().is_some_and(|t| t.len() > values::MAX_LINE) {
            p.push(&["evidence", &idx, "text"], "at most 200 characters");
        }
    }
}

/// Raises a risk by hand. Anyone who may write the account may raise a risk on it.
pub async fn create(db: &DatabaseConnection, actor: &Actor, new: NewRisk) -> Result<Risk> {
    let account = accounts::writable_parent(db, actor, new.account, "accountId").await?;
    let mut p = Problems::default();
    let title = p.check(&["title"], values::line(&new.title, 300));
    let detail = p.check(&["detail"], values::text(&new.detail, values::MAX_TEXT));
    let note = new.note.as_deref().and_then(|n| p.check(&["note"], values::text(n, values::MAX_TEXT)));
    scale(&mut p, "impact", new.impact);
    scale(&mut p, "likelihood", new.likelihood);
    check_evidence(&mut p, &new.evidence);
    check_owner(db, actor.organisation, new.owner, &mut p).await?;
    p.finish()?;
    let org = actor.organisation;
    let id = RiskId::generate();
    let now = values::now();
    let fp = format!("manual:{id}");
    let row = risk::ActiveModel {
        id: Set(id.0),
        organisation_id: Set(org.0),
        account_id: Set(account.id.0),
        source: Set(RiskSource::Manual.as_str().into()),
        rule_key: Set(None),
        fingerprint: Set(fp.clone()),
        active_fingerprint: Set(Some(fp)),
        category: Set(new.category.as_str().into()),
        title: Set(title.unwrap()),
        detail: Set(detail.unwrap()),
        status: Set(RiskStatus::Identified.as_str().into()),
        impact: Set(new.impact),
        likelihood: Set(new.likelihood),
        priority: Set(priority(new.impact, new.likelihood)),
        assessed: Set(true),
        evidence: Set(evidence_json(&new.evidence)?),
        suggested_playbook: Set(None),
        owner_id: Set(new.owner.map(|u| u.0)),
        created_by: Set(Some(actor.user.0)),
        first_seen_at: Set(now),
        last_seen_at: Set(now),
        cleared_at: Set(None),
        clear_evidence: Set(None),
        closed_at: Set(None),
        dismissed_until: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let actor_id = actor.user;
    crate::db::write::<_, _, _, Error>(db, |tx| {
        Box::pin(async move {
            risk::Entity::insert(row).exec_without_returning(tx).await?;
            let e = NewEvent {
                risk: id,
                actor: Some(actor_id),
                kind: RiskEventKind::Raised,
                from: None,
                to: Some(RiskStatus::Identified),
                note: note.as_deref(),
            };
            risk_event::Entity::insert(event_row(org, now, e)).exec_without_returning(tx).await?;
            Ok(())
        })
    })
    .await?;
    get(db, org, id).await?.ok_or_else(|| Error::not_found("risk", &["id"]))
}

/// The risk, if the actor may write its account.
pub(crate) async fn writable(db: &DatabaseConnection, actor: &Actor, id: RiskId) -> Result<Risk> {
    actor.require_writer()?;
    let risk = get(db, actor.organisation, id).await?.ok_or_else(|| Error::not_found("risk", &["riskId"]))?;
    let account = accounts::get(db, actor.organisation, risk.account)
        .await?
        .ok_or_else(|| Error::not_found("risk", &["riskId"]))?;
    actor.require_account_writer(account.account_manager, account.sales_owner)?;
    Ok(risk)
}

fn check_expected(risk: &Risk, expected: Option<i32>) -> Result<()> {
    match expected {
        Some(e) if e != risk.version => Err(Error::stale("risk", e, risk.version)),
        _ => Ok(()),
    }
}

/// Writes a risk change and its audit entry in one transaction (compare-and-set on version). A
/// change that closes the risk cancels its open plan actions in the same transaction.
async fn save(
    db: &DatabaseConnection,
    org: OrganisationId,
    current: &Risk,
    changes: risk::ActiveModel,
    event: NewEvent<'_>,
) -> Result<Risk> {
    save_then(db, org, current, changes, event, None).await
}

/// [`save`], then (same transaction) a playbook application prepared for the changed risk.
async fn save_then(
    db: &DatabaseConnection,
    org: OrganisationId,
    current: &Risk,
    changes: risk::ActiveModel,
    event: NewEvent<'_>,
    then: Option<(UserId, crate::plans::Prepared)>,
) -> Result<Risk> {
    let now = values::now();
    let closing = event.to.filter(|to| !to.is_open()).map(|to| (event.actor, format!("the risk was {to}")));
    let event = event_row(org, now, event);
    let (id, version) = (current.id, current.version);
    let saved = crate::db::write::<_, _, _, Error>(db, |tx| {
        Box::pin(async move {
            if !update_if_version(tx, cols(), changes, org.0, id.0, version).await? {
                return Ok(false);
            }
            risk_event::Entity::insert(event).exec_without_returning(tx).await?;
            if let Some((by, note)) = closing {
                crate::plans::cancel_open_actions(tx, org, id, by, now, &note).await?;
            }
            if let Some((by, plan)) = then {
                let after = now + Duration::microseconds(1);
                crate::plans::write_prepared(tx, org, by, id, version + 1, plan, after).await?;
            }
            Ok(true)
        })
    })
    .await?;
    if !saved {
        return Err(Error::conflict(&["expectedVersion"], "risk was changed concurrently; reload and retry"));
    }
    get(db, org, id).await?.ok_or_else(|| Error::not_found("risk", &["riskId"]))
}

/// Moves a risk to another lifecycle state. Only the transitions of [`RiskStatus::next`] are
/// allowed; dismissing a rule's risk keeps the same finding quiet for `cooldown_days`.
pub async fn transition(
    db: &DatabaseConnection,
    actor: &Actor,
    id: RiskId,
    to: RiskStatus,
    note: Option<String>,
    expected_version: Option<i32>,
) -> Result<Risk> {
    let current = writable(db, actor, id).await?;
    check_expected(&current, expected_version)?;
    let mut p = Problems::default();
    let note = note.as_deref().and_then(|n| p.check(&["note"], values::text(n, values::MAX_TEXT)));
    p.finish()?;
    if !current.status.next().contains(&to) {
        let allowed: Vec<&str> = current.status.next().iter().map(|s| s.as_str()).collect();
        return Err(Error::invalid(
            &["to"],
            if allowed.is_empty() {
                format!("the risk is {} and can no longer change", current.status)
            } else {
                format!("a {} risk can move to {}, not {}", current.status, allowed.join(", "), to)
            },
        ));
    }
    let now = values::now();
    let mut changes = risk::ActiveModel {
        status: Set(to.as_str().into()),
        version: Set(current.version + 1),
        updated_at: Set(now),
        ..Default::default()
    };
    if !to.is_open() {
        changes.active_fingerprint = Set(None);
        changes.closed_at = Set(Some(now));
    }
    if to == RiskStatus::Dismissed
        && let Some(rule) = &current.rule_key
    {
        let setting = settings::stored(db, actor.organisation, rule).await?;
        let days = setting.map_or(settings::DEFAULT_COOLDOWN_DAYS, |s| s.cooldown_days);
        changes.dismissed_until = Set(Some(now + Duration::days(i64::from(days))));
    }
    let event = NewEvent {
        risk: id,
        actor: Some(actor.user),
        kind: RiskEventKind::Transition,
        from: Some(current.status),
        to: Some(to),
        note: note.as_deref(),
    };
    // The organisation may have the suggested playbook apply itself on validation: prepared
    // now, written in the validation's transaction (both or neither). A plan that cannot be
    // prepared does not hold the validation up; the playbook can still be applied by hand.
    let auto = if to == RiskStatus::Validated {
        let validated = Risk { status: to, version: current.version + 1, ..current.clone() };
        match crate::plans::prepare_auto_apply(db, actor, &validated).await {
            Ok(plan) => plan.map(|p| (actor.user, p)),
            Err(e) => {
                tracing::warn!(risk = %id, error = %e, "the suggested playbook could not be applied automatically");
                None
            }
        }
    } else {
        None
    };
    save_then(db, actor.organisation, &current, changes, event, auto).await
}

/// Gives a risk an owner (or none).
pub async fn assign(
    db: &DatabaseConnection,
    actor: &Actor,
    id: RiskId,
    owner: Option<UserId>,
    expected_version: Option<i32>,
) -> Result<Risk> {
    let current = writable(db, actor, id).await?;
    check_expected(&current, expected_version)?;
    let mut p = Problems::default();
    let new_owner = check_owner(db, actor.organisation, owner, &mut p).await?;
    p.finish()?;
    let changes = risk::ActiveModel {
        owner_id: Set(owner.map(|u| u.0)),
        version: Set(current.version + 1),
        updated_at: Set(values::now()),
        ..Default::default()
    };
    let note = new_owner.map_or_else(|| "unassigned".to_owned(), |u| format!("assigned to {}", u.name));
    let event = NewEvent {
        risk: id,
        actor: Some(actor.user),
        kind: RiskEventKind::Assigned,
        from: None,
        to: None,
        note: Some(&note),
    };
    save(db, actor.organisation, &current, changes, event).await
}

/// Sets impact and likelihood after validation; rule refreshes no longer change them.
pub async fn assess(
    db: &DatabaseConnection,
    actor: &Actor,
    id: RiskId,
    impact: i32,
    likelihood: i32,
    note: Option<String>,
    expected_version: Option<i32>,
) -> Result<Risk> {
    let current = writable(db, actor, id).await?;
    check_expected(&current, expected_version)?;
    let mut p = Problems::default();
    scale(&mut p, "impact", impact);
    scale(&mut p, "likelihood", likelihood);
    let note = note.as_deref().and_then(|n| p.check(&["note"], values::text(n, values::MAX_TEXT)));
    p.finish()?;
    if !current.status.is_open() {
        return Err(Error::invalid(&["riskId"], format!("the risk is {} and can no longer change", current.status)));
    }
    let changes = risk::ActiveModel {
        impact: Set(impact),
        likelihood: Set(likelihood),
        priority: Set(priority(impact, likelihood)),
        assessed: Set(true),
        version: Set(current.version + 1),
        updated_at: Set(values::now()),
        ..Default::default()
    };
    let text = format!(
        "impact {} -> {impact}, likelihood {} -> {likelihood}{}",
        current.impact,
        current.likelihood,
        note.map(|n| format!(": {n}")).unwrap_or_default()
    );
    let event = NewEvent {
        risk: id,
        actor: Some(actor.user),
        kind: RiskEventKind::Assessed,
        from: None,
        to: None,
        note: Some(&text),
    };
    save(db, actor.organisation, &current, changes, event).await
}

/// One risk of the organisation.
pub async fn get(db: &DatabaseConnection, org: OrganisationId, id: RiskId) -> Result<Option<Risk>> {
    risk::Entity::find_by_id(id.0)
        .filter(risk::Column::OrganisationId.eq(org.0))
        .one(db)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

/// Risks of the organisation by id (unknown ids are absent).
pub async fn by_ids(db: &DatabaseConnection, org: OrganisationId, ids: &[RiskId]) -> Result<HashMap<RiskId, Risk>> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let rows = risk::Entity::find()
            .filter(risk::Column::OrganisationId.eq(org.0))
            .filter(risk::Column::Id.is_in(chunk.iter().map(|r| r.0)))
            .all(db)
            .await?;
        for m in rows {
            let r = Risk::try_from(m)?;
            out.insert(r.id, r);
        }
    }
    Ok(out)
}

/// Which risks a list shows.
#[derive(Clone, Debug, Default)]
pub struct RiskFilter {
    pub account: Option<AccountId>,
    pub statuses: Option<Vec<RiskStatus>>,
    /// Only open (identified, validated, mitigating) or only closed risks.
    pub open: Option<bool>,
    pub categories: Option<Vec<RiskCategory>>,
    pub owner: Option<UserId>,
    pub source: Option<RiskSource>,
    pub rule_key: Option<String>,
    pub min_priority: Option<i32>,
    /// Only risks with (true) or without (false) overdue plan actions, as of the organisation's
    /// today.
    pub has_overdue_actions: Option<(bool, NaiveDate)>,
    /// Only resolved or materialized risks still without a post-mortem (true), or the others.
    pub post_mortem_due: Option<bool>,
}

/// How a list of risks is ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RiskOrder {
    Priority,
    LastSeen,
    Created,
}

fn filtered(org: OrganisationId, f: &RiskFilter) -> Select<risk::Entity> {
    use risk::Column as C;
    let mut cond = Condition::all().add(C::OrganisationId.eq(org.0));
    if let Some(a) = f.account {
        cond = cond.add(C::AccountId.eq(a.0));
    }
    if let Some(s) = &f.statuses {
        cond = cond.add(C::Status.is_in(s.iter().map(|s| s.as_str())));
    }
    if let Some(open) = f.open {
        let open_states = RiskStatus::ALL.iter().filter(|s| s.is_open()).map(|s| s.as_str());
        cond = cond.add(if open { C::Status.is_in(open_states) } else { C::Status.is_not_in(open_states) });
    }
    if let Some(c) = &f.categories {
        cond = cond.add(C::Category.is_in(c.iter().map(|c| c.as_str())));
    }
    if let Some(u) = f.owner {
        cond = cond.add(C::OwnerId.eq(u.0));
    }
    if let Some(s) = f.source {
        cond = cond.add(C::Source.eq(s.as_str()));
    }
    if let Some(r) = &f.rule_key {
        cond = cond.add(C::RuleKey.eq(r.as_str()));
    }
    if let Some(p) = f.min_priority {
        cond = cond.add(C::Priority.gte(p));
    }
    match f.has_overdue_actions {
        Some((true, today)) => cond = cond.add(C::Id.in_subquery(crate::plans::risks_with_overdue(org, today))),
        Some((false, today)) => cond = cond.add(C::Id.not_in_subquery(crate::plans::risks_with_overdue(org, today))),
        None => {}
    }
    if let Some(due) = f.post_mortem_due {
        let expecting = [RiskStatus::Resolved.as_str(), RiskStatus::Materialized.as_str()];
        let reviewed = crate::post_mortems::reviewed_risks(org);
        cond = cond.add(if due {
            Condition::all().add(C::Status.is_in(expecting)).add(C::Id.not_in_subquery(reviewed))
        } else {
            Condition::any().add(C::Status.is_not_in(expecting)).add(C::Id.in_subquery(reviewed))
        });
    }
    risk::Entity::find().filter(cond)
}

/// A page of the organisation's risks.
pub async fn list(
    db: &DatabaseConnection,
    org: OrganisationId,
    filter: &RiskFilter,
    order: RiskOrder,
    descending: bool,
    page: &PageRequest,
) -> Result<Page<Risk>> {
    let q = filtered(org, filter);
    let p = match order {
        RiskOrder::Priority => {
            let sort = Sort { column: risk::Column::Priority, kind: KeyKind::Int, nullable: false, descending };
            page::fetch(db, q, sort, Some(risk::Column::Id), page, |m| KeyValue::Int(m.priority.into()), |m| m.id)
                .await?
        }
        RiskOrder::LastSeen => {
            let sort = Sort { column: risk::Column::LastSeenAt, kind: KeyKind::Time, nullable: false, descending };
            page::fetch(db, q, sort, Some(risk::Column::Id), page, |m| KeyValue::Time(m.last_seen_at), |m| m.id).await?
        }
        RiskOrder::Created => {
            let sort = Sort { column: risk::Column::CreatedAt, kind: KeyKind::Time, nullable: false, descending };
            page::fetch(db, q, sort, Some(risk::Column::Id), page, |m| KeyValue::Time(m.created_at), |m| m.id).await?
        }
    };
    p.try_map(TryInto::try_into)
}

/// How many risks match the filter.
pub async fn count(db: &DatabaseConnection, org: OrganisationId, filter: &RiskFilter) -> Result<u64> {
    Ok(filtered(org, filter).count(db).await?)
}

/// A risk's audit trail, oldest first.
pub async fn events(
    db: &DatabaseConnection,
    org: OrganisationId,
    id: RiskId,
    page: &PageRequest,
) -> Result<Page<RiskEvent>> {
    let q = risk_event::Entity::find()
        .filter(risk_event::Column::OrganisationId.eq(org.0))
        .filter(risk_event::Column::RiskId.eq(id.0));
    let sort = Sort { column: risk_event::Column::At, kind: KeyKind::Time, nullable: false, descending: false };
    page::fetch(db, q, sort, Some(risk_event::Column::Id), page, |m| KeyValue::Time(m.at), |m| m.id)
        .await?
        .try_map(TryInto::try_into)
}

/// How many entries a risk's audit trail holds.
pub async fn events_count(db: &DatabaseConnection, org: OrganisationId, id: RiskId) -> Result<u64> {
    Ok(risk_event::Entity::find()
        .filter(risk_event::Column::OrganisationId.eq(org.0))
        .filter(risk_event::Column::RiskId.eq(id.0))
        .count(db)
        .await?)
}

/// Which open risks the matrix and the portfolio summary cover.
#[derive(Clone, Debug, Default)]
pub struct MatrixFilter {
    pub categories: Option<Vec<RiskCategory>>,
    pub owner: Option<UserId>,
    pub tiers: Option<Vec<Tier>>,
}

/// Open risks with the account figures the summaries need.
#[derive(Clone, Debug)]
pub struct OpenRisk {
    pub category: RiskCategory,
    pub owner: Option<UserId>,
    pub impact: i32,
    pub likelihood: i32,
    pub expected_loss: Money,
}

/// Every open risk matching the filter, with its expected loss (the input of the matrix and the
/// portfolio summary; two queries).
pub async fn open_risks(db: &DatabaseConnection, org: OrganisationId, f: &MatrixFilter) -> Result<Vec<OpenRisk>> {
    let filter =
        RiskFilter { open: Some(true), categories: f.categories.clone(), owner: f.owner, ..Default::default() };
    let rows: Vec<(uuid::Uuid, String, Option<uuid::Uuid>, i32, i32)> = filtered(org, &filter)
        .select_only()
        .column(risk::Column::AccountId)
        .column(risk::Column::Category)
        .column(risk::Column::OwnerId)
        .column(risk::Column::Impact)
        .column(risk::Column::Likelihood)
        .into_tuple()
        .all(db)
        .await?;
    let mut accounts: HashMap<uuid::Uuid, (String, i64, String)> = HashMap::new();
    let ids: Vec<uuid::Uuid> = rows.iter().map(|r| r.0).collect::<std::collections::HashSet<_>>().into_iter().collect();
    for chunk in ids.chunks(1000) {
        let found: Vec<(uuid::Uuid, String, i64, String)> = account::Entity::find()
            .select_only()
            .column(account::Column::Id)
            .column(account::Column::Tier)
            .column(account::Column::AnnualValueMinor)
            .column(account::Column::Currency)
            .filter(account::Column::OrganisationId.eq(org.0))
            .filter(account::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        accounts.extend(found.into_iter().map(|(id, tier, v, c)| (id, (tier, v, c))));
    }
    let tiers: Option<Vec<&str>> = f.tiers.as_ref().map(|t| t.iter().map(|t| t.as_str()).collect());
    let mut out = Vec::with_capacity(rows.len());
    for (account, category, owner, impact, likelihood) in rows {
        let Some((tier, value, currency)) = accounts.get(&account) else { continue };
        if tiers.as_ref().is_some_and(|t| !t.contains(&tier.as_str())) {
            continue;
        }
        let value = Money { amount_minor: *value, currency: currency.clone() };
        out.push(OpenRisk {
            category: stored(RiskCategory::parse(&category))?,
            owner: owner.map(UserId),
            impact,
            likelihood,
            expected_loss: expected_loss(likelihood, &value),
        });
    }
    Ok(out)
}

/// Sums money per currency (amounts in different currencies are never added together).
pub fn sum_by_currency<'a>(amounts: impl IntoIterator<Item = &'a Money>) -> Vec<Money> {
    let mut by: BTreeMap<String, i64> = BTreeMap::new();
    for m in amounts {
        *by.entry(m.currency.clone()).or_default() += m.amount_minor;
    }
    by.into_iter().map(|(currency, amount_minor)| Money { amount_minor, currency }).collect()
}

/// The open risks of accounts, grouped by account (the input of a rule evaluation).
pub(crate) async fn open_and_cooling<C: ConnectionTrait>(
    db: &C,
    org: OrganisationId,
    accounts: &[AccountId],
    as_of: DateTime<Utc>,
) -> Result<HashMap<AccountId, Vec<Risk>>> {
    let mut out: HashMap<AccountId, Vec<Risk>> = HashMap::new();
    for chunk in accounts.chunks(1000) {
        let rows = risk::Entity::find()
            .filter(risk::Column::OrganisationId.eq(org.0))
            .filter(risk::Column::AccountId.is_in(chunk.iter().map(|a| a.0)))
            .filter(risk::Column::Source.eq(RiskSource::Rule.as_str()))
            .filter(
                Condition::any()
                    .add(risk::Column::ActiveFingerprint.is_not_null())
                    .add(risk::Column::DismissedUntil.gt(as_of)),
            )
            .all(db)
            .await?;
        for m in rows {
            let r = Risk::try_from(m)?;
            out.entry(r.account).or_default().push(r);
        }
    }
    Ok(out)
}
