//! `totalCount` on connections, computed only when a client selects it.

use async_graphql::{Context, Object};
use bellwether_domain::accounts::AccountFilter;
use bellwether_domain::contacts::ContactFilter;
use bellwether_domain::interactions::InteractionFilter;
use bellwether_domain::users::UserFilter;
use bellwether_domain::{AccountId, accounts, contacts, interactions, users};

use super::support::{GqlResult, request};

/// The filter a connection was listed with, kept to count it on demand.
pub enum TotalCount {
    Accounts(AccountFilter),
    Users(UserFilter),
    Contacts(AccountId, ContactFilter),
    Interactions(AccountId, InteractionFilter),
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
        }
        .gql()?;
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }
}
