//! What operators see of a running server: Prometheus metrics at `/metrics` (recorded with the
//! `metrics` crates), a request id on every request (taken from `x-request-id` when it is sane,
//! made otherwise), returned in the response and carried by every log line of the request, and
//! one info-level line per request (operation, organisation, status, duration).

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing::Instrument as _;

use crate::http::AppState;

/// The request id header, read and written.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Seconds; from a fast cache hit to the request timeout.
const LATENCY_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// The process's recorder, installed on first use (tests start several servers in a process;
/// they share it).
fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new().set_buckets(LATENCY_BUCKETS).ok()?;
            match builder.install_recorder() {
                Ok(h) => Some(h),
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed; /metrics stays empty");
                    None
                }
            }
        })
        .as_ref()
}

/// Installs the recorder and drains histogram samples every few seconds, so memory stays
/// bounded whether or not anyone scrapes.
pub fn start() -> tokio::task::JoinHandle<()> {
    let handle = handle();
    describe();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
        loop {
            tick.tick().await;
            if let Some(h) = handle {
                h.run_upkeep();
            }
        }
    })
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!("bellwether_http_requests_total", "HTTP requests by route, GraphQL operation and status.");
    describe_histogram!(
        "bellwether_http_request_duration_seconds",
        metrics::Unit::Seconds,
        "HTTP request latency by route and GraphQL operation."
    );
    describe_counter!("bellwether_graphql_errors_total", "GraphQL errors in responses, by extensions.code.");
    describe_counter!(
        "bellwether_graphql_refusals_total",
        "Documents refused before validation, by the limit they passed (depth, selections, tokens...)."
    );
    describe_counter!("bellwether_rate_limited_total", "Requests refused with 429 by the per-user rate limits.");
    describe_gauge!("bellwether_db_pool_connections", "Database connections of the pool, by state (idle, in_use).");
    describe_gauge!("bellwether_worker_queue_depth", "Accounts waiting for the background worker, by queue.");
    describe_counter!("bellwether_health_recomputes_total", "Accounts whose health the worker recomputed.");
    describe_counter!("bellwether_risk_evaluations_total", "Accounts the worker evaluated with the risk rules.");
    describe_counter!("bellwether_risk_sweeps_total", "Scheduled risk sweeps run by this replica.");
    describe_histogram!("bellwether_risk_sweep_duration_seconds", metrics::Unit::Seconds, "Scheduled sweep time.");
    describe_counter!("bellwether_risk_sweep_accounts_total", "Accounts covered by scheduled sweeps.");
    describe_counter!("bellwether_risks_raised_total", "Risks raised by scheduled sweeps.");
    describe_counter!("bellwether_risks_cleared_total", "Risks cleared by scheduled sweeps.");
    describe_counter!("bellwether_rule_failures_total", "Rule evaluations that failed during scheduled sweeps.");
    describe_counter!("bellwether_plugin_evaluations_total", "Rule plugin evaluations during scheduled sweeps.");
    describe_counter!("bellwether_plugin_failures_total", "Rule plugin evaluations that failed (trap, fuel, time...).");
    describe_counter!("bellwether_plugin_fuel_total", "Instructions rule plugins used during scheduled sweeps.");
}

/// `GET /metrics`: the Prometheus text format. Pool and queue gauges are read at scrape time.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let Some(handle) = handle() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "metrics are not available").into_response();
    };
    let (open, idle) = bellwether_domain::db::pool_use(&state.db);
    metrics::gauge!("bellwether_db_pool_connections", "state" => "idle").set(f64::from(idle));
    metrics::gauge!("bellwether_db_pool_connections", "state" => "in_use").set(f64::from(open.saturating_sub(idle)));
    // The queue depths cost two counts: read at most every few seconds, however often scraped.
    static READ_AT: Mutex<Option<Instant>> = Mutex::new(None);
    let due = {
        let mut at = READ_AT.lock().unwrap_or_else(|p| p.into_inner());
        let due = at.is_none_or(|t| t.elapsed() >= std::time::Duration::from_secs(5));
        if due {
            *at = Some(Instant::now());
        }
        due
    };
    if due {
        match bellwether_domain::db::queue_depths(&state.db).await {
            Ok((health, risks)) => {
                metrics::gauge!("bellwether_worker_queue_depth", "queue" => "health").set(health as f64);
                metrics::gauge!("bellwether_worker_queue_depth", "queue" => "risk_rules").set(risks as f64);
            }
            Err(e) => tracing::warn!(error = %e, "reading the worker queues for /metrics failed"),
        }
    }
    ([(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"))], handle.render())
        .into_response()
}

/// What the GraphQL handler tells the request scope about a request, through the response's
/// extensions.
#[derive(Clone, Debug, Default)]
pub struct Handled {
    /// The operation's name as a metrics label (see [`operation_label`]).
    pub operation: String,
    /// The caller's organisation, for the log line.
    pub organisation: Option<String>,
}

/// Most distinct operation names used as labels; later ones are counted as `other` (clients
/// choose names, and each label value is a time series kept forever).
const MAX_OPERATION_LABELS: usize = 200;

/// An operation name fit to be a metrics label: a GraphQL name of at most 64 characters, one
/// of the first [`MAX_OPERATION_LABELS`] seen; `anonymous` without a name.
pub fn operation_label(name: Option<&str>) -> String {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let Some(name) = name else { return "anonymous".into() };
    let valid = (1..=64).contains(&name.len())
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return "invalid".into();
    }
    let mut seen = SEEN.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    if !seen.contains(name) {
        if seen.len() >= MAX_OPERATION_LABELS {
            return "other".into();
        }
        seen.insert(name.to_owned());
    }
    name.to_owned()
}

/// A client's request id is kept when it is short and plain (it ends up in logs); otherwise a
/// new one is made.
fn request_id(req: &Request) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=128).contains(&v.len())
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
}

/// The outermost middleware: request id, the request's span, metrics and the log line.
pub async fn request_scope(req: Request, next: Next) -> Response {
    let id = request_id(&req);
    let route: &'static str = match req.uri().path() {
        "/graphql" => "/graphql",
        "/healthz" => "/healthz",
        "/readyz" => "/readyz",
        "/metrics" => "/metrics",
        p if p.starts_with("/graphiql/") => "/graphiql",
        _ => "other",
    };
    let probe = matches!(route, "/healthz" | "/readyz" | "/metrics");
    let span = tracing::info_span!(
        "request",
        id = %id,
        method = %req.method(),
        path = %req.uri().path(),
        operation = tracing::field::Empty,
        org = tracing::field::Empty,
    );
    let started = Instant::now();
    let mut res = next.run(req).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let status = res.status().as_u16();
    let handled = res.extensions_mut().remove::<Handled>().unwrap_or_default();
    let operation = if handled.operation.is_empty() { "-".to_owned() } else { handled.operation };
    metrics::counter!(
        "bellwether_http_requests_total",
        "route" => route,
        "operation" => operation.clone(),
        "status" => status.to_string()
    )
    .increment(1);
    metrics::histogram!("bellwether_http_request_duration_seconds", "route" => route, "operation" => operation.clone())
        .record(elapsed.as_secs_f64());
    span.record("operation", operation.as_str());
    if let Some(org) = &handled.organisation {
        span.record("org", org.as_str());
    }
    let ms = elapsed.as_secs_f64() * 1e3;
    span.in_scope(|| {
        if probe {
            tracing::debug!(status, ms, "request done");
        } else {
            tracing::info!(status, ms, "request done");
        }
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID.clone(), v);
    }
    res
}

/// Counts the codes of a response's errors.
pub fn count_errors(errors: &[async_graphql::ServerError]) {
    for e in errors {
        let code = e
            .extensions
            .as_ref()
            .and_then(|x| x.get("code"))
            .and_then(|v| if let async_graphql::Value::String(s) = v { Some(s.clone()) } else { None })
            .unwrap_or_else(|| "NONE".into());
        metrics::counter!("bellwether_graphql_errors_total", "code" => code).increment(1);
    }
}

/// Records what a scheduled sweep did.
pub fn sweep_done(record: &bellwether_domain::risks::runs::RunRecord) {
    metrics::counter!("bellwether_risk_sweeps_total").increment(1);
    metrics::histogram!("bellwether_risk_sweep_duration_seconds").record(record.duration_us as f64 / 1e6);
    metrics::counter!("bellwether_risk_sweep_accounts_total").increment(u64::from(record.accounts));
    metrics::counter!("bellwether_risks_raised_total").increment(u64::from(record.applied.raised));
    metrics::counter!("bellwether_risks_cleared_total").increment(u64::from(record.applied.cleared));
    metrics::counter!("bellwether_rule_failures_total").increment(u64::from(record.failures));
    for rule in record.rules.iter().filter(|r| r.fuel > 0 || r.peak_memory > 0) {
        metrics::counter!("bellwether_plugin_evaluations_total").increment(u64::from(rule.evaluations));
        metrics::counter!("bellwether_plugin_failures_total").increment(u64::from(rule.failures));
        metrics::counter!("bellwether_plugin_fuel_total").increment(rule.fuel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_labels_are_plain_names_and_bounded() {
        assert_eq!(operation_label(None), "anonymous");
        for bad in ["", "has space", "9lives", "quote\"", &"x".repeat(65)] {
            assert_eq!(operation_label(Some(bad)), "invalid", "{bad:?}");
        }
        assert_eq!(operation_label(Some("Tour")), "Tour");
        for i in 0..MAX_OPERATION_LABELS {
            operation_label(Some(&format!("Op{i}")));
        }
        // Names seen before keep their label; new ones past the bound become `other`.
        assert_eq!(operation_label(Some("Tour")), "Tour");
        assert_eq!(operation_label(Some("OneTooMany")), "other");
    }
}
