//! A platform user's GitHub connection: its status, its removal, and the
//! refresh protocol that keeps single-use refresh tokens safe.
//!
//! Refresh protocol: read the connection (version v). If the access token
//! needs refreshing, take the refresh lease at v (a conditional write: one
//! winner across all containers), call GitHub, store the new pair at v
//! (bumping to v+1). Losers poll the item until the version moves. GitHub
//! refusing the refresh token itself (`bad_refresh_token`) drops the tokens:
//! the user must reconnect. Any other refusal keeps them.
//!
//! The lease outlasts everything its holder may still do once it has it, so
//! a container that takes a lease over can never spend a refresh token
//! whose successor the holder may still store (see [`refresh_lease`]).

use std::time::Duration;

use secrecy::SecretString;

use super::pause;
use crate::crypto::random::token_urlsafe;
use crate::domain::tokens::UserTokens;
use crate::domain::UserId;
use crate::error::{Error, Result};
use crate::github::{GitHubError, OAuthRefusal};
use crate::store::{Connection, Lease};
use crate::App;

/// The user's connection as stored, if any (its tokens are `None` once
/// the user must connect again).
pub async fn status(app: &App, user: &UserId) -> Result<Option<Connection>> {
    Ok(app.store.get_connection(user).await?)
}

/// Revokes the grant on GitHub (best effort: a token that no longer works
/// has nothing left to revoke) and forgets the tokens.
pub async fn disconnect(app: &App, user: &UserId) -> Result<()> {
    match fresh_tokens(app, user).await {
        Ok((_, tokens)) => {
            let creds = app.secrets.current().await;
            app.github.revoke_grant(&creds, &tokens.access_token).await?;
        }
        Err(Error::ReauthorizationRequired) | Err(Error::NotFound { .. }) => {}
        Err(e) => return Err(e),
    }
    app.store.delete_connection(user).await?;
    Ok(())
}

/// Kept on top of the holder's worst case, for clocks that differ between
/// containers and the moments between the steps.
const LEASE_MARGIN: Duration = Duration::from_secs(3);

/// How long a refresh lease is held: everything its holder may still do
/// once it has the lease (re-read the app secret, exchange the refresh
/// token within `GITHUB_TIMEOUT_SECONDS`, then persist the new pair), plus a
/// margin. The holder starts no write that could end after it
/// ([`super::persist`]), so a lease that ran out means nobody is left to
/// store a newer pair.
pub(crate) fn refresh_lease(app: &App) -> i64 {
    let worst = crate::secrets::REREAD_TIMEOUT + app.config.github_timeout + super::persist_worst_case() + LEASE_MARGIN;
    worst.as_secs_f64().ceil() as i64
}

/// The user's token for a platform backend (`caller`), with its audit
/// record in the user's own trail: a user token belongs to a user, not to
/// an account.
pub async fn user_token(app: &App, caller: &str, user: &UserId) -> Result<(Connection, UserTokens)> {
    let record = super::audit::record(app, caller, crate::domain::audit::AuditAction::UserToken).user(user);
    match fresh_tokens(app, user).await {
        Ok((connection, tokens)) => {
            let sha = crate::crypto::digest::token_sha256(&tokens.access_token);
            super::audit::write_required(app, record.token(sha, tokens.access_expires_at)).await?;
            Ok((connection, tokens))
        }
        Err(e) => super::audit::refused(app, record, e).await,
    }
}

/// The user's tokens with at least the refresh margin of life left.
pub async fn fresh_tokens(app: &App, user: &UserId) -> Result<(Connection, UserTokens)> {
    let lease_seconds = refresh_lease(app);
    let deadline = app.now() + lease_seconds + 5;
    for round in 0.. {
        let connection = app.store.get_connection(user).await?.ok_or_else(not_connected)?;
        let now = app.now();
        let tokens = connection.tokens.clone().ok_or(Error::ReauthorizationRequired)?;
        if !tokens.needs_refresh(now) {
            return Ok((connection, tokens));
        }
        if !tokens.can_refresh(now) {
            if tokens.access_expires_at.is_some_and(|exp| exp > now) {
                return Ok((connection, tokens));
            }
            app.store.require_reauthorization(user, connection.version).await?;
            return Err(Error::ReauthorizationRequired);
        }
        let lease = Lease {
            owner: token_urlsafe(),
            now,
            until: now + lease_seconds,
        };
        if app.store.lease_refresh(user, connection.version, &lease).await? {
            let refreshed = refresh(app, &connection, &tokens, &lease).await?;
            return Ok((connection, refreshed));
        }
        if now > deadline {
            break;
        }
        pause(round).await;
    }
    Err(Error::conflict(
        "refresh_in_progress",
        "the GitHub token is being refreshed; try again",
    ))
}

async fn refresh(app: &App, connection: &Connection, tokens: &UserTokens, lease: &Lease) -> Result<UserTokens> {
    let creds = app.secrets.current().await;
    let refresh_token: &SecretString = tokens.refresh_token.as_ref().expect("checked by can_refresh");
    match app.github.refresh_user_token(&creds, refresh_token).await {
        Ok(new) => {
            // GitHub has now killed the old refresh token: the new one must
            // be stored, so the write is retried before giving up, but never
            // started once the lease could have passed to someone else.
            let operation = crate::store::OPERATION_TIMEOUT.as_secs_f64().ceil() as i64;
            let within_lease = || app.now() + operation <= lease.until;
            let stored = super::persist("refreshed user token", within_lease, || {
                app.store.complete_refresh(&connection.user, connection.version, &new)
            })
            .await;
            match stored {
                Ok(true) => Ok(new),
                Ok(false) => {
                    tracing::warn!("connection changed during a refresh (reconnected or removed); not storing");
                    Ok(new)
                }
                Err(e) => {
                    tracing::error!(error = %e, "refreshed token could not be stored; the user will have to reconnect");
                    Err(e.into())
                }
            }
        }
        Err(GitHubError::OAuth(OAuthRefusal::BadRefreshToken)) => {
            tracing::info!("GitHub refused the refresh token; reauthorization required");
            app.store
                .require_reauthorization(&connection.user, connection.version)
                .await?;
            Err(Error::ReauthorizationRequired)
        }
        // Anything else says nothing about the refresh token, which GitHub
        // did not take: it is kept for the next request.
        Err(GitHubError::OAuth(refusal)) => {
            let error = refusal.code();
            tracing::warn!(%error, "GitHub refused the refresh for another reason; the tokens are kept");
            app.store.release_refresh_lease(&connection.user, lease).await?;
            Err(match refusal {
                OAuthRefusal::IncorrectClientCredentials => client_credentials_rejected(),
                _ => Error::unavailable(
                    "github_oauth_error",
                    format!("GitHub refused the token refresh ({error}); the authorization is kept: try again later"),
                ),
            })
        }
        Err(e) => {
            // Whether GitHub consumed the refresh token is unknown; let the
            // next request try (it learns the answer from GitHub).
            app.store.release_refresh_lease(&connection.user, lease).await?;
            Err(e.into())
        }
    }
}

/// GitHub refused the app's own client id or secret.
pub(crate) fn client_credentials_rejected() -> Error {
    Error::unavailable(
        "app_credentials_rejected",
        "GitHub refused the app's client credentials (client_id, client_secret): check the app secret; \
         stored authorizations are kept",
    )
}

fn not_connected() -> Error {
    Error::not_found("github_not_connected", "this user has not connected GitHub")
}

/// A user-token call that GitHub refused the token of: the grant is gone.
pub(crate) fn user_token_error(e: GitHubError) -> Error {
    match e {
        GitHubError::Unauthorized { .. } => Error::ReauthorizationRequired,
        e => Error::GitHub(e),
    }
}
