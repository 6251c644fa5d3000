use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "risks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub account_id: Uuid,
    pub source: String,
    pub rule_key: Option<String>,
    pub fingerprint: String,
    pub active_fingerprint: Option<String>,
    pub category: String,
    pub title: String,
    pub detail: String,
    pub status: String,
    pub impact: i32,
    pub likelihood: i32,
    pub priority: i32,
    pub assessed: bool,
    pub evidence: String,
    pub suggested_playbook: Option<String>,
    pub owner_id: Option<Uuid>,
    pub created_by: Option<Uuid>,
    pub first_seen_at: DateTimeUtc,
    pub last_seen_at: DateTimeUtc,
    pub cleared_at: Option<DateTimeUtc>,
    pub clear_evidence: Option<String>,
    pub closed_at: Option<DateTimeUtc>,
    pub dismissed_until: Option<DateTimeUtc>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
