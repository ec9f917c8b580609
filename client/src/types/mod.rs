//! Request and response bodies, named after the schemas of `openapi.yaml`.
//!
//! Requests serialize only the fields that are set (absent and `null` mean
//! the same to the broker). Responses are read leniently: a field the
//! contract may add later is ignored, not refused. Bodies that carry a
//! token print it redacted in `Debug`. `frontend.rs` holds the JWT
//! routes' bodies, `internal.rs` the IAM routes'.

mod frontend;
mod internal;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

pub use frontend::*;
pub use internal::*;

/// `Permissions`: a permission name (`contents`, `issues`, …) to its level.
pub type Permissions = BTreeMap<String, PermissionLevel>;

/// A level in a `Permissions` map.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PermissionLevel {
    Read,
    Write,
    Admin,
}

impl PermissionLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Admin => "admin",
        }
    }
}

impl fmt::Display for PermissionLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for PermissionLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "read" => Ok(Self::Read),
            "write" => Ok(Self::Write),
            "admin" => Ok(Self::Admin),
            other => Err(format!("`{other}` is not a permission level (read, write, admin)")),
        }
    }
}

pub(crate) fn redacted(f: &mut fmt::Formatter<'_>, token: &str) -> fmt::Result {
    if token.is_empty() {
        f.write_str("\"\"")
    } else {
        f.write_str("\"[redacted]\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_never_show_in_debug() {
        let vended = VendResponse {
            token: "ghs_secret".into(),
            expires_at: "2030-01-01T00:00:00Z".into(),
            permissions: BTreeMap::new(),
            repository_selection: "all".into(),
            repositories: None,
        };
        assert!(!format!("{vended:?}").contains("ghs_secret"));
        let user = UserToken {
            token: "ghu_secret".into(),
            expires_at: None,
            github_user: GitHubUser {
                id: 1,
                login: "octocat".into(),
            },
        };
        assert!(!format!("{user:?}").contains("ghu_secret"));
    }

    #[test]
    fn requests_send_only_what_is_set() {
        let owner = OwnerVendRequest {
            owner: "octo-org".into(),
            scope: VendRequest {
                repositories: Some(vec!["web".into()]),
                ..Default::default()
            },
        };
        assert_eq!(
            serde_json::to_value(&owner).unwrap(),
            serde_json::json!({"owner": "octo-org", "repositories": ["web"]})
        );
        assert_eq!(
            serde_json::to_value(LinkPolicy::default()).unwrap(),
            serde_json::json!({})
        );
    }

    #[test]
    fn linked_installations_read_flattened() {
        let body = serde_json::json!({"account_id": "team-a", "installations": [{
            "id": 7, "account": {"id": 3, "login": "octo-org", "type": "Organization"},
            "repository_selection": "all", "permissions": {"contents": "read"},
            "status": "active", "policy": {"repositories": null, "permissions": null}
        }]});
        let read: AccountInstallations = serde_json::from_value(body).unwrap();
        assert_eq!(read.installations[0].installation.id, 7);
        assert!(read.installations[0].policy.is_unrestricted());
    }
}
