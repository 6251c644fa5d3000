//! Per-organisation rule settings: enabled, parameter overrides, auto-resolve and dismissal
//! cool-down. A rule without a stored row runs with its defaults (version 0). Which parameters
//! a rule has, and their bounds, is the rule engine's knowledge: it validates before saving.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};

use crate::entities::rule_setting;
use crate::store::is_unique_violation;
use crate::{Actor, Error, OrganisationId, Result, UserId, values};

/// Days a dismissed rule finding stays quiet unless configured otherwise.
pub const DEFAULT_COOLDOWN_DAYS: i32 = 30;
/// Longest configurable cool-down.
pub const MAX_COOLDOWN_DAYS: i32 = 3650;

/// A rule parameter's value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    Number(f64),
    Text(String),
}

/// An organisation's stored settings for one rule.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleSetting {
    pub rule_key: String,
    pub enabled: bool,
    /// Overrides of the rule's defaults (only the parameters that differ).
    pub params: BTreeMap<String, ParamValue>,
    pub auto_resolve: bool,
    pub cooldown_days: i32,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<UserId>,
}

impl TryFrom<rule_setting::Model> for RuleSetting {
    type Error = Error;
    fn try_from(m: rule_setting::Model) -> Result<Self> {
        Ok(Self {
            params: serde_json::from_str(&m.params).map_err(Error::internal)?,
            rule_key: m.rule_key,
            enabled: m.enabled,
            auto_resolve: m.auto_resolve,
            cooldown_days: m.cooldown_days,
            version: m.version,
            updated_at: m.updated_at,
            updated_by: m.updated_by.map(UserId),
        })
    }
}

/// One rule's stored settings, if any.
pub async fn stored(db: &DatabaseConnection, org: OrganisationId, rule_key: &str) -> Result<Option<RuleSetting>> {
    rule_setting::Entity::find_by_id((org.0, rule_key.to_owned())).one(db).await?.map(TryInto::try_into).transpose()
}

/// Every stored rule setting of the organisation, by rule key.
pub async fn all(db: &DatabaseConnection, org: OrganisationId) -> Result<HashMap<String, RuleSetting>> {
    rule_setting::Entity::find()
        .filter(rule_setting::Column::OrganisationId.eq(org.0))
        .all(db)
        .await?
        .into_iter()
        .map(|m| RuleSetting::try_from(m).map(|s| (s.rule_key.clone(), s)))
        .collect()
}

/// The complete new settings of a rule (already checked against the rule's parameters).
#[derive(Clone, Debug)]
pub struct SettingChange {
    pub enabled: bool,
    pub params: BTreeMap<String, ParamValue>,
    pub auto_resolve: bool,
    pub cooldown_days: i32,
}

/// Stores a rule's settings (admins and managers). `expected_version` 0 means "never configured".
pub async fn save(
    db: &DatabaseConnection,
    actor: &Actor,
    rule_key: &str,
    change: SettingChange,
    expected_version: Option<i32>,
) -> Result<RuleSetting> {
    actor.require_manager()?;
    if !(0..=MAX_COOLDOWN_DAYS).contains(&change.cooldown_days) {
        return Err(Error::invalid(&["cooldownDays"], format!("must be between 0 and {MAX_COOLDOWN_DAYS}")));
    }
    let org = actor.organisation;
    let current = stored(db, org, rule_key).await?;
    let version = current.as_ref().map_or(0, |c| c.version);
    if let Some(e) = expected_version.filter(|e| *e != version) {
        return Err(Error::stale("rule setting", e, version));
    }
    let row = rule_setting::ActiveModel {
        organisation_id: Set(org.0),
        rule_key: Set(rule_key.to_owned()),
        enabled: Set(change.enabled),
        params: Set(serde_json::to_string(&change.params).map_err(Error::internal)?),
        auto_resolve: Set(change.auto_resolve),
        cooldown_days: Set(change.cooldown_days),
        version: Set(version + 1),
        updated_at: Set(values::now()),
        updated_by: Set(Some(actor.user.0)),
    };
    let saved = if current.is_none() {
        match rule_setting::Entity::insert(row).exec_without_returning(db).await {
            Ok(_) => true,
            Err(e) if is_unique_violation(&e) => false,
            Err(e) => return Err(e.into()),
        }
    } else {
        rule_setting::Entity::update_many()
            .set(row)
            .filter(rule_setting::Column::OrganisationId.eq(org.0))
            .filter(rule_setting::Column::RuleKey.eq(rule_key))
            .filter(rule_setting::Column::Version.eq(version))
            .exec(db)
            .await?
            .rows_affected
            == 1
    };
    if !saved {
        return Err(Error::conflict(
            &["expectedVersion"],
            "the rule's settings changed concurrently; reload and retry",
        ));
    }
    stored(db, org, rule_key).await?.ok_or_else(|| Error::not_found("rule setting", &["ruleKey"]))
}
