//! `totalCount` on connections, computed only when a client selects it.

use async_graphql::{Context, Object};
use bellwether_domain::accounts::AccountFilter;
use bellwether_domain::contacts::ContactFilter;
use bellwether_domain::interactions::InteractionFilter;
use bellwether_domain::signals::invoices::InvoiceFilter;
use bellwether_domain::signals::surveys::SurveyFilter;
use bellwether_domain::signals::tickets::TicketFilter;
use bellwether_domain::signals::{assessments, contracts, invoices, metrics, surveys, tickets};
use bellwether_domain::users::UserFilter;
use bellwether_domain::{AccountId, MetricId, ScorecardId, accounts, contacts, health, interactions, users};
use chrono::{DateTime, Utc};

use super::support::{GqlResult, request};

/// The filter a connection was listed with, kept to count it on demand.
pub enum TotalCount {
    Accounts(AccountFilter),
    Users(UserFilter),
    Contacts(AccountId, ContactFilter),
    Interactions(AccountId, InteractionFilter),
    Tickets(AccountId, TicketFilter),
    Invoices(AccountId, InvoiceFilter),
    Surveys(AccountId, SurveyFilter),
    Assessments(AccountId),
    ContractChanges(AccountId),
    MetricPoints(AccountId, MetricId, Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    HealthHistory(AccountId, Option<ScorecardId>),
    Risks(bellwether_domain::risks::RiskFilter),
    RuleRuns(bellwether_domain::risks::runs::RunFilter),
    RiskEvents(bellwether_domain::RiskId),
    RiskUpdates(bellwether_domain::RiskId, Option<bellwether_domain::UpdateAudience>),
    PlanActions(bellwether_domain::plans::ActionFilter),
    PostMortems(bellwether_domain::post_mortems::PostMortemFilter),
    FeedbackItems(bellwether_domain::post_mortems::FeedbackFilter),
}

#[Object]
impl TotalCount {
    /// How many items match the filter, across all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        let r = request(ctx);
        let org = r.actor.organisation;
        let n = match self {
            Self::Accounts(f) => accounts::count(&r.db, org, f).await,
            Self::Users(f) => users::count(&r.db, org, f).await,
            Self::Contacts(a, f) => contacts::count(&r.db, org, *a, f).await,
            Self::Interactions(a, f) => interactions::count(&r.db, org, *a, f).await,
            Self::Tickets(a, f) => tickets::count(&r.db, org, *a, f).await,
            Self::Invoices(a, f) => invoices::count(&r.db, org, *a, f).await,
            Self::Surveys(a, f) => surveys::count(&r.db, org, *a, f).await,
            Self::Assessments(a) => assessments::count(&r.db, org, *a).await,
            Self::ContractChanges(a) => contracts::count(&r.db, org, *a).await,
            Self::MetricPoints(a, m, from, to) => metrics::count_points(&r.db, org, *a, *m, *from, *to).await,
            Self::HealthHistory(a, c) => health::history_count(&r.db, org, *a, *c).await,
            Self::Risks(f) => bellwether_domain::risks::count(&r.db, org, f).await,
            Self::RuleRuns(f) => bellwether_domain::risks::runs::count(&r.db, org, f).await,
            Self::RiskEvents(id) => bellwether_domain::risks::events_count(&r.db, org, *id).await,
            Self::RiskUpdates(id, a) => bellwether_domain::risks::updates::count(&r.db, org, *id, *a).await,
            Self::PlanActions(f) => bellwether_domain::plans::count_actions(&r.db, org, f).await,
            Self::PostMortems(f) => bellwether_domain::post_mortems::count(&r.db, org, f).await,
            Self::FeedbackItems(f) => bellwether_domain::post_mortems::count_feedback(&r.db, org, f).await,
        }
        .gql()?;
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }
}
