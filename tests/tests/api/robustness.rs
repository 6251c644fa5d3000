//! Failures stay contained: database errors are masked, panics and slow handlers do not take
//! the server down, shutdown lets in-flight requests finish.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use bellwether_tests::{Backend, Options, TestServer, error_codes, on_every_backend};
use sea_orm::ConnectionTrait as _;
use serde_json::json;
use tokio::sync::oneshot;

on_every_backend!(database_errors_are_masked);

async fn database_errors_are_masked(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let t = s.tenant("masked").await;
    let account =
        s.mutate(&t.admin_token, "createAccount", "account", "id", json!({ "name": "Wayne", "tier": "KEY" })).await;
    s.mutate(
        &t.admin_token,
        "logInteraction",
        "interaction",
        "id",
        json!({ "accountId": account["id"], "kind": "CALL", "occurredAt": "2026-01-01T00:00:00Z", "summary": "hello" }),
    )
    .await;
    // Break the database under the server: the participants table disappears.
    s.db.execute_unprepared("DROP TABLE interaction_users").await.unwrap();
    let (status, body) = s
        .post(Some(&t.admin_token), "query($id: ID!) { node(id: $id) { ... on Account { name interactions { nodes { summary users { id } } } } } }", json!({ "id": account["id"] }))
        .await;
    assert_eq!(status, 200);
    assert_eq!(error_codes(&body), vec!["INTERNAL"]);
    let text = body.to_string().to_lowercase();
    for leak in ["interaction_users", "select", "table", "sql", "relation"] {
        assert!(!text.contains(leak), "database detail '{leak}' leaked: {body}");
    }
    assert_eq!(body["errors"][0]["message"], "internal error");
    // The rest of the graph still answers.
    let data = s.gql(&t.admin_token, "{ accounts { totalCount } }", json!({})).await;
    assert_eq!(data["accounts"]["totalCount"], 1);
    s.stop().await;
}

async fn panicking() -> &'static str {
    panic!("injected fault")
}

type Hold = Arc<Mutex<Option<(oneshot::Sender<()>, oneshot::Receiver<()>)>>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panics_timeouts_and_shutdown_are_contained() {
    let (started_tx, started_rx) = oneshot::channel();
    let (release_tx, release_rx) = oneshot::channel();
    let hold: Hold = Arc::new(Mutex::new(Some((started_tx, release_rx))));
    let extra = Router::new()
        .route("/test/panic", get(panicking))
        .route(
            "/test/slow",
            get(|| async {
                // A handler far slower than the configured request timeout.
                tokio::time::sleep(Duration::from_secs(60)).await;
                "too late"
            }),
        )
        .route(
            "/test/hold",
            get(move || {
                let hold = hold.clone();
                async move {
                    let (started, release) = hold.lock().unwrap().take().expect("held once");
                    let _ = started.send(());
                    let _ = release.await;
                    "finished"
                }
            }),
        );
    let mut options = Options { extra_routes: Some(extra), ..Options::default() };
    options.limits.request_timeout = Duration::from_millis(300);
    let mut s = TestServer::start_with(Backend::Sqlite, options).await.expect("sqlite is always available");

    let res = s.client.get(format!("{}/test/panic", s.base)).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 500);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(error_codes(&body), vec!["INTERNAL"]);
    assert!(!body.to_string().contains("injected"), "panic text leaked: {body}");
    assert_eq!(s.client.get(format!("{}/healthz", s.base)).send().await.unwrap().status().as_u16(), 200);

    let res = s.client.get(format!("{}/test/slow", s.base)).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 408);

    // Graceful shutdown: a request in flight when shutdown starts still completes.
    let in_flight = tokio::spawn({
        let client = s.client.clone();
        let url = format!("{}/test/hold", s.base);
        async move { client.get(url).send().await.unwrap() }
    });
    started_rx.await.unwrap();
    s.signal_shutdown();
    release_tx.send(()).unwrap();
    let res = in_flight.await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.text().await.unwrap(), "finished");
    let base = s.base.clone();
    s.stop().await;
    let after = reqwest::Client::new().get(format!("{base}/healthz")).send().await;
    assert!(after.is_err(), "the server still accepts connections after shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_the_database() {
    let s = TestServer::start(Backend::Sqlite).await.expect("sqlite is always available");
    let get = |path: &str| s.client.get(format!("{}{path}", s.base)).send();
    assert_eq!(get("/readyz").await.unwrap().status().as_u16(), 200);
    // The database goes away under the running server.
    s.db.clone().close().await.unwrap();
    assert_eq!(get("/readyz").await.unwrap().status().as_u16(), 503, "not ready without a database");
    assert_eq!(get("/healthz").await.unwrap().status().as_u16(), 200, "the process itself is alive");
    s.stop().await;
}

/// A connection of its own to the test database that gives up at once when the write lock is
/// taken (no busy timeout): the impatient other replica or request.
async fn impatient_writer(url: &str) -> sea_orm::DatabaseConnection {
    let mut options = sea_orm::ConnectOptions::new(url.to_owned());
    options.max_connections(1).sqlx_logging(false).map_sqlx_sqlite_opts(|o| o.busy_timeout(Duration::ZERO));
    sea_orm::Database::connect(options).await.expect("a second connection")
}

fn is_locked(e: &sea_orm::DbErr) -> bool {
    e.to_string().contains("database is locked")
}

/// Why every multi-statement write goes through `db::write`/`db::begin_write`: on SQLite a
/// plain (deferred) transaction that reads first cannot write any more once another connection
/// has committed in between (it fails at once, whatever the busy timeout: a plugin upload failed
/// exactly so under a concurrent rule evaluation). A write transaction holds the write lock from
/// its first statement, so the other writer waits instead and the transaction's write succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_write_transactions_cannot_be_overtaken_between_read_and_write() {
    let s = TestServer::start(Backend::Sqlite).await.expect("SQLite is always available");
    let other = impatient_writer(&s.database_url).await;
    // Writes that change the file (an update to the same values may leave it as it was).
    s.db.execute_unprepared("CREATE TABLE lock_probe (n INTEGER NOT NULL)").await.unwrap();
    let touch = "INSERT INTO lock_probe (n) VALUES (1)";
    let read = "SELECT COUNT(*) FROM lock_probe";

    // The failure mode, with a deferred transaction: read, someone else commits, write fails.
    #[allow(clippy::disallowed_methods)] // the deferred transaction is what this shows failing
    let deferred = sea_orm::TransactionTrait::begin(&s.db).await.unwrap();
    deferred.execute_unprepared(read).await.unwrap();
    other.execute_unprepared(touch).await.expect("nothing holds the write lock yet");
    let overtaken = deferred.execute_unprepared(touch).await.expect_err("a stale snapshot cannot write");
    assert!(is_locked(&overtaken), "{overtaken}");
    deferred.rollback().await.unwrap();

    // A write transaction: the same interleaving cannot happen; the other writer is turned away
    // (a patient one would wait) and the transaction's own write goes through.
    let tx = bellwether_domain::db::begin_write(&s.db).await.unwrap();
    tx.execute_unprepared(read).await.unwrap();
    let refused = other.execute_unprepared(touch).await.expect_err("the write lock is held");
    assert!(is_locked(&refused), "{refused}");
    tx.execute_unprepared(touch).await.expect("the transaction still writes");
    tx.commit().await.unwrap();
    other.execute_unprepared(touch).await.expect("the lock is released at commit");

    // And through the closure form used by the domain.
    let written = bellwether_domain::db::write::<_, _, _, sea_orm::DbErr>(&s.db, |tx| {
        Box::pin(async move {
            tx.execute_unprepared(read).await?;
            let refused = other.execute_unprepared(touch).await.expect_err("the write lock is held");
            assert!(is_locked(&refused), "{refused}");
            Ok(tx.execute_unprepared(touch).await?.rows_affected())
        })
    })
    .await
    .unwrap();
    assert_eq!(written, 1);
    s.stop().await;
}
