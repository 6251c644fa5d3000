//! Custom account attributes: definitions, values on accounts, and setting them in bulk.

use async_graphql::{Context, InputObject, MaybeUndefined, Object, SimpleObject};
use bellwether_domain::attributes::{
    self, AccountAttributesInput, Assignment, AttributeCondition, AttributePatch, AttributeSpec, AttributeTest,
    ValueInput,
};
use bellwether_domain::{AttributeValue, Error};
use chrono::{DateTime, Utc};

use super::scalars::{AttributeKind, Date, Lenient};
use super::signals::{AccountRefInput, IngestPayload, ingest_payload};
use super::support::{GqlResult, outcome, patch, payload, request};

pub struct AttributeDefinition(pub attributes::AttributeDefinition);

/// A custom attribute your organisation defined for its accounts (contract term, payment
/// method, add-ons, ...): a fact the product has no field for. Identified by its key.
#[Object]
impl AttributeDefinition {
    /// The key integrators send, e.g. `contract.term` (unique in the organisation).
    async fn key(&self) -> &str {
        &self.0.key
    }
    /// The name people see, e.g. `Contract term`.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What the attribute means, in your words.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The type of its values.
    async fn kind(&self) -> AttributeKind {
        self.0.kind.into()
    }
    /// The options of an enumeration, in order (empty for other kinds).
    async fn options(&self) -> &[String] {
        &self.0.options
    }
    /// When it was archived (it takes no new values then), if it was.
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at
    }
    /// Increases with every change.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When it was defined.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// One account's value of a custom attribute: exactly the field of its kind is set.
#[derive(SimpleObject)]
pub struct AccountAttributeValue {
    /// The attribute's key.
    pub key: String,
    /// The attribute's type (which of the value fields is set).
    pub kind: AttributeKind,
    /// The value of a TEXT attribute.
    pub text: Option<String>,
    /// The value of a NUMBER attribute.
    pub number: Option<f64>,
    /// The value of a BOOLEAN attribute.
    pub boolean: Option<bool>,
    /// The value of a DATE attribute.
    pub date: Option<Date>,
    /// The chosen option of an ENUMERATION attribute.
    pub option: Option<String>,
}

impl AccountAttributeValue {
    pub fn new(key: String, v: AttributeValue) -> Self {
        let mut out =
            Self { key, kind: v.kind().into(), text: None, number: None, boolean: None, date: None, option: None };
        match v {
            AttributeValue::Text(t) => out.text = Some(t),
            AttributeValue::Number(n) => out.number = Some(n),
            AttributeValue::Boolean(b) => out.boolean = Some(b),
            AttributeValue::Date(d) => out.date = Some(Date(d)),
            AttributeValue::Choice(c) => out.option = Some(c),
        }
        out
    }
}

/// The organisation's attribute definitions.
pub async fn definitions(ctx: &Context<'_>, include_archived: bool) -> async_graphql::Result<Vec<AttributeDefinition>> {
    let r = request(ctx);
    Ok(attributes::list(&r.db, r.actor.organisation, include_archived)
        .await
        .gql()?
        .into_iter()
        .map(AttributeDefinition)
        .collect())
}

/// A custom attribute to define.
#[derive(InputObject)]
pub struct DefineAccountAttributeInput {
    /// The key integrators send: 1-100 lowercase letters, digits, dots, dashes or underscores.
    pub key: String,
    /// The name people will see.
    pub name: String,
    /// What the attribute means.
    pub description: Option<String>,
    /// The type of its values (it never changes).
    pub kind: AttributeKind,
    /// The options of an ENUMERATION (1-100, each at most 100 characters); none for other kinds.
    #[graphql(default)]
    pub options: Vec<String>,
}

/// Changes to an attribute definition; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateAccountAttributeInput {
    /// The attribute's key.
    pub key: String,
    /// The name people will see from now on.
    pub name: Option<String>,
    /// What the attribute means; `null` clears it.
    pub description: MaybeUndefined<String>,
    /// The full list of options; options may be added or reordered, never removed.
    pub options: Option<Vec<String>>,
    /// Archive (true: no new values) or restore (false).
    pub archived: Option<bool>,
    /// Fail with a CONFLICT user error unless the definition still has this version.
    pub expected_version: Option<i32>,
}

payload!(
    /// Result of defining or changing an attribute.
    AttributeDefinitionPayload { attribute: AttributeDefinition }
);

/// One attribute value to set: give the field of the attribute's kind, or none to clear it.
#[derive(InputObject)]
pub struct AttributeValueInput {
    /// The attribute's key.
    pub key: String,
    /// For a TEXT attribute (one line, at most 500 characters).
    pub text: Option<String>,
    /// For a NUMBER attribute (finite).
    pub number: Option<f64>,
    /// For a BOOLEAN attribute.
    pub boolean: Option<bool>,
    /// For a DATE attribute.
    pub date: Option<Lenient<Date>>,
    /// For an ENUMERATION attribute: one of its options.
    pub option: Option<String>,
}

impl AttributeValueInput {
    pub fn into_domain(self) -> Assignment {
        let given = [
            self.text.is_some(),
            self.number.is_some(),
            self.boolean.is_some(),
            self.date.is_some(),
            self.option.is_some(),
        ]
        .iter()
        .filter(|g| **g)
        .count();
        let value = if given > 1 {
            ValueInput::Ambiguous
        } else if let Some(t) = self.text {
            ValueInput::Text(t)
        } else if let Some(n) = self.number {
            ValueInput::Number(n)
        } else if let Some(b) = self.boolean {
            ValueInput::Boolean(b)
        } else if let Some(d) = self.date {
            ValueInput::Date(d.0.map(|d| d.0))
        } else if let Some(o) = self.option {
            ValueInput::Choice(o)
        } else {
            ValueInput::Clear
        };
        Assignment { key: self.key, value }
    }
}

/// The attribute values to set on one account.
#[derive(InputObject)]
pub struct AccountAttributesItemInput {
    /// The client account, by id or by your external reference.
    pub account: AccountRefInput,
    /// The values (at most 100); attributes not listed keep their values.
    pub values: Vec<AttributeValueInput>,
}

/// Attribute values for up to 5,000 accounts.
#[derive(InputObject)]
pub struct SetAccountAttributesInput {
    /// Up to 5,000 accounts, each at most once.
    pub items: Vec<AccountAttributesItemInput>,
}

/// A value an attribute condition compares with: give exactly one field.
#[derive(InputObject)]
pub struct AttributeOperandInput {
    /// Text (TEXT attributes).
    pub text: Option<String>,
    /// A number (NUMBER attributes).
    pub number: Option<f64>,
    /// A boolean (BOOLEAN attributes).
    pub boolean: Option<bool>,
    /// A day (DATE attributes).
    pub date: Option<Date>,
    /// An option (ENUMERATION attributes).
    pub option: Option<String>,
}

impl AttributeOperandInput {
    fn into_domain(self, field: &[&str]) -> Result<AttributeValue, Error> {
        let mut given = Vec::new();
        if let Some(t) = self.text {
            given.push(AttributeValue::Text(t));
        }
        if let Some(n) = self.number {
            given.push(AttributeValue::Number(n));
        }
        if let Some(b) = self.boolean {
            given.push(AttributeValue::Boolean(b));
        }
        if let Some(d) = self.date {
            given.push(AttributeValue::Date(d.0));
        }
        if let Some(o) = self.option {
            given.push(AttributeValue::Choice(o));
        }
        if given.len() != 1 {
            return Err(Error::invalid(field, "give exactly one of text, number, boolean, date or option"));
        }
        Ok(given.remove(0))
    }
}

/// A condition on an account's custom attribute: give exactly one of `equals`, `in`,
/// `atLeast` and `atMost`. Accounts without a value for the key never match. Numbers and
/// booleans compare as numbers; text, options and dates as text (dates are ISO, so they order).
#[derive(InputObject)]
pub struct AttributeConditionInput {
    /// The attribute's key.
    pub key: String,
    /// The value equals this.
    pub equals: Option<AttributeOperandInput>,
    /// The value equals one of these (1-100).
    #[graphql(name = "in")]
    pub any_of: Option<Vec<AttributeOperandInput>>,
    /// The value is at least this.
    pub at_least: Option<AttributeOperandInput>,
    /// The value is at most this.
    pub at_most: Option<AttributeOperandInput>,
}

/// Converts filter conditions (bounded before anything is built).
pub fn conditions(list: Option<Vec<AttributeConditionInput>>) -> Result<Vec<AttributeCondition>, Error> {
    let list = list.unwrap_or_default();
    if list.len() > attributes::MAX_CONDITIONS {
        return Err(Error::invalid(
            &["filter", "attributes"],
            format!("takes at most {} conditions, got {}", attributes::MAX_CONDITIONS, list.len()),
        ));
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, c) in list.into_iter().enumerate() {
        let i = i.to_string();
        let given = [c.equals.is_some(), c.any_of.is_some(), c.at_least.is_some(), c.at_most.is_some()]
            .iter()
            .filter(|g| **g)
            .count();
        if given != 1 {
            return Err(Error::invalid(
                &["filter", "attributes", &i],
                "give exactly one of equals, in, atLeast or atMost",
            ));
        }
        let test = if let Some(v) = c.equals {
            AttributeTest::Equals(v.into_domain(&["filter", "attributes", &i, "equals"])?)
        } else if let Some(list) = c.any_of {
            if list.is_empty() || list.len() > attributes::MAX_OPTIONS {
                return Err(Error::invalid(
                    &["filter", "attributes", &i, "in"],
                    format!("takes 1 to {} values", attributes::MAX_OPTIONS),
                ));
            }
            let mut values = Vec::with_capacity(list.len());
            for (j, v) in list.into_iter().enumerate() {
                values.push(v.into_domain(&["filter", "attributes", &i, "in", &j.to_string()])?);
            }
            AttributeTest::In(values)
        } else if let Some(v) = c.at_least {
            AttributeTest::AtLeast(v.into_domain(&["filter", "attributes", &i, "atLeast"])?)
        } else if let Some(v) = c.at_most {
            AttributeTest::AtMost(v.into_domain(&["filter", "attributes", &i, "atMost"])?)
        } else {
            unreachable!("exactly one test is given")
        };
        out.push(AttributeCondition { key: c.key, test });
    }
    Ok(out)
}

#[derive(Default)]
pub struct AttributeMutation;

#[Object]
impl AttributeMutation {
    /// Defines a custom account attribute. Admins and managers.
    async fn define_account_attribute(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The attribute's key, name, kind and (for enumerations) options.")]
        input: DefineAccountAttributeInput,
    ) -> async_graphql::Result<AttributeDefinitionPayload> {
        let r = request(ctx);
        let spec = AttributeSpec {
            key: input.key,
            name: input.name,
            description: input.description,
            kind: input.kind.into(),
            options: input.options,
        };
        outcome(attributes::define(&r.db, &r.actor, spec).await, AttributeDefinition).map(Into::into)
    }

    /// Changes a custom attribute's name, description or options, or archives it. Admins and
    /// managers.
    async fn update_account_attribute(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The attribute's key and the fields to change.")] input: UpdateAccountAttributeInput,
    ) -> async_graphql::Result<AttributeDefinitionPayload> {
        let r = request(ctx);
        let result = async {
            let p = AttributePatch {
                name: input.name,
                description: patch(input.description, Ok)?,
                options: input.options,
                archived: input.archived,
                expected_version: input.expected_version,
            };
            attributes::update(&r.db, &r.actor, &input.key, p).await
        }
        .await;
        outcome(result, AttributeDefinition).map(Into::into)
    }

    /// Sets custom attribute values on up to 5,000 accounts; a value with no field set clears
    /// it. Each item is accepted, updated, a duplicate (nothing changed) or rejected with its
    /// errors (unknown key, wrong type, unknown option).
    async fn set_account_attributes(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The accounts (at most 5,000) and their values; each item is written or rejected on its own."
        )]
        input: SetAccountAttributesInput,
    ) -> async_graphql::Result<IngestPayload> {
        let r = request(ctx);
        let items = input
            .items
            .into_iter()
            .map(|i| AccountAttributesInput {
                account: i.account.into_domain(),
                values: i.values.into_iter().map(AttributeValueInput::into_domain).collect(),
            })
            .collect();
        ingest_payload(ctx, attributes::set_values(&r.db, &r.actor, items).await)
    }
}
