//! Why a command failed, and the exit code each class of failure gets.

use broker_client::error::with_sources;
use broker_client::{Error, ErrorClass};

/// Why a command failed, and its exit code.
#[derive(Debug)]
pub enum CliError {
    /// Not enough to go on (exit 2).
    Usage(String),
    /// The broker, the gateway or the transport said no.
    Client(Error),
    /// The same, while doing something the message names.
    Context(String, Error),
    /// Anything else (exit 1).
    Other(String),
}

impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        Self::Client(e)
    }
}

/// The exit code of an error class.
pub fn exit_code(class: ErrorClass) -> u8 {
    match class {
        ErrorClass::Auth => 3,
        ErrorClass::NotFound => 4,
        ErrorClass::Conflict | ErrorClass::Invalid => 5,
        ErrorClass::Unavailable | ErrorClass::Transport => 6,
        ErrorClass::Server => 1,
    }
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) => 2,
            Self::Client(e) | Self::Context(_, e) => exit_code(e.class()),
            Self::Other(_) => 1,
        }
    }

    /// One line for stderr: the broker's code and message, never a secret.
    pub fn message(&self) -> String {
        let text = match self {
            Self::Usage(m) | Self::Other(m) => m.clone(),
            Self::Client(e) => with_sources(e),
            Self::Context(what, e) => format!("{what}: {}", with_sources(e)),
        };
        // Some errors (the AWS chain's) span lines: one line, whatever they say.
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_class_has_its_exit_code() {
        let codes: Vec<u8> = [
            ErrorClass::Auth,
            ErrorClass::NotFound,
            ErrorClass::Conflict,
            ErrorClass::Invalid,
            ErrorClass::Unavailable,
            ErrorClass::Transport,
            ErrorClass::Server,
        ]
        .into_iter()
        .map(exit_code)
        .collect();
        assert_eq!(codes, [3, 4, 5, 5, 6, 6, 1]);
        assert_eq!(CliError::Usage("x".into()).exit_code(), 2);
        assert_eq!(
            CliError::Client(Error::Forbidden {
                message: "Forbidden".into()
            })
            .exit_code(),
            3
        );
        let multi = CliError::Client(Error::Credentials(
            "none found:\n  Environment: unset\n  Profile: unset".into(),
        ));
        assert_eq!(
            multi.message(),
            "credentials: none found:; Environment: unset; Profile: unset"
        );
    }
}
