//! Signals (metric series, support tickets, invoices, surveys, relationship assessments,
//! contract changes) and health (scorecards, score history, the dirty-account queue).

use sea_orm_migration::{prelude::*, schema::*};

use crate::m0001_foundation::{audited, index, tenant_fk, tenant_owned};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(audited(
                tenant_owned("metric_definitions")
                    .col(string_len("key", 100))
                    .col(string("name"))
                    .col(string_len("unit", 32))
                    .col(string_len("direction", 32))
                    .col(string_len("aggregation", 32))
                    .index(Index::create().name("ux_metric_definitions_key").unique().col("organisation_id").col("key"))
                    .to_owned(),
            ))
            .await?;

        // The series table: the natural key (account, metric, time) is the primary key, so a
        // retried observation is recognised without any extra index. Deliberately without
        // foreign keys: their per-row checks cost more than half of the insert time on
        // PostgreSQL, and the only writer (`signals::metrics::ingest`) resolves every account
        // and metric inside the caller's organisation first. Accounts and metric definitions
        // are never hard-deleted, so nothing can dangle.
        manager
            .create_table(
                Table::create()
                    .table("metric_points")
                    .col(uuid("organisation_id"))
                    .col(uuid("account_id"))
                    .col(uuid("metric_id"))
                    .col(timestamp_with_time_zone("observed_at"))
                    .col(double("value"))
                    .col(string_len_null("source", 100))
                    .primary_key(
                        Index::create().col("organisation_id").col("account_id").col("metric_id").col("observed_at"),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(audited(
                tenant_owned("support_tickets")
                    .col(uuid("account_id"))
                    .col(string_len("external_id", 200))
                    .col(string_null("subject"))
                    .col(string_len("priority", 16))
                    .col(string_len("status", 16))
                    .col(timestamp_with_time_zone("opened_at"))
                    .col(timestamp_with_time_zone_null("first_response_at"))
                    .col(timestamp_with_time_zone_null("resolved_at"))
                    .index(
                        Index::create()
                            .name("ux_support_tickets_external")
                            .unique()
                            .col("organisation_id")
                            .col("external_id"),
                    )
                    .foreign_key(&mut tenant_fk("support_tickets", "account_id", "accounts", ForeignKeyAction::Cascade))
                    .to_owned(),
            ))
            .await?;
        manager
            .create_index(index("support_tickets", "account", &["organisation_id", "account_id", "opened_at"]))
            .await?;

        manager
            .create_table(audited(
                tenant_owned("invoices")
                    .col(uuid("account_id"))
                    .col(string_len("number", 200))
                    .col(big_integer("amount_minor"))
                    .col(char_len("currency", 3))
                    .col(date("issued_on"))
                    .col(date("due_on"))
                    .col(timestamp_with_time_zone_null("paid_at"))
                    .col(string_len("status", 16))
                    .index(Index::create().name("ux_invoices_number").unique().col("organisation_id").col("number"))
                    .foreign_key(&mut tenant_fk("invoices", "account_id", "accounts", ForeignKeyAction::Cascade))
                    .to_owned(),
            ))
            .await?;
        manager.create_index(index("invoices", "account", &["organisation_id", "account_id", "due_on"])).await?;

        manager
            .create_table(
                tenant_owned("survey_responses")
                    .col(uuid("account_id"))
                    .col(string_len("kind", 16))
                    .col(integer("score"))
                    .col(uuid_null("contact_id"))
                    .col(text_null("comment"))
                    .col(timestamp_with_time_zone("responded_at"))
                    .col(string_len_null("idempotency_key", 200))
                    .col(timestamp_with_time_zone("created_at"))
                    .index(
                        Index::create()
                            .name("ux_survey_responses_key")
                            .unique()
                            .col("organisation_id")
                            .col("idempotency_key"),
                    )
                    .foreign_key(&mut tenant_fk(
                        "survey_responses",
                        "account_id",
                        "accounts",
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut tenant_fk(
                        "survey_responses",
                        "contact_id",
                        "contacts",
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("survey_responses", "account", &["organisation_id", "account_id", "responded_at"]))
            .await?;

        manager
            .create_table(
                tenant_owned("relationship_assessments")
                    .col(uuid("account_id"))
                    .col(uuid("assessed_by"))
                    .col(timestamp_with_time_zone("assessed_at"))
                    .col(small_integer("stakeholder_sentiment"))
                    .col(small_integer("competitive_pressure"))
                    .col(small_integer("strategic_alignment"))
                    .col(text_null("notes"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut tenant_fk(
                        "relationship_assessments",
                        "account_id",
                        "accounts",
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut tenant_fk(
                        "relationship_assessments",
                        "assessed_by",
                        "users",
                        ForeignKeyAction::Restrict,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "relationship_assessments",
                "account",
                &["organisation_id", "account_id", "assessed_at"],
            ))
            .await?;

        manager
            .create_table(
                tenant_owned("contract_changes")
                    .col(uuid("account_id"))
                    .col(date("effective_on"))
                    .col(big_integer("annual_value_minor"))
                    .col(char_len("currency", 3))
                    .col(date_null("renewal_date"))
                    .col(text_null("note"))
                    .col(string_len_null("idempotency_key", 200))
                    .col(timestamp_with_time_zone("created_at"))
                    .index(
                        Index::create()
                            .name("ux_contract_changes_key")
                            .unique()
                            .col("organisation_id")
                            .col("idempotency_key"),
                    )
                    .foreign_key(&mut tenant_fk(
                        "contract_changes",
                        "account_id",
                        "accounts",
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("contract_changes", "account", &["organisation_id", "account_id", "effective_on"]))
            .await?;

        manager
            .create_table(audited(
                tenant_owned("health_scorecards")
                    .col(string("name"))
                    .col(boolean("is_default"))
                    .col(text("definition"))
                    .index(
                        Index::create().name("ux_health_scorecards_name").unique().col("organisation_id").col("name"),
                    )
                    .to_owned(),
            ))
            .await?;

        manager
            .create_table(
                tenant_owned("health_scores")
                    .col(uuid("account_id"))
                    .col(uuid("scorecard_id"))
                    .col(timestamp_with_time_zone("computed_at"))
                    .col(double_null("score"))
                    .col(string_len_null("band", 16))
                    .col(text("explanation"))
                    .col(string_len("trigger", 64))
                    .foreign_key(&mut tenant_fk("health_scores", "account_id", "accounts", ForeignKeyAction::Cascade))
                    .foreign_key(&mut tenant_fk(
                        "health_scores",
                        "scorecard_id",
                        "health_scorecards",
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "health_scores",
                "history",
                &["organisation_id", "account_id", "scorecard_id", "computed_at"],
            ))
            .await?;

        // Accounts whose signals changed since their health was last computed.
        manager
            .create_table(
                Table::create()
                    .table("health_dirty")
                    .col(uuid("organisation_id"))
                    .col(uuid("account_id"))
                    .col(timestamp_with_time_zone("marked_at"))
                    .primary_key(Index::create().col("organisation_id").col("account_id"))
                    .foreign_key(&mut tenant_fk("health_dirty", "account_id", "accounts", ForeignKeyAction::Cascade))
                    .to_owned(),
            )
            .await?;

        // The default scorecard's current result, on the account, for filtering and ordering.
        for def in [
            ColumnDef::new("health_score").double().null().to_owned(),
            ColumnDef::new("health_band").string_len(16).null().to_owned(),
        ] {
            manager.alter_table(Table::alter().table("accounts").add_column(def).to_owned()).await?;
        }
        manager.create_index(index("accounts", "health", &["organisation_id", "health_score"])).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("ix_accounts_health").table("accounts").to_owned()).await?;
        for col in ["health_band", "health_score"] {
            manager.alter_table(Table::alter().table("accounts").drop_column(col).to_owned()).await?;
        }
        for table in [
            "health_dirty",
            "health_scores",
            "health_scorecards",
            "contract_changes",
            "relationship_assessments",
            "survey_responses",
            "invoices",
            "support_tickets",
            "metric_points",
            "metric_definitions",
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
