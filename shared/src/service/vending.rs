//! Installation token vending, as a pipeline: one
//! consistent read (link, installation, cached token) → check → reuse the
//! cached token or mint under a lease so that all containers together mint
//! once per installation, account and scope.

use super::{pause, MINT_LEASE_SECONDS};
use crate::clock::UnixTime;
use crate::crypto::random::token_urlsafe;
use crate::domain::repo::valid_login;
use crate::domain::scope::TokenScope;
use crate::domain::tokens::{InstallationToken, TokenRequest};
use crate::domain::{policy, AccountId, Installation, InstallationId};
use crate::error::{Error, Result};
use crate::github::GitHubError;
use crate::store::Lease;
use crate::App;

pub async fn vend(app: &App, account: &AccountId, id: InstallationId, req: &TokenRequest) -> Result<InstallationToken> {
    let TokenRequest { scope, min_ttl } = req;
    let min_ttl = *min_ttl;
    let key = req.cache_key(account);
    let snapshot = app.store.vend_snapshot(account, id, &key).await?;
    policy::require_vendable(snapshot.linked, snapshot.installation.as_ref())?;
    let unreadable = snapshot.cached.as_ref().is_some_and(|c| c.unreadable);
    if let Some(token) = snapshot
        .cached
        .and_then(|c| c.token)
        .filter(|t| t.usable_for(app.now(), min_ttl))
    {
        return Ok(token);
    }
    let wanted = Wanted {
        scope,
        key: &key,
        min_ttl,
        epoch: snapshot.token_epoch,
    };
    mint_once(app, id, wanted, unreadable).await
}

/// Picks the linked installation whose GitHub account is `owner`.
pub async fn vend_for_owner(
    app: &App,
    account: &AccountId,
    owner: &str,
    req: &TokenRequest,
) -> Result<InstallationToken> {
    let installation = installation_for_owner(app, account, owner).await?;
    vend(app, account, installation.id, req).await
}

/// The installation on GitHub account `owner` that is linked to `account`.
pub(crate) async fn installation_for_owner(app: &App, account: &AccountId, owner: &str) -> Result<Installation> {
    if !valid_login(owner) {
        return Err(Error::bad_request("invalid_owner", "owner must be a GitHub login"));
    }
    app.store
        .linked_installations(account)
        .await?
        .into_iter()
        .find(|i| i.owned_by(owner))
        .ok_or_else(|| {
            Error::forbidden(
                "installation_not_linked",
                format!("no installation on {owner} is linked to this account"),
            )
        })
}

/// The token a vend needs: its scope and cache key, the life it must have
/// left, and the installation's token epoch it was read in.
#[derive(Clone, Copy)]
struct Wanted<'a> {
    scope: &'a TokenScope,
    key: &'a str,
    min_ttl: i64,
    epoch: u64,
}

/// Mints under the scope's lease, or waits for the holder's token. A stored
/// token that does not open (`unreadable`) is a cache miss: the lease is
/// taken over it whatever its expiry, and the new token overwrites it.
async fn mint_once(
    app: &App,
    id: InstallationId,
    wanted: Wanted<'_>,
    mut unreadable: bool,
) -> Result<InstallationToken> {
    let Wanted {
        scope,
        key,
        min_ttl,
        epoch,
    } = wanted;
    let deadline = app.now() + MINT_LEASE_SECONDS + 5;
    for round in 0.. {
        let now = app.now();
        let lease = Lease {
            owner: token_urlsafe(),
            now,
            until: now + MINT_LEASE_SECONDS,
        };
        let fresh_until = if unreadable { UnixTime::MAX } else { now + min_ttl };
        if app.store.lease_mint(id, key, &lease, fresh_until, epoch).await? {
            let creds = app.secrets.current().await;
            return match app.github.create_installation_token(&creds, id, scope).await {
                Ok(token) => {
                    match app.store.store_minted(id, key, &lease, &token, epoch).await {
                        Ok(true) => {}
                        Ok(false) => {
                            tracing::info!(installation = %id, "minted token not cached: the installation changed or was deleted meanwhile")
                        }
                        // The token is good at GitHub: the caller gets it.
                        // Freeing the lease lets the next vend mint at once
                        // instead of waiting for it to run out.
                        Err(e) => {
                            tracing::warn!(installation = %id, error = %e, "minted token not cached: the store failed");
                            if let Err(e) = app.store.release_mint_lease(id, key, &lease).await {
                                tracing::warn!(installation = %id, error = %e, "mint lease left to expire");
                            }
                        }
                    }
                    Ok(token)
                }
                Err(e) => {
                    app.store.release_mint_lease(id, key, &lease).await?;
                    Err(mint_error(e))
                }
            };
        }
        // Someone else holds the lease or just stored a fresh token.
        let cached = app.store.cached_token(id, key, epoch).await?;
        unreadable = cached.as_ref().is_some_and(|c| c.unreadable);
        if let Some(token) = cached.and_then(|c| c.token) {
            if token.usable_for(app.now(), min_ttl) {
                return Ok(token);
            }
        }
        if now > deadline {
            break;
        }
        pause(round).await;
    }
    Err(Error::conflict(
        "mint_in_progress",
        "a token for this installation is being minted; try again",
    ))
}

fn mint_error(e: GitHubError) -> Error {
    match e {
        GitHubError::Rejected { message } => Error::Unprocessable {
            code: "scope_not_granted",
            message: format!("GitHub refused the scope: {message}"),
        },
        GitHubError::NotFound { .. } => {
            Error::not_found("installation_not_found", "GitHub no longer knows that installation")
        }
        GitHubError::Suspended { .. } => {
            Error::forbidden("installation_suspended", "that installation is suspended on GitHub")
        }
        e => Error::GitHub(e),
    }
}
