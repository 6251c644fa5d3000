//! The follow-through on risks: playbooks (templates, versioned), action plans made from them
//! with their stakeholders and actions, the per-risk communication log, post-mortems and the
//! feedback items they route to teams.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m0001_foundation::{audited, index, tenant_fk, tenant_owned};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // A playbook: its key (what rules suggest), whether it applies itself when a risk that
        // suggests it is validated, and which of its immutable versions is current.
        manager
            .create_table(audited(
                tenant_owned("playbooks")
                    .col(string_len("key", 100))
                    .col(integer("current_version"))
                    .col(boolean("auto_apply").default(false))
                    .col(timestamp_with_time_zone_null("archived_at"))
                    .col(uuid_null("created_by"))
                    .foreign_key(&mut tenant_fk("playbooks", "created_by", "users", ForeignKeyAction::Restrict))
                    .index(Index::create().name("ux_playbooks_key").unique().col("organisation_id").col("key"))
                    .to_owned(),
            ))
            .await?;
        // What a playbook says, frozen per version: plans keep the version they were made from.
        manager
            .create_table(
                tenant_owned("playbook_versions")
                    .col(uuid("playbook_id"))
                    .col(integer("number"))
                    .col(string_len("name", 200))
                    .col(text("description"))
                    .col(string_len_null("category", 32))
                    // JSON array of rule keys.
                    .col(text("rule_keys"))
                    .col(text("desired_outcome"))
                    // JSON array of steps (title, description, owner role, due offset, client).
                    .col(text("steps"))
                    .col(uuid_null("created_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut tenant_fk(
                        "playbook_versions",
                        "playbook_id",
                        "playbooks",
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut tenant_fk("playbook_versions", "created_by", "users", ForeignKeyAction::Restrict))
                    .index(
                        Index::create()
                            .name("ux_playbook_versions_number")
                            .unique()
                            .col("organisation_id")
                            .col("playbook_id")
                            .col("number"),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(audited(
                tenant_owned("action_plans")
                    .col(uuid("risk_id"))
                    .col(uuid("account_id"))
                    .col(uuid("playbook_id"))
                    .col(uuid("playbook_version_id"))
                    .col(text("desired_outcome"))
                    .col(string_len("update_audience", 16))
                    .col(string_len("update_channel", 16))
                    .col(integer("update_cadence_days"))
                    .col(uuid_null("created_by"))
                    .foreign_key(&mut tenant_fk("action_plans", "risk_id", "risks", ForeignKeyAction::Cascade))
                    .foreign_key(&mut tenant_fk("action_plans", "account_id", "accounts", ForeignKeyAction::Restrict))
                    .foreign_key(&mut tenant_fk("action_plans", "playbook_id", "playbooks", ForeignKeyAction::Restrict))
                    .foreign_key(&mut tenant_fk(
                        "action_plans",
                        "playbook_version_id",
                        "playbook_versions",
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut tenant_fk("action_plans", "created_by", "users", ForeignKeyAction::Restrict))
                    // One plan per playbook and risk: applying the same playbook twice is refused.
                    .index(
                        Index::create()
                            .name("ux_action_plans_risk_playbook")
                            .unique()
                            .col("organisation_id")
                            .col("risk_id")
                            .col("playbook_id"),
                    )
                    .to_owned(),
            ))
            .await?;
        manager.create_index(index("action_plans", "playbook", &["organisation_id", "playbook_id"])).await?;

        // Internal (users) and client (contacts) stakeholders of a plan.
        for (table, column, target) in [("plan_users", "user_id", "users"), ("plan_contacts", "contact_id", "contacts")]
        {
            manager
                .create_table(
                    Table::create()
                        .table(table)
                        .col(uuid("organisation_id"))
                        .col(uuid("plan_id"))
                        .col(uuid(column))
                        .primary_key(Index::create().col("organisation_id").col("plan_id").col(column))
                        .foreign_key(&mut tenant_fk(table, "plan_id", "action_plans", ForeignKeyAction::Cascade))
                        .foreign_key(&mut tenant_fk(table, column, target, ForeignKeyAction::Restrict))
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(audited(
                tenant_owned("plan_actions")
                    .col(uuid("plan_id"))
                    .col(uuid("risk_id"))
                    .col(uuid("account_id"))
                    // The playbook step it came from (0-based), null for actions added later.
                    .col(integer_null("step"))
                    .col(string_len("title", 300))
                    .col(text("description"))
                    .col(string_len_null("owner_role", 32))
                    .col(uuid("owner_id"))
                    .col(date("due_on"))
                    .col(boolean("involves_client"))
                    .col(string_len("status", 16))
                    .col(timestamp_with_time_zone_null("closed_at"))
                    .col(uuid_null("closed_by"))
                    .col(text_null("note"))
                    .foreign_key(&mut tenant_fk("plan_actions", "plan_id", "action_plans", ForeignKeyAction::Cascade))
                    .foreign_key(&mut tenant_fk("plan_actions", "risk_id", "risks", ForeignKeyAction::Cascade))
                    .foreign_key(&mut tenant_fk("plan_actions", "account_id", "accounts", ForeignKeyAction::Restrict))
                    .foreign_key(&mut tenant_fk("plan_actions", "owner_id", "users", ForeignKeyAction::Restrict))
                    .foreign_key(&mut tenant_fk("plan_actions", "closed_by", "users", ForeignKeyAction::Restrict))
                    .to_owned(),
            ))
            .await?;
        manager.create_index(index("plan_actions", "plan", &["organisation_id", "plan_id"])).await?;
        manager.create_index(index("plan_actions", "due", &["organisation_id", "status", "due_on"])).await?;
        manager
            .create_index(index("plan_actions", "owner", &["organisation_id", "owner_id", "status", "due_on"]))
            .await?;
        manager.create_index(index("plan_actions", "risk", &["organisation_id", "risk_id", "status"])).await?;

        // The communication log: who told whom (internal or client) what, and when.
        manager
            .create_table(
                tenant_owned("risk_updates")
                    .col(uuid("risk_id"))
                    .col(uuid("account_id"))
                    .col(string_len("audience", 16))
                    .col(string_len("channel", 16))
                    .col(text("body"))
                    .col(uuid("author_id"))
                    .col(timestamp_with_time_zone("at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut tenant_fk("risk_updates", "risk_id", "risks", ForeignKeyAction::Cascade))
                    .foreign_key(&mut tenant_fk("risk_updates", "account_id", "accounts", ForeignKeyAction::Restrict))
                    .foreign_key(&mut tenant_fk("risk_updates", "author_id", "users", ForeignKeyAction::Restrict))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("risk_updates", "risk", &["organisation_id", "risk_id", "audience", "at"])).await?;

        // A post-mortem of a closed risk (at most one per risk) or of a churn (one per account
        // and churn date).
        manager
            .create_table(audited(
                tenant_owned("post_mortems")
                    .col(uuid("account_id"))
                    .col(uuid_null("risk_id"))
                    .col(date_null("churned_on"))
                    .col(string_len("outcome", 16))
                    .col(timestamp_with_time_zone("outcome_at"))
                    .col(string_len_null("category", 32))
                    .col(string_len("root_cause", 32))
                    .col(text("summary"))
                    .col(text("what_happened"))
                    .col(text("what_worked"))
                    .col(text("what_to_improve"))
                    .col(uuid("author_id"))
                    .foreign_key(&mut tenant_fk("post_mortems", "account_id", "accounts", ForeignKeyAction::Restrict))
                    .foreign_key(&mut tenant_fk("post_mortems", "risk_id", "risks", ForeignKeyAction::Restrict))
                    .foreign_key(&mut tenant_fk("post_mortems", "author_id", "users", ForeignKeyAction::Restrict))
                    .index(Index::create().name("ux_post_mortems_risk").unique().col("organisation_id").col("risk_id"))
                    .index(
                        Index::create()
                            .name("ux_post_mortems_churn")
                            .unique()
                            .col("organisation_id")
                            .col("account_id")
                            .col("churned_on"),
                    )
                    .to_owned(),
            ))
            .await?;
        manager.create_index(index("post_mortems", "root_cause", &["organisation_id", "root_cause"])).await?;

        manager
            .create_table(audited(
                tenant_owned("feedback_items")
                    .col(uuid("post_mortem_id"))
                    .col(string_len("team", 32))
                    .col(string_len("title", 300))
                    .col(text("detail"))
                    .col(string_len("status", 16))
                    .col(uuid("created_by"))
                    .col(timestamp_with_time_zone_null("closed_at"))
                    .foreign_key(&mut tenant_fk(
                        "feedback_items",
                        "post_mortem_id",
                        "post_mortems",
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut tenant_fk("feedback_items", "created_by", "users", ForeignKeyAction::Restrict))
                    .to_owned(),
            ))
            .await?;
        manager.create_index(index("feedback_items", "team", &["organisation_id", "team", "status"])).await?;
        manager.create_index(index("feedback_items", "post_mortem", &["organisation_id", "post_mortem_id"])).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "feedback_items",
            "post_mortems",
            "risk_updates",
            "plan_actions",
            "plan_contacts",
            "plan_users",
            "action_plans",
            "playbook_versions",
            "playbooks",
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
