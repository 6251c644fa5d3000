//! Schema migrations for Bellwether, written once with sea-query's schema builder so the same
//! migration runs on SQLite and PostgreSQL.
//!
//! Tenancy is enforced by the schema as well as by the code: every tenant-owned table carries
//! `organisation_id`, exposes a unique `(organisation_id, id)` pair, and every reference between
//! tenant-owned rows is a *composite* foreign key over `(organisation_id, <ref>_id)`. A row can
//! therefore never point at another organisation's row, whatever the application does.

pub use sea_orm_migration::MigratorTrait;
use sea_orm_migration::prelude::*;

mod m0001_foundation;
mod m0002_signals_health;
mod m0003_risks;
mod m0004_plugins;
mod m0005_playbooks;
mod m0006_time_zones;
mod m0007_attributes;

/// Every migration, in order.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_foundation::Migration),
            Box::new(m0002_signals_health::Migration),
            Box::new(m0003_risks::Migration),
            Box::new(m0004_plugins::Migration),
            Box::new(m0005_playbooks::Migration),
            Box::new(m0006_time_zones::Migration),
            Box::new(m0007_attributes::Migration),
        ]
    }
}
