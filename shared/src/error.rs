//! The one error type of the broker's use cases, and how each kind maps to
//! an HTTP status and a stable `code`. The mapping to a response body lives
//! in [`crate::api::response`]; the full cause chain only ever goes to the log.

use http::StatusCode;

use crate::domain::DomainError;
use crate::events::EventsError;
use crate::github::GitHubError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed: bad JSON, a missing field, an invalid id.
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// No caller identity where one is required (no JWT claims, no IAM).
    #[error("{0}")]
    Unauthenticated(String),
    /// A known caller asks for something it is not entitled to.
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    #[error("{message}")]
    NotFound { code: &'static str, message: String },
    /// The stored GitHub grant is gone or GitHub refused to refresh it: the
    /// user has to connect GitHub again.
    #[error("the GitHub authorization must be renewed: connect GitHub again")]
    ReauthorizationRequired,
    #[error("this method is not served on this path")]
    MethodNotAllowed,
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// GitHub refused a request in a way the caller can act on (422 scope-down).
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String },
    /// The broker cannot serve this now for a reason the operator or time
    /// can mend (GitHub refusing the app's credentials, say).
    #[error("{message}")]
    Unavailable { code: &'static str, message: String },
    #[error("GitHub request failed")]
    GitHub(#[source] GitHubError),
    #[error("state store request failed")]
    Store(#[source] StoreError),
    /// A verified delivery could not be published for the platform.
    #[error("event publication failed")]
    Events(#[source] EventsError),
    /// Configuration or secret problems found while serving.
    #[error("{0}")]
    Internal(String),
}

impl Error {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::Forbidden {
            code,
            message: message.into(),
        }
    }
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::NotFound {
            code,
            message: message.into(),
        }
    }
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unavailable {
            code,
            message: message.into(),
        }
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::ReauthorizationRequired | Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::GitHub(GitHubError::Deadline(_)) | Self::Store(StoreError::Deadline(_)) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::GitHub(GitHubError::UnsafePath(_)) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::GitHub(e) if e.is_timeout() => StatusCode::GATEWAY_TIMEOUT,
            Self::GitHub(GitHubError::RateLimited { .. }) => StatusCode::SERVICE_UNAVAILABLE,
            Self::GitHub(_) => StatusCode::BAD_GATEWAY,
            Self::Store(StoreError::Throttled(_)) | Self::Events(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Store(_) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. }
            | Self::Forbidden { code, .. }
            | Self::NotFound { code, .. }
            | Self::Conflict { code, .. }
            | Self::Unavailable { code, .. }
            | Self::Unprocessable { code, .. } => code,
            Self::Unauthenticated(_) => "unauthenticated",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::ReauthorizationRequired => "reauthorization_required",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::GitHub(GitHubError::Deadline(_)) | Self::Store(StoreError::Deadline(_)) => "deadline_exceeded",
            Self::GitHub(GitHubError::UnsafePath(_)) => "internal_error",
            Self::GitHub(e) if e.is_timeout() => "github_timeout",
            Self::GitHub(GitHubError::RateLimited { .. }) => "github_rate_limited",
            Self::GitHub(_) => "github_unavailable",
            Self::Store(StoreError::Throttled(_)) => "store_throttled",
            Self::Events(_) => "event_publication_failed",
            Self::Store(_) | Self::Internal(_) => "internal_error",
        }
    }

    /// What the caller is told. Upstream and internal failures get a fixed
    /// sentence: their details (which may quote GitHub or AWS) stay in the log.
    pub fn public_message(&self) -> String {
        match self {
            Self::GitHub(GitHubError::Deadline(_)) | Self::Store(StoreError::Deadline(_)) => {
                "the request ran out of time before its next step could start; try again".into()
            }
            Self::GitHub(GitHubError::RateLimited { retry_after_seconds }) => {
                format!("GitHub's rate limit was reached; retry in {retry_after_seconds} seconds")
            }
            Self::GitHub(GitHubError::UnsafePath(_)) => "internal error".into(),
            Self::GitHub(_) => "GitHub did not answer as expected; try again later".into(),
            Self::Store(StoreError::Throttled(_)) => "the broker is busy; try again".into(),
            Self::Events(_) => "the delivery could not be published for the platform; its redelivery will be".into(),
            Self::Store(_) | Self::Internal(_) => "internal error".into(),
            other => other.to_string(),
        }
    }
}

impl From<DomainError> for Error {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Invalid { code, message } => Self::BadRequest { code, message },
            DomainError::Forbidden { code, message } => Self::Forbidden { code, message },
            DomainError::Unprocessable { code, message } => Self::Unprocessable { code, message },
            DomainError::TooLarge { limit } => Self::PayloadTooLarge { limit },
        }
    }
}

impl From<EventsError> for Error {
    fn from(e: EventsError) -> Self {
        Self::Events(e)
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<GitHubError> for Error {
    fn from(e: GitHubError) -> Self {
        Self::GitHub(e)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
