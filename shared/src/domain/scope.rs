//! The scope-down of an installation token request, and its canonical cache key.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::DomainError;
use super::repo::valid_repo_name;

/// GitHub's own limit on the repositories one token may be scoped to.
pub(super) const MAX_REPOSITORIES: usize = 500;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenScope {
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub repositories: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub repository_ids: BTreeSet<u64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub permissions: BTreeMap<String, String>,
}

pub(super) fn valid_permission(name: &str, level: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        && matches!(level, "read" | "write" | "admin")
}

impl TokenScope {
    /// Builds a scope from the request, normalising repository names
    /// (GitHub treats them case-insensitively) so equal scopes share a cache entry.
    pub fn new(
        repositories: Vec<String>,
        repository_ids: Vec<u64>,
        permissions: BTreeMap<String, String>,
    ) -> Result<Self, DomainError> {
        if repositories.len() + repository_ids.len() > MAX_REPOSITORIES {
            return Err(DomainError::invalid(
                "invalid_scope",
                "at most 500 repositories per token",
            ));
        }
        if let Some(bad) = repositories.iter().find(|r| !valid_repo_name(r)) {
            return Err(DomainError::invalid(
                "invalid_scope",
                format!("invalid repository name {bad:?}"),
            ));
        }
        if repository_ids.contains(&0) {
            return Err(DomainError::invalid(
                "invalid_scope",
                "repository ids are positive numbers",
            ));
        }
        if let Some((name, _)) = permissions.iter().find(|(n, l)| !valid_permission(n, l)) {
            return Err(DomainError::invalid(
                "invalid_scope",
                format!("permission {name:?} must be one of read, write, admin"),
            ));
        }
        Ok(Self {
            repositories: repositories.iter().map(|r| r.to_ascii_lowercase()).collect(),
            repository_ids: repository_ids.into_iter().collect(),
            permissions,
        })
    }

    /// A stable key for the token cache: equal scopes give equal keys.
    pub fn cache_key(&self) -> String {
        let canonical = serde_json::to_vec(self).expect("scope serialises");
        hex::encode(&Sha256::digest(canonical)[..16])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(repos: &[&str], perms: &[(&str, &str)]) -> Result<TokenScope, DomainError> {
        TokenScope::new(
            repos.iter().map(|r| r.to_string()).collect(),
            vec![],
            perms.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect(),
        )
    }

    #[test]
    fn equal_scopes_in_any_order_or_case_share_a_key() {
        let a = scope(&["Web", "api"], &[("contents", "read"), ("issues", "write")]).unwrap();
        let b = scope(&["api", "web"], &[("issues", "write"), ("contents", "read")]).unwrap();
        assert_eq!(a.cache_key(), b.cache_key());
    }

    #[test]
    fn different_scopes_have_different_keys() {
        let all = TokenScope::default().cache_key();
        let one = scope(&["web"], &[]).unwrap().cache_key();
        let read = scope(&[], &[("contents", "read")]).unwrap().cache_key();
        let write = scope(&[], &[("contents", "write")]).unwrap().cache_key();
        assert_eq!(BTreeSet::from([&all, &one, &read, &write]).len(), 4);
    }

    #[test]
    fn bad_names_and_levels_are_refused() {
        assert!(scope(&["../etc"], &[]).is_err());
        assert!(scope(&["a/b"], &[]).is_err());
        assert!(scope(&[""], &[]).is_err());
        assert!(scope(&[], &[("contents", "owner")]).is_err());
        assert!(scope(&[], &[("Contents", "read")]).is_err());
        assert!(TokenScope::new(vec![], vec![0], BTreeMap::new()).is_err());
    }
}
