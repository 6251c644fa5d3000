//! Stakeholders at a client account: who they are, how senior, what part they play.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, Select,
};

use crate::entities::contact;
use crate::enums::stored;
use crate::page::{self, KeyKind, KeyValue, Page, PageRequest, Sort};
use crate::store::{Versioned, check_version, is_unique_violation, update_if_version};
use crate::{
    AccountId, Actor, ContactId, ContactLevel, ContactRole, Error, OrganisationId, Problems, Result, Sentiment,
    accounts, values,
};

/// A person at the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contact {
    pub id: ContactId,
    pub organisation: OrganisationId,
    pub account: AccountId,
    pub name: String,
    pub title: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub level: ContactLevel,
    pub role: ContactRole,
    pub sentiment: Sentiment,
    /// Still at the client and engaged with us.
    pub active: bool,
    pub departed_on: Option<NaiveDate>,
    pub archived_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<contact::Model> for Contact {
    type Error = Error;
    fn try_from(m: contact::Model) -> Result<Self> {
        Ok(Self {
            id: ContactId(m.id),
            organisation: OrganisationId(m.organisation_id),
            account: AccountId(m.account_id),
            level: stored(ContactLevel::parse(&m.level))?,
            role: stored(ContactRole::parse(&m.role))?,
            sentiment: stored(Sentiment::parse(&m.sentiment))?,
            name: m.name,
            title: m.title,
            email: m.email,
            phone: m.phone,
            active: m.active,
            departed_on: m.departed_on,
            archived_at: m.archived_at,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

/// Input for a new contact.
#[derive(Clone, Debug)]
pub struct NewContact {
    pub account: AccountId,
    pub name: String,
    pub title: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub level: ContactLevel,
    pub role: ContactRole,
    pub sentiment: Option<Sentiment>,
    pub active: Option<bool>,
    pub departed_on: Option<NaiveDate>,
    /// Makes a retried create a no-op that returns the first result.
    pub idempotency_key: Option<String>,
}

/// Changes to a contact. `None` leaves a field alone; `Some(None)` clears a nullable one.
#[derive(Clone, Debug, Default)]
pub struct ContactPatch {
    pub name: Option<String>,
    pub title: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub level: Option<ContactLevel>,
    pub role: Option<ContactRole>,
    pub sentiment: Option<Sentiment>,
    pub active: Option<bool>,
    pub departed_on: Option<Option<NaiveDate>>,
    pub expected_version: Option<i32>,
}

/// Filters for an account's contacts.
#[derive(Clone, Debug, Default)]
pub struct ContactFilter {
    pub levels: Option<Vec<ContactLevel>>,
    pub roles: Option<Vec<ContactRole>>,
    pub active: Option<bool>,
    pub include_archived: bool,
}

fn cols() -> Versioned<contact::Column> {
    Versioned {
        id: contact::Column::Id,
        organisation: contact::Column::OrganisationId,
        version: contact::Column::Version,
    }
}

struct Fields {
    name: String,
    title: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    active: bool,
    departed_on: Option<NaiveDate>,
}

fn validate(
    name: &str,
    title: Option<&str>,
    email: Option<&str>,
    phone: Option<&str>,
    active: bool,
    departed_on: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<Fields> {
    let mut p = Problems::default();
    let name = p.check(&["name"], values::line(name, values::MAX_LINE));
    let title = p.check(&["title"], values::optional_line(title, values::MAX_LINE));
    let email = p.check(&["email"], email.map(str::trim).filter(|e| !e.is_empty()).map(values::email).transpose());
    let phone = p.check(&["phone"], values::optional_line(phone, 50));
    if active && departed_on.is_some() {
        p.push(&["departedOn"], "a contact who has departed cannot be active; set active to false");
    }
    if departed_on.is_some_and(|d| d > today) {
        p.push(&["departedOn"], "must not be in the future");
    }
    p.finish()?;
    Ok(Fields {
        name: name.unwrap(),
        title: title.unwrap(),
        email: email.unwrap(),
        phone: phone.unwrap(),
        active,
        departed_on,
    })
}

/// Adds a stakeholder to an account.
pub async fn create(db: &DatabaseConnection, actor: &Actor, new: NewContact) -> Result<Contact> {
    let key =
        values::idempotency_key(new.idempotency_key.as_deref()).map_err(|m| Error::invalid(&["idempotencyKey"], m))?;
    if let Some(existing) = replay(db, actor.organisation, key.as_deref(), new.account).await? {
        return Ok(existing);
    }
    accounts::writable_parent(db, actor, new.account, "accountId").await?;
    let active = new.active.unwrap_or(new.departed_on.is_none());
    let (title, email, phone) = (new.title.as_deref(), new.email.as_deref(), new.phone.as_deref());
    let f = validate(&new.name, title, email, phone, active, new.departed_on, actor.today())?;
    let now = values::now();
    let model = contact::ActiveModel {
        id: Set(ContactId::generate().0),
        organisation_id: Set(actor.organisation.0),
        account_id: Set(new.account.0),
        name: Set(f.name),
        title: Set(f.title),
        email: Set(f.email),
        phone: Set(f.phone),
        level: Set(new.level.as_str().into()),
        role: Set(new.role.as_str().into()),
        sentiment: Set(new.sentiment.unwrap_or(Sentiment::Unknown).as_str().into()),
        active: Set(f.active),
        departed_on: Set(f.departed_on),
        idempotency_key: Set(key.clone()),
        archived_at: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    };
    match contact::Entity::insert(model).exec_with_returning(db).await {
        Ok(m) => {
            // A new stakeholder may replace one who left: re-evaluate the account's rules.
            crate::signals::mark_dirty(db, actor.organisation, &[new.account]).await?;
            m.try_into()
        }
        // A concurrent retry with the same key won the race: answer as it did.
        Err(e) if is_unique_violation(&e) => {
            replay(db, actor.organisation, key.as_deref(), new.account).await?.ok_or_else(|| Error::internal(e))
        }
        Err(e) => Err(e.into()),
    }
}

/// The contact an earlier request with the same idempotency key created.
async fn replay(
    db: &DatabaseConnection,
    org: OrganisationId,
    key: Option<&str>,
    account: AccountId,
) -> Result<Option<Contact>> {
    let Some(key) = key else { return Ok(None) };
    let Some(m) = contact::Entity::find()
        .filter(contact::Column::OrganisationId.eq(org.0))
        .filter(contact::Column::IdempotencyKey.eq(key))
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

/// Changes a contact.
pub async fn update(db: &DatabaseConnection, actor: &Actor, id: ContactId, patch: ContactPatch) -> Result<Contact> {
    let current = get(db, actor.organisation, id).await?.ok_or_else(|| Error::not_found("contact", &["id"]))?;
    accounts::writable_parent(db, actor, current.account, "id").await?;
    check_version("contact", &current.archived_at, current.version, patch.expected_version)?;
    let departed_on = patch.departed_on.unwrap_or(current.departed_on);
    let active = patch.active.unwrap_or(if patch.departed_on.flatten().is_some() { false } else { current.active });
    let f = validate(
        patch.name.as_deref().unwrap_or(&current.name),
        patch.title.as_ref().map_or(current.title.as_deref(), Option::as_deref),
        patch.email.as_ref().map_or(current.email.as_deref(), Option::as_deref),
        patch.phone.as_ref().map_or(current.phone.as_deref(), Option::as_deref),
        active,
        departed_on,
        actor.today(),
    )?;
    let changes = contact::ActiveModel {
        name: Set(f.name),
        title: Set(f.title),
        email: Set(f.email),
        phone: Set(f.phone),
        level: Set(patch.level.unwrap_or(current.level).as_str().into()),
        role: Set(patch.role.unwrap_or(current.role).as_str().into()),
        sentiment: Set(patch.sentiment.unwrap_or(current.sentiment).as_str().into()),
        active: Set(f.active),
        departed_on: Set(f.departed_on),
        version: Set(current.version + 1),
        updated_at: Set(values::now()),
        ..Default::default()
    };
    save(db, actor, &current, changes).await
}

/// Archives a contact (e.g. entered by mistake). A contact who left is marked inactive instead.
pub async fn archive(
    db: &DatabaseConnection,
    actor: &Actor,
    id: ContactId,
    expected_version: Option<i32>,
) -> Result<Contact> {
    let current = get(db, actor.organisation, id).await?.ok_or_else(|| Error::not_found("contact", &["id"]))?;
    accounts::writable_parent(db, actor, current.account, "id").await?;
    check_version("contact", &current.archived_at, current.version, expected_version)?;
    let now = values::now();
    let changes = contact::ActiveModel {
        archived_at: Set(Some(now)),
        version: Set(current.version + 1),
        updated_at: Set(now),
        ..Default::default()
    };
    save(db, actor, &current, changes).await
}

async fn save(
    db: &DatabaseConnection,
    actor: &Actor,
    current: &Contact,
    changes: contact::ActiveModel,
) -> Result<Contact> {
    if !update_if_version(db, cols(), changes, actor.organisation.0, current.id.0, current.version).await? {
        return Err(Error::conflict(&["expectedVersion"], "contact was changed concurrently; reload and retry"));
    }
    crate::signals::mark_dirty(db, actor.organisation, &[current.account]).await?;
    get(db, actor.organisation, current.id).await?.ok_or_else(|| Error::not_found("contact", &["id"]))
}

/// One contact of the organisation.
pub async fn get(db: &DatabaseConnection, org: OrganisationId, id: ContactId) -> Result<Option<Contact>> {
    contact::Entity::find_by_id(id.0)
        .filter(contact::Column::OrganisationId.eq(org.0))
        .one(db)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

/// Many contacts at once (batch loading).
pub async fn by_ids(
    db: &DatabaseConnection,
    org: OrganisationId,
    ids: &[ContactId],
) -> Result<HashMap<ContactId, Contact>> {
    let rows = contact::Entity::find()
        .filter(contact::Column::OrganisationId.eq(org.0))
        .filter(contact::Column::Id.is_in(ids.iter().map(|i| i.0)))
        .all(db)
        .await?;
    rows.into_iter().map(|m| Contact::try_from(m).map(|c| (c.id, c))).collect()
}

fn filtered(org: OrganisationId, account: AccountId, f: &ContactFilter) -> Select<contact::Entity> {
    use contact::Column as C;
    let mut cond = Condition::all().add(C::OrganisationId.eq(org.0)).add(C::AccountId.eq(account.0));
    if let Some(levels) = &f.levels {
        cond = cond.add(C::Level.is_in(levels.iter().map(|l| l.as_str())));
    }
    if let Some(roles) = &f.roles {
        cond = cond.add(C::Role.is_in(roles.iter().map(|r| r.as_str())));
    }
    if let Some(active) = f.active {
        cond = cond.add(C::Active.eq(active));
    }
    if !f.include_archived {
        cond = cond.add(C::ArchivedAt.is_null());
    }
    contact::Entity::find().filter(cond)
}

/// A page of an account's contacts, by name.
pub async fn list(
    db: &DatabaseConnection,
    org: OrganisationId,
    account: AccountId,
    filter: &ContactFilter,
    page: &PageRequest,
) -> Result<Page<Contact>> {
    let sort = Sort { column: contact::Column::Name, kind: KeyKind::Text, nullable: false, descending: false };
    page::fetch(
        db,
        filtered(org, account, filter),
        sort,
        Some(contact::Column::Id),
        page,
        |m| KeyValue::Text(m.name.clone()),
        |m| m.id,
    )
    .await?
    .try_map(TryInto::try_into)
}

/// How many of an account's contacts match the filter.
pub async fn count(
    db: &DatabaseConnection,
    org: OrganisationId,
    account: AccountId,
    filter: &ContactFilter,
) -> Result<u64> {
    Ok(filtered(org, account, filter).count(db).await?)
}

/// A contact as a bulk upsert sends it, keyed by its idempotency key (your system's contact id)
/// within the organisation.
#[derive(Clone, Debug)]
pub struct ContactUpsert {
    pub account: crate::signals::AccountRef,
    pub idempotency_key: String,
    pub name: String,
    pub title: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub level: ContactLevel,
    pub role: ContactRole,
    pub sentiment: Option<Sentiment>,
    pub active: Option<bool>,
    pub departed_on: Option<crate::signals::Coerced<NaiveDate>>,
}

/// Creates or updates up to 5,000 contacts by idempotency key, in one transaction. A key
/// already used for a contact of another account is a CONFLICT.
pub async fn upsert_many(
    db: &DatabaseConnection,
    actor: &Actor,
    items: Vec<ContactUpsert>,
) -> Result<crate::signals::BatchReport> {
    use crate::ErrorCode;
    use crate::signals::{INSERT_CHUNK, ItemStatus};
    let org = actor.organisation;
    let (mut out, accounts) = crate::signals::open_batch(db, actor, &items, |i| &i.account).await?;
    let keys = crate::signals::required_keys(items.iter().map(|c| c.idempotency_key.as_str()), &mut out);
    let mut existing: HashMap<String, contact::Model> = HashMap::new();
    let wanted: Vec<String> = keys.iter().flatten().cloned().collect();
    for chunk in wanted.chunks(INSERT_CHUNK) {
        for m in contact::Entity::find()
            .filter(contact::Column::OrganisationId.eq(org.0))
            .filter(contact::Column::IdempotencyKey.is_in(chunk.iter().cloned()))
            .all(db)
            .await?
        {
            if let Some(k) = m.idempotency_key.clone() {
                existing.insert(k, m);
            }
        }
    }
    let today = actor.today();
    let now = values::now();
    let (mut inserts, mut updates, mut touched) = (Vec::new(), Vec::new(), Vec::new());
    for (i, c) in items.into_iter().enumerate() {
        let (Some(account), Some(key)) = (accounts[i], keys[i].clone()) else { continue };
        let departed_on = match c.departed_on {
            None => Some(None),
            Some(d) => out.check(i, &["departedOn"], d).map(Some),
        };
        let Some(departed_on) = departed_on else { continue };
        let active = c.active.unwrap_or(departed_on.is_none());
        let fields = match validate(
            &c.name,
            c.title.as_deref(),
            c.email.as_deref(),
            c.phone.as_deref(),
            active,
            departed_on,
            today,
        ) {
            Ok(f) => f,
            Err(e) => {
                out.reject_error(i, e);
                continue;
            }
        };
        if !out.is_open(i) {
            continue;
        }
        let sentiment = c.sentiment.unwrap_or(Sentiment::Unknown).as_str().to_owned();
        match existing.get(&key) {
            Some(m) if m.account_id != account.0 => out.reject(
                i,
                ErrorCode::Conflict,
                &["idempotencyKey"],
                "this key belongs to a contact of another account",
            ),
            Some(m) if m.archived_at.is_some() => {
                out.reject(i, ErrorCode::Invalid, &["idempotencyKey"], "contact is archived")
            }
            Some(m) => {
                let same = m.name == fields.name
                    && m.title == fields.title
                    && m.email == fields.email
                    && m.phone == fields.phone
                    && m.level == c.level.as_str()
                    && m.role == c.role.as_str()
                    && (c.sentiment.is_none() || m.sentiment == sentiment)
                    && m.active == fields.active
                    && m.departed_on == fields.departed_on;
                if same {
                    out.set(i, ItemStatus::Duplicate);
                    continue;
                }
                out.set(i, ItemStatus::Updated);
                touched.push(account);
                updates.push((
                    m.version,
                    contact::ActiveModel {
                        id: Set(m.id),
                        name: Set(fields.name),
                        title: Set(fields.title),
                        email: Set(fields.email),
                        phone: Set(fields.phone),
                        level: Set(c.level.as_str().into()),
                        role: Set(c.role.as_str().into()),
                        sentiment: Set(if c.sentiment.is_some() { sentiment } else { m.sentiment.clone() }),
                        active: Set(fields.active),
                        departed_on: Set(fields.departed_on),
                        version: Set(m.version + 1),
                        updated_at: Set(now),
                        ..Default::default()
                    },
                ));
            }
            None => {
                out.set(i, ItemStatus::Accepted);
                touched.push(account);
                inserts.push(contact::ActiveModel {
                    id: Set(ContactId::generate().0),
                    organisation_id: Set(org.0),
                    account_id: Set(account.0),
                    name: Set(fields.name),
                    title: Set(fields.title),
                    email: Set(fields.email),
                    phone: Set(fields.phone),
                    level: Set(c.level.as_str().into()),
                    role: Set(c.role.as_str().into()),
                    sentiment: Set(sentiment),
                    active: Set(fields.active),
                    departed_on: Set(fields.departed_on),
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
                contact::Entity::insert_many(chunk.to_vec()).exec_without_returning(tx).await?;
            }
            for (version, changes) in updates {
                let id = changes.id.clone().unwrap();
                if !update_if_version(tx, cols(), changes, org.0, id, version).await? {
                    return Err(Error::conflict(
                        &["items"],
                        "a contact of this batch changed meanwhile; retry the batch",
                    ));
                }
            }
            crate::signals::mark_dirty(tx, org, &dirty).await
        })
    })
    .await
    .map_err(crate::signals::batch_race("contacts"))?;
    Ok(out.finish(touched))
}

/// The organisation's contacts with these idempotency keys (chunked).
pub(crate) async fn by_keys(
    db: &DatabaseConnection,
    org: OrganisationId,
    keys: &[String],
) -> Result<HashMap<String, Contact>> {
    let mut out = HashMap::new();
    for chunk in keys.chunks(crate::signals::INSERT_CHUNK) {
        for m in contact::Entity::find()
            .filter(contact::Column::OrganisationId.eq(org.0))
            .filter(contact::Column::IdempotencyKey.is_in(chunk.iter().cloned()))
            .all(db)
            .await?
        {
            if let Some(k) = m.idempotency_key.clone() {
                out.insert(k, Contact::try_from(m)?);
            }
        }
    }
    Ok(out)
}
