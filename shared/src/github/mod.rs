//! The GitHub port: the calls the broker makes, as traits (here and in
//! [`repos`]) with one real adapter, [`rest::RestClient`], that speaks
//! GitHub's REST and OAuth API (the transport in `rest.rs`, the calls in
//! `app_calls.rs` and `repo_calls.rs`).

mod admin_calls;
mod app_calls;
mod error;
pub mod jwt;
mod link;
mod repo_calls;
pub mod repos;
pub mod rest;
pub mod types;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;

use crate::clock::Clock;
use crate::config::Config;
use crate::domain::reconcile::{DeliveryAttempt, RateLimit};
use crate::domain::scope::TokenScope;
use crate::domain::tokens::{InstallationToken, UserTokens};
use crate::domain::{GitHubUserId, Installation, InstallationId, OrgMembership};
use crate::secrets::AppCredentials;

pub use error::{GitHubError, OAuthRefusal};

/// The GitHub the configuration names (`GITHUB_API_URL`, `GITHUB_WEB_URL`,
/// `GITHUB_TIMEOUT_SECONDS`), over HTTPS. `record_reserve`: what must be
/// left of a request's deadline after a GitHub attempt, for the store
/// write that records its answer.
pub fn open(config: &Config, record_reserve: Duration, clock: Arc<dyn Clock>) -> reqwest::Result<Arc<dyn Client>> {
    let urls = (config.github_api_url.clone(), config.github_web_url.clone());
    Ok(Arc::new(rest::RestClient::new(
        urls,
        config.github_timeout,
        record_reserve,
        clock,
    )?))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHubUser {
    pub id: GitHubUserId,
    pub login: String,
}

pub type GitHubResult<T> = Result<T, GitHubError>;

#[async_trait]
pub trait GitHub: Send + Sync {
    /// Exchanges an OAuth code (with its PKCE verifier) for a user token pair.
    /// Never retried: a code is single-use.
    async fn exchange_code(
        &self,
        app: &AppCredentials,
        code: &str,
        pkce_verifier: &SecretString,
        redirect_uri: Option<&str>,
    ) -> GitHubResult<UserTokens>;
    /// Trades a single-use refresh token for a new pair. Never retried once sent.
    async fn refresh_user_token(&self, app: &AppCredentials, refresh_token: &SecretString) -> GitHubResult<UserTokens>;
    async fn user(&self, user_token: &SecretString) -> GitHubResult<GitHubUser>;
    /// Every installation of the app the user can reach, all pages.
    async fn user_installations(&self, user_token: &SecretString) -> GitHubResult<Vec<Installation>>;
    /// The user's own membership of organisation `org` (`None`: not a
    /// member). GitHub answers 403 when the app lacks the organisation's
    /// `members` permission.
    async fn org_membership(&self, user_token: &SecretString, org: &str) -> GitHubResult<Option<OrgMembership>>;
    async fn create_installation_token(
        &self,
        app: &AppCredentials,
        installation: InstallationId,
        scope: &TokenScope,
    ) -> GitHubResult<InstallationToken>;
    /// The installation as GitHub has it now (`GET /app/installations/{id}`,
    /// as the app); `None` when GitHub no longer knows it (deleted).
    async fn installation(&self, app: &AppCredentials, id: InstallationId) -> GitHubResult<Option<Installation>>;
    /// The app's slug, for its install URL.
    async fn app_slug(&self, app: &AppCredentials) -> GitHubResult<String>;
    /// Revokes the user's whole grant for the app (and so all its tokens).
    async fn revoke_grant(&self, app: &AppCredentials, user_token: &SecretString) -> GitHubResult<()>;
    /// Revokes an installation token (`DELETE /installation/token`,
    /// authenticated with the token itself). A token GitHub no longer
    /// accepts counts as revoked.
    async fn revoke_installation_token(&self, token: &SecretString) -> GitHubResult<()>;
}

/// What the reconciler reads of the app as a whole, as the app (JWT), and
/// what it has spent of the app's rate limit doing so.
#[async_trait]
pub trait AppAdmin: Send + Sync {
    /// Page `page` (from 1) of the app's installations, 100 a page, and
    /// whether another page follows.
    async fn installations_page(&self, app: &AppCredentials, page: u32) -> GitHubResult<(Vec<Installation>, bool)>;
    /// A page of the app's webhook delivery log, newest first, from
    /// `cursor` (`None`: the newest), and the cursor of the next page.
    async fn delivery_log(
        &self,
        app: &AppCredentials,
        cursor: Option<&str>,
    ) -> GitHubResult<(Vec<DeliveryAttempt>, Option<String>)>;
    /// Asks GitHub to send delivery attempt `attempt` again. Never retried
    /// once sent: GitHub would send it twice.
    async fn redeliver(&self, app: &AppCredentials, attempt: u64) -> GitHubResult<()>;
    /// Requests this client has sent as the app, retries included.
    fn requests_as_app(&self) -> u64;
    /// The app's rate limit, as GitHub's last answer to the app said.
    fn rate_limit(&self) -> Option<RateLimit>;
}

/// Everything the broker asks of GitHub: the app and user calls above, the
/// repository calls of [`repos::Repos`] and the reconciler's [`AppAdmin`].
pub trait Client: GitHub + repos::Repos + AppAdmin {}
impl<T: GitHub + repos::Repos + AppAdmin> Client for T {}
