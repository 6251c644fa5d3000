//! Users of an organisation: who they are, their role, how many accounts they can look after.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, Select,
};

use crate::entities::user;
use crate::enums::stored;
use crate::page::{self, KeyKind, KeyValue, Page, PageRequest, Sort};
use crate::store::{Versioned, check_version, is_unique_violation, update_if_version};
use crate::{Actor, Error, OrganisationId, Problems, Result, Role, UserId, values};

/// The most accounts anyone can be said to look after.
pub const MAX_CAPACITY: i32 = 1_000;

/// A person in an organisation who signs in to Bellwether.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub organisation: OrganisationId,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// How many accounts this user can look after; `None` when not set.
    pub capacity: Option<i32>,
    pub archived_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<user::Model> for User {
    type Error = Error;
    fn try_from(m: user::Model) -> Result<Self> {
        Ok(Self {
            id: UserId(m.id),
            organisation: OrganisationId(m.organisation_id),
            role: stored(Role::parse(&m.role))?,
            email: m.email,
            name: m.name,
            capacity: m.capacity,
            archived_at: m.archived_at,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

/// Input for a new user.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub capacity: Option<i32>,
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct UserPatch {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub capacity: Option<Option<i32>>,
    pub expected_version: Option<i32>,
}

/// Filters for listing users.
#[derive(Clone, Debug, Default)]
pub struct UserFilter {
    pub roles: Option<Vec<Role>>,
    pub include_archived: bool,
}

/// Orderings for listing users.
#[derive(Clone, Copy, Debug, Default)]
pub enum UserOrder {
    #[default]
    Name,
    Email,
}

fn capacity(value: Option<i32>) -> Result<Option<i32>, String> {
    match value {
        Some(c) if !(0..=MAX_CAPACITY).contains(&c) => Err(format!("must be between 0 and {MAX_CAPACITY}")),
        other => Ok(other),
    }
}

fn cols() -> Versioned<user::Column> {
    Versioned { id: user::Column::Id, organisation: user::Column::OrganisationId, version: user::Column::Version }
}

/// Adds a user to the actor's organisation (admins only).
pub async fn create(db: &DatabaseConnection, actor: &Actor, new: NewUser) -> Result<User> {
    actor.require_admin()?;
    let mut p = Problems::default();
    let email = p.check(&["email"], values::email(&new.email));
    let name = p.check(&["name"], values::line(&new.name, values::MAX_LINE));
    let capacity = p.check(&["capacity"], capacity(new.capacity));
    p.finish()?;
    let now = values::now();
    let model = user::ActiveModel {
        id: Set(UserId::generate().0),
        organisation_id: Set(actor.organisation.0),
        email: Set(email.unwrap()),
        name: Set(name.unwrap()),
        role: Set(new.role.as_str().to_owned()),
        capacity: Set(capacity.unwrap()),
        archived_at: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    };
    match user::Entity::insert(model).exec_with_returning(db).await {
        Ok(m) => m.try_into(),
        Err(e) if is_unique_violation(&e) => Err(Error::conflict(&["email"], "a user with this email already exists")),
        Err(e) => Err(e.into()),
    }
}

/// Changes a user's name, role or capacity (admins only).
pub async fn update(db: &DatabaseConnection, actor: &Actor, id: UserId, patch: UserPatch) -> Result<User> {
    actor.require_admin()?;
    let current = get(db, actor.organisation, id).await?.ok_or_else(|| Error::not_found("user", &["id"]))?;
    check_version("user", &current.archived_at, current.version, patch.expected_version)?;
    let mut p = Problems::default();
    let name = patch.name.as_deref().and_then(|n| p.check(&["name"], values::line(n, values::MAX_LINE)));
    let cap = patch.capacity.and_then(|c| p.check(&["capacity"], capacity(c))).flatten();
    if patch.role.is_some_and(|r| r != Role::Admin) && id == actor.user {
        p.push(&["role"], "admins cannot remove their own admin role");
    }
    p.finish()?;

    let mut changes =
        user::ActiveModel { version: Set(current.version + 1), updated_at: Set(values::now()), ..Default::default() };
    if let Some(name) = name {
        changes.name = Set(name);
    }
    if let Some(role) = patch.role {
        changes.role = Set(role.as_str().to_owned());
    }
    if patch.capacity.is_some() {
        changes.capacity = Set(cap);
    }
    if !update_if_version(db, cols(), changes, actor.organisation.0, id.0, current.version).await? {
        return Err(Error::conflict(&["expectedVersion"], "user was changed concurrently; reload and retry"));
    }
    get(db, actor.organisation, id).await?.ok_or_else(|| Error::not_found("user", &["id"]))
}

/// Archives a user: they can no longer sign in, and disappear from lists unless asked for.
pub async fn archive(
    db: &DatabaseConnection,
    actor: &Actor,
    id: UserId,
    expected_version: Option<i32>,
) -> Result<User> {
    actor.require_admin()?;
    if id == actor.user {
        return Err(Error::invalid(&["id"], "admins cannot archive themselves"));
    }
    let current = get(db, actor.organisation, id).await?.ok_or_else(|| Error::not_found("user", &["id"]))?;
    check_version("user", &current.archived_at, current.version, expected_version)?;
    let now = values::now();
    let changes = user::ActiveModel {
        archived_at: Set(Some(now)),
        version: Set(current.version + 1),
        updated_at: Set(now),
        ..Default::default()
    };
    if !update_if_version(db, cols(), changes, actor.organisation.0, id.0, current.version).await? {
        return Err(Error::conflict(&["expectedVersion"], "user was changed concurrently; reload and retry"));
    }
    get(db, actor.organisation, id).await?.ok_or_else(|| Error::not_found("user", &["id"]))
}

/// One user of the organisation, archived or not.
pub async fn get(db: &DatabaseConnection, org: OrganisationId, id: UserId) -> Result<Option<User>> {
    user::Entity::find_by_id(id.0)
        .filter(user::Column::OrganisationId.eq(org.0))
        .one(db)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

/// Many users at once (for batch loading); ids of other organisations are simply absent.
pub async fn by_ids(db: &DatabaseConnection, org: OrganisationId, ids: &[UserId]) -> Result<HashMap<UserId, User>> {
    let rows = user::Entity::find()
        .filter(user::Column::OrganisationId.eq(org.0))
        .filter(user::Column::Id.is_in(ids.iter().map(|i| i.0)))
        .all(db)
        .await?;
    rows.into_iter().map(|m| User::try_from(m).map(|u| (u.id, u))).collect()
}

/// A user found by organisation slug and email (for minting tokens from the command line).
pub async fn by_email(db: &DatabaseConnection, org: OrganisationId, email: &str) -> Result<Option<User>> {
    user::Entity::find()
        .filter(user::Column::OrganisationId.eq(org.0))
        .filter(user::Column::Email.eq(email.trim().to_lowercase()))
        .one(db)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

fn filtered(org: OrganisationId, filter: &UserFilter) -> Select<user::Entity> {
    let mut cond = Condition::all().add(user::Column::OrganisationId.eq(org.0));
    if let Some(roles) = &filter.roles {
        cond = cond.add(user::Column::Role.is_in(roles.iter().map(|r| r.as_str())));
    }
    if !filter.include_archived {
        cond = cond.add(user::Column::ArchivedAt.is_null());
    }
    user::Entity::find().filter(cond)
}

/// A page of the organisation's users.
pub async fn list(
    db: &DatabaseConnection,
    org: OrganisationId,
    filter: &UserFilter,
    order: UserOrder,
    page: &PageRequest,
) -> Result<Page<User>> {
    let (column, key): (_, fn(&user::Model) -> KeyValue) = match order {
        UserOrder::Name => (user::Column::Name, |m| KeyValue::Text(m.name.clone())),
        UserOrder::Email => (user::Column::Email, |m| KeyValue::Text(m.email.clone())),
    };
    let sort = Sort { column, kind: KeyKind::Text, nullable: false, descending: false };
    page::fetch(db, filtered(org, filter), sort, Some(user::Column::Id), page, key, |m| m.id)
        .await?
        .try_map(TryInto::try_into)
}

/// How many users match the filter.
pub async fn count(db: &DatabaseConnection, org: OrganisationId, filter: &UserFilter) -> Result<u64> {
    Ok(filtered(org, filter).count(db).await?)
}
