use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "post_mortems")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub account_id: Uuid,
    pub risk_id: Option<Uuid>,
    pub churned_on: Option<Date>,
    pub outcome: String,
    pub outcome_at: DateTimeUtc,
    pub category: Option<String>,
    pub root_cause: String,
    pub summary: String,
    pub what_happened: String,
    pub what_worked: String,
    pub what_to_improve: String,
    pub author_id: Uuid,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
