//! The one error type of the domain. `api` maps it to GraphQL errors and `userErrors` in one place.

use std::fmt;

/// A stable, machine-readable reason for a failed command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// The input is malformed or breaks a rule.
    Invalid,
    /// The referenced object does not exist in the caller's organisation.
    NotFound,
    /// A uniqueness rule or a stale `version`.
    Conflict,
    /// The caller's role does not allow this.
    Forbidden,
}

/// One problem with one input field. `field` is the path from the mutation's `input`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: Vec<String>,
    pub message: String,
    pub code: ErrorCode,
}

impl FieldError {
    pub fn new(field: &[&str], code: ErrorCode, message: impl Into<String>) -> Self {
        Self { field: field.iter().map(|s| (*s).to_owned()).collect(), message: message.into(), code }
    }

    pub fn invalid(field: &[&str], message: impl Into<String>) -> Self {
        Self::new(field, ErrorCode::Invalid, message)
    }
}

/// Everything a domain operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input problems, all of them at once; nothing was written.
    #[error("invalid input: {}", .0.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    /// The object does not exist for this organisation (also used for other tenants' objects).
    #[error("{entity} not found")]
    NotFound { entity: &'static str, field: Vec<String> },
    /// A uniqueness rule or optimistic-concurrency check failed.
    #[error("{message}")]
    Conflict { field: Vec<String>, message: String },
    /// The role of the caller does not permit the operation.
    #[error("{0}")]
    Forbidden(String),
    /// Anything unexpected; the source is logged, never shown to clients.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl Error {
    pub fn invalid(field: &[&str], message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::invalid(field, message)])
    }

    pub fn not_found(entity: &'static str, field: &[&str]) -> Self {
        Self::NotFound { entity, field: field.iter().map(|s| (*s).to_owned()).collect() }
    }

    pub fn conflict(field: &[&str], message: impl Into<String>) -> Self {
        Self::Conflict { field: field.iter().map(|s| (*s).to_owned()).collect(), message: message.into() }
    }

    pub fn stale(entity: &'static str, expected: i32, actual: i32) -> Self {
        Self::conflict(
            &["expectedVersion"],
            format!("{entity} was changed by someone else: expected version {expected}, current version is {actual}"),
        )
    }

    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(Box::new(e))
    }

    /// The problems as field errors, for mutation payloads. `None` for internal errors.
    pub fn field_errors(&self) -> Option<Vec<FieldError>> {
        match self {
            Self::Invalid(errors) => Some(errors.clone()),
            Self::NotFound { field, .. } => {
                Some(vec![FieldError { field: field.clone(), code: ErrorCode::NotFound, message: self.to_string() }])
            }
            Self::Conflict { field, message } => {
                Some(vec![FieldError { field: field.clone(), code: ErrorCode::Conflict, message: message.clone() }])
            }
            Self::Forbidden(message) => {
                Some(vec![FieldError { field: Vec::new(), code: ErrorCode::Forbidden, message: message.clone() }])
            }
            Self::Internal(_) => None,
        }
    }
}

impl From<sea_orm::DbErr> for Error {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::internal(e)
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<sea_orm::TransactionError<E>> for Error
where
    Error: From<E>,
{
    fn from(e: sea_orm::TransactionError<E>) -> Self {
        match e {
            sea_orm::TransactionError::Connection(e) => e.into(),
            sea_orm::TransactionError::Transaction(e) => e.into(),
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Invalid => "INVALID",
            Self::NotFound => "NOT_FOUND",
            Self::Conflict => "CONFLICT",
            Self::Forbidden => "FORBIDDEN",
        })
    }
}

/// Result of a domain operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Collects field errors while validating a command, so callers get all of them at once.
#[derive(Default)]
pub struct Problems(Vec<FieldError>);

impl Problems {
    pub fn push(&mut self, field: &[&str], message: impl Into<String>) {
        self.0.push(FieldError::invalid(field, message));
    }

    /// Records a reference to something that does not exist (or is not visible to the caller).
    pub fn missing(&mut self, field: &[&str], message: impl Into<String>) {
        self.0.push(FieldError::new(field, ErrorCode::NotFound, message));
    }

    /// Runs a parser and records its failure under `field`.
    pub fn check<T>(&mut self, field: &[&str], parsed: Result<T, String>) -> Option<T> {
        match parsed {
            Ok(v) => Some(v),
            Err(message) => {
                self.push(field, message);
                None
            }
        }
    }

    pub fn finish(self) -> Result<()> {
        if self.0.is_empty() { Ok(()) } else { Err(Error::Invalid(self.0)) }
    }
}
