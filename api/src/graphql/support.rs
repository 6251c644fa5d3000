//! Plumbing shared by every resolver: request context, global ids, error mapping, user errors,
//! page arguments and connections.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::dataloader::{DataLoader, HashMapCache};
use async_graphql::{Context, Enum, ErrorExtensions, ID, OutputType, SimpleObject};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bellwether_domain::page::MAX_PAGE_SIZE;
use bellwether_domain::{AccountId, Actor, Db, Error, ErrorCode, MetricId, Page, PageRequest};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::loaders::TenantLoader;

/// What every resolver of one request can reach: who is asking, and batch loaders scoped to
/// their organisation.
pub struct RequestContext {
    pub actor: Actor,
    pub db: Db,
    pub loader: DataLoader<TenantLoader, HashMapCache>,
    /// Today on the organisation's calendar, fixed for the request (so every "overdue" in one
    /// answer agrees, even across midnight).
    pub today: NaiveDate,
}

impl RequestContext {
    pub fn new(actor: Actor, db: Db) -> Self {
        // Cached for the request: a relation asked for twice (an interaction's contacts and
        // users share one participants load) is fetched once.
        let today = actor.today();
        let loader = DataLoader::with_cache(
            TenantLoader { db: db.clone(), organisation: actor.organisation, today },
            tokio::spawn,
            HashMapCache::default(),
        );
        Self { actor, db, loader, today }
    }
}

/// The request context; present on every authenticated request.
pub fn request<'a>(ctx: &Context<'a>) -> &'a RequestContext {
    ctx.data_unchecked::<RequestContext>()
}

/// The kinds of object that have global ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Organisation,
    User,
    Account,
    Contact,
    Interaction,
    MetricDefinition,
    SupportTicket,
    Invoice,
    SurveyResponse,
    RelationshipAssessment,
    ContractChange,
    HealthScorecard,
    HealthScore,
    Risk,
    RiskEvent,
    RuleRun,
    RulePlugin,
    Playbook,
    ActionPlan,
    PlanAction,
    RiskUpdate,
    PostMortem,
    FeedbackItem,
}

/// Every kind, for parsing.
const KINDS: [Kind; 23] = [
    Kind::Organisation,
    Kind::User,
    Kind::Account,
    Kind::Contact,
    Kind::Interaction,
    Kind::MetricDefinition,
    Kind::SupportTicket,
    Kind::Invoice,
    Kind::SurveyResponse,
    Kind::RelationshipAssessment,
    Kind::ContractChange,
    Kind::HealthScorecard,
    Kind::HealthScore,
    Kind::Risk,
    Kind::RiskEvent,
    Kind::RuleRun,
    Kind::RulePlugin,
    Kind::Playbook,
    Kind::ActionPlan,
    Kind::PlanAction,
    Kind::RiskUpdate,
    Kind::PostMortem,
    Kind::FeedbackItem,
];

impl Kind {
    fn prefix(self) -> &'static str {
        match self {
            Kind::Organisation => "Organisation",
            Kind::User => "User",
            Kind::Account => "Account",
            Kind::Contact => "Contact",
            Kind::Interaction => "Interaction",
            Kind::MetricDefinition => "MetricDefinition",
            Kind::SupportTicket => "SupportTicket",
            Kind::Invoice => "Invoice",
            Kind::SurveyResponse => "SurveyResponse",
            Kind::RelationshipAssessment => "RelationshipAssessment",
            Kind::ContractChange => "ContractChange",
            Kind::HealthScorecard => "HealthScorecard",
            Kind::HealthScore => "HealthScore",
            Kind::Risk => "Risk",
            Kind::RiskEvent => "RiskEvent",
            Kind::RuleRun => "RuleRun",
            Kind::RulePlugin => "RulePlugin",
            Kind::Playbook => "Playbook",
            Kind::ActionPlan => "ActionPlan",
            Kind::PlanAction => "PlanAction",
            Kind::RiskUpdate => "RiskUpdate",
            Kind::PostMortem => "PostMortem",
            Kind::FeedbackItem => "FeedbackItem",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        KINDS.into_iter().find(|k| k.prefix() == s)
    }
}

/// An opaque global id: base64url of `Kind:uuid`.
pub fn global_id(kind: Kind, id: Uuid) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{}:{}", kind.prefix(), id)))
}

/// The id of a metric observation. Points have no row id: their key is account, metric and
/// time (stored to the microsecond), so the id is derived from that key and is the same
/// whenever the point is read. It is not a [`Kind`]: `node(id:)` does not fetch points.
pub fn metric_point_id(account: AccountId, metric: MetricId, observed_at: DateTime<Utc>) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("MetricPoint:{}:{}:{}", account.0, metric.0, observed_at.timestamp_micros())))
}

/// Reads a global id of any kind.
pub fn parse_global_id(id: &str) -> Option<(Kind, Uuid)> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(id).ok()?).ok()?;
    let (kind, uuid) = raw.split_once(':')?;
    Some((Kind::parse(kind)?, Uuid::parse_str(uuid).ok()?))
}

/// Reads an input id that must be of `kind`; a malformed id or one of another kind is a field error.
pub fn input_id(id: &ID, kind: Kind, field: &[&str]) -> Result<Uuid, Error> {
    match parse_global_id(id) {
        Some((k, uuid)) if k == kind => Ok(uuid),
        _ => Err(Error::invalid(field, format!("is not a valid {} id", kind.prefix()))),
    }
}

/// Most values a list argument that is not an enum list takes (ids, segments); enum lists are
/// deduplicated instead.
pub const MAX_LIST: usize = 100;

/// Machine-readable reason of a user error.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserErrorCode {
    /// The input is malformed or breaks a rule.
    Invalid,
    /// A referenced object does not exist (or is not visible to you).
    NotFound,
    /// A uniqueness rule was broken, or the object changed since you read it (stale `expectedVersion`).
    Conflict,
}

/// An expected problem with a mutation's input; nothing was written.
#[derive(SimpleObject, Clone, Debug)]
pub struct UserError {
    /// Path to the input field at fault, starting at `input`; empty when no single field is.
    pub field: Vec<String>,
    /// Human-readable explanation.
    pub message: String,
    /// Machine-readable reason.
    pub code: UserErrorCode,
}

/// Declares a mutation payload: the changed object (null when nothing changed) and user errors.
macro_rules! payload {
    ($(#[doc = $doc:literal])* $name:ident { $field:ident: $ty:ty }) => {
        $(#[doc = $doc])*
        #[derive(async_graphql::SimpleObject)]
        pub struct $name {
            /// The object as it is after the change; null when nothing changed.
            pub $field: Option<$ty>,
            /// Problems with the input; empty on success.
            pub user_errors: Vec<$crate::graphql::support::UserError>,
        }

        impl From<(Option<$ty>, Vec<$crate::graphql::support::UserError>)> for $name {
            fn from(($field, user_errors): (Option<$ty>, Vec<$crate::graphql::support::UserError>)) -> Self {
                Self { $field, user_errors }
            }
        }
    };
}
pub(crate) use payload;

/// Error codes put in `extensions.code` of top-level errors.
pub mod codes {
    pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
    pub const NOT_FOUND: &str = "NOT_FOUND";
    pub const CONFLICT: &str = "CONFLICT";
    pub const FORBIDDEN: &str = "FORBIDDEN";
    pub const INTERNAL: &str = "INTERNAL";
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    /// The document is not valid GraphQL syntax.
    pub const GRAPHQL_PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
    /// The document is refused: invalid against the schema, or over a limit (`extensions.limit`).
    pub const GRAPHQL_VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";
    /// The caller's per-minute budget of requests or query cost is spent (HTTP 429).
    pub const RATE_LIMITED: &str = "RATE_LIMITED";
    /// `operationName` names no operation of the document, or is missing where it must be given.
    pub const OPERATION_RESOLUTION_FAILURE: &str = "OPERATION_RESOLUTION_FAILURE";
}

/// Maps a domain error to a top-level GraphQL error. Internal errors are logged with their
/// source and shown to the client only as `INTERNAL`.
pub fn to_graphql(e: Error) -> async_graphql::Error {
    let code = match &e {
        // Invalid arguments name the argument: `filter.segments: takes at most 100 values`.
        Error::Invalid(errors) if errors.iter().any(|f| !f.field.is_empty()) => {
            let message = errors
                .iter()
                .map(|f| {
                    if f.field.is_empty() { f.message.clone() } else { format!("{}: {}", f.field.join("."), f.message) }
                })
                .collect::<Vec<_>>()
                .join("; ");
            let field: Vec<async_graphql::Value> =
                errors[0].field.iter().map(|p| async_graphql::Value::String(p.clone())).collect();
            return async_graphql::Error::new(message).extend_with(|_, ext| {
                ext.set("code", codes::BAD_USER_INPUT);
                ext.set("field", async_graphql::Value::List(field));
            });
        }
        Error::Invalid(_) => codes::BAD_USER_INPUT,
        Error::NotFound { .. } => codes::NOT_FOUND,
        Error::Conflict { .. } => codes::CONFLICT,
        Error::Forbidden(_) => codes::FORBIDDEN,
        Error::Internal(source) => {
            tracing::error!(error = %source, "internal error while resolving a request");
            return internal();
        }
    };
    async_graphql::Error::new(e.to_string()).extend_with(|_, ext| ext.set("code", code))
}

/// The one error clients see for anything unexpected.
pub fn internal() -> async_graphql::Error {
    async_graphql::Error::new("internal error").extend_with(|_, ext| ext.set("code", codes::INTERNAL))
}

/// `.gql()` turns a domain result into a resolver result through [`to_graphql`].
pub trait GqlResult<T> {
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> GqlResult<T> for Result<T, Error> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(to_graphql)
    }
}

/// Splits a mutation's outcome into the changed object and user errors. Forbidden and internal
/// failures are top-level errors instead: they are not the input's fault.
pub fn outcome<T, U>(
    result: Result<T, Error>,
    wrap: impl FnOnce(T) -> U,
) -> async_graphql::Result<(Option<U>, Vec<UserError>)> {
    match result {
        Ok(v) => Ok((Some(wrap(v)), Vec::new())),
        Err(e @ (Error::Forbidden(_) | Error::Internal(_))) => Err(to_graphql(e)),
        Err(e) => {
            let errors = e.field_errors().unwrap_or_default();
            Ok((
                None,
                errors
                    .into_iter()
                    .map(|f| UserError {
                        field: if f.field.is_empty() {
                            Vec::new()
                        } else {
                            std::iter::once("input".to_owned()).chain(f.field).collect()
                        },
                        message: f.message,
                        code: match f.code {
                            ErrorCode::Invalid | ErrorCode::Forbidden => UserErrorCode::Invalid,
                            ErrorCode::NotFound => UserErrorCode::NotFound,
                            ErrorCode::Conflict => UserErrorCode::Conflict,
                        },
                    })
                    .collect(),
            ))
        }
    }
}

/// Validates Relay page arguments (`first`/`last` within 1..=100, not both).
pub fn page_request(
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> async_graphql::Result<PageRequest> {
    let check = |name: &str, v: Option<i32>| -> async_graphql::Result<Option<u64>> {
        match v {
            None => Ok(None),
            Some(n) if n >= 1 && n as u64 <= MAX_PAGE_SIZE => Ok(Some(n as u64)),
            Some(n) => {
                Err(async_graphql::Error::new(format!("`{name}` must be between 1 and {MAX_PAGE_SIZE}, got {n}"))
                    .extend_with(|_, ext| ext.set("code", codes::BAD_USER_INPUT)))
            }
        }
    };
    if first.is_some() && last.is_some() {
        return Err(async_graphql::Error::new("pass either `first` or `last`, not both")
            .extend_with(|_, ext| ext.set("code", codes::BAD_USER_INPUT)));
    }
    Ok(PageRequest { first: check("first", first)?, after, last: check("last", last)?, before })
}

/// Turns a domain page into a Relay connection.
pub fn connection<T, N: OutputType, F: async_graphql::ObjectType>(
    page: Page<T>,
    fields: F,
    wrap: impl Fn(T) -> N,
) -> Connection<String, N, F, EmptyFields> {
    let mut c = Connection::with_additional_fields(page.has_previous_page, page.has_next_page, fields);
    c.edges.extend(page.edges.into_iter().map(|(cursor, t)| Edge::new(cursor, wrap(t))));
    c
}

/// Converts a patch field: absent -> unchanged, `null` -> clear, value -> set.
///
/// Patch fields carry no `#[graphql(default)]`: `MaybeUndefined` already reads an absent field
/// as undefined, and a default would be printed as `= null` in the schema, telling clients that
/// leaving a field out clears it.
pub fn patch<T, U>(
    m: async_graphql::MaybeUndefined<T>,
    f: impl FnOnce(T) -> Result<U, Error>,
) -> Result<Option<Option<U>>, Error> {
    match m {
        async_graphql::MaybeUndefined::Undefined => Ok(None),
        async_graphql::MaybeUndefined::Null => Ok(Some(None)),
        async_graphql::MaybeUndefined::Value(v) => f(v).map(|u| Some(Some(u))),
    }
}

/// Complexity of a connection field: the page size times the cost of one node.
pub fn page_cost(first: Option<i32>, last: Option<i32>, child: usize) -> usize {
    let n = first
        .or(last)
        .map_or(bellwether_domain::page::DEFAULT_PAGE_SIZE as usize, |n| n.clamp(1, MAX_PAGE_SIZE as i32) as usize);
    1 + n * child
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_ids_round_trip_and_reject_garbage() {
        let id = Uuid::now_v7();
        let g = global_id(Kind::Account, id);
        assert_eq!(parse_global_id(&g), Some((Kind::Account, id)));
        assert!(input_id(&g, Kind::User, &["id"]).is_err());
        for bad in ["", "abc", "QWNjb3VudDpub3QtYS11dWlk", "!!!"] {
            assert_eq!(parse_global_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn metric_point_ids_follow_the_key() {
        let (account, metric) = (AccountId(Uuid::now_v7()), MetricId(Uuid::now_v7()));
        let at = DateTime::from_timestamp_micros(1_795_426_200_123_456).unwrap();
        let id = metric_point_id(account, metric, at);
        assert_eq!(id, metric_point_id(account, metric, at));
        let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(id.as_str()).unwrap()).unwrap();
        assert_eq!(raw, format!("MetricPoint:{}:{}:1795426200123456", account.0, metric.0));
        assert_ne!(id, metric_point_id(account, metric, at + chrono::Duration::microseconds(1)));
        assert_ne!(id, metric_point_id(AccountId(Uuid::now_v7()), metric, at));
        // Not a node id: `node(id:)` answers null for it rather than guessing a kind.
        assert_eq!(parse_global_id(&id), None);
    }

    #[test]
    fn page_sizes_are_bounded() {
        assert!(page_request(Some(1), None, None, None).is_ok());
        assert!(page_request(Some(100), None, None, None).is_ok());
        assert!(page_request(Some(0), None, None, None).is_err());
        assert!(page_request(Some(101), None, None, None).is_err());
        assert!(page_request(None, None, Some(-1), None).is_err());
        assert!(page_request(Some(1), None, Some(1), None).is_err());
    }
}
