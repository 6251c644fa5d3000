//! Custom account attributes: typed facts an organisation defines for its accounts (contract
//! type, payment method, add-ons, ...) that the product has no column for. Measures, rules and
//! models read them from the account's snapshot.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

crate::enums::string_enum!(
    /// The type of a custom attribute's values.
    AttributeKind {
        Text = "text",
        Number = "number",
        Boolean = "boolean",
        Date = "date",
        /// One of a fixed list of options.
        Enumeration = "enumeration",
    }
);

/// One account's value of a custom attribute.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum AttributeValue {
    Text(String),
    Number(f64),
    Boolean(bool),
    Date(NaiveDate),
    /// An enumeration's option (its key).
    Choice(String),
}

impl AttributeValue {
    /// The kind of attribute this value belongs to.
    pub fn kind(&self) -> AttributeKind {
        match self {
            Self::Text(_) => AttributeKind::Text,
            Self::Number(_) => AttributeKind::Number,
            Self::Boolean(_) => AttributeKind::Boolean,
            Self::Date(_) => AttributeKind::Date,
            Self::Choice(_) => AttributeKind::Enumeration,
        }
    }
}

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{OnConflict, Query, SelectStatement};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder,
};

use crate::entities::{attribute_definition, attribute_value};
use crate::enums::stored;
use crate::signals::{AccountRef, BatchReport, Coerced, INSERT_CHUNK, ItemStatus, Outcomes};
use crate::{AccountId, Actor, Error, ErrorCode, OrganisationId, Problems, Result, values};

/// Most attributes an organisation may define (archived ones count).
pub const MAX_DEFINITIONS: usize = 200;
/// Most options of an enumeration.
pub const MAX_OPTIONS: usize = 100;
/// Longest option.
pub const MAX_OPTION_LEN: usize = 100;
/// Longest text value.
pub const MAX_TEXT_VALUE: usize = 500;
/// Most values one item (one account) may set at once.
pub const MAX_VALUES_PER_ITEM: usize = 100;
/// Most attribute conditions in one account filter.
pub const MAX_CONDITIONS: usize = 10;

/// An attribute the organisation defined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttributeDefinition {
    pub organisation: OrganisationId,
    /// The key integrators send; same rules as metric keys.
    pub key: String,
    pub name: String,
    pub description: Option<String>,
    pub kind: AttributeKind,
    /// The options of an enumeration, in their defined order (empty for other kinds).
    pub options: Vec<String>,
    pub archived_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<attribute_definition::Model> for AttributeDefinition {
    type Error = Error;
    fn try_from(m: attribute_definition::Model) -> Result<Self> {
        let options = match m.options.as_deref() {
            None => Vec::new(),
            Some(json) => serde_json::from_str(json).map_err(Error::internal)?,
        };
        Ok(Self {
            organisation: OrganisationId(m.organisation_id),
            kind: stored(AttributeKind::parse(&m.kind))?,
            key: m.key,
            name: m.name,
            description: m.description,
            options,
            archived_at: m.archived_at,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

/// A new attribute.
#[derive(Clone, Debug)]
pub struct AttributeSpec {
    pub key: String,
    pub name: String,
    pub description: Option<String>,
    pub kind: AttributeKind,
    pub options: Vec<String>,
}

/// Changes to an attribute; its key and kind never change (stored values depend on them).
#[derive(Clone, Debug, Default)]
pub struct AttributePatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    /// The full option list; options may be added or reordered, not removed (values use them).
    pub options: Option<Vec<String>>,
    /// Archive (true) or restore (false). Archived attributes take no new values.
    pub archived: Option<bool>,
    pub expected_version: Option<i32>,
}

fn check_options(kind: AttributeKind, options: &[String], p: &mut Problems) -> Option<Vec<String>> {
    if kind != AttributeKind::Enumeration {
        if !options.is_empty() {
            p.push(&["options"], "only enumerations take options");
        }
        return Some(Vec::new());
    }
    if options.is_empty() || options.len() > MAX_OPTIONS {
        p.push(&["options"], format!("an enumeration needs 1 to {MAX_OPTIONS} options"));
        return None;
    }
    let mut out = Vec::with_capacity(options.len());
    let mut seen = HashSet::new();
    for (i, o) in options.iter().enumerate() {
        match values::line(o, MAX_OPTION_LEN) {
            Ok(o) if !seen.insert(o.clone()) => p.push(&["options", &i.to_string()], "repeats an earlier option"),
            Ok(o) => out.push(o),
            Err(m) => p.push(&["options", &i.to_string()], m),
        }
    }
    (out.len() == options.len()).then_some(out)
}

/// Defines a new attribute. Admins and managers.
pub async fn define(db: &DatabaseConnection, actor: &Actor, spec: AttributeSpec) -> Result<AttributeDefinition> {
    actor.require_manager()?;
    let org = actor.organisation;
    let mut p = Problems::default();
    let key = p.check(&["key"], crate::signals::metrics::metric_key(&spec.key));
    let name = p.check(&["name"], values::line(&spec.name, values::MAX_LINE));
    let description =
        p.check(&["description"], spec.description.as_deref().map(|d| values::text(d, values::MAX_TEXT)).transpose());
    let options = check_options(spec.kind, &spec.options, &mut p);
    p.finish()?;
    let count = attribute_definition::Entity::find()
        .filter(attribute_definition::Column::OrganisationId.eq(org.0))
        .count(db)
        .await?;
    if count >= MAX_DEFINITIONS as u64 {
        return Err(Error::invalid(
            &["key"],
            format!("an organisation may define at most {MAX_DEFINITIONS} attributes"),
        ));
    }
    let (key, options) = (key.unwrap(), options.unwrap());
    let now = values::now();
    let model = attribute_definition::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        organisation_id: Set(org.0),
        key: Set(key),
        name: Set(name.unwrap()),
        description: Set(description.unwrap()),
        kind: Set(spec.kind.as_str().into()),
        options: Set((!options.is_empty()).then(|| serde_json::to_string(&options).unwrap_or_default())),
        archived_at: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    };
    match attribute_definition::Entity::insert(model).exec_with_returning(db).await {
        Ok(m) => m.try_into(),
        Err(e) if crate::store::is_unique_violation(&e) => {
            Err(Error::conflict(&["key"], "an attribute with this key is already defined"))
        }
        Err(e) => Err(e.into()),
    }
}

/// Changes an attribute's name, description or options, or archives it. Admins and managers.
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    key: &str,
    patch: AttributePatch,
) -> Result<AttributeDefinition> {
    actor.require_manager()?;
    let org = actor.organisation;
    let current = definition(db, org, key.trim()).await?.ok_or_else(|| Error::not_found("attribute", &["key"]))?;
    if let Some(expected) = patch.expected_version
        && expected != current.version
    {
        return Err(Error::stale("attribute", expected, current.version));
    }
    let mut p = Problems::default();
    let name = patch.name.as_deref().and_then(|n| p.check(&["name"], values::line(n, values::MAX_LINE)));
    let description = match &patch.description {
        None => Some(current.description.clone()),
        Some(d) => p.check(&["description"], d.as_deref().map(|d| values::text(d, values::MAX_TEXT)).transpose()),
    };
    let options = match &patch.options {
        None => Some(current.options.clone()),
        Some(o) => {
            let checked = check_options(current.kind, o, &mut p);
            if let Some(new) = &checked
                && let Some(gone) = current.options.iter().find(|old| !new.contains(old))
            {
                p.push(&["options"], format!("option `{gone}` cannot be removed (accounts may hold it)"));
            }
            checked
        }
    };
    p.finish()?;
    let options = options.unwrap_or_default();
    let now = values::now();
    let changes = attribute_definition::ActiveModel {
        name: Set(name.unwrap_or_else(|| current.name.clone())),
        description: Set(description.flatten()),
        options: Set((!options.is_empty()).then(|| serde_json::to_string(&options).unwrap_or_default())),
        archived_at: Set(match patch.archived {
            None => current.archived_at,
            Some(true) => current.archived_at.or(Some(now)),
            Some(false) => None,
        }),
        version: Set(current.version + 1),
        updated_at: Set(now),
        ..Default::default()
    };
    let result = attribute_definition::Entity::update_many()
        .set(changes)
        .filter(attribute_definition::Column::OrganisationId.eq(org.0))
        .filter(attribute_definition::Column::Key.eq(&current.key))
        .filter(attribute_definition::Column::Version.eq(current.version))
        .exec(db)
        .await?;
    if result.rows_affected != 1 {
        return Err(Error::conflict(&["expectedVersion"], "attribute was changed concurrently; reload and retry"));
    }
    definition(db, org, &current.key).await?.ok_or_else(|| Error::not_found("attribute", &["key"]))
}

/// One definition by key.
pub async fn definition(
    db: &DatabaseConnection,
    org: OrganisationId,
    key: &str,
) -> Result<Option<AttributeDefinition>> {
    attribute_definition::Entity::find()
        .filter(attribute_definition::Column::OrganisationId.eq(org.0))
        .filter(attribute_definition::Column::Key.eq(key))
        .one(db)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

/// Every definition of the organisation (at most [`MAX_DEFINITIONS`]), by key.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    org: OrganisationId,
    include_archived: bool,
) -> Result<Vec<AttributeDefinition>> {
    let mut q = attribute_definition::Entity::find()
        .filter(attribute_definition::Column::OrganisationId.eq(org.0))
        .order_by_asc(attribute_definition::Column::Key);
    if !include_archived {
        q = q.filter(attribute_definition::Column::ArchivedAt.is_null());
    }
    q.all(db).await?.into_iter().map(TryInto::try_into).collect()
}

/// A value to set, as the client sent it.
#[derive(Clone, Debug, PartialEq)]
pub enum ValueInput {
    /// Removes the account's value.
    Clear,
    Text(String),
    Number(f64),
    Boolean(bool),
    Date(Coerced<NaiveDate>),
    /// An enumeration's option.
    Choice(String),
    /// A value as text (a CSV cell), read by the definition's kind; empty clears.
    Untyped(String),
    /// More than one typed field was given.
    Ambiguous,
}

/// One attribute of one account.
#[derive(Clone, Debug, PartialEq)]
pub struct Assignment {
    pub key: String,
    pub value: ValueInput,
}

/// The values to set on one account.
#[derive(Clone, Debug)]
pub struct AccountAttributesInput {
    pub account: AccountRef,
    pub values: Vec<Assignment>,
}

/// The stored form of a value: (kind, text column, number column).
fn stored_form(v: &AttributeValue) -> (AttributeKind, Option<String>, Option<f64>) {
    match v {
        AttributeValue::Text(t) => (AttributeKind::Text, Some(t.clone()), None),
        AttributeValue::Number(n) => (AttributeKind::Number, None, Some(*n)),
        AttributeValue::Boolean(b) => (AttributeKind::Boolean, None, Some(if *b { 1.0 } else { 0.0 })),
        AttributeValue::Date(d) => (AttributeKind::Date, Some(d.format("%Y-%m-%d").to_string()), None),
        AttributeValue::Choice(c) => (AttributeKind::Enumeration, Some(c.clone()), None),
    }
}

fn decode(m: &attribute_value::Model) -> Result<AttributeValue> {
    let missing = || Error::Internal(format!("attribute value `{}` without its column", m.key).into());
    Ok(match stored(AttributeKind::parse(&m.kind))? {
        AttributeKind::Text => AttributeValue::Text(m.text_value.clone().ok_or_else(missing)?),
        AttributeKind::Number => AttributeValue::Number(m.number_value.ok_or_else(missing)?),
        AttributeKind::Boolean => AttributeValue::Boolean(m.number_value.ok_or_else(missing)? != 0.0),
        AttributeKind::Date => AttributeValue::Date(
            NaiveDate::parse_from_str(m.text_value.as_deref().ok_or_else(missing)?, "%Y-%m-%d")
                .map_err(Error::internal)?,
        ),
        AttributeKind::Enumeration => AttributeValue::Choice(m.text_value.clone().ok_or_else(missing)?),
    })
}

fn read_untyped(def: &AttributeDefinition, raw: &str) -> Result<Option<AttributeValue>, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Ok(None);
    }
    Ok(Some(match def.kind {
        AttributeKind::Text => AttributeValue::Text(s.to_owned()),
        AttributeKind::Number => AttributeValue::Number(s.parse().map_err(|_| format!("`{s}` is not a number"))?),
        AttributeKind::Boolean => AttributeValue::Boolean(match s.to_lowercase().as_str() {
            "true" | "yes" | "1" => true,
            "false" | "no" | "0" => false,
            _ => return Err(format!("`{s}` is not a boolean (true/false, yes/no, 1/0)")),
        }),
        AttributeKind::Date => {
            AttributeValue::Date(s.parse().map_err(|_| format!("`{s}` is not a date (YYYY-MM-DD)"))?)
        }
        AttributeKind::Enumeration => AttributeValue::Choice(s.to_owned()),
    }))
}

/// Checks a value against its definition; `None` clears.
pub(crate) fn check_value(def: &AttributeDefinition, value: &ValueInput) -> Result<Option<AttributeValue>, String> {
    let v = match value {
        ValueInput::Clear => return Ok(None),
        ValueInput::Ambiguous => return Err("give one of text, number, boolean, date or option".into()),
        ValueInput::Untyped(s) => match read_untyped(def, s)? {
            None => return Ok(None),
            Some(v) => v,
        },
        ValueInput::Text(t) => AttributeValue::Text(t.clone()),
        ValueInput::Number(n) => AttributeValue::Number(*n),
        ValueInput::Boolean(b) => AttributeValue::Boolean(*b),
        ValueInput::Date(d) => AttributeValue::Date(d.clone()?),
        ValueInput::Choice(c) => AttributeValue::Choice(c.trim().to_owned()),
    };
    if v.kind() != def.kind {
        return Err(format!("attribute `{}` takes a {} value", def.key, def.kind));
    }
    Ok(Some(match v {
        AttributeValue::Text(t) => AttributeValue::Text(values::line(&t, MAX_TEXT_VALUE)?),
        AttributeValue::Number(n) if !n.is_finite() => return Err("must be a finite number".into()),
        AttributeValue::Choice(c) if !def.options.contains(&c) => {
            return Err(format!("`{c}` is not an option of `{}`", def.key));
        }
        other => other,
    }))
}

/// A validated change of one account's attributes: `None` clears the key.
pub(crate) type Changes = Vec<(String, Option<AttributeValue>)>;

/// The organisation's definitions by key, for validating a batch (one query).
pub(crate) async fn definitions<C: ConnectionTrait>(
    db: &C,
    org: OrganisationId,
) -> Result<HashMap<String, AttributeDefinition>> {
    Ok(list(db, org, true).await?.into_iter().map(|d| (d.key.clone(), d)).collect())
}

/// Validates one item's assignments, rejecting the item under `field.<j>` for each bad one.
pub(crate) fn check_assignments(
    defs: &HashMap<String, AttributeDefinition>,
    index: usize,
    field: &str,
    assignments: &[Assignment],
    out: &mut Outcomes,
) -> Option<Changes> {
    if assignments.len() > MAX_VALUES_PER_ITEM {
        out.reject(index, ErrorCode::Invalid, &[field], format!("at most {MAX_VALUES_PER_ITEM} values per account"));
        return None;
    }
    let mut changes = Vec::with_capacity(assignments.len());
    let mut seen = HashSet::new();
    let mut ok = true;
    for (j, a) in assignments.iter().enumerate() {
        let j = j.to_string();
        let key = a.key.trim();
        if !seen.insert(key.to_owned()) {
            out.reject(index, ErrorCode::Invalid, &[field, &j, "key"], "repeats an earlier value's key");
            ok = false;
            continue;
        }
        let Some(def) = defs.get(key) else {
            out.reject(index, ErrorCode::NotFound, &[field, &j, "key"], format!("no attribute `{key}` is defined"));
            ok = false;
            continue;
        };
        if def.archived_at.is_some() && a.value != ValueInput::Clear {
            out.reject(index, ErrorCode::Invalid, &[field, &j, "key"], format!("attribute `{key}` is archived"));
            ok = false;
            continue;
        }
        match check_value(def, &a.value) {
            Ok(v) => changes.push((def.key.clone(), v)),
            Err(m) => {
                out.reject(index, ErrorCode::Invalid, &[field, &j, "value"], m);
                ok = false;
            }
        }
    }
    ok.then_some(changes)
}

/// The stored values of the accounts, keyed by (account, key) (chunked queries).
pub(crate) async fn stored_values<C: ConnectionTrait>(
    db: &C,
    org: OrganisationId,
    accounts: &[AccountId],
) -> Result<HashMap<(AccountId, String), AttributeValue>> {
    let mut out = HashMap::new();
    let unique: Vec<_> = accounts.iter().map(|a| a.0).collect::<HashSet<_>>().into_iter().collect();
    for chunk in unique.chunks(INSERT_CHUNK) {
        for m in attribute_value::Entity::find()
            .filter(attribute_value::Column::OrganisationId.eq(org.0))
            .filter(attribute_value::Column::AccountId.is_in(chunk.iter().copied()))
            .all(db)
            .await?
        {
            out.insert((AccountId(m.account_id), m.key.clone()), decode(&m)?);
        }
    }
    Ok(out)
}

/// Whether applying `changes` to the stored values would change anything.
pub(crate) fn differs(
    stored: &HashMap<(AccountId, String), AttributeValue>,
    account: AccountId,
    changes: &Changes,
) -> bool {
    changes.iter().any(|(k, v)| stored.get(&(account, k.clone())) != v.as_ref())
}

/// Writes validated changes (upserts and clears) in the caller's transaction.
pub(crate) async fn write_changes<C: ConnectionTrait>(
    tx: &C,
    org: OrganisationId,
    changes: &[(AccountId, Changes)],
) -> Result<()> {
    let now = values::now();
    let mut upserts = Vec::new();
    let mut clears = Vec::new();
    for (account, list) in changes {
        for (key, value) in list {
            match value {
                Some(v) => {
                    let (kind, text, number) = stored_form(v);
                    upserts.push(attribute_value::ActiveModel {
                        organisation_id: Set(org.0),
                        account_id: Set(account.0),
                        key: Set(key.clone()),
                        kind: Set(kind.as_str().into()),
                        text_value: Set(text),
                        number_value: Set(number),
                        updated_at: Set(now),
                    });
                }
                None => clears.push((*account, key.clone())),
            }
        }
    }
    use attribute_value::Column as C;
    for chunk in upserts.chunks(INSERT_CHUNK) {
        attribute_value::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::columns([C::OrganisationId, C::AccountId, C::Key])
                    .update_columns([C::Kind, C::TextValue, C::NumberValue, C::UpdatedAt])
                    .to_owned(),
            )
            .exec_without_returning(tx)
            .await?;
    }
    for chunk in clears.chunks(200) {
        let mut any = Condition::any();
        for (account, key) in chunk {
            any = any.add(Condition::all().add(C::AccountId.eq(account.0)).add(C::Key.eq(key.clone())));
        }
        attribute_value::Entity::delete_many().filter(C::OrganisationId.eq(org.0)).filter(any).exec(tx).await?;
    }
    Ok(())
}

/// Sets custom attribute values on up to 5,000 accounts; `Clear` removes a value. An item is
/// ACCEPTED when none of its keys had a value, UPDATED when something changed, DUPLICATE when
/// nothing did. The accounts written are marked for health and risk recompute in the same
/// transaction.
pub async fn set_values(
    db: &DatabaseConnection,
    actor: &Actor,
    items: Vec<AccountAttributesInput>,
) -> Result<BatchReport> {
    let org = actor.organisation;
    let (mut out, accounts) = crate::signals::open_batch(db, actor, &items, |i| &i.account).await?;
    let defs = definitions(db, org).await?;
    let mut valid = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let changes = check_assignments(&defs, i, "values", &item.values, &mut out);
        if let (Some(account), Some(changes), true) = (accounts[i], changes, out.is_open(i)) {
            valid.push((i, account, changes));
        }
    }
    crate::signals::reject_repeats(valid.iter().map(|v| (v.0, v.1)), &["account"], &mut out);
    valid.retain(|v| out.is_open(v.0));
    let ids: Vec<AccountId> = valid.iter().map(|v| v.1).collect();
    let stored = stored_values(db, org, &ids).await?;
    let mut writes = Vec::new();
    for (i, account, changes) in valid {
        if !differs(&stored, account, &changes) {
            out.set(i, ItemStatus::Duplicate);
            continue;
        }
        let had_any = changes.iter().any(|(k, _)| stored.contains_key(&(account, k.clone())));
        out.set(i, if had_any { ItemStatus::Updated } else { ItemStatus::Accepted });
        writes.push((account, changes));
    }
    let touched: Vec<AccountId> = writes.iter().map(|w| w.0).collect();
    let dirty = touched.clone();
    crate::db::write::<_, _, _, Error>(db, |tx| {
        Box::pin(async move {
            write_changes(tx, org, &writes).await?;
            crate::signals::mark_dirty(tx, org, &dirty).await
        })
    })
    .await?;
    Ok(out.finish(touched))
}

/// Every stored attribute value of the accounts, by key (chunked queries, for health and rules).
pub async fn for_accounts(
    db: &DatabaseConnection,
    org: OrganisationId,
    accounts: &[AccountId],
) -> Result<HashMap<AccountId, BTreeMap<String, AttributeValue>>> {
    let mut out: HashMap<AccountId, BTreeMap<String, AttributeValue>> = HashMap::new();
    for ((account, key), value) in stored_values(db, org, accounts).await? {
        out.entry(account).or_default().insert(key, value);
    }
    Ok(out)
}

/// A condition of an account filter on one custom attribute.
#[derive(Clone, Debug, PartialEq)]
pub struct AttributeCondition {
    pub key: String,
    pub test: AttributeTest,
}

/// What the account's value must satisfy. Values compare in their stored column: numbers and
/// booleans as numbers, text, options and dates (ISO) as text.
#[derive(Clone, Debug, PartialEq)]
pub enum AttributeTest {
    Equals(AttributeValue),
    In(Vec<AttributeValue>),
    AtLeast(AttributeValue),
    AtMost(AttributeValue),
}

/// The ids of the organisation's accounts whose value meets the condition (a subquery).
pub(crate) fn matching(org: OrganisationId, c: &AttributeCondition) -> SelectStatement {
    use attribute_value::Column as C;
    let column = |v: &AttributeValue| -> (C, sea_orm::Value) {
        match stored_form(v) {
            (_, Some(t), _) => (C::TextValue, t.into()),
            (_, _, Some(n)) => (C::NumberValue, n.into()),
            _ => (C::TextValue, Option::<String>::None.into()),
        }
    };
    let test = match &c.test {
        AttributeTest::Equals(v) => {
            let (col, v) = column(v);
            col.eq(v)
        }
        AttributeTest::AtLeast(v) => {
            let (col, v) = column(v);
            col.gte(v)
        }
        AttributeTest::AtMost(v) => {
            let (col, v) = column(v);
            col.lte(v)
        }
        AttributeTest::In(list) => {
            let mut any = Condition::any();
            for v in list {
                let (col, v) = column(v);
                any = any.add(col.eq(v));
            }
            return Query::select()
                .column(C::AccountId)
                .from(attribute_value::Entity)
                .and_where(C::OrganisationId.eq(org.0))
                .and_where(C::Key.eq(c.key.trim()))
                .cond_where(any)
                .to_owned();
        }
    };
    Query::select()
        .column(C::AccountId)
        .from(attribute_value::Entity)
        .and_where(C::OrganisationId.eq(org.0))
        .and_where(C::Key.eq(c.key.trim()))
        .and_where(test)
        .to_owned()
}

/// Checks the filter's attribute conditions are bounded.
pub(crate) fn check_conditions(conditions: &[AttributeCondition]) -> Result<()> {
    if conditions.len() > MAX_CONDITIONS {
        return Err(Error::invalid(
            &["filter", "attributes"],
            format!("takes at most {MAX_CONDITIONS} conditions, got {}", conditions.len()),
        ));
    }
    for (i, c) in conditions.iter().enumerate() {
        if let AttributeTest::In(list) = &c.test
            && (list.is_empty() || list.len() > crate::attributes::MAX_OPTIONS)
        {
            return Err(Error::invalid(
                &["filter", "attributes", &i.to_string(), "in"],
                format!("takes 1 to {MAX_OPTIONS} values"),
            ));
        }
        if let AttributeTest::Equals(AttributeValue::Number(n))
        | AttributeTest::AtLeast(AttributeValue::Number(n))
        | AttributeTest::AtMost(AttributeValue::Number(n)) = &c.test
            && !n.is_finite()
        {
            return Err(Error::invalid(&["filter", "attributes", &i.to_string()], "must be a finite number"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(kind: AttributeKind, options: &[&str]) -> AttributeDefinition {
        let now = Utc::now();
        AttributeDefinition {
            organisation: OrganisationId(uuid::Uuid::nil()),
            key: "contract.term".into(),
            name: "Contract term".into(),
            description: None,
            kind,
            options: options.iter().map(|o| (*o).to_owned()).collect(),
            archived_at: None,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn values_are_checked_against_their_definition() {
        let e = def(AttributeKind::Enumeration, &["month-to-month", "one year"]);
        assert_eq!(
            check_value(&e, &ValueInput::Choice("one year".into())),
            Ok(Some(AttributeValue::Choice("one year".into())))
        );
        assert!(check_value(&e, &ValueInput::Choice("two years".into())).is_err());
        assert!(check_value(&e, &ValueInput::Number(1.0)).is_err());
        assert_eq!(check_value(&e, &ValueInput::Untyped(" ".into())), Ok(None));
        let n = def(AttributeKind::Number, &[]);
        assert_eq!(check_value(&n, &ValueInput::Untyped("29.85".into())), Ok(Some(AttributeValue::Number(29.85))));
        assert!(check_value(&n, &ValueInput::Number(f64::NAN)).is_err());
        assert!(check_value(&n, &ValueInput::Untyped("lots".into())).is_err());
        assert!(check_value(&n, &ValueInput::Ambiguous).is_err());
        let b = def(AttributeKind::Boolean, &[]);
        assert_eq!(check_value(&b, &ValueInput::Untyped("Yes".into())), Ok(Some(AttributeValue::Boolean(true))));
        let t = def(AttributeKind::Text, &[]);
        assert!(check_value(&t, &ValueInput::Text("a\u{202e}b".into())).is_err());
        assert!(check_value(&t, &ValueInput::Text("x".repeat(MAX_TEXT_VALUE + 1))).is_err());
    }

    #[test]
    fn stored_forms_round_trip() {
        for v in [
            AttributeValue::Text("fibre".into()),
            AttributeValue::Number(-2.5),
            AttributeValue::Boolean(true),
            AttributeValue::Boolean(false),
            AttributeValue::Date(NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()),
            AttributeValue::Choice("one year".into()),
        ] {
            let (kind, text_value, number_value) = stored_form(&v);
            let m = attribute_value::Model {
                organisation_id: uuid::Uuid::nil(),
                account_id: uuid::Uuid::nil(),
                key: "k".into(),
                kind: kind.as_str().into(),
                text_value,
                number_value,
                updated_at: Utc::now(),
            };
            assert_eq!(decode(&m).unwrap(), v);
        }
    }
}
