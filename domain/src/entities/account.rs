use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub name: String,
    pub external_ref: Option<String>,
    pub segment: Option<String>,
    pub industry: Option<String>,
    pub tier: String,
    pub lifecycle_stage: String,
    pub status: String,
    pub churned_on: Option<Date>,
    pub churn_reason: Option<String>,
    pub annual_value_minor: i64,
    pub currency: String,
    pub contract_start: Option<Date>,
    pub renewal_date: Option<Date>,
    pub account_manager_id: Option<Uuid>,
    pub sales_owner_id: Option<Uuid>,
    pub parent_id: Option<Uuid>,
    pub archived_at: Option<DateTimeUtc>,
    pub health_score: Option<f64>,
    pub health_band: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
