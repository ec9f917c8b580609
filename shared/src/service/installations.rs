//! Installations as the frontend sees them: those the caller's GitHub user
//! reaches, those linked to an account, and linking (with the link's
//! policy) and unlinking, which revokes the team's tokens at GitHub.

use std::collections::{BTreeMap, BTreeSet};

use secrecy::SecretString;

use super::connection::{fresh_tokens, user_token_error};
use super::{audit, revocation};
use crate::domain::audit::{AuditAction, AuditRecord};
use crate::domain::policy::LinkAuthority;
use crate::domain::{policy, AccountId, Caller, GitHubUserId, Installation, InstallationId, LinkPolicy};
use crate::error::{Error, Result};
use crate::github::GitHubError;
use crate::store::{LinkedInstallation, Upsert};
use crate::App;

/// An installation the caller's GitHub user reaches, with the caller's
/// accounts it is linked to.
#[derive(Debug)]
pub struct Reachable {
    pub installation: Installation,
    pub linked_accounts: BTreeSet<AccountId>,
}

/// Every installation the caller's GitHub user reaches (all pages), with the
/// caller's accounts each is linked to.
pub async fn reachable(app: &App, caller: &Caller) -> Result<Vec<Reachable>> {
    let (_, tokens) = fresh_tokens(app, &caller.user).await?;
    let installations = app
        .github
        .user_installations(&tokens.access_token)
        .await
        .map_err(user_token_error)?;
    let ids: Vec<InstallationId> = installations.iter().map(|i| i.id).collect();
    let accounts: Vec<AccountId> = caller.accounts.iter().cloned().collect();
    let mut linked: BTreeMap<InstallationId, BTreeSet<AccountId>> = BTreeMap::new();
    for (account, id) in app.store.links_among(&accounts, &ids).await? {
        linked.entry(id).or_default().insert(account);
    }
    Ok(installations
        .into_iter()
        .map(|installation| Reachable {
            linked_accounts: linked.remove(&installation.id).unwrap_or_default(),
            installation,
        })
        .collect())
}

pub async fn of_account(app: &App, caller: &Caller, account: &AccountId) -> Result<Vec<LinkedInstallation>> {
    policy::require_member(caller, account)?;
    Ok(app.store.linked_installations(account).await?)
}

/// What a link request asks of the link's policy.
#[derive(Debug, Clone, Copy)]
pub enum PolicyOrder<'a> {
    /// `PUT`: link (again) with this policy.
    Set(&'a LinkPolicy),
    /// `PATCH`: change the policy of a link that exists.
    Change(&'a LinkPolicy),
    /// The OAuth callback: link, keeping the policy of a link that exists
    /// (a new one is the whole installation).
    Keep,
}

/// Links `id` to `account`, or changes the link's policy, as `order` says.
pub async fn link(
    app: &App,
    caller: &Caller,
    account: &AccountId,
    id: InstallationId,
    order: PolicyOrder<'_>,
) -> Result<LinkedInstallation> {
    let (connection, tokens) = match before_github(app, caller, account, id, order).await {
        Ok(found) => found,
        Err(e) => return audit::refused(app, link_record(app, caller, account, id, order), e).await,
    };
    let github_user = connection.github_user_id;
    link_confirmed(app, caller, account, id, (github_user, &tokens.access_token), order).await
}

/// What a link request needs before GitHub is asked: membership first (it
/// costs nothing and spares GitHub a call), the link itself for a policy
/// change, and the caller's own GitHub token.
async fn before_github(
    app: &App,
    caller: &Caller,
    account: &AccountId,
    id: InstallationId,
    order: PolicyOrder<'_>,
) -> Result<(crate::store::Connection, crate::domain::tokens::UserTokens)> {
    policy::require_member(caller, account)?;
    if let PolicyOrder::Change(_) = order {
        if app.store.get_link(account, id).await?.is_none() {
            return Err(Error::not_found(
                "installation_not_linked",
                "that installation is not linked to this account",
            ));
        }
    }
    fresh_tokens(app, &caller.user).await
}

/// The audit record of a link request (a policy change is `policy`).
fn link_record(
    app: &App,
    caller: &Caller,
    account: &AccountId,
    id: InstallationId,
    order: PolicyOrder<'_>,
) -> AuditRecord {
    let action = match order {
        PolicyOrder::Change(_) => AuditAction::Policy,
        PolicyOrder::Set(_) | PolicyOrder::Keep => AuditAction::Link,
    };
    let record = audit::record(app, caller.user.as_str(), action)
        .account(account)
        .installation(id);
    match order {
        PolicyOrder::Set(policy) | PolicyOrder::Change(policy) => record.asked(policy.into()),
        PolicyOrder::Keep => record,
    }
}

/// Links `id` to `account` once the user's own token shows the installation
/// among those it reaches and, under `LINK_POLICY=admin`, that the user
/// has authority over it (see [`require_authority`]): the one rule both
/// linking paths share, and a policy change too.
pub(crate) async fn link_confirmed(
    app: &App,
    caller: &Caller,
    account: &AccountId,
    id: InstallationId,
    (github_user, user_token): (GitHubUserId, &SecretString),
    order: PolicyOrder<'_>,
) -> Result<LinkedInstallation> {
    let record = link_record(app, caller, account, id, order);
    match link_recorded(app, &record, caller, account, id, (github_user, user_token), order).await {
        Ok(linked) => Ok(linked),
        Err(e) => audit::refused(app, record, e).await,
    }
}

async fn link_recorded(
    app: &App,
    record: &AuditRecord,
    caller: &Caller,
    account: &AccountId,
    id: InstallationId,
    (github_user, user_token): (GitHubUserId, &SecretString),
    order: PolicyOrder<'_>,
) -> Result<LinkedInstallation> {
    let reachable = app
        .github
        .user_installations(user_token)
        .await
        .map_err(user_token_error)?;
    let installation = reachable.into_iter().find(|i| i.id == id);
    policy::require_can_link(caller, account, installation.is_some())?;
    let installation = installation.expect("checked by require_can_link");
    if app.config.link_authority == LinkAuthority::Admin {
        require_authority(app, &installation, github_user, user_token).await?;
    }
    let existing = app.store.get_link(account, id).await?;
    let policy = match order {
        PolicyOrder::Set(policy) | PolicyOrder::Change(policy) => policy.clone(),
        PolicyOrder::Keep => existing.as_ref().map(|l| l.policy.clone()).unwrap_or_default(),
    };
    policy.require_within(&installation.permissions)?;
    if policy.repositories.is_some() && existing.as_ref().map(|l| &l.policy.repositories) != Some(&policy.repositories)
    {
        require_repositories_reached(app, &installation, &policy).await?;
    }
    let mut granted = record.clone().granted((&policy).into());
    if existing.is_some() && !matches!(order, PolicyOrder::Keep) {
        granted.action = AuditAction::Policy;
    }
    if existing.as_ref().is_some_and(|l| l.policy == policy) {
        // Linked as asked already: nothing changes, no token is revoked.
        audit::write(app, granted).await;
        return Ok(LinkedInstallation { installation, policy });
    }
    if app.store.link(account, &installation, &policy, &granted).await? == Upsert::Gone {
        return Err(Error::not_found(
            "installation_deleted",
            "that installation was uninstalled from GitHub",
        ));
    }
    audit::log(&granted);
    if existing.is_some() {
        // The team's tokens were minted under the old ceiling.
        revocation::revoke(app, caller.user.as_str(), id, revocation::Take::Account(account)).await?;
    }
    Ok(LinkedInstallation { installation, policy })
}

/// GitHub lists an installation to anyone with access to one of its
/// repositories, an outside collaborator included: that is visibility, not
/// authority. The owner of a personal installation, or an active admin of
/// the organisation (GitHub's membership API, with the user's own token),
/// may link it.
async fn require_authority(
    app: &App,
    installation: &Installation,
    github_user: GitHubUserId,
    user_token: &SecretString,
) -> Result<()> {
    let membership = if installation.is_organization() {
        match app.github.org_membership(user_token, &installation.account_login).await {
            Ok(membership) => membership,
            Err(e @ GitHubError::Forbidden { .. }) => {
                tracing::warn!(error = %e, "GitHub refused to show an organisation membership");
                return Err(Error::forbidden(
                    "app_permission_missing",
                    "checking that you own the organization needs the GitHub App's \"Members\" \
                     organization permission (read), which this installation does not grant \
                     (LINK_POLICY=admin)",
                ));
            }
            Err(e) => return Err(user_token_error(e)),
        }
    } else {
        None
    };
    Ok(policy::require_installation_admin(
        installation,
        github_user,
        membership,
    )?)
}

/// A policy names only repositories the installation reaches. Only GitHub
/// knows them, and the app learns them only with an installation token:
/// one scoped to the policy is minted (GitHub refuses a repository the
/// installation does not reach) and revoked at once. A suspended
/// installation cannot be asked; its vends are refused meanwhile, and
/// GitHub refuses such a repository at mint time afterwards.
async fn require_repositories_reached(app: &App, installation: &Installation, policy: &LinkPolicy) -> Result<()> {
    let scope = crate::domain::scope::TokenScope {
        repositories: policy.repositories.clone().unwrap_or_default(),
        repository_ids: Default::default(),
        permissions: policy.permissions.clone().unwrap_or_default(),
    };
    let creds = app.secrets.current().await;
    match app
        .github
        .create_installation_token(&creds, installation.id, &scope)
        .await
    {
        Ok(token) => {
            revocation::discard(app, installation.id, &token.token).await;
            Ok(())
        }
        Err(GitHubError::Rejected { .. }) => Err(Error::Unprocessable {
            code: "policy_beyond_installation",
            message: "the installation does not reach every repository the policy names".into(),
        }),
        Err(GitHubError::Suspended { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Removes the link, then revokes at GitHub every token the account holds
/// on the installation: a vend racing the unlink cannot record a token
/// after the link is gone, and one recorded before is taken here.
pub async fn unlink(
    app: &App,
    caller: &Caller,
    account: &AccountId,
    id: InstallationId,
) -> Result<revocation::Revoked> {
    let record = audit::record(app, caller.user.as_str(), AuditAction::Unlink)
        .account(account)
        .installation(id);
    if let Err(e) = policy::require_member(caller, account) {
        return audit::refused(app, record, e.into()).await;
    }
    if app.store.unlink(account, id, &record).await? {
        audit::log(&record);
    } else {
        // Nothing to remove: still an unlink asked for, and granted.
        audit::write(app, record).await;
    }
    revocation::revoke(app, caller.user.as_str(), id, revocation::Take::Account(account)).await
}
