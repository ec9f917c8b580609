//! Connecting GitHub: the start of the OAuth web flow (state + PKCE) and the
//! callback that exchanges the code, stores the tokens and, when GitHub
//! came back from an installation, links it once the user's own token
//! confirms access to it.

use secrecy::SecretString;
use url::Url;

use super::connection::{client_credentials_rejected, fresh_tokens, user_token_error};
use super::installations::{link_confirmed, PolicyOrder};
use crate::crypto::random::{pkce_challenge, token_urlsafe};
use crate::domain::oauth::{OAuthState, STATE_TTL_SECONDS};
use crate::domain::{policy, AccountId, Caller, Installation, InstallationId};
use crate::error::{Error, Result};
use crate::github::{GitHubError, GitHubUser, OAuthRefusal};
use crate::store::NewConnection;
use crate::App;

/// Starting the web flow: for which team (linking what GitHub comes back
/// with), through GitHub's install page or its authorize page, and where
/// the frontend wants the person sent back.
#[derive(Debug, Default)]
pub struct Start {
    pub account: Option<AccountId>,
    pub install: bool,
    pub return_to: Option<String>,
}

/// Where to send the person, and the state GitHub will bring back.
#[derive(Debug)]
pub struct Started {
    pub authorize_url: String,
    pub state: String,
}

pub async fn start(app: &App, caller: &Caller, req: Start) -> Result<Started> {
    let account = req.account;
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
    Ok(Started {
        authorize_url: url.into(),
        state,
    })
}

/// GitHub's redirect back, as the frontend relays it.
#[derive(Debug)]
pub struct Callback {
    pub code: Option<String>,
    pub state: String,
    pub installation_id: Option<InstallationId>,
}

/// Who connected, and the installation linked on the way (if GitHub came
/// back from an installation started for a team).
#[derive(Debug)]
pub struct Connected {
    pub github_user: GitHubUser,
    pub linked: Option<(AccountId, Installation)>,
    pub return_to: Option<String>,
}

pub async fn callback(app: &App, caller: &Caller, req: Callback) -> Result<Connected> {
    if req.state.is_empty() || req.state.len() > 128 {
        return Err(Error::bad_request(
            "invalid_state",
            "the OAuth state is missing or malformed",
        ));
    }
    if req.code.as_ref().is_some_and(|c| c.is_empty() || c.len() > 512) {
        return Err(Error::bad_request("invalid_code", "the OAuth code is malformed"));
    }
    let installation_id = req.installation_id;
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
                    GitHubError::OAuth(OAuthRefusal::IncorrectClientCredentials) => client_credentials_rejected(),
                    GitHubError::OAuth(refusal) => Error::bad_request(
                        "oauth_code_rejected",
                        format!("GitHub refused the code: {}", refusal.code()),
                    ),
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
            let user = GitHubUser {
                id: connection.github_user_id,
                login: connection.login,
            };
            (user, tokens.access_token)
        }
    };

    let linked = match (installation_id, state.account) {
        (Some(id), Some(account)) => {
            let installation = link_confirmed(app, caller, &account, id, (user.id, &access_token), PolicyOrder::Keep)
                .await?
                .installation;
            Some((account, installation))
        }
        _ => None,
    };
    Ok(Connected {
        github_user: user,
        linked,
        return_to: state.return_to,
    })
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
