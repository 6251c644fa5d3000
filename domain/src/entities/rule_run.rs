use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rule_runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub trigger: String,
    pub account_id: Option<Uuid>,
    pub started_at: DateTimeUtc,
    pub duration_us: i64,
    pub accounts: i32,
    pub evaluations: i32,
    pub findings: i32,
    pub failures: i32,
    pub raised: i32,
    pub refreshed: i32,
    pub cleared: i32,
    pub snapshot_us: i64,
    pub evaluate_us: i64,
    pub persist_us: i64,
    pub rules: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
