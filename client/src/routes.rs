//! One method per route of `openapi.yaml`, each saying how it is
//! authorized and whether it may be retried.

use reqwest::Method;

use crate::client::{Auth, Call, Client};
use crate::types::*;
use crate::{Error, Idempotency};

impl Client {
    // --- Frontend routes (JWT) ---------------------------------------------

    /// `POST /github/oauth/start`: a single-use OAuth state and the URL to
    /// send the person to.
    ///
    /// **Not retried** (beyond a connection never made or a 429): each call
    /// makes a new state.
    pub async fn oauth_start(&self, request: &StartRequest) -> Result<StartResponse, Error> {
        self.send(
            Call::new(
                Method::POST,
                &["github", "oauth", "start"],
                Auth::Jwt,
                Idempotency::NotIdempotent,
            )
            .json(request)?,
        )
        .await
    }

    /// `GET /github/user`: the caller's GitHub connection. **Retried** (a read).
    pub async fn connection(&self) -> Result<ConnectionStatus, Error> {
        self.send(Call::new(
            Method::GET,
            &["github", "user"],
            Auth::Jwt,
            Idempotency::Idempotent,
        ))
        .await
    }

    /// `DELETE /github/user`: revokes the grant on GitHub and forgets the
    /// tokens. **Retried**: a DELETE, and the contract answers the same
    /// when there was nothing to disconnect.
    pub async fn disconnect(&self) -> Result<Disconnected, Error> {
        self.send(Call::new(
            Method::DELETE,
            &["github", "user"],
            Auth::Jwt,
            Idempotency::Idempotent,
        ))
        .await
    }

    /// `GET /github/installations`: every installation the caller's GitHub
    /// user reaches. **Retried** (a read).
    pub async fn reachable_installations(&self) -> Result<ReachableList, Error> {
        self.send(Call::new(
            Method::GET,
            &["github", "installations"],
            Auth::Jwt,
            Idempotency::Idempotent,
        ))
        .await
    }

    /// `GET /accounts/{account_id}/installations`: the installations linked
    /// to the account, with their policies. **Retried** (a read).
    pub async fn account_installations(&self, account_id: &str) -> Result<AccountInstallations, Error> {
        self.send(Call::new(
            Method::GET,
            &["accounts", account_id, "installations"],
            Auth::Jwt,
            Idempotency::Idempotent,
        ))
        .await
    }

    /// `GET /accounts/{account_id}/audit`: a page of the account's audit
    /// trail, newest first. **Retried** (a read).
    pub async fn audit(&self, account_id: &str, query: &AuditQuery) -> Result<AuditTrail, Error> {
        let mut call = Call::new(
            Method::GET,
            &["accounts", account_id, "audit"],
            Auth::Jwt,
            Idempotency::Idempotent,
        );
        call.query = query.pairs();
        self.send(call).await
    }

    /// `PUT /accounts/{account_id}/installations/{installation_id}`: links
    /// the installation, with `policy` as the link's policy (`None`: the
    /// whole installation). **Retried**: a PUT, documented idempotent (the
    /// same policy again changes nothing).
    pub async fn link(
        &self,
        account_id: &str,
        installation_id: u64,
        policy: Option<&LinkPolicy>,
    ) -> Result<LinkView, Error> {
        let id = installation_id.to_string();
        let call = Call::new(
            Method::PUT,
            &["accounts", account_id, "installations", &id],
            Auth::Jwt,
            Idempotency::Idempotent,
        );
        let call = match policy {
            Some(policy) => call.json(policy)?,
            None => call,
        };
        self.send(call).await
    }

    /// `PATCH /accounts/{account_id}/installations/{installation_id}`:
    /// changes the policy of an existing link (revoking the team's tokens
    /// minted under the old one). **Not retried**: a PATCH, and the
    /// contract does not call it idempotent (use [`Client::link`], a PUT,
    /// to set a policy with retries).
    pub async fn change_policy(
        &self,
        account_id: &str,
        installation_id: u64,
        policy: &LinkPolicy,
    ) -> Result<LinkView, Error> {
        let id = installation_id.to_string();
        self.send(
            Call::new(
                Method::PATCH,
                &["accounts", account_id, "installations", &id],
                Auth::Jwt,
                Idempotency::NotIdempotent,
            )
            .json(policy)?,
        )
        .await
    }

    /// `DELETE /accounts/{account_id}/installations/{installation_id}`:
    /// unlinks, then revokes the account's tokens on the installation.
    /// **Retried**: a DELETE, documented idempotent.
    pub async fn unlink(&self, account_id: &str, installation_id: u64) -> Result<LinkView, Error> {
        let id = installation_id.to_string();
        self.send(Call::new(
            Method::DELETE,
            &["accounts", account_id, "installations", &id],
            Auth::Jwt,
            Idempotency::Idempotent,
        ))
        .await
    }

    // --- Internal routes (SigV4) -------------------------------------------

    /// `POST /internal/accounts/{account_id}/installations/{installation_id}/token`:
    /// an installation token for the account. **Retried**: a token of the
    /// same scope is reused from the broker's cache, so a repeat hands out
    /// the same token (at worst mints one more of the same scope, which
    /// expires on its own).
    pub async fn installation_token(
        &self,
        account_id: &str,
        installation_id: u64,
        scope: &VendRequest,
    ) -> Result<VendResponse, Error> {
        let id = installation_id.to_string();
        self.send(
            Call::new(
                Method::POST,
                &["internal", "accounts", account_id, "installations", &id, "token"],
                Auth::Iam,
                Idempotency::Idempotent,
            )
            .json(scope)?,
        )
        .await
    }

    /// `POST /internal/accounts/{account_id}/token`: the same, for the
    /// linked installation on GitHub account `owner`. **Retried**, as
    /// [`Client::installation_token`].
    pub async fn owner_token(&self, account_id: &str, request: &OwnerVendRequest) -> Result<VendResponse, Error> {
        self.send(
            Call::new(
                Method::POST,
                &["internal", "accounts", account_id, "token"],
                Auth::Iam,
                Idempotency::Idempotent,
            )
            .json(request)?,
        )
        .await
    }

    /// `POST /internal/users/{user_id}/token`: the user's own GitHub token,
    /// refreshed first when little life is left. **Retried**: it returns
    /// the stored token, and a refresh is guarded by the broker (a repeat
    /// finds the refreshed token, or `409 refresh_in_progress`).
    pub async fn user_token(&self, user_id: &str) -> Result<UserToken, Error> {
        self.send(Call::new(
            Method::POST,
            &["internal", "users", user_id, "token"],
            Auth::Iam,
            Idempotency::Idempotent,
        ))
        .await
    }

    /// `DELETE /internal/accounts/{account_id}/tokens`: incident response,
    /// revokes every live installation token of the account. **Retried**:
    /// a DELETE; a repeat finds nothing more to revoke (or retries what
    /// was pending, as the contract wants).
    pub async fn revoke_account_tokens(&self, account_id: &str) -> Result<Revoked, Error> {
        self.send(Call::new(
            Method::DELETE,
            &["internal", "accounts", account_id, "tokens"],
            Auth::Iam,
            Idempotency::Idempotent,
        ))
        .await
    }

    /// `POST /internal/reconcile`: a reconcile run now. **Not retried**: a
    /// run spends GitHub's rate budget and redelivers webhooks; a failed
    /// one is continued by the next scheduled run anyway.
    pub async fn reconcile(&self) -> Result<ReconcileSummary, Error> {
        self.send(Call::new(
            Method::POST,
            &["internal", "reconcile"],
            Auth::Iam,
            Idempotency::NotIdempotent,
        ))
        .await
    }

    /// `POST /internal/accounts/{account_id}/repos`: creates a repository.
    /// **Not retried**: a repeat after a creation whose answer was lost
    /// would get `422 github_refused` (name taken).
    pub async fn create_repository(&self, account_id: &str, request: &CreateRepository) -> Result<Repository, Error> {
        self.send(
            Call::new(
                Method::POST,
                &["internal", "accounts", account_id, "repos"],
                Auth::Iam,
                Idempotency::NotIdempotent,
            )
            .json(request)?,
        )
        .await
    }

    /// `POST /internal/accounts/{account_id}/commits`: writes the files as
    /// one commit. **Not retried**: a repeat would add a second commit.
    pub async fn commit_files(&self, account_id: &str, request: &CommitFiles) -> Result<Committed, Error> {
        self.send(
            Call::new(
                Method::POST,
                &["internal", "accounts", account_id, "commits"],
                Auth::Iam,
                Idempotency::NotIdempotent,
            )
            .json(request)?,
        )
        .await
    }
}
