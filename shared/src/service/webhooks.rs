//! Applying verified webhook deliveries to the state. GitHub does not order
//! deliveries, retries late and redelivers days later, and the payload
//! alone cannot order two events (a `suspend` and the `unsuspend` after it
//! may carry the same `updated_at`). So an installation event is only a
//! cue: the installation is read from GitHub as it is now, and written with
//! the time the read began; a write lands only over an older read. Whatever
//! order deliveries come in, the record ends at GitHub's latest state.
//!
//! The edge has parsed the delivery into a [`Delivery`], whose [`Effect`]
//! the domain decided from its event; this gathers the facts that effect
//! needs into a [`WritePlan`], which the store applies together with the
//! delivery's record in one atomic write, so a duplicate delivery is
//! answered without doing anything again.

use super::audit;
use super::revocation::{self, Take};
use crate::domain::audit::AuditAction;
use crate::domain::events::Effect;
use crate::domain::{AccountId, Installation, InstallationStatus};
use crate::error::Result;
use crate::store::{Applied, WritePlan};
use crate::App;

/// A verified delivery of an event the broker handles.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    /// GitHub's `X-GitHub-Delivery`: one per delivery, the same on redelivery.
    pub id: &'a str,
    pub effect: Effect,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Applied(&'static str),
    Duplicate,
}

/// The write `delivery` comes to: for an installation that changed, what
/// GitHub says of it now (or its deletion, if GitHub no longer knows it).
async fn plan(app: &App, delivery: &Delivery<'_>) -> Result<WritePlan> {
    Ok(match delivery.effect {
        Effect::Sync { id, invalidate_tokens } => {
            // The read's start orders it: whatever it sees happened by then.
            let read_at = app.clock.now_millis();
            let creds = app.secrets.current().await;
            match app.github.installation(&creds, id).await? {
                Some(installation) => WritePlan::Upsert {
                    installation,
                    invalidate_tokens,
                    read_at,
                },
                None => WritePlan::Delete { id },
            }
        }
        Effect::Delete(id) => WritePlan::Delete { id },
        Effect::RevokeUser(github_user) => WritePlan::Disconnect {
            users: app.store.users_of_github_user(github_user).await?,
        },
    })
}

/// `accounts`: those the delivery is forwarded with, recorded with it.
pub async fn apply(app: &App, delivery: &Delivery<'_>, accounts: Option<&[AccountId]>) -> Result<Outcome> {
    let plan = plan(app, delivery).await?;
    Ok(match apply_plan(app, delivery.id, &plan, accounts).await? {
        Applied::Done => Outcome::Applied(match plan {
            WritePlan::Upsert { .. } => "installation updated",
            WritePlan::Delete { .. } => "installation deleted",
            WritePlan::Disconnect { .. } => "user authorization revoked",
        }),
        Applied::Stale => Outcome::Applied("installation already up to date"),
        Applied::Duplicate => Outcome::Duplicate,
        Applied::Gone => {
            tracing::info!(delivery = delivery.id, "event for a deleted installation ignored");
            Outcome::Applied("ignored: installation was deleted")
        }
    })
}

/// Writes `plan` under the change id `id` (a delivery's, or a repair's)
/// with everything it entails: the reconciler's repairs go through here
/// too, so they follow the webhooks' rules.
pub(crate) async fn apply_plan(
    app: &App,
    id: &str,
    plan: &WritePlan,
    accounts: Option<&[AccountId]>,
) -> Result<Applied> {
    // One atomic write applies the plan and records the delivery: a
    // redelivery, or a copy racing this one, finds it done; a failure
    // leaves nothing done for GitHub's redelivery to redo.
    let applied = app.store.apply_delivery(id, app.now(), plan, accounts).await?;
    // What follows is idempotent, so a redelivery (a duplicate) finishes
    // what a failure here left undone.
    if applied != Applied::Gone {
        follow_up(app, plan, applied).await?;
    }
    Ok(applied)
}

/// What an applied plan entails beyond the record: a deleted or suspended
/// installation's tokens are revoked at GitHub (a deletion's were taken out
/// of the cache with the tombstone), and a grant that shrank lowers the
/// links' policies with it.
async fn follow_up(app: &App, plan: &WritePlan, applied: Applied) -> Result<()> {
    match plan {
        WritePlan::Delete { id } => {
            revocation::revoke(app, audit::GITHUB, *id, Take::PendingOnly).await?;
        }
        WritePlan::Upsert {
            installation,
            invalidate_tokens,
            ..
        } => {
            // Only an event that says the grant changed is worth the query
            // of the links (a stale read's grant may be older than the
            // record's). Vends cap each policy by the grant they read, so
            // a change seen through another event is never exceeded.
            if *invalidate_tokens && applied != Applied::Stale {
                shrink_policies(app, installation).await?;
            }
            if installation.status == InstallationStatus::Suspended {
                revocation::revoke(app, audit::GITHUB, installation.id, Take::All).await?;
            }
        }
        WritePlan::Disconnect { .. } => {}
    }
    Ok(())
}

/// Each link's policy, lowered to what the installation grants now. A
/// policy only ever shrinks here: when the grant grows back, the team gets
/// more only by a new policy. The team's tokens minted under the old one
/// are revoked. (Vends cap a policy by the grant they read anyway, so a
/// shrink not written yet is never exceeded.)
async fn shrink_policies(app: &App, installation: &Installation) -> Result<()> {
    for (account, link) in app.store.links_of_installation(installation.id).await? {
        let shrunk = link.policy.shrunk_to(&installation.permissions);
        if shrunk == link.policy {
            continue;
        }
        // A policy changed meanwhile is the newer word: left as it is
        // (its vends are capped by the grant all the same).
        let record = audit::record(app, audit::GITHUB, AuditAction::Policy)
            .account(&account)
            .installation(installation.id)
            .asked((&link.policy).into())
            .granted((&shrunk).into());
        if app
            .store
            .set_policy(&account, installation.id, &shrunk, &link.version, &record)
            .await?
        {
            audit::log(&record);
            tracing::info!(installation = %installation.id, account = %account, "link policy shrunk with the installation's grant");
            revocation::revoke(app, audit::GITHUB, installation.id, Take::Account(&account)).await?;
        }
    }
    Ok(())
}
