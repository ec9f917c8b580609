//! Applying verified webhook deliveries to the state. Effects are
//! idempotent, and a delivery id is claimed before anything is applied, so
//! a duplicate delivery is answered without doing anything again.

use serde::Deserialize;

use super::LEASE_SECONDS;
use crate::domain::{GitHubUserId, InstallationId};
use crate::error::{Error, Result};
use crate::github::types::{Account, InstallationObject};
use crate::store::{Claim, Upsert};
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

/// `body` has been verified against the signature already.
pub async fn apply(app: &App, delivery: &str, event: &str, body: &[u8]) -> Result<Outcome> {
    let payload: Payload = serde_json::from_slice(body)
        .map_err(|_| Error::bad_request("invalid_payload", "the webhook body is not a GitHub event payload"))?;
    let now = app.now();
    if app.store.claim_delivery(delivery, now, now + LEASE_SECONDS * 2).await? == Claim::Duplicate {
        return Ok(Outcome::Duplicate);
    }
    match apply_event(app, event, payload).await {
        Ok(outcome) => {
            app.store.finish_delivery(delivery, app.now()).await?;
            Ok(outcome)
        }
        Err(e) => {
            if let Err(release) = app.store.release_delivery(delivery).await {
                tracing::error!(error = %release, "could not release a failed delivery's claim");
            }
            Err(e)
        }
    }
}

async fn apply_event(app: &App, event: &str, payload: Payload) -> Result<Outcome> {
    let action = payload.action.as_deref().unwrap_or("");
    let installation = payload.installation.as_ref();
    let id = installation.map(|i| InstallationId(i.id));
    match (event, action, installation, id) {
        ("installation", "deleted", _, Some(id)) => {
            app.store.delete_installation(id, app.now()).await?;
            Ok(Outcome::Applied("installation deleted"))
        }
        ("installation", "created" | "suspend" | "unsuspend" | "new_permissions_accepted", Some(object), Some(id)) => {
            upsert(app, object, None).await?;
            if action == "new_permissions_accepted" {
                app.store.drop_cached_tokens(id).await?;
            }
            Ok(Outcome::Applied("installation updated"))
        }
        ("installation_repositories", "added" | "removed", Some(object), Some(id)) => {
            upsert(app, object, payload.repository_selection).await?;
            app.store.drop_cached_tokens(id).await?;
            Ok(Outcome::Applied("installation repositories updated"))
        }
        ("installation_target", "renamed", _, Some(id)) => {
            let login = payload
                .account
                .map(|a| a.login)
                .ok_or_else(|| Error::bad_request("invalid_payload", "installation_target without account"))?;
            if app.store.rename_installation_account(id, &login).await? == Upsert::Gone {
                tracing::info!(installation = %id, "rename for an unknown or deleted installation ignored");
            }
            Ok(Outcome::Applied("installation account renamed"))
        }
        ("github_app_authorization", "revoked", _, _) => {
            let sender = payload
                .sender
                .ok_or_else(|| Error::bad_request("invalid_payload", "github_app_authorization without sender"))?;
            for user in app.store.users_of_github_user(GitHubUserId(sender.id)).await? {
                app.store.delete_connection(&user).await?;
            }
            Ok(Outcome::Applied("user authorization revoked"))
        }
        _ => Ok(Outcome::Ignored),
    }
}

async fn upsert(app: &App, object: &InstallationObject, selection: Option<String>) -> Result<()> {
    let Some(mut installation) = object.to_domain() else {
        return Err(Error::bad_request("invalid_payload", "installation without account"));
    };
    if let Some(selection) = selection {
        installation.repository_selection = selection;
    }
    if app.store.upsert_installation(&installation).await? == Upsert::Gone {
        tracing::info!(installation = %installation.id, "event for a deleted installation ignored");
    }
    Ok(())
}
