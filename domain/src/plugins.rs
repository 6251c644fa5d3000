//! Organisations' rule plugins as stored: the plugin (key, status, circuit-breaker state) and its
//! uploaded versions with the component bytes. What a component *is* (compiling, checking,
//! running it) is the rule engine's business; this module only keeps what the engine accepted.

use chrono::{DateTime, Utc};
use sea_orm::ExprTrait as _;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::entities::{plugin, plugin_version};
use crate::enums::stored;
use crate::store::{Versioned, check_version, is_unique_violation, update_if_version};
use crate::{
    Actor, Error, OrganisationId, PluginId, PluginStatus, PluginVersionId, Result, RiskCategory, UserId, values,
};

/// Consecutive failed evaluations after which a plugin is switched off (the circuit breaker).
pub const TRIP_AFTER_FAILURES: i32 = 25;

/// An organisation's rule plugin.
#[derive(Clone, Debug, PartialEq)]
pub struct Plugin {
    pub id: PluginId,
    pub organisation: OrganisationId,
    /// The rule key its metadata declares (stable across versions).
    pub key: String,
    pub name: String,
    pub description: String,
    pub category: RiskCategory,
    pub status: PluginStatus,
    /// The version that runs.
    pub current_version: i32,
    /// Failed evaluations in a row (reset by a success).
    pub consecutive_failures: i32,
    pub tripped_at: Option<DateTime<Utc>>,
    pub trip_reason: Option<String>,
    pub created_by: Option<UserId>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<plugin::Model> for Plugin {
    type Error = Error;
    fn try_from(m: plugin::Model) -> Result<Self> {
        Ok(Self {
            id: PluginId(m.id),
            organisation: OrganisationId(m.organisation_id),
            category: stored(RiskCategory::parse(&m.category))?,
            status: stored(PluginStatus::parse(&m.status))?,
            key: m.key,
            name: m.name,
            description: m.description,
            current_version: m.current_version,
            consecutive_failures: m.consecutive_failures,
            tripped_at: m.tripped_at,
            trip_reason: m.trip_reason,
            created_by: m.created_by.map(UserId),
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

/// One uploaded version (without the component bytes).
#[derive(Clone, Debug, PartialEq)]
pub struct PluginVersion {
    pub id: PluginVersionId,
    pub plugin: PluginId,
    pub number: i32,
    pub sha256: String,
    pub size_bytes: i32,
    pub wit_version: String,
    /// The rule's metadata as the engine read it at upload (JSON).
    pub metadata: serde_json::Value,
    pub uploaded_by: Option<UserId>,
    pub uploaded_at: DateTime<Utc>,
}

/// A checked component to store.
#[derive(Clone, Debug)]
pub struct Upload {
    pub key: String,
    pub name: String,
    pub description: String,
    pub category: RiskCategory,
    pub sha256: String,
    pub wit_version: String,
    pub metadata: serde_json::Value,
    pub component: Vec<u8>,
}

/// What an upload did.
#[derive(Clone, Debug)]
pub struct Uploaded {
    pub plugin: Plugin,
    pub version: PluginVersion,
    /// False when the same component was already the current version (nothing changed).
    pub created: bool,
}

fn version_columns() -> sea_orm::Select<plugin_version::Entity> {
    plugin_version::Entity::find().select_only().columns([
        plugin_version::Column::Id,
        plugin_version::Column::OrganisationId,
        plugin_version::Column::PluginId,
        plugin_version::Column::Number,
        plugin_version::Column::Sha256,
        plugin_version::Column::SizeBytes,
        plugin_version::Column::WitVersion,
        plugin_version::Column::Metadata,
        plugin_version::Column::UploadedBy,
        plugin_version::Column::UploadedAt,
    ])
}

/// A version row without its bytes (`component` selected as empty).
#[derive(sea_orm::FromQueryResult)]
struct VersionRow {
    id: uuid::Uuid,
    plugin_id: uuid::Uuid,
    number: i32,
    sha256: String,
    size_bytes: i32,
    wit_version: String,
    metadata: String,
    uploaded_by: Option<uuid::Uuid>,
    uploaded_at: DateTime<Utc>,
}

impl VersionRow {
    fn into_version(self) -> Result<PluginVersion> {
        Ok(PluginVersion {
            id: PluginVersionId(self.id),
            plugin: PluginId(self.plugin_id),
            number: self.number,
            sha256: self.sha256,
            size_bytes: self.size_bytes,
            wit_version: self.wit_version,
            metadata: serde_json::from_str(&self.metadata).map_err(Error::internal)?,
            uploaded_by: self.uploaded_by.map(UserId),
            uploaded_at: self.uploaded_at,
        })
    }
}

fn columns() -> Versioned<plugin::Column> {
    Versioned { id: plugin::Column::Id, organisation: plugin::Column::OrganisationId, version: plugin::Column::Version }
}

/// The next version of a plugin row with the circuit breaker reset (a new version or an admin's
/// decision gives the plugin a clean slate).
fn reset(version: i32, now: DateTime<Utc>) -> plugin::ActiveModel {
    plugin::ActiveModel {
        consecutive_failures: Set(0),
        tripped_at: Set(None),
        trip_reason: Set(None),
        version: Set(version + 1),
        updated_at: Set(now),
        ..Default::default()
    }
}

/// Stores a checked component as a new version of the plugin with its key (created on first
/// upload) and makes it current. Uploading the current component again changes nothing.
/// A tripped plugin is enabled again by a new version (it presumably fixes the failure); one
/// an admin disabled stays disabled. Admins only.
pub async fn upload(db: &DatabaseConnection, actor: &Actor, u: Upload) -> Result<Uploaded> {
    actor.require_admin()?;
    let org = actor.organisation;
    let now = values::now();
    let size = i32::try_from(u.component.len()).map_err(|_| Error::invalid(&["component"], "too large"))?;
    let tx = crate::db::begin_write(db).await?;
    let existing = plugin::Entity::find()
        .filter(plugin::Column::OrganisationId.eq(org.0))
        .filter(plugin::Column::Key.eq(&u.key))
        .one(&tx)
        .await?;
    let (plugin_id, number) = match &existing {
        None => {
            let id = uuid::Uuid::now_v7();
            let row = plugin::ActiveModel {
                id: Set(id),
                organisation_id: Set(org.0),
                key: Set(u.key.clone()),
                name: Set(u.name.clone()),
                description: Set(u.description.clone()),
                category: Set(u.category.as_str().to_owned()),
                status: Set(PluginStatus::Enabled.as_str().to_owned()),
                current_version: Set(1),
                consecutive_failures: Set(0),
                tripped_at: Set(None),
                trip_reason: Set(None),
                created_by: Set(Some(actor.user.0)),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
            };
            match plugin::Entity::insert(row).exec_without_returning(&tx).await {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e) => {
                    return Err(Error::conflict(&["component"], "the plugin was uploaded concurrently; retry"));
                }
                Err(e) => return Err(e.into()),
            }
            (id, 1)
        }
        Some(p) => {
            let current = version_columns()
                .filter(plugin_version::Column::OrganisationId.eq(org.0))
                .filter(plugin_version::Column::PluginId.eq(p.id))
                .filter(plugin_version::Column::Number.eq(p.current_version))
                .into_model::<VersionRow>()
                .one(&tx)
                .await?;
            if let Some(current) = current.filter(|c| c.sha256 == u.sha256) {
                let version = current.into_version()?;
                tx.commit().await?;
                return Ok(Uploaded { plugin: Plugin::try_from(p.clone())?, version, created: false });
            }
            let last: Option<i32> = plugin_version::Entity::find()
                .select_only()
                .column_as(plugin_version::Column::Number.max(), "n")
                .filter(plugin_version::Column::OrganisationId.eq(org.0))
                .filter(plugin_version::Column::PluginId.eq(p.id))
                .into_tuple::<Option<i32>>()
                .one(&tx)
                .await?
                .flatten();
            let number = last.unwrap_or(0) + 1;
            let status =
                if p.status == PluginStatus::Tripped.as_str() { PluginStatus::Enabled.as_str() } else { &p.status };
            let changes = plugin::ActiveModel {
                name: Set(u.name.clone()),
                description: Set(u.description.clone()),
                category: Set(u.category.as_str().to_owned()),
                status: Set(status.to_owned()),
                current_version: Set(number),
                ..reset(p.version, now)
            };
            if !update_if_version(&tx, columns(), changes, org.0, p.id, p.version).await? {
                return Err(Error::conflict(&["component"], "the plugin changed concurrently; retry"));
            }
            (p.id, number)
        }
    };
    let version_id = uuid::Uuid::now_v7();
    let row = plugin_version::ActiveModel {
        id: Set(version_id),
        organisation_id: Set(org.0),
        plugin_id: Set(plugin_id),
        number: Set(number),
        sha256: Set(u.sha256),
        size_bytes: Set(size),
        wit_version: Set(u.wit_version),
        metadata: Set(u.metadata.to_string()),
        component: Set(u.component),
        uploaded_by: Set(Some(actor.user.0)),
        uploaded_at: Set(now),
    };
    match plugin_version::Entity::insert(row).exec_without_returning(&tx).await {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => {
            return Err(Error::conflict(&["component"], "the plugin was uploaded concurrently; retry"));
        }
        Err(e) => return Err(e.into()),
    }
    tx.commit().await?;
    let plugin = get(db, org, PluginId(plugin_id)).await?.ok_or_else(|| Error::not_found("plugin", &["id"]))?;
    let version =
        version(db, org, plugin.id, number).await?.ok_or_else(|| Error::not_found("plugin version", &["id"]))?;
    Ok(Uploaded { plugin, version, created: true })
}

/// The organisation's plugins, by key.
pub async fn list(db: &DatabaseConnection, org: OrganisationId) -> Result<Vec<Plugin>> {
    plugin::Entity::find()
        .filter(plugin::Column::OrganisationId.eq(org.0))
        .order_by_asc(plugin::Column::Key)
        .all(db)
        .await?
        .into_iter()
        .map(Plugin::try_from)
        .collect()
}

/// One plugin.
pub async fn get(db: &DatabaseConnection, org: OrganisationId, id: PluginId) -> Result<Option<Plugin>> {
    plugin::Entity::find()
        .filter(plugin::Column::OrganisationId.eq(org.0))
        .filter(plugin::Column::Id.eq(id.0))
        .one(db)
        .await?
        .map(Plugin::try_from)
        .transpose()
}

/// A plugin by its rule key.
pub async fn by_key(db: &DatabaseConnection, org: OrganisationId, key: &str) -> Result<Option<Plugin>> {
    plugin::Entity::find()
        .filter(plugin::Column::OrganisationId.eq(org.0))
        .filter(plugin::Column::Key.eq(key))
        .one(db)
        .await?
        .map(Plugin::try_from)
        .transpose()
}

/// A plugin's versions, newest first (without the bytes).
pub async fn versions(db: &DatabaseConnection, org: OrganisationId, id: PluginId) -> Result<Vec<PluginVersion>> {
    version_columns()
        .filter(plugin_version::Column::OrganisationId.eq(org.0))
        .filter(plugin_version::Column::PluginId.eq(id.0))
        .order_by_desc(plugin_version::Column::Number)
        .into_model::<VersionRow>()
        .all(db)
        .await?
        .into_iter()
        .map(VersionRow::into_version)
        .collect()
}

/// One version of a plugin (without the bytes).
pub async fn version(
    db: &DatabaseConnection,
    org: OrganisationId,
    id: PluginId,
    number: i32,
) -> Result<Option<PluginVersion>> {
    version_columns()
        .filter(plugin_version::Column::OrganisationId.eq(org.0))
        .filter(plugin_version::Column::PluginId.eq(id.0))
        .filter(plugin_version::Column::Number.eq(number))
        .into_model::<VersionRow>()
        .one(db)
        .await?
        .map(VersionRow::into_version)
        .transpose()
}

/// A plugin as the engine needs it: the plugin and its current component's hash.
#[derive(Clone, Debug)]
pub struct Current {
    pub plugin: Plugin,
    pub sha256: String,
}

/// The organisation's plugins with their current versions' hashes.
pub async fn current(db: &DatabaseConnection, org: OrganisationId) -> Result<Vec<Current>> {
    let plugins: Vec<Plugin> = list(db, org).await?;
    if plugins.is_empty() {
        return Ok(Vec::new());
    }
    let rows = version_columns()
        .filter(plugin_version::Column::OrganisationId.eq(org.0))
        .filter(plugin_version::Column::PluginId.is_in(plugins.iter().map(|p| p.id.0)))
        .into_model::<VersionRow>()
        .all(db)
        .await?;
    Ok(plugins
        .into_iter()
        .filter_map(|p| {
            let sha = rows.iter().find(|r| r.plugin_id == p.id.0 && r.number == p.current_version)?.sha256.clone();
            Some(Current { plugin: p, sha256: sha })
        })
        .collect())
}

/// The component bytes with this hash, if the organisation uploaded it.
pub async fn component(db: &DatabaseConnection, org: OrganisationId, sha256: &str) -> Result<Option<Vec<u8>>> {
    Ok(plugin_version::Entity::find()
        .filter(plugin_version::Column::OrganisationId.eq(org.0))
        .filter(plugin_version::Column::Sha256.eq(sha256))
        .one(db)
        .await?
        .map(|m| m.component))
}

/// Makes an earlier (or later) uploaded version current again: the roll-back after a bad upload
/// (admins). Resets the circuit breaker like a new version does.
pub async fn activate_version(
    db: &DatabaseConnection,
    actor: &Actor,
    id: PluginId,
    number: i32,
    expected_version: Option<i32>,
) -> Result<Plugin> {
    actor.require_admin()?;
    let Some(target) = version(db, actor.organisation, id, number).await? else {
        return Err(Error::not_found("plugin version", &["number"]));
    };
    change(db, actor, id, expected_version, |current, reset| {
        let status = if current.status == PluginStatus::Tripped { PluginStatus::Enabled } else { current.status };
        plugin::ActiveModel {
            current_version: Set(target.number),
            status: Set(status.as_str().to_owned()),
            name: Set(target.metadata["name"].as_str().unwrap_or(&current.name).to_owned()),
            description: Set(target.metadata["description"].as_str().unwrap_or(&current.description).to_owned()),
            ..reset
        }
    })
    .await
}

/// Switches a plugin on or off (admins). Enabling also resets the circuit breaker.
pub async fn set_enabled(
    db: &DatabaseConnection,
    actor: &Actor,
    id: PluginId,
    enabled: bool,
    expected_version: Option<i32>,
) -> Result<Plugin> {
    let status = if enabled { PluginStatus::Enabled } else { PluginStatus::Disabled };
    change(db, actor, id, expected_version, |_, reset| plugin::ActiveModel {
        status: Set(status.as_str().to_owned()),
        ..reset
    })
    .await
}

/// An admin's change to a plugin: checked against `expected_version`, written with a
/// compare-and-set; `changes` builds on the next version with the circuit breaker reset (an
/// admin's decision gives the plugin a clean slate).
async fn change(
    db: &DatabaseConnection,
    actor: &Actor,
    id: PluginId,
    expected_version: Option<i32>,
    changes: impl FnOnce(&Plugin, plugin::ActiveModel) -> plugin::ActiveModel,
) -> Result<Plugin> {
    actor.require_admin()?;
    let org = actor.organisation;
    let Some(current) = get(db, org, id).await? else { return Err(Error::not_found("plugin", &["id"])) };
    check_version("plugin", &None, current.version, expected_version)?;
    let changes = changes(&current, reset(current.version, values::now()));
    if !update_if_version(db, columns(), changes, org.0, id.0, current.version).await? {
        return Err(Error::conflict(&["expectedVersion"], "the plugin changed concurrently; reload and retry"));
    }
    get(db, org, id).await?.ok_or_else(|| Error::not_found("plugin", &["id"]))
}

/// How a plugin fared in one evaluation pass.
#[derive(Clone, Debug)]
pub struct PassOutcome {
    pub key: String,
    /// Whether it evaluated at least one account successfully.
    pub any_success: bool,
    /// Failures at the end of the pass, after its last success (all of them without one).
    pub trailing_failures: u32,
    pub last_error: Option<String>,
}

/// Updates the circuit breaker after a pass; returns the keys of plugins it switched off.
/// The breaker state is a counter on the plugin row, so every replica sees the same state.
pub async fn record_pass(
    db: &DatabaseConnection,
    org: OrganisationId,
    outcomes: &[PassOutcome],
) -> Result<Vec<String>> {
    let mut tripped = Vec::new();
    for o in outcomes {
        if o.any_success && o.trailing_failures == 0 {
            plugin::Entity::update_many()
                .col_expr(plugin::Column::ConsecutiveFailures, Expr::value(0))
                .filter(plugin::Column::OrganisationId.eq(org.0))
                .filter(plugin::Column::Key.eq(&o.key))
                .filter(plugin::Column::ConsecutiveFailures.ne(0))
                .exec(db)
                .await?;
            continue;
        }
        let failures = i32::try_from(o.trailing_failures).unwrap_or(i32::MAX);
        let counter = if o.any_success {
            Expr::value(failures)
        } else {
            Expr::col(plugin::Column::ConsecutiveFailures).add(failures)
        };
        plugin::Entity::update_many()
            .col_expr(plugin::Column::ConsecutiveFailures, counter)
            .filter(plugin::Column::OrganisationId.eq(org.0))
            .filter(plugin::Column::Key.eq(&o.key))
            .exec(db)
            .await?;
        let now = values::now();
        let trip = plugin::Entity::update_many()
            .col_expr(plugin::Column::Status, Expr::value(PluginStatus::Tripped.as_str()))
            .col_expr(plugin::Column::TrippedAt, Expr::value(now))
            .col_expr(plugin::Column::TripReason, Expr::value(o.last_error.clone()))
            .col_expr(plugin::Column::Version, Expr::col(plugin::Column::Version).add(1))
            .col_expr(plugin::Column::UpdatedAt, Expr::value(now))
            .filter(plugin::Column::OrganisationId.eq(org.0))
            .filter(plugin::Column::Key.eq(&o.key))
            .filter(plugin::Column::Status.eq(PluginStatus::Enabled.as_str()))
            .filter(plugin::Column::ConsecutiveFailures.gte(TRIP_AFTER_FAILURES))
            .exec(db)
            .await?;
        if trip.rows_affected > 0 {
            tripped.push(o.key.clone());
        }
    }
    Ok(tripped)
}
