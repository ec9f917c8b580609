//! Installations as the frontend sees them: those the caller's GitHub user
//! reaches, those linked to an account, and linking and unlinking.

use std::collections::{BTreeMap, BTreeSet};

use secrecy::SecretString;
use serde::Serialize;

use super::connection::{fresh_tokens, user_token_error};
use crate::domain::{policy, AccountId, Caller, Installation, InstallationId, InstallationStatus};
use crate::error::{Error, Result};
use crate::store::Upsert;
use crate::App;

#[derive(Debug, Clone, Serialize)]
pub struct InstallationView {
    pub id: InstallationId,
    pub account: GitHubAccountView,
    pub repository_selection: String,
    pub permissions: BTreeMap<String, String>,
    pub status: InstallationStatus,
}

#[derive(Debug, Clone, Serialize)]
pub struct GitHubAccountView {
    pub id: u64,
    pub login: String,
    #[serde(rename = "type")]
    pub kind: String,
}

impl From<&Installation> for InstallationView {
    fn from(i: &Installation) -> Self {
        Self {
            id: i.id,
            account: GitHubAccountView {
                id: i.account_id,
                login: i.account_login.clone(),
                kind: i.account_type.clone(),
            },
            repository_selection: i.repository_selection.clone(),
            permissions: i.permissions.clone(),
            status: i.status,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ReachableInstallation {
    #[serde(flatten)]
    pub installation: InstallationView,
    /// The caller's accounts this installation is linked to.
    pub linked_accounts: BTreeSet<AccountId>,
}

#[derive(Debug, Serialize)]
pub struct ReachableList {
    pub installations: Vec<ReachableInstallation>,
}

/// Every installation the caller's GitHub user reaches (all pages), with the
/// caller's accounts each is linked to.
pub async fn reachable(app: &App, caller: &Caller) -> Result<ReachableList> {
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
    Ok(ReachableList {
        installations: installations
            .iter()
            .map(|i| ReachableInstallation {
                installation: InstallationView::from(i),
                linked_accounts: linked.remove(&i.id).unwrap_or_default(),
            })
            .collect(),
    })
}

#[derive(Debug, Serialize)]
pub struct AccountInstallations {
    pub account_id: AccountId,
    pub installations: Vec<InstallationView>,
}

pub async fn of_account(app: &App, caller: &Caller, account: AccountId) -> Result<AccountInstallations> {
    policy::require_member(caller, &account)?;
    let installations = app.store.linked_installations(&account).await?;
    Ok(AccountInstallations {
        installations: installations.iter().map(InstallationView::from).collect(),
        account_id: account,
    })
}

#[derive(Debug, Serialize)]
pub struct LinkView {
    pub account_id: AccountId,
    pub installation_id: InstallationId,
    pub linked: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub installation: Option<InstallationView>,
}

pub async fn link(app: &App, caller: &Caller, account: AccountId, id: InstallationId) -> Result<LinkView> {
    // Membership first: it costs nothing and spares GitHub a call.
    policy::require_member(caller, &account)?;
    let (_, tokens) = fresh_tokens(app, &caller.user).await?;
    let installation = link_confirmed(app, caller, &account, id, &tokens.access_token).await?;
    Ok(LinkView {
        account_id: account,
        installation_id: id,
        linked: true,
        installation: Some((&installation).into()),
    })
}

/// Links `id` to `account` once the user's own token shows the installation
/// among those it reaches: the one rule both linking paths share.
pub(crate) async fn link_confirmed(
    app: &App,
    caller: &Caller,
    account: &AccountId,
    id: InstallationId,
    user_token: &SecretString,
) -> Result<Installation> {
    let reachable = app
        .github
        .user_installations(user_token)
        .await
        .map_err(user_token_error)?;
    let installation = reachable.into_iter().find(|i| i.id == id);
    policy::require_can_link(caller, account, installation.is_some())?;
    let installation = installation.expect("checked by require_can_link");
    if app.store.link(account, &installation).await? == Upsert::Gone {
        return Err(Error::not_found(
            "installation_deleted",
            "that installation was uninstalled from GitHub",
        ));
    }
    Ok(installation)
}

pub async fn unlink(app: &App, caller: &Caller, account: AccountId, id: InstallationId) -> Result<LinkView> {
    policy::require_member(caller, &account)?;
    app.store.unlink(&account, id).await?;
    Ok(LinkView {
        account_id: account,
        installation_id: id,
        linked: false,
        installation: None,
    })
}
