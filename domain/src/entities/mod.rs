//! sea-orm entities: the tables, private to this crate. The rest of the world sees domain types.

pub(crate) mod account;
pub(crate) mod contact;
pub(crate) mod contract_change;
pub(crate) mod health_dirty;
pub(crate) mod health_score;
pub(crate) mod health_scorecard;
pub(crate) mod instance_setting;
pub(crate) mod interaction;
pub(crate) mod interaction_contact;
pub(crate) mod interaction_user;
pub(crate) mod invoice;
pub(crate) mod metric_definition;
pub(crate) mod metric_point;
pub(crate) mod organisation;
pub(crate) mod relationship_assessment;
pub(crate) mod risk;
pub(crate) mod risk_dirty;
pub(crate) mod risk_event;
pub(crate) mod risk_sweep;
pub(crate) mod rule_failure;
pub(crate) mod rule_run;
pub(crate) mod rule_setting;
pub(crate) mod support_ticket;
pub(crate) mod survey_response;
pub(crate) mod user;
