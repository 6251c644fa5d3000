//! Start-up as a library function: connect, migrate, build, bind. `main.rs` and the tests both
//! go through [`Application::build`].

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use bellwether_domain::{Db, db};
use tokio::net::TcpListener;

use crate::auth::Authenticator;
use crate::config::{Config, Limits};
use crate::graphql;
use crate::graphql::signals::HealthWorker;
use crate::http::{AppState, routes, with_layers};

/// A server bound to its address, ready to run.
pub struct Application {
    listener: TcpListener,
    routes: Router,
    limits: Limits,
    pub db: Db,
    pub auth: Arc<Authenticator>,
    worker: HealthWorker,
}

/// Opens the configured database and applies pending migrations.
pub async fn open_database(config: &Config) -> anyhow::Result<Db> {
    let db = db::connect(&config.database_url, config.limits.db_max_connections)
        .await
        .with_context(|| format!("connecting to {}", redact(&config.database_url)))?;
    db::migrate(&db).await.context("applying migrations")?;
    Ok(db)
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl Application {
    /// Connects, migrates and binds `config.listen` (port 0 picks a free port).
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        let db = open_database(config).await?;
        Self::with_database(config, db).await
    }

    /// Builds on an already open, migrated database.
    pub async fn with_database(config: &Config, db: Db) -> anyhow::Result<Self> {
        let auth = Arc::new(Authenticator::new(&config.jwt, &db).await?);
        let worker = HealthWorker::default();
        let state = AppState {
            schema: graphql::schema(&config.limits, config.production, worker.clone()),
            db: db.clone(),
            auth: auth.clone(),
            limits: config.limits.clone(),
        };
        let listener = TcpListener::bind(config.listen).await.with_context(|| format!("binding {}", config.listen))?;
        Ok(Self { listener, routes: routes(state), limits: config.limits.clone(), db, auth, worker })
    }

    /// Adds routes (tests use this to mount fault injectors); the standard layers still apply.
    pub fn merge(mut self, extra: Router) -> Self {
        self.routes = self.routes.merge(extra);
        self
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let app = with_layers(self.routes, &self.limits);
        let worker = tokio::spawn(health_worker(self.db.clone(), self.worker.clone()));
        let served = axum::serve(self.listener, app).with_graceful_shutdown(shutdown).await;
        worker.abort();
        served?;
        Ok(())
    }
}

/// How often the worker looks for dirty accounts left by other replicas.
const HEALTH_SWEEP: std::time::Duration = std::time::Duration::from_secs(5);
/// How long the worker lets signals accumulate after a wake-up before recomputing, so a bulk
/// load recomputes each touched account once per window instead of once per batch (on two
/// cores, recomputing after every batch halved ingestion throughput).
const HEALTH_COALESCE: std::time::Duration = std::time::Duration::from_millis(250);

/// Recomputes the health of accounts whose signals changed: woken by ingestion in this process
/// (coalesced), and every few seconds for marks left by other replicas. Off the request path;
/// reads of `health` recompute a dirty account themselves, so nobody waits for this.
async fn health_worker(db: Db, worker: HealthWorker) {
    let mut sweep = tokio::time::interval(HEALTH_SWEEP);
    loop {
        tokio::select! {
            () = worker.0.notified() => tokio::time::sleep(HEALTH_COALESCE).await,
            _ = sweep.tick() => {},
        }
        loop {
            match bellwether_domain::health::recompute_dirty(&db, 100).await {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %e, source = ?std::error::Error::source(&e), "health recompute failed");
                    break;
                }
            }
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted() {
        assert_eq!(super::redact("postgres://app:secret@db/bw"), "postgres://app:***@db/bw");
        assert_eq!(super::redact("sqlite://bellwether.db"), "sqlite://bellwether.db");
    }
}
