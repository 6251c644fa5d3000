//! Action plans: a playbook applied to a risk. A plan has a desired outcome, internal (users) and
//! client (contacts) stakeholders, a communication protocol, and actions, each with an owner and
//! a deadline. Applying a playbook moves the risk to mitigating through the audited lifecycle.
//! Open actions past their deadline are overdue: they are listed per owner and across the
//! portfolio, and raise the risk's urgency.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Select,
};

use crate::entities::{action_plan, plan_action, plan_contact, plan_user, risk, risk_event};
use crate::enums::stored;
use crate::page::{self, KeyKind, KeyValue, Page, PageRequest, Sort};
use crate::playbooks::{self, Playbook};
use crate::risks::{self, NewEvent, Risk, event_row};
use crate::store::{Versioned, is_unique_violation, update_if_version};
use crate::{
    AccountId, ActionPlanId, ActionStatus, Actor, ContactId, Error, OrganisationId, PlanActionId, PlaybookId,
    PlaybookRole, PlaybookVersionId, Problems, Result, RiskEventKind, RiskId, RiskStatus, Role, UpdateAudience,
    UpdateChannel, UserId, accounts, contacts, users, values,
};

/// Most stakeholders of each kind on a plan.
pub const MAX_STAKEHOLDERS: usize = 50;
/// Most actions a plan may hold.
pub const MAX_ACTIONS: usize = 100;
/// Longest update cadence, in days.
pub const MAX_CADENCE_DAYS: i32 = 90;

/// How and how often the plan's progress is communicated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Communication {
    pub audience: UpdateAudience,
    pub channel: UpdateChannel,
    /// An update is due this many days after the previous one (or the plan's start).
    pub cadence_days: i32,
}

impl Default for Communication {
    fn default() -> Self {
        Self { audience: UpdateAudience::Client, channel: UpdateChannel::Email, cadence_days: 7 }
    }
}

/// A playbook applied to a risk.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionPlan {
    pub id: ActionPlanId,
    pub organisation: OrganisationId,
    pub risk: RiskId,
    pub account: AccountId,
    pub playbook: PlaybookId,
    /// The playbook version the plan was made from (later edits of the playbook do not change it).
    pub playbook_version: PlaybookVersionId,
    pub desired_outcome: String,
    pub communication: Communication,
    pub internal_stakeholders: Vec<UserId>,
    pub client_stakeholders: Vec<ContactId>,
    pub created_by: Option<UserId>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One action of a plan.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanAction {
    pub id: PlanActionId,
    pub plan: ActionPlanId,
    pub risk: RiskId,
    pub account: AccountId,
    /// The playbook step it came from (0-based); `None` for actions added to the plan later.
    pub step: Option<i32>,
    pub title: String,
    pub description: String,
    /// The role the playbook step named.
    pub owner_role: Option<PlaybookRole>,
    pub owner: UserId,
    pub due_on: NaiveDate,
    pub involves_client: bool,
    pub status: ActionStatus,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<UserId>,
    pub note: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl PlanAction {
    /// Open and past its deadline.
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        self.status == ActionStatus::Open && self.due_on < today
    }
}

/// How urgently a risk needs attention: its priority band, raised one band while any of its
/// plan actions is overdue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Urgency {
    Low,
    Medium,
    High,
    Critical,
}

/// The urgency of a risk with this priority (1-25) and overdue actions.
pub fn urgency(priority: i32, overdue_actions: u64) -> Urgency {
    let band = match priority {
        ..=4 => Urgency::Low,
        5..=9 => Urgency::Medium,
        10..=15 => Urgency::High,
        _ => Urgency::Critical,
    };
    if overdue_actions == 0 {
        return band;
    }
    match band {
        Urgency::Low => Urgency::Medium,
        Urgency::Medium => Urgency::High,
        Urgency::High | Urgency::Critical => Urgency::Critical,
    }
}

fn plan_from(m: action_plan::Model, users: Vec<UserId>, contacts: Vec<ContactId>) -> Result<ActionPlan> {
    Ok(ActionPlan {
        id: ActionPlanId(m.id),
        organisation: OrganisationId(m.organisation_id),
        risk: RiskId(m.risk_id),
        account: AccountId(m.account_id),
        playbook: PlaybookId(m.playbook_id),
        playbook_version: PlaybookVersionId(m.playbook_version_id),
        desired_outcome: m.desired_outcome,
        communication: Communication {
            audience: stored(UpdateAudience::parse(&m.update_audience))?,
            channel: stored(UpdateChannel::parse(&m.update_channel))?,
            cadence_days: m.update_cadence_days,
        },
        internal_stakeholders: users,
        client_stakeholders: contacts,
        created_by: m.created_by.map(UserId),
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

impl TryFrom<plan_action::Model> for PlanAction {
    type Error = Error;
    fn try_from(m: plan_action::Model) -> Result<Self> {
        Ok(Self {
            id: PlanActionId(m.id),
            plan: ActionPlanId(m.plan_id),
            risk: RiskId(m.risk_id),
            account: AccountId(m.account_id),
            step: m.step,
            title: m.title,
            description: m.description,
            owner_role: m.owner_role.as_deref().map(|r| stored(PlaybookRole::parse(r))).transpose()?,
            owner: UserId(m.owner_id),
            due_on: m.due_on,
            involves_client: m.involves_client,
            status: stored(ActionStatus::parse(&m.status))?,
            closed_at: m.closed_at,
            closed_by: m.closed_by.map(UserId),
            note: m.note,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

fn action_cols() -> Versioned<plan_action::Column> {
    Versioned {
        id: plan_action::Column::Id,
        organisation: plan_action::Column::OrganisationId,
        version: plan_action::Column::Version,
    }
}

/// An owner and deadline for one playbook step, replacing the defaults (the step's role and due
/// offset).
#[derive(Clone, Debug, Default)]
pub struct Assignment {
    /// The step (0-based).
    pub step: i32,
    pub owner: Option<UserId>,
    pub due_on: Option<NaiveDate>,
}

/// Applying a playbook to a risk.
#[derive(Clone, Debug)]
pub struct Apply {
    pub risk: RiskId,
    pub playbook: PlaybookId,
    /// Defaults to the playbook's desired outcome for the account.
    pub desired_outcome: Option<String>,
    pub internal_stakeholders: Vec<UserId>,
    pub client_stakeholders: Vec<ContactId>,
    /// Defaults to a weekly email to the client.
    pub communication: Option<Communication>,
    pub assignments: Vec<Assignment>,
    pub note: Option<String>,
}

/// An action to add to a plan. Owner and deadline are required (`None` is refused with a
/// field error).
#[derive(Clone, Debug, Default)]
pub struct NewAction {
    pub title: String,
    pub description: String,
    pub owner: Option<UserId>,
    pub due_on: Option<NaiveDate>,
    pub involves_client: bool,
}

/// Checks a user may own actions: exists here, is not archived, and is not read-only.
async fn check_user(
    db: &DatabaseConnection,
    org: OrganisationId,
    user: UserId,
    field: &[&str],
    p: &mut Problems,
) -> Result<()> {
    match users::get(db, org, user).await? {
        None => p.missing(field, "no such user"),
        Some(u) if u.archived_at.is_some() => p.push(field, "user is archived"),
        Some(u) if u.role == Role::Viewer => p.push(field, "viewers have read-only access and cannot own actions"),
        Some(_) => {}
    }
    Ok(())
}

fn check_due(p: &mut Problems, field: &[&str], due: NaiveDate, today: NaiveDate) {
    if due < today {
        p.push(field, format!("must not be in the past (today is {today})"));
    }
    if due > today + Duration::days(3650) {
        p.push(field, "must be within ten years");
    }
}

/// What the application of a playbook will write: checked before anything is written (by
/// [`write_prepared`], in the caller's transaction, or by `apply`).
pub(crate) struct Prepared {
    plan_id: ActionPlanId,
    plan: action_plan::ActiveModel,
    users: Vec<UserId>,
    contacts: Vec<ContactId>,
    actions: Vec<plan_action::ActiveModel>,
    risk_changes: Vec<(RiskStatus, RiskStatus)>,
    set_owner: Option<UserId>,
    note: String,
}

/// How an owner is found for a step without an explicit assignment.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fallback {
    /// Refuse the step: the caller must assign it (a person applying a playbook).
    Refuse,
    /// Fall back to the risk owner, the account manager, then the actor (automatic application).
    Chain,
}

async fn prepare(
    db: &DatabaseConnection,
    actor: &Actor,
    risk: &Risk,
    playbook: &Playbook,
    input: &Apply,
    fallback: Fallback,
) -> Result<Prepared> {
    let org = actor.organisation;
    let account = accounts::get(db, org, risk.account).await?.ok_or_else(|| Error::not_found("risk", &["riskId"]))?;
    let mut p = Problems::default();
    if !risk.status.is_open() {
        return Err(Error::invalid(
            &["riskId"],
            format!("the risk is {}: playbooks apply to open risks (identified, validated or mitigating)", risk.status),
        ));
    }
    if playbook.archived_at.is_some() {
        p.push(&["playbookId"], "the playbook is archived");
    }
    let outcome = input.desired_outcome.clone().unwrap_or_else(|| playbook.content.outcome_for(&account.name));
    let outcome = p.check(&["desiredOutcome"], values::text(&outcome, values::MAX_TEXT));
    let note = input.note.as_deref().and_then(|n| p.check(&["note"], values::text(n, values::MAX_TEXT)));
    let comm = input.communication.unwrap_or_default();
    check_cadence(&mut p, comm);
    let users_in = check_users(db, org, &input.internal_stakeholders, &mut p).await?;
    let contacts_in = check_contacts(db, org, risk.account, &input.client_stakeholders, &mut p).await?;
    // Actions: one per step, owner and deadline from the assignment or the step's defaults.
    let steps = &playbook.content.steps;
    // Step -> (position in `assignments`, assignment).
    let mut assigned: HashMap<i32, (usize, &Assignment)> = HashMap::new();
    for (i, a) in input.assignments.iter().enumerate() {
        let idx = i.to_string();
        if a.step < 0 || a.step as usize >= steps.len() {
            p.push(&["assignments", &idx, "step"], format!("the playbook has steps 0 to {}", steps.len() - 1));
        } else if assigned.insert(a.step, (i, a)).is_some() {
            p.push(&["assignments", &idx, "step"], "assigned twice");
        }
        if let Some(u) = a.owner {
            check_user(db, org, u, &["assignments", &idx, "ownerId"], &mut p).await?;
        }
    }
    let today = actor.today();
    // People who hold a role on the account or risk own actions only while they can: not
    // archived, not read-only. A risk without an owner gets the person applying (see `apply`).
    let holders: Vec<UserId> =
        [account.account_manager, account.sales_owner, risk.owner].into_iter().flatten().collect();
    let found = users::by_ids(db, org, &holders).await?;
    let usable = |u: Option<UserId>| {
        u.filter(|u| found.get(u).is_some_and(|u| u.archived_at.is_none() && u.role != Role::Viewer))
    };
    let (account_manager, sales_owner) = (usable(account.account_manager), usable(account.sales_owner));
    let owner_of_risk = if risk.owner.is_some() { usable(risk.owner) } else { Some(actor.user) };
    let now = values::now();
    let plan_id = ActionPlanId::generate();
    let mut actions = Vec::with_capacity(steps.len());
    for (i, s) in steps.iter().enumerate() {
        let (position, a) = match assigned.get(&(i as i32)) {
            Some((position, a)) => (Some(*position), Some(*a)),
            None => (None, None),
        };
        let by_role = match s.owner_role {
            PlaybookRole::AccountManager => account_manager,
            PlaybookRole::SalesOwner => sales_owner,
            PlaybookRole::RiskOwner => owner_of_risk,
            PlaybookRole::SupportLead | PlaybookRole::Finance | PlaybookRole::Executive => None,
        };
        let owner = a.and_then(|a| a.owner).or(by_role).or(match fallback {
            Fallback::Refuse => None,
            Fallback::Chain => owner_of_risk.or(account_manager).or(Some(actor.user)),
        });
        let Some(owner) = owner else {
            p.push(
                &["assignments"],
                format!(
                    "step {i} ('{}') is for the {} and nobody holds that role on this account: assign it an owner",
                    s.title,
                    s.owner_role.as_str().replace('_', " ")
                ),
            );
            continue;
        };
        let due = a.and_then(|a| a.due_on).unwrap_or(today + Duration::days(i64::from(s.due_in_days)));
        if let (Some(d), Some(position)) = (a.and_then(|a| a.due_on), position) {
            check_due(&mut p, &["assignments", &position.to_string(), "dueOn"], d, today);
        }
        actions.push(action_row(
            PlanActionId::generate(),
            org,
            plan_id,
            risk,
            Some(i as i32),
            &s.title,
            &s.description,
            Some(s.owner_role),
            owner,
            due,
            s.involves_client,
            now,
        ));
    }
    p.finish()?;
    let plan = action_plan::ActiveModel {
        id: Set(plan_id.0),
        organisation_id: Set(org.0),
        risk_id: Set(risk.id.0),
        account_id: Set(risk.account.0),
        playbook_id: Set(playbook.id.0),
        playbook_version_id: Set(playbook.current_version_id.0),
        desired_outcome: Set(outcome.unwrap()),
        update_audience: Set(comm.audience.as_str().into()),
        update_channel: Set(comm.channel.as_str().into()),
        update_cadence_days: Set(comm.cadence_days),
        created_by: Set(Some(actor.user.0)),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let risk_changes = match risk.status {
        RiskStatus::Identified => {
            vec![(RiskStatus::Identified, RiskStatus::Validated), (RiskStatus::Validated, RiskStatus::Mitigating)]
        }
        RiskStatus::Validated => vec![(RiskStatus::Validated, RiskStatus::Mitigating)],
        _ => Vec::new(),
    };
    let mut text = format!("playbook '{}' (version {}) applied", playbook.content.name, playbook.current_version);
    if let Some(n) = note {
        text = format!("{text}: {n}");
    }
    Ok(Prepared {
        plan_id,
        plan,
        users: users_in,
        contacts: contacts_in,
        actions,
        risk_changes,
        set_owner: risk.owner.is_none().then_some(actor.user),
        note: text,
    })
}

fn check_cadence(p: &mut Problems, comm: Communication) {
    if !(1..=MAX_CADENCE_DAYS).contains(&comm.cadence_days) {
        p.push(
            &["communication", "cadenceDays"],
            format!("must be between 1 and {MAX_CADENCE_DAYS}, got {}", comm.cadence_days),
        );
    }
}

/// Internal stakeholders: users of the organisation, not archived; repeats dropped.
async fn check_users(
    db: &DatabaseConnection,
    org: OrganisationId,
    given: &[UserId],
    p: &mut Problems,
) -> Result<Vec<UserId>> {
    let ids = dedup(given);
    if ids.len() > MAX_STAKEHOLDERS {
        p.push(&["internalStakeholderIds"], format!("at most {MAX_STAKEHOLDERS} stakeholders"));
    }
    let found = users::by_ids(db, org, &ids).await?;
    for (i, u) in given.iter().enumerate() {
        match found.get(u) {
            None => p.missing(&["internalStakeholderIds", &i.to_string()], "no such user"),
            Some(u) if u.archived_at.is_some() => {
                p.push(&["internalStakeholderIds", &i.to_string()], "user is archived")
            }
            Some(_) => {}
        }
    }
    Ok(ids)
}

/// Client stakeholders: contacts of the risk's account; repeats dropped.
async fn check_contacts(
    db: &DatabaseConnection,
    org: OrganisationId,
    account: AccountId,
    given: &[ContactId],
    p: &mut Problems,
) -> Result<Vec<ContactId>> {
    let ids = dedup(given);
    if ids.len() > MAX_STAKEHOLDERS {
        p.push(&["clientStakeholderIds"], format!("at most {MAX_STAKEHOLDERS} stakeholders"));
    }
    let found = contacts::by_ids(db, org, &ids).await?;
    for (i, c) in given.iter().enumerate() {
        match found.get(c) {
            Some(c) if c.account == account => {}
            Some(_) => p.push(&["clientStakeholderIds", &i.to_string()], "not a contact of the risk's account"),
            None => p.missing(&["clientStakeholderIds", &i.to_string()], "no such contact"),
        }
    }
    Ok(ids)
}

async fn insert_stakeholders<C: ConnectionTrait>(
    db: &C,
    org: OrganisationId,
    plan: ActionPlanId,
    users: &[UserId],
    contacts: &[ContactId],
) -> Result<(), sea_orm::DbErr> {
    if !users.is_empty() {
        plan_user::Entity::insert_many(users.iter().map(|u| plan_user::ActiveModel {
            organisation_id: Set(org.0),
            plan_id: Set(plan.0),
            user_id: Set(u.0),
        }))
        .exec_without_returning(db)
        .await?;
    }
    if !contacts.is_empty() {
        plan_contact::Entity::insert_many(contacts.iter().map(|c| plan_contact::ActiveModel {
            organisation_id: Set(org.0),
            plan_id: Set(plan.0),
            contact_id: Set(c.0),
        }))
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

fn dedup<T: Copy + Eq + std::hash::Hash>(list: &[T]) -> Vec<T> {
    let mut seen = HashSet::new();
    list.iter().copied().filter(|x| seen.insert(*x)).collect()
}

#[allow(clippy::too_many_arguments)]
fn action_row(
    id: PlanActionId,
    org: OrganisationId,
    plan: ActionPlanId,
    risk: &Risk,
    step: Option<i32>,
    title: &str,
    description: &str,
    role: Option<PlaybookRole>,
    owner: UserId,
    due: NaiveDate,
    involves_client: bool,
    now: DateTime<Utc>,
) -> plan_action::ActiveModel {
    plan_action::ActiveModel {
        id: Set(id.0),
        organisation_id: Set(org.0),
        plan_id: Set(plan.0),
        risk_id: Set(risk.id.0),
        account_id: Set(risk.account.0),
        step: Set(step),
        title: Set(title.to_owned()),
        description: Set(description.to_owned()),
        owner_role: Set(role.map(|r| r.as_str().to_owned())),
        owner_id: Set(owner.0),
        due_on: Set(due),
        involves_client: Set(involves_client),
        status: Set(ActionStatus::Open.as_str().into()),
        closed_at: Set(None),
        closed_by: Set(None),
        note: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

/// Writes a prepared plan: the risk first (compare-and-set on its version, so a concurrent
/// change or a second application is caught), its audit entries, then the plan.
async fn write(
    db: &DatabaseConnection,
    org: OrganisationId,
    actor: UserId,
    risk: &Risk,
    w: Prepared,
) -> Result<ActionPlanId> {
    let plan_id = w.plan_id;
    let now = values::now();
    let (risk_id, version) = (risk.id, risk.version);
    crate::db::write::<_, _, _, Error>(db, |tx| {
        Box::pin(async move { write_prepared(tx, org, actor, risk_id, version, w, now).await })
    })
    .await?;
    Ok(plan_id)
}

/// The writes of a playbook application, inside the caller's transaction: the risk's
/// compare-and-set at `version` (status, owner), its audit entries from `now` on, the plan, its
/// stakeholders and actions. Validation uses it to write an automatic application in its own
/// transaction, at the version it leaves and just after its event.
pub(crate) async fn write_prepared<C: ConnectionTrait>(
    tx: &C,
    org: OrganisationId,
    actor: UserId,
    risk_id: RiskId,
    version: i32,
    w: Prepared,
    now: DateTime<Utc>,
) -> Result<()> {
    let plan_id = w.plan_id;
    let to = w.risk_changes.last().map(|c| c.1);
    let mut changes = risk::ActiveModel { version: Set(version + 1), updated_at: Set(now), ..Default::default() };
    if let Some(to) = to {
        changes.status = Set(to.as_str().into());
    }
    if let Some(owner) = w.set_owner {
        changes.owner_id = Set(Some(owner.0));
    }
    if !update_if_version(tx, risks::cols(), changes, org.0, risk_id.0, version).await? {
        return Err(Error::conflict(&["riskId"], "risk was changed concurrently; reload and retry"));
    }
    let mut events = Vec::new();
    for (from, to) in &w.risk_changes {
        events.push(NewEvent {
            risk: risk_id,
            actor: Some(actor),
            kind: RiskEventKind::Transition,
            from: Some(*from),
            to: Some(*to),
            note: Some("playbook applied"),
        });
    }
    events.push(NewEvent {
        risk: risk_id,
        actor: Some(actor),
        kind: RiskEventKind::PlanApplied,
        from: None,
        to: None,
        note: Some(&w.note),
    });
    // One microsecond apart, so the trail reads in the order written.
    let rows: Vec<risk_event::ActiveModel> = events
        .into_iter()
        .enumerate()
        .map(|(i, e)| event_row(org, now + Duration::microseconds(i as i64), e))
        .collect();
    risk_event::Entity::insert_many(rows).exec_without_returning(tx).await?;
    match action_plan::Entity::insert(w.plan).exec_without_returning(tx).await {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => {
            return Err(Error::conflict(&["playbookId"], "this playbook is already applied to the risk"));
        }
        Err(e) => return Err(e.into()),
    }
    insert_stakeholders(tx, org, plan_id, &w.users, &w.contacts).await?;
    if !w.actions.is_empty() {
        plan_action::Entity::insert_many(w.actions).exec_without_returning(tx).await?;
    }
    Ok(())
}

/// Applies a playbook to an open risk the actor may write: makes the action plan (one action per
/// step) and moves the risk to mitigating (through validated when it was identified), audited.
/// A step whose role nobody holds on the account must be assigned in `assignments`. The risk
/// gets the actor as owner when it had none.
pub async fn apply(db: &DatabaseConnection, actor: &Actor, input: Apply) -> Result<ActionPlan> {
    let risk = risks::writable(db, actor, input.risk).await?;
    let playbook = playbooks::get(db, actor.organisation, input.playbook)
        .await?
        .ok_or_else(|| Error::not_found("playbook", &["playbookId"]))?;
    let prepared = prepare(db, actor, &risk, &playbook, &input, Fallback::Refuse).await?;
    let id = write(db, actor.organisation, actor.user, &risk, prepared).await?;
    get(db, actor.organisation, id).await?.ok_or_else(|| Error::not_found("action plan", &["id"]))
}

/// Before a risk is validated: prepares the application of the playbook its rule suggested when
/// the organisation set that playbook to apply itself, for [`write_prepared`] in the
/// validation's transaction. `risk` is the risk as the validation will leave it. Steps nobody
/// holds the role for go to the risk owner, the account manager, or the person who validates.
/// `Ok(None)` when there is nothing to apply.
pub(crate) async fn prepare_auto_apply(
    db: &DatabaseConnection,
    actor: &Actor,
    risk: &Risk,
) -> Result<Option<Prepared>> {
    let Some(key) = &risk.suggested_playbook else { return Ok(None) };
    let Some(playbook) = playbooks::by_key(db, actor.organisation, key).await? else { return Ok(None) };
    if !playbook.auto_apply || playbook.archived_at.is_some() {
        return Ok(None);
    }
    let input = Apply {
        risk: risk.id,
        playbook: playbook.id,
        desired_outcome: None,
        internal_stakeholders: Vec::new(),
        client_stakeholders: Vec::new(),
        communication: None,
        assignments: Vec::new(),
        note: Some("applied automatically on validation".into()),
    };
    Ok(Some(prepare(db, actor, risk, &playbook, &input, Fallback::Chain).await?))
}

async fn stakeholders(
    db: &DatabaseConnection,
    org: OrganisationId,
    plans: &[uuid::Uuid],
) -> Result<(HashMap<uuid::Uuid, Vec<UserId>>, HashMap<uuid::Uuid, Vec<ContactId>>)> {
    let mut u: HashMap<uuid::Uuid, Vec<UserId>> = HashMap::new();
    let mut c: HashMap<uuid::Uuid, Vec<ContactId>> = HashMap::new();
    if plans.is_empty() {
        return Ok((u, c));
    }
    for row in plan_user::Entity::find()
        .filter(plan_user::Column::OrganisationId.eq(org.0))
        .filter(plan_user::Column::PlanId.is_in(plans.iter().copied()))
        .order_by_asc(plan_user::Column::UserId)
        .all(db)
        .await?
    {
        u.entry(row.plan_id).or_default().push(UserId(row.user_id));
    }
    for row in plan_contact::Entity::find()
        .filter(plan_contact::Column::OrganisationId.eq(org.0))
        .filter(plan_contact::Column::PlanId.is_in(plans.iter().copied()))
        .order_by_asc(plan_contact::Column::ContactId)
        .all(db)
        .await?
    {
        c.entry(row.plan_id).or_default().push(ContactId(row.contact_id));
    }
    Ok((u, c))
}

async fn assemble(
    db: &DatabaseConnection,
    org: OrganisationId,
    rows: Vec<action_plan::Model>,
) -> Result<Vec<ActionPlan>> {
    let ids: Vec<uuid::Uuid> = rows.iter().map(|m| m.id).collect();
    let (mut u, mut c) = stakeholders(db, org, &ids).await?;
    rows.into_iter()
        .map(|m| {
            let (users, contacts) = (u.remove(&m.id).unwrap_or_default(), c.remove(&m.id).unwrap_or_default());
            plan_from(m, users, contacts)
        })
        .collect()
}

/// Action plans by id (unknown ids are absent).
pub async fn by_ids(
    db: &DatabaseConnection,
    org: OrganisationId,
    ids: &[ActionPlanId],
) -> Result<HashMap<ActionPlanId, ActionPlan>> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let rows = action_plan::Entity::find()
            .filter(action_plan::Column::OrganisationId.eq(org.0))
            .filter(action_plan::Column::Id.is_in(chunk.iter().map(|p| p.0)))
            .all(db)
            .await?;
        out.extend(assemble(db, org, rows).await?.into_iter().map(|p| (p.id, p)));
    }
    Ok(out)
}

/// One action plan.
pub async fn get(db: &DatabaseConnection, org: OrganisationId, id: ActionPlanId) -> Result<Option<ActionPlan>> {
    let rows =
        action_plan::Entity::find_by_id(id.0).filter(action_plan::Column::OrganisationId.eq(org.0)).all(db).await?;
    Ok(assemble(db, org, rows).await?.pop())
}

/// The action plans of some risks, oldest first (risks without plans are absent).
pub async fn of_risks(
    db: &DatabaseConnection,
    org: OrganisationId,
    risks: &[RiskId],
) -> Result<HashMap<RiskId, Vec<ActionPlan>>> {
    let mut out: HashMap<RiskId, Vec<ActionPlan>> = HashMap::new();
    for chunk in risks.chunks(500) {
        let rows = action_plan::Entity::find()
            .filter(action_plan::Column::OrganisationId.eq(org.0))
            .filter(action_plan::Column::RiskId.is_in(chunk.iter().map(|r| r.0)))
            .order_by_asc(action_plan::Column::Id)
            .all(db)
            .await?;
        for plan in assemble(db, org, rows).await? {
            out.entry(plan.risk).or_default().push(plan);
        }
    }
    Ok(out)
}

/// The actions of some plans, each by deadline (plans without actions are absent).
pub async fn actions_of(
    db: &DatabaseConnection,
    org: OrganisationId,
    plans: &[ActionPlanId],
) -> Result<HashMap<ActionPlanId, Vec<PlanAction>>> {
    let mut out: HashMap<ActionPlanId, Vec<PlanAction>> = HashMap::new();
    for chunk in plans.chunks(500) {
        let rows = plan_action::Entity::find()
            .filter(plan_action::Column::OrganisationId.eq(org.0))
            .filter(plan_action::Column::PlanId.is_in(chunk.iter().map(|p| p.0)))
            .order_by_asc(plan_action::Column::DueOn)
            .order_by_asc(plan_action::Column::Id)
            .all(db)
            .await?;
        for m in rows {
            let a = PlanAction::try_from(m)?;
            out.entry(a.plan).or_default().push(a);
        }
    }
    Ok(out)
}

/// One action.
pub async fn action(db: &DatabaseConnection, org: OrganisationId, id: PlanActionId) -> Result<Option<PlanAction>> {
    plan_action::Entity::find_by_id(id.0)
        .filter(plan_action::Column::OrganisationId.eq(org.0))
        .one(db)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

/// The plan an action belongs to and whether the actor may write its account.
async fn writable_plan(
    db: &DatabaseConnection,
    actor: &Actor,
    plan: ActionPlanId,
    field: &str,
) -> Result<(ActionPlan, Risk)> {
    actor.require_writer()?;
    let plan = get(db, actor.organisation, plan).await?.ok_or_else(|| Error::not_found("action plan", &[field]))?;
    let risk = risks::writable(db, actor, plan.risk).await?;
    Ok((plan, risk))
}

/// Adds an action to a plan of an open risk. Owner and deadline are required.
pub async fn add_action(
    db: &DatabaseConnection,
    actor: &Actor,
    plan: ActionPlanId,
    new: NewAction,
) -> Result<PlanAction> {
    let (plan, risk) = writable_plan(db, actor, plan, "planId").await?;
    let org = actor.organisation;
    let mut p = Problems::default();
    let title = p.check(&["title"], values::line(&new.title, 300));
    let description = p.check(&["description"], values::text_or_empty(&new.description, values::MAX_TEXT));
    let today = actor.today();
    match new.owner {
        None => p.push(&["ownerId"], "an action needs an owner"),
        Some(u) => check_user(db, org, u, &["ownerId"], &mut p).await?,
    }
    match new.due_on {
        None => p.push(&["dueOn"], "an action needs a deadline"),
        Some(d) => check_due(&mut p, &["dueOn"], d, today),
    }
    let count = plan_action::Entity::find()
        .filter(plan_action::Column::OrganisationId.eq(org.0))
        .filter(plan_action::Column::PlanId.eq(plan.id.0))
        .count(db)
        .await?;
    if count as usize >= MAX_ACTIONS {
        p.push(&["planId"], format!("a plan holds at most {MAX_ACTIONS} actions"));
    }
    p.finish()?;
    if !risk.status.is_open() {
        return Err(Error::invalid(&["planId"], format!("the risk is {}: its plan is closed", risk.status)));
    }
    let id = PlanActionId::generate();
    let row = action_row(
        id,
        org,
        plan.id,
        &risk,
        None,
        &title.unwrap(),
        &description.unwrap(),
        None,
        new.owner.unwrap(),
        new.due_on.unwrap(),
        new.involves_client,
        values::now(),
    );
    plan_action::Entity::insert(row).exec_without_returning(db).await?;
    action(db, org, id).await?.ok_or_else(|| Error::not_found("action", &["id"]))
}

/// A change to a plan; `None` leaves a part as it is (stakeholder lists are replaced whole).
#[derive(Clone, Debug, Default)]
pub struct PlanChange {
    pub desired_outcome: Option<String>,
    pub internal_stakeholders: Option<Vec<UserId>>,
    pub client_stakeholders: Option<Vec<ContactId>>,
    pub communication: Option<Communication>,
    pub expected_version: Option<i32>,
}

fn plan_cols() -> Versioned<action_plan::Column> {
    Versioned {
        id: action_plan::Column::Id,
        organisation: action_plan::Column::OrganisationId,
        version: action_plan::Column::Version,
    }
}

/// Changes the plan of an open risk (those who may write its account).
pub async fn update(db: &DatabaseConnection, actor: &Actor, id: ActionPlanId, c: PlanChange) -> Result<ActionPlan> {
    let (plan, risk) = writable_plan(db, actor, id, "id").await?;
    let org = actor.organisation;
    if let Some(e) = c.expected_version
        && e != plan.version
    {
        return Err(Error::stale("action plan", e, plan.version));
    }
    let mut p = Problems::default();
    let outcome =
        c.desired_outcome.as_deref().and_then(|o| p.check(&["desiredOutcome"], values::text(o, values::MAX_TEXT)));
    if let Some(comm) = c.communication {
        check_cadence(&mut p, comm);
    }
    let users = match &c.internal_stakeholders {
        Some(u) => Some(check_users(db, org, u, &mut p).await?),
        None => None,
    };
    let contacts = match &c.client_stakeholders {
        Some(list) => Some(check_contacts(db, org, risk.account, list, &mut p).await?),
        None => None,
    };
    p.finish()?;
    if !risk.status.is_open() {
        return Err(Error::invalid(&["id"], format!("the risk is {}: its plan is closed", risk.status)));
    }
    let now = values::now();
    let mut changes =
        action_plan::ActiveModel { version: Set(plan.version + 1), updated_at: Set(now), ..Default::default() };
    if let Some(o) = outcome {
        changes.desired_outcome = Set(o);
    }
    if let Some(comm) = c.communication {
        changes.update_audience = Set(comm.audience.as_str().into());
        changes.update_channel = Set(comm.channel.as_str().into());
        changes.update_cadence_days = Set(comm.cadence_days);
    }
    let version = plan.version;
    let saved = crate::db::write::<_, _, _, Error>(db, |tx| {
        Box::pin(async move {
            if !update_if_version(tx, plan_cols(), changes, org.0, id.0, version).await? {
                return Ok(false);
            }
            if let Some(users) = &users {
                plan_user::Entity::delete_many()
                    .filter(plan_user::Column::OrganisationId.eq(org.0))
                    .filter(plan_user::Column::PlanId.eq(id.0))
                    .exec(tx)
                    .await?;
                insert_stakeholders(tx, org, id, users, &[]).await?;
            }
            if let Some(contacts) = &contacts {
                plan_contact::Entity::delete_many()
                    .filter(plan_contact::Column::OrganisationId.eq(org.0))
                    .filter(plan_contact::Column::PlanId.eq(id.0))
                    .exec(tx)
                    .await?;
                insert_stakeholders(tx, org, id, &[], contacts).await?;
            }
            Ok(true)
        })
    })
    .await?;
    if !saved {
        return Err(Error::conflict(&["expectedVersion"], "action plan was changed concurrently; reload and retry"));
    }
    get(db, org, id).await?.ok_or_else(|| Error::not_found("action plan", &["id"]))
}

/// A change to an open action.
#[derive(Clone, Debug)]
pub enum ActionChange {
    /// A new owner and/or deadline (the plan's account writers).
    Reassign { owner: Option<UserId>, due_on: Option<NaiveDate> },
    /// Done (its owner, or an admin or manager).
    Complete { note: Option<String> },
    /// No longer needed (the plan's account writers).
    Cancel { note: Option<String> },
}

/// Reassigns, completes or cancels an open action (compare-and-set on its version).
pub async fn change_action(
    db: &DatabaseConnection,
    actor: &Actor,
    id: PlanActionId,
    change: ActionChange,
    expected_version: Option<i32>,
) -> Result<PlanAction> {
    actor.require_writer()?;
    let org = actor.organisation;
    let current = action(db, org, id).await?.ok_or_else(|| Error::not_found("action", &["id"]))?;
    match &change {
        // The owner completes their own action whatever their rights on the account: the point of
        // giving it to them.
        ActionChange::Complete { .. } if current.owner == actor.user => {}
        ActionChange::Complete { .. } if !matches!(actor.role, Role::Admin | Role::Manager) => {
            return Err(Error::Forbidden("only the action's owner, an admin or a manager may complete it".into()));
        }
        ActionChange::Complete { .. } => {}
        _ => {
            risks::writable(db, actor, current.risk).await?;
        }
    }
    if let Some(e) = expected_version
        && e != current.version
    {
        return Err(Error::stale("action", e, current.version));
    }
    let mut p = Problems::default();
    let now = values::now();
    let mut changes =
        plan_action::ActiveModel { version: Set(current.version + 1), updated_at: Set(now), ..Default::default() };
    match change {
        ActionChange::Reassign { owner, due_on } => {
            if owner.is_none() && due_on.is_none() {
                p.push(&[], "give a new owner, a new deadline or both");
            }
            if let Some(u) = owner {
                check_user(db, org, u, &["ownerId"], &mut p).await?;
                changes.owner_id = Set(u.0);
            }
            if let Some(d) = due_on {
                check_due(&mut p, &["dueOn"], d, actor.today());
                changes.due_on = Set(d);
            }
        }
        ActionChange::Complete { note } => {
            let note = note.as_deref().and_then(|n| p.check(&["note"], values::text(n, values::MAX_TEXT)));
            changes.status = Set(ActionStatus::Done.as_str().into());
            changes.closed_at = Set(Some(now));
            changes.closed_by = Set(Some(actor.user.0));
            changes.note = Set(note);
        }
        ActionChange::Cancel { note } => {
            let note = note.as_deref().and_then(|n| p.check(&["note"], values::text(n, values::MAX_TEXT)));
            changes.status = Set(ActionStatus::Cancelled.as_str().into());
            changes.closed_at = Set(Some(now));
            changes.closed_by = Set(Some(actor.user.0));
            changes.note = Set(note);
        }
    }
    p.finish()?;
    if current.status != ActionStatus::Open {
        return Err(Error::invalid(&["id"], format!("the action is {} and can no longer change", current.status)));
    }
    if !update_if_version(db, action_cols(), changes, org.0, id.0, current.version).await? {
        return Err(Error::conflict(&["expectedVersion"], "action was changed concurrently; reload and retry"));
    }
    action(db, org, id).await?.ok_or_else(|| Error::not_found("action", &["id"]))
}

/// Which actions a list shows.
#[derive(Clone, Debug, Default)]
pub struct ActionFilter {
    pub owner: Option<UserId>,
    pub account: Option<AccountId>,
    pub risk: Option<RiskId>,
    pub statuses: Option<Vec<ActionStatus>>,
    /// Only open actions past their deadline (true) or not (false), as of the organisation's
    /// today.
    pub overdue: Option<(bool, NaiveDate)>,
}

fn filtered(org: OrganisationId, f: &ActionFilter) -> Select<plan_action::Entity> {
    use plan_action::Column as C;
    let mut cond = Condition::all().add(C::OrganisationId.eq(org.0));
    if let Some(u) = f.owner {
        cond = cond.add(C::OwnerId.eq(u.0));
    }
    if let Some(a) = f.account {
        cond = cond.add(C::AccountId.eq(a.0));
    }
    if let Some(r) = f.risk {
        cond = cond.add(C::RiskId.eq(r.0));
    }
    if let Some(s) = &f.statuses {
        cond = cond.add(C::Status.is_in(s.iter().map(|s| s.as_str())));
    }
    match f.overdue {
        Some((true, today)) => cond = cond.add(C::Status.eq(ActionStatus::Open.as_str())).add(C::DueOn.lt(today)),
        Some((false, today)) => {
            cond = cond.add(Condition::any().add(C::Status.ne(ActionStatus::Open.as_str())).add(C::DueOn.gte(today)))
        }
        None => {}
    }
    plan_action::Entity::find().filter(cond)
}

/// A page of the organisation's actions by deadline (earliest first).
pub async fn list_actions(
    db: &DatabaseConnection,
    org: OrganisationId,
    f: &ActionFilter,
    page: &PageRequest,
) -> Result<Page<PlanAction>> {
    let sort = Sort { column: plan_action::Column::DueOn, kind: KeyKind::Date, nullable: false, descending: false };
    page::fetch(db, filtered(org, f), sort, Some(plan_action::Column::Id), page, |m| KeyValue::Date(m.due_on), |m| m.id)
        .await?
        .try_map(TryInto::try_into)
}

/// How many actions match the filter.
pub async fn count_actions(db: &DatabaseConnection, org: OrganisationId, f: &ActionFilter) -> Result<u64> {
    Ok(filtered(org, f).count(db).await?)
}

/// Overdue actions of one owner.
#[derive(Clone, Debug, PartialEq)]
pub struct OwnerOverdue {
    pub owner: UserId,
    pub count: u64,
    pub oldest_due_on: NaiveDate,
}

/// Overdue actions per owner (as of the organisation's `today`), most first.
pub async fn overdue_by_owner(
    db: &DatabaseConnection,
    org: OrganisationId,
    today: NaiveDate,
) -> Result<Vec<OwnerOverdue>> {
    let f = ActionFilter { overdue: Some((true, today)), ..Default::default() };
    let rows: Vec<(uuid::Uuid, i64, NaiveDate)> = filtered(org, &f)
        .select_only()
        .column(plan_action::Column::OwnerId)
        .column_as(plan_action::Column::Id.count(), "n")
        .column_as(plan_action::Column::DueOn.min(), "oldest")
        .group_by(plan_action::Column::OwnerId)
        .into_tuple()
        .all(db)
        .await?;
    let mut out: Vec<OwnerOverdue> = rows
        .into_iter()
        .map(|(u, n, d)| OwnerOverdue { owner: UserId(u), count: n.max(0) as u64, oldest_due_on: d })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then(a.oldest_due_on.cmp(&b.oldest_due_on)));
    Ok(out)
}

/// Overdue open actions per risk as of the organisation's `today` (risks without any are absent).
pub async fn overdue_counts(
    db: &DatabaseConnection,
    org: OrganisationId,
    today: NaiveDate,
    ids: &[RiskId],
) -> Result<HashMap<RiskId, u64>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(uuid::Uuid, i64)> = plan_action::Entity::find()
            .select_only()
            .column(plan_action::Column::RiskId)
            .column_as(plan_action::Column::Id.count(), "n")
            .filter(plan_action::Column::OrganisationId.eq(org.0))
            .filter(plan_action::Column::RiskId.is_in(chunk.iter().map(|r| r.0)))
            .filter(plan_action::Column::Status.eq(ActionStatus::Open.as_str()))
            .filter(plan_action::Column::DueOn.lt(today))
            .group_by(plan_action::Column::RiskId)
            .into_tuple()
            .all(db)
            .await?;
        out.extend(rows.into_iter().map(|(r, n)| (RiskId(r), n.max(0) as u64)));
    }
    Ok(out)
}

/// The ids of risks with overdue actions (as of `today`), as a subquery for risk filters.
pub(crate) fn risks_with_overdue(org: OrganisationId, today: NaiveDate) -> sea_orm::sea_query::SelectStatement {
    sea_orm::sea_query::Query::select()
        .column(plan_action::Column::RiskId)
        .from(plan_action::Entity)
        .and_where(plan_action::Column::OrganisationId.eq(org.0))
        .and_where(plan_action::Column::Status.eq(ActionStatus::Open.as_str()))
        .and_where(plan_action::Column::DueOn.lt(today))
        .to_owned()
}

/// How well a playbook worked: its plans and what became of their risks.
#[derive(Clone, Debug, PartialEq)]
pub struct Effectiveness {
    pub playbook: PlaybookId,
    pub plans: u64,
    /// Plans whose risk is still open.
    pub open: u64,
    pub resolved: u64,
    pub materialized: u64,
    /// Resolved among the plans whose risk closed as resolved or materialized (0-1).
    pub resolved_share: Option<f64>,
    /// Materialized among the same (0-1).
    pub materialized_share: Option<f64>,
    /// Median days from applying the plan to resolving the risk.
    pub median_days_to_resolve: Option<f64>,
}

/// Effectiveness of every playbook that was applied at least once (plans made since `since`).
pub async fn effectiveness(
    db: &DatabaseConnection,
    org: OrganisationId,
    since: Option<DateTime<Utc>>,
) -> Result<Vec<Effectiveness>> {
    let mut q = action_plan::Entity::find()
        .select_only()
        .column(action_plan::Column::PlaybookId)
        .column(action_plan::Column::RiskId)
        .column(action_plan::Column::CreatedAt)
        .filter(action_plan::Column::OrganisationId.eq(org.0));
    if let Some(s) = since {
        q = q.filter(action_plan::Column::CreatedAt.gte(s));
    }
    let plans: Vec<(uuid::Uuid, uuid::Uuid, DateTime<Utc>)> = q.into_tuple().all(db).await?;
    let risk_ids: Vec<uuid::Uuid> = dedup(&plans.iter().map(|p| p.1).collect::<Vec<_>>());
    let mut status: HashMap<uuid::Uuid, (String, Option<DateTime<Utc>>)> = HashMap::new();
    for chunk in risk_ids.chunks(500) {
        let rows: Vec<(uuid::Uuid, String, Option<DateTime<Utc>>)> = risk::Entity::find()
            .select_only()
            .column(risk::Column::Id)
            .column(risk::Column::Status)
            .column(risk::Column::ClosedAt)
            .filter(risk::Column::OrganisationId.eq(org.0))
            .filter(risk::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        status.extend(rows.into_iter().map(|(id, s, c)| (id, (s, c))));
    }
    let mut by: HashMap<uuid::Uuid, (Effectiveness, Vec<f64>)> = HashMap::new();
    for (playbook, risk, applied) in plans {
        let (e, days) = by.entry(playbook).or_insert_with(|| {
            (
                Effectiveness {
                    playbook: PlaybookId(playbook),
                    plans: 0,
                    open: 0,
                    resolved: 0,
                    materialized: 0,
                    resolved_share: None,
                    materialized_share: None,
                    median_days_to_resolve: None,
                },
                Vec::new(),
            )
        });
        e.plans += 1;
        let Some((s, closed)) = status.get(&risk) else { continue };
        match stored(RiskStatus::parse(s))? {
            RiskStatus::Resolved => {
                e.resolved += 1;
                if let Some(c) = closed {
                    days.push((*c - applied).num_seconds().max(0) as f64 / 86_400.0);
                }
            }
            RiskStatus::Materialized => e.materialized += 1,
            s if s.is_open() => e.open += 1,
            _ => {}
        }
    }
    let mut out: Vec<Effectiveness> = by
        .into_values()
        .map(|(mut e, mut days)| {
            let closed = e.resolved + e.materialized;
            if closed > 0 {
                e.resolved_share = Some(e.resolved as f64 / closed as f64);
                e.materialized_share = Some(e.materialized as f64 / closed as f64);
            }
            e.median_days_to_resolve = median(&mut days);
            e
        })
        .collect();
    out.sort_by(|a, b| b.plans.cmp(&a.plans).then(a.playbook.cmp(&b.playbook)));
    Ok(out)
}

/// The median of some values (`None` when there are none).
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 })
}

/// Cancels the open actions of risks that just closed (inside the closing transaction): once a
/// risk is resolved, materialized or dismissed, what was left to do is moot and must not linger
/// in overdue lists.
pub(crate) async fn cancel_open_actions<C: ConnectionTrait>(
    db: &C,
    org: OrganisationId,
    risk: RiskId,
    by: Option<UserId>,
    at: DateTime<Utc>,
    note: &str,
) -> Result<(), sea_orm::DbErr> {
    use sea_orm::sea_query::{Expr, ExprTrait};
    plan_action::Entity::update_many()
        .col_expr(plan_action::Column::Status, Expr::value(ActionStatus::Cancelled.as_str()))
        .col_expr(plan_action::Column::ClosedAt, Expr::value(at))
        .col_expr(plan_action::Column::ClosedBy, Expr::value(by.map(|u| u.0)))
        .col_expr(plan_action::Column::Note, Expr::value(note))
        .col_expr(plan_action::Column::Version, Expr::col(plan_action::Column::Version).add(1))
        .col_expr(plan_action::Column::UpdatedAt, Expr::value(at))
        .filter(plan_action::Column::OrganisationId.eq(org.0))
        .filter(plan_action::Column::RiskId.eq(risk.0))
        .filter(plan_action::Column::Status.eq(ActionStatus::Open.as_str()))
        .exec(db)
        .await?;
    Ok(())
}

/// Plan actions of an account (for post-mortem timelines), oldest first.
pub(crate) async fn actions_of_account<C: ConnectionTrait>(
    db: &C,
    org: OrganisationId,
    account: AccountId,
    risk: Option<RiskId>,
) -> Result<Vec<PlanAction>> {
    let mut q = plan_action::Entity::find()
        .filter(plan_action::Column::OrganisationId.eq(org.0))
        .filter(plan_action::Column::AccountId.eq(account.0));
    if let Some(r) = risk {
        q = q.filter(plan_action::Column::RiskId.eq(r.0));
    }
    q.order_by_asc(plan_action::Column::CreatedAt).all(db).await?.into_iter().map(TryInto::try_into).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urgency_follows_priority_and_rises_with_overdue_actions() {
        assert_eq!(urgency(1, 0), Urgency::Low);
        assert_eq!(urgency(4, 1), Urgency::Medium);
        assert_eq!(urgency(9, 0), Urgency::Medium);
        assert_eq!(urgency(9, 2), Urgency::High);
        assert_eq!(urgency(12, 0), Urgency::High);
        assert_eq!(urgency(12, 1), Urgency::Critical);
        assert_eq!(urgency(25, 3), Urgency::Critical);
    }

    #[test]
    fn medians() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0]), Some(3.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }
}
