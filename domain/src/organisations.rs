//! Organisations (tenants) and their bootstrap with a first admin.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};

use crate::entities::{organisation, user};
use crate::store::{check_version, is_unique_violation};
use crate::{Actor, Error, OrganisationId, Problems, Result, Role, User, UserId, values};

/// A tenant: every other object belongs to exactly one organisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Organisation {
    pub id: OrganisationId,
    pub slug: String,
    pub name: String,
    /// The zone the organisation's dates are read in: "today", deadlines, overdue.
    pub time_zone: Tz,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Organisation {
    /// Today's date on the organisation's calendar.
    pub fn today(&self) -> NaiveDate {
        today_in(self.time_zone)
    }
}

impl TryFrom<organisation::Model> for Organisation {
    type Error = Error;

    fn try_from(m: organisation::Model) -> Result<Self> {
        Ok(Self {
            id: OrganisationId(m.id),
            slug: m.slug,
            name: m.name,
            time_zone: stored_time_zone(&m.time_zone)?,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

/// Today's date in a time zone.
pub fn today_in(zone: Tz) -> NaiveDate {
    values::now().with_timezone(&zone).date_naive()
}

/// The last moment of a day on an organisation's calendar (what "as of that day" means).
pub fn end_of_day(day: NaiveDate, zone: Tz) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone as _;
    let next = (day + chrono::Duration::days(1)).and_time(chrono::NaiveTime::MIN);
    // Midnight may not exist (a DST gap) or be ambiguous: take the earliest valid instant.
    let start = zone
        .from_local_datetime(&next)
        .earliest()
        .or_else(|| zone.from_local_datetime(&(next + chrono::Duration::hours(1))).earliest())
        .map_or_else(|| next.and_utc(), |t| t.with_timezone(&chrono::Utc));
    start - chrono::Duration::microseconds(1)
}

/// Checks a time zone name: an IANA zone such as `Europe/Paris` or `America/New_York`.
pub fn time_zone(name: &str) -> std::result::Result<Tz, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("must not be blank".into());
    }
    name.parse::<Tz>().map_err(|_| {
        format!("'{}' is not a known time zone: use an IANA name such as Europe/Paris or America/New_York", name)
    })
}

fn stored_time_zone(name: &str) -> Result<Tz> {
    name.parse::<Tz>().map_err(|_| Error::Internal(format!("stored time zone '{name}' is unknown").into()))
}

/// What is needed to open a new organisation.
#[derive(Clone, Debug)]
pub struct NewOrganisation {
    pub slug: String,
    pub name: String,
    pub admin_email: String,
    pub admin_name: String,
    /// IANA time zone; UTC when absent.
    pub time_zone: Option<String>,
}

/// Creates an organisation and its first admin, atomically.
pub async fn create(db: &DatabaseConnection, new: NewOrganisation) -> Result<(Organisation, User)> {
    let mut p = Problems::default();
    let slug = p.check(&["slug"], values::slug(&new.slug));
    let name = p.check(&["name"], values::line(&new.name, values::MAX_LINE));
    let email = p.check(&["adminEmail"], values::email(&new.admin_email));
    let admin_name = p.check(&["adminName"], values::line(&new.admin_name, values::MAX_LINE));
    let zone = match &new.time_zone {
        Some(z) => p.check(&["timeZone"], time_zone(z)),
        None => Some(Tz::UTC),
    };
    p.finish()?;
    let (slug, name, email, admin_name) = (slug.unwrap(), name.unwrap(), email.unwrap(), admin_name.unwrap());
    let zone = zone.unwrap();

    let now = values::now();
    let org_id = OrganisationId::generate();
    let user_id = UserId::generate();
    let result = crate::db::write::<_, _, _, sea_orm::DbErr>(db, |tx| {
        Box::pin(async move {
            let org = organisation::Entity::insert(organisation::ActiveModel {
                id: Set(org_id.0),
                slug: Set(slug),
                name: Set(name),
                time_zone: Set(zone.name().to_owned()),
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
        Ok((org, admin)) => Ok((org.try_into()?, admin.try_into()?)),
        Err(sea_orm::TransactionError::Transaction(e)) if is_unique_violation(&e) => {
            Err(Error::conflict(&["slug"], "an organisation with this slug already exists"))
        }
        Err(e) => Err(e.into()),
    }
}

/// The organisation with this id.
pub async fn get(db: &DatabaseConnection, id: OrganisationId) -> Result<Option<Organisation>> {
    organisation::Entity::find_by_id(id.0).one(db).await?.map(TryInto::try_into).transpose()
}

/// The organisation with this slug.
pub async fn by_slug(db: &DatabaseConnection, slug: &str) -> Result<Option<Organisation>> {
    organisation::Entity::find()
        .filter(organisation::Column::Slug.eq(slug))
        .one(db)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

/// The organisation's time zone alone (what every authenticated request needs).
pub async fn time_zone_of(db: &DatabaseConnection, id: OrganisationId) -> Result<Option<Tz>> {
    let name: Option<String> = organisation::Entity::find_by_id(id.0)
        .select_only()
        .column(organisation::Column::TimeZone)
        .into_tuple()
        .one(db)
        .await?;
    name.map(|n| stored_time_zone(&n)).transpose()
}

/// Changes to an organisation's settings; absent fields stay as they are.
#[derive(Clone, Debug, Default)]
pub struct OrganisationPatch {
    pub name: Option<String>,
    pub time_zone: Option<String>,
    pub expected_version: Option<i32>,
}

/// Changes the actor's organisation (admins only; compare-and-set on its version).
pub async fn update(db: &DatabaseConnection, actor: &Actor, patch: OrganisationPatch) -> Result<Organisation> {
    actor.require_admin()?;
    let org = actor.organisation;
    let current = get(db, org).await?.ok_or_else(|| Error::not_found("organisation", &["id"]))?;
    check_version("organisation", &None, current.version, patch.expected_version)?;
    let mut p = Problems::default();
    let name = patch.name.as_deref().and_then(|n| p.check(&["name"], values::line(n, values::MAX_LINE)));
    let zone = patch.time_zone.as_deref().and_then(|z| p.check(&["timeZone"], time_zone(z)));
    p.finish()?;
    let mut changes = organisation::ActiveModel {
        version: Set(current.version + 1),
        updated_at: Set(values::now()),
        ..Default::default()
    };
    if let Some(name) = name {
        changes.name = Set(name);
    }
    if let Some(zone) = zone {
        changes.time_zone = Set(zone.name().to_owned());
    }
    let done = organisation::Entity::update_many()
        .set(changes)
        .filter(organisation::Column::Id.eq(org.0))
        .filter(organisation::Column::Version.eq(current.version))
        .exec(db)
        .await?;
    if done.rows_affected != 1 {
        return Err(Error::conflict(
            &["expectedVersion"],
            "the organisation was changed concurrently; reload and retry",
        ));
    }
    get(db, org).await?.ok_or_else(|| Error::not_found("organisation", &["id"]))
}

#[cfg(test)]
mod day_tests {
    use super::*;

    #[test]
    fn the_end_of_a_day_on_an_organisations_calendar() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        let utc = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        // (day, zone, last moment of that day in UTC)
        let cases = [
            (d(2026, 6, 30), Tz::UTC, "2026-06-30T23:59:59.999999Z"),
            (d(2026, 6, 30), chrono_tz::America::New_York, "2026-07-01T03:59:59.999999Z"),
            (d(2026, 6, 30), chrono_tz::Asia::Tokyo, "2026-06-30T14:59:59.999999Z"),
            // The day before New York's spring-forward night: midnight exists, 2 a.m. does not.
            (d(2026, 3, 7), chrono_tz::America::New_York, "2026-03-08T04:59:59.999999Z"),
            // Midnight that never happened (Sao Paulo moved its clocks at midnight in 2018): the
            // day ends when the next one begins, at 01:00 local summer time (UTC-2).
            (d(2018, 11, 3), chrono_tz::America::Sao_Paulo, "2018-11-04T02:59:59.999999Z"),
        ];
        for (day, zone, expected) in cases {
            assert_eq!(end_of_day(day, zone), utc(expected), "{day} {zone}");
        }
    }
}
