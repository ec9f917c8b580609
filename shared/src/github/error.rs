//! GitHub's refusals, classified once, here in the adapter, into what they
//! mean: the services decide what each means for their caller, and none of
//! them looks at a status number or GitHub's message text.

/// What went wrong talking to GitHub. Messages hold GitHub's own error text
/// (never a request body or a token) and are for the log.
#[derive(Debug, thiserror::Error)]
pub enum GitHubError {
    /// The OAuth endpoint refused (it answers with HTTP 200 and an `error`).
    #[error("GitHub OAuth error {}", .0.code())]
    OAuth(OAuthRefusal),
    /// 401: the token (or the app's JWT) is not, or no longer, accepted.
    #[error("GitHub refused the credentials: {message}")]
    Unauthorized { message: String },
    /// 403 for an installation its owner suspended.
    #[error("the installation is suspended: {message}")]
    Suspended { message: String },
    /// 403 otherwise: the token lacks a permission or access.
    #[error("GitHub forbade it: {message}")]
    Forbidden { message: String },
    /// 404: no such thing, or none the token may see (GitHub does not say which).
    #[error("GitHub knows no such thing: {message}")]
    NotFound { message: String },
    /// 409: the request conflicts with the state (an empty repository).
    #[error("GitHub answered with a conflict: {message}")]
    Conflict { message: String },
    /// 422: GitHub checked the request and refused it (a scope beyond the
    /// installation's grant, a name already taken, a ref that moved).
    #[error("GitHub refused the request: {message}")]
    Rejected { message: String },
    /// Any other status: GitHub failing, as far as the broker can tell.
    #[error("GitHub answered {status}: {message}")]
    Status { status: u16, message: String },
    #[error("GitHub rate limit: retry after {retry_after_seconds} s")]
    RateLimited { retry_after_seconds: u64 },
    #[error("GitHub did not answer in time")]
    Timeout,
    /// Not sent (again): the request's own deadline leaves no room for it.
    #[error(transparent)]
    Deadline(#[from] crate::deadline::DeadlineReached),
    #[error("could not reach GitHub: {0}")]
    Transport(String),
    #[error("unexpected answer from GitHub to {0}")]
    Decode(&'static str),
    /// A request the broker refuses to build: a value that cannot be one
    /// URL path segment (inputs are checked long before; this is the guard).
    #[error("refused to build a GitHub URL: {0}")]
    UnsafePath(String),
}

impl GitHubError {
    /// A refusal by HTTP status, with GitHub's message.
    pub(super) fn refusal(status: u16, message: String) -> Self {
        match status {
            401 => Self::Unauthorized { message },
            // GitHub says so in the message only ("This installation has
            // been suspended"): read once, here.
            403 if message.to_ascii_lowercase().contains("suspended") => Self::Suspended { message },
            403 => Self::Forbidden { message },
            404 => Self::NotFound { message },
            409 => Self::Conflict { message },
            422 => Self::Rejected { message },
            status => Self::Status { status, message },
        }
    }

    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout)
    }
}

/// Why GitHub's OAuth endpoint refused a code or a refresh token
/// (<https://docs.github.com/en/apps/oauth-apps/maintaining-oauth-apps/troubleshooting-oauth-app-access-token-request-errors>).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OAuthRefusal {
    /// The refresh token is spent, revoked or expired: the only refusal
    /// after which a user's stored tokens are worth nothing.
    BadRefreshToken,
    /// The app's client id or secret (a client-secret rotation gone wrong):
    /// the user's authorization is fine and must be kept.
    IncorrectClientCredentials,
    /// The code is wrong, spent or expired.
    BadVerificationCode,
    /// Any other `error` GitHub names.
    Other(String),
}

impl OAuthRefusal {
    pub(super) fn parse(error: String) -> Self {
        match error.as_str() {
            "bad_refresh_token" => Self::BadRefreshToken,
            "incorrect_client_credentials" => Self::IncorrectClientCredentials,
            "bad_verification_code" => Self::BadVerificationCode,
            _ => Self::Other(error),
        }
    }

    /// GitHub's own name for it, for messages and logs.
    pub fn code(&self) -> &str {
        match self {
            Self::BadRefreshToken => "bad_refresh_token",
            Self::IncorrectClientCredentials => "incorrect_client_credentials",
            Self::BadVerificationCode => "bad_verification_code",
            Self::Other(code) => code,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_is_classified_by_status_and_a_suspension_by_its_message() {
        let m = || "m".to_owned();
        assert!(matches!(
            GitHubError::refusal(401, m()),
            GitHubError::Unauthorized { .. }
        ));
        assert!(matches!(GitHubError::refusal(403, m()), GitHubError::Forbidden { .. }));
        let suspended = GitHubError::refusal(403, "This installation has been suspended".into());
        assert!(matches!(suspended, GitHubError::Suspended { .. }));
        assert!(matches!(GitHubError::refusal(404, m()), GitHubError::NotFound { .. }));
        assert!(matches!(GitHubError::refusal(409, m()), GitHubError::Conflict { .. }));
        assert!(matches!(GitHubError::refusal(422, m()), GitHubError::Rejected { .. }));
        assert!(matches!(
            GitHubError::refusal(500, m()),
            GitHubError::Status { status: 500, .. }
        ));
    }

    #[test]
    fn oauth_errors_keep_their_name() {
        for code in [
            "bad_refresh_token",
            "incorrect_client_credentials",
            "bad_verification_code",
            "unsupported_grant_type",
        ] {
            assert_eq!(OAuthRefusal::parse(code.into()).code(), code);
        }
        assert_eq!(
            OAuthRefusal::parse("bad_refresh_token".into()),
            OAuthRefusal::BadRefreshToken
        );
    }
}
