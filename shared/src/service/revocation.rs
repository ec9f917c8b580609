//! Revoking installation tokens at GitHub when their link ends (unlink, a
//! policy change), when the installation is deleted or suspended, and on an
//! operator's demand. The store first takes each token out of the cache
//! into a pending revocation (never vendable again, never forgotten); then
//! each is revoked at GitHub, tried a few times, and forgotten once GitHub
//! no longer accepts it. One that still fails stays pending, is reported,
//! and is tried again by the next revocation on that installation.

use futures::{stream, StreamExt};
use secrecy::SecretString;

use super::{audit, pause};
use crate::crypto::digest::token_sha256;
use crate::domain::audit::AuditAction;
use crate::domain::{AccountId, InstallationId};
use crate::error::Result;
use crate::store::PendingRevocation;
use crate::App;

/// How many times one token's revocation is tried within a request.
const ATTEMPTS: u32 = 3;
/// Revocations in flight at once (each is one small GitHub request).
const PARALLEL: usize = 8;

/// What a revocation did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Revoked {
    /// Tokens GitHub no longer accepts (revoked now, or expired).
    pub revoked: usize,
    /// Tokens GitHub could not be made to revoke yet: kept, retried later.
    pub pending: usize,
}

impl std::ops::AddAssign for Revoked {
    fn add_assign(&mut self, other: Self) {
        self.revoked += other.revoked;
        self.pending += other.pending;
    }
}

/// Which cached tokens of an installation a revocation takes.
#[derive(Debug, Clone, Copy)]
pub enum Take<'a> {
    /// One account's (an unlink, a policy change, an incident).
    Account(&'a AccountId),
    /// Every account's (a suspension).
    All,
    /// None: only the revocations already pending are tried (a deletion,
    /// whose tombstone took its tokens; a replayed delivery must not touch
    /// a live installation's).
    PendingOnly,
}

/// Takes the installation's cached tokens out of the cache as `take` says
/// and revokes them at GitHub, together with every revocation still
/// pending for the installation.
pub async fn revoke(app: &App, caller: &str, installation: InstallationId, take: Take<'_>) -> Result<Revoked> {
    let pending = match take {
        Take::Account(account) => app.store.take_tokens(installation, Some(account)).await?,
        Take::All => app.store.take_tokens(installation, None).await?,
        Take::PendingOnly => app.store.pending_revocations(installation).await?,
    };
    let done: Vec<bool> = stream::iter(pending)
        .map(|p| finish(app, caller, p))
        .buffer_unordered(PARALLEL)
        .collect()
        .await;
    let revoked = done.iter().filter(|d| **d).count();
    let outcome = Revoked {
        revoked,
        pending: done.len() - revoked,
    };
    if outcome != Revoked::default() {
        tracing::info!(installation = %installation, revoked = outcome.revoked, pending = outcome.pending, "installation tokens revoked");
    }
    Ok(outcome)
}

/// Every live token of `account`, on every installation linked to it.
pub async fn revoke_account(app: &App, caller: &str, account: &AccountId) -> Result<Revoked> {
    let mut total = Revoked::default();
    for linked in app.store.linked_installations(account).await? {
        total += revoke(app, caller, linked.installation.id, Take::Account(account)).await?;
    }
    Ok(total)
}

/// One pending revocation to its end, if GitHub lets it: `true` once the
/// token is known dead and forgotten, with its audit record (for a token
/// of an account: one whose key names none is only logged).
async fn finish(app: &App, caller: &str, p: PendingRevocation) -> bool {
    let dead = p.expires_at <= app.now() || at_github(app, &p.token).await;
    let record = p.account.as_ref().map(|account| {
        audit::record(app, caller, AuditAction::Revoke)
            .account(account)
            .installation(p.installation)
            .token(p.token_sha256.clone(), Some(p.expires_at))
    });
    if !dead {
        tracing::error!(
            installation = %p.installation,
            token_sha256 = %p.token_sha256,
            "an installation token could not be revoked at GitHub; it stays pending and is tried again"
        );
        if let Some(record) = record {
            audit::write(app, record.refused("github_unavailable")).await;
        }
        return false;
    }
    match app
        .store
        .revocation_done(p.installation, &p.token_sha256, record.as_ref())
        .await
    {
        // The log line only for a record that was written.
        Ok(()) => record.iter().for_each(audit::log),
        // Revoked all the same: the next revocation finds GitHub refusing
        // it, and writes the record then.
        Err(e) => {
            tracing::warn!(installation = %p.installation, error = %e, "a revoked token is still listed as pending")
        }
    }
    true
}

/// Revokes one token at GitHub, a few times if need be.
async fn at_github(app: &App, token: &SecretString) -> bool {
    for attempt in 0..ATTEMPTS {
        match app.github.revoke_installation_token(token).await {
            Ok(()) => return true,
            Err(e) => {
                tracing::warn!(attempt, error = %e, "revoking an installation token failed");
                if attempt + 1 < ATTEMPTS {
                    pause(attempt + 2).await;
                }
            }
        }
    }
    false
}

/// A token minted but not handed out (the store would not record it): it
/// must not live on at GitHub unknown to anyone.
pub(super) async fn discard(app: &App, installation: InstallationId, token: &SecretString) {
    if !at_github(app, token).await {
        tracing::error!(
            installation = %installation,
            token_sha256 = %token_sha256(token),
            "a minted token that could not be recorded could not be revoked either; it expires within the hour"
        );
    }
}
