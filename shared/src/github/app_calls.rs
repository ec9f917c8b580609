//! The app's and its users' calls (the [`GitHub`] port) over the REST
//! client: the OAuth exchanges, who the user is and what they reach, the
//! app's installation tokens and installations, and revoking a grant or
//! an installation token.

use async_trait::async_trait;
use http::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::link::next_page;
use super::rest::{bearer, parse, Replay, RestClient, MAX_PAGES};
use super::types::*;
use super::{GitHub, GitHubError, GitHubResult, GitHubUser};
use crate::domain::scope::TokenScope;
use crate::domain::tokens::{InstallationToken, UserTokens};
use crate::domain::{GitHubUserId, Installation, InstallationId, OrgMembership};
use crate::secrets::AppCredentials;

#[async_trait]
impl GitHub for RestClient {
    async fn exchange_code(
        &self,
        app: &AppCredentials,
        code: &str,
        pkce_verifier: &SecretString,
        redirect_uri: Option<&str>,
    ) -> GitHubResult<UserTokens> {
        let mut form = vec![
            ("client_id", app.client_id.as_str()),
            ("client_secret", app.client_secret.expose_secret()),
            ("code", code),
            ("code_verifier", pkce_verifier.expose_secret()),
        ];
        form.extend(redirect_uri.map(|uri| ("redirect_uri", uri)));
        self.oauth_token(&form).await
    }

    async fn refresh_user_token(&self, app: &AppCredentials, refresh_token: &SecretString) -> GitHubResult<UserTokens> {
        self.oauth_token(&[
            ("client_id", app.client_id.as_str()),
            ("client_secret", app.client_secret.expose_secret()),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose_secret()),
        ])
        .await
    }

    async fn user(&self, user_token: &SecretString) -> GitHubResult<GitHubUser> {
        let url = self.api_url(["user"])?;
        let resp = self
            .send(Replay::Safe, || {
                self.http.get(url.clone()).header("authorization", bearer(user_token))
            })
            .await?;
        let user: UserObject = parse(resp, "GET /user").await?;
        Ok(GitHubUser {
            id: GitHubUserId(user.id),
            login: user.login,
        })
    }

    async fn user_installations(&self, user_token: &SecretString) -> GitHubResult<Vec<Installation>> {
        let mut url = self.api_url(["user", "installations"])?;
        url.set_query(Some("per_page=100"));
        let mut url = url.to_string();
        let mut all = Vec::new();
        for _ in 0..MAX_PAGES {
            let resp = self
                .send(Replay::Safe, || {
                    self.http.get(&url).header("authorization", bearer(user_token))
                })
                .await?;
            let next = next_page(resp.headers().get("link").and_then(|l| l.to_str().ok()));
            let page: UserInstallationsPage = parse(resp, "GET /user/installations").await?;
            all.extend(page.installations.iter().filter_map(InstallationObject::to_domain));
            // The user's token only ever goes back to the API it came from.
            match next.filter(|n| Url::parse(n).is_ok_and(|n| n.origin() == self.api.origin())) {
                Some(n) => url = n,
                None => return Ok(all),
            }
        }
        Err(GitHubError::Decode("GET /user/installations (too many pages)"))
    }

    async fn org_membership(&self, user_token: &SecretString, org: &str) -> GitHubResult<Option<OrgMembership>> {
        let url = self.api_url(["user", "memberships", "orgs", org])?;
        let resp = self
            .send(Replay::Safe, || {
                self.http.get(url.clone()).header("authorization", bearer(user_token))
            })
            .await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let membership: MembershipObject = parse(resp, "GET /user/memberships/orgs/{org}").await?;
        Ok(Some(membership.to_domain()))
    }

    async fn create_installation_token(
        &self,
        app: &AppCredentials,
        installation: InstallationId,
        scope: &TokenScope,
    ) -> GitHubResult<InstallationToken> {
        let id = installation.to_string();
        let url = self.api_url(["app", "installations", &id, "access_tokens"])?;
        // Minting twice is harmless, so a mint may be replayed.
        let resp = self
            .send_as_app(app, Replay::Safe, |jwt| {
                self.http
                    .post(url.clone())
                    .header("authorization", format!("Bearer {jwt}"))
                    .json(scope)
            })
            .await?;
        let answer: InstallationTokenResponse = parse(resp, "POST access_tokens").await?;
        answer.into_token().ok_or(GitHubError::Decode("POST access_tokens"))
    }

    async fn installation(&self, app: &AppCredentials, id: InstallationId) -> GitHubResult<Option<Installation>> {
        let id = id.to_string();
        let resp = self
            .get_as_app(app, self.api_url(["app", "installations", &id])?)
            .await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let installation: InstallationObject = parse(resp, "GET /app/installations/{id}").await?;
        installation
            .to_domain()
            .map(Some)
            .ok_or(GitHubError::Decode("GET /app/installations/{id}"))
    }

    async fn app_slug(&self, app: &AppCredentials) -> GitHubResult<String> {
        let resp = self.get_as_app(app, self.api_url(["app"])?).await?;
        Ok(parse::<AppObject>(resp, "GET /app").await?.slug)
    }

    async fn revoke_grant(&self, app: &AppCredentials, user_token: &SecretString) -> GitHubResult<()> {
        let url = self.api_url(["applications", &app.client_id, "grant"])?;
        let body = serde_json::json!({ "access_token": user_token.expose_secret() });
        let resp = self
            .send(Replay::Safe, || {
                self.http
                    .delete(url.clone())
                    .basic_auth(&app.client_id, Some(app.client_secret.expose_secret()))
                    .json(&body)
            })
            .await?;
        match resp.status() {
            // 404/422: the grant or token is already gone, which is the goal.
            s if s.is_success() || s == StatusCode::NOT_FOUND || s == StatusCode::UNPROCESSABLE_ENTITY => Ok(()),
            _ => parse::<serde_json::Value>(resp, "DELETE grant").await.map(drop),
        }
    }

    async fn revoke_installation_token(&self, token: &SecretString) -> GitHubResult<()> {
        let url = self.api_url(["installation", "token"])?;
        let resp = self
            .send(Replay::Safe, || {
                self.http.delete(url.clone()).header("authorization", bearer(token))
            })
            .await?;
        match resp.status() {
            // 401: GitHub no longer accepts the token (revoked or expired),
            // which is the goal.
            s if s.is_success() || s == StatusCode::UNAUTHORIZED => Ok(()),
            _ => parse::<serde_json::Value>(resp, "DELETE /installation/token")
                .await
                .map(drop),
        }
    }
}
