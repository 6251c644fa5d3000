//! Risks (raised by rules or by hand) with their audited lifecycle, per-organisation rule
//! settings, the evaluation run log, the queue of accounts to re-evaluate and the sweep lease.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m0001_foundation::{audited, index, tenant_fk, tenant_owned};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(audited(
                tenant_owned("risks")
                    .col(uuid("account_id"))
                    .col(string_len("source", 16))
                    .col(string_len_null("rule_key", 100))
                    .col(string_len("fingerprint", 300))
                    // The fingerprint while the risk is open, NULL once it is closed: the unique
                    // index below lets the database refuse a second open risk for one finding
                    // (two replicas evaluating the same account cannot both raise it), while
                    // closed risks with the same fingerprint (NULLs never collide) stay as history.
                    .col(string_len_null("active_fingerprint", 300))
                    .col(string_len("category", 32))
                    .col(string_len("title", 300))
                    .col(text("detail"))
                    .col(string_len("status", 16))
                    .col(integer("impact"))
                    .col(integer("likelihood"))
                    .col(integer("priority"))
                    .col(boolean("assessed").default(false))
                    .col(text("evidence"))
                    .col(string_len_null("suggested_playbook", 100))
                    .col(uuid_null("owner_id"))
                    .col(uuid_null("created_by"))
                    .col(timestamp_with_time_zone("first_seen_at"))
                    .col(timestamp_with_time_zone("last_seen_at"))
                    .col(timestamp_with_time_zone_null("cleared_at"))
                    .col(text_null("clear_evidence"))
                    .col(timestamp_with_time_zone_null("closed_at"))
                    .col(timestamp_with_time_zone_null("dismissed_until"))
                    .foreign_key(&mut tenant_fk("risks", "account_id", "accounts", ForeignKeyAction::Restrict))
                    .foreign_key(&mut tenant_fk("risks", "owner_id", "users", ForeignKeyAction::Restrict))
                    .foreign_key(&mut tenant_fk("risks", "created_by", "users", ForeignKeyAction::Restrict))
                    .index(
                        Index::create()
                            .name("ux_risks_active_fingerprint")
                            .unique()
                            .col("organisation_id")
                            .col("account_id")
                            .col("active_fingerprint"),
                    )
                    .to_owned(),
            ))
            .await?;
        manager.create_index(index("risks", "fingerprint", &["organisation_id", "account_id", "fingerprint"])).await?;
        manager.create_index(index("risks", "priority", &["organisation_id", "priority"])).await?;
        manager.create_index(index("risks", "status", &["organisation_id", "status"])).await?;

        manager
            .create_table(
                tenant_owned("risk_events")
                    .col(uuid("risk_id"))
                    .col(timestamp_with_time_zone("at"))
                    .col(uuid_null("actor_id"))
                    .col(string_len("kind", 16))
                    .col(string_len_null("from_status", 16))
                    .col(string_len_null("to_status", 16))
                    .col(text_null("note"))
                    .foreign_key(&mut tenant_fk("risk_events", "risk_id", "risks", ForeignKeyAction::Cascade))
                    .foreign_key(&mut tenant_fk("risk_events", "actor_id", "users", ForeignKeyAction::Restrict))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("risk_events", "risk", &["organisation_id", "risk_id", "at"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("rule_settings")
                    .col(uuid("organisation_id"))
                    .col(string_len("rule_key", 100))
                    .col(boolean("enabled"))
                    .col(text("params"))
                    .col(boolean("auto_resolve"))
                    .col(integer("cooldown_days"))
                    .col(integer("version").default(1))
                    .col(timestamp_with_time_zone("updated_at"))
                    .col(uuid_null("updated_by"))
                    .primary_key(Index::create().col("organisation_id").col("rule_key"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_rule_settings_organisation")
                            .from("rule_settings", "organisation_id")
                            .to("organisations", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(&mut tenant_fk("rule_settings", "updated_by", "users", ForeignKeyAction::Restrict))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                tenant_owned("rule_runs")
                    .col(string_len("trigger", 16))
                    .col(uuid_null("account_id"))
                    .col(timestamp_with_time_zone("started_at"))
                    .col(big_integer("duration_us"))
                    .col(integer("accounts"))
                    .col(integer("evaluations"))
                    .col(integer("findings"))
                    .col(integer("failures"))
                    .col(integer("raised"))
                    .col(integer("refreshed"))
                    .col(integer("cleared"))
                    .col(big_integer("snapshot_us"))
                    .col(big_integer("evaluate_us"))
                    .col(big_integer("persist_us"))
                    .col(text("rules"))
                    .foreign_key(&mut tenant_fk("rule_runs", "account_id", "accounts", ForeignKeyAction::Cascade))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("rule_runs", "started", &["organisation_id", "started_at"])).await?;

        manager
            .create_table(
                tenant_owned("rule_failures")
                    .col(uuid("run_id"))
                    .col(string_len("rule_key", 100))
                    .col(uuid("account_id"))
                    .col(timestamp_with_time_zone("at"))
                    .col(text("message"))
                    .foreign_key(&mut tenant_fk("rule_failures", "run_id", "rule_runs", ForeignKeyAction::Cascade))
                    .foreign_key(&mut tenant_fk("rule_failures", "account_id", "accounts", ForeignKeyAction::Cascade))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("rule_failures", "run", &["organisation_id", "run_id"])).await?;

        // Accounts whose inputs changed since their rules last ran (like `health_dirty`).
        manager
            .create_table(
                Table::create()
                    .table("risk_dirty")
                    .col(uuid("organisation_id"))
                    .col(uuid("account_id"))
                    .col(timestamp_with_time_zone("marked_at"))
                    .primary_key(Index::create().col("organisation_id").col("account_id"))
                    .foreign_key(&mut tenant_fk("risk_dirty", "account_id", "accounts", ForeignKeyAction::Cascade))
                    .to_owned(),
            )
            .await?;

        // When each organisation's scheduled sweep is next due: a replica claims a sweep by
        // moving `next_due_at` forward with a compare-and-set, so replicas never sweep twice.
        manager
            .create_table(
                Table::create()
                    .table("risk_sweeps")
                    .col(uuid("organisation_id").primary_key())
                    .col(timestamp_with_time_zone("next_due_at"))
                    .col(timestamp_with_time_zone_null("last_started_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_risk_sweeps_organisation")
                            .from("risk_sweeps", "organisation_id")
                            .to("organisations", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in
            ["risk_sweeps", "risk_dirty", "rule_failures", "rule_runs", "rule_settings", "risk_events", "risks"]
        {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
