//! Identifiers parsed once at the edge into types that cannot hold garbage.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

const MAX_ID_LEN: usize = 128;

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '@' | '|')
}

/// Validates a platform identifier: bounded length and a conservative
/// alphabet, so ids can be used in keys and paths without escaping.
fn validate_text_id(raw: &str) -> Option<String> {
    // "." and ".." are made of valid characters but mean something else in
    // every path the platform might build from an id.
    let dots = raw == "." || raw == "..";
    (!raw.is_empty() && !dots && raw.len() <= MAX_ID_LEN && raw.chars().all(is_id_char)).then(|| raw.to_owned())
}

macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(raw: &str) -> Option<Self> {
                validate_text_id(raw).map(Self)
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(raw: String) -> Result<Self, String> {
                Self::parse(&raw).ok_or_else(|| format!("invalid {}", stringify!($name)))
            }
        }
        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_id!(
    /// A platform account (a team): the unit that installations are linked to.
    AccountId
);
text_id!(
    /// A platform user: the `sub` of the platform's JWT.
    UserId
);

macro_rules! numeric_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl $name {
            pub fn parse(raw: &str) -> Option<Self> {
                // Only plain decimal digits, written canonically: no sign, no
                // whitespace, no leading zero (one id, one spelling).
                let canonical = !raw.is_empty() && raw.len() <= 20 && !raw.starts_with('0');
                if !canonical || !raw.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                u64::from_str(raw).ok().filter(|n| *n > 0).map(Self)
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

numeric_id!(
    /// A GitHub App installation id.
    InstallationId
);
numeric_id!(
    /// A GitHub user's numeric id (stable across renames, unlike the login).
    GitHubUserId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_accept_the_usual_alphabet() {
        for ok in ["team-a", "org_1", "a.b", "tenant:team", "x@y", "A"] {
            assert!(AccountId::parse(ok).is_some(), "{ok}");
        }
    }

    #[test]
    fn account_ids_refuse_path_and_injection_characters() {
        let long = "a".repeat(129);
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "../x",
            "a b",
            "a%2Fb",
            "a#b",
            "a\0",
            "é",
            long.as_str(),
        ] {
            assert!(AccountId::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn installation_ids_are_positive_decimal_numbers_only() {
        assert_eq!(InstallationId::parse("42"), Some(InstallationId(42)));
        for bad in [
            "",
            "0",
            "042",
            "-1",
            "+1",
            " 1",
            "1e3",
            "0x10",
            "99999999999999999999999",
        ] {
            assert!(InstallationId::parse(bad).is_none(), "{bad:?}");
        }
    }
}
