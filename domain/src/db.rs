//! Connecting to the database (SQLite or PostgreSQL, chosen by URL) and applying migrations.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bellwether_migrations::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr, SqliteTransactionMode, TransactionError,
    TransactionOptions, TransactionSession, TransactionTrait,
};

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

/// The connection pool's use: connections open and, of those, idle.
pub fn pool_use(db: &DatabaseConnection) -> (u32, u32) {
    use sea_orm::DatabaseConnectionType as T;
    match &db.inner {
        T::SqlxSqlitePoolConnection(_) => {
            let p = db.get_sqlite_connection_pool();
            (p.size(), p.num_idle() as u32)
        }
        T::SqlxPostgresPoolConnection(_) => {
            let p = db.get_postgres_connection_pool();
            (p.size(), p.num_idle() as u32)
        }
        _ => (0, 0),
    }
}

/// Accounts waiting for the background worker, across organisations: (health recomputes,
/// rule evaluations). For operators' metrics; reveals no tenant's data.
pub async fn queue_depths(db: &DatabaseConnection) -> Result<(u64, u64)> {
    use sea_orm::{EntityTrait, PaginatorTrait};
    // Deliberately across organisations: the depth of the shared work queues.
    let health = crate::entities::health_dirty::Entity::find().count(db).await?;
    let risks = crate::entities::risk_dirty::Entity::find().count(db).await?;
    Ok((health, risks))
}

/// Starts a transaction that will write. On SQLite it begins `IMMEDIATE`, taking the write lock
/// up front (waiting for it under the busy timeout): a deferred transaction that reads first
/// holds a snapshot and cannot upgrade to a writer once another connection has committed since
/// (SQLITE_BUSY at once, whatever the timeout). PostgreSQL ignores the mode.
pub async fn begin_write<C: TransactionTrait>(db: &C) -> std::result::Result<C::Transaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}

/// Runs `body` in a write transaction ([`begin_write`]): committed when it returns `Ok`,
/// rolled back when it returns `Err`. Every multi-statement write goes through here or
/// [`begin_write`], so reads inside a write transaction are always safe on SQLite.
pub async fn write<C, F, T, E>(db: &C, body: F) -> std::result::Result<T, TransactionError<E>>
where
    C: TransactionTrait,
    F: for<'c> FnOnce(&'c C::Transaction) -> Pin<Box<dyn Future<Output = std::result::Result<T, E>> + Send + 'c>>
        + Send,
    T: Send,
    E: std::fmt::Display + std::fmt::Debug + Send,
{
    let tx = begin_write(db).await.map_err(TransactionError::Connection)?;
    match body(&tx).await {
        Ok(value) => {
            tx.commit().await.map_err(TransactionError::Connection)?;
            Ok(value)
        }
        Err(e) => {
            // Dropping an open transaction rolls it back too; an explicit rollback reports
            // nothing the caller could act on, so its error gives way to the body's.
            let _ = tx.rollback().await;
            Err(TransactionError::Transaction(e))
        }
    }
}
