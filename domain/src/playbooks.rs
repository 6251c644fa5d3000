//! Playbooks: an organisation's templates for answering a kind of risk (a desired outcome and
//! ordered steps, each with an owner role and a due offset). Versioned: an edit of the content
//! makes a new immutable version, and action plans keep the version they were made from.
//! Every organisation starts with the default playbooks, one per reference mitigation; their keys
//! are the ones the built-in rules suggest.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde::{Deserialize, Serialize};

use crate::entities::{organisation, playbook, playbook_version};
use crate::enums::stored;
use crate::store::{Versioned, is_unique_violation, update_if_version};
use crate::{
    Actor, Error, OrganisationId, PlaybookId, PlaybookRole, PlaybookVersionId, Problems, Result, RiskCategory, UserId,
    values,
};

/// The key of the default playbook answering usage drops, going quiet and detractors.
pub const CHECK_IN: &str = "proactive_check_in";
/// The key of the default playbook answering critical-ticket surges.
pub const SUPPORT_ESCALATION: &str = "support_escalation";
/// The key of the default playbook answering overdue invoices.
pub const FINANCIAL_REVIEW: &str = "financial_review";
/// The key of the default playbook answering a missing executive relationship.
pub const EXECUTIVE_REVIEW: &str = "executive_business_review";
/// The key of the default playbook for any other risk.
pub const GENERIC: &str = "generic_mitigation";

/// Most steps a playbook may have.
pub const MAX_STEPS: usize = 30;
/// Latest due offset of a step, in days.
pub const MAX_DUE_DAYS: i32 = 365;

/// One step of a playbook.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub title: String,
    pub description: String,
    /// Who does it.
    pub owner_role: PlaybookRole,
    /// Due this many days after the playbook is applied.
    pub due_in_days: i32,
    /// Whether it involves the client (a meeting, a call, a proposal).
    pub involves_client: bool,
}

/// What a playbook says: the part that is versioned.
#[derive(Clone, Debug, PartialEq)]
pub struct Content {
    pub name: String,
    pub description: String,
    /// The category of risks it answers, if one.
    pub category: Option<RiskCategory>,
    /// The rules whose risks it answers.
    pub rule_keys: Vec<String>,
    /// The desired outcome, with `{account}` standing for the account's name.
    pub desired_outcome: String,
    pub steps: Vec<Step>,
}

/// A playbook with the content of its current version.
#[derive(Clone, Debug, PartialEq)]
pub struct Playbook {
    pub id: PlaybookId,
    pub organisation: OrganisationId,
    /// Stable key; rules suggest playbooks by key.
    pub key: String,
    /// Applied by itself when a risk suggesting it is validated.
    pub auto_apply: bool,
    pub archived_at: Option<DateTime<Utc>>,
    /// The number of the current version (1, 2, ...).
    pub current_version: i32,
    pub current_version_id: PlaybookVersionId,
    pub content: Content,
    pub created_by: Option<UserId>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One immutable version of a playbook.
#[derive(Clone, Debug, PartialEq)]
pub struct PlaybookVersion {
    pub id: PlaybookVersionId,
    pub playbook: PlaybookId,
    pub number: i32,
    pub content: Content,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

impl Content {
    /// The desired outcome for an account.
    pub fn outcome_for(&self, account_name: &str) -> String {
        self.desired_outcome.replace("{account}", account_name)
    }
}

fn step(title: &str, description: &str, owner_role: PlaybookRole, due_in_days: i32, involves_client: bool) -> Step {
    Step { title: title.into(), description: description.into(), owner_role, due_in_days, involves_client }
}

/// The playbooks every organisation starts with: one per reference mitigation, plus a generic one.
pub fn defaults() -> Vec<(&'static str, Content)> {
    use PlaybookRole::*;
    let content = |name: &str, description: &str, category, rules: &[&str], outcome: &str, steps| Content {
        name: name.into(),
        description: description.into(),
        category,
        rule_keys: rules.iter().map(|r| (*r).to_owned()).collect(),
        desired_outcome: outcome.into(),
        steps,
    };
    vec![
        (
            CHECK_IN,
            content(
                "Proactive check-in and re-training",
                "Usage sags or the client goes quiet: find out why before they decide, and help them get value again.",
                Some(RiskCategory::Operational),
                &["usage_drop", "going_quiet", "nps_detractor"],
                "{account} is back to its usual usage and engagement within 60 days.",
                vec![
                    step(
                        "Review usage and recent tickets",
                        "Which teams and features dropped, since when, and what the client told support.",
                        AccountManager,
                        2,
                        false,
                    ),
                    step(
                        "Proactive check-in call",
                        "Call the champion: what changed on their side, what gets in their way.",
                        AccountManager,
                        5,
                        true,
                    ),
                    step(
                        "Feature re-training session",
                        "A session on the features whose use dropped, for the teams that use them.",
                        AccountManager,
                        14,
                        true,
                    ),
                    step(
                        "Review adoption",
                        "Compare usage with the baseline; close the plan or escalate.",
                        AccountManager,
                        30,
                        false,
                    ),
                ],
            ),
        ),
        (
            SUPPORT_ESCALATION,
            content(
                "Escalate to the support lead with root-cause analysis",
                "Critical tickets pile up: one owner for the client's problems, the cause found and fixed.",
                Some(RiskCategory::Operational),
                &["critical_ticket_surge", "critical_tickets_unresolved"],
                "{account}'s critical tickets are resolved and the cause is fixed within 30 days.",
                vec![
                    step(
                        "Escalate to the support lead",
                        "Hand the open critical tickets to the support lead with the account's context.",
                        AccountManager,
                        1,
                        false,
                    ),
                    step(
                        "Tell the client who owns their problems",
                        "Name the support lead and the next update time to the client.",
                        AccountManager,
                        2,
                        true,
                    ),
                    step(
                        "Root-cause analysis",
                        "Why these tickets, why now: product defect, configuration, training or load.",
                        SupportLead,
                        7,
                        false,
                    ),
                    step(
                        "Share the findings and the fix",
                        "Walk the client through the cause, the fix and how recurrence is prevented.",
                        SupportLead,
                        14,
                        true,
                    ),
                ],
            ),
        ),
        (
            FINANCIAL_REVIEW,
            content(
                "Financial review and payment plan",
                "Invoices go overdue: understand the client's situation and agree a way to pay.",
                Some(RiskCategory::Financial),
                &["invoice_overdue"],
                "{account} has no invoice more than 30 days overdue and an agreed payment schedule.",
                vec![
                    step(
                        "Financial review",
                        "The client's payment history, open invoices and any signs of budget cuts.",
                        Finance,
                        3,
                        false,
                    ),
                    step(
                        "Payment-plan discussion",
                        "Talk to the client's finance contact about the overdue amount and a plan.",
                        AccountManager,
                        7,
                        true,
                    ),
                    step(
                        "Confirm the agreed plan in writing",
                        "Send the agreed schedule and track the first instalment.",
                        Finance,
                        14,
                        true,
                    ),
                ],
            ),
        ),
        (
            EXECUTIVE_REVIEW,
            content(
                "Executive business review",
                "No executive relationship (or it is strained): meet the client's executives about value and direction.",
                Some(RiskCategory::Relationship),
                &["no_executive_contact", "sponsor_left", "renewal_at_risk", "relationship_assessment"],
                "{account}'s executives confirm the value they get and the plan for the next year within 45 days.",
                vec![
                    step(
                        "Prepare the value review",
                        "Outcomes delivered, usage, open issues and the roadmap that matters to them.",
                        AccountManager,
                        7,
                        false,
                    ),
                    step(
                        "Schedule the executive business review",
                        "Invite the client's executive sponsor and decision makers; bring one of your executives.",
                        AccountManager,
                        10,
                        true,
                    ),
                    step(
                        "Hold the executive business review",
                        "Agree priorities for the next period and who owns the relationship on each side.",
                        Executive,
                        30,
                        true,
                    ),
                    step(
                        "Send the follow-up",
                        "Minutes, agreed actions and owners, to everyone who attended.",
                        AccountManager,
                        33,
                        true,
                    ),
                ],
            ),
        ),
        (
            GENERIC,
            content(
                "Generic mitigation",
                "For any risk without a dedicated playbook: understand it, act on it, tell the client, review.",
                None,
                &[],
                "The risk to {account} is resolved within 30 days.",
                vec![
                    step(
                        "Validate the risk",
                        "Gather what is known and confirm impact and likelihood.",
                        RiskOwner,
                        2,
                        false,
                    ),
                    step(
                        "Agree the response",
                        "Decide the actions and owners with the account team.",
                        RiskOwner,
                        5,
                        false,
                    ),
                    step(
                        "Talk to the client",
                        "Raise the topic with the client's stakeholders.",
                        AccountManager,
                        10,
                        true,
                    ),
                    step("Review progress", "Check the signals; resolve the risk or escalate.", RiskOwner, 30, false),
                ],
            ),
        ),
    ]
}

fn cols() -> Versioned<playbook::Column> {
    Versioned {
        id: playbook::Column::Id,
        organisation: playbook::Column::OrganisationId,
        version: playbook::Column::Version,
    }
}

fn parse_content(m: &playbook_version::Model) -> Result<Content> {
    Ok(Content {
        name: m.name.clone(),
        description: m.description.clone(),
        category: m.category.as_deref().map(|c| stored(RiskCategory::parse(c))).transpose()?,
        rule_keys: serde_json::from_str(&m.rule_keys).map_err(Error::internal)?,
        desired_outcome: m.desired_outcome.clone(),
        steps: serde_json::from_str(&m.steps).map_err(Error::internal)?,
    })
}

impl TryFrom<playbook_version::Model> for PlaybookVersion {
    type Error = Error;
    fn try_from(m: playbook_version::Model) -> Result<Self> {
        Ok(Self {
            id: PlaybookVersionId(m.id),
            playbook: PlaybookId(m.playbook_id),
            number: m.number,
            content: parse_content(&m)?,
            created_by: m.created_by.map(UserId),
            created_at: m.created_at,
        })
    }
}

fn assemble(p: playbook::Model, v: PlaybookVersion) -> Playbook {
    Playbook {
        id: PlaybookId(p.id),
        organisation: OrganisationId(p.organisation_id),
        key: p.key,
        auto_apply: p.auto_apply,
        archived_at: p.archived_at,
        current_version: p.current_version,
        current_version_id: v.id,
        content: v.content,
        created_by: p.created_by.map(UserId),
        version: p.version,
        created_at: p.created_at,
        updated_at: p.updated_at,
    }
}

/// Checks a playbook's content; problems are reported under `prefix`.
fn check_content(p: &mut Problems, c: &Content) -> Content {
    let name = p.check(&["name"], values::line(&c.name, values::MAX_LINE)).unwrap_or_default();
    let description =
        p.check(&["description"], values::text_or_empty(&c.description, values::MAX_TEXT)).unwrap_or_default();
    let outcome = c.desired_outcome.trim();
    if outcome.is_empty() {
        p.push(&["desiredOutcome"], "must not be empty: a plan needs a desired outcome");
    } else if outcome.len() > values::MAX_TEXT {
        p.push(&["desiredOutcome"], format!("at most {} characters", values::MAX_TEXT));
    }
    if c.rule_keys.len() > 50 {
        p.push(&["ruleKeys"], "at most 50 rule keys");
    }
    for (i, k) in c.rule_keys.iter().enumerate() {
        if k.trim().is_empty() || k.len() > 100 {
            p.push(&["ruleKeys", &i.to_string()], "must be 1-100 characters");
        }
    }
    if c.steps.is_empty() {
        p.push(&["steps"], "a playbook needs at least one step");
    }
    if c.steps.len() > MAX_STEPS {
        p.push(&["steps"], format!("at most {MAX_STEPS} steps"));
    }
    let mut steps = Vec::with_capacity(c.steps.len());
    for (i, s) in c.steps.iter().enumerate() {
        let idx = i.to_string();
        let title = p.check(&["steps", &idx, "title"], values::line(&s.title, 300)).unwrap_or_default();
        let description = p
            .check(&["steps", &idx, "description"], values::text_or_empty(&s.description, values::MAX_TEXT))
            .unwrap_or_default();
        if !(0..=MAX_DUE_DAYS).contains(&s.due_in_days) {
            p.push(
                &["steps", &idx, "dueInDays"],
                format!("must be between 0 and {MAX_DUE_DAYS}, got {}", s.due_in_days),
            );
        }
        steps.push(Step { title, description, ..s.clone() });
    }
    let mut seen = HashSet::new();
    let rule_keys: Vec<String> =
        c.rule_keys.iter().map(|k| k.trim().to_owned()).filter(|k| seen.insert(k.clone())).collect();
    Content { name, description, category: c.category, rule_keys, desired_outcome: outcome.to_owned(), steps }
}

fn check_key(p: &mut Problems, key: &str) {
    let ok = (2..=100).contains(&key.len())
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !ok {
        p.push(&["key"], "must be 2-100 characters: lowercase letters, digits and '_', starting with a letter");
    }
}

fn version_row(
    org: OrganisationId,
    playbook: PlaybookId,
    number: i32,
    c: &Content,
    by: Option<UserId>,
    at: DateTime<Utc>,
) -> Result<playbook_version::ActiveModel> {
    Ok(playbook_version::ActiveModel {
        id: Set(PlaybookVersionId::generate().0),
        organisation_id: Set(org.0),
        playbook_id: Set(playbook.0),
        number: Set(number),
        name: Set(c.name.clone()),
        description: Set(c.description.clone()),
        category: Set(c.category.map(|c| c.as_str().to_owned())),
        rule_keys: Set(serde_json::to_string(&c.rule_keys).map_err(Error::internal)?),
        desired_outcome: Set(c.desired_outcome.clone()),
        steps: Set(serde_json::to_string(&c.steps).map_err(Error::internal)?),
        created_by: Set(by.map(|u| u.0)),
        created_at: Set(at),
    })
}

/// Inserts a playbook with its first version (no checks: callers validated the content).
async fn insert<C: ConnectionTrait>(
    db: &C,
    org: OrganisationId,
    key: &str,
    content: &Content,
    auto_apply: bool,
    by: Option<UserId>,
) -> Result<PlaybookId, sea_orm::DbErr> {
    let now = values::now();
    let id = PlaybookId::generate();
    playbook::Entity::insert(playbook::ActiveModel {
        id: Set(id.0),
        organisation_id: Set(org.0),
        key: Set(key.to_owned()),
        current_version: Set(1),
        auto_apply: Set(auto_apply),
        archived_at: Set(None),
        created_by: Set(by.map(|u| u.0)),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(db)
    .await?;
    let row = version_row(org, id, 1, content, by, now).map_err(|e| sea_orm::DbErr::Custom(e.to_string()))?;
    playbook_version::Entity::insert(row).exec_without_returning(db).await?;
    Ok(id)
}

/// Gives a new organisation the default playbooks (inside its creating transaction).
pub(crate) async fn create_defaults<C: ConnectionTrait>(db: &C, org: OrganisationId) -> Result<(), sea_orm::DbErr> {
    for (key, content) in defaults() {
        insert(db, org, key, &content, false, None).await?;
    }
    Ok(())
}

/// Gives every organisation the default playbooks it does not have yet (organisations created
/// before playbooks existed, or before a default was added). Idempotent; safe when several
/// replicas start at once (a key another replica just inserted is skipped).
pub async fn ensure_defaults(db: &DatabaseConnection) -> Result<()> {
    let orgs: Vec<uuid::Uuid> =
        organisation::Entity::find().select_only().column(organisation::Column::Id).into_tuple().all(db).await?;
    let have: HashSet<(uuid::Uuid, String)> = playbook::Entity::find()
        .select_only()
        .column(playbook::Column::OrganisationId)
        .column(playbook::Column::Key)
        .into_tuple()
        .all(db)
        .await?
        .into_iter()
        .collect();
    for org in orgs {
        for (key, content) in defaults() {
            if have.contains(&(org, key.to_owned())) {
                continue;
            }
            let result = crate::db::write::<_, _, _, sea_orm::DbErr>(db, |tx| {
                Box::pin(async move { insert(tx, OrganisationId(org), key, &content, false, None).await })
            })
            .await;
            match result {
                Ok(_) => {}
                Err(sea_orm::TransactionError::Transaction(e)) if is_unique_violation(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}

/// A new playbook (admins and managers).
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    key: &str,
    content: Content,
    auto_apply: bool,
) -> Result<Playbook> {
    actor.require_manager()?;
    let mut p = Problems::default();
    check_key(&mut p, key);
    let content = check_content(&mut p, &content);
    p.finish()?;
    let org = actor.organisation;
    let by = Some(actor.user);
    let key_owned = key.to_owned();
    let result = crate::db::write::<_, _, _, sea_orm::DbErr>(db, |tx| {
        Box::pin(async move { insert(tx, org, &key_owned, &content, auto_apply, by).await })
    })
    .await;
    let id = match result {
        Ok(id) => id,
        Err(sea_orm::TransactionError::Transaction(e)) if is_unique_violation(&e) => {
            return Err(Error::conflict(&["key"], format!("a playbook with key '{key}' already exists")));
        }
        Err(e) => return Err(e.into()),
    };
    get(db, org, id).await?.ok_or_else(|| Error::not_found("playbook", &["id"]))
}

/// A change to a playbook; `None` leaves a field as it is. A change of content makes a new
/// version; `auto_apply` and `archived` do not.
#[derive(Clone, Debug, Default)]
pub struct Change {
    pub name: Option<String>,
    pub description: Option<String>,
    pub category: Option<Option<RiskCategory>>,
    pub rule_keys: Option<Vec<String>>,
    pub desired_outcome: Option<String>,
    pub steps: Option<Vec<Step>>,
    pub auto_apply: Option<bool>,
    pub archived: Option<bool>,
    pub expected_version: Option<i32>,
}

/// Changes a playbook (admins and managers).
pub async fn update(db: &DatabaseConnection, actor: &Actor, id: PlaybookId, change: Change) -> Result<Playbook> {
    actor.require_manager()?;
    let org = actor.organisation;
    let current = get(db, org, id).await?.ok_or_else(|| Error::not_found("playbook", &["id"]))?;
    if let Some(e) = change.expected_version
        && e != current.version
    {
        return Err(Error::stale("playbook", e, current.version));
    }
    let old = &current.content;
    let proposed = Content {
        name: change.name.unwrap_or_else(|| old.name.clone()),
        description: change.description.unwrap_or_else(|| old.description.clone()),
        category: change.category.unwrap_or(old.category),
        rule_keys: change.rule_keys.unwrap_or_else(|| old.rule_keys.clone()),
        desired_outcome: change.desired_outcome.unwrap_or_else(|| old.desired_outcome.clone()),
        steps: change.steps.unwrap_or_else(|| old.steps.clone()),
    };
    let mut p = Problems::default();
    let content = check_content(&mut p, &proposed);
    p.finish()?;
    if current.archived_at.is_some() && change.archived != Some(false) {
        return Err(Error::invalid(&["id"], "the playbook is archived; restore it (archived: false) to change it"));
    }
    let new_version = content != current.content;
    let now = values::now();
    let mut changes =
        playbook::ActiveModel { version: Set(current.version + 1), updated_at: Set(now), ..Default::default() };
    if let Some(a) = change.auto_apply {
        changes.auto_apply = Set(a);
    }
    if let Some(a) = change.archived {
        changes.archived_at = Set(a.then_some(current.archived_at.unwrap_or(now)));
    }
    let number = current.current_version + 1;
    let row = if new_version {
        changes.current_version = Set(number);
        Some(version_row(org, id, number, &content, Some(actor.user), now)?)
    } else {
        None
    };
    let version = current.version;
    let saved = crate::db::write::<_, _, _, Error>(db, |tx| {
        Box::pin(async move {
            if !update_if_version(tx, cols(), changes, org.0, id.0, version).await? {
                return Ok(false);
            }
            if let Some(row) = row {
                playbook_version::Entity::insert(row).exec_without_returning(tx).await?;
            }
            Ok(true)
        })
    })
    .await?;
    if !saved {
        return Err(Error::conflict(&["expectedVersion"], "playbook was changed concurrently; reload and retry"));
    }
    get(db, org, id).await?.ok_or_else(|| Error::not_found("playbook", &["id"]))
}

async fn with_current(
    db: &DatabaseConnection,
    org: OrganisationId,
    rows: Vec<playbook::Model>,
) -> Result<Vec<Playbook>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<uuid::Uuid> = rows.iter().map(|p| p.id).collect();
    let mut versions: HashMap<(uuid::Uuid, i32), playbook_version::Model> = playbook_version::Entity::find()
        .filter(playbook_version::Column::OrganisationId.eq(org.0))
        .filter(playbook_version::Column::PlaybookId.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|v| ((v.playbook_id, v.number), v))
        .collect();
    rows.into_iter()
        .map(|p| {
            let v = versions.remove(&(p.id, p.current_version)).ok_or_else(|| {
                Error::Internal(format!("playbook {} has no version {}", p.id, p.current_version).into())
            })?;
            Ok(assemble(p, v.try_into()?))
        })
        .collect()
}

/// The organisation's playbooks by key (archived ones only when asked).
pub async fn list(db: &DatabaseConnection, org: OrganisationId, include_archived: bool) -> Result<Vec<Playbook>> {
    let mut q = playbook::Entity::find().filter(playbook::Column::OrganisationId.eq(org.0));
    if !include_archived {
        q = q.filter(playbook::Column::ArchivedAt.is_null());
    }
    let rows = q.order_by_asc(playbook::Column::Key).all(db).await?;
    with_current(db, org, rows).await
}

/// One playbook.
pub async fn get(db: &DatabaseConnection, org: OrganisationId, id: PlaybookId) -> Result<Option<Playbook>> {
    let rows = playbook::Entity::find_by_id(id.0).filter(playbook::Column::OrganisationId.eq(org.0)).all(db).await?;
    Ok(with_current(db, org, rows).await?.pop())
}

/// The playbook with this key.
pub async fn by_key(db: &DatabaseConnection, org: OrganisationId, key: &str) -> Result<Option<Playbook>> {
    let rows = playbook::Entity::find()
        .filter(playbook::Column::OrganisationId.eq(org.0))
        .filter(playbook::Column::Key.eq(key))
        .all(db)
        .await?;
    Ok(with_current(db, org, rows).await?.pop())
}

/// The playbook to offer for a risk: the one its finding suggests, else one answering its rule,
/// else one answering its category, else the generic one (archived playbooks are never offered).
pub fn suggest<'a>(
    playbooks: &'a [Playbook],
    suggested: Option<&str>,
    rule_key: Option<&str>,
    category: RiskCategory,
) -> Option<&'a Playbook> {
    let live = || playbooks.iter().filter(|p| p.archived_at.is_none());
    suggested
        .and_then(|k| live().find(|p| p.key == k))
        .or_else(|| rule_key.and_then(|r| live().find(|p| p.content.rule_keys.iter().any(|k| k == r))))
        .or_else(|| live().find(|p| p.content.category == Some(category)))
        .or_else(|| live().find(|p| p.key == GENERIC))
}

/// Every version of a playbook, newest first.
pub async fn versions(db: &DatabaseConnection, org: OrganisationId, id: PlaybookId) -> Result<Vec<PlaybookVersion>> {
    playbook_version::Entity::find()
        .filter(playbook_version::Column::OrganisationId.eq(org.0))
        .filter(playbook_version::Column::PlaybookId.eq(id.0))
        .order_by_desc(playbook_version::Column::Number)
        .all(db)
        .await?
        .into_iter()
        .map(TryInto::try_into)
        .collect()
}

/// One version of a playbook.
pub async fn version(
    db: &DatabaseConnection,
    org: OrganisationId,
    id: PlaybookVersionId,
) -> Result<Option<PlaybookVersion>> {
    playbook_version::Entity::find_by_id(id.0)
        .filter(playbook_version::Column::OrganisationId.eq(org.0))
        .one(db)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_pass_their_own_checks_and_cover_the_suggested_keys() {
        let all = defaults();
        for (key, content) in &all {
            let mut p = Problems::default();
            check_key(&mut p, key);
            let checked = check_content(&mut p, content);
            assert!(p.finish().is_ok(), "{key}");
            assert_eq!(&checked, content, "{key} is stored as written");
        }
        let keys: Vec<&str> = all.iter().map(|(k, _)| *k).collect();
        for k in [CHECK_IN, SUPPORT_ESCALATION, FINANCIAL_REVIEW, EXECUTIVE_REVIEW, GENERIC] {
            assert!(keys.contains(&k), "{k}");
        }
    }

    #[test]
    fn suggestions_prefer_the_finding_then_the_rule_then_the_category() {
        let all: Vec<Playbook> = defaults()
            .into_iter()
            .enumerate()
            .map(|(i, (key, content))| Playbook {
                id: PlaybookId(uuid::Uuid::from_u128(i as u128)),
                organisation: OrganisationId(uuid::Uuid::nil()),
                key: key.into(),
                auto_apply: false,
                archived_at: None,
                current_version: 1,
                current_version_id: PlaybookVersionId(uuid::Uuid::nil()),
                content,
                created_by: None,
                version: 1,
                created_at: Utc::now(),
                updated_at: Utc::now(),
            })
            .collect();
        let key = |s: Option<&Playbook>| s.map(|p| p.key.clone());
        let ops = RiskCategory::Operational;
        assert_eq!(
            key(suggest(&all, Some(FINANCIAL_REVIEW), Some("usage_drop"), ops)).as_deref(),
            Some(FINANCIAL_REVIEW)
        );
        assert_eq!(key(suggest(&all, Some("unknown"), Some("usage_drop"), ops)).as_deref(), Some(CHECK_IN));
        assert_eq!(key(suggest(&all, None, None, RiskCategory::Financial)).as_deref(), Some(FINANCIAL_REVIEW));
        assert_eq!(key(suggest(&all, None, None, RiskCategory::Competitive)).as_deref(), Some(GENERIC));
        let mut archived = all.clone();
        archived.iter_mut().for_each(|p| p.archived_at = Some(Utc::now()));
        assert!(suggest(&archived, Some(CHECK_IN), None, ops).is_none());
    }

    #[test]
    fn content_checks_report_every_problem() {
        let mut p = Problems::default();
        check_key(&mut p, "Bad Key");
        let c = Content {
            name: " ".into(),
            description: String::new(),
            category: None,
            rule_keys: vec![String::new()],
            desired_outcome: "  ".into(),
            steps: vec![step("", "", PlaybookRole::Finance, -1, false)],
        };
        check_content(&mut p, &c);
        let fields: Vec<Vec<String>> =
            p.finish().unwrap_err().field_errors().unwrap().into_iter().map(|f| f.field).collect();
        for f in [
            &["key"][..],
            &["name"],
            &["desiredOutcome"],
            &["ruleKeys", "0"],
            &["steps", "0", "title"],
            &["steps", "0", "dueInDays"],
        ] {
            assert!(fields.iter().any(|x| x == f), "{f:?} in {fields:?}");
        }
    }
}
