//! Test harness: starts the real server (same router, middleware and auth as `bellwether
//! serve`) on 127.0.0.1 port 0 over a fresh database, and talks to it over HTTP.
//!
//! Every scenario runs on SQLite and, when reachable, on PostgreSQL
//! (`BELLWETHER_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`);
//! each test gets its own SQLite file or PostgreSQL database.

use std::path::PathBuf;
use std::sync::Arc;

use bellwether_api::app::Application;
use bellwether_api::auth::Authenticator;
use bellwether_api::config::{Config, JwtAlgorithm, JwtConfig, Limits, LogFormat};
use bellwether_domain::organisations::{self, NewOrganisation};
use bellwether_domain::{Db, db};
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// The shared secret the test servers sign with (HS256).
pub const SECRET: &str = "test-secret-of-at-least-thirty-two-bytes!";

/// Which database a scenario runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Declares one test per backend for each scenario `async fn name(backend: Backend)`.
#[macro_export]
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::Backend::Postgres).await
            }
        }
    )*};
}

/// Knobs a scenario may turn before the server starts.
pub struct Options {
    pub production: bool,
    pub limits: Limits,
    pub jwt: JwtConfig,
    pub extra_routes: Option<axum::Router>,
    /// Scheduled risk sweep interval (off unless a test asks for it).
    pub risk_sweep_interval: Option<std::time::Duration>,
    /// The rule engine (default: the built-in rules).
    pub engine: Option<bellwether_rules::engine::Engine>,
}

impl Default for Options {
    fn default() -> Self {
        // Scenarios poll background work (`eventually`) far faster than any client would: the
        // per-user rate budgets are off unless a test turns them on (`operations.rs` does).
        let limits = Limits { rate_requests_per_minute: 0, rate_cost_per_minute: 0, ..Limits::default() };
        Self {
            production: false,
            risk_sweep_interval: None,
            engine: None,
            limits,
            jwt: JwtConfig {
                algorithm: JwtAlgorithm::HS256,
                secret: Some(SECRET.into()),
                public_key_pem: None,
                private_key_pem: None,
                issuer: None,
                audience: None,
                default_ttl: std::time::Duration::from_secs(3600),
                max_ttl: bellwether_api::config::DEFAULT_MAX_TTL,
            },
            extra_routes: None,
        }
    }
}

enum Cleanup {
    File(PathBuf),
    Database { admin_url: String, name: String },
}

/// A running server and a client for it.
pub struct TestServer {
    pub base: String,
    pub url: String,
    /// The database the server runs on (for tests that need a connection of their own).
    pub database_url: String,
    pub db: Db,
    pub auth: Arc<Authenticator>,
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    cleanup: Cleanup,
}

/// An organisation made for a test, with its admin.
#[derive(Clone, Debug)]
pub struct Tenant {
    pub slug: String,
    pub org_id: String,
    pub admin_id: String,
    pub admin_token: String,
}

/// A user made for a test.
#[derive(Clone, Debug)]
pub struct Member {
    pub id: String,
    pub token: String,
}

fn postgres_admin_url() -> String {
    std::env::var("BELLWETHER_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Where a fresh database for one test lives, or `None` when PostgreSQL is not reachable.
async fn fresh_database(backend: Backend) -> Option<(String, Cleanup)> {
    let id = uuid::Uuid::now_v7().simple().to_string();
    match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join(format!("bellwether-test-{id}"));
            std::fs::create_dir_all(&dir).expect("creating a temp dir");
            let url = format!("sqlite://{}?mode=rwc", dir.join("test.db").display());
            Some((url, Cleanup::File(dir)))
        }
        Backend::Postgres => {
            let admin_url = postgres_admin_url();
            let admin = match tokio::time::timeout(std::time::Duration::from_secs(3), db::connect(&admin_url, 1)).await
            {
                Ok(Ok(c)) => c,
                _ => {
                    eprintln!(
                        "PostgreSQL not reachable at {admin_url}: the PostgreSQL variant of this test is skipped"
                    );
                    return None;
                }
            };
            let name = format!("bw_test_{id}");
            use sea_orm::ConnectionTrait as _;
            admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("creating a test database");
            let _ = admin.close().await;
            let (base, _) = admin_url.rsplit_once('/').expect("a database URL ends with /<db>");
            Some((format!("{base}/{name}"), Cleanup::Database { admin_url, name }))
        }
    }
}

impl TestServer {
    /// Starts a server with default options; `None` when the backend is unavailable.
    pub async fn start(backend: Backend) -> Option<Self> {
        Self::start_with(backend, Options::default()).await
    }

    /// Starts a server with the given options; `None` when the backend is unavailable.
    pub async fn start_with(backend: Backend, options: Options) -> Option<Self> {
        let (database_url, cleanup) = fresh_database(backend).await?;
        let config = Config {
            database_url: database_url.clone(),
            listen: "127.0.0.1:0".parse().unwrap(),
            log_format: LogFormat::Text,
            production: options.production,
            jwt: options.jwt,
            limits: options.limits,
            risk_sweep_interval: options.risk_sweep_interval,
            plugins: Default::default(),
            otlp_endpoint: None,
        };
        let db = bellwether_api::app::open_database(&config).await.expect("opening the database");
        let engine = match options.engine {
            Some(engine) => engine,
            None => bellwether_api::app::default_engine(config.plugins.clone()).expect("plugin host"),
        };
        let mut app = Application::with_engine(&config, db, engine).await.expect("starting the server");
        if let Some(extra) = options.extra_routes {
            app = app.merge(extra);
        }
        let addr = app.local_addr();
        let db = app.db.clone();
        let auth = app.auth.clone();
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(app.run_until(async move {
            let _ = rx.await;
        }));
        let base = format!("http://{addr}");
        Some(Self {
            url: format!("{base}/graphql"),
            base,
            database_url,
            db,
            auth,
            client: reqwest::Client::new(),
            shutdown: Some(tx),
            handle: Some(handle),
            cleanup,
        })
    }

    /// Posts a GraphQL request; returns the status and the JSON body.
    pub async fn post(&self, token: Option<&str>, query: &str, variables: Value) -> (u16, Value) {
        let mut req = self.client.post(&self.url).json(&json!({ "query": query, "variables": variables }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.expect("request sent");
        let status = res.status().as_u16();
        let body = res.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// Runs a GraphQL request that must succeed without errors; returns `data`.
    pub async fn gql(&self, token: &str, query: &str, variables: Value) -> Value {
        let (status, body) = self.post(Some(token), query, variables).await;
        assert_eq!(status, 200, "HTTP {status}: {body}");
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// Runs a mutation that must succeed without user errors; returns the payload's object.
    pub async fn mutate(&self, token: &str, field: &str, object: &str, selection: &str, input: Value) -> Value {
        let q = format!(
            "mutation($input: {input_type}!) {{ {field}(input: $input) {{ {object} {{ {selection} }} userErrors {{ field message code }} }} }}",
            input_type = input_type(field)
        );
        let data = self.gql(token, &q, json!({ "input": input })).await;
        let payload = &data[field];
        assert_eq!(payload["userErrors"], json!([]), "{field} failed: {payload}");
        payload[object].clone()
    }

    /// Runs a mutation that must fail with user errors; returns them.
    pub async fn mutate_err(&self, token: &str, field: &str, object: &str, input: Value) -> Vec<Value> {
        let q = format!(
            "mutation($input: {input_type}!) {{ {field}(input: $input) {{ {object} {{ id }} userErrors {{ field message code }} }} }}",
            input_type = input_type(field)
        );
        let data = self.gql(token, &q, json!({ "input": input })).await;
        let payload = &data[field];
        assert!(payload[object].is_null(), "{field} should have failed: {payload}");
        let errors = payload["userErrors"].as_array().cloned().unwrap_or_default();
        assert!(!errors.is_empty(), "{field} returned neither object nor errors: {payload}");
        errors
    }

    /// Creates an organisation with an admin and returns a token for the admin.
    pub async fn tenant(&self, slug: &str) -> Tenant {
        let (_, admin) = organisations::create(
            &self.db,
            NewOrganisation {
                slug: slug.into(),
                name: format!("{slug} Ltd"),
                admin_email: format!("admin@{slug}.test"),
                admin_name: format!("{slug} admin"),
                time_zone: None,
            },
        )
        .await
        .expect("creating a tenant");
        let admin_token = self.auth.mint(&admin, std::time::Duration::from_secs(3600)).expect("minting");
        let data = self.gql(&admin_token, "{ viewer { id } organisation { id } }", json!({})).await;
        Tenant {
            slug: slug.into(),
            org_id: data["organisation"]["id"].as_str().unwrap().into(),
            admin_id: data["viewer"]["id"].as_str().unwrap().into(),
            admin_token,
        }
    }

    /// Adds a user with `role` (GraphQL enum value) through the API and mints their token.
    pub async fn member(&self, tenant: &Tenant, role: &str, name: &str) -> Member {
        let email = format!("{}@{}.test", name.to_lowercase().replace(' ', "."), tenant.slug);
        let user = self
            .mutate(
                &tenant.admin_token,
                "createUser",
                "user",
                "id",
                json!({ "email": email, "name": name, "role": role }),
            )
            .await;
        let id = user["id"].as_str().unwrap().to_owned();
        let org = organisations::by_slug(&self.db, &tenant.slug).await.unwrap().unwrap();
        let u = bellwether_domain::users::by_email(&self.db, org.id, &email).await.unwrap().unwrap();
        Member { id, token: self.auth.mint(&u, std::time::Duration::from_secs(3600)).unwrap() }
    }

    /// Re-runs `query` until `done` accepts its data, for effects that happen off the request
    /// path (background workers). Fails after 10 s; returns the accepted data.
    pub async fn eventually(&self, token: &str, query: &str, variables: Value, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let data = self.gql(token, query, variables.clone()).await;
            if done(&data) {
                return data;
            }
            assert!(tokio::time::Instant::now() < deadline, "condition not reached within 10 s; last data: {data}");
            // Polling interval while waiting for the worker (the condition, not the wait, decides).
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Stops the server (gracefully) and removes its database.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            h.await.expect("server task").expect("server ran cleanly");
        }
        let _ = self.db.clone().close().await;
        match &self.cleanup {
            Cleanup::File(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Database { admin_url, name } => {
                if let Ok(admin) = db::connect(admin_url, 1).await {
                    use sea_orm::ConnectionTrait as _;
                    let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
                    let _ = admin.close().await;
                }
            }
        }
    }

    /// Signals shutdown without waiting (for the graceful-shutdown test).
    pub fn signal_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The GraphQL input type name of a mutation field.
pub fn input_type(field: &str) -> String {
    let mut c = field.chars();
    let first = c.next().map(|f| f.to_ascii_uppercase()).into_iter().collect::<String>();
    let name = format!("{first}{}Input", c.as_str());
    match field {
        "archiveAccount" | "archiveContact" | "archiveInteraction" | "archiveUser" | "reactivateAccount" => {
            "TargetInput".into()
        }
        _ => name,
    }
}

/// The codes of a response's top-level errors.
pub fn error_codes(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| errors.iter().filter_map(|e| e["extensions"]["code"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// The rule plugins under `plugins/`, built for wasm32-wasip2.
pub mod guests;

/// The UUID inside a global id (`base64url("Kind:uuid")`), for tests that reach the database.
pub fn global_uuid(id: &str) -> uuid::Uuid {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(id).expect("a global id");
    let text = String::from_utf8(raw).expect("utf-8");
    text.split_once(':').expect("Kind:uuid").1.parse().expect("a uuid")
}

/// A fragment bomb: fragments each spreading the next `fanout` times, `levels` deep, a few
/// hundred bytes that expand to `fanout^(levels - 1)` selections.
pub fn fragment_bomb(levels: usize, fanout: usize) -> String {
    let mut q = String::from("query { viewer { ...F0 } }\n");
    for l in 0..levels {
        let body = if l + 1 == levels {
            "id".to_owned()
        } else {
            std::iter::repeat_n(format!("...F{}", l + 1), fanout).collect::<Vec<_>>().join(" ")
        };
        q.push_str(&format!("fragment F{l} on User {{ {body} }}\n"));
    }
    q
}
