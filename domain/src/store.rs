//! Small persistence helpers shared by the services: optimistic updates and constraint mapping.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, SqlErr};
use uuid::Uuid;

use crate::{Error, Result};

/// The columns that identify a versioned tenant row.
pub(crate) struct Versioned<C> {
    pub id: C,
    pub organisation: C,
    pub version: C,
}

/// Writes `changes` only if the row still has `version` (compare-and-set); `false` if it moved on.
pub(crate) async fn update_if_version<A, D>(
    db: &D,
    cols: Versioned<<A::Entity as EntityTrait>::Column>,
    changes: A,
    organisation: Uuid,
    id: Uuid,
    version: i32,
) -> Result<bool, DbErr>
where
    A: ActiveModelTrait + Send,
    D: ConnectionTrait,
{
    let result = <A::Entity as EntityTrait>::update_many()
        .set(changes)
        .filter(cols.id.eq(id))
        .filter(cols.organisation.eq(organisation))
        .filter(cols.version.eq(version))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// True when the database refused a write because of a unique constraint.
pub(crate) fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// Rejects writes to archived rows and stale versions.
pub(crate) fn check_version(
    entity: &'static str,
    archived_at: &Option<DateTime<Utc>>,
    version: i32,
    expected: Option<i32>,
) -> Result<()> {
    if archived_at.is_some() {
        return Err(Error::invalid(&["id"], format!("{entity} is archived and can no longer be changed")));
    }
    match expected {
        Some(e) if e != version => Err(Error::stale(entity, e, version)),
        _ => Ok(()),
    }
}
