//! Applying verified webhook deliveries to the state. GitHub does not order
//! deliveries, retries late and redelivers days later, and the payload
//! alone cannot order two events (a `suspend` and the `unsuspend` after it
//! may carry the same `updated_at`). So an installation event is only a
//! cue: the installation is read from GitHub as it is now, and written with
//! the time the read began; a write lands only over an older read. Whatever
//! order deliveries come in, the record ends at GitHub's latest state.
//!
//! Each event is first read into an [`Action`] (or ignored, storing
//! nothing), then applied together with its delivery id in one atomic
//! write, so a duplicate delivery is answered without doing anything again.

use serde::Deserialize;

use crate::domain::{GitHubUserId, InstallationId};
use crate::error::{Error, Result};
use crate::github::types::Account;
use crate::store::{Applied, Change};
use crate::App;

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Applied(&'static str),
    Ignored,
    Duplicate,
}

/// What the broker reads of a payload: which installation or which user an
/// event is about, and the account GitHub's installation events carry (a
/// payload without it is not one of GitHub's, and is refused).
#[derive(Deserialize)]
struct Payload {
    action: Option<String>,
    installation: Option<InstallationRef>,
    account: Option<Account>,
    sender: Option<Account>,
}

#[derive(Deserialize)]
struct InstallationRef {
    id: u64,
    account: Option<Account>,
}

/// What an event asks of the state.
enum Action {
    /// The installation changed on GitHub: read it and write what GitHub
    /// says. `invalidate_tokens` when what its tokens reach changed.
    Sync {
        id: InstallationId,
        invalidate_tokens: bool,
    },
    Delete(InstallationId),
    /// Becomes a [`Change::Disconnect`] of the users found connected.
    RevokeUser(GitHubUserId),
}

fn invalid(message: &str) -> Error {
    Error::bad_request("invalid_payload", message)
}

fn plan(event: &str, payload: Payload) -> Result<Option<Action>> {
    let action = payload.action.as_deref().unwrap_or("");
    let installation = || -> Result<InstallationId> {
        match payload.installation.as_ref().map(|i| i.id) {
            None => Err(invalid("installation event without an installation")),
            // GitHub's ids are positive: an id 0 would become a record (or a
            // tombstone) that no installation can ever match.
            Some(0) => Err(invalid("installation id 0")),
            Some(id) => Ok(InstallationId(id)),
        }
    };
    let has_account = payload.installation.as_ref().is_some_and(|i| i.account.is_some());
    let sync = |invalidate_tokens| -> Result<Action> {
        let id = installation()?;
        if !has_account {
            return Err(invalid("installation without account"));
        }
        Ok(Action::Sync { id, invalidate_tokens })
    };
    Ok(Some(match (event, action) {
        ("installation", "deleted") => Action::Delete(installation()?),
        ("installation", "created" | "suspend" | "unsuspend") => sync(false)?,
        ("installation", "new_permissions_accepted") => sync(true)?,
        ("installation_repositories", "added" | "removed") => sync(true)?,
        // Its installation carries only the id; the account is beside it.
        ("installation_target", "renamed") => match payload.account {
            Some(_) => Action::Sync {
                id: installation()?,
                invalidate_tokens: false,
            },
            None => return Err(invalid("installation_target without account")),
        },
        ("github_app_authorization", "revoked") => Action::RevokeUser(GitHubUserId(
            payload.sender.ok_or_else(|| invalid("revocation without sender"))?.id,
        )),
        _ => return Ok(None),
    }))
}

/// `body` has been verified against the signature already.
pub async fn apply(app: &App, delivery: &str, event: &str, body: &[u8]) -> Result<Outcome> {
    let payload: Payload =
        serde_json::from_slice(body).map_err(|_| invalid("the webhook body is not a GitHub event payload"))?;
    let Some(action) = plan(event, payload)? else {
        return Ok(Outcome::Ignored);
    };
    let change = match action {
        Action::Sync { id, invalidate_tokens } => {
            // The read's start orders it: whatever it sees happened by then.
            let read_at = app.clock.now_millis();
            let creds = app.secrets.current().await;
            match app.github.installation(&creds, id).await? {
                Some(installation) => Change::Upsert {
                    installation,
                    invalidate_tokens,
                    read_at,
                },
                None => Change::Delete { id },
            }
        }
        Action::Delete(id) => Change::Delete { id },
        Action::RevokeUser(github_user) => Change::Disconnect {
            users: app.store.users_of_github_user(github_user).await?,
        },
    };
    // One atomic write applies the change and records the delivery: a
    // redelivery, or a copy racing this one, finds it done; a failure
    // leaves nothing done for GitHub's redelivery to redo.
    Ok(match app.store.apply_delivery(delivery, app.now(), &change).await? {
        Applied::Done => Outcome::Applied(match change {
            Change::Upsert { .. } => "installation updated",
            Change::Delete { .. } => "installation deleted",
            Change::Disconnect { .. } => "user authorization revoked",
        }),
        Applied::Stale => Outcome::Applied("installation already up to date"),
        Applied::Duplicate => Outcome::Duplicate,
        Applied::Gone => {
            tracing::info!(delivery, "event for a deleted installation ignored");
            Outcome::Applied("ignored: installation was deleted")
        }
    })
}
