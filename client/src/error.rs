//! What can go wrong, typed: the broker's own refusals by their `code`,
//! API Gateway's refusals (no `error` object), and everything before or
//! after the HTTP exchange.

use std::fmt;
use std::time::Duration;

/// Generates [`ErrorCode`] from the list of the broker's codes.
macro_rules! error_codes {
    ($($variant:ident => $code:literal),* $(,)?) => {
        /// The `code` of the broker's error body, every one `openapi.yaml`
        /// documents (plus `Other` for one it may add later, or the local
        /// runner's own, e.g. `unknown_user`).
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $(#[doc = concat!("`", $code, "`")] $variant,)*
            /// A code this client does not know.
            Other(String),
        }

        impl ErrorCode {
            /// Every known code, as the broker spells it.
            pub const KNOWN: &'static [&'static str] = &[$($code),*];

            /// The code as the broker spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $code,)*
                    Self::Other(code) => code,
                }
            }
        }

        impl From<&str> for ErrorCode {
            fn from(code: &str) -> Self {
                match code {
                    $($code => Self::$variant,)*
                    other => Self::Other(other.to_owned()),
                }
            }
        }
    };
}

error_codes! {
    // 400
    InvalidPolicy => "invalid_policy",
    InvalidQuery => "invalid_query",
    InvalidBody => "invalid_body",
    InvalidAccountId => "invalid_account_id",
    InvalidInstallationId => "invalid_installation_id",
    InvalidUserId => "invalid_user_id",
    InvalidScope => "invalid_scope",
    InvalidMinTtl => "invalid_min_ttl",
    InvalidOwner => "invalid_owner",
    InvalidState => "invalid_state",
    InvalidCode => "invalid_code",
    InvalidReturnTo => "invalid_return_to",
    OauthCodeRejected => "oauth_code_rejected",
    CodeRequired => "code_required",
    InvalidPayload => "invalid_payload",
    InvalidHeader => "invalid_header",
    InvalidRepositoryName => "invalid_repository_name",
    InvalidDescription => "invalid_description",
    InvalidBranch => "invalid_branch",
    InvalidMessage => "invalid_message",
    InvalidPath => "invalid_path",
    NoFiles => "no_files",
    // 401
    Unauthenticated => "unauthenticated",
    // 403
    ScopeNotAllowed => "scope_not_allowed",
    NotAccountMember => "not_account_member",
    InstallationNotAccessible => "installation_not_accessible",
    InstallationAdminRequired => "installation_admin_required",
    AppPermissionMissing => "app_permission_missing",
    InstallationNotLinked => "installation_not_linked",
    InstallationSuspended => "installation_suspended",
    StateMismatch => "state_mismatch",
    IamRequired => "iam_required",
    GithubForbidden => "github_forbidden",
    // 404
    RouteNotFound => "route_not_found",
    GithubNotConnected => "github_not_connected",
    InstallationDeleted => "installation_deleted",
    InstallationNotFound => "installation_not_found",
    RepositoryNotFound => "repository_not_found",
    // 405
    MethodNotAllowed => "method_not_allowed",
    // 409
    ReauthorizationRequired => "reauthorization_required",
    RefreshInProgress => "refresh_in_progress",
    MintInProgress => "mint_in_progress",
    BranchMoving => "branch_moving",
    EmptyRepository => "empty_repository",
    GithubConflict => "github_conflict",
    ReconcileInProgress => "reconcile_in_progress",
    // 413
    PayloadTooLarge => "payload_too_large",
    // 422
    PolicyBeyondInstallation => "policy_beyond_installation",
    ScopeNotGranted => "scope_not_granted",
    GithubRefused => "github_refused",
    TooManyFiles => "too_many_files",
    DuplicatePath => "duplicate_path",
    // 5xx
    InternalError => "internal_error",
    GithubUnavailable => "github_unavailable",
    GithubRateLimited => "github_rate_limited",
    StoreThrottled => "store_throttled",
    DeadlineExceeded => "deadline_exceeded",
    AppCredentialsRejected => "app_credentials_rejected",
    GithubOauthError => "github_oauth_error",
    EventPublicationFailed => "event_publication_failed",
    GithubTimeout => "github_timeout",
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A coarse class of [`Error`], for exit codes and retry decisions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// Not allowed: no or bad credentials or JWT, not IAM, not a member,
    /// outside the link's policy (401, 403).
    Auth,
    /// No such route, installation, repository or connection (404).
    NotFound,
    /// A state that forbids it now: a lease or a refresh held, a grant to
    /// renew (409).
    Conflict,
    /// A request the broker cannot take (400, 405, 413, 422), or a client
    /// misconfigured (a bad URL).
    Invalid,
    /// Try later: throttled, rate-limited, GitHub unavailable or slow (429,
    /// 502, 503, 504).
    Unavailable,
    /// The broker failed (500), or answered what this client cannot read.
    Server,
    /// No answer: connection refused or reset, timeout.
    Transport,
}

impl ErrorClass {
    /// The class's name, as the CLI prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::Invalid => "invalid",
            Self::Unavailable => "unavailable",
            Self::Server => "server",
            Self::Transport => "transport",
        }
    }

    /// The class of an HTTP status.
    pub fn of_status(status: u16) -> Self {
        match status {
            401 | 403 => Self::Auth,
            404 => Self::NotFound,
            409 => Self::Conflict,
            429 | 502..=504 => Self::Unavailable,
            400..=499 => Self::Invalid,
            _ => Self::Server,
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error of a [`Client`](crate::Client) call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The broker refused, with its error body.
    #[error("{code}: {message} (HTTP {status})")]
    Api {
        status: u16,
        code: ErrorCode,
        message: String,
    },
    /// API Gateway's own IAM refusal of an internal route (`403` with a
    /// body like `{"message":"Forbidden"}` and no `error` object): an
    /// unsigned request, a signature that does not verify, or a principal
    /// without `execute-api:Invoke`. The local runner answers the same.
    #[error("forbidden by the gateway: {message} (HTTP 403; is the request signed with the right credentials?)")]
    Forbidden { message: String },
    /// Any other answer without the broker's error body: API Gateway's
    /// throttling (`429 Too Many Requests`), its JWT authorizer (`401
    /// Unauthorized`), a proxy's 502…
    #[error("HTTP {status} from the gateway: {message}")]
    Gateway { status: u16, message: String },
    /// The request could not be sent or its answer not received.
    #[error("transport: {0}")]
    Transport(#[source] reqwest::Error),
    /// No AWS credentials to sign an internal route with, or no JWT for a
    /// frontend route.
    #[error("credentials: {0}")]
    Credentials(String),
    /// A success body that does not read as the route's schema.
    #[error("could not read the answer (HTTP {status}): {message}")]
    Decode { status: u16, message: String },
    /// The client is misconfigured (a base URL that cannot take a path).
    #[error("configuration: {0}")]
    Config(String),
}

impl Error {
    /// The coarse class of the error.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Api { status, .. } | Self::Gateway { status, .. } => ErrorClass::of_status(*status),
            Self::Forbidden { .. } | Self::Credentials(_) => ErrorClass::Auth,
            Self::Transport(_) => ErrorClass::Transport,
            Self::Decode { .. } => ErrorClass::Server,
            Self::Config(_) => ErrorClass::Invalid,
        }
    }

    /// The broker's error code, if the broker answered with one.
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            Self::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The HTTP status, if there was an answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } | Self::Gateway { status, .. } | Self::Decode { status, .. } => Some(*status),
            Self::Forbidden { .. } => Some(403),
            _ => None,
        }
    }

    /// The error an answer that is not a success (its status and body) means.
    pub fn from_body(status: u16, body: &[u8]) -> Self {
        #[derive(serde::Deserialize)]
        struct Body {
            error: Option<Inner>,
            message: Option<String>,
        }
        #[derive(serde::Deserialize)]
        struct Inner {
            code: String,
            message: String,
        }
        match serde_json::from_slice::<Body>(body) {
            Ok(Body {
                error: Some(Inner { code, message }),
                ..
            }) => Self::Api {
                status,
                code: ErrorCode::from(code.as_str()),
                message,
            },
            Ok(Body { message, .. }) if status == 403 => Self::Forbidden {
                message: message.unwrap_or_else(|| "Forbidden".to_owned()),
            },
            Ok(Body {
                message: Some(message), ..
            }) => Self::Gateway { status, message },
            _ => Self::Gateway {
                status,
                message: excerpt(body),
            },
        }
    }
}

/// The start of a body that is not JSON, for a one-line message.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(200) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None if line.is_empty() => "(no body)".to_owned(),
        None => line,
    }
}

/// How long an answer asks to wait (`Retry-After`: seconds or an HTTP date).
pub(crate) fn retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// An error and its sources on one line (reqwest's and the AWS chain's
/// own texts are terse), each source once.
pub fn with_sources(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_broker_s_body_is_a_typed_api_error() {
        let e = Error::from_body(
            404,
            br#"{"error":{"code":"installation_not_linked","message":"not linked"}}"#,
        );
        assert!(
            matches!(&e, Error::Api { status: 404, code: ErrorCode::InstallationNotLinked, message } if message == "not linked")
        );
        assert_eq!(e.class(), ErrorClass::NotFound);
        let e = Error::from_body(418, br#"{"error":{"code":"unknown_user","message":"x"}}"#);
        assert_eq!(e.code(), Some(&ErrorCode::Other("unknown_user".into())));
    }

    #[test]
    fn gateway_refusals_are_not_api_errors() {
        let e = Error::from_body(403, br#"{"message":"Forbidden"}"#);
        assert!(matches!(&e, Error::Forbidden { message } if message == "Forbidden"));
        assert_eq!(e.class(), ErrorClass::Auth);
        let e = Error::from_body(429, br#"{"message":"Too Many Requests"}"#);
        assert!(matches!(&e, Error::Gateway { status: 429, .. }));
        assert_eq!(e.class(), ErrorClass::Unavailable);
        let e = Error::from_body(502, b"<html>\n bad gateway </html>");
        assert!(matches!(&e, Error::Gateway { status: 502, message } if message == "<html> bad gateway </html>"));
        let e = Error::from_body(401, br#"{"message":"Unauthorized"}"#);
        assert_eq!(e.class(), ErrorClass::Auth);
    }

    #[test]
    fn classes_follow_the_status() {
        let class = |status: u16, code: &str| {
            Error::Api {
                status,
                code: code.into(),
                message: "m".into(),
            }
            .class()
        };
        assert_eq!(class(401, "unauthenticated"), ErrorClass::Auth);
        assert_eq!(class(403, "scope_not_allowed"), ErrorClass::Auth);
        assert_eq!(class(409, "mint_in_progress"), ErrorClass::Conflict);
        assert_eq!(class(400, "invalid_scope"), ErrorClass::Invalid);
        assert_eq!(class(405, "method_not_allowed"), ErrorClass::Invalid);
        assert_eq!(class(413, "payload_too_large"), ErrorClass::Invalid);
        assert_eq!(class(422, "scope_not_granted"), ErrorClass::Invalid);
        assert_eq!(class(503, "store_throttled"), ErrorClass::Unavailable);
        assert_eq!(class(502, "github_unavailable"), ErrorClass::Unavailable);
        assert_eq!(class(504, "github_timeout"), ErrorClass::Unavailable);
        assert_eq!(class(500, "internal_error"), ErrorClass::Server);
        assert_eq!(Error::Credentials("none".into()).class(), ErrorClass::Auth);
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        assert_eq!(retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(retry_after(&later, now), Some(Duration::from_secs(30)));
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(retry_after("soon", now), None);
    }

    /// Every code `openapi.yaml` documents is a variant, not `Other`.
    #[test]
    fn every_documented_code_is_known() {
        let spec = include_str!("../../openapi.yaml");
        let mut documented = std::collections::BTreeSet::new();
        for line in spec.lines().filter(|l| l.contains("{error: {properties: {code: {")) {
            let rest = line.split("{code: {").nth(1).unwrap();
            let list = if let Some(r) = rest.strip_prefix("const: ") {
                r.split('}').next().unwrap().to_owned()
            } else {
                let r = rest.strip_prefix("enum: [").unwrap();
                r.split(']').next().unwrap().to_owned()
            };
            documented.extend(list.split(',').map(|c| c.trim().to_owned()));
        }
        assert!(documented.len() > 40, "{documented:?}");
        for code in &documented {
            assert!(
                !matches!(ErrorCode::from(code.as_str()), ErrorCode::Other(_)),
                "{code} is documented but not an ErrorCode variant"
            );
        }
    }
}
