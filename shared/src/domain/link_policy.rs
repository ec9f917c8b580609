//! A link's policy: the ceiling on what one team gets from an installation
//! it is linked to. Every vend, repository creation and commit of the team
//! is checked against it before GitHub is asked, and a vend without a scope
//! is scoped down to it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::error::{DomainError, DomainResult};
use super::repo::valid_repo_name;
use super::scope::{valid_permission, TokenScope, MAX_REPOSITORIES};

/// `None` in either field: everything the installation grants, as a link
/// without a policy had before policies existed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkPolicy {
    /// Repository names, lower-cased (GitHub compares them so).
    pub repositories: Option<BTreeSet<String>>,
    pub permissions: Option<BTreeMap<String, String>>,
}

/// GitHub's levels in the order they include each other.
fn rank(level: &str) -> u8 {
    match level {
        "read" => 1,
        "write" => 2,
        "admin" => 3,
        _ => 0,
    }
}

impl LinkPolicy {
    pub fn new(repositories: Option<Vec<String>>, permissions: Option<BTreeMap<String, String>>) -> DomainResult<Self> {
        let invalid = |message: String| DomainError::invalid("invalid_policy", message);
        if let Some(repos) = &repositories {
            if repos.is_empty() || repos.len() > MAX_REPOSITORIES {
                return Err(invalid(format!(
                    "repositories lists 1 to {MAX_REPOSITORIES} names, or is null for all"
                )));
            }
            if let Some(bad) = repos.iter().find(|r| !valid_repo_name(r)) {
                return Err(invalid(format!("invalid repository name {bad:?}")));
            }
        }
        if let Some(perms) = &permissions {
            if perms.is_empty() {
                return Err(invalid("permissions names at least one, or is null for all".into()));
            }
            if let Some((name, _)) = perms.iter().find(|(n, l)| !valid_permission(n, l)) {
                return Err(invalid(format!(
                    "permission {name:?} must be one of read, write, admin"
                )));
            }
        }
        Ok(Self {
            repositories: repositories.map(|r| r.iter().map(|n| n.to_ascii_lowercase()).collect()),
            permissions,
        })
    }

    /// The whole installation: what a link without a policy allows.
    pub fn is_whole_installation(&self) -> bool {
        self.repositories.is_none() && self.permissions.is_none()
    }

    /// A policy is set at most to what the installation grants.
    pub fn require_within(&self, grant: &BTreeMap<String, String>) -> DomainResult<()> {
        let beyond: Vec<String> = self
            .permissions
            .iter()
            .flatten()
            .filter(|(name, level)| grant.get(*name).is_none_or(|g| rank(g) < rank(level)))
            .map(|(name, level)| format!("{name}:{level}"))
            .collect();
        if beyond.is_empty() {
            Ok(())
        } else {
            Err(DomainError::unprocessable(
                "policy_beyond_installation",
                format!("the installation does not grant {}", beyond.join(", ")),
            ))
        }
    }

    /// The policy under a grant that may have shrunk: each permission at
    /// most at the granted level, those no longer granted gone. Never more
    /// than before, so a grant that grows back does not widen it.
    pub fn shrunk_to(&self, grant: &BTreeMap<String, String>) -> Self {
        Self {
            repositories: self.repositories.clone(),
            permissions: self.permissions.as_ref().map(|perms| {
                perms
                    .iter()
                    .filter_map(|(name, level)| {
                        let granted = grant.get(name)?;
                        let kept = if rank(granted) < rank(level) { granted } else { level };
                        Some((name.clone(), kept.clone()))
                    })
                    .collect()
            }),
        }
    }

    /// The scope a vend gets under this policy: the scope asked, if the
    /// policy covers it; an empty part of it filled in with the policy's
    /// own. Beyond the policy is `scope_not_allowed`, naming what was refused.
    pub fn narrow(&self, asked: &TokenScope) -> DomainResult<TokenScope> {
        let mut refused = Vec::new();
        let mut scope = asked.clone();
        if let Some(allowed) = &self.repositories {
            if !asked.repository_ids.is_empty() {
                refused.push("repository_ids (this link's policy names repositories: ask by name)".to_owned());
            }
            if asked.repositories.is_empty() && asked.repository_ids.is_empty() {
                scope.repositories = allowed.clone();
            }
            refused.extend(
                asked
                    .repositories
                    .iter()
                    .filter(|r| !allowed.contains(*r))
                    .map(|r| format!("repository {r:?}")),
            );
        }
        if let Some(allowed) = &self.permissions {
            if asked.permissions.is_empty() {
                scope.permissions = allowed.clone();
            }
            refused.extend(
                asked
                    .permissions
                    .iter()
                    .filter(|(name, level)| allowed.get(*name).is_none_or(|a| rank(a) < rank(level)))
                    .map(|(name, level)| format!("permission {name}:{level}")),
            );
            if scope.permissions.is_empty() {
                refused.push("every permission (the installation no longer grants any the policy allows)".into());
            }
        }
        if refused.is_empty() {
            Ok(scope)
        } else {
            Err(not_allowed(&refused))
        }
    }

    /// One action's need: `permission` at `level` at least, on `repository`
    /// if it acts on one (`None`: a repository being created, which no
    /// policy can name before it exists).
    pub fn require(&self, permission: &str, level: &str, repository: Option<&str>) -> DomainResult<()> {
        let mut refused = Vec::new();
        if let (Some(allowed), Some(repository)) = (&self.repositories, repository) {
            if !allowed.contains(&repository.to_ascii_lowercase()) {
                refused.push(format!("repository {:?}", repository.to_ascii_lowercase()));
            }
        }
        if let Some(allowed) = &self.permissions {
            if allowed.get(permission).is_none_or(|a| rank(a) < rank(level)) {
                refused.push(format!("permission {permission}:{level}"));
            }
        }
        if refused.is_empty() {
            Ok(())
        } else {
            Err(not_allowed(&refused))
        }
    }
}

fn not_allowed(refused: &[String]) -> DomainError {
    DomainError::forbidden(
        "scope_not_allowed",
        format!("beyond this link's policy: {}", refused.join(", ")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perms(p: &[(&str, &str)]) -> BTreeMap<String, String> {
        p.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    fn policy(repos: Option<&[&str]>, p: Option<&[(&str, &str)]>) -> LinkPolicy {
        LinkPolicy::new(repos.map(|r| r.iter().map(|s| s.to_string()).collect()), p.map(perms)).unwrap()
    }

    fn scope(repos: &[&str], ids: &[u64], p: &[(&str, &str)]) -> TokenScope {
        TokenScope::new(repos.iter().map(|s| s.to_string()).collect(), ids.to_vec(), perms(p)).unwrap()
    }

    #[test]
    fn a_policy_is_checked_for_shape() {
        assert!(LinkPolicy::new(Some(vec![]), None).is_err());
        assert!(LinkPolicy::new(Some(vec!["../x".into()]), None).is_err());
        assert!(LinkPolicy::new(None, Some(BTreeMap::new())).is_err());
        assert!(LinkPolicy::new(None, Some(perms(&[("contents", "owner")]))).is_err());
        assert_eq!(
            policy(Some(&["API"]), None).repositories,
            Some(BTreeSet::from(["api".to_owned()]))
        );
        assert!(LinkPolicy::default().is_whole_installation());
    }

    #[test]
    fn a_policy_is_at_most_the_grant() {
        let grant = perms(&[("contents", "write"), ("metadata", "read")]);
        assert!(policy(None, Some(&[("contents", "read")]))
            .require_within(&grant)
            .is_ok());
        assert!(policy(None, Some(&[("contents", "write")]))
            .require_within(&grant)
            .is_ok());
        let e = policy(None, Some(&[("contents", "admin"), ("issues", "read")]))
            .require_within(&grant)
            .unwrap_err();
        assert_eq!(e.code(), "policy_beyond_installation");
        assert!(e.to_string().contains("contents:admin") && e.to_string().contains("issues:read"));
    }

    #[test]
    fn a_shrinking_grant_lowers_the_policy_and_a_growing_one_does_not_raise_it() {
        let p = policy(None, Some(&[("contents", "write"), ("issues", "write")]));
        let shrunk = p.shrunk_to(&perms(&[("contents", "read")]));
        assert_eq!(shrunk.permissions, Some(perms(&[("contents", "read")])));
        let regrown = shrunk.shrunk_to(&perms(&[("contents", "write"), ("issues", "write")]));
        assert_eq!(regrown, shrunk);
        assert_eq!(LinkPolicy::default().shrunk_to(&perms(&[])), LinkPolicy::default());
    }

    #[test]
    fn an_empty_scope_becomes_the_policy() {
        let p = policy(Some(&["api"]), Some(&[("contents", "read")]));
        assert_eq!(
            p.narrow(&TokenScope::default()).unwrap(),
            scope(&["api"], &[], &[("contents", "read")])
        );
        assert_eq!(
            LinkPolicy::default().narrow(&TokenScope::default()).unwrap(),
            TokenScope::default()
        );
    }

    #[test]
    fn a_scope_beyond_the_policy_is_refused_naming_what() {
        let p = policy(Some(&["api"]), Some(&[("contents", "write")]));
        let within = scope(&["API"], &[], &[("contents", "read")]);
        assert_eq!(p.narrow(&within).unwrap(), within);
        for (asked, named) in [
            (scope(&["web"], &[], &[]), "repository \"web\""),
            (scope(&[], &[], &[("issues", "read")]), "permission issues:read"),
            (scope(&[], &[], &[("contents", "admin")]), "permission contents:admin"),
            (scope(&[], &[7], &[]), "repository_ids"),
        ] {
            let e = p.narrow(&asked).unwrap_err();
            assert_eq!(e.code(), "scope_not_allowed");
            assert!(e.to_string().contains(named), "{e} should name {named}");
        }
    }

    #[test]
    fn a_policy_that_lost_every_permission_allows_no_token() {
        let p = policy(None, Some(&[("issues", "write")])).shrunk_to(&perms(&[("contents", "read")]));
        assert_eq!(
            p.narrow(&TokenScope::default()).unwrap_err().code(),
            "scope_not_allowed"
        );
    }

    #[test]
    fn an_action_needs_its_permission_on_its_repository() {
        let p = policy(
            Some(&["api"]),
            Some(&[("contents", "write"), ("administration", "read")]),
        );
        assert!(p.require("contents", "write", Some("API")).is_ok());
        assert!(p.require("contents", "write", Some("web")).is_err());
        assert!(p.require("administration", "write", None).is_err());
        assert!(LinkPolicy::default().require("administration", "write", None).is_ok());
        let admin = policy(Some(&["api"]), Some(&[("administration", "write")]));
        assert!(
            admin.require("administration", "write", None).is_ok(),
            "a new repository"
        );
    }
}
