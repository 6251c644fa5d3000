//! Custom account attributes (definitions per organisation, typed values per account) and the
//! idempotency key of bulk-recorded relationship assessments.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m0001_foundation::{audited, index, tenant_fk, tenant_owned};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(audited(
                tenant_owned("attribute_definitions")
                    .col(string_len("key", 100))
                    .col(string("name"))
                    .col(text_null("description"))
                    .col(string_len("kind", 16))
                    // Enumeration options, a JSON array of strings (bounded by the domain).
                    .col(text_null("options"))
                    .col(timestamp_with_time_zone_null("archived_at"))
                    .index(
                        Index::create().name("ux_attribute_definitions_key").unique().col("organisation_id").col("key"),
                    )
                    .to_owned(),
            ))
            .await?;

        // One row per (account, attribute). Text, enumeration options and dates (ISO, so they
        // sort as text) live in `text_value`; numbers and booleans (0/1) in `number_value`, so a
        // filter compares within one typed, indexed column.
        manager
            .create_table(
                Table::create()
                    .table("attribute_values")
                    .col(uuid("organisation_id"))
                    .col(uuid("account_id"))
                    .col(string_len("key", 100))
                    .col(string_len("kind", 16))
                    .col(string_len_null("text_value", 500))
                    .col(double_null("number_value"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .primary_key(Index::create().col("organisation_id").col("account_id").col("key"))
                    .foreign_key(&mut tenant_fk(
                        "attribute_values",
                        "account_id",
                        "accounts",
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_attribute_values_key")
                            .from("attribute_values", ("organisation_id", "key"))
                            .to("attribute_definitions", ("organisation_id", "key"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("attribute_values", "text", &["organisation_id", "key", "text_value"])).await?;
        manager.create_index(index("attribute_values", "number", &["organisation_id", "key", "number_value"])).await?;

        manager
            .alter_table(
                Table::alter()
                    .table("relationship_assessments")
                    .add_column(string_len_null("idempotency_key", 200))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_relationship_assessments_key")
                    .table("relationship_assessments")
                    .unique()
                    .col("organisation_id")
                    .col("idempotency_key")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop().name("ux_relationship_assessments_key").table("relationship_assessments").to_owned(),
            )
            .await?;
        manager
            .alter_table(Table::alter().table("relationship_assessments").drop_column("idempotency_key").to_owned())
            .await?;
        manager.drop_table(Table::drop().table("attribute_values").to_owned()).await?;
        manager.drop_table(Table::drop().table("attribute_definitions").to_owned()).await
    }
}
