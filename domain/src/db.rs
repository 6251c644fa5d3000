//! Connecting to the database (SQLite or PostgreSQL, chosen by URL) and applying migrations.

use std::time::Duration;

use bellwether_migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};

use crate::Result;

/// Opens a connection pool. SQLite files are created if missing and run in WAL mode with
/// foreign keys enforced; `sqlite::memory:` is refused because every pooled connection would
/// see its own empty database.
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection> {
    if url.starts_with("sqlite::memory") || url.contains(":memory:") {
        return Err(crate::Error::invalid(
            &["database_url"],
            "in-memory SQLite is not supported (each pooled connection would get its own database); use a file",
        ));
    }
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| {
            o.create_if_missing(true)
                .foreign_keys(true)
                .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
        });
    Ok(Database::connect(options).await?)
}

/// Applies every pending migration, then gives organisations the default rows that arrived
/// with later features (default playbooks); a no-op when everything is current.
pub async fn migrate(db: &DatabaseConnection) -> Result<()> {
    Migrator::up(db, None).await?;
    crate::playbooks::ensure_defaults(db).await
}

/// Checks the database answers (for readiness probes).
pub async fn ping(db: &DatabaseConnection) -> Result<()> {
    db.execute_unprepared("SELECT 1").await?;
    Ok(())
}
