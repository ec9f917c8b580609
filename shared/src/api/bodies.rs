//! The request bodies the routes take, as JSON, and what each becomes for
//! its use case: every check of shape happens here or in the domain before
//! a service is called.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::params::{account_id, installation_id_value};
use crate::domain::scope::TokenScope;
use crate::domain::tokens::TokenRequest;
use crate::domain::LinkPolicy;
use crate::error::Result;
use crate::github::repos::{FileChange, NewRepository};
use crate::service::oauth::{Callback, Start};
use crate::service::repos::CommitOrder;

/// `POST /internal/accounts/{account_id}/installations/{installation_id}/token`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VendRequest {
    #[serde(default)]
    pub repositories: Vec<String>,
    #[serde(default)]
    pub repository_ids: Vec<u64>,
    #[serde(default)]
    pub permissions: BTreeMap<String, String>,
    pub min_ttl_seconds: Option<i64>,
}

impl VendRequest {
    pub fn into_order(self) -> Result<TokenRequest> {
        let scope = TokenScope::new(self.repositories, self.repository_ids, self.permissions)?;
        Ok(TokenRequest::new(scope, self.min_ttl_seconds)?)
    }
}

/// `POST /internal/accounts/{account_id}/token`: the same, by owner.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnerVendRequest {
    pub owner: String,
    #[serde(flatten)]
    pub request: VendRequest,
}

/// The optional body of `PUT` and the body of `PATCH`
/// `/accounts/{account_id}/installations/{installation_id}`: the link's
/// policy (absent or `null`: everything the installation grants there).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    #[serde(default)]
    pub repositories: Option<Vec<String>>,
    #[serde(default)]
    pub permissions: Option<BTreeMap<String, String>>,
}

impl PolicyBody {
    pub fn into_policy(self) -> Result<LinkPolicy> {
        Ok(LinkPolicy::new(self.repositories, self.permissions)?)
    }
}

/// `POST /github/oauth/start`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    pub account_id: Option<String>,
    #[serde(default)]
    pub install: bool,
    pub return_to: Option<String>,
}

impl StartRequest {
    pub fn into_order(self) -> Result<Start> {
        Ok(Start {
            account: self.account_id.as_deref().map(account_id).transpose()?,
            install: self.install,
            return_to: self.return_to,
        })
    }
}

/// `POST /github/oauth/callback`: GitHub's redirect parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallbackRequest {
    pub code: Option<String>,
    pub state: String,
    /// GitHub sends it as a query string value: a number or its digits.
    pub installation_id: Option<serde_json::Value>,
    pub setup_action: Option<String>,
}

impl CallbackRequest {
    pub fn into_order(self) -> Result<Callback> {
        Ok(Callback {
            installation_id: self.installation_id.as_ref().map(installation_id_value).transpose()?,
            code: self.code,
            state: self.state,
        })
    }
}

/// `POST /internal/accounts/{account_id}/repos`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRepository {
    pub owner: String,
    pub name: String,
    pub private: Option<bool>,
    pub description: Option<String>,
    pub auto_init: Option<bool>,
}

impl CreateRepository {
    pub fn into_order(self) -> (String, NewRepository) {
        let repo = NewRepository {
            name: self.name,
            private: self.private,
            description: self.description,
            auto_init: self.auto_init,
        };
        (self.owner, repo)
    }
}

/// `POST /internal/accounts/{account_id}/commits`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitFiles {
    pub owner: String,
    pub repo: String,
    pub branch: String,
    pub message: String,
    pub files: Vec<FileChange>,
}

impl CommitFiles {
    pub fn into_order(self) -> CommitOrder {
        CommitOrder {
            owner: self.owner,
            repo: self.repo,
            branch: self.branch,
            message: self.message,
            files: self.files,
        }
    }
}
