//! The evaluation engine: which rules an organisation runs with which parameters, and the
//! passes that run them (after signals arrive, on demand, in scheduled sweeps, as previews and
//! as backtests). Loading and persisting go through `domain`; evaluation itself is pure.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Instant;

use bellwether_domain::plugins;
use bellwether_domain::risks::runs::{self, Failure, RuleStat, RunRecord};
use bellwether_domain::risks::settings::{self, DEFAULT_COOLDOWN_DAYS, SettingChange};
use bellwether_domain::risks::snapshot::{self, AccountSnapshot, Needs};
use bellwether_domain::risks::{self, AccountOutcome, RuleOutcome};
use bellwether_domain::{
    AccountId, Actor, Db, Error, FieldError, OrganisationId, Result, RuleRunId, RuleTrigger, values,
};
use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::plugin::PluginHost;
use crate::{Evaluation, Finding, ParamValue, Params, Rule, RuleError, Usage, check_output};

/// Accounts loaded and evaluated together (bounds memory; each chunk is a constant number of
/// queries).
pub const CHUNK: usize = 500;
/// Accounts a backtest may cover.
pub const MAX_BACKTEST_ACCOUNTS: usize = 200;
/// Moments a backtest may evaluate per account.
pub const MAX_BACKTEST_DATES: usize = 400;

/// A rule as an organisation runs it.
#[derive(Clone)]
pub struct Configured {
    pub rule: Arc<dyn Rule>,
    pub params: Params,
    pub enabled: bool,
    pub auto_resolve: bool,
    pub cooldown_days: i32,
    /// 0 while the organisation never changed the defaults.
    pub version: i32,
    pub updated_at: Option<DateTime<Utc>>,
    /// Plugins: failures in a row still allowed before the circuit breaker switches it off.
    pub trip_budget: Option<u32>,
    /// False for a plugin an admin switched off or the circuit breaker tripped (its settings
    /// stay as they are, and can still be changed).
    pub active: bool,
}

impl Configured {
    /// Whether evaluations run it.
    pub fn runs(&self) -> bool {
        self.enabled && self.active
    }
}

/// What an evaluation pass did.
#[derive(Clone, Debug, Default)]
pub struct RunReport {
    pub run: Option<RuleRunId>,
    pub record: RunRecord,
}

/// A finding with the rule that produced it.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleFinding {
    pub rule_key: String,
    pub finding: Finding,
}

/// A dry run's result.
#[derive(Clone, Debug, Default)]
pub struct Preview {
    pub as_of: DateTime<Utc>,
    pub findings: Vec<RuleFinding>,
    pub failures: Vec<Failure>,
}

/// When a rule would have fired for one account.
#[derive(Clone, Debug)]
pub struct BacktestAccount {
    pub account: AccountId,
    /// Each evaluated date on which the rule fired, with its findings.
    pub firings: Vec<(NaiveDate, Vec<Finding>)>,
    /// Failures (date, message), if the rule failed on some dates.
    pub failures: Vec<(NaiveDate, String)>,
}

/// A backtest's result.
#[derive(Clone, Debug)]
pub struct Backtest {
    pub rule_key: String,
    pub params: Params,
    pub dates: Vec<NaiveDate>,
    pub accounts: Vec<BacktestAccount>,
}

/// What a backtest covers.
#[derive(Clone, Debug)]
pub struct BacktestRequest {
    pub rule_key: String,
    /// Parameter overrides to try (on top of the organisation's current settings).
    pub params: BTreeMap<String, ParamValue>,
    pub accounts: Vec<AccountId>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub every_days: i64,
}

/// A change to a rule's settings; `None` keeps the current value.
#[derive(Clone, Debug, Default)]
pub struct RuleChange {
    pub enabled: Option<bool>,
    /// Parameters to set; a `None` value restores the default.
    pub params: Vec<(String, Option<ParamValue>)>,
    pub auto_resolve: Option<bool>,
    pub cooldown_days: Option<i32>,
    pub expected_version: Option<i32>,
}

/// The rule engine: the built-in rules, and organisations' plugins when it has a plugin host.
#[derive(Clone)]
pub struct Engine {
    rules: Vec<Arc<dyn Rule>>,
    plugins: Option<Arc<PluginHost>>,
}

impl Default for Engine {
    fn default() -> Self {
        Self::new(crate::builtin::all())
    }
}

fn invalid(field: &[&str], message: impl Into<String>) -> Error {
    Error::invalid(field, message)
}

/// Runs a rule, turning panics and invalid output into typed failures.
pub(crate) fn run_rule(
    rule: &dyn Rule,
    snapshot: &AccountSnapshot,
    params: &Params,
) -> std::result::Result<Evaluation, RuleError> {
    run_metered(rule, snapshot, params).0
}

/// Runs a rule as every pass does: panics caught, output checked ([`check_output`]), with what
/// the evaluation cost (plugins). The CLI and the benchmark use it too.
pub fn run_metered(
    rule: &dyn Rule,
    snapshot: &AccountSnapshot,
    params: &Params,
) -> (std::result::Result<Evaluation, RuleError>, Option<Usage>) {
    let (result, usage) = catch_unwind(AssertUnwindSafe(|| rule.evaluate_metered(snapshot, params)))
        .unwrap_or_else(|_| (Err(RuleError::Failed("the rule panicked".into())), None));
    let result = result.and_then(|e| check_output(rule.meta(), &e).map(|()| e));
    (result, usage)
}

/// Runs CPU-bound evaluation on tokio's blocking pool, away from the threads serving requests
/// (a plugin may legitimately use its whole time budget).
pub(crate) async fn off_runtime<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(Error::internal)
}

impl Engine {
    pub fn new(rules: Vec<Arc<dyn Rule>>) -> Self {
        Self { rules, plugins: None }
    }

    /// Runs organisations' plugins with this host too.
    pub fn with_plugins(mut self, host: Arc<PluginHost>) -> Self {
        self.plugins = Some(host);
        self
    }

    pub fn plugin_host(&self) -> Option<&Arc<PluginHost>> {
        self.plugins.as_ref()
    }

    pub fn rule(&self, key: &str) -> Option<&Arc<dyn Rule>> {
        self.rules.iter().find(|r| r.meta().key == key)
    }

    /// The organisation's enabled plugins, compiled (from the host's cache when it has them).
    /// A stored component this server can no longer run is skipped with a warning.
    async fn plugin_rules(&self, db: &Db, org: OrganisationId) -> Result<Vec<(Arc<dyn Rule>, u32, bool)>> {
        let Some(host) = &self.plugins else { return Ok(Vec::new()) };
        let mut out: Vec<(Arc<dyn Rule>, u32, bool)> = Vec::new();
        for r in plugins::current(db, org).await? {
            let compiled = match host.cached(&r.sha256) {
                Some(c) => Ok(c),
                None => {
                    let Some(bytes) = plugins::component(db, org, &r.sha256).await? else { continue };
                    let host = host.clone();
                    off_runtime(move || host.compile(&bytes)).await?
                }
            };
            match compiled {
                Ok(rule) if rule.meta().key == r.plugin.key => {
                    let budget = (plugins::TRIP_AFTER_FAILURES - r.plugin.consecutive_failures).max(1) as u32;
                    out.push((rule, budget, r.plugin.status == bellwether_domain::PluginStatus::Enabled));
                }
                Ok(rule) => {
                    tracing::warn!(%org, plugin = %r.plugin.key, declared = %rule.meta().key, "stored plugin declares another key; skipped")
                }
                Err(e) => {
                    tracing::warn!(%org, plugin = %r.plugin.key, error = %e, "stored plugin no longer runs here; skipped")
                }
            }
        }
        Ok(out)
    }

    /// Compiles every organisation's current plugin versions into the host's cache (a replica
    /// starting cold does it in the background, so the first evaluations and requests do not wait
    /// for a compilation). Returns how many plugins are ready.
    pub async fn warm_plugins(&self, db: &Db) -> Result<usize> {
        let mut ready = 0;
        for org in runs::organisations(db).await? {
            ready += self.plugin_rules(db, org).await?.len();
        }
        Ok(ready)
    }

    /// Every rule with the organisation's settings: the built-ins, then its enabled plugins.
    pub async fn configured(&self, db: &Db, org: OrganisationId) -> Result<Vec<Configured>> {
        let stored = settings::all(db, org).await?;
        let builtins = self.rules.iter().map(|r| (r.clone(), None, true));
        let plugin_rules = self.plugin_rules(db, org).await?.into_iter().map(|(r, b, active)| (r, Some(b), active));
        Ok(builtins
            .chain(plugin_rules)
            .map(|(rule, trip_budget, active)| {
                let meta = rule.meta();
                match stored.get(&meta.key) {
                    None => Configured {
                        rule: rule.clone(),
                        params: Params::defaults(meta),
                        enabled: true,
                        auto_resolve: meta.auto_resolve,
                        cooldown_days: DEFAULT_COOLDOWN_DAYS,
                        version: 0,
                        updated_at: None,
                        trip_budget,
                        active,
                    },
                    Some(s) => Configured {
                        rule: rule.clone(),
                        // Stored overrides were checked when saved; should a rule drop a
                        // parameter later, the rule runs on its defaults rather than not at all.
                        params: Params::resolve(meta, &s.params).unwrap_or_else(|problems| {
                            tracing::warn!(rule = %meta.key, ?problems, "stored parameters no longer valid; using defaults");
                            Params::defaults(meta)
                        }),
                        enabled: s.enabled,
                        auto_resolve: s.auto_resolve,
                        cooldown_days: s.cooldown_days,
                        version: s.version,
                        updated_at: Some(s.updated_at),
                        trip_budget,
                        active,
                    },
                }
            })
            .collect())
    }

    /// One rule with the organisation's settings.
    pub async fn configured_rule(&self, db: &Db, org: OrganisationId, key: &str) -> Result<Option<Configured>> {
        Ok(self.configured(db, org).await?.into_iter().find(|c| c.rule.meta().key == key))
    }

    /// Changes a rule's settings (admins and managers).
    pub async fn configure(&self, db: &Db, actor: &Actor, key: &str, change: RuleChange) -> Result<Configured> {
        actor.require_manager()?;
        let Some(current) = self.configured_rule(db, actor.organisation, key).await? else {
            return Err(Error::not_found("rule", &["ruleKey"]));
        };
        let meta = current.rule.meta();
        let mut overrides: BTreeMap<String, ParamValue> = current.params.values().clone();
        for (k, v) in change.params {
            match v {
                Some(v) => overrides.insert(k, v),
                None if meta.params.iter().any(|p| p.key == k) => overrides.remove(&k),
                None => {
                    return Err(invalid(&["params", &k], format!("rule {} has no parameter '{k}'", meta.key)));
                }
            };
        }
        if let Err(problems) = Params::resolve(meta, &overrides) {
            return Err(Error::Invalid(
                problems
                    .into_iter()
                    .map(|(k, m)| FieldError::new(&["params", &k], bellwether_domain::ErrorCode::Invalid, m))
                    .collect(),
            ));
        }
        // Parameters equal to their default are not stored: a later change of default applies.
        let defaults = Params::defaults(meta);
        overrides.retain(|k, v| defaults.values().get(k) != Some(v));
        let saved = settings::save(
            db,
            actor,
            key,
            SettingChange {
                enabled: change.enabled.unwrap_or(current.enabled),
                params: overrides,
                auto_resolve: change.auto_resolve.unwrap_or(current.auto_resolve),
                cooldown_days: change.cooldown_days.unwrap_or(current.cooldown_days),
            },
            change.expected_version,
        )
        .await?;
        tracing::info!(rule = key, version = saved.version, "rule settings changed");
        self.configured_rule(db, actor.organisation, key).await?.ok_or_else(|| Error::not_found("rule", &["ruleKey"]))
    }

    pub(crate) fn needs(rules: &[Configured]) -> Needs {
        let mut needs = Needs::default();
        for c in rules {
            let days = c.rule.lookback_days(&c.params);
            if c.rule.meta().inputs.contains(&crate::Input::Metrics) {
                needs.metric_keys.extend(c.rule.metrics(&c.params));
                needs.metric_days = needs.metric_days.max(days);
            }
            needs.lookback_days = needs.lookback_days.max(days);
        }
        needs
    }

    /// Evaluates the organisation's enabled rules on accounts now and persists the results:
    /// risks raised, refreshed or cleared, and a run record.
    pub async fn evaluate(
        &self,
        db: &Db,
        org: OrganisationId,
        accounts: &[AccountId],
        trigger: RuleTrigger,
    ) -> Result<RunReport> {
        let started = values::now();
        let clock = Instant::now();
        let rules: Vec<Configured> = self.configured(db, org).await?.into_iter().filter(Configured::runs).collect();
        let needs = Self::needs(&rules);
        let mut rec = RunRecord {
            trigger: Some(trigger),
            account: (accounts.len() == 1).then(|| accounts[0]),
            started_at: started,
            rules: rules
                .iter()
                .map(|c| RuleStat {
                    rule_key: c.rule.meta().key.clone(),
                    component_sha256: c.rule.component_sha256().map(str::to_owned),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        // Chunk by chunk; while one chunk's risks are written, the next chunk's snapshots load.
        let chunks: Vec<&[AccountId]> = accounts.chunks(CHUNK).collect();
        let mut preloaded: Option<Result<Vec<AccountSnapshot>>> = None;
        for (i, chunk) in chunks.iter().enumerate() {
            let t = Instant::now();
            let snapshots = match preloaded.take() {
                Some(loaded) => loaded?,
                None => snapshot::load(db, org, chunk, started, started, &needs).await?,
            };
            rec.snapshot_us += t.elapsed().as_micros() as u64;
            let t = Instant::now();
            let (outcomes, back) = {
                let rules = rules.clone();
                let mut rec = std::mem::take(&mut rec);
                off_runtime(move || {
                    let outcomes = evaluate_chunk(&rules, &snapshots, &mut rec);
                    (outcomes, rec)
                })
                .await?
            };
            rec = back;
            rec.accounts += outcomes.len() as u32;
            rec.evaluate_us += t.elapsed().as_micros() as u64;
            let t = Instant::now();
            let apply = risks::apply(db, org, started, &outcomes);
            let applied = match chunks.get(i + 1) {
                Some(next) => {
                    let (applied, next) = tokio::join!(apply, snapshot::load(db, org, next, started, started, &needs));
                    preloaded = Some(next);
                    applied?
                }
                None => apply.await?,
            };
            rec.persist_us += t.elapsed().as_micros() as u64;
            rec.applied.raised += applied.raised;
            rec.applied.refreshed += applied.refreshed;
            rec.applied.cleared += applied.cleared;
        }
        rec.duration_us = clock.elapsed().as_micros() as u64;
        let run = runs::record(db, org, &rec).await?;
        let outcomes: Vec<plugins::PassOutcome> = rules
            .iter()
            .zip(&rec.rules)
            .filter(|(c, stat)| c.rule.is_plugin() && stat.evaluations > 0)
            .map(|(c, stat)| plugins::PassOutcome {
                key: c.rule.meta().key.clone(),
                any_success: stat.failures < stat.evaluations,
                trailing_failures: stat.trailing_failures,
                last_error: rec.errors.iter().rev().find(|f| f.rule_key == stat.rule_key).map(|f| f.message.clone()),
            })
            .collect();
        for key in plugins::record_pass(db, org, &outcomes).await? {
            tracing::warn!(%org, plugin = %key, "plugin switched off by the circuit breaker after repeated failures");
        }
        if rec.failures > 0 {
            tracing::warn!(%org, run = %run, failures = rec.failures, "rule failures in evaluation run");
        }
        Ok(RunReport { run: Some(run), record: rec })
    }

    /// Evaluates up to `limit` accounts whose inputs changed (the background worker's step).
    /// Returns how many accounts were evaluated.
    pub async fn evaluate_dirty(&self, db: &Db, limit: u64) -> Result<usize> {
        let mut done = 0;
        for (org, marks) in runs::dirty(db, limit).await? {
            let accounts: Vec<AccountId> = marks.iter().map(|m| m.0).collect();
            self.evaluate(db, org, &accounts, RuleTrigger::Signals).await?;
            runs::clear_marks(db, org, &marks).await?;
            done += accounts.len();
        }
        Ok(done)
    }

    /// Evaluates one account now (on demand) and clears its queue mark.
    pub async fn evaluate_account(&self, db: &Db, org: OrganisationId, account: AccountId) -> Result<RunReport> {
        let marks = runs::marks_of(db, org, &[account]).await?;
        let report = self.evaluate(db, org, &[account], RuleTrigger::OnDemand).await?;
        runs::clear_marks(db, org, &marks).await?;
        Ok(report)
    }

    /// Evaluates every live account of the organisation, `CHUNK` at a time, as one run.
    pub async fn sweep(&self, db: &Db, org: OrganisationId) -> Result<RunReport> {
        let mut accounts = Vec::new();
        let mut after = None;
        loop {
            let page = runs::live_accounts(db, org, after, 10_000).await?;
            let Some(last) = page.last().copied() else { break };
            accounts.extend(page);
            after = Some(last);
        }
        self.evaluate(db, org, &accounts, RuleTrigger::Sweep).await
    }

    /// Evaluates the enabled rules on one account as of `as_of` without persisting anything.
    pub async fn preview(
        &self,
        db: &Db,
        org: OrganisationId,
        account: AccountId,
        as_of: DateTime<Utc>,
    ) -> Result<Option<Preview>> {
        let rules: Vec<Configured> = self.configured(db, org).await?.into_iter().filter(Configured::runs).collect();
        let needs = Self::needs(&rules);
        let Some(snapshot) = snapshot::load(db, org, &[account], as_of, as_of, &needs).await?.pop() else {
            return Ok(None);
        };
        // What was known then: the contract as it stood, contacts that existed, a later churn
        // undone (the same view as backtests and warning quality).
        let snapshot = snapshot.at(as_of);
        let preview = off_runtime(move || {
            let mut preview = Preview { as_of, ..Default::default() };
            for c in &rules {
                match run_rule(c.rule.as_ref(), &snapshot, &c.params) {
                    Ok(e) => preview.findings.extend(
                        e.findings
                            .into_iter()
                            .map(|finding| RuleFinding { rule_key: c.rule.meta().key.clone(), finding }),
                    ),
                    Err(e) => preview.failures.push(Failure {
                        rule_key: c.rule.meta().key.clone(),
                        account,
                        message: e.to_string(),
                    }),
                }
            }
            preview
        })
        .await?;
        Ok(Some(preview))
    }

    /// Evaluates one rule over accounts as of past dates (the end of each day from `from` to `to`,
    /// every `every_days`), with parameter overrides to try. Persists nothing.
    pub async fn backtest(
        &self,
        db: &Db,
        org: OrganisationId,
        zone: bellwether_domain::Tz,
        today: NaiveDate,
        req: BacktestRequest,
    ) -> Result<Backtest> {
        let mut req = req;
        let mut seen = std::collections::HashSet::new();
        req.accounts.retain(|a| seen.insert(*a));
        let Some(current) = self.configured_rule(db, org, &req.rule_key).await? else {
            return Err(Error::not_found("rule", &["ruleKey"]));
        };
        let meta = current.rule.meta();
        let mut p = bellwether_domain::Problems::default();
        if req.accounts.is_empty() || req.accounts.len() > MAX_BACKTEST_ACCOUNTS {
            p.push(&["accounts"], format!("give 1 to {MAX_BACKTEST_ACCOUNTS} accounts"));
        }
        if req.every_days < 1 {
            p.push(&["everyDays"], "must be at least 1");
        }
        if req.from > req.to {
            p.push(&["from"], "must not be after `to`");
        }
        if req.to > today {
            p.push(&["to"], "must not be in the future");
        }
        let dates: Vec<NaiveDate> = if req.every_days >= 1 && req.from <= req.to {
            let n = (req.to - req.from).num_days() / req.every_days + 1;
            if n as usize > MAX_BACKTEST_DATES {
                p.push(
                    &["everyDays"],
                    format!("at most {MAX_BACKTEST_DATES} dates; widen the step or narrow the range"),
                );
            }
            (0..n.min(MAX_BACKTEST_DATES as i64 + 1)).map(|i| req.from + Duration::days(i * req.every_days)).collect()
        } else {
            Vec::new()
        };
        let mut overrides: BTreeMap<String, ParamValue> = current.params.values().clone();
        overrides.extend(req.params.clone());
        let params = match Params::resolve(meta, &overrides) {
            Ok(params) => Some(params),
            Err(problems) => {
                for (k, m) in problems {
                    p.push(&["params", &k], m);
                }
                None
            }
        };
        p.finish()?;
        let params = params.expect("checked above");
        // The end of each day on the organisation's calendar, as everywhere else.
        let end_of = move |d: NaiveDate| bellwether_domain::organisations::end_of_day(d, zone);
        let as_of = end_of(req.to);
        let earliest = end_of(req.from);
        let one = [Configured { params: params.clone(), ..current.clone() }];
        let needs = Self::needs(&one);
        let card = snapshot::default_scorecard(db, org).await?;
        let mut accounts = Vec::new();
        for chunk in req.accounts.chunks(CHUNK) {
            let bases = snapshot::load(db, org, chunk, as_of, earliest, &needs).await?;
            let (rule, params, dates, card) = (current.rule.clone(), params.clone(), dates.clone(), card.clone());
            accounts.extend(
                off_runtime(move || {
                    let mut out = Vec::with_capacity(bases.len());
                    for base in bases {
                        let mut result =
                            BacktestAccount { account: base.account.id, firings: Vec::new(), failures: Vec::new() };
                        for d in &dates {
                            let mut s = base.at(end_of(*d));
                            s.health = card.as_ref().and_then(|c| snapshot::health_at(c, &s));
                            match run_rule(rule.as_ref(), &s, &params) {
                                Ok(e) if !e.findings.is_empty() => result.firings.push((*d, e.findings)),
                                Ok(_) => {}
                                Err(e) => result.failures.push((*d, e.to_string())),
                            }
                        }
                        out.push(result);
                    }
                    out
                })
                .await?,
            );
        }
        if accounts.len() < req.accounts.len() {
            return Err(Error::not_found("account", &["accounts"]));
        }
        Ok(Backtest { rule_key: req.rule_key, params, dates, accounts })
    }
}

/// Runs every rule on every snapshot of a chunk, updating the run's figures.
fn evaluate_chunk(rules: &[Configured], snapshots: &[AccountSnapshot], rec: &mut RunRecord) -> Vec<AccountOutcome> {
    let mut outcomes = Vec::with_capacity(snapshots.len());
    for s in snapshots {
        // Archived and churned accounts are no longer watched; their open risks stay as they
        // are for a person to close (materialized, usually).
        if s.account.archived_at.is_some() || s.account.status == bellwether_domain::AccountStatus::Churned {
            continue;
        }
        let mut outcome = AccountOutcome { account: s.account.id, rules: Vec::with_capacity(rules.len()) };
        // `rec.rules` lists the same rules in the same order.
        for (c, stat) in rules.iter().zip(rec.rules.iter_mut()) {
            // The circuit breaker: a plugin failing on account after account stops here.
            if c.trip_budget.is_some_and(|budget| stat.trailing_failures >= budget) {
                stat.skipped += 1;
                continue;
            }
            let t = Instant::now();
            let (result, usage) = run_metered(c.rule.as_ref(), s, &c.params);
            stat.evaluations += 1;
            stat.duration_us += t.elapsed().as_micros() as u64;
            rec.evaluations += 1;
            if let Some(u) = usage {
                stat.fuel += u.fuel;
                stat.max_fuel = stat.max_fuel.max(u.fuel);
                stat.peak_memory = stat.peak_memory.max(u.peak_memory);
                let room = runs::MAX_LOG_LINES_PER_RUN.saturating_sub(stat.logs.len());
                stat.logs.extend(u.logs.into_iter().take(room));
            }
            if result.is_ok() {
                stat.trailing_failures = 0;
            } else {
                stat.trailing_failures += 1;
            }
            match result {
                Ok(e) => {
                    stat.findings += e.findings.len() as u32;
                    rec.findings += e.findings.len() as u32;
                    outcome.rules.push(RuleOutcome {
                        rule_key: c.rule.meta().key.clone(),
                        findings: e.findings,
                        observations: e.observations,
                        auto_resolve: c.auto_resolve,
                    });
                }
                Err(e) => {
                    stat.failures += 1;
                    rec.failures += 1;
                    // Only the first failures are stored; the counts stay exact.
                    if rec.errors.len() < runs::MAX_FAILURES_PER_RUN {
                        rec.errors.push(Failure {
                            rule_key: c.rule.meta().key.clone(),
                            account: s.account.id,
                            message: e.to_string(),
                        });
                    }
                }
            }
        }
        outcomes.push(outcome);
    }
    outcomes
}
