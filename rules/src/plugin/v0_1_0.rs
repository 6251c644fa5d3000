//! Bindings for `bellwether:rules@0.1.0`, adapted to the engine's own types. Each released WIT
//! version gets a module like this one, so components built against it keep running.

use std::collections::BTreeSet;

use bellwether_domain::risks::snapshot::AccountSnapshot;
use bellwether_domain::{self as domain, RiskCategory};
use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::{Evaluation, Evidence, Finding, Input, ParamKind, ParamSpec, ParamValue, Params, RuleMeta};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../plugins/wit/0.1.0",
        world: "rule",
    });
}

pub use bellwether::rules::host::Level;
use bellwether::rules::types as wit;
pub use bindings::bellwether;
pub use bindings::{Rule, RulePre};

/// The WIT version these bindings implement.
pub const VERSION: &str = "0.1.0";

fn ts(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn date(d: NaiveDate) -> i32 {
    (d - NaiveDate::default()).num_days() as i32
}

fn category_from(c: wit::Category) -> RiskCategory {
    match c {
        wit::Category::Strategic => RiskCategory::Strategic,
        wit::Category::Operational => RiskCategory::Operational,
        wit::Category::Financial => RiskCategory::Financial,
        wit::Category::Relationship => RiskCategory::Relationship,
        wit::Category::Competitive => RiskCategory::Competitive,
    }
}

fn input_from(i: wit::Input) -> Input {
    match i {
        wit::Input::Metrics => Input::Metrics,
        wit::Input::Tickets => Input::Tickets,
        wit::Input::Invoices => Input::Invoices,
        wit::Input::Surveys => Input::Surveys,
        wit::Input::Assessments => Input::Assessments,
        wit::Input::Interactions => Input::Interactions,
        wit::Input::Contacts => Input::Contacts,
        wit::Input::ContractChanges => Input::ContractChanges,
        wit::Input::Health => Input::Health,
        wit::Input::ManagerLoad => Input::ManagerLoad,
    }
}

fn value_from(v: wit::ParamValue) -> ParamValue {
    match v {
        wit::ParamValue::Number(n) => ParamValue::Number(n),
        wit::ParamValue::Text(t) => ParamValue::Text(t),
    }
}

fn value_to(v: &ParamValue) -> wit::ParamValue {
    match v {
        ParamValue::Number(n) => wit::ParamValue::Number(*n),
        ParamValue::Text(t) => wit::ParamValue::Text(t.clone()),
    }
}

/// The rule's metadata in the engine's terms (not yet validated: see `plugin::validate_meta`).
pub fn meta_from(m: wit::Metadata) -> (RuleMeta, Vec<String>) {
    let meta = RuleMeta {
        key: m.key,
        name: m.name,
        category: category_from(m.category),
        description: m.description,
        inputs: m.inputs.into_iter().map(input_from).collect(),
        lookback_days: i64::from(m.lookback_days),
        params: m
            .params
            .into_iter()
            .map(|p| ParamSpec {
                key: p.key,
                description: p.description,
                kind: match p.kind {
                    wit::ParamKind::Number(r) => ParamKind::Number { min: r.min, max: r.max, integer: r.integer },
                    wit::ParamKind::Text => ParamKind::Text,
                    wit::ParamKind::Metric => ParamKind::Metric,
                },
                default: value_from(p.default),
            })
            .collect(),
        auto_resolve: m.auto_resolve,
    };
    (meta, m.metrics)
}

/// Parameters as the guest receives them, in key order.
pub fn params_to(params: &Params) -> Vec<wit::Param> {
    params.values().iter().map(|(k, v)| wit::Param { key: k.clone(), value: value_to(v) }).collect()
}

fn money(m: &domain::Money) -> wit::Money {
    wit::Money { amount_minor: m.amount_minor, currency: m.currency.clone() }
}

macro_rules! same_enum {
    ($from:expr, $to:ident :: { $($v:ident),* }, $src:ident) => {
        match $from { $($src::$v => wit::$to::$v),* }
    };
}

/// The snapshot a rule receives: only the inputs it declared, only what happened up to the
/// snapshot's moment within its look-back, collections oldest first, metrics in key order.
pub fn snapshot_to(
    s: &AccountSnapshot,
    inputs: &[Input],
    metrics: &BTreeSet<String>,
    lookback_days: i64,
) -> wit::Snapshot {
    use domain::{
        AccountStatus, ContactLevel, ContactRole, HealthBand, InvoiceStatus, LifecycleStage, Sentiment, SurveyKind,
        TicketPriority, TicketStatus, Tier,
    };
    let as_of = s.as_of;
    let since = as_of - Duration::days(lookback_days);
    let within = |t: DateTime<Utc>| t > since && t <= as_of;
    let wants = |i: Input| inputs.contains(&i);
    let a = &s.account;
    let level = |l: ContactLevel| same_enum!(l, ContactLevel::{Executive, Management, Operational}, ContactLevel);
    let account = wit::Account {
        id: a.id.0.to_string(),
        name: a.name.clone(),
        external_ref: a.external_ref.clone(),
        segment: a.segment.clone(),
        industry: a.industry.clone(),
        tier: same_enum!(a.tier, Tier::{Strategic, Key, Growth, Standard}, Tier),
        lifecycle_stage: same_enum!(a.lifecycle_stage, LifecycleStage::{Onboarding, Adoption, Expansion, Mature, Renewal}, LifecycleStage),
        status: same_enum!(a.status, AccountStatus::{Active, Churned}, AccountStatus),
        annual_value: money(&a.annual_value),
        contract_start: a.contract_start.map(date),
        renewal_date: a.renewal_date.map(date),
        created_at: ts(a.created_at),
    };
    let contacts = if wants(Input::Contacts) {
        s.contacts
            .iter()
            .filter(|c| c.created_at <= as_of)
            .map(|c| wit::Contact {
                id: c.id.0.to_string(),
                name: c.name.clone(),
                title: c.title.clone(),
                level: level(c.level),
                role: same_enum!(c.role, ContactRole::{DecisionMaker, Champion, Influencer, ExecutiveSponsor, User, Blocker}, ContactRole),
                sentiment: same_enum!(c.sentiment, Sentiment::{Positive, Neutral, Negative, Unknown}, Sentiment),
                active: c.active,
                departed_on: c.departed_on.map(date),
                created_at: ts(c.created_at),
            })
            .collect()
    } else {
        Vec::new()
    };
    let series = if wants(Input::Metrics) {
        metrics
            .iter()
            .filter_map(|k| s.signals.metrics.get(k).map(|m| (k, m)))
            .map(|(k, m)| wit::Series {
                key: k.clone(),
                points: m
                    .points
                    .iter()
                    .filter(|(at, _)| within(*at))
                    .map(|(at, value)| wit::Point { at: ts(*at), value: *value })
                    .collect(),
            })
            .collect()
    } else {
        Vec::new()
    };
    let tickets = if wants(Input::Tickets) {
        s.signals
            .tickets
            .iter()
            .filter(|t| within(t.opened_at))
            .map(|t| {
                let resolved_at = t.resolved_at.filter(|r| *r <= as_of);
                wit::Ticket {
                    id: t.external_id.clone(),
                    priority: same_enum!(t.priority, TicketPriority::{Low, Normal, High, Critical}, TicketPriority),
                    // As it stood then: a ticket resolved later was still open.
                    status: if t.resolved_at.is_some() && resolved_at.is_none() {
                        wit::TicketStatus::Open
                    } else {
                        same_enum!(t.status, TicketStatus::{Open, Pending, Resolved, Closed}, TicketStatus)
                    },
                    opened_at: ts(t.opened_at),
                    first_response_at: t.first_response_at.filter(|r| *r <= as_of).map(ts),
                    resolved_at: resolved_at.map(ts),
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    let today = as_of.date_naive();
    let invoices = if wants(Input::Invoices) {
        s.signals
            .invoices
            .iter()
            .filter(|i| i.issued_on <= today && i.issued_on > since.date_naive())
            .map(|i| {
                let paid_at = i.paid_at.filter(|p| *p <= as_of);
                wit::Invoice {
                    number: i.number.clone(),
                    amount: money(&i.amount),
                    issued_on: date(i.issued_on),
                    due_on: date(i.due_on),
                    paid_at: paid_at.map(ts),
                    status: if i.paid_at.is_some() && paid_at.is_none() {
                        wit::InvoiceStatus::Open
                    } else {
                        same_enum!(i.status, InvoiceStatus::{Open, Paid, Void}, InvoiceStatus)
                    },
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    let surveys = if wants(Input::Surveys) {
        s.signals
            .surveys
            .iter()
            .filter(|r| within(r.responded_at))
            .map(|r| wit::Survey {
                kind: same_enum!(r.kind, SurveyKind::{Nps, Csat}, SurveyKind),
                score: r.score,
                responded_at: ts(r.responded_at),
            })
            .collect()
    } else {
        Vec::new()
    };
    let assessments = if wants(Input::Assessments) {
        s.signals
            .assessments
            .iter()
            .filter(|r| within(r.assessed_at))
            .map(|r| wit::Assessment {
                assessed_at: ts(r.assessed_at),
                stakeholder_sentiment: r.stakeholder_sentiment,
                competitive_pressure: r.competitive_pressure,
                strategic_alignment: r.strategic_alignment,
            })
            .collect()
    } else {
        Vec::new()
    };
    let touchpoints = if wants(Input::Interactions) {
        s.signals
            .touchpoints
            .iter()
            .filter(|t| within(t.at))
            .map(|t| wit::Touchpoint { at: ts(t.at), levels: t.levels.iter().map(|l| level(*l)).collect() })
            .collect()
    } else {
        Vec::new()
    };
    let contract_changes = if wants(Input::ContractChanges) {
        s.signals
            .contract_changes
            .iter()
            .filter(|c| c.effective_on <= today && c.effective_on > since.date_naive())
            .map(|c| wit::ContractChange {
                effective_on: date(c.effective_on),
                annual_value: money(&c.annual_value),
                renewal_date: c.renewal_date.map(date),
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut out = wit::Snapshot {
        as_of: ts(as_of),
        account,
        contacts,
        manager: None,
        health: None,
        metrics: series,
        tickets,
        invoices,
        surveys,
        assessments,
        touchpoints,
        contract_changes,
    };
    if wants(Input::ManagerLoad) {
        out.manager = s.manager.as_ref().map(|m| wit::ManagerLoad {
            name: m.name.clone(),
            capacity: m.capacity,
            active_accounts: u32::try_from(m.active_accounts).unwrap_or(u32::MAX),
        });
    }
    if wants(Input::Health) {
        out.health = s.health.as_ref().map(|h| wit::Health {
            score: h.score,
            band: same_enum!(h.band, HealthBand::{Good, Watch, Poor}, HealthBand),
        });
    }
    out
}

fn evidence_from(e: wit::Evidence) -> Evidence {
    Evidence { name: e.name, number: e.number, text: e.text }
}

/// The guest's result in the engine's terms (checked afterwards like any rule's output).
pub fn evaluation_from(e: wit::Evaluation) -> Evaluation {
    Evaluation {
        findings: e
            .findings
            .into_iter()
            .map(|f| Finding {
                key: f.key,
                category: category_from(f.category),
                title: f.title,
                detail: f.detail,
                impact: i32::from(f.impact),
                likelihood: i32::from(f.likelihood),
                evidence: f.evidence.into_iter().map(evidence_from).collect(),
                suggested_playbook: f.suggested_playbook,
            })
            .collect(),
        observations: e.observations.into_iter().map(evidence_from).collect(),
    }
}

/// The guest's own error, as the engine reports it.
pub fn error_from(e: wit::RuleError) -> crate::RuleError {
    match e {
        wit::RuleError::InvalidInput(m) => crate::RuleError::Failed(format!("invalid input: {m}")),
        wit::RuleError::Failed(m) => crate::RuleError::Failed(m),
    }
}
