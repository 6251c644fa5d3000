//! Organisations, users, accounts, contacts, interactions and instance settings.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Columns every mutable tenant row has.
pub(crate) fn audited(mut table: TableCreateStatement) -> TableCreateStatement {
    table
        .col(integer("version").default(1))
        .col(timestamp_with_time_zone("created_at"))
        .col(timestamp_with_time_zone("updated_at"))
        .to_owned()
}

/// `organisation_id` plus the unique `(organisation_id, id)` pair that composite foreign keys target.
pub(crate) fn tenant_owned(name: &'static str) -> TableCreateStatement {
    Table::create()
        .table(name)
        .col(pk_uuid("id"))
        .col(uuid("organisation_id"))
        .foreign_key(
            ForeignKey::create()
                .name(format!("fk_{name}_organisation"))
                .from(name, "organisation_id")
                .to("organisations", "id")
                .on_delete(ForeignKeyAction::Cascade),
        )
        .index(Index::create().name(format!("ux_{name}_tenant_id")).unique().col("organisation_id").col("id"))
        .to_owned()
}

/// A composite foreign key `(organisation_id, column)` -> `target(organisation_id, id)`.
pub(crate) fn tenant_fk(
    from: &'static str,
    column: &'static str,
    target: &'static str,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{from}_{column}"))
        .from(from, ("organisation_id", column))
        .to(target, ("organisation_id", "id"))
        .on_delete(on_delete)
        .to_owned()
}

/// A plain index `ix_<table>_<name>` over `cols`.
pub(crate) fn index(table: &'static str, name: &str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.name(format!("ix_{table}_{name}")).table(table);
    for c in cols {
        idx.col(*c);
    }
    idx.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("instance_settings")
                    .col(string("key").primary_key())
                    .col(text("value"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(audited(
                Table::create()
                    .table("organisations")
                    .col(pk_uuid("id"))
                    .col(string_len_uniq("slug", 64))
                    .col(string("name"))
                    .to_owned(),
            ))
            .await?;

        manager
            .create_table(audited(
                tenant_owned("users")
                    .col(string("email"))
                    .col(string("name"))
                    .col(string_len("role", 32))
                    .col(integer_null("capacity"))
                    .col(timestamp_with_time_zone_null("archived_at"))
                    .index(Index::create().name("ux_users_email").unique().col("organisation_id").col("email"))
                    .to_owned(),
            ))
            .await?;

        manager
            .create_table(audited(
                tenant_owned("accounts")
                    .col(string("name"))
                    .col(string_null("external_ref"))
                    .col(string_null("segment"))
                    .col(string_null("industry"))
                    .col(string_len("tier", 32))
                    .col(string_len("lifecycle_stage", 32))
                    .col(string_len("status", 32))
                    .col(date_null("churned_on"))
                    .col(text_null("churn_reason"))
                    .col(big_integer("annual_value_minor"))
                    .col(char_len("currency", 3))
                    .col(date_null("contract_start"))
                    .col(date_null("renewal_date"))
                    .col(uuid_null("account_manager_id"))
                    .col(uuid_null("sales_owner_id"))
                    .col(uuid_null("parent_id"))
                    .col(timestamp_with_time_zone_null("archived_at"))
                    .index(
                        Index::create()
                            .name("ux_accounts_external_ref")
                            .unique()
                            .col("organisation_id")
                            .col("external_ref"),
                    )
                    .foreign_key(&mut tenant_fk("accounts", "account_manager_id", "users", ForeignKeyAction::Restrict))
                    .foreign_key(&mut tenant_fk("accounts", "sales_owner_id", "users", ForeignKeyAction::Restrict))
                    .foreign_key(&mut tenant_fk("accounts", "parent_id", "accounts", ForeignKeyAction::Restrict))
                    .to_owned(),
            ))
            .await?;
        for (name, cols) in [
            ("name", &["organisation_id", "name", "id"][..]),
            ("renewal", &["organisation_id", "renewal_date"]),
            ("manager", &["organisation_id", "account_manager_id"]),
            ("sales_owner", &["organisation_id", "sales_owner_id"]),
            ("parent", &["organisation_id", "parent_id"]),
        ] {
            manager.create_index(index("accounts", name, cols)).await?;
        }

        manager
            .create_table(audited(
                tenant_owned("contacts")
                    .col(uuid("account_id"))
                    .col(string("name"))
                    .col(string_null("title"))
                    .col(string_null("email"))
                    .col(string_null("phone"))
                    .col(string_len("level", 32))
                    .col(string_len("role", 32))
                    .col(string_len("sentiment", 32))
                    .col(boolean("active"))
                    .col(date_null("departed_on"))
                    .col(string_null("idempotency_key"))
                    .col(timestamp_with_time_zone_null("archived_at"))
                    .index(
                        Index::create()
                            .name("ux_contacts_idempotency")
                            .unique()
                            .col("organisation_id")
                            .col("idempotency_key"),
                    )
                    .foreign_key(&mut tenant_fk("contacts", "account_id", "accounts", ForeignKeyAction::Cascade))
                    .to_owned(),
            ))
            .await?;
        manager.create_index(index("contacts", "account", &["organisation_id", "account_id", "name"])).await?;

        manager
            .create_table(audited(
                tenant_owned("interactions")
                    .col(uuid("account_id"))
                    .col(string_len("kind", 32))
                    .col(string_len("direction", 32))
                    .col(timestamp_with_time_zone("occurred_at"))
                    .col(text("summary"))
                    .col(string_null("idempotency_key"))
                    .col(timestamp_with_time_zone_null("archived_at"))
                    .index(
                        Index::create()
                            .name("ux_interactions_idempotency")
                            .unique()
                            .col("organisation_id")
                            .col("idempotency_key"),
                    )
                    .foreign_key(&mut tenant_fk("interactions", "account_id", "accounts", ForeignKeyAction::Cascade))
                    .to_owned(),
            ))
            .await?;
        manager
            .create_index(index("interactions", "account", &["organisation_id", "account_id", "occurred_at"]))
            .await?;

        for (table, column, target) in
            [("interaction_contacts", "contact_id", "contacts"), ("interaction_users", "user_id", "users")]
        {
            manager
                .create_table(
                    Table::create()
                        .table(table)
                        .col(uuid("organisation_id"))
                        .col(uuid("interaction_id"))
                        .col(uuid(column))
                        .primary_key(Index::create().col("interaction_id").col(column))
                        .foreign_key(&mut tenant_fk(table, "interaction_id", "interactions", ForeignKeyAction::Cascade))
                        .foreign_key(&mut tenant_fk(table, column, target, ForeignKeyAction::Cascade))
                        .to_owned(),
                )
                .await?;
            manager.create_index(index(table, "target", &["organisation_id", column])).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "interaction_users",
            "interaction_contacts",
            "interactions",
            "contacts",
            "accounts",
            "users",
            "organisations",
            "instance_settings",
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
