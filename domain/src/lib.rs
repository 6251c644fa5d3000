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
pub mod contacts;
pub mod db;
pub mod demo;
pub mod health;
pub mod interactions;
pub mod organisations;
pub mod page;
pub mod plugins;
pub mod risks;
pub mod settings;
pub mod signals;
pub mod synthetic;
pub mod users;
pub mod values;

pub use accounts::Account;
pub use actor::Actor;
pub use contacts::Contact;
pub use enums::{
    AccountStatus, ContactLevel, ContactRole, Direction, HealthBand, InteractionKind, InvoiceStatus, LifecycleStage,
    MetricAggregation, MetricDirection, MetricUnit, PluginStatus, RiskCategory, RiskEventKind, RiskSource, RiskStatus,
    Role, RuleTrigger, Sentiment, SurveyKind, TicketPriority, TicketStatus, Tier,
};
pub use error::{Error, ErrorCode, FieldError, Problems, Result};
pub use ids::{
    AccountId, AssessmentId, ContactId, ContractChangeId, HealthScoreId, InteractionId, InvoiceId, MetricId,
    OrganisationId, PluginId, PluginVersionId, RiskEventId, RiskId, RuleRunId, ScorecardId, SurveyResponseId, TicketId,
    UserId,
};
pub use interactions::Interaction;
pub use organisations::Organisation;
pub use page::{Page, PageRequest};
pub use users::User;
pub use values::Money;

/// The database handle every service takes.
pub use sea_orm::DatabaseConnection as Db;
