//! Installation token vending, as a pipeline: one
//! consistent read (link, installation, cached token) → check the link's
//! policy → reuse the cached token or mint under a lease so that all
//! containers together mint once per installation, account and scope.

use super::{audit, pause, revocation, MINT_LEASE_SECONDS};
use crate::clock::UnixTime;
use crate::crypto::random::token_urlsafe;
use crate::domain::audit::{AuditAction, AuditRecord};
use crate::domain::repo::valid_login;
use crate::domain::scope::TokenScope;
use crate::domain::tokens::{InstallationToken, TokenRequest};
use crate::domain::{policy, AccountId, InstallationId};
use crate::error::{Error, Result};
use crate::github::GitHubError;
use crate::store::{Lease, LinkedInstallation, TokenFence, VendSnapshot};
use crate::App;

/// How many times a vend starts over when the token it minted could not be
/// recorded (the link or the installation changed meanwhile).
const VEND_ROUNDS: u32 = 3;

/// A token for `account` on installation `id`, as `caller` asked, with its
/// audit record: a minted token's goes in the transaction that records the
/// token; a cached one's is written before it is handed out; a refusal's
/// after.
pub async fn vend(
    app: &App,
    caller: &str,
    account: &AccountId,
    id: InstallationId,
    req: &TokenRequest,
) -> Result<InstallationToken> {
    let record = vend_record(app, caller, account, req).installation(id);
    let vended = vend_recorded(app, &record, account, id, req, None).await;
    settle(app, record, vended).await
}

/// The record of a vend by `caller` for `account`, before its outcome.
fn vend_record(app: &App, caller: &str, account: &AccountId, req: &TokenRequest) -> AuditRecord {
    audit::record(app, caller, AuditAction::InstallationToken)
        .account(account)
        .asked((&req.scope).into())
}

/// Writes what the vend's record still lacks: a cached token's grant (the
/// token is handed out only once it is written), or the refusal.
async fn settle(
    app: &App,
    record: AuditRecord,
    vended: Result<(InstallationToken, bool)>,
) -> Result<InstallationToken> {
    match vended {
        Ok((token, true)) => Ok(token),
        Ok((token, false)) => {
            audit::write_required(app, audit::granted_token(record, &token)).await?;
            Ok(token)
        }
        Err(e) => audit::refused(app, record, e).await,
    }
}

/// A token for an action on GitHub (a repository, a commit) whose own
/// record names the token: only a mint, being a write, is recorded here.
pub(crate) async fn vend_for_action(
    app: &App,
    caller: &str,
    account: &AccountId,
    id: InstallationId,
    req: &TokenRequest,
) -> Result<InstallationToken> {
    let record = vend_record(app, caller, account, req).installation(id);
    vend_recorded(app, &record, account, id, req, None)
        .await
        .map(|(token, _)| token)
}

/// The vend; `true` with the token when its audit record was written with
/// the mint.
async fn vend_recorded(
    app: &App,
    record: &AuditRecord,
    account: &AccountId,
    id: InstallationId,
    req: &TokenRequest,
    mut first: Option<VendSnapshot>,
) -> Result<(InstallationToken, bool)> {
    let key = req.cache_key(account);
    for _ in 0..VEND_ROUNDS {
        let snapshot = match first.take() {
            Some(read) => read,
            None => app.store.vend_snapshot(account, id, &key).await?,
        };
        let installation = policy::require_vendable(snapshot.linked(), snapshot.installation.as_ref())?;
        let link = snapshot.link.as_ref().expect("checked by require_vendable");
        // A grant that shrank since the policy was set caps it at once, even
        // before the webhook's write of the smaller policy lands.
        let scope = link.policy.shrunk_to(&installation.permissions).narrow(&req.scope)?;
        let unreadable = snapshot.cached.as_ref().is_some_and(|c| c.unreadable);
        if let Some(token) = snapshot
            .cached
            .as_ref()
            .and_then(|c| c.token.clone())
            .filter(|t| t.usable_for(app.now(), req.min_ttl))
        {
            return Ok((token, false));
        }
        let wanted = Wanted {
            scope: &scope,
            key: &key,
            min_ttl: req.min_ttl,
            fence: &snapshot.fence(account),
            audit: record,
        };
        if let Some(minted) = mint_once(app, id, wanted, unreadable).await? {
            return Ok(minted);
        }
    }
    Err(Error::conflict(
        "mint_in_progress",
        "the link or installation kept changing during the vend; try again",
    ))
}

/// Picks the linked installation whose GitHub account is `owner`: one read
/// of the account's links, one of their installations and cached tokens,
/// and the vend goes on from what they showed.
pub async fn vend_for_owner(
    app: &App,
    caller: &str,
    account: &AccountId,
    owner: &str,
    req: &TokenRequest,
) -> Result<InstallationToken> {
    let record = vend_record(app, caller, account, req);
    let found = match snapshot_for_owner(app, account, owner, req).await {
        Ok(found) => found,
        Err(e) => return audit::refused(app, record, e).await,
    };
    let id = found.installation.as_ref().expect("found by its installation").id;
    let record = record.installation(id);
    let vended = vend_recorded(app, &record, account, id, req, Some(found)).await;
    settle(app, record, vended).await
}

async fn snapshot_for_owner(app: &App, account: &AccountId, owner: &str, req: &TokenRequest) -> Result<VendSnapshot> {
    if !valid_login(owner) {
        return Err(Error::bad_request("invalid_owner", "owner must be a GitHub login"));
    }
    app.store
        .account_snapshots(account, &req.cache_key(account))
        .await?
        .into_iter()
        .find(|s| s.installation.as_ref().is_some_and(|i| i.owned_by(owner)))
        .ok_or_else(|| {
            Error::forbidden(
                "installation_not_linked",
                format!("no installation on {owner} is linked to this account"),
            )
        })
}

/// The installation on GitHub account `owner` that is linked to `account`,
/// with the link's policy.
pub(crate) async fn installation_for_owner(app: &App, account: &AccountId, owner: &str) -> Result<LinkedInstallation> {
    if !valid_login(owner) {
        return Err(Error::bad_request("invalid_owner", "owner must be a GitHub login"));
    }
    app.store
        .linked_installations(account)
        .await?
        .into_iter()
        .find(|l| l.installation.owned_by(owner))
        .ok_or_else(|| {
            Error::forbidden(
                "installation_not_linked",
                format!("no installation on {owner} is linked to this account"),
            )
        })
}

/// The token a vend needs: its scope and cache key, the life it must have
/// left, and what it must be bound to (the installation's token epoch and
/// the link's version, as the vend read them).
#[derive(Clone, Copy)]
struct Wanted<'a> {
    scope: &'a TokenScope,
    key: &'a str,
    min_ttl: i64,
    fence: &'a TokenFence,
    /// The vend's audit record, to be completed with the minted token.
    audit: &'a AuditRecord,
}

/// Mints under the scope's lease, or waits for the holder's token. A stored
/// token that does not open (`unreadable`) is a cache miss: the lease is
/// taken over it whatever its expiry, and the new token overwrites it.
/// `None`: the minted token could not be recorded because the link or the
/// installation changed; it was revoked, and the vend starts over. `true`
/// with a token: it was minted here, its audit record written with it.
async fn mint_once(
    app: &App,
    id: InstallationId,
    wanted: Wanted<'_>,
    mut unreadable: bool,
) -> Result<Option<(InstallationToken, bool)>> {
    let Wanted {
        scope,
        key,
        min_ttl,
        fence,
        audit: record,
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
        if app.store.lease_mint(id, key, &lease, fresh_until, fence).await? {
            let creds = app.secrets.current().await;
            let token = match app.github.create_installation_token(&creds, id, scope).await {
                Ok(token) => token,
                Err(e) => {
                    app.store.release_mint_lease(id, key, &lease).await?;
                    return Err(mint_error(e));
                }
            };
            // Only a recorded token is handed out: an unlink, a policy
            // change or an incident revocation must be able to find it.
            let granted = audit::granted_token(record.clone(), &token);
            return match app.store.store_minted(id, key, &lease, &token, fence, &granted).await {
                Ok(true) => {
                    audit::log(&granted);
                    Ok(Some((token, true)))
                }
                Ok(false) => {
                    tracing::info!(installation = %id, "minted token not recorded: the link or the installation changed meanwhile");
                    revocation::discard(app, id, &token.token).await;
                    Ok(None)
                }
                Err(e) => {
                    tracing::warn!(installation = %id, error = %e, "minted token not recorded: the store failed");
                    revocation::discard(app, id, &token.token).await;
                    // Freeing the lease lets the next vend mint at once
                    // instead of waiting for it to run out.
                    if let Err(e) = app.store.release_mint_lease(id, key, &lease).await {
                        tracing::warn!(installation = %id, error = %e, "mint lease left to expire");
                    }
                    Err(e.into())
                }
            };
        }
        // Someone else holds the lease or just stored a fresh token.
        let cached = app.store.cached_token(id, key, fence).await?;
        unreadable = cached.as_ref().is_some_and(|c| c.unreadable);
        if let Some(token) = cached.and_then(|c| c.token) {
            if token.usable_for(app.now(), min_ttl) {
                return Ok(Some((token, false)));
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
