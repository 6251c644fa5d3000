//! Snapshots for the rules' table tests.

use bellwether_domain::health::facts::{Series, Touchpoint};
use bellwether_domain::risks::snapshot::{AccountHealth, AccountSnapshot, ManagerLoad};
use bellwether_domain::{
    Account, AccountId, AccountStatus, Contact, ContactId, ContactLevel, ContactRole, HealthBand, LifecycleStage,
    MetricAggregation, Money, OrganisationId, Sentiment, Tier, UserId,
};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};

/// The moment every test evaluates at.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 30, 12, 0, 0).unwrap()
}

/// `days` from now (negative: in the past).
pub fn at(days: i64) -> DateTime<Utc> {
    now() + Duration::days(days)
}

pub fn day(days: i64) -> NaiveDate {
    at(days).date_naive()
}

/// A key-tier account known for two years, with no signals at all.
pub fn account() -> AccountSnapshot {
    let org = OrganisationId::generate();
    AccountSnapshot {
        as_of: now(),
        account: Account {
            id: AccountId::generate(),
            organisation: org,
            name: "Acme".into(),
            external_ref: None,
            segment: None,
            industry: None,
            tier: Tier::Key,
            lifecycle_stage: LifecycleStage::Mature,
            status: AccountStatus::Active,
            churned_on: None,
            churn_reason: None,
            annual_value: Money { amount_minor: 10_000_000, currency: "EUR".into() },
            contract_start: Some(day(-730)),
            renewal_date: None,
            account_manager: None,
            sales_owner: None,
            parent: None,
            health_score: None,
            health_band: None,
            archived_at: None,
            version: 1,
            created_at: at(-730),
            updated_at: at(-730),
        },
        contacts: Vec::new(),
        manager: None,
        health: None,
        signals: Default::default(),
    }
}

/// Daily points from `from` to `to` days (inclusive, relative to now).
pub fn daily(from: i64, to: i64, value: impl Fn(i64) -> f64) -> Series {
    Series {
        aggregation: Some(MetricAggregation::Average),
        direction: None,
        points: (from..=to).map(|d| (at(d), value(d))).collect(),
    }
}

pub fn touch(days_ago: i64, levels: &[ContactLevel]) -> Touchpoint {
    Touchpoint {
        at: at(-days_ago),
        levels: levels.to_vec(),
        kind: bellwether_domain::InteractionKind::Meeting,
        direction: bellwether_domain::Direction::Outbound,
    }
}

pub fn contact(role: ContactRole, level: ContactLevel, departed_days_ago: Option<i64>) -> Contact {
    Contact {
        id: ContactId::generate(),
        organisation: OrganisationId::generate(),
        account: AccountId::generate(),
        name: format!("{role} {level}"),
        title: None,
        email: None,
        phone: None,
        level,
        role,
        sentiment: Sentiment::Unknown,
        active: departed_days_ago.is_none(),
        departed_on: departed_days_ago.map(|d| day(-d)),
        archived_at: None,
        version: 1,
        created_at: at(-700),
        updated_at: at(-700),
    }
}

pub fn health(score: f64) -> Option<AccountHealth> {
    Some(AccountHealth {
        score,
        band: if score >= 70.0 {
            HealthBand::Good
        } else if score >= 50.0 {
            HealthBand::Watch
        } else {
            HealthBand::Poor
        },
    })
}

pub fn manager(capacity: Option<i32>, active_accounts: u64) -> Option<ManagerLoad> {
    Some(ManagerLoad { user: UserId::generate(), name: "Kim".into(), capacity, active_accounts })
}
