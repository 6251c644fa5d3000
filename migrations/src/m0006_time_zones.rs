//! Each organisation's time zone (an IANA name): the zone its dates are read in, so "today",
//! deadlines and overdue follow the organisation's calendar rather than UTC's.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Existing organisations keep the calendar they had: UTC.
        manager
            .alter_table(
                Table::alter().table("organisations").add_column(string_len("time_zone", 64).default("UTC")).to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("organisations").drop_column("time_zone").to_owned()).await
    }
}
