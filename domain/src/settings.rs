//! Instance-wide settings kept in the database (not per tenant).

use base64::Engine as _;
use rand::RngCore as _;
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait, sea_query::OnConflict};

use crate::entities::instance_setting;
use crate::{Result, values};

const DEV_SIGNING_SECRET: &str = "jwt.development_secret";

/// The development token-signing secret, generated once and stored in the database so that
/// `bellwether serve` and `bellwether token` agree without configuration. Production
/// deployments configure their own secret or keys and never call this.
pub async fn development_signing_secret(db: &DatabaseConnection) -> Result<String> {
    if let Some(row) = instance_setting::Entity::find_by_id(DEV_SIGNING_SECRET.to_owned()).one(db).await? {
        return Ok(row.value);
    }
    let mut bytes = [0u8; 48];
    rand::rng().fill_bytes(&mut bytes);
    let secret = base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes);
    // Two processes starting together: the first insert wins, both read it back.
    instance_setting::Entity::insert(instance_setting::ActiveModel {
        key: Set(DEV_SIGNING_SECRET.to_owned()),
        value: Set(secret),
        created_at: Set(values::now()),
    })
    .on_conflict(OnConflict::column(instance_setting::Column::Key).do_nothing().to_owned())
    .try_insert()
    .exec(db)
    .await?;
    let row = instance_setting::Entity::find_by_id(DEV_SIGNING_SECRET.to_owned()).one(db).await?;
    Ok(row.map(|r| r.value).unwrap_or_default())
}
