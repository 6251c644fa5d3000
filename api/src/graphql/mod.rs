//! The GraphQL schema: one module per aggregate (the same names as in `domain`), plus the
//! plumbing in `support`, `loaders`, `scalars` and `count`.

mod accounts;
mod attributes;
mod bulk;
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
mod quality;
mod query;
mod risks;
mod scalars;
pub mod signals;
pub mod support;
mod users;

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{EmptySubscription, MergedObject, SDLExportOptions, Schema, SchemaBuilder};
use chrono::{DateTime, Utc};

pub use support::RequestContext;

use crate::config::Limits;

/// Every mutation, one group per aggregate.
#[derive(MergedObject, Default)]
pub struct Mutation(
    accounts::AccountMutation,
    attributes::AttributeMutation,
    contacts::ContactMutation,
    interactions::InteractionMutation,
    users::UserMutation,
    organisations::OrganisationMutation,
    signals::SignalMutation,
    bulk::BulkMutation,
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
    builder = describe_foreign_types(builder);
    if production {
        builder = builder.disable_introspection().disable_suggestions();
    }
    builder.finish()
}

/// The SDL clients see (committed as `schema.graphql`).
pub fn sdl() -> String {
    // async-graphql leaves `@specifiedBy` out of the SDL unless asked, though introspection
    // reports it: the committed schema should name the scalars' specifications too.
    schema(&Limits::default(), false, signals::HealthWorker::default(), Default::default())
        .sdl_with_options(SDLExportOptions::new().include_specified_by())
}

/// Describes the types async-graphql defines for us: its `DateTime` and `JSON` scalars say
/// nothing about this API's wire format, and the connection and edge types it names after each
/// node type have a generic description or none.
fn describe_foreign_types(
    builder: SchemaBuilder<query::Query, Mutation, EmptySubscription>,
) -> SchemaBuilder<query::Query, Mutation, EmptySubscription> {
    // One registry entry serves input and output, so a single override describes both ways.
    let mut builder = builder
        .override_input_type_description::<DateTime<Utc>>(
            "A moment in time, as an RFC 3339 `date-time` string with an offset. Send `Z` or \
             `+hh:mm`/`-hh:mm`, e.g. `2026-11-23T09:30:00Z` or `2026-11-23T10:30:00+01:00`; the \
             moment is kept in UTC. Returned in UTC with a `+00:00` offset and fractional seconds \
             only when they are not zero (3, 6 or 9 digits), e.g. `2026-11-23T09:30:00+00:00`.",
        )
        .override_output_type_description::<async_graphql::Json<serde_json::Value>>(
            "Any JSON value, sent as JSON itself rather than inside a string (the rule metadata of \
             a plugin version is a JSON object).",
        );
    macro_rules! describe_pages {
        ($($node:ty => $items:literal),* $(,)?) => {
            $(
                builder = builder
                    .override_output_type_description::<Connection<String, $node, count::TotalCount, EmptyFields>>(
                        concat!(
                            "A page of ", $items, ": the `edges` (or just the `nodes`), `pageInfo` to ask for the \
                             next or previous page, and `totalCount` across all pages."
                        ),
                    )
                    .override_output_type_description::<Edge<String, $node, EmptyFields>>(concat!(
                        "One of the ", $items, " in a page, with the cursor to page on from it."
                    ));
            )*
        };
    }
    describe_pages!(
        accounts::Account => "accounts",
        contacts::Contact => "contacts",
        interactions::Interaction => "interactions",
        users::User => "users",
        health::HealthScore => "health scores",
        signals::MetricPoint => "metric observations",
        signals::SupportTicket => "support tickets",
        signals::Invoice => "invoices",
        signals::SurveyResponse => "survey responses",
        signals::RelationshipAssessment => "relationship assessments",
        signals::ContractChange => "contract changes",
        risks::Risk => "risks",
        risks::RiskEvent => "risk audit-trail entries",
        risks::RuleRun => "rule evaluation runs",
        plans::PlanAction => "plan actions",
        plans::RiskUpdate => "risk updates (communication-log entries)",
        post_mortems::PostMortem => "post-mortems",
        post_mortems::FeedbackItem => "feedback items",
    );
    builder
}
