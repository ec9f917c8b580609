//! Applying verified webhook deliveries to the state: each event is first
//! read into an [`Action`] (or ignored, storing nothing), then applied
//! together with its delivery id in one atomic write, so a duplicate
//! delivery is answered without doing anything again. Every change is also
//! idempotent on its own.

use serde::Deserialize;

use crate::domain::{GitHubUserId, Installation, InstallationId};
use crate::error::{Error, Result};
use crate::github::types::{Account, InstallationObject};
use crate::store::{Applied, Change};
use crate::App;

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Applied(&'static str),
    Ignored,
    Duplicate,
}

#[derive(Deserialize)]
struct Payload {
    action: Option<String>,
    installation: Option<InstallationObject>,
    #[serde(default)]
    repository_selection: Option<String>,
    account: Option<Account>,
    sender: Option<Account>,
}

/// What an event asks of the state, and what the answer says was done.
enum Action {
    Apply(Change, &'static str),
    /// Becomes a [`Change::Disconnect`] of the users found connected.
    RevokeUser(GitHubUserId),
}

const UPDATED: &str = "installation updated";

fn invalid(message: &str) -> Error {
    Error::bad_request("invalid_payload", message)
}

fn plan(event: &str, payload: Payload) -> Result<Option<Action>> {
    let action = payload.action.as_deref().unwrap_or("");
    // GitHub's ids are positive: an id 0 would become a record (or a
    // tombstone) that no installation can ever match.
    if payload.installation.as_ref().is_some_and(|i| i.id == 0) {
        return Err(invalid("installation id 0"));
    }
    let id = payload.installation.as_ref().map(|i| InstallationId(i.id));
    let installation = |selection: Option<String>| -> Result<Installation> {
        let mut i = payload
            .installation
            .as_ref()
            .and_then(InstallationObject::to_domain)
            .ok_or_else(|| invalid("installation without account"))?;
        if let Some(selection) = selection {
            i.repository_selection = selection;
        }
        Ok(i)
    };
    Ok(Some(match (event, action) {
        ("installation", "deleted") => Action::Apply(
            Change::Delete {
                id: id.ok_or_else(|| invalid("installation event without id"))?,
            },
            "installation deleted",
        ),
        ("installation", "created" | "suspend" | "unsuspend" | "new_permissions_accepted") => Action::Apply(
            Change::Upsert {
                installation: installation(None)?,
                invalidate_tokens: action == "new_permissions_accepted",
            },
            UPDATED,
        ),
        ("installation_repositories", "added" | "removed") => Action::Apply(
            Change::Upsert {
                installation: installation(payload.repository_selection.clone())?,
                invalidate_tokens: true,
            },
            UPDATED,
        ),
        ("installation_target", "renamed") => Action::Apply(
            Change::Rename {
                id: id.ok_or_else(|| invalid("installation_target without installation"))?,
                login: payload
                    .account
                    .map(|a| a.login)
                    .ok_or_else(|| invalid("installation_target without account"))?,
            },
            "installation account renamed",
        ),
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
    let (change, what) = match action {
        Action::Apply(change, what) => (change, what),
        Action::RevokeUser(github_user) => (
            Change::Disconnect {
                users: app.store.users_of_github_user(github_user).await?,
            },
            "user authorization revoked",
        ),
    };
    // One atomic write applies the change and records the delivery: a
    // redelivery, or a copy racing this one, finds it done; a failure
    // leaves nothing done for GitHub's redelivery to redo.
    Ok(match app.store.apply_delivery(delivery, app.now(), &change).await? {
        Applied::Done => Outcome::Applied(what),
        Applied::Duplicate => Outcome::Duplicate,
        Applied::Gone => {
            tracing::info!(delivery, "event for an unknown or deleted installation ignored");
            match change {
                // As before: a rename of an unknown installation is no error.
                Change::Rename { .. } => Outcome::Applied(what),
                _ => Outcome::Applied("ignored: installation was deleted"),
            }
        }
    })
}
