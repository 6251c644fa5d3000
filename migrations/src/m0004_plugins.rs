//! Organisations' rule plugins: one row per plugin (its key, status and circuit-breaker state)
//! and every uploaded version with its component bytes.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m0001_foundation::{audited, tenant_fk, tenant_owned};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(audited(
                tenant_owned("plugins")
                    .col(string_len("key", 60))
                    .col(string_len("name", 100))
                    .col(text("description"))
                    .col(string_len("category", 32))
                    // enabled, disabled (by an admin) or tripped (by the circuit breaker).
                    .col(string_len("status", 16))
                    .col(integer("current_version"))
                    .col(integer("consecutive_failures").default(0))
                    .col(timestamp_with_time_zone_null("tripped_at"))
                    .col(text_null("trip_reason"))
                    .col(uuid_null("created_by"))
                    .foreign_key(&mut tenant_fk("plugins", "created_by", "users", ForeignKeyAction::Restrict))
                    .index(Index::create().name("ux_plugins_key").unique().col("organisation_id").col("key"))
                    .to_owned(),
            ))
            .await?;
        manager
            .create_table(
                tenant_owned("plugin_versions")
                    .col(uuid("plugin_id"))
                    .col(integer("number"))
                    .col(string_len("sha256", 64))
                    .col(integer("size_bytes"))
                    .col(string_len("wit_version", 16))
                    .col(text("metadata"))
                    .col(blob("component"))
                    .col(uuid_null("uploaded_by"))
                    .col(timestamp_with_time_zone("uploaded_at"))
                    .foreign_key(&mut tenant_fk("plugin_versions", "plugin_id", "plugins", ForeignKeyAction::Cascade))
                    .foreign_key(&mut tenant_fk("plugin_versions", "uploaded_by", "users", ForeignKeyAction::Restrict))
                    .index(
                        Index::create()
                            .name("ux_plugin_versions_number")
                            .unique()
                            .col("organisation_id")
                            .col("plugin_id")
                            .col("number"),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["plugin_versions", "plugins"] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
