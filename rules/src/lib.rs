//! The risk-rule engine.
//!
//! A [`Rule`] is metadata ([`RuleMeta`]: key, name, category, description, declared inputs,
//! parameters with defaults) plus a pure `evaluate(snapshot, params) -> findings`: it looks at
//! one account as of a moment and never touches a database or a clock. The built-in rules live
//! in [`builtin`]; organisations' own rules (WebAssembly plugins) will implement the same trait.
//!
//! [`engine`] drives evaluations: it loads snapshots through `domain`, runs the organisation's
//! enabled rules, and hands the findings to `domain::risks::apply`, which turns them into risks.

pub mod builtin;
pub mod engine;
pub mod plugin;
pub mod quality;

use std::collections::BTreeMap;

pub use bellwether_domain::risks::settings::ParamValue;
pub use bellwether_domain::risks::snapshot::AccountSnapshot;
pub use bellwether_domain::risks::{Evidence, Finding};
use bellwether_domain::{RiskCategory, Tier};

/// Which parts of a snapshot a rule reads (the engine loads no more history than the rules
/// of an organisation need).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Input {
    Metrics,
    Tickets,
    Invoices,
    Surveys,
    Assessments,
    Interactions,
    Contacts,
    ContractChanges,
    Health,
    ManagerLoad,
}

/// A parameter's type and bounds.
#[derive(Clone, Debug, PartialEq)]
pub enum ParamKind {
    /// A number within `min..=max`; `integer` ones must be whole.
    Number { min: f64, max: f64, integer: bool },
    /// Free text, at most 100 characters.
    Text,
    /// The key of a metric (1-100 characters); the engine loads that series for the rule.
    Metric,
}

/// A configurable parameter of a rule.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamSpec {
    pub key: String,
    pub description: String,
    pub kind: ParamKind,
    pub default: ParamValue,
}

impl ParamSpec {
    pub fn number(key: &'static str, description: &'static str, default: f64, min: f64, max: f64) -> Self {
        Self {
            key: key.into(),
            description: description.into(),
            kind: ParamKind::Number { min, max, integer: false },
            default: ParamValue::Number(default),
        }
    }
    pub fn days(key: &'static str, description: &'static str, default: i64, max: i64) -> Self {
        Self {
            key: key.into(),
            description: description.into(),
            kind: ParamKind::Number { min: 1.0, max: max as f64, integer: true },
            default: ParamValue::Number(default as f64),
        }
    }
    pub fn text(key: &'static str, description: &'static str, default: &str) -> Self {
        Self {
            key: key.into(),
            description: description.into(),
            kind: ParamKind::Text,
            default: ParamValue::Text(default.into()),
        }
    }

    /// Checks a value against the kind and bounds.
    pub fn check(&self, v: &ParamValue) -> Result<(), String> {
        match (&self.kind, v) {
            (ParamKind::Number { min, max, integer }, ParamValue::Number(n)) => {
                if !n.is_finite() || n < min || n > max {
                    Err(format!("must be between {min} and {max}"))
                } else if *integer && n.fract() != 0.0 {
                    Err("must be a whole number".into())
                } else {
                    Ok(())
                }
            }
            (ParamKind::Text | ParamKind::Metric, ParamValue::Text(t)) => {
                if t.trim().is_empty() || t.len() > 100 {
                    Err("must be 1-100 characters".into())
                } else {
                    Ok(())
                }
            }
            (ParamKind::Number { .. }, ParamValue::Text(_)) => Err("must be a number".into()),
            (ParamKind::Text | ParamKind::Metric, ParamValue::Number(_)) => Err("must be text".into()),
        }
    }
}

/// What a rule is and what it needs.
#[derive(Clone, Debug)]
pub struct RuleMeta {
    /// Stable identifier, part of every fingerprint the rule produces.
    pub key: String,
    pub name: String,
    /// The category of (most of) its findings.
    pub category: RiskCategory,
    pub description: String,
    pub inputs: Vec<Input>,
    /// How many days of history before the evaluated moment the rule reads.
    pub lookback_days: i64,
    pub params: Vec<ParamSpec>,
    /// Whether its risks close by themselves when the finding stops firing (by default).
    pub auto_resolve: bool,
}

/// A rule's parameter values: the defaults with the organisation's overrides applied.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Params(BTreeMap<String, ParamValue>);

impl Params {
    /// Resolves overrides against a rule's parameters; every problem as (key, message).
    pub fn resolve(meta: &RuleMeta, overrides: &BTreeMap<String, ParamValue>) -> Result<Self, Vec<(String, String)>> {
        let mut problems = Vec::new();
        for (k, v) in overrides {
            match meta.params.iter().find(|p| &p.key == k) {
                None => problems.push((k.clone(), format!("rule {} has no parameter '{k}'", meta.key))),
                Some(spec) => {
                    if let Err(e) = spec.check(v) {
                        problems.push((k.clone(), e));
                    }
                }
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Self(
            meta.params
                .iter()
                .map(|p| (p.key.clone(), overrides.get(&p.key).cloned().unwrap_or_else(|| p.default.clone())))
                .collect(),
        ))
    }

    /// The defaults of a rule.
    pub fn defaults(meta: &RuleMeta) -> Self {
        Self(meta.params.iter().map(|p| (p.key.clone(), p.default.clone())).collect())
    }

    /// A numeric parameter (0 if the rule did not declare it: a programming error caught by
    /// each rule's tests).
    pub fn number(&self, key: &str) -> f64 {
        match self.0.get(key) {
            Some(ParamValue::Number(n)) => *n,
            _ => 0.0,
        }
    }

    /// A whole number of days.
    pub fn days(&self, key: &str) -> i64 {
        self.number(key) as i64
    }

    /// A text parameter.
    pub fn text(&self, key: &str) -> &str {
        match self.0.get(key) {
            Some(ParamValue::Text(t)) => t,
            _ => "",
        }
    }

    pub fn values(&self) -> &BTreeMap<String, ParamValue> {
        &self.0
    }
}

/// What a rule returns for one account.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Evaluation {
    pub findings: Vec<Finding>,
    /// The rule's readings whether or not it fired (e.g. the usage change now); kept as the
    /// recovery evidence when a risk clears.
    pub observations: Vec<Evidence>,
}

/// Why a rule could not evaluate an account.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RuleError {
    /// The rule produced something the engine refuses (e.g. impact outside 1-5).
    #[error("invalid output: {0}")]
    InvalidOutput(String),
    /// The rule failed.
    #[error("rule failed: {0}")]
    Failed(String),
    /// A plugin used up its instruction budget.
    #[error("out of fuel: the rule used more than {0} instructions")]
    OutOfFuel(u64),
    /// A plugin ran past its wall-clock deadline.
    #[error("timeout: the rule ran longer than {0} ms")]
    Timeout(u64),
    /// A plugin asked for more memory than it may have.
    #[error("memory limit: the rule asked for more than {0} bytes")]
    OutOfMemory(u64),
    /// A plugin trapped (a panic, an unreachable, a stack overflow...), with its backtrace.
    #[error("trap: {0}")]
    Trap(String),
}

impl RuleError {
    /// A stable name for the kind of failure (for figures and the API).
    pub fn kind(&self) -> &'static str {
        match self {
            RuleError::InvalidOutput(_) => "invalid_output",
            RuleError::Failed(_) => "failed",
            RuleError::OutOfFuel(_) => "out_of_fuel",
            RuleError::Timeout(_) => "timeout",
            RuleError::OutOfMemory(_) => "out_of_memory",
            RuleError::Trap(_) => "trap",
        }
    }
}

/// What one evaluation of a plugin cost (built-in rules report none).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Usage {
    /// Instructions (fuel) used.
    pub fuel: u64,
    /// Peak linear memory in bytes.
    pub peak_memory: u64,
    /// What the rule logged (bounded by the host).
    pub logs: Vec<String>,
}

/// A risk rule.
pub trait Rule: Send + Sync {
    fn meta(&self) -> &RuleMeta;

    /// Metric series the rule reads with these parameters.
    fn metrics(&self, _params: &Params) -> Vec<String> {
        Vec::new()
    }

    /// Days of history before the evaluated moment the rule reads with these parameters.
    fn lookback_days(&self, _params: &Params) -> i64 {
        self.meta().lookback_days
    }

    /// Evaluates one account as of `snapshot.as_of`. Pure: the same snapshot and parameters
    /// always give the same result.
    fn evaluate(&self, snapshot: &AccountSnapshot, params: &Params) -> Result<Evaluation, RuleError>;

    /// Evaluates and reports what it cost (plugins: instructions, memory, logs).
    fn evaluate_metered(
        &self,
        snapshot: &AccountSnapshot,
        params: &Params,
    ) -> (Result<Evaluation, RuleError>, Option<Usage>) {
        (self.evaluate(snapshot, params), None)
    }

    /// Whether the rule is an organisation's plugin (subject to the circuit breaker).
    fn is_plugin(&self) -> bool {
        false
    }

    /// For a plugin, the sha256 of the component that ran (recorded with each run).
    fn component_sha256(&self) -> Option<&str> {
        None
    }
}

/// Suggested impact from the account's tier: losing a strategic account hurts most.
pub fn tier_impact(tier: Tier) -> i32 {
    match tier {
        Tier::Strategic => 5,
        Tier::Key => 4,
        Tier::Growth => 3,
        Tier::Standard => 2,
    }
}

/// Checks a rule's output before the engine uses it (plugins will be held to the same bar).
pub fn check_output(meta: &RuleMeta, e: &Evaluation) -> Result<(), RuleError> {
    const MAX_FINDINGS: usize = 100;
    if e.findings.len() > MAX_FINDINGS {
        return Err(RuleError::InvalidOutput(format!("{} findings (at most {MAX_FINDINGS})", e.findings.len())));
    }
    for f in &e.findings {
        if f.key.is_empty() || f.key.len() > 150 {
            return Err(RuleError::InvalidOutput(format!("finding key must be 1-150 characters in {}", meta.key)));
        }
        if !(1..=5).contains(&f.impact) || !(1..=5).contains(&f.likelihood) {
            return Err(RuleError::InvalidOutput("impact and likelihood must be 1-5".into()));
        }
        if f.title.is_empty() || f.title.len() > 300 || f.detail.len() > 10_000 || f.evidence.len() > 50 {
            return Err(RuleError::InvalidOutput(
                "title 1-300, detail up to 10,000 characters, up to 50 evidence items".into(),
            ));
        }
        if f.evidence.iter().any(|e| e.number.is_some_and(|n| !n.is_finite())) {
            return Err(RuleError::InvalidOutput("evidence numbers must be finite".into()));
        }
    }
    Ok(())
}
