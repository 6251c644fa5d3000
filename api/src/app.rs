//! Start-up as a library function: connect, migrate, build, bind. `main.rs` and the tests both
//! go through [`Application::build`].

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use bellwether_domain::{Db, db};
use bellwether_rules::engine::Engine;
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
    engine: Arc<Engine>,
    risk_sweep_interval: Option<std::time::Duration>,
    /// What the GraphiQL page prefills (`serve --demo`: the demo admin's token).
    pub graphiql: crate::graphiql::Prefill,
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
        Self::with_engine(config, db, default_engine(config.plugins.clone())?).await
    }

    /// Builds with a given rule engine (tests add rules that misbehave).
    pub async fn with_engine(config: &Config, db: Db, engine: Engine) -> anyhow::Result<Self> {
        let auth = Arc::new(Authenticator::new(&config.jwt, &db).await?);
        let worker = HealthWorker::default();
        let engine = Arc::new(engine);
        let graphiql = crate::graphiql::Prefill::default();
        let state = AppState {
            schema: graphql::schema(&config.limits, config.production, worker.clone(), engine.clone()),
            db: db.clone(),
            auth: auth.clone(),
            limits: config.limits.clone(),
            production: config.production,
            graphiql: graphiql.clone(),
            rate: Arc::new(crate::rate_limit::RateLimits::new(
                config.limits.rate_requests_per_minute,
                config.limits.rate_cost_per_minute,
            )),
        };
        let listener = TcpListener::bind(config.listen).await.with_context(|| format!("binding {}", config.listen))?;
        Ok(Self {
            graphiql,
            listener,
            routes: routes(state),
            limits: config.limits.clone(),
            db,
            auth,
            worker,
            engine,
            risk_sweep_interval: config.risk_sweep_interval,
        })
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
        let warming = {
            let (db, engine) = (self.db.clone(), self.engine.clone());
            tokio::spawn(async move {
                match engine.warm_plugins(&db).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(plugins = n, "rule plugins compiled"),
                    Err(e) => {
                        tracing::warn!(error = %e, "compiling stored rule plugins failed; they compile on first use")
                    }
                }
            })
        };
        let observing = crate::observability::start();
        let worker = tokio::spawn(signal_worker(self.db.clone(), self.worker.clone(), self.engine.clone()));
        let scheduler = self
            .risk_sweep_interval
            .map(|every| tokio::spawn(risk_scheduler(self.db.clone(), self.engine.clone(), every)));
        // The peer address keys the rate budget of tokenless introspection.
        let served = axum::serve(self.listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown)
            .await;
        worker.abort();
        warming.abort();
        observing.abort();
        if let Some(s) = scheduler {
            s.abort();
        }
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

/// Recomputes the health of accounts whose signals changed, then runs the risk rules on them:
/// woken by ingestion in this process (coalesced), and every few seconds for marks left by other
/// replicas. Off the request path; reads of `health` recompute a dirty account themselves, so
/// nobody waits for this.
async fn signal_worker(db: Db, worker: HealthWorker, engine: Arc<Engine>) {
    let mut sweep = tokio::time::interval(HEALTH_SWEEP);
    loop {
        tokio::select! {
            () = worker.0.notified() => tokio::time::sleep(HEALTH_COALESCE).await,
            _ = sweep.tick() => {},
        }
        loop {
            match bellwether_domain::health::recompute_dirty(&db, 100).await {
                Ok(0) => break,
                Ok(n) => metrics::counter!("bellwether_health_recomputes_total").increment(n as u64),
                Err(e) => {
                    tracing::error!(error = %e, source = ?std::error::Error::source(&e), "health recompute failed");
                    break;
                }
            }
        }
        loop {
            match engine.evaluate_dirty(&db, RISK_BATCH).await {
                Ok(0) => break,
                Ok(n) => metrics::counter!("bellwether_risk_evaluations_total").increment(n as u64),
                Err(e) => {
                    tracing::error!(error = %e, source = ?std::error::Error::source(&e), "risk evaluation failed");
                    break;
                }
            }
        }
    }
}

/// Accounts the signal worker evaluates per step.
const RISK_BATCH: u64 = 500;
/// How long runs stay in the run log.
const RUN_RETENTION_DAYS: i64 = 30;

/// Runs each organisation's scheduled sweep when it is due. Every replica checks; the lease in
/// the database lets exactly one of them run each sweep.
async fn risk_scheduler(db: Db, engine: Arc<Engine>, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every.min(std::time::Duration::from_secs(60)));
    let every = chrono::Duration::from_std(every).unwrap_or(chrono::Duration::hours(1));
    loop {
        tick.tick().await;
        let orgs = match bellwether_domain::risks::runs::organisations(&db).await {
            Ok(o) => o,
            Err(e) => {
                tracing::error!(error = %e, "risk sweep: listing organisations failed");
                continue;
            }
        };
        for org in orgs {
            let now = bellwether_domain::values::now();
            match bellwether_domain::risks::runs::claim_sweep(&db, org, now, now + every).await {
                Ok(false) => continue,
                Ok(true) => {}
                Err(e) => {
                    tracing::error!(error = %e, %org, "risk sweep: claiming failed");
                    continue;
                }
            }
            match engine.sweep(&db, org).await {
                Ok(r) => {
                    crate::observability::sweep_done(&r.record);
                    tracing::info!(
                    %org,
                    accounts = r.record.accounts,
                    raised = r.record.applied.raised,
                    cleared = r.record.applied.cleared,
                    failures = r.record.failures,
                    ms = r.record.duration_us / 1000,
                    "risk sweep done"
                    )
                }
                Err(e) => tracing::error!(error = %e, %org, "risk sweep failed"),
            }
            let cutoff = now - chrono::Duration::days(RUN_RETENTION_DAYS);
            if let Err(e) = bellwether_domain::risks::runs::prune(&db, org, cutoff).await {
                tracing::error!(error = %e, %org, "pruning the run log failed");
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

/// The built-in rules plus a plugin host with these limits.
pub fn default_engine(limits: bellwether_rules::plugin::Limits) -> anyhow::Result<Engine> {
    let host = bellwether_rules::plugin::PluginHost::new(limits)
        .map_err(|e| anyhow::anyhow!("starting the plugin host: {e:#}"))?;
    Ok(Engine::default().with_plugins(host))
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted() {
        assert_eq!(super::redact("postgres://app:secret@db/bw"), "postgres://app:***@db/bw");
        assert_eq!(super::redact("sqlite://bellwether.db"), "sqlite://bellwether.db");
    }
}
