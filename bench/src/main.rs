//! Bellwether benchmarks (timing goals live here, never in tests).
//!
//! `cargo run --release -p bellwether-bench -- ingest [--backend sqlite|postgres]`
//!   Metric points per second through the `ingestMetricPoints` mutation of the real server
//!   over HTTP, for batches of 1,000 and 5,000 items.
//! `cargo run --release -p bellwether-bench -- health [--backend sqlite|postgres]`
//!   Health recompute time for an account with a year of daily data on 20 metrics, split into
//!   loading the snapshot and evaluating it.
//! `cargo run --release -p bellwether-bench -- risk [--backend sqlite|postgres] [--accounts N]`
//!   A synthetic portfolio of N accounts with a year of daily signals; two sweeps of every
//!   account by the risk rules (the first raises the risks, the second is the steady state),
//!   split into snapshot loading, evaluation and persisting; then the latency from ingesting a
//!   signal over HTTP to the persisted risk, through the real server's background worker.
//! `cargo run --release -p bellwether-bench -- plans [--backend sqlite|postgres] [--accounts N]`
//!   The follow-through at portfolio scale: a playbook applied to every open risk of a synthetic
//!   portfolio, the first step of every plan overdue, a fifth of the risks resolved with a
//!   post-mortem; then the lists a team opens every morning, timed over HTTP.
//! `cargo run --release -p bellwether-bench -- query-cost`
//!   What hostile and large documents cost the real server over HTTP: fragment bombs of 4 to 10
//!   levels (time to refusal), the largest legal fragment-heavy document and a document at the
//!   token limit (time to answer), the standard introspection query, and `/healthz` latency
//!   while 16 ten-level bombs arrive at once.

mod churn;

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bellwether_domain::health::{self, scorecard};
use bellwether_domain::signals::AccountRef;
use bellwether_domain::signals::metrics::{self, MetricSpec, NewMetricPoint};
use bellwether_domain::{AccountId, Actor, MetricAggregation, MetricDirection, MetricUnit, OrganisationId, Role};
use bellwether_tests::{Backend, TestServer, fragment_bomb, global_uuid};
use chrono::Utc;
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::{Value, json};

#[derive(Parser)]
#[command(about = "Bellwether benchmarks")]
struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Subcommand)]
enum What {
    /// Warning quality on two public churn data sets (fetched from PyPI, pinned by hash),
    /// loaded through `bellwether import` and measured by `warningQuality`, beside baselines
    /// and logistic regressions computed outside the product.
    Churn {
        /// Where the data sets are kept (default: target/churn-data).
        #[arg(long)]
        data: Option<std::path::PathBuf>,
    },
    /// Rule plugins: compile and instantiation cost, per-evaluation overhead, native vs plugin,
    /// and plugins in a sweep (SQLite).
    Plugin {
        /// Accounts in the sweep portfolio.
        #[arg(long, default_value_t = 10_000)]
        accounts: usize,
        /// Evaluations per micro-benchmark.
        #[arg(long, default_value_t = 20_000)]
        iterations: usize,
    },
    /// Ingestion throughput through the bulk mutation.
    Ingest {
        #[arg(long, value_enum, default_value = "sqlite")]
        backend: Db,
        /// Batches per batch size (after one warm-up batch).
        #[arg(long, default_value_t = 10)]
        batches: usize,
        /// Call the domain ingestion directly, without HTTP and GraphQL (to see their share).
        #[arg(long)]
        direct: bool,
    },
    /// Bulk history over HTTP: `upsertAccounts` (new accounts with three custom attributes,
    /// then a replay) and `recordInteractions` (new ORDER interactions).
    Bulk {
        #[arg(long, value_enum, default_value = "sqlite")]
        backend: Db,
        /// Batches per mutation (after one warm-up batch).
        #[arg(long, default_value_t = 5)]
        batches: usize,
    },
    /// Risk sweeps over a synthetic portfolio, and signal-to-risk latency.
    Risk {
        #[arg(long, value_enum, default_value = "sqlite")]
        backend: Db,
        /// Accounts in the portfolio.
        #[arg(long, default_value_t = 10_000)]
        accounts: usize,
        /// Days of daily usage per account.
        #[arg(long, default_value_t = 365)]
        days: i64,
        /// Signal-to-risk trials.
        #[arg(long, default_value_t = 20)]
        trials: usize,
    },
    /// Applying playbooks, post-mortems, and the overdue and lessons queries at portfolio scale.
    Plans {
        #[arg(long, value_enum, default_value = "sqlite")]
        backend: Db,
        /// Accounts in the portfolio (their warning signs raise about 1.3 risks per account).
        #[arg(long, default_value_t = 10_000)]
        accounts: usize,
        /// Timed runs of each query.
        #[arg(long, default_value_t = 20)]
        runs: usize,
    },
    /// What hostile and large documents cost: refusal times, healthz under a bomb storm.
    QueryCost {
        /// Timed runs per document.
        #[arg(long, default_value_t = 20)]
        runs: usize,
    },
    /// Health recompute time for one account with a year of daily data on 20 metrics.
    Health {
        #[arg(long, value_enum, default_value = "sqlite")]
        backend: Db,
        /// Timed recomputes.
        #[arg(long, default_value_t = 50)]
        runs: usize,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Db {
    Sqlite,
    Postgres,
}

impl From<Db> for Backend {
    fn from(d: Db) -> Self {
        match d {
            Db::Sqlite => Backend::Sqlite,
            Db::Postgres => Backend::Postgres,
        }
    }
}

/// The same allocator as the `bellwether` binary, so the in-process server behaves alike.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const METRICS: usize = 20;
const ACCOUNTS: usize = 50;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Args::parse().what {
        What::Ingest { backend, batches, direct } => ingest(backend.into(), batches, direct).await,
        What::Bulk { backend, batches } => bulk(backend.into(), batches).await,
        What::Health { backend, runs } => health_recompute(backend.into(), runs).await,
        What::Risk { backend, accounts, days, trials } => risk(backend.into(), accounts, days, trials).await,
        What::Plugin { accounts, iterations } => plugin(accounts, iterations).await,
        What::Plans { backend, accounts, runs } => plans(backend.into(), accounts, runs).await,
        What::QueryCost { runs } => query_cost(runs).await,
        What::Churn { data } => churn::run(data).await,
    }
}

/// Median and maximum of timings, in milliseconds.
fn p50_max(mut t: Vec<Duration>) -> (f64, f64) {
    t.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    (ms(t[t.len() / 2]), ms(*t.last().unwrap_or(&Duration::ZERO)))
}

async fn query_cost(runs: usize) -> anyhow::Result<()> {
    let s = start(Backend::Sqlite).await?;
    let t = s.tenant("bench").await;
    let viewer = s.member(&t, "VIEWER", "Bench Viewer").await;
    let post = |q: String| {
        let (client, url, token) = (s.client.clone(), s.url.clone(), viewer.token.clone());
        async move {
            let started = Instant::now();
            let res = client.post(url).bearer_auth(token).json(&json!({ "query": q })).send().await?;
            let body: Value = res.json().await?;
            anyhow::Ok((started.elapsed(), body))
        }
    };
    println!("document | bytes | outcome | p50 ms | max ms");
    let mut docs: Vec<(String, String)> =
        (4..=10).map(|l| (format!("fragment bomb, {l} levels of 10"), fragment_bomb(l, 10))).collect();
    docs.push(("largest legal bomb (5 levels of 8: 4,096 fields)".into(), fragment_bomb(5, 8)));
    docs.push(("15,000 tokens of plain fields".into(), format!("{{ viewer {{ {} }} }}", "id ".repeat(14_990))));
    docs.push((
        "standard introspection query".into(),
        include_str!("../../tests/fixtures/introspection.graphql").to_owned(),
    ));
    for (name, q) in docs {
        let mut timings = Vec::new();
        let mut outcome = String::new();
        for _ in 0..runs {
            let (elapsed, body) = post(q.clone()).await?;
            timings.push(elapsed);
            outcome = match body["errors"][0]["extensions"]["limit"].as_str() {
                Some(limit) => format!("refused ({limit})"),
                None if body["errors"].is_array() => format!("error: {}", body["errors"][0]["message"]),
                None => "answered".into(),
            };
        }
        let (p50, max) = p50_max(timings);
        println!("{name} | {} | {outcome} | {p50:.2} | {max:.2}", q.len());
    }
    // A storm: 16 ten-level bombs at once, and the liveness probe meanwhile.
    let bomb = fragment_bomb(10, 10);
    let mut health = Vec::new();
    for _ in 0..runs {
        let storm: Vec<_> = (0..16).map(|_| tokio::spawn(post(bomb.clone()))).collect();
        let started = Instant::now();
        s.client.get(format!("{}/healthz", s.base)).send().await?.error_for_status()?;
        health.push(started.elapsed());
        for b in storm {
            b.await??;
        }
    }
    let (p50, max) = p50_max(health);
    println!("/healthz during 16 concurrent 10-level bombs | | | {p50:.2} | {max:.2}");
    s.stop().await;
    Ok(())
}

async fn start(backend: Backend) -> anyhow::Result<TestServer> {
    // Throughput is what is measured: no per-user rate limits (the harness's default).
    TestServer::start(backend)
        .await
        .context("the database is not reachable (PostgreSQL: set BELLWETHER_TEST_POSTGRES_URL)")
}

/// Creates `ACCOUNTS` accounts and `METRICS` metrics through the API; returns account ids.
async fn portfolio(s: &TestServer, token: &str) -> anyhow::Result<Vec<String>> {
    for m in 0..METRICS {
        s.mutate(token, "defineMetric", "metric", "id", json!({ "key": format!("bench.m{m:02}"), "name": format!("Metric {m}"), "unit": "NUMBER", "direction": "HIGHER_IS_BETTER", "aggregation": "AVERAGE" })).await;
    }
    let mut ids = Vec::new();
    for a in 0..ACCOUNTS {
        let acc = s
            .mutate(token, "createAccount", "account", "id", json!({ "name": format!("Account {a}"), "tier": "KEY" }))
            .await;
        ids.push(acc["id"].as_str().unwrap().to_owned());
    }
    Ok(ids)
}

async fn ingest(backend: Backend, batches: usize, direct: bool) -> anyhow::Result<()> {
    let s = start(backend).await?;
    let t = s.tenant("bench").await;
    let accounts = portfolio(&s, &t.admin_token).await?;
    let org = bellwether_domain::organisations::by_slug(&s.db, "bench").await?.context("tenant")?;
    let admin = bellwether_domain::users::by_email(&s.db, org.id, "admin@bench.test").await?.context("admin")?;
    let actor = Actor { organisation: org.id, user: admin.id, role: Role::Admin, time_zone: org.time_zone };
    let query = "mutation($i: IngestMetricPointsInput!) { ingestMetricPoints(input: $i) { accepted rejected } }";
    let mut minute: i64 = 0;
    let path = if direct { "domain ingestion directly" } else { "ingestMetricPoints over HTTP" };
    println!("backend: {backend:?}; {path}; {ACCOUNTS} accounts x {METRICS} metrics; each item a new observation");
    for size in [1_000usize, 5_000] {
        let mut timings = Vec::new();
        for round in 0..=batches {
            let items: Vec<Value> = (0..size)
                .map(|i| {
                    minute += 1;
                    json!({
                        "account": { "id": accounts[i % ACCOUNTS] },
                        "metric": format!("bench.m{:02}", (i / ACCOUNTS) % METRICS),
                        "observedAt": (Utc::now() - chrono::Duration::days(300) + chrono::Duration::seconds(minute)).to_rfc3339(),
                        "value": (i % 97) as f64,
                    })
                })
                .collect();
            if direct {
                let domain: Vec<NewMetricPoint> = items
                    .iter()
                    .map(|i| NewMetricPoint {
                        account: AccountRef::Id(bellwether_domain::AccountId(global_uuid(
                            i["account"]["id"].as_str().unwrap(),
                        ))),
                        metric: i["metric"].as_str().unwrap().to_owned(),
                        observed_at: Ok(i["observedAt"].as_str().unwrap().parse().unwrap()),
                        value: i["value"].as_f64().unwrap(),
                        source: None,
                    })
                    .collect();
                let started = Instant::now();
                let report = metrics::ingest(&s.db, &actor, domain).await?;
                if round > 0 {
                    timings.push(started.elapsed());
                }
                if report.count(bellwether_domain::signals::ItemStatus::Accepted) != size {
                    bail!("batch failed");
                }
                continue;
            }
            let body = serde_json::to_vec(&json!({ "query": query, "variables": { "i": { "items": items } } }))?;
            let started = Instant::now();
            let res = s
                .client
                .post(&s.url)
                .bearer_auth(&t.admin_token)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await?;
            let status = res.status();
            let out: Value = res.json().await?;
            let elapsed = started.elapsed();
            if !status.is_success() || out["data"]["ingestMetricPoints"]["accepted"] != json!(size) {
                bail!("batch failed: {status} {out}");
            }
            if round > 0 {
                timings.push(elapsed);
            }
        }
        report(size, &timings);
    }
    s.stop().await;
    Ok(())
}

async fn bulk(backend: Backend, batches: usize) -> anyhow::Result<()> {
    let s = start(backend).await?;
    let t = s.tenant("bench").await;
    let token = &t.admin_token;
    for def in [
        json!({ "key": "contract", "name": "Contract", "kind": "ENUMERATION", "options": ["month-to-month", "one year", "two year"] }),
        json!({ "key": "monthly_charges", "name": "Monthly charges", "kind": "NUMBER" }),
        json!({ "key": "paperless", "name": "Paperless billing", "kind": "BOOLEAN" }),
    ] {
        s.mutate(token, "defineAccountAttribute", "attribute", "key", def).await;
    }
    let send = async |query: &str, field: &str, items: Vec<Value>| -> anyhow::Result<Duration> {
        let n = items.len();
        let body = serde_json::to_vec(&json!({ "query": query, "variables": { "i": { "items": items } } }))?;
        let started = Instant::now();
        let res = s
            .client
            .post(&s.url)
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?;
        let status = res.status();
        let out: Value = res.json().await?;
        let elapsed = started.elapsed();
        let p = &out["data"][field];
        let written = p["accepted"].as_u64().unwrap_or(0) + p["duplicates"].as_u64().unwrap_or(0);
        if !status.is_success() || written != n as u64 {
            bail!("batch failed: {status} {out}");
        }
        Ok(elapsed)
    };
    println!("backend: {backend:?}; bulk mutations over HTTP");
    let accounts_q =
        "mutation($i: UpsertAccountsInput!) { upsertAccounts(input: $i) { accepted duplicates rejected } }";
    let account = |n: usize| {
        let term = ["month-to-month", "one year", "two year"][n % 3];
        json!({ "externalRef": format!("ACC-{n}"), "name": format!("Account {n}"), "tier": "STANDARD",
            "annualValue": { "amountMinor": 120_000 + n as i64, "currency": "EUR" }, "contractStart": "2024-01-01",
            "attributes": [
                { "key": "contract", "option": term },
                { "key": "monthly_charges", "number": 20.0 + (n % 100) as f64 },
                { "key": "paperless", "boolean": n.is_multiple_of(2) },
            ] })
    };
    let size = 1_000;
    let mut timings = Vec::new();
    for round in 0..=batches {
        let items = (round * size..(round + 1) * size).map(account).collect();
        let t = send(accounts_q, "upsertAccounts", items).await?;
        if round > 0 {
            timings.push(t);
        }
    }
    println!("upsertAccounts, new accounts with 3 attributes:");
    report(size, &timings);
    let mut timings = Vec::new();
    for round in 0..=batches {
        let items = (round * size..(round + 1) * size).map(account).collect();
        let t = send(accounts_q, "upsertAccounts", items).await?;
        if round > 0 {
            timings.push(t);
        }
    }
    println!("upsertAccounts, replay (all DUPLICATE):");
    report(size, &timings);

    let accounts_total = (batches + 1) * size;
    let interactions_q =
        "mutation($i: RecordInteractionsInput!) { recordInteractions(input: $i) { accepted duplicates rejected } }";
    let size = 5_000;
    let mut timings = Vec::new();
    for round in 0..=batches {
        let items = (round * size..(round + 1) * size)
            .map(|n| {
                json!({ "account": { "externalRef": format!("ACC-{}", n % accounts_total) }, "idempotencyKey": format!("order-{n}"),
                    "kind": "ORDER", "direction": "INBOUND",
                    "occurredAt": (Utc::now() - chrono::Duration::days(400) + chrono::Duration::minutes(n as i64)).to_rfc3339(),
                    "summary": format!("Order: {} items, {}.{:02} USD", n % 7 + 1, n % 300, n % 100) })
            })
            .collect();
        let t = send(interactions_q, "recordInteractions", items).await?;
        if round > 0 {
            timings.push(t);
        }
    }
    println!("recordInteractions, new ORDER interactions:");
    report(size, &timings);
    s.stop().await;
    Ok(())
}

fn report(size: usize, timings: &[Duration]) {
    let total: Duration = timings.iter().sum();
    let mut sorted = timings.to_vec();
    sorted.sort();
    let items = size * timings.len();
    println!(
        "batch {size:>5}: {items} items in {:.2} s = {:>8.0} items/s (per batch p50 {:.1} ms, max {:.1} ms)",
        total.as_secs_f64(),
        items as f64 / total.as_secs_f64(),
        sorted[sorted.len() / 2].as_secs_f64() * 1e3,
        sorted[sorted.len() - 1].as_secs_f64() * 1e3,
    );
}

async fn health_recompute(backend: Backend, runs: usize) -> anyhow::Result<()> {
    let s = start(backend).await?;
    let t = s.tenant("bench").await;
    let org = bellwether_domain::organisations::by_slug(&s.db, "bench").await?.context("tenant")?;
    let admin = bellwether_domain::users::by_email(&s.db, org.id, "admin@bench.test").await?.context("admin")?;
    let actor = Actor { organisation: org.id, user: admin.id, role: Role::Admin, time_zone: org.time_zone };
    s.mutate(
        &t.admin_token,
        "createAccount",
        "account",
        "id",
        json!({ "name": "Year of data", "tier": "STRATEGIC", "externalRef": "Y-1" }),
    )
    .await;
    let account_id = account_uuid(&s, org.id).await?;
    let mut keys = Vec::new();
    for m in 0..METRICS {
        let key = format!("bench.m{m:02}");
        metrics::define(
            &s.db,
            &actor,
            MetricSpec {
                key: key.clone(),
                name: key.clone(),
                unit: MetricUnit::Number,
                direction: MetricDirection::HigherIsBetter,
                aggregation: MetricAggregation::Average,
            },
        )
        .await?;
        keys.push(key);
    }
    let points: Vec<NewMetricPoint> = (0..365)
        .flat_map(|d| {
            keys.iter().map(move |k| NewMetricPoint {
                account: AccountRef::ExternalRef("Y-1".into()),
                metric: k.clone(),
                observed_at: Ok(Utc::now() - chrono::Duration::days(d)),
                value: 100.0 - (d % 30) as f64,
                source: None,
            })
        })
        .collect();
    for chunk in points.chunks(5_000) {
        metrics::ingest(&s.db, &actor, chunk.to_vec()).await?;
    }
    // Every usage metric in the scorecard, so all 20 series are loaded and evaluated.
    let mut definition = scorecard::Definition::standard();
    definition.measures.retain(|m| m.metric.is_none());
    for k in &keys {
        definition.measures.push(scorecard::MeasureSpec {
            kind: scorecard::MeasureKind::UsageTrend,
            weight: 5.0,
            metric: Some(k.clone()),
            window_days: Some(30),
            baseline_days: Some(90),
            ..Default::default()
        });
    }
    health::create_scorecard(
        &s.db,
        &actor,
        health::ScorecardInput { name: "All usage".into(), definition: definition.clone(), make_default: true },
    )
    .await?;

    let (mut load, mut eval, mut full) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let t0 = Instant::now();
        let snapshot = health::load_snapshot(&s.db, org.id, account_id, Utc::now(), &keys, 121).await?;
        load.push(t0.elapsed());
        let t1 = Instant::now();
        let e = scorecard::evaluate(&definition, &snapshot, Utc::now());
        eval.push(t1.elapsed());
        assert!(e.score.is_some());
        let t2 = Instant::now();
        health::recompute(&s.db, org.id, account_id, "bench").await?;
        full.push(t2.elapsed());
    }
    let points_loaded: usize = 365 * METRICS;
    println!(
        "backend: {backend:?}; one account, {points_loaded} metric points (365 days x {METRICS} metrics), {runs} runs"
    );
    for (name, v) in [("load snapshot", &load), ("evaluate (pure)", &eval), ("full recompute", &full)] {
        let mut v = v.clone();
        v.sort();
        println!(
            "{name:>16}: p50 {:.2} ms, p95 {:.2} ms",
            v[v.len() / 2].as_secs_f64() * 1e3,
            v[v.len() * 95 / 100].as_secs_f64() * 1e3
        );
    }
    s.stop().await;
    Ok(())
}

async fn account_uuid(s: &TestServer, org: OrganisationId) -> anyhow::Result<AccountId> {
    Ok(bellwether_domain::accounts::by_external_ref(&s.db, org, "Y-1").await?.context("account")?.id)
}

fn report_run(label: &str, r: &bellwether_domain::risks::runs::RunRecord) {
    let n = r.accounts.max(1) as f64;
    println!(
        "{label}: {} accounts in {:.2} s ({:.0} accounts/s); snapshot {:.2} s ({:.0} us/account), evaluate {:.2} s \
         ({:.1} us/account), persist {:.2} s; {} findings, raised {}, refreshed {}, cleared {}, failures {}",
        r.accounts,
        r.duration_us as f64 / 1e6,
        n / (r.duration_us as f64 / 1e6),
        r.snapshot_us as f64 / 1e6,
        r.snapshot_us as f64 / n,
        r.evaluate_us as f64 / 1e6,
        r.evaluate_us as f64 / n,
        r.persist_us as f64 / 1e6,
        r.findings,
        r.applied.raised,
        r.applied.refreshed,
        r.applied.cleared,
        r.failures,
    );
    let mut rules = r.rules.clone();
    rules.sort_by_key(|s| std::cmp::Reverse(s.duration_us));
    let top: Vec<String> = rules
        .iter()
        .take(4)
        .map(|s| format!("{} {:.1} us/acc ({} findings)", s.rule_key, s.duration_us as f64 / n, s.findings))
        .collect();
    println!("  slowest rules: {}", top.join(", "));
}

async fn risk(backend: Backend, accounts: usize, days: i64, trials: usize) -> anyhow::Result<()> {
    use bellwether_domain::risks::{self, RiskFilter};
    use bellwether_domain::synthetic::{self, Sign, Spec};
    let s = start(backend).await?;
    let t = s.tenant("bench").await;
    let org = bellwether_domain::organisations::by_slug(&s.db, "bench").await?.context("tenant")?;
    let started = Instant::now();
    let rows = synthetic::generate(&s.db, org.id, &Spec { accounts, days, manager: None }).await?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "backend: {backend:?}; seeded {accounts} accounts, {rows} rows in {secs:.1} s ({:.0} rows/s)",
        rows as f64 / secs
    );
    let signs = (0..accounts).filter(|i| synthetic::sign(*i) != Sign::None).count();
    println!("  accounts with one warning sign each: {signs}");

    let engine = bellwether_rules::engine::Engine::default();
    let first = engine.sweep(&s.db, org.id).await?;
    report_run("sweep 1 (raises)", &first.record);
    let second = engine.sweep(&s.db, org.id).await?;
    report_run("sweep 2 (steady)", &second.record);
    let open = risks::count(&s.db, org.id, &RiskFilter { open: Some(true), ..Default::default() }).await?;
    println!("  open risks after the sweeps: {open}");

    // Signal to persisted risk, over HTTP, through the server's own worker.
    let token = &t.admin_token;
    let q = "{ accounts(first: 100) { nodes { id name } } }";
    let data = s.gql(token, q, json!({})).await;
    let quiet: Vec<String> = data["accounts"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .filter(|(i, _)| synthetic::sign(*i) == Sign::None)
        .map(|(_, a)| a["id"].as_str().unwrap().to_owned())
        .take(trials)
        .collect();
    let mut latencies = Vec::new();
    for (n, account) in quiet.iter().enumerate() {
        let items: Vec<Value> = (0..3)
            .map(|k| json!({ "account": { "id": account }, "externalId": format!("LAT-{n}-{k}"), "priority": "CRITICAL", "status": "OPEN", "openedAt": (Utc::now() - chrono::Duration::hours(1)).to_rfc3339() }))
            .collect();
        let mutation = "mutation($i: UpsertSupportTicketsInput!) { upsertSupportTickets(input: $i) { accepted } }";
        let filter = RiskFilter {
            account: Some(AccountId(global_uuid(account))),
            rule_key: Some("critical_ticket_surge".into()),
            ..Default::default()
        };
        let sent = Instant::now();
        s.gql(token, mutation, json!({ "i": { "items": items } })).await;
        loop {
            if risks::count(&s.db, org.id, &filter).await? > 0 {
                break;
            }
            if sent.elapsed() > Duration::from_secs(10) {
                bail!("no risk 10 s after the signal");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        latencies.push(sent.elapsed());
    }
    latencies.sort();
    if !latencies.is_empty() {
        println!(
            "signal to persisted risk over HTTP ({} trials): p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms (includes the worker's 250 ms coalescing window)",
            latencies.len(),
            latencies[latencies.len() / 2].as_secs_f64() * 1e3,
            latencies[(latencies.len() * 95 / 100).min(latencies.len() - 1)].as_secs_f64() * 1e3,
            latencies[latencies.len() - 1].as_secs_f64() * 1e3,
        );
    }
    s.stop().await;
    Ok(())
}

/// Mean microseconds per call of `f` over `n` calls (after `n / 10` warm-up calls).
fn per_call_us(n: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..n / 10 {
        f();
    }
    let started = Instant::now();
    for _ in 0..n {
        f();
    }
    started.elapsed().as_secs_f64() * 1e6 / n as f64
}

async fn plugin(accounts: usize, iterations: usize) -> anyhow::Result<()> {
    use bellwether_rules::plugin::fixture::Fixture;
    use bellwether_rules::plugin::{Limits, PluginHost};
    use bellwether_rules::{Params, Rule};
    use bellwether_tests::guests;

    // Compiling (the upload pipeline, once per component and process).
    for name in ["renewal_without_buyer", "seat_utilisation", "payment_slowdown"] {
        let bytes = guests::component(name);
        let host = PluginHost::new(Limits::default()).map_err(|e| anyhow::anyhow!("{e:#}"))?;
        let started = Instant::now();
        host.compile(&bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
        println!(
            "compile + check {name} ({} KiB): {:.0} ms",
            bytes.len() / 1024,
            started.elapsed().as_secs_f64() * 1e3
        );
    }

    // Per evaluation, on the example's own fixture.
    let host = PluginHost::new(Limits::default()).map_err(|e| anyhow::anyhow!("{e:#}"))?;
    let rule = host.compile(&guests::component("renewal_without_buyer")).map_err(|e| anyhow::anyhow!("{e}"))?;
    let fixture = std::fs::read_to_string(guests::fixtures("renewal_without_buyer").join("champion_only.json"))?;
    let snapshot = Fixture::parse(&fixture).map_err(|e| anyhow::anyhow!(e))?.snapshot();
    let params = Params::defaults(rule.meta());
    let instantiate = per_call_us(iterations, || rule.instantiate_only().unwrap());
    let convert = per_call_us(iterations, || {
        std::hint::black_box(rule.input(&snapshot, &params));
    });
    let mut fuel = 0;
    let evaluate = per_call_us(iterations, || {
        let (result, usage) = bellwether_rules::engine::run_metered(rule.as_ref(), &snapshot, &params);
        let e = result.unwrap();
        assert_eq!(e.findings.len(), 1);
        fuel = usage.unwrap().fuel;
    });
    println!("renewal_without_buyer as a plugin ({iterations} evaluations, a fresh instance each):");
    println!("  fresh store + instantiate: {instantiate:.2} us");
    println!("  snapshot to WIT records:   {convert:.2} us");
    println!("  whole evaluation:          {evaluate:.2} us ({fuel} instructions)");
    let native = std::process::Command::new(env!("CARGO"))
        .args(["run", "--release", "--quiet", "--manifest-path"])
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/Cargo.toml"))
        .args(["-p", "native-bench"])
        .output()?;
    let out = String::from_utf8_lossy(&native.stdout);
    print!("{out}");
    if let Some(us) = out.split_whitespace().find_map(|w| w.parse::<f64>().ok()) {
        println!("  plugin / native: {:.1}x (overhead per evaluation {:.2} us)", evaluate / us, evaluate - us);
    }

    // In a sweep: the built-ins, then the built-ins and two plugins.
    use bellwether_domain::synthetic::{self, Spec};
    let s = start(Backend::Sqlite).await?;
    s.tenant("bench").await;
    let org = bellwether_domain::organisations::by_slug(&s.db, "bench").await?.context("tenant")?;
    let admin = bellwether_domain::users::by_email(&s.db, org.id, "admin@bench.test").await?.context("admin")?;
    let actor =
        bellwether_domain::Actor { organisation: org.id, user: admin.id, role: admin.role, time_zone: org.time_zone };
    synthetic::generate(&s.db, org.id, &Spec { accounts, days: 365, manager: None }).await?;
    let builtins = bellwether_rules::engine::Engine::default();
    builtins.sweep(&s.db, org.id).await?;
    let base = builtins.sweep(&s.db, org.id).await?;
    report_run("built-ins only (steady sweep)", &base.record);
    for name in ["renewal_without_buyer", "payment_slowdown"] {
        let bytes = guests::component(name);
        let compiled = host.compile(&bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
        bellwether_domain::plugins::upload(&s.db, &actor, compiled.upload(bytes)).await?;
    }
    let engine = bellwether_rules::engine::Engine::default().with_plugins(host.clone());
    engine.sweep(&s.db, org.id).await?;
    let with = engine.sweep(&s.db, org.id).await?;
    report_run("built-ins + 2 plugins (steady sweep)", &with.record);
    for stat in with.record.rules.iter().filter(|r| r.fuel > 0) {
        let per = stat.duration_us as f64 / stat.evaluations.max(1) as f64;
        println!(
            "  plugin {}: {} evaluations, {per:.2} us each ({:.0} accounts/s on one core), {:.0} instructions on average, peak memory {} KiB, {} failures",
            stat.rule_key,
            stat.evaluations,
            1e6 / per,
            stat.fuel as f64 / stat.evaluations.max(1) as f64,
            stat.peak_memory / 1024,
            stat.failures,
        );
    }
    s.stop().await;
    Ok(())
}

fn percentiles(label: &str, mut v: Vec<Duration>) {
    v.sort();
    if v.is_empty() {
        return;
    }
    let at = |q: usize| v[(v.len() * q / 100).min(v.len() - 1)].as_secs_f64() * 1e3;
    println!("{label:>34}: p50 {:.2} ms, p95 {:.2} ms ({} runs)", at(50), at(95), v.len());
}

async fn plans(backend: Backend, accounts: usize, runs: usize) -> anyhow::Result<()> {
    use bellwether_domain::plans::{self, Apply};
    use bellwether_domain::post_mortems::{self, NewPostMortem, Review, Subject};
    use bellwether_domain::risks::{self, RiskFilter, RiskOrder};
    use bellwether_domain::synthetic::{self, Spec};
    use bellwether_domain::{PageRequest, RiskStatus, RootCause, playbooks};
    let s = start(backend).await?;
    let t = s.tenant("bench").await;
    let org = bellwether_domain::organisations::by_slug(&s.db, "bench").await?.context("tenant")?;
    let admin = bellwether_domain::users::by_email(&s.db, org.id, "admin@bench.test").await?.context("admin")?;
    let actor = Actor { organisation: org.id, user: admin.id, role: Role::Admin, time_zone: org.time_zone };
    synthetic::generate(&s.db, org.id, &Spec { accounts, days: 60, manager: Some(admin.id) }).await?;
    bellwether_rules::engine::Engine::default().sweep(&s.db, org.id).await?;
    let generic = playbooks::by_key(&s.db, org.id, playbooks::GENERIC).await?.context("generic playbook")?;

    // Every open risk gets the generic playbook (four actions each).
    let mut ids = Vec::new();
    let mut page = PageRequest { first: Some(100), ..Default::default() };
    let open = RiskFilter { open: Some(true), ..Default::default() };
    loop {
        let p = risks::list(&s.db, org.id, &open, RiskOrder::Created, false, &page).await?;
        ids.extend(p.edges.iter().map(|(_, r)| r.id));
        let Some((cursor, _)) = p.edges.last() else { break };
        if !p.has_next_page {
            break;
        }
        page.after = Some(cursor.clone());
    }
    println!("backend: {backend:?}; {accounts} accounts, {} open risks", ids.len());
    let mut applied = Vec::with_capacity(ids.len());
    for id in &ids {
        let input = Apply {
            risk: *id,
            playbook: generic.id,
            desired_outcome: None,
            internal_stakeholders: Vec::new(),
            client_stakeholders: Vec::new(),
            communication: None,
            assignments: Vec::new(),
            note: None,
        };
        let started = Instant::now();
        plans::apply(&s.db, &actor, input).await?;
        applied.push(started.elapsed());
    }
    percentiles("apply a playbook (domain)", applied);

    // The first step of every plan is overdue, as days pass.
    let stmt = sea_orm::sea_query::Query::update()
        .table(sea_orm::sea_query::Alias::new("plan_actions"))
        .value(sea_orm::sea_query::Alias::new("due_on"), Utc::now().date_naive() - chrono::Duration::days(3))
        .and_where(sea_orm::sea_query::ExprTrait::eq(
            sea_orm::sea_query::Expr::col(sea_orm::sea_query::Alias::new("step")),
            0,
        ))
        .to_owned();
    use sea_orm::ConnectionTrait as _;
    s.db.execute(&stmt).await?;

    // A fifth of the risks are resolved and reviewed.
    let mut recorded = Vec::new();
    for id in ids.iter().step_by(5) {
        risks::transition(&s.db, &actor, *id, RiskStatus::Resolved, None, None).await?;
        let new = NewPostMortem {
            subject: Subject::Risk(*id),
            category: None,
            root_cause: RootCause::ProductGap,
            review: Review { summary: "Resolved".into(), ..Default::default() },
        };
        let started = Instant::now();
        post_mortems::record(&s.db, &actor, new).await?;
        recorded.push(started.elapsed());
    }
    percentiles("record a post-mortem (domain)", recorded);

    let token = &t.admin_token;
    let pm =
        s.gql(token, "{ postMortems(first: 1) { nodes { id } } }", json!({})).await["postMortems"]["nodes"][0]["id"]
            .clone();
    for (label, query, vars) in [
        (
            "overdue actions, first 100",
            "{ planActions(filter: { overdue: true }, first: 100) { totalCount nodes { id dueOn owner { id } risk { id } } } }",
            json!({}),
        ),
        ("overdue actions by owner", "{ overdueActionsByOwner { owner { id } count oldestDueOn } }", json!({})),
        (
            "risks with overdue actions, 100",
            "{ risks(filter: { hasOverdueActions: true }, first: 100) { totalCount nodes { id urgency overdueActionCount daysSinceClientUpdate } } }",
            json!({}),
        ),
        (
            "risks by priority with urgency, 100",
            "{ risks(filter: { open: true }, first: 100) { nodes { id urgency suggestedPlaybook { key } actionPlans { progress { overdue } } } } }",
            json!({}),
        ),
        (
            "risks due a post-mortem, first 100",
            "{ risks(filter: { postMortemDue: true }, first: 100) { totalCount nodes { id } } }",
            json!({}),
        ),
        (
            "lessons with playbook effectiveness",
            "{ lessons { total { count } byRootCause { rootCause tally { count } } playbooks { effectiveness { plansApplied resolvedShare medianDaysToResolve } } } }",
            json!({}),
        ),
        (
            "one post-mortem with its timeline",
            "query($id: ID!) { node(id: $id) { ... on PostMortem { detectionLeadDays rulesFired rulesSilent timeline { at kind text } } } }",
            json!({ "id": pm }),
        ),
    ] {
        let mut timings = Vec::with_capacity(runs);
        for _ in 0..runs {
            let started = Instant::now();
            s.gql(token, query, vars.clone()).await;
            timings.push(started.elapsed());
        }
        percentiles(label, timings);
    }
    s.stop().await;
    Ok(())
}
