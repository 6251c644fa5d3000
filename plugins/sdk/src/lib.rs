//! Write Bellwether risk rules in plain Rust.
//!
//! A rule implements [`Rule`]: [`Rule::metadata`] says what it is, which inputs it reads and
//! which parameters organisations can set; [`Rule::evaluate`] looks at one account as of a moment
//! and returns findings. [`export_rule!`] turns it into a WebAssembly component:
//!
//! ```text
//! use bellwether_rule::*;
//!
//! struct QuietChampion;
//!
//! impl Rule for QuietChampion {
//!     fn metadata() -> Metadata { /* ... */ }
//!     fn evaluate(s: &Snapshot, params: &Params) -> Result<Evaluation, RuleError> { /* ... */ }
//! }
//!
//! export_rule!(QuietChampion);
//! ```
//!
//! Build with `cargo build --release --target wasm32-wasip2` and upload the `.wasm` file. The
//! rule logic stays ordinary Rust: unit-test it natively with `cargo test`.
//!
//! Rules see no clock, no randomness, no files and no network: everything comes from the
//! snapshot, whose `as_of` is "now" for the rule. The same snapshot and parameters must always
//! give the same findings.

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit/0.1.0",
        world: "rule",
        pub_export_macro: true,
        export_macro_name: "__export_rule_world",
        default_bindings_module: "bellwether_rule::bindings",
    });
}

pub mod series;

pub use bindings::bellwether::rules::host::Level;
pub use bindings::bellwether::rules::types::{
    Account, AccountStatus, Assessment, Category, Contact, ContactLevel, ContactRole, ContractChange, Date, Evaluation,
    Evidence, Finding, Health, HealthBand, Input, Invoice, InvoiceStatus, LifecycleStage, ManagerLoad, Metadata, Money,
    NumberRange, Param, ParamKind, ParamSpec, ParamValue, Point, RuleError, Sentiment, Series, Snapshot, Survey,
    SurveyKind, Ticket, TicketPriority, TicketStatus, Tier, Timestamp, Touchpoint,
};

/// Microseconds in a day.
pub const DAY: i64 = 86_400_000_000;

/// A risk rule.
pub trait Rule {
    /// What the rule is, what it reads and which parameters it takes.
    fn metadata() -> Metadata;

    /// Evaluates one account as of `snapshot.as_of`.
    fn evaluate(snapshot: &Snapshot, params: &Params) -> Result<Evaluation, RuleError>;
}

/// Exports a [`Rule`] as the component's implementation of the `bellwether:rules` world.
#[macro_export]
macro_rules! export_rule {
    ($rule:ty) => {
        #[doc(hidden)]
        pub struct __BellwetherRule;

        impl $crate::bindings::Guest for __BellwetherRule {
            fn metadata() -> $crate::Metadata {
                <$rule as $crate::Rule>::metadata()
            }
            fn evaluate(
                snapshot: $crate::Snapshot,
                params: ::std::vec::Vec<$crate::Param>,
            ) -> ::std::result::Result<$crate::Evaluation, $crate::RuleError> {
                <$rule as $crate::Rule>::evaluate(&snapshot, &$crate::Params::new(params))
            }
        }

        $crate::bindings::__export_rule_world!(__BellwetherRule with_types_in $crate::bindings);
    };
}

/// The parameter values a rule is evaluated with (the organisation's, or the defaults).
#[derive(Clone, Debug, Default)]
pub struct Params(Vec<Param>);

impl Params {
    pub fn new(params: Vec<Param>) -> Self {
        Self(params)
    }

    /// A numeric parameter; `None` if absent or text.
    pub fn number(&self, key: &str) -> Option<f64> {
        self.0.iter().find(|p| p.key == key).and_then(|p| match p.value {
            ParamValue::Number(n) => Some(n),
            ParamValue::Text(_) => None,
        })
    }

    /// A numeric parameter, or `default` if absent.
    pub fn number_or(&self, key: &str, default: f64) -> f64 {
        self.number(key).unwrap_or(default)
    }

    /// A text parameter; `None` if absent or a number.
    pub fn text(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|p| p.key == key).and_then(|p| match &p.value {
            ParamValue::Text(t) => Some(t.as_str()),
            ParamValue::Number(_) => None,
        })
    }

    /// Parameters as `(key, value)` pairs, for native tests: `Params::of(&[("days", 30.0.into())])`.
    pub fn of(pairs: &[(&str, ParamValue)]) -> Self {
        Self(pairs.iter().map(|(k, v)| Param { key: (*k).to_owned(), value: v.clone() }).collect())
    }
}

impl From<f64> for ParamValue {
    fn from(n: f64) -> Self {
        ParamValue::Number(n)
    }
}

impl From<&str> for ParamValue {
    fn from(t: &str) -> Self {
        ParamValue::Text(t.to_owned())
    }
}

/// Declares a number parameter.
pub fn number_param(key: &str, description: &str, default: f64, min: f64, max: f64) -> ParamSpec {
    ParamSpec {
        key: key.into(),
        description: description.into(),
        kind: ParamKind::Number(NumberRange { min, max, integer: false }),
        default: ParamValue::Number(default),
    }
}

/// Declares a whole number of days (1 to `max`).
pub fn days_param(key: &str, description: &str, default: u32, max: u32) -> ParamSpec {
    ParamSpec {
        key: key.into(),
        description: description.into(),
        kind: ParamKind::Number(NumberRange { min: 1.0, max: max as f64, integer: true }),
        default: ParamValue::Number(default as f64),
    }
}

/// Declares a parameter naming a metric; the host loads that metric's series for the rule.
pub fn metric_param(key: &str, description: &str, default: &str) -> ParamSpec {
    ParamSpec {
        key: key.into(),
        description: description.into(),
        kind: ParamKind::Metric,
        default: ParamValue::Text(default.into()),
    }
}

/// A named number behind a finding.
pub fn number(name: &str, value: f64) -> Evidence {
    Evidence { name: name.into(), number: Some(value), text: None }
}

/// A named fact behind a finding.
pub fn text(name: &str, value: impl Into<String>) -> Evidence {
    Evidence { name: name.into(), number: None, text: Some(value.into()) }
}

/// Whole days from `from` to `to` (negative if `to` is earlier).
pub fn days_between(from: Timestamp, to: Timestamp) -> i64 {
    (to - from).div_euclid(DAY)
}

/// The date (days since 1970-01-01) a timestamp falls on, in UTC.
pub fn date_of(t: Timestamp) -> Date {
    t.div_euclid(DAY) as Date
}

/// Whole days from the snapshot's moment until a date (negative if it is past).
pub fn days_until(as_of: Timestamp, date: Date) -> i64 {
    date as i64 - date_of(as_of) as i64
}

/// Writes to the run's log (kept with the run, bounded by the host). Natively, to stderr.
pub fn log(level: Level, message: &str) {
    #[cfg(target_arch = "wasm32")]
    bindings::bellwether::rules::host::log(level, message);
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("[{level:?}] {message}");
}

impl Evaluation {
    /// No finding and nothing observed.
    pub fn none() -> Self {
        Evaluation { findings: Vec::new(), observations: Vec::new() }
    }
}

/// Building snapshots for native unit tests of a rule.
pub mod testing {
    use crate::*;

    /// An empty snapshot of an active, key-tier account worth 100,000.00 EUR, as of day
    /// `as_of_day` (days since 1970-01-01); fill in what the rule reads.
    pub fn snapshot(as_of_day: i64) -> Snapshot {
        Snapshot {
            as_of: as_of_day * DAY,
            account: Account {
                id: "00000000-0000-0000-0000-000000000001".into(),
                name: "Acme".into(),
                external_ref: None,
                segment: None,
                industry: None,
                tier: Tier::Key,
                lifecycle_stage: LifecycleStage::Mature,
                status: AccountStatus::Active,
                annual_value: Money { amount_minor: 10_000_000, currency: "EUR".into() },
                contract_start: None,
                renewal_date: None,
                created_at: 0,
            },
            contacts: Vec::new(),
            manager: None,
            health: None,
            metrics: Vec::new(),
            tickets: Vec::new(),
            invoices: Vec::new(),
            surveys: Vec::new(),
            assessments: Vec::new(),
            touchpoints: Vec::new(),
            contract_changes: Vec::new(),
        }
    }

    /// A stakeholder with this level, role and sentiment, active.
    pub fn contact(name: &str, level: ContactLevel, role: ContactRole, sentiment: Sentiment) -> Contact {
        Contact {
            id: name.into(),
            name: name.into(),
            title: None,
            level,
            role,
            sentiment,
            active: true,
            departed_on: None,
            created_at: 0,
        }
    }
}
