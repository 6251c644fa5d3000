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
