//! Organisations' rule plugins: upload (WebAssembly components, base64 in the request), list,
//! versions, enable/disable, and their recent runs with instructions, memory and errors.
//! Admins only. A plugin's parameters are set like any rule's, with `configureRiskRule`.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use base64::Engine as _;
use bellwether_domain::plugins as domain;
use bellwether_domain::risks::runs::{self, RunFilter};
use bellwether_domain::{self as d, PageRequest, PluginId};
use chrono::{DateTime, Utc};

use super::risks::{RiskRule, RuleFailure, RuleRun, RuleRunStat, engine};
use super::scalars::RiskCategory;
use super::support::{GqlResult, Kind, global_id, input_id, outcome, payload, request};
use super::users::User;

/// Whether a plugin runs.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "bellwether_domain::PluginStatus")]
pub enum RulePluginStatus {
    /// Runs with the other rules.
    Enabled,
    /// Switched off by an admin.
    Disabled,
    /// Switched off by the circuit breaker after failing on too many accounts in a row;
    /// `setRulePluginEnabled` (or a new version) switches it back on.
    Tripped,
}

pub struct RulePlugin(pub domain::Plugin);

pub struct RulePluginVersion(domain::PluginVersion, i32);

/// How a plugin fared in one evaluation run.
#[derive(SimpleObject)]
pub struct RulePluginRun {
    /// The evaluation run.
    pub run: RuleRun,
    /// The plugin's figures in it: evaluations, findings, failures, time, instructions,
    /// memory, log lines.
    pub stat: RuleRunStat,
    /// The plugin's failures in it (of the first 100 failures of the run).
    pub failures: Vec<RuleFailure>,
}

/// One uploaded version of a plugin.
#[Object]
impl RulePluginVersion {
    /// 1 for the first upload, then 2, 3...
    async fn number(&self) -> i32 {
        self.0.number
    }
    /// Whether this version runs.
    async fn current(&self) -> bool {
        self.0.number == self.1
    }
    /// SHA-256 of the component, hex.
    async fn sha256(&self) -> &str {
        &self.0.sha256
    }
    /// Size of the component in bytes.
    async fn size_bytes(&self) -> i32 {
        self.0.size_bytes
    }
    /// The `bellwether:rules` WIT version it was built against.
    async fn wit_version(&self) -> &str {
        &self.0.wit_version
    }
    /// The rule's metadata as read from the component at upload: key, name, category,
    /// description, inputs, metrics, lookbackDays, params.
    async fn metadata(&self) -> async_graphql::Json<serde_json::Value> {
        async_graphql::Json(self.0.metadata.clone())
    }
    /// Who uploaded it.
    async fn uploaded_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        super::risks::optional_user(ctx, self.0.uploaded_by).await
    }
    /// When this version was uploaded.
    async fn uploaded_at(&self) -> DateTime<Utc> {
        self.0.uploaded_at
    }
}

/// A risk rule your organisation wrote, as a WebAssembly component.
#[Object]
impl RulePlugin {
    /// Opaque global id: pass it to `node(id:)` or wherever an input asks for this object.
    pub async fn id(&self) -> ID {
        global_id(Kind::RulePlugin, self.0.id.0)
    }
    /// The rule key (from the component's metadata; stable across versions).
    async fn key(&self) -> &str {
        &self.0.key
    }
    /// The rule's name, from the component's metadata.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What it looks for.
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// The category of its findings.
    async fn category(&self) -> RiskCategory {
        self.0.category.into()
    }
    /// Whether it runs.
    async fn status(&self) -> RulePluginStatus {
        self.0.status.into()
    }
    /// The version that runs.
    async fn current_version(&self) -> i32 {
        self.0.current_version
    }
    /// Failed evaluations in a row (the circuit breaker switches the plugin off at 25).
    async fn consecutive_failures(&self) -> i32 {
        self.0.consecutive_failures
    }
    /// When the circuit breaker switched it off.
    async fn tripped_at(&self) -> Option<DateTime<Utc>> {
        self.0.tripped_at
    }
    /// The last error before the circuit breaker switched it off.
    async fn trip_reason(&self) -> Option<&str> {
        self.0.trip_reason.as_deref()
    }
    /// Every uploaded version, newest first.
    async fn versions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<RulePluginVersion>> {
        let r = request(ctx);
        Ok(domain::versions(&r.db, r.actor.organisation, self.0.id)
            .await
            .gql()?
            .into_iter()
            .map(|v| RulePluginVersion(v, self.0.current_version))
            .collect())
    }
    /// The rule with your organisation's settings (parameters, auto-resolve, cool-down); change
    /// them with `configureRiskRule`. Null if this server can no longer run the component.
    async fn rule(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<RiskRule>> {
        let r = request(ctx);
        Ok(engine(ctx).configured_rule(&r.db, r.actor.organisation, &self.0.key).await.gql()?.map(RiskRule))
    }
    /// Its latest runs (among the organisation's last 100 runs), newest first.
    async fn runs(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10, desc = "How many (1-100).")] first: i32,
    ) -> async_graphql::Result<Vec<RulePluginRun>> {
        let r = request(ctx);
        if !(1..=100).contains(&first) {
            return Err(super::risks::bad_input("`first` must be between 1 and 100"));
        }
        let org = r.actor.organisation;
        let page = PageRequest { first: Some(100), ..Default::default() };
        let recent = runs::list(&r.db, org, &RunFilter::default(), &page).await.gql()?;
        let mut out = Vec::new();
        for (_, run) in recent.edges {
            let Some(stat) = run.rules.iter().find(|s| s.rule_key == self.0.key && s.evaluations + s.skipped > 0)
            else {
                continue;
            };
            let stat = RuleRunStat::from(stat);
            let failures = if stat.failures > 0 {
                runs::failures(&r.db, org, run.id)
                    .await
                    .gql()?
                    .into_iter()
                    .filter(|f| f.rule_key == self.0.key)
                    .map(RuleFailure)
                    .collect()
            } else {
                Vec::new()
            };
            out.push(RulePluginRun { run: RuleRun(run), stat, failures });
            if out.len() == first as usize {
                break;
            }
        }
        Ok(out)
    }
    /// Who uploaded the first version.
    async fn created_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        super::risks::optional_user(ctx, self.0.created_by).await
    }
    /// For optimistic concurrency (`expectedVersion`).
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When the first version was uploaded.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the plugin last changed: a new version, another version made current, switched on
    /// or off, or tripped.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

#[derive(Default)]
pub struct PluginQuery;

#[Object]
impl PluginQuery {
    /// Your organisation's rule plugins, by key (admins).
    async fn rule_plugins(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<RulePlugin>> {
        let r = request(ctx);
        r.actor.require_admin().gql()?;
        Ok(domain::list(&r.db, r.actor.organisation).await.gql()?.into_iter().map(RulePlugin).collect())
    }
}

/// A WebAssembly component implementing `bellwether:rules` (see plugins/ in the repository).
#[derive(InputObject)]
pub struct UploadRulePluginInput {
    /// The component's bytes, base64 (standard alphabet, padded). The request must fit the
    /// server's body limit (`limits.max_body_bytes`).
    pub component: String,
}

payload!(
    /// Result of an upload: the plugin with the new version current (or unchanged, when the
    /// same component was already current).
    UploadRulePluginPayload { plugin: RulePlugin }
);

/// Switches a plugin on or off.
#[derive(InputObject)]
pub struct SetRulePluginEnabledInput {
    /// The plugin to switch on or off.
    pub id: ID,
    /// On (also resets the circuit breaker) or off.
    pub enabled: bool,
    /// The `version` you read; the change is refused if the plugin changed since.
    pub expected_version: Option<i32>,
}

payload!(
    /// Result of switching a plugin on or off.
    SetRulePluginEnabledPayload { plugin: RulePlugin }
);

/// Makes another uploaded version of a plugin the one that runs.
#[derive(InputObject)]
pub struct ActivateRulePluginVersionInput {
    /// The plugin whose version to run.
    pub id: ID,
    /// The version's `number`.
    pub number: i32,
    /// The `version` you read; the change is refused if the plugin changed since.
    pub expected_version: Option<i32>,
}

payload!(
    /// Result of activating a version.
    ActivateRulePluginVersionPayload { plugin: RulePlugin }
);

#[derive(Default)]
pub struct PluginMutation;

#[Object]
impl PluginMutation {
    /// Uploads a rule plugin (admins): checks it (size, a component, allowed imports only, a
    /// supported WIT version, the exports, a test instantiation, its metadata), then stores it
    /// as the plugin's new current version. The plugin runs with the other rules from the next
    /// evaluation.
    async fn upload_rule_plugin(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The WebAssembly component, base64-encoded.")] input: UploadRulePluginInput,
    ) -> async_graphql::Result<UploadRulePluginPayload> {
        let r = request(ctx);
        let result = async {
            r.actor.require_admin()?;
            let Some(host) = engine(ctx).plugin_host().cloned() else {
                return Err(d::Error::invalid(&["component"], "this server runs no plugins"));
            };
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(input.component.trim())
                .map_err(|e| d::Error::invalid(&["component"], format!("not base64: {e}")))?;
            let compiled = tokio::task::spawn_blocking(move || host.compile(&bytes).map(|rule| (rule, bytes)))
                .await
                .map_err(d::Error::internal)?;
            let (rule, bytes) = compiled.map_err(|e| d::Error::invalid(&["component"], e.to_string()))?;
            let uploaded = domain::upload(&r.db, &r.actor, rule.upload(bytes)).await?;
            tracing::info!(
                plugin = %uploaded.plugin.key,
                version = uploaded.version.number,
                sha256 = %uploaded.version.sha256,
                created = uploaded.created,
                "rule plugin uploaded"
            );
            Ok(uploaded.plugin)
        }
        .await;
        outcome(result, RulePlugin).map(Into::into)
    }

    /// Makes another uploaded version current (admins): the roll-back after a bad upload. Resets
    /// the circuit breaker; the version runs from the next evaluation.
    async fn activate_rule_plugin_version(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The plugin and the number of the uploaded version to run.")]
        input: ActivateRulePluginVersionInput,
    ) -> async_graphql::Result<ActivateRulePluginVersionPayload> {
        let r = request(ctx);
        let result = async {
            let id = PluginId(input_id(&input.id, Kind::RulePlugin, &["id"])?);
            domain::activate_version(&r.db, &r.actor, id, input.number, input.expected_version).await
        }
        .await;
        outcome(result, RulePlugin).map(Into::into)
    }

    /// Switches a plugin on or off (admins). Switching on resets the circuit breaker.
    async fn set_rule_plugin_enabled(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The plugin and whether it should run.")] input: SetRulePluginEnabledInput,
    ) -> async_graphql::Result<SetRulePluginEnabledPayload> {
        let r = request(ctx);
        let result = async {
            let id = PluginId(input_id(&input.id, Kind::RulePlugin, &["id"])?);
            domain::set_enabled(&r.db, &r.actor, id, input.enabled, input.expected_version).await
        }
        .await;
        outcome(result, RulePlugin).map(Into::into)
    }
}
