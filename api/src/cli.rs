//! The `bellwether` command line.

use anyhow::{Context, bail};
use bellwether_domain::organisations::NewOrganisation;
use bellwether_domain::{demo, organisations, users};
use clap::{Parser, Subcommand};

use crate::app::{Application, open_database, redact, shutdown_signal};
use crate::auth::Authenticator;
use crate::config::{Config, ConfigArgs, parse_duration};
use crate::{graphql, telemetry};

/// Bellwether: early warning and follow-through for key-account risk.
#[derive(Debug, Parser)]
#[command(name = "bellwether", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the GraphQL server (migrations are applied first).
    Serve {
        /// Load the demo organisation (once) and print an admin token.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Mint a token for an existing user with the configured signing key.
    Token {
        /// Organisation slug.
        #[arg(long)]
        org: String,
        /// The user's email.
        #[arg(long)]
        user: String,
        /// Lifetime, e.g. 30m, 8h, 7d (default from configuration, 8h).
        #[arg(long)]
        ttl: Option<String>,
    },
    /// Create an organisation with its first admin.
    CreateOrg {
        /// Short unique name (lowercase letters, digits, dashes).
        #[arg(long)]
        slug: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// The first admin's email.
        #[arg(long)]
        admin_email: String,
        /// The first admin's name.
        #[arg(long)]
        admin_name: String,
        /// The organisation's IANA time zone (its "today" for deadlines), e.g. Europe/Paris.
        #[arg(long, default_value = "UTC")]
        time_zone: String,
    },
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Tools for rule plugins (WebAssembly components): check, run, test.
    Plugin {
        #[command(subcommand)]
        command: crate::plugin_cli::PluginCommand,
    },
    /// Import signals from a JSON Lines or CSV file (streamed in batches; rerunning is a no-op).
    Import {
        /// The file.
        file: std::path::PathBuf,
        /// What the file holds.
        #[arg(long, value_enum)]
        kind: crate::import::SignalKind,
        /// Organisation slug.
        #[arg(long)]
        org: String,
        /// Email of the importing user (an admin or manager, or the accounts' owner).
        #[arg(long)]
        user: String,
        /// File format (default: by extension).
        #[arg(long, value_enum, default_value = "auto")]
        format: crate::import::Format,
        /// Items per transaction (1-5000).
        #[arg(long, default_value_t = 1000)]
        batch_size: usize,
        /// Longest line accepted, in bytes; longer lines are reported and skipped.
        #[arg(long, default_value_t = crate::import::DEFAULT_MAX_LINE_BYTES)]
        max_line_bytes: usize,
    },
}

/// Runs the command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load(&cli.config)?;
    // Held until the command ends: dropping it sends the traces still buffered.
    let _telemetry = telemetry::init(config.log_format, config.otlp_endpoint.as_deref())?;
    match cli.command {
        Command::Serve { demo } => serve(&config, demo).await,
        Command::Plugin { command } => crate::plugin_cli::run(command, config.plugins.clone()),
        Command::Migrate => {
            open_database(&config).await?;
            println!("migrations applied to {}", redact(&config.database_url));
            Ok(())
        }
        Command::Token { org, user, ttl } => {
            let db = open_database(&config).await?;
            let auth = Authenticator::new(&config.jwt, &db).await?;
            let ttl = ttl.as_deref().map(parse_duration).transpose()?.unwrap_or(auth.default_ttl);
            let organisation =
                organisations::by_slug(&db, &org).await?.with_context(|| format!("no organisation '{org}'"))?;
            let u = users::by_email(&db, organisation.id, &user)
                .await?
                .with_context(|| format!("no user '{user}' in organisation '{org}'"))?;
            if u.archived_at.is_some() {
                bail!("user '{user}' is archived");
            }
            println!("{}", auth.mint(&u, ttl)?);
            Ok(())
        }
        Command::CreateOrg { slug, name, admin_email, admin_name, time_zone } => {
            let db = open_database(&config).await?;
            let new = NewOrganisation { slug, name, admin_email, admin_name, time_zone: Some(time_zone) };
            let (org, admin) = organisations::create(&db, new).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("created organisation '{}' with admin {}", org.slug, admin.email);
            println!("mint a token with: bellwether token --org {} --user {}", org.slug, admin.email);
            Ok(())
        }
        Command::Import { file, kind, org, user, format, batch_size, max_line_bytes } => {
            let db = open_database(&config).await?;
            let organisation =
                organisations::by_slug(&db, &org).await?.with_context(|| format!("no organisation '{org}'"))?;
            let u = users::by_email(&db, organisation.id, &user)
                .await?
                .with_context(|| format!("no user '{user}' in organisation '{org}'"))?;
            if u.archived_at.is_some() {
                bail!("user '{user}' is archived");
            }
            let actor = bellwether_domain::Actor {
                organisation: organisation.id,
                user: u.id,
                role: u.role,
                time_zone: organisation.time_zone,
            };
            let mut shown = 0;
            let options = crate::import::Options { kind, format, batch_size, max_line_bytes };
            let summary = crate::import::run(&db, &actor, &file, options, |p| {
                shown += 1;
                if shown <= 20 {
                    eprintln!("line {}: {}", p.line, p.message);
                } else if shown == 21 {
                    eprintln!("(further rejected lines are counted, not shown)");
                }
            })
            .await?;
            // Health follows the new signals: recompute what this import touched.
            while bellwether_domain::health::recompute_dirty(&db, 100).await.map_err(|e| anyhow::anyhow!("{e}"))? > 0 {}
            println!(
                "{} accepted, {} updated, {} duplicates, {} rejected",
                summary.accepted, summary.updated, summary.duplicates, summary.rejected
            );
            Ok(())
        }
        Command::Schema => {
            print!("{}", graphql::sdl());
            Ok(())
        }
    }
}

async fn serve(config: &Config, load_demo: bool) -> anyhow::Result<()> {
    let app = Application::build(config).await?;
    let addr = app.local_addr();
    if load_demo {
        let d = demo::load(&app.db).await.map_err(|e| anyhow::anyhow!("loading the demo: {e}"))?;
        let token = app.auth.mint(&d.admin, app.auth.default_ttl)?;
        app.graphiql.token(&token);
        let what = if d.created { "loaded" } else { "already present" };
        println!("Demo organisation '{}' {what}. Admin: {}", d.organisation.slug, d.admin.email);
        println!("GraphiQL: http://{addr}/graphql");
        println!("(GraphiQL opens with the demo admin's token in its headers.)");
        println!("Admin token (send as `Authorization: Bearer <token>`):\n{token}");
    }
    tracing::info!(%addr, database = %redact(&config.database_url), "Bellwether is listening; GraphiQL at /graphql");
    app.run_until(shutdown_signal()).await
}
