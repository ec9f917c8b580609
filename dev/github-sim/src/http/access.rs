//! Who is calling a repository endpoint (a user token, an installation token
//! or nobody) and what they may do with a repository, by GitHub's rules:
//! - an installation token reaches its installation's repositories, narrowed
//!   by the token's own repository scope, with the token's permissions, and
//!   can read (never write) any public repository;
//! - a user token can push where the user owns the repository, belongs to
//!   the owning organisation or is a collaborator with `push` or more, read
//!   where they are any collaborator, and read public repositories;
//! - nobody can read public repositories.
//!
//! Private repositories the caller cannot see are 404, as GitHub hides them.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::app::SUSPENDED;
use super::{bearer, gh_error};
use crate::git::Signature;
use crate::repos::account_signature;
use crate::state::State as SimState;
use crate::world::{collaborator_rank, permission_rank, Repo};
use crate::SimConfig;

pub(crate) const NOT_ACCESSIBLE: &str = "Resource not accessible by integration";

/// An installation token and what it was minted with.
pub(crate) struct InstallationCaller {
    pub token: String,
    pub installation_id: u64,
    pub account_id: u64,
    pub permissions: BTreeMap<String, String>,
    /// The installation's selection (`None` = all its account's repositories).
    pub selected: Option<Vec<u64>>,
    /// The token's own scope (`None` = everything the installation reaches).
    pub repo_ids: Option<Vec<u64>>,
}

impl InstallationCaller {
    /// Whether the token holds `permission` at `level` or above.
    pub fn has(&self, permission: &str, level: &str) -> bool {
        let have = self.permissions.get(permission).and_then(|l| permission_rank(l));
        matches!((have, permission_rank(level)), (Some(have), Some(want)) if have >= want)
    }

    fn in_scope(&self, repo: &Repo) -> bool {
        repo.owner_id == self.account_id
            && self.selected.as_ref().is_none_or(|s| s.contains(&repo.id))
            && self.repo_ids.as_ref().is_none_or(|s| s.contains(&repo.id))
    }
}

pub(crate) enum Caller {
    Anonymous,
    User(u64),
    Installation(InstallationCaller),
}

/// The caller behind the request's `Authorization` header: no header is
/// anonymous; an unknown or expired token is 401, a suspended
/// installation's token 403.
pub(crate) fn caller(st: &SimState, headers: &HeaderMap) -> Result<Caller, Response> {
    let Some(token) = bearer(headers) else {
        return Ok(Caller::Anonymous);
    };
    let now = st.now();
    if let Some(user_id) = st.creds.user_for_access_token(token, now) {
        if st.world.accounts.contains_key(&user_id) {
            return Ok(Caller::User(user_id));
        }
    }
    let found = st
        .creds
        .installation_token(token, now)
        .and_then(|t| st.world.installations.get(&t.installation_id).map(|i| (t, i)));
    let Some((t, inst)) = found else {
        return Err(gh_error(StatusCode::UNAUTHORIZED, "Bad credentials"));
    };
    if inst.suspended_at.is_some() {
        return Err(gh_error(StatusCode::FORBIDDEN, SUSPENDED));
    }
    Ok(Caller::Installation(InstallationCaller {
        token: token.to_owned(),
        installation_id: inst.id,
        account_id: inst.account_id,
        permissions: t.permissions.clone(),
        selected: inst.selected.clone(),
        repo_ids: t.repo_ids.clone(),
    }))
}

pub(crate) fn requires_authentication() -> Response {
    gh_error(StatusCode::UNAUTHORIZED, "Requires authentication")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
}

/// The id of repository `owner/name` if the caller may `access` it, where
/// an installation token needs `permission` (`None`: only metadata, which
/// every installation has); otherwise GitHub's refusal.
pub(crate) fn repo_access(
    st: &SimState,
    caller: &Caller,
    owner: &str,
    name: &str,
    permission: Option<&str>,
    access: Access,
) -> Result<u64, Response> {
    let not_found = || gh_error(StatusCode::NOT_FOUND, "Not Found");
    let repo = st.world.repo_at(owner, name).ok_or_else(not_found)?;
    let public_read = !repo.private && access == Access::Read;
    match caller {
        Caller::Anonymous if public_read => Ok(repo.id),
        Caller::Anonymous if repo.private => Err(not_found()),
        Caller::Anonymous => Err(requires_authentication()),
        Caller::User(user_id) => {
            let owner = st.world.accounts.get(&repo.owner_id);
            let collaborator = repo.collaborators.get(user_id).and_then(|p| collaborator_rank(p));
            let can_push = repo.owner_id == *user_id
                || owner.is_some_and(|o| o.members.contains(user_id))
                || collaborator.is_some_and(|rank| rank >= collaborator_rank("push").unwrap_or(u8::MAX));
            let can_read = can_push || public_read || (access == Access::Read && collaborator.is_some());
            // GitHub answers 404 rather than 403 when a user lacks push access.
            can_read.then_some(repo.id).ok_or_else(not_found)
        }
        Caller::Installation(ic) => {
            if public_read {
                return Ok(repo.id);
            }
            if !ic.in_scope(repo) {
                return Err(if repo.private {
                    not_found()
                } else {
                    gh_error(StatusCode::FORBIDDEN, NOT_ACCESSIBLE)
                });
            }
            let level = match access {
                Access::Read => "read",
                Access::Write => "write",
            };
            match permission {
                Some(p) if !ic.has(p, level) => Err(gh_error(StatusCode::FORBIDDEN, NOT_ACCESSIBLE)),
                _ => Ok(repo.id),
            }
        }
    }
}

/// Who GitHub records as author of what the caller creates: the user (with
/// their noreply address) or the app's bot account.
pub(crate) fn caller_signature(st: &SimState, caller: &Caller, config: &SimConfig, now: i64) -> Option<Signature> {
    match caller {
        Caller::Anonymous => None,
        Caller::User(id) => st.world.accounts.get(id).map(|a| account_signature(a, now)),
        Caller::Installation(_) => Some(Signature {
            name: format!("{}[bot]", config.app_slug),
            email: format!("{}+{}[bot]@users.noreply.github.com", config.app_id, config.app_slug),
            date: now,
        }),
    }
}
