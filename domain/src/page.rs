//! Keyset (cursor) pagination shared by every list.
//!
//! A cursor names a position in one ordering: the sort key's value and the row id (the tie
//! breaker). Pages are fetched with `WHERE (key, id) > (cursor)` instead of offsets, so a page
//! costs the same wherever it is and rows inserted meanwhile never shift a client's position.
//! Nullable sort keys sort their nulls last in both directions.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait as _, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect, Select, Value};
use uuid::Uuid;

use crate::{Error, Result};

/// Page size used when a client gives neither `first` nor `last`.
pub const DEFAULT_PAGE_SIZE: u64 = 20;
/// Largest page a client may ask for.
pub const MAX_PAGE_SIZE: u64 = 100;

/// Relay-style page arguments. `first`/`last` are validated by the caller (1..=MAX_PAGE_SIZE).
#[derive(Clone, Debug, Default)]
pub struct PageRequest {
    pub first: Option<u64>,
    pub after: Option<String>,
    pub last: Option<u64>,
    pub before: Option<String>,
}

/// One page of results, each with its cursor.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub edges: Vec<(String, T)>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

impl<T> Page<T> {
    pub fn try_map<U>(self, f: impl Fn(T) -> Result<U>) -> Result<Page<U>> {
        Ok(Page {
            edges: self.edges.into_iter().map(|(c, t)| Ok((c, f(t)?))).collect::<Result<_>>()?,
            has_next_page: self.has_next_page,
            has_previous_page: self.has_previous_page,
        })
    }
}

/// The type of a sort key, needed to read a cursor back.
#[derive(Clone, Copy, Debug)]
pub(crate) enum KeyKind {
    Text,
    Int,
    Float,
    Date,
    Time,
}

/// A sort key's value at a cursor position.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum KeyValue {
    Text(String),
    Int(i64),
    Float(f64),
    Date(NaiveDate),
    Time(DateTime<Utc>),
    Null,
}

impl From<KeyValue> for Value {
    fn from(v: KeyValue) -> Self {
        match v {
            KeyValue::Text(s) => s.into(),
            KeyValue::Int(i) => i.into(),
            KeyValue::Float(f) => f.into(),
            KeyValue::Date(d) => d.into(),
            KeyValue::Time(t) => t.into(),
            KeyValue::Null => Value::String(None),
        }
    }
}

impl From<Option<f64>> for KeyValue {
    fn from(f: Option<f64>) -> Self {
        f.map_or(Self::Null, Self::Float)
    }
}

impl From<Option<NaiveDate>> for KeyValue {
    fn from(d: Option<NaiveDate>) -> Self {
        d.map_or(Self::Null, Self::Date)
    }
}

/// How a list is ordered: one key column, then the id.
pub(crate) struct Sort<C> {
    pub column: C,
    pub kind: KeyKind,
    pub nullable: bool,
    pub descending: bool,
}

#[derive(Debug, PartialEq)]
struct Cursor {
    key: KeyValue,
    id: Uuid,
}

impl Cursor {
    fn encode(&self) -> String {
        let key = match &self.key {
            KeyValue::Text(s) => serde_json::Value::from(s.as_str()),
            KeyValue::Int(i) => serde_json::Value::from(*i),
            KeyValue::Float(f) => serde_json::Value::from(*f),
            KeyValue::Date(d) => serde_json::Value::from(d.to_string()),
            KeyValue::Time(t) => serde_json::Value::from(t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
            KeyValue::Null => serde_json::Value::Null,
        };
        URL_SAFE_NO_PAD.encode(serde_json::json!([key, self.id]).to_string())
    }

    fn decode(s: &str, kind: KeyKind) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(s).ok()?;
        let (key, id): (serde_json::Value, Uuid) = serde_json::from_slice(&bytes).ok()?;
        let key = match (key, kind) {
            (serde_json::Value::Null, _) => KeyValue::Null,
            (serde_json::Value::String(s), KeyKind::Text) => KeyValue::Text(s),
            (serde_json::Value::Number(n), KeyKind::Int) => KeyValue::Int(n.as_i64()?),
            (serde_json::Value::Number(n), KeyKind::Float) => KeyValue::Float(n.as_f64()?),
            (serde_json::Value::String(s), KeyKind::Date) => KeyValue::Date(s.parse().ok()?),
            (serde_json::Value::String(s), KeyKind::Time) => {
                KeyValue::Time(DateTime::parse_from_rfc3339(&s).ok()?.with_timezone(&Utc))
            }
            _ => return None,
        };
        Some(Self { key, id })
    }
}

/// Rows strictly beyond `cursor`: after it in the list's order when `forward`, before it otherwise.
/// Without an id column the sort key is unique and needs no tie breaker.
fn beyond<C: ColumnTrait>(sort: &Sort<C>, id_column: Option<C>, cursor: Cursor, forward: bool) -> SimpleExpr {
    let greater = sort.descending != forward;
    let past = |col: C, v: Value| if greater { col.gt(v) } else { col.lt(v) };
    let tie = |equal: SimpleExpr| match id_column {
        Some(id) => equal.and(past(id, cursor.id.into())),
        None => Expr::value(false),
    };
    match cursor.key {
        KeyValue::Null if forward => tie(sort.column.is_null()),
        KeyValue::Null => sort.column.is_not_null().or(tie(sort.column.is_null())),
        key => {
            let v: Value = key.into();
            let mut e = past(sort.column, v.clone()).or(tie(sort.column.eq(v)));
            if forward && sort.nullable {
                e = e.or(sort.column.is_null());
            }
            e
        }
    }
}

/// Fetches one page of `select` in `sort` order.
pub(crate) async fn fetch<E, C>(
    db: &C,
    mut select: Select<E>,
    sort: Sort<E::Column>,
    id_column: Option<E::Column>,
    request: &PageRequest,
    key_of: impl Fn(&E::Model) -> KeyValue,
    id_of: impl Fn(&E::Model) -> Uuid,
) -> Result<Page<E::Model>>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    let (limit, backward) = match (request.first, request.last) {
        (Some(_), Some(_)) => {
            return Err(Error::invalid(&["last"], "pass either `first` or `last`, not both"));
        }
        (None, Some(last)) => (last, true),
        (first, None) => (first.unwrap_or(DEFAULT_PAGE_SIZE), false),
    };
    for (name, raw, forward) in [("after", &request.after, true), ("before", &request.before, false)] {
        if let Some(raw) = raw {
            let cursor = Cursor::decode(raw, sort.kind)
                .ok_or_else(|| Error::invalid(&[name], "is not a cursor from this list and ordering"))?;
            select = select.filter(beyond(&sort, id_column, cursor, forward));
        }
    }
    let descending = sort.descending != backward;
    let order = if descending { Order::Desc } else { Order::Asc };
    if sort.nullable {
        select = select.order_by(Expr::expr(sort.column.is_null()), if backward { Order::Desc } else { Order::Asc });
    }
    select = select.order_by(sort.column, order.clone());
    if let Some(id) = id_column {
        select = select.order_by(id, order);
    }
    let mut rows = select.limit(limit + 1).all(db).await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    if backward {
        rows.reverse();
    }
    Ok(Page {
        edges: rows.into_iter().map(|m| (Cursor { key: key_of(&m), id: id_of(&m) }.encode(), m)).collect(),
        has_next_page: if backward { request.before.is_some() } else { more },
        has_previous_page: if backward { more } else { request.after.is_some() },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_per_kind() {
        let id = Uuid::now_v7();
        for (key, kind) in [
            (KeyValue::Text("Acme".into()), KeyKind::Text),
            (KeyValue::Int(-42), KeyKind::Int),
            (KeyValue::Float(61.25), KeyKind::Float),
            (KeyValue::Date(NaiveDate::from_ymd_opt(2026, 2, 28).unwrap()), KeyKind::Date),
            (KeyValue::Time(crate::values::now()), KeyKind::Time),
            (KeyValue::Null, KeyKind::Date),
        ] {
            let c = Cursor { key, id };
            assert_eq!(Cursor::decode(&c.encode(), kind), Some(c));
        }
    }

    #[test]
    fn foreign_or_garbage_cursors_are_rejected() {
        let text = Cursor { key: KeyValue::Text("x".into()), id: Uuid::nil() }.encode();
        assert_eq!(Cursor::decode(&text, KeyKind::Int), None);
        assert_eq!(Cursor::decode("not a cursor", KeyKind::Text), None);
        assert_eq!(Cursor::decode("", KeyKind::Text), None);
    }
}
