//! Snapshot fixtures for rule authors: one account as of a moment, in JSON, with the findings a
//! rule is expected to report. `bellwether plugin run` and `bellwether plugin test` turn a
//! fixture into the same [`AccountSnapshot`] the server loads from its database, so a plugin
//! sees exactly what it would see in production.
//!
//! ```json
//! {
//!   "asOf": "2026-11-01T00:00:00Z",
//!   "params": { "min_share": 0.5 },
//!   "account": { "name": "Acme", "tier": "key", "renewalDate": "2027-01-15" },
//!   "contacts": [{ "name": "Dana", "level": "executive", "role": "decision_maker" }],
//!   "metrics": { "seats_used": [["2026-10-20T00:00:00Z", 40]] },
//!   "expect": [{ "key": "seats", "likelihood": 3 }]
//! }
//! ```
//! Enumerations use the API's values in snake_case (`decision_maker`, `critical`...); times are
//! RFC 3339, dates `YYYY-MM-DD`. `expect` lists every finding the rule must report (by key,
//! optionally with impact, likelihood and category); an empty list means "no finding".

use std::collections::{BTreeMap, HashMap};

use bellwether_domain::health::facts::{self, Series, Touchpoint};
use bellwether_domain::risks::snapshot::{AccountHealth, AccountSnapshot, ManagerLoad};
use bellwether_domain::signals::assessments::Assessment;
use bellwether_domain::signals::contracts::ContractChange;
use bellwether_domain::signals::invoices::Invoice;
use bellwether_domain::signals::surveys::SurveyResponse;
use bellwether_domain::signals::tickets::Ticket;
use bellwether_domain::{
    Account, AccountId, AccountStatus, AssessmentId, Contact, ContactId, ContactLevel, ContactRole, ContractChangeId,
    HealthBand, InvoiceId, InvoiceStatus, LifecycleStage, Money, OrganisationId, RiskCategory, Sentiment, SurveyKind,
    SurveyResponseId, TicketId, TicketPriority, TicketStatus, Tier, UserId,
};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Deserialize;
use uuid::Uuid;

use crate::{Finding, ParamValue};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Fixture {
    pub as_of: DateTime<Utc>,
    #[serde(default)]
    pub params: BTreeMap<String, ParamValue>,
    #[serde(default)]
    pub account: FixtureAccount,
    #[serde(default)]
    pub contacts: Vec<FixtureContact>,
    #[serde(default)]
    pub manager: Option<FixtureManager>,
    #[serde(default)]
    pub health: Option<FixtureHealth>,
    /// Metric key -> [time, value] pairs.
    #[serde(default)]
    pub metrics: BTreeMap<String, Vec<(DateTime<Utc>, f64)>>,
    #[serde(default)]
    pub tickets: Vec<FixtureTicket>,
    #[serde(default)]
    pub invoices: Vec<FixtureInvoice>,
    #[serde(default)]
    pub surveys: Vec<FixtureSurvey>,
    #[serde(default)]
    pub assessments: Vec<FixtureAssessment>,
    #[serde(default)]
    pub touchpoints: Vec<FixtureTouchpoint>,
    #[serde(default)]
    pub contract_changes: Vec<FixtureContractChange>,
    /// For `plugin test`: the findings expected (absent: not checked).
    #[serde(default)]
    pub expect: Option<Vec<Expected>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct FixtureAccount {
    pub name: String,
    pub external_ref: Option<String>,
    pub segment: Option<String>,
    pub industry: Option<String>,
    pub tier: Tier,
    pub lifecycle_stage: LifecycleStage,
    pub status: AccountStatus,
    pub annual_value: FixtureMoney,
    pub contract_start: Option<NaiveDate>,
    pub renewal_date: Option<NaiveDate>,
    pub created_at: Option<DateTime<Utc>>,
}

impl Default for FixtureAccount {
    fn default() -> Self {
        Self {
            name: "Fixture account".into(),
            external_ref: None,
            segment: None,
            industry: None,
            tier: Tier::Key,
            lifecycle_stage: LifecycleStage::Mature,
            status: AccountStatus::Active,
            annual_value: FixtureMoney::default(),
            contract_start: None,
            renewal_date: None,
            created_at: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FixtureMoney {
    pub amount_minor: i64,
    pub currency: String,
}

impl Default for FixtureMoney {
    fn default() -> Self {
        Self { amount_minor: 10_000_000, currency: "EUR".into() }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FixtureContact {
    pub name: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default = "operational")]
    pub level: ContactLevel,
    #[serde(default = "user_role")]
    pub role: ContactRole,
    #[serde(default = "unknown")]
    pub sentiment: Sentiment,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(default)]
    pub departed_on: Option<NaiveDate>,
}

fn operational() -> ContactLevel {
    ContactLevel::Operational
}
fn user_role() -> ContactRole {
    ContactRole::User
}
fn unknown() -> Sentiment {
    Sentiment::Unknown
}
fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FixtureManager {
    pub name: String,
    #[serde(default)]
    pub capacity: Option<i32>,
    pub active_accounts: u64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FixtureHealth {
    pub score: f64,
    pub band: HealthBand,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FixtureTicket {
    pub id: String,
    pub priority: TicketPriority,
    pub status: TicketStatus,
    pub opened_at: DateTime<Utc>,
    #[serde(default)]
    pub first_response_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub resolved_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FixtureInvoice {
    pub number: String,
    #[serde(default)]
    pub amount: FixtureMoney,
    pub issued_on: NaiveDate,
    pub due_on: NaiveDate,
    #[serde(default)]
    pub paid_at: Option<DateTime<Utc>>,
    pub status: InvoiceStatus,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FixtureSurvey {
    pub kind: SurveyKind,
    pub score: i32,
    pub responded_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FixtureAssessment {
    pub assessed_at: DateTime<Utc>,
    pub stakeholder_sentiment: i16,
    pub competitive_pressure: i16,
    pub strategic_alignment: i16,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FixtureTouchpoint {
    pub at: DateTime<Utc>,
    #[serde(default)]
    pub levels: Vec<ContactLevel>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FixtureContractChange {
    pub effective_on: NaiveDate,
    pub annual_value: FixtureMoney,
    #[serde(default)]
    pub renewal_date: Option<NaiveDate>,
}

/// A finding a fixture expects.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expected {
    pub key: String,
    #[serde(default)]
    pub impact: Option<i32>,
    #[serde(default)]
    pub likelihood: Option<i32>,
    #[serde(default)]
    pub category: Option<RiskCategory>,
}

fn money(m: &FixtureMoney) -> Money {
    Money { amount_minor: m.amount_minor, currency: m.currency.clone() }
}

impl Fixture {
    /// Parses a fixture; the error names the line and column.
    pub fn parse(json: &str) -> Result<Self, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    /// The snapshot the server would load for such an account.
    pub fn snapshot(&self) -> AccountSnapshot {
        let org = OrganisationId(Uuid::nil());
        let account_id = AccountId(Uuid::from_u128(1));
        let long_ago = self.as_of - Duration::days(3650);
        let a = &self.account;
        let created = a.created_at.unwrap_or(long_ago);
        let id = |n: usize| Uuid::from_u128(1000 + n as u128);
        let account = Account {
            id: account_id,
            organisation: org,
            name: a.name.clone(),
            external_ref: a.external_ref.clone(),
            segment: a.segment.clone(),
            industry: a.industry.clone(),
            tier: a.tier,
            lifecycle_stage: a.lifecycle_stage,
            status: a.status,
            churned_on: None,
            churn_reason: None,
            annual_value: money(&a.annual_value),
            contract_start: a.contract_start,
            renewal_date: a.renewal_date,
            account_manager: None,
            sales_owner: None,
            parent: None,
            health_score: self.health.as_ref().map(|h| h.score),
            health_band: self.health.as_ref().map(|h| h.band),
            archived_at: None,
            version: 1,
            created_at: created,
            updated_at: created,
        };
        let contacts = self
            .contacts
            .iter()
            .enumerate()
            .map(|(i, c)| Contact {
                id: ContactId(id(i)),
                organisation: org,
                account: account_id,
                name: c.name.clone(),
                title: c.title.clone(),
                email: None,
                phone: None,
                level: c.level,
                role: c.role,
                sentiment: c.sentiment,
                active: c.active,
                departed_on: c.departed_on,
                archived_at: None,
                version: 1,
                created_at: long_ago,
                updated_at: long_ago,
            })
            .collect();
        let signals = facts::Snapshot {
            metrics: self
                .metrics
                .iter()
                .map(|(k, points)| {
                    let mut points = points.clone();
                    points.sort_by_key(|p| p.0);
                    (k.clone(), Series { aggregation: None, direction: None, points })
                })
                .collect::<HashMap<_, _>>(),
            tickets: self
                .tickets
                .iter()
                .enumerate()
                .map(|(i, t)| Ticket {
                    id: TicketId(id(i)),
                    organisation: org,
                    account: account_id,
                    external_id: t.id.clone(),
                    subject: None,
                    priority: t.priority,
                    status: t.status,
                    opened_at: t.opened_at,
                    first_response_at: t.first_response_at,
                    resolved_at: t.resolved_at,
                    version: 1,
                    created_at: t.opened_at,
                    updated_at: t.opened_at,
                })
                .collect(),
            invoices: self
                .invoices
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let at = v.issued_on.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
                    Invoice {
                        id: InvoiceId(id(i)),
                        organisation: org,
                        account: account_id,
                        number: v.number.clone(),
                        amount: money(&v.amount),
                        issued_on: v.issued_on,
                        due_on: v.due_on,
                        paid_at: v.paid_at,
                        status: v.status,
                        version: 1,
                        created_at: at,
                        updated_at: at,
                    }
                })
                .collect(),
            surveys: self
                .surveys
                .iter()
                .enumerate()
                .map(|(i, s)| SurveyResponse {
                    id: SurveyResponseId(id(i)),
                    organisation: org,
                    account: account_id,
                    kind: s.kind,
                    score: s.score,
                    contact: None,
                    comment: None,
                    responded_at: s.responded_at,
                    created_at: s.responded_at,
                })
                .collect(),
            assessments: self
                .assessments
                .iter()
                .enumerate()
                .map(|(i, s)| Assessment {
                    id: AssessmentId(id(i)),
                    organisation: org,
                    account: account_id,
                    assessed_by: UserId(Uuid::nil()),
                    assessed_at: s.assessed_at,
                    stakeholder_sentiment: s.stakeholder_sentiment,
                    competitive_pressure: s.competitive_pressure,
                    strategic_alignment: s.strategic_alignment,
                    notes: None,
                    created_at: s.assessed_at,
                })
                .collect(),
            touchpoints: self
                .touchpoints
                .iter()
                .map(|t| Touchpoint {
                    at: t.at,
                    levels: t.levels.clone(),
                    kind: bellwether_domain::InteractionKind::Meeting,
                    direction: bellwether_domain::Direction::Outbound,
                })
                .collect(),
            contract_changes: self
                .contract_changes
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let at = c.effective_on.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
                    ContractChange {
                        id: ContractChangeId(id(i)),
                        organisation: org,
                        account: account_id,
                        effective_on: c.effective_on,
                        annual_value: money(&c.annual_value),
                        renewal_date: c.renewal_date,
                        note: None,
                        created_at: at,
                    }
                })
                .collect(),
            ..Default::default()
        };
        AccountSnapshot {
            as_of: self.as_of,
            account,
            contacts,
            manager: self.manager.as_ref().map(|m| ManagerLoad {
                user: UserId(Uuid::nil()),
                name: m.name.clone(),
                capacity: m.capacity,
                active_accounts: m.active_accounts,
            }),
            health: self.health.as_ref().map(|h| AccountHealth { score: h.score, band: h.band }),
            signals,
        }
    }
}

/// Compares findings with a fixture's expectations; every mismatch as a sentence.
pub fn compare(expected: &[Expected], found: &[Finding]) -> Vec<String> {
    let mut problems = Vec::new();
    for e in expected {
        match found.iter().find(|f| f.key == e.key) {
            None => problems.push(format!("expected finding '{}' was not reported", e.key)),
            Some(f) => {
                if let Some(i) = e.impact.filter(|i| *i != f.impact) {
                    problems.push(format!("finding '{}': impact {} (expected {i})", e.key, f.impact));
                }
                if let Some(l) = e.likelihood.filter(|l| *l != f.likelihood) {
                    problems.push(format!("finding '{}': likelihood {} (expected {l})", e.key, f.likelihood));
                }
                if let Some(c) = e.category.filter(|c| *c != f.category) {
                    problems.push(format!("finding '{}': category {} (expected {c})", e.key, f.category));
                }
            }
        }
    }
    for f in found {
        if !expected.iter().any(|e| e.key == f.key) {
            problems.push(format!("unexpected finding '{}': {}", f.key, f.title));
        }
    }
    problems
}
