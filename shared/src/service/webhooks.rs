//! Applying verified webhook deliveries to the state: each event is first
//! read into an [`Action`] (or ignored, storing nothing), then its delivery
//! id is claimed, so a duplicate delivery is answered without doing
//! anything again. Every action is also idempotent on its own.

use serde::Deserialize;

use super::LEASE_SECONDS;
use crate::crypto::random::token_urlsafe;
use crate::domain::{GitHubUserId, Installation, InstallationId};
use crate::error::{Error, Result};
use crate::github::types::{Account, InstallationObject};
use crate::store::{Claim, Lease, Upsert};
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

/// What an event asks of the state.
enum Action {
    Delete(InstallationId),
    Upsert {
        installation: Installation,
        drop_tokens: bool,
    },
    Rename {
        id: InstallationId,
        login: String,
    },
    RevokeUser(GitHubUserId),
}

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
        ("installation", "deleted") => Action::Delete(id.ok_or_else(|| invalid("installation event without id"))?),
        ("installation", "created" | "suspend" | "unsuspend" | "new_permissions_accepted") => Action::Upsert {
            installation: installation(None)?,
            drop_tokens: action == "new_permissions_accepted",
        },
        ("installation_repositories", "added" | "removed") => Action::Upsert {
            installation: installation(payload.repository_selection.clone())?,
            drop_tokens: true,
        },
        ("installation_target", "renamed") => Action::Rename {
            id: id.ok_or_else(|| invalid("installation_target without installation"))?,
            login: payload
                .account
                .map(|a| a.login)
                .ok_or_else(|| invalid("installation_target without account"))?,
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
    let now = app.now();
    let lease = Lease {
        owner: token_urlsafe(),
        now,
        until: now + LEASE_SECONDS * 2,
    };
    if app.store.claim_delivery(delivery, &lease).await? == Claim::Duplicate {
        return Ok(Outcome::Duplicate);
    }
    // The action stops one DynamoDB attempt short of the deadline, so that
    // the claim is still finished, or released for a redelivery, in time.
    match crate::deadline::reserving(crate::app::DYNAMO_ATTEMPT_TIMEOUT, execute(app, action)).await {
        Ok(what) => {
            if !app.store.finish_delivery(delivery, &lease, app.now()).await? {
                // Our lease ran out mid-way and another claim took over: it
                // applies the same idempotent action and marks it done.
                tracing::warn!(delivery, "a delivery's claim was taken over before it was finished");
            }
            Ok(Outcome::Applied(what))
        }
        Err(e) => {
            // Let GitHub's redelivery (manual or automatic) try again.
            if let Err(release) = app.store.release_delivery(delivery, &lease).await {
                tracing::error!(error = %release, "could not release a failed delivery's claim");
            }
            Err(e)
        }
    }
}

async fn execute(app: &App, action: Action) -> Result<&'static str> {
    match action {
        Action::Delete(id) => {
            app.store.delete_installation(id, app.now()).await?;
            Ok("installation deleted")
        }
        Action::Upsert {
            installation,
            drop_tokens,
        } => {
            let id = installation.id;
            if app.store.upsert_installation(&installation).await? == Upsert::Gone {
                tracing::info!(installation = %id, "event for a deleted installation ignored");
                return Ok("ignored: installation was deleted");
            }
            if drop_tokens {
                app.store.drop_cached_tokens(id).await?;
            }
            Ok("installation updated")
        }
        Action::Rename { id, login } => {
            if app.store.rename_installation_account(id, &login).await? == Upsert::Gone {
                tracing::info!(installation = %id, "rename for an unknown or deleted installation ignored");
            }
            Ok("installation account renamed")
        }
        Action::RevokeUser(github_user) => {
            for user in app.store.users_of_github_user(github_user).await? {
                app.store.delete_connection(&user).await?;
            }
            Ok("user authorization revoked")
        }
    }
}
