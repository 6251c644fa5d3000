//! The GraphQL schema: one module per aggregate (the same names as in `domain`), plus the
//! plumbing in `support`, `loaders`, `scalars` and `count`.

mod accounts;
mod contacts;
mod count;
pub mod document;
mod health;
mod interactions;
mod loaders;
mod organisations;
mod plans;
mod plugins;
mod post_mortems;
mod query;
mod risks;
mod scalars;
pub mod signals;
pub mod support;
mod users;

use async_graphql::{EmptySubscription, MergedObject, Schema};

pub use support::RequestContext;

use crate::config::Limits;

/// Every mutation, one group per aggregate.
#[derive(MergedObject, Default)]
pub struct Mutation(
    accounts::AccountMutation,
    contacts::ContactMutation,
    interactions::InteractionMutation,
    users::UserMutation,
    organisations::OrganisationMutation,
    signals::SignalMutation,
    health::HealthMutation,
    risks::RiskMutation,
    plugins::PluginMutation,
    plans::PlanMutation,
    post_mortems::PostMortemMutation,
);

/// The schema type served at `/graphql`.
pub type AppSchema = Schema<query::Query, Mutation, EmptySubscription>;

/// Builds the schema with the configured limits; `worker` is woken when signals arrive; `engine`
/// runs the risk rules.
pub fn schema(
    limits: &Limits,
    production: bool,
    worker: signals::HealthWorker,
    engine: std::sync::Arc<bellwether_rules::engine::Engine>,
) -> AppSchema {
    let mut builder = Schema::build(query::Query::default(), Mutation::default(), EmptySubscription)
        .data(worker)
        .data(engine)
        // Depth (with its allowance for introspection), aliases, tokens and the expanded size are
        // checked by `document` before async-graphql sees the document.
        .limit_complexity(limits.max_complexity)
        .limit_directives(limits.max_directives)
        .limit_recursive_depth(document::MAX_NESTING as usize);
    if production {
        builder = builder.disable_introspection().disable_suggestions();
    }
    builder.finish()
}

/// The SDL clients see (committed as `schema.graphql`).
pub fn sdl() -> String {
    schema(&Limits::default(), false, signals::HealthWorker::default(), Default::default()).sdl()
}
