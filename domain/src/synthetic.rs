//! A synthetic portfolio for benchmarks: many accounts with a year of daily usage, monthly
//! invoices and interactions, tickets and quarterly NPS, where fixed shares of the accounts show
//! each warning sign. Written with multi-row inserts straight into the tables (the import path
//! would take far longer at 100,000 accounts), in the organisation given.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait};

use crate::entities::{
    account, contact, interaction, interaction_contact, invoice, metric_definition, metric_point, support_ticket,
    survey_response,
};
use crate::{OrganisationId, Result, UserId, values};

/// The usage metric the synthetic portfolio reports daily.
pub const USAGE_METRIC: &str = "usage.active_users";

/// Rows per INSERT (the widest row has 13 columns: within SQLite's parameter limit).
const ROWS: usize = 2000;

async fn insert<A, I, C>(db: &C, rows: I) -> Result<()>
where
    C: sea_orm::ConnectionTrait,
    A: sea_orm::ActiveModelTrait + Send + Clone,
    I: IntoIterator<Item = A>,
{
    let rows: Vec<A> = rows.into_iter().collect();
    for chunk in rows.chunks(ROWS) {
        <A::Entity as EntityTrait>::insert_many(chunk.to_vec()).exec_without_returning(db).await?;
    }
    Ok(())
}

/// What the portfolio looks like.
#[derive(Clone, Debug)]
pub struct Spec {
    pub accounts: usize,
    /// Days of daily usage history.
    pub days: i64,
    /// The account manager of every account.
    pub manager: Option<UserId>,
}

/// Which warning sign account `i` shows (at most one, so findings are easy to count).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sign {
    None,
    UsageDrop,
    OverdueInvoice,
    TicketSurge,
    Detractor,
    GoneQuiet,
    ChampionLeft,
}

/// The warning sign of account `i`: each on one account in twenty.
pub fn sign(i: usize) -> Sign {
    match i % 20 {
        0 => Sign::UsageDrop,
        1 => Sign::OverdueInvoice,
        2 => Sign::TicketSurge,
        3 => Sign::Detractor,
        4 => Sign::GoneQuiet,
        5 => Sign::ChampionLeft,
        _ => Sign::None,
    }
}

/// Writes the portfolio; returns how many rows were written.
pub async fn generate(db: &DatabaseConnection, org: OrganisationId, spec: &Spec) -> Result<u64> {
    let now = values::now();
    let day = |d: i64| -> DateTime<Utc> { now - Duration::days(d) - Duration::hours(2) };
    let existing = crate::signals::metrics::definitions(db, org).await?.into_iter().find(|d| d.key == USAGE_METRIC);
    let metric = match existing {
        Some(d) => d.id.0,
        None => {
            let id = uuid::Uuid::now_v7();
            metric_definition::Entity::insert(metric_definition::ActiveModel {
                id: Set(id),
                organisation_id: Set(org.0),
                key: Set(USAGE_METRIC.into()),
                name: Set("Active users".into()),
                unit: Set("count".into()),
                direction: Set("higher_is_better".into()),
                aggregation: Set("average".into()),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
            })
            .exec_without_returning(db)
            .await?;
            id
        }
    };
    let mut written = 0u64;
    // One transaction per slice of accounts keeps memory and transaction size bounded.
    for start in (0..spec.accounts).step_by(500) {
        let end = (start + 500).min(spec.accounts);
        let mut accounts = Vec::new();
        let mut contacts = Vec::new();
        let mut points = Vec::new();
        let mut invoices = Vec::new();
        let mut tickets = Vec::new();
        let mut surveys = Vec::new();
        let mut interactions = Vec::new();
        let mut participants = Vec::new();
        for i in start..end {
            let s = sign(i);
            let id = uuid::Uuid::now_v7();
            accounts.push(account::ActiveModel {
                id: Set(id),
                organisation_id: Set(org.0),
                name: Set(format!("Account {i:06}")),
                external_ref: Set(Some(format!("SYN-{i}"))),
                segment: Set(Some(["banks", "government", "manufacturing"][i % 3].into())),
                industry: Set(None),
                tier: Set(["strategic", "key", "growth", "standard"][i % 4].into()),
                lifecycle_stage: Set("mature".into()),
                status: Set("active".into()),
                churned_on: Set(None),
                churn_reason: Set(None),
                annual_value_minor: Set(1_000_000 + (i as i64 % 97) * 100_000),
                currency: Set("EUR".into()),
                contract_start: Set(Some((now - Duration::days(spec.days + 30)).date_naive())),
                renewal_date: Set(Some((now + Duration::days(30 + (i as i64 % 300))).date_naive())),
                account_manager_id: Set(spec.manager.map(|u| u.0)),
                sales_owner_id: Set(None),
                parent_id: Set(None),
                archived_at: Set(None),
                health_score: Set(None),
                health_band: Set(None),
                version: Set(1),
                created_at: Set(now - Duration::days(spec.days + 30)),
                updated_at: Set(now),
            });
            let person = |name: &str, level: &str, role: &str, departed: Option<i64>| contact::ActiveModel {
                id: Set(uuid::Uuid::now_v7()),
                organisation_id: Set(org.0),
                account_id: Set(id),
                name: Set(format!("{name} {i}")),
                title: Set(None),
                email: Set(None),
                phone: Set(None),
                level: Set(level.into()),
                role: Set(role.into()),
                sentiment: Set("neutral".into()),
                active: Set(departed.is_none()),
                departed_on: Set(departed.map(|d| (now - Duration::days(d)).date_naive())),
                idempotency_key: Set(None),
                archived_at: Set(None),
                version: Set(1),
                created_at: Set(now - Duration::days(spec.days)),
                updated_at: Set(now),
            };
            let sponsor = person("Sponsor", "executive", "executive_sponsor", None);
            let sponsor_id = *sponsor.id.as_ref();
            contacts.push(sponsor);
            contacts.push(person("Champion", "management", "champion", (s == Sign::ChampionLeft).then_some(20)));
            let base = 100.0 + (i % 50) as f64;
            for d in 0..spec.days {
                let value = if s == Sign::UsageDrop && d < 30 { base * 0.8 } else { base + (d % 7) as f64 };
                points.push(metric_point::ActiveModel {
                    organisation_id: Set(org.0),
                    account_id: Set(id),
                    metric_id: Set(metric),
                    observed_at: Set(day(d)),
                    value: Set(value),
                    source: Set(None),
                });
            }
            for m in 0..12i64 {
                let due = now - Duration::days(10 + 30 * m);
                let unpaid = s == Sign::OverdueInvoice && m == 1;
                invoices.push(invoice::ActiveModel {
                    id: Set(uuid::Uuid::now_v7()),
                    organisation_id: Set(org.0),
                    account_id: Set(id),
                    number: Set(format!("SYN-{i}-{m}")),
                    amount_minor: Set(100_000),
                    currency: Set("EUR".into()),
                    issued_on: Set((due - Duration::days(30)).date_naive()),
                    due_on: Set(due.date_naive()),
                    paid_at: Set((!unpaid).then(|| due - Duration::days(2))),
                    status: Set(if unpaid { "open" } else { "paid" }.into()),
                    version: Set(1),
                    created_at: Set(now),
                    updated_at: Set(now),
                });
                let quiet = s == Sign::GoneQuiet && m < 3;
                if !quiet {
                    let iid = uuid::Uuid::now_v7();
                    interactions.push(interaction::ActiveModel {
                        id: Set(iid),
                        organisation_id: Set(org.0),
                        account_id: Set(id),
                        kind: Set("check_in".into()),
                        direction: Set("outbound".into()),
                        occurred_at: Set(day(5 + 30 * m)),
                        summary: Set("Monthly check-in".into()),
                        idempotency_key: Set(None),
                        archived_at: Set(None),
                        version: Set(1),
                        created_at: Set(now),
                        updated_at: Set(now),
                    });
                    participants.push(interaction_contact::ActiveModel {
                        organisation_id: Set(org.0),
                        interaction_id: Set(iid),
                        contact_id: Set(sponsor_id),
                    });
                }
            }
            let critical = if s == Sign::TicketSurge { 3 } else { 0 };
            for t in 0..(4 + critical) {
                let opened = if t < 4 { day(20 + 80 * t) } else { day(1) };
                tickets.push(support_ticket::ActiveModel {
                    id: Set(uuid::Uuid::now_v7()),
                    organisation_id: Set(org.0),
                    account_id: Set(id),
                    external_id: Set(format!("SYN-{i}-{t}")),
                    subject: Set(None),
                    priority: Set(if t < 4 { "normal" } else { "critical" }.into()),
                    status: Set(if t < 4 { "resolved" } else { "open" }.into()),
                    opened_at: Set(opened),
                    first_response_at: Set(None),
                    resolved_at: Set((t < 4).then(|| opened + Duration::days(2))),
                    version: Set(1),
                    created_at: Set(now),
                    updated_at: Set(now),
                });
            }
            for q in 0..4i64 {
                surveys.push(survey_response::ActiveModel {
                    id: Set(uuid::Uuid::now_v7()),
                    organisation_id: Set(org.0),
                    account_id: Set(id),
                    kind: Set("nps".into()),
                    score: Set(if s == Sign::Detractor && q == 0 { 4 } else { 9 }),
                    contact_id: Set(None),
                    comment: Set(None),
                    responded_at: Set(day(15 + 90 * q)),
                    idempotency_key: Set(None),
                    created_at: Set(now),
                })
            }
        }
        written += (accounts.len()
            + contacts.len()
            + points.len()
            + invoices.len()
            + tickets.len()
            + surveys.len()
            + interactions.len()
            + participants.len()) as u64;
        let tx = crate::db::begin_write(db).await?;
        insert(&tx, accounts).await?;
        insert(&tx, contacts).await?;
        insert(&tx, points).await?;
        insert(&tx, invoices).await?;
        insert(&tx, tickets).await?;
        insert(&tx, surveys).await?;
        insert(&tx, interactions).await?;
        insert(&tx, participants).await?;
        tx.commit().await?;
    }
    // Fresh planner statistics, as autovacuum would gather after a bulk load; without them
    // PostgreSQL plans the per-chunk queries as if the tables were empty.
    if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        use sea_orm::ConnectionTrait;
        db.execute_unprepared("ANALYZE").await?;
    }
    Ok(written)
}
