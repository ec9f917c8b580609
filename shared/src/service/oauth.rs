//! Connecting GitHub: the start of the OAuth web flow (state + PKCE) and the
//! callback that exchanges the code, stores the tokens and, when GitHub
//! came back from an installation, links it once the user's own token
//! confirms access to it.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use url::Url;

use super::connection::{client_credentials_rejected, fresh_tokens, user_token_error, INCORRECT_CLIENT_CREDENTIALS};
use super::installations::{link_confirmed, InstallationView};
use crate::crypto::random::{pkce_challenge, token_urlsafe};
use crate::domain::oauth::{OAuthState, STATE_TTL_SECONDS};
use crate::domain::{policy, AccountId, Caller, InstallationId};
use crate::error::{Error, Result};
use crate::github::GitHubError;
use crate::store::NewConnection;
use crate::App;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    pub account_id: Option<String>,
    #[serde(default)]
    pub install: bool,
    pub return_to: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct StartResponse {
    pub authorize_url: String,
    pub state: String,
}

pub async fn start(app: &App, caller: &Caller, req: StartRequest) -> Result<StartResponse> {
    let account = req.account_id.as_deref().map(parse_account).transpose()?;
    if let Some(account) = &account {
        policy::require_member(caller, account)?;
    }
    let return_to = req.return_to.map(|r| checked_return_to(app, &r)).transpose()?;
    let state = token_urlsafe();
    let verifier = token_urlsafe();
    let creds = app.secrets.current().await;
    let mut url = if req.install {
        app.config
            .github_web_url
            .join(&format!("apps/{}/installations/new", app.app_slug().await?))
    } else {
        app.config.github_web_url.join("login/oauth/authorize")
    }
    .map_err(|_| Error::Internal("GitHub web URL does not join".into()))?;
    {
        let mut q = url.query_pairs_mut();
        if !req.install {
            q.append_pair("client_id", &creds.client_id);
            if let Some(uri) = &app.config.oauth_redirect_uri {
                q.append_pair("redirect_uri", uri);
            }
            q.append_pair("code_challenge", &pkce_challenge(&verifier));
            q.append_pair("code_challenge_method", "S256");
        }
        q.append_pair("state", &state);
    }
    app.store
        .put_oauth_state(&OAuthState {
            id: state.clone(),
            user: caller.user.clone(),
            account,
            pkce_verifier: SecretString::from(verifier),
            expires_at: app.now() + STATE_TTL_SECONDS,
            return_to,
        })
        .await?;
    Ok(StartResponse {
        authorize_url: url.into(),
        state,
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallbackRequest {
    pub code: Option<String>,
    pub state: String,
    /// GitHub sends it as a query string value: a number or its digits.
    pub installation_id: Option<serde_json::Value>,
    pub setup_action: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct GitHubUserView {
    pub id: u64,
    pub login: String,
}

#[derive(Debug, Serialize)]
pub struct CallbackResponse {
    pub github_user: GitHubUserView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linked_installation: Option<LinkedInstallation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_to: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct LinkedInstallation {
    pub account_id: AccountId,
    #[serde(flatten)]
    pub installation: InstallationView,
}

pub async fn callback(app: &App, caller: &Caller, req: CallbackRequest) -> Result<CallbackResponse> {
    if req.state.is_empty() || req.state.len() > 128 {
        return Err(Error::bad_request(
            "invalid_state",
            "the OAuth state is missing or malformed",
        ));
    }
    if req.code.as_ref().is_some_and(|c| c.is_empty() || c.len() > 512) {
        return Err(Error::bad_request("invalid_code", "the OAuth code is malformed"));
    }
    let installation_id = req.installation_id.as_ref().map(parse_installation_id).transpose()?;
    let state = app
        .store
        .take_oauth_state(&req.state)
        .await?
        .ok_or_else(|| Error::bad_request("invalid_state", "the OAuth state is unknown or was already used"))?;
    state.accept(&caller.user, app.now())?;
    if let Some(account) = &state.account {
        policy::require_member(caller, account)?;
    }

    let creds = app.secrets.current().await;
    let (user, access_token) = match &req.code {
        Some(code) => {
            let redirect_uri = app.config.oauth_redirect_uri.as_deref();
            let tokens = app
                .github
                .exchange_code(&creds, code, &state.pkce_verifier, redirect_uri)
                .await
                .map_err(|e| match e {
                    GitHubError::OAuth { error } if error == INCORRECT_CLIENT_CREDENTIALS => {
                        client_credentials_rejected()
                    }
                    GitHubError::OAuth { error } => {
                        Error::bad_request("oauth_code_rejected", format!("GitHub refused the code: {error}"))
                    }
                    other => Error::GitHub(other),
                })?;
            let user = app.github.user(&tokens.access_token).await.map_err(user_token_error)?;
            let access_token = tokens.access_token.clone();
            // The code is spent: losing this write would make the person
            // authorize again, so it is retried like a refresh's.
            let connection = NewConnection {
                user: caller.user.clone(),
                github_user_id: user.id,
                login: user.login.clone(),
                tokens,
            };
            super::persist("new connection", || true, || app.store.put_connection(&connection)).await?;
            (user, access_token)
        }
        // An install or update without an OAuth step: the existing
        // connection's token does the confirming.
        None => {
            let (connection, tokens) = fresh_tokens(app, &caller.user).await.map_err(|e| match e {
                Error::NotFound { .. } => Error::bad_request("code_required", "no code: connect GitHub first"),
                other => other,
            })?;
            let user = crate::github::GitHubUser {
                id: connection.github_user_id,
                login: connection.login,
            };
            (user, tokens.access_token)
        }
    };

    let linked_installation = match (installation_id, state.account) {
        (Some(id), Some(account)) => {
            let installation = link_confirmed(app, caller, &account, id, (user.id, &access_token)).await?;
            Some(LinkedInstallation {
                account_id: account,
                installation: InstallationView::from(&installation),
            })
        }
        _ => None,
    };
    Ok(CallbackResponse {
        github_user: GitHubUserView {
            id: user.id.0,
            login: user.login,
        },
        linked_installation,
        return_to: state.return_to,
    })
}

pub(crate) fn parse_account(raw: &str) -> Result<AccountId> {
    AccountId::parse(raw).ok_or_else(|| {
        Error::bad_request(
            "invalid_account_id",
            "account ids are 1-128 characters of A-Z a-z 0-9 - _ . : @ |",
        )
    })
}

pub(crate) fn parse_installation_id(raw: &serde_json::Value) -> Result<InstallationId> {
    let parsed = match raw {
        serde_json::Value::Number(n) => n.as_u64().filter(|n| *n > 0).map(InstallationId),
        serde_json::Value::String(s) => InstallationId::parse(s),
        _ => None,
    };
    parsed.ok_or_else(|| Error::bad_request("invalid_installation_id", "installation ids are positive integers"))
}

fn checked_return_to(app: &App, raw: &str) -> Result<String> {
    let url =
        Url::parse(raw).map_err(|_| Error::bad_request("invalid_return_to", "return_to must be an absolute URL"))?;
    if !app.config.is_frontend_origin(&url.origin().ascii_serialization()) {
        return Err(Error::bad_request(
            "invalid_return_to",
            "return_to must be on one of the frontend origins",
        ));
    }
    Ok(url.into())
}
