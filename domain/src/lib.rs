//! Bellwether's domain: organisations, users, accounts, contacts and interactions, with their
//! rules (validation, roles, tenancy) and persistence.
//!
//! Every service function takes the organisation (directly or through an [`Actor`]) and scopes
//! every query by it. Tables (`entities`) are private; callers see the domain types here.

mod actor;
mod entities;
mod enums;
mod error;
mod ids;
mod store;

pub mod accounts;
pub mod attributes;
pub mod contacts;
pub mod db;
pub mod demo;
pub mod health;
pub mod interactions;
pub mod organisations;
pub mod page;
pub mod plans;
pub mod playbooks;
pub mod plugins;
pub mod post_mortems;
pub mod risks;
pub mod settings;
pub mod signals;
pub mod synthetic;
pub mod users;
pub mod values;

pub use accounts::Account;
pub use actor::Actor;
pub use attributes::{AttributeKind, AttributeValue};
pub use chrono_tz::Tz;
pub use contacts::Contact;
pub use enums::{
    AccountStatus, ActionStatus, ContactLevel, ContactRole, Direction, FeedbackStatus, FeedbackTeam, HealthBand,
    InteractionKind, InvoiceStatus, LifecycleStage, MetricAggregation, MetricDirection, MetricUnit, PlaybookRole,
    PluginStatus, PostMortemOutcome, RiskCategory, RiskEventKind, RiskSource, RiskStatus, Role, RootCause, RuleTrigger,
    Sentiment, SurveyKind, TicketPriority, TicketStatus, Tier, UpdateAudience, UpdateChannel,
};
pub use error::{Error, ErrorCode, FieldError, Problems, Result};
pub use health::scorecard::MeasureKind;
pub use ids::{
    AccountId, ActionPlanId, AssessmentId, ContactId, ContractChangeId, FeedbackItemId, HealthScoreId, InteractionId,
    InvoiceId, MetricId, OrganisationId, PlanActionId, PlaybookId, PlaybookVersionId, PluginId, PluginVersionId,
    PostMortemId, RiskEventId, RiskId, RiskUpdateId, RuleRunId, ScorecardId, SurveyResponseId, TicketId, UserId,
};
pub use interactions::Interaction;
pub use organisations::Organisation;
pub use page::{Page, PageRequest};
pub use users::User;
pub use values::Money;

/// The database handle every service takes.
pub use sea_orm::DatabaseConnection as Db;
