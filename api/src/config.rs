//! Configuration: command-line flags, then `BELLWETHER_*` environment variables, then an optional
//! TOML file, then defaults, in that order of precedence.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;

/// Settings shared by every subcommand, as flags and environment variables.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ConfigArgs {
    /// TOML configuration file.
    #[arg(long, env = "BELLWETHER_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Database URL: `sqlite://path/to/file.db` or `postgres://user@host/db`.
    #[arg(long, env = "BELLWETHER_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Address to listen on.
    #[arg(long, env = "BELLWETHER_LISTEN", global = true)]
    pub listen: Option<SocketAddr>,
    /// Log format: `text` or `json`.
    #[arg(long, env = "BELLWETHER_LOG_FORMAT", global = true)]
    pub log_format: Option<LogFormat>,
    /// Token signing algorithm: HS256, RS256 or ES256.
    #[arg(long, env = "BELLWETHER_JWT_ALGORITHM", global = true)]
    pub jwt_algorithm: Option<JwtAlgorithm>,
    /// HS256 shared secret. Without one (and with HS256), a development secret is generated and
    /// kept in the database.
    #[arg(long, env = "BELLWETHER_JWT_SECRET", global = true, hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// PEM file with the RS256/ES256 public key that verifies tokens.
    #[arg(long, env = "BELLWETHER_JWT_PUBLIC_KEY_FILE", global = true)]
    pub jwt_public_key_file: Option<PathBuf>,
    /// PEM file with the RS256/ES256 private key (only `bellwether token` needs it).
    #[arg(long, env = "BELLWETHER_JWT_PRIVATE_KEY_FILE", global = true)]
    pub jwt_private_key_file: Option<PathBuf>,
    /// Required `iss` claim, if set.
    #[arg(long, env = "BELLWETHER_JWT_ISSUER", global = true)]
    pub jwt_issuer: Option<String>,
    /// Required `aud` claim, if set.
    #[arg(long, env = "BELLWETHER_JWT_AUDIENCE", global = true)]
    pub jwt_audience: Option<String>,
    /// Disable introspection and "did you mean" suggestions (recommended in production).
    #[arg(long, env = "BELLWETHER_PRODUCTION", global = true)]
    pub production: Option<bool>,
    /// OTLP/HTTP endpoint receiving traces, the full URL (e.g.
    /// `http://collector:4318/v1/traces`); none: no trace export.
    #[arg(long, env = "BELLWETHER_OTLP_ENDPOINT", global = true)]
    pub otlp_endpoint: Option<String>,
    /// How often every organisation's accounts are swept by the risk rules (e.g. `1h`, `15m`),
    /// or `off`. Replicas share one schedule.
    #[arg(long, env = "BELLWETHER_RISK_SWEEP_INTERVAL", global = true)]
    pub risk_sweep_interval: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, clap::ValueEnum)]
pub enum JwtAlgorithm {
    #[value(name = "HS256")]
    HS256,
    #[value(name = "RS256")]
    RS256,
    #[value(name = "ES256")]
    ES256,
}

/// The TOML file; every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    database_url: Option<String>,
    listen: Option<SocketAddr>,
    log_format: Option<LogFormat>,
    production: Option<bool>,
    risk_sweep_interval: Option<String>,
    otlp_endpoint: Option<String>,
    #[serde(default)]
    jwt: FileJwt,
    #[serde(default)]
    limits: FileLimits,
    #[serde(default)]
    plugins: FilePlugins,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileJwt {
    algorithm: Option<JwtAlgorithm>,
    secret: Option<String>,
    public_key_file: Option<PathBuf>,
    private_key_file: Option<PathBuf>,
    issuer: Option<String>,
    audience: Option<String>,
    default_ttl: Option<String>,
    max_ttl: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLimits {
    max_depth: Option<usize>,
    max_introspection_depth: Option<usize>,
    max_complexity: Option<usize>,
    max_aliases: Option<usize>,
    max_directives: Option<usize>,
    max_tokens: Option<usize>,
    max_selections: Option<u64>,
    max_operations: Option<usize>,
    max_variables: Option<usize>,
    rate_requests_per_minute: Option<u32>,
    rate_cost_per_minute: Option<u64>,
    max_body_bytes: Option<usize>,
    request_timeout_secs: Option<u64>,
    db_max_connections: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePlugins {
    max_component_bytes: Option<usize>,
    fuel: Option<u64>,
    timeout_ms: Option<u64>,
    memory_mb: Option<usize>,
    log_bytes: Option<usize>,
    inert_system_imports: Option<bool>,
}

/// Token settings.
#[derive(Clone, Debug)]
pub struct JwtConfig {
    pub algorithm: JwtAlgorithm,
    pub secret: Option<String>,
    pub public_key_pem: Option<Vec<u8>>,
    pub private_key_pem: Option<Vec<u8>>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub default_ttl: Duration,
    /// Tokens claiming a longer life (`exp` - `iat`) are refused.
    pub max_ttl: Duration,
}

/// Request and query limits.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Field depth of an operation.
    pub max_depth: usize,
    /// Field depth of an operation that selects only introspection.
    pub max_introspection_depth: usize,
    /// async-graphql's complexity: a connection costs its page size times its node.
    pub max_complexity: usize,
    /// Aliased fields of an operation, fragments counted once per use.
    pub max_aliases: usize,
    pub max_directives: usize,
    /// Lexical tokens of a document.
    pub max_tokens: usize,
    /// Selections of a document once its fragments are expanded.
    pub max_selections: u64,
    /// Operations in one document.
    pub max_operations: usize,
    /// Variables of one operation.
    pub max_variables: usize,
    /// Requests per user and minute on each replica (0: no limit).
    pub rate_requests_per_minute: u32,
    /// Query cost (expanded selections) per user and minute on each replica (0: no limit).
    pub rate_cost_per_minute: u64,
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    pub db_max_connections: u32,
}

impl Limits {
    /// The bounds checked on a document before async-graphql sees it.
    pub fn document(&self) -> crate::graphql::document::DocumentLimits {
        crate::graphql::document::DocumentLimits {
            max_tokens: self.max_tokens,
            max_brackets: 64,
            max_selections: self.max_selections,
            max_complexity: self.max_complexity as u64,
            max_depth: u32::try_from(self.max_depth).unwrap_or(u32::MAX),
            max_introspection_depth: u32::try_from(self.max_introspection_depth).unwrap_or(u32::MAX),
            max_aliases: self.max_aliases as u64,
            max_operations: self.max_operations,
            max_variables: self.max_variables,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 12,
            max_introspection_depth: 20,
            max_complexity: 10_000,
            max_aliases: 30,
            max_directives: 5,
            max_tokens: 15_000,
            max_selections: 20_000,
            max_operations: 50,
            max_variables: 100,
            rate_requests_per_minute: 1_200,
            rate_cost_per_minute: 600_000,
            max_body_bytes: 1 << 20,
            request_timeout: Duration::from_secs(30),
            db_max_connections: 10,
        }
    }
}

/// The resolved configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: String,
    pub listen: SocketAddr,
    pub log_format: LogFormat,
    /// Introspection and suggestions off.
    pub production: bool,
    pub jwt: JwtConfig,
    pub limits: Limits,
    /// Interval of the scheduled risk sweep; `None` when switched off.
    pub risk_sweep_interval: Option<Duration>,
    /// What rule plugins may use.
    pub plugins: bellwether_rules::plugin::Limits,
    /// Where traces go (OTLP over HTTP); `None`: nowhere.
    pub otlp_endpoint: Option<String>,
}

/// The longest a token may live unless configured otherwise.
pub const DEFAULT_MAX_TTL: Duration = Duration::from_secs(30 * 86_400);

/// Default interval of the scheduled risk sweep.
pub const DEFAULT_RISK_SWEEP_INTERVAL: Duration = Duration::from_secs(3600);

/// The database used when none is configured: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://bellwether.db?mode=rwc";

impl Config {
    /// Resolves flags and environment (already merged by clap) over the file over defaults.
    pub fn load(args: &ConfigArgs) -> anyhow::Result<Self> {
        let file: FileConfig = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?
            }
            None => FileConfig::default(),
        };
        let read_pem = |p: Option<PathBuf>| -> anyhow::Result<Option<Vec<u8>>> {
            p.map(|p| std::fs::read(&p).with_context(|| format!("reading key file {}", p.display()))).transpose()
        };
        let defaults = Limits::default();
        let jwt = JwtConfig {
            algorithm: args.jwt_algorithm.or(file.jwt.algorithm).unwrap_or(JwtAlgorithm::HS256),
            secret: args.jwt_secret.clone().or(file.jwt.secret),
            public_key_pem: read_pem(args.jwt_public_key_file.clone().or(file.jwt.public_key_file))?,
            private_key_pem: read_pem(args.jwt_private_key_file.clone().or(file.jwt.private_key_file))?,
            issuer: args.jwt_issuer.clone().or(file.jwt.issuer),
            audience: args.jwt_audience.clone().or(file.jwt.audience),
            default_ttl: match file.jwt.default_ttl {
                Some(t) => parse_duration(&t).context("jwt.default_ttl")?,
                None => Duration::from_secs(8 * 3600),
            },
            max_ttl: match file.jwt.max_ttl {
                Some(t) => parse_duration(&t).context("jwt.max_ttl")?,
                None => DEFAULT_MAX_TTL,
            },
        };
        if jwt.default_ttl > jwt.max_ttl {
            bail!("jwt.default_ttl must not be longer than jwt.max_ttl");
        }
        if jwt.algorithm != JwtAlgorithm::HS256 && jwt.public_key_pem.is_none() {
            bail!("{:?} needs a public key file (--jwt-public-key-file)", jwt.algorithm);
        }
        if jwt.secret.as_ref().is_some_and(|s| s.len() < 32) {
            bail!("the JWT secret must be at least 32 bytes long");
        }
        let limits = Limits {
            max_depth: file.limits.max_depth.unwrap_or(defaults.max_depth),
            max_introspection_depth: file.limits.max_introspection_depth.unwrap_or(defaults.max_introspection_depth),
            max_complexity: file.limits.max_complexity.unwrap_or(defaults.max_complexity),
            max_aliases: file.limits.max_aliases.unwrap_or(defaults.max_aliases),
            max_directives: file.limits.max_directives.unwrap_or(defaults.max_directives),
            max_tokens: file.limits.max_tokens.unwrap_or(defaults.max_tokens),
            max_selections: file.limits.max_selections.unwrap_or(defaults.max_selections),
            max_operations: file.limits.max_operations.unwrap_or(defaults.max_operations),
            max_variables: file.limits.max_variables.unwrap_or(defaults.max_variables),
            rate_requests_per_minute: file.limits.rate_requests_per_minute.unwrap_or(defaults.rate_requests_per_minute),
            rate_cost_per_minute: file.limits.rate_cost_per_minute.unwrap_or(defaults.rate_cost_per_minute),
            max_body_bytes: file.limits.max_body_bytes.unwrap_or(defaults.max_body_bytes),
            request_timeout: file.limits.request_timeout_secs.map_or(defaults.request_timeout, Duration::from_secs),
            db_max_connections: file.limits.db_max_connections.unwrap_or(defaults.db_max_connections),
        };
        Ok(Self {
            database_url: args
                .database_url
                .clone()
                .or(file.database_url)
                .unwrap_or_else(|| DEFAULT_DATABASE_URL.into()),
            listen: args.listen.or(file.listen).unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            log_format: args.log_format.or(file.log_format).unwrap_or(LogFormat::Text),
            production: args.production.or(file.production).unwrap_or(false),
            risk_sweep_interval: match args.risk_sweep_interval.clone().or(file.risk_sweep_interval).as_deref() {
                None => Some(DEFAULT_RISK_SWEEP_INTERVAL),
                Some("off") => None,
                Some(t) => Some(parse_duration(t).context("risk_sweep_interval (a duration like 15m or 1h, or off)")?),
            },
            otlp_endpoint: args.otlp_endpoint.clone().or(file.otlp_endpoint),
            jwt,
            limits,
            plugins: {
                let d = bellwether_rules::plugin::Limits::default();
                let p = file.plugins;
                bellwether_rules::plugin::Limits {
                    max_component_bytes: p.max_component_bytes.unwrap_or(d.max_component_bytes),
                    fuel: p.fuel.unwrap_or(d.fuel),
                    timeout: p.timeout_ms.map_or(d.timeout, Duration::from_millis),
                    memory_bytes: p.memory_mb.map_or(d.memory_bytes, |mb| mb << 20),
                    log_bytes: p.log_bytes.unwrap_or(d.log_bytes),
                    inert_system_imports: p.inert_system_imports.unwrap_or(d.inert_system_imports),
                }
            },
        })
    }
}

/// Parses `90s`, `30m`, `8h` or `7d`.
pub fn parse_duration(text: &str) -> anyhow::Result<Duration> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n.parse().with_context(|| format!("'{t}' is not a duration like 30m, 8h or 7d"))?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => bail!("'{t}' is not a duration like 30m, 8h or 7d"),
    };
    if secs == 0 {
        bail!("duration must be positive");
    }
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("8h").unwrap(), Duration::from_secs(8 * 3600));
        assert_eq!(parse_duration("7d").unwrap(), Duration::from_secs(7 * 86_400));
        for bad in ["", "h", "10", "10y", "0m", "-1h"] {
            assert!(parse_duration(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn file_values_apply_under_flags() {
        let dir = std::env::temp_dir().join(format!("bellwether-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bellwether.toml");
        std::fs::write(
            &path,
            "database_url = \"sqlite://file.db\"\nlisten = \"0.0.0.0:9000\"\n[limits]\nmax_depth = 7\n[jwt]\nissuer = \"file\"\n",
        )
        .unwrap();
        let args = ConfigArgs {
            config: Some(path.clone()),
            listen: Some("127.0.0.1:1".parse().unwrap()),
            ..Default::default()
        };
        let c = Config::load(&args).unwrap();
        assert_eq!(c.database_url, "sqlite://file.db");
        assert_eq!(c.listen, "127.0.0.1:1".parse().unwrap());
        assert_eq!(c.limits.max_depth, 7);
        assert_eq!(c.jwt.issuer.as_deref(), Some("file"));
        std::fs::write(&path, "unknown_key = 1\n").unwrap();
        assert!(Config::load(&args).is_err());
    }
}
