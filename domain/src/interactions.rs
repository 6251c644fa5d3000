//! The interaction history of an account: meetings, calls, reviews, escalations, notes, and who
//! took part on either side.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, Select,
};

use crate::entities::{interaction, interaction_contact, interaction_user};
use crate::enums::stored;
use crate::page::{self, KeyKind, KeyValue, Page, PageRequest, Sort};
use crate::store::{Versioned, check_version, is_unique_violation, update_if_version};
use crate::{
    AccountId, Actor, ContactId, Direction, Error, InteractionId, InteractionKind, OrganisationId, Problems, Result,
    UserId, accounts, contacts, users, values,
};

/// Most participants on either side of one interaction.
pub const MAX_PARTICIPANTS: usize = 50;

/// A touchpoint with a client account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interaction {
    pub id: InteractionId,
    pub organisation: OrganisationId,
    pub account: AccountId,
    pub kind: InteractionKind,
    pub direction: Direction,
    pub occurred_at: DateTime<Utc>,
    pub summary: String,
    pub archived_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<interaction::Model> for Interaction {
    type Error = Error;
    fn try_from(m: interaction::Model) -> Result<Self> {
        Ok(Self {
            id: InteractionId(m.id),
            organisation: OrganisationId(m.organisation_id),
            account: AccountId(m.account_id),
            kind: stored(InteractionKind::parse(&m.kind))?,
            direction: stored(Direction::parse(&m.direction))?,
            occurred_at: m.occurred_at,
            summary: m.summary,
            archived_at: m.archived_at,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

/// Who took part in an interaction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Participants {
    pub contacts: Vec<ContactId>,
    pub users: Vec<UserId>,
}

/// Input for logging an interaction.
#[derive(Clone, Debug)]
pub struct NewInteraction {
    pub account: AccountId,
    pub kind: InteractionKind,
    pub direction: Option<Direction>,
    pub occurred_at: DateTime<Utc>,
    pub summary: String,
    pub contacts: Vec<ContactId>,
    pub users: Vec<UserId>,
    pub idempotency_key: Option<String>,
}

/// Changes to an interaction; participant lists, when given, replace the old ones.
#[derive(Clone, Debug, Default)]
pub struct InteractionPatch {
    pub kind: Option<InteractionKind>,
    pub direction: Option<Direction>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub summary: Option<String>,
    pub contacts: Option<Vec<ContactId>>,
    pub users: Option<Vec<UserId>>,
    pub expected_version: Option<i32>,
}

/// Filters for an account's interactions.
#[derive(Clone, Debug, Default)]
pub struct InteractionFilter {
    pub kinds: Option<Vec<InteractionKind>>,
    pub occurred_from: Option<DateTime<Utc>>,
    pub occurred_before: Option<DateTime<Utc>>,
    pub include_archived: bool,
}

fn cols() -> Versioned<interaction::Column> {
    Versioned {
        id: interaction::Column::Id,
        organisation: interaction::Column::OrganisationId,
        version: interaction::Column::Version,
    }
}

/// Participants must exist in the organisation, contacts must be of this account, no repeats.
async fn check_participants(
    db: &DatabaseConnection,
    org: OrganisationId,
    account: AccountId,
    contacts_in: &[ContactId],
    users_in: &[UserId],
    p: &mut Problems,
) -> Result<()> {
    for (field, len) in [("contactIds", contacts_in.len()), ("userIds", users_in.len())] {
        if len > MAX_PARTICIPANTS {
            p.push(&[field], format!("at most {MAX_PARTICIPANTS} participants"));
        }
    }
    if contacts_in.iter().collect::<HashSet<_>>().len() != contacts_in.len() {
        p.push(&["contactIds"], "lists a contact more than once");
    }
    if users_in.iter().collect::<HashSet<_>>().len() != users_in.len() {
        p.push(&["userIds"], "lists a user more than once");
    }
    let found = contacts::by_ids(db, org, contacts_in).await?;
    for (i, id) in contacts_in.iter().enumerate() {
        match found.get(id) {
            None => return Err(Error::not_found("contact", &["contactIds", &i.to_string()])),
            Some(c) if c.account != account => {
                p.push(&["contactIds", &i.to_string()], "contact belongs to another account")
            }
            Some(_) => {}
        }
    }
    let found = users::by_ids(db, org, users_in).await?;
    for (i, id) in users_in.iter().enumerate() {
        if !found.contains_key(id) {
            return Err(Error::not_found("user", &["userIds", &i.to_string()]));
        }
    }
    Ok(())
}

fn check_time(occurred_at: DateTime<Utc>, p: &mut Problems) {
    if occurred_at > Utc::now() + Duration::days(1) {
        p.push(&["occurredAt"], "must not be more than a day in the future");
    }
}

async fn replace_participants<C: ConnectionTrait>(
    tx: &C,
    org: OrganisationId,
    id: InteractionId,
    contacts: Option<&[ContactId]>,
    users: Option<&[UserId]>,
) -> Result<(), DbErr> {
    if let Some(contacts) = contacts {
        interaction_contact::Entity::delete_many()
            .filter(interaction_contact::Column::OrganisationId.eq(org.0))
            .filter(interaction_contact::Column::InteractionId.eq(id.0))
            .exec(tx)
            .await?;
        if !contacts.is_empty() {
            interaction_contact::Entity::insert_many(contacts.iter().map(|c| interaction_contact::ActiveModel {
                organisation_id: Set(org.0),
                interaction_id: Set(id.0),
                contact_id: Set(c.0),
            }))
            .exec(tx)
            .await?;
        }
    }
    if let Some(users) = users {
        interaction_user::Entity::delete_many()
            .filter(interaction_user::Column::OrganisationId.eq(org.0))
            .filter(interaction_user::Column::InteractionId.eq(id.0))
            .exec(tx)
            .await?;
        if !users.is_empty() {
            interaction_user::Entity::insert_many(users.iter().map(|u| interaction_user::ActiveModel {
                organisation_id: Set(org.0),
                interaction_id: Set(id.0),
                user_id: Set(u.0),
            }))
            .exec(tx)
            .await?;
        }
    }
    Ok(())
}

/// Logs an interaction with its participants, atomically.
pub async fn create(db: &DatabaseConnection, actor: &Actor, new: NewInteraction) -> Result<Interaction> {
    let key =
        values::idempotency_key(new.idempotency_key.as_deref()).map_err(|m| Error::invalid(&["idempotencyKey"], m))?;
    if let Some(existing) = replay(db, actor.organisation, key.as_deref(), new.account).await? {
        return Ok(existing);
    }
    accounts::writable_parent(db, actor, new.account, "accountId").await?;
    let mut p = Problems::default();
    let summary = p.check(&["summary"], values::text(&new.summary, values::MAX_TEXT));
    check_time(new.occurred_at, &mut p);
    check_participants(db, actor.organisation, new.account, &new.contacts, &new.users, &mut p).await?;
    p.finish()?;

    let now = values::now();
    let id = InteractionId::generate();
    let org = actor.organisation;
    let model = interaction::ActiveModel {
        id: Set(id.0),
        organisation_id: Set(org.0),
        account_id: Set(new.account.0),
        kind: Set(new.kind.as_str().into()),
        direction: Set(new.direction.unwrap_or(Direction::Outbound).as_str().into()),
        occurred_at: Set(values::timestamp(new.occurred_at)),
        summary: Set(summary.unwrap()),
        idempotency_key: Set(key.clone()),
        archived_at: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let (contacts, users, account) = (new.contacts, new.users, new.account);
    let result = crate::db::write::<_, _, _, DbErr>(db, |tx| {
        Box::pin(async move {
            let m = interaction::Entity::insert(model).exec_with_returning(tx).await?;
            replace_participants(tx, org, id, Some(&contacts), Some(&users)).await?;
            crate::signals::mark_dirty(tx, org, &[account]).await.map_err(|e| DbErr::Custom(e.to_string()))?;
            Ok(m)
        })
    })
    .await;
    match result {
        Ok(m) => m.try_into(),
        Err(sea_orm::TransactionError::Transaction(e)) if is_unique_violation(&e) => {
            replay(db, org, key.as_deref(), new.account).await?.ok_or_else(|| Error::internal(e))
        }
        Err(e) => Err(e.into()),
    }
}

async fn replay(
    db: &DatabaseConnection,
    org: OrganisationId,
    key: Option<&str>,
    account: AccountId,
) -> Result<Option<Interaction>> {
    let Some(key) = key else { return Ok(None) };
    let Some(m) = interaction::Entity::find()
        .filter(interaction::Column::OrganisationId.eq(org.0))
        .filter(interaction::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if m.account_id != account.0 {
        return Err(Error::conflict(&["idempotencyKey"], "this idempotency key was already used for another request"));
    }
    m.try_into().map(Some)
}

/// Changes an interaction.
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    id: InteractionId,
    patch: InteractionPatch,
) -> Result<Interaction> {
    let current = get(db, actor.organisation, id).await?.ok_or_else(|| Error::not_found("interaction", &["id"]))?;
    accounts::writable_parent(db, actor, current.account, "id").await?;
    check_version("interaction", &current.archived_at, current.version, patch.expected_version)?;
    let mut p = Problems::default();
    let summary = patch.summary.as_deref().and_then(|s| p.check(&["summary"], values::text(s, values::MAX_TEXT)));
    if let Some(t) = patch.occurred_at {
        check_time(t, &mut p);
    }
    check_participants(
        db,
        actor.organisation,
        current.account,
        patch.contacts.as_deref().unwrap_or_default(),
        patch.users.as_deref().unwrap_or_default(),
        &mut p,
    )
    .await?;
    p.finish()?;

    let mut changes = interaction::ActiveModel {
        version: Set(current.version + 1),
        updated_at: Set(values::now()),
        ..Default::default()
    };
    if let Some(k) = patch.kind {
        changes.kind = Set(k.as_str().into());
    }
    if let Some(d) = patch.direction {
        changes.direction = Set(d.as_str().into());
    }
    if let Some(t) = patch.occurred_at {
        changes.occurred_at = Set(values::timestamp(t));
    }
    if let Some(s) = summary {
        changes.summary = Set(s);
    }
    let org = actor.organisation;
    let version = current.version;
    let account = current.account;
    let saved = crate::db::write::<_, _, _, DbErr>(db, |tx| {
        Box::pin(async move {
            if !update_if_version(tx, cols(), changes, org.0, id.0, version).await? {
                return Ok(false);
            }
            replace_participants(tx, org, id, patch.contacts.as_deref(), patch.users.as_deref()).await?;
            crate::signals::mark_dirty(tx, org, &[account]).await.map_err(|e| DbErr::Custom(e.to_string()))?;
            Ok(true)
        })
    })
    .await?;
    if !saved {
        return Err(Error::conflict(&["expectedVersion"], "interaction was changed concurrently; reload and retry"));
    }
    get(db, org, id).await?.ok_or_else(|| Error::not_found("interaction", &["id"]))
}

/// Archives an interaction logged by mistake.
pub async fn archive(
    db: &DatabaseConnection,
    actor: &Actor,
    id: InteractionId,
    expected_version: Option<i32>,
) -> Result<Interaction> {
    let current = get(db, actor.organisation, id).await?.ok_or_else(|| Error::not_found("interaction", &["id"]))?;
    accounts::writable_parent(db, actor, current.account, "id").await?;
    check_version("interaction", &current.archived_at, current.version, expected_version)?;
    let now = values::now();
    let changes = interaction::ActiveModel {
        archived_at: Set(Some(now)),
        version: Set(current.version + 1),
        updated_at: Set(now),
        ..Default::default()
    };
    if !update_if_version(db, cols(), changes, actor.organisation.0, id.0, current.version).await? {
        return Err(Error::conflict(&["expectedVersion"], "interaction was changed concurrently; reload and retry"));
    }
    crate::signals::mark_dirty(db, actor.organisation, &[current.account]).await?;
    get(db, actor.organisation, id).await?.ok_or_else(|| Error::not_found("interaction", &["id"]))
}

/// One interaction of the organisation.
pub async fn get(db: &DatabaseConnection, org: OrganisationId, id: InteractionId) -> Result<Option<Interaction>> {
    interaction::Entity::find_by_id(id.0)
        .filter(interaction::Column::OrganisationId.eq(org.0))
        .one(db)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

/// Many interactions at once (batch loading).
pub async fn by_ids(
    db: &DatabaseConnection,
    org: OrganisationId,
    ids: &[InteractionId],
) -> Result<HashMap<InteractionId, Interaction>> {
    let rows = interaction::Entity::find()
        .filter(interaction::Column::OrganisationId.eq(org.0))
        .filter(interaction::Column::Id.is_in(ids.iter().map(|i| i.0)))
        .all(db)
        .await?;
    rows.into_iter().map(|m| Interaction::try_from(m).map(|i| (i.id, i))).collect()
}

/// The participants of many interactions at once (batch loading).
pub async fn participants(
    db: &DatabaseConnection,
    org: OrganisationId,
    ids: &[InteractionId],
) -> Result<HashMap<InteractionId, Participants>> {
    let mut out: HashMap<InteractionId, Participants> = ids.iter().map(|i| (*i, Participants::default())).collect();
    let keys: Vec<_> = ids.iter().map(|i| i.0).collect();
    for row in interaction_contact::Entity::find()
        .filter(interaction_contact::Column::OrganisationId.eq(org.0))
        .filter(interaction_contact::Column::InteractionId.is_in(keys.clone()))
        .all(db)
        .await?
    {
        out.entry(InteractionId(row.interaction_id)).or_default().contacts.push(ContactId(row.contact_id));
    }
    for row in interaction_user::Entity::find()
        .filter(interaction_user::Column::OrganisationId.eq(org.0))
        .filter(interaction_user::Column::InteractionId.is_in(keys))
        .all(db)
        .await?
    {
        out.entry(InteractionId(row.interaction_id)).or_default().users.push(UserId(row.user_id));
    }
    for p in out.values_mut() {
        p.contacts.sort();
        p.users.sort();
    }
    Ok(out)
}

fn filtered(org: OrganisationId, account: AccountId, f: &InteractionFilter) -> Select<interaction::Entity> {
    use interaction::Column as C;
    let mut cond = Condition::all().add(C::OrganisationId.eq(org.0)).add(C::AccountId.eq(account.0));
    if let Some(kinds) = &f.kinds {
        cond = cond.add(C::Kind.is_in(kinds.iter().map(|k| k.as_str())));
    }
    if let Some(t) = f.occurred_from {
        cond = cond.add(C::OccurredAt.gte(values::timestamp(t)));
    }
    if let Some(t) = f.occurred_before {
        cond = cond.add(C::OccurredAt.lt(values::timestamp(t)));
    }
    if !f.include_archived {
        cond = cond.add(C::ArchivedAt.is_null());
    }
    interaction::Entity::find().filter(cond)
}

/// A page of an account's interactions, most recent first.
pub async fn list(
    db: &DatabaseConnection,
    org: OrganisationId,
    account: AccountId,
    filter: &InteractionFilter,
    page: &PageRequest,
) -> Result<Page<Interaction>> {
    let sort = Sort { column: interaction::Column::OccurredAt, kind: KeyKind::Time, nullable: false, descending: true };
    page::fetch(
        db,
        filtered(org, account, filter),
        sort,
        Some(interaction::Column::Id),
        page,
        |m| KeyValue::Time(m.occurred_at),
        |m| m.id,
    )
    .await?
    .try_map(TryInto::try_into)
}

/// The accounts' unarchived interactions since `since` (for health computation).
pub async fn since(
    db: &DatabaseConnection,
    org: OrganisationId,
    accounts: &[AccountId],
    since: DateTime<Utc>,
) -> Result<Vec<Interaction>> {
    use interaction::Column as C;
    interaction::Entity::find()
        .filter(C::OrganisationId.eq(org.0))
        .filter(C::AccountId.is_in(accounts.iter().map(|a| a.0)))
        .filter(C::OccurredAt.gte(values::timestamp(since)))
        .filter(C::ArchivedAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .map(TryInto::try_into)
        .collect()
}

/// How many of an account's interactions match the filter.
pub async fn count(
    db: &DatabaseConnection,
    org: OrganisationId,
    account: AccountId,
    filter: &InteractionFilter,
) -> Result<u64> {
    Ok(filtered(org, account, filter).count(db).await?)
}

/// Names a contact in a bulk item: by id or by the idempotency key it was created with.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ContactRef {
    Id(ContactId),
    Key(String),
}

/// An interaction as a bulk call sends it, keyed by its idempotency key.
#[derive(Clone, Debug)]
pub struct InteractionInput {
    pub account: crate::signals::AccountRef,
    pub idempotency_key: String,
    pub kind: InteractionKind,
    pub direction: Option<Direction>,
    pub occurred_at: crate::signals::Coerced<DateTime<Utc>>,
    pub summary: String,
    /// The client's people present (contacts of the account).
    pub contacts: Vec<ContactRef>,
}

/// Records up to 5,000 interactions with their contacts in one transaction. A replay of a key
/// is a DUPLICATE when nothing changed and an UPDATE otherwise (the item's contact list
/// replaces the stored one); a key used for another account is a CONFLICT.
pub async fn record_many(
    db: &DatabaseConnection,
    actor: &Actor,
    items: Vec<InteractionInput>,
) -> Result<crate::signals::BatchReport> {
    use crate::ErrorCode;
    use crate::signals::{INSERT_CHUNK, ItemStatus};
    let org = actor.organisation;
    let (mut out, accounts) = crate::signals::open_batch(db, actor, &items, |i| &i.account).await?;
    let keys = crate::signals::required_keys(items.iter().map(|c| c.idempotency_key.as_str()), &mut out);
    let contact_ids: Vec<ContactId> = items
        .iter()
        .flat_map(|i| i.contacts.iter())
        .filter_map(|c| if let ContactRef::Id(id) = c { Some(*id) } else { None })
        .collect();
    let contact_keys: Vec<String> = items
        .iter()
        .flat_map(|i| i.contacts.iter())
        .filter_map(|c| if let ContactRef::Key(k) = c { Some(k.clone()) } else { None })
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut by_id = HashMap::new();
    for chunk in contact_ids.chunks(INSERT_CHUNK) {
        by_id.extend(contacts::by_ids(db, org, chunk).await?);
    }
    let by_key = contacts::by_keys(db, org, &contact_keys).await?;
    let mut existing: HashMap<String, interaction::Model> = HashMap::new();
    let wanted: Vec<String> = keys.iter().flatten().cloned().collect();
    for chunk in wanted.chunks(INSERT_CHUNK) {
        for m in interaction::Entity::find()
            .filter(interaction::Column::OrganisationId.eq(org.0))
            .filter(interaction::Column::IdempotencyKey.is_in(chunk.iter().cloned()))
            .all(db)
            .await?
        {
            if let Some(k) = m.idempotency_key.clone() {
                existing.insert(k, m);
            }
        }
    }
    let existing_ids: Vec<InteractionId> = existing.values().map(|m| InteractionId(m.id)).collect();
    let mut stored_participants = HashMap::new();
    for chunk in existing_ids.chunks(INSERT_CHUNK) {
        stored_participants.extend(participants(db, org, chunk).await?);
    }
    let limit = Utc::now() + Duration::days(1);
    let now = values::now();
    let (mut inserts, mut links, mut updates, mut replaced, mut touched) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (i, item) in items.into_iter().enumerate() {
        let (Some(account), Some(key)) = (accounts[i], keys[i].clone()) else { continue };
        let summary = out.check(i, &["summary"], values::text(&item.summary, values::MAX_TEXT));
        let at = out.check(i, &["occurredAt"], item.occurred_at.map(values::timestamp));
        if at.is_some_and(|t| t > limit) {
            out.reject(i, ErrorCode::Invalid, &["occurredAt"], "must not be more than a day in the future");
        }
        if item.contacts.len() > MAX_PARTICIPANTS {
            out.reject(i, ErrorCode::Invalid, &["contacts"], format!("at most {MAX_PARTICIPANTS} participants"));
        }
        let mut people = Vec::new();
        for (j, r) in item.contacts.iter().enumerate().take(MAX_PARTICIPANTS) {
            let j = j.to_string();
            let found = match r {
                ContactRef::Id(id) => by_id.get(id),
                ContactRef::Key(k) => by_key.get(k),
            };
            match found {
                None => out.reject(i, ErrorCode::NotFound, &["contacts", &j], "no such contact"),
                Some(c) if c.account != account => {
                    out.reject(i, ErrorCode::Invalid, &["contacts", &j], "contact belongs to another account")
                }
                Some(c) if people.contains(&c.id) => {
                    out.reject(i, ErrorCode::Invalid, &["contacts", &j], "lists a contact more than once")
                }
                Some(c) => people.push(c.id),
            }
        }
        let (Some(summary), Some(at), true) = (summary, at, out.is_open(i)) else { continue };
        people.sort();
        let direction = item.direction.unwrap_or(Direction::Outbound);
        match existing.get(&key) {
            Some(m) if m.account_id != account.0 => out.reject(
                i,
                ErrorCode::Conflict,
                &["idempotencyKey"],
                "this idempotency key was already used for another account",
            ),
            Some(m) => {
                let id = InteractionId(m.id);
                let same_people = stored_participants.get(&id).is_none_or(|p| p.contacts == people);
                if m.kind == item.kind.as_str()
                    && m.direction == direction.as_str()
                    && m.occurred_at == at
                    && m.summary == summary
                    && same_people
                    && m.archived_at.is_none()
                {
                    out.set(i, ItemStatus::Duplicate);
                    continue;
                }
                out.set(i, ItemStatus::Updated);
                touched.push(account);
                updates.push((
                    m.version,
                    interaction::ActiveModel {
                        id: Set(m.id),
                        kind: Set(item.kind.as_str().into()),
                        direction: Set(direction.as_str().into()),
                        occurred_at: Set(at),
                        summary: Set(summary),
                        archived_at: Set(None),
                        version: Set(m.version + 1),
                        updated_at: Set(now),
                        ..Default::default()
                    },
                ));
                replaced.push((id, people));
            }
            None => {
                out.set(i, ItemStatus::Accepted);
                touched.push(account);
                let id = InteractionId::generate();
                links.extend(people.into_iter().map(|c| interaction_contact::ActiveModel {
                    organisation_id: Set(org.0),
                    interaction_id: Set(id.0),
                    contact_id: Set(c.0),
                }));
                inserts.push(interaction::ActiveModel {
                    id: Set(id.0),
                    organisation_id: Set(org.0),
                    account_id: Set(account.0),
                    kind: Set(item.kind.as_str().into()),
                    direction: Set(direction.as_str().into()),
                    occurred_at: Set(at),
                    summary: Set(summary),
                    idempotency_key: Set(Some(key)),
                    archived_at: Set(None),
                    version: Set(1),
                    created_at: Set(now),
                    updated_at: Set(now),
                });
            }
        }
    }
    let dirty = touched.clone();
    crate::db::write::<_, _, _, Error>(db, |tx| {
        Box::pin(async move {
            for chunk in inserts.chunks(INSERT_CHUNK) {
                interaction::Entity::insert_many(chunk.to_vec()).exec_without_returning(tx).await?;
            }
            for chunk in links.chunks(INSERT_CHUNK) {
                interaction_contact::Entity::insert_many(chunk.to_vec()).exec_without_returning(tx).await?;
            }
            for (version, changes) in updates {
                let id = changes.id.clone().unwrap();
                if !update_if_version(tx, cols(), changes, org.0, id, version).await? {
                    return Err(Error::conflict(
                        &["items"],
                        "an interaction of this batch changed meanwhile; retry the batch",
                    ));
                }
            }
            for (id, people) in replaced {
                replace_participants(tx, org, id, Some(&people), None).await?;
            }
            crate::signals::mark_dirty(tx, org, &dirty).await
        })
    })
    .await
    .map_err(crate::signals::batch_race("interactions"))?;
    Ok(out.finish(touched))
}
