//! Repository creation and the Git data API: what the broker needs to create
//! a repository for a team and commit files to it as one commit.

use async_trait::async_trait;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::GitHubResult;

#[derive(Debug, Clone, Serialize)]
pub struct NewRepository {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A first commit (a README), so the repository has a branch to build on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_init: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Repository {
    pub id: u64,
    pub name: String,
    pub full_name: String,
    #[serde(default)]
    pub private: bool,
    #[serde(default)]
    pub html_url: Option<String>,
    #[serde(default)]
    pub default_branch: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Commit {
    pub sha: String,
    #[serde(default)]
    pub html_url: Option<String>,
}

/// One file of a commit, as UTF-8 text.
#[derive(Debug, Clone, Deserialize)]
pub struct FileChange {
    pub path: String,
    pub content: String,
}

/// A branch update GitHub may refuse because the branch moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefWrite {
    Written,
    /// Not a fast-forward (update) or already there (create): rebuild and retry.
    Moved,
}

/// Everything here takes the token to act with: an installation token, or
/// a user's token where GitHub demands one (repositories on personal accounts).
#[async_trait]
pub trait Repos: Send + Sync {
    async fn create_org_repository(
        &self,
        token: &SecretString,
        org: &str,
        repo: &NewRepository,
    ) -> GitHubResult<Repository>;
    async fn create_user_repository(&self, token: &SecretString, repo: &NewRepository) -> GitHubResult<Repository>;
    async fn repository(&self, token: &SecretString, owner: &str, repo: &str) -> GitHubResult<Repository>;
    /// The branch's head commit, `None` if there is no such branch.
    async fn branch_head(
        &self,
        token: &SecretString,
        owner: &str,
        repo: &str,
        branch: &str,
    ) -> GitHubResult<Option<String>>;
    /// The tree of a commit.
    async fn commit_tree(&self, token: &SecretString, owner: &str, repo: &str, commit: &str) -> GitHubResult<String>;
    /// A tree on top of `base_tree` with `files` written in (their blobs are
    /// created by GitHub from the inline contents, in the same request).
    async fn create_tree(
        &self,
        token: &SecretString,
        owner: &str,
        repo: &str,
        base_tree: &str,
        files: &[FileChange],
    ) -> GitHubResult<String>;
    async fn create_commit(
        &self,
        token: &SecretString,
        owner: &str,
        repo: &str,
        message: &str,
        tree: &str,
        parent: &str,
    ) -> GitHubResult<Commit>;
    /// Moves the branch to `sha`, refusing anything but a fast-forward.
    async fn update_branch(
        &self,
        token: &SecretString,
        owner: &str,
        repo: &str,
        branch: &str,
        sha: &str,
    ) -> GitHubResult<RefWrite>;
    async fn create_branch(
        &self,
        token: &SecretString,
        owner: &str,
        repo: &str,
        branch: &str,
        sha: &str,
    ) -> GitHubResult<RefWrite>;
}
