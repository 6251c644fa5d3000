//! Organisations (tenants) and their bootstrap with a first admin.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::entities::{organisation, user};
use crate::store::is_unique_violation;
use crate::{Error, OrganisationId, Problems, Result, Role, User, UserId, values};

/// A tenant: every other object belongs to exactly one organisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Organisation {
    pub id: OrganisationId,
    pub slug: String,
    pub name: String,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<organisation::Model> for Organisation {
    fn from(m: organisation::Model) -> Self {
        Self {
            id: OrganisationId(m.id),
            slug: m.slug,
            name: m.name,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// What is needed to open a new organisation.
#[derive(Clone, Debug)]
pub struct NewOrganisation {
    pub slug: String,
    pub name: String,
    pub admin_email: String,
    pub admin_name: String,
}

/// Creates an organisation and its first admin, atomically.
pub async fn create(db: &DatabaseConnection, new: NewOrganisation) -> Result<(Organisation, User)> {
    let mut p = Problems::default();
    let slug = p.check(&["slug"], values::slug(&new.slug));
    let name = p.check(&["name"], values::line(&new.name, values::MAX_LINE));
    let email = p.check(&["adminEmail"], values::email(&new.admin_email));
    let admin_name = p.check(&["adminName"], values::line(&new.admin_name, values::MAX_LINE));
    p.finish()?;
    let (slug, name, email, admin_name) = (slug.unwrap(), name.unwrap(), email.unwrap(), admin_name.unwrap());

    let now = values::now();
    let org_id = OrganisationId::generate();
    let user_id = UserId::generate();
    let result = crate::db::write::<_, _, _, sea_orm::DbErr>(db, |tx| {
        Box::pin(async move {
            let org = organisation::Entity::insert(organisation::ActiveModel {
                id: Set(org_id.0),
                slug: Set(slug),
                name: Set(name),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
            })
            .exec_with_returning(tx)
            .await?;
            let admin = user::Entity::insert(user::ActiveModel {
                id: Set(user_id.0),
                organisation_id: Set(org_id.0),
                email: Set(email),
                name: Set(admin_name),
                role: Set(Role::Admin.as_str().to_owned()),
                capacity: Set(None),
                archived_at: Set(None),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
            })
            .exec_with_returning(tx)
            .await?;
            for spec in crate::signals::metrics::default_specs() {
                crate::signals::metrics::define_unchecked(tx, org_id, spec)
                    .await
                    .map_err(|e| sea_orm::DbErr::Custom(e.to_string()))?;
            }
            crate::health::create_default(tx, org_id).await.map_err(|e| sea_orm::DbErr::Custom(e.to_string()))?;
            crate::playbooks::create_defaults(tx, org_id).await?;
            Ok((org, admin))
        })
    })
    .await;
    match result {
        Ok((org, admin)) => Ok((org.into(), admin.try_into()?)),
        Err(sea_orm::TransactionError::Transaction(e)) if is_unique_violation(&e) => {
            Err(Error::conflict(&["slug"], "an organisation with this slug already exists"))
        }
        Err(e) => Err(e.into()),
    }
}

/// The organisation with this id.
pub async fn get(db: &DatabaseConnection, id: OrganisationId) -> Result<Option<Organisation>> {
    Ok(organisation::Entity::find_by_id(id.0).one(db).await?.map(Into::into))
}

/// The organisation with this slug.
pub async fn by_slug(db: &DatabaseConnection, slug: &str) -> Result<Option<Organisation>> {
    Ok(organisation::Entity::find().filter(organisation::Column::Slug.eq(slug)).one(db).await?.map(Into::into))
}
