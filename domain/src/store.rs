//! Small persistence helpers shared by the services: optimistic updates and constraint mapping.

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, SqlErr};
use uuid::Uuid;

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
