//! What a risk rule sees of one account as of a moment: the account, its stakeholders, its
//! manager's load, its health at that moment and its signals. Loaded for many accounts at once
//! (a constant number of queries per batch), and only as far back as the rules need.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::entities::contact;
use crate::health::{self, facts, scorecard};
use crate::{Account, AccountId, Contact, HealthBand, OrganisationId, Result, UserId, accounts, users};

/// The account manager's load (an overloaded manager is a risk to every account they hold).
#[derive(Clone, Debug, PartialEq)]
pub struct ManagerLoad {
    pub user: UserId,
    pub name: String,
    /// How many accounts they can look after, if set on the user.
    pub capacity: Option<i32>,
    /// Active accounts they manage now.
    pub active_accounts: u64,
}

/// The account's health with the default scorecard at the snapshot's moment.
#[derive(Clone, Debug, PartialEq)]
pub struct AccountHealth {
    pub score: f64,
    pub band: HealthBand,
}

/// Everything a rule may look at for one account.
#[derive(Clone, Debug)]
pub struct AccountSnapshot {
    /// The moment the snapshot describes; rules never look at the clock.
    pub as_of: DateTime<Utc>,
    pub account: Account,
    /// Stakeholders, including those who left (with `departed_on`), excluding archived ones.
    pub contacts: Vec<Contact>,
    pub manager: Option<ManagerLoad>,
    pub health: Option<AccountHealth>,
    pub signals: facts::Snapshot,
}

impl AccountSnapshot {
    /// The same account seen at an earlier moment (for backtests): the signals are filtered by
    /// the facts functions themselves; contacts who did not exist yet are dropped and the
    /// health is recomputed by the caller.
    pub fn at(&self, as_of: DateTime<Utc>) -> Self {
        let mut s = self.clone();
        s.as_of = as_of;
        s.contacts.retain(|c| c.created_at <= as_of);
        // The contract as it stood then: value and renewal from the contract changes.
        if let Some(then) = facts::account_as_of(&s.signals, as_of.date_naive()) {
            s.account.annual_value.amount_minor = then.annual_value_minor;
            s.account.renewal_date = then.renewal_date;
        }
        // Churned later means active then.
        if s.account.churned_on.is_some_and(|d| d > as_of.date_naive()) {
            s.account.status = crate::AccountStatus::Active;
            s.account.churned_on = None;
        }
        s
    }
}

/// How much history to load.
#[derive(Clone, Debug, Default)]
pub struct Needs {
    /// Metric series to load (by key).
    pub metric_keys: Vec<String>,
    /// Days of metric history before the earliest moment evaluated.
    pub metric_days: i64,
    /// Days of other signals (tickets, invoices, surveys, interactions) before it.
    pub lookback_days: i64,
}

/// Loads snapshots of accounts of one organisation as of `as_of`, with history reaching back
/// from `earliest` (equal to `as_of` except for backtests). Accounts not in the organisation are
/// absent. Health is computed with the default scorecard as of `as_of`.
pub async fn load(
    db: &DatabaseConnection,
    org: OrganisationId,
    ids: &[AccountId],
    as_of: DateTime<Utc>,
    earliest: DateTime<Utc>,
    needs: &Needs,
) -> Result<Vec<AccountSnapshot>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let cards = health::scorecards(db, org).await?;
    let default_card = cards.into_iter().find(|c| c.is_default);
    let (mut keys, mut days) =
        default_card.as_ref().map(|c| health::metric_needs(std::slice::from_ref(c))).unwrap_or_default();
    keys.extend(needs.metric_keys.iter().cloned());
    keys.sort();
    keys.dedup();
    days = days.max(needs.metric_days);
    let lookback = needs.lookback_days.max(health::LOOKBACK_DAYS);
    let found = accounts::by_ids(db, org, ids).await?;
    let mut signals =
        health::load_signals(db, org, ids, &keys, earliest - Duration::days(days), earliest - Duration::days(lookback))
            .await?;
    let mut contacts: HashMap<AccountId, Vec<Contact>> = HashMap::new();
    for chunk in ids.chunks(1000) {
        for m in contact::Entity::find()
            .filter(contact::Column::OrganisationId.eq(org.0))
            .filter(contact::Column::AccountId.is_in(chunk.iter().map(|a| a.0)))
            .filter(contact::Column::ArchivedAt.is_null())
            .all(db)
            .await?
        {
            let c = Contact::try_from(m)?;
            contacts.entry(c.account).or_default().push(c);
        }
    }
    let managers: Vec<UserId> =
        found.values().filter_map(|a| a.account_manager).collect::<HashSet<_>>().into_iter().collect();
    let counts = accounts::managed_counts(db, org, &managers).await?;
    let people = users::by_ids(db, org, &managers).await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(account) = found.get(id) else { continue };
        let signals = signals.remove(id).unwrap_or_default();
        let health = default_card.as_ref().and_then(|c| health_of(&c.definition, &signals, as_of));
        let manager = account.account_manager.and_then(|u| {
            people.get(&u).map(|p| ManagerLoad {
                user: u,
                name: p.name.clone(),
                capacity: p.capacity,
                active_accounts: counts.get(&u).copied().unwrap_or(0),
            })
        });
        out.push(AccountSnapshot {
            as_of,
            account: account.clone(),
            contacts: contacts.remove(id).unwrap_or_default(),
            manager,
            health,
            signals,
        });
    }
    Ok(out)
}

/// Health with the default scorecard as of another moment, from a snapshot's signals (backtests).
pub async fn default_scorecard(db: &DatabaseConnection, org: OrganisationId) -> Result<Option<scorecard::Definition>> {
    Ok(health::scorecards(db, org).await?.into_iter().find(|c| c.is_default).map(|c| c.definition))
}

/// Evaluates a scorecard on a snapshot's signals at its moment.
pub fn health_at(card: &scorecard::Definition, snapshot: &AccountSnapshot) -> Option<AccountHealth> {
    health_of(card, &snapshot.signals, snapshot.as_of)
}

fn health_of(card: &scorecard::Definition, signals: &facts::Snapshot, as_of: DateTime<Utc>) -> Option<AccountHealth> {
    let e = scorecard::evaluate(card, signals, as_of);
    Some(AccountHealth { score: e.score?, band: e.band? })
}
