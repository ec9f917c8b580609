//! What a domain rule answers when it says no. Each refusal carries the
//! stable `code` the caller sees; [`crate::error::Error`] converts it into
//! the matching HTTP status. The domain knows no status numbers.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The input breaks a rule of its shape (a name, a scope, a state).
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// The caller is not entitled to this.
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    /// Well-formed, but not something that can be done (too many files).
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String },
    #[error("the content is larger than {limit} bytes")]
    TooLarge { limit: usize },
}

impl DomainError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
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

    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unprocessable {
            code,
            message: message.into(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid { code, .. } | Self::Forbidden { code, .. } | Self::Unprocessable { code, .. } => code,
            Self::TooLarge { .. } => "payload_too_large",
        }
    }
}

pub type DomainResult<T> = Result<T, DomainError>;
